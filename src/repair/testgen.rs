//! Generated tests: a new pytest file for a function that has none, accepted only when a run in
//! the sandbox shows that it passes on the current code *and* calls the function.
//!
//! A model is asked for a complete test file (one fenced Python block) that documents what the
//! function does today. Each answer becomes a candidate that creates the file; it is validated
//! (parses, stays inside the workspace) and run alone in a scratch copy with a call probe on the
//! function (`sandbox::CallProbe`: a pytest plugin outside the workspace that watches calls with
//! `sys.setprofile`). A candidate is rejected when it does not parse, when a test fails or errors
//! (categorized as for repairs), when nothing is collected, or when no test calls the function —
//! a test that passes without calling it proves nothing. The failures, with their output, go
//! into the next round's prompt. Among the accepted, the winner is the one with the most tests
//! calling the function, then the fewest lines.
//!
//! There is no rule-based test generator: without a model there are no candidates, and the
//! outcome says so.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use serde_json::json;

use super::{
    Candidate, Feedback, FileChange, ModelExchange, Origin, RepairError, SourceTexts, edit::excerpt,
    generate::temperatures, record, validate,
};
use crate::{
    llm::{ChatMessage, LlmConfig},
    sandbox::{
        CallProbe, CommandKind, Overlay, ProbeTarget, RunOutcome, SandboxError, SandboxOptions, TestCommand,
        TestId, TestRun, run_candidates,
    },
    stdx::CancelToken,
    text::TextRange,
    trace::Trace,
};

/// The function to write a test for.
#[derive(Clone, Debug)]
pub struct TestTask {
    /// Workspace-relative path of the file defining it.
    pub file: PathBuf,
    /// Its definition: a byte range of the file's current text.
    pub focus: TextRange,
    /// Its dotted qualified name in the file (`Stats.mean`).
    pub qualname: String,
    /// The module to import it from (`calc.stats`).
    pub module: String,
    /// Where the new test file goes (workspace-relative); it must not exist.
    pub test_path: PathBuf,
    /// More code worth showing (path, text): an existing test file for its style, callers.
    pub context: Vec<(String, String)>,
}

impl TestTask {
    /// A test file path under `tests/` (or the root when the project has no `tests/`) that
    /// does not exist yet: `tests/test_<module name>_<function>.py`, numbered if taken.
    pub fn free_test_path(root: &Path, rel: &Path, qualname: &str) -> PathBuf {
        let dir = if root.join("tests").is_dir() { PathBuf::from("tests") } else { PathBuf::new() };
        let stem = rel.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let function: String = qualname
            .chars()
            .map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .collect();
        let base = format!("test_{stem}_{function}_generated");
        (1..)
            .map(|n| dir.join(if n == 1 { format!("{base}.py") } else { format!("{base}_{n}.py") }))
            .find(|p| !root.join(p).exists())
            .expect("some name is free")
    }
}

/// A model writing test files, `samples` answers per round at spread temperatures.
pub struct LlmTestGenerator {
    config: LlmConfig,
    pub samples: usize,
    pub temperature_range: (f32, f32),
}

impl LlmTestGenerator {
    pub fn new(config: LlmConfig, samples: usize) -> LlmTestGenerator {
        LlmTestGenerator { config, samples: samples.max(1), temperature_range: (0.2, 0.8) }
    }

    /// The prompt for a round.
    pub fn messages(task: &TestTask, text: &str, feedback: &[Feedback]) -> Vec<ChatMessage> {
        let function = task.qualname.split('.').next().unwrap_or(&task.qualname);
        let system = format!(
            "You write pytest tests for existing Python code. Answer with one sentence saying what \
the tests check, then exactly one ```python fenced block holding the complete new test file \
{path}. The tests must pass on the code as it is now: they record its current behaviour, \
including behaviour that looks wrong. They must import `{function}` from `{module}` and call \
`{qualname}`. Use plain pytest (fixtures such as tmp_path and monkeypatch are fine); no network, \
no sleeping, no files outside tmp_path.",
            path = task.test_path.display(),
            module = task.module,
            qualname = task.qualname,
        );
        let start = (task.focus.start as usize).min(text.len());
        let end = (task.focus.end as usize).clamp(start, text.len());
        let (start, end) = (floor_boundary(text, start), floor_boundary(text, end));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        let mut user = format!(
            "Write tests for `{}` in {} (module `{}`):\n```python\n{}```\n",
            task.qualname,
            task.file.display(),
            task.module,
            &text[line_start..line_end]
        );
        for (path, snippet) in &task.context {
            user.push_str(&format!("\nRelated code, {path}:\n```python\n{}\n```\n", snippet.trim_end()));
        }
        if !feedback.is_empty() {
            user.push_str("\nEarlier attempts were rejected. Do not repeat them.\n");
            for (i, f) in feedback.iter().enumerate() {
                user.push_str(&format!(
                    "\nAttempt {} ({}):\n```python\n{}\n```\nWhat happened:\n```\n{}\n```\n",
                    i + 1,
                    f.category,
                    excerpt(f.patch.trim_end(), 3000),
                    excerpt(f.output.trim_end(), 3000)
                ));
            }
        }
        vec![ChatMessage::system(system), ChatMessage::user(user)]
    }

