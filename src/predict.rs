//! `shopml.predict`: by model name or id with a float8[] of features, or with a table row.
//!
//! Each call site (the `fn_extra` of the query's function call) keeps the decoded model for the
//! whole statement: the name is resolved to the deployed model id once per query, then every
//! row costs a dot product. The functions are PARALLEL SAFE: a parallel worker resolves and
//! decodes the model on its own (read-only catalog lookups, no transaction id needed).

use std::ffi::CStr;
use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use shopml_core::linear::{LinearBundle, LinearModel};
use shopml_core::logistic::sigmoid;
use shopml_core::prep::{Cell, Encoding, Prep};
use shopml_core::{Error, ErrorKind};

use crate::aggregate::args;
use crate::cache::{self, Loaded};
use crate::error::raise;
use crate::linear::float8_array;
use crate::v1_function;

/// Which model a call site asked for.
#[derive(PartialEq)]
enum Key {
    Name(String),
    Id(i64),
}

/// How to read features out of rows of one composite type.
struct RowMap {
    /// A copy of the row type's descriptor, in the call site's memory context.
    desc: pg_sys::TupleDesc,
    typeid: pg_sys::Oid,
    typmod: i32,
    /// Per model input: attribute number, type oid, and for a categorical input the type's
    /// output function (None for numeric inputs).
    features: Vec<(i16, pg_sys::Oid, Option<pg_sys::Oid>)>,
    /// (attribute number, type oid, output function) of the group column.
    group: Option<(i16, pg_sys::Oid, pg_sys::Oid)>,
}

/// What one call site keeps for the statement.
struct Slot {
    key: Key,
    /// The model argument is a constant or parameter: no need to re-check it per row.
    key_stable: bool,
    model_name: String,
    model: Rc<Loaded>,
    row: Option<RowMap>,
    /// Every input of the model is a number (so an array can feed it).
    numeric_inputs: bool,
    /// Buffers for the prepared row, reused for every row.
    dense: Vec<f64>,
    hashed: Vec<u32>,
}

/// What a call asks of the model.
#[derive(Clone, Copy, PartialEq)]
enum Want {
    /// `predict`: a number (regression value, segment, or a classifier's numeric label).
    Value,
    /// `predict_proba`: probability of the positive class.
    Proba,
    /// `predict_label`: the label (or segment) as text.
    Label,
}

unsafe fn text_arg(d: pg_sys::Datum) -> String {
    unsafe {
        let v = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
        String::from_utf8_lossy(pgrx::varlena_to_byte_slice(v)).into_owned()
    }
}

/// The call site's slot, (re)loading the model when the model argument changed.
unsafe fn slot<'a>(fcinfo: pg_sys::FunctionCallInfo, by_id: bool) -> &'a mut Slot {
    unsafe {
        let a = args(fcinfo);
        let flinfo = (*fcinfo).flinfo;
        if a[0].isnull {
            raise(Error::invalid(if by_id {
                "model_id must not be NULL"
            } else {
                "model_name must not be NULL"
            }));
        }
        let existing = ((*flinfo).fn_extra as *mut Slot).as_mut();
        if let Some(s) = existing {
            if s.key_stable {
                return s;
            }
            let same = match &s.key {
                Key::Id(id) => by_id && *id == a[0].value.value() as i64,
                Key::Name(n) => !by_id && *n == text_arg(a[0].value),
            };
            if same {
                return s;
            }
        }
        let (key, model_name, model) = if by_id {
            let id = a[0].value.value() as i64;
            let (name, m) = cache::by_id(id).unwrap_or_else(|e| raise(e));
            (Key::Id(id), name, m)
        } else {
            let name = text_arg(a[0].value);
            let (_, m) = cache::deployed(&name).unwrap_or_else(|e| raise(e));
            (Key::Name(name.clone()), name, m)
        };
        if !matches!(
            model.as_ref(),
            Loaded::Linear(_) | Loaded::KMeans(_) | Loaded::Logistic(_) | Loaded::Forest(_)
        ) {
            raise(
                Error::invalid(format!(
                    "model \"{model_name}\" is a {} model; shopml.predict and shopml.predict_proba serve regression, classification and k-means models",
                    model.algorithm()
                ))
                .with_hint(
                    "Serve recommenders with shopml.recommend_for_user or shopml.similar_items, demand models with shopml.optimal_price or shopml.price_curve.",
                ),
            );
        }
        let numeric_inputs = prep_of(&model).all_numeric();
        let new = Slot {
            key,
            key_stable: pg_sys::get_fn_expr_arg_stable(flinfo, 0),
            model_name,
            model,
            row: None,
            numeric_inputs,
            dense: Vec::new(),
            hashed: Vec::new(),
        };
        match ((*flinfo).fn_extra as *mut Slot).as_mut() {
            Some(s) => {
                *s = new;
                s
            }
            None => {
                let p = PgMemoryContexts::For((*flinfo).fn_mcxt).leak_and_drop_on_delete(new);
                (*flinfo).fn_extra = p.cast();
                &mut *p
            }
        }
    }
}

