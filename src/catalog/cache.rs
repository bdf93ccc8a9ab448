//! Decoded models kept per backend, keyed by model id and row version.
//!
//! A model row never changes after training, so (model_id, xmin, ctid) names the same bytes for as
//! long as the row exists; the row version still guards against bytes rewritten by hand. The
//! name → id lookup happens once per statement, so a new deployment is seen by the next
//! statement while a running query keeps the version it started with. Decoding goes through
//! the model registry ([`shopml_core::model::decode`]), which validates what it decodes.

use std::cell::RefCell;
use std::rc::Rc;

use shopml_core::model::{self, Model, Stored};
use shopml_core::{Error, Result};

use crate::catalog;
use crate::guc::MODEL_CACHE_MB;
use crate::pg::system::statement_id;

/// A decoded model, shared by the cache and the statements using it.
pub type Loaded = Rc<dyn Model>;

struct Entry {
    model_id: i64,
    row_version: String,
    model: Loaded,
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

/// Prefixes an error with the model's name (`model "m": ...`).
fn named(model_name: &str) -> impl Fn(Error) -> Error + '_ {
    move |mut e| {
        e.message = format!("model \"{model_name}\": {}", e.message);
        e
    }
}

/// The decoded model for (id, row version), from the cache or freshly read and decoded.
pub fn get(model_name: &str, model_id: i64, row_version: &str) -> Result<Loaded> {
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
    let model: Loaded = Rc::from(model::decode(&bytes).map_err(named(model_name))?);
    let limit = (MODEL_CACHE_MB.get().max(0) as usize) << 20;
    let size = model.memory_bytes().max(bytes.len());
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
                size,
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

struct Memo {
    statement: (i64, i64, u32),
    model_name: String,
    model: Loaded,
}

thread_local! {
    static MEMO: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// [`deployed`], looked up once per statement: a set query calling a function for each of
/// 100k rows does one catalog lookup, and the next statement sees a new deployment.
pub fn deployed_in_statement(model_name: &str) -> Result<Loaded> {
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

/// The deployed model of a name as a `T` (22023 naming what it is otherwise), looked up once
/// per statement. The model stays alive as long as the returned handle.
pub fn deployed_as<T: Stored>(model_name: &str) -> Result<Typed<T>> {
    let m = deployed_in_statement(model_name)?;
    model::downcast::<T>(m.as_ref(), model_name)?;
    Ok(Typed {
        model: m,
        _kind: std::marker::PhantomData,
    })
}

/// A loaded model known to be a `T`.
pub struct Typed<T> {
    model: Loaded,
    _kind: std::marker::PhantomData<T>,
}

impl<T: Stored> std::ops::Deref for Typed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.model
            .as_any()
            .downcast_ref::<T>()
            .expect("checked by deployed_as")
    }
}

/// The deployed model of a name (one catalog lookup), decoded.
pub fn deployed(model_name: &str) -> Result<(i64, Loaded)> {
    let (id, ver) = catalog::deployed(model_name)?;
    Ok((id, get(model_name, id, &ver)?))
}

/// A model by id (one catalog lookup), decoded.
pub fn by_id(model_id: i64) -> Result<(String, Loaded)> {
    let (name, ver) = catalog::by_id(model_id)?;
    let m = get(&name, model_id, &ver)?;
    Ok((name, m))
}

/// A model by name and version (the deployed one when `version` is None), decoded.
pub fn version(model_name: &str, version: Option<i32>) -> Result<Loaded> {
    match version {
        None => deployed(model_name).map(|(_, m)| m),
        Some(_) => {
            let id = catalog::resolve(model_name, version)?;
            by_id(id).map(|(_, m)| m)
        }
    }
}
