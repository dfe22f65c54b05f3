//! Dispatch: parse params, pick the scheduling class, catch panics, answer exactly once.
//!
//! Scheduling classes, visible in the table in `handlers/mod.rs`:
//! - `on_sync_mut`: on the main loop, with `&mut Server` (lifecycle, document sync);
//! - `on`: on a worker thread, with a [`ServerSnapshot`] and a cancellation token;
//! - `on_indexed`: like `on`, but parked until the first index is ready (bounded wait), because
//!   an empty answer while indexing breaks users' pickers.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    time::{Duration, Instant},
};

use lsp_server::{ErrorCode, Notification, Request, RequestId, Response};
use serde::{Serialize, de::DeserializeOwned};

use super::server::{DeferredRequest, Server, ServerSnapshot, Task};
use crate::{
    analysis::Cancelled,
    stdx::{CancelToken, panic_message},
};

/// An error answer: one mapping point from everything that can fail to a JSON-RPC error.
#[derive(Debug)]
pub(crate) struct LspError {
    pub code: i32,
    pub message: String,
}

impl LspError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> LspError {
        LspError { code: code as i32, message: message.into() }
    }

    pub fn content_modified() -> LspError {
        LspError::new(ErrorCode::ContentModified, "content modified")
    }
}

impl From<anyhow::Error> for LspError {
    fn from(err: anyhow::Error) -> LspError {
        LspError::new(ErrorCode::InternalError, format!("{err:#}"))
    }
}

impl From<Cancelled> for LspError {
    fn from(_: Cancelled) -> LspError {
        LspError::new(ErrorCode::RequestCanceled, "request cancelled")
    }
}

pub(crate) type LspResult<T> = Result<T, LspError>;

pub(crate) struct RequestDispatcher<'a> {
    server: &'a mut Server,
    request: Option<Request>,
    allow_unready_index: bool,
}

