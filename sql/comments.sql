-- COMMENT ON for the functions pgrx generates (so \df+ documents every public object).
COMMENT ON FUNCTION shopml.train_linear(text, regclass, text, text[], jsonb) IS
  'Trains a linear regression (OLS, or ridge with "l2") of target on features over a table or view, in place and in one parallel scan; stores it as the next version of model_name. options: l2, fit_intercept, test_fraction, split_column, group_by, deploy.';
COMMENT ON FUNCTION shopml.coefficients(text, int) IS
  'Coefficients of a linear model (deployed version unless given) with standard error, t statistic and two-sided p-value; NULL for aliased (constant or collinear) features.';
COMMENT ON FUNCTION shopml.load_sample_shop(text, bigint) IS
  'Creates the bundled, deterministic sample shop (categories, products, customers, orders, order_items, weekly_sales) in a schema; the same seed gives the same data.';
COMMENT ON FUNCTION shopml.train_recommender(text, regclass, text, text, text, jsonb) IS
  'Trains an implicit-feedback recommender (purchases, clicks, carts; repeated rows add up) on a table or view: method "als" (Hu-Koren-Volinsky ALS with conjugate gradient; regularization chosen on a validation split unless given) or "item_knn" (item-to-item cosine). With test_fraction > 0 each user''s latest interactions (time_column) are held out and precision/recall/ndcg/map@k and coverage are stored for the model and for a popularity baseline. options: method, factors, iterations, regularization, alpha, cg_steps, seed, neighbors, test_fraction, k, time_column, deploy.';
COMMENT ON FUNCTION shopml.recommend_for_user(text, bigint, int, boolean, bigint[]) IS
  'Top-k items for a user of a bigint-keyed recommender (item_id, score, rank), best first; exclude_seen drops items the user already has, candidates restricts to the given items (e.g. in stock). Unknown or NULL users get the most popular items.';
COMMENT ON FUNCTION shopml.recommend_for_user(text, text, int, boolean, text[]) IS
  'Top-k items for a user of a text- or uuid-keyed recommender (item_id, score, rank), best first; as the bigint form.';
COMMENT ON FUNCTION shopml.similar_items(text, bigint, int) IS
  'The k items most similar to an item of a bigint-keyed recommender (cosine of ALS factors, or the stored item-kNN neighbours), best first; no rows for an item the model does not know.';
COMMENT ON FUNCTION shopml.similar_items(text, text, int) IS
  'The k items most similar to an item of a text- or uuid-keyed recommender; as the bigint form.';
