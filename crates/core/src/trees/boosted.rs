//! Gradient-boosted decision trees: histogram-based, leaf-wise growth, second-order leaf
//! values, the family of LightGBM (Ke et al. 2017) and XGBoost (Chen and Guestrin 2016).
//!
//! Each feature is cut once into at most `max_bins` quantile bins of its finite values (one
//! bin per distinct value when there are few); a missing value (NaN) has a bin of its own after
//! them. Rows are coded as `u8` bin numbers in column-major order. A tree starts as one leaf
//! holding every (bagged) row; the leaf whose best split gains most is split next, until
//! `num_leaves` leaves or no split gains more than `min_gain`. A leaf's histogram holds the sums
//! of gradients and hessians per bin of every feature; only the smaller child of a split is
//! accumulated, the larger is its parent minus it. Row counts are estimated from the hessians as
//! LightGBM does (exact when the hessian is constant, as for squared error).
//!
//! A split sends the missing bin to the side that gains more; when the node had no missing
//! values, missing values follow the side with the larger hessian sum (more rows). With
//! `l1` and `l2`, a leaf's value is −T(G)/(H + l2), T the soft threshold by l1. Monotone
//! constraints use bounds: a split on a constrained feature must order its two children's
//! values, and their midpoint bounds every leaf below each child, so the model is monotone in
//! that feature for every row.
//!
//! Histograms are accumulated per feature in parallel on the pool, each feature by one thread
//! in row order, and every other step is sequential or per row, so a fit does not depend on
//! the number of threads. Bagging and feature sampling draw from generators seeded from the
//! seed and the iteration.

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::mix64;
use crate::monitor::Monitor;
use crate::rng::Rng;
use crate::trees::forest::{cut_points, midpoint, BIN_SAMPLE};

/// The loss a booster minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Objective {
    /// Log loss of a 0/1 target; scores are log-odds.
    Binary,
    /// Squared error.
    Regression,
    /// Poisson deviance of counts; scores are log means.
    Poisson,
    /// Softmax log loss over `n_classes` classes; one tree per class an iteration.
    Multiclass,
    /// LambdaRank (NDCG) within groups of rows (a search query's products); the target is
    /// the relevance (≥ 0, gain 2^rel − 1); scores rank within a group.
    Lambdarank,
}

impl Objective {
    pub const NAMES: [&'static str; 5] = [
        "binary",
        "regression",
        "poisson",
        "multiclass",
        "lambdarank",
    ];

    pub fn parse(s: &str) -> Option<Objective> {
        Some(match s {
            "binary" => Objective::Binary,
            "regression" => Objective::Regression,
            "poisson" => Objective::Poisson,
            "multiclass" => Objective::Multiclass,
            "lambdarank" => Objective::Lambdarank,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Objective::Binary => "binary",
            Objective::Regression => "regression",
            Objective::Poisson => "poisson",
            Objective::Multiclass => "multiclass",
            Objective::Lambdarank => "lambdarank",
        }
    }

    /// The name of the loss reported per iteration.
    pub fn loss_name(self) -> &'static str {
        match self {
            Objective::Binary | Objective::Multiclass => "log_loss",
            Objective::Regression => "mse",
            Objective::Poisson => "poisson_deviance",
            Objective::Lambdarank => "1 - ndcg@10",
        }
    }

    pub fn is_classifier(self) -> bool {
        matches!(self, Objective::Binary | Objective::Multiclass)
    }
}

fn objective_json<S: serde::Serializer>(
    o: &Objective,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(o.name())
}

/// A booster's parameters; as JSON (the catalog's params) in the names of the options.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoostParams {
    #[serde(serialize_with = "objective_json")]
    pub objective: Objective,
    pub n_trees: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    /// Deepest leaf (the root has depth 0); None: no limit.
    pub max_depth: Option<usize>,
    pub min_data_in_leaf: usize,
    pub min_sum_hessian: f64,
    pub l2: f64,
    pub l1: f64,
    pub min_gain: f64,
    /// Fraction of rows drawn (without replacement, each row by a coin) for the trees of an
    /// iteration, redrawn every `subsample_freq` iterations; 1 keeps every row.
    pub subsample: f64,
    pub subsample_freq: usize,
    /// Fraction of features a tree may split on.
    pub colsample: f64,
    pub max_bins: usize,
    /// Fewest rows a bin of a feature with few distinct values holds.
    pub min_data_in_bin: usize,
    pub early_stopping_rounds: Option<usize>,
    /// Per prepared feature: +1 (the score never falls as it grows), −1, or 0.
    pub monotone: Vec<i8>,
    /// Weight of the positive rows (binary).
    pub scale_pos_weight: f64,
    pub seed: u64,
}

impl Default for BoostParams {
    fn default() -> Self {
        BoostParams {
            objective: Objective::Regression,
            n_trees: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: None,
            min_data_in_leaf: 20,
            min_sum_hessian: 1e-3,
            l2: 0.0,
            l1: 0.0,
            min_gain: 0.0,
            subsample: 1.0,
            subsample_freq: 0,
            colsample: 1.0,
            max_bins: 255,
            min_data_in_bin: 3,
            early_stopping_rounds: None,
            monotone: Vec::new(),
            scale_pos_weight: 1.0,
            seed: 0,
        }
    }
}

/// LightGBM's `poisson_max_delta_step`: the hessian of the Poisson loss is taken at a score
/// raised by this much, which keeps the first steps from a low mean small.
const POISSON_MAX_DELTA: f64 = 0.7;

/// The missing-value bit of a node's `feature`: missing values go right.
const MISSING_RIGHT: u32 = 1 << 31;

/// One node of a boosted tree (16 bytes). The children of a split sit side by side, `next`
/// (x <= threshold) and `next + 1`; a NaN goes right when the feature's top bit is set. A leaf
/// points to itself with an infinite threshold, so stepping from it stays put.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    threshold: f64,
    feature: u32,
    next: u32,
}

impl Node {
    #[inline(always)]
    fn step(&self, row: &[f64]) -> u32 {
        let x = row[(self.feature & !MISSING_RIGHT) as usize];
        let right = if x.is_nan() {
            self.feature >> 31
        } else {
            (x > self.threshold) as u32
        };
        self.next + right
    }

    fn is_leaf(&self, i: usize) -> bool {
        self.next as usize == i
    }

    /// The feature a split tests (None for a leaf at `i`).
    pub fn split_feature(&self, i: usize) -> Option<usize> {
        (!self.is_leaf(i)).then_some((self.feature & !MISSING_RIGHT) as usize)
    }
}

/// One boosted tree: nodes in breadth-first order, and per node its value (the learning rate
/// applied; only leaves' are used) and its training rows' hessian sum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub value: Vec<f64>,
    pub cover: Vec<f64>,
}

impl Tree {
    /// The leaf `row` falls into.
    #[inline]
    pub fn leaf(&self, row: &[f64]) -> usize {
        let mut at = 0u32;
        loop {
            let next = self.nodes[at as usize].step(row);
            if next == at {
                return at as usize;
            }
            at = next;
        }
    }

    pub fn leaves(&self) -> usize {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| n.is_leaf(*i))
            .count()
    }

    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.nodes.len()];
        let mut max = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            if !n.is_leaf(i) {
                let d = depth[i] + 1;
                depth[n.next as usize] = d;
                depth[n.next as usize + 1] = d;
                max = max.max(d);
            }
        }
        max
    }
}

/// Trees walked in lock step by one row (their memory loads overlap).
const LANES: usize = 16;

/// A fitted booster. Scores are `init + Σ trees` per output; outputs are one (binary,
/// regression, poisson) or one per class (multiclass, trees interleaved by class).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Booster {
    pub objective: Objective,
    pub n_features: usize,
    pub n_outputs: usize,
    pub init: Vec<f64>,
    pub trees: Vec<Tree>,
    /// Per feature: the total gain of its splits, and their number.
    pub gain: Vec<f64>,
    pub splits: Vec<u64>,
}

impl Booster {
    /// Adds every tree's leaf value for `row` to `out` (one per output).
    #[inline]
    fn add_trees(&self, row: &[f64], out: &mut [f64]) {
        let k = self.n_outputs;
        for (g, group) in self.trees.chunks(LANES).enumerate() {
            let mut at = [0u32; LANES];
            loop {
                let mut moved = false;
                for (a, t) in at.iter_mut().zip(group) {
                    let next = t.nodes[*a as usize].step(row);
                    moved |= next != *a;
                    *a = next;
                }
                if !moved {
                    break;
                }
            }
            for (i, (&a, t)) in at.iter().zip(group).enumerate() {
                out[(g * LANES + i) % k] += t.value[a as usize];
            }
        }
    }

