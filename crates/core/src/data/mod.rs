//! Input data: cells as read, feature preparation, the train/test split, label encoding, keys
//! and bounded samples.

pub mod cell;
pub mod keys;
pub mod labels;
pub mod prep;
pub mod sketch;
pub mod split;
