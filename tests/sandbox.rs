//! The sandbox on fixture projects, with real processes and real pytest: passing, failing,
//! hanging and network-using tests, overlays that change behaviour or try to escape, cancelled
//! runs, capped output, JUnit and summary-line results, baselines and regressions, parallel
//! candidates. After every run, the user's tree is checked byte for byte.
//!
//! Needs `python3` with pytest on `PATH` (`.ci/run` installs it).

mod support;

use std::{
    collections::BTreeMap,
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use repolens::{
    sandbox::{
        Baseline, BaselineCache, CommandKind, FailureCategory, NetworkIsolation, Overlay, ResultSource,
        RunOutcome, SandboxError, SandboxOptions, Scratch, TestCommand, TestId, TestOutcome, TestRun,
        compare, run_candidates, run_tests,
    },
    stdx::CancelToken,
    workspace::RepolensToml,
};
use support::{Fixture, write_fixture};

/// Every file, directory and symlink under `root` with its content (or target) and mode.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    use sha2::Digest as _;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let content = if meta.file_type().is_symlink() {
                std::fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes()
            } else if meta.is_dir() {
                stack.push(path.clone());
                Vec::new()
            } else {
                sha2::Sha256::digest(std::fs::read(&path).unwrap()).to_vec()
            };
            out.insert(rel, (content, meta.mode()));
        }
    }
    out
}

/// A fixture whose tree is checked to be unchanged when the guard drops.
struct Project {
    fixture: Fixture,
    before: BTreeMap<PathBuf, (Vec<u8>, u32)>,
}

impl Project {
    fn new(text: &str) -> Project {
        let fixture = write_fixture(text);
        let before = snapshot(fixture.root());
        Project { fixture, before }
    }

    fn root(&self) -> &Path {
        self.fixture.root()
    }

    #[track_caller]
    fn assert_untouched(&self) {
        assert_eq!(snapshot(self.root()), self.before, "the user's tree changed");
    }

    fn pytest(&self) -> TestCommand {
        TestCommand::detect(self.root(), None).unwrap().with_timeout(Duration::from_secs(60))
    }

    /// Copies the tree, runs pytest on `selection`, and checks the user's tree.
    #[track_caller]
    fn run(&self, overlays: &[Overlay], selection: &[&str]) -> TestRun {
        self.run_with(&self.pytest(), overlays, selection, &options())
    }

    #[track_caller]
    fn run_with(
        &self,
        command: &TestCommand,
        overlays: &[Overlay],
        selection: &[&str],
        options: &SandboxOptions,
    ) -> TestRun {
        let scratch = Scratch::create_with(self.root(), overlays, options).unwrap();
        let selection: Vec<TestId> = selection.iter().map(|s| TestId::new(*s).unwrap()).collect();
        let run = run_tests(&scratch, command, &selection, options).unwrap();
        drop(scratch);
        self.assert_untouched();
        run
    }
}

fn options() -> SandboxOptions {
    SandboxOptions::new()
}

/// Links and copies, whatever the kernel allows; network isolation as detected.
fn copy_options() -> SandboxOptions {
    SandboxOptions { overlay_fs: false, ..options() }
}

/// Whether this machine makes overlay scratch copies.
fn overlays_work() -> bool {
    let dir = tempfile::tempdir().unwrap();
    Scratch::create(dir.path(), &[]).unwrap().is_overlay()
}

/// The scratch layouts this machine has: overlay (where the kernel allows it) and copy.
fn layouts() -> Vec<(&'static str, SandboxOptions)> {
    let mut out = vec![("copy", copy_options())];
    if overlays_work() {
        out.insert(0, ("overlay", options()));
    }
    out
}

/// Every way a run can be set up here: the layouts, and a copy with no isolation at all, where
/// the process group alone must contain the run.
fn setups() -> Vec<(&'static str, SandboxOptions)> {
    let mut out = layouts();
    let none = Some(NetworkIsolation::unavailable("forced by the test"));
    out.push(("copy without isolation", SandboxOptions { network: none, ..copy_options() }));
    out
}

/// Whether runs with these options get a PID namespace (everything dies with the test runner).
fn has_pid_namespace(name: &str, options: &SandboxOptions) -> bool {
    name == "overlay" || options.network.clone().unwrap_or_else(NetworkIsolation::detect).isolates_pids()
}

