//! Tree models: histogram CART trees grown into random forests, and gradient-boosted trees.

pub mod boosted;
pub mod boosted_model;
pub mod forest;
pub mod model;