    /// The raw scores of a one-output booster for every row of `x` (row-major, `n_features`
    /// values each) into `out`, tree by tree over groups of rows: each tree's nodes stay in
    /// cache while a group of rows walks it, the rows of a group step in lock step (their
    /// loads overlap) for the tree's depth, a leaf stepping to itself.
    pub fn raw_block(&self, x: &[f64], out: &mut [f64]) {
        const R: usize = 8;
        let p = self.n_features.max(1);
        let n = out.len();
        out.iter_mut().for_each(|o| *o = self.init[0]);
        let depths: Vec<usize> = self.trees.iter().map(|t| t.depth()).collect();
        for start in (0..n).step_by(64) {
            let end = (start + 64).min(n);
            for (t, &depth) in self.trees.iter().zip(&depths) {
                let mut r = start;
                while r < end {
                    let m = (end - r).min(R);
                    let mut at = [0u32; R];
                    for _ in 0..depth {
                        for (j, a) in at.iter_mut().enumerate().take(m) {
                            let row = &x[(r + j) * p..(r + j + 1) * p];
                            *a = t.nodes[*a as usize].step(row);
                        }
                    }
                    for (j, a) in at.iter().enumerate().take(m) {
                        out[r + j] += t.value[*a as usize];
                    }
                    r += m;
                }
            }
        }
    }

    /// The raw scores of `row` (`n_features` values, NaN for missing) into `out`
    /// (`n_outputs`): log-odds, value, log mean, or per-class scores before the softmax.
    pub fn raw_into(&self, row: &[f64], out: &mut [f64]) {
        out[..self.n_outputs].copy_from_slice(&self.init);
        self.add_trees(row, out);
    }

    /// The raw score of a one-output booster.
    pub fn raw(&self, row: &[f64]) -> f64 {
        let mut out = [self.init[0]];
        self.add_trees(row, &mut out);
        out[0]
    }

    /// The prediction on the response scale into `out`: probability of class 1 (binary),
    /// value, mean count, or the class probabilities.
    pub fn predict_into(&self, row: &[f64], out: &mut [f64]) {
        self.raw_into(row, out);
        transform(self.objective, &mut out[..self.n_outputs]);
    }

    /// Nodes of every tree.
    pub fn nodes(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }

    /// Checks a booster read from storage: children after their parent, leaves point to
    /// themselves, features in range, sizes consistent.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| {
            Err(crate::model::damaged(
                &crate::trees::boosted_model::KIND,
                what,
            ))
        };
        let k = self.n_outputs;
        let ok_outputs = match self.objective {
            Objective::Multiclass => k >= 2,
            _ => k == 1,
        };
        if !ok_outputs
            || self.init.len() != k
            || !self.trees.len().is_multiple_of(k)
            || self.gain.len() != self.n_features
            || self.splits.len() != self.n_features
        {
            return bad("bad header");
        }
        for t in &self.trees {
            let n = t.nodes.len();
            if n == 0 || t.value.len() != n || t.cover.len() != n {
                return bad("bad tree size");
            }
            for (i, node) in t.nodes.iter().enumerate() {
                let next = node.next as usize;
                let ok = if next == i {
                    node.threshold == f64::INFINITY && node.feature == 0
                } else {
                    next > i
                        && next + 1 < n
                        && ((node.feature & !MISSING_RIGHT) as usize) < self.n_features
                };
                if !ok {
                    return bad("bad node");
                }
            }
        }
        Ok(())
    }
}

/// Raw scores to the response scale, in place.
pub fn transform(objective: Objective, s: &mut [f64]) {
    match objective {
        Objective::Binary => s[0] = crate::math::sigmoid(s[0]),
        Objective::Regression => {}
        Objective::Poisson => s[0] = s[0].exp(),
        Objective::Multiclass => softmax(s),
        Objective::Lambdarank => {}
    }
}

fn softmax(s: &mut [f64]) {
    let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for v in s.iter_mut() {
        *v = (*v - m).exp();
        z += *v;
    }
    for v in s.iter_mut() {
        *v /= z;
    }
}

/// Rows to learn from or to measure on: row-major `x` (n × p, NaN for missing), the targets
/// (0/1 for binary, the class index for multiclass, the value otherwise) and optional weights.
#[derive(Clone, Copy)]
pub struct Data<'a> {
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub weight: Option<&'a [f64]>,
    /// Lambdarank: rows are grouped contiguously, group g is rows offsets[g]..offsets[g+1].
    pub groups: Option<&'a [usize]>,
}

impl Data<'_> {
    fn rows(&self) -> usize {
        self.y.len()
    }
    fn w(&self, i: usize) -> f64 {
        self.weight.map_or(1.0, |w| w[i])
    }
}

/// What a fit returns besides the booster: the loss after every iteration on the training
/// rows and on the validation rows (NaN without them), and the iteration kept.
#[derive(Clone, Debug, Default)]
pub struct Curve {
    pub train: Vec<f64>,
    pub valid: Vec<f64>,
    pub best_iteration: usize,
}

/// Training rows the per-iteration training loss is measured on (evenly spaced).
pub const CURVE_ROWS: usize = 50_000;

/// Rows per chunk of the parallel loops whose sums must not depend on the thread count.
const CHUNK: usize = 8192;

/// The mean loss of raw scores `s` (n × k) for every `stride`-th row of `d` (on the current
/// pool, in fixed chunks).
pub fn loss(objective: Objective, k: usize, s: &[f64], d: &Data, stride: usize) -> f64 {
    if objective == Objective::Lambdarank {
        return 1.0 - rank_metrics(s, d.y, d.groups.unwrap_or(&[]), 10).0;
    }
    let m = d.rows().div_ceil(stride);
    let parts: Vec<(f64, f64)> = (0..m.div_ceil(CHUNK))
        .into_par_iter()
        .map(|chunk| {
            let (mut sum, mut wsum) = (0.0, 0.0);
            let mut p = vec![0.0; k];
            for j in chunk * CHUNK..((chunk + 1) * CHUNK).min(m) {
                let i = j * stride;
                let w = d.w(i);
                let y = d.y[i];
                let si = &s[i * k..(i + 1) * k];
                let l = match objective {
                    Objective::Binary => {
                        // log(1 + e^s) − y s, stably.
                        let t = si[0];
                        t.max(0.0) + (-t.abs()).exp().ln_1p() - y * t
                    }
                    Objective::Regression => (si[0] - y) * (si[0] - y),
                    Objective::Poisson => {
                        let mu = si[0].exp();
                        let ylog = if y > 0.0 { y * (y / mu).ln() } else { 0.0 };
                        2.0 * (ylog - (y - mu))
                    }
                    Objective::Multiclass => {
                        p.copy_from_slice(si);
                        softmax(&mut p);
                        -(p[y as usize].max(1e-15)).ln()
                    }
                    Objective::Lambdarank => 0.0,
                };
                sum += w * l;
                wsum += w;
            }
            (sum, wsum)
        })
        .collect();
    let (sum, wsum) = parts.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    if wsum > 0.0 {
        sum / wsum
    } else {
        f64::NAN
    }
}