fn outcomes(run: &TestRun) -> Vec<(&str, TestOutcome)> {
    run.tests.iter().map(|t| (t.id.as_str(), t.outcome)).collect()
}

/// Live (not zombie) processes whose command line contains `marker`.
fn live_processes(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if !String::from_utf8_lossy(&cmdline).contains(marker) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().and_then(|s| s.split_whitespace().next()).unwrap_or("");
        if state != "Z" && state != "X" {
            out.push(pid);
        }
    }
    out
}

/// Waits up to two seconds for every process carrying `marker` to be gone; returns survivors.
fn survivors(marker: &str) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let live = live_processes(marker);
        if live.is_empty() || Instant::now() > deadline {
            return live;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `sleep` duration no other process on the machine uses, to find the sleeper later.
fn unique_sleep() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}.{:05}{:04}", 900 + n, std::process::id() % 100_000, n)
}

const CALC: &str = r#"
//- /calc.py
def add(a, b):
    return a - b
//- /tests/test_calc.py
import pytest
from calc import add

def test_add():
    assert add(2, 3) == 5

def test_zero():
    assert add(0, 0) == 0

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

class TestMore:
    def test_negative(self):
        assert add(-1, -1) == -2
"#;

#[test]
fn passing_failing_and_skipped_tests_are_reported_one_by_one() {
    let p = Project::new(CALC);
    for (layout, options) in layouts() {
        let run = p.run_with(&p.pytest(), &[], &[], &options);
        assert_eq!(run.outcome, RunOutcome::Failed, "{layout}");
        assert_eq!(run.source, ResultSource::JUnit);
        assert_eq!(
            outcomes(&run),
            [
                ("tests/test_calc.py::test_add", TestOutcome::Failed),
                ("tests/test_calc.py::test_zero", TestOutcome::Passed),
                ("tests/test_calc.py::test_skipped", TestOutcome::Skipped),
                ("tests/test_calc.py::TestMore::test_negative", TestOutcome::Failed),
            ],
            "{layout}"
        );
        let add = &run.tests[0];
        assert!(add.message.contains("assert -1 == 5"), "{}", add.message);
        assert!(add.details.contains("def test_add"), "{}", add.details);
        assert_eq!(add.category(), Some(FailureCategory::AssertionFailure));
        assert_eq!(run.failure_category(), Some(FailureCategory::AssertionFailure));
        assert_eq!((run.counts.passed, run.counts.failed, run.counts.skipped), (1, 2, 1));
        assert_eq!(run.exit_code, Some(1));
        assert!(run.linked_files_modified.is_empty());
    }
}

#[test]
fn a_selection_runs_only_the_named_tests() {
    let p = Project::new(CALC);
    let run = p.run(&[], &["tests/test_calc.py::test_zero"]);
    assert_eq!(run.outcome, RunOutcome::Passed);
    assert_eq!(outcomes(&run), [("tests/test_calc.py::test_zero", TestOutcome::Passed)]);
    assert!(run.selection_applied);

    let run = p.run(&[], &["tests/test_calc.py::TestMore"]);
    assert_eq!(outcomes(&run), [("tests/test_calc.py::TestMore::test_negative", TestOutcome::Failed)]);

    // A file without tests collects nothing: that is not a pass.
    let run = p.run(&[], &["calc.py"]);
    assert_eq!(run.outcome, RunOutcome::NoTests);
}

