//! The repository model — the symbol graph, the search index and git history — and the thread
//! that keeps it current.
//!
//! Unlike documents, the model is shared rather than snapshotted: rebuilding or copying a
//! graph of a Django-sized repository per edit would cost more than the edit. Readers take a
//! read lock for the length of a query; the model thread takes the write lock only to apply a
//! prepared change (a full build is made off-lock and swapped in). Search readers hold a tantivy
//! snapshot, replaced after each commit. Updates queue on a channel and are coalesced per file,
//! so a burst of edits costs one update. Full builds run at lower priority: a cold search build
//! is seconds of CPU that must not compete with requests.
//!
//! The search index lives in the cache directory next to a manifest (path → hash of the text
//! indexed), written after each commit; a warm start re-indexes only files whose text differs.
//! The manifest can only lag the index, never lead it, so a crash costs a redundant re-index at
//! worst.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, atomic::AtomicBool},
    thread,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use super::{
    OpenDocument,
    risk::{FactsByHash, RiskChange, RiskState, RiskStats},
};
use crate::{
    graph::{SymbolGraph, UpdateStats},
    risk::RiskTable,
    search::{BulkOptions, Chunk, SearchIndex, SearchSnapshot, chunks_for_file},
    syntax::{FileSummary, Languages, SyntaxTree},
    workspace::{DiskSync, FileId, IndexCache, read_source},
};

/// What snapshots read.
#[derive(Default)]
pub struct RepoModel {
    pub graph: RwLock<SymbolGraph>,
    /// The latest committed search snapshot; `None` until the first build.
    pub search: RwLock<Option<SearchSnapshot>>,
    /// Git history per workspace root that is (in) a repository.
    pub history: RwLock<Vec<(PathBuf, Arc<crate::history::History>)>>,
    /// Every file scored for risk; `None` until the first build after the graph.
    pub risk: RwLock<Option<Arc<RiskTable>>>,
}

impl RepoModel {
    /// The history of the root holding `path`, if it has one.
    pub fn history_for(&self, path: &Path) -> Option<Arc<crate::history::History>> {
        self.history.read().iter().find(|(root, _)| path.starts_with(root)).map(|(_, h)| h.clone())
    }

    pub fn set_history(&self, root: PathBuf, history: Arc<crate::history::History>) {
        let mut all = self.history.write();
        all.retain(|(r, _)| *r != root);
        all.push((root, history));
    }

    pub fn search(&self) -> Option<SearchSnapshot> {
        self.search.read().clone()
    }

    pub fn risk(&self) -> Option<Arc<RiskTable>> {
        self.risk.read().clone()
    }
}

/// Where a file's content comes from: the disk (already summarized; the text is read again for
/// search) or an open document (summarized on the model thread, off the main loop).
#[derive(Clone)]
pub enum FileSource {
    Disk(PathBuf, Arc<FileSummary>),
    Open(Arc<OpenDocument>),
}

/// One file as the model sees it.
#[derive(Clone)]
pub struct ModelFile {
    pub file: FileId,
    /// Workspace-relative, `/`-separated.
    pub rel_path: String,
    pub source: FileSource,
}

pub enum ModelUpdate {
    /// Build the model from scratch for this set of files.
    Rebuild(Vec<ModelFile>),
    File(ModelFile),
    Remove(FileId),
    /// History changed (read for the first time, or new commits): score risk again. The number
    /// names the request (they increase); `RiskScored` reports the latest one it has seen.
    Rescore(u64),
    /// Code facts indexing read, for the next rebuild (send them before it).
    Facts(FactsByHash),
}

/// What the model thread reports back.
#[derive(Debug)]
pub enum ModelEvent {
    Rebuilt {
        files: usize,
        nodes: usize,
        edges: usize,
        elapsed: Duration,
    },
    /// After a rebuild, always after its `Rebuilt`: the graph is in place when this arrives.
    SearchBuilt {
        chunks: u64,
        reindexed: usize,
        on_disk: bool,
        elapsed: Duration,
    },
    Updated {
        files: usize,
        stats: UpdateStats,
        elapsed: Duration,
    },
    /// The risk table was built or changed.
    RiskScored {
        stats: RiskStats,
        elapsed: Duration,
        /// The latest `Rescore` request received before this scoring read the history: the
        /// history that request announced is in these scores. A rebuild's scores may have read
        /// the history just before a newer one was set, and must not pass for that rescore.
        rescore_seen: u64,
    },
}

