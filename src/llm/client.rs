//! The blocking client over async-openai: one small tokio runtime owned by this module, requests
//! spawned on it, and the calling worker thread waiting on a channel — so the engine stays
//! synchronous, and cancellation is a flag the caller's [`CancelToken`] already is.
//!
//! Requests and responses are plain JSON (async-openai's "bring your own types"): servers that
//! call themselves OpenAI-compatible (vLLM, llama.cpp, Ollama) often omit fields that the typed
//! responses require, and a missing `system_fingerprint` must not fail an answer.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use async_openai::{Client, config::OpenAIConfig, error::OpenAIError};
use futures::StreamExt as _;
use serde_json::{Value, json};

use super::{LlmConfig, redact};
use crate::stdx::CancelToken;

/// Errors at the model seam. Messages are meant for the user as they are.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model endpoint refused the credentials (HTTP {status}): {message}; check ${key_env}")]
    Auth { status: u16, message: String, key_env: String },
    #[error("the model endpoint is rate limiting (HTTP 429) after {attempts} attempts: {message}")]
    RateLimited { attempts: u32, message: String },
    #[error("the model endpoint failed (HTTP {status}) after {attempts} attempts: {message}")]
    Server { status: u16, attempts: u32, message: String },
    #[error("the model endpoint rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("no answer from the model within {0:?}")]
    Timeout(Duration),
    #[error("the model request was cancelled")]
    Cancelled,
    #[error("the model endpoint sent a malformed response: {0}")]
    Malformed(String),
    #[error("cannot reach the model endpoint at {url} after {attempts} attempts: {message}")]
    Unreachable { url: String, attempts: u32, message: String },
    #[error("the model client cannot start: {0}")]
    Setup(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> ChatMessage {
        ChatMessage { role: Role::System, content: content.into() }
    }

    pub fn user(content: impl Into<String>) -> ChatMessage {
        ChatMessage { role: Role::User, content: content.into() }
    }
}

/// Tokens used: as the endpoint reported them, or estimated when it did not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub estimated: bool,
}

/// A finished completion.
#[derive(Clone, Debug)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub finish_reason: Option<String>,
    pub usage: Usage,
    /// Attempts made (1 when the first succeeded).
    pub attempts: u32,
    pub elapsed: Duration,
    pub streamed: bool,
}

/// A rough token count (four bytes a token), for budgets and for endpoints that report none.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

fn runtime() -> Result<&'static tokio::runtime::Runtime, LlmError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            // reqwest is built without a default TLS provider (see Cargo.toml): install ring's
            // before the first client exists. Someone else having installed one is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("repolens-llm")
                .enable_all()
                .build()
                .map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|err| LlmError::Setup(err.clone()))
}

/// A client for one configured endpoint. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct LlmClient {
    config: Arc<LlmConfig>,
    client: Client<OpenAIConfig>,
    prompt_tokens: Arc<AtomicU64>,
    completion_tokens: Arc<AtomicU64>,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient").field("config", &self.config).finish_non_exhaustive()
    }
}

/// What the task on the runtime sends back while it runs.
enum Event {
    Delta(String),
    Done(Result<Completion, LlmError>),
}

