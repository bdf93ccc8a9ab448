//! `shopml.predict_table`: a whole relation scored in blocks. Rows are read once through SPI
//! (the model's inputs matched by column name, the stored preparation applied as they arrive),
//! and each block of prepared rows is scored on the `shopml.threads` pool, where Postgres is
//! not touched; every model kind served by `predict` is served here the same way.
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use pgrx::PgRelation;
use std::sync::{Condvar, Mutex};

use shopml_core::model::{Answer, Model, Row, Want};
use shopml_core::{Error, ErrorKind, Result};

use crate::catalog::cache;
use crate::pg::error::{required, OrRaise};
use crate::pg::spi::{scan, Plan};
use crate::train::relation::{relation_oid, Relation};

/// Rows prepared before a block is handed to the pool to be scored.
const BLOCK: usize = 16_384;

/// Blocks handed to the pool and not yet scored, at most (then the scan waits).
const IN_FLIGHT: usize = 4;

/// A block of prepared rows.
#[derive(Default)]
struct Block {
    groups: Vec<Option<String>>,
    dense: Vec<f64>,
    hashed: Vec<u32>,
    /// Where each row's hashed indices end in `hashed`.
    hashed_end: Vec<usize>,
    /// The preparation gave a row (false: NULL under impute skip).
    ok: Vec<bool>,
}

/// Scores a block of prepared rows (on the thread it runs on): one answer per row.
fn score_block(
    model: &dyn Model,
    model_name: &str,
    b: &Block,
    width: usize,
    grouped: bool,
    want: Want,
) -> Result<Vec<Option<f64>>> {
    if b.hashed.is_empty() && !grouped {
        if let Some(v) = model.predict_block(&b.dense, want) {
            return Ok(v
                .into_iter()
                .zip(&b.ok)
                .map(|(v, &ok)| ok.then_some(v))
                .collect());
        }
    }
    (0..b.ok.len())
        .map(|i| {
            if !b.ok[i] {
                return Ok(None);
            }
            let start = if i == 0 { 0 } else { b.hashed_end[i - 1] };
            let row = Row {
                dense: &b.dense[i * width..(i + 1) * width],
                hashed: &b.hashed[start..b.hashed_end[i]],
                group: grouped.then(|| b.groups[i].as_deref()),
            };
            match model.predict(model_name, &row, want)? {
                Answer::Number(v) => Ok(Some(v)),
                Answer::Null => Ok(None),
                Answer::Text(_) => Err(Error::invalid(format!(
                    "model \"{model_name}\" answers with text labels"
                ))),
            }
        })
        .collect()
}

/// The blocks scored so far (by block number) and how many are still being scored, shared by
/// the scanning thread and the pool's.
#[derive(Default)]
struct Scored {
    done: Vec<(usize, Result<Vec<Option<f64>>>)>,
    in_flight: usize,
}

