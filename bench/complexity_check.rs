//! Checks `repolens::risk::file_metrics` against the risk-evaluation labels, and times it.
//!
//! ```text
//! cargo run --release --example complexity-check -- LABELS.json CHECKOUT [--limit N] [--json] [--dump]
//! cargo run --release --example complexity-check -- --time TREE [--rounds N]
//! ```
//!
//! The first form reads a `labels_h12/*.json` file and a checkout of its `snapshot` commit,
//! computes the metrics of every labelled file and prints how often `sloc`, `cc` and `cog` agree
//! with the labels (overall and per file), the file sums, and the first N disagreements with
//! both values. Functions are joined by `(path, qual)`; when a file defines the same `qual` more
//! than once the labels keep the last definition, and so does this join. `--json` prints one
//! machine-readable summary instead; `--dump` prints our metrics for every function as JSON
//! lines (for comparing spans with other tools).
//!
//! The second form reads every `.py` file under TREE into memory, then times parsing and
//! metrics separately, single-threaded, best of N rounds, in wall time and on-CPU time.

// A command-line report: printing to stdout/stderr is its whole purpose.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use repolens::{
    risk::{FileMetrics, FunctionMetrics, file_metrics},
    syntax::{LanguageId, Languages, ParseBudget, parse_text},
};
use serde_json::{Value, json};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let (mut limit, mut rounds, mut as_json, mut dump, mut time_tree) = (20usize, 5usize, false, false, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--limit" => limit = args.next().context("--limit needs a number")?.parse()?,
            "--rounds" => rounds = args.next().context("--rounds needs a number")?.parse()?,
            "--json" => as_json = true,
            "--dump" => dump = true,
            "--time" => time_tree = Some(PathBuf::from(args.next().context("--time needs a directory")?)),
            _ if arg.starts_with("--") => anyhow::bail!("unknown flag {arg}"),
            _ => positional.push(arg),
        }
    }
    if let Some(tree) = time_tree {
        return time(&tree, rounds.max(1));
    }
    let [labels, checkout] = positional.as_slice() else {
        anyhow::bail!(
            "usage: complexity-check LABELS.json CHECKOUT [--limit N] [--json] [--dump] | --time TREE"
        );
    };
    check(Path::new(labels), Path::new(checkout), limit, as_json, dump)
}

fn metrics_of(path: &Path) -> anyhow::Result<(FileMetrics, bool)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // The labels decode with errors="replace"; so does this.
    let text = String::from_utf8_lossy(&bytes);
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let tree = parse_text(lang, &text, None, ParseBudget::default()).context("parse abandoned")?;
    Ok((file_metrics(lang, &tree, &text), tree.root_node().has_error()))
}

#[derive(Default)]
struct Tally {
    n: usize,
    sloc: usize,
    cc: usize,
    cog: usize,
    all: usize,
}

impl Tally {
    fn pct(&self, hits: usize) -> f64 {
        if self.n == 0 { 100.0 } else { 100.0 * hits as f64 / self.n as f64 }
    }

    fn json(&self) -> Value {
        json!({
            "n": self.n,
            "sloc": self.pct(self.sloc),
            "cc": self.pct(self.cc),
            "cog": self.pct(self.cog),
            "all": self.pct(self.all),
        })
    }
}

fn num(v: &Value, key: &str) -> u32 {
    v[key].as_u64().unwrap_or(0) as u32
}

