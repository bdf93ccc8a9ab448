//! Multinomial (softmax) logistic regression for more than two classes, with an L2 penalty,
//! fitted by Newton's method on standardised features.
//!
//! With K classes and p dense features every class k has an intercept b_k and coefficients
//! β_k; P(k | x) = exp(z_k) / Σ_l exp(z_l), z_k = b_k + β_k·x. The objective is
//! Σ wᵢ·[logsumexp(zᵢ) − zᵢ,yᵢ] + ½·l2·Σ_k ‖β_k‖² (intercepts unpenalised) on standardised
//! features, which with `l2 = 1/C` is scikit-learn's `LogisticRegression(C=C)` with its
//! multinomial loss on standardised features. Every class keeps its own coefficients (the
//! penalty makes them identifiable: Σ_k β_k = 0 at the optimum); the intercepts are defined up to
//! a common constant, which changes no probability, and are centred to sum to 0.
//!
//! Newton's method on the K·(p+1) parameters: the Hessian of one row is
//! (diag(π) − ππᵀ) ⊗ x̃x̃ᵀ (x̃ = [1, x]), so a pass costs K²(p+1)²/2 per row; each accepted
//! step costs one pass, and step halving keeps every step a descent. Rows are summed in blocks
//! whose number depends on the data size alone, added in block order: the fit is bit-identical
//! for any number of threads. A fit over more than [`MAX_PARAMETERS`] parameters is refused
//! (the Hessian would not fit the time a training should take).

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::data::prep::{Cell, Prep, PrepOptions, RawTable};
use crate::error::{Error, Result};
use crate::linear::logistic::column_means;
use crate::math::linalg::Spd;
use crate::math::moments::standardize;
use crate::metrics::classification::{multi_metrics, MultiMetrics};
use crate::model::{self, ensure, Answer, Explanation, Model, Row, Want};
use crate::monitor::Monitor;

pub use crate::model::MULTINOMIAL as KIND;

/// The largest K·(p+1) Newton's method is run on.
pub const MAX_PARAMETERS: usize = 1200;

/// Rows per block of a pass.
const CHUNK: usize = 4096;

/// A stored multinomial logistic model: the preparation and, per class, an intercept and one
/// coefficient per dense output (original units).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MultinomialModel {
    pub prep: Prep,
    /// The class labels as text, in class order.
    pub labels: Vec<String>,
    /// Whether the labels are numbers (`predict` returns them).
    pub numeric_labels: bool,
    /// One per class.
    pub intercepts: Vec<f64>,
    /// K × dense_width, class by class.
    pub coefficients: Vec<f64>,
    /// Mean of each dense output over the training rows (what `explain` measures from).
    pub means: Vec<f64>,
    /// Per input column, the spread of its contributions to the class scores, summing to 1.
    pub importance: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

impl MultinomialModel {
    fn k(&self) -> usize {
        self.labels.len()
    }

    fn scores(&self, x: &[f64]) -> Vec<f64> {
        let w = self.prep.dense_width;
        (0..self.k())
            .map(|c| {
                let row = &self.coefficients[c * w..(c + 1) * w];
                self.intercepts[c] + row.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()
            })
            .collect()
    }

    /// Every class's probability for a prepared row.
    pub fn probabilities(&self, x: &[f64]) -> Vec<f64> {
        softmax(self.scores(x))
    }

    fn best(&self, x: &[f64]) -> usize {
        argmax(&self.probabilities(x))
    }

    /// One class's coefficients (original units).
    pub fn class_coefficients(&self, class: usize) -> &[f64] {
        let w = self.prep.dense_width;
        &self.coefficients[class * w..(class + 1) * w]
    }
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (c, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = c;
        }
    }
    best
}

/// exp(z − max) normalised, in place.
fn softmax(mut z: Vec<f64>) -> Vec<f64> {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, b| a.max(*b));
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    for v in z.iter_mut() {
        *v /= s;
    }
    z
}

impl Model for MultinomialModel {
    fn validate(&self) -> Result<()> {
        let (k, w) = (self.labels.len(), self.prep.dense_width);
        ensure(&KIND, k >= 2, "fewer than two classes")?;
        ensure(
            &KIND,
            self.intercepts.len() == k,
            "intercepts of the wrong length",
        )?;
        ensure(
            &KIND,
            self.coefficients.len() == k * w,
            "coefficients of the wrong length",
        )?;
        ensure(
            &KIND,
            self.means.is_empty() || self.means.len() == w,
            "means of the wrong length",
        )?;
        ensure(
            &KIND,
            self.importance.len() == self.prep.inputs.len(),
            "importances of the wrong length",
        )?;
        ensure(
            &KIND,
            self.prep.hashed_inputs() == 0,
            "hashed inputs in a multinomial model",
        )
    }

