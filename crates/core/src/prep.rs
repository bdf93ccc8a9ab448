//! Feature preparation stored with a model and re-applied when it predicts.
//!
//! Every input column is either numeric (numbers and booleans) or categorical (text, enums,
//! uuids…). The preparation learnt on the training rows:
//! - numeric: a fill value for NULLs (`impute` mean, median or zero; `skip` drops the row) and,
//!   with `standardize`, the mean and standard deviation;
//! - categorical with at most `max_categories` distinct training values: one-hot, one dense
//!   output per value (a value never seen in training, or NULL, gives all zeros);
//! - categorical with more values: the hashing trick, one sparse output in a shared space of
//!   `hash_buckets` (the bucket of `name=value`; NULL gives none).
//!
//! The dense outputs come first, in input order; hashed outputs are indices into the shared
//! space after them. The same [`Prep`] turns a table row into model inputs at prediction time,
//! so a model never sees values prepared differently from its training rows.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::mix64;

/// What to do with NULL (or NaN) feature values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Impute {
    /// Drop the row in training; predict NULL for it.
    Skip,
    Mean,
    Median,
    Zero,
}

impl Impute {
    pub fn parse(s: &str) -> Option<Impute> {
        Some(match s {
            "skip" => Impute::Skip,
            "mean" => Impute::Mean,
            "median" => Impute::Median,
            "zero" => Impute::Zero,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Impute::Skip => "skip",
            Impute::Mean => "mean",
            Impute::Median => "median",
            Impute::Zero => "zero",
        }
    }
}

/// How the preparation is learnt.
#[derive(Clone, Debug, PartialEq)]
pub struct PrepOptions {
    pub standardize: bool,
    pub impute: Impute,
    pub max_categories: usize,
    pub hash_buckets: usize,
}

/// One cell of an input row.
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    Null,
    Num(f64),
    Text(&'a str),
}

/// How one input column becomes model inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Encoding {
    /// One dense output `(x − center) / scale`; NULL becomes `fill` (NaN under `skip`).
    Numeric { fill: f64, center: f64, scale: f64 },
    /// One dense output per training value (sorted), starting at `offset`.
    OneHot {
        categories: Vec<String>,
        offset: usize,
    },
    /// One index in the shared hashed space.
    Hashed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub name: String,
    pub encoding: Encoding,
}

/// The preparation of a model's inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prep {
    pub inputs: Vec<Input>,
    pub impute: Impute,
    pub standardize: bool,
    /// Number of dense outputs.
    pub dense_width: usize,
    /// Size of the hashed space (0 when no input is hashed).
    pub hash_buckets: usize,
}

/// The stable bucket of a categorical value of column `name`.
pub fn bucket(name: &str, value: &str, buckets: usize) -> u32 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in name.bytes().chain([0xffu8]).chain(value.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (mix64(h) % buckets.max(1) as u64) as u32
}

/// A stable 64-bit hash of a text value (for train/test splits of rows with text cells).
pub fn hash_text(seed: u64, value: &str) -> u64 {
    let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
    for b in value.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h ^ value.len() as u64)
}

/// A stable hash of a row's cells, for deterministic train/test splits.
pub fn hash_cells(cells: &[Cell]) -> u64 {
    let mut h = 0x10_9157u64;
    for c in cells {
        let v = match c {
            Cell::Null => 0x6e75_6c6c,
            Cell::Num(x) => {
                if *x == 0.0 {
                    0
                } else {
                    x.to_bits()
                }
            }
            Cell::Text(t) => hash_text(7, t),
        };
        h = mix64(h ^ v).wrapping_add(0x9e37_79b9_7f4a_7c15);
    }
    h
}

/// The kind of a raw input column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Numeric,
    Categorical,
}

enum RawColumn {
    Numeric(Vec<f64>),
    Categorical {
        dict: HashMap<String, u32>,
        values: Vec<String>,
        /// Per row: the value's code, or `u32::MAX` for NULL.
        codes: Vec<u32>,
    },
}

/// Input rows as read, column by column (NULL numbers are NaN), with a test flag per row.
pub struct RawTable {
    pub names: Vec<String>,
    columns: Vec<RawColumn>,
    pub test: Vec<bool>,
}

const NULL_CODE: u32 = u32::MAX;

