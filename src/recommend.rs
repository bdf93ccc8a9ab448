//! SQL surface of recommendations: `train_recommender`, `recommend_for_user`, `similar_items`.
//!
//! Training reads (user, item, weight, time) rows with the row scan on the main thread, then
//! fits on the `shopml.threads` pool; between blocks of work the main thread checks for
//! interrupts and, during long fits, sends a progress NOTICE at most once a second.
#![forbid(unsafe_code)]

use pgrx::prelude::*;
use serde_json::{json, Map, Value};
use shopml_core::data::cell::Cell;
use shopml_core::data::keys::{KeyKind, Keys, RawKeys};
use shopml_core::recommend::als::AlsParams;
use shopml_core::recommend::interactions::{self, Interactions};
use shopml_core::recommend::model::{train, MethodParams, Recommender, RecommenderOptions};
use shopml_core::{Error, Result};

use crate::catalog::cache::{self, Typed};
use crate::catalog::Outcome;
use crate::pg::datum::Conv;
use crate::pg::error::{required, OrRaise};
use crate::pg::spi::{scan, Plan};
use crate::serve::keys::{check_kind, key_column, Key};
use crate::train;
use crate::train::budget::Budget;
use crate::train::pool;
use crate::train::progress::Progress;
use crate::train::reader::Skipped;
use crate::train::relation::{Column, Relation};
use crate::train::{Request, TrainerRow};

/// The SQL expression giving a time column as float8 (larger = later).
fn time_expr(c: &Column, rel: &Relation) -> Result<String> {
    let t = c.type_name.as_str();
    if c.conv == Conv::Date {
        Ok(format!("(({}) - date '2000-01-01')::float8", c.ident()))
    } else if c.conv == Conv::Timestamp {
        Ok(format!("extract(epoch from ({}))::float8", c.ident()))
    } else if c.is_number() {
        Ok(format!("({})::float8", c.ident()))
    } else {
        Err(Error::mismatch(format!(
            "time column \"{}\" of {} is of type {}, not a date, timestamp or number",
            c.name, rel.sql_name, t
        )))
    }
}

/// The reasons a row is skipped for.
const SKIPPED: Skipped<4> = Skipped::new([
    "NULL user or item",
    "NULL/NaN weight",
    "zero weight",
    "NULL time",
]);

struct Read {
    data: Interactions,
    rows: u64,
    skipped: Skipped<4>,
}

fn read_interactions(
    rel: &Relation,
    user: (KeyKind, String),
    item: (KeyKind, String),
    weight: Option<&Column>,
    time: Option<String>,
    budget: &Budget,
    progress: &mut Progress,
) -> Result<Read> {
    let per_row = interactions::memory_per_row(user.0 == KeyKind::Int);
    let query = format!(
        "SELECT {}, {}, {}, {} FROM {}",
        user.1,
        item.1,
        weight
            .map(|w| format!("({})::float8", w.ident()))
            .unwrap_or_else(|| "1::float8".into()),
        time.clone().unwrap_or_else(|| "NULL::float8".into()),
        rel.sql_name
    );
    let new_keys = |k: KeyKind| match k {
        KeyKind::Int => RawKeys::Int(Vec::new()),
        KeyKind::Text => RawKeys::Text(Vec::new()),
    };
    let mut users = new_keys(user.0);
    let mut items = new_keys(item.0);
    let mut weights: Vec<f32> = Vec::new();
    let mut times: Vec<f64> = Vec::new();
    let mut skipped = SKIPPED;
    let mut rows = 0u64;
    let mut negative: Option<f64> = None;
    let push = |keys: &mut RawKeys, c: &Cell| -> bool {
        match (keys, c) {
            (RawKeys::Int(v), Cell::Int(x)) => v.push(*x),
            (RawKeys::Text(v), Cell::Text(x)) => v.push(x.to_string()),
            _ => return false,
        }
        true
    };
    let result = scan(&query, &[], Plan::Serial, 0, |cells| {
        rows += 1;
        if rows.is_multiple_of(16384) {
            progress.rows_read(rows);
            budget.check(weights.len() * per_row, "the interactions read so far")?;
        }
        let (w, t) = (cells[2].number(), cells[3].number());
        if matches!(cells[0], Cell::Null) || matches!(cells[1], Cell::Null) {
            skipped.add("NULL user or item");
            return Ok(());
        }
        let keep = match w {
            Some(w) if w < 0.0 => {
                negative = Some(w);
                // Stop reading: the whole training is refused.
                return Err(Error::invalid("negative weight"));
            }
            None => {
                skipped.add("NULL/NaN weight");
                false
            }
            Some(0.0) => {
                skipped.add("zero weight");
                false
            }
            Some(_) if time.is_some() && t.is_none() => {
                skipped.add("NULL time");
                false
            }
            Some(_) => true,
        };
        if keep && push(&mut users, &cells[0]) {
            if !push(&mut items, &cells[1]) {
                truncate(&mut users, weights.len());
                skipped.add("NULL user or item");
                return Ok(());
            }
            weights.push(w.unwrap_or_default() as f32);
            if time.is_some() {
                times.push(t.unwrap_or_default());
            }
        }
        Ok(())
    });
    if let (Some(w), Some(c)) = (negative, weight) {
        return Err(Error::invalid(format!(
            "weight column \"{}\" of {} has a negative value ({w})",
            c.name, rel.sql_name
        ))
        .with_hint("Weights count interactions (purchases, clicks, quantities) and must be ≥ 0; filter or clamp them in a view."));
    }
    result?;
    let data = Interactions::build(users, items, weights, time.map(|_| times));
    Ok(Read {
        data,
        rows,
        skipped,
    })
}

