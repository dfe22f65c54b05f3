//! LSP → engine: URIs to file ids, positions to byte offsets, edits to plain changes.

use lsp_types::{Position, TextDocumentContentChangeEvent, Url};

use crate::{
    text::{ContentChange, LineCol, WideRange},
    workspace::VfsPath,
};

pub(crate) fn vfs_path(uri: &Url) -> VfsPath {
    match uri.scheme() {
        "file" => match uri.to_file_path() {
            Ok(path) => VfsPath::Disk(path),
            Err(()) => VfsPath::Virtual(uri.to_string()),
        },
        _ => VfsPath::Virtual(uri.to_string()),
    }
}

pub(crate) fn line_col(position: Position) -> LineCol {
    LineCol { line: position.line, col: position.character }
}

pub(crate) fn content_change(change: TextDocumentContentChangeEvent) -> ContentChange {
    ContentChange {
        range: change.range.map(|r| WideRange { start: line_col(r.start), end: line_col(r.end) }),
        text: change.text,
    }
}

/// The byte offset of an editor position in a file: in the open document if there is one, else
/// in the indexed text. Out-of-range positions clamp.
pub(crate) fn offset(
    analysis: &crate::analysis::Analysis,
    file: crate::workspace::FileId,
    position: Position,
    encoding: crate::text::PositionEncoding,
) -> Option<u32> {
    match analysis.document(file) {
        Some(doc) => Some(doc.document.offset(line_col(position), encoding) as u32),
        None => Some(analysis.file_summary(file)?.line_index.offset(line_col(position), encoding)),
    }
}
