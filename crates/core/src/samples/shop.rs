//! Deterministic generator of a sample online shop.
//!
//! The generated data set is used by the demos and tests of recommendations,
//! pricing (price elasticity), regression and churn/RFM analysis, so it is built
//! from an explicit generative model whose parameters are known and can be
//! recovered. A fixed [`SampleShopConfig`] (seed and sizes) produces bit-identical
//! data on every machine: only the project's own [`Rng`] and plain integer/`f64`
//! arithmetic are used, and nothing depends on hash-map iteration order.
//!
//! # Generative model
//!
//! **Catalogue.** Eight categories (Coffee, Tea, Snacks, Baking, Household,
//! Personal Care, Pet, Kitchen), each with its own list-price range (from about
//! 2 to 60), a mild yearly seasonality (amplitude 2–10 %, category-specific
//! peak day) and a random latent *centroid* vector in `R^5`. Each product
//! gets a category (categories have unequal sizes), a readable name
//! ("Organic Green Tea"), a list price drawn log-uniformly in the category range
//! and rounded to end in `.99`, a unit cost of 40–75 % of the list price, a
//! constant price elasticity `true_elasticity ~ U(-3.5, -1.4)`, a log-normally
//! distributed base demand `base_weekly_units` (cheaper products sell more), and a
//! latent vector `v_j = centroid(category) + 0.6·N(0, I)`. The last 10 % of the
//! product ids are *new* products: they are only on sale during the last 10 weeks.
//!
//! **Weekly prices and demand.** Every product starts at its list price. In 3–5
//! uniformly random weeks per 104 weeks on sale (proportionally fewer for shorter
//! histories; never in the first week on sale) the regular price changes
//! permanently by 5–15 % (up with probability 0.6; always down while above
//! 125 % of the list price, always up while below 80 %), so `list_price` is the
//! reference (initial) price, not necessarily the current one. Independently, in
//! about 12 % of weeks the product is on promotion at 10–30 % (whole percents) off
//! the regular price. All prices are rounded to cents. The expected number of
//! units sold in week `w` at price `p_jw` is
//!
//! ```text
//! mu_jw = base_weekly_units_j · (p_jw / list_price_j)^true_elasticity_j
//!         · (1.3 if promo) · season_category(w)
//! ```
//!
//! with `season(w) = 1 + amp · cos(2π (day_of_year(w) − peak) / 365.25)`, and the
//! realised units are `Poisson(mu_jw)`. The promotion lift 1.3 is independent of
//! the discount, so a log-log regression of units on price with a promo dummy
//! recovers the elasticity (for the best sellers of the default shop, per-product
//! OLS on the weeks with positive units is typically within 0.1–0.5 of the truth;
//! the limited price variation of two years makes it noisier for slow movers).
//! One `weekly_sales` row exists per product and week on sale, including weeks
//! with zero units.
//!
//! **Customers.** Each customer has a region (North, South, East, West, Central,
//! unequal shares), a latent segment, a heavy-tailed (log-normal, σ = 0.9)
//! activity level multiplied by a segment factor, and a taste vector
//! `u_c = 0.35·N(0, I) + 0.55·centroid(favourite category)`. Segments:
//!
//! | segment          | share | activity | behaviour |
//! |------------------|-------|----------|-----------|
//! | `loyal`          | 25 %  | ×3.0     | steady buyer, larger baskets |
//! | `bargain_hunter` | 20 %  | ×1.2     | weight ×0.4 in regular weeks, ×4 in promo weeks, stocks up on promo |
//! | `occasional`     | 40 %  | ×0.35    | buys rarely |
//! | `churned`        | 15 %  | ×1.5     | stops buying for good at a day between 50 % and 90 % of the horizon (i.e. in the second year by default) |
//!
//! About 55 % of customers signed up in the three years before the start date,
//! the rest during the horizon (at least four weeks before its end; churned
//! customers sign up no later than the first quarter of the horizon). Customer ids
//! ascend with signup date. The first customer drawn is always a loyal customer
//! who signed up before the start, so every unit can be sold to somebody.
//!
//! **Who buys what.** The units of product `j` in week `w` are handed out in
//! purchases: a customer `c` is drawn with probability proportional to
//! `activity_c · segment_promo_factor_c · exp(u_c · v_j)` among the customers
//! who have signed up and not churned on their shopping day of that week (a
//! deterministic function of customer and week), then buys `1 + Poisson(extra)`
//! units (capped by the units left), where `extra` depends on segment and promo.
//! Purchases of the same customer and product in the same week are merged. Hence
//! who buys what is predictable from the latent tastes, and collaborative
//! filtering beats a popularity baseline.
//!
//! **Orders.** All purchases of one customer in one week form one order, dated on
//! that customer's shopping day of the week, with one order line per product
//! (`quantity` = units, `unit_price` = that week's price, `promo` flag). Order ids
//! ascend with date (ties by customer id), lines are sorted by order id then
//! product id, `Order::n_items` is the total quantity and `Order::total` the sum of
//! `quantity · unit_price` rounded to cents. For every product and week, the
//! order-line quantities add up exactly to `WeeklySales::units`.
//!
//! Dates are `i32` days since 2000-01-01 (PostgreSQL's date epoch); week `w`
//! starts at `start_date_days + 7·w` (2024-01-01, the default, is a Monday).
//! Catalogue, customers, prices/demand and the assignment of units to customers
//! use separate random streams, so e.g. the catalogue and the weekly sales do
//! not change when only `n_customers` changes.
//!
//! With the default configuration the shop has 8 categories, 400 products,
//! 2000 customers, 37 840 weekly-sales rows, about 63 000 orders and
//! 149 000 order lines (206 000 units).

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Number of latent taste dimensions.
const N_LATENT: usize = 5;
/// Share of products that are "new" (only sold in the last [`NEW_PRODUCT_WEEKS`] weeks).
const NEW_PRODUCT_SHARE: f64 = 0.10;
/// Number of weeks new products are on sale.
pub const NEW_PRODUCT_WEEKS: usize = 10;
/// Probability per week of a promotion.
const PROMO_PROB: f64 = 0.12;
/// Multiplicative demand lift of a promotion (independent of the discount).
pub const PROMO_LIFT: f64 = 1.3;

