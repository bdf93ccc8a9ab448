-- shopml.tune: hyperparameter search by k-fold cross-validation. Every trial's per-fold score
-- equals the trainer's own held-out metric with {"folds": k, "fold": i} (the one-scan ridge
-- search included), the folds partition the rows (grouped folds keep a group together,
-- time-ordered folds train on the past only: checked against trainings on the earlier blocks
-- scored by shopml.evaluate on the next), the winner is the best mean and is refitted on all
-- rows, trials() lists every trial; bad inputs, nothing written by a failed search.
SELECT setseed(0.31) \g /dev/null
CREATE TABLE tu_rows AS
SELECT i, x1, x2, x3, 1 + i % 200 AS grp, date '2024-01-01' + (i % 365) AS day,
       CASE WHEN i % 3 = 0 THEN 'red' WHEN i % 3 = 1 THEN 'blue' ELSE 'green' END AS colour,
       2 * x1 - x2 + 0.5 * x3 + (random() - 0.5) * 2 AS y,
       random() < 1 / (1 + exp(-(3 * x1 - 2 * x2))) AS clicked
FROM (SELECT i, random() AS x1, random() AS x2, random() AS x3 FROM generate_series(1, 4000) i) s;

-- The folds: a partition of the rows, a fifth each; a group's rows share a fold.
SELECT sum(n) AS rows, count(*) AS folds, min(n) > 700 AND max(n) < 900 AS fifths
FROM (SELECT fold, count(*) AS n FROM shopml.folds('tu_rows') GROUP BY fold) f;
SELECT bool_and(n = 1) AS group_in_one_fold, count(*) AS groups
FROM (SELECT r.grp, count(DISTINCT f.fold) AS n FROM shopml.folds('tu_rows', 5, 'grp') f
      JOIN tu_rows r ON r.ctid::text = f.row_ctid GROUP BY r.grp) g;
-- Fold 0 of 5 is the split of test fraction 0.2 with the same seed.
SELECT bool_and((f.fold = 0) = s.held_out) AS fold0_is_the_split
FROM shopml.folds('tu_rows', 5, NULL, 3) f JOIN shopml.split('tu_rows', 0.2, NULL, 3) s USING (row_number);

-- A ridge search over l2 (one scan of fold statistics; a text input one-hot encoded).
CREATE TEMP TABLE tu_r AS
SELECT * FROM shopml.tune('tu_ridge', 'linear', 'tu_rows',
  '{"target": "y", "features": ["x1", "x2", "x3", "colour"]}', '{"l2": [0.1, 30, 1000, 10000]}');
SELECT version, n_train, n_test, metrics->'tuning'->>'one_scan' AS one_scan, metrics->'tuning'->>'metric' AS metric,
       metrics->'tuning'->'chosen' AS chosen, jsonb_array_length(metrics->'tuning'->'trials') AS trials
FROM tu_r;
SELECT trial, options, chosen, array_length(per_fold, 1) AS folds FROM shopml.trials('tu_ridge') ORDER BY trial;
-- Each trial's fold = train_linear's held-out r2 on that fold (15 trainings, not deployed).
SELECT count(*) AS checked,
       bool_and(abs(t.per_fold[f + 1] - (SELECT (metrics->>'r2')::float8 FROM shopml.train_linear('tu_check', 'tu_rows', 'y',
           ARRAY['x1', 'x2', 'x3', 'colour'], jsonb_build_object('l2', t.options->'l2', 'folds', 5, 'fold', f, 'deploy', false)))) < 1e-9)
         AS equals_train_linear_folds
FROM shopml.trials('tu_ridge') t, generate_series(0, 4) f;
-- The held-out rows of fold i are the rows shopml.folds puts in fold i.
SELECT bool_and(n_test = (SELECT count(*) FROM shopml.folds('tu_rows') WHERE fold = f)) AS fold_sizes_agree
FROM generate_series(0, 4) f,
     LATERAL shopml.train_linear('tu_check', 'tu_rows', 'y', ARRAY['x1'], jsonb_build_object('folds', 5, 'fold', f, 'deploy', false));
