//! The backend's compute threads (`shopml.threads`).
//!
//! Workers only ever see plain Rust data. They block every signal, so the signals Postgres
//! sends a backend (query cancel, timeouts, shutdown) reach the main thread, which checks for
//! interrupts between blocks of work.

use std::cell::RefCell;
use std::rc::Rc;

use rayon::ThreadPool;
use shopml_core::als::Monitor;
use shopml_core::{Error, Result};

use crate::guc::THREADS;

thread_local! {
    static POOL: RefCell<Option<(usize, Rc<ThreadPool>)>> = const { RefCell::new(None) };
}

fn wanted() -> usize {
    match THREADS.get() {
        n if n > 0 => n as usize,
        _ => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    }
}

fn block_signals() {
    // SAFETY: sigfillset and pthread_sigmask only touch the local set and this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The pool sized by `shopml.threads` (rebuilt when the setting changes).
pub fn get() -> Result<Rc<ThreadPool>> {
    let n = wanted();
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if let Some((size, pool)) = p.as_ref() {
            if *size == n {
                return Ok(pool.clone());
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("shopml-worker-{i}"))
            .start_handler(|_| block_signals())
            .build()
            .map_err(|e| Error::internal(format!("cannot start {n} compute threads: {e}")))?;
        let pool = Rc::new(pool);
        *p = Some((n, pool.clone()));
        Ok(pool)
    })
}

/// A monitor for fits on the pool that only checks for cancellation between blocks.
pub struct Interrupts;

impl Monitor for Interrupts {
    fn tick(&mut self) -> Result<()> {
        pgrx::check_for_interrupts!();
        Ok(())
    }
}
