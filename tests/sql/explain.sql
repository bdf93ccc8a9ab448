-- shopml.explain: baseline + contributions = the score (prediction, or log-odds), the baseline
-- is the mean score over the training rows, contributions are coefficient x (value - mean)
-- and do not depend on the scaling; row and array forms, by name and id; top_k; bad inputs.
SELECT setseed(0.25) \g /dev/null
CREATE TABLE ex_rows AS
SELECT i, x1, x2, seg,
       3 + 2 * x1 - x2 + CASE seg WHEN 'a' THEN 0 WHEN 'b' THEN 1.5 ELSE -1 END + (random() - 0.5) AS y,
       (random() < 1 / (1 + exp(-(-0.5 + 2 * x1 - 0.7 * x2 + CASE seg WHEN 'b' THEN 1 ELSE 0 END)))) AS clicked
FROM (SELECT i, random() * 2 - 1 AS x1, random() * 3 AS x2, (ARRAY['a', 'b', 'c'])[1 + (i % 3)] AS seg
      FROM generate_series(1, 3000) i) s;
SELECT version FROM shopml.train_linear('ex_lin', 'ex_rows', 'y', ARRAY['x1', 'x2', 'seg'], '{"test_fraction": 0}');
SELECT version FROM shopml.train_linear('ex_lin_std', 'ex_rows', 'y', ARRAY['x1', 'x2', 'seg'],
                                        '{"test_fraction": 0, "standardize": true}');
SELECT version FROM shopml.train_linear('ex_num', 'ex_rows', 'y', ARRAY['x1', 'x2'], '{"test_fraction": 0}');
SELECT version FROM shopml.train_logistic('ex_log', 'ex_rows', 'clicked', ARRAY['x1', 'x2', 'seg'], '{"test_fraction": 0}');
SELECT version FROM shopml.train_logistic('ex_hash', 'ex_rows', 'clicked', ARRAY['x1', 'x2', 'seg'],
                                          '{"test_fraction": 0, "max_categories": 2}');
SELECT version FROM shopml.train_linear('ex_grp', 'ex_rows', 'y', ARRAY['x1', 'x2'], '{"test_fraction": 0, "group_by": "seg"}');
-- Every row of every model: the explanation adds up to the score.
CREATE TEMP TABLE ex_sums AS
SELECT m, r.i, sum(e.contribution) AS total, count(*) AS n_rows,
       CASE WHEN m IN ('ex_log', 'ex_hash') THEN ln(shopml.predict_proba(m, r) / (1 - shopml.predict_proba(m, r)))
            ELSE shopml.predict(m, r) END AS score
FROM unnest(ARRAY['ex_lin', 'ex_lin_std', 'ex_log', 'ex_hash', 'ex_grp']) m, ex_rows r, LATERAL shopml.explain(m, r) e
WHERE r.i % 10 = 0 GROUP BY m, r.i, r.*;
SELECT m, count(*) AS rows_explained, min(n_rows) AS lines, bool_and(abs(total - score) <= 1e-9 * greatest(1, abs(score))) AS sums_to_score
FROM ex_sums GROUP BY m ORDER BY m;
-- The baseline is the mean score over the training rows (per group for a grouped model).
SELECT m, abs(b.contribution - avg_score) <= 1e-9 AS baseline_is_mean_score, b.value AS scale
FROM (SELECT 'ex_lin' AS m, avg(shopml.predict('ex_lin', r)) AS avg_score, min(r.i) AS i FROM ex_rows r
      UNION ALL
      SELECT 'ex_log', avg(ln(shopml.predict_proba('ex_log', r) / (1 - shopml.predict_proba('ex_log', r)))), min(r.i) FROM ex_rows r) s,
     LATERAL (SELECT e.* FROM ex_rows r, shopml.explain(s.m, r) e WHERE r.i = s.i AND e.feature = '(baseline)') b
ORDER BY m;
SELECT r.seg, abs(e.contribution - avg(shopml.predict('ex_grp', q))) <= 1e-9 AS group_baseline_is_group_mean
FROM ex_rows r JOIN ex_rows q ON q.seg = r.seg, LATERAL shopml.explain('ex_grp', r) e
WHERE r.i IN (1, 2, 3) AND e.feature = '(baseline)' GROUP BY r.seg, e.contribution ORDER BY 1;
-- A number's contribution is its coefficient times its distance from the training mean, the
-- same whether or not the model standardised it.
SELECT abs(e.contribution - c.coefficient * (r.x1 - (SELECT avg(x1) FROM ex_rows))) <= 1e-9 AS x1_is_coef_times_centred_value,
       e.value = r.x1::text AS value_is_the_input
