//! SQL surface of classification: `train_logistic` and `feature_importance`
//! (`predict` gives the label, `predict_proba` the probability; see predict.rs).

use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};
use serde_json::{json, Value};
use shopml_core::hash::is_test;
use shopml_core::logistic::{train, ClassMetrics, TrainParams, ALGORITHM};
use shopml_core::options::LogisticOptions;
use shopml_core::prep::{hash_cells, Cell, Impute, Kind, RawTable};
use shopml_core::{envelope, Error, ErrorKind, Result};

use crate::budget::Budget;
use crate::cache::{self, Loaded};
use crate::catalog::{self, NewModel, Trained};
use crate::error::{required, OrRaise};
use crate::pool::{self, Interrupts};
use crate::relation::{relation_oid, Relation};
use crate::scan::scan;

pub fn metrics_json(m: &ClassMetrics) -> Value {
    json!({"n": m.n, "auc": m.auc, "log_loss": m.log_loss, "accuracy": m.accuracy,
           "precision": m.precision, "recall": m.recall, "f1": m.f1,
           "calibration_error": m.calibration_error})
}

fn train_inner(
    model_name: Option<&str>,
    relation: pg_sys::Oid,
    target: Option<&str>,
    features: Option<Vec<Option<String>>>,
    options: Option<Value>,
) -> Result<Trained> {
    let model_name = required(model_name, "model_name")?;
    catalog::check_name(model_name)?;
    let target = required(target, "target")?;
    let opts = LogisticOptions::parse(options.as_ref())?;
    let rel = Relation::open(relation);
    let t = rel.column(target)?;
    let labels = if t.type_name == "boolean" {
        ["false", "true"]
    } else if t.numeric {
        ["0", "1"]
    } else {
        return Err(Error::new(
            ErrorKind::DatatypeMismatch,
            format!(
                "target column \"{}\" of {} is of type {}; logistic regression takes a boolean or 0/1 target",
                t.name, rel.sql_name, t.type_name
            ),
        )
        .with_hint("For text labels or more than two classes use shopml.train_forest."));
    };
    let feats = rel.target_features(features, target, &[])?;
    let query = format!(
        "SELECT {}, {} FROM {}",
        t.scan_expr(),
        feats
            .iter()
            .map(|f| f.scan_expr())
            .collect::<Vec<_>>()
            .join(", "),
        rel.sql_name
    );
    let budget = Budget::new(model_name);
    let names: Vec<String> = feats.iter().map(|f| f.name.clone()).collect();
    let kinds: Vec<Kind> = feats.iter().filter_map(|f| f.kind()).collect();
    let mut raw = RawTable::new(names.clone(), &kinds);
    let (mut ytr, mut yte): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut other_values: Vec<f64> = Vec::new();
    let skip_nulls = opts.prep.impute == Impute::Skip;
    let mut skipped = 0u64;
    let bytes = (kinds.len() + 1) * 8 * 4 + 16;
    let rows = scan(&query, &budget, bytes, |cells| {
        let v = match cells[0] {
            Cell::Num(v) if v.is_finite() => v,
            _ => {
                skipped += 1;
                return Ok(());
            }
        };
        if v != 0.0 && v != 1.0 {
            if !other_values.contains(&v) && other_values.len() < 5 {
                other_values.push(v);
            }
            return Ok(());
        }
        if skip_nulls && RawTable::has_null(&cells[1..]) {
            skipped += 1;
            return Ok(());
        }
        let test = opts.test_fraction > 0.0 && is_test(hash_cells(cells), opts.test_fraction);
        raw.push(&cells[1..], test);
        if test {
            yte.push(v);
        } else {
            ytr.push(v);
        }
        Ok(())
    })?;
    if !other_values.is_empty() {
        let shown: Vec<String> = other_values.iter().map(|v| v.to_string()).collect();
        return Err(Error::invalid(format!(
            "target \"{target}\" of {} has values other than 0 and 1 (e.g. {}): logistic regression is for two classes",
            rel.sql_name,
            shown.join(", ")
        ))
        .with_hint("Use shopml.train_forest for more than two classes, or map the target to 0/1 in a view."));
    }
    let n_test = yte.len() as i64;
    let n_train = ytr.len() as i64;
    if n_train == 0 {
        return Err(Error::data(format!(
            "no usable rows to train \"{model_name}\" on {}",
            rel.sql_name
        ))
        .with_detail(format!(
            "{rows} rows read, {skipped} skipped for a NULL target or a NULL, NaN or infinite feature (impute is '{}').",
            opts.prep.impute.name()
        )));
    }
    let params = TrainParams {
        l1: opts.l1,
        l2: opts.l2,
        balanced: opts.balanced,
        max_iter: opts.max_iter,
    };
    let pool = pool::get()?;
    let trained = train(
        raw,
        ytr,
        yte,
        [labels[0].to_string(), labels[1].to_string()],
        &opts.prep,
        &params,
        &pool,
        &mut Interrupts,
    )
    .map_err(|mut e| {
        if e.kind == ErrorKind::DataException {
            e.message = format!(
                "cannot train \"{model_name}\" on {}: {}",
                rel.sql_name, e.message
            );
        }
        e
    })?;
    let model = trained.model;
    let head = trained.test.as_ref().unwrap_or(&trained.train);
    let mut metrics = metrics_json(head);
    if let Value::Object(o) = &mut metrics {
        o.remove("n");
        o.insert("train".into(), metrics_json(&trained.train));
        o.insert(
            "test".into(),
            trained
                .test
                .as_ref()
                .map(metrics_json)
                .unwrap_or(Value::Null),
        );
        o.insert("positive_rate".into(), json!(trained.positive_rate));
        o.insert("skipped_rows".into(), json!(skipped));
        o.insert("iterations".into(), json!(model.iterations));
        o.insert("converged".into(), json!(model.converged));
        o.insert("solver".into(), json!(model.solver));
        o.insert(
            "nonzero_coefficients".into(),
            json!(model.dense.iter().filter(|c| **c != 0.0).count() + model.hashed.len()),
        );
    }
    let bytes = envelope::encode(ALGORITHM, &model)?;
    Ok(Trained::save(NewModel {
        model_name,
        algorithm: ALGORITHM,
        task: "classification",
        source: rel.sql_name.clone(),
        target: Some(target.to_string()),
        features: names,
        params: json!({"l1": opts.l1, "l2": opts.l2,
                        "class_weight": if opts.balanced { "balanced" } else { "none" },
                        "test_fraction": opts.test_fraction, "max_iter": opts.max_iter,
                        "preparation": model.prep.describe()}),
        metrics,
        n_train,
        n_test,
        bytes,
        deploy: opts.deploy,
    }))
}

