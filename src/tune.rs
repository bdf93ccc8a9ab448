//! `shopml.tune` and `shopml.trials`: hyperparameter search by k-fold cross-validation over
//! the options of any trainer of rows (train_linear, train_logistic, train_forest,
//! train_boosted).
//!
//! Every trial trains the trainer itself on each fold's training rows and reads its held-out
//! metric, so a trial scores exactly what `train_*` with `{"folds": k, "fold": i}` reports;
//! nothing is stored until the winner (the best mean over the folds, the first in search order
//! on a tie, as scikit-learn's GridSearchCV) is refitted on all rows and saved as the next
//! version, with every trial in its metrics (`tuning`). Folds are hashed from the split keys
//! (each row's position, or `group_column`'s value so a group stays in one fold), or with
//! `time_column` made of k + 1 blocks of time where fold i trains on the blocks before block i
//! and is scored on block i (scikit-learn's TimeSeriesSplit). A ridge search over `l2` alone
//! reads the relation once: each fold's sufficient statistics come from one scan, and every
//! candidate and fold is fitted from them.
#![forbid(unsafe_code)]

use std::time::Instant;

use crate::linear::LinearSetup;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation, Spi};
use serde_json::{json, Map, Value};
use shopml_core::data::prep::Impute;
use shopml_core::hash::mix64;
use shopml_core::linear::regression::{
    fit, FitOptions, LinearOptions, LinearStats, SplitAccumulator,
};
use shopml_core::{Error, ErrorKind, Result};

use crate::pg::error::{required, OrRaise};
use crate::pg::spi::{first_row, scan, Param, Plan, Value as SpiValue};
use crate::serve::table_function;
use crate::train::progress::{Progress, Search};
use crate::train::relation::{relation_oid, FeatureList, Relation};
use crate::train::{self, Request, TrainerRow};

type Train = fn(Request, Option<&str>, FeatureList) -> Result<TrainerRow>;

/// The trainers `tune` searches: (name, function).
const TRAINERS: &[(&str, Train)] = &[
    ("linear", crate::linear::train_linear_inner),
    ("logistic", crate::logistic::train_inner),
    ("forest", crate::forest::train_inner),
    ("boosted", crate::boosted::train_inner),
];

/// Options a search may not vary (they define the folds or what is stored).
const FIXED: &[&str] = &[
    "test_fraction",
    "split_column",
    "split_seed",
    "folds",
    "fold",
    "fold_column",
    "deploy",
];

/// Metrics where less is better.
const LOWER_IS_BETTER: &[&str] = &[
    "rmse",
    "mse",
    "mae",
    "mape",
    "log_loss",
    "poisson_deviance",
    "deviance",
    "calibration_error",
];

/// The fold column of the time-ordered folds' views.
const FOLD_COLUMN: &str = "shopml_fold";

/// How the rows are cut into folds.
#[derive(Clone, Debug, PartialEq)]
enum FoldKind {
    /// Hashed from the split keys: row positions, or the values of a group column.
    Hashed { group_column: Option<String> },
    /// Blocks of `time_column`.
    Time { column: String },
}

/// `tune`'s own options.
struct TuneOptions {
    folds: u32,
    kind: FoldKind,
    metric: Option<String>,
    n_iter: usize,
    seed: u64,
    deploy: bool,
}

impl TuneOptions {
    fn parse(v: &Value) -> Result<TuneOptions> {
        shopml_core::options::parse("tune", Some(v), |o| {
            let folds = o.integer("folds", 5, 2, 100)? as u32;
            let time = o.string("time_column")?;
            let group = o.string("group_column")?;
            let kind = match (time, group) {
                (Some(_), Some(_)) => {
                    return Err(Error::invalid(
                        "tune: give time_column or group_column, not both",
                    ))
                }
                (Some(column), None) => FoldKind::Time { column },
                (None, group_column) => FoldKind::Hashed { group_column },
            };
            Ok(TuneOptions {
                folds,
                kind,
                metric: o.string("metric")?,
                n_iter: o.integer("n_iter", 10, 1, 10_000)? as usize,
                seed: o.integer("seed", 0, 0, i64::MAX)? as u64,
                deploy: o.boolean("deploy", true)?,
            })
        })
    }
}

