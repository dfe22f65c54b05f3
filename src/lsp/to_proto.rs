//! Engine → LSP: byte ranges to positions, our symbol kinds to theirs, paths to URIs, risk
//! diagnostics and smells to `Diagnostic`s.

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
        DiagnosticKind::Risk { qual, percentile, factors } => serde_json::to_value(ext::RiskDiagnosticData {
            kind: "risk".to_owned(),
            qual: qual.clone(),
            percentile: round(*percentile, 10.0),
            factors: factors
                .iter()
                .map(|f| ext::RiskFactorData {
                    factor: f.factor.name().to_owned(),
                    value: round(f.value, 100.0),
                    percentile: round(f.percentile, 10.0),
                })
                .collect(),
        }),
        DiagnosticKind::Smell(smell) => serde_json::to_value(ext::SmellDiagnosticData {
            kind: "smell".to_owned(),
            rule: smell.kind.name().to_owned(),
            subject: smell.subject.clone(),
            fix: smell.fix.as_ref().map(|fix| ext::SmellFixData {
                title: fix.title.clone(),
                changes_interface: fix.changes_interface,
                edits: fix
                    .edits
                    .iter()
                    .map(|e| lsp_types::TextEdit {
                        range: range(index, e.range, encoding),
                        new_text: e.new_text.clone(),
                    })
                    .collect(),
            }),
        }),
    }
    .ok();
    lsp_types::Diagnostic {
        range: range(index, d.range, encoding),
        severity: Some(severity),
        code: Some(lsp_types::NumberOrString::String(d.code.clone())),
        code_description: None,
        source: Some("repolens".to_owned()),
        message: d.message.clone(),
        related_information: None,
        tags: None,
        data,
    }
}

/// Rounds to `1/scale` (and turns `-0` into `0`, which reads oddly in JSON).
fn round(x: f64, scale: f64) -> f64 {
    (x * scale).round() / scale + 0.0
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
