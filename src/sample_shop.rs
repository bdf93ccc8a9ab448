//! `shopml.load_sample_shop`: the bundled, deterministic sample shop as ordinary tables.
//!
//! The generator lives in `shopml_core::sample_shop`; this module only turns its rows into
//! tables. The same seed gives the same shop on every machine.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::rc::Rc;

use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use shopml_core::samples::shop::{generate, SampleShop, SampleShopConfig};

use crate::pg::error::OrRaise;

thread_local! {
    static SHOP: RefCell<Option<(i64, Rc<SampleShop>)>> = const { RefCell::new(None) };
}

/// The shop for a seed, generated once per backend.
fn shop(seed: i64) -> Rc<SampleShop> {
    SHOP.with(|s| {
        let mut s = s.borrow_mut();
        if let Some((k, shop)) = s.as_ref() {
            if *k == seed {
                return shop.clone();
            }
        }
        let shop = Rc::new(generate(&SampleShopConfig {
            seed: seed as u64,
            ..SampleShopConfig::default()
        }));
        *s = Some((seed, shop.clone()));
        shop
    })
}

#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::type_complexity)]
fn _sample_ads(
    seed: i64,
) -> TableIterator<
    'static,
    (
        name!(ad_id, i64),
        name!(product_id, i64),
        name!(bid, f64),
        name!(quality, f64),
    ),
> {
    let (ads, _) = shopml_core::samples::ads::generate(&shop(seed), seed as u64);
    TableIterator::new(
        ads.into_iter()
            .map(|a| (a.ad_id, a.product_id, a.bid, a.quality))
            .collect::<Vec<_>>(),
    )
}

#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::type_complexity)]
fn _sample_impressions(
    seed: i64,
) -> TableIterator<
    'static,
    (
        name!(impression_id, i64),
        name!(customer_id, i64),
        name!(ad_id, i64),
        name!(position, i32),
        name!(is_mobile, i32),
        name!(affinity, f64),
        name!(clicked, bool),
    ),
> {
    let (_, imps) = shopml_core::samples::ads::generate(&shop(seed), seed as u64);
    TableIterator::new(
        imps.into_iter()
            .map(|i| {
                (
                    i.impression_id,
                    i.customer_id,
                    i.ad_id,
                    i.position,
                    i.is_mobile,
                    i.affinity,
                    i.clicked,
                )
            })
            .collect::<Vec<_>>(),
    )
}

#[pg_extern(immutable, parallel_safe)]
fn _sample_categories(
    seed: i64,
) -> TableIterator<'static, (name!(category_id, i64), name!(name, String))> {
    let s = shop(seed);
    TableIterator::new(
        s.categories
            .iter()
            .map(|c| (c.category_id, c.name.clone()))
            .collect::<Vec<_>>(),
    )
}

#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::type_complexity)]
fn _sample_products(
    seed: i64,
) -> TableIterator<
    'static,
    (
        name!(product_id, i64),
        name!(name, String),
        name!(category_id, i64),
        name!(list_price, f64),
        name!(unit_cost, f64),
        name!(true_elasticity, f64),
        name!(base_weekly_units, f64),
    ),
> {
    let s = shop(seed);
    TableIterator::new(
        s.products
            .iter()
            .map(|p| {
                (
                    p.product_id,
                    p.name.clone(),
                    p.category_id,
                    p.list_price,
                    p.unit_cost,
                    p.true_elasticity,
                    p.base_weekly_units,
                )
            })
            .collect::<Vec<_>>(),
    )
}

#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::type_complexity)]
fn _sample_customers(
    seed: i64,
) -> TableIterator<
    'static,
    (
        name!(customer_id, i64),
        name!(region, String),
        name!(signup_day, i32),
        name!(segment, String),
    ),
> {
    let s = shop(seed);
    TableIterator::new(
        s.customers
            .iter()
            .map(|c| {
                (
                    c.customer_id,
                    c.region.clone(),
                    c.signup_date,
                    c.segment.clone(),
                )
            })
            .collect::<Vec<_>>(),
    )
}

#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::type_complexity)]
fn _sample_orders(
    seed: i64,
) -> TableIterator<
    'static,
    (
        name!(order_id, i64),
        name!(customer_id, i64),
        name!(order_day, i32),
        name!(n_items, i32),
        name!(total, f64),
    ),
> {
    let s = shop(seed);
    TableIterator::new(
        s.orders
            .iter()
            .map(|o| (o.order_id, o.customer_id, o.order_date, o.n_items, o.total))
            .collect::<Vec<_>>(),
    )
}

#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::type_complexity)]
fn _sample_order_items(
    seed: i64,
) -> TableIterator<
    'static,
    (
        name!(order_id, i64),
        name!(product_id, i64),
        name!(quantity, i32),
        name!(unit_price, f64),
        name!(promo, bool),
    ),
> {
    let s = shop(seed);
    TableIterator::new(
        s.order_lines
            .iter()
            .map(|l| (l.order_id, l.product_id, l.quantity, l.unit_price, l.promo))
            .collect::<Vec<_>>(),
    )
}

#[pg_extern(immutable, parallel_safe)]
#[allow(clippy::type_complexity)]
fn _sample_weekly_sales(
    seed: i64,
) -> TableIterator<
    'static,
    (
        name!(product_id, i64),
        name!(week_day, i32),
        name!(price, f64),
        name!(promo, bool),
        name!(units, i64),
    ),
> {
    let s = shop(seed);
    TableIterator::new(
        s.weekly_sales
            .iter()
            .map(|w| (w.product_id, w.week_start, w.price, w.promo, w.units))
            .collect::<Vec<_>>(),
    )
}

