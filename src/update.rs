//! `shopml.update`: a new version of a model built from a stored version and only new rows.
//!
//! Linear models keep each group's training statistics (the means, co-moments and count of
//! the prepared inputs and target), so an update scans only the new rows with the stored
//! preparation, adds their statistics to the stored ones and refits: the result equals a full
//! retrain on the old and new rows together (same preparation, same options). Its metrics are
//! those of the new rows (the update's own held-out split). Other kinds are refused (0A000)
//! in this version.
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use serde_json::{json, Map, Value};
use shopml_core::data::cell::Cell as Datum;
use shopml_core::data::labels::LabelEncoder;
use shopml_core::data::prep::Impute;
use shopml_core::data::prep::{ColumnKind, Encoding};
use shopml_core::linear::logistic::{self, LogisticModel};
use shopml_core::linear::regression::{FitOptions, LinearBundle, LinearStats};
use shopml_core::model::Task;
use shopml_core::options::{pipeline, Pipeline};
use shopml_core::segments::kmeans::KMeansModel;
use shopml_core::trees::forest::ForestParams;
use shopml_core::trees::model::{ForestModel, Targets, TrainedForest};
use shopml_core::{Error, ErrorKind, Result};

use crate::catalog::{self, cache, Outcome};
use crate::linear::{fit_groups, group_metrics, scan_args, scan_groups, GroupScan, ScanTraining};
use crate::pg::spi::{first_row, Param, Plan, Value as Cell};
use crate::train::budget::Budget;
use crate::train::pool;
use crate::train::progress::Progress;
use crate::train::reader::{read, Spec};
use crate::train::{self, Request, TrainerRow};

/// Options of `update`: the version to start from (0 = the deployed one) and the pipeline
/// options for the new rows (split, deploy).
struct UpdateOptions {
    version: Option<i32>,
    pipeline: Pipeline,
    /// Logistic: the weight of the stored fit as prior (1 = all of it).
    decay: Option<f64>,
    max_iter: usize,
    /// Only rows whose `since_column` is past the stored high-water mark (or `since`).
    since_column: Option<String>,
    since: Option<String>,
    /// Forests: how many trees to add (0: as many as the stored forest grew).
    n_trees: usize,
}

/// The rows an update reads when it has a `since_column`: those in (after, upto], where
/// `upto` is the column's largest value now — the next update's `after`.
struct Window {
    filter: String,
    column: String,
    upto: String,
}

fn parse(value: Option<&Value>) -> Result<UpdateOptions> {
    shopml_core::options::parse("update", value, |o| {
        let v = o.integer("version", 0, 0, i64::from(i32::MAX))?;
        Ok(UpdateOptions {
            version: (v > 0).then_some(v as i32),
            pipeline: pipeline(o, Some(0.2))?,
            decay: o.optional_number("decay", (0.0, false), (1.0, true))?,
            max_iter: o.integer("max_iter", 100, 1, 10_000)? as usize,
            since_column: o.string("since_column")?,
            since: o.string("since")?,
            n_trees: o.integer("n_trees", 0, 0, 10_000)? as usize,
        })
    })
}

