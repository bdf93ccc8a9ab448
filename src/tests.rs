//! pgrx tests: run inside a throw-away cluster by `cargo pgrx test` (see `make test-pgrx`).
//! They exercise what SQL regression files cannot see: the per-backend model cache.
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// A table `t` with y = 3x + 1 and a linear model `m` trained on it.
    fn setup() {
        Spi::run(
            "CREATE TABLE t AS SELECT i::float8 AS x, (3 * i + 1)::float8 AS y \
             FROM generate_series(1, 200) i",
        )
        .unwrap();
        Spi::run("SELECT * FROM shopml.train_linear('m', 't', 'y')").unwrap();
    }

    /// The deployed `m`'s prediction at x.
    fn predict_m(x: f64) -> f64 {
        let sql = format!("SELECT shopml.predict('m', ARRAY[{x}::float8])");
        Spi::get_one::<f64>(&sql).unwrap().unwrap()
    }

    #[pg_test]
    fn trains_and_predicts_exactly() {
        setup();
        let y = predict_m(10.0);
        assert!((y - 31.0).abs() < 1e-9, "{y}");
    }

    #[pg_test]
    fn cache_serves_the_new_deployment_in_the_same_backend() {
        setup();
        let a = predict_m(1000.0);
        Spi::run("SELECT * FROM shopml.train_linear('m', 't', 'y', options => '{\"l2\": 1e7}')")
            .unwrap();
        let b = predict_m(1000.0);
        assert!(
            b < a,
            "ridge model should be served after redeploy: {a} vs {b}"
        );
        Spi::run("SELECT shopml.deploy('m', 1)").unwrap();
        let c = predict_m(1000.0);
        assert_eq!(a, c, "rollback to version 1 is served from the cache");
    }

    #[pg_test(error = "model \"m\": model bytes are damaged: not a shopml model (bad magic)")]
    fn rewritten_bytes_are_not_served_from_the_cache() {
        setup();
        predict_m(1.0);
        Spi::run("UPDATE shopml.model SET model_bytes = '\\x00'::bytea WHERE model_name = 'm'")
            .unwrap();
        // The row version changed, so the cached decode is not used: the damage is reported.
        let _ = Spi::get_one::<f64>("SELECT shopml.predict('m', ARRAY[1])");
    }

    fn top_items(sql: &str) -> Vec<i64> {
        Spi::connect(|c| {
            c.select(sql, None, &[])
                .unwrap()
                .map(|r| r.get::<i64>(1).unwrap().unwrap())
                .collect()
        })
    }

    #[pg_test]
    fn recommender_cache_follows_deployments() {
        // Users 1..40 each bought items in their own half; v2 swaps which half user 1 is in.
        Spi::run(
            "CREATE TABLE buys AS SELECT u, i FROM generate_series(1, 40) u, generate_series(1, 20) i \
             WHERE (u <= 20) = (i <= 10) AND (u * 7 + i * 3) % 4 <> 0",
        )
        .unwrap();
        let opts = "'{\"factors\": 4, \"test_fraction\": 0, \"regularization\": 1}'";
        Spi::run(&format!(
            "SELECT * FROM shopml.train_recommender('r', 'buys', 'u', 'i', options => {opts})"
        ))
        .unwrap();
        let q = "SELECT item_id FROM shopml.recommend_for_user('r', 1, 2)";
        let v1 = top_items(q);
        assert!(v1.iter().all(|&i| i <= 10), "{v1:?}");
        Spi::run("UPDATE buys SET i = i + 10 WHERE u = 1").unwrap();
        Spi::run("DELETE FROM buys WHERE u = 2").unwrap();
        Spi::run(&format!(
            "SELECT * FROM shopml.train_recommender('r', 'buys', 'u', 'i', options => {opts})"
        ))
        .unwrap();
        let v2 = top_items(q);
        assert!(v2.iter().all(|&i| i > 10), "new deployment served: {v2:?}");
        Spi::run("SELECT shopml.deploy('r', 1)").unwrap();
        assert_eq!(top_items(q), v1, "rollback served from the cache");
    }
}
