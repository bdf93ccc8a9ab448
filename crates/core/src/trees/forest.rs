//! Random-forest classifier: bagged CART trees split on the Gini impurity, with the semantics of
//! scikit-learn's `RandomForestClassifier` (bootstrap sample of n rows per tree, `max_features`
//! candidate features drawn without replacement at each node, fully grown trees by default,
//! probabilities averaged over the trees' leaf class frequencies, mean decrease in impurity as
//! feature importance).
//!
//! Splits are searched on histograms: each feature is cut once into at most `max_bins` quantile
//! bins (one bin per distinct value when there are few), rows are coded as `u8` bin numbers in
//! column-major order, and a node accumulates the (bin, class) weights of its rows for each
//! candidate feature. A split is placed between two adjacent occupied bins, at the midpoint of
//! the largest value of the left bin and the smallest value of the right one (scikit-learn's
//! midpoint rule when every distinct value has its own bin), and stored in original units, so
//! prediction compares raw values and needs no binning: `x <= threshold` goes left.
//!
//! Trees grow in parallel on the pool, in batches between which the monitor is ticked on the
//! calling thread. Each tree draws from its own generator seeded from the forest seed and its
//! index, so a fit does not depend on the number of threads.

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::mix64;
use crate::monitor::Monitor;
use crate::rng::Rng;

/// How many features are candidates at each node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxFeatures {
    /// ⌊√p⌋ (at least 1): scikit-learn's default for classification.
    Sqrt,
    /// ⌊log₂ p⌋ (at least 1).
    Log2,
    /// Every feature (plain bagged CART).
    All,
    /// ⌊fraction · p⌋ (at least 1), fraction in (0, 1].
    Fraction(f64),
    /// A fixed number, 1 ..= p.
    Count(usize),
}

impl MaxFeatures {
    /// The number of candidate features per node for `p` features.
    pub fn resolve(self, p: usize) -> Result<usize> {
        let m = match self {
            MaxFeatures::Sqrt => (p as f64).sqrt().floor() as usize,
            MaxFeatures::Log2 => (p as f64).log2().floor() as usize,
            MaxFeatures::All => p,
            MaxFeatures::Fraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(Error::invalid(format!(
                        "max_features as a fraction must be in (0, 1], got {f}"
                    )));
                }
                (f * p as f64).floor() as usize
            }
            MaxFeatures::Count(c) => {
                if c == 0 || c > p {
                    return Err(Error::invalid(format!(
                        "max_features must be between 1 and the {p} features, got {c}"
                    )));
                }
                c
            }
        };
        Ok(m.clamp(1, p.max(1)))
    }
}

/// A forest's parameters; as JSON (the catalog's params) in the names of the options.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForestParams {
    pub n_trees: usize,
    /// Longest root-to-leaf path (the root has depth 0); `None` grows until leaves are pure.
    pub max_depth: Option<usize>,
    /// Fewest (distinct, in-bag) training rows in a leaf.
    pub min_samples_leaf: usize,
    #[serde(serialize_with = "max_features_json")]
    pub max_features: MaxFeatures,
    /// Draw n rows with replacement for each tree (otherwise every tree sees every row).
    pub bootstrap: bool,
    pub seed: u64,
    /// Bins per feature for the split search, 2 ..= 256.
    pub max_bins: usize,
    /// Weight classes by n / (k · n_c), scikit-learn's class_weight='balanced'.
    #[serde(rename = "class_weight", serialize_with = "class_weight_json")]
    pub balanced: bool,
}

fn max_features_json<S: serde::Serializer>(
    m: &MaxFeatures,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match m {
        MaxFeatures::Sqrt => s.serialize_str("sqrt"),
        MaxFeatures::Log2 => s.serialize_str("log2"),
        MaxFeatures::All => s.serialize_str("all"),
        MaxFeatures::Fraction(f) => s.serialize_f64(*f),
        MaxFeatures::Count(k) => s.serialize_u64(*k as u64),
    }
}

/// `class_weight` as the option spells it.
pub fn class_weight_json<S: serde::Serializer>(
    balanced: &bool,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(if *balanced { "balanced" } else { "none" })
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_trees: 100,
            max_depth: None,
            min_samples_leaf: 1,
            max_features: MaxFeatures::Sqrt,
            bootstrap: true,
            seed: 0,
            max_bins: 255,
            balanced: false,
        }
    }
}

/// One node of a tree. The children of a split are stored side by side, `next` (x <= threshold)
/// and `next + 1`, so a step is `next + (x > threshold)` without a branch. A leaf points to
/// itself with an infinite threshold, so stepping from it stays put; that lets a row walk
/// several trees in lock step (their memory loads overlap) until all of them sit on a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Node {
    threshold: f64,
    feature: u32,
    next: u32,
}

impl Node {
    #[inline(always)]
    fn step(&self, row: &[f64]) -> u32 {
        self.next + (row[self.feature as usize] > self.threshold) as u32
    }
}

/// One fitted tree: its nodes and their class probabilities (per node: the probability of
/// class 1 for two classes, otherwise one per class). Only the leaves' values are used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    nodes: Vec<Node>,
    value: Vec<f32>,
    /// Weighted training rows that reached each node (what TreeSHAP needs). Not part of the
    /// tree's stored bytes: a forest model stores the covers of its trees after them.
    #[serde(skip)]
    pub cover: Vec<f32>,
}

/// One step of a TreeSHAP path: the feature split on, the fractions of zero (cold) and one
/// (hot) paths that flow through, and the permutation weight.
#[derive(Clone, Copy, Debug)]
pub struct PathStep {
    feature: i64,
    zero: f64,
    one: f64,
    weight: f64,
}

/// 1 / i (a table for the small integers TreeSHAP divides by).
#[inline]
fn recip(i: usize) -> f64 {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| (0..128).map(|i| 1.0 / i as f64).collect());
    t.get(i).copied().unwrap_or_else(|| 1.0 / i as f64)
}

/// Adds a step to a path (Lundberg et al. 2018, Algorithm 2, EXTEND).
fn extend(m: &mut Vec<PathStep>, zero: f64, one: f64, feature: i64) {
    let l = m.len();
    m.push(PathStep {
        feature,
        zero,
        one,
        weight: if l == 0 { 1.0 } else { 0.0 },
    });
    let r = recip(l + 1);
    for i in (0..l).rev() {
        m[i + 1].weight += one * m[i].weight * (i + 1) as f64 * r;
        m[i].weight = zero * m[i].weight * (l - i) as f64 * r;
    }
}

/// Removes step `i` from a path (Algorithm 2, UNWIND), in place.
fn unwind(m: &mut Vec<PathStep>, i: usize) {
    let l = m.len() - 1;
    let (one, zero) = (m[i].one, m[i].zero);
    let mut next = m[l].weight;
    for j in (0..l).rev() {
        if one != 0.0 {
            let t = m[j].weight;
            m[j].weight = next * (l + 1) as f64 / ((j + 1) as f64 * one);
            next = t - m[j].weight * zero * (l - j) as f64 / (l + 1) as f64;
        } else {
            m[j].weight = m[j].weight * (l + 1) as f64 / (zero * (l - j) as f64);
        }
    }
    for j in i..l {
        m[j].feature = m[j + 1].feature;
        m[j].zero = m[j + 1].zero;
        m[j].one = m[j + 1].one;
    }
    m.truncate(l);
}

/// The total weight of the path without step `i`: UNWIND's weights summed, without making the
/// path.
fn unwound_sum(m: &[PathStep], i: usize) -> f64 {
    let l = m.len() - 1;
    let (one, zero) = (m[i].one, m[i].zero);
    let (l1, r1) = ((l + 1) as f64, recip(l + 1));
    let mut total = 0.0;
    if one != 0.0 {
        let a = l1 / one;
        let b = zero * r1;
        let mut next = m[l].weight;
        for j in (0..l).rev() {
            let w = next * a * recip(j + 1);
            total += w;
            next = m[j].weight - w * b * (l - j) as f64;
        }
    } else {
        let a = l1 / zero;
        for j in (0..l).rev() {
            total += m[j].weight * a * recip(l - j);
        }
    }
    total
}

/// Size and shape of a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeShape {
    pub nodes: usize,
    pub leaves: usize,
    /// Longest root-to-leaf path (0 for a lone leaf).
    pub depth: usize,
}

impl Tree {
    /// The leaf that `row` falls into.
    #[cfg(test)]
    fn leaf(&self, row: &[f64]) -> usize {
        let mut i = 0;
        loop {
            let next = self.nodes[i].step(row) as usize;
            if next == i {
                return i;
            }
            i = next;
        }
    }

    /// Nodes visited below the root on the way to the leaf `row` falls into.
    #[cfg(test)]
    fn path_len(&self, row: &[f64]) -> usize {
        let (mut i, mut steps) = (0, 0);
        loop {
            let next = self.nodes[i].step(row) as usize;
            if next == i {
                return steps;
            }
            i = next;
            steps += 1;
        }
    }

