//! Constant-elasticity demand per product, fitted as a Poisson model with log link, and
//! empirical-Bayes shrinkage of the elasticities.
//!
//! For product p in period t: `log E[units] = a_p + e_p·(log price − m_p) + controls·β`, where
//! m_p is the product's mean log price (so a_p is log demand at its typical price). Periods with
//! zero units are ordinary observations (Poisson), not errors. The controls (promotion, season,
//! …) are shared by all products or fitted per product.
//!
//! Fit, in two stages, both by Newton's method on the exact Poisson likelihood:
//! 1. *pooled*: one elasticity for all products (with each product's own intercept);
//! 2. *per product*: each product's intercept and elasticity (with a weak N(pooled, 10²) prior
//!    on the elasticity so that a product with one price is identified), with shared controls.
//!
//! The Hessian has one small block per product plus the shared controls; Newton steps solve it
//! exactly through the Schur complement of the shared block, so a catalogue of 100k products
//! costs a pass over the rows per iteration. Standard errors come from the inverse Fisher
//! information, scaled by the Pearson dispersion when it exceeds 1.
//!
//! Shrinkage: elasticities and their standard errors go through a DerSimonian–Laird
//! random-effects estimate of the mean and spread of elasticities (over all products, or per
//! `group`), and each product gets the posterior mean
//! `(τ²·e_p + se_p²·μ) / (τ² + se_p²)`. Products whose own estimate carries less than half of
//! that weight are flagged `shrunk` (few periods, little price variation, or none).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::keys::{Keys, RawKeys};
use crate::error::{Error, Result};
use crate::math::dot;
use crate::math::linalg::Spd;
use crate::model::{ensure, Model};
use crate::monitor::Monitor;

/// Demand models in the registry (format 1 and 2 bodies are the same).
pub use crate::model::DEMAND as KIND;

impl Model for DemandModel {
    fn validate(&self) -> Result<()> {
        let q = self.control_names.len();
        let shared = if self.per_product_controls { 0 } else { q };
        ensure(
            &KIND,
            self.products.len() == self.product_keys.len()
                && !self.pools.is_empty()
                && self.shared_controls.len() == shared
                && self.shared_std_errors.len() == shared,
            "products or controls that do not fit its keys",
        )?;
        ensure(
            &KIND,
            self.products
                .iter()
                .all(|p| p.control_means.len() == q && p.controls.len() == q - shared),
            "a product with the wrong number of controls",
        )
    }

    fn memory_bytes(&self) -> usize {
        let q = self.control_names.len();
        self.products.len() * (160 + 16 * q) + 16 * self.product_keys.len() + 256
    }
}

/// Prior standard deviation of per-product elasticities (and per-product controls) around the
/// pooled estimate in stage 2: weak, only there so that a product without price variation
/// has a defined estimate.
const PRIOR_SD: f64 = 10.0;
/// A product's own estimate must carry this much of the posterior weight not to be "shrunk".
const SHRUNK_BELOW: f64 = 0.5;
/// Groups with fewer informative products use the overall pool.
const MIN_GROUP: usize = 5;

/// Rows of a demand table, as read.
pub struct DemandInput {
    pub products: RawKeys,
    pub price: Vec<f64>,
    pub quantity: Vec<f64>,
    /// Row-major, `control_names.len()` values per row.
    pub controls: Vec<f64>,
    pub control_names: Vec<String>,
    pub groups: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct DemandOptions {
    pub per_product_controls: bool,
    pub shrinkage: bool,
    pub max_iterations: usize,
}

impl Default for DemandOptions {
    fn default() -> Self {
        DemandOptions {
            per_product_controls: false,
            shrinkage: true,
            max_iterations: 100,
        }
    }
}

/// One product's demand curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProductDemand {
    /// The elasticity used for pricing (after shrinkage).
    pub elasticity: f64,
    pub std_error: f64,
    /// The product's own estimate (None when it had no sales at all).
    pub raw_elasticity: Option<f64>,
    pub raw_std_error: Option<f64>,
    /// Log expected units at `exp(mean_log_price)` with every control at 0.
    pub intercept: f64,
    pub mean_log_price: f64,
    /// Per-product control coefficients (empty when controls are shared).
    pub controls: Vec<f64>,
    /// Mean of each control over the product's periods (the default conditions for pricing).
    pub control_means: Vec<f64>,
    pub n_obs: u64,
    pub total_units: f64,
    pub distinct_prices: u32,
    pub min_price: f64,
    pub max_price: f64,
    /// Weight of the product's own estimate in the posterior (1 = not shrunk at all).
    pub own_weight: f64,
    pub shrunk: bool,
    pub group: Option<String>,
}

