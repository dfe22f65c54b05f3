//! Framing: `Content-Length` messages in from a reader thread, out through a writer thread.
//!
//! The reader is written to survive anything a client (or a fuzzer) can send: a body that is not
//! UTF-8, not JSON, or not a JSON-RPC message becomes a [`Incoming::Malformed`] that the server
//! answers with an error, and reading goes on. Garbage between messages is skipped up to the
//! next header block. Only end of input or a read error ends the stream.

use std::{
    io::{self, BufRead, Write},
    thread,
};

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{ErrorCode, Message, RequestId};

/// Messages larger than this are read and discarded (a 2 MB file is ~3 MB of JSON).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// Longer header lines are not headers.
const MAX_HEADER_LINE: usize = 8 * 1024;

/// What the writer thread sends.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Message(Message),
    /// An error answer to a frame whose id could not be read: JSON-RPC's `"id": null`.
    ErrorWithoutId {
        code: ErrorCode,
        message: String,
    },
}

impl From<Message> for Outgoing {
    fn from(message: Message) -> Outgoing {
        Outgoing::Message(message)
    }
}

#[derive(Debug)]
pub(crate) enum Incoming {
    Message(Message),
    /// A frame that could not be turned into a message; answered with `code`.
    Malformed {
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    },
}

pub(crate) fn spawn_reader(
    mut reader: impl BufRead + Send + 'static,
) -> (Receiver<Incoming>, thread::JoinHandle<()>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let handle = thread::Builder::new()
        .name("repolens-reader".into())
        .spawn(move || {
            loop {
                match read_frame(&mut reader) {
                    Ok(Some(frame)) => {
                        if tx.send(frame).is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::error!("reading from the client failed: {err}");
                        break;
                    }
                }
            }
        })
        .expect("spawning the reader thread");
    (rx, handle)
}

pub(crate) fn spawn_writer(
    mut writer: impl Write + Send + 'static,
) -> (Sender<Outgoing>, thread::JoinHandle<()>) {
    let (tx, rx) = crossbeam_channel::unbounded::<Outgoing>();
    let handle = thread::Builder::new()
        .name("repolens-writer".into())
        .spawn(move || {
            for outgoing in rx {
                let written = match outgoing {
                    Outgoing::Message(message) => message.write(&mut writer),
                    Outgoing::ErrorWithoutId { code, message } => {
                        let body = serde_json::json!({
                            "jsonrpc": "2.0",
                            "id": null,
                            "error": { "code": code as i32, "message": message },
                        })
                        .to_string();
                        write!(writer, "Content-Length: {}\r\n\r\n{body}", body.len())
                            .and_then(|()| writer.flush())
                    }
                };
                if let Err(err) = written {
                    tracing::error!("writing to the client failed: {err}");
                    break;
                }
            }
            let _ = writer.flush();
        })
        .expect("spawning the writer thread");
    (tx, handle)
}

/// Reads one frame. `Ok(None)` at end of input.
fn read_frame(reader: &mut impl BufRead) -> io::Result<Option<Incoming>> {
    let mut content_length: Option<usize> = None;
    let mut saw_header = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = io::Read::take(&mut *reader, MAX_HEADER_LINE as u64).read_until(b'\n', &mut line)?;
        if n == 0 {
            if saw_header {
                tracing::warn!("input ended inside a message header");
            }
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !saw_header {
                continue; // stray blank line between messages
            }
            break;
        }
        match text.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("content-length") => {
                saw_header = true;
                content_length = value.trim().parse().ok();
                if content_length.is_none() {
                    tracing::warn!("ignoring a bad Content-Length header: {text:?}");
                }
            }
            Some((name, _)) if !name.is_empty() && !name.contains(char::is_whitespace) => {
                tracing::debug!("ignoring header {name:?}");
                saw_header = true;
            }
            _ => {
                tracing::warn!("skipping bytes that are not a message header: {:.80?}", text);
                saw_header = false;
                content_length = None;
            }
        }
    }
    let Some(len) = content_length else {
        return Ok(Some(malformed(None, ErrorCode::ParseError, "message without a Content-Length header")));
    };
    if len > MAX_MESSAGE_BYTES {
        io::copy(&mut io::Read::take(&mut *reader, len as u64), &mut io::sink())?;
        return Ok(Some(malformed(None, ErrorCode::InvalidRequest, "message too large")));
    }
    let mut body = vec![0; len];
    if let Err(err) = reader.read_exact(&mut body) {
        if err.kind() == io::ErrorKind::UnexpectedEof {
            tracing::warn!("input ended inside a message body");
            return Ok(None);
        }
        return Err(err);
    }
    Ok(Some(parse_body(&body)))
}

fn parse_body(body: &[u8]) -> Incoming {
    if std::str::from_utf8(body).is_err() {
        return malformed(None, ErrorCode::ParseError, "message body is not valid UTF-8");
    }
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(err) => {
            return malformed(None, ErrorCode::ParseError, &format!("message body is not JSON: {err}"));
        }
    };
    let id = value.get("id").and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
    // `Message` is an untagged enum that would read `{"id": 1}` as an empty response; JSON-RPC
    // requires a method (request, notification) or a result or error (response).
    let shaped = value.get("method").is_some_and(|m| m.is_string())
        || value.get("result").is_some()
        || value.get("error").is_some();
    if !shaped {
        return malformed(
            id,
            ErrorCode::InvalidRequest,
            "not a JSON-RPC message: no method, result or error",
        );
    }
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Incoming::Message(message),
        Err(err) => malformed(id, ErrorCode::InvalidRequest, &format!("not a JSON-RPC message: {err}")),
    }
}

fn malformed(id: Option<RequestId>, code: ErrorCode, message: &str) -> Incoming {
    tracing::warn!("malformed message from the client: {message}");
    Incoming::Malformed { id, code, message: message.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Incoming> {
        let mut reader = io::BufReader::new(input);
        std::iter::from_fn(|| read_frame(&mut reader).unwrap()).collect()
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn bad_frames_are_reported_and_reading_continues() {
        let mut input = frame(br#"{"jsonrpc":"2.0","id":1,"method":"#);
        input.extend(frame(b"\xff\xfe"));
        input.extend(b"garbage line\r\n");
        input.extend(frame(br#"{"jsonrpc":"2.0","id":7}"#));
        input.extend(frame(br#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#));
        let got = frames(&input);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(matches!(got[0], Incoming::Malformed { code: ErrorCode::ParseError, .. }));
        assert!(matches!(got[1], Incoming::Malformed { code: ErrorCode::ParseError, .. }));
        assert!(
            matches!(&got[2], Incoming::Malformed { code: ErrorCode::InvalidRequest, id: Some(id), .. } if *id == RequestId::from(7))
        );
        assert!(matches!(&got[3], Incoming::Message(Message::Request(r)) if r.method == "shutdown"));
    }

    #[test]
    fn truncated_input_ends_the_stream_quietly() {
        let mut input = frame(br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#);
        input.extend(b"Content-Length: 100\r\n\r\n{\"jsonrpc\"");
        let got = frames(&input);
        assert_eq!(got.len(), 1);
    }
}
