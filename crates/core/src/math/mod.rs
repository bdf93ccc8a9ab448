//! Linear algebra and statistics shared by the model families: the dot-product kernel, the one
//! sparse-row matrix, dense SPD solves, column moments and distribution functions.

pub mod csr;
pub mod distributions;
pub mod linalg;
pub mod moments;

use std::ops::{Add, Mul};

/// The float types the kernels run on (f32 factors, f64 statistics).
pub trait Real: Copy + Default + Add<Output = Self> + Mul<Output = Self> {}
impl Real for f32 {}
impl Real for f64 {}

/// Dot product with eight independent accumulators (vectorises without fast-math; the fixed
/// summation order makes the result the same on every run).
#[inline]
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::default(); 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] = acc[l] + x[l] * y[l];
        }
    }
    let mut s = T::default();
    for (x, y) in ra.iter().zip(rb) {
        s = s + *x * *y;
    }
    s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `y += a·x`.
#[inline]
pub fn axpy<T: Real>(a: T, x: &[T], y: &mut [T]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi = *yi + a * *xi;
    }
}

/// The logistic function, without overflow for large |t|.
#[inline]
pub fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f64> = (0..19).map(|i| i as f64 * 0.5).collect();
        let b: Vec<f64> = (0..19).map(|i| 3.0 - i as f64).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-9);
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        assert!((dot(&a32, &b32) as f64 - plain).abs() < 1e-3);
    }
}
