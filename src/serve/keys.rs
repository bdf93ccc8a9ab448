//! Model keys in SQL: the bigint and text overloads of the serving functions.
#![forbid(unsafe_code)]

use pgrx::pg_sys;
use shopml_core::data::keys::{KeyKind, Keys};
use shopml_core::{Error, Result};

use crate::pg::datum::{base_type, Conv};
use crate::train::relation::Relation;

/// Checks a key column (users, items, products) and returns its kind and the SQL expression
/// that reads it as int8 or text (42804 for other types).
pub fn key_column(rel: &Relation, name: &str, role: &str) -> Result<(KeyKind, String)> {
    let c = rel.column(name)?;
    let uuid = base_type(c.type_oid) == pg_sys::UUIDOID;
    if matches!(c.conv, Conv::I2 | Conv::I4 | Conv::I8) {
        Ok((KeyKind::Int, format!("({})::int8", c.ident())))
    } else if matches!(c.conv, Conv::Text | Conv::BpChar) || uuid {
        Ok((KeyKind::Text, format!("({})::text", c.ident())))
    } else {
        Err(Error::mismatch(format!(
            "{role} column \"{}\" of {} is of type {}; keys must be integers, text or uuid",
            c.name, rel.sql_name, c.type_name
        ))
        .with_hint("Cast the key in a view, e.g. CREATE VIEW v AS SELECT id::bigint ..."))
    }
}

/// A key type of the SQL overloads (bigint or text).
pub trait Key: Sized {
    const KIND: KeyKind;
    fn find(keys: &Keys, key: &Self) -> Option<u32>;
    fn at(keys: &Keys, i: u32) -> Self;
}

impl Key for i64 {
    const KIND: KeyKind = KeyKind::Int;
    fn find(keys: &Keys, key: &i64) -> Option<u32> {
        keys.find_int(*key)
    }
    fn at(keys: &Keys, i: u32) -> i64 {
        keys.int(i).unwrap_or_default()
    }
}

impl Key for String {
    const KIND: KeyKind = KeyKind::Text;
    fn find(keys: &Keys, key: &String) -> Option<u32> {
        keys.find_text(key)
    }
    fn at(keys: &Keys, i: u32) -> String {
        keys.text(i).unwrap_or_default().to_string()
    }
}

/// 22023 when a function is called with a key of the other type than the model's.
pub fn check_kind(
    model_name: &str,
    have: KeyKind,
    called: KeyKind,
    function: &str,
    argument: &str,
) -> Result<()> {
    if have != called {
        return Err(Error::invalid(format!(
            "model \"{model_name}\" has {} keys, but {function} was called with a {} key",
            have.sql_name(),
            called.sql_name()
        ))
        .with_hint(match argument.strip_suffix("[]") {
            // An array argument: `items[]`.
            Some(name) => format!(
                "Call shopml.{function}(model_name, ${name}::{}[], ...).",
                have.sql_name()
            ),
            None => format!(
                "Call shopml.{function}(model_name, ${argument}::{}, ...).",
                have.sql_name()
            ),
        }));
    }
    Ok(())
}
