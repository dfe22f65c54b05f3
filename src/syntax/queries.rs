//! A language's queries compiled into one, so that a full pass over a parsed file walks its tree
//! once instead of once per query file.
//!
//! Walking the tree is most of what a query costs: on a 100 KB Python file the tags, imports and
//! smells queries take about 4.6, 3.2 and 3.4 ms one by one, and 4.5 ms together. The combined
//! query holds the patterns of `tags.scm`, then `imports.scm`, then `smells.scm`, in that order,
//! so a match's pattern index says which file it came from. Tags and imports are turned into
//! their types here; the remaining matches go to the caller (risk reads the smells), which keeps
//! this layer free of what the other query files mean.
//!
//! The pass runs on [`WalkQuery`], which finds the same matches as tree-sitter's cursor in
//! 0.56–0.58× its time on Django (`query-cost`); a query it cannot compile runs on tree-sitter's
//! cursor instead.

use std::{cell::RefCell, ops::Range};

use streaming_iterator::StreamingIterator;
use tree_sitter::{Query, QueryCursor};

use super::{
    Import, ImportsQuery, PatternMatch, SyntaxTree, Tag, TagsQuery, TreeVisitor, WalkQuery,
    imports::ImportMatcher,
    tags::{TagMatcher, dedup_tags},
};

/// Every query of a language in one compiled query.
pub struct FileQueries {
    query: Query,
    /// The same query on the one-walk engine, when it can run it.
    walk: Option<WalkQuery>,
    tags: TagMatcher,
    imports: Option<ImportMatcher>,
    tag_patterns: Range<usize>,
    import_patterns: Range<usize>,
}

impl FileQueries {
    /// Compiles the sources of `tags` and `imports` (already compiled on their own, which gives
    /// their pattern counts) and `others` into one query.
    pub(crate) fn new(
        grammar: &tree_sitter::Language,
        tags: (&str, &TagsQuery),
        imports: Option<(&str, &ImportsQuery)>,
        others: &[&str],
    ) -> anyhow::Result<FileQueries> {
        let tag_patterns = 0..tags.1.pattern_count();
        let import_patterns =
            tag_patterns.end..tag_patterns.end + imports.map_or(0, |(_, query)| query.pattern_count());
        let mut source = String::from(tags.0);
        for part in imports.map(|(source, _)| source).into_iter().chain(others.iter().copied()) {
            // A file may end in a comment without a newline.
            source.push('\n');
            source.push_str(part);
        }
        let query = Query::new(grammar, &source)?;
        let walk = WalkQuery::new(grammar, &source, &query)
            .inspect_err(|err| tracing::info!("queries run on tree-sitter's cursor: {err:#}"))
            .ok();
        let tags = TagMatcher::new(&query, tag_patterns.clone())?;
        let imports = imports.map(|_| ImportMatcher::new(&query));
        Ok(FileQueries { query, walk, tags, imports, tag_patterns, import_patterns })
    }

    /// The compiled query, for callers that interpret the other patterns' captures.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Whether passes run on [`WalkQuery`] (else on tree-sitter's cursor).
    pub fn runs_on_walk_query(&self) -> bool {
        self.walk.is_some()
    }

    /// Tags (deduplicated and sorted, as [`TagsQuery::collect`] returns them) and imports (in
    /// document order) of a whole tree; every match of the other patterns goes to `on_other`.
    /// `visitor` is taken along the walk when the queries run on a [`WalkQuery`]; the last value
    /// says whether it was (if not, it was never called).
    pub fn run<'t>(
        &self,
        tree: &'t SyntaxTree,
        text: &[u8],
        on_other: &mut dyn FnMut(&PatternMatch<'_, '_>),
        visitor: Option<&mut dyn TreeVisitor<'t>>,
    ) -> (Vec<Tag>, Vec<Import>, bool) {
        thread_local! {
            static CURSOR: RefCell<QueryCursor> = RefCell::new(QueryCursor::new());
        }
        let (mut tags, mut imports) = (Vec::new(), Vec::new());
        let mut on_match = |m: &PatternMatch<'_, '_>| {
            if self.tag_patterns.contains(&m.pattern_index) {
                tags.extend(self.tags.tag_of(m, text));
            } else if self.import_patterns.contains(&m.pattern_index) {
                // One statement binds several names; they keep their order in it (the walk
                // engine finds a statement's matches pattern by pattern, not in that order).
                let at = m.captures.iter().map(|c| c.node.start_byte()).max().unwrap_or(0);
                imports.extend(self.imports.as_ref().and_then(|i| i.import_of(m, text)).map(|i| (i, at)));
            } else {
                on_other(m);
            }
        };
        let visited = match (&self.walk, visitor) {
            (Some(walk), Some(visitor)) => {
                walk.for_each_match_visiting(tree.root_node(), text, &mut on_match, visitor);
                true
            }
            (Some(walk), None) => {
                walk.for_each_match(tree.root_node(), text, &mut on_match);
                false
            }
            (None, _) => {
                CURSOR.with(|cursor| {
                    let mut cursor = cursor.borrow_mut();
                    cursor.set_byte_range(0..usize::MAX);
                    let mut matches = cursor.matches(&self.query, tree.root_node(), text);
                    while let Some(m) = matches.next() {
                        on_match(&PatternMatch::from_query_match(m));
                    }
                });
                false
            }
        };
        imports.sort_by_key(|(i, at): &(Import, usize)| (i.range.start, *at));
        (dedup_tags(tags), imports.into_iter().map(|(i, _)| i).collect(), visited)
    }
}