-- Mean and (population) std recomputed; the chosen trial has the best mean.
SELECT bool_and(abs(t.mean - (SELECT avg(v) FROM unnest(t.per_fold) v)) < 1e-12
            AND abs(t.std - (SELECT stddev_pop(v) FROM unnest(t.per_fold) v)) < 1e-12) AS mean_std,
       (SELECT options FROM shopml.trials('tu_ridge') WHERE chosen)
         = (SELECT options FROM shopml.trials('tu_ridge') ORDER BY mean DESC LIMIT 1) AS best_mean_chosen,
       (SELECT count(*) FROM shopml.trials('tu_ridge') WHERE chosen) AS chosen_trials
FROM shopml.trials('tu_ridge') t;
-- The winner refitted on all rows equals train_linear with its l2 on all rows.
SELECT version FROM shopml.train_linear('tu_ridge_ref', 'tu_rows', 'y', ARRAY['x1', 'x2', 'x3', 'colour'],
  (SELECT jsonb_build_object('l2', options->'l2', 'test_fraction', 0) FROM shopml.trials('tu_ridge') WHERE chosen));
SELECT count(*) AS lines, bool_and(abs(a.coefficient - b.coefficient) < 1e-9 AND abs(a.std_error - b.std_error) < 1e-9) AS same_model
FROM shopml.coefficients('tu_ridge') a JOIN shopml.coefficients('tu_ridge_ref') b USING (feature);
SELECT model_name, version, deployed FROM shopml.models WHERE model_name = 'tu_ridge';
-- rmse selects the same way (smaller is better), deploy false keeps the deployed version.
SELECT version, metrics->'tuning'->>'greater_is_better' AS greater_is_better,
       metrics->'tuning'->'chosen' = (SELECT metrics->'tuning'->'chosen' FROM tu_r) AS same_choice
FROM shopml.tune('tu_ridge', 'linear', 'tu_rows', '{"target": "y", "features": ["x1", "x2", "x3", "colour"]}',
                 '{"l2": [0.1, 30, 1000, 10000]}', '{"metric": "rmse", "deploy": false}');
SELECT version, deployed FROM shopml.models WHERE model_name = 'tu_ridge' ORDER BY version;
SELECT count(*) AS trials FROM shopml.trials('tu_ridge', 1);

-- Logistic (each trial trains train_logistic per fold), folds grouped by customer group.
CREATE TEMP TABLE tu_l AS
SELECT * FROM shopml.tune('tu_logit', 'train_logistic', 'tu_rows', '{"target": "clicked", "features": ["x1", "x2", "x3"]}',
                          '{"l2": [0.001, 100, 3000]}', '{"group_column": "grp", "folds": 4}');
SELECT n_train, metrics->'tuning'->>'metric' AS metric, metrics->'tuning'->>'one_scan' AS one_scan,
       metrics->'tuning'->'fold_kind' AS fold_kind FROM tu_l;
SELECT count(*) AS checked,
       bool_and(abs(t.per_fold[f + 1] - (SELECT (metrics->>'auc')::float8 FROM shopml.train_logistic('tu_check_l', 'tu_rows', 'clicked',
           ARRAY['x1', 'x2', 'x3'], jsonb_build_object('l2', t.options->'l2', 'folds', 4, 'fold', f, 'split_column', 'grp', 'deploy', false)))) < 1e-12)
         AS equals_train_logistic_folds,
       (SELECT options->>'l2' FROM shopml.trials('tu_logit') WHERE chosen) <> '3000' AS heavy_penalty_loses
FROM shopml.trials('tu_logit') t, generate_series(0, 3) f;

-- Time-ordered folds: fold i trains on the blocks before block i and is scored on block i.
CREATE TEMP TABLE tu_t AS
SELECT * FROM shopml.tune('tu_time', 'linear', 'tu_rows', '{"target": "y", "features": ["x1", "x2"]}',
                          '{"l2": [1, 5000]}', '{"time_column": "day", "folds": 3}');
