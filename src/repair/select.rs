//! Testing candidates and choosing one: test selection through the symbol graph, runs in the
//! sandbox against a baseline, ranking, and rounds of reflection.
//!
//! Each round: the generators propose; proposals that did not validate are failures at once;
//! candidates equal (up to whitespace) to one already tested share its result instead of running
//! again; the rest run in parallel scratch copies on the **target tests** — the tests named by
//! the task plus those that reference a symbol the candidate changes (the graph's `tests`
//! edges, of the symbol, its class, and its direct callers) — compared with a baseline of the
//! same selection on the unpatched workspace. Finalists (targets pass, nothing regressed) then
//! run the **wider suite** if one is configured. Ranking: targets pass → fewest regressions →
//! most agreement among candidates → smallest diff. The round's failures, categorized, with
//! their output, go into the next round's prompt; the loop stops at the first round with a
//! winner, after `rounds` rounds, or when no generator proposes in later rounds (mechanical
//! fixes only). A candidate that guesses what the code meant
//! ([`Candidate::needs_failing_test`]) wins only if a test that failed before passes with it.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
};

use similar::{DiffTag, TextDiff};

use super::{
    Candidate, Feedback, Generator, Proposal, Rejected, RepairError, RepairTask, SourceTexts, edit::excerpt,
    record,
};
use crate::{
    graph::{EdgeKind, NodeId, SymbolGraph},
    sandbox::{
        Baseline, BaselineCache, FailureCategory, Overlay, Regressions, RunOutcome, SandboxError,
        SandboxOptions, TestCommand, TestId, TestRun, compare, run_candidates,
    },
    text::TextRange,
    trace::Trace,
};

/// Why a candidate lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum FailureKind {
    DidNotApply,
    SyntaxError,
    ImportError,
    AssertionFailure,
    Timeout,
    Regression,
    /// It passes, but it is a guess at what the code meant ([`Candidate::needs_failing_test`])
    /// and no test that failed before passes with it.
    FixesNoFailingTest,
    Other,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::DidNotApply => "did not apply",
            FailureKind::SyntaxError => "syntax error",
            FailureKind::ImportError => "import error",
            FailureKind::AssertionFailure => "assertion failure",
            FailureKind::Timeout => "timeout",
            FailureKind::Regression => "regression",
            FailureKind::FixesNoFailingTest => "fixes no failing test",
            FailureKind::Other => "other failure",
        }
    }

    fn of_rejection(error: &RepairError) -> FailureKind {
        match error {
            RepairError::SyntaxError { .. } => FailureKind::SyntaxError,
            _ => FailureKind::DidNotApply,
        }
    }

    fn of_run(run: &TestRun) -> FailureKind {
        match run.failure_category() {
            Some(FailureCategory::ImportError) => FailureKind::ImportError,
            Some(FailureCategory::SyntaxError) => FailureKind::SyntaxError,
            Some(FailureCategory::AssertionFailure) => FailureKind::AssertionFailure,
            Some(FailureCategory::Timeout) => FailureKind::Timeout,
            _ => FailureKind::Other,
        }
    }
}

/// Which tests run.
#[derive(Clone, Debug)]
pub struct TestPlan {
    pub command: TestCommand,
    /// Tests the task names (e.g. the failing test that shows the bug); always targets.
    pub required: Vec<TestId>,
    /// The wider suite finalists must also pass: `None` for none, an empty selection for all.
    pub wider: Option<Vec<TestId>>,
}

/// Knobs of the loop.
#[derive(Clone, Debug)]
pub struct RepairOptions {
    /// Rounds of generation at most (the first included).
    pub rounds: usize,
    /// Candidates tested at once (`None`: one per core).
    pub max_parallel: Option<usize>,
    pub sandbox: SandboxOptions,
    pub baseline_cache: Option<BaselineCache>,
    /// Unsaved editor buffers, present in every run.
    pub buffers: Vec<Overlay>,
    /// Where model calls, candidates, test runs and decisions are recorded.
    pub trace: Option<Trace>,
}

