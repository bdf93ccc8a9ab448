//! Serving: the predict functions of every model kind, and the key types of the serving
//! functions of recommenders and demand models.
#![forbid(unsafe_code)]

pub mod explain;
pub mod keys;
pub mod predict;
pub mod table;

/// Declares a set-returning SQL function from its arguments, its result columns and the
/// function that computes its rows:
///
/// ```ignore
/// table_function! {
///     /// Doc comment.
///     [stable, parallel_safe] fn experiment_status(experiment_name: [Option<&str>])
///         -> (product_id: [i64], price: [f64]) = status_rows
/// }
/// ```
///
/// `status_rows` takes the same arguments and returns `Result<Vec<(i64, f64)>>`; an error is
/// raised at the SQL boundary.
macro_rules! table_function {
    ($(#[$doc:meta])* [$($attr:tt)*] fn $name:ident($($arg:ident: [$($ty:tt)*]),* $(,)?)
        -> ($($col:ident: [$($cty:tt)*]),* $(,)?) = $rows:path) => {
        $(#[$doc])*
        #[pg_extern($($attr)*)]
        #[allow(clippy::type_complexity, clippy::too_many_arguments)]
        fn $name($($arg: $($ty)*),*) -> TableIterator<'static, ($(name!($col, $($cty)*),)*)> {
            TableIterator::new(
                crate::pg::error::OrRaise::or_raise($rows($($arg),*)),
            )
        }
    };
}
pub(crate) use table_function;
