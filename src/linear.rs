//! SQL surface of linear regression: `train_linear`, `coefficients`, the `linear_fit`
//! aggregate, and the internal aggregates `train_linear` scans with.
//!
//! `train_linear` reads its rows in a parallel aggregate (workers share the scan) rather than
//! through the serial row reader, which is what keeps it within 1.5× a plain scan. The
//! aggregate reads each row's columns with the same datum table, the same split keys and the
//! same [`Prep`] as every other trainer: `_prep_stats` learns the preparation from the training
//! rows (skipped when it has nothing to learn), then `_linear_stats` prepares each row in Rust
//! and accumulates the sufficient statistics of the training and held-out rows. Features
//! arrive as separate arguments (no array per row), or, beyond 90 of them, as one `ROW(...)`.
#![forbid(unsafe_code)]

use std::cell::RefCell;

use pgrx::pg_sys;
use pgrx::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use shopml_core::data::cell::Cell;
use shopml_core::data::prep::{ColumnKind, Encoding, Impute, Prep, PrepLearner, PrepOptions};
use shopml_core::data::split::{hashed_fold, position_key, tid_key, Split};
use shopml_core::linear::logistic::LogisticModel;
use shopml_core::linear::multinomial::MultinomialModel;
use shopml_core::linear::regression::{
    evaluate, fit, flat, FitOptions, LinearBundle, LinearModel, LinearOptions, LinearStats,
    SplitAccumulator, SplitMetrics,
};
use shopml_core::monitor::Monitor;
use shopml_core::{Error, ErrorKind, Result};

use crate::catalog::cache;
use crate::catalog::Outcome;
use crate::pg::aggregate::{self, AggState};
use crate::pg::datum::{tid_parts, Conv};
use crate::pg::error::{raise, required, OrRaise};
use crate::pg::fcinfo::Call;
use crate::pg::row::RowType;
use crate::pg::spi::{Param, Plan};
use crate::pg::system::is_parallel_worker;
use crate::serve::table_function;
use crate::train::progress::Progress;
use crate::train::relation::{scan_parts, scan_parts_where, Column, FeatureList, Relation, Shard};
use crate::train::{self, Request, TrainerRow};

// ---------------------------------------------------------------------------------------------
// The row aggregates: _prep_stats and _linear_stats (bytea config, VARIADIC "any" (key, y,
// x1..xn | ROW(x1..xn))). The key decides the row's side of the split: its ctid for tables, the
// split column with split_column, NULL for views (the scan position; the query then runs with
// a serial plan).
// ---------------------------------------------------------------------------------------------

/// How the rows of the scan are keyed for the split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum KeyMode {
    Tid,
    Column,
    Position,
}

/// What `train_linear` tells its aggregates (their bytea argument).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ScanConfig {
    pub(crate) split: Split,
    pub(crate) keys: KeyMode,
    pub(crate) skip_missing: bool,
    /// The preparation (for `_linear_stats`), or the learner to fill (for `_prep_stats`).
    pub(crate) prep: Option<Prep>,
    pub(crate) learner: Option<PrepLearner>,
    pub(crate) n_inputs: usize,
    /// The training to report progress of (none for the test configuration).
    pub(crate) training: Option<ScanTraining>,
    /// Whether `_linear_stats` keeps its bounded row samples for the MAE (not when the states
    /// travel from shards: statistics are a few KB, the samples up to MAE_SAMPLE_ROWS rows).
    pub(crate) mae_sample: bool,
    /// For `_logistic_stats` (a logistic regression over shards): the point of the pass.
    pub(crate) logistic: Option<crate::logistic_shards::LogisticPass>,
    /// `_linear_stats` also keeps the statistics of each of this many hashed folds of the
    /// rows (by their split keys; 0: none), for `tune`'s one-scan cross-validation of ridge.
    pub(crate) cv_folds: u32,
}

/// Which training a scan is part of, for its progress NOTICEs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ScanTraining {
    pub(crate) model_name: String,
    /// When the training started ([`Progress::started_ms`]).
    pub(crate) started_ms: u64,
    /// Whether this process reads every row (a serial plan), so its count is the rows read.
    pub(crate) serial: bool,
}

/// The progress of the current scan in this process: the leader reports once a second, with
/// the rows read when the plan is serial; parallel workers stay silent (their NOTICEs would
/// multiply). Per process rather than per aggregate state, so GROUP BY's many states report
/// once.
struct ScanProgress {
    started_ms: u64,
    rows: u64,
    progress: Option<Progress>,
}

thread_local! {
    static SCAN_PROGRESS: RefCell<Option<ScanProgress>> = const { RefCell::new(None) };
}

/// Counts a row of the scan and sends the progress NOTICE when one is due.
fn count_row(config: &ScanConfig) {
    let Some(t) = &config.training else {
        return;
    };
    SCAN_PROGRESS.with_borrow_mut(|current| {
        let p = match current {
            Some(p) if p.started_ms == t.started_ms => p,
            _ => {
                let stage = if config.learner.is_some() {
                    "learning the preparation"
                } else {
                    "accumulating statistics"
                };
                current.insert(ScanProgress {
                    started_ms: t.started_ms,
                    rows: 0,
                    progress: (!is_parallel_worker())
                        .then(|| Progress::resume(&t.model_name, t.started_ms, stage)),
                })
            }
        };
        p.rows += 1;
        if p.rows % 1024 != 0 {
            return;
        }
        match &mut p.progress {
            Some(progress) if t.serial => progress.rows_read(p.rows),
            Some(progress) => {
                let _ = progress.tick();
            }
            None => {}
        }
    });
}

/// Per aggregate state: the decoded config and how to read the arguments (not serialised:
/// every worker makes its own from the config argument).
#[derive(Clone, Default)]
pub(crate) struct Reader {
    config: Option<ScanConfig>,
    convs: Vec<Option<Conv>>,
    rows: Option<RowType>,
    /// The target and every feature arrive as float8 arguments (no ROW), so a row can be read
    /// without making cells.
    pub(crate) floats: bool,
}

/// First argument after the state and config.
const FIRST: usize = 2;

