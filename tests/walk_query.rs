//! The one-walk query engine finds exactly the matches tree-sitter's query cursor finds: on the
//! embedded Python queries over files full of the constructs they match (and broken versions of
//! them), on a query using the rest of the syntax the engine implements, and it refuses what it
//! does not implement, so that those queries keep running on tree-sitter's cursor.

use proptest::prelude::*;
use repolens::syntax::{LanguageId, Languages, ParseBudget, QueryFile, WalkQuery, parse_text};
use streaming_iterator::StreamingIterator;
use tree_sitter::{Query, QueryCapture, QueryCursor};

/// A match as a comparable value: pattern, and each capture's index, byte range and kind.
type Key = (usize, Vec<(u32, usize, usize, String)>);

fn key(pattern: usize, captures: &[QueryCapture<'_>]) -> Key {
    let mut captures: Vec<_> = captures
        .iter()
        .map(|c| (c.index, c.node.start_byte(), c.node.end_byte(), c.node.kind().to_owned()))
        .collect();
    captures.sort_unstable();
    (pattern, captures)
}

fn python_grammar() -> tree_sitter::Language {
    Languages::embedded().get(LanguageId::Python).grammar.clone()
}

/// The combined Python query, in the order the indexer combines it.
fn combined_source() -> String {
    let parts: Vec<&str> =
        QueryFile::ALL.iter().filter_map(|&file| LanguageId::Python.embedded_query(file)).collect();
    parts.join("\n")
}

/// `source` compiled for both engines.
fn compile(source: &str) -> (Query, WalkQuery) {
    let grammar = python_grammar();
    let query = Query::new(&grammar, source).expect("tree-sitter compiles the query");
    let walk = WalkQuery::new(&grammar, source, &query).expect("the walk engine compiles the query");
    (query, walk)
}

static COMBINED: std::sync::LazyLock<(Query, WalkQuery)> =
    std::sync::LazyLock::new(|| compile(&combined_source()));

/// Both engines' matches of `source` on `text`, sorted.
fn both_engines(source: &str, text: &str) -> (Vec<Key>, Vec<Key>) {
    let compiled = compile(source);
    both_engines_compiled(&compiled, text)
}

fn both_engines_compiled((query, walk): &(Query, WalkQuery), text: &str) -> (Vec<Key>, Vec<Key>) {
    let languages = Languages::embedded();
    let tree = parse_text(languages.get(LanguageId::Python), text, None, ParseBudget::default()).unwrap();
    let mut expected = Vec::new();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(query, tree.root_node(), text.as_bytes());
    while let Some(m) = matches.next() {
        expected.push(key(m.pattern_index, m.captures()));
    }
    let mut found = Vec::new();
    walk.for_each_match(tree.root_node(), text.as_bytes(), &mut |m| {
        found.push(key(m.pattern_index, m.captures))
    });
    expected.sort();
    found.sort();
    (expected, found)
}

const SAMPLE: &str = r#""""Module doc."""
import os, sys as system
import a.b.c
from . import sibling
from ..pkg.mod import (name, other as alias)
from x import *
LIMIT, _Other = 10, 20
value = compute()

@decorator
@app.route("/")
@factory(arg)
class Model(Base, mixins.Mixin, metaclass=Meta):
    """Model doc."""
    # a comment
    field = Field()
    a, b = 1, 2

    class Inner:
        # comment before the docstring: not a docstring for the anchor
        """Not first."""
        x = 1

    def method(self, list=[], dict: dict = {}, *args, items=list(), typed: int = set(), **kw):
        """Method doc."""
        if self.x == None or None != y:
            pass
        assert (x, "message")
        assert x, "fine"
        try:
            obj.call(1)(2)
        except:
            raise
        try:
            pass
        except Exception:
            pass
        try:
            pass
        except (ValueError, TypeError) as err:
            pass
        try:
            pass
        except BaseException as err:
            pass
        return lambda q=[]: q


def outer(id, input: str, *, max=3):
    def inner(): return helper()
    return inner
"#;

#[test]
fn the_python_queries_run_on_the_walk_engine_and_match_like_tree_sitter() {
    let languages = Languages::embedded();
    let queries = languages.get(LanguageId::Python).queries.as_ref().expect("Python has combined queries");
    assert!(queries.runs_on_walk_query(), "the embedded Python queries must not fall back to the cursor");
    let (expected, found) = both_engines_compiled(&COMBINED, SAMPLE);
    assert!(expected.len() > 60, "the sample exercises most patterns: {} matches", expected.len());
    assert_eq!(found, expected);
}

/// Pieces of Python, from whole statements to fragments that break the syntax.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "def f(a, b=[], *, c: int = {}):\n    \"\"\"Doc.\"\"\"\n    return g(a)\n",
        "class C(B, m.M):\n    x = 1\n    def m(self): pass\n",
        "class D:\n    # note\n    \"\"\"Doc.\"\"\"\n",
        "@d\n@e.f(1)\ndef h(list=list()): ...\n",
        "import a, b.c as d\n",
        "from .x import (y, z as w)\n",
        "from ... import *\n",
        "X = Y = 1\n",
        "P, q = 1, 2\n",
        "if a == None: pass\n",
        "assert (a, 'b')\n",
        "try:\n    pass\nexcept Exception as e:\n    pass\nexcept:\n    pass\n",
        "obj.method(arg).other()\n",
        "lambda x=set(): x\n",
        "    ",
        "# comment\n",
        "def broken(:\n",
        "class (\n",
        ")",
        "\"\"\"",
        "\n",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_files_get_the_same_matches_from_both_engines(
        pieces in prop::collection::vec(piece(), 0..14),
        indent in prop::collection::vec(any::<bool>(), 14),
    ) {
        let mut text = String::new();
        for (piece, nested) in pieces.iter().zip(&indent) {
            // Some pieces land inside the previous block, some break out of it.
            for line in piece.split_inclusive('\n') {
                if *nested {
                    text.push_str("    ");
                }
                text.push_str(line);
            }
        }
        let (expected, found) = both_engines_compiled(&COMBINED, &text);
        prop_assert_eq!(found, expected, "{}", text);
    }
}