/// Region names, in the order used by the generator.
pub const REGIONS: [&str; 5] = ["North", "South", "East", "West", "Central"];
const REGION_WEIGHTS: [f64; 5] = [0.24, 0.21, 0.19, 0.16, 0.20];

/// Latent segment names, in the order used by the generator.
pub const SEGMENTS: [&str; 4] = ["loyal", "bargain_hunter", "occasional", "churned"];

struct SegmentSpec {
    share: f64,
    activity: f64,
    weight_regular: f64,
    weight_promo: f64,
    extra_qty_regular: f64,
    extra_qty_promo: f64,
    churns: bool,
}

const SEGMENT_SPECS: [SegmentSpec; 4] = [
    // loyal
    SegmentSpec {
        share: 0.25,
        activity: 3.0,
        weight_regular: 1.0,
        weight_promo: 1.0,
        extra_qty_regular: 0.35,
        extra_qty_promo: 0.45,
        churns: false,
    },
    // bargain_hunter
    SegmentSpec {
        share: 0.20,
        activity: 1.2,
        weight_regular: 0.4,
        weight_promo: 4.0,
        extra_qty_regular: 0.10,
        extra_qty_promo: 0.90,
        churns: false,
    },
    // occasional
    SegmentSpec {
        share: 0.40,
        activity: 0.35,
        weight_regular: 1.0,
        weight_promo: 1.0,
        extra_qty_regular: 0.10,
        extra_qty_promo: 0.15,
        churns: false,
    },
    // churned
    SegmentSpec {
        share: 0.15,
        activity: 1.5,
        weight_regular: 1.0,
        weight_promo: 1.0,
        extra_qty_regular: 0.25,
        extra_qty_promo: 0.30,
        churns: true,
    },
];

struct CategorySpec {
    name: &'static str,
    price_lo: f64,
    price_hi: f64,
    /// Relative number of products.
    weight: f64,
    season_amp: f64,
    season_peak_doy: f64,
    nouns: [&'static str; 8],
}

const CATEGORY_SPECS: [CategorySpec; 8] = [
    CategorySpec {
        name: "Coffee",
        price_lo: 4.0,
        price_hi: 25.0,
        weight: 1.2,
        season_amp: 0.05,
        season_peak_doy: 15.0,
        nouns: [
            "Espresso Beans",
            "Filter Coffee",
            "Cold Brew",
            "Instant Coffee",
            "Coffee Pods",
            "Decaf Blend",
            "Ground Coffee",
            "Single Origin Beans",
        ],
    },
    CategorySpec {
        name: "Tea",
        price_lo: 2.5,
        price_hi: 18.0,
        weight: 0.9,
        season_amp: 0.10,
        season_peak_doy: 15.0,
        nouns: [
            "Green Tea",
            "Black Tea",
            "Herbal Infusion",
            "Chai",
            "Matcha",
            "Earl Grey",
            "Rooibos",
            "Oolong",
        ],
    },
    CategorySpec {
        name: "Snacks",
        price_lo: 1.5,
        price_hi: 8.0,
        weight: 1.3,
        season_amp: 0.06,
        season_peak_doy: 200.0,
        nouns: [
            "Potato Chips",
            "Trail Mix",
            "Granola Bar",
            "Dark Chocolate",
            "Pretzels",
            "Rice Crackers",
            "Roasted Almonds",
            "Popcorn",
        ],
    },
    CategorySpec {
        name: "Baking",
        price_lo: 2.0,
        price_hi: 15.0,
        weight: 0.8,
        season_amp: 0.10,
        season_peak_doy: 350.0,
        nouns: [
            "Flour",
            "Cake Mix",
            "Baking Chocolate",
            "Vanilla Extract",
            "Brown Sugar",
            "Dry Yeast",
            "Cocoa Powder",
            "Sprinkles",
        ],
    },
    CategorySpec {
        name: "Household",
        price_lo: 3.0,
        price_hi: 30.0,
        weight: 1.0,
        season_amp: 0.03,
        season_peak_doy: 90.0,
        nouns: [
            "Dish Soap",
            "Laundry Detergent",
            "Paper Towels",
            "Trash Bags",
            "Sponges",
            "Glass Cleaner",
            "Fabric Softener",
            "Toilet Paper",
        ],
    },
    CategorySpec {
        name: "Personal Care",
        price_lo: 3.0,
        price_hi: 35.0,
        weight: 1.0,
        season_amp: 0.03,
        season_peak_doy: 180.0,
        nouns: [
            "Shampoo",
            "Conditioner",
            "Toothpaste",
            "Body Wash",
            "Hand Cream",
            "Deodorant",
            "Lip Balm",
            "Face Wash",
        ],
    },
    CategorySpec {
        name: "Pet",
        price_lo: 4.0,
        price_hi: 60.0,
        weight: 0.9,
        season_amp: 0.02,
        season_peak_doy: 120.0,
        nouns: [
            "Dog Food",
            "Cat Food",
            "Cat Litter",
            "Dog Treats",
            "Chew Toy",
            "Bird Seed",
            "Pet Shampoo",
            "Fish Flakes",
        ],
    },
    CategorySpec {
        name: "Kitchen",
        price_lo: 5.0,
        price_hi: 60.0,
        weight: 0.9,
        season_amp: 0.08,
        season_peak_doy: 345.0,
        nouns: [
            "Chef's Knife",
            "Cutting Board",
            "Frying Pan",
            "Storage Jars",
            "Measuring Cups",
            "Whisk",
            "Baking Tray",
            "Spatula Set",
        ],
    },
];

const ADJECTIVES: [&str; 16] = [
    "Classic",
    "Organic",
    "Premium",
    "Everyday",
    "Family Size",
    "Mini",
    "Deluxe",
    "Natural",
    "Original",
    "Extra Strong",
    "Light",
    "Gourmet",
    "Value",
    "Eco",
    "Artisan",
    "Fresh",
];

/// Parameters of the sample shop. The same configuration always yields the same
/// shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleShopConfig {
    /// Seed of the random generator.
    pub seed: u64,
    /// Number of customers.
    pub n_customers: usize,
    /// Number of products.
    pub n_products: usize,
    /// Number of weeks of sales history.
    pub n_weeks: usize,
    /// First day of the first week, in days since 2000-01-01 (PostgreSQL's date
    /// epoch).
    pub start_date_days: i32,
}

