//! `shopml.rfm`: recency, frequency and monetary scores and segments per customer.
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};
use serde_json::Value;
use shopml_core::segments::rfm::{quintile_scores, segment, RfmOptions};
use shopml_core::{Error, Result};

use crate::pg::datum::Conv;
use crate::pg::error::required;
use crate::pg::spi::{scan, Param, Plan};
use crate::serve::table_function;
use crate::train::relation::{relation_oid, Relation};

type RfmRow = (String, i32, i64, f64, i32, i32, i32, String);

fn rfm_rows(
    relation: Option<PgRelation>,
    customer_column: Option<&str>,
    date_column: Option<&str>,
    amount_column: Option<&str>,
    as_of: Option<pgrx::datum::Date>,
    options: Option<JsonB>,
) -> Result<Vec<RfmRow>> {
    let relation = relation_oid(relation);
    let options: Option<Value> = options.map(|j| j.0);
    let customer = required(customer_column, "customer_column")?.to_string();
    let date = required(date_column, "date_column")?.to_string();
    let amount = required(amount_column, "amount_column")?.to_string();
    let as_of = required(as_of, "as_of")?;
    if !as_of.is_finite() {
        return Err(Error::invalid("as_of must be a finite date"));
    }
    let opts = RfmOptions::parse(options.as_ref())?;
    let rel = Relation::open(relation)?;
    let c = rel.column(&customer)?;
    let d = rel.column(&date)?;
    if !matches!(d.conv, Conv::Date | Conv::Timestamp) {
        return Err(Error::mismatch(format!(
            "date column \"{}\" of {} is of type {}, not a date or timestamp",
            d.name, rel.sql_name, d.type_name
        )));
    }
    let a = rel.numeric_column(&amount, "amount")?;
    let frequency = match &opts.order_column {
        Some(o) => format!("count(DISTINCT ({}))", rel.column(o)?.ident()),
        None => "count(*)".to_string(),
    };
    let monetary = if opts.average { "avg" } else { "sum" };
    // Rows after as_of do not exist yet for an RFM "as of" that date.
    let query = format!(
        "SELECT ({c})::text, (('2000-01-01'::date + $1) - max(({d})::date))::int, {frequency}, \
         coalesce({monetary}(({a})::float8), 0) \
         FROM {rel} WHERE ({c}) IS NOT NULL AND ({d})::date <= '2000-01-01'::date + $1 GROUP BY 1 ORDER BY 1",
        c = c.ident(),
        d = d.ident(),
        a = a.ident(),
        rel = rel.sql_name
    );
    let mut rows: Vec<(String, i32, i64, f64)> = Vec::new();
    scan(
        &query,
        &[Param::Int4(as_of.to_pg_epoch_days())],
        Plan::Parallel,
        0,
        |cells| {
            rows.push((
                cells[0].category().unwrap_or_default().into_owned(),
                cells[1].number().unwrap_or_default() as i32,
                cells[2].number().unwrap_or_default() as i64,
                cells[3].number().unwrap_or_default(),
            ));
            Ok(())
        },
    )?;
    let recency: Vec<f64> = rows.iter().map(|r| r.1 as f64).collect();
    let freq: Vec<f64> = rows.iter().map(|r| r.2 as f64).collect();
    let money: Vec<f64> = rows.iter().map(|r| r.3).collect();
    let (rs, fs, ms) = (
        quintile_scores(&recency, true),
        quintile_scores(&freq, false),
        quintile_scores(&money, false),
    );
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, (id, r, f, m))| {
            (
                id,
                r,
                f,
                m,
                rs[i] as i32,
                fs[i] as i32,
                ms[i] as i32,
                segment(rs[i], fs[i], ms[i]).to_string(),
            )
        })
        .collect())
}

table_function! {
    /// Recency, frequency and monetary value per customer as of a date, their 1–5 scores and
    /// the RFM segment.
    [stable, parallel_safe] fn rfm(
        relation: [Option<PgRelation>],
        customer_column: [Option<&str>],
        date_column: [Option<&str>],
        amount_column: [Option<&str>],
        as_of: [default!(Option<pgrx::datum::Date>, "current_date")],
        options: [default!(Option<JsonB>, "'{}'")],
    ) -> (
        customer_id: [String], recency_days: [i32], frequency: [i64], monetary: [f64],
        r_score: [i32], f_score: [i32], m_score: [i32], segment: [String],
    ) = rfm_rows
}