impl LlmClient {
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        runtime()?;
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(LlmError::Setup(format!("the base URL {:?} is not an http(s) URL", config.base_url)));
        }
        let key = config.api_key.as_ref().map_or("", |k| k.expose());
        let openai = OpenAIConfig::new().with_api_base(&config.base_url).with_api_key(key);
        // async-openai's default transport retries 429 and 5xx on its own (three times, its own
        // backoff); the plain reqwest service leaves retries to `run`, which the configuration,
        // the attempt count in errors and cancellation all go through.
        let client = Client::with_config(openai)
            .with_http_service(async_openai::middleware::ReqwestService::default());
        Ok(LlmClient {
            client,
            config: Arc::new(config),
            prompt_tokens: Arc::default(),
            completion_tokens: Arc::default(),
        })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Tokens used by every completion of this client (and its clones) so far.
    pub fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: self.completion_tokens.load(Ordering::Relaxed),
            estimated: false,
        }
    }

    /// Sends `messages` and waits for the whole answer (streamed if the config says so).
    pub fn chat(&self, messages: &[ChatMessage], cancel: &CancelToken) -> Result<Completion, LlmError> {
        self.chat_with(messages, self.config.stream, cancel, &mut |_| {})
    }

    /// Streams the answer, calling `on_delta` with each piece of text on the calling thread.
    pub fn chat_streaming(
        &self,
        messages: &[ChatMessage],
        cancel: &CancelToken,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<Completion, LlmError> {
        self.chat_with(messages, true, cancel, on_delta)
    }

    fn chat_with(
        &self,
        messages: &[ChatMessage],
        stream: bool,
        cancel: &CancelToken,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<Completion, LlmError> {
        if cancel.is_cancelled() {
            return Err(LlmError::Cancelled);
        }
        let runtime = runtime()?;
        // Defence in depth: whatever the caller put together, no credential leaves redacted.
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| json!({ "role": m.role.as_str(), "content": redact(&m.content) }))
            .collect();
        let prompt_estimate: u64 =
            messages.iter().map(|m| estimate_tokens(m["content"].as_str().unwrap_or(""))).sum();
        let mut request = json!({
            "model": self.config.model,
            "messages": messages,
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
        });
        if stream {
            request["stream"] = json!(true);
            request["stream_options"] = json!({ "include_usage": true });
        }
        let (sender, receiver) = mpsc::channel();
        let task =
            runtime.spawn(run(self.client.clone(), self.config.clone(), request, stream, sender.clone()));
        let started = Instant::now();
        let result = loop {
            match receiver.recv_timeout(Duration::from_millis(20)) {
                Ok(Event::Delta(text)) => on_delta(&text),
                Ok(Event::Done(result)) => break result,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if cancel.is_cancelled() {
                        task.abort();
                        break Err(LlmError::Cancelled);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err(LlmError::Setup("the model task stopped without an answer".to_owned()));
                }
            }
        };
        drop(sender);
        let mut completion = result?;
        completion.elapsed = started.elapsed();
        if completion.usage == Usage::default() {
            completion.usage = Usage {
                prompt_tokens: prompt_estimate,
                completion_tokens: estimate_tokens(&completion.text),
                estimated: true,
            };
        }
        self.prompt_tokens.fetch_add(completion.usage.prompt_tokens, Ordering::Relaxed);
        self.completion_tokens.fetch_add(completion.usage.completion_tokens, Ordering::Relaxed);
        tracing::info!(
            model = %completion.model,
            attempts = completion.attempts,
            prompt_tokens = completion.usage.prompt_tokens,
            completion_tokens = completion.usage.completion_tokens,
            "model answered in {:.0} ms",
            completion.elapsed.as_secs_f64() * 1000.0
        );
        Ok(completion)
    }
}

/// How one attempt failed, and whether another may succeed.
struct Failure {
    error: LlmError,
    retry: bool,
}

/// Attempts with exponential backoff; runs on the runtime.
async fn run(
    client: Client<OpenAIConfig>,
    config: Arc<LlmConfig>,
    request: Value,
    stream: bool,
    events: mpsc::Sender<Event>,
) {
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        let outcome = tokio::time::timeout(config.timeout, async {
            if stream {
                attempt_stream(&client, &request, &events).await
            } else {
                attempt_once(&client, &request).await
            }
        })
        .await;
        let failure = match outcome {
            Ok(Ok(mut completion)) => {
                completion.attempts = attempt;
                break Ok(completion);
            }
            Ok(Err(failure)) => failure,
            Err(_) => Failure { error: LlmError::Timeout(config.timeout), retry: false },
        };
        if !failure.retry || attempt > config.max_retries {
            break Err(with_attempts(failure.error, attempt, &config));
        }
        let delay = config.retry_base.saturating_mul(1 << (attempt - 1).min(6));
        tracing::info!("model request failed ({}); retrying in {delay:?}", failure.error);
        tokio::time::sleep(delay).await;
    };
    let _ = events.send(Event::Done(result));
}

