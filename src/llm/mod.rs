//! The model client: any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server,
//! Ollama), used by answers today and by repairs later.
//!
//! - [`LlmConfig`]: where and how, resolved from the environment, `initializationOptions` and
//!   `.repolens.toml` (in that order of precedence); no settings means no model, not an error.
//! - [`LlmClient`]: a blocking API for the engine's worker threads. It owns a one-thread tokio
//!   runtime (async-openai needs one; nothing else in the crate is async), retries rate limits
//!   and server errors with exponential backoff, bounds each attempt with a timeout, stops when
//!   the caller's [`crate::stdx::CancelToken`] is set, streams when asked, and counts tokens.
//!   Failures are typed ([`LlmError`]) so that callers can tell a bad key from a slow server.
//! - [`is_secret_path`] and [`redact`]: what must never reach a prompt. The client redacts every
//!   message it sends as a last line of defence; callers also skip secret files outright.
//!
//! async-openai was kept over a small blocking HTTP client: it brings the request and streaming
//! (server-sent events) plumbing, and with `byot` and only the chat feature the cost is reqwest,
//! hyper and tokio. TLS is rustls with the ring provider, which needs no cmake.

mod client;
mod config;
mod secrets;

pub use client::{ChatMessage, Completion, LlmClient, LlmError, Role, Usage, estimate_tokens};
pub use config::{
    ApiKey, DEFAULT_API_KEY_ENV, DEFAULT_BASE_URL, DEFAULT_MODEL, ENV_BASE_URL, ENV_MODEL, LlmConfig,
    LlmSettings,
};
pub use secrets::{REDACTED, is_secret_path, redact};
