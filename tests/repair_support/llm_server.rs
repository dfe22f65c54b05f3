//! A scripted OpenAI-compatible chat endpoint on loopback: each request to
//! `/v1/chat/completions` is recorded and answered by a script (a function of the request's
//! JSON), so that tests drive the model path with real HTTP and no network.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex},
};

use serde_json::{Value, json};

type Script = dyn Fn(&Value) -> String + Send + Sync;

pub struct ScriptedLlm {
    base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl ScriptedLlm {
    /// Serves until the test process ends (the listener thread is detached).
    pub fn start(script: impl Fn(&Value) -> String + Send + Sync + 'static) -> ScriptedLlm {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (script, recorded) = (script.clone(), recorded.clone());
                std::thread::spawn(move || serve(stream, &*script, &recorded));
            }
        });
        ScriptedLlm { base_url, requests }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every request body received so far, in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// The user message of every request.
    pub fn prompts(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                r["messages"]
                    .as_array()
                    .and_then(|m| m.iter().find(|m| m["role"] == "user"))
                    .and_then(|m| m["content"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

/// Answers requests on one connection until the client closes it (keep-alive).
fn serve(stream: TcpStream, script: &Script, recorded: &Mutex<Vec<Value>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        recorded.lock().unwrap().push(request.clone());
        let answer = script(&request);
        let response = json!({
            "id": "scripted",
            "object": "chat.completion",
            "created": 0,
            "model": "scripted-model",
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": answer },
                "finish_reason": "stop"
            }],
            "usage": { "prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120 }
        })
        .to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            response.len()
        );
        if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(response.as_bytes())).is_err() {
            return;
        }
    }
}
