//! The trace file: events appended as JSON lines by concurrent writers, read back into runs, and
//! summed up the way `repolens traces` reports them (unfinished runs, malformed lines, `--last`).

use repolens::trace::{Trace, read_events, summarize};
use serde_json::json;

#[test]
fn events_are_grouped_into_runs_and_summed() {
    let dir = tempfile::tempdir().unwrap();
    let path = Trace::path_in(dir.path());
    let first = Trace::start(&path).unwrap();
    let second = Trace::start(&path).unwrap();
    assert_ne!(first.run_id(), second.run_id());

    first.record("run_start", json!({"kind": "repair", "location": "calc/stats.py:1"}));
    first.record(
        "llm_call",
        json!({"prompt_tokens": 100, "completion_tokens": 20, "latency_ms": 30, "error": null}),
    );
    first.record(
        "llm_call",
        json!({"prompt_tokens": 0, "completion_tokens": 0, "latency_ms": 5, "error": "timeout"}),
    );
    first.record("candidate", json!({"status": "rejected", "failure": "did not apply"}));
    first.record("candidate", json!({"status": "tested", "failure": "assertion failure"}));
    first.record("candidate", json!({"status": "tested", "failure": null}));
    first.record("test_run", json!({"role": "baseline", "duration_ms": 400}));
    first.record("test_run", json!({"role": "targets", "duration_ms": 600}));
    first.record("run_end", json!({"success": true, "elapsed_ms": 1500, "error": null}));
    // The second run never ends (its process died).
    second.record("run_start", json!({"kind": "repair", "location": "calc/stats.py:9"}));
    second.record("candidate", json!({"status": "tested", "failure": "assertion failure"}));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"not json\n{\"no\":\"run\"}\n"))
        .unwrap();

    let (events, malformed) = read_events(&path).unwrap();
    assert_eq!(events.len(), 11);
    assert_eq!(malformed, 2);
    let all = summarize(&events, malformed, None);
    assert_eq!(all.runs.len(), 2);
    assert_eq!((all.finished, all.succeeded), (1, 1));
    assert_eq!(all.success_rate, Some(100.0), "unfinished runs are not in the rate");
    assert_eq!(all.failures.get("assertion failure"), Some(&2));
    assert_eq!(all.failures.get("did not apply"), Some(&1));
    assert_eq!((all.llm_calls, all.llm_errors), (2, 1));
    assert_eq!((all.prompt_tokens, all.completion_tokens, all.llm_ms), (100, 20, 35));
    assert_eq!((all.test_runs, all.test_ms), (2, 1000));
    assert_eq!(all.candidates, 4);
    assert_eq!(all.runs[0].location.as_deref(), Some("calc/stats.py:1"));
    assert!(all.runs[0].finished && !all.runs[1].finished);

    let last = summarize(&events, malformed, Some(1));
    assert_eq!(last.runs.len(), 1);
    assert_eq!(last.runs[0].location.as_deref(), Some("calc/stats.py:9"));
    assert_eq!(last.success_rate, None);
    assert_eq!(last.failures.get("assertion failure"), Some(&1));
}

#[test]
fn concurrent_writers_never_interleave_within_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = Trace::path_in(dir.path());
    let big = "x".repeat(20_000);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let trace = Trace::start(&path).unwrap();
            let big = big.clone();
            scope.spawn(move || {
                for _ in 0..25 {
                    trace.record("llm_call", json!({"response": big, "prompt_tokens": 1}));
                }
            });
        }
    });
    let (events, malformed) = read_events(&path).unwrap();
    assert_eq!((events.len(), malformed), (100, 0));
    assert_eq!(summarize(&events, 0, None).prompt_tokens, 100);
}

#[test]
fn a_missing_trace_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (events, malformed) = read_events(&dir.path().join("none.jsonl")).unwrap();
    assert!(events.is_empty() && malformed == 0);
    assert!(summarize(&events, 0, None).runs.is_empty());
}
