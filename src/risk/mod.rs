//! Risk: which functions and files are likely to need a fix soon, and why.
//!
//! This module owns the whole risk pipeline: code metrics computed from the syntax tree, the
//! score that combines them with history and graph facts, and the explanations attached to each
//! diagnostic. For now it only has the metrics (`metrics`): per-function SLOC, cyclomatic
//! complexity (radon's rules), cognitive complexity (sonar-python's rules), nesting and
//! parameters, and per-file sums. Its output is plain data; no LSP types live here.

mod metrics;

pub use metrics::{FileMetrics, FunctionMetrics, file_metrics};