/// A search dimension: the values of a grid, or a range sampled by a random search.
#[derive(Clone, Debug)]
enum Dimension {
    Values(Vec<Value>),
    Range {
        lo: f64,
        hi: f64,
        log: bool,
        integer: bool,
    },
}

/// The candidates of `search`: the grid (keys in name order, the last varying fastest, as
/// scikit-learn's ParameterGrid) when every dimension is a list, else `n_iter` random draws.
fn candidates(search: &Value, n_iter: usize, seed: u64) -> Result<Vec<Map<String, Value>>> {
    let Value::Object(m) = search else {
        return Err(Error::invalid(
            "tune: search must be a JSON object of option name → list of values or {\"min\", \"max\"}",
        ));
    };
    let mut dims: Vec<(String, Dimension)> = Vec::new();
    for (k, v) in m {
        if FIXED.contains(&k.as_str()) {
            return Err(Error::invalid(format!(
                "tune: option \"{k}\" cannot be searched: it defines the folds or what is stored"
            ))
            .with_hint(
                "Set the folds with tune's options (folds, group_column, time_column, seed).",
            ));
        }
        let d = match v {
            Value::Array(values) if !values.is_empty() => Dimension::Values(values.clone()),
            Value::Object(r) => {
                let num = |key: &str| r.get(key).and_then(Value::as_f64);
                let (Some(lo), Some(hi)) = (num("min"), num("max")) else {
                    return Err(Error::invalid(format!(
                        "tune: search range of \"{k}\" needs numbers \"min\" and \"max\", got {v}"
                    )));
                };
                let flag = |key: &str| r.get(key).and_then(Value::as_bool).unwrap_or(false);
                let (log, integer) = (flag("log"), flag("integer"));
                if let Some(bad) = r
                    .keys()
                    .find(|key| !["min", "max", "log", "integer"].contains(&key.as_str()))
                {
                    return Err(Error::invalid(format!(
                        "tune: search range of \"{k}\" has an unknown key \"{bad}\" (min, max, log, integer)"
                    )));
                }
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) || (log && lo <= 0.0) {
                    return Err(Error::invalid(format!(
                        "tune: search range of \"{k}\" must have min <= max (and min > 0 with log), got {v}"
                    )));
                }
                Dimension::Range {
                    lo,
                    hi,
                    log,
                    integer,
                }
            }
            _ => {
                return Err(Error::invalid(format!(
                    "tune: search of \"{k}\" must be a non-empty list of values or a range {{\"min\", \"max\"}}, got {v}"
                )))
            }
        };
        dims.push((k.clone(), d));
    }
    dims.sort_by(|a, b| a.0.cmp(&b.0));
    if dims.is_empty() {
        return Ok(vec![Map::new()]);
    }
    let grid = dims.iter().all(|(_, d)| matches!(d, Dimension::Values(_)));
    if grid {
        let mut out = vec![Map::new()];
        for (k, d) in &dims {
            let Dimension::Values(values) = d else {
                unreachable!("a grid has lists only")
            };
            out = out
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.insert(k.clone(), v.clone());
                        c
                    })
                })
                .collect();
        }
        if out.len() > 10_000 {
            return Err(Error::invalid(format!(
                "tune: the grid has {} candidates (at most 10000)",
                out.len()
            ))
            .with_hint("Give ranges {\"min\", \"max\"} and n_iter for a random search."));
        }
        return Ok(out);
    }
    let mut state = mix64(seed ^ 0x7475_6e65);
    let mut uniform = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        shopml_core::hash::unit_interval(mix64(state))
    };
    Ok((0..n_iter)
        .map(|_| {
            let mut c = Map::new();
            for (k, d) in &dims {
                let v = match d {
                    Dimension::Values(values) => {
                        let i = ((uniform() * values.len() as f64) as usize).min(values.len() - 1);
                        values[i].clone()
                    }
                    Dimension::Range {
                        lo,
                        hi,
                        log,
                        integer,
                    } => {
                        let u = uniform();
                        let x = if *log {
                            (lo.ln() + u * (hi.ln() - lo.ln())).exp()
                        } else {
                            lo + u * (hi - lo)
                        };
                        if *integer {
                            json!(x.round().clamp(lo.ceil(), hi.floor()) as i64)
                        } else {
                            json!(x)
                        }
                    }
                };
                c.insert(k.clone(), v);
            }
            c
        })
        .collect())
}

