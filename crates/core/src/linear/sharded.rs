//! Logistic regression from partial sums, for tables split across servers: what each shard
//! computes over its rows — the objective, gradient and Hessian at a point, or the counts
//! behind the metrics — how those add up, and the model and metrics computed from the sums
//! alone. The iterations are [`newton_iterations`], the same as for rows in memory, so the
//! answer is the same optimum.

use serde::{Deserialize, Serialize};

use crate::linear::logistic::{row_terms, BlockSums, Weights};
use crate::linear::regression::LinearStats;
use crate::math::sigmoid;
use crate::metrics::classification::ClassMetrics;

/// Centre and scale of each prepared input over the training rows (population moments; a
/// constant column keeps scale 1), as the in-memory fit standardises.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Scaling {
    pub center: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Scaling {
    /// From the moments of the training rows (`stats` over the prepared inputs).
    pub fn of(stats: &LinearStats, standardized: bool) -> Scaling {
        let p = stats.n_features();
        if standardized {
            return Scaling {
                center: vec![0.0; p],
                scale: vec![1.0; p],
            };
        }
        let n = stats.n().max(1) as f64;
        Scaling {
            center: (0..p).map(|j| stats.mean(j)).collect(),
            scale: (0..p)
                .map(|j| {
                    let v = stats.comoment(j, j) / n;
                    if v > 0.0 {
                        v.sqrt()
                    } else {
                        1.0
                    }
                })
                .collect(),
        }
    }
}

impl Scaling {
    /// Re-expresses a point `beta` (intercept first, in the coordinates of `self`) and the
    /// sums at it (objective, gradient, full Hessian) in the coordinates of `to`. The linear
    /// score of every row is unchanged, so the objective is too: sums taken in one scaling
    /// (e.g. a subsample's) serve a Newton step in another (the full data's).
    pub fn reexpress(&self, to: &Scaling, beta: &[f64], sums: BlockSums) -> (Vec<f64>, BlockSums) {
        let d = beta.len();
        // self's inputs are z'_j = a_j + b_j z_j in terms of to's inputs z_j.
        let (a, b): (Vec<f64>, Vec<f64>) = (0..d - 1)
            .map(|j| {
                let (s, t) = (self.scale[j], to.scale[j]);
                ((to.center[j] - self.center[j]) / s, t / s)
            })
            .unzip();
        let mut point = vec![0.0; d];
        point[0] = beta[0];
        for j in 1..d {
            point[0] += beta[j] * a[j - 1];
            point[j] = beta[j] * b[j - 1];
        }
        let (f, g1, h1) = sums;
        // z = C z' with C = [[1, 0], [-a/b, diag(1/b)]]: g = C g', H = C H' Cᵀ.
        let row = |v: &[f64], j: usize| -> f64 {
            if j == 0 {
                v[0]
            } else {
                (v[j] - a[j - 1] * v[0]) / b[j - 1]
            }
        };
        let g: Vec<f64> = (0..d).map(|j| row(&g1, j)).collect();
        let mut m = vec![0.0; d * d];
        for c in 0..d {
            let col: Vec<f64> = (0..d).map(|k| h1[k * d + c]).collect();
            for r in 0..d {
                m[r * d + c] = row(&col, r);
            }
        }
        let mut h = vec![0.0; d * d];
        for r in 0..d {
            let rw = &m[r * d..(r + 1) * d];
            for c in 0..d {
                h[r * d + c] = row(rw, c);
            }
        }
        (point, (f, g, h))
    }
}

/// Rows whose Hessian terms [`StepSums`] buffers before adding them to its triangle: a
/// rank-`BLOCK` update reads and writes the triangle once per block instead of once per row.
const BLOCK: usize = 16;

/// Objective, gradient and the Hessian's upper triangle at one point, over some rows.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "StepWire", from = "StepWire")]
pub struct StepSums {
    pub f: f64,
    pub g: Vec<f64>,
    /// Row-major upper triangle (a ≤ c) of the d × d Hessian, without the buffered rows.
    h: Vec<f64>,
    pub n: u64,
    z: Vec<f64>,
    /// 1 / scale of the scaling rows are added with (divisions are slow).
    inv: Vec<f64>,
    /// The buffered rows' standardised inputs, row-major (`block[i * d + a]`), and their
    /// Hessian weights.
    block: Vec<f64>,
    wts: Vec<f64>,
    pending: usize,
}

