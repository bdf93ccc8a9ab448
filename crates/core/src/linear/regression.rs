//! Linear regression (OLS and ridge) from sufficient statistics.
//!
//! One pass over the rows accumulates the count, the means and the centred co-moment matrix of
//! (x1..xp, y) with Welford's update; partial accumulations from parallel workers merge exactly
//! (Chan et al.'s pairwise formula). Centring keeps the normal equations well conditioned even
//! when columns have large means, which raw sums of squares would not.
//!
//! Fitting solves the normal equations by a Cholesky factorisation of the correlation-scaled
//! matrix. A column whose variance left after regressing it on the earlier columns is below a
//! tolerance (constant, duplicate or collinear) is *aliased*: it gets no coefficient, as R's
//! `lm` reports `NA`, and the fit goes on without it.

use serde::{Deserialize, Serialize};

use crate::data::cell::Cell;
use crate::data::prep::Prep;
use crate::data::prep::PrepOptions;
use crate::data::sketch::BottomK;
use crate::error::{Error, Result};
use crate::hash::mix64;
use crate::math::distributions::student_t_two_sided_p;
use crate::math::linalg::Spd;
use crate::model::{self, ensure, Answer, Explanation, Model, Row, Want};
use crate::options::{pipeline, prep_options, Pipeline};

/// [`LinearStats`] as a flat byte string that is its own aggregate state: a value type that
/// can be updated in place row by row, added to another, and moved between servers as text
/// (`bytea`'s hex form) — what a distributed planner such as Citus needs to run the partial
/// step on its workers. Layout: `SMLP`, format, kind 1, two zero bytes, p (u64), then
/// little-endian f64s: n, rows skipped, the p + 1 means, the packed upper triangle of the
/// co-moments — the same numbers, updated by the same formulas, as `LinearStats`.
pub mod flat {
    use super::LinearStats;
    use crate::error::{Error, Result};

    const MAGIC: &[u8; 4] = b"SMLP";
    /// The format this shopml writes and the newest it reads.
    pub const FORMAT: u8 = 1;
    const KIND_LINEAR: u8 = 1;
    const HEADER: usize = 16;

    fn floats(p: usize) -> usize {
        let d = p + 1;
        2 + d + d * (d + 1) / 2
    }

    /// An empty state for `p` features.
    pub fn new(p: usize) -> Vec<u8> {
        let mut b = vec![0u8; HEADER + 8 * floats(p)];
        b[..4].copy_from_slice(MAGIC);
        b[4] = FORMAT;
        b[5] = KIND_LINEAR;
        b[8..16].copy_from_slice(&(p as u64).to_le_bytes());
        b
    }

    /// The number of features of a state, after checking it (XX001 when damaged or newer).
    pub fn width(b: &[u8]) -> Result<usize> {
        if b.len() < HEADER || &b[..4] != MAGIC || b[5] != KIND_LINEAR {
            return Err(Error::corrupted(
                "not a shopml linear_partial state (damaged, or another kind of state)",
            ));
        }
        if b[4] > FORMAT {
            return Err(Error::corrupted(format!(
                "a linear_partial state of format {}, newer than the format {FORMAT} this shopml reads",
                b[4]
            ))
            .with_hint("Install the same shopml version on every server that makes or reads these states."));
        }
        let p = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")) as usize;
        if p == 0 || p > 100_000 || b.len() != HEADER + 8 * floats(p) {
            return Err(Error::corrupted(
                "a linear_partial state of the wrong length",
            ));
        }
        Ok(p)
    }

    #[inline]
    fn get(b: &[u8], i: usize) -> f64 {
        let o = HEADER + 8 * i;
        f64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
    }