    /// The first fenced block of the answer (a `python`/`py` one preferred).
    pub fn code_of(answer: &str) -> Option<String> {
        let mut blocks = Vec::new();
        let mut rest = answer;
        while let Some(open) = rest.find("```") {
            let after = &rest[open + 3..];
            let Some(newline) = after.find('\n') else { break };
            let lang = after[..newline].trim().to_ascii_lowercase();
            let body = &after[newline + 1..];
            let Some(close) =
                body.find("\n```").map(|i| i + 1).or_else(|| body.starts_with("```").then_some(0))
            else {
                break;
            };
            blocks.push((lang, body[..close].to_owned()));
            rest = &body[close + 3..];
        }
        let pick = blocks
            .iter()
            .position(|(l, _)| l == "python" || l == "py")
            .or((!blocks.is_empty()).then_some(0))?;
        let code = blocks.swap_remove(pick).1;
        (!code.trim().is_empty()).then_some(code)
    }

    fn description(answer: &str) -> String {
        let before = answer.split("```").next().unwrap_or("");
        excerpt(before.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("generated tests"), 200)
    }

    fn generate(
        &self,
        task: &TestTask,
        sources: &dyn SourceTexts,
        round: usize,
        feedback: &[Feedback],
        cancel: &CancelToken,
    ) -> TestsGenerated {
        let mut out = TestsGenerated::default();
        let Some(text) = sources.text(&task.file) else {
            out.notes.push(format!("cannot read {}", task.file.display()));
            return out;
        };
        let messages = Arc::new(LlmTestGenerator::messages(task, &text, feedback));
        let temps = temperatures(self.samples, self.temperature_range.0, self.temperature_range.1);
        let exchanges = super::generate::sample_model(&self.config, &messages, &temps, cancel);
        for exchange in exchanges {
            let origin = Origin::Model { round, sample: exchange.sample, temperature: exchange.temperature };
            match &exchange.result {
                Err(err) => out.notes.push(format!("sample {} failed: {err}", exchange.sample + 1)),
                Ok(completion) => {
                    out.tokens.0 += completion.usage.prompt_tokens;
                    out.tokens.1 += completion.usage.completion_tokens;
                    let description = LlmTestGenerator::description(&completion.text);
                    let proposal = match LlmTestGenerator::code_of(&completion.text) {
                        None => Err((
                            description,
                            origin,
                            "the answer has no fenced code block".to_owned(),
                            completion.text.clone(),
                        )),
                        Some(code) => {
                            let candidate = Candidate {
                                description: description.clone(),
                                origin: origin.clone(),
                                changes: vec![FileChange {
                                    path: task.test_path.clone(),
                                    before: None,
                                    after: code,
                                }],
                                needs_failing_test: false,
                            };
                            match validate(&candidate) {
                                Ok(()) => Ok(candidate),
                                Err(err) => {
                                    Err((description, origin, err.to_string(), completion.text.clone()))
                                }
                            }
                        }
                    };
                    out.proposals.push(proposal);
                }
            }
            out.exchanges.push(exchange);
        }
        out
    }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A round's answers: candidates, or (description, origin, why not, the answer).
#[derive(Default)]
struct TestsGenerated {
    proposals: Vec<Result<Candidate, (String, Origin, String, String)>>,
    exchanges: Vec<ModelExchange>,
    notes: Vec<String>,
    tokens: (u64, u64),
}

/// Why a generated test was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum TestRejection {
    /// No code block, or a file that does not parse.
    Invalid,
    /// A test failed or errored on the current code (or the run timed out).
    Fails,
    /// Nothing was collected.
    NoTests,
    /// Every test passed and none called the function.
    NotCalled,
    /// The run gave no call report (the probe could not load), so calling was not shown.
    NoCallReport,
    /// The sandbox could not run it.
    NotRun,
}