/// Mean and spread of elasticities in a pool (all products, or a group).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pool {
    pub group: Option<String>,
    pub mean: f64,
    pub tau: f64,
    pub n_products: usize,
}

/// Bytes a training holds per sales row with `controls` control columns: the row as read and
/// the sorted copy the fit makes, plus its product key (`int_keys`: bigint, else text).
pub fn memory_per_row(controls: usize, int_keys: bool) -> usize {
    2 * (24 + 8 * controls) + if int_keys { 12 } else { 60 }
}

/// A trained demand model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DemandModel {
    pub product_keys: Keys,
    pub products: Vec<ProductDemand>,
    pub control_names: Vec<String>,
    pub per_product_controls: bool,
    /// Shared control coefficients and standard errors (empty when per product).
    pub shared_controls: Vec<f64>,
    pub shared_std_errors: Vec<f64>,
    pub pooled_elasticity: f64,
    pub pools: Vec<Pool>,
    pub dispersion: f64,
    pub deviance: f64,
    pub null_deviance: f64,
    pub n_obs: u64,
    pub iterations: usize,
}

/// Rows of one product, sorted by product index.
struct Rows {
    start: Vec<usize>,
    lpc: Vec<f64>,
    y: Vec<f64>,
    x: Vec<f64>,
    q: usize,
}

impl Rows {
    fn n_products(&self) -> usize {
        self.start.len() - 1
    }
    fn range(&self, p: usize) -> std::ops::Range<usize> {
        self.start[p]..self.start[p + 1]
    }
    /// The product-block and shared-block features of row `i` under `layout`.
    fn features(&self, layout: Layout, i: usize, zp: &mut [f64], zs: &mut [f64]) {
        let controls = &self.x[i * self.q..(i + 1) * self.q];
        layout.features(self.lpc[i], controls, zp, zs);
    }
}

/// Which columns go into the per-product block and which into the shared block.
#[derive(Clone, Copy)]
enum Layout {
    /// product: [1]; shared: [lpc, x…]
    Pooled,
    /// product: [1, lpc]; shared: [x…]
    Shared,
    /// product: [1, lpc, x…]; shared: none
    PerProduct,
}

impl Layout {
    fn dims(self, q: usize) -> (usize, usize) {
        match self {
            Layout::Pooled => (1, 1 + q),
            Layout::Shared => (2, q),
            Layout::PerProduct => (2 + q, 0),
        }
    }

    #[inline]
    fn features(self, lpc: f64, x: &[f64], zp: &mut [f64], zs: &mut [f64]) {
        match self {
            Layout::Pooled => {
                zp[0] = 1.0;
                zs[0] = lpc;
                zs[1..].copy_from_slice(x);
            }
            Layout::Shared => {
                zp[0] = 1.0;
                zp[1] = lpc;
                zs.copy_from_slice(x);
            }
            Layout::PerProduct => {
                zp[0] = 1.0;
                zp[1] = lpc;
                zp[2..].copy_from_slice(x);
            }
        }
    }
}

/// Per-product Newton pieces: the factored block of the product's own parameters, its
/// coupling to the shared controls and its gradient.
struct Block {
    hpp: Spd,
    hps: Vec<f64>,
    gp: Vec<f64>,
}

struct Fit {
    theta: Vec<Vec<f64>>,
    shared: Vec<f64>,
    blocks: Vec<Option<Block>>,
    /// The factored Schur complement of the shared controls (None without controls).
    schur: Option<Spd>,
    iterations: usize,
}

