-- The training pipeline every trainer shares: the held-out split, wide models, char(n)
-- categories, date and timestamp features, columns that are not features (money, oid, json),
-- exclude and key columns, the type check of _predict_args, and version numbers.
SET client_min_messages = warning;
SELECT setseed(0.125) \g /dev/null

-- 1. The split does not depend on the rows' values. Two features with six combinations, so
--    every row has thousands of identical twins; a split by the row's values would put all
--    twins on one side (held-out AUC far from the training AUC), the split by position spreads
--    them like any other rows.
CREATE TABLE pl_dup AS
SELECT i, (i % 2)::float8 AS a, (i % 3)::float8 AS b,
       random() < CASE WHEN i % 2 = 0 THEN 0.7 ELSE 0.3 END AS y
FROM generate_series(1, 20000) i;
SELECT n_test BETWEEN 3800 AND 4200 AS about_a_fifth,
       abs((metrics->'test'->>'auc')::float8 - (metrics->'train'->>'auc')::float8) < 0.03 AS test_like_train
FROM shopml.train_forest('pl_dup_forest', 'pl_dup', 'y', ARRAY['a', 'b'], '{"n_trees": 5}');
-- The held-out AUC is that of the held-out rows, recomputed in SQL from shopml.split.
CREATE TEMP TABLE pl_scored AS
SELECT d.y::int AS y, shopml.predict_proba('pl_dup_forest', d) AS p
FROM pl_dup d JOIN shopml.split('pl_dup') s ON s.row_ctid = d.ctid::text WHERE s.held_out;
SELECT count(*) = (SELECT n_test FROM shopml.models WHERE model_name = 'pl_dup_forest') AS same_rows,
       abs(sql.auc - (m.metrics->'test'->>'auc')::float8) < 1e-9 AS auc_agrees
FROM pl_scored,
     (SELECT (sum(r) FILTER (WHERE y = 1) - count(*) FILTER (WHERE y = 1) * (count(*) FILTER (WHERE y = 1) + 1) / 2.0)
             / (count(*) FILTER (WHERE y = 1) * count(*) FILTER (WHERE y = 0)) AS auc
      FROM (SELECT y, rank() OVER (ORDER BY p) + (count(*) OVER (PARTITION BY p) - 1) / 2.0 AS r FROM pl_scored) t) sql,
     shopml.models m WHERE m.model_name = 'pl_dup_forest'
GROUP BY sql.auc, m.metrics;
-- The same rows are held out whatever the features and the trainer; split_seed draws another
-- split; split_column keeps the rows of a key together.
SELECT (SELECT n_test FROM shopml.train_logistic('pl_l1', 'pl_dup', 'y', ARRAY['a'])) AS one_feature,
       (SELECT n_test FROM shopml.train_logistic('pl_l2', 'pl_dup', 'y', ARRAY['a', 'b'])) AS two_features,
       (SELECT n_test FROM shopml.train_linear('pl_lin', 'pl_dup', 'a', ARRAY['b'])) AS linear,
       (SELECT count(*) FROM shopml.split('pl_dup') WHERE held_out) AS split;
SELECT (SELECT n_test FROM shopml.train_logistic('pl_seed', 'pl_dup', 'y', ARRAY['a'], '{"split_seed": 7}'))
       = (SELECT count(*) FROM shopml.split('pl_dup', split_seed => 7) WHERE held_out) AS seed_is_used,
       (SELECT count(*) FROM shopml.split('pl_dup', split_seed => 7) s JOIN shopml.split('pl_dup') t USING (row_number)
        WHERE s.held_out <> t.held_out) > 1000 AS another_split;
