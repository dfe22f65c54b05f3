//! The command line: logging setup, and the scripting commands built on the same engine as
//! the server. This module (and `main.rs`) are the only code that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this module's job

pub mod ask;
pub mod eval;
pub mod eval_repair;
pub mod fix;
mod risks;
mod testgen;
pub mod traces;

pub use risks::{RisksArgs, RisksFormat, risks};

use std::{
    io::IsTerminal as _,
    path::{Path, PathBuf},
    sync::atomic::AtomicBool,
    time::Instant,
};

use anyhow::Context as _;
use serde_json::json;

use crate::{
    analysis::{AnalysisHost, FactsByHash, FreshFacts, ModelConfig, ModelEvent, ModelUpdate, ModelUpdater},
    config::Config,
    lsp::{ExitStatus, ServerOptions},
    stdx::CancelToken,
    syntax::{FileSummary, Language, Languages, SyntaxTree},
    text::PositionEncoding,
    workspace::{
        CacheState, DiscoverOptions, IndexBuild, IndexSink, PendingCacheSave, ScanDepth, ScanProgress,
        WorkspaceScan, grammar_overrides, index_workspace, save_index_cache_in_background,
    },
};

/// Logs go to stderr (stdout is the protocol) or to a file.
pub fn init_logging(filter: Option<&str>, file: Option<&Path>, serving: bool) -> anyhow::Result<()> {
    let default = if serving { "info" } else { "warn" };
    let filter = filter
        .map(str::to_owned)
        .or_else(|| std::env::var("REPOLENS_LOG").ok())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| default.to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .with_context(|| format!("invalid log filter {filter:?}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    match file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open log file {}", path.display()))?;
            builder.with_ansi(false).with_writer(std::sync::Mutex::new(file)).init();
        }
        None => builder.with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr).init(),
    }
    Ok(())
}

pub fn report_error(err: &anyhow::Error) {
    eprintln!("repolens: {err:#}");
}

pub fn serve() -> ExitStatus {
    if std::io::stdin().is_terminal() {
        eprintln!("repolens speaks LSP on stdin/stdout; start it from an editor (see `repolens --help`)");
    }
    tracing::info!("repolens {} serving LSP on stdio", env!("CARGO_PKG_VERSION"));
    // Compile the grammar queries while the client is still starting up.
    crate::syntax::Languages::embedded().warm_up();
    crate::lsp::run_stdio(ServerOptions::default())
}

