-- Random forests: a single tree reproduces an axis-aligned rule exactly, a forest approaches
-- the Bayes accuracy of a known noisy rule (computed in SQL from the generating
-- probabilities), text/integer/boolean labels, importance, thread independence, bad inputs.
SET client_min_messages = warning;
SELECT setseed(0.125) \g /dev/null
-- Rule: zone = 'a' when x1 < 0.3, 'b' when x1 ≥ 0.3 and x2 < 0.6, else 'c'; noise columns x3, x4.
CREATE TABLE fo_zones AS
SELECT i, x1, x2, x3, x4, CASE WHEN x1 < 0.3 THEN 'a' WHEN x2 < 0.6 THEN 'b' ELSE 'c' END AS zone,
       (CASE WHEN x1 < 0.3 THEN 1 WHEN x2 < 0.6 THEN 2 ELSE 3 END) AS zone_no
FROM (SELECT i, round(random()::numeric, 2)::float8 x1, round(random()::numeric, 2)::float8 x2, random() x3, random() x4
      FROM generate_series(1, 4000) i) s;
-- One decision tree (no bootstrap, every feature at each split) fits the rule exactly: on a
-- grid of 0.01 the thresholds fall between bins, so held-out rows are all right too.
SELECT n_train, metrics->>'classes' AS classes, (metrics->>'accuracy')::float8 AS test_accuracy
FROM shopml.train_forest('fo_tree', 'fo_zones', 'zone', ARRAY['x1', 'x2', 'x3', 'x4'],
                         '{"n_trees": 1, "bootstrap": false, "max_features": "all"}');
SELECT count(*) FILTER (WHERE shopml.predict_label('fo_tree', z) = zone) AS right, count(*) AS rows FROM fo_zones z;
SELECT feature, round(importance::numeric, 3) > 0.1 AS used FROM shopml.feature_importance('fo_tree') ORDER BY feature;
SELECT round(sum(importance)::numeric, 12) AS total FROM shopml.feature_importance('fo_tree');
-- Integer labels: predict returns the label as a number; text labels need predict_label.
SELECT n_train FROM shopml.train_forest('fo_int', 'fo_zones', 'zone_no', ARRAY['x1', 'x2'], '{"n_trees": 20}');
SELECT shopml.predict('fo_int', ARRAY[0.1, 0.5]) AS low_x1, shopml.predict('fo_int', ARRAY[0.9, 0.2]) AS b, shopml.predict('fo_int', ARRAY[0.9, 0.9]) AS c,
       shopml.predict_label('fo_int', ARRAY[0.9, 0.9]) AS c_text;
SELECT regress.err($$SELECT shopml.predict('fo_tree', z) FROM fo_zones z LIMIT 1$$) AS text_labels_predict;
SELECT regress.err($$SELECT shopml.predict_proba('fo_tree', z) FROM fo_zones z LIMIT 1$$) AS multi_class_proba;
-- A noisy two-class rule: P(y) = 0.9 inside the disc x1² + x2² < 0.5, 0.1 outside, so no model
-- beats the Bayes accuracy of 0.9 (measured on the test rows in SQL); the forest must come close.
SELECT setseed(0.375) \g /dev/null
CREATE TABLE fo_disc AS
SELECT i, x1, x2, x3, color, random() < CASE WHEN x1 * x1 + x2 * x2 < 0.5 THEN 0.9 ELSE 0.1 END AS y,
       x1 * x1 + x2 * x2 < 0.5 AS bayes
FROM (SELECT i, random() * 2 - 1 x1, random() * 2 - 1 x2, random() x3, (ARRAY['red', 'green', 'blue'])[1 + i % 3] AS color
      FROM generate_series(1, 20000) i) s;
SELECT n_train, n_test, metrics->>'classes' AS classes, (metrics->>'auc')::float8 > 0.85 AS auc_high
FROM shopml.train_forest('fo_disc', 'fo_disc', 'y', ARRAY['x1', 'x2', 'x3', 'color'], '{"n_trees": 60, "min_samples_leaf": 5}');
SELECT abs(avg((shopml.predict('fo_disc', d) = y::int)::int) - avg((bayes = y)::int)) < 0.03 AS near_bayes_accuracy,
       avg((shopml.predict_label('fo_disc', d) = y::text)::int) = avg((shopml.predict('fo_disc', d) = y::int)::int) AS label_agrees
