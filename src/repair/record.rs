//! The repair pipeline's trace events (see `src/trace/`): one function per event, so that the
//! pipelines say *when* something happened and this file says *what* is written.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Candidate, ModelExchange, RepairTask, SourceTexts};
use crate::{
    sandbox::{TestId, TestRun},
    trace::{Trace, redacted},
};

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// `FILE:LINE` of the task's focus.
pub(crate) fn location(task: &RepairTask, sources: &dyn SourceTexts) -> String {
    let line = sources.text(&task.file).map_or(1, |text| {
        let at = (task.focus.start as usize).min(text.len());
        text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1
    });
    format!("{}:{line}", task.file.display())
}

pub(crate) fn run_start(
    trace: &Trace,
    kind: &str,
    task: &RepairTask,
    sources: &dyn SourceTexts,
    extra: Value,
) {
    let mut fields = json!({
        "kind": kind,
        "location": location(task, sources),
        "file": task.file,
        "focus": [task.focus.start, task.focus.end],
        "problem": redacted(&task.problem),
        "mechanical_fixes": task.fixes.len(),
    });
    if let (Value::Object(fields), Value::Object(extra)) = (&mut fields, extra) {
        fields.extend(extra);
    }
    trace.record("run_start", fields);
}

pub(crate) fn llm_call(trace: &Trace, round: usize, generator: &str, exchange: &ModelExchange) {
    let messages: Vec<Value> = exchange
        .messages
        .iter()
        .map(|m| json!({"role": format!("{:?}", m.role).to_lowercase(), "content": redacted(&m.content)}))
        .collect();
    let (response, error, usage, model, attempts) = match &exchange.result {
        Ok(c) => (Some(redacted(&c.text)), None, c.usage, Some(c.model.as_str()), c.attempts),
        Err(err) => (None, Some(redacted(err)), Default::default(), None, 0),
    };
    trace.record(
        "llm_call",
        json!({
            "round": round + 1,
            "generator": generator,
            "sample": exchange.sample + 1,
            "temperature": exchange.temperature,
            "model": model,
            "messages": messages,
            "response": response,
            "error": error,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "tokens_estimated": usage.estimated,
            "latency_ms": ms(exchange.latency),
            "attempts": attempts,
        }),
    );
}

/// A candidate that never ran: its answer did not apply or did not validate.
pub(crate) fn rejected(
    trace: &Trace,
    round: usize,
    description: &str,
    origin: &str,
    category: &str,
    error: &str,
    raw: &str,
) {
    trace.record(
        "candidate",
        json!({
            "round": round + 1,
            "index": null,
            "status": "rejected",
            "description": redacted(description),
            "origin": origin,
            "failure": category,
            "error": error,
            "raw": redacted(raw),
        }),
    );
}

/// A candidate with its verdict (`failure` null: it passed).
#[allow(clippy::too_many_arguments)]
pub(crate) fn candidate(
    trace: &Trace,
    round: usize,
    index: usize,
    candidate: &Candidate,
    same_as: Option<usize>,
    failure: Option<&str>,
    targets_pass: bool,
    extra: Value,
) {
    let mut fields = json!({
        "round": round + 1,
        "index": index,
        "status": if same_as.is_some() { "duplicate" } else { "tested" },
        "same_as": same_as,
        "description": redacted(&candidate.description),
        "origin": candidate.origin.label(),
        "failure": failure,
        "targets_pass": targets_pass,
        "changed_lines": candidate.changed_lines(),
        "diff": redacted(&candidate.diff()),
    });
    if let (Value::Object(fields), Value::Object(extra)) = (&mut fields, extra) {
        fields.extend(extra);
    }
    trace.record("candidate", fields);
}

/// A test run: `role` is `baseline`, `targets`, `wider` or `probe`; `candidate` null for a
/// baseline.
pub(crate) fn test_run(
    trace: &Trace,
    round: usize,
    role: &str,
    candidate: Option<usize>,
    selection: &[TestId],
    run: Result<&TestRun, String>,
    cached: bool,
) {
    let mut fields = json!({
        "round": round + 1,
        "role": role,
        "candidate": candidate,
        "selection": selection.iter().map(TestId::as_str).collect::<Vec<_>>(),
        "cached": cached,
    });
    let more = match run {
        Ok(run) => json!({
            "outcome": format!("{:?}", run.outcome),
            "counts": {
                "passed": run.counts.passed,
                "failed": run.counts.failed,
                "errors": run.counts.errors,
                "skipped": run.counts.skipped,
            },
            // A cached baseline cost nothing this time.
            "duration_ms": if cached { 0 } else { ms(run.duration) },
            "run_duration_ms": ms(run.duration),
            "failure_category": run.failure_category().map(|c| format!("{c:?}")),
            "failing": run.failing().take(20).map(|t| t.id.as_str()).collect::<Vec<_>>(),
            "network_isolated": run.network_isolated,
            "command": run.command,
        }),
        Err(error) => json!({ "error": error, "duration_ms": 0 }),
    };
    if let (Value::Object(fields), Value::Object(more)) = (&mut fields, more) {
        fields.extend(more);
    }
    trace.record("test_run", fields);
}

pub(crate) fn decision(trace: &Trace, round: usize, winner: Option<usize>, ranking: &[usize]) {
    trace.record("decision", json!({ "round": round + 1, "winner": winner, "ranking": ranking }));
}

pub(crate) fn run_end(trace: &Trace, success: bool, elapsed: Duration, error: Option<&str>, extra: Value) {
    let mut fields = json!({ "success": success, "elapsed_ms": ms(elapsed), "error": error });
    if let (Value::Object(fields), Value::Object(extra)) = (&mut fields, extra) {
        fields.extend(extra);
    }
    trace.record("run_end", fields);
}
