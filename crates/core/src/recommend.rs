//! Trained recommenders and serving: top-k items for a user, similar items, ranking metrics.
//!
//! Two methods share one model type: ALS factors (see [`crate::als`]) and item-to-item cosine
//! neighbourhoods on co-occurrence ("customers who bought this also bought"). Both keep the
//! user's history (for `exclude_seen` and item-kNN scoring) and item popularity (for users the
//! model has never seen, and as the baseline every evaluation reports).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::als::{self, dot, AlsParams, Factors, Monitor};
use crate::error::Result;
use crate::interactions::{holdout, popularity, Csr, Interactions, Keys};

pub const ALGORITHM: &str = "recommender";

/// How scores are computed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Method {
    Als {
        k: usize,
        users: Vec<f32>,
        items: Vec<f32>,
    },
    /// Per item, its most similar items (cosine on co-occurrence), best first.
    ItemKnn { neighbors: Csr },
}

/// A trained recommender as stored in the catalog.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recommender {
    pub method: Method,
    pub user_keys: Keys,
    pub item_keys: Keys,
    /// Every user's items (all interactions, not only the training split).
    pub seen: Csr,
    /// Items from most to least popular (distinct users).
    pub popular: Vec<u32>,
    pub popularity: Vec<f32>,
    /// Euclidean norms of the item factors (ALS), filled on load.
    #[serde(skip)]
    pub item_norms: Vec<f32>,
}

/// A score with a total order: higher first, then lower item index.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ranked(f32, u32);

impl Eq for Ranked {}
impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> Ordering {
        // "Greater" means better: higher score, then smaller index.
        self.0.total_cmp(&o.0).then(o.1.cmp(&self.1))
    }
}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Keeps the `k` best (score, item) pairs seen so far.
pub struct TopK {
    k: usize,
    heap: BinaryHeap<std::cmp::Reverse<Ranked>>,
}

impl TopK {
    pub fn new(k: usize) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    #[inline]
    pub fn push(&mut self, score: f32, item: u32) {
        if self.k == 0 || score.is_nan() {
            return;
        }
        let r = Ranked(score, item);
        if self.heap.len() < self.k {
            self.heap.push(std::cmp::Reverse(r));
        } else if let Some(worst) = self.heap.peek() {
            if r > worst.0 {
                self.heap.pop();
                self.heap.push(std::cmp::Reverse(r));
            }
        }
    }

    /// Best first.
    pub fn into_sorted(self) -> Vec<(u32, f32)> {
        let mut v: Vec<Ranked> = self.heap.into_iter().map(|r| r.0).collect();
        v.sort_by(|a, b| b.cmp(a));
        v.into_iter().map(|r| (r.1, r.0)).collect()
    }
}

/// Marks items in a sorted list while items are visited in increasing order.
struct SortedSkip<'a> {
    list: &'a [u32],
    at: usize,
}

impl SortedSkip<'_> {
    #[inline]
    fn contains(&mut self, item: u32) -> bool {
        while self.at < self.list.len() && self.list[self.at] < item {
            self.at += 1;
        }
        self.at < self.list.len() && self.list[self.at] == item
    }
}

/// Item-to-item cosine similarity on binary co-occurrence, keeping the `neighbors` best per
/// item (similarity > 0 only).
pub fn item_knn(
    by_user: &Csr,
    by_item: &Csr,
    neighbors: usize,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<Csr> {
    let n_items = by_item.n_rows();
    let norm: Vec<f32> = (0..n_items)
        .map(|i| (by_item.row(i).0.len() as f32).sqrt())
        .collect();
    let mut rows: Vec<Vec<(u32, f32)>> = Vec::with_capacity(n_items);
    const BLOCK: usize = 2048;
    for start in (0..n_items).step_by(BLOCK) {
        let end = (start + BLOCK).min(n_items);
        let part: Vec<Vec<(u32, f32)>> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map_init(
                    || (vec![0f32; n_items], Vec::<u32>::new()),
                    |(acc, touched), i| {
                        for &u in by_item.row(i).0 {
                            for &j in by_user.row(u as usize).0 {
                                if j as usize != i {
                                    if acc[j as usize] == 0.0 {
                                        touched.push(j);
                                    }
                                    acc[j as usize] += 1.0;
                                }
                            }
                        }
                        let mut top = TopK::new(neighbors);
                        for &j in touched.iter() {
                            let s = acc[j as usize] / (norm[i] * norm[j as usize]);
                            top.push(s, j);
                            acc[j as usize] = 0.0;
                        }
                        touched.clear();
                        top.into_sorted()
                    },
                )
                .collect()
        });
        rows.extend(part);
        monitor.tick()?;
    }
    let mut indptr = Vec::with_capacity(n_items + 1);
    indptr.push(0u64);
    let mut indices = Vec::new();
    let mut values = Vec::new();
    for r in rows {
        for (j, s) in r {
            indices.push(j);
            values.push(s);
        }
        indptr.push(indices.len() as u64);
    }
    Ok(Csr {
        indptr,
        indices,
        values,
    })
}

