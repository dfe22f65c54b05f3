//! The repository model — the symbol graph, and later the search index and history — and the
//! thread that keeps it current.
//!
//! Unlike documents, the model is shared rather than snapshotted: rebuilding or copying a
//! graph of a Django-sized repository per edit would cost more than the edit. Readers take a
//! read lock for the length of a query; the model thread takes the write lock only to apply a
//! prepared change (a full build is made off-lock and swapped in). Updates queue on a channel
//! and are coalesced per file, so a burst of edits costs one update.

use std::{
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use super::OpenDocument;
use crate::{
    graph::{SymbolGraph, UpdateStats},
    syntax::{FileSummary, Languages},
    workspace::FileId,
};

/// What snapshots read.
#[derive(Default)]
pub struct RepoModel {
    pub graph: RwLock<SymbolGraph>,
    /// Git history per workspace root that is (in) a repository.
    pub history: RwLock<Vec<(std::path::PathBuf, Arc<crate::history::History>)>>,
}

impl RepoModel {
    /// The history of the root holding `path`, if it has one.
    pub fn history_for(&self, path: &std::path::Path) -> Option<Arc<crate::history::History>> {
        self.history.read().iter().find(|(root, _)| path.starts_with(root)).map(|(_, h)| h.clone())
    }

    pub fn set_history(&self, root: std::path::PathBuf, history: Arc<crate::history::History>) {
        let mut all = self.history.write();
        all.retain(|(r, _)| *r != root);
        all.push((root, history));
    }
}

/// Where a file's content comes from: the disk (already summarized) or an open document
/// (summarized on the model thread, off the main loop).
#[derive(Clone)]
pub enum FileSource {
    Disk(Arc<FileSummary>),
    Open(Arc<OpenDocument>),
}

pub enum ModelUpdate {
    /// Build the model from scratch for this set of files.
    Rebuild(Vec<(FileId, String, FileSource)>),
    File(FileId, String, FileSource),
    Remove(FileId),
}

/// What the model thread reports back.
#[derive(Debug)]
pub enum ModelEvent {
    Rebuilt { files: usize, nodes: usize, edges: usize, elapsed: Duration },
    Updated { files: usize, stats: UpdateStats, elapsed: Duration },
}

/// Handle to the model thread; dropping it stops the thread after the queued work.
pub struct ModelUpdater {
    sender: Sender<ModelUpdate>,
}

impl ModelUpdater {
    pub fn spawn(
        model: Arc<RepoModel>,
        languages: Languages,
        events: impl Fn(ModelEvent) + Send + 'static,
    ) -> Self {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let spawned = thread::Builder::new()
            .name("repolens-model".into())
            .spawn(move || run(&model, &languages, &receiver, &events));
        if let Err(err) = spawned {
            tracing::error!("cannot start the model thread: {err}");
        }
        ModelUpdater { sender }
    }

    pub fn send(&self, update: ModelUpdate) {
        if self.sender.send(update).is_err() {
            tracing::error!("the model thread is gone; dropping an update");
        }
    }
}

/// A file's update, ready to apply: its path and summary (`None` in its place: remove it).
type Prepared = (String, Arc<FileSummary>);

fn summary_of(source: &FileSource, languages: &Languages) -> Option<Arc<FileSummary>> {
    match source {
        FileSource::Disk(summary) => Some(summary.clone()),
        FileSource::Open(doc) => doc.summary(languages),
    }
}

fn run(
    model: &RepoModel,
    languages: &Languages,
    receiver: &Receiver<ModelUpdate>,
    events: &dyn Fn(ModelEvent),
) {
    while let Ok(first) = receiver.recv() {
        // Take everything queued: a rebuild supersedes earlier updates, later updates to the
        // same file supersede earlier ones.
        let mut rebuild: Option<Vec<(FileId, String, FileSource)>> = None;
        let mut pending: FxHashMap<FileId, Option<(String, FileSource)>> = FxHashMap::default();
        let mut order: Vec<FileId> = Vec::new();
        for update in std::iter::once(first).chain(receiver.try_iter()) {
            match update {
                ModelUpdate::Rebuild(files) => {
                    rebuild = Some(files);
                    pending.clear();
                    order.clear();
                }
                ModelUpdate::File(file, rel, source) => {
                    if pending.insert(file, Some((rel, source))).is_none() {
                        order.push(file);
                    }
                }
                ModelUpdate::Remove(file) => {
                    if pending.insert(file, None).is_none() {
                        order.push(file);
                    }
                }
            }
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Some(files) = rebuild {
                let started = Instant::now();
                let summaries: Vec<_> = files
                    .into_iter()
                    .filter_map(|(file, rel, source)| Some((file, rel, summary_of(&source, languages)?)))
                    .collect();
                let count = summaries.len();
                let graph = SymbolGraph::build(summaries);
                let (nodes, edges) = (graph.node_count(), graph.edge_count());
                *model.graph.write() = graph;
                events(ModelEvent::Rebuilt { files: count, nodes, edges, elapsed: started.elapsed() });
            }
            if order.is_empty() {
                return;
            }
            let started = Instant::now();
            // Summaries of open documents are computed before taking the lock.
            let prepared: Vec<(FileId, Option<Prepared>)> = order
                .iter()
                .map(|file| {
                    let entry = pending.remove(file).flatten();
                    (*file, entry.and_then(|(rel, source)| Some((rel, summary_of(&source, languages)?))))
                })
                .collect();
            let mut stats = UpdateStats::default();
            let mut graph = model.graph.write();
            for (file, update) in prepared {
                let s = match update {
                    Some((rel, summary)) => graph.update_file(file, rel, summary),
                    None => graph.remove_file(file),
                };
                stats.resolved_files += s.resolved_files;
                stats.rebuilt |= s.rebuilt;
            }
            drop(graph);
            events(ModelEvent::Updated { files: order.len(), stats, elapsed: started.elapsed() });
        }));
        if let Err(panic) = outcome {
            tracing::error!(
                "updating the repository model panicked: {}",
                crate::stdx::panic_message(&*panic)
            );
        }
    }
}
