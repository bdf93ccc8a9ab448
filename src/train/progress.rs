//! What a long training tells its caller: a NOTICE at most once a second (stage, rows read
//! or iteration, elapsed time), and cancellation between blocks of work.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shopml_core::monitor::Monitor;
use shopml_core::Result;

use crate::pg::interrupts::Interrupts;

/// Reports progress of one training and lets Postgres cancel it. Lives on the main thread.
pub struct Progress {
    model_name: String,
    start: Instant,
    last_notice: Option<Instant>,
    stage: &'static str,
    /// Iterations the current stage runs at most (for "iteration 3/100").
    iterations: Option<usize>,
    interrupts: Interrupts,
}

impl Progress {
    /// The model being trained.
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    pub fn new(model_name: &str) -> Progress {
        Progress::since(model_name, Instant::now())
    }

    /// The progress of a training that started at `start`.
    fn since(model_name: &str, start: Instant) -> Progress {
        Progress {
            model_name: model_name.to_string(),
            start,
            last_notice: None,
            stage: "reading rows",
            iterations: None,
            interrupts: Interrupts::here(),
        }
    }

    /// When the training started, as milliseconds since 1970 (to hand to another process,
    /// e.g. a parallel aggregate's workers, with [`Progress::resume`]).
    pub fn started_ms(&self) -> u64 {
        let ago = self.start.elapsed();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        now.saturating_sub(ago).as_millis() as u64
    }

    /// The progress of a training that started at `started_ms` (of [`Progress::started_ms`]),
    /// in stage `stage`.
    pub fn resume(model_name: &str, started_ms: u64, stage: &'static str) -> Progress {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let ago = now.saturating_sub(Duration::from_millis(started_ms));
        let start = Instant::now().checked_sub(ago).unwrap_or_else(Instant::now);
        let mut p = Progress::since(model_name, start);
        p.stage(stage, None);
        p
    }

    /// Starts a stage ("fitting", "evaluating", …) that runs at most `iterations` iterations.
    pub fn stage(&mut self, stage: &'static str, iterations: Option<usize>) {
        self.stage = stage;
        self.iterations = iterations;
    }

    fn due(&self) -> bool {
        self.start.elapsed().as_secs_f64() >= 1.0
            && self
                .last_notice
                .is_none_or(|t| t.elapsed().as_secs_f64() >= 1.0)
    }

    fn notice(&mut self, what: &str) {
        self.last_notice = Some(Instant::now());
        pgrx::notice!(
            "shopml: training \"{}\": {}{what}, {:.1} s elapsed",
            self.model_name,
            self.stage,
            self.start.elapsed().as_secs_f64()
        );
    }

    /// Called as rows are read: checks for cancellation and says how many so far.
    pub fn rows_read(&mut self, rows: u64) {
        self.interrupts.check();
        if self.due() {
            self.notice(&format!(", {rows} rows read"));
        }
    }
}

impl Monitor for Progress {
    fn tick(&mut self) -> Result<()> {
        self.interrupts.check();
        if self.due() {
            self.notice("");
        }
        Ok(())
    }

    fn wants_loss(&mut self) -> bool {
        self.due()
    }

    fn iteration(&mut self, iteration: usize, loss: Option<f64>) -> Result<()> {
        self.interrupts.check();
        if self.due() {
            let of = self.iterations.map(|n| format!("/{n}")).unwrap_or_default();
            let loss = loss.map(|l| format!(", loss {l:.6}")).unwrap_or_default();
            self.notice(&format!(": iteration {iteration}{of}{loss}"));
        }
        Ok(())
    }
}
