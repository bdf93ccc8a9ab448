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
\echo 'Why customer 1 gets that prediction (shopml.explain: the average customer, then each input):'
SELECT e.feature, e.value, round(e.contribution::numeric, 2) AS contribution
FROM shop.customer_year c, shopml.explain('next_year_spend', c) e WHERE c.customer_id = 1;

\echo 'The same target with a regression forest (the task chosen from the float target), on the same held-out rows:'
SELECT metrics->>'task' AS task, round((metrics->'test'->>'r2')::numeric, 3) AS test_r2,
       round((metrics->'test'->>'rmse')::numeric, 2) AS test_rmse,
       round((metrics->'test'->>'mae')::numeric, 2) AS test_mae
FROM shopml.train_forest('next_year_spend_forest', 'shop.customer_year', 'spend_y2',
                         ARRAY['orders_y1', 'spend_y1', 'last_order_day_y1'], '{"min_samples_leaf": 20}');
\echo '(The linear model wins here: next-year spend is close to proportional to this year''s, and a tree'
\echo 'cannot extrapolate past the largest spenders it was trained on.)'

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
\echo '== 5. Recommendations from purchases (implicit-feedback ALS, held out by time) =='
CREATE OR REPLACE VIEW shop.purchases AS
SELECT o.customer_id, i.product_id, i.quantity, o.order_date
FROM shop.order_items i JOIN shop.orders o USING (order_id);
SELECT version, n_users, n_items, n_interactions,
       round((metrics->>'ndcg@10')::numeric, 3) AS ndcg_at_10,
       round((metrics->'baseline'->>'ndcg@10')::numeric, 3) AS popularity_ndcg_at_10,
       round((metrics->>'recall@10')::numeric, 3) AS recall_at_10,
       round((metrics->'baseline'->>'recall@10')::numeric, 3) AS popularity_recall_at_10,
       round((metrics->>'coverage')::numeric, 3) AS coverage
FROM shopml.train_recommender('home_recs', 'shop.purchases', 'customer_id', 'product_id',
                              options => '{"time_column": "order_date"}');
\echo 'Does it foresee what customers buy next? Trained on purchases before October 2025 only,'
\echo 'top 5 for three customers, next to whether they bought the product in Oct-Dec 2025:'
CREATE OR REPLACE VIEW shop.purchases_before_q4 AS
SELECT * FROM shop.purchases WHERE order_date < DATE '2025-10-01';
SELECT version FROM shopml.train_recommender('recs_before_q4', 'shop.purchases_before_q4', 'customer_id', 'product_id',
                                             options => '{"test_fraction": 0}') \g /dev/null
SELECT c.customer_id, r.rank, r.item_id AS product_id, p.name AS product, cat.name AS category,
       round(r.score::numeric, 3) AS score,
       EXISTS (SELECT 1 FROM shop.purchases pu WHERE pu.customer_id = c.customer_id
               AND pu.product_id = r.item_id AND pu.order_date >= DATE '2025-10-01') AS bought_in_q4
FROM (VALUES (42), (77), (1234)) c(customer_id),
     LATERAL shopml.recommend_for_user('recs_before_q4', c.customer_id, 5) r
JOIN shop.products p ON p.product_id = r.item_id JOIN shop.categories cat USING (category_id)
ORDER BY c.customer_id, r.rank;
\echo 'Over every customer: share of top-5 suggestions bought in Q4 (new products only), ALS vs best sellers:'
WITH q4 AS (SELECT DISTINCT customer_id, product_id FROM shop.purchases WHERE order_date >= DATE '2025-10-01'),
     als AS (SELECT c.customer_id, r.item_id FROM shop.customers c,
             LATERAL shopml.recommend_for_user('recs_before_q4', c.customer_id, 5) r),
     pop AS (SELECT c.customer_id, r.item_id FROM shop.customers c,
             LATERAL shopml.recommend_for_user('recs_before_q4', -1, 5) r
             WHERE NOT EXISTS (SELECT 1 FROM shop.purchases_before_q4 b
                               WHERE b.customer_id = c.customer_id AND b.product_id = r.item_id))
