-- Gradient-boosted trees: an additive function learnt by stumps, a noisy rule against its Bayes
-- log loss (from the generating probabilities), Poisson means against the generating rates, a
-- monotone constraint on every pair of rows, missing values routed as learnt, text classes,
-- early stopping, thread independence, bad inputs.
SET client_min_messages = warning;
SELECT setseed(0.25) \g /dev/null
-- y = 2·[x1 > 0.3] − x2² + 0.5·x3 on a grid of 0.01 (every value its own bin), no noise.
CREATE TABLE bo_add AS
SELECT i, x1, x2, x3, x4, 2 * (x1 > 0.3)::int - x2 * x2 + 0.5 * x3 AS y
FROM (SELECT i, round(random()::numeric, 2)::float8 x1, round(random()::numeric, 2)::float8 x2,
             round(random()::numeric, 2)::float8 x3, random() x4 FROM generate_series(1, 10000) i) s;
SELECT n_train, n_test, metrics->>'objective' AS objective, metrics->>'trees' AS trees
FROM shopml.train_boosted('bo_stumps', 'bo_add', 'y', ARRAY['x1', 'x2', 'x3', 'x4'],
                          '{"num_leaves": 2, "n_trees": 1500, "learning_rate": 0.5, "min_data_in_leaf": 5}');
