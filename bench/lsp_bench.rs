//! `lsp-bench`: drives any language server over stdio on a directory, the way an editor would,
//! and measures what a user of that editor feels. Per server and per run it records:
//!
//! 1. **spawn → initialize**: from spawning the process to receiving the `initialize` response;
//! 2. **index ready**: from sending `initialized` to the first `workspace/symbol` answer (for
//!    `--query`) that contains a symbol named exactly `--expect`. The client polls: as soon as an
//!    answer lacks the name (servers that answer empty while indexing are not ready), it asks
//!    again. Also reported from spawn, which is what compares with the ctags floor;
//! 3. **warm `workspace/symbol`**: `--warm` requests over a fixed list of realistic queries (exact
//!    names, prefixes, fuzzy abbreviations), each timed from send to response: p50 and p95;
//! 4. **`didChange` → `documentSymbol`**: `--file` is opened once, then `--edits` times an
//!    incremental `didChange` (alternately inserting and removing a comment line in the middle of
//!    the file, versions increasing) is followed at once by `textDocument/documentSymbol`, timed
//!    from sending the change to the symbols arriving: p50 and p95;
//! 5. **peak RSS of the process tree**: the server and all its descendants, found through the
//!    parent links in `/proc/*/stat` and summed from `/proc/<pid>/status` `VmRSS` every
//!    `--rss-interval-ms` for the whole run. The JSON keeps the root process's peak from `wait4`
//!    as a cross-check; it is not the headline because Linux counts the pages of the forked
//!    client before `exec` in it, so it can never be lower than this program's own peak RSS.
//!
//! With `--ctags`, `ctags -R --languages=Python -f <tmpfile> <root>` is timed too (wall clock
//! from spawn to `wait4`, peak RSS sampled the same way): the floor for extracting symbols from
//! the tree.
//!
//! Runs are interleaved round-robin (server A, server B, ctags, A, B, ctags, …) because shared
//! machines are noisy. The report is a Markdown table of medians over the runs, with ratios
//! against `--baseline`, and `--json-out` keeps every raw sample. Every wait has a deadline: a
//! server that never gets ready is reported as such and killed with its process tree.
//!
//! This is a client of any server; it does not use repolens internals. Linux only (`/proc`).
//!
//! ```sh
//! cargo build --release
//! cargo run --release --example lsp-bench -- --root /tmp/bench/Django-5.0 \
//!     --server "repolens=$PWD/target/release/repolens serve" \
//!     --server "ty=$(pyenv which ty 2>/dev/null || which ty) server" --ctags /usr/bin/ctags \
//!     --query QuerySet --expect QuerySet --file django/db/models/query.py \
//!     --runs 5 --baseline ty --json-out /tmp/lsp-bench.json
//! ```
//!
//! See `bench/README.md` for getting the Django tree and the servers.

// Printing the report (stdout) and progress (stderr) is this program's whole job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::{
    collections::BTreeMap,
    fs,
    io::{BufRead, BufReader, Write},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{ChildStdin, ChildStdout, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use serde::Serialize;
use serde_json::{Value, json};

/// Realistic `workspace/symbol` queries for a Django-sized tree: exact names, prefixes, and the
/// abbreviations people type into a fuzzy picker.
const DEFAULT_QUERIES: &str =
    "QuerySet,get_q,qs,Model,get_queryset,ForeignKey,HttpResp,as_sql,Manager,url_pat,render,cleaned,Que";

#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "lsp-bench", about = "Benchmark LSP servers over stdio on a directory")]
struct Args {
    /// The workspace to open (rootUri and the only workspace folder).
    #[arg(long)]
    root: PathBuf,
    /// A server to measure, `NAME=COMMAND ARGS…` (split on whitespace). Repeatable.
    #[arg(long = "server", value_name = "NAME=COMMAND")]
    servers: Vec<String>,
    /// `initializationOptions` for one server, `NAME=JSON`. Repeatable.
    #[arg(long = "init-options", value_name = "NAME=JSON")]
    init_options: Vec<String>,
    /// Also time `ctags -R --languages=Python` over the root (the symbol-extraction floor).
    #[arg(long, value_name = "CTAGS", num_args = 0..=1, default_missing_value = "ctags")]
    ctags: Option<String>,
    /// Rounds; each round runs every server once, in order. Medians need at least 3.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The `workspace/symbol` query polled until the index is ready.
    #[arg(long, default_value = "QuerySet")]
    query: String,
    /// The symbol name whose presence in the answer means "ready" (default: the query).
    #[arg(long)]
    expect: Option<String>,
    /// The file (relative to the root) that is opened and edited.
    #[arg(long)]
    file: PathBuf,
    /// Warm `workspace/symbol` queries, cycled through for `--warm` requests.
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_QUERIES)]
    queries: Vec<String>,
    /// Number of warm `workspace/symbol` requests per run.
    #[arg(long, default_value_t = 30)]
    warm: usize,
    /// Number of `didChange` → `documentSymbol` round trips per run.
    #[arg(long, default_value_t = 30)]
    edits: usize,
    /// The peer that ratios are computed against (a server name, or `ctags`).
    #[arg(long)]
    baseline: Option<String>,
    /// Write every raw run here as JSON.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Seconds to wait for `initialize` and for each warm or edit request.
    #[arg(long, default_value_t = 30.0)]
    request_timeout: f64,
    /// Seconds from `initialized` (or from spawning ctags) before giving up on readiness.
    #[arg(long, default_value_t = 120.0)]
    ready_timeout: f64,
    /// Seconds to wait for the process to exit after `shutdown` + `exit` before killing its tree.
    #[arg(long, default_value_t = 3.0)]
    exit_timeout: f64,
    /// RSS sampling period in milliseconds.
    #[arg(long, default_value_t = 10)]
    rss_interval_ms: u64,
    /// Keep each server's stderr in this directory (`NAME-ROUND.stderr`); discarded otherwise.
    #[arg(long)]
    server_logs: Option<PathBuf>,
    /// Seconds to wait after index ready before the warm and edit phases, so that they measure
    /// a settled server (background indexing done) rather than the first seconds after start.
    #[arg(long, default_value_t = 0.0)]
    settle: f64,
}

