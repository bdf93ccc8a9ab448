//! Price experiments that learn while they sell: a price ladder per product, a Bayesian
//! log-log Poisson demand model per product updated by the sales, and a policy that picks one
//! ladder price per product and period (Thompson sampling by default).
//!
//! Demand of a product at price p in one period: units ~ Poisson(exp(a + e·x)), x = ln(p / p₀)
//! with p₀ the product's current price, so `a` is log units per period at the current price and
//! `e` the elasticity. The prior on (a, e) is independent normal (from the demand model: its
//! elasticity and standard error; the pooled estimate for products it does not know). The
//! posterior is its Laplace approximation: the mode by Newton's method on the exact log
//! posterior, the covariance the inverse of its negative Hessian. Sales at any price enter the
//! same two parameters, so a sale at one price informs all of them.
//!
//! The policies compare the ladder prices by expected profit per period,
//! (p − c)·exp(a + e·x). Because `a` adds the same amount to every price's log profit, which
//! price is best depends on `e` alone: price k wins on an interval of `e` (the upper envelope of
//! the lines ln(p_k − c) + e·x_k). Thompson sampling draws `e` from its posterior and takes the
//! winner, so the probability of each price (the propensity kept for off-policy evaluation) is
//! exactly the posterior mass of its interval.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::mix64;
use crate::math::distributions::normal_two_sided_p;
use crate::rng::Rng;

/// How the price of a period is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Policy {
    /// Draw the elasticity from the posterior, take the best price for the draw.
    Thompson,
    /// The price with the highest upper confidence bound of expected profit.
    Ucb,
    /// The best price at the posterior mode (re-estimate, then price at the estimate).
    Greedy,
    /// Greedy, except a uniformly random feasible price with probability `epsilon`.
    EpsilonGreedy,
    /// The ladder price nearest the current price, every period (a control group).
    Fixed,
}

impl Policy {
    pub const NAMES: [&'static str; 5] = ["thompson", "ucb", "greedy", "epsilon_greedy", "fixed"];

    pub fn parse(name: &str) -> Option<Policy> {
        Some(match name {
            "thompson" => Policy::Thompson,
            "ucb" => Policy::Ucb,
            "greedy" => Policy::Greedy,
            "epsilon_greedy" => Policy::EpsilonGreedy,
            "fixed" => Policy::Fixed,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Policy::Thompson => "thompson",
            Policy::Ucb => "ucb",
            Policy::Greedy => "greedy",
            Policy::EpsilonGreedy => "epsilon_greedy",
            Policy::Fixed => "fixed",
        }
    }
}

/// Independent normal prior on a product's level and elasticity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    /// Log expected units per period at the current price.
    pub level: f64,
    pub level_sd: f64,
    pub elasticity: f64,
    pub elasticity_sd: f64,
    /// The demand model did not know the product: the pooled estimate.
    pub pooled: bool,
}

/// One product of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub current_price: f64,
    pub unit_cost: f64,
    /// The ladder prices allowed by the fixed rules, ascending.
    pub ladder: Vec<f64>,
    pub prior: Prior,
}

impl Product {
    /// Profit margin of a price (the price itself when the objective is revenue).
    fn margin(&self, price: f64, revenue: bool) -> f64 {
        if revenue {
            price
        } else {
            price - self.unit_cost
        }
    }

    fn x(&self, price: f64) -> f64 {
        (price / self.current_price).ln()
    }
}

/// How an experiment chooses among the allowed prices.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chooser {
    pub policy: Policy,
    pub seed: u64,
    /// Exploration probability of `epsilon_greedy`.
    pub epsilon: f64,
    /// Multiplier of the UCB radius sqrt(4 ln t) (the 2-parameter confidence ellipsoid).
    pub ucb_scale: f64,
}

/// The fixed part of an experiment: its products (keys ascending, bigint, parallel to
/// `products`), how it chooses, the largest relative change from the previous period's price,
/// and whether it maximises revenue instead of profit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Design {
    pub keys: Vec<i64>,
    pub products: Vec<Product>,
    pub chooser: Chooser,
    pub max_change: Option<f64>,
    pub revenue: bool,
}

/// Largest ladder a product may have (arms are stored as one byte).
pub const MAX_LADDER: usize = 64;