    /// The value of node `i` for `class` (`per_node` values a node: 1 for two classes, the
    /// probability of class 1).
    fn class_value(&self, i: usize, class: usize, per_node: usize) -> f64 {
        if per_node == 1 {
            let v = f64::from(self.value[i]);
            if class == 1 {
                v
            } else {
                1.0 - v
            }
        } else {
            f64::from(self.value[i * per_node + class])
        }
    }

    /// Exact path-dependent TreeSHAP (Lundberg, Erion and Lee 2018, Algorithm 2) of `class`'s
    /// probability for row `x`: adds each feature's Shapley value to `phi` and returns the
    /// expected value (the leaves' values weighed by the training rows that reached them).
    /// `cover` holds the training rows of each node.
    /// `levels` holds a path buffer per depth (at least the tree's depth + 2): a node's path is
    /// its parent's extended by one step.
    pub fn shap(
        &self,
        cover: &[f32],
        class: usize,
        per_node: usize,
        x: &[f64],
        phi: &mut [f64],
        levels: &mut [Vec<PathStep>],
    ) {
        levels[0].clear();
        self.shap_node(0, cover, class, per_node, x, phi, levels, 1.0, 1.0, -1);
    }

    fn expected(&self, i: usize, cover: &[f32], class: usize, per_node: usize) -> f64 {
        let n = self.nodes[i];
        let c = n.next as usize;
        if c == i {
            return self.class_value(i, class, per_node);
        }
        let (rc, rl, rr) = (
            f64::from(cover[i]),
            f64::from(cover[c]),
            f64::from(cover[c + 1]),
        );
        (rl * self.expected(c, cover, class, per_node)
            + rr * self.expected(c + 1, cover, class, per_node))
            / rc
    }

    #[allow(clippy::too_many_arguments)]
    fn shap_node(
        &self,
        i: usize,
        cover: &[f32],
        class: usize,
        per_node: usize,
        x: &[f64],
        phi: &mut [f64],
        levels: &mut [Vec<PathStep>],
        zero: f64,
        one: f64,
        feature: i64,
    ) {
        // levels[0] is the parent's path, levels[1] becomes this node's.
        let (parent, rest) = levels.split_at_mut(1);
        let m = &mut rest[0];
        m.clear();
        m.extend_from_slice(&parent[0]);
        extend(m, zero, one, feature);
        let n = self.nodes[i];
        let c = n.next as usize;
        if c == i {
            let v = self.class_value(i, class, per_node);
            for k in 1..m.len() {
                let w = unwound_sum(m, k);
                phi[m[k].feature as usize] += w * (m[k].one - m[k].zero) * v;
            }
            return;
        }
        let hot = n.step(x) as usize;
        let cold = if hot == c { c + 1 } else { c };
        let (mut iz, mut io) = (1.0, 1.0);
        let f = i64::from(n.feature);
        if let Some(k) = m.iter().skip(1).position(|s| s.feature == f).map(|k| k + 1) {
            iz = m[k].zero;
            io = m[k].one;
            unwind(m, k);
        }
        let rc = f64::from(cover[i]);
        self.shap_node(
            hot,
            cover,
            class,
            per_node,
            x,
            phi,
            rest,
            iz * f64::from(cover[hot]) / rc,
            io,
            f,
        );
        self.shap_node(
            cold,
            cover,
            class,
            per_node,
            x,
            phi,
            rest,
            iz * f64::from(cover[cold]) / rc,
            0.0,
            f,
        );
    }

    /// E[f(x) | x_S] with the path-dependent value function (Algorithm 1): the features in
    /// `known` follow x, the others split by the training rows.
    #[cfg(test)]
    fn conditional(
        &self,
        i: usize,
        cover: &[f32],
        class: usize,
        per_node: usize,
        x: &[f64],
        known: &[bool],
    ) -> f64 {
        let n = self.nodes[i];
        let c = n.next as usize;
        if c == i {
            return self.class_value(i, class, per_node);
        }
        if known[n.feature as usize] {
            return self.conditional(n.step(x) as usize, cover, class, per_node, x, known);
        }
        let (rc, rl, rr) = (
            f64::from(cover[i]),
            f64::from(cover[c]),
            f64::from(cover[c + 1]),
        );
        (rl * self.conditional(c, cover, class, per_node, x, known)
            + rr * self.conditional(c + 1, cover, class, per_node, x, known))
            / rc
    }

    pub fn shape(&self) -> TreeShape {
        let mut depth = 0;
        let mut leaves = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, d)) = stack.pop() {
            let next = self.nodes[i].next as usize;
            if next == i {
                leaves += 1;
                depth = depth.max(d);
            } else {
                stack.push((next, d + 1));
                stack.push((next + 1, d + 1));
            }
        }
        TreeShape {
            nodes: self.nodes.len(),
            leaves,
            depth,
        }
    }
}

/// Trees walked in lock step by one row.
const LANES: usize = 32;

/// Row-independent TreeSHAP figures of a forest ([`Forest::shap_cache`]).
#[derive(Clone, Debug, Default)]
pub struct ShapCache {
    depth: usize,
    expected: Vec<f64>,
}

/// A fitted random forest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Forest {
    pub n_features: usize,
    pub n_classes: usize,
    pub trees: Vec<Tree>,
    /// Mean decrease in impurity per feature, summing to 1 (uniform when no tree split).
    pub importance: Vec<f64>,
}

impl Forest {
    /// TreeSHAP of the forest's probability of `class` for `row`, given each tree's node
    /// covers: (expected value over the training rows, one Shapley value per feature), the
    /// average of the trees' — so expected + Σ values = the forest's probability.
    pub fn shap(
        &self,
        covers: &[Vec<f32>],
        cache: &ShapCache,
        class: usize,
        row: &[f64],
    ) -> (f64, Vec<f64>) {
        let per_node = if self.n_classes == 2 {
            1
        } else {
            self.n_classes
        };
        // Trees in fixed chunks (on the current rayon pool), their sums added in order: the
        // same values for any number of threads.
        const CHUNK: usize = 8;
        let parts: Vec<Vec<f64>> = self
            .trees
            .par_chunks(CHUNK)
            .zip(covers.par_chunks(CHUNK))
            .map(|(trees, covers)| {
                let mut phi = vec![0.0; self.n_features];
                let mut levels = vec![Vec::with_capacity(self.n_features + 2); cache.depth + 2];
                for (t, c) in trees.iter().zip(covers) {
                    t.shap(c, class, per_node, row, &mut phi, &mut levels);
                }
                phi
            })
            .collect();
        let mut phi = vec![0.0; self.n_features];
        for part in parts {
            for (a, b) in phi.iter_mut().zip(part) {
                *a += b;
            }
        }
        let n = self.trees.len().max(1) as f64;
        phi.iter_mut().for_each(|v| *v /= n);
        (cache.expected[class], phi)
    }

    /// What TreeSHAP needs of the trees whatever the row: the deepest tree's depth and the
    /// forest's expected probability of each class over the training rows.
    pub fn shap_cache(&self, covers: &[Vec<f32>]) -> ShapCache {
        let per_node = if self.n_classes == 2 {
            1
        } else {
            self.n_classes
        };
        let n = self.trees.len().max(1) as f64;
        ShapCache {
            depth: self
                .trees
                .iter()
                .map(|t| t.shape().depth)
                .max()
                .unwrap_or(0),
            // A regression forest's value is read as "class 1" of a one-value-a-node tree.
            expected: (0..self.n_classes.max(2))
                .map(|c| {
                    self.trees
                        .iter()
                        .zip(covers)
                        .map(|(t, cv)| t.expected(0, cv, c, per_node))
                        .sum::<f64>()
                        / n
                })
                .collect(),
        }
    }

    /// The node covers of the trees as grown (empty for trees read back from storage).
    pub fn covers(&self) -> Vec<Vec<f32>> {
        self.trees.iter().map(|t| t.cover.clone()).collect()
    }

    /// Whether `covers` fit the trees (one per node).
    pub fn covers_fit(&self, covers: &[Vec<f32>]) -> bool {
        covers.len() == self.trees.len()
            && covers.iter().zip(&self.trees).all(|(c, t)| {
                c.len() == t.nodes.len() && c.iter().all(|v| v.is_finite() && *v > 0.0)
            })
    }

    /// Calls `visit(tree, leaf)` for every tree, in order, with the leaf `row` falls into.
    #[inline]
    fn for_each_leaf(&self, row: &[f64], mut visit: impl FnMut(&Tree, usize)) {
        for group in self.trees.chunks(LANES) {
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
            for (&a, t) in at.iter().zip(group) {
                visit(t, a as usize);
            }
        }
    }

