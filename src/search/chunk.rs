//! Cutting a file into symbol-sized chunks, the unit the search index ranks and answers cite.
//!
//! A file yields one chunk per function and method (its full source, decorators included), one
//! per class (its header, docstring and class-level statements, with each method reduced to its
//! signature — the bodies have their own chunks) and one module chunk (module docstring, imports,
//! top-level statements, and the signatures of top-level definitions, which makes it a readable
//! outline of the file). Definitions nested inside a function stay in that function's chunk:
//! they are part of how it works, and separate chunks would only repeat its text.
//!
//! Texts are capped ([`MAX_CHUNK_BYTES`], [`MAX_MODULE_CHUNK_BYTES`]) so one generated or data
//! file cannot dominate the index; ranges and lines always describe the whole symbol.

use crate::syntax::{FileSummary, SymbolKind};

/// Longest text indexed for a function, method or class chunk.
pub const MAX_CHUNK_BYTES: usize = 64 * 1024;

/// Longest text indexed for a module chunk. Smaller than a symbol's: beyond an outline and the
/// imports, module-level text is mostly data (settings, tables, locale formats).
pub const MAX_MODULE_CHUNK_BYTES: usize = 32 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChunkKind {
    Module,
    Class,
    Function,
    Method,
}

impl ChunkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkKind::Module => "module",
            ChunkKind::Class => "class",
            ChunkKind::Function => "function",
            ChunkKind::Method => "method",
        }
    }

    pub fn parse(text: &str) -> Option<ChunkKind> {
        Some(match text {
            "module" => ChunkKind::Module,
            "class" => ChunkKind::Class,
            "function" => ChunkKind::Function,
            "method" => ChunkKind::Method,
            _ => return None,
        })
    }
}

/// One indexed unit of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Path relative to the workspace root, `/`-separated: what identifies the file in the
    /// index (ids of a session would not survive a restart).
    pub path: String,
    /// Dotted module path (`django.contrib.auth.hashers`); empty when unknown.
    pub module: String,
    /// The symbol's own name; for a module chunk, the module's last segment.
    pub name: String,
    /// `module.Class.method`; for a module chunk, the module path.
    pub qualified_name: String,
    pub kind: ChunkKind,
    /// The docstring, when there is one.
    pub doc: Option<String>,
    /// The text indexed (see the module docs for what each kind keeps), capped.
    pub body: String,
    /// First and last line of the chunk, 1-based and inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// UTF-8 byte range of the chunk in the file's text.
    pub start_byte: u32,
    pub end_byte: u32,
}

/// Which symbols of a file get chunks of their own, and of what kind (`None`: the symbol stays
/// in the chunk of its nearest chunked ancestor, or in the module chunk).
pub fn chunk_kinds(summary: &FileSummary) -> Vec<Option<ChunkKind>> {
    let symbols = &summary.symbols;
    // Parents come before children, so one pass decides every symbol.
    let mut kinds: Vec<Option<ChunkKind>> = Vec::with_capacity(symbols.len());
    for symbol in symbols {
        let parent = symbol.parent.map(|p| (symbols[p as usize].kind, kinds[p as usize]));
        let kind = match (symbol.kind, parent) {
            (SymbolKind::Class | SymbolKind::Function | SymbolKind::Method, None) => {
                Some(if symbol.kind == SymbolKind::Class { ChunkKind::Class } else { ChunkKind::Function })
            }
            // Only definitions directly in a chunked class get chunks of their own; anything
            // under a function (or under a class inside a function) stays in that function.
            (kind, Some((SymbolKind::Class, Some(ChunkKind::Class)))) => match kind {
                SymbolKind::Class => Some(ChunkKind::Class),
                SymbolKind::Function | SymbolKind::Method => Some(ChunkKind::Method),
                _ => None,
            },
            _ => None,
        };
        kinds.push(kind);
    }
    kinds
}

/// The symbol whose chunk holds symbol `idx` (itself, or its nearest chunked ancestor); `None`
/// for the module chunk. `kinds` is [`chunk_kinds`] of the same summary.
pub fn chunk_owner(summary: &FileSummary, kinds: &[Option<ChunkKind>], idx: usize) -> Option<usize> {
    let mut at = Some(idx);
    while let Some(i) = at {
        if kinds.get(i).copied().flatten().is_some() {
            return Some(i);
        }
        at = summary.symbols.get(i)?.parent.map(|p| p as usize);
    }
    None
}

