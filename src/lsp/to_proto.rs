//! Engine → LSP: byte ranges to positions, our symbol kinds to theirs, paths to URIs.

use lsp_types::{Position, Range, Url};

use crate::{
    analysis::OutlineNode,
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

/// A risk diagnostic or smell. `data` carries what code actions (and the repair pipeline)
/// need: for risk, the function and its factors; for a smell, its rule, subject and fix with
/// edits already in the client's position encoding.
pub(crate) fn diagnostic(
    d: &crate::risk::RiskDiagnostic,
    index: &LineIndex,
    encoding: PositionEncoding,
) -> lsp_types::Diagnostic {
    use crate::risk::DiagnosticKind;
    let severity = match d.severity {
        crate::config::DiagnosticSeverity::Information => lsp_types::DiagnosticSeverity::INFORMATION,
        crate::config::DiagnosticSeverity::Hint => lsp_types::DiagnosticSeverity::HINT,
    };
    let data = match &d.kind {
        DiagnosticKind::Risk { qual, percentile, factors } => serde_json::json!({
            "kind": "risk",
            "qual": qual,
            "percentile": (percentile * 10.0).round() / 10.0,
            "factors": factors.iter().map(|f| serde_json::json!({
                "factor": f.factor.name(),
                "value": (f.value * 100.0).round() / 100.0 + 0.0,
                "percentile": (f.percentile * 10.0).round() / 10.0,
            })).collect::<Vec<_>>(),
        }),
        DiagnosticKind::Smell(smell) => serde_json::json!({
            "kind": "smell",
            "rule": smell.kind.name(),
            "subject": smell.subject,
            "fix": smell.fix.as_ref().map(|fix| serde_json::json!({
                "title": fix.title,
                "changesInterface": fix.changes_interface,
                "edits": fix.edits.iter().map(|e| lsp_types::TextEdit {
                    range: range(index, e.range, encoding),
                    new_text: e.new_text.clone(),
                }).collect::<Vec<_>>(),
            })),
        }),
    };
    lsp_types::Diagnostic {
        range: range(index, d.range, encoding),
        severity: Some(severity),
        code: Some(lsp_types::NumberOrString::String(d.code.clone())),
        code_description: None,
        source: Some("repolens".to_owned()),
        message: d.message.clone(),
        related_information: None,
        tags: None,
        data: Some(data),
    }
}
