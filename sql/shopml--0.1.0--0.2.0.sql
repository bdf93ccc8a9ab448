-- shopml 0.1.0 -> 0.2.0: written by scripts/make-upgrade; do not edit by hand.
\echo Use "ALTER EXTENSION shopml UPDATE" to load this file. \quit

-- sql/privileges.sql
-- Who may do what with models.
--
--   shopml_user   may train models (new names, or new versions of names it owns), read every
--                 model (shopml.models, predict, recommend, price), and deploy or drop the
--                 models it owns. A model name is owned by the role that trained its versions.
--   shopml_admin  a shopml_user that may also deploy and drop anyone's models.
--
-- Training reads the source with the caller's rights (no function is SECURITY DEFINER), so
-- table privileges and row-level security on the training data apply as for any query.
-- The roles are cluster-wide and are kept if the extension is dropped.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'shopml_user') THEN
        CREATE ROLE shopml_user NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'shopml_admin') THEN
        CREATE ROLE shopml_admin NOLOGIN IN ROLE shopml_user;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA shopml TO PUBLIC;
REVOKE ALL ON shopml.model, shopml.deployment, shopml.models FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON shopml.model TO shopml_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON shopml.deployment TO shopml_user;
GRANT USAGE ON SEQUENCE shopml.model_model_id_seq TO shopml_user;
GRANT SELECT ON shopml.models TO shopml_user;
-- The view reads the tables with the caller's rights, so their policies apply through it.
ALTER VIEW shopml.models SET (security_invoker = true);

-- May the current role deploy, drop or add versions to this model name?
CREATE FUNCTION shopml._may_manage(p_model_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT pg_catalog.pg_has_role(current_user, 'shopml_admin', 'MEMBER')
      OR NOT EXISTS (SELECT 1 FROM shopml.model m
                      WHERE m.model_name = p_model_name AND m.created_by <> current_user)
$$;
COMMENT ON FUNCTION shopml._may_manage(text) IS
  'Whether the current role owns this model name (trained all its versions) or is a member of shopml_admin.';

ALTER TABLE shopml.model ENABLE ROW LEVEL SECURITY;
CREATE POLICY model_read ON shopml.model FOR SELECT TO shopml_user USING (true);
CREATE POLICY model_train ON shopml.model FOR INSERT TO shopml_user
  WITH CHECK (created_by = current_user AND shopml._may_manage(model_name));
CREATE POLICY model_drop ON shopml.model FOR DELETE TO shopml_user
  USING (shopml._may_manage(model_name));

ALTER TABLE shopml.deployment ENABLE ROW LEVEL SECURITY;
CREATE POLICY deployment_read ON shopml.deployment FOR SELECT TO shopml_user USING (true);
CREATE POLICY deployment_manage ON shopml.deployment FOR ALL TO shopml_user
  USING (shopml._may_manage(model_name)) WITH CHECK (shopml._may_manage(model_name));

-- sql/catalog_functions.sql
-- shopml catalog functions: saving, deploying and dropping models. CREATE OR REPLACE, so the
-- upgrade scripts include this file as it is.

-- Stores a trained model as the next version of its name (and deploys it unless told not to).
-- Concurrent trainings of one name serialise on an advisory lock, so versions never collide.
CREATE OR REPLACE FUNCTION shopml._save_model(
    p_model_name text, p_algorithm text, p_task text, p_source text, p_target text,
    p_features text[], p_params jsonb, p_metrics jsonb, p_n_train bigint, p_n_test bigint,
    p_bytes bytea, p_deploy boolean)
RETURNS TABLE (model_id bigint, version int)
LANGUAGE plpgsql AS $$
DECLARE
    v_version int;
    v_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('shopml.model:' || p_model_name, 0));
    IF NOT shopml._may_manage(p_model_name) THEN
        RAISE EXCEPTION 'model "%" belongs to another role', p_model_name
          USING ERRCODE = '42501',
                HINT = 'Train under another name, or ask the owner or a member of shopml_admin.';
    END IF;
    SELECT coalesce(max(m.version), 0) + 1 INTO v_version
      FROM shopml.model m WHERE m.model_name = p_model_name;
    INSERT INTO shopml.model (model_name, version, algorithm, task, source, target, features,
                              params, metrics, n_train, n_test, model_bytes)
    VALUES (p_model_name, v_version, p_algorithm, p_task, p_source, p_target, p_features,
            p_params, p_metrics, p_n_train, p_n_test, p_bytes)
    RETURNING shopml.model.model_id INTO v_id;
    IF p_deploy OR NOT EXISTS (SELECT 1 FROM shopml.deployment d WHERE d.model_name = p_model_name) THEN
        INSERT INTO shopml.deployment AS d (model_name, model_id) VALUES (p_model_name, v_id)
        ON CONFLICT (model_name) DO UPDATE
           SET model_id = excluded.model_id, deployed_at = now(), deployed_by = current_user;
    END IF;
    RETURN QUERY SELECT v_id, v_version;
