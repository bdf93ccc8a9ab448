//! `shopml.predict`, `predict_proba` and `predict_label`: by model name or id, with a float8[]
//! of features, with the features as separate arguments (what the planner rewrites an ARRAY
//! into), or with a table row.
//!
//! Each call site keeps, for the whole statement, the decoded model and how to read its inputs:
//! the name is resolved to the deployed model id once per query, then every row costs reading
//! its cells, the model's preparation and its answer — all through the model protocol, so
//! every kind in the registry is served without code here. The functions are PARALLEL SAFE: a
//! parallel worker resolves and decodes the model on its own (read-only catalog lookups).
#![forbid(unsafe_code)]

use pgrx::pg_sys;
use pgrx::prelude::*;
use shopml_core::data::cell::Cell;
use shopml_core::data::prep::Encoding;
use shopml_core::linear::regression::LinearBundle;
use shopml_core::model::{Answer, Row, Want};
use shopml_core::{Error, ErrorKind, Result};

use crate::catalog::cache::{self, Loaded};
use crate::pg::datum::Conv;
use crate::pg::error::{raise, OrRaise};
use crate::pg::fcinfo::{Call, Out};
use crate::pg::row::{Column, RowType};

/// How a call names its model.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum By {
    Name,
    Id,
}

/// Which model a call site asked for.
#[derive(PartialEq)]
enum Key {
    Name(String),
    Id(i64),
}

/// How to read the model's inputs out of rows of one composite type.
pub(super) struct RowMap {
    row_type: RowType,
    inputs: Vec<Column>,
    /// The group column of a grouped model.
    group: Option<Column>,
}

/// What one call site keeps for the statement.
pub(super) struct Slot {
    key: Key,
    /// The model argument is a constant or parameter: no need to re-check it per row.
    key_stable: bool,
    pub(super) model_name: String,
    pub(super) model: Loaded,
    row: Option<RowMap>,
    /// Every input of the model is a number (so an array can feed it).
    numeric_inputs: bool,
    /// An ungrouped linear model without preparation: a dot product over the arguments.
    plain_linear: bool,
    /// Buffers for the prepared row, reused for every row.
    dense: Vec<f64>,
    hashed: Vec<u32>,
    /// The argument types of `_predict_args` were checked (they are fixed at a call site).
    args_checked: bool,
}

/// What a call site's slot is for: the predict functions or `shopml.explain` (which words
/// the refusal of a model without a preparation its own way).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Predict,
    Explain,
}

impl Slot {
    fn load(call: &Call, by: By, purpose: Purpose) -> Result<Slot> {
        let (key, model_name, model) = match by {
            By::Id => {
                let id = call.i64(0);
                let (name, m) = cache::by_id(id)?;
                (Key::Id(id), name, m)
            }
            By::Name => {
                let name = call.text(0);
                let (_, m) = cache::deployed(&name)?;
                (Key::Name(name.clone()), name, m)
            }
        };
        let prep = model.prep().ok_or_else(|| {
            if purpose == Purpose::Explain {
                let hint = if model.kind().task == shopml_core::model::Task::Recommendation {
                    "shopml.explain_recommendation(model_name, user_id, item_id) lists the user's items behind a recommendation.".to_string()
                } else {
                    format!("Serve it with {}.", model.kind().serving)
                };
                return Error::invalid(format!(
                    "model \"{model_name}\" is {}; shopml.explain takes apart predictions of models served by shopml.predict",
                    model.kind().noun
                ))
                .with_hint(hint);
            }
            // The model's own refusal names what serves it.
            match model.predict(&model_name, &Row::default(), Want::Value) {
                Err(e) => e,
                Ok(_) => Error::internal("a model without a preparation answered"),
            }
        })?;
        let numeric_inputs = prep.all_numeric();
        let plain_linear = model
            .as_any()
            .downcast_ref::<LinearBundle>()
            .is_some_and(|b| b.prep.is_identity() && b.group_by.is_none() && b.groups.len() == 1);
        let width = prep.dense_width;
        Ok(Slot {
            key,
            key_stable: call.arg_is_stable(0),
            model_name,
            model,
            row: None,
            numeric_inputs,
            plain_linear,
            dense: vec![0.0; width],
            hashed: Vec::new(),
            args_checked: false,
        })
    }

    /// Whether this slot still serves the call's model argument.
    fn serves(&self, call: &Call, by: By) -> bool {
        self.key_stable
            || match &self.key {
                Key::Id(id) => by == By::Id && *id == call.i64(0),
                Key::Name(n) => by == By::Name && *n == call.text(0),
            }
    }