    #[inline]
    fn set(b: &mut [u8], i: usize, v: f64) {
        let o = HEADER + 8 * i;
        b[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// Counts a skipped row (a NULL or non-finite value).
    pub fn skip(b: &mut [u8]) {
        set(b, 1, get(b, 1) + 1.0);
    }

    /// Adds a row (`x` of the state's width, all finite), as [`LinearStats::add`] does.
    pub fn add(b: &mut [u8], y: f64, x: &[f64], delta: &mut Vec<f64>) -> Result<()> {
        let p = width(b)?;
        if x.len() != p {
            return Err(Error::invalid(format!(
                "linear_partial: every x array must have the same length ({p} and {} seen)",
                x.len()
            )));
        }
        let d = p + 1;
        let n = get(b, 0) + 1.0;
        set(b, 0, n);
        let inv_n = 1.0 / n;
        let f = 1.0 - inv_n;
        delta.clear();
        for (j, v) in x.iter().chain([&y]).enumerate() {
            let m = get(b, 2 + j);
            let dj = v - m;
            set(b, 2 + j, m + dj * inv_n);
            delta.push(dj);
        }
        let mut k = 2 + d;
        for i in 0..d {
            let di = delta[i] * f;
            for dj in &delta[i..] {
                set(b, k, get(b, k) + di * dj);
                k += 1;
            }
        }
        Ok(())
    }

    /// The statistics and the rows skipped.
    pub fn stats(b: &[u8]) -> Result<(LinearStats, u64)> {
        let p = width(b)?;
        let d = p + 1;
        let mut s = LinearStats::new(p);
        s.n = get(b, 0) as u64;
        for j in 0..d {
            s.mean[j] = get(b, 2 + j);
        }
        for k in 0..s.comoment.len() {
            s.comoment[k] = get(b, 2 + d + k);
        }
        Ok((s, get(b, 1) as u64))
    }

    /// `a` + `b`, written into `a` (the same formulas as [`LinearStats::merge`]).
    pub fn merge(a: &mut [u8], b: &[u8]) -> Result<()> {
        let (mut sa, ka) = stats(a)?;
        let (sb, kb) = stats(b)?;
        if sa.n_features != sb.n_features {
            return Err(Error::invalid(format!(
                "linear_merge: states of {} and {} features",
                sa.n_features, sb.n_features
            )));
        }
        sa.merge(&sb);
        let d = sa.n_features + 1;
        set(a, 0, sa.n as f64);
        set(a, 1, (ka + kb) as f64);
        for j in 0..d {
            set(a, 2 + j, sa.mean[j]);
        }
        for (k, v) in sa.comoment.iter().enumerate() {
            set(a, 2 + d + k, *v);
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn flat_equals_linear_stats_and_merges_alike() {
            let rows: Vec<(f64, [f64; 2])> = (0..1000)
                .map(|i| {
                    let a = (i as f64 * 0.37).sin();
                    let b = (i as f64 * 0.11).cos() * 3.0;
                    (1.0 + 2.0 * a - b + 0.01 * (i % 7) as f64, [a, b])
                })
                .collect();
            let (mut whole, mut s) = (new(2), LinearStats::new(2));
            let (mut left, mut right) = (new(2), new(2));
            let mut delta = Vec::new();
            for (i, (y, x)) in rows.iter().enumerate() {
                add(&mut whole, *y, x, &mut delta).unwrap();
                s.add(*y, x);
                add(
                    if i % 3 == 0 { &mut left } else { &mut right },
                    *y,
                    x,
                    &mut delta,
                )
                .unwrap();
            }
            skip(&mut right);
            let (w, _) = stats(&whole).unwrap();
            assert_eq!((w.n, &w.mean, &w.comoment), (s.n, &s.mean, &s.comoment));
            merge(&mut left, &right).unwrap();
            let (m, skipped) = stats(&left).unwrap();
            assert_eq!(skipped, 1);
            assert_eq!(m.n(), 1000);
            for j in 0..3 {
                assert!((m.mean(j) - s.mean(j)).abs() < 1e-12);
                for k in j..3 {
                    assert!(
                        (m.comoment(j, k) - s.comoment(j, k)).abs()
                            < 1e-9 * (1.0 + s.comoment(j, k).abs())
                    );
                }
            }
            let mut newer = new(2);
            newer[4] = 2;
            assert!(width(&newer).unwrap_err().message.contains("format 2"));
            assert!(width(&newer[..10]).is_err());
            assert!(add(&mut whole, 1.0, &[1.0], &mut delta).is_err());
        }
    }
}

/// Relative tolerance below which a column counts as collinear with earlier ones (1 − R²).
const ALIAS_TOLERANCE: f64 = 1e-9;

/// Count, means and centred co-moments of (x1..xp, y).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LinearStats {
    n_features: usize,
    n: u64,
    /// Means of x1..xp then y.
    mean: Vec<f64>,
    /// Upper triangle, row-major, of the (p+1)×(p+1) centred co-moment matrix.
    comoment: Vec<f64>,
    #[serde(skip)]
    delta: Vec<f64>,
}

#[inline]
fn tri_index(d: usize, i: usize, j: usize) -> usize {
    // row i starts after rows 0..i, which hold d, d-1, ... entries
    i * d - i * (i + 1) / 2 + j
}

impl LinearStats {
    pub fn new(n_features: usize) -> Self {
        let d = n_features + 1;
        LinearStats {
            n_features,
            n: 0,
            mean: vec![0.0; d],
            comoment: vec![0.0; d * (d + 1) / 2],
            delta: vec![0.0; d],
        }
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Rows accumulated.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Whether the vectors have the sizes `n_features` implies (decoded statistics may not).
    pub fn is_valid(&self) -> bool {
        let d = self.n_features + 1;
        self.mean.len() == d && self.comoment.len() == d * (d + 1) / 2
    }

    /// Mean of feature `j` (`j == n_features` is the target).
    pub fn mean(&self, j: usize) -> f64 {
        self.mean[j]
    }

    /// Centred co-moment Σ(a−ā)(b−b̄) of columns `i` and `j` (index `n_features` is the target).
    pub fn comoment(&self, i: usize, j: usize) -> f64 {
        let (i, j) = if i <= j { (i, j) } else { (j, i) };
        self.comoment[tri_index(self.n_features + 1, i, j)]
    }

    /// Adds one row. The caller guarantees `x.len() == n_features` and finite values.
    #[inline]
    pub fn add(&mut self, y: f64, x: &[f64]) {
        let p = self.n_features;
        let d = p + 1;
        if self.delta.len() != d {
            self.delta = vec![0.0; d];
        }
        self.n += 1;
        let inv_n = 1.0 / self.n as f64;
        let f = 1.0 - inv_n;
        let delta = &mut self.delta[..d];
        let mean = &mut self.mean[..d];
        for ((dj, mj), v) in delta
            .iter_mut()
            .zip(mean.iter_mut())
            .zip(x.iter().chain([&y]))
        {
            *dj = v - *mj;
            *mj += *dj * inv_n;
        }
        // Row i of the packed upper triangle is comoment[start..start + d - i].
        let mut rest = &mut self.comoment[..];
        for i in 0..d {
            let di = delta[i] * f;
            let (row, tail) = rest.split_at_mut(d - i);
            for (c, dj) in row.iter_mut().zip(&delta[i..]) {
                *c += di * dj;
            }
            rest = tail;
        }
    }

    /// Combines another accumulation into this one (exact, order-independent up to rounding).
    pub fn merge(&mut self, other: &LinearStats) {
        assert_eq!(
            self.n_features, other.n_features,
            "merging stats of different widths"
        );
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            let delta = std::mem::take(&mut self.delta);
            *self = other.clone();
            self.delta = delta;
            return;
        }
        let d = self.n_features + 1;
        let na = self.n as f64;
        let nb = other.n as f64;
        let n = na + nb;
        let delta: Vec<f64> = (0..d).map(|j| other.mean[j] - self.mean[j]).collect();
        let w = na * nb / n;
        let mut k = 0;
        for i in 0..d {
            for j in i..d {
                self.comoment[k] += other.comoment[k] + w * delta[i] * delta[j];
                k += 1;
            }
        }
        for (m, dj) in self.mean.iter_mut().zip(&delta) {
            *m += dj * nb / n;
        }
        self.n += other.n;
    }
}

/// How to fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    /// Ridge penalty on the coefficients (not the intercept); 0 is ordinary least squares.
    pub l2: f64,
    pub fit_intercept: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            l2: 0.0,
            fit_intercept: true,
        }
    }
}

