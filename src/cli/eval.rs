//! `repolens eval localize`: file localization measured on issue reports with known answers, the
//! way published localizers are measured on SWE-bench Lite (is every gold file in the top k?).
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this module's job

use std::{
    collections::BTreeMap,
    io::{BufRead as _, IsTerminal as _},
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use serde::Deserialize;
use serde_json::json;

use crate::{
    analysis::{LoadEvent, LoadOptions, load_repository},
    retrieve::{Question, RetrieveOptions, rank_files},
    stdx::CancelToken,
};

/// One line of a cases file.
#[derive(Clone, Debug, Deserialize)]
pub struct LocalizeCase {
    pub id: String,
    pub root: PathBuf,
    pub question: String,
    pub gold_files: Vec<String>,
}

/// How one case went.
#[derive(Clone, Debug)]
pub struct CaseOutcome {
    pub id: String,
    pub gold_files: Vec<String>,
    /// 1-based rank of each gold file (`None`: not ranked at all).
    pub gold_ranks: Vec<Option<usize>>,
    pub top: Vec<String>,
}

impl CaseOutcome {
    /// The rank by which every gold file has been seen (`None` if one never is).
    pub fn all_gold_rank(&self) -> Option<usize> {
        self.gold_ranks.iter().try_fold(0, |acc, r| r.map(|r| acc.max(r)))
    }

    /// The rank of the first gold file, for the reciprocal rank.
    pub fn first_gold_rank(&self) -> Option<usize> {
        self.gold_ranks.iter().flatten().min().copied()
    }
}

/// Acc@1/3/5/10 and MRR, in percent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub cases: usize,
    pub acc: [f64; 4],
    pub mrr: f64,
}

pub const KS: [usize; 4] = [1, 3, 5, 10];

pub fn summarize<'a>(outcomes: impl IntoIterator<Item = &'a CaseOutcome>) -> Summary {
    let mut summary = Summary::default();
    for outcome in outcomes {
        summary.cases += 1;
        if let Some(rank) = outcome.all_gold_rank() {
            for (i, k) in KS.iter().enumerate() {
                if rank <= *k {
                    summary.acc[i] += 1.0;
                }
            }
        }
        summary.mrr += outcome.first_gold_rank().map_or(0.0, |r| 1.0 / r as f64);
    }
    let n = summary.cases.max(1) as f64;
    summary.acc.iter_mut().for_each(|a| *a = *a * 100.0 / n);
    summary.mrr = summary.mrr * 100.0 / n;
    summary
}

pub fn read_cases(path: &Path) -> anyhow::Result<Vec<LocalizeCase>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut cases = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let case: LocalizeCase = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not a case", path.display(), n + 1))?;
        cases.push(case);
    }
    Ok(cases)
}

/// Ranks the files of one loaded case.
pub fn localize(
    analysis: &crate::analysis::Analysis,
    case: &LocalizeCase,
    options: &RetrieveOptions,
) -> CaseOutcome {
    let question = Question { text: &case.question, cursor: None };
    let ranked = rank_files(analysis, &question, options, &CancelToken::new()).unwrap_or_default();
    let paths: Vec<&str> = ranked.iter().map(|f| f.path.as_str()).collect();
    let gold_ranks = case
        .gold_files
        .iter()
        .map(|gold| paths.iter().position(|p| *p == gold.trim_start_matches("./")).map(|i| i + 1))
        .collect();
    CaseOutcome {
        id: case.id.clone(),
        gold_files: case.gold_files.clone(),
        gold_ranks,
        top: paths.iter().take(10).map(|p| (*p).to_owned()).collect(),
    }
}

/// `owner__repo-1234` → `owner__repo`: the repository a SWE-bench instance belongs to.
fn group_of(id: &str) -> &str {
    match id.rsplit_once('-') {
        Some((head, tail)) if tail.chars().all(|c| c.is_ascii_digit()) => head,
        _ => id,
    }
}

pub fn eval_localize(cases_path: &Path, as_json: bool) -> anyhow::Result<()> {
    let cases = read_cases(cases_path)?;
    anyhow::ensure!(!cases.is_empty(), "{} has no cases", cases_path.display());
    let interactive = std::io::stderr().is_terminal();
    let options = RetrieveOptions::default();
    let mut outcomes = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let label = format!("[{}/{}] {}", i + 1, cases.len(), case.id);
        let events = |event: LoadEvent| {
            if interactive {
                let what = match event {
                    LoadEvent::Parsing { done, total } => format!("parsing {done}/{total}"),
                    LoadEvent::Graph => "symbol graph".to_owned(),
                    LoadEvent::Search => "search index".to_owned(),
                    LoadEvent::History => "git history".to_owned(),
                };
                eprint!("\r\x1b[2K{label}: {what}");
            }
        };
        let loaded =
            load_repository(&case.root, &LoadOptions { history: true, ..LoadOptions::default() }, &events)
                .with_context(|| format!("case {}: cannot load {}", case.id, case.root.display()))?;
        if interactive {
            eprint!("\r\x1b[2K");
        }
        let outcome = localize(&loaded.host.snapshot(), case, &options);
        if as_json {
            println!(
                "{}",
                json!({
                    "id": outcome.id,
                    "gold_files": outcome.gold_files,
                    "gold_ranks": outcome.gold_ranks,
                    "top": outcome.top,
                })
            );
        } else {
            let ranks: Vec<String> = outcome
                .gold_ranks
                .iter()
                .map(|r| r.map_or_else(|| "-".to_owned(), |r| r.to_string()))
                .collect();
            println!(
                "{:<40} gold rank {:<6} top: {}",
                outcome.id,
                ranks.join(","),
                outcome.top.first().map_or("", String::as_str)
            );
        }
        outcomes.push(outcome);
    }
    let overall = summarize(&outcomes);
    if as_json {
        println!(
            "{}",
            json!({
                "cases": overall.cases,
                "acc@1": round1(overall.acc[0]),
                "acc@3": round1(overall.acc[1]),
                "acc@5": round1(overall.acc[2]),
                "acc@10": round1(overall.acc[3]),
                "mrr": round1(overall.mrr),
            })
        );
        return Ok(());
    }
    let mut groups: BTreeMap<&str, Vec<&crate::cli::eval::CaseOutcome>> = BTreeMap::new();
    for outcome in &outcomes {
        groups.entry(group_of(&outcome.id)).or_default().push(outcome);
    }
    println!();
    println!("| group | cases | Acc@1 | Acc@3 | Acc@5 | Acc@10 | MRR |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let row = |name: &str, s: &Summary| {
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            s.cases, s.acc[0], s.acc[1], s.acc[2], s.acc[3], s.mrr
        );
    };
    if groups.len() > 1 {
        for (name, group) in &groups {
            row(name, &summarize(group.iter().copied()));
        }
    }
    row("all", &overall);
    Ok(())
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