/// The bins of one feature: bins `0..n_bins` hold the finite values in (cuts[b-1], cuts[b]],
/// bin `n_bins` the missing values.
struct FeatureBins {
    n_bins: usize,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

/// Bin edges of a sorted sample: with at most `max_bins` distinct values, a cut after a value
/// once the bin holds `min_data_in_bin` rows (LightGBM's rule, so a few rows never make a bin
/// of their own); otherwise about equal-count bins, at most one per `min_data_in_bin` rows.
fn cuts_of(sorted: &[f64], max_bins: usize, min_data_in_bin: usize) -> Vec<f64> {
    let mut distinct = 0;
    let mut last = f64::NAN;
    for &v in sorted {
        if v != last {
            distinct += 1;
            last = v;
        }
    }
    if min_data_in_bin <= 1 {
        return cut_points(sorted, max_bins);
    }
    if distinct > max_bins {
        // Equal-count bins of at least min_data_in_bin rows each.
        let bins = max_bins.min(sorted.len() / min_data_in_bin).max(2);
        return cut_points(sorted, bins);
    }
    let mut cuts = Vec::new();
    let mut in_bin = 0;
    for i in 0..sorted.len() {
        in_bin += 1;
        if i + 1 < sorted.len() && sorted[i + 1] != sorted[i] && in_bin >= min_data_in_bin {
            cuts.push(midpoint(sorted[i], sorted[i + 1]));
            in_bin = 0;
        }
    }
    cuts
}

fn bin_feature(
    x: &[f64],
    p: usize,
    j: usize,
    sample: Option<&[u32]>,
    max_bins: usize,
    min_data_in_bin: usize,
    codes: &mut [u8],
) -> FeatureBins {
    let mut vals: Vec<f64> = match sample {
        Some(rows) => rows.iter().map(|&i| x[i as usize * p + j]).collect(),
        None => x[j..].iter().step_by(p).copied().collect(),
    };
    vals.retain(|v| !v.is_nan());
    vals.sort_unstable_by(f64::total_cmp);
    let cuts = cuts_of(&vals, max_bins, min_data_in_bin);
    let n_bins = cuts.len() + 1;
    let mut lo = vec![f64::INFINITY; n_bins];
    let mut hi = vec![f64::NEG_INFINITY; n_bins];
    for (code, &v) in codes.iter_mut().zip(x[j..].iter().step_by(p)) {
        if v.is_nan() {
            *code = n_bins as u8;
            continue;
        }
        let b = cuts.partition_point(|&t| t < v);
        *code = b as u8;
        lo[b] = lo[b].min(v);
        hi[b] = hi[b].max(v);
    }
    FeatureBins { n_bins, lo, hi }
}

/// Sums of gradients and hessians.
type Gh = [f64; 2];

/// One row's gradient and hessian (as LightGBM, single precision; sums are double).
type Grad = [f32; 2];

/// Histogram slots per feature: every bin code, so a code indexes without a bounds check.
const SLOTS: usize = 256;

#[derive(Clone, Copy, Debug)]
struct Split {
    feature: usize,
    /// The last bin on the left.
    bin: u8,
    /// The first occupied bin on the right (for the threshold).
    next_bin: u8,
    missing_right: bool,
    gain: f64,
    left: Gh,
    right: Gh,
    left_value: f64,
    right_value: f64,
}

/// A leaf while its tree grows.
struct Leaf {
    start: usize,
    end: usize,
    sum: Gh,
    depth: usize,
    /// Bounds on the values of the leaves below (monotone constraints).
    lo: f64,
    hi: f64,
    node: usize,
    /// `SLOTS` sums per feature.
    hist: Vec<Gh>,
    best: Option<Split>,
}

/// What every tree of a fit shares.
struct Ctx<'a> {
    codes: &'a [u8],
    /// The same codes column-major.
    columns: &'a [u8],
    n: usize,
    p: usize,
    bins: &'a [FeatureBins],
    params: &'a BoostParams,
    max_depth: usize,
    pool: &'a ThreadPool,
}

/// Rows per block of a histogram accumulated in parallel (fixed, so the sums do not depend
/// on the number of threads).
const HIST_BLOCK: usize = 32_768;

impl Ctx<'_> {
    /// The bin code of row `r`, feature `f` (codes are row-major).
    #[inline(always)]
    fn code(&self, r: usize, f: usize) -> u8 {
        self.codes[r * self.p + f]
    }

    /// Adds rows `range` of `rows` (None: every row) with gradients `gh` to `hist`.
    fn accumulate(
        &self,
        rows: Option<&[u32]>,
        gh: &[Grad],
        range: std::ops::Range<usize>,
        allowed: Option<&[usize]>,
        hist: &mut [Gh],
    ) {
        let p = self.p;
        let (per, _) = hist.as_chunks_mut::<SLOTS>();
        for j in range {
            let r = rows.map_or(j, |rs| rs[j] as usize);
            let g = gh[j];
            let (g0, g1) = (g[0] as f64, g[1] as f64);
            let codes = &self.codes[r * p..(r + 1) * p];
            match allowed {
                None => {
                    for (h, &c) in per.iter_mut().zip(codes) {
                        let h = &mut h[c as usize];
                        h[0] += g0;
                        h[1] += g1;
                    }
                }
                Some(fs) => {
                    for &f in fs {
                        let h = &mut per[f][codes[f] as usize];
                        h[0] += g0;
                        h[1] += g1;
                    }
                }
            }
        }
    }

    /// T(G): the gradient sum soft-thresholded by l1.
    fn t(&self, g: f64) -> f64 {
        let l1 = self.params.l1;
        if l1 == 0.0 {
            g
        } else {
            g.signum() * (g.abs() - l1).max(0.0)
        }
    }

    /// The value of a leaf with sums `s`, within [lo, hi] (without the learning rate).
    fn value(&self, s: Gh, lo: f64, hi: f64) -> f64 {
        (-self.t(s[0]) / (s[1] + self.params.l2)).clamp(lo, hi)
    }

    /// How much a leaf of value `w` with sums `s` lowers the loss (second-order).
    fn gain_of(&self, s: Gh, w: f64) -> f64 {
        -(2.0 * self.t(s[0]) * w + (s[1] + self.params.l2) * w * w)
    }

    /// The best split of feature `f` of a leaf.
    fn best_of_feature(&self, f: usize, hist: &[Gh], leaf: &Leaf, count: usize) -> Option<Split> {
        let params = self.params;
        let nb = self.bins[f].n_bins;
        let miss = hist[nb];
        let total = leaf.sum;
        let per_h = count as f64 / total[1];
        let parent = self.gain_of(total, self.value(total, leaf.lo, leaf.hi));
        let mono = params.monotone.get(f).copied().unwrap_or(0);
        let min_n = params.min_data_in_leaf as f64;
        let min_h = params.min_sum_hessian;
        let mut best: Option<Split> = None;
        let mut cum = [0.0; 2];
        let mut prev: Option<usize> = None;
        // Both sides need min_sum_hessian and (estimated) min_data_in_leaf rows:
        // floor(h · per_h + 0.5) >= min_n  <=>  h >= (min_n - 0.5) / per_h.
        let h_lo = min_h.max((min_n - 0.5) / per_h);
        let l2 = params.l2;
        // Without l1, bounds or a constraint the gain is G_L²/(H_L+l2) + G_R²/(H_R+l2) − G²/(H+l2).
        let plain = mono == 0
            && params.l1 == 0.0
            && leaf.lo == f64::NEG_INFINITY
            && leaf.hi == f64::INFINITY;
        let mut consider = |left: Gh, missing_right: bool, b: usize, next: usize| {
            let right = [total[0] - left[0], total[1] - left[1]];
            if left[1] < h_lo || right[1] < h_lo {
                return;
            }
            let (gain, wl, wr) = if plain {
                let gain = left[0] * left[0] / (left[1] + l2)
                    + right[0] * right[0] / (right[1] + l2)
                    - parent;
                (gain, f64::NAN, f64::NAN)
            } else {
                let wl = self.value(left, leaf.lo, leaf.hi);
                let wr = self.value(right, leaf.lo, leaf.hi);
                if (mono > 0 && wl > wr) || (mono < 0 && wl < wr) {
                    return;
                }
                (
                    self.gain_of(left, wl) + self.gain_of(right, wr) - parent,
                    wl,
                    wr,
                )
            };
            if gain > params.min_gain && best.is_none_or(|s| gain > s.gain) {
                best = Some(Split {
                    feature: f,
                    bin: b as u8,
                    next_bin: next as u8,
                    missing_right,
                    gain,
                    left,
                    right,
                    left_value: wl,
                    right_value: wr,
                });
            }
        };
        let has_missing = miss[1] > 0.0;
        for (b, h) in hist[..nb].iter().enumerate() {
            if h[1] <= 0.0 && h[0] == 0.0 {
                continue;
            }
            if let Some(pb) = prev {
                if has_missing {
                    consider(cum, true, pb, b);
                    consider([cum[0] + miss[0], cum[1] + miss[1]], false, pb, b);
                } else {
                    // No missing rows here: missing values follow the heavier side.
                    let right_h = total[1] - cum[1];
                    consider(cum, right_h >= cum[1], pb, b);
                }
            }
            cum[0] += h[0];
            cum[1] += h[1];
            prev = Some(b);
        }
        if plain {
            if let Some(s) = best.as_mut() {
                s.left_value = self.value(s.left, leaf.lo, leaf.hi);
                s.right_value = self.value(s.right, leaf.lo, leaf.hi);
            }
        }
        best
    }

    /// The best split of a leaf over the allowed features, if one is allowed and gains.
    fn best_split(&self, leaf: &Leaf, count: usize, allowed: &[usize]) -> Option<Split> {
        if leaf.depth >= self.max_depth || count < 2 * self.params.min_data_in_leaf.max(1) {
            return None;
        }
        let one = |&f: &usize| {
            self.best_of_feature(f, &leaf.hist[f * SLOTS..(f + 1) * SLOTS], leaf, count)
        };
        let found: Vec<Option<Split>> = if allowed.len() < 8 {
            allowed.iter().map(one).collect()
        } else {
            self.pool.install(|| allowed.par_iter().map(one).collect())
        };
        let mut best: Option<Split> = None;
        for s in found.into_iter().flatten() {
            if best.is_none_or(|b| s.gain > b.gain) {
                best = Some(s);
            }
        }
        best
    }

    /// The histograms of the allowed features of `rows` (with their gradients and hessians
    /// in `gh`, in row order; None: every row, their gradients in `grad`) into `out`. Row by
    /// row (each row's codes are one cache line and its gradient is read once), in blocks of
    /// `HIST_BLOCK` rows on the pool, summed in block order.
    fn histogram(&self, rows: Option<&[u32]>, gh: &[Grad], allowed: &[usize], out: &mut [Gh]) {
        let m = rows.map_or(self.n, |r| r.len());
        let subset = (allowed.len() < self.p).then_some(allowed);
        for &f in allowed {
            out[f * SLOTS..(f + 1) * SLOTS].fill([0.0; 2]);
        }
        if m <= HIST_BLOCK {
            self.accumulate(rows, gh, 0..m, subset, out);
            return;
        }
        let width = out.len();
        let blocks: Vec<Vec<Gh>> = self.pool.install(|| {
            (0..m.div_ceil(HIST_BLOCK))
                .into_par_iter()
                .map(|b| {
                    let mut h = vec![[0.0; 2]; width];
                    let range = b * HIST_BLOCK..((b + 1) * HIST_BLOCK).min(m);
                    self.accumulate(rows, gh, range, subset, &mut h);
                    h
                })
                .collect()
        });
        for h in &blocks {
            for &f in allowed {
                let range = f * SLOTS..(f + 1) * SLOTS;
                for (o, v) in out[range.clone()].iter_mut().zip(&h[range]) {
                    o[0] += v[0];
                    o[1] += v[1];
                }
            }
        }
    }
}

