-- Versions, deployment, rollback, drop, and transactional training.
\set VERBOSITY terse
CREATE TABLE cat_t AS SELECT i::float8 AS x, (2 * i + 1)::float8 AS y FROM generate_series(1, 100) i;
SELECT version FROM shopml.train_linear('cat', 'cat_t', 'y');
SELECT version FROM shopml.train_linear('cat', 'cat_t', 'y', options => '{"l2": 10}');
SELECT version FROM shopml.train_linear('cat', 'cat_t', 'y', options => '{"deploy": false}');
SELECT version, deployed, algorithm, task, source, target, features, params->'l2' AS l2,
       size_bytes > 0 AS has_bytes, created_by = current_user AS mine
FROM shopml.models WHERE model_name = 'cat' ORDER BY version;
-- deploy and roll back
SELECT shopml.deploy('cat', 1) = (SELECT model_id FROM shopml.models WHERE model_name = 'cat' AND version = 1) AS deployed_v1;
SELECT version FROM shopml.models WHERE model_name = 'cat' AND deployed;
SELECT round(shopml.predict('cat', ARRAY[10])::numeric, 6) AS v1_prediction;
SELECT shopml.deploy('cat', 2) IS NOT NULL AS ok;
-- ridge shrinks the slope: above the mean of x the prediction is lower than OLS' 201
SELECT shopml.predict('cat', ARRAY[100]) < 200.99 AS ridge_shrinks;
-- a training rolled back leaves nothing behind
BEGIN;
SELECT version FROM shopml.train_linear('cat', 'cat_t', 'y');
ROLLBACK;
SELECT count(*) AS versions, max(version) AS newest FROM shopml.models WHERE model_name = 'cat';
-- a failed training leaves the previous deployment serving
SELECT version FROM shopml.train_linear('cat', 'cat_t', 'no_such_column');
SELECT version FROM shopml.models WHERE model_name = 'cat' AND deployed;
-- drop one version, then the deployed one (the newest remaining is deployed), then all
SELECT shopml.drop_model('cat', 3) AS dropped;
SELECT shopml.drop_model('cat', 2) AS dropped;
SELECT version, deployed FROM shopml.models WHERE model_name = 'cat' ORDER BY version;
SELECT shopml.drop_model('cat') AS dropped;
SELECT count(*) FROM shopml.models WHERE model_name = 'cat';
SELECT count(*) AS orphans FROM shopml.deployment d WHERE NOT EXISTS (SELECT 1 FROM shopml.model m WHERE m.model_id = d.model_id);
-- names are data, not SQL
SELECT version FROM shopml.train_linear('it''s "odd"; DROP TABLE cat_t; --', 'cat_t', 'y');
SELECT model_name FROM shopml.models WHERE model_name LIKE 'it%';
SELECT count(*) FROM cat_t;