impl TestRejection {
    pub fn as_str(self) -> &'static str {
        match self {
            TestRejection::Invalid => "invalid test file",
            TestRejection::Fails => "fails on the current code",
            TestRejection::NoTests => "no tests collected",
            TestRejection::NotCalled => "does not call the function",
            TestRejection::NoCallReport => "no call report",
            TestRejection::NotRun => "not run",
        }
    }
}

/// A generated test file and what its run showed.
#[derive(Clone, Debug)]
pub struct TestEvaluated {
    pub candidate: Candidate,
    pub round: usize,
    pub run: Option<TestRun>,
    /// Tests (node ids) that called the function.
    pub calling: Vec<String>,
    pub rejection: Option<TestRejection>,
    /// Why, in words (the validation error, the failing tests, the sandbox error).
    pub reason: Option<String>,
    /// An earlier candidate with the same file, whose results these are.
    pub same_as: Option<usize>,
}

#[derive(Debug, Default)]
pub struct TestGenOutcome {
    /// Index into `evaluated`.
    pub winner: Option<usize>,
    pub evaluated: Vec<TestEvaluated>,
    pub rounds: usize,
    pub notes: Vec<String>,
    pub model_calls: usize,
    pub tokens: (u64, u64),
}

impl TestGenOutcome {
    pub fn winner(&self) -> Option<&TestEvaluated> {
        self.winner.map(|i| &self.evaluated[i])
    }
}

/// Knobs of the test generation loop.
#[derive(Clone, Debug)]
pub struct TestGenOptions {
    pub rounds: usize,
    pub max_parallel: Option<usize>,
    pub sandbox: SandboxOptions,
    /// Unsaved editor buffers, present in every run.
    pub buffers: Vec<Overlay>,
    pub trace: Option<Trace>,
}

/// Generates, runs and selects a test file for `task`. `generator` `None` (no model) gives an
/// outcome with no candidates and a note saying why.
pub fn generate_test(
    task: &TestTask,
    root: &Path,
    sources: &dyn SourceTexts,
    generator: Option<&LlmTestGenerator>,
    command: &TestCommand,
    options: &TestGenOptions,
) -> Result<TestGenOutcome, RepairError> {
    let started = Instant::now();
    let trace = options.trace.as_ref();
    if let Some(trace) = trace {
        let repair_task = super::RepairTask {
            file: task.file.clone(),
            focus: task.focus,
            problem: format!("write a test for {}", task.qualname),
            fixes: Vec::new(),
            context: Vec::new(),
        };
        let extra = json!({
            "root": root,
            "qualname": task.qualname,
            "test_path": task.test_path,
            "generators": generator.map(|_| "model").into_iter().collect::<Vec<_>>(),
            "rounds": options.rounds,
            "command": command.argv,
        });
        record::run_start(trace, "test-generation", &repair_task, sources, extra);
    }
    let res = generation_rounds(task, root, sources, generator, command, options);
    if let Some(trace) = trace {
        match &res {
            Ok(out) => {
                let winner = out.winner().map(|w| {
                    json!({
                        "index": out.winner,
                        "description": crate::trace::redacted(&w.candidate.description),
                        "calling": w.calling,
                    })
                });
                let extra = json!({
                    "winner": winner,
                    "rounds": out.rounds,
                    "candidates": out.evaluated.len(),
                    "model_calls": out.model_calls,
                    "prompt_tokens": out.tokens.0,
                    "completion_tokens": out.tokens.1,
                    "notes": out.notes,
                });
                record::run_end(trace, out.winner.is_some(), started.elapsed(), None, extra);
            }
            Err(err) => record::run_end(trace, false, started.elapsed(), Some(&err.to_string()), json!({})),
        }
    }
    res
}

