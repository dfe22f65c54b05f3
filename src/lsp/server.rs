//! The main loop and the state it owns.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender, select};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use rustc_hash::FxHashMap;

use super::{
    ExitStatus,
    dispatch::{NotificationDispatcher, RequestDispatcher},
    handlers::{self, DiagnosticsResult, DiagnosticsState},
    history::HistoryState,
    indexing::IndexState,
    transport::{Incoming, Outgoing},
};
use crate::{
    analysis::{Analysis, AnalysisHost, FactsByHash, HistoryLoad, ModelConfig, ModelEvent, ModelUpdater},
    config::{Config, RiskConfig},
    llm::LlmClient,
    stdx::{CancelToken, ThreadPool},
    syntax::FileSummary,
    syntax::Languages,
    text::PositionEncoding,
    workspace::{DiskChange, FileId, IndexBuild, ScanProgress, WorkspaceScan},
};

/// Knobs for embedding the server (tests); the binary uses the defaults.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Serve the `repolens/internal/*` requests the protocol tests use to provoke failures.
    pub test_hooks: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Uninitialized,
    Running,
    ShuttingDown,
}

/// What the main loop reacts to besides client messages.
pub(crate) enum Task {
    Respond(Response),
    IndexProgress(ScanProgress),
    /// Phase 1: definitions from the quick outline; enough for `workspace/symbol`.
    OutlineReady {
        scan: Box<WorkspaceScan>,
        elapsed: Duration,
    },
    /// Phase 2: the full parse (or `None`: cancelled).
    IndexDone {
        build: Option<Box<IndexBuild>>,
        /// Code facts read while parsing, for the model's first risk build.
        facts: FactsByHash,
        elapsed: Duration,
    },
    Model(ModelEvent),
    /// Files changed on disk (from the watcher or the client).
    DiskChanged(Vec<(PathBuf, DiskChange)>),
    /// A changed file, read and summarized again (`None`: gone or no longer indexable).
    DiskFileIndexed {
        file: FileId,
        /// Which re-read of the file this is (see `DiskReads`).
        read: u64,
        summary: Option<Arc<FileSummary>>,
    },
    HistoryLoaded {
        root: PathBuf,
        load: Box<HistoryLoad>,
    },
    HistoryDone,
    /// Some root's HEAD moved: refresh its history.
    HeadMoved,
    /// Diagnostics computed on a worker, to publish.
    Diagnostics(DiagnosticsResult),
}

/// A request that has not been answered yet.
pub(crate) struct PendingRequest {
    pub method: String,
    pub token: CancelToken,
    pub received: Instant,
}

/// A request parked until the index is ready (or its deadline passes).
pub(crate) struct DeferredRequest {
    pub request: Request,
    pub deadline: Instant,
}

/// Capabilities of the client that change what we send.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientSupport {
    pub work_done_progress: bool,
    pub hierarchical_document_symbols: bool,
    /// The client watches files for us if we register `workspace/didChangeWatchedFiles`.
    pub watched_files_registration: bool,
    /// The client pulls diagnostics (`textDocument/diagnostic`), so we do not push them.
    pub pull_diagnostics: bool,
    /// The client accepts `workspace/diagnostic/refresh`.
    pub diagnostic_refresh: bool,
    /// The client accepts `window/showDocument`.
    pub show_document: bool,
    /// The client accepts `workspace/applyEdit`.
    pub apply_edit: bool,
    /// Its workspace edits may be versioned `documentChanges`.
    pub document_changes: bool,
    /// It shows change annotations (and asks for confirmation when one says so).
    pub change_annotations: bool,
}

/// Where the client's answers to our requests go when a worker waits for one (by request id).
pub(crate) type Replies = Arc<parking_lot::Mutex<FxHashMap<RequestId, Sender<Response>>>>;

/// Read-only state a request handler needs, sent to a worker thread.
pub(crate) struct ServerSnapshot {
    pub analysis: Analysis,
    pub encoding: PositionEncoding,
    pub client: ClientSupport,
    pub risk: RiskConfig,
    /// The request being answered (set by the dispatcher for worker requests).
    pub request: Option<RequestId>,
    /// For progress and requests to the client from a worker (never for the response itself,
    /// which the dispatcher sends).
    pub sender: Sender<Outgoing>,
    /// The configured model, if any.
    pub llm: Option<LlmClient>,
    /// Where answers written as documents go.
    pub answers_dir: PathBuf,
    pub replies: Replies,
}

