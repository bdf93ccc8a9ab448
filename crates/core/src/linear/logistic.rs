//! Binary logistic regression with an L2 penalty, fitted by Newton's method, and the metrics
//! of a probabilistic classifier (AUC, log-loss, accuracy, precision, recall, F1, calibration).
//!
//! Features are standardised for the fit (so the penalty treats them alike and Newton is well
//! conditioned); coefficients are reported in both scales. The objective is
//! Σ wᵢ·logloss(yᵢ, σ(zᵢ·β)) + ½·l2·‖β‖² (the intercept is not penalised), which with
//! `l2 = 1/C` is scikit-learn's LogisticRegression on standardised features.

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::data::prep::{Cell, Encoding, Prep, PrepOptions, RawTable};
use crate::error::{Error, Result};
use crate::linear::owlqn::SparseParams;
use crate::math::csr::Csr;
use crate::math::linalg::Spd;
use crate::math::moments::standardize;
use crate::math::sigmoid;
use crate::metrics::classification::{class_metrics, ClassMetrics};
use crate::model::{self, ensure, Answer, Explanation, Model, Row, Want};
use crate::monitor::Monitor;
use crate::options::{pipeline, prep_options, Pipeline};

/// Logistic models in the registry (format 1 and 2 bodies are the same; 3 adds `means`).
pub use crate::model::LOGISTIC as KIND;

impl Model for LogisticModel {
    fn validate(&self) -> Result<()> {
        ensure(
            &KIND,
            self.dense.len() == self.prep.dense_width,
            "coefficients of the wrong length",
        )?;
        let buckets = self.prep.hash_buckets as u64;
        ensure(
            &KIND,
            self.hashed.windows(2).all(|w| w[0].0 < w[1].0)
                && self.hashed.iter().all(|(b, _)| u64::from(*b) < buckets),
            "hashed coefficients out of order or range",
        )?;
        ensure(
            &KIND,
            self.importance.len() == self.prep.inputs.len(),
            "importances of the wrong length",
        )?;
        ensure(
            &KIND,
            self.means.is_empty() || self.means.len() == self.prep.dense_width,
            "means of the wrong length",
        )?;
        ensure(
            &KIND,
            self.std_errors.is_empty() || self.std_errors.len() == self.prep.dense_width + 1,
            "standard errors of the wrong length",
        )?;
        let d = self.prep.dense_width + 1;
        ensure(
            &KIND,
            self.curvature.is_empty() || self.curvature.len() == d * d,
            "a curvature of the wrong size",
        )
    }

    fn prep(&self) -> Option<&Prep> {
        Some(&self.prep)
    }

    fn class_probabilities(&self, _model_name: &str, row: &Row) -> Result<Vec<f64>> {
        let p = sigmoid(self.score_prepared(row.dense, row.hashed));
        Ok(vec![1.0 - p, p])
    }

    fn class_labels(&self) -> &[String] {
        &self.labels
    }

    fn predict(&self, _model_name: &str, row: &Row, want: Want) -> Result<Answer<'_>> {
        let p = sigmoid(self.score_prepared(row.dense, row.hashed));
        let class = usize::from(p >= self.threshold);
        Ok(match want {
            Want::Probability => Answer::Number(p),
            // A numeric label is its number (0/1, or e.g. 1/2); others (booleans, text) the
            // class: 1 for the last label.
            Want::Value => Answer::Number(
                self.labels[class]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .unwrap_or(class as f64),
            ),
            Want::Label => Answer::Text(self.labels[class].as_str().into()),
        })
    }

    fn importance(&self) -> Option<Vec<(String, f64)>> {
        Some(model::per_input(&self.prep, &self.importance))
    }

    fn memory_bytes(&self) -> usize {
        self.prep.memory_bytes()
            + 8 * (self.dense.len() + self.means.len())
            + 16 * self.hashed.len()
            + 256
    }

    fn explain(
        &self,
        _model_name: &str,
        cells: &[Cell],
        _group: Option<Option<&str>>,
    ) -> Result<Option<Explanation>> {
        Ok(model::linear_explanation(
            &self.prep,
            cells,
            self.intercept,
            &self.dense,
            &self.means,
            |b| self.hashed_coef(b),
            "log-odds",
        ))
    }
}

#[derive(Clone, Debug)]
pub struct LogisticParams {
    pub l2: f64,
    /// Weight classes inversely to their frequency (scikit-learn's class_weight='balanced').
    pub balanced: bool,
    pub max_iter: usize,
    /// The columns are already z-scores (the preparation standardised every input), so the
    /// fit skips its own standardisation passes.
    pub standardized: bool,
}

/// The result of the dense Newton fit (coefficients for standardised inputs).
#[derive(Clone, Debug)]
pub struct DenseFit {
    pub center: Vec<f64>,
    pub scale: Vec<f64>,
    /// Intercept then one coefficient per standardised feature.
    pub beta: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
    /// The penalised Hessian of the objective at `beta` (d × d): the Fisher information.
    pub hessian: Vec<f64>,
}

/// What [`newton_iterations`] returns.
#[derive(Clone, Debug)]
pub struct NewtonFit {
    pub beta: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
    /// The penalised Hessian at `beta` (d × d, standardised coordinates).
    pub hessian: Vec<f64>,
}

const CHUNK: usize = 8192;

