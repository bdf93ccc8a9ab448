//! `train_logistic` on a table sharded with postgres_fdw: the statistics of each pass are
//! computed on the shards and only they cross the network.
//!
//! Passes (each one `UNION ALL` of per-partition aggregates, see [`scan_parts_where`]): the
//! preparation (`_prep_stats`, when it has something to learn); on many rows, a warm start
//! from the first blocks of each shard (their moments, then Newton on them); the moments of
//! the prepared inputs (`_linear_stats`: counts, centres and scales, the importances), in a
//! pass of their own or gathered by the first Newton pass at the warm start; one
//! `_logistic_stats` pass per Newton step (objective, gradient and Hessian at the point, summed
//! over the shards; the same [`newton_iterations`] as for rows in memory, so the same
//! optimum), the last of which also gives the metrics of the training and held-out rows.
//! Dense preparations with an L2 penalty only: the hashing trick and L1 need the rows.
#![forbid(unsafe_code)]

use pgrx::pg_sys;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shopml_core::data::cell::Cell;
use shopml_core::data::prep::{Impute, Prep};
use shopml_core::linear::logistic::{
    class_weights, newton_iterations, BlockSums, DenseFit, LogisticModel, LogisticOptions,
    LogisticParams, NewtonFit, Weights,
};
use shopml_core::linear::regression::SplitAccumulator;
use shopml_core::linear::sharded::{importance, EvalSums, Scaling, StepSums, METRIC_BINS};
use shopml_core::{Error, ErrorKind, Result};

use crate::catalog::Outcome;
use crate::linear::{
    float_args, learn_prep, refuse_hashed, scan_args, with_row, Reader, ScanConfig, ScanTraining,
    StatsState,
};
use crate::pg::aggregate::{self, AggState};
use crate::pg::error::raise;
use crate::pg::fcinfo::Call;
use crate::pg::spi::{Param, Plan};
use crate::train::progress::Progress;
use crate::train::relation::{scan_parts_where, Column, FeatureList, Relation, Shard};
use crate::train::{self, Request, TrainerRow};

/// What a `_logistic_stats` pass computes at `beta` (standardised inputs): the objective,
/// gradient and Hessian of the training rows and the metrics' sums of the training and
/// held-out rows (so the pass at the final point also gives the metrics).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct LogisticPass {
    scaling: Scaling,
    beta: Vec<f64>,
    weights: Weights,
    threshold: f64,
    /// Also the moments of the prepared inputs (what a `_linear_stats` pass gives), so the
    /// first full pass needs no pass of its own for them.
    moments: bool,
}

/// The state of `_logistic_stats`.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct LogisticState {
    step: StepSums,
    train: EvalSums,
    test: EvalSums,
    moments: Option<SplitAccumulator>,
    skipped: u64,
    position: u64,
    #[serde(skip)]
    reader: Reader,
    #[serde(skip)]
    prep: Option<Prep>,
    #[serde(skip)]
    pass: Option<LogisticPass>,
    #[serde(skip)]
    x: Vec<f64>,
    #[serde(skip)]
    hashed: Vec<u32>,
    /// Float8 arguments and an all-numeric preparation: rows read without cells
    /// ([`float_args`]) and prepared by `encode_numbers`.
    #[serde(skip)]
    direct: bool,
    #[serde(skip)]
    raw: Vec<Option<f64>>,
}

impl AggState for LogisticState {
    fn merge(&mut self, other: &Self) {
        self.step.merge(&other.step);
        self.train.merge(&other.train);
        self.test.merge(&other.test);
        if let (Some(a), Some(b)) = (&mut self.moments, &other.moments) {
            a.merge(b);
        }
        self.skipped += other.skipped;
    }
}

