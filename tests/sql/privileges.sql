-- Privileges: training reads with the caller's rights (table privileges, row-level security),
-- models belong to the role that trained them, shopml_user reads and trains, shopml_admin
-- manages everyone's models; identifiers never become SQL; transactions leave nothing behind.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_alice, regress_bob, regress_carol, regress_admin;
CREATE ROLE regress_alice IN ROLE shopml_user;
CREATE ROLE regress_bob IN ROLE shopml_user;
CREATE ROLE regress_carol;                       -- not a shopml user
CREATE ROLE regress_admin IN ROLE shopml_admin;
RESET client_min_messages;
CREATE SCHEMA priv;
GRANT USAGE ON SCHEMA priv, regress TO PUBLIC;
GRANT EXECUTE ON FUNCTION regress.err(text) TO PUBLIC;
CREATE TABLE priv.sales (owner name, x float8, y float8);
INSERT INTO priv.sales
SELECT CASE WHEN i % 4 = 0 THEN 'regress_alice' ELSE 'regress_bob' END, i, 2 * i + 1
FROM generate_series(1, 400) i;
-- Alice may see her quarter of the rows only; Bob may not read the table at all.
ALTER TABLE priv.sales ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON priv.sales FOR SELECT USING (owner = current_user);
GRANT SELECT ON priv.sales TO regress_alice;
CREATE TABLE priv.clicks AS SELECT u, i FROM generate_series(1, 30) u, generate_series(1, 20) i WHERE (u * 7 + i) % 3 = 0;
GRANT SELECT ON priv.clicks TO regress_alice, regress_bob, regress_carol;

SET ROLE regress_alice;
-- Row-level security: trained on exactly the 100 rows Alice may see.
SELECT version, n_train + n_test AS rows_used
FROM shopml.train_linear('alice_model', 'priv.sales', 'y', ARRAY['x']);
SELECT n_users, n_interactions FROM shopml.train_recommender('alice_recs', 'priv.clicks', 'u', 'i',
  options => '{"test_fraction": 0, "factors": 4, "regularization": 1}');
SELECT model_name, version, created_by, deployed FROM shopml.models ORDER BY model_id DESC LIMIT 2;

