//! Differential check of the quick Python outline against the tags query on a real tree:
//! for every file, the definitions (name, kind, name range, parent's name range) must be equal.
//!
//! `cargo run --release --example outline-check -- /tmp/bench/Django-5.0`
#![allow(clippy::print_stdout, clippy::print_stderr)] // reporting is this program's job

use std::time::Instant;

use repolens::{
    syntax::{FileSummary, LanguageId, Languages, ParseBudget, parse_text},
    workspace::{DiscoverOptions, discover, read_source},
};

type Def = (String, String, u32, u32, Option<u32>);

fn defs(summary: &FileSummary) -> Vec<Def> {
    let mut out: Vec<Def> = summary
        .symbols
        .iter()
        .map(|s| {
            let parent = s.parent.map(|p| summary.symbols[p as usize].name_range.start);
            (s.name.to_string(), format!("{:?}", s.kind), s.name_range.start, s.name_range.end, parent)
        })
        .collect();
    out.sort_by_key(|d| d.2);
    out
}

fn main() {
    let root = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: outline-check DIR"));
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let files = discover(std::slice::from_ref(&root), &DiscoverOptions::default()).files;
    let (mut same, mut differ, mut total_defs) = (0, 0, 0);
    let (mut outline_time, mut parse_time) = (0.0, 0.0);
    for (path, _) in &files {
        let Ok(text) = read_source(path, 2 * 1024 * 1024) else { continue };
        let t = Instant::now();
        let quick = FileSummary::outline(LanguageId::Python, &text).unwrap();
        outline_time += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let tree = parse_text(lang, &text, None, ParseBudget::default()).unwrap();
        let full = FileSummary::build(lang, &tree, &text);
        parse_time += t.elapsed().as_secs_f64();
        let (a, b) = (defs(&quick), defs(&full));
        total_defs += b.len();
        if a == b {
            same += 1;
        } else {
            differ += 1;
            if differ <= 15 {
                let only_quick: Vec<_> = a.iter().filter(|d| !b.contains(d)).take(3).collect();
                let only_full: Vec<_> = b.iter().filter(|d| !a.contains(d)).take(3).collect();
                println!("{}\n  outline only: {only_quick:?}\n  tags only:    {only_full:?}", path.display());
            }
        }
    }
    println!(
        "{same} files equal, {differ} differ ({total_defs} definitions); outline {:.0} ms, parse+tags {:.0} ms (one thread)",
        outline_time * 1000.0,
        parse_time * 1000.0
    );
}