/// Where the loop is, for progress reports.
#[derive(Clone, Debug)]
pub enum RepairEvent {
    Generating { round: usize },
    Baseline { tests: usize },
    Testing { round: usize, candidates: usize },
    Tested { done: usize, total: usize },
    Wider { finalists: usize },
    Selected { winner: Option<usize> },
}

/// A candidate and what its tests said.
#[derive(Clone, Debug)]
pub struct Evaluated {
    pub candidate: Candidate,
    pub round: usize,
    /// The target tests it ran (empty: the whole suite).
    pub targets: Vec<TestId>,
    pub run: Option<TestRun>,
    pub regressions: Option<Regressions>,
    /// The wider suite's run and its comparison with the wider baseline, for finalists.
    pub wider: Option<(TestRun, Regressions)>,
    pub targets_pass: bool,
    pub failure: Option<FailureKind>,
    /// How many candidates (this one included) made the same normalized change.
    pub agreement: usize,
    pub changed_lines: usize,
    /// An earlier candidate with the same change, whose results these are.
    pub same_as: Option<usize>,
    /// A sandbox error instead of a run.
    pub error: Option<String>,
}

impl Evaluated {
    fn regression_count(&self) -> usize {
        let count = |r: &Regressions| r.newly_failing.len() + r.missing.len() + usize::from(r.run_regressed);
        self.regressions.as_ref().map_or(usize::MAX / 2, count)
            + self.wider.as_ref().map_or(0, |(_, r)| count(r))
    }

    /// Targets pass and nothing regressed, in the wider suite either, and nothing else counts
    /// against it (a sandbox error, a guess that fixed no failing test).
    pub fn is_winner(&self) -> bool {
        self.failure.is_none()
            && self.targets_pass
            && self.regressions.as_ref().is_some_and(Regressions::is_clean)
            && self.wider.as_ref().is_none_or(|(_, r)| r.is_clean())
    }
}

/// A run's outcome and counts, in words.
pub fn run_summary(run: &TestRun) -> String {
    let c = run.counts;
    format!(
        "{:?}: {} passed, {} failed, {} errors, {} skipped",
        run.outcome, c.passed, c.failed, c.errors, c.skipped
    )
    .to_lowercase()
}