SELECT metrics->'tuning'->'fold_kind' AS fold_kind, metrics->'tuning'->>'one_scan' AS one_scan FROM tu_t;
CREATE FUNCTION pg_temp.time_fold_r2(l2 float8, i int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE cuts date[]; lo date; hi date; r float8;
BEGIN
  SELECT percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY day) INTO cuts FROM tu_rows;
  lo := cuts[i]; hi := cuts[i + 1];
  EXECUTE format('CREATE TEMP VIEW tu_past AS SELECT * FROM tu_rows WHERE day < %L', lo);
  EXECUTE format('CREATE TEMP VIEW tu_next AS SELECT * FROM tu_rows WHERE day >= %L AND (%L IS NULL OR day < %L)', lo, hi, hi);
  PERFORM * FROM shopml.train_linear('tu_past_fit', 'tu_past', 'y', ARRAY['x1', 'x2'],
                                     jsonb_build_object('l2', l2, 'test_fraction', 0));
  SELECT value INTO r FROM shopml.evaluate('tu_past_fit', 'tu_next') WHERE metric = 'r2';
  DROP VIEW tu_past; DROP VIEW tu_next;
  RETURN r;
END $$;
SELECT count(*) AS checked,
       bool_and(abs(t.per_fold[i] - pg_temp.time_fold_r2((t.options->>'l2')::float8, i)) < 1e-9) AS trains_on_the_past
FROM shopml.trials('tu_time') t, generate_series(1, 3) i;
SELECT count(*) AS views_left FROM pg_class WHERE relname LIKE 'shopml_tune%';

-- A random search: n_iter draws within the ranges, integers where asked, the same for a seed.
CREATE TEMP TABLE tu_b AS
SELECT * FROM shopml.tune('tu_boost', 'boosted', 'tu_rows', '{"target": "y", "features": ["x1", "x2", "x3"], "options": {"n_trees": 20}}',
  '{"learning_rate": {"min": 0.05, "max": 0.5, "log": true}, "num_leaves": {"min": 2, "max": 16, "integer": true}, "l2": [0, 1]}',
  '{"n_iter": 4, "folds": 3, "seed": 7}');
SELECT count(*) AS trials,
       bool_and((options->>'learning_rate')::float8 BETWEEN 0.05 AND 0.5) AS rates_in_range,
       bool_and(options->>'num_leaves' ~ '^[0-9]+$' AND (options->>'num_leaves')::int BETWEEN 2 AND 16) AS leaves_integers,
       bool_and(options->>'l2' IN ('0', '1')) AS listed_values,
       count(DISTINCT options) AS distinct_draws
FROM shopml.trials('tu_boost');
SELECT (SELECT array_agg(options ORDER BY trial) FROM shopml.trials('tu_boost'))
     = (SELECT array_agg(e->'options' ORDER BY (e->>'trial')::int) FROM shopml.tune('tu_boost2', 'boosted', 'tu_rows',
          '{"target": "y", "features": ["x1", "x2", "x3"], "options": {"n_trees": 5}}',
          '{"learning_rate": {"min": 0.05, "max": 0.5, "log": true}, "num_leaves": {"min": 2, "max": 16, "integer": true}, "l2": [0, 1]}',
          '{"n_iter": 4, "folds": 2, "seed": 7}') r, jsonb_array_elements(r.metrics->'tuning'->'trials') e) AS same_draws_for_a_seed;
-- The refitted winner: n_trees from the arguments, its options from the chosen trial.
SELECT m.params->>'n_trees' AS n_trees,
       (m.params->>'num_leaves') = (SELECT options->>'num_leaves' FROM shopml.trials('tu_boost') WHERE chosen) AS winner_stored,
       m.n_test AS n_test
FROM shopml.models m WHERE model_name = 'tu_boost';

