//! Regression quality on one part of the rows.

use serde::Serialize;

/// Regression quality on one part.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RegressionMetrics {
    pub n: usize,
    pub r2: f64,
    pub rmse: f64,
    pub mae: f64,
    /// Mean Poisson deviance (count models only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poisson_deviance: Option<f64>,
}

/// r², rmse and mae of predictions `pred` against targets `y` (r² NaN when `y` is constant),
/// and the mean Poisson deviance when `poisson`.
pub fn regression_metrics(pred: &[f64], y: &[f64], poisson: bool) -> RegressionMetrics {
    let n = y.len().max(1) as f64;
    let mean = y.iter().sum::<f64>() / n;
    let (mut sse, mut sst, mut sae, mut dev) = (0.0, 0.0, 0.0, 0.0);
    for (&p, &t) in pred.iter().zip(y) {
        sse += (p - t) * (p - t);
        sst += (t - mean) * (t - mean);
        sae += (p - t).abs();
        let ylog = if t > 0.0 { t * (t / p).ln() } else { 0.0 };
        dev += 2.0 * (ylog - (t - p));
    }
    RegressionMetrics {
        n: y.len(),
        r2: if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN },
        rmse: (sse / n).sqrt(),
        mae: sae / n,
        poisson_deviance: poisson.then_some(dev / n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let m = regression_metrics(&[1.0, 2.0, 4.0], &[1.0, 3.0, 2.0], false);
        // errors 0, -1, 2; mean 2, sst 2.
        assert!((m.rmse - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((m.mae - 1.0).abs() < 1e-12);
        assert!((m.r2 - (1.0 - 5.0 / 2.0)).abs() < 1e-12);
        assert!(m.poisson_deviance.is_none());
    }
}
