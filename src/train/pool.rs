//! The backend's compute threads (`shopml.threads`).
//!
//! Workers only ever see plain Rust data. They block every signal, so the signals Postgres
//! sends a backend (query cancel, timeouts, shutdown) reach the main thread, which checks for
//! interrupts between blocks of work. rayon's global pool is set up the same way the first
//! time a backend asks for its pool (never in the postmaster, whose threads a forked backend
//! would not have), as a backstop for any parallel iterator run outside `pool::get()`.

use std::cell::RefCell;
use std::rc::Rc;

use rayon::ThreadPool;
use shopml_core::{Error, Result};

use crate::guc::THREADS;
use crate::pg::system::block_signals;

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

/// Sets up rayon's global pool with signals blocked, once per backend. Failure only means
/// another part of the process built it first.
fn init_global() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|i| format!("shopml-global-{i}"))
            .start_handler(|_| block_signals())
            .build_global();
    });
}

/// The pool sized by `shopml.threads` (rebuilt when the setting changes).
pub fn get() -> Result<Rc<ThreadPool>> {
    init_global();
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
