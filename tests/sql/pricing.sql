-- Pricing: demand elasticities recovered from sales generated with known elasticities,
-- exact recovery on noise-free demand, every business rule binding, inelastic products, and
-- the bad inputs the issue names.

-- 500 products (the last 100 sold only in the last 10 weeks), Poisson units, promotions x1.3.
CREATE TABLE sales AS SELECT * FROM shopml.sample_demand(500, 100, 104, 42);
CREATE TABLE truth AS
SELECT product_id, min(true_elasticity) AS e, min(unit_cost) AS cost, count(*) AS weeks
FROM sales GROUP BY 1;
SELECT count(*) AS rows, count(DISTINCT product_id) AS products,
       sum((units = 0)::int) > 0 AS has_zero_weeks FROM sales;
CREATE TEMP TABLE trained AS
SELECT * FROM shopml.train_demand('prices', 'sales', 'product_id', 'price', 'units', ARRAY['promo']);
SELECT version, n_products, n_obs, metrics->'skipped_rows' AS skipped,
       abs((metrics->'controls'->'promo'->>'multiplier')::float8 - 1.3) < 0.03 AS promo_lift_recovered,
       (metrics->>'dispersion')::float8 BETWEEN 0.9 AND 1.1 AS poisson_dispersion
FROM trained;
SELECT algorithm, task, deployed, target, features FROM shopml.models WHERE model_name = 'prices';
-- Accuracy against the generating elasticities (the issue's targets), and shrinkage beating the
-- pooled mean on the short histories.
CREATE TEMP TABLE est AS
SELECT e.*, t.e AS true_e, t.cost, t.weeks FROM shopml.demand_elasticities('prices') e
JOIN truth t ON t.product_id = e.product_id::bigint;
SELECT weeks, count(*) AS products,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(elasticity - true_e)) <= CASE WHEN weeks = 104 THEN 0.15 ELSE 0.45 END AS within_target,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(elasticity - true_e))
         < percentile_cont(0.5) WITHIN GROUP (ORDER BY abs((SELECT metrics->>'pooled_elasticity' FROM trained)::float8 - true_e)) AS beats_pooled_mean,
       avg(shrunk::int) > 0.5 AS mostly_shrunk
FROM est GROUP BY weeks ORDER BY weeks;
-- Standard errors are honest: about 95 % of 104-week products have the truth within ±1.96 se
-- of their own (raw) estimate.
SELECT avg((abs(raw_elasticity - true_e) <= 1.96 * raw_std_error)::int) BETWEEN 0.9 AND 0.99 AS coverage_95
FROM est WHERE weeks = 104;
-- Prices chosen from the estimates capture >= 97 % of the true optimal profit (median product).
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY
         ((o.price - e.cost) * o.price ^ e.true_e) /
         ((e.cost * e.true_e / (1 + e.true_e) - e.cost) * (e.cost * e.true_e / (1 + e.true_e)) ^ e.true_e)) >= 0.97
       AS profit_captured
FROM est e, LATERAL shopml.optimal_price('prices', e.product_id::bigint, e.cost) o;

-- Noise-free demand: the Poisson fit recovers elasticities exactly (quantities need not be
-- integers; a large scale makes the weak prior on elasticities negligible), including an
-- inelastic product.
CREATE TABLE noise_free AS
SELECT p, 'SKU-' || p AS sku, price, promo,
       1e6 * price ^ (CASE p WHEN 1 THEN -0.6 WHEN 2 THEN -1.8 ELSE -2.5 END)
           * CASE WHEN promo THEN 1.2 ELSE 1 END AS units
FROM generate_series(1, 3) p,
     (VALUES (4.0, false), (5.0, false), (6.0, false), (7.5, false), (5.0, true), (6.5, true)) v(price, promo);
SELECT n_products FROM shopml.train_demand('noise_free', 'noise_free', 'sku', 'price', 'units', ARRAY['promo'],
                                           '{"shrinkage": false}');
SELECT product_id, round(elasticity::numeric, 4) AS elasticity, shrunk
FROM shopml.demand_elasticities('noise_free') ORDER BY 1;
-- Closed form p* = c·e/(1+e) = 9.9 for c = 4.4, e = −1.8, and the quantity and profit there.
SELECT round(price::numeric, 4) AS price,
       abs(expected_quantity / (1e6 * 9.9 ^ -1.8) - 1) < 1e-4 AS quantity_exact,
       abs(expected_profit / ((9.9 - 4.4) * 1e6 * 9.9 ^ -1.8) - 1) < 1e-4 AS profit_exact,
       binding