/// The preparation of a servable model.
fn prep_of(m: &Loaded) -> &Prep {
    match m {
        Loaded::Linear(b) => &b.prep,
        Loaded::KMeans(k) => &k.prep,
        Loaded::Logistic(l) => &l.prep,
        Loaded::Forest(f) => &f.prep,
        _ => unreachable!("the slot only holds servable models"),
    }
}

/// The input columns a model takes, in order.
fn feature_names(m: &Loaded) -> Vec<String> {
    prep_of(m).inputs.iter().map(|i| i.name.clone()).collect()
}

fn float_datum(v: f64) -> pg_sys::Datum {
    pg_sys::Datum::from(v.to_bits())
}

fn text_datum(v: &str) -> pg_sys::Datum {
    pg_sys::Datum::from(pgrx::rust_str_to_text_p(v).into_pg())
}

/// The model's answer for one row of input cells. `group` is the group column's value for a
/// row of a grouped linear model (None when the call has no row).
unsafe fn answer(
    fcinfo: pg_sys::FunctionCallInfo,
    s: &mut Slot,
    cells: &[Cell],
    group: Option<Option<&str>>,
    want: Want,
) -> pg_sys::Datum {
    unsafe {
        let prep = prep_of(&s.model);
        s.dense.resize(prep.dense_width, 0.0);
        s.hashed.clear();
        if !prep.encode(cells, &mut s.dense, &mut s.hashed) {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        }
        answer_prepared(fcinfo, s, group, want)
    }
}

/// The model's answer for the prepared row in the slot's buffers.
unsafe fn answer_prepared(
    fcinfo: pg_sys::FunctionCallInfo,
    s: &Slot,
    group: Option<Option<&str>>,
    want: Want,
) -> pg_sys::Datum {
    unsafe {
        let null = || pgrx::fcinfo::pg_return_null(fcinfo);
        let x = &s.dense;
        match (s.model.as_ref(), want) {
            (Loaded::Linear(b), Want::Value) => {
                let m = match group {
                    Some(key) if b.group_by.is_some() => match b.group(key) {
                        Some(m) => m,
                        // A group never seen in training has no model: NULL, not an error.
                        None => return null(),
                    },
                    _ => single(&s.model_name, b),
                };
                float_datum(m.predict(x))
            }
            (Loaded::KMeans(km), Want::Value | Want::Label) => match km.assign(x) {
                Some(j) if want == Want::Value => float_datum(j as f64),
                Some(j) => text_datum(&j.to_string()),
                None => null(),
            },
            (Loaded::Logistic(l), _) => {
                let p = sigmoid(l.score_prepared(x, &s.hashed));
                let class = usize::from(p >= l.threshold);
                match want {
                    Want::Proba => float_datum(p),
                    Want::Value => float_datum(class as f64),
                    Want::Label => text_datum(&l.labels[class]),
                }
            }
            (Loaded::Forest(fm), _) => {
                let class = fm.class_of(x);
                match want {
                    Want::Label => text_datum(&fm.labels[class]),
                    Want::Value => match fm.numeric_label(class) {
                        Some(v) => float_datum(v),
                        None => raise(
                            Error::invalid(format!(
                                "model \"{}\" has text labels, which predict (float8) cannot return",
                                s.model_name
                            ))
                            .with_hint("Use shopml.predict_label for the label as text."),
                        ),
                    },
                    Want::Proba if fm.labels.len() == 2 => float_datum(fm.positive_probability(x)),
                    Want::Proba => raise(
                        Error::invalid(format!(
                            "model \"{}\" has {} classes; predict_proba gives the probability of the positive class of a two-class model",
                            s.model_name,
                            fm.labels.len()
                        ))
                        .with_hint("Use shopml.predict_label for the most probable class."),
                    ),
                }
            }
            (_, Want::Proba) => raise(
                Error::invalid(format!(
                    "model \"{}\" is a {} model; predict_proba serves classifiers",
                    s.model_name,
                    s.model.algorithm()
                ))
                .with_hint("Use shopml.predict for regression and k-means models."),
            ),
            (_, _) => raise(
                Error::invalid(format!(
                    "model \"{}\" is a {} model; predict_label serves classifiers and k-means models",
                    s.model_name,
                    s.model.algorithm()
                ))
                .with_hint("Use shopml.predict for regression models."),
            ),
        }
    }
}

