//! A fast outline of Python definitions, for the first answer after start-up.
//!
//! Parsing a Django-sized tree with tree-sitter takes over a second; an editor's symbol picker
//! should not wait that long. This scanner reads each logical line once (tracking strings,
//! comments, brackets and indentation) and yields the definitions `grammars/python/tags.scm`
//! yields — the same names, kinds, name ranges and nesting — at ctags speed. It is an
//! accelerator, not a second source of truth: the full tree-sitter pass replaces its results file
//! by file, it is used only with the embedded `tags.scm` (a workspace that overrides the query
//! gets no outline), and a test checks it against the query on a corpus of tricky code.
//! Full extents (`range`) are approximate here; names and name ranges are exact.

use super::{LanguageId, Symbol, SymbolKind};
use crate::text::TextRange;

/// Definitions of `text`, or `None` for languages without a quick outline.
pub fn quick_outline(language: LanguageId, text: &str) -> Option<Vec<Symbol>> {
    match language {
        LanguageId::Python => Some(PythonOutline::new(text).run()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    /// A class body; holds the symbol index.
    Class(u32),
    /// A function body; holds the symbol index.
    Function(u32),
    /// `if`, `for`, `try`, `with`, … bodies.
    Other,
}

struct Block {
    indent: u32,
    kind: BlockKind,
}

/// One logical line, as far as the outline cares.
struct LogicalLine {
    indent: u32,
    /// Byte offset of the first token.
    start: usize,
    /// End of the last significant token (comments and trailing space excluded).
    end: usize,
    /// Byte offset of the first `=` at bracket depth 0 that is a plain assignment.
    assign_at: Option<usize>,
    /// The last significant character at depth 0 is `:` (a compound statement header).
    opens_block: bool,
    /// For a compound statement, its header's `:`; what follows on the line is its inline body.
    header_colon: Option<usize>,
}

struct PythonOutline<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    symbols: Vec<Symbol>,
    blocks: Vec<Block>,
    /// End of the last logical line seen inside each open def/class, to close its range.
    last_end: usize,
    /// After a `;`, the next statement continues the same line at this indentation.
    pending_indent: Option<u32>,
}

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
    "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is",
    "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

impl<'a> PythonOutline<'a> {
    fn new(text: &'a str) -> PythonOutline<'a> {
        PythonOutline {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            symbols: Vec::new(),
            blocks: Vec::new(),
            last_end: 0,
            pending_indent: None,
        }
    }

    fn run(mut self) -> Vec<Symbol> {
        while self.pos < self.bytes.len() {
            let Some(line) = self.next_logical_line() else { continue };
            self.close_blocks(line.indent);
            self.classify(&line);
            self.last_end = line.end;
        }
        self.close_blocks(0);
        // The tags runner orders symbols outer-first by start; keep the same order.
        let mut order: Vec<usize> = (0..self.symbols.len()).collect();
        order.sort_by_key(|&i| {
            let s = &self.symbols[i];
            (s.range.start, std::cmp::Reverse(s.range.end), s.name_range.start)
        });
        let mut new_index = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new as u32;
        }
        let mut sorted: Vec<Symbol> = order.iter().map(|&i| self.symbols[i].clone()).collect();
        for symbol in &mut sorted {
            symbol.parent = symbol.parent.map(|p| new_index[p as usize]);
        }
        sorted
    }

    /// Pops blocks that a line at `indent` is no longer inside, closing their ranges.
    fn close_blocks(&mut self, indent: u32) {
        while let Some(top) = self.blocks.last() {
            if top.indent < indent {
                break;
            }
            if let BlockKind::Class(i) | BlockKind::Function(i) = top.kind {
                let symbol = &mut self.symbols[i as usize];
                symbol.range.end = symbol.range.end.max(self.last_end as u32);
            }
            self.blocks.pop();
        }
    }

    fn enclosing_symbol(&self) -> Option<u32> {
        self.blocks.iter().rev().find_map(|b| match b.kind {
            BlockKind::Class(i) | BlockKind::Function(i) => Some(i),
            BlockKind::Other => None,
        })
    }

    fn classify(&mut self, line: &LogicalLine) {
        let directly_in = self.blocks.last().map(|b| b.kind);
        let (first, after_first) = self.identifier_at(line.start);
        let (keyword, after_keyword) = match first {
            "async" => {
                let (next, after) = self.identifier_at(self.skip_space(after_first));
                (next, after)
            }
            _ => (first, after_first),
        };
        if keyword == "def" || keyword == "class" {
            let name_start = self.skip_space(after_keyword);
            let (name, name_end) = self.identifier_at(name_start);
            if name.is_empty() || !self.is_identifier(name) {
                return self.push_block_if(line, BlockKind::Other);
            }
            let parent = self.enclosing_symbol();
            // The same rule as the full summary's, so that the two agree.
            let kind = if keyword == "class" { SymbolKind::Class } else { SymbolKind::Function }
                .nested_in(parent.map(|p| self.symbols[p as usize].kind));
            let index = self.symbols.len() as u32;
            self.symbols.push(Symbol {
                name: name.into(),
                kind,
                // `async def` starts at `async`, as tree-sitter's node does.
                range: TextRange::new(line.start as u32, line.end as u32),
                name_range: TextRange::new(name_start as u32, name_end as u32),
                parent,
                doc: None,
            });
            let block =
                if kind == SymbolKind::Class { BlockKind::Class(index) } else { BlockKind::Function(index) };
            if let (SymbolKind::Class, Some(colon)) = (kind, line.header_colon) {
                // `class D(Base): x = 1; y = 2` binds fields on the header's own line.
                self.blocks.push(Block { indent: line.indent, kind: block });
                for statement in self.inline_statements(colon + 1, line.end) {
                    self.classify_simple(&statement, Some(block));
                }
                return;
            }
            return self.push_block_if(line, block);
        }
        if line.header_colon.is_none() {
            self.classify_simple(line, directly_in);
        }
        self.push_block_if(line, BlockKind::Other);
    }

    /// Assignments of a simple statement directly inside `directly_in` (`None`: the module).
    fn classify_simple(&mut self, line: &LogicalLine, directly_in: Option<BlockKind>) {
        let (first, after_first) = self.identifier_at(line.start);
        // `name: T` declares without assigning; treat the end of the line as the `=`.
        let assign_at = line.assign_at.or_else(|| {
            let after = self.skip_space(after_first);
            let annotated = !first.is_empty() && self.bytes.get(after) == Some(&b':') && !line.opens_block;
            annotated.then_some(line.end)
        });
        let Some(assign_at) = assign_at else { return };
        let kind = match directly_in {
            None => None, // module level: constant or variable, by the name
            Some(BlockKind::Class(_)) => Some(SymbolKind::Field),
            _ => return,
        };
        self.assignment_targets(line, assign_at, kind);
    }

    /// The `;`-separated simple statements between `from` and `to` on one line.
    fn inline_statements(&self, from: usize, to: usize) -> Vec<LogicalLine> {
        let bytes = self.bytes;
        let mut out = Vec::new();
        let mut i = self.skip_space(from);
        let mut start = i;
        let mut depth = 0u32;
        let mut assign_at = None;
        let mut end = i;
        while i < to {
            match bytes[i] {
                b'\'' | b'"' => {
                    i = skip_string(bytes, i);
                    end = i;
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b';' if depth == 0 => {
                    out.push(simple_line(start, end, assign_at));
                    i = self.skip_space(i + 1);
                    (start, end, assign_at) = (i, i, None);
                    continue;
                }
                b'=' if depth == 0 && assign_at.is_none() && is_plain_assign(bytes, start, i) => {
                    assign_at = Some(i)
                }
                b' ' | b'\t' => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            i += 1;
            end = i;
        }
        if end > start {
            out.push(simple_line(start, end, assign_at));
        }
        out
    }

    fn push_block_if(&mut self, line: &LogicalLine, kind: BlockKind) {
        if line.opens_block || !matches!(kind, BlockKind::Other) {
            self.blocks.push(Block { indent: line.indent, kind });
        }
    }

    /// Names bound by `a = …`, `a: T = …`, `a: T`, `a, b = …` (identifiers only, as the query).
    fn assignment_targets(&mut self, line: &LogicalLine, assign_at: usize, kind: Option<SymbolKind>) {
        let targets = &self.text[line.start..assign_at];
        // An annotation (`name: T`) follows a single identifier.
        let targets = match find_top_level(targets, b':') {
            Some(colon) => &targets[..colon],
            None => targets,
        };
        let parts: Vec<(usize, &str)> = split_top_level_commas(targets);
        let tuple = parts.len() > 1;
        if tuple && find_top_level(&self.text[line.start..assign_at], b':').is_some() {
            return; // `a, b: T` is not an assignment
        }
        for (offset, part) in parts {
            let trimmed_start = part.len() - part.trim_start().len();
            let name = part.trim();
            if name.is_empty() || !self.is_identifier(name) {
                continue;
            }
            let start = line.start + offset + trimmed_start;
            let kind = kind.unwrap_or_else(|| {
                if is_constant_name(name) { SymbolKind::Constant } else { SymbolKind::Variable }
            });
            self.symbols.push(Symbol {
                name: name.into(),
                kind,
                range: TextRange::new(line.start as u32, line.end as u32),
                name_range: TextRange::new(start as u32, (start + name.len()) as u32),
                parent: self.enclosing_symbol(),
                doc: None,
            });
        }
    }

    fn starts_compound(&self, start: usize) -> bool {
        const COMPOUND: &[&str] = &[
            "if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def", "class", "async",
        ];
        let (word, _) = self.identifier_at(start);
        COMPOUND.contains(&word)
    }

    fn is_identifier(&self, name: &str) -> bool {
        let mut chars = name.chars();
        let first_ok = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic());
        first_ok && chars.all(|c| c == '_' || c.is_alphanumeric()) && !KEYWORDS.contains(&name)
    }

    fn identifier_at(&self, at: usize) -> (&'a str, usize) {
        let mut end = at;
        while end < self.bytes.len() {
            let b = self.bytes[end];
            if b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80 {
                end += 1;
            } else {
                break;
            }
        }
        // Non-ASCII bytes are taken whole, so `end` is on a character boundary.
        (&self.text[at..end], end)
    }

    fn skip_space(&self, mut at: usize) -> usize {
        while at < self.bytes.len() && matches!(self.bytes[at], b' ' | b'\t' | b'\x0c') {
            at += 1;
        }
        at
    }

    /// Reads one logical line from `self.pos`. `None` for blank and comment-only lines.
    fn next_logical_line(&mut self) -> Option<LogicalLine> {
        let bytes = self.bytes;
        let mut indent = 0u32;
        let mut i = self.pos;
        while i < bytes.len() {
            match bytes[i] {
                b' ' => indent += 1,
                b'\t' => indent = (indent / 8 + 1) * 8,
                b'\x0c' => indent = 0,
                _ => break,
            }
            i += 1;
        }
        if let Some(same_line) = self.pending_indent.take() {
            indent = same_line;
            if i < bytes.len() && matches!(bytes[i], b'\n' | b'\r' | b'#') {
                self.pos = skip_past_newline(bytes, i);
                return None;
            }
        }
        if i >= bytes.len() {
            self.pos = bytes.len();
            return None;
        }
        match bytes[i] {
            b'\n' | b'\r' | b'#' => {
                self.pos = skip_past_newline(bytes, skip_comment(bytes, i));
                return None;
            }
            b'\\' if matches!(bytes.get(i + 1), Some(b'\n' | b'\r')) => {
                self.pos = skip_past_newline(bytes, i + 1);
                return None;
            }
            _ => {}
        }
        let start = i;
        let mut depth = 0u32;
        let mut end = start;
        let mut assign_at = None;
        let mut last_significant = 0u8;
        let compound = self.starts_compound(start);
        let mut header_colon = None;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'\n' | b'\r' if depth == 0 => {
                    self.pos = skip_past_newline(bytes, i);
                    let opens_block = last_significant == b':';
                    return Some(LogicalLine { indent, start, end, assign_at, opens_block, header_colon });
                }
                b'\n' | b'\r' => i += 1,
                b'#' => i = skip_comment(bytes, i),
                b'\\' => {
                    // A continuation joins the next physical line; elsewhere a stray byte.
                    i += 1;
                    if i < bytes.len() && bytes[i] == b'\r' {
                        i += 1;
                    }
                    if i < bytes.len() && bytes[i] == b'\n' {
                        i += 1;
                    }
                }
                b'\'' | b'"' => {
                    i = skip_string(bytes, i);
                    end = i;
                    last_significant = b'"';
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    i += 1;
                    end = i;
                    last_significant = b;
                }
                b')' | b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    i += 1;
                    end = i;
                    last_significant = b;
                }
                b' ' | b'\t' | b'\x0c' => i += 1,
                b';' if depth == 0 && !compound => {
                    // `a = 1; b = 2`: two statements at the same indentation. (After a compound
                    // header, `if x: a = 1; b = 2`, the rest is that header's inline body.)
                    self.pos = i + 1;
                    self.pending_indent = Some(indent);
                    return Some(LogicalLine {
                        indent,
                        start,
                        end,
                        assign_at,
                        opens_block: false,
                        header_colon,
                    });
                }
                b':' if depth == 0
                    && header_colon.is_none()
                    && compound
                    && bytes.get(i + 1) != Some(&b'=') =>
                {
                    header_colon = Some(i);
                    i += 1;
                    end = i;
                    last_significant = b':';
                }
                b'=' => {
                    let next = bytes.get(i + 1).copied().unwrap_or(0);
                    if depth == 0 && assign_at.is_none() && is_plain_assign(bytes, start, i) {
                        assign_at = Some(i);
                    }
                    i += if next == b'=' { 2 } else { 1 };
                    end = i;
                    last_significant = b'=';
                }
                _ => {
                    i += 1;
                    end = i;
                    last_significant = b;
                }
            }
        }
        self.pos = bytes.len();
        let opens_block = last_significant == b':';
        Some(LogicalLine { indent, start, end, assign_at, opens_block, header_colon })
    }
}