    fn prep(&self) -> Option<&Prep> {
        Some(&self.prep)
    }

    fn predict(&self, model_name: &str, row: &Row, want: Want) -> Result<Answer<'_>> {
        let x = row.dense;
        match want {
            Want::Label => Ok(Answer::Text(self.labels[self.best(x)].as_str().into())),
            Want::Value if self.numeric_labels => {
                match self.labels[self.best(x)].parse::<f64>() {
                    Ok(v) => Ok(Answer::Number(v)),
                    Err(_) => Err(Error::internal("a numeric label that is not a number")),
                }
            }
            Want::Value => Err(Error::invalid(format!(
                "model \"{model_name}\" has text labels, which predict (float8) cannot return"
            ))
            .with_hint("Use shopml.predict_label for the label as text.")),
            Want::Probability => Err(Error::invalid(format!(
                "model \"{model_name}\" has {} classes; predict_proba gives the probability of the positive class of a two-class model",
                self.k()
            ))
            .with_hint("Use shopml.predict_classes for every class's probability, or shopml.predict_label for the most probable class.")),
        }
    }

    fn class_probabilities(&self, _model_name: &str, row: &Row) -> Result<Vec<f64>> {
        Ok(self.probabilities(row.dense))
    }

    fn class_labels(&self) -> &[String] {
        &self.labels
    }

    fn importance(&self) -> Option<Vec<(String, f64)>> {
        Some(model::per_input(&self.prep, &self.importance))
    }

    fn memory_bytes(&self) -> usize {
        self.prep.memory_bytes()
            + 8 * (self.coefficients.len() + self.means.len() + self.intercepts.len())
            + 32 * self.labels.len()
            + 256
    }

    /// The score (softmax logit) of the most probable class, taken apart like a linear
    /// model's: coefficient × (prepared value − training mean) per input.
    fn explain(
        &self,
        _model_name: &str,
        cells: &[Cell],
        _group: Option<Option<&str>>,
    ) -> Result<Option<Explanation>> {
        let mut dense = vec![0.0; self.prep.dense_width];
        let mut hashed = Vec::new();
        if !self.prep.encode(cells, &mut dense, &mut hashed) {
            return Ok(None);
        }
        let c = self.best(&dense);
        let mut e = model::linear_explanation(
            &self.prep,
            cells,
            self.intercepts[c],
            self.class_coefficients(c),
            &self.means,
            |_| 0.0,
            "log-odds",
        );
        if let Some(e) = e.as_mut() {
            e.scale = format!("softmax score of {}", self.labels[c]);
        }
        Ok(e)
    }
}

/// Options of a multinomial fit.
#[derive(Clone, Debug)]
pub struct MultinomialParams {
    pub l2: f64,
    /// Weight classes inversely to their frequency (scikit-learn's class_weight='balanced').
    pub balanced: bool,
    pub max_iter: usize,
}

/// A trained model with the metrics of its training and test rows.
pub struct TrainedMultinomial {
    pub model: MultinomialModel,
    pub train: MultiMetrics,
    pub test: Option<MultiMetrics>,
}

/// The fit in standardised coordinates: per class (intercept, coefficients), K × (p+1).
struct Fit {
    theta: Vec<f64>,
    iterations: usize,
    converged: bool,
}

/// Objective, negative gradient and Hessian (upper triangle filled in full) of one block.
type Sums = (f64, Vec<f64>, Vec<f64>);