SELECT 'ALS' AS suggestions, round(avg((q4.product_id IS NOT NULL)::int), 3) AS bought_in_q4 FROM als
  LEFT JOIN q4 ON q4.customer_id = als.customer_id AND q4.product_id = als.item_id
UNION ALL
SELECT 'best sellers not yet bought', round(avg((q4.product_id IS NOT NULL)::int), 3) FROM pop
  LEFT JOIN q4 ON q4.customer_id = pop.customer_id AND q4.product_id = pop.item_id;
\echo 'A new visitor (unknown id) gets the best sellers; in-stock only via candidates:'
SELECT rank, item_id AS product_id, score AS buyers FROM shopml.recommend_for_user('home_recs', -1, 3);
SELECT rank, item_id AS product_id, round(score::numeric, 3) AS score
FROM shopml.recommend_for_user('home_recs', 42, 3, candidates => ARRAY(SELECT product_id FROM shop.products WHERE product_id % 2 = 0));
\echo 'A visitor with products 17 and 23 in the cart (recommend_for_items folds the cart in as a new user):'
SELECT rank, item_id AS product_id, round(score::numeric, 3) AS score
FROM shopml.recommend_for_items('home_recs', ARRAY[17, 23], 3);
\echo '"Customers who bought product 17 also bought" (item-kNN on co-purchases):'
SELECT metrics->'ndcg@10' AS knn_ndcg_at_10
FROM shopml.train_recommender('also_bought', 'shop.purchases', 'customer_id', 'product_id',
                              options => '{"method": "item_knn"}');
SELECT s.rank, s.item_id AS product_id, cat.name AS category, round(s.score::numeric, 3) AS cosine
FROM shopml.similar_items('also_bought', 17, 5) s
JOIN shop.products p ON p.product_id = s.item_id JOIN shop.categories cat USING (category_id)
ORDER BY s.rank;

\echo
\echo '== 6. Prices: demand elasticities from weekly sales, and the price to set =='
CREATE OR REPLACE VIEW shop.sales AS
SELECT w.product_id, w.week_start, w.price, w.units, w.promo, p.category_id
FROM shop.weekly_sales w JOIN shop.products p USING (product_id);
SELECT version, n_products, n_obs,
       round((metrics->>'pooled_elasticity')::numeric, 2) AS pooled_elasticity,
       round((metrics->'controls'->'promo'->>'multiplier')::numeric, 3) AS promo_lift,
       metrics->'shrunk_products' AS shrunk_products
FROM shopml.train_demand('prices', 'shop.sales', 'product_id', 'price', 'units', ARRAY['promo'],
                         '{"group_by": "category_id"}');
\echo 'Estimated against the true (generating) elasticity, by history length:'
SELECT CASE WHEN e.n_obs >= 100 THEN '2 years' ELSE '10 weeks (new)' END AS history, count(*) AS products,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(e.elasticity - p.true_elasticity))::numeric, 3) AS median_abs_error,
       round(avg(e.shrunk::int), 2) AS share_shrunk
FROM shopml.demand_elasticities('prices') e JOIN shop.products p ON p.product_id = e.product_id::bigint
GROUP BY 1 ORDER BY 1;
\echo 'Suggested prices for five products (cost from the catalogue; at most 15 % from the list price, margin >= 30 %):'
SELECT p.product_id, p.name, p.unit_cost, p.list_price, round(o.price::numeric, 2) AS suggested_price,
       round(o.elasticity::numeric, 2) AS elasticity, round(p.true_elasticity::numeric, 2) AS true_elasticity,
       round(o.expected_quantity::numeric, 1) AS units_per_week, round(o.expected_profit::numeric, 2) AS profit_per_week,
       o.binding
FROM shop.products p,
     LATERAL shopml.optimal_price('prices', p.product_id, p.unit_cost::float8,
                                  options => jsonb_build_object('current_price', p.list_price, 'max_change', 0.15, 'min_margin', 0.3)) o
WHERE p.product_id IN (3, 17, 42, 101, 250) ORDER BY p.product_id;
\echo 'The whole catalogue: which rule set the price (NULL = the unconstrained optimum):'
SELECT coalesce(o.binding, '(optimum)') AS binding, count(*) AS products
FROM shop.products p,
     LATERAL shopml.optimal_price('prices', p.product_id, p.unit_cost::float8,
                                  options => jsonb_build_object('current_price', p.list_price, 'max_change', 0.15, 'min_margin', 0.3)) o