impl DenseFit {
    /// Coefficients for the original (unstandardised) features, intercept first.
    pub fn original_coefficients(&self) -> Vec<f64> {
        let mut out = vec![self.beta[0]];
        for j in 0..self.center.len() {
            let b = self.beta[j + 1] / self.scale[j];
            out[0] -= b * self.center[j];
            out.push(b);
        }
        out
    }

    /// Standard errors of [`DenseFit::original_coefficients`] (intercept first) from the
    /// inverse of the penalised Fisher information, mapped to the original units; empty when
    /// it does not factor or has more than `MAX_SE_WIDTH` coefficients.
    pub fn original_std_errors(&self) -> Vec<f64> {
        std_errors_of(&self.original_curvature(), self.beta.len())
    }

    /// The penalised Hessian in the coordinates of [`DenseFit::original_coefficients`]
    /// (d × d): H_o = T⁻ᵀ H T⁻¹ for β_o = T β, where T⁻¹ maps β_o back (β_0 = β_o0 + Σ c_j β_oj,
    /// β_j = s_j β_oj). Empty when the fit has no Hessian.
    pub fn original_curvature(&self) -> Vec<f64> {
        let d = self.beta.len();
        if self.hessian.len() != d * d {
            return Vec::new();
        }
        let h = &self.hessian;
        // Column b of T⁻¹: e_0 for b = 0, c_j e_0 + s_j e_j for b = j.
        let apply = |v: &dyn Fn(usize) -> f64, b: usize| -> f64 {
            if b == 0 {
                v(0)
            } else {
                self.center[b - 1] * v(0) + self.scale[b - 1] * v(b)
            }
        };
        let mut m = vec![0.0; d * d];
        for a in 0..d {
            for b in 0..d {
                m[a * d + b] = apply(&|k| h[a * d + k], b);
            }
        }
        let mut out = vec![0.0; d * d];
        for a in 0..d {
            for b in 0..d {
                out[a * d + b] = apply(&|k| m[k * d + b], a);
            }
        }
        out
    }

    /// |standardised coefficient| of each feature, normalised to sum to 1.
    pub fn importance(&self) -> Vec<f64> {
        let a: Vec<f64> = self.beta[1..].iter().map(|b| b.abs()).collect();
        let s: f64 = a.iter().sum();
        a.iter()
            .map(|v| if s > 0.0 { v / s } else { 0.0 })
            .collect()
    }
}