fn single<'a>(name: &str, b: &'a LinearBundle) -> &'a LinearModel {
    if b.group_by.is_some() || b.groups.len() != 1 {
        raise(
            Error::invalid(format!(
                "model \"{name}\" has one sub-model per {}; it needs the group value",
                b.group_by.as_deref().unwrap_or("group")
            ))
            .with_hint(format!(
                "Predict by row instead: SELECT shopml.predict('{name}', t) FROM t."
            )),
        );
    }
    &b.groups[0].1
}

/// Checks a call with `n` numbers (a float8[] or variadic float8 arguments): the model must
/// take `n` inputs, all numeric. Per row it only compares counts and reads a flag; the names
/// for the error are built only when it fails.
fn check_array(s: &Slot, n: usize) {
    let prep = prep_of(&s.model);
    if n != prep.inputs.len() {
        let names = feature_names(&s.model);
        raise(
            Error::invalid(format!(
                "model \"{}\" takes {} features, got {n}",
                s.model_name,
                names.len()
            ))
            .with_detail(format!("Features in order: {}.", names.join(", "))),
        );
    }
    if !s.numeric_inputs {
        raise(
            Error::invalid(format!(
                "model \"{}\" takes text (categorical) features, which an array of numbers cannot carry",
                s.model_name
            ))
            .with_hint(format!(
                "Predict by row instead: SELECT shopml.predict('{}', t) FROM t.",
                s.model_name
            )),
        );
    }
}

unsafe fn predict_array(
    fcinfo: pg_sys::FunctionCallInfo,
    by_id: bool,
    want: Want,
) -> pg_sys::Datum {
    unsafe {
        let s = slot(fcinfo, by_id);
        let a = args(fcinfo);
        if a[1].isnull {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        }
        let Some(x) = float8_array(a[1].value) else {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        };
        check_array(s, x.len());
        let prep = prep_of(&s.model);
        s.dense.resize(prep.dense_width, 0.0);
        s.hashed.clear();
        if !prep.encode_numbers(x.iter().map(|v| Some(*v)), &mut s.dense) {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        }
        answer_prepared(fcinfo, s, None, want)
    }
}

v1_function!(pg_finfo_shopml_predict_name_array);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_name_array(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { predict_array(fcinfo, false, Want::Value) }
}

v1_function!(pg_finfo_shopml_predict_id_array);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_id_array(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { predict_array(fcinfo, true, Want::Value) }
}