fn truncate(k: &mut RawKeys, n: usize) {
    match k {
        RawKeys::Int(v) => v.truncate(n),
        RawKeys::Text(v) => v.truncate(n),
    }
}

fn train_inner(
    req: Request,
    user_column: Option<&str>,
    item_column: Option<&str>,
    weight_column: Option<&str>,
) -> Result<TrainerRow> {
    let (model_name, rel) = (req.model_name, &req.rel);
    rel.notice_rows_travel(model_name)?;
    let user_column = required(user_column, "user_column")?;
    let item_column = required(item_column, "item_column")?;
    let opts = RecommenderOptions::parse(req.options.as_ref())?;
    let user = key_column(rel, user_column, "user")?;
    let item = key_column(rel, item_column, "item")?;
    if user.0 != item.0 {
        return Err(Error::invalid(format!(
            "user column \"{user_column}\" and item column \"{item_column}\" must both be integers or both be text"
        ))
        .with_hint("Cast one of them in a view, e.g. SELECT customer_id::text AS customer_id, sku ..."));
    }
    if user_column == item_column {
        return Err(Error::invalid(
            "user_column and item_column must be different columns",
        ));
    }
    let weight = match weight_column {
        Some(w) => Some(rel.numeric_column(w, "weight")?.clone()),
        None => None,
    };
    let time = match &opts.time_column {
        Some(t) => Some(time_expr(rel.column(t)?, rel)?),
        None => None,
    };
    let key_kind = user.0;
    let budget = Budget::new(model_name);
    let mut progress = Progress::new(model_name);
    let read = read_interactions(
        rel,
        user,
        item,
        weight.as_ref(),
        time,
        &budget,
        &mut progress,
    )?;
    let data = &read.data;
    let used = read.rows - read.skipped.total();
    if data.n_users() < 2 || data.n_items() < 2 {
        return Err(Error::data(format!(
            "cannot train \"{model_name}\" on {}: it needs at least two users and two items",
            rel.sql_name
        ))
        .with_detail(format!(
            "{} rows read, {} skipped ({}); {} users and {} items remain.",
            read.rows,
            read.skipped.total(),
            read.skipped.detail(),
            data.n_users(),
            data.n_items()
        )));
    }

    let method = match opts.method.as_str() {
        "item_knn" => MethodParams::ItemKnn {
            neighbors: opts.neighbors,
        },
        _ => MethodParams::Als {
            params: AlsParams {
                factors: opts.factors,
                iterations: opts.iterations,
                regularization: opts.regularization.unwrap_or(10.0) as f32,
                alpha: opts.alpha as f32,
                cg_steps: opts.cg_steps,
                seed: opts.seed,
            },
            tune: opts.regularization.is_none(),
        },
    };
    let pool = pool::get()?;
    let (users, items, nnz) = (data.n_users(), data.n_items(), data.by_user.nnz());
    let model_bytes = method.memory_bytes(users, items, nnz, pool.current_num_threads());
    budget.check(model_bytes, "the model and its working copies")?;
    progress.stage("fitting", Some(opts.iterations));
    let t = train(
        data,
        &method,
        opts.test_fraction,
        opts.k,
        &pool,
        &mut progress,
    )?;

    let mut metrics = Map::new();
    metrics.insert("k".into(), json!(opts.k));
    if let Some((ours, base)) = &t.metrics {
        metrics.extend(ours.at_k());
        let mut b = base.at_k();
        b.insert("method".into(), json!("popularity"));
        metrics.insert("baseline".into(), Value::Object(b));
        metrics.insert(
            "ndcg_lift".into(),
            if base.ndcg > 0.0 {
                json!(ours.ndcg / base.ndcg)
            } else {
                Value::Null
            },
        );
        metrics.insert("test_users".into(), json!(ours.users));
    }
    metrics.insert("test_interactions".into(), json!(t.n_test_pairs));
    metrics.insert("pairs".into(), json!(data.by_user.nnz()));
    metrics.insert("skipped_rows".into(), json!(read.skipped.total()));
    if !t.tuning.is_empty() {
        metrics.insert(
            "tuning".into(),
            Value::Array(
                t.tuning
                    .iter()
                    .map(|(r, n)| json!({"regularization": r, "validation_ndcg": n}))
                    .collect(),
            ),
        );
    }
    let mut params = json!({
        "method": opts.method,
        "test_fraction": opts.test_fraction,
        "k": opts.k,
        "time_column": opts.time_column,
        "user_column": user_column,
        "item_column": item_column,
        "weight_column": weight_column,
        "key_type": key_kind.sql_name(),
    });
    if let (Some(p), Value::Object(o)) = (&t.als, &mut params) {
        o.insert("factors".into(), json!(p.factors));
        o.insert("iterations".into(), json!(p.iterations));
        o.insert("regularization".into(), json!(p.regularization));
        o.insert(
            "regularization_chosen".into(),
            json!(opts.regularization.is_none()),
        );
        o.insert("alpha".into(), json!(p.alpha));
        o.insert("cg_steps".into(), json!(p.cg_steps));
        o.insert("seed".into(), json!(p.seed));
    } else if let Value::Object(o) = &mut params {
        o.insert("neighbors".into(), json!(opts.neighbors));
    }
    let n_pairs = data.by_user.nnz() as i64;
    let columns = [Some(user_column), Some(item_column), weight_column];
    let columns = columns.into_iter().flatten().map(String::from).collect();
    let (n_test, metrics) = (t.n_test_pairs as i64, Value::Object(metrics));
    let outcome = Outcome::new(params, metrics, (n_pairs - n_test, n_test), opts.deploy);
    let saved = req.save(&t.model, None, columns, outcome)?;
    let (n_users, n_items) = (data.n_users() as i64, data.n_items() as i64);
    let counts = [
        ("n_users", n_users),
        ("n_items", n_items),
        ("n_interactions", used as i64),
    ];
    Ok(saved.showing(&counts))
}

