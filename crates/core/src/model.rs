//! The model protocol and the registry of model kinds.
//!
//! Every stored model implements [`Model`]; every kind of model has one [`Kind`] in
//! [`REGISTRY`]. The SQL layer knows nothing else about model kinds: the per-backend cache
//! decodes bytes with [`decode`], every predict form calls [`Model::predict`],
//! `feature_importance` calls [`Model::importance`], and the functions that serve one family
//! (recommendations, prices, segments, coefficients) ask for it with [`downcast`]. Adding a
//! kind is one module implementing the protocol plus one line in the registry below.
//!
//! Bytes are an [`envelope`] (magic, the kind's own format version, algorithm name, checksum,
//! postcard body). Decoding checks the version against the kind, decodes the body of that
//! version and then [`Model::validate`]s it, so bytes that pass the checksum but hold
//! inconsistent sizes or indices (a `shopml_user` can write any bytes for its own model names)
//! are reported as damaged (XX001) instead of panicking later.

use std::any::Any;
use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::data::prep::Prep;
use crate::envelope;
use crate::error::{Error, Result};

/// What a model is for (the catalog's `task` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    Regression,
    Classification,
    Segmentation,
    Recommendation,
    Demand,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Regression => "regression",
            Task::Classification => "classification",
            Task::Segmentation => "segmentation",
            Task::Recommendation => "recommendation",
            Task::Demand => "demand",
        }
    }
}

/// Decodes a body of a given format version into a model.
pub type Decoder = fn(u16, &[u8]) -> Result<Box<dyn Model>>;

/// One kind of stored model.
pub struct Kind {
    /// The name in the envelope and in `shopml.models.algorithm`.
    pub algorithm: &'static str,
    /// The body format this build writes.
    pub format_version: u16,
    /// The oldest body format this build still reads.
    pub oldest_format: u16,
    pub task: Task,
    /// The other task its trainer learns (forests and boosted trees: classes or values).
    pub also: Option<Task>,
    /// How errors name the kind: "a recommender", "a k-means model".
    pub noun: &'static str,
    /// The SQL function that trains it.
    pub trainer: &'static str,
    /// The SQL functions that serve it.
    pub serving: &'static str,
    /// Decodes a body of the given format version (already checked to be in range).
    pub decode: Decoder,
}

/// Declares the kinds: for each a static [`Kind`] and its [`Stored`] impl, and [`REGISTRY`].
macro_rules! registry {
    ($($name:ident: $t:ty = $alg:literal, $task:ident $(or $also:ident)?, format $v:literal, $noun:literal,
       $trainer:literal, $serving:literal, $decode:expr;)*) => {
        $(
            pub static $name: Kind = Kind::new($alg, Task::$task, $v, $noun, $trainer, $serving, $decode)
                $(.also(Task::$also))?;
            impl Stored for $t {
                const KIND: &'static Kind = &$name;
            }
        )*
        /// Every kind of stored model.
        pub static REGISTRY: &[&Kind] = &[$(&$name),*];
    };
}

use crate::linear::logistic::LogisticModel;
use crate::linear::multinomial::MultinomialModel;
use crate::linear::regression::LinearBundle;
use crate::pricing::demand::DemandModel;
use crate::recommend::model::Recommender;
use crate::segments::kmeans::KMeansModel;
use crate::trees::boosted_model::BoostedModel;
use crate::trees::model::ForestModel;

// The registry: one line a kind (its type, algorithm name, task, the body format this build
// writes, how errors name it, its trainer, the functions that serve it, and its decoder).
#[rustfmt::skip]
registry! {
    LINEAR: LinearBundle = "linear", Regression, format 3, "a linear model", "train_linear", "shopml.predict and shopml.coefficients", crate::linear::regression::decode_bundle;
    LOGISTIC: LogisticModel = "logistic", Classification, format 3, "a logistic model", "train_logistic", "shopml.predict_proba, shopml.predict_label and shopml.predict", crate::linear::logistic::decode_logistic;
    MULTINOMIAL: MultinomialModel = "multinomial_logistic", Classification, format 1, "a multinomial logistic model", "train_logistic", "shopml.predict_classes, shopml.predict_label and shopml.predict", decode_boxed::<MultinomialModel>;
    FOREST: ForestModel = "random_forest", Classification or Regression, format 4, "a random forest", "train_forest", "shopml.predict_label, shopml.predict_proba and shopml.predict", crate::trees::model::decode_forest;
    KMEANS: KMeansModel = "kmeans", Segmentation, format 2, "a k-means model", "train_kmeans", "shopml.predict, shopml.predict_label and shopml.segments", decode_boxed::<KMeansModel>;
    RECOMMENDER: Recommender = "recommender", Recommendation, format 3, "a recommender", "train_recommender", "shopml.recommend_for_user or shopml.similar_items", crate::recommend::model::decode_recommender;
    BOOSTED: BoostedModel = "boosted_trees", Regression or Classification, format 1, "a boosted-trees model", "train_boosted", "shopml.predict, shopml.predict_proba and shopml.predict_label", crate::trees::boosted_model::decode_boosted;
    DEMAND: DemandModel = "demand", Demand, format 2, "a demand model", "train_demand", "shopml.optimal_price, shopml.price_curve or shopml.demand_elasticities", decode_boxed::<DemandModel>;
}

