//! Reading and writing the model catalog (`shopml.model`, `shopml.deployment`).

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::JsonB;
use shopml_core::{Error, ErrorKind, Result};

use crate::error::OrRaise;

/// What a trainer hands over to be stored.
pub struct NewModel<'a> {
    pub model_name: &'a str,
    pub algorithm: &'a str,
    pub task: &'a str,
    pub source: String,
    pub target: Option<String>,
    pub features: Vec<String>,
    pub params: serde_json::Value,
    pub metrics: serde_json::Value,
    pub n_train: i64,
    pub n_test: i64,
    pub bytes: Vec<u8>,
    pub deploy: bool,
}

/// Stores the model as the next version of its name; returns (model_id, version).
pub fn save(m: NewModel<'_>) -> (i64, i32) {
    Spi::connect_mut(|client| {
        let row = client
            .update(
                "SELECT model_id, version FROM shopml._save_model($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                None,
                &[
                    m.model_name.into(),
                    m.algorithm.into(),
                    m.task.into(),
                    m.source.into(),
                    m.target.into(),
                    m.features.into(),
                    JsonB(m.params).into(),
                    JsonB(m.metrics).into(),
                    m.n_train.into(),
                    m.n_test.into(),
                    m.bytes.into(),
                    m.deploy.into(),
                ],
            )
            .or_raise()
            .first();
        let id: i64 = row.get(1).or_raise().unwrap_or_default();
        let version: i32 = row.get(2).or_raise().unwrap_or_default();
        (id, version)
    })
}

/// Checks a model name given by a user.
pub fn check_name(model_name: &str) -> Result<()> {
    if model_name.trim().is_empty() {
        return Err(Error::invalid("model_name must not be empty"));
    }
    Ok(())
}

fn unknown_model(model_name: &str) -> Error {
    Error::new(
        ErrorKind::UndefinedObject,
        format!("model \"{model_name}\" does not exist or has no deployed version"),
    )
    .with_hint("SELECT model_name, version, deployed FROM shopml.models lists the models.")
}

/// A value read from a catalog row.
enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// A query argument.
pub enum Arg<'a> {
    Text(&'a str),
    Int8(i64),
    Int4(i32),
}