/// Builds the feature mapping for rows of the given composite type.
unsafe fn row_map(
    s: &Slot,
    mcxt: pg_sys::MemoryContext,
    typeid: pg_sys::Oid,
    typmod: i32,
) -> RowMap {
    unsafe {
        let names = feature_names(&s.model);
        let prep = prep_of(&s.model);
        let group_by = match s.model.as_ref() {
            Loaded::Linear(b) => b.group_by.as_ref(),
            _ => None,
        };
        // A private copy: no reference count to release, and it lives as long as the slot.
        let old = pg_sys::MemoryContextSwitchTo(mcxt);
        let tupdesc = pg_sys::lookup_rowtype_tupdesc_copy(typeid, typmod);
        pg_sys::MemoryContextSwitchTo(old);
        let natts = (*tupdesc).natts as usize;
        let attrs = (*tupdesc).attrs.as_slice(natts);
        let find = |name: &str| -> Option<(i16, pg_sys::Oid)> {
            attrs
                .iter()
                .find(|att| {
                    !att.attisdropped
                        && CStr::from_ptr(att.attname.data.as_ptr()).to_str() == Ok(name)
                })
                .map(|att| (att.attnum, att.atttypid))
        };
        let mut features = Vec::with_capacity(names.len());
        let mut missing = Vec::new();
        for (f, input) in names.iter().zip(&prep.inputs) {
            let categorical = !matches!(input.encoding, Encoding::Numeric { .. });
            match find(f) {
                Some((num, ty)) if categorical => {
                    let mut out = pg_sys::Oid::INVALID;
                    let mut varlena = false;
                    pg_sys::getTypeOutputInfo(ty, &mut out, &mut varlena);
                    features.push((num, ty, Some(out)));
                }
                Some((num, ty)) => {
                    if !numeric_type(ty) {
                        raise(Error::new(
                            ErrorKind::DatatypeMismatch,
                            format!(
                                "column \"{f}\" of the row is not numeric (model \"{}\")",
                                s.model_name
                            ),
                        ));
                    }
                    features.push((num, ty, None));
                }
                None => missing.push(f.as_str()),
            }
        }
        let group = group_by.and_then(|g| {
            let found = find(g);
            if found.is_none() {
                missing.push(g.as_str());
            }
            found.map(|(num, ty)| {
                let mut out = pg_sys::Oid::INVALID;
                let mut varlena = false;
                pg_sys::getTypeOutputInfo(ty, &mut out, &mut varlena);
                (num, ty, out)
            })
        });
        if !missing.is_empty() {
            raise(
                Error::new(
                    ErrorKind::UndefinedColumn,
                    format!(
                        "the row has no column \"{}\" that model \"{}\" needs",
                        missing[0], s.model_name
                    ),
                )
                .with_detail(format!("The model needs: {}.", names.join(", ")))
                .with_hint("Rename columns in a subquery, e.g. SELECT shopml.predict('m', r) FROM (SELECT a AS x1, ... FROM t) r."),
            );
        }
        RowMap {
            desc: tupdesc,
            typeid,
            typmod,
            features,
            group,
        }
    }
}

fn numeric_type(ty: pg_sys::Oid) -> bool {
    [
        pg_sys::FLOAT8OID,
        pg_sys::FLOAT4OID,
        pg_sys::INT2OID,
        pg_sys::INT4OID,
        pg_sys::INT8OID,
        pg_sys::NUMERICOID,
        pg_sys::BOOLOID,
    ]
    .contains(&ty)
}

/// A numeric datum as f64.
unsafe fn to_f64(d: pg_sys::Datum, ty: pg_sys::Oid) -> f64 {
    let raw = d.value();
    match ty {
        pg_sys::FLOAT8OID => f64::from_bits(raw as u64),
        pg_sys::FLOAT4OID => f32::from_bits(raw as u32) as f64,
        pg_sys::INT2OID => raw as i16 as f64,
        pg_sys::INT4OID => raw as i32 as f64,
        pg_sys::INT8OID => raw as i64 as f64,
        pg_sys::BOOLOID => f64::from(u8::from(raw & 0xff != 0)),
        pg_sys::NUMERICOID => unsafe {
            pgrx::direct_function_call::<f64>(pg_sys::numeric_float8_no_overflow, &[Some(d)])
                .unwrap_or(f64::NAN)
        },
        _ => f64::NAN,
    }
}

v1_function!(pg_finfo_shopml_predict_name_row);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_name_row(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { predict_row(fcinfo, Want::Value) }
}

v1_function!(pg_finfo_shopml_predict_proba_name_row);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_proba_name_row(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { predict_row(fcinfo, Want::Proba) }
}

v1_function!(pg_finfo_shopml_predict_proba_name_array);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_proba_name_array(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { predict_array(fcinfo, false, Want::Proba) }
}

/// One attribute of a composite datum (detoasted, so its header is 4 bytes).
unsafe fn attribute(
    htup: pg_sys::HeapTupleHeader,
    desc: pg_sys::TupleDesc,
    num: i16,
    isnull: &mut bool,
) -> pg_sys::Datum {
    unsafe {
        let mut tuple = pg_sys::HeapTupleData {
            t_len: pgrx::varlena::varsize(htup as *const pg_sys::varlena) as u32,
            t_self: pg_sys::ItemPointerData::default(),
            t_tableOid: pg_sys::Oid::INVALID,
            t_data: htup,
        };
        pg_sys::heap_getattr(&mut tuple, i32::from(num), desc, isnull)
    }
}

