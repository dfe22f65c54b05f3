//! `repolens eval repair --cases FILE.jsonl`: how often the repair pipeline selects a correct
//! patch, and what each candidate costs in wall time.
//!
//! A case is one JSON line:
//!
//! ```json
//! {"id": "…", "root": "/tmp/…", "location": "pkg/mod.py:12",
//!  "candidates": ["search/replace blocks", …] | "generator": "rules" | "llm",
//!  "fail_to_pass": ["tests/test_mod.py::test_bug"],
//!  "known_fix": "search/replace blocks",            (optional)
//!  "tests": ["tests/"], "problem": "…", "rounds": 3} (optional)
//! ```
//!
//! The pipeline is the one `repolens fix` runs: localize the function at `location`, generate
//! (the given pool, the mechanical fixes, or the configured model), test each candidate on the
//! fail-to-pass tests plus the tests the graph selects, against a baseline, then finalists on
//! the wider suite (`tests`, default all), rank and select. A selection is **correct** when the
//! selected candidate's run shows every fail-to-pass test passing and nothing regressed, in the
//! target run or the wider one; it **equals the known fix** when it makes the same change up to
//! whitespace. For each case the report also says whether the pool held a correct candidate at
//! all (an upper bound for selection), and the wall time per tested candidate: the case's whole
//! wall time (baselines and wider runs included) divided by the candidates tested.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this module's job

use std::{
    collections::BTreeSet,
    io::{BufRead as _, IsTerminal as _},
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::Context as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::fix::localize;
use crate::{
    analysis::{LoadOptions, load_repository},
    llm::{LlmConfig, LlmSettings},
    repair::{
        Evaluated, Generator, LlmGenerator, PoolGenerator, RepairOptions, RepairOutcome, RepairTask,
        RuleGenerator, SourceTexts, TestPlan, Workspace, WorkspaceTexts, repair,
    },
    sandbox::{SandboxOptions, TestCommand, TestId, TestOutcome},
    workspace::RepolensToml,
};

/// One line of a repair cases file.
#[derive(Clone, Debug, Deserialize)]
pub struct RepairCase {
    pub id: String,
    pub root: PathBuf,
    /// `FILE:LINE`, the file relative to the root.
    pub location: String,
    /// A candidate pool, each an answer in the edit-block format.
    #[serde(default)]
    pub candidates: Option<Vec<String>>,
    /// `rules` or `llm`, when there is no pool.
    #[serde(default)]
    pub generator: Option<String>,
    pub fail_to_pass: Vec<String>,
    #[serde(default)]
    pub known_fix: Option<String>,
    /// The wider suite finalists run (default: all tests).
    #[serde(default)]
    pub tests: Option<Vec<String>>,
    #[serde(default)]
    pub problem: Option<String>,
    #[serde(default)]
    pub rounds: Option<usize>,
}

/// How one case went.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RepairCaseOutcome {
    pub id: String,
    /// The selected candidate's name, if one was selected.
    pub selected: Option<String>,
    pub correct: bool,
    /// `None` when the case names no known fix.
    pub equals_known_fix: Option<bool>,
    /// Whether any candidate was correct (selection's upper bound).
    pub correct_in_pool: bool,
    pub candidates_tested: usize,
    pub rejected: usize,
    pub rounds: usize,
    pub model_calls: usize,
    pub tokens: (u64, u64),
    pub wall_ms: f64,
    pub wall_ms_per_candidate: f64,
    /// The mean of the candidates' own test runs (targets, plus the wider suite for finalists).
    pub test_ms_per_candidate: f64,
    pub notes: Vec<String>,
    pub error: Option<String>,
}

pub fn read_repair_cases(path: &Path) -> anyhow::Result<Vec<RepairCase>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut cases = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let case: RepairCase = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not a repair case", path.display(), n + 1))?;
        anyhow::ensure!(
            case.candidates.is_some() || case.generator.is_some(),
            "{}:{}: a case needs `candidates` or `generator`",
            path.display(),
            n + 1
        );
        cases.push(case);
    }
    Ok(cases)
}

