//! The price to set under constant-elasticity demand q(p) = A·p^e, within business rules.
//!
//! Profit (p − c)·A·p^e is maximised at p* = c·e/(1 + e) when e < −1 and is unimodal in p, so
//! the best feasible price is p* clamped to the feasible interval; with e ≥ −1 profit grows with
//! the price and the best is the upper bound. Revenue A·p^(1+e) is monotone: the lower bound
//! when e < −1, the upper bound otherwise. `binding` names the rule that set the price.

use crate::error::{Error, Result};
use crate::options::Options;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    Profit,
    Revenue,
}

/// Business rules on the price.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    /// Minimum margin m: p ≥ c / (1 − m).
    pub min_margin: Option<f64>,
    pub current_price: Option<f64>,
    /// With `current_price`: p within current · (1 ± max_change).
    pub max_change: Option<f64>,
}

impl Rules {
    /// Checks the values (22023 naming the argument).
    pub fn check(&self, unit_cost: Option<f64>) -> Result<()> {
        let positive = |name: &str, v: Option<f64>| match v {
            Some(x) if !(x > 0.0 && x.is_finite()) => Err(Error::invalid(format!(
                "{name} must be a positive number, got {x}"
            ))),
            _ => Ok(()),
        };
        positive("unit_cost", unit_cost)?;
        positive("min_price", self.min_price)?;
        positive("max_price", self.max_price)?;
        positive("current_price", self.current_price)?;
        if let (Some(lo), Some(hi)) = (self.min_price, self.max_price) {
            if lo > hi {
                return Err(Error::invalid(format!(
                    "min_price ({lo}) is greater than max_price ({hi})"
                )));
            }
        }
        if let Some(m) = self.min_margin {
            if !(0.0..1.0).contains(&m) {
                return Err(
                    Error::invalid(format!("min_margin must be in [0, 1), got {m}"))
                        .with_hint("A margin of 0.25 means the price is at least cost / 0.75."),
                );
            }
            if unit_cost.is_none() {
                return Err(Error::invalid("min_margin needs unit_cost"));
            }
        }
        if let Some(c) = self.max_change {
            if !(c > 0.0 && c <= 1.0) {
                return Err(
                    Error::invalid(format!("max_change must be in (0, 1], got {c}"))
                        .with_hint("0.1 allows the price to move 10 % from current_price."),
                );
            }
            if self.current_price.is_none() {
                return Err(Error::invalid("max_change needs current_price"));
            }
        }
        Ok(())
    }

    /// The feasible interval with the names of the rules that set each end.
    pub fn interval(&self, unit_cost: Option<f64>) -> Result<(Bound, Bound)> {
        let mut lo: Bound = (0.0, None);
        let mut hi: Bound = (f64::INFINITY, None);
        let mut raise_lo = |v: f64, name: &'static str| {
            if v > lo.0 {
                lo = (v, Some(name));
            }
        };
        if let Some(v) = self.min_price {
            raise_lo(v, "min_price");
        }
        if let (Some(m), Some(c)) = (self.min_margin, unit_cost) {
            raise_lo(c / (1.0 - m), "min_margin");
        }
        if let (Some(cur), Some(ch)) = (self.current_price, self.max_change) {
            raise_lo(cur * (1.0 - ch), "max_change");
        }
        let mut lower_hi = |v: f64, name: &'static str| {
            if v < hi.0 {
                hi = (v, Some(name));
            }
        };
        if let Some(v) = self.max_price {
            lower_hi(v, "max_price");
        }
        if let (Some(cur), Some(ch)) = (self.current_price, self.max_change) {
            lower_hi(cur * (1.0 + ch), "max_change");
        }
        if lo.0 > hi.0 * (1.0 + 1e-12) {
            return Err(Error::invalid(format!(
                "the business rules leave no feasible price: {} sets a floor of {:.4} above the ceiling of {:.4} set by {}",
                lo.1.unwrap_or("?"),
                lo.0,
                hi.0,
                hi.1.unwrap_or("?")
            )));
        }
        Ok((lo, hi))
    }
}

/// One end of the feasible interval and the rule that set it (None: no rule).
pub type Bound = (f64, Option<&'static str>);

/// The chosen price and the rule that set it (None: the unconstrained optimum).
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub price: f64,
    pub binding: Option<String>,
}

