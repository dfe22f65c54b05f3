//! Which model endpoint to use, if any, and how: settings from the environment, the client's
//! `initializationOptions` and the workspace's `.repolens.toml`, merged key by key in that order
//! of precedence over built-in defaults.
//!
//! No settings at all means no model: the engine answers extractively, without error. A model is
//! used when some source names a base URL or the API key's environment variable is set — unless
//! a source says `enabled = false`.

use std::time::Duration;

use serde::Deserialize;

/// Default endpoint when only an API key is given.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";

/// Environment variables read by [`LlmSettings::from_env`].
pub const ENV_BASE_URL: &str = "REPOLENS_LLM_BASE_URL";
pub const ENV_MODEL: &str = "REPOLENS_LLM_MODEL";

/// One source's settings: every key optional. TOML's `snake_case` and JSON's `camelCase` are
/// both accepted.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct LlmSettings {
    pub enabled: Option<bool>,
    #[serde(alias = "base_url")]
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// The name of the environment variable holding the API key (never the key itself).
    #[serde(alias = "api_key_env")]
    pub api_key_env: Option<String>,
    #[serde(alias = "timeout_secs")]
    pub timeout_secs: Option<f64>,
    #[serde(alias = "max_tokens")]
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    #[serde(alias = "max_retries")]
    pub max_retries: Option<u32>,
    /// First delay before a retry; each further retry waits twice as long.
    #[serde(alias = "retry_base_ms")]
    pub retry_base_ms: Option<u64>,
    /// Token budget for the context put into a prompt.
    #[serde(alias = "context_tokens")]
    pub context_tokens: Option<u32>,
    /// Ask for a streamed answer (server-sent events).
    pub stream: Option<bool>,
}

impl LlmSettings {
    /// Settings from `REPOLENS_LLM_BASE_URL` and `REPOLENS_LLM_MODEL`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> LlmSettings {
        let non_empty = |name| env(name).filter(|v: &String| !v.trim().is_empty());
        LlmSettings {
            base_url: non_empty(ENV_BASE_URL),
            model: non_empty(ENV_MODEL),
            ..LlmSettings::default()
        }
    }

    /// Settings from JSON (`initializationOptions.llm`); unusable input is ignored with a warning.
    pub fn from_json(value: Option<&serde_json::Value>) -> Option<LlmSettings> {
        let value = value.filter(|v| !v.is_null())?;
        match serde_json::from_value(value.clone()) {
            Ok(settings) => Some(settings),
            Err(err) => {
                tracing::warn!("ignoring the llm settings: {err}");
                None
            }
        }
    }
}

/// An API key: kept out of `Debug` output and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Resolved settings of a configured model.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmConfig {
    /// Up to and including the API version (`…/v1`), without a trailing slash.
    pub base_url: String,
    pub model: String,
    pub api_key_env: String,
    /// `None` when the variable is unset (local servers often need no key).
    pub api_key: Option<ApiKey>,
    /// How long one attempt may take, from sending the request to the last byte of the answer.
    pub timeout: Duration,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Further attempts after a rate limit (429), a server error (5xx) or a failed connection.
    pub max_retries: u32,
    pub retry_base: Duration,
    pub context_tokens: u32,
    pub stream: bool,
}

impl LlmConfig {
    /// Merges `sources` (highest precedence first) over the defaults. `None`: no model is
    /// configured (or one is, but disabled), and answers are extractive.
    pub fn resolve(sources: &[&LlmSettings], env: &dyn Fn(&str) -> Option<String>) -> Option<LlmConfig> {
        macro_rules! pick {
            ($field:ident) => {
                sources.iter().find_map(|s| s.$field.clone())
            };
        }
        if pick!(enabled) == Some(false) {
            return None;
        }
        let api_key_env = pick!(api_key_env).unwrap_or_else(|| DEFAULT_API_KEY_ENV.to_owned());
        let api_key = env(&api_key_env).filter(|k| !k.trim().is_empty()).map(|k| ApiKey(k.trim().to_owned()));
        let base_url = pick!(base_url);
        if base_url.is_none() && api_key.is_none() && pick!(enabled) != Some(true) {
            return None;
        }
        let base_url =
            base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()).trim_end_matches('/').to_owned();
        Some(LlmConfig {
            base_url,
            model: pick!(model).unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
            api_key_env,
            api_key,
            timeout: Duration::from_secs_f64(pick!(timeout_secs).unwrap_or(60.0).clamp(0.05, 3600.0)),
            max_tokens: pick!(max_tokens).unwrap_or(1024).max(16),
            temperature: pick!(temperature).unwrap_or(0.0).clamp(0.0, 2.0),
            max_retries: pick!(max_retries).unwrap_or(3).min(10),
            retry_base: Duration::from_millis(pick!(retry_base_ms).unwrap_or(500)),
            context_tokens: pick!(context_tokens).unwrap_or(6000).max(256),
            stream: pick!(stream).unwrap_or(false),
        })
    }

    /// The process environment.
    pub fn process_env(name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn nothing_configured_means_no_model() {
        assert_eq!(LlmConfig::resolve(&[&LlmSettings::default()], &env(&[])), None);
    }

    #[test]
    fn an_api_key_alone_selects_the_default_endpoint() {
        let config = LlmConfig::resolve(&[], &env(&[("OPENAI_API_KEY", "sk-test")])).unwrap();
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert_eq!(config.api_key.as_ref().map(ApiKey::expose), Some("sk-test"));
        assert!(!format!("{config:?}").contains("sk-test"));
    }

    #[test]
    fn precedence_is_env_then_init_options_then_file() {
        let vars = env(&[(ENV_BASE_URL, "http://env/v1/"), ("MY_KEY", "k")]);
        let from_env = LlmSettings::from_env(&vars);
        let init: LlmSettings =
            serde_json::from_value(serde_json::json!({"model": "init-model", "apiKeyEnv": "MY_KEY"}))
                .unwrap();
        let file: LlmSettings = serde_json::from_value(
            serde_json::json!({"base_url": "http://file/v1", "model": "file-model", "max_tokens": 77}),
        )
        .unwrap();
        let config = LlmConfig::resolve(&[&from_env, &init, &file], &vars).unwrap();
        assert_eq!(config.base_url, "http://env/v1");
        assert_eq!(config.model, "init-model");
        assert_eq!(config.max_tokens, 77);
        assert_eq!(config.api_key.as_ref().map(ApiKey::expose), Some("k"));
    }

    #[test]
    fn enabled_false_wins_over_a_key_in_the_environment() {
        let off = LlmSettings { enabled: Some(false), ..LlmSettings::default() };
        assert_eq!(LlmConfig::resolve(&[&off], &env(&[("OPENAI_API_KEY", "sk-test")])), None);
    }
}
