//! repolens' own protocol extensions (documented in `docs/lsp-extensions.md`).

use serde::{Deserialize, Serialize};

/// `repolens/status`: what the server has indexed and how long each phase took.
pub enum Status {}

impl lsp_types::request::Request for Status {
    type Params = ();
    type Result = serde_json::Value;
    const METHOD: &'static str = "repolens/status";
}

/// `repolens/internal/panic`: panics inside a worker. Served only with `ServerOptions::test_hooks`,
/// so that the protocol tests can prove a panicking handler is answered and survived.
pub enum InternalPanic {}

#[derive(Debug, Deserialize, Serialize)]
pub struct InternalPanicParams {
    pub message: String,
}

impl lsp_types::request::Request for InternalPanic {
    type Params = InternalPanicParams;
    type Result = ();
    const METHOD: &'static str = "repolens/internal/panic";
}

/// `repolens/internal/documentText`: the server's copy of an open document (test hook), so the
/// tests can prove that edits were applied in order.
pub enum InternalDocumentText {}

impl lsp_types::request::Request for InternalDocumentText {
    type Params = lsp_types::TextDocumentIdentifier;
    type Result = Option<String>;
    const METHOD: &'static str = "repolens/internal/documentText";
}

/// `repolens/internal/block`: a worker that runs until its request is cancelled (or 30 s pass),
/// so the protocol tests can cancel a request that is certainly still running (test hook).
pub enum InternalBlock {}

impl lsp_types::request::Request for InternalBlock {
    type Params = ();
    type Result = ();
    const METHOD: &'static str = "repolens/internal/block";
}
