//! Tunes file localization: loads every case of a `repolens eval localize` cases file once, then
//! scores any number of retrieval settings against them without re-indexing.
//!
//! `cargo run --release --example localize-tune -- --cases /tmp/swebench/cases.jsonl
//!  [--config "text=1,identifier=1,path=1,traceback=1,error=0.5,graph=0.5,recency=0.25,k=10"]…
//!  [--verbose]`
//!
//! Each `--config` overrides the defaults of `RetrieveOptions`; without one the defaults are
//! scored. `--verbose` prints, for each case whose gold file is not first, the top files with
//! the signals that ranked them.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reporting is this program's job

use std::path::PathBuf;

use anyhow::Context as _;
use repolens::{
    analysis::{LoadOptions, load_repository},
    cli::eval::{CaseOutcome, localize, read_cases, summarize},
    retrieve::{Question, RetrieveOptions, rank_files},
    stdx::CancelToken,
};

fn parse_config(text: &str) -> anyhow::Result<RetrieveOptions> {
    let mut options = RetrieveOptions::default();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (key, value) =
            pair.split_once('=').with_context(|| format!("expected key=value, got {pair:?}"))?;
        let value: f64 = value.trim().parse().with_context(|| format!("bad number in {pair:?}"))?;
        let w = &mut options.weights;
        match key.trim() {
            "text" => w.text = value,
            "identifier" => w.identifier = value,
            "path" => w.path = value,
            "traceback" => w.traceback = value,
            "error" => w.error = value,
            "graph" => w.graph = value,
            "cursor" => w.cursor = value,
            "recency" => w.recency = value,
            "k" => options.rrf_k = value,
            "max_definitions" => options.max_definitions = value as usize,
            "test_factor" => options.test_factor = value,
            "list_depth" => options.list_depth = value as usize,
            "graph_seeds" => options.graph_seeds = value as usize,
            "text_depth" => options.text_depth = value as usize,
            "epsilon" => options.graph.epsilon = value,
            other => anyhow::bail!("unknown setting {other:?}"),
        }
    }
    Ok(options)
}

fn main() -> anyhow::Result<()> {
    let mut cases_path: Option<PathBuf> = None;
    let mut configs: Vec<String> = Vec::new();
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cases" => cases_path = args.next().map(PathBuf::from),
            "--config" => configs.push(args.next().context("--config needs a value")?),
            "--verbose" => verbose = true,
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    let cases = read_cases(&cases_path.context("--cases FILE is required")?)?;
    if configs.is_empty() {
        configs.push(String::new());
    }
    // Cases often share a root: load each root once.
    let mut by_root: std::collections::HashMap<PathBuf, std::rc::Rc<repolens::analysis::LoadedRepository>> =
        std::collections::HashMap::new();
    let mut loaded = Vec::new();
    for case in &cases {
        eprint!("\rloading {}", case.id);
        let repo = match by_root.get(&case.root) {
            Some(repo) => repo.clone(),
            None => {
                let options = LoadOptions { history: true, ..LoadOptions::default() };
                let repo = std::rc::Rc::new(load_repository(&case.root, &options, &|_| {})?);
                by_root.insert(case.root.clone(), repo.clone());
                repo
            }
        };
        loaded.push(repo);
    }
    eprintln!();
    println!("| config | Acc@1 | Acc@3 | Acc@5 | Acc@10 | MRR |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for config in &configs {
        let options = parse_config(config)?;
        let outcomes: Vec<CaseOutcome> = cases
            .iter()
            .zip(&loaded)
            .map(|(case, repo)| localize(&repo.host.snapshot(), case, &options))
            .collect();
        let s = summarize(&outcomes);
        let name = if config.is_empty() { "defaults" } else { config.as_str() };
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            s.acc[0], s.acc[1], s.acc[2], s.acc[3], s.mrr
        );
        if verbose {
            for ((case, repo), outcome) in cases.iter().zip(&loaded).zip(&outcomes) {
                if outcome.all_gold_rank() == Some(1) {
                    continue;
                }
                println!("  {} gold {:?} ranks {:?}", case.id, case.gold_files, outcome.gold_ranks);
                let question = Question { text: &case.question, cursor: None };
                let files = rank_files(&repo.host.snapshot(), &question, &options, &CancelToken::new())
                    .map_err(|_| anyhow::anyhow!("cancelled"))?;
                for file in files.iter().take(6) {
                    let reasons: Vec<String> = file.reasons.iter().map(ToString::to_string).collect();
                    println!("    {:.4} {} [{}]", file.score, file.path, reasons.join(", "));
                }
                for gold in &case.gold_files {
                    if let Some(file) = files.iter().find(|f| &f.path == gold) {
                        let reasons: Vec<String> = file.reasons.iter().map(ToString::to_string).collect();
                        println!("    gold {:.4} {} [{}]", file.score, file.path, reasons.join(", "));
                    }
                }
            }
        }
    }
    Ok(())
}