/// 42804 unless the target is a number and each feature argument is of the kind of column
/// the configuration prepares (the features inside one `ROW(...)` are checked as they are read).
fn check_types(call: &Call, convs: &[Option<Conv>], config: &ScanConfig) {
    let mismatch = |what: String| raise(Error::mismatch(what));
    if let Some(Some(y)) = convs.get(1) {
        if !y.is_number() {
            mismatch(format!(
                "shopml's linear aggregates take a numeric target, got {}",
                call.arg_type_name(FIRST + 1)
            ));
        }
    }
    let kinds = match (&config.prep, &config.learner) {
        (Some(p), _) => p.input_kinds(),
        (None, Some(l)) => l.kinds().to_vec(),
        (None, None) => return,
    };
    for (j, (conv, want)) in convs.iter().skip(2).zip(&kinds).enumerate() {
        let Some(conv) = conv else { continue };
        let i = FIRST + 2 + j;
        if conv.column_kind(call.arg_type(i)) != Some(*want) {
            let want = match want {
                ColumnKind::Numeric => "a number",
                ColumnKind::Categorical => "a category",
                ColumnKind::Time { with_hour: false } => "a date",
                ColumnKind::Time { with_hour: true } => "a timestamp",
            };
            mismatch(format!(
                "feature argument {} of shopml's linear aggregates is of type {}; the configuration prepares it as {want}",
                j + 1,
                call.arg_type_name(i)
            ));
        }
    }
}

impl Reader {
    pub(crate) fn new(call: &Call) -> Reader {
        if call.is_null(1) {
            raise(Error::invalid("the scan configuration must not be NULL"));
        }
        let config: ScanConfig = aggregate::decode(call.bytes(1));
        if call.nargs() < FIRST + 3 {
            raise(Error::invalid(
                "shopml's linear aggregates take (config, key, target, features...)",
            ));
        }
        let convs: Vec<Option<Conv>> = (FIRST..call.nargs())
            .map(|i| {
                let ty = call.arg_type(i);
                if ty == pg_sys::RECORDOID && i > FIRST + 1 {
                    None
                } else {
                    Some(Conv::of(ty))
                }
            })
            .collect();
        check_types(call, &convs, &config);
        let floats = convs[1..].iter().all(|c| *c == Some(Conv::F8));
        Reader {
            config: Some(config),
            convs,
            rows: None,
            floats,
        }
    }

    pub(crate) fn config(&self) -> &ScanConfig {
        match &self.config {
            Some(c) => c,
            None => raise(Error::internal(
                "a linear aggregate state without its configuration",
            )),
        }
    }

    /// The split key of a row from its key cells.
    fn key(&self, key: &Cell, position: u64) -> u64 {
        match (self.config().keys, key) {
            (KeyMode::Tid, Cell::Int(t)) => {
                let (block, offset) = tid_parts(*t);
                tid_key(block, offset)
            }
            (KeyMode::Column, v) => self.config().split.column_key(v),
            _ => position_key(position),
        }
    }
}

/// One row of a row aggregate: its split side and key, target and input cells, and whether a
/// missing value makes it unusable.
pub(crate) struct AggRow<'c> {
    pub(crate) test: bool,
    pub(crate) key: u64,
    pub(crate) y: Option<f64>,
    pub(crate) inputs: &'c [Cell<'c>],
    pub(crate) missing: bool,
}

/// Reads the current row of a row aggregate and runs `f` on it.
pub(crate) fn with_row<R>(
    call: &Call,
    reader: &mut Reader,
    position: u64,
    f: impl FnOnce(&AggRow) -> R,
) -> R {
    let convs = std::mem::take(&mut reader.convs);
    let mut rows = reader.rows.take();
    let out = call.with_arg_cells(FIRST, &convs, &mut rows, |cells| {
        let config = reader.config();
        if cells.len() != 2 + config.n_inputs {
            raise(Error::invalid(format!(
                "shopml's linear aggregates got {} inputs, the configuration has {}",
                cells.len().saturating_sub(2),
                config.n_inputs
            )));
        }
        count_row(config);
        let key = reader.key(&cells[0], position);
        let inputs = &cells[2..];
        f(&AggRow {
            test: config.split.is_test(key),
            key,
            y: cells[1].number(),
            inputs,
            missing: config.skip_missing && inputs.iter().any(Cell::is_missing),
        })
    });
    reader.convs = convs;
    reader.rows = rows;
    out
}

/// The state of `_prep_stats`: the preparation learnt from the training rows so far.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PrepState {
    learner: PrepLearner,
    position: u64,
    #[serde(skip)]
    reader: Reader,
}

impl AggState for PrepState {
    fn merge(&mut self, other: &Self) {
        self.learner.merge(&other.learner);
    }
}

pub fn prep_trans(call: &Call) -> pg_sys::Datum {
    let (st, ret) = aggregate::state(call, || {
        let reader = Reader::new(call);
        let learner = reader
            .config()
            .learner
            .clone()
            .unwrap_or_else(|| raise(Error::invalid("_prep_stats needs a learner")));
        PrepState {
            learner,
            position: 0,
            reader,
        }
    });
    let position = st.position;
    st.position += 1;
    let PrepState {
        learner, reader, ..
    } = st;
    with_row(call, reader, position, |row| {
        if !row.test && !row.missing && row.y.is_some() {
            learner.add(row.inputs);
        }
    });
    ret
}

/// The state of `_linear_stats`.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StatsState {
    pub(crate) acc: SplitAccumulator,
    /// The statistics of each cross-validation fold ([`ScanConfig::cv_folds`]; empty without).
    pub(crate) folds: Vec<LinearStats>,
    position: u64,
    #[serde(skip)]
    reader: Reader,
    #[serde(skip)]
    prep: Option<Prep>,
    /// The preparation uses numbers as they are and float8 arguments carry them: the rows
    /// are read straight from the arguments (the common case, and the one the benchmark
    /// times against a scan).
    #[serde(skip)]
    direct: bool,
    #[serde(skip)]
    x: Vec<f64>,
    #[serde(skip)]
    hashed: Vec<u32>,
}

impl AggState for StatsState {
    fn merge(&mut self, other: &Self) {
        self.acc.merge(&other.acc);
        for (a, b) in self.folds.iter_mut().zip(&other.folds) {
            a.merge(b);
        }
    }
}