/// A fitted linear model with the statistics a statistician expects.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LinearModel {
    pub fit_intercept: bool,
    pub l2: f64,
    pub intercept: f64,
    /// `None` for an aliased (constant or collinear) feature.
    pub coefficients: Vec<Option<f64>>,
    pub std_errors: Vec<Option<f64>>,
    pub t_stats: Vec<Option<f64>>,
    pub p_values: Vec<Option<f64>>,
    pub intercept_std_error: Option<f64>,
    pub intercept_t_stat: Option<f64>,
    pub intercept_p_value: Option<f64>,
    /// Coefficients with aliased features as 0, for prediction.
    pub weights: Vec<f64>,
    /// R² on the training rows (centred, as scikit-learn's `r2_score`).
    pub r2: f64,
    /// Residual standard error sqrt(SSE / df_resid); NaN when df_resid is 0.
    pub sigma: f64,
    pub n: u64,
    pub df_resid: f64,
}

/// Fits OLS or ridge regression from accumulated statistics.
pub fn fit(stats: &LinearStats, opts: &FitOptions) -> Result<LinearModel> {
    let p = stats.n_features;
    let n = stats.n as f64;
    if !(opts.l2 >= 0.0 && opts.l2.is_finite()) {
        return Err(Error::invalid(format!(
            "l2 must be a finite number >= 0, got {}",
            opts.l2
        )));
    }
    let n_params = p + usize::from(opts.fit_intercept);
    if stats.n == 0 || (stats.n as usize) < n_params.max(1) {
        return Err(
            Error::data("not enough usable rows to fit a linear model").with_detail(format!(
                "{} usable rows for {} parameters ({} features{})",
                stats.n,
                n_params,
                p,
                if opts.fit_intercept {
                    " and an intercept"
                } else {
                    ""
                }
            )),
        );
    }
    let y = p;
    // Gram matrix A (p×p), cross products b (p) and total sum of squares c about the model's
    // origin: centred when there is an intercept, raw otherwise.
    let a = |i: usize, j: usize| -> f64 {
        if opts.fit_intercept {
            stats.comoment(i, j)
        } else {
            stats.comoment(i, j) + n * stats.mean[i] * stats.mean[j]
        }
    };

    // 1. Aliasing: incremental Cholesky of the correlation-scaled Gram matrix.
    let scale: Vec<f64> = (0..p).map(|j| a(j, j).max(0.0).sqrt()).collect();
    let max_scale = scale.iter().cloned().fold(0.0_f64, f64::max);
    let mut kept: Vec<usize> = Vec::with_capacity(p);
    let mut l: Vec<Vec<f64>> = Vec::with_capacity(p); // rows of L over kept columns
    for j in 0..p {
        // A column with (numerically) no spread carries no information.
        if scale[j] == 0.0 || scale[j] <= 1e-12 * max_scale.max(f64::MIN_POSITIVE) {
            continue;
        }
        let mut row = Vec::with_capacity(kept.len() + 1);
        let mut ss = 0.0;
        for (k_pos, &k) in kept.iter().enumerate() {
            let r_jk = a(j, k) / (scale[j] * scale[k]);
            let dot: f64 = (0..k_pos).map(|m| row[m] * l[k_pos][m]).sum();
            let v = (r_jk - dot) / l[k_pos][k_pos];
            ss += v * v;
            row.push(v);
        }
        let resid = 1.0 - ss;
        if resid <= ALIAS_TOLERANCE {
            continue;
        }
        row.push(resid.sqrt());
        kept.push(j);
        l.push(row);
    }
    let k = kept.len();

    // 2. Solve (A_kk + l2·I) β = b_k in the scaled space: M = D⁻¹(A+λI)D⁻¹, β = D⁻¹ M⁻¹ D⁻¹ b.
    let mut m = vec![0.0; k * k];
    for (r, &i) in kept.iter().enumerate() {
        for (c, &j) in kept.iter().enumerate() {
            let mut v = a(i, j);
            if i == j {
                v += opts.l2;
            }
            m[r * k + c] = v / (scale[i] * scale[j]);
        }
    }
    let spd = Spd::factor(&m, k)
        .ok_or_else(|| Error::data("the features are too collinear to fit a model"))?;
    let b: Vec<f64> = kept
        .iter()
        .map(|&i| {
            let v = if opts.fit_intercept {
                stats.comoment(i, y)
            } else {
                stats.comoment(i, y) + n * stats.mean[i] * stats.mean[y]
            };
            v / scale[i]
        })
        .collect();
    let beta_scaled = spd.solve(&b);
    let mut weights = vec![0.0; p];
    for (r, &i) in kept.iter().enumerate() {
        weights[i] = beta_scaled[r] / scale[i];
    }
    let intercept = if opts.fit_intercept {
        stats.mean[y] - (0..p).map(|j| weights[j] * stats.mean[j]).sum::<f64>()
    } else {
        0.0
    };

    // 3. Residuals and standard errors.
    let sse = sse_of(stats, intercept, &weights).max(0.0);
    let df_resid = n - (k + usize::from(opts.fit_intercept)) as f64;
    let sigma2 = if df_resid > 0.0 {
        sse / df_resid
    } else {
        f64::NAN
    };
    // Covariance of the scaled coefficients, σ² M⁻¹ (OLS) or the ridge sandwich σ² M⁻¹ R M⁻¹:
    // only its diagonal and the quadratic form x̄ᵀ Cov x̄ (for the intercept) are needed, so
    // they come from solves with the factor, not from an inverse.
    let xs: Vec<f64> = kept.iter().map(|&i| stats.mean[i] / scale[i]).collect();
    let (var_scaled, quad): (Vec<f64>, f64) = if opts.l2 == 0.0 {
        (spd.inverse_diag(), spd.inv_quad(&xs))
    } else {
        let mut rmat = vec![0.0; k * k];
        for (r, &i) in kept.iter().enumerate() {
            for (c, &j) in kept.iter().enumerate() {
                rmat[r * k + c] = a(i, j) / (scale[i] * scale[j]);
            }
        }
        // Z = M⁻¹R, then M⁻¹Zᵀ = M⁻¹RM⁻¹ (R and M are symmetric).
        let z = spd.solve_mat(&rmat, k);
        let mut zt = vec![0.0; k * k];
        for r in 0..k {
            for c in 0..k {
                zt[c * k + r] = z[r * k + c];
            }
        }
        let cm = spd.solve_mat(&zt, k);
        let mut q = 0.0;
        for r in 0..k {
            for c in 0..k {
                q += xs[r] * cm[r * k + c] * xs[c];
            }
        }
        ((0..k).map(|r| cm[r * k + r]).collect(), q)
    };
    let mut coefficients = vec![None; p];
    let mut std_errors = vec![None; p];
    let mut t_stats = vec![None; p];
    let mut p_values = vec![None; p];
    for (r, &i) in kept.iter().enumerate() {
        coefficients[i] = Some(weights[i]);
        let se = (var_scaled[r] * sigma2).max(0.0).sqrt() / scale[i];
        if se.is_finite() {
            std_errors[i] = Some(se);
            if se > 0.0 {
                let t = weights[i] / se;
                t_stats[i] = Some(t);
                p_values[i] = Some(student_t_two_sided_p(t, df_resid));
            }
        }
    }
    let (mut intercept_std_error, mut intercept_t_stat, mut intercept_p_value) = (None, None, None);
    if opts.fit_intercept && sigma2.is_finite() {
        // Var(b0) = σ²/n + x̄ᵀ Cov(β) x̄
        let se = (sigma2 / n + sigma2 * quad).max(0.0).sqrt();
        intercept_std_error = Some(se);
        if se > 0.0 {
            let t = intercept / se;
            intercept_t_stat = Some(t);
            intercept_p_value = Some(student_t_two_sided_p(t, df_resid));
        }
    }
    let syy = stats.comoment(y, y);
    let r2 = if syy > 0.0 { 1.0 - sse / syy } else { f64::NAN };
    Ok(LinearModel {
        fit_intercept: opts.fit_intercept,
        l2: opts.l2,
        intercept,
        coefficients,
        std_errors,
        t_stats,
        p_values,
        intercept_std_error,
        intercept_t_stat,
        intercept_p_value,
        weights,
        r2,
        sigma: sigma2.sqrt(),
        n: stats.n,
        df_resid,
    })
}

