//! Reading `git log`: the arguments of `rev-list` and of the one log pass, and streaming parsers
//! for the log's two output shapes.
//!
//! - File level: `--raw --numstat -z`. NUL-separated, so any path survives; `--raw` gives each
//!   change's status (added, deleted, renamed: needed to follow renames and to know which paths
//!   exist) and `--numstat` its line counts, in the same order.
//! - Function level: `-p -U0 --full-index`. Hunk headers give the changed line ranges that are
//!   mapped onto function spans, `index` lines give the blobs to read those spans from, and the
//!   counts in the hunk headers give the added/deleted lines (on a few commits `-U0` pairs a
//!   blank line that numstat's diff keeps, so they can exceed numstat's by one).
//!
//! Each commit starts with `\x1e` and its header fields are separated by `\x1f` and closed by
//! `\x1d`, bytes that do not occur in commit messages; hunk bodies are skipped by the counts in
//! their headers, so a removed line that happens to read `--- a/x` or `diff --git` is never
//! mistaken for a header.

use std::io::BufRead;

use super::{ChangeKind, HistoryError};

/// Commit header: hash, parents, author name and email (mailmapped), author time, committer
/// time, subject, body.
const FORMAT: &str = "--format=%x1e%H%x1f%P%x1f%aN%x1f%aE%x1f%at%x1f%ct%x1f%s%x1f%b%x1d";

/// One commit as git reported it, before interning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawCommit {
    pub(crate) hash: String,
    pub(crate) parents: Vec<String>,
    pub(crate) author_name: String,
    pub(crate) author_email: String,
    pub(crate) author_time: i64,
    pub(crate) commit_time: i64,
    pub(crate) subject: String,
    pub(crate) body: String,
    pub(crate) changes: Vec<RawChange>,
}

/// One file changed by a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawChange {
    /// The path before a rename; `None` when the path did not change.
    pub(crate) old_path: Option<String>,
    /// The path after the commit (for a deletion: the path that was deleted).
    pub(crate) path: String,
    pub(crate) kind: ChangeKind,
    pub(crate) added: u32,
    pub(crate) deleted: u32,
    /// The pre-image and post-image blobs (patch output only; `None` for an added or deleted
    /// side and for pure renames).
    pub(crate) old_blob: Option<String>,
    pub(crate) new_blob: Option<String>,
    pub(crate) hunks: Vec<Hunk>,
}

/// A `-U0` hunk: `@@ -old_start,old_len +new_start,new_len @@`, lines counted from 1. With
/// `new_len == 0` (a pure deletion) `new_start` is the post-image line *after which* lines were
/// removed; likewise `old_start` for a pure insertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hunk {
    pub(crate) old_start: u32,
    pub(crate) old_len: u32,
    pub(crate) new_start: u32,
    pub(crate) new_len: u32,
    /// For a pure deletion: the indentation (in bytes) of its first non-blank removed line,
    /// which tells whether the removed code was inside the function before the deletion point.
    pub(crate) removed_indent: Option<u32>,
}

/// What one history read asks git for: `rev-list` names the commits, then `log --stdin
/// --no-walk` describes them (in a few processes side by side for long histories).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogRequest<'a> {
    /// Only commits with a committer time at or after this (unix seconds).
    pub(crate) since: Option<i64>,
    /// Follow first parents only, diffing merges against their first parent (one change per
    /// merged pull request); otherwise every non-merge commit.
    pub(crate) first_parent: bool,
    /// Patch output (needed for function-level facts) instead of numstat.
    pub(crate) patches: bool,
    /// Pathspecs limiting the changes described; commits that change nothing in them are left
    /// out of the log (they are still listed by `rev-list`).
    pub(crate) paths: &'a [String],
}

