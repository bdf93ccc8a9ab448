//! Parsing of the `options jsonb` argument every trainer takes.
//!
//! Unknown keys and values of the wrong type or range are errors (22023) that name the key, so
//! a typo never silently trains with defaults.

use serde_json::{Map, Value};

use crate::data::prep::{Impute, PrepOptions};
use crate::data::split::{Folds, Split};
use crate::error::{Error, Result};

/// Reads the options object of `function` with `read` (every key with its default) and
/// refuses the keys `read` did not ask for.
pub fn parse<T>(
    function: &str,
    value: Option<&Value>,
    read: impl FnOnce(&mut Options) -> Result<T>,
) -> Result<T> {
    let mut o = Options::new(function, value)?;
    let parsed = read(&mut o)?;
    o.finish()?;
    Ok(parsed)
}

/// A view over an options object that remembers which keys were read.
pub struct Options<'a> {
    function: &'a str,
    map: Map<String, Value>,
    known: Vec<&'static str>,
}

impl<'a> Options<'a> {
    /// `value` must be a JSON object (or null, meaning no options).
    pub fn new(function: &'a str, value: Option<&Value>) -> Result<Self> {
        let map = match value {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "{function}: options must be a JSON object, got {other}"
                )))
            }
        };
        Ok(Options {
            function,
            map,
            known: Vec::new(),
        })
    }

    pub fn get(&mut self, key: &'static str) -> Option<&Value> {
        self.known.push(key);
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub fn bad(&self, key: &str, want: &str, got: &Value) -> Error {
        Error::invalid(format!(
            "{}: option \"{key}\" must be {want}, got {got}",
            self.function
        ))
    }

    /// A number within [lo, hi] (each bound inclusive unless the flag says otherwise).
    pub fn number(
        &mut self,
        key: &'static str,
        default: f64,
        lo: (f64, bool),
        hi: (f64, bool),
    ) -> Result<f64> {
        let Some(v) = self.get(key).cloned() else {
            return Ok(default);
        };
        let range = format!(
            "a number in {}{}, {}{}",
            if lo.1 { "[" } else { "(" },
            lo.0,
            hi.0,
            if hi.1 { "]" } else { ")" }
        );
        let x = v.as_f64().ok_or_else(|| self.bad(key, &range, &v))?;
        let ok_lo = if lo.1 { x >= lo.0 } else { x > lo.0 };
        let ok_hi = if hi.1 { x <= hi.0 } else { x < hi.0 };
        if !(ok_lo && ok_hi && x.is_finite()) {
            return Err(self.bad(key, &range, &v));
        }
        Ok(x)
    }

    /// An integer within [lo, hi].
    pub fn integer(&mut self, key: &'static str, default: i64, lo: i64, hi: i64) -> Result<i64> {
        let Some(v) = self.get(key).cloned() else {
            return Ok(default);
        };
        let want = format!("an integer in [{lo}, {hi}]");
        let x = v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| self.bad(key, &want, &v))?;
        if x < lo || x > hi {
            return Err(self.bad(key, &want, &v));
        }
        Ok(x)
    }

    /// Whether the options give `key` (a value other than null).
    pub fn has(&self, key: &str) -> bool {
        !matches!(self.map.get(key), None | Some(Value::Null))
    }

    /// An integer within [lo, hi], or None when absent.
    pub fn optional_integer(&mut self, key: &'static str, lo: i64, hi: i64) -> Result<Option<i64>> {
        if !self.has(key) {
            self.known.push(key);
            return Ok(None);
        }
        self.integer(key, lo, lo, hi).map(Some)
    }

    pub fn boolean(&mut self, key: &'static str, default: bool) -> Result<bool> {
        let Some(v) = self.get(key).cloned() else {
            return Ok(default);
        };
        v.as_bool()
            .ok_or_else(|| self.bad(key, "true or false", &v))
    }

    pub fn string(&mut self, key: &'static str) -> Result<Option<String>> {
        let Some(v) = self.get(key).cloned() else {
            return Ok(None);
        };
        match v.as_str() {
            Some(s) if !s.is_empty() => Ok(Some(s.to_string())),
            _ => Err(self.bad(key, "a non-empty string", &v)),
        }
    }

    /// An array of non-empty strings, empty when absent.
    pub fn strings(&mut self, key: &'static str) -> Result<Vec<String>> {
        let Some(v) = self.get(key).cloned() else {
            return Ok(Vec::new());
        };
        let want = "an array of column names, e.g. [\"customer_id\"]";
        let arr = v.as_array().ok_or_else(|| self.bad(key, want, &v))?;
        arr.iter()
            .map(|x| match x.as_str() {
                Some(s) if !s.is_empty() => Ok(s.to_string()),
                _ => Err(self.bad(key, want, &v)),
            })
            .collect()
    }

    /// One of a fixed set of strings.
    pub fn choice(
        &mut self,
        key: &'static str,
        default: &'static str,
        allowed: &[&'static str],
    ) -> Result<String> {
        match self.string(key)? {
            None => Ok(default.to_string()),
            Some(s) if allowed.contains(&s.as_str()) => Ok(s),
            Some(s) => Err(self.bad(key, &format!("one of {allowed:?}"), &Value::String(s))),
        }
    }

    /// A JSON object of numbers (e.g. control values), empty when absent.
    pub fn numbers(&mut self, key: &'static str) -> Result<Vec<(String, f64)>> {
        let Some(v) = self.get(key).cloned() else {
            return Ok(Vec::new());
        };
        let want = "an object of numbers, e.g. {\"promo\": 0}";
        let obj = v.as_object().ok_or_else(|| self.bad(key, want, &v))?;
        obj.iter()
            .map(|(k, x)| match x.as_f64() {
                Some(f) if f.is_finite() => Ok((k.clone(), f)),
                _ => Err(self.bad(key, want, &v)),
            })
            .collect()
    }

    /// An optional number within [lo, hi] (bounds as in [`Options::number`]).
    pub fn optional_number(
        &mut self,
        key: &'static str,
        lo: (f64, bool),
        hi: (f64, bool),
    ) -> Result<Option<f64>> {
        if self.map.get(key).is_none_or(|v| v.is_null()) {
            self.known.push(key);
            return Ok(None);
        }
        self.number(key, 0.0, lo, hi).map(Some)
    }

    /// A number within [lo, hi], or the string "auto" (None); absent means `default`.
    pub fn number_or_auto(
        &mut self,
        key: &'static str,
        default: Option<f64>,
        lo: f64,
        hi: f64,
    ) -> Result<Option<f64>> {
        if self.map.get(key).and_then(|v| v.as_str()) == Some("auto") {
            self.known.push(key);
            return Ok(None);
        }
        if self.map.get(key).is_none_or(|v| v.is_null()) {
            self.known.push(key);
            return Ok(default);
        }
        self.number(key, 0.0, (lo, true), (hi, true)).map(Some)
    }

    /// Fails on any key that no getter asked for.
    pub fn finish(self) -> Result<()> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.known.contains(&k.as_str()))
            .collect();
        unknown.sort();
        if let Some(k) = unknown.first() {
            let mut known = self.known.clone();
            known.sort();
            known.dedup();
            return Err(
                Error::invalid(format!("{}: unknown option \"{k}\"", self.function))
                    .with_hint(format!("Known options: {}.", known.join(", "))),
            );
        }
        Ok(())
    }
}