/// Penalised Poisson log-likelihood (without the constant −Σ log y!).
fn log_lik(
    rows: &Rows,
    layout: Layout,
    active: &[bool],
    theta: &[Vec<f64>],
    shared: &[f64],
    prior: &[(usize, f64, f64)],
) -> f64 {
    let (b, s) = layout.dims(rows.q);
    let mut zp = vec![0.0; b];
    let mut zs = vec![0.0; s];
    let mut ll = 0.0;
    for p in 0..rows.n_products() {
        if !active[p] {
            continue;
        }
        for i in rows.range(p) {
            rows.features(layout, i, &mut zp, &mut zs);
            let eta = dot(&zp, &theta[p]) + dot(&zs, shared);
            ll += rows.y[i] * eta - eta.exp();
        }
        for &(j, mean, precision) in prior {
            let d = theta[p][j] - mean;
            ll -= 0.5 * precision * d * d;
        }
    }
    ll
}

/// Newton's method with step halving for the block model. `prior` lists (coordinate of the
/// product block, prior mean, prior precision).
#[allow(clippy::too_many_arguments)]
fn newton(
    rows: &Rows,
    layout: Layout,
    active: &[bool],
    mut theta: Vec<Vec<f64>>,
    mut shared: Vec<f64>,
    prior: &[(usize, f64, f64)],
    max_iter: usize,
    monitor: &mut dyn Monitor,
) -> Result<Fit> {
    let (b, s) = layout.dims(rows.q);
    let np = rows.n_products();
    let mut ll = log_lik(rows, layout, active, &theta, &shared, prior);
    let mut iterations = 0;
    loop {
        iterations += 1;
        let mut blocks: Vec<Option<Block>> = Vec::with_capacity(np);
        let mut s_mat = vec![0.0; s * s];
        let mut r = vec![0.0; s];
        let mut zp = vec![0.0; b];
        let mut zs = vec![0.0; s];
        for p in 0..np {
            if !active[p] {
                blocks.push(None);
                continue;
            }
            let mut hpp = vec![0.0; b * b];
            let mut hps = vec![0.0; b * s];
            let mut gp = vec![0.0; b];
            for i in rows.range(p) {
                rows.features(layout, i, &mut zp, &mut zs);
                let mu = (dot(&zp, &theta[p]) + dot(&zs, &shared)).exp();
                let res = rows.y[i] - mu;
                for a in 0..b {
                    gp[a] += res * zp[a];
                    for c in a..b {
                        hpp[a * b + c] += mu * zp[a] * zp[c];
                    }
                    for c in 0..s {
                        hps[a * s + c] += mu * zp[a] * zs[c];
                    }
                }
                for a in 0..s {
                    r[a] += res * zs[a];
                    for c in a..s {
                        s_mat[a * s + c] += mu * zs[a] * zs[c];
                    }
                }
            }
            for &(j, mean, precision) in prior {
                hpp[j * b + j] += precision;
                gp[j] -= precision * (theta[p][j] - mean);
            }
            for a in 0..b {
                for c in 0..a {
                    hpp[a * b + c] = hpp[c * b + a];
                }
            }
            // Only non-positive pivots refuse (as the inverse this replaced did).
            let hpp_f = Spd::factor_with(&hpp, b, 0.0).ok_or_else(|| {
                Error::data(format!(
                    "the demand of product number {p} cannot be estimated (no information in its rows)"
                ))
                .with_hint("Drop products whose sales are all zero but one week, or train with fewer controls per product.")
            })?;
            // Schur complement pieces: S −= Hsp Hpp⁻¹ Hps, r −= Hsp Hpp⁻¹ gp.
            if s > 0 {
                let t = hpp_f.solve_mat(&hps, s); // Hpp⁻¹ Hps
                let hg = hpp_f.solve(&gp);
                for a in 0..s {
                    r[a] -= (0..b).map(|m| hps[m * s + a] * hg[m]).sum::<f64>();
                    for c in a..s {
                        s_mat[a * s + c] -=
                            (0..b).map(|m| hps[m * s + a] * t[m * s + c]).sum::<f64>();
                    }
                }
            }
            blocks.push(Some(Block {
                hpp: hpp_f,
                hps,
                gp,
            }));
        }
        for a in 0..s {
            for c in 0..a {
                s_mat[a * s + c] = s_mat[c * s + a];
            }
        }
        let schur = if s > 0 {
            Some(Spd::factor_with(&s_mat, s, 0.0).ok_or_else(|| {
                Error::data("the controls are collinear (or constant) over the rows")
                    .with_hint("Drop a control that is constant or a combination of others.")
            })?)
        } else {
            None
        };
        let d_shared: Vec<f64> = schur.as_ref().map(|f| f.solve(&r)).unwrap_or_default();
        let mut d_theta: Vec<Vec<f64>> = Vec::with_capacity(np);
        let mut max_step = d_shared.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for blk in &blocks {
            match blk {
                None => d_theta.push(vec![0.0; b]),
                Some(blk) => {
                    let rhs: Vec<f64> = (0..b)
                        .map(|a| blk.gp[a] - dot(&blk.hps[a * s..(a + 1) * s], &d_shared))
                        .collect();
                    let d = blk.hpp.solve(&rhs);
                    max_step = d.iter().fold(max_step, |m, v| m.max(v.abs()));
                    d_theta.push(d);
                }
            }
        }
        // Step halving: never accept a step that lowers the likelihood.
        let mut step = 1.0;
        let (new_theta, new_shared, new_ll) = loop {
            let cand_theta: Vec<Vec<f64>> = theta
                .iter()
                .zip(&d_theta)
                .map(|(t, d)| t.iter().zip(d).map(|(a, b)| a + step * b).collect())
                .collect();
            let cand_shared: Vec<f64> = shared
                .iter()
                .zip(&d_shared)
                .map(|(a, b)| a + step * b)
                .collect();
            let cand_ll = log_lik(rows, layout, active, &cand_theta, &cand_shared, prior);
            if cand_ll.is_finite() && cand_ll >= ll - 1e-12 * ll.abs() {
                break (cand_theta, cand_shared, cand_ll);
            }
            step *= 0.5;
            if step < 1e-10 {
                break (theta.clone(), shared.clone(), ll);
            }
        };
        let gain = new_ll - ll;
        theta = new_theta;
        shared = new_shared;
        ll = new_ll;
        monitor.tick()?;
        let done = max_step * step < 1e-9 || gain.abs() < 1e-12 * (1.0 + ll.abs()) || step < 1e-10;
        if done || iterations >= max_iter {
            return Ok(Fit {
                theta,
                shared,
                blocks,
                schur,
                iterations,
            });
        }
    }
}

