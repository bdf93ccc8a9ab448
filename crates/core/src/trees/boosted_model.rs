//! A stored gradient-boosted model: the feature preparation, the booster, the class labels of
//! a classifier, and its training with held-out metrics and the learning curve.

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::data::prep::{Impute, Prep, PrepOptions, RawTable};
use crate::error::{Error, Result};
use crate::metrics::classification::{class_metrics, multi_metrics, PartMetrics};
use crate::model::{self, ensure, Answer, Model, Row, Want};
use crate::monitor::Monitor;
use crate::options::{pipeline, Pipeline};
use crate::trees::boosted::{fit, BoostParams, Booster, Curve, Data, Objective};

/// Boosted trees in the registry.
pub use crate::model::BOOSTED as KIND;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BoostedModel {
    pub prep: Prep,
    pub booster: Booster,
    /// Class labels as text, in class-index order (empty for regression and poisson).
    pub labels: Vec<String>,
    /// The labels are numbers, so `predict` can return them.
    pub numeric_labels: bool,
    /// Per input column: its share of the total split gain (sums to 1).
    pub importance: Vec<f64>,
}

impl Model for BoostedModel {
    fn validate(&self) -> Result<()> {
        self.booster.validate()?;
        let b = &self.booster;
        let labels_ok = match b.objective {
            Objective::Binary => self.labels.len() == 2,
            Objective::Multiclass => self.labels.len() == b.n_outputs,
            _ => self.labels.is_empty(),
        };
        ensure(
            &KIND,
            b.n_features == self.prep.dense_width
                && labels_ok
                && self.importance.len() == self.prep.inputs.len(),
            "a booster that does not fit its preparation or labels",
        )
    }

    fn prep(&self) -> Option<&Prep> {
        Some(&self.prep)
    }

    fn class_probabilities(&self, model_name: &str, row: &Row) -> Result<Vec<f64>> {
        match self.booster.objective {
            Objective::Binary => {
                let p = self.probability(row.dense);
                Ok(vec![1.0 - p, p])
            }
            Objective::Multiclass => {
                let mut p = vec![0.0; self.booster.n_outputs];
                self.booster.predict_into(row.dense, &mut p);
                Ok(p)
            }
            o => Err(Error::invalid(format!(
                "model \"{model_name}\" is a {} booster, which has no classes",
                o.name()
            ))
            .with_hint("Use shopml.predict.")),
        }
    }

    fn class_labels(&self) -> &[String] {
        &self.labels
    }

    fn predict(&self, model_name: &str, row: &Row, want: Want) -> Result<Answer<'_>> {
        let x = row.dense;
        let objective = self.booster.objective;
        match (want, objective) {
            (Want::Value, Objective::Regression | Objective::Lambdarank) => {
                Ok(Answer::Number(self.booster.raw(x)))
            }
            (Want::Value, Objective::Poisson) => Ok(Answer::Number(self.booster.raw(x).exp())),
            (Want::Probability, Objective::Binary) => Ok(Answer::Number(self.probability(x))),
            (Want::Label, _) if objective.is_classifier() => {
                Ok(Answer::Text(self.labels[self.class_of(x)].as_str().into()))
            }
            (Want::Value, _) => match self.numeric_label(self.class_of(x)) {
                Some(v) => Ok(Answer::Number(v)),
                None => Err(Error::invalid(format!(
                    "model \"{model_name}\" has text labels, which predict (float8) cannot return"
                ))
                .with_hint("Use shopml.predict_label for the label as text.")),
            },
            (Want::Probability, Objective::Multiclass) => Err(Error::invalid(format!(
                "model \"{model_name}\" has {} classes; predict_proba gives the probability of the positive class of a two-class model",
                self.labels.len()
            ))
            .with_hint("Use shopml.predict_label for the most probable class.")),
            (Want::Probability | Want::Label, _) => Err(Error::invalid(format!(
                "model \"{model_name}\" is a {} booster, which predicts a number, not a class",
                objective.name()
            ))
            .with_hint("Use shopml.predict.")),
        }
    }

    /// Tree by tree over groups of rows ([`Booster::raw_block`]): the same sums in the same
    /// order as row by row, ~2.5× faster.
    fn predict_block(&self, dense: &[f64], want: Want) -> Option<Vec<f64>> {
        let b = &self.booster;
        let link: fn(f64) -> f64 = match (want, b.objective) {
            (Want::Value, Objective::Regression | Objective::Lambdarank) => |v| v,
            (Want::Value, Objective::Poisson) => f64::exp,
            (Want::Probability, Objective::Binary) => crate::math::sigmoid,
            _ => return None,
        };
        let mut out = vec![0.0; dense.len() / b.n_features.max(1)];
        b.raw_block(dense, &mut out);
        out.iter_mut().for_each(|v| *v = link(*v));
        Some(out)
    }

    fn importance(&self) -> Option<Vec<(String, f64)>> {
        Some(model::per_input(&self.prep, &self.importance))
    }

    fn memory_bytes(&self) -> usize {
        // 16 bytes a node, 8 for its value and 8 for its cover.
        self.prep.memory_bytes() + self.booster.nodes() * 32 + 256
    }
}