/// A tree while it grows: nodes with bin thresholds (for the training rows) besides the
/// value thresholds (for any row).
struct Grown {
    nodes: Vec<Node>,
    bins: Vec<(u8, u8)>,
    value: Vec<f64>,
    cover: Vec<f64>,
}

impl Grown {
    /// The node a training row ends in, walking on its bin codes.
    fn leaf_of(&self, ctx: &Ctx, r: usize) -> usize {
        let mut at = 0usize;
        loop {
            let node = self.nodes[at];
            if node.is_leaf(at) {
                return at;
            }
            let f = (node.feature & !MISSING_RIGHT) as usize;
            let code = ctx.code(r, f);
            let (bin, missing) = self.bins[at];
            let right = if code == missing {
                node.feature & MISSING_RIGHT != 0
            } else {
                code > bin
            };
            at = node.next as usize + right as usize;
        }
    }

    /// The tree in breadth-first order for prediction.
    fn finish(self) -> Tree {
        let mut order = vec![0usize];
        let mut q = 0;
        while q < order.len() {
            let i = order[q];
            if !self.nodes[i].is_leaf(i) {
                let c = self.nodes[i].next as usize;
                order.extend([c, c + 1]);
            }
            q += 1;
        }
        let mut position = vec![0u32; self.nodes.len()];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new as u32;
        }
        let mut tree = Tree {
            nodes: Vec::with_capacity(order.len()),
            value: Vec::with_capacity(order.len()),
            cover: Vec::with_capacity(order.len()),
        };
        for &old in &order {
            let mut node = self.nodes[old];
            node.next = position[node.next as usize];
            tree.nodes.push(node);
            tree.value.push(self.value[old]);
            tree.cover.push(self.cover[old]);
        }
        tree
    }
}

/// Grows one tree on the rows `rows[..]` (sorted) with gradients `grad` (per row of the
/// table), and adds its values (× learning rate) to `score` for these rows. Returns the tree
/// and, per feature, the gain and number of its splits.
#[allow(clippy::too_many_arguments)]
fn grow(
    ctx: &Ctx,
    rows: &mut [u32],
    grad: &[Grad],
    allowed: &[usize],
    spare: &mut Vec<u32>,
    free: &mut Vec<Vec<Gh>>,
    gain: &mut [f64],
    splits: &mut [u64],
) -> (Grown, Vec<(usize, usize, usize)>) {
    let params = ctx.params;
    // Histogram buffers are reused from tree to tree (each is overwritten before it is read).
    let width = ctx.bins.len() * SLOTS;
    let mut empty_hist = || -> Vec<Gh> { free.pop().unwrap_or_else(|| vec![[0.0; 2]; width]) };
    let gather = |rows: &[u32]| -> Vec<Grad> { rows.iter().map(|&r| grad[r as usize]).collect() };
    let leaf_node = |i: usize| Node {
        threshold: f64::INFINITY,
        feature: 0,
        next: i as u32,
    };
    // Every row (no bagging): the gradients are already in row order.
    let all = rows.len() == ctx.n;
    let gh = if all { Vec::new() } else { gather(rows) };
    let ghs: &[Grad] = if all { grad } else { &gh };
    let sum = ghs
        .iter()
        .fold([0.0; 2], |a, g| [a[0] + g[0] as f64, a[1] + g[1] as f64]);
    let mut root = Leaf {
        start: 0,
        end: rows.len(),
        sum,
        depth: 0,
        lo: f64::NEG_INFINITY,
        hi: f64::INFINITY,
        node: 0,
        hist: empty_hist(),
        best: None,
    };
    ctx.histogram((!all).then_some(&*rows), ghs, allowed, &mut root.hist);
    drop(gh);
    root.best = ctx.best_split(&root, rows.len(), allowed);
    let mut grown = Grown {
        nodes: vec![leaf_node(0)],
        bins: vec![(0, 0)],
        value: vec![ctx.value(sum, root.lo, root.hi)],
        cover: vec![sum[1]],
    };
    let mut leaves = vec![root];
    while leaves.len() < params.num_leaves {
        // The leaf whose split gains most (ties: the earliest).
        let mut pick: Option<(usize, f64)> = None;
        for (i, l) in leaves.iter().enumerate() {
            if let Some(s) = l.best {
                if pick.is_none_or(|(_, g)| s.gain > g) {
                    pick = Some((i, s.gain));
                }
            }
        }
        let Some((i, _)) = pick else { break };
        let mut parent = leaves.swap_remove(i);
        let s = parent.best.take().expect("picked a leaf with a split");
        gain[s.feature] += s.gain;
        splits[s.feature] += 1;
        // Partition the parent's rows stably: left in place, right after them.
        let nb = ctx.bins[s.feature].n_bins as u8;
        let col = &ctx.columns[s.feature * ctx.n..(s.feature + 1) * ctx.n];
        let goes_right = |r: u32| {
            let code = col[r as usize];
            if code == nb {
                s.missing_right
            } else {
                code > s.bin
            }
        };
        let k = partition(
            ctx.pool,
            &mut rows[parent.start..parent.end],
            spare,
            goes_right,
        );
        let mid = parent.start + k;
        // The node becomes a split; its children are new leaves.
        let at = grown.nodes.len();
        let bins = &ctx.bins[s.feature];
        grown.nodes[parent.node] = Node {
            threshold: midpoint(bins.hi[s.bin as usize], bins.lo[s.next_bin as usize]),
            feature: s.feature as u32 | if s.missing_right { MISSING_RIGHT } else { 0 },
            next: at as u32,
        };
        grown.bins[parent.node] = (s.bin, nb);
        grown.nodes.extend([leaf_node(at), leaf_node(at + 1)]);
        grown.bins.extend([(0, 0), (0, 0)]);
        grown.value.extend([s.left_value, s.right_value]);
        grown.cover.extend([s.left[1], s.right[1]]);
        // Bounds for the children (monotone constraints).
        let mono = params.monotone.get(s.feature).copied().unwrap_or(0);
        let (mut llo, mut lhi, mut rlo, mut rhi) = (parent.lo, parent.hi, parent.lo, parent.hi);
        if mono != 0 {
            let m = (s.left_value + s.right_value) / 2.0;
            if mono > 0 {
                lhi = lhi.min(m);
                rlo = rlo.max(m);
            } else {
                llo = llo.max(m);
                rhi = rhi.min(m);
            }
        }
        let depth = parent.depth + 1;
        let mut left = Leaf {
            start: parent.start,
            end: mid,
            sum: s.left,
            depth,
            lo: llo,
            hi: lhi,
            node: at,
            hist: Vec::new(),
            best: None,
        };
        let mut right = Leaf {
            start: mid,
            end: parent.end,
            sum: s.right,
            depth,
            lo: rlo,
            hi: rhi,
            node: at + 1,
            hist: Vec::new(),
            best: None,
        };
        // Accumulate the smaller child; the larger is the parent minus it.
        let (small, large) = if left.end - left.start <= right.end - right.start {
            (&mut left, &mut right)
        } else {
            (&mut right, &mut left)
        };
        let small_rows = &rows[small.start..small.end];
        let gh = gather(small_rows);
        let mut hist = empty_hist();
        ctx.histogram(Some(small_rows), &gh, allowed, &mut hist);
        for &f in allowed {
            let range = f * SLOTS..(f + 1) * SLOTS;
            for (p, h) in parent.hist[range.clone()].iter_mut().zip(&hist[range]) {
                p[0] -= h[0];
                p[1] -= h[1];
            }
        }
        small.hist = hist;
        large.hist = std::mem::take(&mut parent.hist);
        for leaf in [&mut left, &mut right] {
            leaf.best = ctx.best_split(leaf, leaf.end - leaf.start, allowed);
        }
        leaves.push(left);
        leaves.push(right);
    }
    // Final values: from each leaf's sums, within its bounds, times the learning rate.
    for l in &leaves {
        grown.value[l.node] = ctx.value(l.sum, l.lo, l.hi);
    }
    for v in grown.value.iter_mut() {
        *v *= params.learning_rate;
    }
    let ranges = leaves.iter().map(|l| (l.start, l.end, l.node)).collect();
    free.extend(leaves.into_iter().map(|l| l.hist));
    (grown, ranges)
}

