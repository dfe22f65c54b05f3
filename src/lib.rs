//! repolens: a language server that understands the whole repository.
//!
//! Modules in reading order, each depending only on those above it: `stdx`, `text`, `syntax`,
//! `workspace`, `search`, `analysis`, then `lsp` (the protocol edge, the only module that names
//! LSP types) and `cli`. See `docs/architecture.md`.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod lsp;
pub mod search;
pub mod stdx;
pub mod syntax;
pub mod text;
pub mod workspace;