/// The chunks of one file: the module chunk first, then symbols in document order.
///
/// `summary` must describe `text`; ranges that do not fit it are clamped, never trusted.
pub fn chunks_for_file(rel_path: &str, module: &str, summary: &FileSummary, text: &str) -> Vec<Chunk> {
    let symbols = &summary.symbols;
    let kinds = chunk_kinds(summary);

    let file_path = rel_path.replace('\\', "/");
    let line_of = |offset: usize| summary.line_index.line_of(offset as u32) + 1;
    let last_line = |start: usize, end: usize| line_of(if end > start { end - 1 } else { start });
    let mut out = Vec::new();

    let module_name = module.rsplit('.').next().filter(|n| !n.is_empty()).map_or_else(
        || file_path.rsplit('/').next().unwrap_or("").trim_end_matches(".py").to_owned(),
        str::to_owned,
    );
    let top_level: Vec<usize> =
        (0..symbols.len()).filter(|&i| kinds[i].is_some() && symbols[i].parent.is_none()).collect();
    out.push(Chunk {
        path: file_path.clone(),
        module: module.to_owned(),
        name: module_name,
        qualified_name: module.to_owned(),
        kind: ChunkKind::Module,
        doc: module_docstring(text).map(str::to_owned),
        body: text_without_bodies(text, 0..text.len(), &top_level, summary, MAX_MODULE_CHUNK_BYTES),
        start_line: 1,
        end_line: last_line(0, text.len()),
        start_byte: 0,
        end_byte: text.len() as u32,
    });

    for (idx, symbol) in symbols.iter().enumerate() {
        let Some(kind) = kinds[idx] else { continue };
        let range = clamp(text, symbol.range.start as usize..symbol.range.end as usize);
        let start = with_decorators(text, range.start);
        let body = if kind == ChunkKind::Class {
            // Descendants follow their class in document order, inside its range.
            let members: Vec<usize> = (idx + 1..symbols.len())
                .take_while(|&i| symbols[i].range.start < symbol.range.end)
                .filter(|&i| kinds[i].is_some() && symbols[i].parent == Some(idx as u32))
                .collect();
            text_without_bodies(text, start..range.end, &members, summary, MAX_CHUNK_BYTES)
        } else {
            capped(&text[start..range.end], MAX_CHUNK_BYTES).to_owned()
        };
        let qualified = summary.qualified_name(idx);
        out.push(Chunk {
            path: file_path.clone(),
            module: module.to_owned(),
            name: symbol.name.to_string(),
            qualified_name: if module.is_empty() { qualified } else { format!("{module}.{qualified}") },
            kind,
            doc: symbol.doc.as_deref().map(str::to_owned),
            body,
            start_line: line_of(start),
            end_line: last_line(start, range.end),
            start_byte: start as u32,
            end_byte: range.end as u32,
        });
    }
    out
}

/// The text of `range` with the bodies of the definitions `cut` removed (their signatures and
/// decorators stay), capped at `cap` bytes.
fn text_without_bodies(
    text: &str,
    range: std::ops::Range<usize>,
    cut: &[usize],
    summary: &FileSummary,
    cap: usize,
) -> String {
    let mut out = String::with_capacity(range.len().min(cap));
    let mut at = range.start;
    for &idx in cut {
        let symbol =
            clamp(text, summary.symbols[idx].range.start as usize..summary.symbols[idx].range.end as usize);
        if symbol.start < at || symbol.end > range.end {
            continue;
        }
        let header_end = header_end(text, symbol.clone());
        out.push_str(&text[at..header_end]);
        at = symbol.end;
        if out.len() >= cap {
            break;
        }
    }
    if at < range.end && out.len() < cap {
        out.push_str(&text[at..range.end]);
    }
    let len = capped(&out, cap).len();
    out.truncate(len);
    out
}