/// Settings of the model thread.
pub struct ModelConfig {
    pub languages: Languages,
    pub cache: Option<IndexCache>,
    pub max_file_size: u64,
    /// Ignore what the cache holds (search index, risk facts) and write it afresh: a cold start.
    pub cold: bool,
    /// Build and maintain the search index (commands that only score risk do without).
    pub search: bool,
}

/// Handle to the model thread; dropping it stops the thread after the queued work.
pub struct ModelUpdater {
    sender: Sender<ModelUpdate>,
}

impl ModelUpdater {
    pub fn spawn(
        model: Arc<RepoModel>,
        config: ModelConfig,
        events: impl Fn(ModelEvent) + Send + Sync + 'static,
    ) -> Self {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let spawned = thread::Builder::new().name("repolens-model".into()).spawn(move || {
            ModelThread {
                model,
                config,
                search: None,
                manifest: FxHashMap::default(),
                risk: RiskState::new(),
                rescore_seen: 0,
                events: Arc::new(events),
            }
            .run(&receiver);
        });
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

/// Builds the graph of `summaries`, makes it the model's and says so.
fn publish_graph(
    model: &RepoModel,
    events: &(dyn Fn(ModelEvent) + Send + Sync),
    summaries: Vec<(FileId, String, Arc<FileSummary>)>,
    started: Instant,
) {
    let files = summaries.len();
    let graph = SymbolGraph::build(summaries);
    let (nodes, edges) = (graph.node_count(), graph.edge_count());
    *model.graph.write() = graph;
    events(ModelEvent::Rebuilt { files, nodes, edges, elapsed: started.elapsed() });
}

/// A file's update, ready to apply: path, summary, text and (for an open document) its tree
/// (`None` in its place: remove it).
type Prepared = (String, Arc<FileSummary>, Option<String>, Option<SyntaxTree>);

struct ModelThread {
    model: Arc<RepoModel>,
    config: ModelConfig,
    search: Option<SearchIndex>,
    /// Path → xxh3 of the text indexed for it.
    manifest: FxHashMap<String, u64>,
    risk: RiskState,
    /// The latest `Rescore` request taken off the queue.
    rescore_seen: u64,
    /// Shared with the thread that builds the graph beside the search index.
    events: Arc<dyn Fn(ModelEvent) + Send + Sync>,
}

const MANIFEST: &str = "search-manifest";

impl ModelThread {
    fn run(mut self, receiver: &Receiver<ModelUpdate>) {
        while let Ok(first) = receiver.recv() {
            // Take everything queued: a rebuild supersedes earlier updates, later updates to the
            // same file supersede earlier ones.
            let mut rebuild: Option<Vec<ModelFile>> = None;
            let mut pending: FxHashMap<FileId, Option<ModelFile>> = FxHashMap::default();
            let mut order: Vec<FileId> = Vec::new();
            let mut rescore = false;
            for update in std::iter::once(first).chain(receiver.try_iter()) {
                match update {
                    ModelUpdate::Rebuild(files) => {
                        rebuild = Some(files);
                        pending.clear();
                        order.clear();
                        rescore = false;
                    }
                    ModelUpdate::Rescore(request) => {
                        rescore = true;
                        self.rescore_seen = self.rescore_seen.max(request);
                    }
                    ModelUpdate::Facts(facts) => self.risk.add_fresh(facts),
                    ModelUpdate::File(file) => {
                        if pending.insert(file.file, Some(file.clone())).is_none() {
                            order.push(file.file);
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
                    // A cold build is seconds of CPU that must yield to requests; edits that
                    // follow are small and should not wait behind other work, so only the
                    // rebuild runs at lower priority (a thread cannot raise its priority back).
                    std::thread::scope(|scope| {
                        let spawned = thread::Builder::new()
                            .name("repolens-model-build".into())
                            .spawn_scoped(scope, || {
                                crate::stdx::lower_thread_priority();
                                self.rebuild(files);
                            });
                        if let Err(err) = spawned {
                            tracing::error!("cannot start the model build: {err}");
                        }
                    });
                }
                if !order.is_empty() {
                    self.update(&order, &mut pending);
                }
                if rescore {
                    self.rescore_risk();
                }
            }));
            if let Err(panic) = outcome {
                tracing::error!(
                    "updating the repository model panicked: {}",
                    crate::stdx::panic_message(&*panic)
                );
            }
        }
    }

    fn summary_of(&self, source: &FileSource) -> Option<Arc<FileSummary>> {
        match source {
            FileSource::Disk(_, summary) => Some(summary.clone()),
            FileSource::Open(doc) => doc.summary(&self.config.languages),
        }
    }

    fn text_of(&self, source: &FileSource) -> Option<String> {
        text_of(source, self.config.max_file_size)
    }

    fn rebuild(&mut self, files: Vec<ModelFile>) {
        let started = Instant::now();
        let summaries: Vec<_> = files
            .iter()
            .filter_map(|f| Some((f.file, f.rel_path.clone(), self.summary_of(&f.source)?)))
            .collect();
        // The graph is one thread's work and search indexing keeps the other cores busy, so they
        // run side by side: on two cores a cold Django build finishes ~0.15 s sooner than one
        // after the other. The graph is published as soon as it is built, search or not; the
        // search event waits for the graph's, so that whoever waits for "search built" (the
        // server's indexing progress, `load`) finds the graph in place too.
        let search_built = std::thread::scope(|scope| {
            let (model, events, graph_input) = (self.model.clone(), self.events.clone(), summaries.clone());
            let spawned = thread::Builder::new()
                .name("repolens-graph".into())
                .spawn_scoped(scope, move || publish_graph(&model, &*events, graph_input, started));
            let graph_built = match spawned {
                Ok(_) => true,
                Err(err) => {
                    tracing::warn!("cannot start a thread for the graph ({err}); building it after search");
                    false
                }
            };
            // Search before risk, for memory: a cold search build holds tens of megabytes of
            // indexing buffers, and the risk table would sit under them. Risk diagnostics wait
            // for history on a first start anyway, and a warm start indexes nothing here.
            let search_built = self.config.search.then(|| self.rebuild_search(&files, &summaries));
            if !graph_built {
                publish_graph(&self.model, &*self.events, summaries.clone(), started);
            }
            search_built
        });
        if let Some(event) = search_built {
            (self.events)(event);
        }
        crate::stdx::release_free_memory();
        let started = Instant::now();
        let stats = self.risk.rebuild(
            &self.model,
            &files,
            &self.config.languages,
            self.config.cache.as_ref(),
            self.config.cold,
            self.config.max_file_size,
        );
        self.risk_scored(stats, started);
        crate::stdx::release_free_memory();
    }

    fn risk_scored(&self, stats: RiskStats, started: Instant) {
        let rescore_seen = self.rescore_seen;
        (self.events)(ModelEvent::RiskScored { stats, elapsed: started.elapsed(), rescore_seen });
    }

    fn rescore_risk(&mut self) {
        let started = Instant::now();
        if self.model.risk.read().is_none() {
            // The first build will use the new history; say so, so that nobody waits for this.
            self.risk_scored(RiskStats::default(), started);
            return;
        }
        let stats = self.risk.rescore(&self.model);
        self.risk_scored(stats, started);
    }

    fn open_search(&mut self) -> &mut SearchIndex {
        if self.search.is_none() {
            let dir = self.config.cache.as_ref().map(|c| c.dir().join("search"));
            if let Some(dir) = dir.as_deref().filter(|_| self.config.cold) {
                let _ = std::fs::remove_dir_all(dir);
            }
            let opened = dir.as_deref().and_then(|dir| match SearchIndex::open_or_create(dir) {
                Ok(index) => Some(index),
                Err(err) if err.needs_rebuild() => {
                    tracing::info!("rebuilding the search index: {err}");
                    let _ = std::fs::remove_dir_all(dir);
                    SearchIndex::open_or_create(dir).ok()
                }
                Err(err) => {
                    tracing::info!("searching in memory: {err}");
                    None
                }
            });
            let on_disk = opened.is_some();
            let index = opened.or_else(|| SearchIndex::in_memory().ok());
            // The manifest describes only an index on disk that it was written for.
            self.manifest = match (&self.config.cache, on_disk) {
                (Some(cache), true) => {
                    cache.load_extra(MANIFEST, self.manifest_fingerprint()).unwrap_or_default()
                }
                _ => FxHashMap::default(),
            };
            self.search = index;
        }
        self.search.as_mut().expect("an in-memory index can always be made")
    }

    fn manifest_fingerprint(&self) -> u64 {
        self.config.languages.fingerprint() ^ u64::from(crate::search::INDEX_FORMAT_VERSION)
    }

    /// Brings the search index in line with `files`; returns the event that says so.
    fn rebuild_search(
        &mut self,
        files: &[ModelFile],
        summaries: &[(FileId, String, Arc<FileSummary>)],
    ) -> ModelEvent {
        let started = Instant::now();
        let summary_of: FxHashMap<FileId, &Arc<FileSummary>> =
            summaries.iter().map(|(f, _, s)| (*f, s)).collect();
        self.open_search();
        let on_disk = self.search.as_ref().is_some_and(|s| s.directory().is_some());
        if self.search.as_ref().is_some_and(|s| s.num_chunks() == 0) {
            self.manifest.clear();
        }
        // Files are read, hashed and chunked one at a time as the writer pulls them, so a cold
        // build never holds every file's chunks at once (tens of megabytes on Django).
        let mut manifest = std::mem::take(&mut self.manifest);
        let seen: rustc_hash::FxHashSet<&str> = files.iter().map(|f| f.rel_path.as_str()).collect();
        let gone: Vec<String> = manifest.keys().filter(|p| !seen.contains(p.as_str())).cloned().collect();
        let mut reindexed = 0;
        let changed = files.iter().filter_map(|file| {
            let summary = summary_of.get(&file.file)?;
            let text = text_of(&file.source, self.config.max_file_size)?;
            let hash = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
            if manifest.get(&file.rel_path) == Some(&hash) {
                return None;
            }
            manifest.insert(file.rel_path.clone(), hash);
            reindexed += 1;
            let chunks = chunks_for_file(&file.rel_path, &module_of(&file.rel_path), summary, &text);
            Some((file.rel_path.clone(), chunks))
        });
        let index = self.search.as_mut().expect("opened above");
        let result = (|| -> crate::search::SearchResult<()> {
            for path in &gone {
                index.remove_file(path)?;
            }
            // One writer for all: replacing files one by one would cost a commit's worth of
            // segment work per file; bulk indexing of an unchanged set indexes nothing.
            index.bulk_index(changed, &BulkOptions::default(), &AtomicBool::new(false))?;
            index.commit()
        })();
        for path in &gone {
            manifest.remove(path);
        }
        self.manifest = manifest;
        match result {
            Ok(()) => {
                self.after_commit();
                // Edits are persisted behind their commits, but a build is what the next start
                // reads: a command that exits right after it must leave it (and the manifest)
                // on disk. The few small files not already written take milliseconds.
                if let Some(index) = &self.search {
                    index.wait_persisted();
                }
            }
            Err(err) => {
                tracing::warn!("building the search index failed: {err}");
                self.manifest.clear();
            }
        }
        let chunks = self.search.as_ref().map_or(0, SearchIndex::num_chunks);
        ModelEvent::SearchBuilt { chunks, reindexed, on_disk, elapsed: started.elapsed() }
    }

    fn after_commit(&mut self) {
        let Some(index) = &self.search else { return };
        *self.model.search.write() = Some(index.snapshot());
        if let (Some(cache), Some(_)) = (&self.config.cache, index.directory()) {
            // Saved behind the index's own writes: the manifest must not get ahead of the disk.
            let (cache, fingerprint, manifest) =
                (cache.clone(), self.manifest_fingerprint(), self.manifest.clone());
            index.when_persisted(move || {
                if let Err(err) = cache.save_extra(MANIFEST, fingerprint, &manifest, DiskSync::Skip) {
                    tracing::warn!("could not save the search manifest: {err}");
                }
            });
        }
    }

    fn update(&mut self, order: &[FileId], pending: &mut FxHashMap<FileId, Option<ModelFile>>) {
        let started = Instant::now();
        // Summaries and texts are prepared before taking the lock.
        let prepared: Vec<(FileId, Option<Prepared>)> = order
            .iter()
            .map(|file| {
                let entry = pending.remove(file).flatten();
                let prepared = entry.and_then(|f| {
                    let summary = self.summary_of(&f.source)?;
                    let tree = match &f.source {
                        FileSource::Open(doc) => doc.tree.clone(),
                        FileSource::Disk(..) => None,
                    };
                    Some((f.rel_path, summary, self.text_of(&f.source), tree))
                });
                (*file, prepared)
            })
            .collect();
        let mut stats = UpdateStats::default();
        let mut search_changes: Vec<(String, Option<Vec<Chunk>>)> = Vec::new();
        let mut risk_changes: Vec<RiskChange> = Vec::new();
        {
            let mut graph = self.model.graph.write();
            for (file, update) in prepared {
                let s = match update {
                    Some((rel, summary, text, tree)) => {
                        if let Some(text) = text {
                            let chunks = chunks_for_file(&rel, &module_of(&rel), &summary, &text);
                            self.manifest.insert(rel.clone(), xxhash_rust::xxh3::xxh3_64(text.as_bytes()));
                            search_changes.push((rel.clone(), Some(chunks)));
                            risk_changes.push(RiskChange {
                                file,
                                rel_path: rel.clone(),
                                content: Some((text, tree)),
                            });
                        }
                        graph.update_file(file, rel, summary)
                    }
                    None => {
                        if let Some(rel) = graph.rel_path(file) {
                            self.manifest.remove(rel);
                            search_changes.push((rel.to_owned(), None));
                            risk_changes.push(RiskChange { file, rel_path: rel.to_owned(), content: None });
                        }
                        graph.remove_file(file)
                    }
                };
                stats.resolved_files += s.resolved_files;
                stats.rebuilt |= s.rebuilt;
            }
        }
        if let Some(index) = self.search.as_mut() {
            let result = (|| -> crate::search::SearchResult<()> {
                for (path, chunks) in &search_changes {
                    match chunks {
                        Some(chunks) => {
                            index.replace_file(path, chunks)?;
                        }
                        None => index.remove_file(path)?,
                    }
                }
                index.commit()
            })();
            match result {
                Ok(()) => self.after_commit(),
                Err(err) => tracing::warn!("updating the search index failed: {err}"),
            }
        }
        (self.events)(ModelEvent::Updated { files: order.len(), stats, elapsed: started.elapsed() });
        if !risk_changes.is_empty() {
            let started = Instant::now();
            if let Some(stats) = self.risk.update(&self.model, risk_changes, &self.config.languages) {
                self.risk_scored(stats, started);
            }
        }
    }
}

/// The current text of a file: the open document's, else what is on disk.
fn text_of(source: &FileSource, max_file_size: u64) -> Option<String> {
    match source {
        FileSource::Disk(path, _) => read_source(path, max_file_size).ok(),
        FileSource::Open(doc) => Some(doc.document.text()),
    }
}

/// The dotted module a workspace-relative path stands for (`pkg/mod.py` → `pkg.mod`).
pub(crate) fn module_of(rel_path: &str) -> String {
    super::snapshot::module_name_of(Path::new(rel_path))
}
