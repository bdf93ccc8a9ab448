//! Read-only queries whose rows arrive straight from the executor.
//!
//! A query runs through SPI with a custom `DestReceiver`, so each row arrives as a tuple slot
//! and its values are read in place, through the [datum table](crate::pg::datum): no tuple is
//! copied into a result table, and no cursor fetch builds one. The query still goes through
//! the planner and executor, so views, privileges and row-level security apply as for any
//! SELECT. It runs read-only (no transaction id, the statement's snapshot), so it also works
//! in parallel workers and after the transaction has written.
//!
//! Every reader of rows uses [`scan`]: the trainers, `rfm`, the linear aggregate's result and
//! the catalog lookups ([`first_row`]). Memory allocated while converting a row (numeric →
//! float8, detoasting, output functions) goes to a context that is reset every few hundred
//! rows.

use std::ffi::c_int;

use pgrx::pg_sys;
use pgrx::prelude::*;
use shopml_core::data::cell::Cell;
use shopml_core::{Error, Result};

use crate::pg::datum::{self, Conv};

/// A query parameter.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    Text(&'a str),
    Int8(i64),
    Int4(i32),
    Bytea(&'a [u8]),
}

impl Param<'_> {
    fn type_and_datum(&self) -> (pg_sys::Oid, pg_sys::Datum) {
        match *self {
            Param::Text(t) => (
                pg_sys::TEXTOID,
                pg_sys::Datum::from(pgrx::rust_str_to_text_p(t).into_pg()),
            ),
            Param::Int8(v) => (pg_sys::INT8OID, pg_sys::Datum::from(v)),
            Param::Int4(v) => (pg_sys::INT4OID, pg_sys::Datum::from(v)),
            Param::Bytea(b) => (
                pg_sys::BYTEAOID,
                pg_sys::Datum::from(pgrx::rust_byte_slice_to_bytea(b).into_pg()),
            ),
        }
    }
}

/// How a scan may be planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Any plan, parallel workers included (rows may arrive in any order).
    Parallel,
    /// A serial plan: rows arrive in a fixed order (what a split by scan position needs).
    Serial,
    /// A serial plan under a new snapshot: it sees what other sessions committed since the
    /// statement began (for catalog reads after waiting on a row lock). Still a plain SELECT.
    Latest,
}

struct State<'f> {
    convs: Vec<Conv>,
    cells: Vec<Cell<'static>>,
    callback: &'f mut dyn FnMut(&[Cell]) -> Result<()>,
    error: Option<Error>,
    rows: u64,
    tmp: pg_sys::MemoryContext,
}

#[repr(C)]
struct Receiver {
    /// Must come first: the executor sees a `DestReceiver *`.
    base: pg_sys::DestReceiver,
    state: *mut State<'static>,
}

