//! Search/replace edit blocks: parsing them out of a model's answer, and applying them to the
//! workspace's text.
//!
//! The format is Aider's, which models follow far more reliably than unified diffs (no line
//! numbers or hunk headers to get wrong):
//!
//! ```text
//! pkg/module.py
//! <<<<<<< SEARCH
//! text that is in the file now
//! =======
//! what replaces it
//! >>>>>>> REPLACE
//! ```
//!
//! A block without a path line reuses the previous block's path. Code fences around blocks are
//! ignored. An empty SEARCH creates the file (or appends to it).
//!
//! The search text is located by three matchers in turn, stopping at the first that finds it:
//! exact; then line by line ignoring differences in whitespace (the replacement is re-indented
//! by the indentation difference, since models often drop or add a level); then fuzzy, a window
//! of the file's lines whose character similarity to the search text is at least
//! [`FUZZY_THRESHOLD`], for search texts of at least [`FUZZY_MIN_LINES`] lines. When the search text occurs more than once, the first occurrence is
//! used, as Aider does.

use std::{
    collections::BTreeMap,
    path::{Component, Path, PathBuf},
    time::{Duration, Instant},
};

use similar::TextDiff;

use super::{Candidate, FileChange, Origin, RepairError, SourceTexts, validate};

/// Fuzzy matches below this similarity ratio (0–1, over characters) are not matches.
pub const FUZZY_THRESHOLD: f32 = 0.85;

/// Search texts of fewer non-blank lines are not matched fuzzily.
pub const FUZZY_MIN_LINES: usize = 3;

/// How long one fuzzy search may spend diffing windows (models write small blocks; a huge one
/// against a huge file must not stall the pipeline).
const FUZZY_BUDGET: Duration = Duration::from_millis(200);

/// Fuzzy matching compares characters only for this many windows, the best by line overlap.
const FUZZY_WINDOWS: usize = 8;

/// One search/replace block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditBlock {
    /// As the model wrote it (checked when applied).
    pub path: String,
    pub search: String,
    pub replace: String,
}

/// How a block's search text was found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MatchKind {
    Exact,
    /// Equal line by line once whitespace is normalized.
    Whitespace,
    /// Similar above the threshold; the ratio found.
    Fuzzy(f32),
    /// An empty search: the file was created or appended to.
    Append,
}

/// A malformed answer: a block that does not close, or a block with no path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed edit block at line {line}: {reason}")]
pub struct BlockParseError {
    pub line: usize,
    pub reason: &'static str,
}

fn marker(line: &str, ch: char, word: &str) -> bool {
    let line = line.trim_end();
    let n = line.chars().take_while(|&c| c == ch).count();
    if !(5..=9).contains(&n) {
        return false;
    }
    let rest = line[n..].trim();
    if word.is_empty() { rest.is_empty() } else { rest == word }
}

fn is_search(line: &str) -> bool {
    marker(line, '<', "SEARCH")
}

fn is_divider(line: &str) -> bool {
    marker(line, '=', "")
}

fn is_replace(line: &str) -> bool {
    marker(line, '>', "REPLACE")
}

/// The path a line names, if it looks like one: `pkg/a.py`, `` `pkg/a.py` ``, `**pkg/a.py**`,
/// `# pkg/a.py`, `File: pkg/a.py`.
fn path_line(line: &str) -> Option<String> {
    let mut s = line.trim();
    if s.starts_with("```") {
        return None;
    }
    for prefix in ["#", "File:", "file:", "Path:", "path:"] {
        s = s.strip_prefix(prefix).unwrap_or(s).trim();
    }
    let s = s.trim_matches(|c| c == '`' || c == '*' || c == '"' || c == '\'').trim().trim_end_matches(':');
    let plausible = !s.is_empty() && !s.contains(char::is_whitespace) && (s.contains('.') || s.contains('/'));
    plausible.then(|| s.to_owned())
}

/// Every block in `answer`, in order.
pub fn parse_edit_blocks(answer: &str) -> Result<Vec<EditBlock>, BlockParseError> {
    let lines: Vec<&str> = answer.lines().collect();
    let mut blocks = Vec::new();
    let mut path: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        if !is_search(lines[i]) {
            i += 1;
            continue;
        }
        // The path: the closest non-empty line above that is not a fence.
        let above =
            lines[..i].iter().rev().map(|l| l.trim()).find(|l| !l.is_empty() && !l.starts_with("```"));
        if let Some(named) = above.and_then(path_line) {
            path = Some(named);
        }
        let Some(block_path) = path.clone() else {
            return Err(BlockParseError { line: i + 1, reason: "no file path before the block" });
        };
        let start = i + 1;
        let divider = (start..lines.len())
            .find(|&j| is_divider(lines[j]))
            .ok_or(BlockParseError { line: i + 1, reason: "no ======= after SEARCH" })?;
        let end = (divider + 1..lines.len())
            .find(|&j| is_replace(lines[j]))
            .ok_or(BlockParseError { line: divider + 1, reason: "no >>>>>>> REPLACE after =======" })?;
        if lines[start..divider].iter().any(|l| is_search(l)) {
            return Err(BlockParseError { line: i + 1, reason: "a SEARCH inside another block" });
        }
        let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
        blocks.push(EditBlock {
            path: block_path,
            search: join(&lines[start..divider]),
            replace: join(&lines[divider + 1..end]),
        });
        i = end + 1;
    }
    Ok(blocks)
}