/// Covariance of a product's block: Hpp⁻¹ + Hpp⁻¹ Hps S⁻¹ Hsp Hpp⁻¹.
/// The covariance of a product's own parameters: Hpp⁻¹ + T S⁻¹ Tᵀ with T = Hpp⁻¹ Hps (the
/// inverse of the joint Hessian's block, by the Schur complement).
fn block_cov(blk: &Block, schur: Option<&Spd>, b: usize, s: usize) -> Vec<f64> {
    let mut cov = blk.hpp.inverse();
    let Some(schur) = schur else {
        return cov;
    };
    let t = blk.hpp.solve_mat(&blk.hps, s);
    let mut tt = vec![0.0; s * b];
    for a in 0..b {
        for c in 0..s {
            tt[c * b + a] = t[a * s + c];
        }
    }
    let st = schur.solve_mat(&tt, b); // S⁻¹ Tᵀ, s × b
    for a in 0..b {
        for c in 0..b {
            cov[a * b + c] += (0..s).map(|i| t[a * s + i] * st[i * b + c]).sum::<f64>();
        }
    }
    cov
}

/// DerSimonian–Laird random-effects mean and between-product variance of estimates with
/// standard errors.
pub fn random_effects(est: &[(f64, f64)]) -> (f64, f64) {
    let w: Vec<f64> = est.iter().map(|(_, se)| 1.0 / (se * se)).collect();
    let sw: f64 = w.iter().sum();
    let sw2: f64 = w.iter().map(|x| x * x).sum();
    let fixed = est.iter().zip(&w).map(|((e, _), w)| w * e).sum::<f64>() / sw;
    let q: f64 = est
        .iter()
        .zip(&w)
        .map(|((e, _), w)| w * (e - fixed).powi(2))
        .sum();
    let k = est.len() as f64;
    let tau2 = ((q - (k - 1.0)) / (sw - sw2 / sw)).max(0.0);
    let wr: Vec<f64> = est.iter().map(|(_, se)| 1.0 / (se * se + tau2)).collect();
    let mean = est.iter().zip(&wr).map(|((e, _), w)| w * e).sum::<f64>() / wr.iter().sum::<f64>();
    (mean, tau2)
}

