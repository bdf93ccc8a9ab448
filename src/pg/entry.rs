//! The C entry points Postgres calls: the module magic, `_PG_init`, and every V1 function
//! declared in SQL with `LANGUAGE C`. Each is one line into safe code, which gets the call as a
//! [`Call`].

use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::pg::fcinfo::Call;
use crate::serve::predict::{self, By};
use shopml_core::model::Want;

pgrx::pg_module_magic!();

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    crate::guc::register();
}

/// Declares V1 functions: `finfo symbol => the safe function of the call`.
macro_rules! v1 {
    ($($finfo:ident $name:ident => $body:expr;)*) => {$(
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static pg_sys::Pg_finfo_record {
            const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }

        #[pg_guard]
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub unsafe extern "C-unwind" fn $name(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
            // SAFETY: Postgres calls a V1 function with the call information of this call.
            let call = unsafe { Call::new(fcinfo) };
            let body: fn(&Call) -> pg_sys::Datum = $body;
            body(&call)
        }
    )*};
}

v1! {
    pg_finfo_shopml_predict_name_array shopml_predict_name_array =>
        |c| predict::array(c, By::Name, Want::Value);
    pg_finfo_shopml_predict_id_array shopml_predict_id_array =>
        |c| predict::array(c, By::Id, Want::Value);
    pg_finfo_shopml_predict_proba_name_array shopml_predict_proba_name_array =>
        |c| predict::array(c, By::Name, Want::Probability);
    pg_finfo_shopml_predict_label_name_array shopml_predict_label_name_array =>
        |c| predict::array(c, By::Name, Want::Label);
    pg_finfo_shopml_predict_name_row shopml_predict_name_row =>
        |c| predict::row(c, Want::Value);
    pg_finfo_shopml_predict_proba_name_row shopml_predict_proba_name_row =>
        |c| predict::row(c, Want::Probability);
    pg_finfo_shopml_predict_label_name_row shopml_predict_label_name_row =>
        |c| predict::row(c, Want::Label);
    pg_finfo_shopml_predict_name_args shopml_predict_name_args =>
        |c| predict::args(c, By::Name);
    pg_finfo_shopml_predict_id_args shopml_predict_id_args =>
        |c| predict::args(c, By::Id);
    pg_finfo_shopml_predict_support shopml_predict_support =>
        crate::pg::planner::simplify_predict;

    pg_finfo_shopml_linear_stats_trans shopml_linear_stats_trans => crate::linear::stats_trans;
    pg_finfo_shopml_linear_stats_combine shopml_linear_stats_combine => crate::linear::stats_combine;
    pg_finfo_shopml_linear_stats_serialize shopml_linear_stats_serialize => crate::linear::stats_serialize;
    pg_finfo_shopml_linear_stats_deserialize shopml_linear_stats_deserialize => crate::linear::stats_deserialize;
    pg_finfo_shopml_linear_stats_final shopml_linear_stats_final => crate::linear::stats_serialize;

    pg_finfo_shopml_prep_stats_trans shopml_prep_stats_trans => crate::linear::prep_trans;
    pg_finfo_shopml_prep_stats_combine shopml_prep_stats_combine => crate::linear::prep_combine;
    pg_finfo_shopml_prep_stats_serialize shopml_prep_stats_serialize => crate::linear::prep_serialize;
    pg_finfo_shopml_prep_stats_deserialize shopml_prep_stats_deserialize => crate::linear::prep_deserialize;
    pg_finfo_shopml_prep_stats_final shopml_prep_stats_final => crate::linear::prep_serialize;

    pg_finfo_shopml_linear_fit_trans shopml_linear_fit_trans => crate::linear::fit_trans;
    pg_finfo_shopml_linear_fit_combine shopml_linear_fit_combine => crate::linear::fit_combine;
    pg_finfo_shopml_linear_fit_serialize shopml_linear_fit_serialize => crate::linear::fit_serialize;
    pg_finfo_shopml_linear_fit_deserialize shopml_linear_fit_deserialize => crate::linear::fit_deserialize;
    pg_finfo_shopml_linear_fit_final shopml_linear_fit_final => crate::linear::fit_final;
}