-- Stumps add up to the function: rmse over every row below 0.01 (the target's sd is 0.95);
-- the noise column x4 takes almost no gain.
SELECT sqrt(avg((shopml.predict('bo_stumps', a) - y) ^ 2)) < 0.01 AS stumps_fit, stddev(y) > 0.9 AS target_varies FROM bo_add a;
SELECT feature, importance < 0.01 AS negligible FROM shopml.feature_importance('bo_stumps') ORDER BY feature;
SELECT round(sum(importance)::numeric, 12) AS total FROM shopml.feature_importance('bo_stumps');
-- A noisy rule: P(y) = 0.9 inside the disc x1² + x2² < 0.5, 0.1 outside. The held-out log
-- loss comes within 0.03 of the Bayes log loss of the same rows (no model can beat it;
-- LightGBM 4.7 with the same options on the same split: 0.024 above it).
SELECT setseed(0.375) \g /dev/null
CREATE TABLE bo_disc AS
SELECT i, x1, x2, x3, color, random() < p AS y, p
FROM (SELECT i, x1, x2, x3, color, CASE WHEN x1 * x1 + x2 * x2 < 0.5 THEN 0.9 ELSE 0.1 END AS p
      FROM (SELECT i, random() * 2 - 1 x1, random() * 2 - 1 x2, random() x3, (ARRAY['red', 'green', 'blue'])[1 + i % 3] AS color
            FROM generate_series(1, 20000) i) s) s;
CREATE TEMP TABLE bo_disc_fit AS
SELECT * FROM shopml.train_boosted('bo_disc', 'bo_disc', 'y', ARRAY['x1', 'x2', 'x3', 'color'], '{"n_trees": 60, "num_leaves": 15}');
SELECT n_train, n_test, metrics->>'objective' AS objective, metrics->>'classes' AS classes,
       (metrics->>'auc')::float8 > 0.85 AS auc_high FROM bo_disc_fit;
SELECT abs((f.metrics->>'log_loss')::float8 - b.bayes) < 0.03 AS near_bayes_log_loss
FROM bo_disc_fit f, (SELECT avg(-(CASE WHEN y THEN ln(p) ELSE ln(1 - p) END)) AS bayes
                     FROM bo_disc d JOIN shopml.split('bo_disc') s ON s.row_ctid = d.ctid::text WHERE s.held_out) b;
-- predict is the label as a number, predict_label as text, agreeing with the probability.
SELECT bool_and(shopml.predict('bo_disc', d) = (shopml.predict_proba('bo_disc', d) > 0.5)::int) AS predict_is_thresholded,
       bool_and(shopml.predict_label('bo_disc', d) = (shopml.predict_proba('bo_disc', d) > 0.5)::text) AS label_agrees
FROM bo_disc d WHERE i % 10 = 0;
-- The learning curve: one train and one test loss per iteration, the train loss falling.
SELECT jsonb_array_length(metrics->'curve'->'train') AS iterations, jsonb_array_length(metrics->'curve'->'test') AS test_points,
       (metrics->'curve'->'train'->>59)::float8 < (metrics->'curve'->'train'->>0)::float8 AS train_loss_falls
FROM bo_disc_fit;
-- The same model with one and with two threads (bagging and feature sampling on).
SET shopml.threads = 1;
SELECT n_train FROM shopml.train_boosted('bo_t1', 'bo_disc', 'y', ARRAY['x1', 'x2', 'x3'], '{"n_trees": 20, "subsample": 0.7, "colsample": 0.67, "test_fraction": 0}');
SET shopml.threads = 2;
SELECT n_train FROM shopml.train_boosted('bo_t2', 'bo_disc', 'y', ARRAY['x1', 'x2', 'x3'], '{"n_trees": 20, "subsample": 0.7, "colsample": 0.67, "test_fraction": 0}');
SELECT bool_and(shopml.predict_proba('bo_t1', d) = shopml.predict_proba('bo_t2', d)) AS same_with_any_thread_count FROM bo_disc d;
RESET shopml.threads;
-- Early stopping on the held-out rows keeps the best iteration: at learning rate 1 the
-- held-out loss soon rises, the trees stop 10 iterations after its minimum.
SELECT (metrics->>'best_iteration')::int < 400 AS stopped_early,
       (metrics->>'iterations')::int = (metrics->>'best_iteration')::int + 10 AS ten_more_tried,
       (metrics->>'trees')::int = (metrics->>'best_iteration')::int AS best_kept,
       (SELECT min(v::float8) FROM jsonb_array_elements_text(metrics->'curve'->'test') v)
         = (metrics->'curve'->'test'->>((metrics->>'best_iteration')::int - 1))::float8 AS at_the_minimum
FROM shopml.train_boosted('bo_early', 'bo_disc', 'y', ARRAY['x1', 'x2', 'x3'],
                          '{"n_trees": 400, "learning_rate": 1, "num_leaves": 63, "min_data_in_leaf": 2, "early_stopping_rounds": 10}');
-- Poisson counts: units ~ Poisson(exp(1 + 0.8·promo − 1.5·(price − 1))); the predicted mean at
-- each (price, promo) cell comes within 10 % of the generating rate.
SELECT setseed(0.5) \g /dev/null
CREATE TABLE bo_units AS
SELECT i, price, promo, exp(1 + 0.8 * promo - 1.5 * (price - 1)) AS rate FROM
  (SELECT i, 0.5 + (i % 11) * 0.1 AS price, (i % 7 = 0)::int AS promo FROM generate_series(1, 30000) i) s;
ALTER TABLE bo_units ADD units int;
UPDATE bo_units SET units = (SELECT count(*) FROM (SELECT sum(-ln(random())) OVER (ORDER BY g) AS t FROM generate_series(1, 60) g) e WHERE t < rate);
SELECT metrics->>'objective' AS objective, metrics ? 'poisson_deviance' AS has_deviance
FROM shopml.train_boosted('bo_units', 'bo_units', 'units', ARRAY['price', 'promo'], '{"objective": "poisson", "n_trees": 200}');
SELECT bool_and(abs(m / rate - 1) < 0.1) AS means_within_10pct, count(*) AS cells
FROM (SELECT price, promo, rate, shopml.predict('bo_units', ARRAY[price, promo]) AS m FROM bo_units GROUP BY price, promo, rate) c;
-- Monotone: demand never rises with price, for every pair of prices on a grid, whatever the
-- other inputs; without the constraint the noisy fit rises somewhere.
SELECT setseed(0.625) \g /dev/null
CREATE TABLE bo_demand AS
SELECT i, price, season, 10 - 3 * price + sin(8 * price) + 2 * season + (random() - 0.5) * 3 AS units
FROM (SELECT i, random() * 2 AS price, random() AS season FROM generate_series(1, 6000) i) s;
SELECT n_train FROM shopml.train_boosted('bo_mono', 'bo_demand', 'units', ARRAY['price', 'season'],
                                         '{"monotone": {"price": -1}, "num_leaves": 15, "min_data_in_leaf": 5, "test_fraction": 0}');
SELECT n_train FROM shopml.train_boosted('bo_free', 'bo_demand', 'units', ARRAY['price', 'season'],
                                         '{"num_leaves": 15, "min_data_in_leaf": 5, "test_fraction": 0}');
CREATE TEMP TABLE bo_grid AS
SELECT s.season, p.price, shopml.predict('bo_mono', ARRAY[p.price, s.season]) AS mono, shopml.predict('bo_free', ARRAY[p.price, s.season]) AS free
FROM (SELECT g / 20.0 AS season FROM generate_series(0, 20) g) s, (SELECT g / 100.0 AS price FROM generate_series(0, 200) g) p;
SELECT bool_and(a.mono >= b.mono) AS never_rises, bool_or(a.free < b.free) AS unconstrained_rises, count(*) AS pairs
FROM bo_grid a JOIN bo_grid b ON a.season = b.season AND a.price < b.price;
-- Missing values are data: a NULL x1 means a high target here, and rows with a NULL x1 are
-- predicted high (not skipped: every row is trained on).
CREATE TABLE bo_missing AS
SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE x1 END AS x1, x2,
       CASE WHEN i % 4 = 0 THEN 5 ELSE (x1 > 0.5)::int END + x2 * 0.1 AS y
FROM (SELECT i, random() x1, random() x2 FROM generate_series(1, 8000) i) s;
SELECT n_train + n_test AS rows_used, metrics->>'skipped_rows' AS skipped
FROM shopml.train_boosted('bo_missing', 'bo_missing', 'y', ARRAY['x1', 'x2'], '{"n_trees": 50}');
SELECT round(shopml.predict('bo_missing', ARRAY[NULL, 0.5])::numeric, 1) AS null_x1, round(shopml.predict('bo_missing', ARRAY[0.9, 0.5])::numeric, 1) AS high_x1,
       round(shopml.predict('bo_missing', ARRAY[0.1, 0.5])::numeric, 1) AS low_x1;
-- Text classes (multiclass by default for more than two text values): labels, no predict_proba.
CREATE TABLE bo_zones AS
SELECT i, x1, x2, CASE WHEN x1 < 0.3 THEN 'a' WHEN x2 < 0.6 THEN 'b' ELSE 'c' END AS zone
FROM (SELECT i, round(random()::numeric, 2)::float8 x1, round(random()::numeric, 2)::float8 x2 FROM generate_series(1, 4000) i) s;
SELECT metrics->>'objective' AS objective, metrics->>'classes' AS classes, (metrics->>'accuracy')::float8 > 0.99 AS accurate
FROM shopml.train_boosted('bo_zones', 'bo_zones', 'zone', ARRAY['x1', 'x2'], '{"n_trees": 30}');
SELECT shopml.predict_label('bo_zones', ARRAY[0.1, 0.9]) AS a, shopml.predict_label('bo_zones', ARRAY[0.5, 0.2]) AS b, shopml.predict_label('bo_zones', ARRAY[0.5, 0.9]) AS c;
SELECT regress.err($$SELECT shopml.predict_proba('bo_zones', ARRAY[0.1, 0.9])$$) AS multi_class_proba;
SELECT regress.err($$SELECT shopml.predict('bo_zones', ARRAY[0.1, 0.9])$$) AS text_labels_predict;
SELECT regress.err($$SELECT shopml.predict_label('bo_stumps', ARRAY[0.1, 0.2, 0.3, 0.4])$$) AS regression_label;
SELECT task, algorithm, count(*) FROM shopml.models WHERE model_name LIKE 'bo\_%' GROUP BY 1, 2 ORDER BY 1;
-- Ranking (lambdarank): 300 search queries of 15 shown products; relevance 0 shown, 1 clicked,
-- 2 bought from the product's text match (plus noise the model does not see) and price. The held-out split keeps each query on
-- one side; the stored ndcg@10 equals the one recomputed here in SQL from predict (ties by row
-- order), and ranking by predict beats ranking by price alone.
SELECT setseed(0.75) \g /dev/null
CREATE TABLE bo_search AS
SELECT q AS query_id, p AS slot, match, price, noise,
       CASE WHEN match + jitter > 0.8 AND price < 0.5 THEN 2 WHEN match + jitter > 0.6 THEN 1 ELSE 0 END AS relevance
FROM (SELECT q, p, random() AS match, random() AS price, random() AS noise, (random() - 0.5) * 0.3 AS jitter
      FROM generate_series(1, 300) q, generate_series(1, 15) p) s;
CREATE TEMP TABLE bo_rank_fit AS
SELECT * FROM shopml.train_boosted('bo_rank', 'bo_search', 'relevance', ARRAY['match', 'price', 'noise'],
                                   '{"objective": "lambdarank", "group_column": "query_id", "n_trees": 50, "min_data_in_leaf": 10}');
SELECT n_train + n_test AS rows, metrics->>'objective' AS objective, (metrics->'test'->>'groups')::int + (metrics->'train'->>'groups')::int AS queries,
       (metrics->>'ndcg@10')::float8 BETWEEN 0.8 AND 0.999 AS ndcg_high, metrics->'curve'->>'loss' AS curve_loss FROM bo_rank_fit;
SELECT count(*) AS split_queries FROM (SELECT query_id FROM bo_search b JOIN shopml.split('bo_search', 0.2, 'query_id') s ON s.row_ctid = b.ctid::text
                                       GROUP BY query_id HAVING count(DISTINCT held_out) > 1) q;
CREATE TEMP TABLE bo_ranked AS
SELECT b.query_id, b.relevance, s.held_out,
       row_number() OVER (PARTITION BY b.query_id ORDER BY shopml.predict('bo_rank', b) DESC, b.ctid) AS by_model,
       row_number() OVER (PARTITION BY b.query_id ORDER BY b.relevance DESC) AS ideal,
       row_number() OVER (PARTITION BY b.query_id ORDER BY b.price, b.ctid) AS by_price
FROM bo_search b JOIN shopml.split('bo_search', 0.2, 'query_id') s ON s.row_ctid = b.ctid::text;
WITH per_query AS (
  SELECT query_id,
         sum(CASE WHEN by_model <= 10 THEN (2 ^ relevance - 1) / log(2, by_model + 1) ELSE 0 END) AS dcg,
         sum(CASE WHEN by_price <= 10 THEN (2 ^ relevance - 1) / log(2, by_price + 1) ELSE 0 END) AS dcg_price,
         sum(CASE WHEN ideal <= 10 THEN (2 ^ relevance - 1) / log(2, ideal + 1) ELSE 0 END) AS idcg
  FROM bo_ranked WHERE held_out GROUP BY query_id)
SELECT abs(avg(CASE WHEN idcg > 0 THEN dcg / idcg ELSE 1 END) - (SELECT (metrics->>'ndcg@10')::float8 FROM bo_rank_fit)) < 1e-9 AS ndcg_recomputed,
       avg(CASE WHEN idcg > 0 THEN dcg / idcg ELSE 1 END) > avg(CASE WHEN idcg > 0 THEN dcg_price / idcg ELSE 1 END) + 0.1 AS beats_price_order
FROM per_query;
SELECT regress.err($$SELECT shopml.predict_proba('bo_rank', b) FROM bo_search b LIMIT 1$$) AS rank_proba;
CREATE TABLE bo_big_query AS SELECT 1 AS query_id, i % 3 AS relevance, random() AS x FROM generate_series(1, 10001) i;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_search', 'relevance', options => '{"objective": "lambdarank"}')$$) AS rank_without_group;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_search', 'relevance', options => '{"objective": "lambdarank", "group_column": "session"}')$$) AS rank_unknown_group;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_search', 'relevance', options => '{"group_column": "query_id"}')$$) AS group_without_rank;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_big_query', 'relevance', options => '{"objective": "lambdarank", "group_column": "query_id", "test_fraction": 0}')$$) AS group_too_big;
-- Every class's probability (predict_classes): one row per label in class order, summing to 1,
-- the most probable being predict_label's; for two classes the last one is predict_proba.
SELECT label, round(probability::numeric, 3) > 0.9 AS likely FROM shopml.predict_classes('bo_zones', ARRAY[0.1, 0.9]);
SELECT bool_and(abs(t.total - 1) < 1e-12) AS sums_to_one, bool_and(t.top = shopml.predict_label('bo_zones', z)) AS top_is_label, count(*) AS rows
FROM bo_zones z, LATERAL (SELECT sum(probability) AS total, (array_agg(label ORDER BY probability DESC, label))[1] AS top
                          FROM shopml.predict_classes('bo_zones', z)) t WHERE z.i % 20 = 0;
