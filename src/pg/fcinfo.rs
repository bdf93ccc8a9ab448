//! One call of a V1 C function: its arguments, its result, and the memory its call site keeps
//! between calls (`fn_extra`).

use std::any::TypeId;

use pgrx::pg_sys;
use pgrx::{FromDatum, PgMemoryContexts};
use shopml_core::{Error, Result};

use crate::pg::datum::{self, Conv};
use crate::pg::error::raise;
use crate::pg::row::Record;

/// One value of a row that [`Call::table_result`] returns (float8, text or NULL).
pub enum Out {
    Null,
    Float(f64),
    Text(String),
}

/// A V1 call. Only [`crate::pg::entry`] makes one, from the `fcinfo` Postgres passed.
pub struct Call {
    fcinfo: pg_sys::FunctionCallInfo,
}

/// What `fn_extra` points to: one value per call site, of one type, dropped with the call
/// site's memory context.
struct SlotCell {
    type_id: TypeId,
    busy: bool,
    value: Box<dyn std::any::Any>,
}

impl Call {
    /// # Safety
    /// `fcinfo` must be the call information Postgres passed to the running V1 function.
    pub unsafe fn new(fcinfo: pg_sys::FunctionCallInfo) -> Call {
        Call { fcinfo }
    }

    pub(crate) fn raw(&self) -> pg_sys::FunctionCallInfo {
        self.fcinfo
    }

    fn args(&self) -> &[pg_sys::NullableDatum] {
        // SAFETY: a V1 call's fcinfo holds `nargs` initialised arguments.
        unsafe {
            let n = (*self.fcinfo).nargs as usize;
            std::slice::from_raw_parts((*self.fcinfo).args.as_ptr(), n)
        }
    }

    pub fn nargs(&self) -> usize {
        self.args().len()
    }

    pub fn is_null(&self, i: usize) -> bool {
        self.args()[i].isnull
    }

    /// Argument `i` as it came (for [`datum::cell`]).
    pub(crate) fn datum(&self, i: usize) -> pg_sys::Datum {
        self.args()[i].value
    }

    /// The declared type of argument `i` at this call site (for `"any"` arguments).
    pub fn arg_type(&self, i: usize) -> pg_sys::Oid {
        // SAFETY: flinfo is valid during the call; the function only reads the call's
        // expression tree.
        unsafe { pg_sys::get_fn_expr_argtype((*self.fcinfo).flinfo, i as i32) }
    }

    /// The SQL name of argument `i`'s type (for errors).
    pub fn arg_type_name(&self, i: usize) -> String {
        let ty = self.arg_type(i);
        // SAFETY: format_type_be returns a palloc'd C string for any type oid (or "???").
        unsafe { std::ffi::CStr::from_ptr(pg_sys::format_type_be(ty)) }
            .to_string_lossy()
            .into_owned()
    }

    /// Whether argument `i` is the same for every row of the statement (a constant or a
    /// parameter).
    pub fn arg_is_stable(&self, i: usize) -> bool {
        // SAFETY: as for `arg_type`.
        unsafe { pg_sys::get_fn_expr_arg_stable((*self.fcinfo).flinfo, i as i32) }
    }

    /// A float8 argument (by value).
    pub fn f64(&self, i: usize) -> f64 {
        f64::from_bits(self.datum(i).value() as u64)
    }

    /// An int4 argument (by value).
    pub fn i32(&self, i: usize) -> i32 {
        self.datum(i).value() as i32
    }

    /// An int8 argument (by value).
    pub fn i64(&self, i: usize) -> i64 {
        self.datum(i).value() as i64
    }

    /// A text argument.
    pub fn text(&self, i: usize) -> String {
        // SAFETY: the argument is a (possibly toasted) text datum by the function's signature.
        unsafe { datum::text(self.datum(i)).into_owned() }
    }

    /// A bytea argument's bytes.
    pub fn bytes(&self, i: usize) -> &[u8] {
        // SAFETY: the argument is a bytea by the function's signature; the detoasted copy lives
        // in the call's memory context, longer than `self` is borrowed.
        unsafe { datum::bytes(self.datum(i)) }
    }