GROUP BY 1 ORDER BY 2 DESC;
\echo 'A price curve for product 17 (for a chart):'
SELECT round(price::numeric, 2) AS price, round(expected_quantity::numeric, 1) AS units,
       round(expected_revenue::numeric, 2) AS revenue, round(expected_profit::numeric, 2) AS profit
FROM shopml.price_curve('prices', 17, (SELECT unit_cost::float8 FROM shop.products WHERE product_id = 17),
                        (SELECT list_price * 0.7 FROM shop.products WHERE product_id = 17)::float8,
                        (SELECT list_price * 1.5 FROM shop.products WHERE product_id = 17)::float8, 9);

\echo
\echo 'Where the elasticity is uncertain, test prices while selling: a Thompson-sampling experiment on the'
\echo '40 new products (10 weeks of history each), ladder list price -15 % .. +15 %, margin >= 30 %, 26 weeks:'
CREATE TABLE shop.new_products AS
SELECT p.product_id, p.list_price AS price, p.unit_cost
FROM shop.products p
WHERE p.product_id IN (SELECT product_id FROM shop.weekly_sales GROUP BY 1 HAVING count(*) <= 10);
SELECT experiment_name, n_products, pooled_prior, policy, start_at::date AS first_week, period
FROM shopml.create_price_experiment('new_products', 'prices', 'shop.new_products', 'product_id',
                                    '{"start": "2026-01-05", "period": "1 week", "min_margin": 0.3, "seed": 1}');
-- The market: the generator's demand (base units at the list price, true elasticity, Poisson).
CREATE FUNCTION pg_temp.poisson(lambda float8) RETURNS int LANGUAGE plpgsql AS $$
DECLARE k int := 0; p float8 := 1; l float8 := exp(-lambda);
BEGIN
  LOOP p := p * random(); EXIT WHEN p <= l; k := k + 1; END LOOP;
  RETURN k;
END $$;
SELECT setseed(0.26) \g /dev/null
CREATE TABLE shop.test_week (product_id bigint, week_start date, price float8, units int);
CREATE TABLE shop.test_sales (LIKE shop.test_week);
-- The weekly loop a pg_cron job runs: next_prices -> sell -> record_sales.
DO $$
BEGIN
  FOR w IN 0..25 LOOP
    TRUNCATE shop.test_week;
    INSERT INTO shop.test_week
    SELECT n.product_id, date '2026-01-05' + 7 * w, n.price,
           pg_temp.poisson(p.base_weekly_units * (n.price / p.list_price) ^ p.true_elasticity)
    FROM shopml.next_prices('new_products', date '2026-01-05' + 7 * w) n
    JOIN shop.products p USING (product_id);
    PERFORM shopml.record_sales('new_products', 'shop.test_week', 'product_id', 'week_start', 'price', 'units');
    INSERT INTO shop.test_sales SELECT * FROM shop.test_week;
  END LOOP;
END $$;
\echo 'Expected profit over the 26 weeks under the true demand, against the best ladder price (the oracle):'
WITH truth AS (
  SELECT p.product_id, p.unit_cost::float8 AS c, p.list_price::float8 AS p0, p.base_weekly_units AS b, p.true_elasticity AS e
  FROM shop.products p JOIN shop.new_products USING (product_id)),
profit AS (SELECT t.*, (SELECT max((q - t.c) * t.b * (q / t.p0) ^ t.e)
                          FROM unnest(ARRAY[0.85, 0.9, 0.95, 1, 1.05, 1.1, 1.15]) f, LATERAL (SELECT round((f * t.p0)::numeric, 2)::float8 AS q) r
                         WHERE q >= t.c / 0.7) AS best FROM truth t),
