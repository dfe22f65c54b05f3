//! repolens' own protocol extensions (documented in `docs/lsp-extensions.md`): custom requests,
//! the commands behind code actions, and what rides in the `data` of repolens diagnostics.

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

/// `repolens.explainRisk` (`workspace/executeCommand`), the command behind the "Explain risk"
/// code action: arguments `[uri, qualified name]`; answers the function's risk breakdown as
/// Markdown and shows it (`window/showDocument` when the client supports it, else
/// `window/showMessage`).
pub const EXPLAIN_RISK: &str = "repolens.explainRisk";

/// The `data` of a risk diagnostic (code `risk/<dominant factor>`): the function and every factor
/// of its score with its value and its percentile in the repository.
#[derive(Debug, Deserialize, Serialize)]
pub struct RiskDiagnosticData {
    /// Always `"risk"`.
    pub kind: String,
    /// `Class.method` / `outer.inner`.
    pub qual: String,
    pub percentile: f64,
    pub factors: Vec<RiskFactorData>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct RiskFactorData {
    /// `size`, `complexity`, `churn`, `fixes`, `authors`, `age`, `fan-in`, `untested`.
    pub factor: String,
    pub value: f64,
    pub percentile: f64,
}

/// The `data` of a smell diagnostic (code `smell/<rule>`): what a quick fix (or the repair
/// pipeline) needs, with edits already in the negotiated position encoding.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmellDiagnosticData {
    /// Always `"smell"`.
    pub kind: String,
    /// The rule, e.g. `mutable-default-argument`.
    pub rule: String,
    /// What it is about: the parameter's name, the operator, the exception caught.
    pub subject: String,
    /// `None` when no mechanical fix keeps the code valid.
    pub fix: Option<SmellFixData>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmellFixData {
    pub title: String,
    /// The fix renames something callers may use by keyword: test before offering it.
    pub changes_interface: bool,
    /// Applied together, like a `TextEdit[]`.
    pub edits: Vec<lsp_types::TextEdit>,
}