#[test]
fn an_overlay_changes_what_is_tested_and_never_the_users_file() {
    let p = Project::new(CALC);
    let fixed = Overlay::new("calc.py", "def add(a, b):\n    return a + b\n");
    for (layout, options) in layouts() {
        let run = p.run_with(&p.pytest(), std::slice::from_ref(&fixed), &[], &options);
        assert_eq!(run.outcome, RunOutcome::Passed, "{layout}: {}", run.stdout.text);
        assert_eq!(run.counts.passed, 3);

        let scratch = Scratch::create_with(p.root(), std::slice::from_ref(&fixed), &options).unwrap();
        let stats = scratch.stats();
        assert_eq!(stats.overlays, 1);
        let inode = |path: &Path| std::fs::metadata(path).unwrap().ino();
        if layout == "overlay" {
            // Nothing copied: the overlay waits in the upper layer; runs happen on the
            // workspace's own path.
            assert!(scratch.is_overlay() && stats.overlay);
            assert_eq!(scratch.tree(), p.root().canonicalize().unwrap());
            let upper = scratch.dir().join("upper/calc.py");
            assert_eq!(std::fs::read_to_string(upper).unwrap(), fixed.text);
            assert_eq!((stats.linked, stats.copied, stats.dirs), (0, 0, 0));
        } else {
            // In the copy, the overlay is a file of its own; unchanged files share the user's
            // inode.
            assert!(!scratch.is_overlay());
            assert_ne!(inode(&scratch.tree().join("calc.py")), inode(&p.root().join("calc.py")));
            let test_file = "tests/test_calc.py";
            assert_eq!(inode(&scratch.tree().join(test_file)), inode(&p.root().join(test_file)));
            assert_eq!(std::fs::read_to_string(scratch.tree().join("calc.py")).unwrap(), fixed.text);
            assert_eq!(stats.linked, 1);
        }
        let dir = scratch.dir().to_path_buf();
        drop(scratch);
        assert!(!dir.exists(), "the scratch copy is removed on drop");
        p.assert_untouched();

        // Overlays may create files and directories, and be given as absolute paths.
        let new_test = Overlay::new(
            p.root().join("tests/new/test_new.py"),
            "from calc import add\n\ndef test_new():\n    assert add(1, 1) == 0\n",
        );
        let run = p.run_with(&p.pytest(), &[new_test], &["tests/new"], &options);
        assert_eq!(outcomes(&run), [("tests/new/test_new.py::test_new", TestOutcome::Passed)], "{layout}");
    }
}

#[test]
fn overlays_that_leave_the_workspace_are_rejected() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("keep.txt"), "outside").unwrap();
    let p = Project::new(CALC);
    std::os::unix::fs::symlink(outside.path(), p.root().join("linked_out")).unwrap();
    std::os::unix::fs::symlink("tests", p.root().join("linked_in")).unwrap();
    let p = Project { before: snapshot(p.root()), fixture: p.fixture };

    for (layout, options) in layouts() {
        for path in [
            PathBuf::from("../evil.py"),
            PathBuf::from("tests/../../evil.py"),
            outside.path().join("evil.py"),
            PathBuf::from("/etc/evil.py"),
            PathBuf::from("linked_out/evil.py"),
            PathBuf::from("linked_out/keep.txt"),
        ] {
            let err =
                Scratch::create_with(p.root(), &[Overlay::new(&path, "x = 1\n")], &options).unwrap_err();
            assert!(
                matches!(err, SandboxError::EscapesWorkspace { .. }),
                "{layout}, {}: {err}",
                path.display()
            );
        }
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
        assert_eq!(std::fs::read_to_string(outside.path().join("keep.txt")).unwrap(), "outside");

        // A symlink that stays inside is followed, also to a file that exists (and, in a copy,
        // is linked to the user's).
        let run = p.run_with(
            &p.pytest(),
            &[
                Overlay::new("linked_in/test_via_link.py", "def test_ok():\n    pass\n"),
                Overlay::new("linked_in/test_calc.py", "def test_replaced():\n    pass\n"),
            ],
            &["tests/test_via_link.py", "tests/test_calc.py"],
            &options,
        );
        assert_eq!(
            outcomes(&run),
            [
                ("tests/test_via_link.py::test_ok", TestOutcome::Passed),
                ("tests/test_calc.py::test_replaced", TestOutcome::Passed)
            ],
            "{layout}"
        );
        p.assert_untouched();
    }
}

