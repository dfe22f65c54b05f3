//! What risk reads from one file's syntax tree: the metrics of every function and the smells,
//! computed together, along the same walk of the tree as the summary's query pass where the
//! language's queries run on a `WalkQuery`, so that a file is walked once per version.

use serde::{Deserialize, Serialize};

use super::{
    FileMetrics, Smell, file_metrics, find_smells,
    metrics::MetricsWalk,
    scope::has_generated_header,
    smells::{SmellMatcher, in_document_order},
};
use crate::syntax::{FileSummary, Language, PatternMatch, SyntaxTree, TreeVisitor};

/// Everything risk needs from a file's text: plain data, cheap to keep for a whole repository
/// and to cache by content hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeFacts {
    pub metrics: FileMetrics,
    pub smells: Vec<Smell>,
    /// A comment at the top says a tool wrote the file.
    pub generated: bool,
}

/// Analyzes one parsed file. `text` must be the text `tree` was parsed from.
///
/// Where the language's queries run on a `WalkQuery`, metrics and smells come from one walk
/// with the combined query (tags and imports matched too, and dropped). That takes about half the
/// time of a metrics walk followed by tree-sitter's cursor over `smells.scm` alone (Django's
/// `query.py`: 4.2–4.6 ms against 8.0–9.7 ms), and an edit re-analyzes the whole file.
pub fn analyze_code(lang: &Language, tree: &SyntaxTree, text: &str) -> CodeFacts {
    let Some(queries) = &lang.queries else {
        return CodeFacts::new(file_metrics(lang, tree, text), find_smells(lang, tree, text), text);
    };
    let ((), facts) = with_facts(lang, queries.query(), tree, text, |on_other, visitor| {
        let (_, _, walked) = queries.run(tree, text.as_bytes(), on_other, Some(visitor));
        ((), walked)
    });
    facts
}

impl CodeFacts {
    fn new(metrics: FileMetrics, smells: Vec<Smell>, text: &str) -> CodeFacts {
        CodeFacts { metrics, smells, generated: has_generated_header(text) }
    }
}

/// A file's summary and its code facts from one pass of the language's queries: what indexing
/// a file for the first time costs, instead of a second parse and two more query passes later.
pub fn summarize_and_analyze(lang: &Language, tree: &SyntaxTree, text: &str) -> (FileSummary, CodeFacts) {
    let Some(queries) = &lang.queries else {
        return (FileSummary::build(lang, tree, text), analyze_code(lang, tree, text));
    };
    with_facts(lang, queries.query(), tree, text, |on_other, visitor| {
        FileSummary::build_with(lang, tree, text, on_other, Some(visitor))
    })
}

/// Code facts gathered along one pass of the combined `query`: `pass` hands its other matches
/// (smells) to the first argument and takes the metrics walk along, and says whether it did (else
/// the metrics walk the tree on their own).
fn with_facts<'t, R>(
    lang: &Language,
    query: &tree_sitter::Query,
    tree: &'t SyntaxTree,
    text: &str,
    pass: impl FnOnce(&mut dyn FnMut(&PatternMatch<'_, '_>), &mut dyn TreeVisitor<'t>) -> (R, bool),
) -> (R, CodeFacts) {
    let matcher = SmellMatcher::new(query);
    let mut smells = Vec::new();
    let mut metrics = MetricsWalk::new(lang, tree, text);
    let (result, walked) = pass(&mut |m| smells.extend(matcher.smell_of(m, tree, text)), &mut metrics);
    let metrics = if walked { metrics.finish() } else { metrics.walk_alone() };
    (result, CodeFacts::new(metrics, in_document_order(smells), text))
}
