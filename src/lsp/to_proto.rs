//! Engine → LSP: byte ranges to positions, our symbol kinds to theirs, paths to URIs.

use lsp_types::{Position, Range, Url};

use super::ext;
use crate::{
    analysis::{Analysis, OutlineNode},
    answer::Answer,
    syntax::SymbolKind,
    text::{LineIndex, PositionEncoding, TextRange},
    workspace::VfsPath,
};

pub(crate) fn position(index: &LineIndex, offset: u32, encoding: PositionEncoding) -> Position {
    let lc = index.position(offset, encoding);
    Position { line: lc.line, character: lc.col }
}

pub(crate) fn range(index: &LineIndex, range: TextRange, encoding: PositionEncoding) -> Range {
    Range { start: position(index, range.start, encoding), end: position(index, range.end, encoding) }
}

pub(crate) fn url(path: &VfsPath) -> Option<Url> {
    match path {
        VfsPath::Disk(path) => Url::from_file_path(path).ok(),
        VfsPath::Virtual(uri) => Url::parse(uri).ok(),
    }
}

pub(crate) fn symbol_kind(kind: SymbolKind) -> lsp_types::SymbolKind {
    match kind {
        SymbolKind::Module => lsp_types::SymbolKind::MODULE,
        SymbolKind::Class => lsp_types::SymbolKind::CLASS,
        SymbolKind::Function => lsp_types::SymbolKind::FUNCTION,
        SymbolKind::Method => lsp_types::SymbolKind::METHOD,
        SymbolKind::Constant => lsp_types::SymbolKind::CONSTANT,
        SymbolKind::Variable => lsp_types::SymbolKind::VARIABLE,
        SymbolKind::Field => lsp_types::SymbolKind::FIELD,
        SymbolKind::Other => lsp_types::SymbolKind::OBJECT,
    }
}

#[allow(deprecated)] // `deprecated` is a required field of the struct
pub(crate) fn document_symbol(
    node: OutlineNode,
    index: &LineIndex,
    encoding: PositionEncoding,
) -> lsp_types::DocumentSymbol {
    lsp_types::DocumentSymbol {
        name: node.name,
        detail: None,
        kind: symbol_kind(node.kind),
        tags: None,
        deprecated: None,
        range: range(index, node.range, encoding),
        selection_range: range(index, node.name_range, encoding),
        children: Some(node.children.into_iter().map(|c| document_symbol(c, index, encoding)).collect()),
    }
}

/// An answer as `repolens/ask` returns it: citation ranges in the negotiated encoding, computed
/// on the text the answer was read from.
pub(crate) fn ask_result(answer: &Answer, analysis: &Analysis, encoding: PositionEncoding) -> ext::AskResult {
    let citations = answer
        .citations
        .iter()
        .filter_map(|c| {
            let uri = match &c.abs_path {
                Some(path) => Url::from_file_path(path).ok(),
                None => url(&analysis.path(c.file)),
            }?;
            Some(ext::AskCitation {
                uri,
                range: range(&c.line_index, c.range, encoding),
                commit: c.commit.clone(),
                symbol: c.symbol.clone(),
                snippet: c.snippet.clone(),
                score: c.score,
                reasons: c.reasons.clone(),
            })
        })
        .collect();
    ext::AskResult {
        answer: answer.markdown.clone(),
        citations,
        mode: answer.mode.as_str().to_owned(),
        unverified: answer.unverified.clone(),
        model_error: answer.model_error.clone(),
    }
}