END
$$;

CREATE OR REPLACE FUNCTION shopml.deploy(model_name text, version int)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF deploy.model_name IS NULL OR deploy.version IS NULL THEN
        RAISE EXCEPTION 'model_name and version must not be NULL' USING ERRCODE = '22023';
    END IF;
    SELECT m.model_id INTO v_id FROM shopml.model m
     WHERE m.model_name = deploy.model_name AND m.version = deploy.version;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'model "%" has no version %', deploy.model_name, deploy.version
          USING ERRCODE = '42704',
                HINT = 'SELECT version FROM shopml.models WHERE model_name = ... lists the versions.';
    END IF;
    IF NOT shopml._may_manage(deploy.model_name) THEN
        RAISE EXCEPTION 'model "%" belongs to another role: only its owner or a member of shopml_admin may deploy it', deploy.model_name
          USING ERRCODE = '42501';
    END IF;
    INSERT INTO shopml.deployment AS d (model_name, model_id) VALUES (deploy.model_name, v_id)
    ON CONFLICT ON CONSTRAINT deployment_pkey DO UPDATE
       SET model_id = excluded.model_id, deployed_at = now(), deployed_by = current_user;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION shopml.deploy(text, int) IS
  'Makes this version of the model the one that prediction uses (also a rollback: deploy an older version); returns its model_id. The next statement sees it.';

CREATE OR REPLACE FUNCTION shopml.drop_model(model_name text, version int DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
    v_deployed bigint;
BEGIN
    IF drop_model.model_name IS NULL THEN
        RAISE EXCEPTION 'model_name must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF NOT shopml._may_manage(drop_model.model_name) THEN
        RAISE EXCEPTION 'model "%" belongs to another role: only its owner or a member of shopml_admin may drop it', drop_model.model_name
          USING ERRCODE = '42501';
    END IF;
    SELECT d.model_id INTO v_deployed FROM shopml.deployment d WHERE d.model_name = drop_model.model_name;
    DELETE FROM shopml.model m
     WHERE m.model_name = drop_model.model_name
       AND (drop_model.version IS NULL OR m.version = drop_model.version);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count = 0 THEN
        RAISE EXCEPTION 'model "%"%does not exist', drop_model.model_name,
              CASE WHEN drop_model.version IS NULL THEN ' ' ELSE format(' version %s ', drop_model.version) END
          USING ERRCODE = '42704';
    END IF;
    -- Dropping the deployed version falls back to the newest remaining one.
    IF v_deployed IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shopml.deployment d WHERE d.model_name = drop_model.model_name) THEN
        INSERT INTO shopml.deployment (model_name, model_id)
        SELECT m.model_name, m.model_id FROM shopml.model m
         WHERE m.model_name = drop_model.model_name
         ORDER BY m.version DESC LIMIT 1;
    END IF;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION shopml.drop_model(text, int) IS
  'Deletes one version of a model, or every version when version is NULL; returns how many were deleted. Dropping the deployed version deploys the newest remaining one.';

