//! The held-out split of a training relation, the same for every trainer.
//!
//! A row's side is decided by a key that does not depend on its values: its physical position
//! (its row pointer, for tables: the same after a dump and restore), its position in the scan (for views, which are read
//! with a serial plan so the order is fixed), or — with `split_column` — the value of that
//! column, so rows sharing a key stay on one side. The feature list and the target play no
//! part, so every version trained on one relation is evaluated on the same rows, and identical
//! rows can land on both sides. `split_seed` picks another split of the same rows.

use serde::{Deserialize, Serialize};

use crate::data::cell::Cell;
use crate::hash::{is_test, mix64, unit_interval};

/// How a training relation is split into training and held-out rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Share of rows held out (0: none).
    pub test_fraction: f64,
    /// Rows with the same value of this column stay on one side.
    pub split_column: Option<String>,
    pub split_seed: u64,
    /// Cross-validation: hold out one fold of several instead of `test_fraction` of the rows.
    pub folds: Option<Folds>,
}

/// Which rows a cross-validation fold holds out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Folds {
    /// Fold `fold` of `k` folds made from the rows' keys (the split column's value, so rows
    /// sharing it stay in one fold): fold `i` holds the keys whose uniform number is in
    /// [i/k, (i+1)/k), so fold 0 of k is the split of test fraction 1/k with the same seed.
    Hashed { k: u32, fold: u32 },
    /// The split column holds each row's fold number (an integer): rows of fold `fold` are
    /// held out, the others train (a time-ordered search keeps only earlier folds' rows).
    Given { fold: u32 },
}

impl Split {
    /// The split of no held-out rows.
    pub fn none() -> Split {
        Split {
            test_fraction: 0.0,
            split_column: None,
            split_seed: 0,
            folds: None,
        }
    }

    /// Whether the row with key `key` (see the `*_key` functions) is held out. With
    /// [`Folds::Given`] the key is the row's fold number (see [`Split::keys_are_values`]).
    #[inline]
    pub fn is_test(&self, key: u64) -> bool {
        match self.folds {
            Some(Folds::Hashed { k, fold }) => self.fold_of(key, k) == fold,
            Some(Folds::Given { fold }) => key == u64::from(fold),
            None => {
                self.test_fraction > 0.0
                    && is_test(
                        mix64(key ^ self.split_seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                        self.test_fraction,
                    )
            }
        }
    }

    /// The fold (0..k) of the row with key `key` among `k` hashed folds.
    #[inline]
    pub fn fold_of(&self, key: u64, k: u32) -> u32 {
        hashed_fold(self.split_seed, key, k)
    }

    /// The key of a row whose split column holds `value`: its hash, or with [`Folds::Given`]
    /// the fold number itself (a value that is not a whole number ≥ 0 trains).
    pub fn column_key(&self, value: &Cell) -> u64 {
        if self.keys_are_values() {
            fold_number_key(value)
        } else {
            value.value_hash()
        }
    }

    /// Whether a row's key is the split column's value itself (a given fold number) rather
    /// than its hash.
    pub fn keys_are_values(&self) -> bool {
        matches!(self.folds, Some(Folds::Given { .. }))
    }
}

/// The fold (0..k) of the row with key `key` among `k` hashed folds under `seed`: the fold
/// of its uniform number, the one [`Split::is_test`] compares with `test_fraction`.
#[inline]
pub fn hashed_fold(seed: u64, key: u64, k: u32) -> u32 {
    let h = mix64(key ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let u = unit_interval(mix64(h ^ 0x5851_f42d_4c95_7f2d));
    ((u * f64::from(k)) as u32).min(k.saturating_sub(1))
}

/// The key of a row whose split column holds its fold number: the number (a value that is
/// not a whole number ≥ 0 never matches a fold, so the row trains).
pub fn fold_number_key(value: &Cell) -> u64 {
    value
        .number()
        .filter(|v| *v >= 0.0 && v.fract() == 0.0 && *v < 1e15)
        .map_or(u64::MAX, |v| v as u64)
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
            folds: None,
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

    #[test]
    fn folds_partition_the_rows() {
        let n = 50_000u64;
        let base = Split {
            test_fraction: 0.2,
            split_column: None,
            split_seed: 3,
            folds: None,
        };
        let fold = |i: u32| Split {
            folds: Some(Folds::Hashed { k: 5, fold: i }),
            ..base.clone()
        };
        let mut counts = [0u64; 5];
        for r in 0..n {
            let key = position_key(r);
            let held: Vec<u32> = (0..5).filter(|&i| fold(i).is_test(key)).collect();
            // Every row is held out by exactly one fold, the one fold_of names.
            assert_eq!(held, vec![base.fold_of(key, 5)]);
            counts[held[0] as usize] += 1;
            // Fold 0 of 5 is the split of test fraction 1/5 with the same seed.
            assert_eq!(fold(0).is_test(key), base.is_test(key));
        }
        for c in counts {
            assert!((c as f64 / n as f64 - 0.2).abs() < 0.01, "{counts:?}");
        }
        let given = Split {
            folds: Some(Folds::Given { fold: 2 }),
            ..base
        };
        assert!(given.is_test(2) && !given.is_test(1) && given.keys_are_values());
    }
}
