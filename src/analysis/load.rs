//! Loading a repository outside the server, for the command line, evaluation and benchmarks:
//! the same steps the server takes, run to completion in order — index the files (through the
//! cache), build the symbol graph and the search index on the model thread, read git history —
//! and then an [`AnalysisHost`] whose snapshots answer queries exactly as the server's would.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;

use super::{
    AnalysisHost, FreshFacts, HistorySource, ModelConfig, ModelEvent, ModelUpdate, ModelUpdater, load_history,
};
use crate::{
    config::Config,
    stdx::CancelToken,
    syntax::{FileSummary, Language, Languages, SyntaxTree},
    workspace::{
        CacheState, DiscoverOptions, IndexSink, ScanDepth, ScanProgress, WorkspaceScan, grammar_overrides,
        index_workspace, save_index_cache_in_background,
    },
};

/// What a load reports while it runs (for a progress bar).
#[derive(Clone, Copy, Debug)]
pub enum LoadEvent {
    Parsing { done: usize, total: usize },
    Graph,
    Search,
    History,
}

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Where the cache lives (`None`: the default location); ignored with `no_cache`.
    pub cache_dir: Option<PathBuf>,
    pub no_cache: bool,
    /// Read git history (in parallel with indexing).
    pub history: bool,
}

/// How long each phase took.
#[derive(Clone, Debug, Default)]
pub struct LoadTimings {
    pub index: Duration,
    pub graph: Duration,
    pub search: Duration,
    pub history: Option<Duration>,
    pub total: Duration,
}

/// A repository loaded and ready to query.
pub struct LoadedRepository {
    pub host: AnalysisHost,
    pub files: usize,
    pub cache: CacheState,
    pub history: Option<HistorySource>,
    pub timings: LoadTimings,
    /// The model thread, kept so that its updates could follow edits; dropping it stops it.
    pub updater: ModelUpdater,
}

struct ProgressSink<'a> {
    events: &'a (dyn Fn(LoadEvent) + Sync),
    facts: FreshFacts,
}

impl IndexSink for ProgressSink<'_> {
    fn ready(&self, _: &WorkspaceScan, _: Duration) {}

    fn progress(&self, p: ScanProgress) {
        (self.events)(LoadEvent::Parsing { done: p.done, total: p.total });
    }

    fn summarize(&self, lang: &Language, tree: &SyntaxTree, text: &str, hash: u64) -> FileSummary {
        self.facts.summarize(lang, tree, text, hash)
    }
}

/// Loads `root`: files, symbol graph and search index (and history if asked), all complete.
pub fn load_repository(
    root: &Path,
    options: &LoadOptions,
    events: &(dyn Fn(LoadEvent) + Sync),
) -> anyhow::Result<LoadedRepository> {
    let started = Instant::now();
    let roots = vec![root.to_path_buf()];
    let defaults = Config::default();
    let config = Config {
        cache_dir: options.cache_dir.clone().or(defaults.cache_dir.clone()),
        no_cache: options.no_cache,
        ..defaults
    };
    let cache = config.index_cache(&roots);
    let languages = Languages::with_overrides(&grammar_overrides(&roots))?;
    let cancel = CancelToken::new();

    // History reads git while the files are parsed; it only needs the root.
    let history = options.history.then(|| {
        let (root, cache, cancel) = (root.to_path_buf(), cache.clone(), cancel.clone());
        std::thread::Builder::new()
            .name("repolens-history".into())
            .spawn(move || load_history(&root, cache.as_ref(), &cancel))
            .context("cannot start reading history")
    });

    let discover = DiscoverOptions { max_file_size: config.max_file_size };
    let sink = ProgressSink { events, facts: FreshFacts::default() };
    let build =
        index_workspace(&roots, &discover, &languages, cache.as_ref(), ScanDepth::Full, &sink, cancel.flag())
            .context("indexing was cancelled")?;
    // Written while the graph and search build; waited for before returning.
    let cache_save =
        cache.as_ref().map(|cache| save_index_cache_in_background(cache, &languages, &build.scan));
    let index_time = started.elapsed();
    let files = build.scan.files.len();
    let mut host = AnalysisHost::new(languages.clone(), roots);
    host.apply_scan(build.scan);

    events(LoadEvent::Graph);
    let (sender, received) = crossbeam_channel::unbounded();
    let model_config = ModelConfig {
        languages,
        cache: cache.clone(),
        max_file_size: config.max_file_size,
        cold: false,
        search: true,
    };
    let updater = ModelUpdater::spawn(host.model().clone(), model_config, move |event| {
        let _ = sender.send(event);
    });
    updater.send(ModelUpdate::Facts(sink.facts.take()));
    updater.send(ModelUpdate::Rebuild(host.model_sources()));
    let (mut graph_time, mut search_time) = (Duration::ZERO, None);
    while search_time.is_none() {
        match received.recv().context("the model thread stopped")? {
            ModelEvent::Rebuilt { elapsed, .. } => {
                graph_time = elapsed;
                events(LoadEvent::Search);
            }
            ModelEvent::SearchBuilt { elapsed, .. } => search_time = Some(elapsed),
            ModelEvent::Updated { .. } | ModelEvent::RiskScored { .. } => {}
        }
    }

    drop(cache_save);
    let mut history_source = None;
    let mut history_time = None;
    if let Some(handle) = history {
        events(LoadEvent::History);
        let load = handle?.join().map_err(|_| anyhow::anyhow!("reading history panicked"))?;
        history_time = Some(load.elapsed);
        if let Some(h) = load.history {
            host.model().set_history(root.to_path_buf(), Arc::new(h));
        }
        history_source = Some(load.source);
    }
    Ok(LoadedRepository {
        host,
        files,
        cache: build.cache,
        history: history_source,
        timings: LoadTimings {
            index: index_time,
            graph: graph_time,
            search: search_time.unwrap_or_default(),
            history: history_time,
            total: started.elapsed(),
        },
        updater,
    })
}
