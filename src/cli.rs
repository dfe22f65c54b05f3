//! The command line: logging setup, and the scripting commands built on the same engine as
//! the server. This module (and `main.rs`) are the only code that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this module's job

use std::{
    io::IsTerminal as _,
    path::{Path, PathBuf},
    sync::atomic::AtomicBool,
    time::Instant,
};

use anyhow::Context as _;
use serde_json::json;

use crate::{
    analysis::AnalysisHost,
    lsp::{ExitStatus, ServerOptions},
    stdx::CancelToken,
    syntax::Languages,
    text::PositionEncoding,
    workspace::{DiscoverOptions, ScanDepth, ScanProgress, discover, grammar_overrides, scan_files},
};

/// What building an index took, phase by phase.
struct IndexTimings {
    discover_ms: f64,
    outline_ms: f64,
    parse_ms: f64,
    total_ms: f64,
}

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

/// Scans `root` into a fresh host, with a progress line on stderr when it is a terminal.
/// `depth` Outline stops after the quick outline (enough for symbol search).
fn build_host(
    root: &Path,
    depth: ScanDepth,
) -> anyhow::Result<(AnalysisHost, crate::analysis::IndexSummary, IndexTimings)> {
    let roots = vec![root.to_path_buf()];
    let languages = Languages::with_overrides(&grammar_overrides(&roots))?;
    let options = DiscoverOptions::default();
    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let on_progress = |p: ScanProgress| {
        if interactive {
            eprint!("\rindexing {}/{} files", p.done, p.total);
        }
    };
    let never = AtomicBool::new(false);
    let discovery = discover(&roots, &options);
    let discover_ms = ms(started);
    let phase = Instant::now();
    let outline = scan_files(&discovery, ScanDepth::Outline, &options, &languages, &|_| {}, &never)
        .context("indexing was cancelled")?;
    let outline_ms = ms(phase);
    let mut host = AnalysisHost::new(languages.clone(), roots);
    // Languages without a quick outline only appear after the full pass.
    let outlined_all = discovery.files.iter().all(|(_, lang)| languages.get(*lang).has_quick_outline());
    let mut summary = host.apply_scan(outline);
    let mut parse_ms = 0.0;
    if depth == ScanDepth::Full || !outlined_all {
        let phase = Instant::now();
        let full = scan_files(&discovery, ScanDepth::Full, &options, &languages, &on_progress, &never)
            .context("indexing was cancelled")?;
        parse_ms = ms(phase);
        summary = host.apply_scan(full);
    }
    if interactive {
        eprint!("\r\x1b[2K");
    }
    Ok((host, summary, IndexTimings { discover_ms, outline_ms, parse_ms, total_ms: ms(started) }))
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

pub fn index(root: Option<PathBuf>, as_json: bool) -> anyhow::Result<()> {
    let root = resolve_root(root)?;
    let (_host, summary, t) = build_host(&root, ScanDepth::Full)?;
    let skipped: serde_json::Map<String, serde_json::Value> =
        summary.skipped.counts.iter().map(|(r, n)| (r.as_str().to_owned(), json!(n))).collect();
    if as_json {
        let report = json!({
            "root": root,
            "files": summary.files,
            "symbols": summary.symbols,
            "references": summary.references,
            "skipped": skipped,
            "timings_ms": {
                "discover": t.discover_ms,
                "outline": t.outline_ms,
                "parse": t.parse_ms,
                "total": t.total_ms,
            },
        });
        println!("{report}");
    } else {
        println!(
            "{}: {} files, {} symbols, {} references",
            root.display(),
            summary.files,
            summary.symbols,
            summary.references
        );
        let skipped: Vec<String> = skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("skipped: {}", if skipped.is_empty() { "none".to_owned() } else { skipped.join(", ") });
        println!(
            "time: {:.0} ms (discover {:.0} ms, symbols ready after outline {:.0} ms, full parse {:.0} ms)",
            t.total_ms, t.discover_ms, t.outline_ms, t.parse_ms
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
    let (host, _, _) = build_host(&root, ScanDepth::Outline)?;
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
