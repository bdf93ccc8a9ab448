//! shopml-core: the algorithms behind the shopml PostgreSQL extension, in plain Rust.
//!
//! Nothing here knows about Postgres: the SQL layer (`src/` of the root package) reads rows,
//! hands dense columns to these types and turns [`Error`] into `ereport`s. Every module can be
//! read, tested and benchmarked on its own.

pub mod ads;
pub mod als;
pub mod demand;
pub mod demand_sample;
pub mod envelope;
pub mod error;
pub mod forest;
pub mod forest_model;
pub mod hash;
pub mod interactions;
pub mod kmeans;
pub mod linear;
pub mod logistic;
pub mod options;
pub mod prep;
pub mod pricing;
pub mod recommend;
pub mod rfm;
pub mod rng;
pub mod sample;
pub mod sample_shop;
pub mod sparse_logistic;
pub mod stats;

pub use error::{Error, ErrorKind, Result};
