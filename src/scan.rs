//! Reading a query's rows straight from the executor.
//!
//! The query runs through SPI with a custom `DestReceiver`, so each row arrives as a tuple slot
//! and its values are read in place: no tuple is copied into a result table, and no cursor
//! fetch builds one. The query still goes through the planner and executor, so views,
//! privileges and row-level security apply as for any SELECT.
//!
//! Each row is handed to a callback as [`Cell`]s: numbers (every numeric type and booleans as
//! 0/1), text (`text`, `varchar`, `char`), or NULL; other types must be cast in the query.
//! Memory allocated while converting a row (numeric → float8, detoasting) goes to a context that
//! is reset every few hundred rows.

use std::ffi::c_int;

use pgrx::pg_sys;
use pgrx::prelude::*;
use shopml_core::prep::Cell;
use shopml_core::{Error, Result};

use crate::budget::Budget;

#[derive(Clone, Copy, PartialEq)]
enum Ty {
    F8,
    F4,
    I2,
    I4,
    I8,
    Numeric,
    Bool,
    Text,
}

fn ty_of(oid: pg_sys::Oid) -> Option<Ty> {
    Some(match oid {
        pg_sys::FLOAT8OID => Ty::F8,
        pg_sys::FLOAT4OID => Ty::F4,
        pg_sys::INT2OID => Ty::I2,
        pg_sys::INT4OID => Ty::I4,
        pg_sys::INT8OID => Ty::I8,
        pg_sys::NUMERICOID => Ty::Numeric,
        pg_sys::BOOLOID => Ty::Bool,
        pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::BPCHAROID => Ty::Text,
        _ => return None,
    })
}

/// Whether values of this type are read natively (no cast needed in the query).
pub fn native(oid: pg_sys::Oid) -> bool {
    ty_of(oid).is_some()
}

struct State<'f> {
    types: Vec<Ty>,
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
    unsafe {
        let st = &mut *(*(dest as *mut Receiver)).state;
        let natts = (*desc).natts as usize;
        let attrs = (*desc).attrs.as_slice(natts);
        st.types = attrs
            .iter()
            .map(|a| {
                ty_of(a.atttypid).unwrap_or_else(|| {
                    pgrx::error!("shopml internal error: a scanned column has an unreadable type")
                })
            })
            .collect();
        st.cells = vec![Cell::Null; natts];
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn receive(
    slot: *mut pg_sys::TupleTableSlot,
    dest: *mut pg_sys::DestReceiver,
) -> bool {
    unsafe {
        let st = &mut *(*(dest as *mut Receiver)).state;
        pg_sys::slot_getallattrs(slot);
        let n = st.types.len();
        let values = std::slice::from_raw_parts((*slot).tts_values, n);
        let nulls = std::slice::from_raw_parts((*slot).tts_isnull, n);
        let old = pg_sys::MemoryContextSwitchTo(st.tmp);
        for j in 0..n {
            st.cells[j] = if nulls[j] {
                Cell::Null
            } else {
                let d = values[j];
                let raw = d.value();
                match st.types[j] {
                    Ty::F8 => Cell::Num(f64::from_bits(raw as u64)),
                    Ty::F4 => Cell::Num(f32::from_bits(raw as u32) as f64),
                    Ty::I2 => Cell::Num(raw as i16 as f64),
                    Ty::I4 => Cell::Num(raw as i32 as f64),
                    Ty::I8 => Cell::Num(raw as i64 as f64),
                    Ty::Bool => Cell::Num(f64::from(u8::from(raw & 0xff != 0))),
                    Ty::Numeric => Cell::Num(
                        pgrx::direct_function_call::<f64>(
                            pg_sys::numeric_float8_no_overflow,
                            &[Some(d)],
                        )
                        .unwrap_or(f64::NAN),
                    ),
                    Ty::Text => {
                        let v = pg_sys::pg_detoast_datum_packed(d.cast_mut_ptr());
                        let bytes: &'static [u8] = pgrx::varlena_to_byte_slice(v);
                        // The database encoding is UTF-8 in every supported setup; anything
                        // else is read as NULL rather than misread.
                        match std::str::from_utf8(bytes) {
                            Ok(s) => Cell::Text(s),
                            Err(_) => Cell::Null,
                        }
                    }
                }
            };
        }
        let result = (st.callback)(&st.cells);
        pg_sys::MemoryContextSwitchTo(old);
        st.rows += 1;
        if st.rows.is_multiple_of(512) {
            pg_sys::MemoryContextReset(st.tmp);
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

/// Runs `query` (no parameters) and calls `row` with the cells of every row. Checks for
/// interrupts and, every 16384 rows, the memory the caller holds (`bytes_per_row` times the
/// rows so far) against `budget`. An error from `row` stops the scan and is returned.
/// Returns the number of rows read.
pub fn scan(
    query: &str,
    budget: &Budget,
    bytes_per_row: usize,
    mut row: impl FnMut(&[Cell]) -> Result<()>,
) -> Result<u64> {
    let mut seen = 0u64;
    let mut counting = |cells: &[Cell]| -> Result<()> {
        seen += 1;
        if seen.is_multiple_of(16384) {
            pgrx::check_for_interrupts!();
            budget.check(seen as usize * bytes_per_row, "the rows read so far")?;
        }
        row(cells)
    };
    let callback: &mut dyn FnMut(&[Cell]) -> Result<()> = &mut counting;
    let rows = Spi::connect(|_client| -> Result<u64> {
        unsafe {
            let tmp = pg_sys::AllocSetContextCreateExtended(
                pg_sys::CurrentMemoryContext,
                c"shopml scan".as_ptr(),
                pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
            );
            // The callback only lives for this call; the receiver never outlives it.
            let callback: &'static mut dyn FnMut(&[Cell]) -> Result<()> =
                std::mem::transmute(callback);
            let mut state = State {
                types: Vec::new(),
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
            let options = pg_sys::SPIExecuteOptions {
                read_only: true,
                dest: &mut receiver.base,
                ..Default::default()
            };
            let c = std::ffi::CString::new(query).expect("query without NUL bytes");
            let rc = pg_sys::SPI_execute_extended(c.as_ptr(), &options);
            pg_sys::MemoryContextDelete(tmp);
            if let Some(e) = state.error.take() {
                return Err(e);
            }
            if rc < 0 {
                return Err(Error::internal(format!(
                    "the training query failed (SPI code {rc})"
                )));
            }
            Ok(state.rows)
        }
    })?;
    Ok(rows)
}
