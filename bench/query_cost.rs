//! What each pattern of the combined Python query costs over a tree of files: parses every
//! `.py` file once, then times one pass of the combined query and, per pattern, one pass with
//! that pattern disabled. Prints the patterns whose removal saves the most.
//!
//! `cargo run --release --example query-cost -- /tmp/bench/Django-5.0 [MAX_FILES]`
#![allow(clippy::print_stdout)] // reporting is this program's job

use std::time::Instant;

use repolens::syntax::{LanguageId, Languages, ParseBudget, QueryFile, WalkQuery, parse_text};
use streaming_iterator::StreamingIterator;
use tree_sitter::{Query, QueryCursor};

fn main() {
    let root = std::env::args().nth(1).expect("usage: query-cost ROOT [MAX_FILES]");
    let max: usize = std::env::args().nth(2).map_or(usize::MAX, |n| n.parse().unwrap());
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(&root).build().filter_map(Result::ok) {
        if entry.path().extension().is_some_and(|e| e == "py")
            && let Ok(text) = std::fs::read_to_string(entry.path())
        {
            files.push(text);
        }
        if files.len() >= max {
            break;
        }
    }
    let t = Instant::now();
    let trees: Vec<_> =
        files.iter().map(|text| parse_text(lang, text, None, ParseBudget::default()).unwrap()).collect();
    println!("{} files, parse {:.0} ms", files.len(), t.elapsed().as_secs_f64() * 1000.0);
    // The query files in the order `FileQueries` combines them.
    let source: Vec<&str> =
        QueryFile::ALL.iter().filter_map(|&file| LanguageId::Python.embedded_query(file)).collect();
    let source = source.join("\n");
    let run = |query: &Query| {
        let mut cursor = QueryCursor::new();
        let t = Instant::now();
        let mut n = 0usize;
        for (tree, text) in trees.iter().zip(&files) {
            let mut matches = cursor.matches(query, tree.root_node(), text.as_bytes());
            while let Some(m) = matches.next() {
                n += m.captures().len();
            }
        }
        (t.elapsed().as_secs_f64() * 1000.0, n)
    };
    let full = Query::new(&lang.grammar, &source).unwrap();
    let (base, captures) = (1..=3).map(|_| run(&full)).min_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
    println!("all {} patterns: {base:.0} ms, {captures} captures", full.pattern_count());
    let walk = {
        let t = Instant::now();
        let mut n = 0usize;
        for tree in &trees {
            let mut cursor = tree.root_node().walk();
            loop {
                n += 1;
                if cursor.goto_first_child() || cursor.goto_next_sibling() {
                    continue;
                }
                loop {
                    if !cursor.goto_parent() {
                        break;
                    }
                    if cursor.goto_next_sibling() {
                        break;
                    }
                }
                if cursor.depth() == 0 {
                    break;
                }
            }
        }
        std::hint::black_box(n);
        t.elapsed().as_secs_f64() * 1000.0
    };
    println!("plain cursor walk: {walk:.0} ms");
    // The same query on repolens's one-walk engine: its time, and whether it finds exactly the
    // matches tree-sitter's cursor finds.
    let walk_query = WalkQuery::new(&lang.grammar, &source, &full).unwrap();
    let walk_ms = (1..=3)
        .map(|_| {
            let t = Instant::now();
            let mut n = 0usize;
            for (tree, text) in trees.iter().zip(&files) {
                walk_query.for_each_match(tree.root_node(), text.as_bytes(), &mut |m| n += m.captures.len());
            }
            std::hint::black_box(n);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .fold(f64::INFINITY, f64::min);
    type Key = (usize, Vec<(u32, usize, usize, u16)>);
    let key = |pattern: usize, captures: &[tree_sitter::QueryCapture]| -> Key {
        let mut c: Vec<_> = captures
            .iter()
            .map(|c| (c.index, c.node.start_byte(), c.node.end_byte(), c.node.kind_id()))
            .collect();
        c.sort_unstable();
        (pattern, c)
    };
    let (mut differing_files, mut first_difference) = (0, None);
    let mut cursor = QueryCursor::new();
    for (tree, text) in trees.iter().zip(&files) {
        let mut expected: Vec<Key> = Vec::new();
        let mut matches = cursor.matches(&full, tree.root_node(), text.as_bytes());
        while let Some(m) = matches.next() {
            expected.push(key(m.pattern_index, m.captures()));
        }
        let mut found: Vec<Key> = Vec::new();
        walk_query.for_each_match(tree.root_node(), text.as_bytes(), &mut |m| {
            found.push(key(m.pattern_index, m.captures));
        });
        expected.sort();
        found.sort();
        if expected != found {
            differing_files += 1;
            if first_difference.is_none() {
                let missing: Vec<_> =
                    expected.iter().filter(|k| !found.contains(k)).take(3).cloned().collect();
                let extra: Vec<_> = found.iter().filter(|k| !expected.contains(k)).take(3).cloned().collect();
                first_difference = Some(format!("missing {missing:?}, extra {extra:?}"));
            }
        }
    }
    println!(
        "walk query: {walk_ms:.0} ms; files whose matches differ from tree-sitter's: {differing_files}{}",
        first_difference.map_or(String::new(), |d| format!(" (first: {d})"))
    );

    let mut savings = Vec::new();
    for i in 0..full.pattern_count() {
        let mut q = Query::new(&lang.grammar, &source).unwrap();
        q.disable_pattern(i);
        let (ms, _) = run(&q);
        let start = full.start_byte_for_pattern(i);
        let line = source[..start].lines().count() + 1;
        let head: String = source[start..].lines().next().unwrap_or("").chars().take(60).collect();
        savings.push((base - ms, i, line, head));
    }
    savings.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (saved, i, line, head) in savings.iter().take(25) {
        println!("{saved:>7.1} ms  #{i:<3} line {line:<4} {head}");
    }
}
