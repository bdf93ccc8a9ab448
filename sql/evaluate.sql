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