/// Σ (y − b0 − wᵀx)² over the rows summarised by `stats`, from the centred moments alone.
pub fn sse_of(stats: &LinearStats, intercept: f64, weights: &[f64]) -> f64 {
    let p = stats.n_features;
    let y = p;
    let n = stats.n as f64;
    if stats.n == 0 {
        return 0.0;
    }
    let mut s = stats.comoment(y, y);
    for i in 0..p {
        if weights[i] == 0.0 {
            continue;
        }
        s -= 2.0 * weights[i] * stats.comoment(i, y);
        for j in 0..p {
            s += weights[i] * weights[j] * stats.comoment(i, j);
        }
    }
    let mean_resid =
        stats.mean[y] - intercept - (0..p).map(|j| weights[j] * stats.mean[j]).sum::<f64>();
    s + n * mean_resid * mean_resid
}

impl LinearModel {
    /// Prediction for one row of features (length must be the model's feature count).
    #[inline]
    pub fn predict(&self, x: &[f64]) -> f64 {
        let mut s = self.intercept;
        for (w, v) in self.weights.iter().zip(x) {
            s += w * v;
        }
        s
    }

    /// R², RMSE on the rows summarised by `stats` (exact, from the moments).
    pub fn score(&self, stats: &LinearStats) -> (f64, f64) {
        let sse = sse_of(stats, self.intercept, &self.weights).max(0.0);
        let syy = stats.comoment(stats.n_features, stats.n_features);
        let r2 = if syy > 0.0 { 1.0 - sse / syy } else { f64::NAN };
        let rmse = if stats.n > 0 {
            (sse / stats.n as f64).sqrt()
        } else {
            f64::NAN
        };
        (r2, rmse)
    }

