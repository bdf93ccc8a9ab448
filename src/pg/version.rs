//! Where PostgreSQL major versions differ in the structures shopml reads. Every `cfg` on a
//! `pg1x` feature lives here; the rest of the FFI layer calls these helpers.

use pgrx::pg_sys;

/// The attributes of a tuple descriptor (dropped ones included), in column order.
///
/// # Safety
/// `desc` must point to a valid tuple descriptor that outlives the returned slice.
pub unsafe fn attributes<'a>(desc: pg_sys::TupleDesc) -> &'a [pg_sys::FormData_pg_attribute] {
    // SAFETY: the caller guarantees `desc` is valid for 'a; natts counts its attributes.
    unsafe {
        let natts = (*desc).natts as usize;
        attrs_of(desc, natts)
    }
}

#[cfg(any(feature = "pg15", feature = "pg16"))]
unsafe fn attrs_of<'a>(
    desc: pg_sys::TupleDesc,
    natts: usize,
) -> &'a [pg_sys::FormData_pg_attribute] {
    // SAFETY: up to PostgreSQL 17 the attributes are the descriptor's trailing array.
    unsafe { (*desc).attrs.as_slice(natts) }
}

#[cfg(feature = "pg18")]
unsafe fn attrs_of<'a>(
    desc: pg_sys::TupleDesc,
    natts: usize,
) -> &'a [pg_sys::FormData_pg_attribute] {
    // SAFETY: from PostgreSQL 18 the descriptor holds natts CompactAttribute entries and the
    // full attributes follow them (TupleDescAttr in tupdesc.h computes the same address).
    unsafe {
        let first = (*desc)
            .compact_attrs
            .as_ptr()
            .add(natts)
            .cast::<pg_sys::FormData_pg_attribute>();
        std::slice::from_raw_parts(first, natts)
    }
}
