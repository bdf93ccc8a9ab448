//! shopml-core: the algorithms behind the shopml PostgreSQL extension, in plain Rust.
//!
//! Nothing here knows about Postgres: the SQL layer (`src/` of the root package) reads rows,
//! hands them to these types and turns [`Error`] into `ereport`s. The crate is grouped by
//! domain:
//!
//! - [`data`]: input cells and feature preparation, the train/test split, label encoding,
//!   user/item/product keys, mergeable samples;
//! - [`math`]: the dot kernel, the sparse-row matrix, dense SPD solves, moments, distributions;
//! - [`metrics`]: held-out quality of classifiers and recommenders;
//! - the model families: [`linear`] (OLS/ridge and logistic regression), [`trees`] (random
//!   forests), [`segments`] (k-means and RFM), [`recommend`] (ALS and item-kNN), [`pricing`]
//!   (demand elasticities and optimal prices);
//! - [`model`]: the protocol every stored model implements and the registry of model kinds,
//!   with [`envelope`], the bytes a model is stored as;
//! - [`samples`]: generators of the sample shop and of known-answer data, apart from the ML.
#![forbid(unsafe_code)]

pub mod data;
pub mod envelope;
pub mod error;
pub mod hash;
pub mod linear;
pub mod math;
pub mod metrics;
pub mod model;
pub mod monitor;
pub mod options;
pub mod pricing;
pub mod recommend;
pub mod rng;
pub mod samples;
pub mod segments;
pub mod trees;

pub use error::{Error, ErrorKind, Result};
