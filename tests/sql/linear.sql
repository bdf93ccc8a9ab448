-- Linear regression trained in place, checked against independent references.
\set VERBOSITY terse
-- 1. No noise: the generating coefficients come back exactly.
CREATE TABLE exact AS
SELECT i, (i % 7)::float8 AS a, ((i * 13) % 11)::int AS b, (i % 5)::numeric AS c,
       (3.0 + 2.0 * (i % 7) - 0.5 * ((i * 13) % 11) + 0.25 * (i % 5))::float8 AS y
FROM generate_series(1, 1000) i;
SELECT model_name, version, n_train + n_test AS n, n_test > 100 AS has_test
FROM shopml.train_linear('exact', 'exact', 'y', ARRAY['a', 'b', 'c']);
SELECT feature, round(coefficient::numeric, 9) AS coefficient FROM shopml.coefficients('exact');
SELECT round((metrics->'test'->>'r2')::numeric, 9) AS test_r2,
       (metrics->'train'->>'rmse')::float8 < 1e-6 AS train_rmse_near_zero
FROM shopml.models WHERE model_name = 'exact';
-- features NULL: every numeric column but the target (here i too).
SELECT version FROM shopml.train_linear('exact_all', 'exact', 'y');
SELECT features FROM shopml.models WHERE model_name = 'exact_all';

-- 2. One feature with noise: equal to Postgres' own regr_slope / regr_intercept
--    over the same training rows (no holdout).
CREATE TABLE noisy AS
SELECT i, (i % 100)::float8 / 10 AS x,
       (1.5 + 0.8 * (i % 100) / 10 + sin(i * 12.9898) * 2)::float8 AS y
FROM generate_series(1, 5000) i;
SELECT * FROM shopml.train_linear('noisy', 'noisy', 'y', ARRAY['x'], '{"test_fraction": 0}') \gset t_
SELECT :t_n_train AS n_train, :t_n_test AS n_test;
SELECT abs(c.coefficient - r.slope) < 1e-10 AS slope_matches,
       abs(i.coefficient - r.intercept) < 1e-10 AS intercept_matches,
       abs((m.metrics->'train'->>'r2')::float8 - r.r2) < 1e-10 AS r2_matches
FROM (SELECT regr_slope(y, x) AS slope, regr_intercept(y, x) AS intercept, regr_r2(y, x) AS r2 FROM noisy) r,
     shopml.coefficients('noisy') c, shopml.coefficients('noisy') i, shopml.models m
WHERE c.feature = 'x' AND i.feature = '(intercept)' AND m.model_name = 'noisy';
-- The standard error of the slope against its textbook formula sqrt(s²/Sxx).
SELECT abs(c.std_error - sqrt(s.sse / (s.n - 2) / s.sxx)) / c.std_error < 1e-9 AS se_matches,
       c.p_value < 1e-100 AS significant
FROM shopml.coefficients('noisy') c,
     (SELECT regr_count(y, x) AS n, regr_sxx(y, x) AS sxx,
             regr_syy(y, x) * (1 - regr_r2(y, x)) AS sse FROM noisy) s
WHERE c.feature = 'x';
-- The linear_fit aggregate gives the same, and works with GROUP BY.
SELECT abs((shopml.linear_fit(y, ARRAY[x])->'coefficients'->>0)::float8 - regr_slope(y, x)) < 1e-10 AS agg_matches
FROM noisy;
SELECT i % 2 AS half, (f->>'n')::int AS n, abs((f->'coefficients'->>0)::float8 - slope) < 1e-10 AS matches
FROM (SELECT i % 2 AS i, shopml.linear_fit(y, ARRAY[x]) AS f, regr_slope(y, x) AS slope
      FROM noisy GROUP BY 1) g ORDER BY 1;

-- 3. Ridge: one centred feature has the closed form b = Sxy / (Sxx + l2).
SELECT version FROM shopml.train_linear('noisy_ridge', 'noisy', 'y', ARRAY['x'], '{"l2": 1000, "test_fraction": 0}');
SELECT abs(c.coefficient - r.sxy / (r.sxx + 1000)) < 1e-10 AS ridge_matches_closed_form
FROM shopml.coefficients('noisy_ridge') c,
     (SELECT regr_sxy(y, x) AS sxy, regr_sxx(y, x) AS sxx FROM noisy) r
WHERE c.feature = 'x';
-- Without an intercept: b = Σxy / Σx².
SELECT version FROM shopml.train_linear('noisy_origin', 'noisy', 'y', ARRAY['x'], '{"fit_intercept": false, "test_fraction": 0}');
SELECT feature, abs(c.coefficient - r.b) < 1e-10 AS through_origin_matches
FROM shopml.coefficients('noisy_origin') c,
     (SELECT sum(x * y) / sum(x * x) AS b FROM noisy) r;