/// Fits the model; `monitor` is ticked between Newton iterations (cancellation).
pub fn fit(
    input: DemandInput,
    opts: &DemandOptions,
    monitor: &mut dyn Monitor,
) -> Result<DemandModel> {
    let q = input.control_names.len();
    let n = input.price.len();
    let (keys, idx) = input.products.index();
    let np = keys.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&i| idx[i as usize]);
    let mut start = vec![0usize; np + 1];
    for &i in &idx {
        start[i as usize + 1] += 1;
    }
    for p in 0..np {
        start[p + 1] += start[p];
    }
    let lp: Vec<f64> = order
        .iter()
        .map(|&i| input.price[i as usize].ln())
        .collect();
    let y: Vec<f64> = order.iter().map(|&i| input.quantity[i as usize]).collect();
    let mut x = Vec::with_capacity(n * q);
    for &i in &order {
        x.extend_from_slice(&input.controls[i as usize * q..(i as usize + 1) * q]);
    }
    let mut mean_lp = vec![0.0; np];
    let mut lpc = lp.clone();
    for p in 0..np {
        let r = start[p]..start[p + 1];
        let m = lp[r.clone()].iter().sum::<f64>() / r.len() as f64;
        mean_lp[p] = m;
        for v in &mut lpc[r] {
            *v -= m;
        }
    }
    let rows = Rows {
        start,
        lpc,
        y,
        x,
        q,
    };
    let total: Vec<f64> = (0..np)
        .map(|p| rows.y[rows.range(p)].iter().sum())
        .collect();
    let active: Vec<bool> = total.iter().map(|&t| t > 0.0).collect();
    if !active.iter().any(|&a| a) {
        return Err(Error::data(
            "every row has zero units: there is no demand to model",
        ));
    }
    let log_mean = |p: usize| ((total[p] + 0.1) / rows.range(p).len() as f64).ln();

    // Stage 1: pooled elasticity, product intercepts, shared controls.
    let theta0: Vec<Vec<f64>> = (0..np).map(|p| vec![log_mean(p)]).collect();
    let mut shared0 = vec![0.0; 1 + q];
    shared0[0] = -1.5;
    let pooled = newton(
        &rows,
        Layout::Pooled,
        &active,
        theta0,
        shared0,
        &[],
        opts.max_iterations,
        monitor,
    )?;
    let e_pool = pooled.shared[0];
    let beta_pool = pooled.shared[1..].to_vec();

    // Stage 2: per-product elasticities (weak prior at the pooled value).
    let layout = if opts.per_product_controls {
        Layout::PerProduct
    } else {
        Layout::Shared
    };
    let (b, s) = layout.dims(q);
    let precision = 1.0 / (PRIOR_SD * PRIOR_SD);
    let mut prior = vec![(1usize, e_pool, precision)];
    if opts.per_product_controls {
        for (j, &beta) in beta_pool.iter().enumerate() {
            prior.push((2 + j, beta, precision));
        }
    }
    let theta1: Vec<Vec<f64>> = (0..np)
        .map(|p| {
            let mut t = vec![pooled.theta[p][0], e_pool];
            if opts.per_product_controls {
                t.extend_from_slice(&beta_pool);
            }
            t
        })
        .collect();
    let shared1 = if opts.per_product_controls {
        Vec::new()
    } else {
        beta_pool.clone()
    };
    let fit2 = newton(
        &rows,
        layout,
        &active,
        theta1,
        shared1,
        &prior,
        opts.max_iterations,
        monitor,
    )?;

    // Deviance, Pearson dispersion.
    let mut deviance = 0.0;
    let mut null_deviance = 0.0;
    let mut pearson = 0.0;
    let mut zp = vec![0.0; b];
    let mut zs = vec![0.0; s];
    for p in 0..np {
        let r = rows.range(p);
        let ybar = total[p] / r.len() as f64;
        for i in r {
            let yi = rows.y[i];
            let mu = if active[p] {
                rows.features(layout, i, &mut zp, &mut zs);
                (dot(&zp, &fit2.theta[p]) + dot(&zs, &fit2.shared)).exp()
            } else {
                0.0
            };
            let dev = |m: f64| {
                if yi > 0.0 {
                    2.0 * (yi * (yi / m).ln() - (yi - m))
                } else {
                    2.0 * m
                }
            };
            if active[p] {
                deviance += dev(mu);
                null_deviance += dev(ybar);
                pearson += (yi - mu).powi(2) / mu;
            }
        }
    }
    let n_active: usize = (0..np)
        .filter(|&p| active[p])
        .map(|p| rows.range(p).len())
        .sum();
    let n_params = active.iter().filter(|&&a| a).count() * b + s;
    let dispersion = if n_active > n_params {
        pearson / (n_active - n_params) as f64
    } else {
        1.0
    };
    let scale = dispersion.max(1.0);

    // Raw per-product estimates.
    let raw: Vec<Option<(f64, f64)>> = fit2
        .blocks
        .iter()
        .zip(&fit2.theta)
        .map(|(blk, theta)| {
            blk.as_ref().map(|blk| {
                let cov = block_cov(blk, fit2.schur.as_ref(), b, s);
                (theta[1], (cov[b + 1] * scale).sqrt())
            })
        })
        .collect();
    let shared_se: Vec<f64> = fit2
        .schur
        .as_ref()
        .map(|f| {
            f.inverse_diag()
                .iter()
                .map(|v| (v * scale).sqrt())
                .collect()
        })
        .unwrap_or_default();

    // Groups: each product's most frequent label.
    let group_of: Vec<Option<String>> = match &input.groups {
        None => vec![None; np],
        Some(g) => (0..np)
            .map(|p| {
                let mut labels: Vec<&str> = rows
                    .range(p)
                    .map(|i| g[order[i] as usize].as_str())
                    .collect();
                labels.sort_unstable();
                let mut best: (usize, &str) = (0, "");
                let mut i = 0;
                while i < labels.len() {
                    let j = labels[i..].iter().take_while(|l| **l == labels[i]).count();
                    if j > best.0 {
                        best = (j, labels[i]);
                    }
                    i += j;
                }
                Some(best.1.to_string())
            })
            .collect(),
    };

    // Empirical Bayes: overall pool, then groups with enough informative products.
    let informative = |p: usize| raw[p].filter(|(_, se)| se.is_finite() && *se < PRIOR_SD * 0.5);
    let all: Vec<(f64, f64)> = (0..np).filter_map(informative).collect();
    let (mean_all, tau2_all) = if all.len() >= 2 {
        random_effects(&all)
    } else {
        (e_pool, 0.0)
    };
    let mut pools = vec![Pool {
        group: None,
        mean: mean_all,
        tau: tau2_all.sqrt(),
        n_products: all.len(),
    }];
    if input.groups.is_some() {
        let mut labels: Vec<String> = group_of.iter().flatten().cloned().collect();
        labels.sort();
        labels.dedup();
        for g in labels {
            let members: Vec<(f64, f64)> = (0..np)
                .filter(|&p| group_of[p].as_deref() == Some(g.as_str()))
                .filter_map(informative)
                .collect();
            if members.len() >= MIN_GROUP {
                let (m, t2) = random_effects(&members);
                pools.push(Pool {
                    group: Some(g),
                    mean: m,
                    tau: t2.sqrt(),
                    n_products: members.len(),
                });
            }
        }
    }

    let mut products = Vec::with_capacity(np);
    for p in 0..np {
        let r = rows.range(p);
        let pool = group_of[p]
            .as_ref()
            .and_then(|g| pools.iter().find(|x| x.group.as_ref() == Some(g)))
            .unwrap_or(&pools[0]);
        let tau2 = pool.tau * pool.tau;
        let (elasticity, std_error, own_weight) = match raw[p] {
            Some((e, se)) if opts.shrinkage => {
                let w = if tau2 + se * se > 0.0 {
                    tau2 / (tau2 + se * se)
                } else {
                    0.0
                };
                (
                    w * e + (1.0 - w) * pool.mean,
                    (w * se * se)
                        .sqrt()
                        .max(if w == 0.0 { pool.tau } else { 0.0 }),
                    w,
                )
            }
            Some((e, se)) => (e, se, 1.0),
            None => (pool.mean, pool.tau, 0.0),
        };
        let mut controls = Vec::new();
        if opts.per_product_controls {
            controls = if active[p] {
                fit2.theta[p][2..].to_vec()
            } else {
                beta_pool.clone()
            };
        }
        let beta: &[f64] = if opts.per_product_controls {
            &controls
        } else {
            &fit2.shared
        };
        // Intercept re-fitted for the elasticity used: Σ y = Σ exp(a + e·lpc + x·β).
        let denom: f64 = r
            .clone()
            .map(|i| (elasticity * rows.lpc[i] + dot(&rows.x[i * q..(i + 1) * q], beta)).exp())
            .sum();
        let intercept = ((total[p].max(0.0) + if total[p] > 0.0 { 0.0 } else { 0.5 }) / denom).ln();
        let mut control_means = vec![0.0; q];
        for i in r.clone() {
            for (m, v) in control_means.iter_mut().zip(&rows.x[i * q..(i + 1) * q]) {
                *m += v;
            }
        }
        for v in &mut control_means {
            *v /= r.len() as f64;
        }
        let mut prices: Vec<f64> = r.clone().map(|i| rows.lpc[i]).collect();
        prices.sort_by(f64::total_cmp);
        prices.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
        let lo = r.clone().map(|i| rows.lpc[i]).fold(f64::INFINITY, f64::min);
        let hi = r
            .clone()
            .map(|i| rows.lpc[i])
            .fold(f64::NEG_INFINITY, f64::max);
        products.push(ProductDemand {
            elasticity,
            std_error,
            raw_elasticity: raw[p].map(|r| r.0),
            raw_std_error: raw[p].map(|r| r.1),
            intercept,
            mean_log_price: mean_lp[p],
            controls,
            control_means,
            n_obs: r.len() as u64,
            total_units: total[p],
            distinct_prices: prices.len() as u32,
            min_price: (mean_lp[p] + lo).exp(),
            max_price: (mean_lp[p] + hi).exp(),
            own_weight,
            shrunk: own_weight < SHRUNK_BELOW,
            group: group_of[p].clone(),
        });
    }
    Ok(DemandModel {
        product_keys: keys,
        products,
        control_names: input.control_names,
        per_product_controls: opts.per_product_controls,
        shared_controls: if opts.per_product_controls {
            Vec::new()
        } else {
            fit2.shared.clone()
        },
        shared_std_errors: if opts.per_product_controls {
            Vec::new()
        } else {
            shared_se
        },
        pooled_elasticity: e_pool,
        pools,
        dispersion,
        deviance,
        null_deviance,
        n_obs: n as u64,
        iterations: pooled.iterations + fit2.iterations,
    })
}

