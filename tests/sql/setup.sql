-- Install the extension the way a user does, and load the bundled sample shop.
CREATE EXTENSION shopml;
-- For the other test files: run a statement and return its SQLSTATE, message, detail and hint
-- (or 'no error'), so bad inputs can be listed one per line.
CREATE SCHEMA regress;
CREATE FUNCTION regress.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE detail text; hint text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' | ' || nullif(detail, ''), '')
      || coalesce(' | hint: ' || nullif(hint, ''), '');
END $$;
SELECT extname, extversion IS NOT NULL AS has_version FROM pg_extension WHERE extname = 'shopml';
SELECT * FROM shopml.load_sample_shop('shop', 42);
-- Deterministic: loading again gives the very same data.
CREATE TEMP TABLE first_load AS SELECT sum(total) AS revenue, count(*) AS n FROM shop.orders;
SELECT count(*) FROM shopml.load_sample_shop('shop', 42);
SELECT f.revenue = o.revenue AND f.n = o.n AS same_shop
FROM first_load f, (SELECT sum(total) AS revenue, count(*) AS n FROM shop.orders) o;
-- Its structure: weekly units add up to the order lines, elasticities are in range.
SELECT count(*) AS mismatched_weeks
FROM shop.weekly_sales w
FULL JOIN (SELECT i.product_id, date_trunc('week', o.order_date)::date AS week_start, sum(i.quantity) AS units
           FROM shop.order_items i JOIN shop.orders o USING (order_id) GROUP BY 1, 2) l
  USING (product_id, week_start)
WHERE coalesce(w.units, 0) <> coalesce(l.units, 0);
SELECT min(true_elasticity) >= -3.5 AND max(true_elasticity) <= -1.4 AS elasticities_in_range,
       min(unit_cost / list_price) >= 0.39 AND max(unit_cost / list_price) <= 0.76 AS costs_in_range
FROM shop.products;
-- Every public object is documented (\df+ shows it).
SELECT p.oid::regprocedure AS undocumented
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'shopml' AND p.proname NOT LIKE '\_%' AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1::text;
-- The search sessions: 12..24 distinct products a page, positions 1..n, a purchase only after a
-- click, and the queried category's products clicked far more often than the others.
SELECT min(n) AS min_shown, max(n) AS max_shown, bool_and(positions_ok) AS positions_ok FROM (
  SELECT session_id, count(*) AS n, count(DISTINCT product_id) = count(*)
         AND min(shown_position) = 1 AND max(shown_position) = count(*) AS positions_ok
  FROM shop.search_results GROUP BY 1) s;
SELECT count(*) FILTER (WHERE purchased AND NOT clicked) AS bought_unclicked,
       (SELECT count(*) FROM shop.search_results r WHERE NOT EXISTS (SELECT 1 FROM shop.search_sessions s WHERE s.session_id = r.session_id)) AS orphans,
       avg(clicked::int) FILTER (WHERE p.category_id = s.category_id) > 2 * avg(clicked::int) FILTER (WHERE p.category_id <> s.category_id) AS query_matters
FROM shop.search_results r JOIN shop.search_sessions s USING (session_id) JOIN shop.products p USING (product_id);
