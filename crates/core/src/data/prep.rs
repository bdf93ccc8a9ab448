//! Feature preparation stored with a model and re-applied when it predicts.
//!
//! Every input column is numeric (numbers and booleans), a date or timestamp, or categorical
//! (text, enums, uuids…). The preparation learnt on the training rows:
//! - numeric: a fill value for NULLs (`impute` mean, median or zero; `skip` drops the row) and,
//!   with `standardize`, the mean and standard deviation;
//! - dates and timestamps: expanded into day of week (0 = Monday), day of month, month, hour
//!   (timestamps only) and days since 1970-01-01, each then treated as a number;
//! - categorical with at most `max_categories` distinct training values: one-hot, one dense
//!   output per value (a value never seen in training, or NULL, gives all zeros);
//! - categorical with more values: the hashing trick, one sparse output in a shared space of
//!   `hash_buckets` (the bucket of `name=value`; NULL gives none).
//!
//! The dense outputs come first, in input order; hashed outputs are indices into the shared
//! space after them. The same [`Prep`] turns a table row into model inputs at prediction time,
//! so a model never sees values prepared differently from its training rows. It is learnt by a
//! [`PrepLearner`], which sees one training row at a time and merges with the learners of
//! other parallel workers, so the serial trainers and the parallel linear aggregate learn it
//! the same way.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

pub use crate::data::cell::Cell;
use crate::error::{Error, Result};
use crate::hash::{fnv1a, mix64, FNV_OFFSET};
use crate::model::{ensure, Kind};

/// What to do with NULL (or NaN) feature values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Impute {
    /// Drop the row in training; predict NULL for it.
    Skip,
    Mean,
    Median,
    Zero,
    /// Keep missing numbers missing (NaN): trees route them (boosted trees only). Stored as
    /// the fill +∞.
    Keep,
}

/// The fill of a number under `keep`: the prepared value stays NaN.
pub const KEEP_MISSING: f64 = f64::INFINITY;

impl Impute {
    pub fn parse(s: &str) -> Option<Impute> {
        Some(match s {
            "skip" => Impute::Skip,
            "mean" => Impute::Mean,
            "median" => Impute::Median,
            "zero" => Impute::Zero,
            "keep" => Impute::Keep,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Impute::Skip => "skip",
            Impute::Mean => "mean",
            Impute::Median => "median",
            Impute::Zero => "zero",
            Impute::Keep => "keep",
        }
    }
}

/// How the preparation is learnt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrepOptions {
    pub standardize: bool,
    pub impute: Impute,
    pub max_categories: usize,
    pub hash_buckets: usize,
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
    /// A date or timestamp: one dense output per [`TimePart`] (the hour only `with_hour`),
    /// starting at `offset`, each prepared like a number with its own fill, centre and scale.
    Time {
        with_hour: bool,
        offset: usize,
        fill: Vec<f64>,
        center: Vec<f64>,
        scale: Vec<f64>,
    },
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

/// How a raw input column enters a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnKind {
    Numeric,
    Categorical,
    /// Dates (`with_hour` false) and timestamps, read as days since 1970-01-01.
    Time {
        with_hour: bool,
    },
}

impl ColumnKind {
    /// Numbers a raw value of this kind expands to (0 for categories).
    fn numbers(self) -> usize {
        match self {
            ColumnKind::Numeric => 1,
            ColumnKind::Categorical => 0,
            ColumnKind::Time { with_hour } => TimePart::count(with_hour),
        }
    }
}

/// The numbers a date or timestamp is expanded into, in output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePart {
    DayOfWeek,
    DayOfMonth,
    Month,
    Hour,
    EpochDays,
}

impl TimePart {
    const ALL: [TimePart; 5] = [
        TimePart::DayOfWeek,
        TimePart::DayOfMonth,
        TimePart::Month,
        TimePart::Hour,
        TimePart::EpochDays,
    ];

