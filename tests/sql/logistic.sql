-- Logistic regression: metrics recomputed in SQL from predict_proba, recovery of generating
-- coefficients, lg_labels, class weights, bad inputs.
SELECT setseed(0.25) \g /dev/null
CREATE TABLE lg_clicks AS
SELECT x1, x2, (random() < 1 / (1 + exp(-(-1.0 + 2.0 * x1 - 1.0 * x2)))) AS clicked
FROM (SELECT random() * 2 - 1 AS x1, random() * 4 AS x2 FROM generate_series(1, 20000)) s;
SELECT n_train, n_test, (metrics->>'auc')::float8 > 0.7 AS useful, (metrics->>'converged')::bool AS converged
FROM shopml.train_logistic('ctr', 'lg_clicks', 'clicked', options => '{"test_fraction": 0, "l2": 0}');
-- Independent check: AUC (rank-sum), log-loss and accuracy over the same rows, in SQL.
CREATE TEMP TABLE scored AS SELECT clicked::int AS y, shopml.predict_proba('ctr', c) AS p, shopml.predict('ctr', c) AS label FROM lg_clicks c;
SELECT abs(sql.auc - (m.metrics->>'auc')::float8) < 1e-9 AS auc_agrees,
       abs(sql.log_loss - (m.metrics->>'log_loss')::float8) < 1e-9 AS log_loss_agrees,
       abs(sql.accuracy - (m.metrics->>'accuracy')::float8) < 1e-12 AS accuracy_agrees
FROM (SELECT (sum(r) FILTER (WHERE y = 1) - count(*) FILTER (WHERE y = 1) * (count(*) FILTER (WHERE y = 1) + 1) / 2.0)
             / (count(*) FILTER (WHERE y = 1) * count(*) FILTER (WHERE y = 0)) AS auc,
             avg(-(y * ln(p) + (1 - y) * ln(1 - p))) AS log_loss,
             avg(((p >= 0.5)::int = y)::int) AS accuracy
      FROM (SELECT y, p, rank() OVER (ORDER BY p) + (count(*) OVER (PARTITION BY p) - 1) / 2.0 AS r FROM scored) t) sql,
     shopml.models m WHERE m.model_name = 'ctr';
-- The label is the thresholded probability, and the generating coefficients come back:
-- log-odds difference between x1 = 0.5 and x1 = -0.5 is 2.0, between x2 = 3 and x2 = 1 is -2.0.
SELECT bool_and(label = (p >= 0.5)::int) AS labels_match FROM scored;
SELECT round((ln(a / (1 - a)) - ln(b / (1 - b)))::numeric, 1) AS x1_effect,
       round((ln(c / (1 - c)) - ln(d / (1 - d)))::numeric, 1) AS x2_effect
FROM (SELECT shopml.predict_proba('ctr', ARRAY[0.5, 1.0]) a, shopml.predict_proba('ctr', ARRAY[-0.5, 1.0]) b,
             shopml.predict_proba('ctr', ARRAY[0.0, 3.0]) c, shopml.predict_proba('ctr', ARRAY[0.0, 1.0]) d) t;
SELECT feature, round(importance::numeric, 2) AS importance FROM shopml.feature_importance('ctr') ORDER BY 1;
SELECT round(sum(importance)::numeric, 12) AS total FROM shopml.feature_importance('ctr');
-- Held-out metrics by default; balanced class weights raise recall on a lg_rare class.
CREATE TABLE lg_rare AS SELECT x1, x2, (x1 > 0.8 AND random() < 0.7) AS y FROM lg_clicks;
SELECT n_test > 0 AS held_out, metrics->'test' ? 'calibration_error' AS calibrated,
       (metrics->'test'->>'recall')::float8 < 0.9 AS plain_recall_lower
