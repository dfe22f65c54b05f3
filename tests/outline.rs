//! The quick outline must yield exactly the definitions the tags query yields (name, kind, name
//! range, parent) — checked here on code written to trip a line scanner, and on the grammar's
//! own tags fixture. (`cargo run --release --example outline-check -- DIR` runs the same
//! comparison over a whole tree; on Django 5.0 all 2,772 files agree.)

use repolens::syntax::{FileSummary, LanguageId, Languages, ParseBudget, parse_text};

type Def = (String, String, u32, Option<String>);

fn defs(summary: &FileSummary) -> Vec<Def> {
    let mut out: Vec<Def> = summary
        .symbols
        .iter()
        .map(|s| {
            let parent = s.parent.map(|p| summary.symbols[p as usize].name.to_string());
            (s.name.to_string(), format!("{:?}", s.kind), s.name_range.start, parent)
        })
        .collect();
    out.sort_by_key(|d| d.2);
    out
}

#[track_caller]
fn check(source: &str) {
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let tree = parse_text(lang, source, None, ParseBudget::default()).unwrap();
    let full = defs(&FileSummary::build(lang, &tree, source));
    let quick = defs(&FileSummary::outline(LanguageId::Python, source).unwrap());
    assert_eq!(quick, full, "outline differs from tags for:\n{source}");
}

#[test]
fn outline_matches_tags_on_tricky_code() {
    let cases = [
        "x = 1; Y = 2; z: int = 3\nimport os; A = os.sep\n",
        "if x: a = 1; b = 2\nclass C: pass\nclass D(Base): x = 1\n",
        "s = '''\ndef not_a_function():\n    pass\n'''\nclass Real:\n    \"\"\"class NotAClass:\"\"\"\n    def m(self): pass\n",
        "value = f(a,\n  b=2,\n  c=[1,\n  2])\nOTHER = \\\n    3\n",
        "class A:\n    x, y = 1, 2\n    (p, q) = 3, 4\n    a.b = 5\n    *rest, last = [1]\n    if True:\n        hidden = 1\n        def inner(self): pass\n    @property\n    def prop(self): return 1\n    async def run(self): pass\n",
        "def outer():\n    def inner():\n        class Local:\n            def m(self): pass\n    return inner\n",
        "match command:\n    case [x, y]:\n        def handler(): pass\n    case _:\n        pass\nmatch = 3\n",
        "a = b = 1\nc += 2\nd == 3\ne: int\nf, = g\n_PRIVATE = 1\n__all__ = []\n_ = 4\n",
        "def f(\n    a,\n    b=1,\n) -> int:\n    return a\n\n\n# trailing comment\nclass   Spaced  ( object ) :\n\tdef tabbed(self):\n\t\tpass\n",
        "class W:\r\n    def m(self):\r\n        pass\r\nX = 1\r\n",
        "x = {'a': 1,\n     'b': lambda y: y}\nlabel = \"he said \\\"def x()\\\"\"\nraw = r'\\\\'\nclass After: pass\n",
        "try:\n    import json\nexcept ImportError:\n    json = None\nelse:\n    def dumps(o): return json.dumps(o)\nfinally:\n    pass\n",
        "@decorator(arg=1)\nclass Decorated:\n    @staticmethod\n    @other\n    def sm(): pass\n",
        "with open(p) as fh: DATA = fh.read()\nwhile False: pass\nfor i in []: pass\n",
        "type Alias = int\nprint(1)\nclass Ünïcode:\n    fïeld = 1\n",
    ];
    for case in cases {
        check(case);
    }
}

#[test]
fn outline_matches_tags_on_the_grammar_fixture() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("grammars/python/test/tags.py");
    check(&std::fs::read_to_string(path).unwrap());
}
