//! Building and maintaining the index from the server: the background index job and its
//! phases (discover → quick outline → full parse → symbol graph), progress reports, debounced
//! model updates for edited documents, and the numbers `repolens/status` reports.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use rustc_hash::FxHashMap;
use serde_json::json;

use super::{
    progress::ProgressReporter,
    server::{Server, Task},
};
use crate::{
    analysis::{FactsByHash, FreshFacts, ModelEvent, ModelUpdate},
    stdx::CancelToken,
    syntax::{FileSummary, Language, LanguageId, SyntaxTree},
    workspace::{
        CacheState, DiscoverOptions, DiskChange, DiskWatcher, FileId, IndexBuild, IndexSink, ScanDepth,
        ScanProgress, Skipped, VfsPath, WorkspaceScan, index_workspace, read_source, save_index_cache,
        summarize_source,
    },
};

/// Hands the index job's phases to the main loop.
struct TaskSink {
    tasks: crossbeam_channel::Sender<Task>,
    facts: FreshFacts,
}

impl IndexSink for TaskSink {
    fn ready(&self, scan: &WorkspaceScan, elapsed: Duration) {
        if !scan.files.is_empty() {
            let _ = self.tasks.send(Task::OutlineReady { scan: Box::new(scan.clone()), elapsed });
        }
    }

    fn progress(&self, progress: ScanProgress) {
        let _ = self.tasks.send(Task::IndexProgress(progress));
    }

    fn summarize(&self, lang: &Language, tree: &SyntaxTree, text: &str, hash: u64) -> FileSummary {
        self.facts.summarize(lang, tree, text, hash)
    }
}

/// Edits to an open document reach the graph this long after the last one.
const MODEL_DEBOUNCE: Duration = Duration::from_millis(300);

#[derive(Default)]
pub(crate) struct IndexState {
    pub cancel: CancelToken,
    started: Option<Instant>,
    progress: Option<ProgressReporter>,
    pub phases: Phases,
    files: usize,
    symbols: usize,
    references: usize,
    skipped: Skipped,
    graph: Option<(usize, usize)>,
    /// Chunks indexed, and whether the index is on disk.
    search: Option<(u64, bool)>,
    /// The full scan has been applied; disk changes before that wait in `early_changes`.
    full_done: bool,
    early_changes: Vec<(PathBuf, DiskChange)>,
    disk_reads: DiskReads,
    watcher: Option<DiskWatcher>,
    cache: Option<CacheState>,
}

/// The newest re-read of each file changed on disk. Reads run on the workers and finish in any
/// order, so a read that saw an older state of a file (or one from before its deletion) may
/// arrive after the read of its current state; only the newest read of a file may apply.
#[derive(Debug, Default)]
struct DiskReads {
    newest: FxHashMap<FileId, u64>,
    issued: u64,
    /// Reads started and not finished, stale ones included.
    running: usize,
}

impl DiskReads {
    /// A read of `file` starts; earlier reads of it no longer count.
    fn start(&mut self, file: FileId) -> u64 {
        self.issued += 1;
        self.running += 1;
        self.newest.insert(file, self.issued);
        self.issued
    }

    /// The file is gone: no read in flight may bring it back.
    fn forget(&mut self, file: FileId) {
        self.newest.remove(&file);
    }

    /// Whether `read` is the newest read of `file`; if so, it is no longer in flight.
    fn finish(&mut self, file: FileId, read: u64) -> bool {
        self.running = self.running.saturating_sub(1);
        let newest = self.newest.get(&file) == Some(&read);
        if newest {
            self.newest.remove(&file);
        }
        newest
    }

    fn running(&self) -> usize {
        self.running
    }
}

/// How long each phase of the last index build took.
#[derive(Clone, Debug, Default)]
pub(crate) struct Phases {
    pub discover: Option<Duration>,
    /// From the start until workspace symbols could be answered.
    pub ready: Option<Duration>,
    pub parse: Option<Duration>,
    pub graph: Option<Duration>,
    pub search: Option<Duration>,
}

