//! Smells on curated Python snippets: each rule with cases it must flag and look-alikes it must
//! not, and the text its mechanical fix produces (the edits in the smell's data, applied).
//!
//! Update with `UPDATE_EXPECT=1 cargo test --test risk_smells`.

use expect_test::{Expect, expect};
use repolens::{
    risk::{FileClass, classify, find_smells, has_generated_header},
    syntax::{LanguageId, Languages, ParseBudget, parse_text},
};

/// Lists every smell as `line: code subject — message`, then each fix: its title and the whole
/// text after its edits.
#[track_caller]
fn check(src: &str, expect: Expect) {
    let src = src.strip_prefix('\n').unwrap_or(src);
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let tree = parse_text(lang, src, None, ParseBudget::default()).expect("parses");
    let mut out = String::new();
    for smell in find_smells(lang, &tree, src) {
        let line = src[..smell.range.start as usize].matches('\n').count() + 1;
        out.push_str(&format!("L{line} {} `{}`: {}\n", smell.kind.code(), smell.subject, smell.message));
        let Some(fix) = smell.fix else {
            out.push_str("  (no mechanical fix)\n");
            continue;
        };
        let mut fixed = src.to_owned();
        let mut edits = fix.edits.clone();
        // Applied back to front so that earlier offsets stay valid.
        edits.sort_by_key(|e| std::cmp::Reverse(e.range.start));
        for e in &edits {
            fixed.replace_range(e.range.as_usize(), &e.new_text);
        }
        assert!(
            !parse_text(lang, &fixed, None, ParseBudget::default()).unwrap().root_node().has_error(),
            "the fix of {} leaves a syntax error:\n{fixed}",
            smell.kind.name()
        );
        let interface = if fix.changes_interface { " [changes interface]" } else { "" };
        out.push_str(&format!("  fix: {}{interface}\n", fix.title));
        for line in fixed.lines() {
            out.push_str(&format!("  | {line}\n"));
        }
    }
    if out.is_empty() {
        out.push_str("no smells\n");
    }
    expect.assert_eq(&out);
}