    /// Class probabilities for one row (average of the trees' leaf class frequencies, like
    /// scikit-learn), written into `out` (len n_classes). `row` has `n_features` values.
    pub fn predict_proba_into(&self, row: &[f64], out: &mut [f64]) {
        let k = self.n_classes;
        let out = &mut out[..k];
        let inv = 1.0 / self.trees.len() as f64;
        if k == 2 {
            let p1 = self.proba_of(row, 1);
            out[0] = 1.0 - p1;
            out[1] = p1;
            return;
        }
        out.fill(0.0);
        self.for_each_leaf(row, |t, leaf| {
            for (o, &v) in out.iter_mut().zip(&t.value[leaf * k..(leaf + 1) * k]) {
                *o += v as f64;
            }
        });
        for o in out.iter_mut() {
            *o *= inv;
        }
    }

    /// The most probable class (ties: lowest index).
    pub fn predict_class(&self, row: &[f64]) -> usize {
        let k = self.n_classes;
        let mut small = [0.0f64; 8];
        let mut big = Vec::new();
        let probs: &mut [f64] = if k <= small.len() {
            &mut small[..k]
        } else {
            big.resize(k, 0.0);
            &mut big
        };
        self.predict_proba_into(row, probs);
        let mut best = 0;
        for (c, &v) in probs.iter().enumerate() {
            if v > probs[best] {
                best = c;
            }
        }
        best
    }

    /// Probability of class `c` only (fast path for binary problems).
    pub fn proba_of(&self, row: &[f64], c: usize) -> f64 {
        let k = self.n_classes;
        assert!(c < k, "class {c} out of range");
        let mut s = 0.0f64;
        if k == 2 {
            self.for_each_leaf(row, |t, leaf| s += t.value[leaf] as f64);
            s /= self.trees.len() as f64;
            if c == 1 {
                s
            } else {
                1.0 - s
            }
        } else {
            self.for_each_leaf(row, |t, leaf| s += t.value[leaf * k + c] as f64);
            s / self.trees.len() as f64
        }
    }

    /// For every row of `x` (row-major, `n_features` values each) the mean over the trees of
    /// the leaf's value at `offset` of its `stride` values (a two-class forest's probability of
    /// class 1: stride 1, offset 0; a regression forest's value), into `out`. Tree by tree over
    /// groups of 16,384 rows, so a deep tree's nodes are fetched into cache once for the whole
    /// group rather than once per row (on 100k rows of a fully grown forest, 104 ns per tree
    /// per row against 256-row groups' 370 and 700 row by row), 8 rows stepping in lock step;
    /// the same sums in the same order as row by row.
    pub fn mean_leaf_values(&self, x: &[f64], stride: usize, offset: usize, out: &mut [f64]) {
        const R: usize = 8;
        const GROUP: usize = 16_384;
        let p = self.n_features.max(1);
        let n = out.len();
        out.fill(0.0);
        for start in (0..n).step_by(GROUP) {
            let end = (start + GROUP).min(n);
            for t in &self.trees {
                let mut r = start;
                while r < end {
                    let m = (end - r).min(R);
                    let mut at = [0u32; R];
                    loop {
                        let mut moved = false;
                        for (j, a) in at.iter_mut().enumerate().take(m) {
                            let row = &x[(r + j) * p..(r + j + 1) * p];
                            let next = t.nodes[*a as usize].step(row);
                            moved |= next != *a;
                            *a = next;
                        }
                        if !moved {
                            break;
                        }
                    }
                    for (j, a) in at.iter().enumerate().take(m) {
                        out[r + j] += t.value[*a as usize * stride + offset] as f64;
                    }
                    r += m;
                }
            }
        }
        let trees = self.trees.len() as f64;
        out.iter_mut().for_each(|v| *v /= trees);
    }

    /// A regression forest's prediction: the average of the trees' leaf means.
    pub fn predict_value(&self, row: &[f64]) -> f64 {
        debug_assert_eq!(self.n_classes, 1, "not a regression forest");
        let mut s = 0.0f64;
        self.for_each_leaf(row, |t, leaf| s += t.value[leaf] as f64);
        s / self.trees.len() as f64
    }

    /// Whether the forest predicts values (a regression forest) rather than classes.
    pub fn is_regression(&self) -> bool {
        self.n_classes == 1
    }

    /// Size and depth of every tree.
    pub fn shapes(&self) -> Vec<TreeShape> {
        self.trees.iter().map(Tree::shape).collect()
    }

    /// Checks the structure of a forest read from storage, so that prediction cannot loop or
    /// index out of bounds: children come after their parent, leaves point to themselves,
    /// features and values are in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(crate::model::damaged(&crate::trees::model::KIND, what));
        let k = self.n_classes;
        if self.trees.is_empty() || k < 1 || self.importance.len() != self.n_features {
            return bad("bad header");
        }
        let per_node = if k == 2 { 1 } else { k };
        for t in &self.trees {
            let n = t.nodes.len();
            if n == 0 || t.value.len() != n * per_node {
                return bad("bad tree size");
            }
            for (i, node) in t.nodes.iter().enumerate() {
                let next = node.next as usize;
                let ok = if next == i {
                    node.threshold == f64::INFINITY && node.feature == 0
                } else {
                    next > i && next + 1 < n && (node.feature as usize) < self.n_features
                };
                if !ok {
                    return bad("bad node");
                }
            }
        }
        Ok(())
    }
}

/// Threshold between two adjacent distinct values `a < b`: their midpoint, or `a` when the
/// midpoint rounds onto `b` (so `a` goes left and `b` goes right either way).
#[inline]
pub(crate) fn midpoint(a: f64, b: f64) -> f64 {
    let m = a / 2.0 + b / 2.0;
    if m >= b || m < a {
        a
    } else {
        m
    }
}

/// Rows used to place the bin edges when there are more.
pub(crate) const BIN_SAMPLE: usize = 200_000;

/// The bins of one feature: bin `b` holds the values in (cuts[b-1], cuts[b]].
struct FeatureBins {
    n_bins: usize,
    /// Smallest and largest training value in each bin.
    lo: Vec<f64>,
    hi: Vec<f64>,
}

/// Bin edges of a sorted sample: midpoints between distinct values, one bin per distinct value
/// when there are at most `max_bins`, otherwise about equal-count bins.
pub(crate) fn cut_points(sorted: &[f64], max_bins: usize) -> Vec<f64> {
    let mut vals: Vec<f64> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for &v in sorted {
        if vals.last() == Some(&v) {
            *counts.last_mut().expect("nonempty") += 1;
        } else {
            vals.push(v);
            counts.push(1);
        }
    }
    let d = vals.len();
    let mut cuts = Vec::new();
    if d <= max_bins {
        for i in 1..d {
            cuts.push(midpoint(vals[i - 1], vals[i]));
        }
        return cuts;
    }
    // Cut after the value at which the running count passes the next of the max_bins - 1
    // quantile targets (a heavy value may pass several).
    let total = sorted.len();
    let mut cum = 0usize;
    let mut passed = 0usize;
    for i in 0..d - 1 {
        cum += counts[i];
        if cum * max_bins >= (passed + 1) * total {
            cuts.push(midpoint(vals[i], vals[i + 1]));
            passed = cum * max_bins / total;
        }
    }
    cuts
}

/// Bins feature `j` of `x` and writes its codes into `codes` (one per row).
fn bin_feature(
    x: &[f64],
    p: usize,
    j: usize,
    sample: Option<&[u32]>,
    max_bins: usize,
    codes: &mut [u8],
) -> FeatureBins {
    let mut vals: Vec<f64> = match sample {
        Some(rows) => rows.iter().map(|&i| x[i as usize * p + j]).collect(),
        None => x[j..].iter().step_by(p).copied().collect(),
    };
    vals.sort_unstable_by(f64::total_cmp);
    let cuts = cut_points(&vals, max_bins);
    let n_bins = cuts.len() + 1;
    let mut lo = vec![f64::INFINITY; n_bins];
    let mut hi = vec![f64::NEG_INFINITY; n_bins];
    for (code, &v) in codes.iter_mut().zip(x[j..].iter().step_by(p)) {
        let b = cuts.partition_point(|&t| t < v);
        *code = b as u8;
        lo[b] = lo[b].min(v);
        hi[b] = hi[b].max(v);
    }
    FeatureBins { n_bins, lo, hi }
}

/// One in-bag row of a tree: its index, class and weight (bootstrap multiplicity × class
/// weight). A node owns a contiguous range of these, partitioned in place on a split.
#[derive(Clone, Copy)]
struct Sample {
    row: u32,
    class: u32,
    w: f64,
}

/// Everything the trees share.
struct Ctx<'a> {
    codes: &'a [u8],
    n: usize,
    p: usize,
    /// Histogram channels a bin: the class weights (classification) or the weight, weighted
    /// sum and weighted sum of squares of the target (regression, `REGRESSION_CHANNELS`).
    k: usize,
    /// Targets of a regression forest (empty for a classifier).
    target: &'a [f64],
    bins: &'a [FeatureBins],
    y: &'a [u32],
    class_weight: &'a [f64],
    mtry: usize,
    max_depth: usize,
    min_leaf: usize,
    bootstrap: bool,
    seed: u64,
}

