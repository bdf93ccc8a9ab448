//! shopml: the SQL layer. The algorithms live in `crates/core` (shopml-core) and know nothing
//! of Postgres; this crate is grouped into
//! - [`pg`]: the FFI layer, the only place with `unsafe` (every other module forbids it);
//! - [`catalog`]: the model catalog and the per-backend cache of decoded models (through the
//!   model registry of shopml-core);
//! - [`train`]: the training pipeline (checks, the row reader and its split, progress, memory
//!   limit, compute pool, saving);
//! - [`serve`]: the predict functions of every model kind, and key types;
//! - one thin module per SQL feature: [`linear`], [`logistic`], [`forest`], [`kmeans`],
//!   [`recommend`], [`demand`], [`experiment`], [`rfm`], [`models`], [`split`], [`sample_shop`].
#![deny(unsafe_code)]

use pgrx::prelude::*;

mod boosted;
mod catalog;
mod demand;
mod experiment;
mod forest;
mod guc;
mod kmeans;
mod linear;
mod logistic;
mod logistic_shards;
mod models;
#[allow(unsafe_code)]
mod pg;
mod recommend;
mod rfm;
mod sample_shop;
mod serve;
mod split;
mod tests;
mod train;
mod tune;
mod update;

// A Rust panic must become a Postgres ERROR, never an abort of the backend.
#[cfg(all(not(test), not(debug_assertions), panic = "abort"))]
compile_error!("shopml must be built with panic = \"unwind\"");

extension_sql_file!("../sql/catalog.sql", name = "catalog", bootstrap);
extension_sql_file!(
    "../sql/privileges.sql",
    name = "privileges",
    requires = ["catalog"]
);
extension_sql_file!(
    "../sql/catalog_versions.sql",
    name = "catalog_versions",
    requires = ["privileges"]
);
extension_sql_file!(
    "../sql/catalog_functions.sql",
    name = "catalog_functions",
    requires = ["catalog_versions"]
);
extension_sql_file!(
    "../sql/views.sql",
    name = "views",
    requires = ["catalog_functions"]
);
extension_sql_file!(
    "../sql/experiments.sql",
    name = "experiments",
    requires = ["views"]
);
extension_sql_file!(
    "../sql/evaluate.sql",
    name = "evaluate",
    requires = ["views", "predict_functions"]
);

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}

extension_sql_file!("../sql/comments.sql", name = "comments", finalize);
