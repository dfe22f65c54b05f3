//! The engine's API, used by the protocol edge, the CLI and most tests.
//!
//! [`AnalysisHost`] owns the state and is the one ordered writer: documents change only through
//! it, in the order edits arrived. [`Analysis`] is an immutable snapshot of that state — ropes,
//! trees and persistent maps clone in O(1) — that request handlers read on worker threads while
//! the host moves on. Nothing here performs IO except what the host is explicitly told to do.

mod diagnostics;
mod fix;
mod fuzzy;
mod history_load;
mod host;
mod load;
mod model;
mod risk;
mod snapshot;
mod symbols;

pub use diagnostics::{FileDiagnostics, FileRiskView};
pub use fix::{FixError, FixJob, FixRequest, run_fix, run_test_generation, smells_in};
pub use history_load::{HistoryLoad, HistorySource, history_options, history_options_at, load_history};
pub use host::{AnalysisHost, ChangeError, IndexSummary, OpenDocument};
pub use load::{LoadEvent, LoadOptions, LoadTimings, LoadedRepository, load_repository};
pub use model::{FileSource, ModelConfig, ModelEvent, ModelFile, ModelUpdate, ModelUpdater, RepoModel};
pub use risk::{FactsByHash, FreshFacts, RiskStats};
pub use snapshot::Analysis;
pub use symbols::{OutlineNode, SymbolHit};

/// Work abandoned because its request was cancelled or its input changed underneath it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

pub type Cancellable<T> = Result<T, Cancelled>;
