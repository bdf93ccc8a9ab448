//! Settings (`SET shopml.threads = 2`, `ALTER SYSTEM SET shopml.model_cache_mb = 256`).
#![forbid(unsafe_code)]

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Compute threads a backend may use for training (0 = one per core).
pub static THREADS: GucSetting<i32> = GucSetting::<i32>::new(0);
/// Per-backend cache of decoded models, in MiB.
pub static MODEL_CACHE_MB: GucSetting<i32> = GucSetting::<i32>::new(64);

/// Memory a single training may use, in MiB (0 = a quarter of the machine's memory).
pub static MAX_TRAINING_MEMORY: GucSetting<i32> = GucSetting::<i32>::new(0);

pub fn register() {
    GucRegistry::define_int_guc(
        c"shopml.max_training_memory",
        c"Memory one training may use for the rows and model it holds, in MiB (0 = a quarter of the machine's memory).",
        c"A training that would need more fails early with SQLSTATE 53200 instead of making the machine swap. Only superusers change it.",
        &MAX_TRAINING_MEMORY,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"shopml.threads",
        c"Compute threads per backend for shopml training (0 = one per core).",
        c"Only the backend's main thread talks to Postgres; these threads work on plain data.",
        &THREADS,
        0,
        256,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"shopml.model_cache_mb",
        c"Memory per backend for decoded models kept between statements, in MiB.",
        c"Models are cached by id; a new deployment is seen by the next statement.",
        &MODEL_CACHE_MB,
        0,
        1 << 20,
        GucContext::Userset,
        GucFlags::UNIT_MB,
    );
}