/// The feature-preparation options every trainer takes: `standardize`, `impute`
/// ('skip' | 'mean' | 'median' | 'zero'), `max_categories` (one-hot up to this many values)
/// and `hash_buckets` (the hashing trick beyond).
pub fn prep_options(o: &mut Options, standardize: bool) -> Result<PrepOptions> {
    let standardize = o.boolean("standardize", standardize)?;
    let impute = o.choice("impute", "skip", &["skip", "mean", "median", "zero"])?;
    Ok(PrepOptions {
        standardize,
        impute: Impute::parse(&impute).expect("one of the choices"),
        max_categories: o.integer("max_categories", 32, 1, 10_000)? as usize,
        hash_buckets: o.integer("hash_buckets", 1 << 18, 2, 1 << 24)? as usize,
    })
}

/// The options of the training pipeline that every trainer of rows shares: the held-out split
/// (`test_fraction`, `split_column`, `split_seed`, or one cross-validation fold: `folds` +
/// `fold`, or `fold_column` + `fold`), `exclude` (columns left out of `features => NULL`) and
/// `deploy`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub split: Split,
    pub exclude: Vec<String>,
    pub deploy: bool,
}

/// Reads the pipeline options; `test_fraction` defaults to `default_test_fraction` (0 for
/// trainers without a held-out evaluation, which then do not take the split options).
pub fn pipeline(o: &mut Options, default_test_fraction: Option<f64>) -> Result<Pipeline> {
    let split = match default_test_fraction {
        Some(d) => {
            let mut split = Split {
                test_fraction: o.number("test_fraction", d, (0.0, true), (1.0, false))?,
                split_column: o.string("split_column")?,
                split_seed: o.integer("split_seed", 0, 0, i64::MAX)? as u64,
                folds: None,
            };
            split.folds = fold_options(o, &mut split)?;
            split
        }
        None => Split::none(),
    };
    Ok(Pipeline {
        split,
        exclude: o.strings("exclude")?,
        deploy: o.boolean("deploy", true)?,
    })
}

