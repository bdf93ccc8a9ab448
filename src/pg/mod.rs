//! The FFI layer: every line of `unsafe` in shopml is in this folder.
//!
//! Everything else in `src/` is `#![forbid(unsafe_code)]` and reaches Postgres through these
//! safe wrappers (or pgrx's safe API):
//! - [`entry`]: the C entry points Postgres calls (V1 functions, `_PG_init`), each one line
//!   into safe code;
//! - [`fcinfo`]: a V1 call's arguments, results and per-call-site memory;
//! - [`datum`]: the one table of how a value of each SQL type becomes a [`Cell`];
//! - [`row`]: reading columns of a composite (row) argument by name;
//! - [`spi`]: read-only queries whose rows arrive through a `DestReceiver`, in place;
//! - [`aggregate`]: states of aggregates declared in SQL with `internal` states;
//! - [`planner`]: the planner support function of `predict`;
//! - [`system`]: signal masks, machine memory, the statement a call belongs to;
//! - [`interrupts`]: the interrupt check, which only the main thread may hold;
//! - [`error`]: the one place where a shopml error becomes an `ereport`;
//! - [`version`]: the structures that differ between PostgreSQL 15, 16 and 18.
//!
//! [`Cell`]: shopml_core::data::cell::Cell

pub mod aggregate;
pub mod datum;
pub mod entry;
pub mod error;
pub mod fcinfo;
pub mod interrupts;
pub mod planner;
pub mod row;
pub mod spi;
pub mod system;
pub mod version;
