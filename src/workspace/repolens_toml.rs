//! `.repolens.toml`, the repository's own settings, read from the workspace root.
//!
//! One struct with an optional section per feature, so that features add sections without
//! touching each other: `[test]` (the sandbox) and `[llm]` (the model, see `llm::LlmSettings`). Unknown top-level sections are ignored (an
//! older repolens must not refuse a newer file), but unknown keys inside a known section are
//! errors: a typo such as `timeout = 5` must not be silently ignored.
//!
//! ```toml
//! [test]
//! command = ["python", "-m", "pytest", "-x"]   # or one string, split on whitespace
//! timeout_secs = 120
//! env = { DJANGO_SETTINGS_MODULE = "tests.settings" }
//! ```

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::{SkipReason, read_source};

/// Settings files larger than this are refused (they are a few lines).
const MAX_SIZE: u64 = 1024 * 1024;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct RepolensToml {
    pub test: Option<TestSection>,
    /// Keys in `snake_case` (`base_url`, `api_key_env`, …); merged under the environment and the
    /// client's settings by `llm::LlmConfig::resolve`.
    pub llm: Option<crate::llm::LlmSettings>,
}

/// `[test]`: how the sandbox runs the project's tests (see `sandbox::TestCommand::detect`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TestSection {
    /// Replaces the detected command.
    pub command: Option<CommandLine>,
    /// A run taking longer is stopped and reported as timed out.
    pub timeout_secs: Option<u64>,
    /// Added to the sandbox's environment, overriding its defaults.
    pub env: BTreeMap<String, String>,
}

/// A command as a list of arguments, or as one string split on whitespace (no shell quoting:
/// use the list form for arguments containing spaces).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum CommandLine {
    Line(String),
    Argv(Vec<String>),
}

impl CommandLine {
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandLine::Line(line) => line.split_whitespace().map(str::to_owned).collect(),
            CommandLine::Argv(argv) => argv.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {}: {}", path.display(), reason.as_str())]
    Unreadable { path: PathBuf, reason: SkipReason },
    #[error("invalid {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl RepolensToml {
    pub const FILE_NAME: &'static str = ".repolens.toml";

    /// Reads `<root>/.repolens.toml`; no file means no settings.
    pub fn load(root: &Path) -> Result<RepolensToml, SettingsError> {
        let path = root.join(Self::FILE_NAME);
        if !path.exists() {
            return Ok(RepolensToml::default());
        }
        let text = read_source(&path, MAX_SIZE)
            .map_err(|reason| SettingsError::Unreadable { path: path.clone(), reason })?;
        Self::parse(&text).map_err(|message| SettingsError::Invalid { path, message })
    }

    pub fn parse(text: &str) -> Result<RepolensToml, String> {
        toml::from_str(text).map_err(|err| err.to_string().trim_end().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_test_section_and_ignores_other_sections() {
        let toml = RepolensToml::parse(
            "[llm]\nmodel = 'x'\n[test]\ncommand = 'python -m pytest -x'\ntimeout_secs = 5\nenv = { A = 'b' }\n",
        )
        .unwrap();
        let test = toml.test.unwrap();
        assert_eq!(test.command.unwrap().argv(), ["python", "-m", "pytest", "-x"]);
        assert_eq!(test.timeout_secs, Some(5));
        assert_eq!(test.env.get("A").map(String::as_str), Some("b"));
    }

    #[test]
    fn a_list_command_keeps_its_arguments_whole() {
        let toml = RepolensToml::parse("[test]\ncommand = ['tox', '-e', 'py 3']\n").unwrap();
        assert_eq!(toml.test.unwrap().command.unwrap().argv(), ["tox", "-e", "py 3"]);
    }

    #[test]
    fn a_typo_in_the_test_section_is_an_error() {
        let err = RepolensToml::parse("[test]\ntimeout = 5\n").unwrap_err();
        assert!(err.contains("timeout"), "{err}");
    }

    #[test]
    fn no_file_is_no_settings() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(RepolensToml::load(dir.path()).unwrap(), RepolensToml::default());
        std::fs::write(dir.path().join(".repolens.toml"), "[test\n").unwrap();
        let err = RepolensToml::load(dir.path()).unwrap_err();
        assert!(matches!(err, SettingsError::Invalid { .. }), "{err}");
    }
}
