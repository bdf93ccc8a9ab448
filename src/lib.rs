//! shopml: the SQL layer. Each module is one SQL feature; the algorithms live in
//! `crates/core` (shopml-core) and know nothing of Postgres.

use pgrx::prelude::*;

mod aggregate;
mod budget;
mod cache;
mod catalog;
mod demand;
mod error;
mod forest;
mod guc;
mod keys;
mod kmeans;
mod linear;
mod logistic;
mod pool;
mod predict;
mod recommend;
mod relation;
mod rfm;
mod sample_shop;
mod scan;
mod tests;

pgrx::pg_module_magic!();

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
    "../sql/catalog_functions.sql",
    name = "catalog_functions",
    requires = ["privileges"]
);
extension_sql_file!(
    "../sql/views.sql",
    name = "views",
    requires = ["catalog_functions"]
);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::register();
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}

extension_sql_file!("../sql/comments.sql", name = "comments", finalize);