/// Fits on rows `x` (row-major, `p` values each, all finite) with labels `y` in {0, 1}. `x` is
/// standardised in place for the fit and restored before returning.
pub fn fit(
    x: &mut [f64],
    y: &[f64],
    p: usize,
    params: &LogisticParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<DenseFit> {
    let n = y.len();
    let positives = y.iter().filter(|&&v| v > 0.5).count();
    if positives == 0 || positives == n {
        return Err(Error::data(format!(
            "the target has only one class in the {n} training rows"
        )));
    }
    let (center, scale) = if params.standardized {
        (vec![0.0; p], vec![1.0; p])
    } else {
        standardize(x, p)
    };
    let result = newton(x, y, positives, params, pool, monitor);
    // Back to the caller's units (also when the fit failed).
    if !params.standardized {
        for r in x.chunks_exact_mut(p.max(1)) {
            for ((v, c), s) in r.iter_mut().zip(&center).zip(&scale) {
                *v = *v * s + c;
            }
        }
    }
    let fit = result?;
    Ok(DenseFit {
        center,
        scale,
        beta: fit.beta,
        iterations: fit.iterations,
        converged: fit.converged,
        hessian: fit.hessian,
    })
}

/// One row's weighted loss, gradient residual and Hessian weight at linear score `t`.
#[inline(always)]
pub(crate) fn row_terms(t: f64, y: f64, w: Option<(f64, f64)>) -> (f64, f64, f64) {
    let wk = match w {
        Some((w0, w1)) => {
            if y > 0.5 {
                w1
            } else {
                w0
            }
        }
        None => 1.0,
    };
    // One exponential for both the loss and the probability.
    let e = (-t.abs()).exp();
    // ln(1 + e) with e in (0, 1]: plain ln is exact enough here and faster than ln_1p.
    let loss = wk * (t.max(0.0) + (1.0 + e).ln() - y * t);
    let mu = if t >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    (loss, wk * (y - mu), wk * mu * (1.0 - mu))
}

/// What one block of rows sums to: objective, gradient, Hessian.
pub type BlockSums = (f64, Vec<f64>, Vec<f64>);
/// Class weights (of the negatives, of the positives), or None for unweighted.
pub type Weights = Option<(f64, f64)>;

/// Objective, gradient and Hessian of one block of rows (targets `y`), for `D` − 1
/// features known at compile time (so the loops unroll and vectorise). The Hessian is the
/// full D × D matrix.
fn block_fixed<const D: usize>(block: &[f64], y: &[f64], w: Weights, beta: &[f64]) -> BlockSums {
    let p = D - 1;
    let mut b = [0.0; D];
    b.copy_from_slice(beta);
    let mut g = [0.0; D];
    let mut h = [[0.0; D]; D];
    let mut f = 0.0;
    for (r, &yk) in block.chunks_exact(p).zip(y) {
        let mut z = [1.0; D];
        z[1..].copy_from_slice(r);
        let mut t = 0.0;
        for a in 0..D {
            t += z[a] * b[a];
        }
        let (loss, res, wt) = row_terms(t, yk, w);
        f += loss;
        for a in 0..D {
            g[a] += res * z[a];
            let wa = wt * z[a];
            for c in 0..D {
                h[a][c] += wa * z[c];
            }
        }
    }
    (f, g.to_vec(), h.iter().flatten().copied().collect())
}

/// The same for any number of features.
fn block_any(block: &[f64], y: &[f64], w: Weights, beta: &[f64]) -> BlockSums {
    let d = beta.len();
    let p = d - 1;
    let mut f = 0.0;
    let mut g = vec![0.0; d];
    let mut h = vec![0.0; d * d];
    let mut zi = vec![1.0; d];
    for (r, &yk) in block.chunks_exact(p).zip(y) {
        zi[1..].copy_from_slice(r);
        let t: f64 = zi.iter().zip(beta).map(|(a, b)| a * b).sum();
        let (loss, res, wt) = row_terms(t, yk, w);
        f += loss;
        for (a, &za) in zi.iter().enumerate() {
            g[a] += res * za;
            let wa = wt * za;
            for (hv, zb) in h[a * d..(a + 1) * d].iter_mut().zip(&zi) {
                *hv += wa * zb;
            }
        }
    }
    (f, g, h)
}

type BlockFn = fn(&[f64], &[f64], Weights, &[f64]) -> BlockSums;

/// Objective, gradient and Hessian (full matrix) at `beta` in one pass over the rows.
fn pass(
    x: &[f64],
    y: &[f64],
    w: Option<(f64, f64)>,
    beta: &[f64],
    pool: &ThreadPool,
) -> (f64, Vec<f64>, Vec<f64>) {
    let d = beta.len();
    let p = d - 1;
    let block: BlockFn = match d {
        2 => block_fixed::<2>,
        3 => block_fixed::<3>,
        4 => block_fixed::<4>,
        5 => block_fixed::<5>,
        6 => block_fixed::<6>,
        7 => block_fixed::<7>,
        8 => block_fixed::<8>,
        9 => block_fixed::<9>,
        10 => block_fixed::<10>,
        11 => block_fixed::<11>,
        12 => block_fixed::<12>,
        13 => block_fixed::<13>,
        14 => block_fixed::<14>,
        15 => block_fixed::<15>,
        16 => block_fixed::<16>,
        _ => block_any,
    };
    let parts: Vec<(f64, Vec<f64>, Vec<f64>)> = pool.install(|| {
        x.par_chunks(CHUNK * p)
            .enumerate()
            .map(|(c, rows)| block(rows, &y[c * CHUNK..], w, beta))
            .collect()
    });
    let mut f = 0.0;
    let mut g = vec![0.0; d];
    let mut h = vec![0.0; d * d];
    for (pf, pg, ph) in parts {
        f += pf;
        for (a, b) in g.iter_mut().zip(pg) {
            *a += b;
        }
        for (a, b) in h.iter_mut().zip(ph) {
            *a += b;
        }
    }
    (f, g, h)
}

/// Newton's method with step halving on standardised rows; every pass over the rows gives the
/// objective at the current point together with its gradient and Hessian, so a step that is
/// accepted costs one pass.
fn newton(
    x: &[f64],
    y: &[f64],
    positives: usize,
    params: &LogisticParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<NewtonFit> {
    let n = y.len();
    let p = x.len().checked_div(n).unwrap_or(0);
    // On many rows, start from the fit on an evenly spaced subsample (with the penalty scaled
    // to its size): the full-data Newton steps then start next to the optimum and converge in
    // two or three passes instead of five or six. The answer is the full-data optimum either
    // way; only the number of passes changes.
    let mut start = None;
    const SUBSAMPLE: usize = 200_000;
    if n >= 4 * SUBSAMPLE && p > 0 {
        let stride = n / SUBSAMPLE;
        let mut xs = Vec::with_capacity((n / stride + 1) * p);
        let mut ys = Vec::with_capacity(n / stride + 1);
        for i in (0..n).step_by(stride) {
            xs.extend_from_slice(&x[i * p..(i + 1) * p]);
            ys.push(y[i]);
        }
        let pos = ys.iter().filter(|&&v| v > 0.5).count();
        if pos > 0 && pos < ys.len() {
            let sub = LogisticParams {
                l2: params.l2 * ys.len() as f64 / n as f64,
                ..params.clone()
            };
            if let Ok(f) = newton_from(&xs, &ys, pos, &sub, None, pool, monitor) {
                start = Some(f.beta);
            }
        }
    }
    newton_from(x, y, positives, params, start, pool, monitor)
}

fn newton_from(
    x: &[f64],
    y: &[f64],
    positives: usize,
    params: &LogisticParams,
    start: Option<Vec<f64>>,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<NewtonFit> {
    let n = y.len();
    let d = beta_len(x, n);
    let w = class_weights(n as u64, positives as u64, params.balanced);
    newton_iterations(
        d,
        n as u64,
        positives as u64,
        params,
        start,
        &mut |b: &[f64]| Ok(pass(x, y, w, b, pool)),
        monitor,
    )
}

/// (weight of the negatives, of the positives) for balanced classes, None otherwise.
pub fn class_weights(n: u64, positives: u64, balanced: bool) -> Weights {
    balanced.then(|| {
        (
            n as f64 / (2.0 * (n - positives) as f64),
            n as f64 / (2.0 * positives as f64),
        )
    })
}

/// Newton's method with step halving for `d` coefficients (intercept first) on standardised
/// inputs, where `pass(β)` gives the unpenalised objective, gradient and full Hessian of the
/// training rows at β — from rows in memory or from the partial sums of shards. Starts at
/// `start` or at the log-odds intercept. Returns β, the iterations, whether they converged and
/// the penalised Hessian at β.
pub fn newton_iterations(
    d: usize,
    n: u64,
    positives: u64,
    params: &LogisticParams,
    start: Option<Vec<f64>>,
    pass: &mut dyn FnMut(&[f64]) -> Result<BlockSums>,
    monitor: &mut dyn Monitor,
) -> Result<NewtonFit> {
    newton_core(d, n, positives, params, None, start, pass, monitor)
}

/// A Gaussian prior on the coefficients (intercept first): the penalty ½ (β − c)ᵀ P (β − c)
/// in place of the L2 one — a stored fit (its solution and its penalised Hessian) as the
/// prior of a fit on new rows.
#[derive(Clone, Debug)]
pub struct Prior {
    pub center: Vec<f64>,
    /// d × d, row-major, symmetric positive definite.
    pub precision: Vec<f64>,
}

/// [`newton_iterations`] with `prior`'s penalty instead of the L2 one, from `start`.
#[allow(clippy::too_many_arguments)]
pub fn newton_with_prior(
    d: usize,
    n: u64,
    positives: u64,
    params: &LogisticParams,
    prior: &Prior,
    start: Vec<f64>,
    pass: &mut dyn FnMut(&[f64]) -> Result<BlockSums>,
    monitor: &mut dyn Monitor,
) -> Result<NewtonFit> {
    newton_core(
        d,
        n,
        positives,
        params,
        Some(prior),
        Some(start),
        pass,
        monitor,
    )
}

#[allow(clippy::too_many_arguments)]
fn newton_core(
    d: usize,
    n: u64,
    positives: u64,
    params: &LogisticParams,
    prior: Option<&Prior>,
    start: Option<Vec<f64>>,
    pass: &mut dyn FnMut(&[f64]) -> Result<BlockSums>,
    monitor: &mut dyn Monitor,
) -> Result<NewtonFit> {
    // P (β − c) for the prior.
    let pull = |p: &Prior, b: &[f64]| -> Vec<f64> {
        (0..d)
            .map(|a| {
                (0..d)
                    .map(|c| p.precision[a * d + c] * (b[c] - p.center[c]))
                    .sum::<f64>()
            })
            .collect()
    };
    let penalty = |b: &[f64]| match prior {
        Some(p) => {
            let pb = pull(p, b);
            0.5 * pb
                .iter()
                .zip(b.iter().zip(&p.center))
                .map(|(q, (x, c))| q * (x - c))
                .sum::<f64>()
        }
        None => 0.5 * params.l2 * b[1..].iter().map(|v| v * v).sum::<f64>(),
    };
    let mut beta = start.unwrap_or_else(|| {
        let mut b = vec![0.0; d];
        let base = positives as f64 / n as f64;
        b[0] = (base / (1.0 - base)).ln();
        b
    });
    let (f0, mut g, mut h) = pass(&beta)?;
    let mut f_old = f0 + penalty(&beta);
    let mut iterations = 0;
    let mut converged = false;
    let penalise = |h: &mut [f64]| {
        if let Some(p) = prior {
            for (x, q) in h.iter_mut().zip(&p.precision) {
                *x += q;
            }
        }
        for a in 0..d {
            let ridge = if a > 0 && prior.is_none() {
                params.l2
            } else {
                0.0
            };
            h[a * d + a] += ridge + 1e-12;
        }
    };
    // Whether `h` has the penalty (it does when the loop ends on the decrement).
    let mut penalised = false;
    while iterations < params.max_iter {
        iterations += 1;
        match prior {
            Some(p) => {
                for (x, q) in g.iter_mut().zip(pull(p, &beta)) {
                    *x -= q;
                }
            }
            None => {
                for a in 1..d {
                    g[a] -= params.l2 * beta[a];
                }
            }
        }
        penalise(&mut h);
        penalised = true;
        // Only non-positive pivots refuse (ratio 0): with the jitter above a nearly singular
        // Hessian still factors, and the step halving copes with its step.
        let spd = Spd::factor_with(&h, d, 0.0).ok_or_else(|| {
            Error::data("the features are collinear or the classes are perfectly separated")
                .with_hint("Add l2 regularisation (e.g. {\"l2\": 1}) or drop redundant features.")
        })?;
        let step = spd.solve(&g);
        // The Newton decrement gᵀH⁻¹g / 2 estimates how far the objective is above its
        // minimum; when that is negligible the current point is the answer, and the pass that
        // would only confirm it is saved.
        let decrement: f64 = g.iter().zip(&step).map(|(a, b)| a * b).sum::<f64>() / 2.0;
        if decrement.abs() <= 1e-11 * (1.0 + f_old.abs()) {
            iterations -= 1;
            converged = true;
            break;
        }
        penalised = false;
        let mut t = 1.0;
        let (new_beta, f_new, g_new, h_new) = loop {
            let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + t * s).collect();
            let (f, gc, hc) = pass(&cand)?;
            let f = f + penalty(&cand);
            if f <= f_old + 1e-12 * f_old.abs() || t < 1e-8 {
                break (cand, f, gc, hc);
            }
            t *= 0.5;
            monitor.tick()?;
        };
        let max_step = step.iter().fold(0.0f64, |m, s| m.max((t * s).abs()));
        beta = new_beta;
        g = g_new;
        h = h_new;
        let gain = f_old - f_new;
        f_old = f_new;
        monitor.tick()?;
        if max_step < 1e-9 || gain.abs() <= 1e-12 * (1.0 + f_new.abs()) {
            converged = true;
            break;
        }
    }
    if !penalised {
        penalise(&mut h);
    }
    Ok(NewtonFit {
        beta,
        iterations,
        converged,
        hessian: h,
    })
}

/// √diag(H⁻¹) of a d × d positive definite `h` (one solve per coefficient): the standard
/// errors of coefficients whose precision is `h`. Empty when it does not factor or d is over
/// `MAX_SE_WIDTH`.
pub fn std_errors_of(h: &[f64], d: usize) -> Vec<f64> {
    if d > MAX_SE_WIDTH || h.len() != d * d {
        return Vec::new();
    }
    let Some(spd) = Spd::factor_with(h, d, 0.0) else {
        return Vec::new();
    };
    (0..d)
        .map(|k| {
            let mut e = vec![0.0; d];
            e[k] = 1.0;
            let v = spd.solve(&e)[k];
            if v > 0.0 {
                v.sqrt()
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// Widest dense logistic model whose coefficients get standard errors (one solve each).
const MAX_SE_WIDTH: usize = 1_000;

fn beta_len(x: &[f64], n: usize) -> usize {
    x.len().checked_div(n).unwrap_or(0) + 1
}

/// A stored logistic model: the feature preparation and the coefficients of the prepared
/// inputs (dense outputs, then the non-zero coefficients of the hashed space).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogisticModel {
    pub prep: Prep,
    pub intercept: f64,
    /// One coefficient per dense output of `prep`.
    pub dense: Vec<f64>,
    /// (bucket, coefficient) of the hashed space, sorted by bucket, zeros left out.
    pub hashed: Vec<(u32, f64)>,
    /// Labels of class 0 and class 1 as text (e.g. "false"/"true" or "0"/"1").
    pub labels: [String; 2],
    pub threshold: f64,
    pub iterations: usize,
    pub converged: bool,
    /// "newton" (dense, L2) or "owlqn" (sparse or L1).
    pub solver: String,
    /// Per input column: the standard deviation of its contribution to the score over the
    /// training rows, normalised to sum to 1 (= |standardised coefficient| for a number).
    pub importance: Vec<f64>,
    /// Mean of each dense output over the training rows (what `shopml.explain` measures
    /// from); empty for models stored before format 3.
    pub means: Vec<f64>,
    /// Standard errors of the intercept and of each dense coefficient from the Fisher
    /// information (Newton fits; empty for OWL-QN fits and models stored before format 3).
    pub std_errors: Vec<f64>,
    /// The penalised Hessian at the fit in the coordinates of (intercept, dense), d × d:
    /// the precision of the Gaussian posterior an update starts from (Newton fits; empty
    /// otherwise).
    pub curvature: Vec<f64>,
}

/// Logistic models in the registry: format 3 added `means`, `std_errors` and `curvature`
/// (formats 1 and 2 are its body without them).
pub(crate) fn decode_logistic(version: u16, body: &[u8]) -> Result<Box<dyn Model>> {
    let m: LogisticModel = if version < 3 {
        model::decode_body(&model::with_empty_tail(body, 3))?
    } else {
        model::decode_body(body)?
    };
    Ok(Box::new(m))
}

/// The mean of each of the `w` columns of row-major `rows`.
pub fn column_means(rows: &[f64], w: usize) -> Vec<f64> {
    let n = rows.len().checked_div(w).unwrap_or(0);
    let mut sums = vec![0.0; w];
    for r in rows.chunks_exact(w.max(1)) {
        for (s, v) in sums.iter_mut().zip(r) {
            *s += v;
        }
    }
    sums.iter()
        .map(|s| if n > 0 { s / n as f64 } else { 0.0 })
        .collect()
}

impl LogisticModel {
    #[inline]
    fn hashed_coef(&self, b: u32) -> f64 {
        self.hashed
            .binary_search_by_key(&b, |e| e.0)
            .map_or(0.0, |k| self.hashed[k].1)
    }

    /// The score of a prepared row.
    pub fn score_prepared(&self, dense: &[f64], hashed: &[u32]) -> f64 {
        let mut t = self.intercept;
        for (c, v) in self.dense.iter().zip(dense) {
            t += c * v;
        }
        for &b in hashed {
            if b != u32::MAX {
                t += self.hashed_coef(b);
            }
        }
        t
    }

    /// Probability of class 1 for a row of input cells (None when the preparation says NULL).
    pub fn probability(
        &self,
        cells: &[Cell],
        dense: &mut Vec<f64>,
        hashed: &mut Vec<u32>,
    ) -> Option<f64> {
        dense.resize(self.prep.dense_width, 0.0);
        hashed.clear();
        self.prep
            .encode(cells, dense, hashed)
            .then(|| sigmoid(self.score_prepared(dense, hashed)))
    }
}

/// Options of a logistic training besides the preparation.
#[derive(Clone, Debug)]
pub struct TrainParams {
    pub l1: f64,
    pub l2: f64,
    pub balanced: bool,
    pub max_iter: usize,
}

/// Bytes a training holds per row of `n_inputs` input columns: the raw cells, the prepared
/// rows, the probabilities and labels of both parts.
pub fn memory_per_row(n_inputs: usize) -> usize {
    (n_inputs + 1) * 8 * 4 + 16
}

/// A trained model with the probabilities it gives its training and test rows.
pub struct TrainedLogistic {
    pub model: LogisticModel,
    pub train: ClassMetrics,
    pub test: Option<ClassMetrics>,
    pub positive_rate: f64,
}

/// Learns the preparation on the training part of `raw`, fits, and measures on both parts.
/// `ytr` and `yte` hold the 0/1 labels of the training and test rows.
#[allow(clippy::too_many_arguments)]
pub fn train(
    mut raw: RawTable,
    ytr: Vec<f64>,
    yte: Vec<f64>,
    labels: [String; 2],
    prep_opts: &PrepOptions,
    params: &TrainParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<TrainedLogistic> {
    let prep = Prep::fit(&raw, prep_opts)?;
    let n = ytr.len();
    let positives = ytr.iter().filter(|&&v| v > 0.5).count();
    if positives == 0 || positives == n {
        return Err(Error::data(format!(
            "the target has only one class in the {n} training rows"
        )));
    }
    let train_part = std::mem::take(&mut raw.train);
    let test_part = std::mem::take(&mut raw.test);
    let (mut dtr, htr) = prep.transform(&raw, train_part);
    let (dte, hte) = prep.transform(&raw, test_part);
    drop(raw);
    let w = prep.dense_width;
    let means = column_means(&dtr, w);
    let h = prep.hashed_inputs();
    let mut std_errors = Vec::new();
    let mut curvature = Vec::new();
    let (intercept, dense, hashed, iterations, converged, solver) = if h == 0 && params.l1 == 0.0 {
        let fit = fit(
            &mut dtr,
            &ytr,
            w,
            &LogisticParams {
                l2: params.l2,
                balanced: params.balanced,
                max_iter: params.max_iter,
                standardized: prep.standardize && prep.all_numeric(),
            },
            pool,
            monitor,
        )?;
        let c = fit.original_coefficients();
        std_errors = fit.original_std_errors();
        curvature = fit.original_curvature();
        (
            c[0],
            c[1..].to_vec(),
            Vec::new(),
            fit.iterations,
            fit.converged,
            "newton",
        )
    } else {
        let n_cols = w + prep.hash_buckets;
        let mut x = Csr::new();
        let mut entries: Vec<(u32, f32)> = Vec::with_capacity(w + h);
        for i in 0..n {
            entries.clear();
            for (j, v) in dtr[i * w..(i + 1) * w].iter().enumerate() {
                if *v != 0.0 {
                    entries.push((j as u32, *v as f32));
                }
            }
            for &b in &htr[i * h..(i + 1) * h] {
                if b != u32::MAX {
                    entries.push((w as u32 + b, 1.0));
                }
            }
            x.push_row(&entries);
        }
        let sw: Vec<f64> = if params.balanced {
            let (w1, w0) = (
                n as f64 / (2.0 * positives as f64),
                n as f64 / (2.0 * (n - positives) as f64),
            );
            ytr.iter().map(|&v| if v > 0.5 { w1 } else { w0 }).collect()
        } else {
            vec![1.0; n]
        };
        let f = crate::linear::owlqn::fit(
            &x,
            n_cols,
            &ytr,
            &sw,
            &SparseParams {
                l1: params.l1,
                l2: params.l2,
                max_iter: params.max_iter.max(200),
                tol: 1e-7,
                memory: 10,
            },
            pool,
            monitor,
        )?;
        let hashed: Vec<(u32, f64)> = f.coef[w..]
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != 0.0)
            .map(|(b, c)| (b as u32, *c))
            .collect();
        (
            f.intercept,
            f.coef[..w].to_vec(),
            hashed,
            f.iterations,
            f.converged,
            "owlqn",
        )
    };
    let model = LogisticModel {
        prep,
        intercept,
        dense,
        hashed,
        labels,
        threshold: 0.5,
        iterations,
        converged,
        solver: solver.to_string(),
        importance: Vec::new(),
        means,
        std_errors,
        curvature,
    };
    Ok(measure(
        model,
        (&dtr, &htr, &ytr),
        (&dte, &hte, &yte),
        positives,
        pool,
    ))
}

/// The importances (over the training rows) and the metrics of both parts of a fitted model,
/// each part as (dense rows, hashed indices, labels).
fn measure(
    mut model: LogisticModel,
    (dtr, htr, ytr): (&[f64], &[u32], &[f64]),
    (dte, hte, yte): (&[f64], &[u32], &[f64]),
    positives: usize,
    pool: &ThreadPool,
) -> TrainedLogistic {
    let (w, h) = (model.prep.dense_width, model.prep.hashed_inputs());
    let n = ytr.len();
    // Training-part metrics on every k-th row, at most a million (the held-out part in full).
    let stride = n.div_ceil(1_000_000).max(1);
    let (dsub, hsub, ysub): (Vec<f64>, Vec<u32>, Vec<f64>) = if stride > 1 {
        let rows: Vec<usize> = (0..n).step_by(stride).collect();
        (
            rows.iter()
                .flat_map(|&i| dtr[i * w..(i + 1) * w].iter().copied())
                .collect(),
            rows.iter()
                .flat_map(|&i| htr[i * h..(i + 1) * h].iter().copied())
                .collect(),
            rows.iter().map(|&i| ytr[i]).collect(),
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let (dm, hm, ym) = if stride > 1 {
        (&dsub[..], &hsub[..], &ysub[..])
    } else {
        (dtr, htr, ytr)
    };
    model.importance = importance(&model, dm, hm);
    let model = model;
    let probs = |d: &[f64], hs: &[u32], rows: usize| -> Vec<f64> {
        (0..rows)
            .into_par_iter()
            .map(|i| sigmoid(model.score_prepared(&d[i * w..(i + 1) * w], &hs[i * h..(i + 1) * h])))
            .collect()
    };
    let (train_m, test_m) = pool.install(|| {
        (
            class_metrics(&probs(dm, hm, ym.len()), ym, model.threshold),
            (!yte.is_empty())
                .then(|| class_metrics(&probs(dte, hte, yte.len()), yte, model.threshold)),
        )
    });
    TrainedLogistic {
        model,
        train: train_m,
        test: test_m,
        positive_rate: positives as f64 / n.max(1) as f64,
    }
}

/// A Bayesian online step: the fit on new rows whose prior is the stored model (its solution
/// and curvature, the curvature times `decay` to forget old data geometrically). The rows are
/// prepared as the stored model prepares them; the result's curvature is the posterior's, so
/// updates chain. Dense Newton fits only (hashed or L1 models have no stored curvature).
#[allow(clippy::too_many_arguments)]
pub fn update(
    mut raw: RawTable,
    ytr: Vec<f64>,
    yte: Vec<f64>,
    parent: &LogisticModel,
    decay: f64,
    max_iter: usize,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<TrainedLogistic> {
    let prep = &parent.prep;
    let d = prep.dense_width + 1;
    if prep.hashed_inputs() > 0 || parent.curvature.len() != d * d {
        return Err(Error::new(
            crate::error::ErrorKind::Unsupported,
            if prep.hashed_inputs() > 0 || parent.solver != "newton" {
                "only dense logistic models fitted by Newton's method (no hashed inputs, no l1) can be updated in this version"
            } else {
                "this logistic model was stored without its curvature (an older shopml, model format 2)"
            },
        )
        .with_hint("Retrain it on the old and new rows with shopml.train_logistic."));
    }
    if !(decay > 0.0 && decay <= 1.0) {
        return Err(Error::invalid(format!(
            "decay must be in (0, 1], got {decay}"
        )));
    }
    let train_part = std::mem::take(&mut raw.train);
    let test_part = std::mem::take(&mut raw.test);
    let (dtr, htr) = prep.transform(&raw, train_part);
    let (dte, hte) = prep.transform(&raw, test_part);
    drop(raw);
    let n = ytr.len();
    let positives = ytr.iter().filter(|&&v| v > 0.5).count();
    let prior = Prior {
        center: std::iter::once(parent.intercept)
            .chain(parent.dense.iter().copied())
            .collect(),
        precision: parent.curvature.iter().map(|v| v * decay).collect(),
    };
    let params = LogisticParams {
        l2: 0.0,
        balanced: false,
        max_iter,
        standardized: true,
    };
    let fit = newton_with_prior(
        d,
        n as u64,
        positives as u64,
        &params,
        &prior,
        prior.center.clone(),
        &mut |b: &[f64]| Ok(pass(&dtr, &ytr, None, b, pool)),
        monitor,
    )?;
    let std_errors = std_errors_of(&fit.hessian, d);
    let model = LogisticModel {
        intercept: fit.beta[0],
        dense: fit.beta[1..].to_vec(),
        iterations: fit.iterations,
        converged: fit.converged,
        std_errors,
        curvature: fit.hessian,
        ..parent.clone()
    };
    Ok(measure(
        model,
        (&dtr, &htr, &ytr),
        (&dte, &hte, &yte),
        positives,
        pool,
    ))
}

/// Per input: the standard deviation of its contribution to the score over the rows given,
/// normalised to sum to 1.
fn importance(m: &LogisticModel, dense: &[f64], hashed: &[u32]) -> Vec<f64> {
    let w = m.prep.dense_width;
    let h = m.prep.hashed_inputs();
    let rows = dense
        .len()
        .checked_div(w)
        .unwrap_or(hashed.len() / h.max(1));
    let k = m.prep.inputs.len();
    let sources = m.prep.dense_sources();
    let hashed_inputs: Vec<usize> = m
        .prep
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, i)| matches!(i.encoding, Encoding::Hashed))
        .map(|(j, _)| j)
        .collect();
    let mut sum = vec![0.0; k];
    let mut sq = vec![0.0; k];
    let mut c = vec![0.0; k];
    for i in 0..rows {
        c.iter_mut().for_each(|v| *v = 0.0);
        for (j, v) in dense[i * w..(i + 1) * w].iter().enumerate() {
            c[sources[j]] += m.dense[j] * v;
        }
        for (q, &b) in hashed[i * h..(i + 1) * h].iter().enumerate() {
            if b != u32::MAX {
                c[hashed_inputs[q]] += m.hashed_coef(b);
            }
        }
        for j in 0..k {
            sum[j] += c[j];
            sq[j] += c[j] * c[j];
        }
    }
    let n = rows.max(1) as f64;
    let sd: Vec<f64> = (0..k)
        .map(|j| ((sq[j] / n) - (sum[j] / n).powi(2)).max(0.0).sqrt())
        .collect();
    let total: f64 = sd.iter().sum();
    sd.iter()
        .map(|v| {
            if total > 0.0 {
                v / total
            } else {
                1.0 / k as f64
            }
        })
        .collect()
}

/// Options of `train_logistic`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticOptions {
    pub l1: f64,
    pub l2: f64,
    pub prep: PrepOptions,
    pub balanced: bool,
    pub max_iter: usize,
    pub pipeline: Pipeline,
}

impl LogisticOptions {
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self> {
        crate::options::parse("train_logistic", value, |o| {
            Ok(LogisticOptions {
                l1: o.number("l1", 0.0, (0.0, true), (1e12, true))?,
                l2: o.number("l2", 1.0, (0.0, true), (1e12, true))?,
                prep: prep_options(o, true)?,
                balanced: o.choice("class_weight", "none", &["none", "balanced"])? == "balanced",
                max_iter: o.integer("max_iter", 100, 1, 10_000)? as usize,
                pipeline: pipeline(o, Some(0.2))?,
            })
        })
    }

    /// The fit's parameters besides the preparation.
    pub fn params(&self) -> TrainParams {
        TrainParams {
            l1: self.l1,
            l2: self.l2,
            balanced: self.balanced,
            max_iter: self.max_iter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Quiet;
    use crate::rng::Rng;

    fn pool() -> ThreadPool {
        crate::monitor::test_pool(2)
    }

    #[test]
    fn recovers_generating_coefficients() {
        // y ~ Bernoulli(σ(−0.5 + 1.5·x1 − 2·x2)), 200k rows, no penalty.
        let mut rng = Rng::new(9);
        let n = 200_000;
        let mut x = Vec::with_capacity(2 * n);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let (a, b) = (rng.normal(), rng.normal() * 2.0 + 1.0);
            x.push(a);
            x.push(b);
            y.push(if rng.next_f64() < sigmoid(-0.5 + 1.5 * a - 2.0 * b) {
                1.0
            } else {
                0.0
            });
        }
        let params = LogisticParams {
            l2: 0.0,
            balanced: false,
            max_iter: 50,
            standardized: false,
        };
        let m = fit(&mut x, &y, 2, &params, &pool(), &mut Quiet).unwrap();
        let c = m.original_coefficients();
        assert!(m.converged);
        for (got, want) in c.iter().zip([-0.5, 1.5, -2.0]) {
            assert!((got - want).abs() < 0.05, "{c:?}");
        }
        let imp = m.importance();
        assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn one_class_is_an_error() {
        let e = fit(
            &mut [1.0, 2.0],
            &[1.0, 1.0],
            1,
            &LogisticParams {
                l2: 1.0,
                balanced: false,
                max_iter: 10,
                standardized: false,
            },
            &pool(),
            &mut Quiet,
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::DataException);
    }

    /// Rows of y ~ Bernoulli(σ(−0.5 + 1.5·x1 − 2·x2)).
    fn rows(seed: u64, n: usize) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let (mut x, mut y) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
        for _ in 0..n {
            let (a, b) = (rng.normal(), rng.normal() * 2.0 + 1.0);
            x.extend([a, b]);
            y.push(f64::from(
                rng.next_f64() < sigmoid(-0.5 + 1.5 * a - 2.0 * b),
            ));
        }
        (x, y)
    }

    #[test]
    fn a_fit_updated_with_its_curvature_as_prior_is_the_fit_on_all_rows() {
        let params = LogisticParams {
            l2: 1.0,
            balanced: false,
            max_iter: 50,
            standardized: false,
        };
        let (mut xa, ya) = rows(3, 20_000);
        let (xb, yb) = rows(4, 20_000);
        let a = fit(&mut xa, &ya, 2, &params, &pool(), &mut Quiet).unwrap();
        // The curvature mapped to original units is the Fisher information there: without a
        // penalty, a fit in standardised coordinates and one in the raw ones give the same
        // standard errors.
        let (h, d) = (a.original_curvature(), 3);
        let flat = LogisticParams {
            l2: 0.0,
            ..params.clone()
        };
        let in_std = fit(&mut xa.clone(), &ya, 2, &flat, &pool(), &mut Quiet).unwrap();
        let raw = LogisticParams {
            standardized: true,
            ..flat
        };
        let in_raw = fit(&mut xa.clone(), &ya, 2, &raw, &pool(), &mut Quiet).unwrap();
        for (s1, s2) in in_std
            .original_std_errors()
            .iter()
            .zip(in_raw.original_std_errors())
        {
            assert!((s1 - s2).abs() < 1e-6 * s2, "{s1} {s2}");
        }
        let prior = Prior {
            center: a.original_coefficients(),
            precision: h,
        };
        let upd = newton_with_prior(
            d,
            yb.len() as u64,
            0,
            &params,
            &prior,
            prior.center.clone(),
            &mut |b: &[f64]| Ok(pass(&xb, &yb, None, b, &pool())),
            &mut Quiet,
        )
        .unwrap();
        let (mut xall, mut yall) = (xa.clone(), ya.clone());
        xall.extend_from_slice(&xb);
        yall.extend_from_slice(&yb);
        let all = fit(&mut xall, &yall, 2, &params, &pool(), &mut Quiet).unwrap();
        let (u, w) = (upd.beta, all.original_coefficients());
        let b_only = {
            let mut x = xb.clone();
            fit(&mut x, &yb, 2, &params, &pool(), &mut Quiet)
                .unwrap()
                .original_coefficients()
        };
        for k in 0..d {
            // Laplace's quadratic prior is close to the old rows' exact log-likelihood...
            assert!((u[k] - w[k]).abs() < 2e-3, "{u:?} {w:?}");
            // ...much closer than the new rows alone.
            assert!(
                (u[k] - w[k]).abs() < 0.25 * (b_only[k] - w[k]).abs().max(1e-3),
                "{u:?} {w:?} {b_only:?}"
            );
        }
    }
}