    /// Mean absolute error over sampled rows (each row: x1..xp, y).
    pub fn mae(&self, rows: &[&[f64]]) -> f64 {
        if rows.is_empty() {
            return f64::NAN;
        }
        let p = self.weights.len();
        rows.iter()
            .map(|r| (r[p] - self.predict(&r[..p])).abs())
            .sum::<f64>()
            / rows.len() as f64
    }
}

/// Rows kept per split for the mean absolute error (exact below this many rows).
pub const MAE_SAMPLE_ROWS: usize = 20_000;

/// The state of one `train_linear` scan: statistics of the training and the held-out rows,
/// bounded samples of both for MAE, and the count of rows skipped for NULL/NaN/infinite values.
/// Which side a row is on is the caller's (see [`crate::data::split`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SplitAccumulator {
    pub train: LinearStats,
    pub test: LinearStats,
    pub train_sample: BottomK,
    pub test_sample: BottomK,
    pub skipped: u64,
    #[serde(skip)]
    row: Vec<f64>,
}

impl SplitAccumulator {
    pub fn new(n_features: usize) -> Self {
        SplitAccumulator {
            train: LinearStats::new(n_features),
            test: LinearStats::new(n_features),
            train_sample: BottomK::new(MAE_SAMPLE_ROWS, n_features + 1),
            test_sample: BottomK::new(MAE_SAMPLE_ROWS, n_features + 1),
            skipped: 0,
            row: Vec::with_capacity(n_features + 1),
        }
    }

    /// An accumulator of statistics only (its MAE is NaN): what a shard ships.
    pub fn without_samples(n_features: usize) -> Self {
        SplitAccumulator {
            train_sample: BottomK::none(n_features + 1),
            test_sample: BottomK::none(n_features + 1),
            ..SplitAccumulator::new(n_features)
        }
    }

    pub fn n_features(&self) -> usize {
        self.train.n_features
    }

