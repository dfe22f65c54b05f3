//! What the rest of the engine keeps of a parsed file: its symbols, its references and a line
//! table. Trees and texts are dropped after this is built, which is what keeps a whole
//! repository in memory cheaply.

use super::{Import, Language, LanguageId, SyntaxTree, Tag, TagKind, tags::ReferenceKind};
use crate::text::{LineIndex, TextRange};

pub use super::tags::DefinitionKind as SymbolKind;

/// How much of a file a summary describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SummaryDetail {
    /// Definitions only, from the quick outline; extents approximate, no docs or references.
    Outline,
    /// Everything the tags query yields, from a tree-sitter parse.
    Full,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileSummary {
    pub language: LanguageId,
    pub detail: SummaryDetail,
    /// Definitions in document order; parents come before their children.
    pub symbols: Vec<Symbol>,
    /// References in document order.
    pub references: Vec<Reference>,
    /// Import bindings in document order.
    pub imports: Vec<Import>,
    pub line_index: LineIndex,
    pub has_syntax_errors: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Symbol {
    pub name: Box<str>,
    pub kind: SymbolKind,
    pub range: TextRange,
    pub name_range: TextRange,
    /// Index of the innermost enclosing symbol.
    pub parent: Option<u32>,
    pub doc: Option<Box<str>>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reference {
    pub kind: ReferenceKind,
    pub name: Box<str>,
    pub range: TextRange,
    pub name_range: TextRange,
    /// Index of the innermost symbol whose range holds the reference.
    pub container: Option<u32>,
    /// What the name is looked up on: `os.path` in `os.path.join(…)`, `self` in `self.save()`;
    /// `None` for a bare name. A receiver that is not a dotted name (`f().g()`) is `Some("")`.
    pub receiver: Option<Box<str>>,
}

impl FileSummary {
    pub fn build(lang: &Language, tree: &SyntaxTree, text: &str) -> FileSummary {
        FileSummary::build_with(lang, tree, text, &mut |_| {}, None).0
    }

    /// [`FileSummary::build`] in one walk of the tree that also hands `on_other` every match of
    /// the language's other queries (see [`FileQueries`](super::FileQueries)) and takes `visitor`
    /// along when the queries run on a [`WalkQuery`](super::WalkQuery); says whether they did.
    pub fn build_with<'t>(
        lang: &Language,
        tree: &'t SyntaxTree,
        text: &str,
        on_other: &mut dyn FnMut(&super::PatternMatch<'_, '_>),
        visitor: Option<&mut dyn super::TreeVisitor<'t>>,
    ) -> (FileSummary, bool) {
        let (tags, imports, visited) = match &lang.queries {
            Some(queries) => queries.run(tree, text.as_bytes(), on_other, visitor),
            None => (
                lang.tags.collect(tree, text.as_bytes()),
                lang.imports.as_ref().map(|q| q.collect(tree, text.as_bytes())).unwrap_or_default(),
                false,
            ),
        };
        (FileSummary::assemble(lang.id, tags, imports, text, tree.root_node().has_error()), visited)
    }

    /// A summary from query results already at hand (e.g. kept current incrementally).
    pub fn assemble(
        language: LanguageId,
        tags: Vec<Tag>,
        imports: Vec<Import>,
        text: &str,
        has_syntax_errors: bool,
    ) -> FileSummary {
        let mut summary =
            FileSummary::from_tags(language, tags, imports, LineIndex::new(text), has_syntax_errors);
        for reference in &mut summary.references {
            reference.receiver = receiver_of(text, reference);
        }
        summary
    }

    pub fn from_tags(
        language: LanguageId,
        tags: Vec<Tag>,
        mut imports: Vec<Import>,
        line_index: LineIndex,
        has_syntax_errors: bool,
    ) -> FileSummary {
        let mut symbols = Vec::new();
        let mut references = Vec::new();
        for tag in tags {
            match tag.kind {
                TagKind::Definition(kind) => symbols.push(Symbol {
                    name: tag.name,
                    kind,
                    range: tag.range,
                    name_range: tag.name_range,
                    parent: None,
                    doc: tag.doc,
                }),
                TagKind::Reference(kind) => references.push(Reference {
                    kind,
                    name: tag.name,
                    range: tag.range,
                    name_range: tag.name_range,
                    container: None,
                    receiver: None,
                }),
            }
        }
        // Outer before inner: by start, then longest first.
        symbols.sort_by_key(|s| (s.range.start, std::cmp::Reverse(s.range.end), s.name_range.start));
        let mut stack: Vec<u32> = Vec::new();
        for idx in 0..symbols.len() {
            let range = symbols[idx].range;
            while let Some(&top) = stack.last() {
                let outer = symbols[top as usize].range;
                if outer.contains_range(range) && outer != range {
                    break;
                }
                stack.pop();
            }
            let parent = stack.last().copied();
            symbols[idx].parent = parent;
            symbols[idx].kind = symbols[idx].kind.nested_in(parent.map(|p| symbols[p as usize].kind));
            stack.push(idx as u32);
        }
        references.sort_by_key(|r| r.name_range.start);
        for reference in &mut references {
            reference.container = innermost_symbol(&symbols, reference.range);
        }
        for import in &mut imports {
            import.container = innermost_symbol(&symbols, import.range);
        }
        FileSummary {
            language,
            detail: SummaryDetail::Full,
            symbols,
            references,
            imports,
            line_index,
            has_syntax_errors,
        }
    }

    /// A file with nothing in it.
    pub fn empty(language: LanguageId) -> FileSummary {
        FileSummary {
            language,
            detail: SummaryDetail::Full,
            symbols: Vec::new(),
            references: Vec::new(),
            imports: Vec::new(),
            line_index: LineIndex::new(""),
            has_syntax_errors: false,
        }
    }

    /// A definitions-only summary from the quick outline, for languages that have one.
    pub fn outline(language: LanguageId, text: &str) -> Option<FileSummary> {
        let symbols = super::quick_outline(language, text)?;
        Some(FileSummary {
            language,
            detail: SummaryDetail::Outline,
            symbols,
            references: Vec::new(),
            imports: Vec::new(),
            line_index: LineIndex::new(text),
            has_syntax_errors: false,
        })
    }

    /// `Outer.inner` names within the file, e.g. `QuerySet.filter`.
    pub fn qualified_name(&self, idx: usize) -> String {
        let mut parts = vec![&*self.symbols[idx].name];
        let mut parent = self.symbols[idx].parent;
        while let Some(p) = parent {
            parts.push(&self.symbols[p as usize].name);
            parent = self.symbols[p as usize].parent;
        }
        parts.reverse();
        parts.join(".")
    }

    /// The qualified name of the symbol's parent, if it has one.
    pub fn container_name(&self, idx: usize) -> Option<String> {
        self.symbols[idx].parent.map(|p| self.qualified_name(p as usize))
    }

    /// Children of `parent` (`None`: top level), in document order.
    pub fn children(&self, parent: Option<u32>) -> impl Iterator<Item = usize> + '_ {
        self.symbols.iter().enumerate().filter(move |(_, s)| s.parent == parent).map(|(i, _)| i)
    }
}