pub(crate) struct Server {
    pub(crate) sender: Sender<Outgoing>,
    pub(crate) options: ServerOptions,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) host: AnalysisHost,
    pub(crate) encoding: PositionEncoding,
    pub(crate) config: Config,
    pub(crate) client: ClientSupport,
    pub(crate) pending: FxHashMap<RequestId, PendingRequest>,
    pub(crate) deferred: Vec<DeferredRequest>,
    pub(crate) task_sender: Sender<Task>,
    task_receiver: Receiver<Task>,
    pub(crate) replies: Replies,
    pub(crate) workers: ThreadPool,
    pub(crate) next_request_id: u64,
    pub(crate) index: IndexState,
    pub(crate) history: HistoryState,
    pub(crate) model: Option<ModelUpdater>,
    /// Open documents whose model update is waiting for edits to settle, and until when.
    pub(crate) model_due: FxHashMap<FileId, Instant>,
    pub(crate) diagnostics: DiagnosticsState,
    /// The model answers use, from the environment, `initializationOptions.llm` and
    /// `.repolens.toml` (read at initialize).
    pub(crate) llm: Option<LlmClient>,
}

impl Server {
    pub(crate) fn new(sender: Sender<Outgoing>, options: ServerOptions) -> Server {
        let (task_sender, task_receiver) = crossbeam_channel::unbounded();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        Server {
            sender,
            options,
            lifecycle: Lifecycle::Uninitialized,
            host: AnalysisHost::new(Languages::embedded(), Vec::new()),
            encoding: PositionEncoding::Utf16,
            config: Config::default(),
            client: ClientSupport::default(),
            pending: FxHashMap::default(),
            deferred: Vec::new(),
            task_sender,
            task_receiver,
            replies: Replies::default(),
            workers: ThreadPool::new("repolens-worker", threads),
            next_request_id: 0,
            index: IndexState::default(),
            history: HistoryState::default(),
            model: None,
            model_due: FxHashMap::default(),
            diagnostics: DiagnosticsState::default(),
            llm: None,
        }
    }

    pub(crate) fn run(mut self, incoming: Receiver<Incoming>) -> ExitStatus {
        loop {
            let deadline = self
                .deferred
                .iter()
                .map(|d| d.deadline)
                .chain(self.model_due.values().copied())
                .chain(self.history.next_head_check)
                .min();
            let timeout = deadline.map_or(crossbeam_channel::never(), crossbeam_channel::at);
            select! {
                recv(incoming) -> message => match message {
                    Ok(Incoming::Message(Message::Notification(n))) if n.method == "exit" => {
                        return self.exit_status();
                    }
                    Ok(Incoming::Message(message)) => self.on_message(message),
                    Ok(Incoming::Malformed { id: Some(id), code, message }) => {
                        self.send(Response::new_err(id, code as i32, message).into());
                    }
                    Ok(Incoming::Malformed { id: None, code, message }) => {
                        let _ = self.sender.send(Outgoing::ErrorWithoutId { code, message });
                    }
                    Err(_) => {
                        tracing::info!("the client closed the connection");
                        return self.exit_status();
                    }
                },
                recv(self.task_receiver) -> task => {
                    if let Ok(task) = task {
                        self.on_task(task);
                    }
                },
                                recv(timeout) -> _ => {
                    self.release_deferred(false);
                    self.flush_model_updates(false);
                    if self.history.next_head_check.is_some_and(|at| at <= Instant::now()) {
                        self.check_heads();
                    }
                }
            }
        }
    }

    fn exit_status(&mut self) -> ExitStatus {
        self.index.cancel.cancel();
        if self.lifecycle == Lifecycle::ShuttingDown { ExitStatus::Clean } else { ExitStatus::Abrupt }
    }

    fn on_message(&mut self, message: Message) {
        match message {
            Message::Request(request) => self.on_request(request),
            Message::Notification(notification) => self.on_notification(notification),
            Message::Response(response) => {
                if let Some(waiting) = self.replies.lock().remove(&response.id) {
                    let _ = waiting.send(response);
                    return;
                }
                if let Some(err) = response.error {
                    tracing::warn!("client answered request {} with an error: {}", response.id, err.message);
                }
            }
        }
    }

    fn on_request(&mut self, request: Request) {
        self.pending.insert(
            request.id.clone(),
            PendingRequest {
                method: request.method.clone(),
                token: CancelToken::new(),
                received: Instant::now(),
            },
        );
        match self.lifecycle {
            Lifecycle::Uninitialized if request.method != "initialize" => {
                self.respond(Response::new_err(
                    request.id,
                    ErrorCode::ServerNotInitialized as i32,
                    "the server has not been initialized yet".into(),
                ));
            }
            Lifecycle::Running if request.method == "initialize" => {
                self.respond(Response::new_err(
                    request.id,
                    ErrorCode::InvalidRequest as i32,
                    "the server is already initialized".into(),
                ));
            }
            Lifecycle::ShuttingDown => {
                self.respond(Response::new_err(
                    request.id,
                    ErrorCode::InvalidRequest as i32,
                    "the server is shutting down".into(),
                ));
            }
            _ => handlers::dispatch_request(&mut RequestDispatcher::new(self, request)),
        }
    }

    fn on_notification(&mut self, notification: Notification) {
        if self.lifecycle == Lifecycle::Uninitialized {
            tracing::debug!("dropping {} sent before initialize", notification.method);
            return;
        }
        handlers::dispatch_notification(&mut NotificationDispatcher::new(self, notification));
    }

