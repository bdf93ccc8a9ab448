//! A deterministic, mergeable uniform row sample ("bottom-k" by hash).
//!
//! Keeps the `capacity` rows with the smallest hashes. Because the hash is a fixed function of
//! the row, partial samples from parallel workers merge into exactly the sample one pass would
//! have kept, whatever the scan order. Used for metrics that sufficient statistics cannot give
//! (mean absolute error).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BottomK {
    capacity: usize,
    width: usize,
    /// Hashes of kept rows; `values` holds `width` numbers per kept row, in the same order.
    hashes: Vec<u64>,
    values: Vec<f64>,
    /// Rows with a hash at or above this are not kept (valid once the sample has been full).
    threshold: u64,
    /// Rows offered in total.
    seen: u64,
}

impl BottomK {
    pub fn new(capacity: usize, width: usize) -> Self {
        BottomK {
            capacity: capacity.max(1),
            width,
            hashes: Vec::new(),
            values: Vec::new(),
            threshold: u64::MAX,
            seen: 0,
        }
    }

    /// A sample that keeps no rows (its threshold is below every hash), nor any row of a
    /// sample merged into it.
    pub fn none(width: usize) -> Self {
        BottomK {
            threshold: 0,
            ..BottomK::new(1, width)
        }
    }

    /// Offers a row; cheap when the row's hash is above the current threshold.
    #[inline]
    pub fn offer(&mut self, hash: u64, row: &[f64]) {
        self.seen += 1;
        if hash >= self.threshold {
            return;
        }
        debug_assert_eq!(row.len(), self.width);
        self.hashes.push(hash);
        self.values.extend_from_slice(row);
        if self.hashes.len() >= 2 * self.capacity {
            self.compact();
        }
    }

    /// Keeps only the `capacity` smallest hashes and lowers the threshold accordingly.
    fn compact(&mut self) {
        if self.hashes.len() <= self.capacity {
            return;
        }
        let mut order: Vec<usize> = (0..self.hashes.len()).collect();
        order.sort_unstable_by_key(|&i| (self.hashes[i], i));
        order.truncate(self.capacity);
        let mut hashes = Vec::with_capacity(self.capacity);
        let mut values = Vec::with_capacity(self.capacity * self.width);
        for &i in &order {
            hashes.push(self.hashes[i]);
            values.extend_from_slice(&self.values[i * self.width..(i + 1) * self.width]);
        }
        self.threshold = *hashes.last().unwrap_or(&u64::MAX);
        self.hashes = hashes;
        self.values = values;
    }

    /// Adds another sample's rows (from a parallel worker or another chunk).
    pub fn merge(&mut self, other: &BottomK) {
        self.seen += other.seen;
        self.threshold = self.threshold.min(other.threshold);
        for (i, &h) in other.hashes.iter().enumerate() {
            if h < self.threshold {
                self.hashes.push(h);
                self.values
                    .extend_from_slice(&other.values[i * self.width..(i + 1) * self.width]);
            }
        }
        self.compact();
    }

    /// Rows offered in total.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The kept rows (at most `capacity`), smallest hash first.
    pub fn rows(&self) -> Vec<&[f64]> {
        let mut order: Vec<usize> = (0..self.hashes.len()).collect();
        order.sort_unstable_by_key(|&i| (self.hashes[i], i));
        order.truncate(self.capacity);
        order
            .into_iter()
            .map(|i| &self.values[i * self.width..(i + 1) * self.width])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::mix64;

    #[test]
    fn merge_equals_single_pass() {
        let mut all = BottomK::new(100, 1);
        let mut a = BottomK::new(100, 1);
        let mut b = BottomK::new(100, 1);
        for i in 0..10_000u64 {
            let h = mix64(i + 1);
            all.offer(h, &[i as f64]);
            if i % 3 == 0 {
                a.offer(h, &[i as f64]);
            } else {
                b.offer(h, &[i as f64]);
            }
        }
        a.merge(&b);
        assert_eq!(all.rows(), a.rows());
        assert_eq!(a.rows().len(), 100);
        assert_eq!(a.seen(), 10_000);
    }

    #[test]
    fn none_keeps_no_row_even_merged() {
        let mut none = BottomK::none(1);
        let mut full = BottomK::new(10, 1);
        for i in 0..100u64 {
            none.offer(mix64(i), &[i as f64]);
            full.offer(mix64(i), &[i as f64]);
        }
        assert!(none.rows().is_empty());
        none.merge(&full);
        assert!(none.rows().is_empty());
        assert_eq!(none.seen(), 200);
    }

    #[test]
    fn small_inputs_keep_everything() {
        let mut s = BottomK::new(10, 2);
        for i in 0..5u64 {
            s.offer(mix64(i), &[i as f64, 0.0]);
        }
        assert_eq!(s.rows().len(), 5);
    }
}