impl LogRequest<'_> {
    /// `rev-list` arguments listing the commits of `range` (`rev` or `old..new`), each with its
    /// parents, children before parents: renames are followed newest to oldest.
    pub(crate) fn rev_list_args(&self, range: &str) -> Vec<String> {
        let mut args: Vec<String> =
            vec!["rev-list".to_owned(), "--date-order".to_owned(), "--parents".to_owned()];
        args.push(if self.first_parent { "--first-parent" } else { "--no-merges" }.to_owned());
        if let Some(since) = self.since {
            // git's `--since` is approximate around clock skew; commits are filtered exactly
            // when they are read, so ask for a day more.
            args.push(format!("--since=@{}", since - 86_400));
        }
        args.push(range.to_owned());
        args.push("--".to_owned());
        args
    }

    /// `log` arguments describing the commits given on stdin, in the order given.
    pub(crate) fn log_args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "log",
            "--stdin",
            "--no-walk=unsorted",
            "-M",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--encoding=UTF-8",
            // Hunk shapes and counts depend on the algorithm; pin git's default.
            "--diff-algorithm=myers",
            // A merge (first-parent history only) is its whole diff against its first parent.
            "--diff-merges=first-parent",
            FORMAT,
        ]
        .map(str::to_owned)
        .into();
        if self.patches {
            args.extend(
                ["-p", "-U0", "--full-index", "--src-prefix=a/", "--dst-prefix=b/", "--inter-hunk-context=0"]
                    .map(str::to_owned),
            );
        } else {
            args.extend(["--raw", "--numstat", "-z", "--no-abbrev"].map(str::to_owned));
        }
        if !self.paths.is_empty() {
            args.push("--".to_owned());
            args.extend(self.paths.iter().cloned());
        }
        args
    }
}

fn parse_error(detail: impl Into<String>) -> HistoryError {
    HistoryError::Parse { command: "log".to_owned(), detail: detail.into() }
}

fn io_error(source: std::io::Error) -> HistoryError {
    HistoryError::Io { command: "log".to_owned(), source }
}

fn parse_header(header: &[u8]) -> Result<RawCommit, HistoryError> {
    let text = String::from_utf8_lossy(header);
    let mut fields = text.splitn(8, '\x1f');
    let mut next =
        |name: &str| fields.next().ok_or_else(|| parse_error(format!("commit header without {name}")));
    let hash = next("hash")?.trim().to_owned();
    let parents = next("parents")?.split_whitespace().map(str::to_owned).collect();
    let author_name = next("author name")?.trim().to_owned();
    let author_email = next("author email")?.trim().to_owned();
    let time = |s: &str| s.trim().parse::<i64>().map_err(|_| parse_error(format!("bad timestamp {s:?}")));
    let author_time = time(next("author time")?)?;
    let commit_time = time(next("commit time")?)?;
    let subject = next("subject")?.trim().to_owned();
    let body = next("body")?.trim().to_owned();
    if hash.len() < 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(parse_error(format!("bad commit hash {hash:?}")));
    }
    Ok(RawCommit {
        hash,
        parents,
        author_name,
        author_email,
        author_time,
        commit_time,
        subject,
        body,
        changes: Vec::new(),
    })
}

/// Parses `--raw --numstat -z` output, handing each commit to `emit` as soon as it is complete.
pub(crate) fn parse_numstat_log(
    input: &mut dyn BufRead,
    emit: &mut dyn FnMut(RawCommit) -> Result<(), HistoryError>,
) -> Result<(), HistoryError> {
    let mut record = Vec::new();
    // Everything before the first separator is empty.
    input.read_until(0x1e, &mut record).map_err(io_error)?;
    loop {
        record.clear();
        let n = input.read_until(0x1e, &mut record).map_err(io_error)?;
        if n == 0 {
            return Ok(());
        }
        if record.last() == Some(&0x1e) {
            record.pop();
        }
        emit(parse_numstat_record(&record)?)?;
    }
}

