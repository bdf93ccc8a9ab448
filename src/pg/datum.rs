//! The one table of how a value of each SQL type becomes a [`Cell`], used by every reader:
//! training scans, the linear aggregates and row-form prediction. Training and serving read a
//! column the same way, so a model never sees a value prepared differently than it learnt
//! (e.g. `char(n)` padding is dropped in both, as the cast to text drops it).

use std::borrow::Cow;
use std::ffi::CStr;

use pgrx::pg_sys;
use shopml_core::data::cell::Cell;
use shopml_core::data::prep::ColumnKind;

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: f64 = 10_957.0;
const USECS_PER_DAY: f64 = 86_400_000_000.0;

/// How a value of one SQL type is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    F8,
    F4,
    I2,
    I4,
    I8,
    Numeric,
    Bool,
    /// text, varchar, name: the text as it is.
    Text,
    /// char(n): the text without its trailing blanks.
    BpChar,
    /// A date: days since 1970-01-01.
    Date,
    /// timestamp and timestamptz (UTC): fractional days since 1970-01-01.
    Timestamp,
    /// A row pointer (ctid): block and offset in one integer.
    Tid,
    /// oid: an integer.
    Oid,
    Bytea,
    /// Enums, uuids and other types: their text, from the type's output function.
    Output(pg_sys::Oid),
}

/// The base type of a domain (the type itself otherwise).
pub fn base_type(type_oid: pg_sys::Oid) -> pg_sys::Oid {
    // SAFETY: a syscache lookup; unknown oids come back unchanged.
    unsafe { pg_sys::getBaseType(type_oid) }
}

impl Conv {
    /// The entry for a type (domains read as their base type).
    pub fn of(type_oid: pg_sys::Oid) -> Conv {
        match base_type(type_oid) {
            pg_sys::FLOAT8OID => Conv::F8,
            pg_sys::FLOAT4OID => Conv::F4,
            pg_sys::INT2OID => Conv::I2,
            pg_sys::INT4OID => Conv::I4,
            pg_sys::INT8OID => Conv::I8,
            pg_sys::NUMERICOID => Conv::Numeric,
            pg_sys::BOOLOID => Conv::Bool,
            pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::NAMEOID => Conv::Text,
            pg_sys::BPCHAROID => Conv::BpChar,
            pg_sys::DATEOID => Conv::Date,
            pg_sys::TIMESTAMPOID | pg_sys::TIMESTAMPTZOID => Conv::Timestamp,
            pg_sys::TIDOID => Conv::Tid,
            pg_sys::OIDOID => Conv::Oid,
            pg_sys::BYTEAOID => Conv::Bytea,
            other => {
                let mut out = pg_sys::Oid::INVALID;
                let mut varlena = false;
                // SAFETY: a syscache lookup of the type's output function.
                unsafe { pg_sys::getTypeOutputInfo(other, &mut out, &mut varlena) };
                Conv::Output(out)
            }
        }
    }

    /// How a column of this type can enter a model: numbers and booleans as numbers, dates
    /// and timestamps as time, text (and enums, uuids) as categories. Money, oids, row
    /// pointers, bytea and other types are not features.
    pub fn column_kind(self, type_oid: pg_sys::Oid) -> Option<ColumnKind> {
        match self {
            Conv::F8 | Conv::F4 | Conv::I2 | Conv::I4 | Conv::I8 | Conv::Numeric | Conv::Bool => {
                Some(ColumnKind::Numeric)
            }
            Conv::Date => Some(ColumnKind::Time { with_hour: false }),
            Conv::Timestamp => Some(ColumnKind::Time { with_hour: true }),
            Conv::Text | Conv::BpChar => Some(ColumnKind::Categorical),
            Conv::Output(_) if is_category_type(type_oid) => Some(ColumnKind::Categorical),
            _ => None,
        }
    }

    /// Whether values of this type are read as numbers (for targets, weights, prices).
    pub fn is_number(self) -> bool {
        matches!(
            self,
            Conv::F8 | Conv::F4 | Conv::I2 | Conv::I4 | Conv::I8 | Conv::Numeric | Conv::Bool
        )
    }
}

