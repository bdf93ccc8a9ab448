//! SQL surface of random forests: `train_forest`, classifiers and regression forests
//! (`predict`, `predict_label`, `predict_proba` and `feature_importance` serve them through the
//! model protocol).
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use serde_json::json;
use shopml_core::data::cell::Cell;
use shopml_core::data::labels::LabelEncoder;
use shopml_core::data::prep::{ColumnKind, Impute};
use shopml_core::model::Task;
use shopml_core::trees::model::{train, ForestOptions, Targets};
use shopml_core::{Error, Result};

use crate::catalog::Outcome;
use crate::pg::datum::Conv;
use crate::pg::error::required;
use crate::train::budget::Budget;
use crate::train::pool;
use crate::train::progress::Progress;
use crate::train::reader::{read, Spec};
use crate::train::relation::FeatureList;
use crate::train::{self, json, with, Request, TrainerRow};

/// Most classes a forest may have: more looks like a continuous target.
const MAX_CLASSES: usize = 1000;

/// Most distinct values a float or numeric target is taken as classes by default.
const FLOAT_CLASSES: usize = 20;

/// A target as read: its number (NaN for text) and its provisional class code (`u32::MAX`
/// past `MAX_CLASSES` distinct values).
type Target = (f64, u32);

pub(crate) fn train_inner(
    req: Request,
    target: Option<&str>,
    features: FeatureList,
) -> Result<TrainerRow> {
    let (model_name, rel, target) = (req.model_name, &req.rel, required(target, "target")?);
    let opts = ForestOptions::parse(req.options.as_ref())?;
    let t = rel.column(target)?.clone();
    let boolean = t.conv == Conv::Bool;
    let numeric_labels = match t.kind() {
        Some(ColumnKind::Numeric) => true,
        Some(ColumnKind::Categorical) => false,
        _ => {
            return Err(Error::mismatch(format!(
                "target column \"{}\" of {} is of type {}, which cannot be a target",
                t.name, rel.sql_name, t.type_name
            ))
            .with_hint("Use a number, text or boolean target (e.g. a CASE in a view)."))
        }
    };
    if opts.task == Some(Task::Regression) && (!numeric_labels || boolean) {
        return Err(Error::mismatch(format!(
            "task 'regression' needs a numeric target; \"{}\" of {} is of type {}",
            t.name, rel.sql_name, t.type_name
        ))
        .with_hint("Leave task out (or 'classification') for labels."));
    }
    let split = &opts.pipeline.split;
    let feats = rel.target_features(features, target, &[], &opts.pipeline)?;
    feats.notice_keys(model_name);
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
    let mut labels = LabelEncoder::new(boolean, MAX_CLASSES);
    let mut too_many = false;
    let spec = Spec {
        rel,
        target: Some(&t),
        features: &feats.columns,
        split,
        skip_missing: opts.prep.impute == Impute::Skip,
        bytes_per_row: shopml_core::trees::model::memory_per_row(feats.columns.len()),
        filter: None,
        group: None,
    };
    let regression_target = numeric_labels && !boolean;
    let rows = read(
        &spec,
        &budget,
        &mut progress,
        |c: &Cell| -> Result<Option<Target>> {
            if c.is_missing() {
                return Ok(None);
            }
            let v = c.number().unwrap_or(f64::NAN);
            if regression_target && !v.is_finite() {
                return Ok(None);
            }
            let code = if too_many {
                u32::MAX
            } else {
                match labels.code(c) {
                    Ok(Some(code)) => code,
                    Ok(None) => return Ok(None),
                    Err(_) => {
                        too_many = true;
                        u32::MAX
                    }
                }
            };
            Ok(Some((v, code)))
        },
    )?;
    rows.require_training_rows(model_name, rel, opts.prep.impute.name())?;
    let (labels, remap) = labels.finish();
    // A quantity, not classes (never a silent classifier of hundreds of "classes"): a number
    // with fractional values, a float or numeric column of more than FLOAT_CLASSES values, or
    // any number with more distinct values than classes may have.
    let fractional = || {
        rows.y_train
            .iter()
            .chain(&rows.y_test)
            .any(|y| y.0.fract() != 0.0)
    };
    let float_type = matches!(t.conv, Conv::F8 | Conv::F4 | Conv::Numeric);
    let task = match opts.task {
        Some(task) => task,
        None if regression_target
            && (too_many || fractional() || (float_type && labels.len() > FLOAT_CLASSES)) =>
        {
            Task::Regression
        }
        None => Task::Classification,
    };
    let (n_train, n_test) = (rows.y_train.len() as i64, rows.y_test.len() as i64);
    let (labels, ytr, yte, params) = if task == Task::Regression {
        let values = |y: &[Target]| Targets::Values(y.iter().map(|t| t.0).collect());
        (
            Vec::new(),
            values(&rows.y_train),
            values(&rows.y_test),
            opts.regression_params(),
        )
    } else {
        if too_many {
            return Err(Error::invalid(format!(
                "target \"{target}\" of {} has more than {MAX_CLASSES} distinct values; a classifier needs classes",
                rel.sql_name
            ))
            .with_hint("Leave task out or set it to 'regression' for a continuous target."));
        }
        let classes =
            |y: &[Target]| -> Vec<u32> { y.iter().map(|t| remap[t.1 as usize]).collect() };
        let (ytr, yte) = (classes(&rows.y_train), classes(&rows.y_test));
        let mut seen = vec![false; labels.len()];
        ytr.iter().for_each(|&c| seen[c as usize] = true);
        if seen.iter().filter(|s| **s).count() < 2 {
            return Err(Error::data(format!(
                "cannot train \"{model_name}\" on {}: the target has only one class in the {} training rows",
                rel.sql_name,
                ytr.len()
            )));
        }
        (
            labels,
            Targets::Classes(ytr),
            Targets::Classes(yte),
            opts.forest.clone(),
        )
    };
    let skipped = rows.skipped;
    let pool = pool::get()?;
    progress.stage("growing trees", None);
    let trained = train(
        rows.raw,
        ytr,
        yte,
        labels,
        numeric_labels,
        &opts.prep,
        &params,
        &pool,
        &mut progress,
    )
    .map_err(train::about(model_name, rel))?;
    let model = &trained.model;
    let mut extra = json!({
        "task": task.name(),
        "skipped_rows": skipped,
        "trees": params.n_trees,
        "nodes": model.forest.shapes().iter().map(|s| s.nodes).sum::<usize>(),
    });
    if task == Task::Classification {
        extra["classes"] = json!(model.labels.len());
    }
    let metrics = train::split_metrics(&trained.train, trained.test.as_ref(), extra);
    let params = with(
        json(&params),
        json!({"task": task.name(), "test_fraction": split.test_fraction, "split_column": split.split_column,
               "split_seed": split.split_seed,
               "labels": model.labels.iter().take(50).collect::<Vec<_>>(),
               "preparation": model.prep.describe()}),
    );
    let outcome =
        Outcome::new(params, metrics, (n_train, n_test), opts.pipeline.deploy).with_task(task);
    req.save(model, Some(target), feats.names(), outcome)
}

train::supervised_trainer! {
    /// Trains a random forest (CART trees on bootstrap samples) in place: a classifier, or a
    /// regression forest for a numeric target with fractions or `task` 'regression'.
    train_forest => train_inner
}
