//! Query files under `grammars/<language>/` checked against comment assertions in
//! `grammars/<language>/test/*`, the way tree-sitter tests its own `tags.scm` files.
//!
//! An assertion is a comment line: `# ^ kind` points with its caret, `# <- kind` with the comment
//! marker itself, at a column of the nearest line above that is not an assertion. It holds when a
//! tag of that kind has its name at that position; `!kind` asserts that none does.

use std::path::{Path, PathBuf};

use repolens::{
    risk::{analyze_code, file_metrics, find_smells, summarize_and_analyze},
    syntax::{FileSummary, LanguageId, Languages, ParseBudget, SymbolKind, parse_text},
};

#[derive(Debug)]
struct Assertion {
    line: usize,
    row: usize,
    col: usize,
    kind: String,
    negated: bool,
}

fn assertions(source: &str, comment: &str) -> Vec<Assertion> {
    let mut out = Vec::new();
    let mut target_row = None;
    for (row, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let body = trimmed.strip_prefix(comment).map(str::trim_start);
        let (col, rest) = match body {
            Some(rest) if rest.starts_with("<-") => (indent, &rest[2..]),
            Some(rest) if rest.starts_with('^') => (line.find('^').unwrap(), &rest[1..]),
            _ => {
                target_row = Some(row);
                continue;
            }
        };
        let kind = rest.trim();
        let (negated, kind) = match kind.strip_prefix('!') {
            Some(k) => (true, k),
            None => (false, kind),
        };
        let row_under_test = target_row.expect("an assertion needs a line above it");
        out.push(Assertion { line: row + 1, row: row_under_test, col, kind: kind.to_owned(), negated });
    }
    out
}

/// Every file under `grammars/<language>/test/`, with its text.
fn grammar_tests(id: LanguageId) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("grammars").join(id.name()).join("test");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            (path, source)
        })
        .collect()
}

#[test]
fn tags_queries_satisfy_their_comment_assertions() {
    let languages = Languages::embedded();
    let mut checked = 0;
    for id in LanguageId::ALL {
        for (path, source) in grammar_tests(id) {
            let lang = languages.get(id);
            let tree = parse_text(lang, &source, None, ParseBudget::default()).unwrap();
            let tags = lang.tags.collect(&tree, source.as_bytes());
            let line_starts: Vec<usize> =
                std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
            let mut failures = Vec::new();
            for a in assertions(&source, "#") {
                let offset = (line_starts[a.row] + a.col) as u32;
                let found = tags.iter().any(|t| {
                    t.kind.capture_name() == a.kind
                        && t.name_range.start <= offset
                        && offset < t.name_range.end.max(t.name_range.start + 1)
                });
                if found == a.negated {
                    let near: Vec<_> = tags
                        .iter()
                        .filter(|t| t.name_range.start.abs_diff(offset) < 40)
                        .map(|t| format!("{} {:?}", t.kind.capture_name(), t.name))
                        .collect();
                    failures.push(format!(
                        "{}:{}: expected {}{} at {}:{}; tags nearby: {near:?}",
                        path.display(),
                        a.line,
                        if a.negated { "no " } else { "" },
                        a.kind,
                        a.row + 1,
                        a.col + 1
                    ));
                }
                checked += 1;
            }
            assert!(failures.is_empty(), "{}", failures.join("\n"));
        }
    }
    assert!(checked > 20, "only {checked} assertions found");
}

#[test]
fn docstrings_attach_to_their_definitions() {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("grammars/python/test/tags.py"))
            .unwrap();
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let tree = parse_text(lang, &source, None, ParseBudget::default()).unwrap();
    let tags = lang.tags.collect(&tree, source.as_bytes());
    let doc =
        |name: &str| tags.iter().find(|t| &*t.name == name).and_then(|t| t.doc.as_deref()).map(str::to_owned);
    assert_eq!(doc("top_level").as_deref(), Some("Add things.\n\nMore detail."));
    assert_eq!(doc("Widget").as_deref(), Some("A widget."));
    assert_eq!(doc("draw").as_deref(), Some("Raw docstring."));
    assert_eq!(doc("area"), None);
}

/// The tags tag every function alike; the summary makes a function whose enclosing definition
/// is a class a method, wherever in the class body it is defined.
#[test]
fn functions_defined_in_a_class_body_are_methods() {
    let source = r#"
def top(): pass

class Shape:
    def area(self):
        def helper(): pass
        class Local:
            def inside(self): pass
        return helper()

    @property
    def name(self): pass

    if TYPE_CHECKING:
        def typed(self): pass

    class Inner:
        async def deep(self): pass
"#;
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let tree = parse_text(lang, source, None, ParseBudget::default()).unwrap();
    let summary = FileSummary::build(lang, &tree, source);
    let kinds: Vec<(String, SymbolKind)> =
        summary.symbols.iter().map(|s| (s.name.to_string(), s.kind)).collect();
    let expected = [
        ("top", SymbolKind::Function),
        ("Shape", SymbolKind::Class),
        ("area", SymbolKind::Method),
        ("helper", SymbolKind::Function),
        ("Local", SymbolKind::Class),
        ("inside", SymbolKind::Method),
        ("name", SymbolKind::Method),
        ("typed", SymbolKind::Method),
        ("Inner", SymbolKind::Class),
        ("deep", SymbolKind::Method),
    ];
    assert_eq!(kinds, expected.map(|(name, kind)| (name.to_owned(), kind)));
}

/// Indexing runs every query file in one combined query (one walk of the tree); it must find
/// exactly what each query finds on its own.
#[test]
fn the_combined_query_finds_what_each_query_finds_alone() {
    let languages = Languages::embedded();
    let mut checked = 0;
    for id in LanguageId::ALL {
        let lang = languages.get(id);
        assert!(lang.queries.is_some(), "{}: the queries do not combine", id.name());
        let sources = grammar_tests(id)
            .into_iter()
            .map(|(_, source)| source)
            // The smells fixture of the risk tests, for matches of every query file at once.
            .chain([SMELLY.to_owned()]);
        for source in sources {
            let tree = parse_text(lang, &source, None, ParseBudget::default()).unwrap();
            let alone = FileSummary::assemble(
                id,
                lang.tags.collect(&tree, source.as_bytes()),
                lang.imports.as_ref().map(|q| q.collect(&tree, source.as_bytes())).unwrap_or_default(),
                &source,
                tree.root_node().has_error(),
            );
            let (summary, facts) = summarize_and_analyze(lang, &tree, &source);
            assert_eq!(summary, alone);
            assert_eq!(summary, FileSummary::build(lang, &tree, &source));
            assert_eq!(facts, analyze_code(lang, &tree, &source));
            // Both run the combined query; the engines apart are the reference.
            assert_eq!(facts.metrics, file_metrics(lang, &tree, &source));
            assert_eq!(facts.smells, find_smells(lang, &tree, &source));
            checked += summary.symbols.len() + summary.imports.len() + facts.smells.len();
        }
    }
    assert!(checked > 30, "only {checked} symbols, imports and smells compared");
}

const SMELLY: &str = r#"
import os
from collections import defaultdict as dd, OrderedDict
from .local import *


def collect(items=[], seen={}, *, list=None):
    """Gather items."""
    try:
        os.remove(items)
    except:
        pass
    assert (items, "never fails")
    if seen == None or list != None:
        return dd(list)
    try:
        return OrderedDict()
    except Exception:
        pass


class Box(Base):
    size = 3

    def fill(self, dict, values=set()):
        return helper(dict, values)
"#;