    /// The parts of a date (no hour) or a timestamp.
    pub fn of(with_hour: bool) -> impl Iterator<Item = TimePart> {
        Self::ALL
            .into_iter()
            .filter(move |p| with_hour || *p != TimePart::Hour)
    }

    fn count(with_hour: bool) -> usize {
        if with_hour {
            5
        } else {
            4
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimePart::DayOfWeek => "day_of_week",
            TimePart::DayOfMonth => "day_of_month",
            TimePart::Month => "month",
            TimePart::Hour => "hour",
            TimePart::EpochDays => "epoch_days",
        }
    }
}

/// The time parts of `days` since 1970-01-01 (UTC), in [`TimePart::of`] order, into `out`.
pub fn time_parts(days: f64, with_hour: bool, out: &mut [f64]) {
    let d = days.floor();
    let day = d as i64;
    // Civil date from days (Hinnant's days_from_civil inverse, proleptic Gregorian).
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let dom = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    for (k, part) in TimePart::of(with_hour).enumerate() {
        out[k] = match part {
            // 1970-01-01 was a Thursday (3 with Monday = 0).
            TimePart::DayOfWeek => (day + 3).rem_euclid(7) as f64,
            TimePart::DayOfMonth => dom as f64,
            TimePart::Month => month as f64,
            TimePart::Hour => ((days - d) * 24.0 + 1e-9).floor().min(23.0),
            TimePart::EpochDays => days,
        };
    }
}

/// The distinct values of one categorical column, numbered in order of appearance.
#[derive(Default)]
struct Dict {
    codes: HashMap<String, u32>,
    values: Vec<String>,
}

/// Rows of one part (training or test), row-major: the numeric inputs of each row (NaN for
/// NULL; a date or timestamp as its days) and the codes of its categorical inputs
/// (`u32::MAX` for NULL).
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
    kinds: Vec<ColumnKind>,
    /// Per input: its position among the numeric (and time) or among the categorical inputs.
    slot: Vec<usize>,
    n_num: usize,
    dicts: Vec<Dict>,
    pub train: Part,
    pub test: Part,
}

const NULL_CODE: u32 = u32::MAX;

impl RawTable {
    pub fn new(names: Vec<String>, kinds: &[ColumnKind]) -> RawTable {
        let (mut n_num, mut n_cat) = (0, 0);
        let slot = kinds
            .iter()
            .map(|k| {
                let c = if *k == ColumnKind::Categorical {
                    &mut n_cat
                } else {
                    &mut n_num
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
        cells.iter().any(Cell::is_missing)
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
                ColumnKind::Categorical => {
                    let dict = &mut self.dicts[slot];
                    part.codes.push(match cell.category() {
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
                _ => part.num.push(cell.number().unwrap_or(f64::NAN)),
            }
        }
        part.rows += 1;
    }

    /// Bytes held per row (for memory budgets).
    pub fn bytes_per_row(&self) -> usize {
        self.kinds.len() * 8
    }

    /// The cells of row `r` of a part, as they were pushed (categories from the dictionary).
    fn cells<'a>(&'a self, part: &'a Part, r: usize, out: &mut Vec<Cell<'a>>) {
        out.clear();
        let num = &part.num[r * self.n_num..(r + 1) * self.n_num];
        let n_cat = self.dicts.len();
        let codes = &part.codes[r * n_cat..(r + 1) * n_cat];
        for (kind, &q) in self.kinds.iter().zip(&self.slot) {
            out.push(match kind {
                ColumnKind::Categorical => match codes[q] {
                    NULL_CODE => Cell::Null,
                    c => Cell::Text(&self.dicts[q].values[c as usize]),
                },
                _ => Cell::Num(num[q]),
            });
        }
    }
}

/// Count, sum and centred sum of squares of one numeric value, accumulated and merged as
/// PostgreSQL's float8 aggregates do (Youngs–Cramer), so a fill learnt as the mean equals
/// `avg()` of the same rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Moments {
    n: f64,
    sx: f64,
    sxx: f64,
}

impl Moments {
    #[inline]
    fn add(&mut self, x: f64) {
        self.n += 1.0;
        self.sx += x;
        if self.n > 1.0 {
            let t = x * self.n - self.sx;
            self.sxx += t * t / (self.n * (self.n - 1.0));
        }
    }

    fn merge(&mut self, o: &Moments) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = o.clone();
            return;
        }
        let n = self.n + o.n;
        let d = self.sx / self.n - o.sx / o.n;
        self.sxx += o.sxx + self.n * o.n * d * d / n;
        self.sx += o.sx;
        self.n = n;
    }

