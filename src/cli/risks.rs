//! `repolens risks`: every file and function of a repository scored for risk, ranked, as text,
//! JSON or SARIF, built by the same engine the server uses (index, model thread: graph, then
//! risk). With `--rev COMMIT` the code *and* the history are read as of that commit: the
//! commit's files are written to a temporary directory laid out like the repository and indexed
//! there, and history is read as of the commit, so nothing after it is used.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this module's job

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::{
    analysis::{
        AnalysisHost, ModelConfig, ModelEvent, ModelUpdate, ModelUpdater, history_options_at, load_history,
    },
    config::{Config, RiskConfig},
    history::{History, HistoryOptions, read_tree},
    risk::{
        FactorValue, FileRisk, FunctionRisk, RiskTable, file_diagnostics,
        sarif::{SarifResult, sarif_log},
    },
    stdx::CancelToken,
    syntax::LanguageId,
    text::PositionEncoding,
    workspace::{DiscoverOptions, ScanDepth, VfsPath},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RisksFormat {
    Text,
    Json,
    Sarif,
}

pub struct RisksArgs {
    pub root: Option<PathBuf>,
    /// Score as of this commit: its code and the history before it.
    pub rev: Option<String>,
    pub format: RisksFormat,
    /// Files and functions listed (default: 20 in text, all in JSON and SARIF).
    pub top: Option<usize>,
}

pub fn risks(args: RisksArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let root = super::resolve_root(args.root)?;
    let cancel = CancelToken::new();
    let snapshot = match &args.rev {
        Some(rev) => Some(Snapshot::checkout(&root, rev)?),
        None => None,
    };
    let analysis_root = snapshot.as_ref().map_or_else(|| root.clone(), |s| s.root.clone());
    // A temporary checkout has no business in the user's cache.
    let config = Config { no_cache: snapshot.is_some(), ..Config::default() };
    let super::Built { host, total_ms: index_ms, facts, .. } =
        super::build_host_with(&analysis_root, ScanDepth::Full, snapshot.is_some(), &config)?;

    let history = match &args.rev {
        Some(rev) => {
            let options = history_options_at(&root, Some(rev), &cancel)
                .with_context(|| format!("cannot read the history of {}", root.display()))?;
            History::load(&root, &options)?
        }
        None => {
            load_history(&root, config.index_cache(std::slice::from_ref(&root)).as_ref(), &cancel).history
        }
    };
    let head = history.as_ref().map(|h| h.head().hash);
    match history {
        Some(mut history) => {
            if let Some(snapshot) = &snapshot {
                history.set_workdir(snapshot.top.clone());
            }
            host.model().set_history(analysis_root.clone(), Arc::new(history));
        }
        None => eprintln!("repolens: no git history here; scoring code and structure only"),
    }

    let table = score_in_model_thread(&host, facts, &config)?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut files: Vec<&Arc<FileRisk>> = table.files().collect();
    files.sort_by(|a, b| b.log_risk.total_cmp(&a.log_risk).then_with(|| a.rel_path.cmp(&b.rel_path)));
    let mut functions: Vec<(&FileRisk, &FunctionRisk)> =
        files.iter().flat_map(|f| f.functions.iter().map(move |g| (&***f, g))).collect();
    functions.sort_by(|a, b| {
        b.1.log_risk
            .total_cmp(&a.1.log_risk)
            .then_with(|| (&a.0.rel_path, a.1.line).cmp(&(&b.0.rel_path, b.1.line)))
    });
    let display_root = root.display().to_string();
    match args.format {
        RisksFormat::Text => {
            let top = args.top.unwrap_or(20);
            print_text(&table, &files, &functions, top, &display_root, head.as_deref(), elapsed_ms, index_ms);
        }
        RisksFormat::Json => {
            let top = args.top.unwrap_or(usize::MAX);
            let report = json!({
                "root": display_root,
                "rev": args.rev,
                "head": head,
                "files": files.iter().take(top).map(|f| file_json(&table, f)).collect::<Vec<_>>(),
                "functions": functions.iter().take(top).map(|(f, g)| function_json(&table, f, g)).collect::<Vec<_>>(),
                "timings_ms": { "index": round1(index_ms), "total": round1(elapsed_ms) },
            });
            println!("{report}");
        }
        RisksFormat::Sarif => {
            let analysis = host.snapshot();
            let risk_config = RiskConfig::default();
            let mut diagnostics = Vec::new();
            for file in &files {
                let found = file_diagnostics(&table, file, &risk_config);
                if !found.is_empty() {
                    diagnostics.push((*file, found));
                }
            }
            let mut results = Vec::new();
            for (file, found) in &diagnostics {
                let vfs_path = VfsPath::Disk(analysis_root.join(&file.rel_path));
                let Some(summary) = analysis.file_id(&vfs_path).and_then(|id| analysis.file_summary(id))
                else {
                    continue;
                };
                for diagnostic in found {
                    let at = |offset| {
                        let pos = summary.line_index.position(offset, PositionEncoding::Utf32);
                        (pos.line + 1, pos.col + 1)
                    };
                    results.push(SarifResult {
                        path: &file.rel_path,
                        diagnostic,
                        start: at(diagnostic.range.start),
                        end: at(diagnostic.range.end),
                    });
                }
            }
            if let Some(top) = args.top {
                results.truncate(top);
            }
            let root_uri = url::Url::from_directory_path(&root).ok().map(|u| u.to_string());
            println!("{}", serde_json::to_string_pretty(&sarif_log(&results, root_uri.as_deref()))?);
        }
    }
    Ok(())
}

/// Runs the model thread's full build (graph, then risk) and waits for the risk table.
fn score_in_model_thread(
    host: &AnalysisHost,
    facts: crate::analysis::FactsByHash,
    config: &Config,
) -> anyhow::Result<Arc<RiskTable>> {
    let (events, received) = crossbeam_channel::unbounded();
    let model_config = ModelConfig {
        languages: host.languages().clone(),
        cache: config.index_cache(host.roots()),
        max_file_size: DiscoverOptions::default().max_file_size,
        cold: false,
        search: false,
    };
    let updater = ModelUpdater::spawn(host.model().clone(), model_config, move |event| {
        let _ = events.send(event);
    });
    updater.send(ModelUpdate::Facts(facts));
    updater.send(ModelUpdate::Rebuild(host.model_sources()));
    loop {
        if let ModelEvent::RiskScored { .. } = received.recv().context("the model thread stopped")? {
            break;
        }
    }
    // The model thread goes on to build the search index; this command does not need it.
    drop(updater);
    host.model().risk().context("the model thread produced no risk table")
}

// `+ 0.0` turns `-0` (a rounded tiny negative) into `0`, which reads better in JSON.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0 + 0.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0 + 0.0
}

