//! The C entry points Postgres calls: the module magic, `_PG_init`, and every V1 function
//! declared in SQL with `LANGUAGE C`. Each is one line into safe code, which gets the call as a
//! [`Call`].

use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::linear::{self, FitState, PrepState, StatsState};
use crate::logistic_shards::{self, LogisticState};
use crate::pg::aggregate::{combine, deserialize, partial, serialize};
use crate::pg::fcinfo::Call;
use crate::serve::explain;
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
    pg_finfo_shopml_predict_proba_id_array shopml_predict_proba_id_array =>
        |c| predict::array(c, By::Id, Want::Probability);
    pg_finfo_shopml_predict_label_id_array shopml_predict_label_id_array =>
        |c| predict::array(c, By::Id, Want::Label);
    pg_finfo_shopml_predict_classes_name_row shopml_predict_classes_name_row => |c| predict::classes_row(c, By::Name);
    pg_finfo_shopml_predict_classes_id_row shopml_predict_classes_id_row => |c| predict::classes_row(c, By::Id);
    pg_finfo_shopml_predict_classes_name_array shopml_predict_classes_name_array => |c| predict::classes_array(c, By::Name);
    pg_finfo_shopml_predict_classes_id_array shopml_predict_classes_id_array => |c| predict::classes_array(c, By::Id);
    pg_finfo_shopml_explain_name_row shopml_explain_name_row => |c| explain::row(c, By::Name);
    pg_finfo_shopml_explain_id_row shopml_explain_id_row => |c| explain::row(c, By::Id);
    pg_finfo_shopml_explain_name_array shopml_explain_name_array => |c| explain::array(c, By::Name);
    pg_finfo_shopml_explain_id_array shopml_explain_id_array => |c| explain::array(c, By::Id);
    pg_finfo_shopml_predict_name_row shopml_predict_name_row =>
        |c| predict::row(c, By::Name, Want::Value);
    pg_finfo_shopml_predict_proba_name_row shopml_predict_proba_name_row =>
        |c| predict::row(c, By::Name, Want::Probability);
    pg_finfo_shopml_predict_label_name_row shopml_predict_label_name_row =>
        |c| predict::row(c, By::Name, Want::Label);
    pg_finfo_shopml_predict_id_row shopml_predict_id_row =>
        |c| predict::row(c, By::Id, Want::Value);
    pg_finfo_shopml_predict_proba_id_row shopml_predict_proba_id_row =>
        |c| predict::row(c, By::Id, Want::Probability);
    pg_finfo_shopml_predict_label_id_row shopml_predict_label_id_row =>
        |c| predict::row(c, By::Id, Want::Label);
    pg_finfo_shopml_predict_name_args shopml_predict_name_args =>
        |c| predict::args(c, By::Name);
    pg_finfo_shopml_predict_id_args shopml_predict_id_args =>
        |c| predict::args(c, By::Id);
    pg_finfo_shopml_predict_support shopml_predict_support =>
        crate::pg::planner::simplify_predict;

    pg_finfo_shopml_linear_stats_trans shopml_linear_stats_trans => linear::stats_trans;
    pg_finfo_shopml_linear_stats_combine shopml_linear_stats_combine => combine::<StatsState>;
    pg_finfo_shopml_linear_stats_serialize shopml_linear_stats_serialize => serialize::<StatsState>;
    pg_finfo_shopml_linear_stats_deserialize shopml_linear_stats_deserialize => deserialize::<StatsState>;
    pg_finfo_shopml_linear_stats_final shopml_linear_stats_final => partial::<StatsState>;

    pg_finfo_shopml_prep_stats_trans shopml_prep_stats_trans => linear::prep_trans;
    pg_finfo_shopml_prep_stats_combine shopml_prep_stats_combine => combine::<PrepState>;
    pg_finfo_shopml_prep_stats_serialize shopml_prep_stats_serialize => serialize::<PrepState>;
    pg_finfo_shopml_prep_stats_deserialize shopml_prep_stats_deserialize => deserialize::<PrepState>;
    pg_finfo_shopml_prep_stats_final shopml_prep_stats_final => partial::<PrepState>;

    pg_finfo_shopml_logistic_stats_trans shopml_logistic_stats_trans => logistic_shards::logistic_trans;
    pg_finfo_shopml_logistic_stats_combine shopml_logistic_stats_combine => combine::<LogisticState>;
    pg_finfo_shopml_logistic_stats_serialize shopml_logistic_stats_serialize => serialize::<LogisticState>;
    pg_finfo_shopml_logistic_stats_deserialize shopml_logistic_stats_deserialize => deserialize::<LogisticState>;
    pg_finfo_shopml_logistic_stats_final shopml_logistic_stats_final => partial::<LogisticState>;

    pg_finfo_shopml_linear_fit_trans shopml_linear_fit_trans => linear::fit_trans;
    pg_finfo_shopml_linear_fit_combine shopml_linear_fit_combine => combine::<FitState>;
    pg_finfo_shopml_linear_fit_serialize shopml_linear_fit_serialize => serialize::<FitState>;
    pg_finfo_shopml_linear_fit_deserialize shopml_linear_fit_deserialize => deserialize::<FitState>;
    pg_finfo_shopml_linear_fit_final shopml_linear_fit_final => linear::fit_final;

    pg_finfo_shopml_linear_partial_trans shopml_linear_partial_trans => linear::partial_trans;
    pg_finfo_shopml_linear_partial_combine shopml_linear_partial_combine => linear::partial_combine;
}

/// Entry points that 0.3.0 retired. Their symbols stay so that the install script of a released
/// version still loads against this library (`CREATE EXTENSION shopml VERSION '0.2.0'`, then
/// `ALTER EXTENSION shopml UPDATE`); a call before the update gets 0A000 naming the fix.
fn retired(_: &Call) -> pg_sys::Datum {
    crate::pg::error::raise(
        shopml_core::Error::new(
            shopml_core::ErrorKind::Unsupported,
            "this shopml function was retired in 0.3.0",
        )
        .with_hint("Run ALTER EXTENSION shopml UPDATE."),
    )
}

v1! {
    pg_finfo__sample_ads_wrapper _sample_ads_wrapper => retired;
    pg_finfo__sample_categories_wrapper _sample_categories_wrapper => retired;
    pg_finfo__sample_customers_wrapper _sample_customers_wrapper => retired;
    pg_finfo__sample_impressions_wrapper _sample_impressions_wrapper => retired;
    pg_finfo__sample_order_items_wrapper _sample_order_items_wrapper => retired;
    pg_finfo__sample_orders_wrapper _sample_orders_wrapper => retired;
    pg_finfo__sample_products_wrapper _sample_products_wrapper => retired;
    pg_finfo__sample_weekly_sales_wrapper _sample_weekly_sales_wrapper => retired;
}
