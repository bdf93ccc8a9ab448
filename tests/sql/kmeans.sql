-- k-means segments: three separated blobs (the optimum is known: blob means and their
-- within-blob sum of squares), predict by row and by array, segments() in original units,
-- standardisation, bad inputs.
CREATE TABLE blobs AS
SELECT b, i, cx + ((i * 37) % 21 - 10) / 20.0 AS x, cy + ((i * 53) % 19 - 9) / 18.0 AS y
FROM (VALUES (1, 0.0, 0.0), (2, 10.0, 10.0), (3, -10.0, 10.0)) c(b, cx, cy),
     generate_series(1, 100 + 50 * b) i;
INSERT INTO blobs VALUES (0, 0, NULL, 1.0);   -- skipped and counted
CREATE TEMP TABLE km AS
SELECT * FROM shopml.train_kmeans('blobs', 'blobs', ARRAY['x', 'y'], 3, '{"standardize": false}');
SELECT version, n_train, metrics->'skipped_rows' AS skipped, metrics->'sizes' AS sizes FROM km;
-- The inertia is the within-blob sum of squares computed in SQL.
SELECT abs((SELECT (metrics->>'inertia')::float8 FROM km) - sum(ss)) < 1e-9 * sum(ss) AS optimal_inertia
FROM (SELECT sum((x - avg_x) ^ 2 + (y - avg_y) ^ 2) AS ss
      FROM (SELECT b, x, y, avg(x) OVER (PARTITION BY b) AS avg_x, avg(y) OVER (PARTITION BY b) AS avg_y
            FROM blobs WHERE x IS NOT NULL) t GROUP BY b) s;
-- Every blob is one segment, and predict by row equals predict by array.
SELECT b, count(DISTINCT shopml.predict('blobs', t)) AS segments_per_blob,
       bool_and(shopml.predict('blobs', t) = shopml.predict('blobs', ARRAY[x, y])) AS row_equals_array
FROM blobs t WHERE x IS NOT NULL GROUP BY b ORDER BY b;
SELECT count(DISTINCT shopml.predict('blobs', t)) AS segments, min(shopml.predict('blobs', t)) AS first,
       max(shopml.predict('blobs', t)) AS last, count(*) FILTER (WHERE shopml.predict('blobs', t) IS NULL) AS null_rows
FROM blobs t;
-- segments(): sizes and centroids equal the blob sizes and means.
SELECT count(*) AS rows_, count(DISTINCT segment) AS segments,
       bool_and(abs(s.centroid - CASE s.feature WHEN 'x' THEN m.ax ELSE m.ay END) < 1e-9) AS centroids_are_means,
       bool_and(s.size = m.n) AS sizes_match
FROM shopml.segments('blobs') s
JOIN (SELECT shopml.predict('blobs', t)::int AS seg, avg(x) AS ax, avg(y) AS ay, count(*) AS n
      FROM blobs t WHERE x IS NOT NULL GROUP BY 1) m ON m.seg = s.segment;
-- Standardised (the default): customers by orders and spend, centroids in original units.
CREATE TEMP VIEW customer_value AS
SELECT customer_id, count(*)::float8 AS orders, sum(total)::float8 AS spend FROM shop.orders GROUP BY 1;
SELECT n_train, (metrics->>'standardized')::bool AS standardized, jsonb_array_length(metrics->'sizes') AS k
FROM shopml.train_kmeans('customer_value', 'customer_value', ARRAY['orders', 'spend'], 4);
SELECT (sum(size) / 2)::bigint AS customers, min(centroid) FILTER (WHERE feature = 'spend') > 0 AS positive_spend
FROM shopml.segments('customer_value');
SELECT count(*) AS same_segment_for_same_row
FROM customer_value c WHERE shopml.predict('customer_value', c) = shopml.predict('customer_value', ARRAY[c.orders, c.spend]);
-- Bad inputs.
SELECT regress.err($$SELECT * FROM shopml.train_kmeans('bad', 'blobs', ARRAY['x', 'y'], 0)$$) AS k_zero;
SELECT regress.err($$SELECT * FROM shopml.train_kmeans('bad', 'blobs', ARRAY['x', 'y'], NULL)$$) AS k_null;
SELECT regress.err($$SELECT * FROM shopml.train_kmeans('bad', 'blobs', ARRAY['x', 'y'], 1000)$$) AS k_above_rows;
SELECT regress.err($$SELECT * FROM shopml.train_kmeans('bad', 'blobs', ARRAY['x', 'y'], 1)$$) AS k_one;
-- A text column is one-hot encoded (see prep.sql), up to max_categories values.
SELECT regress.err($$SELECT * FROM shopml.train_kmeans('bad', 'shop.customers', ARRAY['region'], 2, '{"max_categories": 2}')$$) AS too_many_categories;
SELECT regress.err($$SELECT * FROM shopml.train_kmeans('bad', 'blobs', ARRAY['nope'], 2)$$) AS unknown_feature;
SELECT regress.err($$SELECT * FROM shopml.train_kmeans('bad', 'blobs', ARRAY['x'], 2, '{"n_init": 0}')$$) AS bad_option;
SELECT regress.err($$SELECT shopml.predict('blobs', ARRAY[1.0])$$) AS wrong_feature_count;
SELECT regress.err($$SELECT * FROM shopml.segments('no_such_model')$$) AS unknown_model;
SELECT regress.err($$SELECT * FROM shopml.segments('shop_recs')$$) AS not_kmeans;
SELECT shopml.predict('blobs', ARRAY['NaN', 1.0]) IS NULL AS nan_gives_null;
