//! A scripted OpenAI-compatible server on 127.0.0.1 for tests: a real HTTP/1.1 listener that
//! answers each request with the next scripted reply and records every request it receives, so
//! tests can check what a client sent (and that no secret was in it). No network beyond loopback.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use serde_json::{Value, json};

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A status and a JSON (or any) body.
    Body { status: u16, body: String },
    /// A `text/event-stream` of these `data:` payloads, then `data: [DONE]`.
    Stream(Vec<String>),
    /// Waits, then replies (or, if the client hung up, does not).
    Delayed(Duration, Box<Reply>),
}

/// A chat completion whose answer is `text`.
pub fn completion(text: &str) -> Reply {
    let body = json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150 },
    });
    Reply::Body { status: 200, body: body.to_string() }
}

/// An OpenAI-style error.
pub fn error(status: u16, message: &str) -> Reply {
    let body = json!({ "error": { "message": message, "type": "test_error", "param": null, "code": null } });
    Reply::Body { status, body: body.to_string() }
}

/// The answer streamed in `parts`, with a final usage chunk.
pub fn stream(parts: &[&str]) -> Reply {
    let mut events: Vec<String> = parts
        .iter()
        .map(|p| {
            json!({
                "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
                "choices": [{ "index": 0, "delta": { "content": p }, "finish_reason": null }],
            })
            .to_string()
        })
        .collect();
    events.push(
        json!({
            "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
            "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }],
        })
        .to_string(),
    );
    events.push(
        json!({
            "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
            "choices": [], "usage": { "prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107 },
        })
        .to_string(),
    );
    Reply::Stream(events)
}

pub struct FakeOpenAi {
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl FakeOpenAi {
    /// Starts serving `script`, one reply per request, in order; requests beyond the script get
    /// a 500.
    pub fn start(script: Vec<Reply>) -> FakeOpenAi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let script = Arc::new(Mutex::new(std::collections::VecDeque::from(script)));
        let stop = Arc::new(AtomicBool::new(false));
        let (recorded, stopping) = (requests.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (recorded, script) = (recorded.clone(), script.clone());
                thread::spawn(move || serve(stream, &recorded, &script));
            }
        });
        FakeOpenAi { base_url: format!("http://127.0.0.1:{port}/v1"), requests, stop, port }
    }

    /// Every request received so far: request line, headers and body.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// The JSON bodies of the requests received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .filter_map(|r| r.split_once("\r\n\r\n").and_then(|(_, body)| serde_json::from_str(body).ok()))
            .collect()
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    stream: TcpStream,
    recorded: &Mutex<Vec<String>>,
    script: &Mutex<std::collections::VecDeque<Reply>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    recorded.lock().unwrap().push(format!("{head}{}", String::from_utf8_lossy(&body)));
    let reply = script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| error(500, "the test script has no more replies"));
    respond(stream, reply);
}

fn respond(stream: TcpStream, reply: Reply) {
    let mut stream = stream;
    match reply {
        Reply::Delayed(delay, reply) => {
            thread::sleep(delay);
            return respond(stream, *reply);
        }
        Reply::Body { status, body } => {
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Reply::Stream(events) => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
            );
            for event in events {
                let _ = write!(stream, "data: {event}\n\n");
                let _ = stream.flush();
            }
            let _ = write!(stream, "data: [DONE]\n\n");
        }
    }
    let _ = stream.flush();
}
