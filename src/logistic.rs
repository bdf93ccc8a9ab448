//! SQL surface of logistic regression: `train_logistic`, binary or multinomial (`predict`
//! gives the label, `predict_proba` a binary model's probability, `predict_classes` every
//! class's, `feature_importance` the importances; see serve/).
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use serde_json::json;
use shopml_core::data::cell::Cell;
use shopml_core::data::labels::LabelEncoder;
use shopml_core::data::prep::{ColumnKind, Impute};
use shopml_core::data::split::Split;
use shopml_core::linear::logistic::{self, train, LogisticModel, LogisticOptions};
use shopml_core::linear::multinomial::{self, MultinomialParams};
use shopml_core::{Error, Result};

use crate::catalog::Outcome;
use crate::pg::datum::Conv;
use crate::pg::error::required;
use crate::train::budget::Budget;
use crate::train::pool;
use crate::train::progress::Progress;
use crate::train::reader::{read, Rows, Spec};
use crate::train::relation::{Column, FeatureList, Features, Relation};
use crate::train::{self, Request, TrainerRow};

/// The labels of class 0 and 1 for a target column: boolean or 0/1 numbers (42804 otherwise).
pub(crate) fn labels_of(t: &Column, rel: &Relation) -> Result<[&'static str; 2]> {
    if t.conv == crate::pg::datum::Conv::Bool {
        Ok(["false", "true"])
    } else if t.is_number() {
        Ok(["0", "1"])
    } else {
        Err(Error::mismatch(format!(
                "target column \"{}\" of {} is of type {}; logistic regression takes a boolean or 0/1 target",
                t.name, rel.sql_name, t.type_name
            ),
        )
        .with_hint("For text labels or more than two classes use shopml.train_forest."))
    }
}

/// Reads the target (checked 0/1) and the features of `rel` into memory, split as `split`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_rows(
    rel: &Relation,
    target: &Column,
    features: &[Column],
    split: &Split,
    impute: Impute,
    filter: Option<&str>,
    budget: &Budget,
    progress: &mut Progress,
) -> Result<Rows<f64>> {
    let mut other_values: Vec<f64> = Vec::new();
    let spec = Spec {
        rel,
        target: Some(target),
        features,
        split,
        skip_missing: impute == Impute::Skip,
        bytes_per_row: logistic::memory_per_row(features.len()),
        filter,
        group: None,
    };
    let rows = read(&spec, budget, progress, |c: &Cell| {
        Ok(match c.number() {
            Some(v) if v == 0.0 || v == 1.0 => Some(v),
            Some(v) => {
                if !other_values.contains(&v) && other_values.len() < 5 {
                    other_values.push(v);
                }
                None
            }
            None => None,
        })
    })?;
    if !other_values.is_empty() {
        let shown: Vec<String> = other_values.iter().map(|v| v.to_string()).collect();
        return Err(Error::invalid(format!(
            "target \"{}\" of {} has values other than 0 and 1 (e.g. {}): logistic regression is for two classes",
            target.name,
            rel.sql_name,
            shown.join(", ")
        ))
        .with_hint("Use shopml.train_forest for more than two classes, or map the target to 0/1 in a view."));
    }
    Ok(rows)
}

/// Most classes a logistic model may have: more looks like a continuous target.
const MAX_CLASSES: usize = 200;

/// Most distinct values a float or numeric target is taken as classes (as train_forest).
const FLOAT_CLASSES: usize = 20;

