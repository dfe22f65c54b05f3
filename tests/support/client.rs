//! A scripted LSP client. It answers the server's own requests (`workDoneProgress/create`,
//! `workspace/configuration`) and keeps every notification it sees, so tests can wait for them.

use std::{
    io::{BufRead, BufReader, Read, Write},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use repolens::lsp::{ExitStatus, ServerOptions};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

pub struct TestServerBuilder {
    encodings: Vec<&'static str>,
    root_uri: Option<String>,
    initialization_options: Value,
    progress: bool,
    hierarchical: bool,
    watched_files: bool,
    pull_diagnostics: bool,
    show_document: bool,
    cache_dir: Option<std::path::PathBuf>,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        TestServerBuilder {
            encodings: vec!["utf-16"],
            root_uri: None,
            initialization_options: Value::Null,
            progress: false,
            hierarchical: true,
            watched_files: false,
            pull_diagnostics: false,
            show_document: false,
            cache_dir: None,
        }
    }
}

impl TestServerBuilder {
    pub fn encodings(mut self, encodings: &[&'static str]) -> Self {
        self.encodings = encodings.to_vec();
        self
    }

    pub fn root_uri(mut self, uri: String) -> Self {
        self.root_uri = Some(uri);
        self
    }

    pub fn initialization_options(mut self, options: Value) -> Self {
        self.initialization_options = options;
        self
    }

    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// Keep the index cache here (without this, tests run with the cache off so that they
    /// never touch the user's cache directory).
    pub fn cache_dir(mut self, dir: &std::path::Path) -> Self {
        self.cache_dir = Some(dir.to_path_buf());
        self
    }

    /// Whether the client offers to watch files for the server (dynamic registration).
    pub fn watched_files(mut self, on: bool) -> Self {
        self.watched_files = on;
        self
    }

    /// Whether the client pulls diagnostics (`textDocument/diagnostic`, with refresh support)
    /// instead of taking pushes.
    pub fn pull_diagnostics(mut self, on: bool) -> Self {
        self.pull_diagnostics = on;
        self
    }

    /// Whether the client supports `window/showDocument`.
    pub fn show_document(mut self, on: bool) -> Self {
        self.show_document = on;
        self
    }

    pub fn hierarchical_symbols(mut self, on: bool) -> Self {
        self.hierarchical = on;
        self
    }

    pub fn initialize_params(&self) -> Value {
        let mut options = match &self.initialization_options {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        match &self.cache_dir {
            Some(dir) => {
                options.insert("cacheDir".into(), json!(dir));
            }
            None => {
                options.entry("noCache").or_insert(json!(true));
            }
        }
        let mut params = json!({
            "processId": null,
            "rootUri": self.root_uri,
            "capabilities": {
                "general": { "positionEncodings": self.encodings },
                "window": { "workDoneProgress": self.progress, "showDocument": { "support": self.show_document } },
                "workspace": {
                    "didChangeWatchedFiles": { "dynamicRegistration": self.watched_files },
                    "applyEdit": true,
                    "workspaceEdit": { "documentChanges": true, "changeAnnotationSupport": { "groupsOnLabel": false } }
                },
                "textDocument": {
                    "documentSymbol": { "hierarchicalDocumentSymbolSupport": self.hierarchical }
                }
            },
            "initializationOptions": options,
            "clientInfo": { "name": "repolens-tests" }
        });
        if self.pull_diagnostics {
            let caps = &mut params["capabilities"];
            caps["textDocument"]["diagnostic"] = json!({ "relatedDocumentSupport": false });
            caps["workspace"]["diagnostic"] = json!({ "refreshSupport": true });
        }
        params
    }

    /// Starts the server in this process, over OS pipes, with the test hooks on.
    pub fn start_in_process_for_test(&self) -> TestClient {
        let (server_in, client_out) = std::io::pipe().unwrap();
        let (client_in, server_out) = std::io::pipe().unwrap();
        let server = thread::spawn(move || {
            repolens::lsp::run(BufReader::new(server_in), server_out, ServerOptions { test_hooks: true })
        });
        TestClient::new(Box::new(client_out), Box::new(client_in), Backend::Thread(Some(server)))
    }

    /// Starts the built binary with `args` (e.g. `["serve"]`) over its stdio.
    pub fn start_binary(&self, args: &[&str]) -> TestClient {
        let mut child = Command::new(env!("CARGO_BIN_EXE_repolens"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("REPOLENS_TEST_STDERR").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("spawning the repolens binary");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        TestClient::new(Box::new(stdin), Box::new(stdout), Backend::Process(child))
    }
}

enum Backend {
    Thread(Option<thread::JoinHandle<ExitStatus>>),
    Process(Child),
}

pub struct TestClient {
    writer: Option<Box<dyn Write + Send>>,
    incoming: mpsc::Receiver<Incoming>,
    backend: Backend,
    next_id: i64,
    /// Every notification received so far, in order.
    pub notifications: Vec<Value>,
    /// Every request the server sent us, in order.
    pub server_requests: Vec<Value>,
    /// Responses that arrived while waiting for something else.
    responses: Vec<Value>,
    /// Raw bytes of every frame received, to check nothing but frames reach stdout.
    pub stray_output: Vec<u8>,
    /// What we answer to `workspace/applyEdit` (the edit itself is recorded, not applied).
    pub apply_edit_reply: Value,
}

enum Incoming {
    Message(Value),
    Stray(Vec<u8>),
}

impl TestClient {
    fn new(writer: Box<dyn Write + Send>, reader: Box<dyn Read + Send>, backend: Backend) -> TestClient {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || read_frames(BufReader::new(reader), tx));
        TestClient {
            writer: Some(writer),
            incoming: rx,
            backend,
            next_id: 0,
            notifications: Vec::new(),
            server_requests: Vec::new(),
            responses: Vec::new(),
            stray_output: Vec::new(),
            apply_edit_reply: json!({ "applied": true }),
        }
    }

    /// `initialize` + `initialized`; returns the initialize result.
    pub fn initialize(&mut self, builder: &TestServerBuilder) -> Value {
        let result = self.request_ok("initialize", builder.initialize_params());
        self.notify("initialized", json!({}));
        result
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let writer = self.writer.as_mut().expect("input already closed");
        writer.write_all(bytes).unwrap();
        writer.flush().unwrap();
    }

    pub fn send(&mut self, message: Value) {
        let body = message.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request without waiting; returns its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params }));
        self.next_id
    }

