//! Repair: candidate patches for a localized problem, tested in the sandbox, the best selected.
//!
//! - `edit.rs`: search/replace edit blocks (the LLM's output format) — parsing, applying with
//!   exact → whitespace-insensitive → fuzzy matching, path checks, unified diffs.
//! - `generate.rs`: the [`Generator`] interface and its two implementations: [`RuleGenerator`]
//!   turns mechanical fixes (byte-range edits, e.g. a smell's alternatives) into candidates,
//!   [`LlmGenerator`] asks an OpenAI-compatible model for edit blocks, N samples at varied
//!   temperatures, with earlier rounds' failures in the prompt.
//! - `testgen.rs`: generated tests for untested functions, accepted when a probed sandbox run
//!   shows they pass on the current code and call the function ([`generate_test`]).
//! - `select.rs`: test selection through the symbol graph's test edges, candidate runs in the
//!   sandbox against a baseline, ranking, and the reflection loop ([`repair`]).
//!
//! Every candidate is validated before it is tested: its edits applied, its paths inside the
//! workspace, and no edited Python file with more syntax errors than before. Candidates are
//! plain data (a set of whole-file texts); nothing here writes the user's files.

mod edit;
mod generate;
mod record;
mod select;
mod testgen;

use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

pub use edit::{
    BlockParseError, EditBlock, FUZZY_THRESHOLD, MatchKind, apply_block, apply_blocks, best_fuzzy,
    changed_lines, parse_edit_blocks, unified_diff, workspace_path,
};
pub use generate::{
    Feedback, Generated, Generator, LlmGenerator, MechanicalFix, ModelExchange, PoolGenerator, Proposal,
    Rejected, RepairTask, RuleGenerator, temperatures,
};
pub use select::{
    Evaluated, FailureKind, RepairEvent, RepairOptions, RepairOutcome, TestPlan, Workspace, repair,
    tests_for_ranges,
};
pub use testgen::{
    LlmTestGenerator, TestEvaluated, TestGenOptions, TestGenOutcome, TestRejection, TestTask, generate_test,
    style_example,
};

use crate::{
    sandbox::{Overlay, SandboxError},
    syntax::{LanguageId, count_syntax_errors},
};

/// Why a candidate could not be made or tested. Messages are lowercase, for the user as they are.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error("{} is outside the workspace", path.display())]
    EscapesWorkspace { path: PathBuf },
    #[error("{} does not exist (only an empty SEARCH may create a file)", path.display())]
    NoSuchFile { path: PathBuf },
    #[error("the search text was not found in {}{}", path.display(), best_match(*best_line, *best_ratio))]
    NoMatch { path: PathBuf, search: String, best_line: Option<usize>, best_ratio: Option<f32> },
    #[error(transparent)]
    Malformed(#[from] BlockParseError),
    #[error("the answer has no edit blocks")]
    NoBlocks,
    #[error("the edits change nothing")]
    NoChange,
    #[error("overlapping edits at bytes {at}")]
    OverlappingEdits { at: usize },
    #[error("edit range {start}..{end} is outside {} ({len} bytes) or not on a character boundary", path.display())]
    BadRange { path: PathBuf, start: usize, end: usize, len: usize },
    #[error("the edit leaves {} with {after} syntax errors (it had {before}){}", path.display(), first_error.map(|l| format!("; the first at line {l}")).unwrap_or_default())]
    SyntaxError { path: PathBuf, before: usize, after: usize, first_error: Option<usize> },
    #[error("the model request failed: {0}")]
    Model(String),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("the repair was cancelled")]
    Cancelled,
}

fn best_match(line: Option<usize>, ratio: Option<f32>) -> String {
    match (line, ratio) {
        (Some(line), Some(ratio)) => {
            format!(" (the closest text, at line {line}, is {:.0}% similar)", ratio * 100.0)
        }
        _ => String::new(),
    }
}

