//! Pricing: per-product demand elasticities (Poisson log-log with empirical-Bayes shrinkage)
//! and the optimal price under business rules.

pub mod demand;
pub mod experiment;
pub mod optimal;
pub mod simulate;
