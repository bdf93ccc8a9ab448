-- linear_partial / linear_merge / linear_fit_state: linear_fit's statistics as a bytea state
-- (a value with a combine function: what Citus runs on its workers, what moves between servers).
\set VERBOSITY terse
CREATE TABLE lp AS
SELECT i, i % 4 AS g, (i % 13)::float8 / 3 AS x1, ((i * 7) % 17)::float8 AS x2,
       (2 + 0.5 * (i % 13) / 3 - 0.25 * ((i * 7) % 17) + sin(i) / 10)::float8 AS y
FROM generate_series(1, 40000) i;
INSERT INTO lp VALUES (0, 0, NULL, 1, 1), (-1, 0, 'NaN', 1, 1);
-- The same fit as linear_fit, to 1e-10 (serial plans: the same formulas in the same order).
SET max_parallel_workers_per_gather = 0;
SELECT max(abs((a.f->'coefficients'->>k)::float8 - (b.f->'coefficients'->>k)::float8)) < 1e-10 AS same_coefficients,
       abs((a.f->>'intercept')::float8 - (b.f->>'intercept')::float8) < 1e-10 AS same_intercept,
       a.f->'n' = b.f->'n' AS same_n, a.f->>'skipped' AS skipped, b.f->>'skipped' AS fit_skipped
FROM (SELECT shopml.linear_fit_state(shopml.linear_partial(y, ARRAY[x1, x2])) AS f FROM lp) a,
     (SELECT shopml.linear_fit(y, ARRAY[x1, x2]) AS f FROM lp) b, generate_series(0, 1) k
GROUP BY a.f, b.f;
-- The state does not grow with the rows: 16 + 8 * (2 + 3 + 6) bytes for two features.
SELECT octet_length(shopml.linear_partial(y, ARRAY[x1, x2])) AS bytes FROM lp;
SELECT octet_length(shopml.linear_partial(y, ARRAY[x1, x2])) AS bytes FROM lp WHERE i < 10;
-- Per-group states merged = the whole; through text (how Citus moves states) unchanged.
SELECT abs((m.f->>'intercept')::float8 - (w.f->>'intercept')::float8) < 1e-10 AS merged_equals_whole,
       abs((m.f->>'r2')::float8 - (w.f->>'r2')::float8) < 1e-10 AS same_r2, m.f->'n' AS n
FROM (SELECT shopml.linear_fit_state(shopml.linear_merge(s::text::bytea)) AS f
      FROM (SELECT g, shopml.linear_partial(y, ARRAY[x1, x2]) AS s FROM lp GROUP BY g) t) m,
     (SELECT shopml.linear_fit_state(shopml.linear_partial(y, ARRAY[x1, x2])) AS f FROM lp) w;
-- A parallel plan (partial states combined by the combine function) gives the same fit.
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
CREATE FUNCTION pg_temp.workers(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO plan;
  RETURN coalesce((regexp_match(plan::text, '"Workers Launched": (\d+)'))[1]::int, 0);
END $$;
SELECT pg_temp.workers('SELECT shopml.linear_partial(y, ARRAY[x1, x2]) FROM lp') > 0 AS in_parallel;
SELECT abs((p.f->>'intercept')::float8 - (s.f->>'intercept')::float8) < 1e-9 AS parallel_equals_serial
FROM (SELECT shopml.linear_fit_state(shopml.linear_partial(y, ARRAY[x1, x2])) AS f FROM lp) p,
     (SELECT shopml.linear_fit(y, ARRAY[x1, x2]) AS f FROM lp) s;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
-- Bad inputs.
SELECT regress.err($$SELECT shopml.linear_partial(y, CASE WHEN i = 5 THEN ARRAY[x1] ELSE ARRAY[x1, x2] END) FROM lp$$) AS widths_differ;
SELECT regress.err($$SELECT shopml.linear_partial(y, ARRAY[]::float8[]) FROM lp$$) AS empty_x;
SELECT regress.err($$SELECT shopml.linear_fit_state('\x00'::bytea)$$) AS damaged;
SELECT regress.err($$SELECT shopml.linear_fit_state(overlay(shopml.linear_partial(y, ARRAY[x1]) placing '\x09'::bytea from 5 for 1)) FROM lp$$) AS newer_format;
SELECT regress.err($$SELECT shopml.linear_merge(s) FROM (SELECT shopml.linear_partial(y, ARRAY[x1]) s FROM lp UNION ALL SELECT shopml.linear_partial(y, ARRAY[x1, x2]) FROM lp) t$$) AS merge_widths;
SELECT shopml.linear_fit_state(shopml.linear_partial(y, ARRAY[x1])) IS NULL AS one_row_is_null FROM lp WHERE i = 1;
SELECT shopml.linear_partial(y, ARRAY[x1]) IS NULL AS no_rows FROM lp WHERE false;
DROP TABLE lp;
