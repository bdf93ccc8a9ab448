-- shopml 0.2.0 -> 0.3.0: written by scripts/make-upgrade; do not edit by hand.
\echo Use "ALTER EXTENSION shopml UPDATE" to load this file. \quit

-- objects this release no longer has
DROP AGGREGATE IF EXISTS shopml._linear_stats(float8, int8, VARIADIC "any");
DROP FUNCTION IF EXISTS shopml._linear_stats_trans(internal, float8, int8, VARIADIC "any");
DROP FUNCTION IF EXISTS shopml.coefficients(text, int);
DROP FUNCTION IF EXISTS shopml._sample_ads(bigint);
DROP FUNCTION IF EXISTS shopml._sample_impressions(bigint);
DROP FUNCTION IF EXISTS shopml._sample_categories(bigint);
DROP FUNCTION IF EXISTS shopml._sample_products(bigint);
DROP FUNCTION IF EXISTS shopml._sample_customers(bigint);
DROP FUNCTION IF EXISTS shopml._sample_orders(bigint);
DROP FUNCTION IF EXISTS shopml._sample_order_items(bigint);
DROP FUNCTION IF EXISTS shopml._sample_weekly_sales(bigint);

-- sql/catalog_versions.sql
-- The last version number given to each model name (shopml 0.3): versions are never reused,
-- even after every version of a name was dropped. Safe to run again (the update script does).
CREATE TABLE IF NOT EXISTS shopml.model_version (
    model_name   text PRIMARY KEY,
    last_version int  NOT NULL CHECK (last_version > 0)
);
COMMENT ON TABLE shopml.model_version IS
  'The last version number given to each model name, so a version number is never given twice.';
SELECT pg_catalog.pg_extension_config_dump('shopml.model_version', '');
REVOKE ALL ON shopml.model_version FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON shopml.model_version TO shopml_user;
ALTER TABLE shopml.model_version ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS model_version_read ON shopml.model_version;
CREATE POLICY model_version_read ON shopml.model_version FOR SELECT TO shopml_user USING (true);
DROP POLICY IF EXISTS model_version_train ON shopml.model_version;
CREATE POLICY model_version_train ON shopml.model_version FOR ALL TO shopml_user
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
    -- Versions are never reused: the counter remembers the last one even after every version
    -- of the name was dropped (and starts above any version already stored).
    INSERT INTO shopml.model_version AS c (model_name, last_version)
    SELECT p_model_name, coalesce(max(m.version), 0) + 1
      FROM shopml.model m WHERE m.model_name = p_model_name
    ON CONFLICT (model_name) DO UPDATE
       SET last_version = greatest(c.last_version,
                                   (SELECT coalesce(max(m.version), 0) FROM shopml.model m
                                     WHERE m.model_name = excluded.model_name)) + 1
    RETURNING c.last_version INTO v_version;
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

-- sql/experiments.sql
-- Price experiments (shopml 0.3): their design, the prices served each period and the sales
-- recorded. Same privileges as models: every shopml_user reads them; the role that created an
-- experiment (or a member of shopml_admin) serves new periods, records sales and stops it.
-- Safe to run again (the update scripts do).

CREATE TABLE IF NOT EXISTS shopml.price_experiment (
    experiment_id   bigserial PRIMARY KEY,
    experiment_name text        NOT NULL UNIQUE CHECK (experiment_name <> ''),
    demand_model    text        NOT NULL,
    demand_model_id bigint      REFERENCES shopml.model (model_id) ON DELETE SET NULL,
    source          text        NOT NULL,
    policy          text        NOT NULL,
    period          interval    NOT NULL,
    start_at        timestamptz NOT NULL,
    options         jsonb       NOT NULL DEFAULT '{}',
    n_products      int         NOT NULL,
    status          text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      name        NOT NULL DEFAULT current_user,
    stopped_at      timestamptz,
    design          bytea       NOT NULL
);

-- The prices served in one period: one ladder position, propensity and reason per product.
CREATE TABLE IF NOT EXISTS shopml.price_experiment_served (
    experiment_id bigint      NOT NULL REFERENCES shopml.price_experiment ON DELETE CASCADE,
    period        int         NOT NULL CHECK (period >= 0),
    period_start  timestamptz NOT NULL,
    served_at     timestamptz NOT NULL DEFAULT now(),
    served_by     name        NOT NULL DEFAULT current_user,
    prices        bytea       NOT NULL,
    PRIMARY KEY (experiment_id, period)
);

-- Sales recorded for one period: which products (so recording again adds nothing) and totals.
CREATE TABLE IF NOT EXISTS shopml.price_experiment_period (
    experiment_id     bigint      NOT NULL REFERENCES shopml.price_experiment ON DELETE CASCADE,
    period            int         NOT NULL CHECK (period >= 0),
    period_start      timestamptz NOT NULL,
    products          int         NOT NULL DEFAULT 0,
    units             float8      NOT NULL DEFAULT 0,
    revenue           float8      NOT NULL DEFAULT 0,
    profit            float8      NOT NULL DEFAULT 0,
    off_policy        int         NOT NULL DEFAULT 0,
    recorded          bytea       NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, period)
);

-- Each product's sales aggregated by price (what the posterior needs), in chunks of products.
CREATE TABLE IF NOT EXISTS shopml.price_experiment_sales (
    experiment_id bigint NOT NULL REFERENCES shopml.price_experiment ON DELETE CASCADE,
    chunk         int    NOT NULL CHECK (chunk >= 0),
    sales         bytea  NOT NULL,
    PRIMARY KEY (experiment_id, chunk)
);

-- The bytes are already compact (and mostly floats): store them without compression, so
-- reading and writing them costs no pglz pass.
ALTER TABLE shopml.price_experiment ALTER COLUMN design SET STORAGE EXTERNAL;
ALTER TABLE shopml.price_experiment_served ALTER COLUMN prices SET STORAGE EXTERNAL;
ALTER TABLE shopml.price_experiment_period ALTER COLUMN recorded SET STORAGE EXTERNAL;
ALTER TABLE shopml.price_experiment_sales ALTER COLUMN sales SET STORAGE EXTERNAL;