SELECT (SELECT count(DISTINCT b) FROM pl_dup d JOIN shopml.split('pl_dup', split_column => 'b') s ON s.row_ctid = d.ctid::text
        WHERE s.held_out) = 1 AS one_key_held_out,
       (SELECT n_test FROM shopml.train_logistic('pl_key', 'pl_dup', 'y', ARRAY['a'], '{"split_column": "b"}'))
       = (SELECT count(*) FROM shopml.split('pl_dup', split_column => 'b') WHERE held_out) AS whole_keys;
-- A view is split by position in a serial scan: the same rows as the table it shows.
CREATE VIEW pl_dup_view AS SELECT * FROM pl_dup;
SELECT (SELECT n_test FROM shopml.train_logistic('pl_view', 'pl_dup_view', 'y', ARRAY['a'])) AS view_n_test,
       (SELECT count(*) FROM shopml.split('pl_dup_view') WHERE held_out) AS view_split;

-- 2. Wide models: four 30-level text columns (120 one-hot features) and 97 numeric columns train
--    (features beyond 90 reach the aggregate as one ROW(...)); the fits are exact.
CREATE TABLE pl_wide_text AS
SELECT i, 'a' || (i % 30) AS c1, 'b' || (i % 29) AS c2, 'c' || (i % 31) AS c3, 'd' || (i % 27) AS c4,
       ((i % 30) + 2 * (i % 29) - (i % 31) + 0.5 * (i % 27))::float8 AS y
FROM generate_series(1, 6000) i;
SELECT n_train, jsonb_array_length(metrics->'aliased') AS aliased, (metrics->'train'->>'rmse')::float8 < 1e-6 AS exact
FROM shopml.train_linear('pl_wide_text', 'pl_wide_text', 'y', ARRAY['c1', 'c2', 'c3', 'c4'], '{"test_fraction": 0}');
SELECT count(*) AS coefficients FROM shopml.coefficients('pl_wide_text');
SELECT max(abs(shopml.predict('pl_wide_text', t) - t.y)) < 1e-6 AS predicts_exactly FROM pl_wide_text t;
DO $$
BEGIN
  EXECUTE 'CREATE TABLE pl_wide_num AS SELECT ' ||
    (SELECT string_agg(format('random() AS x%s', j), ', ') FROM generate_series(1, 97) j) ||
    ' FROM generate_series(1, 3000) i';
  -- y = 3 + Σ (j mod 5 − 2)·xj, no noise.
  EXECUTE 'ALTER TABLE pl_wide_num ADD COLUMN y float8';
  EXECUTE 'UPDATE pl_wide_num SET y = 3 + ' ||
    (SELECT string_agg(format('%s * x%s', j % 5 - 2, j), ' + ') FROM generate_series(1, 97) j);
END $$;
SELECT (metrics->'train'->>'rmse')::float8 < 1e-6 AS exact
FROM shopml.train_linear('pl_wide_num', 'pl_wide_num', 'y', NULL, '{"test_fraction": 0}');
SELECT array_length(features, 1) AS features FROM shopml.models WHERE model_name = 'pl_wide_num';
SELECT max(abs(coefficient - CASE WHEN feature = '(intercept)' THEN 3 ELSE substr(feature, 2)::int % 5 - 2 END)) < 1e-9 AS generating_coefficients
FROM shopml.coefficients('pl_wide_num');

-- 3. char(n) categories: read without their padding in training and in prediction alike.
CREATE TABLE pl_char AS
SELECT i, (ARRAY['ab', 'cde', 'f'])[1 + i % 3]::char(5) AS code, (i % 7)::float8 AS x,
       (i % 7) * 2.0 + (ARRAY[10, 20, 30])[1 + i % 3] AS y
FROM generate_series(1, 600) i;
SELECT (metrics->'train'->>'rmse')::float8 < 1e-9 AS exact
FROM shopml.train_linear('pl_char', 'pl_char', 'y', ARRAY['x', 'code'], '{"test_fraction": 0}');
SELECT feature FROM shopml.coefficients('pl_char') ORDER BY feature;
SELECT max(abs(shopml.predict('pl_char', c) - c.y)) < 1e-9 AS categories_match FROM pl_char c;
SELECT round(shopml.predict('pl_char', r)::numeric, 6) AS padded_input
FROM (SELECT 3.0::float8 AS x, 'cde  '::char(5) AS code) r;

