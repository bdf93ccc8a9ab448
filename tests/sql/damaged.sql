-- Damaged model bytes, for every kind of model: truncated, overwritten in the middle (the
-- checksum notices), or written by a future format version. Always XX001 naming the model,
-- never a crash; the session goes on.
SET client_min_messages = warning;
CREATE TABLE dmg_clicks AS SELECT u, i FROM generate_series(1, 20) u, generate_series(1, 15) i WHERE (u + 2 * i) % 3 = 0;
CREATE TABLE dmg_sales AS SELECT * FROM shopml.sample_demand(10, 0, 20, 3);
CREATE TABLE dmg_ctr AS SELECT i::float8 AS x, (i % 3 = 0) AS y, (ARRAY['a', 'b', 'c'])[1 + i % 3] AS zone FROM generate_series(1, 200) i;
SELECT count(*) AS trained FROM (
  SELECT model_id FROM shopml.train_recommender('dmg_als', 'dmg_clicks', 'u', 'i', options => '{"test_fraction": 0, "factors": 4}')
  UNION ALL SELECT model_id FROM shopml.train_recommender('dmg_knn', 'dmg_clicks', 'u', 'i', options => '{"test_fraction": 0, "method": "item_knn"}')
  UNION ALL SELECT model_id FROM shopml.train_demand('dmg_demand', 'dmg_sales', 'product_id', 'price', 'units', ARRAY['promo'])
  UNION ALL SELECT model_id FROM shopml.train_logistic('dmg_logit', 'dmg_ctr', 'y', ARRAY['x'], '{"test_fraction": 0}')
  UNION ALL SELECT model_id FROM shopml.train_forest('dmg_forest', 'dmg_ctr', 'zone', ARRAY['x'], '{"n_trees": 3, "test_fraction": 0}')) t;
-- Served once, so the decoded models sit in this backend's cache.
SELECT (SELECT count(*) FROM shopml.recommend_for_user('dmg_als', 1, 3)) AS als,
       (SELECT count(*) FROM shopml.similar_items('dmg_knn', 1, 3)) AS knn,
       (SELECT count(*) FROM shopml.optimal_price('dmg_demand', 1, 1.0)) AS demand;
CREATE TEMP TABLE damage (how text, sql text);
INSERT INTO damage VALUES
  ('truncated', $$UPDATE shopml.model SET model_bytes = substr(model_bytes, 1, octet_length(model_bytes) / 2) WHERE model_name = '%s'$$),
  ('overwritten', $$UPDATE shopml.model SET model_bytes = overlay(model_bytes placing '\xdeadbeefdeadbeef'::bytea from 40) WHERE model_name = '%s'$$),
  ('future version', $$UPDATE shopml.model SET model_bytes = overlay(model_bytes placing '\x0900'::bytea from 5) WHERE model_name = '%s'$$),
  ('not a model', $$UPDATE shopml.model SET model_bytes = '\x00'::bytea WHERE model_name = '%s'$$);
CREATE TEMP TABLE serve (model text, sql text);
INSERT INTO serve VALUES
  ('dmg_als', $$SELECT * FROM shopml.recommend_for_user('dmg_als', 1, 3)$$),
  ('dmg_knn', $$SELECT * FROM shopml.similar_items('dmg_knn', 1, 3)$$),
  ('dmg_demand', $$SELECT * FROM shopml.optimal_price('dmg_demand', 1, 1.0)$$),
  ('dmg_logit', $$SELECT shopml.predict_proba('dmg_logit', ARRAY[1.0])$$),
  ('dmg_forest', $$SELECT shopml.predict_label('dmg_forest', ARRAY[1.0])$$);
CREATE TEMP TABLE keep AS SELECT model_name, model_bytes FROM shopml.model WHERE model_name LIKE 'dmg\_%';
CREATE FUNCTION pg_temp.try(model text, damage_sql text, serve_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE out text;
BEGIN
  EXECUTE format(damage_sql, model);
  out := regress.err(serve_sql);
  UPDATE shopml.model m SET model_bytes = k.model_bytes FROM keep k WHERE m.model_name = k.model_name AND m.model_name = model;
  RETURN out;
END $$;
SELECT s.model, d.how, pg_temp.try(s.model, d.sql, s.sql) AS result
FROM serve s, damage d ORDER BY s.model, d.how;
-- Restored bytes serve again.
SELECT (SELECT count(*) FROM shopml.recommend_for_user('dmg_als', 1, 3)) AS als,
       (SELECT count(*) FROM shopml.similar_items('dmg_knn', 1, 3)) AS knn,
       (SELECT count(*) FROM shopml.optimal_price('dmg_demand', 1, 1.0)) AS demand;
SELECT shopml.drop_model(m) FROM unnest(ARRAY['dmg_als', 'dmg_knn', 'dmg_demand']) m;
