//! Plumbing for aggregates whose state is a Rust value behind `internal`.
//!
//! pgrx 0.18's `#[pg_aggregate]` generates a wrong deserialize function for `internal` states
//! (pgrx issue #2351), so the transition, combine, serialize, deserialize and final functions
//! are plain V1 C functions (see [`crate::pg::entry`]) and the aggregates are declared in SQL.
//! The state lives in the aggregate's memory context and is dropped with it; it is serialised
//! (postcard) only where Postgres moves it between parallel workers.

use pgrx::pg_sys;
use pgrx::PgMemoryContexts;
use serde::{de::DeserializeOwned, Serialize};
use shopml_core::Error;

use crate::pg::error::raise;
use crate::pg::fcinfo::Call;

/// A state that partial aggregations can be merged into.
pub trait AggState: Serialize + DeserializeOwned + Clone + 'static {
    fn merge(&mut self, other: &Self);
}

/// The aggregate memory context; an error when called outside an aggregate.
fn context(call: &Call) -> pg_sys::MemoryContext {
    let mut ctx: pg_sys::MemoryContext = std::ptr::null_mut();
    // SAFETY: AggCheckCallContext only inspects the call's context node.
    if unsafe { pg_sys::AggCheckCallContext(call.raw(), &mut ctx) } == 0 || ctx.is_null() {
        raise(Error::internal(
            "this shopml function can only be called as part of an aggregate",
        ));
    }
    ctx
}

/// The state in argument 0, made by `init` on the first row of a group. Returns the state
/// and the datum to return from the transition function. (The state belongs to the aggregate,
/// not to the call, so a shared call hands out its one mutable state.)
#[allow(clippy::mut_from_ref)]
pub fn state<T: AggState>(call: &Call, init: impl FnOnce() -> T) -> (&mut T, pg_sys::Datum) {
    if let Some(s) = existing::<T>(call, 0) {
        return (s, call.datum(0));
    }
    let ctx = context(call);
    let p = PgMemoryContexts::For(ctx).leak_and_drop_on_delete(init());
    // SAFETY: just allocated in the aggregate context, which outlives the group.
    (unsafe { &mut *p }, pg_sys::Datum::from(p))
}

/// The state argument at `i`, or None when it is NULL.
#[allow(clippy::mut_from_ref)]
fn existing<T: AggState>(call: &Call, i: usize) -> Option<&mut T> {
    if call.is_null(i) {
        None
    } else {
        // SAFETY: a non-NULL internal argument of these aggregates is always a `T` stored by
        // `state` or `deserialize` (the SQL declarations pair each function with its state).
        unsafe { call.datum(i).cast_mut_ptr::<T>().as_mut() }
    }
}

/// A state argument for a final or serialize function.
pub fn read<T: AggState>(call: &Call) -> Option<&T> {
    existing::<T>(call, 0).map(|s| &*s)
}

pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    postcard::to_stdvec(v)
        .unwrap_or_else(|e| raise(Error::internal(format!("aggregate state encode: {e}"))))
}

pub fn decode<T: DeserializeOwned>(b: &[u8]) -> T {
    postcard::from_bytes(b)
        .unwrap_or_else(|e| raise(Error::corrupted(format!("aggregate state is damaged: {e}"))))
}

/// combinefunc(internal, internal) -> internal
pub fn combine<T: AggState>(call: &Call) -> pg_sys::Datum {
    let ctx = context(call);
    let right = existing::<T>(call, 1).map(|r| r.clone());
    match (existing::<T>(call, 0), right) {
        (Some(l), Some(r)) => {
            l.merge(&r);
            call.datum(0)
        }
        (Some(_), None) => call.datum(0),
        (None, Some(r)) => {
            pg_sys::Datum::from(PgMemoryContexts::For(ctx).leak_and_drop_on_delete(r))
        }
        (None, None) => call.null(),
    }
}

/// serialfunc(internal) -> bytea
pub fn serialize<T: AggState>(call: &Call) -> pg_sys::Datum {
    match read::<T>(call) {
        Some(s) => call.bytea_result(&encode(s)),
        None => call.null(),
    }
}

/// deserialfunc(bytea, internal) -> internal
pub fn deserialize<T: AggState>(call: &Call) -> pg_sys::Datum {
    let ctx = context(call);
    if call.is_null(0) {
        return call.null();
    }
    let v: T = decode(call.bytes(0));
    pg_sys::Datum::from(PgMemoryContexts::For(ctx).leak_and_drop_on_delete(v))
}

/// The partial states that leave the server that computed them (a final function's result,
/// which postgres_fdw or Citus carries from a shard to the coordinator) start with this magic,
/// the format number and the shopml version that wrote them, so a coordinator can tell a
/// state it cannot read from a damaged one.
const PARTIAL_MAGIC: &[u8; 4] = b"SMLP";
/// Bumped whenever a shipped state's encoding changes; a reader refuses newer formats.
pub const PARTIAL_FORMAT: u8 = 1;

/// `bytes` with the partial-state header of `format` written by shopml `version`.
pub fn with_partial_header(format: u8, version: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 6 + version.len());
    out.extend_from_slice(PARTIAL_MAGIC);
    out.push(format);
    out.push(version.len().min(255) as u8);
    out.extend_from_slice(&version.as_bytes()[..version.len().min(255)]);
    out.extend_from_slice(bytes);
    out
}

/// The payload of a shipped partial state, after checking its header: XX001 for a damaged
/// state, or for one of a newer format naming the shopml version that wrote it.
pub fn partial_payload(b: &[u8]) -> Result<&[u8], Error> {
    let damaged =
        || Error::corrupted("a shopml partial aggregate state is damaged (no shopml header)");
    if b.len() < 6 || &b[..4] != PARTIAL_MAGIC {
        return Err(damaged());
    }
    let (format, vlen) = (b[4], b[5] as usize);
    let version = b.get(6..6 + vlen).ok_or_else(damaged)?;
    let version = String::from_utf8_lossy(version);
    if format > PARTIAL_FORMAT {
        return Err(Error::corrupted(format!(
            "a partial aggregate state of format {format} written by shopml {version}: this server's shopml {} reads format {PARTIAL_FORMAT} and older",
            env!("CARGO_PKG_VERSION")
        ))
        .with_hint(format!(
            "Update shopml on this server to {version} or later (ALTER EXTENSION shopml UPDATE after installing it), or install the same version on every shard."
        )));
    }
    Ok(&b[6 + vlen..])
}

/// finalfunc(internal) -> bytea of an aggregate whose result is a partial state to ship.
pub fn partial<T: AggState>(call: &Call) -> pg_sys::Datum {
    match read::<T>(call) {
        Some(s) => call.bytea_result(&with_partial_header(
            PARTIAL_FORMAT,
            env!("CARGO_PKG_VERSION"),
            &encode(s),
        )),
        None => call.null(),
    }
}

/// A shipped partial state, decoded (see [`partial`]).
pub fn decode_partial<T: DeserializeOwned>(b: &[u8]) -> Result<T, Error> {
    Ok(decode(partial_payload(b)?))
}