fn ms(duration: Option<Duration>) -> serde_json::Value {
    duration.map_or(serde_json::Value::Null, |d| json!((d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0))
}

impl Server {
    pub(crate) fn start_indexing(&mut self) {
        if self.index.started.is_some() {
            return;
        }
        let roots = self.host.roots().to_vec();
        let languages = self.host.languages().clone();
        let options = DiscoverOptions { max_file_size: self.config.max_file_size };
        let cache = self.config.index_cache(&roots);
        let cancel = self.index.cancel.clone();
        self.index.started = Some(Instant::now());
        if self.client.work_done_progress {
            self.index.progress =
                Some(ProgressReporter::begin(self, "Indexing", Some("discovering files".into())));
        }
        let sink = TaskSink { tasks: self.task_sender.clone(), facts: FreshFacts::default() };
        let spawned = std::thread::Builder::new().name("repolens-index".into()).spawn(move || {
            let started = Instant::now();
            let build = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                index_workspace(
                    &roots,
                    &options,
                    &languages,
                    cache.as_ref(),
                    ScanDepth::Full,
                    &sink,
                    cancel.flag(),
                )
            }))
            .unwrap_or_else(|panic| {
                tracing::error!("indexing panicked: {}", crate::stdx::panic_message(&*panic));
                None
            });
            let build = build.map(Box::new);
            let saved = build.as_ref().map(|b| b.scan.clone());
            let facts = sink.facts.take();
            let _ = sink.tasks.send(Task::IndexDone { build, facts, elapsed: started.elapsed() });
            if let (Some(cache), Some(scan)) = (cache, saved) {
                save_index_cache(&cache, &languages, &scan);
            }
        });
        if let Err(err) = spawned {
            tracing::error!("cannot start indexing: {err}");
        }
    }

    pub(crate) fn on_index_progress(&mut self, progress: ScanProgress) {
        if let Some(reporter) = self.index.progress.as_mut() {
            let message = format!("parsing {}/{} files", progress.done, progress.total);
            let percent = (progress.done * 85).checked_div(progress.total).unwrap_or(0);
            reporter.report(&self.sender, Some(message), Some(percent as u32));
        }
    }

    pub(crate) fn on_outline_ready(&mut self, scan: WorkspaceScan, elapsed: Duration) {
        self.index.phases.discover = Some(scan.discover_time);
        self.index.phases.ready = Some(elapsed);
        let summary = self.host.apply_scan(scan);
        tracing::info!(
            "workspace symbols ready: {} files, {} definitions in {:.0} ms",
            summary.files,
            summary.symbols,
            elapsed.as_secs_f64() * 1000.0
        );
        self.release_deferred(true);
    }

    pub(crate) fn finish_indexing(
        &mut self,
        build: Option<Box<IndexBuild>>,
        facts: FactsByHash,
        elapsed: Duration,
    ) {
        let Some(build) = build else {
            if let Some(reporter) = self.index.progress.take() {
                reporter.end(&self.sender, Some("cancelled".into()));
            }
            self.release_deferred(true);
            return;
        };
        let IndexBuild { scan, cache, parse, .. } = *build;
        match &cache {
            CacheState::Warm { reused } => {
                tracing::info!("index cache: reused {reused} of {} files", scan.files.len())
            }
            CacheState::Cold(reason) => tracing::info!("index cache: cold ({reason})"),
            CacheState::Off => {}
        }
        self.index.cache = Some(cache);
        let summary = self.host.apply_scan(scan);
        self.index.full_done = true;
        self.index.phases.parse = Some(parse);
        (self.index.files, self.index.symbols, self.index.references) =
            (summary.files, summary.symbols, summary.references);
        self.index.skipped = summary.skipped.clone();
        let skipped: Vec<String> =
            summary.skipped.counts.iter().map(|(r, n)| format!("{}={n}", r.as_str())).collect();
        tracing::info!(
            "parsed {} files ({} symbols, {} references) in {:.0} ms; skipped {} [{}]",
            summary.files,
            summary.symbols,
            summary.references,
            elapsed.as_secs_f64() * 1000.0,
            summary.skipped.total(),
            skipped.join(", ")
        );
        for (path, reason) in &summary.skipped.examples {
            tracing::info!("skipped {} ({})", path.display(), reason.as_str());
        }
        if let Some(reporter) = self.index.progress.as_mut() {
            reporter.report(&self.sender, Some("building the symbol graph".into()), Some(90));
        }
        self.release_deferred(true);
        // Edits waiting for the model are part of the rebuild.
        self.model_due.clear();
        if let Some(model) = &self.model {
            model.send(ModelUpdate::Facts(facts));
            model.send(ModelUpdate::Rebuild(self.host.model_sources()));
        }
        let early = std::mem::take(&mut self.index.early_changes);
        if !early.is_empty() {
            self.on_disk_changes(early);
        }
        self.start_history();
    }

    /// Starts watching the disk: through the client when it offers that, else ourselves.
    pub(crate) fn start_watching(&mut self) {
        if self.client.watched_files_registration {
            let registration = lsp_types::Registration {
                id: "repolens/watched-files".into(),
                method: "workspace/didChangeWatchedFiles".into(),
                register_options: Some(json!({
                    "watchers": [{ "globPattern": "**/*.py" }, { "globPattern": "**/*.pyi" }],
                })),
            };
            let params = lsp_types::RegistrationParams { registrations: vec![registration] };
            self.send_request("client/registerCapability", serde_json::to_value(params).unwrap_or_default());
            return;
        }
        let tasks = self.task_sender.clone();
        match DiskWatcher::start(self.host.roots(), move |changes| {
            let _ = tasks.send(Task::DiskChanged(changes));
        }) {
            Ok(watcher) => self.index.watcher = Some(watcher),
            Err(err) => tracing::warn!("not watching the disk for changes: {err:#}"),
        }
    }

    /// Re-reads changed files on the workers; deletions apply at once.
    pub(crate) fn on_disk_changes(&mut self, changes: Vec<(PathBuf, DiskChange)>) {
        if !self.index.full_done {
            self.index.early_changes.extend(changes);
            return;
        }
        for (path, change) in changes {
            if !self.host.roots().iter().any(|root| path.starts_with(root)) {
                continue;
            }
            let Some(language) = LanguageId::from_path(&path) else { continue };
            let file = self.host.file_id(VfsPath::Disk(path.clone()));
            if change == DiskChange::Deleted {
                self.index.disk_reads.forget(file);
                self.apply_disk_file(file, None);
                continue;
            }
            let read = self.index.disk_reads.start(file);
            let languages = self.host.languages().clone();
            let max_file_size = self.config.max_file_size;
            let tasks = self.task_sender.clone();
            self.workers.spawn(move || {
                let summary = read_source(&path, max_file_size)
                    .ok()
                    .and_then(|text| summarize_source(&languages, language, &text))
                    .map(Arc::new);
                let _ = tasks.send(Task::DiskFileIndexed { file, read, summary });
            });
        }
    }

    pub(crate) fn on_disk_file_indexed(
        &mut self,
        file: FileId,
        read: u64,
        summary: Option<Arc<FileSummary>>,
    ) {
        if !self.index.disk_reads.finish(file, read) {
            tracing::debug!("dropped a stale re-read of {file:?}: the file changed again");
            return;
        }
        self.apply_disk_file(file, summary);
    }

    fn apply_disk_file(&mut self, file: FileId, summary: Option<Arc<FileSummary>>) {
        match summary {
            Some(summary) => self.host.set_disk_summary(file, summary),
            None => self.host.remove_disk_file(file),
        }
        // An open document keeps winning over its file.
        if !self.host.is_open(file) {
            self.send_model_update(file);
        }
    }

    pub(crate) fn on_model_event(&mut self, event: ModelEvent) {
        match event {
            ModelEvent::Rebuilt { files, nodes, edges, elapsed } => {
                self.index.phases.graph = Some(elapsed);
                self.index.graph = Some((nodes, edges));
                tracing::info!(
                    "symbol graph: {nodes} nodes, {edges} edges from {files} files in {:.0} ms",
                    elapsed.as_secs_f64() * 1000.0
                );
                if let Some(reporter) = self.index.progress.as_mut() {
                    reporter.report(&self.sender, Some("building the search index".into()), Some(95));
                }
            }
            ModelEvent::SearchBuilt { chunks, reindexed, on_disk, elapsed } => {
                self.index.phases.search = Some(elapsed);
                self.index.search = Some((chunks, on_disk));
                tracing::info!(
                    "search index: {chunks} chunks ({reindexed} files indexed{}) in {:.0} ms",
                    if on_disk { ", on disk" } else { ", in memory" },
                    elapsed.as_secs_f64() * 1000.0
                );
                if let Some(reporter) = self.index.progress.take() {
                    let message = format!("{} files, {} symbols", self.index.files, self.index.symbols);
                    reporter.end(&self.sender, Some(message));
                }
            }
            ModelEvent::RiskScored { stats, elapsed, rescore_seen } => {
                self.on_risk_scored(stats, elapsed, rescore_seen)
            }
            ModelEvent::Updated { files, stats, elapsed } => {
                tracing::debug!(
                    "model updated for {files} files ({} re-resolved) in {:.1} ms",
                    stats.resolved_files,
                    elapsed.as_secs_f64() * 1000.0
                );
            }
        }
    }

    /// An open document changed: its model update waits for the edits to settle.
    pub(crate) fn schedule_model_update(&mut self, file: FileId) {
        self.model_due.insert(file, Instant::now() + MODEL_DEBOUNCE);
    }

    /// Sends the model updates that are due (all of them with `all`).
    pub(crate) fn flush_model_updates(&mut self, all: bool) {
        let now = Instant::now();
        let due: Vec<FileId> =
            self.model_due.iter().filter(|(_, at)| all || **at <= now).map(|(file, _)| *file).collect();
        for file in due {
            self.model_due.remove(&file);
            self.send_model_update(file);
        }
    }

    /// Sends the current source of `file` (open document or disk) to the model, or its removal.
    pub(crate) fn send_model_update(&mut self, file: FileId) {
        let Some(model) = &self.model else { return };
        if !self.host.index_ready() {
            return; // the first build will include it
        }
        if self.host.rel_path(file).is_none() {
            return; // outside every root (an untitled buffer, a file elsewhere)
        }
        match self.host.model_file(file) {
            Some(model_file) => model.send(ModelUpdate::File(model_file)),
            None => model.send(ModelUpdate::Remove(file)),
        }
    }

    /// The `repolens/status` answer.
    pub(crate) fn status(&self) -> serde_json::Value {
        let graph = self.host.model().graph.read();
        let phases = &self.index.phases;
        let skipped: serde_json::Map<String, serde_json::Value> =
            self.index.skipped.counts.iter().map(|(r, n)| (r.as_str().to_owned(), json!(n))).collect();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "roots": self.host.roots(),
            "indexReady": self.host.index_ready(),
            "files": self.index.files,
            "symbols": self.index.symbols,
            "references": self.index.references,
            "skipped": skipped,
                        "graph": { "files": graph.file_count(), "nodes": graph.node_count(), "edges": graph.edge_count() },
            "search": self.index.search.map_or(serde_json::Value::Null, |(chunks, on_disk)| json!({ "chunks": chunks, "onDisk": on_disk })),
            "phases": {
                "discoverMs": ms(phases.discover),
                                "readyMs": ms(phases.ready),
                "parseMs": ms(phases.parse),
                                "graphMs": ms(phases.graph),
                "searchMs": ms(phases.search),
            },
                        "cache": match &self.index.cache {
                Some(CacheState::Warm { reused }) => json!({ "state": "warm", "reused": reused }),
                Some(CacheState::Cold(reason)) => json!({ "state": "cold", "reason": reason }),
                Some(CacheState::Off) => json!({ "state": "off" }),
                None => json!({ "state": "pending" }),
            },
                        "history": self.history_status(),
            "pendingModelUpdates": self.model_due.len(),
            "pendingDiskReads": self.index.disk_reads.running(),
            "openDocuments": self.host.open_documents(),
        })
    }
}
