-- RFM: scores checked against a plain-SQL computation (rank-based quintiles, ties kept
-- together), the segment map, as_of, options, and bad inputs.
CREATE TEMP TABLE r AS SELECT * FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', DATE '2025-12-31');
SELECT count(*) AS customers, min(r_score) AS min_score, max(r_score) AS max_score,
       count(DISTINCT segment) AS segments FROM r;
-- Independent reference in SQL.
CREATE TEMP TABLE ref AS
WITH base AS (
  SELECT customer_id::text AS c, (DATE '2025-12-31' - max(order_date))::int AS rec, count(*) AS f,
         sum(total::float8) AS m
  FROM shop.orders WHERE customer_id IS NOT NULL AND order_date <= DATE '2025-12-31' GROUP BY 1)
SELECT c, rec, f, m,
       1 + floor(5.0 * (rank() OVER (ORDER BY rec DESC) - 1) / count(*) OVER ())::int AS rs,
       1 + floor(5.0 * (rank() OVER (ORDER BY f) - 1) / count(*) OVER ())::int AS fs,
       1 + floor(5.0 * (rank() OVER (ORDER BY m) - 1) / count(*) OVER ())::int AS ms
FROM base;
SELECT count(*) AS compared,
       count(*) FILTER (WHERE r.recency_days <> ref.rec OR r.frequency <> ref.f
                        OR abs(r.monetary - ref.m) > 1e-6 * abs(ref.m)) AS value_mismatches,
       count(*) FILTER (WHERE (r.r_score, r.f_score, r.m_score) <> (ref.rs, ref.fs, ref.ms)) AS score_mismatches
FROM r JOIN ref ON ref.c = r.customer_id;
-- Ties never straddle two scores.
SELECT count(*) AS split_ties FROM (
  SELECT frequency FROM r GROUP BY frequency HAVING count(DISTINCT f_score) > 1) t;
-- Segments against the hidden customer types of the sample shop.
SELECT c.true_segment,
       round(avg((r.segment IN ('Champions', 'Loyal'))::int), 2) AS champions_or_loyal,
       round(avg((r.segment IN ('Lost', 'Hibernating', 'At Risk', 'Cannot Lose Them'))::int), 2) AS slipping_away
FROM r JOIN shop.customers c ON c.customer_id::text = r.customer_id
GROUP BY 1 ORDER BY 1;
-- as_of an earlier date ignores later orders; order_column counts orders, not lines.
SELECT max(recency_days) >= 0 AS no_future, sum(frequency) = (SELECT count(*) FROM shop.orders WHERE order_date <= '2024-06-30') AS only_past
FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', DATE '2024-06-30');
CREATE TEMP VIEW lines AS SELECT o.customer_id, o.order_id, o.order_date, i.quantity * i.unit_price AS amount
FROM shop.order_items i JOIN shop.orders o USING (order_id);
SELECT sum(frequency) = (SELECT count(*) FROM shop.orders WHERE order_date <= '2025-12-31') AS counts_orders
FROM shopml.rfm('lines', 'customer_id', 'order_date', 'amount', DATE '2025-12-31', '{"order_column": "order_id"}');
SELECT abs(sum(monetary * frequency) - (SELECT sum(total) FROM shop.orders WHERE order_date <= '2025-12-31')::float8) < 1e-3 AS average_times_count
FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', DATE '2025-12-31', '{"monetary": "average"}');
-- Bad inputs.
SELECT regress.err($$SELECT * FROM shopml.rfm('shop.orders', 'nope', 'order_date', 'total')$$) AS unknown_column;
SELECT regress.err($$SELECT * FROM shopml.rfm('shop.orders', 'customer_id', 'order_id', 'total')$$) AS integer_date;
SELECT regress.err($$SELECT * FROM shopml.rfm('shop.customers', 'customer_id', 'signup_date', 'region')$$) AS text_amount;
SELECT regress.err($$SELECT * FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', NULL)$$) AS null_as_of;
SELECT regress.err($$SELECT * FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', 'infinity')$$) AS infinite_as_of;
SELECT regress.err($$SELECT * FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', options => '{"monetary": "median"}')$$) AS bad_option;
SELECT regress.err($$SELECT * FROM shopml.rfm(NULL, 'customer_id', 'order_date', 'total')$$) AS null_relation;
SELECT count(*) AS before_any_order FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', DATE '1999-01-01');