/// Adds a usable row to the scan's statistics: to its fold's when the scan keeps folds, else
/// to the training or held-out side.
#[inline]
fn add_usable(
    acc: &mut SplitAccumulator,
    folds: &mut [LinearStats],
    seed: u64,
    (test, key, y): (bool, u64, f64),
    x: &[f64],
) {
    if folds.is_empty() {
        acc.add(test, key, y, x);
    } else {
        folds[hashed_fold(seed, key, folds.len() as u32) as usize].add(y, x);
    }
}

pub fn stats_trans(call: &Call) -> pg_sys::Datum {
    let (st, ret) = aggregate::state(call, || {
        let reader = Reader::new(call);
        let prep = reader
            .config()
            .prep
            .clone()
            .unwrap_or_else(|| raise(Error::invalid("_linear_stats needs a preparation")));
        StatsState {
            acc: if reader.config().mae_sample {
                SplitAccumulator::new(prep.dense_width)
            } else {
                SplitAccumulator::without_samples(prep.dense_width)
            },
            folds: vec![LinearStats::new(prep.dense_width); reader.config().cv_folds as usize],
            position: 0,
            direct: reader.floats && prep.is_identity(),
            reader,
            x: vec![0.0; prep.dense_width],
            prep: Some(prep),
            hashed: Vec::new(),
        }
    });
    let position = st.position;
    st.position += 1;
    if st.direct {
        read_floats(call, st, position);
        return ret;
    }
    let StatsState {
        acc,
        folds,
        reader,
        prep,
        x,
        hashed,
        ..
    } = st;
    let Some(prep) = prep.as_ref() else {
        raise(Error::internal(
            "_linear_stats: a state without its preparation",
        ));
    };
    let identity = prep.is_identity();
    let seed = reader.config().split.split_seed;
    with_row(call, reader, position, |row| {
        let Some(y) = row.y else {
            acc.skipped += 1;
            return;
        };
        let ok = if identity {
            row.inputs
                .iter()
                .zip(x.iter_mut())
                .all(|(c, v)| match c.number() {
                    Some(n) => {
                        *v = n;
                        true
                    }
                    None => false,
                })
        } else {
            hashed.clear();
            prep.encode(row.inputs, x, hashed) && x.iter().all(|v| v.is_finite())
        };
        if ok {
            add_usable(acc, folds, seed, (row.test, row.key, y), x);
        } else {
            acc.skipped += 1;
        }
    });
    ret
}

/// [`stats_trans`] of a row whose target and features are float8 arguments used as they are:
/// the same split key, skips and sums as through the cells, without making them.
fn read_floats(call: &Call, st: &mut StatsState, position: u64) {
    match float_row(call, &st.reader, position, &mut st.x) {
        Some(row) => {
            let seed = st.reader.config().split.split_seed;
            add_usable(&mut st.acc, &mut st.folds, seed, row, &st.x)
        }
        None => st.acc.skipped += 1,
    }
}

/// The current row of a row aggregate whose target and features are all float8 arguments:
/// the features into `raw` (None for NULL, NaN or an infinity: the preparation fills or skips
/// them), and (held out, split key, target), or None when the target is missing.
pub(crate) fn float_args(
    call: &Call,
    reader: &Reader,
    position: u64,
    raw: &mut Vec<Option<f64>>,
) -> Option<(bool, u64, f64)> {
    let config = reader.config();
    let n = config.n_inputs;
    if call.nargs() != FIRST + 2 + n {
        raise(Error::invalid(format!(
            "shopml's linear aggregates got {} inputs, the configuration has {n}",
            call.nargs().saturating_sub(FIRST + 2)
        )));
    }
    count_row(config);
    let key_conv = reader.convs[0].unwrap_or(Conv::F8);
    let key = reader.key(&call.cell(FIRST, key_conv), position);
    let test = config.split.is_test(key);
    let value = |i: usize| {
        let v = call.f64(i);
        (!call.is_null(i) && v.is_finite()).then_some(v)
    };
    raw.clear();
    raw.extend((0..n).map(|j| value(FIRST + 2 + j)));
    Some((test, key, value(FIRST + 1)?))
}

/// The current row of a row aggregate whose target and features are all float8 arguments
/// used as they are: the features into `x`, and (held out, split key, target), or None when
/// the row is skipped for a NULL, NaN or infinite value. The same split and skips as through
/// the cells, without making them.
pub(crate) fn float_row(
    call: &Call,
    reader: &Reader,
    position: u64,
    x: &mut [f64],
) -> Option<(bool, u64, f64)> {
    let config = reader.config();
    let n = config.n_inputs;
    if call.nargs() != FIRST + 2 + n {
        raise(Error::invalid(format!(
            "shopml's linear aggregates got {} inputs, the configuration has {n}",
            call.nargs().saturating_sub(FIRST + 2)
        )));
    }
    count_row(config);
    let key_conv = reader.convs[0].unwrap_or(Conv::F8);
    let key = reader.key(&call.cell(FIRST, key_conv), position);
    let test = config.split.is_test(key);
    let value = |i: usize| {
        let v = call.f64(i);
        (!call.is_null(i) && v.is_finite()).then_some(v)
    };
    let y = value(FIRST + 1)?;
    for (j, xj) in x.iter_mut().enumerate().take(n) {
        *xj = value(FIRST + 2 + j)?;
    }
    Some((test, key, y))
}

/// Internal: the configuration `train_linear` gives `_linear_stats` for `n_inputs` numeric
/// inputs used as they are, split by row position in the table (for tests of the aggregate).
#[pg_extern(immutable, parallel_safe)]
fn _linear_scan_config(
    n_inputs: i32,
    test_fraction: default!(f64, 0.2),
    mae_sample: default!(bool, true),
) -> Vec<u8> {
    if !(1..=10_000).contains(&n_inputs) || !(0.0..1.0).contains(&test_fraction) {
        raise(Error::invalid(
            "n_inputs must be in 1..10000 and test_fraction in [0, 1)",
        ));
    }
    let names: Vec<String> = (1..=n_inputs).map(|i| format!("x{i}")).collect();
    aggregate::encode(&ScanConfig {
        split: Split {
            test_fraction,
            split_column: None,
            split_seed: 0,
            folds: None,
        },
        keys: KeyMode::Tid,
        skip_missing: true,
        prep: Some(Prep::identity(&names)),
        learner: None,
        n_inputs: names.len(),
        training: None,
        mae_sample,
        logistic: None,
        cv_folds: 0,
    })
}

