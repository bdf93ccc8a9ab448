//! `shopml.load_sample_shop`: the bundled, deterministic sample shop as ordinary tables.
//!
//! The generator lives in `shopml_core::samples`; this module only turns its rows into tables,
//! passing each table's columns as array parameters of one `CREATE TABLE ... AS SELECT FROM
//! unnest(...)`. The same seed gives the same shop on every machine.
#![forbid(unsafe_code)]

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use shopml_core::samples::shop::{generate, SampleShopConfig};
use shopml_core::samples::{ads, search};

use crate::pg::error::OrRaise;

/// One column of a table: its name, the SQL that turns the array element into the column
/// (e.g. a date from a day number), the array's type and the values.
struct Column<'a> {
    name: &'static str,
    expr: &'static str,
    array_type: &'static str,
    rows: usize,
    values: DatumWithOid<'a>,
}

fn col<'a, T: IntoDatum + 'a>(
    name: &'static str,
    array_type: &'static str,
    values: Vec<T>,
) -> Column<'a> {
    col_as(name, "$", array_type, values)
}

/// A column whose value is `expr` with `$` standing for the array element.
fn col_as<'a, T: IntoDatum + 'a>(
    name: &'static str,
    expr: &'static str,
    array_type: &'static str,
    values: Vec<T>,
) -> Column<'a> {
    Column {
        name,
        expr,
        array_type,
        rows: values.len(),
        values: values.into(),
    }
}

/// A table of the shop: name, columns, primary key, comment.
struct Table<'a> {
    name: &'static str,
    columns: Vec<Column<'a>>,
    key: &'static str,
    comment: Option<&'static str>,
}

