//! Git history from the server's side: read (or refreshed from the cache) in the background once
//! the index is built, reported with `$/progress`, put into the repository model, and refreshed
//! when HEAD moves (checked once a minute with one `git rev-parse`).

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;

use super::{
    progress::ProgressReporter,
    server::{Server, Task},
};
use crate::{
    analysis::{HistoryLoad, HistorySource, history_options, load_history},
    history::Refresh,
    stdx::CancelToken,
};

#[derive(Default)]
pub(crate) struct HistoryState {
    running: bool,
    progress: Option<ProgressReporter>,
    /// Per root: how the last load went.
    outcomes: Vec<(PathBuf, String, Option<String>, Duration)>,
    pub next_head_check: Option<Instant>,
}

impl Server {
    /// Reads (or refreshes) the history of every root on a background thread.
    pub(crate) fn start_history(&mut self) {
        if self.history.running {
            return;
        }
        self.history.running = true;
        if self.client.work_done_progress {
            self.history.progress = Some(ProgressReporter::begin(self, "Reading git history", None));
        }
        let roots = self.host.roots().to_vec();
        let cache = self.config.index_cache(&roots);
        let cancel: CancelToken = self.index.cancel.clone();
        let tasks = self.task_sender.clone();
        let spawned = std::thread::Builder::new().name("repolens-history".into()).spawn(move || {
            crate::stdx::lower_thread_priority();
            for root in roots {
                let load = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    load_history(&root, cache.as_ref(), &cancel)
                }))
                .unwrap_or_else(|panic| HistoryLoad {
                    history: None,
                    source: HistorySource::Off(format!("panicked: {}", crate::stdx::panic_message(&*panic))),
                    elapsed: Duration::ZERO,
                });
                let _ = tasks.send(Task::HistoryLoaded { root, load: Box::new(load) });
            }
            let _ = tasks.send(Task::HistoryDone);
        });
        if let Err(err) = spawned {
            tracing::error!("cannot start reading history: {err}");
            self.history.running = false;
        }
    }

    pub(crate) fn on_history_loaded(&mut self, root: PathBuf, load: HistoryLoad) {
        let ms = load.elapsed.as_secs_f64() * 1000.0;
        let (state, head) = match (&load.source, &load.history) {
            (HistorySource::Off(reason), _) => {
                tracing::info!("git history is off for {}: {reason}", root.display());
                (format!("off: {reason}"), None)
            }
            (source, Some(history)) => {
                let how = match source {
                    HistorySource::Read => "read".to_owned(),
                    HistorySource::Cached(Refresh::Unchanged) => "cached".to_owned(),
                    HistorySource::Cached(Refresh::Extended { commits }) => {
                        format!("cached, {commits} new commits read")
                    }
                    HistorySource::Cached(Refresh::Rebuilt) => "cached, rebuilt".to_owned(),
                    HistorySource::Off(_) => unreachable!(),
                };
                let stats = history.stats();
                tracing::info!(
                    "git history of {}: {} commits, {} files ({how}) in {ms:.0} ms",
                    root.display(),
                    history.facts().commits.len(),
                    stats.files.len(),
                );
                (how, Some(history.head().hash))
            }
            (_, None) => ("off".to_owned(), None),
        };
        if let Some(history) = load.history {
            self.host.model().set_history(root.clone(), Arc::new(history));
            self.request_rescore();
        }
        self.history.outcomes.retain(|(r, ..)| *r != root);
        self.history.outcomes.push((root, state, head, load.elapsed));
    }

    pub(crate) fn on_history_done(&mut self) {
        self.history.running = false;
        self.history.next_head_check = Some(Instant::now() + self.head_check_interval());
        self.on_history_settled();
        if let Some(reporter) = self.history.progress.take() {
            let histories = self.host.model().history.read();
            let commits: usize = histories.iter().map(|(_, h)| h.facts().commits.len()).sum();
            let message =
                if histories.is_empty() { "no git history".to_owned() } else { format!("{commits} commits") };
            drop(histories);
            reporter.end(&self.sender, Some(message));
        }
    }

    /// Once a minute: has HEAD moved in any root? Then refresh (only new commits are read).
    fn head_check_interval(&self) -> Duration {
        Duration::from_secs(self.config.head_check_secs.max(1))
    }

    pub(crate) fn check_heads(&mut self) {
        self.history.next_head_check = Some(Instant::now() + self.head_check_interval());
        if self.history.running {
            return;
        }
        let known: Vec<(PathBuf, String)> = self
            .history
            .outcomes
            .iter()
            .filter_map(|(root, _, head, _)| Some((root.clone(), head.clone()?)))
            .collect();
        let cancel = self.index.cancel.clone();
        let tasks = self.task_sender.clone();
        self.workers.spawn(move || {
            let moved = known.iter().any(|(root, head)| {
                history_options(root, &cancel).is_some_and(|options| {
                    crate::history::head(root, &options).ok().flatten().is_some_and(|now| now.hash != *head)
                })
            });
            if moved {
                let _ = tasks.send(Task::HeadMoved);
            }
        });
    }

    pub(crate) fn history_status(&self) -> serde_json::Value {
        let roots: Vec<_> = self
            .history
            .outcomes
            .iter()
            .map(|(root, state, head, elapsed)| {
                let commits = self.host.model().history_for(root).map(|h| h.facts().commits.len());
                json!({
                    "root": root,
                    "state": state,
                    "head": head,
                    "commits": commits,
                    "ms": (elapsed.as_secs_f64() * 1000.0).round(),
                })
            })
            .collect();
        json!({ "running": self.history.running, "roots": roots })
    }
}