-- 4. Collinear and constant columns are aliased, not a failure.
CREATE TABLE collinear AS
SELECT a, b, 2 * a + b AS ab, 7 AS seven, 1 + a - b + sin(a * 3.3) / 10 AS y
FROM (SELECT (i % 17)::float8 AS a, ((i * 7) % 13)::float8 AS b FROM generate_series(1, 400) i) s;
SELECT metrics->'aliased' AS aliased FROM shopml.train_linear('collinear', 'collinear', 'y');
SELECT feature, coefficient IS NULL AS aliased, std_error IS NULL AS no_se
FROM shopml.coefficients('collinear') ORDER BY feature;

-- 5. NULL, NaN and infinite rows are skipped and counted.
CREATE TABLE holes AS SELECT * FROM noisy;
UPDATE holes SET x = NULL WHERE i % 10 = 0;
UPDATE holes SET y = 'NaN' WHERE i % 10 = 1;
UPDATE holes SET x = 'Infinity' WHERE i % 10 = 2;
SELECT n_train + n_test AS used, metrics->'skipped_rows' AS skipped
FROM shopml.train_linear('holes', 'holes', 'y', ARRAY['x']);

-- 6. group_by: one sub-model per value, each equal to its own regression.
CREATE TABLE per_region AS
SELECT r AS region, x, (CASE r WHEN 'north' THEN 1 + 2 * x WHEN 'south' THEN 5 - x ELSE 10 + 0.5 * x END
                        + sin(i * 7.7) / 100)::float8 AS y
FROM generate_series(1, 3000) i, LATERAL (SELECT (ARRAY['north', 'south', 'west'])[i % 3 + 1] AS r,
                                                 ((i * 37) % 101)::float8 / 10 AS x) v;
SELECT metrics->'groups' AS groups, n_train + n_test AS n
FROM shopml.train_linear('per_region', 'per_region', 'y', ARRAY['x'],
                         '{"group_by": "region", "test_fraction": 0}');
SELECT c.group_key, abs(c.coefficient - r.slope) < 1e-10 AS matches
FROM shopml.coefficients('per_region') c
JOIN (SELECT region, regr_slope(y, x) AS slope FROM per_region GROUP BY 1) r ON r.region = c.group_key
WHERE c.feature = 'x' ORDER BY 1;

-- 7. Holdout: deterministic, about the requested fraction, split_column keeps keys together.
SELECT n_test BETWEEN 900 AND 1100 AS about_a_fifth FROM shopml.train_linear('noisy2', 'noisy', 'y', ARRAY['x']);
SELECT a.n_test = b.n_test AS same_split
FROM shopml.train_linear('noisy3', 'noisy', 'y', ARRAY['x']) a, shopml.train_linear('noisy4', 'noisy', 'y', ARRAY['x']) b;
SELECT n_test % 50 = 0 AS whole_keys_held_out
FROM shopml.train_linear('noisy5', 'noisy', 'y', ARRAY['x'], '{"split_column": "x"}');
-- Held-out metrics equal a direct computation over the held-out rows (no sampling below 20k rows).
CREATE TABLE split_check AS
SELECT n.*, shopml.predict('noisy5', ARRAY[n.x]) AS pred FROM noisy n;
SELECT abs((m.metrics->'train'->>'rmse')::float8 * (m.metrics->'train'->>'rmse')::float8 * m.n_train
           + (m.metrics->'test'->>'rmse')::float8 * (m.metrics->'test'->>'rmse')::float8 * m.n_test
           - (SELECT sum((y - pred) ^ 2) FROM split_check)) < 1e-6 AS sse_adds_up
FROM shopml.models m WHERE model_name = 'noisy5';

-- 8. Real data in the sample shop: next-year spend from first-year behaviour.
CREATE VIEW customer_year AS
SELECT c.customer_id, c.region,
       count(*) FILTER (WHERE o.order_date < '2025-01-01') AS orders_y1,
       coalesce(sum(o.total) FILTER (WHERE o.order_date < '2025-01-01'), 0) AS spend_y1,
       coalesce(max(o.order_date) FILTER (WHERE o.order_date < '2025-01-01') - DATE '2024-01-01', 0) AS last_order_day_y1,
       coalesce(sum(o.total) FILTER (WHERE o.order_date >= '2025-01-01'), 0)::float8 AS spend_y2
FROM shop.customers c LEFT JOIN shop.orders o USING (customer_id)
GROUP BY 1, 2;
SELECT n_train + n_test AS customers, (metrics->>'r2')::float8 > 0.5 AS predictive
FROM shopml.train_linear('spend', 'customer_year', 'spend_y2',
                         ARRAY['orders_y1', 'spend_y1', 'last_order_day_y1']);
SELECT feature, sign(coefficient) AS sign FROM shopml.coefficients('spend') WHERE feature = 'spend_y1';
