//! SQL surface of logistic regression: `train_logistic` (`predict` gives the label,
//! `predict_proba` the probability, `feature_importance` the importances; see serve/).
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use serde_json::json;
use shopml_core::data::cell::Cell;
use shopml_core::data::prep::Impute;
use shopml_core::data::split::Split;
use shopml_core::linear::logistic::{self, train, LogisticModel, LogisticOptions};
use shopml_core::{Error, Result};

use crate::catalog::Outcome;
use crate::pg::error::required;
use crate::train::budget::Budget;
use crate::train::pool;
use crate::train::progress::Progress;
use crate::train::reader::{read, Rows, Spec};
use crate::train::relation::{Column, FeatureList, Relation};
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

fn train_inner(req: Request, target: Option<&str>, features: FeatureList) -> Result<TrainerRow> {
    let (model_name, rel, target) = (req.model_name, &req.rel, required(target, "target")?);
    let opts = LogisticOptions::parse(req.options.as_ref())?;
    let t = rel.column(target)?;
    let labels = labels_of(t, rel)?;
    let shards = rel.shards(model_name)?;
    if !shards.is_empty() {
        let t = t.clone();
        return crate::logistic_shards::train_sharded(req, shards, &t, labels, features, &opts);
    }
    let split = &opts.pipeline.split;
    let feats = rel.target_features(features, target, &[], &opts.pipeline)?;
    feats.notice_keys(model_name);
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
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
    rows.require_training_rows(model_name, rel, opts.prep.impute.name())?;
    let (n_train, n_test) = (rows.y_train.len() as i64, rows.y_test.len() as i64);
    let skipped = rows.skipped;
    let pool = pool::get()?;
    progress.stage("fitting", Some(opts.max_iter));
    let trained = train(
        rows.raw,
        rows.y_train,
        rows.y_test,
        [labels[0].to_string(), labels[1].to_string()],
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
    /// Trains a binary logistic regression (L2, optional balanced class weights) in place.
    train_logistic => train_inner
}
