//! The interrupt check (query cancel, `statement_timeout`, shutdown).
//!
//! Only the backend's main thread may process interrupts, so the handle is neither `Send`
//! nor `Sync`: the compiler refuses to move it into a closure that runs on the compute pool.
//! Long fits take a [`shopml_core::monitor::Monitor`] that holds one and check it between
//! blocks of work on the main thread.

use std::marker::PhantomData;

/// Permission to check for interrupts, held by the main thread.
pub struct Interrupts {
    _main_thread: PhantomData<*const ()>,
}

impl Interrupts {
    /// The handle for the current (main) thread.
    pub fn here() -> Interrupts {
        Interrupts {
            _main_thread: PhantomData,
        }
    }

    /// Processes pending interrupts: a cancel or timeout raises its ERROR here.
    #[inline]
    pub fn check(&self) {
        pgrx::check_for_interrupts!();
    }
}
