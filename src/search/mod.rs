//! Full-text search over symbol-sized chunks: tantivy BM25 with a code-aware tokenizer.
//!
//! This module owns the search index: how files are cut into chunks ([`chunks_for_file`]), how
//! code and questions are tokenized so that `getUserName`, `get_user_name` and "user names" meet
//! ([`CodeTokenizer`]), the on-disk or in-memory tantivy index and its incremental updates
//! ([`SearchIndex`]: replace or remove one file's chunks, commit, and new searchers see it), and
//! ranking free text against it ([`SearchSnapshot::search`] for chunks,
//! [`SearchSnapshot::file_scores`] for file localization). Queries are free text — identifiers,
//! sentences, whole issue reports with tracebacks — never tantivy query syntax.
//!
//! Writes go through one owner (`&mut SearchIndex`); reads go through [`SearchSnapshot`]s, cheap
//! clones of a tantivy `Searcher` that stay valid and consistent while the owner writes and
//! commits. Errors at this seam are [`SearchError`]; an index that cannot be opened because it is
//! corrupt or from another format version says so ([`SearchError::needs_rebuild`]), so the caller
//! can delete the directory and rebuild. No LSP types and no file IO beyond the index directory.

mod chunk;
mod directory;
mod index;
mod query;
mod tokenizer;

use std::path::PathBuf;

pub use chunk::{
    Chunk, ChunkKind, MAX_CHUNK_BYTES, MAX_MODULE_CHUNK_BYTES, chunk_kinds, chunk_owner, chunks_for_file,
    is_test_path,
};
pub use index::{
    BulkOptions, BulkStats, INDEX_FORMAT_VERSION, Replaced, SearchIndex, SearchSnapshot, SegmentStats,
};
pub use query::{FieldBoosts, FileHit, MAX_QUERY_BYTES, QueryOptions, QueryTerm, SearchHit};
pub use tokenizer::{CODE_TOKENIZER, CodeTokenizer, TokenKind, tokens};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index at {} is corrupt: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "search index at {} has format version {}, this build reads version {expected}",
        path.display(),
        found.map_or_else(|| "unknown".to_owned(), |v| v.to_string())
    )]
    VersionMismatch { path: PathBuf, found: Option<u32>, expected: u32 },
    #[error("search index at {} is being written by another process", path.display())]
    Locked { path: PathBuf },
    #[error("search index io error: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search indexing was cancelled")]
    Cancelled,
}

impl SearchError {
    /// Whether the index directory should be deleted and built again: nothing in it can be
    /// used by this build.
    pub fn needs_rebuild(&self) -> bool {
        matches!(self, SearchError::Corrupt { .. } | SearchError::VersionMismatch { .. })
    }
}

pub type SearchResult<T> = Result<T, SearchError>;
