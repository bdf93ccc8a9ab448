-- COMMENT ON for the functions pgrx generates (so \df+ documents every public object).
COMMENT ON FUNCTION shopml.train_linear(text, regclass, text, text[], jsonb) IS
  'Trains a linear regression (OLS, or ridge with "l2") of target on features over a table or view, in place and in one parallel scan; stores it as the next version of model_name. Text features are one-hot encoded (up to max_categories values); NULLs are skipped or imputed. options: l2, fit_intercept, test_fraction, split_column, group_by, standardize (false), impute (skip|mean|median|zero), max_categories, deploy.';
COMMENT ON FUNCTION shopml.coefficients(text, int) IS
  'Coefficients of a linear or logistic model (deployed version unless given). Linear: standard error, t statistic and two-sided p-value (NULL for aliased, constant or collinear, features). Logistic (log-odds per unit of the prepared input): standard error from the inverse of the penalised Fisher information at the fit, Wald z in t_stat, two-sided normal p-value, and odds_ratio = exp(coefficient); standard errors NULL for L1 or hashed (OWL-QN) fits. odds_ratio is NULL for linear models.';
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
COMMENT ON FUNCTION shopml.train_demand(text, regclass, text, text, text, text[], jsonb) IS
  'Fits per-product constant-elasticity demand, log E[quantity] = a + e*log(price) + controls, as a Poisson model (periods with zero units are data), with controls shared or per product, and shrinks weakly identified elasticities toward the pooled (or group_by) mean by empirical Bayes. Rows with NULL or non-positive prices, or NULL/negative quantities, are skipped and counted. options: controls (shared|per_product), group_by, shrinkage, max_iterations, deploy.';
COMMENT ON FUNCTION shopml.demand_elasticities(text) IS
  'Per-product elasticity (after shrinkage) with standard error, number of periods and whether it was shrunk (the pool carries more than half of the weight), plus the raw estimate, total units, distinct prices and group.';
COMMENT ON FUNCTION shopml.optimal_price(text, bigint, float8, float8, float8, jsonb) IS
  'The profit-maximising price (c*e/(1+e) for elastic demand) or, with objective revenue, the revenue-maximising one, projected onto min_price/max_price and the options min_margin, current_price + max_change; returns price, expected quantity, revenue and profit, the elasticity and binding (the rule that set the price, NULL when interior; "(inelastic)" when demand is inelastic and the upper bound decides). options: objective, min_margin, current_price, max_change, at (control values, default the product''s averages).';
COMMENT ON FUNCTION shopml.optimal_price(text, text, float8, float8, float8, jsonb) IS
  'optimal_price for demand models trained on text or uuid product keys.';
COMMENT ON FUNCTION shopml.price_curve(text, bigint, float8, float8, float8, int, jsonb) IS
  'Expected quantity, revenue and profit of a product at steps evenly spaced prices from from_price to to_price, for charts. options: at (control values).';
COMMENT ON FUNCTION shopml.price_curve(text, text, float8, float8, float8, int, jsonb) IS
  'price_curve for demand models trained on text or uuid product keys.';
COMMENT ON FUNCTION shopml.sample_demand(int, int, int, bigint) IS
  'Weekly sales generated from known constant-elasticity demand (elasticities U(-3.5,-1.4), Poisson units, promotions lifting demand by 1.3, the last n_new products sold only in the last 10 weeks), with the true elasticity and unit cost of each product: data to check train_demand against.';
COMMENT ON FUNCTION shopml.rfm(regclass, text, text, text, date, jsonb) IS
  'Recency (days from the last purchase to as_of), frequency (rows, or distinct order_column values) and monetary value (total, or average) per customer from the rows dated on or before as_of; 1-5 scores by rank (5 best, ties never split) and the RFM segment (Champions, Loyal, Potential Loyalist, New, Promising, Need Attention, About to Sleep, At Risk, Cannot Lose Them, Hibernating, Lost). options: order_column, monetary (total|average).';
COMMENT ON FUNCTION shopml.train_kmeans(text, regclass, text[], int, jsonb) IS
  'Segments the rows of a table or view into k groups by k-means (k-means++ seeding, n_init restarts keeping the lowest inertia) on the given features (NULL: every numeric or boolean column; text columns one-hot encoded), numbers standardised by default; rows with NULL or NaN values are skipped and counted unless imputed. k must be between 2 and the number of rows. shopml.predict gives a row''s segment (0..k-1). options: n_init, max_iter, tol, seed, standardize (true), impute, max_categories, deploy.';
COMMENT ON FUNCTION shopml.segments(text) IS
  'One row per segment and feature of a k-means model: the segment''s size and its centroid in the original units, for charts.';
