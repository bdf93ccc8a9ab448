//! Held-out metrics shared by the model families.

pub mod classification;
pub mod ranking;
pub mod regression;
