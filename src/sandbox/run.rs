//! One test run in a scratch copy, and what it found.
//!
//! The command runs with this environment and nothing else inherited
//! (no proxies, no `PYTEST_ADDOPTS`, no `VIRTUAL_ENV`, no credentials):
//! - `PATH` as the server has it; `PYENV_ROOT`/`PYENV_VERSION` if set (pyenv shims need them);
//! - `HOME=<scratch>/home`, `TMPDIR`/`TMP`/`TEMP=<scratch>/tmp` (removed with the copy);
//! - `PYTHONUSERBASE` = the user's real one (`~/.local`), so packages installed with
//!   `pip install --user`, pytest included, are still found under the scratch `HOME`;
//! - `LANG`/`LC_ALL=C.UTF-8` (output we parse is in English), `PYTHONDONTWRITEBYTECODE=1` (no
//!   `.pyc` written anywhere, including a project virtualenv), `PYTHONHASHSEED=0` (the same
//!   set ordering in every run, so baseline and candidate agree), `PYTHONUNBUFFERED=1`,
//!   `PY_COLORS=0`, `NO_COLOR=1`;
//! - `PYTHONPATH=<tree>/src` when the copy has a `src/` directory: an editable install of the
//!   project in its virtualenv points at the *user's* `src/`, which would otherwise shadow the
//!   copy being tested;
//! - then `[test] env` from `.repolens.toml`, which may override any of the above.
//!
//! The working directory is the copy's `tree/`, or for an overlay the workspace's own path.
//! pytest gets `--rootdir=<tree>` (node ids relative to the copy's root), `--junitxml=<file in
//! the scratch dir>` and `-o junit_family=xunit1`, then the selection as node ids.

use std::{
    ffi::OsString,
    path::PathBuf,
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Serialize};

use super::{
    CommandKind, NetworkIsolation, SandboxError, Scratch, TestCommand, TestId,
    process::{CapturedOutput, DEFAULT_OUTPUT_CAP, ProcessSpec, run_owned, terminating_signal},
    report::{FailureCategory, categorize, interrupted_at, parse_junit, parse_summary},
};
use crate::stdx::CancelToken;

/// How a run went as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunOutcome {
    /// Every selected test passed (or was skipped).
    Passed,
    /// Some test failed.
    Failed,
    /// The runner could not run the tests: collection errors, bad usage, an internal error, a
    /// crash.
    Error,
    /// Nothing was collected (pytest's exit code 5): the selection names no tests.
    NoTests,
    /// Stopped at the deadline.
    TimedOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TestOutcome {
    Passed,
    Failed,
    Error,
    Skipped,
}

impl TestOutcome {
    pub fn is_failing(self) -> bool {
        matches!(self, TestOutcome::Failed | TestOutcome::Error)
    }

