//! Which command runs a project's tests, and how tests are named to it.
//!
//! Detection: a `[test] command` in `.repolens.toml` wins. Otherwise a project is a pytest
//! project when it has a pytest configuration (`pytest.ini`; `[tool.pytest.ini_options]` in
//! `pyproject.toml`; `[tool:pytest]` in `setup.cfg`; `[pytest]` in `tox.ini`), a `conftest.py`,
//! a `tests/` or `test/` directory, or `test_*.py`/`*_test.py` files at the root; its command is
//! `python -m pytest` with the project's own interpreter (`.venv/bin/python`, then
//! `venv/bin/python`) if it has one, else `python3` from `PATH`. A configured command counts as
//! pytest when it runs `pytest`/`py.test` or `-m pytest`: only then does the sandbox add its
//! report options and the test selection (other commands run whole, judged by exit code).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use super::SandboxError;
use crate::workspace::{TestSection, read_source};

/// How long a test run may take unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CommandKind {
    /// pytest: selection passed as node ids, results read from its JUnit XML.
    Pytest,
    /// Anything else: run whole, passed or failed by exit code.
    Custom,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCommand {
    /// The program and its arguments (for pytest, before the sandbox's own options).
    pub argv: Vec<String>,
    pub kind: CommandKind,
    pub timeout: Duration,
    /// Added to the sandbox's environment, overriding its defaults.
    pub env: BTreeMap<String, String>,
}

impl TestCommand {
    /// The command for the workspace at `root`, from its `[test]` settings if any.
    pub fn detect(root: &Path, settings: Option<&TestSection>) -> Result<TestCommand, SandboxError> {
        let timeout = settings.and_then(|s| s.timeout_secs).map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let env = settings.map(|s| s.env.clone()).unwrap_or_default();
        let mut command = match settings.and_then(|s| s.command.as_ref()) {
            Some(line) => TestCommand::custom(line.argv())?,
            None if looks_like_pytest_project(root) => TestCommand::pytest(python_for(root)),
            None => return Err(SandboxError::NoTestCommand { root: root.to_path_buf() }),
        };
        command.timeout = timeout;
        command.env = env;
        Ok(command)
    }

    /// `python -m pytest` with this interpreter.
    pub fn pytest(python: impl Into<PathBuf>) -> TestCommand {
        let python = python.into().to_string_lossy().into_owned();
        TestCommand {
            argv: vec![python, "-m".to_owned(), "pytest".to_owned()],
            kind: CommandKind::Pytest,
            timeout: DEFAULT_TIMEOUT,
            env: BTreeMap::new(),
        }
    }

    /// A configured command; pytest if it runs pytest.
    pub fn custom(argv: Vec<String>) -> Result<TestCommand, SandboxError> {
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(SandboxError::InvalidCommand { reason: "the command is empty".to_owned() });
        }
        let runs_pytest = argv.iter().any(|a| {
            let name = Path::new(a).file_name().and_then(|n| n.to_str()).unwrap_or("");
            name == "pytest" || name == "py.test"
        }) || argv.windows(2).any(|w| w[0] == "-m" && w[1] == "pytest");
        Ok(TestCommand {
            argv,
            kind: if runs_pytest { CommandKind::Pytest } else { CommandKind::Custom },
            timeout: DEFAULT_TIMEOUT,
            env: BTreeMap::new(),
        })
    }

    pub fn with_timeout(mut self, timeout: Duration) -> TestCommand {
        self.timeout = timeout;
        self
    }

    /// The interpreter, for messages (the program for commands that are not `python -m`).
    pub(crate) fn program(&self) -> PathBuf {
        PathBuf::from(&self.argv[0])
    }
}

/// The project's interpreter: its own virtualenv's, else `python3` from `PATH` (resolved now,
/// so that the message on failure names a real path).
pub fn python_for(root: &Path) -> PathBuf {
    for venv in [".venv", "venv"] {
        let python = root.join(venv).join("bin/python");
        if python.is_file() {
            return python;
        }
    }
    find_on_path("python3").unwrap_or_else(|| PathBuf::from("python3"))
}

pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

