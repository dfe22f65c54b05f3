//! Property test: after random edits, the incrementally re-parsed tree of an open document is
//! the tree a fresh parse of the final text gives, and so are its symbols.

use proptest::prelude::*;
use repolens::{
    analysis::AnalysisHost,
    syntax::{FileSummary, LanguageId, Languages, ParseBudget, parse_text},
    text::{ContentChange, LineIndex, PositionEncoding, WideRange},
    workspace::VfsPath,
};

const SEED: &str = "import os\n\n\nclass Shape(Base):\n    \"\"\"Doc.\"\"\"\n    size = 1\n\n    def area(self, x=None):\n        return compute(self.size) * x\r\n\n\ndef main():\n    s = Shape()\n    print(s.area(2))\n";

fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "def ",
        "class ",
        "(",
        ")",
        ":",
        "\n",
        "\n    ",
        "\r\n",
        "x",
        "self",
        " = ",
        "return ",
        "'",
        "\"\"\"",
        "#",
        "𝔘",
        "é",
        "@dec\n",
        "if x:\n        ",
        "pass",
        ",",
        "\r",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn incremental_reparse_equals_fresh_parse(
        edits in prop::collection::vec((0.0..1.0f64, 0usize..6, prop::collection::vec(piece(), 0..4)), 1..20),
        encoding in prop::sample::select(vec![PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32]),
    ) {
        let languages = Languages::embedded();
        let mut host = AnalysisHost::new(languages.clone(), Vec::new());
        let file = host.file_id(VfsPath::Virtual("untitled:prop.py".into()));
        host.open_document(file, 0, SEED, Some(LanguageId::Python));
        let mut text = SEED.to_owned();
        for (version, (at, delete, insert)) in edits.into_iter().enumerate() {
            let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let start = boundaries[((at * boundaries.len() as f64) as usize).min(boundaries.len() - 1)];
            let end = boundaries[(boundaries.iter().position(|&b| b == start).unwrap() + delete).min(boundaries.len() - 1)];
            let index = LineIndex::new(&text);
            let range = WideRange { start: index.position(start as u32, encoding), end: index.position(end as u32, encoding) };
            // Positions inside `\r\n` clamp to the line end; apply what the server will apply.
            let (start, end) = (index.offset(range.start, encoding) as usize, index.offset(range.end, encoding) as usize);
            let insert = insert.concat();
            text.replace_range(start..end, &insert);
            host.change_document(file, version as i32 + 1, &[ContentChange { range: Some(range), text: insert }], encoding).unwrap();
        }
        let analysis = host.snapshot();
        let doc = analysis.document(file).unwrap();
        prop_assert_eq!(doc.document.text(), text.clone());
        let lang = languages.get(LanguageId::Python);
        let fresh = parse_text(lang, &text, None, ParseBudget::default()).unwrap();
        let incremental = doc.tree.as_ref().unwrap();
        prop_assert_eq!(incremental.root_node().to_sexp(), fresh.root_node().to_sexp());
        let fresh_summary = FileSummary::build(lang, &fresh, &text);
        prop_assert_eq!(&*analysis.file_summary(file).unwrap(), &fresh_summary);
    }
}

/// Edits that keep the file valid Python, so the incremental query path (not the full-query
/// fallback for broken trees) is what gets checked.
fn valid_edit() -> impl Strategy<Value = (usize, &'static str)> {
    (
        0usize..40,
        prop::sample::select(vec![
            "    helper = compute(1)\n",
            "    def extra(self):\n        return self.size\n",
            "    \"\"\"A docstring.\"\"\"\n",
            "    other = Shape()\n",
            "    if x:\n        print(x)\n",
        ]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn incremental_queries_on_valid_code_equal_a_full_run(edits in prop::collection::vec(valid_edit(), 1..15)) {
        let languages = Languages::embedded();
        let mut host = AnalysisHost::new(languages.clone(), Vec::new());
        let file = host.file_id(VfsPath::Virtual("untitled:valid.py".into()));
        let seed = "class Shape:\n    size = 1\n\n    def area(self, x=None):\n        return compute(self.size) * x\n";
        host.open_document(file, 0, seed, Some(LanguageId::Python));
        let mut text = seed.to_owned();
        for (version, (line, insert)) in edits.into_iter().enumerate() {
            // Insert whole lines after the class header or after a line that ends a statement
            // at method-body depth, which keeps the class valid.
            let starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
            let candidates: Vec<usize> = starts
                .iter()
                .copied()
                .filter(|&s| s > 0 && s < text.len() && text[s..].starts_with("    ") && !text[s..].starts_with("     "))
                .collect();
            let at = candidates[line % candidates.len()];
            let index = LineIndex::new(&text);
            let pos = index.position(at as u32, PositionEncoding::Utf16);
            text.insert_str(at, insert);
            let change = ContentChange { range: Some(WideRange { start: pos, end: pos }), text: insert.to_owned() };
            host.change_document(file, version as i32 + 1, &[change], PositionEncoding::Utf16).unwrap();
        }
        let analysis = host.snapshot();
        let doc = analysis.document(file).unwrap();
        prop_assert!(!doc.tree.as_ref().unwrap().root_node().has_error(), "the edits keep the file valid:\n{}", text);
        let lang = languages.get(LanguageId::Python);
        let fresh = parse_text(lang, &text, None, ParseBudget::default()).unwrap();
        prop_assert_eq!(&*analysis.file_summary(file).unwrap(), &FileSummary::build(lang, &fresh, &text));
    }
}
