//! A simulated market for price experiments: products with known constant elasticities and
//! Poisson demand, the same ladder and rules as a real experiment, and every policy run
//! against it period by period. Regret is measured against the oracle (the best allowed ladder
//! price knowing the true demand), in expected profit, so it does not depend on the sales
//! noise of the regret's own period.

use rayon::prelude::*;
use rayon::ThreadPool;

use crate::error::{Error, Result};
use crate::hash::mix64;
use crate::monitor::Monitor;
use crate::options::Options;
use crate::pricing::experiment::{
    posterior, Chooser, Design, LadderRules, Policy, Prior, Product, Sales, Situation,
    DEFAULT_LADDER,
};
use crate::rng::Rng;

/// Where the policy's prior comes from in a simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorKind {
    /// As a demand model would give it: the true elasticity plus an error of `prior_sd`, with
    /// that standard error; the level likewise.
    Model,
    /// A flat prior: the middle of the elasticity range, standard deviation 10.
    Flat,
}

impl PriorKind {
    pub fn name(self) -> &'static str {
        match self {
            PriorKind::Model => "model",
            PriorKind::Flat => "flat",
        }
    }
}

/// The simulated market: its products' elasticities, units per period at the current price
/// and unit costs as a share of it, and the price ladder (fractions of the current price).
#[derive(Clone, Debug)]
pub struct Market {
    pub n_products: usize,
    pub elasticity: (f64, f64),
    pub base_units: (f64, f64),
    pub cost_share: (f64, f64),
    pub ladder: Vec<f64>,
}

/// What runs on the market: periods, seeds (each a new market), policies and priors.
#[derive(Clone, Debug)]
pub struct Runs {
    pub periods: usize,
    pub seeds: usize,
    pub seed: u64,
    pub policies: Vec<Policy>,
    pub priors: Vec<PriorKind>,
}

/// A simulation's settings (`simulate_price_experiment`'s options): the market, the runs, the
/// simulated demand model's standard errors (elasticity, log level), the rules and the
/// policies' settings (its `policy` is replaced by each run's).
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub market: Market,
    pub runs: Runs,
    pub prior_sd: (f64, f64),
    pub rules: LadderRules,
    pub max_change: Option<f64>,
    pub chooser: Chooser,
}

impl SimConfig {
    pub fn parse(value: Option<&serde_json::Value>) -> Result<SimConfig> {
        crate::options::parse("simulate_price_experiment", value, |o: &mut Options| {
            let range = |o: &mut Options, key: &'static str, default: (f64, f64)| {
                let v = o.get(key).cloned();
                match v {
                    None => Ok(default),
                    Some(v) => match v
                        .as_array()
                        .map(|a| a.iter().map(|x| x.as_f64()).collect::<Vec<_>>())
                    {
                        Some(a)
                            if a.len() == 2 && a.iter().all(|x| x.is_some_and(f64::is_finite)) =>
                        {
                            let (lo, hi) = (a[0].unwrap_or(0.0), a[1].unwrap_or(0.0));
                            if lo <= hi {
                                Ok((lo, hi))
                            } else {
                                Err(o.bad(key, "[low, high] with low <= high", &v))
                            }
                        }
                        _ => Err(o.bad(key, "[low, high]", &v)),
                    },
                }
            };
            let n_products = o.integer("n_products", 200, 1, 100_000)? as usize;
            let periods = o.integer("periods", 90, 1, 10_000)? as usize;
            let seeds = o.integer("seeds", 20, 1, 1000)? as usize;
            if n_products * periods * seeds > 200_000_000 {
                return Err(Error::invalid(
                    "simulate_price_experiment: n_products × periods × seeds must be at most 200 million",
                ));
            }
            let seed = o.integer("seed", 1, 0, i64::MAX)? as u64;
            let names = o.strings("policies")?;
            let policies = if names.is_empty() {
                vec![
                    Policy::Thompson,
                    Policy::Ucb,
                    Policy::Greedy,
                    Policy::EpsilonGreedy,
                    Policy::Fixed,
                ]
            } else {
                names
                    .iter()
                    .map(|n| {
                        Policy::parse(n).ok_or_else(|| {
                            Error::invalid(format!(
                                "simulate_price_experiment: unknown policy \"{n}\" (one of {})",
                                Policy::NAMES.join(", ")
                            ))
                        })
                    })
                    .collect::<Result<_>>()?
            };
            let prior_names = o.strings("priors")?;
            let priors = if prior_names.is_empty() {
                vec![PriorKind::Model, PriorKind::Flat]
            } else {
                prior_names
                    .iter()
                    .map(|n| match n.as_str() {
                        "model" => Ok(PriorKind::Model),
                        "flat" => Ok(PriorKind::Flat),
                        _ => Err(Error::invalid(format!(
                            "simulate_price_experiment: unknown prior \"{n}\" (model or flat)"
                        ))),
                    })
                    .collect::<Result<_>>()?
            };
            let elasticity = range(o, "elasticity", (-3.5, -1.2))?;
            let base_units = range(o, "base_units", (5.0, 40.0))?;
            let cost_share = range(o, "cost_share", (0.4, 0.7))?;
            if base_units.0 <= 0.0 || cost_share.0 < 0.0 || cost_share.1 >= 1.0 {
                return Err(Error::invalid(
                    "simulate_price_experiment: base_units must be positive and cost_share in [0, 1)",
                ));
            }
            let ladder = ladder_fractions(o)?;
            let inf = (f64::INFINITY, false);
            Ok(SimConfig {
                market: Market {
                    n_products,
                    elasticity,
                    base_units,
                    cost_share,
                    ladder,
                },
                runs: Runs {
                    periods,
                    seeds,
                    seed,
                    policies,
                    priors,
                },
                prior_sd: (
                    o.number("prior_sd", 0.3, (0.0, false), inf)?,
                    o.number("level_prior_sd", 0.3, (0.0, false), inf)?,
                ),
                rules: LadderRules {
                    min_margin: o.optional_number("min_margin", (0.0, true), (1.0, false))?,
                    ..LadderRules::default()
                },
                max_change: o.optional_number("max_change", (0.0, false), (1.0, true))?,
                chooser: Chooser {
                    policy: Policy::Thompson,
                    seed,
                    epsilon: o.number("epsilon", 0.1, (0.0, true), (1.0, true))?,
                    ucb_scale: o.number("ucb_scale", 1.0, (0.0, false), inf)?,
                },
            })
        })
    }
}

