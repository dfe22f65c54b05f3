//! Syntax: tree-sitter parsing (full and incremental) and the tags each file yields.
//!
//! Everything language-specific is data: a grammar crate plus query files under
//! `grammars/<language>/`, embedded at build time and overridable from a workspace. Parsing broken
//! code never fails — tree-sitter recovers and we keep the tree — but a parse can be cut short by a
//! time budget or a cancellation flag, in which case the file simply has no tree.

mod imports;
mod incremental;
mod languages;
mod outline;
mod parse;
mod queries;
mod summary;
mod tags;
mod walk_query;

pub use imports::{Import, ImportsQuery};
pub use incremental::{changed_spans, merge_imports, merge_tags};
pub use languages::{Language, LanguageId, Languages, QueryFile, QueryOverride};
pub use outline::quick_outline;
pub use parse::{ParseBudget, SyntaxTree, count_syntax_errors, input_edit, parse_rope, parse_text};
pub use queries::FileQueries;
pub use summary::{FileSummary, Reference, SummaryDetail, Symbol, SymbolKind};
pub use tags::{DefinitionKind, ReferenceKind, Tag, TagKind, TagsQuery};
pub use walk_query::{PatternMatch, TreeVisitor, WalkQuery};