    fn mean(&self) -> f64 {
        self.sx / self.n
    }
}

/// What a [`PrepLearner`] knows of one numeric value (a number, or one part of a time).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct NumberStats {
    moments: Moments,
    /// Every observed value, kept only to learn a median.
    values: Option<Vec<f64>>,
}

/// What a [`PrepLearner`] knows of one categorical column: its distinct values, until there
/// are more than `max_categories` (then only that there are).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct CategoryStats {
    values: BTreeSet<String>,
    overflow: bool,
}

/// Learns a [`Prep`] from training rows seen one at a time; partial learners of parallel
/// workers merge into the learner one pass would have made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrepLearner {
    names: Vec<String>,
    kinds: Vec<ColumnKind>,
    opts: PrepOptions,
    rows: u64,
    numbers: Vec<NumberStats>,
    categories: Vec<CategoryStats>,
    #[serde(skip)]
    parts: Vec<f64>,
}

impl PrepLearner {
    /// The kind of each input column, in order.
    pub fn kinds(&self) -> &[ColumnKind] {
        &self.kinds
    }

    pub fn new(names: Vec<String>, kinds: Vec<ColumnKind>, opts: &PrepOptions) -> PrepLearner {
        let n_num: usize = kinds.iter().map(|k| k.numbers()).sum();
        let n_cat = kinds
            .iter()
            .filter(|k| **k == ColumnKind::Categorical)
            .count();
        let median = opts.impute == Impute::Median;
        PrepLearner {
            names,
            kinds,
            opts: opts.clone(),
            rows: 0,
            numbers: (0..n_num)
                .map(|_| NumberStats {
                    moments: Moments::default(),
                    values: median.then(Vec::new),
                })
                .collect(),
            categories: vec![CategoryStats::default(); n_cat],
            parts: vec![0.0; 5],
        }
    }

    /// Learns from one training row (cells in input order).
    pub fn add(&mut self, cells: &[Cell]) {
        self.rows += 1;
        let (mut q, mut c) = (0usize, 0usize);
        for (kind, cell) in self.kinds.iter().zip(cells) {
            match *kind {
                ColumnKind::Numeric => {
                    if let Some(x) = cell.number() {
                        Self::observe(&mut self.numbers[q], x);
                    }
                    q += 1;
                }
                ColumnKind::Time { with_hour } => {
                    let k = TimePart::count(with_hour);
                    if let Some(days) = cell.number() {
                        self.parts.resize(5, 0.0);
                        time_parts(days, with_hour, &mut self.parts);
                        for (s, &x) in self.numbers[q..q + k].iter_mut().zip(&self.parts) {
                            Self::observe(s, x);
                        }
                    }
                    q += k;
                }
                ColumnKind::Categorical => {
                    let s = &mut self.categories[c];
                    if let (Some(v), false) = (cell.category(), s.overflow) {
                        if !s.values.contains(v.as_ref()) {
                            s.values.insert(v.into_owned());
                            if s.values.len() > self.opts.max_categories {
                                s.overflow = true;
                                s.values.clear();
                            }
                        }
                    }
                    c += 1;
                }
            }
        }
    }

    #[inline]
    fn observe(s: &mut NumberStats, x: f64) {
        s.moments.add(x);
        if let Some(v) = &mut s.values {
            v.push(x);
        }
    }

