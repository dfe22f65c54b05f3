//! The answer without a model: the most relevant locations, each with the lines that matched the
//! question and what the graph knows about it (who calls it, which tests exercise it), every
//! statement followed by the citation it rests on.

use std::fmt::Write as _;

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Answer, Citation, Heads, Mode, ReadChunk, read_text};
use crate::{
    analysis::Analysis,
    graph::{EdgeKind, SymbolGraph},
    retrieve::Retrieval,
    search::ChunkKind,
    text::LineIndex,
    workspace::FileId,
};

/// Lines shown per location.
const MAX_LINES: usize = 4;
/// Callers and tests named per location.
const MAX_CALLERS: usize = 3;
const MAX_TESTS: usize = 2;

pub(super) fn answer(
    question: &str,
    retrieval: &Retrieval,
    read: &[ReadChunk],
    graph: &SymbolGraph,
    analysis: &Analysis,
    heads: &Heads,
    limit: usize,
) -> Answer {
    let terms = question_terms(question);
    let mut citations: Vec<Citation> = Vec::new();
    let mut markdown = String::new();
    if read.is_empty() {
        let _ = writeln!(
            markdown,
            "Nothing in the repository matches this question{}.",
            if retrieval.signals.identifiers.is_empty() {
                ""
            } else {
                " (no definition of the names it mentions)"
            }
        );
        return Answer {
            markdown,
            citations,
            mode: Mode::Extractive,
            unverified: Vec::new(),
            model_error: None,
            usage: None,
            retrieval_ms: 0.0,
            total_ms: 0.0,
        };
    }
    let shown: Vec<&ReadChunk> = read.iter().take(limit).collect();
    let _ = writeln!(markdown, "The most relevant places in the repository:\n");
    let mut texts: FxHashMap<FileId, Option<(std::sync::Arc<str>, LineIndex)>> = FxHashMap::default();
    for (n, chunk) in shown.iter().enumerate() {
        let c = &chunk.chunk;
        let lines = matched_lines(chunk, &terms);
        let snippet: Vec<String> = lines.iter().map(|&l| chunk.lines(l, l).to_owned()).collect();
        citations.push(chunk.citation(c.start_line, c.end_line, snippet.join("\n")));
        let number = citations.len();
        let what = match (&c.symbol, c.kind) {
            (Some(symbol), kind) => format!("{} `{symbol}` in `{}`", kind.as_str(), c.path),
            (None, _) => format!("module `{}`", c.path),
        };
        let span = if c.start_line == c.end_line {
            format!("line {}", c.start_line)
        } else {
            format!("lines {}–{}", c.start_line, c.end_line)
        };
        let _ = writeln!(markdown, "{}. The {what}, {span} [{number}]:", n + 1);
        if !lines.is_empty() {
            let _ = writeln!(markdown, "   ```python");
            let mut previous = None;
            for &line in &lines {
                if previous.is_some_and(|p: u32| line > p + 1) {
                    let _ = writeln!(markdown, "   …");
                }
                let _ = writeln!(markdown, "   {line:>4}  {}", chunk.lines(line, line).trim_end());
                previous = Some(line);
            }
            let _ = writeln!(markdown, "   ```");
        }
        if let Some(facts) = graph_facts(chunk, graph, analysis, heads, &mut texts, &mut citations) {
            let _ = writeln!(markdown, "   {facts}");
        }
    }
    let _ = write!(markdown, "\n_Found by {}._", found_by(retrieval));
    Answer {
        markdown,
        citations,
        mode: Mode::Extractive,
        unverified: Vec::new(),
        model_error: None,
        usage: None,
        retrieval_ms: 0.0,
        total_ms: 0.0,
    }
}

/// Which kinds of evidence the question offered, for the closing line.
fn found_by(retrieval: &Retrieval) -> String {
    let s = &retrieval.signals;
    let mut parts = vec!["searching the code for the question's words".to_owned()];
    if !s.frames.is_empty() {
        parts.push(format!(
            "following {} traceback frame{}",
            s.frames.len(),
            if s.frames.len() == 1 { "" } else { "s" }
        ));
    }
    if s.identifiers.iter().any(|m| m.strength >= 1.0) {
        parts.push("looking up the names it mentions".to_owned());
    }
    parts.push("walking the symbol graph from there".to_owned());
    let last = parts.pop().unwrap_or_default();
    format!("{}, and {last}", parts.join(", "))
}

/// The question's tokens as the search index sees them, without the very short ones.
fn question_terms(question: &str) -> FxHashSet<String> {
    crate::search::tokens(question)
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| t.len() >= 3 && !is_stop(t))
        .collect()
}

fn is_stop(token: &str) -> bool {
    matches!(
        token,
        "the"
            | "and"
            | "for"
            | "what"
            | "how"
            | "does"
            | "where"
            | "when"
            | "why"
            | "with"
            | "this"
            | "that"
            | "which"
            | "from"
            | "into"
            | "are"
            | "not"
            | "can"
            | "should"
            | "would"
            | "there"
            | "def"
            | "self"
            | "return"
            | "none"
            | "true"
            | "false"
            | "import"
            | "class"
    )
}

