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
use crate::hash::{fnv1a, mix64, FNV_OFFSET};

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

impl Cell<'_> {
    /// The cell as a category: text as it is, a finite number as its text, else None.
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Cell::Text(s) => Some(Cow::Borrowed(s)),
            Cell::Num(x) if x.is_finite() => Some(Cow::Owned(x.to_string())),
            _ => None,
        }
    }
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
    let h = fnv1a(
        FNV_OFFSET,
        name.bytes().chain([0xffu8]).chain(value.bytes()),
    );
    (mix64(h) % buckets.max(1) as u64) as u32
}

/// A stable 64-bit hash of a text value (for train/test splits of rows with text cells).
pub fn hash_text(seed: u64, value: &str) -> u64 {
    mix64(fnv1a(seed ^ FNV_OFFSET, value.bytes()) ^ value.len() as u64)
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

/// The distinct values of one categorical column, numbered in order of appearance.
#[derive(Default)]
struct Dict {
    codes: HashMap<String, u32>,
    values: Vec<String>,
}

/// Rows of one part (training or test), row-major: the numeric inputs of each row (NaN for
/// NULL) and the codes of its categorical inputs (`u32::MAX` for NULL).
#[derive(Default)]
pub struct Part {
    num: Vec<f64>,
    codes: Vec<u32>,
    rows: usize,
}

impl Part {
    pub fn rows(&self) -> usize {
        self.rows
    }
}

/// Input rows as read, split into a training and a test part.
pub struct RawTable {
    pub names: Vec<String>,
    kinds: Vec<Kind>,
    /// Per input: its position among the numeric or among the categorical inputs.
    slot: Vec<usize>,
    n_num: usize,
    dicts: Vec<Dict>,
    pub train: Part,
    pub test: Part,
}

const NULL_CODE: u32 = u32::MAX;

impl RawTable {
    pub fn new(names: Vec<String>, kinds: &[Kind]) -> RawTable {
        let (mut n_num, mut n_cat) = (0, 0);
        let slot = kinds
            .iter()
            .map(|k| {
                let c = if *k == Kind::Numeric {
                    &mut n_num
                } else {
                    &mut n_cat
                };
                *c += 1;
                *c - 1
            })
            .collect();
        RawTable {
            names,
            kinds: kinds.to_vec(),
            slot,
            n_num,
            dicts: (0..n_cat).map(|_| Dict::default()).collect(),
            train: Part::default(),
            test: Part::default(),
        }
    }

    pub fn rows(&self) -> usize {
        self.train.rows + self.test.rows
    }

    /// Whether a row has a NULL (or non-finite number) among its cells.
    pub fn has_null(cells: &[Cell]) -> bool {
        cells.iter().any(|c| match c {
            Cell::Null => true,
            Cell::Num(v) => !v.is_finite(),
            Cell::Text(_) => false,
        })
    }

    /// Appends a row (cells in column order) to the training or the test part. A number in a
    /// categorical column is kept as its text; text in a numeric column is NULL.
    pub fn push(&mut self, cells: &[Cell], test: bool) {
        let part = if test {
            &mut self.test
        } else {
            &mut self.train
        };
        for ((kind, &slot), cell) in self.kinds.iter().zip(&self.slot).zip(cells) {
            match kind {
                Kind::Numeric => part.num.push(match cell {
                    Cell::Num(x) if x.is_finite() => *x,
                    _ => f64::NAN,
                }),
                Kind::Categorical => {
                    let dict = &mut self.dicts[slot];
                    part.codes.push(match cell.text() {
                        None => NULL_CODE,
                        Some(t) => match dict.codes.get(t.as_ref()) {
                            Some(&c) => c,
                            None => {
                                let c = dict.values.len() as u32;
                                dict.values.push(t.to_string());
                                dict.codes.insert(t.into_owned(), c);
                                c
                            }
                        },
                    });
                }
            }
        }
        part.rows += 1;
    }

    /// Bytes held per row (for memory budgets).
    pub fn bytes_per_row(&self) -> usize {
        self.kinds.len() * 8
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

    /// Learns the preparation from the training part of `raw`.
    pub fn fit(raw: &RawTable, opts: &PrepOptions) -> Result<Prep> {
        let part = &raw.train;
        let n = part.rows;
        let n_num = raw.n_num;
        let n_cat = raw.dicts.len();
        // Numeric columns in one pass, row by row: count, sum and sum of squares of the
        // observed values, shifted by the column's first value so the squares do not cancel.
        let mut shift = vec![f64::NAN; n_num];
        for r in part.num.chunks_exact(n_num.max(1)).take(n) {
            for (k, &x) in shift.iter_mut().zip(r) {
                if k.is_nan() && x.is_finite() {
                    *k = x;
                }
            }
            if shift.iter().all(|k| !k.is_nan()) {
                break;
            }
        }
        shift
            .iter_mut()
            .filter(|k| k.is_nan())
            .for_each(|k| *k = 0.0);
        let mut sum = vec![0.0; n_num];
        let mut sq = vec![0.0; n_num];
        let mut count = vec![0usize; n_num];
        for r in part.num.chunks_exact(n_num.max(1)).take(n) {
            for q in 0..n_num {
                let x = r[q];
                if x.is_finite() {
                    let d = x - shift[q];
                    sum[q] += d;
                    sq[q] += d * d;
                    count[q] += 1;
                }
            }
        }
        let column = |q: usize| part.num[q..].iter().step_by(n_num.max(1)).take(n);
        let fills: Vec<f64> = (0..n_num)
            .map(|q| match opts.impute {
                Impute::Skip => f64::NAN,
                Impute::Zero => 0.0,
                Impute::Mean if count[q] > 0 => shift[q] + sum[q] / count[q] as f64,
                Impute::Mean => 0.0,
                Impute::Median => median(column(q).copied().filter(|x| x.is_finite()).collect()),
            })
            .collect();
        // Moments of the imputed columns, as a scaler after an imputer sees them: the missing
        // values count as the fill.
        let mut kept = vec![0usize; n_num];
        let mut fsum = vec![0.0; n_num];
        let mut fsq = vec![0.0; n_num];
        if opts.standardize {
            for q in 0..n_num {
                let missing = (n - count[q]) as f64;
                let (mut s1, mut s2) = (sum[q], sq[q]);
                kept[q] = count[q];
                if fills[q].is_finite() {
                    let d = fills[q] - shift[q];
                    s1 += d * missing;
                    s2 += d * d * missing;
                    kept[q] = n;
                }
                let k = kept[q].max(1) as f64;
                let mean = s1 / k;
                fsum[q] = shift[q] + mean;
                // Centred sum of squares.
                fsq[q] = (s2 - mean * s1).max(0.0);
            }
        }
        let mut inputs = Vec::with_capacity(raw.kinds.len());
        let mut offset = 0usize;
        let mut hashed = false;
        for ((name, kind), &q) in raw.names.iter().zip(&raw.kinds).zip(&raw.slot) {
            let encoding = match kind {
                Kind::Numeric => {
                    let fill = fills[q];
                    let (center, scale) = if opts.standardize && kept[q] > 0 {
                        let var = fsq[q] / kept[q] as f64;
                        (fsum[q], if var > 0.0 { var.sqrt() } else { 1.0 })
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
                Kind::Categorical => {
                    let dict = &raw.dicts[q];
                    let mut seen = vec![false; dict.values.len()];
                    for &c in part.codes[q..].iter().step_by(n_cat.max(1)).take(n) {
                        if c != NULL_CODE {
                            seen[c as usize] = true;
                        }
                    }
                    let distinct = seen.iter().filter(|s| **s).count();
                    if distinct <= opts.max_categories {
                        let mut categories: Vec<String> = dict
                            .values
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

    /// Whether the preparation changes nothing: numbers only, used as they are, NULL skipped.
    pub fn is_identity(&self) -> bool {
        self.impute == Impute::Skip
            && self.inputs.iter().all(|i| {
                matches!(i.encoding, Encoding::Numeric { center, scale, .. } if center == 0.0 && scale == 1.0)
            })
    }

    /// Prepares a row of numbers (None = NULL) of an all-numeric preparation into `dense`
    /// (false: a NULL under `skip`). No allocation: the fast path of array prediction.
    pub fn encode_numbers(
        &self,
        values: impl Iterator<Item = Option<f64>>,
        dense: &mut [f64],
    ) -> bool {
        for ((input, v), out) in self.inputs.iter().zip(values).zip(dense.iter_mut()) {
            let Encoding::Numeric {
                fill,
                center,
                scale,
            } = input.encoding
            else {
                return false;
            };
            match Self::numeric(v.unwrap_or(f64::NAN), fill, center, scale) {
                Some(x) => *out = x,
                None => return false,
            }
        }
        true
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
                    match cell.text() {
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
                Encoding::Hashed => match cell.text() {
                    None if self.impute == Impute::Skip => return false,
                    None => {}
                    Some(t) => hashed.push(bucket(&input.name, &t, self.hash_buckets)),
                },
            }
        }
        true
    }

    /// The prepared rows of one part of `raw`: dense row-major (`dense_width` per row) and,
    /// when inputs are hashed, the hashed indices per row (`hashed_inputs()` per row,
    /// `u32::MAX` for NULL). The part is consumed: when every input is a number its buffer
    /// becomes the dense rows in place.
    pub fn transform(&self, raw: &RawTable, part: Part) -> (Vec<f64>, Vec<u32>) {
        let n = part.rows;
        let n_num = raw.n_num;
        let n_cat = raw.dicts.len();
        if self.all_numeric() && self.dense_width == n_num {
            let mut x = part.num;
            let params: Vec<(f64, f64, f64)> = self
                .inputs
                .iter()
                .map(|i| match i.encoding {
                    Encoding::Numeric {
                        fill,
                        center,
                        scale,
                    } => (fill, center, scale),
                    _ => unreachable!("all numeric"),
                })
                .collect();
            for r in x.chunks_exact_mut(n_num.max(1)) {
                for (v, &(fill, center, scale)) in r.iter_mut().zip(&params) {
                    *v = Self::numeric(*v, fill, center, scale).unwrap_or(0.0);
                }
            }
            return (x, Vec::new());
        }
        // Per categorical input: code → one-hot position or hashed bucket.
        let tables: Vec<Vec<u32>> = self
            .inputs
            .iter()
            .zip(&raw.kinds)
            .zip(&raw.slot)
            .map(|((input, kind), &q)| match (&input.encoding, kind) {
                (Encoding::OneHot { categories, .. }, Kind::Categorical) => raw.dicts[q]
                    .values
                    .iter()
                    .map(|v| categories.binary_search(v).map_or(NULL_CODE, |k| k as u32))
                    .collect(),
                (Encoding::Hashed, Kind::Categorical) => raw.dicts[q]
                    .values
                    .iter()
                    .map(|v| bucket(&input.name, v, self.hash_buckets))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let w = self.dense_width;
        let h = self.hashed_inputs();
        let mut dense = vec![0.0; n * w];
        let mut hashed = vec![NULL_CODE; n * h];
        for r in 0..n {
            let num = &part.num[r * n_num..(r + 1) * n_num];
            let codes = &part.codes[r * n_cat..(r + 1) * n_cat];
            let out = &mut dense[r * w..(r + 1) * w];
            let mut d = 0usize;
            let mut hk = 0usize;
            for ((input, &q), table) in self.inputs.iter().zip(&raw.slot).zip(&tables) {
                match &input.encoding {
                    Encoding::Numeric {
                        fill,
                        center,
                        scale,
                    } => {
                        out[d] = Self::numeric(num[q], *fill, *center, *scale).unwrap_or(0.0);
                        d += 1;
                    }
                    Encoding::OneHot { categories, offset } => {
                        let c = codes[q];
                        if c != NULL_CODE && table[c as usize] != NULL_CODE {
                            out[offset + table[c as usize] as usize] = 1.0;
                        }
                        d = offset + categories.len();
                    }
                    Encoding::Hashed => {
                        let c = codes[q];
                        if c != NULL_CODE {
                            hashed[r * h + hk] = table[c as usize];
                        }
                        hk += 1;
                    }
                }
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
        let mut t = table();
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
        let test_part = std::mem::take(&mut t.test);
        let train_part = std::mem::take(&mut t.train);
        let (dense, hashed) = p.transform(&t, train_part);
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
        let (test_dense, _) = p.transform(&t, test_part);
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
