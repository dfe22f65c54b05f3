//! Imports from an `imports.scm` query: which module each import names, what it binds, under
//! which alias. The graph resolves these to files and symbols.

use std::cell::RefCell;

use streaming_iterator::StreamingIterator;
use tree_sitter::{Query, QueryCursor};

use super::{PatternMatch, SyntaxTree};
use crate::text::TextRange;

/// One name an import statement binds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Import {
    /// The module path without leading dots: `a.b` in `import a.b` and `from ..a.b import c`.
    pub module: Box<str>,
    /// Leading dots of a relative import (`from ..a import b` → 2); 0 for absolute imports.
    pub level: u8,
    /// The imported name in `from m import name`; `None` for `import m`.
    pub name: Option<Box<str>>,
    pub alias: Option<Box<str>>,
    /// `from m import *`.
    pub wildcard: bool,
    /// The whole import statement.
    pub range: TextRange,
    /// Index of the innermost symbol holding the statement (imports inside functions bind there).
    pub container: Option<u32>,
}

impl Import {
    /// The local name the import binds (`import a.b` binds `a`).
    pub fn bound_name(&self) -> Option<&str> {
        if self.wildcard {
            return None;
        }
        if let Some(alias) = &self.alias {
            return Some(alias);
        }
        match &self.name {
            Some(name) => Some(name),
            None => self.module.split('.').next(),
        }
    }
}

/// A compiled `imports.scm`.
pub struct ImportsQuery {
    query: Query,
    matcher: ImportMatcher,
}

/// Turns matches of the `imports.scm` patterns into imports; capture indices are those of the
/// compiled query it was built for, which may hold other patterns too (see `FileQueries`).
pub(crate) struct ImportMatcher {
    import: Option<u32>,
    module: Option<u32>,
    from: Option<u32>,
    name: Option<u32>,
    alias: Option<u32>,
    wildcard: Option<u32>,
}

impl ImportsQuery {
    pub fn new(grammar: &tree_sitter::Language, source: &str) -> anyhow::Result<ImportsQuery> {
        let query = Query::new(grammar, source)?;
        let matcher = ImportMatcher::new(&query);
        Ok(ImportsQuery { query, matcher })
    }

    /// The number of patterns, to place them in a combined query.
    pub(crate) fn pattern_count(&self) -> usize {
        self.query.pattern_count()
    }

    /// All imports of a tree, in document order (containers are filled in by the summary).
    pub fn collect(&self, tree: &SyntaxTree, text: &[u8]) -> Vec<Import> {
        self.collect_spans(tree, text, None)
    }

    /// The imports whose statements meet any of `spans` (see `incremental.rs`).
    pub fn collect_in(&self, tree: &SyntaxTree, text: &[u8], spans: &[TextRange]) -> Vec<Import> {
        let mut out = Vec::new();
        for span in spans {
            for import in self.collect_spans(tree, text, Some(*span)) {
                if !out.contains(&import) {
                    out.push(import);
                }
            }
        }
        out.sort_by_key(|i| i.range.start);
        out
    }

    fn collect_spans(&self, tree: &SyntaxTree, text: &[u8], span: Option<TextRange>) -> Vec<Import> {
        thread_local! {
            static CURSOR: RefCell<QueryCursor> = RefCell::new(QueryCursor::new());
        }
        let mut out = Vec::new();
        CURSOR.with(|cursor| {
            let mut cursor = cursor.borrow_mut();
            cursor.set_byte_range(span.map_or(0..usize::MAX, |s| s.as_usize()));
            let mut matches = cursor.matches(&self.query, tree.root_node(), text);
            while let Some(m) = matches.next() {
                out.extend(self.matcher.import_of(&PatternMatch::from_query_match(m), text));
            }
        });
        out.sort_by_key(|i| i.range.start);
        out
    }
}

impl ImportMatcher {
    pub(crate) fn new(query: &Query) -> ImportMatcher {
        let find = |wanted: &str| query.capture_names().iter().position(|n| *n == wanted).map(|i| i as u32);
        ImportMatcher {
            import: find("import"),
            module: find("import.module"),
            from: find("import.from"),
            name: find("import.name"),
            alias: find("import.alias"),
            wildcard: find("import.wildcard"),
        }
    }

    /// The import binding one match yields (containers are filled in by the summary).
    pub(crate) fn import_of(&self, m: &PatternMatch<'_, '_>, text: &[u8]) -> Option<Import> {
        let get = |index: Option<u32>| {
            let index = index?;
            m.captures.iter().find(|c| c.index == index).map(|c| c.node)
        };
        let text_of = |index: Option<u32>| get(index).and_then(|n| n.utf8_text(text).ok());
        let statement = get(self.import)?;
        let (path, name) = match (text_of(self.module), text_of(self.from)) {
            (Some(module), _) => (module, None),
            (None, Some(from)) => (from, text_of(self.name)),
            (None, None) => return None,
        };
        let level = path.bytes().take_while(|&b| b == b'.').count();
        let module: String = path[level..].chars().filter(|c| !c.is_whitespace()).collect();
        Some(Import {
            module: module.into(),
            level: level.min(u8::MAX as usize) as u8,
            name: name.map(Into::into),
            alias: text_of(self.alias).map(Into::into),
            wildcard: get(self.wildcard).is_some(),
            range: TextRange::from_usize(statement.byte_range()),
            container: None,
        })
    }
}
