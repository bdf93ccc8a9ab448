//! The one reader of training rows: a relation's target and feature columns, read through the
//! executor's `DestReceiver` (see [`crate::pg::spi`]), with the held-out split, the rows
//! skipped for missing values, progress and the memory limit in one place.
//!
//! Each row's side of the split comes from a key that does not depend on its values (see
//! [`shopml_core::data::split`]): for tables the row's physical position (its `ctid`);
//! for views its position in a serial scan; with `split_column` the value of that column.

use shopml_core::data::cell::Cell;
use shopml_core::data::prep::RawTable;
use shopml_core::data::split::{fold_number_key, position_key, tid_key, Split};
use shopml_core::{Error, Result};

use crate::pg::datum::tid_parts;
use crate::pg::spi::{scan, Plan};
use crate::train::budget::Budget;
use crate::train::progress::Progress;
use crate::train::relation::{Column, Relation};

/// How the rows of a relation are keyed for the split.
pub struct SplitKeys {
    /// Select-list expressions of the key (none: the scan position).
    pub exprs: Vec<String>,
    pub plan: Plan,
    /// The split column holds fold numbers (the key is the value, not its hash).
    values: bool,
}

impl SplitKeys {
    /// The key columns of `rel` under `split` (42703 for an unknown split column).
    pub fn of(rel: &Relation, split: &Split) -> Result<SplitKeys> {
        Ok(match &split.split_column {
            Some(c) => SplitKeys {
                exprs: vec![rel.column(c)?.ident()],
                plan: Plan::Serial,
                values: split.keys_are_values(),
            },
            None if rel.is_table => SplitKeys {
                exprs: vec!["ctid".into()],
                plan: Plan::Serial,
                values: false,
            },
            None => SplitKeys {
                exprs: Vec::new(),
                plan: Plan::Serial,
                values: false,
            },
        })
    }

    /// The split key of a row from its key cells (`position` counts rows from 0).
    pub fn key(&self, cells: &[Cell], position: u64) -> u64 {
        match cells {
            [] => position_key(position),
            [Cell::Int(tid)] if self.exprs[0] == "ctid" => {
                let (block, offset) = tid_parts(*tid);
                tid_key(block, offset)
            }
            [value, ..] if self.values => fold_number_key(value),
            [value, ..] => value.value_hash(),
        }
    }
}

/// What a trainer reads.
pub struct Spec<'a> {
    pub rel: &'a Relation,
    pub target: Option<&'a Column>,
    pub features: &'a [Column],
    pub split: &'a Split,
    /// Leave out rows with a missing feature (`impute` is `skip`).
    pub skip_missing: bool,
    /// Bytes held per row kept, for the memory limit.
    pub bytes_per_row: usize,
    /// A condition on the rows (SQL, e.g. an update's window), or None for every row.
    pub filter: Option<&'a str>,
    /// A column whose value groups rows (a ranking's query): its value's hash is kept per row
    /// in [`Rows::groups_train`] / [`Rows::groups_test`]; rows where it is NULL are skipped.
    pub group: Option<&'a Column>,
}

/// The rows read: the features in a [`RawTable`] split into training and test parts, the
/// targets of each part, and the counts.
pub struct Rows<Y> {
    pub raw: RawTable,
    pub y_train: Vec<Y>,
    pub y_test: Vec<Y>,
    /// The group of each row of each part (empty without [`Spec::group`]).
    pub groups_train: Vec<u64>,
    pub groups_test: Vec<u64>,
    pub read: u64,
    pub skipped: u64,
}

impl<Y> Rows<Y> {
    /// 22000 when no row is left to train on, with the counts and the imputation rule.
    pub fn require_training_rows(
        &self,
        model_name: &str,
        rel: &Relation,
        impute: &str,
    ) -> Result<()> {
        if self.y_train.is_empty() {
            return Err(Error::data(format!(
                "no usable rows to train \"{model_name}\" on {}",
                rel.sql_name
            ))
            .with_detail(format!(
                "{} rows read, {} skipped for a NULL target or a NULL, NaN or infinite feature (impute is '{impute}').",
                self.read, self.skipped
            )));
        }
        Ok(())
    }
}