    pub fn merge(&mut self, o: &PrepLearner) {
        self.rows += o.rows;
        for (a, b) in self.numbers.iter_mut().zip(&o.numbers) {
            a.moments.merge(&b.moments);
            if let (Some(va), Some(vb)) = (&mut a.values, &b.values) {
                va.extend_from_slice(vb);
            }
        }
        for (a, b) in self.categories.iter_mut().zip(&o.categories) {
            if a.overflow || b.overflow {
                a.overflow = true;
                a.values.clear();
                continue;
            }
            a.values.extend(b.values.iter().cloned());
            if a.values.len() > self.opts.max_categories {
                a.overflow = true;
                a.values.clear();
            }
        }
    }

    /// Training rows seen.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Fill, centre and scale of numeric value `q`.
    fn number_encoding(&self, q: usize) -> (f64, f64, f64) {
        let s = &self.numbers[q];
        let m = &s.moments;
        let fill = match self.opts.impute {
            Impute::Skip => f64::NAN,
            Impute::Keep => KEEP_MISSING,
            Impute::Zero => 0.0,
            Impute::Mean if m.n > 0.0 => m.mean(),
            Impute::Mean => 0.0,
            Impute::Median => median(s.values.clone().unwrap_or_default()),
        };
        if !self.opts.standardize {
            return (fill, 0.0, 1.0);
        }
        // Moments of the imputed column, as a scaler after an imputer sees them: the missing
        // values count as the fill.
        let mut all = m.clone();
        let missing = self.rows as f64 - m.n;
        if fill.is_finite() && missing > 0.0 {
            all.merge(&Moments {
                n: missing,
                sx: fill * missing,
                sxx: 0.0,
            });
        }
        if all.n == 0.0 {
            return (fill, 0.0, 1.0);
        }
        let var = all.sxx / all.n;
        (fill, all.mean(), if var > 0.0 { var.sqrt() } else { 1.0 })
    }

    /// The preparation learnt.
    pub fn finish(&self) -> Result<Prep> {
        let mut inputs = Vec::with_capacity(self.kinds.len());
        let mut offset = 0usize;
        let mut hashed = false;
        let (mut q, mut c) = (0usize, 0usize);
        for (name, kind) in self.names.iter().zip(&self.kinds) {
            let encoding = match *kind {
                ColumnKind::Numeric => {
                    let (fill, center, scale) = self.number_encoding(q);
                    q += 1;
                    offset += 1;
                    Encoding::Numeric {
                        fill,
                        center,
                        scale,
                    }
                }
                ColumnKind::Time { with_hour } => {
                    let k = TimePart::count(with_hour);
                    let (mut fill, mut center, mut scale) = (vec![], vec![], vec![]);
                    for j in q..q + k {
                        let (f, m, s) = self.number_encoding(j);
                        fill.push(f);
                        center.push(m);
                        scale.push(s);
                    }
                    let e = Encoding::Time {
                        with_hour,
                        offset,
                        fill,
                        center,
                        scale,
                    };
                    q += k;
                    offset += k;
                    e
                }
                ColumnKind::Categorical => {
                    let s = &self.categories[c];
                    c += 1;
                    if s.overflow {
                        hashed = true;
                        Encoding::Hashed
                    } else {
                        // A BTreeSet iterates in byte order: the categories come sorted.
                        let categories: Vec<String> = s.values.iter().cloned().collect();
                        let e = Encoding::OneHot { offset, categories };
                        offset += s.values.len();
                        e
                    }
                }
            };
            inputs.push(Input {
                name: name.clone(),
                encoding,
            });
        }
        if hashed && self.opts.hash_buckets == 0 {
            return Err(Error::invalid("hash_buckets must be positive"));
        }
        Ok(Prep {
            inputs,
            impute: self.opts.impute,
            standardize: self.opts.standardize,
            dense_width: offset,
            hash_buckets: if hashed { self.opts.hash_buckets } else { 0 },
        })
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
    /// The kind of column each input was prepared from, in order.
    pub fn input_kinds(&self) -> Vec<ColumnKind> {
        let kind = |e: &Encoding| match e {
            Encoding::Numeric { .. } => ColumnKind::Numeric,
            Encoding::Time { with_hour, .. } => ColumnKind::Time {
                with_hour: *with_hour,
            },
            Encoding::OneHot { .. } | Encoding::Hashed => ColumnKind::Categorical,
        };
        self.inputs.iter().map(|i| kind(&i.encoding)).collect()
    }

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
        let mut learner = PrepLearner::new(raw.names.clone(), raw.kinds.clone(), opts);
        if raw.kinds.iter().all(|k| *k == ColumnKind::Numeric) {
            // Numbers only: straight from the row-major numbers, as `add` would see them.
            let n_num = raw.n_num.max(1);
            for r in raw.train.num.chunks_exact(n_num).take(raw.train.rows) {
                learner.rows += 1;
                for (s, &q) in learner.numbers.iter_mut().zip(&raw.slot) {
                    if r[q].is_finite() {
                        PrepLearner::observe(s, r[q]);
                    }
                }
            }
            return learner.finish();
        }
        let mut cells = Vec::with_capacity(raw.kinds.len());
        for r in 0..raw.train.rows {
            raw.cells(&raw.train, r, &mut cells);
            learner.add(&cells);
        }
        learner.finish()
    }