fn update_inner(req: Request) -> Result<TrainerRow> {
    let opts = parse(req.options.as_ref())?;
    let model_name = req.model_name;
    let model_id = catalog::resolve(model_name, opts.version)?;
    let Some(row) = first_row(
        "SELECT version, target, params::text FROM shopml.model WHERE model_id = $1",
        &[Param::Int8(model_id)],
    )?
    else {
        return Err(Error::internal("the resolved model version has no row"));
    };
    let (parent, target, params) = match row.as_slice() {
        [Cell::Int(v), t, Cell::Text(p)] => (
            *v,
            match t {
                Cell::Text(t) => Some(t.clone()),
                _ => None,
            },
            serde_json::from_str::<Value>(p).unwrap_or(Value::Null),
        ),
        _ => return Err(Error::internal("unexpected shape of a shopml.model row")),
    };
    let m = cache::version(model_name, opts.version)?;
    let target = target.ok_or_else(|| Error::internal("a supervised model without a target"));
    let window = window(&req, &params, &opts)?;
    let params = match &window {
        Some(w) => train::with(
            params,
            json!({"high_water": {"column": w.column, "value": w.upto}}),
        ),
        None => params,
    };
    let filter = window.as_ref().map(|w| w.filter.as_str());
    if let Some(l) = m.as_any().downcast_ref::<LogisticModel>() {
        return update_logistic(&req, l, parent, &target?, params, &opts, filter);
    }
    if let Some(km) = m.as_any().downcast_ref::<KMeansModel>() {
        return update_kmeans(&req, km, parent, params, &opts, filter);
    }
    if let Some(fm) = m.as_any().downcast_ref::<ForestModel>() {
        return update_forest(&req, fm, parent, &target?, params, &opts, filter);
    }
    let Some(b) = m.as_any().downcast_ref::<LinearBundle>() else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "shopml.update updates linear, logistic, k-means and random-forest models in this version; \"{model_name}\" is {}",
                m.kind().noun
            ),
        )
        .with_hint(format!(
            "Retrain it on the old and new rows with shopml.{}.",
            m.kind().trainer
        )));
    };
    if opts.decay.is_some() {
        return Err(Error::invalid(
            "decay applies to logistic models: a linear update adds the new rows' statistics to all the old ones",
        ));
    }
    update_linear(&req, b, parent, &target?, params, &opts, filter)
}

/// A SQL string literal of a value written by `to_json` (a number, date or timestamp).
fn literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// The window of rows of a `since_column` update: after `since`, or after the high-water mark
/// the parent version stored for the same column, up to the column's largest value now.
fn window(req: &Request, params: &Value, opts: &UpdateOptions) -> Result<Option<Window>> {
    let Some(name) = &opts.since_column else {
        if opts.since.is_some() {
            return Err(Error::invalid("\"since\" needs a \"since_column\""));
        }
        return Ok(None);
    };
    let rel = &req.rel;
    let c = rel.column(name)?;
    if !matches!(
        c.kind(),
        Some(ColumnKind::Numeric | ColumnKind::Time { .. })
    ) {
        return Err(Error::mismatch(format!(
            "since_column \"{name}\" of {} is of type {}; it must be a number, date or timestamp",
            rel.sql_name, c.type_name
        )));
    }
    let stored = params
        .get("high_water")
        .filter(|h| h.get("column").and_then(Value::as_str) == Some(name.as_str()))
        .and_then(|h| h.get("value").and_then(Value::as_str))
        .map(String::from);
    let Some(after) = opts.since.clone().or(stored) else {
        return Err(Error::invalid(format!(
            "version has no high-water mark for since_column \"{name}\" yet"
        ))
        .with_hint("Give the first update the point the model's rows end at, e.g. {\"since_column\": \"created_at\", \"since\": \"2026-11-30\"}; later updates continue from the mark it stores."));
    };
    let (ident, ty) = (c.ident(), &c.type_name);
    // The value in the column's type, written as JSON writes it (ISO 8601 for dates and
    // timestamps, whatever DateStyle says), so that it can be stored and embedded as a literal.
    let canonical = |q: &str| -> Result<Option<String>> {
        Ok(
            first_row(q, &[Param::Text(&after)])?.and_then(|r| match r.into_iter().next() {
                Some(Cell::Text(t)) => Some(t),
                _ => None,
            }),
        )
    };
    let after = canonical(&format!("SELECT to_json($1::{ty}) #>> '{{}}'"))?
        .ok_or_else(|| Error::invalid("since must not be NULL"))?;
    let upto = canonical(&format!(
        "SELECT to_json(max({ident})) #>> '{{}}' FROM {} WHERE {ident} > $1::{ty}",
        rel.sql_name
    ))?;
    let Some(upto) = upto else {
        return Err(Error::data(format!(
            "no rows of {} have {name} after {after}: nothing to update \"{}\" with",
            rel.sql_name, req.model_name
        )));
    };
    Ok(Some(Window {
        filter: format!(
            "{ident} > {}::{ty} AND {ident} <= {}::{ty}",
            literal(&after),
            literal(&upto)
        ),
        column: name.clone(),
        upto,
    }))
}