pub(crate) fn train_inner(
    req: Request,
    target: Option<&str>,
    features: FeatureList,
) -> Result<TrainerRow> {
    let (model_name, rel, target) = (req.model_name, &req.rel, required(target, "target")?);
    let opts = LogisticOptions::parse(req.options.as_ref())?;
    let t = rel.column(target)?;
    let shards = rel.shards(model_name)?;
    if !shards.is_empty() {
        let labels = labels_of(t, rel)?;
        let t = t.clone();
        return crate::logistic_shards::train_sharded(req, shards, &t, labels, features, &opts);
    }
    let numeric = match t.kind() {
        _ if t.conv == Conv::Bool => None,
        Some(ColumnKind::Numeric) => Some(true),
        Some(ColumnKind::Categorical) => Some(false),
        _ => {
            return Err(Error::mismatch(format!(
                "target column \"{}\" of {} is of type {}; logistic regression takes a boolean, number or text target",
                t.name, rel.sql_name, t.type_name
            ))
            .with_hint("Use a CASE in a view to make classes of it."))
        }
    };
    let split = &opts.pipeline.split;
    let feats = rel.target_features(features, target, &[], &opts.pipeline)?;
    feats.notice_keys(model_name);
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
    let Some(numeric) = numeric else {
        let rows = read_rows(
            rel,
            t,
            &feats.columns,
            split,
            opts.prep.impute,
            None,
            &budget,
            &mut progress,
        )?;
        return fit_binary(
            req,
            target,
            &feats,
            rows,
            ["false", "true"].map(String::from),
            &opts,
            progress,
        );
    };
    // Numbers and text: the classes as read.
    let mut encoder = LabelEncoder::new(false, MAX_CLASSES);
    let spec = Spec {
        rel,
        target: Some(t),
        features: &feats.columns,
        split,
        skip_missing: opts.prep.impute == Impute::Skip,
        bytes_per_row: logistic::memory_per_row(feats.columns.len()),
        filter: None,
        group: None,
    };
    let rows = read(&spec, &budget, &mut progress, |c: &Cell| {
        if c.is_missing() || c.number().is_some_and(|v| !v.is_finite()) {
            return Ok(None);
        }
        encoder.code(c).map_err(|_| {
            Error::invalid(format!(
                "target \"{}\" of {} has more than {MAX_CLASSES} distinct values; logistic regression needs classes",
                t.name, rel.sql_name
            ))
            .with_hint("For a quantity use shopml.train_linear, shopml.train_boosted or shopml.train_forest with task 'regression'.")
        })
    })?;
    rows.require_training_rows(model_name, rel, opts.prep.impute.name())?;
    let (labels, remap) = encoder.finish();
    if matches!(t.conv, Conv::F8 | Conv::F4 | Conv::Numeric) && labels.len() > FLOAT_CLASSES {
        return Err(Error::invalid(format!(
            "target \"{}\" of {} is a {} column with {} distinct values, a quantity rather than classes",
            t.name,
            rel.sql_name,
            t.type_name,
            labels.len()
        ))
        .with_hint("For a quantity use shopml.train_linear, shopml.train_boosted or shopml.train_forest; for classes, cast the target to integer or text in a view."));
    }
    let recode = |y: &[u32]| -> Vec<u32> { y.iter().map(|c| remap[*c as usize]).collect() };
    let (ytr, yte) = (recode(&rows.y_train), recode(&rows.y_test));
    let mut seen = vec![false; labels.len()];
    ytr.iter().for_each(|&c| seen[c as usize] = true);
    if seen.iter().filter(|s| **s).count() < 2 {
        return Err(Error::data(format!(
            "cannot train \"{model_name}\" on {}: the target has only one class in the {} training rows",
            rel.sql_name,
            ytr.len()
        )));
    }
    if labels.len() == 2 {
        // Two classes: the binary model, class 1 the last label in order.
        let as_binary = |y: Vec<u32>| -> Vec<f64> { y.into_iter().map(f64::from).collect() };
        let rows = Rows {
            raw: rows.raw,
            y_train: as_binary(ytr),
            y_test: as_binary(yte),
            groups_train: Vec::new(),
            groups_test: Vec::new(),
            read: rows.read,
            skipped: rows.skipped,
        };
        let labels = [labels[0].clone(), labels[1].clone()];
        return fit_binary(req, target, &feats, rows, labels, &opts, progress);
    }
    if opts.l1 > 0.0 {
        return Err(Error::invalid(format!(
            "l1 is for two classes; the target of \"{model_name}\" has {} classes",
            labels.len()
        ))
        .with_hint(
            "Leave l1 out: a logistic model of more than two classes takes an L2 penalty.",
        ));
    }
    let (n_train, n_test) = (ytr.len() as i64, yte.len() as i64);
    let skipped = rows.skipped;
    let pool = pool::get()?;
    progress.stage("fitting", Some(opts.max_iter));
    let params = MultinomialParams {
        l2: opts.l2,
        balanced: opts.balanced,
        max_iter: opts.max_iter,
    };
    let trained = multinomial::train(
        rows.raw,
        ytr,
        yte,
        labels,
        numeric,
        &opts.prep,
        &params,
        &pool,
        &mut progress,
    )
    .map_err(train::about(model_name, rel))?;
    let model = &trained.model;
    let metrics = train::split_metrics(
        &trained.train,
        trained.test.as_ref(),
        json!({
            "classes": model.labels.len(),
            "skipped_rows": skipped,
            "iterations": model.iterations,
            "converged": model.converged,
            "solver": "newton (multinomial)",
        }),
    );
    let params = json!({"l2": opts.l2,
                        "class_weight": if opts.balanced { "balanced" } else { "none" },
                        "test_fraction": split.test_fraction, "split_column": split.split_column,
                        "split_seed": split.split_seed, "max_iter": opts.max_iter,
                        "labels": model.labels.iter().take(50).collect::<Vec<_>>(),
                        "preparation": model.prep.describe()});
    let outcome = Outcome::new(params, metrics, (n_train, n_test), opts.pipeline.deploy);
    req.save(model, Some(target), feats.names(), outcome)
}

