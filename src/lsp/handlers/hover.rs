//! `textDocument/hover`: on the name of a function flagged as risky, the full breakdown of its
//! score (every factor with its value, percentile and effect). Anywhere else: nothing, so that
//! the type checker's hover is all the user sees.

use lsp_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::{
    lsp::{dispatch::LspResult, from_proto, server::ServerSnapshot},
    stdx::CancelToken,
};

pub(crate) fn handle_hover(
    snap: ServerSnapshot,
    params: HoverParams,
    _: &CancelToken,
) -> LspResult<Option<Hover>> {
    let position = params.text_document_position_params;
    let analysis = &snap.analysis;
    let Some(file) = analysis.file_id(&from_proto::vfs_path(&position.text_document.uri)) else {
        return Ok(None);
    };
    let Some(offset) = from_proto::offset(analysis, file, position.position, snap.encoding) else {
        return Ok(None);
    };
    let Some(markdown) = analysis.risk_hover(file, offset, &snap.risk) else { return Ok(None) };
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }),
        range: None,
    }))
}