#[test]
fn mutable_default_argument() {
    check(
        r#"
def f(items=[], *, seen: dict = {}):
    """Doc."""
    items.append(1)
    return items, seen
"#,
        expect![[r#"
            L1 smell/mutable-default-argument `items`: mutable default `[]` for `items` is created once and shared by every call; default to `None` and create it inside
              fix: Default `items` to `None` and create `[]` in the body
              | def f(items=None, *, seen: dict = {}):
              |     """Doc."""
              |     if items is None:
              |         items = []
              |     items.append(1)
              |     return items, seen
            L1 smell/mutable-default-argument `seen`: mutable default `{}` for `seen` is created once and shared by every call; default to `None` and create it inside
              fix: Default `seen` to `None` and create `{}` in the body
              | def f(items=[], *, seen: dict = None):
              |     """Doc."""
              |     if seen is None:
              |         seen = {}
              |     items.append(1)
              |     return items, seen
        "#]],
    );
    check(
        r#"
def g(cache=dict(), names=list(("a",)), ok=None, t=(), s="x", frozen=frozenset()):
    return cache
"#,
        expect![[r#"
            L1 smell/mutable-default-argument `cache`: mutable default `dict()` for `cache` is created once and shared by every call; default to `None` and create it inside
              fix: Default `cache` to `None` and create `dict()` in the body
              | def g(cache=None, names=list(("a",)), ok=None, t=(), s="x", frozen=frozenset()):
              |     if cache is None:
              |         cache = dict()
              |     return cache
            L1 smell/mutable-default-argument `names`: mutable default `list(("a",))` for `names` is created once and shared by every call; default to `None` and create it inside
              fix: Default `names` to `None` and create `list(("a",))` in the body
              | def g(cache=dict(), names=None, ok=None, t=(), s="x", frozen=frozenset()):
              |     if names is None:
              |         names = list(("a",))
              |     return cache
        "#]],
    );
    // On one line there is no body to add a statement to: flagged, without a fix.
    check(
        "def h(x=[]): return x\n",
        expect![[r#"
        L1 smell/mutable-default-argument `x`: mutable default `[]` for `x` is created once and shared by every call; default to `None` and create it inside
          (no mechanical fix)
    "#]],
    );
}

#[test]
fn bare_except() {
    check(
        r#"
try:
    run()
except:
    raise
try:
    run()
except ValueError:
    pass
"#,
        expect![[r#"
            L3 smell/bare-except `except`: bare `except:` also catches `KeyboardInterrupt` and `SystemExit`; catch `Exception` (or something narrower)
              fix: Catch `Exception` instead of everything
              | try:
              |     run()
              | except Exception:
              |     raise
              | try:
              |     run()
              | except ValueError:
              |     pass
        "#]],
    );
}

#[test]
fn comparison_to_none() {
    check(
        r#"
if x == None or None != y:
    pass
if x is None or x is not None or x == 0 or x < None:
    pass
"#,
        expect![[r#"
            L1 smell/comparison-to-none `==`: `== None` calls `__eq__`, which a class can override; use `is None`
              fix: Use `is` instead of `==`
              | if x is None or None != y:
              |     pass
              | if x is None or x is not None or x == 0 or x < None:
              |     pass
            L1 smell/comparison-to-none `!=`: `!= None` calls `__eq__`, which a class can override; use `is not None`
              fix: Use `is not` instead of `!=`
              | if x == None or None is not y:
              |     pass
              | if x is None or x is not None or x == 0 or x < None:
              |     pass
        "#]],
    );
}

#[test]
fn assert_on_tuple() {
    check(
        r#"
assert (x > 0, "x must be positive")
assert (x,)
assert (a, b, c)
assert x > 0, "fine"
assert ()
"#,
        expect![[r#"
            L1 smell/assert-on-tuple `(x > 0, "x must be positive")`: assert on a non-empty tuple is always true, so it never fails; drop the parentheses
              fix: Assert the condition, with the message after a comma
              | assert x > 0, "x must be positive"
              | assert (x,)
              | assert (a, b, c)
              | assert x > 0, "fine"
              | assert ()
            L2 smell/assert-on-tuple `(x,)`: assert on a non-empty tuple is always true, so it never fails; drop the parentheses
              fix: Assert the condition, with the message after a comma
              | assert (x > 0, "x must be positive")
              | assert x
              | assert (a, b, c)
              | assert x > 0, "fine"
              | assert ()
            L3 smell/assert-on-tuple `(a, b, c)`: assert on a non-empty tuple is always true, so it never fails; drop the parentheses
              (no mechanical fix)
        "#]],
    );
}

#[test]
fn builtin_shadowing_parameter() {
    check(
        r#"
def total(list, start: int = 0, id=None):
    def inner(list):
        return list
    obj.list = list
    call(list=list)
    return sum(list) + start + inner(list)
"#,
        expect![[r#"
            L1 smell/builtin-shadowing-parameter `list`: parameter `list` hides the builtin `list()` in this function
              fix: Rename `list` to `list_` (callers passing it by keyword must follow) [changes interface]
              | def total(list_, start: int = 0, id=None):
              |     def inner(list):
              |         return list
              |     obj.list = list_
              |     call(list=list_)
              |     return sum(list_) + start + inner(list_)
            L1 smell/builtin-shadowing-parameter `id`: parameter `id` hides the builtin `id()` in this function
              fix: Rename `id` to `id_` (callers passing it by keyword must follow) [changes interface]
              | def total(list, start: int = 0, id_=None):
              |     def inner(list):
              |         return list
              |     obj.list = list
              |     call(list=list)
              |     return sum(list) + start + inner(list)
            L2 smell/builtin-shadowing-parameter `list`: parameter `list` hides the builtin `list()` in this function
              fix: Rename `list` to `list_` (callers passing it by keyword must follow) [changes interface]
              | def total(list, start: int = 0, id=None):
              |     def inner(list_):
              |         return list_
              |     obj.list = list
              |     call(list=list)
              |     return sum(list) + start + inner(list)
        "#]],
    );
    // Annotated parameters, with and without a default, and annotated mutable defaults.
    check(
        r#"
def typed(sum: int, max: int = 3, seen: set = set()):
    return sum, max, seen
"#,
        expect![[r#"
            L1 smell/builtin-shadowing-parameter `sum`: parameter `sum` hides the builtin `sum()` in this function
              fix: Rename `sum` to `sum_` (callers passing it by keyword must follow) [changes interface]
              | def typed(sum_: int, max: int = 3, seen: set = set()):
              |     return sum_, max, seen
            L1 smell/builtin-shadowing-parameter `max`: parameter `max` hides the builtin `max()` in this function
              fix: Rename `max` to `max_` (callers passing it by keyword must follow) [changes interface]
              | def typed(sum: int, max_: int = 3, seen: set = set()):
              |     return sum, max_, seen
            L1 smell/mutable-default-argument `seen`: mutable default `set()` for `seen` is created once and shared by every call; default to `None` and create it inside
              fix: Default `seen` to `None` and create `set()` in the body
              | def typed(sum: int, max: int = 3, seen: set = None):
              |     if seen is None:
              |         seen = set()
              |     return sum, max, seen
        "#]],
    );
    check(
        r#"
def fine(items, kind=None):
    list = items
    return lambda type: type
"#,
        expect![[r#"
            no smells
        "#]],
    );
}

#[test]
fn except_exception_pass() {
    check(
        r#"
"""Module."""
from __future__ import annotations

try:
    run()
except Exception:
    pass
try:
    run()
except Exception:
    log()
try:
    run()
except OSError:
    pass
"#,
        expect![[r#"
            L6 smell/except-exception-pass `Exception`: `except Exception: pass` hides every error without a trace; handle it, narrow it, or at least log it
              fix: Log the ignored exception (debug level, with traceback)
              | """Module."""
              | from __future__ import annotations
              | import logging
              | 
              | try:
              |     run()
              | except Exception:
              |     logging.getLogger(__name__).debug("ignored exception", exc_info=True)
              | try:
              |     run()
              | except Exception:
              |     log()
              | try:
              |     run()
              | except OSError:
              |     pass
        "#]],
    );
    check(
        r#"
import logging
try:
    run()
except BaseException as err:
    pass
"#,
        expect![[r#"
            L4 smell/except-exception-pass `BaseException`: `except BaseException: pass` hides every error without a trace; handle it, narrow it, or at least log it
              fix: Log the ignored exception (debug level, with traceback)
              | import logging
              | try:
              |     run()
              | except BaseException as err:
              |     logging.getLogger(__name__).debug("ignored exception", exc_info=True)
        "#]],
    );
}

#[test]
fn scope_keeps_smells_off_tests_vendored_and_generated_files() {
    let cases = [
        ("pkg/core.py", false),
        ("tests/test_core.py", false),
        ("pkg/tests/helpers.py", false),
        ("conftest.py", false),
        ("pkg/_vendor/six.py", false),
        ("third_party/lib/mod.py", false),
        ("pkg/messages_pb2.py", false),
        ("pkg/models.py", true),
    ];
    let got: Vec<String> = cases.iter().map(|(p, g)| format!("{p}: {:?}", classify(p, *g))).collect();
    expect![[r#"
        [
            "pkg/core.py: Source",
            "tests/test_core.py: Test",
            "pkg/tests/helpers.py: Test",
            "conftest.py: Test",
            "pkg/_vendor/six.py: Vendored",
            "third_party/lib/mod.py: Vendored",
            "pkg/messages_pb2.py: Generated",
            "pkg/models.py: Generated",
        ]
    "#]]
    .assert_debug_eq(&got);
    assert!(has_generated_header("# Generated by the protocol buffer compiler.  DO NOT EDIT!\n"));
    assert!(!has_generated_header("\"\"\"Tokens generated by the server.\"\"\"\n"));
    assert_eq!(classify("pkg/core.py", false), FileClass::Source);
}