FROM ex_rows r, shopml.explain('ex_num', r) e, shopml.coefficients('ex_num') c
WHERE r.i = 7 AND e.feature = 'x1' AND c.feature = 'x1';
SELECT bool_and(abs(a.contribution - b.contribution) <= 1e-9) AS scaling_does_not_change_contributions, count(*) AS lines
FROM ex_rows r, shopml.explain('ex_lin', r) a JOIN shopml.explain('ex_lin_std', r) b USING (feature) WHERE r.i = 11;
-- Logistic, on the log-odds scale: changing only x1 moves the x1 line by the change in the logit.
CREATE TEMP TABLE ex_pair AS
SELECT r AS a, (r.i, 0.9::float8, r.x2, r.seg, r.y, r.clicked)::ex_rows AS b FROM ex_rows r WHERE r.i = 5;
SELECT abs((ea.contribution - eb.contribution)
           - (ln(shopml.predict_proba('ex_log', p.a) / (1 - shopml.predict_proba('ex_log', p.a)))
              - ln(shopml.predict_proba('ex_log', p.b) / (1 - shopml.predict_proba('ex_log', p.b))))) <= 1e-9 AS x1_line_moves_with_the_logit,
       bool_and(oa.contribution = ob.contribution) AS other_lines_stay
FROM ex_pair p, shopml.explain('ex_log', p.a) ea, shopml.explain('ex_log', p.b) eb,
     shopml.explain('ex_log', p.a) oa JOIN shopml.explain('ex_log', p.b) ob USING (feature)
WHERE ea.feature = 'x1' AND eb.feature = 'x1' AND oa.feature <> 'x1'
GROUP BY ea.contribution, eb.contribution, p.a, p.b;
-- Largest |contribution| first; top_k keeps k inputs and sums the rest in (other).
SELECT feature, value IS NOT NULL AS has_value,
       abs(contribution) >= coalesce(lead(abs(contribution)) OVER (ORDER BY ord), 0) AS descending
FROM ex_rows r, shopml.explain('ex_lin', r) WITH ORDINALITY e(feature, value, contribution, ord) WHERE r.i = 3 AND ord > 1 ORDER BY ord;
SELECT count(*) AS lines, string_agg(feature, ', ' ORDER BY ord) FILTER (WHERE feature LIKE '(%') AS markers,
       abs(sum(contribution) - (SELECT shopml.predict('ex_lin', r) FROM ex_rows r WHERE i = 3)) <= 1e-9 AS still_sums
FROM ex_rows r, shopml.explain('ex_lin', r, top_k => 1) WITH ORDINALITY e(feature, value, contribution, ord) WHERE r.i = 3;
SELECT count(*) AS lines FROM ex_rows r, shopml.explain('ex_lin', r, 0) WHERE r.i = 3;
-- The array form, by id, and for a version that is not deployed.
SELECT bool_and(abs(a.contribution - b.contribution) <= 1e-12) AS array_equals_row, count(*) AS lines
FROM ex_rows r, shopml.explain('ex_num', r) a JOIN shopml.explain('ex_num', ARRAY[r.x1, r.x2]) b USING (feature) WHERE r.i = 9;
SELECT version FROM shopml.train_linear('ex_num', 'ex_rows', 'y', ARRAY['x1', 'x2'], '{"test_fraction": 0, "l2": 100, "deploy": false}');
SELECT (SELECT sum(contribution) FROM shopml.explain(m.model_id, ARRAY[0.5, 1.0]))
       - shopml.predict(m.model_id, ARRAY[0.5, 1.0]) BETWEEN -1e-9 AND 1e-9 AS challenger_sums,
       m.deployed
FROM shopml.models m WHERE m.model_name = 'ex_num' ORDER BY m.version;
-- A NULL imputed to the mean contributes nothing; a NULL under skip gives no rows, as predict gives NULL.
SELECT version FROM shopml.train_linear('ex_imp', 'ex_rows', 'y', ARRAY['x1', 'x2'], '{"test_fraction": 0, "impute": "mean"}');
SELECT e.feature, e.value, abs(e.contribution) < 1e-9 AS nothing
FROM ex_rows r, shopml.explain('ex_imp', (r.i, NULL, r.x2, r.seg, r.y, r.clicked)::ex_rows) e WHERE r.i = 4 AND e.feature = 'x1';
SELECT count(*) AS lines FROM ex_rows r, shopml.explain('ex_num', (r.i, NULL, r.x2, r.seg, r.y, r.clicked)::ex_rows) e WHERE r.i = 4;
SELECT count(*) AS lines FROM shopml.explain('ex_imp', ARRAY[NULL, 1.0]::float8[]);
SELECT count(*) AS lines FROM shopml.explain('ex_num', NULL::float8[]);
-- Forests: exact path-dependent TreeSHAP of the positive class's probability (checked against
-- brute-force Shapley values in the core tests). Every row sums to predict_proba; without
-- bootstrap the baseline is the training rows' positive share exactly.
SELECT version FROM shopml.train_forest('ex_forest', 'ex_rows', 'clicked', ARRAY['x1', 'x2', 'seg'],
                                        '{"test_fraction": 0, "n_trees": 20, "max_depth": 6, "bootstrap": false, "max_features": "all"}');