impl RawTable {
    pub fn new(names: Vec<String>, kinds: &[Kind]) -> RawTable {
        let columns = kinds
            .iter()
            .map(|k| match k {
                Kind::Numeric => RawColumn::Numeric(Vec::new()),
                Kind::Categorical => RawColumn::Categorical {
                    dict: HashMap::new(),
                    values: Vec::new(),
                    codes: Vec::new(),
                },
            })
            .collect();
        RawTable {
            names,
            columns,
            test: Vec::new(),
        }
    }

    pub fn rows(&self) -> usize {
        self.test.len()
    }

    /// Whether a row has a NULL (or non-finite number) among its cells.
    pub fn has_null(cells: &[Cell]) -> bool {
        cells.iter().any(|c| match c {
            Cell::Null => true,
            Cell::Num(v) => !v.is_finite(),
            Cell::Text(_) => false,
        })
    }

    /// Appends a row (cells in column order; a number in a categorical column is kept as its
    /// text, text in a numeric column is NULL).
    pub fn push(&mut self, cells: &[Cell], test: bool) {
        for (col, cell) in self.columns.iter_mut().zip(cells) {
            match col {
                RawColumn::Numeric(v) => v.push(match cell {
                    Cell::Num(x) if x.is_finite() => *x,
                    _ => f64::NAN,
                }),
                RawColumn::Categorical {
                    dict,
                    values,
                    codes,
                } => {
                    let text: Option<Cow<str>> = match cell {
                        Cell::Null => None,
                        Cell::Text(s) => Some(Cow::Borrowed(s)),
                        Cell::Num(x) => Some(Cow::Owned(x.to_string())),
                    };
                    codes.push(match text {
                        None => NULL_CODE,
                        Some(t) => match dict.get(t.as_ref()) {
                            Some(&c) => c,
                            None => {
                                let c = values.len() as u32;
                                values.push(t.to_string());
                                dict.insert(t.into_owned(), c);
                                c
                            }
                        },
                    });
                }
            }
        }
        self.test.push(test);
    }

    /// Bytes held per row so far (for memory budgets).
    pub fn bytes_per_row(&self) -> usize {
        self.columns.len() * 8 + 1
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let n = v.len();
    let (_, m, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let hi = *m;
    if n % 2 == 1 {
        hi
    } else {
        let lo = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo + hi) / 2.0
    }
}

impl Prep {
    /// A preparation of numeric inputs that changes nothing (models trained before
    /// preparations were stored).
    pub fn identity(names: &[String]) -> Prep {
        Prep {
            inputs: names
                .iter()
                .map(|n| Input {
                    name: n.clone(),
                    encoding: Encoding::Numeric {
                        fill: f64::NAN,
                        center: 0.0,
                        scale: 1.0,
                    },
                })
                .collect(),
            impute: Impute::Skip,
            standardize: false,
            dense_width: names.len(),
            hash_buckets: 0,
        }
    }