    /// The bytes of bytea argument `i` to change in place: only when the function runs as an
    /// aggregate's transition or combine function (not a window aggregate) and the value is a
    /// plain, uncompressed 4-byte-header varlena, i.e. the aggregate's own state (PostgreSQL
    /// lets such a function modify its state argument and return it).
    #[allow(clippy::mut_from_ref)]
    pub fn bytea_in_place(&self, i: usize) -> Option<&mut [u8]> {
        if self.is_null(i) {
            return None;
        }
        // SAFETY: AggCheckCallContext only inspects the call's context node.
        let ctx = unsafe { pg_sys::AggCheckCallContext(self.fcinfo, std::ptr::null_mut()) };
        if ctx != pg_sys::AGG_CONTEXT_AGGREGATE as i32 {
            return None;
        }
        let p = self.datum(i).cast_mut_ptr::<u8>();
        // SAFETY: a non-NULL bytea argument points to a varlena; its first byte tells the
        // header kind (little-endian: 0b00 in the low bits = 4-byte header, uncompressed),
        // the first 4 bytes then hold the total size, and the value is the aggregate's state,
        // which this call may modify (see above) and nothing else refers to.
        unsafe {
            if p.is_null() || (*p & 0x03) != 0 {
                return None;
            }
            let size = (u32::from_le_bytes([*p, *p.add(1), *p.add(2), *p.add(3)]) >> 2) as usize;
            if size < 4 {
                return None;
            }
            Some(std::slice::from_raw_parts_mut(p.add(4), size - 4))
        }
    }