-- 4. Dates and timestamps become day of week, day of month, month, (hour) and days since
--    1970-01-01, stored with the model and applied again by row prediction.
CREATE TABLE pl_dates AS
SELECT d::date AS day, d + (i % 24) * interval '1 hour' AS seen_at,
       3 * extract(isodow FROM d) + 0.5 * extract(day FROM d) + (i % 24) AS y
FROM generate_series(1, 1500) i, LATERAL (SELECT timestamp '2024-01-01' + i * interval '1 day' AS d) s;
SELECT (metrics->'train'->>'rmse')::float8 < 1e-6 AS exact
FROM shopml.train_linear('pl_dates', 'pl_dates', 'y', ARRAY['day', 'seen_at'], '{"test_fraction": 0}');
SELECT p->'inputs'->0->>'encoding' AS day, p->'inputs'->1->'parts' AS seen_at_parts
FROM (SELECT params->'preparation' AS p FROM shopml.models WHERE model_name = 'pl_dates') m;
SELECT feature, round(coefficient::numeric, 6) AS coefficient FROM shopml.coefficients('pl_dates')
WHERE feature IN ('day.day_of_week', 'seen_at.hour') ORDER BY feature;
SELECT max(abs(shopml.predict('pl_dates', d) - d.y)) < 1e-6 AS predicts_exactly FROM pl_dates d;
SELECT regress.err($$SELECT shopml.predict('pl_dates', ARRAY[1.0, 2.0])$$) AS array_for_date_model;
SELECT regress.err($$SELECT shopml.predict('pl_dates', r) FROM (SELECT 1 AS day, now() AS seen_at) r$$) AS number_for_date;
-- Dates in a classifier and in k-means too.
CREATE VIEW pl_dates_y AS SELECT day, seen_at, y > 40 AS y_big FROM pl_dates;
SELECT n_train + n_test AS rows FROM shopml.train_logistic('pl_date_logit', 'pl_dates_y', 'y_big', ARRAY['day', 'seen_at']);
SELECT n_train FROM shopml.train_kmeans('pl_date_km', 'pl_dates', ARRAY['day'], 3);
SELECT count(DISTINCT feature) AS features FROM shopml.segments('pl_date_km');

-- 5. Money, oid and json columns are not features: left out of features => NULL, refused when
--    listed or as the target (42804).
CREATE TABLE pl_types AS
SELECT i::float8 AS x, (i * 2)::money AS price, i::oid AS o, jsonb_build_object('i', i) AS j, (3 * i)::float8 AS y
FROM generate_series(1, 100) i;
SELECT version FROM shopml.train_linear('pl_types', 'pl_types', 'y');
SELECT features FROM shopml.models WHERE model_name = 'pl_types';
SELECT regress.err($$SELECT * FROM shopml.train_linear('bad', 'pl_types', 'y', ARRAY['x', 'price'])$$) AS money_feature;
SELECT regress.err($$SELECT * FROM shopml.train_linear('bad', 'pl_types', 'y', ARRAY['o'])$$) AS oid_feature;
SELECT regress.err($$SELECT * FROM shopml.train_linear('bad', 'pl_types', 'price')$$) AS money_target;
SELECT regress.err($$SELECT * FROM shopml.train_logistic('bad', 'pl_types', 'j')$$) AS json_target;