SELECT bool_and(abs(c.probability - shopml.predict_proba('bo_disc', d)) < 1e-12) AS last_class_is_proba
FROM bo_disc d, LATERAL (SELECT probability FROM shopml.predict_classes('bo_disc', d) WHERE label = 'true') c WHERE d.i % 50 = 0;
SELECT n_train FROM shopml.train_forest('bo_forest3', 'bo_zones', 'zone', ARRAY['x1', 'x2'], '{"n_trees": 10, "test_fraction": 0}');
SELECT array_agg(label ORDER BY label) AS forest_labels, round(sum(probability)::numeric, 12) AS total
FROM shopml.predict_classes((SELECT max(model_id) FROM shopml.models WHERE model_name = 'bo_forest3'), ARRAY[0.5, 0.5]);
SELECT n_train FROM shopml.train_logistic('bo_logit', 'bo_disc', 'y', ARRAY['x1', 'x2']);
SELECT bool_and(abs(c.probability - shopml.predict_proba('bo_logit', d)) < 1e-12) AS logistic_last_class_is_proba, count(*) AS rows
FROM bo_disc d, LATERAL (SELECT probability FROM shopml.predict_classes('bo_logit', d) WHERE label = 'true') c WHERE d.i % 50 = 0;
SELECT count(*) AS null_row_classes FROM shopml.predict_classes('bo_zones', NULL::float8[]);
SELECT regress.err($$SELECT * FROM shopml.predict_classes('bo_stumps', ARRAY[0.1, 0.2, 0.3, 0.4])$$) AS regression_classes;
SELECT regress.err($$SELECT * FROM shopml.predict_classes('bo_rank', ARRAY[0.1, 0.2, 0.3])$$) AS ranking_classes;
-- predict_table scores a whole relation in blocks (keys as text, in scan order) and equals the
-- per-row predict forms for every kind it serves.
SELECT n_train FROM shopml.train_linear('bo_lin', 'bo_add', 'y', ARRAY['x1', 'x2', 'x3']);
SELECT n_train FROM shopml.train_kmeans('bo_km', 'bo_add', ARRAY['x1', 'x2'], 3);
SELECT m AS model, count(*) AS rows, bool_and(abs(t.prediction - p.v) < 1e-12 OR (t.prediction IS NULL AND p.v IS NULL)) AS same_as_predict
FROM (VALUES ('bo_lin'), ('bo_km'), ('bo_stumps')) v(m),
     LATERAL shopml.predict_table(m, 'bo_add', 'i') t
     JOIN LATERAL (SELECT shopml.predict(m, a) AS v FROM bo_add a WHERE a.i::text = t.key) p ON true
