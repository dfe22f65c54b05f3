//! `repolens ask "question"`: a cited answer about any repository, with no configuration. The
//! first run indexes (a progress bar on stderr when it is a terminal); later runs reuse the
//! cache. A model is used when one is configured (see `llm::LlmConfig`), else the answer is
//! extractive.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this module's job

use std::{
    io::{IsTerminal as _, Write as _},
    path::PathBuf,
    time::Instant,
};

use anyhow::Context as _;
use serde_json::json;

use crate::{
    analysis::{LoadEvent, LoadOptions, load_repository},
    answer::{Answer, AskError, AskRequest},
    llm::{LlmClient, LlmConfig, LlmSettings},
    stdx::CancelToken,
    workspace::{CacheState, workspace_settings},
};

/// What `repolens ask` was given.
pub struct AskArgs {
    pub question: String,
    pub root: Option<PathBuf>,
    pub as_json: bool,
    pub limit: Option<usize>,
    /// Never use a model, even if one is configured.
    pub extractive: bool,
}

fn draw(event: LoadEvent) {
    let line = match event {
        LoadEvent::Parsing { done, total } => {
            let width = 30;
            let filled = (done * width).checked_div(total).unwrap_or(0);
            format!("indexing [{}{}] {done}/{total} files", "#".repeat(filled), ".".repeat(width - filled))
        }
        LoadEvent::Graph => "building the symbol graph".to_owned(),
        LoadEvent::Search => "building the search index".to_owned(),
        LoadEvent::History => "reading git history".to_owned(),
    };
    eprint!("\r\x1b[2K{line}");
    let _ = std::io::stderr().flush();
}

pub fn ask(args: AskArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let root = super::resolve_root(args.root)?;
    let interactive = std::io::stderr().is_terminal();
    // Without a terminal there is no bar to redraw; a first run still says why it takes a while.
    let cache_file = crate::config::Config::default().index_cache(std::slice::from_ref(&root));
    let first_run = cache_file.as_ref().is_none_or(|c| !c.path().exists());
    if first_run && !interactive {
        eprintln!("repolens: indexing {} (the first run; later runs reuse the index)", root.display());
    }
    let events = |event: LoadEvent| {
        if interactive {
            draw(event);
        }
    };
    let loaded = load_repository(&root, &LoadOptions { history: true, ..LoadOptions::default() }, &events)
        .with_context(|| format!("cannot index {}", root.display()))?;
    if interactive {
        eprint!("\r\x1b[2K");
    }
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !matches!(loaded.cache, CacheState::Warm { .. }) {
        eprintln!("repolens: indexed {} files in {:.1} s", loaded.files, load_ms / 1000.0);
    }

    let llm = if args.extractive {
        None
    } else {
        let settings = workspace_settings(std::slice::from_ref(&root));
        let env = LlmSettings::from_env(&LlmConfig::process_env);
        let file = settings.llm.unwrap_or_default();
        match LlmConfig::resolve(&[&env, &file], &LlmConfig::process_env) {
            Some(config) => Some(LlmClient::new(config).context("cannot use the configured model")?),
            None => None,
        }
    };
    let request =
        AskRequest { question: args.question.clone(), cursor: None, limit: args.limit.unwrap_or(5) };
    let analysis = loaded.host.snapshot();
    let mut progress = |what: &str| {
        if interactive {
            eprint!("\r\x1b[2K{what}…");
        }
    };
    let answer =
        match crate::answer::ask(&analysis, &request, llm.as_ref(), &CancelToken::new(), &mut progress) {
            Ok(answer) => answer,
            Err(AskError::EmptyQuestion) => anyhow::bail!("the question is empty"),
            Err(AskError::Cancelled) => anyhow::bail!("cancelled"),
        };
    if interactive {
        eprint!("\r\x1b[2K");
    }
    if args.as_json {
        println!("{}", to_json(&answer, &root, &loaded.cache, load_ms));
    } else {
        println!("{}", answer.markdown);
        println!();
        for (n, c) in answer.citations.iter().enumerate() {
            let commit =
                c.commit.as_deref().map(|h| format!(" @ {}", &h[..h.len().min(10)])).unwrap_or_default();
            let symbol = c.symbol.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
            println!("[{}] {}:{}-{}{symbol}{commit}", n + 1, c.path, c.start_line, c.end_line);
        }
        if let Some(error) = &answer.model_error {
            eprintln!("repolens: the model was not used: {error}");
        }
    }
    Ok(())
}

fn to_json(answer: &Answer, root: &std::path::Path, cache: &CacheState, load_ms: f64) -> serde_json::Value {
    let cache = match cache {
        CacheState::Off => json!({ "state": "off" }),
        CacheState::Cold(reason) => json!({ "state": "cold", "reason": reason }),
        CacheState::Warm { reused } => json!({ "state": "warm", "reused": reused }),
    };
    let citations: Vec<_> = answer
        .citations
        .iter()
        .map(|c| {
            json!({
                "path": c.path,
                "uri": c.abs_path.as_deref().and_then(|p| url::Url::from_file_path(p).ok()).map(|u| u.to_string()),
                "start_line": c.start_line,
                "end_line": c.end_line,
                "commit": c.commit,
                "symbol": c.symbol,
                "snippet": c.snippet,
                "score": c.score,
                "reasons": c.reasons,
            })
        })
        .collect();
    json!({
        "root": root,
        "answer": answer.markdown,
        "citations": citations,
        "mode": answer.mode.as_str(),
        "unverified": answer.unverified,
        "model_error": answer.model_error,
        "usage": answer.usage.map(|u| json!({
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "estimated": u.estimated,
        })),
        "cache": cache,
        "timings_ms": { "load": load_ms, "retrieval": answer.retrieval_ms, "answer": answer.total_ms },
    })
}