FROM shopml.optimal_price('noise_free', 'SKU-2', 4.4, options => '{"at": {"promo": 0}}');
-- Each rule binds in turn.
SELECT 'min_price' AS rule, round(price::numeric, 4) AS price, binding FROM shopml.optimal_price('noise_free', 'SKU-2', 4.4, min_price => 12)
UNION ALL SELECT 'max_price', round(price::numeric, 4), binding FROM shopml.optimal_price('noise_free', 'SKU-2', 4.4, max_price => 9)
UNION ALL SELECT 'min_margin', round(price::numeric, 4), binding FROM shopml.optimal_price('noise_free', 'SKU-2', 4.4, options => '{"min_margin": 0.6}')
UNION ALL SELECT 'max_change down', round(price::numeric, 4), binding FROM shopml.optimal_price('noise_free', 'SKU-2', 4.4, options => '{"current_price": 12, "max_change": 0.1}')
UNION ALL SELECT 'max_change up', round(price::numeric, 4), binding FROM shopml.optimal_price('noise_free', 'SKU-2', 4.4, options => '{"current_price": 8, "max_change": 0.1}')
UNION ALL SELECT 'interior', round(price::numeric, 4), binding FROM shopml.optimal_price('noise_free', 'SKU-2', 4.4, 5, 20, '{"current_price": 9.5, "max_change": 0.2}')
UNION ALL SELECT 'inelastic', round(price::numeric, 4), binding FROM shopml.optimal_price('noise_free', 'SKU-1', 4.4, 5, 20)
UNION ALL SELECT 'inelastic, max_change', round(price::numeric, 4), binding FROM shopml.optimal_price('noise_free', 'SKU-1', 4.4, options => '{"current_price": 10, "max_change": 0.05}')
UNION ALL SELECT 'revenue, elastic', round(price::numeric, 4), binding FROM shopml.optimal_price('noise_free', 'SKU-2', NULL, 5, 20, '{"objective": "revenue"}')
UNION ALL SELECT 'revenue, inelastic', round(price::numeric, 4), binding FROM shopml.optimal_price('noise_free', 'SKU-1', NULL, 5, 20, '{"objective": "revenue"}');
-- The price curve: its best point is next to the optimal price, and q ∝ p^e.
SELECT count(*) AS points,
       (SELECT round(price::numeric, 2) FROM shopml.price_curve('noise_free', 'SKU-2', 4.4, 5, 20, 301) ORDER BY expected_profit DESC LIMIT 1) AS best_on_curve,
       bool_and(abs(ratio / (price / 5) ^ (SELECT elasticity FROM shopml.demand_elasticities('noise_free') WHERE product_id = 'SKU-2') - 1) < 1e-9) AS constant_elasticity
FROM (SELECT price, expected_quantity / first_value(expected_quantity) OVER (ORDER BY price) AS ratio
      FROM shopml.price_curve('noise_free', 'SKU-2', 4.4, 5, 20, 301)) c;

-- A whole catalogue in one statement.
SELECT count(*) AS priced, count(*) FILTER (WHERE o.binding IS NULL) AS interior,
       count(*) FILTER (WHERE o.binding = 'max_change') AS limited_by_max_change
FROM truth t,
     LATERAL shopml.optimal_price('prices', t.product_id, t.cost,
                                  options => jsonb_build_object('current_price', t.cost * 1.8, 'max_change', 0.25)) o;

-- Categories as pools (group_by), and per-product controls.
CREATE VIEW sales_by_category AS SELECT s.*, s.product_id % 4 AS category FROM sales s;
SELECT jsonb_array_length(metrics->'groups') AS groups
FROM shopml.train_demand('prices_by_cat', 'sales_by_category', 'product_id', 'price', 'units',
                         ARRAY['promo'], '{"group_by": "category", "deploy": false}');
SELECT n_products, metrics ? 'controls' AS shared_controls
FROM shopml.train_demand('prices_pp', 'sales', 'product_id', 'price', 'units', ARRAY['promo'],
                         '{"controls": "per_product"}');

-- Bad inputs: SQLSTATE, message, and nothing written.
CREATE TABLE messy (product_id int, price numeric, units int, promo boolean, label text);
INSERT INTO messy SELECT p, 5 + (w % 3), 10 + (w % 5), w % 7 = 0, 'x'
FROM generate_series(1, 3) p, generate_series(1, 30) w;
INSERT INTO messy VALUES (1, 0, 5, false, 'x'), (1, -2, 5, false, 'x'), (1, NULL, 5, false, 'x'),
  (2, 5, NULL, false, 'x'), (2, 5, -1, false, 'x'), (NULL, 5, 5, false, 'x'), (3, 5, 5, NULL, 'x');
