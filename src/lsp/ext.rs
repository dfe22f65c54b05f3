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

/// `repolens/ask`: a question about the repository → an answer whose every `[n]` is a citation.
pub enum Ask {}

impl lsp_types::request::Request for Ask {
    type Params = AskParams;
    type Result = AskResult;
    const METHOD: &'static str = "repolens/ask";
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AskParams {
    pub question: String,
    /// The document the question is asked from; with `position`, its symbol seeds retrieval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_document: Option<lsp_types::TextDocumentIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<lsp_types::Position>,
    /// Most locations in the answer (default 5, at most 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    #[serde(flatten)]
    pub work_done_progress_params: lsp_types::WorkDoneProgressParams,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AskResult {
    /// Markdown; `[n]` refers to `citations[n - 1]`.
    pub answer: String,
    pub citations: Vec<AskCitation>,
    /// `extractive` (no model) or `generative`.
    pub mode: String,
    /// Statements of the model's answer that were dropped, each with why.
    pub unverified: Vec<String>,
    /// Why a configured model was not used (the answer is extractive instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_error: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AskCitation {
    pub uri: lsp_types::Url,
    /// Whole lines, in the negotiated position encoding.
    pub range: lsp_types::Range,
    /// The commit (HEAD) the file was read at, when the workspace is a git repository.
    pub commit: Option<String>,
    /// `Class.method` when the citation is a symbol.
    pub symbol: Option<String>,
    pub snippet: String,
    pub score: f64,
    /// The retrieval signals that found it (`text`, `identifier`, `graph`, …).
    pub reasons: Vec<String>,
}

/// `workspace/executeCommand` with this command: the same as [`Ask`] for clients that cannot
/// send custom requests. Arguments: `[question]` or `[AskParams]`. The answer is written as
/// Markdown under the cache directory and shown with `window/showDocument`; the result is
/// [`AskCommandResult`].
pub const ASK_COMMAND: &str = "repolens.ask";

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AskCommandResult {
    /// The Markdown document written (absent if it could not be written).
    pub document: Option<lsp_types::Url>,
    #[serde(flatten)]
    pub result: AskResult,
}

/// `repolens.explainRisk` (`workspace/executeCommand`), the command behind the "Explain risk"
/// code action: arguments `[uri, qualified name]`; answers the function's risk breakdown as
/// Markdown and shows it (`window/showDocument` when the client supports it, else
/// `window/showMessage`).
pub const EXPLAIN_RISK: &str = "repolens.explainRisk";

/// The "Fix with tested patch…" code action's command: arguments `[FixArgs]`. Runs the repair
/// loop (mechanical fixes of the smells in the range, and a model's candidates when one is
/// configured) with `$/progress`, then offers the winner with `workspace/applyEdit` (versioned
/// `documentChanges`, a change annotation saying what was tested). Answers [`FixResult`].
pub const FIX_COMMAND: &str = "repolens.fix";

/// The "Generate a test for …" code action's command (offered on risk diagnostics when a model
/// is configured): arguments `[FixArgs]`. The model writes test files for the function at
/// `range`; one that passes on the current code and calls the function is offered as a new file
/// with `workspace/applyEdit`. Answers [`FixResult`].
pub const GENERATE_TEST_COMMAND: &str = "repolens.generateTest";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixArgs {
    pub uri: lsp_types::Url,
    pub range: lsp_types::Range,
    /// What is wrong, in words (the diagnostic's message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixResult {
    /// `applied`, `rejected` (the client did not apply the edit), `noWinner` or `cancelled`.
    pub status: String,
    /// One line for the user: what was tried and what the tests said.
    pub message: String,
    /// The selected candidate's (or, with no winner, the best candidate's) unified diff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    pub candidates: usize,
}

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
