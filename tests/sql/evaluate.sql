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
-- Demand models on later sales: sales generated with known elasticities, a model of the first
-- year, evaluated on its own weeks (a Poisson fit with per-product levels has no bias there, and
-- its deviance is the fit's) and on the next half year.
CREATE TABLE evd_all AS SELECT * FROM shopml.sample_demand(60, 0, 78, 5);
CREATE VIEW evd_train AS SELECT * FROM evd_all WHERE week < 52;
CREATE VIEW evd_later AS SELECT * FROM evd_all WHERE week >= 52;
CREATE TEMP TABLE evd_fit AS
SELECT * FROM shopml.train_demand('evd', 'evd_train', 'product_id', 'price', 'units', ARRAY['promo']);
SELECT e.metric, CASE e.metric
         WHEN 'n' THEN e.value = 3120
         WHEN 'bias' THEN abs(e.value) < 1e-9
         WHEN 'poisson_deviance' THEN abs(e.value * 3120 / (f.metrics->>'deviance')::float8 - 1) < 0.01
         ELSE e.value > 0 END AS as_expected
FROM shopml.evaluate('evd', 'evd_train') e, evd_fit f ORDER BY 1;
SELECT e.metric, CASE e.metric
         WHEN 'n' THEN e.value = 1560
         WHEN 'bias' THEN abs(e.value) < 0.05
         WHEN 'poisson_deviance' THEN e.value BETWEEN 0.8 AND 1.3
         ELSE e.value > 0 END AS as_expected
FROM shopml.evaluate('evd', 'evd_later') e ORDER BY 1;
-- predict_demand: constant elasticity between two prices, the promotion's multiplier, an
-- interval around the expected units, usable over a table of planned prices.
SELECT abs(b.expected_units / a.expected_units - (12.0 / 9.0) ^ a.elasticity) < 1e-9 AS constant_elasticity,
       abs(c.expected_units / a.expected_units
           - (SELECT (metrics->'controls'->'promo'->>'multiplier')::float8 FROM evd_fit)
             ^ (1 - (SELECT avg(promo::int) FROM evd_train WHERE product_id = 3))) < 1e-9 AS promo_multiplier,
       a.low <= a.expected_units AND a.expected_units <= a.high AS interval
FROM shopml.predict_demand('evd', 3, 9.0) a, shopml.predict_demand('evd', 3, 12.0) b,
     shopml.predict_demand('evd', 3, 9.0, '{"promo": true}') c;
SELECT count(*) AS planned, bool_and(d.expected_units > 0) AS positive
FROM (VALUES (1, 5.0), (2, 7.5), (3, 9.0)) plan(product_id, price),
     LATERAL shopml.predict_demand('evd', plan.product_id, plan.price) d;
SELECT n, regress.err(q) FROM (VALUES
  (1, $$SELECT * FROM shopml.predict_demand('evd', 999, 9.0)$$),
  (2, $$SELECT * FROM shopml.predict_demand('evd', 3, 0)$$),
  (3, $$SELECT * FROM shopml.predict_demand('evd', 3, 9.0, '{"promo": "yes"}')$$),
  (4, $$SELECT * FROM shopml.predict_demand('evd', 3, 9.0, '{"season": 1}')$$),
  (5, $$SELECT * FROM shopml.predict_demand('evd', '3', 9.0)$$),
  (6, $$SELECT * FROM shopml.predict_demand('ev_lin', 3, 9.0)$$),
  (7, $$SELECT * FROM shopml.predict_demand('evd', 3, 9.0, version => 7)$$),
  (8, $$SELECT * FROM shopml.evaluate('evd', 'evd_later', '{"version": 1}')$$)
) c(n, q) ORDER BY n;
