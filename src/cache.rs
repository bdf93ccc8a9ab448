//! Decoded models kept per backend, keyed by model id and row version.
//!
//! A model row never changes after training, so (model_id, xmin, ctid) names the same bytes for as
//! long as the row exists; the row version still guards against bytes rewritten by hand. The
//! name → id lookup happens once per statement (see `predict`), so a new deployment is seen by
//! the next statement while a running query keeps the version it started with.

use std::cell::RefCell;
use std::rc::Rc;

use pgrx::pg_sys;
use shopml_core::demand::DemandModel;
use shopml_core::forest_model::ForestModel;
use shopml_core::kmeans::KMeansModel;
use shopml_core::linear::LinearBundle;
use shopml_core::logistic::LogisticModel;
use shopml_core::recommend::Recommender;
use shopml_core::{envelope, Error, Result};

use crate::catalog;
use crate::guc::MODEL_CACHE_MB;

/// A model ready for prediction.
pub enum Loaded {
    Linear(LinearBundle),
    Recommender(Recommender),
    Demand(DemandModel),
    KMeans(KMeansModel),
    Logistic(LogisticModel),
    Forest(ForestModel),
}

impl Loaded {
    /// The algorithm name stored in the model's envelope.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Loaded::Linear(_) => shopml_core::linear::ALGORITHM,
            Loaded::Recommender(_) => shopml_core::recommend::ALGORITHM,
            Loaded::Demand(_) => shopml_core::demand::ALGORITHM,
            Loaded::KMeans(_) => shopml_core::kmeans::ALGORITHM,
            Loaded::Logistic(_) => shopml_core::logistic::ALGORITHM,
            Loaded::Forest(_) => shopml_core::forest_model::ALGORITHM,
        }
    }

    fn decode(model_name: &str, bytes: &[u8]) -> Result<Loaded> {
        let name_it = |mut e: Error| {
            e.message = format!("model \"{model_name}\": {}", e.message);
            e
        };
        let (header, _) = envelope::open(bytes).map_err(name_it)?;
        match header.algorithm.as_str() {
            shopml_core::linear::ALGORITHM => Ok(Loaded::Linear(
                shopml_core::linear::decode_bundle(bytes).map_err(name_it)?,
            )),
            shopml_core::recommend::ALGORITHM => {
                let mut r: Recommender =
                    envelope::decode(bytes, &header.algorithm).map_err(name_it)?;
                r.prepare();
                Ok(Loaded::Recommender(r))
            }
            shopml_core::logistic::ALGORITHM => Ok(Loaded::Logistic(
                envelope::decode(bytes, &header.algorithm).map_err(name_it)?,
            )),
            shopml_core::forest_model::ALGORITHM => {
                let f: shopml_core::forest_model::ForestModel =
                    envelope::decode(bytes, &header.algorithm).map_err(name_it)?;
                // Trees whose links were damaged could loop or index out of bounds.
                f.forest.validate().map_err(name_it)?;
                Ok(Loaded::Forest(f))
            }
            shopml_core::kmeans::ALGORITHM => Ok(Loaded::KMeans(
                envelope::decode(bytes, &header.algorithm).map_err(name_it)?,
            )),
            shopml_core::demand::ALGORITHM => Ok(Loaded::Demand(
                envelope::decode(bytes, &header.algorithm).map_err(name_it)?,
            )),
            other => Err(name_it(Error::corrupted(format!(
                "unknown algorithm \"{other}\" in model bytes"
            )))),
        }
    }
}

struct Entry {
    model_id: i64,
    row_version: String,
    model: Rc<Loaded>,
    size: usize,
    last_used: u64,
}

