-- shopml.update: a linear model updated with new rows equals a full retrain on the old and
-- new rows together (plain, ridge, grouped with a new group, with text inputs), metrics on the
-- update's own held-out rows, chains of updates, deploy false, bad inputs.
SELECT setseed(0.75) \g /dev/null
CREATE TABLE up_rows AS
SELECT i, x1, x2, (ARRAY['a', 'b', 'c'])[1 + (i % 3)] AS g,
       CASE WHEN i % 5 = 0 THEN 'red' ELSE 'blue' END AS colour,
       1 + 2 * x1 - 3 * x2 + CASE WHEN i % 5 = 0 THEN 0.5 ELSE 0 END + (random() - 0.5) AS y
FROM (SELECT i, random() AS x1, random() * 2 AS x2 FROM generate_series(1, 3000) i) s;
-- The new rows bring a group the model has never seen.
UPDATE up_rows SET g = 'd' WHERE i > 2000 AND i % 7 = 0;
CREATE VIEW up_old AS SELECT * FROM up_rows WHERE i <= 2000;
CREATE VIEW up_new AS SELECT * FROM up_rows WHERE i > 2000;
CREATE VIEW up_newer AS SELECT * FROM up_rows WHERE i > 2500;
CREATE VIEW up_first AS SELECT * FROM up_rows WHERE i BETWEEN 2001 AND 2500;
-- (Aliased lines, NULL on both sides, count as the same.)
CREATE FUNCTION pg_temp.same(a text, b text) RETURNS TABLE(lines bigint, same boolean) LANGUAGE sql AS $$
  SELECT count(*), bool_and((x.coefficient IS NULL AND y.coefficient IS NULL AND x.feature = y.feature
                             OR coalesce(abs(x.coefficient - y.coefficient) <= 1e-9 * greatest(1, abs(y.coefficient)), false))
                            AND (x.std_error IS NULL AND y.std_error IS NULL
                                 OR coalesce(abs(x.std_error - y.std_error) <= 1e-9 * greatest(1, abs(y.std_error)), false)))
  FROM shopml.coefficients(a) x
  FULL JOIN shopml.coefficients(b) y ON x.group_key IS NOT DISTINCT FROM y.group_key AND x.feature = y.feature
$$;
-- Plain OLS.
SELECT version FROM shopml.train_linear('up', 'up_old', 'y', ARRAY['x1', 'x2'], '{"test_fraction": 0}');
SELECT version, n_train, n_test, metrics->'parent_version' AS parent, metrics->'rows_added' AS added,
       metrics->'training_rows' AS training_rows
FROM shopml.update('up', 'up_new', '{"test_fraction": 0}');
SELECT version FROM shopml.train_linear('up_full', 'up_rows', 'y', ARRAY['x1', 'x2'], '{"test_fraction": 0}');
SELECT * FROM pg_temp.same('up', 'up_full');
SELECT (SELECT (metrics->'train'->>'r2')::float8 FROM shopml.models WHERE model_name = 'up_full')
     > 0 AS full_fit_is_sane, deployed FROM shopml.models WHERE model_name = 'up' AND version = 2;
-- Ridge, a text input (one-hot by the stored preparation) and a group column with a new group.
SELECT version FROM shopml.train_linear('upg', 'up_old', 'y', ARRAY['x1', 'x2', 'colour'],
                                        '{"test_fraction": 0, "group_by": "g", "l2": 5}');
SELECT version, metrics->'groups' AS groups FROM shopml.update('upg', 'up_new', '{"test_fraction": 0}');
SELECT version FROM shopml.train_linear('upg_full', 'up_rows', 'y', ARRAY['x1', 'x2', 'colour'],
                                        '{"test_fraction": 0, "group_by": "g", "l2": 5}');
SELECT * FROM pg_temp.same('upg', 'upg_full');
SELECT array_agg(DISTINCT group_key ORDER BY group_key) AS groups FROM shopml.coefficients('upg');
-- Two updates in a row equal one retrain; each names its parent.
SELECT version FROM shopml.train_linear('upc', 'up_old', 'y', ARRAY['x1', 'x2'], '{"test_fraction": 0}');
SELECT version, metrics->'parent_version' AS parent FROM shopml.update('upc', 'up_first', '{"test_fraction": 0}');
SELECT version, metrics->'parent_version' AS parent FROM shopml.update('upc', 'up_newer', '{"test_fraction": 0}');
SELECT * FROM pg_temp.same('upc', 'up_full');
-- From a version that is not deployed, without deploying; metrics on the update's held-out rows.
SELECT version, n_test BETWEEN 50 AND 150 AS holds_out_a_fifth_of_the_new_rows,
       (metrics->'test'->>'n')::int = n_test AS test_metrics_on_them, metrics ? 'r2' AS has_r2
