//! Symbol queries: a file's nested outline, and fuzzy search across the workspace.

use std::sync::Arc;

use super::{
    Analysis, Cancellable, Cancelled,
    fuzzy::{MatchClass, is_subsequence, match_name},
};
use crate::{
    stdx::CancelToken,
    syntax::{FileSummary, SymbolKind},
    text::TextRange,
    workspace::FileId,
};

/// One entry of a document outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutlineNode {
    pub name: String,
    pub kind: SymbolKind,
    pub range: TextRange,
    pub name_range: TextRange,
    pub children: Vec<OutlineNode>,
}

pub(super) fn outline(summary: &FileSummary) -> Vec<OutlineNode> {
    // Symbols are sorted outer-first, so each node's parent is finished before it; build
    // bottom-up by walking backwards and attaching each node to its parent's child list.
    let mut children: Vec<Vec<OutlineNode>> = vec![Vec::new(); summary.symbols.len()];
    let mut roots = Vec::new();
    for (idx, symbol) in summary.symbols.iter().enumerate().rev() {
        let mut own = std::mem::take(&mut children[idx]);
        own.reverse();
        let node = OutlineNode {
            name: symbol.name.to_string(),
            kind: symbol.kind,
            range: symbol.range,
            name_range: symbol.name_range,
            children: own,
        };
        match symbol.parent {
            Some(p) => children[p as usize].push(node),
            None => roots.push(node),
        }
    }
    roots.reverse();
    roots
}

/// A workspace symbol found by [`search`].
#[derive(Clone, Debug)]
pub struct SymbolHit {
    pub file: FileId,
    pub summary: Arc<FileSummary>,
    pub symbol: usize,
    pub name: String,
    pub kind: SymbolKind,
    /// `module.Outer` for `module.Outer.name`.
    pub container: Option<String>,
    pub match_class: MatchClass,
}

impl SymbolHit {
    pub fn name_range(&self) -> TextRange {
        self.summary.symbols[self.symbol].name_range
    }

    pub fn range(&self) -> TextRange {
        self.summary.symbols[self.symbol].range
    }
}

fn kind_rank(kind: SymbolKind) -> u8 {
    match kind {
        SymbolKind::Class => 0,
        SymbolKind::Function => 1,
        SymbolKind::Method => 2,
        SymbolKind::Constant => 3,
        SymbolKind::Field => 4,
        SymbolKind::Variable => 5,
        SymbolKind::Module => 6,
        SymbolKind::Other => 7,
    }
}

fn is_test_path(path: &str) -> bool {
    path.split(['/', '\\', '.']).any(|part| part == "tests" || part == "test" || part.starts_with("test_"))
}

pub(super) fn search(
    analysis: &Analysis,
    query: &str,
    limit: usize,
    cancel: &CancelToken,
) -> Cancellable<Vec<SymbolHit>> {
    let query = query.trim();
    // `QuerySet.filter`: the last segment names the symbol, the rest must match its container.
    let (qualifier, name_query) = match query.rsplit_once('.') {
        Some((q, n)) => (Some(q.to_ascii_lowercase()), n),
        None => (None, query),
    };
    // Sort key: match class, qualifier matched the parent exactly, kind, test path, name length.
    type Key = (MatchClass, bool, u8, bool, usize);
    let mut found: Vec<(Key, FileId, Arc<FileSummary>, usize)> = Vec::new();
    for (n_files, (file, summary)) in analysis.files().enumerate() {
        if n_files.is_multiple_of(256) && cancel.is_cancelled() {
            return Err(Cancelled);
        }
        // The module as code imports it and, when different, as its path reads.
        let mut modules: Option<Vec<String>> = None;
        let mut test_path: Option<bool> = None;
        for (idx, symbol) in summary.symbols.iter().enumerate() {
            let class = if name_query.is_empty() {
                MatchClass::Subsequence
            } else {
                match match_name(name_query, &symbol.name) {
                    Some(class) => class,
                    None => continue,
                }
            };
            let mut parent_exact = false;
            if let Some(qualifier) = &qualifier {
                let modules = modules.get_or_insert_with(|| {
                    let mut names: Vec<String> = analysis.module_name(file).into_iter().collect();
                    names.extend(analysis.module_path(file).filter(|path| !names.contains(path)));
                    names
                });
                let named = |module: Option<&str>| {
                    let container = qualified_container(module, &summary, idx);
                    is_subsequence(qualifier.as_bytes(), container.as_bytes())
                };
                let matched = match modules.as_slice() {
                    [] => named(None),
                    names => names.iter().any(|name| named(Some(name))),
                };
                if !matched {
                    continue;
                }
                parent_exact = symbol.parent.is_some_and(|p| {
                    summary.symbols[p as usize]
                        .name
                        .eq_ignore_ascii_case(qualifier.rsplit('.').next().unwrap_or(qualifier))
                });
            }
            let test = *test_path.get_or_insert_with(|| match analysis.path(file).as_disk() {
                Some(p) => is_test_path(&p.to_string_lossy()),
                None => false,
            });
            let key = (class, !parent_exact, kind_rank(symbol.kind), test, symbol.name.len());
            found.push((key, file, summary.clone(), idx));
        }
    }
    let limit = limit.min(found.len());
    if limit < found.len() {
        found.select_nth_unstable_by(limit, |a, b| a.0.cmp(&b.0));
        found.truncate(limit);
    }
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.symbols[a.3].name.cmp(&b.2.symbols[b.3].name)));
    Ok(found
        .into_iter()
        .map(|(key, file, summary, idx)| {
            let symbol = &summary.symbols[idx];
            let module = analysis.module_name(file);
            let container = match (module, summary.container_name(idx)) {
                (Some(m), Some(c)) if !m.is_empty() => Some(format!("{m}.{c}")),
                (_, Some(c)) => Some(c),
                (Some(m), None) if !m.is_empty() => Some(m),
                _ => None,
            };
            SymbolHit {
                file,
                name: symbol.name.to_string(),
                kind: symbol.kind,
                container,
                match_class: key.0,
                symbol: idx,
                summary,
            }
        })
        .collect())
}

fn qualified_container(module: Option<&str>, summary: &FileSummary, idx: usize) -> String {
    let inner = summary.container_name(idx);
    match (module, inner) {
        (Some(m), Some(c)) => format!("{m}.{c}").to_ascii_lowercase(),
        (Some(m), None) => m.to_ascii_lowercase(),
        (None, Some(c)) => c.to_ascii_lowercase(),
        (None, None) => String::new(),
    }
}