#[derive(Clone, Copy)]
struct Split {
    feature: usize,
    bin: u8,
    next_bin: u8,
    /// Σ_c L_c²/W_L + Σ_c R_c²/W_R: larger is a lower weighted Gini impurity; regression
    /// (Σ_L wy)²/W_L + (Σ_R wy)²/W_R: larger is a lower weighted squared error.
    score: f64,
}

/// A regression node's histogram channels: Σw, Σwy, Σwy².
const REGRESSION_CHANNELS: usize = 3;

/// Per-tree working memory; `REG` grows a regression tree.
struct Grower<'c, 'a, const REG: bool> {
    ctx: &'c Ctx<'a>,
    rng: Rng,
    /// (bin, class) weights and per-bin row counts of the feature being scanned; all zero
    /// between uses.
    hist: Vec<f64>,
    count: Vec<u32>,
    /// Occupied bins, ascending.
    touched: Vec<u8>,
    left: Vec<f64>,
    total: Vec<f64>,
    /// Feature indices; each node draws from them by a partial Fisher–Yates shuffle.
    feats: Vec<u32>,
    importance: Vec<f64>,
}

impl<'c, 'a, const REG: bool> Grower<'c, 'a, REG> {
    /// Adds sample `s` to the channels `h` of its bin (or side).
    #[inline(always)]
    fn add(target: &[f64], h: &mut [f64], s: &Sample) {
        if REG {
            let y = target[s.row as usize];
            h[0] += s.w;
            h[1] += s.w * y;
            h[2] += s.w * y * y;
        } else {
            h[s.class as usize] += s.w;
        }
    }

    /// The weight of a node or side from its channels.
    #[inline(always)]
    fn weight(h: &[f64]) -> f64 {
        if REG {
            h[0]
        } else {
            h.iter().sum()
        }
    }

    /// Accumulates the histogram of feature `f` over `samples` (with row counts per bin when
    /// `COUNT`, needed only for `min_samples_leaf` > 1) and lists the occupied bins.
    fn histogram<const COUNT: bool>(&mut self, f: usize, samples: &[Sample]) {
        let k = self.ctx.k;
        let n = self.ctx.n;
        let col = &self.ctx.codes[f * n..(f + 1) * n];
        let nb = self.ctx.bins[f].n_bins;
        let target = self.ctx.target;
        let hist = &mut self.hist[..nb * k];
        let count = &mut self.count[..nb];
        self.touched.clear();
        if samples.len() >= nb {
            for s in samples {
                let b = col[s.row as usize] as usize;
                Self::add(target, &mut hist[b * k..(b + 1) * k], s);
                if COUNT {
                    count[b] += 1;
                }
            }
            for (b, h) in hist.chunks_exact(k).enumerate() {
                if h.iter().any(|&v| v > 0.0) {
                    self.touched.push(b as u8);
                }
            }
        } else {
            // Few rows: note the occupied bins in a 256-bit set held in registers.
            let mut bits = [0u64; 4];
            for s in samples {
                let b = col[s.row as usize] as usize;
                Self::add(target, &mut hist[b * k..(b + 1) * k], s);
                if COUNT {
                    count[b] += 1;
                }
                let bit = 1u64 << (b & 63);
                for (word, bw) in bits.iter_mut().enumerate() {
                    *bw |= if b >> 6 == word { bit } else { 0 };
                }
            }
            for (word, &bw) in bits.iter().enumerate() {
                let mut rest = bw;
                while rest != 0 {
                    self.touched
                        .push((word * 64 + rest.trailing_zeros() as usize) as u8);
                    rest &= rest - 1;
                }
            }
        }
    }

    /// Zeroes the histogram cells of the occupied bins.
    fn clear_histogram<const COUNT: bool>(&mut self) {
        let k = self.ctx.k;
        for &b in &self.touched {
            let b = b as usize;
            self.hist[b * k..(b + 1) * k].fill(0.0);
            if COUNT {
                self.count[b] = 0;
            }
        }
    }

    /// Improves `best` with the best split of feature `f` (histogram already built).
    fn scan<const COUNT: bool>(
        &mut self,
        f: usize,
        m: usize,
        w_total: f64,
        best: &mut Option<Split>,
    ) {
        let k = self.ctx.k;
        let min_leaf = self.ctx.min_leaf;
        self.left.fill(0.0);
        let mut m_left = 0usize;
        for pair in self.touched.windows(2) {
            let b = pair[0] as usize;
            for (l, &h) in self.left.iter_mut().zip(&self.hist[b * k..(b + 1) * k]) {
                *l += h;
            }
            let w_left = Self::weight(&self.left);
            if COUNT {
                m_left += self.count[b] as usize;
                if m_left < min_leaf {
                    continue;
                }
                if m - m_left < min_leaf {
                    break;
                }
            }
            let (sl, sr) = if REG {
                let (l, t) = (self.left[1], self.total[1]);
                (l * l, (t - l) * (t - l))
            } else {
                let mut sl = 0.0;
                let mut sr = 0.0;
                for (&l, &t) in self.left.iter().zip(&self.total) {
                    sl += l * l;
                    sr += (t - l) * (t - l);
                }
                (sl, sr)
            };
            let score = sl / w_left + sr / (w_total - w_left);
            if best.is_none_or(|s| score > s.score) {
                *best = Some(Split {
                    feature: f,
                    bin: pair[0],
                    next_bin: pair[1],
                    score,
                });
            }
        }
    }

    /// The best split of `samples` over at least `mtry` non-constant candidate features (as
    /// scikit-learn, features constant in the node do not count), if any is allowed.
    fn best_split(&mut self, samples: &[Sample], w_total: f64) -> Option<Split> {
        let ctx = self.ctx;
        let mut best = None;
        let mut remaining = ctx.p;
        let mut visited = 0;
        while remaining > 0 && visited < ctx.mtry {
            let j = self.rng.below(remaining as u64) as usize;
            remaining -= 1;
            self.feats.swap(j, remaining);
            let f = self.feats[remaining] as usize;
            if ctx.bins[f].n_bins < 2 {
                continue;
            }
            if ctx.min_leaf > 1 {
                self.histogram::<true>(f, samples);
                if self.touched.len() >= 2 {
                    visited += 1;
                    self.scan::<true>(f, samples.len(), w_total, &mut best);
                }
                self.clear_histogram::<true>();
            } else {
                self.histogram::<false>(f, samples);
                if self.touched.len() >= 2 {
                    visited += 1;
                    self.scan::<false>(f, samples.len(), w_total, &mut best);
                }
                self.clear_histogram::<false>();
            }
        }
        best
    }

    fn grow(mut self, mut samples: Vec<Sample>) -> (Tree, Vec<f64>) {
        let ctx = self.ctx;
        let n = ctx.n;
        let k = ctx.k;
        let per_node = if REG || k == 2 { 1 } else { k };
        let target = ctx.target;
        let leaf = |i: usize| Node {
            threshold: f64::INFINITY,
            feature: 0,
            next: i as u32,
        };
        let mut nodes: Vec<Node> = vec![leaf(0)];
        let mut value: Vec<f32> = vec![0.0; per_node];
        let mut cover: Vec<f32> = vec![0.0];
        // (first sample, end, depth, node); the class weights of each entry are in `totals`.
        let mut stack: Vec<(usize, usize, usize, usize)> = vec![(0, samples.len(), 0, 0)];
        let mut totals = vec![0.0; k];
        for s in &samples {
            Self::add(target, &mut totals, s);
        }
        while let Some((lo, hi, depth, id)) = stack.pop() {
            let node_samples = &samples[lo..hi];
            self.total.copy_from_slice(&totals[totals.len() - k..]);
            totals.truncate(totals.len() - k);
            let w_total = Self::weight(&self.total);
            cover[id] = w_total as f32;
            if REG || k == 2 {
                value[id] = (self.total[1] / w_total) as f32;
            } else {
                for (v, t) in value[id * k..(id + 1) * k].iter_mut().zip(&self.total) {
                    *v = (t / w_total) as f32;
                }
            }
            let m = hi - lo;
            let pure = if REG {
                // No spread of the target left (up to rounding of the sums).
                let (mean, square) = (self.total[1] / w_total, self.total[2] / w_total);
                square - mean * mean <= 1e-12 * square.max(f64::MIN_POSITIVE)
            } else {
                self.total.iter().filter(|&&t| t > 0.0).count() <= 1
            };
            if pure || depth >= ctx.max_depth || m < 2 * ctx.min_leaf {
                continue;
            }
            let Some(s) = self.best_split(node_samples, w_total) else {
                continue;
            };
            let bins = &ctx.bins[s.feature];
            let parent_score: f64 = if REG {
                self.total[1] * self.total[1] / w_total
            } else {
                self.total.iter().map(|t| t * t).sum::<f64>() / w_total
            };
            self.importance[s.feature] += (s.score - parent_score).max(0.0);
            let left = nodes.len();
            nodes[id] = Node {
                threshold: midpoint(bins.hi[s.bin as usize], bins.lo[s.next_bin as usize]),
                feature: s.feature as u32,
                next: left as u32,
            };
            nodes.push(leaf(left));
            nodes.push(leaf(left + 1));
            value.resize(nodes.len() * per_node, 0.0);
            cover.resize(nodes.len(), 0.0);
            // Partition the rows, summing the class weights of both sides on the way.
            let col = &ctx.codes[s.feature * n..(s.feature + 1) * n];
            let part = &mut samples[lo..hi];
            let at = totals.len();
            totals.resize(at + 2 * k, 0.0);
            let (right_w, left_w) = totals[at..].split_at_mut(k);
            let (mut i, mut j) = (0, part.len());
            while i < j {
                let s0 = part[i];
                if col[s0.row as usize] <= s.bin {
                    Self::add(target, left_w, &s0);
                    i += 1;
                } else {
                    Self::add(target, right_w, &s0);
                    j -= 1;
                    part.swap(i, j);
                }
            }
            let mid = lo + i;
            stack.push((mid, hi, depth + 1, left + 1));
            stack.push((lo, mid, depth + 1, left));
        }
        debug_assert!(nodes.len() < u32::MAX as usize);
        let mut tree = relayout(&nodes, &value, per_node);
        tree.cover = relayout(&nodes, &cover, 1).value;
        (tree, self.importance)
    }
}