fn generation_rounds(
    task: &TestTask,
    root: &Path,
    sources: &dyn SourceTexts,
    generator: Option<&LlmTestGenerator>,
    command: &TestCommand,
    options: &TestGenOptions,
) -> Result<TestGenOutcome, RepairError> {
    let mut out = TestGenOutcome::default();
    let Some(generator) = generator else {
        out.notes.push(
            "no model is configured, and tests are only written by a model (there is no rule-based test generator)"
                .to_owned(),
        );
        return Ok(out);
    };
    if command.kind != CommandKind::Pytest {
        out.notes.push(format!(
            "the test command ({}) is not pytest: a generated test's calls cannot be checked",
            command.argv.join(" ")
        ));
        return Ok(out);
    }
    let selection = vec![TestId::path(&task.test_path.to_string_lossy())?];
    let sandbox = SandboxOptions {
        call_probe: Some(CallProbe {
            targets: vec![ProbeTarget { file: task.file.clone(), qualname: task.qualname.clone() }],
        }),
        ..options.sandbox.clone()
    };
    let cancel = &options.sandbox.cancel;
    let trace = options.trace.as_ref();
    let mut feedback: Vec<Feedback> = Vec::new();
    let mut by_key: HashMap<u128, usize> = HashMap::new();
    for round in 0..options.rounds.max(1) {
        if cancel.is_cancelled() {
            return Err(RepairError::Cancelled);
        }
        out.rounds = round + 1;
        let generated = generator.generate(task, sources, round, &feedback, cancel);
        out.model_calls += generated.exchanges.len();
        out.tokens.0 += generated.tokens.0;
        out.tokens.1 += generated.tokens.1;
        out.notes.extend(generated.notes.into_iter().map(|n| format!("model: {n}")));
        if let Some(trace) = trace {
            for exchange in &generated.exchanges {
                record::llm_call(trace, round, "model", exchange);
            }
        }
        let mut fresh = Vec::new();
        let mut round_feedback = Vec::new();
        for proposal in generated.proposals {
            match proposal {
                Err((description, origin, reason, raw)) => {
                    let kind = TestRejection::Invalid;
                    if let Some(trace) = trace {
                        record::rejected(
                            trace,
                            round,
                            &description,
                            &origin.label(),
                            kind.as_str(),
                            &reason,
                            &raw,
                        );
                    }
                    round_feedback.push(Feedback {
                        description,
                        patch: excerpt(&raw, 3000),
                        category: kind.as_str().to_owned(),
                        output: reason,
                    });
                }
                Ok(candidate) => {
                    let key = candidate.normalized_key();
                    let idx = out.evaluated.len();
                    let same_as = by_key.get(&key).copied();
                    if same_as.is_none() {
                        by_key.insert(key, idx);
                        fresh.push(idx);
                    }
                    out.evaluated.push(TestEvaluated {
                        candidate,
                        round,
                        run: None,
                        calling: Vec::new(),
                        rejection: None,
                        reason: None,
                        same_as,
                    });
                }
            }
        }
        if !fresh.is_empty() {
            let overlays: Vec<Vec<Overlay>> = fresh
                .iter()
                .map(|&i| {
                    let mut all = options.buffers.clone();
                    all.extend(out.evaluated[i].candidate.overlays());
                    all
                })
                .collect();
            let runs = run_candidates(root, overlays, command, &selection, &sandbox, options.max_parallel)
                .map_err(|e| match e {
                    SandboxError::Cancelled => RepairError::Cancelled,
                    other => RepairError::Sandbox(other),
                })?
                .wait();
            if cancel.is_cancelled() {
                return Err(RepairError::Cancelled);
            }
            for (result, &idx) in runs.into_iter().zip(&fresh) {
                if let Some(trace) = trace {
                    let run = result.result.as_ref().map_err(|e| e.to_string());
                    record::test_run(trace, round, "probe", Some(idx), &selection, run, false);
                }
                judge(&mut out.evaluated[idx], result.result, &task.qualname);
            }
        }
        // Duplicates share their original's results.
        for idx in 0..out.evaluated.len() {
            if let Some(first) = out.evaluated[idx].same_as {
                let f = out.evaluated[first].clone();
                let e = &mut out.evaluated[idx];
                (e.run, e.calling, e.rejection, e.reason) = (f.run, f.calling, f.rejection, f.reason);
            }
        }
        for &idx in &fresh {
            let e = &out.evaluated[idx];
            if let Some(kind) = e.rejection {
                round_feedback.push(Feedback {
                    description: e.candidate.description.clone(),
                    patch: e.candidate.changes[0].after.clone(),
                    category: kind.as_str().to_owned(),
                    output: e.reason.clone().unwrap_or_default(),
                });
            }
        }
        out.winner = out
            .evaluated
            .iter()
            .enumerate()
            .filter(|(_, e)| e.rejection.is_none() && e.same_as.is_none() && e.run.is_some())
            .min_by_key(|(i, e)| (std::cmp::Reverse(e.calling.len()), e.candidate.changed_lines(), *i))
            .map(|(i, _)| i);
        if let Some(trace) = trace {
            for (idx, e) in out.evaluated.iter().enumerate().filter(|(_, e)| e.round == round) {
                let extra =
                    json!({ "calling": e.calling, "reason": e.reason.as_deref().map(|r| excerpt(r, 2000)) });
                record::candidate(
                    trace,
                    round,
                    idx,
                    &e.candidate,
                    e.same_as,
                    e.rejection.map(TestRejection::as_str),
                    e.rejection.is_none(),
                    extra,
                );
            }
            let ranking: Vec<usize> = out.winner.into_iter().collect();
            record::decision(trace, round, out.winner, &ranking);
        }
        feedback.extend(round_feedback);
        let keep = feedback.len().saturating_sub(6);
        feedback.drain(..keep);
        if out.winner.is_some() {
            break;
        }
    }
    Ok(out)
}

