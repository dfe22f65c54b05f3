//! Testing several candidates at once: each in its own scratch copy, up to N at a time (by
//! default one per core), results reported as each finishes, cancellable as a group.
//!
//! Workers are plain threads, not the rayon pool: they spend their time waiting for test
//! processes, which would starve rayon's other users. They run at lowered priority (nice +10),
//! which the test processes inherit, so that tests running in the background yield the CPU to
//! the editor's requests. The group's cancellation is `options.cancel`: give the runs a token of
//! their own. Dropping [`CandidateRuns`] before every result has arrived cancels that token and
//! waits until every process is gone.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread::JoinHandle,
};

use crossbeam_channel::Receiver;

use super::{
    Overlay, SandboxError, SandboxOptions, Scratch, ScratchStats, TestCommand, TestId, TestRun, run_tests,
};
use crate::{
    stdx::lower_thread_priority,
    workspace::{TreeError, list_tree},
};

/// One candidate's result.
#[derive(Debug)]
pub struct CandidateResult {
    /// The candidate's position in the list given to [`run_candidates`].
    pub index: usize,
    pub result: Result<TestRun, SandboxError>,
    /// The copy it ran in, if one was made.
    pub scratch: Option<ScratchStats>,
}

/// Candidates being tested.
pub struct CandidateRuns {
    results: Receiver<CandidateResult>,
    options: SandboxOptions,
    remaining: Arc<AtomicUsize>,
    workers: Vec<JoinHandle<()>>,
    total: usize,
}

impl CandidateRuns {
    /// Results in the order they finish; the channel closes after the last.
    pub fn results(&self) -> &Receiver<CandidateResult> {
        &self.results
    }

    /// Stops every run (and every run not yet started, which reports `Cancelled`).
    pub fn cancel(&self) {
        self.options.cancel.cancel();
    }

    /// Every result, by candidate index.
    pub fn wait(self) -> Vec<CandidateResult> {
        let mut all: Vec<CandidateResult> = self.results.iter().take(self.total).collect();
        all.sort_by_key(|r| r.index);
        all
    }
}

impl Drop for CandidateRuns {
    fn drop(&mut self) {
        if self.remaining.load(Ordering::Acquire) > 0 {
            self.options.cancel.cancel();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// Tests each candidate's overlays (unsaved buffers and the candidate's edits together) on
/// `selection`, at most `max_parallel` at a time (`None`: one per core). The tree is listed once,
/// here; a listing error is returned before anything starts.
pub fn run_candidates(
    root: &Path,
    candidates: Vec<Vec<Overlay>>,
    command: &TestCommand,
    selection: &[TestId],
    options: &SandboxOptions,
    max_parallel: Option<usize>,
) -> Result<CandidateRuns, SandboxError> {
    let listing = Arc::new(list_tree(root, options.cancel.flag()).map_err(|err| match err {
        TreeError::Cancelled => SandboxError::Cancelled,
        TreeError::Io { path, source } => SandboxError::io(format!("listing {}", path.display()), source),
    })?);
    let total = candidates.len();
    let threads = max_parallel
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, total.max(1));
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<(usize, Vec<Overlay>)>();
    for job in candidates.into_iter().enumerate() {
        let _ = job_tx.send(job);
    }
    drop(job_tx);
    let (result_tx, result_rx) = crossbeam_channel::unbounded();
    let remaining = Arc::new(AtomicUsize::new(total));
    let mut workers = Vec::with_capacity(threads);
    for i in 0..threads {
        let (jobs, results, remaining) = (job_rx.clone(), result_tx.clone(), remaining.clone());
        let (listing, options) = (listing.clone(), options.clone());
        let (command, selection) = (command.clone(), selection.to_vec());
        let spawned = std::thread::Builder::new().name(format!("sandbox-{i}")).spawn(move || {
            lower_thread_priority();
            for (index, overlays) in jobs {
                let (result, stats, scratch) = match Scratch::from_listing(&listing, &overlays, &options) {
                    Ok(scratch) => (
                        run_tests(&scratch, &command, &selection, &options),
                        Some(scratch.stats()),
                        Some(scratch),
                    ),
                    Err(err) => (Err(err), None, None),
                };
                remaining.fetch_sub(1, Ordering::AcqRel);
                let _ = results.send(CandidateResult { index, result, scratch: stats });
                // The copy is removed after the result is out: removal can be slow (one
                // unlink per file) and nobody waits for it.
                drop(scratch);
            }
        });
        match spawned {
            Ok(handle) => workers.push(handle),
            Err(err) => tracing::warn!("cannot start a sandbox worker: {err}"),
        }
    }
    if workers.is_empty() {
        return Err(SandboxError::io(
            "starting sandbox workers",
            std::io::Error::other("no thread could be started"),
        ));
    }
    Ok(CandidateRuns { results: result_rx, options: options.clone(), remaining, workers, total })
}