impl Default for SampleShopConfig {
    /// Seed 42, 2000 customers, 400 products, 104 weeks starting Monday
    /// 2024-01-01 (day 8766).
    fn default() -> Self {
        SampleShopConfig {
            seed: 42,
            n_customers: 2000,
            n_products: 400,
            n_weeks: 104,
            start_date_days: 8766,
        }
    }
}

/// A product category.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// 1-based id.
    pub category_id: i64,
    /// Readable name, e.g. "Coffee".
    pub name: String,
}

/// A product with its true (generating) demand parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// 1-based id. The highest 10 % of ids are new products, on sale only in the
    /// last 10 weeks.
    pub product_id: i64,
    /// Readable, unique name, e.g. "Organic Green Tea".
    pub name: String,
    /// Category id (see [`Category`]).
    pub category_id: i64,
    /// Reference price (in cents precision); the price at which expected demand
    /// equals `base_weekly_units` (before promo lift and seasonality).
    pub list_price: f64,
    /// Unit cost, 40–75 % of the list price, rounded to cents.
    pub unit_cost: f64,
    /// Constant price elasticity of demand used by the generator, in [-3.5, -1.4].
    pub true_elasticity: f64,
    /// Expected weekly units at list price, without promotion, seasonality 1.
    pub base_weekly_units: f64,
}

/// A customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// 1-based id, ascending with signup date.
    pub customer_id: i64,
    /// One of [`REGIONS`].
    pub region: String,
    /// Signup day, days since 2000-01-01.
    pub signup_date: i32,
    /// Latent segment (one of [`SEGMENTS`]), for checking models; not observable
    /// in a real shop.
    pub segment: String,
}

/// An order: all purchases of one customer in one week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// 1-based id, ascending with `order_date`.
    pub order_id: i64,
    /// Buying customer.
    pub customer_id: i64,
    /// Order day, days since 2000-01-01.
    pub order_date: i32,
    /// Total number of units (sum of line quantities).
    pub n_items: i32,
    /// Sum of `quantity * unit_price` over the lines, rounded to cents.
    pub total: f64,
}

/// One product in an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Order this line belongs to.
    pub order_id: i64,
    /// Product bought.
    pub product_id: i64,
    /// Units bought (>= 1).
    pub quantity: i32,
    /// Price paid per unit (that week's price of the product), in cents precision.
    pub unit_price: f64,
    /// Whether the product was on promotion that week.
    pub promo: bool,
}

/// Units sold of one product in one week (one row per week the product was on
/// sale, including weeks with zero units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeeklySales {
    /// Product.
    pub product_id: i64,
    /// First day of the week, days since 2000-01-01.
    pub week_start: i32,
    /// Price charged during the week, in cents precision.
    pub price: f64,
    /// Whether the product was on promotion.
    pub promo: bool,
    /// Units sold (equals the sum of the matching order-line quantities).
    pub units: i64,
}

/// The generated shop. Rows are sorted: categories, products and customers by
/// id; orders by id (= by date); order lines by (order id, product id);
/// weekly sales by (product id, week).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleShop {
    /// Product categories.
    pub categories: Vec<Category>,
    /// Product catalogue.
    pub products: Vec<Product>,
    /// Customers.
    pub customers: Vec<Customer>,
    /// Orders.
    pub orders: Vec<Order>,
    /// Order lines.
    pub order_lines: Vec<OrderLine>,
    /// Weekly product sales.
    pub weekly_sales: Vec<WeeklySales>,
}

