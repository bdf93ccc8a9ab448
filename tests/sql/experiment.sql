-- Price experiments: creation and its bad inputs, the same prices for every call of a period,
-- the rules kept over a long run, recording that adds each product-period once, off-policy
-- sales, stopping, privileges, and the simulator.
SET TimeZone = 'UTC';
SET client_min_messages = warning;

-- 30 products with two years of weekly sales (5 of them new), and one product the demand model
-- has never seen.
CREATE TABLE ex_hist AS SELECT * FROM shopml.sample_demand(30, 5, 104, 11);
SELECT n_products FROM shopml.train_demand('ex_demand', 'ex_hist', 'product_id', 'price', 'units');
CREATE TABLE ex_products AS
SELECT DISTINCT ON (product_id) product_id, list_price AS price, unit_cost, true_elasticity
FROM ex_hist ORDER BY product_id;
INSERT INTO ex_products VALUES (999, 20, 9, -2);
SELECT experiment_name, n_products, pooled_prior, policy, start_at, period
FROM shopml.create_price_experiment('ex1', 'ex_demand', 'ex_products', 'product_id',
  '{"start": "2021-01-04", "period": "1 week", "min_margin": 0.2, "max_change": 0.1, "seed": 5}');
SELECT experiment_name, status, policy, demand_model, n_products, period, periods_served
FROM shopml.price_experiments;

-- One price per product per period; every call within the period gets the same prices.
CREATE TABLE ex_first AS SELECT * FROM shopml.next_prices('ex1', '2021-01-05');
SELECT count(*) AS products, bool_and(propensity > 0 AND propensity <= 1) AS propensities,
       bool_and(arm BETWEEN 0 AND 6) AS arms
FROM ex_first;
SELECT count(*) AS differing
FROM shopml.next_prices('ex1', '2021-01-10 23:00') n JOIN ex_first f USING (product_id)
WHERE n.price <> f.price OR n.propensity <> f.propensity OR n.arm <> f.arm;
SELECT shopml.next_price('ex1', 999, '2021-01-05') = (SELECT price FROM ex_first WHERE product_id = 999) AS same,
       (SELECT reason FROM ex_first WHERE product_id = 999) AS reason_unknown_product;

-- 40 weeks: serve, sell (demand from the true elasticities, deterministic), record.
CREATE TABLE ex_served (week int, product_id bigint, price float8);
CREATE TABLE ex_sales (product_id bigint, sold_on date, price float8, units int);
CREATE TABLE ex_all_sales (LIKE ex_sales);
DO $$
BEGIN
  FOR w IN 0..39 LOOP
    INSERT INTO ex_served
    SELECT w, product_id, price FROM shopml.next_prices('ex1', timestamptz '2021-01-04' + w * interval '1 week');
    TRUNCATE ex_sales;
    INSERT INTO ex_sales
    SELECT s.product_id, date '2021-01-04' + 7 * w + (s.product_id % 7)::int, s.price,
           floor(12 * (s.price / p.price) ^ p.true_elasticity + (s.product_id * 7 + w) % 5)::int
    FROM ex_served s JOIN ex_products p USING (product_id) WHERE s.week = w;
    INSERT INTO ex_all_sales SELECT * FROM ex_sales;
    PERFORM shopml.record_sales('ex1', 'ex_sales', 'product_id', 'sold_on', 'price', 'units');
  END LOOP;
END $$;
-- No served price breaks a rule: on the ladder (±15 % in 5 % steps, whole cents), at least
-- cost / 0.8, within 10 % of the previous week's price (the current price in week 0).
SELECT count(*) AS served, count(*) FILTER (WHERE
         s.price < p.unit_cost / 0.8 - 1e-9
      OR abs(s.price / coalesce(prev.price, p.price) - 1) > 0.1 + 1e-9
      OR NOT EXISTS (SELECT 1 FROM unnest(ARRAY[0.85, 0.9, 0.95, 1, 1.05, 1.1, 1.15]) f
                      WHERE abs(round((f * p.price)::numeric, 2) - s.price::numeric) < 1e-9)) AS violations
