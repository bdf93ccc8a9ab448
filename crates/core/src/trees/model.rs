//! A stored random forest — a classifier, or a regression forest (no labels, one value a
//! node) — the feature preparation, the forest, the class labels, and its training with
//! held-out metrics.

use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use crate::data::prep::{Cell, Prep, PrepOptions, RawTable};
use crate::error::{Error, Result};
use crate::metrics::classification::{class_metrics, multi_metrics, PartMetrics};
use crate::model::{self, ensure, Answer, Explanation, Model, Row, Task, Want};
use crate::monitor::Monitor;
use crate::options::{pipeline, prep_options, Pipeline};
use crate::trees::boosted_model::TreeMetrics;
use crate::trees::forest::MaxFeatures;
use crate::trees::forest::{fit, fit_regression, Forest, ForestParams};

/// Random forests in the registry (format 1 and 2 bodies are the same; 3 adds `covers`; 4 is
/// 3's layout and may hold a regression forest, which a format-3 reader would call damaged).
pub use crate::model::FOREST as KIND;

pub(crate) fn decode_forest(version: u16, body: &[u8]) -> Result<Box<dyn Model>> {
    let m: ForestModel = if version < 3 {
        model::decode_body(&model::with_empty_tail(body, 1))?
    } else {
        model::decode_body(body)?
    };
    Ok(Box::new(m))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForestModel {
    pub prep: Prep,
    pub forest: Forest,
    /// Class labels as text, in class-index order (numbers ascending, text sorted); empty for
    /// a regression forest.
    pub labels: Vec<String>,
    /// The labels are numbers (integer or boolean target), so `predict` can return them.
    pub numeric_labels: bool,
    /// Per input column: the sum of its prepared features' importances (sums to 1).
    pub importance: Vec<f64>,
    /// Per tree, the weighted training rows that reached each node (for TreeSHAP; empty for
    /// forests stored before format 3).
    pub covers: Vec<Vec<f32>>,
    /// TreeSHAP's row-independent figures, computed by the first explanation.
    #[serde(skip)]
    pub shap_cache: std::sync::OnceLock<crate::trees::forest::ShapCache>,
}

impl Model for ForestModel {
    fn validate(&self) -> Result<()> {
        // Trees whose links were damaged could loop or index out of bounds.
        self.forest.validate()?;
        ensure(
            &KIND,
            self.forest.n_features == self.prep.dense_width
                && (self.labels.len() == self.forest.n_classes
                    || self.labels.is_empty() && self.forest.is_regression())
                && self.importance.len() == self.prep.inputs.len(),
            "a forest that does not fit its preparation or labels",
        )?;
        ensure(
            &KIND,
            self.covers.is_empty() || self.forest.covers_fit(&self.covers),
            "node covers that do not fit its trees",
        )
    }

    fn explain(
        &self,
        model_name: &str,
        cells: &[Cell],
        _group: Option<Option<&str>>,
    ) -> Result<Option<Explanation>> {
        if self.covers.is_empty() {
            return Err(Error::data(format!(
                "forest \"{model_name}\" was stored by an older shopml (model format 2), without the node covers TreeSHAP needs"
            ))
            .with_hint("Retrain it with shopml.train_forest to explain its predictions."));
        }
        let mut x = vec![0.0; self.prep.dense_width];
        let mut hashed = Vec::new();
        if !self.prep.encode(cells, &mut x, &mut hashed) {
            return Ok(None);
        }
        // Two classes: the positive class's probability; more: the predicted class's. A
        // regression forest's one value a node is read as class 1.
        let class = if self.labels.len() == 2 || self.forest.is_regression() {
            1
        } else {
            self.class_of(&x)
        };
        let cache = self
            .shap_cache
            .get_or_init(|| self.forest.shap_cache(&self.covers));
        let (baseline, phi) = self.forest.shap(&self.covers, cache, class, &x);
        let mut contributions = vec![0.0; self.prep.inputs.len()];
        for (j, input) in self.prep.dense_sources().into_iter().enumerate() {
            contributions[input] += phi[j];
        }
        let scale = if self.forest.is_regression() {
            "prediction".to_string()
        } else {
            format!("probability of {}", self.labels[class])
        };
        Ok(Some(Explanation {
            baseline,
            contributions,
            scale,
        }))
    }

    fn prep(&self) -> Option<&Prep> {
        Some(&self.prep)
    }

    fn class_probabilities(&self, model_name: &str, row: &Row) -> Result<Vec<f64>> {
        if self.forest.is_regression() {
            return Err(no_classes(model_name));
        }
        let mut p = vec![0.0; self.labels.len()];
        self.forest.predict_proba_into(row.dense, &mut p);
        Ok(p)
    }

    fn class_labels(&self) -> &[String] {
        &self.labels
    }

    fn predict(&self, model_name: &str, row: &Row, want: Want) -> Result<Answer<'_>> {
        let x = row.dense;
        if self.forest.is_regression() {
            return match want {
                Want::Value => Ok(Answer::Number(self.forest.predict_value(x))),
                Want::Label => Err(model::no_label(model_name, &KIND)),
                Want::Probability => Err(no_classes(model_name)),
            };
        }
        match want {
            Want::Label => Ok(Answer::Text(self.labels[self.class_of(x)].as_str().into())),
            Want::Value => match self.numeric_label(self.class_of(x)) {
                Some(v) => Ok(Answer::Number(v)),
                None => Err(Error::invalid(format!(
                    "model \"{model_name}\" has text labels, which predict (float8) cannot return"
                ))
                .with_hint("Use shopml.predict_label for the label as text.")),
            },
            Want::Probability if self.labels.len() == 2 => {
                Ok(Answer::Number(self.positive_probability(x)))
            }
            Want::Probability => Err(Error::invalid(format!(
                "model \"{model_name}\" has {} classes; predict_proba gives the probability of the positive class of a two-class model",
                self.labels.len()
            ))
            .with_hint("Use shopml.predict_label for the most probable class.")),
        }
    }

    /// A regression forest's values and a two-class forest's probabilities tree by tree over
    /// groups of rows ([`Forest::mean_leaf_values`]), equal to the row-by-row answers.
    fn predict_block(&self, dense: &[f64], want: Want) -> Option<Vec<f64>> {
        let f = &self.forest;
        let ok = match want {
            Want::Value => f.is_regression(),
            Want::Probability => f.n_classes == 2 && self.labels.len() == 2,
            Want::Label => false,
        };
        if !ok {
            return None;
        }
        let mut out = vec![0.0; dense.len() / f.n_features.max(1)];
        f.mean_leaf_values(dense, 1, 0, &mut out);
        Some(out)
    }

    fn importance(&self) -> Option<Vec<(String, f64)>> {
        Some(model::per_input(&self.prep, &self.importance))
    }

    fn memory_bytes(&self) -> usize {
        let per_node = 24
            + 4 * if self.forest.n_classes == 2 {
                1
            } else {
                self.forest.n_classes
            };
        let nodes: usize = self.forest.shapes().iter().map(|t| t.nodes).sum();
        self.prep.memory_bytes() + nodes * per_node + 256
    }
}