-- 6. features => NULL leaves out the primary key and unique single columns (with a NOTICE), and
--    the columns of the exclude option; listed, a key is used.
CREATE TABLE pl_keys (id serial PRIMARY KEY, sku int UNIQUE, x float8, noise float8, y float8);
INSERT INTO pl_keys (sku, x, noise, y) SELECT 1000 + i, i % 10, (i * 7) % 13, 2 * (i % 10) + 1 FROM generate_series(1, 500) i;
SET client_min_messages = notice;
SELECT version FROM shopml.train_linear('pl_keys', 'pl_keys', 'y');
SET client_min_messages = warning;
SELECT version FROM shopml.train_linear('pl_keys', 'pl_keys', 'y', NULL, '{"exclude": ["noise"]}');
SELECT version FROM shopml.train_linear('pl_keys', 'pl_keys', 'y', ARRAY['id', 'x']);
SELECT version, features FROM shopml.models WHERE model_name = 'pl_keys' ORDER BY version;
SELECT n_train FROM shopml.train_kmeans('pl_keys_km', 'pl_keys', NULL, 2, '{"exclude": ["noise"]}');
SELECT features FROM shopml.models WHERE model_name = 'pl_keys_km';
SELECT regress.err($$SELECT * FROM shopml.train_linear('bad', 'pl_keys', 'y', NULL, '{"exclude": ["nope"]}')$$) AS unknown_exclude;
SELECT regress.err($$SELECT * FROM shopml.train_linear('bad', 'pl_keys', 'y', NULL, '{"exclude": "noise"}')$$) AS exclude_not_array;

-- 7. _predict_args checks its argument types (it is what predict(m, ARRAY[...]) becomes).
SELECT regress.err($$SELECT shopml._predict_args('pl_keys', 1, 2)$$) AS integer_arguments;
SELECT regress.err($$SELECT shopml._predict_args('pl_keys', 'a'::text, 2.0::float8)$$) AS text_argument;
SELECT regress.err($$SELECT shopml._predict_args('pl_types', 3.0::float8, 4.0::float8)$$) AS wrong_count;
SELECT round(shopml._predict_args('pl_types', 3.0::float8)::numeric, 6) AS float_arguments;
-- ... and so do the aggregates train_linear scans with (VARIADIC "any" as well).
SELECT regress.err($$SELECT shopml._linear_stats(shopml._linear_scan_config(1), ctid, 'a'::text, 1.0::float8) FROM pl_types$$) AS text_target;
SELECT regress.err($$SELECT shopml._linear_stats(shopml._linear_scan_config(1), ctid, y, 'a'::text) FROM pl_types$$) AS text_feature;
SELECT regress.err($$SELECT shopml._linear_stats(shopml._linear_scan_config(1), ctid, y, x) FROM pl_types$$) AS numeric_feature;

-- 8. Version numbers are never reused: after every version of a name is dropped, the next
--    training is the next number.
SELECT version FROM shopml.train_linear('pl_versions', 'pl_types', 'y', ARRAY['x']);
SELECT version FROM shopml.train_linear('pl_versions', 'pl_types', 'y', ARRAY['x']);
SELECT shopml.drop_model('pl_versions') AS dropped;
SELECT version FROM shopml.train_linear('pl_versions', 'pl_types', 'y', ARRAY['x']);
SELECT shopml.drop_model('pl_versions', 3) AS dropped_newest;
SELECT version FROM shopml.train_linear('pl_versions', 'pl_types', 'y', ARRAY['x']);

-- 9. shopml.model_kinds lists the registry; every kind has a trainer here.
SELECT algorithm, task, format_version, oldest_format, trainer FROM shopml.model_kinds() ORDER BY 1;
SELECT regress.err($$SELECT * FROM shopml.split('pl_dup', 1.5)$$) AS bad_fraction;
SELECT count(*) FILTER (WHERE held_out) = 0 AS nothing_held_out FROM shopml.split('pl_dup', 0);

SELECT shopml.drop_model(model_name) IS NOT NULL AS dropped
FROM (SELECT DISTINCT model_name FROM shopml.models WHERE model_name LIKE 'pl\_%') m ORDER BY 1 LIMIT 1;
