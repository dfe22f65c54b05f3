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