/// The chunk's lines that best match the question (its focus line first), in line order; the
/// first lines of the chunk when nothing matches.
fn matched_lines(chunk: &ReadChunk, terms: &FxHashSet<String>) -> Vec<u32> {
    let c = &chunk.chunk;
    let mut scored: Vec<(usize, u32)> = Vec::new();
    for line in c.start_line..=c.end_line.min(c.start_line + 400) {
        let text = chunk.lines(line, line);
        if text.trim().is_empty() {
            continue;
        }
        let tokens: FxHashSet<String> = crate::search::tokens(text).into_iter().map(|(t, _)| t).collect();
        let hits = tokens.iter().filter(|t| terms.contains(*t)).count();
        if hits > 0 {
            scored.push((hits, line));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut lines: Vec<u32> = c.focus_line.into_iter().collect();
    for (_, line) in scored {
        if lines.len() >= MAX_LINES {
            break;
        }
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        let end = c.end_line.min(c.start_line + 1);
        lines.extend((c.start_line..=end).filter(|&l| !chunk.lines(l, l).trim().is_empty()));
    }
    lines.sort_unstable();
    lines
}

/// "Called from `a` (`x.py:3`) [2] and 4 more places; tested by `test_b` (`tests/t.py:9`) [3]."
fn graph_facts(
    chunk: &ReadChunk,
    graph: &SymbolGraph,
    analysis: &Analysis,
    heads: &Heads,
    texts: &mut FxHashMap<FileId, Option<(std::sync::Arc<str>, LineIndex)>>,
    citations: &mut Vec<Citation>,
) -> Option<String> {
    let c = &chunk.chunk;
    let node = match c.symbol_index {
        Some(idx) => graph.symbol_node(c.file, idx)?,
        None => graph.module_node(c.file)?,
    };
    let mut callers: Vec<(FileId, Option<u32>)> = Vec::new();
    let mut tests: Vec<(FileId, Option<u32>)> = Vec::new();
    for (from, edge) in graph.edges_to(node) {
        let Some(n) = graph.node(from) else { continue };
        let key = (n.file, n.symbol);
        let list = match edge.kind {
            // A test module "tests" everything it imports; name the test functions instead.
            EdgeKind::Tests if n.symbol.is_none() => continue,
            EdgeKind::Tests => &mut tests,
            EdgeKind::Calls | EdgeKind::References if c.kind != ChunkKind::Module => &mut callers,
            EdgeKind::Imports if c.kind == ChunkKind::Module => &mut callers,
            _ => continue,
        };
        if n.file == c.file && n.symbol.is_some_and(|s| Some(s) == c.symbol_index) {
            continue;
        }
        if !list.contains(&key) {
            list.push(key);
        }
    }
    // Tests also show up as callers; name them once, as tests.
    callers.retain(|k| !tests.contains(k) && !graph.is_test_file(k.0));
    callers.sort();
    tests.sort();
    let mut parts = Vec::new();
    let verb = if c.kind == ChunkKind::Module { "Imported by" } else { "Used by" };
    if let Some(text) = describe(&callers, MAX_CALLERS, graph, analysis, heads, texts, citations) {
        parts.push(format!("{verb} {text}"));
    }
    if let Some(text) = describe(&tests, MAX_TESTS, graph, analysis, heads, texts, citations) {
        parts.push(format!("tested by {text}"));
    }
    if parts.is_empty() {
        return None;
    }
    let mut sentence = parts.join("; ");
    if let Some(first) = sentence.get(..1) {
        sentence = first.to_uppercase() + &sentence[1..];
    }
    Some(sentence + ".")
}

/// Names up to `max` symbols with their locations, each cited; "and N more" for the rest.
fn describe(
    keys: &[(FileId, Option<u32>)],
    max: usize,
    graph: &SymbolGraph,
    analysis: &Analysis,
    heads: &Heads,
    texts: &mut FxHashMap<FileId, Option<(std::sync::Arc<str>, LineIndex)>>,
    citations: &mut Vec<Citation>,
) -> Option<String> {
    let mut named = Vec::new();
    for &(file, symbol) in keys.iter().take(max) {
        let Some(summary) = graph.summary(file) else { continue };
        let path = graph.rel_path(file).unwrap_or_default().to_owned();
        let Some((text, index)) = texts
            .entry(file)
            .or_insert_with(|| {
                read_text(analysis, file).map(|(t, _)| {
                    let index = LineIndex::new(&t);
                    (t, index)
                })
            })
            .clone()
        else {
            continue;
        };
        let (name, offset) = match symbol {
            Some(idx) => {
                let s = summary.symbols.get(idx as usize)?;
                (summary.qualified_name(idx as usize), s.name_range.start)
            }
            None => (graph.import_name(&path).unwrap_or_else(|| path.clone()), 0),
        };
        let line = index.line_of(offset.min(index.len()));
        let symbol = symbol.map(|_| name.clone());
        // A caller of two shown places is one source: it keeps the number it got first.
        let cited_before = citations.iter().position(|c| {
            c.file == file && (c.start_line, c.end_line) == (line + 1, line + 1) && c.symbol == symbol
        });
        let number = match cited_before {
            Some(i) => i + 1,
            None => {
                let range = index.line_range(line);
                let snippet =
                    text.get(range.start as usize..range.end as usize).unwrap_or_default().to_owned();
                let abs = analysis.path(file).as_disk().map(std::path::PathBuf::from);
                citations.push(Citation {
                    file,
                    path: path.clone(),
                    commit: heads.of(abs.as_deref()),
                    abs_path: abs,
                    range: crate::text::TextRange::new(range.start, range.end),
                    line_index: std::sync::Arc::new(index.clone()),
                    start_line: line + 1,
                    end_line: line + 1,
                    symbol,
                    snippet,
                    score: 0.0,
                    reasons: vec!["graph".to_owned()],
                });
                citations.len()
            }
        };
        named.push(format!("`{name}` (`{path}:{}`) [{number}]", line + 1));
    }
    if named.is_empty() {
        return None;
    }
    let rest = keys.len().saturating_sub(named.len());
    let mut text = match named.len() {
        1 => named.remove(0),
        _ => {
            let last = named.pop().unwrap_or_default();
            format!("{} and {last}", named.join(", "))
        }
    };
    if rest > 0 {
        let _ = write!(text, ", and {rest} more");
    }
    Some(text)
}