FROM fo_disc d WHERE i % 5 = 0;
-- The probability agrees with the metrics' AUC recomputed in SQL (held-out rows are a hash of
-- the row, so the AUC is recomputed over all rows here and only checked for consistency).
SELECT (SELECT count(*) FROM fo_disc d WHERE shopml.predict_proba('fo_disc', d) BETWEEN 0 AND 1) AS probabilities_in_range;
SELECT feature, importance < 0.15 AS small FROM shopml.feature_importance('fo_disc') ORDER BY feature;
-- The same forest with one and with two threads.
SET shopml.threads = 1;
SELECT n_train FROM shopml.train_forest('fo_t1', 'fo_disc', 'y', ARRAY['x1', 'x2', 'x3'], '{"n_trees": 12, "test_fraction": 0}');
SET shopml.threads = 2;
SELECT n_train FROM shopml.train_forest('fo_t2', 'fo_disc', 'y', ARRAY['x1', 'x2', 'x3'], '{"n_trees": 12, "test_fraction": 0}');
SELECT bool_and(shopml.predict_proba('fo_t1', d) = shopml.predict_proba('fo_t2', d)) AS same_with_any_thread_count FROM fo_disc d;
RESET shopml.threads;
-- Bad inputs; none of them writes a model.
CREATE TABLE fo_one AS SELECT x1, 'a'::text AS zone FROM fo_zones;
CREATE TABLE fo_dates AS SELECT x1, DATE '2025-01-01' + i AS d FROM fo_zones;
CREATE TABLE fo_cont AS SELECT x1, x2 * 1000 + random() AS y FROM fo_zones;
CREATE TABLE fo_many AS SELECT x1, 'site' || i AS site, zone FROM fo_zones;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_one', 'zone')$$) AS one_class;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_dates', 'd')$$) AS date_target;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_zones', 'zone', options => '{"task": "regression"}')$$) AS regression_on_text;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_disc', 'y', options => '{"task": "regression"}')$$) AS regression_on_boolean;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_zones', 'zone', options => '{"task": "ranking"}')$$) AS unknown_task;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_cont', 'y', options => '{"task": "classification"}')$$) AS many_classes_asked;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_many', 'zone', ARRAY['x1', 'site'])$$) AS hashed_feature;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_zones', 'nope')$$) AS unknown_target;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_zones', 'zone', ARRAY['nope'])$$) AS unknown_feature;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_zones', 'zone', options => '{"n_trees": 0}')$$) AS no_trees;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_zones', 'zone', options => '{"max_depth": 0}')$$) AS depth_zero;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_zones', 'zone', options => '{"max_features": "half"}')$$) AS bad_max_features;
SELECT regress.err($$SELECT * FROM shopml.train_forest('bad', 'fo_zones', 'zone', options => '{"min_sample_leaf": 3}')$$) AS misspelt;
SELECT count(*) AS bad_models FROM shopml.models WHERE model_name = 'bad';

-- Regression forests. A float target with fractions is a quantity, never classes: the task is
-- chosen from it and said in the metrics; one fully grown tree on distinct inputs (no
-- bootstrap) reproduces every training target, its leaves being single rows.
SELECT setseed(0.625) \g /dev/null
CREATE TABLE fo_price AS
SELECT i, x1, x2, x3, CASE WHEN x1 < 0.5 THEN 'low' ELSE 'high' END AS band,
       10 * sin(pi() * x1 * x2) + 20 * (x3 - 0.5) ^ 2 + CASE WHEN x1 < 0.5 THEN 0 ELSE 3 END AS signal,
       10 * sin(pi() * x1 * x2) + 20 * (x3 - 0.5) ^ 2 + CASE WHEN x1 < 0.5 THEN 0 ELSE 3 END + (random() - 0.5) AS y
FROM (SELECT i, random() x1, random() x2, random() x3 FROM generate_series(1, 6000) i) s;
SELECT metrics->>'task' AS task, metrics ? 'classes' AS has_classes, (metrics->>'r2')::float8 > 0.9 AS r2_high
FROM shopml.train_forest('fo_reg', 'fo_price', 'y', ARRAY['x1', 'x2', 'x3', 'band'], '{"n_trees": 40}');
SELECT task AS catalog_task, params->>'max_features' AS max_features FROM shopml.models WHERE model_name = 'fo_reg';
SELECT n_train FROM shopml.train_forest('fo_reg1', 'fo_price', 'y', ARRAY['x1', 'x2', 'x3'],
                                        '{"n_trees": 1, "bootstrap": false, "test_fraction": 0}');
