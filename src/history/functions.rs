//! Function-level facts: which functions each commit changed, found by mapping the commit's
//! `-U0` hunks onto the function spans of the file *as it was at that commit* (its post-image).
//!
//! This is what `risk_eval.py` does (`func_spans`, `innermost`, `touched_functions` with
//! `side="new"`), so our numbers can be checked against its labels:
//! - a span runs from the function's first decorator to its last line; a line belongs to the
//!   innermost function containing it (methods and nested functions included, classes not);
//! - every post-image line of a hunk counts as one line *added* to the function that owns it;
//! - beyond `risk_eval.py`: the lines a hunk removes count as *deleted* for the function owning
//!   the hunk's first post-image line, and a pure deletion counts for the innermost function
//!   around the deletion point whose body it was in — the function continues after the point, or
//!   the removed code was indented deeper than the `def` (`risk_eval.py` ignores deletions).
//!
//! Spans come from the syntax layer (`FileSummary` symbols of kind function or method, named by
//! `qualified_name`), so names are the ones the rest of the engine uses. Post-images are read with
//! one `git cat-file --batch` for all blobs and parsed on a few worker threads.

use std::{io::BufRead, path::Path};

use rustc_hash::FxHashMap;

use super::{HistoryError, facts::FunctionJob, git::Git, log::Hunk};
use crate::{
    stdx::CancelToken,
    syntax::{FileSummary, Language, LanguageId, Languages, ParseBudget, SymbolKind, parse_text},
};

/// Functions changed by one job: `(qualified name, lines added, lines deleted)`.
pub(crate) type Touched = Vec<(String, u32, u32)>;

/// Function spans of one file version, by line (1-based).
pub(crate) struct FunctionSpans {
    spans: Vec<Span>,
    /// For each line, the innermost function containing it (`NONE` for none); index 0 unused.
    owner: Vec<u32>,
}

struct Span {
    name: String,
    /// First line (its first decorator) and last line, inclusive.
    start: u32,
    end: u32,
    /// Column of `def`, in bytes.
    indent: u32,
    /// The innermost function containing this one.
    parent: Option<u32>,
}

const NONE: u32 = u32::MAX;

impl FunctionSpans {
    /// `None` when the parse ran out of budget or was cancelled.
    pub(crate) fn new(lang: &Language, text: &str, cancel: Option<&CancelToken>) -> Option<FunctionSpans> {
        let budget = ParseBudget { cancelled: cancel.map(CancelToken::flag), ..ParseBudget::default() };
        let tree = parse_text(lang, text, None, budget)?;
        let summary = FileSummary::build(lang, &tree, text);
        let lines = &summary.line_index;
        let root = tree.root_node();
        let mut spans: Vec<Span> = Vec::new();
        // Symbol index → span index, to find each span's parent function.
        let mut span_of: FxHashMap<u32, u32> = FxHashMap::default();
        for (idx, symbol) in summary.symbols.iter().enumerate() {
            if !matches!(symbol.kind, SymbolKind::Function | SymbolKind::Method) {
                continue;
            }
            let (start, end) = (symbol.range.start, symbol.range.end);
            let def_line = lines.line_of(start);
            let indent = start - lines.line_range(def_line).start;
            // Decorators belong to the function (they are part of `decorated_definition`).
            let mut first = start;
            if let Some(node) = root.descendant_for_byte_range(start as usize, end as usize)
                && let Some(parent) = node.parent()
                && parent.kind() == "decorated_definition"
            {
                first = parent.start_byte() as u32;
            }
            let mut parent = symbol.parent;
            let parent_span = loop {
                match parent {
                    None => break None,
                    Some(p) => match span_of.get(&p) {
                        Some(&span) => break Some(span),
                        None => parent = summary.symbols[p as usize].parent,
                    },
                }
            };
            span_of.insert(idx as u32, spans.len() as u32);
            spans.push(Span {
                name: summary.qualified_name(idx),
                start: lines.line_of(first) + 1,
                end: lines.line_of(end.saturating_sub(1).max(start)) + 1,
                indent,
                parent: parent_span,
            });
        }
        // Symbols come outer first, so painting in order leaves each line to its innermost.
        let last_line = lines.line_count() as usize + 1;
        let mut owner = vec![NONE; last_line + 1];
        for (idx, span) in spans.iter().enumerate() {
            for slot in &mut owner[span.start as usize..=(span.end as usize).min(last_line)] {
                *slot = idx as u32;
            }
        }
        Some(FunctionSpans { spans, owner })
    }