impl BoostedModel {
    /// The most probable class of a classifier (ties: the lowest).
    pub fn class_of(&self, dense: &[f64]) -> usize {
        let b = &self.booster;
        if b.objective == Objective::Binary {
            return usize::from(b.raw(dense) > 0.0);
        }
        let mut s = vec![0.0; b.n_outputs];
        b.raw_into(dense, &mut s);
        let mut best = 0;
        for (c, &v) in s.iter().enumerate() {
            if v > s[best] {
                best = c;
            }
        }
        best
    }

    /// Probability of the positive class (the last label) of a binary model.
    pub fn probability(&self, dense: &[f64]) -> f64 {
        crate::math::sigmoid(self.booster.raw(dense))
    }

    /// The label as a number, when labels are numbers.
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
}

/// Bytes a training holds per row of `n_inputs` input columns: the raw cells, the prepared
/// copy, the bin codes, gradients, scores and row indices.
pub fn memory_per_row(n_inputs: usize) -> usize {
    (n_inputs + 1) * 17 + 48
}

pub use crate::metrics::regression::RegressionMetrics;

/// The metrics of one part of a tree model's rows, per objective.
#[derive(Clone, Debug, PartialEq)]
pub enum TreeMetrics {
    Class(PartMetrics),
    Regression(RegressionMetrics),
    Rank(RankMetrics),
}

impl Serialize for TreeMetrics {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            TreeMetrics::Class(PartMetrics::Binary(m)) => m.serialize(s),
            TreeMetrics::Class(PartMetrics::Multi(m)) => m.serialize(s),
            TreeMetrics::Regression(m) => m.serialize(s),
            TreeMetrics::Rank(m) => m.serialize(s),
        }
    }
}

/// Predictions of `model` on prepared rows `x` (response scale; per class for multiclass).
fn predictions(model: &BoostedModel, x: &[f64], rows: usize, pool: &ThreadPool) -> Vec<f64> {
    let (k, w) = (model.booster.n_outputs, model.prep.dense_width);
    let mut out = vec![0.0; rows * k];
    pool.install(|| {
        out.par_chunks_mut(k)
            .enumerate()
            .with_min_len(256)
            .for_each(|(i, o)| model.booster.predict_into(&x[i * w..(i + 1) * w], o))
    });
    out
}

/// Most rows a ranking group (one query) may have.
pub const MAX_GROUP_ROWS: usize = 10_000;

/// Reorders row-major `x` (width `w`) and `y` so that rows with the same group key are
/// contiguous (groups in order of their keys, rows in their order); the group offsets.
fn group_rows(x: &mut Vec<f64>, y: &mut Vec<f64>, keys: &[u64], w: usize) -> Result<Vec<usize>> {
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by_key(|&i| keys[i]);
    let mut nx = Vec::with_capacity(x.len());
    let mut ny = Vec::with_capacity(y.len());
    let mut offsets = vec![0];
    for (j, &i) in order.iter().enumerate() {
        if j > 0 && keys[i] != keys[order[j - 1]] {
            offsets.push(j);
        }
        nx.extend_from_slice(&x[i * w..(i + 1) * w]);
        ny.push(y[i]);
    }
    if !y.is_empty() {
        offsets.push(y.len());
    }
    if let Some(big) = offsets
        .windows(2)
        .map(|g| g[1] - g[0])
        .max()
        .filter(|&m| m > MAX_GROUP_ROWS)
    {
        return Err(Error::invalid(format!(
            "a ranking group has {big} rows; lambdarank takes at most {MAX_GROUP_ROWS} rows a group"
        ))
        .with_hint("group_column should name a query or session, whose rows are the products shown for it."));
    }
    *x = nx;
    *y = ny;
    Ok(offsets)
}

/// Ranking quality on one part: mean NDCG@10 and MAP@10 over its groups.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RankMetrics {
    pub n: usize,
    pub groups: usize,
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    #[serde(rename = "map@10")]
    pub map_at_10: f64,
}