/// The trainer's arguments: target, features and base options.
struct Arguments {
    target: Option<String>,
    features: FeatureList,
    options: Map<String, Value>,
}

impl Arguments {
    fn parse(v: &Value) -> Result<Arguments> {
        let Value::Object(m) = v else {
            return Err(Error::invalid(
                "tune: arguments must be a JSON object {\"target\": ..., \"features\": [...], \"options\": {...}}",
            ));
        };
        if let Some(bad) = m
            .keys()
            .find(|k| !["target", "features", "options"].contains(&k.as_str()))
        {
            return Err(Error::invalid(format!(
                "tune: unknown argument \"{bad}\" (target, features, options)"
            )));
        }
        let target = match m.get("target") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "tune: argument \"target\" must be a column name, got {other}"
                )))
            }
        };
        let features = match m.get("features") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|f| match f {
                        Value::String(s) => Ok(Some(s.clone())),
                        other => Err(Error::invalid(format!(
                            "tune: argument \"features\" must list column names, got {other}"
                        ))),
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "tune: argument \"features\" must be a list of column names, got {other}"
                )))
            }
        };
        let options = match m.get("options") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(o)) => o.clone(),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "tune: argument \"options\" must be a JSON object, got {other}"
                )))
            }
        };
        for k in ["folds", "fold", "fold_column"] {
            if options.contains_key(k) {
                return Err(Error::invalid(format!(
                    "tune: the trainer option \"{k}\" is tune's to set"
                ))
                .with_hint("Give the number of folds as tune's option \"folds\"."));
            }
        }
        Ok(Arguments {
            target,
            features,
            options,
        })
    }
}

/// One candidate's scores.
struct Trial {
    options: Map<String, Value>,
    per_fold: Vec<f64>,
    seconds: f64,
}

impl Trial {
    fn mean(&self) -> f64 {
        self.per_fold.iter().sum::<f64>() / self.per_fold.len() as f64
    }

    /// The population standard deviation (numpy's default, as GridSearchCV's std_test_score).
    fn std(&self) -> f64 {
        let m = self.mean();
        (self.per_fold.iter().map(|v| (v - m).powi(2)).sum::<f64>() / self.per_fold.len() as f64)
            .sqrt()
    }
}

/// The progress of a search: its step, reported with its trainings' at most once a second.
struct SearchProgress(Search);

impl SearchProgress {
    fn tick(&mut self, trial: usize, trials: usize, fold: usize, folds: usize, best: Option<f64>) {
        let best = best
            .map(|b| format!(", best mean {b:.6}"))
            .unwrap_or_default();
        self.0.step(format!(
            "trial {}/{trials}, fold {}/{folds}{best}",
            trial + 1,
            fold + 1
        ));
    }
}

/// The value of `metric` among a training's held-out metrics (`test`, else the top level).
fn metric_of(metrics: &Value, metric: &str) -> Option<f64> {
    metrics
        .get("test")
        .and_then(|t| t.get(metric))
        .or_else(|| metrics.get(metric))
        .and_then(Value::as_f64)
}

/// The metric scored when none is given: r2 for regression, AUC for two classes, NDCG@10
/// for ranking, log loss for more classes.
fn default_metric(metrics: &Value) -> Result<String> {
    ["r2", "auc", "ndcg@10", "log_loss", "accuracy"]
        .iter()
        .find(|m| metric_of(metrics, m).is_some())
        .map(|m| m.to_string())
        .ok_or_else(|| Error::internal("tune: the trainer's metrics have no held-out score"))
}

/// Whether `a` scores better than `b` under `metric`.
fn better(metric: &str, a: f64, b: f64) -> bool {
    if LOWER_IS_BETTER.contains(&metric) {
        a < b
    } else {
        a > b
    }
}