/// Levels of a tree stored breadth first, ahead of the deeper subtrees.
const BFS_LEVELS: usize = 10;

/// Reorders a grown tree for prediction: the top `BFS_LEVELS` levels breadth first (a few
/// kilobytes that stay in cache across rows), then each subtree below them depth first (a
/// walk through it stays within a few cache lines). Children remain side by side.
fn relayout(nodes: &[Node], value: &[f32], per_node: usize) -> Tree {
    let is_leaf = |i: usize| nodes[i].next as usize == i;
    // Old indices in their new order; children are always appended as a pair.
    let mut order: Vec<u32> = Vec::with_capacity(nodes.len());
    let mut depth: Vec<u8> = Vec::with_capacity(nodes.len());
    order.push(0);
    depth.push(0);
    let mut frontier = Vec::new();
    let mut q = 0;
    while q < order.len() {
        let old = order[q] as usize;
        if !is_leaf(old) {
            if (depth[q] as usize) < BFS_LEVELS {
                let c = nodes[old].next;
                order.extend([c, c + 1]);
                depth.extend([depth[q] + 1; 2]);
            } else {
                frontier.push(old);
            }
        }
        q += 1;
    }
    let mut stack = Vec::new();
    for f in frontier {
        stack.push(f);
        while let Some(old) = stack.pop() {
            if !is_leaf(old) {
                let c = nodes[old].next;
                order.extend([c, c + 1]);
                stack.push(c as usize + 1);
                stack.push(c as usize);
            }
        }
    }
    let mut position = vec![0u32; nodes.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old as usize] = new as u32;
    }
    let mut out_nodes = Vec::with_capacity(nodes.len());
    let mut out_value = Vec::with_capacity(value.len());
    for &old in &order {
        let mut node = nodes[old as usize];
        node.next = position[node.next as usize];
        out_nodes.push(node);
        let old = old as usize;
        out_value.extend_from_slice(&value[old * per_node..(old + 1) * per_node]);
    }
    Tree {
        nodes: out_nodes,
        value: out_value,
        cover: Vec::new(),
    }
}

