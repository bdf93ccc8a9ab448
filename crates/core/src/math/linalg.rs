//! Dense symmetric positive definite systems.

/// Inverse of a symmetric positive definite k×k matrix (row-major) by Cholesky; `None` when
/// the matrix is not numerically positive definite.
pub fn invert_spd(m: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let mut s = m[i * k + j];
            for t in 0..j {
                s -= l[i * k + t] * l[j * k + t];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    // inverse of L (lower triangular)
    let mut li = vec![0.0; k * k];
    for i in 0..k {
        li[i * k + i] = 1.0 / l[i * k + i];
        for j in 0..i {
            let mut s = 0.0;
            for t in j..i {
                s -= l[i * k + t] * li[t * k + j];
            }
            li[i * k + j] = s / l[i * k + i];
        }
    }
    // M⁻¹ = L⁻ᵀ L⁻¹
    let mut inv = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let mut s = 0.0;
            for t in i..k {
                s += li[t * k + i] * li[t * k + j];
            }
            inv[i * k + j] = s;
            inv[j * k + i] = s;
        }
    }
    Some(inv)
}