pub fn logistic_trans(call: &Call) -> pg_sys::Datum {
    let (st, ret) = aggregate::state(call, || {
        let reader = Reader::new(call);
        let config = reader.config();
        let (Some(prep), Some(pass)) = (config.prep.clone(), config.logistic.clone()) else {
            raise(Error::invalid(
                "_logistic_stats needs a preparation and a pass",
            ))
        };
        LogisticState {
            step: StepSums::new(pass.beta.len()),
            train: EvalSums::default(),
            test: EvalSums::default(),
            moments: pass
                .moments
                .then(|| SplitAccumulator::without_samples(prep.dense_width)),
            skipped: 0,
            position: 0,
            x: vec![0.0; prep.dense_width],
            reader,
            prep: Some(prep),
            pass: Some(pass),
            hashed: Vec::new(),
            direct: false,
            raw: Vec::new(),
        }
    });
    let position = st.position;
    st.position += 1;
    if position == 0 {
        st.direct = st.reader.floats && st.prep.as_ref().is_some_and(|p| p.all_numeric());
    }
    if st.direct {
        let row = float_args(call, &st.reader, position, &mut st.raw);
        let (Some((test, key, y)), Some(pass), Some(prep)) =
            (row, st.pass.as_ref(), st.prep.as_ref())
        else {
            st.skipped += 1;
            return ret;
        };
        if !prep.encode_numbers(st.raw.iter().copied(), &mut st.x) {
            st.skipped += 1;
            return ret;
        }
        add_row(
            &mut st.step,
            &mut st.train,
            &mut st.test,
            st.moments.as_mut(),
            pass,
            &st.x,
            (test, key, y),
        );
        return ret;
    }
    let LogisticState {
        step,
        train,
        test,
        moments,
        skipped,
        reader,
        prep,
        pass,
        x,
        hashed,
        ..
    } = st;
    let (Some(prep), Some(pass)) = (prep.as_ref(), pass.as_ref()) else {
        raise(Error::internal("_logistic_stats: a state without its pass"));
    };
    with_row(call, reader, position, |row| {
        let Some(y) = row.y else {
            *skipped += 1;
            return;
        };
        hashed.clear();
        if !(prep.encode(row.inputs, x, hashed) && x.iter().all(|v| v.is_finite())) {
            *skipped += 1;
            return;
        }
        add_row(
            step,
            train,
            test,
            moments.as_mut(),
            pass,
            x,
            (row.test, row.key, y),
        );
    });
    ret
}

/// Adds a prepared row (held out, split key, label `y`: checked 0 or 1 here) to the pass's
/// sums.
fn add_row(
    step: &mut StepSums,
    train: &mut EvalSums,
    test: &mut EvalSums,
    moments: Option<&mut SplitAccumulator>,
    pass: &LogisticPass,
    x: &[f64],
    (held_out, key, y): (bool, u64, f64),
) {
    if y != 0.0 && y != 1.0 {
        raise(Error::invalid(format!(
            "the target has values other than 0 and 1 (e.g. {y}): logistic regression is for two classes"
        )));
    }
    if let Some(m) = moments {
        m.add(held_out, key, y, x);
    }
    if held_out {
        let t = score(x, &pass.beta, &pass.scaling);
        test.add(t, y, pass.threshold);
    } else {
        let t = step.add(x, y, &pass.beta, &pass.scaling, pass.weights);
        train.add(t, y, pass.threshold);
    }
}

/// The linear score of prepared inputs `x` at `beta` (standardised inputs, intercept first).
fn score(x: &[f64], beta: &[f64], scaling: &Scaling) -> f64 {
    let mut t = beta[0];
    for (((v, c), s), b) in x
        .iter()
        .zip(&scaling.center)
        .zip(&scaling.scale)
        .zip(&beta[1..])
    {
        t += (v - c) / s * b;
    }
    t
}

/// Runs one `_logistic_stats` pass over the shards and returns the summed state.
fn pass(
    shards: &[Shard],
    req: &Request,
    base: &ScanConfig,
    inputs: &Inputs,
    p: LogisticPass,
    filter: Option<&str>,
    tally: &mut Tally,
) -> Result<LogisticState> {
    let started = std::time::Instant::now();
    let config = ScanConfig {
        logistic: Some(p),
        ..base.clone()
    };
    let cfg = aggregate::encode(&config);
    let mut total: Option<LogisticState> = None;
    let query = |from: &str, label: &str| {
        format!(
            "SELECT shopml._logistic_stats($1, {}, {}, {}), {label} FROM {from}",
            inputs.key_expr, inputs.y_expr, inputs.columns
        )
    };
    scan_parts_where(
        shards,
        &req.rel,
        filter,
        query,
        &[Param::Bytea(&cfg)],
        Plan::Serial,
        |cells| {
            if let Cell::Bytes(b) = cells[0] {
                tally.largest = tally.largest.max(b.len());
                let part = aggregate::decode_partial::<LogisticState>(b)?;
                match &mut total {
                    Some(t) => t.merge(&part),
                    None => total = Some(part),
                }
            }
            Ok(())
        },
    )?;
    tally.record(filter.is_some(), started);
    total.ok_or_else(|| Error::internal("a logistic pass over the shards returned no state"))
}

