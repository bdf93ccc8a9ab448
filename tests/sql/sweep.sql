-- Bad-input sweep: every public function called with NULLs, empty arrays, NaN, ±Infinity,
-- huge and negative sizes, wrong key types and unknown names. Each case states the SQLSTATE
-- it must end with ('ok' = a normal answer); the backend must survive all of them.
SET client_min_messages = warning;
CREATE SCHEMA sweep;
CREATE TABLE sweep.t AS SELECT i::float8 AS x, (2 * i + 1)::float8 AS y, (i % 3)::text AS g FROM generate_series(1, 60) i;
CREATE TABLE sweep.nan AS SELECT 'NaN'::float8 AS x, 'Infinity'::float8 AS y FROM generate_series(1, 10);
CREATE TABLE sweep.null_keys AS SELECT NULL::int AS u, i FROM generate_series(1, 10) i;
CREATE TABLE sweep.bad_sales AS SELECT i % 3 AS product_id, 'NaN'::float8 AS price, 'Infinity'::float8 AS units FROM generate_series(1, 10) i;
CREATE TABLE sweep.clicks AS SELECT u, i, 1.0::float8 AS w FROM generate_series(1, 20) u, generate_series(1, 15) i WHERE (u + 2 * i) % 3 = 0;
CREATE TABLE sweep.text_clicks AS SELECT 'u' || u AS u, 'i' || i AS i FROM sweep.clicks;
CREATE TABLE sweep.sales AS SELECT *, DATE '2025-01-06' + 7 * week AS d FROM shopml.sample_demand(20, 0, 20, 1);
SELECT count(*) AS models FROM (
  SELECT model_id FROM shopml.train_linear('sw_lin', 'sweep.t', 'y', ARRAY['x'])
  UNION ALL SELECT model_id FROM shopml.train_recommender('sw_recs', 'sweep.clicks', 'u', 'i', options => '{"test_fraction": 0, "factors": 4}')
  UNION ALL SELECT model_id FROM shopml.train_recommender('sw_text_recs', 'sweep.text_clicks', 'u', 'i', options => '{"test_fraction": 0, "factors": 4}')
  UNION ALL SELECT model_id FROM shopml.train_demand('sw_demand', 'sweep.sales', 'product_id', 'price', 'units', ARRAY['promo'])) m;
