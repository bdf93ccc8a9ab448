//! SQL surface of k-means segments: `train_kmeans` and `segments` (`predict` gives the segment).

use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};
use serde_json::{json, Value};
use shopml_core::kmeans::{fit, KMeansModel, KMeansParams, ALGORITHM};
use shopml_core::options::KMeansOptions;
use shopml_core::{envelope, Error, Result};

use crate::budget::Budget;
use crate::cache::{self, Loaded};
use crate::catalog::{self, NewModel};
use crate::error::{required, OrRaise};
use crate::pool::{self, Interrupts};
use crate::relation::{for_each_float_row, relation_oid, Relation};

struct Trained {
    model_id: i64,
    version: i32,
    n_train: i64,
    metrics: Value,
}

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
        Some(k) if (1..=10_000).contains(&k) => k as usize,
        other => {
            return Err(Error::invalid(format!(
                "k must be between 1 and 10000, got {}",
                other.map_or("NULL".to_string(), |k| k.to_string())
            )))
        }
    };
    let opts = KMeansOptions::parse(options.as_ref())?;
    let rel = Relation::open(relation);
    let feats = rel.features(features, &[])?;
    let p = feats.len();
    let query = format!(
        "SELECT {} FROM {}",
        feats
            .iter()
            .map(|f| format!("({})::float8", f.ident()))
            .collect::<Vec<_>>()
            .join(", "),
        rel.sql_name
    );
    let budget = Budget::new(model_name);
    let mut x: Vec<f64> = Vec::new();
    // The rows, their standardised copy and the distances of the seeding.
    let (rows, skipped) =
        for_each_float_row(&query, p, &budget, p * 8 * 3, |r| x.extend_from_slice(r))?;
    let n = (x.len() / p.max(1)) as u64;
    if (n as usize) < k {
        return Err(Error::data(format!(
            "cannot train \"{model_name}\" on {}: k-means with k = {k} needs at least {k} usable rows",
            rel.sql_name
        ))
        .with_detail(format!(
            "{rows} rows read, {skipped} skipped for NULL, NaN or infinite values, {n} usable."
        )));
    }
    let names: Vec<String> = feats.iter().map(|f| f.name.clone()).collect();
    let params = KMeansParams {
        k,
        n_init: opts.n_init,
        max_iter: opts.max_iter,
        tol: opts.tol,
        seed: opts.seed,
        standardize: opts.standardize,
    };
    let pool = pool::get()?;
    let model = fit(x, names.clone(), &params, &pool, &mut Interrupts)?;
    let metrics = json!({
        "inertia": model.inertia,
        "inertia_per_row": model.inertia / n.max(1) as f64,
        "iterations": model.iterations,
        "sizes": model.sizes,
        "skipped_rows": skipped,
        "standardized": opts.standardize,
    });
    let bytes = envelope::encode(ALGORITHM, &model)?;
    let (model_id, version) = catalog::save(NewModel {
        model_name,
        algorithm: ALGORITHM,
        task: "segmentation",
        source: rel.sql_name.clone(),
        target: None,
        features: names,
        params: json!({"k": k, "n_init": opts.n_init, "max_iter": opts.max_iter, "tol": opts.tol,
                        "seed": opts.seed, "standardize": opts.standardize}),
        metrics: metrics.clone(),
        n_train: n as i64,
        n_test: 0,
        bytes,
        deploy: opts.deploy,
    });
    Ok(Trained {
        model_id,
        version,
        n_train: n as i64,
        metrics,
    })
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
        for (f, c) in km.features.iter().zip(km.centroid(j)) {
            rows.push((j as i32, km.sizes[j] as i64, f.clone(), c));
        }
    }
    TableIterator::new(rows)
}