/// Reads `spec`'s rows. `target` turns a row's target cell into its label: `Ok(None)` skips
/// the row (counted), an error stops the training. Without a target column every row gets
/// `target(&Cell::Null)`.
pub fn read<Y>(
    spec: &Spec,
    budget: &Budget,
    progress: &mut Progress,
    mut target: impl FnMut(&Cell) -> Result<Option<Y>>,
) -> Result<Rows<Y>> {
    spec.rel.notice_rows_travel(progress.model_name())?;
    let mut keys = SplitKeys::of(spec.rel, spec.split)?;
    if spec.split.test_fraction == 0.0 {
        // Nothing is held out: the key is not needed, so it is not read.
        keys.exprs.clear();
    }
    let k = keys.exprs.len();
    let t = usize::from(spec.target.is_some());
    let g = usize::from(spec.group.is_some());
    let mut select: Vec<String> = keys.exprs.clone();
    select.extend(spec.target.map(|c| c.ident()));
    select.extend(spec.group.map(|c| c.ident()));
    select.extend(spec.features.iter().map(|c| c.ident()));
    let query = match spec.filter {
        Some(f) => format!(
            "SELECT {} FROM {} WHERE {f}",
            select.join(", "),
            spec.rel.sql_name
        ),
        None => format!("SELECT {} FROM {}", select.join(", "), spec.rel.sql_name),
    };
    let names: Vec<String> = spec.features.iter().map(|f| f.name.clone()).collect();
    let kinds: Vec<_> = spec.features.iter().filter_map(|f| f.kind()).collect();
    let mut rows = Rows {
        raw: RawTable::new(names, &kinds),
        y_train: Vec::new(),
        y_test: Vec::new(),
        groups_train: Vec::new(),
        groups_test: Vec::new(),
        read: 0,
        skipped: 0,
    };
    let split = spec.split;
    scan(&query, &[], keys.plan, 0, |cells| {
        let position = rows.read;
        rows.read += 1;
        if rows.read.is_multiple_of(16384) {
            progress.rows_read(rows.read);
            budget.check(
                rows.read as usize * spec.bytes_per_row,
                "the rows read so far",
            )?;
        }
        let (key_cells, rest) = cells.split_at(k);
        let (target_cell, rest) = rest.split_at(t);
        let (group_cell, features) = rest.split_at(g);
        let group = match group_cell.first() {
            None => 0,
            Some(c) if c.is_missing() => {
                rows.skipped += 1;
                return Ok(());
            }
            Some(c) => c.value_hash(),
        };
        let y = match target(target_cell.first().unwrap_or(&Cell::Null))? {
            Some(y) => y,
            None => {
                rows.skipped += 1;
                return Ok(());
            }
        };
        if spec.skip_missing && RawTable::has_null(features) {
            rows.skipped += 1;
            return Ok(());
        }
        let test = split.is_test(keys.key(key_cells, position));
        rows.raw.push(features, test);
        if test {
            rows.y_test.push(y);
        } else {
            rows.y_train.push(y);
        }
        if g > 0 {
            if test {
                rows.groups_test.push(group);
            } else {
                rows.groups_train.push(group);
            }
        }
        Ok(())
    })?;
    Ok(rows)
}

/// Rows a reader skipped, counted by reason: `reasons` name them as an error's detail line
/// does ("3 NULL product, 0 NULL or non-positive price").
pub struct Skipped<const N: usize> {
    reasons: [&'static str; N],
    counts: [u64; N],
}

impl<const N: usize> Skipped<N> {
    pub const fn new(reasons: [&'static str; N]) -> Skipped<N> {
        Skipped {
            reasons,
            counts: [0; N],
        }
    }

    /// Counts a row skipped for `reason` (one of the reasons given to [`Skipped::new`]).
    pub fn add(&mut self, reason: &str) {
        let i = self.reasons.iter().position(|r| *r == reason);
        debug_assert!(i.is_some(), "unknown reason {reason}");
        if let Some(i) = i {
            self.counts[i] += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The counts by reason, as a JSON object.
    pub fn json(&self) -> serde_json::Value {
        let each = self.reasons.iter().zip(&self.counts);
        serde_json::Value::Object(each.map(|(r, n)| (r.to_string(), (*n).into())).collect())
    }

    /// "3 NULL product, 0 NULL or non-positive price, ...".
    pub fn detail(&self) -> String {
        let each = self.reasons.iter().zip(&self.counts);
        each.map(|(r, n)| format!("{n} {r}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