/// What a [`StepSums`] ships: the sums with the buffered rows added.
#[derive(Serialize, Deserialize)]
struct StepWire {
    f: f64,
    g: Vec<f64>,
    h: Vec<f64>,
    n: u64,
}

impl From<StepSums> for StepWire {
    fn from(s: StepSums) -> StepWire {
        let h = s.hessian().into_owned();
        StepWire {
            f: s.f,
            g: s.g,
            h,
            n: s.n,
        }
    }
}

impl From<StepWire> for StepSums {
    fn from(w: StepWire) -> StepSums {
        StepSums {
            f: w.f,
            g: w.g,
            h: w.h,
            n: w.n,
            ..StepSums::new(0)
        }
    }
}

impl StepSums {
    pub fn new(d: usize) -> StepSums {
        StepSums {
            f: 0.0,
            g: vec![0.0; d],
            h: vec![0.0; d * (d + 1) / 2],
            n: 0,
            z: Vec::new(),
            inv: Vec::new(),
            block: Vec::new(),
            wts: Vec::new(),
            pending: 0,
        }
    }

    /// Adds a row of prepared inputs `x` with label `y` at coefficients `beta` (intercept
    /// first, for the standardised inputs); returns the row's linear score.
    #[inline]
    pub fn add(&mut self, x: &[f64], y: f64, beta: &[f64], scaling: &Scaling, w: Weights) -> f64 {
        let d = beta.len();
        if self.inv.len() != scaling.scale.len() {
            self.inv = scaling.scale.iter().map(|s| 1.0 / s).collect();
        }
        if self.block.len() != d * BLOCK {
            self.flush();
            self.block = vec![0.0; d * BLOCK];
            self.wts = vec![0.0; BLOCK];
        }
        self.z.clear();
        self.z.push(1.0);
        for ((v, c), s) in x.iter().zip(&scaling.center).zip(&self.inv) {
            self.z.push((v - c) * s);
        }
        let t: f64 = self.z.iter().zip(beta).map(|(a, b)| a * b).sum();
        let (loss, res, wt) = row_terms(t, y, w);
        self.f += loss;
        self.n += 1;
        let i = self.pending;
        for (g, za) in self.g.iter_mut().zip(&self.z) {
            *g += res * za;
        }
        self.block[i * d..(i + 1) * d].copy_from_slice(&self.z);
        self.wts[i] = wt;
        self.pending += 1;
        if self.pending == BLOCK {
            self.flush();
        }
        t
    }

    /// Adds the buffered rows' Hessian terms to `h`.
    fn add_block(&self, h: &mut [f64]) {
        let (d, m) = (self.g.len(), self.pending);
        if m == 0 {
            return;
        }
        // Row a of the triangle gains Σ_i w_i z_ia z_i[a..]: rank-1 updates of a short
        // accumulator, independent across its entries (so they vectorise), then one add.
        let mut acc = vec![0.0; d];
        let mut rest = h;
        for a in 0..d {
            let acc = &mut acc[a..];
            acc.iter_mut().for_each(|v| *v = 0.0);
            for (z, w) in self.block.chunks_exact(d).take(m).zip(&self.wts) {
                let wa = w * z[a];
                for (o, zc) in acc.iter_mut().zip(&z[a..]) {
                    *o += wa * zc;
                }
            }
            let (row, tail) = rest.split_at_mut(d - a);
            for (hv, v) in row.iter_mut().zip(acc.iter()) {
                *hv += v;
            }
            rest = tail;
        }
    }

    fn flush(&mut self) {
        let mut h = std::mem::take(&mut self.h);
        self.add_block(&mut h);
        self.h = h;
        self.pending = 0;
    }