/// `path` as a workspace-relative path, or an error if it leaves the workspace: absolute
/// outside `root`, `..` climbing out, or through a symlink that points outside.
pub fn workspace_path(root: &Path, path: &str) -> Result<PathBuf, RepairError> {
    let escapes = || RepairError::EscapesWorkspace { path: PathBuf::from(path) };
    let given = Path::new(path.trim());
    let rel = if given.is_absolute() { given.strip_prefix(root).map_err(|_| escapes())? } else { given };
    let mut out = PathBuf::new();
    for comp in rel.components() {
        match comp {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(escapes());
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(escapes()),
        }
    }
    if out.as_os_str().is_empty() {
        return Err(escapes());
    }
    // Symlinks: the deepest existing ancestor must resolve inside the root.
    let real_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut probe = Some(root.join(&out));
    while let Some(p) = probe {
        if std::fs::symlink_metadata(&p).is_ok() {
            let real = p.canonicalize().map_err(|_| escapes())?;
            if !real.starts_with(&real_root) {
                return Err(escapes());
            }
            break;
        }
        probe = p.parent().filter(|parent| parent.starts_with(root)).map(Path::to_path_buf);
    }
    Ok(out)
}

/// Applies one block to `text`; `None` if its search text is not found.
pub fn apply_block(text: &str, search: &str, replace: &str) -> Option<(String, MatchKind)> {
    if search.trim().is_empty() {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(replace);
        return Some((out, MatchKind::Append));
    }
    if let Some(at) = text.find(search) {
        return Some((splice(text, at..at + search.len(), replace), MatchKind::Exact));
    }
    // The file's last line may have no newline, which the block's lines always get.
    if let Some(bare) = search.strip_suffix('\n')
        && text.ends_with(bare)
    {
        let at = text.len() - bare.len();
        let replace = replace.strip_suffix('\n').unwrap_or(replace);
        return Some((splice(text, at..text.len(), replace), MatchKind::Exact));
    }
    let file = Lines::new(text);
    let wanted: Vec<&str> = trim_blank_edges(search.lines().collect());
    if wanted.is_empty() {
        return None;
    }
    if let Some(first) = whitespace_match(&file, &wanted) {
        let range = file.byte_range(first, first + wanted.len());
        let replace = reindent(replace, indent_of_first(&wanted), indent(file.lines[first]));
        return Some((splice(text, range, &replace), MatchKind::Whitespace));
    }
    // A short search text that differs is more likely a wrong belief about the code than a
    // slip in copying it: only longer ones are matched fuzzily.
    if wanted.iter().filter(|l| !l.trim().is_empty()).count() < FUZZY_MIN_LINES {
        return None;
    }
    let (first, len, ratio) = fuzzy_match(&file, &wanted)?;
    let range = file.byte_range(first, first + len);
    let replace = reindent(replace, indent_of_first(&wanted), indent(file.lines[first]));
    Some((splice(text, range, &replace), MatchKind::Fuzzy(ratio)))
}

/// The best fuzzy ratio found for `search` in `text` (for error messages), with its line.
pub fn best_fuzzy(text: &str, search: &str) -> Option<(usize, f32)> {
    let file = Lines::new(text);
    let wanted = trim_blank_edges(search.lines().collect());
    if wanted.is_empty() {
        return None;
    }
    best_windows(&file, &wanted, 0.0).map(|(first, _, ratio)| (first + 1, ratio))
}

/// Applies `blocks` (in order, several per file allowed) to the workspace's texts, checking
/// every path and that no edited Python file has more syntax errors than before.
pub fn apply_blocks(
    root: &Path,
    sources: &dyn SourceTexts,
    blocks: &[EditBlock],
    description: String,
    origin: Origin,
) -> Result<(Candidate, Vec<MatchKind>), RepairError> {
    let mut files: BTreeMap<PathBuf, (Option<String>, String)> = BTreeMap::new();
    let mut kinds = Vec::with_capacity(blocks.len());
    for block in blocks {
        let rel = workspace_path(root, &block.path)?;
        if !files.contains_key(&rel) {
            let before = sources.text(&rel);
            if before.is_none() && !block.search.trim().is_empty() {
                return Err(RepairError::NoSuchFile { path: rel });
            }
            let current = before.clone().unwrap_or_default();
            files.insert(rel.clone(), (before, current));
        }
        let (_, current) = files.get_mut(&rel).expect("inserted above");
        let Some((next, kind)) = apply_block(current, &block.search, &block.replace) else {
            let best = best_fuzzy(current, &block.search);
            return Err(RepairError::NoMatch {
                path: rel,
                search: excerpt(&block.search, 400),
                best_line: best.map(|b| b.0),
                best_ratio: best.map(|b| b.1),
            });
        };
        *current = next;
        kinds.push(kind);
    }
    let changes: Vec<FileChange> = files
        .into_iter()
        .filter(|(_, (before, after))| before.as_deref() != Some(after.as_str()))
        .map(|(path, (before, after))| FileChange { path, before, after })
        .collect();
    if changes.is_empty() {
        return Err(RepairError::NoChange);
    }
    let candidate = Candidate { description, origin, changes, needs_failing_test: false };
    validate(&candidate)?;
    Ok((candidate, kinds))
}

