//! Request and notification handlers: one file per method (older groups: `documents.rs` for
//! text synchronization, `symbols.rs`, `lifecycle.rs`). The two tables below are the
//! only place that says which method runs where (see `dispatch.rs` for the classes).

mod ask;
mod code_action;
mod document_diagnostic;
mod documents;
mod execute_command;
mod fix;
mod hover;
mod lifecycle;
mod publish_diagnostics;
mod symbols;
mod workspace_diagnostic;

use lsp_types::{notification as n, request as r};

pub(crate) use publish_diagnostics::{DiagnosticsResult, DiagnosticsState};

use super::{
    dispatch::{NotificationDispatcher, RequestDispatcher},
    ext,
};

pub(crate) fn dispatch_request(d: &mut RequestDispatcher<'_>) {
    d.on_sync_mut::<r::Initialize>(lifecycle::handle_initialize)
        .on_sync_mut::<r::Shutdown>(lifecycle::handle_shutdown)
        .on_sync_mut::<ext::Status>(lifecycle::handle_status)
        .on::<r::DocumentSymbolRequest>(symbols::handle_document_symbol)
        .on_indexed::<r::WorkspaceSymbolRequest>(symbols::handle_workspace_symbol)
        .on_indexed::<ext::Ask>(ask::handle_ask)
        .on::<r::DocumentDiagnosticRequest>(document_diagnostic::handle_document_diagnostic)
        .on::<r::WorkspaceDiagnosticRequest>(workspace_diagnostic::handle_workspace_diagnostic)
        .on::<r::HoverRequest>(hover::handle_hover)
        .on::<r::CodeActionRequest>(code_action::handle_code_action)
        .on_indexed::<r::ExecuteCommand>(execute_command::handle_execute_command)
        .on_test_hook::<ext::InternalPanic>(lifecycle::handle_internal_panic)
        .on_test_hook::<ext::InternalBlock>(lifecycle::handle_internal_block)
        .on_test_hook::<ext::InternalDocumentText>(documents::handle_internal_document_text)
        .finish();
}

pub(crate) fn dispatch_notification(d: &mut NotificationDispatcher<'_>) {
    d.on_sync_mut::<n::Cancel>(lifecycle::handle_cancel)
        .on_sync_mut::<n::Initialized>(lifecycle::handle_initialized)
        .on_sync_mut::<n::WorkDoneProgressCancel>(lifecycle::handle_work_done_progress_cancel)
        .on_sync_mut::<n::DidOpenTextDocument>(documents::handle_did_open)
        .on_sync_mut::<n::DidChangeTextDocument>(documents::handle_did_change)
        .on_sync_mut::<n::DidSaveTextDocument>(documents::handle_did_save)
        .on_sync_mut::<n::DidCloseTextDocument>(documents::handle_did_close)
        .on_sync_mut::<n::DidChangeWatchedFiles>(documents::handle_did_change_watched_files)
        .finish();
}