fn block_sums(x: &[f64], y: &[u32], w: &[f64], theta: &[f64], k: usize, p: usize) -> Sums {
    let d1 = p + 1;
    let dim = k * d1;
    let mut f = 0.0;
    let mut g = vec![0.0; dim];
    let mut h = vec![0.0; dim * dim];
    let mut z = vec![0.0; k];
    let mut xt = vec![1.0; d1];
    for (i, (&yi, &wi)) in y.iter().zip(w).enumerate() {
        xt[1..].copy_from_slice(&x[i * p..(i + 1) * p]);
        for (c, zc) in z.iter_mut().enumerate() {
            let t = &theta[c * d1..(c + 1) * d1];
            *zc = t.iter().zip(&xt).map(|(a, b)| a * b).sum();
        }
        let m = z.iter().fold(f64::NEG_INFINITY, |a, b| a.max(*b));
        let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
        f += wi * (m + s.ln() - z[yi as usize]);
        let pi: Vec<f64> = z.iter().map(|v| (v - m).exp() / s).collect();
        for c in 0..k {
            let r = wi * (f64::from(u8::from(c == yi as usize)) - pi[c]);
            for (a, xa) in xt.iter().enumerate() {
                g[c * d1 + a] += r * xa;
            }
        }
        // Upper triangle of the (class, feature) × (class, feature) Hessian.
        for c in 0..k {
            for l in c..k {
                let q = wi * pi[c] * (f64::from(u8::from(c == l)) - pi[l]);
                if q == 0.0 {
                    continue;
                }
                for a in 0..d1 {
                    let qa = q * xt[a];
                    let row = (c * d1 + a) * dim + l * d1;
                    let start = if c == l { a } else { 0 };
                    for b in start..d1 {
                        h[row + b] += qa * xt[b];
                    }
                }
            }
        }
    }
    (f, g, h)
}

fn pass(
    x: &[f64],
    y: &[u32],
    w: &[f64],
    theta: &[f64],
    k: usize,
    p: usize,
    pool: &ThreadPool,
) -> Sums {
    let dim = theta.len();
    let parts: Vec<Sums> = pool.install(|| {
        y.par_chunks(CHUNK)
            .enumerate()
            .map(|(b, yb)| {
                let start = b * CHUNK;
                block_sums(
                    &x[start * p..(start + yb.len()) * p],
                    yb,
                    &w[start..start + yb.len()],
                    theta,
                    k,
                    p,
                )
            })
            .collect()
    });
    let mut f = 0.0;
    let mut g = vec![0.0; dim];
    let mut h = vec![0.0; dim * dim];
    for (pf, pg, ph) in parts {
        f += pf;
        g.iter_mut().zip(pg).for_each(|(a, b)| *a += b);
        h.iter_mut().zip(ph).for_each(|(a, b)| *a += b);
    }
    // Mirror the upper triangle.
    for r in 0..dim {
        for c in 0..r {
            h[r * dim + c] = h[c * dim + r];
        }
    }
    (f, g, h)
}