/// A unified diff of one file, `a/`- and `b/`-prefixed like git's.
pub fn unified_diff(path: &Path, before: &str, after: &str) -> String {
    let path = path.to_string_lossy();
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Lines added plus lines removed.
pub fn changed_lines(before: &str, after: &str) -> usize {
    TextDiff::from_lines(before, after)
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .count()
}

pub(crate) fn excerpt(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

/// A text's lines with their byte offsets (each line without its end).
struct Lines<'a> {
    text: &'a str,
    lines: Vec<&'a str>,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let mut lines = Vec::new();
        let mut starts = Vec::new();
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            starts.push(at);
            lines.push(line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(line));
            at += line.len();
        }
        Lines { text, lines, starts }
    }

    /// Bytes of lines `first..end`, line ends included.
    fn byte_range(&self, first: usize, end: usize) -> std::ops::Range<usize> {
        let start = self.starts[first];
        let stop = self.starts.get(end).copied().unwrap_or(self.text.len());
        start..stop
    }
}

fn trim_blank_edges(mut lines: Vec<&str>) -> Vec<&str> {
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let lead = lines.iter().take_while(|l| l.trim().is_empty()).count();
    lines.drain(..lead);
    lines
}

fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn whitespace_match(file: &Lines, wanted: &[&str]) -> Option<usize> {
    let wanted: Vec<String> = wanted.iter().map(|l| normalize(l)).collect();
    let have: Vec<String> = file.lines.iter().map(|l| normalize(l)).collect();
    (0..=have.len().checked_sub(wanted.len())?).find(|&i| have[i..i + wanted.len()] == wanted[..])
}

fn fuzzy_match(file: &Lines, wanted: &[&str]) -> Option<(usize, usize, f32)> {
    best_windows(file, wanted, FUZZY_THRESHOLD)
}

/// The window of the file most similar to `wanted` with a ratio of at least `threshold`:
/// windows of the search's length (and one line shorter or longer) are ranked by how many of
/// their lines occur in the search, and the best few are compared character by character.
fn best_windows(file: &Lines, wanted: &[&str], threshold: f32) -> Option<(usize, usize, f32)> {
    let wanted_norm: std::collections::HashSet<String> = wanted.iter().map(|l| normalize(l)).collect();
    let hits: Vec<usize> =
        file.lines.iter().map(|l| usize::from(wanted_norm.contains(&normalize(l)))).collect();
    let mut prefix = vec![0; hits.len() + 1];
    for (i, h) in hits.iter().enumerate() {
        prefix[i + 1] = prefix[i] + h;
    }
    let n = wanted.len();
    let mut windows: Vec<(usize, usize, usize)> = Vec::new();
    for len in [n, n.saturating_sub(1), n + 1] {
        if len == 0 || len > file.lines.len() {
            continue;
        }
        for first in 0..=file.lines.len() - len {
            windows.push((prefix[first + len] - prefix[first], first, len));
        }
    }
    windows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let wanted_text = wanted.join("\n");
    let deadline = Instant::now() + FUZZY_BUDGET;
    let mut best: Option<(usize, usize, f32)> = None;
    for &(_, first, len) in windows.iter().take(FUZZY_WINDOWS) {
        let window = file.lines[first..first + len].join("\n");
        let ratio = TextDiff::configure()
            .deadline(deadline)
            .diff_chars(window.as_str(), wanted_text.as_str())
            .ratio();
        if ratio >= threshold && best.is_none_or(|b| ratio > b.2) {
            best = Some((first, len, ratio));
        }
    }
    best
}

fn indent(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

fn indent_of_first<'a>(lines: &[&'a str]) -> &'a str {
    lines.iter().find(|l| !l.trim().is_empty()).map_or("", |l| indent(l))
}

/// Moves `text`'s lines from the search's indentation to the file's.
fn reindent(text: &str, from: &str, to: &str) -> String {
    if from == to {
        return text.to_owned();
    }
    text.split_inclusive('\n')
        .map(|line| {
            if line.trim().is_empty() {
                return line.to_owned();
            }
            if let Some(rest) = line.strip_prefix(from) {
                format!("{to}{rest}")
            } else if from.starts_with(indent(line)) && to.len() >= from.len() {
                // Less indented than the search's first line (a dedent): shift it by the same.
                format!("{}{}", &to[..to.len() - from.len()], line)
            } else {
                line.to_owned()
            }
        })
        .collect()
}