fn rows(
    model_name: &str,
    oid: pg_sys::Oid,
    key_column: &str,
    options: Option<&serde_json::Value>,
) -> Result<Vec<(Option<String>, Option<f64>)>> {
    let (want, version) = shopml_core::options::parse("predict_table", options, |o| {
        let output = o.choice("output", "predict", &["predict", "probability"])?;
        let version = match o.get("version").is_some() {
            true => Some(o.integer("version", 0, 1, i32::MAX as i64)?),
            false => None,
        };
        Ok((
            if output == "probability" {
                Want::Probability
            } else {
                Want::Value
            },
            version,
        ))
    })?;
    let model = match version {
        None => cache::deployed(model_name)?.1,
        Some(v) => cache::by_id(crate::catalog::resolve(model_name, Some(v as i32))?)?.1,
    };
    let prep = model.prep().ok_or_else(|| {
        Error::invalid(format!(
            "model \"{model_name}\" is {}, which shopml.predict_table does not score",
            model.kind().noun
        ))
        .with_hint(format!("Serve it with {}.", model.kind().serving))
    })?;
    let rel = Relation::open(oid)?;
    let key = rel.column(key_column)?.clone();
    let mut select = vec![format!("{}::text", key.ident())];
    for input in &prep.inputs {
        let c = rel.column(&input.name).map_err(|_| {
            Error::new(
                ErrorKind::UndefinedColumn,
                format!(
                    "{} has no column \"{}\", an input of model \"{model_name}\"",
                    rel.sql_name, input.name
                ),
            )
        })?;
        select.push(c.ident());
    }
    let group = model.group_column().map(|g| g.to_string());
    if let Some(g) = &group {
        select.push(format!("{}::text", rel.column(g)?.ident()));
    }
    let query = format!("SELECT {} FROM {}", select.join(", "), rel.sql_name);
    let width = prep.dense_width;
    let n_inputs = prep.inputs.len();
    let mut keys: Vec<Option<String>> = Vec::new();
    let mut block = Block::default();
    let mut dense = vec![0.0; width];
    let mut hashed = Vec::new();
    let pool = crate::train::pool::get()?;
    let state = (Mutex::new(Scored::default()), Condvar::new());
    let grouped = group.is_some();
    let model: &dyn Model = &*model;
    let mut n_blocks = 0usize;
    // The main thread scans and prepares; each full block is scored by a job on the pool
    // meanwhile (at most IN_FLIGHT blocks waiting), so reading and scoring overlap. Postgres is
    // touched by the main thread only; the jobs see plain Rust data.
    let scanned = pool.in_place_scope(|scope| -> Result<()> {
        let submit = |b: Block, n: usize| {
            let state = &state;
            {
                let mut st = state.0.lock().unwrap_or_else(|e| e.into_inner());
                while st.in_flight >= IN_FLIGHT {
                    st = state.1.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                st.in_flight += 1;
            }
            scope.spawn(move |_| {
                let r = score_block(model, model_name, &b, width, grouped, want);
                let mut st = state.0.lock().unwrap_or_else(|e| e.into_inner());
                st.done.push((n, r));
                st.in_flight -= 1;
                state.1.notify_all();
            });
        };
        scan(&query, &[], Plan::Serial, 0, |cells| {
            keys.push(cells[0].category().map(|c| c.into_owned()));
            let inputs = &cells[1..1 + n_inputs];
            hashed.clear();
            let ok = prep.encode(inputs, &mut dense, &mut hashed);
            if grouped {
                block
                    .groups
                    .push(cells[1 + n_inputs].category().map(|c| c.into_owned()));
            }
            block.dense.extend_from_slice(&dense);
            block.hashed.extend_from_slice(&hashed);
            block.hashed_end.push(block.hashed.len());
            block.ok.push(ok);
            if block.ok.len() == BLOCK {
                pgrx::check_for_interrupts!();
                submit(std::mem::take(&mut block), n_blocks);
                n_blocks += 1;
            }
            Ok(())
        })?;
        if !block.ok.is_empty() {
            submit(std::mem::take(&mut block), n_blocks);
            n_blocks += 1;
        }
        Ok(())
    });
    scanned?;
    let mut done = std::mem::take(&mut state.0.lock().unwrap_or_else(|e| e.into_inner()).done);
    done.sort_by_key(|d| d.0);
    let mut out = Vec::with_capacity(keys.len());
    let mut keys = keys.into_iter();
    for (_, answers) in done {
        for a in answers? {
            out.push((keys.next().flatten(), a));
        }
    }
    Ok(out)
}

/// Scores every row of a relation with a model: the key column's value (as text) and the
/// prediction, in the relation's scan order.
#[pg_extern(stable)]
fn predict_table(
    model_name: Option<&str>,
    relation: Option<PgRelation>,
    key_column: Option<&str>,
    options: default!(Option<pgrx::JsonB>, "'{}'"),
) -> TableIterator<'static, (name!(key, Option<String>), name!(prediction, Option<f64>))> {
    let name = required(model_name, "model_name").or_raise();
    let oid = relation_oid(relation);
    let key = required(key_column, "key_column").or_raise();
    let options = options.map(|j| j.0);
    TableIterator::new(rows(name, oid, key, options.as_ref()).or_raise())
}