    pub(super) fn input_names(&self) -> Vec<String> {
        self.model
            .prep()
            .map(|p| p.inputs.iter().map(|i| i.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Checks a call with `n` numbers (a float8[] or float8 arguments): the model must take
    /// `n` inputs, all numeric. Per row it only compares counts and reads a flag; the names
    /// for the error are built only when it fails.
    pub(super) fn check_numbers(&self, n: usize) -> Result<()> {
        let inputs = self.model.prep().map_or(0, |p| p.inputs.len());
        if n != inputs {
            let names = self.input_names();
            return Err(Error::invalid(format!(
                "model \"{}\" takes {} features, got {n}",
                self.model_name,
                names.len()
            ))
            .with_detail(format!("Features in order: {}.", names.join(", "))));
        }
        if !self.numeric_inputs {
            return Err(Error::invalid(format!(
                "model \"{}\" takes text (categorical) or date features, which an array of numbers cannot carry",
                self.model_name
            ))
            .with_hint(format!(
                "Predict by row instead: SELECT shopml.predict('{}', t) FROM t.",
                self.model_name
            )));
        }
        Ok(())
    }

    /// The model's answer for the prepared row in the buffers.
    fn answer(&self, call: &Call, group: Option<Option<&str>>, want: Want) -> pg_sys::Datum {
        let row = Row {
            dense: &self.dense,
            hashed: &self.hashed,
            group,
        };
        match self.model.predict(&self.model_name, &row, want).or_raise() {
            Answer::Null => call.null(),
            Answer::Number(v) => call.float(v),
            Answer::Text(t) => call.text_result(&t),
        }
    }

    /// Prepares a row of numbers (None: NULL); false when the preparation says NULL.
    /// Prepares a record argument into the buffers: None when the preparation says NULL,
    /// else whether the model is grouped and the row's group value.
    fn prepare_record(
        &mut self,
        call: &Call,
        record: &crate::pg::row::Record,
    ) -> Option<(bool, Option<String>)> {
        let (cells, grouped, group_text) = self.row_cells(call, record);
        let Slot {
            model,
            dense,
            hashed,
            ..
        } = self;
        hashed.clear();
        let prep = model.prep().expect("slots hold models with a preparation");
        prep.encode(&cells, dense, hashed)
            .then_some((grouped, group_text))
    }

    fn prepare_numbers(&mut self, values: impl Iterator<Item = Option<f64>>) -> bool {
        let Slot {
            model,
            dense,
            hashed,
            ..
        } = self;
        hashed.clear();
        model
            .prep()
            .is_some_and(|p| p.encode_numbers(values, dense))
    }

    /// The model's input cells of `record` (in the preparation's order), whether the model
    /// is grouped, and the row's group value as text.
    pub(super) fn row_cells<'r>(
        &mut self,
        call: &Call,
        record: &'r crate::pg::row::Record,
    ) -> (Vec<Cell<'r>>, bool, Option<String>) {
        if !self
            .row
            .as_ref()
            .is_some_and(|m| m.row_type.matches(record))
        {
            self.row = Some(self.row_map(call, record).or_raise());
        }
        let map = self.row.as_ref().expect("mapped above");
        let cells: Vec<Cell> = map
            .inputs
            .iter()
            .map(|c| map.row_type.cell(record, c))
            .collect();
        let group_text = map
            .group
            .as_ref()
            .and_then(|g| match map.row_type.cell(record, g) {
                Cell::Num(v) if g.conv == Conv::Bool => {
                    Some(if v != 0.0 { "true" } else { "false" }.to_string())
                }
                c => c.category().map(|t| t.into_owned()),
            });
        (cells, map.group.is_some(), group_text)
    }

    /// The mapping of the model's inputs (and group column) onto rows of `record`'s type.
    fn row_map(&self, call: &Call, record: &crate::pg::row::Record) -> Result<RowMap> {
        let row_type = RowType::of(record, call.site_context());
        let prep = self
            .model
            .prep()
            .expect("slots hold models with a preparation");
        let mut missing = Vec::new();
        let mut inputs = Vec::with_capacity(prep.inputs.len());
        for input in &prep.inputs {
            match row_type.column(&input.name) {
                Some(c) => {
                    if matches!(input.encoding, Encoding::Numeric { .. }) && !c.conv.is_number() {
                        return Err(Error::mismatch(format!(
                            "column \"{}\" of the row is not numeric (model \"{}\")",
                            input.name, self.model_name
                        )));
                    }
                    if matches!(input.encoding, Encoding::Time { .. })
                        && !matches!(c.conv, Conv::Date | Conv::Timestamp)
                    {
                        return Err(Error::mismatch(format!(
                            "column \"{}\" of the row is not a date or timestamp (model \"{}\")",
                            input.name, self.model_name
                        )));
                    }
                    inputs.push(c);
                }
                None => missing.push(input.name.clone()),
            }
        }
        let group = match self.model.group_column() {
            Some(g) => {
                let c = row_type.column(g);
                if c.is_none() {
                    missing.push(g.to_string());
                }
                c
            }
            None => None,
        };
        if let Some(first) = missing.first() {
            return Err(Error::new(
                ErrorKind::UndefinedColumn,
                format!(
                    "the row has no column \"{first}\" that model \"{}\" needs",
                    self.model_name
                ),
            )
            .with_detail(format!("The model needs: {}.", self.input_names().join(", ")))
            .with_hint("Rename columns in a subquery, e.g. SELECT shopml.predict('m', r) FROM (SELECT a AS x1, ... FROM t) r."));
        }
        Ok(RowMap {
            row_type,
            inputs,
            group,
        })
    }
}

/// Runs `f` with the call site's slot, (re)loading the model when the model argument changed.
fn with_slot(call: &Call, by: By, f: impl FnOnce(&mut Slot) -> pg_sys::Datum) -> pg_sys::Datum {
    with_slot_for(call, by, Purpose::Predict, f)
}

/// [`with_slot`] for a purpose.
pub(super) fn with_slot_for(
    call: &Call,
    by: By,
    purpose: Purpose,
    f: impl FnOnce(&mut Slot) -> pg_sys::Datum,
) -> pg_sys::Datum {
    if call.is_null(0) {
        raise(Error::invalid(match by {
            By::Id => "model_id must not be NULL",
            By::Name => "model_name must not be NULL",
        }));
    }
    call.with_slot::<Slot, _>(|slot| {
        if !slot.as_ref().is_some_and(|s| s.serves(call, by)) {
            *slot = Some(Slot::load(call, by, purpose).or_raise());
        }
        f(slot.as_mut().expect("loaded above"))
    })
}

/// `predict(m, float8[])`, `predict_proba(m, float8[])`, `predict_label(m, float8[])`.
pub fn array(call: &Call, by: By, want: Want) -> pg_sys::Datum {
    with_slot(call, by, |s| {
        if call.is_null(1) {
            return call.null();
        }
        let Some(x) = call.float8_array(1).or_raise() else {
            // NULL elements: missing inputs, imputed or kept as the preparation says.
            let x = call.float8_array_nullable(1).or_raise();
            s.check_numbers(x.len()).or_raise();
            if !s.prepare_numbers(x.into_iter()) {
                return call.null();
            }
            return s.answer(call, None, want);
        };
        s.check_numbers(x.len()).or_raise();
        if !s.prepare_numbers(x.iter().map(|v| Some(*v))) {
            return call.null();
        }
        s.answer(call, None, want)
    })
}

/// `_predict_args(m, VARIADIC "any")`: what `predict(m, ARRAY[x1, ...])` is rewritten to.
pub fn args(call: &Call, by: By) -> pg_sys::Datum {
    with_slot(call, by, |s| {
        let n = call.nargs() - 1;
        if !s.args_checked {
            if let Some(i) = (1..=n).find(|&i| call.arg_type(i) != pg_sys::FLOAT8OID) {
                raise(
                    Error::mismatch(format!(
                        "shopml._predict_args takes float8 features; argument {} is of another type",
                        i + 1
                    ))
                    .with_hint("Call shopml.predict(model, ARRAY[x1, ...]) instead."),
                );
            }
            s.args_checked = true;
        }
        if s.plain_linear && n == s.dense.len() {
            // The hot path: a dot product over the arguments, no copy.
            let b = s
                .model
                .as_any()
                .downcast_ref::<LinearBundle>()
                .expect("plain_linear is a linear bundle");
            let m = &b.groups[0].1;
            let mut y = m.intercept;
            for (j, w) in m.weights.iter().enumerate() {
                if call.is_null(j + 1) {
                    return call.null();
                }
                y += w * call.f64(j + 1);
            }
            return call.float(y);
        }
        s.check_numbers(n).or_raise();
        let values = (1..=n).map(|i| (!call.is_null(i)).then(|| call.f64(i)));
        if !s.prepare_numbers(values) {
            return call.null();
        }
        s.answer(call, None, Want::Value)
    })
}

/// The rows of `predict_classes`: every class's label and probability, in class order.
fn class_rows(s: &Slot, call: &Call, group: Option<Option<&str>>) -> pg_sys::Datum {
    let row = Row {
        dense: &s.dense,
        hashed: &s.hashed,
        group,
    };
    let probs = s.model.class_probabilities(&s.model_name, &row).or_raise();
    let rows: Vec<Vec<Out>> = s
        .model
        .class_labels()
        .iter()
        .zip(probs)
        .map(|(l, p)| vec![Out::Text(l.clone()), Out::Float(p)])
        .collect();
    call.table_result(&rows)
}

/// `predict_classes(m, record)`: no rows when the prediction is NULL.
pub fn classes_row(call: &Call, by: By) -> pg_sys::Datum {
    with_slot(call, by, |s| {
        if call.is_null(1) {
            return call.table_result(&[]);
        }
        let record = call.record(1);
        let Some((grouped, group_text)) = s.prepare_record(call, &record) else {
            return call.table_result(&[]);
        };
        class_rows(s, call, grouped.then_some(group_text.as_deref()))
    })
}

/// `predict_classes(m, float8[])`.
pub fn classes_array(call: &Call, by: By) -> pg_sys::Datum {
    with_slot(call, by, |s| {
        if call.is_null(1) {
            return call.table_result(&[]);
        }
        let x = call.float8_array_nullable(1).or_raise();
        s.check_numbers(x.len()).or_raise();
        if !s.prepare_numbers(x.into_iter()) {
            return call.table_result(&[]);
        }
        class_rows(s, call, None)
    })
}

/// `predict(m, record)`, `predict_proba(m, record)`, `predict_label(m, record)`.
pub fn row(call: &Call, by: By, want: Want) -> pg_sys::Datum {
    with_slot(call, by, |s| {
        if call.is_null(1) {
            return call.null();
        }
        let record = call.record(1);
        let Some((grouped, group_text)) = s.prepare_record(call, &record) else {
            return call.null();
        };
        s.answer(call, grouped.then_some(group_text.as_deref()), want)
    })
}

extension_sql!(
    r#"
CREATE FUNCTION shopml.predict_classes(model_name text, "row" record)
    RETURNS TABLE(label text, probability float8)
    AS 'MODULE_PATHNAME', 'shopml_predict_classes_name_row' LANGUAGE C STABLE PARALLEL SAFE ROWS 3;
CREATE FUNCTION shopml.predict_classes(model_name text, features float8[])
    RETURNS TABLE(label text, probability float8)
    AS 'MODULE_PATHNAME', 'shopml_predict_classes_name_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 3;
CREATE FUNCTION shopml.predict_classes(model_id bigint, "row" record)
    RETURNS TABLE(label text, probability float8)
    AS 'MODULE_PATHNAME', 'shopml_predict_classes_id_row' LANGUAGE C STABLE PARALLEL SAFE ROWS 3;
CREATE FUNCTION shopml.predict_classes(model_id bigint, features float8[])
    RETURNS TABLE(label text, probability float8)
    AS 'MODULE_PATHNAME', 'shopml_predict_classes_id_array' LANGUAGE C STABLE PARALLEL SAFE ROWS 3;
COMMENT ON FUNCTION shopml.predict_classes(text, record) IS
  'Every class''s probability from the deployed version of a classifier (logistic, random forest, boosted trees binary or multiclass) for a table row: one row per class label, in class order, the probabilities summing to 1. No rows when the prediction is NULL.';
COMMENT ON FUNCTION shopml.predict_classes(text, float8[]) IS
  'shopml.predict_classes for one row of numeric features in model order.';
COMMENT ON FUNCTION shopml.predict_classes(bigint, record) IS
  'shopml.predict_classes of one specific model version (by model_id, deployed or not) for a table row.';
COMMENT ON FUNCTION shopml.predict_classes(bigint, float8[]) IS
  'shopml.predict_classes of one specific model version (by model_id) for one row of numeric features.';
CREATE FUNCTION shopml._predict_support(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'shopml_predict_support' LANGUAGE C STRICT;
CREATE FUNCTION shopml._predict_args(model_name text, VARIADIC "any") RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_name_args' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION shopml._predict_args(text, "any") IS
  'Internal: what predict(model_name, ARRAY[x1, ...]) is rewritten to at plan time (no array per row).';
CREATE FUNCTION shopml._predict_args(model_id bigint, VARIADIC "any") RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_id_args' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION shopml._predict_args(bigint, "any") IS
  'Internal: what predict(model_id, ARRAY[x1, ...]) is rewritten to at plan time (no array per row).';
CREATE FUNCTION shopml.predict(model_name text, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_name_array' LANGUAGE C STABLE PARALLEL SAFE
    SUPPORT shopml._predict_support;
COMMENT ON FUNCTION shopml.predict(text, float8[]) IS
  'Prediction of the deployed version of a model for one row of features (in the order of shopml.models.features). A NULL feature is prepared as the model''s impute option says (NULL under skip).';
CREATE FUNCTION shopml.predict(model_id bigint, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_id_array' LANGUAGE C STABLE PARALLEL SAFE
    SUPPORT shopml._predict_support;
COMMENT ON FUNCTION shopml.predict(bigint, float8[]) IS
  'Prediction of one specific model version (by model_id) for one row of features.';
CREATE FUNCTION shopml.predict(model_name text, "row" record) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_name_row' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
CREATE FUNCTION shopml.predict_proba(model_name text, features float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_proba_name_array' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION shopml.predict_proba(text, float8[]) IS
  'Probability of the positive class from the deployed version of a classifier, for one row of features (in model order). A NULL feature is prepared as the model''s impute option says (NULL under skip).';
CREATE FUNCTION shopml.predict_proba(model_name text, "row" record) RETURNS float8
    AS 'MODULE_PATHNAME', 'shopml_predict_proba_name_row' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION shopml.predict_proba(text, record) IS
  'Probability of the positive class for a table row (features matched by column name).';
CREATE FUNCTION shopml.predict_label(model_name text, features float8[]) RETURNS text
    AS 'MODULE_PATHNAME', 'shopml_predict_label_name_array' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION shopml.predict_label(text, float8[]) IS
  'Predicted label (as text) of the deployed version of a classifier, or segment of a k-means model, for one row of numeric features in model order.';
CREATE FUNCTION shopml.predict_label(model_name text, "row" record) RETURNS text
    AS 'MODULE_PATHNAME', 'shopml_predict_label_name_row' LANGUAGE C STABLE PARALLEL SAFE
    COST 100;
COMMENT ON FUNCTION shopml.predict_label(text, record) IS
  'Predicted label (as text) of a classifier, or segment of a k-means model, for a table row: features matched by column name and prepared as in training (unseen categories are not errors).';
-- The same by model_id: a version that is not deployed (a challenger) scored beside the
-- deployed one (the champion) before shopml.deploy.
CREATE FUNCTION shopml.predict(model_id bigint, "row" record) RETURNS float8 AS 'MODULE_PATHNAME', 'shopml_predict_id_row' LANGUAGE C STABLE PARALLEL SAFE COST 100;
CREATE FUNCTION shopml.predict_proba(model_id bigint, features float8[]) RETURNS float8 AS 'MODULE_PATHNAME', 'shopml_predict_proba_id_array' LANGUAGE C STABLE PARALLEL SAFE COST 100;
CREATE FUNCTION shopml.predict_proba(model_id bigint, "row" record) RETURNS float8 AS 'MODULE_PATHNAME', 'shopml_predict_proba_id_row' LANGUAGE C STABLE PARALLEL SAFE COST 100;
CREATE FUNCTION shopml.predict_label(model_id bigint, features float8[]) RETURNS text AS 'MODULE_PATHNAME', 'shopml_predict_label_id_array' LANGUAGE C STABLE PARALLEL SAFE COST 100;
CREATE FUNCTION shopml.predict_label(model_id bigint, "row" record) RETURNS text AS 'MODULE_PATHNAME', 'shopml_predict_label_id_row' LANGUAGE C STABLE PARALLEL SAFE COST 100;
COMMENT ON FUNCTION shopml.predict(bigint, record) IS
  'Prediction of one specific model version (by model_id, deployed or not) for a table row, as predict(model_name, row).';
COMMENT ON FUNCTION shopml.predict_proba(bigint, float8[]) IS
  'Probability of the positive class from one specific classifier version (by model_id), for one row of features in model order.';
COMMENT ON FUNCTION shopml.predict_proba(bigint, record) IS
  'Probability of the positive class from one specific classifier version (by model_id), for a table row.';
COMMENT ON FUNCTION shopml.predict_label(bigint, float8[]) IS
  'Predicted label of one specific classifier or k-means version (by model_id), for one row of features in model order.';
COMMENT ON FUNCTION shopml.predict_label(bigint, record) IS
  'Predicted label of one specific classifier or k-means version (by model_id), for a table row.';
COMMENT ON FUNCTION shopml.predict(text, record) IS
  'Prediction of the deployed version of a model for a table row: features are matched by column name, and the group column picks the sub-model of a grouped model (an unseen group gives NULL).';
"#,
    name = "predict_functions",
    requires = ["catalog"],
);