/// Rows per chunk when a large leaf is partitioned in parallel.
const PARTITION_CHUNK: usize = 65_536;

/// Moves the rows that do not go right to the front of `rows`, keeping the order on both
/// sides, and returns how many they are. Large leaves are split in fixed chunks on the pool.
fn partition(
    pool: &ThreadPool,
    rows: &mut [u32],
    spare: &mut Vec<u32>,
    goes_right: impl Fn(u32) -> bool + Sync,
) -> usize {
    if rows.len() <= PARTITION_CHUNK {
        spare.clear();
        let mut k = 0;
        for j in 0..rows.len() {
            let r = rows[j];
            if goes_right(r) {
                spare.push(r);
            } else {
                rows[k] = r;
                k += 1;
            }
        }
        rows[k..].copy_from_slice(spare);
        return k;
    }
    let parts: Vec<(Vec<u32>, Vec<u32>)> = pool.install(|| {
        rows.par_chunks(PARTITION_CHUNK)
            .map(|c| {
                let (mut l, mut r) = (Vec::with_capacity(c.len()), Vec::new());
                for &x in c {
                    if goes_right(x) {
                        r.push(x);
                    } else {
                        l.push(x);
                    }
                }
                (l, r)
            })
            .collect()
    });
    let mut at = 0;
    for (l, _) in &parts {
        rows[at..at + l.len()].copy_from_slice(l);
        at += l.len();
    }
    let k = at;
    for (_, r) in &parts {
        rows[at..at + r.len()].copy_from_slice(r);
        at += r.len();
    }
    k
}

/// Checks the parameters against `p` features.
fn check(params: &BoostParams, p: usize) -> Result<()> {
    let bad = |m: String| Err(Error::invalid(m));
    if !(params.learning_rate > 0.0 && params.learning_rate <= 1.0) {
        return bad(format!(
            "learning_rate must be in (0, 1], got {}",
            params.learning_rate
        ));
    }
    if params.num_leaves < 2 {
        return bad(format!(
            "num_leaves must be at least 2, got {}",
            params.num_leaves
        ));
    }
    if params.n_trees == 0 {
        return bad("n_trees must be at least 1".into());
    }
    if params.max_depth == Some(0) {
        return bad("max_depth must be at least 1".into());
    }
    if !(2..=255).contains(&params.max_bins) {
        return bad(format!(
            "max_bins must be between 2 and 255, got {}",
            params.max_bins
        ));
    }
    if !(params.subsample > 0.0 && params.subsample <= 1.0) {
        return bad(format!(
            "subsample must be in (0, 1], got {}",
            params.subsample
        ));
    }
    if !(params.colsample > 0.0 && params.colsample <= 1.0) {
        return bad(format!(
            "colsample must be in (0, 1], got {}",
            params.colsample
        ));
    }
    if !(params.l1 >= 0.0 && params.l2 >= 0.0 && params.min_gain >= 0.0) {
        return bad("l1, l2 and min_gain must be at least 0".into());
    }
    if !params.monotone.is_empty() && params.monotone.len() != p {
        return bad(format!(
            "monotone has {} entries for {p} features",
            params.monotone.len()
        ));
    }
    Ok(())
}

/// The starting score per output: the loss's best constant.
fn initial(objective: Objective, k: usize, d: &Data, pos_weight: f64) -> Vec<f64> {
    let n = d.rows();
    let mut sums = vec![0.0; k];
    let mut wsum = 0.0;
    for i in 0..n {
        let mut w = d.w(i);
        if objective == Objective::Binary && d.y[i] > 0.5 {
            w *= pos_weight;
        }
        wsum += w;
        match objective {
            Objective::Multiclass => sums[d.y[i] as usize] += w,
            _ => sums[0] += w * d.y[i],
        }
    }
    match objective {
        Objective::Binary => {
            let p = (sums[0] / wsum).clamp(1e-15, 1.0 - 1e-15);
            vec![(p / (1.0 - p)).ln()]
        }
        Objective::Regression => vec![sums[0] / wsum],
        Objective::Poisson => vec![(sums[0] / wsum).max(1e-15).ln()],
        Objective::Multiclass => sums.iter().map(|s| (s / wsum).max(1e-15).ln()).collect(),
        // Scores only rank within a group: no starting level.
        Objective::Lambdarank => vec![0.0],
    }
}

/// Gradients and hessians of the loss at scores `s` (n × k) for output `c`.
fn gradients(
    objective: Objective,
    k: usize,
    c: usize,
    s: &[f64],
    d: &Data,
    pos_weight: f64,
    out: &mut [Grad],
) {
    out.par_chunks_mut(4096).enumerate().for_each(|(chunk, o)| {
        let mut p = vec![0.0; k];
        for (j, g) in o.iter_mut().enumerate() {
            let i = chunk * 4096 + j;
            let y = d.y[i];
            let mut w = d.w(i);
            let si = &s[i * k..(i + 1) * k];
            let gh: Gh = match objective {
                Objective::Binary => {
                    if y > 0.5 {
                        w *= pos_weight;
                    }
                    let q = crate::math::sigmoid(si[0]);
                    [w * (q - y), w * (q * (1.0 - q)).max(1e-16)]
                }
                Objective::Regression => [w * (si[0] - y), w],
                Objective::Poisson => {
                    [w * (si[0].exp() - y), w * (si[0] + POISSON_MAX_DELTA).exp()]
                }
                Objective::Multiclass => {
                    p.copy_from_slice(si);
                    softmax(&mut p);
                    let t = if y as usize == c { 1.0 } else { 0.0 };
                    let factor = k as f64 / (k as f64 - 1.0);
                    [
                        w * (p[c] - t),
                        w * (factor * p[c] * (1.0 - p[c])).max(1e-16),
                    ]
                }
                Objective::Lambdarank => unreachable!("lambdarank gradients are per group"),
            };
            *g = [gh[0] as f32, (gh[1] as f32).max(f32::MIN_POSITIVE)];
        }
    });
}

/// LightGBM's lambdarank defaults: pairs whose better-ranked row is in the top 30, sigmoid 1,
/// lambdas normalised.
const RANK_TRUNCATION: usize = 30;

fn rank_gain(rel: f64) -> f64 {
    rel.exp2() - 1.0
}

/// The DCG discount of 0-based rank `r`.
fn rank_discount(r: usize) -> f64 {
    1.0 / ((r + 2) as f64).log2()
}

/// Row order by descending score (ties: the earlier row first).
fn by_score(s: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
    order
}

/// The ideal DCG of relevances `y` over the first `k` ranks.
fn ideal_dcg(y: &[f64], k: usize) -> f64 {
    let mut r: Vec<f64> = y.to_vec();
    r.sort_by(|a, b| b.total_cmp(a));
    r.iter()
        .take(k)
        .enumerate()
        .map(|(i, &v)| rank_gain(v) * rank_discount(i))
        .sum()
}

/// Mean NDCG@k and MAP@k over the groups of scores `s` with relevances `y` (a group without a
/// relevant row counts as 1 for both, as LightGBM counts it). On the current pool.
pub fn rank_metrics(s: &[f64], y: &[f64], offsets: &[usize], k: usize) -> (f64, f64) {
    let g = offsets.len().saturating_sub(1);
    if g == 0 {
        return (f64::NAN, f64::NAN);
    }
    let each: Vec<(f64, f64)> = (0..g)
        .into_par_iter()
        .map(|q| {
            let (a, b) = (offsets[q], offsets[q + 1]);
            let (sq, yq) = (&s[a..b], &y[a..b]);
            let ideal = ideal_dcg(yq, k);
            if ideal <= 0.0 {
                return (1.0, 1.0);
            }
            let order = by_score(sq);
            let dcg: f64 = order
                .iter()
                .take(k)
                .enumerate()
                .map(|(i, &r)| rank_gain(yq[r]) * rank_discount(i))
                .sum();
            let relevant = yq.iter().filter(|&&v| v > 0.0).count();
            let (mut hits, mut ap) = (0.0, 0.0);
            for (i, &r) in order.iter().take(k).enumerate() {
                if yq[r] > 0.0 {
                    hits += 1.0;
                    ap += hits / (i + 1) as f64;
                }
            }
            (dcg / ideal, ap / relevant.min(k) as f64)
        })
        .collect();
    let (n, m) = each.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    (n / g as f64, m / g as f64)
}

