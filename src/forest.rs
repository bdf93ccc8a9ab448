//! SQL surface of random forests: `train_forest` (`predict`, `predict_label`, `predict_proba`
//! and `feature_importance` serve it; see predict.rs and logistic.rs).

use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};
use serde_json::{json, Value};
use shopml_core::forest::MaxFeatures;
use shopml_core::forest_model::{train, MultiMetrics, PartMetrics, ALGORITHM};
use shopml_core::hash::is_test;
use shopml_core::options::ForestOptions;
use shopml_core::prep::{hash_cells, Cell, Impute, Kind, RawTable};
use shopml_core::{envelope, Error, ErrorKind, Result};

use crate::budget::Budget;
use crate::catalog::{self, NewModel, Trained};
use crate::error::{required, OrRaise};
use crate::logistic::metrics_json;
use crate::pool::{self, Interrupts};
use crate::relation::{relation_oid, Relation};
use crate::scan::scan;

/// Most classes a forest may have: more looks like a continuous target.
const MAX_CLASSES: usize = 1000;

fn multi_json(m: &MultiMetrics) -> Value {
    json!({"n": m.n, "accuracy": m.accuracy, "log_loss": m.log_loss,
           "macro_precision": m.macro_precision, "macro_recall": m.macro_recall,
           "macro_f1": m.macro_f1})
}

fn part_json(m: &PartMetrics) -> Value {
    match m {
        PartMetrics::Binary(b) => metrics_json(b),
        PartMetrics::Multi(x) => multi_json(x),
    }
}