COMMENT ON FUNCTION shopml.train_logistic(text, regclass, text, text[], jsonb) IS
  'Trains a binary logistic regression (target boolean or 0/1) with an L2 penalty (l2 = 1/C, default 1) and optional L1; numbers standardised, text one-hot up to max_categories values and hashed into hash_buckets (2^18) sparse features beyond; Newton''s method when dense, OWL-QN when sparse or L1. Held-out AUC, log-loss, accuracy, precision, recall, F1 and calibration error. predict gives the label (0/1), predict_proba the probability. options: l1, l2, class_weight (none|balanced), standardize, impute, max_categories, hash_buckets, test_fraction, max_iter, deploy.';
COMMENT ON FUNCTION shopml.train_forest(text, regclass, text, text[], jsonb) IS
  'Trains a random-forest classifier (CART trees with Gini splits on bootstrap samples, grown in parallel on the shopml.threads pool) of an integer, boolean or text target (two or more classes); text features one-hot encoded up to max_categories. n_trees 1 with bootstrap false and max_features all is one decision tree. Held-out metrics: AUC, log-loss, accuracy, precision, recall, F1, calibration for two classes; accuracy, log-loss and macro precision/recall/F1 otherwise. options: n_trees (100), max_depth (unlimited), min_samples_leaf (1), max_features (sqrt|log2|all|count|fraction), bootstrap (true), seed, class_weight, max_bins (255), impute, max_categories, test_fraction, deploy.';
COMMENT ON FUNCTION shopml.feature_importance(text) IS
  'Importance of each input column of a classifier, summing to 1: for a logistic model the standard deviation of the column''s contribution to the score over the training rows (|standardised coefficient| for a number), for a forest the mean decrease in Gini impurity.';
COMMENT ON FUNCTION shopml.model_kinds() IS
  'The kinds of model this shopml stores and serves (its model registry): algorithm, task, the model format version it writes and the oldest it reads, the trainer and the functions that serve it.';
COMMENT ON FUNCTION shopml._linear_scan_config(int, float8, bool) IS
  'Internal: the configuration train_linear passes to shopml._linear_stats for n_inputs numeric inputs used as they are, with or without the MAE row sample (without: the few-KB state a shard returns); for tests of the aggregate.';
COMMENT ON FUNCTION shopml.split(regclass, float8, text, bigint) IS
  'Which rows of a relation a training with these options holds out (the same rows for every trainer and feature list): row_number in the scan, row_ctid (for tables; join on ctid::text), held_out. The split uses the row''s ctid for tables, its position for views, or the split_column value, never the row''s values.';
COMMENT ON FUNCTION shopml.create_price_experiment(text, text, regclass, text, jsonb) IS
  'Creates a price experiment over the products of a table (bigint product ids, current price and unit cost from price_column and cost_column): a price ladder per product (ladder: fractions of the current price, default 0.85..1.15 in 0.05 steps, or ladder_column with explicit prices), the rules min_price, max_price, min_margin and max_change (from the previous period''s price), period (default ''1 week''), start, policy (thompson|ucb|greedy|epsilon_greedy|fixed), a prior per product from the demand model (its elasticity and standard error, the pooled estimate for products it does not know) scaled by prior_weight, objective (profit|revenue), epsilon, ucb_scale, level_sd and seed.';
COMMENT ON FUNCTION shopml.next_prices(text, timestamptz) IS
  'One ladder price per product for the period containing period_start (product_id, price, arm = ladder position from 0, propensity = its probability under the policy, reason). The first call of a period decides and stores it; every later or concurrent call returns the same prices. Refused (22023) once the experiment is stopped.';
COMMENT ON FUNCTION shopml.next_price(text, bigint, timestamptz) IS
  'The price of one product for the period containing period_start (as next_prices).';
COMMENT ON FUNCTION shopml.record_sales(text, regclass, text, text, text, text) IS
  'Adds the sales of ended periods to an experiment (rows: product, a date or timestamp within the period, price, units; several rows of a product and period add up). Idempotent per product and period: a product-period already recorded adds nothing. Sales at another price than the one served, or in a period never served, are counted as off-policy and still inform the posterior; unknown products, NULLs, non-positive prices, negative units and periods not yet over are skipped and counted.';
COMMENT ON FUNCTION shopml.experiment_status(text) IS
  'Per product: the best ladder price by posterior expected profit, its posterior probability of being the best, its expected profit per period with a 90 % interval, the posterior elasticity and its standard deviation, the periods and units recorded, and whether its prior came from the demand model or the pool.';