    fn on_task(&mut self, task: Task) {
        match task {
            Task::Respond(response) => self.respond(response),
            Task::IndexProgress(progress) => self.on_index_progress(progress),
            Task::OutlineReady { scan, elapsed } => self.on_outline_ready(*scan, elapsed),
            Task::IndexDone { build, facts, elapsed } => self.finish_indexing(build, facts, elapsed),
            Task::Model(event) => self.on_model_event(event),
            Task::DiskChanged(changes) => self.on_disk_changes(changes),
            Task::DiskFileIndexed { file, read, summary } => self.on_disk_file_indexed(file, read, summary),
            Task::HistoryLoaded { root, load } => self.on_history_loaded(root, *load),
            Task::HistoryDone => self.on_history_done(),
            Task::HeadMoved => self.start_history(),
            Task::Diagnostics(result) => self.on_diagnostics(result),
        }
    }

    /// Sends a response unless the request was already answered (e.g. cancelled).
    pub(crate) fn respond(&mut self, response: Response) {
        match self.pending.remove(&response.id) {
            Some(pending) => {
                let ms = pending.received.elapsed().as_secs_f64() * 1000.0;
                tracing::debug!(method = %pending.method, id = %response.id, "answered in {ms:.1} ms");
                self.send(response.into());
            }
            None => tracing::debug!("dropping a late response to request {}", response.id),
        }
    }

    /// Answers a pending request with `RequestCancelled` and tells its worker to stop.
    pub(crate) fn cancel(&mut self, id: RequestId) {
        let Some(pending) = self.pending.get(&id) else { return };
        pending.token.cancel();
        self.deferred.retain(|d| d.request.id != id);
        self.respond(Response::new_err(id, ErrorCode::RequestCanceled as i32, "request cancelled".into()));
    }

    pub(crate) fn send(&self, message: Message) {
        if self.sender.send(message.into()).is_err() {
            tracing::error!("the writer thread is gone; dropping a message");
        }
    }

    pub(crate) fn send_request(&mut self, method: &str, params: serde_json::Value) {
        self.next_request_id += 1;
        let id = RequestId::from(format!("repolens/{}", self.next_request_id));
        self.send(Request::new(id, method.to_owned(), params).into());
    }

    pub(crate) fn send_notification(&self, method: &str, params: serde_json::Value) {
        self.send(Notification::new(method.to_owned(), params).into());
    }

    pub(crate) fn snapshot(&self) -> ServerSnapshot {
        ServerSnapshot {
            analysis: self.host.snapshot(),
            encoding: self.encoding,
            client: self.client.clone(),
            risk: self.config.risk.clone(),
            request: None,
            sender: self.sender.clone(),
            llm: self.llm.clone(),
            answers_dir: self.answers_dir(),
            replies: self.replies.clone(),
        }
    }

    /// Called once `initialize` has been answered.
    pub(crate) fn on_initialized(&mut self, roots: Vec<PathBuf>, languages: Languages) {
        self.host = AnalysisHost::new(languages.clone(), roots);
        let tasks = self.task_sender.clone();
        let config = ModelConfig {
            languages,
            cache: self.config.index_cache(self.host.roots()),
            max_file_size: self.config.max_file_size,
            cold: false,
            search: true,
        };
        self.model = Some(ModelUpdater::spawn(self.host.model().clone(), config, move |event| {
            let _ = tasks.send(Task::Model(event));
        }));
        self.lifecycle = Lifecycle::Running;
    }

    /// Answers written for `repolens.ask` go next to the index cache (never into the workspace),
    /// else under the system's temporary directory.
    pub(crate) fn answers_dir(&self) -> PathBuf {
        match self.config.index_cache(self.host.roots()) {
            Some(cache) => cache.dir().join("answers"),
            None => std::env::temp_dir().join("repolens-answers"),
        }
    }

    /// Dispatches parked requests: all of them once the index is ready, else the overdue ones.
    pub(crate) fn release_deferred(&mut self, all: bool) {
        let now = Instant::now();
        let (due, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.deferred).into_iter().partition(|d| all || d.deadline <= now);
        self.deferred = waiting;
        for deferred in due {
            if !all {
                tracing::warn!(
                    "{} waited for the index too long; answering from what is ready",
                    deferred.request.method
                );
            }
            let mut dispatcher = RequestDispatcher::new(self, deferred.request);
            dispatcher.allow_unready_index();
            handlers::dispatch_request(&mut dispatcher);
        }
    }

    pub(crate) fn show_error(&self, message: &str) {
        self.show_message(lsp_types::MessageType::ERROR, message);
    }

    pub(crate) fn show_warning(&self, message: &str) {
        self.show_message(lsp_types::MessageType::WARNING, message);
    }

    fn show_message(&self, typ: lsp_types::MessageType, message: &str) {
        let params = lsp_types::ShowMessageParams { typ, message: message.to_owned() };
        self.send_notification("window/showMessage", serde_json::to_value(params).unwrap_or_default());
    }
}