/// What the passes over the shards cost: the largest state one sent, and the time of each
/// full pass and of the warm start's passes together.
#[derive(Default)]
struct Tally {
    largest: usize,
    full_ms: Vec<f64>,
    warm_passes: usize,
    warm_ms: f64,
}

impl Tally {
    fn record(&mut self, warm: bool, started: std::time::Instant) {
        let ms = (started.elapsed().as_secs_f64() * 1e4).round() / 10.0;
        if warm {
            self.warm_passes += 1;
            self.warm_ms += ms;
        } else {
            self.full_ms.push(ms);
        }
    }
}

/// Rows from which the fit on the first blocks of the shards is worth it (as in memory).
const SUBSAMPLE_ROWS: u64 = 200_000;
/// Blocks of each shard the warm start reads (8 kB each: some 100k rows of 20 float8 columns).
const SUBSAMPLE_BLOCKS: u32 = 2_500;

/// The moments of the prepared inputs over the rows of the shards (their first blocks with
/// `filter`): one `_linear_stats` pass.
fn moments_pass(
    shards: &[Shard],
    rel: &Relation,
    base: &ScanConfig,
    inputs: &Inputs,
    filter: Option<&str>,
) -> Result<SplitAccumulator> {
    let cfg = aggregate::encode(base);
    let mut acc: Option<SplitAccumulator> = None;
    let query = |from: &str, label: &str| {
        format!(
            "SELECT NULL::text, shopml._linear_stats($1, {}, {}, {}), {label} FROM {from}",
            inputs.key_expr, inputs.y_expr, inputs.columns
        )
    };
    scan_parts_where(
        shards,
        rel,
        filter,
        query,
        &[Param::Bytea(&cfg)],
        Plan::Serial,
        |cells| {
            if let Cell::Bytes(b) = cells[1] {
                let part = aggregate::decode_partial::<StatsState>(b)?.acc;
                match &mut acc {
                    Some(a) => a.merge(&part),
                    None => acc = Some(part),
                }
            }
            Ok(())
        },
    )?;
    acc.ok_or_else(|| Error::internal("no moments from the shards"))
}

/// The training rows and positives in the moments `acc`, refused when the target is not 0/1,
/// there are no rows or only one class.
fn counts(
    acc: &SplitAccumulator,
    model_name: &str,
    rel: &Relation,
    target: &str,
) -> Result<(u64, u64)> {
    let n = acc.train.n();
    let p = acc.train.n_features();
    let (mean_y, sum_sq) = (
        acc.train.mean(p),
        acc.train.comoment(p, p) + n as f64 * acc.train.mean(p).powi(2),
    );
    // 0/1 labels: Σy² = Σy, and 0 ≤ Σy ≤ n.
    if n > 0
        && ((sum_sq - mean_y * n as f64).abs() > 1e-6 * n as f64 || !(0.0..=1.0).contains(&mean_y))
    {
        return Err(Error::invalid(format!(
            "target \"{target}\" of {} has values other than 0 and 1: logistic regression is for two classes",
            rel.sql_name
        ))
        .with_hint("Use shopml.train_forest for more than two classes, or map the target to 0/1 in a view."));
    }
    if n == 0 {
        return Err(Error::data(format!(
            "no usable rows to train \"{model_name}\" on {}",
            rel.sql_name
        ))
        .with_detail(format!(
            "{} rows skipped for NULL, NaN or infinite values.",
            acc.skipped
        )));
    }
    let positives = (mean_y * n as f64).round() as u64;
    if positives == 0 || positives == n {
        return Err(Error::data(format!(
            "cannot train \"{model_name}\" on {}: the target has only one class in the {n} training rows",
            rel.sql_name
        )));
    }
    Ok((n, positives))
}

/// The aggregate arguments of every pass.
struct Inputs {
    key_expr: String,
    y_expr: String,
    columns: String,
}

