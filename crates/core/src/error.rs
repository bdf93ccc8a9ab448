//! The one error type of shopml. The SQL layer maps [`ErrorKind`] to a SQLSTATE once, at the
//! boundary; everything below returns `Result<T>`.

use std::fmt;

/// What went wrong, in the categories a Postgres client can act on (each maps to one SQLSTATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// 42704: no such model (or product, user, ...).
    UndefinedObject,
    /// 42703: no such column.
    UndefinedColumn,
    /// 42P01: no such table.
    UndefinedTable,
    /// 42804: a column or value of the wrong type.
    DatatypeMismatch,
    /// 22023: a bad option or argument value.
    InvalidParameter,
    /// 22000: the data cannot support the request (too few usable rows, ...).
    DataException,
    /// XX001: stored model bytes are damaged or of an unknown format.
    DataCorrupted,
    /// 53200: a configured memory limit would be exceeded.
    OutOfMemory,
    /// 42501: the role lacks a privilege.
    InsufficientPrivilege,
    /// 25006: a write on a read-only server (a hot standby).
    ReadOnly,
    /// XX000: a bug; should never reach a user.
    Internal,
    /// 0A000: a feature this version does not offer (a retired function).
    Unsupported,
    /// 42710: an object of that name already exists.
    DuplicateObject,
}

impl ErrorKind {
    /// The five-character SQLSTATE this kind is reported with.
    pub fn sqlstate(self) -> &'static str {
        match self {
            ErrorKind::UndefinedObject => "42704",
            ErrorKind::UndefinedColumn => "42703",
            ErrorKind::UndefinedTable => "42P01",
            ErrorKind::DatatypeMismatch => "42804",
            ErrorKind::InvalidParameter => "22023",
            ErrorKind::DataException => "22000",
            ErrorKind::DataCorrupted => "XX001",
            ErrorKind::OutOfMemory => "53200",
            ErrorKind::InsufficientPrivilege => "42501",
            ErrorKind::ReadOnly => "25006",
            ErrorKind::Internal => "XX000",
            ErrorKind::Unsupported => "0A000",
            ErrorKind::DuplicateObject => "42710",
        }
    }
}

/// An error with a message naming the offending thing, and optional detail and hint lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

/// Result alias used across shopml.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// 22023: a bad option or argument.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }
    /// 22000: the data cannot support the request.
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::DataException, message)
    }
    /// 42804: a column or value of the wrong type.
    pub fn mismatch(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::DatatypeMismatch, message)
    }
    /// XX001: damaged or unreadable model bytes.
    pub fn corrupted(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::DataCorrupted, message)
    }
    /// XX000: an internal invariant failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