impl Recommender {
    /// Fills fields derived on load.
    pub fn prepare(&mut self) {
        if let Method::Als { k, items, .. } = &self.method {
            self.item_norms = items.chunks_exact(*k).map(|r| dot(r, r).sqrt()).collect();
        }
    }

    pub fn n_items(&self) -> usize {
        self.item_keys.len()
    }

    pub fn method_name(&self) -> &'static str {
        match self.method {
            Method::Als { .. } => "als",
            Method::ItemKnn { .. } => "item_knn",
        }
    }

    /// The `n` best items for a known user (`Some(index)`), or the most popular items for an
    /// unknown one. `candidates` (sorted, distinct) restricts the items considered.
    pub fn recommend(
        &self,
        user: Option<u32>,
        n: usize,
        exclude_seen: bool,
        candidates: Option<&[u32]>,
    ) -> Vec<(u32, f32)> {
        self.recommend_on(user, n, exclude_seen, candidates, None)
    }

    /// [`Recommender::recommend`], scoring a large catalogue on `pool` when one is given.
    pub fn recommend_on(
        &self,
        user: Option<u32>,
        n: usize,
        exclude_seen: bool,
        candidates: Option<&[u32]>,
        pool: Option<&ThreadPool>,
    ) -> Vec<(u32, f32)> {
        let Some(u) = user.filter(|&u| (u as usize) < self.seen.n_rows()) else {
            return self.popular_items(n, &[], candidates);
        };
        let seen = if exclude_seen {
            self.seen.row(u as usize).0
        } else {
            &[]
        };
        match &self.method {
            Method::Als { k, users, items } => {
                let x = &users[u as usize * k..(u as usize + 1) * k];
                match (pool, candidates) {
                    (Some(pool), None) if items.len() >= PARALLEL_SCORING => {
                        score_dense_parallel(x, items, *k, n, seen, pool)
                    }
                    _ => score_dense(x, items, *k, n, seen, candidates),
                }
            }
            Method::ItemKnn { neighbors } => {
                let history = self.seen.row(u as usize).0;
                let got = knn_scores(neighbors, history, self.n_items(), n, seen, candidates);
                if got.is_empty() {
                    self.popular_items(n, seen, candidates)
                } else {
                    got
                }
            }
        }
    }

    /// The most popular items, skipping `seen`, within `candidates`.
    pub fn popular_items(
        &self,
        n: usize,
        seen: &[u32],
        candidates: Option<&[u32]>,
    ) -> Vec<(u32, f32)> {
        let ok = |i: u32| {
            seen.binary_search(&i).is_err()
                && candidates.is_none_or(|c| c.binary_search(&i).is_ok())
        };
        self.popular
            .iter()
            .copied()
            .filter(|&i| ok(i))
            .take(n)
            .map(|i| (i, self.popularity[i as usize]))
            .collect()
    }

    /// The `n` items most similar to `item` (cosine of factors for ALS, stored neighbours for
    /// item-kNN), excluding the item itself.
    pub fn similar(&self, item: u32, n: usize) -> Vec<(u32, f32)> {
        match &self.method {
            Method::Als { k, items, .. } => {
                let q = &items[item as usize * k..(item as usize + 1) * k];
                let qn = self.item_norms[item as usize];
                let mut top = TopK::new(n);
                if qn > 0.0 {
                    for (j, row) in items.chunks_exact(*k).enumerate() {
                        let d = self.item_norms[j];
                        if j as u32 != item && d > 0.0 {
                            top.push(dot(q, row) / (qn * d), j as u32);
                        }
                    }
                }
                top.into_sorted()
            }
            Method::ItemKnn { neighbors } => {
                let (j, s) = neighbors.row(item as usize);
                j.iter().copied().zip(s.iter().copied()).take(n).collect()
            }
        }
    }
}

