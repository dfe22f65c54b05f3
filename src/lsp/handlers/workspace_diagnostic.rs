//! `workspace/diagnostic`: every file's risk diagnostics and smells, pulled.

use lsp_types::{
    FullDocumentDiagnosticReport, UnchangedDocumentDiagnosticReport, WorkspaceDiagnosticParams,
    WorkspaceDiagnosticReport, WorkspaceDiagnosticReportResult, WorkspaceDocumentDiagnosticReport,
    WorkspaceFullDocumentDiagnosticReport, WorkspaceUnchangedDocumentDiagnosticReport,
};
use rustc_hash::FxHashMap;

use super::publish_diagnostics::{all_diagnostics, result_id};
use crate::{
    lsp::{dispatch::LspResult, server::ServerSnapshot},
    stdx::CancelToken,
};

/// `workspace/diagnostic`: every file with diagnostics (and files the client had results for,
/// so that it can clear them), unchanged reports where its previous result still holds.
pub(crate) fn handle_workspace_diagnostic(
    snap: ServerSnapshot,
    params: WorkspaceDiagnosticParams,
    cancel: &CancelToken,
) -> LspResult<WorkspaceDiagnosticReportResult> {
    let previous: FxHashMap<lsp_types::Url, String> =
        params.previous_result_ids.into_iter().map(|p| (p.uri, p.value)).collect();
    let mut items = Vec::new();
    if snap.risk.enabled {
        for (_, uri, version, diagnostics) in all_diagnostics(&snap.analysis, &snap.risk, snap.encoding) {
            if cancel.is_cancelled() {
                return Err(crate::analysis::Cancelled.into());
            }
            if diagnostics.is_empty() && !previous.contains_key(&uri) {
                continue;
            }
            let id = result_id(&diagnostics);
            let version = version.map(i64::from);
            items.push(if previous.get(&uri) == Some(&id) {
                WorkspaceDocumentDiagnosticReport::Unchanged(WorkspaceUnchangedDocumentDiagnosticReport {
                    uri,
                    version,
                    unchanged_document_diagnostic_report: UnchangedDocumentDiagnosticReport { result_id: id },
                })
            } else {
                WorkspaceDocumentDiagnosticReport::Full(WorkspaceFullDocumentDiagnosticReport {
                    uri,
                    version,
                    full_document_diagnostic_report: FullDocumentDiagnosticReport {
                        result_id: Some(id),
                        items: diagnostics,
                    },
                })
            });
        }
    }
    Ok(WorkspaceDiagnosticReportResult::Report(WorkspaceDiagnosticReport { items }))
}