// ---------------------------------------------------------------------------------------------
// linear_fit(y float8, x float8[]) -> jsonb: the user-facing aggregate.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct FitState {
    stats: Option<LinearStats>,
    skipped: u64,
}

impl AggState for FitState {
    fn merge(&mut self, other: &Self) {
        self.skipped += other.skipped;
        match (&mut self.stats, &other.stats) {
            (Some(a), Some(b)) => {
                if a.n_features() != b.n_features() {
                    raise(width_mismatch(a.n_features(), b.n_features()));
                }
                a.merge(b)
            }
            (None, Some(b)) => self.stats = Some(b.clone()),
            _ => {}
        }
    }
}

fn width_mismatch(a: usize, b: usize) -> Error {
    Error::invalid(format!(
        "linear_fit: every x array must have the same length ({a} and {b} seen)"
    ))
}

pub fn fit_trans(call: &Call) -> pg_sys::Datum {
    let (st, ret) = aggregate::state(call, || FitState {
        stats: None,
        skipped: 0,
    });
    let x = if call.is_null(2) {
        None
    } else {
        call.float8_array(2).or_raise()
    };
    let y = call.f64(1);
    match x {
        Some(x) if !call.is_null(1) && y.is_finite() && x.iter().all(|v| v.is_finite()) => {
            if x.is_empty() {
                raise(Error::invalid(
                    "linear_fit: x must have at least one element",
                ));
            }
            let stats = st.stats.get_or_insert_with(|| LinearStats::new(x.len()));
            if stats.n_features() != x.len() {
                raise(width_mismatch(stats.n_features(), x.len()));
            }
            stats.add(y, x);
        }
        _ => st.skipped += 1,
    }
    ret
}

fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

fn opt_nums(v: &[Option<f64>]) -> Value {
    Value::Array(
        v.iter()
            .map(|x| x.map(num).unwrap_or(Value::Null))
            .collect(),
    )
}

pub fn fit_final(call: &Call) -> pg_sys::Datum {
    let Some(st) = aggregate::read::<FitState>(call) else {
        return call.null();
    };
    let Some(stats) = &st.stats else {
        return call.null();
    };
    match fit_json(stats, st.skipped) {
        Some(v) => call.jsonb_result(v),
        None => call.null(),
    }
}

/// linear_fit's result for these statistics: None when too few rows (a NULL result, like
/// regr_slope).
fn fit_json(stats: &LinearStats, skipped: u64) -> Option<Value> {
    let m = match fit(stats, &FitOptions::default()) {
        Ok(m) => m,
        Err(e) if e.kind == ErrorKind::DataException => return None,
        Err(e) => raise(e),
    };
    Some(json!({
        "coefficients": opt_nums(&m.coefficients),
        "intercept": num(m.intercept),
        "std_errors": opt_nums(&m.std_errors),
        "t_stats": opt_nums(&m.t_stats),
        "p_values": opt_nums(&m.p_values),
        "intercept_std_error": m.intercept_std_error.map(num),
        "r2": num(m.r2),
        "sigma": num(m.sigma),
        "n": m.n,
        "df_resid": num(m.df_resid),
        "skipped": skipped,
        "aliased": m.coefficients.iter().enumerate().filter(|(_, c)| c.is_none()).map(|(i, _)| i + 1).collect::<Vec<_>>(),
    }))
}

// ---------------------------------------------------------------------------------------------
// linear_partial / linear_merge / linear_fit_state: the same statistics as linear_fit with a
// value-typed (bytea) state, for distributed planners that run the partial step on workers
// (Citus needs a combine function and a state that is not `internal`) and for moving states
// between servers by hand (dblink, postgres_fdw).
// ---------------------------------------------------------------------------------------------

/// sfunc(bytea, float8, float8[]) -> bytea of `linear_partial`.
pub fn partial_trans(call: &Call) -> pg_sys::Datum {
    let x = if call.is_null(2) {
        None
    } else {
        call.float8_array(2).or_raise()
    };
    let y = call.f64(1);
    let usable = !call.is_null(1) && y.is_finite();
    let row = match x {
        Some(x) if usable && x.iter().all(|v| v.is_finite()) => Some(x),
        _ => None,
    };
    if let Some(x) = &row {
        if x.is_empty() {
            raise(Error::invalid(
                "linear_partial: x must have at least one element",
            ));
        }
    }
    let mut delta = Vec::new();
    let update = |b: &mut [u8], delta: &mut Vec<f64>| match &row {
        Some(x) => flat::add(b, y, x, delta).or_raise(),
        None => {
            flat::width(b).or_raise();
            flat::skip(b)
        }
    };
    if let Some(b) = call.bytea_in_place(0) {
        update(b, &mut delta);
        return call.datum(0);
    }
    let mut b = if call.is_null(0) {
        match &row {
            Some(x) => flat::new(x.len()),
            // A state needs its width: a first row without one leaves the state NULL.
            None => return call.null(),
        }
    } else {
        call.bytes(0).to_vec()
    };
    update(&mut b, &mut delta);
    call.bytea_result(&b)
}

/// combinefunc(bytea, bytea) -> bytea of `linear_partial` (and sfunc of `linear_merge`).
pub fn partial_combine(call: &Call) -> pg_sys::Datum {
    let other = call.bytes(1).to_vec();
    if let Some(b) = call.bytea_in_place(0) {
        flat::merge(b, &other).or_raise();
        return call.datum(0);
    }
    let mut b = call.bytes(0).to_vec();
    flat::merge(&mut b, &other).or_raise();
    call.bytea_result(&b)
}

/// The least-squares fit of a `linear_partial` (or `linear_merge`) state: linear_fit's jsonb.
#[pg_extern(immutable, parallel_safe)]
fn linear_fit_state(state: &[u8]) -> Option<pgrx::JsonB> {
    let (stats, skipped) = flat::stats(state).or_raise();
    fit_json(&stats, skipped).map(pgrx::JsonB)
}

