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

/// The metrics of a training with a held-out split: the held-out rows' metrics at the top level
/// (the training rows' when nothing was held out), both sets under `train` and `test`, and
/// the kind's `extra` fields.
pub fn split_metrics<T: Serialize>(
    train: &T,
    test: Option<&T>,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut metrics = json(test.unwrap_or(train));
    if let serde_json::Value::Object(o) = &mut metrics {
        o.remove("n");
    }
    let sets = serde_json::json!({"train": json(train), "test": test.map(json)});
    with(with(metrics, sets), extra)
}

/// A training as its SQL function received it: the model's name, the relation opened by
/// [`begin`], and the options object.
pub struct Request<'a> {
    pub model_name: &'a str,
    pub rel: Relation,
    pub options: Option<serde_json::Value>,
    /// A trial of `tune`: trained and evaluated, not stored ([`Request::save`] returns the
    /// row with model_id 0).
    pub dry_run: bool,
    /// Fields added to the stored metrics (`tune`'s search).
    pub extra_metrics: Option<serde_json::Value>,
}

impl Request<'_> {
    /// Encodes `model` and stores it as the next version of its name, with what it was
    /// trained from and found; the result row shows `n_train` and `n_test`.
    pub fn save<T: Stored + Model>(
        &self,
        model: &T,
        target: Option<&str>,
        features: Vec<String>,
        mut o: Outcome,
    ) -> Result<TrainerRow> {
        if let Some(extra) = &self.extra_metrics {
            o.metrics = with(std::mem::take(&mut o.metrics), extra.clone());
        }
        if self.dry_run {
            return Ok(TrainerRow {
                model_id: 0,
                version: 0,
                counts: vec![("n_train", o.n_train), ("n_test", o.n_test)],
                metrics: o.metrics,
            });
        }
        let record = Record {
            model_name: self.model_name.to_string(),
            source: self.rel.sql_name.clone(),
            target: target.map(String::from),
            features,
        };
        let bytes = model::encode(model)?;
        let saved = catalog::save(T::KIND, &record, &o, bytes);
        Ok(TrainerRow {
            model_id: saved.model_id,
            version: saved.version,
            counts: vec![("n_train", o.n_train), ("n_test", o.n_test)],
            metrics: o.metrics,
        })
    }
}

/// A stored training, as a trainer returns it to SQL.
pub struct TrainerRow {
    pub model_id: i64,
    pub version: i32,
    /// The counts of the result row, by column.
    pub counts: Vec<(&'static str, i64)>,
    pub metrics: serde_json::Value,
}

impl TrainerRow {
    /// The result row shows these counts instead of `n_train` and `n_test`.
    pub fn showing(mut self, counts: &[(&'static str, i64)]) -> TrainerRow {
        self.counts = counts.to_vec();
        self
    }

    /// The count of a result column.
    pub fn count(&self, column: &str) -> i64 {
        let found = self.counts.iter().find(|(c, _)| *c == column);
        found.map_or(0, |&(_, n)| n)
    }
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

/// Declares the SQL function of a trainer: `(model_name, relation, <the kind's arguments>,
/// options DEFAULT '{}')` returning `(model_id, model_name, version, <the kind's counts>,
/// metrics)`. It runs [`begin`] and calls `inner(Request, <arguments>)`:
///
/// ```ignore
/// train::trainer! {
///     /// Trains ... (the COMMENT ON text)
///     fn train_x(target: Option<&str>, features: default!(Option<Vec<Option<String>>>, "NULL"),)
///         -> (n_train, n_test) = train_inner(target, features)
/// }
/// ```
macro_rules! trainer {
    ($(#[$doc:meta])* fn $name:ident($($args:tt)*) -> ($($count:ident),*)
        = $inner:ident($($pass:ident),*)) => {
        $(#[$doc])*
        #[pg_extern(volatile, parallel_unsafe)]
        #[allow(clippy::type_complexity)]
        fn $name(
            model_name: Option<&str>,
            relation: Option<pgrx::PgRelation>,
            $($args)*
            options: default!(Option<pgrx::JsonB>, "'{}'"),
        ) -> TableIterator<
            'static,
            (
                name!(model_id, i64),
                name!(model_name, String),
                name!(version, i32),
                $(name!($count, i64),)*
                name!(metrics, pgrx::JsonB),
            ),
        > {
            use $crate::pg::error::OrRaise;
            let oid = $crate::train::relation::relation_oid(relation);
            let t = $crate::train::begin(model_name, oid).and_then(|(model_name, rel)| {
                let options = options.map(|j| j.0);
                $inner($crate::train::Request { model_name, rel, options, dry_run: false, extra_metrics: None }, $($pass),*)
            });
            let t = t.or_raise();
            let name = model_name.unwrap_or_default().to_string();
            TableIterator::once((t.model_id, name, t.version, $(t.count(stringify!($count)),)* pgrx::JsonB(t.metrics)))
        }
    };
}
pub(crate) use trainer;

/// A trainer of `target` on `features` (train_linear, train_logistic, train_forest):
/// `(model_name, relation, target, features DEFAULT NULL, options DEFAULT '{}')` returning
/// `(model_id, model_name, version, n_train, n_test, metrics)`; calls `inner(Request, target,
/// features)`.
macro_rules! supervised_trainer {
    ($(#[$doc:meta])* $name:ident => $inner:ident) => {
        $crate::train::trainer! {
            $(#[$doc])*
            fn $name(target: Option<&str>, features: default!(Option<Vec<Option<String>>>, "NULL"),)
                -> (n_train, n_test) = $inner(target, features)
        }
    };
}
pub(crate) use supervised_trainer;