FROM shopml.update('upc', 'up_newer', '{"version": 1, "deploy": false}');
SELECT version, deployed FROM shopml.models WHERE model_name = 'upc' ORDER BY version;
SELECT params->'updated_from' AS updated_from, params->'update'->'source' AS source
FROM shopml.models WHERE model_name = 'upc' AND version = 4;
-- A scheduled job passes the whole table: since_column reads only the rows after the mark the
-- last update stored (the first update is told where the model's rows end).
CREATE TABLE up_stream AS
SELECT i, x1, x2, y, timestamptz '2026-11-01 00:00+00' + i * interval '1 minute' AS at FROM up_rows WHERE i <= 2500;
CREATE VIEW up_stream_old AS SELECT * FROM up_stream WHERE i <= 2000;
SELECT version FROM shopml.train_linear('ups', 'up_stream_old', 'y', ARRAY['x1', 'x2'], '{"test_fraction": 0}');
SELECT version, metrics->'rows_added' AS added
FROM shopml.update('ups', 'up_stream', jsonb_build_object('since_column', 'at', 'test_fraction', 0,
                                                          'since', (SELECT at FROM up_stream WHERE i = 2000)));
INSERT INTO up_stream SELECT i, x1, x2, y, timestamptz '2026-11-01 00:00+00' + i * interval '1 minute' FROM up_rows WHERE i > 2500;
SELECT version, metrics->'rows_added' AS added FROM shopml.update('ups', 'up_stream', '{"since_column": "at", "test_fraction": 0}');
SELECT version, (params->'high_water'->>'value')::timestamptz = (SELECT max(at) FROM up_stream) AS mark_is_the_latest_row
FROM shopml.models WHERE model_name = 'ups' ORDER BY version;
SELECT * FROM pg_temp.same('ups', 'up_full');
SELECT n, regress.err(q) FROM (VALUES
  (1, $$SELECT * FROM shopml.update('ups', 'up_stream', '{"since_column": "at"}')$$),
  (2, $$SELECT * FROM shopml.update('ups', 'up_stream', '{"since_column": "x1"}')$$),
  (3, $$SELECT * FROM shopml.update('ups', 'up_stream', '{"since": "2026-11-01"}')$$),
  (4, $$SELECT * FROM shopml.update('ups', 'up_stream', '{"since_column": "at", "since": "soon"}')$$),
  (5, $$SELECT * FROM shopml.update('ups', 'up_stream', '{"since_column": "nope"}')$$),
  (6, $$SELECT * FROM shopml.update('ups', 'up_rows', '{"since_column": "g"}')$$)
) c(n, q) ORDER BY n;

-- k-means: each centroid moves to (size x old centroid + the new rows nearest it) / (size + their
-- count) — one step checked in SQL from the old segments and the old version's assignments.
CREATE TABLE upk AS
SELECT i, (i % 3) * 5 + random() AS a, (i % 3) * -3 + 2 * random() AS b FROM generate_series(1, 3000) i;
CREATE VIEW upk_old AS SELECT * FROM upk WHERE i <= 2000;
CREATE VIEW upk_new AS SELECT * FROM upk WHERE i > 2000;
SELECT version FROM shopml.train_kmeans('uk', 'upk_old', ARRAY['a', 'b'], 3, '{"seed": 1}');
CREATE TEMP TABLE uk_old AS SELECT * FROM shopml.segments('uk');
CREATE TEMP TABLE uk_assigned AS
SELECT r.*, shopml.predict(m.model_id, r)::int AS segment FROM upk_new r, shopml.models m WHERE m.model_name = 'uk' AND m.version = 1;
SELECT version, metrics->'rows_added' AS added, metrics->'iterations' AS steps FROM shopml.update('uk', 'upk_new', '{"max_iter": 1}');
WITH want AS (
  SELECT o.segment, o.feature, (o.size * o.centroid + coalesce(sum(CASE o.feature WHEN 'a' THEN r.a ELSE r.b END), 0))
                              / (o.size + count(r.i)) AS centroid, o.size + count(r.i) AS size
  FROM uk_old o LEFT JOIN uk_assigned r USING (segment) GROUP BY o.segment, o.feature, o.size, o.centroid)
SELECT count(*) AS lines, bool_and(abs(n.centroid - w.centroid) < 1e-9) AS centroids_are_the_pooled_means,
       bool_and(n.size = w.size) AS sizes_add_up
FROM shopml.segments('uk') n JOIN want w USING (segment, feature);
-- Run to convergence, and with the old segments forgotten (decay) it is k-means on the new rows.
SELECT version, (metrics->>'iterations')::int >= 1 AS stepped FROM shopml.update('uk', 'upk_new', '{"version": 1, "decay": 1e-9}');
SELECT max(abs(n.centroid - o.centroid)) < 0.05 AS same_segments_as_before
FROM shopml.segments('uk') n JOIN uk_old o USING (segment, feature);

-- Random forests: n_trees more trees grown on the new rows (stored options, seed + parent version),
-- appended: the updated forest's probability is the average of the old forest's and that of a
-- forest trained on the new rows alone with the same options and seed.
CREATE TABLE upf AS SELECT i, x1, x2, (x1 + x2 > 1.2) AS hit FROM up_rows;
CREATE VIEW upf_old AS SELECT * FROM upf WHERE i <= 2000;
CREATE VIEW upf_new AS SELECT * FROM upf WHERE i > 2000;
SELECT version FROM shopml.train_forest('uf', 'upf_old', 'hit', ARRAY['x1', 'x2'], '{"n_trees": 10, "max_depth": 4, "test_fraction": 0}');
SELECT version, metrics->'trees' AS trees, metrics->'trees_added' AS added FROM shopml.update('uf', 'upf_new', '{"test_fraction": 0}');
SELECT version FROM shopml.train_forest('uf_new', 'upf_new', 'hit', ARRAY['x1', 'x2'], '{"n_trees": 10, "max_depth": 4, "test_fraction": 0, "seed": 43}');
SELECT max(abs(shopml.predict_proba('uf', r) - (shopml.predict_proba(m.model_id, r) + shopml.predict_proba('uf_new', r)) / 2)) < 1e-6
         AS average_of_old_and_new_trees
FROM upf r, shopml.models m WHERE m.model_name = 'uf' AND m.version = 1;
SELECT version, metrics->'trees' AS trees, n_test > 0 AS held_out FROM shopml.update('uf', 'upf_new', '{"n_trees": 5}');
SELECT count(*) AS lines, abs(sum(contribution) - (SELECT shopml.predict_proba('uf', r) FROM upf r WHERE i = 7)) < 1e-6 AS still_explained
FROM upf r, shopml.explain('uf', r) WHERE r.i = 7;
CREATE TABLE upf_other AS SELECT i, x1, x2, (i % 3)::text AS hit FROM up_rows;
CREATE TABLE upf_int AS SELECT i, x1, x2, (i % 2) AS hit FROM up_rows;

-- Logistic: a Bayesian online step, the stored fit (its solution and curvature) the prior of a
-- fit on the new rows. Close to the fit on all rows (Laplace's quadratic stands in for the
-- old rows' log-likelihood), far closer than a fit on the new rows alone.
CREATE TABLE upl AS
SELECT i, x1, x2, random() < 1 / (1 + exp(-(-0.5 + 1.5 * x1 - 2 * x2))) AS clicked
FROM (SELECT i, random() * 2 - 1 AS x1, random() * 2 - 1 AS x2 FROM generate_series(1, 40000) i) s;
CREATE VIEW upl_old AS SELECT * FROM upl WHERE i <= 20000;
CREATE VIEW upl_new AS SELECT * FROM upl WHERE i > 20000;
SELECT version FROM shopml.train_logistic('ul', 'upl_old', 'clicked', ARRAY['x1', 'x2'], '{"test_fraction": 0, "standardize": false}');
SELECT version, n_train, metrics->'parent_version' AS parent, metrics->'rows_added' AS added, metrics->'decay' AS decay
FROM shopml.update('ul', 'upl_new', '{"test_fraction": 0}');
SELECT version FROM shopml.train_logistic('ul_full', 'upl', 'clicked', ARRAY['x1', 'x2'], '{"test_fraction": 0, "standardize": false}');
SELECT version FROM shopml.train_logistic('ul_new', 'upl_new', 'clicked', ARRAY['x1', 'x2'], '{"test_fraction": 0, "standardize": false}');
CREATE TEMP TABLE ul_coef AS
SELECT u.feature, u.coefficient AS upd, f.coefficient AS full_fit, n.coefficient AS new_only,
       u.std_error AS upd_se, o.std_error AS old_se
FROM shopml.coefficients('ul') u JOIN shopml.coefficients('ul_full') f USING (feature)
JOIN shopml.coefficients('ul_new') n USING (feature) JOIN shopml.coefficients('ul', 1) o USING (feature);
SELECT max(abs(upd - full_fit)) < 2e-3 AS close_to_the_fit_on_all_rows,
       max(abs(upd - full_fit)) < 0.25 * max(abs(new_only - full_fit)) AS closer_than_the_new_rows_alone,
       bool_and(abs(upd_se * sqrt(2) - old_se) < 0.05 * old_se) AS twice_the_rows_shrink_errors_by_sqrt2
FROM ul_coef;
-- A small decay forgets the old fit: the update moves to the fit on the new rows.
SELECT version FROM shopml.update('ul', 'upl_new', '{"version": 1, "decay": 0.001, "test_fraction": 0, "deploy": false}');
SELECT max(abs(d.coefficient - n.coefficient)) < 0.01 AS forgets_the_old_rows
FROM shopml.coefficients('ul', 3) d JOIN shopml.coefficients('ul_new') n USING (feature);
-- Updates chain, on the update's own held-out rows; the default (standardised) preparation.
SELECT version FROM shopml.train_logistic('uls', 'upl_old', 'clicked', ARRAY['x1', 'x2']);
SELECT version, n_test BETWEEN 3500 AND 4500 AS holds_out_a_fifth, (metrics->'test'->>'auc')::float8 > 0.7 AS auc
FROM shopml.update('uls', 'upl_new');
-- (Four fifths of each half trained these; the full fit had every row: near it all the same,
-- nearer than the new rows alone.)
SELECT max(abs(ln(a / (1 - a)) - ln(b / (1 - b)))) < 0.5 * max(abs(ln(c / (1 - c)) - ln(b / (1 - b)))) AS logits_nearer_the_full_fit
FROM (SELECT shopml.predict_proba('uls', r) a, shopml.predict_proba('ul_full', r) b, shopml.predict_proba('ul_new', r) c
      FROM upl r WHERE i % 40 = 0) s;
CREATE TABLE upl_hashed AS SELECT i, x1, 'v' || (i % 50) AS site, clicked FROM upl;
SELECT version FROM shopml.train_logistic('ul_hash', 'upl_hashed', 'clicked', ARRAY['x1', 'site'], '{"max_categories": 5}');
SELECT version FROM shopml.train_logistic('ul_l1', 'upl_old', 'clicked', ARRAY['x1', 'x2'], '{"l1": 1}');
CREATE TABLE upl_int AS SELECT i, x1, x2, clicked::int AS clicked FROM upl;
CREATE TABLE upl_three AS SELECT i, x1, x2, (i % 3) AS clicked FROM upl;
CREATE TABLE upl_empty AS SELECT * FROM upl WHERE false;

-- Bad inputs; nothing is written by a failed update.
CREATE TABLE up_inter AS SELECT i AS u, i % 7 AS it FROM generate_series(1, 100) i;
SELECT version FROM shopml.train_recommender('up_rec', 'up_inter', 'u', 'it', options => '{"method": "item_knn", "test_fraction": 0}');
SELECT version FROM shopml.train_logistic('ul_int', 'upl_int', 'clicked', ARRAY['x1', 'x2']);
CREATE TABLE up_no_x2 AS SELECT i, x1, y FROM up_rows;
CREATE TABLE up_text_x2 AS SELECT i, x1, x2::text AS x2, y FROM up_rows;
CREATE TABLE up_empty AS SELECT * FROM up_rows WHERE false;
CREATE TEMP TABLE up_before AS SELECT count(*) AS n FROM shopml.model;
SELECT n, regress.err(q) FROM (VALUES
  (1, $$SELECT * FROM shopml.update('up_rec', 'up_inter')$$),
  (2, $$SELECT * FROM shopml.update('up', 'up_no_x2')$$),
  (3, $$SELECT * FROM shopml.update('up', 'up_text_x2')$$),
  (4, $$SELECT * FROM shopml.update('up', 'up_empty')$$),
  (5, $$SELECT * FROM shopml.update('no_such_model', 'up_new')$$),
  (6, $$SELECT * FROM shopml.update('up', 'up_new', '{"version": 99}')$$),
  (7, $$SELECT * FROM shopml.update('up', 'up_new', '{"l2": 3}')$$),
  (8, $$SELECT * FROM shopml.update('up', NULL)$$),
  (9, $$SELECT * FROM shopml.update(NULL, 'up_new')$$),
  (10, $$SELECT * FROM shopml.update('ul_hash', 'upl_hashed')$$),
  (11, $$SELECT * FROM shopml.update('ul_l1', 'upl_new')$$),
  (12, $$SELECT * FROM shopml.update('ul', 'upl_new', '{"decay": 0}')$$),
  (13, $$SELECT * FROM shopml.update('ul', 'upl_new', '{"decay": 1.5}')$$),
  (14, $$SELECT * FROM shopml.update('up', 'up_new', '{"decay": 0.5}')$$),
  (15, $$SELECT * FROM shopml.update('ul', 'upl_int')$$),
  (16, $$SELECT * FROM shopml.update('ul', 'upl_empty')$$),
  (17, $$SELECT * FROM shopml.update('ul_int', 'upl_three')$$),
  (18, $$SELECT * FROM shopml.update('uf', 'upf_other')$$),
  (19, $$SELECT * FROM shopml.update('uf', 'upf_int')$$),
  (20, $$SELECT * FROM shopml.update('uf', 'upf_new', '{"n_trees": -1}')$$)
) c(n, q) ORDER BY n;
SELECT count(*) = (SELECT n FROM up_before) AS nothing_written FROM shopml.model;
