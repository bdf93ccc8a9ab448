//! Recommendations from implicit feedback: the interaction matrix, implicit ALS, item-kNN and
//! serving (top-k for a user, similar items).

pub mod als;
pub mod interactions;
pub mod model;
