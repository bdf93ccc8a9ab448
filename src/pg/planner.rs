//! Planner support for `predict(m, ARRAY[x1, ..., xn])`: with float8 elements the call is
//! rewritten at plan time into `shopml._predict_args(m, x1, ..., xn)`, a VARIADIC "any"
//! function that reads the n values straight from its arguments, so no array is built per row.
//! The model is still resolved when the statement runs (the name stays an argument), so
//! prepared statements see new deployments.

use pgrx::pg_sys;

use crate::pg::fcinfo::Call;

/// More elements than this stay an array (a function takes at most 100 arguments).
const MAX_ARGS: usize = 90;

fn list_cells<'a>(l: *mut pg_sys::List) -> &'a [pg_sys::ListCell] {
    // SAFETY: a planner List holds `length` cells.
    unsafe {
        if l.is_null() {
            &[]
        } else {
            std::slice::from_raw_parts((*l).elements, (*l).length as usize)
        }
    }
}

fn function_oid(signature: &str) -> Option<pg_sys::Oid> {
    // SAFETY: to_regprocedure takes a text datum and returns an oid (or NULL).
    unsafe {
        let text = pgrx::rust_str_to_text_p(signature).into_pg();
        pgrx::direct_function_call::<pg_sys::Oid>(
            pg_sys::to_regprocedure,
            &[Some(pg_sys::Datum::from(text))],
        )
        .filter(|o| *o != pg_sys::Oid::INVALID)
    }
}

/// The support function: a simplified expression, or 0 (no change).
pub fn simplify_predict(call: &Call) -> pg_sys::Datum {
    let none = pg_sys::Datum::from(0usize);
    // SAFETY: the planner calls a support function with one `internal` argument pointing to a
    // support request node; every node is checked for its tag before it is cast.
    unsafe {
        let req = call.datum(0).cast_mut_ptr::<pg_sys::Node>();
        if req.is_null() || !pgrx::is_a(req, pg_sys::NodeTag::T_SupportRequestSimplify) {
            return none;
        }
        let fcall = (*(req as *mut pg_sys::SupportRequestSimplify)).fcall;
        let cells = list_cells((*fcall).args);
        if cells.len() != 2 {
            return none;
        }
        let arr = cells[1].ptr_value as *mut pg_sys::Node;
        if !pgrx::is_a(arr, pg_sys::NodeTag::T_ArrayExpr) {
            return none;
        }
        let arr = arr as *mut pg_sys::ArrayExpr;
        let elements = list_cells((*arr).elements);
        if (*arr).multidims
            || (*arr).element_typeid != pg_sys::FLOAT8OID
            || elements.is_empty()
            || elements.len() > MAX_ARGS
        {
            return none;
        }
        let by_id = pg_sys::exprType(cells[0].ptr_value as *const pg_sys::Node) == pg_sys::INT8OID;
        let target = if by_id {
            function_oid("shopml._predict_args(bigint, \"any\")")
        } else {
            function_oid("shopml._predict_args(text, \"any\")")
        };
        let Some(target) = target else { return none };
        let mut new_args = pg_sys::lappend(std::ptr::null_mut(), cells[0].ptr_value);
        for e in elements {
            new_args = pg_sys::lappend(new_args, e.ptr_value);
        }
        let f = pg_sys::makeFuncExpr(
            target,
            pg_sys::FLOAT8OID,
            new_args,
            pg_sys::Oid::INVALID,
            pg_sys::Oid::INVALID,
            pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
        );
        (*f).location = (*fcall).location;
        pg_sys::Datum::from(f)
    }
}
