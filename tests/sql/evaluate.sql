-- shopml.evaluate: metrics on labelled rows, computed in SQL from the predict functions,
-- against the metrics the trainers computed in Rust on the same rows; other versions; the
-- stored metrics; bad inputs.
SELECT setseed(0.5) \g /dev/null
CREATE TABLE ev_rows AS
SELECT i, x1, x2, 3 + 2 * x1 - x2 + (random() - 0.5) AS y,
       (random() < 1 / (1 + exp(-(-0.5 + 2 * x1 - 0.7 * x2)))) AS clicked
FROM (SELECT i, random() * 2 - 1 AS x1, random() * 3 AS x2 FROM generate_series(1, 5000) i) s;
CREATE TABLE ev_new AS
SELECT i, x1, x2, 3 + 2 * x1 - x2 + (random() - 0.5) AS y,
       (random() < 1 / (1 + exp(-(-0.5 + 2 * x1 - 0.7 * x2)))) AS clicked
FROM (SELECT i, random() * 2 - 1 AS x1, random() * 3 AS x2 FROM generate_series(1, 3000) i) s;
SELECT version FROM shopml.train_linear('ev_lin', 'ev_rows', 'y', ARRAY['x1', 'x2'], '{"test_fraction": 0}');
SELECT version FROM shopml.train_logistic('ev_log', 'ev_rows', 'clicked', ARRAY['x1', 'x2'], '{"test_fraction": 0}');
SELECT version FROM shopml.train_forest('ev_forest', 'ev_rows', 'clicked', ARRAY['x1', 'x2'],
                                        '{"test_fraction": 0, "n_trees": 10, "max_depth": 4}');
-- On the training rows, SQL and Rust agree on every metric.
CREATE TEMP TABLE ev_check AS
SELECT m.model_name, e.metric, e.value,
       coalesce(m.metrics->'train'->>e.metric, m.metrics->>e.metric)::float8 AS stored
FROM shopml.models m, LATERAL shopml.evaluate(m.model_name, 'ev_rows') e
WHERE m.model_name IN ('ev_lin', 'ev_log', 'ev_forest');
SELECT model_name, string_agg(metric, ', ' ORDER BY metric) AS metrics,
       bool_and(abs(value - stored) <= 1e-9 * greatest(1, abs(stored))) AS agree
FROM ev_check WHERE stored IS NOT NULL GROUP BY 1 ORDER BY 1;
SELECT model_name, metric FROM ev_check WHERE stored IS NULL ORDER BY 1, 2;
-- On new rows from the same process: close to the training figures, every row counted.
SELECT e.metric, e.value = 3000 AS all_rows FROM shopml.evaluate('ev_log', 'ev_new') e WHERE metric = 'n';
SELECT abs(n.value - t.value) < 0.03 AS auc_holds
FROM shopml.evaluate('ev_log', 'ev_new') n, shopml.evaluate('ev_log', 'ev_rows') t
WHERE n.metric = 'auc' AND t.metric = 'auc';
SELECT abs(value - 1 / sqrt(12)) < 0.02 AS rmse_is_the_noise FROM shopml.evaluate('ev_lin', 'ev_new') WHERE metric = 'rmse';
-- A lower threshold raises recall and lowers precision; the AUC does not move.
SELECT bool_and(CASE a.metric WHEN 'recall' THEN a.value > b.value WHEN 'precision' THEN a.value < b.value
                              ELSE a.value = b.value END) AS threshold_moves_only_precision_recall_f1_accuracy
FROM shopml.evaluate('ev_log', 'ev_new', '{"threshold": 0.3}') a JOIN shopml.evaluate('ev_log', 'ev_new') b USING (metric)
WHERE a.metric NOT IN ('f1', 'accuracy');
-- A version that is not deployed (the challenger), and the stored metrics without a relation.
SELECT version FROM shopml.train_logistic('ev_log', 'ev_rows', 'clicked', ARRAY['x2'], '{"test_fraction": 0, "deploy": false}');
SELECT (SELECT value FROM shopml.evaluate('ev_log', 'ev_new', '{"version": 2}') WHERE metric = 'auc')
     < (SELECT value FROM shopml.evaluate('ev_log', 'ev_new') WHERE metric = 'auc') AS champion_wins;
