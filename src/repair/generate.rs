//! Candidate generators: one interface, a rule-based and a model-based implementation.
//!
//! A generator sees the [`RepairTask`] (where the problem is, what it is, which mechanical fixes
//! are known) and, from the second round on, the categorized failures of earlier candidates
//! ([`Feedback`]). It returns proposals: validated candidates, or rejections saying why an
//! answer could not become one (they are fed back too — "your search text did not match").

use std::{path::PathBuf, sync::Arc};

use super::{
    Candidate, FileChange, Origin, RepairError, SourceTexts, apply_blocks, edit::excerpt, parse_edit_blocks,
    validate,
};
use crate::{
    llm::{ChatMessage, LlmClient, LlmConfig},
    stdx::CancelToken,
    text::TextRange,
};

/// A fix whose edits are known without a model: byte ranges of the task's file and their new
/// text, applied together. (A smell's fix alternatives map onto this one to one.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MechanicalFix {
    pub title: String,
    pub edits: Vec<(TextRange, String)>,
    /// The fix guesses what the code meant: it may win only by making a failing test pass
    /// ([`Candidate::needs_failing_test`]).
    pub needs_failing_test: bool,
}

/// What to repair.
#[derive(Clone, Debug)]
pub struct RepairTask {
    /// Workspace-relative path of the file with the problem.
    pub file: PathBuf,
    /// The localized code: a byte range of the file's current text (usually a function).
    pub focus: TextRange,
    /// What is wrong, in words: a diagnostic's message, a failing test, the user's request.
    pub problem: String,
    /// Known mechanical fixes of the file's current text.
    pub fixes: Vec<MechanicalFix>,
    /// More code worth showing a model (path, text): callers, the tests that exercise it.
    pub context: Vec<(String, String)>,
}

/// A failed candidate, as the next round's prompt describes it.
#[derive(Clone, Debug)]
pub struct Feedback {
    pub description: String,
    /// The candidate's diff, or for one that did not apply, the answer's blocks.
    pub patch: String,
    /// `did not apply`, `syntax error`, `import error`, …
    pub category: String,
    /// The relevant output: failing tests with their messages, or the validation error.
    pub output: String,
}

/// An answer that did not become a candidate.
#[derive(Debug)]
pub struct Rejected {
    pub description: String,
    pub origin: Origin,
    pub error: RepairError,
    /// What the generator produced (the model's answer).
    pub raw: String,
}

pub type Proposal = Result<Candidate, Rejected>;

/// One generator's output for a round.
#[derive(Debug, Default)]
pub struct Generated {
    pub proposals: Vec<Proposal>,
    /// Problems that are not a candidate's (the endpoint failed), for the log and the report.
    pub notes: Vec<String>,
    /// Model calls made, and their tokens (prompt, completion).
    pub calls: usize,
    pub tokens: (u64, u64),
    /// Every model call, for the trace.
    pub exchanges: Vec<ModelExchange>,
}

/// One model call: what was asked and what came back.
#[derive(Clone, Debug)]
pub struct ModelExchange {
    pub sample: usize,
    pub temperature: f32,
    pub messages: Vec<ChatMessage>,
    /// The answer, or why there is none.
    pub result: Result<crate::llm::Completion, String>,
    /// From sending to the answer (or the failure), retries included.
    pub latency: std::time::Duration,
}

