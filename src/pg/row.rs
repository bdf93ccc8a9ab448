//! Columns of a composite (row) value, read by name: a table row passed to `predict`, or the
//! `ROW(...)` of a wide training aggregate.

use std::ffi::CStr;
use std::marker::PhantomData;

use pgrx::pg_sys;
use shopml_core::data::cell::Cell;

use crate::pg::datum::{self, Conv};

/// A composite datum, detoasted (so its header is 4 bytes), for the duration of a call.
pub struct Record<'a> {
    htup: pg_sys::HeapTupleHeader,
    _call: PhantomData<&'a ()>,
}

impl Record<'_> {
    /// # Safety
    /// `d` must be a composite datum that lives for `'a`.
    pub(crate) unsafe fn from_datum(d: pg_sys::Datum) -> Self {
        // SAFETY: the caller passes a composite datum; detoasting gives a copy in the current
        // memory context when it was toasted.
        let htup = unsafe { pg_sys::pg_detoast_datum(d.cast_mut_ptr()) } as pg_sys::HeapTupleHeader;
        Record {
            htup,
            _call: PhantomData,
        }
    }

    /// The row type (type oid and typmod: a typmod ≥ 0 names an anonymous `ROW(...)` type).
    pub fn type_key(&self) -> (pg_sys::Oid, i32) {
        // SAFETY: a composite datum's header carries its type.
        unsafe {
            (
                (*self.htup).t_choice.t_datum.datum_typeid,
                (*self.htup).t_choice.t_datum.datum_typmod,
            )
        }
    }
}

/// A row type's columns: a private copy of its descriptor (no reference count to release),
/// kept in the memory context of whoever reads many rows of it.
#[derive(Clone)]
pub struct RowType {
    desc: pg_sys::TupleDesc,
    key: (pg_sys::Oid, i32),
    all: Vec<Column>,
}

/// Where one wanted column is in a row type, and how to read it.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub attnum: i16,
    pub conv: Conv,
}

impl RowType {
    /// The row type of `record`, its descriptor copied into `context` (a call site's memory).
    pub fn of(record: &Record, context: pg_sys::MemoryContext) -> RowType {
        let key = record.type_key();
        // SAFETY: copies the descriptor of a registered row type into a context that lives as
        // long as this value's owner; the copy needs no release.
        let desc = unsafe {
            let old = pg_sys::MemoryContextSwitchTo(context);
            let d = pg_sys::lookup_rowtype_tupdesc_copy(key.0, key.1);
            pg_sys::MemoryContextSwitchTo(old);
            d
        };
        let mut t = RowType {
            desc,
            key,
            all: Vec::new(),
        };
        t.all = t.read_columns();
        t
    }

    /// Whether `record` is of this row type.
    pub fn matches(&self, record: &Record) -> bool {
        self.key == record.type_key()
    }

    /// Every column, in order, with how to read it.
    pub fn all_columns(&self) -> &[Column] {
        &self.all
    }

    /// The descriptor's attributes (dropped ones included).
    fn attributes(&self) -> &[pg_sys::FormData_pg_attribute] {
        // SAFETY: the descriptor copy holds natts attributes and lives as long as `self`.
        unsafe { super::version::attributes(self.desc) }
    }

    fn read_columns(&self) -> Vec<Column> {
        self.attributes()
            .iter()
            .filter(|a| !a.attisdropped)
            .map(|a| Column {
                attnum: a.attnum,
                conv: Conv::of(a.atttypid),
            })
            .collect()
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<Column> {
        let position = self.attributes().iter().position(|a| {
            // SAFETY: attname is a NUL-terminated NameData.
            !a.attisdropped
                && unsafe { CStr::from_ptr(a.attname.data.as_ptr()) }.to_str() == Ok(name)
        })?;
        let attnum = self.attributes()[position].attnum;
        self.all.iter().find(|c| c.attnum == attnum).copied()
    }

    /// The cell of column `c` of `record` (which must be of this type).
    pub fn cell<'a>(&self, record: &'a Record, c: &Column) -> Cell<'a> {
        // SAFETY: `record` is of this row type (callers check `matches`), so the attribute
        // number and type are the descriptor's.
        unsafe {
            let mut tuple = pg_sys::HeapTupleData {
                t_len: pgrx::varlena::varsize(record.htup as *const pg_sys::varlena) as u32,
                t_self: pg_sys::ItemPointerData::default(),
                t_tableOid: pg_sys::Oid::INVALID,
                t_data: record.htup,
            };
            let mut isnull = false;
            let d = pg_sys::heap_getattr(&mut tuple, i32::from(c.attnum), self.desc, &mut isnull);
            if isnull {
                Cell::Null
            } else {
                datum::cell(d, c.conv)
            }
        }
    }
}