/// Runs a read-only catalog query and returns its first row (`None` when there is none).
///
/// pgrx's `Spi::get_*` helpers ask for a transaction id, which fails inside a parallel worker
/// ("cannot assign XIDs during a parallel operation"), and its `select` bumps the command counter
/// once the transaction has written. Prediction runs in parallel workers, so this calls SPI
/// with read_only = true: no transaction id, no command counter, the statement's snapshot.
fn first_row(sql: &str, args: &[Arg<'_>], kinds: &[pg_sys::Oid]) -> Option<Vec<Cell>> {
    let sql = std::ffi::CString::new(sql).expect("no NUL in catalog queries");
    unsafe {
        let mut types: Vec<pg_sys::Oid> = Vec::with_capacity(args.len());
        let mut values: Vec<pg_sys::Datum> = Vec::with_capacity(args.len());
        for a in args {
            match a {
                Arg::Text(t) => {
                    types.push(pg_sys::TEXTOID);
                    values.push(pg_sys::Datum::from(pgrx::rust_str_to_text_p(t).into_pg()));
                }
                Arg::Int8(v) => {
                    types.push(pg_sys::INT8OID);
                    values.push(pg_sys::Datum::from(*v));
                }
                Arg::Int4(v) => {
                    types.push(pg_sys::INT4OID);
                    values.push(pg_sys::Datum::from(*v));
                }
            }
        }
        pg_sys::SPI_connect();
        let rc = pg_sys::SPI_execute_with_args(
            sql.as_ptr(),
            args.len() as i32,
            types.as_mut_ptr(),
            values.as_mut_ptr(),
            std::ptr::null(),
            true,
            1,
        );
        let mut out = None;
        if rc == pg_sys::SPI_OK_SELECT as i32 && pg_sys::SPI_processed > 0 {
            let table = pg_sys::SPI_tuptable;
            let tuple = *(*table).vals;
            let desc = (*table).tupdesc;
            let mut row = Vec::with_capacity(kinds.len());
            for (i, kind) in kinds.iter().enumerate() {
                let mut isnull = false;
                let d = pg_sys::SPI_getbinval(tuple, desc, i as i32 + 1, &mut isnull);
                row.push(if isnull {
                    Cell::Null
                } else {
                    match *kind {
                        pg_sys::INT8OID => Cell::Int(d.value() as i64),
                        pg_sys::INT4OID => Cell::Int(d.value() as i32 as i64),
                        pg_sys::BYTEAOID => {
                            let v = pg_sys::pg_detoast_datum(d.cast_mut_ptr());
                            Cell::Bytes(pgrx::varlena_to_byte_slice(v).to_vec())
                        }
                        _ => {
                            let v = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
                            Cell::Text(
                                String::from_utf8_lossy(pgrx::varlena_to_byte_slice(v))
                                    .into_owned(),
                            )
                        }
                    }
                });
            }
            out = Some(row);
        }
        pg_sys::SPI_finish();
        if rc < 0 {
            return None;
        }
        out
    }
}

/// The deployed model of a name: (model_id, row version).
pub fn deployed(model_name: &str) -> Result<(i64, String)> {
    match first_row(
        "SELECT model_id, row_version FROM shopml._deployed($1)",
        &[Arg::Text(model_name)],
        &[pg_sys::INT8OID, pg_sys::TEXTOID],
    )
    .as_deref()
    {
        Some([Cell::Int(id), Cell::Text(ver)]) => Ok((*id, ver.clone())),
        _ => Err(unknown_model(model_name)),
    }
}

fn no_such_id(model_id: i64) -> Error {
    Error::new(
        ErrorKind::UndefinedObject,
        format!("model with model_id {model_id} does not exist"),
    )
}

/// A model by id: (model_name, row version).
pub fn by_id(model_id: i64) -> Result<(String, String)> {
    match first_row(
        "SELECT model_name, xmin::text || '/' || ctid::text FROM shopml.model WHERE model_id = $1",
        &[Arg::Int8(model_id)],
        &[pg_sys::TEXTOID, pg_sys::TEXTOID],
    )
    .as_deref()
    {
        Some([Cell::Text(name), Cell::Text(ver)]) => Ok((name.clone(), ver.clone())),
        _ => Err(no_such_id(model_id)),
    }
}

/// A model's stored bytes.
pub fn bytes(model_id: i64) -> Result<Vec<u8>> {
    match first_row(
        "SELECT model_bytes FROM shopml.model WHERE model_id = $1",
        &[Arg::Int8(model_id)],
        &[pg_sys::BYTEAOID],
    ) {
        Some(mut row) => match row.pop() {
            Some(Cell::Bytes(b)) => Ok(b),
            _ => Err(no_such_id(model_id)),
        },
        None => Err(no_such_id(model_id)),
    }
}

/// The model id to read for (name, optional version): the deployed one when version is NULL.
pub fn resolve(model_name: &str, version: Option<i32>) -> Result<i64> {
    match version {
        None => deployed(model_name).map(|(id, _)| id),
        Some(v) => match first_row(
            "SELECT model_id FROM shopml.model WHERE model_name = $1 AND version = $2",
            &[Arg::Text(model_name), Arg::Int4(v)],
            &[pg_sys::INT8OID],
        )
        .as_deref()
        {
            Some([Cell::Int(id)]) => Ok(*id),
            _ => Err(Error::new(
                ErrorKind::UndefinedObject,
                format!("model \"{model_name}\" has no version {v}"),
            )),
        },
    }
}

/// What a supervised training returns to SQL: the saved version and its metrics.
pub struct Trained {
    pub model_id: i64,
    pub version: i32,
    pub n_train: i64,
    pub n_test: i64,
    pub metrics: serde_json::Value,
}

impl Trained {
    /// Saves a trained model (see [`save`]) and gives the trainer's result.
    pub fn save(m: NewModel<'_>) -> Trained {
        let (n_train, n_test, metrics) = (m.n_train, m.n_test, m.metrics.clone());
        let (model_id, version) = save(m);
        Trained {
            model_id,
            version,
            n_train,
            n_test,
            metrics,
        }
    }

    /// The row `(model_id, model_name, version, n_train, n_test, metrics)` of a trainer.
    pub fn row(self, model_name: Option<&str>) -> (i64, String, i32, i64, i64, pgrx::JsonB) {
        (
            self.model_id,
            model_name.unwrap_or_default().to_string(),
            self.version,
            self.n_train,
            self.n_test,
            pgrx::JsonB(self.metrics),
        )
    }
}