#[test]
fn the_copy_holds_what_tests_need_and_leaves_out_caches_and_environments() {
    let p = Project::new(
        r#"
//- /.gitignore
build/
*.db
_version.py
//- /pkg/__init__.py
from ._version import VERSION
//- /pkg/_version.py
VERSION = "1.0"
//- /pkg/data/table.csv
a,b
//- /local.db
not really a database
//- /build/lib/pkg.py
stale = True
//- /.venv/pyvenv.cfg
home = /usr/bin
//- /.venv/lib/site.py
x = 1
//- /env2/pyvenv.cfg
home = /usr/bin
//- /node_modules/x/index.js
1
//- /.git/HEAD
ref: refs/heads/main
//- /conftest.py
VALUE = 1
//- /tests/test_pkg.py
import pkg

def test_version():
    assert pkg.VERSION == "1.0"
"#,
    );
    let scratch = Scratch::create_with(p.root(), &[], &copy_options()).unwrap();
    let has = |rel: &str| scratch.tree().join(rel).exists();
    for rel in [
        "pkg/_version.py",
        "pkg/data/table.csv",
        "local.db",
        "conftest.py",
        ".gitignore",
        "tests/test_pkg.py",
    ] {
        assert!(has(rel), "{rel} is missing from the copy");
    }
    for rel in ["build", ".venv", "env2", "node_modules", ".git"] {
        assert!(!has(rel), "{rel} should not be copied");
    }
    // Ignored files are copies (tests may write them); the rest are links.
    let inode = |path: &Path| std::fs::metadata(path).unwrap().ino();
    assert_ne!(inode(&scratch.tree().join("local.db")), inode(&p.root().join("local.db")));
    assert_ne!(inode(&scratch.tree().join("pkg/_version.py")), inode(&p.root().join("pkg/_version.py")));
    assert_eq!(inode(&scratch.tree().join("pkg/__init__.py")), inode(&p.root().join("pkg/__init__.py")));
    assert_eq!(scratch.stats().copied, 2);
    drop(scratch);

    for (layout, options) in layouts() {
        let run = p.run_with(&p.pytest(), &[], &[], &options);
        assert_eq!(run.outcome, RunOutcome::Passed, "{layout}: {}", run.stdout.text);
    }
}

#[test]
fn a_scratch_directory_inside_the_workspace_is_refused() {
    let p = Project::new(CALC);
    let options = SandboxOptions { scratch_parent: Some(p.root().join("tmp")), ..options() };
    let err = Scratch::create_with(p.root(), &[], &options).unwrap_err();
    assert!(matches!(err, SandboxError::InsideWorkspace { what: "scratch", .. }), "{err}");
}

