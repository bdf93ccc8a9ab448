//! `shopml.split`: which rows of a relation a training holds out, by the same rule every
//! trainer uses (see [`shopml_core::data::split`]), so held-out metrics can be recomputed by
//! hand and every version trained on a relation is compared on the same rows.
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use pgrx::PgRelation;
use shopml_core::data::cell::Cell;
use shopml_core::data::split::Split;
use shopml_core::{Error, Result};

use crate::pg::error::OrRaise;
use crate::pg::spi::scan;
use crate::train::reader::SplitKeys;
use crate::train::relation::{relation_oid, Relation};

type SplitRow = (i64, Option<String>, bool);

fn split_rows(
    relation: pg_sys::Oid,
    test_fraction: f64,
    split_column: Option<&str>,
    split_seed: i64,
) -> Result<Vec<SplitRow>> {
    if !(0.0..1.0).contains(&test_fraction) {
        return Err(Error::invalid(format!(
            "test_fraction must be in [0, 1), got {test_fraction}"
        )));
    }
    if split_seed < 0 {
        return Err(Error::invalid("split_seed must not be negative"));
    }
    let rel = Relation::open(relation)?;
    let split = Split {
        test_fraction,
        split_column: split_column.map(String::from),
        split_seed: split_seed as u64,
        folds: None,
    };
    let keys = SplitKeys::of(&rel, &split)?;
    let ctid = if rel.is_table {
        "ctid::text"
    } else {
        "NULL::text"
    };
    let mut select = keys.exprs.clone();
    select.push(ctid.to_string());
    let query = format!("SELECT {} FROM {}", select.join(", "), rel.sql_name);
    let k = keys.exprs.len();
    let mut out = Vec::new();
    scan(&query, &[], keys.plan, 0, |cells| {
        let position = out.len() as u64;
        let test = split.is_test(keys.key(&cells[..k], position));
        let tid = match cells[k] {
            Cell::Text(t) => Some(t.to_string()),
            _ => None,
        };
        out.push((position as i64 + 1, tid, test));
        Ok(())
    })?;
    Ok(out)
}

/// The held-out split of a relation's rows, as the trainers make it: the row's number in the
/// scan, its ctid (tables), and whether it is held out.
#[pg_extern(stable, parallel_safe)]
fn split(
    relation: Option<PgRelation>,
    test_fraction: default!(f64, 0.2),
    split_column: default!(Option<&str>, "NULL"),
    split_seed: default!(i64, 0),
) -> TableIterator<
    'static,
    (
        name!(row_number, i64),
        name!(row_ctid, Option<String>),
        name!(held_out, bool),
    ),
> {
    let oid = relation_oid(relation);
    TableIterator::new(split_rows(oid, test_fraction, split_column, split_seed).or_raise())
}

type FoldRow = (i64, Option<String>, i32);

fn fold_rows(
    relation: pg_sys::Oid,
    folds: i32,
    group_column: Option<&str>,
    seed: i64,
) -> Result<Vec<FoldRow>> {
    if !(2..=100).contains(&folds) {
        return Err(Error::invalid(format!(
            "folds must be in 2..100, got {folds}"
        )));
    }
    if seed < 0 {
        return Err(Error::invalid("seed must not be negative"));
    }
    let rel = Relation::open(relation)?;
    let split = Split {
        test_fraction: 1.0 / f64::from(folds),
        split_column: group_column.map(String::from),
        split_seed: seed as u64,
        folds: None,
    };
    let keys = SplitKeys::of(&rel, &split)?;
    let ctid = if rel.is_table {
        "ctid::text"
    } else {
        "NULL::text"
    };
    let mut select = keys.exprs.clone();
    select.push(ctid.to_string());
    let query = format!("SELECT {} FROM {}", select.join(", "), rel.sql_name);
    let k = keys.exprs.len();
    let mut out = Vec::new();
    scan(&query, &[], keys.plan, 0, |cells| {
        let position = out.len() as u64;
        let fold = split.fold_of(keys.key(&cells[..k], position), folds as u32);
        let tid = match cells[k] {
            Cell::Text(t) => Some(t.to_string()),
            _ => None,
        };
        out.push((position as i64 + 1, tid, fold as i32));
        Ok(())
    })?;
    Ok(out)
}

/// The cross-validation folds of a relation's rows, as `tune` and the trainers' `folds` +
/// `fold` options make them: the row's number in the scan, its ctid (tables), and its fold
/// (0 .. folds - 1).
#[pg_extern(stable, parallel_safe)]
fn folds(
    relation: Option<PgRelation>,
    folds: default!(i32, 5),
    group_column: default!(Option<&str>, "NULL"),
    seed: default!(i64, 0),
) -> TableIterator<
    'static,
    (
        name!(row_number, i64),
        name!(row_ctid, Option<String>),
        name!(fold, i32),
    ),
> {
    let oid = relation_oid(relation);
    TableIterator::new(fold_rows(oid, folds, group_column, seed).or_raise())
}
