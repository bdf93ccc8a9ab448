//! The held-out split of a training relation, the same for every trainer.
//!
//! A row's side is decided by a key that does not depend on its values: its physical position
//! (its row pointer, for tables: the same after a dump and restore), its position in the scan (for views, which are read
//! with a serial plan so the order is fixed), or — with `split_column` — the value of that
//! column, so rows sharing a key stay on one side. The feature list and the target play no
//! part, so every version trained on one relation is evaluated on the same rows, and identical
//! rows can land on both sides. `split_seed` picks another split of the same rows.

use serde::{Deserialize, Serialize};

use crate::hash::{is_test, mix64};

/// How a training relation is split into training and held-out rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Share of rows held out (0: none).
    pub test_fraction: f64,
    /// Rows with the same value of this column stay on one side.
    pub split_column: Option<String>,
    pub split_seed: u64,
}

impl Split {
    /// Whether the row with key `key` (see the `*_key` functions) is held out.
    #[inline]
    pub fn is_test(&self, key: u64) -> bool {
        self.test_fraction > 0.0
            && is_test(
                mix64(key ^ self.split_seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                self.test_fraction,
            )
    }
}

/// The key of a table row: its row pointer (block, offset).
#[inline]
pub fn tid_key(block: u32, offset: u16) -> u64 {
    mix64(u64::from(block) << 16 | u64::from(offset))
}

/// The key of the `i`-th row of a scan (0-based).
#[inline]
pub fn position_key(i: u64) -> u64 {
    mix64(i ^ 0x2545_f491_4f6c_dd1d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_and_seed() {
        let s = Split {
            test_fraction: 0.2,
            split_column: None,
            split_seed: 0,
        };
        let n = 100_000u64;
        let held = (0..n).filter(|&i| s.is_test(position_key(i))).count();
        assert!((held as f64 / n as f64 - 0.2).abs() < 0.01, "{held}");
        let other = Split {
            split_seed: 1,
            ..s.clone()
        };
        let same = (0..n)
            .filter(|&i| s.is_test(position_key(i)) == other.is_test(position_key(i)))
            .count();
        // A different seed gives a different (independent) split.
        assert!(same < 72_000, "{same}");
        let none = Split {
            test_fraction: 0.0,
            ..s
        };
        assert!((0..1000).all(|i| !none.is_test(position_key(i))));
        assert_ne!(tid_key(0, 1), tid_key(0, 2));
        assert_ne!(tid_key(0, 1), tid_key(1, 1));
    }
}
