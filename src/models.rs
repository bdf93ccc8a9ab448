//! SQL functions that serve every kind of model through the model protocol:
//! `feature_importance`, and `model_kinds`, the registry as a table.
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use shopml_core::model::REGISTRY;
use shopml_core::{Error, Result};

use crate::catalog::cache;
use crate::pg::error::{required, OrRaise};
use crate::serve::table_function;

/// How much each input column matters, summing to 1: for a logistic model the spread of its
/// contribution to the score (|standardised coefficient| for a number), for a forest the mean
/// decrease in impurity.
#[pg_extern(stable, parallel_safe)]
fn feature_importance(
    model_name: Option<&str>,
) -> TableIterator<'static, (name!(feature, String), name!(importance, f64))> {
    let name = required(model_name, "model_name").or_raise();
    let m = cache::deployed_in_statement(name).or_raise();
    let rows = m.importance().ok_or_else(|| {
        let mut kinds: Vec<&str> = REGISTRY
            .iter()
            .filter(|k| k.trainer == "train_logistic" || k.trainer == "train_forest")
            .map(|k| k.trainer)
            .collect();
        kinds.dedup();
        Error::invalid(format!(
            "model \"{name}\" is a {} model, not a classifier",
            m.kind().algorithm
        ))
        .with_hint(format!("Train one with shopml.{}.", kinds.join(" or ")))
    });
    TableIterator::new(rows.or_raise())
}

type KindRow = (String, String, i32, i32, String, String);

fn kind_rows() -> Result<Vec<KindRow>> {
    Ok(REGISTRY
        .iter()
        .map(|k| {
            (
                k.algorithm.to_string(),
                k.task_names(),
                i32::from(k.format_version),
                i32::from(k.oldest_format),
                format!("shopml.{}", k.trainer),
                k.serving.to_string(),
            )
        })
        .collect())
}

table_function! {
    /// The kinds of model this shopml stores and serves (the model registry).
    [immutable, parallel_safe] fn model_kinds() -> (
        algorithm: [String], task: [String], format_version: [i32], oldest_format: [i32],
        trainer: [String], serving: [String],
    ) = kind_rows
}
