//! The model settings of the workspace's `.repolens.toml` (its `[llm]` table, read through
//! [`super::RepolensToml`]), and the answers written for clients that show documents instead of
//! custom responses.

use std::path::{Path, PathBuf};

use super::RepolensToml;
use crate::llm::LlmSettings;

/// What `.repolens.toml` says about the model, and where it was read from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkspaceSettings {
    pub path: Option<PathBuf>,
    pub llm: Option<LlmSettings>,
}

/// Reads the first root's `.repolens.toml` that exists; a file that does not parse is ignored
/// with a warning (the returned settings name it, without values).
pub fn workspace_settings(roots: &[PathBuf]) -> WorkspaceSettings {
    for root in roots {
        let path = root.join(RepolensToml::FILE_NAME);
        if !path.exists() {
            continue;
        }
        return match RepolensToml::load(root) {
            Ok(settings) => WorkspaceSettings { path: Some(path), llm: settings.llm },
            Err(err) => {
                tracing::warn!("ignoring the model settings: {err}");
                WorkspaceSettings { path: Some(path), llm: None }
            }
        };
    }
    WorkspaceSettings::default()
}

/// Writes an answer document under `dir` (created if needed) and returns its path. The name is
/// made of a timestamp and the question's first words, so answers sort by time.
pub fn write_answer(dir: &Path, question: &str, markdown: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let slug: String = question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
        .chars()
        .take(60)
        .collect();
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let name = format!(
        "ask-{}-{:03}-{}.md",
        stamp.as_secs(),
        stamp.subsec_millis(),
        if slug.is_empty() { "question" } else { &slug }
    );
    let path = dir.join(name);
    std::fs::write(&path, markdown)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_llm(text: &str) -> Result<Option<LlmSettings>, String> {
        RepolensToml::parse(text).map(|settings| settings.llm)
    }

    #[test]
    fn llm_table_is_read_in_snake_case() {
        let llm = parse_llm("[llm]\nbase_url = \"http://127.0.0.1:8080/v1\"\nmodel = \"m\"\nmax_tokens = 9\n\n[other]\nx = 1\n")
            .unwrap()
            .unwrap();
        assert_eq!(llm.base_url.as_deref(), Some("http://127.0.0.1:8080/v1"));
        assert_eq!(llm.max_tokens, Some(9));
        assert_eq!(parse_llm("[risk]\nx = 1\n").unwrap(), None);
        assert!(parse_llm("[llm\n").is_err());
        assert!(parse_llm("[llm]\nmax_tokens = \"many\"\n").is_err());
    }

    #[test]
    fn a_broken_file_means_no_model_settings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".repolens.toml"), "[llm]\nmodel = 3\n").unwrap();
        let settings = workspace_settings(&[dir.path().to_path_buf()]);
        assert_eq!(settings.llm, None);
        assert_eq!(settings.path, Some(dir.path().join(".repolens.toml")));
    }

    #[test]
    fn answers_are_written_under_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_answer(&dir.path().join("answers"), "Where is make_password?", "# x\n").unwrap();
        assert!(path.starts_with(dir.path()));
        assert!(path.file_name().unwrap().to_string_lossy().ends_with("-where-is-make-password.md"));
        assert_eq!(std::fs::read_to_string(path).unwrap(), "# x\n");
    }
}
