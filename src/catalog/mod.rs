//! The model catalog (`shopml.model`, `shopml.deployment`) and the per-backend cache of
//! decoded models.
//!
//! Reads go through the read-only scan of the FFI layer (no transaction id, so they work in
//! parallel workers and after the transaction has written); a trained model is written by
//! `shopml._save_model`, which numbers versions and checks ownership.
#![forbid(unsafe_code)]

pub mod cache;

use pgrx::prelude::*;
use pgrx::JsonB;
use shopml_core::model::Kind;
use shopml_core::{Error, ErrorKind, Result};

use crate::pg::error::OrRaise;
use crate::pg::spi::{first_row, Param, Value};

/// Who and what a model was trained from.
pub struct Record {
    pub model_name: String,
    /// The relation, as SQL text.
    pub source: String,
    pub target: Option<String>,
    /// The input columns.
    pub features: Vec<String>,
}

/// What a training found (its parameters and metrics as jsonb, and the training and test rows
/// it used) and whether to deploy it.
pub struct Outcome {
    pub params: serde_json::Value,
    pub metrics: serde_json::Value,
    pub n_train: i64,
    pub n_test: i64,
    pub deploy: bool,
    /// The catalog's task when it is not the kind's (boosted trees classify or regress).
    pub task: Option<shopml_core::model::Task>,
}

impl Outcome {
    pub fn new(
        params: serde_json::Value,
        metrics: serde_json::Value,
        (n_train, n_test): (i64, i64),
        deploy: bool,
    ) -> Outcome {
        Outcome {
            params,
            metrics,
            n_train,
            n_test,
            deploy,
            task: None,
        }
    }

    pub fn with_task(mut self, task: shopml_core::model::Task) -> Outcome {
        self.task = Some(task);
        self
    }
}

/// A model as stored: its id and version.
#[derive(Clone, Copy, Debug)]
pub struct Saved {
    pub model_id: i64,
    pub version: i32,
}

/// Stores the bytes of a model of `kind` as the next version of its name.
pub fn save(kind: &Kind, r: &Record, o: &Outcome, bytes: Vec<u8>) -> Saved {
    Spi::connect_mut(|client| {
        let row = client
            .update(
                "SELECT model_id, version FROM shopml._save_model($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                None,
                &[
                    r.model_name.as_str().into(),
                    kind.algorithm.into(),
                    o.task.unwrap_or(kind.task).name().into(),
                    r.source.as_str().into(),
                    r.target.clone().into(),
                    r.features.clone().into(),
                    JsonB(o.params.clone()).into(),
                    JsonB(o.metrics.clone()).into(),
                    o.n_train.into(),
                    o.n_test.into(),
                    bytes.into(),
                    o.deploy.into(),
                ],
            )
            .or_raise()
            .first();
        Saved {
            model_id: row.get(1).or_raise().unwrap_or_default(),
            version: row.get(2).or_raise().unwrap_or_default(),
        }
    })
}

/// Checks a model name given by a user.
pub fn check_name(model_name: &str) -> Result<()> {
    if model_name.trim().is_empty() {
        return Err(Error::invalid("model_name must not be empty"));
    }
    Ok(())
}

/// 42501 with a hint when the current role may not `privilege` the catalog table (it is not
/// a `shopml_user`): what Postgres would say, plus how to fix it.
pub fn check_privilege(table: &str, privilege: &str) -> Result<()> {
    let row = first_row(
        "SELECT has_table_privilege($1, $2), current_user::text",
        &[Param::Text(table), Param::Text(privilege)],
    )?;
    match row.as_deref() {
        Some([Value::Num(ok), Value::Text(user)]) if *ok == 0.0 => Err(Error::new(
            ErrorKind::InsufficientPrivilege,
            format!(
                "permission denied for table {}",
                table.trim_start_matches("shopml.")
            ),
        )
        .with_hint(format!(
            "Models are read and trained by members of shopml_user: GRANT shopml_user TO {user};"
        ))),
        _ => Ok(()),
    }
}

fn unknown_model(model_name: &str) -> Error {
    Error::new(
        ErrorKind::UndefinedObject,
        format!("model \"{model_name}\" does not exist or has no deployed version"),
    )
    .with_hint("SELECT model_name, version, deployed FROM shopml.models lists the models.")
}

fn no_such_id(model_id: i64) -> Error {
    Error::new(
        ErrorKind::UndefinedObject,
        format!("model with model_id {model_id} does not exist"),
    )
}

/// The deployed model of a name: (model_id, row version).
pub fn deployed(model_name: &str) -> Result<(i64, String)> {
    check_privilege("shopml.deployment", "SELECT")?;
    match first_row(
        "SELECT model_id, row_version FROM shopml._deployed($1)",
        &[Param::Text(model_name)],
    )?
    .as_deref()
    {
        Some([Value::Int(id), Value::Text(ver)]) => Ok((*id, ver.clone())),
        _ => Err(unknown_model(model_name)),
    }
}

/// A model by id: (model_name, row version).
pub fn by_id(model_id: i64) -> Result<(String, String)> {
    check_privilege("shopml.model", "SELECT")?;
    match first_row(
        "SELECT model_name, xmin::text || '/' || ctid::text FROM shopml.model WHERE model_id = $1",
        &[Param::Int8(model_id)],
    )?
    .as_deref()
    {
        Some([Value::Text(name), Value::Text(ver)]) => Ok((name.clone(), ver.clone())),
        _ => Err(no_such_id(model_id)),
    }
}

/// A model's stored bytes.
pub fn bytes(model_id: i64) -> Result<Vec<u8>> {
    match first_row(
        "SELECT model_bytes FROM shopml.model WHERE model_id = $1",
        &[Param::Int8(model_id)],
    )? {
        Some(mut row) => match row.pop() {
            Some(Value::Bytes(b)) => Ok(b),
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
            &[Param::Text(model_name), Param::Int4(v)],
        )?
        .as_deref()
        {
            Some([Value::Int(id)]) => Ok(*id),
            _ => Err(Error::new(
                ErrorKind::UndefinedObject,
                format!("model \"{model_name}\" has no version {v}"),
            )),
        },
    }
}
