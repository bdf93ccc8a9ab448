//! k-means segments: k-means++ seeding (greedy, 2 + ln k candidates per step, as
//! Arthur & Vassilvitskii and scikit-learn do), Lloyd iterations on the pool, `n_init` restarts
//! keeping the lowest inertia. Features are standardised (z-scores) unless told otherwise;
//! centroids are reported in the original units.

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::data::prep::Prep;
use crate::data::prep::PrepOptions;
use crate::error::{Error, Result};
use crate::math::moments::{column_moments, standardize};
use crate::model::{self, ensure, Answer, Model, Row, Want};
use crate::monitor::Monitor;
use crate::options::{pipeline, prep_options, Pipeline};
use crate::rng::Rng;

/// k-means models in the registry (format 1 and 2 bodies are the same).
pub use crate::model::KMEANS as KIND;

impl Model for KMeansModel {
    fn validate(&self) -> Result<()> {
        let p = self.features.len();
        let k = self.sizes.len();
        ensure(
            &KIND,
            p == self.prep.dense_width
                && self.center.len() == p
                && self.scale.len() == p
                && k > 0
                && self.centroids.len() == k * p,
            "centroids that do not fit its features",
        )
    }

    fn prep(&self) -> Option<&Prep> {
        Some(&self.prep)
    }

    fn predict(&self, model_name: &str, row: &Row, want: Want) -> Result<Answer<'_>> {
        let segment = self.assign(row.dense);
        Ok(match (want, segment) {
            (Want::Probability, _) => return Err(model::no_probability(model_name, &KIND)),
            (_, None) => Answer::Null,
            (Want::Value, Some(j)) => Answer::Number(j as f64),
            (Want::Label, Some(j)) => Answer::Text(j.to_string().into()),
        })
    }

    fn memory_bytes(&self) -> usize {
        self.prep.memory_bytes() + 8 * (self.centroids.len() + 3 * self.features.len()) + 256
    }
}

#[derive(Clone, Debug)]
pub struct KMeansParams {
    pub k: usize,
    pub n_init: usize,
    pub max_iter: usize,
    /// Stop when no centroid moves more than `tol` × the mean feature variance (squared).
    pub tol: f64,
    pub seed: u64,
    pub standardize: bool,
}

/// A fitted segmentation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KMeansModel {
    /// The preparation of input columns; `features` are its dense outputs.
    pub prep: Prep,
    pub features: Vec<String>,
    /// Per feature: mean and standard deviation used to standardise (0 and 1 when not).
    pub center: Vec<f64>,
    pub scale: Vec<f64>,
    /// k × p centroids in standardised units.
    pub centroids: Vec<f64>,
    pub sizes: Vec<u64>,
    /// Sum of squared distances to the nearest centroid, in the units the fit used.
    pub inertia: f64,
    pub iterations: usize,
}

const CHUNK: usize = 4096;