#[inline]
fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Stateless 64-bit mixer (SplitMix64 finaliser).
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn cumulative(weights: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

fn normal_vec(rng: &mut Rng) -> [f64; N_LATENT] {
    let mut v = [0.0; N_LATENT];
    for x in v.iter_mut() {
        *x = rng.normal();
    }
    v
}

#[inline]
fn dot(a: &[f64; N_LATENT], b: &[f64; N_LATENT]) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

/// Internal per-customer state (index = customer_id - 1).
struct CustomerState {
    segment: usize,
    region: usize,
    signup_date: i32,
    /// First day on which the customer no longer buys (`i32::MAX` if never).
    churn_date: i32,
    activity: f64,
    taste: [f64; N_LATENT],
}

/// A (possibly partial) purchase before merging into orders.
#[derive(Clone, Copy)]
struct Purchase {
    day: i32,
    customer: u32,
    product: u32,
    week: u32,
    quantity: u32,
}

/// Generates the sample shop described in the module documentation.
pub fn generate(config: &SampleShopConfig) -> SampleShop {
    let n_products = config.n_products;
    let n_customers = config.n_customers;
    let n_weeks = config.n_weeks;
    let start = config.start_date_days;
    let horizon_days = (n_weeks as i64 * 7).min(i32::MAX as i64 / 4) as i32;

    // Independent streams, so that e.g. the catalogue does not depend on the
    // number of customers.
    let mut master = Rng::new(config.seed);
    let mut catalog_rng = master.fork();
    let mut customer_rng = master.fork();
    let mut demand_master = master.fork();
    let mut assign_master = master.fork();

    // ---------------------------------------------------------------- catalogue
    let categories: Vec<Category> = CATEGORY_SPECS
        .iter()
        .enumerate()
        .map(|(i, spec)| Category {
            category_id: i as i64 + 1,
            name: spec.name.to_string(),
        })
        .collect();
    let centroids: Vec<[f64; N_LATENT]> = CATEGORY_SPECS
        .iter()
        .map(|_| normal_vec(&mut catalog_rng))
        .collect();
    let name_orders: Vec<Vec<usize>> = CATEGORY_SPECS
        .iter()
        .map(|_| {
            let mut combos: Vec<usize> = (0..ADJECTIVES.len() * 8).collect();
            catalog_rng.shuffle(&mut combos);
            combos
        })
        .collect();
    let category_cdf = cumulative(
        &CATEGORY_SPECS
            .iter()
            .map(|s| s.weight)
            .collect::<Vec<f64>>(),
    );
    let n_new = ((n_products as f64) * NEW_PRODUCT_SHARE).round() as usize;
    let mut names_used = vec![0usize; CATEGORY_SPECS.len()];
    let mut products = Vec::with_capacity(n_products);
    let mut product_vecs = Vec::with_capacity(n_products);
    for j in 0..n_products {
        let cat = catalog_rng.choose_weighted_cdf(&category_cdf);
        let spec = &CATEGORY_SPECS[cat];
        let k = names_used[cat];
        names_used[cat] += 1;
        let combo = name_orders[cat][k % name_orders[cat].len()];
        let mut name = format!("{} {}", ADJECTIVES[combo / 8], spec.nouns[combo % 8]);
        if k >= name_orders[cat].len() {
            name.push_str(&format!(" #{}", k / name_orders[cat].len() + 1));
        }
        let raw_price = catalog_rng
            .uniform(spec.price_lo.ln(), spec.price_hi.ln())
            .exp();
        let list_price = round_cents((raw_price.round() - 0.01).max(0.99));
        let unit_cost = round_cents(list_price * catalog_rng.uniform(0.40, 0.75));
        let true_elasticity = catalog_rng.uniform(-3.5, -1.4);
        let z = catalog_rng.normal();
        // Log-normal popularity; cheaper products sell more units.
        let base_weekly_units = 2.8 * (0.9 * z).exp() * (10.0 / list_price).powf(0.35);
        let noise = normal_vec(&mut catalog_rng);
        let mut v = centroids[cat];
        for (x, e) in v.iter_mut().zip(noise.iter()) {
            *x += 0.6 * e;
        }
        product_vecs.push(v);
        products.push(Product {
            product_id: j as i64 + 1,
            name,
            category_id: cat as i64 + 1,
            list_price,
            unit_cost,
            true_elasticity,
            base_weekly_units,
        });
    }

    // ---------------------------------------------------------------- customers
    let segment_cdf = cumulative(&SEGMENT_SPECS.iter().map(|s| s.share).collect::<Vec<_>>());
    let region_cdf = cumulative(&REGION_WEIGHTS);
    let mut cstates: Vec<CustomerState> = Vec::with_capacity(n_customers);
    for i in 0..n_customers {
        let mut segment = customer_rng.choose_weighted_cdf(&segment_cdf);
        let region = customer_rng.choose_weighted_cdf(&region_cdf);
        let pre_start = customer_rng.bernoulli(0.55);
        let u_pre = customer_rng.next_f64();
        let u_during = customer_rng.next_f64();
        let u_churn = customer_rng.next_f64();
        let activity_z = customer_rng.normal();
        let fav = customer_rng.below(CATEGORY_SPECS.len() as u64) as usize;
        let noise = normal_vec(&mut customer_rng);
        // The first customer is a long-standing loyal customer who never churns,
        // so that there is always somebody who can buy.
        let force_anchor = i == 0;
        if force_anchor {
            segment = 0;
        }
        let spec = &SEGMENT_SPECS[segment];
        let pre_signup = start - 1 - (u_pre * 3.0 * 365.0) as i32;
        let signup_date = if force_anchor || pre_start {
            pre_signup
        } else if spec.churns {
            // Churned customers must have time to buy before churning.
            start + (u_during * horizon_days as f64 * 0.25) as i32
        } else {
            start + (u_during * (horizon_days - 28).max(0) as f64) as i32
        };
        let churn_date = if spec.churns && !force_anchor {
            let lo = start + horizon_days / 2;
            let hi = start + horizon_days * 9 / 10;
            let d = lo + (u_churn * (hi - lo) as f64) as i32;
            d.max(signup_date + 56)
        } else {
            i32::MAX
        };
        let activity = spec.activity * (0.9 * activity_z).exp();
        let mut taste = [0.0; N_LATENT];
        for d in 0..N_LATENT {
            taste[d] = 0.35 * noise[d] + 0.55 * centroids[fav][d];
        }
        cstates.push(CustomerState {
            segment,
            region,
            signup_date,
            churn_date,
            activity,
            taste,
        });
    }
    // Customer ids ascend with signup date (stable sort: ties keep draw order).
    cstates.sort_by_key(|c| c.signup_date);
    let customers: Vec<Customer> = cstates
        .iter()
        .enumerate()
        .map(|(i, c)| Customer {
            customer_id: i as i64 + 1,
            region: REGIONS[c.region].to_string(),
            signup_date: c.signup_date,
            segment: SEGMENTS[c.segment].to_string(),
        })
        .collect();

    // Shopping day of customer `c` (index) in week `w`.
    let seed = config.seed;
    let shop_day = |c: usize, w: usize| -> i32 {
        let h = mix64(
            seed ^ (c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (w as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
        );
        start + 7 * w as i32 + (h % 7) as i32
    };
    let eligible = |c: usize, day: i32| -> bool {
        let s = &cstates[c];
        s.signup_date <= day && day < s.churn_date
    };

    // ------------------------------------------------ prices, demand, purchases
    let season: Vec<Vec<f64>> = CATEGORY_SPECS
        .iter()
        .map(|spec| {
            (0..n_weeks)
                .map(|w| {
                    // Middle of the week, as a day of the year (2000-01-01 is
                    // day 0 of a year; 365.2425-day years).
                    let mid = (start as f64) + 7.0 * w as f64 + 3.0;
                    let doy = mid.rem_euclid(365.2425);
                    1.0 + spec.season_amp
                        * (2.0 * std::f64::consts::PI * (doy - spec.season_peak_doy) / 365.25).cos()
                })
                .collect()
        })
        .collect();

    let new_launch_week = n_weeks.saturating_sub(NEW_PRODUCT_WEEKS);
    let mut weekly_sales = Vec::with_capacity(n_products * n_weeks);
    // Price and promo per (product, week); NaN when not on sale.
    let mut week_price = vec![f64::NAN; n_products * n_weeks];
    let mut week_promo = vec![false; n_products * n_weeks];
    let mut purchases: Vec<Purchase> = Vec::new();
    let mut cdf_regular = vec![0.0f64; n_customers];
    let mut cdf_promo = vec![0.0f64; n_customers];

    for (j, product) in products.iter().enumerate() {
        let mut rng = demand_master.fork();
        let mut arng = assign_master.fork();
        let is_new = j >= n_products - n_new;
        let first_week = if is_new { new_launch_week } else { 0 };
        let cat = (product.category_id - 1) as usize;

        // Customer choice distributions for this product.
        if n_customers > 0 {
            let v = &product_vecs[j];
            let (mut acc_r, mut acc_p) = (0.0, 0.0);
            for (c, s) in cstates.iter().enumerate() {
                let spec = &SEGMENT_SPECS[s.segment];
                let w = s.activity * dot(&s.taste, v).exp();
                acc_r += w * spec.weight_regular;
                acc_p += w * spec.weight_promo;
                cdf_regular[c] = acc_r;
                cdf_promo[c] = acc_p;
            }
        }

        // Weeks with a permanent price change: 3-5 per 104 weeks on sale.
        let sale_weeks = n_weeks - first_week;
        let n_changes = ((3 + rng.below(3)) as f64 * sale_weeks as f64 / 104.0).round() as usize;
        let mut change_weeks: Vec<usize> = Vec::with_capacity(n_changes);
        if sale_weeks > 1 {
            for _ in 0..n_changes {
                change_weeks.push(first_week + 1 + rng.below(sale_weeks as u64 - 1) as usize);
            }
        }
        change_weeks.sort_unstable();
        change_weeks.dedup();

        let mut regular = product.list_price;
        for w in first_week..n_weeks {
            // Draw all weekly randomness unconditionally to keep streams aligned.
            let change = change_weeks.binary_search(&w).is_ok();
            let up_draw = rng.next_f64();
            let change_size = rng.uniform(0.05, 0.15);
            let promo = rng.bernoulli(PROMO_PROB);
            let discount_pct = 10 + rng.below(21) as i32;
            if change {
                let ratio = regular / product.list_price;
                let up = if ratio > 1.25 {
                    false
                } else if ratio < 0.8 {
                    true
                } else {
                    up_draw < 0.6
                };
                let factor = if up {
                    1.0 + change_size
                } else {
                    1.0 - change_size
                };
                regular = round_cents(regular * factor).max(0.01);
            }
            let price = if promo {
                round_cents(regular * (100 - discount_pct) as f64 / 100.0).max(0.01)
            } else {
                regular
            };
            let mu = product.base_weekly_units
                * (price / product.list_price).powf(product.true_elasticity)
                * if promo { PROMO_LIFT } else { 1.0 }
                * season[cat][w];
            let units = if n_customers > 0 { rng.poisson(mu) } else { 0 };
            week_price[j * n_weeks + w] = price;
            week_promo[j * n_weeks + w] = promo;
            weekly_sales.push(WeeklySales {
                product_id: product.product_id,
                week_start: start + 7 * w as i32,
                price,
                promo,
                units: units as i64,
            });

            // Hand the units out to customers.
            let cdf = if promo { &cdf_promo } else { &cdf_regular };
            let mut remaining = units;
            while remaining > 0 {
                let c = pick_customer(&mut arng, cdf, w, &shop_day, &eligible);
                let spec = &SEGMENT_SPECS[cstates[c].segment];
                let extra = if promo {
                    spec.extra_qty_promo
                } else {
                    spec.extra_qty_regular
                };
                let q = (1 + arng.poisson(extra)).min(remaining);
                remaining -= q;
                purchases.push(Purchase {
                    day: shop_day(c, w),
                    customer: c as u32,
                    product: j as u32,
                    week: w as u32,
                    quantity: q as u32,
                });
            }
        }
    }

    // ---------------------------------------------------------------- orders
    purchases.sort_unstable_by_key(|p| (p.day, p.customer, p.product));
    let mut orders: Vec<Order> = Vec::new();
    let mut order_lines: Vec<OrderLine> = Vec::with_capacity(purchases.len());
    let mut i = 0;
    while i < purchases.len() {
        let first = purchases[i];
        let order_id = orders.len() as i64 + 1;
        let mut n_items: i64 = 0;
        let mut total = 0.0f64;
        while i < purchases.len()
            && purchases[i].day == first.day
            && purchases[i].customer == first.customer
        {
            let p = purchases[i];
            let mut qty = 0u32;
            while i < purchases.len()
                && purchases[i].day == p.day
                && purchases[i].customer == p.customer
                && purchases[i].product == p.product
            {
                qty += purchases[i].quantity;
                i += 1;
            }
            let idx = p.product as usize * n_weeks + p.week as usize;
            let unit_price = week_price[idx];
            n_items += qty as i64;
            total += qty as f64 * unit_price;
            order_lines.push(OrderLine {
                order_id,
                product_id: p.product as i64 + 1,
                quantity: qty as i32,
                unit_price,
                promo: week_promo[idx],
            });
        }
        orders.push(Order {
            order_id,
            customer_id: first.customer as i64 + 1,
            order_date: first.day,
            n_items: n_items as i32,
            total: round_cents(total),
        });
    }

    SampleShop {
        categories,
        products,
        customers,
        orders,
        order_lines,
        weekly_sales,
    }
}

/// Draws a customer index from `cdf`, restricted to customers who can shop in
/// week `w` (signed up and not churned on their shopping day). Uses rejection
/// sampling, falling back to an exact restricted draw if rejections persist.
fn pick_customer(
    rng: &mut Rng,
    cdf: &[f64],
    w: usize,
    shop_day: &impl Fn(usize, usize) -> i32,
    eligible: &impl Fn(usize, i32) -> bool,
) -> usize {
    let mut last = 0;
    for _ in 0..256 {
        let c = rng.choose_weighted_cdf(cdf);
        if eligible(c, shop_day(c, w)) {
            return c;
        }
        last = c;
    }
    // Exact fallback: weights of eligible customers only.
    let mut acc = 0.0;
    let mut prev = 0.0;
    let restricted: Vec<f64> = cdf
        .iter()
        .enumerate()
        .map(|(c, &cum)| {
            let wgt = cum - prev;
            prev = cum;
            if eligible(c, shop_day(c, w)) {
                acc += wgt;
            }
            acc
        })
        .collect();
    if acc > 0.0 {
        rng.choose_weighted_cdf(&restricted)
    } else {
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn default_shop() -> &'static SampleShop {
        static SHOP: OnceLock<SampleShop> = OnceLock::new();
        SHOP.get_or_init(|| generate(&SampleShopConfig::default()))
    }

    fn small_config(seed: u64) -> SampleShopConfig {
        SampleShopConfig {
            seed,
            n_customers: 150,
            n_products: 40,
            n_weeks: 30,
            start_date_days: 8766,
        }
    }

    #[test]
    fn deterministic() {
        let a = generate(&small_config(7));
        let b = generate(&small_config(7));
        assert_eq!(a, b);
        let c = generate(&small_config(8));
        assert_ne!(a, c);
        // Catalogue and weekly sales do not depend on the number of customers.
        let fewer = generate(&SampleShopConfig {
            n_customers: 60,
            ..small_config(7)
        });
        assert_eq!(fewer.products, a.products);
        assert_eq!(fewer.weekly_sales, a.weekly_sales);
        assert_ne!(fewer.order_lines, a.order_lines);
        // And the default shop.
        let d = generate(&SampleShopConfig::default());
        assert_eq!(&d, default_shop());
    }

    /// Fingerprint of the default shop; changes only if the generator changes.
    #[test]
    fn default_counts_in_range() {
        let s = default_shop();
        assert_eq!(s.categories.len(), 8);
        assert_eq!(s.products.len(), 400);
        assert_eq!(s.customers.len(), 2000);
        let n_new = 40;
        assert_eq!(s.weekly_sales.len(), 360 * 104 + n_new * 10);
        assert!(
            (100_000..=200_000).contains(&s.order_lines.len()),
            "{} order lines",
            s.order_lines.len()
        );
        assert!(
            (20_000..=80_000).contains(&s.orders.len()),
            "{} orders",
            s.orders.len()
        );
        // Every customer buys at least... not necessarily; but most do.
        let mut buys = vec![false; s.customers.len()];
        for o in &s.orders {
            buys[o.customer_id as usize - 1] = true;
        }
        let buyers = buys.iter().filter(|&&b| b).count();
        assert!(buyers > 1800, "{buyers} customers with orders");
    }

    #[test]
    fn catalogue_is_sane() {
        let s = default_shop();
        let mut names: Vec<&str> = s.products.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), s.products.len(), "product names unique");
        for p in &s.products {
            assert!(
                (-3.5..=-1.4).contains(&p.true_elasticity),
                "{}",
                p.true_elasticity
            );
            assert!((0.99..=60.0).contains(&p.list_price), "{}", p.list_price);
            let r = p.unit_cost / p.list_price;
            assert!((0.39..=0.76).contains(&r), "cost ratio {r}");
            assert!(p.base_weekly_units > 0.0);
            assert!((1..=8).contains(&p.category_id));
            assert_eq!(round_cents(p.list_price), p.list_price);
        }
        for c in 1..=8 {
            assert!(s.products.iter().any(|p| p.category_id == c));
        }
        // New products: exactly 10 weeks of rows, all in the last 10 weeks.
        let last10 = 8766 + 7 * 94;
        for p in &s.products[360..] {
            let rows: Vec<_> = s
                .weekly_sales
                .iter()
                .filter(|w| w.product_id == p.product_id)
                .collect();
            assert_eq!(rows.len(), 10);
            assert!(rows.iter().all(|r| r.week_start >= last10));
        }
    }

    #[test]
    fn weekly_units_equal_order_lines() {
        for s in [default_shop(), &generate(&small_config(3))] {
            let n_weeks = s.weekly_sales.iter().map(|w| w.week_start).max().unwrap();
            let start = s.weekly_sales.iter().map(|w| w.week_start).min().unwrap();
            let nw = ((n_weeks - start) / 7 + 1) as usize;
            let np = s.products.len();
            let mut from_lines = vec![0i64; np * nw];
            let order_date: Vec<i32> = s.orders.iter().map(|o| o.order_date).collect();
            for l in &s.order_lines {
                let d = order_date[l.order_id as usize - 1];
                let w = ((d - start) / 7) as usize;
                from_lines[(l.product_id as usize - 1) * nw + w] += l.quantity as i64;
            }
            let mut from_weekly = vec![0i64; np * nw];
            for ws in &s.weekly_sales {
                let w = ((ws.week_start - start) / 7) as usize;
                from_weekly[(ws.product_id as usize - 1) * nw + w] += ws.units;
            }
            assert_eq!(from_lines, from_weekly);
        }
    }

    #[test]
    fn orders_consistent() {
        let s = default_shop();
        let price: std::collections::BTreeMap<(i64, i32), (f64, bool)> = s
            .weekly_sales
            .iter()
            .map(|w| ((w.product_id, w.week_start), (w.price, w.promo)))
            .collect();
        for (i, o) in s.orders.iter().enumerate() {
            assert_eq!(o.order_id, i as i64 + 1);
            if i > 0 {
                assert!(s.orders[i - 1].order_date <= o.order_date);
            }
        }
        let mut n_items = vec![0i32; s.orders.len()];
        let mut totals = vec![0.0f64; s.orders.len()];
        let mut prev = (0i64, 0i64);
        for l in &s.order_lines {
            assert!(l.quantity >= 1);
            assert!((l.order_id, l.product_id) > prev, "lines sorted and unique");
            prev = (l.order_id, l.product_id);
            let o = &s.orders[l.order_id as usize - 1];
            let week_start = 8766 + (o.order_date - 8766) / 7 * 7;
            let (p, promo) = price[&(l.product_id, week_start)];
            assert_eq!(p, l.unit_price);
            assert_eq!(promo, l.promo);
            n_items[l.order_id as usize - 1] += l.quantity;
            totals[l.order_id as usize - 1] += l.quantity as f64 * l.unit_price;
        }
        for (i, o) in s.orders.iter().enumerate() {
            assert_eq!(o.n_items, n_items[i]);
            assert!(
                (o.total - totals[i]).abs() < 0.005 + 1e-9,
                "order {}",
                i + 1
            );
            assert_eq!(round_cents(o.total), o.total);
        }
        // Signup before first order; ids ascending with signup.
        for w in s.customers.windows(2) {
            assert!(w[0].signup_date <= w[1].signup_date);
        }
        for o in &s.orders {
            let c = &s.customers[o.customer_id as usize - 1];
            assert!(c.signup_date <= o.order_date);
        }
    }

    #[test]
    fn segments_behave() {
        let s = default_shop();
        let end = 8766 + 7 * 104;
        // Churned customers do not buy in the last 10 weeks; others do.
        let mut late_buyer = vec![false; s.customers.len()];
        for o in &s.orders {
            if o.order_date >= end - 70 {
                late_buyer[o.customer_id as usize - 1] = true;
            }
        }
        for c in &s.customers {
            if c.segment == "churned" {
                assert!(!late_buyer[c.customer_id as usize - 1]);
            }
        }
        assert!(late_buyer.iter().filter(|&&b| b).count() > 800);
        // Bargain hunters buy a much larger share of their units on promotion.
        let mut promo_units = [0i64; 2];
        let mut all_units = [0i64; 2];
        for l in &s.order_lines {
            let o = &s.orders[l.order_id as usize - 1];
            let bh = (s.customers[o.customer_id as usize - 1].segment == "bargain_hunter") as usize;
            all_units[bh] += l.quantity as i64;
            if l.promo {
                promo_units[bh] += l.quantity as i64;
            }
        }
        let share_bh = promo_units[1] as f64 / all_units[1] as f64;
        let share_other = promo_units[0] as f64 / all_units[0] as f64;
        assert!(share_bh > 2.0 * share_other, "{share_bh} vs {share_other}");
        // Promotions in roughly 12 % of weeks.
        let promo_weeks =
            s.weekly_sales.iter().filter(|w| w.promo).count() as f64 / s.weekly_sales.len() as f64;
        assert!((0.10..0.14).contains(&promo_weeks), "{promo_weeks}");
    }

    /// Solves the normal equations of a small least-squares problem.
    #[allow(clippy::needless_range_loop)]
    fn ols(xs: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
        let k = xs[0].len();
        let mut a = vec![vec![0.0; k + 1]; k];
        for (x, &yy) in xs.iter().zip(y) {
            for r in 0..k {
                for c in 0..k {
                    a[r][c] += x[r] * x[c];
                }
                a[r][k] += x[r] * yy;
            }
        }
        for col in 0..k {
            let piv = (col..k)
                .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
                .unwrap();
            a.swap(col, piv);
            for r in 0..k {
                if r != col {
                    let f = a[r][col] / a[col][col];
                    for c in col..=k {
                        a[r][c] -= f * a[col][c];
                    }
                }
            }
        }
        (0..k).map(|r| a[r][k] / a[r][r]).collect()
    }

    #[test]
    fn elasticity_recoverable() {
        let s = default_shop();
        // The ten best-selling long-lived products.
        let mut idx: Vec<usize> = (0..360).collect();
        idx.sort_by(|&a, &b| {
            s.products[b]
                .base_weekly_units
                .total_cmp(&s.products[a].base_weekly_units)
        });
        let mut abs_err = 0.0;
        for &j in &idx[..10] {
            let p = &s.products[j];
            let rows: Vec<&WeeklySales> = s
                .weekly_sales
                .iter()
                .filter(|w| w.product_id == p.product_id && w.units > 0)
                .collect();
            let xs: Vec<Vec<f64>> = rows
                .iter()
                .map(|w| vec![1.0, w.price.ln(), w.promo as i32 as f64])
                .collect();
            let y: Vec<f64> = rows.iter().map(|w| (w.units as f64).ln()).collect();
            let beta = ols(&xs, &y);
            let err = (beta[1] - p.true_elasticity).abs();
            if j == idx[0] {
                assert!(err < 0.5, "slope {} vs true {}", beta[1], p.true_elasticity);
            }
            abs_err += err;
        }
        assert!(abs_err / 10.0 < 0.5, "mean abs error {}", abs_err / 10.0);
    }

    /// Item-kNN on the first 80 % of each customer's purchases beats popularity
    /// at recall@10 on the remaining 20 %.
    #[test]
    fn tastes_are_learnable() {
        let s = default_shop();
        let np = s.products.len();
        let nc = s.customers.len();
        let mut hist: Vec<Vec<usize>> = vec![Vec::new(); nc];
        for l in &s.order_lines {
            let c = s.orders[l.order_id as usize - 1].customer_id as usize - 1;
            hist[c].push(l.product_id as usize - 1);
        }
        let mut train: Vec<Vec<usize>> = Vec::with_capacity(nc);
        let mut test: Vec<Vec<usize>> = Vec::with_capacity(nc);
        for h in &hist {
            let cut = (h.len() * 4).div_ceil(5);
            let mut tr = h[..cut].to_vec();
            tr.sort_unstable();
            tr.dedup();
            let mut te: Vec<usize> = h[cut..]
                .iter()
                .copied()
                .filter(|p| tr.binary_search(p).is_err())
                .collect();
            te.sort_unstable();
            te.dedup();
            train.push(tr);
            test.push(te);
        }
        let mut cooc = vec![0.0f64; np * np];
        let mut pop = vec![0.0f64; np];
        for tr in &train {
            for &a in tr {
                pop[a] += 1.0;
                for &b in tr {
                    if a != b {
                        cooc[a * np + b] += 1.0;
                    }
                }
            }
        }
        for a in 0..np {
            for b in 0..np {
                let d = (pop[a] * pop[b]).sqrt();
                if d > 0.0 {
                    cooc[a * np + b] /= d;
                }
            }
        }
        let top10 = |scores: &[f64], exclude: &[usize]| -> Vec<usize> {
            let mut ids: Vec<usize> = (0..np)
                .filter(|p| exclude.binary_search(p).is_err())
                .collect();
            ids.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
            ids.truncate(10);
            ids
        };
        let (mut hits_knn, mut hits_pop, mut total) = (0usize, 0usize, 0usize);
        let mut scores = vec![0.0; np];
        for c in 0..nc {
            if train[c].len() < 3 || test[c].is_empty() {
                continue;
            }
            scores.iter_mut().for_each(|x| *x = 0.0);
            for &a in &train[c] {
                for b in 0..np {
                    scores[b] += cooc[a * np + b];
                }
            }
            let knn = top10(&scores, &train[c]);
            let popular = top10(&pop, &train[c]);
            total += test[c].len();
            hits_knn += test[c].iter().filter(|p| knn.contains(p)).count();
            hits_pop += test[c].iter().filter(|p| popular.contains(p)).count();
        }
        let r_knn = hits_knn as f64 / total as f64;
        let r_pop = hits_pop as f64 / total as f64;
        eprintln!("recall@10 knn {r_knn:.4} popularity {r_pop:.4}");
        assert!(
            r_knn > 1.5 * r_pop,
            "recall@10 knn {r_knn} vs popularity {r_pop}"
        );
    }

    #[test]
    fn degenerate_configs() {
        for cfg in [
            SampleShopConfig {
                n_customers: 0,
                ..small_config(1)
            },
            SampleShopConfig {
                n_products: 0,
                ..small_config(1)
            },
            SampleShopConfig {
                n_weeks: 0,
                ..small_config(1)
            },
            SampleShopConfig {
                n_customers: 1,
                n_products: 3,
                n_weeks: 5,
                ..small_config(1)
            },
        ] {
            let s = generate(&cfg);
            let units: i64 = s.weekly_sales.iter().map(|w| w.units).sum();
            let lines: i64 = s.order_lines.iter().map(|l| l.quantity as i64).sum();
            assert_eq!(units, lines);
            assert!(s.weekly_sales.len() <= cfg.n_products * cfg.n_weeks);
        }
    }
}
