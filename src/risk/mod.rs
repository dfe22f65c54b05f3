//! Risk: which functions and files are likely to need a fix soon, and why.
//!
//! This module owns the whole risk pipeline, as plain data (no LSP types):
//! - `metrics`: per-function SLOC, cyclomatic complexity (radon's rules), cognitive complexity
//!   (sonar-python's rules), nesting and parameters, and per-file sums;
//! - `smells`: code smells with mechanical fixes, from `grammars/<language>/smells.scm`;
//! - `code`: both, from one file's tree ([`CodeFacts`]);
//! - `context`: history (churn, fixes, authors) and graph (fan-in, PageRank, tests) facts per
//!   file and function ([`FileContext`]);
//! - `score`: the factors and their fixed weights, combined in log space;
//! - `table`: every file scored, percentiles within the repository, re-scoring an edited file;
//! - `scope`: which files are the project's own source (not tests, vendored or generated);
//! - `explain`: diagnostics with their messages, and the full breakdown for hovers;
//! - `sarif`: the SARIF 2.1.0 report of `repolens risks --sarif`.

mod code;
mod context;
mod explain;
mod metrics;
pub mod sarif;
mod scope;
mod score;
mod smells;
mod table;

pub use code::{CodeFacts, analyze_code, summarize_and_analyze};
pub use context::{ContextBuilder, FileContext, FunctionContext, RECENT_DAYS};
pub use explain::{
    DiagnosticKind, FactorReport, RiskDiagnostic, factor_reports, file_diagnostics, function_breakdown,
};
pub use metrics::{FileMetrics, FunctionMetrics, file_metrics};
pub use scope::{FileClass, classify, has_generated_header};
pub use score::{FILE_WEIGHTS, FUNCTION_WEIGHTS, Factor, FactorValue};
pub use smells::{FixEdit, Smell, SmellFix, SmellKind, find_smells, fix_candidates};
pub use table::{Distribution, FileInput, FileRisk, FunctionRisk, RiskTable};