fn factors_json(factors: &[FactorValue]) -> serde_json::Map<String, Value> {
    factors.iter().map(|f| (f.factor.name().to_owned(), json!(round3(f.value)))).collect()
}

fn file_json(table: &RiskTable, file: &FileRisk) -> Value {
    let ctx = &file.context;
    let facts = json!({
        "cc_sum": file.code.metrics.cc_sum,
        "cog_sum": file.code.metrics.cog_sum,
        "revisions": round3(ctx.revisions),
        "revisions_all": ctx.revisions_all,
        "revisions_recent": ctx.revisions_recent,
        "lines_changed": round3(ctx.churn),
        "lines_changed_recent": ctx.churn_recent,
        "fixes": round3(ctx.fixes),
        "fixes_all": ctx.fixes_all,
        "fixes_recent": ctx.fixes_recent,
        "authors": ctx.authors,
        "minor_authors": ctx.minor_authors,
        "age_days": round1(ctx.age_days),
        "fan_in": round3(ctx.fan_in),
        "tested": ctx.tested,
        "smells": file.code.smells.len(),
    });
    json!({
        "path": file.rel_path,
        "class": format!("{:?}", file.class).to_lowercase(),
        "sloc": file.sloc,
        "score": round3(file.log_risk),
        "percentile": file.in_scope().then(|| round1(table.file_percentile(file.log_risk))),
        "density": file.density,
        "factors": factors_json(&file.factors),
        "facts": facts,
    })
}