/// LambdaRank gradients and hessians of every group (LightGBM's pairwise NDCG lambdas).
fn lambdarank_gradients(s: &[f64], d: &Data, out: &mut [Grad]) {
    let offsets = d.groups.expect("lambdarank data has groups");
    let mut parts: Vec<(usize, &mut [Grad])> = Vec::with_capacity(offsets.len());
    let mut rest = out;
    for w in offsets.windows(2) {
        let (a, b) = std::mem::take(&mut rest).split_at_mut(w[1] - w[0]);
        parts.push((w[0], a));
        rest = b;
    }
    parts.into_par_iter().for_each(|(start, o)| {
        let m = o.len();
        let (y, sc) = (&d.y[start..start + m], &s[start..start + m]);
        let mut g = vec![0.0f64; m];
        let mut h = vec![0.0f64; m];
        let ideal = ideal_dcg(y, RANK_TRUNCATION);
        if m > 1 && ideal > 0.0 {
            let inv = 1.0 / ideal;
            let order = by_score(sc);
            let (best, worst) = (sc[order[0]], sc[order[m - 1]]);
            // Per rank: the row, its label, its gain and the rank's discount (the same values
            // the pair loop would compute, once each).
            let label: Vec<f64> = order.iter().map(|&r| y[r]).collect();
            let score: Vec<f64> = order.iter().map(|&r| sc[r]).collect();
            let gain: Vec<f64> = label.iter().map(|&v| rank_gain(v)).collect();
            let discount: Vec<f64> = (0..m).map(rank_discount).collect();
            let mut sum_lambdas = 0.0;
            for i in 0..(m - 1).min(RANK_TRUNCATION) {
                for j in i + 1..m {
                    if label[i] == label[j] {
                        continue;
                    }
                    let (high, low) = if label[i] > label[j] { (i, j) } else { (j, i) };
                    let delta = score[high] - score[low];
                    let mut delta_ndcg =
                        (gain[high] - gain[low]) * (discount[high] - discount[low]).abs() * inv;
                    if best != worst {
                        delta_ndcg /= 0.01 + delta.abs();
                    }
                    let p = 1.0 / (1.0 + delta.exp());
                    let lambda = -p * delta_ndcg;
                    let hess = p * (1.0 - p) * delta_ndcg;
                    let (hr, lr) = (order[high], order[low]);
                    g[hr] += lambda;
                    g[lr] -= lambda;
                    h[hr] += hess;
                    h[lr] += hess;
                    sum_lambdas -= 2.0 * lambda;
                }
            }
            if sum_lambdas > 0.0 {
                let f = (1.0 + sum_lambdas).log2() / sum_lambdas;
                g.iter_mut().for_each(|v| *v *= f);
                h.iter_mut().for_each(|v| *v *= f);
            }
        }
        for ((o, gi), hi) in o.iter_mut().zip(&g).zip(&h) {
            *o = [*gi as f32, (*hi as f32).max(f32::MIN_POSITIVE)];
        }
    });
}

