//! The protocol edge: the only module that names LSP types or speaks JSON-RPC.
//!
//! A reader thread frames messages from the client; the main loop ([`server`]) applies document
//! notifications in arrival order on its own thread (the one ordered writer) and hands requests
//! to workers with an immutable snapshot; a writer thread sends what comes back. Every request
//! is answered exactly once — cancelled, failed, panicked or not.

mod capabilities;
mod dispatch;
pub mod ext;
mod from_proto;
mod handlers;
mod history;
mod indexing;
mod progress;
mod server;
mod to_proto;
mod transport;

use std::io::{BufRead, Write};

pub use server::ServerOptions;

/// How the session ended, which decides the process exit code (LSP: 0 only after `shutdown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit` after `shutdown`.
    Clean,
    /// `exit` without `shutdown`, or the client went away.
    Abrupt,
}

/// Serves LSP over stdin/stdout until the client says `exit` or goes away.
pub fn run_stdio(options: ServerOptions) -> ExitStatus {
    run(std::io::BufReader::new(std::io::stdin()), std::io::stdout(), options)
}

/// Serves LSP over any byte streams (the tests use in-process pipes).
pub fn run(
    reader: impl BufRead + Send + 'static,
    writer: impl Write + Send + 'static,
    options: ServerOptions,
) -> ExitStatus {
    let (incoming, _reader_thread) = transport::spawn_reader(reader);
    let (outgoing, writer_thread) = transport::spawn_writer(writer);
    let status = server::Server::new(outgoing, options).run(incoming);
    // The server (and with it every sender) is gone: the writer drains what is queued and stops.
    // The reader may be blocked on input that never comes; it dies with the process.
    let _ = writer_thread.join();
    status
}
