//! `repolens fix FILE:LINE`: the repair pipeline from the command line — localize the function
//! at that line, generate candidates (mechanical fixes; a model when one is configured), test
//! them in the sandbox, and print the winner's diff with what was tested. The user's files are
//! written only with `--apply`, and never over uncommitted changes.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::{
    analysis::{LoadOptions, load_repository},
    config::Config,
    history::{HistoryOptions, uncommitted},
    llm::{LlmConfig, LlmSettings},
    repair::{
        Evaluated, Generator, LlmGenerator, RepairEvent, RepairOptions, RepairOutcome, RepairTask,
        RuleGenerator, TestPlan, Workspace, WorkspaceTexts, repair, workspace_path,
    },
    sandbox::{BaselineCache, SandboxOptions, TestCommand, TestId},
    syntax::SymbolKind,
    text::TextRange,
    trace::Trace,
    workspace::{RepolensToml, write_if_unchanged},
};

/// What `repolens fix` was asked.
pub struct FixArgs {
    pub root: Option<PathBuf>,
    /// `FILE:LINE`, the file relative to the root (or absolute), the line 1-based.
    pub location: String,
    pub problem: Option<String>,
    /// Tests that must pass (node ids), e.g. the failing test that shows the bug.
    pub tests: Vec<String>,
    pub rounds: usize,
    pub samples: usize,
    /// Skip the whole-suite run of finalists.
    pub no_wider: bool,
    pub apply: bool,
    pub as_json: bool,
    /// Write a new test file for the function instead of fixing it.
    pub generate_test: bool,
}

pub fn fix(args: FixArgs) -> anyhow::Result<()> {
    let root = super::resolve_root(args.root.clone())?;
    let root = root.canonicalize().with_context(|| format!("resolving {}", root.display()))?;
    let (file, line) = args
        .location
        .rsplit_once(':')
        .and_then(|(f, l)| Some((f, l.parse::<usize>().ok().filter(|&l| l > 0)?)))
        .with_context(|| format!("expected FILE:LINE, got {:?}", args.location))?;
    let file_arg = Path::new(file);
    let file_abs = if file_arg.is_absolute() { file_arg.to_path_buf() } else { root.join(file_arg) };
    let rel = workspace_path(&root, &file_abs.to_string_lossy())?;
    let sources = WorkspaceTexts { root: root.clone(), buffers: Vec::new() };
    let text = crate::repair::SourceTexts::text(&sources, &rel)
        .with_context(|| format!("cannot read {} as a source file", rel.display()))?;

    let loaded = load_repository(&root, &LoadOptions::default(), &|_| {})?;
    let graph = loaded.host.model().graph.read();
    let rel_str = rel.to_string_lossy().replace('\\', "/");
    let (focus, symbol) = localize(&graph, &rel_str, &text, line);

    let fixes = mechanical_fixes_at(&rel, &text, line);
    let model =
        LlmConfig::resolve(&[&LlmSettings::from_env(&LlmConfig::process_env)], &LlmConfig::process_env);
    if args.generate_test {
        let at = super::testgen::Located {
            root: &root,
            rel: &rel,
            rel_str: &rel_str,
            line,
            focus,
            symbol,
            graph: &graph,
            sources: &sources,
            model,
        };
        return super::testgen::generate_test_command(at, &args);
    }
    anyhow::ensure!(
        model.is_some() || !fixes.is_empty(),
        "nothing to try at {}:{line}: no mechanical fix is known there and no model is configured \
         (set REPOLENS_LLM_BASE_URL, or OPENAI_API_KEY)",
        rel.display()
    );
    let problem = args.problem.unwrap_or_else(|| match &symbol {
        Some(name) => format!("{name} at {}:{line} has a bug; make the tests pass", rel.display()),
        None => format!("the code at {}:{line} has a bug; make the tests pass", rel.display()),
    });
    let task = RepairTask { file: rel.clone(), focus, problem, fixes, context: Vec::new() };

    let settings = RepolensToml::load(&root)?;
    let command = TestCommand::detect(&root, settings.test.as_ref())?;
    let required = args.tests.iter().map(|t| TestId::new(t.as_str())).collect::<Result<Vec<_>, _>>()?;
    let plan = TestPlan { command, required, wider: (!args.no_wider).then(Vec::new) };
    let baseline_cache = Config::default()
        .index_cache(std::slice::from_ref(&root))
        .and_then(|cache| BaselineCache::new(&cache.dir().join("baselines"), &root).ok());
    let options = RepairOptions {
        rounds: args.rounds.max(1),
        max_parallel: None,
        sandbox: SandboxOptions::new(),
        baseline_cache,
        buffers: Vec::new(),
        trace: Trace::for_workspace(&root),
    };
    let llm = model.map(|config| LlmGenerator::new(config, root.clone(), args.samples));
    let mut generators: Vec<&dyn Generator> = vec![&RuleGenerator];
    if let Some(llm) = &llm {
        generators.push(llm);
    }
    let quiet = args.as_json;
    let progress = move |event: RepairEvent| {
        if quiet {
            return;
        }
        let line = match event {
            RepairEvent::Generating { round } => format!("round {}: generating candidates", round + 1),
            RepairEvent::Baseline { tests: 0 } => "baseline: the whole suite".to_owned(),
            RepairEvent::Baseline { tests } => format!("baseline: {tests} tests"),
            RepairEvent::Testing { candidates, .. } => format!("testing {candidates} candidates"),
            RepairEvent::Wider { finalists } => format!("whole suite for {finalists} finalists"),
            RepairEvent::Tested { .. } | RepairEvent::Selected { .. } => return,
        };
        eprintln!("repolens: {line}");
    };
    let workspace = Workspace { root: &root, sources: &sources, graph: Some(&graph) };
    let outcome = repair(&task, workspace, &generators, &plan, &options, &progress)?;
    drop(graph);

    let mut applied = false;
    let mut refused = None;
    if args.apply
        && let Some(winner) = outcome.winner()
    {
        let paths: Vec<PathBuf> = winner.candidate.changes.iter().map(|c| root.join(&c.path)).collect();
        match uncommitted(&root, &paths, &HistoryOptions::default())? {
            Some(dirty) if !dirty.is_empty() => {
                let names: Vec<String> =
                    dirty.iter().map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string()).collect();
                refused = Some(format!(
                    "not applied: uncommitted changes in {}; commit or stash them first",
                    names.join(", ")
                ));
            }
            _ => {
                for change in &winner.candidate.changes {
                    write_if_unchanged(&root.join(&change.path), change.before.as_deref(), &change.after)?;
                }
                applied = true;
            }
        }
    }

    if args.as_json {
        println!("{}", report_json(&outcome, &rel_str, line, symbol.as_deref(), applied, refused.as_deref()));
    } else {
        print_report(&outcome, &rel_str, line, symbol.as_deref(), args.apply, applied, refused.as_deref());
    }
    if let Some(refused) = refused {
        anyhow::bail!(refused);
    }
    anyhow::ensure!(outcome.winner.is_some(), "no candidate passed the tests");
    Ok(())
}

