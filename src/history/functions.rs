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
//! Spans are the functions and methods the syntax layer's `FileSummary` has, named as its
//! `qualified_name` names them (`Class.method`, `outer.inner`), so names are the ones the rest of
//! the engine uses; they are found by a direct walk of the tree rather than the tags query, which
//! costs too much to run on every version of every file (a test keeps the two equal).
//!
//! Post-images are read with one `git cat-file --batch` for all blobs and parsed on a few worker
//! threads, each version of a file incrementally from the tree of the version before it.

use std::{io::BufRead, path::Path};

use rustc_hash::FxHashMap;

use super::{HistoryError, facts::FunctionJob, git::Git, log::Hunk};
use tree_sitter::{InputEdit, Point};

use crate::{
    stdx::CancelToken,
    syntax::{Language, LanguageId, Languages, ParseBudget, SyntaxTree, parse_text},
    text::LineIndex,
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
    /// Parses `text` from scratch; `None` when the parse ran out of budget.
    #[cfg(test)]
    pub(crate) fn new(lang: &Language, text: &str) -> Option<FunctionSpans> {
        let tree = parse_text(lang, text, None, ParseBudget::default())?;
        Some(FunctionSpans::from_tree(lang, &tree, text))
    }

    pub(crate) fn from_tree(lang: &Language, tree: &SyntaxTree, text: &str) -> FunctionSpans {
        let lines = LineIndex::new(text);
        let spans = match lang.id {
            LanguageId::Python => python_spans(tree, text, &lines),
        };
        // Spans come outer first, so painting in order leaves each line to its innermost.
        let last_line = lines.line_count() as usize + 1;
        let mut owner = vec![NONE; last_line + 1];
        for (idx, span) in spans.iter().enumerate() {
            for slot in &mut owner[span.start as usize..=(span.end as usize).min(last_line)] {
                *slot = idx as u32;
            }
        }
        FunctionSpans { spans, owner }
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

/// Python function spans, outer first, found by walking the tree: the functions and names that
/// `grammars/python/tags.scm` tags as `definition.function` (methods among them), named like
/// `FileSummary::qualified_name` (enclosing classes and functions joined by `.`). Running the
/// tags query over every file version was the largest cost of a function-level read; this walk
/// does none of its matching work. `tests::spans_agree_with_file_summary` keeps the two equal.
fn python_spans(tree: &SyntaxTree, text: &str, lines: &LineIndex) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    // Enclosing classes and functions: (end byte, qualified name, span index for a function).
    let mut scopes: Vec<(usize, String, Option<u32>)> = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        while scopes.last().is_some_and(|scope| node.start_byte() >= scope.0) {
            scopes.pop();
        }
        let kind = node.kind();
        if (kind == "function_definition" || kind == "class_definition")
            && let Some(name) = node.child_by_field_name("name").filter(|n| n.kind() == "identifier")
            && let Ok(name) = name.utf8_text(text.as_bytes())
        {
            let qualified = match scopes.last() {
                Some((_, outer, _)) => format!("{outer}.{name}"),
                None => name.to_owned(),
            };
            let mut span_idx = None;
            if kind == "function_definition" {
                let start = node.start_byte() as u32;
                let end = node.end_byte() as u32;
                // Decorators belong to the function (they are part of `decorated_definition`).
                let first = node
                    .parent()
                    .filter(|p| p.kind() == "decorated_definition")
                    .map_or(start, |p| p.start_byte() as u32);
                let def_line = lines.line_of(start);
                span_idx = Some(spans.len() as u32);
                spans.push(Span {
                    name: qualified.clone(),
                    start: lines.line_of(first) + 1,
                    end: lines.line_of(end.saturating_sub(1).max(start)) + 1,
                    indent: start - lines.line_range(def_line).start,
                    parent: scopes.iter().rev().find_map(|scope| scope.2),
                });
            }
            scopes.push((node.end_byte(), qualified, span_idx));
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return spans;
            }
        }
    }
}

/// Whether function-level facts can be computed for this path.
pub(crate) fn supported(path: &str) -> bool {
    LanguageId::from_path(Path::new(path)).is_some()
}

/// Versions of one file parsed one after the other, each from the previous one's tree. Longer
/// runs are split so that no worker holds too many file versions at once.
const MAX_CHAIN: usize = 64;

