//! Scanning a whole workspace: read, parse and summarize every file, in parallel.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use rayon::prelude::*;

use super::{DiscoverOptions, Discovery, Skipped, discover, read_source};
use crate::syntax::{FileSummary, LanguageId, Languages, ParseBudget, parse_text};

/// How deeply to read each file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanDepth {
    /// Definitions from the quick outline, for the languages that have one (others are left
    /// out); a Django-sized tree takes a fraction of a second.
    Outline,
    /// A full tree-sitter parse and the tags query.
    Full,
}

pub struct ScannedFile {
    pub path: PathBuf,
    pub language: LanguageId,
    pub summary: Arc<FileSummary>,
}

pub struct WorkspaceScan {
    pub files: Vec<ScannedFile>,
    pub skipped: Skipped,
    pub discover_time: Duration,
    pub parse_time: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct ScanProgress {
    pub done: usize,
    pub total: usize,
}

/// Discovers and fully summarizes every source file under `roots`. Returns `None` once
/// `cancel` is set. `on_progress` is called about a hundred times, from worker threads.
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
    let mut scan = scan_files(&discovery, ScanDepth::Full, options, languages, on_progress, cancel)?;
    scan.discover_time = discover_time;
    Some(scan)
}

/// Summarizes discovered files to the given depth, in parallel.
pub fn scan_files(
    discovery: &Discovery,
    depth: ScanDepth,
    options: &DiscoverOptions,
    languages: &Languages,
    on_progress: &(dyn Fn(ScanProgress) + Sync),
    cancel: &AtomicBool,
) -> Option<WorkspaceScan> {
    let files: Vec<&(PathBuf, LanguageId)> = discovery
        .files
        .iter()
        .filter(|(_, lang)| depth == ScanDepth::Full || languages.get(*lang).has_quick_outline())
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
                let (path, language) = (path.clone(), *language);
                let scanned = scan_file(&path, language, depth, options, languages, cancel);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(step) {
                    on_progress(ScanProgress { done: n, total });
                }
                match scanned {
                    Ok(summary) => Some(ScannedFile { path, language, summary: Arc::new(summary) }),
                    Err(reason) => {
                        if let Some(reason) = reason {
                            skipped.lock().unwrap_or_else(|e| e.into_inner()).add(&path, reason);
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

/// `Err(Some(reason))`: skipped for that reason; `Err(None)`: the parse was abandoned.
fn scan_file(
    path: &Path,
    language: LanguageId,
    depth: ScanDepth,
    options: &DiscoverOptions,
    languages: &Languages,
    cancel: &AtomicBool,
) -> Result<FileSummary, Option<super::SkipReason>> {
    let text = read_source(path, options.max_file_size).map_err(Some)?;
    if depth == ScanDepth::Outline {
        return FileSummary::outline(language, &text).ok_or(None);
    }
    let budget = ParseBudget { cancelled: Some(cancel), ..ParseBudget::default() };
    summarize_with(languages, language, &text, budget).ok_or_else(|| {
        tracing::warn!("gave up parsing {} (time budget exceeded)", path.display());
        None
    })
}

/// Parses and summarizes one source text.
pub fn summarize_source(languages: &Languages, language: LanguageId, text: &str) -> Option<FileSummary> {
    summarize_with(languages, language, text, ParseBudget::default())
}

fn summarize_with(
    languages: &Languages,
    language: LanguageId,
    text: &str,
    budget: ParseBudget<'_>,
) -> Option<FileSummary> {
    let lang = languages.get(language);
    let tree = parse_text(lang, text, None, budget)?;
    Some(FileSummary::build(lang, &tree, text))
}