fn check(labels: &Path, checkout: &Path, limit: usize, as_json: bool, dump: bool) -> anyhow::Result<()> {
    let data: Value = serde_json::from_slice(
        &std::fs::read(labels).with_context(|| format!("reading {}", labels.display()))?,
    )?;
    let empty = Vec::new();
    let label_files = data["files"].as_array().unwrap_or(&empty);
    let mut label_functions: HashMap<&str, Vec<&Value>> = HashMap::new();
    for f in data["functions"].as_array().unwrap_or(&empty) {
        label_functions.entry(f["path"].as_str().unwrap_or_default()).or_default().push(f);
    }

    let mut total = Tally::default();
    let (mut files_n, mut file_sloc, mut file_cc, mut file_cog) = (0, 0, 0, 0);
    let (mut missing, mut with_errors) = (0, Vec::new());
    let mut per_file = Vec::new();
    let mut disagreements = Vec::new();
    for file in label_files {
        let path = file["path"].as_str().unwrap_or_default();
        let (metrics, has_error) = match metrics_of(&checkout.join(path)) {
            Ok(it) => it,
            Err(err) => {
                // A wrong or partial checkout: report it and count every function as missing.
                eprintln!("{path}: {err:#}");
                (FileMetrics::default(), false)
            }
        };
        if has_error {
            with_errors.push(path.to_owned());
        }
        if dump {
            for f in &metrics.functions {
                println!("{}", dump_json(path, f));
            }
        }
        files_n += 1;
        let ok = |ours: u32, key: &str| ours == num(file, key);
        let (s_ok, cc_ok, cog_ok) =
            (ok(metrics.sloc, "sloc"), ok(metrics.cc_sum, "cc_sum"), ok(metrics.cog_sum, "cog_sum"));
        file_sloc += usize::from(s_ok);
        file_cc += usize::from(cc_ok);
        file_cog += usize::from(cog_ok);
        for (what, ours, key) in [
            ("file sloc", metrics.sloc, "sloc"),
            ("file cc_sum", metrics.cc_sum, "cc_sum"),
            ("file cog_sum", metrics.cog_sum, "cog_sum"),
        ] {
            if ours != num(file, key) {
                disagreements.push(
                    json!({"path": path, "qual": null, "field": what, "ours": ours, "label": num(file, key)}),
                );
            }
        }

        // The last definition of a name wins, as in the labels.
        let by_qual: HashMap<&str, &FunctionMetrics> =
            metrics.functions.iter().map(|f| (f.qual.as_str(), f)).collect();
        let mut tally = Tally::default();
        for label in label_functions.get(path).map_or(&[][..], |v| v.as_slice()) {
            let qual = label["qual"].as_str().unwrap_or_default();
            tally.n += 1;
            let Some(ours) = by_qual.get(qual) else {
                missing += 1;
                disagreements.push(
                    json!({"path": path, "qual": qual, "field": "missing", "ours": null, "label": null}),
                );
                continue;
            };
            let fields = [("sloc", ours.sloc), ("cc", ours.cyclomatic), ("cog", ours.cognitive)];
            let hits = fields.map(|(key, value)| value == num(label, key));
            tally.sloc += usize::from(hits[0]);
            tally.cc += usize::from(hits[1]);
            tally.cog += usize::from(hits[2]);
            tally.all += usize::from(hits.iter().all(|h| *h));
            for ((key, value), hit) in fields.iter().zip(hits) {
                if !hit {
                    disagreements.push(json!({
                        "path": path, "qual": qual, "field": key, "ours": value, "label": num(label, key),
                        "line": ours.start_line,
                    }));
                }
            }
        }
        total.n += tally.n;
        total.sloc += tally.sloc;
        total.cc += tally.cc;
        total.cog += tally.cog;
        total.all += tally.all;
        per_file.push((path.to_owned(), tally, [s_ok, cc_ok, cog_ok]));
    }
    if dump {
        return Ok(());
    }

    let pct = |hits: usize| if files_n == 0 { 100.0 } else { 100.0 * hits as f64 / files_n as f64 };
    if as_json {
        let summary = json!({
            "labels": labels.display().to_string(),
            "snapshot": data["snapshot"],
            "functions": total.json(),
            "missing": missing,
            "files": {"n": files_n, "sloc": pct(file_sloc), "cc_sum": pct(file_cc), "cog_sum": pct(file_cog)},
            "files_with_parse_errors": with_errors,
            "per_file": per_file.iter().map(|(path, t, [s, c, g])| {
                let mut it = t.json();
                it["path"] = json!(path);
                it["file_sloc_ok"] = json!(s);
                it["file_cc_sum_ok"] = json!(c);
                it["file_cog_sum_ok"] = json!(g);
                it
            }).collect::<Vec<_>>(),
            "disagreements_total": disagreements.len(),
            "disagreements": &disagreements[..disagreements.len().min(limit)],
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }

    println!(
        "{}  snapshot {}  files {}  functions {} (missing {})",
        labels.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        data["snapshot"].as_str().unwrap_or("?"),
        files_n,
        total.n,
        missing
    );
    println!(
        "functions  sloc {:6.2}%  cc {:6.2}%  cog {:6.2}%  all three {:6.2}%",
        total.pct(total.sloc),
        total.pct(total.cc),
        total.pct(total.cog),
        total.pct(total.all)
    );
    println!(
        "files      sloc {:6.2}%  cc_sum {:6.2}%  cog_sum {:6.2}%",
        pct(file_sloc),
        pct(file_cc),
        pct(file_cog)
    );
    if !with_errors.is_empty() {
        println!("files with tree-sitter parse errors: {}", with_errors.join(", "));
    }
    println!("\n{:<48} {:>5} {:>7} {:>7} {:>7}  file sloc/cc/cog", "path", "funcs", "sloc%", "cc%", "cog%");
    for (path, t, oks) in &per_file {
        let marks: String = oks.iter().map(|ok| if *ok { '=' } else { 'x' }).collect();
        println!(
            "{:<48} {:>5} {:>7.2} {:>7.2} {:>7.2}  {marks}",
            path,
            t.n,
            t.pct(t.sloc),
            t.pct(t.cc),
            t.pct(t.cog)
        );
    }
    println!("\ndisagreements: {} (first {limit})", disagreements.len());
    for d in disagreements.iter().take(limit) {
        println!(
            "  {}:{} {} {}: ours {} label {}",
            d["path"].as_str().unwrap_or_default(),
            d["line"].as_u64().map_or_else(String::new, |l| l.to_string()),
            d["qual"].as_str().unwrap_or("<file>"),
            d["field"].as_str().unwrap_or_default(),
            d["ours"],
            d["label"]
        );
    }
    Ok(())
}

fn dump_json(path: &str, f: &FunctionMetrics) -> Value {
    json!({
        "path": path, "qual": f.qual, "start": f.start_line, "end": f.end_line, "sloc": f.sloc,
        "cc": f.cyclomatic, "cog": f.cognitive, "max_nesting": f.max_nesting, "params": f.params,
        "nested": f.nested,
    })
}

fn time(tree: &Path, rounds: usize) -> anyhow::Result<()> {
    let mut paths = Vec::new();
    python_files(tree, &mut paths)?;
    paths.sort();
    let texts: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read(p).map(|b| String::from_utf8_lossy(&b).into_owned()))
        .collect::<Result<_, _>>()?;
    let bytes: usize = texts.iter().map(String::len).sum();
    let lines: usize = texts.iter().map(|t| t.lines().count()).sum();
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);

    let (mut parse, mut metrics, mut walk) = (Best::default(), Best::default(), Best::default());
    let (mut functions, mut sloc, mut nodes) = (0, 0, 0);
    for _ in 0..rounds {
        let clock = Clock::start();
        let trees: Vec<_> =
            texts.iter().map(|text| parse_text(lang, text, None, ParseBudget::default())).collect();
        parse.update(clock);

        let clock = Clock::start();
        (functions, sloc) = (0, 0);
        for (text, tree) in texts.iter().zip(&trees) {
            if let Some(tree) = tree {
                let it = file_metrics(lang, tree, text);
                functions += it.functions.len();
                sloc += it.sloc as usize;
            }
        }
        metrics.update(clock);

        // The floor: visiting every node once with a cursor and doing nothing.
        let clock = Clock::start();
        nodes = trees.iter().flatten().map(bare_walk).sum::<usize>();
        walk.update(clock);
    }
    println!(
        "{}: {} .py files, {:.1} MB, {} lines ({} SLOC), {} functions, {} nodes",
        tree.display(),
        texts.len(),
        bytes as f64 / 1e6,
        lines,
        sloc,
        functions,
        nodes
    );
    println!("one thread, best of {rounds} (wall / on-CPU):");
    println!("  parse    {}", parse.show());
    let per_function = metrics.cpu.or(metrics.wall).unwrap_or_default().as_secs_f64() * 1e6;
    println!(
        "  metrics  {}  ({:.1} µs per function)",
        metrics.show(),
        per_function / functions.max(1) as f64
    );
    println!("  bare cursor walk over every node, for scale: {}", walk.show());
    Ok(())
}