/// A regression forest asked for a class's probability.
fn no_classes(model_name: &str) -> Error {
    Error::invalid(format!(
        "model \"{model_name}\" is a regression forest, which predicts values, not class probabilities"
    ))
    .with_hint("Use shopml.predict for its prediction.")
}

impl ForestModel {
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

/// Bytes a training holds per row of `n_inputs` input columns: the raw cells, their binned
/// copy and the labels.
pub fn memory_per_row(n_inputs: usize) -> usize {
    (n_inputs + 1) * 8 * 3
}

pub struct TrainedForest {
    pub model: ForestModel,
    pub train: TreeMetrics,
    pub test: Option<TreeMetrics>,
}

/// A forest's targets: class indices of the stored labels, or values (regression).
pub enum Targets {
    Classes(Vec<u32>),
    Values(Vec<f64>),
}

impl Targets {
    fn len(&self) -> usize {
        match self {
            Targets::Classes(y) => y.len(),
            Targets::Values(y) => y.len(),
        }
    }
}

/// Per input column, the sum of its prepared features' importances.
fn input_importance(prep: &Prep, features: &[f64]) -> Vec<f64> {
    let sources = prep.dense_sources();
    let mut importance = vec![0.0; prep.inputs.len()];
    for (j, v) in features.iter().enumerate() {
        importance[sources[j]] += v;
    }
    importance
}

/// The metrics of `model` on prepared rows `x` with targets `y`, scored in chunks of rows
/// with a monitor tick between them (a forest of many trees takes a while over many rows).
fn measure(
    model: &ForestModel,
    x: &[f64],
    y: &Targets,
    pool: &ThreadPool,
    monitor: &mut dyn Monitor,
) -> Result<TreeMetrics> {
    let w = model.prep.dense_width;
    // About 2^22 tree walks between ticks.
    let chunk = ((1usize << 22) / model.forest.trees.len().max(1)).clamp(256, 1 << 16);
    let y = match y {
        Targets::Values(t) => {
            let mut pred = vec![0.0; t.len()];
            for (c, part) in pred.chunks_mut(chunk).enumerate() {
                pool.install(|| {
                    part.par_iter_mut()
                        .enumerate()
                        .with_min_len(256)
                        .for_each(|(i, o)| {
                            let r = c * chunk + i;
                            *o = model.forest.predict_value(&x[r * w..(r + 1) * w])
                        })
                });
                monitor.tick()?;
            }
            return Ok(TreeMetrics::Regression(
                crate::metrics::regression::regression_metrics(&pred, t, false),
            ));
        }
        Targets::Classes(y) => y,
    };
    let k = model.labels.len();
    let rows = y.len();
    let mut probs = vec![0.0; rows * k];
    for (c, part) in probs.chunks_mut(chunk * k).enumerate() {
        pool.install(|| {
            part.par_chunks_mut(k).enumerate().for_each(|(i, out)| {
                let r = c * chunk + i;
                model.forest.predict_proba_into(&x[r * w..(r + 1) * w], out)
            })
        });
        monitor.tick()?;
    }
    Ok(if k == 2 {
        let p1: Vec<f64> = probs.chunks_exact(2).map(|r| r[1]).collect();
        let yf: Vec<f64> = y.iter().map(|&c| c as f64).collect();
        TreeMetrics::Class(PartMetrics::Binary(
            pool.install(|| class_metrics(&p1, &yf, 0.5)),
        ))
    } else {
        TreeMetrics::Class(PartMetrics::Multi(multi_metrics(&probs, y, k)))
    })
}

impl ForestModel {
    /// `params.n_trees` more trees grown on new rows (prepared by the stored preparation, the
    /// classes numbered as the stored labels), appended to the forest, which then averages old
    /// and new trees alike; the importances are the trees' average.
    pub fn update(
        &self,
        mut raw: RawTable,
        ytr: Targets,
        yte: Targets,
        params: &ForestParams,
        pool: &ThreadPool,
        monitor: &mut dyn Monitor,
    ) -> Result<TrainedForest> {
        let (w, k) = (self.prep.dense_width, self.labels.len());
        let train_part = std::mem::take(&mut raw.train);
        let test_part = std::mem::take(&mut raw.test);
        let (xtr, _) = self.prep.transform(&raw, train_part);
        let (xte, _) = self.prep.transform(&raw, test_part);
        drop(raw);
        let grown = match &ytr {
            Targets::Classes(y) => fit(&xtr, w, y, k, params, pool, monitor)?,
            Targets::Values(y) => fit_regression(&xtr, w, y, params, pool, monitor)?,
        };
        if grown.is_regression() != self.forest.is_regression() {
            return Err(Error::invalid("new rows of another task than the forest's"));
        }
        let (n_old, n_new) = (self.forest.trees.len() as f64, grown.trees.len() as f64);
        let mut model = self.clone();
        model.shap_cache = std::sync::OnceLock::new();
        if !model.covers.is_empty() {
            model.covers.extend(grown.covers());
        }
        for (a, b) in model.forest.importance.iter_mut().zip(&grown.importance) {
            *a = (*a * n_old + b * n_new) / (n_old + n_new);
        }
        model.forest.trees.extend(grown.trees);
        model.importance = input_importance(&model.prep, &model.forest.importance);
        let train_m = measure(&model, &xtr, &ytr, pool, monitor)?;
        let test_m = if yte.len() > 0 {
            Some(measure(&model, &xte, &yte, pool, monitor)?)
        } else {
            None
        };
        Ok(TrainedForest {
            model,
            train: train_m,
            test: test_m,
        })
    }
}

/// Learns the preparation on the training part, grows the forest, and measures both parts.
#[allow(clippy::too_many_arguments)]
pub fn train(
    mut raw: RawTable,
    ytr: Targets,
    yte: Targets,
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
    let forest = match &ytr {
        Targets::Classes(y) => fit(&xtr, w, y, k, params, pool, monitor)?,
        Targets::Values(y) => fit_regression(&xtr, w, y, params, pool, monitor)?,
    };
    let importance = input_importance(&prep, &forest.importance);
    let covers = forest.covers();
    let model = ForestModel {
        prep,
        forest,
        labels,
        numeric_labels,
        importance,
        covers,
        shap_cache: std::sync::OnceLock::new(),
    };
    let train_m = measure(&model, &xtr, &ytr, pool, monitor)?;
    let test_m = if yte.len() > 0 {
        Some(measure(&model, &xte, &yte, pool, monitor)?)
    } else {
        None
    };
    Ok(TrainedForest {
        model,
        train: train_m,
        test: test_m,
    })
}
/// Options of `train_forest`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestOptions {
    pub prep: PrepOptions,
    pub forest: ForestParams,
    pub pipeline: Pipeline,
    /// `task`: classification or regression; `None` lets the target decide.
    pub task: Option<Task>,
    /// `max_features` was given (otherwise it is `sqrt` for a classifier and `all` for a
    /// regression forest, scikit-learn's defaults).
    pub max_features_set: bool,
}