fn parse_numstat_record(record: &[u8]) -> Result<RawCommit, HistoryError> {
    let end = memchr::memchr(0x1d, record).ok_or_else(|| parse_error("unterminated commit header"))?;
    let mut commit = parse_header(&record[..end])?;
    let mut tokens =
        record[end + 1..].split(|&b| b == 0).map(|t| t.trim_ascii_start()).filter(|t| !t.is_empty());
    let mut counts: Vec<(u32, u32, String)> = Vec::new();
    let lossy = |t: &[u8]| String::from_utf8_lossy(t).into_owned();
    while let Some(token) = tokens.next() {
        if let Some(raw) = token.strip_prefix(b":") {
            // `:old_mode new_mode old_sha new_sha STATUS` then one path, or two for R/C.
            let status = raw.rsplit(|&b| b == b' ').next().unwrap_or_default();
            let (kind, two_paths) = match status.first() {
                Some(b'A') => (ChangeKind::Added, false),
                Some(b'D') => (ChangeKind::Deleted, false),
                Some(b'R') => (ChangeKind::Renamed, true),
                // A copy (only with -C) is a new file that happens to resemble another one.
                Some(b'C') => (ChangeKind::Added, true),
                _ => (ChangeKind::Modified, false),
            };
            let first = tokens.next().ok_or_else(|| parse_error("raw entry without a path"))?;
            let (old_path, path) = if two_paths {
                let second = tokens.next().ok_or_else(|| parse_error("rename without a new path"))?;
                (Some(lossy(first)).filter(|_| kind == ChangeKind::Renamed), lossy(second))
            } else {
                (None, lossy(first))
            };
            commit.changes.push(RawChange {
                old_path,
                path,
                kind,
                added: 0,
                deleted: 0,
                old_blob: None,
                new_blob: None,
                hunks: Vec::new(),
            });
        } else {
            // `added\tdeleted\tpath`, or `added\tdeleted\t` followed by the old and new paths.
            let mut parts = token.splitn(3, |&b| b == b'\t');
            let (Some(added), Some(deleted), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(parse_error(format!("bad numstat entry {:?}", lossy(token))));
            };
            // Binary files count `-`: no lines.
            let count = |t: &[u8]| std::str::from_utf8(t).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
            let path = if path.is_empty() {
                tokens.next().ok_or_else(|| parse_error("numstat rename without paths"))?;
                lossy(tokens.next().ok_or_else(|| parse_error("numstat rename without a new path"))?)
            } else {
                lossy(path)
            };
            counts.push((count(added), count(deleted), path));
        }
    }
    // Both lists come from the same diff queue, in the same order; fall back to the path if a
    // git version ever disagrees.
    for (idx, (added, deleted, path)) in counts.into_iter().enumerate() {
        let change = match commit.changes.get_mut(idx) {
            Some(change) if change.path == path => Some(change),
            _ => commit.changes.iter_mut().find(|c| c.path == path),
        };
        if let Some(change) = change {
            change.added = added;
            change.deleted = deleted;
        }
    }
    Ok(commit)
}

