//! Settings, with defaults that need no configuration to start.
//!
//! Sources, later ones winning: built-in defaults, then the client's `initializationOptions`.
//! Unknown keys are ignored (and logged) so that newer editor plugins never break older servers.

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// Files larger than this many bytes are not indexed.
    pub max_file_size: u64,
    /// How long `workspace/symbol` waits for the first index before answering from what it has.
    pub workspace_symbol_wait_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config { max_file_size: 2 * 1024 * 1024, workspace_symbol_wait_ms: 10_000 }
    }
}

impl Config {
    /// Reads `initializationOptions`; anything unusable keeps its default, with a warning.
    pub fn from_json(value: Option<&serde_json::Value>) -> Config {
        let Some(value) = value.filter(|v| !v.is_null()) else { return Config::default() };
        match serde_json::from_value(value.clone()) {
            Ok(config) => config,
            Err(err) => {
                tracing::warn!("ignoring initializationOptions: {err}");
                Config::default()
            }
        }
    }
}
