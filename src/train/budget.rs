//! `shopml.max_training_memory`: trainings that hold rows in memory (recommenders, demand)
//! estimate what they will need as they read and before they fit, and stop with 53200 before
//! the machine swaps.

use shopml_core::{Error, ErrorKind, Result};

use crate::guc::MAX_TRAINING_MEMORY;
use crate::pg::system::machine_memory;

pub struct Budget<'a> {
    model_name: &'a str,
    limit: usize,
}

impl<'a> Budget<'a> {
    pub fn new(model_name: &'a str) -> Budget<'a> {
        let limit = match MAX_TRAINING_MEMORY.get() {
            n if n > 0 => (n as usize) << 20,
            _ => machine_memory() / 4,
        };
        Budget { model_name, limit }
    }

    /// Fails with 53200 when `bytes` (an estimate) exceed the limit.
    pub fn check(&self, bytes: usize, what: &str) -> Result<()> {
        if bytes <= self.limit {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::OutOfMemory,
            format!(
                "training \"{}\" would need about {} MB for {what}, more than shopml.max_training_memory ({} MB)",
                self.model_name,
                bytes.div_ceil(1 << 20),
                self.limit >> 20
            ),
        )
        .with_hint(
            "Train on fewer rows (e.g. a view over a sample or a shorter period), or ask a superuser to raise shopml.max_training_memory.",
        ))
    }
}
