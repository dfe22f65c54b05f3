//! `repolens fix FILE:LINE --generate-test`: a new test file for the function at that line,
//! written by the configured model and accepted only when a sandbox run shows it passes on the
//! current code and calls the function (`repair::generate_test`). The file is written only with
//! `--apply`, and only if it still does not exist.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this module's job

use std::path::Path;

use serde_json::{Value, json};

use super::fix::FixArgs;
use crate::{
    graph::SymbolGraph,
    llm::LlmConfig,
    repair::{
        LlmTestGenerator, TestEvaluated, TestGenOptions, TestGenOutcome, TestTask, WorkspaceTexts,
        generate_test, style_example, tests_for_ranges,
    },
    sandbox::{SandboxOptions, TestCommand},
    text::TextRange,
    workspace::{RepolensToml, write_if_unchanged},
};

/// What the command works on, already localized by `fix`.
pub(crate) struct Located<'a> {
    pub root: &'a Path,
    pub rel: &'a Path,
    pub rel_str: &'a str,
    pub line: usize,
    pub focus: TextRange,
    pub symbol: Option<String>,
    pub graph: &'a SymbolGraph,
    pub sources: &'a WorkspaceTexts,
    pub model: Option<LlmConfig>,
}

pub(crate) fn generate_test_command(at: Located<'_>, args: &FixArgs) -> anyhow::Result<()> {
    let Located { root, rel, rel_str, line, focus, symbol, graph, sources, model } = at;
    let Some(qualname) = symbol else {
        anyhow::bail!("no function at {rel_str}:{line} to write a test for");
    };
    let Some(model) = model else {
        anyhow::bail!(
            "cannot generate a test for {qualname}: no model is configured, and tests are only written \
             by a model (there is no rule-based test generator); set REPOLENS_LLM_BASE_URL (or \
             OPENAI_API_KEY)"
        );
    };
    let tested_by: Vec<String> =
        tests_for_ranges(graph, rel_str, &[focus]).iter().map(|t| t.as_str().to_owned()).collect();
    let test_path = TestTask::free_test_path(root, rel, &qualname);
    let task = TestTask {
        file: rel.to_path_buf(),
        focus,
        qualname: qualname.clone(),
        module: graph
            .import_name(rel_str)
            .ok_or_else(|| anyhow::anyhow!("{rel_str} is not a Python module to import {qualname} from"))?,
        test_path: test_path.clone(),
        context: style_example(graph, sources, &test_path).into_iter().collect(),
    };
    let settings = RepolensToml::load(root)?;
    let command = TestCommand::detect(root, settings.test.as_ref())?;
    let options = TestGenOptions {
        rounds: args.rounds.max(1),
        max_parallel: None,
        sandbox: SandboxOptions::new(),
        buffers: Vec::new(),
        trace: crate::trace::Trace::for_workspace(root),
    };
    if !args.as_json {
        eprintln!("repolens: writing a test for {qualname} in {}", test_path.display());
    }
    let generator = LlmTestGenerator::new(model, args.samples);
    let outcome = generate_test(&task, root, sources, Some(&generator), &command, &options)?;

    let mut applied = false;
    if args.apply
        && let Some(winner) = outcome.winner()
    {
        let change = &winner.candidate.changes[0];
        write_if_unchanged(&root.join(&change.path), None, &change.after)?;
        applied = true;
    }
    if args.as_json {
        println!("{}", report_json(&task, rel_str, line, &tested_by, &outcome, applied));
    } else {
        print_report(&task, &tested_by, &outcome, args.apply, applied);
    }
    anyhow::ensure!(outcome.winner.is_some(), "no generated test passed and called {qualname}");
    Ok(())
}

fn candidate_json(e: &TestEvaluated) -> Value {
    json!({
        "description": e.candidate.description,
        "origin": e.candidate.origin.label(),
        "round": e.round + 1,
        "rejection": e.rejection.map(|r| r.as_str()),
        "reason": e.reason,
        "calling": e.calling,
        "run": e.run.as_ref().map(|r| json!({"outcome": format!("{:?}", r.outcome), "passed": r.counts.passed,
            "failed": r.counts.failed, "errors": r.counts.errors, "skipped": r.counts.skipped})),
        "same_as": e.same_as,
        "path": e.candidate.changes[0].path,
        "text": e.candidate.changes[0].after,
    })
}

fn report_json(
    task: &TestTask,
    rel: &str,
    line: usize,
    tested_by: &[String],
    outcome: &TestGenOutcome,
    applied: bool,
) -> Value {
    json!({
        "file": rel,
        "line": line,
        "symbol": task.qualname,
        "module": task.module,
        "test_path": task.test_path,
        "already_tested_by": tested_by,
        "winner": outcome.winner().map(candidate_json),
        "candidates": outcome.evaluated.iter().map(candidate_json).collect::<Vec<_>>(),
        "rounds": outcome.rounds,
        "model_calls": outcome.model_calls,
        "tokens": { "prompt": outcome.tokens.0, "completion": outcome.tokens.1 },
        "notes": outcome.notes,
        "applied": applied,
    })
}

fn print_report(task: &TestTask, tested_by: &[String], outcome: &TestGenOutcome, asked: bool, applied: bool) {
    println!("test for {} ({}) → {}", task.qualname, task.module, task.test_path.display());
    if !tested_by.is_empty() {
        println!("note: already referenced by {}", tested_by.join(", "));
    }
    println!(
        "{} candidates, {} rounds, {} model calls",
        outcome.evaluated.len(),
        outcome.rounds,
        outcome.model_calls
    );
    for note in &outcome.notes {
        println!("note: {note}");
    }
    for e in &outcome.evaluated {
        let verdict = e.rejection.map_or("accepted", |r| r.as_str());
        println!("  [{verdict}] {} ({})", e.candidate.description, e.candidate.origin.label());
        if let Some(reason) = &e.reason {
            println!("      {}", reason.lines().next().unwrap_or(""));
        }
    }
    match outcome.winner() {
        Some(winner) => {
            let run = winner.run.as_ref().map_or(0, |r| r.counts.passed);
            println!(
                "\nwinner: {} — {run} tests pass on the current code; {} call {}",
                winner.candidate.description,
                winner.calling.join(", "),
                task.qualname
            );
            print!("{}", winner.candidate.diff());
            if applied {
                println!("written to {}", task.test_path.display());
            } else if !asked {
                println!("not written (use --apply to create {})", task.test_path.display());
            }
        }
        None => println!("\nno generated test both passed and called {}", task.qualname),
    }
}
