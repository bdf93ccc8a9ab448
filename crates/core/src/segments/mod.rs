//! Customer segments: k-means clustering and RFM scores.

pub mod kmeans;
pub mod rfm;