fn with_attempts(error: LlmError, attempts: u32, config: &LlmConfig) -> LlmError {
    match error {
        LlmError::RateLimited { message, .. } => LlmError::RateLimited { attempts, message },
        LlmError::Server { status, message, .. } => LlmError::Server { status, attempts, message },
        LlmError::Unreachable { message, .. } => {
            LlmError::Unreachable { url: config.base_url.clone(), attempts, message }
        }
        LlmError::Auth { status, message, .. } => {
            LlmError::Auth { status, message, key_env: config.api_key_env.clone() }
        }
        other => other,
    }
}

fn classify(error: OpenAIError) -> Failure {
    match error {
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let message = api.api_error.message.chars().take(500).collect::<String>();
            match status {
                401 | 403 => Failure {
                    error: LlmError::Auth { status, message, key_env: String::new() },
                    retry: false,
                },
                429 => Failure { error: LlmError::RateLimited { attempts: 0, message }, retry: true },
                500..=599 => {
                    Failure { error: LlmError::Server { status, attempts: 0, message }, retry: true }
                }
                _ => Failure { error: LlmError::Rejected { status, message }, retry: false },
            }
        }
        OpenAIError::Reqwest(err) => {
            let retry = err.is_connect() || err.is_request();
            let error = if err.is_decode() || err.is_body() {
                LlmError::Malformed(err.to_string())
            } else {
                LlmError::Unreachable { url: String::new(), attempts: 0, message: err.to_string() }
            };
            Failure { error, retry }
        }
        OpenAIError::JSONDeserialize(err, content) => Failure {
            error: LlmError::Malformed(format!("{err} in {}", content.chars().take(200).collect::<String>())),
            retry: false,
        },
        other => Failure { error: LlmError::Malformed(other.to_string()), retry: false },
    }
}

fn usage_of(value: &Value) -> Usage {
    let get = |key: &str| value.get("usage").and_then(|u| u.get(key)).and_then(Value::as_u64);
    Usage {
        prompt_tokens: get("prompt_tokens").unwrap_or(0),
        completion_tokens: get("completion_tokens").unwrap_or(0),
        estimated: false,
    }
}

async fn attempt_once(client: &Client<OpenAIConfig>, request: &Value) -> Result<Completion, Failure> {
    let response: Value = client.chat().create_byot(request).await.map_err(classify)?;
    let malformed = |what: &str| Failure { error: LlmError::Malformed(what.to_owned()), retry: false };
    let choice = response
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| malformed("no choices in the answer"))?;
    let text = choice
        .get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("the first choice has no message content"))?;
    Ok(Completion {
        text: text.to_owned(),
        model: response.get("model").and_then(Value::as_str).unwrap_or_default().to_owned(),
        finish_reason: choice.get("finish_reason").and_then(Value::as_str).map(str::to_owned),
        usage: usage_of(&response),
        attempts: 0,
        elapsed: Duration::ZERO,
        streamed: false,
    })
}

async fn attempt_stream(
    client: &Client<OpenAIConfig>,
    request: &Value,
    events: &mpsc::Sender<Event>,
) -> Result<Completion, Failure> {
    let mut stream = client.chat().create_stream_byot::<&Value, Value>(request).await.map_err(classify)?;
    let mut text = String::new();
    let mut model = String::new();
    let mut finish_reason = None;
    let mut usage = Usage::default();
    while let Some(chunk) = stream.next().await {
        // Once text has been shown, a failure is final: a retry would repeat it.
        let chunk = chunk.map_err(|err| {
            let mut failure = classify(err);
            failure.retry &= text.is_empty();
            failure
        })?;
        if let Some(m) = chunk.get("model").and_then(Value::as_str) {
            model = m.to_owned();
        }
        if chunk.get("usage").is_some_and(|u| !u.is_null()) {
            usage = usage_of(&chunk);
        }
        let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) else { continue };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            finish_reason = Some(reason.to_owned());
        }
        if let Some(delta) = choice.get("delta").and_then(|d| d.get("content")).and_then(Value::as_str)
            && !delta.is_empty()
        {
            text.push_str(delta);
            let _ = events.send(Event::Delta(delta.to_owned()));
        }
    }
    if text.is_empty() && finish_reason.is_none() {
        return Err(Failure {
            error: LlmError::Malformed("the stream ended without any text".to_owned()),
            retry: false,
        });
    }
    Ok(Completion { text, model, finish_reason, usage, attempts: 0, elapsed: Duration::ZERO, streamed: true })
}