/// Runs SQL that writes (the time folds' views).
fn run(sql: &str) -> Result<()> {
    Spi::run(sql).map_err(|e| Error::internal(format!("tune: {e}")))
}

/// The relation each fold trains on, and the fold options it adds.
struct FoldPlan {
    /// (relation oid, options of fold i) per fold.
    folds: Vec<(pg_sys::Oid, Map<String, Value>)>,
    /// Views to drop at the end.
    views: Vec<String>,
}

fn fold_plan(rel: &Relation, o: &TuneOptions, base: &Map<String, Value>) -> Result<FoldPlan> {
    let k = o.folds;
    match &o.kind {
        FoldKind::Hashed { group_column } => {
            let group = group_column.clone().or_else(|| {
                base.get("split_column")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
            let folds = (0..k)
                .map(|i| {
                    let mut m = Map::new();
                    m.insert("folds".into(), json!(k));
                    m.insert("fold".into(), json!(i));
                    m.insert("split_seed".into(), json!(o.seed));
                    if let Some(g) = &group {
                        m.insert("split_column".into(), json!(g));
                    }
                    (rel.oid, m)
                })
                .collect();
            if let Some(g) = &group {
                rel.column(g)?;
            }
            Ok(FoldPlan {
                folds,
                views: Vec::new(),
            })
        }
        FoldKind::Time { column } => {
            let col = rel.column(column)?;
            if base.contains_key("split_column") {
                return Err(Error::invalid(
                    "tune: time_column folds replace the trainer's split_column",
                ));
            }
            // k cut points: the k/(k+1) quantiles of the time column (k + 1 blocks).
            let cuts: Vec<String> = (1..=k)
                .map(|i| format!("{}", f64::from(i) / f64::from(k + 1)))
                .collect();
            let query = format!(
                "SELECT quote_literal(c::text) FROM unnest((SELECT percentile_disc(ARRAY[{}]::float8[]) WITHIN GROUP (ORDER BY {}) FROM {})) c",
                cuts.join(", "),
                col.ident(),
                rel.sql_name
            );
            let mut bounds: Vec<String> = Vec::new();
            scan(&query, &[], Plan::Serial, 0, |cells| {
                if let Some(t) = cells[0].category() {
                    bounds.push(t.into_owned());
                }
                Ok(())
            })?;
            if bounds.len() != k as usize {
                return Err(Error::data(format!(
                    "tune: time column \"{column}\" of {} has no values to make folds of",
                    rel.sql_name
                )));
            }
            let ty = &col.type_name;
            let block = {
                let mut case = String::from("CASE");
                for (i, b) in bounds.iter().enumerate() {
                    case.push_str(&format!(" WHEN {} < {b}::{ty} THEN {i}", col.ident()));
                }
                case.push_str(&format!(" ELSE {k} END"));
                case
            };
            let mut folds = Vec::new();
            let mut views = Vec::new();
            let pid = std::process::id();
            for i in 1..=k {
                let name = format!("pg_temp.shopml_tune_{pid}_{i}");
                let upper = match bounds.get(i as usize) {
                    Some(b) => format!("{} < {b}::{ty}", col.ident()),
                    None => format!("{} IS NOT NULL", col.ident()),
                };
                run(&format!(
                    "CREATE TEMP VIEW {name} AS SELECT *, {block} AS {FOLD_COLUMN} FROM {} WHERE {upper}",
                    rel.sql_name
                ))?;
                let oid = first_row("SELECT $1::regclass::oid::int8", &[Param::Text(&name)])?;
                let oid = match oid.as_deref() {
                    Some([SpiValue::Int(o)]) => pg_sys::Oid::from(*o as u32),
                    _ => return Err(Error::internal("tune: a fold's view has no oid")),
                };
                let mut m = Map::new();
                m.insert("fold_column".into(), json!(FOLD_COLUMN));
                m.insert("fold".into(), json!(i));
                folds.push((oid, m));
                views.push(name);
            }
            Ok(FoldPlan { folds, views })
        }
    }
}

/// Merges option maps, later ones winning.
fn merged(maps: &[&Map<String, Value>]) -> Map<String, Value> {
    let mut out = Map::new();
    for m in maps {
        out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}

/// Whether a linear search can be scored from one scan's fold statistics: only `l2` varies,
/// hashed folds, nothing learnt from the rows by the preparation but categories (which fold
/// statistics handle exactly: a category unseen in training gets no weight either way), no
/// groups, and a metric the statistics give exactly.
fn ridge_one_scan(
    trainer: &str,
    kind: &FoldKind,
    cands: &[Map<String, Value>],
    base: &Map<String, Value>,
    metric: Option<&str>,
) -> Result<Option<LinearOptions>> {
    if trainer != "linear" || !matches!(kind, FoldKind::Hashed { .. }) {
        return Ok(None);
    }
    if cands.iter().any(|c| c.keys().any(|k| k != "l2")) || base.contains_key("test_fraction") {
        return Ok(None);
    }
    if !matches!(metric, None | Some("r2") | Some("rmse") | Some("mse")) {
        return Ok(None);
    }
    let opts = LinearOptions::parse(Some(&Value::Object(base.clone())))?;
    let simple = !opts.prep.standardize
        && matches!(opts.prep.impute, Impute::Skip | Impute::Zero)
        && opts.group_by.is_none();
    Ok(simple.then_some(opts))
}

type TuneRow = (i64, String, i32, i64, i64, JsonB);

#[allow(clippy::too_many_arguments)]
fn tune_inner(
    model_name: Option<&str>,
    trainer: Option<&str>,
    relation: Option<PgRelation>,
    arguments: Option<JsonB>,
    search: Option<JsonB>,
    options: Option<JsonB>,
) -> Result<TuneRow> {
    let oid = relation_oid(relation);
    let (model_name, rel) = train::begin(model_name, oid)?;
    let trainer = required(trainer, "trainer")?;
    let short = trainer.strip_prefix("train_").unwrap_or(trainer);
    let Some(&(name, train_fn)) = TRAINERS.iter().find(|(n, _)| *n == short) else {
        let known: Vec<&str> = TRAINERS.iter().map(|(n, _)| *n).collect();
        return Err(
            Error::invalid(format!("tune: unknown trainer \"{trainer}\""))
                .with_hint(format!("Trainers tune can search: {}.", known.join(", "))),
        );
    };
    let args = Arguments::parse(&arguments.map(|j| j.0).unwrap_or(json!({})))?;
    let o = TuneOptions::parse(&options.map(|j| j.0).unwrap_or(json!({})))?;
    let cands = candidates(&search.map(|j| j.0).unwrap_or(json!({})), o.n_iter, o.seed)?;
    let target = args.target.as_deref();
    let mut progress = SearchProgress(Search::new(model_name));
    let started = Instant::now();
    let mut base = args.options.clone();
    base.remove("deploy");
    let (metric, trials, one_scan) =
        match ridge_one_scan(name, &o.kind, &cands, &base, o.metric.as_deref())? {
            Some(linear) => {
                let r = ridge_trials(model_name, &rel, &args, &o, &cands, linear, &mut progress)?;
                let (metric, trials) = (r.metric.clone(), r.trials);
                (
                    metric,
                    trials,
                    Some((r.setup, r.folds, r.linear, r.skipped)),
                )
            }
            None => {
                let plan = fold_plan(&rel, &o, &base)?;
                let (metric, trials) = generic_trials(
                    model_name,
                    (name, train_fn),
                    &args,
                    &o,
                    &cands,
                    &base,
                    &plan,
                    &mut progress,
                )?;
                for v in &plan.views {
                    run(&format!("DROP VIEW {v}"))?;
                }
                (metric, trials, None)
            }
        };
    // The refit below is a training of its own, which reports as one.
    drop(progress);
    // The winner: the best mean, the first in search order on a tie.
    let mut best = 0;
    for (i, t) in trials.iter().enumerate() {
        if better(&metric, t.mean(), trials[best].mean()) || trials[best].mean().is_nan() {
            best = i;
        }
    }
    let search_seconds = started.elapsed().as_secs_f64();
    let trial_rows: Vec<Value> = trials
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"trial": i + 1, "options": t.options, "mean": t.mean(), "std": t.std(),
                   "per_fold": t.per_fold, "seconds": t.seconds, "chosen": i == best})
        })
        .collect();
    let kind = match &o.kind {
        FoldKind::Hashed { group_column: None } => json!("hashed"),
        FoldKind::Hashed {
            group_column: Some(g),
        } => json!({"grouped_by": g}),
        FoldKind::Time { column } => json!({"time_ordered_by": column}),
    };
    let tuning = json!({"tuning": {
        "trainer": format!("train_{name}"), "metric": metric,
        "greater_is_better": !LOWER_IS_BETTER.contains(&metric.as_str()),
        "folds": o.folds, "fold_kind": kind, "seed": o.seed, "one_scan": one_scan.is_some(),
        "chosen": trials[best].options, "mean": trials[best].mean(), "std": trials[best].std(),
        "search_seconds": search_seconds, "trials": trial_rows,
    }});
    // The winner refitted on all rows (with the trainer's own split when the arguments set
    // one or early stopping needs held-out rows) and stored.
    let mut refit = merged(&[&base, &trials[best].options]);
    let keeps_split =
        base.contains_key("test_fraction") || refit.contains_key("early_stopping_rounds");
    if !keeps_split {
        refit.insert("test_fraction".into(), json!(0));
    }
    refit.insert("deploy".into(), json!(o.deploy));
    let req = Request {
        model_name,
        rel: Relation::open(oid)?,
        options: Some(Value::Object(refit)),
        dry_run: false,
        extra_metrics: Some(tuning),
    };
    let row = match one_scan {
        // Ridge: the winner fitted from the folds' statistics summed (no second scan).
        Some((setup, folds, mut linear, skipped)) => {
            linear.l2 = match trials[best].options.get("l2") {
                Some(v) => LinearOptions::parse(Some(&json!({"l2": v})))?.l2,
                None => linear.l2,
            };
            linear.pipeline.deploy = o.deploy;
            let mut acc = SplitAccumulator::without_samples(setup.prep.dense_width);
            for f in &folds {
                acc.train.merge(f);
            }
            acc.skipped = skipped;
            crate::linear::save_linear(&req, &setup, &linear, &[(None, acc)], Map::new())?
        }
        None => train_fn(req, target, args.features.clone())?,
    };
    Ok((
        row.model_id,
        model_name.to_string(),
        row.version,
        row.count("n_train"),
        row.count("n_test"),
        JsonB(row.metrics),
    ))
}

