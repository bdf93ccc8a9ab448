//! SQL surface of gradient-boosted trees: `train_boosted` (`predict`, `predict_proba`,
//! `predict_label` and `feature_importance` serve it through the model protocol).
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use serde_json::json;
use shopml_core::data::cell::Cell;
use shopml_core::data::labels::LabelEncoder;
use shopml_core::data::prep::{ColumnKind, Impute};
use shopml_core::model::Task;
use shopml_core::trees::boosted::Objective;
use shopml_core::trees::boosted_model::{memory_per_row, train, BoostedOptions};
use shopml_core::{Error, ErrorKind, Result};

use crate::catalog::Outcome;
use crate::pg::datum::Conv;
use crate::pg::error::required;
use crate::train::budget::Budget;
use crate::train::pool;
use crate::train::progress::Progress;
use crate::train::reader::{read, Spec};
use crate::train::relation::FeatureList;
use crate::train::{self, json, with, Request, TrainerRow};

/// Most classes a multiclass model may have.
const MAX_CLASSES: usize = 1000;

/// A target as read: its number (NaN for text) and its provisional class code (`u32::MAX`
/// past `MAX_CLASSES` distinct values).
type Target = (f64, u32);

pub(crate) fn train_inner(
    req: Request,
    target: Option<&str>,
    features: FeatureList,
) -> Result<TrainerRow> {
    let (model_name, rel, target) = (req.model_name, &req.rel, required(target, "target")?);
    let opts = BoostedOptions::parse(req.options.as_ref())?;
    let t = rel.column(target)?.clone();
    let boolean = t.conv == Conv::Bool;
    let numeric_target = match t.kind() {
        Some(ColumnKind::Numeric) => true,
        Some(ColumnKind::Categorical) => false,
        _ => {
            return Err(Error::mismatch(format!(
                "target column \"{}\" of {} is of type {}, which cannot be a target",
                t.name, rel.sql_name, t.type_name
            ))
            .with_hint("Use a number, boolean or text target (e.g. a CASE in a view)."))
        }
    };
    if let Some(o) = opts.objective {
        if !o.is_classifier() && !numeric_target {
            return Err(Error::mismatch(format!(
                "objective '{}' needs a numeric target; \"{}\" of {} is of type {}",
                o.name(),
                t.name,
                rel.sql_name,
                t.type_name
            ))
            .with_hint("Use objective 'binary' or 'multiclass' for labels."));
        }
    }
    // Ranking: rows grouped by a query column; the held-out split keeps a group together.
    let ranking = opts.objective == Some(Objective::Lambdarank);
    let group_col = match (&opts.group_column, ranking) {
        (Some(g), true) => Some(rel.column(g)?.clone()),
        (None, true) => {
            return Err(Error::invalid("objective 'lambdarank' needs group_column")
                .with_hint("Name the column of the query or session whose shown products are ranked, e.g. {\"group_column\": \"query_id\"}."))
        }
        (Some(_), false) => {
            return Err(Error::invalid("group_column is only used by objective 'lambdarank'"))
        }
        (None, false) => None,
    };
    let mut split_opts = opts.pipeline.split.clone();
    if let Some(g) = &group_col {
        if split_opts.split_column.is_none() {
            split_opts.split_column = Some(g.name.clone());
        }
    }
    let split = &split_opts;
    if opts.params.early_stopping_rounds.is_some() && split.test_fraction == 0.0 {
        return Err(Error::invalid(
            "early_stopping_rounds needs held-out rows, but test_fraction is 0",
        )
        .with_hint("Keep the default test_fraction (0.2) or set one above 0."));
    }
    let exclude: Vec<&str> = group_col.iter().map(|c| c.name.as_str()).collect();
    let feats = rel.target_features(features, target, &exclude, &opts.pipeline)?;
    // Monotone constraints name numeric input columns.
    let mut monotone = vec![0i8; feats.columns.len()];
    for (name, sign) in &opts.monotone {
        let Some(i) = feats.columns.iter().position(|c| &c.name == name) else {
            return Err(Error::new(
                ErrorKind::UndefinedColumn,
                format!(
                    "monotone names column \"{name}\", which is not a feature of \"{model_name}\""
                ),
            )
            .with_hint(format!("The features are: {}.", feats.names().join(", "))));
        };
        if feats.columns[i].kind() != Some(ColumnKind::Numeric) {
            return Err(Error::invalid(format!(
                "monotone constraint on \"{name}\", which is not a number"
            )));
        }
        monotone[i] = *sign as i8;
    }
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
        bytes_per_row: memory_per_row(feats.columns.len()),
        filter: None,
        group: group_col.as_ref(),
    };
    let rows = read(
        &spec,
        &budget,
        &mut progress,
        |c: &Cell| -> Result<Option<Target>> {
            if c.is_missing() {
                return Ok(None);
            }
            let v = c.number().unwrap_or(f64::NAN);
            if numeric_target && !v.is_finite() {
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
    let (classes, remap) = labels.finish();
    let binary_values = !too_many
        && numeric_target
        && classes.len() <= 2
        && classes
            .iter()
            .all(|l| l == "0" || l == "1" || l == "true" || l == "false");
    let objective = match opts.objective {
        Some(o) => o,
        None if boolean || binary_values => Objective::Binary,
        None if !numeric_target && classes.len() == 2 => Objective::Binary,
        None if !numeric_target => Objective::Multiclass,
        None => Objective::Regression,
    };
    let all_y = || rows.y_train.iter().chain(&rows.y_test);
    let (labels, ytr, yte): (Vec<String>, Vec<f64>, Vec<f64>) = match objective {
        Objective::Binary | Objective::Multiclass => {
            if too_many {
                return Err(Error::invalid(format!(
                    "target \"{target}\" of {} has more than {MAX_CLASSES} distinct values; a classifier needs classes",
                    rel.sql_name
                ))
                .with_hint("For a continuous target use objective 'regression'."));
            }
            let present: std::collections::BTreeSet<u32> =
                rows.y_train.iter().map(|y| remap[y.1 as usize]).collect();
            if present.len() < 2 {
                return Err(Error::data(format!(
                    "cannot train \"{model_name}\" on {}: the target has only one class in the {} training rows",
                    rel.sql_name,
                    rows.y_train.len()
                )));
            }
            if objective == Objective::Binary && classes.len() > 2 {
                return Err(Error::invalid(format!(
                    "objective 'binary' on target \"{target}\" of {}, which has {} distinct values",
                    rel.sql_name,
                    classes.len()
                ))
                .with_hint("Use objective 'multiclass' for more than two classes."));
            }
            let code = |y: &Target| remap[y.1 as usize] as f64;
            (
                classes,
                rows.y_train.iter().map(code).collect(),
                rows.y_test.iter().map(code).collect(),
            )
        }
        Objective::Regression | Objective::Poisson | Objective::Lambdarank => {
            if objective == Objective::Lambdarank {
                if let Some(bad) = all_y().find(|y| !(0.0..=30.0).contains(&y.0)) {
                    return Err(Error::invalid(format!(
                        "objective 'lambdarank' needs relevances between 0 and 30 (the gain is 2^relevance - 1); target \"{target}\" of {} has {}",
                        rel.sql_name, bad.0
                    ))
                    .with_hint("Use graded relevance such as 0 shown, 1 clicked, 2 bought, or cap counts (least(clicks, 5))."));
                }
            }
            if objective == Objective::Poisson {
                if let Some(bad) = all_y().find(|y| y.0 < 0.0) {
                    return Err(Error::invalid(format!(
                        "objective 'poisson' needs counts of at least 0; target \"{target}\" of {} has {}",
                        rel.sql_name, bad.0
                    )));
                }
                if rows.y_train.iter().all(|y| y.0 == 0.0) {
                    return Err(Error::data(format!(
                        "cannot train \"{model_name}\" on {}: every training count is 0",
                        rel.sql_name
                    )));
                }
            }
            (
                Vec::new(),
                rows.y_train.iter().map(|y| y.0).collect(),
                rows.y_test.iter().map(|y| y.0).collect(),
            )
        }
    };
    let (n_train, n_test) = (ytr.len() as i64, yte.len() as i64);
    let skipped = rows.skipped;
    let (mut groups_train, mut groups_test) = (rows.groups_train, rows.groups_test);
    let pool = pool::get()?;
    let mut params = opts.params.clone();
    params.objective = objective;
    progress.stage("boosting trees", Some(params.n_trees));
    let trained = train(
        rows.raw,
        ytr,
        yte,
        labels,
        numeric_target,
        &opts.prep,
        &params,
        &monotone,
        opts.balanced,
        ranking.then(|| {
            (
                std::mem::take(&mut groups_train),
                std::mem::take(&mut groups_test),
            )
        }),
        &pool,
        &mut progress,
    )
    .map_err(train::about(model_name, rel))?;
    let model = &trained.model;
    let curve = &trained.curve;
    let finite = |v: &Vec<f64>| -> Vec<serde_json::Value> {
        v.iter()
            .map(|x| if x.is_finite() { json!(x) } else { json!(null) })
            .collect()
    };
    let mut extra = json!({
        "objective": objective.name(),
        "skipped_rows": skipped,
        "trees": model.booster.trees.len(),
        "iterations": curve.train.len(),
        "best_iteration": curve.best_iteration,
        "curve": {"loss": objective.loss_name(), "train": finite(&curve.train),
                  "test": if n_test > 0 { json!(finite(&curve.valid)) } else { json!(null) }},
    });
    if objective.is_classifier() {
        extra["classes"] = json!(model.labels.len());
    }
    let metrics = train::split_metrics(&trained.train, trained.test.as_ref(), extra);
    let params_json = with(
        json(&params),
        json!({"test_fraction": split.test_fraction, "split_column": split.split_column,
               "split_seed": split.split_seed, "class_weight": if opts.balanced {"balanced"} else {"none"},
               "monotone": opts.monotone.iter().map(|(c, v)| (c.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
               "labels": model.labels.iter().take(50).collect::<Vec<_>>(),
               "preparation": model.prep.describe()}),
    );
    let task = if objective.is_classifier() {
        Task::Classification
    } else {
        Task::Regression
    };
    let outcome = Outcome::new(
        params_json,
        metrics,
        (n_train, n_test),
        opts.pipeline.deploy,
    )
    .with_task(task);
    req.save(model, Some(target), feats.names(), outcome)
}

train::supervised_trainer! {
    /// Trains gradient-boosted trees (histogram-based, leaf-wise: binary, regression, poisson
    /// or multiclass) in place.
    train_boosted => train_inner
}
