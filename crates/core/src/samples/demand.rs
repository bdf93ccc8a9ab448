//! Weekly sales generated from known constant-elasticity demand, for tests and benchmarks of
//! pricing (`shopml.sample_demand`).
//!
//! Product j: elasticity e_j ~ U(−3.5, −1.4), list price log-uniform in [2, 50], unit cost
//! 40–75 % of it, base demand b_j log-uniform in [10, 60] units a week at list price. Prices
//! follow the sample shop's process: the regular price starts at list and changes permanently
//! by 5–15 % in 3–5 random weeks per 104 (fewer for shorter histories); in 12 % of weeks the
//! product is on promotion at 10–30 % off. Units ~ Poisson(b_j · (p/list)^e_j · 1.3^promo).
//! The last `n_new` products are on sale only in the last `new_weeks` weeks.

use crate::rng::Rng;

pub const PROMO_LIFT: f64 = 1.3;
const PROMO_PROB: f64 = 0.12;

#[derive(Clone, Debug)]
pub struct DemandSampleConfig {
    pub n_products: usize,
    pub n_new: usize,
    pub weeks: usize,
    pub new_weeks: usize,
    pub seed: u64,
}

impl Default for DemandSampleConfig {
    fn default() -> Self {
        DemandSampleConfig {
            n_products: 500,
            n_new: 100,
            weeks: 104,
            new_weeks: 10,
            seed: 42,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SampleProduct {
    pub product_id: i64,
    pub true_elasticity: f64,
    pub list_price: f64,
    pub unit_cost: f64,
    pub base_units: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SampleWeek {
    pub product_id: i64,
    pub week: i32,
    pub price: f64,
    pub promo: bool,
    pub units: i64,
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The products and their weekly sales.
pub fn generate(cfg: &DemandSampleConfig) -> (Vec<SampleProduct>, Vec<SampleWeek>) {
    let mut root = Rng::new(cfg.seed);
    let mut products = Vec::with_capacity(cfg.n_products);
    let mut weeks = Vec::new();
    for j in 0..cfg.n_products {
        let mut rng = root.fork();
        let true_elasticity = rng.uniform(-3.5, -1.4);
        let list_price = cents((2f64.ln() + rng.next_f64() * (25f64).ln()).exp());
        let unit_cost = cents(list_price * rng.uniform(0.40, 0.75));
        let base_units = (10f64.ln() + rng.next_f64() * 6f64.ln()).exp();
        let p = SampleProduct {
            product_id: j as i64 + 1,
            true_elasticity,
            list_price,
            unit_cost,
            base_units,
        };
        let is_new = j >= cfg.n_products.saturating_sub(cfg.n_new);
        let first = if is_new {
            cfg.weeks.saturating_sub(cfg.new_weeks)
        } else {
            0
        };
        let on_sale = cfg.weeks - first;
        let n_changes = ((3 + rng.below(3)) as f64 * on_sale as f64 / 104.0).round() as usize;
        let mut changes: Vec<usize> = (0..n_changes)
            .filter(|_| on_sale > 1)
            .map(|_| first + 1 + rng.below(on_sale as u64 - 1) as usize)
            .collect();
        changes.sort_unstable();
        let mut regular = list_price;
        for w in first..cfg.weeks {
            let up = rng.next_f64() < 0.6;
            let size = rng.uniform(0.05, 0.15);
            let promo = rng.bernoulli(PROMO_PROB);
            let discount = 10 + rng.below(21);
            if changes.binary_search(&w).is_ok() {
                let ratio = regular / list_price;
                let up = if ratio > 1.25 {
                    false
                } else if ratio < 0.8 {
                    true
                } else {
                    up
                };
                regular = cents(regular * if up { 1.0 + size } else { 1.0 - size }).max(0.01);
            }
            let price = if promo {
                cents(regular * (100 - discount) as f64 / 100.0).max(0.01)
            } else {
                regular
            };
            let mu = base_units
                * (price / list_price).powf(true_elasticity)
                * if promo { PROMO_LIFT } else { 1.0 };
            weeks.push(SampleWeek {
                product_id: p.product_id,
                week: w as i32,
                price,
                promo,
                units: rng.poisson(mu) as i64,
            });
        }
        products.push(p);
    }
    (products, weeks)
}