fn function_json(table: &RiskTable, file: &FileRisk, function: &FunctionRisk) -> Value {
    let ctx = &function.context;
    let facts = json!({
        "sloc": function.sloc,
        "cyclomatic": function.cyclomatic,
        "cognitive": function.cognitive,
        "nesting": function.max_nesting,
        "params": function.params,
        "revisions": round3(ctx.revisions),
        "revisions_recent": ctx.revisions_recent,
        "lines_changed": round3(ctx.churn),
        "lines_changed_recent": ctx.churn_recent,
        "fixes": round3(ctx.fixes),
        "fixes_recent": ctx.fixes_recent,
        "fan_in": round3(ctx.fan_in),
        "pagerank": round3(ctx.pagerank),
        "tested": ctx.tested,
    });
    json!({
        "path": file.rel_path,
        "qual": function.qual,
        "line": function.line,
        "score": round3(function.log_risk),
        "percentile": file.in_scope().then(|| round1(table.function_percentile(function.log_risk))),
        "density": function.density,
        "factors": factors_json(&function.factors),
        "facts": facts,
    })
}

/// The strongest factors, as `name=value` pairs.
fn top_factors(factors: &[FactorValue]) -> String {
    let mut sorted: Vec<&FactorValue> = factors.iter().filter(|f| f.term > 0.0).collect();
    sorted.sort_by(|a, b| b.term.total_cmp(&a.term));
    sorted
        .iter()
        .take(3)
        .map(|f| format!("{}={}", f.factor.name(), round1(f.value)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[allow(clippy::too_many_arguments)]
fn print_text(
    table: &RiskTable,
    files: &[&Arc<FileRisk>],
    functions: &[(&FileRisk, &FunctionRisk)],
    top: usize,
    root: &str,
    head: Option<&str>,
    elapsed_ms: f64,
    index_ms: f64,
) {
    let head =
        head.map_or_else(|| "no git history".to_owned(), |h| format!("as of {}", &h[..h.len().min(12)]));
    println!(
        "{root} ({head}): {} files, {} functions ranked, in {elapsed_ms:.0} ms (index {index_ms:.0} ms)",
        table.len(),
        table.ranked_functions()
    );
    println!("\nriskiest files\n  pct  score  density  path  [top factors]");
    for file in files.iter().filter(|f| f.in_scope()).take(top) {
        println!(
            "  p{:<3.0} {:6.2}  {:7.4}  {}  [{}]",
            table.file_percentile(file.log_risk).floor().min(99.0),
            file.log_risk,
            file.density,
            file.rel_path,
            top_factors(&file.factors)
        );
    }
    println!("\nriskiest functions\n  pct  score  density  path:line  function  [top factors]");
    for (file, function) in functions.iter().filter(|(f, _)| f.in_scope()).take(top) {
        println!(
            "  p{:<3.0} {:6.2}  {:7.4}  {}:{}  {}  [{}]",
            table.function_percentile(function.log_risk).floor().min(99.0),
            function.log_risk,
            function.density,
            file.rel_path,
            function.line,
            function.qual,
            top_factors(&function.factors)
        );
    }
}

/// A commit's source files written to a temporary directory laid out like the repository;
/// removed on drop.
struct Snapshot {
    /// The temporary directory: the repository's top.
    top: PathBuf,
    /// Where the requested root is inside it.
    root: PathBuf,
}

impl Snapshot {
    fn checkout(root: &Path, rev: &str) -> anyhow::Result<Snapshot> {
        let options = HistoryOptions { as_of: Some(rev.to_owned()), ..HistoryOptions::default() };
        let wanted = |path: &str| LanguageId::from_path(Path::new(path)).is_some();
        let tree = read_tree(root, &options, &wanted)
            .with_context(|| format!("cannot read {rev} in {}", root.display()))?
            .with_context(|| format!("--rev needs a git work tree, and {} is not in one", root.display()))?;
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let top = std::env::temp_dir().join(format!("repolens-risks-{}-{nanos}", std::process::id()));
        let snapshot = Snapshot { root: top.join(tree.prefix.trim_end_matches('/')), top };
        std::fs::create_dir_all(&snapshot.root)
            .with_context(|| format!("cannot create {}", snapshot.root.display()))?;
        for file in &tree.files {
            let relative = Path::new(&file.path);
            // git never stores such paths, but a checkout must never write outside its directory.
            if relative.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
                continue;
            }
            let path = snapshot.top.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&path, &file.bytes).with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(snapshot)
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.top);
    }
}
