//! Scanning a whole workspace: read, parse and summarize every file, in parallel, reusing the
//! cache for files whose content has not changed.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use rayon::prelude::*;

use super::{
    DiscoverOptions, Discovery, SkipReason, Skipped,
    cache::{CacheLookup, CachedIndex, FileStamp, content_hash, stat},
    discover, read_source,
};
use crate::syntax::{
    FileSummary, Language, LanguageId, Languages, ParseBudget, SummaryDetail, SyntaxTree, parse_text,
};

/// How deeply to read each file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanDepth {
    /// Definitions from the quick outline for the languages that have one (others are left
    /// out), or the cached full summary where the content is unchanged: a Django-sized tree
    /// takes a fraction of a second.
    Outline,
    /// A full tree-sitter parse and the queries.
    Full,
}

#[derive(Clone)]
pub struct ScannedFile {
    pub path: PathBuf,
    pub language: LanguageId,
    pub summary: Arc<FileSummary>,
    pub stamp: FileStamp,
    /// The summary came from the cache.
    pub cached: bool,
}

#[derive(Clone)]
pub struct WorkspaceScan {
    pub files: Vec<ScannedFile>,
    pub skipped: Skipped,
    pub discover_time: Duration,
    pub parse_time: Duration,
}

impl WorkspaceScan {
    /// Files whose summary is only an outline: what a full pass still has to parse.
    pub fn outlined(&self) -> Discovery {
        let files = self
            .files
            .iter()
            .filter(|f| f.summary.detail == SummaryDetail::Outline)
            .map(|f| (f.path.clone(), f.language))
            .collect();
        Discovery { files, skipped: Skipped::default() }
    }

    pub fn cached_count(&self) -> usize {
        self.files.iter().filter(|f| f.cached).count()
    }
}

/// What a scan keeps of a freshly parsed file, given its language, tree, text and content hash
/// (files whose cached summary is current are not parsed). [`summarize_tree`] is the default;
/// a caller may read more from the tree while it is at hand.
pub type Summarize<'a> = dyn Fn(&Language, &SyntaxTree, &str, u64) -> FileSummary + Sync + 'a;

/// The summary alone.
pub fn summarize_tree(lang: &Language, tree: &SyntaxTree, text: &str, _hash: u64) -> FileSummary {
    FileSummary::build(lang, tree, text)
}

#[derive(Clone, Copy, Debug)]
pub struct ScanProgress {
    pub done: usize,
    pub total: usize,
}

/// Discovers and fully summarizes every source file under `roots`, without a cache. Returns
/// `None` once `cancel` is set.
pub fn scan_workspace(
    roots: &[PathBuf],
    options: &DiscoverOptions,
    languages: &Languages,
    on_progress: &(dyn Fn(ScanProgress) + Sync),
    cancel: &AtomicBool,
) -> Option<WorkspaceScan> {
    let started = Instant::now();
    let discovery = discover(roots, options);
    let discover_time = started.elapsed();
    let mut scan = scan_files(
        &discovery,
        ScanDepth::Full,
        options,
        languages,
        None,
        &summarize_tree,
        on_progress,
        cancel,
    )?;
    scan.discover_time = discover_time;
    Some(scan)
}

/// Summarizes discovered files to the given depth, in parallel. `on_progress` is called about a
/// hundred times, from worker threads.
#[allow(clippy::too_many_arguments)] // each is a separate input; a struct would only rename them
pub fn scan_files(
    discovery: &Discovery,
    depth: ScanDepth,
    options: &DiscoverOptions,
    languages: &Languages,
    cache: Option<&CachedIndex>,
    summarize: &Summarize<'_>,
    on_progress: &(dyn Fn(ScanProgress) + Sync),
    cancel: &AtomicBool,
) -> Option<WorkspaceScan> {
    let files: Vec<&(PathBuf, LanguageId)> = discovery
        .files
        .iter()
        .filter(|(_, lang)| depth == ScanDepth::Full || cache.is_some() || languages.has_quick_outline(*lang))
        .collect();
    let total = files.len();
    on_progress(ScanProgress { done: 0, total });
    let done = AtomicUsize::new(0);
    let step = (total / 100).max(1);
    let skipped = Mutex::new(discovery.skipped.clone());
    let parse_started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("repolens-scan-{i}"))
        .start_handler(|_| crate::stdx::lower_thread_priority())
        .build()
        .ok()?;
    let files: Vec<ScannedFile> = pool.install(|| {
        files
            .into_par_iter()
            .filter_map(|(path, language)| {
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                let scanned = scan_file(path, *language, depth, options, languages, cache, summarize, cancel);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(step) {
                    on_progress(ScanProgress { done: n, total });
                }
                match scanned {
                    Ok(file) => Some(file),
                    Err(reason) => {
                        if let Some(reason) = reason {
                            skipped.lock().unwrap_or_else(|e| e.into_inner()).add(path, reason);
                        }
                        None
                    }
                }
            })
            .collect()
    });
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    let skipped = skipped.into_inner().unwrap_or_else(|e| e.into_inner());
    Some(WorkspaceScan { files, skipped, discover_time: Duration::ZERO, parse_time: parse_started.elapsed() })
}

/// `Err(Some(reason))`: skipped for that reason; `Err(None)`: no summary (the parse was
/// abandoned, or the language has no outline and there was no cache entry).
#[allow(clippy::too_many_arguments)]
fn scan_file(
    path: &Path,
    language: LanguageId,
    depth: ScanDepth,
    options: &DiscoverOptions,
    languages: &Languages,
    cache: Option<&CachedIndex>,
    summarize: &Summarize<'_>,
    cancel: &AtomicBool,
) -> Result<ScannedFile, Option<SkipReason>> {
    let (size, mtime_ns) = stat(path).ok_or(Some(SkipReason::Unreadable))?;
    let lookup = cache.map_or(CacheLookup::Miss, |c| c.lookup(path, size, mtime_ns));
    let scanned =
        |summary, stamp, cached| ScannedFile { path: path.to_path_buf(), language, summary, stamp, cached };
    if let CacheLookup::Fresh(stamp, summary) = &lookup {
        return Ok(scanned(summary.clone(), *stamp, true));
    }
    let text = read_source(path, options.max_file_size).map_err(Some)?;
    let stamp = FileStamp { size, mtime_ns, hash: content_hash(text.as_bytes()) };
    if let CacheLookup::Verify(hash, summary) = lookup
        && hash == stamp.hash
    {
        return Ok(scanned(summary, stamp, true));
    }
    let summary = match depth {
        ScanDepth::Outline => FileSummary::outline(language, &text).ok_or(None)?,
        ScanDepth::Full => {
            let budget = ParseBudget { cancelled: Some(cancel), ..ParseBudget::default() };
            let lang = languages.get(language);
            let tree = parse_text(lang, &text, None, budget);
            tree.map(|tree| summarize(lang, &tree, &text, stamp.hash)).ok_or_else(|| {
                tracing::warn!("gave up parsing {} (time budget exceeded)", path.display());
                None
            })?
        }
    };
    Ok(scanned(Arc::new(summary), stamp, false))
}

/// Parses and summarizes one source text.
pub fn summarize_source(languages: &Languages, language: LanguageId, text: &str) -> Option<FileSummary> {
    let lang = languages.get(language);
    let tree = parse_text(lang, text, None, ParseBudget::default())?;
    Some(FileSummary::build(lang, &tree, text))
}