-- The deployed model id of a name and its row version (xmin/ctid: changes with any UPDATE of
-- the row, even within one transaction), so backends notice rewritten bytes.
CREATE OR REPLACE FUNCTION shopml._deployed(p_model_name text, OUT model_id bigint, OUT row_version text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT m.model_id, m.xmin::text || '/' || m.ctid::text FROM shopml.deployment d JOIN shopml.model m USING (model_id)
   WHERE d.model_name = p_model_name
$$;

-- sql/views.sql
-- Views for BI tools: plain columns a dashboard can chart without parsing JSON.

-- One row per model version and numeric metric. Nested metrics are flattened with dots:
-- 'test.r2' (linear), 'baseline.ndcg@10' (recommenders), 'controls.promo.multiplier' (demand).
CREATE VIEW shopml.model_metrics WITH (security_invoker = true) AS
WITH RECURSIVE flat (model_id, path, value) AS (
    SELECT m.model_id, e.key, e.value
      FROM shopml.model m, jsonb_each(m.metrics) e
    UNION ALL
    SELECT f.model_id, f.path || '.' || e.key, e.value
      FROM flat f, jsonb_each(f.value) e
     WHERE jsonb_typeof(f.value) = 'object'
)
SELECT m.model_id, m.model_name, m.version, m.algorithm, m.task,
       (d.model_id IS NOT NULL) AS deployed, m.created_at,
       f.path AS metric, (f.value #>> '{}')::float8 AS value
FROM flat f
JOIN shopml.model m USING (model_id)
LEFT JOIN shopml.deployment d ON d.model_id = m.model_id
WHERE jsonb_typeof(f.value) = 'number';
COMMENT ON VIEW shopml.model_metrics IS
  'Every numeric metric of every model version, one row each (metric names flattened with dots, e.g. test.r2, baseline.ndcg@10), for dashboards.';
REVOKE ALL ON shopml.model_metrics FROM PUBLIC;
GRANT SELECT ON shopml.model_metrics TO shopml_user;

-- The deployed version of each model name with its headline figures.
CREATE VIEW shopml.deployed_models WITH (security_invoker = true) AS
SELECT d.model_name, m.version, m.algorithm, m.task, m.model_id, d.deployed_at, d.deployed_by,
       m.created_by AS owner, m.n_train, m.n_test, m.source
FROM shopml.deployment d JOIN shopml.model m USING (model_id);
COMMENT ON VIEW shopml.deployed_models IS
  'The version each model name serves, who deployed it and when.';
REVOKE ALL ON shopml.deployed_models FROM PUBLIC;
GRANT SELECT ON shopml.deployed_models TO shopml_user;

-- requires:
--   catalog


CREATE OR REPLACE FUNCTION shopml._predict_support(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_predict_support' LANGUAGE C STRICT;
CREATE OR REPLACE FUNCTION shopml._predict_args(model_name text, VARIADIC "any") RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_name_args' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION shopml._predict_args(text, "any") IS
  'Internal: what predict(model_name, ARRAY[x1, ...]) is rewritten to at plan time (no array per row).';
CREATE OR REPLACE FUNCTION shopml._predict_args(model_id bigint, VARIADIC "any") RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_id_args' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION shopml._predict_args(bigint, "any") IS
  'Internal: what predict(model_id, ARRAY[x1, ...]) is rewritten to at plan time (no array per row).';
CREATE OR REPLACE FUNCTION shopml.predict(model_name text, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_name_array' LANGUAGE C STABLE PARALLEL SAFE
    SUPPORT shopml._predict_support;
COMMENT ON FUNCTION shopml.predict(text, float8[]) IS
  'Prediction of the deployed version of a model for one row of features (in the order of shopml.models.features). NULL features give NULL.';
CREATE OR REPLACE FUNCTION shopml.predict(model_id bigint, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_id_array' LANGUAGE C STABLE PARALLEL SAFE
    SUPPORT shopml._predict_support;
COMMENT ON FUNCTION shopml.predict(bigint, float8[]) IS
  'Prediction of one specific model version (by model_id) for one row of features.';
CREATE OR REPLACE FUNCTION shopml.predict(model_name text, "row" record) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_name_row' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
CREATE OR REPLACE FUNCTION shopml.predict_proba(model_name text, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_proba_name_array' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION shopml.predict_proba(text, float8[]) IS
  'Probability of the positive class from the deployed version of a classifier, for one row of features (in model order). NULL features give NULL.';
CREATE OR REPLACE FUNCTION shopml.predict_proba(model_name text, "row" record) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_proba_name_row' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION shopml.predict_proba(text, record) IS
  'Probability of the positive class for a table row (features matched by column name).';
CREATE OR REPLACE FUNCTION shopml.predict_label(model_name text, features float8[]) RETURNS text
    AS 'MODULE_PATHNAME', 'shopml_predict_label_name_array' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION shopml.predict_label(text, float8[]) IS
  'Predicted label (as text) of the deployed version of a classifier, or segment of a k-means model, for one row of numeric features in model order.';
CREATE OR REPLACE FUNCTION shopml.predict_label(model_name text, "row" record) RETURNS text
    AS 'MODULE_PATHNAME', 'shopml_predict_label_name_row' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION shopml.predict_label(text, record) IS
  'Predicted label (as text) of a classifier, or segment of a k-means model, for a table row: features matched by column name and prepared as in training (unseen categories are not errors).';
COMMENT ON FUNCTION shopml.predict(text, record) IS
  'Prediction of the deployed version of a model for a table row: features are matched by column name, and the group column picks the sub-model of a grouped model (an unseen group gives NULL).';

-- shopml::sample_shop::_sample_ads
CREATE OR REPLACE FUNCTION "_sample_ads"(
	"seed" bigint /* i64 */
) RETURNS TABLE (
	"ad_id" bigint,  /* i64 */
	"product_id" bigint,  /* i64 */
	"bid" double precision,  /* f64 */
	"quality" double precision  /* f64 */
)
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_sample_ads_wrapper';

-- shopml::sample_shop::_sample_impressions
CREATE OR REPLACE FUNCTION "_sample_impressions"(
	"seed" bigint /* i64 */
) RETURNS TABLE (
	"impression_id" bigint,  /* i64 */
	"customer_id" bigint,  /* i64 */
	"ad_id" bigint,  /* i64 */
	"position" INT,  /* i32 */
	"is_mobile" INT,  /* i32 */
	"affinity" double precision,  /* f64 */
	"clicked" bool  /* bool */
)
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_sample_impressions_wrapper';

-- shopml::linear::coefficients
CREATE OR REPLACE FUNCTION "coefficients"(
	"model_name" TEXT, /* Option < & str > */
	"version" INT DEFAULT NULL /* Option < i32 > */
) RETURNS TABLE (
	"group_key" TEXT,  /* Option < String > */
	"feature" TEXT,  /* String */
	"coefficient" double precision,  /* Option < f64 > */
	"std_error" double precision,  /* Option < f64 > */
	"t_stat" double precision,  /* Option < f64 > */
	"p_value" double precision  /* Option < f64 > */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'coefficients_wrapper';

-- shopml::demand::demand_elasticities
CREATE OR REPLACE FUNCTION "demand_elasticities"(
	"model_name" TEXT /* Option < & str > */
) RETURNS TABLE (
	"product_id" TEXT,  /* String */
	"elasticity" double precision,  /* f64 */
	"std_error" double precision,  /* f64 */
	"n_obs" bigint,  /* i64 */
	"shrunk" bool,  /* bool */
	"raw_elasticity" double precision,  /* Option < f64 > */
	"raw_std_error" double precision,  /* Option < f64 > */
	"total_units" double precision,  /* f64 */
	"distinct_prices" INT,  /* i32 */
	"group_key" TEXT  /* Option < String > */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'demand_elasticities_wrapper';

-- shopml::logistic::feature_importance
CREATE OR REPLACE FUNCTION "feature_importance"(
	"model_name" TEXT /* Option < & str > */
) RETURNS TABLE (
	"feature" TEXT,  /* String */
	"importance" double precision  /* f64 */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'feature_importance_wrapper';

-- shopml::demand::optimal_price
CREATE OR REPLACE FUNCTION "optimal_price"(
	"model_name" TEXT, /* Option < & str > */
	"product_id" bigint, /* Option < i64 > */
	"unit_cost" double precision, /* Option < f64 > */
	"min_price" double precision DEFAULT NULL, /* Option < f64 > */
	"max_price" double precision DEFAULT NULL, /* Option < f64 > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"price" double precision,  /* f64 */
	"expected_quantity" double precision,  /* f64 */
	"expected_revenue" double precision,  /* f64 */
	"expected_profit" double precision,  /* Option < f64 > */
	"elasticity" double precision,  /* f64 */
	"binding" TEXT  /* Option < String > */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'optimal_price_wrapper';

-- shopml::demand::optimal_price
CREATE OR REPLACE FUNCTION "optimal_price"(
	"model_name" TEXT, /* Option < & str > */
	"product_id" TEXT, /* Option < & str > */
	"unit_cost" double precision, /* Option < f64 > */
	"min_price" double precision DEFAULT NULL, /* Option < f64 > */
	"max_price" double precision DEFAULT NULL, /* Option < f64 > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"price" double precision,  /* f64 */
	"expected_quantity" double precision,  /* f64 */
	"expected_revenue" double precision,  /* f64 */
	"expected_profit" double precision,  /* Option < f64 > */
	"elasticity" double precision,  /* f64 */
	"binding" TEXT  /* Option < String > */
)
STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'optimal_price_text_wrapper';

-- shopml::demand::price_curve
CREATE OR REPLACE FUNCTION "price_curve"(
	"model_name" TEXT, /* Option < & str > */
	"product_id" bigint, /* Option < i64 > */
	"unit_cost" double precision, /* Option < f64 > */
	"from_price" double precision, /* Option < f64 > */
	"to_price" double precision, /* Option < f64 > */
	"steps" INT DEFAULT 20, /* Option < i32 > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"price" double precision,  /* f64 */
	"expected_quantity" double precision,  /* f64 */
	"expected_revenue" double precision,  /* f64 */
	"expected_profit" double precision  /* Option < f64 > */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'price_curve_wrapper';

-- shopml::demand::price_curve
CREATE OR REPLACE FUNCTION "price_curve"(
	"model_name" TEXT, /* Option < & str > */
	"product_id" TEXT, /* Option < & str > */
	"unit_cost" double precision, /* Option < f64 > */
	"from_price" double precision, /* Option < f64 > */
	"to_price" double precision, /* Option < f64 > */
	"steps" INT DEFAULT 20, /* Option < i32 > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"price" double precision,  /* f64 */
	"expected_quantity" double precision,  /* f64 */
	"expected_revenue" double precision,  /* f64 */
	"expected_profit" double precision  /* Option < f64 > */
)
STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'price_curve_text_wrapper';

-- shopml::recommend::recommend_for_user
CREATE OR REPLACE FUNCTION "recommend_for_user"(
	"model_name" TEXT, /* Option < & str > */
	"user_id" bigint, /* Option < i64 > */
	"k" INT DEFAULT 10, /* Option < i32 > */
	"exclude_seen" bool DEFAULT true, /* Option < bool > */
	"candidates" bigint[] DEFAULT NULL /* :: std :: option :: Option < Vec < Option < i64 > > > */
) RETURNS TABLE (
	"item_id" bigint,  /* i64 */
	"score" double precision,  /* f64 */
	"rank" INT  /* i32 */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'recommend_for_user_wrapper';

-- shopml::recommend::recommend_for_user
CREATE OR REPLACE FUNCTION "recommend_for_user"(
	"model_name" TEXT, /* Option < & str > */
	"user_id" TEXT, /* Option < & str > */
	"k" INT DEFAULT 10, /* Option < i32 > */
	"exclude_seen" bool DEFAULT true, /* Option < bool > */
	"candidates" TEXT[] DEFAULT NULL /* :: std :: option :: Option < Vec < Option < String > > > */
) RETURNS TABLE (
	"item_id" TEXT,  /* String */
	"score" double precision,  /* f64 */
	"rank" INT  /* i32 */
)
STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'recommend_for_user_text_wrapper';

-- shopml::rfm::rfm
CREATE OR REPLACE FUNCTION "rfm"(
	"relation" regclass, /* Option < PgRelation > */
	"customer_column" TEXT, /* Option < & str > */
	"date_column" TEXT, /* Option < & str > */
	"amount_column" TEXT, /* Option < & str > */
	"as_of" date DEFAULT current_date, /* Option < pgrx :: datum :: Date > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"customer_id" TEXT,  /* String */
	"recency_days" INT,  /* i32 */
	"frequency" bigint,  /* i64 */
	"monetary" double precision,  /* f64 */
	"r_score" INT,  /* i32 */
	"f_score" INT,  /* i32 */
	"m_score" INT,  /* i32 */
	"segment" TEXT  /* String */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'rfm_wrapper';

-- shopml::demand::sample_demand
CREATE OR REPLACE FUNCTION "sample_demand"(
	"n_products" INT DEFAULT 500, /* i32 */
	"n_new" INT DEFAULT 100, /* i32 */
	"weeks" INT DEFAULT 104, /* i32 */
	"seed" bigint DEFAULT 42 /* i64 */
) RETURNS TABLE (
	"product_id" bigint,  /* i64 */
	"week" INT,  /* i32 */
	"price" double precision,  /* f64 */
	"promo" bool,  /* bool */
	"units" bigint,  /* i64 */
	"true_elasticity" double precision,  /* f64 */
	"unit_cost" double precision,  /* f64 */
	"list_price" double precision  /* f64 */
)
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sample_demand_wrapper';

-- shopml::kmeans::segments
CREATE OR REPLACE FUNCTION "segments"(
	"model_name" TEXT /* Option < & str > */
) RETURNS TABLE (
	"segment" INT,  /* i32 */
	"size" bigint,  /* i64 */
	"feature" TEXT,  /* String */
	"centroid" double precision  /* f64 */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'segments_wrapper';

-- shopml::recommend::similar_items
CREATE OR REPLACE FUNCTION "similar_items"(
	"model_name" TEXT, /* Option < & str > */
	"item_id" bigint, /* Option < i64 > */
	"k" INT DEFAULT 10 /* Option < i32 > */
) RETURNS TABLE (
	"item_id" bigint,  /* i64 */
	"score" double precision,  /* f64 */
	"rank" INT  /* i32 */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'similar_items_wrapper';

-- shopml::recommend::similar_items
CREATE OR REPLACE FUNCTION "similar_items"(
	"model_name" TEXT, /* Option < & str > */
	"item_id" TEXT, /* Option < & str > */
	"k" INT DEFAULT 10 /* Option < i32 > */
) RETURNS TABLE (
	"item_id" TEXT,  /* String */
	"score" double precision,  /* f64 */
	"rank" INT  /* i32 */
)
STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'similar_items_text_wrapper';

-- shopml::demand::train_demand
CREATE OR REPLACE FUNCTION "train_demand"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < PgRelation > */
	"product_column" TEXT, /* Option < & str > */
	"price_column" TEXT, /* Option < & str > */
	"quantity_column" TEXT, /* Option < & str > */
	"features" TEXT[] DEFAULT '{}', /* :: std :: option :: Option < Vec < Option < String > > > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_products" bigint,  /* i64 */
	"n_obs" bigint,  /* i64 */
	"metrics" jsonb  /* JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_demand_wrapper';

-- shopml::forest::train_forest
CREATE OR REPLACE FUNCTION "train_forest"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < PgRelation > */
	"target" TEXT, /* Option < & str > */
	"features" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"n_test" bigint,  /* i64 */
	"metrics" jsonb  /* JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_forest_wrapper';

-- shopml::kmeans::train_kmeans
CREATE OR REPLACE FUNCTION "train_kmeans"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < PgRelation > */
	"features" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"k" INT, /* Option < i32 > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"metrics" jsonb  /* JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_kmeans_wrapper';

-- shopml::linear::train_linear
CREATE OR REPLACE FUNCTION "train_linear"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < PgRelation > */
	"target" TEXT, /* Option < & str > */
	"features" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"n_test" bigint,  /* i64 */
	"metrics" jsonb  /* JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_linear_wrapper';

-- shopml::logistic::train_logistic
CREATE OR REPLACE FUNCTION "train_logistic"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < PgRelation > */
	"target" TEXT, /* Option < & str > */
	"features" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"n_test" bigint,  /* i64 */
	"metrics" jsonb  /* JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_logistic_wrapper';

-- shopml::recommend::train_recommender
CREATE OR REPLACE FUNCTION "train_recommender"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < PgRelation > */
	"user_column" TEXT, /* Option < & str > */
	"item_column" TEXT, /* Option < & str > */
	"weight_column" TEXT DEFAULT NULL, /* Option < & str > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_users" bigint,  /* i64 */
	"n_items" bigint,  /* i64 */
	"n_interactions" bigint,  /* i64 */
	"metrics" jsonb  /* JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_recommender_wrapper';

-- sql/comments.sql
-- COMMENT ON for the functions pgrx generates (so \df+ documents every public object).
COMMENT ON FUNCTION shopml.train_linear(text, regclass, text, text[], jsonb) IS
  'Trains a linear regression (OLS, or ridge with "l2") of target on features over a table or view, in place and in one parallel scan; stores it as the next version of model_name. Text features are one-hot encoded (up to max_categories values); NULLs are skipped or imputed. options: l2, fit_intercept, test_fraction, split_column, group_by, standardize (false), impute (skip|mean|median|zero), max_categories, deploy.';
COMMENT ON FUNCTION shopml.coefficients(text, int) IS
  'Coefficients of a linear model (deployed version unless given) with standard error, t statistic and two-sided p-value; NULL for aliased (constant or collinear) features.';
COMMENT ON FUNCTION shopml.load_sample_shop(text, bigint) IS
  'Creates the bundled, deterministic sample shop (categories, products, customers, orders, order_items, weekly_sales) in a schema; the same seed gives the same data.';
COMMENT ON FUNCTION shopml.train_recommender(text, regclass, text, text, text, jsonb) IS
  'Trains an implicit-feedback recommender (purchases, clicks, carts; repeated rows add up) on a table or view: method "als" (Hu-Koren-Volinsky ALS with conjugate gradient; regularization chosen on a validation split unless given) or "item_knn" (item-to-item cosine). With test_fraction > 0 each user''s latest interactions (time_column) are held out and precision/recall/ndcg/map@k and coverage are stored for the model and for a popularity baseline. options: method, factors, iterations, regularization, alpha, cg_steps, seed, neighbors, test_fraction, k, time_column, deploy.';
COMMENT ON FUNCTION shopml.recommend_for_user(text, bigint, int, boolean, bigint[]) IS
  'Top-k items for a user of a bigint-keyed recommender (item_id, score, rank), best first; exclude_seen drops items the user already has, candidates restricts to the given items (e.g. in stock). Unknown or NULL users get the most popular items.';
COMMENT ON FUNCTION shopml.recommend_for_user(text, text, int, boolean, text[]) IS
  'Top-k items for a user of a text- or uuid-keyed recommender (item_id, score, rank), best first; as the bigint form.';
COMMENT ON FUNCTION shopml.similar_items(text, bigint, int) IS
  'The k items most similar to an item of a bigint-keyed recommender (cosine of ALS factors, or the stored item-kNN neighbours), best first; no rows for an item the model does not know.';
COMMENT ON FUNCTION shopml.similar_items(text, text, int) IS
  'The k items most similar to an item of a text- or uuid-keyed recommender; as the bigint form.';
COMMENT ON FUNCTION shopml.train_demand(text, regclass, text, text, text, text[], jsonb) IS
  'Fits per-product constant-elasticity demand, log E[quantity] = a + e*log(price) + controls, as a Poisson model (periods with zero units are data), with controls shared or per product, and shrinks weakly identified elasticities toward the pooled (or group_by) mean by empirical Bayes. Rows with NULL or non-positive prices, or NULL/negative quantities, are skipped and counted. options: controls (shared|per_product), group_by, shrinkage, max_iterations, deploy.';
COMMENT ON FUNCTION shopml.demand_elasticities(text) IS
  'Per-product elasticity (after shrinkage) with standard error, number of periods and whether it was shrunk (the pool carries more than half of the weight), plus the raw estimate, total units, distinct prices and group.';
COMMENT ON FUNCTION shopml.optimal_price(text, bigint, float8, float8, float8, jsonb) IS
  'The profit-maximising price (c*e/(1+e) for elastic demand) or, with objective revenue, the revenue-maximising one, projected onto min_price/max_price and the options min_margin, current_price + max_change; returns price, expected quantity, revenue and profit, the elasticity and binding (the rule that set the price, NULL when interior; "(inelastic)" when demand is inelastic and the upper bound decides). options: objective, min_margin, current_price, max_change, at (control values, default the product''s averages).';
COMMENT ON FUNCTION shopml.optimal_price(text, text, float8, float8, float8, jsonb) IS
  'optimal_price for demand models trained on text or uuid product keys.';
COMMENT ON FUNCTION shopml.price_curve(text, bigint, float8, float8, float8, int, jsonb) IS
  'Expected quantity, revenue and profit of a product at steps evenly spaced prices from from_price to to_price, for charts. options: at (control values).';
COMMENT ON FUNCTION shopml.price_curve(text, text, float8, float8, float8, int, jsonb) IS
  'price_curve for demand models trained on text or uuid product keys.';
COMMENT ON FUNCTION shopml.sample_demand(int, int, int, bigint) IS
  'Weekly sales generated from known constant-elasticity demand (elasticities U(-3.5,-1.4), Poisson units, promotions lifting demand by 1.3, the last n_new products sold only in the last 10 weeks), with the true elasticity and unit cost of each product: data to check train_demand against.';
COMMENT ON FUNCTION shopml.rfm(regclass, text, text, text, date, jsonb) IS
  'Recency (days from the last purchase to as_of), frequency (rows, or distinct order_column values) and monetary value (total, or average) per customer from the rows dated on or before as_of; 1-5 scores by rank (5 best, ties never split) and the RFM segment (Champions, Loyal, Potential Loyalist, New, Promising, Need Attention, About to Sleep, At Risk, Cannot Lose Them, Hibernating, Lost). options: order_column, monetary (total|average).';
COMMENT ON FUNCTION shopml.train_kmeans(text, regclass, text[], int, jsonb) IS
  'Segments the rows of a table or view into k groups by k-means (k-means++ seeding, n_init restarts keeping the lowest inertia) on the given features (NULL: every numeric or boolean column; text columns one-hot encoded), numbers standardised by default; rows with NULL or NaN values are skipped and counted unless imputed. k must be between 2 and the number of rows. shopml.predict gives a row''s segment (0..k-1). options: n_init, max_iter, tol, seed, standardize (true), impute, max_categories, deploy.';
COMMENT ON FUNCTION shopml.segments(text) IS
  'One row per segment and feature of a k-means model: the segment''s size and its centroid in the original units, for charts.';
COMMENT ON FUNCTION shopml.train_logistic(text, regclass, text, text[], jsonb) IS
  'Trains a binary logistic regression (target boolean or 0/1) with an L2 penalty (l2 = 1/C, default 1) and optional L1; numbers standardised, text one-hot up to max_categories values and hashed into hash_buckets (2^18) sparse features beyond; Newton''s method when dense, OWL-QN when sparse or L1. Held-out AUC, log-loss, accuracy, precision, recall, F1 and calibration error. predict gives the label (0/1), predict_proba the probability. options: l1, l2, class_weight (none|balanced), standardize, impute, max_categories, hash_buckets, test_fraction, max_iter, deploy.';
COMMENT ON FUNCTION shopml.train_forest(text, regclass, text, text[], jsonb) IS
  'Trains a random-forest classifier (CART trees with Gini splits on bootstrap samples, grown in parallel on the shopml.threads pool) of an integer, boolean or text target (two or more classes); text features one-hot encoded up to max_categories. n_trees 1 with bootstrap false and max_features all is one decision tree. Held-out metrics: AUC, log-loss, accuracy, precision, recall, F1, calibration for two classes; accuracy, log-loss and macro precision/recall/F1 otherwise. options: n_trees (100), max_depth (unlimited), min_samples_leaf (1), max_features (sqrt|log2|all|count|fraction), bootstrap (true), seed, class_weight, max_bins (255), impute, max_categories, test_fraction, deploy.';
COMMENT ON FUNCTION shopml.feature_importance(text) IS
  'Importance of each input column of a classifier, summing to 1: for a logistic model the standard deviation of the column''s contribution to the score over the training rows (|standardised coefficient| for a number), for a forest the mean decrease in Gini impurity.';