CREATE TABLE sweep.cases (id serial, fn text, expected text, q text);
INSERT INTO sweep.cases (fn, expected, q) VALUES
-- train_linear
('train_linear', '22023', $$SELECT * FROM shopml.train_linear(NULL, 'sweep.t', 'y')$$),
('train_linear', '22023', $$SELECT * FROM shopml.train_linear('', 'sweep.t', 'y')$$),
('train_linear', '22023', $$SELECT * FROM shopml.train_linear('m', NULL, 'y')$$),
('train_linear', '22023', $$SELECT * FROM shopml.train_linear('m', 'sweep.t', NULL)$$),
('train_linear', '22023', $$SELECT * FROM shopml.train_linear('m', 'sweep.t', 'y', ARRAY[]::text[])$$),
('train_linear', '22023', $$SELECT * FROM shopml.train_linear('m', 'sweep.t', 'y', ARRAY[NULL]::text[])$$),
('train_linear', '42703', $$SELECT * FROM shopml.train_linear('m', 'sweep.t', 'y', ARRAY['nope'])$$),
('train_linear', '42804', $$SELECT * FROM shopml.train_linear('m', 'sweep.t', 'y', ARRAY['g'])$$),
('train_linear', '22023', $$SELECT * FROM shopml.train_linear('m', 'sweep.t', 'y', options => '{"l2": "NaN"}')$$),
('train_linear', '22023', $$SELECT * FROM shopml.train_linear('m', 'sweep.t', 'y', options => '{"l2": -1e308}')$$),
('train_linear', '22023', $$SELECT * FROM shopml.train_linear('m', 'sweep.t', 'y', options => '{"test_fraction": -0.5}')$$),
('train_linear', '22023', $$SELECT * FROM shopml.train_linear('m', 'sweep.t', 'y', options => '[1, 2]')$$),
('train_linear', '22000', $$SELECT * FROM shopml.train_linear('m', 'sweep.nan', 'y')$$),
('train_linear', '42P01', $$SELECT * FROM shopml.train_linear('m', 'sweep.nope', 'y')$$),
-- predict, coefficients, linear_fit
('predict', '22023', $$SELECT shopml.predict('sw_lin', ARRAY[]::float8[])$$),
('predict', '22023', $$SELECT shopml.predict('sw_lin', ARRAY[1.0, 2.0, 3.0])$$),
('predict', 'ok', $$SELECT shopml.predict('sw_lin', NULL::float8[])$$),
('predict', 'ok', $$SELECT shopml.predict('sw_lin', ARRAY[NULL]::float8[])$$),
('predict', 'ok', $$SELECT shopml.predict('sw_lin', ARRAY['NaN']::float8[])$$),
('predict', 'ok', $$SELECT shopml.predict('sw_lin', ARRAY['Infinity']::float8[])$$),
('predict', 'ok', $$SELECT shopml.predict('sw_lin', ARRAY['-Infinity']::float8[])$$),
('predict', '42704', $$SELECT shopml.predict('nope', ARRAY[1.0])$$),
('predict', '22023', $$SELECT shopml.predict(NULL::text, ARRAY[1.0])$$),
('predict', '42704', $$SELECT shopml.predict(-1::bigint, ARRAY[1.0])$$),
('predict', '22023', $$SELECT shopml.predict(NULL::bigint, ARRAY[1.0])$$),
('predict', '22023', $$SELECT shopml.predict('sw_recs', ARRAY[1.0])$$),
('predict', '22023', $$SELECT shopml.predict('sw_demand', t) FROM sweep.t t LIMIT 1$$),
('predict', 'ok', $$SELECT shopml.predict('sw_lin', t) FROM sweep.t t LIMIT 1$$),
('predict', '42703', $$SELECT shopml.predict('sw_lin', ROW(1.0)) $$),
('coefficients', '42704', $$SELECT * FROM shopml.coefficients('nope')$$),
('coefficients', '42704', $$SELECT * FROM shopml.coefficients('sw_lin', -1)$$),
('coefficients', '22023', $$SELECT * FROM shopml.coefficients('sw_recs')$$),
('coefficients', '22023', $$SELECT * FROM shopml.coefficients(NULL)$$),
('linear_fit', 'ok', $$SELECT shopml.linear_fit(NULL, NULL)$$),
('linear_fit', 'ok', $$SELECT shopml.linear_fit(y, ARRAY['NaN', x]) FROM sweep.t$$),
('linear_fit', '22023', $$SELECT shopml.linear_fit(y, ARRAY[]::float8[]) FROM sweep.t$$),
('linear_fit', '22023', $$SELECT shopml.linear_fit(y, CASE WHEN x < 5 THEN ARRAY[x] ELSE ARRAY[x, x] END) FROM sweep.t$$),
-- deploy, drop_model
('deploy', '22023', $$SELECT shopml.deploy(NULL, 1)$$),
('deploy', '22023', $$SELECT shopml.deploy('sw_lin', NULL)$$),
('deploy', '42704', $$SELECT shopml.deploy('nope', 1)$$),
('deploy', '42704', $$SELECT shopml.deploy('sw_lin', -5)$$),
('drop_model', '22023', $$SELECT shopml.drop_model(NULL)$$),
('drop_model', '42704', $$SELECT shopml.drop_model('nope')$$),
('drop_model', '42704', $$SELECT shopml.drop_model('sw_lin', 2147483647)$$),
-- train_recommender
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender(NULL, 'sweep.clicks', 'u', 'i')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', NULL, 'i')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', NULL)$$),
('train_recommender', '42703', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', 'i', 'nope')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', 'i', options => '{"factors": -1}')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', 'i', options => '{"factors": 1e12}')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', 'i', options => '{"iterations": 0}')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', 'i', options => '{"alpha": "Infinity"}')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', 'i', options => '{"k": 0}')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', 'i', options => '{"test_fraction": 1}')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', 'i', options => '{"neighbors": -3, "method": "item_knn"}')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', 'sweep.clicks', 'u', 'i', options => '"als"')$$),
('train_recommender', '22000', $$SELECT * FROM shopml.train_recommender('m', 'sweep.null_keys', 'u', 'i')$$),
('train_recommender', '22023', $$SELECT * FROM shopml.train_recommender('m', NULL, 'u', 'i')$$),
('train_recommender', '42804', $$SELECT * FROM shopml.train_recommender('m', 'sweep.nan', 'x', 'y')$$),
-- recommend_for_user, similar_items
('recommend_for_user', 'ok', $$SELECT * FROM shopml.recommend_for_user('sw_recs', 1)$$),
('recommend_for_user', 'ok', $$SELECT * FROM shopml.recommend_for_user('sw_recs', NULL::bigint)$$),
('recommend_for_user', 'ok', $$SELECT * FROM shopml.recommend_for_user('sw_recs', -9223372036854775808)$$),
('recommend_for_user', 'ok', $$SELECT * FROM shopml.recommend_for_user('sw_recs', 1, 10000)$$),
('recommend_for_user', '22023', $$SELECT * FROM shopml.recommend_for_user('sw_recs', 1, 2147483647)$$),
('recommend_for_user', '22023', $$SELECT * FROM shopml.recommend_for_user('sw_recs', 1, -1)$$),
('recommend_for_user', '22023', $$SELECT * FROM shopml.recommend_for_user('sw_recs', 1, NULL)$$),
('recommend_for_user', 'ok', $$SELECT * FROM shopml.recommend_for_user('sw_recs', 1, 5, NULL)$$),
('recommend_for_user', 'ok', $$SELECT * FROM shopml.recommend_for_user('sw_recs', 1, 5, true, ARRAY[]::bigint[])$$),
('recommend_for_user', 'ok', $$SELECT * FROM shopml.recommend_for_user('sw_recs', 1, 5, true, ARRAY[NULL, -1]::bigint[])$$),
('recommend_for_user', '22023', $$SELECT * FROM shopml.recommend_for_user('sw_recs', 'u1')$$),
('recommend_for_user', '22023', $$SELECT * FROM shopml.recommend_for_user('sw_text_recs', 1)$$),
('recommend_for_user', 'ok', $$SELECT * FROM shopml.recommend_for_user('sw_text_recs', 'u1', 3, true, ARRAY['i1', NULL, ''])$$),
('recommend_for_user', 'ok', $$SELECT * FROM shopml.recommend_for_user('sw_text_recs', '')$$),
('recommend_for_user', '42704', $$SELECT * FROM shopml.recommend_for_user('nope', 1)$$),
('recommend_for_user', '22023', $$SELECT * FROM shopml.recommend_for_user(NULL, 1)$$),
('recommend_for_user', '22023', $$SELECT * FROM shopml.recommend_for_user('sw_lin', 1)$$),
('recommend_for_user', '22023', $$SELECT * FROM shopml.recommend_for_user('sw_demand', 1)$$),
('similar_items', 'ok', $$SELECT * FROM shopml.similar_items('sw_recs', 1)$$),
('similar_items', 'ok', $$SELECT * FROM shopml.similar_items('sw_recs', NULL::bigint)$$),
('similar_items', 'ok', $$SELECT * FROM shopml.similar_items('sw_recs', 99999)$$),
('similar_items', '22023', $$SELECT * FROM shopml.similar_items('sw_recs', 1, 0)$$),
('similar_items', '22023', $$SELECT * FROM shopml.similar_items('sw_recs', 1, 100000)$$),
('similar_items', '22023', $$SELECT * FROM shopml.similar_items('sw_recs', 'i1')$$),
('similar_items', '22023', $$SELECT * FROM shopml.similar_items('sw_text_recs', 1)$$),
('similar_items', 'ok', $$SELECT * FROM shopml.similar_items('sw_text_recs', 'i1')$$),
('similar_items', '42704', $$SELECT * FROM shopml.similar_items('nope', 1)$$),
-- train_demand, demand_elasticities
('train_demand', '22023', $$SELECT * FROM shopml.train_demand(NULL, 'sweep.sales', 'product_id', 'price', 'units')$$),
('train_demand', '22023', $$SELECT * FROM shopml.train_demand('m', 'sweep.sales', 'product_id', NULL, 'units')$$),
('train_demand', '22023', $$SELECT * FROM shopml.train_demand('m', 'sweep.sales', 'product_id', 'price', 'units', ARRAY[NULL]::text[])$$),
('train_demand', 'ok', $$SELECT * FROM shopml.train_demand('sw_demand2', 'sweep.sales', 'product_id', 'price', 'units', ARRAY[]::text[])$$),
('train_demand', '22023', $$SELECT * FROM shopml.train_demand('m', 'sweep.sales', 'product_id', 'price', 'units', options => '{"max_iterations": 0}')$$),
('train_demand', '22000', $$SELECT * FROM shopml.train_demand('m', 'sweep.bad_sales', 'product_id', 'price', 'units')$$),
('train_demand', '22023', $$SELECT * FROM shopml.train_demand('m', NULL, 'product_id', 'price', 'units')$$),
('train_demand', '42804', $$SELECT * FROM shopml.train_demand('m', 'sweep.nan', 'x', 'x', 'y')$$),
('demand_elasticities', '22023', $$SELECT * FROM shopml.demand_elasticities(NULL)$$),
('demand_elasticities', '42704', $$SELECT * FROM shopml.demand_elasticities('nope')$$),
('demand_elasticities', '22023', $$SELECT * FROM shopml.demand_elasticities('sw_lin')$$),
-- optimal_price, price_curve
('optimal_price', 'ok', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5)$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 'NaN')$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 'Infinity')$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, '-Infinity')$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, NULL)$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5, 'NaN')$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5, NULL, 0)$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5, -1)$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5, 1, 'Infinity')$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', NULL::bigint, 2.5)$$),
('optimal_price', '42704', $$SELECT * FROM shopml.optimal_price('sw_demand', -1, 2.5)$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 'x', 2.5)$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5, options => '{"min_margin": "0.5"}')$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5, options => '{"current_price": -5, "max_change": 0.1}')$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5, options => '{"at": {"promo": "x"}}')$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5, options => '{"at": []}')$$),
('optimal_price', 'ok', $$SELECT * FROM shopml.optimal_price('sw_demand', 1, 2.5, options => NULL)$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price(NULL, 1, 2.5)$$),
('optimal_price', '22023', $$SELECT * FROM shopml.optimal_price('sw_recs', 1, 2.5)$$),
('price_curve', 'ok', $$SELECT * FROM shopml.price_curve('sw_demand', 1, 2.5, 1, 10)$$),
('price_curve', '22023', $$SELECT * FROM shopml.price_curve('sw_demand', 1, 2.5, 1, 10, NULL)$$),
('price_curve', '22023', $$SELECT * FROM shopml.price_curve('sw_demand', 1, 2.5, 1, 10, -5)$$),
('price_curve', '22023', $$SELECT * FROM shopml.price_curve('sw_demand', 1, 2.5, 1, 10, 2147483647)$$),
('price_curve', '22023', $$SELECT * FROM shopml.price_curve('sw_demand', 1, 2.5, 'NaN', 10)$$),
('price_curve', '22023', $$SELECT * FROM shopml.price_curve('sw_demand', 1, 2.5, 1, 'Infinity')$$),
('price_curve', '22023', $$SELECT * FROM shopml.price_curve('sw_demand', 1, 2.5, NULL, 10)$$),
('price_curve', '22023', $$SELECT * FROM shopml.price_curve('sw_demand', 1, 'NaN', 1, 10)$$),
('price_curve', 'ok', $$SELECT * FROM shopml.price_curve('sw_demand', 1, NULL, 1, 10)$$),
('price_curve', '42704', $$SELECT * FROM shopml.price_curve('sw_demand', 12345, 2.5, 1, 10)$$),
('price_curve', '22023', $$SELECT * FROM shopml.price_curve('sw_demand', '1', 2.5, 1, 10)$$),
-- generators
('sample_demand', '22023', $$SELECT count(*) FROM shopml.sample_demand(-1)$$),
('sample_demand', '22023', $$SELECT count(*) FROM shopml.sample_demand(10, 20)$$),
('sample_demand', '22023', $$SELECT count(*) FROM shopml.sample_demand(10, 0, 5)$$),
('sample_demand', '22023', $$SELECT count(*) FROM shopml.sample_demand(2000000)$$),
('sample_demand', 'ok', $$SELECT count(*) FROM shopml.sample_demand(NULL)$$),
('rfm', 'ok', $$SELECT count(*) FROM shopml.rfm('sweep.sales', 'product_id', 'd', 'units')$$),
('rfm', '22023', $$SELECT count(*) FROM shopml.rfm(NULL, 'product_id', 'd', 'units')$$),
('rfm', '22023', $$SELECT count(*) FROM shopml.rfm('sweep.sales', NULL, 'd', 'units')$$),
('rfm', '22023', $$SELECT count(*) FROM shopml.rfm('sweep.sales', 'product_id', 'd', 'units', NULL)$$),
('rfm', '22023', $$SELECT count(*) FROM shopml.rfm('sweep.sales', 'product_id', 'd', 'units', '-infinity')$$),
('rfm', '42804', $$SELECT count(*) FROM shopml.rfm('sweep.sales', 'product_id', 'week', 'units')$$),
('rfm', '22023', $$SELECT count(*) FROM shopml.rfm('sweep.sales', 'product_id', 'd', 'units', options => '[]')$$),
('train_kmeans', 'ok', $$SELECT n_train FROM shopml.train_kmeans('sw_km', 'sweep.t', ARRAY['x', 'y'], 3)$$),
('train_kmeans', '22023', $$SELECT n_train FROM shopml.train_kmeans(NULL, 'sweep.t', ARRAY['x'], 3)$$),
('train_kmeans', '22023', $$SELECT n_train FROM shopml.train_kmeans('m', NULL, ARRAY['x'], 3)$$),
('train_kmeans', '22023', $$SELECT n_train FROM shopml.train_kmeans('m', 'sweep.t', ARRAY[]::text[], 3)$$),
('train_kmeans', '22023', $$SELECT n_train FROM shopml.train_kmeans('m', 'sweep.t', ARRAY['x'], -1)$$),
('train_kmeans', '22023', $$SELECT n_train FROM shopml.train_kmeans('m', 'sweep.t', ARRAY['x'], 2147483647)$$),
('train_kmeans', '22000', $$SELECT n_train FROM shopml.train_kmeans('m', 'sweep.nan', ARRAY['x', 'y'], 2)$$),
('train_kmeans', '22023', $$SELECT n_train FROM shopml.train_kmeans('m', 'sweep.t', ARRAY['x'], 2, '{"tol": "NaN"}')$$),
('segments', 'ok', $$SELECT count(*) FROM shopml.segments('sw_km')$$),
('segments', '22023', $$SELECT count(*) FROM shopml.segments(NULL)$$),
('segments', '42704', $$SELECT count(*) FROM shopml.segments('nope')$$),
('segments', '22023', $$SELECT count(*) FROM shopml.segments('sw_lin')$$),
('predict', 'ok', $$SELECT shopml.predict('sw_km', ARRAY['Infinity', 1.0])$$),
('load_sample_shop', 'ok', $$SELECT * FROM shopml.load_sample_shop(NULL)$$),
('load_sample_shop', '22023', $$SELECT * FROM shopml.load_sample_shop('')$$);
-- Run every case in its own subtransaction.
CREATE TABLE sweep.results AS
SELECT c.id, c.fn, c.expected, c.q,
       CASE WHEN r.out = 'no error' THEN 'ok' ELSE split_part(r.out, ':', 1) END AS got, r.out
FROM sweep.cases c, LATERAL (SELECT regress.err(c.q) AS out) r;
SELECT count(*) AS cases, count(DISTINCT fn) AS functions,
       count(*) FILTER (WHERE got = expected) AS as_expected FROM sweep.results;
-- Any case not as expected, with what it said.
SELECT id, fn, expected, got, left(out, 160) AS message FROM sweep.results WHERE got <> expected ORDER BY id;
-- The backend is alive and every public function was called.
SELECT p.proname AS never_called
FROM pg_proc p WHERE p.pronamespace = 'shopml'::regnamespace AND p.proname NOT LIKE '\_%'
  AND p.proname NOT IN (SELECT fn FROM sweep.cases) ORDER BY 1;
DROP SCHEMA sweep CASCADE;
SELECT shopml.drop_model(m) FROM unnest(ARRAY['sw_lin', 'sw_recs', 'sw_text_recs', 'sw_demand', 'sw_demand2', 'sw_km']) m;
