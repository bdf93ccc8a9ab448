//! SQL surface of pricing: `train_demand`, `demand_elasticities`, `optimal_price`,
//! `price_curve`, and the `sample_demand` generator.
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;
use shopml_core::data::cell::Cell;
use shopml_core::data::keys::{KeyKind, RawKeys};
use shopml_core::pricing::demand::{
    self, fit, DemandInput, DemandModel, DemandOptions, DemandTrainOptions,
};
use shopml_core::pricing::optimal::{optimal_price as choose, Objective, PriceOptions, Rules};
use shopml_core::samples::demand::{generate, DemandSampleConfig};
use shopml_core::{Error, ErrorKind, Result};

use crate::catalog::cache::{self, Typed};
use crate::catalog::Outcome;
use crate::pg::error::{required, OrRaise};
use crate::pg::spi::{scan, Plan};
use crate::serve::keys::{check_kind, key_column, Key};
use crate::serve::table_function;
use crate::train;
use crate::train::budget::Budget;
use crate::train::progress::Progress;
use crate::train::reader::Skipped;
use crate::train::relation::FeatureList;
use crate::train::{Request, TrainerRow};

/// The reasons a row is skipped for.
const SKIPPED: Skipped<4> = Skipped::new([
    "NULL product",
    "NULL or non-positive price",
    "NULL, negative or NaN quantity",
    "NULL or NaN control",
]);