/// Every candidate on every fold, each a training by the trainer itself (not stored).
#[allow(clippy::too_many_arguments)]
fn generic_trials(
    model_name: &str,
    (name, train_fn): (&str, Train),
    args: &Arguments,
    o: &TuneOptions,
    cands: &[Map<String, Value>],
    base: &Map<String, Value>,
    plan: &FoldPlan,
    progress: &mut SearchProgress,
) -> Result<(String, Vec<Trial>)> {
    let mut metric = o.metric.clone();
    let mut trials: Vec<Trial> = Vec::new();
    let mut best: Option<f64> = None;
    for (t, cand) in cands.iter().enumerate() {
        let start = Instant::now();
        let mut per_fold = Vec::with_capacity(plan.folds.len());
        for (f, (oid, fold)) in plan.folds.iter().enumerate() {
            progress.tick(t, cands.len(), f, plan.folds.len(), best);
            let mut opts = merged(&[base, cand, fold]);
            opts.insert("deploy".into(), json!(false));
            let req = Request {
                model_name,
                rel: Relation::open_in(*oid, Plan::Latest)?,
                options: Some(Value::Object(opts)),
                dry_run: true,
                extra_metrics: None,
            };
            let row = train_fn(req, args.target.as_deref(), args.features.clone())
                .map_err(|e| in_trial(e, t, cand))?;
            if row.count("n_test") == 0 {
                return Err(empty_fold(f, o.folds));
            }
            let m = match &metric {
                Some(m) => m.clone(),
                None => {
                    let m = default_metric(&row.metrics)?;
                    metric = Some(m.clone());
                    m
                }
            };
            let value = metric_of(&row.metrics, &m).ok_or_else(|| {
                Error::invalid(format!(
                    "tune: metric \"{m}\" is not among train_{name}'s held-out metrics"
                ))
                .with_hint(format!(
                    "The held-out metrics: {}.",
                    metric_names(&row.metrics)
                ))
            })?;
            per_fold.push(value);
        }
        let trial = Trial {
            options: cand.clone(),
            per_fold,
            seconds: start.elapsed().as_secs_f64(),
        };
        let m = metric.as_deref().unwrap_or("r2");
        if best.is_none_or(|b| better(m, trial.mean(), b)) {
            best = Some(trial.mean());
        }
        trials.push(trial);
    }
    Ok((metric.unwrap_or_else(|| "r2".into()), trials))
}