impl Evaluated {
    /// One sentence on what the candidate's runs showed.
    pub fn evidence(&self) -> String {
        let e = self;
        let targets = if e.targets.is_empty() {
            "the whole suite".to_owned()
        } else {
            e.targets.iter().map(TestId::as_str).collect::<Vec<_>>().join(", ")
        };
        let mut out = match &e.run {
            Some(run) => format!("target tests ({targets}): {}", run_summary(run)),
            None => format!("not run: {}", e.error.as_deref().unwrap_or("no result")),
        };
        if let Some(r) = &e.regressions
            && !r.fixed.is_empty()
        {
            out.push_str(&format!(
                "; fixed {}",
                r.fixed.iter().map(TestId::as_str).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some((run, r)) = &e.wider {
            out.push_str(&format!(
                "; whole suite: {}; {}",
                run_summary(run),
                if r.is_clean() {
                    "no regressions".to_owned()
                } else {
                    format!("{} regressions", r.newly_failing.len() + r.missing.len())
                }
            ));
        }
        out
    }
}

#[derive(Debug, Default)]
pub struct RepairOutcome {
    /// Index into `evaluated` of the selected candidate.
    pub winner: Option<usize>,
    pub evaluated: Vec<Evaluated>,
    /// Indexes into `evaluated`, best first (duplicates left out).
    pub ranking: Vec<usize>,
    pub rejected: Vec<(usize, Rejected)>,
    /// The baselines run, by selection (empty selection: the whole suite).
    pub baselines: Vec<(Vec<TestId>, TestRun)>,
    pub rounds: usize,
    pub notes: Vec<String>,
    pub model_calls: usize,
    pub tokens: (u64, u64),
}

impl RepairOutcome {
    pub fn winner(&self) -> Option<&Evaluated> {
        self.winner.map(|i| &self.evaluated[i])
    }

    /// The best candidate even if it did not pass.
    pub fn best(&self) -> Option<&Evaluated> {
        self.ranking.first().map(|&i| &self.evaluated[i])
    }
}

/// The workspace a repair works in.
#[derive(Clone, Copy)]
pub struct Workspace<'a> {
    pub root: &'a Path,
    pub sources: &'a dyn SourceTexts,
    /// Selects the tests that reference the changed symbols; without it only the plan's
    /// required tests (or, with none, the whole suite) are targets.
    pub graph: Option<&'a SymbolGraph>,
}

/// Runs the loop, recording it in `options.trace`.
pub fn repair(
    task: &RepairTask,
    workspace: Workspace<'_>,
    generators: &[&dyn Generator],
    plan: &TestPlan,
    options: &RepairOptions,
    progress: &dyn Fn(RepairEvent),
) -> Result<RepairOutcome, RepairError> {
    let started = std::time::Instant::now();
    if let Some(trace) = &options.trace {
        let extra = serde_json::json!({
            "root": workspace.root,
            "generators": generators.iter().map(|g| g.name()).collect::<Vec<_>>(),
            "rounds": options.rounds,
            "command": plan.command.argv,
            "required": plan.required.iter().map(TestId::as_str).collect::<Vec<_>>(),
            "wider": plan.wider.as_ref().map(|w| w.iter().map(TestId::as_str).collect::<Vec<_>>()),
        });
        record::run_start(trace, "repair", task, workspace.sources, extra);
    }
    let res = repair_rounds(task, workspace, generators, plan, options, progress);
    if let Some(trace) = &options.trace {
        match &res {
            Ok(out) => {
                let winner = out.winner().map(|w| {
                    serde_json::json!({
                        "index": out.winner,
                        "description": crate::trace::redacted(&w.candidate.description),
                        "origin": w.candidate.origin.label(),
                        "diff": crate::trace::redacted(&w.candidate.diff()),
                    })
                });
                let extra = serde_json::json!({
                    "winner": winner,
                    "rounds": out.rounds,
                    "candidates": out.evaluated.len(),
                    "rejected": out.rejected.len(),
                    "model_calls": out.model_calls,
                    "prompt_tokens": out.tokens.0,
                    "completion_tokens": out.tokens.1,
                    "notes": out.notes,
                });
                record::run_end(trace, out.winner.is_some(), started.elapsed(), None, extra);
            }
            Err(err) => record::run_end(
                trace,
                false,
                started.elapsed(),
                Some(&err.to_string()),
                serde_json::json!({}),
            ),
        }
    }
    res
}

fn repair_rounds(
    task: &RepairTask,
    workspace: Workspace<'_>,
    generators: &[&dyn Generator],
    plan: &TestPlan,
    options: &RepairOptions,
    progress: &dyn Fn(RepairEvent),
) -> Result<RepairOutcome, RepairError> {
    let trace = options.trace.as_ref();
    let Workspace { root, sources, graph } = workspace;
    let cancel = &options.sandbox.cancel;
    let mut out = RepairOutcome::default();
    let mut feedback: Vec<Feedback> = Vec::new();
    let mut by_key: HashMap<u128, usize> = HashMap::new();
    let mut baselines: HashMap<Vec<TestId>, TestRun> = HashMap::new();
    for round in 0..options.rounds.max(1) {
        if cancel.is_cancelled() {
            return Err(RepairError::Cancelled);
        }
        // Only one-shot generators (mechanical fixes, a given pool): a later round would
        // propose nothing.
        if round > 0 && !generators.iter().any(|g| g.proposes_in(round)) {
            break;
        }
        out.rounds = round + 1;
        progress(RepairEvent::Generating { round });
        let mut proposals: Vec<Proposal> = Vec::new();
        for generator in generators {
            let generated = generator.generate(task, sources, round, &feedback, cancel);
            if let Some(trace) = trace {
                for exchange in &generated.exchanges {
                    record::llm_call(trace, round, generator.name(), exchange);
                }
            }
            out.notes.extend(generated.notes.into_iter().map(|n| format!("{}: {n}", generator.name())));
            out.model_calls += generated.calls;
            out.tokens.0 += generated.tokens.0;
            out.tokens.1 += generated.tokens.1;
            proposals.extend(generated.proposals);
        }
        let mut round_feedback = Vec::new();
        let mut fresh: Vec<usize> = Vec::new();
        for proposal in proposals {
            match proposal {
                Err(rejected) => {
                    let kind = FailureKind::of_rejection(&rejected.error);
                    if let Some(trace) = trace {
                        record::rejected(
                            trace,
                            round,
                            &rejected.description,
                            &rejected.origin.label(),
                            kind.as_str(),
                            &rejected.error.to_string(),
                            &rejected.raw,
                        );
                    }
                    round_feedback.push(Feedback {
                        description: rejected.description.clone(),
                        patch: blocks_of(&rejected.raw),
                        category: kind.as_str().to_owned(),
                        output: rejected.error.to_string(),
                    });
                    out.rejected.push((round, rejected));
                }
                Ok(candidate) => {
                    let key = candidate.normalized_key();
                    let idx = out.evaluated.len();
                    let changed_lines = candidate.changed_lines();
                    let mut evaluated = Evaluated {
                        candidate,
                        round,
                        targets: Vec::new(),
                        run: None,
                        regressions: None,
                        wider: None,
                        targets_pass: false,
                        failure: None,
                        agreement: 1,
                        changed_lines,
                        same_as: None,
                        error: None,
                    };
                    if let Some(&first) = by_key.get(&key) {
                        let earlier = &out.evaluated[first];
                        evaluated.same_as = Some(first);
                        evaluated.targets = earlier.targets.clone();
                        evaluated.run = earlier.run.clone();
                        evaluated.regressions = earlier.regressions.clone();
                        evaluated.wider = earlier.wider.clone();
                        evaluated.targets_pass = earlier.targets_pass;
                        evaluated.failure = earlier.failure;
                    } else {
                        by_key.insert(key, idx);
                        fresh.push(idx);
                    }
                    out.evaluated.push(evaluated);
                }
            }
        }

        // The round's target tests: those named by the task and those of the changed symbols.
        let mut targets: BTreeSet<TestId> = plan.required.iter().cloned().collect();
        if let Some(graph) = graph {
            for &idx in &fresh {
                for change in &out.evaluated[idx].candidate.changes {
                    let Some(before) = change.before.as_deref() else { continue };
                    let ranges = changed_ranges(before, &change.after);
                    targets.extend(tests_for_ranges(graph, &change.path.to_string_lossy(), &ranges));
                }
            }
        }
        let mut targets: Vec<TestId> = targets.into_iter().collect();
        if !fresh.is_empty() {
            let mut baseline = baseline_for(&mut baselines, root, plan, &targets, options, round, progress)?;
            // A selection that cannot even be collected on the unpatched tree (a broken test
            // module among those the graph picked) would fail every candidate: fall back to
            // the tests the task names, and leave the rest to the wider suite.
            // pytest reports a module it cannot collect as a failing test named by its path
            // and, unless told otherwise, runs nothing else.
            let uncollectable =
                baseline.failing().find(|t| !t.id.as_str().contains("::")).map(|t| t.id.clone());
            let broken = baseline.outcome == RunOutcome::Error || uncollectable.is_some();
            if broken && !plan.required.is_empty() && targets != plan.required {
                out.notes.push(format!(
                    "the selected tests do not run on the unpatched tree ({} cannot be collected); testing {} only",
                    uncollectable.as_ref().map_or("a module", |t| t.as_str()),
                    plan.required.iter().map(TestId::as_str).collect::<Vec<_>>().join(", ")
                ));
                targets = plan.required.clone();
                baseline = baseline_for(&mut baselines, root, plan, &targets, options, round, progress)?;
            }
            progress(RepairEvent::Testing { round, candidates: fresh.len() });
            let runs = run_all(root, &out.evaluated, &fresh, plan, &targets, options, progress)?;
            for (idx, result) in fresh.iter().zip(runs) {
                if let Some(trace) = trace {
                    let run = result.as_ref().map_err(|e| e.to_string());
                    record::test_run(trace, round, "targets", Some(*idx), &targets, run, false);
                }
                let e = &mut out.evaluated[*idx];
                e.targets = targets.clone();
                match result {
                    Ok(run) => {
                        let regressions = compare(&baseline, &run);
                        e.targets_pass = targets_pass(&run, &regressions, &targets, plan);
                        e.failure = if !e.targets_pass {
                            Some(FailureKind::of_run(&run))
                        } else if !regressions.is_clean() {
                            Some(FailureKind::Regression)
                        } else if e.candidate.needs_failing_test && regressions.fixed.is_empty() {
                            Some(FailureKind::FixesNoFailingTest)
                        } else {
                            None
                        };
                        e.run = Some(run);
                        e.regressions = Some(regressions);
                    }
                    Err(err) => {
                        e.error = Some(err.to_string());
                        e.failure = Some(FailureKind::Other);
                    }
                }
            }
            // Finalists meet the wider suite.
            if let Some(wider) = &plan.wider {
                let finalists: Vec<usize> =
                    fresh.iter().copied().filter(|&i| out.evaluated[i].failure.is_none()).collect();
                if !finalists.is_empty() && wider.as_slice() != targets.as_slice() {
                    progress(RepairEvent::Wider { finalists: finalists.len() });
                    let wide_base =
                        baseline_for(&mut baselines, root, plan, wider, options, round, progress)?;
                    let runs = run_all(root, &out.evaluated, &finalists, plan, wider, options, progress)?;
                    for (idx, result) in finalists.iter().zip(runs) {
                        if let Some(trace) = trace {
                            let run = result.as_ref().map_err(|e| e.to_string());
                            record::test_run(trace, round, "wider", Some(*idx), wider, run, false);
                        }
                        let e = &mut out.evaluated[*idx];
                        match result {
                            Ok(run) => {
                                let regressions = compare(&wide_base, &run);
                                if !regressions.is_clean() {
                                    e.failure = Some(FailureKind::Regression);
                                }
                                e.wider = Some((run, regressions));
                            }
                            Err(err) => {
                                e.error = Some(err.to_string());
                                e.failure = Some(FailureKind::Other);
                            }
                        }
                    }
                }
            }
            for &idx in &fresh {
                let e = &out.evaluated[idx];
                if let Some(kind) = e.failure {
                    round_feedback.push(Feedback {
                        description: e.candidate.description.clone(),
                        patch: e.candidate.diff(),
                        category: kind.as_str().to_owned(),
                        output: failure_output(e),
                    });
                }
            }
        }
        // Duplicates share their original's (possibly just finished) results.
        for idx in 0..out.evaluated.len() {
            if let Some(first) = out.evaluated[idx].same_as {
                let (targets, run, regressions, wider, pass, failure) = {
                    let f = &out.evaluated[first];
                    (
                        f.targets.clone(),
                        f.run.clone(),
                        f.regressions.clone(),
                        f.wider.clone(),
                        f.targets_pass,
                        f.failure,
                    )
                };
                let e = &mut out.evaluated[idx];
                (e.targets, e.run, e.regressions, e.wider, e.targets_pass, e.failure) =
                    (targets, run, regressions, wider, pass, failure);
            }
        }
        rank(&mut out);
        if let Some(trace) = trace {
            for (idx, e) in out.evaluated.iter().enumerate().filter(|(_, e)| e.round == round) {
                let extra = serde_json::json!({
                    "targets": e.targets.iter().map(TestId::as_str).collect::<Vec<_>>(),
                    "regressions": e.regressions.as_ref().map(|r| r.newly_failing.len() + r.missing.len()),
                    "fixed": e.regressions.as_ref().map(|r| r.fixed.iter().map(TestId::as_str).collect::<Vec<_>>()),
                    "agreement": e.agreement,
                    "error": e.error,
                });
                record::candidate(
                    trace,
                    round,
                    idx,
                    &e.candidate,
                    e.same_as,
                    e.failure.map(FailureKind::as_str),
                    e.targets_pass,
                    extra,
                );
            }
            record::decision(trace, round, out.winner, &out.ranking);
        }
        feedback.extend(round_feedback);
        // The prompt keeps the latest failures only.
        let keep = feedback.len().saturating_sub(6);
        feedback.drain(..keep);
        if out.winner.is_some() {
            break;
        }
    }
    out.baselines = baselines.into_iter().collect();
    out.baselines.sort_by(|a, b| a.0.cmp(&b.0));
    progress(RepairEvent::Selected { winner: out.winner });
    Ok(out)
}

fn baseline_for(
    cache: &mut HashMap<Vec<TestId>, TestRun>,
    root: &Path,
    plan: &TestPlan,
    selection: &[TestId],
    options: &RepairOptions,
    round: usize,
    progress: &dyn Fn(RepairEvent),
) -> Result<TestRun, RepairError> {
    if let Some(run) = cache.get(selection) {
        return Ok(run.clone());
    }
    progress(RepairEvent::Baseline { tests: selection.len() });
    let baseline = Baseline::run(
        root,
        &options.buffers,
        &plan.command,
        selection,
        &options.sandbox,
        options.baseline_cache.as_ref(),
    )
    .map_err(cancelled)?;
    if let Some(trace) = &options.trace {
        record::test_run(trace, round, "baseline", None, selection, Ok(&baseline.run), baseline.cached);
    }
    cache.insert(selection.to_vec(), baseline.run.clone());
    Ok(baseline.run)
}

fn cancelled(err: SandboxError) -> RepairError {
    match err {
        SandboxError::Cancelled => RepairError::Cancelled,
        other => RepairError::Sandbox(other),
    }
}

/// Runs `which` candidates on `selection`, results in the same order.
fn run_all(
    root: &Path,
    evaluated: &[Evaluated],
    which: &[usize],
    plan: &TestPlan,
    selection: &[TestId],
    options: &RepairOptions,
    progress: &dyn Fn(RepairEvent),
) -> Result<Vec<Result<TestRun, SandboxError>>, RepairError> {
    let overlays: Vec<Vec<Overlay>> = which
        .iter()
        .map(|&i| {
            let candidate = &evaluated[i].candidate;
            let mut all: Vec<Overlay> = options
                .buffers
                .iter()
                .filter(|b| !candidate.changes.iter().any(|c| root.join(&c.path) == root.join(&b.path)))
                .cloned()
                .collect();
            all.extend(candidate.overlays());
            all
        })
        .collect();
    let runs =
        run_candidates(root, overlays, &plan.command, selection, &options.sandbox, options.max_parallel)
            .map_err(cancelled)?;
    let total = which.len();
    let mut results: Vec<Option<Result<TestRun, SandboxError>>> = (0..total).map(|_| None).collect();
    for (done, result) in runs.results().iter().take(total).enumerate() {
        progress(RepairEvent::Tested { done: done + 1, total });
        results[result.index] = Some(result.result);
    }
    if options.sandbox.cancel.is_cancelled() {
        return Err(RepairError::Cancelled);
    }
    Ok(results.into_iter().map(|r| r.unwrap_or(Err(SandboxError::Cancelled))).collect())
}

fn targets_pass(run: &TestRun, regressions: &Regressions, targets: &[TestId], plan: &TestPlan) -> bool {
    if !targets.is_empty() {
        if run.outcome == RunOutcome::Passed {
            return true;
        }
        // Failures that were there before (a selected test broken for reasons of its own) do
        // not count against a candidate that fixes what it was asked to: the named tests pass,
        // or, with none named, some failing test now passes.
        let required_pass = plan.required.iter().all(|r| {
            let matching: Vec<_> = run
                .tests
                .iter()
                .filter(|t| {
                    t.id.as_str() == r.as_str() || t.id.as_str().starts_with(&format!("{}[", r.as_str()))
                })
                .collect();
            !matching.is_empty() && matching.iter().all(|t| !t.outcome.is_failing())
        });
        let fixed_something = if plan.required.is_empty() { !regressions.fixed.is_empty() } else { true };
        return run.outcome == RunOutcome::Failed
            && regressions.is_clean()
            && required_pass
            && fixed_something;
    }
    // The whole suite was the target: failures that were there before do not count, but the
    // tests the task names must pass.
    let required_fail =
        run.failing().any(|t| plan.required.iter().any(|r| t.id.as_str().starts_with(r.as_str())));
    matches!(run.outcome, RunOutcome::Passed | RunOutcome::Failed) && regressions.is_clean() && !required_fail
}

/// Ranks the candidates and picks the winner.
fn rank(out: &mut RepairOutcome) {
    let mut agreement: HashMap<u128, usize> = HashMap::new();
    for e in &out.evaluated {
        *agreement.entry(e.candidate.normalized_key()).or_default() += 1;
    }
    for e in &mut out.evaluated {
        e.agreement = agreement[&e.candidate.normalized_key()];
    }
    let mut ranking: Vec<usize> =
        (0..out.evaluated.len()).filter(|&i| out.evaluated[i].same_as.is_none()).collect();
    ranking.sort_by_key(|&i| {
        let e = &out.evaluated[i];
        (
            !e.is_winner(),
            !e.targets_pass,
            e.regression_count(),
            std::cmp::Reverse(e.agreement),
            e.changed_lines,
            i,
        )
    });
    out.winner = ranking.first().copied().filter(|&i| out.evaluated[i].is_winner());
    out.ranking = ranking;
}

/// What a failed candidate's run said, for the next prompt: the failing tests with their
/// messages and the end of their tracebacks, or the end of the output.
fn failure_output(e: &Evaluated) -> String {
    if let Some(err) = &e.error {
        return err.clone();
    }
    let mut out = String::new();
    let wider = e.wider.as_ref().filter(|(_, r)| !r.is_clean());
    if e.failure == Some(FailureKind::Regression) {
        let r = wider.map(|(_, r)| r).or(e.regressions.as_ref());
        if let Some(r) = r {
            let names: Vec<&str> = r.newly_failing.iter().chain(&r.missing).map(TestId::as_str).collect();
            out.push_str(&format!(
                "These tests passed before the change and fail now: {}\n",
                names.join(", ")
            ));
        }
    }
    let run = wider.map(|(run, _)| run).or(e.run.as_ref());
    let Some(run) = run else { return out };
    if run.outcome == RunOutcome::TimedOut {
        out.push_str(&format!(
            "The tests timed out{}.\n",
            run.interrupted_at.as_ref().map(|at| format!(" at {at}")).unwrap_or_default()
        ));
    }
    let failing: Vec<_> = run.failing().take(3).collect();
    for t in &failing {
        let details = tail(&t.details, 1200);
        out.push_str(&format!("FAILED {}: {}\n{}\n", t.id, t.message.trim(), details.trim_end()));
    }
    if failing.is_empty() {
        out.push_str(&tail(&run.stdout.text, 1500));
        out.push_str(&tail(&run.stderr.text, 500));
    }
    out
}

fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

/// The answer's edit blocks only (what a rejected answer proposed).
fn blocks_of(raw: &str) -> String {
    match raw.find("<<<<<<<") {
        Some(at) => excerpt(&raw[raw[..at].rfind("\n\n").map_or(0, |i| i + 2)..], 3000),
        None => excerpt(raw, 1000),
    }
}

/// Byte ranges of `before` that `after` changes (an insertion is an empty range).
fn changed_ranges(before: &str, after: &str) -> Vec<TextRange> {
    let starts: Vec<usize> =
        std::iter::once(0).chain(before.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let offset = |line: usize| starts.get(line).copied().unwrap_or(before.len()).min(before.len());
    TextDiff::from_lines(before, after)
        .ops()
        .iter()
        .filter(|op| op.tag() != DiffTag::Equal)
        .map(|op| {
            let old = op.old_range();
            TextRange::from_usize(offset(old.start)..offset(old.end))
        })
        .collect()
}

/// Tests that reference the symbols of `rel_path` overlapping `ranges`: through the graph's
/// `tests` edges to the symbol, to the classes holding it, and to its direct callers. A test
/// module is named whole only when none of its tests is named by itself.
pub fn tests_for_ranges(graph: &SymbolGraph, rel_path: &str, ranges: &[TextRange]) -> Vec<TestId> {
    let Some((file, _, summary)) = graph.files().find(|(_, path, _)| *path == rel_path) else {
        return Vec::new();
    };
    let mut symbols: BTreeSet<NodeId> = BTreeSet::new();
    for (idx, symbol) in summary.symbols.iter().enumerate() {
        let overlaps = ranges.iter().any(|r| {
            symbol.range.start <= r.end
                && r.start <= symbol.range.end
                && !(r.start == r.end && r.start == symbol.range.end)
        });
        if !overlaps {
            continue;
        }
        // The symbol and every symbol holding it.
        let mut at = Some(idx as u32);
        while let Some(i) = at {
            if let Some(node) = graph.symbol_node(file, i) {
                symbols.insert(node);
            }
            at = summary.symbols[i as usize].parent;
        }
    }
    let mut seeds: BTreeSet<NodeId> = symbols.clone();
    for &node in &symbols {
        for (from, edge) in graph.edges_to(node) {
            if edge.kind == EdgeKind::Calls && !graph.node(from).is_some_and(|n| graph.is_test_file(n.file)) {
                seeds.insert(from);
            }
        }
    }
    let mut tests: BTreeSet<TestId> = BTreeSet::new();
    for node in seeds {
        for (from, edge) in graph.edges_to(node) {
            if edge.kind != EdgeKind::Tests {
                continue;
            }
            if let Some(id) = test_id(graph, from) {
                tests.insert(id);
            }
        }
    }
    // A module's own edge is usually its import of the symbol: when tests in that module
    // reference the symbol themselves, they are the ones to run, not the whole module.
    let specific: BTreeSet<String> =
        tests.iter().filter(|t| t.as_str().contains("::")).map(|t| t.file().to_owned()).collect();
    tests.into_iter().filter(|t| t.as_str().contains("::") || !specific.contains(t.file())).collect()
}

fn test_id(graph: &SymbolGraph, node: NodeId) -> Option<TestId> {
    let n = graph.node(node)?;
    let rel = graph.rel_path(n.file)?;
    match n.symbol {
        Some(idx) => {
            let summary = graph.summary(n.file)?;
            // A helper nested in a test is run by its test: name the outermost definition.
            let mut top = idx;
            while let Some(parent) = summary.symbols[top as usize].parent {
                if summary.symbols[parent as usize].kind == crate::syntax::SymbolKind::Class {
                    break;
                }
                top = parent;
            }
            TestId::function(rel, &summary.qualified_name(top as usize)).ok()
        }
        None => TestId::path(rel).ok(),
    }
}