/// Newton's method with step halving on standardised rows `x` (n × p), classes `y` < k,
/// row weights `w`.
#[allow(clippy::too_many_arguments)]
fn newton(
    x: &[f64],
    y: &[u32],
    w: &[f64],
    k: usize,
    p: usize,
    params: &MultinomialParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<Fit> {
    let d1 = p + 1;
    let dim = k * d1;
    let penalty = |t: &[f64]| -> f64 {
        0.5 * params.l2
            * (0..k)
                .map(|c| {
                    t[c * d1 + 1..(c + 1) * d1]
                        .iter()
                        .map(|v| v * v)
                        .sum::<f64>()
                })
                .sum::<f64>()
    };
    // Start from the class frequencies.
    let total: f64 = w.iter().sum();
    let mut freq = vec![0.0; k];
    y.iter().zip(w).for_each(|(&c, &wi)| freq[c as usize] += wi);
    let mut theta = vec![0.0; dim];
    for c in 0..k {
        theta[c * d1] = (freq[c].max(1e-12) / total).ln();
    }
    let (f0, mut g, mut h) = pass(x, y, w, &theta, k, p, pool);
    let mut f_old = f0 + penalty(&theta);
    let mut iterations = 0;
    let mut converged = false;
    while iterations < params.max_iter {
        iterations += 1;
        for c in 0..k {
            for a in 1..d1 {
                g[c * d1 + a] -= params.l2 * theta[c * d1 + a];
            }
        }
        // The penalty, and a jitter for the directions the loss does not see (a common shift
        // of the intercepts; of the coefficients when l2 is 0).
        let jitter = 1e-10 * (1.0 + total);
        for c in 0..k {
            for a in 0..d1 {
                let i = c * d1 + a;
                h[i * dim + i] += jitter + if a > 0 { params.l2 } else { 0.0 };
            }
        }
        let spd = Spd::factor_with(&h, dim, 0.0).ok_or_else(|| {
            Error::data("the features are collinear or the classes are perfectly separated")
                .with_hint("Add l2 regularisation (e.g. {\"l2\": 1}) or drop redundant features.")
        })?;
        let step = spd.solve(&g);
        let decrement: f64 = g.iter().zip(&step).map(|(a, b)| a * b).sum::<f64>() / 2.0;
        if decrement.abs() <= 1e-13 * (1.0 + f_old.abs()) {
            iterations -= 1;
            converged = true;
            break;
        }
        let mut t = 1.0;
        let (cand, f_new, g_new, h_new) = loop {
            let cand: Vec<f64> = theta.iter().zip(&step).map(|(b, s)| b + t * s).collect();
            let (f, gc, hc) = pass(x, y, w, &cand, k, p, pool);
            let f = f + penalty(&cand);
            if f <= f_old + 1e-12 * f_old.abs() || t < 1e-8 {
                break (cand, f, gc, hc);
            }
            t *= 0.5;
            monitor.tick()?;
        };
        let max_step = step.iter().fold(0.0f64, |m, s| m.max((t * s).abs()));
        theta = cand;
        g = g_new;
        h = h_new;
        let gain = f_old - f_new;
        f_old = f_new;
        monitor.tick()?;
        monitor.iteration(iterations, Some(f_new / total))?;
        if max_step < 1e-10 || gain.abs() <= 1e-15 * (1.0 + f_new.abs()) {
            converged = true;
            break;
        }
    }
    Ok(Fit {
        theta,
        iterations,
        converged,
    })
}

/// Learns the preparation on the training part of `raw`, fits, and measures both parts.
/// `ytr` and `yte` hold class codes below `labels.len()`.
#[allow(clippy::too_many_arguments)]
pub fn train(
    mut raw: RawTable,
    ytr: Vec<u32>,
    yte: Vec<u32>,
    labels: Vec<String>,
    numeric_labels: bool,
    prep_opts: &PrepOptions,
    params: &MultinomialParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<TrainedMultinomial> {
    let k = labels.len();
    let prep = Prep::fit(&raw, prep_opts)?;
    if prep.hashed_inputs() > 0 {
        return Err(Error::invalid(
            "a logistic model of more than two classes takes numbers and one-hot text only; a text input has more values than max_categories",
        )
        .with_hint("Raise max_categories, leave the many-valued text input out, or use shopml.train_boosted with objective multiclass."));
    }
    let p = prep.dense_width;
    if k * (p + 1) > MAX_PARAMETERS {
        return Err(Error::invalid(format!(
            "{k} classes × {} prepared inputs (with the intercept) is {} coefficients; a multinomial logistic model takes at most {MAX_PARAMETERS}",
            p + 1,
            k * (p + 1)
        ))
        .with_hint("Use fewer inputs or a lower max_categories, or shopml.train_boosted with objective multiclass."));
    }
    let n = ytr.len();
    let mut counts = vec![0usize; k];
    ytr.iter().for_each(|&c| counts[c as usize] += 1);
    let w: Vec<f64> = if params.balanced {
        let present = counts.iter().filter(|c| **c > 0).count() as f64;
        ytr.iter()
            .map(|&c| n as f64 / (present * counts[c as usize] as f64))
            .collect()
    } else {
        vec![1.0; n]
    };
    let train_part = std::mem::take(&mut raw.train);
    let test_part = std::mem::take(&mut raw.test);
    let (mut dtr, _) = prep.transform(&raw, train_part);
    let (dte, _) = prep.transform(&raw, test_part);
    drop(raw);
    let means = column_means(&dtr, p);
    // Standardised for the fit, unless the preparation made every column a z-score already.
    let standardized = prep.standardize && prep.all_numeric();
    let (center, scale) = if standardized {
        (vec![0.0; p], vec![1.0; p])
    } else {
        standardize(&mut dtr, p)
    };
    let fit = newton(&dtr, &ytr, &w, k, p, params, pool, monitor);
    if !standardized {
        for r in dtr.chunks_exact_mut(p.max(1)) {
            for ((v, c), s) in r.iter_mut().zip(&center).zip(&scale) {
                *v = *v * s + c;
            }
        }
    }
    let fit = fit?;
    // Back to the original units, intercepts centred.
    let d1 = p + 1;
    let mut intercepts = vec![0.0; k];
    let mut coefficients = vec![0.0; k * p];
    for c in 0..k {
        let t = &fit.theta[c * d1..(c + 1) * d1];
        let mut b = t[0];
        for j in 0..p {
            let cj = t[j + 1] / scale[j];
            coefficients[c * p + j] = cj;
            b -= cj * center[j];
        }
        intercepts[c] = b;
    }
    let mean_b = intercepts.iter().sum::<f64>() / k as f64;
    intercepts.iter_mut().for_each(|b| *b -= mean_b);
    let mut model = MultinomialModel {
        prep,
        labels,
        numeric_labels,
        intercepts,
        coefficients,
        means,
        importance: Vec::new(),
        iterations: fit.iterations,
        converged: fit.converged,
    };
    model.importance = importance(&model, &dtr);
    let probs = |x: &[f64]| -> Vec<f64> {
        pool.install(|| {
            x.par_chunks(p.max(1))
                .flat_map_iter(|r| model.probabilities(r))
                .collect()
        })
    };
    let train = multi_metrics(&probs(&dtr), &ytr, k);
    let test = (!yte.is_empty()).then(|| multi_metrics(&probs(&dte), &yte, k));
    Ok(TrainedMultinomial { model, train, test })
}

/// Per input: the standard deviation over the training rows of its contribution to each class
/// score, summed over classes and normalised to sum to 1.
fn importance(m: &MultinomialModel, x: &[f64]) -> Vec<f64> {
    let p = m.prep.dense_width;
    let sources = m.prep.dense_sources();
    let n_inputs = m.prep.inputs.len();
    let n = x.len().checked_div(p).unwrap_or(0);
    let mut out = vec![0.0; n_inputs];
    if n == 0 {
        return out;
    }
    for c in 0..m.k() {
        let coef = m.class_coefficients(c);
        let mut sum = vec![0.0; n_inputs];
        let mut sq = vec![0.0; n_inputs];
        let mut contrib = vec![0.0; n_inputs];
        for r in x.chunks_exact(p) {
            contrib.iter_mut().for_each(|v| *v = 0.0);
            for (j, &input) in sources.iter().enumerate() {
                contrib[input] += coef[j] * r[j];
            }
            for i in 0..n_inputs {
                sum[i] += contrib[i];
                sq[i] += contrib[i] * contrib[i];
            }
        }
        for i in 0..n_inputs {
            let mean = sum[i] / n as f64;
            out[i] += (sq[i] / n as f64 - mean * mean).max(0.0).sqrt();
        }
    }
    let s: f64 = out.iter().sum();
    if s > 0.0 {
        out.iter_mut().for_each(|v| *v /= s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{test_pool, Quiet};
    use crate::rng::Rng;

    /// Three classes from known softmax coefficients: the fit's gradient vanishes (the
    /// optimality conditions hold), the probabilities sum to 1, the fit is the same for 1 and
    /// 2 threads, and with many rows and a tiny penalty the generating coefficients come back.
    #[test]
    fn recovers_softmax_coefficients_and_is_thread_independent() {
        let (n, p, k) = (20_000, 2, 3);
        let truth = [[0.0, 0.0, 0.0], [0.5, 1.5, -1.0], [-0.3, -1.0, 2.0]];
        let mut rng = Rng::new(7);
        let mut x = Vec::with_capacity(n * p);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let r = [rng.normal(), rng.normal()];
            let z: Vec<f64> = truth
                .iter()
                .map(|t| t[0] + t[1] * r[0] + t[2] * r[1])
                .collect();
            let pr = softmax(z);
            let u = rng.next_f64();
            let c = if u < pr[0] {
                0
            } else if u < pr[0] + pr[1] {
                1
            } else {
                2
            };
            x.extend_from_slice(&r);
            y.push(c as u32);
        }
        let w = vec![1.0; n];
        let params = MultinomialParams {
            l2: 1e-6,
            balanced: false,
            max_iter: 100,
        };
        let fit1 = newton(&x, &y, &w, k, p, &params, &test_pool(1), &mut Quiet).unwrap();
        let fit2 = newton(&x, &y, &w, k, p, &params, &test_pool(2), &mut Quiet).unwrap();
        assert!(fit1.converged);
        assert_eq!(fit1.theta, fit2.theta);
        // Gradient of the penalised objective at the fit.
        let (_, g, _) = pass(&x, &y, &w, &fit1.theta, k, p, &test_pool(1));
        let gmax = (0..k * (p + 1))
            .map(|i| {
                (g[i]
                    - if i % (p + 1) > 0 {
                        params.l2 * fit1.theta[i]
                    } else {
                        0.0
                    })
                .abs()
            })
            .fold(0.0, f64::max);
        assert!(gmax < 1e-9 * n as f64, "gradient {gmax}");
        // Differences from class 0 are identified: compare them with the truth.
        for c in 1..k {
            for a in 0..=p {
                let est = fit1.theta[c * (p + 1) + a] - fit1.theta[a];
                assert!(
                    (est - truth[c][a]).abs() < 0.08,
                    "class {c} coef {a}: {est} vs {}",
                    truth[c][a]
                );
            }
        }
    }
}