fn python_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            python_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
    Ok(())
}

/// Wall time and this thread's on-CPU time: the machine is shared, and the CPU time is what a
/// busy neighbour does not inflate.
#[derive(Clone, Copy)]
struct Clock {
    wall: Instant,
    cpu_ns: Option<u64>,
}

impl Clock {
    fn start() -> Clock {
        Clock { wall: Instant::now(), cpu_ns: thread_cpu_ns() }
    }
}

/// Linux: the first field of `/proc/thread-self/schedstat` is the time spent on a CPU, in ns.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

#[derive(Default)]
struct Best {
    wall: Option<Duration>,
    cpu: Option<Duration>,
}

impl Best {
    fn update(&mut self, clock: Clock) {
        let wall = clock.wall.elapsed();
        self.wall = Some(self.wall.map_or(wall, |it| it.min(wall)));
        if let (Some(start), Some(now)) = (clock.cpu_ns, thread_cpu_ns()) {
            let cpu = Duration::from_nanos(now.saturating_sub(start));
            self.cpu = Some(self.cpu.map_or(cpu, |it| it.min(cpu)));
        }
    }

    fn wall_ms(&self) -> f64 {
        self.wall.unwrap_or_default().as_secs_f64() * 1e3
    }

    fn show(&self) -> String {
        let cpu = self.cpu.map_or_else(|| "?".to_owned(), |it| format!("{:.1}", it.as_secs_f64() * 1e3));
        format!("{:8.1} ms / {cpu} ms", self.wall_ms())
    }
}

fn bare_walk(tree: &tree_sitter::Tree) -> usize {
    let mut cursor = tree.walk();
    let mut n = 1;
    loop {
        if cursor.goto_first_child() {
            n += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                n += 1;
                break;
            }
            if !cursor.goto_parent() {
                return n;
            }
        }
    }
}