/// The default ladder: −15 % … +15 % of the current price in 5 % steps.
pub const DEFAULT_LADDER: [f64; 7] = [0.85, 0.90, 0.95, 1.0, 1.05, 1.10, 1.15];

/// Fixed rules on every price of a ladder.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LadderRules {
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    /// Minimum margin m: p ≥ c / (1 − m).
    pub min_margin: Option<f64>,
}

impl LadderRules {
    pub fn allows(&self, price: f64, unit_cost: f64) -> bool {
        let tol = 1e-9 * price.abs().max(1.0);
        self.min_price.is_none_or(|lo| price >= lo - tol)
            && self.max_price.is_none_or(|hi| price <= hi + tol)
            && self
                .min_margin
                .is_none_or(|m| price >= unit_cost / (1.0 - m) - tol)
    }

    /// The ladder's prices, rounded to multiples of `step` (none when 0), that pass the rules
    /// (ascending, distinct).
    pub fn ladder(&self, prices: &[f64], unit_cost: f64, step: f64) -> Vec<f64> {
        let round = |p: f64| {
            if step > 0.0 {
                // Whole multiples of the step, without float dust (19.349 → 19.35).
                // Halves go up even when the division lands a hair below them (0.95 × 9.1).
                let q = p / step;
                let k = (q + 1e-9 * q.abs().max(1.0)).round();
                let digits = (-step.log10()).ceil().max(0.0) as i32;
                let scale = 10f64.powi(digits);
                (k * step * scale).round() / scale
            } else {
                p
            }
        };
        let mut out: Vec<f64> = prices
            .iter()
            .map(|&p| round(p))
            .filter(|p| p.is_finite() && *p > 0.0 && self.allows(*p, unit_cost))
            .collect();
        out.sort_by(f64::total_cmp);
        out.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * b.abs());
        out
    }
}

/// Sales of one product at one price: periods (exposure) and units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Obs {
    pub price: f64,
    pub periods: f64,
    pub units: f64,
}

/// A product's recorded sales, aggregated by price (ascending).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sales {
    pub obs: Vec<Obs>,
}

impl Sales {
    pub fn add(&mut self, price: f64, periods: f64, units: f64) {
        match self
            .obs
            .binary_search_by(|o| o.price.total_cmp(&price))
            .or_else(|i| {
                // Prices within a relative 1e-9 are the same price.
                let near = |j: usize| {
                    self.obs
                        .get(j)
                        .is_some_and(|o: &Obs| (o.price - price).abs() <= 1e-9 * price)
                };
                if near(i) {
                    Ok(i)
                } else if i > 0 && near(i - 1) {
                    Ok(i - 1)
                } else {
                    Err(i)
                }
            }) {
            Ok(i) => {
                self.obs[i].periods += periods;
                self.obs[i].units += units;
            }
            Err(i) => self.obs.insert(
                i,
                Obs {
                    price,
                    periods,
                    units,
                },
            ),
        }
    }

    pub fn periods(&self) -> f64 {
        self.obs.iter().fold(0.0, |s, o| s + o.periods)
    }

    pub fn units(&self) -> f64 {
        self.obs.iter().fold(0.0, |s, o| s + o.units)
    }
}

/// The Laplace posterior of (level, elasticity).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Posterior {
    pub level: f64,
    pub elasticity: f64,
    pub var_level: f64,
    pub cov: f64,
    pub var_elasticity: f64,
}

impl Posterior {
    /// Mean and variance of log expected units at `x` = ln(p / p₀).
    pub fn eta(&self, x: f64) -> (f64, f64) {
        (
            self.level + self.elasticity * x,
            (self.var_level + 2.0 * x * self.cov + x * x * self.var_elasticity).max(0.0),
        )
    }
}

/// Largest prior standard deviation used (a "flat" prior).
const FLAT_SD: f64 = 1e3;