/// Reads the model's inputs out of a row as cells (text borrowed from the row or from the
/// output function's result, both alive for this call).
unsafe fn row_cells<'a>(htup: pg_sys::HeapTupleHeader, map: &RowMap) -> Vec<Cell<'a>> {
    unsafe {
        let mut cells = Vec::with_capacity(map.features.len());
        for &(num, ty, out) in &map.features {
            let mut isnull = false;
            let d = attribute(htup, map.desc, num, &mut isnull);
            cells.push(if isnull {
                Cell::Null
            } else {
                match out {
                    None => Cell::Num(to_f64(d, ty)),
                    Some(_)
                        if [pg_sys::TEXTOID, pg_sys::VARCHAROID, pg_sys::BPCHAROID]
                            .contains(&ty) =>
                    {
                        let v = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
                        match std::str::from_utf8(pgrx::varlena_to_byte_slice(v)) {
                            Ok(t) => Cell::Text(t),
                            Err(_) => Cell::Null,
                        }
                    }
                    Some(f) => {
                        let c = pg_sys::OidOutputFunctionCall(f, d);
                        match CStr::from_ptr(c).to_str() {
                            Ok(t) => Cell::Text(t),
                            Err(_) => Cell::Null,
                        }
                    }
                }
            });
        }
        cells
    }
}

