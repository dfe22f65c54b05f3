//! Tags from a `tags.scm` query, in tree-sitter's tags vocabulary.
//!
//! A pattern captures one `@definition.<kind>` or `@reference.<kind>` node, its `@name`, and
//! optionally `@doc` nodes, post-processed by `#strip! @doc "regex"` and
//! `#select-adjacent! @doc @definition.<kind>` as in tree-sitter-tags. Unlike tree-sitter-tags,
//! this runs over a tree we already have, so open documents are not parsed twice. When several
//! patterns tag the same name, the earliest pattern wins: specific patterns go first.

use std::cell::RefCell;

use regex::Regex;
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Query, QueryCursor, QueryPredicateArg};

use super::{PatternMatch, SyntaxTree};
use crate::text::TextRange;

/// What a definition defines; the suffix of its `@definition.<kind>` capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum DefinitionKind {
    Module,
    Class,
    Function,
    Method,
    Constant,
    Variable,
    Field,
    Other,
}

impl DefinitionKind {
    /// The kind of a definition tagged `self` whose enclosing definition is `parent`. Grammars'
    /// tags tag functions alike (Python's upstream `tags.scm` has no methods): a function whose
    /// enclosing definition is a class is a method, wherever in the class body it stands.
    pub fn nested_in(self, parent: Option<DefinitionKind>) -> DefinitionKind {
        match (self, parent) {
            (DefinitionKind::Function, Some(DefinitionKind::Class)) => DefinitionKind::Method,
            (kind, _) => kind,
        }
    }
}

/// What a reference refers through; the suffix of its `@reference.<kind>` capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum ReferenceKind {
    Call,
    /// A base class in a class header.
    Class,
    /// A module named by an import.
    Module,
    /// A name imported from a module (`from m import name`).
    Import,
    Decorator,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TagKind {
    Definition(DefinitionKind),
    Reference(ReferenceKind),
}

impl TagKind {
    fn from_capture_name(name: &str) -> Option<TagKind> {
        if let Some(kind) = name.strip_prefix("definition.") {
            return Some(TagKind::Definition(match kind {
                "module" => DefinitionKind::Module,
                "class" => DefinitionKind::Class,
                "function" => DefinitionKind::Function,
                "method" => DefinitionKind::Method,
                "constant" => DefinitionKind::Constant,
                "variable" => DefinitionKind::Variable,
                "field" => DefinitionKind::Field,
                _ => DefinitionKind::Other,
            }));
        }
        let kind = name.strip_prefix("reference.")?;
        Some(TagKind::Reference(match kind {
            "call" => ReferenceKind::Call,
            "class" => ReferenceKind::Class,
            "module" => ReferenceKind::Module,
            "import" => ReferenceKind::Import,
            "decorator" => ReferenceKind::Decorator,
            _ => ReferenceKind::Other,
        }))
    }