fn looks_like_pytest_project(root: &Path) -> bool {
    let has = |name: &str| root.join(name).exists();
    let mentions = |name: &str, needle: &str| {
        read_source(&root.join(name), 1024 * 1024).is_ok_and(|text| text.contains(needle))
    };
    if has("pytest.ini")
        || has("conftest.py")
        || root.join("tests").is_dir()
        || root.join("test").is_dir()
        || mentions("pyproject.toml", "[tool.pytest")
        || mentions("setup.cfg", "[tool:pytest]")
        || mentions("tox.ini", "[pytest]")
    {
        return true;
    }
    std::fs::read_dir(root).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
        })
    })
}

/// A test or group of tests as pytest names it: a path relative to the workspace root
/// (`tests/test_api.py`, a directory), optionally followed by `::Class::test[param]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TestId(String);

impl TestId {
    /// A selector, checked: it must name something inside the workspace and must not look like
    /// an option (selections may come from a model's output).
    pub fn new(id: impl Into<String>) -> Result<TestId, SandboxError> {
        let id = id.into();
        let invalid = |reason| SandboxError::InvalidSelection { selector: id.clone(), reason };
        if id.is_empty() {
            return Err(invalid("it is empty"));
        }
        if id.starts_with('-') {
            return Err(invalid("it looks like an option"));
        }
        if id.contains('\0') || id.contains('\n') {
            return Err(invalid("it contains a control character"));
        }
        let path = id.split("::").next().unwrap_or("");
        if path.is_empty() {
            return Err(invalid("it names no file"));
        }
        let escapes = Path::new(path).components().any(|c| {
            matches!(
                c,
                std::path::Component::ParentDir
                    | std::path::Component::RootDir
                    | std::path::Component::Prefix(_)
            )
        });
        if escapes {
            return Err(SandboxError::EscapesWorkspace { path: PathBuf::from(path) });
        }
        Ok(TestId(id))
    }

    /// All tests in a file or directory.
    pub fn path(rel_path: &str) -> Result<TestId, SandboxError> {
        TestId::new(rel_path)
    }

    /// One test function or method from its file and dotted qualified name (`TestApi.test_get`),
    /// as the symbol graph knows it.
    pub fn function(rel_path: &str, qualified_name: &str) -> Result<TestId, SandboxError> {
        TestId::new(format!("{rel_path}::{}", qualified_name.replace('.', "::")))
    }

    /// A name read from a report: not checked, never passed to a command.
    pub(crate) fn reported(id: String) -> TestId {
        TestId(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file or directory part.
    pub fn file(&self) -> &str {
        self.0.split("::").next().unwrap_or(&self.0)
    }
}

impl std::fmt::Display for TestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_checked() {
        assert_eq!(
            TestId::function("tests/test_a.py", "TestA.test_b").unwrap().as_str(),
            "tests/test_a.py::TestA::test_b"
        );
        assert_eq!(TestId::new("tests/test_a.py::test_x[1-2]").unwrap().file(), "tests/test_a.py");
        assert!(matches!(TestId::new("--junitxml=/etc/x"), Err(SandboxError::InvalidSelection { .. })));
        assert!(matches!(TestId::new("../other/test_a.py"), Err(SandboxError::EscapesWorkspace { .. })));
        assert!(matches!(TestId::new("/etc/test_a.py"), Err(SandboxError::EscapesWorkspace { .. })));
        assert!(matches!(TestId::new("::test_a"), Err(SandboxError::InvalidSelection { .. })));
    }

    #[test]
    fn configured_commands_are_pytest_only_when_they_run_pytest() {
        let kind =
            |argv: &[&str]| TestCommand::custom(argv.iter().map(|s| s.to_string()).collect()).unwrap().kind;
        assert_eq!(kind(&["python", "-m", "pytest", "-x"]), CommandKind::Pytest);
        assert_eq!(kind(&[".venv/bin/pytest"]), CommandKind::Pytest);
        assert_eq!(kind(&["tox", "-e", "py"]), CommandKind::Custom);
        assert_eq!(kind(&["python", "runtests.py"]), CommandKind::Custom);
        assert!(TestCommand::custom(Vec::new()).is_err());
    }
}