extension_sql!(
    r#"
CREATE FUNCTION shopml._prep_stats_trans(internal, bytea, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_trans' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._prep_stats_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._prep_stats_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._prep_stats_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._prep_stats_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_prep_stats_final' LANGUAGE C PARALLEL SAFE;
CREATE AGGREGATE shopml._prep_stats(bytea, VARIADIC "any") (
    SFUNC = shopml._prep_stats_trans, STYPE = internal,
    COMBINEFUNC = shopml._prep_stats_combine,
    SERIALFUNC = shopml._prep_stats_serialize, DESERIALFUNC = shopml._prep_stats_deserialize,
    FINALFUNC = shopml._prep_stats_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml._prep_stats(bytea, VARIADIC "any") IS
  'Internal: learns train_linear''s feature preparation (fills, centres, scales, categories) from the training rows in one parallel scan.';

CREATE FUNCTION shopml._linear_stats_trans(internal, bytea, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_trans' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._linear_stats_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._linear_stats_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._linear_stats_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._linear_stats_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_final' LANGUAGE C PARALLEL SAFE;
CREATE AGGREGATE shopml._linear_stats(bytea, VARIADIC "any") (
    SFUNC = shopml._linear_stats_trans, STYPE = internal,
    COMBINEFUNC = shopml._linear_stats_combine,
    SERIALFUNC = shopml._linear_stats_serialize, DESERIALFUNC = shopml._linear_stats_deserialize,
    FINALFUNC = shopml._linear_stats_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml._linear_stats(bytea, VARIADIC "any") IS
  'Internal: one-pass sufficient statistics (train/test split, MAE sample) that train_linear scans with.';

CREATE FUNCTION shopml._linear_fit_trans(internal, float8, float8[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_trans' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._linear_fit_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._linear_fit_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._linear_fit_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._linear_fit_final(internal) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'shopml_linear_fit_final' LANGUAGE C PARALLEL SAFE;
CREATE AGGREGATE shopml.linear_fit(y float8, x float8[]) (
    SFUNC = shopml._linear_fit_trans, STYPE = internal,
    COMBINEFUNC = shopml._linear_fit_combine,
    SERIALFUNC = shopml._linear_fit_serialize, DESERIALFUNC = shopml._linear_fit_deserialize,
    FINALFUNC = shopml._linear_fit_final,
    PARALLEL = SAFE
);
CREATE FUNCTION shopml._linear_partial_trans(bytea, float8, float8[]) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_partial_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION shopml._linear_partial_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_partial_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE shopml.linear_partial(y float8, x float8[]) (
    SFUNC = shopml._linear_partial_trans, STYPE = bytea,
    COMBINEFUNC = shopml._linear_partial_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml.linear_partial(float8, float8[]) IS
  'The statistics linear_fit computes, as a bytea state (count, means, co-moments; a few KB, whatever the row count) that can be merged with shopml.linear_merge and fitted with shopml.linear_fit_state: for tables split across servers (its state is a value with a combine function, as Citus needs to run it on workers; postgres_fdw ships it with extensions ''shopml'').';
CREATE AGGREGATE shopml.linear_merge(bytea) (
    SFUNC = shopml._linear_partial_combine, STYPE = bytea,
    COMBINEFUNC = shopml._linear_partial_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml.linear_merge(bytea) IS
  'Adds shopml.linear_partial states (from shards, groups or servers) into one state; XX001 for a damaged state or one of a newer format.';

COMMENT ON AGGREGATE shopml.linear_fit(float8, float8[]) IS
  'Least-squares fit of y on x (with intercept) in one pass, parallel and GROUP BY friendly: jsonb {coefficients, intercept, std_errors, t_stats, p_values, r2, n, skipped, aliased}. Rows with a NULL or NaN are skipped and counted; collinear columns are aliased (NULL coefficient).';
"#,
    name = "linear_aggregates",
    requires = ["catalog"],
);

// ---------------------------------------------------------------------------------------------
// train_linear
// ---------------------------------------------------------------------------------------------

/// Features passed one per argument up to this many; beyond, as one ROW(...) argument (a
/// function takes at most 100 arguments).
const MAX_ARGUMENTS: usize = 90;

fn metrics_json(m: &SplitMetrics) -> Value {
    json!({"n": m.n, "r2": num(m.r2), "rmse": num(m.rmse), "mae": num(m.mae)})
}

/// The aggregate call's key, target and feature arguments, and the plan it needs.
pub(crate) struct ScanArgs {
    pub(crate) keys: KeyMode,
    pub(crate) key_expr: String,
    pub(crate) inputs: String,
    pub(crate) plan: Plan,
}

pub(crate) fn scan_args(rel: &Relation, split: &Split, feats: &[Column]) -> Result<ScanArgs> {
    let (keys, key_expr, plan) = match &split.split_column {
        Some(c) => (KeyMode::Column, rel.column(c)?.ident(), Plan::Parallel),
        None if rel.is_table => (KeyMode::Tid, "ctid".to_string(), Plan::Parallel),
        None => (KeyMode::Position, "NULL::int8".to_string(), Plan::Serial),
    };
    let cols: Vec<String> = feats.iter().map(|f| f.ident()).collect();
    let inputs = if cols.len() > MAX_ARGUMENTS {
        format!("ROW({})", cols.join(", "))
    } else {
        cols.join(", ")
    };
    Ok(ScanArgs {
        keys,
        key_expr,
        inputs,
        plan,
    })
}

/// The preparation of a linear model, learnt from the training rows in one parallel scan
/// (none when it has nothing to learn: numbers used as they are). Text columns with more than
/// `max_categories` values are refused: a linear model solves dense normal equations, so the
/// hashing trick's sparse space is for train_logistic.
#[allow(clippy::too_many_arguments)]
pub(crate) fn learn_prep(
    rel: &Relation,
    y_expr: &str,
    feats: &[Column],
    p: &PrepOptions,
    split: &Split,
    args: &ScanArgs,
    training: &ScanTraining,
    shards: &[Shard],
) -> Result<Prep> {
    let kinds: Vec<ColumnKind> = feats.iter().filter_map(|f| f.kind()).collect();
    let names: Vec<String> = feats.iter().map(|f| f.name.clone()).collect();
    if !p.standardize && p.impute == Impute::Skip && kinds.iter().all(|k| *k == ColumnKind::Numeric)
    {
        return Ok(Prep::identity(&names));
    }
    let config = ScanConfig {
        split: split.clone(),
        keys: args.keys,
        skip_missing: p.impute == Impute::Skip,
        prep: None,
        learner: Some(PrepLearner::new(names, kinds, p)),
        n_inputs: feats.len(),
        training: Some(training.clone()),
        mae_sample: false,
        logistic: None,
        cv_folds: 0,
    };
    let query = |from: &str, label: &str| {
        format!(
            "SELECT shopml._prep_stats($1, {}, {y_expr}, {}), {label} FROM {from}",
            args.key_expr, args.inputs,
        )
    };
    let cfg = aggregate::encode(&config);
    let mut learnt: Option<PrepLearner> = None;
    scan_parts(
        shards,
        rel,
        query,
        &[Param::Bytea(&cfg)],
        args.plan,
        |cells| {
            if let Cell::Bytes(b) = cells[0] {
                let part = aggregate::decode_partial::<PrepState>(b)?.learner;
                match &mut learnt {
                    Some(l) => l.merge(&part),
                    None => learnt = Some(part),
                }
            }
            Ok(())
        },
    )?;
    let prep = match learnt {
        Some(l) => l.finish()?,
        None => config.learner.as_ref().expect("set above").finish()?,
    };
    Ok(prep)
}

/// 22023 when the preparation hashes a text feature (more than max_categories values): the
/// trainers that solve dense systems one-hot encode only.
pub(crate) fn refuse_hashed(
    prep: &Prep,
    rel: &Relation,
    max_categories: usize,
    hint: &str,
) -> Result<()> {
    if let Some(i) = prep
        .inputs
        .iter()
        .find(|i| matches!(i.encoding, Encoding::Hashed))
    {
        return Err(Error::invalid(format!(
            "text feature \"{}\" of {} has more than max_categories = {max_categories} distinct values",
            i.name, rel.sql_name
        ))
        .with_hint(hint.to_string()));
    }
    Ok(())
}

pub(crate) fn train_linear_inner(
    req: Request,
    target: Option<&str>,
    features: FeatureList,
) -> Result<TrainerRow> {
    let opts = LinearOptions::parse(req.options.as_ref())?;
    let mut progress = Progress::new(req.model_name);
    let setup = LinearSetup::new(&req, target, features, &opts, &progress)?;
    progress.stage("accumulating statistics", None);
    let accs = setup.scan(&req, &opts, 0)?;
    let accs: Vec<(Option<String>, SplitAccumulator)> =
        accs.into_iter().map(|(k, a, _)| (k, a)).collect();
    progress.stage("fitting", None);
    save_linear(&req, &setup, &opts, &accs, Map::new())
}

/// What a linear training reads, learnt before its statistics: the target, the group column,
/// the features and the preparation.
pub(crate) struct LinearSetup {
    pub(crate) target: String,
    y: Column,
    group: Option<Column>,
    feats: crate::train::relation::Features,
    args: ScanArgs,
    training: ScanTraining,
    shards: Vec<Shard>,
    pub(crate) prep: Prep,
}

impl LinearSetup {
    /// Opens the columns and learns the preparation (a scan unless it has nothing to learn).
    pub(crate) fn new(
        req: &Request,
        target: Option<&str>,
        features: FeatureList,
        opts: &LinearOptions,
        progress: &Progress,
    ) -> Result<LinearSetup> {
        let (model_name, rel, target) = (req.model_name, &req.rel, required(target, "target")?);
        let y = rel.numeric_column(target, "target")?.clone();
        let group = match &opts.group_by {
            Some(g) => Some(rel.column(g)?.clone()),
            None => None,
        };
        let split = &opts.pipeline.split;
        let group_column: Vec<&str> = opts.group_by.as_deref().into_iter().collect();
        let feats = rel.target_features(features, target, &group_column, &opts.pipeline)?;
        feats.notice_keys(model_name);
        let args = scan_args(rel, split, &feats.columns)?;
        let training = ScanTraining {
            model_name: model_name.to_string(),
            started_ms: progress.started_ms(),
            serial: args.plan == Plan::Serial,
        };
        let shards = rel.shards(model_name)?;
        let prep = learn_prep(
            rel,
            &y.ident(),
            &feats.columns,
            &opts.prep,
            split,
            &args,
            &training,
            &shards,
        )?;
        refuse_hashed(&prep, rel, opts.prep.max_categories, "Raise max_categories to one-hot encode more values, group rare values in a view, or use train_logistic, whose hashing trick handles any number of values.")?;
        Ok(LinearSetup {
            target: target.to_string(),
            y,
            group,
            feats,
            args,
            training,
            shards,
            prep,
        })
    }

    /// The statistics per group (and per fold with `cv_folds` > 0) in one scan.
    pub(crate) fn scan(
        &self,
        req: &Request,
        opts: &LinearOptions,
        cv_folds: u32,
    ) -> Result<Vec<GroupStats>> {
        let scan = GroupScan {
            y: &self.y,
            group: self.group.as_ref(),
            feats: &self.feats.columns,
            args: &self.args,
            training: self.training.clone(),
            shards: &self.shards,
            filter: None,
        };
        let split = &opts.pipeline.split;
        scan_groups_folds(req.model_name, &req.rel, &self.prep, split, &scan, cv_folds)
    }
}

/// Fits and stores the linear model of the statistics `accs` (per group), its metrics
/// extended by `extra`.
pub(crate) fn save_linear(
    req: &Request,
    setup: &LinearSetup,
    opts: &LinearOptions,
    accs: &[(Option<String>, SplitAccumulator)],
    extra: Map<String, Value>,
) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    let split = &opts.pipeline.split;
    let fit_opts = FitOptions {
        l2: opts.l2,
        fit_intercept: opts.fit_intercept,
    };
    let stats: Vec<(Option<String>, &LinearStats, u64)> = accs
        .iter()
        .map(|(k, a)| (k.clone(), &a.train, a.test.n()))
        .collect();
    let skipped: u64 = accs.iter().map(|(_, a)| a.skipped).sum();
    let groups = fit_groups(
        model_name,
        rel,
        opts.group_by.as_deref(),
        &stats,
        &fit_opts,
        skipped,
    )?;
    let prep = setup.prep.clone();
    let (metrics, (n_train, n_test)) =
        group_metrics(&groups, accs, &prep, opts.group_by.is_some(), extra);
    let bundle = LinearBundle {
        target: setup.target.clone(),
        features: prep.dense_names(),
        group_by: opts.group_by.clone(),
        groups,
        prep,
        stats: accs.iter().map(|(_, a)| a.train.clone()).collect(),
    };
    let params = json!({
        "l2": opts.l2,
        "fit_intercept": opts.fit_intercept,
        "test_fraction": split.test_fraction,
        "split_column": split.split_column,
        "split_seed": split.split_seed,
        "group_by": opts.group_by,
        "preparation": bundle.prep.describe(),
    });
    let deploy = opts.pipeline.deploy;
    let outcome = Outcome::new(params, metrics, (n_train, n_test), deploy);
    req.save(&bundle, Some(&setup.target), setup.feats.names(), outcome)
}

/// What one `_linear_stats` scan of a relation reads: the target, the group column, the
/// feature columns and how they are passed.
pub(crate) struct GroupScan<'a> {
    pub y: &'a Column,
    pub group: Option<&'a Column>,
    pub feats: &'a [Column],
    pub args: &'a ScanArgs,
    pub training: ScanTraining,
    pub shards: &'a [Shard],
    /// A condition on the rows (an update's window), or None for every row.
    pub filter: Option<&'a str>,
}

/// The statistics of the training and held-out rows of `rel` per group value (groups in byte
/// order), the rows prepared by `prep`; 22000 when no row is usable.
pub(crate) fn scan_groups(
    model_name: &str,
    rel: &Relation,
    prep: &Prep,
    split: &Split,
    scan: &GroupScan,
) -> Result<Vec<(Option<String>, SplitAccumulator)>> {
    let accs = scan_groups_folds(model_name, rel, prep, split, scan, 0)?;
    Ok(accs.into_iter().map(|(k, a, _)| (k, a)).collect())
}

/// A group's statistics: its training and held-out rows', and each fold's (with folds).
pub(crate) type GroupStats = (Option<String>, SplitAccumulator, Vec<LinearStats>);

/// [`scan_groups`], also keeping the statistics of `cv_folds` hashed folds of the rows by
/// their split keys (0: none; the rows then all go to the folds, none to the two sides).
pub(crate) fn scan_groups_folds(
    model_name: &str,
    rel: &Relation,
    prep: &Prep,
    split: &Split,
    scan: &GroupScan,
    cv_folds: u32,
) -> Result<Vec<GroupStats>> {
    let GroupScan {
        y,
        group,
        feats,
        args,
        shards,
        filter,
        ..
    } = scan;
    let group_expr = group
        .map(|g| format!("({})::text", g.ident()))
        .unwrap_or_else(|| "NULL::text".into());
    let config = ScanConfig {
        split: split.clone(),
        keys: args.keys,
        skip_missing: prep.impute == Impute::Skip,
        prep: Some(prep.clone()),
        learner: None,
        n_inputs: feats.len(),
        training: Some(scan.training.clone()),
        // A sharded scan ships statistics only: the MAE's row sample stays behind.
        mae_sample: shards.is_empty() && cv_folds == 0,
        logistic: None,
        cv_folds,
    };
    let query = |from: &str, label: &str| {
        format!(
            "SELECT {group_expr}, shopml._linear_stats($1, {}, {}, {}), {label} FROM {from} {}",
            args.key_expr,
            y.ident(),
            args.inputs,
            if group.is_some() { "GROUP BY 1" } else { "" }
        )
    };
    let cfg = aggregate::encode(&config);
    let mut accs: Vec<GroupStats> = Vec::new();
    scan_parts_where(
        shards,
        rel,
        *filter,
        query,
        &[Param::Bytea(&cfg)],
        args.plan,
        |cells| {
            if let Cell::Bytes(b) = cells[1] {
                let key = cells[0].category().map(|k| k.into_owned());
                let part = aggregate::decode_partial::<StatsState>(b)?;
                // A group's partial states from several shards are summed.
                match accs.iter_mut().find(|(k, _, _)| *k == key) {
                    Some((_, acc, folds)) => {
                        acc.merge(&part.acc);
                        for (a, b) in folds.iter_mut().zip(&part.folds) {
                            a.merge(b);
                        }
                    }
                    None => accs.push((key, part.acc, part.folds)),
                }
            }
            Ok(())
        },
    )?;
    // Groups in byte order (the model looks them up so), whatever the database's collation.
    accs.sort_by(|a, b| a.0.cmp(&b.0));
    let skipped: u64 = accs.iter().map(|(_, a, _)| a.skipped).sum();
    let total_train: u64 = accs
        .iter()
        .map(|(_, a, f)| a.train.n() + f.iter().map(LinearStats::n).sum::<u64>())
        .sum();
    if accs.is_empty() || total_train == 0 {
        return Err(Error::data(format!(
            "no usable rows to train \"{model_name}\" on {}",
            rel.sql_name
        ))
        .with_detail(format!(
            "{skipped} rows skipped for NULL, NaN or infinite values; 0 usable rows."
        )));
    }
    Ok(accs)
}

/// Fits one model per group from its training statistics (with the held-out count, and the
/// rows skipped, for the error's detail); errors name the group, the model and the relation.
pub(crate) fn fit_groups(
    model_name: &str,
    rel: &Relation,
    group_by: Option<&str>,
    stats: &[(Option<String>, &LinearStats, u64)],
    fit_opts: &FitOptions,
    skipped: u64,
) -> Result<Vec<(Option<String>, LinearModel)>> {
    let mut groups = Vec::with_capacity(stats.len());
    for (key, train, held_out) in stats {
        let m = fit(train, fit_opts).map_err(|mut e| {
            if let Some(k) = key {
                e.message = format!("{} (group {} = {k})", e.message, group_by.unwrap_or(""));
            }
            if e.kind == ErrorKind::DataException {
                e.message = format!(
                    "cannot train \"{model_name}\" on {}: {}",
                    rel.sql_name, e.message
                );
                e.detail = Some(format!(
                    "{}; {held_out} rows held out for testing, {skipped} rows skipped for NULL, NaN or infinite values.",
                    e.detail.unwrap_or_default(),
                ));
            }
            e
        })?;
        groups.push((key.clone(), m));
    }
    Ok(groups)
}

/// The metrics of fitted groups on the rows of `accs` (groups matched by key; groups without
/// rows there count nothing): headline r2/rmse/mae (held-out when there are held-out rows),
/// `train` and `test`, skipped rows, groups and aliased features, added to `extra`; and
/// (n_train, n_test).
pub(crate) fn group_metrics(
    groups: &[(Option<String>, LinearModel)],
    accs: &[(Option<String>, SplitAccumulator)],
    prep: &Prep,
    grouped: bool,
    mut metrics: Map<String, Value>,
) -> (Value, (i64, i64)) {
    let parts: Vec<(&LinearModel, &SplitAccumulator)> = accs
        .iter()
        .filter_map(|(k, a)| {
            let m = groups.iter().find(|(g, _)| g == k)?;
            Some((&m.1, a))
        })
        .collect();
    let (train_m, test_m) = evaluate(&parts);
    let n_train = train_m.as_ref().map(|m| m.n).unwrap_or(0) as i64;
    let n_test = test_m.as_ref().map(|m| m.n).unwrap_or(0) as i64;
    let headline = test_m.as_ref().or(train_m.as_ref());
    if let Some(h) = headline {
        metrics.insert("r2".into(), num(h.r2));
        metrics.insert("rmse".into(), num(h.rmse));
        metrics.insert("mae".into(), num(h.mae));
    }
    metrics.insert(
        "train".into(),
        train_m.as_ref().map(metrics_json).unwrap_or(Value::Null),
    );
    metrics.insert(
        "test".into(),
        test_m.as_ref().map(metrics_json).unwrap_or(Value::Null),
    );
    let skipped: u64 = accs.iter().map(|(_, a)| a.skipped).sum();
    metrics.insert("skipped_rows".into(), json!(skipped));
    if groups.len() > 1 || grouped {
        metrics.insert("groups".into(), json!(groups.len()));
    }
    let dense_names = prep.dense_names();
    let aliased: Vec<&str> = dense_names
        .iter()
        .enumerate()
        .filter(|(j, _)| groups.iter().any(|(_, m)| m.coefficients[*j].is_none()))
        .map(|(_, f)| f.as_str())
        .collect();
    if !aliased.is_empty() {
        metrics.insert("aliased".into(), json!(aliased));
    }
    (Value::Object(metrics), (n_train, n_test))
}

train::supervised_trainer! {
    /// Trains a linear (OLS or ridge) regression on a table or view in place.
    train_linear => train_linear_inner
}

type CoefficientRow = (
    Option<String>,
    String,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

fn coefficient_rows(model_name: Option<&str>, version: Option<i32>) -> Result<Vec<CoefficientRow>> {
    let model_name = required(model_name, "model_name")?;
    let m = cache::version(model_name, version)?;
    if let Some(l) = m.as_any().downcast_ref::<LogisticModel>() {
        return Ok(logistic_coefficient_rows(l));
    }
    if let Some(l) = m.as_any().downcast_ref::<MultinomialModel>() {
        return Ok(multinomial_coefficient_rows(l));
    }
    let b = shopml_core::model::downcast::<LinearBundle>(m.as_ref(), model_name).map_err(|e| {
        e.with_hint("shopml.coefficients serves linear and logistic models; shopml.feature_importance serves every kind.")
    })?;
    let mut rows = Vec::new();
    for (key, m) in &b.groups {
        if m.fit_intercept {
            rows.push((
                key.clone(),
                "(intercept)".to_string(),
                Some(m.intercept),
                m.intercept_std_error,
                m.intercept_t_stat,
                m.intercept_p_value,
                None,
            ));
        }
        for (j, f) in b.features.iter().enumerate() {
            rows.push((
                key.clone(),
                f.clone(),
                m.coefficients[j],
                m.std_errors[j],
                m.t_stats[j],
                m.p_values[j],
                None,
            ));
        }
    }
    Ok(rows)
}

/// A logistic model's intercept and dense coefficients with their Fisher standard errors,
/// Wald z, two-sided normal p-value and odds ratio (standard errors NULL when the model has
/// none: OWL-QN fits, models stored by an older shopml, format 2).
fn logistic_coefficient_rows(m: &LogisticModel) -> Vec<CoefficientRow> {
    let names = std::iter::once("(intercept)".to_string()).chain(m.prep.dense_names());
    let coefs = std::iter::once(m.intercept).chain(m.dense.iter().copied());
    names
        .zip(coefs)
        .enumerate()
        .map(|(k, (name, c))| {
            let se = m
                .std_errors
                .get(k)
                .copied()
                .filter(|v| v.is_finite() && *v > 0.0);
            let z = se.map(|s| c / s);
            let p = z.map(shopml_core::math::distributions::normal_two_sided_p);
            (None, name, Some(c), se, z, p, Some(c.exp()))
        })
        .collect()
}

/// A multinomial model's coefficients, one group per class (`group_key` the label): the
/// symmetric softmax's, summing to 0 over the classes, so the difference of two classes'
/// coefficients is the log odds ratio between them (no standard errors or odds ratios).
fn multinomial_coefficient_rows(m: &MultinomialModel) -> Vec<CoefficientRow> {
    let names = m.prep.dense_names();
    let mut rows = Vec::new();
    for (c, label) in m.labels.iter().enumerate() {
        let row =
            |name: String, v: f64| (Some(label.clone()), name, Some(v), None, None, None, None);
        rows.push(row("(intercept)".to_string(), m.intercepts[c]));
        for (name, v) in names.iter().zip(m.class_coefficients(c)) {
            rows.push(row(name.clone(), *v));
        }
    }
    rows
}

table_function! {
    /// Coefficients with standard errors, t (or z) statistics, p-values and odds ratios.
    [stable, parallel_safe] fn coefficients(
        model_name: [Option<&str>],
        version: [default!(Option<i32>, "NULL")],
    ) -> (
        group_key: [Option<String>], feature: [String], coefficient: [Option<f64>],
        std_error: [Option<f64>], t_stat: [Option<f64>], p_value: [Option<f64>],
        odds_ratio: [Option<f64>],
    ) = coefficient_rows
}