/// The dotted name before a reference's name: the text from the tagged node's start to the
/// name, without the `.` (and a decorator's `@`).
fn receiver_of(text: &str, reference: &Reference) -> Option<Box<str>> {
    let before = text.get(reference.range.start as usize..reference.name_range.start as usize)?;
    let before = before.trim_start_matches('@').trim();
    let receiver = before.strip_suffix('.')?.trim_end();
    if receiver == "super()" {
        return Some(receiver.into());
    }
    let dotted = !receiver.is_empty()
        && receiver.split('.').all(|part| {
            let part = part.trim();
            !part.is_empty() && part.chars().all(|c| c == '_' || c.is_alphanumeric())
        });
    Some(if dotted {
        receiver.split('.').map(str::trim).collect::<Vec<_>>().join(".").into()
    } else {
        "".into()
    })
}

/// The innermost symbol whose range contains `range`. Symbols are sorted outer-first, so the
/// last containing one in order is the innermost.
fn innermost_symbol(symbols: &[Symbol], range: TextRange) -> Option<u32> {
    let end = symbols.partition_point(|s| s.range.start <= range.start);
    let mut candidate = end.checked_sub(1)?;
    loop {
        if symbols[candidate].range.contains_range(range) {
            return Some(candidate as u32);
        }
        candidate = symbols[candidate].parent? as usize;
    }
}