/// What `train_demand` reports of a fit (its `metrics`, less the reader's counts).
#[derive(Clone, Debug, Serialize)]
pub struct DemandMetrics {
    pub n_products: usize,
    pub n_obs: u64,
    pub pooled_elasticity: f64,
    pub elasticity_spread: f64,
    pub median_elasticity: f64,
    /// Products whose estimate leans on the pool more than on their own data.
    pub shrunk_products: usize,
    /// Products with elasticity ≥ −1, whose profit grows with price up to the bounds.
    pub inelastic_products: usize,
    /// The shared control effects, by control (with shared controls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controls: Option<BTreeMap<String, ControlEffect>>,
    pub dispersion: f64,
    pub deviance: f64,
    pub null_deviance: f64,
    pub deviance_explained: f64,
    pub iterations: usize,
    /// The groups' pools (with `group_by`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupPool>,
}

/// A shared control's effect on log demand.
#[derive(Clone, Debug, Serialize)]
pub struct ControlEffect {
    pub coefficient: f64,
    pub std_error: f64,
    /// exp(coefficient): the demand multiplier of one unit of the control.
    pub multiplier: f64,
}

/// A group's pooled elasticity.
#[derive(Clone, Debug, Serialize)]
pub struct GroupPool {
    pub group: Option<String>,
    pub elasticity: f64,
    pub spread: f64,
    pub products: usize,
}

