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