/// Something to measure: an LSP server, or the ctags floor.
#[derive(Debug, Clone)]
enum Subject {
    Lsp { name: String, program: String, args: Vec<String>, init_options: Option<Value> },
    Ctags { program: String },
}

impl Subject {
    fn name(&self) -> &str {
        match self {
            Subject::Lsp { name, .. } => name,
            Subject::Ctags { .. } => "ctags",
        }
    }

    fn command_line(&self, root: &Path) -> String {
        match self {
            Subject::Lsp { program, args, .. } => std::iter::once(program.as_str())
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            Subject::Ctags { program } => {
                format!("{program} -R --languages=Python -f <tmpfile> {}", root.display())
            }
        }
    }
}

/// One timed request in the warm phase.
#[derive(Debug, Serialize)]
struct WarmSample {
    query: String,
    ms: f64,
    results: usize,
    error: Option<Value>,
}

/// One `didChange` → `documentSymbol` round trip.
#[derive(Debug, Serialize)]
struct EditSample {
    version: i64,
    action: &'static str,
    ms: f64,
    symbols: usize,
    error: Option<Value>,
}

/// Everything measured in one run of one subject. Absent values were not reached.
#[derive(Debug, Default, Serialize)]
struct RunRecord {
    subject: String,
    round: usize,
    /// Ready (or, for ctags, finished) and every phase completed.
    ok: bool,
    error: Option<String>,
    spawn_to_initialize_ms: Option<f64>,
    initialized_to_ready_ms: Option<f64>,
    spawn_to_ready_ms: Option<f64>,
    ready_polls: u64,
    warm: Vec<WarmSample>,
    warm_p50_ms: Option<f64>,
    warm_p95_ms: Option<f64>,
    /// Servers cap their answers differently; a bigger answer costs more to build and to send.
    warm_results_median: Option<f64>,
    open_to_document_symbol_ms: Option<f64>,
    edits: Vec<EditSample>,
    edit_p50_ms: Option<f64>,
    edit_p95_ms: Option<f64>,
    peak_rss_tree_kb: Option<u64>,
    rss_samples: u64,
    max_tree_processes: usize,
    /// The root process's peak RSS from `wait4`. The kernel counts the forked client's pages
    /// before `exec` too, so this is at least `client_hwm_kb` and only a cross-check well above it.
    root_maxrss_kb: Option<u64>,
    /// lsp-bench's own peak RSS (`VmHWM`) when it spawned the process.
    client_hwm_kb: Option<u64>,
    /// ctags only: wall clock of the whole run, and the number of tags written.
    wall_ms: Option<f64>,
    tags: Option<usize>,
    exit: String,
    exit_status: Option<i32>,
    server_info: Option<Value>,
    position_encoding: Option<Value>,
    text_document_sync: Option<Value>,
    notifications: BTreeMap<String, u64>,
    server_requests: BTreeMap<String, u64>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let subjects = subjects(&args)?;
    if subjects.is_empty() {
        bail!("nothing to measure: give at least one --server or --ctags");
    }
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if args.runs < 3 {
        eprintln!(
            "lsp-bench: warning: medians over {} run(s) are not robust; use --runs 3 or more",
            args.runs
        );
    }
    if args.queries.is_empty() {
        bail!("--queries is empty");
    }
    if let Some(baseline) = &args.baseline
        && !subjects.iter().any(|s| s.name() == baseline)
    {
        bail!("--baseline {baseline} is not one of the measured servers");
    }
    let root = fs::canonicalize(&args.root).with_context(|| format!("--root {}", args.root.display()))?;
    if let Some(dir) = &args.server_logs {
        fs::create_dir_all(dir)?;
    }
    let started = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();

    let mut records = Vec::new();
    for round in 0..args.runs {
        for subject in &subjects {
            eprint!("lsp-bench: round {}/{} {:<10} ", round + 1, args.runs, subject.name());
            let record = match subject {
                Subject::Lsp { .. } => run_lsp(&args, &root, subject, round),
                Subject::Ctags { program } => run_ctags(&args, &root, program, round),
            };
            eprintln!("{}", one_line(&record));
            records.push(record);
        }
    }

    let table = report(&args, &root, &subjects, &records);
    println!("{table}");