strategies AS (
  SELECT 'thompson experiment (prices it served)' AS strategy,
         sum((s.price - t.c) * t.b * (s.price / t.p0) ^ t.e) AS profit, sum(t.best) AS oracle
  FROM shop.test_sales s JOIN profit t USING (product_id)
  UNION ALL
  SELECT 'fixed list prices', 26 * sum((t.p0 - t.c) * t.b), 26 * sum(t.best) FROM profit t
  UNION ALL
  SELECT 'optimal_price alone (the estimates, no test)',
         26 * sum((o.price - t.c) * t.b * (o.price / t.p0) ^ t.e), 26 * sum(t.best)
  FROM profit t, LATERAL shopml.optimal_price('prices', t.product_id, t.c,
                   options => jsonb_build_object('current_price', t.p0, 'max_change', 0.15, 'min_margin', 0.3)) o)
SELECT strategy, round(profit::numeric) AS expected_profit, round((oracle - profit)::numeric) AS regret,
       round((100 * profit / oracle)::numeric, 1) AS pct_of_oracle
FROM strategies ORDER BY regret;
\echo 'At 2-10 units a week the test costs a little profit while it learns; what it learnt, and the weekly'
\echo 'expected profit from now on of the prices it would adopt against optimal_price''s:'
WITH t AS (SELECT p.product_id, p.unit_cost::float8 AS c, p.list_price::float8 AS p0, p.base_weekly_units AS b, p.true_elasticity AS e
           FROM shop.products p JOIN shop.new_products USING (product_id))
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(d.elasticity - t.e))::numeric, 3) AS model_elasticity_error,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(s.elasticity - t.e))::numeric, 3) AS posterior_elasticity_error,
       round(sum((s.best_price - t.c) * t.b * (s.best_price / t.p0) ^ t.e)::numeric) AS adopted_weekly_profit,
       round(sum((o.price - t.c) * t.b * (o.price / t.p0) ^ t.e)::numeric) AS optimal_price_weekly_profit
FROM t JOIN shopml.experiment_status('new_products') s USING (product_id)
JOIN shopml.demand_elasticities('prices') d ON d.product_id::bigint = t.product_id,
LATERAL shopml.optimal_price('prices', t.product_id, t.c,
          options => jsonb_build_object('current_price', t.p0, 'max_change', 0.15, 'min_margin', 0.3)) o;
\echo 'What the experiment knows now (five products): best price, its probability of being best, elasticity:'
SELECT s.product_id, s.current_price, s.best_price, round(s.prob_best::numeric, 2) AS prob_best,
       round(s.elasticity::numeric, 2) AS elasticity, round(p.true_elasticity::numeric, 2) AS true_elasticity,
       s.units::int AS units_sold
FROM shopml.experiment_status('new_products') s JOIN shop.products p USING (product_id)
ORDER BY s.product_id LIMIT 5;
\echo 'Weekly report (first and last weeks): revenue, profit and the regret the posterior estimates:'
SELECT period AS week, products_served, round(revenue::numeric) AS revenue, round(profit::numeric) AS profit,
       round(regret::numeric, 1) AS estimated_regret
FROM shopml.experiment_report('new_products') WHERE period < 3 OR period > 22 ORDER BY period;

\echo
\echo '== 7. Customer behaviour: RFM segments at the end of 2025 =='
SELECT segment, count(*) AS customers, round(avg(recency_days)) AS avg_recency_days,
       round(avg(frequency), 1) AS avg_orders, round(avg(monetary)::numeric, 2) AS avg_spend
FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', DATE '2025-12-31')
GROUP BY 1 ORDER BY 2 DESC;
\echo 'Against the generator''s hidden customer types:'
SELECT c.true_segment, r.segment, count(*) AS customers
FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', DATE '2025-12-31') r
JOIN shop.customers c ON c.customer_id::text = r.customer_id
WHERE (c.true_segment, r.segment) IN (('loyal', 'Champions'), ('loyal', 'Loyal'), ('churned', 'Lost'),
                                      ('churned', 'Hibernating'), ('churned', 'Cannot Lose Them'), ('churned', 'At Risk'))
GROUP BY 1, 2 ORDER BY 1, 3 DESC;

\echo 'k-means segments of customers by orders, spend and days since the last order (standardised):'
CREATE OR REPLACE VIEW shop.customer_value AS
SELECT customer_id, count(*)::float8 AS orders, sum(total)::float8 AS spend,
       (DATE '2025-12-31' - max(order_date))::float8 AS days_since_last
