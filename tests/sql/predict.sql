-- Prediction: by name, by id, by row; literals as people type them; NULLs; caching.
\set VERBOSITY terse
CREATE TABLE p_t AS
SELECT i, (i % 10)::int AS x1, (i % 7)::numeric(6,2) AS x2, (i % 3 = 0) AS flag,
       (1 + 2 * (i % 10) - 3 * (i % 7))::float8 AS y,
       (ARRAY['a', 'b'])[i % 2 + 1] AS grp
FROM generate_series(1, 500) i;
SELECT version FROM shopml.train_linear('p', 'p_t', 'y', ARRAY['x1', 'x2']);
-- array form: float, numeric and integer literals all resolve to float8[]
SELECT round(shopml.predict('p', ARRAY[1.5, 2])::numeric, 9) AS numeric_literals,
       round(shopml.predict('p', ARRAY[1, 2])::numeric, 9) AS integer_literals,
       round(shopml.predict('p', '{1,2}'::float8[])::numeric, 9) AS array_literal,
       round(shopml.predict('p', ARRAY[1.5, 2]::float8[])::numeric, 9) AS float8_array;
-- by id gives the same as by name
SELECT shopml.predict(model_id, ARRAY[3, 4]) = shopml.predict('p', ARRAY[3, 4]) AS same
FROM shopml.models WHERE model_name = 'p' AND deployed;
-- by row: columns matched by name, whatever their order and type
SELECT count(*) AS rows, max(abs(shopml.predict('p', t) - y)) < 1e-9 AS exact
FROM p_t t;
SELECT round(shopml.predict('p', r)::numeric, 9) AS reordered
FROM (SELECT 2::numeric AS x2, 1.5::float4 AS x1, 'ignored' AS other) r;
-- NULL in, NULL out
SELECT shopml.predict('p', NULL::float8[]) IS NULL AS null_array,
       shopml.predict('p', ARRAY[1, NULL]) IS NULL AS null_element,
       shopml.predict('p', r) IS NULL AS null_column
FROM (SELECT NULL::int AS x1, 1 AS x2) r;
-- grouped models: the group column of the row picks the sub-model; an unseen group is NULL
SELECT version FROM shopml.train_linear('pg', 'p_t', 'y', ARRAY['x1'], '{"group_by": "grp"}');
SELECT grp, count(*) AS n, count(shopml.predict('pg', t)) AS predicted FROM p_t t GROUP BY 1 ORDER BY 1;
SELECT shopml.predict('pg', r) IS NULL AS unseen_group FROM (SELECT 'zzz' AS grp, 1 AS x1) r;
-- a model name that changes per row is looked up per distinct value
SELECT version FROM shopml.train_linear('p2', 'p_t', 'y', ARRAY['x1', 'x2'], '{"l2": 100000}');
SELECT m, round(shopml.predict(m, ARRAY[1, 2])::numeric, 3) AS prediction
FROM (VALUES ('p'), ('p2'), ('p')) v(m);
-- a new deployment is seen by the next statement
SELECT round(shopml.predict('p2', ARRAY[1, 2])::numeric, 3) AS before;
SELECT shopml.deploy('p', 1) IS NOT NULL AS ok;
SELECT version FROM shopml.train_linear('p2', 'p_t', 'y', ARRAY['x1', 'x2']);
SELECT round(shopml.predict('p2', ARRAY[1, 2])::numeric, 3) AS after;
-- The planner rewrites predict(m, ARRAY[<float8 expressions>]) into a call that reads the values
-- as arguments (no array built per row); answers, NULL handling and errors stay the same.
CREATE TABLE p_f AS SELECT x1::float8 AS x1, x2::float8 AS x2, y FROM p_t;
EXPLAIN (VERBOSE, COSTS OFF) SELECT shopml.predict('p', ARRAY[x1, x2]) FROM p_f;
EXPLAIN (VERBOSE, COSTS OFF) SELECT shopml.predict(1::bigint, ARRAY[x1, x2]) FROM p_f;
SELECT count(*) AS rows,
       max(abs(shopml.predict('p', ARRAY[x1, x2]) - shopml.predict('p', ARRAY[x1, x2] || '{}'::float8[]))) < 1e-12 AS same
FROM p_f;
SELECT count(*) AS null_results FROM p_f WHERE shopml.predict('p', ARRAY[x1, NULL]) IS NULL;
SELECT shopml.predict('p', ARRAY[x1]) FROM p_f LIMIT 1;
PREPARE p_stmt AS SELECT round(shopml.predict('p', ARRAY[x1, x2])::numeric, 3) FROM p_f ORDER BY x1, x2 LIMIT 1;
EXECUTE p_stmt;
SELECT version FROM shopml.train_linear('p', 'p_t', 'y', ARRAY['x1', 'x2'], '{"l2": 1000000}');
-- a prepared statement sees the new deployment too (the model is resolved per execution)
EXECUTE p_stmt;