/// With the detected isolation, and without any (the process group alone must then do it).
#[test]
fn a_hanging_test_is_stopped_at_the_deadline_with_everything_it_started() {
    for (variant, options) in setups() {
        let in_group = unique_sleep();
        let deaf = unique_sleep();
        let escaped = unique_sleep();
        // `deaf` ignores SIGINT, so only the group kill after the deadline can stop it.
        let p = Project::new(&format!(
            r#"
//- /tests/test_hang.py
import subprocess, time

def test_first():
    pass

def test_hang():
    subprocess.Popen(["sleep", "{in_group}"])
    subprocess.Popen(["sh", "-c", "trap '' INT; sleep {deaf}"])
    subprocess.Popen(["sleep", "{escaped}"], start_new_session=True)
    time.sleep(1000)
"#
        ));
        // Long enough for pytest to start and run test_first on a loaded machine.
        let command = p.pytest().with_timeout(Duration::from_secs(8));
        let run = p.run_with(&command, &[], &[], &options);
        assert_eq!(run.outcome, RunOutcome::TimedOut, "{variant}");
        assert_eq!(run.failure_category(), Some(FailureCategory::Timeout));
        // SIGINT first: pytest reported what finished and where it hung.
        assert_eq!(outcomes(&run), [("tests/test_hang.py::test_first", TestOutcome::Passed)], "{variant}");
        assert_eq!(run.interrupted_at.as_deref(), Some("tests/test_hang.py:10"), "{}", run.stdout.text);
        assert!(survivors(&in_group).is_empty(), "{variant}: a process of the run's group survived");
        assert!(survivors(&deaf).is_empty(), "{variant}: a process ignoring SIGINT survived");
        let escaped_survivors = survivors(&escaped);
        if has_pid_namespace(variant, &options) {
            assert!(escaped_survivors.is_empty(), "{variant}: a process that left the group survived");
        } else {
            // FIXME: without a PID namespace, a process that calls setsid() escapes the group
            // kill. Documented in the README; assert it so a change is noticed, then clean up.
            assert_eq!(escaped_survivors.len(), 1, "{variant}");
            for pid in escaped_survivors {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }
}

#[test]
fn a_cancelled_run_stops_at_once_and_leaves_no_process() {
    for (variant, options) in setups() {
        let marker = unique_sleep();
        let p = Project::new(&format!(
            "//- /tests/test_slow.py\nimport subprocess\n\ndef test_slow():\n    subprocess.run([\"sleep\", \"{marker}\"])\n"
        ));
        let scratch = Scratch::create_with(p.root(), &[], &options).unwrap();
        let cancel = options.cancel.clone();
        let canceller = std::thread::spawn(move || {
            // Cancel once the test is running.
            let deadline = Instant::now() + Duration::from_secs(20);
            while live_processes(&marker).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            cancel.cancel();
            marker
        });
        let res = run_tests(&scratch, &p.pytest(), &[], &options);
        let marker = canceller.join().unwrap();
        // The run returned at the cancel rather than after `sleep` finished: it says Cancelled
        // and nothing of it is left.
        assert!(matches!(res, Err(SandboxError::Cancelled)), "{variant}: {res:?}");
        assert!(survivors(&marker).is_empty(), "{variant}");
        drop(scratch);
        p.assert_untouched();

        // A token cancelled beforehand stops the next run before it starts.
        let scratch = Scratch::create_with(
            p.root(),
            &[],
            &SandboxOptions { overlay_fs: options.overlay_fs, ..SandboxOptions::new() },
        )
        .unwrap();
        let err = run_tests(&scratch, &p.pytest(), &[], &options).unwrap_err();
        assert!(matches!(err, SandboxError::Cancelled), "{err}");
        if !options.overlay_fs {
            // And a copy.
            let err = Scratch::create_with(p.root(), &[], &options).unwrap_err();
            assert!(matches!(err, SandboxError::Cancelled), "{err}");
        }
    }
}

#[test]
fn network_access_fails_where_isolation_works_and_results_say_whether_it_did() {
    let p = Project::new(
        r#"
//- /tests/test_net.py
import socket

def test_connect():
    socket.create_connection(("1.1.1.1", 80), timeout=3).close()
"#,
    );
    let isolation = NetworkIsolation::detect();
    for (layout, options) in layouts() {
        let run = p.run_with(&p.pytest(), &[], &[], &options);
        assert_eq!(run.network_isolated, isolation.is_available(), "{layout}");
        match &isolation {
            NetworkIsolation::Unshare { .. } => {
                assert_eq!(run.outcome, RunOutcome::Failed, "{layout}: the connection went through");
                let message = &run.tests[0].message;
                assert!(
                    message.contains("Network is unreachable") || message.contains("OSError"),
                    "{message}"
                );
            }
            NetworkIsolation::Unavailable { reason } => {
                // The documented fallback: the run happens, with the network, and says so.
                assert!(!reason.is_empty());
                assert!(matches!(run.outcome, RunOutcome::Passed | RunOutcome::Failed));
            }
        }

        // Forcing the fallback works on every machine: the run happens and reports no isolation.
        let without = SandboxOptions { network: Some(NetworkIsolation::unavailable("test")), ..options };
        let run = p.run_with(&p.pytest(), &[], &[], &without);
        assert!(!run.network_isolated, "{layout}");
        assert!(matches!(run.outcome, RunOutcome::Passed | RunOutcome::Failed), "{:?}", run.outcome);
    }
}

#[test]
fn runs_get_a_clean_documented_environment() {
    // The real interpreter, not a wrapper script (pyenv's shim adds variables of its own).
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let python = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let p = Project::new(&format!(
        r#"
//- /.repolens.toml
[test]
command = ["{python}", "show_env.py"]
timeout_secs = 30
env = {{ APP_MODE = "testing", PYTHONHASHSEED = "1" }}
//- /show_env.py
import os, sys
for key in sorted(os.environ):
    print(key + "=" + os.environ[key])
sys.exit(0 if os.environ.get("APP_MODE") == "testing" else 3)
//- /src/pkg/__init__.py
"#
    ));
    let settings = RepolensToml::load(p.root()).unwrap();
    let command = TestCommand::detect(p.root(), settings.test.as_ref()).unwrap();
    assert_eq!(command.kind, CommandKind::Custom);
    assert_eq!(command.timeout, Duration::from_secs(30));
    let scratch = Scratch::create(p.root(), &[]).unwrap();
    let run = run_tests(&scratch, &command, &[TestId::new("tests").unwrap()], &options()).unwrap();
    assert_eq!(run.outcome, RunOutcome::Passed, "{}", run.stderr.text);
    assert!(!run.selection_applied);
    assert_eq!(run.source, ResultSource::ExitCode);
    let env: BTreeMap<&str, &str> = run.stdout.text.lines().filter_map(|l| l.split_once('=')).collect();
    let mut expected = vec![
        "APP_MODE",
        "HOME",
        "LANG",
        "LC_ALL",
        "NO_COLOR",
        "PATH",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "PYTHONPATH",
        "PYTHONUNBUFFERED",
        "PY_COLORS",
        "TEMP",
        "TMP",
        "TMPDIR",
    ];
    for optional in ["PYENV_ROOT", "PYENV_VERSION", "PYTHONUSERBASE"] {
        if env.contains_key(optional) {
            expected.push(optional);
        }
    }
    expected.sort();
    assert_eq!(env.keys().copied().collect::<Vec<_>>(), expected);
    assert_eq!(env["PYTHONHASHSEED"], "1", "configured env overrides the defaults");
    assert_eq!(env["PYTHONDONTWRITEBYTECODE"], "1");
    assert!(Path::new(env["HOME"]).starts_with(scratch.dir()), "HOME is in the scratch dir");
    assert!(Path::new(env["TMPDIR"]).starts_with(scratch.dir()));
    assert_eq!(Path::new(env["PYTHONPATH"]), scratch.tree().join("src"));
    drop(scratch);
    p.assert_untouched();
}

#[test]
fn output_is_capped_keeping_head_and_tail() {
    let p = Project::new("//- /tests/test_x.py\n");
    let command = TestCommand::custom(vec![
        "python3".into(),
        "-c".into(),
        "import sys; sys.stdout.write('HEAD' + 'x' * 3000000 + 'TAIL'); sys.exit(1)".into(),
    ])
    .unwrap();
    let options = SandboxOptions { output_cap: 64 * 1024, ..options() };
    let run = p.run_with(&command, &[], &[], &options);
    assert_eq!(run.outcome, RunOutcome::Failed);
    assert_eq!(run.exit_code, Some(1));
    assert_eq!(run.stdout.total_bytes, 3_000_008);
    assert_eq!(run.stdout.omitted_bytes, 3_000_008 - 64 * 1024);
    assert!(run.stdout.text.starts_with("HEADxxx"));
    assert!(run.stdout.text.ends_with("xxxTAIL"));
    assert!(run.stdout.text.contains("bytes omitted"));
    assert!(run.stdout.text.len() < 64 * 1024 + 100);
}

#[test]
fn without_a_junit_report_the_summary_lines_are_read() {
    // A plugin that turns the report off, as some projects' conftest files do.
    let p = Project::new(
        r#"
//- /conftest.py
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.option.xmlpath = None
//- /tests/test_s.py
def test_ok():
    pass

def test_bad():
    assert 2 + 2 == 5
"#,
    );
    let run = p.run(&[], &[]);
    assert_eq!(run.source, ResultSource::Summary, "{}", run.stdout.text);
    assert_eq!(run.outcome, RunOutcome::Failed);
    assert_eq!((run.counts.passed, run.counts.failed), (1, 1));
    assert_eq!(outcomes(&run), [("tests/test_s.py::test_bad", TestOutcome::Failed)]);
    assert!(run.tests[0].message.contains("assert (2 + 2) == 5"), "{}", run.tests[0].message);
}

#[test]
fn broken_code_is_categorized() {
    let p = Project::new(CALC);
    let syntax = p.run(&[Overlay::new("calc.py", "def add(a, b)\n    return a + b\n")], &[]);
    assert_eq!(syntax.outcome, RunOutcome::Error);
    assert_eq!(outcomes(&syntax), [("tests/test_calc.py", TestOutcome::Error)]);
    assert_eq!(syntax.failure_category(), Some(FailureCategory::SyntaxError));

    let import = p.run(&[Overlay::new("calc.py", "import not_a_module\n")], &[]);
    assert_eq!(import.failure_category(), Some(FailureCategory::ImportError));
}

#[test]
fn a_python_without_pytest_is_a_clear_error() {
    let p = Project::new(CALC);
    // `-S` skips site-packages, where pytest lives.
    let command =
        TestCommand::custom(vec!["python3".into(), "-S".into(), "-m".into(), "pytest".into()]).unwrap();
    assert_eq!(command.kind, CommandKind::Pytest);
    let scratch = Scratch::create(p.root(), &[]).unwrap();
    let err = run_tests(&scratch, &command, &[], &options()).unwrap_err();
    assert!(matches!(err, SandboxError::RunnerMissing { runner: "pytest", .. }), "{err}");
}

#[test]
fn commands_are_detected_from_the_project() {
    let p = Project::new("//- /tests/test_a.py\n//- /.venv/bin/python\n#!/bin/sh\n");
    let command = TestCommand::detect(p.root(), None).unwrap();
    assert_eq!(command.kind, CommandKind::Pytest);
    assert_eq!(
        command.argv,
        [p.root().join(".venv/bin/python").display().to_string(), "-m".into(), "pytest".into()]
    );

    let p = Project::new("//- /pyproject.toml\n[tool.pytest.ini_options]\n//- /pkg/mod.py\n");
    assert_eq!(TestCommand::detect(p.root(), None).unwrap().argv[1..], ["-m", "pytest"]);

    let p = Project::new("//- /pkg/mod.py\nx = 1\n");
    let err = TestCommand::detect(p.root(), None).unwrap_err();
    assert!(matches!(err, SandboxError::NoTestCommand { .. }), "{err}");
}

#[test]
fn baselines_are_cached_by_content_and_separate_old_failures_from_regressions() {
    let p = Project::new(
        r#"
//- /calc.py
def add(a, b):
    return a + b

def sub(a, b):
    return a + b
//- /tests/test_add.py
from calc import add

def test_add():
    assert add(2, 3) == 5
//- /tests/test_sub.py
from calc import sub

def test_sub():
    assert sub(3, 2) == 1
"#,
    );
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = BaselineCache::new(cache_dir.path(), p.root()).unwrap();
    let command = p.pytest();
    let opts = options();
    let first = Baseline::run(p.root(), &[], &command, &[], &opts, Some(&cache)).unwrap();
    assert!(!first.cached);
    assert_eq!(
        outcomes(&first.run),
        [
            ("tests/test_add.py::test_add", TestOutcome::Passed),
            ("tests/test_sub.py::test_sub", TestOutcome::Failed)
        ]
    );
    let again = Baseline::run(p.root(), &[], &command, &[], &opts, Some(&cache)).unwrap();
    assert!(again.cached);
    assert_eq!((again.key.as_str(), &again.run), (first.key.as_str(), &first.run));
    p.assert_untouched();

    // An unsaved buffer, another selection, another command: another baseline.
    let buffer = Overlay::new(
        "tests/test_add.py",
        "from calc import add\n\ndef test_add():\n    assert add(1, 1) == 2\n",
    );
    let edited = Baseline::run(p.root(), &[buffer], &command, &[], &opts, Some(&cache)).unwrap();
    assert!(!edited.cached);
    assert_ne!(edited.key, first.key);
    let buffer = Overlay::new(
        "tests/test_add.py",
        "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    );
    let edited_again = Baseline::run(p.root(), &[buffer], &command, &[], &opts, Some(&cache)).unwrap();
    assert!(!edited_again.cached);
    assert_ne!(edited_again.key, edited.key);
    let selected = [TestId::new("tests/test_add.py").unwrap()];
    let narrow = Baseline::run(p.root(), &[], &command, &selected, &opts, Some(&cache)).unwrap();
    assert!(!narrow.cached);
    // A file changed on disk: another baseline.
    std::fs::write(p.root().join("tests/test_extra.py"), "def test_extra():\n    pass\n").unwrap();
    let changed = Baseline::run(p.root(), &[], &command, &[], &opts, Some(&cache)).unwrap();
    assert!(!changed.cached);
    std::fs::remove_file(p.root().join("tests/test_extra.py")).unwrap();
    assert!(Baseline::run(p.root(), &[], &command, &[], &opts, Some(&cache)).unwrap().cached);

    // A candidate that fixes `sub` and breaks `add`.
    let swap =
        Overlay::new("calc.py", "def add(a, b):\n    return a - b\n\ndef sub(a, b):\n    return a - b\n");
    let candidate = p.run(&[swap], &[]);
    let diff = compare(&first.run, &candidate);
    assert_eq!(diff.newly_failing, [TestId::new("tests/test_add.py::test_add").unwrap()]);
    assert_eq!(diff.fixed, [TestId::new("tests/test_sub.py::test_sub").unwrap()]);
    assert!(diff.still_failing.is_empty() && diff.missing.is_empty() && !diff.run_regressed);
    assert!(!diff.is_clean());

    // A candidate that fixes `sub` only is clean.
    let fix =
        Overlay::new("calc.py", "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n");
    let diff = compare(&first.run, &p.run(&[fix], &[]));
    assert!(diff.is_clean(), "{diff:?}");
    assert_eq!(diff.fixed.len(), 1);

    // A candidate that breaks a module's import: its collection fails and its tests go
    // missing. pytest then runs nothing at all, so `test_sub` is neither fixed nor still failing.
    let broken =
        Overlay::new("tests/test_add.py", "from calc import add, nothing\n\ndef test_add():\n    pass\n");
    let diff = compare(&first.run, &p.run(&[broken], &[]));
    assert_eq!(diff.newly_failing, [TestId::new("tests/test_add.py").unwrap()]);
    assert_eq!(diff.missing, [TestId::new("tests/test_add.py::test_add").unwrap()]);
    assert!(diff.still_failing.is_empty() && diff.fixed.is_empty(), "{diff:?}");
    assert!(diff.run_regressed);

    // The cache may not live in the workspace.
    let err = BaselineCache::new(&p.root().join(".cache"), p.root()).unwrap_err();
    assert!(matches!(err, SandboxError::InsideWorkspace { .. }), "{err}");
}

#[test]
fn candidates_run_in_parallel_each_in_its_own_copy() {
    let p = Project::new(CALC);
    let candidates = vec![
        vec![Overlay::new("calc.py", "def add(a, b):\n    return a + b\n")],
        vec![],
        vec![Overlay::new("calc.py", "def add(a, b)\n")],
        vec![Overlay::new("../escape.py", "")],
    ];
    let runs = run_candidates(p.root(), candidates, &p.pytest(), &[], &options(), Some(2)).unwrap();
    let results = runs.wait();
    assert_eq!(results.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1, 2, 3]);
    let outcome = |i: usize| results[i].result.as_ref().map(|r| r.outcome).map_err(|e| e.to_string());
    assert_eq!(outcome(0), Ok(RunOutcome::Passed));
    assert_eq!(outcome(1), Ok(RunOutcome::Failed));
    assert_eq!(outcome(2), Ok(RunOutcome::Error));
    assert!(matches!(results[3].result, Err(SandboxError::EscapesWorkspace { .. })));
    p.assert_untouched();
}

#[test]
fn candidate_runs_are_cancelled_as_a_group() {
    let marker = unique_sleep();
    let p = Project::new(&format!(
        "//- /tests/test_slow.py\nimport subprocess\n\ndef test_slow():\n    subprocess.run([\"sleep\", \"{marker}\"])\n"
    ));
    let options = SandboxOptions { cancel: CancelToken::new(), ..options() };
    let runs = run_candidates(p.root(), vec![vec![]; 4], &p.pytest(), &[], &options, Some(2)).unwrap();
    // Wait until both workers' tests are running, then cancel the group.
    let deadline = Instant::now() + Duration::from_secs(20);
    while live_processes(&marker).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(live_processes(&marker).len(), 2, "two candidates run at a time");
    runs.cancel();
    let results = runs.wait();
    assert_eq!(results.len(), 4);
    assert!(results.iter().all(|r| matches!(r.result, Err(SandboxError::Cancelled))), "{results:?}");
    assert!(survivors(&marker).is_empty());
    p.assert_untouched();
}

#[test]
fn a_test_rewriting_an_existing_file_is_contained_by_an_overlay_and_reported_in_a_copy() {
    for (layout, options) in layouts() {
        let p = Project::new(
            r#"
//- /data/state.txt
original
//- /tests/test_write.py
from pathlib import Path

def test_write():
    with open("data/state.txt", "w") as f:
        f.write("written by a test")
    # The same file by its absolute path, as code using __file__ finds it.
    state = Path(__file__).resolve().parent.parent / "data" / "state.txt"
    assert state.read_text() == "written by a test"
"#,
        );
        let scratch = Scratch::create_with(p.root(), &[], &options).unwrap();
        let run = run_tests(&scratch, &p.pytest(), &[], &options).unwrap();
        assert_eq!(run.outcome, RunOutcome::Passed, "{layout}: {}", run.stdout.text);
        drop(scratch);
        if layout == "overlay" {
            assert!(run.linked_files_modified.is_empty());
            p.assert_untouched();
        } else {
            assert_eq!(run.linked_files_modified, [PathBuf::from("data/state.txt")]);
            // FIXME: in a copy, a hard link shares the user's inode, so this write reached the
            // user's file. The run reports it (and logs an error); overlays prevent it.
            let user_file = std::fs::read_to_string(p.root().join("data/state.txt")).unwrap();
            assert_eq!(user_file, "written by a test");
        }
    }
}