    fn owner(&self, line: u32) -> Option<u32> {
        self.owner.get(line as usize).copied().filter(|&o| o != NONE)
    }

    /// The functions a commit's hunks changed, in span order.
    pub(crate) fn touched(&self, hunks: &[Hunk]) -> Touched {
        let mut lines: Vec<(u32, u32)> = vec![(0, 0); self.spans.len()];
        for hunk in hunks {
            if hunk.new_len > 0 {
                let mut first_owner = None;
                for line in hunk.new_start..hunk.new_start + hunk.new_len {
                    if let Some(f) = self.owner(line) {
                        lines[f as usize].0 += 1;
                        first_owner.get_or_insert(f);
                    }
                }
                if hunk.old_len > 0
                    && let Some(f) = self.owner(hunk.new_start).or(first_owner)
                {
                    lines[f as usize].1 += hunk.old_len;
                }
            } else if hunk.old_len > 0 {
                // Removed after post-image line `new_start`: inside the innermost function that
                // goes on after that line, or whose body the removed code was indented into.
                let mut candidate = self.owner(hunk.new_start);
                while let Some(f) = candidate {
                    let span = &self.spans[f as usize];
                    if hunk.new_start < span.end || hunk.removed_indent.is_some_and(|i| i > span.indent) {
                        lines[f as usize].1 += hunk.old_len;
                        break;
                    }
                    candidate = span.parent;
                }
            }
        }
        // Same-named functions (a property's getter and setter, redefinitions) share a name.
        let mut out: Touched = Vec::new();
        for (span, (added, deleted)) in self.spans.iter().zip(lines) {
            if added + deleted == 0 {
                continue;
            }
            match out.iter_mut().find(|(name, _, _)| *name == span.name) {
                Some(entry) => {
                    entry.1 += added;
                    entry.2 += deleted;
                }
                None => out.push((span.name.clone(), added, deleted)),
            }
        }
        out
    }
}

/// Whether function-level facts can be computed for this path.
pub(crate) fn supported(path: &str) -> bool {
    LanguageId::from_path(Path::new(path)).is_some()
}

/// Runs the jobs: reads every post-image once through `git cat-file --batch`, parses it on
/// worker threads and maps each job's hunks. Results are `(job index, touched)`; a job whose
/// blob is missing or could not be parsed has no result.
pub(crate) fn run_jobs(
    git: &Git,
    jobs: &[FunctionJob],
    languages: &Languages,
    cancel: Option<&CancelToken>,
) -> Result<Vec<(usize, Touched)>, HistoryError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    // One read per distinct blob; a file reverted to an older version is parsed once.
    let mut by_blob: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    let mut blobs: Vec<&str> = Vec::new();
    for (idx, job) in jobs.iter().enumerate() {
        by_blob
            .entry(&job.blob)
            .or_insert_with(|| {
                blobs.push(&job.blob);
                Vec::new()
            })
            .push(idx);
    }
    let mut input = Vec::with_capacity(blobs.len() * 41);
    for blob in &blobs {
        input.extend_from_slice(blob.as_bytes());
        input.push(b'\n');
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
    git.stream(&["cat-file", "--batch"], Some(input), |out| {
        std::thread::scope(|s| {
            let (blob_tx, blob_rx) = crossbeam_channel::bounded::<(usize, Vec<u8>)>(workers * 4);
            let (done_tx, done_rx) = crossbeam_channel::unbounded::<(usize, Touched)>();
            for _ in 0..workers {
                let (blob_rx, done_tx) = (blob_rx.clone(), done_tx.clone());
                let (blobs, by_blob) = (&blobs, &by_blob);
                s.spawn(move || {
                    for (blob_idx, bytes) in blob_rx {
                        if cancel.is_some_and(CancelToken::is_cancelled) {
                            continue;
                        }
                        let job_ids = &by_blob[blobs[blob_idx]];
                        let path = Path::new(&jobs[job_ids[0]].path);
                        let Some(lang) = LanguageId::from_path(path).map(|id| languages.get(id)) else {
                            continue;
                        };
                        let text = String::from_utf8_lossy(&bytes);
                        let Some(spans) = FunctionSpans::new(lang, &text, cancel) else {
                            tracing::debug!(
                                "no function spans for {} at blob {}",
                                path.display(),
                                blobs[blob_idx]
                            );
                            continue;
                        };
                        for &job_idx in job_ids {
                            let _ = done_tx.send((job_idx, spans.touched(&jobs[job_idx].hunks)));
                        }
                    }
                });
            }
            drop(done_tx);
            let read = read_batch(out, blobs.len(), &blob_tx);
            drop(blob_tx);
            read?;
            Ok(done_rx.iter().collect())
        })
    })
}

