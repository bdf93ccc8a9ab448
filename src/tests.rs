//! pgrx tests: run inside a throw-away cluster by `cargo pgrx test` (see `make test-pgrx`).
//! They exercise what SQL regression files cannot see: the per-backend model cache.

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn setup() {
        Spi::run(
            "CREATE TABLE t AS SELECT i::float8 AS x, (3 * i + 1)::float8 AS y \
             FROM generate_series(1, 200) i",
        )
        .unwrap();
    }

    #[pg_test]
    fn trains_and_predicts_exactly() {
        setup();
        Spi::run("SELECT * FROM shopml.train_linear('m', 't', 'y')").unwrap();
        let y = Spi::get_one::<f64>("SELECT shopml.predict('m', ARRAY[10])")
            .unwrap()
            .unwrap();
        assert!((y - 31.0).abs() < 1e-9, "{y}");
    }

    #[pg_test]
    fn cache_serves_the_new_deployment_in_the_same_backend() {
        setup();
        Spi::run("SELECT * FROM shopml.train_linear('m', 't', 'y')").unwrap();
        let a = Spi::get_one::<f64>("SELECT shopml.predict('m', ARRAY[1000])")
            .unwrap()
            .unwrap();
        Spi::run("SELECT * FROM shopml.train_linear('m', 't', 'y', options => '{\"l2\": 1e7}')")
            .unwrap();
        let b = Spi::get_one::<f64>("SELECT shopml.predict('m', ARRAY[1000])")
            .unwrap()
            .unwrap();
        assert!(
            b < a,
            "ridge model should be served after redeploy: {a} vs {b}"
        );
        Spi::run("SELECT shopml.deploy('m', 1)").unwrap();
        let c = Spi::get_one::<f64>("SELECT shopml.predict('m', ARRAY[1000])")
            .unwrap()
            .unwrap();
        assert_eq!(a, c, "rollback to version 1 is served from the cache");
    }

    #[pg_test(error = "model \"m\": model bytes are damaged: not a shopml model (bad magic)")]
    fn rewritten_bytes_are_not_served_from_the_cache() {
        setup();
        Spi::run("SELECT * FROM shopml.train_linear('m', 't', 'y')").unwrap();
        Spi::get_one::<f64>("SELECT shopml.predict('m', ARRAY[1])").unwrap();
        Spi::run("UPDATE shopml.model SET model_bytes = '\\x00'::bytea WHERE model_name = 'm'")
            .unwrap();
        // The row version changed, so the cached decode is not used: the damage is reported.
        let _ = Spi::get_one::<f64>("SELECT shopml.predict('m', ARRAY[1])");
    }
}