fn train_inner(
    req: Request,
    product_column: Option<&str>,
    price_column: Option<&str>,
    quantity_column: Option<&str>,
    features: FeatureList,
) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    rel.notice_rows_travel(model_name)?;
    let product_column = required(product_column, "product_column")?.to_string();
    let price_column = required(price_column, "price_column")?.to_string();
    let quantity_column = required(quantity_column, "quantity_column")?.to_string();
    let opts = DemandTrainOptions::parse(req.options.as_ref())?;
    let (key_kind, product_expr) = key_column(rel, &product_column, "product")?;
    let price = rel.numeric_column(&price_column, "price")?;
    let quantity = rel.numeric_column(&quantity_column, "quantity")?;
    let mut controls = Vec::new();
    for f in features.unwrap_or_default() {
        let f = f.ok_or_else(|| Error::invalid("features must not contain NULL"))?;
        let c = rel.column(&f)?;
        if controls.iter().any(|(n, _): &(String, String)| *n == f) {
            return Err(Error::invalid(format!("feature \"{f}\" is listed twice")));
        }
        if [&product_column, &price_column, &quantity_column].contains(&&f) {
            return Err(Error::invalid(format!(
                "\"{f}\" is already the product, price or quantity column"
            )));
        }
        let expr = if c.is_number() {
            c.ident()
        } else {
            return Err(Error::mismatch(format!(
                "control \"{}\" of {} is of type {}, not a number or boolean",
                c.name, rel.sql_name, c.type_name
            )));
        };
        controls.push((f, expr));
    }
    let group = match &opts.group_by {
        Some(g) => Some(format!("({})::text", rel.column(g)?.ident())),
        None => None,
    };
    let q = controls.len();
    let query = format!(
        "SELECT {}, {}, {}, {}{} FROM {}",
        product_expr,
        price.ident(),
        quantity.ident(),
        group.clone().unwrap_or_else(|| "NULL::text".into()),
        controls
            .iter()
            .map(|(_, e)| format!(", {e}"))
            .collect::<String>(),
        rel.sql_name
    );
    let mut keys = match key_kind {
        KeyKind::Int => RawKeys::Int(Vec::new()),
        KeyKind::Text => RawKeys::Text(Vec::new()),
    };
    let mut prices = Vec::new();
    let mut quantities = Vec::new();
    let mut xs = Vec::new();
    let mut groups = Vec::new();
    let mut skipped = SKIPPED;
    let mut rows = 0u64;
    let mut x = vec![0.0; q];
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
    let per_row = demand::memory_per_row(q, key_kind == KeyKind::Int);
    scan(&query, &[], Plan::Serial, 0, |cells| {
        rows += 1;
        if rows.is_multiple_of(16384) {
            progress.rows_read(rows);
            budget.check(prices.len() * per_row, "the sales rows read so far")?;
        }
        let mut ok_x = true;
        for (j, v) in x.iter_mut().enumerate() {
            match cells[4 + j].number() {
                Some(f) => *v = f,
                None => ok_x = false,
            }
        }
        if matches!(cells[0], Cell::Null) {
            skipped.add("NULL product");
            return Ok(());
        }
        let Some(p) = cells[1].number().filter(|p| *p > 0.0) else {
            skipped.add("NULL or non-positive price");
            return Ok(());
        };
        let Some(y) = cells[2].number().filter(|y| *y >= 0.0) else {
            skipped.add("NULL, negative or NaN quantity");
            return Ok(());
        };
        if !ok_x {
            skipped.add("NULL or NaN control");
            return Ok(());
        }
        match (&mut keys, cells[0]) {
            (RawKeys::Int(v), Cell::Int(k)) => v.push(k),
            (RawKeys::Text(v), Cell::Text(k)) => v.push(k.to_string()),
            _ => {
                skipped.add("NULL product");
                return Ok(());
            }
        }
        prices.push(p);
        quantities.push(y);
        xs.extend_from_slice(&x);
        if group.is_some() {
            groups.push(cells[3].category().unwrap_or_default().into_owned());
        }
        Ok(())
    })?;
    if prices.is_empty() {
        return Err(Error::data(format!(
            "no usable rows to train \"{model_name}\" on {}",
            rel.sql_name
        ))
        .with_detail(format!("{rows} rows read; skipped: {}.", skipped.detail())));
    }
    let input = DemandInput {
        products: keys,
        price: prices,
        quantity: quantities,
        controls: xs,
        control_names: controls.iter().map(|(n, _)| n.clone()).collect(),
        groups: group.as_ref().map(|_| groups),
    };
    let model = fit(
        input,
        &DemandOptions {
            per_product_controls: opts.per_product_controls,
            shrinkage: opts.shrinkage,
            max_iterations: opts.max_iterations,
        },
        &mut progress,
    )
    .map_err(|mut e| {
        if e.kind == ErrorKind::DataException {
            e.message = format!(
                "cannot train \"{model_name}\" on {}: {}",
                rel.sql_name, e.message
            );
            e.detail = Some(format!("{rows} rows read; skipped: {}.", skipped.detail()));
        }
        e
    })?;
    let metrics = train::with(
        train::json(&model.metrics()),
        json!({"skipped_rows": skipped.total()}),
    );
    let params = json!({
        "product_column": product_column,
        "price_column": price_column,
        "quantity_column": quantity_column,
        "controls": if opts.per_product_controls { "per_product" } else { "shared" },
        "group_by": opts.group_by,
        "shrinkage": opts.shrinkage,
        "key_type": key_kind.sql_name(),
    });
    let n_obs = model.n_obs as i64;
    let mut features = vec![price_column.clone()];
    features.extend(model.control_names.iter().cloned());
    let outcome = Outcome::new(params, metrics, (n_obs, 0), opts.deploy);
    let saved = req.save(&model, Some(&quantity_column), features, outcome)?;
    Ok(saved.showing(&[
        ("n_products", model.products.len() as i64),
        ("n_obs", n_obs),
    ]))
}

train::trainer! {
    /// Fits per-product constant-elasticity demand on a table or view of sales.
    fn train_demand(
        product_column: Option<&str>,
        price_column: Option<&str>,
        quantity_column: Option<&str>,
        features: default!(Option<Vec<Option<String>>>, "'{}'"),
    ) -> (n_products, n_obs)
        = train_inner(product_column, price_column, quantity_column, features)
}

/// The deployed demand model of a name, checked for kind and key type.
fn load(
    model_name: Option<&str>,
    kind: Option<KeyKind>,
    function: &str,
) -> Result<Typed<DemandModel>> {
    let model_name = required(model_name, "model_name")?;
    let d = cache::deployed_as::<DemandModel>(model_name)?;
    if let Some(kind) = kind {
        check_kind(
            model_name,
            d.product_keys.kind(),
            kind,
            function,
            "product_id",
        )?;
    }
    Ok(d)
}

type ElasticityRow = (
    String,
    f64,
    f64,
    i64,
    bool,
    Option<f64>,
    Option<f64>,
    f64,
    i32,
    Option<String>,
);