/// The posterior of a product's demand given its recorded sales.
pub fn posterior(product: &Product, sales: &Sales) -> Posterior {
    let pr = &product.prior;
    let pa = 1.0 / pr.level_sd.clamp(1e-6, FLAT_SD).powi(2);
    let pe = 1.0 / pr.elasticity_sd.clamp(1e-6, FLAT_SD).powi(2);
    let obs: Vec<(f64, f64, f64)> = sales
        .obs
        .iter()
        .map(|o| (product.x(o.price), o.periods, o.units))
        .collect();
    let exposure: f64 = obs.iter().map(|o| o.1).sum();
    let units: f64 = obs.iter().map(|o| o.2).sum();
    // Start from the prior elasticity and the level the data say at that elasticity.
    let mut e = pr.elasticity;
    let mut a = if exposure > 0.0 {
        let w = pa / (pa + units.max(1.0));
        let data = ((units + 0.5) / obs.iter().map(|o| o.1 * (e * o.0).exp()).sum::<f64>()).ln();
        w * pr.level + (1.0 - w) * data
    } else {
        pr.level
    };
    let objective = |a: f64, e: f64| -> f64 {
        let mut l = -0.5 * (pa * (a - pr.level).powi(2) + pe * (e - pr.elasticity).powi(2));
        for &(x, n, y) in &obs {
            let eta = a + e * x;
            l += y * eta - n * eta.exp();
        }
        l
    };
    let mut h = [pa, 0.0, pe];
    let mut current = objective(a, e);
    for _ in 0..100 {
        let (mut ga, mut ge) = (-pa * (a - pr.level), -pe * (e - pr.elasticity));
        h = [pa, 0.0, pe];
        for &(x, n, y) in &obs {
            let m = n * (a + e * x).exp();
            ga += y - m;
            ge += x * (y - m);
            h[0] += m;
            h[1] += m * x;
            h[2] += m * x * x;
        }
        let det = h[0] * h[2] - h[1] * h[1];
        let da = (h[2] * ga - h[1] * ge) / det;
        let de = (h[0] * ge - h[1] * ga) / det;
        let decrement = ga * da + ge * de;
        if !decrement.is_finite() || decrement < 1e-14 {
            break;
        }
        let mut t = 1.0;
        loop {
            let (na, ne) = (a + t * da, e + t * de);
            let v = objective(na, ne);
            if v >= current || t < 1e-10 {
                a = na;
                e = ne;
                current = v;
                break;
            }
            t *= 0.5;
        }
    }
    let det = h[0] * h[2] - h[1] * h[1];
    Posterior {
        level: a,
        elasticity: e,
        var_level: h[2] / det,
        cov: -h[1] / det,
        var_elasticity: h[0] / det,
    }
}

/// Why a price was chosen (stored as one byte per product and period).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    /// The policy's choice.
    Policy = 0,
    /// Epsilon-greedy explored (a uniformly random price).
    Explore = 1,
    /// Only one ladder price was allowed (by the rules or by max_change).
    OnlyPrice = 2,
    /// Every allowed price is at or below the unit cost: the highest is taken.
    BelowCost = 3,
}

impl Reason {
    pub fn from_u8(v: u8) -> Reason {
        match v & 0x7f {
            1 => Reason::Explore,
            2 => Reason::OnlyPrice,
            3 => Reason::BelowCost,
            _ => Reason::Policy,
        }
    }

    /// The reason as text, for the product's prior (`pooled`: the demand model did not know
    /// it).
    pub fn text(self, policy: Policy, pooled: bool) -> String {
        let base = match self {
            Reason::Policy => policy.name().to_string(),
            Reason::Explore => "epsilon_greedy (explore)".to_string(),
            Reason::OnlyPrice => "only allowed price".to_string(),
            Reason::BelowCost => "every allowed price is at or below cost".to_string(),
        };
        if pooled {
            format!("{base}; pooled prior")
        } else {
            base
        }
    }
}

/// One product's price for one period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pick {
    /// Index into the product's ladder.
    pub arm: usize,
    /// Probability of this price under the policy.
    pub propensity: f64,
    pub reason: Reason,
}

/// Standard normal distribution function.
pub fn normal_cdf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    let tail = 0.5 * normal_two_sided_p(z);
    if z < 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// For each of `arms` (indices into `xs`/`bs`), the interval of `e` on which its line
