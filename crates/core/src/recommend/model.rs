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

use crate::data::keys::Keys;
use crate::error::Result;
use crate::math::csr::Csr;
use crate::math::dot;
use crate::metrics::ranking::{evaluate, RankingMetrics};
use crate::model::{self, ensure, Model};
use crate::monitor::Monitor;
use crate::recommend::als::{self, AlsParams, Factors};
use crate::recommend::interactions::{holdout, popularity, Interactions};

/// Recommenders in the registry (format 1 and 2 bodies are the same; 3 adds `fold_in`).
pub use crate::model::RECOMMENDER as KIND;

pub(crate) fn decode_recommender(version: u16, body: &[u8]) -> Result<Box<dyn Model>> {
    let r: Recommender = if version < 3 {
        // `fold_in` None is one zero byte.
        model::decode_body(&model::with_empty_tail(body, 1))?
    } else {
        model::decode_body(body)?
    };
    r.validate()?;
    let mut r = r;
    r.prepare();
    Ok(Box::new(r))
}

impl Model for Recommender {
    fn validate(&self) -> Result<()> {
        let (users, items) = (self.user_keys.len(), self.item_keys.len());
        let method_ok = match &self.method {
            Method::Als {
                k,
                users: u,
                items: i,
            } => *k > 0 && u.len() == users * k && i.len() == items * k,
            Method::ItemKnn { neighbors } => neighbors.is_valid(items, items),
        };
        ensure(
            &KIND,
            method_ok,
            "factors or neighbours that do not fit its keys",
        )?;
        ensure(
            &KIND,
            self.seen.is_valid(users, items)
                && self.popularity.len() == items
                && self.popular.iter().all(|&i| (i as usize) < items),
            "histories or popularity that do not fit its keys",
        )
    }

    fn memory_bytes(&self) -> usize {
        let method = match &self.method {
            // The item factors twice: as stored and ordered by norm, with the order and norms.
            Method::Als { users, items, .. } => {
                4 * (users.len() + 2 * items.len()) + 12 * self.item_keys.len()
            }
            Method::ItemKnn { neighbors } => 8 * neighbors.nnz(),
        };
        method + 8 * self.seen.nnz() + 12 * self.item_keys.len() + 16 * self.user_keys.len()
    }
}

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
    /// The items by decreasing norm, with their factors in that order (ALS, filled on load):
    /// scoring a whole catalogue stops once no item left can reach the k-th best score.
    #[serde(skip)]
    pub by_norm: ByNorm,
    /// Gram matrix YᵀY of the item factors (ALS), computed by the first fold-in.
    #[serde(skip)]
    pub gram: std::sync::OnceLock<Vec<f64>>,
    /// The ALS user step's settings, for folding in a session (format 3; None for item-kNN
    /// and for ALS models stored before).
    pub fold_in: Option<FoldIn>,
}

/// What the exact ALS user step needs besides the item factors.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct FoldIn {
    pub regularization: f32,
    pub alpha: f32,
}

/// Item factors ordered by decreasing norm.
#[derive(Clone, Debug, Default)]
pub struct ByNorm {
    pub items: Vec<u32>,
    pub norms: Vec<f32>,
    pub factors: Vec<f32>,
}

