-- shopml demo: the bundled sample shop, a model trained in place, and what it says.
\pset footer off
\set QUIET on
CREATE EXTENSION IF NOT EXISTS shopml;
\echo
\echo '== 1. The sample shop (deterministic, seed 42) =='
SELECT * FROM shopml.load_sample_shop('shop');

\echo
\echo '== 2. Next-year spend from first-year behaviour (linear regression, trained in place) =='
CREATE OR REPLACE VIEW shop.customer_year AS
SELECT c.customer_id, c.region,
       count(o.order_id) FILTER (WHERE o.order_date < '2025-01-01') AS orders_y1,
       coalesce(sum(o.total) FILTER (WHERE o.order_date < '2025-01-01'), 0) AS spend_y1,
       coalesce(max(o.order_date) FILTER (WHERE o.order_date < '2025-01-01') - DATE '2024-01-01', 0) AS last_order_day_y1,
       coalesce(sum(o.total) FILTER (WHERE o.order_date >= '2025-01-01'), 0)::float8 AS spend_y2
FROM shop.customers c LEFT JOIN shop.orders o USING (customer_id)
GROUP BY 1, 2;
SELECT model_name, version, n_train, n_test,
       round((metrics->'test'->>'r2')::numeric, 3) AS test_r2,
       round((metrics->'test'->>'rmse')::numeric, 2) AS test_rmse,
       round((metrics->'test'->>'mae')::numeric, 2) AS test_mae
FROM shopml.train_linear('next_year_spend', 'shop.customer_year', 'spend_y2',
                         ARRAY['orders_y1', 'spend_y1', 'last_order_day_y1']);
\echo 'Coefficients (with standard errors and p-values):'
SELECT feature, round(coefficient::numeric, 4) AS coefficient, round(std_error::numeric, 4) AS std_error,
       round(t_stat::numeric, 2) AS t_stat, to_char(p_value, '9.9EEEE') AS p_value
FROM shopml.coefficients('next_year_spend');

\echo 'Predicted against actual second-year spend for five customers:'
SELECT customer_id, orders_y1, spend_y1, round(shopml.predict('next_year_spend', c)::numeric, 2) AS predicted_y2,
       spend_y2 AS actual_y2
FROM shop.customer_year c ORDER BY customer_id LIMIT 5;

\echo
\echo '== 3. One model per region (group_by) =='
SELECT version, n_train, metrics->'groups' AS regions, round((metrics->>'r2')::numeric, 3) AS test_r2
FROM shopml.train_linear('spend_by_region', 'shop.customer_year', 'spend_y2',
                         ARRAY['orders_y1', 'spend_y1'], '{"group_by": "region"}');
SELECT group_key AS region, round(coefficient::numeric, 4) AS spend_y1_coefficient
FROM shopml.coefficients('spend_by_region') WHERE feature = 'spend_y1' ORDER BY 1;

\echo
\echo '== 4. The aggregate form: price response per category in one GROUP BY =='
SELECT c.name AS category, (f->>'n')::int AS weeks,
       round((f->'coefficients'->>0)::numeric, 2) AS log_price_slope,
       round((f->'coefficients'->>1)::numeric, 2) AS promo_effect,
       round((f->>'r2')::numeric, 3) AS r2
FROM (SELECT p.category_id,
             shopml.linear_fit(ln(w.units), ARRAY[ln(w.price / p.list_price)::float8, w.promo::int::float8]) AS f
      FROM shop.weekly_sales w JOIN shop.products p USING (product_id)
      WHERE w.units > 0 GROUP BY 1) s
JOIN shop.categories c USING (category_id) ORDER BY 1;

\echo
\echo '== 5. The catalog =='
SELECT model_name, version, algorithm, deployed, n_train, n_test, size_bytes FROM shopml.models ORDER BY model_id;