FROM shopml.train_logistic('lg_rare', 'lg_rare', 'y');
SELECT (metrics->'test'->>'recall')::float8 > (SELECT (metrics->'test'->>'recall')::float8 FROM shopml.models WHERE model_name = 'lg_rare' AND version = 1) AS balanced_recall_higher
FROM shopml.train_logistic('lg_rare', 'lg_rare', 'y', options => '{"class_weight": "balanced"}');
-- Bad inputs.
CREATE TABLE lg_three AS SELECT x1, (i % 3) AS y FROM lg_clicks, generate_series(1, 1) i LIMIT 100;
UPDATE lg_three SET y = (x1 * 100)::int % 3;
CREATE TABLE lg_one_class AS SELECT x1, 1 AS y FROM lg_clicks LIMIT 50;
CREATE TABLE lg_labels AS SELECT x1, CASE WHEN x1 > 0 THEN 'yes' ELSE 'no' END AS y FROM lg_clicks LIMIT 50;
CREATE TABLE lg_dates AS SELECT x1, DATE '2025-01-01' + (x1 * 10)::int AS d FROM lg_clicks LIMIT 50;
CREATE TABLE lg_amounts AS SELECT x1, x1 * 1000 + random() AS y FROM lg_clicks LIMIT 500;
SELECT regress.err($$SELECT * FROM shopml.train_logistic('bad', 'lg_three', 'y', options => '{"l1": 0.1}')$$) AS l1_with_three_classes;
SELECT regress.err($$SELECT * FROM shopml.train_logistic('bad', 'lg_one_class', 'y')$$) AS one_class;
SELECT regress.err($$SELECT * FROM shopml.train_logistic('bad', 'lg_dates', 'd')$$) AS date_target;
SELECT regress.err($$SELECT * FROM shopml.train_logistic('bad', 'lg_amounts', 'y')$$) AS continuous_target;
SELECT regress.err($$SELECT * FROM shopml.train_logistic('bad', 'lg_clicks', 'clicked', options => '{"class_weight": "auto"}')$$) AS bad_class_weight;
SELECT regress.err($$SELECT shopml.predict_proba('shop_recs', ARRAY[1.0])$$) AS proba_of_recommender;
SELECT regress.err($$SELECT shopml.predict_proba('blobs', ARRAY[1.0, 2.0])$$) AS proba_of_kmeans;
SELECT regress.err($$SELECT shopml.predict_proba('ctr', ARRAY[1.0])$$) AS wrong_count;
SELECT regress.err($$SELECT * FROM shopml.feature_importance('shop_recs')$$) AS importance_of_recommender;
SELECT shopml.predict_proba('ctr', ARRAY['NaN', 1.0]) IS NULL AS nan_gives_null;
-- The sample shop's ad impressions: the generator's click model comes back.
CREATE VIEW ad_view AS
SELECT i.affinity, i.position::float8 AS position, i.is_mobile::float8 AS is_mobile, a.quality, i.clicked
FROM shop.impressions i JOIN shop.ads a USING (ad_id);
SELECT n_train, round((metrics->>'positive_rate')::numeric, 3) AS ctr, (metrics->>'auc')::float8 > 0.65 AS useful
FROM shopml.train_logistic('ad_ctr', 'ad_view', 'clicked', ARRAY['affinity', 'position', 'is_mobile', 'quality'],
                           '{"l2": 0, "test_fraction": 0}');
-- Log-odds differences against the generating ones (4.0·0.5, −0.4·2, 0.3, 1.0).
WITH lo AS (SELECT x, ln(p / (1 - p)) AS l FROM (VALUES
    ('base', shopml.predict_proba('ad_ctr', ARRAY[0.0, 1, 0, 0])),
    ('affinity', shopml.predict_proba('ad_ctr', ARRAY[0.5, 1, 0, 0])),
    ('position', shopml.predict_proba('ad_ctr', ARRAY[0.0, 3, 0, 0])),
    ('mobile', shopml.predict_proba('ad_ctr', ARRAY[0.0, 1, 1, 0])),
    ('quality', shopml.predict_proba('ad_ctr', ARRAY[0.0, 1, 0, 1]))) v(x, p))
SELECT lo.x AS effect, truth, abs(lo.l - base.l - truth) < 0.2 AS recovered
FROM lo, (SELECT l FROM lo WHERE x = 'base') base,
     (VALUES ('affinity', 2.0), ('position', -0.8), ('mobile', 0.3), ('quality', 1.0)) t(x, truth)
