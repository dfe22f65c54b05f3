//! Search/replace edit blocks: parsing a model's answer, matching (exact, whitespace-insensitive,
//! fuzzy), path checks, syntax validation and diffs.

mod support;

use std::path::{Path, PathBuf};

use expect_test::expect;
use proptest::prelude::*;
use repolens::repair::{
    EditBlock, MatchKind, Origin, RepairError, SourceTexts, WorkspaceTexts, apply_block, apply_blocks,
    parse_edit_blocks, unified_diff, workspace_path,
};
use support::write_fixture;

fn origin() -> Origin {
    Origin::Given { name: "test".to_owned() }
}

fn texts(root: &Path) -> WorkspaceTexts {
    WorkspaceTexts { root: root.to_path_buf(), buffers: Vec::new() }
}

#[test]
fn blocks_are_parsed_with_their_paths_through_fences_and_decorations() {
    let answer = r#"Use a None sentinel instead of the shared list.

```python
pkg/calc.py
<<<<<<< SEARCH
def add(a, b=[]):
=======
def add(a, b=None):
>>>>>>> REPLACE
```

**`pkg/util.py`**
```python
<<<<<<< SEARCH
x = 1
=======
x = 2
>>>>>>> REPLACE
<<<<<<< SEARCH
y = 1
=======
>>>>>>> REPLACE
```
"#;
    let blocks = parse_edit_blocks(answer).unwrap();
    assert_eq!(
        blocks,
        [
            EditBlock {
                path: "pkg/calc.py".into(),
                search: "def add(a, b=[]):\n".into(),
                replace: "def add(a, b=None):\n".into()
            },
            EditBlock { path: "pkg/util.py".into(), search: "x = 1\n".into(), replace: "x = 2\n".into() },
            // No path line: the previous block's path.
            EditBlock { path: "pkg/util.py".into(), search: "y = 1\n".into(), replace: String::new() },
        ]
    );
    assert_eq!(parse_edit_blocks("no blocks here").unwrap(), []);
}

#[test]
fn malformed_blocks_are_errors_with_a_line() {
    let unterminated = "a.py\n<<<<<<< SEARCH\nx\n=======\ny\n";
    let err = parse_edit_blocks(unterminated).unwrap_err();
    assert_eq!(err.to_string(), "malformed edit block at line 4: no >>>>>>> REPLACE after =======");
    let no_path = "<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
    assert_eq!(parse_edit_blocks(no_path).unwrap_err().line, 1);
}

#[test]
fn search_text_is_matched_exactly_then_ignoring_whitespace_then_fuzzily() {
    let text = "def f(x):\n    if x:\n        return 1\n    return 2\n";

    let (out, kind) = apply_block(text, "        return 1\n", "        return 3\n").unwrap();
    assert_eq!(kind, MatchKind::Exact);
    assert_eq!(out, "def f(x):\n    if x:\n        return 3\n    return 2\n");

    // The model dropped the indentation: matched line by line, the replacement re-indented.
    let (out, kind) =
        apply_block(text, "if x:\n    return 1\n", "if x is not None:\n    return 1\n").unwrap();
    assert_eq!(kind, MatchKind::Whitespace);
    assert_eq!(out, "def f(x):\n    if x is not None:\n        return 1\n    return 2\n");

    // A small slip in the search text (a wrong name): fuzzy, above the threshold.
    let (out, kind) =
        apply_block(text, "    if x:\n        return 1\n    return 3\n", "    return 0\n").unwrap();
    assert!(matches!(kind, MatchKind::Fuzzy(r) if r >= 0.85), "{kind:?}");
    assert_eq!(out, "def f(x):\n    return 0\n");

    // Nothing like it: no match.
    assert_eq!(apply_block(text, "class Unrelated:\n    pass\n", "x\n"), None);

    // The last line without a newline still matches.
    let (out, _) = apply_block("a = 1\nb = 2", "b = 2\n", "b = 3\n").unwrap();
    assert_eq!(out, "a = 1\nb = 3");

    // An empty search appends.
    let (out, kind) = apply_block("a = 1", "", "b = 2\n").unwrap();
    assert_eq!((out.as_str(), kind), ("a = 1\nb = 2\n", MatchKind::Append));
}