impl DemandModel {
    /// The fit's metrics.
    pub fn metrics(&self) -> DemandMetrics {
        let mut e: Vec<f64> = self.products.iter().map(|p| p.elasticity).collect();
        e.sort_by(f64::total_cmp);
        let controls = self.control_names.iter().zip(&self.shared_controls);
        let controls = controls
            .zip(&self.shared_std_errors)
            .map(|((name, &c), &se)| {
                let effect = ControlEffect {
                    coefficient: c,
                    std_error: se,
                    multiplier: c.exp(),
                };
                (name.clone(), effect)
            });
        let groups = self.pools.iter().skip(1).map(|p| GroupPool {
            group: p.group.clone(),
            elasticity: p.mean,
            spread: p.tau,
            products: p.n_products,
        });
        DemandMetrics {
            n_products: self.products.len(),
            n_obs: self.n_obs,
            pooled_elasticity: self.pools[0].mean,
            elasticity_spread: self.pools[0].tau,
            median_elasticity: e.get(e.len() / 2).copied().unwrap_or(f64::NAN),
            shrunk_products: self.products.iter().filter(|p| p.shrunk).count(),
            inelastic_products: self
                .products
                .iter()
                .filter(|p| p.elasticity >= -1.0)
                .count(),
            controls: (!self.shared_controls.is_empty()).then(|| controls.collect()),
            dispersion: self.dispersion,
            deviance: self.deviance,
            null_deviance: self.null_deviance,
            deviance_explained: if self.null_deviance > 0.0 {
                1.0 - self.deviance / self.null_deviance
            } else {
                0.0
            },
            iterations: self.iterations,
            groups: groups.collect(),
        }
    }

