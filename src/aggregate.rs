//! Plumbing for aggregates whose state is a Rust value behind `internal`.
//!
//! pgrx 0.18's `#[pg_aggregate]` generates a wrong deserialize function for `internal` states
//! (pgrx issue #2351), so the transition, combine, serialize, deserialize and final functions
//! are plain V1 C functions here and the aggregates are declared in SQL. The state lives in the
//! aggregate's memory context and is dropped with it; it is serialised (postcard) only where
//! Postgres moves it between parallel workers.

use pgrx::pg_sys;
use pgrx::PgMemoryContexts;
use serde::{de::DeserializeOwned, Serialize};
use shopml_core::Error;

use crate::error::raise;

/// A state that partial aggregations can be merged into.
pub trait AggState: Serialize + DeserializeOwned + Clone {
    fn merge(&mut self, other: &Self);
}

/// The aggregate memory context; an error when called outside an aggregate.
pub unsafe fn agg_context(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::MemoryContext {
    let mut ctx: pg_sys::MemoryContext = std::ptr::null_mut();
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut ctx) } == 0 || ctx.is_null() {
        raise(Error::internal(
            "this shopml function can only be called as part of an aggregate",
        ));
    }
    ctx
}

/// The arguments of a V1 call.
pub unsafe fn args<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a [pg_sys::NullableDatum] {
    unsafe {
        let nargs = (*fcinfo).nargs as usize;
        std::slice::from_raw_parts((*fcinfo).args.as_ptr(), nargs)
    }
}

/// Moves a state into the aggregate context; it is dropped when the context goes away.
pub unsafe fn store<T>(ctx: pg_sys::MemoryContext, v: T) -> pg_sys::Datum {
    let p = PgMemoryContexts::For(ctx).leak_and_drop_on_delete(v);
    pg_sys::Datum::from(p)
}

/// The state argument at `i`, or None when it is NULL.
pub unsafe fn state<'a, T>(a: &[pg_sys::NullableDatum], i: usize) -> Option<&'a mut T> {
    if a[i].isnull {
        None
    } else {
        unsafe { (a[i].value.cast_mut_ptr::<T>()).as_mut() }
    }
}

/// A palloc'd bytea holding `bytes`.
pub fn bytea(bytes: &[u8]) -> pg_sys::Datum {
    let b = pgrx::rust_byte_slice_to_bytea(bytes);
    pg_sys::Datum::from(b.into_pg())
}

/// The bytes of a (possibly toasted) bytea argument.
pub unsafe fn bytea_arg<'a>(d: pg_sys::Datum) -> &'a [u8] {
    unsafe {
        let v = pg_sys::pg_detoast_datum(d.cast_mut_ptr());
        pgrx::varlena_to_byte_slice(v)
    }
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
pub unsafe fn combine<T: AggState>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let ctx = agg_context(fcinfo);
        let a = args(fcinfo);
        let right = state::<T>(a, 1).map(|r| r.clone());
        match (state::<T>(a, 0), right) {
            (Some(l), Some(r)) => {
                l.merge(&r);
                a[0].value
            }
            (Some(_), None) => a[0].value,
            (None, Some(r)) => store(ctx, r),
            (None, None) => pgrx::fcinfo::pg_return_null(fcinfo),
        }
    }
}

/// serialfunc(internal) -> bytea
pub unsafe fn serialize<T: AggState>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let a = args(fcinfo);
        match state::<T>(a, 0) {
            Some(s) => bytea(&encode(s)),
            None => pgrx::fcinfo::pg_return_null(fcinfo),
        }
    }
}

/// deserialfunc(bytea, internal) -> internal
pub unsafe fn deserialize<T: AggState>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let ctx = agg_context(fcinfo);
        let a = args(fcinfo);
        if a[0].isnull {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        }
        let v: T = decode(bytea_arg(a[0].value));
        store(ctx, v)
    }
}

/// Declares the V1 info record Postgres looks up for a C function.
#[macro_export]
macro_rules! v1_function {
    ($finfo:ident) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            const V1: ::pgrx::pg_sys::Pg_finfo_record =
                ::pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
}