    /// The Hessian's upper triangle with the buffered rows.
    fn hessian(&self) -> std::borrow::Cow<'_, [f64]> {
        if self.pending == 0 {
            return std::borrow::Cow::Borrowed(&self.h);
        }
        let mut h = self.h.clone();
        self.add_block(&mut h);
        std::borrow::Cow::Owned(h)
    }

    pub fn merge(&mut self, other: &StepSums) {
        self.f += other.f;
        self.n += other.n;
        for (a, b) in self.g.iter_mut().zip(&other.g) {
            *a += b;
        }
        for (a, b) in self.h.iter_mut().zip(other.hessian().iter()) {
            *a += b;
        }
    }

    /// (objective, gradient, full Hessian), as [`newton_iterations`] takes them.
    pub fn sums(&self) -> BlockSums {
        let d = self.g.len();
        let tri = self.hessian();
        let mut h = vec![0.0; d * d];
        let mut k = 0;
        for a in 0..d {
            for c in a..d {
                h[a * d + c] = tri[k];
                h[c * d + a] = tri[k];
                k += 1;
            }
        }
        (self.f, self.g.clone(), h)
    }
}

/// Bins of the predicted probability kept for the AUC and the calibration error.
pub const METRIC_BINS: usize = 1024;

/// What the metrics of a probabilistic classifier need from some rows, in sums: exact counts
/// and log-loss, and a histogram of the probability per class (the AUC and calibration from
/// it are within about 1/METRIC_BINS of the exact ones).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EvalSums {
    pub n: u64,
    pub loss: f64,
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    pub fn_: u64,
    /// Per bin: rows of class 0, rows of class 1, sum of their probabilities.
    pub neg: Vec<u64>,
    pub pos: Vec<u64>,
    pub prob: Vec<f64>,
}

impl Default for EvalSums {
    fn default() -> Self {
        EvalSums {
            n: 0,
            loss: 0.0,
            tp: 0,
            fp: 0,
            tn: 0,
            fn_: 0,
            neg: vec![0; METRIC_BINS],
            pos: vec![0; METRIC_BINS],
            prob: vec![0.0; METRIC_BINS],
        }
    }
}

impl EvalSums {
    /// Adds a row whose linear score is `t` and label `y`.
    pub fn add(&mut self, t: f64, y: f64, threshold: f64) {
        let p = sigmoid(t);
        let q = p.clamp(1e-15, 1.0 - 1e-15);
        // One logarithm: the other term of −(y·ln q + (1 − y)·ln(1 − q)) is 0 for y in {0, 1}.
        self.loss -= if y > 0.5 { q.ln() } else { (1.0 - q).ln() };
        self.n += 1;
        let b = ((p * METRIC_BINS as f64) as usize).min(METRIC_BINS - 1);
        self.prob[b] += p;
        match (p >= threshold, y > 0.5) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, false) => self.tn += 1,
            (false, true) => self.fn_ += 1,
        }
        if y > 0.5 {
            self.pos[b] += 1;
        } else {
            self.neg[b] += 1;
        }
    }

    pub fn merge(&mut self, o: &EvalSums) {
        self.n += o.n;
        self.loss += o.loss;
        self.tp += o.tp;
        self.fp += o.fp;
        self.tn += o.tn;
        self.fn_ += o.fn_;
        for b in 0..METRIC_BINS {
            self.neg[b] += o.neg[b];
            self.pos[b] += o.pos[b];
            self.prob[b] += o.prob[b];
        }
    }

    /// The metrics: log-loss, accuracy, precision, recall and F1 exact; the AUC with rows of
    /// one bin counted as ties; the calibration error over ten bins of about equal counts made
    /// of whole histogram bins.
    pub fn metrics(&self) -> ClassMetrics {
        if self.n == 0 {
            return ClassMetrics::default();
        }
        let n = self.n as f64;
        let (tp, fp, tn, fn_) = (
            self.tp as f64,
            self.fp as f64,
            self.tn as f64,
            self.fn_ as f64,
        );
        let (pos, neg) = (tp + fn_, fp + tn);
        let mut below = 0.0;
        let mut wins = 0.0;
        for b in 0..METRIC_BINS {
            let (nb, pb) = (self.neg[b] as f64, self.pos[b] as f64);
            wins += pb * (below + nb / 2.0);
            below += nb;
        }
        let auc = if pos > 0.0 && neg > 0.0 {
            wins / (pos * neg)
        } else {
            f64::NAN
        };
        let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        let recall = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        let mut ece = 0.0;
        let (mut count, mut sum_p, mut sum_y, mut seen, mut decile) = (0.0, 0.0, 0.0, 0.0, 1.0);
        for b in 0..METRIC_BINS {
            let c = (self.neg[b] + self.pos[b]) as f64;
            count += c;
            sum_p += self.prob[b];
            sum_y += self.pos[b] as f64;
            seen += c;
            if (seen >= decile * n / 10.0 || b == METRIC_BINS - 1) && count > 0.0 {
                ece += (sum_p / count - sum_y / count).abs() * count / n;
                (count, sum_p, sum_y) = (0.0, 0.0, 0.0);
                while decile * n / 10.0 <= seen && decile < 10.0 {
                    decile += 1.0;
                }
            }
        }
        ClassMetrics {
            n: self.n as usize,
            auc,
            log_loss: self.loss / n,
            accuracy: (tp + tn) / n,
            precision,
            recall,
            f1,
            calibration_error: ece,
        }
    }
}

