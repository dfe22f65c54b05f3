//! repolens: a language server that understands the whole repository.
//!
//! Modules in dependency order, each using only those before it: `stdx`, `config`, `text`,
//! `syntax`, `workspace`, `history` (git facts), `sandbox` (scratch copies and test runs),
//! `graph` (the symbol graph), `search` (the BM25 index), `risk` (code metrics), `trace` (the JSON-lines record of repairs), `repair` (candidate
//! patches, tested in the sandbox), `analysis` (the host and its snapshots), then `lsp` (the protocol edge, the only module that names LSP types)
//! and `cli`. `rustfmt` lists them alphabetically below; see `docs/architecture.md` for what each owns.

pub mod analysis;
pub mod answer;
pub mod cli;
pub mod config;
pub mod graph;
pub mod history;
pub mod llm;
pub mod lsp;
pub mod repair;
pub mod retrieve;
pub mod risk;
pub mod sandbox;
pub mod search;
pub mod stdx;
pub mod syntax;
pub mod text;
pub mod trace;
pub mod workspace;