impl ForestOptions {
    /// The parameters for a regression forest: every feature a candidate unless
    /// `max_features` says otherwise.
    pub fn regression_params(&self) -> ForestParams {
        let mut p = self.forest.clone();
        if !self.max_features_set {
            p.max_features = MaxFeatures::All;
        }
        p
    }
}

impl ForestOptions {
    pub fn parse(value: Option<&serde_json::Value>) -> Result<Self> {
        crate::options::parse("train_forest", value, |o| {
            let max_features = match o.get("max_features").cloned() {
                None => MaxFeatures::Sqrt,
                Some(serde_json::Value::String(s)) if s == "sqrt" => MaxFeatures::Sqrt,
                Some(serde_json::Value::String(s)) if s == "log2" => MaxFeatures::Log2,
                Some(serde_json::Value::String(s)) if s == "all" => MaxFeatures::All,
                Some(v) => match (v.as_u64(), v.as_f64()) {
                    (Some(k), _) if (1..=100_000).contains(&k) => MaxFeatures::Count(k as usize),
                    (None, Some(f)) if f > 0.0 && f <= 1.0 => MaxFeatures::Fraction(f),
                    _ => {
                        return Err(o.bad(
                            "max_features",
                            "'sqrt', 'log2', 'all', a count of features or a fraction in (0, 1]",
                            &v,
                        ))
                    }
                },
            };
            let task = match o
                .choice("task", "auto", &["auto", "classification", "regression"])?
                .as_str()
            {
                "classification" => Some(Task::Classification),
                "regression" => Some(Task::Regression),
                _ => None,
            };
            Ok(ForestOptions {
                task,
                max_features_set: o.get("max_features").is_some(),
                prep: prep_options(o, false)?,
                forest: ForestParams {
                    n_trees: o.integer("n_trees", 100, 1, 10_000)? as usize,
                    max_depth: match o.get("max_depth").is_some() {
                        true => Some(o.integer("max_depth", 0, 1, 1000)? as usize),
                        false => None,
                    },
                    min_samples_leaf: o.integer("min_samples_leaf", 1, 1, 1_000_000)? as usize,
                    max_features,
                    bootstrap: o.boolean("bootstrap", true)?,
                    seed: o.integer("seed", 42, 0, i64::MAX)? as u64,
                    balanced: o.choice("class_weight", "none", &["none", "balanced"])?
                        == "balanced",
                    max_bins: o.integer("max_bins", 255, 2, 255)? as usize,
                },
                pipeline: pipeline(o, Some(0.2))?,
            })
        })
    }
}