/// Reads `count` answers of `cat-file --batch`: `<oid> blob <size>\n<bytes>\n`, or
/// `<oid> missing\n`.
fn read_batch(
    out: &mut dyn BufRead,
    count: usize,
    tx: &crossbeam_channel::Sender<(usize, Vec<u8>)>,
) -> Result<(), HistoryError> {
    let err = |detail: String| HistoryError::Parse { command: "cat-file".to_owned(), detail };
    let io = |source| HistoryError::Io { command: "cat-file".to_owned(), source };
    let mut header = String::new();
    for idx in 0..count {
        header.clear();
        if out.read_line(&mut header).map_err(io)? == 0 {
            return Err(err(format!("output ended after {idx} of {count} objects")));
        }
        let mut fields = header.split_whitespace();
        let (_oid, kind, size) = (fields.next(), fields.next(), fields.next());
        let Some(size) = size.and_then(|s| s.parse::<usize>().ok()) else {
            if kind != Some("missing") {
                return Err(err(format!("bad object header {header:?}")));
            }
            continue;
        };
        let mut bytes = vec![0; size + 1];
        out.read_exact(&mut bytes).map_err(io)?;
        bytes.pop();
        if kind == Some("blob") {
            // The workers only stop early when cancelled; then the rest is not needed.
            let _ = tx.send((idx, bytes));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hunk(old_start: u32, old_len: u32, new_start: u32, new_len: u32, indent: Option<u32>) -> Hunk {
        Hunk { old_start, old_len, new_start, new_len, removed_indent: indent }
    }

    fn spans(text: &str) -> FunctionSpans {
        let languages = Languages::embedded();
        FunctionSpans::new(languages.get(LanguageId::Python), text, None).unwrap()
    }

    const SOURCE: &str = "\
import os

@decorator
def alpha(x):
    y = x + 1
    return y


class Box:
    size = 3

    def grow(self):
        def helper():
            return 1
        return helper()


def beta():
    pass
";

    #[test]
    fn spans_include_decorators_and_nest() {
        let s = spans(SOURCE);
        let got: Vec<_> = s.spans.iter().map(|s| (s.name.as_str(), s.start, s.end, s.indent)).collect();
        assert_eq!(
            got,
            [
                ("alpha", 3, 6, 0),
                ("Box.grow", 12, 15, 4),
                ("Box.grow.helper", 13, 14, 8),
                ("beta", 18, 19, 0)
            ]
        );
        assert_eq!(s.owner(3), Some(0));
        assert_eq!(s.owner(10), None);
        assert_eq!(s.owner(14), Some(2));
        assert_eq!(s.owner(15), Some(1));
    }

    #[test]
    fn hunks_map_to_innermost_functions() {
        let s = spans(SOURCE);
        let touched = s.touched(&[
            // decorator line rewritten: alpha
            hunk(3, 1, 3, 1, None),
            // a class attribute: no function
            hunk(10, 1, 10, 1, None),
            // two lines spanning helper and grow: one each; the removed line goes to helper
            hunk(14, 1, 14, 2, None),
        ]);
        assert_eq!(
            touched,
            [("alpha".to_owned(), 1, 1), ("Box.grow".to_owned(), 1, 0), ("Box.grow.helper".to_owned(), 1, 1)]
        );
    }

    #[test]
    fn pure_deletions_go_to_the_function_around_them() {
        let s = spans(SOURCE);
        // After line 5 (inside alpha, which goes on): alpha.
        assert_eq!(s.touched(&[hunk(6, 2, 5, 0, Some(4))]), [("alpha".to_owned(), 0, 2)]);
        // After alpha's last line, indented like its body: still alpha.
        assert_eq!(s.touched(&[hunk(7, 1, 6, 0, Some(4))]), [("alpha".to_owned(), 0, 1)]);
        // After alpha's last line, at module level: nobody.
        assert_eq!(s.touched(&[hunk(7, 3, 6, 0, Some(0))]), []);
        // After helper's last line, indented like grow's body: grow.
        assert_eq!(s.touched(&[hunk(15, 1, 14, 0, Some(8))]), [("Box.grow".to_owned(), 0, 1)]);
    }
}