-- The trainers' fold options on their own.
SELECT n_test < 1000 AND n_test > 600 AS a_fifth FROM shopml.train_forest('tu_check_f', 'tu_rows', 'y', ARRAY['x1', 'x2'],
  '{"folds": 5, "fold": 4, "n_trees": 5, "deploy": false}');

-- Bad inputs; nothing is written by a failed search.
CREATE TABLE tu_three AS SELECT * FROM tu_rows LIMIT 3;
CREATE TEMP TABLE tu_before AS SELECT count(*) AS n FROM shopml.model;
SELECT n, regress.err(q) FROM (VALUES
  (1, $$SELECT * FROM shopml.tune('tu_bad', 'svm', 'tu_rows', '{"target": "y"}', '{"l2": [1]}')$$),
  (2, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y", "features": ["x1"]}', '{"lamda": [1, 2]}')$$),
  (3, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y"}', '{"l2": [1]}', '{"folds": 1}')$$),
  (4, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_three', '{"target": "y", "features": ["x1"]}', '{"l2": [1]}', '{"folds": 5}')$$),
  (5, $$SELECT * FROM shopml.tune('tu_bad', 'logistic', 'tu_three', '{"target": "clicked", "features": ["x1"]}', '{"l2": [1]}', '{"folds": 5}')$$),
  (6, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y"}', '{"test_fraction": [0.1, 0.3]}')$$),
  (7, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y"}', '{"l2": [1]}', '{"fodls": 3}')$$),
  (8, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y", "feature": ["x1"]}', '{"l2": [1]}')$$),
  (9, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y", "features": ["x1"]}', '{"l2": [1]}', '{"time_column": "when"}')$$),
  (10, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y", "features": ["x1"]}', '{"l2": [1]}', '{"group_column": "who"}')$$),
  (11, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "z", "features": ["x1"]}', '{"l2": [1]}')$$),
  (12, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y", "features": ["x1"]}', '{"l2": [1, -1]}')$$),
  (13, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y", "features": ["x1"]}', '{"l2": []}')$$),
  (14, $$SELECT * FROM shopml.tune('tu_bad', 'kmeans', 'tu_rows', '{}', '{"k": [2, 3]}')$$),
  (15, $$SELECT * FROM shopml.tune('tu_bad', 'forest', 'tu_rows', '{"target": "y", "features": ["x1"]}', '{"max_depth": [2]}', '{"metric": "auc"}')$$),
  (16, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y", "features": ["x1"]}', '{"l2": {"min": 10, "max": 1}}')$$),
  (17, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y", "options": {"folds": 3}}', '{"l2": [1]}')$$),
  (18, $$SELECT * FROM shopml.tune('tu_bad', 'linear', NULL, '{"target": "y"}', '{"l2": [1]}')$$),
  (19, $$SELECT * FROM shopml.tune('tu_bad', 'linear', 'tu_rows', '{"target": "y", "features": ["x1"]}', '{"l2": [1]}', '{"time_column": "day", "group_column": "grp"}')$$),
  (20, $$SELECT * FROM shopml.trials('no_such_model')$$),
  (21, $$SELECT * FROM shopml.trials('tu_ridge', 99)$$),
  (22, $$SELECT * FROM shopml.train_linear('tu_bad', 'tu_rows', 'y', ARRAY['x1'], '{"fold": 1}')$$),
  (23, $$SELECT * FROM shopml.train_linear('tu_bad', 'tu_rows', 'y', ARRAY['x1'], '{"folds": 3, "fold": 3}')$$),
  (24, $$SELECT * FROM shopml.train_linear('tu_bad', 'tu_rows', 'y', ARRAY['x1'], '{"folds": 3, "fold": 0, "test_fraction": 0.1}')$$),
  (25, $$SELECT * FROM shopml.folds('tu_rows', 1)$$),
  (26, $$SELECT * FROM shopml.folds('tu_rows', 5, 'who')$$)
) c(n, q) ORDER BY n;
SELECT count(*) = (SELECT n FROM tu_before) AS nothing_written FROM shopml.model;