impl ByNorm {
    fn of(items: &[f32], k: usize, norms: &[f32]) -> ByNorm {
        let mut order: Vec<u32> = (0..norms.len() as u32).collect();
        order.sort_by(|&a, &b| {
            norms[b as usize]
                .total_cmp(&norms[a as usize])
                .then(a.cmp(&b))
        });
        let mut factors = Vec::with_capacity(items.len());
        for &i in &order {
            factors.extend_from_slice(&items[i as usize * k..(i as usize + 1) * k]);
        }
        ByNorm {
            norms: order.iter().map(|&i| norms[i as usize]).collect(),
            items: order,
            factors,
        }
    }
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
            self.by_norm = ByNorm::of(items, *k, &self.item_norms);
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
        let ask = Ask {
            n,
            seen,
            candidates,
        };
        match &self.method {
            Method::Als { k, users, .. } => {
                self.score_factors(&users[u as usize * k..(u as usize + 1) * k], ask, pool)
            }
            Method::ItemKnn { neighbors } => {
                let history = self.seen.row(u as usize).0;
                let got = knn_scores(neighbors, history, None, self.n_items(), ask);
                if got.is_empty() {
                    self.popular_items(n, seen, candidates)
                } else {
                    got
                }
            }
        }
    }

    /// The asked-for items by x·y over an ALS model's item factors.
    fn score_factors(&self, x: &[f32], ask: Ask, pool: Option<&ThreadPool>) -> Vec<(u32, f32)> {
        let Method::Als { k, items, .. } = &self.method else {
            return Vec::new();
        };
        match (pool, ask.candidates) {
            (_, None) if self.by_norm.items.len() == self.n_items() => {
                score_by_norm(x, &self.by_norm, *k, ask)
            }
            (Some(pool), None) if items.len() >= PARALLEL_SCORING => {
                score_dense_parallel(x, items, *k, ask, pool)
            }
            _ => score_dense(x, items, *k, ask),
        }
    }

    /// The `n` best items for an anonymous session or a cart: `items` (indices with their
    /// weights, e.g. 1 for a view and 3 for a cart add; repeated items add up). ALS folds the
    /// session in as a new user with the exact user step of the training objective (see
    /// [`Recommender::fold_in_user`]); item-kNN sums the items' neighbour similarities times
    /// their weights. No known item (or no neighbour) gives the most popular items.
    pub fn recommend_for_items(
        &self,
        items: &[(u32, f32)],
        n: usize,
        exclude_given: bool,
        candidates: Option<&[u32]>,
        pool: Option<&ThreadPool>,
    ) -> Result<Vec<(u32, f32)>> {
        let mut given: Vec<(u32, f32)> = items.to_vec();
        given.sort_by_key(|g| g.0);
        given.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1 += b.1;
                true
            } else {
                false
            }
        });
        let idx: Vec<u32> = given.iter().map(|g| g.0).collect();
        let seen: &[u32] = if exclude_given { &idx } else { &[] };
        if given.is_empty() {
            return Ok(self.popular_items(n, seen, candidates));
        }
        let ask = Ask {
            n,
            seen,
            candidates,
        };
        let got = match &self.method {
            Method::Als { .. } => {
                let x = self.fold_in_user(&given)?;
                self.score_factors(&x, ask, pool)
            }
            Method::ItemKnn { neighbors } => {
                let w: Vec<f32> = given.iter().map(|g| g.1).collect();
                knn_scores(neighbors, &idx, Some(&w), self.n_items(), ask)
            }
        };
        Ok(if got.is_empty() {
            self.popular_items(n, seen, candidates)
        } else {
            got
        })
    }

    /// The factors of a new user with interactions `given` (sorted distinct item indices and
    /// weights): the minimiser of Σ c_i (p_i − x·y_i)² + λ‖x‖² over every item (p = 1 and
    /// c = 1 + α·w for the given items, p = 0 and c = 1 for the others), the ALS user step,
    /// solved exactly: (YᵀY + λI + Σ (c_i − 1) y_i y_iᵀ) x = Σ c_i y_i.
    pub fn fold_in_user(&self, given: &[(u32, f32)]) -> Result<Vec<f32>> {
        let (spd, rhs) = self.user_system(given)?;
        Ok(spd.solve(&rhs).into_iter().map(|v| v as f32).collect())
    }

    /// Why an ALS model scores `item` for the user with interactions `given` (sorted distinct
    /// indices with weights), by Hu, Koren and Volinsky's (2008, §5) decomposition of the user
    /// step: score = Σ_j c_j · y_itemᵀ W y_j with W = (YᵀY + λI + Σ (c_j − 1) y_j y_jᵀ)⁻¹, one
    /// term per given item (summing to the fold-in score); item-kNN: each given item's
    /// similarity to `item` (summing to the kNN score). Best first.
    pub fn explain_item(&self, given: &[(u32, f32)], item: u32) -> Result<Vec<(u32, f64)>> {
        let mut out: Vec<(u32, f64)> = match &self.method {
            Method::Als { k, items, .. } => {
                let k = *k;
                let f = self.fold_in.ok_or_else(|| self.no_fold_in())?;
                let (spd, _) = self.user_system(given)?;
                let yi: Vec<f64> = items[item as usize * k..(item as usize + 1) * k]
                    .iter()
                    .map(|v| f64::from(*v))
                    .collect();
                let z = spd.solve(&yi);
                given
                    .iter()
                    .map(|&(j, w)| {
                        let yj = &items[j as usize * k..(j as usize + 1) * k];
                        let c = 1.0 + f64::from(f.alpha) * f64::from(w);
                        let d: f64 = z.iter().zip(yj).map(|(a, b)| a * f64::from(*b)).sum();
                        (j, c * d)
                    })
                    .collect()
            }
            Method::ItemKnn { neighbors } => given
                .iter()
                .filter_map(|&(j, _)| {
                    let (js, ss) = neighbors.row(j as usize);
                    js.iter()
                        .position(|&t| t == item)
                        .map(|p| (j, f64::from(ss[p])))
                })
                .collect(),
        };
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    fn no_fold_in(&self) -> crate::error::Error {
        crate::error::Error::data(
            "this ALS model was stored by an older shopml (model format 2) and lacks the settings a session fold-in needs",
        )
        .with_hint("Retrain it with shopml.train_recommender.")
    }

    /// The user step's system for interactions `given`: the factor of
    /// YᵀY + λI + Σ (c_i − 1) y_i y_iᵀ and the right-hand side Σ c_i y_i.
    fn user_system(&self, given: &[(u32, f32)]) -> Result<(crate::math::linalg::Spd, Vec<f64>)> {
        let Method::Als { k, items, .. } = &self.method else {
            return Err(crate::error::Error::invalid("fold-in needs an ALS model"));
        };
        let k = *k;
        let Some(f) = self.fold_in else {
            return Err(self.no_fold_in());
        };
        let gram = self.gram.get_or_init(|| {
            let mut g = vec![0.0f64; k * k];
            for row in items.chunks_exact(k) {
                for a in 0..k {
                    let ra = f64::from(row[a]);
                    for b in a..k {
                        g[a * k + b] += ra * f64::from(row[b]);
                    }
                }
            }
            for a in 0..k {
                for b in 0..a {
                    g[a * k + b] = g[b * k + a];
                }
            }
            g
        });
        let mut a = gram.clone();
        for d in 0..k {
            a[d * k + d] += f64::from(f.regularization);
        }
        let mut rhs = vec![0.0f64; k];
        for &(i, w) in given {
            let y = &items[i as usize * k..(i as usize + 1) * k];
            let c = 1.0 + f64::from(f.alpha) * f64::from(w);
            for r in 0..k {
                let yr = f64::from(y[r]);
                rhs[r] += c * yr;
                for s in 0..k {
                    a[r * k + s] += (c - 1.0) * yr * f64::from(y[s]);
                }
            }
        }
        let spd = crate::math::linalg::Spd::factor_with(&a, k, 0.0).ok_or_else(|| {
            crate::error::Error::data("the session's fold-in system does not factor")
                .with_hint("Retrain with a larger regularization.")
        })?;
        Ok((spd, rhs))
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

/// What one ranking asks for: the best `n` items, skipping `seen`, among `candidates` when
/// given (both sorted).
#[derive(Clone, Copy)]
struct Ask<'a> {
    n: usize,
    seen: &'a [u32],
    candidates: Option<&'a [u32]>,
}

/// The asked-for top items by x·y_i over the items' factors (`k` per item).
fn score_dense(x: &[f32], items: &[f32], k: usize, ask: Ask) -> Vec<(u32, f32)> {
    let n = ask.n;
    let mut top = TopK::new(n);
    let mut skip = SortedSkip {
        list: ask.seen,
        at: 0,
    };
    match ask.candidates {
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

/// [`score_dense`] over every item, visiting items by decreasing norm: by Cauchy–Schwarz no
/// item after the first whose |x|·|y| is below the k-th best score can enter the top, so the
/// scan stops there (the same result: a margin covers rounding).
fn score_by_norm(x: &[f32], b: &ByNorm, k: usize, ask: Ask) -> Vec<(u32, f32)> {
    let n = ask.n;
    let xn = dot(x, x).sqrt();
    let mut top = TopK::new(n);
    let mut floor = f32::NEG_INFINITY;
    for (j, row) in b.factors.chunks_exact(k).enumerate() {
        if top.heap.len() == n && xn * b.norms[j] * (1.0 + 1e-4) + 1e-30 < floor {
            break;
        }
        let s = dot(x, row);
        let i = b.items[j];
        if s >= floor && ask.seen.binary_search(&i).is_err() {
            top.push(s, i);
            if top.heap.len() == n {
                floor = top.heap.peek().map(|w| w.0 .0).unwrap_or(floor);
            }
        }
    }
    top.into_sorted()
}

/// Factor values (items × k) from which scoring a user is split across threads.
const PARALLEL_SCORING: usize = 1 << 20;

/// [`score_dense`] over all items (no candidates), in slices scored on the pool and merged
/// (same result).
fn score_dense_parallel(
    x: &[f32],
    items: &[f32],
    k: usize,
    ask: Ask,
    pool: &ThreadPool,
) -> Vec<(u32, f32)> {
    let n = ask.n;
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
                let local: Vec<u32> = ask
                    .seen
                    .iter()
                    .filter(|&&i| i >= first && i < last)
                    .map(|&i| i - first)
                    .collect();
                let local = Ask {
                    n,
                    seen: &local,
                    candidates: None,
                };
                let top = score_dense(x, block, k, local);
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

/// The asked-for top items by item-kNN score: the sum of similarities to the user's items.
fn knn_scores(
    neighbors: &Csr,
    history: &[u32],
    weights: Option<&[f32]>,
    n_items: usize,
    ask: Ask,
) -> Vec<(u32, f32)> {
    let mut acc: Vec<f32> = vec![0.0; n_items];
    let mut hit: Vec<bool> = vec![false; n_items];
    let mut touched: Vec<u32> = Vec::new();
    for (n, &h) in history.iter().enumerate() {
        let w = weights.map_or(1.0, |w| w[n]);
        let (js, ss) = neighbors.row(h as usize);
        for (&j, &s) in js.iter().zip(ss) {
            if !hit[j as usize] {
                hit[j as usize] = true;
                touched.push(j);
            }
            acc[j as usize] += w * s;
        }
    }
    touched.sort_unstable();
    let mut top = TopK::new(ask.n);
    let mut skip = SortedSkip {
        list: ask.seen,
        at: 0,
    };
    for &j in &touched {
        if skip.contains(j) || ask.candidates.is_some_and(|c| c.binary_search(&j).is_err()) {
            continue;
        }
        top.push(acc[j as usize], j);
    }
    top.into_sorted()
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

impl MethodParams {
    /// Bytes the fit holds for `users` × `items` with `nnz` interactions on `threads` threads:
    /// ALS, the factors of the held-out, tuning and final fits; item-kNN, the neighbour lists
    /// and one dense accumulator per thread; both, the matrices and their copies.
    pub fn memory_bytes(&self, users: usize, items: usize, nnz: usize, threads: usize) -> usize {
        let matrices = nnz * 16 * 6;
        match self {
            MethodParams::Als { params, .. } => 3 * (users + items) * params.factors * 4 + matrices,
            MethodParams::ItemKnn { neighbors } => {
                items * (*neighbors).min(items) * 16 + threads * items * 8 + matrices
            }
        }
    }
}

/// The λ values tried when the regularization is chosen automatically.
pub const REGULARIZATION_GRID: [f32; 5] = [1.0, 3.0, 10.0, 30.0, 100.0];

/// A trained model with its held-out evaluation (when `test_fraction > 0`).
pub struct TrainedRecommender {
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
        by_norm: ByNorm::default(),
        gram: std::sync::OnceLock::new(),
        fold_in: None,
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
) -> Result<TrainedRecommender> {
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
    let mut model = assemble(data, data.by_user.clone(), method);
    if let MethodParams::Als { params: p, .. } = &params {
        model.fold_in = Some(FoldIn {
            regularization: p.regularization,
            alpha: p.alpha,
        });
    }
    Ok(TrainedRecommender {
        model,
        metrics,
        n_test_pairs,
        als: match params {
            MethodParams::Als { params, .. } => Some(params),
            MethodParams::ItemKnn { .. } => None,
        },
        tuning,
    })
}

/// Options of `train_recommender`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommenderOptions {
    pub method: String,
    pub factors: usize,
    pub iterations: usize,
    /// None: chosen on a validation split ("auto", the default).
    pub regularization: Option<f64>,
    pub alpha: f64,
    pub cg_steps: usize,
    pub seed: u64,
    pub neighbors: usize,
    pub test_fraction: f64,
    pub k: usize,
    pub time_column: Option<String>,
    pub deploy: bool,
}

impl RecommenderOptions {
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self> {
        crate::options::parse("train_recommender", value, |o| {
            Ok(RecommenderOptions {
                method: o.choice("method", "als", &["als", "item_knn"])?,
                factors: o.integer("factors", 64, 1, 1024)? as usize,
                iterations: o.integer("iterations", 15, 1, 1000)? as usize,
                regularization: o.number_or_auto("regularization", None, 0.0, 1e9)?,
                alpha: o.number("alpha", 1.0, (0.0, true), (1e9, true))?,
                cg_steps: o.integer("cg_steps", 3, 1, 64)? as usize,
                seed: o.integer("seed", 42, 0, i64::MAX)? as u64,
                neighbors: o.integer("neighbors", 100, 1, 10_000)? as usize,
                test_fraction: o.number("test_fraction", 0.2, (0.0, true), (0.9, true))?,
                k: o.integer("k", 10, 1, 1000)? as usize,
                time_column: o.string("time_column")?,
                deploy: o.boolean("deploy", true)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_by_norm_equals_the_full_scan() {
        let k = 16;
        let mut rng = crate::rng::Rng::new(5);
        // Norms spread like ALS factors of items from popular to rare, some tied scores.
        let n_items = 5000;
        let mut items = Vec::with_capacity(n_items * k);
        for i in 0..n_items {
            let scale = 3.0 / (1.0 + i as f64 / 50.0);
            for _ in 0..k {
                items.push((rng.normal() * scale) as f32);
            }
        }
        let dup: Vec<f32> = items[..k].to_vec();
        items[7 * k..8 * k].copy_from_slice(&dup); // item 7 ties item 0 for every user
        let norms: Vec<f32> = items.chunks_exact(k).map(|r| dot(r, r).sqrt()).collect();
        let by_norm = ByNorm::of(&items, k, &norms);
        for u in 0..50 {
            let x: Vec<f32> = (0..k).map(|_| rng.normal() as f32).collect();
            let seen: Vec<u32> = (0..n_items as u32)
                .filter(|i| (i * 7 + u) % 13 == 0)
                .collect();
            for n in [1, 10, 100] {
                let ask = Ask {
                    n,
                    seen: &seen,
                    candidates: None,
                };
                assert_eq!(
                    score_by_norm(&x, &by_norm, k, ask),
                    score_dense(&x, &items, k, ask),
                    "user {u}, n {n}"
                );
            }
        }
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
        let ask = |n, seen, candidates| Ask {
            n,
            seen,
            candidates,
        };
        let got = score_dense(&x, &items, 2, ask(2, &[5], None));
        assert_eq!(got, vec![(4, 4.0), (3, 3.0)]);
        let got = score_dense(&x, &items, 2, ask(5, &[], Some(&[0, 2])));
        assert_eq!(got, vec![(2, 2.0), (0, 0.0)]);
    }
}