/// Grows tree number `t`.
fn grow_tree(ctx: &Ctx, t: usize) -> (Tree, Vec<f64>) {
    let mut rng = Rng::new(ctx.seed ^ mix64((t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let n = ctx.n;
    let sample = |i: usize, c: u32| {
        let class = if ctx.target.is_empty() { ctx.y[i] } else { 0 };
        Sample {
            row: i as u32,
            class,
            w: c as f64 * ctx.class_weight[class as usize],
        }
    };
    let samples: Vec<Sample> = if ctx.bootstrap {
        let mut counts = vec![0u32; n];
        for _ in 0..n {
            counts[rng.below(n as u64) as usize] += 1;
        }
        counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| sample(i, c))
            .collect()
    } else {
        (0..n).map(|i| sample(i, 1)).collect()
    };
    if ctx.target.is_empty() {
        grower::<false>(ctx, rng).grow(samples)
    } else {
        grower::<true>(ctx, rng).grow(samples)
    }
}

fn grower<'c, 'a, const REG: bool>(ctx: &'c Ctx<'a>, rng: Rng) -> Grower<'c, 'a, REG> {
    let max_bins = ctx.bins.iter().map(|b| b.n_bins).max().unwrap_or(1);
    Grower {
        ctx,
        rng,
        hist: vec![0.0; max_bins * ctx.k],
        count: vec![0; max_bins],
        touched: Vec::with_capacity(256),
        left: vec![0.0; ctx.k],
        total: vec![0.0; ctx.k],
        feats: (0..ctx.p as u32).collect(),
        importance: vec![0.0; ctx.p],
    }
}

/// What a forest learns: classes `0..k` (a classifier) or values (a regression forest).
#[derive(Clone, Copy)]
enum Labels<'a> {
    Classes(&'a [u32], usize),
    Values(&'a [f64]),
}

/// Fits a forest on `x` (row-major, n rows × `p` values, all finite) with classes `y` in
/// `0..n_classes`. The monitor is ticked after binning and after every batch of trees (and told
/// the number of trees grown so far); its error stops the fit. A model read back from storage
/// should go through [`Forest::validate`] before it predicts.
pub fn fit(
    x: &[f64],
    p: usize,
    y: &[u32],
    n_classes: usize,
    params: &ForestParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<Forest> {
    fit_labels(x, p, Labels::Classes(y, n_classes), params, pool, monitor)
}

/// Fits a regression forest on `x` with finite targets `y`: mean-squared-error splits (the
/// variance reduction of scikit-learn's `RandomForestRegressor`), leaves holding the mean of
/// their in-bag rows, predictions the average over the trees. The forest has `n_classes` 1.
pub fn fit_regression(
    x: &[f64],
    p: usize,
    y: &[f64],
    params: &ForestParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<Forest> {
    fit_labels(x, p, Labels::Values(y), params, pool, monitor)
}

fn fit_labels(
    x: &[f64],
    p: usize,
    labels: Labels,
    params: &ForestParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<Forest> {
    let (y, n_classes, target): (&[u32], usize, &[f64]) = match labels {
        Labels::Classes(y, k) => (y, k, &[]),
        Labels::Values(t) => (&[], 1, t),
    };
    let regression = matches!(labels, Labels::Values(_));
    let n_labels = if regression { target.len() } else { y.len() };
    if p == 0 {
        return Err(Error::invalid("a random forest needs at least one feature"));
    }
    if !x.len().is_multiple_of(p) {
        return Err(Error::invalid(format!(
            "{} values do not make rows of {p} features",
            x.len()
        )));
    }
    let n = x.len() / p;
    if n_labels != n {
        return Err(Error::invalid(format!("{n} rows but {n_labels} targets")));
    }
    if n == 0 {
        return Err(Error::data("no training rows"));
    }
    if n > u32::MAX as usize {
        return Err(Error::invalid(format!(
            "too many rows for a random forest: {n}"
        )));
    }
    if !regression && n_classes < 2 {
        return Err(Error::invalid(format!(
            "a classifier needs at least 2 classes, got {n_classes}"
        )));
    }
    if params.n_trees == 0 {
        return Err(Error::invalid("n_trees must be at least 1"));
    }
    if params.min_samples_leaf == 0 {
        return Err(Error::invalid("min_samples_leaf must be at least 1"));
    }
    if params.max_depth == Some(0) {
        return Err(Error::invalid("max_depth must be at least 1"));
    }
    if !(2..=256).contains(&params.max_bins) {
        return Err(Error::invalid(format!(
            "max_bins must be between 2 and 256, got {}",
            params.max_bins
        )));
    }
    let mtry = params.max_features.resolve(p)?;
    if let Some(bad) = y.iter().find(|&&c| c as usize >= n_classes) {
        return Err(Error::invalid(format!(
            "class label {bad} out of range for {n_classes} classes"
        )));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid("features must be finite"));
    }
    if target.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid("targets must be finite"));
    }
    let mut class_count = vec![0usize; n_classes];
    for &c in y {
        class_count[c as usize] += 1;
    }
    let present = class_count.iter().filter(|&&c| c > 0).count();
    if !regression && present < 2 {
        return Err(Error::data(format!(
            "the target has only one class in the {n} training rows"
        )));
    }
    let class_weight: Vec<f64> = class_count
        .iter()
        .map(|&c| {
            if params.balanced && c > 0 && !regression {
                n as f64 / (present as f64 * c as f64)
            } else {
                1.0
            }
        })
        .collect();

    // Bin every feature once (in parallel over features).
    let sample: Option<Vec<u32>> = (n > BIN_SAMPLE).then(|| {
        let mut rng = Rng::new(mix64(params.seed ^ 0x6a09_e667_f3bc_c908));
        (0..BIN_SAMPLE)
            .map(|_| rng.below(n as u64) as u32)
            .collect()
    });
    let mut codes = vec![0u8; n * p];
    let bins: Vec<FeatureBins> = pool.install(|| {
        codes
            .par_chunks_mut(n)
            .enumerate()
            .map(|(j, col)| bin_feature(x, p, j, sample.as_deref(), params.max_bins, col))
            .collect()
    });
    drop(sample);
    monitor.tick()?;

    let ctx = Ctx {
        codes: &codes,
        n,
        p,
        k: if regression {
            REGRESSION_CHANNELS
        } else {
            n_classes
        },
        target,
        bins: &bins,
        y,
        class_weight: &class_weight,
        mtry,
        max_depth: params.max_depth.unwrap_or(usize::MAX),
        min_leaf: params.min_samples_leaf,
        bootstrap: params.bootstrap,
        seed: params.seed,
    };
    let batch = (2 * pool.current_num_threads()).max(8);
    let mut trees = Vec::with_capacity(params.n_trees);
    let mut importance = vec![0.0; p];
    let mut done = 0;
    while done < params.n_trees {
        let end = (done + batch).min(params.n_trees);
        let grown: Vec<(Tree, Vec<f64>)> = pool.install(|| {
            (done..end)
                .into_par_iter()
                .map(|t| grow_tree(&ctx, t))
                .collect()
        });
        for (tree, imp) in grown {
            let s: f64 = imp.iter().sum();
            if s > 0.0 {
                for (a, b) in importance.iter_mut().zip(&imp) {
                    *a += b / s;
                }
            }
            trees.push(tree);
        }
        done = end;
        monitor.tick()?;
        monitor.iteration(done, None)?;
    }
    let s: f64 = importance.iter().sum();
    if s > 0.0 {
        for v in importance.iter_mut() {
            *v /= s;
        }
    } else {
        importance.fill(1.0 / p as f64);
    }
    Ok(Forest {
        n_features: p,
        n_classes,
        trees,
        importance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::sigmoid;
    use crate::metrics::classification::class_metrics;
    use crate::monitor::Quiet;
    use std::time::Instant;

    use crate::monitor::test_pool as pool;

    fn single_tree() -> ForestParams {
        ForestParams {
            n_trees: 1,
            max_features: MaxFeatures::All,
            bootstrap: false,
            ..ForestParams::default()
        }
    }

    /// `n` rows of `p` standard normal features; the class is drawn with probability
    /// σ(Σ βⱼ xⱼ) over the first five. Returns (x, y, true probability).
    fn logistic_data(n: usize, p: usize, seed: u64) -> (Vec<f64>, Vec<u32>, Vec<f64>) {
        let beta = [1.2, -1.0, 0.8, 0.6, -0.5];
        let mut rng = Rng::new(seed);
        let mut x = Vec::with_capacity(n * p);
        let mut y = Vec::with_capacity(n);
        let mut prob = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = (0..p).map(|_| rng.normal()).collect();
            let pr = sigmoid(beta.iter().zip(&row).map(|(b, v)| b * v).sum());
            y.push(rng.bernoulli(pr) as u32);
            prob.push(pr);
            x.extend(row);
        }
        (x, y, prob)
    }

    /// Rows of training data reaching each leaf (keyed by leaf offset), with the leaf's depth.
    fn leaf_rows(tree: &Tree, x: &[f64], p: usize) -> Vec<(usize, usize)> {
        let mut hits = std::collections::BTreeMap::new();
        for row in x.chunks_exact(p) {
            *hits.entry(tree.leaf(row)).or_insert(0usize) += 1;
        }
        hits.into_iter().collect()
    }

    #[test]
    fn forest_single_tree_fits_xor_exactly() {
        // Two coordinates on a grid (few distinct values, one bin each) and a continuous noise
        // feature with more distinct values than bins; the class is the XOR of the signs.
        let mut rng = Rng::new(1);
        let n = 600;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let a = rng.below(20) as f64 - 9.5;
            let b = rng.below(20) as f64 - 9.5;
            x.extend([a, b, rng.normal()]);
            y.push(((a > 0.0) ^ (b > 0.0)) as u32);
        }
        let params = single_tree();
        let f = fit(&x, 3, &y, 2, &params, &pool(2), &mut Quiet).unwrap();
        assert_eq!(f.trees.len(), 1);
        for (row, &c) in x.chunks_exact(3).zip(&y) {
            assert_eq!(f.predict_class(row), c as usize);
            assert_eq!(f.proba_of(row, c as usize), 1.0);
        }
        // An ordinary CART tree: deterministic, the same again.
        let g = fit(&x, 3, &y, 2, &params, &pool(1), &mut Quiet).unwrap();
        assert_eq!(f.trees, g.trees);
        f.validate().unwrap();
        let s = f.importance.iter().sum::<f64>();
        assert!((s - 1.0).abs() < 1e-12);
    }

    #[test]
    fn forest_is_thread_count_independent() {
        let (x, y, _) = logistic_data(3000, 8, 2);
        let params = ForestParams {
            n_trees: 20,
            seed: 9,
            ..ForestParams::default()
        };
        let a = fit(&x, 8, &y, 2, &params, &pool(1), &mut Quiet).unwrap();
        let b = fit(&x, 8, &y, 2, &params, &pool(2), &mut Quiet).unwrap();
        assert_eq!(a.trees, b.trees);
        assert_eq!(a.importance, b.importance);
        for row in x.chunks_exact(8).take(500) {
            assert_eq!(a.proba_of(row, 1).to_bits(), b.proba_of(row, 1).to_bits());
        }
        // Another seed gives another forest.
        let c = fit(
            &x,
            8,
            &y,
            2,
            &ForestParams { seed: 10, ..params },
            &pool(2),
            &mut Quiet,
        )
        .unwrap();
        assert_ne!(a.trees, c.trees);
    }

    #[test]
    fn forest_approaches_the_bayes_rule() {
        let p = 20;
        let (x, y, _) = logistic_data(20_000, p, 3);
        let (xt, yt, pt) = logistic_data(10_000, p, 4);
        let params = ForestParams {
            seed: 5,
            ..ForestParams::default()
        };
        let f = fit(&x, p, &y, 2, &params, &pool(2), &mut Quiet).unwrap();
        let yt: Vec<f64> = yt.iter().map(|&c| c as f64).collect();
        let pred: Vec<f64> = xt.chunks_exact(p).map(|r| f.proba_of(r, 1)).collect();
        let auc = class_metrics(&pred, &yt, 0.5).auc;
        let bayes = class_metrics(&pt, &yt, 0.5).auc;
        eprintln!("forest AUC {auc}, Bayes AUC {bayes}");
        assert!(auc > bayes - 0.03, "forest AUC {auc}, Bayes AUC {bayes}");
        let s: f64 = f.importance.iter().sum();
        assert!((s - 1.0).abs() < 1e-9, "{s}");
        let informative: f64 = f.importance[..5].iter().sum();
        let top_noise = f.importance[5..].iter().cloned().fold(0.0, f64::max);
        // Fully grown trees also split on noise deep down (as scikit-learn's do), so the five
        // informative features (a quarter of them) carry about half of the importance.
        assert!(informative > 0.45, "{:?}", f.importance);
        assert!(
            f.importance[..5].iter().all(|&v| v > top_noise),
            "{:?}",
            f.importance
        );
        // Probabilities of both classes sum to one.
        let mut out = [0.0; 2];
        f.predict_proba_into(&xt[..p], &mut out);
        assert!((out[0] + out[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn forest_three_classes() {
        // Three overlapping Gaussian clouds in 4 dimensions plus 2 noise features.
        let mut rng = Rng::new(6);
        let centers = [
            [0.0, 0.0, 0.0, 0.0],
            [1.5, 1.0, 0.0, -1.0],
            [-1.0, 1.5, 1.0, 0.5],
        ];
        let gen = |rng: &mut Rng, n: usize| {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for i in 0..n {
                let c = i % 3;
                for v in centers[c] {
                    x.push(v + rng.normal());
                }
                x.extend([rng.normal(), rng.normal()]);
                y.push(c as u32);
            }
            (x, y)
        };
        let (x, y) = gen(&mut rng, 3000);
        let (xt, yt) = gen(&mut rng, 3000);
        let params = ForestParams {
            n_trees: 50,
            seed: 7,
            balanced: true,
            ..ForestParams::default()
        };
        let f = fit(&x, 6, &y, 3, &params, &pool(2), &mut Quiet).unwrap();
        let correct = xt
            .chunks_exact(6)
            .zip(&yt)
            .filter(|(r, &c)| f.predict_class(r) == c as usize)
            .count();
        let acc = correct as f64 / yt.len() as f64;
        eprintln!("three classes: holdout accuracy {acc}");
        assert!(acc > 0.7, "accuracy {acc}");
        let mut out = [0.0; 3];
        for r in xt.chunks_exact(6).take(100) {
            f.predict_proba_into(r, &mut out);
            assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-6);
            assert!((out[2] - f.proba_of(r, 2)).abs() < 1e-12);
        }
    }

    #[test]
    fn forest_respects_min_samples_leaf_and_max_depth() {
        let (x, y, _) = logistic_data(5000, 6, 8);
        for (min_leaf, max_depth) in [(7, Some(5)), (20, None), (1, Some(3))] {
            let params = ForestParams {
                n_trees: 4,
                max_depth,
                min_samples_leaf: min_leaf,
                bootstrap: false,
                max_features: MaxFeatures::Count(3),
                seed: 11,
                ..ForestParams::default()
            };
            let f = fit(&x, 6, &y, 2, &params, &pool(2), &mut Quiet).unwrap();
            for t in &f.trees {
                let shape = t.shape();
                if let Some(d) = max_depth {
                    assert!(shape.depth <= d, "{shape:?}");
                }
                // Without bootstrap the training rows reaching a leaf are the ones it was grown on.
                let sizes = leaf_rows(t, &x, 6);
                assert_eq!(sizes.len(), shape.leaves);
                assert!(sizes.iter().all(|&(_, m)| m >= min_leaf), "{sizes:?}");
                assert_eq!(sizes.iter().map(|s| s.1).sum::<usize>(), 5000);
            }
        }
        // max_depth = 1 is a stump; a depth limit is reached when not pure.
        let stump = fit(
            &x,
            6,
            &y,
            2,
            &ForestParams {
                max_depth: Some(1),
                ..single_tree()
            },
            &pool(1),
            &mut Quiet,
        )
        .unwrap();
        assert_eq!(
            stump.trees[0].shape(),
            TreeShape {
                nodes: 3,
                leaves: 2,
                depth: 1
            }
        );
    }

    /// Counts the monitor's calls and stops the fit after `stop_after` iterations.
    struct Counting {
        ticks: usize,
        iterations: Vec<usize>,
        stop_after: usize,
    }
    impl Monitor for Counting {
        fn tick(&mut self) -> Result<()> {
            self.ticks += 1;
            Ok(())
        }
        fn iteration(&mut self, i: usize, _loss: Option<f64>) -> Result<()> {
            self.iterations.push(i);
            if self.iterations.len() >= self.stop_after {
                return Err(Error::invalid("cancelled"));
            }
            Ok(())
        }
    }

    /// The default parameters with `n` trees.
    fn trees(n: usize) -> ForestParams {
        ForestParams {
            n_trees: n,
            ..ForestParams::default()
        }
    }

    #[test]
    fn forest_monitor_sees_batches_and_can_stop() {
        let (x, y, _) = logistic_data(500, 4, 13);
        let params = trees(20);
        let one = pool(1);
        let counting = |stop_after| Counting {
            ticks: 0,
            iterations: vec![],
            stop_after,
        };
        let mut m = counting(usize::MAX);
        fit(&x, 4, &y, 2, &params, &one, &mut m).unwrap();
        assert_eq!(m.iterations, vec![8, 16, 20]);
        assert_eq!(m.ticks, 4);
        let mut m = counting(1);
        let err = fit(&x, 4, &y, 2, &params, &one, &mut m).unwrap_err();
        assert_eq!(err.message, "cancelled");
    }

    #[test]
    fn forest_postcard_round_trip() {
        let (x, y, _) = logistic_data(2000, 5, 12);
        let params = trees(10);
        let f = fit(&x, 5, &y, 2, &params, &pool(2), &mut Quiet).unwrap();
        let bytes = postcard::to_allocvec(&f).unwrap();
        let g: Forest = postcard::from_bytes(&bytes).unwrap();
        g.validate().unwrap();
        assert_eq!(g.importance, f.importance);
        for r in x.chunks_exact(5) {
            assert_eq!(f.proba_of(r, 1).to_bits(), g.proba_of(r, 1).to_bits());
            assert_eq!(f.predict_class(r), g.predict_class(r));
        }
    }

    #[test]
    fn forest_rejects_bad_input() {
        let p1 = pool(1);
        let d = ForestParams::default();
        let run = |x: &[f64], p: usize, y: &[u32], k: usize, params: &ForestParams| {
            fit(x, p, y, k, params, &p1, &mut Quiet).unwrap_err().kind
        };
        use crate::error::ErrorKind::*;
        let x = [0.0, 1.0, 2.0, 3.0];
        assert_eq!(run(&[], 2, &[], 2, &d), DataException);
        assert_eq!(run(&x, 0, &[0, 1], 2, &d), InvalidParameter);
        assert_eq!(run(&x, 2, &[0, 2], 2, &d), InvalidParameter);
        assert_eq!(run(&x, 2, &[0, 1, 1], 2, &d), InvalidParameter);
        assert_eq!(run(&x, 2, &[0, 0], 1, &d), InvalidParameter);
        assert_eq!(run(&x, 2, &[1, 1], 2, &d), DataException);
        assert_eq!(run(&[0.0, f64::NAN], 1, &[0, 1], 2, &d), InvalidParameter);
        let zero = ForestParams {
            n_trees: 0,
            ..d.clone()
        };
        assert_eq!(run(&x, 2, &[0, 1], 2, &zero), InvalidParameter);
        let many = ForestParams {
            max_features: MaxFeatures::Count(3),
            ..d.clone()
        };
        assert_eq!(run(&x, 2, &[0, 1], 2, &many), InvalidParameter);
        // Constant features: no split anywhere, uniform importance, base-rate probabilities.
        let f = fit(&[1.0; 4], 2, &[0, 1], 2, &d, &p1, &mut Quiet).unwrap();
        assert_eq!(f.importance, vec![0.5, 0.5]);
    }

    #[test]
    fn forest_cut_points() {
        assert_eq!(cut_points(&[1.0, 1.0, 2.0, 4.0], 255), vec![1.5, 3.0]);
        let v: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let c = cut_points(&v, 10);
        assert_eq!(c.len(), 9);
        assert_eq!(c[0], 99.5);
        // A heavy value takes its own bin.
        let mut v = vec![0.0; 900];
        v.extend((1..=100).map(|i| i as f64));
        let c = cut_points(&v, 10);
        assert_eq!(c[0], 0.5);
        assert!(c.len() <= 9);
        assert_eq!(midpoint(1.0, 1.0 + f64::EPSILON), 1.0);
    }

    /// CPU seconds used by this process so far (Linux; 0 elsewhere), to time on a busy machine.
    fn cpu_seconds() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (tick(11) + tick(12)) / 100.0
    }

    #[test]
    #[ignore]
    fn forest_speed() {
        let p = 20;
        let n = 100_000;
        let (x, y, _) = logistic_data(n, p, 21);
        let two = pool(2);
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let f = fit(&x, p, &y, 2, &ForestParams::default(), &two, &mut Quiet).unwrap();
        let train = t0.elapsed().as_secs_f64();
        let train_cpu = cpu_seconds() - c0;
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let s: f64 = x.chunks_exact(p).map(|r| f.proba_of(r, 1)).sum();
        let predict = t0.elapsed().as_secs_f64();
        let predict_cpu = cpu_seconds() - c0;
        let shapes = f.shapes();
        let nodes = shapes.iter().map(|s| s.nodes).sum::<usize>() / shapes.len();
        let depth = shapes.iter().map(|s| s.depth).sum::<usize>() / shapes.len();
        let bytes = postcard::to_allocvec(&f).unwrap().len();
        let visits: usize = x
            .chunks_exact(p)
            .map(|r| f.trees.iter().map(|t| t.path_len(r)).sum::<usize>())
            .sum();
        println!(
            "forest_speed: train {train:.2} s wall, {train_cpu:.2} s CPU (100 trees, {n} x {p}, \
             2 threads); predict {predict:.2} s wall, {predict_cpu:.2} s CPU ({n} rows, \
             proba_of, 1 thread); mean tree {nodes} nodes, \
             mean depth {depth}, {:.0} node visits a row, model {:.1} MB, mean p {:.3}",
            visits as f64 / n as f64,
            bytes as f64 / 1e6,
            s / n as f64
        );
    }

    /// Shapley values by brute force over every subset of features, with the same
    /// path-dependent value function, for checking TreeSHAP.
    fn brute_shap(f: &Forest, covers: &[Vec<f32>], class: usize, x: &[f64]) -> Vec<f64> {
        let m = f.n_features;
        let per_node = if f.n_classes == 2 { 1 } else { f.n_classes };
        let value = |mask: u32| -> f64 {
            let known: Vec<bool> = (0..m).map(|j| mask & (1 << j) != 0).collect();
            f.trees
                .iter()
                .zip(covers)
                .map(|(t, c)| t.conditional(0, c, class, per_node, x, &known))
                .sum::<f64>()
                / f.trees.len() as f64
        };
        let fact = |n: usize| (1..=n).map(|v| v as f64).product::<f64>();
        (0..m)
            .map(|i| {
                let mut phi = 0.0;
                for mask in 0u32..(1 << m) {
                    if mask & (1 << i) != 0 {
                        continue;
                    }
                    let s = mask.count_ones() as usize;
                    let w = fact(s) * fact(m - s - 1) / fact(m);
                    phi += w * (value(mask | (1 << i)) - value(mask));
                }
                phi
            })
            .collect()
    }

    #[test]
    fn tree_shap_equals_brute_force_shapley_values() {
        // Two classes on 8 features and three classes on 6, trees of depth up to 6 (with
        // repeated features on a path), against the exact Shapley values of the same value
        // function; and local accuracy: expected value + Σ φ = the forest's probability.
        for (p, k, seed) in [(8usize, 2usize, 3u64), (6, 3, 4)] {
            let mut rng = Rng::new(seed);
            let n = 600;
            let mut x = Vec::with_capacity(n * p);
            let mut y = Vec::with_capacity(n);
            for _ in 0..n {
                let row: Vec<f64> = (0..p).map(|_| rng.normal()).collect();
                let t = row[0] + 0.8 * row[1] * row[2] - 0.5 * row[3];
                y.push(if k == 2 {
                    u32::from(t > 0.0)
                } else {
                    ((t + 1.5).clamp(0.0, 2.99)) as u32
                });
                x.extend(row);
            }
            let params = ForestParams {
                n_trees: 5,
                max_depth: Some(6),
                seed,
                ..ForestParams::default()
            };
            let f = fit(&x, p, &y, k, &params, &pool(2), &mut Quiet).unwrap();
            let covers = f.covers();
            assert!(f.covers_fit(&covers));
            for r in x.chunks_exact(p).take(20) {
                for class in 0..k {
                    let (base, phi) = f.shap(&covers, &f.shap_cache(&covers), class, r);
                    let want = brute_shap(&f, &covers, class, r);
                    for (a, b) in phi.iter().zip(&want) {
                        assert!((a - b).abs() < 1e-9, "{phi:?} {want:?}");
                    }
                    let total = base + phi.iter().sum::<f64>();
                    assert!(
                        (total - f.proba_of(r, class)).abs() < 1e-6,
                        "{total} {}",
                        f.proba_of(r, class)
                    );
                }
            }
        }
    }

    /// `n` rows of `p` uniform(0, 1) features and a target y = 10 sin(π x₀ x₁) + 20 (x₂ − ½)²
    /// + 10 x₃ + 5 x₄ + noise (Friedman #1); returns (x, y, noiseless y).
    fn friedman(n: usize, p: usize, noise: f64, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let (mut x, mut y, mut truth) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let r: Vec<f64> = (0..p).map(|_| rng.uniform(0.0, 1.0)).collect();
            let t = 10.0 * (std::f64::consts::PI * r[0] * r[1]).sin()
                + 20.0 * (r[2] - 0.5).powi(2)
                + 10.0 * r[3]
                + 5.0 * r[4];
            truth.push(t);
            y.push(t + noise * rng.normal());
            x.extend(r);
        }
        (x, y, truth)
    }

    #[test]
    fn regression_stump_is_the_least_squares_split() {
        // One depth-1 tree on all rows: its split is the threshold of least squared error
        // found by trying every one, and its leaves are the two sides' means.
        let xs: Vec<f64> = (0..40).map(|i| (i * 7 % 40) as f64).collect();
        let y: Vec<f64> = xs
            .iter()
            .map(|&v| {
                if v < 13.0 {
                    2.0 + 0.1 * v
                } else {
                    9.0 - 0.05 * v
                }
            })
            .collect();
        let params = ForestParams {
            max_depth: Some(1),
            ..single_tree()
        };
        let f = fit_regression(&xs, 1, &y, &params, &pool(1), &mut Quiet).unwrap();
        assert!(f.is_regression());
        let sse_at = |t: f64| -> (f64, f64, f64) {
            let side = |left: bool| -> Vec<f64> {
                xs.iter()
                    .zip(&y)
                    .filter(|(&v, _)| (v <= t) == left)
                    .map(|(_, &v)| v)
                    .collect()
            };
            let (l, r) = (side(true), side(false));
            let (ml, mr) = (
                l.iter().sum::<f64>() / l.len() as f64,
                r.iter().sum::<f64>() / r.len() as f64,
            );
            let sse = l.iter().map(|v| (v - ml).powi(2)).sum::<f64>()
                + r.iter().map(|v| (v - mr).powi(2)).sum::<f64>();
            (sse, ml, mr)
        };
        let best = (0..39)
            .map(|i| i as f64 + 0.5)
            .min_by(|a, b| sse_at(*a).0.total_cmp(&sse_at(*b).0))
            .unwrap();
        let (_, ml, mr) = sse_at(best);
        for &v in &xs {
            let want = if v <= best { ml } else { mr };
            assert!((f.predict_value(&[v]) - want).abs() < 1e-5, "{v}");
        }
        // A fully grown tree on distinct inputs reproduces the training targets.
        let full = fit_regression(&xs, 1, &y, &single_tree(), &pool(1), &mut Quiet).unwrap();
        for (&v, &t) in xs.iter().zip(&y) {
            assert!((full.predict_value(&[v]) - t).abs() < 1e-5);
        }
    }

    #[test]
    fn regression_forest_learns_friedman_and_is_thread_independent() {
        let p = 8;
        let (x, y, _) = friedman(3000, p, 1.0, 5);
        let (xt, _, truth) = friedman(1000, p, 0.0, 6);
        let params = ForestParams {
            n_trees: 60,
            max_features: MaxFeatures::All,
            seed: 9,
            ..ForestParams::default()
        };
        let a = fit_regression(&x, p, &y, &params, &pool(1), &mut Quiet).unwrap();
        let b = fit_regression(&x, p, &y, &params, &pool(2), &mut Quiet).unwrap();
        assert_eq!(a.trees, b.trees);
        let pred: Vec<f64> = xt.chunks_exact(p).map(|r| a.predict_value(r)).collect();
        let mean = truth.iter().sum::<f64>() / truth.len() as f64;
        let sst: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
        let sse: f64 = pred.iter().zip(&truth).map(|(p, t)| (p - t).powi(2)).sum();
        // A forest explains most of the noiseless signal (scikit-learn's gets r² ≈ 0.87 here).
        assert!(1.0 - sse / sst > 0.8, "r2 {}", 1.0 - sse / sst);
        // The noise features 5..8 matter least.
        let noise: f64 = a.importance[5..].iter().sum();
        assert!(noise < 0.1, "{:?}", a.importance);
        // TreeSHAP of a regression forest: expected value + contributions = prediction.
        let covers = a.covers();
        let cache = a.shap_cache(&covers);
        for r in xt.chunks_exact(p).take(5) {
            let (base, phi) = a.shap(&covers, &cache, 1, r);
            let total = base + phi.iter().sum::<f64>();
            assert!((total - a.predict_value(r)).abs() < 1e-4);
        }
        // Bad targets.
        let mut bad = y.clone();
        bad[3] = f64::NAN;
        let err = fit_regression(&x, p, &bad, &params, &pool(1), &mut Quiet).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::InvalidParameter);
    }

    /// Scoring speed of a fully grown 100-tree forest (no assertion):
    /// `cargo test -p shopml-core --release forest_scoring_timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn forest_scoring_timing() {
        let (n, p) = (100_000, 20);
        let mut rng = Rng::new(5);
        let x: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
        let y: Vec<u32> = x
            .chunks(p)
            .map(|r| u32::from(r[0] + r[1] * r[2] + rng.normal() > 0.0))
            .collect();
        let f = fit(&x, p, &y, 2, &ForestParams::default(), &pool(2), &mut Quiet).unwrap();
        let t = std::time::Instant::now();
        let by_row: Vec<f64> = x.chunks(p).map(|r| f.proba_of(r, 1)).collect();
        let t_row = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let mut block = vec![0.0; n];
        f.mean_leaf_values(&x, 1, 0, &mut block);
        let t_block = t.elapsed().as_secs_f64();
        assert_eq!(by_row, block);
        let nodes: usize = f.shapes().iter().map(|s| s.nodes).sum();
        let per = |s: f64| s * 1e9 / (n as f64 * f.trees.len() as f64);
        eprintln!(
            "{nodes} nodes; one thread: by row {:.1} ns per tree per row, by block {:.1} ns",
            per(t_row),
            per(t_block)
        );
    }
}
