-- shopml.evaluate (shopml 0.3): a model's metrics on new labelled rows, computed in SQL from
-- its own predict functions (so rows are prepared exactly as they are served). CREATE OR
-- REPLACE, so the update scripts include this file as it is.
CREATE OR REPLACE FUNCTION shopml.evaluate(model_name text, relation regclass DEFAULT NULL,
                                           options jsonb DEFAULT '{}')
RETURNS TABLE (metric text, value float8)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    v_model  record;
    v_key    text;
    v_thr    float8 := 0.5;
    v_source text;
BEGIN
    IF evaluate.model_name IS NULL THEN
        RAISE EXCEPTION 'model_name must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(coalesce(evaluate.options, '{}')) <> 'object' THEN
        RAISE EXCEPTION 'evaluate: options must be a JSON object' USING ERRCODE = '22023';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(coalesce(evaluate.options, '{}')) LOOP
        IF v_key NOT IN ('version', 'threshold') THEN
            RAISE EXCEPTION 'evaluate: unknown option "%"', v_key
              USING ERRCODE = '22023', HINT = 'Known options: threshold, version.';
        END IF;
    END LOOP;
    IF evaluate.options ? 'threshold' THEN
        IF jsonb_typeof(evaluate.options->'threshold') <> 'number'
           OR NOT (evaluate.options->>'threshold')::float8 BETWEEN 0 AND 1 THEN
            RAISE EXCEPTION 'evaluate: option "threshold" must be a number in [0, 1], got %',
                evaluate.options->'threshold' USING ERRCODE = '22023';
        END IF;
        v_thr := (evaluate.options->>'threshold')::float8;
    END IF;
    IF evaluate.options ? 'version' AND jsonb_typeof(evaluate.options->'version') <> 'number' THEN
        RAISE EXCEPTION 'evaluate: option "version" must be a version number, got %',
            evaluate.options->'version' USING ERRCODE = '22023';
    END IF;
    SELECT m.model_id, m.version, m.task, m.target, m.metrics INTO v_model
      FROM shopml.models m
     WHERE m.model_name = evaluate.model_name
       AND CASE WHEN evaluate.options ? 'version'
                THEN m.version = (evaluate.options->>'version')::int ELSE m.deployed END;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" has no %', evaluate.model_name,
            coalesce('version ' || (evaluate.options->>'version'), 'deployed version')
          USING ERRCODE = '42704',
                HINT = 'SELECT model_name, version, deployed FROM shopml.models lists the models.';
    END IF;
    -- No relation: the metrics stored at training (held-out rows), one row each.
    IF evaluate.relation IS NULL THEN
        RETURN QUERY SELECT mm.metric, mm.value FROM shopml.model_metrics mm
                      WHERE mm.model_id = v_model.model_id ORDER BY 1;
        RETURN;
    END IF;
    IF v_model.task NOT IN ('regression', 'classification') OR v_model.target IS NULL THEN
        RAISE EXCEPTION 'evaluate on new rows serves regression and classification models in this version; model "%" is a % model',
            evaluate.model_name, v_model.task
          USING ERRCODE = '0A000', HINT = 'shopml.evaluate(model_name) gives its stored metrics.';
    END IF;
    -- Rows whose target or prediction is NULL (an unseen group, a NULL feature) are left out.
    v_source := format('SELECT (t.%1$I)%2$s AS y, %3$s AS p, %4$s AS l FROM %5$s t',
        v_model.target,
        CASE WHEN v_model.task = 'regression' THEN '::float8' ELSE '::text' END,
        CASE WHEN v_model.task = 'regression' THEN format('shopml.predict(%s::bigint, t)', v_model.model_id)
             WHEN coalesce((v_model.metrics->>'classes')::int, 2) = 2
             THEN format('shopml.predict_proba(%s::bigint, t)', v_model.model_id)
             ELSE 'NULL::float8' END,
        CASE WHEN v_model.task = 'regression' THEN 'NULL::text'
             ELSE format('shopml.predict_label(%s::bigint, t)', v_model.model_id) END,
        evaluate.relation);
    IF v_model.task = 'regression' THEN
        RETURN QUERY EXECUTE format($q$
            WITH s AS (%s), r AS (SELECT y, p FROM s WHERE y IS NOT NULL AND p IS NOT NULL),
                 a AS (SELECT count(*)::float8 AS n, avg(y) AS my FROM r),
                 e AS (SELECT sum((y - p) ^ 2) AS sse, sum((y - a.my) ^ 2) AS sst, sum(abs(y - p)) AS sae,
                              avg(abs(y - p) / abs(y)) FILTER (WHERE y <> 0) AS mape
                         FROM r, a)
            SELECT x.k, x.v FROM a, e, LATERAL (VALUES
                ('n', a.n), ('r2', 1 - e.sse / nullif(e.sst, 0)), ('rmse', sqrt(e.sse / nullif(a.n, 0))),
                ('mae', e.sae / nullif(a.n, 0)), ('mape', e.mape)) x(k, v)$q$, v_source);
        RETURN;
    END IF;
    IF coalesce((v_model.metrics->>'classes')::int, 2) <> 2 THEN
        RETURN QUERY EXECUTE format($q$
            WITH s AS (%s), r AS (SELECT y, l FROM s WHERE y IS NOT NULL AND l IS NOT NULL)
            SELECT x.k, x.v FROM (SELECT count(*)::float8 AS n, avg((y = l)::int) AS acc FROM r) c,
                 LATERAL (VALUES ('n', c.n), ('accuracy', c.acc)) x(k, v)$q$, v_source);
        RETURN;
    END IF;
    -- Two classes: the positive class is the label predicted where the probability is at least
    -- 0.5 (or, when no row reaches it, the target value that is never predicted).
    RETURN QUERY EXECUTE format($q$
        WITH s AS MATERIALIZED (SELECT * FROM (%s) q WHERE y IS NOT NULL AND p IS NOT NULL),
             pos AS (SELECT coalesce((SELECT l FROM s WHERE p >= 0.5 LIMIT 1),
                                     (SELECT y FROM s WHERE y NOT IN (SELECT l FROM s) LIMIT 1)) AS label),
             r AS (SELECT s.p, (s.y = pos.label)::int::float8 AS t,
                          row_number() OVER (ORDER BY s.p, (s.y = pos.label)::int) - 1 AS i,
                          rank() OVER (ORDER BY s.p) AS lo_rank, count(*) OVER (PARTITION BY s.p) AS ties
                     FROM s, pos),
             c AS (SELECT count(*)::float8 AS n, sum(t) AS npos,
                          sum(CASE WHEN t = 1 THEN lo_rank + (ties - 1) / 2.0 END) AS rank_pos,
                          avg(-(t * ln(greatest(least(p, 1 - 1e-15), 1e-15))
                                + (1 - t) * ln(1 - greatest(least(p, 1 - 1e-15), 1e-15)))) AS log_loss,
                          count(*) FILTER (WHERE p >= %2$s AND t = 1)::float8 AS tp,
                          count(*) FILTER (WHERE p >= %2$s AND t = 0)::float8 AS fp,
                          count(*) FILTER (WHERE p < %2$s AND t = 0)::float8 AS tn,
                          count(*) FILTER (WHERE p < %2$s AND t = 1)::float8 AS fn
                     FROM r),
             -- ten equal-count bins of the sorted probabilities (rows b·n/10 .. (b+1)·n/10 − 1)
             b AS (SELECT sum(abs(avg_p - avg_t) * m) / max(c.n) AS ece
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
            ('calibration_error', b.ece)) x(k, v)$q$, v_source, v_thr);
END
$fn$;
COMMENT ON FUNCTION shopml.evaluate(text, regclass, jsonb) IS
  'Metrics of a model (the deployed version, or options.version) on labelled rows of a table or view, columns matched by name and prepared as predict does: regression n, r2, rmse, mae, mape; two-class classification n, auc, log_loss, accuracy, precision, recall, f1 (at options.threshold, 0.5) and calibration_error (ten equal-count bins); more classes n and accuracy. Rows with a NULL target or prediction are left out. Without a relation: the metrics stored at training. Other kinds: 0A000 in this version.';
