//! SQL surface of linear regression: `train_linear`, `coefficients`, the `linear_fit`
//! aggregate and the internal `_linear_stats` aggregate `train_linear` scans with.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use shopml_core::linear::{
    evaluate, fit, FitOptions, LinearBundle, LinearModel, LinearStats, SplitAccumulator,
    SplitMetrics, ALGORITHM,
};
use shopml_core::options::LinearOptions;
use shopml_core::prep::{Encoding, Impute, Input, Kind, Prep, PrepOptions};
use shopml_core::{envelope, Error, ErrorKind};

use crate::aggregate::{self, AggState};
use crate::catalog::{self, NewModel, Trained};
use crate::error::{raise, required, OrRaise};
use crate::relation::{relation_oid, Column, Relation};
use crate::v1_function;
use pgrx::spi::quote_literal;

// ---------------------------------------------------------------------------------------------
// _linear_stats(test_fraction float8, split_hash int8, VARIADIC "any" (y, x1..xp)) -> bytea
//
// Features arrive as separate float8 arguments (no array is built per row). The state splits
// rows into train and test by hash and counts rows skipped for NULL/NaN/infinite values.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Serialize, Deserialize)]
struct StatsState {
    acc: SplitAccumulator,
    #[serde(skip)]
    x: Vec<f64>,
}

impl AggState for StatsState {
    fn merge(&mut self, other: &Self) {
        self.acc.merge(&other.acc);
    }
}

v1_function!(pg_finfo_shopml_linear_stats_trans);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_stats_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let a = aggregate::args(fcinfo);
        // args: state, test_fraction, split_hash, y, x1..xp
        let p = a.len().saturating_sub(4);
        let st = match aggregate::state::<StatsState>(a, 0) {
            Some(s) => s,
            None => {
                let ctx = aggregate::agg_context(fcinfo);
                let flinfo = (*fcinfo).flinfo;
                for i in 1..a.len() {
                    let want = if i == 2 {
                        pg_sys::INT8OID
                    } else {
                        pg_sys::FLOAT8OID
                    };
                    if pg_sys::get_fn_expr_argtype(flinfo, i as i32) != want {
                        raise(Error::new(
                            ErrorKind::DatatypeMismatch,
                            "shopml._linear_stats takes (float8, int8, float8, float8...)",
                        ));
                    }
                }
                if p == 0 {
                    raise(Error::invalid(
                        "shopml._linear_stats needs at least one feature",
                    ));
                }
                let tf = if a[1].isnull {
                    0.0
                } else {
                    f64::from_bits(a[1].value.value() as u64)
                };
                let s = StatsState {
                    acc: SplitAccumulator::new(p, tf),
                    x: vec![0.0; p],
                };
                let d = aggregate::store(ctx, s);
                &mut *d.cast_mut_ptr::<StatsState>()
            }
        };
        if st.x.len() != p {
            st.x = vec![0.0; p];
        }
        let mut ok = !a[3].isnull;
        let y = f64::from_bits(a[3].value.value() as u64);
        ok &= y.is_finite();
        if ok {
            for j in 0..p {
                let nd = a[4 + j];
                let v = f64::from_bits(nd.value.value() as u64);
                if nd.isnull || !v.is_finite() {
                    ok = false;
                    break;
                }
                st.x[j] = v;
            }
        }
        if ok {
            let split = if a[2].isnull {
                None
            } else {
                Some(a[2].value.value() as u64)
            };
            let StatsState { acc, x } = st;
            acc.add(split, y, x);
        } else {
            st.acc.skipped += 1;
        }
        pg_sys::Datum::from(st as *mut StatsState)
    }
}

v1_function!(pg_finfo_shopml_linear_stats_combine);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_stats_combine(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { aggregate::combine::<StatsState>(fcinfo) }
}

v1_function!(pg_finfo_shopml_linear_stats_serialize);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_stats_serialize(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { aggregate::serialize::<StatsState>(fcinfo) }
}

v1_function!(pg_finfo_shopml_linear_stats_deserialize);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_stats_deserialize(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { aggregate::deserialize::<StatsState>(fcinfo) }
}

// The final function hands the whole state to train_linear, which fits and evaluates it.
v1_function!(pg_finfo_shopml_linear_stats_final);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_stats_final(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { aggregate::serialize::<StatsState>(fcinfo) }
}