    /// Checks a decoded preparation: the dense outputs of the inputs follow each other and
    /// fill `dense_width` exactly, and a hashed input has a hashed space to go to.
    pub fn validate(&self, kind: &Kind) -> Result<()> {
        let mut d = 0usize;
        for i in &self.inputs {
            match &i.encoding {
                Encoding::Numeric { .. } => d += 1,
                Encoding::OneHot { categories, offset } => {
                    ensure(kind, *offset == d, "a preparation with misplaced outputs")?;
                    d = offset.saturating_add(categories.len());
                }
                Encoding::Time {
                    with_hour,
                    offset,
                    fill,
                    center,
                    scale,
                } => {
                    let k = TimePart::count(*with_hour);
                    ensure(
                        kind,
                        *offset == d && fill.len() == k && center.len() == k && scale.len() == k,
                        "a preparation with misplaced outputs",
                    )?;
                    d += k;
                }
                Encoding::Hashed => ensure(
                    kind,
                    self.hash_buckets > 0,
                    "a hashed input without hash buckets",
                )?,
            }
        }
        ensure(
            kind,
            d == self.dense_width,
            "a preparation of the wrong width",
        )
    }

    /// Bytes the preparation holds.
    pub fn memory_bytes(&self) -> usize {
        self.inputs
            .iter()
            .map(|i| {
                64 + i.name.len()
                    + match &i.encoding {
                        Encoding::OneHot { categories, .. } => {
                            categories.iter().map(|c| c.len() + 24).sum()
                        }
                        Encoding::Time { .. } => 120,
                        _ => 0,
                    }
            })
            .sum()
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

    /// Names of the dense outputs: the column for numbers, `column=value` for one-hot,
    /// `column.part` for the parts of a time.
    pub fn dense_names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.dense_width);
        for i in &self.inputs {
            match &i.encoding {
                Encoding::Numeric { .. } => out.push(i.name.clone()),
                Encoding::OneHot { categories, .. } => {
                    out.extend(categories.iter().map(|c| format!("{}={c}", i.name)))
                }
                Encoding::Time { with_hour, .. } => {
                    out.extend(TimePart::of(*with_hour).map(|p| format!("{}.{}", i.name, p.name())))
                }
                Encoding::Hashed => {}
            }
        }
        out
    }

    /// Number of dense outputs of input `i`.
    fn width_of(e: &Encoding) -> usize {
        match e {
            Encoding::Numeric { .. } => 1,
            Encoding::OneHot { categories, .. } => categories.len(),
            Encoding::Time { with_hour, .. } => TimePart::count(*with_hour),
            Encoding::Hashed => 0,
        }
    }

    /// For each dense output, the input it comes from.
    pub fn dense_sources(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.dense_width);
        for (k, i) in self.inputs.iter().enumerate() {
            out.extend(std::iter::repeat_n(k, Self::width_of(&i.encoding)));
        }
        out
    }

    /// Turns dense outputs back into input units (numbers and time parts un-standardised;
    /// one-hot outputs, e.g. a centroid's share of a category, stay as they are).
    pub fn original_units(&self, dense: &mut [f64]) {
        let mut d = 0usize;
        for i in &self.inputs {
            match &i.encoding {
                Encoding::Numeric { center, scale, .. } => {
                    dense[d] = dense[d] * scale + center;
                    d += 1;
                }
                Encoding::Time { center, scale, .. } => {
                    for (j, (c, s)) in center.iter().zip(scale).enumerate() {
                        dense[d + j] = dense[d + j] * s + c;
                    }
                    d += center.len();
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
        if v == KEEP_MISSING {
            return Some(f64::NAN);
        }
        v.is_finite().then(|| (v - center) / scale)
    }

    /// The outputs of a numeric or time input in a prepared row, given the position `d` after
    /// the inputs before it (moved past this input's outputs).
    #[inline]
    fn outputs<'o>(e: &Encoding, row: &'o mut [f64], d: &mut usize) -> &'o mut [f64] {
        let (start, width) = match e {
            Encoding::Time { offset, fill, .. } => (*offset, fill.len()),
            _ => (*d, 1),
        };
        *d = start + width;
        &mut row[start..start + width]
    }

    /// The prepared outputs of a numeric or time input for the number `x` (NaN for NULL)
    /// into `out` (false: NULL under `skip`).
    #[inline]
    fn numbers(e: &Encoding, x: f64, out: &mut [f64]) -> bool {
        match e {
            Encoding::Numeric {
                fill,
                center,
                scale,
            } => match Self::numeric(x, *fill, *center, *scale) {
                Some(v) => {
                    out[0] = v;
                    true
                }
                None => false,
            },
            Encoding::Time {
                with_hour,
                fill,
                center,
                scale,
                ..
            } => Self::time(x, *with_hour, fill, center, scale, out),
            Encoding::OneHot { .. } | Encoding::Hashed => false,
        }
    }

    /// The prepared parts of a time into `out` (false: NULL under `skip`).
    #[inline]
    fn time(
        days: f64,
        with_hour: bool,
        fill: &[f64],
        center: &[f64],
        scale: &[f64],
        out: &mut [f64],
    ) -> bool {
        let k = fill.len();
        if days.is_finite() {
            time_parts(days, with_hour, out);
        } else {
            out[..k].fill(f64::NAN);
        }
        for j in 0..k {
            match Self::numeric(out[j], fill[j], center[j], scale[j]) {
                Some(v) => out[j] = v,
                None => return false,
            }
        }
        true
    }

    /// Prepares one row: dense outputs into `dense` (length `dense_width`), hashed indices
    /// (relative to the hashed space) appended to `hashed`. False when the row has a NULL
    /// under `skip` (the model's answer is NULL).
    pub fn encode(&self, cells: &[Cell], dense: &mut [f64], hashed: &mut Vec<u32>) -> bool {
        dense.iter_mut().for_each(|v| *v = 0.0);
        let mut d = 0usize;
        for (input, cell) in self.inputs.iter().zip(cells) {
            match &input.encoding {
                e @ (Encoding::Numeric { .. } | Encoding::Time { .. }) => {
                    let out = Self::outputs(e, dense, &mut d);
                    if !Self::numbers(e, cell.number().unwrap_or(f64::NAN), out) {
                        return false;
                    }
                }
                Encoding::OneHot { categories, offset } => {
                    match cell.category() {
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
                Encoding::Hashed => match cell.category() {
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
                (Encoding::OneHot { categories, .. }, ColumnKind::Categorical) => raw.dicts[q]
                    .values
                    .iter()
                    .map(|v| categories.binary_search(v).map_or(NULL_CODE, |k| k as u32))
                    .collect(),
                (Encoding::Hashed, ColumnKind::Categorical) => raw.dicts[q]
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
                    e @ (Encoding::Numeric { .. } | Encoding::Time { .. }) => {
                        let o = Self::outputs(e, out, &mut d);
                        if !Self::numbers(e, num[q], o) {
                            o.fill(0.0);
                        }
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
            debug_assert!(d <= w);
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
                Encoding::Time { with_hour, .. } => serde_json::json!({"column": i.name,
                    "encoding": "time",
                    "parts": TimePart::of(*with_hour).map(TimePart::name).collect::<Vec<_>>()}),
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
            &[
                ColumnKind::Numeric,
                ColumnKind::Categorical,
                ColumnKind::Categorical,
            ],
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

    #[test]
    fn learners_merge_into_one_pass() {
        let names = vec!["x".to_string(), "c".to_string(), "d".to_string()];
        let kinds = vec![
            ColumnKind::Numeric,
            ColumnKind::Categorical,
            ColumnKind::Time { with_hour: true },
        ];
        let o = opts(Impute::Median, 3);
        let rows: Vec<[Cell; 3]> = (0..40)
            .map(|i| {
                [
                    if i % 7 == 0 {
                        Cell::Null
                    } else {
                        Cell::Num(i as f64 * 1.5)
                    },
                    Cell::Text(["a", "b", "c"][i % 3]),
                    Cell::Num(19_000.0 + i as f64 * 0.3),
                ]
            })
            .collect();
        let mut one = PrepLearner::new(names.clone(), kinds.clone(), &o);
        rows.iter().for_each(|r| one.add(r));
        let mut a = PrepLearner::new(names.clone(), kinds.clone(), &o);
        let mut b = PrepLearner::new(names, kinds, &o);
        rows[..13].iter().for_each(|r| a.add(r));
        rows[13..].iter().for_each(|r| b.add(r));
        a.merge(&b);
        let (p1, p2) = (one.finish().unwrap(), a.finish().unwrap());
        assert_eq!(p1.dense_names(), p2.dense_names());
        assert_eq!(p1.dense_width, 1 + 3 + 5);
        let (
            Encoding::Numeric {
                fill: f1,
                center: c1,
                scale: s1,
            },
            Encoding::Numeric {
                fill: f2,
                center: c2,
                scale: s2,
            },
        ) = (&p1.inputs[0].encoding, &p2.inputs[0].encoding)
        else {
            panic!()
        };
        assert_eq!(f1, f2);
        assert!((c1 - c2).abs() < 1e-12 && (s1 - s2).abs() < 1e-12);
        // The mean fill is avg() of the observed values, exactly.
        let mut m = PrepLearner::new(
            vec!["x".into()],
            vec![ColumnKind::Numeric],
            &opts(Impute::Mean, 3),
        );
        rows.iter().for_each(|r| m.add(&r[..1]));
        let observed: Vec<f64> = rows.iter().filter_map(|r| r[0].number()).collect();
        let avg = observed.iter().sum::<f64>() / observed.len() as f64;
        let Encoding::Numeric { fill, .. } = m.finish().unwrap().inputs[0].encoding else {
            panic!()
        };
        assert_eq!(fill, avg);
    }

    #[test]
    fn time_parts_of_known_days() {
        let mut out = [0.0; 5];
        // 2024-02-29 was a Thursday; 18:30 on it.
        let days = 19_782.0 + 18.5 / 24.0;
        time_parts(days, true, &mut out);
        assert_eq!(&out[..4], &[3.0, 29.0, 2.0, 18.0]);
        assert_eq!(out[4], days);
        // 1969-12-31 was a Wednesday; dates before the epoch are negative days.
        time_parts(-1.0, false, &mut out);
        assert_eq!(&out[..3], &[2.0, 31.0, 12.0]);
        // 2000-03-01, a Wednesday.
        time_parts(11_017.0, false, &mut out);
        assert_eq!(&out[..3], &[2.0, 1.0, 3.0]);
    }
}