/// Fits a booster on `train` (p features a row); `valid` rows are scored after every
/// iteration for the curve and early stopping. `n_classes` is used by multiclass only. The
/// monitor is ticked after every tree and told every iteration's training loss.
pub fn fit(
    train: Data,
    p: usize,
    valid: Option<Data>,
    n_classes: usize,
    params: &BoostParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<(Booster, Curve)> {
    check(params, p)?;
    if p == 0 {
        return Err(Error::invalid("boosted trees need at least one feature"));
    }
    let n = train.rows();
    if train.x.len() != n * p || valid.is_some_and(|v| v.x.len() != v.rows() * p) {
        return Err(Error::invalid("rows and targets do not match"));
    }
    if n == 0 {
        return Err(Error::data("no training rows"));
    }
    if n > u32::MAX as usize {
        return Err(Error::invalid(format!("too many rows: {n}")));
    }
    let objective = params.objective;
    let grouped = |d: &Data| {
        d.groups.is_some_and(|o| {
            o.first() == Some(&0)
                && o.last() == Some(&d.rows())
                && o.windows(2).all(|w| w[0] <= w[1])
        })
    };
    if objective == Objective::Lambdarank
        && (!grouped(&train) || valid.is_some_and(|v| !grouped(&v)))
    {
        return Err(Error::invalid("lambdarank needs the rows' groups"));
    }
    let k = if objective == Objective::Multiclass {
        if n_classes < 2 {
            return Err(Error::invalid("multiclass needs at least 2 classes"));
        }
        n_classes
    } else {
        1
    };
    fit_inner(train, p, valid, k, params, pool, monitor)
}

fn fit_inner(
    train: Data,
    p: usize,
    valid: Option<Data>,
    k: usize,
    params: &BoostParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<(Booster, Curve)> {
    let objective = params.objective;
    let n = train.rows();
    let x = train.x;
    let sample: Option<Vec<u32>> = (n > BIN_SAMPLE).then(|| {
        let mut rng = Rng::new(mix64(params.seed ^ 0x6a09_e667_f3bc_c908));
        (0..BIN_SAMPLE)
            .map(|_| rng.below(n as u64) as u32)
            .collect()
    });
    let mut by_column = vec![0u8; n * p];
    let bins: Vec<FeatureBins> = pool.install(|| {
        by_column
            .par_chunks_mut(n)
            .enumerate()
            .map(|(j, col)| {
                bin_feature(
                    x,
                    p,
                    j,
                    sample.as_deref(),
                    params.max_bins,
                    params.min_data_in_bin,
                    col,
                )
            })
            .collect()
    });
    drop(sample);
    // Row-major codes: a row's codes side by side.
    let mut codes = vec![0u8; n * p];
    pool.install(|| {
        codes
            .par_chunks_mut(p * 4096)
            .enumerate()
            .for_each(|(b, block)| {
                for (i, row) in block.chunks_exact_mut(p).enumerate() {
                    let r = b * 4096 + i;
                    for (f, c) in row.iter_mut().enumerate() {
                        *c = by_column[f * n + r];
                    }
                }
            })
    });
    // The column-major copy stays for partitioning (one feature of many rows).
    monitor.tick()?;
    let ctx = Ctx {
        codes: &codes,
        columns: &by_column,
        n,
        p,
        bins: &bins,
        params,
        max_depth: params.max_depth.unwrap_or(usize::MAX),
        pool,
    };
    let pos_weight = params.scale_pos_weight;
    let init = initial(objective, k, &train, pos_weight);
    let mut score: Vec<f64> = (0..n).flat_map(|_| init.iter().copied()).collect();
    let nv = valid.map_or(0, |v| v.rows());
    let mut vscore: Vec<f64> = (0..nv).flat_map(|_| init.iter().copied()).collect();
    let mut grad: Vec<Grad> = vec![[0.0; 2]; n];
    let mut trees: Vec<Tree> = Vec::new();
    let mut gain = vec![0.0; p];
    let mut splits = vec![0u64; p];
    let mut curve = Curve::default();
    let mut best = (f64::INFINITY, 0usize);
    let mut bag: Vec<u32> = (0..n as u32).collect();
    let mut in_bag = vec![true; n];
    let mut rows: Vec<u32> = Vec::with_capacity(n);
    let mut spare: Vec<u32> = Vec::with_capacity(n);
    let mut free: Vec<Vec<Gh>> = Vec::new();
    let bagging = params.subsample < 1.0 && params.subsample_freq > 0;
    // The training curve is measured on at most about CURVE_ROWS evenly spaced rows.
    let curve_stride = n.div_ceil(CURVE_ROWS).max(1);
    for it in 0..params.n_trees {
        if bagging && it % params.subsample_freq == 0 {
            let mut rng = Rng::new(params.seed ^ mix64(0xb5ad_4ece_da1c_e2a9 ^ it as u64));
            bag.clear();
            for (i, b) in in_bag.iter_mut().enumerate() {
                *b = rng.next_f64() < params.subsample;
                if *b {
                    bag.push(i as u32);
                }
            }
            if bag.is_empty() {
                bag.push(0);
                in_bag[0] = true;
            }
        }
        for c in 0..k {
            pool.install(|| {
                if objective == Objective::Lambdarank {
                    lambdarank_gradients(&score, &train, &mut grad)
                } else {
                    gradients(objective, k, c, &score, &train, pos_weight, &mut grad)
                }
            });
            // Features this tree may split on.
            let allowed: Vec<usize> = if params.colsample < 1.0 {
                let m = ((params.colsample * p as f64).round() as usize).clamp(1, p);
                let mut rng =
                    Rng::new(params.seed ^ mix64(0x3c6e_f372_fe94_f82b ^ (it * k + c) as u64));
                let mut all: Vec<usize> = (0..p).collect();
                rng.shuffle(&mut all);
                let mut a = all[..m].to_vec();
                a.sort_unstable();
                a
            } else {
                (0..p).collect()
            };
            rows.clear();
            rows.extend_from_slice(&bag);
            // One entry into the pool a tree: the parallel steps inside it keep its threads warm.
            let (grown, ranges) = pool.install(|| {
                grow(
                    &ctx,
                    &mut rows,
                    &grad,
                    &allowed,
                    &mut spare,
                    &mut free,
                    &mut gain,
                    &mut splits,
                )
            });
            // Training scores: in-bag rows by their leaf, the others by a walk on their bins.
            for (start, end, node) in ranges {
                let v = grown.value[node];
                for &r in &rows[start..end] {
                    score[r as usize * k + c] += v;
                }
            }
            if bagging {
                let out: Vec<(usize, f64)> = pool.install(|| {
                    (0..n)
                        .into_par_iter()
                        .with_min_len(4096)
                        .filter(|&i| !in_bag[i])
                        .map(|i| (i, grown.value[grown.leaf_of(&ctx, i)]))
                        .collect()
                });
                for (i, v) in out {
                    score[i * k + c] += v;
                }
            }
            let tree = grown.finish();
            if let Some(v) = valid {
                pool.install(|| {
                    vscore
                        .par_chunks_mut(k)
                        .enumerate()
                        .with_min_len(1024)
                        .for_each(|(i, s)| s[c] += tree.value[tree.leaf(&v.x[i * p..(i + 1) * p])])
                });
            }
            trees.push(tree);
            monitor.tick()?;
        }
        let train_loss = pool.install(|| loss(objective, k, &score, &train, curve_stride));
        let valid_loss = valid.map_or(f64::NAN, |v| {
            pool.install(|| loss(objective, k, &vscore, &v, 1))
        });
        curve.train.push(train_loss);
        curve.valid.push(valid_loss);
        monitor.iteration(it + 1, Some(train_loss))?;
        if valid.is_some() {
            if valid_loss < best.0 {
                best = (valid_loss, it + 1);
            } else if params
                .early_stopping_rounds
                .is_some_and(|r| it + 1 - best.1 >= r)
            {
                break;
            }
        }
    }
    let best_iteration = if params.early_stopping_rounds.is_some() && best.1 > 0 {
        best.1
    } else {
        curve.train.len()
    };
    trees.truncate(best_iteration * k);
    curve.best_iteration = best_iteration;
    Ok((
        Booster {
            objective,
            n_features: p,
            n_outputs: k,
            init,
            trees,
            gain,
            splits,
        },
        curve,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::test_pool as pool;
    use crate::monitor::Quiet;

    fn data(
        n: usize,
        p: usize,
        seed: u64,
        f: impl Fn(&[f64], &mut Rng) -> f64,
    ) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let mut x = Vec::with_capacity(n * p);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = (0..p).map(|_| rng.uniform(-1.0, 1.0)).collect();
            y.push(f(&row, &mut rng));
            x.extend(row);
        }
        (x, y)
    }

    fn fit1(
        x: &[f64],
        y: &[f64],
        p: usize,
        params: &BoostParams,
        threads: usize,
    ) -> (Booster, Curve) {
        let d = Data {
            x,
            y,
            weight: None,
            groups: None,
        };
        fit(d, p, None, 2, params, &pool(threads), &mut Quiet).unwrap()
    }

    #[test]
    fn stumps_learn_an_additive_function() {
        // y = 2·[x0 > 0.3] − x1² + 0.5·x2 with x0 in steps of 0.1, no noise: stumps (2 leaves)
        // add up to it; what is left is the step functions' error within 255 bins.
        let f = |r: &[f64]| 2.0 * ((r[0] > 0.3) as u8 as f64) - r[1] * r[1] + 0.5 * r[2];
        let stepped = |(mut x, _): (Vec<f64>, Vec<f64>)| {
            x.iter_mut()
                .step_by(4)
                .for_each(|v| *v = (*v * 10.0).round() / 10.0);
            let y: Vec<f64> = x.chunks(4).map(f).collect();
            (x, y)
        };
        let (x, y) = stepped(data(20_000, 4, 1, |_, _| 0.0));
        let params = BoostParams {
            num_leaves: 2,
            n_trees: 3000,
            learning_rate: 0.5,
            ..Default::default()
        };
        let (b, curve) = fit1(&x, &y, 4, &params, 2);
        assert!(b.trees.iter().all(|t| t.leaves() <= 2));
        let (xt, yt) = stepped(data(2000, 4, 2, |_, _| 0.0));
        let mut se = 0.0;
        for (row, y) in xt.chunks(4).zip(&yt) {
            se += (b.raw(row) - y).powi(2);
        }
        let rmse = (se / yt.len() as f64).sqrt();
        assert!(rmse < 0.02, "rmse {rmse}");
        assert!(curve.train.last().unwrap() < &1e-3);
        // x3 is noise: never split on.
        assert_eq!(b.splits[3], 0);
    }

    #[test]
    fn same_model_for_any_thread_count() {
        let (x, y) = data(5000, 6, 3, |r, rng| {
            (r[0] + r[1] * r[2] + 0.3 * rng.normal() > 0.0) as u8 as f64
        });
        let params = BoostParams {
            objective: Objective::Binary,
            n_trees: 30,
            subsample: 0.7,
            subsample_freq: 1,
            colsample: 0.8,
            ..Default::default()
        };
        let (a, _) = fit1(&x, &y, 6, &params, 1);
        let (b, _) = fit1(&x, &y, 6, &params, 2);
        assert_eq!(a, b);
    }

    #[test]
    fn monotone_constraint_holds_for_every_pair() {
        // Demand falls with price (x0) but the noise makes the unconstrained trees wiggle.
        let (x, y) = data(4000, 3, 4, |r, rng| {
            -r[0] + 0.5 * (3.0 * r[0]).sin() + r[1] + 0.5 * rng.normal()
        });
        let mut params = BoostParams {
            n_trees: 50,
            num_leaves: 15,
            min_data_in_leaf: 5,
            monotone: vec![-1, 0, 0],
            ..Default::default()
        };
        let (b, _) = fit1(&x, &y, 3, &params, 2);
        let grid: Vec<f64> = (0..200).map(|i| -1.0 + i as f64 / 100.0).collect();
        let mut rng = Rng::new(9);
        for _ in 0..100 {
            let (a1, a2) = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0));
            let scores: Vec<f64> = grid.iter().map(|&g| b.raw(&[g, a1, a2])).collect();
            assert!(scores.windows(2).all(|w| w[1] <= w[0] + 1e-12));
        }
        // Without the constraint the model does rise somewhere.
        params.monotone.clear();
        let (u, _) = fit1(&x, &y, 3, &params, 2);
        let rises = (0..50).any(|s| {
            let a1 = -1.0 + s as f64 / 25.0;
            let scores: Vec<f64> = grid.iter().map(|&g| u.raw(&[g, a1, 0.0])).collect();
            scores.windows(2).any(|w| w[1] > w[0] + 1e-9)
        });
        assert!(rises);
    }

    #[test]
    fn missing_values_go_the_learnt_way() {
        // x0 missing means a high target; observed x0 is noise. The first split sends NaN
        // right, with the high values, and predictions for NaN rows are high.
        let mut rng = Rng::new(5);
        let n = 6000;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let missing = i % 3 == 0;
            let v = rng.uniform(-1.0, 1.0);
            x.push(if missing { f64::NAN } else { v });
            x.push(rng.uniform(-1.0, 1.0));
            y.push(if missing { 5.0 } else { (v > 0.5) as u8 as f64 } + 0.1 * rng.normal());
        }
        let params = BoostParams {
            n_trees: 50,
            ..Default::default()
        };
        let (b, _) = fit1(&x, &y, 2, &params, 2);
        let nan = b.raw(&[f64::NAN, 0.0]);
        assert!((nan - 5.0).abs() < 0.1, "NaN row predicted {nan}");
        assert!(b.raw(&[0.9, 0.0]) < 1.5 && b.raw(&[-0.9, 0.0]) < 0.5);
        // A feature without missing values in training sends NaN to its heavier side.
        let p = b.raw(&[0.0, f64::NAN]);
        assert!(p.is_finite());
    }

    #[test]
    fn poisson_and_multiclass_fit_their_data() {
        let (x, y) = data(20_000, 3, 6, |r, rng| {
            rng.poisson((0.5 + r[0]).exp()) as f64
        });
        let params = BoostParams {
            objective: Objective::Poisson,
            n_trees: 100,
            ..Default::default()
        };
        let (b, _) = fit1(&x, &y, 3, &params, 2);
        for v in [-0.8, 0.0, 0.8] {
            let mu = b.raw(&[v, 0.0, 0.0]).exp();
            let truth = (0.5 + v).exp();
            assert!((mu / truth - 1.0).abs() < 0.12, "mean {mu} for {truth}");
        }
        let (x, y) = data(9000, 2, 7, |r, _| {
            if r[0] < -0.3 {
                0.0
            } else if r[1] < 0.0 {
                1.0
            } else {
                2.0
            }
        });
        let params = BoostParams {
            objective: Objective::Multiclass,
            n_trees: 30,
            ..Default::default()
        };
        let d = Data {
            x: &x,
            y: &y,
            weight: None,
            groups: None,
        };
        let (b, curve) = fit(d, 2, None, 3, &params, &pool(2), &mut Quiet).unwrap();
        assert_eq!(b.trees.len(), 90);
        let mut out = [0.0; 3];
        b.predict_into(&[-0.9, 0.5], &mut out);
        assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(out[0] > 0.95);
        b.predict_into(&[0.5, 0.5], &mut out);
        assert!(out[2] > 0.95);
        assert!(curve.train.last().unwrap() < &0.05);
    }

    #[test]
    fn early_stopping_keeps_the_best_iteration() {
        let (x, y) = data(2000, 5, 8, |r, rng| r[0] + rng.normal());
        let (xv, yv) = data(2000, 5, 9, |r, rng| r[0] + rng.normal());
        let params = BoostParams {
            n_trees: 500,
            learning_rate: 0.3,
            early_stopping_rounds: Some(10),
            ..Default::default()
        };
        let d = Data {
            x: &x,
            y: &y,
            weight: None,
            groups: None,
        };
        let v = Data {
            x: &xv,
            y: &yv,
            weight: None,
            groups: None,
        };
        let (b, curve) = fit(d, 5, Some(v), 2, &params, &pool(2), &mut Quiet).unwrap();
        assert!(curve.train.len() < 500);
        assert_eq!(b.trees.len(), curve.best_iteration);
        let best = curve.valid.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(curve.valid[curve.best_iteration - 1], best);
        assert_eq!(curve.train.len(), curve.best_iteration + 10);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let (x, y) = data(100, 2, 10, |r, _| r[0]);
        for params in [
            BoostParams {
                learning_rate: 0.0,
                ..Default::default()
            },
            BoostParams {
                learning_rate: 1.5,
                ..Default::default()
            },
            BoostParams {
                num_leaves: 1,
                ..Default::default()
            },
            BoostParams {
                n_trees: 0,
                ..Default::default()
            },
            BoostParams {
                monotone: vec![1],
                ..Default::default()
            },
        ] {
            let d = Data {
                x: &x,
                y: &y,
                weight: None,
                groups: None,
            };
            assert!(fit(d, 2, None, 2, &params, &pool(1), &mut Quiet).is_err());
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use crate::monitor::test_pool as pool;
    use crate::monitor::Quiet;

    /// `cargo test -p shopml-core --release boosted_timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn boosted_timing() {
        let n: usize = std::env::var("ROWS").map_or(1_000_000, |v| v.parse().unwrap());
        let p = 20;
        let mut rng = Rng::new(11);
        let x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
        let y: Vec<f64> = x
            .chunks(p)
            .map(|r| {
                let z = r[0] + r[1] * r[2] - 0.5 * r[3].abs()
                    + (r[4] > 0.5) as u8 as f64
                    + rng.normal();
                (z > 0.0) as u8 as f64
            })
            .collect();
        let params = BoostParams {
            objective: Objective::Binary,
            ..Default::default()
        };
        let t = std::time::Instant::now();
        let d = Data {
            x: &x,
            y: &y,
            weight: None,
            groups: None,
        };
        let (b, curve) = fit(d, p, None, 2, &params, &pool(2), &mut Quiet).unwrap();
        let t2 = std::time::Instant::now();
        let s: f64 = x.chunks(p).map(|r| b.raw(r)).sum();
        let t3 = std::time::Instant::now();
        let s2: f64 = pool(2).install(|| x.par_chunks(p).with_min_len(512).map(|r| b.raw(r)).sum());
        let t4 = std::time::Instant::now();
        let mut blockwise = vec![0.0; n];
        b.raw_block(&x, &mut blockwise);
        let per =
            |d: std::time::Duration| d.as_secs_f64() * 1e9 / (n as f64 * b.trees.len() as f64);
        eprintln!(
            "one thread: by row {:.1} ns per tree per row, by block {:.1} ns (max diff {:e})",
            per(t3 - t2),
            per(t4.elapsed()),
            x.chunks(p)
                .zip(&blockwise)
                .map(|(r, v)| (b.raw(r) - v).abs())
                .fold(0.0, f64::max)
        );
        eprintln!(
            "scoring on 2 threads: {:.3} s ({s2:.3})",
            t3.elapsed().as_secs_f64()
        );
        eprintln!(
            "scoring {n} rows one thread: {:.3} s ({:.1} ns per tree per row), sum {s:.3}",
            t2.elapsed().as_secs_f64(),
            t2.elapsed().as_secs_f64() * 1e9 / (n as f64 * b.trees.len() as f64)
        );
        eprintln!(
            "{n} x 20, 100 trees x 31 leaves, 2 threads: {:.2} s, train loss {:.4}, {} nodes",
            t.elapsed().as_secs_f64(),
            curve.train.last().unwrap(),
            b.nodes()
        );
    }
}

