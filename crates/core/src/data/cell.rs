//! One value of an input row, as the SQL layer reads it.

use std::borrow::Cow;

use crate::hash::{fnv1a, mix64, FNV_OFFSET};

/// One cell of an input row. Dates and timestamps arrive as [`Cell::Num`] days since
/// 1970-01-01 (fractional for timestamps, in UTC for `timestamptz`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Null,
    Num(f64),
    /// Integers, read exactly (keys beyond 2^53 stay distinct).
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl Cell<'_> {
    /// The cell as a finite number (integers converted), else None.
    #[inline]
    pub fn number(&self) -> Option<f64> {
        match *self {
            Cell::Num(x) if x.is_finite() => Some(x),
            Cell::Int(i) => Some(i as f64),
            _ => None,
        }
    }

    /// The cell as a category: text as it is, a finite number as its text, else None.
    pub fn category(&self) -> Option<Cow<'_, str>> {
        match self {
            Cell::Text(s) => Some(Cow::Borrowed(s)),
            Cell::Num(x) if x.is_finite() => Some(Cow::Owned(x.to_string())),
            Cell::Int(i) => Some(Cow::Owned(i.to_string())),
            _ => None,
        }
    }

    /// NULL, or a number that is NaN or infinite.
    #[inline]
    pub fn is_missing(&self) -> bool {
        match self {
            Cell::Null => true,
            Cell::Num(v) => !v.is_finite(),
            _ => false,
        }
    }

    /// A stable hash of the value (equal values, equal hashes; −0.0 and 0.0 alike, and an
    /// integer like the same number), e.g. to keep the rows of one key on one side of a split.
    pub fn value_hash(&self) -> u64 {
        match *self {
            Cell::Null => 0x6e75_6c6c,
            Cell::Int(i) => mix64(i as u64 ^ 0x5851_f42d_4c95_7f2d),
            Cell::Num(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                mix64(x as i64 as u64 ^ 0x5851_f42d_4c95_7f2d)
            }
            Cell::Num(x) => mix64(x.to_bits()),
            Cell::Text(t) => mix64(fnv1a(FNV_OFFSET, t.bytes()) ^ t.len() as u64),
            Cell::Bytes(b) => mix64(fnv1a(FNV_OFFSET ^ 1, b.iter().copied()) ^ b.len() as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_categories() {
        assert_eq!(Cell::Int(3).number(), Some(3.0));
        assert_eq!(Cell::Num(f64::NAN).number(), None);
        assert_eq!(Cell::Num(3.0).category().as_deref(), Some("3"));
        assert_eq!(Cell::Int(3).category().as_deref(), Some("3"));
        assert_eq!(Cell::Num(2.5).category().as_deref(), Some("2.5"));
        assert!(Cell::Null.is_missing() && Cell::Num(f64::INFINITY).is_missing());
        assert!(!Cell::Text("").is_missing());
        assert_eq!(Cell::Int(7).value_hash(), Cell::Num(7.0).value_hash());
        assert_eq!(Cell::Num(0.0).value_hash(), Cell::Num(-0.0).value_hash());
        assert_ne!(Cell::Text("a").value_hash(), Cell::Text("b").value_hash());
    }
}
