//! The one place where a shopml error becomes a Postgres ERROR with its SQLSTATE.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use shopml_core::{Error, ErrorKind};

fn code(kind: ErrorKind) -> PgSqlErrorCode {
    match kind {
        ErrorKind::UndefinedObject => PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
        ErrorKind::UndefinedColumn => PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
        ErrorKind::UndefinedTable => PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
        ErrorKind::DatatypeMismatch => PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
        ErrorKind::InvalidParameter => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        ErrorKind::DataException => PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        ErrorKind::DataCorrupted => PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        ErrorKind::OutOfMemory => PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
        ErrorKind::InsufficientPrivilege => PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        ErrorKind::ReadOnly => PgSqlErrorCode::ERRCODE_READ_ONLY_SQL_TRANSACTION,
        ErrorKind::Internal => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        ErrorKind::Unsupported => PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        ErrorKind::DuplicateObject => PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
    }
}

/// Raises `e` as a Postgres ERROR (does not return).
pub fn raise(e: Error) -> ! {
    let mut report = ErrorReport::new(code(e.kind), e.message, "shopml");
    if let Some(d) = e.detail {
        report = report.set_detail(d);
    }
    if let Some(h) = e.hint {
        report = report.set_hint(h);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// A required argument: its value, or 22023 naming it when it is NULL.
pub fn required<T>(value: Option<T>, what: &str) -> Result<T, Error> {
    value.ok_or_else(|| Error::invalid(format!("{what} must not be NULL")))
}

/// `result.or_raise()`: the value, or the error raised as a Postgres ERROR.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, Error> {
    #[inline]
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise(e),
        }
    }
}

impl<T> OrRaise<T> for Result<T, pgrx::spi::Error> {
    #[inline]
    fn or_raise(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => raise(Error::internal(format!("SPI: {e}"))),
        }
    }
}

/// Runs `f`; an error it raises (a Postgres ERROR, e.g. from a remote server through
/// postgres_fdw, or a shopml one) is raised again with the same SQLSTATE, detail and hint and
/// its message prefixed by `prefix` (`shard "s2" (partition sales_2): ...`), and `hint` added
/// when the error has none. The transaction is aborted by the error, so nothing after it runs.
pub fn prefixed<R>(
    prefix: &str,
    hint: Option<&str>,
    f: impl FnOnce() -> Result<R, Error>,
) -> Result<R, Error> {
    use pgrx::pg_sys::panic::CaughtError;
    use pgrx::PgTryBuilder;
    let relabel = |mut e: Error| {
        e.message = format!("{prefix}: {}", e.message);
        if e.hint.is_none() {
            e.hint = hint.map(str::to_string);
        }
        e
    };
    let f = std::panic::AssertUnwindSafe(f);
    PgTryBuilder::new(f)
        .catch_others(|caught| match caught {
            CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => {
                // A server without shopml: its schema or function is missing there (the error
                // says so in the server's words); reported as the missing function it is.
                let (code, message, their_hint) = match r.sql_error_code() {
                    PgSqlErrorCode::ERRCODE_INVALID_SCHEMA_NAME
                    | PgSqlErrorCode::ERRCODE_UNDEFINED_FUNCTION
                        if r.message().contains("shopml") =>
                    {
                        (
                            PgSqlErrorCode::ERRCODE_UNDEFINED_FUNCTION,
                            format!("{prefix}: shopml is not installed there ({})", r.message()),
                            None,
                        )
                    }
                    code => (code, format!("{prefix}: {}", r.message()), r.hint()),
                };
                let mut report = ErrorReport::new(code, message, "shopml");
                if let Some(d) = r.detail() {
                    report = report.set_detail(d.to_string());
                }
                if let Some(h) = their_hint.or(hint) {
                    report = report.set_hint(h.to_string());
                }
                report.report(PgLogLevel::ERROR);
                unreachable!("ERROR does not return")
            }
            other @ CaughtError::RustPanic { .. } => other.rethrow(),
        })
        .execute()
        .map_err(relabel)
}