    /// Expected units of product `p` at `price`, with controls at `at` (None: the product's
    /// means).
    pub fn expected_quantity(&self, p: usize, price: f64, at: Option<&[f64]>) -> f64 {
        let d = &self.products[p];
        let x = at.unwrap_or(&d.control_means);
        let beta = if self.per_product_controls {
            &d.controls
        } else {
            &self.shared_controls
        };
        (d.intercept + d.elasticity * (price.ln() - d.mean_log_price) + dot(x, beta)).exp()
    }
}

/// Options of `train_demand`.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandTrainOptions {
    pub per_product_controls: bool,
    pub group_by: Option<String>,
    pub shrinkage: bool,
    pub max_iterations: usize,
    pub deploy: bool,
}

impl DemandTrainOptions {
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self> {
        crate::options::parse("train_demand", value, |o| {
            Ok(DemandTrainOptions {
                per_product_controls: o.choice("controls", "shared", &["shared", "per_product"])?
                    == "per_product",
                group_by: o.string("group_by")?,
                shrinkage: o.boolean("shrinkage", true)?,
                max_iterations: o.integer("max_iterations", 100, 1, 1000)? as usize,
                deploy: o.boolean("deploy", true)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_effects_with_equal_errors_is_the_moment_estimate() {
        // With equal standard errors, DerSimonian–Laird gives τ² = sample variance − se².
        let e = [-1.0, -2.0, -2.5, -3.0, -1.5];
        let se = 0.3;
        let est: Vec<(f64, f64)> = e.iter().map(|&x| (x, se)).collect();
        let (mean, tau2) = random_effects(&est);
        let m = e.iter().sum::<f64>() / 5.0;
        let var = e.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 4.0;
        assert!((mean - m).abs() < 1e-12);
        assert!(
            (tau2 - (var - se * se)).abs() < 1e-12,
            "{tau2} vs {}",
            var - se * se
        );
        // Estimates closer together than their errors: no spread, everything pooled.
        let tight: Vec<(f64, f64)> = [-2.0, -2.1, -1.9].iter().map(|&x| (x, 1.0)).collect();
        assert_eq!(random_effects(&tight).1, 0.0);
    }
}
