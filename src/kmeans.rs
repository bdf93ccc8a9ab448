//! SQL surface of k-means segments: `train_kmeans` and `segments` (`predict` gives the segment).
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use serde_json::json;
use shopml_core::data::prep::{Impute, Prep};
use shopml_core::segments::kmeans::{fit, KMeansModel, KMeansOptions, KMeansParams};
use shopml_core::{Error, Result};

use crate::catalog::cache;
use crate::catalog::Outcome;
use crate::pg::error::required;
use crate::serve::table_function;
use crate::train::budget::Budget;
use crate::train::pool;
use crate::train::progress::Progress;
use crate::train::reader::{read, Spec};
use crate::train::relation::FeatureList;
use crate::train::{self, Request, TrainerRow};

fn train_inner(req: Request, features: FeatureList, k: Option<i32>) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    let k = match k {
        Some(k) if (2..=10_000).contains(&k) => k as usize,
        other => {
            return Err(Error::invalid(format!(
                "k must be between 2 and 10000, got {}",
                other.map_or("NULL".to_string(), |k| k.to_string())
            )))
        }
    };
    let opts = KMeansOptions::parse(req.options.as_ref())?;
    let feats = rel.features(features, &[], &opts.pipeline.exclude)?;
    feats.notice_keys(model_name);
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
    let spec = Spec {
        rel,
        target: None,
        features: &feats.columns,
        split: &opts.pipeline.split,
        skip_missing: opts.prep.impute == Impute::Skip,
        bytes_per_row: shopml_core::segments::kmeans::memory_per_row(feats.columns.len()),
        filter: None,
        group: None,
    };
    let mut rows = read(&spec, &budget, &mut progress, |_| Ok(Some(())))?;
    let n = rows.raw.rows() as u64;
    if n == 0 {
        return Err(Error::data(format!(
            "no usable rows to train \"{model_name}\" on {}",
            rel.sql_name
        ))
        .with_detail(format!(
            "{} rows read, {} skipped for NULL, NaN or infinite values.",
            rows.read, rows.skipped
        )));
    }
    if (n as usize) < k {
        return Err(Error::invalid(format!(
            "k = {k} is more than the {n} usable rows of {} (model \"{model_name}\")",
            rel.sql_name
        ))
        .with_detail(format!(
            "{} rows read, {} skipped for NULL, NaN or infinite values, {n} usable.",
            rows.read, rows.skipped
        ))
        .with_hint("Choose k smaller than the number of rows."));
    }
    let prep = Prep::fit(&rows.raw, &opts.prep)?;
    if prep.hashed_inputs() > 0 {
        return Err(Error::invalid(format!(
            "a text feature of {} has more than max_categories = {} distinct values; k-means needs dense features",
            rel.sql_name, opts.prep.max_categories
        ))
        .with_hint("Raise max_categories (one-hot encodes up to that many values) or group rare values in a view."));
    }
    let train_part = std::mem::take(&mut rows.raw.train);
    let (x, _) = prep.transform(&rows.raw, train_part);
    drop(rows.raw);
    let params = KMeansParams {
        k,
        n_init: opts.n_init,
        max_iter: opts.max_iter,
        tol: opts.tol,
        seed: opts.seed,
        standardize: false,
    };
    let pool = pool::get()?;
    progress.stage("clustering", Some(opts.max_iter));
    let mut model = fit(x, prep.dense_names(), &params, &pool, &mut progress)?;
    model.prep = prep;
    let metrics = json!({
        "inertia": model.inertia,
        "inertia_per_row": model.inertia / n.max(1) as f64,
        "iterations": model.iterations,
        "sizes": model.sizes,
        "skipped_rows": rows.skipped,
        "standardized": opts.prep.standardize,
    });
    let params = json!({"k": k, "n_init": opts.n_init, "max_iter": opts.max_iter, "tol": opts.tol,
                        "seed": opts.seed, "preparation": model.prep.describe()});
    let outcome = Outcome::new(params, metrics, (n as i64, 0), opts.pipeline.deploy);
    req.save(&model, None, feats.names(), outcome)
}

train::trainer! {
    /// Segments the rows of a table or view into k groups by k-means.
    fn train_kmeans(features: Option<Vec<Option<String>>>, k: Option<i32>,)
        -> (n_train) = train_inner(features, k)
}

fn segment_rows(model_name: Option<&str>) -> Result<Vec<(i32, i64, String, f64)>> {
    let km = required(model_name, "model_name").and_then(cache::deployed_as::<KMeansModel>)?;
    let mut rows = Vec::new();
    for j in 0..km.k() {
        let mut c = km.centroid(j);
        km.prep.original_units(&mut c);
        for (f, c) in km.features.iter().zip(c) {
            rows.push((j as i32, km.sizes[j] as i64, f.clone(), c));
        }
    }
    Ok(rows)
}

table_function! {
    /// One row per segment and feature: the segment's size and centroid in the original units.
    [stable, parallel_safe] fn segments(model_name: [Option<&str>])
        -> (segment: [i32], size: [i64], feature: [String], centroid: [f64]) = segment_rows
}
