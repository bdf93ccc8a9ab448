-- Feature preparation stored with the model: one-hot text, imputation, standardisation, the
-- hashing trick; prediction by row applies the same preparation (unseen categories and NULLs
-- are not errors). References are closed forms computed in SQL.
SET client_min_messages = warning;
SELECT setseed(0.5) \g /dev/null
-- y = 3 + 2·x + {red: 0, green: 1.5, blue: −2} + 0.5·flag, no noise; x is NULL in 5 % of rows.
CREATE TABLE pr_sales AS
SELECT i, CASE WHEN i % 20 = 0 THEN NULL ELSE x END AS x, color, flag,
       3 + 2 * x + CASE color WHEN 'red' THEN 0 WHEN 'green' THEN 1.5 ELSE -2 END + 0.5 * flag::int AS y
FROM (SELECT i, (i % 17)::float8 / 4 AS x, (ARRAY['red', 'green', 'blue'])[1 + i % 3] AS color, (i % 5 < 2) AS flag
      FROM generate_series(1, 3000) i) s;
-- Skip (the default): rows with a NULL are left out, one-hot columns of all three colours with
-- an intercept are collinear, so one is aliased (as R's lm says NA).
SELECT n_train + n_test AS used, metrics->>'skipped_rows' AS skipped, metrics->'aliased' AS aliased,
       round((metrics->>'r2')::numeric, 9) AS r2
FROM shopml.train_linear('pr_lin', 'pr_sales', 'y', ARRAY['x', 'color', 'flag'], '{"test_fraction": 0}');
SELECT feature, round(coefficient::numeric, 6) AS coefficient FROM shopml.coefficients('pr_lin') ORDER BY feature;
-- Predict by row equals the closed form; an unseen colour is all zeros (not an error); under
-- skip a NULL x gives NULL.
SELECT count(*) AS rows, max(abs(shopml.predict('pr_lin', s) - s.y)) < 1e-9 AS exact
FROM pr_sales s WHERE x IS NOT NULL;
SELECT round(shopml.predict('pr_lin', r)::numeric, 6) AS purple, round(shopml.predict('pr_lin', q)::numeric, 6) AS blue,
       shopml.predict('pr_lin', n) IS NULL AS null_x_is_null
FROM (SELECT 1.0::float8 AS x, 'purple'::text AS color, true AS flag) r,
     (SELECT 1.0::float8 AS x, 'blue'::text AS color, true AS flag) q,
     (SELECT NULL::float8 AS x, 'blue'::text AS color, true AS flag) n;
-- A model with text inputs cannot take an array of numbers.
SELECT regress.err($$SELECT shopml.predict('pr_lin', ARRAY[1.0, 2.0, 3.0])$$) AS array_for_text_model;
-- Mean imputation: the NULL x rows are kept and filled with the training mean of x; the fill
-- is stored, so prediction for a NULL x uses the same value.
SELECT n_train + n_test AS used FROM shopml.train_linear('pr_mean', 'pr_sales', 'y', ARRAY['x', 'color', 'flag'], '{"test_fraction": 0, "impute": "mean"}');
SELECT (params->'preparation'->'inputs'->0->>'fill')::float8 = (SELECT avg(x) FROM pr_sales) AS fill_is_mean
FROM shopml.models WHERE model_name = 'pr_mean';
SELECT abs(shopml.predict('pr_mean', n) - shopml.predict('pr_mean', f)) < 1e-9 AS null_predicts_as_mean
FROM (SELECT NULL::float8 AS x, 'red'::text AS color, false AS flag) n,
     (SELECT (SELECT avg(x) FROM pr_sales) AS x, 'red'::text AS color, false AS flag) f;
SELECT n_train FROM shopml.train_linear('pr_median', 'pr_sales', 'y', ARRAY['x'], '{"impute": "median", "test_fraction": 0}');
SELECT (params->'preparation'->'inputs'->0->>'fill')::float8 AS median_fill FROM shopml.models WHERE model_name = 'pr_median';
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS sql_median FROM pr_sales;
-- Standardised ridge gives the same predictions as unstandardised OLS when l2 = 0.
SELECT n_train FROM shopml.train_linear('pr_std', 'pr_sales', 'y', ARRAY['x', 'color', 'flag'], '{"test_fraction": 0, "standardize": true}');
SELECT max(abs(shopml.predict('pr_std', s) - shopml.predict('pr_lin', s))) < 1e-9 AS standardize_same_fit
FROM pr_sales s WHERE s.x IS NOT NULL;
-- k-means with a text column and standardize: the text is one-hot encoded, not an error.
SELECT n_train FROM shopml.train_kmeans('pr_km', 'pr_sales', ARRAY['x', 'color'], 3, '{"impute": "zero"}');
SELECT count(DISTINCT feature) AS features FROM shopml.segments('pr_km');
-- Size-weighted centroids in original units are the column means (zero-filled x, colour shares).
SELECT s.feature, abs(s.weighted - r.mean) < 1e-9 AS is_the_mean
FROM (SELECT feature, sum(centroid * size) / sum(size) AS weighted FROM shopml.segments('pr_km') GROUP BY feature) s
JOIN (SELECT 'x' AS feature, avg(coalesce(x, 0)) AS mean FROM pr_sales
      UNION ALL SELECT 'color=' || c, avg((color = c)::int) FROM pr_sales, unnest(ARRAY['red', 'green', 'blue']) c GROUP BY c) r USING (feature)
ORDER BY 1;
SELECT count(DISTINCT shopml.predict('pr_km', s)) AS segments_used, count(*) FILTER (WHERE shopml.predict('pr_km', s) IS NULL) AS null_segments
FROM pr_sales s;
SELECT shopml.predict_label('pr_km', r) IS NOT NULL AS unseen_colour_segment FROM (SELECT 2.0::float8 AS x, 'teal'::text AS color) r;
-- The hashing trick: 2000 sites (more than max_categories) go to hashed buckets, fitted by the
-- sparse solver without densifying. Clicks follow a known model: logit = −1 + site effect
-- (±1 by site parity) + 0.8·x; the held-out AUC must be close to that of the true probability.
SELECT setseed(0.75) \g /dev/null
CREATE TABLE pr_clicks AS
SELECT i, 's' || site AS site, x, device,
       random() < 1 / (1 + exp(-(-1 + CASE WHEN site % 2 = 0 THEN 1 ELSE -1 END + 0.8 * x + CASE device WHEN 'ios' THEN 0.5 ELSE 0 END))) AS clicked,
       1 / (1 + exp(-(-1 + CASE WHEN site % 2 = 0 THEN 1 ELSE -1 END + 0.8 * x + CASE device WHEN 'ios' THEN 0.5 ELSE 0 END))) AS true_p
FROM (SELECT i, (random() * 2000)::int AS site, random() * 2 - 1 AS x, (ARRAY['ios', 'android', 'web'])[1 + i % 3] AS device
      FROM generate_series(1, 60000) i) s;
SELECT n_train, n_test, metrics->>'solver' AS solver, (metrics->>'converged')::bool AS converged
FROM shopml.train_logistic('pr_ctr', 'pr_clicks', 'clicked', ARRAY['site', 'x', 'device'], '{"max_categories": 50}');
SELECT p->'inputs'->0->>'encoding' AS site, p->'inputs'->1->>'encoding' AS x, p->'inputs'->2->>'encoding' AS device,
       (p->>'hash_buckets')::int AS buckets
FROM (SELECT params->'preparation' AS p FROM shopml.models WHERE model_name = 'pr_ctr') m;
-- Held-out AUC of the model against the AUC of the generating probabilities on all rows.
WITH s AS (SELECT clicked::int AS y, true_p FROM pr_clicks),
     r AS (SELECT y, rank() OVER (ORDER BY true_p) + (count(*) OVER (PARTITION BY true_p) - 1) / 2.0 AS r FROM s),
     truth AS (SELECT (sum(r) FILTER (WHERE y = 1) - count(*) FILTER (WHERE y = 1) * (count(*) FILTER (WHERE y = 1) + 1) / 2.0)
                      / (count(*) FILTER (WHERE y = 1) * count(*) FILTER (WHERE y = 0)) AS auc FROM r)
SELECT (m.metrics->>'auc')::float8 > truth.auc - 0.03 AS near_true_auc, (m.metrics->>'auc')::float8 < truth.auc + 0.01 AS not_above_truth
FROM shopml.models m, truth WHERE m.model_name = 'pr_ctr';
-- Site effects come back by parity: even sites (effect +1) score above odd ones (−1).
SELECT avg(shopml.predict_proba('pr_ctr', r)) FILTER (WHERE s % 2 = 0) > avg(shopml.predict_proba('pr_ctr', r)) FILTER (WHERE s % 2 = 1) + 0.2 AS parity_learnt
FROM (SELECT 's' || s AS site, 0.0::float8 AS x, 'web'::text AS device, s FROM generate_series(0, 1999) s) r;
-- Unseen site and unseen device: not errors, just no contribution; NULL site under 'skip' is NULL.
SELECT round(shopml.predict_proba('pr_ctr', r)::numeric, 2) BETWEEN 0.1 AND 0.5 AS unseen_site_ok,
       shopml.predict_label('pr_ctr', r) AS label,
       shopml.predict_proba('pr_ctr', n) IS NULL AS null_site_is_null
FROM (SELECT 'never-seen' AS site, 0.0::float8 AS x, 'blackberry'::text AS device) r,
     (SELECT NULL::text AS site, 0.0::float8 AS x, 'web'::text AS device) n;
SELECT feature, importance > 0.1 AS matters FROM shopml.feature_importance('pr_ctr') ORDER BY feature;
SELECT round(sum(importance)::numeric, 12) AS total FROM shopml.feature_importance('pr_ctr');
-- L1 zeroes most of a pure-noise feature set: ten noise columns, one real one.
CREATE TABLE pr_noise AS
SELECT clicked, x, (SELECT array_agg(random()) FROM generate_series(1, 30) WHERE i > 0) AS noise FROM pr_clicks LIMIT 20000;
CREATE VIEW pr_noise_wide AS SELECT clicked, x, noise[1] n1, noise[2] n2, noise[3] n3, noise[4] n4, noise[5] n5, noise[6] n6, noise[7] n7, noise[8] n8, noise[9] n9, noise[10] n10 FROM pr_noise;
SELECT (metrics->>'nonzero_coefficients')::int AS nonzero_l2 FROM shopml.train_logistic('pr_l2', 'pr_noise_wide', 'clicked', options => '{"test_fraction": 0}');
SELECT metrics->>'solver' AS solver, (metrics->>'nonzero_coefficients')::int < 6 AS sparse_l1
FROM shopml.train_logistic('pr_l1', 'pr_noise_wide', 'clicked', options => '{"test_fraction": 0, "l1": 400}');
SELECT feature FROM shopml.feature_importance('pr_l1') WHERE importance > 0 ORDER BY importance DESC LIMIT 1;