/// 22023 for a fold without held-out rows.
fn empty_fold(fold: usize, folds: u32) -> Error {
    Error::invalid(format!(
        "tune: fold {fold} (of 0..{}) holds no usable rows: folds ({folds}) is more than the rows or groups",
        folds - 1
    ))
}

/// Names the trial in an error of its training.
fn in_trial(mut e: Error, t: usize, cand: &Map<String, Value>) -> Error {
    if e.kind == ErrorKind::InvalidParameter || e.kind == ErrorKind::DataException {
        e.message = format!(
            "tune: trial {} ({}): {}",
            t + 1,
            Value::Object(cand.clone()),
            e.message
        );
    }
    e
}

fn metric_names(metrics: &Value) -> String {
    let from = metrics
        .get("test")
        .filter(|t| t.is_object())
        .unwrap_or(metrics);
    let mut names: Vec<&str> = from
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, v)| v.is_number() && k.as_str() != "n")
                .map(|(k, _)| k.as_str())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.join(", ")
}

/// A ridge search over `l2` from one scan: each hashed fold's sufficient statistics, then
/// every candidate fitted on the other folds' sum and scored on the fold's own statistics
/// (exactly what train_linear reports for that fold).
#[allow(clippy::too_many_arguments)]
fn ridge_trials(
    model_name: &str,
    rel: &Relation,
    args: &Arguments,
    o: &TuneOptions,
    cands: &[Map<String, Value>],
    mut linear: LinearOptions,
    progress: &mut SearchProgress,
) -> Result<RidgeSearch> {
    let metric = o.metric.clone().unwrap_or_else(|| "r2".into());
    let FoldKind::Hashed { group_column } = &o.kind else {
        unreachable!("checked by ridge_one_scan")
    };
    linear.pipeline.split.test_fraction = 0.0;
    linear.pipeline.split.split_seed = o.seed;
    if let Some(g) = group_column {
        linear.pipeline.split.split_column = Some(g.clone());
    }
    let req = Request {
        model_name,
        rel: Relation::open(rel.oid)?,
        options: None,
        dry_run: true,
        extra_metrics: None,
    };
    let scan_start = Instant::now();
    let p = Progress::new(model_name);
    progress.0.step("reading every fold's statistics".into());
    let setup = LinearSetup::new(
        &req,
        args.target.as_deref(),
        args.features.clone(),
        &linear,
        &p,
    )?;
    let groups = setup.scan(&req, &linear, o.folds)?;
    let (folds, skipped) = match groups.into_iter().next() {
        Some((_, acc, f)) => (f, acc.skipped),
        None => (Vec::new(), 0),
    };
    if let Some(i) = folds.iter().position(|f| f.n() == 0) {
        return Err(empty_fold(i, o.folds));
    }
    let scan_seconds = scan_start.elapsed().as_secs_f64();
    let width = folds.first().map_or(0, LinearStats::n_features);
    let mut trials = Vec::new();
    for (t, cand) in cands.iter().enumerate() {
        let start = Instant::now();
        let l2 = match cand.get("l2") {
            Some(v) => {
                let c = LinearOptions::parse(Some(&json!({"l2": v})))
                    .map_err(|e| in_trial(e, t, cand))?;
                c.l2
            }
            None => linear.l2,
        };
        let fit_opts = FitOptions {
            l2,
            fit_intercept: linear.fit_intercept,
        };
        let mut per_fold = Vec::with_capacity(folds.len());
        for (i, test) in folds.iter().enumerate() {
            progress.tick(t, cands.len(), i, folds.len(), None);
            let mut train = LinearStats::new(width);
            for (j, f) in folds.iter().enumerate() {
                if j != i {
                    train.merge(f);
                }
            }
            let m = fit(&train, &fit_opts).map_err(|e| in_trial(e, t, cand))?;
            let (r2, rmse) = m.score(test);
            per_fold.push(match metric.as_str() {
                "r2" => r2,
                "rmse" => rmse,
                _ => rmse * rmse,
            });
        }
        trials.push(Trial {
            options: cand.clone(),
            per_fold,
            // The shared scan's time is spread over the trials.
            seconds: start.elapsed().as_secs_f64() + scan_seconds / cands.len() as f64,
        });
    }
    Ok(RidgeSearch {
        metric,
        trials,
        setup,
        folds,
        linear,
        skipped,
    })
}