FROM ex_served s JOIN ex_products p USING (product_id)
LEFT JOIN ex_served prev ON prev.product_id = s.product_id AND prev.week = s.week - 1;
-- Everything sold is in the posterior's data, once.
SELECT sum(periods) AS product_weeks, sum(units) = (SELECT sum(units) FROM ex_all_sales) AS all_units
FROM shopml.experiment_status('ex1');
-- Recording the same rows again adds nothing; so does recording every week at once.
SELECT product_periods, units, off_policy, already_recorded, skipped_rows
FROM shopml.record_sales('ex1', 'ex_sales', 'product_id', 'sold_on', 'price', 'units');
SELECT product_periods, already_recorded
FROM shopml.record_sales('ex1', 'ex_all_sales', 'product_id', 'sold_on', 'price', 'units');
-- It learnt: for most products the posterior elasticity is closer to the truth than the prior.
SELECT count(*) FILTER (WHERE abs(s.elasticity - p.true_elasticity) < abs(d.elasticity - p.true_elasticity)) > 15 AS closer,
       bool_and(s.prob_best BETWEEN 0 AND 1) AS probabilities,
       bool_and(s.profit_low <= s.expected_profit AND s.expected_profit <= s.profit_high) AS intervals
FROM shopml.experiment_status('ex1') s JOIN ex_products p USING (product_id)
JOIN shopml.demand_elasticities('ex_demand') d ON d.product_id::bigint = s.product_id;
-- The report: one row per week, regret estimated against the posterior-best prices.
SELECT count(*) AS weeks, sum(products_recorded) AS recorded, bool_and(regret >= -1e-9) AS regret_not_negative,
       max(cumulative_regret) = (SELECT sum(regret) FROM shopml.experiment_report('ex1')) AS cumulative,
       round(sum(units)) = (SELECT sum(units) FROM ex_all_sales) AS units
FROM shopml.experiment_report('ex1');

-- Sales at another price than the one served, or in a week never served, are off-policy;
-- bad rows are skipped and counted.
CREATE TABLE ex_odd (product_id bigint, sold_on timestamptz, price numeric, units float8);
INSERT INTO ex_odd VALUES
  (1, '2021-10-11 12:00', 1.01, 4),      -- week 40 was never served
  (2, '2021-10-11', 5, -1),              -- negative units
  (3, '2021-10-11', 0, 2),               -- non-positive price
  (4, NULL, 5, 2),                       -- no period
  (5, '2020-06-01', 5, 2),               -- before the start
  (6, '2099-01-05', 5, 2),               -- a period not over
  (12345, '2021-10-11', 5, 2),           -- not in the experiment
  (NULL, '2021-10-11', 5, 2);
SELECT product_periods, units, off_policy, off_policy_units, already_recorded, skipped_rows, skipped
FROM shopml.record_sales('ex1', 'ex_odd', 'product_id', 'sold_on', 'price', 'units');
SELECT period, products_served, products_recorded, off_policy FROM shopml.experiment_report('ex1') WHERE period >= 39;

-- Bad inputs.
CREATE TABLE ex_dup AS SELECT * FROM ex_products UNION ALL SELECT * FROM ex_products WHERE product_id = 3;
CREATE TABLE ex_badprice AS SELECT * FROM ex_products;
UPDATE ex_badprice SET price = 0 WHERE product_id = 4;
CREATE TABLE ex_text (product_id bigint, sold_on text, price float8, units int);
SELECT version FROM shopml.train_linear('ex_linear', 'ex_products', 'price', ARRAY['unit_cost']);
SELECT n, regress.err(q) FROM (VALUES
  (1, $$SELECT shopml.create_price_experiment('ex2', 'no_such_model', 'ex_products', 'product_id')$$),
  (2, $$SELECT shopml.create_price_experiment('ex2', 'ex_linear', 'ex_products', 'product_id')$$),
  (3, $$SELECT shopml.create_price_experiment('ex2', 'ex_demand', 'ex_products', 'product_id', '{"ladder": []}')$$),
  (4, $$SELECT shopml.create_price_experiment('ex2', 'ex_demand', 'ex_products', 'product_id', '{"min_price": 1000}')$$),
  (5, $$SELECT shopml.create_price_experiment('ex2', 'ex_demand', 'ex_products', 'product_id', '{"max_change": 0.01, "ladder": [0.8, 1.2]}')$$),
  (6, $$SELECT shopml.create_price_experiment('ex1', 'ex_demand', 'ex_products', 'product_id')$$),
  (7, $$SELECT shopml.create_price_experiment('ex2', 'ex_demand', 'ex_dup', 'product_id')$$),
  (8, $$SELECT shopml.create_price_experiment('ex2', 'ex_demand', 'ex_badprice', 'product_id')$$),
  (9, $$SELECT shopml.create_price_experiment('ex2', 'ex_demand', 'ex_products', 'product_id', '{"policy": "random"}')$$),
  (10, $$SELECT shopml.create_price_experiment('ex2', 'ex_demand', 'ex_products', 'product_id', '{"period": "1 month"}')$$),
  (11, $$SELECT shopml.create_price_experiment('ex2', 'ex_demand', 'ex_products', 'product_id', '{"prior_wieght": 1}')$$),
  (12, $$SELECT shopml.create_price_experiment('ex2', 'ex_demand', 'ex_products', 'no_such_column')$$),
  (13, $$SELECT * FROM shopml.next_prices('no_such_experiment')$$),
  (14, $$SELECT * FROM shopml.next_prices('ex1', '2020-12-31')$$),
  (15, $$SELECT shopml.next_price('ex1', 12345, '2021-01-05')$$),
  (16, $$SELECT * FROM shopml.record_sales('ex1', 'ex_text', 'product_id', 'sold_on', 'price', 'units')$$),
  (17, $$SELECT * FROM shopml.record_sales('ex1', 'ex_sales', 'product_id', 'nope', 'price', 'units')$$)
) c(n, q) ORDER BY n;
SELECT count(*) AS experiments FROM shopml.price_experiment;