#[cfg(test)]
mod ranking {
    use super::*;
    use crate::monitor::test_pool as pool;
    use crate::monitor::Quiet;

    /// Groups of 20 rows; relevance 2 when x0 > 0.8, 1 when x0 > 0.5, else 0 (x1 is noise).
    fn groups(n_groups: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
        let mut rng = Rng::new(seed);
        let (mut x, mut y, mut offsets) = (Vec::new(), Vec::new(), vec![0]);
        for _ in 0..n_groups {
            for _ in 0..20 {
                let (a, b) = (rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0));
                x.extend([a, b]);
                y.push(if a > 0.8 {
                    2.0
                } else if a > 0.5 {
                    1.0
                } else {
                    0.0
                });
            }
            offsets.push(y.len());
        }
        (x, y, offsets)
    }

    #[test]
    fn lambdarank_learns_an_order_and_its_lambdas_cancel() {
        let (x, y, o) = groups(300, 1);
        let d = Data {
            x: &x,
            y: &y,
            weight: None,
            groups: Some(&o),
        };
        // Pairwise lambdas sum to zero in every group.
        let mut g = vec![[0.0f32; 2]; y.len()];
        let s: Vec<f64> = (0..y.len()).map(|i| (i % 7) as f64 * 0.1).collect();
        pool(2).install(|| lambdarank_gradients(&s, &d, &mut g));
        for w in o.windows(2) {
            let sum: f64 = g[w[0]..w[1]].iter().map(|v| v[0] as f64).sum();
            assert!(sum.abs() < 1e-5, "group lambdas sum to {sum}");
        }
        let params = BoostParams {
            objective: Objective::Lambdarank,
            n_trees: 30,
            ..Default::default()
        };
        let (b, curve) = fit(d, 2, None, 1, &params, &pool(2), &mut Quiet).unwrap();
        let (xt, yt, ot) = groups(100, 2);
        let scores: Vec<f64> = xt.chunks(2).map(|r| b.raw(r)).collect();
        let (ndcg, map) = pool(1).install(|| rank_metrics(&scores, &yt, &ot, 10));
        assert!(ndcg > 0.99 && map > 0.99, "ndcg@10 {ndcg}, map@10 {map}");
        // A random order is far worse.
        let noise: Vec<f64> = xt.chunks(2).map(|r| r[1]).collect();
        let (random, _) = pool(1).install(|| rank_metrics(&noise, &yt, &ot, 10));
        assert!(random < 0.8, "random ndcg {random}");
        assert!(curve.train.last().unwrap() < &0.01);
        // Without groups: refused.
        let d = Data {
            x: &x,
            y: &y,
            weight: None,
            groups: None,
        };
        assert!(fit(d, 2, None, 1, &params, &pool(1), &mut Quiet).is_err());
    }
}
