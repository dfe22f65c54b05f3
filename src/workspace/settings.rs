//! The workspace's own settings file, `.repolens.toml` at a root, and the answers written for
//! clients that show documents instead of custom responses.
//!
//! Only the `[llm]` table is read today (see `llm::LlmSettings` for its keys); unknown tables
//! and keys are ignored so that newer files never break older servers.

use std::path::{Path, PathBuf};

use crate::llm::LlmSettings;

pub const SETTINGS_FILE: &str = ".repolens.toml";

/// What `.repolens.toml` says, and where it was read from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkspaceSettings {
    pub path: Option<PathBuf>,
    pub llm: Option<LlmSettings>,
}

/// Reads the first root's `.repolens.toml` that exists; a file that does not parse is ignored
/// with a warning (the returned settings name it, without values).
pub fn workspace_settings(roots: &[PathBuf]) -> WorkspaceSettings {
    for root in roots {
        let path = root.join(SETTINGS_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        return match parse_settings(&text) {
            Ok(llm) => WorkspaceSettings { path: Some(path), llm },
            Err(err) => {
                tracing::warn!("ignoring {}: {err}", path.display());
                WorkspaceSettings { path: Some(path), llm: None }
            }
        };
    }
    WorkspaceSettings::default()
}

fn parse_settings(text: &str) -> Result<Option<LlmSettings>, String> {
    let table: toml::Table = text.parse().map_err(|err: toml::de::Error| err.message().to_owned())?;
    let Some(llm) = table.get("llm") else { return Ok(None) };
    llm.clone().try_into::<LlmSettings>().map(Some).map_err(|err| format!("[llm]: {}", err.message()))
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

    #[test]
    fn llm_table_is_read_in_snake_case() {
        let llm = parse_settings("[llm]\nbase_url = \"http://127.0.0.1:8080/v1\"\nmodel = \"m\"\nmax_tokens = 9\n\n[other]\nx = 1\n")
            .unwrap()
            .unwrap();
        assert_eq!(llm.base_url.as_deref(), Some("http://127.0.0.1:8080/v1"));
        assert_eq!(llm.max_tokens, Some(9));
        assert_eq!(parse_settings("[risk]\nx = 1\n").unwrap(), None);
        assert!(parse_settings("[llm\n").is_err());
        assert!(parse_settings("[llm]\nmax_tokens = \"many\"\n").is_err());
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
