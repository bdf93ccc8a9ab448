//! What the backend's process and transaction say of themselves.

use pgrx::pg_sys;

/// The machine's memory in bytes (4 GiB when the system does not say).
pub fn machine_memory() -> usize {
    // SAFETY: sysconf only reads system configuration.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages > 0 && size > 0 {
        pages as usize * size as usize
    } else {
        4 << 30
    }
}

/// Blocks every signal on the calling thread, so that the signals Postgres sends a backend
/// (query cancel, timeouts, shutdown) reach its main thread. Every compute thread calls it
/// when it starts.
pub fn block_signals() {
    // SAFETY: sigfillset and pthread_sigmask only touch the local set and this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The statement the backend runs: transaction start, statement start and command id. A
/// memo keyed by it lasts exactly one statement.
pub fn statement_id() -> (i64, i64, u32) {
    // SAFETY: plain reads of the backend's transaction state.
    unsafe {
        (
            pg_sys::GetCurrentTransactionStartTimestamp(),
            pg_sys::GetCurrentStatementStartTimestamp(),
            pg_sys::GetCurrentCommandId(false),
        )
    }
}

/// Whether the server runs as a hot standby (where nothing can be written).
pub fn in_recovery() -> bool {
    // SAFETY: reads shared recovery state.
    unsafe { pg_sys::RecoveryInProgress() }
}

/// Whether this process is a parallel worker (not the backend the client talks to).
pub fn is_parallel_worker() -> bool {
    // SAFETY: reads a process-local global that Postgres sets when a worker starts.
    unsafe { pg_sys::ParallelWorkerNumber >= 0 }
}