SELECT pg_catalog.pg_extension_config_dump('shopml.price_experiment', '');
SELECT pg_catalog.pg_extension_config_dump('shopml.price_experiment_experiment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('shopml.price_experiment_served', '');
SELECT pg_catalog.pg_extension_config_dump('shopml.price_experiment_period', '');
SELECT pg_catalog.pg_extension_config_dump('shopml.price_experiment_sales', '');

-- May the current role serve, record or stop this experiment?
CREATE OR REPLACE FUNCTION shopml._may_run_experiment(p_created_by name) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT p_created_by = current_user
      OR pg_catalog.pg_has_role(current_user, 'shopml_admin', 'MEMBER')
$$;
COMMENT ON FUNCTION shopml._may_run_experiment(name) IS
  'Whether the current role created this experiment or is a member of shopml_admin.';

CREATE OR REPLACE FUNCTION shopml._may_run_experiment_id(p_experiment_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM shopml.price_experiment e
                  WHERE e.experiment_id = p_experiment_id
                    AND shopml._may_run_experiment(e.created_by))
$$;
COMMENT ON FUNCTION shopml._may_run_experiment_id(bigint) IS
  'Whether the current role may serve, record or stop the experiment with this id.';

REVOKE ALL ON shopml.price_experiment, shopml.price_experiment_served,
              shopml.price_experiment_period, shopml.price_experiment_sales FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON shopml.price_experiment TO shopml_user;
GRANT USAGE ON SEQUENCE shopml.price_experiment_experiment_id_seq TO shopml_user;
GRANT SELECT, INSERT ON shopml.price_experiment_served TO shopml_user;
GRANT SELECT, INSERT, UPDATE ON shopml.price_experiment_period, shopml.price_experiment_sales TO shopml_user;

ALTER TABLE shopml.price_experiment ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS experiment_read ON shopml.price_experiment;
CREATE POLICY experiment_read ON shopml.price_experiment FOR SELECT TO shopml_user USING (true);
DROP POLICY IF EXISTS experiment_create ON shopml.price_experiment;
CREATE POLICY experiment_create ON shopml.price_experiment FOR INSERT TO shopml_user
  WITH CHECK (created_by = current_user);
DROP POLICY IF EXISTS experiment_manage ON shopml.price_experiment;
CREATE POLICY experiment_manage ON shopml.price_experiment FOR UPDATE TO shopml_user
  USING (shopml._may_run_experiment(created_by)) WITH CHECK (shopml._may_run_experiment(created_by));
DROP POLICY IF EXISTS experiment_drop ON shopml.price_experiment;
CREATE POLICY experiment_drop ON shopml.price_experiment FOR DELETE TO shopml_user
  USING (shopml._may_run_experiment(created_by));

-- The prices served, the periods recorded and the sales: read by every shopml_user, written
-- by whoever may run the experiment (only SELECT and INSERT are granted on the prices served).
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['price_experiment_served', 'price_experiment_period', 'price_experiment_sales'] LOOP
    EXECUTE format('ALTER TABLE shopml.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('DROP POLICY IF EXISTS experiment_data_read ON shopml.%I', t);
    EXECUTE format('CREATE POLICY experiment_data_read ON shopml.%I FOR SELECT TO shopml_user USING (true)', t);
    EXECUTE format('DROP POLICY IF EXISTS experiment_data_write ON shopml.%I', t);
    EXECUTE format('CREATE POLICY experiment_data_write ON shopml.%I FOR ALL TO shopml_user '
                   'USING (shopml._may_run_experiment_id(experiment_id)) '
                   'WITH CHECK (shopml._may_run_experiment_id(experiment_id))', t);
  END LOOP;
END
$$;

-- One row per experiment for BI tools.
CREATE OR REPLACE VIEW shopml.price_experiments WITH (security_invoker = true) AS
SELECT e.experiment_id, e.experiment_name, e.status, e.policy, e.demand_model, e.source,
       e.n_products, e.period, e.start_at, e.created_at, e.created_by, e.stopped_at,
       (SELECT count(*) FROM shopml.price_experiment_served s
         WHERE s.experiment_id = e.experiment_id)::int AS periods_served,
       (SELECT count(*) FROM shopml.price_experiment_period p
         WHERE p.experiment_id = e.experiment_id)::int AS periods_recorded,
       e.options
FROM shopml.price_experiment e;
COMMENT ON VIEW shopml.price_experiments IS
  'One row per price experiment: status, policy, products, periods served and recorded.';
REVOKE ALL ON shopml.price_experiments FROM PUBLIC;
GRANT SELECT ON shopml.price_experiments TO shopml_user;

COMMENT ON TABLE shopml.price_experiment IS
  'Every price experiment: its products, ladders, rules, prior and policy (design, serialised), and whether it is running.';
COMMENT ON TABLE shopml.price_experiment_served IS
  'The prices shopml.next_prices served for each period of an experiment (written once per period; later calls read them).';
COMMENT ON TABLE shopml.price_experiment_period IS
  'Sales recorded by shopml.record_sales per period of an experiment: totals and the set of products recorded.';
COMMENT ON TABLE shopml.price_experiment_sales IS
  'Recorded sales of an experiment''s products aggregated by price (periods and units), the data of its posterior.';

-- sql/evaluate.sql
-- shopml.evaluate (shopml 0.3): a model's metrics on new labelled rows, computed in SQL from
-- its own predict functions (so rows are prepared exactly as they are served). CREATE OR
-- REPLACE, so the update scripts include this file as it is.
-- The model version an evaluation names (deployed, or options.version), checked.
CREATE OR REPLACE FUNCTION shopml._evaluated_model(p_model_name text, p_options jsonb)
RETURNS TABLE (model_id bigint, task text, target text, classes int, threshold float8)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    v_key text;
BEGIN
    IF p_model_name IS NULL THEN
        RAISE EXCEPTION 'model_name must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(coalesce(p_options, '{}')) <> 'object' THEN
        RAISE EXCEPTION 'evaluate: options must be a JSON object' USING ERRCODE = '22023';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(coalesce(p_options, '{}')) LOOP
        IF v_key NOT IN ('version', 'threshold', 'bins') THEN
            RAISE EXCEPTION 'evaluate: unknown option "%"', v_key
              USING ERRCODE = '22023', HINT = 'Known options: bins, threshold, version.';
        END IF;
    END LOOP;
    IF p_options ? 'threshold' AND (jsonb_typeof(p_options->'threshold') <> 'number'
                                    OR NOT (p_options->>'threshold')::float8 BETWEEN 0 AND 1) THEN
        RAISE EXCEPTION 'evaluate: option "threshold" must be a number in [0, 1], got %',
            p_options->'threshold' USING ERRCODE = '22023';
    END IF;
    IF p_options ? 'bins' AND (jsonb_typeof(p_options->'bins') <> 'number'
                               OR NOT (p_options->>'bins')::float8 BETWEEN 2 AND 1000) THEN
        RAISE EXCEPTION 'evaluate: option "bins" must be a number in [2, 1000], got %',
            p_options->'bins' USING ERRCODE = '22023';
    END IF;
    IF p_options ? 'version' AND jsonb_typeof(p_options->'version') <> 'number' THEN
        RAISE EXCEPTION 'evaluate: option "version" must be a version number, got %',
            p_options->'version' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT m.model_id, m.task, m.target, coalesce((m.metrics->>'classes')::int, 2),
           coalesce((p_options->>'threshold')::float8, 0.5)
      FROM shopml.models m
     WHERE m.model_name = p_model_name
       AND CASE WHEN p_options ? 'version' THEN m.version = (p_options->>'version')::int ELSE m.deployed END;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no %', p_model_name,
            coalesce('version ' || (p_options->>'version'), 'deployed version')
          USING ERRCODE = '42704',
                HINT = 'SELECT model_name, version, deployed FROM shopml.models lists the models.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION shopml._evaluated_model(text, jsonb) IS
  'Internal: the model version shopml.evaluate and the curve functions name, with its options checked.';

-- Every labelled row of a relation scored by the model's own predict functions: the target as
-- text and as a number, the prediction (value or probability), the label, and whether the
-- target is the positive class (the label predicted where the probability is at least 0.5; when
-- no row reaches it, the target value that is never predicted). Rows with a NULL target or
-- prediction are left out.
CREATE OR REPLACE FUNCTION shopml._scored(p_model_name text, p_relation regclass, p_options jsonb)
RETURNS TABLE (y text, y_num float8, p float8, l text, positive boolean)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    v record;
BEGIN
    SELECT e.*, NULL::jsonb AS params, NULL::text[] AS features INTO v
      FROM shopml._evaluated_model(p_model_name, p_options) e;
    IF p_relation IS NULL THEN
        RAISE EXCEPTION 'relation must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF v.task NOT IN ('regression', 'classification', 'demand') OR v.target IS NULL THEN
        RAISE EXCEPTION 'evaluate on new rows serves regression, classification and demand models in this version; model "%" is a % model',
            p_model_name, v.task
          USING ERRCODE = '0A000', HINT = 'shopml.evaluate(model_name) gives its stored metrics.';
    END IF;
    IF v.task = 'demand' THEN
        -- Later sales: units against predict_demand at each row's price and controls, for the
        -- products the model knows and positive prices.
        IF p_options ? 'version' THEN
            RAISE EXCEPTION 'evaluate: demand models are evaluated in their deployed version only'
              USING ERRCODE = '0A000';
        END IF;
        SELECT m.params, m.features INTO v.params, v.features FROM shopml.models m WHERE m.model_id = v.model_id;
        RETURN QUERY EXECUTE format($q$
            SELECT (t.%1$I)::text, (t.%1$I)::float8,
                   (shopml.predict_demand(%4$L, t.%2$I, (t.%3$I)::float8, %5$s)).expected_units, NULL::text, NULL::boolean
              FROM %6$s t
             WHERE t.%1$I IS NOT NULL AND (t.%3$I)::float8 > 0
               AND (t.%2$I)::text IN (SELECT e.product_id FROM shopml.demand_elasticities(%4$L) e)$q$,
            v.params->>'quantity_column', v.params->>'product_column', v.params->>'price_column',
            p_model_name,
            coalesce((SELECT 'jsonb_build_object(' || string_agg(format('%L, to_jsonb(t.%I)', c, c), ', ') || ')'
                        FROM unnest(v.features[2:]) c), 'NULL::jsonb'),
            p_relation);
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH s AS MATERIALIZED (
            SELECT * FROM (SELECT (t.%1$I)::text AS y, %2$s AS y_num, %3$s AS p, %4$s AS l FROM %5$s t) q
             WHERE q.y IS NOT NULL AND (q.p IS NOT NULL OR q.l IS NOT NULL)),
             pos AS (SELECT coalesce((SELECT s.l FROM s WHERE s.p >= 0.5 LIMIT 1),
                                     (SELECT s.y FROM s WHERE s.y NOT IN (SELECT s2.l FROM s s2) LIMIT 1)) AS label)
        SELECT s.y, s.y_num, s.p, s.l, s.y = pos.label FROM s, pos$q$,
        v.target,
        CASE WHEN v.task = 'regression' THEN format('(t.%I)::float8', v.target) ELSE 'NULL::float8' END,
        CASE WHEN v.task = 'regression' THEN format('shopml.predict(%s::bigint, t)', v.model_id)
             WHEN v.classes = 2 THEN format('shopml.predict_proba(%s::bigint, t)', v.model_id)
             -- More classes: the probability of the row's own label (for the log loss).
             ELSE format('(SELECT k.probability FROM shopml.predict_classes(%s::bigint, t) k WHERE k.label = (t.%I)::text)',
                         v.model_id, v.target) END,
        CASE WHEN v.task = 'regression' THEN 'NULL::text'
             ELSE format('shopml.predict_label(%s::bigint, t)', v.model_id) END,
        p_relation);
END
$fn$;
COMMENT ON FUNCTION shopml._scored(text, regclass, jsonb) IS
  'Internal: the labelled rows of a relation scored by a model version, for shopml.evaluate and the curve functions.';

CREATE OR REPLACE FUNCTION shopml.evaluate(model_name text, relation regclass DEFAULT NULL,
                                           options jsonb DEFAULT '{}')
RETURNS TABLE (metric text, value float8)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    v_model record;
    v_thr   float8;
BEGIN
    SELECT e.*, m.metrics INTO v_model
      FROM shopml._evaluated_model(evaluate.model_name, evaluate.options) e
      JOIN shopml.models m USING (model_id);
    v_thr := v_model.threshold;
    -- No relation: the metrics stored at training (held-out rows), one row each.
    IF evaluate.relation IS NULL THEN
        RETURN QUERY SELECT mm.metric, mm.value FROM shopml.model_metrics mm
                      WHERE mm.model_id = v_model.model_id ORDER BY 1;
        RETURN;
    END IF;
    IF v_model.task = 'demand' THEN
        RETURN QUERY
        WITH r AS (SELECT s.y_num AS y, s.p FROM shopml._scored(evaluate.model_name, evaluate.relation, evaluate.options) s),
             c AS (SELECT count(*)::float8 AS n, sum(r.y) AS sy, sum(r.p) AS sp, avg(abs(r.y - r.p)) AS mae,
                          avg(abs(r.y - r.p) / r.y) FILTER (WHERE r.y > 0) AS mape,
                          avg(2 * (CASE WHEN r.y > 0 THEN r.y * ln(r.y / r.p) ELSE 0 END - (r.y - r.p))) AS dev
                     FROM r)
        SELECT x.k, x.v FROM c, LATERAL (VALUES
            ('n', c.n), ('poisson_deviance', c.dev), ('mae', c.mae), ('mape', c.mape),
            ('bias', (c.sp - c.sy) / nullif(c.sy, 0))) x(k, v);
        RETURN;
    END IF;
    IF v_model.task = 'regression' THEN
        RETURN QUERY
        WITH r AS (SELECT s.y_num AS y, s.p FROM shopml._scored(evaluate.model_name, evaluate.relation, evaluate.options) s),
             a AS (SELECT count(*)::float8 AS n, avg(r.y) AS my FROM r),
             e AS (SELECT sum((r.y - r.p) ^ 2) AS sse, sum((r.y - a.my) ^ 2) AS sst, sum(abs(r.y - r.p)) AS sae,
                          avg(abs(r.y - r.p) / abs(r.y)) FILTER (WHERE r.y <> 0) AS mape
                     FROM r, a)
        SELECT x.k, x.v FROM a, e, LATERAL (VALUES
            ('n', a.n), ('r2', 1 - e.sse / nullif(e.sst, 0)), ('rmse', sqrt(e.sse / nullif(a.n, 0))),
            ('mae', e.sae / nullif(a.n, 0)), ('mape', e.mape)) x(k, v);
        RETURN;
    END IF;
    IF coalesce((v_model.metrics->>'classes')::int, 2) <> 2 THEN
        RETURN QUERY
        WITH s AS MATERIALIZED (SELECT * FROM shopml._scored(evaluate.model_name, evaluate.relation, evaluate.options)),
             c AS (SELECT count(*)::float8 AS n, avg((s.y = s.l)::int) AS acc,
                          avg(-ln(greatest(coalesce(s.p, 0), 1e-15))) AS ll FROM s),
             -- Per label that occurs (as the truth or as a prediction): its F1 = 2 tp / (predicted + actual).
             per AS (SELECT sum((s.y = lab.l AND s.l = lab.l)::int)::float8 AS tp,
                            sum((s.l = lab.l)::int)::float8 AS predicted, sum((s.y = lab.l)::int)::float8 AS actual
                       FROM (SELECT s.y AS l FROM s UNION SELECT s.l FROM s WHERE s.l IS NOT NULL) lab, s
                      GROUP BY lab.l),
             f AS (SELECT avg(coalesce(per.tp / nullif(per.predicted, 0), 0)) AS mp,
                          avg(coalesce(per.tp / nullif(per.actual, 0), 0)) AS mr,
                          avg(coalesce(2 * per.tp / nullif(per.predicted + per.actual, 0), 0)) AS mf FROM per)
        SELECT x.k, x.v FROM c, f, LATERAL (VALUES
            ('n', c.n), ('accuracy', c.acc), ('log_loss', c.ll),
            ('macro_precision', f.mp), ('macro_recall', f.mr), ('macro_f1', f.mf)) x(k, v);
        RETURN;
    END IF;
    RETURN QUERY
    WITH r AS (SELECT s.p, s.positive::int::float8 AS t,
                      row_number() OVER (ORDER BY s.p, s.positive::int) - 1 AS i,
                      rank() OVER (ORDER BY s.p) AS lo_rank, count(*) OVER (PARTITION BY s.p) AS ties
                 FROM shopml._scored(evaluate.model_name, evaluate.relation, evaluate.options) s),
         c AS (SELECT count(*)::float8 AS n, sum(r.t) AS npos,
                      sum(CASE WHEN r.t = 1 THEN r.lo_rank + (r.ties - 1) / 2.0 END) AS rank_pos,
                      avg(-(r.t * ln(greatest(least(r.p, 1 - 1e-15), 1e-15))
                            + (1 - r.t) * ln(1 - greatest(least(r.p, 1 - 1e-15), 1e-15)))) AS log_loss,
                      count(*) FILTER (WHERE r.p >= v_thr AND r.t = 1)::float8 AS tp,
                      count(*) FILTER (WHERE r.p >= v_thr AND r.t = 0)::float8 AS fp,
                      count(*) FILTER (WHERE r.p < v_thr AND r.t = 0)::float8 AS tn,
                      count(*) FILTER (WHERE r.p < v_thr AND r.t = 1)::float8 AS fn
                 FROM r),
         -- ten equal-count bins of the sorted probabilities (rows b·n/10 .. (b+1)·n/10 − 1)
         b AS (SELECT sum(abs(bins.avg_p - bins.avg_t) * bins.m) / max(c.n) AS ece
                 FROM c, LATERAL (SELECT avg(r.p) AS avg_p, avg(r.t) AS avg_t, count(*) AS m
                                    FROM generate_series(0, 9) g, r
                                   WHERE r.i >= g * c.n::bigint / 10 AND r.i < (g + 1) * c.n::bigint / 10
                                   GROUP BY g) bins),
         q AS (SELECT c.*, c.tp / nullif(c.tp + c.fp, 0) AS prec, c.tp / nullif(c.tp + c.fn, 0) AS rec FROM c)
    SELECT x.k, x.v FROM q, b, LATERAL (VALUES
        ('n', q.n),
        ('auc', (q.rank_pos - q.npos * (q.npos + 1) / 2) / nullif(q.npos * (q.n - q.npos), 0)),
        ('log_loss', q.log_loss),
        ('accuracy', (q.tp + q.tn) / nullif(q.n, 0)),
        ('precision', coalesce(q.prec, 0)),
        ('recall', coalesce(q.rec, 0)),
        ('f1', coalesce(2 * q.prec * q.rec / nullif(q.prec + q.rec, 0), 0)),
        ('calibration_error', b.ece)) x(k, v);
END
$fn$;
COMMENT ON FUNCTION shopml.evaluate(text, regclass, jsonb) IS
  'Metrics of a model (the deployed version, or options.version) on labelled rows of a table or view, columns matched by name and prepared as predict does: regression n, r2, rmse, mae, mape; demand models on later sales (product, price, units and controls columns as trained; products the model knows) n, poisson_deviance (mean), mae, mape, bias; two-class classification n, auc, log_loss, accuracy, precision, recall, f1 (at options.threshold, 0.5) and calibration_error (ten equal-count bins); more classes n, accuracy, log_loss (of the probability predict_classes gives the row''s label; 1e-15 at least) and macro_precision, macro_recall, macro_f1 (unweighted means over the labels that occur as the truth or as a prediction). Rows with a NULL target or prediction are left out. Without a relation: the metrics stored at training. Other kinds (k-means, recommenders): 0A000 in this version.';

-- Rows for charts of a two-class classifier on labelled rows: ROC and precision-recall curves
-- (one point per distinct probability, as thresholds from high to low), the calibration curve
-- (options.bins equal-count bins) and the confusion matrix (at options.threshold).
CREATE OR REPLACE FUNCTION shopml._two_class(p_model_name text, p_options jsonb, p_what text)
RETURNS float8 LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM shopml._evaluated_model(p_model_name, p_options);
    IF v.task <> 'classification' OR v.classes <> 2 THEN
        RAISE EXCEPTION '% needs a two-class classifier; model "%" is a % model with % classes',
            p_what, p_model_name, v.task, CASE WHEN v.task = 'classification' THEN v.classes::text ELSE 'no' END
          USING ERRCODE = '22023';
    END IF;
    RETURN v.threshold;
END
$fn$;
COMMENT ON FUNCTION shopml._two_class(text, jsonb, text) IS
  'Internal: checks that the model version is a two-class classifier; returns the threshold option.';

CREATE OR REPLACE FUNCTION shopml.roc_curve(model_name text, relation regclass, options jsonb DEFAULT '{}')
RETURNS TABLE (threshold float8, false_positive_rate float8, true_positive_rate float8)
LANGUAGE sql STABLE AS $$
    WITH s AS MATERIALIZED (SELECT s.* FROM (SELECT shopml._two_class(model_name, options, 'roc_curve') AS thr) chk,
                                            LATERAL shopml._scored(model_name, relation, options) s
                             WHERE chk.thr IS NOT NULL),
         c AS (SELECT count(*) FILTER (WHERE positive)::float8 AS np,
                      count(*) FILTER (WHERE NOT positive)::float8 AS nn FROM s),
         d AS (SELECT p, count(*) FILTER (WHERE positive) AS tp, count(*) FILTER (WHERE NOT positive) AS fp
                 FROM s GROUP BY p)
    SELECT 'Infinity'::float8, 0::float8, 0::float8
    UNION ALL
    SELECT d.p, sum(d.fp) OVER w / nullif(c.nn, 0), sum(d.tp) OVER w / nullif(c.np, 0)
      FROM d, c WINDOW w AS (ORDER BY d.p DESC)
    ORDER BY 1 DESC
$$;
COMMENT ON FUNCTION shopml.roc_curve(text, regclass, jsonb) IS
  'ROC curve of a two-class classifier on labelled rows: one point (threshold, false positive rate, true positive rate) per distinct predicted probability, from the strictest threshold down; the trapezoids under it sum to evaluate''s auc. options: version.';

CREATE OR REPLACE FUNCTION shopml.pr_curve(model_name text, relation regclass, options jsonb DEFAULT '{}')
RETURNS TABLE (threshold float8, "precision" float8, recall float8)
LANGUAGE sql STABLE AS $$
    WITH s AS MATERIALIZED (SELECT s.* FROM (SELECT shopml._two_class(model_name, options, 'pr_curve') AS thr) chk,
                                            LATERAL shopml._scored(model_name, relation, options) s
                             WHERE chk.thr IS NOT NULL),
         c AS (SELECT count(*) FILTER (WHERE positive)::float8 AS np FROM s),
         d AS (SELECT p, count(*) FILTER (WHERE positive) AS tp, count(*) AS k FROM s GROUP BY p)
    SELECT d.p, sum(d.tp) OVER w / sum(d.k) OVER w, sum(d.tp) OVER w / nullif(c.np, 0)
      FROM d, c WINDOW w AS (ORDER BY d.p DESC)
    ORDER BY 1 DESC
$$;
COMMENT ON FUNCTION shopml.pr_curve(text, regclass, jsonb) IS
  'Precision-recall curve of a two-class classifier on labelled rows: (threshold, precision, recall) for predicting positive at probability >= threshold, one point per distinct probability. options: version.';

CREATE OR REPLACE FUNCTION shopml.calibration_curve(model_name text, relation regclass, options jsonb DEFAULT '{}')
RETURNS TABLE (bin int, mean_predicted float8, observed_rate float8, n bigint)
LANGUAGE sql STABLE AS $$
    WITH s AS MATERIALIZED (SELECT s.* FROM (SELECT shopml._two_class(model_name, options, 'calibration_curve') AS thr) chk,
                                            LATERAL shopml._scored(model_name, relation, options) s
                             WHERE chk.thr IS NOT NULL),
         r AS (SELECT p, positive, row_number() OVER (ORDER BY p, positive::int) - 1 AS i,
                      count(*) OVER () AS total FROM s),
         k AS (SELECT coalesce(CASE WHEN jsonb_typeof(options->'bins') = 'number'
                                    THEN round((options->>'bins')::float8)::int END, 10) AS bins)
    SELECT g::int, avg(r.p), avg(r.positive::int)::float8, count(*)
      FROM r, k, generate_series(0, k.bins - 1) g
     WHERE r.i >= g * r.total / k.bins AND r.i < (g + 1) * r.total / k.bins
     GROUP BY g ORDER BY g
$$;
COMMENT ON FUNCTION shopml.calibration_curve(text, regclass, jsonb) IS
  'Calibration of a two-class classifier on labelled rows: per equal-count bin of the sorted probabilities (options.bins, 10), the mean predicted probability against the observed rate of the positive class; their size-weighted mean gap is evaluate''s calibration_error. options: bins, version.';

CREATE OR REPLACE FUNCTION shopml.confusion_matrix(model_name text, relation regclass, options jsonb DEFAULT '{}')
RETURNS TABLE (actual text, predicted text, n bigint)
LANGUAGE sql STABLE AS $$
    WITH v AS (SELECT * FROM shopml._evaluated_model(model_name, options)),
         s AS MATERIALIZED (SELECT * FROM shopml._scored(model_name, relation, options)),
         labels AS (SELECT (SELECT y FROM s WHERE positive LIMIT 1) AS pos,
                           (SELECT y FROM s WHERE NOT positive LIMIT 1) AS neg)
    SELECT s.y, CASE WHEN v.classes = 2 AND s.p IS NOT NULL
                     THEN CASE WHEN s.p >= v.threshold THEN coalesce(labels.pos, s.l) ELSE coalesce(labels.neg, s.l) END
                     ELSE s.l END, count(*)
      FROM s, v, labels
     WHERE v.task = 'classification' OR shopml._two_class(model_name, options, 'confusion_matrix') IS NULL
     GROUP BY 1, 2 ORDER BY 1, 2
$$;
COMMENT ON FUNCTION shopml.confusion_matrix(text, regclass, jsonb) IS
  'Counts of (actual, predicted) labels of a classifier on labelled rows; for two classes the predicted label is the positive class at probability >= options.threshold (0.5). options: threshold, version.';

-- requires:
--   catalog


CREATE OR REPLACE FUNCTION shopml._logistic_stats_trans(internal, bytea, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_trans' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._logistic_stats_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_combine' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._logistic_stats_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._logistic_stats_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._logistic_stats_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_final' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE AGGREGATE shopml._logistic_stats(bytea, VARIADIC "any") (
    SFUNC = shopml._logistic_stats_trans, STYPE = internal,
    COMBINEFUNC = shopml._logistic_stats_combine,
    SERIALFUNC = shopml._logistic_stats_serialize, DESERIALFUNC = shopml._logistic_stats_deserialize,
    FINALFUNC = shopml._logistic_stats_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml._logistic_stats(bytea, VARIADIC "any") IS
  'Internal: what train_logistic needs from one shard of a sharded table for one pass (objective, gradient and Hessian at a point, or the sums behind the metrics), as a partial state.';

-- requires:
--   catalog


CREATE OR REPLACE FUNCTION shopml.predict_classes(model_name text, "row" record)
    RETURNS TABLE(label text, probability float8)
    AS 'MODULE_PATHNAME', 'shopml_predict_classes_name_row' LANGUAGE C STABLE PARALLEL SAFE ROWS 3;
CREATE OR REPLACE FUNCTION shopml.predict_classes(model_name text, features float8[])
    RETURNS TABLE(label text, probability float8)
    AS 'MODULE_PATHNAME', 'shopml_predict_classes_name_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 3;
CREATE OR REPLACE FUNCTION shopml.predict_classes(model_id bigint, "row" record)
    RETURNS TABLE(label text, probability float8)
    AS 'MODULE_PATHNAME', 'shopml_predict_classes_id_row' LANGUAGE C STABLE PARALLEL SAFE ROWS 3;
CREATE OR REPLACE FUNCTION shopml.predict_classes(model_id bigint, features float8[])
    RETURNS TABLE(label text, probability float8)
    AS 'MODULE_PATHNAME', 'shopml_predict_classes_id_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 3;
COMMENT ON FUNCTION shopml.predict_classes(text, record) IS
  'Every class''s probability from the deployed version of a classifier (logistic, random forest, boosted trees binary or multiclass) for a table row: one row per class label, in class order, the probabilities summing to 1. No rows when the prediction is NULL.';
COMMENT ON FUNCTION shopml.predict_classes(text, float8[]) IS
  'shopml.predict_classes for one row of numeric features in model order.';
COMMENT ON FUNCTION shopml.predict_classes(bigint, record) IS
  'shopml.predict_classes of one specific model version (by model_id, deployed or not) for a table row.';
COMMENT ON FUNCTION shopml.predict_classes(bigint, float8[]) IS
  'shopml.predict_classes of one specific model version (by model_id) for one row of numeric features.';
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
  'Prediction of the deployed version of a model for one row of features (in the order of shopml.models.features). A NULL feature is prepared as the model''s impute option says (NULL under skip).';
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
  'Probability of the positive class from the deployed version of a classifier, for one row of features (in model order). A NULL feature is prepared as the model''s impute option says (NULL under skip).';
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
-- The same by model_id: a version that is not deployed (a challenger) scored beside the
-- deployed one (the champion) before shopml.deploy.
CREATE OR REPLACE FUNCTION shopml.predict(model_id bigint, "row" record) RETURNS float8 AS 'MODULE_PATHNAME', 'shopml_predict_id_row' LANGUAGE C STABLE PARALLEL SAFE COST 100;
CREATE OR REPLACE FUNCTION shopml.predict_proba(model_id bigint, features float8[]) RETURNS float8 AS 'MODULE_PATHNAME', 'shopml_predict_proba_id_array' LANGUAGE C STABLE PARALLEL SAFE COST 100;
CREATE OR REPLACE FUNCTION shopml.predict_proba(model_id bigint, "row" record) RETURNS float8 AS 'MODULE_PATHNAME', 'shopml_predict_proba_id_row' LANGUAGE C STABLE PARALLEL SAFE COST 100;
CREATE OR REPLACE FUNCTION shopml.predict_label(model_id bigint, features float8[]) RETURNS text AS 'MODULE_PATHNAME', 'shopml_predict_label_id_array' LANGUAGE C STABLE PARALLEL SAFE COST 100;
CREATE OR REPLACE FUNCTION shopml.predict_label(model_id bigint, "row" record) RETURNS text AS 'MODULE_PATHNAME', 'shopml_predict_label_id_row' LANGUAGE C STABLE PARALLEL SAFE COST 100;
COMMENT ON FUNCTION shopml.predict(bigint, record) IS
  'Prediction of one specific model version (by model_id, deployed or not) for a table row, as predict(model_name, row).';
COMMENT ON FUNCTION shopml.predict_proba(bigint, float8[]) IS
  'Probability of the positive class from one specific classifier version (by model_id), for one row of features in model order.';
COMMENT ON FUNCTION shopml.predict_proba(bigint, record) IS
  'Probability of the positive class from one specific classifier version (by model_id), for a table row.';
COMMENT ON FUNCTION shopml.predict_label(bigint, float8[]) IS
  'Predicted label of one specific classifier or k-means version (by model_id), for one row of features in model order.';
COMMENT ON FUNCTION shopml.predict_label(bigint, record) IS
  'Predicted label of one specific classifier or k-means version (by model_id), for a table row.';
COMMENT ON FUNCTION shopml.predict(text, record) IS
  'Prediction of the deployed version of a model for a table row: features are matched by column name, and the group column picks the sub-model of a grouped model (an unseen group gives NULL).';

-- requires:
--   predict_functions


CREATE OR REPLACE FUNCTION shopml.explain(model_name text, "row" record, top_k int DEFAULT NULL)
    RETURNS TABLE(feature text, value text, contribution float8)
    AS 'MODULE_PATHNAME', 'shopml_explain_name_row' LANGUAGE C STABLE PARALLEL SAFE ROWS 12;
CREATE OR REPLACE FUNCTION shopml.explain(model_name text, features float8[], top_k int DEFAULT NULL)
    RETURNS TABLE(feature text, value text, contribution float8)
    AS 'MODULE_PATHNAME', 'shopml_explain_name_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 12;
CREATE OR REPLACE FUNCTION shopml.explain(model_id bigint, "row" record, top_k int DEFAULT NULL)
    RETURNS TABLE(feature text, value text, contribution float8)
    AS 'MODULE_PATHNAME', 'shopml_explain_id_row' LANGUAGE C STABLE PARALLEL SAFE ROWS 12;
CREATE OR REPLACE FUNCTION shopml.explain(model_id bigint, features float8[], top_k int DEFAULT NULL)
    RETURNS TABLE(feature text, value text, contribution float8)
    AS 'MODULE_PATHNAME', 'shopml_explain_id_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 12;
COMMENT ON FUNCTION shopml.explain(text, record, int) IS
  'Why the deployed model predicts what it does for a table row: (baseline) first — the expected score over the training rows, its value column naming the scale (prediction for linear models, log-odds for logistic ones, probability of <label> for forests) — then one row per input, largest |contribution| first: linear and logistic contribution = coefficient x (prepared value - training mean), forests exact path-dependent TreeSHAP; all rows sum to the score exactly. top_k keeps the largest k inputs and sums the rest in (other). No rows when the prediction is NULL.';
COMMENT ON FUNCTION shopml.explain(text, float8[], int) IS
  'shopml.explain for one row of numeric features in model order (see explain(text, record, int)).';
COMMENT ON FUNCTION shopml.explain(bigint, record, int) IS
  'shopml.explain of one specific model version (by model_id, deployed or not) for a table row.';
COMMENT ON FUNCTION shopml.explain(bigint, float8[], int) IS
  'shopml.explain of one specific model version (by model_id) for one row of numeric features in model order.';

-- requires:
--   catalog


CREATE OR REPLACE FUNCTION shopml._prep_stats_trans(internal, bytea, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_trans' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._prep_stats_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_combine' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._prep_stats_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._prep_stats_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._prep_stats_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_final' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE AGGREGATE shopml._prep_stats(bytea, VARIADIC "any") (
    SFUNC = shopml._prep_stats_trans, STYPE = internal,
    COMBINEFUNC = shopml._prep_stats_combine,
    SERIALFUNC = shopml._prep_stats_serialize, DESERIALFUNC = shopml._prep_stats_deserialize,
    FINALFUNC = shopml._prep_stats_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml._prep_stats(bytea, VARIADIC "any") IS
  'Internal: learns train_linear''s feature preparation (fills, centres, scales, categories) from the training rows in one parallel scan.';

CREATE OR REPLACE FUNCTION shopml._linear_stats_trans(internal, bytea, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_trans' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._linear_stats_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_combine' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._linear_stats_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._linear_stats_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._linear_stats_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_final' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE AGGREGATE shopml._linear_stats(bytea, VARIADIC "any") (
    SFUNC = shopml._linear_stats_trans, STYPE = internal,
    COMBINEFUNC = shopml._linear_stats_combine,
    SERIALFUNC = shopml._linear_stats_serialize, DESERIALFUNC = shopml._linear_stats_deserialize,
    FINALFUNC = shopml._linear_stats_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml._linear_stats(bytea, VARIADIC "any") IS
  'Internal: one-pass sufficient statistics (train/test split, MAE sample) that train_linear scans with.';

CREATE OR REPLACE FUNCTION shopml._linear_fit_trans(internal, float8, float8[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_trans' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._linear_fit_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_combine' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._linear_fit_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._linear_fit_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._linear_fit_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_final' LANGUAGE C PARALLEL SAFE;
CREATE OR REPLACE AGGREGATE shopml.linear_fit(y float8, x float8[]) (
    SFUNC = shopml._linear_fit_trans, STYPE = internal,
    COMBINEFUNC = shopml._linear_fit_combine,
    SERIALFUNC = shopml._linear_fit_serialize, DESERIALFUNC = shopml._linear_fit_deserialize,
    FINALFUNC = shopml._linear_fit_final,
    PARALLEL = SAFE
);
CREATE OR REPLACE FUNCTION shopml._linear_partial_trans(bytea, float8, float8[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_partial_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION shopml._linear_partial_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_partial_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE AGGREGATE shopml.linear_partial(y float8, x float8[]) (
    SFUNC = shopml._linear_partial_trans, STYPE = bytea,
    COMBINEFUNC = shopml._linear_partial_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml.linear_partial(float8, float8[]) IS
  'The statistics linear_fit computes, as a bytea state (count, means, co-moments; a few KB, whatever the row count) that can be merged with shopml.linear_merge and fitted with shopml.linear_fit_state: for tables split across servers (its state is a value with a combine function, as Citus needs to run it on workers; postgres_fdw ships it with extensions ''shopml'').';
CREATE OR REPLACE AGGREGATE shopml.linear_merge(bytea) (
    SFUNC = shopml._linear_partial_combine, STYPE = bytea,
    COMBINEFUNC = shopml._linear_partial_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml.linear_merge(bytea) IS
  'Adds shopml.linear_partial states (from shards, groups or servers) into one state; XX001 for a damaged state or one of a newer format.';

COMMENT ON AGGREGATE shopml.linear_fit(float8, float8[]) IS
  'Least-squares fit of y on x (with intercept) in one pass, parallel and GROUP BY friendly: jsonb {coefficients, intercept, std_errors, t_stats, p_values, r2, n, skipped, aliased}. Rows with a NULL or NaN are skipped and counted; collinear columns are aliased (NULL coefficient).';

-- shopml::linear::_linear_scan_config
CREATE OR REPLACE FUNCTION "_linear_scan_config"(
	"n_inputs" INT, /* i32 */
	"test_fraction" double precision DEFAULT 0.2, /* f64 */
	"mae_sample" bool DEFAULT true /* bool */
) RETURNS bytea /* Vec < u8 > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_linear_scan_config_wrapper';

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
	"p_value" double precision,  /* Option < f64 > */
	"odds_ratio" double precision  /* Option < f64 > */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'coefficients_wrapper';

-- shopml::experiment::create_price_experiment
CREATE OR REPLACE FUNCTION "create_price_experiment"(
	"experiment_name" TEXT, /* Option < & str > */
	"demand_model" TEXT, /* Option < & str > */
	"products" regclass, /* Option < PgRelation > */
	"product_column" TEXT DEFAULT 'product_id', /* Option < & str > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"experiment_id" bigint,  /* i64 */
	"experiment_name" TEXT,  /* String */
	"n_products" INT,  /* i32 */
	"pooled_prior" INT,  /* i32 */
	"policy" TEXT,  /* String */
	"start_at" timestamp with time zone,  /* TimestampWithTimeZone */
	"period" TEXT  /* String */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'create_price_experiment_wrapper';

-- shopml::experiment::experiment_report
CREATE OR REPLACE FUNCTION "experiment_report"(
	"experiment_name" TEXT /* Option < & str > */
) RETURNS TABLE (
	"period" INT,  /* i32 */
	"period_start" timestamp with time zone,  /* TimestampWithTimeZone */
	"products_served" INT,  /* i32 */
	"products_recorded" INT,  /* i32 */
	"units" double precision,  /* f64 */
	"revenue" double precision,  /* f64 */
	"profit" double precision,  /* f64 */
	"expected_profit" double precision,  /* Option < f64 > */
	"best_expected_profit" double precision,  /* Option < f64 > */
	"regret" double precision,  /* Option < f64 > */
	"cumulative_regret" double precision,  /* Option < f64 > */
	"off_policy" INT  /* i32 */
)
STABLE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'experiment_report_wrapper';

-- shopml::experiment::experiment_status
CREATE OR REPLACE FUNCTION "experiment_status"(
	"experiment_name" TEXT /* Option < & str > */
) RETURNS TABLE (
	"product_id" bigint,  /* i64 */
	"current_price" double precision,  /* f64 */
	"best_price" double precision,  /* f64 */
	"prob_best" double precision,  /* f64 */
	"expected_profit" double precision,  /* f64 */
	"profit_low" double precision,  /* f64 */
	"profit_high" double precision,  /* f64 */
	"elasticity" double precision,  /* f64 */
	"elasticity_sd" double precision,  /* f64 */
	"periods" double precision,  /* f64 */
	"units" double precision,  /* f64 */
	"prior" TEXT  /* String */
)
STABLE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'experiment_status_wrapper';

-- shopml::recommend::explain_recommendation
CREATE OR REPLACE FUNCTION "explain_recommendation"(
	"model_name" TEXT, /* Option < & str > */
	"user_id" bigint, /* Option < i64 > */
	"item_id" bigint, /* Option < i64 > */
	"k" INT DEFAULT 10 /* Option < i32 > */
) RETURNS TABLE (
	"item_id" bigint,  /* i64 */
	"contribution" double precision,  /* f64 */
	"rank" INT  /* i32 */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'explain_recommendation_wrapper';

-- shopml::recommend::explain_recommendation
CREATE OR REPLACE FUNCTION "explain_recommendation"(
	"model_name" TEXT, /* Option < & str > */
	"user_id" TEXT, /* Option < & str > */
	"item_id" TEXT, /* Option < & str > */
	"k" INT DEFAULT 10 /* Option < i32 > */
) RETURNS TABLE (
	"item_id" TEXT,  /* String */
	"contribution" double precision,  /* f64 */
	"rank" INT  /* i32 */
)
STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'explain_recommendation_text_wrapper';

-- shopml::models::feature_importance
CREATE OR REPLACE FUNCTION "feature_importance"(
	"model_name" TEXT /* Option < & str > */
) RETURNS TABLE (
	"feature" TEXT,  /* String */
	"importance" double precision  /* f64 */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'feature_importance_wrapper';

-- shopml::split::folds
CREATE OR REPLACE FUNCTION "folds"(
	"relation" regclass, /* Option < PgRelation > */
	"folds" INT DEFAULT 5, /* i32 */
	"group_column" TEXT DEFAULT NULL, /* Option < & str > */
	"seed" bigint DEFAULT 0 /* i64 */
) RETURNS TABLE (
	"row_number" bigint,  /* i64 */
	"row_ctid" TEXT,  /* Option < String > */
	"fold" INT  /* i32 */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'folds_wrapper';

-- shopml::recommend::item_factors
CREATE OR REPLACE FUNCTION "item_factors"(
	"model_name" TEXT, /* Option < & str > */
	"version" INT DEFAULT NULL /* Option < i32 > */
) RETURNS TABLE (
	"item_id" TEXT,  /* String */
	"factors" double precision[]  /* Vec < f64 > */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'item_factors_wrapper';

-- shopml::linear::linear_fit_state
CREATE OR REPLACE FUNCTION "linear_fit_state"(
	"state" bytea /* & [u8] */
) RETURNS jsonb /* Option < pgrx :: JsonB > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'linear_fit_state_wrapper';

-- shopml::models::model_kinds
CREATE OR REPLACE FUNCTION "model_kinds"() RETURNS TABLE (
	"algorithm" TEXT,  /* String */
	"task" TEXT,  /* String */
	"format_version" INT,  /* i32 */
	"oldest_format" INT,  /* i32 */
	"trainer" TEXT,  /* String */
	"serving" TEXT  /* String */
)
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'model_kinds_wrapper';

-- shopml::experiment::next_price
CREATE OR REPLACE FUNCTION "next_price"(
	"experiment_name" TEXT, /* Option < & str > */
	"product_id" bigint, /* Option < i64 > */
	"period_start" timestamp with time zone DEFAULT now() /* Option < TimestampWithTimeZone > */
) RETURNS double precision /* f64 */
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'next_price_wrapper';

-- shopml::experiment::next_prices
CREATE OR REPLACE FUNCTION "next_prices"(
	"experiment_name" TEXT, /* Option < & str > */
	"period_start" timestamp with time zone DEFAULT now() /* Option < TimestampWithTimeZone > */
) RETURNS TABLE (
	"product_id" bigint,  /* i64 */
	"price" double precision,  /* f64 */
	"arm" INT,  /* i32 */
	"propensity" double precision,  /* f64 */
	"reason" TEXT  /* String */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'next_prices_wrapper';

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

-- shopml::demand::predict_demand
CREATE OR REPLACE FUNCTION "predict_demand"(
	"model_name" TEXT, /* Option < & str > */
	"product_id" bigint, /* Option < i64 > */
	"price" double precision, /* Option < f64 > */
	"controls" jsonb DEFAULT NULL, /* Option < JsonB > */
	"version" INT DEFAULT NULL /* Option < i32 > */
) RETURNS TABLE (
	"expected_units" double precision,  /* f64 */
	"low" double precision,  /* f64 */
	"high" double precision,  /* f64 */
	"elasticity" double precision  /* f64 */
)
STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'predict_demand_wrapper';

-- shopml::demand::predict_demand
CREATE OR REPLACE FUNCTION "predict_demand"(
	"model_name" TEXT, /* Option < & str > */
	"product_id" TEXT, /* Option < & str > */
	"price" double precision, /* Option < f64 > */
	"controls" jsonb DEFAULT NULL, /* Option < JsonB > */
	"version" INT DEFAULT NULL /* Option < i32 > */
) RETURNS TABLE (
	"expected_units" double precision,  /* f64 */
	"low" double precision,  /* f64 */
	"high" double precision,  /* f64 */
	"elasticity" double precision  /* f64 */
)
STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'predict_demand_text_wrapper';

-- shopml::serve::table::predict_table
CREATE OR REPLACE FUNCTION "predict_table"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < PgRelation > */
	"key_column" TEXT, /* Option < & str > */
	"options" jsonb DEFAULT '{}' /* Option < pgrx :: JsonB > */
) RETURNS TABLE (
	"key" TEXT,  /* Option < String > */
	"prediction" double precision  /* Option < f64 > */
)
STABLE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'predict_table_wrapper';

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

-- shopml::recommend::recommend_for_items
CREATE OR REPLACE FUNCTION "recommend_for_items"(
	"model_name" TEXT, /* Option < & str > */
	"items" bigint[], /* :: std :: option :: Option < Vec < Option < i64 > > > */
	"k" INT DEFAULT 10, /* Option < i32 > */
	"exclude_given" bool DEFAULT true, /* Option < bool > */
	"candidates" bigint[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < i64 > > > */
	"weights" double precision[] DEFAULT NULL /* :: std :: option :: Option < Vec < Option < f64 > > > */
) RETURNS TABLE (
	"item_id" bigint,  /* i64 */
	"score" double precision,  /* f64 */
	"rank" INT  /* i32 */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'recommend_for_items_wrapper';

-- shopml::recommend::recommend_for_items
CREATE OR REPLACE FUNCTION "recommend_for_items"(
	"model_name" TEXT, /* Option < & str > */
	"items" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"k" INT DEFAULT 10, /* Option < i32 > */
	"exclude_given" bool DEFAULT true, /* Option < bool > */
	"candidates" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"weights" double precision[] DEFAULT NULL /* :: std :: option :: Option < Vec < Option < f64 > > > */
) RETURNS TABLE (
	"item_id" TEXT,  /* String */
	"score" double precision,  /* f64 */
	"rank" INT  /* i32 */
)
STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'recommend_for_items_text_wrapper';

-- shopml::experiment::record_sales
CREATE OR REPLACE FUNCTION "record_sales"(
	"experiment_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < PgRelation > */
	"product_column" TEXT DEFAULT 'product_id', /* Option < & str > */
	"period_column" TEXT DEFAULT 'period_start', /* Option < & str > */
	"price_column" TEXT DEFAULT 'price', /* Option < & str > */
	"units_column" TEXT DEFAULT 'units' /* Option < & str > */
) RETURNS TABLE (
	"product_periods" bigint,  /* i64 */
	"units" double precision,  /* f64 */
	"revenue" double precision,  /* f64 */
	"profit" double precision,  /* f64 */
	"off_policy" bigint,  /* i64 */
	"off_policy_units" double precision,  /* f64 */
	"already_recorded" bigint,  /* i64 */
	"skipped_rows" bigint,  /* i64 */
	"skipped" jsonb  /* JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_sales_wrapper';

-- shopml::experiment::simulate_price_experiment
CREATE OR REPLACE FUNCTION "simulate_price_experiment"(
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"policy" TEXT,  /* String */
	"prior" TEXT,  /* String */
	"period" INT,  /* i32 */
	"regret" double precision,  /* f64 */
	"cumulative_regret" double precision,  /* f64 */
	"profit" double precision,  /* f64 */
	"oracle_profit" double precision,  /* f64 */
	"violations" bigint  /* i64 */
)
IMMUTABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'simulate_price_experiment_wrapper';

-- shopml::split::split
CREATE OR REPLACE FUNCTION "split"(
	"relation" regclass, /* Option < PgRelation > */
	"test_fraction" double precision DEFAULT 0.2, /* f64 */
	"split_column" TEXT DEFAULT NULL, /* Option < & str > */
	"split_seed" bigint DEFAULT 0 /* i64 */
) RETURNS TABLE (
	"row_number" bigint,  /* i64 */
	"row_ctid" TEXT,  /* Option < String > */
	"held_out" bool  /* bool */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'split_wrapper';

-- shopml::experiment::stop_price_experiment
CREATE OR REPLACE FUNCTION "stop_price_experiment"(
	"experiment_name" TEXT, /* Option < & str > */
	"adopt" TEXT DEFAULT 'posterior_best', /* Option < & str > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"product_id" bigint,  /* i64 */
	"price" double precision,  /* f64 */
	"previous_price" double precision,  /* f64 */
	"reason" TEXT  /* String */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'stop_price_experiment_wrapper';

-- shopml::boosted::train_boosted
CREATE OR REPLACE FUNCTION "train_boosted"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < pgrx :: PgRelation > */
	"target" TEXT, /* Option < & str > */
	"features" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"options" jsonb DEFAULT '{}' /* Option < pgrx :: JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"n_test" bigint,  /* i64 */
	"metrics" jsonb  /* pgrx :: JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_boosted_wrapper';

-- shopml::demand::train_demand
CREATE OR REPLACE FUNCTION "train_demand"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < pgrx :: PgRelation > */
	"product_column" TEXT, /* Option < & str > */
	"price_column" TEXT, /* Option < & str > */
	"quantity_column" TEXT, /* Option < & str > */
	"features" TEXT[] DEFAULT '{}', /* :: std :: option :: Option < Vec < Option < String > > > */
	"options" jsonb DEFAULT '{}' /* Option < pgrx :: JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_products" bigint,  /* i64 */
	"n_obs" bigint,  /* i64 */
	"metrics" jsonb  /* pgrx :: JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_demand_wrapper';

-- shopml::forest::train_forest
CREATE OR REPLACE FUNCTION "train_forest"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < pgrx :: PgRelation > */
	"target" TEXT, /* Option < & str > */
	"features" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"options" jsonb DEFAULT '{}' /* Option < pgrx :: JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"n_test" bigint,  /* i64 */
	"metrics" jsonb  /* pgrx :: JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_forest_wrapper';

-- shopml::kmeans::train_kmeans
CREATE OR REPLACE FUNCTION "train_kmeans"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < pgrx :: PgRelation > */
	"features" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"k" INT, /* Option < i32 > */
	"options" jsonb DEFAULT '{}' /* Option < pgrx :: JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"metrics" jsonb  /* pgrx :: JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_kmeans_wrapper';

-- shopml::linear::train_linear
CREATE OR REPLACE FUNCTION "train_linear"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < pgrx :: PgRelation > */
	"target" TEXT, /* Option < & str > */
	"features" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"options" jsonb DEFAULT '{}' /* Option < pgrx :: JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"n_test" bigint,  /* i64 */
	"metrics" jsonb  /* pgrx :: JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_linear_wrapper';

-- shopml::logistic::train_logistic
CREATE OR REPLACE FUNCTION "train_logistic"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < pgrx :: PgRelation > */
	"target" TEXT, /* Option < & str > */
	"features" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"options" jsonb DEFAULT '{}' /* Option < pgrx :: JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"n_test" bigint,  /* i64 */
	"metrics" jsonb  /* pgrx :: JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_logistic_wrapper';

-- shopml::recommend::train_recommender
CREATE OR REPLACE FUNCTION "train_recommender"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < pgrx :: PgRelation > */
	"user_column" TEXT, /* Option < & str > */
	"item_column" TEXT, /* Option < & str > */
	"weight_column" TEXT DEFAULT NULL, /* Option < & str > */
	"options" jsonb DEFAULT '{}' /* Option < pgrx :: JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_users" bigint,  /* i64 */
	"n_items" bigint,  /* i64 */
	"n_interactions" bigint,  /* i64 */
	"metrics" jsonb  /* pgrx :: JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_recommender_wrapper';

-- shopml::tune::trials
CREATE OR REPLACE FUNCTION "trials"(
	"model_name" TEXT, /* Option < & str > */
	"version" INT DEFAULT NULL /* Option < i32 > */
) RETURNS TABLE (
	"trial" INT,  /* i32 */
	"options" jsonb,  /* JsonB */
	"mean" double precision,  /* Option < f64 > */
	"std" double precision,  /* Option < f64 > */
	"per_fold" double precision[],  /* Vec < Option < f64 > > */
	"seconds" double precision,  /* Option < f64 > */
	"chosen" bool  /* bool */
)
STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'trials_wrapper';

-- shopml::tune::tune
CREATE OR REPLACE FUNCTION "tune"(
	"model_name" TEXT, /* Option < & str > */
	"trainer" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < PgRelation > */
	"arguments" jsonb DEFAULT '{}', /* Option < JsonB > */
	"search" jsonb DEFAULT '{}', /* Option < JsonB > */
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
AS 'MODULE_PATHNAME', 'tune_wrapper';

-- shopml::update::update
CREATE OR REPLACE FUNCTION "update"(
	"model_name" TEXT, /* Option < & str > */
	"relation" regclass, /* Option < pgrx :: PgRelation > */
	"options" jsonb DEFAULT '{}' /* Option < pgrx :: JsonB > */
) RETURNS TABLE (
	"model_id" bigint,  /* i64 */
	"model_name" TEXT,  /* String */
	"version" INT,  /* i32 */
	"n_train" bigint,  /* i64 */
	"n_test" bigint,  /* i64 */
	"metrics" jsonb  /* pgrx :: JsonB */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'update_wrapper';

-- sql/comments.sql
-- COMMENT ON for the functions pgrx generates (so \df+ documents every public object).
COMMENT ON FUNCTION shopml.train_linear(text, regclass, text, text[], jsonb) IS
  'Trains a linear regression (OLS, or ridge with "l2") of target on features over a table or view, in place and in one parallel scan; stores it as the next version of model_name. Text features are one-hot encoded (up to max_categories values); NULLs are skipped or imputed. options: l2, fit_intercept, test_fraction, split_column, group_by, standardize (false), impute (skip|mean|median|zero), max_categories, deploy.';
COMMENT ON FUNCTION shopml.coefficients(text, int) IS
  'Coefficients of a linear or logistic model (deployed version unless given). Linear: standard error, t statistic and two-sided p-value (NULL for aliased, constant or collinear, features). Logistic (log-odds per unit of the prepared input): standard error from the inverse of the penalised Fisher information at the fit, Wald z in t_stat, two-sided normal p-value, and odds_ratio = exp(coefficient); standard errors NULL for L1 or hashed (OWL-QN) fits. Multinomial logistic: one group per class (group_key the label) of the symmetric softmax coefficients, which sum to 0 over the classes (the difference of two classes'' coefficients is the log odds ratio between them), without standard errors. odds_ratio is NULL for linear and multinomial models.';
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
  'Trains a logistic regression of a boolean, number or text target. Two classes: binary, with an L2 penalty (l2 = 1/C, default 1) and optional L1; numbers standardised, text one-hot up to max_categories values and hashed into hash_buckets (2^18) sparse features beyond; Newton''s method when dense, OWL-QN when sparse or L1; held-out AUC, log-loss, accuracy, precision, recall, F1 and calibration error; predict gives the label (a number, or 0/1 for booleans and text: 1 the last label), predict_proba the probability of the last label. More classes (up to 200): multinomial (softmax) with an L2 penalty, as scikit-learn''s multinomial LogisticRegression, by Newton''s method (dense inputs, at most 1200 coefficients); held-out accuracy, log-loss and macro precision/recall/F1; predict_classes gives every class''s probability, predict_label the most probable, predict a numeric label. options: l1, l2, class_weight (none|balanced), standardize, impute, max_categories, hash_buckets, test_fraction, max_iter, deploy.';
COMMENT ON FUNCTION shopml.train_forest(text, regclass, text, text[], jsonb) IS
  'Trains a random forest (CART trees on bootstrap samples, grown in parallel on the shopml.threads pool): a classifier (Gini splits) of an integer, boolean or text target with two or more classes, or a regression forest (squared-error splits, leaves the mean target) of a number; task auto chooses regression for a number with fractional values, a float or numeric column of more than 20 distinct values, or more than 1000 distinct values (said in metrics.task). Text features one-hot encoded up to max_categories. n_trees 1 with bootstrap false and max_features all is one decision tree. Held-out metrics: AUC, log-loss, accuracy, precision, recall, F1, calibration for two classes; accuracy, log-loss and macro precision/recall/F1 for more; rmse, mae, r2 for regression. options: task (auto|classification|regression), n_trees (100), max_depth (unlimited), min_samples_leaf (1), max_features (sqrt|log2|all|count|fraction; sqrt for classes, all for regression), bootstrap (true), seed, class_weight, max_bins (255), impute, max_categories, test_fraction, deploy.';
COMMENT ON FUNCTION shopml.train_boosted(text, regclass, text, text[], jsonb) IS
  'Trains gradient-boosted trees (histogram-based, leaf-wise, second-order like LightGBM; grown on the shopml.threads pool, the same model for any thread count). objective: binary (boolean, 0/1 or two-valued text), regression (squared error), poisson (counts), multiclass (softmax; text or integer labels), lambdarank (ranking within group_column, e.g. the products shown for one search query; target = relevance 0..30, gain 2^rel - 1; predict is the ranking score; held-out split by group; metrics ndcg@10 and map@10); by default binary for boolean/0-1/two-valued targets, multiclass for other text, regression for numbers (said in metrics.objective). NULL or NaN numbers are kept as missing and go down the side each split learnt; text one-hot up to max_categories. Held-out metrics per objective, best_iteration and the per-iteration train/test loss (metrics.curve). options: objective, n_trees (100), learning_rate (0.1), num_leaves (31), max_depth, min_data_in_leaf (20), min_sum_hessian (1e-3), l2, l1, min_gain, subsample + subsample_freq, colsample (per tree), max_bins (255), early_stopping_rounds (on the held-out rows; the best iteration kept), monotone ({"price": -1}), group_column, class_weight, scale_pos_weight, seed, impute (keep), max_categories, test_fraction, split_column, split_seed, deploy.';
COMMENT ON FUNCTION shopml.predict_table(text, regclass, text, jsonb) IS
  'Scores every row of a table or view with a model (any kind served by shopml.predict): the key column''s value as text and the prediction, in scan order. The model''s inputs are matched by column name and prepared as stored; blocks of 16,384 prepared rows are scored on the shopml.threads pool. options: output (predict | probability), version (a version that is not deployed).';
COMMENT ON FUNCTION shopml.feature_importance(text) IS
  'Importance of each input column of a classifier, summing to 1: for a logistic model the standard deviation of the column''s contribution to the score over the training rows (|standardised coefficient| for a number), for a forest the mean decrease in Gini impurity, for boosted trees the share of the total split gain.';
COMMENT ON FUNCTION shopml.model_kinds() IS
  'The kinds of model this shopml stores and serves (its model registry): algorithm, task, the model format version it writes and the oldest it reads, the trainer and the functions that serve it.';
COMMENT ON FUNCTION shopml._linear_scan_config(int, float8, bool) IS
  'Internal: the configuration train_linear passes to shopml._linear_stats for n_inputs numeric inputs used as they are, with or without the MAE row sample (without: the few-KB state a shard returns); for tests of the aggregate.';
COMMENT ON FUNCTION shopml.split(regclass, float8, text, bigint) IS
  'Which rows of a relation a training with these options holds out (the same rows for every trainer and feature list): row_number in the scan, row_ctid (for tables; join on ctid::text), held_out. The split uses the row''s ctid for tables, its position for views, or the split_column value, never the row''s values.';
COMMENT ON FUNCTION shopml.create_price_experiment(text, text, regclass, text, jsonb) IS
  'Creates a price experiment over the products of a table (bigint product ids, current price and unit cost from price_column and cost_column): a price ladder per product (ladder: fractions of the current price, default 0.85..1.15 in 0.05 steps, or ladder_column with explicit prices), the rules min_price, max_price, min_margin and max_change (from the previous period''s price), period (default ''1 week''), start, policy (thompson|ucb|greedy|epsilon_greedy|fixed), a prior per product from the demand model (its elasticity and standard error, the pooled estimate for products it does not know) scaled by prior_weight, objective (profit|revenue), epsilon, ucb_scale, level_sd and seed.';
COMMENT ON FUNCTION shopml.next_prices(text, timestamptz) IS
  'One ladder price per product for the period containing period_start (product_id, price, arm = ladder position from 0, propensity = its probability under the policy, reason). The first call of a period decides and stores it; every later or concurrent call returns the same prices. Refused (22023) once the experiment is stopped.';
COMMENT ON FUNCTION shopml.next_price(text, bigint, timestamptz) IS
  'The price of one product for the period containing period_start (as next_prices).';
COMMENT ON FUNCTION shopml.record_sales(text, regclass, text, text, text, text) IS
  'Adds the sales of ended periods to an experiment (rows: product, a date or timestamp within the period, price, units; several rows of a product and period add up). Idempotent per product and period: a product-period already recorded adds nothing. Sales at another price than the one served, or in a period never served, are counted as off-policy and still inform the posterior; unknown products, NULLs, non-positive prices, negative units and periods not yet over are skipped and counted.';
COMMENT ON FUNCTION shopml.experiment_status(text) IS
  'Per product: the best ladder price by posterior expected profit, its posterior probability of being the best, its expected profit per period with a 90 % interval, the posterior elasticity and its standard deviation, the periods and units recorded, and whether its prior came from the demand model or the pool.';
COMMENT ON FUNCTION shopml.experiment_report(text) IS
  'Per period: products served and recorded, units, revenue and profit recorded, the posterior expected profit of the prices served and of the posterior-best prices, and the estimated regret (their difference) with its running total.';
COMMENT ON FUNCTION shopml.stop_price_experiment(text, text, jsonb) IS
  'Stops an experiment and returns the price it adopts for each product: posterior_best (default), current or last (served). options: train_model (true: save a new version of the demand model whose experiment products carry the experiment''s posterior), model_name, deploy.';
COMMENT ON FUNCTION shopml.simulate_price_experiment(jsonb) IS
  'Runs policies against a simulated market with known elasticities and Poisson demand (the same ladder, rules and posterior as a live experiment) and returns the mean over seeds of regret, cumulative regret, profit and the oracle''s profit per policy, prior and period, and rule violations. options: n_products (200), periods (90), seeds (20), seed, policies, priors (model, flat), elasticity ([-3.5, -1.2]), base_units ([5, 40]), cost_share ([0.4, 0.7]), ladder, prior_sd (0.3), level_prior_sd (0.3), min_margin, max_change, epsilon, ucb_scale.';
COMMENT ON FUNCTION shopml.predict_demand(text, bigint, float8, jsonb, int) IS
  'Expected units of a product of a bigint-keyed demand model at a price (one period, as trained), with controls given as a JSON object (the product''s averages otherwise), and a 90 % interval of the expected units from the elasticity''s standard error (zero width at the product''s typical price; the level''s own uncertainty is not stored); version for one that is not deployed. For a table of planned prices use LATERAL.';
COMMENT ON FUNCTION shopml.predict_demand(text, text, float8, jsonb, int) IS
  'predict_demand for demand models trained on text or uuid product keys.';
COMMENT ON FUNCTION shopml.linear_fit_state(bytea) IS
  'Least-squares fit (with intercept) of a shopml.linear_partial or shopml.linear_merge state: the same jsonb as shopml.linear_fit {coefficients, intercept, std_errors, t_stats, p_values, r2, n, skipped, aliased}; NULL for too few rows, XX001 for a damaged state.';
COMMENT ON FUNCTION shopml.recommend_for_items(text, bigint[], int, boolean, bigint[], float8[]) IS
  'Top-k items (item_id, score, rank) for an anonymous session or a cart of a bigint-keyed recommender, from the items it holds: ALS folds the session in as a new user with the exact ALS user step (the model''s regularization and confidence 1 + alpha x weight), item-kNN sums the neighbour similarities times the weights. weights (one per item, >= 0, default 1) tell e.g. views from cart adds; repeated items add up; unknown items are ignored; exclude_given drops the given items; candidates restricts the answer. No known item gives the most popular items.';
COMMENT ON FUNCTION shopml.recommend_for_items(text, text[], int, boolean, text[], float8[]) IS
  'recommend_for_items for a text- or uuid-keyed recommender (see the bigint form).';
COMMENT ON FUNCTION shopml.item_factors(text, int) IS
  'The item factors (embeddings) of an ALS recommender, deployed version unless given: item_id as text, factors as float8[]; 22023 for item-kNN models.';
COMMENT ON FUNCTION shopml.update(text, regclass, jsonb) IS
  'A new version of a model from its deployed version (options.version: another) and only the rows of relation: linear models add the new rows'' statistics (prepared as the stored version prepares) to the stored ones and refit, which equals a full retrain on the old and new rows together; metrics are those of the new rows (test_fraction 0.2 of them held out, split_column, split_seed) with parent_version, rows_added and training_rows; deployed unless "deploy": false. Logistic models (dense, Newton fits): a Bayesian online step, the stored solution and curvature the Gaussian prior of a fit on the new rows (decay in (0, 1] scales the prior to forget old data; max_iter). k-means: centroids pooled with the new rows nearest them, the stored segments weighing as their sizes times decay (max_iter steps). Random forests: n_trees more trees (default: as many as stored) grown on the new rows with the stored options and a new seed, appended. since_column (+ since the first time) reads only the rows after the high-water mark the last update stored. Other kinds: 0A000 in this version.';
COMMENT ON FUNCTION shopml.explain_recommendation(text, bigint, bigint, int) IS
  'The user''s items behind the score of item_id for user_id (item_id, contribution, rank; largest |contribution| first, top k): ALS by Hu, Koren and Volinsky''s decomposition of the user step (contributions sum to the score of the user''s history folded in, as recommend_for_items gives it), item-kNN each of the user''s items'' similarity to the item (summing to the kNN score). No rows for an unknown user or item.';
COMMENT ON FUNCTION shopml.explain_recommendation(text, text, text, int) IS
  'explain_recommendation for a text- or uuid-keyed recommender (see the bigint form).';
COMMENT ON FUNCTION shopml.tune(text, text, regclass, jsonb, jsonb, jsonb) IS
  'Searches a trainer''s options by k-fold cross-validation and saves the winner, refitted on all rows, as the next version of model_name (deployed unless options.deploy is false); returns the trainer''s row. trainer: linear, logistic, forest or boosted (train_ prefix optional). arguments: {"target": ..., "features": [...], "options": {the trainer''s fixed options}}. search: {"option": [values]} for a grid (scikit-learn''s ParameterGrid order), or ranges {"min", "max", "log", "integer"} drawn n_iter times (seed). options: folds (5), group_column (one group''s rows in one fold), time_column (folds + 1 blocks of time; fold i trains on the earlier blocks and is scored on block i, as scikit-learn''s TimeSeriesSplit), metric (the held-out metric to select by; default r2 for regression, auc for two classes, ndcg@10 for ranking, log_loss for more classes), n_iter (10), seed (0: the folds'' and the draws''), deploy. The winner has the best mean over the folds (the first in search order on a tie). Each trial trains the trainer itself on every fold (nothing stored); a train_linear search of l2 alone (no standardize or mean imputation) reads the relation once and fits every candidate and fold from the folds'' statistics. Every trial is kept in metrics.tuning (see shopml.trials).';
COMMENT ON FUNCTION shopml.trials(text, int) IS
  'The trials of a model''s tuning (the latest version made by shopml.tune, or version): trial number, the options tried, the mean and (population) standard deviation of the metric over the folds, each fold''s value, seconds, and whether it was chosen.';
COMMENT ON FUNCTION shopml.folds(regclass, int, text, bigint) IS
  'The cross-validation fold (0 .. folds - 1) of each row of a relation, as shopml.tune and the trainers'' folds + fold options make them: row_number in the scan, row_ctid (for tables; join on ctid::text), fold. Keyed like shopml.split: the ctid for tables, the position for views, or the group_column value (one group''s rows share a fold).';