// ---------------------------------------------------------------------------------------------
// linear_fit(y float8, x float8[]) -> jsonb: the user-facing aggregate.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Serialize, Deserialize)]
struct FitState {
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

/// A float8[] argument's elements; `None` when the array holds a NULL.
pub unsafe fn float8_array<'a>(d: pg_sys::Datum) -> Option<&'a [f64]> {
    unsafe {
        let v = pg_sys::pg_detoast_datum(d.cast_mut_ptr());
        let arr = pgrx::array::RawArray::from_ptr(std::ptr::NonNull::new_unchecked(v.cast()));
        if arr.oid() != pg_sys::FLOAT8OID {
            raise(Error::new(
                ErrorKind::DatatypeMismatch,
                "expected a float8[] array",
            ));
        }
        if arr.dims().len() > 1 {
            raise(Error::invalid("expected a one-dimensional array"));
        }
        if arr.any_nulls() {
            return None;
        }
        let mut arr = arr;
        let data = arr.data::<f64>();
        Some(&*data.as_ptr())
    }
}

v1_function!(pg_finfo_shopml_linear_fit_trans);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_fit_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let a = aggregate::args(fcinfo);
        let st = match aggregate::state::<FitState>(a, 0) {
            Some(s) => s,
            None => {
                let ctx = aggregate::agg_context(fcinfo);
                let d = aggregate::store(
                    ctx,
                    FitState {
                        stats: None,
                        skipped: 0,
                    },
                );
                &mut *d.cast_mut_ptr::<FitState>()
            }
        };
        let x = if a[2].isnull {
            None
        } else {
            float8_array(a[2].value)
        };
        let y = f64::from_bits(a[1].value.value() as u64);
        match x {
            Some(x) if !a[1].isnull && y.is_finite() && x.iter().all(|v| v.is_finite()) => {
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
        pg_sys::Datum::from(st as *mut FitState)
    }
}

v1_function!(pg_finfo_shopml_linear_fit_combine);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_fit_combine(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { aggregate::combine::<FitState>(fcinfo) }
}

v1_function!(pg_finfo_shopml_linear_fit_serialize);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_fit_serialize(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { aggregate::serialize::<FitState>(fcinfo) }
}

v1_function!(pg_finfo_shopml_linear_fit_deserialize);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_fit_deserialize(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { aggregate::deserialize::<FitState>(fcinfo) }
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

v1_function!(pg_finfo_shopml_linear_fit_final);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_linear_fit_final(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let a = aggregate::args(fcinfo);
        let Some(st) = aggregate::state::<FitState>(a, 0) else {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        };
        let Some(stats) = &st.stats else {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        };
        let m = match fit(stats, &FitOptions::default()) {
            Ok(m) => m,
            Err(e) if e.kind == ErrorKind::DataException => {
                // Too few rows in this group: a NULL result, like regr_slope.
                return pgrx::fcinfo::pg_return_null(fcinfo);
            }
            Err(e) => raise(e),
        };
        let out = json!({
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
            "skipped": st.skipped,
            "aliased": m.coefficients.iter().enumerate().filter(|(_, c)| c.is_none()).map(|(i, _)| i + 1).collect::<Vec<_>>(),
        });
        JsonB(out)
            .into_datum()
            .unwrap_or_else(|| pgrx::fcinfo::pg_return_null(fcinfo))
    }
}

extension_sql!(
    r#"
CREATE FUNCTION shopml._linear_stats_trans(internal, float8, int8, VARIADIC "any") RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_trans' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._linear_stats_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION shopml._linear_stats_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_serialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._linear_stats_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_deserialize' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION shopml._linear_stats_final(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'shopml_linear_stats_final' LANGUAGE C PARALLEL SAFE;
CREATE AGGREGATE shopml._linear_stats(float8, int8, VARIADIC "any") (
    SFUNC = shopml._linear_stats_trans, STYPE = internal,
    COMBINEFUNC = shopml._linear_stats_combine,
    SERIALFUNC = shopml._linear_stats_serialize, DESERIALFUNC = shopml._linear_stats_deserialize,
    FINALFUNC = shopml._linear_stats_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE shopml._linear_stats(float8, int8, VARIADIC "any") IS
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
COMMENT ON AGGREGATE shopml.linear_fit(float8, float8[]) IS
  'Least-squares fit of y on x (with intercept) in one pass, parallel and GROUP BY friendly: jsonb {coefficients, intercept, std_errors, t_stats, p_values, r2, n, skipped, aliased}. Rows with a NULL or NaN are skipped and counted; collinear columns are aliased (NULL coefficient).';
"#,
    name = "linear_aggregates",
    requires = ["catalog"],
);

// ---------------------------------------------------------------------------------------------
// train_linear
// ---------------------------------------------------------------------------------------------

fn metrics_json(m: &SplitMetrics) -> Value {
    json!({"n": m.n, "r2": num(m.r2), "rmse": num(m.rmse), "mae": num(m.mae)})
}

/// A float8 as an SQL literal.
fn lit(v: f64) -> String {
    format!("'{v}'::float8")
}

/// The preparation of a linear model, learnt with one aggregate query over the relation (fill
/// values, means and spreads) and one per text column (its distinct values). Text columns
/// with more than `max_categories` values are refused: a linear model solves dense normal
/// equations, so the hashing trick's sparse space is for train_logistic.
fn linear_prep(rel: &Relation, feats: &[Column], opts: &PrepOptions) -> Result<Prep, Error> {
    let plain = !opts.standardize
        && opts.impute == Impute::Skip
        && feats.iter().all(|f| f.kind() == Some(Kind::Numeric));
    let names: Vec<String> = feats.iter().map(|f| f.name.clone()).collect();
    if plain {
        return Ok(Prep::identity(&names));
    }
    // Mean, spread and (for impute median) median of every numeric column, in one scan.
    let numeric: Vec<&Column> = feats
        .iter()
        .filter(|f| f.kind() == Some(Kind::Numeric))
        .collect();
    let mut moments: Vec<(Option<f64>, Option<f64>, Option<f64>)> = Vec::new();
    if !numeric.is_empty() {
        let exprs: Vec<String> = numeric
            .iter()
            .map(|f| {
                let x = f.float_expr();
                format!(
                    "avg({x}), stddev_pop({x}), {}",
                    if opts.impute == Impute::Median {
                        format!("percentile_cont(0.5) WITHIN GROUP (ORDER BY {x})")
                    } else {
                        "NULL::float8".into()
                    }
                )
            })
            .collect();
        let q = format!("SELECT {} FROM {}", exprs.join(", "), rel.sql_name);
        moments = Spi::connect(|c| {
            let row = c.select(&q, Some(1), &[]).or_raise().first();
            (0..numeric.len())
                .map(|j| {
                    (
                        row.get(3 * j + 1).or_raise(),
                        row.get(3 * j + 2).or_raise(),
                        row.get(3 * j + 3).or_raise(),
                    )
                })
                .collect()
        });
    }
    let mut moments = moments.into_iter();
    let mut inputs = Vec::with_capacity(feats.len());
    let mut offset = 0usize;
    for f in feats {
        if f.kind() == Some(Kind::Numeric) {
            let (mean, sd, median) = moments.next().expect("one triple per numeric column");
            let fill = match opts.impute {
                Impute::Skip => f64::NAN,
                Impute::Zero => 0.0,
                Impute::Mean => mean.unwrap_or(0.0),
                Impute::Median => median.unwrap_or(0.0),
            };
            let (center, scale) = if opts.standardize {
                let sd = sd.unwrap_or(0.0);
                (mean.unwrap_or(0.0), if sd > 0.0 { sd } else { 1.0 })
            } else {
                (0.0, 1.0)
            };
            inputs.push(Input {
                name: f.name.clone(),
                encoding: Encoding::Numeric {
                    fill,
                    center,
                    scale,
                },
            });
            offset += 1;
        } else {
            let q = format!(
                "SELECT DISTINCT ({})::text FROM {} WHERE {} IS NOT NULL LIMIT {}",
                f.ident(),
                rel.sql_name,
                f.ident(),
                opts.max_categories + 1
            );
            let mut categories: Vec<String> = Spi::connect(|c| {
                c.select(&q, None, &[])
                    .or_raise()
                    .filter_map(|r| r.get::<String>(1).or_raise())
                    .collect()
            });
            if categories.len() > opts.max_categories {
                return Err(Error::invalid(format!(
                    "text feature \"{}\" of {} has more than max_categories = {} distinct values",
                    f.name, rel.sql_name, opts.max_categories
                ))
                .with_hint("Raise max_categories to one-hot encode more values, group rare values in a view, or use train_logistic, whose hashing trick handles any number of values."));
            }
            categories.sort();
            let k = categories.len();
            inputs.push(Input {
                name: f.name.clone(),
                encoding: Encoding::OneHot { categories, offset },
            });
            offset += k;
        }
    }
    Ok(Prep {
        inputs,
        impute: opts.impute,
        standardize: opts.standardize,
        dense_width: offset,
        hash_buckets: 0,
    })
}

/// The SQL expressions of a preparation's dense outputs, for the fitting aggregate.
fn prep_exprs(prep: &Prep, feats: &[Column]) -> Vec<String> {
    let mut out = Vec::with_capacity(prep.dense_width);
    for (input, f) in prep.inputs.iter().zip(feats) {
        match &input.encoding {
            Encoding::Numeric {
                fill,
                center,
                scale,
            } => {
                let mut x = f.float_expr();
                if fill.is_finite() {
                    x = format!("coalesce({x}, {})", lit(*fill));
                }
                if *center != 0.0 || *scale != 1.0 {
                    x = format!("(({x} - {}) / {})", lit(*center), lit(*scale));
                }
                out.push(x);
            }
            Encoding::OneHot { categories, .. } => {
                for c in categories {
                    let eq = format!("(({})::text = {})::int", f.ident(), quote_literal(c));
                    out.push(if prep.impute == Impute::Skip {
                        format!("{eq}::float8")
                    } else {
                        format!("coalesce({eq}, 0)::float8")
                    });
                }
            }
            Encoding::Hashed => unreachable!("linear preparations never hash"),
        }
    }
    out
}

fn train_linear_inner(
    model_name: Option<&str>,
    relation: pg_sys::Oid,
    target: Option<&str>,
    features: Option<Vec<Option<String>>>,
    options: Option<Value>,
) -> Result<Trained, Error> {
    let model_name = required(model_name, "model_name")?;
    catalog::check_name(model_name)?;
    let target = required(target, "target")?;
    let opts = LinearOptions::parse(options.as_ref())?;
    let rel = Relation::open(relation);
    let y = rel.numeric_column(target, "target")?.clone();
    let group = match &opts.group_by {
        Some(g) => Some(rel.column(g)?.clone()),
        None => None,
    };
    let split = match &opts.split_column {
        Some(s) => Some(rel.column(s)?.clone()),
        None => None,
    };
    let mut exclude: Vec<&str> = Vec::new();
    if let Some(g) = &opts.group_by {
        exclude.push(g);
    }
    if let Some(s) = &opts.split_column {
        exclude.push(s);
    }
    let feats = rel.target_features(features, target, &exclude)?;

    let group_expr = group
        .as_ref()
        .map(|g| format!("({})::text", g.ident()))
        .unwrap_or_else(|| "NULL::text".into());
    let split_expr = split
        .as_ref()
        .map(|s| format!("hashtextextended(({})::text, 0)", s.ident()))
        .unwrap_or_else(|| "NULL::int8".into());
    let prep = linear_prep(&rel, &feats, &opts.prep)?;
    let xs = prep_exprs(&prep, &feats);
    let query = format!(
        "SELECT {group_expr}, shopml._linear_stats($1::float8, {split_expr}, {}::float8, {}) FROM {} {}",
        y.ident(),
        xs.join(", "),
        rel.sql_name,
        if group.is_some() { "GROUP BY 1 ORDER BY 1 NULLS FIRST" } else { "" }
    );
    let rows: Vec<(Option<String>, Option<Vec<u8>>)> = Spi::connect(|client| {
        client
            .select(query.as_str(), None, &[opts.test_fraction.into()])
            .or_raise()
            .map(|row| (row.get(1).or_raise(), row.get(2).or_raise()))
            .collect()
    });

    let fit_opts = FitOptions {
        l2: opts.l2,
        fit_intercept: opts.fit_intercept,
    };
    let mut accs: Vec<(Option<String>, SplitAccumulator)> = Vec::new();
    let mut skipped = 0u64;
    for (key, bytes) in rows {
        let Some(bytes) = bytes else { continue };
        let st: StatsState = aggregate::decode(&bytes);
        skipped += st.acc.skipped;
        accs.push((key, st.acc));
    }
    let total_train: u64 = accs.iter().map(|(_, a)| a.train.n()).sum();
    if accs.is_empty() || total_train == 0 {
        return Err(Error::data(format!(
            "no usable rows to train \"{model_name}\" on {}",
            rel.sql_name
        ))
        .with_detail(format!(
            "{skipped} rows skipped for NULL, NaN or infinite values; 0 usable rows."
        )));
    }
    let mut groups: Vec<(Option<String>, LinearModel)> = Vec::with_capacity(accs.len());
    for (key, acc) in &accs {
        let m = fit(&acc.train, &fit_opts).map_err(|mut e| {
            if let Some(k) = key {
                e.message = format!("{} (group {} = {k})", e.message, opts.group_by.as_deref().unwrap_or(""));
            }
            if e.kind == ErrorKind::DataException {
                e.message = format!("cannot train \"{model_name}\" on {}: {}", rel.sql_name, e.message);
                e.detail = Some(format!(
                    "{}; {} rows held out for testing, {skipped} rows skipped for NULL, NaN or infinite values.",
                    e.detail.unwrap_or_default(),
                    acc.test.n()
                ));
            }
            e
        })?;
        groups.push((key.clone(), m));
    }
    let parts: Vec<(&LinearModel, &SplitAccumulator)> = groups
        .iter()
        .zip(&accs)
        .map(|((_, m), (_, a))| (m, a))
        .collect();
    let (train_m, test_m) = evaluate(&parts);
    let n_train = train_m.as_ref().map(|m| m.n).unwrap_or(0) as i64;
    let n_test = test_m.as_ref().map(|m| m.n).unwrap_or(0) as i64;
    let headline = test_m.as_ref().or(train_m.as_ref());
    let mut metrics = Map::new();
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
    metrics.insert("skipped_rows".into(), json!(skipped));
    if groups.len() > 1 || opts.group_by.is_some() {
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
    let bundle = LinearBundle {
        target: target.to_string(),
        features: dense_names.clone(),
        group_by: opts.group_by.clone(),
        groups,
        prep,
    };
    let bytes = envelope::encode(ALGORITHM, &bundle)?;
    let params = json!({
        "l2": opts.l2,
        "fit_intercept": opts.fit_intercept,
        "test_fraction": opts.test_fraction,
        "split_column": opts.split_column,
        "group_by": opts.group_by,
        "preparation": bundle.prep.describe(),
    });
    let metrics = Value::Object(metrics);
    Ok(Trained::save(NewModel {
        model_name,
        algorithm: ALGORITHM,
        task: "regression",
        source: rel.sql_name.clone(),
        target: Some(target.to_string()),
        features: feats.iter().map(|f| f.name.clone()).collect(),
        params,
        metrics,
        n_train,
        n_test,
        bytes,
        deploy: opts.deploy,
    }))
}

/// Trains a linear (OLS or ridge) regression on a table or view in place.
#[pg_extern(volatile, parallel_unsafe)]
#[allow(clippy::type_complexity)]
fn train_linear(
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
    let t = train_linear_inner(model_name, oid, target, features, options.map(|j| j.0)).or_raise();
    TableIterator::once(t.row(model_name))
}

/// Loads a linear model's bundle by name (deployed version unless `version` is given).
pub fn load_bundle(model_name: &str, version: Option<i32>) -> Result<LinearBundle, Error> {
    let id = catalog::resolve(model_name, version)?;
    let bytes = catalog::bytes(id)?;
    shopml_core::linear::decode_bundle(&bytes).map_err(|mut e| {
        e.message = format!("model \"{model_name}\": {}", e.message);
        e
    })
}

/// Coefficients with standard errors, t statistics and p-values.
#[pg_extern(stable, parallel_safe)]
#[allow(clippy::type_complexity)]
fn coefficients(
    model_name: Option<&str>,
    version: default!(Option<i32>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(group_key, Option<String>),
        name!(feature, String),
        name!(coefficient, Option<f64>),
        name!(std_error, Option<f64>),
        name!(t_stat, Option<f64>),
        name!(p_value, Option<f64>),
    ),
> {
    let model_name = required(model_name, "model_name").or_raise();
    let b = load_bundle(model_name, version).or_raise();
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
            ));
        }
    }
    TableIterator::new(rows)
}
