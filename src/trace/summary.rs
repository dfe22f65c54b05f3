//! Reading a trace back: events grouped into runs, and the numbers `repolens traces` prints —
//! success rate, failure categories, tokens and time.
//!
//! The events and the fields read here (others are kept in the file for people, not summed):
//! - `run_start`: `kind` (`repair`, `test-generation`), `location`, `problem`;
//! - `llm_call`: `prompt_tokens`, `completion_tokens`, `latency_ms`, `error` (null when it
//!   answered);
//! - `candidate`: `status` (`rejected`, `tested`, `duplicate`), `failure` (a category such as
//!   `assertion failure`, null for a candidate that passed);
//! - `test_run`: `duration_ms`;
//! - `run_end`: `success`, `elapsed_ms`, `error`.
//!
//! A run with no `run_end` (the process died or was killed) counts as unfinished: it is in the
//! totals of calls, tokens and time but not in the success rate. Lines that are not JSON objects
//! with a `run` are counted as malformed and skipped.

use std::{
    collections::BTreeMap,
    io::{BufRead as _, BufReader},
    path::Path,
};

use serde::Serialize;
use serde_json::Value;

/// One run, summed up.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunSummary {
    pub run: String,
    pub kind: String,
    /// Where it was asked to work (`FILE:LINE`), if the start said.
    pub location: Option<String>,
    pub started_ms: u64,
    pub finished: bool,
    pub success: bool,
    pub error: Option<String>,
    /// Wall time: from `run_end`, else from the first to the last event.
    pub elapsed_ms: u64,
    pub llm_calls: usize,
    pub llm_errors: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub llm_ms: u64,
    pub test_runs: usize,
    pub test_ms: u64,
    /// Candidates proposed (duplicates included).
    pub candidates: usize,
    /// Failed candidates by category.
    pub failures: BTreeMap<String, usize>,
}

/// The runs of a trace, and their totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TraceSummary {
    /// Oldest first.
    pub runs: Vec<RunSummary>,
    pub finished: usize,
    pub succeeded: usize,
    /// `succeeded / finished`, in percent; `None` with no finished run.
    pub success_rate: Option<f64>,
    pub failures: BTreeMap<String, usize>,
    pub llm_calls: usize,
    pub llm_errors: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub llm_ms: u64,
    pub test_runs: usize,
    pub test_ms: u64,
    pub elapsed_ms: u64,
    pub candidates: usize,
    /// Lines skipped because they were not events.
    pub malformed_lines: usize,
}

/// The events of the trace file at `path` (after those of its rotated predecessor, if any), and
/// how many lines were not events. A missing file is an empty trace.
pub fn read_events(path: &Path) -> std::io::Result<(Vec<Value>, usize)> {
    let mut events = Vec::new();
    let mut malformed = 0;
    for file in [path.with_extension("1.jsonl"), path.to_path_buf()] {
        let reader = match std::fs::File::open(&file) {
            Ok(f) => BufReader::new(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for line in reader.split(b'\n') {
            let line = line?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Value>(&line) {
                Ok(event) if event.get("run").and_then(Value::as_str).is_some() => events.push(event),
                _ => malformed += 1,
            }
        }
    }
    Ok((events, malformed))
}

/// Groups `events` into runs (in order of their first event) and sums up the last `last` runs
/// (all with `None`).
pub fn summarize(events: &[Value], malformed_lines: usize, last: Option<usize>) -> TraceSummary {
    let mut order: Vec<String> = Vec::new();
    let mut runs: BTreeMap<String, (RunSummary, u64, u64)> = BTreeMap::new();
    for event in events {
        let Some(id) = event["run"].as_str() else { continue };
        let ts = event["ts_ms"].as_u64().unwrap_or(0);
        let (run, first, latest) = runs.entry(id.to_owned()).or_insert_with(|| {
            order.push(id.to_owned());
            (RunSummary { run: id.to_owned(), started_ms: ts, ..RunSummary::default() }, ts, ts)
        });
        *first = (*first).min(ts);
        *latest = (*latest).max(ts);
        let u64_of = |key: &str| event[key].as_u64().unwrap_or(0);
        match event["event"].as_str().unwrap_or("") {
            "run_start" => {
                run.kind = event["kind"].as_str().unwrap_or("").to_owned();
                run.location = event["location"].as_str().map(str::to_owned);
                run.started_ms = ts;
            }
            "llm_call" => {
                run.llm_calls += 1;
                run.llm_errors += usize::from(!event["error"].is_null());
                run.prompt_tokens += u64_of("prompt_tokens");
                run.completion_tokens += u64_of("completion_tokens");
                run.llm_ms += u64_of("latency_ms");
            }
            "candidate" => {
                run.candidates += 1;
                if let Some(failure) = event["failure"].as_str() {
                    *run.failures.entry(failure.to_owned()).or_default() += 1;
                }
            }
            "test_run" => {
                run.test_runs += 1;
                run.test_ms += u64_of("duration_ms");
            }
            "run_end" => {
                run.finished = true;
                run.success = event["success"].as_bool().unwrap_or(false);
                run.error = event["error"].as_str().map(str::to_owned);
                run.elapsed_ms = u64_of("elapsed_ms");
            }
            _ => {}
        }
    }
    let skip = last.map_or(0, |n| order.len().saturating_sub(n));
    let mut out = TraceSummary { malformed_lines, ..TraceSummary::default() };
    for id in order.into_iter().skip(skip) {
        let Some((mut run, first, latest)) = runs.remove(&id) else { continue };
        if !run.finished {
            run.elapsed_ms = latest - first;
        }
        out.finished += usize::from(run.finished);
        out.succeeded += usize::from(run.finished && run.success);
        for (category, n) in &run.failures {
            *out.failures.entry(category.clone()).or_default() += n;
        }
        out.llm_calls += run.llm_calls;
        out.llm_errors += run.llm_errors;
        out.prompt_tokens += run.prompt_tokens;
        out.completion_tokens += run.completion_tokens;
        out.llm_ms += run.llm_ms;
        out.test_runs += run.test_runs;
        out.test_ms += run.test_ms;
        out.elapsed_ms += run.elapsed_ms;
        out.candidates += run.candidates;
        out.runs.push(run);
    }
    out.success_rate = (out.finished > 0).then(|| out.succeeded as f64 * 100.0 / out.finished as f64);
    out
}