    /// Argument `i` as a cell, read according to `conv` (its type's entry of the datum table).
    pub fn cell(&self, i: usize, conv: Conv) -> shopml_core::data::cell::Cell<'_> {
        if self.is_null(i) {
            return shopml_core::data::cell::Cell::Null;
        }
        // SAFETY: `conv` was chosen from this argument's type.
        unsafe { datum::cell(self.datum(i), conv) }
    }

    /// A float8[] argument's elements (None when it holds a NULL); 42804 or 22023 for another
    /// element type or more than one dimension.
    pub fn float8_array(&self, i: usize) -> Result<Option<&[f64]>> {
        // SAFETY: the argument is an array by the function's signature; the elements are
        // checked to be float8 before they are read, and the detoasted array lives in the call's
        // memory context.
        unsafe {
            let v = pg_sys::pg_detoast_datum(self.datum(i).cast_mut_ptr());
            let arr = pgrx::array::RawArray::from_ptr(std::ptr::NonNull::new_unchecked(v.cast()));
            if arr.oid() != pg_sys::FLOAT8OID {
                return Err(Error::mismatch("expected a float8[] array"));
            }
            if arr.dims().len() > 1 {
                return Err(Error::invalid("expected a one-dimensional array"));
            }
            if arr.any_nulls() {
                return Ok(None);
            }
            let mut arr = arr;
            let data = arr.data::<f64>();
            Ok(Some(&*data.as_ptr()))
        }
    }

    /// A float8[] argument's elements with its NULLs (the slow path of an array that holds
    /// one); errors as [`Call::float8_array`].
    pub fn float8_array_nullable(&self, i: usize) -> Result<Vec<Option<f64>>> {
        // SAFETY: as float8_array: the argument is a float8[] (checked by float8_array first).
        unsafe {
            let arr = pgrx::Array::<f64>::from_polymorphic_datum(
                self.datum(i),
                false,
                pg_sys::FLOAT8ARRAYOID,
            );
            Ok(arr.map(|a| a.iter().collect()).unwrap_or_default())
        }
    }

    /// Runs `f` on arguments `from..` read as cells by `convs` (one entry per argument; a
    /// composite argument, which `rows` describes, adds one cell per column of its row). The
    /// cells live in a buffer reused from call to call, and only for `f`.
    pub fn with_arg_cells<R>(
        &self,
        from: usize,
        convs: &[Option<Conv>],
        rows: &mut Option<crate::pg::row::RowType>,
        f: impl FnOnce(&[shopml_core::data::cell::Cell]) -> R,
    ) -> R {
        use shopml_core::data::cell::Cell;
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<Cell<'static>>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        BUFFER.with(|b| {
            let mut guard = b.borrow_mut();
            let buf: &mut Vec<Cell<'static>> = &mut guard;
            buf.clear();
            for (i, conv) in (from..self.nargs()).zip(convs) {
                match conv {
                    Some(c) => {
                        let cell = self.cell(i, *c);
                        // SAFETY: the cell borrows this call's arguments, which outlive `f`;
                        // the buffer is cleared before the next call fills it.
                        buf.push(unsafe { std::mem::transmute::<Cell<'_>, Cell<'static>>(cell) });
                    }
                    None if self.is_null(i) => {
                        let n = rows.as_ref().map_or(0, |r| r.all_columns().len());
                        buf.extend(std::iter::repeat_n(Cell::Null, n));
                    }
                    None => {
                        let rec = self.record(i);
                        let stale = rows.as_ref().is_none_or(|r| !r.matches(&rec));
                        if stale {
                            *rows = Some(crate::pg::row::RowType::of(&rec, self.site_context()));
                        }
                        let rt = rows.as_ref().expect("set above");
                        for c in rt.all_columns() {
                            let cell = rt.cell(&rec, c);
                            // SAFETY: as above; the record is this call's argument.
                            buf.push(unsafe {
                                std::mem::transmute::<Cell<'_>, Cell<'static>>(cell)
                            });
                        }
                    }
                }
            }
            f(buf)
        })
    }

    /// A composite (row) argument.
    pub fn record(&self, i: usize) -> Record<'_> {
        // SAFETY: the argument is a composite datum by the function's signature (`record`).
        unsafe { Record::from_datum(self.datum(i)) }
    }

    /// Runs `f` with the value this call site keeps between calls (None the first time;
    /// set it to keep something). The value lives in the call site's memory context and is
    /// dropped with it.
    pub fn with_slot<T: 'static, R>(&self, f: impl FnOnce(&mut Option<T>) -> R) -> R {
        // SAFETY: fn_extra belongs to this call site; it is only ever set here, to a SlotCell
        // allocated in fn_mcxt (which outlives every call of the site). The busy flag refuses a
        // second, aliasing borrow.
        unsafe {
            let flinfo = (*self.fcinfo).flinfo;
            let mut cell = (*flinfo).fn_extra as *mut SlotCell;
            if cell.is_null() {
                let new = SlotCell {
                    type_id: TypeId::of::<T>(),
                    busy: false,
                    value: Box::new(None::<T>),
                };
                cell = PgMemoryContexts::For((*flinfo).fn_mcxt).leak_and_drop_on_delete(new);
                (*flinfo).fn_extra = cell.cast();
            }
            let cell = &mut *cell;
            if cell.type_id != TypeId::of::<T>() || cell.busy {
                raise(Error::internal("a call site's memory is already in use"));
            }
            cell.busy = true;
            let value = cell
                .value
                .downcast_mut::<Option<T>>()
                .expect("type checked above");
            // Cleared again even when `f` raises an ERROR (which unwinds through here).
            struct Release<'a>(&'a mut bool);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    *self.0 = false;
                }
            }
            let _release = Release(&mut cell.busy);
            f(value)
        }
    }

    /// The call site's memory context (for copies that must live as long as its slot).
    pub(crate) fn site_context(&self) -> pg_sys::MemoryContext {
        // SAFETY: flinfo is valid during the call.
        unsafe { (*(*self.fcinfo).flinfo).fn_mcxt }
    }

    /// Returns SQL NULL.
    pub fn null(&self) -> pg_sys::Datum {
        // SAFETY: sets the call's isnull flag, as a V1 function returning NULL must.
        unsafe { pgrx::fcinfo::pg_return_null(self.fcinfo) }
    }

    /// Returns a float8.
    pub fn float(&self, v: f64) -> pg_sys::Datum {
        pg_sys::Datum::from(v.to_bits())
    }

    /// Returns a text (palloc'd in the current memory context).
    pub fn text_result(&self, v: &str) -> pg_sys::Datum {
        pg_sys::Datum::from(pgrx::rust_str_to_text_p(v).into_pg())
    }

    /// Returns the rows of a set-returning function declared with `RETURNS TABLE` (or OUT
    /// parameters) of these column types, materialised in one tuplestore.
    pub fn table_result(&self, rows: &[Vec<Out>]) -> pg_sys::Datum {
        // SAFETY: InitMaterializedSRF checks that the caller accepts a materialised set (an
        // error otherwise) and leaves a tuplestore and its descriptor in the call's
        // ReturnSetInfo; tuplestore_putvalues copies each row's datums into it.
        unsafe {
            pg_sys::InitMaterializedSRF(self.fcinfo, 0);
            let rsinfo = (*self.fcinfo).resultinfo as *mut pg_sys::ReturnSetInfo;
            let natts = (*(*rsinfo).setDesc).natts as usize;
            for row in rows {
                if row.len() != natts {
                    raise(Error::internal(format!(
                        "a row of {} columns for a result of {natts}",
                        row.len()
                    )));
                }
                let mut values: Vec<pg_sys::Datum> = Vec::with_capacity(natts);
                let mut nulls: Vec<bool> = Vec::with_capacity(natts);
                for v in row {
                    let (d, null) = match v {
                        Out::Null => (pg_sys::Datum::from(0usize), true),
                        Out::Float(f) => (self.float(*f), false),
                        Out::Text(t) => (self.text_result(t), false),
                    };
                    values.push(d);
                    nulls.push(null);
                }
                pg_sys::tuplestore_putvalues(
                    (*rsinfo).setResult,
                    (*rsinfo).setDesc,
                    values.as_mut_ptr(),
                    nulls.as_mut_ptr(),
                );
            }
        }
        pg_sys::Datum::from(0usize)
    }

    /// Returns a bytea.
    pub fn bytea_result(&self, b: &[u8]) -> pg_sys::Datum {
        pg_sys::Datum::from(pgrx::rust_byte_slice_to_bytea(b).into_pg())
    }

    /// Returns a jsonb.
    pub fn jsonb_result(&self, v: serde_json::Value) -> pg_sys::Datum {
        use pgrx::IntoDatum;
        pgrx::JsonB(v).into_datum().unwrap_or_else(|| self.null())
    }
}
