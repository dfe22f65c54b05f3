//! Indexing a workspace end to end, the same way for the server and the command line:
//! discover; phase 1 — cached full summaries for unchanged files, the quick outline for the rest
//! (enough to answer workspace symbols); phase 2 — a full parse of what phase 1 only outlined;
//! then the cache is saved for the next start.

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicBool},
    time::{Duration, Instant},
};

use super::{
    CacheError, DiscoverOptions, FileStamp, IndexCache, ScanDepth, ScanProgress, WorkspaceScan, discover,
    scan::summarize_tree, scan_files,
};
use crate::syntax::{FileSummary, Language, Languages, SummaryDetail, SyntaxTree};

/// Receives the phases of [`index_workspace`] as they finish.
pub trait IndexSink: Sync {
    /// Phase 1 is done: every file has at least its definitions.
    fn ready(&self, scan: &WorkspaceScan, elapsed: Duration);
    /// Phase 2 progress (files parsed so far).
    fn progress(&self, progress: ScanProgress);
    /// What to keep of a file phase 2 parsed, given its language, tree, text and content hash:
    /// by default its summary; a sink may read more while the tree is at hand.
    fn summarize(&self, lang: &Language, tree: &SyntaxTree, text: &str, hash: u64) -> FileSummary {
        summarize_tree(lang, tree, text, hash)
    }
}

/// How the cache took part in a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheState {
    /// No cache directory available, or disabled.
    Off,
    /// No usable cache: everything was parsed (the reason says why).
    Cold(String),
    /// A cache was loaded; `reused` of the files came from it.
    Warm { reused: usize },
}

/// The complete result, with timings per phase.
pub struct IndexBuild {
    pub scan: WorkspaceScan,
    pub cache: CacheState,
    pub discover: Duration,
    pub ready: Duration,
    pub parse: Duration,
}

/// Indexes `roots`, reporting phase 1 to `sink` before phase 2 starts (`depth` Outline stops
/// after phase 1). Returns `None` once `cancel` is set.
pub fn index_workspace(
    roots: &[PathBuf],
    options: &DiscoverOptions,
    languages: &Languages,
    cache: Option<&IndexCache>,
    depth: ScanDepth,
    sink: &dyn IndexSink,
    cancel: &AtomicBool,
) -> Option<IndexBuild> {
    let started = Instant::now();
    // The queries take ~50 ms to compile, about as long as reading the cache and walking
    // Django's tree: doing both at once takes that off the time to the first symbols.
    languages.warm_up();
    let fingerprint = languages.fingerprint();
    let (loaded, mut state) = match cache.map(|c| c.load(fingerprint)) {
        None => (None, CacheState::Off),
        Some(Ok(loaded)) => (Some(loaded), CacheState::Warm { reused: 0 }),
        Some(Err(err)) => {
            if !matches!(err, CacheError::Missing) {
                tracing::info!("discarding the index cache: {err}");
            }
            (None, CacheState::Cold(err.to_string()))
        }
    };
    let discovery = discover(roots, options);
    let discover_time = started.elapsed();
    let quiet = |_: ScanProgress| {};
    let mut phase1 = scan_files(
        &discovery,
        ScanDepth::Outline,
        options,
        languages,
        loaded.as_ref(),
        &summarize_tree,
        &quiet,
        cancel,
    )?;
    phase1.discover_time = discover_time;
    drop(loaded);
    let ready = started.elapsed();
    if let CacheState::Warm { reused } = &mut state {
        *reused = phase1.cached_count();
    }
    sink.ready(&phase1, ready);
    if depth == ScanDepth::Outline {
        return Some(IndexBuild {
            scan: phase1,
            cache: state,
            discover: discover_time,
            ready,
            parse: Duration::ZERO,
        });
    }
    // Phase 2: what phase 1 only outlined, and languages without an outline.
    let mut rest = phase1.outlined();
    let covered: rustc_hash::FxHashSet<&PathBuf> = phase1.files.iter().map(|f| &f.path).collect();
    rest.files.extend(
        discovery
            .files
            .iter()
            .filter(|(path, lang)| !covered.contains(path) && !languages.has_quick_outline(*lang))
            .cloned(),
    );
    let on_progress = |p: ScanProgress| sink.progress(p);
    let summarize =
        |lang: &Language, tree: &SyntaxTree, text: &str, hash: u64| sink.summarize(lang, tree, text, hash);
    let phase2 =
        scan_files(&rest, ScanDepth::Full, options, languages, None, &summarize, &on_progress, cancel)?;
    // The parse trees were freed on the scan's threads, whose arenas would keep that memory.
    crate::stdx::release_free_memory();
    let parse = phase2.parse_time;
    let mut files: Vec<_> =
        phase1.files.into_iter().filter(|f| f.summary.detail == SummaryDetail::Full).collect();
    files.extend(phase2.files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut skipped = phase1.skipped;
    skipped.merge(phase2.skipped);
    let scan = WorkspaceScan { files, skipped, discover_time, parse_time: parse };
    Some(IndexBuild { scan, cache: state, discover: discover_time, ready, parse })
}

/// Saves a finished build for the next start; failures are logged, never fatal.
pub fn save_index_cache(cache: &IndexCache, languages: &Languages, scan: &WorkspaceScan) {
    save_files(cache, languages.fingerprint(), cache_entries(scan));
}

/// A cache save running on its own thread. Dropping it waits for the save, so a command that
/// returns cannot leave the cache half written.
#[must_use = "dropping the save waits for it"]
pub struct PendingCacheSave(Option<std::thread::JoinHandle<()>>);

impl Drop for PendingCacheSave {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            let _ = handle.join();
        }
    }
}

/// [`save_index_cache`] on a thread of its own, so that what comes next (the graph and search
/// builds) need not wait for it: serializing and writing Django's summaries takes ~60 ms.
pub fn save_index_cache_in_background(
    cache: &IndexCache,
    languages: &Languages,
    scan: &WorkspaceScan,
) -> PendingCacheSave {
    let (cache, fingerprint, files) = (cache.clone(), languages.fingerprint(), cache_entries(scan));
    let spawned = std::thread::Builder::new()
        .name("repolens-cache-save".into())
        .spawn(move || save_files(&cache, fingerprint, files));
    match spawned {
        Ok(handle) => PendingCacheSave(Some(handle)),
        Err(err) => {
            tracing::warn!("could not start saving the index cache: {err}");
            PendingCacheSave(None)
        }
    }
}

type CacheEntry = (PathBuf, FileStamp, Arc<FileSummary>);

fn cache_entries(scan: &WorkspaceScan) -> Vec<CacheEntry> {
    scan.files.iter().map(|f| (f.path.clone(), f.stamp, f.summary.clone())).collect()
}

fn save_files(cache: &IndexCache, fingerprint: u64, files: Vec<CacheEntry>) {
    let started = Instant::now();
    match cache.save(fingerprint, &files) {
        Ok(()) => tracing::info!(
            "saved the index cache ({} files) to {} in {:.0} ms",
            files.len(),
            cache.path().display(),
            started.elapsed().as_secs_f64() * 1000.0
        ),
        Err(err) => tracing::warn!("could not save the index cache to {}: {err}", cache.path().display()),
    }
}