/// The kind stored under an algorithm name.
pub fn kind(algorithm: &str) -> Option<&'static Kind> {
    REGISTRY.iter().copied().find(|k| k.algorithm == algorithm)
}

/// A row prepared for a model: the outputs of its preparation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Row<'a> {
    pub dense: &'a [f64],
    /// Indices into the hashed space (`u32::MAX` for none).
    pub hashed: &'a [u32],
    /// The group column's value when the call gave a row and the model is grouped
    /// (`Some(None)` for a NULL group); `None` when the call gave an array.
    pub group: Option<Option<&'a str>>,
}

/// What a predict call asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// `predict`: a number (regression value, segment, or a classifier's numeric label).
    Value,
    /// `predict_proba`: the probability of the positive class.
    Probability,
    /// `predict_label`: the label (or segment) as text.
    Label,
}

/// A model's answer for one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer<'a> {
    /// NULL (e.g. an unseen group).
    Null,
    Number(f64),
    Text(Cow<'a, str>),
}

/// What a stored model type gets from its registry entry (implemented for every [`Stored`]
/// type).
pub trait Described: Any + Send + Sync {
    /// Its registry entry.
    fn kind(&self) -> &'static Kind;
    /// The model as `Any`, for [`downcast`].
    fn as_any(&self) -> &dyn Any;
}

impl<T: Stored> Described for T {
    fn kind(&self) -> &'static Kind {
        T::KIND
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The protocol every stored model implements.
pub trait Model: Described {
    /// Checks sizes and indices after decoding, so that serving cannot index out of bounds
    /// or loop (XX001 otherwise). The preparation is checked before, by [`decode`].
    fn validate(&self) -> Result<()>;

    /// How input columns become the model's inputs, for models predicted from rows.
    fn prep(&self) -> Option<&Prep> {
        None
    }

    /// The column whose value picks a sub-model (grouped linear models).
    fn group_column(&self) -> Option<&str> {
        None
    }

    /// The answer for one prepared row. The default refuses: the model is not served by the
    /// predict functions.
    fn predict(&self, model_name: &str, _row: &Row, _want: Want) -> Result<Answer<'_>> {
        Err(not_predictable(model_name, self.kind()))
    }

    /// The answers for many prepared rows at once (`shopml.predict_table`): `dense` holds whole
    /// rows of the preparation's dense outputs (a preparation without hashed inputs, no group).
    /// None when the kind or this `want` has no block form (callers then go row by row); when
    /// Some, each value equals [`Model::predict`]'s number for its row.
    fn predict_block(&self, _dense: &[f64], _want: Want) -> Option<Vec<f64>> {
        None
    }

    /// Per input column, how much it matters (summing to 1), when the kind can say.
    fn importance(&self) -> Option<Vec<(String, f64)>> {
        None
    }

    /// Bytes the decoded model holds (what the per-backend cache counts).
    fn memory_bytes(&self) -> usize;

    /// Per-prediction explanations (`shopml.explain`): one row of input cells (in the order
    /// of the preparation's inputs) taken apart into a baseline and one contribution per
    /// input; None when the preparation says the prediction is NULL. Kinds that cannot explain
    /// keep the default.
    fn explain(
        &self,
        model_name: &str,
        _cells: &[crate::data::cell::Cell],
        _group: Option<Option<&str>>,
    ) -> Result<Option<Explanation>> {
        Err(Error::invalid(format!(
            "model \"{model_name}\" is {}, which shopml.explain cannot take apart yet",
            self.kind().noun
        ))
        .with_hint("shopml.explain serves linear and logistic models; shopml.feature_importance gives every kind's global importances."))
    }