fn elasticity_rows(model_name: Option<&str>) -> Result<Vec<ElasticityRow>> {
    let d = load(model_name, None, "demand_elasticities")?;
    Ok(d.products
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let key = match d.product_keys.kind() {
                KeyKind::Int => d.product_keys.int(i as u32).unwrap_or_default().to_string(),
                KeyKind::Text => d
                    .product_keys
                    .text(i as u32)
                    .unwrap_or_default()
                    .to_string(),
            };
            (
                key,
                p.elasticity,
                p.std_error,
                p.n_obs as i64,
                p.shrunk,
                p.raw_elasticity,
                p.raw_std_error,
                p.total_units,
                p.distinct_prices as i32,
                p.group.clone(),
            )
        })
        .collect())
}

table_function! {
    /// Per-product elasticities with standard errors; `shrunk` marks estimates that lean on the
    /// pool more than on the product's own data.
    [stable, parallel_safe] fn demand_elasticities(model_name: [Option<&str>]) -> (
        product_id: [String], elasticity: [f64], std_error: [f64], n_obs: [i64], shrunk: [bool],
        raw_elasticity: [Option<f64>], raw_std_error: [Option<f64>], total_units: [f64],
        distinct_prices: [i32], group_key: [Option<String>],
    ) = elasticity_rows
}

/// A product's index and the control values to price at.
fn product_and_controls<K: Key + std::fmt::Display>(
    model_name: &str,
    d: &DemandModel,
    product_id: Option<K>,
    at: &[(String, f64)],
) -> Result<(usize, Option<Vec<f64>>)> {
    let product_id = required(product_id, "product_id")?;
    let p = K::find(&d.product_keys, &product_id).ok_or_else(|| {
        Error::new(ErrorKind::UndefinedObject, format!("product {product_id} is not in demand model \"{model_name}\""),
        )
        .with_hint(format!(
            "Price only products the model knows, e.g. WHERE product_id::text IN (SELECT product_id FROM shopml.demand_elasticities('{model_name}'))."
        ))
    })? as usize;
    if at.is_empty() {
        return Ok((p, None));
    }
    let mut x = d.products[p].control_means.clone();
    for (name, v) in at {
        let j = d
            .control_names
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| {
                Error::invalid(format!(
                "option \"at\" names \"{name}\", which is not a control of model \"{model_name}\""
            ))
                .with_hint(format!("Controls: {}.", d.control_names.join(", ")))
            })?;
        x[j] = *v;
    }
    Ok((p, Some(x)))
}