/// Enums and uuids (other than the string types, which have their own entries).
fn is_category_type(type_oid: pg_sys::Oid) -> bool {
    let base = base_type(type_oid);
    // SAFETY: syscache lookups.
    base == pg_sys::UUIDOID || unsafe { pg_sys::type_is_enum(base) }
}

/// A text datum's contents (lossy for bytes that are not UTF-8).
///
/// # Safety
/// `d` must be a text-like varlena datum.
pub unsafe fn text<'a>(d: pg_sys::Datum) -> Cow<'a, str> {
    unsafe {
        let v = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
        String::from_utf8_lossy(pgrx::varlena_to_byte_slice(v))
    }
}

/// A bytea datum's bytes (detoasted into the current memory context).
///
/// # Safety
/// `d` must be a bytea datum.
pub unsafe fn bytes<'a>(d: pg_sys::Datum) -> &'a [u8] {
    unsafe {
        let v = pg_sys::pg_detoast_datum(d.cast_mut_ptr());
        pgrx::varlena_to_byte_slice(v)
    }
}

/// A non-NULL datum as a cell. Text borrows the datum (or the output function's result),
/// which lives in the current memory context.
///
/// # Safety
/// `d` must be a value of the type `conv` was made for.
pub unsafe fn cell<'a>(d: pg_sys::Datum, conv: Conv) -> Cell<'a> {
    let raw = d.value();
    match conv {
        Conv::F8 => Cell::Num(f64::from_bits(raw as u64)),
        Conv::F4 => Cell::Num(f32::from_bits(raw as u32) as f64),
        Conv::I2 => Cell::Int(raw as i16 as i64),
        Conv::I4 => Cell::Int(raw as i32 as i64),
        Conv::I8 => Cell::Int(raw as i64),
        Conv::Oid => Cell::Int(raw as u32 as i64),
        Conv::Bool => Cell::Num(f64::from(u8::from(raw & 0xff != 0))),
        // SAFETY (all below): the datum is of the type the entry was made for.
        Conv::Numeric => Cell::Num(unsafe {
            pgrx::direct_function_call::<f64>(pg_sys::numeric_float8_no_overflow, &[Some(d)])
                .unwrap_or(f64::NAN)
        }),
        Conv::Date => {
            let day = raw as i32;
            // ±infinity dates are the extremes of int32: no time parts.
            if day == i32::MIN || day == i32::MAX {
                Cell::Num(f64::NAN)
            } else {
                Cell::Num(f64::from(day) + PG_EPOCH_DAYS)
            }
        }
        Conv::Timestamp => {
            let us = raw as i64;
            if us == i64::MIN || us == i64::MAX {
                Cell::Num(f64::NAN)
            } else {
                Cell::Num(us as f64 / USECS_PER_DAY + PG_EPOCH_DAYS)
            }
        }
        Conv::Tid => {
            // SAFETY: a tid datum points to an ItemPointerData.
            let t = unsafe { &*(d.cast_mut_ptr::<pg_sys::ItemPointerData>()) };
            let block = (u32::from(t.ip_blkid.bi_hi) << 16) | u32::from(t.ip_blkid.bi_lo);
            Cell::Int((i64::from(block) << 16) | i64::from(t.ip_posid))
        }
        Conv::Text | Conv::BpChar => {
            let bytes: &'a [u8] = unsafe {
                let v = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
                pgrx::varlena_to_byte_slice(v)
            };
            // The database encoding is UTF-8 in every supported setup; anything else is read as
            // NULL rather than misread.
            match std::str::from_utf8(bytes) {
                Ok(s) if conv == Conv::BpChar => Cell::Text(s.trim_end_matches(' ')),
                Ok(s) => Cell::Text(s),
                Err(_) => Cell::Null,
            }
        }
        Conv::Bytea => Cell::Bytes(unsafe { bytes(d) }),
        Conv::Output(f) => {
            let c = unsafe { CStr::from_ptr(pg_sys::OidOutputFunctionCall(f, d)) };
            match c.to_str() {
                Ok(t) => Cell::Text(t),
                Err(_) => Cell::Null,
            }
        }
    }
}

/// Splits the [`Conv::Tid`] integer of a row pointer into (block, offset).
pub fn tid_parts(v: i64) -> (u32, u16) {
    ((v >> 16) as u32, (v & 0xffff) as u16)
}