unsafe fn predict_row(fcinfo: pg_sys::FunctionCallInfo, want: Want) -> pg_sys::Datum {
    unsafe {
        let s = slot(fcinfo, false);
        let a = args(fcinfo);
        if a[1].isnull {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        }
        let htup = pg_sys::pg_detoast_datum(a[1].value.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
        let typeid = (*htup).t_choice.t_datum.datum_typeid;
        let typmod = (*htup).t_choice.t_datum.datum_typmod;
        let stale = match &s.row {
            Some(r) => r.typeid != typeid || r.typmod != typmod,
            None => true,
        };
        if stale {
            let map = row_map(s, (*(*fcinfo).flinfo).fn_mcxt, typeid, typmod);
            s.row = Some(map);
        }
        let map = s.row.as_ref().expect("row map set above");
        let cells = row_cells(htup, map);
        let group_key: Option<String> = match map.group {
            None => None,
            Some((num, ty, out)) => {
                let mut isnull = false;
                let d = attribute(htup, map.desc, num, &mut isnull);
                if isnull {
                    None
                } else if ty == pg_sys::BOOLOID {
                    Some(
                        if d.value() & 0xff != 0 {
                            "true"
                        } else {
                            "false"
                        }
                        .to_string(),
                    )
                } else {
                    let c = pg_sys::OidOutputFunctionCall(out, d);
                    Some(CStr::from_ptr(c).to_string_lossy().into_owned())
                }
            }
        };
        let group = map.group.is_some().then_some(group_key.as_deref());
        answer(fcinfo, s, &cells, group, want)
    }
}

v1_function!(pg_finfo_shopml_predict_label_name_row);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_label_name_row(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { predict_row(fcinfo, Want::Label) }
}

v1_function!(pg_finfo_shopml_predict_label_name_array);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_label_name_array(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { predict_array(fcinfo, false, Want::Label) }
}

extension_sql!(
    r#"
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
  'Prediction of the deployed version of a model for one row of features (in the order of shopml.models.features). NULL features give NULL.';
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
  'Probability of the positive class from the deployed version of a classifier, for one row of features (in model order). NULL features give NULL.';
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
COMMENT ON FUNCTION shopml.predict(text, record) IS
  'Prediction of the deployed version of a model for a table row: features are matched by column name, and the group column picks the sub-model of a grouped model (an unseen group gives NULL).';
"#,
    name = "predict_functions",
    requires = ["catalog"],
);

// ---------------------------------------------------------------------------------------------
// Planner support: `predict(m, ARRAY[x1, ..., xn])` with float8 elements is rewritten at plan
// time into `_predict_args(m, x1, ..., xn)`, a VARIADIC "any" function that reads the n values
// straight from its arguments, so no array is built per row. The model is still resolved when
// the statement runs (the name stays an argument), so prepared statements see new deployments.
// ---------------------------------------------------------------------------------------------

unsafe fn list_cells<'a>(l: *mut pg_sys::List) -> &'a [pg_sys::ListCell] {
    unsafe {
        if l.is_null() {
            &[]
        } else {
            std::slice::from_raw_parts((*l).elements, (*l).length as usize)
        }
    }
}

unsafe fn function_oid(signature: &str) -> Option<pg_sys::Oid> {
    unsafe {
        let text = pgrx::rust_str_to_text_p(signature).into_pg();
        pgrx::direct_function_call::<pg_sys::Oid>(
            pg_sys::to_regprocedure,
            &[Some(pg_sys::Datum::from(text))],
        )
        .filter(|o| *o != pg_sys::Oid::INVALID)
    }
}

v1_function!(pg_finfo_shopml_predict_support);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_support(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let none = pg_sys::Datum::from(0usize);
        let req = args(fcinfo)[0].value.cast_mut_ptr::<pg_sys::Node>();
        if req.is_null() || !pgrx::is_a(req, pg_sys::NodeTag::T_SupportRequestSimplify) {
            return none;
        }
        let fcall = (*(req as *mut pg_sys::SupportRequestSimplify)).fcall;
        let cells = list_cells((*fcall).args);
        if cells.len() != 2 {
            return none;
        }
        let arr = cells[1].ptr_value as *mut pg_sys::Node;
        if !pgrx::is_a(arr, pg_sys::NodeTag::T_ArrayExpr) {
            return none;
        }
        let arr = arr as *mut pg_sys::ArrayExpr;
        let elements = list_cells((*arr).elements);
        if (*arr).multidims
            || (*arr).element_typeid != pg_sys::FLOAT8OID
            || elements.is_empty()
            || elements.len() > 90
        {
            return none;
        }
        let by_id = pg_sys::exprType(cells[0].ptr_value as *const pg_sys::Node) == pg_sys::INT8OID;
        let target = if by_id {
            function_oid("shopml._predict_args(bigint, \"any\")")
        } else {
            function_oid("shopml._predict_args(text, \"any\")")
        };
        let Some(target) = target else { return none };
        let mut new_args = pg_sys::lappend(std::ptr::null_mut(), cells[0].ptr_value);
        for e in elements {
            new_args = pg_sys::lappend(new_args, e.ptr_value);
        }
        let f = pg_sys::makeFuncExpr(
            target,
            pg_sys::FLOAT8OID,
            new_args,
            pg_sys::Oid::INVALID,
            pg_sys::Oid::INVALID,
            pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
        );
        (*f).location = (*fcall).location;
        pg_sys::Datum::from(f)
    }
}

unsafe fn predict_args(fcinfo: pg_sys::FunctionCallInfo, by_id: bool) -> pg_sys::Datum {
    unsafe {
        let s = slot(fcinfo, by_id);
        let a = args(fcinfo);
        let n = a.len() - 1;
        if let Loaded::Linear(b) = s.model.as_ref() {
            if b.prep.is_identity() && b.features.len() == n {
                // The hot path: a dot product over the arguments, no copy.
                let m = single(&s.model_name, b);
                let mut y = m.intercept;
                for (w, nd) in m.weights.iter().zip(&a[1..]) {
                    if nd.isnull {
                        return pgrx::fcinfo::pg_return_null(fcinfo);
                    }
                    y += w * f64::from_bits(nd.value.value() as u64);
                }
                return float_datum(y);
            }
        }
        check_array(s, n);
        let prep = prep_of(&s.model);
        s.dense.resize(prep.dense_width, 0.0);
        s.hashed.clear();
        let values = a[1..]
            .iter()
            .map(|nd| (!nd.isnull).then(|| f64::from_bits(nd.value.value() as u64)));
        if !prep.encode_numbers(values, &mut s.dense) {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        }
        answer_prepared(fcinfo, s, None, Want::Value)
    }
}

v1_function!(pg_finfo_shopml_predict_name_args);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_name_args(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { predict_args(fcinfo, false) }
}

v1_function!(pg_finfo_shopml_predict_id_args);
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn shopml_predict_id_args(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { predict_args(fcinfo, true) }
}