/// The best price for elasticity `e`.
pub fn optimal_price(
    e: f64,
    unit_cost: Option<f64>,
    rules: &Rules,
    objective: Objective,
) -> Result<Choice> {
    rules.check(unit_cost)?;
    let ((lo, lo_rule), (hi, hi_rule)) = rules.interval(unit_cost)?;
    let upper = |why: &str| -> Result<Choice> {
        match hi_rule {
            Some(rule) => Ok(Choice {
                price: hi,
                binding: Some(format!("{rule} ({why})")),
            }),
            None => Err(Error::invalid(format!(
                "demand is {why} (elasticity {e:.3}): the {} grows with the price without limit",
                match objective {
                    Objective::Profit => "profit",
                    Objective::Revenue => "revenue",
                }
            ))
            .with_hint("Give max_price, or current_price with max_change, to bound the price.")),
        }
    };
    match objective {
        Objective::Profit => {
            let c = unit_cost
                .ok_or_else(|| Error::invalid("unit_cost is needed for objective \"profit\""))?;
            if e >= -1.0 {
                return upper("inelastic");
            }
            let p = c * e / (1.0 + e);
            Ok(if p < lo {
                Choice {
                    price: lo,
                    binding: lo_rule.map(String::from),
                }
            } else if p > hi {
                Choice {
                    price: hi,
                    binding: hi_rule.map(String::from),
                }
            } else {
                Choice {
                    price: p,
                    binding: None,
                }
            })
        }
        Objective::Revenue => {
            if e >= -1.0 {
                return upper("inelastic");
            }
            match lo_rule {
                Some(rule) => Ok(Choice {
                    price: lo,
                    binding: Some(rule.to_string()),
                }),
                None => Err(Error::invalid(format!(
                    "demand is elastic (elasticity {e:.3}): revenue grows as the price falls, without limit"
                ))
                .with_hint("Give min_price or min_margin to bound the price from below.")),
            }
        }
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
    pub fn parse(function: &str, value: Option<&serde_json::Value>, rules: bool) -> Result<Self> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn profit(p: f64, c: f64, e: f64) -> f64 {
        (p - c) * p.powf(e)
    }

    #[test]
    fn interior_optimum_is_the_closed_form_and_a_maximum() {
        let (c, e) = (6.4, -2.5);
        let ch = optimal_price(e, Some(c), &Rules::default(), Objective::Profit).unwrap();
        assert!((ch.price - c * e / (1.0 + e)).abs() < 1e-12);
        assert_eq!(ch.binding, None);
        // Brute force over a fine grid.
        let best = (1..100_000)
            .map(|i| c + i as f64 * 0.001)
            .max_by(|a, b| profit(*a, c, e).total_cmp(&profit(*b, c, e)))
            .unwrap();
        assert!((best - ch.price).abs() < 0.002, "{best} vs {}", ch.price);
    }

    #[test]
    fn each_rule_binds() {
        let (c, e) = (10.0, -2.0); // p* = 20
        let at = |r: Rules| optimal_price(e, Some(c), &r, Objective::Profit).unwrap();
        let r = at(Rules {
            max_price: Some(15.0),
            ..Rules::default()
        });
        assert_eq!((r.price, r.binding.as_deref()), (15.0, Some("max_price")));
        let r = at(Rules {
            min_price: Some(25.0),
            ..Rules::default()
        });
        assert_eq!((r.price, r.binding.as_deref()), (25.0, Some("min_price")));
        let r = at(Rules {
            min_margin: Some(0.6),
            ..Rules::default()
        });
        assert!((r.price - 25.0).abs() < 1e-9 && r.binding.as_deref() == Some("min_margin"));
        let r = at(Rules {
            current_price: Some(16.0),
            max_change: Some(0.1),
            ..Rules::default()
        });
        assert!((r.price - 17.6).abs() < 1e-9 && r.binding.as_deref() == Some("max_change"));
        let r = at(Rules {
            current_price: Some(19.0),
            max_change: Some(0.1),
            min_price: Some(5.0),
            ..Rules::default()
        });
        assert_eq!((r.price, r.binding), (20.0, None));
    }

    #[test]
    fn inelastic_and_revenue_go_to_the_bounds_or_refuse() {
        let r = Rules {
            min_price: Some(8.0),
            max_price: Some(15.0),
            ..Rules::default()
        };
        let ch = optimal_price(-0.7, Some(5.0), &r, Objective::Profit).unwrap();
        assert_eq!(
            (ch.price, ch.binding.as_deref()),
            (15.0, Some("max_price (inelastic)"))
        );
        let e = optimal_price(-0.7, Some(5.0), &Rules::default(), Objective::Profit).unwrap_err();
        assert!(e.message.contains("inelastic"), "{}", e.message);
        let ch = optimal_price(-2.0, None, &r, Objective::Revenue).unwrap();
        assert_eq!((ch.price, ch.binding.as_deref()), (8.0, Some("min_price")));
        assert!(optimal_price(-2.0, None, &Rules::default(), Objective::Revenue).is_err());
    }

    #[test]
    fn bad_rules_are_22023() {
        let cases = [
            (Some(0.0), Rules::default()),
            (Some(-1.0), Rules::default()),
            (
                Some(1.0),
                Rules {
                    min_price: Some(9.0),
                    max_price: Some(8.0),
                    ..Rules::default()
                },
            ),
            (
                Some(1.0),
                Rules {
                    min_margin: Some(1.0),
                    ..Rules::default()
                },
            ),
            (
                Some(1.0),
                Rules {
                    min_margin: Some(-0.1),
                    ..Rules::default()
                },
            ),
            (
                Some(1.0),
                Rules {
                    current_price: Some(5.0),
                    max_change: Some(0.0),
                    ..Rules::default()
                },
            ),
            (
                Some(1.0),
                Rules {
                    current_price: Some(5.0),
                    max_change: Some(1.5),
                    ..Rules::default()
                },
            ),
            (
                Some(1.0),
                Rules {
                    max_change: Some(0.1),
                    ..Rules::default()
                },
            ),
            (
                Some(1.0),
                Rules {
                    min_margin: Some(0.5),
                    max_price: Some(1.5),
                    ..Rules::default()
                },
            ),
        ];
        for (c, r) in cases {
            let e = optimal_price(-2.0, c, &r, Objective::Profit).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::InvalidParameter, "{r:?}");
        }
    }
}