fn simple_line(start: usize, end: usize, assign_at: Option<usize>) -> LogicalLine {
    LogicalLine { indent: 0, start, end, assign_at, opens_block: false, header_colon: None }
}

/// Whether the `=` at `i` assigns, rather than being part of `==`, `!=`, `<=`, `+=`, `:=`, ….
fn is_plain_assign(bytes: &[u8], line_start: usize, i: usize) -> bool {
    let prev = if i > line_start { bytes[i - 1] } else { 0 };
    let next = bytes.get(i + 1).copied().unwrap_or(0);
    !matches!(
        prev,
        b'=' | b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'^' | b':'
    ) && next != b'='
}

fn skip_comment(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
        i += 1;
    }
    i
}

fn skip_past_newline(bytes: &[u8], mut i: usize) -> usize {
    i = skip_comment(bytes, i);
    if i < bytes.len() && bytes[i] == b'\r' {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'\n' {
        i += 1;
    }
    i
}

/// Skips a string literal starting at the quote at `i`; returns the offset after it. An
/// unterminated single-quoted string ends at the line end, as the tokenizer would give up.
fn skip_string(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let triple = bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote);
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < bytes.len() {
        let b = bytes[j];
        if b == b'\\' {
            // Even in raw strings a backslash keeps the next quote from closing the string.
            j += 2;
            continue;
        }
        if b == quote {
            if !triple {
                return j + 1;
            }
            if bytes.get(j + 1) == Some(&quote) && bytes.get(j + 2) == Some(&quote) {
                return j + 3;
            }
        } else if !triple && (b == b'\n' || b == b'\r') {
            return j;
        }
        j += 1;
    }
    bytes.len()
}

fn find_top_level(s: &str, wanted: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'\'' | b'"' => {
                i = skip_string(bytes, i);
                continue;
            }
            b if b == wanted && depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn split_top_level_commas(s: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let mut rest = s;
    let mut offset = 0;
    while let Some(comma) = find_top_level(rest, b',') {
        parts.push((offset, &rest[..comma]));
        offset += comma + 1;
        rest = &rest[comma + 1..];
    }
    if !rest.trim().is_empty() || parts.is_empty() {
        parts.push((offset, rest));
    }
    parts
}

fn is_constant_name(name: &str) -> bool {
    let trimmed = name.trim_start_matches('_');
    let mut chars = trimmed.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}