/// Trains a binary logistic regression (L2, optional balanced class weights) in place.
#[pg_extern(volatile, parallel_unsafe)]
#[allow(clippy::type_complexity)]
fn train_logistic(
    model_name: Option<&str>,
    relation: Option<PgRelation>,
    target: Option<&str>,
    features: default!(Option<Vec<Option<String>>>, "NULL"),
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(model_id, i64),
        name!(model_name, String),
        name!(version, i32),
        name!(n_train, i64),
        name!(n_test, i64),
        name!(metrics, JsonB),
    ),
> {
    let oid = relation_oid(relation);
    let t = train_inner(model_name, oid, target, features, options.map(|j| j.0)).or_raise();
    TableIterator::once(t.row(model_name))
}

/// How much each input column matters, summing to 1: for a logistic model the spread of its
/// contribution to the score (|standardised coefficient| for a number), for a forest the mean
/// decrease in impurity.
#[pg_extern(stable, parallel_safe)]
fn feature_importance(
    model_name: Option<&str>,
) -> TableIterator<'static, (name!(feature, String), name!(importance, f64))> {
    let m = required(model_name, "model_name")
        .and_then(|name| {
            cache::deployed_of_kind(
                name,
                |m| matches!(m, Loaded::Logistic(_) | Loaded::Forest(_)),
                "a classifier",
                "train_logistic or train_forest",
            )
        })
        .or_raise();
    let rows: Vec<(String, f64)> = match m.as_ref() {
        Loaded::Logistic(l) => l.inputs().into_iter().zip(l.importance.clone()).collect(),
        Loaded::Forest(f) => f.inputs().into_iter().zip(f.importance.clone()).collect(),
        _ => unreachable!("checked by deployed_of_kind"),
    };
    TableIterator::new(rows)
}