FROM shop.orders GROUP BY 1;
SELECT version, n_train, round((metrics->>'inertia_per_row')::numeric, 3) AS inertia_per_row, metrics->'sizes' AS sizes
FROM shopml.train_kmeans('customer_segments', 'shop.customer_value', ARRAY['orders', 'spend', 'days_since_last'], 4);
SELECT segment, size, round(max(centroid) FILTER (WHERE feature = 'orders')::numeric, 1) AS orders,
       round(max(centroid) FILTER (WHERE feature = 'spend')::numeric, 0) AS spend,
       round(max(centroid) FILTER (WHERE feature = 'days_since_last')::numeric, 0) AS days_since_last
FROM shopml.segments('customer_segments') GROUP BY 1, 2 ORDER BY 1;
SELECT shopml.predict('customer_segments', v)::int AS segment, c.true_segment, count(*) AS customers
FROM shop.customer_value v JOIN shop.customers c USING (customer_id)
GROUP BY 1, 2 HAVING count(*) >= 50 ORDER BY 1, 3 DESC;

\echo
\echo '== 8. Ad targeting: click-through on the sample shop''s ad impressions =='
CREATE OR REPLACE VIEW shop.ad_training AS
SELECT i.affinity, i.position::float8 AS position, i.is_mobile::float8 AS is_mobile, a.quality, i.clicked
FROM shop.impressions i JOIN shop.ads a USING (ad_id);
SELECT n_train, n_test, round((metrics->>'positive_rate')::numeric, 4) AS ctr,
       round((metrics->>'auc')::numeric, 3) AS test_auc, round((metrics->>'log_loss')::numeric, 4) AS test_log_loss,
       round((metrics->>'calibration_error')::numeric, 4) AS calibration_error
FROM shopml.train_logistic('ad_ctr', 'shop.ad_training', 'clicked');
SELECT feature, round(importance::numeric, 3) AS importance FROM shopml.feature_importance('ad_ctr') ORDER BY 2 DESC;
\echo 'Gradient-boosted trees on the same rows and the same held-out split (100 trees x 31 leaves):'
SELECT 'logistic' AS model, round((metrics->>'auc')::numeric, 4) AS test_auc, round((metrics->>'log_loss')::numeric, 4) AS test_log_loss
FROM shopml.models WHERE model_name = 'ad_ctr'
UNION ALL
SELECT 'boosted trees (' || (metrics->>'best_iteration') || ' iterations kept)', round((metrics->>'auc')::numeric, 4), round((metrics->>'log_loss')::numeric, 4)
FROM shopml.train_boosted('ad_ctr_gbm', 'shop.ad_training', 'clicked', NULL, '{"early_stopping_rounds": 20, "n_trees": 300}');
\echo 'The best five ads for customer 42 on mobile, top slot, by expected revenue per impression (CTR x bid):'
WITH shares AS (
  SELECT p.category_id, count(*)::float8 / sum(count(*)) OVER () AS affinity
  FROM shop.order_items i JOIN shop.orders o USING (order_id) JOIN shop.products p USING (product_id)
  WHERE o.customer_id = 42 GROUP BY 1),
ranked AS (
  SELECT a.ad_id, p.name AS product, c.name AS category, a.bid,
         shopml.predict_proba('ad_ctr', ARRAY[coalesce(s.affinity, 0), 1, 1, a.quality]) AS ctr
  FROM shop.ads a JOIN shop.products p USING (product_id) JOIN shop.categories c USING (category_id)
  LEFT JOIN shares s USING (category_id))
SELECT ad_id, product, category, bid, round(ctr::numeric, 4) AS predicted_ctr,
       round((ctr * bid)::numeric, 4) AS expected_revenue_per_impression
FROM ranked ORDER BY ctr * bid DESC LIMIT 5;

\echo
\echo '== 9. Churn =='
\echo 'A churn model: RFM as of 2025-06-30, label = no order in the second half of 2025 (logistic):'
CREATE OR REPLACE VIEW shop.churn_h1 AS
SELECT r.recency_days::float8 AS recency_days, r.frequency::float8 AS frequency, r.monetary, r.segment,
       NOT EXISTS (SELECT 1 FROM shop.orders o WHERE o.customer_id::text = r.customer_id
                   AND o.order_date > DATE '2025-06-30') AS churned
FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', DATE '2025-06-30') r;
SELECT n_train, n_test, round((metrics->>'auc')::numeric, 3) AS test_auc,
       round((metrics->>'accuracy')::numeric, 3) AS test_accuracy,
       round((metrics->>'positive_rate')::numeric, 3) AS churn_rate,
       round((metrics->>'calibration_error')::numeric, 3) AS calibration_error
FROM shopml.train_logistic('churn', 'shop.churn_h1', 'churned');
SELECT feature, round(importance::numeric, 3) AS importance FROM shopml.feature_importance('churn') ORDER BY 2 DESC;
\echo 'The same label with the RFM segment as a text feature (one-hot encoded, stored with the model), a random forest and boosted trees:'
SELECT 'logistic, recency/frequency/monetary' AS model, round((metrics->>'auc')::numeric, 3) AS test_auc
FROM shopml.models WHERE model_name = 'churn'
UNION ALL
SELECT 'logistic, + segment (one-hot)', round((metrics->>'auc')::numeric, 3)
FROM shopml.train_logistic('churn_segment', 'shop.churn_h1', 'churned', ARRAY['recency_days', 'frequency', 'monetary', 'segment'])
UNION ALL
SELECT 'random forest (200 trees, leaves of >= 10)', round((metrics->>'auc')::numeric, 3)
FROM shopml.train_forest('churn_forest', 'shop.churn_h1', 'churned', ARRAY['recency_days', 'frequency', 'monetary', 'segment'],
                         '{"n_trees": 200, "min_samples_leaf": 10}')
UNION ALL
SELECT 'boosted trees (monotone: more orders never raise the risk)', round((metrics->>'auc')::numeric, 3)
FROM shopml.train_boosted('churn_gbm', 'shop.churn_h1', 'churned', ARRAY['recency_days', 'frequency', 'monetary', 'segment'],
                          '{"n_trees": 200, "learning_rate": 0.05, "num_leaves": 15, "monotone": {"frequency": -1}}');
SELECT feature, round(importance::numeric, 3) AS forest_importance FROM shopml.feature_importance('churn_forest') ORDER BY 2 DESC;
\echo 'Customers most at risk today (forest probability on RFM as of 2025-12-31):'
SELECT r.customer_id, r.segment, r.recency_days, r.frequency, round(r.monetary::numeric, 0) AS monetary,
       round(shopml.predict_proba('churn_forest', r)::numeric, 3) AS p_churn
FROM (SELECT customer_id, segment, recency_days::float8 AS recency_days, frequency::float8 AS frequency, monetary
      FROM shopml.rfm('shop.orders', 'customer_id', 'order_date', 'total', DATE '2025-12-31')) r
ORDER BY p_churn DESC, r.customer_id LIMIT 5;

\echo
\echo '== 10. Product search: ranking a query''s results from clicks and purchases (boosted lambdarank) =='
\echo 'Features per shown product, computed in SQL from the shop: same category as the query, the'
\echo 'customer''s share of purchases in the product''s category, units sold, price against the page''s'
\echo 'median, bought before. Relevance: 0 shown, 1 clicked, 2 bought.'
CREATE OR REPLACE VIEW shop.search_training AS
WITH shares AS (
    SELECT o.customer_id, p.category_id,
           count(*)::float8 / sum(count(*)) OVER (PARTITION BY o.customer_id) AS share
    FROM shop.order_items i JOIN shop.orders o USING (order_id) JOIN shop.products p USING (product_id)
    GROUP BY 1, 2),
sold AS (SELECT product_id, sum(units) AS units FROM shop.weekly_sales GROUP BY 1),
pages AS (SELECT r.session_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY p.list_price::float8) AS median_price
          FROM shop.search_results r JOIN shop.products p USING (product_id) GROUP BY 1),
bought AS (SELECT DISTINCT o.customer_id, i.product_id FROM shop.order_items i JOIN shop.orders o USING (order_id))
SELECT r.session_id, s.searched_on, r.product_id, r.shown_position,
       r.clicked::int + r.purchased::int AS relevance,
       (p.category_id = s.category_id)::int AS same_category,
       coalesce(sh.share, 0) AS affinity,
       ln(1 + coalesce(sold.units, 0)::float8) AS log_units_sold,
       ln(p.list_price::float8 / pg.median_price) AS log_relative_price,
       (b.product_id IS NOT NULL)::int AS bought_before
