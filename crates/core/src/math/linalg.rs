//! Dense symmetric positive definite systems: factor once (Cholesky, LLᵀ, from nalgebra),
//! then solve — never an explicit inverse where a solve will do. Linear regression solves its
//! normal equations and takes standard errors from the diagonal of the inverse, logistic
//! regression solves its Newton steps, and the demand model its per-product blocks.

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

/// Smallest accepted pivot ratio L_jj² / A_jj (for a correlation matrix, 1 − R² of column j on
/// the earlier ones). Exactly singular Gram matrices land at ≤ 5e-15 (k ≤ 400), full-rank
/// near-collinear ones at ≥ 1e-13 (docs/decisions.md), and the sign of a pivot alone misses
/// about half of the exactly singular ones.
pub const MIN_PIVOT_RATIO: f64 = 1e-13;

/// A factored symmetric positive definite k×k matrix.
pub struct Spd {
    chol: Cholesky<f64, Dyn>,
}

impl Spd {
    /// Factors row-major `m` (its lower triangle is read); None when it is not numerically
    /// positive definite (a pivot ratio at or below [`MIN_PIVOT_RATIO`], or not finite).
    pub fn factor(m: &[f64], k: usize) -> Option<Spd> {
        Self::factor_with(m, k, MIN_PIVOT_RATIO)
    }

    /// [`Spd::factor`] with another pivot ratio (0: only non-positive pivots refuse).
    pub fn factor_with(m: &[f64], k: usize, min_pivot_ratio: f64) -> Option<Spd> {
        if m.len() != k * k || m.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let chol = Cholesky::new(DMatrix::from_row_slice(k, k, m))?;
        let l = chol.l_dirty();
        for j in 0..k {
            let d = l[(j, j)];
            if !(d.is_finite() && d * d > min_pivot_ratio * m[j * k + j]) {
                return None;
            }
        }
        Some(Spd { chol })
    }

    pub fn dim(&self) -> usize {
        self.chol.l_dirty().nrows()
    }

    /// A⁻¹b.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let mut v = DVector::from_column_slice(b);
        self.chol.solve_mut(&mut v);
        v.as_slice().to_vec()
    }

    /// A⁻¹B for a row-major k×c matrix B; row-major result.
    pub fn solve_mat(&self, b: &[f64], c: usize) -> Vec<f64> {
        let k = self.dim();
        let mut x = DMatrix::from_row_slice(k, c, b);
        self.chol.solve_mut(&mut x);
        let mut out = vec![0.0; k * c];
        for r in 0..k {
            for j in 0..c {
                out[r * c + j] = x[(r, j)];
            }
        }
        out
    }

    /// xᵀA⁻¹x = ‖L⁻¹x‖² (one triangular solve).
    pub fn inv_quad(&self, x: &[f64]) -> f64 {
        let mut y = DVector::from_column_slice(x);
        self.chol
            .l_dirty()
            .solve_lower_triangular_unchecked_mut(&mut y);
        y.norm_squared()
    }

    /// diag(A⁻¹): the column sums of squares of L⁻¹, without the full inverse.
    pub fn inverse_diag(&self) -> Vec<f64> {
        let k = self.dim();
        let mut li = DMatrix::<f64>::identity(k, k);
        self.chol
            .l_dirty()
            .solve_lower_triangular_unchecked_mut(&mut li);
        (0..k)
            .map(|c| (c..k).map(|r| li[(r, c)] * li[(r, c)]).sum())
            .collect()
    }

    /// The full inverse, row-major, where every entry is needed (the demand model's block
    /// covariances).
    pub fn inverse(&self) -> Vec<f64> {
        let k = self.dim();
        let inv = self.chol.inverse();
        let mut out = vec![0.0; k * k];
        for r in 0..k {
            for c in 0..k {
                out[r * k + c] = inv[(r, c)];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_the_diagonal_of_the_inverse() {
        // A = [[4, 2, 0.6], [2, 2, 0.4], [0.6, 0.4, 1]], x = (1, −2, 3).
        let a = [4.0, 2.0, 0.6, 2.0, 2.0, 0.4, 0.6, 0.4, 1.0];
        let x = [1.0, -2.0, 3.0];
        let b: Vec<f64> = (0..3)
            .map(|r| (0..3).map(|c| a[r * 3 + c] * x[c]).sum())
            .collect();
        let spd = Spd::factor(&a, 3).unwrap();
        for (g, w) in spd.solve(&b).iter().zip(x) {
            assert!((g - w).abs() < 1e-12);
        }
        let inv = spd.inverse();
        let diag = spd.inverse_diag();
        for r in 0..3 {
            assert!((diag[r] - inv[r * 3 + r]).abs() < 1e-12);
            for c in 0..3 {
                let id: f64 = (0..3).map(|t| a[r * 3 + t] * inv[t * 3 + c]).sum();
                assert!((id - if r == c { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        let q: f64 = (0..3)
            .map(|r| (0..3).map(|c| x[r] * inv[r * 3 + c] * x[c]).sum::<f64>())
            .sum();
        assert!((spd.inv_quad(&x) - q).abs() < 1e-12);
        let m = spd.solve_mat(&a, 3);
        for r in 0..3 {
            for c in 0..3 {
                assert!((m[r * 3 + c] - if r == c { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn singular_and_bad_matrices_refuse() {
        // Column 3 = column 1 + column 2 of a Gram matrix: exactly singular.
        let rows = [
            [1.0, 2.0, 3.0],
            [2.0, -1.0, 1.0],
            [0.5, 0.5, 1.0],
            [3.0, 1.0, 4.0],
        ];
        let mut g = [0.0; 9];
        for r in &rows {
            for i in 0..3 {
                for j in 0..3 {
                    g[i * 3 + j] += r[i] * r[j];
                }
            }
        }
        assert!(Spd::factor(&g, 3).is_none());
        assert!(
            Spd::factor(&[1.0, 2.0, 2.0, 1.0], 2).is_none(),
            "indefinite"
        );
        assert!(Spd::factor(&[f64::NAN, 0.0, 0.0, 1.0], 2).is_none());
        assert!(Spd::factor(&[f64::INFINITY, 0.0, 0.0, 1.0], 2).is_none());
        assert!(Spd::factor(&[1.0, 0.0, 0.0], 2).is_none(), "wrong size");
        // Nearly collinear but full rank is accepted.
        let eps = 1e-5;
        let near = [1.0, 1.0 - eps, 1.0 - eps, 1.0];
        assert!(Spd::factor(&near, 2).is_some());
    }
}