    /// The whole response object (with `result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.wait_response(&json!(id))
    }

    /// The `result` of a request; panics on an error response.
    pub fn request_ok(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    pub fn wait_response(&mut self, id: &Value) -> Value {
        if let Some(i) = self.responses.iter().position(|r| &r["id"] == id) {
            return self.responses.remove(i);
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message =
                self.next_message(deadline).unwrap_or_else(|| panic!("no response to request {id}"));
            if message.get("method").is_none() {
                if &message["id"] == id {
                    return message;
                }
                self.responses.push(message);
            }
        }
    }

    /// Waits for a notification satisfying `pred`, looking at those already received first.
    pub fn wait_notification(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(n) = self.notifications.iter().find(|n| n["method"] == method && pred(&n["params"])) {
            return n.clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next_message(deadline).unwrap_or_else(|| panic!("no {method} notification"));
            if message["method"] == method && message.get("id").is_none() && pred(&message["params"]) {
                return message;
            }
            if message.get("method").is_none() {
                self.responses.push(message);
            }
        }
    }

    /// Waits for a notification satisfying `pred` that arrives after this call (earlier ones,
    /// already recorded, do not count).
    pub fn wait_new_notification(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message =
                self.next_message(deadline).unwrap_or_else(|| panic!("no new {method} notification"));
            if message["method"] == method && message.get("id").is_none() && pred(&message["params"]) {
                return message;
            }
            if message.get("method").is_none() {
                self.responses.push(message);
            }
        }
    }

    /// Waits until the progress titled `title` ends; returns its `end` notification.
    pub fn wait_progress_end(&mut self, title: &str) -> Value {
        let begin = self.wait_notification("$/progress", |p| {
            p["value"]["kind"] == "begin" && p["value"]["title"] == title
        });
        let token = begin["params"]["token"].clone();
        self.wait_notification("$/progress", |p| p["token"] == token && p["value"]["kind"] == "end")
    }

    /// Waits until the workspace is indexed (symbols, graph and search).
    pub fn wait_indexed(&mut self) -> Value {
        self.wait_progress_end("Indexing")
    }

    /// Reads one message, answering server requests and recording notifications on the way.
    fn next_message(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let timeout = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(timeout).ok()? {
                Incoming::Stray(bytes) => self.stray_output.extend(bytes),
                Incoming::Message(message) => {
                    if message.get("method").is_some() {
                        if message.get("id").is_some() {
                            self.server_requests.push(message.clone());
                            let result = match message["method"].as_str() {
                                Some("workspace/configuration") => json!([]),
                                Some("workspace/applyEdit") => self.apply_edit_reply.clone(),
                                _ => Value::Null,
                            };
                            self.send(json!({ "jsonrpc": "2.0", "id": message["id"], "result": result }));
                        } else {
                            self.notifications.push(message.clone());
                        }
                    }
                    return Some(message);
                }
            }
        }
    }

    /// `shutdown` then `exit`; returns how the server ended.
    pub fn shutdown_and_exit(mut self) -> i32 {
        let response = self.request("shutdown", Value::Null);
        assert!(response.get("error").is_none(), "shutdown failed: {response}");
        self.notify("exit", Value::Null);
        self.wait_exit()
    }

    /// Closes our end and waits for the server to stop; returns its exit code (0 or 1).
    pub fn wait_exit(&mut self) -> i32 {
        match &mut self.backend {
            Backend::Thread(handle) => {
                let status = handle.take().unwrap().join().expect("server thread panicked");
                self.writer.take();
                match status {
                    ExitStatus::Clean => 0,
                    ExitStatus::Abrupt => 1,
                }
            }
            Backend::Process(child) => {
                let deadline = Instant::now() + TIMEOUT;
                loop {
                    if let Some(status) = child.try_wait().unwrap() {
                        self.writer.take();
                        return status.code().unwrap_or(-1);
                    }
                    assert!(Instant::now() < deadline, "the server did not exit");
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    pub fn exit_without_shutdown(mut self) -> i32 {
        self.notify("exit", Value::Null);
        self.wait_exit()
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        if let Backend::Process(child) = &mut self.backend {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_frames(mut reader: impl BufRead, tx: mpsc::Sender<Incoming>) {
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            match trimmed.strip_prefix("Content-Length: ") {
                Some(n) => length = n.parse::<usize>().ok(),
                None => {
                    let _ = tx.send(Incoming::Stray(line.into_bytes()));
                }
            }
        }
        let Some(length) = length else { continue };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        match serde_json::from_slice(&body) {
            Ok(value) => {
                if tx.send(Incoming::Message(value)).is_err() {
                    return;
                }
            }
            Err(_) => {
                let _ = tx.send(Incoming::Stray(body));
            }
        }
    }
}