GROUP BY m ORDER BY m;
SELECT count(*) AS rows, bool_and(abs(t.prediction - shopml.predict_proba('bo_disc', d)) < 1e-12) AS proba_same,
       bool_and(abs(u.prediction - shopml.predict('bo_disc', d)) < 1e-12) AS label_same
FROM shopml.predict_table('bo_disc', 'bo_disc', 'i', '{"output": "probability"}') t
JOIN bo_disc d ON d.i::text = t.key JOIN shopml.predict_table('bo_disc', 'bo_disc', 'i') u ON u.key = t.key;
SELECT count(*) AS rows, bool_and(abs(t.prediction - shopml.predict_proba('bo_logit', d)) < 1e-12) AS logistic_same
FROM shopml.predict_table('bo_logit', 'bo_disc', 'i', '{"output": "probability"}') t JOIN bo_disc d ON d.i::text = t.key;
SELECT count(*) AS missing_rows, bool_and(abs(t.prediction - shopml.predict('bo_missing', m)) < 1e-12) AS missing_same
FROM shopml.predict_table('bo_missing', 'bo_missing', 'i') t JOIN bo_missing m ON m.i::text = t.key WHERE m.x1 IS NULL;
SELECT (SELECT count(*) FROM shopml.predict_table('bo_lin', 'bo_add', 'i', '{"version": 1}')) AS by_version;
CREATE TABLE bo_few AS SELECT i, x1 FROM bo_add;
SELECT regress.err($$SELECT * FROM shopml.predict_table('bo_lin', 'bo_add', 'nope')$$) AS unknown_key;
SELECT regress.err($$SELECT * FROM shopml.predict_table('bo_lin', 'bo_few', 'i')$$) AS missing_input;
SELECT regress.err($$SELECT * FROM shopml.predict_table('bo_zones', 'bo_zones', 'i')$$) AS text_labels;
SELECT regress.err($$SELECT * FROM shopml.predict_table('bo_lin', 'bo_add', 'i', '{"output": "label"}')$$) AS bad_output;
SELECT regress.err($$SELECT * FROM shopml.predict_table('bo_lin', 'bo_add', 'i', '{"version": 99}')$$) AS no_such_version;
SELECT regress.err($$SELECT * FROM shopml.predict_table(NULL, 'bo_add', 'i')$$) AS null_model;
-- Bad inputs; none of them writes a model.
CREATE TABLE bo_one AS SELECT x1, 'a'::text AS zone FROM bo_zones;
CREATE TABLE bo_neg AS SELECT x1, x2 - 0.5 AS y FROM bo_zones;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_zones', 'zone', options => '{"objective": "lambdamart"}')$$) AS unknown_objective;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_zones', 'zone', options => '{"learning_rate": 0}')$$) AS rate_zero;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_zones', 'zone', options => '{"learning_rate": 1.5}')$$) AS rate_above_one;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_zones', 'zone', options => '{"num_leaves": 1}')$$) AS one_leaf;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_zones', 'zone', options => '{"n_trees": 0}')$$) AS no_trees;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_zones', 'zone', options => '{"num_leafs": 8}')$$) AS misspelt;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_zones', 'zone', options => '{"objective": "binary"}')$$) AS binary_on_three_values;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_zones', 'zone', options => '{"objective": "regression"}')$$) AS regression_on_text;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_one', 'zone')$$) AS one_class;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_neg', 'y', options => '{"objective": "poisson"}')$$) AS negative_counts;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_demand', 'units', options => '{"monotone": {"cost": 1}}')$$) AS monotone_unknown_column;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_demand', 'units', options => '{"monotone": {"price": 2}}')$$) AS monotone_not_a_sign;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_demand', 'units', options => '{"early_stopping_rounds": 5, "test_fraction": 0}')$$) AS early_stopping_without_test_rows;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_demand', 'nope')$$) AS unknown_target;
CREATE TABLE bo_neg_rank AS SELECT i % 10 AS q, x2 AS f, x1 - 0.5 AS rel FROM bo_zones;
SELECT regress.err($$SELECT * FROM shopml.train_boosted('bad', 'bo_neg_rank', 'rel', options => '{"objective": "lambdarank", "group_column": "q"}')$$) AS negative_relevance;
SELECT count(*) AS bad_models FROM shopml.models WHERE model_name = 'bad';
-- predict_table scores boosters tree by tree over groups of rows: the same sums, in the same
-- order, as the row form, for a Poisson booster (its exp link) and a ranker too.
SELECT bool_and(t.prediction = shopml.predict('bo_units', u)) AS poisson_table_equals_rows, count(*) AS rows
FROM shopml.predict_table('bo_units', 'bo_units', 'i') t JOIN bo_units u ON u.i::text = t.key;
SELECT bool_and(abs(t.total - r.total) < 1e-9) AS ranking_table_equals_rows, count(*) AS queries
FROM (SELECT key, sum(prediction) AS total FROM shopml.predict_table('bo_rank', 'bo_search', 'query_id') GROUP BY key) t
JOIN (SELECT query_id::text AS key, sum(shopml.predict('bo_rank', s)) AS total FROM bo_search s GROUP BY 1) r USING (key);
