//! Tree models: histogram CART trees grown into random forests.

pub mod forest;
pub mod model;
