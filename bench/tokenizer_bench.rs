//! Throughput of the search tokenizer: every `.py` file of a tree, tokenized whole, best of five
//! passes. Prints the token count and a hash of the token stream, so a change that should not
//! alter tokens can be checked to produce the same hash.
//!
//! `cargo run --release --example tokenizer-bench -- /tmp/bench/Django-5.0`
#![allow(clippy::print_stdout)] // reporting is this program's job

use std::time::Instant;

use repolens::search::CodeTokenizer;
use tantivy::tokenizer::{TokenStream, Tokenizer};

fn main() {
    let root = std::env::args().nth(1).expect("usage: tokenizer-bench ROOT");
    let files: Vec<String> = ignore::WalkBuilder::new(&root)
        .build()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "py"))
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .collect();
    let (mut best, mut tokens, mut hash) = (f64::MAX, 0usize, 0u64);
    for _ in 0..5 {
        let mut tokenizer = CodeTokenizer::default();
        let started = Instant::now();
        (tokens, hash) = (0, 0);
        for text in &files {
            let mut stream = tokenizer.token_stream(text);
            while stream.advance() {
                tokens += 1;
                hash = hash
                    .wrapping_mul(31)
                    .wrapping_add(xxhash_rust::xxh3::xxh3_64(stream.token().text.as_bytes()));
            }
        }
        best = best.min(started.elapsed().as_secs_f64() * 1000.0);
    }
    let bytes: usize = files.iter().map(String::len).sum();
    println!(
        "{} files, {:.1} MB: {tokens} tokens (stream hash {hash:016x}), best of 5 passes {best:.0} ms",
        files.len(),
        bytes as f64 / 1e6
    );
}
