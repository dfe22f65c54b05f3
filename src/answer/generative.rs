//! The answer with a model: numbered excerpts under a token budget, a prompt that asks for `[n]`
//! citations and verbatim quotes, and the reply checked by [`super::verify`].
//!
//! No secret reaches the prompt: excerpts from files with secret-like names are left out, and
//! credential-like strings in the rest are redacted (the client redacts again before sending).

use std::fmt::Write as _;

use super::{Answer, Citation, Mode, ReadChunk, verify};
use crate::{
    llm::{ChatMessage, LlmClient, LlmError, estimate_tokens, is_secret_path, redact},
    stdx::CancelToken,
};

/// At most this many excerpts, whatever the budget.
const MAX_EXCERPTS: usize = 12;

const SYSTEM: &str = "You answer questions about a software repository. You are given numbered \
excerpts of its code. Use only these excerpts. After every statement, cite the excerpt it rests on \
as [n]. Quote code only verbatim from the excerpt you cite, in backticks or fenced blocks. If the \
excerpts do not answer the question, say so in one sentence. Be brief: a few sentences or a short \
list.";

/// One excerpt as put in the prompt.
struct Excerpt<'a> {
    chunk: &'a ReadChunk,
    start_line: u32,
    end_line: u32,
    /// What the model sees (redacted).
    text: String,
}

fn excerpts<'a>(read: &'a [ReadChunk], budget: u64) -> Vec<Excerpt<'a>> {
    let mut out = Vec::new();
    let mut used = 0;
    let per_excerpt = (budget / 3).max(200);
    for chunk in read {
        if out.len() >= MAX_EXCERPTS || used >= budget {
            break;
        }
        let secret = chunk.abs_path.as_deref().is_some_and(is_secret_path)
            || is_secret_path(std::path::Path::new(&chunk.chunk.path));
        if secret {
            tracing::info!(
                "not sending {} to the model: its name looks like a secret store",
                chunk.chunk.path
            );
            continue;
        }
        let c = &chunk.chunk;
        // Long chunks are cut to a window that starts at their focus (a traceback line), else
        // at their first line, within this excerpt's share of the budget.
        let mut start = c.focus_line.map_or(c.start_line, |f| f.saturating_sub(10).max(c.start_line));
        let mut end = start;
        let mut tokens = 0;
        while end <= c.end_line {
            let line_tokens = estimate_tokens(chunk.lines(end, end)) + 1;
            if tokens + line_tokens > per_excerpt.min(budget - used) && end > start {
                break;
            }
            tokens += line_tokens;
            end += 1;
        }
        let end = (end - 1).max(start);
        if start > end {
            start = end;
        }
        used += tokens;
        out.push(Excerpt {
            chunk,
            start_line: start,
            end_line: end,
            text: redact(chunk.lines(start, end)).into_owned(),
        });
    }
    out
}

fn prompt(question: &str, excerpts: &[Excerpt<'_>]) -> String {
    let mut prompt = format!("Question: {question}\n\nExcerpts:\n");
    for (n, e) in excerpts.iter().enumerate() {
        let c = &e.chunk.chunk;
        let symbol = c.symbol.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
        let _ = write!(
            prompt,
            "\n[{}] {}:{}-{}{symbol}\n```python\n{}\n```\n",
            n + 1,
            c.path,
            e.start_line,
            e.end_line,
            e.text.trim_end()
        );
    }
    prompt.push_str("\nAnswer the question, citing excerpts as [n].");
    prompt
}

pub(super) fn answer(
    question: &str,
    read: &[ReadChunk],
    limit: usize,
    llm: &LlmClient,
    cancel: &CancelToken,
) -> Result<Answer, LlmError> {
    let config = llm.config();
    let budget = u64::from(config.context_tokens)
        .saturating_sub(estimate_tokens(question) + estimate_tokens(SYSTEM) + 64);
    let excerpts = excerpts(&read[..read.len().min(limit * 2 + 4)], budget);
    let question_text = redact(question);
    let messages = [ChatMessage::system(SYSTEM), ChatMessage::user(prompt(&question_text, &excerpts))];
    let completion = llm.chat(&messages, cancel)?;
    let texts: Vec<&str> = excerpts.iter().map(|e| e.text.as_str()).collect();
    let verified = verify(&completion.text, &texts);
    let mut citations: Vec<Citation> = verified
        .cited
        .iter()
        .map(|&i| {
            let e = &excerpts[i];
            e.chunk.citation(e.start_line, e.end_line, e.chunk.lines(e.start_line, e.end_line).to_owned())
        })
        .collect();
    let mut markdown = verified.text;
    if markdown.trim().is_empty() || citations.is_empty() {
        // Nothing verifiable survived: say so, and show where the model was pointed.
        markdown = "The model's answer could not be verified against the code. The excerpts it was given:\n"
            .to_owned();
        citations.clear();
        for e in excerpts.iter().take(limit) {
            let c = &e.chunk.chunk;
            citations.push(e.chunk.citation(
                e.start_line,
                e.end_line,
                e.chunk.lines(e.start_line, e.end_line).to_owned(),
            ));
            let _ = write!(markdown, "\n- `{}:{}` [{}]", c.path, e.start_line, citations.len());
        }
    }
    if !verified.unverified.is_empty() {
        let n = verified.unverified.len();
        let _ = write!(
            markdown,
            "\n\n_{n} statement{} dropped: {} could not be verified against the cited code._",
            if n == 1 { " was" } else { "s were" },
            if n == 1 { "its citation" } else { "their citations" }
        );
    }
    Ok(Answer {
        markdown,
        citations,
        mode: Mode::Generative,
        unverified: verified.unverified,
        model_error: None,
        usage: Some(completion.usage),
        retrieval_ms: 0.0,
        total_ms: 0.0,
    })
}