    /// The capture name this kind came from, e.g. `definition.method`.
    pub fn capture_name(self) -> &'static str {
        match self {
            TagKind::Definition(kind) => match kind {
                DefinitionKind::Module => "definition.module",
                DefinitionKind::Class => "definition.class",
                DefinitionKind::Function => "definition.function",
                DefinitionKind::Method => "definition.method",
                DefinitionKind::Constant => "definition.constant",
                DefinitionKind::Variable => "definition.variable",
                DefinitionKind::Field => "definition.field",
                DefinitionKind::Other => "definition.other",
            },
            TagKind::Reference(kind) => match kind {
                ReferenceKind::Call => "reference.call",
                ReferenceKind::Class => "reference.class",
                ReferenceKind::Module => "reference.module",
                ReferenceKind::Import => "reference.import",
                ReferenceKind::Decorator => "reference.decorator",
                ReferenceKind::Other => "reference.other",
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub kind: TagKind,
    pub name: Box<str>,
    /// The whole tagged node (a definition's full extent, a call's full expression).
    pub range: TextRange,
    pub name_range: TextRange,
    pub doc: Option<Box<str>>,
}

/// A compiled `tags.scm`.
pub struct TagsQuery {
    query: Query,
    matcher: TagMatcher,
}

/// Turns matches of the `tags.scm` patterns into tags. Built against a compiled query, which may
/// hold other patterns too (see `FileQueries`): only the tags patterns' matches may be passed in.
pub(crate) struct TagMatcher {
    tag_kinds: Vec<Option<TagKind>>,
    name_capture: Option<u32>,
    doc_capture: Option<u32>,
    /// Index in the compiled query of the first tags pattern.
    first_pattern: usize,
    patterns: Vec<PatternInfo>,
}

#[derive(Default)]
struct PatternInfo {
    doc_strip: Option<Regex>,
    /// Keep only `@doc` nodes directly adjacent to this capture.
    select_adjacent_to: Option<u32>,
}

impl TagsQuery {
    pub fn new(grammar: &tree_sitter::Language, source: &str) -> anyhow::Result<TagsQuery> {
        let query = Query::new(grammar, source)?;
        let matcher = TagMatcher::new(&query, 0..query.pattern_count())?;
        Ok(TagsQuery { query, matcher })
    }

    /// The number of patterns, to place them in a combined query.
    pub(crate) fn pattern_count(&self) -> usize {
        self.query.pattern_count()
    }

    /// All tags of a tree, sorted by name position.
    pub fn collect(&self, tree: &SyntaxTree, text: &[u8]) -> Vec<Tag> {
        dedup_tags(self.run_in(tree, text, None))
    }

    /// The tags of matches that meet any of `spans` (see `incremental.rs`).
    pub fn collect_in(&self, tree: &SyntaxTree, text: &[u8], spans: &[TextRange]) -> Vec<Tag> {
        let mut all = Vec::new();
        for span in spans {
            all.extend(self.run_in(tree, text, Some(*span)));
        }
        dedup_tags(all)
    }

    fn run_in(&self, tree: &SyntaxTree, text: &[u8], span: Option<TextRange>) -> Vec<(Tag, usize)> {
        thread_local! {
            static CURSOR: RefCell<QueryCursor> = RefCell::new(QueryCursor::new());
        }
        let mut found: Vec<(Tag, usize)> = Vec::new();
        CURSOR.with(|cursor| {
            let mut cursor = cursor.borrow_mut();
            cursor.set_byte_range(span.map_or(0..usize::MAX, |s| s.as_usize()));
            let mut matches = cursor.matches(&self.query, tree.root_node(), text);
            while let Some(m) = matches.next() {
                found.extend(self.matcher.tag_of(&PatternMatch::from_query_match(m), text));
            }
        });
        found
    }
}

impl TagMatcher {
    /// A matcher for `patterns` of `query`, which must be the patterns of a `tags.scm`.
    pub(crate) fn new(query: &Query, patterns: std::ops::Range<usize>) -> anyhow::Result<TagMatcher> {
        let capture_names = query.capture_names();
        let tag_kinds = capture_names.iter().map(|name| TagKind::from_capture_name(name)).collect();
        let find = |wanted: &str| capture_names.iter().position(|n| *n == wanted).map(|i| i as u32);
        let name_capture = find("name");
        let doc_capture = find("doc");
        let mut infos = Vec::with_capacity(patterns.len());
        for pattern in patterns.clone() {
            let mut info = PatternInfo::default();
            for predicate in query.general_predicates(pattern) {
                match (predicate.operator.as_ref(), predicate.args.first(), predicate.args.get(1)) {
                    ("strip!", Some(QueryPredicateArg::Capture(c)), Some(QueryPredicateArg::String(re)))
                        if Some(*c) == doc_capture =>
                    {
                        info.doc_strip = Some(Regex::new(re)?);
                    }
                    (
                        "select-adjacent!",
                        Some(QueryPredicateArg::Capture(c)),
                        Some(QueryPredicateArg::Capture(target)),
                    ) if Some(*c) == doc_capture => info.select_adjacent_to = Some(*target),
                    (op, ..) => {
                        anyhow::bail!("unknown directive #{op} in pattern {}", pattern - patterns.start)
                    }
                }
            }
            infos.push(info);
        }
        Ok(TagMatcher {
            tag_kinds,
            name_capture,
            doc_capture,
            first_pattern: patterns.start,
            patterns: infos,
        })
    }

    /// The tag one match yields, with its pattern's rank (earlier patterns win in [`dedup_tags`]).
    pub(crate) fn tag_of(&self, m: &PatternMatch<'_, '_>, text: &[u8]) -> Option<(Tag, usize)> {
        let mut tag: Option<(TagKind, Node)> = None;
        let mut name_node = None;
        let mut docs: Vec<Node> = Vec::new();
        for capture in m.captures {
            let index = capture.index;
            if Some(index) == self.name_capture {
                name_node = Some(capture.node);
            } else if Some(index) == self.doc_capture {
                docs.push(capture.node);
            }
            if let Some(kind) = self.tag_kinds[index as usize] {
                tag = Some((kind, capture.node));
            }
        }
        let (Some((kind, node)), Some(name_node)) = (tag, name_node) else { return None };
        let name = name_node.utf8_text(text).ok()?;
        let rank = m.pattern_index - self.first_pattern;
        let info = &self.patterns[rank];
        if let Some(target) = info.select_adjacent_to {
            let anchor = m.captures.iter().find(|c| c.index == target).map(|c| c.node);
            if let Some(anchor) = anchor {
                docs = select_adjacent(docs, anchor);
            }
        }
        let doc = doc_text(&docs, text, info);
        let tag = Tag {
            kind,
            name: name.into(),
            range: TextRange::from_usize(node.byte_range()),
            name_range: TextRange::from_usize(name_node.byte_range()),
            doc,
        };
        Some((tag, rank))
    }
}

fn doc_text(docs: &[Node], text: &[u8], info: &PatternInfo) -> Option<Box<str>> {
    if docs.is_empty() {
        return None;
    }
    let mut joined = String::new();
    for node in docs {
        let Ok(raw) = node.utf8_text(text) else { continue };
        let stripped = match &info.doc_strip {
            Some(re) => re.replace_all(raw, ""),
            None => raw.into(),
        };
        if !joined.is_empty() {
            joined.push('\n');
        }
        joined.push_str(&stripped);
    }
    let cleaned = clean_doc(&joined);
    (!cleaned.is_empty()).then(|| cleaned.into())
}

/// One tag per name (definitions and references apart), from the earliest pattern; sorted.
pub(crate) fn dedup_tags(mut found: Vec<(Tag, usize)>) -> Vec<Tag> {
    found.sort_by_key(|(tag, pattern)| (tag.name_range, matches!(tag.kind, TagKind::Reference(_)), *pattern));
    found.dedup_by(|(later, _), (earlier, _)| {
        later.name_range == earlier.name_range
            && matches!(later.kind, TagKind::Reference(_)) == matches!(earlier.kind, TagKind::Reference(_))
    });
    found.into_iter().map(|(tag, _)| tag).collect()
}

/// Docs directly above `anchor` with no blank line between them (tree-sitter-tags' rule).
fn select_adjacent<'t>(mut docs: Vec<Node<'t>>, anchor: Node<'t>) -> Vec<Node<'t>> {
    docs.retain(|d| d.end_byte() <= anchor.start_byte());
    let mut next_row = anchor.start_position().row;
    let mut kept = Vec::new();
    for doc in docs.into_iter().rev() {
        if doc.end_position().row + 1 < next_row {
            break;
        }
        next_row = doc.start_position().row;
        kept.push(doc);
    }
    kept.reverse();
    kept
}

/// Trims a docstring the way `inspect.cleandoc` does: first line stripped, the common indent
/// of the others removed, blank edges dropped.
fn clean_doc(doc: &str) -> String {
    let mut lines = doc.lines();
    let first = lines.next().unwrap_or("").trim();
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<&str> = Vec::with_capacity(rest.len() + 1);
    out.push(first);
    out.extend(rest.iter().map(|l| l.get(indent..).unwrap_or("").trim_end()));
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    let start = out.iter().position(|l| !l.is_empty()).unwrap_or(out.len());
    out[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::clean_doc;

    #[test]
    fn docstrings_are_cleaned_like_inspect_cleandoc() {
        assert_eq!(clean_doc("  Summary.\n\n    Details\n      more\n    "), "Summary.\n\nDetails\n  more");
        assert_eq!(clean_doc("\n    Only body.\n    "), "Only body.");
    }
}