impl<'a> RequestDispatcher<'a> {
    pub fn new(server: &'a mut Server, request: Request) -> RequestDispatcher<'a> {
        RequestDispatcher { server, request: Some(request), allow_unready_index: false }
    }

    /// The request already waited for the index; answer from whatever is there.
    pub fn allow_unready_index(&mut self) {
        self.allow_unready_index = true;
    }

    pub fn on_sync_mut<R>(&mut self, handler: fn(&mut Server, R::Params) -> LspResult<R::Result>) -> &mut Self
    where
        R: lsp_types::request::Request,
        R::Params: DeserializeOwned,
        R::Result: Serialize,
    {
        let Some((id, params)) = self.parse::<R>() else { return self };
        let _span = tracing::info_span!("request", method = R::METHOD, id = %id).entered();
        let result = catch_unwind(AssertUnwindSafe(|| handler(self.server, params)));
        let response = into_response(R::METHOD, id, result);
        self.server.respond(response);
        self
    }

    pub fn on<R>(
        &mut self,
        handler: fn(ServerSnapshot, R::Params, &CancelToken) -> LspResult<R::Result>,
    ) -> &mut Self
    where
        R: lsp_types::request::Request,
        R::Params: DeserializeOwned + Send + 'static,
        R::Result: Serialize,
    {
        let Some((id, params)) = self.parse::<R>() else { return self };
        let Some(token) = self.server.pending.get(&id).map(|p| p.token.clone()) else { return self };
        let mut snapshot = self.server.snapshot();
        snapshot.request = Some(id.clone());
        let tasks = self.server.task_sender.clone();
        self.server.workers.spawn(move || {
            if token.is_cancelled() {
                return; // already answered with RequestCancelled
            }
            let _span = tracing::info_span!("request", method = R::METHOD, id = %id).entered();
            let result = catch_unwind(AssertUnwindSafe(|| handler(snapshot, params, &token)));
            let _ = tasks.send(Task::Respond(into_response(R::METHOD, id, result)));
        });
        self
    }

    pub fn on_indexed<R>(
        &mut self,
        handler: fn(ServerSnapshot, R::Params, &CancelToken) -> LspResult<R::Result>,
    ) -> &mut Self
    where
        R: lsp_types::request::Request,
        R::Params: DeserializeOwned + Send + 'static,
        R::Result: Serialize,
    {
        let waits = !self.allow_unready_index && !self.server.host.index_ready();
        if waits && self.request.as_ref().is_some_and(|r| r.method == R::METHOD) {
            let request = self.request.take().expect("checked above");
            // A client that never sent `initialized` still gets an index.
            self.server.start_indexing();
            let wait = Duration::from_millis(self.server.config.workspace_symbol_wait_ms);
            self.server.deferred.push(DeferredRequest { request, deadline: Instant::now() + wait });
            return self;
        }
        self.on::<R>(handler)
    }

    /// Requests that only exist for the protocol tests.
    pub fn on_test_hook<R>(
        &mut self,
        handler: fn(ServerSnapshot, R::Params, &CancelToken) -> LspResult<R::Result>,
    ) -> &mut Self
    where
        R: lsp_types::request::Request,
        R::Params: DeserializeOwned + Send + 'static,
        R::Result: Serialize,
    {
        if self.server.options.test_hooks { self.on::<R>(handler) } else { self }
    }

    pub fn finish(&mut self) {
        if let Some(request) = self.request.take() {
            tracing::debug!("unknown request {}", request.method);
            let message = format!("unknown request {}", request.method);
            self.server.respond(Response::new_err(request.id, ErrorCode::MethodNotFound as i32, message));
        }
    }

    fn parse<R>(&mut self) -> Option<(RequestId, R::Params)>
    where
        R: lsp_types::request::Request,
        R::Params: DeserializeOwned,
    {
        let request = self.request.take_if(|r| r.method == R::METHOD)?;
        match parse_params::<R::Params>(request.params) {
            Ok(params) => Some((request.id, params)),
            Err(err) => {
                let message = format!("invalid params for {}: {err}", R::METHOD);
                tracing::warn!("{message}");
                self.server.respond(Response::new_err(request.id, ErrorCode::InvalidParams as i32, message));
                None
            }
        }
    }
}

/// Parses params; a request with no params (`null`, `{}` or `[]`) may stand for `()`.
fn parse_params<P: DeserializeOwned>(params: serde_json::Value) -> serde_json::Result<P> {
    let empty = match &params {
        serde_json::Value::Object(map) => map.is_empty(),
        serde_json::Value::Array(items) => items.is_empty(),
        _ => false,
    };
    serde_json::from_value(params).or_else(|err| {
        if empty { serde_json::from_value(serde_json::Value::Null).map_err(|_| err) } else { Err(err) }
    })
}

fn into_response<T: Serialize>(
    method: &str,
    id: RequestId,
    result: std::thread::Result<LspResult<T>>,
) -> Response {
    match result {
        Ok(Ok(value)) => Response::new_ok(id, value),
        Ok(Err(err)) => {
            if err.code == ErrorCode::InternalError as i32 {
                tracing::error!("{method} failed: {}", err.message);
            }
            Response::new_err(id, err.code, err.message)
        }
        Err(panic) => {
            let message = panic_message(&*panic);
            tracing::error!("{method} handler panicked: {message}");
            Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                format!("internal error in {method}: {message}"),
            )
        }
    }
}

pub(crate) struct NotificationDispatcher<'a> {
    server: &'a mut Server,
    notification: Option<Notification>,
}

impl<'a> NotificationDispatcher<'a> {
    pub fn new(server: &'a mut Server, notification: Notification) -> NotificationDispatcher<'a> {
        NotificationDispatcher { server, notification: Some(notification) }
    }

    pub fn on_sync_mut<N>(&mut self, handler: fn(&mut Server, N::Params) -> anyhow::Result<()>) -> &mut Self
    where
        N: lsp_types::notification::Notification,
        N::Params: DeserializeOwned,
    {
        let Some(notification) = self.notification.take_if(|n| n.method == N::METHOD) else { return self };
        let params = match parse_params::<N::Params>(notification.params) {
            Ok(params) => params,
            Err(err) => {
                tracing::warn!("ignoring {} with invalid params: {err}", N::METHOD);
                return self;
            }
        };
        let _span = tracing::info_span!("notification", method = N::METHOD).entered();
        match catch_unwind(AssertUnwindSafe(|| handler(self.server, params))) {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("{} failed: {err:#}", N::METHOD),
            Err(panic) => {
                let message = panic_message(&*panic);
                tracing::error!("{} handler panicked: {message}", N::METHOD);
                self.server.show_error(&format!("repolens: internal error while handling {}", N::METHOD));
            }
        }
        self
    }

    pub fn finish(&mut self) {
        if let Some(notification) = self.notification.take() {
            // `$/` notifications are optional by spec; others we simply do not handle.
            tracing::debug!("ignoring notification {}", notification.method);
        }
    }
}