fn resolve_root(root: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let root = match root {
        Some(root) => root,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    anyhow::ensure!(root.is_dir(), "{} is not a directory", root.display());
    Ok(std::path::absolute(&root).unwrap_or(root))
}

/// Progress on stderr, when it is a terminal.
struct TerminalSink {
    interactive: bool,
    facts: FreshFacts,
}

impl IndexSink for TerminalSink {
    fn ready(&self, _: &WorkspaceScan, _: std::time::Duration) {}

    fn progress(&self, p: ScanProgress) {
        if self.interactive {
            eprint!("\rindexing {}/{} files", p.done, p.total);
        }
    }

    fn summarize(&self, lang: &Language, tree: &SyntaxTree, text: &str, hash: u64) -> FileSummary {
        self.facts.summarize(lang, tree, text, hash)
    }
}

/// An indexed workspace, with the code facts read while parsing it (send them to the model
/// thread before its first rebuild).
struct Built {
    host: AnalysisHost,
    build: IndexBuild,
    total_ms: f64,
    facts: FactsByHash,
    /// The index cache being written beside whatever runs next; dropping it waits.
    cache_save: Option<PendingCacheSave>,
}

/// Indexes `root` into a fresh host through the cache (unless `cold`); `depth` Outline stops
/// once workspace symbols can be answered.
fn build_host(root: &Path, depth: ScanDepth, cold: bool) -> anyhow::Result<Built> {
    build_host_with(root, depth, cold, &Config::default())
}

/// [`build_host`] with settings (`no_cache` keeps a temporary checkout out of the cache).
fn build_host_with(root: &Path, depth: ScanDepth, cold: bool, config: &Config) -> anyhow::Result<Built> {
    let roots = vec![root.to_path_buf()];
    let languages = Languages::with_overrides(&grammar_overrides(&roots))?;
    let cache = config.index_cache(&roots);
    let started = Instant::now();
    let sink = TerminalSink { interactive: std::io::stderr().is_terminal(), facts: FreshFacts::default() };
    let never = AtomicBool::new(false);
    let load_from = if cold { None } else { cache.as_ref() };
    let mut build =
        index_workspace(&roots, &DiscoverOptions::default(), &languages, load_from, depth, &sink, &never)
            .context("indexing was cancelled")?;
    if cold && cache.is_some() {
        build.cache = CacheState::Cold("ignored (--cold)".into());
    }
    if sink.interactive {
        eprint!("\r\x1b[2K");
    }
    let cache_save = cache
        .as_ref()
        .filter(|_| depth == ScanDepth::Full)
        .map(|cache| save_index_cache_in_background(cache, &languages, &build.scan));
    let total_ms = ms(started);
    let mut host = AnalysisHost::new(languages, roots);
    host.apply_scan(build.scan.clone());
    Ok(Built { host, build, total_ms, facts: sink.facts.take(), cache_save })
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn duration_ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

pub fn index(root: Option<PathBuf>, as_json: bool, cold: bool) -> anyhow::Result<()> {
    let root = resolve_root(root)?;
    let Built { host, build, total_ms: index_ms, facts, cache_save } =
        build_host(&root, ScanDepth::Full, cold)?;
    // The symbol graph and the search index are built by the same model thread the server uses.
    let (events, received) = crossbeam_channel::unbounded();
    let config = ModelConfig {
        languages: host.languages().clone(),
        cache: Config::default().index_cache(host.roots()),
        max_file_size: DiscoverOptions::default().max_file_size,
        cold,
        search: true,
    };
    let model_started = Instant::now();
    let updater = ModelUpdater::spawn(host.model().clone(), config, move |event| {
        let _ = events.send(event);
    });
    updater.send(ModelUpdate::Facts(facts));
    updater.send(ModelUpdate::Rebuild(host.model_sources()));
    let (mut graph_ms, mut risk_ms, mut search) = (0.0, None, None);
    // The graph and the search index are built side by side, and the model thread reports the
    // search index after the graph: its arrival is when both are done.
    let mut graph_and_search_ms = 0.0;
    while search.is_none() || risk_ms.is_none() {
        match received.recv().context("the model thread stopped")? {
            ModelEvent::Rebuilt { elapsed, .. } => graph_ms = duration_ms(elapsed),
            ModelEvent::SearchBuilt { chunks, reindexed, elapsed, .. } => {
                search = Some((chunks, reindexed, duration_ms(elapsed)));
                graph_and_search_ms = index_ms + ms(model_started);
            }
            // Code metrics, smells, history and graph context for every file, and the table.
            ModelEvent::RiskScored { elapsed, .. } => risk_ms = Some(duration_ms(elapsed)),
            ModelEvent::Updated { .. } => {}
        }
    }
    let risk_ms = risk_ms.unwrap_or_default();
    let (chunks, reindexed, search_ms) = search.unwrap_or_default();
    drop(cache_save);
    let total_ms = ms(model_started) + index_ms;

    let graph = host.model().graph.read();
    let files = build.scan.files.len();
    let symbols: usize = build.scan.files.iter().map(|f| f.summary.symbols.len()).sum();
    let references: usize = build.scan.files.iter().map(|f| f.summary.references.len()).sum();
    let skipped: serde_json::Map<String, serde_json::Value> =
        build.scan.skipped.counts.iter().map(|(r, n)| (r.as_str().to_owned(), json!(n))).collect();
    let (cache, reused) = match &build.cache {
        CacheState::Off => ("off", 0),
        CacheState::Cold(_) => ("cold", 0),
        CacheState::Warm { reused } => ("warm", *reused),
    };
    if as_json {
        let report = json!({
            "root": root,
            "files": files,
            "symbols": symbols,
            "references": references,
            "skipped": skipped,
            "cache": { "state": cache, "reused": reused },
            "graph": { "nodes": graph.node_count(), "edges": graph.edge_count() },
            "search": { "chunks": chunks, "reindexed_files": reindexed },
            "timings_ms": {
                "discover": duration_ms(build.discover),
                "ready": duration_ms(build.ready),
                "parse": duration_ms(build.parse),
                "index": index_ms,
                "graph": graph_ms,
                "risk": risk_ms,
                "search": search_ms,
                "graph_and_search": graph_and_search_ms,
                "total": total_ms,
            },
        });
        println!("{report}");
    } else {
        println!("{}: {files} files, {symbols} symbols, {references} references", root.display());
        println!(
            "graph: {} nodes, {} edges; search: {chunks} chunks",
            graph.node_count(),
            graph.edge_count()
        );
        let skipped: Vec<String> = skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("skipped: {}", if skipped.is_empty() { "none".to_owned() } else { skipped.join(", ") });
        println!("cache: {cache} ({reused} files reused, {reindexed} files re-indexed for search)");
        println!(
            "time: discover {:.0} ms, symbols ready {:.0} ms, full parse {:.0} ms, then side by side graph {graph_ms:.0} ms and search {search_ms:.0} ms (graph + search done at {graph_and_search_ms:.0} ms), risk {risk_ms:.0} ms; total {total_ms:.0} ms",
            duration_ms(build.discover),
            duration_ms(build.ready),
            duration_ms(build.parse),
        );
    }
    Ok(())
}

pub fn symbols(
    root: Option<PathBuf>,
    query: Option<String>,
    limit: Option<usize>,
    as_json: bool,
) -> anyhow::Result<()> {
    let root = resolve_root(root)?;
    let host = build_host(&root, ScanDepth::Outline, false)?.host;
    let analysis = host.snapshot();
    let limit = limit.unwrap_or(if query.is_some() { 100 } else { usize::MAX });
    let hits = analysis
        .workspace_symbols(query.as_deref().unwrap_or(""), limit, &CancelToken::new())
        .map_err(|_| anyhow::anyhow!("cancelled"))?;
    let mut rows = Vec::with_capacity(hits.len());
    for hit in hits {
        let path = analysis.path(hit.file);
        let path =
            path.as_disk().map(|p| p.strip_prefix(&root).unwrap_or(p).to_path_buf()).unwrap_or_default();
        let pos = hit.summary.line_index.position(hit.name_range().start, PositionEncoding::Utf32);
        rows.push(json!({
            "name": hit.name,
            "kind": format!("{:?}", hit.kind).to_lowercase(),
            "container": hit.container,
            "path": path,
            "line": pos.line + 1,
            "column": pos.col + 1,
        }));
    }
    if as_json {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for row in rows {
            println!(
                "{}\t{}\t{}:{}:{}\t{}",
                row["kind"].as_str().unwrap_or(""),
                row["name"].as_str().unwrap_or(""),
                row["path"].as_str().unwrap_or(""),
                row["line"],
                row["column"],
                row["container"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// What `repolens history` reads and prints.
pub struct HistoryArgs {
    pub root: Option<PathBuf>,
    pub as_of: Option<String>,
    pub since: Option<String>,
    /// Git pathspecs limiting the files read (empty: all).
    pub paths: Vec<String>,
    /// `Some("all")`, `Some(DATE)`, or `None` for file level only.
    pub functions: Option<String>,
    pub first_parent: bool,
    pub half_life_days: f64,
    /// Aggregate only commits since this date (the facts still cover `since`).
    pub window: Option<String>,
    pub top: usize,
    pub as_json: bool,
}

/// `YYYY-MM-DD` (UTC midnight) or `@UNIX_SECONDS`.
fn parse_date(text: &str) -> anyhow::Result<i64> {
    if let Some(secs) = text.strip_prefix('@') {
        return secs.parse().with_context(|| format!("bad unix time {text:?}"));
    }
    let parts: Vec<i64> = text.split('-').map(str::parse).collect::<Result<_, _>>().ok().unwrap_or_default();
    let [y, m, d] = parts[..] else { anyhow::bail!("expected YYYY-MM-DD or @UNIX_SECONDS, got {text:?}") };
    anyhow::ensure!((1..=12).contains(&m) && (1..=31).contains(&d), "bad date {text:?}");
    // Days from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) * 86_400)
}

pub fn history(args: HistoryArgs) -> anyhow::Result<()> {
    use crate::history::{FunctionScope, History, HistoryOptions, StatsOptions};

    let root = resolve_root(args.root)?;
    let functions = match args.functions.as_deref() {
        None => FunctionScope::Off,
        Some("all") => FunctionScope::All,
        Some(date) => FunctionScope::Since(parse_date(date)?),
    };
    let options = HistoryOptions {
        as_of: args.as_of,
        since: args.since.as_deref().map(parse_date).transpose()?,
        paths: args.paths,
        functions,
        first_parent: args.first_parent,
        half_life_days: args.half_life_days,
        ..HistoryOptions::default()
    };
    let started = Instant::now();
    let Some(history) = History::load(&root, &options)? else {
        anyhow::bail!("{} is not in a git repository (or git is not installed)", root.display());
    };
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let window = args.window.as_deref().map(parse_date).transpose()?;
    let windowed;
    let stats = match window {
        Some(since) => {
            windowed =
                history.stats_with(&StatsOptions { half_life_days: args.half_life_days, since: Some(since) });
            &windowed
        }
        None => history.stats(),
    };
    let mut files: Vec<_> = stats.files.iter().collect();
    files.sort_by(|a, b| b.1.decayed_churn.total_cmp(&a.1.decayed_churn).then_with(|| a.0.cmp(b.0)));
    let head = history.head();
    let n_functions: usize = files.iter().map(|(_, f)| f.functions.len()).sum();
    if args.as_json {
        let rows: Vec<_> = files
            .iter()
            .map(|(path, f)| {
                let mut functions: Vec<_> = f.functions.iter().collect();
                functions.sort_by(|a, b| a.0.cmp(b.0));
                json!({
                    "path": path,
                    "revisions": f.revisions,
                    "added": f.added,
                    "deleted": f.deleted,
                    "decayed_revisions": f.decayed_revisions,
                    "decayed_churn": f.decayed_churn,
                    "authors": f.authors.len(),
                    "minor_authors": f.minor_authors(crate::history::MINOR_AUTHOR_SHARE),
                    "fixes": f.fixes.len(),
                    "first_seen": f.first_seen,
                    "last_change": f.last_change,
                    "functions": functions.iter().map(|(name, g)| json!({
                        "name": name,
                        "revisions": g.revisions,
                        "added": g.added,
                        "deleted": g.deleted,
                        "decayed_revisions": g.decayed_revisions,
                        "decayed_churn": g.decayed_churn,
                        "fixes": g.fixes,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "head": head.hash,
                "head_time": head.time,
                "commits": history.facts().commits.len(),
                "files_changed": files.len(),
                "functions_changed": n_functions,
                "load_ms": load_ms,
                "files": rows,
            })
        );
    } else {
        println!(
            "{} as of {}: {} commits, {} files and {} functions changed, read in {load_ms:.0} ms",
            root.display(),
            &head.hash[..head.hash.len().min(12)],
            history.facts().commits.len(),
            files.len(),
            n_functions
        );
        println!("revisions\tchurn\tdecayed_churn\tfixes\tauthors\tpath");
        for (path, f) in files.iter().take(args.top) {
            println!(
                "{}\t{}\t{:.1}\t{}\t{}\t{path}",
                f.revisions,
                f.churn(),
                f.decayed_churn,
                f.fixes.len(),
                f.authors.len()
            );
        }
    }
    Ok(())
}