train::trainer! {
    /// Trains an implicit-feedback recommender on a table or view of interactions.
    fn train_recommender(
        user_column: Option<&str>,
        item_column: Option<&str>,
        weight_column: default!(Option<&str>, "NULL"),
    ) -> (n_users, n_items, n_interactions)
        = train_inner(user_column, item_column, weight_column)
}

/// The deployed recommender of a name, checked for kind and key type.
fn load(model_name: Option<&str>, kind: KeyKind, function: &str) -> Result<Typed<Recommender>> {
    let model_name = required(model_name, "model_name")?;
    let r = cache::deployed_as::<Recommender>(model_name)?;
    check_kind(
        model_name,
        r.user_keys.kind(),
        kind,
        function,
        match function {
            "similar_items" => "item_id",
            "recommend_for_items" => "items[]",
            _ => "user_id",
        },
    )?;
    Ok(r)
}

fn check_k(k: Option<i32>) -> Result<usize> {
    match k {
        Some(k) if (1..=10_000).contains(&k) => Ok(k as usize),
        Some(k) => Err(Error::invalid(format!(
            "k must be between 1 and 10000, got {k}"
        ))),
        None => Err(Error::invalid("k must not be NULL")),
    }
}

type Ranked<K> = Vec<(K, f64, i32)>;