    /// Every class's probability for one prepared row (`shopml.predict_classes`), in the
    /// order of [`Model::class_labels`]. The default refuses: the kind is not a classifier.
    fn class_probabilities(&self, model_name: &str, _row: &Row) -> Result<Vec<f64>> {
        Err(Error::invalid(format!(
            "model \"{model_name}\" is {}, which has no classes",
            self.kind().noun
        ))
        .with_hint("shopml.predict_classes serves classifiers: logistic models, random forests and boosted trees with a binary or multiclass objective."))
    }

    /// The class labels of a classifier, in class order.
    fn class_labels(&self) -> &[String] {
        &[]
    }

    /// Hook for online updates (`shopml.update`): whether the kind can be updated from new
    /// rows rather than retrained. Kinds that can implement it with their update method.
    fn updatable(&self) -> bool {
        false
    }
}

/// One prediction taken apart by [`Model::explain`]: `baseline` plus the sum of
/// `contributions` is the model's score for the row, exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The score of the average training row: for linear families the expected score over
    /// the training rows.
    pub baseline: f64,
    /// One per input of the preparation, in its order.
    pub contributions: Vec<f64>,
    /// What the score is: "prediction" (the predicted value), "log-odds" (the logit of the
    /// positive class's probability) or "probability of <label>" (a forest's).
    pub scale: String,
}

/// The explanation of a linear score `intercept + Σ weights·x + Σ hashed(bucket)` of
/// `cells`: each dense output contributes `weight × (x − mean)` to its input, a hashed input
/// the weight of its bucket (relative to a NULL), and the baseline is the score at the means.
/// `means` empty (a model stored before they were) counts them as 0. None when the
/// preparation says NULL.
pub fn linear_explanation(
    prep: &Prep,
    cells: &[crate::data::cell::Cell],
    intercept: f64,
    weights: &[f64],
    means: &[f64],
    hashed: impl Fn(u32) -> f64,
    scale: &'static str,
) -> Option<Explanation> {
    let mut dense = vec![0.0; prep.dense_width];
    let mut buckets = Vec::new();
    if !prep.encode(cells, &mut dense, &mut buckets) {
        return None;
    }
    let mean = |j: usize| means.get(j).copied().unwrap_or(0.0);
    let mut contributions = vec![0.0; prep.inputs.len()];
    let mut baseline = intercept;
    for (j, input) in prep.dense_sources().into_iter().enumerate() {
        baseline += weights[j] * mean(j);
        contributions[input] += weights[j] * (dense[j] - mean(j));
    }
    for (k, input) in prep.inputs.iter().enumerate() {
        if matches!(input.encoding, crate::data::prep::Encoding::Hashed) {
            if let Some(t) = cells.get(k).and_then(|c| c.category()) {
                contributions[k] += hashed(crate::data::prep::bucket(
                    &input.name,
                    &t,
                    prep.hash_buckets,
                ));
            }
        }
    }
    Some(Explanation {
        baseline,
        contributions,
        scale: scale.to_string(),
    })
}

/// A model type with its registry entry (for [`encode`] and [`downcast`]); implemented by the
/// registry's line for the type.
pub trait Stored: Serialize + Sized + Send + Sync + 'static {
    const KIND: &'static Kind;
}

impl Kind {
    /// A kind whose bodies of format 1 (shopml 0.1) to `format_version` are read.
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        algorithm: &'static str,
        task: Task,
        format_version: u16,
        noun: &'static str,
        trainer: &'static str,
        serving: &'static str,
        decode: Decoder,
    ) -> Kind {
        Kind {
            algorithm,
            format_version,
            oldest_format: 1,
            task,
            also: None,
            noun,
            trainer,
            serving,
            decode,
        }
    }

    /// The kind, whose trainer learns `task` as well.
    pub const fn also(mut self, task: Task) -> Kind {
        self.also = Some(task);
        self
    }

    /// Its tasks as `shopml.model_kinds` lists them ("classification or regression").
    pub fn task_names(&self) -> String {
        match self.also {
            Some(t) => format!("{} or {}", self.task.name(), t.name()),
            None => self.task.name().to_string(),
        }
    }
}

/// The error of a predict function called on a kind it does not serve.
fn not_predictable(model_name: &str, kind: &Kind) -> Error {
    Error::invalid(format!(
        "model \"{model_name}\" is a {} model; shopml.predict and shopml.predict_proba serve regression, classification and k-means models",
        kind.algorithm
    ))
    .with_hint(format!("Serve it with {}.", kind.serving))
}