    if let Some(path) = &args.json_out {
        let medians: BTreeMap<&str, BTreeMap<&str, Option<f64>>> = subjects
            .iter()
            .map(|s| {
                let runs: Vec<&RunRecord> = records.iter().filter(|r| r.subject == s.name()).collect();
                (s.name(), METRICS.iter().map(|m| (m.key, median_of(&runs, m))).collect())
            })
            .collect();
        let out = json!({
            "tool": "lsp-bench",
            "started_unix": started,
            "root": root,
            "commands": subjects.iter().map(|s| (s.name().to_owned(), s.command_line(&root))).collect::<BTreeMap<_, _>>(),
            "args": args,
            "host": host_info(),
            "medians": medians,
            "runs": records,
        });
        fs::write(path, serde_json::to_string_pretty(&out)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("lsp-bench: raw runs written to {}", path.display());
    }
    Ok(())
}

fn subjects(args: &Args) -> Result<Vec<Subject>> {
    let mut init_options = BTreeMap::new();
    for spec in &args.init_options {
        let (name, value) =
            spec.split_once('=').ok_or_else(|| anyhow!("--init-options {spec:?}: expected NAME=JSON"))?;
        let value: Value =
            serde_json::from_str(value).with_context(|| format!("--init-options {name}: not JSON"))?;
        init_options.insert(name.to_owned(), value);
    }
    let mut subjects = Vec::new();
    for spec in &args.servers {
        let (name, command) =
            spec.split_once('=').ok_or_else(|| anyhow!("--server {spec:?}: expected NAME=COMMAND ARGS…"))?;
        let mut words = command.split_whitespace().map(str::to_owned);
        let program = words.next().ok_or_else(|| anyhow!("--server {name}: empty command"))?;
        if name.is_empty() || name == "ctags" || subjects.iter().any(|s: &Subject| s.name() == name) {
            bail!("--server {spec:?}: names must be unique, non-empty and not `ctags`");
        }
        subjects.push(Subject::Lsp {
            name: name.to_owned(),
            program,
            args: words.collect(),
            init_options: init_options.remove(name),
        });
    }
    if let Some(name) = init_options.keys().next() {
        bail!("--init-options {name}: no --server with that name");
    }
    if let Some(program) = &args.ctags {
        subjects.push(Subject::Ctags { program: program.clone() });
    }
    Ok(subjects)
}

fn secs(value: f64) -> Duration {
    Duration::from_secs_f64(value.max(0.0))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// One LSP run.

fn run_lsp(args: &Args, root: &Path, subject: &Subject, round: usize) -> RunRecord {
    let Subject::Lsp { name, program, args: server_args, init_options } = subject else {
        unreachable!("run_lsp is only called for servers")
    };
    let mut record = RunRecord { subject: name.clone(), round, ..RunRecord::default() };

    let stderr = match &args.server_logs {
        Some(dir) => match fs::File::create(dir.join(format!("{name}-{round}.stderr"))) {
            Ok(file) => Stdio::from(file),
            Err(err) => {
                record.error = Some(format!("cannot create the stderr log: {err}"));
                return record;
            }
        },
        None => Stdio::null(),
    };
    record.client_hwm_kb = own_hwm_kb();
    let spawned_at = Instant::now();
    let child = Command::new(program)
        .args(server_args)
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(err) => {
            record.error = Some(format!("cannot spawn {program}: {err}"));
            return record;
        }
    };
    let pid = child.id();
    let sampler = RssSampler::start(pid, Duration::from_millis(args.rss_interval_ms.max(1)));
    let exit = Waiter::start(pid);
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let mut conn = Connection::start(stdin, stdout);

    let outcome = drive(args, root, init_options.as_ref(), spawned_at, &mut conn, &mut record);
    if let Err(err) = &outcome {
        record.error = Some(format!("{err:#}"));
    }
    record.ok = outcome.is_ok();

    // Shut down like an editor: `shutdown`, `exit`, close stdin; kill the tree if it lingers.
    let polite = conn.request("shutdown", Value::Null, secs(args.exit_timeout.max(5.0)));
    let _ = conn.notify("exit", Value::Null);
    conn.close_stdin();
    match exit.wait(secs(args.exit_timeout)) {
        Some(status) => {
            record.exit = match polite {
                Ok(_) => "clean".to_owned(),
                Err(err) => format!("exited, but shutdown failed: {err:#}"),
            };
            record.exit_status = Some(status.code);
            record.root_maxrss_kb = Some(status.maxrss_kb);
        }
        None => {
            kill_tree(pid);
            record.exit = "killed: did not exit after shutdown + exit".to_owned();
            if let Some(status) = exit.wait(Duration::from_secs(10)) {
                record.exit_status = Some(status.code);
                record.root_maxrss_kb = Some(status.maxrss_kb);
            }
        }
    }
    // Descendants that outlived their parent are part of the tree too: do not leave them behind.
    kill_tree(pid);
    let peak = sampler.stop();
    record.peak_rss_tree_kb = Some(peak.peak_kb);
    record.rss_samples = peak.samples;
    record.max_tree_processes = peak.max_processes;
    let traffic = conn.traffic.lock().expect("traffic lock");
    record.notifications = traffic.notifications.clone();
    record.server_requests = traffic.server_requests.clone();
    record
}

/// Everything between spawning and shutting down. Fills `record` as it goes, so a failure midway
/// still keeps what was measured.
fn drive(
    args: &Args,
    root: &Path,
    init_options: Option<&Value>,
    spawned_at: Instant,
    conn: &mut Connection,
    record: &mut RunRecord,
) -> Result<()> {
    let request_timeout = secs(args.request_timeout);
    let root_uri = file_uri(root);

    // 1. spawn → initialize.
    let init =
        conn.request("initialize", initialize_params(root, &root_uri, init_options), request_timeout)?;
    record.spawn_to_initialize_ms = Some(ms(init.received - spawned_at));
    let init = init.result.map_err(|e| anyhow!("initialize failed: {e}"))?;
    let caps = &init["capabilities"];
    record.server_info = init.get("serverInfo").cloned();
    record.position_encoding = caps.get("positionEncoding").cloned();
    record.text_document_sync = caps.get("textDocumentSync").cloned();
    let sync_kind = match &caps["textDocumentSync"] {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::Object(o) => o.get("change").and_then(Value::as_i64).unwrap_or(0),
        _ => 0,
    };

    // 2. initialized → index ready.
    let initialized_at = Instant::now();
    conn.notify("initialized", json!({}))?;
    let expect = args.expect.as_deref().unwrap_or(&args.query);
    let deadline = initialized_at + secs(args.ready_timeout);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!(
                "not ready: no workspace/symbol answer for {:?} contained {expect:?} within {}s ({} polls)",
                args.query,
                args.ready_timeout,
                record.ready_polls
            );
        }
        let reply = match conn.request("workspace/symbol", json!({ "query": args.query }), left) {
            Ok(reply) => reply,
            Err(err) if err.is::<TimedOut>() => continue,
            Err(err) => return Err(err),
        };
        record.ready_polls += 1;
        match &reply.result {
            Ok(symbols) if symbol_names(symbols).any(|n| n == expect) => {
                record.initialized_to_ready_ms = Some(ms(reply.received - initialized_at));
                record.spawn_to_ready_ms = Some(ms(reply.received - spawned_at));
                break;
            }
            Ok(_) => {}
            Err(error) if error["code"] == json!(-32601) => {
                bail!("workspace/symbol is not supported: {error}")
            }
            Err(_) => {}
        }
    }

    if args.settle > 0.0 {
        thread::sleep(Duration::from_secs_f64(args.settle));
    }

    // 3. warm workspace/symbol.
    for i in 0..args.warm {
        let query = &args.queries[i % args.queries.len()];
        let reply = conn.request("workspace/symbol", json!({ "query": query }), request_timeout)?;
        let (results, error) = match &reply.result {
            Ok(symbols) => (symbols.as_array().map_or(0, Vec::len), None),
            Err(error) => (0, Some(error.clone())),
        };
        record.warm.push(WarmSample { query: query.clone(), ms: reply.elapsed_ms(), results, error });
    }
    let warm: Vec<f64> = record.warm.iter().map(|s| s.ms).collect();
    record.warm_p50_ms = percentile(&warm, 0.50);
    record.warm_p95_ms = percentile(&warm, 0.95);
    record.warm_results_median = median(&record.warm.iter().map(|s| s.results as f64).collect::<Vec<_>>());

    // 4. didOpen once, then didChange → documentSymbol.
    let path = root.join(&args.file);
    let mut text = fs::read_to_string(&path).with_context(|| format!("--file {}", path.display()))?;
    let uri = file_uri(&path);
    let mut version = 1;
    conn.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "python", "version": version, "text": text } }),
    )?;
    let symbols_params = json!({ "textDocument": { "uri": uri } });
    let first = conn.request("textDocument/documentSymbol", symbols_params.clone(), request_timeout)?;
    record.open_to_document_symbol_ms = Some(first.elapsed_ms());
    if sync_kind == 0 && args.edits > 0 {
        bail!("the server does not accept didChange (textDocumentSync change = None)");
    }
    let line = text.lines().count() as u64 / 2;
    for i in 0..args.edits {
        version += 1;
        let inserting = i.is_multiple_of(2);
        let comment = format!("# lsp-bench edit {version}\n");
        let (range, new_text) = if inserting {
            (lsp_range(line, line), comment.as_str())
        } else {
            (lsp_range(line, line + 1), "")
        };
        apply_line_edit(&mut text, line, inserting.then_some(comment.as_str()));
        let change = if sync_kind == 1 {
            json!({ "text": text })
        } else {
            json!({ "range": range, "text": new_text })
        };
        let sent = Instant::now();
        conn.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [change] }),
        )?;
        let reply = conn.request("textDocument/documentSymbol", symbols_params.clone(), request_timeout)?;
        let (symbols, error) = match &reply.result {
            Ok(value) => (count_symbols(value), None),
            Err(error) => (0, Some(error.clone())),
        };
        record.edits.push(EditSample {
            version,
            action: if inserting { "insert" } else { "remove" },
            ms: ms(reply.received - sent),
            symbols,
            error,
        });
    }
    let edits: Vec<f64> = record.edits.iter().map(|s| s.ms).collect();
    record.edit_p50_ms = percentile(&edits, 0.50);
    record.edit_p95_ms = percentile(&edits, 0.95);
    if let Some(bad) = record.edits.iter().find(|e| e.error.is_some() || e.symbols == 0) {
        bail!("documentSymbol after didChange version {} returned no symbols or an error", bad.version);
    }
    let _ = conn.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
    Ok(())
}