FROM shop.search_results r
JOIN shop.search_sessions s USING (session_id)
JOIN shop.products p USING (product_id)
JOIN pages pg USING (session_id)
LEFT JOIN shares sh ON sh.customer_id = s.customer_id AND sh.category_id = p.category_id
LEFT JOIN sold USING (product_id)
LEFT JOIN bought b ON b.customer_id = s.customer_id AND b.product_id = r.product_id;
\echo 'Trained on searches before October 2025 (held out: whole sessions):'
CREATE OR REPLACE VIEW shop.search_before_q4 AS SELECT * FROM shop.search_training WHERE searched_on < DATE '2025-10-01';
SELECT n_train, n_test, metrics->>'objective' AS objective, metrics->>'groups' AS held_out_sessions,
       round((metrics->>'ndcg@10')::numeric, 3) AS held_out_ndcg_at_10, round((metrics->>'map@10')::numeric, 3) AS held_out_map_at_10
FROM shopml.train_boosted('search_rank', 'shop.search_before_q4', 'relevance',
                          ARRAY['same_category', 'affinity', 'log_units_sold', 'log_relative_price', 'bought_before'],
                          '{"objective": "lambdarank", "group_column": "session_id", "n_trees": 150, "learning_rate": 0.05, "num_leaves": 15}');
\echo 'NDCG@10 on the searches of Oct-Dec 2025 (not trained on), recomputed in SQL for three orders of the same pages'
\echo '(ties broken against the ranking):'
WITH scored AS (
    SELECT session_id, relevance, shopml.predict('search_rank', t) AS by_model,
           -shown_position::float8 AS as_shown, log_units_sold AS best_sellers
    FROM shop.search_training t WHERE searched_on >= DATE '2025-10-01'),
ranked AS (
    SELECT o.ranking, s.session_id, s.relevance,
           row_number() OVER (PARTITION BY o.ranking, s.session_id ORDER BY o.score DESC, s.relevance) AS r,
           row_number() OVER (PARTITION BY o.ranking, s.session_id ORDER BY s.relevance DESC) AS ideal
    FROM scored s, LATERAL (VALUES ('shopml lambdarank', s.by_model), ('as shown (random order)', s.as_shown),
                                   ('best sellers first', s.best_sellers)) o(ranking, score)),
per AS (
    SELECT ranking, session_id,
           sum((2 ^ relevance - 1) / (ln(r + 1) / ln(2))) FILTER (WHERE r <= 10) AS dcg,
           sum((2 ^ relevance - 1) / (ln(ideal + 1) / ln(2))) FILTER (WHERE ideal <= 10) AS idcg
    FROM ranked GROUP BY 1, 2)
SELECT ranking, count(*) AS sessions, round(avg(CASE WHEN idcg > 0 THEN dcg / idcg ELSE 1 END)::numeric, 3) AS ndcg_at_10
FROM per GROUP BY 1 ORDER BY 3 DESC;
\echo 'The first search of December 2025, re-ranked by the model (its top 5):'
SELECT q.name AS query, p.name AS product, c.name AS category, round(shopml.predict('search_rank', t)::numeric, 3) AS score,
       t.shown_position AS was_shown_at, CASE t.relevance WHEN 2 THEN 'bought' WHEN 1 THEN 'clicked' ELSE '' END AS outcome
FROM shop.search_training t
JOIN shop.products p USING (product_id) JOIN shop.categories c ON c.category_id = p.category_id
JOIN shop.search_sessions s USING (session_id) JOIN shop.categories q ON q.category_id = s.category_id
WHERE t.session_id = (SELECT min(session_id) FROM shop.search_sessions WHERE searched_on >= DATE '2025-12-01')
ORDER BY 4 DESC LIMIT 5;

\echo
\echo '== 11. The catalog =='
SELECT model_name, version, algorithm, deployed, n_train, n_test, size_bytes FROM shopml.models ORDER BY model_id;