/// `train_logistic` on a sharded relation (see the module's comment).
pub fn train_sharded(
    req: Request,
    shards: Vec<Shard>,
    target: &Column,
    labels: [&str; 2],
    features: FeatureList,
    opts: &LogisticOptions,
) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    if opts.l1 > 0.0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("train_logistic with l1 > 0 on the sharded table {} is not supported", rel.sql_name),
        )
        .with_hint("Use l2 only on sharded tables (L1's solver needs the rows), or train on a view that gathers them."));
    }
    let split = &opts.pipeline.split;
    let feats = rel.target_features(features, &target.name, &[], &opts.pipeline)?;
    feats.notice_keys(model_name);
    let mut progress = Progress::new(model_name);
    let args = scan_args(rel, split, &feats.columns)?;
    let training = ScanTraining {
        model_name: model_name.to_string(),
        started_ms: progress.started_ms(),
        serial: true,
    };
    // As float8, so that rows of float8 features are read without cells.
    let y_expr = if target.conv == crate::pg::datum::Conv::Bool {
        format!("({})::int::float8", target.ident())
    } else {
        format!("({})::float8", target.ident())
    };
    let prep = learn_prep(
        rel,
        &y_expr,
        &feats.columns,
        &opts.prep,
        split,
        &args,
        &training,
        &shards,
    )?;
    refuse_hashed(&prep, rel, opts.prep.max_categories, "A sharded train_logistic one-hot encodes text features (the hashing trick needs the rows): raise max_categories or group rare values in a view.")?;
    let base = ScanConfig {
        split: split.clone(),
        keys: args.keys,
        skip_missing: prep.impute == Impute::Skip,
        prep: Some(prep.clone()),
        learner: None,
        n_inputs: feats.columns.len(),
        training: Some(training),
        mae_sample: false,
        logistic: None,
        cv_folds: 0,
    };
    let inputs = Inputs {
        key_expr: args.key_expr.clone(),
        y_expr: y_expr.clone(),
        columns: args.inputs.clone(),
    };
    let standardized = prep.standardize && prep.all_numeric();
    let params = LogisticParams {
        l2: opts.l2,
        balanced: opts.balanced,
        max_iter: opts.max_iter,
        standardized,
    };
    let p = prep.dense_width;
    let tally = std::cell::RefCell::new(Tally::default());
    let moments = |filter: Option<&str>| -> Result<SplitAccumulator> {
        let started = std::time::Instant::now();
        let acc = moments_pass(&shards, rel, &base, &inputs, filter)?;
        tally.borrow_mut().record(filter.is_some(), started);
        Ok(acc)
    };
    // On many rows Newton starts from the fit on the first blocks of each shard (as the
    // in-memory trainer starts from a subsample), in those rows' scaling; the first full pass,
    // at that point, also gathers the moments of all rows, from which its sums are re-expressed
    // in the full data's scaling. The answer is the full-data optimum either way. Class
    // weights need the full counts first, so `balanced` takes a pass for the moments.
    progress.stage("moments", None);
    let mut folded = None;
    if !opts.balanced {
        let filter = format!("ctid < '({SUBSAMPLE_BLOCKS},0)'::tid");
        let sub = moments(Some(&filter))?;
        let rows = sub.train.n();
        if rows >= SUBSAMPLE_ROWS / 2 {
            if let Ok((_, sub_pos)) = counts(&sub, model_name, rel, &target.name) {
                let sub_scaling = Scaling::of(&sub.train, standardized);
                let mut sub_pass = |beta: &[f64]| -> Result<BlockSums> {
                    let at = LogisticPass {
                        scaling: sub_scaling.clone(),
                        beta: beta.to_vec(),
                        weights: None,
                        threshold: 0.5,
                        moments: false,
                    };
                    let st = pass(
                        &shards,
                        &req,
                        &base,
                        &inputs,
                        at,
                        Some(&filter),
                        &mut tally.borrow_mut(),
                    )?;
                    Ok(st.step.sums())
                };
                progress.stage("warm start", Some(opts.max_iter));
                let warm = newton_iterations(
                    p + 1,
                    rows,
                    sub_pos,
                    &params,
                    None,
                    &mut sub_pass,
                    &mut progress,
                );
                if let Ok(NewtonFit { beta, .. }) = warm {
                    let at = LogisticPass {
                        scaling: sub_scaling.clone(),
                        beta: beta.clone(),
                        weights: None,
                        threshold: 0.5,
                        moments: true,
                    };
                    let st = pass(
                        &shards,
                        &req,
                        &base,
                        &inputs,
                        at,
                        None,
                        &mut tally.borrow_mut(),
                    )?;
                    folded = Some((sub_scaling, beta, st));
                }
            }
        }
    }
    let (acc, first, mut last) = match folded {
        Some((sub_scaling, beta, st)) => {
            let acc = st
                .moments
                .clone()
                .ok_or_else(|| Error::internal("a first pass without its moments"))?;
            (acc, Some((sub_scaling, beta, st.step.sums())), Some(st))
        }
        None => (moments(None)?, None, None),
    };
    let (n, positives) = counts(&acc, model_name, rel, &target.name)?;
    let scaling = Scaling::of(&acc.train, standardized);
    let weights = class_weights(n, positives, opts.balanced);
    let (start, mut first) = match first {
        Some((from, beta, sums)) => {
            let (point, sums) = from.reexpress(&scaling, &beta, sums);
            (Some(point), Some(sums))
        }
        None => (None, None),
    };
    progress.stage("fitting", Some(opts.max_iter));
    // The last pass is always at the point returned (the accepted step, or the point whose
    // step was too small to take), so its metrics' sums are the model's.
    let mut newton_pass = |beta: &[f64]| -> Result<BlockSums> {
        if let Some(sums) = first.take() {
            return Ok(sums);
        }
        let st = pass(
            &shards,
            &req,
            &base,
            &inputs,
            LogisticPass {
                scaling: scaling.clone(),
                beta: beta.to_vec(),
                weights,
                threshold: 0.5,
                moments: false,
            },
            None,
            &mut tally.borrow_mut(),
        )?;
        let sums = st.step.sums();
        last = Some(st);
        Ok(sums)
    };
    let NewtonFit {
        beta,
        iterations,
        converged,
        hessian,
    } = newton_iterations(
        p + 1,
        n,
        positives,
        &params,
        start,
        &mut newton_pass,
        &mut progress,
    )
    .map_err(train::about(model_name, rel))?;
    let fit = DenseFit {
        center: scaling.center.clone(),
        scale: scaling.scale.clone(),
        beta,
        iterations,
        converged,
        hessian,
    };
    let c = fit.original_coefficients();
    let (intercept, dense) = (c[0], c[1..].to_vec());
    let tally = tally.into_inner();
    let evaluated = last.ok_or_else(|| Error::internal("no Newton pass over the shards"))?;
    let model = LogisticModel {
        importance: importance(&acc.train, &dense, &prep.dense_sources(), prep.inputs.len()),
        prep,
        intercept,
        dense,
        hashed: Vec::new(),
        labels: [labels[0].to_string(), labels[1].to_string()],
        threshold: 0.5,
        iterations,
        converged,
        solver: "newton".to_string(),
        means: (0..p).map(|j| acc.train.mean(j)).collect(),
        std_errors: fit.original_std_errors(),
        curvature: fit.original_curvature(),
    };
    let (train_m, test_m) = (evaluated.train.metrics(), evaluated.test.metrics());
    let test_m = (evaluated.test.n > 0).then_some(test_m);
    let (n_train, n_test) = (n as i64, acc.test.n() as i64);
    let metrics = train::split_metrics(
        &train_m,
        test_m.as_ref(),
        json!({
            "positive_rate": positives as f64 / n as f64,
            "skipped_rows": acc.skipped,
            "iterations": iterations,
            "converged": converged,
            "solver": "newton",
            "nonzero_coefficients": model.dense.iter().filter(|c| **c != 0.0).count(),
            "sharded": {"partitions": shards.len(), "metric_bins": METRIC_BINS,
                        "passes": tally.full_ms.len(), "pass_ms": tally.full_ms,
                        "warm_start_passes": tally.warm_passes, "warm_start_ms": tally.warm_ms,
                        "largest_state_bytes": tally.largest},
        }),
    );
    let params = json!({"l1": opts.l1, "l2": opts.l2,
                        "class_weight": if opts.balanced { "balanced" } else { "none" },
                        "test_fraction": split.test_fraction, "split_column": split.split_column,
                        "split_seed": split.split_seed, "max_iter": opts.max_iter,
                        "preparation": model.prep.describe()});
    let outcome = Outcome::new(params, metrics, (n_train, n_test), opts.pipeline.deploy);
    req.save(&model, Some(&target.name), feats.names(), outcome)
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION shopml._logistic_stats_trans(internal, bytea, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_trans' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._logistic_stats_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._logistic_stats_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._logistic_stats_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._logistic_stats_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_logistic_stats_final' LANGUAGE C PARALLEL SAFE;
CREATE AGGREGATE shopml._logistic_stats(bytea, VARIADIC "any") (
    SFUNC = shopml._logistic_stats_trans, STYPE = internal,
    COMBINEFUNC = shopml._logistic_stats_combine,
    SERIALFUNC = shopml._logistic_stats_serialize, DESERIALFUNC = shopml._logistic_stats_deserialize,
    FINALFUNC = shopml._logistic_stats_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml._logistic_stats(bytea, VARIADIC "any") IS
  'Internal: what train_logistic needs from one shard of a sharded table for one pass (objective, gradient and Hessian at a point, or the sums behind the metrics), as a partial state.';
"#,
    name = "logistic_shard_aggregates",
    requires = ["catalog"],
);
