-- Every bad input gets a clear error with the right SQLSTATE, and the session keeps working.
CREATE TABLE e_t AS
SELECT i::float8 AS x, (i % 3)::float8 AS z, 'label ' || i AS label, (2 * i)::float8 AS y
FROM generate_series(1, 50) i;
CREATE TABLE e_empty (x float8, y float8);
CREATE TABLE e_tiny AS SELECT 1::float8 AS x, 2::float8 AS z, 3::float8 AS y;
CREATE TABLE e_nan AS SELECT 'NaN'::float8 AS x, i::float8 AS y FROM generate_series(1, 10) i;
SELECT version FROM shopml.train_linear('e', 'e_t', 'y', ARRAY['x']);

SELECT regress.err($$SELECT shopml.predict('no_such_model', ARRAY[1])$$) AS unknown_model;
SELECT regress.err($$SELECT shopml.predict(-1, ARRAY[1])$$) AS unknown_model_id;
SELECT regress.err($$SELECT * FROM shopml.coefficients('no_such_model')$$) AS unknown_model_coefficients;
SELECT regress.err($$SELECT shopml.deploy('e', 99)$$) AS unknown_version;
SELECT regress.err($$SELECT shopml.drop_model('no_such_model')$$) AS drop_unknown;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'no_such_table', 'y')$$) AS missing_table;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'nope')$$) AS unknown_target;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', ARRAY['x', 'nope'])$$) AS unknown_feature;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', ARRAY['y"; DROP TABLE e_t; --'])$$) AS injection;
SELECT count(*) AS e_t_intact FROM e_t;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', ARRAY['label'])$$) AS text_feature;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'label')$$) AS text_target;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', ARRAY['y'])$$) AS target_as_feature;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', ARRAY[]::text[])$$) AS no_features;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', ARRAY['x', 'x'])$$) AS duplicate_feature;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_empty', 'y')$$) AS empty_table;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_tiny', 'y', options => '{"test_fraction": 0}')$$) AS too_few_rows;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_nan', 'y')$$) AS all_rows_nan;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', options => '{"l2": -1}')$$) AS negative_l2;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', options => '{"test_fraction": 1}')$$) AS test_fraction_one;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', options => '{"test_fraction": "lots"}')$$) AS test_fraction_text;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', options => '{"lambda": 1}')$$) AS unknown_option;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', options => '[1, 2]')$$) AS options_not_object;
SELECT regress.err($$SELECT * FROM shopml.train_linear('e', 'e_t', 'y', options => '{"group_by": "nope"}')$$) AS unknown_group_column;
SELECT regress.err($$SELECT * FROM shopml.train_linear('', 'e_t', 'y')$$) AS empty_name;
SELECT regress.err($$SELECT * FROM shopml.train_linear(NULL, 'e_t', 'y')$$) AS null_name;
SELECT regress.err($$SELECT shopml.predict('e', ARRAY[1, 2])$$) AS wrong_feature_count;
SELECT regress.err($$SELECT shopml.predict('e', ARRAY[[1], [2]])$$) AS two_dimensional;
SELECT regress.err($$SELECT shopml.predict('e', r) FROM (SELECT 1 AS z) r$$) AS row_missing_column;
SELECT regress.err($$SELECT shopml.predict('e', r) FROM (SELECT 'a'::text AS x) r$$) AS row_text_column;
SELECT regress.err($$SELECT shopml.predict(NULL::text, ARRAY[1])$$) AS null_model_name;
SELECT regress.err($$SELECT shopml.linear_fit(y, ARRAY[x, z]) FROM (VALUES (1.0::float8, 1.0::float8, NULL::float8), (2, 2, 3)) v(y, x, z)$$) AS fit_skips_nulls;
SELECT regress.err($$SELECT shopml.linear_fit(y, CASE WHEN x > 1 THEN ARRAY[x] ELSE ARRAY[x, x] END) FROM e_t$$) AS fit_ragged;
-- damaged bytes: truncated, overwritten, from a future format version
SELECT version FROM shopml.train_linear('dmg', 'e_t', 'y', ARRAY['x']);
UPDATE shopml.model SET model_bytes = substr(model_bytes, 1, 20) WHERE model_name = 'dmg';
SELECT regress.err($$SELECT shopml.predict('dmg', ARRAY[1])$$) AS truncated;
SELECT regress.err($$SELECT * FROM shopml.coefficients('dmg')$$) AS truncated_coefficients;
UPDATE shopml.model SET model_bytes = '\x0000000000000000000000000000'::bytea WHERE model_name = 'dmg';
SELECT regress.err($$SELECT shopml.predict('dmg', ARRAY[1])$$) AS overwritten;
SELECT version FROM shopml.train_linear('future', 'e_t', 'y', ARRAY['x']);
UPDATE shopml.model SET model_bytes = overlay(model_bytes placing '\x0900'::bytea from 5) WHERE model_name = 'future';
SELECT regress.err($$SELECT shopml.predict('future', ARRAY[1])$$) AS future_version;
-- after all of that the session still works
SELECT round(shopml.predict('e', ARRAY[21])::numeric, 6) AS still_working;
-- the plan-time rewrite of predict(m, ARRAY[...]) reports a wrong feature count the same way
SELECT regress.err($$SELECT shopml.predict('e', ARRAY[x, z]) FROM e_t$$) AS wrong_count_rewritten;
