//! An open document: a rope that takes the editor's edits in order.
//!
//! Edits arrive as [`ContentChange`]s in the negotiated encoding; each is converted against the
//! text as it stands after the previous one (LSP's rule), applied to the rope, and reported back
//! as an [`Edit`] in bytes and in `\n`-counted points, which is exactly what tree-sitter's
//! `InputEdit` needs. Ropes clone in O(1), so a snapshot of a document costs nothing.

use ropey::Rope;

use super::{LineCol, PositionEncoding, WideRange};

#[derive(Clone, Debug)]
pub struct Document {
    rope: Rope,
    version: i32,
    /// Whether some `\r` is not followed by `\n`. Such a file has more LSP lines than
    /// tree-sitter rows, so its points must be counted by hand.
    has_lone_cr: bool,
}

/// One change from the editor: a range in editor units, or `None` for the whole document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentChange {
    pub range: Option<WideRange>,
    pub text: String,
}

/// Row and byte column, where rows are separated by `\n` only (tree-sitter's `Point`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NewlinePoint {
    pub row: usize,
    pub column: usize,
}

/// One applied change, in byte offsets and newline points of the text before and after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
    pub start_point: NewlinePoint,
    pub old_end_point: NewlinePoint,
    pub new_end_point: NewlinePoint,
}

impl Document {
    pub fn new(text: &str, version: i32) -> Document {
        let rope = Rope::from_str(text);
        let has_lone_cr = rope_has_lone_cr(&rope);
        Document { rope, version, has_lone_cr }
    }

    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    pub fn len(&self) -> usize {
        self.rope.len_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.rope.len_bytes() == 0
    }

    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    /// Applies the changes of one `didChange` in order and returns what each did.
    pub fn apply_changes(
        &mut self,
        changes: &[ContentChange],
        version: i32,
        encoding: PositionEncoding,
    ) -> Vec<Edit> {
        let mut edits = Vec::with_capacity(changes.len());
        for change in changes {
            let (start, old_end) = match change.range {
                None => (0, self.len()),
                Some(range) => {
                    let a = self.offset(range.start, encoding);
                    let b = self.offset(range.end, encoding);
                    (a.min(b), a.max(b))
                }
            };
            let start_point = self.newline_point(start);
            let old_end_point = self.newline_point(old_end);
            if change.range.is_none() {
                self.rope = Rope::from_str(&change.text);
            } else {
                let start_char = self.rope.byte_to_char(start);
                let end_char = self.rope.byte_to_char(old_end);
                self.rope.remove(start_char..end_char);
                self.rope.insert(start_char, &change.text);
            }
            self.has_lone_cr = rope_has_lone_cr(&self.rope);
            edits.push(Edit {
                start,
                old_end,
                new_end: start + change.text.len(),
                start_point,
                old_end_point,
                new_end_point: advance_point(start_point, &change.text),
            });
        }
        self.version = version;
        edits
    }

    /// Byte offset of an editor position, clamped the same way as [`super::LineIndex::offset`].
    pub fn offset(&self, pos: LineCol, encoding: PositionEncoding) -> usize {
        let line = pos.line as usize;
        if line >= self.rope.len_lines() {
            return self.rope.len_bytes();
        }
        let mut units = 0u32;
        let mut bytes = 0usize;
        for ch in self.rope.line(line).chars() {
            if ch == '\n' || ch == '\r' || units >= pos.col {
                break;
            }
            let len = encoding.char_len(ch);
            if units + len > pos.col {
                break; // mid-character: stay at its start
            }
            units += len;
            bytes += ch.len_utf8();
        }
        self.rope.line_to_byte(line) + bytes
    }

    /// Editor position of a byte offset, clamped the same way as [`super::LineIndex::position`].
    pub fn position(&self, offset: usize, encoding: PositionEncoding) -> LineCol {
        let char_idx = self.rope.byte_to_char(offset.min(self.rope.len_bytes()));
        let line = self.rope.char_to_line(char_idx);
        let mut col = 0u32;
        for ch in self.rope.slice(self.rope.line_to_char(line)..char_idx).chars() {
            if ch == '\n' || ch == '\r' {
                break;
            }
            col += encoding.char_len(ch);
        }
        LineCol { line: line as u32, col }
    }

