//! Implicit-feedback matrix factorisation (Hu, Koren and Volinsky 2008).
//!
//! Every observed (user, item) pair with weight r has preference 1 and confidence
//! c = 1 + alpha·r; every unobserved pair has preference 0 and confidence 1. Alternating
//! least squares fixes the item factors Y and solves, for each user,
//! (YᵀY + Yᵀ(C_u − I)Y + λI) x_u = Yᵀ C_u p_u, then the same for items. As in Takács, Pilászy
//! and Tikk (2011), each solve is a few conjugate-gradient steps warm-started from the previous
//! factors, so one row costs O(k² + n_u·k) instead of a k×k factorisation.
//!
//! Rows are solved independently on the rayon pool the caller gives, in blocks; between blocks
//! control returns to the calling thread through [`Monitor`], which is where the SQL layer
//! checks for cancellation. Results do not depend on the number of threads.

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::math::csr::Csr;
use crate::math::{axpy, dot};
use crate::monitor::Monitor;
use crate::rng::Rng;

/// Hyper-parameters of a fit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AlsParams {
    pub factors: usize,
    pub iterations: usize,
    pub regularization: f32,
    pub alpha: f32,
    pub cg_steps: usize,
    pub seed: u64,
}

impl Default for AlsParams {
    fn default() -> Self {
        AlsParams {
            factors: 64,
            iterations: 15,
            regularization: 10.0,
            alpha: 1.0,
            cg_steps: 3,
            seed: 42,
        }
    }
}

/// User and item factors, row-major (`k` values per row).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Factors {
    pub k: usize,
    pub users: Vec<f32>,
    pub items: Vec<f32>,
}

