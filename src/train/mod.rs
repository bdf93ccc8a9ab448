//! The training pipeline every trainer goes through: the checks before reading (name, a
//! writable server, the right to store models), the relation and its features, the one row
//! reader with its split, progress and memory limit, and saving the model as the next version.
#![forbid(unsafe_code)]

pub mod budget;
pub mod pool;
pub mod progress;
pub mod reader;
pub mod relation;

use pgrx::pg_sys;
use pgrx::JsonB;
use serde::Serialize;
use shopml_core::model::{self, Model, Stored};
use shopml_core::{Error, ErrorKind, Result};

use crate::catalog::{self, Outcome, Record};
use crate::pg::error::required;
use crate::pg::system::in_recovery;
use relation::Relation;

/// What every training checks before it reads a row: a model name, a server that can write
/// (not a hot standby: 25006), a role that may store models (42501 with a hint), and the
/// relation, opened.
pub fn begin(model_name: Option<&str>, relation: pg_sys::Oid) -> Result<(&str, Relation)> {
    let model_name = required(model_name, "model_name")?;
    catalog::check_name(model_name)?;
    if in_recovery() {
        return Err(Error::new(
            ErrorKind::ReadOnly,
            format!("cannot train \"{model_name}\" on a hot standby"),
        )
        .with_hint(
            "Train on the primary; the standby serves the model once it has replayed the training.",
        ));
    }
    catalog::check_privilege("shopml.model", "INSERT")?;
    Ok((model_name, Relation::open(relation)?))
}

/// A value as JSON (for params and metrics: serde on the core structs).
pub fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Adds `extra`'s fields to the JSON object `base`.
pub fn with(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    if let (serde_json::Value::Object(b), serde_json::Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

/// The record of a training on `rel`.
pub fn record(
    model_name: &str,
    rel: &Relation,
    target: Option<&str>,
    features: Vec<String>,
    deploy: bool,
) -> Record {
    Record {
        model_name: model_name.to_string(),
        source: rel.sql_name.clone(),
        target: target.map(String::from),
        features,
        deploy,
    }
}

/// A stored training, as the trainers return it to SQL.
pub struct Trained {
    pub model_id: i64,
    pub version: i32,
    pub n_train: i64,
    pub n_test: i64,
    pub metrics: serde_json::Value,
}

impl Trained {
    /// The row `(model_id, model_name, version, n_train, n_test, metrics)` of a trainer.
    pub fn row(self, model_name: Option<&str>) -> (i64, String, i32, i64, i64, JsonB) {
        (
            self.model_id,
            model_name.unwrap_or_default().to_string(),
            self.version,
            self.n_train,
            self.n_test,
            JsonB(self.metrics),
        )
    }
}

/// Encodes `model` and stores it as the next version of its name.
pub fn save<T: Stored + Model>(model: &T, r: Record, o: Outcome) -> Result<Trained> {
    let bytes = model::encode(model)?;
    let saved = catalog::save(T::KIND, &r, &o, bytes);
    Ok(Trained {
        model_id: saved.model_id,
        version: saved.version,
        n_train: o.n_train,
        n_test: o.n_test,
        metrics: o.metrics,
    })
}

/// Names the model and relation in a training error about the data (22000, 22023).
pub fn about(model_name: &str, rel: &Relation) -> impl Fn(Error) -> Error {
    let rel = rel.sql_name.clone();
    let model_name = model_name.to_string();
    move |mut e| {
        if e.kind == ErrorKind::DataException || e.kind == ErrorKind::InvalidParameter {
            e.message = format!("cannot train \"{model_name}\" on {rel}: {}", e.message);
        }
        e
    }
}

/// Declares the SQL function of a trainer of `target` on `features` (train_linear,
/// train_logistic, train_forest): the standard arguments `(model_name, relation, target,
/// features DEFAULT NULL, options DEFAULT '{}')` and result row `(model_id, model_name, version,
/// n_train, n_test, metrics)`. It runs [`begin`] and calls `inner(model_name, relation,
/// target, features, options)`.
macro_rules! supervised_trainer {
    ($(#[$doc:meta])* $name:ident => $inner:path) => {
        $(#[$doc])*
        #[pg_extern(volatile, parallel_unsafe)]
        #[allow(clippy::type_complexity)]
        fn $name(
            model_name: Option<&str>,
            relation: Option<pgrx::PgRelation>,
            target: Option<&str>,
            features: default!(Option<Vec<Option<String>>>, "NULL"),
            options: default!(Option<pgrx::JsonB>, "'{}'"),
        ) -> TableIterator<
            'static,
            (
                name!(model_id, i64),
                name!(model_name, String),
                name!(version, i32),
                name!(n_train, i64),
                name!(n_test, i64),
                name!(metrics, pgrx::JsonB),
            ),
        > {
            use $crate::pg::error::OrRaise;
            let oid = $crate::train::relation::relation_oid(relation);
            let t = $crate::train::begin(model_name, oid).and_then(|(name, rel)| {
                let target = $crate::pg::error::required(target, "target")?;
                $inner(name, rel, target, features, options.map(|j| j.0))
            });
            TableIterator::once(t.or_raise().row(model_name))
        }
    };
}
pub(crate) use supervised_trainer;