COMMENT ON FUNCTION shopml.experiment_report(text) IS
  'Per period: products served and recorded, units, revenue and profit recorded, the posterior expected profit of the prices served and of the posterior-best prices, and the estimated regret (their difference) with its running total.';
COMMENT ON FUNCTION shopml.stop_price_experiment(text, text, jsonb) IS
  'Stops an experiment and returns the price it adopts for each product: posterior_best (default), current or last (served). options: train_model (true: save a new version of the demand model whose experiment products carry the experiment''s posterior), model_name, deploy.';
COMMENT ON FUNCTION shopml.simulate_price_experiment(jsonb) IS
  'Runs policies against a simulated market with known elasticities and Poisson demand (the same ladder, rules and posterior as a live experiment) and returns the mean over seeds of regret, cumulative regret, profit and the oracle''s profit per policy, prior and period, and rule violations. options: n_products (200), periods (90), seeds (20), seed, policies, priors (model, flat), elasticity ([-3.5, -1.2]), base_units ([5, 40]), cost_share ([0.4, 0.7]), ladder, prior_sd (0.3), level_prior_sd (0.3), min_margin, max_change, epsilon, ucb_scale.';
COMMENT ON FUNCTION shopml.predict_demand(text, bigint, float8, jsonb, int) IS
  'Expected units of a product of a bigint-keyed demand model at a price (one period, as trained), with controls given as a JSON object (the product''s averages otherwise), and a 90 % interval of the expected units from the elasticity''s standard error (zero width at the product''s typical price; the level''s own uncertainty is not stored); version for one that is not deployed. For a table of planned prices use LATERAL.';
COMMENT ON FUNCTION shopml.predict_demand(text, text, float8, jsonb, int) IS
  'predict_demand for demand models trained on text or uuid product keys.';
COMMENT ON FUNCTION shopml.linear_fit_state(bytea) IS
  'Least-squares fit (with intercept) of a shopml.linear_partial or shopml.linear_merge state: the same jsonb as shopml.linear_fit {coefficients, intercept, std_errors, t_stats, p_values, r2, n, skipped, aliased}; NULL for too few rows, XX001 for a damaged state.';
COMMENT ON FUNCTION shopml.recommend_for_items(text, bigint[], int, boolean, bigint[], float8[]) IS
  'Top-k items (item_id, score, rank) for an anonymous session or a cart of a bigint-keyed recommender, from the items it holds: ALS folds the session in as a new user with the exact ALS user step (the model''s regularization and confidence 1 + alpha x weight), item-kNN sums the neighbour similarities times the weights. weights (one per item, >= 0, default 1) tell e.g. views from cart adds; repeated items add up; unknown items are ignored; exclude_given drops the given items; candidates restricts the answer. No known item gives the most popular items.';
COMMENT ON FUNCTION shopml.recommend_for_items(text, text[], int, boolean, text[], float8[]) IS
  'recommend_for_items for a text- or uuid-keyed recommender (see the bigint form).';
COMMENT ON FUNCTION shopml.item_factors(text, int) IS
  'The item factors (embeddings) of an ALS recommender, deployed version unless given: item_id as text, factors as float8[]; 22023 for item-kNN models.';
COMMENT ON FUNCTION shopml.update(text, regclass, jsonb) IS
  'A new version of a model from its deployed version (options.version: another) and only the rows of relation: linear models add the new rows'' statistics (prepared as the stored version prepares) to the stored ones and refit, which equals a full retrain on the old and new rows together; metrics are those of the new rows (test_fraction 0.2 of them held out, split_column, split_seed) with parent_version, rows_added and training_rows; deployed unless "deploy": false. Logistic models (dense, Newton fits): a Bayesian online step, the stored solution and curvature the Gaussian prior of a fit on the new rows (decay in (0, 1] scales the prior to forget old data; max_iter). k-means: centroids pooled with the new rows nearest them, the stored segments weighing as their sizes times decay (max_iter steps). since_column (+ since the first time) reads only the rows after the high-water mark the last update stored. Other kinds: 0A000 in this version.';
COMMENT ON FUNCTION shopml.explain_recommendation(text, bigint, bigint, int) IS
  'The user''s items behind the score of item_id for user_id (item_id, contribution, rank; largest |contribution| first, top k): ALS by Hu, Koren and Volinsky''s decomposition of the user step (contributions sum to the score of the user''s history folded in, as recommend_for_items gives it), item-kNN each of the user''s items'' similarity to the item (summing to the kNN score). No rows for an unknown user or item.';
COMMENT ON FUNCTION shopml.explain_recommendation(text, text, text, int) IS
  'explain_recommendation for a text- or uuid-keyed recommender (see the bigint form).';