SET ROLE regress_bob;
SELECT regress.err($$SELECT * FROM shopml.train_linear('bob_model', 'priv.sales', 'y')$$) AS no_select_privilege;
-- Bob reads and serves Alice's models ...
SELECT round(shopml.predict('alice_model', ARRAY[10.0])::numeric, 6) AS prediction;
SELECT count(*) AS recommendations FROM shopml.recommend_for_user('alice_recs', 3, 2);
SELECT count(*) AS models_visible FROM shopml.models WHERE model_name LIKE 'alice%';
-- ... but may not retrain, deploy or drop them, even behind the functions' backs.
SELECT regress.err($$SELECT * FROM shopml.train_recommender('alice_recs', 'priv.clicks', 'u', 'i', options => '{"test_fraction": 0}')$$) AS retrain_others;
SELECT regress.err($$SELECT shopml.deploy('alice_model', 1)$$) AS deploy_others;
SELECT regress.err($$SELECT shopml.drop_model('alice_model')$$) AS drop_others;
-- (row-level security hides other roles' rows from DELETE and UPDATE: nothing changes)
WITH d AS (DELETE FROM shopml.model WHERE model_name = 'alice_model' RETURNING 1) SELECT count(*) AS deleted_directly FROM d;
WITH u AS (UPDATE shopml.deployment SET deployed_by = 'regress_bob' WHERE model_name = 'alice_model' RETURNING 1) SELECT count(*) AS redeployed_directly FROM u;
SELECT regress.err($$UPDATE shopml.model SET model_bytes = '\x00' WHERE model_name = 'alice_model'$$) AS overwrite_bytes;
SELECT regress.err($$INSERT INTO shopml.model (model_name, version, algorithm, task, model_bytes, created_by) VALUES ('alice_model', 9, 'linear', 'regression', '\x00', 'regress_alice')$$) AS forge_a_version;
-- Bob's own model is his to manage.
SELECT version FROM shopml.train_recommender('bob_recs', 'priv.clicks', 'u', 'i',
  options => '{"test_fraction": 0, "factors": 4, "regularization": 1}');
SELECT version FROM shopml.train_recommender('bob_recs', 'priv.clicks', 'u', 'i',
  options => '{"test_fraction": 0, "factors": 4, "regularization": 1}');
SELECT shopml.deploy('bob_recs', 1) IS NOT NULL AS deployed_own, shopml.drop_model('bob_recs', 2) AS dropped_own;

SET ROLE regress_carol;
-- Not a shopml user: no models to read, none to write.
SELECT regress.err($$SELECT shopml.predict('alice_model', ARRAY[10.0])$$) AS predict_without_role;
SELECT regress.err($$SELECT * FROM shopml.models$$) AS list_without_role;
SELECT regress.err($$SELECT * FROM shopml.model_metrics$$) AS metrics_without_role;
SELECT regress.err($$SELECT * FROM shopml.train_recommender('carol_recs', 'priv.clicks', 'u', 'i', options => '{"test_fraction": 0}')$$) AS train_without_role;

SET ROLE regress_admin;
-- An admin manages everyone's models.
SELECT shopml.deploy('alice_model', 1) IS NOT NULL AS admin_deploys, shopml.drop_model('bob_recs') AS admin_drops;
RESET ROLE;

-- No injection: column names are quoted identifiers, never SQL.
CREATE TABLE priv.t (x float8, y float8, "we""ird; col" float8);
INSERT INTO priv.t SELECT i, 3 * i, i % 5 FROM generate_series(1, 50) i;
SELECT regress.err($$SELECT * FROM shopml.train_linear('inj', 'priv.t', 'y"; DROP TABLE priv.t; --')$$) AS linear_target;
SELECT regress.err($$SELECT * FROM shopml.train_recommender('inj', 'priv.t', 'x"; DROP TABLE priv.t; --', 'y')$$) AS recommender_user;
SELECT regress.err($$SELECT * FROM shopml.train_demand('inj', 'priv.t', 'x) FROM priv.t; DROP TABLE priv.t; --', 'y', 'y')$$) AS demand_product;
SELECT regress.err($$SELECT * FROM shopml.train_linear('inj', 'priv.t; DROP TABLE priv.t', 'y')$$) AS relation_name;
SELECT count(*) AS rows_still_there FROM priv.t;
-- A strange but real column name works.
SELECT n_train + n_test AS rows_used FROM shopml.train_linear('weird', 'priv.t', 'y', ARRAY['x', 'we"ird; col']);

-- Transactions: a rolled-back training leaves no model; a failed one leaves the deployment.
BEGIN;
SELECT version FROM shopml.train_recommender('tx_recs', 'priv.clicks', 'u', 'i', options => '{"test_fraction": 0, "factors": 4}');
ROLLBACK;
SELECT count(*) AS after_rollback FROM shopml.models WHERE model_name = 'tx_recs';
SELECT version FROM shopml.train_recommender('tx_recs', 'priv.clicks', 'u', 'i', options => '{"test_fraction": 0, "factors": 4, "regularization": 1}');
CREATE TEMP TABLE before_failure AS SELECT * FROM shopml.recommend_for_user('tx_recs', 3, 3);
-- This one fails after reading every row (a negative weight).
CREATE VIEW priv.bad_clicks AS SELECT u, i, CASE WHEN u = 30 THEN -1 ELSE 1 END AS w FROM priv.clicks;
SELECT regress.err($$SELECT * FROM shopml.train_recommender('tx_recs', 'priv.bad_clicks', 'u', 'i', 'w')$$) AS failed_training;
SELECT version, deployed FROM shopml.models WHERE model_name = 'tx_recs';
SELECT count(*) AS same_answers FROM before_failure b JOIN shopml.recommend_for_user('tx_recs', 3, 3) r USING (item_id, rank);

SET client_min_messages = warning;
DROP SCHEMA priv CASCADE;
RESET client_min_messages;
SELECT shopml.drop_model(model_name) FROM (SELECT DISTINCT model_name FROM shopml.model WHERE created_by LIKE 'regress\_%') m;
REVOKE ALL ON SCHEMA regress FROM PUBLIC;
REVOKE ALL ON FUNCTION regress.err(text) FROM PUBLIC;
DROP ROLE regress_alice, regress_bob, regress_carol, regress_admin;