INSERT INTO messy SELECT 4, 9.99, 3 + (w % 4), false, 'x' FROM generate_series(1, 20) w;  -- one price only
CREATE TABLE no_sales (product_id int, price float8, units int);
SELECT n_products, n_obs, metrics->'skipped_rows' AS skipped_rows
FROM shopml.train_demand('messy', 'messy', 'product_id', 'price', 'units', ARRAY['promo']);
SELECT product_id, shrunk, distinct_prices, round(elasticity::numeric, 3) = round(((SELECT metrics->>'pooled_elasticity' FROM shopml.models WHERE model_name = 'messy')::numeric), 3) AS at_pool
FROM shopml.demand_elasticities('messy') WHERE product_id = '4';
CREATE TEMP TABLE models_before AS SELECT count(*) AS n FROM shopml.model;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 99999, 5)$$) AS unknown_product;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('no_such_model', 1, 5)$$) AS unknown_model;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 0)$$) AS zero_cost;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, -3)$$) AS negative_cost;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, NULL)$$) AS null_cost;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 5, 10, 8)$$) AS min_above_max;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 5, options => '{"current_price": 9, "max_change": 0}')$$) AS max_change_zero;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 5, options => '{"current_price": 9, "max_change": 1.5}')$$) AS max_change_big;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 5, options => '{"max_change": 0.1}')$$) AS max_change_alone;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 5, options => '{"min_margin": 1}')$$) AS min_margin_one;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 5, options => '{"min_margin": -0.2}')$$) AS min_margin_negative;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 5, max_price => 6, options => '{"min_margin": 0.5}')$$) AS no_feasible_price;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('noise_free', 'SKU-1', 4.4)$$) AS inelastic_unbounded;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('noise_free', 'SKU-2', NULL, options => '{"objective": "revenue"}')$$) AS revenue_unbounded;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 5, options => '{"objective": "volume"}')$$) AS bad_objective;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', 1, 5, options => '{"at": {"season": 1}}')$$) AS unknown_control;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('prices', '1', 5)$$) AS text_key_to_bigint_model;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('noise_free', 2, 5)$$) AS bigint_key_to_text_model;
SELECT regress.err($$SELECT * FROM shopml.optimal_price('shop_recs', 1, 5)$$) AS recommender_model;
SELECT regress.err($$SELECT * FROM shopml.recommend_for_user('prices', 1)$$) AS demand_model_as_recommender;
SELECT regress.err($$SELECT shopml.predict('prices', ARRAY[1.0])$$) AS predict_on_demand;
SELECT regress.err($$SELECT * FROM shopml.price_curve('prices', 1, 5, 10, 10, 5)$$) AS empty_range;
SELECT regress.err($$SELECT * FROM shopml.price_curve('prices', 1, 5, -1, 10, 5)$$) AS negative_from;
SELECT regress.err($$SELECT * FROM shopml.price_curve('prices', 1, 5, 1, 10, 1)$$) AS one_step;
SELECT regress.err($$SELECT * FROM shopml.price_curve('prices', 1, 5, 1, 10, 100000)$$) AS too_many_steps;
SELECT regress.err($$SELECT * FROM shopml.train_demand('bad', 'no_sales', 'product_id', 'price', 'units')$$) AS empty_relation;
SELECT regress.err($$SELECT * FROM shopml.train_demand('bad', 'messy', 'product_id', 'label', 'units')$$) AS text_price;
SELECT regress.err($$SELECT * FROM shopml.train_demand('bad', 'messy', 'product_id', 'price', 'units', ARRAY['label'])$$) AS text_control;
SELECT regress.err($$SELECT * FROM shopml.train_demand('bad', 'messy', 'product_id', 'price', 'units', ARRAY['nope'])$$) AS unknown_control_column;
SELECT regress.err($$SELECT * FROM shopml.train_demand('bad', 'messy', 'product_id', 'price', 'units', ARRAY['price'])$$) AS price_as_control;
SELECT regress.err($$SELECT * FROM shopml.train_demand('bad', 'messy', 'product_id', 'price', 'units', options => '{"controls": "both"}')$$) AS bad_option;
SELECT regress.err($$SELECT * FROM shopml.train_demand('bad', 'messy', 'price', 'price', 'units')$$) AS numeric_product_key;
-- A control that never varies within a product cannot be told from the product's own level.
CREATE TABLE confounded AS SELECT p, price, units, p % 2 = 0 AS promo FROM noise_free;
SELECT regress.err($$SELECT * FROM shopml.train_demand('bad', 'confounded', 'p', 'price', 'units', ARRAY['promo'])$$) AS constant_control;
SELECT count(*) - (SELECT n FROM models_before) AS models_written FROM shopml.model;