/// Asks the model once per temperature, all at once (one blocking client each), and returns
/// every exchange that finished, in sample order.
pub(crate) fn sample_model(
    config: &LlmConfig,
    messages: &Arc<Vec<ChatMessage>>,
    temperatures: &[f32],
    cancel: &CancelToken,
) -> Vec<ModelExchange> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = temperatures
            .iter()
            .enumerate()
            .map(|(sample, &temperature)| {
                let messages = messages.clone();
                let config = LlmConfig { temperature, ..config.clone() };
                scope.spawn(move || {
                    let started = std::time::Instant::now();
                    let result = LlmClient::new(config)
                        .and_then(|client| client.chat(&messages, cancel))
                        .map_err(|e| e.to_string());
                    ModelExchange {
                        sample,
                        temperature,
                        messages: messages.to_vec(),
                        result,
                        latency: started.elapsed(),
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

pub trait Generator: Send + Sync {
    fn name(&self) -> &'static str;

    /// Whether the generator may propose anything in `round` (0-based): one that proposes
    /// only in the first round does not make the loop run more rounds for nothing.
    fn proposes_in(&self, round: usize) -> bool {
        let _ = round;
        true
    }

    /// Proposals for `round` (0-based); `feedback` holds the failures of earlier rounds.
    fn generate(
        &self,
        task: &RepairTask,
        sources: &dyn SourceTexts,
        round: usize,
        feedback: &[Feedback],
        cancel: &CancelToken,
    ) -> Generated;
}

/// Mechanical fixes as candidates, in the first round only (they do not change with feedback).
pub struct RuleGenerator;

impl RuleGenerator {
    /// The candidate for one fix of `text` (the task file's current text).
    pub fn candidate(task: &RepairTask, text: &str, fix: &MechanicalFix) -> Result<Candidate, RepairError> {
        let mut edits: Vec<&(TextRange, String)> = fix.edits.iter().collect();
        edits.sort_by_key(|(range, _)| (range.start, range.end));
        for pair in edits.windows(2) {
            if pair[1].0.start < pair[0].0.end {
                return Err(RepairError::OverlappingEdits { at: pair[1].0.start as usize });
            }
        }
        let mut after = text.to_owned();
        for (range, new_text) in edits.iter().rev() {
            let (start, end) = (range.start as usize, range.end as usize);
            if end > after.len()
                || start > end
                || !after.is_char_boundary(start)
                || !after.is_char_boundary(end)
            {
                return Err(RepairError::BadRange { path: task.file.clone(), start, end, len: text.len() });
            }
            after.replace_range(start..end, new_text);
        }
        if after == text {
            return Err(RepairError::NoChange);
        }
        let candidate = Candidate {
            description: fix.title.clone(),
            origin: Origin::Rule { title: fix.title.clone() },
            changes: vec![FileChange { path: task.file.clone(), before: Some(text.to_owned()), after }],
            needs_failing_test: fix.needs_failing_test,
        };
        validate(&candidate)?;
        Ok(candidate)
    }
}

impl Generator for RuleGenerator {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn proposes_in(&self, round: usize) -> bool {
        round == 0
    }

    fn generate(
        &self,
        task: &RepairTask,
        sources: &dyn SourceTexts,
        round: usize,
        _: &[Feedback],
        _: &CancelToken,
    ) -> Generated {
        let mut out = Generated::default();
        if round > 0 || task.fixes.is_empty() {
            return out;
        }
        let Some(text) = sources.text(&task.file) else {
            out.notes.push(format!("cannot read {}", task.file.display()));
            return out;
        };
        for fix in &task.fixes {
            out.proposals.push(RuleGenerator::candidate(task, &text, fix).map_err(|error| Rejected {
                description: fix.title.clone(),
                origin: Origin::Rule { title: fix.title.clone() },
                error,
                raw: String::new(),
            }));
        }
        out
    }
}

/// `n` temperatures spread evenly over `low..=high` (just `low` for one sample).
pub fn temperatures(n: usize, low: f32, high: f32) -> Vec<f32> {
    match n {
        0 => Vec::new(),
        1 => vec![low],
        _ => (0..n).map(|i| low + (high - low) * i as f32 / (n - 1) as f32).collect(),
    }
}

/// A model writing search/replace blocks for the localized code: `samples` answers per round at
/// temperatures spread over `temperature_range`, requested in parallel.
pub struct LlmGenerator {
    config: LlmConfig,
    pub samples: usize,
    pub temperature_range: (f32, f32),
    /// The workspace root, for path checks.
    pub root: PathBuf,
}

impl LlmGenerator {
    pub fn new(config: LlmConfig, root: PathBuf, samples: usize) -> LlmGenerator {
        LlmGenerator { config, samples: samples.max(1), temperature_range: (0.0, 0.8), root }
    }

    /// The prompt for a round.
    pub fn messages(task: &RepairTask, text: &str, feedback: &[Feedback]) -> Vec<ChatMessage> {
        let system = "You repair code in a repository. Answer with a one-sentence summary of the fix, \
then one or more search/replace blocks in exactly this format:\n\n\
path/to/file.py\n<<<<<<< SEARCH\nthe exact lines now in the file\n=======\nthe lines that replace them\n>>>>>>> REPLACE\n\n\
The SEARCH part must copy the current code exactly, indentation included, and be just long \
enough to be unique. Change only what the fix needs; keep the code's style. Do not edit tests \
unless asked to.";
        let start = (task.focus.start as usize).min(text.len());
        let end = (task.focus.end as usize).clamp(start, text.len());
        let (start, end) = (floor_boundary(text, start), floor_boundary(text, end));
        // Whole lines, so that the model copies whole lines into SEARCH.
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        let first_line = text[..line_start].matches('\n').count() + 1;
        let mut user = format!(
            "Problem: {}\n\nThe code to fix, {} from line {first_line}:\n```python\n{}```\n",
            task.problem.trim(),
            task.file.display(),
            &text[line_start..line_end]
        );
        if !user.ends_with("```\n") {
            user.push('\n');
        }
        for (path, snippet) in &task.context {
            user.push_str(&format!("\nRelated code, {path}:\n```python\n{}\n```\n", snippet.trim_end()));
        }
        if !feedback.is_empty() {
            user.push_str("\nEarlier attempts failed. Do not repeat them.\n");
            for (i, f) in feedback.iter().enumerate() {
                user.push_str(&format!(
                    "\nAttempt {} ({}): {}\n```diff\n{}\n```\nWhat happened:\n```\n{}\n```\n",
                    i + 1,
                    f.category,
                    f.description,
                    excerpt(f.patch.trim_end(), 3000),
                    excerpt(f.output.trim_end(), 3000)
                ));
            }
        }
        vec![ChatMessage::system(system), ChatMessage::user(user)]
    }

    /// The summary sentence before the first block.
    fn description(answer: &str) -> String {
        let before = answer.split("<<<<<<<").next().unwrap_or("");
        let line = before
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("```") && !l.ends_with(".py"))
            .unwrap_or("model edit");
        excerpt(line, 200)
    }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl Generator for LlmGenerator {
    fn name(&self) -> &'static str {
        "model"
    }

    fn generate(
        &self,
        task: &RepairTask,
        sources: &dyn SourceTexts,
        round: usize,
        feedback: &[Feedback],
        cancel: &CancelToken,
    ) -> Generated {
        let mut out = Generated::default();
        let Some(text) = sources.text(&task.file) else {
            out.notes.push(format!("cannot read {}", task.file.display()));
            return out;
        };
        let messages = Arc::new(LlmGenerator::messages(task, &text, feedback));
        let temps = temperatures(self.samples, self.temperature_range.0, self.temperature_range.1);
        let answers = sample_model(&self.config, &messages, &temps, cancel);
        for exchange in answers {
            out.calls += 1;
            let (sample, temperature) = (exchange.sample, exchange.temperature);
            let origin = Origin::Model { round, sample, temperature };
            let completion = match &exchange.result {
                Ok(completion) => completion.clone(),
                Err(err) => {
                    out.notes.push(format!("sample {} failed: {err}", sample + 1));
                    out.exchanges.push(exchange);
                    continue;
                }
            };
            out.exchanges.push(exchange);
            out.tokens.0 += completion.usage.prompt_tokens;
            out.tokens.1 += completion.usage.completion_tokens;
            let raw = completion.text;
            let description = LlmGenerator::description(&raw);
            let made = parse_edit_blocks(&raw).map_err(RepairError::from).and_then(|blocks| {
                if blocks.is_empty() {
                    return Err(RepairError::NoBlocks);
                }
                apply_blocks(&self.root, sources, &blocks, description.clone(), origin.clone())
                    .map(|(c, _)| c)
            });
            out.proposals.push(made.map_err(|error| Rejected { description, origin, error, raw }));
        }
        out
    }
}

/// A fixed pool of answers in the edit-block format (an evaluation's candidates, a user's
/// alternatives), proposed in the first round only, each named.
pub struct PoolGenerator {
    /// (name, edit blocks).
    pub candidates: Vec<(String, String)>,
    /// The workspace root, for path checks.
    pub root: PathBuf,
}

impl PoolGenerator {
    /// The candidate for one answer, as any generator would make it.
    pub fn candidate(
        root: &std::path::Path,
        sources: &dyn SourceTexts,
        name: &str,
        blocks: &str,
    ) -> Result<Candidate, RepairError> {
        let parsed = parse_edit_blocks(blocks)?;
        if parsed.is_empty() {
            return Err(RepairError::NoBlocks);
        }
        let origin = Origin::Given { name: name.to_owned() };
        apply_blocks(root, sources, &parsed, name.to_owned(), origin).map(|(c, _)| c)
    }
}

impl Generator for PoolGenerator {
    fn name(&self) -> &'static str {
        "pool"
    }

    fn proposes_in(&self, round: usize) -> bool {
        round == 0
    }

    fn generate(
        &self,
        _: &RepairTask,
        sources: &dyn SourceTexts,
        round: usize,
        _: &[Feedback],
        _: &CancelToken,
    ) -> Generated {
        let mut out = Generated::default();
        if round > 0 {
            return out;
        }
        for (name, blocks) in &self.candidates {
            out.proposals.push(PoolGenerator::candidate(&self.root, sources, name, blocks).map_err(
                |error| Rejected {
                    description: name.clone(),
                    origin: Origin::Given { name: name.clone() },
                    error,
                    raw: blocks.clone(),
                },
            ));
        }
        out
    }
}