/// Parses `-p -U0 --full-index` output, handing each commit to `emit` as soon as it is complete.
pub(crate) fn parse_patch_log(
    input: &mut dyn BufRead,
    emit: &mut dyn FnMut(RawCommit) -> Result<(), HistoryError>,
) -> Result<(), HistoryError> {
    let mut line = Vec::new();
    let mut commit: Option<RawCommit> = None;
    let mut read_line = |line: &mut Vec<u8>| -> Result<bool, HistoryError> {
        line.clear();
        Ok(input.read_until(b'\n', line).map_err(io_error)? > 0)
    };
    while read_line(&mut line)? {
        if line[0] == 0x1e {
            if let Some(done) = commit.take() {
                emit(finish_commit(done))?;
            }
            let mut header = line[1..].to_vec();
            while memchr::memchr(0x1d, &header).is_none() {
                if !read_line(&mut line)? {
                    return Err(parse_error("unterminated commit header"));
                }
                header.extend_from_slice(&line);
            }
            let end = memchr::memchr(0x1d, &header).unwrap_or(header.len());
            commit = Some(parse_header(&header[..end])?);
            continue;
        }
        let Some(current) = commit.as_mut() else {
            return Err(parse_error("patch output before the first commit header"));
        };
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if let Some(rest) = text.strip_prefix(b"diff --git ") {
            let (old, new) = diff_git_paths(rest);
            current.changes.push(RawChange {
                old_path: Some(old).filter(|old| *old != new),
                path: new,
                kind: ChangeKind::Modified,
                added: 0,
                deleted: 0,
                old_blob: None,
                new_blob: None,
                hunks: Vec::new(),
            });
            continue;
        }
        let Some(change) = current.changes.last_mut() else { continue };
        if text.starts_with(b"@@ ") {
            let mut hunk = parse_hunk_header(text)
                .ok_or_else(|| parse_error(format!("bad hunk header {:?}", String::from_utf8_lossy(text))))?;
            let (mut old_left, mut new_left) = (hunk.old_len, hunk.new_len);
            while old_left + new_left > 0 {
                if !read_line(&mut line)? {
                    return Err(parse_error("patch ends inside a hunk"));
                }
                match line[0] {
                    b'-' if old_left > 0 => {
                        old_left -= 1;
                        if hunk.new_len == 0 && hunk.removed_indent.is_none() {
                            let content = &line[1..];
                            let body = content.trim_ascii_start();
                            if !body.is_empty() {
                                hunk.removed_indent = Some((content.len() - body.len()) as u32);
                            }
                        }
                    }
                    b'+' if new_left > 0 => new_left -= 1,
                    // `\ No newline at end of file`
                    b'\\' => {}
                    _ => {
                        return Err(parse_error(format!(
                            "unexpected line in a hunk: {:?}",
                            String::from_utf8_lossy(&line)
                        )));
                    }
                }
            }
            change.added += hunk.new_len;
            change.deleted += hunk.old_len;
            change.hunks.push(hunk);
        } else if text.starts_with(b"new file mode ") {
            change.kind = ChangeKind::Added;
        } else if text.starts_with(b"deleted file mode ") {
            change.kind = ChangeKind::Deleted;
        } else if let Some(rest) = text.strip_prefix(b"rename from ") {
            change.old_path = Some(unquote(rest));
            change.kind = ChangeKind::Renamed;
        } else if let Some(rest) = text.strip_prefix(b"rename to ") {
            change.path = unquote(rest);
            change.kind = ChangeKind::Renamed;
        } else if let Some(rest) = text.strip_prefix(b"index ") {
            let ids = rest.split(|&b| b == b' ').next().unwrap_or_default();
            let blob = |id: &[u8]| {
                (!id.is_empty() && id.iter().any(|&b| b != b'0'))
                    .then(|| String::from_utf8_lossy(id).into_owned())
            };
            if let Some((old, new)) =
                ids.split(|&b| b == b'.').filter(|id| !id.is_empty()).collect::<Vec<_>>().split_first()
            {
                change.old_blob = blob(old);
                change.new_blob = new.first().and_then(|id| blob(id));
            }
        } else if let Some(rest) = text.strip_prefix(b"--- ") {
            // For a deletion the only real path is on this side.
            if change.kind != ChangeKind::Renamed && rest != b"/dev/null" {
                let old = side_path(rest, b"a/");
                if change.kind == ChangeKind::Deleted {
                    change.path = old;
                }
            }
        } else if let Some(rest) = text.strip_prefix(b"+++ ")
            && change.kind != ChangeKind::Renamed
            && rest != b"/dev/null"
        {
            change.path = side_path(rest, b"b/");
        }
    }
    if let Some(done) = commit.take() {
        emit(finish_commit(done))?;
    }
    Ok(())
}

fn finish_commit(mut commit: RawCommit) -> RawCommit {
    for change in &mut commit.changes {
        if change.kind == ChangeKind::Deleted {
            change.new_blob = None;
        }
        if change.kind == ChangeKind::Added {
            change.old_blob = None;
        }
        if change.kind != ChangeKind::Renamed {
            change.old_path = None;
        }
    }
    // A type change (a symlink becoming a file) is one modification in `--raw` but a deletion
    // followed by a creation in a patch; make it one modification here too, so that the file
    // keeps its history whichever format was read.
    let mut merged: Vec<RawChange> = Vec::with_capacity(commit.changes.len());
    for change in commit.changes {
        match merged.last_mut() {
            Some(prev)
                if prev.kind == ChangeKind::Deleted
                    && change.kind == ChangeKind::Added
                    && prev.path == change.path =>
            {
                prev.kind = ChangeKind::Modified;
                prev.added += change.added;
                prev.deleted += change.deleted;
                prev.new_blob = change.new_blob;
                prev.old_blob = None;
                prev.hunks = change.hunks;
            }
            _ => merged.push(change),
        }
    }
    commit.changes = merged;
    commit
}

/// `@@ -a[,b] +c[,d] @@ ...`
fn parse_hunk_header(line: &[u8]) -> Option<Hunk> {
    let text = std::str::from_utf8(line.get(3..)?).ok()?;
    let mut parts = text.split(' ');
    let range = |s: &str, sign: char| -> Option<(u32, u32)> {
        let s = s.strip_prefix(sign)?;
        match s.split_once(',') {
            Some((start, len)) => Some((start.parse().ok()?, len.parse().ok()?)),
            None => Some((s.parse().ok()?, 1)),
        }
    };
    let (old_start, old_len) = range(parts.next()?, '-')?;
    let (new_start, new_len) = range(parts.next()?, '+')?;
    Some(Hunk { old_start, old_len, new_start, new_len, removed_indent: None })
}

