-- The training aggregate and predict run in parallel plans, with the same answers as serial.
-- The catalog: both aggregates are PARALLEL SAFE with combine, serialize and deserialize.
SELECT a.aggfnoid::regprocedure AS aggregate, p.proparallel, a.aggcombinefn <> 0 AS combine,
       a.aggserialfn <> 0 AS serialize, a.aggdeserialfn <> 0 AS deserialize
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE a.aggfnoid::regproc::text LIKE 'shopml.%' ORDER BY a.aggfnoid::regprocedure::text COLLATE "C";
SELECT p.oid::regprocedure AS function, p.proparallel, p.provolatile
FROM pg_proc p WHERE p.proname = 'predict' ORDER BY p.oid::regprocedure::text COLLATE "C";

CREATE TABLE par AS
SELECT i, (i % 1000)::float8 / 100 AS x1, ((i * 7) % 997)::float8 / 50 AS x2,
       (5 + 3 * (i % 1000)::float8 / 100 - 2 * ((i * 7) % 997)::float8 / 50 + sin(i) )::float8 AS y
FROM generate_series(1, 200000) i;
ANALYZE par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;

-- Workers are launched for the training scan and for prediction.
CREATE FUNCTION pg_temp.workers(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO plan;
  RETURN coalesce((plan->0->'Plan'->>'Workers Launched')::int,
                  (plan->0->'Plan'->'Plans'->0->>'Workers Launched')::int,
                  (plan->0->'Plan'->'Plans'->0->'Plans'->0->>'Workers Launched')::int, 0);
END $$;
SELECT pg_temp.workers('SELECT shopml._linear_stats(shopml._linear_scan_config(2), ctid, y, x1, x2) FROM par') > 0 AS stats_in_parallel;
SELECT pg_temp.workers('SELECT shopml.linear_fit(y, ARRAY[x1, x2]) FROM par') > 0 AS fit_in_parallel;

CREATE TEMP TABLE par_results AS
SELECT 'parallel' AS mode, (t.metrics->'test'->>'r2')::float8 AS r2, t.n_train, t.n_test
FROM shopml.train_linear('par', 'par', 'y', ARRAY['x1', 'x2']) t;
ALTER TABLE par_results ADD b1 float8;
UPDATE par_results SET b1 = (SELECT coefficient FROM shopml.coefficients('par') WHERE feature = 'x1');
SELECT shopml.linear_fit(y, ARRAY[x1, x2]) AS fit_parallel FROM par \gset
SELECT pg_temp.workers($$SELECT sum(shopml.predict('par', ARRAY[x1, x2])) FROM par$$) > 0 AS predict_in_parallel;
SELECT sum(shopml.predict('par', ARRAY[x1, x2])) AS sum_parallel FROM par \gset
SELECT sum(shopml.predict('par', p)) AS sum_row_parallel FROM par p \gset

SET max_parallel_workers_per_gather = 0;
INSERT INTO par_results
SELECT 'serial', (t.metrics->'test'->>'r2')::float8, t.n_train, t.n_test
FROM shopml.train_linear('par_serial', 'par', 'y', ARRAY['x1', 'x2']) t;
UPDATE par_results SET b1 = (SELECT coefficient FROM shopml.coefficients('par_serial') WHERE feature = 'x1')
WHERE mode = 'serial';
SELECT pg_temp.workers('SELECT shopml.linear_fit(y, ARRAY[x1, x2]) FROM par') AS serial_workers;
SELECT count(*) AS runs FROM par_results;
-- Same split, same counts; coefficients equal up to floating-point summation order.
SELECT count(DISTINCT n_train) = 1 AND count(DISTINCT n_test) = 1 AS same_split,
       max(b1) - min(b1) < 1e-9 AS same_coefficient, max(r2) - min(r2) < 1e-9 AS same_r2
FROM par_results;
SELECT abs((:'fit_parallel'::jsonb->>'r2')::float8 - (shopml.linear_fit(y, ARRAY[x1, x2])->>'r2')::float8) < 1e-9 AS same_fit
FROM par;
SELECT abs(:sum_parallel - sum(shopml.predict('par', ARRAY[x1, x2]))) / abs(:sum_parallel) < 1e-12 AS same_predictions,
       abs(:sum_row_parallel - :sum_parallel) / abs(:sum_parallel) < 1e-12 AS row_form_same
FROM par;
-- Prediction in parallel workers inside a transaction that has already written (and so has a
-- transaction id): catalog reads must not need one.
SET max_parallel_workers_per_gather = 2;
BEGIN;
SELECT version FROM shopml.train_linear('par_tx', 'par', 'y', ARRAY['x1', 'x2']);
SELECT pg_temp.workers($$SELECT sum(shopml.predict('par_tx', ARRAY[x1, x2])) FROM par$$) > 0 AS predict_in_parallel_after_write;
COMMIT;
RESET ALL;