SELECT max(abs(shopml.predict('fo_reg1', p) - y)) < 1e-5 * max(abs(y)) AS reproduces_targets FROM fo_price p;
-- The forest's held-out rmse recomputed in SQL, and its error against the noiseless signal
-- below the noise (uniform ±0.5 has sd 0.29).
SELECT abs(sqrt(avg((shopml.predict('fo_reg', p) - y) ^ 2)) - (SELECT (metrics->>'rmse')::float8 FROM shopml.models WHERE model_name = 'fo_reg')) < 1
       AS rmse_consistent,
       sqrt(avg((shopml.predict('fo_reg', p) - signal) ^ 2)) < 0.6 AS close_to_signal
FROM fo_price p;
-- Every feature's importance, the noise-free band used; explanations add up to predictions;
-- predict_table agrees with predict.
SELECT feature, importance > 0.01 AS used FROM shopml.feature_importance('fo_reg') ORDER BY feature;
SELECT bool_and(abs(e.total - shopml.predict('fo_reg', p)) < 1e-4) AS explanations_add_up
FROM fo_price p, LATERAL (SELECT sum(contribution) AS total FROM shopml.explain('fo_reg', p)) e WHERE i <= 50;
SELECT (SELECT contribution FROM shopml.explain('fo_reg', p) LIMIT 1) IS NOT NULL AS has_baseline FROM fo_price p WHERE i = 1;
SELECT bool_and(abs(t.prediction - shopml.predict('fo_reg', p)) < 1e-12) AS table_equals_rows, count(*) AS rows
FROM shopml.predict_table('fo_reg', 'fo_price', 'i') t JOIN fo_price p ON p.i::text = t.key;
-- An integer target stays classes unless asked; task 'regression' makes it a regression.
SELECT metrics->>'task' AS task FROM shopml.train_forest('fo_zone_reg', 'fo_zones', 'zone_no', ARRAY['x1', 'x2'], '{"n_trees": 5, "task": "regression"}');
SELECT round(shopml.predict('fo_zone_reg', ARRAY[0.1, 0.5])::numeric, 1) AS zone_one;
-- The same regression forest for one and two threads; an update adds trees on new rows.
SET shopml.threads = 1;
SELECT n_train FROM shopml.train_forest('fo_r1', 'fo_price', 'y', ARRAY['x1', 'x2'], '{"n_trees": 8, "test_fraction": 0}');
SET shopml.threads = 2;
SELECT n_train FROM shopml.train_forest('fo_r2', 'fo_price', 'y', ARRAY['x1', 'x2'], '{"n_trees": 8, "test_fraction": 0}');
RESET shopml.threads;
SELECT bool_and(shopml.predict('fo_r1', p) = shopml.predict('fo_r2', p)) AS same_with_any_thread_count FROM fo_price p;
SELECT version, metrics->>'trees' AS trees, (metrics->>'r2')::float8 > 0.5 AS r2_ok
FROM shopml.update('fo_r1', 'fo_price', '{"n_trees": 4}');
-- What a regression forest cannot answer.
SELECT regress.err($$SELECT shopml.predict_proba('fo_reg', p) FROM fo_price p LIMIT 1$$) AS no_probability;
SELECT regress.err($$SELECT shopml.predict_label('fo_reg', p) FROM fo_price p LIMIT 1$$) AS no_label;
SELECT regress.err($$SELECT c.* FROM fo_price p, shopml.predict_classes('fo_reg', p) c LIMIT 1$$) AS no_classes;
-- predict_table scores a two-class forest tree by tree over groups of rows: the probabilities
-- are those of predict_proba, bit for bit; labels go row by row and agree with predict.
SELECT bool_and(t.prediction = shopml.predict_proba('fo_disc', d)) AS probability_table_equals_rows, count(*) AS rows
FROM shopml.predict_table('fo_disc', 'fo_disc', 'i', '{"output": "probability"}') t JOIN fo_disc d ON d.i::text = t.key;
SELECT bool_and(t.prediction = shopml.predict('fo_disc', d)) AS label_table_equals_rows
FROM shopml.predict_table('fo_disc', 'fo_disc', 'i') t JOIN fo_disc d ON d.i::text = t.key;