    pub(crate) fn severity(self) -> u8 {
        match self {
            TestOutcome::Passed => 0,
            TestOutcome::Skipped => 1,
            TestOutcome::Failed => 2,
            TestOutcome::Error => 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    pub id: TestId,
    pub outcome: TestOutcome,
    /// The failure's one-line message (`assert 1 == 2`), trimmed and capped.
    pub message: String,
    /// The end of the traceback, capped (empty when read from the summary lines).
    pub details: String,
    pub duration: Option<Duration>,
}

impl TestCase {
    /// The failure's category; `None` if it did not fail.
    pub fn category(&self) -> Option<FailureCategory> {
        self.outcome.is_failing().then(|| categorize(&format!("{}\n{}", self.message, self.details)))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCounts {
    /// xpassed included.
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    /// xfailed included.
    pub skipped: usize,
}

/// Where a run's per-test results came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultSource {
    /// Every test, from the JUnit XML report.
    JUnit,
    /// Counts and the failing tests only, from pytest's summary lines.
    Summary,
    /// Nothing per test: the exit code only.
    ExitCode,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestRun {
    pub outcome: RunOutcome,
    pub tests: Vec<TestCase>,
    pub counts: TestCounts,
    pub source: ResultSource,
    pub exit_code: Option<i32>,
    /// The signal that ended the command, if one did.
    pub signal: Option<i32>,
    pub duration: Duration,
    pub stdout: CapturedOutput,
    pub stderr: CapturedOutput,
    pub network_isolated: bool,
    /// The command as run (without the isolation prefix).
    pub command: Vec<String>,
    /// Whether the selection was passed to the command (only pytest commands take one).
    pub selection_applied: bool,
    /// For a timed-out pytest run, where the hung test was interrupted (`tests/test_a.py:12`).
    pub interrupted_at: Option<String>,
    /// Files hard-linked to the user's that changed during the run: a test wrote them in
    /// place (which wrote the user's file) or the user edited them meanwhile. Normally empty.
    pub linked_files_modified: Vec<PathBuf>,
}

impl TestRun {
    pub fn failing(&self) -> impl Iterator<Item = &TestCase> {
        self.tests.iter().filter(|t| t.outcome.is_failing())
    }

    /// The run's main failure category, `None` if it passed: a timeout, else the most specific
    /// category among the failing tests (syntax and import errors before collection errors
    /// before assertions), else what the output says.
    pub fn failure_category(&self) -> Option<FailureCategory> {
        match self.outcome {
            RunOutcome::Passed => None,
            RunOutcome::TimedOut => Some(FailureCategory::Timeout),
            _ => self
                .failing()
                .filter_map(TestCase::category)
                .min()
                .or_else(|| Some(categorize(&format!("{}\n{}", self.stdout.text, self.stderr.text)))),
        }
    }
}

/// Knobs shared by scratch copies and runs.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    pub cancel: CancelToken,
    /// Replaces the command's own timeout.
    pub timeout: Option<Duration>,
    /// `None`: [`NetworkIsolation::detect`].
    pub network: Option<NetworkIsolation>,
    /// Bytes kept per output stream.
    pub output_cap: usize,
    /// After the deadline, how long the run has between SIGINT and SIGKILL to write its report.
    pub interrupt_grace: Duration,
    /// Where scratch copies are made (default: the system's temporary directory). It must be
    /// outside the workspace, and on the workspace's filesystem for hard links to work.
    pub scratch_parent: Option<PathBuf>,
    /// Make scratch copies as overlays where the kernel allows (default); `false` always links
    /// and copies.
    pub overlay_fs: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            cancel: CancelToken::new(),
            timeout: None,
            network: None,
            output_cap: DEFAULT_OUTPUT_CAP,
            interrupt_grace: Duration::from_secs(2),
            scratch_parent: None,
            overlay_fs: true,
        }
    }
}

impl SandboxOptions {
    pub fn new() -> SandboxOptions {
        SandboxOptions::default()
    }

