//! `shopml.explain`: one prediction taken apart into a baseline and one contribution per
//! input, through the model protocol's explain hook ([`Model::explain`]), by model name or id,
//! for a table row or a float8[] of features. The call site keeps its model and row mapping
//! like the predict functions (see [`super::predict`]).
//!
//! [`Model::explain`]: shopml_core::model::Model::explain
#![forbid(unsafe_code)]

use pgrx::pg_sys;
use shopml_core::data::cell::Cell;
use shopml_core::data::prep::Encoding;
use shopml_core::model::Explanation;
use shopml_core::Error;

use super::predict::{with_slot_for, By, Purpose, Slot};
use crate::pg::error::{raise, OrRaise};
use crate::pg::fcinfo::{Call, Out};

/// The rows of an explanation: `(baseline)` with the score's scale, then the inputs by
/// decreasing |contribution| (ties in input order), the ones past `top_k` summed in `(other)`.
/// Year, month and day of a day count from 1970-01-01 (the proleptic Gregorian calendar).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A date or timestamp input's value (days since 1970-01-01, UTC for timestamptz) as text.
fn time_text(v: f64, with_hour: bool) -> String {
    let day = v.floor();
    let (y, m, d) = civil(day as i64);
    if !with_hour {
        return format!("{y:04}-{m:02}-{d:02}");
    }
    let us = (((v - day) * 86_400e6).round() as i64).min(86_400_000_000 - 1);
    let (s, frac) = (us / 1_000_000, us % 1_000_000);
    let hms = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02} {hms}")
    } else {
        let f = format!("{frac:06}");
        format!("{y:04}-{m:02}-{d:02} {hms}.{}", f.trim_end_matches('0'))
    }
}

fn rows(
    names: &[String],
    cells: &[Cell],
    times: &[Option<bool>],
    e: &Explanation,
    top_k: Option<usize>,
) -> Vec<Vec<Out>> {
    let mut order: Vec<usize> = (0..e.contributions.len()).collect();
    order.sort_by(|&a, &b| {
        e.contributions[b]
            .abs()
            .total_cmp(&e.contributions[a].abs())
            .then(a.cmp(&b))
    });
    let mut out = vec![vec![
        Out::Text("(baseline)".into()),
        Out::Text(e.scale.clone()),
        Out::Float(e.baseline),
    ]];
    let shown = top_k.unwrap_or(order.len()).min(order.len());
    let time_of = |i: usize| times.get(i).copied().flatten();
    for &i in &order[..shown] {
        let value = match cells.get(i) {
            None | Some(Cell::Null) => Out::Null,
            Some(Cell::Num(v)) if !v.is_finite() && time_of(i).is_some() => Out::Null,
            Some(Cell::Num(v)) => Out::Text(match time_of(i) {
                Some(with_hour) => time_text(*v, with_hour),
                None => v.to_string(),
            }),
            Some(Cell::Int(v)) => Out::Text(v.to_string()),
            Some(Cell::Text(t)) => Out::Text(t.to_string()),
            Some(Cell::Bytes(_)) => Out::Null,
        };
        out.push(vec![
            Out::Text(names[i].clone()),
            value,
            Out::Float(e.contributions[i]),
        ]);
    }
    if shown < order.len() {
        let rest: f64 = order[shown..].iter().map(|&i| e.contributions[i]).sum();
        out.push(vec![
            Out::Text("(other)".into()),
            Out::Null,
            Out::Float(rest),
        ]);
    }
    out
}

/// The `top_k` argument (argument 2): NULL for all inputs, else ≥ 0.
fn top_k(call: &Call) -> Option<usize> {
    if call.is_null(2) {
        return None;
    }
    let k = call.i32(2);
    if k < 0 {
        raise(Error::invalid(format!("top_k must be >= 0, got {k}")));
    }
    Some(k as usize)
}

