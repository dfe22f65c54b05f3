//! Text and positions: the one place that knows how a position in an editor maps to a byte.
//!
//! Inside the engine every position is a UTF-8 byte offset into the document's *original* text
//! (line breaks are not normalized; `\n`, `\r\n` and a lone `\r` all end a line, as in LSP).
//! Editors speak in lines and columns counted in UTF-8, UTF-16 or UTF-32 units; [`LineCol`] is
//! that shape, and the conversions here clamp anything out of range or mid-character instead of
//! failing. Open documents are ropes ([`Document`]); indexed files keep only a [`LineIndex`].

mod document;
mod encoding;
mod line_index;

pub use document::{ContentChange, Document, Edit, NewlinePoint};
pub use encoding::{LineCol, PositionEncoding, TextRange, WideRange};
pub use line_index::LineIndex;
