//! SQL surface of random forests: `train_forest` (`predict`, `predict_label`, `predict_proba`
//! and `feature_importance` serve it through the model protocol).
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use serde_json::json;
use shopml_core::data::cell::Cell;
use shopml_core::data::labels::LabelEncoder;
use shopml_core::data::prep::{ColumnKind, Impute};
use shopml_core::trees::model::{train, ForestOptions};
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

/// Most distinct values of a numeric target with fractional values that a forest takes as
/// classes (more is a continuous target).
const MAX_FRACTIONAL_CLASSES: usize = 20;

fn train_inner(req: Request, target: Option<&str>, features: FeatureList) -> Result<TrainerRow> {
    let (model_name, rel, target) = (req.model_name, &req.rel, required(target, "target")?);
    let opts = ForestOptions::parse(req.options.as_ref())?;
    let t = rel.column(target)?.clone();
    let boolean = t.conv == Conv::Bool;
    let numeric_labels = match t.kind() {
        Some(ColumnKind::Numeric) => true,
        Some(ColumnKind::Categorical) => false,
        _ => {
            return Err(Error::mismatch(format!(
                "target column \"{}\" of {} is of type {}, which cannot be a class label",
                t.name, rel.sql_name, t.type_name
            ))
            .with_hint("Use a text, integer or boolean target (e.g. a CASE in a view)."))
        }
    };
    let split = &opts.pipeline.split;
    let feats = rel.target_features(features, target, &[], &opts.pipeline)?;
    feats.notice_keys(model_name);
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
    let mut labels = LabelEncoder::new(boolean, MAX_CLASSES);
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
    let rows = read(&spec, &budget, &mut progress, |c: &Cell| {
        labels.code(c).map_err(|_| {
            Error::invalid(format!(
                "target \"{target}\" of {} has more than {MAX_CLASSES} distinct values; a classifier needs classes",
                rel.sql_name
            ))
            .with_hint("For a continuous target use shopml.train_linear.")
        })
    })?;
    rows.require_training_rows(model_name, rel, opts.prep.impute.name())?;
    let (labels, remap) = labels.finish();
    // A number with many fractional values is a quantity, not classes: never a silent
    // classifier of hundreds of "classes".
    if numeric_labels && !boolean && labels.len() > MAX_FRACTIONAL_CLASSES {
        let fractional = labels
            .iter()
            .any(|l| l.parse::<f64>().is_ok_and(|v| v.fract() != 0.0));
        if fractional {
            return Err(Error::invalid(format!(
                "target \"{target}\" of {} has {} distinct values with fractions; train_forest classifies",
                rel.sql_name,
                labels.len()
            ))
            .with_hint("For a continuous target use shopml.train_boosted (objective 'regression') or shopml.train_linear; for classes, make a few labels (e.g. a CASE or round in a view)."));
        }
    }
    let renumber = |y: Vec<u32>| -> Vec<u32> { y.into_iter().map(|c| remap[c as usize]).collect() };
    let (ytr, yte) = (renumber(rows.y_train), renumber(rows.y_test));
    let mut seen = vec![false; labels.len()];
    ytr.iter().for_each(|&c| seen[c as usize] = true);
    if seen.iter().filter(|s| **s).count() < 2 {
        return Err(Error::data(format!(
            "cannot train \"{model_name}\" on {}: the target has only one class in the {} training rows",
            rel.sql_name,
            ytr.len()
        )));
    }
    let (n_train, n_test) = (ytr.len() as i64, yte.len() as i64);
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
        &opts.forest,
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
            "trees": opts.forest.n_trees,
        }),
    );
    let params = with(
        json(&opts.forest),
        json!({"test_fraction": split.test_fraction, "split_column": split.split_column,
               "split_seed": split.split_seed,
               "labels": model.labels.iter().take(50).collect::<Vec<_>>(),
               "preparation": model.prep.describe()}),
    );
    let outcome = Outcome::new(params, metrics, (n_train, n_test), opts.pipeline.deploy);
    req.save(model, Some(target), feats.names(), outcome)
}

train::supervised_trainer! {
    /// Trains a random-forest classifier (CART trees on bootstrap samples) in place.
    train_forest => train_inner
}