-- Privileges: another shopml_user reads the experiment and the periods already served, but
-- neither serves a new period, records sales nor stops it; a role without shopml_user is told
-- how to get it.
DROP ROLE IF EXISTS regress_ex_other, regress_ex_none;
CREATE ROLE regress_ex_other IN ROLE shopml_user;
CREATE ROLE regress_ex_none;
GRANT SELECT ON ex_sales TO regress_ex_other;
GRANT USAGE ON SCHEMA regress TO regress_ex_other, regress_ex_none;
SET ROLE regress_ex_other;
SELECT count(*) AS served_prices FROM shopml.next_prices('ex1', '2021-01-05');
SELECT count(*) AS status_rows FROM shopml.experiment_status('ex1');
SELECT regress.err($$SELECT * FROM shopml.next_prices('ex1', '2022-06-01')$$);
SELECT regress.err($$SELECT * FROM shopml.record_sales('ex1', 'ex_sales', 'product_id', 'sold_on', 'price', 'units')$$);
SELECT regress.err($$SELECT * FROM shopml.stop_price_experiment('ex1')$$);
WITH u AS (UPDATE shopml.price_experiment SET status = 'stopped' RETURNING 1) SELECT count(*) AS rows_changed FROM u;
SET ROLE regress_ex_none;
SELECT regress.err($$SELECT * FROM shopml.next_prices('ex1', '2021-01-05')$$);
RESET ROLE;
DROP OWNED BY regress_ex_other, regress_ex_none;
DROP ROLE regress_ex_other, regress_ex_none;

-- Stopping adopts the posterior-best prices (or the current or last ones), can save a demand
-- model version carrying the posterior, and ends serving.
SELECT count(*) AS products, count(*) FILTER (WHERE reason LIKE 'posterior best%') AS posterior_best
FROM shopml.stop_price_experiment('ex1', options => '{"train_model": true, "model_name": "ex_demand_after"}');
SELECT version, metrics->>'from_experiment' AS from_experiment, (metrics->>'products_updated')::int AS updated
FROM shopml.models WHERE model_name = 'ex_demand_after';
SELECT count(*) FILTER (WHERE abs(a.elasticity - s.elasticity) < 1e-9) AS posterior_in_model
FROM shopml.demand_elasticities('ex_demand_after') a
JOIN shopml.experiment_status('ex1') s ON s.product_id = a.product_id::bigint;
SELECT status, stopped_at IS NOT NULL AS stopped FROM shopml.price_experiments WHERE experiment_name = 'ex1';
SELECT regress.err($$SELECT * FROM shopml.next_prices('ex1', '2022-06-01')$$);
SELECT regress.err($$SELECT * FROM shopml.stop_price_experiment('ex1')$$);
SELECT count(*) AS served_before_stop FROM shopml.next_prices('ex1', '2021-01-05');

-- Every policy runs, and none breaks a rule, in a small simulation with tight rules.
SELECT policy, prior, count(*) AS periods, sum(violations) AS violations, bool_and(regret >= -1e-9) AS regret_ok
FROM shopml.simulate_price_experiment('{"n_products": 30, "periods": 40, "seeds": 2, "min_margin": 0.35, "max_change": 0.05}')
GROUP BY 1, 2 ORDER BY 2, 1;
SELECT regress.err($$SELECT * FROM shopml.simulate_price_experiment('{"policies": ["best"]}')$$);
SELECT regress.err($$SELECT * FROM shopml.simulate_price_experiment('{"ladder": []}')$$);