/// What a real editor sends: UTF-16 only, progress, hierarchical outlines, configuration.
fn initialize_params(root: &Path, root_uri: &str, init_options: Option<&Value>) -> Value {
    let symbol_kinds: Vec<u32> = (1..=26).collect();
    let folder_name =
        root.file_name().map_or_else(|| root.display().to_string(), |n| n.to_string_lossy().into());
    json!({
        "processId": std::process::id(),
        "clientInfo": { "name": "lsp-bench", "version": env!("CARGO_PKG_VERSION") },
        "locale": "en",
        "rootPath": root,
        "rootUri": root_uri,
        "workspaceFolders": [{ "uri": root_uri, "name": folder_name }],
        "initializationOptions": init_options,
        "trace": "off",
        "capabilities": {
            "general": { "positionEncodings": ["utf-16"] },
            "window": { "workDoneProgress": true, "showMessage": {}, "showDocument": { "support": false } },
            "workspace": {
                "applyEdit": false,
                "workspaceFolders": true,
                "configuration": true,
                "didChangeConfiguration": { "dynamicRegistration": true },
                "didChangeWatchedFiles": { "dynamicRegistration": true, "relativePatternSupport": true },
                "symbol": {
                    "dynamicRegistration": false,
                    "symbolKind": { "valueSet": symbol_kinds },
                    "resolveSupport": { "properties": ["location.range"] },
                },
            },
            "textDocument": {
                "synchronization": { "dynamicRegistration": false, "didSave": true, "willSave": false },
                "documentSymbol": {
                    "dynamicRegistration": false,
                    "hierarchicalDocumentSymbolSupport": true,
                    "symbolKind": { "valueSet": symbol_kinds },
                },
                "publishDiagnostics": { "relatedInformation": true, "versionSupport": true },
            },
        },
    })
}