#[test]
fn the_rest_of_the_implemented_syntax_matches_like_tree_sitter() {
    let source = r#"
; Wildcards, anonymous nodes, negated fields and a last-child anchor.
(function_definition name: (_) @any.name !return_type) @no.return.type
(function_definition "def" @keyword (_) @first.named)
(call arguments: (argument_list . (_) @first.arg))
(call arguments: (argument_list (_) @last.arg .))
(argument_list (_) @a . (_) @b)
(binary_operator _ @operator.or.operand)
; Text predicates, on strings, regexes and other captures.
((identifier) @same (#eq? @same "self"))
((identifier) @other (#not-eq? @other "self") (#match? @other "^[a-z]$"))
((identifier) @shouty (#not-match? @shouty "[a-z]"))
((keyword_argument name: (identifier) @k value: (identifier) @v) (#eq? @k @v))
((keyword_argument name: (identifier) @k2 value: (identifier) @v2) (#not-eq? @k2 @v2))
((identifier) @listed (#any-of? @listed "print" "len"))
((identifier) @unlisted (#not-any-of? @unlisted "print" "len" "self" "x"))
"#;
    // Comments inside argument lists are named siblings for anchors, as tree-sitter counts them.
    let text = "def f(self, x) -> int:\n    return g(1, x, y=y, z=w) + len(x) - (a or b)\n\ndef h(x):\n    print(X, Y1, self)\n    k(  # first\n        1,  # between\n        2)\n";
    let (expected, found) = both_engines(source, text);
    for pattern in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] {
        assert!(expected.iter().any(|(p, _)| *p == pattern), "pattern {pattern} matches somewhere");
    }
    assert_eq!(found, expected);
}

#[test]
fn many_matches_of_one_pattern_at_one_node_match_like_tree_sitter() {
    // One class node, thousands of matches per pattern: tree-sitter keeps, of matches whose
    // captures contain each other, the larger (an integer assignment matches both alternatives),
    // and every match of equal size.
    let source = r#"
(class_definition body: (block (expression_statement [
  (assignment left: (identifier) @name)
  (assignment left: (identifier) @name right: (integer) @value)
]))) @class
(class_definition body: (block (_) @statement)) @class
"#;
    let mut text = String::from("class Settings:\n");
    for i in 0..3000 {
        match i % 3 {
            0 => text.push_str(&format!("    number{i} = {i}\n")),
            1 => text.push_str(&format!("    name{i} = \"text\"\n")),
            _ => text.push_str(&format!("    call{i}()\n")),
        }
    }
    let (expected, found) = both_engines(source, &text);
    assert_eq!(expected.iter().filter(|(p, _)| *p == 0).count(), 2000);
    assert_eq!(expected.iter().filter(|(p, c)| *p == 0 && c.len() == 3).count(), 1000);
    assert_eq!(found, expected);
}

#[test]
fn queries_it_does_not_implement_are_refused() {
    let grammar = python_grammar();
    for source in [
        // Quantifiers.
        "(block (expression_statement)* @statements)",
        "(decorated_definition (decorator)+ @decorators)",
        "(function_definition return_type: (_)? @maybe)",
        // A grouping of sibling patterns.
        "((comment) @doc . (function_definition) @function)",
        // A supertype.
        "(expression) @expression",
        // Property predicates.
        "((identifier) @x (#is? @x local))",
    ] {
        let query = Query::new(&grammar, source).unwrap_or_else(|err| panic!("{source}: {err}"));
        assert!(WalkQuery::new(&grammar, source, &query).is_err(), "{source} must be refused");
    }
}