/// The columns of `rel` for a model's inputs, checked against the kinds it was trained on.
fn input_columns(
    rel: &crate::train::relation::Relation,
    model_name: &str,
    prep: &shopml_core::data::prep::Prep,
    target: Option<&str>,
    group_column: &[&str],
    pipeline: &Pipeline,
) -> Result<crate::train::relation::Features> {
    let inputs: Vec<Option<String>> = prep.inputs.iter().map(|i| Some(i.name.clone())).collect();
    let feats = match target {
        Some(t) => rel.target_features(Some(inputs), t, group_column, pipeline)?,
        None => rel.features(Some(inputs), &[], &[])?,
    };
    for (c, input) in feats.columns.iter().zip(&prep.inputs) {
        let want = match input.encoding {
            Encoding::Numeric { .. } => matches!(c.kind(), Some(ColumnKind::Numeric)),
            Encoding::OneHot { .. } | Encoding::Hashed => {
                matches!(c.kind(), Some(ColumnKind::Categorical))
            }
            Encoding::Time { .. } => matches!(c.kind(), Some(ColumnKind::Time { .. })),
        };
        if !want {
            return Err(Error::mismatch(format!(
                "column \"{}\" of {} is {}, which the input \"{}\" of \"{model_name}\" was not trained on",
                c.name, rel.sql_name, c.type_name, input.name
            ))
            .with_hint("Cast it in a view to the type the model was trained on."));
        }
    }
    Ok(feats)
}

/// A logistic model: a Bayesian online step on the new rows with the stored fit as prior.
fn update_logistic(
    req: &Request,
    parent_model: &LogisticModel,
    parent: i64,
    target: &str,
    params: Value,
    opts: &UpdateOptions,
    filter: Option<&str>,
) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    let t = rel.column(target)?;
    let labels = crate::logistic::labels_of(t, rel)?;
    if labels[1] != parent_model.labels[1] {
        return Err(Error::mismatch(format!(
            "target column \"{target}\" of {} is of type {}, but \"{model_name}\" was trained on a {} target",
            rel.sql_name,
            t.type_name,
            if parent_model.labels[1] == "true" { "boolean" } else { "0/1 number" }
        )));
    }
    let split = &opts.pipeline.split;
    let feats = input_columns(
        rel,
        model_name,
        &parent_model.prep,
        Some(target),
        &[],
        &opts.pipeline,
    )?;
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
    let rows = crate::logistic::read_rows(
        rel,
        t,
        &feats.columns,
        split,
        parent_model.prep.impute,
        filter,
        &budget,
        &mut progress,
    )?;
    rows.require_training_rows(model_name, rel, parent_model.prep.impute.name())?;
    let (n_new, n_test) = (rows.y_train.len() as i64, rows.y_test.len() as i64);
    let skipped = rows.skipped;
    let pool = pool::get()?;
    progress.stage("fitting", Some(opts.max_iter));
    let decay = opts.decay.unwrap_or(1.0);
    let trained = logistic::update(
        rows.raw,
        rows.y_train,
        rows.y_test,
        parent_model,
        decay,
        opts.max_iter,
        &pool,
        &mut progress,
    )
    .map_err(train::about(model_name, rel))?;
    let model = &trained.model;
    let metrics = train::split_metrics(
        &trained.train,
        trained.test.as_ref(),
        json!({
            "parent_version": parent,
            "rows_added": n_new + n_test,
            "decay": decay,
            "positive_rate": trained.positive_rate,
            "skipped_rows": skipped,
            "iterations": model.iterations,
            "converged": model.converged,
            "solver": "newton (prior: the parent version)",
        }),
    );
    let params = train::with(
        params,
        json!({"updated_from": parent,
               "update": {"source": rel.sql_name, "decay": decay, "test_fraction": split.test_fraction,
                          "split_column": split.split_column, "split_seed": split.split_seed}}),
    );
    let outcome = Outcome::new(params, metrics, (n_new, n_test), opts.pipeline.deploy);
    req.save(model, Some(target), feats.names(), outcome)
}