fn lsp_range(start_line: u64, end_line: u64) -> Value {
    json!({
        "start": { "line": start_line, "character": 0 },
        "end": { "line": end_line, "character": 0 },
    })
}

/// Mirrors the edit locally (for servers that only take full-text changes): insert `line_text`
/// before line `line`, or remove line `line` when `None`.
fn apply_line_edit(text: &mut String, line: u64, line_text: Option<&str>) {
    let start = line_start(text, line);
    match line_text {
        Some(new) => text.insert_str(start, new),
        None => {
            let end = line_start(text, line + 1);
            text.replace_range(start..end, "");
        }
    }
}

fn line_start(text: &str, line: u64) -> usize {
    if line == 0 {
        return 0;
    }
    text.match_indices('\n').nth(line as usize - 1).map_or(text.len(), |(i, _)| i + 1)
}

fn symbol_names(answer: &Value) -> impl Iterator<Item = &str> {
    answer.as_array().into_iter().flatten().filter_map(|s| s.get("name").and_then(Value::as_str))
}

/// Symbols in a `documentSymbol` answer, nested children included.
fn count_symbols(value: &Value) -> usize {
    value.as_array().map_or(0, |items| items.iter().map(|s| 1 + count_symbols(&s["children"])).sum())
}

/// `file://` URI with the characters that need it percent-encoded.
fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(byte as char)
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC over the child's stdio.

/// A request timed out (as opposed to the server failing or exiting).
#[derive(Debug)]
struct TimedOut(String);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} timed out", self.0)
    }
}

impl std::error::Error for TimedOut {}

/// Messages the server sent that the client did not wait for.
#[derive(Debug, Default)]
struct Traffic {
    notifications: BTreeMap<String, u64>,
    server_requests: BTreeMap<String, u64>,
}

/// A response and when it was sent and received (stamped by the reader when the frame's last
/// byte arrived, before parsing).
struct Reply {
    sent: Instant,
    received: Instant,
    result: Result<Value, Value>,
}

impl Reply {
    fn elapsed_ms(&self) -> f64 {
        ms(self.received - self.sent)
    }
}

type Writer = Arc<Mutex<Option<ChildStdin>>>;

struct Connection {
    writer: Writer,
    responses: Receiver<(Instant, Value)>,
    next_id: i64,
    traffic: Arc<Mutex<Traffic>>,
}

impl Connection {
    fn start(stdin: ChildStdin, stdout: ChildStdout) -> Connection {
        let writer: Writer = Arc::new(Mutex::new(Some(stdin)));
        let traffic = Arc::new(Mutex::new(Traffic::default()));
        let (tx, rx) = crossbeam_channel::unbounded();
        let (reader_writer, reader_traffic) = (writer.clone(), traffic.clone());
        // Detached: it ends at EOF, which killing the tree guarantees.
        thread::Builder::new()
            .name("lsp-bench-reader".to_owned())
            .spawn(move || read_loop(stdout, &reader_writer, &tx, &reader_traffic))
            .expect("spawning the reader thread");
        Connection { writer, responses: rx, next_id: 0, traffic }
    }

    fn notify(&self, method: &str, params: Value) -> Result<()> {
        write_message(&self.writer, &json!({ "jsonrpc": "2.0", "method": method, "params": params }))
    }

    /// Sends a request and waits for its response; responses to earlier, abandoned requests are
    /// skipped.
    fn request(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Reply> {
        self.next_id += 1;
        let id = self.next_id;
        let sent = Instant::now();
        write_message(
            &self.writer,
            &json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }),
        )
        .with_context(|| format!("sending {method}"))?;
        let deadline = sent + timeout;
        loop {
            match self.responses.recv_deadline(deadline) {
                Ok((received, mut message)) => {
                    if message["id"] != json!(id) {
                        continue;
                    }
                    let result = match message.get_mut("error") {
                        Some(error) => Err(error.take()),
                        None => Ok(message.get_mut("result").map(Value::take).unwrap_or(Value::Null)),
                    };
                    return Ok(Reply { sent, received, result });
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.notify("$/cancelRequest", json!({ "id": id }));
                    return Err(TimedOut(format!("{method} (after {:.1}s)", timeout.as_secs_f64())).into());
                }
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("the server closed its stdout (exited?) while we waited for {method}")
                }
            }
        }
    }

    fn close_stdin(&self) {
        self.writer.lock().expect("writer lock").take();
    }
}

fn write_message(writer: &Mutex<Option<ChildStdin>>, message: &Value) -> Result<()> {
    let body = serde_json::to_vec(message)?;
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(&body);
    let mut guard = writer.lock().expect("writer lock");
    let stdin = guard.as_mut().ok_or_else(|| anyhow!("stdin already closed"))?;
    stdin.write_all(&frame)?;
    stdin.flush()?;
    Ok(())
}