/// The innermost function holding `line`, else ten lines around it.
pub(crate) fn localize(
    graph: &crate::graph::SymbolGraph,
    rel: &str,
    text: &str,
    line: usize,
) -> (TextRange, Option<String>) {
    let starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_start = starts.get(line - 1).copied().unwrap_or(text.len()) as u32;
    let summary = graph.files().find(|(_, path, _)| *path == rel).map(|(_, _, s)| s.clone());
    if let Some(summary) = summary {
        let best = summary
            .symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.kind, SymbolKind::Function | SymbolKind::Method))
            .filter(|(_, s)| s.range.start <= line_start && line_start <= s.range.end)
            .min_by_key(|(_, s)| s.range.end - s.range.start);
        if let Some((idx, symbol)) = best {
            return (symbol.range, Some(summary.qualified_name(idx)));
        }
    }
    let from = starts.get(line.saturating_sub(6)).copied().unwrap_or(0);
    let to = starts.get(line + 5).copied().unwrap_or(text.len());
    (TextRange::from_usize(from..to), None)
}

fn print_report(
    outcome: &RepairOutcome,
    rel: &str,
    line: usize,
    symbol: Option<&str>,
    asked_to_apply: bool,
    applied: bool,
    refused: Option<&str>,
) {
    println!("fix {rel}:{line}{}", symbol.map(|s| format!(" in {s}")).unwrap_or_default());
    println!(
        "{} candidates tested, {} rejected before testing, {} rounds, {} model calls",
        outcome.ranking.len(),
        outcome.rejected.len(),
        outcome.rounds,
        outcome.model_calls
    );
    for note in &outcome.notes {
        println!("note: {note}");
    }
    for (round, rejected) in &outcome.rejected {
        println!("  rejected (round {}): {}: {}", round + 1, rejected.description, rejected.error);
    }
    for &i in &outcome.ranking {
        let e = &outcome.evaluated[i];
        let verdict = e.failure.map_or("passed", |f| f.as_str());
        println!("  [{verdict}] {} ({})", e.candidate.description, e.candidate.origin.label());
    }
    match (outcome.winner(), outcome.best()) {
        (Some(winner), _) => {
            println!("\nwinner: {} ({})", winner.candidate.description, winner.candidate.origin.label());
            println!("tested: {}", winner.evidence());
            print!("{}", winner.candidate.diff());
            if applied {
                println!("applied");
            } else if !asked_to_apply {
                println!("not applied (use --apply to write it)");
            } else if let Some(refused) = refused {
                println!("{refused}");
            }
        }
        (None, Some(best)) => {
            println!(
                "\nno candidate passed; the best was: {} ({})",
                best.candidate.description,
                best.candidate.origin.label()
            );
            println!("tested: {}", best.evidence());
            print!("{}", best.candidate.diff());
        }
        (None, None) => println!("\nno candidate could be made"),
    }
}