WHERE t.x = lo.x ORDER BY 1;
-- Champion and challenger: every predict form takes a model_id, so a version that is not
-- deployed is scored beside the deployed one. The challenger sees one input only.
SELECT version FROM shopml.train_logistic('ctr', 'lg_clicks', 'clicked', ARRAY['x1'], '{"deploy": false}');
CREATE TEMP TABLE lg_versions AS
SELECT max(model_id) FILTER (WHERE deployed) AS champion, max(model_id) FILTER (WHERE NOT deployed) AS challenger
FROM shopml.models WHERE model_name = 'ctr';
SELECT count(*) AS rows,
       bool_and(shopml.predict_proba(v.champion, c) = shopml.predict_proba('ctr', c)) AS proba_row_same,
       bool_and(shopml.predict_proba(v.champion, ARRAY[c.x1, c.x2]) = shopml.predict_proba('ctr', ARRAY[c.x1, c.x2])) AS proba_array_same,
       bool_and(shopml.predict_label(v.champion, c) = shopml.predict_label('ctr', c)) AS label_row_same,
       bool_and(shopml.predict_label(v.champion, ARRAY[c.x1, c.x2]) = shopml.predict_label('ctr', ARRAY[c.x1, c.x2])) AS label_array_same,
       bool_and(shopml.predict(v.champion, c) = shopml.predict('ctr', c)) AS predict_row_same,
       count(*) FILTER (WHERE shopml.predict_proba(v.challenger, c) <> shopml.predict_proba('ctr', c)) > 900 AS challenger_differs,
       bool_and(shopml.predict_proba(v.challenger, c) = shopml.predict_proba(v.challenger, ARRAY[c.x1])) AS challenger_row_is_array,
       bool_and(shopml.predict_label(v.challenger, c) = (shopml.predict_proba(v.challenger, c) >= 0.5)::text) AS challenger_label
FROM (SELECT * FROM lg_clicks LIMIT 1000) c, lg_versions v;
SELECT regress.err($$SELECT shopml.predict_proba(-1::bigint, ARRAY[1.0, 2.0])$$) AS unknown_id,
       regress.err($$SELECT shopml.predict_label(NULL::bigint, ARRAY[1.0])$$) AS null_id,
       regress.err($$SELECT shopml.predict_proba(NULL::bigint, c) FROM lg_clicks c LIMIT 1$$) AS null_id_row;