/// Top-n of x·y_i over items (all, or the candidates), skipping `seen` (sorted).
fn score_dense(
    x: &[f32],
    items: &[f32],
    k: usize,
    n: usize,
    seen: &[u32],
    candidates: Option<&[u32]>,
) -> Vec<(u32, f32)> {
    let mut top = TopK::new(n);
    let mut skip = SortedSkip { list: seen, at: 0 };
    match candidates {
        Some(c) => {
            for &i in c {
                if !skip.contains(i) {
                    top.push(dot(x, &items[i as usize * k..(i as usize + 1) * k]), i);
                }
            }
        }
        None => {
            // Track the k-th best score so most items cost one dot product and one compare.
            let mut floor = f32::NEG_INFINITY;
            for (i, row) in items.chunks_exact(k).enumerate() {
                let s = dot(x, row);
                if s > floor && !skip.contains(i as u32) {
                    top.push(s, i as u32);
                    if top.heap.len() == n {
                        floor = top.heap.peek().map(|w| w.0 .0).unwrap_or(floor);
                    }
                }
            }
        }
    }
    top.into_sorted()
}

/// Factor values (items × k) from which scoring a user is split across threads.
const PARALLEL_SCORING: usize = 1 << 20;

/// [`score_dense`] over all items, in slices scored on the pool and merged (same result).
fn score_dense_parallel(
    x: &[f32],
    items: &[f32],
    k: usize,
    n: usize,
    seen: &[u32],
    pool: &ThreadPool,
) -> Vec<(u32, f32)> {
    let n_items = items.len() / k;
    let slices = pool.current_num_threads().max(1) * 2;
    let rows = n_items.div_ceil(slices).max(1);
    let parts: Vec<Vec<(u32, f32)>> = pool.install(|| {
        items
            .par_chunks(rows * k)
            .enumerate()
            .map(|(c, block)| {
                let first = (c * rows) as u32;
                let last = first + (block.len() / k) as u32;
                let local: Vec<u32> = seen
                    .iter()
                    .filter(|&&i| i >= first && i < last)
                    .map(|&i| i - first)
                    .collect();
                let top = score_dense(x, block, k, n, &local, None);
                top.into_iter().map(|(i, s)| (i + first, s)).collect()
            })
            .collect()
    });
    let mut top = TopK::new(n);
    for (i, s) in parts.into_iter().flatten() {
        top.push(s, i);
    }
    top.into_sorted()
}

/// Item-kNN scores: the sum of similarities to the user's items.
fn knn_scores(
    neighbors: &Csr,
    history: &[u32],
    n_items: usize,
    n: usize,
    seen: &[u32],
    candidates: Option<&[u32]>,
) -> Vec<(u32, f32)> {
    let mut acc: Vec<f32> = vec![0.0; n_items];
    let mut touched: Vec<u32> = Vec::new();
    for &h in history {
        let (js, ss) = neighbors.row(h as usize);
        for (&j, &s) in js.iter().zip(ss) {
            if acc[j as usize] == 0.0 {
                touched.push(j);
            }
            acc[j as usize] += s;
        }
    }
    touched.sort_unstable();
    let mut top = TopK::new(n);
    let mut skip = SortedSkip { list: seen, at: 0 };
    for &j in &touched {
        if skip.contains(j) || candidates.is_some_and(|c| c.binary_search(&j).is_err()) {
            continue;
        }
        top.push(acc[j as usize], j);
    }
    top.into_sorted()
}

/// Averages of ranking metrics at k over the users with held-out items.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RankingMetrics {
    pub k: usize,
    pub users: usize,
    pub precision: f64,
    pub recall: f64,
    pub ndcg: f64,
    pub map: f64,
    /// Distinct items recommended to the evaluated users / items in the catalogue.
    pub coverage: f64,
}

/// Metrics of one list: (precision, recall, ndcg, average precision).
pub type ListScores = (f64, f64, f64, f64);

