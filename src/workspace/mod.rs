//! The workspace on disk: which files belong to it, reading them, and scanning them in parallel.
//!
//! This is the only module that reads the user's files. Discovery respects `.gitignore`,
//! `.ignore` and git's excludes; files that are binary, not UTF-8 or larger than the limit are
//! skipped and counted, never reported as errors. A scan parses and tags every file on a
//! dedicated thread pool, reporting progress and stopping promptly when cancelled. It also lists
//! the work tree for the sandbox's scratch copies (`tree.rs`: which files tests may need) and
//! reads the repository's `.repolens.toml`.

mod cache;
mod discover;
mod index;
mod repolens_toml;
mod scan;
mod settings;
mod tree;
mod vfs;
mod watch;
mod write;

pub use cache::{CacheError, CachedIndex, DiskSync, FileStamp, IndexCache};
pub use discover::{
    DiscoverOptions, Discovery, SkipReason, Skipped, discover, grammar_overrides, read_source,
};
pub use index::{
    CacheState, IndexBuild, IndexSink, PendingCacheSave, index_workspace, save_index_cache,
    save_index_cache_in_background,
};
pub use repolens_toml::{CommandLine, RepolensToml, SettingsError, TestSection};
pub use scan::{
    ScanDepth, ScanProgress, ScannedFile, WorkspaceScan, scan_files, scan_workspace, summarize_source,
};
pub use settings::{WorkspaceSettings, workspace_settings, write_answer};
pub use tree::{TreeError, TreeFile, TreeListing, content_hash, list_tree};
pub use vfs::{FileId, Vfs, VfsPath};
pub use watch::{DiskChange, DiskWatcher};
pub use write::{WriteError, write_if_unchanged};