impl Factors {
    /// Small random starting values, a pure function of (seed, row) so that the start does not
    /// depend on threads.
    pub fn init(n_users: usize, n_items: usize, k: usize, seed: u64) -> Factors {
        let fill = |n: usize, salt: u64| {
            let mut out = vec![0f32; n * k];
            for (r, row) in out.chunks_exact_mut(k).enumerate() {
                let mut rng =
                    Rng::new(seed ^ salt ^ (r as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                for v in row {
                    *v = (rng.next_f64() * 0.01) as f32;
                }
            }
            out
        };
        Factors {
            k,
            users: fill(n_users, 0x1111),
            items: fill(n_items, 0x2222_0000),
        }
    }

    pub fn user(&self, u: usize) -> &[f32] {
        &self.users[u * self.k..(u + 1) * self.k]
    }

    pub fn item(&self, i: usize) -> &[f32] {
        &self.items[i * self.k..(i + 1) * self.k]
    }
}

/// Rows per block between two monitor ticks.
const BLOCK_ROWS: usize = 8192;

/// Gram matrix FᵀF (k×k) of row-major factors, summed in fixed blocks so the result is the
/// same for any number of threads.
pub fn gram(f: &[f32], k: usize, pool: &ThreadPool) -> Vec<f32> {
    let parts: Vec<Vec<f64>> = pool.install(|| {
        f.par_chunks(k * 2048)
            .map(|block| {
                let mut g = vec![0f64; k * k];
                for row in block.chunks_exact(k) {
                    for a in 0..k {
                        let ra = row[a] as f64;
                        if ra == 0.0 {
                            continue;
                        }
                        let ga = &mut g[a * k..a * k + k];
                        for b in a..k {
                            ga[b] += ra * row[b] as f64;
                        }
                    }
                }
                g
            })
            .collect()
    });
    let mut g = vec![0f64; k * k];
    for p in parts {
        for (x, y) in g.iter_mut().zip(p) {
            *x += y;
        }
    }
    let mut out = vec![0f32; k * k];
    for a in 0..k {
        for b in a..k {
            out[a * k + b] = g[a * k + b] as f32;
            out[b * k + a] = g[a * k + b] as f32;
        }
    }
    out
}

struct Scratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

/// Conjugate-gradient steps for one row `x` against the other side's factors `y`.
#[allow(clippy::too_many_arguments)]
fn solve_row(
    x: &mut [f32],
    cols: &[u32],
    weights: &[f32],
    y: &[f32],
    yty: &[f32],
    reg: f32,
    alpha: f32,
    steps: usize,
    s: &mut Scratch,
) {
    let k = x.len();
    let Scratch { r, p, ap } = s;
    // r = b − A x, with A x = YᵀY x + λx + Σ (c−1)(y·x) y and b = Σ c y.
    for a in 0..k {
        r[a] = -dot(&yty[a * k..a * k + k], x) - reg * x[a];
    }
    for (&i, &w) in cols.iter().zip(weights) {
        let yi = &y[i as usize * k..i as usize * k + k];
        let c = 1.0 + alpha * w;
        let coef = c - (c - 1.0) * dot(yi, x);
        axpy(coef, yi, r);
    }
    p.copy_from_slice(r);
    let mut rs_old = dot(r, r);
    for _ in 0..steps {
        if rs_old < 1e-20 {
            break;
        }
        for a in 0..k {
            ap[a] = dot(&yty[a * k..a * k + k], p) + reg * p[a];
        }
        for (&i, &w) in cols.iter().zip(weights) {
            let yi = &y[i as usize * k..i as usize * k + k];
            let coef = alpha * w * dot(yi, p);
            axpy(coef, yi, ap);
        }
        let pap = dot(p, ap);
        if pap <= 0.0 || !pap.is_finite() {
            break;
        }
        let step = rs_old / pap;
        axpy(step, p, x);
        axpy(-step, ap, r);
        let rs_new = dot(r, r);
        let beta = rs_new / rs_old;
        for (pa, ra) in p.iter_mut().zip(r.iter()) {
            *pa = ra + beta * *pa;
        }
        rs_old = rs_new;
    }
}

/// Re-solves every row of `x` (rows of `m`) given the fixed factors `y`.
#[allow(clippy::too_many_arguments)]
fn half_step(
    m: &Csr,
    x: &mut [f32],
    y: &[f32],
    k: usize,
    p: &AlsParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<()> {
    let yty = gram(y, k, pool);
    let n = m.n_rows();
    let mut start = 0;
    for block in x.chunks_mut(BLOCK_ROWS * k) {
        pool.install(|| {
            block
                .par_chunks_mut(k * 64)
                .enumerate()
                .for_each(|(c, rows)| {
                    let mut s = Scratch {
                        r: vec![0.0; k],
                        p: vec![0.0; k],
                        ap: vec![0.0; k],
                    };
                    for (j, xr) in rows.chunks_exact_mut(k).enumerate() {
                        let row = start + c * 64 + j;
                        let (cols, w) = m.row(row);
                        solve_row(
                            xr,
                            cols,
                            w,
                            y,
                            &yty,
                            p.regularization,
                            p.alpha,
                            p.cg_steps,
                            &mut s,
                        );
                    }
                })
        });
        start += block.len() / k;
        monitor.tick()?;
    }
    debug_assert_eq!(start, n);
    Ok(())
}

/// The weighted implicit loss Σ c (p − x·y)² + λ(‖X‖² + ‖Y‖²), divided by the number of
/// (user, item) cells.
pub fn loss(by_user: &Csr, f: &Factors, p: &AlsParams, pool: &ThreadPool) -> f64 {
    let k = f.k;
    let yty = gram(&f.items, k, pool);
    let n_users = by_user.n_rows();
    let total: f64 = pool.install(|| {
        (0..n_users)
            .into_par_iter()
            .with_min_len(256)
            .map(|u| {
                let x = f.user(u);
                let mut t = vec![0f32; k];
                for a in 0..k {
                    t[a] = dot(&yty[a * k..a * k + k], x);
                }
                let mut l = dot(&t, x) as f64;
                let (cols, w) = by_user.row(u);
                for (&i, &wi) in cols.iter().zip(w) {
                    let s = dot(f.item(i as usize), x) as f64;
                    let c = 1.0 + (p.alpha * wi) as f64;
                    l += c * (1.0 - s) * (1.0 - s) - s * s;
                }
                l + p.regularization as f64 * dot(x, x) as f64
            })
            .sum::<f64>()
    });
    let reg_items: f64 = f
        .items
        .chunks_exact(k)
        .map(|r| dot(r, r) as f64)
        .sum::<f64>()
        * p.regularization as f64;
    let cells = (n_users as f64 * (f.items.len() / k.max(1)) as f64).max(1.0);
    (total + reg_items) / cells
}

/// Runs `p.iterations` alternating steps from the given factors.
pub fn fit(
    by_user: &Csr,
    by_item: &Csr,
    f: &mut Factors,
    p: &AlsParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<()> {
    let k = f.k;
    for it in 1..=p.iterations {
        half_step(by_user, &mut f.users, &f.items, k, p, pool, monitor)?;
        half_step(by_item, &mut f.items, &f.users, k, p, pool, monitor)?;
        let l = if monitor.wants_loss() {
            Some(loss(by_user, f, p, pool))
        } else {
            None
        };
        monitor.iteration(it, l)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::keys::RawKeys;
    use crate::monitor::Quiet;
    use crate::recommend::interactions::Interactions;

    use crate::monitor::test_pool as pool;

    /// Two blocks of users who each like one block of items.
    fn blocks() -> Interactions {
        let mut u = Vec::new();
        let mut i = Vec::new();
        for user in 0..40i64 {
            for item in 0..10i64 {
                // About 70% of each block, in no pattern a few factors could learn.
                if crate::hash::mix64((user * 31 + item) as u64) % 10 < 7 {
                    u.push(user);
                    i.push(if user < 20 { item } else { item + 10 });
                }
            }
        }
        let n = u.len();
        Interactions::build(RawKeys::Int(u), RawKeys::Int(i), vec![1.0; n], None)
    }

    #[test]
    fn cg_matches_a_direct_solve() {
        // One user against fixed item factors: many CG steps reach the exact solution.
        let k = 3;
        let y: Vec<f32> = vec![1.0, 0.2, 0.0, 0.1, 1.0, 0.3, 0.5, 0.5, 1.0, 0.9, 0.1, 0.4];
        let pool = pool(1);
        let yty = gram(&y, k, &pool);
        let (cols, w) = (vec![0u32, 2], vec![1.0f32, 3.0]);
        let (reg, alpha) = (0.1f32, 2.0f32);
        let mut x = vec![0.0f32; k];
        let mut s = Scratch {
            r: vec![0.0; k],
            p: vec![0.0; k],
            ap: vec![0.0; k],
        };
        solve_row(&mut x, &cols, &w, &y, &yty, reg, alpha, 10, &mut s);
        // Direct: A = YᵀY + λI + Σ (c−1) y yᵀ, b = Σ c y.
        let mut a = vec![0f64; 9];
        let mut b = [0f64; 3];
        for r in 0..3 {
            for c in 0..3 {
                a[r * 3 + c] = yty[r * 3 + c] as f64 + if r == c { reg as f64 } else { 0.0 };
            }
        }
        for (&i, &wi) in cols.iter().zip(&w) {
            let yi = &y[i as usize * 3..i as usize * 3 + 3];
            let c = 1.0 + (alpha * wi) as f64;
            for r in 0..3 {
                b[r] += c * yi[r] as f64;
                for q in 0..3 {
                    a[r * 3 + q] += (c - 1.0) * yi[r] as f64 * yi[q] as f64;
                }
            }
        }
        let exact = crate::math::linalg::Spd::factor(&a, 3).unwrap().solve(&b);
        for r in 0..3 {
            let want = exact[r];
            assert!((x[r] as f64 - want).abs() < 1e-4, "{r}: {} vs {want}", x[r]);
        }
    }

    #[test]
    fn learns_blocks_and_loss_falls_and_is_thread_independent() {
        let d = blocks();
        let by_item = d.by_user.transpose(d.n_items());
        let p = AlsParams {
            factors: 4,
            iterations: 8,
            regularization: 0.1,
            alpha: 10.0,
            ..AlsParams::default()
        };
        let run = |threads: usize| {
            let pool = pool(threads);
            let mut f = Factors::init(d.n_users(), d.n_items(), 4, 7);
            let l0 = loss(&d.by_user, &f, &p, &pool);
            fit(&d.by_user, &by_item, &mut f, &p, &pool, &mut Quiet).unwrap();
            let l1 = loss(&d.by_user, &f, &p, &pool);
            assert!(l1 < l0 * 0.5, "loss {l0} -> {l1}");
            f
        };
        let f1 = run(1);
        let f2 = run(2);
        assert_eq!(f1.users, f2.users);
        assert_eq!(f1.items, f2.items);
        // Every first-block user scores the first-block items it has not seen above the
        // second-block items, on average.
        for u in 0..20usize {
            let (seen, _) = d.by_user.row(u);
            let score = |i: &u32| dot(f1.user(u), f1.item(*i as usize)) as f64;
            let own: Vec<f64> = (0..10u32)
                .filter(|i| !seen.contains(i))
                .map(|i| score(&i))
                .collect();
            let other: Vec<f64> = (10..20u32).map(|i| score(&i)).collect();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            assert!(
                mean(&own) > mean(&other) + 0.1,
                "user {u}: {own:?} vs {other:?}"
            );
        }
    }
}