/// Runs the jobs: reads every post-image through one `git cat-file --batch` and maps each job's
/// hunks onto its spans. Jobs are grouped into chains, the versions of one path oldest first;
/// a worker parses a chain in order, each version incrementally from the tree of the one before
/// when that is the commit's pre-image (it usually is), which is several times faster than
/// parsing every version from scratch. Results are `(job index, touched)`; a job whose blob is
/// missing or could not be parsed has no result.
pub(crate) fn run_jobs(
    git: &Git,
    jobs: &[FunctionJob],
    languages: &Languages,
    cancel: Option<&CancelToken>,
) -> Result<Vec<(usize, Touched)>, HistoryError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    // Jobs come newest first: walk them backwards to get each path's versions oldest first.
    let mut by_path: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for idx in (0..jobs.len()).rev() {
        by_path.entry(&jobs[idx].path).or_default().push(idx);
    }
    let mut chains: Vec<&[usize]> = by_path.values().flat_map(|ids| ids.chunks(MAX_CHAIN)).collect();
    // Long chains first, so that the last ones to finish are short.
    chains.sort_by_key(|chain| (std::cmp::Reverse(chain.len()), chain[0]));
    let mut input = Vec::with_capacity(jobs.len() * 41);
    for &idx in chains.iter().copied().flatten() {
        input.extend_from_slice(jobs[idx].blob.as_bytes());
        input.push(b'\n');
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
    git.stream(&["cat-file", "--batch"], Some(input), |out| {
        std::thread::scope(|s| {
            let (chain_tx, chain_rx) = crossbeam_channel::bounded::<(usize, Vec<Option<Vec<u8>>>)>(workers);
            let (done_tx, done_rx) = crossbeam_channel::unbounded::<(usize, Touched)>();
            for _ in 0..workers {
                let (chain_rx, done_tx, chains) = (chain_rx.clone(), done_tx.clone(), &chains);
                s.spawn(move || {
                    for (chain_idx, blobs) in chain_rx {
                        if cancel.is_some_and(CancelToken::is_cancelled) {
                            continue;
                        }
                        run_chain(jobs, chains[chain_idx], blobs, languages, cancel, &done_tx);
                    }
                });
            }
            drop(done_tx);
            let mut read = || -> Result<(), HistoryError> {
                for (chain_idx, chain) in chains.iter().enumerate() {
                    let blobs = read_batch(out, chain.len())?;
                    // The workers only stop early when cancelled; then the rest is not needed.
                    let _ = chain_tx.send((chain_idx, blobs));
                }
                Ok(())
            };
            let read = read();
            drop(chain_tx);
            read?;
            Ok(done_rx.iter().collect())
        })
    })
}