/// bs[k] + e·xs[k] is the highest (None when it never is).
fn winning_intervals(arms: &[usize], xs: &[f64], bs: &[f64]) -> Vec<Option<(f64, f64)>> {
    arms.iter()
        .map(|&k| {
            let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
            for &j in arms {
                if j == k {
                    continue;
                }
                let dx = xs[k] - xs[j];
                let db = bs[j] - bs[k];
                if dx > 0.0 {
                    lo = lo.max(db / dx);
                } else if dx < 0.0 {
                    hi = hi.min(db / dx);
                } else if db > 0.0 || (db == 0.0 && j < k) {
                    return None;
                }
            }
            (lo < hi).then_some((lo, hi))
        })
        .collect()
}

/// What the policy sees of a product in one period.
pub struct Situation<'a> {
    pub product: &'a Product,
    pub posterior: &'a Posterior,
    /// The previous period's price (max_change applies to it); None: the current price.
    pub previous: Option<f64>,
    /// Periods of sales recorded so far (UCB's clock).
    pub periods_seen: f64,
}

impl Design {
    /// The ladder indices allowed this period (max_change from the previous price).
    pub fn allowed(&self, product: &Product, previous: Option<f64>) -> Vec<usize> {
        let from = previous.unwrap_or(product.current_price);
        (0..product.ladder.len())
            .filter(|&k| {
                self.max_change
                    .is_none_or(|c| (product.ladder[k] / from - 1.0).abs() <= c + 1e-9)
            })
            .collect()
    }

    /// The random stream of (seed, product, period): the same draws on every call.
    pub fn stream(&self, index: usize, period: i64) -> Rng {
        let key = self.keys.get(index).copied().unwrap_or(index as i64) as u64;
        Rng::new(mix64(
            self.chooser.seed ^ mix64(key ^ 0x243f_6a88_85a3_08d3) ^ mix64(period as u64),
        ))
    }

    /// The price of one product for one period.
    pub fn pick(&self, s: &Situation, mut rng: Rng) -> Pick {
        let p = s.product;
        let mut arms = self.allowed(p, s.previous);
        if arms.is_empty() {
            // Cannot happen for a previous price on the ladder; the nearest price otherwise.
            let from = s.previous.unwrap_or(p.current_price);
            let nearest = (0..p.ladder.len())
                .min_by(|&i, &j| {
                    (p.ladder[i] / from)
                        .ln()
                        .abs()
                        .total_cmp(&(p.ladder[j] / from).ln().abs())
                })
                .unwrap_or(0);
            arms = vec![nearest];
        }
        if arms.len() == 1 {
            return Pick {
                arm: arms[0],
                propensity: 1.0,
                reason: Reason::OnlyPrice,
            };
        }
        let profitable: Vec<usize> = arms
            .iter()
            .copied()
            .filter(|&k| p.margin(p.ladder[k], self.revenue) > 0.0)
            .collect();
        if profitable.is_empty() {
            return Pick {
                arm: *arms.last().unwrap_or(&0),
                propensity: 1.0,
                reason: Reason::BelowCost,
            };
        }
        let xs: Vec<f64> = p.ladder.iter().map(|&q| p.x(q)).collect();
        let bs: Vec<f64> = p
            .ladder
            .iter()
            .map(|&q| p.margin(q, self.revenue).max(f64::MIN_POSITIVE).ln())
            .collect();
        let post = s.posterior;
        let by = |score: &dyn Fn(usize) -> f64| -> usize {
            let mut best = profitable[0];
            for &k in &profitable[1..] {
                if score(k) > score(best) {
                    best = k;
                }
            }
            best
        };
        let greedy = || by(&|k| bs[k] + post.eta(xs[k]).0);
        let deterministic = |arm: usize| Pick {
            arm,
            propensity: 1.0,
            reason: Reason::Policy,
        };
        let c = self.chooser;
        match c.policy {
            Policy::Thompson => {
                let sd = post.var_elasticity.sqrt();
                let e = post.elasticity + sd * rng.normal();
                let arm = by(&|k| bs[k] + e * xs[k]);
                let propensity = match winning_intervals(&profitable, &xs, &bs)
                    [profitable.iter().position(|&k| k == arm).unwrap_or(0)]
                {
                    Some((lo, hi)) if sd > 0.0 => {
                        normal_cdf((hi - post.elasticity) / sd)
                            - normal_cdf((lo - post.elasticity) / sd)
                    }
                    _ => 1.0,
                };
                Pick {
                    arm,
                    propensity: propensity.clamp(0.0, 1.0),
                    reason: Reason::Policy,
                }
            }
            Policy::Ucb => {
                // The radius of the 2-parameter confidence ellipsoid at level 1 − 1/t²
                // (χ²₂ quantile 2·ln t²): the most optimistic log demand over it is m + r·sd.
                let t = (s.periods_seen + 1.0).max(2.0);
                let width = c.ucb_scale * (4.0 * t.ln()).sqrt();
                deterministic(by(&|k| {
                    let (m, v) = post.eta(xs[k]);
                    bs[k] + m + width * v.sqrt()
                }))
            }
            Policy::Greedy => deterministic(greedy()),
            Policy::EpsilonGreedy => {
                let g = greedy();
                let explore = rng.next_f64() < c.epsilon;
                let arm = if explore {
                    arms[rng.below(arms.len() as u64) as usize]
                } else {
                    g
                };
                let uniform = c.epsilon / arms.len() as f64;
                Pick {
                    arm,
                    propensity: uniform + if arm == g { 1.0 - c.epsilon } else { 0.0 },
                    reason: if explore {
                        Reason::Explore
                    } else {
                        Reason::Policy
                    },
                }
            }
            Policy::Fixed => {
                let nearest = arms
                    .iter()
                    .copied()
                    .min_by(|&i, &j| xs[i].abs().total_cmp(&xs[j].abs()))
                    .unwrap_or(0);
                deterministic(nearest)
            }
        }
    }
}