fn update_linear(
    req: &Request,
    b: &LinearBundle,
    parent: i64,
    target: &str,
    params: Value,
    opts: &UpdateOptions,
    filter: Option<&str>,
) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    if b.stats.is_empty() {
        return Err(Error::data(format!(
            "version {parent} of \"{model_name}\" was stored without its training statistics (an older shopml, model format 2), so it cannot be updated"
        ))
        .with_hint("Retrain it once with shopml.train_linear; versions trained since can be updated."));
    }
    let mut progress = Progress::new(model_name);
    let split = &opts.pipeline.split;
    let y = rel.numeric_column(target, "target")?.clone();
    let group = match &b.group_by {
        Some(g) => Some(rel.column(g)?.clone()),
        None => None,
    };
    let group_column: Vec<&str> = b.group_by.as_deref().into_iter().collect();
    let feats = input_columns(
        rel,
        model_name,
        &b.prep,
        Some(target),
        &group_column,
        &opts.pipeline,
    )?;
    let args = scan_args(rel, split, &feats.columns)?;
    let shards = rel.shards(model_name)?;
    let scan = GroupScan {
        y: &y,
        group: group.as_ref(),
        feats: &feats.columns,
        args: &args,
        training: ScanTraining {
            model_name: model_name.to_string(),
            started_ms: progress.started_ms(),
            serial: args.plan == Plan::Serial,
        },
        shards: &shards,
        filter,
    };
    progress.stage("accumulating statistics of the new rows", None);
    let accs = scan_groups(model_name, rel, &b.prep, split, &scan)?;
    // The stored statistics plus the new rows', group by group (new groups start from nothing).
    let mut merged: Vec<(Option<String>, LinearStats, u64)> = b
        .groups
        .iter()
        .zip(&b.stats)
        .map(|((k, _), s)| (k.clone(), s.clone(), 0))
        .collect();
    for (k, a) in &accs {
        match merged.iter_mut().find(|(g, _, _)| g == k) {
            Some((_, s, held_out)) => {
                s.merge(&a.train);
                *held_out = a.test.n();
            }
            None => merged.push((k.clone(), a.train.clone(), a.test.n())),
        }
    }
    merged.sort_by(|x, y| x.0.cmp(&y.0));
    progress.stage("fitting", None);
    let first = &b.groups[0].1;
    let fit_opts = FitOptions {
        l2: first.l2,
        fit_intercept: first.fit_intercept,
    };
    let stats: Vec<(Option<String>, &LinearStats, u64)> =
        merged.iter().map(|(k, s, t)| (k.clone(), s, *t)).collect();
    let skipped: u64 = accs.iter().map(|(_, a)| a.skipped).sum();
    let groups = fit_groups(
        model_name,
        rel,
        b.group_by.as_deref(),
        &stats,
        &fit_opts,
        skipped,
    )?;
    let added: u64 = accs.iter().map(|(_, a)| a.train.n() + a.test.n()).sum();
    let total: u64 = merged.iter().map(|(_, s, _)| s.n()).sum();
    let mut extra = Map::new();
    extra.insert("parent_version".into(), json!(parent));
    extra.insert("rows_added".into(), json!(added));
    extra.insert("training_rows".into(), json!(total));
    let (metrics, (_, n_test)) =
        group_metrics(&groups, &accs, &b.prep, b.group_by.is_some(), extra);
    let params = train::with(
        params,
        json!({"updated_from": parent,
               "update": {"source": rel.sql_name, "test_fraction": split.test_fraction,
                          "split_column": split.split_column, "split_seed": split.split_seed}}),
    );
    let bundle = LinearBundle {
        target: target.to_string(),
        features: b.features.clone(),
        group_by: b.group_by.clone(),
        groups,
        prep: b.prep.clone(),
        stats: merged.into_iter().map(|(_, s, _)| s).collect(),
    };
    let outcome = Outcome::new(
        params,
        metrics,
        (total as i64, n_test),
        opts.pipeline.deploy,
    );
    req.save(&bundle, Some(target), feats.names(), outcome)
}

train::trainer! {
    /// Updates a model from new rows: a new version from a stored one and only the new rows.
    fn update() -> (n_train, n_test) = update_inner()
}