fn answer(
    call: &Call,
    s: &Slot,
    cells: &[Cell],
    e: Option<Explanation>,
    k: Option<usize>,
) -> pg_sys::Datum {
    // Date and timestamp inputs (Some(with hour)) show as such, not as day counts.
    let times: Vec<Option<bool>> = s
        .model
        .prep()
        .map(|p| {
            p.inputs
                .iter()
                .map(|i| match i.encoding {
                    Encoding::Time { with_hour, .. } => Some(with_hour),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    match e {
        Some(e) => call.table_result(&rows(&s.input_names(), cells, &times, &e, k)),
        None => call.table_result(&[]),
    }
}

/// The model's explanation, computed on the `shopml.threads` pool (TreeSHAP walks the trees
/// of a forest in parallel); Postgres is not touched there.
fn explain_on_pool(s: &Slot, cells: &[Cell], group: Option<Option<&str>>) -> Option<Explanation> {
    let pool = crate::train::pool::get().or_raise();
    let (model, name): (&dyn shopml_core::model::Model, &str) = (&*s.model, s.model_name.as_str());
    pool.install(|| model.explain(name, cells, group))
        .or_raise()
}

/// `explain(model, record, top_k)`.
pub fn row(call: &Call, by: By) -> pg_sys::Datum {
    let k = top_k(call);
    with_slot_for(call, by, Purpose::Explain, |s| {
        if call.is_null(1) {
            return call.table_result(&[]);
        }
        let record = call.record(1);
        let (cells, grouped, group_text) = s.row_cells(call, &record);
        let group = grouped.then_some(group_text.as_deref());
        let e = explain_on_pool(s, &cells, group);
        answer(call, s, &cells, e, k)
    })
}

/// `explain(model, float8[], top_k)`.
pub fn array(call: &Call, by: By) -> pg_sys::Datum {
    let k = top_k(call);
    with_slot_for(call, by, Purpose::Explain, |s| {
        if call.is_null(1) {
            return call.table_result(&[]);
        }
        let Some(x) = call.float8_array(1).or_raise() else {
            return call.table_result(&[]);
        };
        s.check_numbers(x.len()).or_raise();
        let cells: Vec<Cell> = x.iter().map(|v| Cell::Num(*v)).collect();
        let e = explain_on_pool(s, &cells, None);
        answer(call, s, &cells, e, k)
    })
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION shopml.explain(model_name text, "row" record, top_k int DEFAULT NULL)
    RETURNS TABLE(feature text, value text, contribution float8)
    AS 'MODULE_PATHNAME', 'shopml_explain_name_row' LANGUAGE C STABLE PARALLEL SAFE ROWS 12;
CREATE FUNCTION shopml.explain(model_name text, features float8[], top_k int DEFAULT NULL)
    RETURNS TABLE(feature text, value text, contribution float8)
    AS 'MODULE_PATHNAME', 'shopml_explain_name_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 12;
CREATE FUNCTION shopml.explain(model_id bigint, "row" record, top_k int DEFAULT NULL)
    RETURNS TABLE(feature text, value text, contribution float8)
    AS 'MODULE_PATHNAME', 'shopml_explain_id_row' LANGUAGE C STABLE PARALLEL SAFE ROWS 12;
CREATE FUNCTION shopml.explain(model_id bigint, features float8[], top_k int DEFAULT NULL)
    RETURNS TABLE(feature text, value text, contribution float8)
    AS 'MODULE_PATHNAME', 'shopml_explain_id_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 12;
COMMENT ON FUNCTION shopml.explain(text, record, int) IS
  'Why the deployed model predicts what it does for a table row: (baseline) first — the expected score over the training rows, its value column naming the scale (prediction for linear models, log-odds for logistic ones, probability of <label> for forests) — then one row per input, largest |contribution| first: linear and logistic contribution = coefficient x (prepared value - training mean), forests exact path-dependent TreeSHAP; all rows sum to the score exactly. top_k keeps the largest k inputs and sums the rest in (other). No rows when the prediction is NULL.';
COMMENT ON FUNCTION shopml.explain(text, float8[], int) IS
  'shopml.explain for one row of numeric features in model order (see explain(text, record, int)).';
COMMENT ON FUNCTION shopml.explain(bigint, record, int) IS
  'shopml.explain of one specific model version (by model_id, deployed or not) for a table row.';
COMMENT ON FUNCTION shopml.explain(bigint, float8[], int) IS
  'shopml.explain of one specific model version (by model_id) for one row of numeric features in model order.';
"#,
    name = "explain_functions",
    requires = ["predict_functions"],
);