    /// Adds a row whose features are in `x` (finite) and target `y`, to the held-out side when
    /// `test`. `key` is the row's split key: the MAE samples keep the rows of smallest
    /// (re-mixed) key, a uniform sample whatever the scan order.
    #[inline]
    pub fn add(&mut self, test: bool, key: u64, y: f64, x: &[f64]) {
        self.row.clear();
        self.row.extend_from_slice(x);
        self.row.push(y);
        let sample = mix64(key ^ 0x6a09_e667_f3bc_c908);
        if test {
            self.test.add(y, x);
            self.test_sample.offer(sample, &self.row);
        } else {
            self.train.add(y, x);
            self.train_sample.offer(sample, &self.row);
        }
    }

    pub fn merge(&mut self, other: &SplitAccumulator) {
        self.train.merge(&other.train);
        self.test.merge(&other.test);
        self.train_sample.merge(&other.train_sample);
        self.test_sample.merge(&other.test_sample);
        self.skipped += other.skipped;
    }
}

/// Options of `train_linear`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearOptions {
    pub prep: PrepOptions,
    pub l2: f64,
    pub fit_intercept: bool,
    pub group_by: Option<String>,
    pub pipeline: Pipeline,
}

impl LinearOptions {
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self> {
        crate::options::parse("train_linear", value, |o| {
            Ok(LinearOptions {
                prep: prep_options(o, false)?,
                l2: o.number("l2", 0.0, (0.0, true), (f64::INFINITY, false))?,
                fit_intercept: o.boolean("fit_intercept", true)?,
                group_by: o.string("group_by")?,
                pipeline: pipeline(o, Some(0.2))?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_from(rows: &[(f64, Vec<f64>)]) -> LinearStats {
        let mut s = LinearStats::new(rows[0].1.len());
        for (y, x) in rows {
            s.add(*y, x);
        }
        s
    }

    #[test]
    fn exact_line() {
        let rows: Vec<_> = (0..10)
            .map(|i| {
                let x = i as f64;
                (3.0 + 2.0 * x, vec![x])
            })
            .collect();
        let m = fit(&stats_from(&rows), &FitOptions::default()).unwrap();
        assert!((m.intercept - 3.0).abs() < 1e-12);
        assert!((m.coefficients[0].unwrap() - 2.0).abs() < 1e-12);
        assert!((m.r2 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn large_offsets_stay_accurate() {
        // Means of 1e9 would wreck raw sums of squares; the centred moments do not care.
        let rows: Vec<_> = (0..1000)
            .map(|i| {
                let x = 1e9 + (i % 17) as f64;
                let z = (i % 5) as f64;
                (
                    0.5 * x - 2.0 * z + ((i * 7919) % 13) as f64 * 0.01,
                    vec![x, z],
                )
            })
            .collect();
        let m = fit(&stats_from(&rows), &FitOptions::default()).unwrap();
        assert!((m.coefficients[0].unwrap() - 0.5).abs() < 1e-3);
        assert!((m.coefficients[1].unwrap() + 2.0).abs() < 1e-3);
    }

    #[test]
    fn aliased_and_constant_columns() {
        let rows: Vec<_> = (0..50)
            .map(|i| {
                let a = i as f64;
                let b = ((i * 37) % 11) as f64;
                (1.0 + a - b, vec![a, 7.0, b, 2.0 * a + b])
            })
            .collect();
        let m = fit(&stats_from(&rows), &FitOptions::default()).unwrap();
        assert_eq!(m.coefficients[1], None, "constant column");
        assert_eq!(m.coefficients[3], None, "collinear column");
        assert!((m.coefficients[0].unwrap() - 1.0).abs() < 1e-9);
        assert!((m.coefficients[2].unwrap() + 1.0).abs() < 1e-9);
    }

    #[test]
    fn too_few_rows() {
        let rows = vec![(1.0, vec![1.0, 2.0])];
        let e = fit(&stats_from(&rows), &FitOptions::default()).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::DataException);
        assert!(e.detail.unwrap().contains("1 usable rows for 3 parameters"));
    }

    #[test]
    fn test_set_scores_match_direct_computation() {
        let mut acc = SplitAccumulator::new(2);
        let split = crate::data::split::Split {
            test_fraction: 0.3,
            split_column: None,
            split_seed: 0,
            folds: None,
        };
        let key = crate::data::split::position_key;
        let mut raw = Vec::new();
        for i in 0..5000u64 {
            let a = (i % 97) as f64 / 10.0;
            let b = ((i * 31) % 53) as f64;
            let noise = (((i * 7919) % 101) as f64 - 50.0) / 25.0;
            let y = 4.0 + 1.5 * a - 0.2 * b + noise;
            acc.add(split.is_test(key(i)), key(i), y, &[a, b]);
            raw.push((i, y, [a, b]));
        }
        let m = fit(&acc.train, &FitOptions::default()).unwrap();
        let (r2, rmse) = m.score(&acc.test);
        // recompute directly over the held-out rows
        let test_rows: Vec<(f64, [f64; 2])> = raw
            .iter()
            .filter(|(i, _, _)| split.is_test(key(*i)))
            .map(|(_, y, x)| (*y, *x))
            .collect();
        assert_eq!(test_rows.len() as u64, acc.test.n());
        let mean_y = test_rows.iter().map(|r| r.0).sum::<f64>() / test_rows.len() as f64;
        let sse: f64 = test_rows
            .iter()
            .map(|(y, x)| (y - m.predict(x)).powi(2))
            .sum();
        let sst: f64 = test_rows.iter().map(|(y, _)| (y - mean_y).powi(2)).sum();
        assert!((r2 - (1.0 - sse / sst)).abs() < 1e-9);
        assert!((rmse - (sse / test_rows.len() as f64).sqrt()).abs() < 1e-9);
        let mae_direct = test_rows
            .iter()
            .map(|(y, x)| (y - m.predict(x)).abs())
            .sum::<f64>()
            / test_rows.len() as f64;
        assert!((m.mae(&acc.test_sample.rows()) - mae_direct).abs() < 1e-9);
    }

    #[test]
    fn ridge_shrinks() {
        let rows: Vec<_> = (0..100)
            .map(|i| {
                let a = (i % 10) as f64;
                (2.0 * a + ((i * 13) % 7) as f64 * 0.1, vec![a])
            })
            .collect();
        let s = stats_from(&rows);
        let ols = fit(&s, &FitOptions::default()).unwrap();
        let ridge = fit(
            &s,
            &FitOptions {
                l2: 100.0,
                fit_intercept: true,
            },
        )
        .unwrap();
        // closed form for one centred feature: b = Sxy / (Sxx + λ)
        let expected = s.comoment(0, 1) / (s.comoment(0, 0) + 100.0);
        assert!((ridge.coefficients[0].unwrap() - expected).abs() < 1e-12);
        assert!(ridge.coefficients[0].unwrap() < ols.coefficients[0].unwrap());
    }
}

/// A stored linear model: one sub-model per group value (a single `None` group when the model
/// is not grouped), with the feature names they expect in order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LinearBundle {
    pub target: String,
    pub features: Vec<String>,
    pub group_by: Option<String>,
    /// Sorted by key in byte order (`None` first).
    pub groups: Vec<(Option<String>, LinearModel)>,
    /// How input columns become the model's features (`features` are its dense outputs).
    pub prep: Prep,
    /// The statistics of each group's training rows (aligned with `groups`): the means
    /// `shopml.explain` measures from, and the sufficient statistics of the fit. Empty for
    /// models stored before format 3.
    pub stats: Vec<LinearStats>,
}

/// A bundle as format version 1 (shopml 0.1) stored it: numeric inputs used as they are.
#[derive(Deserialize)]
struct LinearBundleV1 {
    target: String,
    features: Vec<String>,
    group_by: Option<String>,
    groups: Vec<(Option<String>, LinearModel)>,
}

/// Linear models in the registry. Format 1 (shopml 0.1) had no stored preparation, format 2
/// (shopml 0.2, 0.3) no training statistics.
pub use crate::model::LINEAR as KIND;

pub(crate) fn decode_bundle(version: u16, body: &[u8]) -> Result<Box<dyn Model>> {
    let mut bundle = if version == 2 {
        model::decode_body::<LinearBundle>(&model::with_empty_tail(body, 1))?
    } else if version == 1 {
        let v1: LinearBundleV1 = model::decode_body(body)?;
        let prep = Prep::identity(&v1.features);
        LinearBundle {
            target: v1.target,
            features: v1.features,
            group_by: v1.group_by,
            groups: v1.groups,
            prep,
            stats: Vec::new(),
        }
    } else {
        model::decode_body::<LinearBundle>(body)?
    };
    // shopml 0.2 stored groups in the database's collation order; lookups search byte order.
    bundle.groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Box::new(bundle))
}

impl Model for LinearBundle {
    fn validate(&self) -> Result<()> {
        let p = self.prep.dense_width;
        ensure(
            &KIND,
            self.features.len() == p,
            "a feature list of the wrong length",
        )?;
        ensure(&KIND, !self.groups.is_empty(), "no sub-models")?;
        ensure(
            &KIND,
            self.groups.windows(2).all(|w| w[0].0 < w[1].0),
            "sub-models out of order",
        )?;
        for (_, m) in &self.groups {
            let ok = [
                m.coefficients.len(),
                m.std_errors.len(),
                m.t_stats.len(),
                m.p_values.len(),
                m.weights.len(),
            ]
            .iter()
            .all(|&l| l == p);
            ensure(&KIND, ok, "coefficients of the wrong length")?;
        }
        let stats_ok = self.stats.is_empty()
            || (self.stats.len() == self.groups.len()
                && self
                    .stats
                    .iter()
                    .all(|s| s.is_valid() && s.n_features() == p));
        ensure(
            &KIND,
            stats_ok,
            "training statistics that do not fit its groups",
        )?;
        Ok(())
    }

    fn prep(&self) -> Option<&Prep> {
        Some(&self.prep)
    }

    fn group_column(&self) -> Option<&str> {
        self.group_by.as_deref()
    }

    fn predict(&self, model_name: &str, row: &Row, want: Want) -> Result<Answer<'_>> {
        match want {
            Want::Value => {}
            Want::Probability => return Err(model::no_probability(model_name, &KIND)),
            Want::Label => return Err(model::no_label(model_name, &KIND)),
        }
        let m = match row.group {
            Some(key) if self.group_by.is_some() => match self.group(key) {
                Some(m) => m,
                // A group never seen in training has no model: NULL, not an error.
                None => return Ok(Answer::Null),
            },
            _ => self.single(model_name)?,
        };
        Ok(Answer::Number(m.predict(row.dense)))
    }

    fn memory_bytes(&self) -> usize {
        let per_group = 5 * 16 * self.features.len() + 128;
        let stats: usize = self
            .stats
            .iter()
            .map(|s| 8 * (s.mean.len() + s.comoment.len()))
            .sum();
        self.groups.len() * per_group + self.prep.memory_bytes() + stats
    }

    fn explain(
        &self,
        model_name: &str,
        cells: &[Cell],
        group: Option<Option<&str>>,
    ) -> Result<Option<Explanation>> {
        let at = match group {
            Some(key) if self.group_by.is_some() => {
                match self
                    .groups
                    .binary_search_by(|(k, _)| k.as_deref().cmp(&key))
                {
                    Ok(i) => i,
                    Err(_) => return Ok(None),
                }
            }
            _ => {
                self.single(model_name)?;
                0
            }
        };
        let m = &self.groups[at].1;
        let means: Vec<f64> = self
            .stats
            .get(at)
            .map(|s| (0..s.n_features()).map(|j| s.mean(j)).collect())
            .unwrap_or_default();
        Ok(model::linear_explanation(
            &self.prep,
            cells,
            m.intercept,
            &m.weights,
            &means,
            |_| 0.0,
            "prediction",
        ))
    }
}

impl LinearBundle {
    /// The one model of an ungrouped bundle (22023 when the bundle is grouped: the call needs
    /// the group value, which only a row carries).
    pub fn single(&self, model_name: &str) -> Result<&LinearModel> {
        if self.group_by.is_some() || self.groups.len() != 1 {
            return Err(Error::invalid(format!(
                "model \"{model_name}\" has one sub-model per {}; it needs the group value",
                self.group_by.as_deref().unwrap_or("group")
            ))
            .with_hint(format!(
                "Predict by row instead: SELECT shopml.predict('{model_name}', t) FROM t."
            )));
        }
        Ok(&self.groups[0].1)
    }

    /// The sub-model for a group value.
    pub fn group(&self, key: Option<&str>) -> Option<&LinearModel> {
        self.groups
            .binary_search_by(|(k, _)| k.as_deref().cmp(&key))
            .ok()
            .map(|i| &self.groups[i].1)
    }
}

/// Train/test metrics of one or more (model, accumulation) pairs, pooled over groups.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitMetrics {
    pub n: u64,
    pub r2: f64,
    pub rmse: f64,
    pub mae: f64,
}

fn pooled(parts: &[(&LinearModel, &LinearStats, Vec<&[f64]>)]) -> Option<SplitMetrics> {
    let n: u64 = parts.iter().map(|(_, s, _)| s.n()).sum();
    if n == 0 {
        return None;
    }
    let mut all = LinearStats::new(parts[0].1.n_features());
    let mut sse = 0.0;
    let mut mae_weighted = 0.0;
    for (m, s, rows) in parts {
        if s.n() == 0 {
            continue;
        }
        all.merge(s);
        sse += sse_of(s, m.intercept, &m.weights).max(0.0);
        mae_weighted += m.mae(rows) * s.n() as f64;
    }
    let syy = all.comoment(all.n_features(), all.n_features());
    Some(SplitMetrics {
        n,
        r2: if syy > 0.0 { 1.0 - sse / syy } else { f64::NAN },
        rmse: (sse / n as f64).sqrt(),
        mae: mae_weighted / n as f64,
    })
}

/// Metrics on the training rows and (when there are any) the held-out rows.
pub fn evaluate(
    parts: &[(&LinearModel, &SplitAccumulator)],
) -> (Option<SplitMetrics>, Option<SplitMetrics>) {
    let train: Vec<_> = parts
        .iter()
        .map(|(m, a)| (*m, &a.train, a.train_sample.rows()))
        .collect();
    let test: Vec<_> = parts
        .iter()
        .map(|(m, a)| (*m, &a.test, a.test_sample.rows()))
        .collect();
    (pooled(&train), pooled(&test))
}