/// The metrics of `model` on prepared rows `x` with targets `y` (and, ranking, their groups).
pub fn measure(
    model: &BoostedModel,
    x: &[f64],
    y: &[f64],
    groups: Option<&[usize]>,
    pool: &ThreadPool,
) -> TreeMetrics {
    let b = &model.booster;
    let pred = predictions(model, x, y.len(), pool);
    match b.objective {
        Objective::Lambdarank => {
            let offsets = groups.unwrap_or(&[]);
            let (ndcg, map) =
                pool.install(|| crate::trees::boosted::rank_metrics(&pred, y, offsets, 10));
            TreeMetrics::Rank(RankMetrics {
                n: y.len(),
                groups: offsets.len().saturating_sub(1),
                ndcg_at_10: ndcg,
                map_at_10: map,
            })
        }
        Objective::Binary => TreeMetrics::Class(PartMetrics::Binary(
            pool.install(|| class_metrics(&pred, y, 0.5)),
        )),
        Objective::Multiclass => {
            let yc: Vec<u32> = y.iter().map(|&v| v as u32).collect();
            TreeMetrics::Class(PartMetrics::Multi(multi_metrics(&pred, &yc, b.n_outputs)))
        }
        Objective::Regression | Objective::Poisson => {
            TreeMetrics::Regression(crate::metrics::regression::regression_metrics(
                &pred,
                y,
                b.objective == Objective::Poisson,
            ))
        }
    }
}

pub struct TrainedBooster {
    pub model: BoostedModel,
    pub curve: Curve,
    pub train: TreeMetrics,
    pub test: Option<TreeMetrics>,
}

/// Learns the preparation on the training part, boosts on it (the held-out part scored every
/// iteration, for the curve and early stopping), and measures both parts. `ytr`/`yte` are the
/// targets as the objective takes them (0/1, class index or value); `monotone` is per input
/// column (+1, −1, 0) and applies to a numeric input's output.
#[allow(clippy::too_many_arguments)]
pub fn train(
    mut raw: RawTable,
    ytr: Vec<f64>,
    yte: Vec<f64>,
    labels: Vec<String>,
    numeric_labels: bool,
    prep_opts: &PrepOptions,
    params: &BoostParams,
    monotone_inputs: &[i8],
    balanced: bool,
    groups: Option<(Vec<u64>, Vec<u64>)>,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<TrainedBooster> {
    let prep = Prep::fit(&raw, prep_opts)?;
    if prep.hashed_inputs() > 0 {
        return Err(Error::invalid(format!(
            "a text feature has more than max_categories = {} distinct values; boosted trees need dense features",
            prep_opts.max_categories
        ))
        .with_hint(
            "Raise max_categories (one-hot encodes up to that many values) or group rare values in a view.",
        ));
    }
    let train_part = std::mem::take(&mut raw.train);
    let test_part = std::mem::take(&mut raw.test);
    let (mut xtr, _) = prep.transform(&raw, train_part);
    let (mut xte, _) = prep.transform(&raw, test_part);
    drop(raw);
    let w = prep.dense_width;
    let (mut ytr, mut yte) = (ytr, yte);
    // Ranking: each part's rows reordered so that a group's rows are contiguous.
    let (otr, ote) = match groups {
        Some((gtr, gte)) => (
            Some(group_rows(&mut xtr, &mut ytr, &gtr, w)?),
            Some(group_rows(&mut xte, &mut yte, &gte, w)?),
        ),
        None => (None, None),
    };
    let mut params = params.clone();
    if monotone_inputs.iter().any(|&m| m != 0) {
        let sources = prep.dense_sources();
        params.monotone = sources.iter().map(|&i| monotone_inputs[i]).collect();
    }
    let k = labels.len();
    // class_weight 'balanced': each class weighs n / (k · n_c), as in scikit-learn.
    let weights: Option<Vec<f64>> = (balanced && k >= 2).then(|| {
        let mut count = vec![0usize; k];
        ytr.iter().for_each(|&c| count[c as usize] += 1);
        let per: Vec<f64> = count
            .iter()
            .map(|&c| ytr.len() as f64 / (k as f64 * c.max(1) as f64))
            .collect();
        ytr.iter().map(|&c| per[c as usize]).collect()
    });
    let train_data = Data {
        x: &xtr,
        y: &ytr,
        weight: weights.as_deref(),
        groups: otr.as_deref(),
    };
    let valid = (!yte.is_empty()).then_some(Data {
        x: &xte,
        y: &yte,
        weight: None,
        groups: ote.as_deref(),
    });
    let (booster, curve) = fit(train_data, w, valid, k, &params, pool, monitor)?;
    let total: f64 = booster.gain.iter().sum();
    let mut importance = vec![0.0; prep.inputs.len()];
    for (j, &input) in prep.dense_sources().iter().enumerate() {
        importance[input] += if total > 0.0 {
            booster.gain[j] / total
        } else {
            0.0
        };
    }
    let model = BoostedModel {
        prep,
        booster,
        labels,
        numeric_labels,
        importance,
    };
    let train_m = measure(&model, &xtr, &ytr, otr.as_deref(), pool);
    let test_m = (!yte.is_empty()).then(|| measure(&model, &xte, &yte, ote.as_deref(), pool));
    Ok(TrainedBooster {
        model,
        curve,
        train: train_m,
        test: test_m,
    })
}

/// Options of `train_boosted` (`objective` None: chosen from the target by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct BoostedOptions {
    pub objective: Option<Objective>,
    pub prep: PrepOptions,
    pub params: BoostParams,
    /// Column name → +1 / −1.
    pub monotone: Vec<(String, f64)>,
    pub balanced: bool,
    /// The column whose value is a ranking group (lambdarank).
    pub group_column: Option<String>,
    pub pipeline: Pipeline,
}