#[test]
fn paths_must_stay_inside_the_workspace() {
    let f = write_fixture(
        r#"
//- /pkg/a.py
x = 1
"#,
    );
    let root = f.root();
    assert_eq!(workspace_path(root, "pkg/a.py").unwrap(), PathBuf::from("pkg/a.py"));
    assert_eq!(workspace_path(root, "./pkg/../pkg/a.py").unwrap(), PathBuf::from("pkg/a.py"));
    assert_eq!(
        workspace_path(root, &root.join("pkg/a.py").to_string_lossy()).unwrap(),
        PathBuf::from("pkg/a.py")
    );
    for bad in ["../outside.py", "pkg/../../outside.py", "/etc/passwd", ""] {
        assert!(matches!(workspace_path(root, bad), Err(RepairError::EscapesWorkspace { .. })), "{bad}");
    }
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
    assert!(matches!(workspace_path(root, "link/x.py"), Err(RepairError::EscapesWorkspace { .. })));

    let blocks =
        parse_edit_blocks("../evil.py\n<<<<<<< SEARCH\n=======\nprint(1)\n>>>>>>> REPLACE\n").unwrap();
    let err = apply_blocks(root, &texts(root), &blocks, "evil".into(), origin()).unwrap_err();
    assert!(matches!(err, RepairError::EscapesWorkspace { .. }), "{err}");
    assert!(!root.parent().unwrap().join("evil.py").exists());
}

