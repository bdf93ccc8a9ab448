//! Looking at the relation a model trains on: its columns and their types.
//!
//! Names reach SQL only as quoted identifiers or as the relation's regclass text, never pasted
//! from user input.

use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::PgRelation;
use shopml_core::prep::Kind;
use shopml_core::{Error, ErrorKind, Result};

use crate::error::OrRaise;

/// A column of the training relation.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub type_name: String,
    pub numeric: bool,
    /// `pg_type.typcategory` of the column's type.
    pub category: String,
    pub type_oid: pg_sys::Oid,
}

impl Column {
    /// The column as a quoted SQL identifier.
    pub fn ident(&self) -> String {
        quote_identifier(&self.name)
    }

    /// How the column enters a model: numbers and booleans as numbers; text, enums and uuids
    /// as categories; other types not at all.
    pub fn kind(&self) -> Option<Kind> {
        match self.category.as_str() {
            "N" | "B" => Some(Kind::Numeric),
            "S" | "E" => Some(Kind::Categorical),
            _ if self.type_oid == pg_sys::UUIDOID => Some(Kind::Categorical),
            _ => None,
        }
    }

    /// The column as a float8 SQL expression (booleans as 0/1).
    pub fn float_expr(&self) -> String {
        if self.type_oid == pg_sys::BOOLOID {
            format!("({})::int::float8", self.ident())
        } else {
            format!("({})::float8", self.ident())
        }
    }

    /// The column as a select-list expression [`crate::scan::scan`] reads natively.
    pub fn scan_expr(&self) -> String {
        match self.kind() {
            _ if crate::scan::native(self.type_oid) => self.ident(),
            Some(Kind::Numeric) => format!("({})::float8", self.ident()),
            _ => format!("({})::text", self.ident()),
        }
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
                    "SELECT a.attname::text, format_type(a.atttypid, NULL), t.typcategory::text, \
                     a.atttypid::int8 FROM pg_catalog.pg_attribute a \
                     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                     WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped \
                     ORDER BY a.attnum",
                    None,
                    &[i64::from(oid_arg).into()],
                )
                .or_raise()
                .map(|row| {
                    let name: String = row.get(1).or_raise().unwrap_or_default();
                    let type_name: String = row.get(2).or_raise().unwrap_or_default();
                    let numeric = NUMERIC_TYPES.contains(&type_name.as_str());
                    let category: String = row.get(3).or_raise().unwrap_or_default();
                    let type_oid: i64 = row.get(4).or_raise().unwrap_or_default();
                    Column {
                        name,
                        type_name,
                        numeric,
                        category,
                        type_oid: pg_sys::Oid::from(type_oid as u32),
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

    /// The features of a model of `target`: as [`Relation::features`] with the target (and
    /// `exclude`) left out of the default, and the target refused when it is listed.
    pub fn target_features(
        &self,
        features: Option<Vec<Option<String>>>,
        target: &str,
        exclude: &[&str],
    ) -> Result<Vec<Column>> {
        let mut all = vec![target];
        all.extend_from_slice(exclude);
        let feats = self.features(features, &all)?;
        if feats.iter().any(|f| f.name == target) {
            return Err(Error::invalid(format!(
                "the target \"{target}\" cannot also be a feature"
            )));
        }
        Ok(feats)
    }

    /// The features to use: the given names (numbers, booleans or categories), or every
    /// numeric or boolean column not in `exclude` when `features` is NULL (text columns are
    /// used only when named, so a free-text or id column never enters a model by accident).
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
                    let c = self.column(&f)?;
                    if c.kind().is_none() {
                        return Err(Error::new(
                            ErrorKind::DatatypeMismatch,
                            format!(
                                "feature \"{}\" of {} is of type {}, which a model cannot take",
                                c.name, self.sql_name, c.type_name
                            ),
                        )
                        .with_hint("Features are numbers, booleans, text, enums or uuids; convert others in a view (e.g. extract(epoch FROM t))."));
                    }
                    out.push(c.clone());
                }
                Ok(out)
            }
            None => {
                let out: Vec<Column> = self
                    .columns
                    .iter()
                    .filter(|c| {
                        c.kind() == Some(Kind::Numeric) && !exclude.contains(&c.name.as_str())
                    })
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
