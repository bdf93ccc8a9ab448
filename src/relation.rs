//! Looking at the relation a model trains on: its columns and their types.
//!
//! Names reach SQL only as quoted identifiers or as the relation's regclass text, never pasted
//! from user input.

use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::PgRelation;
use shopml_core::{Error, ErrorKind, Result};

use crate::budget::Budget;
use crate::error::OrRaise;

/// A column of the training relation.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub type_name: String,
    pub numeric: bool,
}

impl Column {
    /// The column as a quoted SQL identifier.
    pub fn ident(&self) -> String {
        quote_identifier(&self.name)
    }
}

/// The relation's name as SQL text (schema-qualified when needed, quoted) and its columns.
pub struct Relation {
    pub sql_name: String,
    pub columns: Vec<Column>,
}

const NUMERIC_TYPES: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "real",
    "double precision",
    "numeric",
];

/// The oid of a `regclass` argument of a trainer (22023 when it is NULL). The relation is
/// released at once: training reads it through SPI like any query.
pub fn relation_oid(relation: Option<PgRelation>) -> pg_sys::Oid {
    match relation {
        Some(r) => r.oid(),
        None => crate::error::raise(Error::invalid("relation must not be NULL")),
    }
}

/// Reads every row of `query` (all columns cast to float8) through a cursor and calls `row`
/// with the values of each row whose values are all finite; the others are skipped. Checks
/// for interrupts after each batch, and the memory the kept rows hold (`bytes_per_row` each)
/// against `budget`. Returns (rows read, rows skipped).
pub fn for_each_float_row(
    query: &str,
    width: usize,
    budget: &Budget,
    bytes_per_row: usize,
    mut row: impl FnMut(&[f64]),
) -> Result<(u64, u64)> {
    let mut values = vec![0.0; width];
    let (mut rows, mut skipped) = (0u64, 0u64);
    Spi::connect(|client| -> Result<()> {
        let mut cursor = client.open_cursor(query, &[]);
        loop {
            let batch = cursor.fetch(20_000).or_raise();
            if batch.is_empty() {
                return Ok(());
            }
            for r in batch {
                rows += 1;
                let mut ok = true;
                for (j, v) in values.iter_mut().enumerate() {
                    match r.get::<f64>(j + 1).or_raise() {
                        Some(f) if f.is_finite() => *v = f,
                        _ => ok = false,
                    }
                }
                if ok {
                    row(&values);
                } else {
                    skipped += 1;
                }
            }
            pgrx::check_for_interrupts!();
            budget.check(
                (rows - skipped) as usize * bytes_per_row,
                "the rows read so far",
            )?;
        }
    })?;
    Ok((rows, skipped))
}

impl Relation {
    pub fn open(oid: pg_sys::Oid) -> Relation {
        let oid_arg: u32 = oid.into();
        let sql_name = Spi::get_one_with_args::<String>(
            "SELECT $1::oid::regclass::text",
            &[i64::from(oid_arg).into()],
        )
        .or_raise()
        .unwrap_or_default();
        let columns = Spi::connect(|client| {
            client
                .select(
                    "SELECT attname::text, format_type(atttypid, NULL) FROM pg_catalog.pg_attribute \
                     WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                    None,
                    &[i64::from(oid_arg).into()],
                )
                .or_raise()
                .map(|row| {
                    let name: String = row.get(1).or_raise().unwrap_or_default();
                    let type_name: String = row.get(2).or_raise().unwrap_or_default();
                    let numeric = NUMERIC_TYPES.contains(&type_name.as_str());
                    Column {
                        name,
                        type_name,
                        numeric,
                    }
                })
                .collect::<Vec<_>>()
        });
        Relation { sql_name, columns }
    }

    /// A column by exact name (42703 naming the table when it is missing).
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            let mut known: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
            known.truncate(20);
            Error::new(
                ErrorKind::UndefinedColumn,
                format!(
                    "column \"{}\" does not exist in {}",
                    name.escape_debug(),
                    self.sql_name
                ),
            )
            .with_hint(format!(
                "Columns of {}: {}.",
                self.sql_name,
                known.join(", ")
            ))
        })
    }

    /// A column that must be numeric (42804 otherwise); `role` says what it is for.
    pub fn numeric_column(&self, name: &str, role: &str) -> Result<&Column> {
        let c = self.column(name)?;
        if !c.numeric {
            return Err(Error::new(
                ErrorKind::DatatypeMismatch,
                format!(
                    "{role} column \"{}\" of {} is of type {}, not a number",
                    c.name, self.sql_name, c.type_name
                ),
            )
            .with_hint(
                "Use a numeric column, or a view that converts it (e.g. a CASE for booleans).",
            ));
        }
        Ok(c)
    }

    /// The features to use: the given names (each numeric), or every numeric column not in
    /// `exclude` when `features` is NULL.
    pub fn features(
        &self,
        features: Option<Vec<Option<String>>>,
        exclude: &[&str],
    ) -> Result<Vec<Column>> {
        match features {
            Some(list) => {
                if list.is_empty() {
                    return Err(Error::invalid("features must not be an empty array")
                        .with_hint("Pass NULL to use every numeric column but the target."));
                }
                let mut out: Vec<Column> = Vec::with_capacity(list.len());
                for f in list {
                    let f = f.ok_or_else(|| Error::invalid("features must not contain NULL"))?;
                    if out.iter().any(|c| c.name == f) {
                        return Err(Error::invalid(format!("feature \"{f}\" is listed twice")));
                    }
                    out.push(self.numeric_column(&f, "feature")?.clone());
                }
                Ok(out)
            }
            None => {
                let out: Vec<Column> = self
                    .columns
                    .iter()
                    .filter(|c| c.numeric && !exclude.contains(&c.name.as_str()))
                    .cloned()
                    .collect();
                if out.is_empty() {
                    return Err(Error::data(format!(
                        "{} has no numeric columns to use as features",
                        self.sql_name
                    )));
                }
                Ok(out)
            }
        }
    }
}