/// Fits and saves the binary model on rows read with 0/1 targets (class 1 = `labels[1]`).
fn fit_binary(
    req: Request,
    target: &str,
    feats: &Features,
    rows: Rows<f64>,
    labels: [String; 2],
    opts: &LogisticOptions,
    mut progress: Progress,
) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    let split = &opts.pipeline.split;
    rows.require_training_rows(model_name, rel, opts.prep.impute.name())?;
    let (n_train, n_test) = (rows.y_train.len() as i64, rows.y_test.len() as i64);
    let skipped = rows.skipped;
    let pool = pool::get()?;
    progress.stage("fitting", Some(opts.max_iter));
    let trained = train(
        rows.raw,
        rows.y_train,
        rows.y_test,
        labels,
        &opts.prep,
        &opts.params(),
        &pool,
        &mut progress,
    )
    .map_err(train::about(model_name, rel))?;
    let model: &LogisticModel = &trained.model;
    let metrics = train::split_metrics(
        &trained.train,
        trained.test.as_ref(),
        json!({
            "positive_rate": trained.positive_rate,
            "skipped_rows": skipped,
            "iterations": model.iterations,
            "converged": model.converged,
            "solver": model.solver,
            "nonzero_coefficients": model.dense.iter().filter(|c| **c != 0.0).count() + model.hashed.len(),
        }),
    );
    let params = json!({"l1": opts.l1, "l2": opts.l2,
                        "class_weight": if opts.balanced { "balanced" } else { "none" },
                        "test_fraction": split.test_fraction, "split_column": split.split_column,
                        "split_seed": split.split_seed, "max_iter": opts.max_iter,
                        "preparation": model.prep.describe()});
    let outcome = Outcome::new(params, metrics, (n_train, n_test), opts.pipeline.deploy);
    req.save(model, Some(target), feats.names(), outcome)
}

train::supervised_trainer! {
    /// Trains a logistic regression in place: binary (L2 and L1, balanced class weights) or
    /// multinomial (softmax, L2) for more than two classes.
    train_logistic => train_inner
}