fn ranked<K: Key>(keys: &Keys, recs: Vec<(u32, f32)>) -> Ranked<K> {
    recs.into_iter()
        .enumerate()
        .map(|(n, (i, s))| (K::at(keys, i), s as f64, n as i32 + 1))
        .collect()
}

/// The sorted distinct indices of the known items among `items`.
fn item_indices<K: Key>(keys: &Keys, items: &[Option<K>]) -> Vec<u32> {
    let mut idx: Vec<u32> = items
        .iter()
        .flatten()
        .filter_map(|i| K::find(keys, i))
        .collect();
    idx.sort_unstable();
    idx.dedup();
    idx
}

fn recommend_rows<K: Key>(
    model_name: Option<&str>,
    user_id: Option<K>,
    k: Option<i32>,
    exclude_seen: Option<bool>,
    candidates: Option<Vec<Option<K>>>,
) -> Result<Ranked<K>> {
    let k = check_k(k)?;
    let r = load(model_name, K::KIND, "recommend_for_user")?;
    let user = user_id.and_then(|u| K::find(&r.user_keys, &u));
    let cands = candidates.map(|c| item_indices(&r.item_keys, &c));
    let pool = pool::get()?;
    let recs = r.recommend_on(
        user,
        k,
        exclude_seen.unwrap_or(true),
        cands.as_deref(),
        Some(&pool),
    );
    Ok(ranked(&r.item_keys, recs))
}

fn similar_rows<K: Key>(
    model_name: Option<&str>,
    item_id: Option<K>,
    k: Option<i32>,
) -> Result<Ranked<K>> {
    let k = check_k(k)?;
    let r = load(model_name, K::KIND, "similar_items")?;
    Ok(match item_id.and_then(|i| K::find(&r.item_keys, &i)) {
        Some(i) => ranked(&r.item_keys, r.similar(i, k)),
        None => Vec::new(),
    })
}

/// Top-k items for a user of a bigint-keyed model.
#[pg_extern(stable, parallel_safe)]
fn recommend_for_user(
    model_name: Option<&str>,
    user_id: Option<i64>,
    k: default!(Option<i32>, 10),
    exclude_seen: default!(Option<bool>, true),
    candidates: default!(Option<Vec<Option<i64>>>, "NULL"),
) -> TableIterator<'static, (name!(item_id, i64), name!(score, f64), name!(rank, i32))> {
    TableIterator::new(recommend_rows(model_name, user_id, k, exclude_seen, candidates).or_raise())
}

/// Top-k items for a user of a text- or uuid-keyed model.
#[pg_extern(stable, parallel_safe, name = "recommend_for_user")]
fn recommend_for_user_text(
    model_name: Option<&str>,
    user_id: Option<&str>,
    k: default!(Option<i32>, 10),
    exclude_seen: default!(Option<bool>, true),
    candidates: default!(Option<Vec<Option<String>>>, "NULL"),
) -> TableIterator<'static, (name!(item_id, String), name!(score, f64), name!(rank, i32))> {
    let user_id = user_id.map(String::from);
    TableIterator::new(recommend_rows(model_name, user_id, k, exclude_seen, candidates).or_raise())
}