#[test]
fn edits_that_add_syntax_errors_are_rejected_but_old_errors_are_tolerated() {
    let f = write_fixture(
        r#"
//- /pkg/ok.py
def f(x):
    return x + 1
//- /pkg/broken.py
def g(:
    pass

def h():
    return 1
"#,
    );
    let root = f.root();
    let sources = texts(root);
    let breaks = parse_edit_blocks(
        "pkg/ok.py\n<<<<<<< SEARCH\n    return x + 1\n=======\n    return (x + 1\n>>>>>>> REPLACE\n",
    )
    .unwrap();
    let err = apply_blocks(root, &sources, &breaks, "breaks".into(), origin()).unwrap_err();
    assert!(matches!(err, RepairError::SyntaxError { before: 0, after: 1.., .. }), "{err}");
    assert!(err.to_string().starts_with("the edit leaves pkg/ok.py with"), "{err}");

    // A file that was already broken may be edited elsewhere.
    let elsewhere = parse_edit_blocks(
        "pkg/broken.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n",
    )
    .unwrap();
    let (candidate, kinds) = apply_blocks(root, &sources, &elsewhere, "fine".into(), origin()).unwrap();
    assert_eq!(kinds, [MatchKind::Exact]);
    assert_eq!(candidate.changes.len(), 1);

    let missing = parse_edit_blocks(
        "pkg/ok.py\n<<<<<<< SEARCH\n    return x * 2\n=======\n    return 0\n>>>>>>> REPLACE\n",
    )
    .unwrap();
    let err = apply_blocks(root, &sources, &missing, "no".into(), origin()).unwrap_err();
    assert!(matches!(err, RepairError::NoMatch { .. }), "{err}");
}

#[test]
fn several_blocks_apply_in_order_and_unsaved_buffers_are_the_text_edited() {
    let f = write_fixture(
        r#"
//- /pkg/a.py
a = 1
b = 2
"#,
    );
    let root = f.root();
    let sources = WorkspaceTexts {
        root: root.to_path_buf(),
        buffers: vec![("pkg/a.py".into(), "a = 10\nb = 2\n".into())],
    };
    assert_eq!(sources.text(Path::new("pkg/a.py")).unwrap(), "a = 10\nb = 2\n");
    let answer = "pkg/a.py\n<<<<<<< SEARCH\na = 10\n=======\na = 11\n>>>>>>> REPLACE\n<<<<<<< SEARCH\na = 11\nb = 2\n=======\na = 11\nb = 3\n>>>>>>> REPLACE\npkg/new.py\n<<<<<<< SEARCH\n=======\nc = 1\n>>>>>>> REPLACE\n";
    let blocks = parse_edit_blocks(answer).unwrap();
    let (candidate, _) = apply_blocks(root, &sources, &blocks, "both".into(), origin()).unwrap();
    expect![[r#"
        --- a/pkg/a.py
        +++ b/pkg/a.py
        @@ -1,2 +1,2 @@
        -a = 10
        -b = 2
        +a = 11
        +b = 3
        --- a/pkg/new.py
        +++ b/pkg/new.py
        @@ -0,0 +1 @@
        +c = 1
    "#]]
    .assert_eq(&candidate.diff());
    assert_eq!(candidate.changed_lines(), 5);
    // The user's file is not written.
    assert_eq!(f.read("pkg/a.py"), "a = 1\nb = 2\n");
    assert!(!root.join("pkg/new.py").exists());
}

#[test]
fn diffs_are_unified_and_prefixed() {
    expect![[r#"
        --- a/x.py
        +++ b/x.py
        @@ -1,3 +1,3 @@
         a
        -b
        +B
         c
    "#]]
    .assert_eq(&unified_diff(Path::new("x.py"), "a\nb\nc\n", "a\nB\nc\n"));
}

fn lines_strategy() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[ ]{0,8}[a-z_()=+:0-9][a-z_()=+:0-9 ]{0,19}", 3..30)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any run of whole lines copied exactly is found at its first occurrence and replaced.
    #[test]
    fn exact_slices_are_replaced_where_they_first_occur(lines in lines_strategy(), start in 0usize..30, len in 1usize..5) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let start = start % lines.len();
        let end = (start + len).min(lines.len());
        let search: String = lines[start..end].iter().map(|l| format!("{l}\n")).collect();
        let (out, kind) = apply_block(&text, &search, "REPLACED\n").unwrap();
        prop_assert_eq!(kind, MatchKind::Exact);
        let at = text.find(&search).unwrap();
        prop_assert_eq!(out, format!("{}REPLACED\n{}", &text[..at], &text[at + search.len()..]));
    }

    /// Re-indenting the search text (as models do) still finds the same lines when they are
    /// unique, and the replacement lands at the file's indentation.
    #[test]
    fn reindented_search_text_matches_the_same_lines(body in prop::collection::vec("[a-z]{3,8} = [0-9]{1,3}", 2..6), shift in 1usize..8) {
        let mut seen = std::collections::HashSet::new();
        prop_assume!(body.iter().all(|l| seen.insert(l.clone())));
        let text: String = std::iter::once("def f():\n".to_owned()).chain(body.iter().map(|l| format!("    {l}\n"))).collect();
        let search: String = body.iter().map(|l| format!("{}{l}\n", " ".repeat(shift))).collect();
        let replace = format!("{}done = 1\n", " ".repeat(shift));
        let (out, kind) = apply_block(&text, &search, &replace).unwrap();
        prop_assert!(kind == MatchKind::Whitespace || (shift == 4 && kind == MatchKind::Exact), "{:?}", kind);
        prop_assert_eq!(out, "def f():\n    done = 1\n");
    }

    /// Matching never panics, whatever the texts.
    #[test]
    fn matching_never_panics(text in "(?s).{0,300}", search in "(?s).{0,80}", replace in "(?s).{0,40}") {
        let _ = apply_block(&text, &search, &replace);
        let _ = parse_edit_blocks(&format!("a.py\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n{text}"));
    }
}