SELECT count(*) > 5 AS has_rows, bool_and(value IS NOT NULL) AS numbers FROM shopml.evaluate('ev_log');
-- Rows with a NULL target or feature are left out.
CREATE TABLE ev_nulls AS SELECT * FROM ev_new;
UPDATE ev_nulls SET clicked = NULL WHERE i <= 10;
UPDATE ev_nulls SET x1 = NULL WHERE i BETWEEN 11 AND 15;
SELECT value AS n FROM shopml.evaluate('ev_log', 'ev_nulls') WHERE metric = 'n';
-- Bad inputs.
SELECT version FROM shopml.train_kmeans('ev_km', 'ev_rows', ARRAY['x1', 'x2'], 3);
CREATE TABLE ev_no_target AS SELECT i, x1, x2 FROM ev_new;
SELECT n, regress.err(q) FROM (VALUES
  (1, $$SELECT * FROM shopml.evaluate('no_such_model', 'ev_new')$$),
  (2, $$SELECT * FROM shopml.evaluate(NULL, 'ev_new')$$),
  (3, $$SELECT * FROM shopml.evaluate('ev_log', 'ev_new', '{"treshold": 0.5}')$$),
  (4, $$SELECT * FROM shopml.evaluate('ev_log', 'ev_new', '{"threshold": 2}')$$),
  (5, $$SELECT * FROM shopml.evaluate('ev_log', 'ev_new', '{"version": 9}')$$),
  (6, $$SELECT * FROM shopml.evaluate('ev_log', 'ev_no_target')$$),
  (7, $$SELECT * FROM shopml.evaluate('ev_km', 'ev_new')$$),
  (8, $$SELECT * FROM shopml.evaluate('ev_log', 'ev_new', '"x"')$$)
) c(n, q) ORDER BY n;
-- Curves for charts, checked against evaluate's figures computed another way: the trapezoids
-- under the ROC curve against the rank-sum AUC, the precision-recall point at 0.5, the
-- calibration bins against the calibration error, the confusion matrix against the accuracy.
WITH r AS (SELECT * FROM shopml.roc_curve('ev_log', 'ev_new')),
     t AS (SELECT sum((false_positive_rate - prev_f) * (true_positive_rate + prev_t) / 2) AS area
             FROM (SELECT false_positive_rate, true_positive_rate,
                          lag(false_positive_rate) OVER (ORDER BY threshold DESC) AS prev_f,
                          lag(true_positive_rate) OVER (ORDER BY threshold DESC) AS prev_t FROM r) x
            WHERE prev_f IS NOT NULL)
SELECT abs(t.area - e.value) < 1e-9 AS roc_area_is_auc,
       (SELECT min(false_positive_rate) = 0 AND max(true_positive_rate) = 1 FROM r) AS ends
FROM t, shopml.evaluate('ev_log', 'ev_new') e WHERE e.metric = 'auc';
SELECT abs(c."precision" - p.value) < 1e-9 AND abs(c.recall - r.value) < 1e-9 AS pr_point_at_half
FROM (SELECT * FROM shopml.pr_curve('ev_log', 'ev_new') WHERE threshold >= 0.5 ORDER BY threshold LIMIT 1) c,
     shopml.evaluate('ev_log', 'ev_new') p, shopml.evaluate('ev_log', 'ev_new') r
WHERE p.metric = 'precision' AND r.metric = 'recall';
SELECT count(*) AS bins, sum(n) AS rows,
       abs(sum(abs(mean_predicted - observed_rate) * n) / sum(n)
           - (SELECT value FROM shopml.evaluate('ev_log', 'ev_new') WHERE metric = 'calibration_error')) < 1e-9 AS ece
FROM shopml.calibration_curve('ev_log', 'ev_new');
SELECT count(*) AS bins FROM shopml.calibration_curve('ev_log', 'ev_new', '{"bins": 4}');
SELECT actual, predicted, n > 0 AS seen FROM shopml.confusion_matrix('ev_log', 'ev_new') ORDER BY 1, 2;
SELECT abs(sum(n) FILTER (WHERE actual = predicted)::float8 / sum(n)
           - (SELECT value FROM shopml.evaluate('ev_log', 'ev_new') WHERE metric = 'accuracy')) < 1e-9 AS diagonal_is_accuracy,
       sum(n) AS rows
FROM shopml.confusion_matrix('ev_log', 'ev_new');
SELECT sum(n) FILTER (WHERE predicted = 'true') > (SELECT sum(n) FILTER (WHERE predicted = 'true') FROM shopml.confusion_matrix('ev_log', 'ev_new'))
       AS lower_threshold_more_positives
FROM shopml.confusion_matrix('ev_log', 'ev_new', '{"threshold": 0.3}');
SELECT n, regress.err(q) FROM (VALUES
  (1, $$SELECT * FROM shopml.roc_curve('ev_lin', 'ev_new')$$),
  (2, $$SELECT * FROM shopml.confusion_matrix('ev_lin', 'ev_new')$$),
  (3, $$SELECT * FROM shopml.calibration_curve('ev_log', 'ev_new', '{"bins": 1}')$$),
  (4, $$SELECT * FROM shopml.pr_curve('ev_log', NULL)$$)
) c(n, q) ORDER BY n;