/// Reads frames until EOF: responses go to the waiting client, server requests are answered here
/// at once (as an editor would, whatever the client is doing), notifications are counted.
fn read_loop(
    stdout: ChildStdout,
    writer: &Writer,
    responses: &Sender<(Instant, Value)>,
    traffic: &Mutex<Traffic>,
) {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    while let Ok(Some(body)) = read_frame(&mut reader) {
        let received = Instant::now();
        let Ok(message) = serde_json::from_slice::<Value>(&body) else { continue };
        let method = message.get("method").and_then(Value::as_str);
        match (message.get("id"), method) {
            (Some(id), Some(method)) => {
                let result = match method {
                    "workspace/configuration" => {
                        let items = message["params"]["items"].as_array().map_or(0, Vec::len);
                        Value::Array(vec![Value::Null; items])
                    }
                    // window/workDoneProgress/create, client/registerCapability, and the rest.
                    _ => Value::Null,
                };
                *traffic
                    .lock()
                    .expect("traffic lock")
                    .server_requests
                    .entry(method.to_owned())
                    .or_default() += 1;
                let _ = write_message(writer, &json!({ "jsonrpc": "2.0", "id": id, "result": result }));
            }
            (None, Some(method)) => {
                *traffic.lock().expect("traffic lock").notifications.entry(method.to_owned()).or_default() +=
                    1;
            }
            (Some(_), None) => {
                if responses.send((received, message)).is_err() {
                    return;
                }
            }
            (None, None) => {}
        }
    }
}

/// One `Content-Length` framed body, or `None` at EOF.
fn read_frame(reader: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end();
        if header.is_empty() {
            if length.is_some() {
                break;
            }
            continue;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length.unwrap_or(0)];
    reader.read_exact(&mut body)?;
    Ok(Some(body))
}

// ---------------------------------------------------------------------------------------------
// Processes: exit status with rusage, the process tree, RSS.

struct ExitStatus {
    code: i32,
    maxrss_kb: u64,
}

/// Reaps one child with `wait4` on its own thread, so the exit time is exact (and the kernel's
/// peak RSS for the process comes with it; see `RunRecord::root_maxrss_kb` for its caveat).
struct Waiter {
    exited: Receiver<(Instant, ExitStatus)>,
}

impl Waiter {
    fn start(pid: u32) -> Waiter {
        let (tx, rx) = crossbeam_channel::bounded(1);
        thread::Builder::new()
            .name("lsp-bench-wait4".to_owned())
            .spawn(move || {
                let mut status = 0;
                // SAFETY: `rusage` is plain data, zeroed is a valid value.
                let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
                // SAFETY: valid pointers to locals; `pid` is our own unreaped child.
                let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
                let at = Instant::now();
                if reaped == pid as libc::pid_t {
                    let code = if libc::WIFEXITED(status) {
                        libc::WEXITSTATUS(status)
                    } else {
                        128 + libc::WTERMSIG(status)
                    };
                    let maxrss_kb = u64::try_from(usage.ru_maxrss).unwrap_or(0);
                    let _ = tx.send((at, ExitStatus { code, maxrss_kb }));
                }
            })
            .expect("spawning the wait4 thread");
        Waiter { exited: rx }
    }

    fn wait(&self, timeout: Duration) -> Option<ExitStatus> {
        self.wait_at(timeout).map(|(_, status)| status)
    }

    fn wait_at(&self, timeout: Duration) -> Option<(Instant, ExitStatus)> {
        self.exited.recv_timeout(timeout).ok()
    }
}

