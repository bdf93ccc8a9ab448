-- shopml catalog: every trained model is a row; a deployment picks one version per name.
-- Model rows are never updated: a model_id always means the same bytes, which lets backends
-- cache decoded models by id.

CREATE TABLE shopml.model (
    model_id    bigserial PRIMARY KEY,
    model_name  text        NOT NULL CHECK (model_name <> ''),
    version     int         NOT NULL CHECK (version > 0),
    algorithm   text        NOT NULL,
    task        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  name        NOT NULL DEFAULT current_user,
    source      text,
    target      text,
    features    text[],
    params      jsonb       NOT NULL DEFAULT '{}',
    metrics     jsonb       NOT NULL DEFAULT '{}',
    n_train     bigint,
    n_test      bigint,
    model_bytes bytea       NOT NULL,
    UNIQUE (model_name, version)
);
COMMENT ON TABLE shopml.model IS
  'Every trained shopml model version with its metrics and serialised bytes (read it through the shopml.models view).';

CREATE TABLE shopml.deployment (
    model_name  text PRIMARY KEY,
    model_id    bigint NOT NULL REFERENCES shopml.model (model_id) ON DELETE CASCADE,
    deployed_at timestamptz NOT NULL DEFAULT now(),
    deployed_by name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE shopml.deployment IS
  'The version of each model name that predict and recommend functions use.';

-- Models are data: pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('shopml.model', '');
SELECT pg_catalog.pg_extension_config_dump('shopml.model_model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('shopml.deployment', '');

CREATE VIEW shopml.models AS
SELECT m.model_id, m.model_name, m.version, m.algorithm, m.task,
       (d.model_id IS NOT NULL) AS deployed,
       m.created_at, m.created_by, m.source, m.target, m.features, m.params, m.metrics,
       m.n_train, m.n_test, octet_length(m.model_bytes)::bigint AS size_bytes
FROM shopml.model m
LEFT JOIN shopml.deployment d ON d.model_id = m.model_id;
COMMENT ON VIEW shopml.models IS
  'One row per trained model version: what it was trained on, its held-out metrics, and whether it is deployed.';