/// The `ladder` option: fractions of the current price (default −15 % … +15 % in 5 % steps).
pub fn ladder_fractions(o: &mut Options) -> Result<Vec<f64>> {
    let Some(v) = o.get("ladder").cloned() else {
        return Ok(DEFAULT_LADDER.to_vec());
    };
    let want = "an array of positive fractions of the current price, e.g. [0.9, 1, 1.1]";
    let a = v.as_array().ok_or_else(|| o.bad("ladder", want, &v))?;
    let f: Vec<f64> = a
        .iter()
        .map(|x| x.as_f64().filter(|f| *f > 0.0 && f.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| o.bad("ladder", want, &v))?;
    if f.is_empty() {
        return Err(Error::invalid("the ladder is empty").with_hint(
            "Give at least one price, e.g. \"ladder\": [0.9, 1, 1.1] (fractions of the current price).",
        ));
    }
    if f.len() > crate::pricing::experiment::MAX_LADDER {
        return Err(o.bad("ladder", "at most 64 prices", &v));
    }
    Ok(f)
}

/// One product of the simulated market.
struct Truth {
    elasticity: f64,
    base: f64,
}

/// The mean over seeds of one policy's results in one period.
#[derive(Clone, Debug, PartialEq)]
pub struct SimRow {
    pub policy: Policy,
    pub prior: PriorKind,
    pub period: usize,
    pub regret: f64,
    pub cumulative_regret: f64,
    pub profit: f64,
    pub oracle_profit: f64,
    /// Prices served against a rule, over all seeds (always 0 unless something is wrong).
    pub violations: u64,
}

/// One run's per-period (regret, profit, oracle profit, violations).
type Run = Vec<(f64, f64, f64, u64)>;

fn market(cfg: &SimConfig, seed: u64) -> (Vec<Truth>, Vec<Product>, Vec<Product>) {
    let mut rng = Rng::new(mix64(cfg.runs.seed ^ mix64(seed + 1)));
    let rules = cfg.rules;
    let mut truth = Vec::with_capacity(cfg.market.n_products);
    let (mut model, mut flat) = (Vec::new(), Vec::new());
    let mid = 0.5 * (cfg.market.elasticity.0 + cfg.market.elasticity.1);
    let mean_base = 0.5 * (cfg.market.base_units.0 + cfg.market.base_units.1);
    for _ in 0..cfg.market.n_products {
        let e = rng.uniform(cfg.market.elasticity.0, cfg.market.elasticity.1);
        let base = rng.uniform(cfg.market.base_units.0, cfg.market.base_units.1);
        let p0 = (rng.uniform(5.0, 50.0) * 100.0).round() / 100.0;
        let prices: Vec<f64> = cfg.market.ladder.iter().map(|f| f * p0).collect();
        let mut cost = p0 * rng.uniform(cfg.market.cost_share.0, cfg.market.cost_share.1);
        if let Some(m) = cfg.rules.min_margin {
            // create_price_experiment refuses a product with no allowed price within reach of
            // its current price: here its cost is lowered until the current price keeps the
            // margin.
            cost = cost.min(p0 * (1.0 - m) * 0.99);
        }
        let ladder = rules.ladder(&prices, cost, 0.0);
        let (ze, za) = (rng.normal(), rng.normal());
        let product = |prior: Prior| Product {
            current_price: p0,
            unit_cost: cost,
            ladder: ladder.clone(),
            prior,
        };
        model.push(product(Prior {
            level: base.ln() + cfg.prior_sd.1 * za,
            level_sd: cfg.prior_sd.1,
            elasticity: e + cfg.prior_sd.0 * ze,
            elasticity_sd: cfg.prior_sd.0,
            pooled: false,
        }));
        flat.push(product(Prior {
            level: mean_base.ln(),
            level_sd: 10.0,
            elasticity: mid,
            elasticity_sd: 10.0,
            pooled: true,
        }));
        truth.push(Truth {
            elasticity: e,
            base,
        });
    }
    (truth, model, flat)
}

fn run(cfg: &SimConfig, policy: Policy, prior: PriorKind, seed: u64) -> Run {
    let (truth, model, flat) = market(cfg, seed);
    let products = match prior {
        PriorKind::Model => model,
        PriorKind::Flat => flat,
    };
    let design = Design {
        keys: (0..products.len() as i64).collect(),
        products,
        chooser: Chooser {
            policy,
            seed: mix64(cfg.runs.seed ^ seed),
            ..cfg.chooser
        },
        max_change: cfg.max_change,
        revenue: false,
    };
    let rules = cfg.rules;
    let n = design.products.len();
    let mut sales = vec![Sales::default(); n];
    let mut previous: Vec<Option<f64>> = vec![None; n];
    let expected = |p: &Product, t: &Truth, price: f64| {
        (price - p.unit_cost) * t.base * (price / p.current_price).powf(t.elasticity)
    };
    let oracle: Vec<f64> = design
        .products
        .iter()
        .zip(&truth)
        .map(|(p, t)| {
            p.ladder
                .iter()
                .map(|&q| expected(p, t, q))
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let mut out = Vec::with_capacity(cfg.runs.periods);
    for period in 0..cfg.runs.periods {
        let (mut regret, mut profit, mut best, mut violations) = (0.0, 0.0, 0.0, 0u64);
        for i in 0..n {
            let p = &design.products[i];
            let post = posterior(p, &sales[i]);
            let s = Situation {
                product: p,
                posterior: &post,
                previous: previous[i],
                periods_seen: sales[i].periods(),
            };
            let pick = design.pick(&s, design.stream(i, period as i64));
            let price = p.ladder[pick.arm];
            let from = previous[i].unwrap_or(p.current_price);
            if !rules.allows(price, p.unit_cost)
                || cfg
                    .max_change
                    .is_some_and(|c| (price / from - 1.0).abs() > c + 1e-9)
            {
                violations += 1;
            }
            let t = &truth[i];
            let e_profit = expected(p, t, price);
            regret += oracle[i] - e_profit;
            profit += e_profit;
            best += oracle[i];
            // The market's noise depends on (seed, product, period) only, so every policy
            // meets the same luck.
            let mut m = Rng::new(mix64(
                cfg.runs.seed ^ mix64(seed + 0x9e37) ^ mix64((i as u64) << 20 | period as u64),
            ));
            let lambda = t.base * (price / p.current_price).powf(t.elasticity);
            sales[i].add(price, 1.0, m.poisson(lambda) as f64);
            previous[i] = Some(price);
        }
        out.push((regret, profit, best, violations));
    }
    out
}

/// Runs every (policy, prior) over `seeds` markets; rows per policy, prior and period, means
/// over the seeds. `monitor` is ticked between batches of runs (cancellation).
pub fn simulate(
    cfg: &SimConfig,
    pool: Option<&ThreadPool>,
    monitor: &mut dyn Monitor,
) -> Result<Vec<SimRow>> {
    let mut jobs = Vec::new();
    for &prior in &cfg.runs.priors {
        for &policy in &cfg.runs.policies {
            for seed in 0..cfg.runs.seeds as u64 {
                jobs.push((policy, prior, seed));
            }
        }
    }
    let batch = pool.map_or(1, |p| p.current_num_threads().max(1) * 2);
    let mut runs: Vec<Run> = Vec::with_capacity(jobs.len());
    for part in jobs.chunks(batch) {
        let one = |&(policy, prior, seed): &(Policy, PriorKind, u64)| run(cfg, policy, prior, seed);
        match pool {
            Some(pool) => {
                runs.extend(pool.install(|| part.par_iter().map(one).collect::<Vec<_>>()))
            }
            None => runs.extend(part.iter().map(one)),
        }
        monitor.tick()?;
    }
    let mut rows = Vec::new();
    let k = cfg.runs.seeds as f64;
    for (g, chunk) in runs.chunks(cfg.runs.seeds).enumerate() {
        let (policy, prior, _) = jobs[g * cfg.runs.seeds];
        let mut cumulative = 0.0;
        for period in 0..cfg.runs.periods {
            let (mut r, mut pr, mut o, mut v) = (0.0, 0.0, 0.0, 0);
            for run in chunk {
                r += run[period].0;
                pr += run[period].1;
                o += run[period].2;
                v += run[period].3;
            }
            cumulative += r / k;
            rows.push(SimRow {
                policy,
                prior,
                period,
                regret: r / k,
                cumulative_regret: cumulative,
                profit: pr / k,
                oracle_profit: o / k,
                violations: v,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Quiet;

    fn total(rows: &[SimRow], policy: Policy, prior: PriorKind) -> f64 {
        rows.iter()
            .filter(|r| r.policy == policy && r.prior == prior)
            .map(|r| r.regret)
            .sum()
    }

    #[test]
    #[ignore]
    fn regret_figures() {
        let opts: serde_json::Value = serde_json::from_str(
            &std::env::var("SIM_OPTS")
                .unwrap_or_else(|_| r#"{"priors": ["model", "flat"]}"#.into()),
        )
        .unwrap();
        let cfg = SimConfig::parse(Some(&opts)).unwrap();
        let t = std::time::Instant::now();
        let rows = simulate(&cfg, None, &mut Quiet).unwrap();
        eprintln!("{:?}", t.elapsed());
        for prior in [PriorKind::Model, PriorKind::Flat] {
            for policy in &cfg.runs.policies {
                eprintln!(
                    "{} {}: {:.1}",
                    prior.name(),
                    policy.name(),
                    total(&rows, *policy, prior)
                );
            }
        }
        let last: f64 = rows
            .iter()
            .filter(|r| {
                r.policy == Policy::Thompson && r.prior == PriorKind::Model && r.period >= 60
            })
            .map(|r| r.profit / r.oracle_profit)
            .sum::<f64>()
            / 30.0;
        eprintln!("last 30 profit share {last:.4}");
        for policy in &cfg.runs.policies {
            let c: Vec<String> = rows
                .iter()
                .filter(|r| {
                    r.policy == *policy
                        && r.prior == PriorKind::Model
                        && [0, 9, 29, 59, 89].contains(&r.period)
                })
                .map(|r| format!("{:.0}", r.regret))
                .collect();
            eprintln!(
                "{} per-period regret at 1,10,30,60,90: {}",
                policy.name(),
                c.join(" ")
            );
        }
    }

    #[test]
    fn small_simulation_is_deterministic_and_keeps_the_rules() {
        let cfg = SimConfig::parse(Some(&serde_json::json!({
            "n_products": 20, "periods": 30, "seeds": 2, "min_margin": 0.3, "max_change": 0.05,
            "policies": ["thompson", "epsilon_greedy", "ucb"]
        })))
        .unwrap();
        let a = simulate(&cfg, None, &mut Quiet).unwrap();
        let b = simulate(&cfg, None, &mut Quiet).unwrap();
        assert_eq!(a, b);
        assert!(a.iter().all(|r| r.violations == 0));
        assert!(a
            .iter()
            .all(|r| r.regret >= -1e-9 && r.profit <= r.oracle_profit + 1e-9));
    }
}
