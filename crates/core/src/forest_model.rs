//! A stored random-forest classifier: the feature preparation, the forest, the class labels,
//! and its training with held-out metrics.

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::als::Monitor;
use crate::error::{Error, Result};
use crate::forest::{fit, Forest, ForestParams};
use crate::logistic::{class_metrics, ClassMetrics};
use crate::prep::{Cell, Prep, PrepOptions, RawTable};

pub use crate::forest::ALGORITHM;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForestModel {
    pub prep: Prep,
    pub forest: Forest,
    /// Class labels as text, in class-index order (numbers ascending, text sorted).
    pub labels: Vec<String>,
    /// The labels are numbers (integer or boolean target), so `predict` can return them.
    pub numeric_labels: bool,
    /// Per input column: the sum of its prepared features' importances (sums to 1).
    pub importance: Vec<f64>,
}

impl ForestModel {
    pub fn inputs(&self) -> Vec<String> {
        self.prep.inputs.iter().map(|i| i.name.clone()).collect()
    }

    /// The class a row of prepared values falls in.
    pub fn class_of(&self, dense: &[f64]) -> usize {
        self.forest.predict_class(dense)
    }

    /// Probability of the positive class (the last label: 1, true, or the last in order) of a
    /// two-class model.
    pub fn positive_probability(&self, dense: &[f64]) -> f64 {
        self.forest.proba_of(dense, self.labels.len() - 1)
    }

    /// The label as a number (for `predict`), when labels are numbers.
    pub fn numeric_label(&self, class: usize) -> Option<f64> {
        if !self.numeric_labels {
            return None;
        }
        match self.labels[class].as_str() {
            "true" => Some(1.0),
            "false" => Some(0.0),
            s => s.parse().ok(),
        }
    }

    /// Prepares a row of input cells (false: NULL under `skip`).
    pub fn prepare(&self, cells: &[Cell], dense: &mut Vec<f64>) -> bool {
        dense.resize(self.prep.dense_width, 0.0);
        let mut none = Vec::new();
        self.prep.encode(cells, dense, &mut none)
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
pub enum PartMetrics {
    Binary(ClassMetrics),
    Multi(MultiMetrics),
}

pub struct TrainedForest {
    pub model: ForestModel,
    pub train: PartMetrics,
    pub test: Option<PartMetrics>,
}

/// Learns the preparation on the training part, grows the forest, and measures both parts.
#[allow(clippy::too_many_arguments)]
pub fn train(
    mut raw: RawTable,
    ytr: Vec<u32>,
    yte: Vec<u32>,
    labels: Vec<String>,
    numeric_labels: bool,
    prep_opts: &PrepOptions,
    params: &ForestParams,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<TrainedForest> {
    let prep = Prep::fit(&raw, prep_opts)?;
    if prep.hashed_inputs() > 0 {
        return Err(Error::invalid(format!(
            "a text feature has more than max_categories = {} distinct values; a forest needs dense features",
            prep_opts.max_categories
        ))
        .with_hint(
            "Raise max_categories (one-hot encodes up to that many values) or group rare values in a view.",
        ));
    }
    let k = labels.len();
    let train_part = std::mem::take(&mut raw.train);
    let test_part = std::mem::take(&mut raw.test);
    let (xtr, _) = prep.transform(&raw, train_part);
    let (xte, _) = prep.transform(&raw, test_part);
    drop(raw);
    let w = prep.dense_width;
    let forest = fit(&xtr, w, &ytr, k, params, pool, monitor)?;
    let sources = prep.dense_sources();
    let mut importance = vec![0.0; prep.inputs.len()];
    for (j, v) in forest.importance.iter().enumerate() {
        importance[sources[j]] += v;
    }
    let model = ForestModel {
        prep,
        forest,
        labels,
        numeric_labels,
        importance,
    };
    let measure = |x: &[f64], y: &[u32]| -> PartMetrics {
        let rows = y.len();
        let mut probs = vec![0.0; rows * k];
        pool.install(|| {
            probs
                .par_chunks_mut(k)
                .enumerate()
                .for_each(|(i, out)| model.forest.predict_proba_into(&x[i * w..(i + 1) * w], out))
        });
        if k == 2 {
            let p1: Vec<f64> = probs.chunks_exact(2).map(|r| r[1]).collect();
            let yf: Vec<f64> = y.iter().map(|&c| c as f64).collect();
            PartMetrics::Binary(pool.install(|| class_metrics(&p1, &yf, 0.5)))
        } else {
            PartMetrics::Multi(multi_metrics(&probs, y, k))
        }
    };
    let train_m = measure(&xtr, &ytr);
    let test_m = (!yte.is_empty()).then(|| measure(&xte, &yte));
    Ok(TrainedForest {
        model,
        train: train_m,
        test: test_m,
    })
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
}