/// A k-means model: its centroids move toward the new rows nearest them, the stored segments
/// weighing as their sizes (times `decay`).
fn update_kmeans(
    req: &Request,
    km: &KMeansModel,
    parent: i64,
    params: Value,
    opts: &UpdateOptions,
    filter: Option<&str>,
) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    let feats = input_columns(rel, model_name, &km.prep, None, &[], &opts.pipeline)?;
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
    let none = shopml_core::data::split::Split {
        test_fraction: 0.0,
        split_column: None,
        split_seed: 0,
        folds: None,
    };
    let spec = Spec {
        rel,
        target: None,
        features: &feats.columns,
        split: &none,
        skip_missing: km.prep.impute == Impute::Skip,
        bytes_per_row: shopml_core::segments::kmeans::memory_per_row(feats.columns.len()),
        filter,
        group: None,
    };
    let mut rows = read(&spec, &budget, &mut progress, |_| Ok(Some(())))?;
    let n = rows.raw.rows() as u64;
    if n == 0 {
        return Err(Error::data(format!(
            "no usable rows to update \"{model_name}\" with in {}",
            rel.sql_name
        ))
        .with_detail(format!(
            "{} rows read, {} skipped for NULL, NaN or infinite values.",
            rows.read, rows.skipped
        )));
    }
    let part = std::mem::take(&mut rows.raw.train);
    let (x, _) = km.prep.transform(&rows.raw, part);
    let decay = opts.decay.unwrap_or(1.0);
    progress.stage("clustering", Some(opts.max_iter));
    let (model, steps) = km.update(&x, decay, opts.max_iter);
    let metrics = json!({
        "parent_version": parent,
        "rows_added": n,
        "decay": decay,
        "inertia": model.inertia,
        "inertia_per_row": model.inertia / n as f64,
        "iterations": steps,
        "sizes": model.sizes,
        "skipped_rows": rows.skipped,
    });
    let params = train::with(
        params,
        json!({"updated_from": parent,
               "update": {"source": rel.sql_name, "decay": decay, "max_iter": opts.max_iter}}),
    );
    let total: u64 = model.sizes.iter().sum();
    let outcome = Outcome::new(params, metrics, (total as i64, 0), opts.pipeline.deploy);
    req.save(&model, None, feats.names(), outcome)
}

