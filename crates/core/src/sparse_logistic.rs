//! STUB (replaced by the real solver).
use crate::als::Monitor;
use crate::error::{Error, Result};
#[derive(Clone, Debug, Default)]
pub struct Csr {
    pub n_cols: usize,
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}
impl Csr {
    pub fn new(n_cols: usize) -> Self {
        Csr {
            n_cols,
            indptr: vec![0],
            ..Default::default()
        }
    }
    pub fn push_row(&mut self, entries: &[(u32, f32)]) {
        for (i, v) in entries {
            self.indices.push(*i);
            self.values.push(*v);
        }
        self.indptr.push(self.indices.len());
    }
}
#[derive(Clone, Debug)]
pub struct SparseParams {
    pub l1: f64,
    pub l2: f64,
    pub max_iter: usize,
    pub tol: f64,
    pub memory: usize,
}
pub struct SparseFit {
    pub intercept: f64,
    pub coef: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
    pub objective: f64,
}
pub fn fit(
    _x: &Csr,
    _y: &[f64],
    _w: &[f64],
    _p: &SparseParams,
    _pool: &rayon::ThreadPool,
    _m: &mut dyn Monitor,
) -> Result<SparseFit> {
    Err(Error::invalid("stub"))
}