/// A ridge search's trials, and what its refit needs: the folds' statistics.
struct RidgeSearch {
    metric: String,
    trials: Vec<Trial>,
    setup: LinearSetup,
    folds: Vec<LinearStats>,
    linear: LinearOptions,
    skipped: u64,
}

/// Searches a trainer's options by cross-validation and stores the winner refitted on all rows.
#[pg_extern(volatile, parallel_unsafe)]
fn tune(
    model_name: Option<&str>,
    trainer: Option<&str>,
    relation: Option<PgRelation>,
    arguments: default!(Option<JsonB>, "'{}'"),
    search: default!(Option<JsonB>, "'{}'"),
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
    TableIterator::once(
        tune_inner(model_name, trainer, relation, arguments, search, options).or_raise(),
    )
}

type TrialRow = (
    i32,
    JsonB,
    Option<f64>,
    Option<f64>,
    Vec<Option<f64>>,
    Option<f64>,
    bool,
);

fn trials_inner(model_name: Option<&str>, version: Option<i32>) -> Result<Vec<TrialRow>> {
    let model_name = required(model_name, "model_name")?;
    let row = first_row(
        "SELECT metrics::text FROM shopml.model WHERE model_name = $1 AND metrics ? 'tuning' \
           AND ($2 = 0 OR version = $2) ORDER BY version DESC LIMIT 1",
        &[Param::Text(model_name), Param::Int4(version.unwrap_or(0))],
    )?;
    let Some([SpiValue::Text(text)]) = row.as_deref() else {
        return Err(Error::new(
            ErrorKind::UndefinedObject,
            match version {
                Some(v) => format!("model \"{model_name}\" has no version {v} made by shopml.tune"),
                None => format!("model \"{model_name}\" has no version made by shopml.tune"),
            },
        ));
    };
    let metrics: Value = serde_json::from_str(text)
        .map_err(|e| Error::internal(format!("trials: stored metrics: {e}")))?;
    let rows = metrics["tuning"]["trials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(rows
        .iter()
        .map(|t| {
            (
                t["trial"].as_i64().unwrap_or(0) as i32,
                JsonB(t["options"].clone()),
                t["mean"].as_f64(),
                t["std"].as_f64(),
                t["per_fold"]
                    .as_array()
                    .map(|a| a.iter().map(Value::as_f64).collect())
                    .unwrap_or_default(),
                t["seconds"].as_f64(),
                t["chosen"].as_bool().unwrap_or(false),
            )
        })
        .collect())
}

table_function! {
    /// Every trial of a model's tuning.
    [stable, parallel_safe] fn trials(model_name: [Option<&str>], version: [default!(Option<i32>, "NULL")]) -> (
        trial: [i32], options: [JsonB], mean: [Option<f64>], std: [Option<f64>],
        per_fold: [Vec<Option<f64>>], seconds: [Option<f64>], chosen: [bool],
    ) = trials_inner
}