/// A path from a `---`/`+++` line: quoted, or plain with a trailing tab when it has spaces.
fn side_path(rest: &[u8], prefix: &[u8]) -> String {
    if rest.first() == Some(&b'"') {
        return strip_prefix_str(unquote(rest), prefix);
    }
    let rest = rest.strip_suffix(b"\t").unwrap_or(rest);
    strip_prefix_str(String::from_utf8_lossy(rest).into_owned(), prefix)
}

fn strip_prefix_str(path: String, prefix: &[u8]) -> String {
    let prefix = std::str::from_utf8(prefix).unwrap_or_default();
    match path.strip_prefix(prefix) {
        Some(rest) => rest.to_owned(),
        None => path,
    }
}

/// The two paths of `diff --git a/X b/Y`. Only trusted when nothing better follows (a mode
/// change, a binary file, an empty file): plain paths with spaces are ambiguous, so when both
/// sides are plain the line is split in the middle, where they are equal.
fn diff_git_paths(rest: &[u8]) -> (String, String) {
    if rest.first() == Some(&b'"') {
        let (old, tail) = take_quoted(rest);
        let tail = tail.trim_ascii_start();
        let new = if tail.first() == Some(&b'"') {
            take_quoted(tail).0
        } else {
            String::from_utf8_lossy(tail).into_owned()
        };
        return (strip_prefix_str(old, b"a/"), strip_prefix_str(new, b"b/"));
    }
    let text = String::from_utf8_lossy(rest);
    if text.len() >= 5 && (text.len() - 5).is_multiple_of(2) {
        let half = (text.len() - 5) / 2;
        if text.is_char_boundary(2 + half) && text.is_char_boundary(5 + half) {
            let (old, new) = (&text[2..2 + half], &text[5 + half..]);
            if text.starts_with("a/") && &text[2 + half..5 + half] == " b/" && old == new {
                return (old.to_owned(), new.to_owned());
            }
        }
    }
    match text.split_once(" b/") {
        Some((old, new)) => (old.strip_prefix("a/").unwrap_or(old).to_owned(), new.to_owned()),
        None => (text.clone().into_owned(), text.into_owned()),
    }
}

/// Unquotes a C-style quoted path (`"a/tab\tx.py"`); a plain path is returned as is.
fn unquote(text: &[u8]) -> String {
    if text.first() == Some(&b'"') { take_quoted(text).0 } else { String::from_utf8_lossy(text).into_owned() }
}