/// The workspace's current texts (files on disk under unsaved editor buffers).
pub trait SourceTexts: Sync {
    /// The text of the file at `rel` (workspace-relative); `None` if there is none.
    fn text(&self, rel: &Path) -> Option<String>;
}

/// Files on disk under `root`, with `buffers` (unsaved editor texts, workspace-relative paths)
/// in their place.
pub struct WorkspaceTexts {
    pub root: PathBuf,
    pub buffers: Vec<(PathBuf, String)>,
}

impl SourceTexts for WorkspaceTexts {
    fn text(&self, rel: &Path) -> Option<String> {
        if let Some((_, text)) = self.buffers.iter().find(|(p, _)| p == rel) {
            return Some(text.clone());
        }
        // Source files larger than this are not repaired (nor indexed).
        crate::workspace::read_source(&self.root.join(rel), 16 << 20).ok()
    }
}

/// One file's new text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Workspace-relative.
    pub path: PathBuf,
    /// `None`: the candidate creates the file.
    pub before: Option<String>,
    pub after: String,
}

/// Where a candidate came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A mechanical fix; its title.
    Rule { title: String },
    /// A model's answer.
    Model { round: usize, sample: usize, temperature: f32 },
    /// Given from outside (an evaluation's candidate pool).
    Given { name: String },
}

impl Origin {
    pub fn label(&self) -> String {
        match self {
            Origin::Rule { title } => format!("rule: {title}"),
            Origin::Model { round, sample, temperature } => {
                format!("model: round {}, sample {}, temperature {temperature:.2}", round + 1, sample + 1)
            }
            Origin::Given { name } => format!("given: {name}"),
        }
    }
}

/// A candidate patch: new texts for one or more files.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub description: String,
    pub origin: Origin,
    pub changes: Vec<FileChange>,
    /// A guess at what the code meant (a mechanical alternative that re-raises a swallowed
    /// error, or calls a builtin the code did not call): it is selected only when it makes a
    /// test pass that failed before, never for passing tests that did not notice it.
    pub needs_failing_test: bool,
}

impl Candidate {
    /// Unified diffs of every change, in path order.
    pub fn diff(&self) -> String {
        self.changes
            .iter()
            .map(|c| unified_diff(&c.path, c.before.as_deref().unwrap_or(""), &c.after))
            .collect()
    }

    /// Lines added plus lines removed.
    pub fn changed_lines(&self) -> usize {
        self.changes.iter().map(|c| changed_lines(c.before.as_deref().unwrap_or(""), &c.after)).sum()
    }

    /// A key equal for candidates that make the same change up to whitespace and blank lines,
    /// for agreement between samples.
    pub fn normalized_key(&self) -> u128 {
        let mut h = Xxh3::new();
        let mut changes: Vec<&FileChange> = self.changes.iter().collect();
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        for change in changes {
            h.update(change.path.as_os_str().as_encoded_bytes());
            h.update(b"\0");
            for line in change.after.lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                if !words.is_empty() {
                    h.update(words.join(" ").as_bytes());
                    h.update(b"\n");
                }
            }
            h.update(b"\0");
        }
        h.digest128()
    }

    /// The candidate as sandbox overlays.
    pub fn overlays(&self) -> Vec<Overlay> {
        self.changes.iter().map(|c| Overlay::new(c.path.clone(), c.after.clone())).collect()
    }
}

/// Checks that no edited Python file gained syntax errors.
pub fn validate(candidate: &Candidate) -> Result<(), RepairError> {
    for change in &candidate.changes {
        let Some(language) = LanguageId::from_path(&change.path) else { continue };
        let before =
            change.before.as_deref().and_then(|t| count_syntax_errors(language, t)).map_or(0, |c| c.0);
        let Some((after, first)) = count_syntax_errors(language, &change.after) else { continue };
        if after > before {
            let first_error =
                first.map(|at| change.after[..at.min(change.after.len())].matches('\n').count() + 1);
            return Err(RepairError::SyntaxError { path: change.path.clone(), before, after, first_error });
        }
    }
    Ok(())
}