/// Parses one chain of versions in order, each from the previous tree when possible.
fn run_chain(
    jobs: &[FunctionJob],
    chain: &[usize],
    blobs: Vec<Option<Vec<u8>>>,
    languages: &Languages,
    cancel: Option<&CancelToken>,
    done: &crossbeam_channel::Sender<(usize, Touched)>,
) {
    let budget = ParseBudget { cancelled: cancel.map(CancelToken::flag), ..ParseBudget::default() };
    let Some(lang) = LanguageId::from_path(Path::new(&jobs[chain[0]].path)).map(|id| languages.get(id))
    else {
        return;
    };
    // The last version parsed: its blob, text and tree.
    let mut previous: Option<(&str, String, SyntaxTree)> = None;
    for (&job_idx, bytes) in chain.iter().zip(blobs) {
        let job = &jobs[job_idx];
        let Some(bytes) = bytes else {
            previous = None;
            continue;
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let edited = previous
            .as_ref()
            .filter(|(blob, _, _)| job.old_blob.as_deref() == Some(*blob))
            .map(|(_, old_text, old_tree)| edit_tree(old_tree, old_text, &text, &job.hunks));
        let mut tree = parse_text(lang, &text, edited.as_ref(), budget);
        // On broken code tree-sitter's error recovery can differ between an incremental and a
        // fresh parse (`tests/syntax_properties.rs` finds such cases); broken versions are rare
        // in history, so they are parsed again from scratch to get the spans a fresh parse gets.
        if edited.is_some() && tree.as_ref().is_some_and(|t| t.root_node().has_error()) {
            tree = parse_text(lang, &text, None, budget);
        }
        let Some(tree) = tree else {
            tracing::debug!("no function spans for {} at blob {}", job.path, job.blob);
            previous = None;
            continue;
        };
        let spans = FunctionSpans::from_tree(lang, &tree, &text);
        let _ = done.send((job_idx, spans.touched(&job.hunks)));
        previous = Some((&job.blob, text, tree));
    }
}

/// `old_tree` (of `old_text`) edited into the shape of `new_text`, given the `-U0` hunks that
/// turn one into the other, for an incremental re-parse. Hunks are line-aligned and in order, so
/// each edit starts where the new text's line starts (everything before it already matches).
fn edit_tree(old_tree: &SyntaxTree, old_text: &str, new_text: &str, hunks: &[Hunk]) -> SyntaxTree {
    let (old_starts, new_starts) = (line_starts(old_text), line_starts(new_text));
    // Byte offset where 1-based `line` starts; lines past the end start at the end.
    let at = |starts: &[usize], len: usize, line: u32| starts.get(line as usize - 1).copied().unwrap_or(len);
    let mut tree = old_tree.clone();
    for hunk in hunks {
        // A zero-length side sits *after* its line number.
        let old_first = if hunk.old_len > 0 { hunk.old_start } else { hunk.old_start + 1 };
        let new_first = if hunk.new_len > 0 { hunk.new_start } else { hunk.new_start + 1 };
        let start = at(&new_starts, new_text.len(), new_first);
        let removed = at(&old_starts, old_text.len(), old_first + hunk.old_len)
            - at(&old_starts, old_text.len(), old_first);
        let inserted = at(&new_starts, new_text.len(), new_first + hunk.new_len) - start;
        let row = new_first as usize - 1;
        tree.edit(&InputEdit {
            start_byte: start,
            old_end_byte: start + removed,
            new_end_byte: start + inserted,
            start_position: Point { row, column: 0 },
            old_end_position: Point { row: row + hunk.old_len as usize, column: 0 },
            new_end_position: Point { row: row + hunk.new_len as usize, column: 0 },
        });
    }
    tree
}

/// Byte offsets at which lines start (git's lines: ended by `\n`).
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1)).collect()
}

