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
use crate::syntax::{FileSummary, Language, SyntaxTree};

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
pub fn analyze_code(lang: &Language, tree: &SyntaxTree, text: &str) -> CodeFacts {
    CodeFacts::new(file_metrics(lang, tree, text), find_smells(lang, tree, text), text)
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
    let matcher = SmellMatcher::new(queries.query());
    let mut smells = Vec::new();
    let mut metrics = MetricsWalk::new(lang, tree, text);
    let (summary, walked) = FileSummary::build_with(
        lang,
        tree,
        text,
        &mut |m| smells.extend(matcher.smell_of(m, tree, text)),
        Some(&mut metrics),
    );
    let metrics = if walked { metrics.finish() } else { metrics.walk_alone() };
    (summary, CodeFacts::new(metrics, in_document_order(smells), text))
}