/// Whether `e`'s runs show every fail-to-pass test passing and nothing regressed.
fn is_correct(e: &Evaluated, fail_to_pass: &[TestId]) -> bool {
    if !e.is_winner() {
        return false;
    }
    let runs: Vec<&crate::sandbox::TestRun> = e.run.iter().chain(e.wider.as_ref().map(|(r, _)| r)).collect();
    fail_to_pass.iter().all(|id| {
        // Seen passing in a run (a parametrized id matches its instances), and failing in none.
        let matches = |t: &&crate::sandbox::TestCase| {
            t.id.as_str() == id.as_str() || t.id.as_str().starts_with(&format!("{}[", id.as_str()))
        };
        let seen: Vec<TestOutcome> =
            runs.iter().flat_map(|r| r.tests.iter().filter(matches).map(|t| t.outcome)).collect();
        seen.contains(&TestOutcome::Passed) && !seen.iter().any(|o| o.is_failing())
    })
}

/// Runs one case.
pub fn run_repair_case(case: &RepairCase, progress: &dyn Fn(&str)) -> anyhow::Result<RepairCaseOutcome> {
    let root = case.root.canonicalize().with_context(|| format!("resolving {}", case.root.display()))?;
    let (file, line) = case
        .location
        .rsplit_once(':')
        .and_then(|(f, l)| Some((f, l.parse::<usize>().ok().filter(|&l| l > 0)?)))
        .with_context(|| format!("expected FILE:LINE, got {:?}", case.location))?;
    let rel = PathBuf::from(file);
    let sources = WorkspaceTexts { root: root.clone(), buffers: Vec::new() };
    let text = sources.text(&rel).with_context(|| format!("cannot read {}", rel.display()))?;
    let started = Instant::now();
    progress("loading");
    let loaded = load_repository(&root, &LoadOptions::default(), &|_| {})?;
    let graph = loaded.host.model().graph.read();
    let rel_str = rel.to_string_lossy().replace('\\', "/");
    let (focus, symbol) = localize(&graph, &rel_str, &text, line);
    let problem = case.problem.clone().unwrap_or_else(|| match &symbol {
        Some(name) => format!("{name} at {rel_str}:{line} has a bug; make the failing tests pass"),
        None => format!("the code at {rel_str}:{line} has a bug; make the failing tests pass"),
    });
    // The smell rules' fixes at that line (what `repolens fix` offers with no model).
    let fixes = if case.generator.as_deref() == Some("rules") {
        super::fix::mechanical_fixes_at(&rel, &text, line)
    } else {
        Vec::new()
    };
    let task = RepairTask { file: rel.clone(), focus, problem, fixes, context: Vec::new() };

    let pool;
    let llm;
    let mut notes = Vec::new();
    let generator: &dyn Generator = match (&case.candidates, case.generator.as_deref()) {
        (Some(candidates), _) => {
            let named =
                candidates.iter().enumerate().map(|(i, c)| (format!("candidate {}", i + 1), c.clone()));
            pool = PoolGenerator { candidates: named.collect(), root: root.clone() };
            &pool
        }
        (None, Some("rules")) => {
            if task.fixes.is_empty() {
                notes.push("no mechanical fix is known at this line".to_owned());
            }
            &RuleGenerator
        }
        (None, Some("llm")) => {
            let config = LlmConfig::resolve(
                &[&LlmSettings::from_env(&LlmConfig::process_env)],
                &LlmConfig::process_env,
            )
            .context("generator \"llm\" needs a model (set REPOLENS_LLM_BASE_URL, or OPENAI_API_KEY)")?;
            llm = LlmGenerator::new(config, root.clone(), 3);
            &llm
        }
        (None, other) => anyhow::bail!("unknown generator {other:?} (expected \"rules\" or \"llm\")"),
    };
    let fail_to_pass =
        case.fail_to_pass.iter().map(|t| TestId::new(t.as_str())).collect::<Result<Vec<_>, _>>()?;
    let wider = match &case.tests {
        Some(tests) => tests.iter().map(|t| TestId::new(t.as_str())).collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let settings = RepolensToml::load(&root)?;
    let command = TestCommand::detect(&root, settings.test.as_ref())?;
    let plan = TestPlan { command, required: fail_to_pass.clone(), wider: Some(wider) };
    let options = RepairOptions {
        rounds: case.rounds.unwrap_or(if case.candidates.is_some() { 1 } else { 3 }).max(1),
        max_parallel: None,
        sandbox: SandboxOptions::new(),
        // Every case pays for its baselines, so that the timings are those of a first run.
        baseline_cache: None,
        buffers: Vec::new(),
        trace: crate::trace::Trace::for_workspace(&root),
    };
    progress("testing");
    let workspace = Workspace { root: &root, sources: &sources, graph: Some(&graph) };
    let outcome = repair(&task, workspace, &[generator], &plan, &options, &|_| {})?;
    drop(graph);
    let wall = started.elapsed();
    notes.extend(outcome.notes.iter().cloned());

    let known_key = case.known_fix.as_deref().and_then(|fix| {
        PoolGenerator::candidate(&root, &sources, "known fix", fix).ok().map(|c| c.normalized_key())
    });
    Ok(summarize_case(case, &outcome, &fail_to_pass, known_key, wall, notes))
}

fn summarize_case(
    case: &RepairCase,
    outcome: &RepairOutcome,
    fail_to_pass: &[TestId],
    known_key: Option<u128>,
    wall: std::time::Duration,
    notes: Vec<String>,
) -> RepairCaseOutcome {
    let tested: Vec<&Evaluated> = outcome.evaluated.iter().filter(|e| e.same_as.is_none()).collect();
    let test_ms: Vec<f64> = tested
        .iter()
        .filter_map(|e| {
            let own =
                e.run.as_ref()?.duration + e.wider.as_ref().map_or(Default::default(), |(r, _)| r.duration);
            Some(own.as_secs_f64() * 1000.0)
        })
        .collect();
    let winner = outcome.winner();
    let wall_ms = wall.as_secs_f64() * 1000.0;
    RepairCaseOutcome {
        id: case.id.clone(),
        selected: winner.map(|w| w.candidate.description.clone()),
        correct: winner.is_some_and(|w| is_correct(w, fail_to_pass)),
        equals_known_fix: known_key.map(|key| winner.is_some_and(|w| w.candidate.normalized_key() == key)),
        correct_in_pool: tested.iter().any(|e| is_correct(e, fail_to_pass)),
        candidates_tested: tested.len(),
        rejected: outcome.rejected.len(),
        rounds: outcome.rounds,
        model_calls: outcome.model_calls,
        tokens: outcome.tokens,
        wall_ms,
        wall_ms_per_candidate: wall_ms / tested.len().max(1) as f64,
        test_ms_per_candidate: test_ms.iter().sum::<f64>() / test_ms.len().max(1) as f64,
        notes,
        error: None,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(n: usize, of: usize) -> f64 {
    (n as f64 * 1000.0 / of.max(1) as f64).round() / 10.0
}

/// The totals over all cases.
pub fn repair_summary(outcomes: &[RepairCaseOutcome]) -> Value {
    let n = outcomes.len();
    let correct = outcomes.iter().filter(|o| o.correct).count();
    let with_known: Vec<&RepairCaseOutcome> =
        outcomes.iter().filter(|o| o.equals_known_fix.is_some()).collect();
    let known = with_known.iter().filter(|o| o.equals_known_fix == Some(true)).count();
    let in_pool = outcomes.iter().filter(|o| o.correct_in_pool).count();
    let selected = outcomes.iter().filter(|o| o.selected.is_some()).count();
    let errors = outcomes.iter().filter(|o| o.error.is_some()).count();
    let candidates: usize = outcomes.iter().map(|o| o.candidates_tested).sum();
    let wall: f64 = outcomes.iter().map(|o| o.wall_ms).sum();
    json!({
        "cases": n,
        "selected": selected,
        "correct": correct,
        "selection_accuracy": pct(correct, n),
        "equals_known_fix": known,
        "equals_known_fix_rate": pct(known, with_known.len()),
        "correct_in_pool": in_pool,
        "accuracy_when_pool_has_correct": pct(
            outcomes.iter().filter(|o| o.correct && o.correct_in_pool).count(),
            in_pool
        ),
        "errors": errors,
        "candidates_tested": candidates,
        "wall_ms_per_candidate": {
            "overall": (wall / candidates.max(1) as f64).round(),
            "median_of_cases": median(outcomes.iter().map(|o| o.wall_ms_per_candidate).collect()).round(),
        },
        "test_ms_per_candidate_median": median(outcomes.iter().map(|o| o.test_ms_per_candidate).collect()).round(),
        "wall_ms_total": wall.round(),
    })
}

pub fn eval_repair(cases_path: &Path, as_json: bool) -> anyhow::Result<()> {
    let cases = read_repair_cases(cases_path)?;
    anyhow::ensure!(!cases.is_empty(), "{} has no cases", cases_path.display());
    let interactive = std::io::stderr().is_terminal();
    let mut outcomes = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let label = format!("[{}/{}] {}", i + 1, cases.len(), case.id);
        let progress = |what: &str| {
            if interactive {
                eprint!("\r\x1b[2K{label}: {what}");
            }
        };
        let outcome = run_repair_case(case, &progress).unwrap_or_else(|err| RepairCaseOutcome {
            id: case.id.clone(),
            error: Some(format!("{err:#}")),
            ..RepairCaseOutcome::default()
        });
        if interactive {
            eprint!("\r\x1b[2K");
        }
        if as_json {
            println!("{}", serde_json::to_value(&outcome)?);
        } else if let Some(err) = &outcome.error {
            println!("{:<42} error: {err}", outcome.id);
        } else {
            let verdict = match (&outcome.selected, outcome.correct) {
                (None, _) => "nothing selected".to_owned(),
                (Some(name), true) => format!("{name}: correct"),
                (Some(name), false) => format!("{name}: WRONG"),
            };
            let known = match outcome.equals_known_fix {
                Some(true) => ", the known fix",
                Some(false) if outcome.selected.is_some() => ", not the known fix",
                _ => "",
            };
            println!(
                "{:<42} {verdict}{known}; {} candidates, {:.1} s ({:.1} s per candidate)",
                outcome.id,
                outcome.candidates_tested,
                outcome.wall_ms / 1000.0,
                outcome.wall_ms_per_candidate / 1000.0
            );
        }
        outcomes.push(outcome);
    }
    let summary = repair_summary(&outcomes);
    if as_json {
        println!("{summary}");
    } else {
        let known_failures: BTreeSet<&str> =
            outcomes.iter().filter(|o| !o.correct).map(|o| o.id.as_str()).collect();
        println!();
        println!(
            "selection accuracy: {}/{} ({}%) correct; {} the known fix ({}%); a correct candidate was in the pool for {}",
            summary["correct"],
            summary["cases"],
            summary["selection_accuracy"],
            summary["equals_known_fix"],
            summary["equals_known_fix_rate"],
            summary["correct_in_pool"]
        );
        println!(
            "wall time per candidate: {} ms overall, median {} ms per case (test runs alone: median {} ms); total {:.1} s",
            summary["wall_ms_per_candidate"]["overall"],
            summary["wall_ms_per_candidate"]["median_of_cases"],
            summary["test_ms_per_candidate_median"],
            summary["wall_ms_total"].as_f64().unwrap_or(0.0) / 1000.0
        );
        if !known_failures.is_empty() {
            println!("not correct: {}", known_failures.into_iter().collect::<Vec<_>>().join(", "));
        }
    }
    Ok(())
}
