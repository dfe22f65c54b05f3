//! The sandbox: the only module that runs the project's own processes (its tests).
//!
//! A candidate patch is tested in a [`Scratch`] copy of the workspace. Where the kernel allows,
//! that is an overlay filesystem mounted on the workspace's own path in namespaces only the run
//! sees: nothing is copied, the overlays (unsaved editor buffers, a candidate's edits) are its
//! upper layer, and the user's files cannot be written (`overlay.rs`). Elsewhere it is a copy:
//! unchanged files are hard links into the user's tree (copies where links are impossible, and
//! for ignored files, which are the ones tests tend to write), directories are real, and every
//! overlay is written as a new file that replaces the link (`scratch.rs`; which files are copied
//! is decided by `workspace::list_tree`).
//!
//! [`run_tests`] runs a [`TestCommand`] (detected, or from `.repolens.toml`'s `[test]`) in a
//! scratch copy: in its own process group, with a clean environment (see `run.rs`), stdin
//! closed, stdout and stderr captured up to a cap (head and tail kept), a deadline, and no
//! network where `unshare` can make a network namespace ([`NetworkIsolation`]). The whole
//! process group is killed when the run ends, times out, is cancelled, or its handle is dropped;
//! nothing it started outlives it. Results come from pytest's JUnit XML when there is one, else
//! from pytest's summary lines, else from the exit code ([`TestRun`]), and failures are sorted
//! into categories for the repair loop's reflection step ([`FailureCategory`]).
//!
//! A [`Baseline`] is the same run on the unpatched copy, cached by the content of everything
//! that shapes it, so that [`compare`] can tell a candidate's regressions from failures that
//! were already there. [`run_candidates`] tests several candidates at once, each in its own
//! scratch copy, cancellable as a group.
//!
//! Unix only (process groups, signals); network isolation is Linux only.

mod baseline;
mod command;
mod overlay;
mod parallel;
mod process;
mod report;
mod run;
mod scratch;

use std::path::PathBuf;

pub use baseline::{Baseline, BaselineCache, Regressions, compare};
pub use command::{CommandKind, TestCommand, TestId};
pub use parallel::{CandidateResult, CandidateRuns, run_candidates};
pub use process::{CapturedOutput, NetworkIsolation};
pub use report::{FailureCategory, categorize};
pub use run::{
    ResultSource, RunOutcome, SandboxOptions, TestCase, TestCounts, TestOutcome, TestRun, run_tests,
};
pub use scratch::{Overlay, Scratch, ScratchStats};

/// Errors at the sandbox seam. A test run that fails or times out is not an error: it is a
/// [`TestRun`] saying so. Errors mean there is no result to look at.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("the sandbox run was cancelled")]
    Cancelled,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A path (an overlay, a test selection) that would leave the workspace: absolute outside
    /// it, climbing out with `..`, or through a symlink pointing outside.
    #[error("{} is outside the workspace", path.display())]
    EscapesWorkspace { path: PathBuf },
    /// A directory the sandbox writes to (scratch copies, the baseline cache) lies inside the
    /// workspace, where it would be copied into every scratch copy and change the user's tree.
    #[error("the {what} directory {} is inside the workspace {}", path.display(), root.display())]
    InsideWorkspace { what: &'static str, path: PathBuf, root: PathBuf },
    #[error("no test command for {}: no pytest configuration or tests found, and no [test] command in .repolens.toml", root.display())]
    NoTestCommand { root: PathBuf },
    #[error("invalid test command: {reason}")]
    InvalidCommand { reason: String },
    #[error("invalid test selection {selector:?}: {reason}")]
    InvalidSelection { selector: String, reason: &'static str },
    #[error("cannot start {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The interpreter ran but the test runner is not installed for it.
    #[error("{runner} is not installed for {}", python.display())]
    RunnerMissing { runner: &'static str, python: PathBuf },
}

impl SandboxError {
    fn io(context: impl Into<String>, source: std::io::Error) -> SandboxError {
        SandboxError::Io { context: context.into(), source }
    }
}