/// Per input column: the standard deviation of its contribution to the score over the rows
/// whose moments `stats` holds (the prepared inputs' comoments), normalised to sum to 1 — the
/// in-memory trainer's importance, from moments instead of rows. `dense` are the coefficients
/// of the prepared inputs in their own units and `sources` each one's input column.
pub fn importance(
    stats: &LinearStats,
    dense: &[f64],
    sources: &[usize],
    n_inputs: usize,
) -> Vec<f64> {
    let n = stats.n().max(1) as f64;
    let mut var = vec![0.0; n_inputs];
    for a in 0..dense.len() {
        for b in 0..dense.len() {
            if sources[a] == sources[b] {
                var[sources[a]] += dense[a] * dense[b] * stats.comoment(a, b) / n;
            }
        }
    }
    let sd: Vec<f64> = var.iter().map(|v| v.max(0.0).sqrt()).collect();
    let total: f64 = sd.iter().sum();
    sd.iter()
        .map(|v| {
            if total > 0.0 {
                v / total
            } else {
                1.0 / n_inputs.max(1) as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::classification::class_metrics;
    use crate::rng::Rng;

    #[test]
    fn histogram_metrics_match_the_exact_ones() {
        let mut rng = Rng::new(7);
        let (mut probs, mut ys, mut sums) = (Vec::new(), Vec::new(), EvalSums::default());
        let mut half = EvalSums::default();
        for i in 0..50_000 {
            let t = 3.0 * rng.normal();
            let y = if rng.uniform(0.0, 1.0) < sigmoid(0.8 * t) {
                1.0
            } else {
                0.0
            };
            probs.push(sigmoid(t));
            ys.push(y);
            if i % 2 == 0 {
                sums.add(t, y, 0.5);
            } else {
                half.add(t, y, 0.5);
            }
        }
        sums.merge(&half);
        let exact = class_metrics(&probs, &ys, 0.5);
        let got = sums.metrics();
        assert_eq!(got.n, exact.n);
        assert!((got.log_loss - exact.log_loss).abs() < 1e-9);
        assert_eq!(got.accuracy, exact.accuracy);
        assert_eq!(got.f1, exact.f1);
        assert!(
            (got.auc - exact.auc).abs() < 1e-3,
            "{} {}",
            got.auc,
            exact.auc
        );
        assert!((got.calibration_error - exact.calibration_error).abs() < 5e-3);
    }

    #[test]
    fn step_sums_are_the_full_hessian() {
        let scaling = Scaling {
            center: vec![1.0, -2.0],
            scale: vec![2.0, 0.5],
        };
        let beta = [0.1, 0.4, -0.3];
        let mut s = StepSums::new(3);
        let rows = [[1.0, -1.5, 1.0], [3.0, -2.5, 0.0], [0.0, -2.0, 1.0]];
        for r in &rows {
            s.add(&r[..2], r[2], &beta, &scaling, None);
        }
        let (f, g, h) = s.sums();
        let (mut f2, mut g2, mut h2) = (0.0, vec![0.0; 3], vec![0.0; 9]);
        for r in &rows {
            let z = [1.0, (r[0] - 1.0) / 2.0, (r[1] + 2.0) / 0.5];
            let t: f64 = z.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let p = sigmoid(t);
            f2 += -(r[2] * p.ln() + (1.0 - r[2]) * (1.0 - p).ln());
            for a in 0..3 {
                g2[a] += (r[2] - p) * z[a];
                for c in 0..3 {
                    h2[a * 3 + c] += p * (1.0 - p) * z[a] * z[c];
                }
            }
        }
        assert!((f - f2).abs() < 1e-12);
        for (a, b) in g.iter().zip(&g2).chain(h.iter().zip(&h2)) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn sums_reexpressed_in_another_scaling_are_the_sums_there() {
        let mut rng = Rng::new(7);
        let from = Scaling {
            center: vec![1.0, -2.0, 30.0],
            scale: vec![2.0, 0.5, 10.0],
        };
        let to = Scaling {
            center: vec![1.3, -1.8, 31.0],
            scale: vec![2.2, 0.45, 12.0],
        };
        let beta = [0.2, 0.4, -0.3, 0.7];
        let (mut a, mut b) = (StepSums::new(4), StepSums::new(4));
        let rows: Vec<[f64; 4]> = (0..200)
            .map(|_| {
                let x = [
                    1.0 + 2.0 * rng.normal(),
                    -2.0 + 0.5 * rng.normal(),
                    30.0 + 10.0 * rng.normal(),
                ];
                [x[0], x[1], x[2], f64::from(rng.uniform(0.0, 1.0) < 0.4)]
            })
            .collect();
        for r in &rows {
            a.add(&r[..3], r[3], &beta, &from, None);
        }
        let (point, (f, g, h)) = from.reexpress(&to, &beta, a.sums());
        for r in &rows {
            b.add(&r[..3], r[3], &point, &to, None);
        }
        let (f2, g2, h2) = b.sums();
        assert!((f - f2).abs() < 1e-9 * f2.abs());
        for (x, y) in g.iter().zip(&g2).chain(h.iter().zip(&h2)) {
            assert!((x - y).abs() < 1e-9 * (1.0 + y.abs()), "{x} {y}");
        }
    }

    #[test]
    fn buffered_rows_count_in_merges_and_shipped_states() {
        let scaling = Scaling {
            center: vec![0.5, 1.0],
            scale: vec![0.25, 2.0],
        };
        let beta = [0.3, -0.2, 0.1];
        let rows: Vec<[f64; 3]> = (0..37)
            .map(|i| {
                [
                    (i % 5) as f64 / 4.0,
                    (i % 7) as f64 - 2.0,
                    f64::from(i % 3 == 0),
                ]
            })
            .collect();
        let mut whole = StepSums::new(3);
        let (mut left, mut right) = (StepSums::new(3), StepSums::new(3));
        for (i, r) in rows.iter().enumerate() {
            whole.add(&r[..2], r[2], &beta, &scaling, None);
            let part = if i < 20 { &mut left } else { &mut right };
            part.add(&r[..2], r[2], &beta, &scaling, None);
        }
        // Both halves hold buffered rows (20 = 16 + 4, 17 = 16 + 1); one travels as bytes.
        let shipped: StepSums =
            postcard::from_bytes(&postcard::to_allocvec(&right).unwrap()).unwrap();
        left.merge(&shipped);
        let (f, g, h) = whole.sums();
        let (f2, g2, h2) = left.sums();
        assert!((f - f2).abs() < 1e-12 && left.n == 37);
        for (a, b) in g.iter().zip(&g2).chain(h.iter().zip(&h2)) {
            assert!((a - b).abs() < 1e-12, "{a} {b}");
        }
        // And the rows one by one, as the formula has it.
        let mut h3 = [0.0; 9];
        for r in &rows {
            let z = [1.0, (r[0] - 0.5) / 0.25, (r[1] - 1.0) / 2.0];
            let p = sigmoid(z.iter().zip(&beta).map(|(a, b)| a * b).sum());
            for a in 0..3 {
                for c in 0..3 {
                    h3[a * 3 + c] += p * (1.0 - p) * z[a] * z[c];
                }
            }
        }
        for (a, b) in h.iter().zip(&h3) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
