//! A flat line table for text that is not open in an editor: byte offset ↔ wide line/column.
//!
//! Indexed files keep only this (not their text), so a workspace-wide answer can carry editor
//! positions without rereading files. The layout follows rust-analyzer's `LineIndex`: line starts
//! plus, for the few lines that are not ASCII, the multi-byte characters on them.

use rustc_hash::FxHashMap;

use super::{LineCol, PositionEncoding};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineIndex {
    /// Byte offset at which each line starts; `line_starts[0] == 0`.
    line_starts: Vec<u32>,
    /// Length of each line's terminator: 0 (last line), 1 (`\n` or `\r`) or 2 (`\r\n`).
    terminator_lens: Vec<u8>,
    /// Non-ASCII characters of each line that has any, in order.
    wide_chars: FxHashMap<u32, Box<[WideChar]>>,
    len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct WideChar {
    /// Byte offset of the character from the start of its line.
    start: u32,
    ch: char,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0u32];
        let mut terminator_lens = Vec::new();
        let mut wide_chars = FxHashMap::default();
        let mut line_start = 0usize;
        let mut pos = 0usize;
        loop {
            let brk = memchr::memchr2(b'\n', b'\r', &bytes[pos..]).map(|i| pos + i);
            let content_end = brk.unwrap_or(bytes.len());
            let line = &text[line_start..content_end];
            if !line.is_ascii() {
                let chars: Box<[WideChar]> = line
                    .char_indices()
                    .filter(|(_, c)| !c.is_ascii())
                    .map(|(i, ch)| WideChar { start: i as u32, ch })
                    .collect();
                wide_chars.insert((line_starts.len() - 1) as u32, chars);
            }
            let Some(brk) = brk else { break };
            let term = if bytes[brk] == b'\r' && bytes.get(brk + 1) == Some(&b'\n') { 2 } else { 1 };
            terminator_lens.push(term);
            line_start = brk + term as usize;
            line_starts.push(line_start as u32);
            pos = line_start;
        }
        terminator_lens.push(0);
        LineIndex { line_starts, terminator_lens, wide_chars, len: text.len() as u32 }
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn line_count(&self) -> u32 {
        self.line_starts.len() as u32
    }

    /// Zero-based line containing `offset` (clamped to the text).
    pub fn line_of(&self, offset: u32) -> u32 {
        let offset = offset.min(self.len);
        (self.line_starts.partition_point(|&s| s <= offset) - 1) as u32
    }

    /// Byte range of a line's content, without its terminator.
    pub fn line_range(&self, line: u32) -> std::ops::Range<u32> {
        let line = (line as usize).min(self.line_starts.len() - 1);
        let start = self.line_starts[line];
        let end = match self.line_starts.get(line + 1) {
            Some(&next) => next - self.terminator_lens[line] as u32,
            None => self.len,
        };
        start..end
    }

    /// The editor position of `offset`. An offset past the end, inside a line terminator or
    /// inside a multi-byte character moves back to the nearest position that exists.
    pub fn position(&self, offset: u32, encoding: PositionEncoding) -> LineCol {
        let line = self.line_of(offset);
        let range = self.line_range(line);
        let in_line = offset.clamp(range.start, range.end) - range.start;
        let mut col = in_line;
        for wc in self.wide_chars(line) {
            let char_end = wc.start + wc.ch.len_utf8() as u32;
            if in_line < char_end {
                if in_line > wc.start {
                    // Mid-character: floor to the character's start.
                    col -= in_line - wc.start;
                }
                break;
            }
            col -= wc.ch.len_utf8() as u32 - encoding.char_len(wc.ch);
        }
        LineCol { line, col }
    }

    /// The byte offset of an editor position. A line past the end means the end of the text; a
    /// column past the end of its line means the end of that line; a column inside a character
    /// (half a surrogate pair, a UTF-8 continuation byte) means the start of that character.
    pub fn offset(&self, pos: LineCol, encoding: PositionEncoding) -> u32 {
        if pos.line as usize >= self.line_starts.len() {
            return self.len;
        }
        let range = self.line_range(pos.line);
        let mut extra = 0u32; // bytes minus units for the wide chars passed so far
        for wc in self.wide_chars(pos.line) {
            let units_start = wc.start - extra;
            let units = encoding.char_len(wc.ch);
            if pos.col <= units_start {
                break;
            }
            if pos.col < units_start + units {
                return range.start + wc.start;
            }
            extra += wc.ch.len_utf8() as u32 - units;
        }
        range.start + (pos.col.saturating_add(extra)).min(range.end - range.start)
    }

    fn wide_chars(&self, line: u32) -> &[WideChar] {
        self.wide_chars.get(&line).map_or(&[], |it| it)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::*;

    #[track_caller]
    fn check_round_trip(text: &str, offset: u32, enc: PositionEncoding, expected: (u32, u32)) {
        let index = LineIndex::new(text);
        let pos = index.position(offset, enc);
        assert_eq!((pos.line, pos.col), expected, "position of {offset} in {text:?} ({enc:?})");
        assert_eq!(index.offset(pos, enc), offset, "offset of {pos:?} in {text:?} ({enc:?})");
    }

    #[test]
    fn astral_characters_in_every_encoding() {
        // "a𝔘b": 𝔘 is 4 bytes, 2 UTF-16 units, 1 UTF-32 unit.
        let text = "a𝔘b\n😀x";
        check_round_trip(text, 5, Utf8, (0, 5));
        check_round_trip(text, 5, Utf16, (0, 3));
        check_round_trip(text, 5, Utf32, (0, 2));
        check_round_trip(text, 11, Utf16, (1, 2));
        check_round_trip(text, 11, Utf32, (1, 1));
    }

    #[test]
    fn line_breaks_are_lf_crlf_and_lone_cr() {
        let text = "a\r\nb\rc\nd";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 4);
        assert_eq!(index.position(3, Utf16), LineCol::new(1, 0));
        assert_eq!(index.position(5, Utf16), LineCol::new(2, 0));
        assert_eq!(index.position(7, Utf16), LineCol::new(3, 0));
        // Between `\r` and `\n` is not a position: it moves back to the end of the content.
        assert_eq!(index.position(2, Utf16), LineCol::new(0, 1));
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let text = "ab\n𝔘";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(LineCol::new(0, 99), Utf16), 2);
        assert_eq!(index.offset(LineCol::new(9, 0), Utf16), text.len() as u32);
        // Half a surrogate pair floors to the character's start.
        assert_eq!(index.offset(LineCol::new(1, 1), Utf16), 3);
        // A UTF-8 column inside the character floors too.
        assert_eq!(index.offset(LineCol::new(1, 2), Utf8), 3);
        assert_eq!(index.position(5, Utf8), LineCol::new(1, 0));
        assert_eq!(index.position(999, Utf32), LineCol::new(1, 1));
    }
}