/// Creates (or re-creates) the sample shop's tables in a schema and reports their sizes.
#[pg_extern(volatile, parallel_unsafe)]
fn load_sample_shop(
    schema_name: default!(&str, "'shop'"),
    seed: default!(i64, 42),
) -> TableIterator<'static, (name!(table_name, String), name!(row_count, i64))> {
    if schema_name.trim().is_empty() {
        crate::pg::error::raise(shopml_core::Error::invalid("schema_name must not be empty"));
    }
    let s = quote_identifier(schema_name);
    let statements = [
        format!(
            "CREATE TABLE {s}.categories AS SELECT category_id, name FROM shopml._sample_categories($1)"
        ),
        format!(
            "CREATE TABLE {s}.products AS SELECT product_id, name, category_id, \
             list_price::numeric(10,2) AS list_price, unit_cost::numeric(10,2) AS unit_cost, \
             true_elasticity, base_weekly_units FROM shopml._sample_products($1)"
        ),
        format!(
            "CREATE TABLE {s}.customers AS SELECT customer_id, region, \
             DATE '2000-01-01' + signup_day AS signup_date, segment AS true_segment \
             FROM shopml._sample_customers($1)"
        ),
        format!(
            "CREATE TABLE {s}.orders AS SELECT order_id, customer_id, \
             DATE '2000-01-01' + order_day AS order_date, n_items, total::numeric(12,2) AS total \
             FROM shopml._sample_orders($1)"
        ),
        format!(
            "CREATE TABLE {s}.order_items AS SELECT order_id, product_id, quantity, \
             unit_price::numeric(10,2) AS unit_price, promo FROM shopml._sample_order_items($1)"
        ),
        format!(
            "CREATE TABLE {s}.weekly_sales AS SELECT product_id, DATE '2000-01-01' + week_day AS week_start, \
             price::numeric(10,2) AS price, promo, units FROM shopml._sample_weekly_sales($1)"
        ),
        format!(
            "CREATE TABLE {s}.ads AS SELECT ad_id, product_id, bid::numeric(6,2) AS bid, quality \
             FROM shopml._sample_ads($1)"
        ),
        format!(
            "CREATE TABLE {s}.impressions AS SELECT impression_id, customer_id, ad_id, \
             position::smallint AS position, is_mobile::smallint AS is_mobile, affinity, clicked \
             FROM shopml._sample_impressions($1)"
        ),
        format!("ALTER TABLE {s}.categories ADD PRIMARY KEY (category_id)"),
        format!("ALTER TABLE {s}.ads ADD PRIMARY KEY (ad_id)"),
        format!("ALTER TABLE {s}.impressions ADD PRIMARY KEY (impression_id)"),
        format!("COMMENT ON TABLE {s}.impressions IS 'shopml sample shop: ads shown to customers; clicked ~ Bernoulli(sigmoid(-3 + 4*affinity - 0.4*(position-1) + 0.3*is_mobile + quality)), affinity = the customer''s share of order lines in the ad''s category'"),
        format!("ALTER TABLE {s}.products ADD PRIMARY KEY (product_id)"),
        format!("ALTER TABLE {s}.customers ADD PRIMARY KEY (customer_id)"),
        format!("ALTER TABLE {s}.orders ADD PRIMARY KEY (order_id)"),
        format!("ALTER TABLE {s}.order_items ADD PRIMARY KEY (order_id, product_id)"),
        format!("ALTER TABLE {s}.weekly_sales ADD PRIMARY KEY (product_id, week_start)"),
        format!("COMMENT ON TABLE {s}.products IS 'shopml sample shop: products; true_elasticity and base_weekly_units are the generator''s hidden truth'"),
        format!("COMMENT ON TABLE {s}.customers IS 'shopml sample shop: customers; true_segment is the generator''s hidden truth'"),
        format!("COMMENT ON TABLE {s}.weekly_sales IS 'shopml sample shop: units sold per product and week (zero-unit weeks included)'"),
    ];
    let tables = [
        "categories",
        "products",
        "customers",
        "orders",
        "order_items",
        "weekly_sales",
        "ads",
        "impressions",
    ];
    Spi::connect_mut(|client| {
        let has_schema = client
            .select(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                None,
                &[schema_name.into()],
            )
            .or_raise()
            .first()
            .get_one::<bool>()
            .or_raise()
            .unwrap_or(false);
        if !has_schema {
            client
                .update(format!("CREATE SCHEMA {s}").as_str(), None, &[])
                .or_raise();
        }
        // Drop an earlier load (only tables that exist, so no NOTICEs).
        for t in tables.iter().rev() {
            let q = format!(
                "SELECT to_regclass({}) IS NOT NULL",
                pgrx::spi::quote_literal(format!("{s}.{t}"))
            );
            let exists = client
                .select(q.as_str(), None, &[])
                .or_raise()
                .first()
                .get_one::<bool>()
                .or_raise()
                .unwrap_or(false);
            if exists {
                client
                    .update(format!("DROP TABLE {s}.{t} CASCADE").as_str(), None, &[])
                    .or_raise();
            }
        }
        for q in &statements {
            client.update(q.as_str(), None, &[seed.into()]).or_raise();
        }
    });
    let counts: Vec<(String, i64)> = tables
        .iter()
        .map(|t| {
            let n = Spi::get_one::<i64>(&format!("SELECT count(*) FROM {s}.{t}"))
                .or_raise()
                .unwrap_or(0);
            (t.to_string(), n)
        })
        .collect();
    TableIterator::new(counts)
}