/// `(pid, ppid)` for every process, from `/proc/*/stat`.
fn process_table() -> Vec<(u32, u32)> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid …`; comm may contain spaces and parentheses.
            let after = &stat[stat.rfind(')')? + 1..];
            let ppid = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// `root` and all its descendants still alive.
fn process_tree(root: u32) -> Vec<u32> {
    let table = process_table();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(table.iter().filter(|&&(_, ppid)| ppid == parent).map(|&(pid, _)| pid));
        i += 1;
    }
    tree
}

fn vm_rss_kb(pid: u32) -> Option<u64> {
    status_kb(&format!("/proc/{pid}/status"), "VmRSS:")
}

fn own_hwm_kb() -> Option<u64> {
    status_kb("/proc/self/status", "VmHWM:")
}

fn status_kb(path: &str, field: &str) -> Option<u64> {
    let status = fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn kill_tree(root: u32) {
    let tree = process_tree(root);
    // SAFETY: plain syscalls on pids we started (the group was created at spawn).
    unsafe {
        libc::kill(-(root as libc::pid_t), libc::SIGKILL);
        for pid in tree {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}

struct RssPeak {
    peak_kb: u64,
    samples: u64,
    max_processes: usize,
}

/// Samples the tree's summed RSS on its own thread until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<RssPeak>,
}

impl RssSampler {
    fn start(root: u32, every: Duration) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::Builder::new()
            .name("lsp-bench-rss".to_owned())
            .spawn(move || {
                let mut peak = RssPeak { peak_kb: 0, samples: 0, max_processes: 0 };
                while !flag.load(Ordering::Relaxed) {
                    let tree = process_tree(root);
                    let sum: u64 = tree.iter().filter_map(|&pid| vm_rss_kb(pid)).sum();
                    peak.peak_kb = peak.peak_kb.max(sum);
                    peak.max_processes = peak.max_processes.max(tree.len());
                    peak.samples += 1;
                    thread::sleep(every);
                }
                peak
            })
            .expect("spawning the RSS sampler");
        RssSampler { stop, handle }
    }

    fn stop(self) -> RssPeak {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or(RssPeak { peak_kb: 0, samples: 0, max_processes: 0 })
    }
}

// ---------------------------------------------------------------------------------------------
// The ctags floor.

fn run_ctags(args: &Args, root: &Path, program: &str, round: usize) -> RunRecord {
    let mut record = RunRecord { subject: "ctags".to_owned(), round, ..RunRecord::default() };
    let tags = std::env::temp_dir().join(format!("lsp-bench-{}-{round}.tags", std::process::id()));
    record.client_hwm_kb = own_hwm_kb();
    let spawned_at = Instant::now();
    let child = Command::new(program)
        .args(["-R", "--languages=Python", "-f"])
        .arg(&tags)
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(err) => {
            record.error = Some(format!("cannot spawn {program}: {err}"));
            return record;
        }
    };
    let pid = child.id();
    let sampler = RssSampler::start(pid, Duration::from_millis(args.rss_interval_ms.max(1)));
    let exit = Waiter::start(pid);
    match exit.wait_at(secs(args.ready_timeout)) {
        Some((at, status)) => {
            record.wall_ms = Some(ms(at - spawned_at));
            record.spawn_to_ready_ms = record.wall_ms;
            record.root_maxrss_kb = Some(status.maxrss_kb);
            record.exit_status = Some(status.code);
            record.exit = "clean".to_owned();
            record.ok = status.code == 0;
            if !record.ok {
                record.error = Some(format!("ctags exited with {}", status.code));
            }
        }
        None => {
            kill_tree(pid);
            let _ = exit.wait(Duration::from_secs(10));
            record.exit = "killed".to_owned();
            record.error = Some(format!("ctags did not finish within {}s", args.ready_timeout));
        }
    }
    let peak = sampler.stop();
    record.peak_rss_tree_kb = Some(peak.peak_kb);
    record.rss_samples = peak.samples;
    record.max_tree_processes = peak.max_processes;
    if let Ok(text) = fs::read_to_string(&tags) {
        record.tags = Some(text.lines().filter(|l| !l.starts_with("!_")).count());
    }
    let _ = fs::remove_file(&tags);
    record
}

// ---------------------------------------------------------------------------------------------
// Statistics and the report.

/// Nearest-rank percentile: the smallest sample with at least `q` of the samples at or below it.
fn percentile(samples: &[f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) { (sorted[mid - 1] + sorted[mid]) / 2.0 } else { sorted[mid] })
}

/// A row of the table: how to read it from a run, and how to show it.
struct Metric {
    key: &'static str,
    label: &'static str,
    unit: Unit,
    get: fn(&RunRecord) -> Option<f64>,
}

#[derive(Clone, Copy)]
enum Unit {
    Ms,
    Mib,
    Count,
}

fn kb(value: Option<u64>) -> Option<f64> {
    value.map(|v| v as f64)
}

const METRICS: &[Metric] = &[
    Metric {
        key: "spawn_to_initialize_ms",
        label: "spawn → initialize response",
        unit: Unit::Ms,
        get: |r| r.spawn_to_initialize_ms,
    },
    Metric {
        key: "initialized_to_ready_ms",
        label: "initialized → index ready",
        unit: Unit::Ms,
        get: |r| r.initialized_to_ready_ms,
    },
    Metric {
        key: "spawn_to_ready_ms",
        label: "spawn → index ready (ctags: whole run)",
        unit: Unit::Ms,
        get: |r| r.spawn_to_ready_ms,
    },
    Metric { key: "warm_p50_ms", label: "workspace/symbol p50", unit: Unit::Ms, get: |r| r.warm_p50_ms },
    Metric { key: "warm_p95_ms", label: "workspace/symbol p95", unit: Unit::Ms, get: |r| r.warm_p95_ms },
    Metric {
        key: "warm_results_median",
        label: "workspace/symbol results per answer (median)",
        unit: Unit::Count,
        get: |r| r.warm_results_median,
    },
    Metric {
        key: "edit_p50_ms",
        label: "didChange → documentSymbol p50",
        unit: Unit::Ms,
        get: |r| r.edit_p50_ms,
    },
    Metric {
        key: "edit_p95_ms",
        label: "didChange → documentSymbol p95",
        unit: Unit::Ms,
        get: |r| r.edit_p95_ms,
    },
    Metric {
        key: "peak_rss_tree_kb",
        label: "peak RSS, process tree (sampled)",
        unit: Unit::Mib,
        get: |r| kb(r.peak_rss_tree_kb),
    },
];

/// The median over a subject's runs of one metric. Only complete runs count, so that a server
/// that failed midway does not pull its numbers down; the exception is spawn → initialize, which
/// is still worth showing for a server that never gets ready.
fn median_of(runs: &[&RunRecord], metric: &Metric) -> Option<f64> {
    let values: Vec<f64> = runs
        .iter()
        .filter(|r| r.ok || metric.key == "spawn_to_initialize_ms")
        .filter_map(|r| (metric.get)(r))
        .collect();
    median(&values)
}

fn format_value(value: Option<f64>, unit: Unit) -> String {
    match (value, unit) {
        (None, _) => "—".to_owned(),
        (Some(v), Unit::Ms) if v < 10.0 => format!("{v:.2} ms"),
        (Some(v), Unit::Ms) if v < 1000.0 => format!("{v:.1} ms"),
        (Some(v), Unit::Ms) => format!("{:.2} s", v / 1000.0),
        (Some(v), Unit::Mib) => format!("{:.1} MiB", v / 1024.0),
        (Some(v), Unit::Count) => format!("{v:.0}"),
    }
}

fn report(args: &Args, root: &Path, subjects: &[Subject], records: &[RunRecord]) -> String {
    let runs_of = |name: &str| records.iter().filter(|r| r.subject == name).collect::<Vec<_>>();
    let baseline = args.baseline.as_deref();
    let peers: Vec<&Subject> = subjects.iter().filter(|s| Some(s.name()) != baseline).collect();

    let mut out = String::new();
    out.push_str(&format!(
        "## lsp-bench: {} ({} rounds, medians; {} warm workspace/symbol, {} edits per run)\n\n",
        root.display(),
        args.runs,
        args.warm,
        args.edits
    ));
    let mut header = vec!["metric".to_owned()];
    header.extend(subjects.iter().map(|s| s.name().to_owned()));
    if let Some(base) = baseline {
        header.extend(peers.iter().map(|s| format!("{} / {base}", s.name())));
    }
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", " --- |".repeat(header.len())));

    let ready: Vec<String> = subjects
        .iter()
        .map(|s| {
            let runs = runs_of(s.name());
            format!("{}/{}", runs.iter().filter(|r| r.ok).count(), runs.len())
        })
        .collect();
    let mut row = vec!["runs ready and complete".to_owned()];
    row.extend(ready);
    if baseline.is_some() {
        row.extend(peers.iter().map(|_| String::new()));
    }
    out.push_str(&format!("| {} |\n", row.join(" | ")));

    for metric in METRICS {
        let values: Vec<Option<f64>> =
            subjects.iter().map(|s| median_of(&runs_of(s.name()), metric)).collect();
        if values.iter().all(Option::is_none) {
            continue;
        }
        let mut row = vec![metric.label.to_owned()];
        row.extend(values.iter().map(|v| format_value(*v, metric.unit)));
        if let Some(base) = baseline {
            let base_value = subjects.iter().position(|s| s.name() == base).and_then(|i| values[i]);
            for peer in &peers {
                let i = subjects.iter().position(|s| s.name() == peer.name()).expect("peer is a subject");
                row.push(match (values[i], base_value) {
                    (Some(v), Some(b)) if b > 0.0 => format!("{:.2}×", v / b),
                    _ => "—".to_owned(),
                });
            }
        }
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }

    out.push_str("\nCommands:\n");
    for subject in subjects {
        out.push_str(&format!("- {}: `{}`\n", subject.name(), subject.command_line(root)));
    }
    out.push_str(&format!(
        "\nReady = first `workspace/symbol` answer for `{}` naming `{}`; edits on `{}`; p50/p95 are \
         nearest-rank within a run, then the median over runs.\n",
        args.query,
        args.expect.as_deref().unwrap_or(&args.query),
        args.file.display()
    ));
    let failures: Vec<String> = records
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("- {} round {}: {e}", r.subject, r.round + 1)))
        .collect();
    if !failures.is_empty() {
        out.push_str("\nFailures:\n");
        out.push_str(&failures.join("\n"));
        out.push('\n');
    }
    out
}

fn one_line(record: &RunRecord) -> String {
    let f = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.1}"));
    match &record.error {
        Some(err) => format!("FAILED: {err}"),
        None if record.subject == "ctags" => {
            format!(
                "wall {} ms, {} tags, maxrss {} KiB",
                f(record.wall_ms),
                record.tags.unwrap_or(0),
                record.root_maxrss_kb.unwrap_or(0)
            )
        }
        None => format!(
            "init {} ms, ready {} ms ({} polls), ws p50 {} ms, edit p50 {} ms, peak {} KiB, exit {}",
            f(record.spawn_to_initialize_ms),
            f(record.initialized_to_ready_ms),
            record.ready_polls,
            f(record.warm_p50_ms),
            f(record.edit_p50_ms),
            record.peak_rss_tree_kb.unwrap_or(0),
            record.exit
        ),
    }
}

fn host_info() -> Value {
    let cpus = thread::available_parallelism().map_or(0, usize::from);
    let model = fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| {
        c.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
    });
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned());
    let load = fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_owned());
    json!({ "cpus": cpus, "cpu_model": model, "kernel": kernel, "loadavg_at_end": load })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=30).map(f64::from).collect();
        assert_eq!(percentile(&samples, 0.50), Some(15.0));
        assert_eq!(percentile(&samples, 0.95), Some(29.0));
        assert_eq!(percentile(&[7.0], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }

    #[test]
    fn local_edits_mirror_the_incremental_ones() {
        let mut text = "a\nb\nc\n".to_owned();
        apply_line_edit(&mut text, 1, Some("# x\n"));
        assert_eq!(text, "a\n# x\nb\nc\n");
        apply_line_edit(&mut text, 1, None);
        assert_eq!(text, "a\nb\nc\n");
    }

    #[test]
    fn frames_and_uris() {
        let mut input: &[u8] = b"Content-Length: 2\r\nContent-Type: x\r\n\r\n{}Content-Length: 4\r\n\r\nnull";
        assert_eq!(read_frame(&mut input).unwrap(), Some(b"{}".to_vec()));
        assert_eq!(read_frame(&mut input).unwrap(), Some(b"null".to_vec()));
        assert_eq!(read_frame(&mut input).unwrap(), None);
        assert_eq!(file_uri(Path::new("/tmp/a b/c.py")), "file:///tmp/a%20b/c.py");
    }
}
