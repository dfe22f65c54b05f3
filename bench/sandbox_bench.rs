//! The sandbox on a real tree: time to list and make a scratch copy (and to remove it), what was
//! linked and copied, time to hash the tree for a baseline key, and the wall time of a small
//! pytest run in a scratch copy of a generated project.
//!
//! `cargo run --release --example sandbox-bench -- /tmp/bench/Django-5.0 [runs]`
#![allow(clippy::print_stdout)] // reporting is this program's job

use std::time::{Duration, Instant};

use repolens::{
    sandbox::{Overlay, SandboxOptions, Scratch, TestCommand, run_tests},
    workspace::{content_hash, list_tree},
};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().expect("usage: sandbox-bench DIR [RUNS]"));
    let runs: usize = args.next().map_or(10, |n| n.parse().expect("RUNS is a number"));
    let options = SandboxOptions::new();
    let overlay = [Overlay::new("repolens_bench_overlay.py", "X = 1\n")];

    let (mut create, mut list, mut drop_t) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let listing = list_tree(&root, options.cancel.flag()).unwrap();
        list.push(t.elapsed());
        drop(listing);
        let t = Instant::now();
        let scratch = Scratch::create_with(&root, &overlay, &options).unwrap();
        create.push(t.elapsed());
        last = Some(scratch.stats());
        let t = Instant::now();
        drop(scratch);
        drop_t.push(t.elapsed());
    }
    let stats = last.unwrap();
    println!(
        "scratch copy of {}: {} dirs, {} linked, {} copied, {} symlinks, {} excluded dirs",
        root.display(),
        stats.dirs,
        stats.linked,
        stats.copied,
        stats.symlinks,
        stats.excluded_dirs
    );
    println!(
        "  list only: median {:.1} ms | list + copy: median {:.1} ms, min {:.1} ms | remove: median {:.1} ms ({runs} runs)",
        ms(median(list.clone())),
        ms(median(create.clone())),
        ms(*create.iter().min().unwrap()),
        ms(median(drop_t))
    );

    let listing = list_tree(&root, options.cancel.flag()).unwrap();
    let t = Instant::now();
    use rayon::prelude::*;
    let n = listing.files.par_iter().filter(|f| content_hash(&listing.root.join(&f.path)).is_ok()).count();
    println!("  hashing {n} files for a baseline key: {:.1} ms", ms(t.elapsed()));

    // A small pytest project: the cost of one run, start to parsed result.
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join("tests")).unwrap();
    for i in 0..5 {
        std::fs::write(
            project.path().join(format!("tests/test_m{i}.py")),
            "def test_a():\n    assert 1 + 1 == 2\n\ndef test_b():\n    assert 'x'.upper() == 'X'\n",
        )
        .unwrap();
    }
    let command = TestCommand::detect(project.path(), None).unwrap();
    let mut times = Vec::new();
    let mut isolated = false;
    for _ in 0..5 {
        let t = Instant::now();
        let scratch = Scratch::create_with(project.path(), &[], &options).unwrap();
        let run = run_tests(&scratch, &command, &[], &options).unwrap();
        times.push(t.elapsed());
        assert_eq!(run.counts.passed, 10, "{run:?}");
        isolated = run.network_isolated;
    }
    println!(
        "pytest run (10 tests, copy + run + parse): median {:.0} ms, min {:.0} ms; network isolated: {isolated}",
        ms(median(times.clone())),
        ms(*times.iter().min().unwrap())
    );
}
