//! What risk reads from one file's syntax tree: the metrics of every function and the smells,
//! computed together so that a file is walked once per version.

use serde::{Deserialize, Serialize};

use super::{FileMetrics, Smell, file_metrics, find_smells, scope::has_generated_header};
use crate::syntax::{Language, SyntaxTree};

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
    CodeFacts {
        metrics: file_metrics(lang, tree, text),
        smells: find_smells(lang, tree, text),
        generated: has_generated_header(text),
    }
}