/// Items most similar to an item of a bigint-keyed model (none for an unknown item).
#[pg_extern(stable, parallel_safe)]
fn similar_items(
    model_name: Option<&str>,
    item_id: Option<i64>,
    k: default!(Option<i32>, 10),
) -> TableIterator<'static, (name!(item_id, i64), name!(score, f64), name!(rank, i32))> {
    TableIterator::new(similar_rows(model_name, item_id, k).or_raise())
}

/// Items most similar to an item of a text- or uuid-keyed model.
#[pg_extern(stable, parallel_safe, name = "similar_items")]
fn similar_items_text(
    model_name: Option<&str>,
    item_id: Option<&str>,
    k: default!(Option<i32>, 10),
) -> TableIterator<'static, (name!(item_id, String), name!(score, f64), name!(rank, i32))> {
    TableIterator::new(similar_rows(model_name, item_id.map(String::from), k).or_raise())
}

/// Item indices and weights of a session's `items` (unknown and NULL items left out), with
/// `weights` one per item (finite, ≥ 0; NULL: 1 each).
fn session_items<K: Key>(
    keys: &Keys,
    items: &[Option<K>],
    weights: Option<&[Option<f64>]>,
) -> Result<Vec<(u32, f32)>> {
    if let Some(w) = weights {
        if w.len() != items.len() {
            return Err(Error::invalid(format!(
                "weights has {} entries for {} items: give one weight per item",
                w.len(),
                items.len()
            )));
        }
        if let Some(bad) = w
            .iter()
            .find(|v| !v.is_some_and(|v| v.is_finite() && v >= 0.0))
        {
            return Err(Error::invalid(format!(
                "weights must be finite numbers >= 0, got {}",
                bad.map_or("NULL".to_string(), |v| v.to_string())
            )));
        }
    }
    Ok(items
        .iter()
        .enumerate()
        .filter_map(|(n, item)| {
            let i = K::find(keys, item.as_ref()?)?;
            let w = weights.map_or(1.0, |w| w[n].unwrap_or(1.0));
            Some((i, w as f32))
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
fn items_rows<K: Key>(
    model_name: Option<&str>,
    items: Option<Vec<Option<K>>>,
    k: Option<i32>,
    exclude_given: Option<bool>,
    candidates: Option<Vec<Option<K>>>,
    weights: Option<Vec<Option<f64>>>,
) -> Result<Ranked<K>> {
    let k = check_k(k)?;
    let r = load(model_name, K::KIND, "recommend_for_items")?;
    let given = session_items(
        &r.item_keys,
        items.as_deref().unwrap_or(&[]),
        weights.as_deref(),
    )?;
    let cands = candidates.map(|c| item_indices(&r.item_keys, &c));
    let pool = pool::get()?;
    let name = model_name.unwrap_or_default();
    let recs = r
        .recommend_for_items(
            &given,
            k,
            exclude_given.unwrap_or(true),
            cands.as_deref(),
            Some(&pool),
        )
        .map_err(|e| Error {
            message: format!("model \"{name}\": {}", e.message),
            ..e
        })?;
    Ok(ranked(&r.item_keys, recs))
}

/// Top-k items for an anonymous session or a cart of a bigint-keyed model.
#[pg_extern(stable, parallel_safe)]
fn recommend_for_items(
    model_name: Option<&str>,
    items: Option<Vec<Option<i64>>>,
    k: default!(Option<i32>, 10),
    exclude_given: default!(Option<bool>, true),
    candidates: default!(Option<Vec<Option<i64>>>, "NULL"),
    weights: default!(Option<Vec<Option<f64>>>, "NULL"),
) -> TableIterator<'static, (name!(item_id, i64), name!(score, f64), name!(rank, i32))> {
    TableIterator::new(
        items_rows(model_name, items, k, exclude_given, candidates, weights).or_raise(),
    )
}

/// Top-k items for an anonymous session or a cart of a text- or uuid-keyed model.
#[pg_extern(stable, parallel_safe, name = "recommend_for_items")]
fn recommend_for_items_text(
    model_name: Option<&str>,
    items: Option<Vec<Option<String>>>,
    k: default!(Option<i32>, 10),
    exclude_given: default!(Option<bool>, true),
    candidates: default!(Option<Vec<Option<String>>>, "NULL"),
    weights: default!(Option<Vec<Option<f64>>>, "NULL"),
) -> TableIterator<'static, (name!(item_id, String), name!(score, f64), name!(rank, i32))> {
    TableIterator::new(
        items_rows(model_name, items, k, exclude_given, candidates, weights).or_raise(),
    )
}

fn factor_rows(model_name: Option<&str>, version: Option<i32>) -> Result<Vec<(String, Vec<f64>)>> {
    let model_name = required(model_name, "model_name")?;
    let m = cache::version(model_name, version)?;
    let r = shopml_core::model::downcast::<Recommender>(m.as_ref(), model_name)?;
    let shopml_core::recommend::model::Method::Als { k, items, .. } = &r.method else {
        return Err(Error::invalid(format!(
            "model \"{model_name}\" is an item-kNN recommender, which has no factors"
        ))
        .with_hint("Train with {\"method\": \"als\"} for item factors; similar_items serves item-kNN neighbours."));
    };
    Ok(items
        .chunks_exact(*k)
        .enumerate()
        .map(|(i, f)| {
            let key = match &r.item_keys {
                Keys::Int(_) => r.item_keys.int(i as u32).unwrap_or_default().to_string(),
                Keys::Text(_) => String::at(&r.item_keys, i as u32),
            };
            (key, f.iter().map(|v| f64::from(*v)).collect())
        })
        .collect())
}

crate::serve::table_function! {
    /// The item factors of an ALS recommender (its item embeddings).
    [stable, parallel_safe] fn item_factors(
        model_name: [Option<&str>],
        version: [default!(Option<i32>, "NULL")],
    ) -> (item_id: [String], factors: [Vec<f64>]) = factor_rows
}

fn explain_rows<K: Key>(
    model_name: Option<&str>,
    user_id: Option<K>,
    item_id: Option<K>,
    k: Option<i32>,
) -> Result<Vec<(K, f64, i32)>> {
    let k = check_k(k)?;
    let r = load(model_name, K::KIND, "explain_recommendation")?;
    let (Some(u), Some(i)) = (
        user_id.and_then(|u| K::find(&r.user_keys, &u)),
        item_id.and_then(|i| K::find(&r.item_keys, &i)),
    ) else {
        return Ok(Vec::new());
    };
    let (items, weights) = r.seen.row(u as usize);
    let given: Vec<(u32, f32)> = items.iter().copied().zip(weights.iter().copied()).collect();
    let name = model_name.unwrap_or_default();
    let parts = r.explain_item(&given, i).map_err(|e| Error {
        message: format!("model \"{name}\": {}", e.message),
        ..e
    })?;
    Ok(parts
        .into_iter()
        .take(k)
        .enumerate()
        .map(|(n, (j, c))| (K::at(&r.item_keys, j), c, n as i32 + 1))
        .collect())
}

/// The user's items behind a recommendation of a bigint-keyed model.
#[pg_extern(stable, parallel_safe)]
fn explain_recommendation(
    model_name: Option<&str>,
    user_id: Option<i64>,
    item_id: Option<i64>,
    k: default!(Option<i32>, 10),
) -> TableIterator<
    'static,
    (
        name!(item_id, i64),
        name!(contribution, f64),
        name!(rank, i32),
    ),
> {
    TableIterator::new(explain_rows(model_name, user_id, item_id, k).or_raise())
}

/// The user's items behind a recommendation of a text- or uuid-keyed model.
#[pg_extern(stable, parallel_safe, name = "explain_recommendation")]
fn explain_recommendation_text(
    model_name: Option<&str>,
    user_id: Option<&str>,
    item_id: Option<&str>,
    k: default!(Option<i32>, 10),
) -> TableIterator<
    'static,
    (
        name!(item_id, String),
        name!(contribution, f64),
        name!(rank, i32),
    ),
> {
    TableIterator::new(
        explain_rows(
            model_name,
            user_id.map(String::from),
            item_id.map(String::from),
            k,
        )
        .or_raise(),
    )
}
