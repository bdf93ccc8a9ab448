//! Product search sessions for the sample shop, with a known relevance model (for learning to
//! rank and its demo).
//!
//! 3,000 sessions: a customer searches one category (the query, e.g. "coffee"); the shop shows
//! 12 to 24 products, about 70 % from the queried category and the rest from others, in a random
//! order (the displayed position carries no signal, so a ranker learns what is relevant, not
//! what was shown first). Each shown product gets a latent utility
//!
//! ```text
//! u = 2.0·[category = query] + 3.0·affinity + 0.5·popularity − 1.2·ln(price / session median)
//!     + 1.0·[bought before] − 3.0 + logistic noise
//! ```
//!
//! where affinity is the customer's share of order lines in the product's category and
//! popularity the standardised log of the product's units sold (as the ads' generator and
//! the order history define them). A product is clicked when u > 0 and, once clicked, bought
//! with probability σ(u − 1.5 − 0.8·ln(price / median)). Relevance for a ranker: 0 (shown),
//! 1 (clicked), 2 (bought).

use std::collections::{HashMap, HashSet};

use crate::math::sigmoid;
use crate::rng::Rng;
use crate::samples::ads::category_shares;
use crate::samples::shop::SampleShop;

pub const N_SESSIONS: usize = 3_000;
/// The generating utility: same category, affinity, popularity, log relative price, bought
/// before, intercept.
pub const UTILITY: [f64; 6] = [2.0, 3.0, 0.5, -1.2, 1.0, -3.0];

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub session_id: i64,
    pub customer_id: i64,
    /// The category searched (the query).
    pub category_id: i64,
    /// Day of the search, days since 2000-01-01 (in the shop's last year).
    pub searched_on: i32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Result {
    pub session_id: i64,
    pub product_id: i64,
    /// 1-based place on the results page (random: no signal).
    pub shown_position: i32,
    pub clicked: bool,
    pub purchased: bool,
}

pub fn generate(shop: &SampleShop, seed: u64) -> (Vec<Session>, Vec<Result>) {
    let mut rng = Rng::new(seed ^ 0x5ea_4c00_0000);
    let shares = category_shares(shop);
    // Popularity: standardised log1p of units sold over the whole history.
    let mut units: HashMap<i64, f64> = HashMap::new();
    for w in &shop.weekly_sales {
        *units.entry(w.product_id).or_default() += w.units as f64;
    }
    let logs: Vec<f64> = shop
        .products
        .iter()
        .map(|p| units.get(&p.product_id).copied().unwrap_or(0.0).ln_1p())
        .collect();
    let mean = logs.iter().sum::<f64>() / logs.len() as f64;
    let sd = (logs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / logs.len() as f64)
        .sqrt()
        .max(1e-9);
    let popularity: Vec<f64> = logs.iter().map(|v| (v - mean) / sd).collect();
    // What each customer bought before.
    let customer_of: HashMap<i64, i64> = shop
        .orders
        .iter()
        .map(|o| (o.order_id, o.customer_id))
        .collect();
    let bought: HashSet<(i64, i64)> = shop
        .order_lines
        .iter()
        .filter_map(|l| customer_of.get(&l.order_id).map(|c| (*c, l.product_id)))
        .collect();
    let by_category: HashMap<i64, Vec<usize>> =
        shop.products
            .iter()
            .enumerate()
            .fold(HashMap::new(), |mut m, (i, p)| {
                m.entry(p.category_id).or_insert_with(Vec::new).push(i);
                m
            });
    let last_day = shop.orders.last().map_or(0, |o| o.order_date);
    let [b_cat, b_aff, b_pop, b_price, b_bought, b0] = UTILITY;
    let mut sessions = Vec::with_capacity(N_SESSIONS);
    let mut results = Vec::new();
    for s in 0..N_SESSIONS {
        let customer_id =
            shop.customers[rng.below(shop.customers.len() as u64) as usize].customer_id;
        let category_id =
            shop.categories[rng.below(shop.categories.len() as u64) as usize].category_id;
        let session_id = s as i64 + 1;
        sessions.push(Session {
            session_id,
            customer_id,
            category_id,
            searched_on: last_day - 364 + rng.below(365) as i32,
        });
        let k = 12 + rng.below(13) as usize;
        let in_category = &by_category[&category_id];
        let mut shown: Vec<usize> = Vec::with_capacity(k);
        while shown.len() < k {
            let i = if rng.bernoulli(0.7) {
                in_category[rng.below(in_category.len() as u64) as usize]
            } else {
                rng.below(shop.products.len() as u64) as usize
            };
            if !shown.contains(&i) {
                shown.push(i);
            }
        }
        let mut prices: Vec<f64> = shown.iter().map(|&i| shop.products[i].list_price).collect();
        prices.sort_by(f64::total_cmp);
        let median = if k % 2 == 1 {
            prices[k / 2]
        } else {
            0.5 * (prices[k / 2 - 1] + prices[k / 2])
        };
        for (place, &i) in shown.iter().enumerate() {
            let p = &shop.products[i];
            let affinity = shares
                .get(&(customer_id, p.category_id))
                .copied()
                .unwrap_or(0.0);
            let rel_price = (p.list_price / median).ln();
            let u = b_cat * f64::from(u8::from(p.category_id == category_id))
                + b_aff * affinity
                + b_pop * popularity[i]
                + b_price * rel_price
                + b_bought * f64::from(u8::from(bought.contains(&(customer_id, p.product_id))))
                + b0;
            // Logistic noise by inversion.
            let e = rng.next_f64().clamp(1e-12, 1.0 - 1e-12);
            let clicked = u + (e / (1.0 - e)).ln() > 0.0;
            let purchased = clicked && rng.next_f64() < sigmoid(u - 1.5 - 0.8 * rel_price);
            results.push(Result {
                session_id,
                product_id: p.product_id,
                shown_position: place as i32 + 1,
                clicked,
                purchased,
            });
        }
    }
    (sessions, results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::shop::{generate as shop, SampleShopConfig};

    #[test]
    fn deterministic_and_plausible() {
        let s = shop(&SampleShopConfig::default());
        let (s1, r1) = generate(&s, 42);
        let (s2, r2) = generate(&s, 42);
        assert_eq!((s1.clone(), r1.clone()), (s2, r2));
        assert_eq!(s1.len(), N_SESSIONS);
        let clicks = r1.iter().filter(|r| r.clicked).count() as f64 / r1.len() as f64;
        let buys = r1.iter().filter(|r| r.purchased).count() as f64 / r1.len() as f64;
        assert!((0.1..0.5).contains(&clicks), "click rate {clicks}");
        assert!((0.02..clicks).contains(&buys), "purchase rate {buys}");
        assert!(r1.iter().all(|r| r.clicked || !r.purchased));
    }
}
