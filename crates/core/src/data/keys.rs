//! Keys of users, items and products (bigint or text), sorted and numbered densely, so the
//! numbering, and with it every model trained for a given seed, does not depend on the physical
//! order of the table.

use serde::{Deserialize, Serialize};

use crate::hash::{fnv1a, mix64, FNV_OFFSET};

/// The distinct keys of users or items, sorted; a key's position is its dense index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Keys {
    Int(Vec<i64>),
    Text(Vec<String>),
}

/// Which SQL type a model's keys have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Text,
}

impl KeyKind {
    pub fn sql_name(self) -> &'static str {
        match self {
            KeyKind::Int => "bigint",
            KeyKind::Text => "text",
        }
    }
}

impl Keys {
    pub fn len(&self) -> usize {
        match self {
            Keys::Int(v) => v.len(),
            Keys::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn kind(&self) -> KeyKind {
        match self {
            Keys::Int(_) => KeyKind::Int,
            Keys::Text(_) => KeyKind::Text,
        }
    }

    /// The index of an integer key (None for unknown keys or text-keyed sets).
    pub fn find_int(&self, key: i64) -> Option<u32> {
        match self {
            Keys::Int(v) => v.binary_search(&key).ok().map(|i| i as u32),
            Keys::Text(_) => None,
        }
    }

    /// The index of a text key (None for unknown keys or integer-keyed sets).
    pub fn find_text(&self, key: &str) -> Option<u32> {
        match self {
            Keys::Text(v) => v
                .binary_search_by(|k| k.as_str().cmp(key))
                .ok()
                .map(|i| i as u32),
            Keys::Int(_) => None,
        }
    }

    pub fn int(&self, i: u32) -> Option<i64> {
        match self {
            Keys::Int(v) => v.get(i as usize).copied(),
            Keys::Text(_) => None,
        }
    }

    pub fn text(&self, i: u32) -> Option<&str> {
        match self {
            Keys::Text(v) => v.get(i as usize).map(|s| s.as_str()),
            Keys::Int(_) => None,
        }
    }

    /// A stable hash of key `i` (for deterministic splits that ignore table order).
    pub fn hash(&self, i: u32) -> u64 {
        match self {
            Keys::Int(v) => mix64(v[i as usize] as u64 ^ 0x5bd1_e995),
            Keys::Text(v) => mix64(fnv1a(FNV_OFFSET, v[i as usize].bytes())),
        }
    }
}

/// A key column as read from the table, one entry per row.
pub enum RawKeys {
    Int(Vec<i64>),
    Text(Vec<String>),
}

impl RawKeys {
    pub fn len(&self) -> usize {
        match self {
            RawKeys::Int(v) => v.len(),
            RawKeys::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sorted distinct keys and each row's dense index.
    pub(crate) fn index(self) -> (Keys, Vec<u32>) {
        match self {
            RawKeys::Int(rows) => {
                let mut keys = rows.clone();
                keys.sort_unstable();
                keys.dedup();
                let idx = rows
                    .iter()
                    .map(|k| keys.binary_search(k).unwrap_or(0) as u32)
                    .collect();
                (Keys::Int(keys), idx)
            }
            RawKeys::Text(rows) => {
                let mut order: Vec<u32> = (0..rows.len() as u32).collect();
                order.sort_unstable_by(|&a, &b| rows[a as usize].cmp(&rows[b as usize]));
                let mut idx = vec![0u32; rows.len()];
                let mut keys: Vec<String> = Vec::new();
                let mut rows: Vec<Option<String>> = rows.into_iter().map(Some).collect();
                for &r in &order {
                    let key = rows[r as usize].take().unwrap_or_default();
                    if keys.last() != Some(&key) {
                        keys.push(key);
                    }
                    idx[r as usize] = keys.len() as u32 - 1;
                }
                (Keys::Text(keys), idx)
            }
        }
    }
}
