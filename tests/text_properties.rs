//! Property tests for documents: random edit sequences, applied through the incremental path in
//! each encoding, must leave exactly the text that the same edits leave in a plain `String`; and
//! every position conversion must agree with a simple model, clamping identically everywhere.

use proptest::prelude::*;
use repolens::text::{ContentChange, Document, LineCol, LineIndex, PositionEncoding, WideRange};

const ENCODINGS: [PositionEncoding; 3] =
    [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32];

/// Pieces text is made of: ASCII, 2-, 3- and 4-byte characters, and all three line breaks.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "bc", " ", "é", "中", "𝔘", "😀", "\n", "\r\n", "\r", "def f():", "\t"])
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..40).prop_map(|pieces| pieces.concat())
}

/// The model: line starts by `\n`, `\r\n`, lone `\r`; columns by counting characters.
fn model_lines(text: &str) -> Vec<(usize, usize)> {
    // (content start, content end) per line
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push((start, i));
                start = i + 1;
            }
            b'\r' => {
                lines.push((start, i));
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines.push((start, bytes.len()));
    lines
}

fn units(s: &str, enc: PositionEncoding) -> u32 {
    s.chars().map(|c| enc.char_len(c)).sum()
}

/// Valid editor positions: character boundaries that are not inside a line terminator.
fn model_positions(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for (start, end) in model_lines(text) {
        out.extend(text[start..end].char_indices().map(|(i, _)| start + i));
        out.push(end);
    }
    out
}

fn model_position(text: &str, offset: usize, enc: PositionEncoding) -> LineCol {
    let lines = model_lines(text);
    let line = lines.iter().rposition(|&(start, _)| start <= offset).unwrap();
    let (start, end) = lines[line];
    let offset = offset.min(end);
    LineCol::new(line as u32, units(&text[start..offset], enc))
}

#[derive(Clone, Debug)]
enum EditSpec {
    /// Replace between two valid positions (given as fractions of the list of positions).
    Range(f64, f64, String),
    Full(String),
}

fn edit_spec() -> impl Strategy<Value = EditSpec> {
    prop_oneof![
        8 => (0.0..1.0f64, 0.0..1.0f64, prop::collection::vec(piece(), 0..4).prop_map(|p| p.concat()))
            .prop_map(|(a, b, t)| EditSpec::Range(a, b, t)),
        1 => text().prop_map(EditSpec::Full),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn incremental_edits_match_a_plain_string(initial in text(), edits in prop::collection::vec(edit_spec(), 1..25)) {
        for enc in ENCODINGS {
            let mut model = initial.clone();
            let mut doc = Document::new(&initial, 0);
            for (version, spec) in edits.iter().enumerate() {
                let change = match spec {
                    EditSpec::Full(text) => {
                        model = text.clone();
                        ContentChange { range: None, text: text.clone() }
                    }
                    EditSpec::Range(a, b, insert) => {
                        let positions = model_positions(&model);
                        let pick = |f: f64| positions[((f * positions.len() as f64) as usize).min(positions.len() - 1)];
                        let (start, end) = { let (x, y) = (pick(*a), pick(*b)); (x.min(y), x.max(y)) };
                        let range = WideRange { start: model_position(&model, start, enc), end: model_position(&model, end, enc) };
                        model.replace_range(start..end, insert);
                        ContentChange { range: Some(range), text: insert.clone() }
                    }
                };
                doc.apply_changes(&[change], version as i32 + 1, enc);
                prop_assert_eq!(doc.text(), model.clone(), "after edit {} in {:?}", version, enc);
            }
        }
    }

    #[test]
    fn conversions_agree_with_the_model_and_round_trip(text in text()) {
        let doc = Document::new(&text, 0);
        let index = LineIndex::new(&text);
        for enc in ENCODINGS {
            for offset in model_positions(&text) {
                let expected = model_position(&text, offset, enc);
                prop_assert_eq!(index.position(offset as u32, enc), expected);
                prop_assert_eq!(doc.position(offset, enc), expected);
                prop_assert_eq!(index.offset(expected, enc) as usize, offset);
                prop_assert_eq!(doc.offset(expected, enc), offset);
            }
        }
    }

    #[test]
    fn arbitrary_positions_clamp_the_same_way_everywhere(text in text(), line in 0u32..20, col in 0u32..40, offset in 0u32..200) {
        let doc = Document::new(&text, 0);
        let index = LineIndex::new(&text);
        for enc in ENCODINGS {
            let pos = LineCol::new(line, col);
            let from_doc = doc.offset(pos, enc);
            prop_assert_eq!(from_doc, index.offset(pos, enc) as usize);
            prop_assert!(text.is_char_boundary(from_doc));
            prop_assert_eq!(doc.position(offset as usize, enc), index.position(offset, enc));
        }
    }
}
