//! Column moments of row-major data, and standardisation to z-scores.

/// Mean and (population) variance of each of the `p` columns of row-major `x`.
pub fn column_moments(x: &[f64], p: usize) -> Vec<(f64, f64)> {
    let n = (x.len() / p.max(1)).max(1) as f64;
    // Row by row (sequential memory), two passes: means, then centred squares.
    let mut mean = vec![0.0; p];
    for r in x.chunks_exact(p.max(1)) {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; p];
    for r in x.chunks_exact(p.max(1)) {
        for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    mean.into_iter().zip(var).map(|(m, s)| (m, s / n)).collect()
}

/// Turns the columns of row-major `x` into z-scores in place; returns each column's centre and
/// scale (a constant column keeps scale 1).
pub fn standardize(x: &mut [f64], p: usize) -> (Vec<f64>, Vec<f64>) {
    let (center, scale): (Vec<f64>, Vec<f64>) = column_moments(x, p)
        .into_iter()
        .map(|(m, v)| (m, if v > 0.0 { v.sqrt() } else { 1.0 }))
        .unzip();
    for r in x.chunks_exact_mut(p) {
        for ((v, c), s) in r.iter_mut().zip(&center).zip(&scale) {
            *v = (*v - c) / s;
        }
    }
    (center, scale)
}
