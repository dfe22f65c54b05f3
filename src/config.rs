//! Settings, with defaults that need no configuration to start.
//!
//! Sources, later ones winning: built-in defaults, then the client's `initializationOptions`.
//! Unknown keys are ignored (and logged) so that newer editor plugins never break older servers.

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// Files larger than this many bytes are not indexed.
    pub max_file_size: u64,
    /// How long `workspace/symbol` waits for the first index before answering from what it has.
    pub workspace_symbol_wait_ms: u64,
    /// Where to keep the index cache (default: `$REPOLENS_CACHE_DIR`, else the user's cache
    /// directory; never inside the repository unless set here).
    pub cache_dir: Option<std::path::PathBuf>,
    /// Keep no cache at all.
    pub no_cache: bool,
    /// How often to check whether HEAD moved (new commits refresh history), in seconds.
    pub head_check_secs: u64,
    /// Risk diagnostics and smells (`"risk": {"topPercent": 5, …}`).
    pub risk: RiskConfig,
}

/// Which risk diagnostics and smells are shown, and how.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct RiskConfig {
    /// Show risk diagnostics and smells at all.
    pub enabled: bool,
    /// Flag the functions in the top this-many percent of the repository by risk.
    pub top_percent: f64,
    /// At most this many risk diagnostics per file (the riskiest functions).
    pub max_per_file: usize,
    pub severity: DiagnosticSeverity,
    /// Smell diagnostics (`smell/<name>`).
    pub smells: bool,
    /// Smells also on test, vendored and generated files (risk diagnostics never go there).
    pub smells_in_all_files: bool,
}

#[derive(Clone, Copy, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum DiagnosticSeverity {
    Information,
    Hint,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            enabled: true,
            top_percent: 5.0,
            max_per_file: 3,
            severity: DiagnosticSeverity::Information,
            smells: true,
            smells_in_all_files: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_file_size: 2 * 1024 * 1024,
            workspace_symbol_wait_ms: 10_000,
            cache_dir: std::env::var_os("REPOLENS_CACHE_DIR").map(Into::into),
            no_cache: false,
            head_check_secs: 60,
            risk: RiskConfig::default(),
        }
    }
}

impl Config {
    /// The index cache for these roots, unless caching is off or there is nowhere to put it.
    pub fn index_cache(&self, roots: &[std::path::PathBuf]) -> Option<crate::workspace::IndexCache> {
        if self.no_cache || roots.is_empty() {
            return None;
        }
        crate::workspace::IndexCache::locate(roots, self.cache_dir.as_deref())
    }

    /// The trace file (`src/trace/`) for these roots: in the same directory as the index cache,
    /// so never inside the repository unless configured there.
    pub fn trace_file(&self, roots: &[std::path::PathBuf]) -> Option<std::path::PathBuf> {
        self.index_cache(roots).map(|cache| crate::trace::Trace::path_in(cache.dir()))
    }

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