fn tables(seed: i64) -> Vec<Table<'static>> {
    let shop = generate(&SampleShopConfig {
        seed: seed as u64,
        ..SampleShopConfig::default()
    });
    let (ad_rows, imps) = ads::generate(&shop, seed as u64);
    let (sessions, results) = search::generate(&shop, seed as u64);
    let day = "DATE '2000-01-01' + $";
    let money = "$::numeric(10,2)";
    let cats = &shop.categories;
    let prods = &shop.products;
    let custs = &shop.customers;
    let orders = &shop.orders;
    let lines = &shop.order_lines;
    let weeks = &shop.weekly_sales;
    vec![
        Table {
            name: "categories",
            columns: vec![
                col("category_id", "int8", cats.iter().map(|c| c.category_id).collect()),
                col("name", "text", cats.iter().map(|c| c.name.clone()).collect()),
            ],
            key: "category_id",
            comment: None,
        },
        Table {
            name: "products",
            columns: vec![
                col("product_id", "int8", prods.iter().map(|p| p.product_id).collect()),
                col("name", "text", prods.iter().map(|p| p.name.clone()).collect()),
                col("category_id", "int8", prods.iter().map(|p| p.category_id).collect()),
                col_as("list_price", money, "float8", prods.iter().map(|p| p.list_price).collect()),
                col_as("unit_cost", money, "float8", prods.iter().map(|p| p.unit_cost).collect()),
                col("true_elasticity", "float8", prods.iter().map(|p| p.true_elasticity).collect()),
                col("base_weekly_units", "float8", prods.iter().map(|p| p.base_weekly_units).collect()),
            ],
            key: "product_id",
            comment: Some("shopml sample shop: products; true_elasticity and base_weekly_units are the generator''s hidden truth"),
        },
        Table {
            name: "customers",
            columns: vec![
                col("customer_id", "int8", custs.iter().map(|c| c.customer_id).collect()),
                col("region", "text", custs.iter().map(|c| c.region.clone()).collect()),
                col_as("signup_date", day, "int4", custs.iter().map(|c| c.signup_date).collect()),
                col("true_segment", "text", custs.iter().map(|c| c.segment.clone()).collect()),
            ],
            key: "customer_id",
            comment: Some("shopml sample shop: customers; true_segment is the generator''s hidden truth"),
        },
        Table {
            name: "orders",
            columns: vec![
                col("order_id", "int8", orders.iter().map(|o| o.order_id).collect()),
                col("customer_id", "int8", orders.iter().map(|o| o.customer_id).collect()),
                col_as("order_date", day, "int4", orders.iter().map(|o| o.order_date).collect()),
                col("n_items", "int4", orders.iter().map(|o| o.n_items).collect()),
                col_as("total", "$::numeric(12,2)", "float8", orders.iter().map(|o| o.total).collect()),
            ],
            key: "order_id",
            comment: None,
        },
        Table {
            name: "order_items",
            columns: vec![
                col("order_id", "int8", lines.iter().map(|l| l.order_id).collect()),
                col("product_id", "int8", lines.iter().map(|l| l.product_id).collect()),
                col("quantity", "int4", lines.iter().map(|l| l.quantity).collect()),
                col_as("unit_price", money, "float8", lines.iter().map(|l| l.unit_price).collect()),
                col("promo", "bool", lines.iter().map(|l| l.promo).collect()),
            ],
            key: "order_id, product_id",
            comment: None,
        },
        Table {
            name: "weekly_sales",
            columns: vec![
                col("product_id", "int8", weeks.iter().map(|w| w.product_id).collect()),
                col_as("week_start", day, "int4", weeks.iter().map(|w| w.week_start).collect()),
                col_as("price", money, "float8", weeks.iter().map(|w| w.price).collect()),
                col("promo", "bool", weeks.iter().map(|w| w.promo).collect()),
                col("units", "int8", weeks.iter().map(|w| w.units).collect()),
            ],
            key: "product_id, week_start",
            comment: Some("shopml sample shop: units sold per product and week (zero-unit weeks included)"),
        },
        Table {
            name: "ads",
            columns: vec![
                col("ad_id", "int8", ad_rows.iter().map(|a| a.ad_id).collect()),
                col("product_id", "int8", ad_rows.iter().map(|a| a.product_id).collect()),
                col_as("bid", "$::numeric(6,2)", "float8", ad_rows.iter().map(|a| a.bid).collect()),
                col("quality", "float8", ad_rows.iter().map(|a| a.quality).collect()),
            ],
            key: "ad_id",
            comment: None,
        },
        Table {
            name: "impressions",
            columns: vec![
                col("impression_id", "int8", imps.iter().map(|i| i.impression_id).collect()),
                col("customer_id", "int8", imps.iter().map(|i| i.customer_id).collect()),
                col("ad_id", "int8", imps.iter().map(|i| i.ad_id).collect()),
                col_as("position", "$::smallint", "int4", imps.iter().map(|i| i.position).collect()),
                col_as("is_mobile", "$::smallint", "int4", imps.iter().map(|i| i.is_mobile).collect()),
                col("affinity", "float8", imps.iter().map(|i| i.affinity).collect()),
                col("clicked", "bool", imps.iter().map(|i| i.clicked).collect()),
            ],
            key: "impression_id",
            comment: Some("shopml sample shop: ads shown to customers; clicked ~ Bernoulli(sigmoid(-3 + 4*affinity - 0.4*(position-1) + 0.3*is_mobile + quality)), affinity = the customer''s share of order lines in the ad''s category"),
        },
        Table {
            name: "search_sessions",
            columns: vec![
                col("session_id", "int8", sessions.iter().map(|s| s.session_id).collect()),
                col("customer_id", "int8", sessions.iter().map(|s| s.customer_id).collect()),
                col("category_id", "int8", sessions.iter().map(|s| s.category_id).collect()),
                col_as("searched_on", day, "int4", sessions.iter().map(|s| s.searched_on).collect()),
            ],
            key: "session_id",
            comment: Some("shopml sample shop: product searches in the last year; the query is the category searched"),
        },
        Table {
            name: "search_results",
            columns: vec![
                col("session_id", "int8", results.iter().map(|r| r.session_id).collect()),
                col("product_id", "int8", results.iter().map(|r| r.product_id).collect()),
                col_as("shown_position", "$::smallint", "int4", results.iter().map(|r| r.shown_position).collect()),
                col("clicked", "bool", results.iter().map(|r| r.clicked).collect()),
                col("purchased", "bool", results.iter().map(|r| r.purchased).collect()),
            ],
            key: "session_id, product_id",
            comment: Some("shopml sample shop: the products shown for each search, in random order; clicked when 2*[same category] + 3*affinity + 0.5*popularity - 1.2*ln(price / session median) + [bought before] - 3 + logistic noise > 0, then bought with probability sigmoid(utility - 1.5 - 0.8*ln(price / median))"),
        },
    ]
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
    let tables = tables(seed);
    let counts = Spi::connect_mut(|client| {
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
                .update(&format!("CREATE SCHEMA {s}"), None, &[])
                .or_raise();
        }
        // Drop an earlier load, newest table first (only tables that exist: no NOTICEs).
        for t in tables.iter().rev() {
            let exists = client
                .select(
                    "SELECT to_regclass($1) IS NOT NULL",
                    None,
                    &[format!("{s}.{}", t.name).into()],
                )
                .or_raise()
                .first()
                .get_one::<bool>()
                .or_raise()
                .unwrap_or(false);
            if exists {
                client
                    .update(&format!("DROP TABLE {s}.{} CASCADE", t.name), None, &[])
                    .or_raise();
            }
        }
        let mut counts = Vec::with_capacity(tables.len());
        for t in tables {
            let arrays: Vec<String> = t
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("${}::{}[]", i + 1, c.array_type))
                .collect();
            let select: Vec<String> = t
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{} AS {}", c.expr.replace('$', &format!("c{i}")), c.name))
                .collect();
            let aliases: Vec<String> = (0..t.columns.len()).map(|i| format!("c{i}")).collect();
            let query = format!(
                "CREATE TABLE {s}.{name} AS SELECT {} FROM unnest({}) AS u({})",
                select.join(", "),
                arrays.join(", "),
                aliases.join(", "),
                name = t.name,
            );
            let n = t.columns.first().map_or(0, |c| c.rows);
            let args: Vec<DatumWithOid> = t.columns.into_iter().map(|c| c.values).collect();
            client.update(&query, None, &args).or_raise();
            client
                .update(
                    &format!("ALTER TABLE {s}.{} ADD PRIMARY KEY ({})", t.name, t.key),
                    None,
                    &[],
                )
                .or_raise();
            if let Some(comment) = t.comment {
                client
                    .update(
                        &format!("COMMENT ON TABLE {s}.{} IS '{comment}'", t.name),
                        None,
                        &[],
                    )
                    .or_raise();
            }
            counts.push((t.name.to_string(), n as i64));
        }
        counts
    });
    TableIterator::new(counts)
}
