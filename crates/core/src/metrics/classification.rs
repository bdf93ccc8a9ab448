//! Quality of classifiers: two-class metrics of probabilities (AUC, log-loss, accuracy,
//! precision, recall, F1, calibration) and multi-class metrics of class probabilities.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Quality of probabilities `prob` for labels `y` (0/1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub n: usize,
    pub auc: f64,
    pub log_loss: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Mean |predicted − observed rate| over ten equal-count bins of the predicted probability,
    /// weighted by bin size (expected calibration error).
    pub calibration_error: f64,
}

pub fn class_metrics(prob: &[f64], y: &[f64], threshold: f64) -> ClassMetrics {
    let n = prob.len();
    if n == 0 {
        return ClassMetrics::default();
    }
    // (probability, label) sorted by probability; runs on the current rayon pool.
    let mut pairs: Vec<(f64, f64)> = prob.iter().copied().zip(y.iter().copied()).collect();
    // Ties are ordered by label too, so the order (and the calibration bins) never depends on
    // the sort's scheduling.
    pairs.par_sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // AUC by the rank-sum (Mann–Whitney) with average ranks for ties.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        for e in &pairs[i..j] {
            if e.1 > 0.5 {
                rank_sum_pos += avg_rank;
            }
        }
        i = j;
    }
    let pos = y.iter().filter(|&&v| v > 0.5).count() as f64;
    let neg = n as f64 - pos;
    let auc = if pos > 0.0 && neg > 0.0 {
        (rank_sum_pos - pos * (pos + 1.0) / 2.0) / (pos * neg)
    } else {
        f64::NAN
    };
    let eps = 1e-15;
    let log_loss = prob
        .iter()
        .zip(y)
        .map(|(p, t)| {
            let p = p.clamp(eps, 1.0 - eps);
            -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / n as f64;
    let (mut tp, mut fp, mut tn, mut fn_) = (0.0, 0.0, 0.0, 0.0);
    for (p, t) in prob.iter().zip(y) {
        match (*p >= threshold, *t > 0.5) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, false) => tn += 1.0,
            (false, true) => fn_ += 1.0,
        }
    }
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let mut ece = 0.0;
    for b in 0..10 {
        let (lo, hi) = (b * n / 10, (b + 1) * n / 10);
        if hi > lo {
            let bin = &pairs[lo..hi];
            let mp = bin.iter().map(|e| e.0).sum::<f64>() / bin.len() as f64;
            let my = bin.iter().map(|e| e.1).sum::<f64>() / bin.len() as f64;
            ece += (mp - my).abs() * bin.len() as f64 / n as f64;
        }
    }
    ClassMetrics {
        n,
        auc,
        log_loss,
        accuracy: (tp + tn) / n as f64,
        precision,
        recall,
        f1,
        calibration_error: ece,
    }
}

/// Quality of a multi-class (or two-class) prediction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiMetrics {
    pub n: usize,
    pub accuracy: f64,
    pub log_loss: f64,
    /// Unweighted means over classes.
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
}

/// Multi-class metrics from class probabilities (`k` per row) and true classes.
pub fn multi_metrics(probs: &[f64], y: &[u32], k: usize) -> MultiMetrics {
    let n = y.len();
    if n == 0 {
        return MultiMetrics::default();
    }
    let mut correct = 0usize;
    let mut ll = 0.0;
    let mut tp = vec![0usize; k];
    let mut predicted = vec![0usize; k];
    let mut actual = vec![0usize; k];
    for (i, &t) in y.iter().enumerate() {
        let row = &probs[i * k..(i + 1) * k];
        let mut best = 0;
        for c in 1..k {
            if row[c] > row[best] {
                best = c;
            }
        }
        predicted[best] += 1;
        actual[t as usize] += 1;
        if best == t as usize {
            correct += 1;
            tp[best] += 1;
        }
        ll -= row[t as usize].clamp(1e-15, 1.0).ln();
    }
    let (mut p, mut r, mut f) = (0.0, 0.0, 0.0);
    for c in 0..k {
        let pc = if predicted[c] > 0 {
            tp[c] as f64 / predicted[c] as f64
        } else {
            0.0
        };
        let rc = if actual[c] > 0 {
            tp[c] as f64 / actual[c] as f64
        } else {
            0.0
        };
        p += pc;
        r += rc;
        f += if pc + rc > 0.0 {
            2.0 * pc * rc / (pc + rc)
        } else {
            0.0
        };
    }
    MultiMetrics {
        n,
        accuracy: correct as f64 / n as f64,
        log_loss: ll / n as f64,
        macro_precision: p / k as f64,
        macro_recall: r / k as f64,
        macro_f1: f / k as f64,
    }
}

/// Metrics of one part: two-class metrics (on the positive class) or multi-class ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PartMetrics {
    Binary(ClassMetrics),
    Multi(MultiMetrics),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_metrics_by_hand() {
        // Three rows, three classes: two right, one wrong.
        let probs = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.5, 0.3, 0.2];
        let m = multi_metrics(&probs, &[0, 1, 2], 3);
        assert!((m.accuracy - 2.0 / 3.0).abs() < 1e-12);
        let ll = -((0.7f64).ln() + (0.8f64).ln() + (0.2f64).ln()) / 3.0;
        assert!((m.log_loss - ll).abs() < 1e-12);
        // Class 0: precision 1/2, recall 1; class 1: 1, 1; class 2: 0, 0.
        assert!((m.macro_precision - 0.5).abs() < 1e-12);
        assert!((m.macro_recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.macro_f1 - (2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn metrics_by_hand() {
        let p = [0.1, 0.4, 0.35, 0.8];
        let y = [0.0, 0.0, 1.0, 1.0];
        let m = class_metrics(&p, &y, 0.5);
        assert!((m.auc - 0.75).abs() < 1e-12); // the textbook example
        assert_eq!((m.accuracy, m.precision, m.recall), (0.75, 1.0, 0.5));
        let ll = -((0.9f64).ln() + (0.6f64).ln() + (0.35f64).ln() + (0.8f64).ln()) / 4.0;
        assert!((m.log_loss - ll).abs() < 1e-12);
        // Ties count half.
        let t = class_metrics(&[0.5, 0.5], &[0.0, 1.0], 0.5);
        assert!((t.auc - 0.5).abs() < 1e-12);
    }
}
