//! Plain position types shared by the engine: byte ranges, wide line/column pairs, encodings.

use std::fmt;

/// The unit in which an editor counts columns, negotiated at `initialize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PositionEncoding {
    Utf8,
    /// The LSP default, and what most editors still use.
    #[default]
    Utf16,
    Utf32,
}

impl PositionEncoding {
    /// Columns one `char` occupies in this encoding.
    #[inline]
    pub fn char_len(self, c: char) -> u32 {
        match self {
            PositionEncoding::Utf8 => c.len_utf8() as u32,
            PositionEncoding::Utf16 => c.len_utf16() as u32,
            PositionEncoding::Utf32 => 1,
        }
    }
}

/// A zero-based line and a column counted in some [`PositionEncoding`]'s units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

impl LineCol {
    pub const fn new(line: u32, col: u32) -> LineCol {
        LineCol { line, col }
    }
}

/// A half-open range of [`LineCol`]s, as editors send them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct WideRange {
    pub start: LineCol,
    pub end: LineCol,
}

/// A half-open range of UTF-8 byte offsets.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct TextRange {
    pub start: u32,
    pub end: u32,
}

impl TextRange {
    pub fn new(start: u32, end: u32) -> TextRange {
        debug_assert!(start <= end, "inverted range {start}..{end}");
        TextRange { start, end: end.max(start) }
    }

    pub fn from_usize(range: std::ops::Range<usize>) -> TextRange {
        TextRange::new(range.start as u32, range.end as u32)
    }

    pub fn len(self) -> u32 {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn contains_range(self, other: TextRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub fn contains(self, offset: u32) -> bool {
        self.start <= offset && offset < self.end
    }

    pub fn as_usize(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl fmt::Debug for TextRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}