/// What the posterior says of a product's ladder: the best price by posterior expected
/// profit, the posterior probability that it is the best, and its expected profit per period
/// with a 90 % interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    pub arm: usize,
    pub prob_best: f64,
    pub expected_profit: f64,
    pub profit_low: f64,
    pub profit_high: f64,
}

/// Expected profit per period of ladder price `k` under the posterior (lognormal mean).
pub fn expected_profit(p: &Product, post: &Posterior, k: usize, revenue: bool) -> f64 {
    let (m, v) = post.eta(p.x(p.ladder[k]));
    p.margin(p.ladder[k], revenue) * (m + 0.5 * v).exp()
}

/// The posterior's verdict on a product's whole ladder.
pub fn verdict(p: &Product, post: &Posterior, revenue: bool) -> Verdict {
    let n = p.ladder.len();
    let arm = (0..n)
        .max_by(|&i, &j| {
            expected_profit(p, post, i, revenue).total_cmp(&expected_profit(p, post, j, revenue))
        })
        .unwrap_or(0);
    let profitable: Vec<usize> = (0..n)
        .filter(|&k| p.margin(p.ladder[k], revenue) > 0.0)
        .collect();
    let prob_best = match profitable.iter().position(|&k| k == arm) {
        Some(i) => {
            let xs: Vec<f64> = p.ladder.iter().map(|&q| p.x(q)).collect();
            let bs: Vec<f64> = p
                .ladder
                .iter()
                .map(|&q| p.margin(q, revenue).max(f64::MIN_POSITIVE).ln())
                .collect();
            let sd = post.var_elasticity.sqrt();
            match winning_intervals(&profitable, &xs, &bs)[i] {
                Some((lo, hi)) if sd > 0.0 => {
                    normal_cdf((hi - post.elasticity) / sd)
                        - normal_cdf((lo - post.elasticity) / sd)
                }
                Some(_) => 1.0,
                None => 0.0,
            }
        }
        None => 1.0,
    };
    let (m, v) = post.eta(p.x(p.ladder[arm]));
    let margin = p.margin(p.ladder[arm], revenue);
    let z = 1.644_853_626_951_472_2 * v.sqrt();
    Verdict {
        arm,
        prob_best,
        expected_profit: margin * (m + 0.5 * v).exp(),
        profit_low: margin * (m - z).exp(),
        profit_high: margin * (m + z).exp(),
    }
}