#[inline]
fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Nearest centroid and its squared distance.
#[inline]
fn nearest(x: &[f64], centroids: &[f64], p: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, c) in centroids.chunks_exact(p).enumerate() {
        let d = dist2(x, c);
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

fn seed_plus_plus(x: &[f64], p: usize, k: usize, rng: &mut Rng, pool: &ThreadPool) -> Vec<f64> {
    let n = x.len() / p;
    let trials = 2 + (k as f64).ln() as usize;
    let mut centroids = Vec::with_capacity(k * p);
    let first = rng.below(n as u64) as usize;
    centroids.extend_from_slice(&x[first * p..(first + 1) * p]);
    let mut d2: Vec<f64> =
        pool.install(|| x.par_chunks(p).map(|r| dist2(r, &centroids[..p])).collect());
    for _ in 1..k {
        let total: f64 = d2.iter().sum();
        let mut best: Option<(f64, Vec<f64>, usize)> = None;
        for _ in 0..trials {
            // Draw a row with probability ∝ d².
            let mut target = rng.next_f64() * total;
            let mut pick = n - 1;
            for (i, d) in d2.iter().enumerate() {
                if target < *d {
                    pick = i;
                    break;
                }
                target -= d;
            }
            let cand = &x[pick * p..(pick + 1) * p];
            let new_d2: Vec<f64> = pool.install(|| {
                x.par_chunks(p)
                    .zip(d2.par_iter())
                    .map(|(r, &d)| d.min(dist2(r, cand)))
                    .collect()
            });
            let pot: f64 = new_d2.iter().sum();
            if best.as_ref().is_none_or(|b| pot < b.0) {
                best = Some((pot, new_d2, pick));
            }
        }
        let (_, new_d2, pick) = best.expect("at least one trial");
        centroids.extend_from_slice(&x[pick * p..(pick + 1) * p]);
        d2 = new_d2;
    }
    centroids
}

/// Lloyd iterations from `centroids`; returns (centroids, sizes, inertia, iterations).
fn lloyd(
    x: &[f64],
    p: usize,
    mut centroids: Vec<f64>,
    params: &KMeansParams,
    tol: f64,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<(Vec<f64>, Vec<u64>, f64, usize)> {
    let k = centroids.len() / p;
    let mut iterations = 0;
    loop {
        iterations += 1;
        // Sums per centroid, in fixed chunks merged in order (deterministic for any pool size).
        let parts: Vec<(Vec<f64>, Vec<u64>)> = pool.install(|| {
            x.par_chunks(CHUNK * p)
                .map(|block| {
                    let mut sums = vec![0.0; k * p];
                    let mut counts = vec![0u64; k];
                    for r in block.chunks_exact(p) {
                        let (j, _) = nearest(r, &centroids, p);
                        counts[j] += 1;
                        for (s, v) in sums[j * p..(j + 1) * p].iter_mut().zip(r) {
                            *s += v;
                        }
                    }
                    (sums, counts)
                })
                .collect()
        });
        let mut sums = vec![0.0; k * p];
        let mut counts = vec![0u64; k];
        for (s, c) in parts {
            for (a, b) in sums.iter_mut().zip(s) {
                *a += b;
            }
            for (a, b) in counts.iter_mut().zip(c) {
                *a += b;
            }
        }
        let mut shift = 0.0f64;
        let mut next = centroids.clone();
        for j in 0..k {
            if counts[j] > 0 {
                for f in 0..p {
                    next[j * p + f] = sums[j * p + f] / counts[j] as f64;
                }
            }
            shift = shift.max(dist2(
                &next[j * p..(j + 1) * p],
                &centroids[j * p..(j + 1) * p],
            ));
        }
        centroids = next;
        monitor.tick()?;
        if shift <= tol || iterations >= params.max_iter {
            // Final assignment against the last centroids, for sizes and inertia.
            let (sizes, inertia) = assign_all(x, p, &centroids, pool);
            return Ok((centroids, sizes, inertia, iterations));
        }
    }
}

/// Sizes and inertia of the assignment of every row to its nearest centroid.
fn assign_all(x: &[f64], p: usize, centroids: &[f64], pool: &ThreadPool) -> (Vec<u64>, f64) {
    let k = centroids.len() / p;
    let parts: Vec<(Vec<u64>, f64)> = pool.install(|| {
        x.par_chunks(CHUNK * p)
            .map(|block| {
                let mut counts = vec![0u64; k];
                let mut inertia = 0.0;
                for r in block.chunks_exact(p) {
                    let (j, d) = nearest(r, centroids, p);
                    counts[j] += 1;
                    inertia += d;
                }
                (counts, inertia)
            })
            .collect()
    });
    let mut counts = vec![0u64; k];
    let mut inertia = 0.0;
    for (c, i) in parts {
        for (a, b) in counts.iter_mut().zip(c) {
            *a += b;
        }
        inertia += i;
    }
    (counts, inertia)
}

/// Bytes a training holds per row of `n_inputs` input columns: the raw cells, their prepared
/// copy and the distances of the seeding.
pub fn memory_per_row(n_inputs: usize) -> usize {
    n_inputs * 8 * 3 + 8
}

/// Fits k-means on `x` (row-major, `features.len()` values per row, no NaN).
pub fn fit(
    mut x: Vec<f64>,
    features: Vec<String>,
    params: &KMeansParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<KMeansModel> {
    let p = features.len();
    let n = x.len().checked_div(p).unwrap_or(0);
    if n < params.k {
        return Err(Error::data(format!(
            "k-means with k = {} needs at least {} rows, got {n}",
            params.k, params.k
        )));
    }
    let (center, scale) = if params.standardize {
        standardize(&mut x, p)
    } else {
        (vec![0.0; p], vec![1.0; p])
    };
    // Tolerance relative to the data's spread, as scikit-learn does.
    let mean_var = column_moments(&x, p).iter().map(|(_, v)| v).sum::<f64>() / p.max(1) as f64;
    let tol = params.tol * mean_var;
    let mut rng = Rng::new(params.seed);
    let mut best: Option<(Vec<f64>, Vec<u64>, f64, usize)> = None;
    for _ in 0..params.n_init.max(1) {
        let mut run_rng = rng.fork();
        let start = seed_plus_plus(&x, p, params.k, &mut run_rng, pool);
        monitor.tick()?;
        let run = lloyd(&x, p, start, params, tol, pool, monitor)?;
        if best.as_ref().is_none_or(|b| run.2 < b.2) {
            best = Some(run);
        }
    }
    let (centroids, sizes, inertia, iterations) = best.expect("n_init >= 1");
    Ok(KMeansModel {
        prep: Prep::identity(&features),
        features,
        center,
        scale,
        centroids,
        sizes,
        inertia,
        iterations,
    })
}

impl KMeansModel {
    pub fn k(&self) -> usize {
        self.sizes.len()
    }

    /// The segment of a row in original units (None when a value is NaN).
    pub fn assign(&self, x: &[f64]) -> Option<usize> {
        let p = self.features.len();
        if x.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let z: Vec<f64> = (0..p)
            .map(|f| (x[f] - self.center[f]) / self.scale[f])
            .collect();
        Some(nearest(&z, &self.centroids, p).0)
    }

    /// An update from new rows `x` (prepared, row-major): the stored centroids weigh as their
    /// segments' sizes times `decay`, pseudo-rows the new rows are pooled with, so each step
    /// moves a centroid to (w·c + Σ new rows nearest it) / (w + their count); up to
    /// `iterations` steps, stopping when no row changes segment (one step is the mini-batch
    /// update of Sculley 2010 with per-centre rates 1/size). Returns the model (sizes w + n,
    /// inertia over the new rows) and the steps taken.
    pub fn update(&self, x: &[f64], decay: f64, iterations: usize) -> (KMeansModel, usize) {
        let (p, k) = (self.features.len(), self.k());
        let z: Vec<f64> = x
            .chunks_exact(p.max(1))
            .flat_map(|r| (0..p).map(move |f| (r[f] - self.center[f]) / self.scale[f]))
            .collect();
        let n = z.len().checked_div(p).unwrap_or(0);
        let w: Vec<f64> = self.sizes.iter().map(|&s| s as f64 * decay).collect();
        let mut centroids = self.centroids.clone();
        let mut assigned = vec![usize::MAX; n];
        let mut steps = 0;
        while steps < iterations.max(1) {
            steps += 1;
            let mut changed = false;
            let mut sums = vec![0.0; k * p];
            let mut counts = vec![0u64; k];
            for (i, row) in z.chunks_exact(p.max(1)).enumerate() {
                let (j, _) = nearest(row, &centroids, p);
                changed |= assigned[i] != j;
                assigned[i] = j;
                counts[j] += 1;
                for (s, v) in sums[j * p..(j + 1) * p].iter_mut().zip(row) {
                    *s += v;
                }
            }
            if !changed && steps > 1 {
                break;
            }
            for j in 0..k {
                let mass = w[j] + counts[j] as f64;
                if mass > 0.0 {
                    for f in 0..p {
                        let old = self.centroids[j * p + f];
                        centroids[j * p + f] = (w[j] * old + sums[j * p + f]) / mass;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut counts = vec![0u64; k];
        let mut inertia = 0.0;
        for row in z.chunks_exact(p.max(1)) {
            let (j, d) = nearest(row, &centroids, p);
            counts[j] += 1;
            inertia += d;
        }
        let sizes = w
            .iter()
            .zip(&counts)
            .map(|(w, c)| w.round() as u64 + c)
            .collect();
        (
            KMeansModel {
                centroids,
                sizes,
                inertia,
                iterations: steps,
                ..self.clone()
            },
            steps,
        )
    }

    /// Centroid `j` in original units.
    pub fn centroid(&self, j: usize) -> Vec<f64> {
        let p = self.features.len();
        (0..p)
            .map(|f| self.centroids[j * p + f] * self.scale[f] + self.center[f])
            .collect()
    }
}

/// Options of `train_kmeans`.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansOptions {
    pub prep: PrepOptions,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
    pub pipeline: Pipeline,
}

impl KMeansOptions {
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self> {
        crate::options::parse("train_kmeans", value, |o| {
            Ok(KMeansOptions {
                prep: prep_options(o, true)?,
                n_init: o.integer("n_init", 4, 1, 100)? as usize,
                max_iter: o.integer("max_iter", 300, 1, 100_000)? as usize,
                tol: o.number("tol", 1e-4, (0.0, true), (1.0, true))?,
                seed: o.integer("seed", 42, 0, i64::MAX)? as u64,
                pipeline: pipeline(o, None)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Quiet;

    fn pool() -> ThreadPool {
        crate::monitor::test_pool(2)
    }

    /// Three tight blobs far apart: the optimum is known (the blob means).
    fn blobs() -> (Vec<f64>, f64) {
        let mut rng = Rng::new(5);
        let centers = [(0.0, 0.0), (10.0, 10.0), (-10.0, 10.0)];
        let mut x = Vec::new();
        let mut within = 0.0;
        for (i, &(cx, cy)) in centers.iter().enumerate() {
            let pts: Vec<(f64, f64)> = (0..200 + 50 * i)
                .map(|_| (cx + rng.normal() * 0.5, cy + rng.normal() * 0.5))
                .collect();
            let mx = pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64;
            let my = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
            within += pts
                .iter()
                .map(|p| (p.0 - mx).powi(2) + (p.1 - my).powi(2))
                .sum::<f64>();
            for p in pts {
                x.push(p.0);
                x.push(p.1);
            }
        }
        (x, within)
    }

    #[test]
    fn finds_the_blobs_and_their_inertia() {
        let (x, within) = blobs();
        let params = KMeansParams {
            k: 3,
            n_init: 4,
            max_iter: 300,
            tol: 1e-6,
            seed: 1,
            standardize: false,
        };
        let m = fit(
            x,
            vec!["a".into(), "b".into()],
            &params,
            &pool(),
            &mut Quiet,
        )
        .unwrap();
        assert!(
            (m.inertia - within).abs() < 1e-6 * within,
            "{} vs {within}",
            m.inertia
        );
        let mut sizes = m.sizes.clone();
        sizes.sort();
        assert_eq!(sizes, vec![200, 250, 300]);
        let s = m.assign(&[9.0, 11.0]).unwrap();
        let c = m.centroid(s);
        assert!(
            (c[0] - 10.0).abs() < 0.2 && (c[1] - 10.0).abs() < 0.2,
            "{c:?}"
        );
        assert_eq!(m.assign(&[f64::NAN, 0.0]), None);
    }

    #[test]
    fn standardised_fit_reports_original_units_and_is_thread_independent() {
        let (mut x, _) = blobs();
        for r in x.chunks_exact_mut(2) {
            r[1] *= 1000.0; // a feature in other units
        }
        let params = KMeansParams {
            k: 3,
            n_init: 2,
            max_iter: 300,
            tol: 1e-6,
            seed: 3,
            standardize: true,
        };
        let f = vec!["a".into(), "b".into()];
        let m1 = fit(x.clone(), f.clone(), &params, &pool(), &mut Quiet).unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let m2 = fit(x, f, &params, &one, &mut Quiet).unwrap();
        assert_eq!(m1.centroids, m2.centroids);
        let s = m1.assign(&[10.0, 10_000.0]).unwrap();
        let c = m1.centroid(s);
        assert!((c[1] - 10_000.0).abs() < 200.0, "{c:?}");
    }
}
