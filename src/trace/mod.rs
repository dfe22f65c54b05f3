//! The trace: a JSON-lines record of what the repair pipeline did — every model call (prompt,
//! response, tokens, latency), every candidate, every test run and every decision — so that a
//! fix (or a failure to find one) can be explained after the fact, and measured over many runs
//! (`repolens traces`).
//!
//! One file per workspace, `traces.jsonl` in the workspace's cache directory (the one the index
//! cache uses: `$REPOLENS_CACHE_DIR` or the user's cache directory, never inside the repository
//! unless configured so). Each line is one event:
//!
//! ```json
//! {"v":1,"ts_ms":1718000000000,"run":"1718000000000-4242-1","event":"llm_call", …}
//! ```
//!
//! `run` groups the events of one pipeline run; `event` is one of `run_start`, `llm_call`,
//! `candidate`, `test_run`, `decision`, `run_end` (fields in `summary.rs`, which reads them).
//! Prompts and responses are passed through [`crate::llm::redact`] before they are written, as
//! the client does before it sends them. Writing is best effort: a trace that cannot be written
//! is logged once and never fails the repair. Lines are appended with one `write` on a file
//! opened for appending, so concurrent runs (the server and a CLI command) do not interleave
//! within a line. A file larger than [`ROTATE_ABOVE`] when a run opens it is renamed to
//! `traces.1.jsonl` (replacing the previous one), so the trace keeps about two files' worth.

mod summary;

use std::{
    fs::{File, OpenOptions},
    io::Write as _,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{Map, Value, json};

pub use summary::{RunSummary, TraceSummary, read_events, summarize};

/// The format version written in every line.
pub const FORMAT: u64 = 1;
/// The file's name in the cache directory.
pub const FILE_NAME: &str = "traces.jsonl";
/// A trace file larger than this is rotated when a run starts.
pub const ROTATE_ABOVE: u64 = 64 << 20;

/// The trace of one run. Cheap to clone (clones record into the same run); safe to share
/// between threads.
#[derive(Clone, Debug)]
pub struct Trace {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    run: String,
    file: Mutex<Option<File>>,
    warned: AtomicBool,
}

impl Trace {
    /// A new run in the workspace's trace file (under the cache directory). Tracing is best
    /// effort: `None`, with a warning, when there is no cache directory or the file cannot open.
    pub fn for_workspace(root: &std::path::Path) -> Option<Trace> {
        let path = crate::config::Config::default().trace_file(std::slice::from_ref(&root.to_path_buf()))?;
        match Trace::start(&path) {
            Ok(trace) => Some(trace),
            Err(err) => {
                tracing::warn!("not tracing this run: cannot open {}: {err}", path.display());
                None
            }
        }
    }

    /// Starts a run recorded in the trace file at `path` (created with its directory).
    pub fn start(path: &Path) -> std::io::Result<Trace> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if std::fs::metadata(path).is_ok_and(|m| m.len() > ROTATE_ABOVE) {
            let _ = std::fs::rename(path, path.with_extension("1.jsonl"));
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Trace {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                run: new_run_id(),
                file: Mutex::new(Some(file)),
                warned: AtomicBool::new(false),
            }),
        })
    }

    /// The trace file of the workspace whose cache directory is `cache_dir`.
    pub fn path_in(cache_dir: &Path) -> PathBuf {
        cache_dir.join(FILE_NAME)
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// This run's id, shared by all its events.
    pub fn run_id(&self) -> &str {
        &self.inner.run
    }

    /// Appends one event; `fields` (an object) go after the common ones.
    pub fn record(&self, event: &str, fields: Value) {
        let mut line = Map::new();
        line.insert("v".into(), json!(FORMAT));
        line.insert("ts_ms".into(), json!(now_ms()));
        line.insert("run".into(), json!(self.inner.run));
        line.insert("event".into(), json!(event));
        if let Value::Object(fields) = fields {
            line.extend(fields);
        }
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        let mut file = self.inner.file.lock().unwrap_or_else(|e| e.into_inner());
        let Some(handle) = file.as_mut() else { return };
        if let Err(err) = handle.write_all(text.as_bytes()) {
            if !self.inner.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!("cannot write the trace {}: {err}; tracing stops", self.inner.path.display());
            }
            // A half-written line would corrupt the next one: stop writing.
            *file = None;
        }
    }
}

/// `<unix ms>-<pid>-<n>`: unique across processes sharing a trace file, and sortable by start.
fn new_run_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{}-{}-{}", now_ms(), std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Text from a prompt or an answer, as a trace may hold it.
pub fn redacted(text: &str) -> String {
    crate::llm::redact(text).into_owned()
}
