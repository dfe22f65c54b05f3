//! Document sync: `didOpen`, `didChange`, `didSave`, `didClose`. These run on the main loop, in
//! arrival order, and are the only way document text changes.

use lsp_types::{
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, FileChangeType, TextDocumentIdentifier,
};

use crate::{
    lsp::{
        dispatch::{LspError, LspResult},
        from_proto,
        server::{Server, ServerSnapshot},
    },
    stdx::CancelToken,
    syntax::LanguageId,
    workspace::{DiskChange, VfsPath},
};

pub(crate) fn handle_did_open(server: &mut Server, params: DidOpenTextDocumentParams) -> anyhow::Result<()> {
    let doc = params.text_document;
    let path = from_proto::vfs_path(&doc.uri);
    let language = LanguageId::from_lsp_id(&doc.language_id).or_else(|| match &path {
        VfsPath::Disk(path) => LanguageId::from_path(path),
        VfsPath::Virtual(_) => None,
    });
    let file = server.host.file_id(path);
    server.host.open_document(file, doc.version, &doc.text, language);
    server.schedule_model_update(file);
    server.refresh_diagnostics(file);
    Ok(())
}

pub(crate) fn handle_did_change(
    server: &mut Server,
    params: DidChangeTextDocumentParams,
) -> anyhow::Result<()> {
    let file = server.host.file_id(from_proto::vfs_path(&params.text_document.uri));
    let changes: Vec<_> = params.content_changes.into_iter().map(from_proto::content_change).collect();
    let encoding = server.encoding;
    server
        .host
        .change_document(file, params.text_document.version, &changes, encoding)
        .map_err(|err| anyhow::anyhow!("{err}: {}", params.text_document.uri))?;
    server.schedule_model_update(file);
    server.refresh_diagnostics(file);
    Ok(())
}

pub(crate) fn handle_did_save(server: &mut Server, params: DidSaveTextDocumentParams) -> anyhow::Result<()> {
    let file = server.host.file_id(from_proto::vfs_path(&params.text_document.uri));
    server.host.save_document(file);
    Ok(())
}

pub(crate) fn handle_did_close(
    server: &mut Server,
    params: DidCloseTextDocumentParams,
) -> anyhow::Result<()> {
    let file = server.host.file_id(from_proto::vfs_path(&params.text_document.uri));
    server.host.close_document(file);
    // The disk version (or nothing, for an unsaved buffer) takes the document's place.
    server.model_due.remove(&file);
    server.send_model_update(file);
    // Until the model has the disk version again, the table's (older) entry is what is known.
    server.refresh_diagnostics(file);
    Ok(())
}

/// Files the client saw change on disk (when we registered for it).
pub(crate) fn handle_did_change_watched_files(
    server: &mut Server,
    params: DidChangeWatchedFilesParams,
) -> anyhow::Result<()> {
    let changes = params
        .changes
        .into_iter()
        .filter_map(|event| {
            let path = event.uri.to_file_path().ok()?;
            let change =
                if event.typ == FileChangeType::DELETED { DiskChange::Deleted } else { DiskChange::Changed };
            Some((path, change))
        })
        .collect();
    server.on_disk_changes(changes);
    Ok(())
}

/// `repolens/internal/documentText` (test hook): the server's copy of an open document.
pub(crate) fn handle_internal_document_text(
    snap: ServerSnapshot,
    params: TextDocumentIdentifier,
    _: &CancelToken,
) -> LspResult<Option<String>> {
    let path = from_proto::vfs_path(&params.uri);
    let Some(file) = snap.analysis.file_id(&path) else { return Ok(None) };
    let doc = snap
        .analysis
        .document(file)
        .ok_or_else(|| LspError::new(lsp_server::ErrorCode::InvalidParams, "document is not open"))?;
    Ok(Some(doc.document.text()))
}