    pub(crate) fn network(&self) -> NetworkIsolation {
        self.network.clone().unwrap_or_else(NetworkIsolation::detect)
    }
}

/// Runs `command` in `scratch` on `selection` (everything when empty).
pub fn run_tests(
    scratch: &Scratch,
    command: &TestCommand,
    selection: &[TestId],
    options: &SandboxOptions,
) -> Result<TestRun, SandboxError> {
    if options.cancel.is_cancelled() {
        return Err(SandboxError::Cancelled);
    }
    let report = scratch.next_report_path();
    let pytest = command.kind == CommandKind::Pytest;
    let mut argv: Vec<String> = command.argv.clone();
    if pytest {
        argv.push(format!("--rootdir={}", scratch.tree().display()));
        argv.push(format!("--junitxml={}", report.display()));
        argv.extend(["-o".to_owned(), "junit_family=xunit1".to_owned()]);
        argv.extend(selection.iter().map(|t| t.as_str().to_owned()));
    } else if !selection.is_empty() {
        tracing::debug!("{} takes no test selection: running it whole", command.argv[0]);
    }
    let (mut full, network_isolated) = scratch.run_prefix(&options.network());
    full.extend(argv.iter().map(OsString::from));
    let env = environment(scratch, command);
    let spec = ProcessSpec {
        argv: &full,
        cwd: scratch.tree(),
        env: &env,
        timeout: options.timeout.unwrap_or(command.timeout),
        interrupt_grace: options.interrupt_grace,
        output_cap: options.output_cap,
    };
    let started = SystemTime::now();
    let done = run_owned(&spec, &[&options.cancel])?;
    let linked_files_modified = scratch.linked_files_modified_since(started);
    if !linked_files_modified.is_empty() {
        tracing::error!(
            "a test run wrote files of the workspace in place (or they were edited during the run): {:?}",
            linked_files_modified
        );
    }

    let exit_code = done.status.code();
    let junit =
        if pytest { std::fs::read_to_string(&report).ok().and_then(|xml| parse_junit(&xml)) } else { None };
    if pytest && junit.is_none() && exit_code == Some(1) && !done.timed_out {
        let said = format!("{}\n{}", done.stderr.text, done.stdout.text);
        if said.contains("No module named pytest") {
            return Err(SandboxError::RunnerMissing { runner: "pytest", python: command.program() });
        }
    }
    let outcome = if done.timed_out {
        RunOutcome::TimedOut
    } else {
        match (command.kind, exit_code) {
            (_, Some(0)) => RunOutcome::Passed,
            (CommandKind::Pytest, Some(1)) => RunOutcome::Failed,
            (CommandKind::Pytest, Some(5)) => RunOutcome::NoTests,
            (CommandKind::Pytest, _) => RunOutcome::Error,
            (CommandKind::Custom, Some(_)) => RunOutcome::Failed,
            (CommandKind::Custom, None) => RunOutcome::Error,
        }
    };
    let (tests, counts, source) = match junit {
        Some(tests) => {
            let mut counts = TestCounts::default();
            for t in &tests {
                match t.outcome {
                    TestOutcome::Passed => counts.passed += 1,
                    TestOutcome::Failed => counts.failed += 1,
                    TestOutcome::Error => counts.errors += 1,
                    TestOutcome::Skipped => counts.skipped += 1,
                }
            }
            (tests, counts, ResultSource::JUnit)
        }
        None => match parse_summary(&done.stdout.text).filter(|_| pytest) {
            Some(summary) => (summary.failing, summary.counts, ResultSource::Summary),
            None => (Vec::new(), TestCounts::default(), ResultSource::ExitCode),
        },
    };
    let _ = std::fs::remove_file(&report);
    let interrupted_at = if done.timed_out && pytest {
        // pytest names the file by its absolute path in the copy: make it relative.
        let prefix = format!("{}/", scratch.tree().display());
        interrupted_at(&done.stdout.text).map(|at| at.strip_prefix(&prefix).unwrap_or(&at).to_owned())
    } else {
        None
    };
    Ok(TestRun {
        outcome,
        tests,
        counts,
        source,
        exit_code,
        signal: terminating_signal(&done.status),
        duration: done.duration,
        stdout: done.stdout,
        stderr: done.stderr,
        network_isolated,
        command: argv,
        selection_applied: pytest || selection.is_empty(),
        interrupted_at,
        linked_files_modified,
    })
}

/// The run's whole environment (see the module doc).
fn environment(scratch: &Scratch, command: &TestCommand) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    let mut set = |k: &str, v: OsString| env.push((k.into(), v));
    set("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()));
    for key in ["PYENV_ROOT", "PYENV_VERSION"] {
        if let Some(v) = std::env::var_os(key) {
            set(key, v);
        }
    }
    let home = scratch.dir().join("home");
    let tmp = scratch.dir().join("tmp");
    set("HOME", home.into_os_string());
    for key in ["TMPDIR", "TMP", "TEMP"] {
        set(key, tmp.clone().into_os_string());
    }
    let user_base = std::env::var_os("PYTHONUSERBASE")
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").into_os_string()));
    if let Some(base) = user_base {
        set("PYTHONUSERBASE", base);
    }
    for (key, value) in [
        ("LANG", "C.UTF-8"),
        ("LC_ALL", "C.UTF-8"),
        ("PYTHONDONTWRITEBYTECODE", "1"),
        ("PYTHONHASHSEED", "0"),
        ("PYTHONUNBUFFERED", "1"),
        ("PY_COLORS", "0"),
        ("NO_COLOR", "1"),
    ] {
        set(key, value.into());
    }
    if scratch.has_dir("src") {
        set("PYTHONPATH", scratch.tree().join("src").into_os_string());
    }
    for (key, value) in &command.env {
        env.retain(|(k, _)| k != key.as_str());
        env.push((key.into(), value.into()));
    }
    env
}
