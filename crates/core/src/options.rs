//! Parsing of the `options jsonb` argument every trainer takes.
//!
//! Unknown keys and values of the wrong type or range are errors (22023) that name the key, so
//! a typo never silently trains with defaults.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::forest::{ForestParams, MaxFeatures};
use crate::prep::{Impute, PrepOptions};

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

    fn get(&mut self, key: &'static str) -> Option<&Value> {
        self.known.push(key);
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    fn bad(&self, key: &str, want: &str, got: &Value) -> Error {
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

/// Options of `train_linear`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearOptions {
    pub prep: PrepOptions,
    pub l2: f64,
    pub fit_intercept: bool,
    pub test_fraction: f64,
    pub split_column: Option<String>,
    pub group_by: Option<String>,
    pub deploy: bool,
}

impl LinearOptions {
    pub fn parse(value: Option<&Value>) -> Result<Self> {
        let mut o = Options::new("train_linear", value)?;
        let parsed = LinearOptions {
            prep: prep_options(&mut o, false)?,
            l2: o.number("l2", 0.0, (0.0, true), (f64::INFINITY, false))?,
            fit_intercept: o.boolean("fit_intercept", true)?,
            test_fraction: o.number("test_fraction", 0.2, (0.0, true), (1.0, false))?,
            split_column: o.string("split_column")?,
            group_by: o.string("group_by")?,
            deploy: o.boolean("deploy", true)?,
        };
        o.finish()?;
        Ok(parsed)
    }
}

/// Options of `train_recommender`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommenderOptions {
    pub method: String,
    pub factors: usize,
    pub iterations: usize,
    /// None: chosen on a validation split ("auto", the default).
    pub regularization: Option<f64>,
    pub alpha: f64,
    pub cg_steps: usize,
    pub seed: u64,
    pub neighbors: usize,
    pub test_fraction: f64,
    pub k: usize,
    pub time_column: Option<String>,
    pub deploy: bool,
}

impl RecommenderOptions {
    pub fn parse(value: Option<&Value>) -> Result<Self> {
        let mut o = Options::new("train_recommender", value)?;
        let parsed = RecommenderOptions {
            method: o.choice("method", "als", &["als", "item_knn"])?,
            factors: o.integer("factors", 64, 1, 1024)? as usize,
            iterations: o.integer("iterations", 15, 1, 1000)? as usize,
            regularization: o.number_or_auto("regularization", None, 0.0, 1e9)?,
            alpha: o.number("alpha", 1.0, (0.0, true), (1e9, true))?,
            cg_steps: o.integer("cg_steps", 3, 1, 64)? as usize,
            seed: o.integer("seed", 42, 0, i64::MAX)? as u64,
            neighbors: o.integer("neighbors", 100, 1, 10_000)? as usize,
            test_fraction: o.number("test_fraction", 0.2, (0.0, true), (0.9, true))?,
            k: o.integer("k", 10, 1, 1000)? as usize,
            time_column: o.string("time_column")?,
            deploy: o.boolean("deploy", true)?,
        };
        o.finish()?;
        Ok(parsed)
    }
}

/// Options of `train_demand`.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandTrainOptions {
    pub per_product_controls: bool,
    pub group_by: Option<String>,
    pub shrinkage: bool,
    pub max_iterations: usize,
    pub deploy: bool,
}

impl DemandTrainOptions {
    pub fn parse(value: Option<&Value>) -> Result<Self> {
        let mut o = Options::new("train_demand", value)?;
        let parsed = DemandTrainOptions {
            per_product_controls: o.choice("controls", "shared", &["shared", "per_product"])?
                == "per_product",
            group_by: o.string("group_by")?,
            shrinkage: o.boolean("shrinkage", true)?,
            max_iterations: o.integer("max_iterations", 100, 1, 1000)? as usize,
            deploy: o.boolean("deploy", true)?,
        };
        o.finish()?;
        Ok(parsed)
    }
}

/// Options of `optimal_price` and `price_curve`.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceOptions {
    pub revenue: bool,
    pub min_margin: Option<f64>,
    pub current_price: Option<f64>,
    pub max_change: Option<f64>,
    /// Control values to price at (the product's averages when absent).
    pub at: Vec<(String, f64)>,
}

impl PriceOptions {
    /// `rules`: whether the business-rule options are allowed (optimal_price) or not
    /// (price_curve).
    pub fn parse(function: &str, value: Option<&Value>, rules: bool) -> Result<Self> {
        let mut o = Options::new(function, value)?;
        let mut parsed = PriceOptions {
            revenue: false,
            min_margin: None,
            current_price: None,
            max_change: None,
            at: o.numbers("at")?,
        };
        if rules {
            parsed.revenue = o.choice("objective", "profit", &["profit", "revenue"])? == "revenue";
            // Range checks with the other arguments happen in pricing::Rules::check.
            let any = (f64::NEG_INFINITY, false);
            let inf = (f64::INFINITY, false);
            parsed.min_margin = o.optional_number("min_margin", any, inf)?;
            parsed.current_price = o.optional_number("current_price", any, inf)?;
            parsed.max_change = o.optional_number("max_change", any, inf)?;
        }
        o.finish()?;
        Ok(parsed)
    }
}

