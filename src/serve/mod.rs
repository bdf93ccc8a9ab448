//! Serving: the predict functions of every model kind, and the key types of the serving
//! functions of recommenders and demand models.
#![forbid(unsafe_code)]

pub mod keys;
pub mod predict;
