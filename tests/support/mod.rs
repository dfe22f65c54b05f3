//! Test support: fixture workspaces and an LSP client that talks to a real server, either
//! in-process over OS pipes or to the built binary over stdio. Both go through real framing.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod client;
pub mod fixture;
pub mod openai;

#[allow(unused_imports)]
pub use client::{TestClient, TestServerBuilder};
#[allow(unused_imports)]
pub use fixture::{Fixture, tree_bytes, write_fixture};
