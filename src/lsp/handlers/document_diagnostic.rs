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
pub(crate) fn handle_document_diagnostic(
    snap: ServerSnapshot,
    params: DocumentDiagnosticParams,
    _: &CancelToken,
) -> LspResult<DocumentDiagnosticReportResult> {
    let analysis = &snap.analysis;
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