-- Coefficients of a logistic model: one binary input, no penalty — the fit is the 2x2 table's
-- log odds ratio with Woolf's standard error sqrt(1/a + 1/b + 1/c + 1/d), the intercept the
-- log odds of the x = 0 row with sqrt(1/a + 1/b); z, the normal p-value and exp(coefficient).
-- (Coefficients are per unit of the prepared input: without standardize, the column's units.)
-- (Newton stops within about 1e-6 of the optimum, hence the coefficient tolerance.)
CREATE TABLE lg_table AS
SELECT g AS exposed, o AS bought FROM (VALUES (0, false, 300), (0, true, 100), (1, false, 150), (1, true, 200)) t(g, o, k),
     LATERAL generate_series(1, k);
SELECT version FROM shopml.train_logistic('lg_or', 'lg_table', 'bought', ARRAY['exposed'], '{"test_fraction": 0, "l2": 0, "standardize": false}');
SELECT feature, abs(coefficient - want) < 1e-5 AS coefficient_ok, abs(std_error - se) < 1e-7 AS std_error_ok,
       abs(t_stat - coefficient / std_error) < 1e-12 AS z_ok,
       abs(odds_ratio - exp(coefficient)) < 1e-12 AS odds_ratio_ok
FROM shopml.coefficients('lg_or') c,
     LATERAL (SELECT CASE c.feature WHEN '(intercept)' THEN ln(100.0 / 300) ELSE ln((200.0 * 300) / (150 * 100)) END AS want,
                     CASE c.feature WHEN '(intercept)' THEN sqrt(1 / 300.0 + 1 / 100.0)
                          ELSE sqrt(1 / 300.0 + 1 / 100.0 + 1 / 150.0 + 1 / 200.0) END AS se) w
ORDER BY feature;
SELECT feature, p_value < 1e-12 AS significant, round(odds_ratio::numeric, 6) AS odds_ratio
FROM shopml.coefficients('lg_or') ORDER BY feature;
-- Standardised (the default): the same z, the coefficient per standard deviation.
SELECT version FROM shopml.train_logistic('lg_or_std', 'lg_table', 'bought', ARRAY['exposed'], '{"test_fraction": 0, "l2": 0}');
SELECT abs(a.t_stat - b.t_stat) < 1e-6 AS same_z,
       abs(b.coefficient - a.coefficient * (SELECT stddev_pop(exposed) FROM lg_table)) < 1e-7 AS per_standard_deviation
FROM shopml.coefficients('lg_or') a JOIN shopml.coefficients('lg_or_std') b USING (feature) WHERE feature = 'exposed';
-- An L1 (OWL-QN) fit has coefficients without standard errors.
SELECT version FROM shopml.train_logistic('lg_or_l1', 'lg_table', 'bought', ARRAY['exposed'], '{"test_fraction": 0, "l1": 0.01}');
SELECT feature, coefficient IS NOT NULL AS has_coefficient, std_error IS NULL AS no_std_error, odds_ratio IS NOT NULL AS has_odds_ratio
FROM shopml.coefficients('lg_or_l1') ORDER BY feature;

-- Two text labels: the binary model, the positive class the last label in order.
SELECT (metrics->>'auc')::float8 > 0.9 AS separates FROM shopml.train_logistic('lg_yes', 'lg_labels', 'y', options => '{"test_fraction": 0}');
SELECT shopml.predict_label('lg_yes', ARRAY[0.9]) AS high, shopml.predict_label('lg_yes', ARRAY[-0.9]) AS low,
       shopml.predict_proba('lg_yes', ARRAY[0.9]) > 0.5 AS p_of_yes,
       (SELECT string_agg(label, ',' ORDER BY label) FROM shopml.predict_classes('lg_yes', ARRAY[0.9])) AS labels;

-- Multinomial (softmax) logistic regression: three classes from known softmax coefficients
-- (class 0 the reference: class 1 = 0.5 + 1.5 x1 - 1.0 x2, class 2 = -0.3 - 1.0 x1 + 2.0 x2).
SELECT setseed(0.5) \g /dev/null
CREATE TABLE lg_multi AS SELECT i, random() * 2 - 1 AS x1, random() * 2 - 1 AS x2, random() AS u FROM generate_series(1, 12000) i;
ALTER TABLE lg_multi ADD zone int, ADD zone_name text;
UPDATE lg_multi SET zone = CASE WHEN u * s < 1 THEN 0 WHEN u * s < 1 + e1 THEN 1 ELSE 2 END
FROM (SELECT i, e1, 1 + e1 + e2 AS s
      FROM (SELECT i, exp(0.5 + 1.5 * x1 - 1.0 * x2) AS e1, exp(-0.3 - 1.0 * x1 + 2.0 * x2) AS e2 FROM lg_multi) a) b
WHERE b.i = lg_multi.i;
UPDATE lg_multi SET zone_name = (ARRAY['north', 'south', 'west'])[zone + 1];
SELECT n_train, metrics->>'classes' AS classes, (metrics->>'converged')::bool AS converged, metrics->>'solver' AS solver
FROM shopml.train_logistic('lg_zone', 'lg_multi', 'zone', ARRAY['x1', 'x2'], '{"test_fraction": 0, "l2": 0, "standardize": false}');
SELECT algorithm, task FROM shopml.models WHERE model_name = 'lg_zone';
-- The maximum-likelihood fit solves the score equations: for every class and input,
-- sum over rows of (probability - indicator) x input is 0 (and for the intercept, x = 1).
CREATE TEMP TABLE lg_probs AS
SELECT m.i, m.x1, m.x2, m.zone, c.label::int AS class, c.probability
FROM lg_multi m, LATERAL shopml.predict_classes('lg_zone', m) c;
SELECT max(abs(g)) < 1e-6 AS score_equations_hold FROM (
  SELECT class, sum(probability - (zone = class)::int) / count(*) AS g FROM lg_probs GROUP BY class
  UNION ALL SELECT class, sum((probability - (zone = class)::int) * x1) / count(*) FROM lg_probs GROUP BY class
  UNION ALL SELECT class, sum((probability - (zone = class)::int) * x2) / count(*) FROM lg_probs GROUP BY class) s;
-- Probabilities sum to 1; predict_label and predict give the most probable class.
SELECT max(abs(t - 1)) < 1e-12 AS sums_to_one FROM (SELECT sum(probability) AS t FROM lg_probs GROUP BY i) s;
SELECT bool_and(shopml.predict('lg_zone', m) = b.class) AND bool_and(shopml.predict_label('lg_zone', m) = b.class::text) AS label_is_most_probable
FROM lg_multi m JOIN (SELECT DISTINCT ON (i) i, class FROM lg_probs ORDER BY i, probability DESC) b USING (i);
-- The generating coefficients come back (differences from class 0 are identified; in the
-- inputs' units as the model was trained with standardize false).
SELECT c.group_key AS class, c.feature, round((c.coefficient - r.coefficient)::numeric, 1) AS versus_class_0
FROM shopml.coefficients('lg_zone') c JOIN shopml.coefficients('lg_zone') r ON r.group_key = '0' AND r.feature = c.feature
WHERE c.group_key <> '0' ORDER BY 1, 2;
-- Metrics recomputed in SQL: accuracy and multi-class log loss over the training rows.
SELECT abs(s.accuracy - (m.metrics->>'accuracy')::float8) < 1e-12 AS accuracy_agrees,
       abs(s.log_loss - (m.metrics->>'log_loss')::float8) < 1e-9 AS log_loss_agrees
FROM (SELECT avg((shopml.predict('lg_zone', t) = zone)::int) AS accuracy,
             avg(-ln((SELECT probability FROM shopml.predict_classes('lg_zone', t) WHERE label = t.zone::text))) AS log_loss
      FROM lg_multi t) s, shopml.models m WHERE m.model_name = 'lg_zone';
-- evaluate on the training rows gives the metrics stored at training (computed in SQL there,
-- in Rust here).
SELECT bool_and(abs(e.value - (m.metrics->>e.metric)::float8) < 1e-9) AS evaluate_agrees, count(*) AS metrics
FROM shopml.evaluate('lg_zone', 'lg_multi') e, shopml.models m
WHERE m.model_name = 'lg_zone' AND e.metric IN ('accuracy', 'log_loss', 'macro_precision', 'macro_recall', 'macro_f1');
-- Text labels and a held-out part, with an L2 penalty: the classes' coefficients sum to 0;
-- explain takes apart the softmax score of the predicted class, which is
-- ln p(class) - mean over classes of ln p.
SELECT metrics->>'classes' AS classes, (metrics->'test'->>'accuracy')::float8 > 0.5 AS better_than_chance,
       metrics->'test' ? 'macro_f1' AS has_macro_f1
FROM shopml.train_logistic('lg_zone_text', 'lg_multi', 'zone_name', ARRAY['x1', 'x2']);
SELECT feature, abs(sum(coefficient)) < 1e-8 AS sums_to_zero FROM shopml.coefficients('lg_zone_text') GROUP BY feature ORDER BY feature;
SELECT bool_and(abs(e.total - (ln(p.best) - p.mean_log)) < 1e-8) AS explains_the_score
FROM lg_multi m,
     LATERAL (SELECT sum(contribution) AS total FROM shopml.explain('lg_zone_text', m)) e,
     LATERAL (SELECT max(probability) AS best, avg(ln(probability)) AS mean_log FROM shopml.predict_classes('lg_zone_text', m)) p
WHERE m.i <= 100;
SELECT e.feature, e.value FROM lg_multi m, shopml.explain('lg_zone_text', m) e WHERE m.i = 1 AND e.feature = '(baseline)';
SELECT bool_and(t.prediction = shopml.predict('lg_zone', m)) AS table_equals_rows, count(*) AS rows
FROM shopml.predict_table('lg_zone', 'lg_multi', 'i') t JOIN lg_multi m ON m.i::text = t.key;
SELECT feature, importance > 0.2 AS matters FROM shopml.feature_importance('lg_zone_text') ORDER BY feature;
-- The same fit for one and two threads.
SET shopml.threads = 1;
SELECT version FROM shopml.train_logistic('lg_zone_t1', 'lg_multi', 'zone', ARRAY['x1', 'x2'], '{"test_fraction": 0}') \g /dev/null
SET shopml.threads = 2;
SELECT version FROM shopml.train_logistic('lg_zone_t2', 'lg_multi', 'zone', ARRAY['x1', 'x2'], '{"test_fraction": 0}') \g /dev/null
RESET shopml.threads;
SELECT bool_and(a.coefficient = b.coefficient) AS same_for_any_thread_count
FROM shopml.coefficients('lg_zone_t1') a JOIN shopml.coefficients('lg_zone_t2') b USING (group_key, feature);
-- What a multinomial model refuses.
SELECT regress.err($$SELECT shopml.predict_proba('lg_zone', ARRAY[0.1, 0.2])$$) AS proba_of_three_classes;
SELECT regress.err($$SELECT shopml.predict('lg_zone_text', ARRAY[0.1, 0.2])$$) AS predict_of_text_labels;
SELECT regress.err($$SELECT shopml.predict_label('lg_zone', ARRAY[0.1])$$) AS wrong_count;
CREATE TABLE lg_many AS SELECT x1, 'c' || (i % 300) AS shop, zone FROM lg_multi;
SELECT regress.err($$SELECT * FROM shopml.train_logistic('bad', 'lg_many', 'zone', ARRAY['x1', 'shop'], '{"max_categories": 10}')$$) AS hashed_with_three_classes;
SELECT count(*) AS no_model_written FROM shopml.models WHERE model_name = 'bad';
