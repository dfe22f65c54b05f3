//! Keeping a document's tags and imports current after an edit without re-running the queries
//! over the whole tree.
//!
//! After an edit we know which spans of the new text changed: the edits themselves and the
//! ranges tree-sitter reports as syntactically different. Query matches whose root node meets
//! those spans are computed afresh (a cursor limited to a byte range still completes matches
//! whose other captures lie outside it — a class's docstring, its other fields); every other
//! tag is the old one moved by the edits. Fresh results win where both exist. The property test
//! in `tests/syntax_properties.rs` checks the outcome equals a full run after random edits.
//!
//! Only for trees without syntax errors: tree-sitter's changed ranges can miss what error
//! recovery rearranged (closing a string turns recovered code before the edit into string
//! content), so callers re-run the full queries when either tree has an error.

use super::{Import, SyntaxTree, Tag, TagKind};
use crate::text::{Edit, TextRange};

/// Spans of the new text to re-query, merged and widened by a byte on each side so that nodes
/// that merely touch a change are re-queried too.
pub fn changed_spans(
    edited_old: &SyntaxTree,
    new: &SyntaxTree,
    edits: &[Edit],
    new_len: usize,
) -> Vec<TextRange> {
    let mut spans: Vec<(usize, usize)> =
        edited_old.changed_ranges(new).map(|r| (r.start_byte, r.end_byte)).collect();
    for (i, edit) in edits.iter().enumerate() {
        // Each edit's span in the coordinates after it, moved through the edits that follow.
        let start = shift(&edits[i + 1..], edit.start);
        let end = shift(&edits[i + 1..], edit.new_end);
        spans.push((start, end.max(start)));
    }
    spans.sort();
    let mut merged: Vec<TextRange> = Vec::new();
    for (start, end) in spans {
        let (start, end) = (start.saturating_sub(1), (end + 1).min(new_len));
        match merged.last_mut() {
            Some(last) if start <= last.end as usize => last.end = last.end.max(end as u32),
            _ => merged.push(TextRange::new(start as u32, end as u32)),
        }
    }
    merged
}

/// Where an offset of the text before `edits` ends up after them. Offsets inside replaced text
/// land at the end of the replacement; callers drop anything that touched an edit anyway.
pub fn shift(edits: &[Edit], mut offset: usize) -> usize {
    for edit in edits {
        if offset >= edit.old_end {
            offset = offset - edit.old_end + edit.new_end;
        } else if offset > edit.start {
            offset = edit.new_end;
        }
    }
    offset
}

fn shift_range(edits: &[Edit], range: TextRange) -> TextRange {
    let start = shift(edits, range.start as usize) as u32;
    let end = shift(edits, range.end as usize) as u32;
    TextRange::new(start, end.max(start))
}

fn touches(spans: &[TextRange], range: TextRange) -> bool {
    spans.iter().any(|s| s.start < range.end.max(range.start + 1) && range.start < s.end)
}

/// The tags of the new text: `fresh` (from a query limited to `spans`) plus the old tags that
/// the change did not touch, moved by the edits.
pub fn merge_tags(old: &[Tag], edits: &[Edit], spans: &[TextRange], fresh: Vec<Tag>) -> Vec<Tag> {
    let is_ref = |t: &Tag| matches!(t.kind, TagKind::Reference(_));
    let fresh_keys: rustc_hash::FxHashSet<(TextRange, bool)> =
        fresh.iter().map(|t| (t.name_range, is_ref(t))).collect();
    let mut out = fresh;
    for tag in old {
        let range = shift_range(edits, tag.range);
        if touches(spans, range) {
            continue;
        }
        let name_range = shift_range(edits, tag.name_range);
        if fresh_keys.contains(&(name_range, is_ref(tag))) {
            continue;
        }
        out.push(Tag { range, name_range, ..tag.clone() });
    }
    out.sort_by_key(|t| (t.name_range, is_ref(t)));
    out
}

/// The imports of the new text, by the same rule as [`merge_tags`].
pub fn merge_imports(old: &[Import], edits: &[Edit], spans: &[TextRange], fresh: Vec<Import>) -> Vec<Import> {
    let fresh_keys: rustc_hash::FxHashSet<(TextRange, Box<str>, Option<Box<str>>)> =
        fresh.iter().map(|i| (i.range, i.module.clone(), i.name.clone())).collect();
    let mut out = fresh;
    for import in old {
        let range = shift_range(edits, import.range);
        if touches(spans, range) || fresh_keys.contains(&(range, import.module.clone(), import.name.clone()))
        {
            continue;
        }
        out.push(Import { range, ..import.clone() });
    }
    out.sort_by_key(|i| i.range.start);
    out
}