/// Metrics of one user's list.
pub fn score_list(recs: &[u32], relevant: &[u32], k: usize) -> ListScores {
    if relevant.is_empty() || k == 0 {
        return (0.0, 0.0, 0.0, 0.0);
    }
    let mut hits = 0usize;
    let mut dcg = 0.0;
    let mut ap = 0.0;
    for (pos, item) in recs.iter().take(k).enumerate() {
        if relevant.binary_search(item).is_ok() {
            hits += 1;
            dcg += 1.0 / ((pos + 2) as f64).log2();
            ap += hits as f64 / (pos + 1) as f64;
        }
    }
    let ideal = relevant.len().min(k);
    let idcg: f64 = (0..ideal).map(|p| 1.0 / ((p + 2) as f64).log2()).sum();
    (
        hits as f64 / k as f64,
        hits as f64 / relevant.len() as f64,
        dcg / idcg,
        ap / ideal as f64,
    )
}

/// Evaluates `recs(user)` (already excluding the user's training items) against held-out items.
pub fn evaluate<F>(
    test: &[(u32, Vec<u32>)],
    k: usize,
    n_items: usize,
    pool: &ThreadPool,
    recs: F,
) -> RankingMetrics
where
    F: Fn(u32) -> Vec<u32> + Sync,
{
    let lists: Vec<(Vec<u32>, ListScores)> = pool.install(|| {
        test.par_iter()
            .map(|(u, relevant)| {
                let r = recs(*u);
                let s = score_list(&r, relevant, k);
                (r, s)
            })
            .collect()
    });
    let mut m = RankingMetrics {
        k,
        users: lists.len(),
        ..RankingMetrics::default()
    };
    let mut shown = vec![false; n_items];
    for (r, (p, rc, nd, ap)) in &lists {
        m.precision += p;
        m.recall += rc;
        m.ndcg += nd;
        m.map += ap;
        for &i in r {
            shown[i as usize] = true;
        }
    }
    let n = lists.len().max(1) as f64;
    m.precision /= n;
    m.recall /= n;
    m.ndcg /= n;
    m.map /= n;
    m.coverage = shown.iter().filter(|&&s| s).count() as f64 / n_items.max(1) as f64;
    m
}

/// What to train.
#[derive(Clone, Debug)]
pub enum MethodParams {
    /// ALS; with `tune`, `regularization` is chosen from [`REGULARIZATION_GRID`] on a
    /// validation split carved from the training data.
    Als {
        params: AlsParams,
        tune: bool,
    },
    ItemKnn {
        neighbors: usize,
    },
}

/// The λ values tried when the regularization is chosen automatically.
pub const REGULARIZATION_GRID: [f32; 5] = [1.0, 3.0, 10.0, 30.0, 100.0];

/// A trained model with its held-out evaluation (when `test_fraction > 0`).
pub struct Trained {
    pub model: Recommender,
    pub metrics: Option<(RankingMetrics, RankingMetrics)>,
    pub n_test_pairs: usize,
    /// The ALS parameters used (with the chosen regularization).
    pub als: Option<AlsParams>,
    /// (λ, validation ndcg@k) for each λ tried.
    pub tuning: Vec<(f32, f64)>,
}