    /// tree-sitter's point for a byte offset: rows counted by `\n` only, columns in bytes.
    pub fn newline_point(&self, offset: usize) -> NewlinePoint {
        let offset = offset.min(self.rope.len_bytes());
        if !self.has_lone_cr {
            // Without lone `\r`, the rope's lines are exactly the `\n`-separated rows.
            let row = self.rope.byte_to_line(offset);
            return NewlinePoint { row, column: offset - self.rope.line_to_byte(row) };
        }
        let mut row = 0;
        let mut row_start = 0;
        let mut chunk_start = 0;
        for chunk in self.rope.byte_slice(..offset).chunks() {
            for i in memchr::memchr_iter(b'\n', chunk.as_bytes()) {
                row += 1;
                row_start = chunk_start + i + 1;
            }
            chunk_start += chunk.len();
        }
        NewlinePoint { row, column: offset - row_start }
    }
}

fn advance_point(start: NewlinePoint, inserted: &str) -> NewlinePoint {
    match memchr::memrchr(b'\n', inserted.as_bytes()) {
        None => NewlinePoint { row: start.row, column: start.column + inserted.len() },
        Some(last) => NewlinePoint {
            row: start.row + memchr::memchr_iter(b'\n', inserted.as_bytes()).count(),
            column: inserted.len() - last - 1,
        },
    }
}

fn rope_has_lone_cr(rope: &Rope) -> bool {
    let mut prev_cr = false;
    for chunk in rope.chunks() {
        let bytes = chunk.as_bytes();
        if prev_cr && bytes.first() != Some(&b'\n') && !bytes.is_empty() {
            return true;
        }
        for i in memchr::memchr_iter(b'\r', bytes) {
            match bytes.get(i + 1) {
                Some(b'\n') => {}
                Some(_) => return true,
                None => {}
            }
        }
        if !bytes.is_empty() {
            prev_cr = bytes.last() == Some(&b'\r');
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::*;

    fn change(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> ContentChange {
        ContentChange {
            range: Some(WideRange { start: LineCol::new(sl, sc), end: LineCol::new(el, ec) }),
            text: text.to_owned(),
        }
    }

    #[test]
    fn edits_apply_in_order_against_the_evolving_text() {
        let mut doc = Document::new("def f():\n    pass\n", 1);
        let edits = doc.apply_changes(
            &[change(0, 4, 0, 5, "g"), change(1, 4, 1, 8, "return 1\n    # 😀"), change(2, 6, 2, 8, "x")],
            2,
            Utf16,
        );
        assert_eq!(doc.text(), "def g():\n    return 1\n    # x\n");
        assert_eq!(doc.version(), 2);
        assert_eq!(edits[1].new_end_point, NewlinePoint { row: 2, column: 10 });
    }

    #[test]
    fn lone_cr_counts_as_an_lsp_line_but_not_a_tree_sitter_row() {
        let doc = Document::new("a\rb\r\nc", 0);
        assert_eq!(doc.position(2, Utf16), LineCol::new(1, 0));
        assert_eq!(doc.newline_point(2), NewlinePoint { row: 0, column: 2 });
        assert_eq!(doc.newline_point(5), NewlinePoint { row: 1, column: 0 });
        assert_eq!(doc.offset(LineCol::new(2, 0), Utf16), 5);
    }

    #[test]
    fn out_of_range_and_mid_character_positions_clamp() {
        let mut doc = Document::new("x𝔘\n", 0);
        assert_eq!(doc.offset(LineCol::new(0, 2), Utf16), 1);
        assert_eq!(doc.offset(LineCol::new(0, 99), Utf16), 5);
        assert_eq!(doc.offset(LineCol::new(99, 99), Utf8), 6);
        assert_eq!(doc.position(3, Utf8), LineCol::new(0, 1));
        doc.apply_changes(&[change(7, 0, 0, 1, "y")], 1, Utf32);
        assert_eq!(doc.text(), "xy");
    }
}
