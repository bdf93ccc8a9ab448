//! SQL surface of k-means segments: `train_kmeans` and `segments` (`predict` gives the segment).

use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};
use serde_json::{json, Value};
use shopml_core::kmeans::{fit, KMeansModel, KMeansParams, ALGORITHM};
use shopml_core::options::KMeansOptions;
use shopml_core::prep::{Impute, Kind, Prep, RawTable};
use shopml_core::{envelope, Error, Result};

use crate::budget::Budget;
use crate::cache::{self, Loaded};
use crate::catalog::{self, NewModel, Trained};
use crate::error::{required, OrRaise};
use crate::pool::{self, Interrupts};
use crate::relation::{relation_oid, Relation};
use crate::scan::scan;

fn train_inner(
    model_name: Option<&str>,
    relation: pg_sys::Oid,
    features: Option<Vec<Option<String>>>,
    k: Option<i32>,
    options: Option<Value>,
) -> Result<Trained> {
    let model_name = required(model_name, "model_name")?;
    catalog::check_name(model_name)?;
    let k = match k {
        Some(k) if (2..=10_000).contains(&k) => k as usize,
        other => {
            return Err(Error::invalid(format!(
                "k must be between 2 and 10000, got {}",
                other.map_or("NULL".to_string(), |k| k.to_string())
            )))
        }
    };
    let opts = KMeansOptions::parse(options.as_ref())?;
    let rel = Relation::open(relation);
    let feats = rel.features(features, &[])?;
    let query = format!(
        "SELECT {} FROM {}",
        feats
            .iter()
            .map(|f| f.scan_expr())
            .collect::<Vec<_>>()
            .join(", "),
        rel.sql_name
    );
    let budget = Budget::new(model_name);
    let names: Vec<String> = feats.iter().map(|f| f.name.clone()).collect();
    let kinds: Vec<Kind> = feats.iter().filter_map(|f| f.kind()).collect();
    let mut raw = RawTable::new(names.clone(), &kinds);
    let skip_nulls = opts.prep.impute == Impute::Skip;
    let mut skipped = 0u64;
    // The raw rows, their prepared copy and the distances of the seeding.
    let rows = scan(&query, &budget, kinds.len() * 8 * 3 + 8, |cells| {
        if skip_nulls && RawTable::has_null(cells) {
            skipped += 1;
        } else {
            raw.push(cells, false);
        }
        Ok(())
    })?;
    let n = raw.rows() as u64;
    if n == 0 {
        return Err(Error::data(format!(
            "no usable rows to train \"{model_name}\" on {}",
            rel.sql_name
        ))
        .with_detail(format!(
            "{rows} rows read, {skipped} skipped for NULL, NaN or infinite values."
        )));
    }
    if (n as usize) < k {
        return Err(Error::invalid(format!(
            "k = {k} is more than the {n} usable rows of {} (model \"{model_name}\")",
            rel.sql_name
        ))
        .with_detail(format!(
            "{rows} rows read, {skipped} skipped for NULL, NaN or infinite values, {n} usable."
        ))
        .with_hint("Choose k smaller than the number of rows."));
    }
    let prep = Prep::fit(&raw, &opts.prep)?;
    if prep.hashed_inputs() > 0 {
        return Err(Error::invalid(format!(
            "a text feature of {} has more than max_categories = {} distinct values; k-means needs dense features",
            rel.sql_name, opts.prep.max_categories
        ))
        .with_hint("Raise max_categories (one-hot encodes up to that many values) or group rare values in a view."));
    }
    let train_part = std::mem::take(&mut raw.train);
    let (x, _) = prep.transform(&raw, train_part);
    drop(raw);
    let params = KMeansParams {
        k,
        n_init: opts.n_init,
        max_iter: opts.max_iter,
        tol: opts.tol,
        seed: opts.seed,
        standardize: false,
    };
    let pool = pool::get()?;
    let mut model = fit(x, prep.dense_names(), &params, &pool, &mut Interrupts)?;
    model.prep = prep;
    let metrics = json!({
        "inertia": model.inertia,
        "inertia_per_row": model.inertia / n.max(1) as f64,
        "iterations": model.iterations,
        "sizes": model.sizes,
        "skipped_rows": skipped,
        "standardized": opts.prep.standardize,
    });
    let bytes = envelope::encode(ALGORITHM, &model)?;
    Ok(Trained::save(NewModel {
        model_name,
        algorithm: ALGORITHM,
        task: "segmentation",
        source: rel.sql_name.clone(),
        target: None,
        features: names.clone(),
        params: json!({"k": k, "n_init": opts.n_init, "max_iter": opts.max_iter, "tol": opts.tol,
                        "seed": opts.seed, "preparation": model.prep.describe()}),
        metrics,
        n_train: n as i64,
        n_test: 0,
        bytes,
        deploy: opts.deploy,
    }))
}

/// Segments the rows of a table or view into k groups by k-means.
#[pg_extern(volatile, parallel_unsafe)]
#[allow(clippy::type_complexity)]
fn train_kmeans(
    model_name: Option<&str>,
    relation: Option<PgRelation>,
    features: Option<Vec<Option<String>>>,
    k: Option<i32>,
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(model_id, i64),
        name!(model_name, String),
        name!(version, i32),
        name!(n_train, i64),
        name!(metrics, JsonB),
    ),
> {
    let oid = relation_oid(relation);
    let t = train_inner(model_name, oid, features, k, options.map(|j| j.0)).or_raise();
    TableIterator::once((
        t.model_id,
        model_name.unwrap_or_default().to_string(),
        t.version,
        t.n_train,
        JsonB(t.metrics),
    ))
}

fn load(model_name: Option<&str>) -> Result<std::rc::Rc<Loaded>> {
    cache::deployed_of_kind(
        required(model_name, "model_name")?,
        |m| matches!(m, Loaded::KMeans(_)),
        "a k-means model",
        "train_kmeans",
    )
}

fn kmeans(m: &Loaded) -> &KMeansModel {
    match m {
        Loaded::KMeans(k) => k,
        _ => unreachable!("checked by load"),
    }
}

/// One row per segment and feature: the segment's size and centroid in the original units.
#[pg_extern(stable, parallel_safe)]
#[allow(clippy::type_complexity)]
fn segments(
    model_name: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(segment, i32),
        name!(size, i64),
        name!(feature, String),
        name!(centroid, f64),
    ),
> {
    let m = load(model_name).or_raise();
    let km = kmeans(&m);
    let mut rows = Vec::new();
    for j in 0..km.k() {
        let mut c = km.centroid(j);
        km.prep.original_units(&mut c);
        for (f, c) in km.features.iter().zip(c) {
            rows.push((j as i32, km.sizes[j] as i64, f.clone(), c));
        }
    }
    TableIterator::new(rows)
}