/// Declares a function of one product twice, as overloads of one SQL name: for models keyed
/// by bigint (`product_id bigint`) and by text or uuid (`product_id text`). `rows(model_name,
/// product_id, <arguments>)` gives the result rows for either key type.
macro_rules! by_product_key {
    ($(#[$doc:meta])* $sql:literal: $int:ident, $text:ident($($arg:ident: [$($ty:tt)*]),*)
        -> ($($col:ident: [$($cty:tt)*]),*) = $rows:ident) => {
        $(#[$doc])*
        #[pg_extern(stable, parallel_safe, name = $sql)]
        #[allow(clippy::type_complexity, clippy::too_many_arguments)]
        fn $int(model_name: Option<&str>, product_id: Option<i64>, $($arg: $($ty)*),*)
            -> TableIterator<'static, ($(name!($col, $($cty)*),)*)> {
            TableIterator::new($rows(model_name, product_id, $($arg),*).or_raise())
        }

        $(#[$doc])*
        #[pg_extern(stable, parallel_safe, name = $sql)]
        #[allow(clippy::type_complexity, clippy::too_many_arguments)]
        fn $text(model_name: Option<&str>, product_id: Option<&str>, $($arg: $($ty)*),*)
            -> TableIterator<'static, ($(name!($col, $($cty)*),)*)> {
            let product_id = product_id.map(String::from);
            TableIterator::new($rows(model_name, product_id, $($arg),*).or_raise())
        }
    };
}

type PriceRow = (f64, f64, f64, Option<f64>, f64, Option<String>);

#[allow(clippy::too_many_arguments)]
fn optimal_rows<K: Key + std::fmt::Display>(
    model_name: Option<&str>,
    product_id: Option<K>,
    unit_cost: Option<f64>,
    min_price: Option<f64>,
    max_price: Option<f64>,
    options: Option<JsonB>,
) -> Result<Vec<PriceRow>> {
    let options = options.map(|j| j.0);
    let opts = PriceOptions::parse("optimal_price", options.as_ref(), true)?;
    let rules = Rules {
        min_price,
        max_price,
        min_margin: opts.min_margin,
        current_price: opts.current_price,
        max_change: opts.max_change,
    };
    rules.check(unit_cost)?;
    if unit_cost.is_none() && !opts.revenue {
        return Err(Error::invalid("unit_cost must not be NULL").with_hint(
            "Pass the product's unit cost; only objective \"revenue\" works without it.",
        ));
    }
    let d = load(model_name, Some(K::KIND), "optimal_price")?;
    let name = model_name.unwrap_or_default();
    let (p, at) = product_and_controls(name, &d, product_id, &opts.at)?;
    let e = d.products[p].elasticity;
    let objective = if opts.revenue {
        Objective::Revenue
    } else {
        Objective::Profit
    };
    let choice = choose(e, unit_cost, &rules, objective).map_err(|mut err| {
        err.message = format!(
            "product {}: {}",
            K::at(&d.product_keys, p as u32),
            err.message
        );
        err
    })?;
    let qty = d.expected_quantity(p, choice.price, at.as_deref());
    Ok(vec![(
        choice.price,
        qty,
        choice.price * qty,
        unit_cost.map(|c| (choice.price - c) * qty),
        e,
        choice.binding,
    )])
}

by_product_key! {
    /// The profit- (or revenue-) maximising price for a product.
    "optimal_price": optimal_price, optimal_price_text(
        unit_cost: [Option<f64>],
        min_price: [default!(Option<f64>, "NULL")],
        max_price: [default!(Option<f64>, "NULL")],
        options: [default!(Option<JsonB>, "'{}'")]
    ) -> (
        price: [f64], expected_quantity: [f64], expected_revenue: [f64],
        expected_profit: [Option<f64>], elasticity: [f64], binding: [Option<String>]
    ) = optimal_rows
}

type CurveRow = (f64, f64, f64, Option<f64>);

fn curve_rows<K: Key + std::fmt::Display>(
    model_name: Option<&str>,
    product_id: Option<K>,
    unit_cost: Option<f64>,
    from_price: Option<f64>,
    to_price: Option<f64>,
    steps: Option<i32>,
    options: Option<JsonB>,
) -> Result<Vec<CurveRow>> {
    let options = options.map(|j| j.0);
    let opts = PriceOptions::parse("price_curve", options.as_ref(), false)?;
    Rules::default().check(unit_cost)?;
    let (from, to) = match (from_price, to_price) {
        (Some(a), Some(b)) if a > 0.0 && b > a && b.is_finite() => (a, b),
        _ => {
            let show = |v: Option<f64>| v.map_or("NULL".to_string(), |x| x.to_string());
            return Err(Error::invalid(format!(
                "from_price and to_price must be positive with from_price < to_price, got {} and {}",
                show(from_price),
                show(to_price)
            )));
        }
    };
    let steps = match steps {
        Some(s) if (2..=10_000).contains(&s) => s as usize,
        other => {
            return Err(Error::invalid(format!(
                "steps must be between 2 and 10000, got {}",
                other.map_or("NULL".to_string(), |s| s.to_string())
            )))
        }
    };
    let d = load(model_name, Some(K::KIND), "price_curve")?;
    let (p, at) = product_and_controls(model_name.unwrap_or_default(), &d, product_id, &opts.at)?;
    Ok((0..steps)
        .map(|i| {
            let price = from + (to - from) * i as f64 / (steps - 1) as f64;
            let q = d.expected_quantity(p, price, at.as_deref());
            (price, q, price * q, unit_cost.map(|c| (price - c) * q))
        })
        .collect())
}

by_product_key! {
    /// Expected quantity, revenue and profit at `steps` evenly spaced prices.
    "price_curve": price_curve, price_curve_text(
        unit_cost: [Option<f64>],
        from_price: [Option<f64>],
        to_price: [Option<f64>],
        steps: [default!(Option<i32>, 20)],
        options: [default!(Option<JsonB>, "'{}'")]
    ) -> (
        price: [f64], expected_quantity: [f64], expected_revenue: [f64],
        expected_profit: [Option<f64>]
    ) = curve_rows
}

type DemandRow = (f64, f64, f64, f64);

/// Control values given as a JSON object of numbers or booleans.
fn control_values(controls: Option<&serde_json::Value>) -> Result<Vec<(String, f64)>> {
    match controls {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                let x = match v {
                    serde_json::Value::Bool(b) => Some(f64::from(u8::from(*b))),
                    other => other.as_f64(),
                };
                x.map(|x| (k.clone(), x)).ok_or_else(|| {
                    Error::invalid(format!(
                        "predict_demand: control \"{k}\" must be a number or boolean, got {v}"
                    ))
                })
            })
            .collect(),
        Some(other) => Err(Error::invalid(format!(
            "predict_demand: controls must be a JSON object of control values, got {other}"
        ))),
    }
}