/// The verdict on one run of a generated test file.
fn judge(e: &mut TestEvaluated, result: Result<TestRun, SandboxError>, qualname: &str) {
    let run = match result {
        Ok(run) => run,
        Err(err) => {
            e.rejection = Some(TestRejection::NotRun);
            e.reason = Some(err.to_string());
            return;
        }
    };
    let (rejection, reason) = match run.outcome {
        RunOutcome::Passed if run.counts.passed == 0 => {
            (Some(TestRejection::NoTests), Some("every test was skipped".to_owned()))
        }
        RunOutcome::Passed => match &run.calls {
            None => (
                Some(TestRejection::NoCallReport),
                Some("the call probe wrote no report, so the call was not shown".to_owned()),
            ),
            Some(calls) => {
                e.calling = calls.callers_of(qualname).map(str::to_owned).collect();
                if e.calling.is_empty() {
                    let ran: Vec<&str> = calls.tests.keys().map(String::as_str).collect();
                    let reason = format!(
                        "all {} tests passed, but none of them called {qualname} (tests: {})",
                        run.counts.passed,
                        ran.join(", ")
                    );
                    (Some(TestRejection::NotCalled), Some(reason))
                } else {
                    (None, None)
                }
            }
        },
        RunOutcome::NoTests => {
            (Some(TestRejection::NoTests), Some("pytest collected no tests from the file".to_owned()))
        }
        _ => (Some(TestRejection::Fails), Some(failure_text(&run))),
    };
    e.rejection = rejection;
    e.reason = reason;
    e.run = Some(run);
}

/// The failing tests with their messages, or the end of the output.
fn failure_text(run: &TestRun) -> String {
    let mut out = String::new();
    if let Some(category) = run.failure_category() {
        out.push_str(&format!("{}\n", category.as_str()));
    }
    if run.outcome == RunOutcome::TimedOut {
        out.push_str("the tests timed out\n");
    }
    for t in run.failing().take(3) {
        out.push_str(&format!(
            "FAILED {}: {}\n{}\n",
            t.id,
            t.message.trim(),
            excerpt(t.details.trim_end(), 1200)
        ));
    }
    if run.failing().next().is_none() {
        let tail = |text: &str, max: usize| {
            let mut start = text.len().saturating_sub(max);
            while !text.is_char_boundary(start) {
                start += 1;
            }
            text[start..].to_owned()
        };
        out.push_str(&tail(&run.stdout.text, 1500));
        out.push_str(&tail(&run.stderr.text, 500));
    }
    out
}

/// A test file to show the model the project's style: one in the directory the new file goes
/// to if there is one, else any. At most 4 KiB of it.
pub fn style_example(
    graph: &crate::graph::SymbolGraph,
    sources: &dyn SourceTexts,
    test_path: &Path,
) -> Option<(String, String)> {
    let dir = test_path.parent().map(|d| d.to_string_lossy().replace('\\', "/")).unwrap_or_default();
    let mut tests: Vec<&str> =
        graph.files().filter(|(file, _, _)| graph.is_test_file(*file)).map(|(_, path, _)| path).collect();
    tests.sort_by_key(|p| (Path::new(p).parent().map(|d| d.to_string_lossy() != dir.as_str()), p.len(), *p));
    let path = tests.into_iter().find(|p| p.ends_with(".py"))?;
    let text = sources.text(Path::new(path))?;
    let mut end = text.len().min(4096);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some((format!("{path} (an existing test file, for its style)"), text[..end].to_owned()))
}
