//! What a long training tells its caller: a NOTICE at most once a second (stage, rows read
//! or iteration, elapsed time), and cancellation between blocks of work.

use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shopml_core::monitor::Monitor;
use shopml_core::Result;

use crate::pg::interrupts::Interrupts;

/// The search (`tune`) this thread's trainings run in.
struct SearchState {
    model_name: String,
    start: Instant,
    last: Option<Instant>,
    /// Where the search is: "trial 2/4, fold 3/5".
    step: String,
}

thread_local! {
    static SEARCH: RefCell<Option<SearchState>> = const { RefCell::new(None) };
}

/// Whether trainings run inside a search (`tune`): they say nothing of their own (no notes
/// about the columns chosen) and report their progress as the search's. Cancellation is
/// still checked.
pub fn quiet() -> bool {
    SEARCH.with(|s| s.borrow().is_some())
}

/// Whether a search's progress NOTICE is due (None outside a search): once a second at most,
/// from its first second on.
fn search_due() -> Option<bool> {
    SEARCH.with(|s| {
        s.borrow().as_ref().map(|s| {
            s.start.elapsed().as_secs_f64() >= 1.0
                && s.last.is_none_or(|t| t.elapsed().as_secs_f64() >= 1.0)
        })
    })
}

/// Sends the search's progress NOTICE with what its current training is doing.
fn search_notice(detail: &str) {
    SEARCH.with(|s| {
        if let Some(s) = s.borrow_mut().as_mut() {
            s.last = Some(Instant::now());
            pgrx::notice!(
                "shopml: tuning \"{}\": {}{detail}, {:.1} s elapsed",
                s.model_name,
                s.step,
                s.start.elapsed().as_secs_f64()
            );
        }
    })
}

/// A search in progress on this thread while it lives (see [`quiet`]); its trainings and its
/// own steps share one NOTICE a second.
pub struct Search(());

impl Search {
    pub fn new(model_name: &str) -> Search {
        SEARCH.with(|s| {
            *s.borrow_mut() = Some(SearchState {
                model_name: model_name.to_string(),
                start: Instant::now(),
                last: None,
                step: String::new(),
            })
        });
        Search(())
    }

    /// The search moves to `step`; checks for cancellation and reports when due.
    pub fn step(&mut self, step: String) {
        pgrx::check_for_interrupts!();
        SEARCH.with(|s| {
            if let Some(s) = s.borrow_mut().as_mut() {
                s.step = step;
            }
        });
        if search_due() == Some(true) {
            search_notice("");
        }
    }
}

impl Drop for Search {
    fn drop(&mut self) {
        SEARCH.with(|s| *s.borrow_mut() = None);
    }
}

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
        if let Some(due) = search_due() {
            return due;
        }
        self.start.elapsed().as_secs_f64() >= 1.0
            && self
                .last_notice
                .is_none_or(|t| t.elapsed().as_secs_f64() >= 1.0)
    }

    fn notice(&mut self, what: &str) {
        self.last_notice = Some(Instant::now());
        if quiet() {
            return search_notice(&format!(": {}{what}", self.stage));
        }
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