/// Where a `def`/`class` header ends: just past the `:` that opens its body (brackets, strings
/// and comments skipped), or the end of its first line when none is found.
fn header_end(text: &str, range: std::ops::Range<usize>) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = range.start;
    while at < range.end {
        match bytes[at] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b':' if depth == 0 => return at + 1,
            b'#' => {
                at = memchr::memchr(b'\n', &bytes[at..range.end]).map_or(range.end, |i| at + i);
                continue;
            }
            quote @ (b'"' | b'\'') => {
                let triple = bytes[at..range.end].starts_with(&[quote; 3]);
                let delimiter: &[u8] = if triple { &bytes[at..at + 3] } else { &bytes[at..at + 1] };
                at += delimiter.len();
                while at < range.end && !bytes[at..range.end].starts_with(delimiter) {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at = (at + delimiter.len()).min(range.end);
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    let first_line_end =
        memchr::memchr(b'\n', &bytes[range.start..range.end]).map_or(range.end, |i| range.start + i);
    // Stay on a char boundary even if the scan above skipped into a multi-byte character.
    floor_char_boundary(text, first_line_end)
}

/// Moves a definition's start back over the decorator lines right above it (`@property`),
/// which say a lot about what it is. Multi-line decorators are left to the enclosing chunk.
fn with_decorators(text: &str, start: usize) -> usize {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    if !text[line_start..start].trim().is_empty() {
        return start;
    }
    let mut first = start;
    let mut cur = line_start;
    while cur > 0 {
        let prev_start = text[..cur - 1].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[prev_start..cur - 1];
        let trimmed = line.trim_start();
        if !trimmed.starts_with('@') {
            break;
        }
        first = prev_start + (line.len() - trimmed.len());
        cur = prev_start;
    }
    first
}

/// The module docstring: a string literal that is the first statement of the file.
fn module_docstring(text: &str) -> Option<&str> {
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    loop {
        rest = rest.trim_start();
        if rest.starts_with('#') {
            rest = rest.find('\n').map_or("", |i| &rest[i + 1..]);
        } else {
            break;
        }
    }
    let prefix_len = rest.bytes().take_while(|b| matches!(b, b'r' | b'R' | b'u' | b'U')).count();
    let literal = &rest[prefix_len..];
    let delimiter = ["\"\"\"", "'''", "\"", "'"].into_iter().find(|d| literal.starts_with(d))?;
    let inner = &literal[delimiter.len()..];
    let end = inner.find(delimiter)?;
    let doc = inner[..end].trim();
    (!doc.is_empty()).then_some(doc)
}

/// Whether `path` (relative, `/`-separated) looks like test code: a file under a `tests` or
/// `testing` directory, or named `test_*.py`, `*_test.py`, `*_tests.py`, `tests.py` or
/// `conftest.py`. A `test` directory alone does not count: in frameworks it is often the test
/// *support* library (`django/test/`), which is what a question about testing wants.
pub fn is_test_path(path: &str) -> bool {
    let mut components = path.rsplit('/');
    let file = components.next().unwrap_or("");
    let stem = file.strip_suffix(".py").unwrap_or(file);
    components.any(|dir| dir == "tests" || dir == "testing")
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem == "tests"
        || stem == "conftest"
}

/// `range` clamped to `text` and moved onto char boundaries.
fn clamp(text: &str, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let end = floor_char_boundary(text, range.end.min(text.len()));
    let start = floor_char_boundary(text, range.start.min(end));
    start..end
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn capped(text: &str, cap: usize) -> &str {
    &text[..floor_char_boundary(text, cap)]
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::syntax::{LanguageId, Languages, ParseBudget, parse_text};

    fn chunks(text: &str) -> Vec<Chunk> {
        let languages = Languages::embedded();
        let lang = languages.get(LanguageId::Python);
        let tree = parse_text(lang, text, None, ParseBudget::default()).unwrap();
        let summary = FileSummary::build(lang, &tree, text);
        chunks_for_file("pkg/auth.py", "pkg.auth", &summary, text)
    }

    #[track_caller]
    fn check(text: &str, expect: Expect) {
        let rendered: Vec<String> = chunks(text)
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}-{} doc={:?}\n{}\n---",
                    c.kind.as_str(),
                    c.qualified_name,
                    c.start_line,
                    c.end_line,
                    c.doc,
                    c.body
                )
            })
            .collect();
        expect.assert_eq(&rendered.join("\n"));
    }

    #[test]
    fn classes_keep_method_signatures_and_methods_keep_their_bodies() {
        check(
            r#""""Authentication helpers."""
import hashlib

SALT = "x"


class Hasher(Base):
    """Hashes things."""
    rounds = 10

    @property
    def name(self) -> str:
        return "h"

    def encode(self, password, salt=":"):
        """Encode a password."""
        return hashlib.sha256(password).hexdigest()

    class Meta:
        abstract = True


def helper(x):
    def inner():
        return x
    return inner
"#,
            expect![[r#"
                module pkg.auth 1-26 doc=Some("Authentication helpers.")
                """Authentication helpers."""
                import hashlib

                SALT = "x"


                class Hasher(Base):


                def helper(x):

                ---
                class pkg.auth.Hasher 7-20 doc=Some("Hashes things.")
                class Hasher(Base):
                    """Hashes things."""
                    rounds = 10

                    @property
                    def name(self) -> str:

                    def encode(self, password, salt=":"):

                    class Meta:
                ---
                method pkg.auth.Hasher.name 11-13 doc=None
                @property
                    def name(self) -> str:
                        return "h"
                ---
                method pkg.auth.Hasher.encode 15-17 doc=Some("Encode a password.")
                def encode(self, password, salt=":"):
                        """Encode a password."""
                        return hashlib.sha256(password).hexdigest()
                ---
                class pkg.auth.Hasher.Meta 19-20 doc=None
                class Meta:
                        abstract = True
                ---
                function pkg.auth.helper 23-26 doc=None
                def helper(x):
                    def inner():
                        return x
                    return inner
                ---"#]],
        );
    }

    #[test]
    fn headers_with_colons_in_annotations_and_strings() {
        let text = "class A:\n    def f(self, x: dict[str, int] = {'a:b': 1}) -> 'T:':  # note: here\n        return x\n";
        let chunks = chunks(text);
        assert_eq!(chunks[1].body, "class A:\n    def f(self, x: dict[str, int] = {'a:b': 1}) -> 'T:':");
    }

    #[test]
    fn functions_in_control_flow_and_broken_code_still_chunk() {
        let text = "if True:\n    def f():\n        pass\ndef g(:\n    pass\n";
        let chunks = chunks(text);
        let names: Vec<_> = chunks.iter().map(|c| (c.kind, c.name.as_str())).collect();
        assert_eq!(names[0], (ChunkKind::Module, "auth"));
        assert!(names.contains(&(ChunkKind::Function, "f")), "{names:?}");
    }

    #[test]
    fn empty_file_has_one_module_chunk() {
        let chunks = chunks("");
        assert_eq!(chunks.len(), 1);
        assert_eq!((chunks[0].start_line, chunks[0].end_line, chunks[0].end_byte), (1, 1, 0));
        assert_eq!(chunks[0].body, "");
    }

    #[test]
    fn big_bodies_are_capped_on_char_boundaries() {
        let body = "    x = 'ü'\n".repeat(MAX_CHUNK_BYTES / 8);
        let text = format!("def big():\n{body}");
        let chunks = chunks(&text);
        let big = &chunks[1];
        assert!(big.body.len() <= MAX_CHUNK_BYTES && big.body.len() > MAX_CHUNK_BYTES - 4);
        assert_eq!(big.end_byte as usize, text.trim_end().len());
        assert!(chunks[0].body.len() <= MAX_MODULE_CHUNK_BYTES);
    }

    #[test]
    fn test_paths() {
        for path in [
            "tests/auth/models.py",
            "pkg/testing/util.py",
            "a/test_x.py",
            "x_test.py",
            "pkg/tests.py",
            "conftest.py",
        ] {
            assert!(is_test_path(path), "{path}");
        }
        for path in ["django/test/utils.py", "pkg/attestation.py", "contest.py", "testimony/x.py"] {
            assert!(!is_test_path(path), "{path}");
        }
    }

    #[test]
    fn module_docstrings() {
        assert_eq!(module_docstring("#!/usr/bin/env python\n# c\n\nr'''Doc'''\nx = 1"), Some("Doc"));
        assert_eq!(module_docstring("x = 'not a doc'"), None);
        assert_eq!(module_docstring("\"unterminated"), None);
    }
}