SELECT count(DISTINCT r.i) AS rows_explained,
       bool_and(abs(s.total - shopml.predict_proba('ex_forest', r)) < 1e-6) AS sums_to_probability,
       bool_and(abs(s.baseline - (SELECT avg(clicked::int) FROM ex_rows)) < 1e-6) AS baseline_is_the_positive_share,
       min(s.scale) AS scale
FROM ex_rows r, LATERAL (SELECT sum(contribution) AS total, max(contribution) FILTER (WHERE feature = '(baseline)') AS baseline,
                                max(value) FILTER (WHERE feature = '(baseline)') AS scale
                         FROM shopml.explain('ex_forest', r)) s
WHERE r.i % 30 = 0;
-- A three-class forest explains the predicted class's probability.
CREATE TABLE ex_three AS SELECT i, x1, x2, CASE WHEN x1 > 0.3 THEN 'high' WHEN x1 < -0.3 THEN 'low' ELSE 'mid' END AS band FROM ex_rows;
SELECT version FROM shopml.train_forest('ex_forest3', 'ex_three', 'band', ARRAY['x1', 'x2'], '{"test_fraction": 0, "n_trees": 10, "max_depth": 4}');
SELECT e.value = 'probability of ' || shopml.predict_label('ex_forest3', r) AS predicted_class,
       (SELECT abs(sum(contribution)) FROM shopml.explain('ex_forest3', r) WHERE feature = 'x1') >
       (SELECT abs(sum(contribution)) FROM shopml.explain('ex_forest3', r) WHERE feature = 'x2') AS x1_matters_more
FROM ex_three r, shopml.explain('ex_forest3', r) e WHERE r.i = 17 AND e.feature = '(baseline)';

-- Dates and timestamps show as such (their time parts add up in one line).
CREATE TABLE ex_dates AS
SELECT i, x1, date '2025-12-30' + (i % 400) AS d, timestamp '2026-03-01 12:30:00' + i * interval '37 minutes 1.5 seconds' AS at, y
FROM ex_rows;
SELECT version FROM shopml.train_linear('ex_date', 'ex_dates', 'y', ARRAY['x1', 'd', 'at'], '{"test_fraction": 0}');
-- (ISO 8601 whatever DateStyle says; compared through to_json, which writes ISO.)
SELECT bool_and(e.value = to_json(r.d) #>> '{}') FILTER (WHERE e.feature = 'd') AS dates_as_dates,
       bool_and(e.value = replace(to_json(r.at) #>> '{}', 'T', ' ')) FILTER (WHERE e.feature = 'at') AS timestamps_as_timestamps,
       count(*) FILTER (WHERE e.feature IN ('d', 'at')) AS lines
FROM ex_dates r, shopml.explain('ex_date', r) e WHERE r.i % 100 = 1;

-- Bad inputs.
SELECT version FROM shopml.train_kmeans('ex_km', 'ex_rows', ARRAY['x1', 'x2'], 3);
CREATE TABLE ex_inter AS SELECT i AS customer_id, 1 + i % 20 AS product_id FROM generate_series(1, 400) i;
SELECT version FROM shopml.train_recommender('ex_rec', 'ex_inter', 'customer_id', 'product_id', options => '{"method": "item_knn", "test_fraction": 0}');
CREATE TABLE ex_wrong AS SELECT i, x1::text AS x1, x2 FROM ex_rows;
SELECT n, regress.err(q) FROM (VALUES
  (1, $$SELECT * FROM shopml.explain('no_such_model', ARRAY[1.0, 2.0])$$),
  (2, $$SELECT * FROM shopml.explain(NULL::text, ARRAY[1.0, 2.0])$$),
  (3, $$SELECT * FROM shopml.explain('ex_num', ARRAY[1.0])$$),
  (4, $$SELECT * FROM shopml.explain('ex_num', ARRAY[1.0, 2.0], -1)$$),
  (5, $$SELECT e.* FROM (SELECT i, x1 FROM ex_rows LIMIT 1) r, shopml.explain('ex_num', r) e$$),
  (6, $$SELECT e.* FROM (SELECT * FROM ex_wrong LIMIT 1) r, shopml.explain('ex_num', r) e$$),
  (7, $$SELECT * FROM shopml.explain('ex_rec', ARRAY[1.0])$$),
  (8, $$SELECT * FROM shopml.explain('ex_km', ARRAY[1.0, 2.0])$$),
  (9, $$SELECT * FROM shopml.explain('ex_lin', ARRAY[1.0, 2.0, 3.0])$$),
  (10, $$SELECT * FROM shopml.explain(-5::bigint, ARRAY[1.0, 2.0])$$),
  (11, $$SELECT * FROM shopml.explain('ex_grp', ARRAY[1.0, 2.0])$$)
) c(n, q) ORDER BY n;
