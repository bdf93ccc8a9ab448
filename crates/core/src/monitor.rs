//! How a long computation on the compute pool reports back to the thread that started it: the
//! SQL layer's monitor checks for cancellation and sends progress notices; tests use [`Quiet`].

use crate::error::Result;

/// Where a long computation reports to the thread that started it.
pub trait Monitor {
    /// Called between blocks of work; an error stops the fit.
    fn tick(&mut self) -> Result<()> {
        Ok(())
    }
    /// Whether the next `iteration` call should carry the training loss (it costs a pass).
    fn wants_loss(&mut self) -> bool {
        false
    }
    /// Called after each full iteration (1-based).
    fn iteration(&mut self, _iteration: usize, _loss: Option<f64>) -> Result<()> {
        Ok(())
    }
}

/// A monitor that does nothing.
pub struct Quiet;
impl Monitor for Quiet {}

/// A compute pool of `threads` threads, for the tests of the model families.
#[cfg(test)]
pub(crate) fn test_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a test pool")
}