/// Checks a product's ladder at creation (22023 naming the product).
pub fn check_ladder(key: i64, p: &Product, max_change: Option<f64>) -> Result<()> {
    if p.ladder.is_empty() {
        return Err(Error::invalid(format!(
            "product {key}: no ladder price is allowed by the rules (current price {}, unit cost {})",
            p.current_price, p.unit_cost
        ))
        .with_hint("Widen the ladder or relax min_price, max_price or min_margin."));
    }
    if p.ladder.len() > MAX_LADDER {
        return Err(Error::invalid(format!(
            "product {key}: a ladder has at most {MAX_LADDER} prices, got {}",
            p.ladder.len()
        )));
    }
    if let Some(c) = max_change {
        let reach = p
            .ladder
            .iter()
            .any(|&q| (q / p.current_price - 1.0).abs() <= c + 1e-9);
        if !reach {
            return Err(Error::invalid(format!(
                "product {key}: no ladder price is within max_change ({c}) of the current price {}",
                p.current_price
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(ladder: &[f64]) -> Product {
        Product {
            current_price: 10.0,
            unit_cost: 5.0,
            ladder: ladder.to_vec(),
            prior: Prior {
                level: 2.0,
                level_sd: 1.0,
                elasticity: -2.0,
                elasticity_sd: 0.5,
                pooled: false,
            },
        }
    }

    fn log_posterior(p: &Product, s: &Sales, a: f64, e: f64) -> f64 {
        let pr = &p.prior;
        let mut l = -0.5 * ((a - pr.level) / pr.level_sd).powi(2)
            - 0.5 * ((e - pr.elasticity) / pr.elasticity_sd).powi(2);
        for o in &s.obs {
            let eta = a + e * (o.price / p.current_price).ln();
            l += o.units * eta - o.periods * eta.exp();
        }
        l
    }

    #[test]
    fn posterior_is_the_mode_and_curvature_of_the_exact_log_posterior() {
        let p = product(&DEFAULT_LADDER.map(|f| 10.0 * f));
        let mut s = Sales::default();
        s.add(9.0, 12.0, 140.0);
        s.add(10.0, 20.0, 150.0);
        s.add(11.5, 7.0, 35.0);
        s.add(10.0, 1.0, 9.0); // the same price again adds up
        assert_eq!(s.obs.len(), 3);
        let q = posterior(&p, &s);
        // The gradient vanishes at the mode (central differences of the exact log posterior).
        let h = 1e-5;
        let ga = (log_posterior(&p, &s, q.level + h, q.elasticity)
            - log_posterior(&p, &s, q.level - h, q.elasticity))
            / (2.0 * h);
        let ge = (log_posterior(&p, &s, q.level, q.elasticity + h)
            - log_posterior(&p, &s, q.level, q.elasticity - h))
            / (2.0 * h);
        assert!(ga.abs() < 1e-4 && ge.abs() < 1e-4, "{ga} {ge}");
        // No point of a grid around it is higher.
        let best = log_posterior(&p, &s, q.level, q.elasticity);
        for i in -20..=20 {
            for j in -20..=20 {
                let v = log_posterior(
                    &p,
                    &s,
                    q.level + i as f64 * 0.01,
                    q.elasticity + j as f64 * 0.02,
                );
                assert!(v <= best + 1e-9);
            }
        }
        // The covariance is the inverse of the negative Hessian (finite differences).
        let f = |a: f64, e: f64| log_posterior(&p, &s, a, e);
        let (a, e, d) = (q.level, q.elasticity, 1e-4);
        let haa = (f(a + d, e) - 2.0 * f(a, e) + f(a - d, e)) / (d * d);
        let hee = (f(a, e + d) - 2.0 * f(a, e) + f(a, e - d)) / (d * d);
        let hae =
            (f(a + d, e + d) - f(a + d, e - d) - f(a - d, e + d) + f(a - d, e - d)) / (4.0 * d * d);
        let det = haa * hee - hae * hae;
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-3 * y.abs().max(1e-6);
        assert!(
            close(q.var_level, -hee / det),
            "{} {}",
            q.var_level,
            -hee / det
        );
        assert!(close(q.var_elasticity, -haa / det));
        assert!(close(q.cov, hae / det));
    }

    #[test]
    fn without_sales_the_posterior_is_the_prior() {
        let p = product(&[9.0, 10.0, 11.0]);
        let q = posterior(&p, &Sales::default());
        assert!((q.level - 2.0).abs() < 1e-12 && (q.elasticity + 2.0).abs() < 1e-12);
        assert!((q.var_elasticity - 0.25).abs() < 1e-12 && q.cov.abs() < 1e-12);
    }

    fn design(policy: Policy, p: Product) -> Design {
        Design {
            keys: vec![17],
            products: vec![p],
            chooser: Chooser {
                policy,
                seed: 3,
                epsilon: 0.2,
                ucb_scale: 1.0,
            },
            max_change: None,
            revenue: false,
        }
    }

    #[test]
    fn propensities_are_the_frequencies_of_the_choices() {
        let p = product(&DEFAULT_LADDER.map(|f| 10.0 * f));
        let post = Posterior {
            level: 2.0,
            elasticity: -2.1,
            var_level: 0.01,
            cov: 0.0,
            var_elasticity: 0.16,
        };
        for policy in [Policy::Thompson, Policy::EpsilonGreedy] {
            let d = design(policy, p.clone());
            let s = Situation {
                product: &d.products[0],
                posterior: &post,
                previous: None,
                periods_seen: 3.0,
            };
            let n = 200_000;
            let mut count = vec![0usize; p.ladder.len()];
            let mut said = vec![f64::NAN; p.ladder.len()];
            for i in 0..n {
                let pick = d.pick(&s, Rng::new(i));
                count[pick.arm] += 1;
                said[pick.arm] = pick.propensity;
            }
            let mut total = 0.0;
            for k in 0..p.ladder.len() {
                if count[k] > 0 {
                    let freq = count[k] as f64 / n as f64;
                    assert!(
                        (freq - said[k]).abs() < 0.005,
                        "{policy:?} arm {k}: {freq} vs {}",
                        said[k]
                    );
                    total += said[k];
                }
            }
            assert!((total - 1.0).abs() < 0.01, "{policy:?} {total}");
        }
        // The same (seed, product, period) always gives the same price.
        let d = design(Policy::Thompson, p.clone());
        let s = Situation {
            product: &d.products[0],
            posterior: &post,
            previous: None,
            periods_seen: 0.0,
        };
        let a: Vec<usize> = (0..50).map(|t| d.pick(&s, d.stream(0, t)).arm).collect();
        let b: Vec<usize> = (0..50).map(|t| d.pick(&s, d.stream(0, t)).arm).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|&x| x != a[0]), "Thompson explores");
    }

    #[test]
    fn rules_and_max_change_are_kept() {
        let rules = LadderRules {
            min_price: Some(8.6),
            max_price: Some(11.2),
            min_margin: Some(0.4),
        };
        let prices: Vec<f64> = DEFAULT_LADDER.iter().map(|f| f * 9.1).collect();
        let ladder = rules.ladder(&prices, 5.0, 0.01);
        // Rounded to cents (8.645 → 8.65); 7.74 and 8.19 are below min_price; the margin floor
        // 5 / 0.6 = 8.33 keeps the rest.
        assert_eq!(ladder, vec![8.65, 9.1, 9.56, 10.01, 10.47]);
        let mut p = product(&[8.0, 9.0, 10.0, 11.0, 12.0]);
        p.current_price = 10.0;
        let mut d = design(Policy::Greedy, p.clone());
        d.max_change = Some(0.1);
        assert_eq!(d.allowed(&p, None), vec![1, 2, 3]); // ±10 % of 10, the ends included
        assert_eq!(d.allowed(&p, Some(12.0)), vec![3, 4]);
        assert!(check_ladder(
            1,
            &Product {
                ladder: vec![],
                ..p.clone()
            },
            None
        )
        .is_err());
        let far = Product {
            ladder: vec![20.0, 21.0],
            ..p.clone()
        };
        assert!(check_ladder(1, &far, Some(0.1)).is_err());
        // Every allowed price below cost: the highest, with a reason.
        let mut cheap = p.clone();
        cheap.unit_cost = 50.0;
        let d = design(Policy::Thompson, cheap);
        let post = posterior(&d.products[0], &Sales::default());
        let s = Situation {
            product: &d.products[0],
            posterior: &post,
            previous: None,
            periods_seen: 0.0,
        };
        let pick = d.pick(&s, Rng::new(1));
        assert_eq!((pick.arm, pick.reason), (4, Reason::BelowCost));
    }
}