/// Reads `count` answers of `cat-file --batch` (`<oid> blob <size>\n<bytes>\n`, or
/// `<oid> missing\n`); a missing object or one that is not a blob is `None`.
pub(crate) fn read_batch(out: &mut dyn BufRead, count: usize) -> Result<Vec<Option<Vec<u8>>>, HistoryError> {
    let err = |detail: String| HistoryError::Parse { command: "cat-file".to_owned(), detail };
    let io = |source| HistoryError::Io { command: "cat-file".to_owned(), source };
    let mut header = String::new();
    let mut blobs = Vec::with_capacity(count);
    for _ in 0..count {
        header.clear();
        if out.read_line(&mut header).map_err(io)? == 0 {
            return Err(err("output ended early".to_owned()));
        }
        let mut fields = header.split_whitespace();
        let (_oid, kind, size) = (fields.next(), fields.next(), fields.next());
        let Some(size) = size.and_then(|s| s.parse::<usize>().ok()) else {
            if kind != Some("missing") {
                return Err(err(format!("bad object header {header:?}")));
            }
            blobs.push(None);
            continue;
        };
        let mut bytes = vec![0; size + 1];
        out.read_exact(&mut bytes).map_err(io)?;
        bytes.pop();
        blobs.push((kind == Some("blob")).then_some(bytes));
    }
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{FileSummary, SymbolKind};

    fn hunk(old_start: u32, old_len: u32, new_start: u32, new_len: u32, indent: Option<u32>) -> Hunk {
        Hunk { old_start, old_len, new_start, new_len, removed_indent: indent }
    }

    fn spans(text: &str) -> FunctionSpans {
        let languages = Languages::embedded();
        FunctionSpans::new(languages.get(LanguageId::Python), text).unwrap()
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

    /// The same spans from `FileSummary` (the tags query), as the rest of the engine sees them.
    fn summary_spans(text: &str) -> Vec<(String, u32, u32, u32)> {
        let languages = Languages::embedded();
        let lang = languages.get(LanguageId::Python);
        let tree = parse_text(lang, text, None, ParseBudget::default()).unwrap();
        let summary = FileSummary::build(lang, &tree, text);
        let lines = &summary.line_index;
        let mut out = Vec::new();
        for (idx, symbol) in summary.symbols.iter().enumerate() {
            if !matches!(symbol.kind, SymbolKind::Function | SymbolKind::Method) {
                continue;
            }
            let node = tree
                .root_node()
                .descendant_for_byte_range(symbol.range.start as usize, symbol.range.end as usize)
                .unwrap();
            let first = node
                .parent()
                .filter(|p| p.kind() == "decorated_definition")
                .map_or(node.start_byte(), |p| p.start_byte());
            let def_line = lines.line_of(symbol.range.start);
            out.push((
                summary.qualified_name(idx),
                lines.line_of(first as u32) + 1,
                lines.line_of(symbol.range.end - 1) + 1,
                symbol.range.start - lines.line_range(def_line).start,
            ));
        }
        out
    }

    #[test]
    fn spans_agree_with_file_summary() {
        let tricky = "\
@outer.deco(1)
async def fetch():
    class Local:
        @property
        def value(self):
            return 1

        @value.setter
        def value(self, v):
            pass

    def helper():
        lambda: 1
    return Local


if True:
    def conditional():
        pass
else:
    try:
        def conditional():
            pass
    except ImportError:
        pass


class Outer:
    class Inner:
        def method(self):
            def deep():
                pass


def broken(:
    pass

def after():
    pass
";
        for text in [SOURCE, tricky] {
            let ours: Vec<_> =
                spans(text).spans.iter().map(|s| (s.name.clone(), s.start, s.end, s.indent)).collect();
            assert_eq!(ours, summary_spans(text));
        }
    }

    #[test]
    fn incremental_parse_from_hunks_equals_a_fresh_parse() {
        let languages = Languages::embedded();
        let lang = languages.get(LanguageId::Python);
        // Untouched functions between the edits: most tokens keep their nodes.
        let middle: String = (0..5).map(|i| format!("def m{i}(x):\n    return x + {i}\n\n")).collect();
        let old = &format!("def a():\n    return 1\n\n{middle}def b():\n    x = 1\n    return x\n");
        let new = &format!(
            "import os\ndef a():\n    return 2\n\n{middle}def b():\n    return x\ndef c():\n    pass"
        );
        let hunks = [
            hunk(0, 0, 1, 1, None),      // `import os` inserted at the top
            hunk(2, 1, 3, 1, None),      // `return 1` → `return 2`
            hunk(20, 1, 20, 0, Some(4)), // `x = 1` removed
            hunk(21, 0, 22, 2, None),    // `c` appended, without a final newline
        ];
        let old_tree = parse_text(lang, old, None, ParseBudget::default()).unwrap();
        let edited = edit_tree(&old_tree, old, new, &hunks);
        // The edits are right when every token they leave untouched now points at the same
        // text in the new version (tree-sitter trusts them: wrong edits reuse wrong nodes).
        let (mut before, mut after) = (old_tree.walk(), edited.walk());
        let mut checked = 0;
        loop {
            let (b, a) = (before.node(), after.node());
            if a.child_count() == 0 && !a.has_changes() {
                assert_eq!(&new[a.byte_range()], &old[b.byte_range()], "{a:?}");
                checked += 1;
            }
            if before.goto_first_child() {
                assert!(after.goto_first_child());
                continue;
            }
            while !before.goto_next_sibling() {
                assert!(!after.goto_next_sibling());
                if !before.goto_parent() {
                    break;
                }
                assert!(after.goto_parent());
            }
            if before.node() == old_tree.root_node() {
                break;
            }
            assert!(after.goto_next_sibling());
        }
        assert!(checked > 10, "only {checked} tokens checked");
        let incremental = parse_text(lang, new, Some(&edited), ParseBudget::default()).unwrap();
        let fresh = parse_text(lang, new, None, ParseBudget::default()).unwrap();
        assert_eq!(incremental.root_node().to_sexp(), fresh.root_node().to_sexp());
        let ranges = |tree: &SyntaxTree| {
            let spans = FunctionSpans::from_tree(lang, tree, new);
            spans.spans.iter().map(|s| (s.name.clone(), s.start, s.end)).collect::<Vec<_>>()
        };
        assert_eq!(ranges(&incremental), ranges(&fresh));
        let fresh_ranges = ranges(&fresh);
        assert_eq!(fresh_ranges.first(), Some(&("a".to_owned(), 2, 3)));
        assert_eq!(
            fresh_ranges[fresh_ranges.len() - 2..],
            [("b".to_owned(), 20, 21), ("c".to_owned(), 22, 23)]
        );
    }

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