/// `folds` + `fold` (hold out fold `fold` of `folds` hashed folds, grouped by `split_column`
/// when given) or `fold_column` + `fold` (the column holds each row's fold number): one
/// cross-validation fold in place of `test_fraction` (which must then not be given).
fn fold_options(o: &mut Options, split: &mut Split) -> Result<Option<Folds>> {
    let given_fraction = o.has("test_fraction");
    let k = o.optional_integer("folds", 2, 1000)?;
    let column = o.string("fold_column")?;
    let fold = o.optional_integer("fold", 0, 999)?;
    let folds = match (k, column, fold) {
        (None, None, None) => return Ok(None),
        (Some(_), Some(_), _) => return Err(Error::invalid("give folds or fold_column, not both")),
        (_, _, None) => {
            return Err(Error::invalid(
                "fold (the fold to hold out, from 0) is needed with folds or fold_column",
            ))
        }
        (Some(k), None, Some(fold)) if fold >= k => {
            return Err(Error::invalid(format!(
                "fold must be below folds ({k}), got {fold}"
            )))
        }
        (Some(k), None, Some(fold)) => Folds::Hashed {
            k: k as u32,
            fold: fold as u32,
        },
        (None, Some(c), Some(fold)) => {
            if split.split_column.is_some() {
                return Err(Error::invalid("give split_column or fold_column, not both"));
            }
            split.split_column = Some(c);
            Folds::Given { fold: fold as u32 }
        }
        (None, None, Some(_)) => return Err(Error::invalid("fold needs folds or fold_column")),
    };
    if given_fraction {
        return Err(Error::invalid(
            "give test_fraction or a cross-validation fold (folds / fold_column), not both",
        ));
    }
    // The nominal share held out (nonzero: trainers evaluate on the fold).
    split.test_fraction = match folds {
        Folds::Hashed { k, .. } => 1.0 / f64::from(k),
        Folds::Given { .. } => 0.5,
    };
    Ok(Some(folds))
}

#[cfg(test)]
mod tests {
    use crate::linear::regression::LinearOptions;
    use crate::recommend::model::RecommenderOptions;
    use serde_json::json;

    #[test]
    fn defaults_and_errors() {
        let d = LinearOptions::parse(None).unwrap();
        assert_eq!(d.pipeline.split.test_fraction, 0.2);
        assert!(d.fit_intercept && d.pipeline.deploy);
        let e = LinearOptions::parse(Some(&json!({"l2": -1}))).unwrap_err();
        assert!(e.message.contains("\"l2\""), "{}", e.message);
        let e = LinearOptions::parse(Some(&json!({"test_fraction": 1}))).unwrap_err();
        assert!(e.message.contains("test_fraction"));
        let e = LinearOptions::parse(Some(&json!({"lamda": 1}))).unwrap_err();
        assert!(e.message.contains("unknown option \"lamda\""));
        assert!(e.hint.unwrap().contains("l2"));
        let e = LinearOptions::parse(Some(&json!([1]))).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidParameter);
        let o = LinearOptions::parse(Some(&json!({"l2": 0.5, "group_by": "region"}))).unwrap();
        assert_eq!(o.group_by.as_deref(), Some("region"));
    }

    #[test]
    fn recommender_options() {
        let d = RecommenderOptions::parse(None).unwrap();
        assert_eq!(
            (d.method.as_str(), d.factors, d.regularization),
            ("als", 64, None)
        );
        let o = RecommenderOptions::parse(Some(&json!({"regularization": 3}))).unwrap();
        assert_eq!(o.regularization, Some(3.0));
        let o = RecommenderOptions::parse(Some(&json!({"regularization": "auto"}))).unwrap();
        assert_eq!(o.regularization, None);
        for bad in [
            json!({"regularization": -1}),
            json!({"regularization": "none"}),
            json!({"factors": 0}),
            json!({"method": "svd"}),
            json!({"test_fraction": 0.95}),
            json!({"nieghbors": 5}),
        ] {
            let e = RecommenderOptions::parse(Some(&bad)).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::InvalidParameter, "{bad}");
        }
    }

    #[test]
    fn pipeline_options() {
        let o = LinearOptions::parse(Some(
            &json!({"exclude": ["id", "customer_id"], "split_seed": 7, "split_column": "k"}),
        ))
        .unwrap();
        assert_eq!(o.pipeline.exclude, vec!["id", "customer_id"]);
        assert_eq!(o.pipeline.split.split_seed, 7);
        assert_eq!(o.pipeline.split.split_column.as_deref(), Some("k"));
        for bad in [
            json!({"exclude": "id"}),
            json!({"exclude": [1]}),
            json!({"split_seed": -1}),
        ] {
            let e = LinearOptions::parse(Some(&bad)).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::InvalidParameter, "{bad}");
        }
    }
}
