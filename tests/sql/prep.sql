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