/// Reads one quoted string from the start of `text`; returns it and what follows.
fn take_quoted(text: &[u8]) -> (String, &[u8]) {
    let mut out = Vec::new();
    let mut i = 1;
    while i < text.len() {
        match text[i] {
            b'"' => return (String::from_utf8_lossy(&out).into_owned(), &text[i + 1..]),
            b'\\' if i + 1 < text.len() => {
                i += 1;
                let c = text[i];
                match c {
                    b'0'..=b'7' => {
                        let digits =
                            text[i..].iter().take(3).take_while(|b| (b'0'..=b'7').contains(b)).count();
                        let value =
                            text[i..i + digits].iter().fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                        out.push(value as u8);
                        i += digits;
                        continue;
                    }
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(0x0b),
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    (String::from_utf8_lossy(&out).into_owned(), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_patch(text: &str) -> Vec<RawCommit> {
        let mut out = Vec::new();
        parse_patch_log(&mut text.as_bytes(), &mut |c| {
            out.push(c);
            Ok(())
        })
        .unwrap();
        out
    }

    const HEADER: &str =
        "\x1e0123456789012345678901234567890123456789\x1f\x1fAda\x1fada@x\x1f10\x1f20\x1ffix: it\x1f\x1d\n\n";

    #[test]
    fn hunk_bodies_are_skipped_by_count() {
        let text = format!(
            "{HEADER}diff --git a/x.py b/x.py\nindex {z}..{b} 100644\n--- a/x.py\n+++ b/x.py\n\
             @@ -3,2 +3 @@ def f():\n--- a/x.py\n-diff --git a/y b/y\n+    return 1\n\
             @@ -9 +8,0 @@\n-        pass\n\\ No newline at end of file\n",
            z = "0".repeat(40),
            b = "b".repeat(40)
        );
        let commits = parse_patch(&text);
        assert_eq!(commits.len(), 1);
        let c = &commits[0];
        assert_eq!((c.author_time, c.commit_time, c.subject.as_str()), (10, 20, "fix: it"));
        assert_eq!(c.changes.len(), 1);
        let change = &c.changes[0];
        assert_eq!((change.path.as_str(), change.added, change.deleted), ("x.py", 1, 3));
        assert_eq!(change.old_blob, None);
        assert_eq!(change.new_blob.as_deref(), Some("b".repeat(40).as_str()));
        assert_eq!(change.hunks[1].removed_indent, Some(8));
        assert_eq!(change.hunks[1].new_start, 8);
    }

    #[test]
    fn quoted_and_spaced_paths() {
        let text = format!(
            "{HEADER}diff --git \"a/tab\\tx.py\" \"b/tab\\tx.py\"\nnew file mode 100644\n--- /dev/null\n\
             +++ \"b/tab\\tx.py\"\n@@ -0,0 +1 @@\n+b\n\
             diff --git a/sp ace.py b/sp ace.py\ndeleted file mode 100644\n--- a/sp ace.py\t\n+++ /dev/null\n\
             @@ -1 +0,0 @@\n-a\n\
             diff --git a/old name.py b/new name.py\nsimilarity index 100%\nrename from old name.py\n\
             rename to new name.py\n\
             diff --git a/m o.py b/m o.py\nold mode 100644\nnew mode 100755\n\
             diff --git \"a/\\303\\274.py\" \"b/\\303\\274.py\"\nnew file mode 100644\n"
        );
        let changes = &parse_patch(&text)[0].changes;
        let got: Vec<_> = changes.iter().map(|c| (c.old_path.as_deref(), c.path.as_str(), c.kind)).collect();
        assert_eq!(
            got,
            [
                (None, "tab\tx.py", ChangeKind::Added),
                (None, "sp ace.py", ChangeKind::Deleted),
                (Some("old name.py"), "new name.py", ChangeKind::Renamed),
                (None, "m o.py", ChangeKind::Modified),
                (None, "ü.py", ChangeKind::Added),
            ]
        );
    }

    #[test]
    fn a_type_change_is_one_modification() {
        let text = format!(
            "{HEADER}diff --git a/CHANGES b/CHANGES\ndeleted file mode 120000\nindex {a}..{z}\n--- a/CHANGES\n\
             +++ /dev/null\n@@ -1 +0,0 @@\n-doc/changes.txt\n\\ No newline at end of file\n\
             diff --git a/CHANGES b/CHANGES\nnew file mode 100644\nindex {z}..{b}\n--- /dev/null\n\
             +++ b/CHANGES\n@@ -0,0 +1,2 @@\n+one\n+two\n",
            a = "a".repeat(40),
            b = "b".repeat(40),
            z = "0".repeat(40)
        );
        let changes = &parse_patch(&text)[0].changes;
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!((c.kind, c.path.as_str(), c.added, c.deleted), (ChangeKind::Modified, "CHANGES", 2, 1));
        assert_eq!(c.new_blob.as_deref(), Some("b".repeat(40).as_str()));
    }

    #[test]
    fn numstat_records() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let text = format!(
            "{}\0\n:000000 100644 {z} {a} A\0new.py\0:100644 100644 {a} {a} R090\0old.py\0moved.py\0\
             :100644 000000 {a} {z} D\0gone.py\0\
             3\t0\tnew.py\0-\t-\t\0old.py\0moved.py\0\
             0\t7\tgone.py\0",
            HEADER.trim_end_matches('\n')
        );
        let mut out = Vec::new();
        parse_numstat_log(&mut text.as_bytes(), &mut |c| {
            out.push(c);
            Ok(())
        })
        .unwrap();
        let got: Vec<_> = out[0]
            .changes
            .iter()
            .map(|c| (c.old_path.as_deref(), c.path.as_str(), c.kind, c.added, c.deleted))
            .collect();
        assert_eq!(
            got,
            [
                (None, "new.py", ChangeKind::Added, 3, 0),
                (Some("old.py"), "moved.py", ChangeKind::Renamed, 0, 0),
                (None, "gone.py", ChangeKind::Deleted, 0, 7),
            ]
        );
    }
}