fn candidate_json(e: &Evaluated) -> Value {
    json!({
        "description": e.candidate.description,
        "origin": e.candidate.origin.label(),
        "round": e.round + 1,
        "failure": e.failure.map(|f| f.as_str()),
        "targets": e.targets.iter().map(TestId::as_str).collect::<Vec<_>>(),
        "targets_pass": e.targets_pass,
        "target_run": e.run.as_ref().map(|r| json!({"outcome": format!("{:?}", r.outcome), "counts": {
            "passed": r.counts.passed, "failed": r.counts.failed, "errors": r.counts.errors, "skipped": r.counts.skipped}})),
        "fixed": e.regressions.as_ref().map(|r| r.fixed.iter().map(TestId::as_str).collect::<Vec<_>>()),
        "regressions": e.regressions.as_ref().map(|r| r.newly_failing.len() + r.missing.len()),
        "wider": e.wider.as_ref().map(|(run, r)| json!({
            "outcome": format!("{:?}", run.outcome),
            "passed": run.counts.passed,
            "failed": run.counts.failed + run.counts.errors,
            "regressions": r.newly_failing.iter().chain(&r.missing).map(TestId::as_str).collect::<Vec<_>>(),
        })),
        "agreement": e.agreement,
        "changed_lines": e.changed_lines,
        "diff": e.candidate.diff(),
        "evidence": e.evidence(),
    })
}

fn report_json(
    outcome: &RepairOutcome,
    rel: &str,
    line: usize,
    symbol: Option<&str>,
    applied: bool,
    refused: Option<&str>,
) -> Value {
    json!({
        "file": rel,
        "line": line,
        "symbol": symbol,
        "winner": outcome.winner().map(candidate_json),
        "best": outcome.best().map(candidate_json),
        "candidates": outcome.ranking.iter().map(|&i| candidate_json(&outcome.evaluated[i])).collect::<Vec<_>>(),
        "rejected": outcome.rejected.iter().map(|(round, r)| json!({
            "round": round + 1,
            "description": r.description,
            "origin": r.origin.label(),
            "error": r.error.to_string(),
        })).collect::<Vec<_>>(),
        "rounds": outcome.rounds,
        "model_calls": outcome.model_calls,
        "tokens": { "prompt": outcome.tokens.0, "completion": outcome.tokens.1 },
        "notes": outcome.notes,
        "applied": applied,
        "refused": refused,
    })
}

/// The mechanical fixes of the smells on `line` (1-based) of `text`.
pub(crate) fn mechanical_fixes_at(rel: &Path, text: &str, line: usize) -> Vec<crate::repair::MechanicalFix> {
    use crate::syntax::{LanguageId, Languages};
    let Some(language) = LanguageId::from_path(rel) else { return Vec::new() };
    let starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let from = starts.get(line - 1).copied().unwrap_or(text.len());
    let to = starts.get(line).map_or(text.len(), |&next| next - 1);
    let range = TextRange::from_usize(from..to.max(from));
    crate::analysis::smells_in(Languages::embedded().get(language), None, text, range)
        .into_iter()
        .flat_map(|(_, fixes)| fixes)
        .collect()
}
