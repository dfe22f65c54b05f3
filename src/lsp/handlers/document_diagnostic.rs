//! `textDocument/diagnostic`: one document's risk diagnostics and smells, pulled; an unchanged
//! report when the client's previous result still holds.

use lsp_types::{
    DocumentDiagnosticParams, DocumentDiagnosticReport, DocumentDiagnosticReportResult,
    FullDocumentDiagnosticReport, RelatedFullDocumentDiagnosticReport,
    RelatedUnchangedDocumentDiagnosticReport, UnchangedDocumentDiagnosticReport,
};

use super::publish_diagnostics::{file_diagnostics, result_id};
use crate::{
    lsp::{dispatch::LspResult, from_proto, server::ServerSnapshot},
    stdx::CancelToken,
};

/// `textDocument/diagnostic`.
/// How long a pull waits for the repository's risk scores.
const RISK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) fn handle_document_diagnostic(
    snap: ServerSnapshot,
    params: DocumentDiagnosticParams,
    cancel: &CancelToken,
) -> LspResult<DocumentDiagnosticReportResult> {
    let analysis = &snap.analysis;
    // A pull that arrives while the repository is still being scored waits for the scores
    // (bounded): an empty early answer would stay on screen for clients that cannot be told to
    // pull again (no `workspace/diagnostic/refresh` support, e.g. Neovim 0.11).
    let deadline = std::time::Instant::now() + RISK_WAIT;
    while snap.risk.enabled && analysis.risk_table().is_none() && std::time::Instant::now() < deadline {
        if cancel.is_cancelled() {
            return Err(crate::lsp::dispatch::LspError::from(crate::analysis::Cancelled));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let items = analysis
        .file_id(&from_proto::vfs_path(&params.text_document.uri))
        .filter(|_| snap.risk.enabled)
        .and_then(|file| file_diagnostics(analysis, file, &snap.risk, snap.encoding))
        .map(|(.., items)| items)
        .unwrap_or_default();
    let id = result_id(&items);
    let report = if params.previous_result_id.as_deref() == Some(id.as_str()) {
        DocumentDiagnosticReport::Unchanged(RelatedUnchangedDocumentDiagnosticReport {
            related_documents: None,
            unchanged_document_diagnostic_report: UnchangedDocumentDiagnosticReport { result_id: id },
        })
    } else {
        DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
            related_documents: None,
            full_document_diagnostic_report: FullDocumentDiagnosticReport { result_id: Some(id), items },
        })
    };
    Ok(DocumentDiagnosticReportResult::Report(report))
}
