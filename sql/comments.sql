-- COMMENT ON for the functions pgrx generates (so \df+ documents every public object).
COMMENT ON FUNCTION shopml.train_linear(text, regclass, text, text[], jsonb) IS
  'Trains a linear regression (OLS, or ridge with "l2") of target on features over a table or view, in place and in one parallel scan; stores it as the next version of model_name. options: l2, fit_intercept, test_fraction, split_column, group_by, deploy.';
COMMENT ON FUNCTION shopml.coefficients(text, int) IS
  'Coefficients of a linear model (deployed version unless given) with standard error, t statistic and two-sided p-value; NULL for aliased (constant or collinear) features.';
COMMENT ON FUNCTION shopml.load_sample_shop(text, bigint) IS
  'Creates the bundled, deterministic sample shop (categories, products, customers, orders, order_items, weekly_sales) in a schema; the same seed gives the same data.';