fn demand_rows<K: Key + std::fmt::Display>(
    model_name: Option<&str>,
    product_id: Option<K>,
    price: Option<f64>,
    controls: Option<JsonB>,
    version: Option<i32>,
) -> Result<Vec<DemandRow>> {
    let name = required(model_name, "model_name")?;
    let price = match price {
        Some(p) if p > 0.0 && p.is_finite() => p,
        other => {
            return Err(Error::invalid(format!(
                "price must be a positive number, got {}",
                other.map_or("NULL".to_string(), |p| p.to_string())
            )))
        }
    };
    let at = control_values(controls.as_ref().map(|j| &j.0))?;
    let m = cache::version(name, version)?;
    let d = shopml_core::model::downcast::<DemandModel>(m.as_ref(), name)?;
    check_kind(
        name,
        d.product_keys.kind(),
        K::KIND,
        "predict_demand",
        "product_id",
    )?;
    let (p, x) = product_and_controls(name, d, product_id, &at)?;
    let mu = d.expected_quantity(p, price, x.as_deref());
    let product = &d.products[p];
    // 90 % of the expected units from the elasticity's standard error: exact at the product's
    // typical price, wider away from it.
    let z =
        1.644_853_626_951_472_2 * product.std_error * (price.ln() - product.mean_log_price).abs();
    Ok(vec![(
        mu,
        mu * (-z).exp(),
        mu * z.exp(),
        product.elasticity,
    )])
}

by_product_key! {
    /// Expected units of a product at a price (and controls), with a 90 % interval.
    "predict_demand": predict_demand, predict_demand_text(
        price: [Option<f64>],
        controls: [default!(Option<JsonB>, "NULL")],
        version: [default!(Option<i32>, "NULL")]
    ) -> (expected_units: [f64], low: [f64], high: [f64], elasticity: [f64]) = demand_rows
}

type SampleRow = (i64, i32, f64, bool, i64, f64, f64, f64);

fn sample_rows(n_products: i32, n_new: i32, weeks: i32, seed: i64) -> Result<Vec<SampleRow>> {
    if !(1..=1_000_000).contains(&n_products)
        || !(0..=n_products).contains(&n_new)
        || !(10..=520).contains(&weeks)
        || n_products as i64 * weeks as i64 > 20_000_000
    {
        return Err(Error::invalid(
            "sample_demand: n_products in 1..1000000, n_new in 0..n_products, weeks in 10..520, at most 20 million rows",
        ));
    }
    let (products, sales) = generate(&DemandSampleConfig {
        n_products: n_products as usize,
        n_new: n_new as usize,
        weeks: weeks as usize,
        new_weeks: 10,
        seed: seed as u64,
    });
    Ok(sales
        .into_iter()
        .map(|w| {
            let p = &products[w.product_id as usize - 1];
            (
                w.product_id,
                w.week,
                w.price,
                w.promo,
                w.units,
                p.true_elasticity,
                p.unit_cost,
                p.list_price,
            )
        })
        .collect())
}

table_function! {
    /// Weekly sales generated from known constant-elasticity demand (for tests and benchmarks).
    [immutable, parallel_safe] fn sample_demand(
        n_products: [default!(i32, 500)],
        n_new: [default!(i32, 100)],
        weeks: [default!(i32, 104)],
        seed: [default!(i64, 42)],
    ) -> (
        product_id: [i64], week: [i32], price: [f64], promo: [bool], units: [i64],
        true_elasticity: [f64], unit_cost: [f64], list_price: [f64],
    ) = sample_rows
}