/// A number as a class label: integers without a decimal point.
fn number_label(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn max_features_json(m: MaxFeatures) -> Value {
    match m {
        MaxFeatures::Sqrt => json!("sqrt"),
        MaxFeatures::Log2 => json!("log2"),
        MaxFeatures::All => json!("all"),
        MaxFeatures::Fraction(f) => json!(f),
        MaxFeatures::Count(k) => json!(k),
    }
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
    let opts = ForestOptions::parse(options.as_ref())?;
    let rel = Relation::open(relation);
    let t = rel.column(target)?.clone();
    let boolean = t.type_oid == pg_sys::BOOLOID;
    let numeric_labels = match t.kind() {
        Some(Kind::Numeric) => true,
        Some(Kind::Categorical) => false,
        None => {
            return Err(Error::new(
                ErrorKind::DatatypeMismatch,
                format!(
                    "target column \"{}\" of {} is of type {}, which cannot be a class label",
                    t.name, rel.sql_name, t.type_name
                ),
            )
            .with_hint("Use a text, integer or boolean target (e.g. a CASE in a view)."))
        }
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
    // Labels get provisional numbers in order of appearance, renumbered in sorted order below.
    // Numbers are looked up by value and text by reference, so a row allocates nothing.
    let mut by_number: HashMap<u64, u32> = HashMap::new();
    let mut by_text: HashMap<String, u32> = HashMap::new();
    let mut label_values: Vec<String> = Vec::new();
    let (mut ytr, mut yte): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    let skip_nulls = opts.prep.impute == Impute::Skip;
    let mut skipped = 0u64;
    let too_many = || {
        Error::invalid(format!(
            "target \"{target}\" of {} has more than {MAX_CLASSES} distinct values; a classifier needs classes",
            rel.sql_name
        ))
        .with_hint("For a continuous target use shopml.train_linear.")
    };
    let rows = scan(&query, &budget, (kinds.len() + 1) * 8 * 3, |cells| {
        let usable = match cells[0] {
            Cell::Num(v) => v.is_finite(),
            Cell::Text(_) => true,
            Cell::Null => false,
        };
        if !usable || (skip_nulls && RawTable::has_null(&cells[1..])) {
            skipped += 1;
            return Ok(());
        }
        let known = match cells[0] {
            Cell::Num(v) => by_number.get(&(v + 0.0).to_bits()).copied(),
            Cell::Text(t) => by_text.get(t).copied(),
            Cell::Null => None,
        };
        let id = match known {
            Some(id) => id,
            None => {
                if label_values.len() >= MAX_CLASSES {
                    return Err(too_many());
                }
                let id = label_values.len() as u32;
                match cells[0] {
                    Cell::Num(v) => {
                        by_number.insert((v + 0.0).to_bits(), id);
                        label_values.push(match (boolean, v != 0.0) {
                            (true, true) => "true".into(),
                            (true, false) => "false".into(),
                            (false, _) => number_label(v),
                        });
                    }
                    Cell::Text(t) => {
                        by_text.insert(t.to_string(), id);
                        label_values.push(t.to_string());
                    }
                    Cell::Null => unreachable!("skipped above"),
                }
                id
            }
        };
        let test = opts.test_fraction > 0.0 && is_test(hash_cells(cells), opts.test_fraction);
        raw.push(&cells[1..], test);
        if test {
            yte.push(id);
        } else {
            ytr.push(id);
        }
        Ok(())
    })?;
    if ytr.is_empty() {
        return Err(Error::data(format!(
            "no usable rows to train \"{model_name}\" on {}",
            rel.sql_name
        ))
        .with_detail(format!(
            "{rows} rows read, {skipped} skipped for a NULL target or a NULL, NaN or infinite feature (impute is '{}').",
            opts.prep.impute.name()
        )));
    }
    // Sorted labels: numbers ascending (false before true), text in byte order.
    let mut order: Vec<u32> = (0..label_values.len() as u32).collect();
    if numeric_labels && !boolean {
        order.sort_by(|&a, &b| {
            let pa: f64 = label_values[a as usize].parse().unwrap_or(f64::NAN);
            let pb: f64 = label_values[b as usize].parse().unwrap_or(f64::NAN);
            pa.total_cmp(&pb)
        });
    } else {
        order.sort_by(|&a, &b| label_values[a as usize].cmp(&label_values[b as usize]));
    }
    let mut remap = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        remap[old as usize] = new as u32;
    }
    let labels: Vec<String> = order
        .iter()
        .map(|&o| label_values[o as usize].clone())
        .collect();
    ytr.iter_mut().for_each(|c| *c = remap[*c as usize]);
    yte.iter_mut().for_each(|c| *c = remap[*c as usize]);
    let classes_in_train = {
        let mut seen = vec![false; labels.len()];
        ytr.iter().for_each(|&c| seen[c as usize] = true);
        seen.iter().filter(|s| **s).count()
    };
    if classes_in_train < 2 {
        return Err(Error::data(format!(
            "cannot train \"{model_name}\" on {}: the target has only one class in the {} training rows",
            rel.sql_name,
            ytr.len()
        )));
    }
    let n_train = ytr.len() as i64;
    let n_test = yte.len() as i64;
    let pool = pool::get()?;
    let trained = train(
        raw,
        ytr,
        yte,
        labels,
        numeric_labels,
        &opts.prep,
        &opts.forest,
        &pool,
        &mut Interrupts,
    )
    .map_err(|mut e| {
        if e.kind == ErrorKind::DataException || e.kind == ErrorKind::InvalidParameter {
            e.message = format!(
                "cannot train \"{model_name}\" on {}: {}",
                rel.sql_name, e.message
            );
        }
        e
    })?;
    let model = trained.model;
    let f = &opts.forest;
    let head = trained.test.as_ref().unwrap_or(&trained.train);
    let mut metrics = part_json(head);
    if let Value::Object(o) = &mut metrics {
        o.remove("n");
        o.insert("train".into(), part_json(&trained.train));
        o.insert(
            "test".into(),
            trained.test.as_ref().map(part_json).unwrap_or(Value::Null),
        );
        o.insert("classes".into(), json!(model.labels.len()));
        o.insert("skipped_rows".into(), json!(skipped));
        o.insert("trees".into(), json!(f.n_trees));
    }
    let bytes = envelope::encode(ALGORITHM, &model)?;
    Ok(Trained::save(NewModel {
        model_name,
        algorithm: ALGORITHM,
        task: "classification",
        source: rel.sql_name.clone(),
        target: Some(target.to_string()),
        features: names,
        params: json!({"n_trees": f.n_trees, "max_depth": f.max_depth,
                        "min_samples_leaf": f.min_samples_leaf,
                        "max_features": max_features_json(f.max_features),
                        "bootstrap": f.bootstrap, "seed": f.seed,
                        "class_weight": if f.balanced { "balanced" } else { "none" },
                        "max_bins": f.max_bins, "test_fraction": opts.test_fraction,
                        "labels": model.labels.iter().take(50).collect::<Vec<_>>(),
                        "preparation": model.prep.describe()}),
        metrics,
        n_train,
        n_test,
        bytes,
        deploy: opts.deploy,
    }))
}

/// Trains a random-forest classifier (CART trees on bootstrap samples) in place.
#[pg_extern(volatile, parallel_unsafe)]
#[allow(clippy::type_complexity)]
fn train_forest(
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