    /// Learns the preparation from the training rows (those not flagged test) of `raw`.
    pub fn fit(raw: &RawTable, opts: &PrepOptions) -> Result<Prep> {
        let train: Vec<usize> = (0..raw.rows()).filter(|&i| !raw.test[i]).collect();
        let mut inputs = Vec::with_capacity(raw.columns.len());
        let mut offset = 0usize;
        let mut hashed = false;
        for (name, col) in raw.names.iter().zip(&raw.columns) {
            let encoding = match col {
                RawColumn::Numeric(v) => {
                    let observed: Vec<f64> = train
                        .iter()
                        .map(|&i| v[i])
                        .filter(|x| x.is_finite())
                        .collect();
                    let mean = if observed.is_empty() {
                        0.0
                    } else {
                        observed.iter().sum::<f64>() / observed.len() as f64
                    };
                    let fill = match opts.impute {
                        Impute::Skip => f64::NAN,
                        Impute::Zero => 0.0,
                        Impute::Mean => mean,
                        Impute::Median => median(observed.clone()),
                    };
                    let (center, scale) = if opts.standardize {
                        // Moments of the imputed column, as a scaler after an imputer sees it.
                        let n = train.len().max(1) as f64;
                        let filled = |x: f64| if x.is_finite() { x } else { fill };
                        let m = train
                            .iter()
                            .map(|&i| filled(v[i]))
                            .filter(|x| x.is_finite())
                            .sum::<f64>()
                            / n;
                        let var = train
                            .iter()
                            .map(|&i| filled(v[i]))
                            .filter(|x| x.is_finite())
                            .map(|x| (x - m) * (x - m))
                            .sum::<f64>()
                            / n;
                        (m, if var > 0.0 { var.sqrt() } else { 1.0 })
                    } else {
                        (0.0, 1.0)
                    };
                    offset += 1;
                    Encoding::Numeric {
                        fill,
                        center,
                        scale,
                    }
                }
                RawColumn::Categorical { values, codes, .. } => {
                    let mut seen = vec![false; values.len()];
                    for &i in &train {
                        if codes[i] != NULL_CODE {
                            seen[codes[i] as usize] = true;
                        }
                    }
                    let distinct = seen.iter().filter(|s| **s).count();
                    if distinct <= opts.max_categories {
                        let mut categories: Vec<String> = values
                            .iter()
                            .zip(&seen)
                            .filter(|(_, s)| **s)
                            .map(|(v, _)| v.clone())
                            .collect();
                        categories.sort();
                        let e = Encoding::OneHot { categories, offset };
                        offset += distinct;
                        e
                    } else {
                        hashed = true;
                        Encoding::Hashed
                    }
                }
            };
            inputs.push(Input {
                name: name.clone(),
                encoding,
            });
        }
        if hashed && opts.hash_buckets == 0 {
            return Err(Error::invalid("hash_buckets must be positive"));
        }
        Ok(Prep {
            inputs,
            impute: opts.impute,
            standardize: opts.standardize,
            dense_width: offset,
            hash_buckets: if hashed { opts.hash_buckets } else { 0 },
        })
    }

    /// Whether any input uses the hashing trick.
    pub fn hashed_inputs(&self) -> usize {
        self.inputs
            .iter()
            .filter(|i| matches!(i.encoding, Encoding::Hashed))
            .count()
    }

    /// Whether every input is numeric (so a float8[] of input values can be prepared).
    pub fn all_numeric(&self) -> bool {
        self.inputs
            .iter()
            .all(|i| matches!(i.encoding, Encoding::Numeric { .. }))
    }

