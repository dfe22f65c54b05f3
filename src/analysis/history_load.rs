//! Loading a root's git history in the background: from the facts cached last time (reading
//! only the commits since), else from git in full; then saving the facts for next time.
//!
//! Function-level facts (which need every changed file version parsed) cover a window of about
//! thirteen months before HEAD — what risk scoring reads — whose start moves in 30-day steps, so
//! that a refresh reads only new commits instead of rebuilding whenever HEAD moves.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use crate::{
    history::{FACTS_FORMAT, FunctionScope, History, HistoryFacts, HistoryOptions, Refresh},
    stdx::CancelToken,
    workspace::{DiskSync, IndexCache},
};

const WINDOW_DAYS: i64 = 400;
const WINDOW_STEP_SECS: i64 = 30 * 86_400;

/// How a load went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistorySource {
    /// No history: not a repository, no git, no commits (the reason says which).
    Off(String),
    /// Read from git in full.
    Read,
    /// From cached facts, refreshed with what was new.
    Cached(Refresh),
}

pub struct HistoryLoad {
    pub history: Option<History>,
    pub source: HistorySource,
    pub elapsed: Duration,
}

/// The options a workspace's history is read with.
pub fn history_options(root: &Path, cancel: &CancelToken) -> Option<HistoryOptions> {
    history_options_at(root, None, cancel)
}

/// The options a workspace's history is read with, as of a commit (`None`: HEAD) — the same
/// window and half-life the server uses, so that `repolens risks --rev` scores as it would.
pub fn history_options_at(root: &Path, as_of: Option<&str>, cancel: &CancelToken) -> Option<HistoryOptions> {
    let mut options = HistoryOptions {
        as_of: as_of.map(str::to_owned),
        cancel: Some(cancel.clone()),
        ..HistoryOptions::default()
    };
    let head = crate::history::head(root, &options).ok().flatten()?;
    let start = head.time - WINDOW_DAYS * 86_400;
    options.functions = FunctionScope::Since(start - start.rem_euclid(WINDOW_STEP_SECS));
    Some(options)
}

pub fn load_history(root: &Path, cache: Option<&IndexCache>, cancel: &CancelToken) -> HistoryLoad {
    let started = Instant::now();
    let done = |history, source| HistoryLoad { history, source, elapsed: started.elapsed() };
    let Some(options) = history_options(root, cancel) else {
        return done(None, HistorySource::Off("not a git repository (or no git, or no commits)".into()));
    };
    let name = format!("history-{:016x}", xxhash_rust::xxh3::xxh3_64(root.to_string_lossy().as_bytes()));
    let fingerprint = u64::from(FACTS_FORMAT);
    let save = |history: &History| {
        if let Some(cache) = cache
            && let Err(err) = cache.save_extra(&name, fingerprint, history.facts(), DiskSync::Wait)
        {
            tracing::warn!("could not save history facts: {err}");
        }
    };
    let cached = cache
        .and_then(|c| c.load_extra::<HistoryFacts>(&name, fingerprint).ok())
        .and_then(|facts| History::from_facts(facts, options.half_life_days));
    if let Some(mut history) = cached {
        match history.refresh(root, &options) {
            Ok(refresh) => {
                if refresh != Refresh::Unchanged {
                    save(&history);
                }
                return done(Some(history), HistorySource::Cached(refresh));
            }
            Err(err) => tracing::info!("cached history could not be refreshed ({err}); reading it again"),
        }
    }
    match History::load(root, &options) {
        Ok(Some(history)) => {
            save(&history);
            done(Some(history), HistorySource::Read)
        }
        Ok(None) => done(None, HistorySource::Off("not a git repository (or no git, or no commits)".into())),
        Err(err) => {
            tracing::warn!("reading git history failed: {err}");
            done(None, HistorySource::Off(err.to_string()))
        }
    }
}