/// Per input column of `prep`, its value in `values` (one per input, e.g. importances).
pub fn per_input(prep: &Prep, values: &[f64]) -> Vec<(String, f64)> {
    let names = prep.inputs.iter().map(|i| i.name.clone());
    names.zip(values.iter().copied()).collect()
}

/// The error of `predict_proba` on a model that gives no probabilities.
pub fn no_probability(model_name: &str, kind: &Kind) -> Error {
    Error::invalid(format!(
        "model \"{model_name}\" is a {} model; predict_proba serves classifiers",
        kind.algorithm
    ))
    .with_hint("Use shopml.predict for regression and k-means models.")
}

/// The error of `predict_label` on a model that gives no labels.
pub fn no_label(model_name: &str, kind: &Kind) -> Error {
    Error::invalid(format!(
        "model \"{model_name}\" is a {} model; predict_label serves classifiers and k-means models",
        kind.algorithm
    ))
    .with_hint("Use shopml.predict for regression models.")
}

/// The bytes a model is stored as.
pub fn encode<T: Stored + Model>(model: &T) -> Result<Vec<u8>> {
    envelope::encode(T::KIND.algorithm, T::KIND.format_version, model)
}

/// Decodes and validates stored bytes; errors (XX001 for damage) name nothing, the caller
/// adds the model's name.
pub fn decode(bytes: &[u8]) -> Result<Box<dyn Model>> {
    let (header, body) = envelope::open(bytes)?;
    let kind = kind(&header.algorithm).ok_or_else(|| {
        Error::corrupted(format!(
            "unknown algorithm \"{}\" in model bytes",
            header.algorithm
        ))
    })?;
    if header.format_version > kind.format_version {
        return Err(Error::corrupted(format!(
            "model was written by format version {}; this shopml reads up to version {}",
            header.format_version, kind.format_version
        ))
        .with_hint(format!(
            "Install a shopml release that reads model format {}, or retrain the model.",
            header.format_version
        )));
    }
    if header.format_version < kind.oldest_format {
        return Err(Error::corrupted(format!(
            "model was written by format version {}, which this shopml no longer reads",
            header.format_version
        ))
        .with_hint("Retrain the model."));
    }
    let model = (kind.decode)(header.format_version, body)?;
    if let Some(prep) = model.prep() {
        prep.validate(kind)?;
    }
    model.validate()?;
    Ok(model)
}

/// Decodes a postcard body (XX001 when it does not parse).
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    postcard::from_bytes(body)
        .map_err(|e| Error::corrupted(format!("model bytes are damaged: {e}")))
}

/// The body of an older format that lacks only trailing fields which are all empty vectors
/// in the newer one, as a body of the newer: postcard writes an empty vector as one zero
/// byte (its length), so appending one per missing field is the whole conversion.
pub fn with_empty_tail(body: &[u8], fields: usize) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend(std::iter::repeat_n(0u8, fields));
    out
}

/// [`Kind::decode`] for kinds whose every readable version has the same body.
pub fn decode_boxed<T: Model + DeserializeOwned>(
    _version: u16,
    body: &[u8],
) -> Result<Box<dyn Model>> {
    Ok(Box::new(decode_body::<T>(body)?))
}

/// The model as a `T`, or 22023 naming what it is and the trainer of a `T`.
pub fn downcast<'a, T: Stored>(model: &'a dyn Model, model_name: &str) -> Result<&'a T> {
    model.as_any().downcast_ref::<T>().ok_or_else(|| {
        Error::invalid(format!(
            "model \"{model_name}\" is a {} model, not {}",
            model.kind().algorithm,
            T::KIND.noun
        ))
        .with_hint(format!("Train one with shopml.{}.", T::KIND.trainer))
    })
}

/// XX001 for a model whose decoded contents are inconsistent.
pub fn damaged(kind: &Kind, what: impl std::fmt::Display) -> Error {
    Error::corrupted(format!(
        "model bytes are damaged: {} model with {what}",
        kind.algorithm
    ))
}

/// Checks `ok` or reports `what` as damage of a `kind` model.
pub fn ensure(kind: &Kind, ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(damaged(kind, what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_versions_sane() {
        for (i, a) in REGISTRY.iter().enumerate() {
            assert!(a.oldest_format >= 1 && a.oldest_format <= a.format_version);
            assert!(a.trainer.starts_with("train_"), "{}", a.trainer);
            for b in &REGISTRY[i + 1..] {
                assert_ne!(a.algorithm, b.algorithm);
            }
            assert!(std::ptr::eq(kind(a.algorithm).unwrap(), *a));
        }
    }
}