#[pg_guard]
unsafe extern "C-unwind" fn startup(
    dest: *mut pg_sys::DestReceiver,
    _operation: c_int,
    desc: pg_sys::TupleDesc,
) {
    // SAFETY: the executor passes the receiver made in `scan` and the result's descriptor.
    unsafe {
        let st = &mut *(*(dest as *mut Receiver)).state;
        let natts = (*desc).natts as usize;
        let attrs = super::version::attributes(desc);
        st.convs = attrs.iter().map(|a| Conv::of(a.atttypid)).collect();
        st.cells = vec![Cell::Null; natts];
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn receive(
    slot: *mut pg_sys::TupleTableSlot,
    dest: *mut pg_sys::DestReceiver,
) -> bool {
    // SAFETY: the executor passes a filled slot of the descriptor given to `startup`; cells
    // borrow the slot's values and the scan context, both alive until the callback returns.
    unsafe {
        let st = &mut *(*(dest as *mut Receiver)).state;
        pg_sys::slot_getallattrs(slot);
        let n = st.convs.len();
        let values = std::slice::from_raw_parts((*slot).tts_values, n);
        let nulls = std::slice::from_raw_parts((*slot).tts_isnull, n);
        let old = pg_sys::MemoryContextSwitchTo(st.tmp);
        for j in 0..n {
            st.cells[j] = if nulls[j] {
                Cell::Null
            } else {
                datum::cell(values[j], st.convs[j])
            };
        }
        let result = (st.callback)(&st.cells);
        pg_sys::MemoryContextSwitchTo(old);
        st.rows += 1;
        if st.rows.is_multiple_of(512) {
            pg_sys::MemoryContextReset(st.tmp);
        }
        if st.rows.is_multiple_of(8192) {
            pgrx::check_for_interrupts!();
        }
        match result {
            Ok(()) => true,
            Err(e) => {
                st.error = Some(e);
                false
            }
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn shutdown(_dest: *mut pg_sys::DestReceiver) {}

/// Runs read-only `query` with `params` ($1, $2, …) and calls `row` with the cells of each
/// row, at most `limit` rows (0: all). An error from `row` stops the scan and is returned.
/// Returns the number of rows read.
pub fn scan(
    query: &str,
    params: &[Param],
    plan: Plan,
    limit: u64,
    mut row: impl FnMut(&[Cell]) -> Result<()>,
) -> Result<u64> {
    let callback: &mut dyn FnMut(&[Cell]) -> Result<()> = &mut row;
    let sql =
        std::ffi::CString::new(query).map_err(|_| Error::internal("a query with a NUL byte"))?;
    Spi::connect(|_client| -> Result<u64> {
        // SAFETY: SPI is connected for this closure; the receiver and its state live on this
        // stack frame for the whole execution, the callback's lifetime is only widened for it,
        // and the memory context made here is deleted before returning.
        unsafe {
            let mut types: Vec<pg_sys::Oid> = Vec::with_capacity(params.len());
            let list = pg_sys::makeParamList(params.len() as i32);
            let slots = (*list).params.as_mut_slice(params.len());
            for (p, slot) in params.iter().zip(slots.iter_mut()) {
                let (ty, d) = p.type_and_datum();
                types.push(ty);
                *slot = pg_sys::ParamExternData {
                    value: d,
                    isnull: false,
                    pflags: pg_sys::PARAM_FLAG_CONST as u16,
                    ptype: ty,
                };
            }
            let options = match plan {
                Plan::Parallel => pg_sys::CURSOR_OPT_PARALLEL_OK as i32,
                Plan::Serial | Plan::Latest => 0,
            };
            let prepared = pg_sys::SPI_prepare_cursor(
                sql.as_ptr(),
                params.len() as i32,
                types.as_mut_ptr(),
                options,
            );
            if prepared.is_null() {
                let code = std::ptr::addr_of!(pg_sys::SPI_result).read();
                return Err(Error::internal(format!(
                    "could not plan a query (SPI code {code})"
                )));
            }
            let tmp = pg_sys::AllocSetContextCreateExtended(
                pg_sys::CurrentMemoryContext,
                c"shopml scan".as_ptr(),
                pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
            );
            let callback: &'static mut dyn FnMut(&[Cell]) -> Result<()> =
                std::mem::transmute(callback);
            let mut state = State {
                convs: Vec::new(),
                cells: Vec::new(),
                callback,
                error: None,
                rows: 0,
                tmp,
            };
            let mut receiver = Receiver {
                base: pg_sys::DestReceiver {
                    receiveSlot: Some(receive),
                    rStartup: Some(startup),
                    rShutdown: Some(shutdown),
                    rDestroy: Some(shutdown),
                    mydest: pg_sys::CommandDest::DestNone,
                },
                state: &mut state,
            };
            let exec = pg_sys::SPIExecuteOptions {
                params: list,
                // read_only false makes SPI take a new snapshot for the query.
                read_only: plan != Plan::Latest,
                tcount: limit,
                dest: &mut receiver.base,
                ..Default::default()
            };
            let rc = pg_sys::SPI_execute_plan_extended(prepared, &exec);
            pg_sys::MemoryContextDelete(tmp);
            pg_sys::SPI_freeplan(prepared);
            if let Some(e) = state.error.take() {
                return Err(e);
            }
            if rc < 0 {
                return Err(Error::internal(format!(
                    "a shopml query failed (SPI code {rc})"
                )));
            }
            Ok(state.rows)
        }
    })
}

/// A value copied out of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Num(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn of(c: &Cell) -> Value {
        match *c {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::Int(i),
            Cell::Num(x) => Value::Num(x),
            Cell::Text(t) => Value::Text(t.to_string()),
            Cell::Bytes(b) => Value::Bytes(b.to_vec()),
        }
    }
}

/// The first row of a read-only query (None when there is none).
pub fn first_row(query: &str, params: &[Param]) -> Result<Option<Vec<Value>>> {
    first_row_in(Plan::Parallel, query, params)
}

/// [`first_row`] planned as `plan` says.
pub fn first_row_in(plan: Plan, query: &str, params: &[Param]) -> Result<Option<Vec<Value>>> {
    let mut out = None;
    scan(query, params, plan, 1, |cells| {
        out = Some(cells.iter().map(Value::of).collect());
        Ok(())
    })?;
    Ok(out)
}
