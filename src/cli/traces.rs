//! `repolens traces [--last N] [--json]`: what the repair runs recorded in the workspace's trace
//! (`src/trace/`) add up to — success rate, failure categories, tokens and time.
#![allow(clippy::print_stdout)] // printing is this module's job

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::json;

use crate::{
    config::Config,
    trace::{TraceSummary, read_events, summarize},
};

pub fn traces(root: Option<PathBuf>, last: Option<usize>, as_json: bool) -> anyhow::Result<()> {
    let root = super::resolve_root(root)?;
    let root = root.canonicalize().with_context(|| format!("resolving {}", root.display()))?;
    let path = Config::default()
        .trace_file(std::slice::from_ref(&root))
        .context("no cache directory for traces (set REPOLENS_CACHE_DIR)")?;
    let (events, malformed) =
        read_events(&path).with_context(|| format!("cannot read the trace {}", path.display()))?;
    let summary = summarize(&events, malformed, last);
    if as_json {
        let mut value = serde_json::to_value(&summary)?;
        value["trace"] = json!(path);
        println!("{value}");
    } else {
        print_summary(&path, &summary);
    }
    Ok(())
}

fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn print_summary(path: &std::path::Path, s: &TraceSummary) {
    println!("trace: {}", path.display());
    if s.runs.is_empty() {
        println!("no runs recorded yet");
        return;
    }
    let unfinished = s.runs.len() - s.finished;
    println!(
        "{} runs{}: {} succeeded{}",
        s.runs.len(),
        if unfinished > 0 { format!(" ({unfinished} unfinished)") } else { String::new() },
        s.succeeded,
        s.success_rate.map(|r| format!(", success rate {r:.1}% of finished runs")).unwrap_or_default()
    );
    let failures: Vec<String> = {
        let mut f: Vec<(&String, &usize)> = s.failures.iter().collect();
        f.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        f.into_iter().map(|(k, n)| format!("{k} {n}")).collect()
    };
    println!(
        "candidates: {}; failures: {}",
        s.candidates,
        if failures.is_empty() { "none".to_owned() } else { failures.join(", ") }
    );
    println!(
        "model: {} calls{}, {} prompt + {} completion tokens, {} waiting",
        s.llm_calls,
        if s.llm_errors > 0 { format!(" ({} failed)", s.llm_errors) } else { String::new() },
        s.prompt_tokens,
        s.completion_tokens,
        secs(s.llm_ms)
    );
    println!("tests: {} runs, {}; wall time {}", s.test_runs, secs(s.test_ms), secs(s.elapsed_ms));
    if s.malformed_lines > 0 {
        println!("skipped {} lines that are not trace events", s.malformed_lines);
    }
    println!();
    for run in &s.runs {
        let verdict = match (run.finished, run.success) {
            (false, _) => "unfinished".to_owned(),
            (true, true) => "succeeded".to_owned(),
            (true, false) => match &run.error {
                Some(err) => format!("failed: {err}"),
                None => "no candidate passed".to_owned(),
            },
        };
        println!(
            "{}  {:<15} {:<30} {verdict}; {} candidates, {} model calls, {} tokens, {}",
            utc(run.started_ms),
            run.kind,
            run.location.as_deref().unwrap_or("?"),
            run.candidates,
            run.llm_calls,
            run.prompt_tokens + run.completion_tokens,
            secs(run.elapsed_ms)
        );
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time in milliseconds.
fn utc(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_times() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(1_709_251_199_000), "2024-02-29 23:59:59");
    }
}