impl BoostedOptions {
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self> {
        crate::options::parse("train_boosted", value, |o| {
            let objective = match o.string("objective")? {
                None => None,
                Some(s) => Some(Objective::parse(&s).ok_or_else(|| {
                    o.bad(
                        "objective",
                        &format!("one of {:?}", Objective::NAMES),
                        &serde_json::Value::String(s.clone()),
                    )
                })?),
            };
            let impute = o.choice(
                "impute",
                "keep",
                &["keep", "skip", "mean", "median", "zero"],
            )?;
            let prep = PrepOptions {
                standardize: false,
                impute: Impute::parse(&impute).expect("one of the choices"),
                max_categories: o.integer("max_categories", 32, 1, 10_000)? as usize,
                hash_buckets: 1 << 18,
            };
            let monotone = o.numbers("monotone")?;
            if let Some((c, v)) = monotone.iter().find(|(_, v)| ![-1.0, 0.0, 1.0].contains(v)) {
                return Err(Error::invalid(format!(
                    "train_boosted: option \"monotone\" must map columns to +1, -1 or 0, got {v} for \"{c}\""
                )));
            }
            let params = BoostParams {
                objective: objective.unwrap_or(Objective::Regression),
                n_trees: o.integer("n_trees", 100, 1, 100_000)? as usize,
                learning_rate: o.number("learning_rate", 0.1, (0.0, false), (1.0, true))?,
                num_leaves: o.integer("num_leaves", 31, 2, 131_072)? as usize,
                max_depth: match o.get("max_depth").is_some() {
                    true => Some(o.integer("max_depth", 0, 1, 1000)? as usize),
                    false => None,
                },
                min_data_in_leaf: o.integer("min_data_in_leaf", 20, 1, 100_000_000)? as usize,
                min_sum_hessian: o.number("min_sum_hessian", 1e-3, (0.0, true), (1e12, true))?,
                l2: o.number("l2", 0.0, (0.0, true), (1e12, true))?,
                l1: o.number("l1", 0.0, (0.0, true), (1e12, true))?,
                min_gain: o.number("min_gain", 0.0, (0.0, true), (1e12, true))?,
                subsample: o.number("subsample", 1.0, (0.0, false), (1.0, true))?,
                subsample_freq: o.integer("subsample_freq", 1, 0, 100_000)? as usize,
                colsample: o.number("colsample", 1.0, (0.0, false), (1.0, true))?,
                max_bins: o.integer("max_bins", 255, 2, 255)? as usize,
                min_data_in_bin: o.integer("min_data_in_bin", 3, 1, 1_000_000)? as usize,
                early_stopping_rounds: match o.get("early_stopping_rounds").is_some() {
                    true => Some(o.integer("early_stopping_rounds", 0, 1, 100_000)? as usize),
                    false => None,
                },
                monotone: Vec::new(),
                scale_pos_weight: o.number("scale_pos_weight", 1.0, (0.0, false), (1e6, true))?,
                seed: o.integer("seed", 42, 0, i64::MAX)? as u64,
            };
            let balanced = o.choice("class_weight", "none", &["none", "balanced"])? == "balanced";
            let group_column = o.string("group_column")?;
            Ok(BoostedOptions {
                group_column,
                objective,
                prep,
                params,
                monotone,
                balanced,
                pipeline: pipeline(o, Some(0.2))?,
            })
        })
    }
}

pub(crate) fn decode_boosted(_version: u16, body: &[u8]) -> Result<Box<dyn Model>> {
    let m: BoostedModel = model::decode_body(body)?;
    Ok(Box::new(m))
}
