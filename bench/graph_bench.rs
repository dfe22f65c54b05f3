//! The symbol graph on a real tree: full build time, size, and the time to update one file
//! (re-parse excluded) for files of every size, p50/p95, plus PageRank time.
//!
//! `cargo run --release --example graph-bench -- /tmp/bench/Django-5.0`
#![allow(clippy::print_stdout)] // reporting is this program's job

use std::{sync::Arc, time::Instant};

use repolens::{
    graph::SymbolGraph,
    syntax::Languages,
    workspace::{DiscoverOptions, FileId, scan_workspace},
};

fn main() {
    let root = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: graph-bench DIR"));
    let languages = Languages::embedded();
    let never = std::sync::atomic::AtomicBool::new(false);
    let t = Instant::now();
    let scan =
        scan_workspace(std::slice::from_ref(&root), &DiscoverOptions::default(), &languages, &|_| {}, &never)
            .unwrap();
    println!("scan (parse + tags): {:.0} ms, {} files", t.elapsed().as_secs_f64() * 1000.0, scan.files.len());
    let files: Vec<(FileId, String, Arc<_>)> = scan
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let rel = f.path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            (FileId(i as u32), rel, f.summary.clone())
        })
        .collect();
    let t = Instant::now();
    let mut graph = SymbolGraph::build(files.clone());
    println!(
        "graph build: {:.0} ms, {} nodes, {} edges",
        t.elapsed().as_secs_f64() * 1000.0,
        graph.node_count(),
        graph.edge_count()
    );
    let t = Instant::now();
    let ranks = graph.pagerank(&[], None);
    println!("pagerank cold: {:.0} ms ({} iterations)", t.elapsed().as_secs_f64() * 1000.0, ranks.iterations);
    let t = Instant::now();
    let warm = graph.pagerank(&[], Some(&ranks));
    println!("pagerank warm: {:.0} ms ({} iterations)", t.elapsed().as_secs_f64() * 1000.0, warm.iterations);
    let mut times = Vec::new();
    let mut worst = (0.0, String::new(), 0);
    for (file, rel, summary) in files.iter().step_by(7) {
        let t = Instant::now();
        let stats = graph.update_file(*file, rel.clone(), summary.clone());
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if ms > worst.0 {
            worst = (ms, rel.clone(), stats.resolved_files);
        }
        times.push(ms);
    }
    report("body-only update (same interface)", times, worst);
    // A renamed definition changes what other files can see: the general path.
    let mut times = Vec::new();
    let mut worst = (0.0, String::new(), 0);
    for (file, rel, summary) in files.iter().step_by(7) {
        let mut renamed = (**summary).clone();
        if let Some(first) = renamed.symbols.first_mut() {
            first.name = format!("{}_renamed", first.name).into();
        }
        let t = Instant::now();
        let stats = graph.update_file(*file, rel.clone(), Arc::new(renamed));
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if ms > worst.0 {
            worst = (ms, rel.clone(), stats.resolved_files);
        }
        times.push(ms);
        graph.update_file(*file, rel.clone(), summary.clone());
    }
    report("update with a renamed definition", times, worst);
}

fn report(what: &str, mut times: Vec<f64>, worst: (f64, String, usize)) {
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    println!(
        "{what} ({} files): p50 {:.2} ms, p95 {:.2} ms, max {:.1} ms ({}, {} files re-resolved)",
        times.len(),
        pct(0.5),
        pct(0.95),
        worst.0,
        worst.1,
        worst.2
    );
}
