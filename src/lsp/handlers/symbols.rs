//! `textDocument/documentSymbol` and `workspace/symbol`.

use lsp_types::{
    DocumentSymbolParams, DocumentSymbolResponse, Location, SymbolInformation, WorkspaceSymbolParams,
    WorkspaceSymbolResponse,
};

use crate::{
    lsp::{
        dispatch::{LspError, LspResult},
        from_proto,
        server::ServerSnapshot,
        to_proto,
    },
    stdx::CancelToken,
};

/// Pickers show this many at most; more only costs time.
const WORKSPACE_SYMBOL_LIMIT: usize = 100;

pub(crate) fn handle_document_symbol(
    snap: ServerSnapshot,
    params: DocumentSymbolParams,
    _: &CancelToken,
) -> LspResult<Option<DocumentSymbolResponse>> {
    let uri = params.text_document.uri;
    let analysis = &snap.analysis;
    let Some(file) = analysis.file_id(&from_proto::vfs_path(&uri)) else { return Ok(None) };
    let Some(summary) = analysis.file_summary(file) else { return Ok(None) };
    let enc = snap.encoding;
    let response = if snap.client.hierarchical_document_symbols {
        let outline = analysis.document_symbols(file).unwrap_or_default();
        DocumentSymbolResponse::Nested(
            outline
                .into_iter()
                .map(|node| to_proto::document_symbol(node, &summary.line_index, enc))
                .collect(),
        )
    } else {
        #[allow(deprecated)]
        let flat = summary
            .symbols
            .iter()
            .enumerate()
            .map(|(idx, symbol)| SymbolInformation {
                name: symbol.name.to_string(),
                kind: to_proto::symbol_kind(symbol.kind),
                tags: None,
                deprecated: None,
                location: Location::new(uri.clone(), to_proto::range(&summary.line_index, symbol.range, enc)),
                container_name: summary.container_name(idx),
            })
            .collect();
        DocumentSymbolResponse::Flat(flat)
    };
    if analysis.is_stale(file) {
        return Err(LspError::content_modified());
    }
    Ok(Some(response))
}

pub(crate) fn handle_workspace_symbol(
    snap: ServerSnapshot,
    params: WorkspaceSymbolParams,
    cancel: &CancelToken,
) -> LspResult<Option<WorkspaceSymbolResponse>> {
    let hits = snap.analysis.workspace_symbols(&params.query, WORKSPACE_SYMBOL_LIMIT, cancel)?;
    #[allow(deprecated)]
    let symbols = hits
        .into_iter()
        .filter_map(|hit| {
            let uri = to_proto::url(&snap.analysis.path(hit.file))?;
            let range = to_proto::range(&hit.summary.line_index, hit.name_range(), snap.encoding);
            Some(SymbolInformation {
                name: hit.name,
                kind: to_proto::symbol_kind(hit.kind),
                tags: None,
                deprecated: None,
                location: Location::new(uri, range),
                container_name: hit.container,
            })
        })
        .collect();
    Ok(Some(WorkspaceSymbolResponse::Flat(symbols)))
}
