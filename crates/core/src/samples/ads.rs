//! Ads and ad impressions for the sample shop, with a known click model (for click-through
//! models and their demo).
//!
//! 60 ads, each promoting a product, with a cost-per-click bid and a quality score. 100,000
//! impressions: a customer, an ad, the slot it was shown in (1 = top … 4), the device, and the
//! customer's *affinity* for the ad: the share of the customer's order lines in the ad's
//! product category. A click happens with probability σ(logit) where
//!
//! ```text
//! logit = −3.0 + 4.0·affinity − 0.4·(position − 1) + 0.3·is_mobile + 1.0·quality
//! ```

use std::collections::HashMap;

use crate::math::sigmoid;
use crate::rng::Rng;
use crate::samples::shop::SampleShop;

/// The generating click model: intercept, affinity, position (per slot below the top),
/// is_mobile, quality.
pub const CLICK_MODEL: [f64; 5] = [-3.0, 4.0, -0.4, 0.3, 1.0];
pub const N_ADS: usize = 60;
pub const N_IMPRESSIONS: usize = 100_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Ad {
    pub ad_id: i64,
    pub product_id: i64,
    pub bid: f64,
    pub quality: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Impression {
    pub impression_id: i64,
    pub customer_id: i64,
    pub ad_id: i64,
    pub position: i32,
    pub is_mobile: i32,
    pub affinity: f64,
    pub clicked: bool,
}

/// Each product's category.
fn product_categories(shop: &SampleShop) -> HashMap<i64, i64> {
    let pairs = shop.products.iter().map(|p| (p.product_id, p.category_id));
    pairs.collect()
}

/// Share of each customer's order lines per category.
pub fn category_shares(shop: &SampleShop) -> HashMap<(i64, i64), f64> {
    let category = product_categories(shop);
    let orders = shop.orders.iter().map(|o| (o.order_id, o.customer_id));
    let customer: HashMap<i64, i64> = orders.collect();
    let mut counts: HashMap<(i64, i64), f64> = HashMap::new();
    let mut totals: HashMap<i64, f64> = HashMap::new();
    for l in &shop.order_lines {
        let (Some(&c), Some(&cat)) = (customer.get(&l.order_id), category.get(&l.product_id))
        else {
            continue;
        };
        *counts.entry((c, cat)).or_default() += 1.0;
        *totals.entry(c).or_default() += 1.0;
    }
    counts
        .into_iter()
        .map(|((c, cat), n)| ((c, cat), n / totals[&c]))
        .collect()
}

pub fn generate(shop: &SampleShop, seed: u64) -> (Vec<Ad>, Vec<Impression>) {
    let mut rng = Rng::new(seed ^ 0xad5_0000_0000);
    let ads: Vec<Ad> = (0..N_ADS)
        .map(|i| {
            let p = &shop.products[rng.below(shop.products.len() as u64) as usize];
            Ad {
                ad_id: i as i64 + 1,
                product_id: p.product_id,
                bid: (rng.uniform(0.2, 2.0) * 100.0).round() / 100.0,
                quality: ((rng.normal() * 0.5) * 1000.0).round() / 1000.0,
            }
        })
        .collect();
    let category = product_categories(shop);
    let shares = category_shares(shop);
    let n_customers = shop.customers.len() as u64;
    let [b0, b_aff, b_pos, b_mob, b_q] = CLICK_MODEL;
    let impressions = (0..N_IMPRESSIONS)
        .map(|i| {
            let customer_id = shop.customers[rng.below(n_customers) as usize].customer_id;
            let ad = &ads[rng.below(N_ADS as u64) as usize];
            let position = 1 + rng.below(4) as i32;
            let is_mobile = i32::from(rng.bernoulli(0.55));
            let affinity = shares
                .get(&(customer_id, category[&ad.product_id]))
                .copied()
                .unwrap_or(0.0);
            let affinity = (affinity * 1e6).round() / 1e6;
            let logit = b0
                + b_aff * affinity
                + b_pos * (position - 1) as f64
                + b_mob * is_mobile as f64
                + b_q * ad.quality;
            Impression {
                impression_id: i as i64 + 1,
                customer_id,
                ad_id: ad.ad_id,
                position,
                is_mobile,
                affinity,
                clicked: rng.next_f64() < sigmoid(logit),
            }
        })
        .collect();
    (ads, impressions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::shop::{generate as shop, SampleShopConfig};

    #[test]
    fn deterministic_and_plausible() {
        let s = shop(&SampleShopConfig::default());
        let (a1, i1) = generate(&s, 42);
        let (a2, i2) = generate(&s, 42);
        assert_eq!((a1.len(), i1.len()), (N_ADS, N_IMPRESSIONS));
        assert_eq!(i1, i2);
        assert_eq!(a1, a2);
        let ctr = i1.iter().filter(|i| i.clicked).count() as f64 / i1.len() as f64;
        assert!((0.02..0.2).contains(&ctr), "click-through rate {ctr}");
        assert!(i1.iter().all(|i| (0.0..=1.0).contains(&i.affinity)));
    }
}