#[derive(Default)]
struct Cache {
    entries: Vec<Entry>,
    clock: u64,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The decoded model for (id, row version), from the cache or freshly read and decoded.
pub fn get(model_name: &str, model_id: i64, row_version: &str) -> Result<Rc<Loaded>> {
    let hit = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.clock += 1;
        let now = c.clock;
        c.entries
            .iter_mut()
            .find(|e| e.model_id == model_id && e.row_version == row_version)
            .map(|e| {
                e.last_used = now;
                e.model.clone()
            })
    });
    if let Some(m) = hit {
        return Ok(m);
    }
    let bytes = catalog::bytes(model_id)?;
    let model = Rc::new(Loaded::decode(model_name, &bytes)?);
    let limit = (MODEL_CACHE_MB.get().max(0) as usize) << 20;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.entries.retain(|e| e.model_id != model_id);
        c.clock += 1;
        let now = c.clock;
        // A model larger than the limit is still kept (alone): decoding it on every call of a
        // set query would cost far more than the memory. 0 turns the cache off.
        if limit > 0 {
            c.entries.push(Entry {
                model_id,
                row_version: row_version.to_string(),
                model: model.clone(),
                size: bytes.len(),
                last_used: now,
            });
        }
        // Evict least recently used entries beyond the limit (keeping the newest one).
        while c.entries.len() > 1 && c.entries.iter().map(|e| e.size).sum::<usize>() > limit {
            let oldest = c
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(i, _)| i);
            match oldest {
                Some(i) => {
                    c.entries.swap_remove(i);
                }
                None => break,
            }
        }
    });
    Ok(model)
}

/// The statement a memo belongs to: transaction and statement start, and command id.
fn statement_id() -> (i64, i64, u32) {
    // SAFETY: plain reads of the backend's transaction state.
    unsafe {
        (
            pg_sys::GetCurrentTransactionStartTimestamp(),
            pg_sys::GetCurrentStatementStartTimestamp(),
            pg_sys::GetCurrentCommandId(false),
        )
    }
}

struct Memo {
    statement: (i64, i64, u32),
    model_name: String,
    model: Rc<Loaded>,
}

thread_local! {
    static MEMO: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// [`deployed`], looked up once per statement: a set query calling a function for each of
/// 100k rows does one catalog lookup, and the next statement sees a new deployment.
pub fn deployed_in_statement(model_name: &str) -> Result<Rc<Loaded>> {
    let now = statement_id();
    let hit = MEMO.with(|m| {
        m.borrow()
            .as_ref()
            .filter(|m| m.statement == now && m.model_name == model_name)
            .map(|m| m.model.clone())
    });
    if let Some(model) = hit {
        return Ok(model);
    }
    let (_, model) = deployed(model_name)?;
    MEMO.with(|m| {
        *m.borrow_mut() = Some(Memo {
            statement: now,
            model_name: model_name.to_string(),
            model: model.clone(),
        })
    });
    Ok(model)
}

/// The deployed model of a name, for a serving function that takes one kind of model: 22023
/// naming the kind and its trainer otherwise. Looked up once per statement.
pub fn deployed_of_kind(
    model_name: &str,
    is_kind: fn(&Loaded) -> bool,
    kind: &str,
    trainer: &str,
) -> Result<Rc<Loaded>> {
    let m = deployed_in_statement(model_name)?;
    if !is_kind(&m) {
        return Err(Error::invalid(format!(
            "model \"{model_name}\" is a {} model, not {kind}",
            m.algorithm()
        ))
        .with_hint(format!("Train one with shopml.{trainer}.")));
    }
    Ok(m)
}

/// The deployed model of a name (one catalog lookup), decoded.
pub fn deployed(model_name: &str) -> Result<(i64, Rc<Loaded>)> {
    let (id, ver) = catalog::deployed(model_name)?;
    Ok((id, get(model_name, id, &ver)?))
}

/// A model by id (one catalog lookup), decoded.
pub fn by_id(model_id: i64) -> Result<(String, Rc<Loaded>)> {
    let (name, ver) = catalog::by_id(model_id)?;
    let m = get(&name, model_id, &ver)?;
    Ok((name, m))
}
