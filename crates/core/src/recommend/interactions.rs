//! Implicit-feedback data: who interacted with what, how much, and when.
//!
//! Keys (bigint or text) are sorted and numbered densely, so the numbering, and with it every
//! model trained for a given seed, does not depend on the physical order of the table.
//! Repeated (user, item) rows add up; the latest time of a pair is kept for time splits.

use crate::data::keys::{Keys, RawKeys};
use crate::hash::mix64;
use crate::math::csr::Csr;

/// Bytes held per interaction row while reading and aggregating (keys, weight, time, sort
/// order), for integer or text keys.
pub fn memory_per_row(int_keys: bool) -> usize {
    if int_keys {
        64
    } else {
        160
    }
}

/// Interactions aggregated per (user, item).
pub struct Interactions {
    pub user_keys: Keys,
    pub item_keys: Keys,
    /// user → items with summed weights.
    pub by_user: Csr,
    /// Latest time of each pair, aligned with `by_user.indices` (when a time column was given).
    pub last_time: Option<Vec<f64>>,
}

/// Held-out interactions: per user, the items to find; the rest (with their times) to train on.
pub struct Holdout {
    pub train: Csr,
    pub train_time: Option<Vec<f64>>,
    pub test: Vec<(u32, Vec<u32>)>,
    pub n_test_pairs: usize,
}

impl Interactions {
    /// Aggregates rows (one per interaction) into per-pair weights.
    pub fn build(
        users: RawKeys,
        items: RawKeys,
        weights: Vec<f32>,
        times: Option<Vec<f64>>,
    ) -> Interactions {
        let (user_keys, u) = users.index();
        let (item_keys, i) = items.index();
        let mut order: Vec<u32> = (0..u.len() as u32).collect();
        order.sort_unstable_by_key(|&r| ((u[r as usize] as u64) << 32) | i[r as usize] as u64);
        let mut pairs: Vec<(u32, u32, f32)> = Vec::with_capacity(order.len());
        let mut last: Vec<f64> = Vec::new();
        for &r in &order {
            let (uu, ii, w) = (u[r as usize], i[r as usize], weights[r as usize]);
            let t = times.as_ref().map(|t| t[r as usize]);
            match pairs.last_mut() {
                Some(p) if p.0 == uu && p.1 == ii => {
                    p.2 += w;
                    if let (Some(t), Some(l)) = (t, last.last_mut()) {
                        *l = l.max(t);
                    }
                }
                _ => {
                    pairs.push((uu, ii, w));
                    if let Some(t) = t {
                        last.push(t);
                    }
                }
            }
        }
        let by_user = Csr::from_sorted(user_keys.len(), pairs.into_iter());
        Interactions {
            user_keys,
            item_keys,
            by_user,
            last_time: times.map(|_| last),
        }
    }

    pub fn n_users(&self) -> usize {
        self.user_keys.len()
    }

    pub fn n_items(&self) -> usize {
        self.item_keys.len()
    }

    /// Holds out the latest `floor(test_fraction · n)` pairs of each user (by time when known,
    /// else by a stable hash of the keys) and keeps the rest for training.
    pub fn holdout(&self, test_fraction: f64) -> Holdout {
        holdout(
            &self.by_user,
            self.last_time.as_deref(),
            &self.user_keys,
            &self.item_keys,
            test_fraction,
        )
    }
}

/// [`Interactions::holdout`] on any user → item matrix (e.g. a training part, to carve a
/// validation set from it).
pub fn holdout(
    by_user: &Csr,
    time: Option<&[f64]>,
    user_keys: &Keys,
    item_keys: &Keys,
    test_fraction: f64,
) -> Holdout {
    let mut train = Vec::with_capacity(by_user.nnz());
    let mut train_time = Vec::new();
    let mut test = Vec::new();
    let mut n_test_pairs = 0;
    for u in 0..by_user.n_rows() {
        let (items, w) = by_user.row(u);
        let n_test = (items.len() as f64 * test_fraction).floor() as usize;
        let start = by_user.indptr[u] as usize;
        let uh = user_keys.hash(u as u32);
        let tie = |j: usize| mix64(uh ^ item_keys.hash(items[j]).rotate_left(17));
        let mut held = vec![false; items.len()];
        if n_test > 0 {
            let mut order: Vec<usize> = (0..items.len()).collect();
            match time {
                Some(t) => order.sort_by(|&a, &b| {
                    t[start + a]
                        .total_cmp(&t[start + b])
                        .then(items[a].cmp(&items[b]))
                }),
                None => order.sort_by_key(|&a| tie(a)),
            }
            let mut t_items: Vec<u32> = Vec::with_capacity(n_test);
            for &j in &order[items.len() - n_test..] {
                held[j] = true;
                t_items.push(items[j]);
            }
            t_items.sort_unstable();
            n_test_pairs += n_test;
            test.push((u as u32, t_items));
        }
        for j in 0..items.len() {
            if !held[j] {
                train.push((u as u32, items[j], w[j]));
                if let Some(t) = time {
                    train_time.push(t[start + j]);
                }
            }
        }
    }
    Holdout {
        train: Csr::from_sorted(by_user.n_rows(), train.into_iter()),
        train_time: time.map(|_| train_time),
        test,
        n_test_pairs,
    }
}

/// Number of distinct users per item, and items ordered from most to least popular
/// (ties by index).
pub fn popularity(by_user: &Csr, n_items: usize) -> (Vec<f32>, Vec<u32>) {
    let mut count = vec![0f32; n_items];
    for &i in &by_user.indices {
        count[i as usize] += 1.0;
    }
    let mut order: Vec<u32> = (0..n_items as u32).collect();
    order.sort_by(|&a, &b| {
        count[b as usize]
            .total_cmp(&count[a as usize])
            .then(a.cmp(&b))
    });
    (count, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_duplicates_add_up() {
        let d = Interactions::build(
            RawKeys::Int(vec![7, 3, 7, 7]),
            RawKeys::Text(vec!["b".into(), "a".into(), "b".into(), "a".into()]),
            vec![1.0, 2.0, 0.5, 1.0],
            Some(vec![1.0, 2.0, 5.0, 3.0]),
        );
        assert_eq!(d.user_keys, Keys::Int(vec![3, 7]));
        assert_eq!(d.item_keys, Keys::Text(vec!["a".into(), "b".into()]));
        assert_eq!(d.by_user.row(0), (&[0u32][..], &[2.0f32][..]));
        assert_eq!(d.by_user.row(1), (&[0u32, 1][..], &[1.0f32, 1.5][..]));
        assert_eq!(d.last_time, Some(vec![2.0, 3.0, 5.0]));
        let t = d.by_user.transpose(2);
        assert_eq!(t.row(0), (&[0u32, 1][..], &[2.0f32, 1.0][..]));
        assert_eq!(d.item_keys.find_text("b"), Some(1));
        assert_eq!(d.user_keys.find_int(4), None);
    }

    #[test]
    fn holdout_takes_the_latest_pairs() {
        let n = 10;
        let d = Interactions::build(
            RawKeys::Int(vec![1; n]),
            RawKeys::Int((0..n as i64).collect()),
            vec![1.0; n],
            Some((0..n).map(|i| ((i * 7) % n) as f64).collect()),
        );
        let h = d.holdout(0.2);
        // times 9 and 8 belong to items 7 (7*7=49%10=9) and 4 (28%10=8)
        assert_eq!(h.test, vec![(0, vec![4, 7])]);
        assert_eq!(h.train.nnz(), 8);
        assert_eq!(h.n_test_pairs, 2);
    }
}