/// Options of `rfm`.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmOptions {
    /// Count distinct values of this column (orders) instead of rows.
    pub order_column: Option<String>,
    /// Monetary value as the average amount instead of the total.
    pub average: bool,
}

impl RfmOptions {
    pub fn parse(value: Option<&Value>) -> Result<Self> {
        let mut o = Options::new("rfm", value)?;
        let parsed = RfmOptions {
            order_column: o.string("order_column")?,
            average: o.choice("monetary", "total", &["total", "average"])? == "average",
        };
        o.finish()?;
        Ok(parsed)
    }
}

/// Options of `train_kmeans`.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansOptions {
    pub prep: PrepOptions,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
    pub deploy: bool,
}

impl KMeansOptions {
    pub fn parse(value: Option<&Value>) -> Result<Self> {
        let mut o = Options::new("train_kmeans", value)?;
        let parsed = KMeansOptions {
            prep: prep_options(&mut o, true)?,
            n_init: o.integer("n_init", 4, 1, 100)? as usize,
            max_iter: o.integer("max_iter", 300, 1, 100_000)? as usize,
            tol: o.number("tol", 1e-4, (0.0, true), (1.0, true))?,
            seed: o.integer("seed", 42, 0, i64::MAX)? as u64,
            deploy: o.boolean("deploy", true)?,
        };
        o.finish()?;
        Ok(parsed)
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

/// Options of `train_forest`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestOptions {
    pub prep: PrepOptions,
    pub forest: ForestParams,
    pub test_fraction: f64,
    pub deploy: bool,
}

impl ForestOptions {
    pub fn parse(value: Option<&Value>) -> Result<Self> {
        let mut o = Options::new("train_forest", value)?;
        let max_features = match o.get("max_features").cloned() {
            None => MaxFeatures::Sqrt,
            Some(Value::String(s)) if s == "sqrt" => MaxFeatures::Sqrt,
            Some(Value::String(s)) if s == "log2" => MaxFeatures::Log2,
            Some(Value::String(s)) if s == "all" => MaxFeatures::All,
            Some(v) => match (v.as_u64(), v.as_f64()) {
                (Some(k), _) if (1..=100_000).contains(&k) => MaxFeatures::Count(k as usize),
                (None, Some(f)) if f > 0.0 && f <= 1.0 => MaxFeatures::Fraction(f),
                _ => {
                    return Err(o.bad(
                        "max_features",
                        "'sqrt', 'log2', 'all', a count of features or a fraction in (0, 1]",
                        &v,
                    ))
                }
            },
        };
        let parsed = ForestOptions {
            prep: prep_options(&mut o, false)?,
            forest: ForestParams {
                n_trees: o.integer("n_trees", 100, 1, 10_000)? as usize,
                max_depth: match o.get("max_depth").is_some() {
                    true => Some(o.integer("max_depth", 0, 1, 1000)? as usize),
                    false => None,
                },
                min_samples_leaf: o.integer("min_samples_leaf", 1, 1, 1_000_000)? as usize,
                max_features,
                bootstrap: o.boolean("bootstrap", true)?,
                seed: o.integer("seed", 42, 0, i64::MAX)? as u64,
                balanced: o.choice("class_weight", "none", &["none", "balanced"])? == "balanced",
                max_bins: o.integer("max_bins", 255, 2, 255)? as usize,
            },
            test_fraction: o.number("test_fraction", 0.2, (0.0, true), (1.0, false))?,
            deploy: o.boolean("deploy", true)?,
        };
        o.finish()?;
        Ok(parsed)
    }
}

/// Options of `train_logistic`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticOptions {
    pub l1: f64,
    pub l2: f64,
    pub prep: PrepOptions,
    pub balanced: bool,
    pub test_fraction: f64,
    pub max_iter: usize,
    pub deploy: bool,
}

impl LogisticOptions {
    pub fn parse(value: Option<&Value>) -> Result<Self> {
        let mut o = Options::new("train_logistic", value)?;
        let parsed = LogisticOptions {
            l1: o.number("l1", 0.0, (0.0, true), (1e12, true))?,
            l2: o.number("l2", 1.0, (0.0, true), (1e12, true))?,
            prep: prep_options(&mut o, true)?,
            balanced: o.choice("class_weight", "none", &["none", "balanced"])? == "balanced",
            test_fraction: o.number("test_fraction", 0.2, (0.0, true), (1.0, false))?,
            max_iter: o.integer("max_iter", 100, 1, 10_000)? as usize,
            deploy: o.boolean("deploy", true)?,
        };
        o.finish()?;
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_errors() {
        let d = LinearOptions::parse(None).unwrap();
        assert_eq!(d.test_fraction, 0.2);
        assert!(d.fit_intercept && d.deploy);
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
}