fn fit_method(
    by_user: &Csr,
    n_items: usize,
    params: &MethodParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<Method> {
    let by_item = by_user.transpose(n_items);
    match params {
        MethodParams::Als { params: p, .. } => {
            let mut f = Factors::init(by_user.n_rows(), n_items, p.factors, p.seed);
            als::fit(by_user, &by_item, &mut f, p, pool, monitor)?;
            Ok(Method::Als {
                k: f.k,
                users: f.users,
                items: f.items,
            })
        }
        MethodParams::ItemKnn { neighbors } => Ok(Method::ItemKnn {
            neighbors: item_knn(by_user, &by_item, *neighbors, pool, monitor)?,
        }),
    }
}

/// Scores `params` on held-out items at `k`: the model and the popularity baseline.
#[allow(clippy::too_many_arguments)]
fn holdout_scores(
    data: &Interactions,
    train: Csr,
    test: &[(u32, Vec<u32>)],
    params: &MethodParams,
    k: usize,
    baseline: bool,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<(RankingMetrics, RankingMetrics)> {
    let method = fit_method(&train, data.n_items(), params, pool, monitor)?;
    let model = assemble(data, train, method);
    let n_items = data.n_items();
    let ours = evaluate(test, k, n_items, pool, |u| {
        model
            .recommend(Some(u), k, true, None)
            .into_iter()
            .map(|r| r.0)
            .collect()
    });
    monitor.tick()?;
    let mut base = RankingMetrics::default();
    if baseline {
        base = evaluate(test, k, n_items, pool, |u| {
            model
                .popular_items(k, model.seen.row(u as usize).0, None)
                .into_iter()
                .map(|r| r.0)
                .collect()
        });
        monitor.tick()?;
    }
    Ok((ours, base))
}

fn assemble(data: &Interactions, seen: Csr, method: Method) -> Recommender {
    let (popularity, popular) = popularity(&seen, data.n_items());
    let mut m = Recommender {
        method,
        user_keys: data.user_keys.clone(),
        item_keys: data.item_keys.clone(),
        seen,
        popular,
        popularity,
        item_norms: Vec::new(),
    };
    m.prepare();
    m
}

/// Trains on all interactions; with `test_fraction > 0` first trains on all but each user's
/// latest interactions and scores the model and a popularity baseline on those, at `k`.
pub fn train(
    data: &Interactions,
    params: &MethodParams,
    test_fraction: f64,
    k: usize,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<Trained> {
    let mut params = params.clone();
    let mut metrics = None;
    let mut tuning = Vec::new();
    let mut n_test_pairs = 0;
    let split = (test_fraction > 0.0).then(|| data.holdout(test_fraction));
    if let MethodParams::Als {
        params: p,
        tune: true,
    } = &mut params
    {
        // Validation: the latest 20 % of each user's training pairs.
        let (base, base_time) = match &split {
            Some(h) => (&h.train, h.train_time.as_deref()),
            None => (&data.by_user, data.last_time.as_deref()),
        };
        let v = holdout(base, base_time, &data.user_keys, &data.item_keys, 0.2);
        if !v.test.is_empty() {
            let mut best = (f64::NEG_INFINITY, p.regularization);
            for reg in REGULARIZATION_GRID {
                let trial = MethodParams::Als {
                    params: AlsParams {
                        regularization: reg,
                        iterations: p.iterations.min(8),
                        ..p.clone()
                    },
                    tune: false,
                };
                let (m, _) = holdout_scores(
                    data,
                    v.train.clone(),
                    &v.test,
                    &trial,
                    k,
                    false,
                    pool,
                    monitor,
                )?;
                tuning.push((reg, m.ndcg));
                if m.ndcg > best.0 {
                    best = (m.ndcg, reg);
                }
            }
            p.regularization = best.1;
        }
    }
    if let Some(h) = split {
        n_test_pairs = h.n_test_pairs;
        if !h.test.is_empty() {
            metrics = Some(holdout_scores(
                data, h.train, &h.test, &params, k, true, pool, monitor,
            )?);
        }
    }
    let method = fit_method(&data.by_user, data.n_items(), &params, pool, monitor)?;
    Ok(Trained {
        model: assemble(data, data.by_user.clone(), method),
        metrics,
        n_test_pairs,
        als: match params {
            MethodParams::Als { params, .. } => Some(params),
            MethodParams::ItemKnn { .. } => None,
        },
        tuning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_metrics_by_hand() {
        // Relevant {2, 5}; list [5, 1, 2]: hits at ranks 1 and 3.
        let (p, r, n, ap) = score_list(&[5, 1, 2], &[2, 5], 3);
        assert!((p - 2.0 / 3.0).abs() < 1e-12);
        assert!((r - 1.0).abs() < 1e-12);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((n - dcg / idcg).abs() < 1e-12);
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(score_list(&[1, 3], &[2], 2), (0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn topk_keeps_the_best_with_stable_ties() {
        let mut t = TopK::new(3);
        for (i, s) in [0.5f32, 0.9, 0.1, 0.9, 0.7, f32::NAN].iter().enumerate() {
            t.push(*s, i as u32);
        }
        assert_eq!(t.into_sorted(), vec![(1, 0.9), (3, 0.9), (4, 0.7)]);
    }

    #[test]
    fn dense_scoring_skips_seen_and_respects_candidates() {
        // Two factors; item i has factors (i, 1).
        let items: Vec<f32> = (0..6).flat_map(|i| [i as f32, 1.0]).collect();
        let x = [1.0f32, 0.0];
        let got = score_dense(&x, &items, 2, 2, &[5], None);
        assert_eq!(got, vec![(4, 4.0), (3, 3.0)]);
        let got = score_dense(&x, &items, 2, 5, &[], Some(&[0, 2]));
        assert_eq!(got, vec![(2, 2.0), (0, 0.0)]);
    }
}
