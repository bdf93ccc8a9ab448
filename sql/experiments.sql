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