/// A random forest: `n_trees` more trees grown on the new rows with the stored options (a new
/// seed), appended to the stored ones.
fn update_forest(
    req: &Request,
    fm: &ForestModel,
    parent: i64,
    target: &str,
    params: Value,
    opts: &UpdateOptions,
    filter: Option<&str>,
) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    let t = rel.column(target)?.clone();
    let numeric = matches!(t.kind(), Some(ColumnKind::Numeric));
    let regression = fm.forest.is_regression();
    if numeric != fm.numeric_labels
        || (regression && t.conv == crate::pg::datum::Conv::Bool)
        || !matches!(
            t.kind(),
            Some(ColumnKind::Numeric | ColumnKind::Categorical)
        )
    {
        return Err(Error::mismatch(format!(
            "target column \"{target}\" of {} is of type {}, not the kind of label \"{model_name}\" was trained on",
            rel.sql_name, t.type_name
        )));
    }
    // The stored options, with a new seed and the number of trees to add.
    let mut forest_json = serde_json::Map::new();
    for key in [
        "n_trees",
        "max_depth",
        "min_samples_leaf",
        "max_features",
        "bootstrap",
        "seed",
        "max_bins",
        "class_weight",
    ] {
        if let Some(v) = params.get(key).filter(|v| !v.is_null()) {
            forest_json.insert(key.into(), v.clone());
        }
    }
    let seed = params.get("seed").and_then(Value::as_u64).unwrap_or(0);
    forest_json.insert(
        "seed".into(),
        json!(seed.wrapping_add(parent as u64) % (i64::MAX as u64)),
    );
    if opts.n_trees > 0 {
        forest_json.insert("n_trees".into(), json!(opts.n_trees));
    }
    let forest_params =
        shopml_core::trees::model::ForestOptions::parse(Some(&Value::Object(forest_json)))?.forest;
    let feats = input_columns(rel, model_name, &fm.prep, Some(target), &[], &opts.pipeline)?;
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
    let mut labels = LabelEncoder::new(t.conv == crate::pg::datum::Conv::Bool, fm.labels.len() + 1);
    let spec = Spec {
        rel,
        target: Some(&t),
        features: &feats.columns,
        split: &opts.pipeline.split,
        skip_missing: fm.prep.impute == Impute::Skip,
        bytes_per_row: shopml_core::trees::model::memory_per_row(feats.columns.len()),
        filter,
        group: None,
    };
    let unseen = || {
        Error::invalid(format!(
            "the target \"{target}\" of {} has classes \"{model_name}\" was not trained on",
            rel.sql_name
        ))
        .with_hint(
            "A forest's classes are fixed when it is trained: retrain it with shopml.train_forest.",
        )
    };
    if regression {
        let rows = read(&spec, &budget, &mut progress, |c: &Datum| {
            Ok(c.number().filter(|v| v.is_finite()))
        })?;
        rows.require_training_rows(model_name, rel, fm.prep.impute.name())?;
        let (ytr, yte) = (rows.y_train, rows.y_test);
        let (n_new, n_test) = (ytr.len() as i64, yte.len() as i64);
        let pool = pool::get()?;
        progress.stage("growing trees", None);
        let trained = fm
            .update(
                rows.raw,
                Targets::Values(ytr),
                Targets::Values(yte),
                &forest_params,
                &pool,
                &mut progress,
            )
            .map_err(train::about(model_name, rel))?;
        return save_forest(
            req,
            &trained,
            parent,
            params,
            opts,
            &forest_params,
            (n_new, n_test, rows.skipped as i64),
            target,
            feats.names(),
        );
    }
    let rows = read(&spec, &budget, &mut progress, |c: &Datum| {
        labels.code(c).map_err(|_| unseen())
    })?;
    rows.require_training_rows(model_name, rel, fm.prep.impute.name())?;
    let (texts, remap) = labels.finish();
    let to_parent: Vec<u32> = texts
        .iter()
        .map(|l| {
            fm.labels
                .iter()
                .position(|p| p == l)
                .map(|i| i as u32)
                .ok_or_else(unseen)
        })
        .collect::<Result<_>>()?;
    let renumber = |y: Vec<u32>| -> Vec<u32> {
        y.into_iter()
            .map(|c| to_parent[remap[c as usize] as usize])
            .collect()
    };
    let (ytr, yte) = (renumber(rows.y_train), renumber(rows.y_test));
    let (n_new, n_test) = (ytr.len() as i64, yte.len() as i64);
    let pool = pool::get()?;
    progress.stage("growing trees", None);
    let trained = fm
        .update(
            rows.raw,
            Targets::Classes(ytr),
            Targets::Classes(yte),
            &forest_params,
            &pool,
            &mut progress,
        )
        .map_err(train::about(model_name, rel))?;
    save_forest(
        req,
        &trained,
        parent,
        params,
        opts,
        &forest_params,
        (n_new, n_test, rows.skipped as i64),
        target,
        feats.names(),
    )
}

/// Saves an updated forest with its metrics and what the update added.
#[allow(clippy::too_many_arguments)]
fn save_forest(
    req: &Request,
    trained: &TrainedForest,
    parent: i64,
    params: Value,
    opts: &UpdateOptions,
    forest_params: &ForestParams,
    (n_new, n_test, skipped): (i64, i64, i64),
    target: &str,
    features: Vec<String>,
) -> Result<TrainerRow> {
    let rel = &req.rel;
    let model = &trained.model;
    let mut extra = json!({
        "parent_version": parent,
        "rows_added": n_new + n_test,
        "trees_added": forest_params.n_trees,
        "trees": model.forest.trees.len(),
        "skipped_rows": skipped,
    });
    if !model.forest.is_regression() {
        extra["classes"] = json!(model.labels.len());
    }
    let metrics = train::split_metrics(&trained.train, trained.test.as_ref(), extra);
    let params = train::with(
        params,
        json!({"updated_from": parent,
               "update": {"source": rel.sql_name, "trees_added": forest_params.n_trees,
                          "seed": forest_params.seed, "test_fraction": opts.pipeline.split.test_fraction}}),
    );
    let task = if model.forest.is_regression() {
        Task::Regression
    } else {
        Task::Classification
    };
    let outcome =
        Outcome::new(params, metrics, (n_new, n_test), opts.pipeline.deploy).with_task(task);
    req.save(model, Some(target), features, outcome)
}