    /// Names of the dense outputs: the column for numbers, `column=value` for one-hot.
    pub fn dense_names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.dense_width);
        for i in &self.inputs {
            match &i.encoding {
                Encoding::Numeric { .. } => out.push(i.name.clone()),
                Encoding::OneHot { categories, .. } => {
                    out.extend(categories.iter().map(|c| format!("{}={c}", i.name)))
                }
                Encoding::Hashed => {}
            }
        }
        out
    }

    /// For each dense output, the input it comes from.
    pub fn dense_sources(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.dense_width);
        for (k, i) in self.inputs.iter().enumerate() {
            match &i.encoding {
                Encoding::Numeric { .. } => out.push(k),
                Encoding::OneHot { categories, .. } => {
                    out.extend(std::iter::repeat_n(k, categories.len()))
                }
                Encoding::Hashed => {}
            }
        }
        out
    }

    /// Turns dense outputs back into input units (numbers un-standardised; one-hot outputs,
    /// e.g. a centroid's share of a category, stay as they are).
    pub fn original_units(&self, dense: &mut [f64]) {
        let mut d = 0usize;
        for i in &self.inputs {
            match &i.encoding {
                Encoding::Numeric { center, scale, .. } => {
                    dense[d] = dense[d] * scale + center;
                    d += 1;
                }
                Encoding::OneHot { categories, .. } => d += categories.len(),
                Encoding::Hashed => {}
            }
        }
    }

    /// A numeric value as the model sees it (None: NULL under `skip`).
    #[inline]
    fn numeric(x: f64, fill: f64, center: f64, scale: f64) -> Option<f64> {
        let v = if x.is_finite() { x } else { fill };
        v.is_finite().then(|| (v - center) / scale)
    }

    /// Prepares one row: dense outputs into `dense` (length `dense_width`), hashed indices
    /// (relative to the hashed space) appended to `hashed`. False when the row has a NULL
    /// under `skip` (the model's answer is NULL).
    pub fn encode(&self, cells: &[Cell], dense: &mut [f64], hashed: &mut Vec<u32>) -> bool {
        dense.iter_mut().for_each(|v| *v = 0.0);
        let mut d = 0usize;
        for (input, cell) in self.inputs.iter().zip(cells) {
            match &input.encoding {
                Encoding::Numeric {
                    fill,
                    center,
                    scale,
                } => {
                    let x = match cell {
                        Cell::Num(x) => *x,
                        _ => f64::NAN,
                    };
                    match Self::numeric(x, *fill, *center, *scale) {
                        Some(v) => dense[d] = v,
                        None => return false,
                    }
                    d += 1;
                }
                Encoding::OneHot { categories, offset } => {
                    let text: Option<Cow<str>> = match cell {
                        Cell::Text(s) => Some(Cow::Borrowed(s)),
                        Cell::Num(x) if x.is_finite() => Some(Cow::Owned(x.to_string())),
                        _ => None,
                    };
                    match text {
                        None if self.impute == Impute::Skip => return false,
                        None => {}
                        Some(t) => {
                            if let Ok(k) = categories.binary_search_by(|c| c.as_str().cmp(&t)) {
                                dense[offset + k] = 1.0;
                            }
                        }
                    }
                    d = offset + categories.len();
                }
                Encoding::Hashed => {
                    let text: Option<Cow<str>> = match cell {
                        Cell::Text(s) => Some(Cow::Borrowed(s)),
                        Cell::Num(x) if x.is_finite() => Some(Cow::Owned(x.to_string())),
                        _ => None,
                    };
                    match text {
                        None if self.impute == Impute::Skip => return false,
                        None => {}
                        Some(t) => hashed.push(bucket(&input.name, &t, self.hash_buckets)),
                    }
                }
            }
        }
        true
    }

    /// The prepared rows of `raw` selected by `keep` (test or train): dense row-major
    /// (`dense_width` per row) and, when inputs are hashed, the hashed indices per row
    /// (`hashed_inputs()` per row, `u32::MAX` for NULL).
    pub fn transform(&self, raw: &RawTable, test: bool) -> (Vec<f64>, Vec<u32>) {
        let rows: Vec<usize> = (0..raw.rows()).filter(|&i| raw.test[i] == test).collect();
        let w = self.dense_width;
        let h = self.hashed_inputs();
        let mut dense = vec![0.0; rows.len() * w];
        let mut hashed = vec![NULL_CODE; rows.len() * h];
        let mut hk = 0usize;
        let mut d = 0usize;
        for (input, col) in self.inputs.iter().zip(&raw.columns) {
            match (&input.encoding, col) {
                (
                    Encoding::Numeric {
                        fill,
                        center,
                        scale,
                    },
                    RawColumn::Numeric(v),
                ) => {
                    for (r, &i) in rows.iter().enumerate() {
                        dense[r * w + d] =
                            Self::numeric(v[i], *fill, *center, *scale).unwrap_or(0.0);
                    }
                    d += 1;
                }
                (
                    Encoding::OneHot { categories, offset },
                    RawColumn::Categorical { values, codes, .. },
                ) => {
                    // Code → position among the categories (or none for unseen values).
                    let slot: Vec<u32> = values
                        .iter()
                        .map(|v| categories.binary_search(v).map_or(NULL_CODE, |k| k as u32))
                        .collect();
                    for (r, &i) in rows.iter().enumerate() {
                        let c = codes[i];
                        if c != NULL_CODE && slot[c as usize] != NULL_CODE {
                            dense[r * w + offset + slot[c as usize] as usize] = 1.0;
                        }
                    }
                    d = offset + categories.len();
                }
                (Encoding::Hashed, RawColumn::Categorical { values, codes, .. }) => {
                    let b: Vec<u32> = values
                        .iter()
                        .map(|v| bucket(&input.name, v, self.hash_buckets))
                        .collect();
                    for (r, &i) in rows.iter().enumerate() {
                        let c = codes[i];
                        hashed[r * h + hk] = if c == NULL_CODE {
                            NULL_CODE
                        } else {
                            b[c as usize]
                        };
                    }
                    hk += 1;
                }
                _ => unreachable!("the preparation was learnt from this table"),
            }
        }
        (dense, hashed)
    }

    /// The preparation as JSON for the catalog's params.
    pub fn describe(&self) -> serde_json::Value {
        let inputs: Vec<serde_json::Value> = self
            .inputs
            .iter()
            .map(|i| match &i.encoding {
                Encoding::Numeric {
                    fill,
                    center,
                    scale,
                } => serde_json::json!({"column": i.name, "encoding": "numeric",
                    "fill": fill.is_finite().then_some(*fill),
                    "center": center, "scale": scale}),
                Encoding::OneHot { categories, .. } => serde_json::json!({"column": i.name,
                    "encoding": "one_hot", "categories": categories.len()}),
                Encoding::Hashed => {
                    serde_json::json!({"column": i.name, "encoding": "hashed"})
                }
            })
            .collect();
        serde_json::json!({"impute": self.impute.name(), "standardize": self.standardize,
            "hash_buckets": self.hash_buckets, "dense_width": self.dense_width, "inputs": inputs})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(impute: Impute, max_categories: usize) -> PrepOptions {
        PrepOptions {
            standardize: true,
            impute,
            max_categories,
            hash_buckets: 64,
        }
    }

    fn table() -> RawTable {
        let mut t = RawTable::new(
            vec!["x".into(), "color".into(), "site".into()],
            &[Kind::Numeric, Kind::Categorical, Kind::Categorical],
        );
        let rows: Vec<(Cell, Cell, Cell)> = vec![
            (Cell::Num(1.0), Cell::Text("red"), Cell::Text("a")),
            (Cell::Num(2.0), Cell::Text("blue"), Cell::Text("b")),
            (Cell::Null, Cell::Text("red"), Cell::Text("c")),
            (Cell::Num(6.0), Cell::Null, Cell::Text("d")),
        ];
        for (a, b, c) in rows {
            t.push(&[a, b, c], false);
        }
        t.push(
            &[Cell::Num(100.0), Cell::Text("green"), Cell::Text("a")],
            true,
        );
        t
    }

    #[test]
    fn learns_and_applies_the_same_preparation() {
        let t = table();
        let p = Prep::fit(&t, &opts(Impute::Mean, 3)).unwrap();
        // x: mean of 1, 2, 6 = 3 fills the NULL; colors one-hot (blue, red); site hashed (4 > 3).
        assert_eq!(p.dense_names(), vec!["x", "color=blue", "color=red"]);
        assert_eq!(p.hashed_inputs(), 1);
        let Encoding::Numeric {
            fill,
            center,
            scale,
        } = p.inputs[0].encoding
        else {
            panic!()
        };
        assert_eq!(fill, 3.0);
        assert_eq!(center, 3.0);
        let sd = ((4.0 + 1.0 + 0.0 + 9.0) / 4.0f64).sqrt();
        assert!((scale - sd).abs() < 1e-12);
        let (dense, hashed) = p.transform(&t, false);
        let mut d = vec![0.0; 3];
        let mut h = Vec::new();
        // Row by row, encode gives what transform gave.
        let cells = [Cell::Null, Cell::Text("red"), Cell::Text("c")];
        assert!(p.encode(&cells, &mut d, &mut h));
        assert_eq!(&d[..], &dense[6..9]);
        assert_eq!(h, vec![hashed[2]]);
        assert_eq!(h[0], bucket("site", "c", 64));
        // An unseen color and a NULL color are all zeros, not errors.
        h.clear();
        assert!(p.encode(
            &[Cell::Num(3.0), Cell::Text("green"), Cell::Text("zzz")],
            &mut d,
            &mut h
        ));
        assert_eq!(&d[..], &[0.0, 0.0, 0.0]);
        let (test_dense, _) = p.transform(&t, true);
        assert_eq!(&test_dense[1..], &[0.0, 0.0]);
    }

    #[test]
    fn skip_and_median() {
        let t = table();
        let p = Prep::fit(&t, &opts(Impute::Skip, 32)).unwrap();
        assert_eq!(p.hashed_inputs(), 0);
        let mut d = vec![0.0; p.dense_width];
        let mut h = Vec::new();
        assert!(!p.encode(
            &[Cell::Null, Cell::Text("red"), Cell::Text("a")],
            &mut d,
            &mut h
        ));
        assert!(!p.encode(
            &[Cell::Num(1.0), Cell::Null, Cell::Text("a")],
            &mut d,
            &mut h
        ));
        let p = Prep::fit(&t, &opts(Impute::Median, 32)).unwrap();
        let Encoding::Numeric { fill, .. } = p.inputs[0].encoding else {
            panic!()
        };
        assert_eq!(fill, 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
