//! Every smell with a mechanical fix, fixed with no model: for each of the six rules a small
//! project whose failing test is caused by the smell, `repolens fix FILE:LINE --json` run as
//! the built binary (no model configured), real pytest in the sandbox. The winner must be a rule
//! candidate that was tested, fixes the failing test and regresses nothing; `--apply` must write
//! exactly its change, and a run without `--apply` must leave the tree byte-identical.
//!
//! Before those, the fix candidates themselves (the smell's own fix and the alternatives the
//! tests choose between) on snippets, as text. Which code is flagged at all, and the smell's own
//! fix on look-alikes, is `tests/risk_smells.rs`.
//!
//! Update with `UPDATE_EXPECT=1 cargo test --test smell_fixes`.

mod support;

use std::path::Path;

use expect_test::{Expect, expect};
use repolens::{
    analysis::smells_in,
    syntax::{LanguageId, Languages},
    text::TextRange,
};
use serde_json::Value;
use support::{tree_bytes, write_fixture};

/// Lists every smell in `src` with each of its fix candidates: the title, whether it needs a
/// failing test to be selected, and the whole text after its edits.
#[track_caller]
fn check_candidates(src: &str, expect: Expect) {
    let src = src.strip_prefix('\n').unwrap_or(src);
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let mut out = String::new();
    for (smell, fixes) in smells_in(lang, None, src, TextRange::from_usize(0..src.len())) {
        let line = src[..smell.range.start as usize].matches('\n').count() + 1;
        out.push_str(&format!("L{line} {} `{}`\n", smell.kind.code(), smell.subject));
        for fix in fixes {
            let mut fixed = src.to_owned();
            let mut edits = fix.edits.clone();
            edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
            for (range, new_text) in &edits {
                fixed.replace_range(range.as_usize(), new_text);
            }
            let guess = if fix.needs_failing_test { " [needs a failing test]" } else { "" };
            out.push_str(&format!("  fix: {}{guess}\n", fix.title));
            for line in fixed.lines() {
                out.push_str(format!("  | {line}").trim_end());
                out.push('\n');
            }
        }
    }
    expect.assert_eq(&out);
}

#[test]
fn a_mutable_default_gets_a_none_sentinel_and_an_immutable_empty_default() {
    check_candidates(
        r#"
def f(items=[], seen=set(), index={}):
    return items, seen, index
"#,
        expect![[r#"
            L1 smell/mutable-default-argument `items`
              fix: Default `items` to `None` and create `[]` in the body
              | def f(items=None, seen=set(), index={}):
              |     if items is None:
              |         items = []
              |     return items, seen, index
              fix: Use an empty tuple as the default of `items`
              | def f(items=(), seen=set(), index={}):
              |     return items, seen, index
            L1 smell/mutable-default-argument `seen`
              fix: Default `seen` to `None` and create `set()` in the body
              | def f(items=[], seen=None, index={}):
              |     if seen is None:
              |         seen = set()
              |     return items, seen, index
              fix: Use an empty frozenset as the default of `seen`
              | def f(items=[], seen=frozenset(), index={}):
              |     return items, seen, index
            L1 smell/mutable-default-argument `index`
              fix: Default `index` to `None` and create `{}` in the body
              | def f(items=[], seen=set(), index=None):
              |     if index is None:
              |         index = {}
              |     return items, seen, index
        "#]],
    );
}

#[test]
fn a_swallowed_exception_is_logged_or_re_raised() {
    // The import goes below the shebang and the coding line, with blank lines before the class.
    check_candidates(
        r#"
#!/usr/bin/env python3
# -*- coding: utf-8 -*-
class Job:
    def run(self):
        try:
            self.step()
        except Exception as err:
            pass
"#,
        expect![[r#"
            L7 smell/except-exception-pass `Exception`
              fix: Log the ignored exception (debug level, with traceback)
              | #!/usr/bin/env python3
              | # -*- coding: utf-8 -*-
              | import logging
              |
              |
              | class Job:
              |     def run(self):
              |         try:
              |             self.step()
              |         except Exception as err:
              |             logging.getLogger(__name__).debug("ignored exception", exc_info=True)
              fix: Re-raise the exception instead of ignoring it [needs a failing test]
              | #!/usr/bin/env python3
              | # -*- coding: utf-8 -*-
              | class Job:
              |     def run(self):
              |         try:
              |             self.step()
              |         except Exception as err:
              |             raise
        "#]],
    );
    // Below a license block, above the comment that leads into the code.
    check_candidates(
        r#"
# Copyright 2024 Example.
# Licensed under the MIT license.

# Retries once.
def retry(fn):
    try:
        fn()
    except Exception:
        pass
"#,
        expect![[r#"
            L8 smell/except-exception-pass `Exception`
              fix: Log the ignored exception (debug level, with traceback)
              | # Copyright 2024 Example.
              | # Licensed under the MIT license.
              |
              | import logging
              |
              |
              | # Retries once.
              | def retry(fn):
              |     try:
              |         fn()
              |     except Exception:
              |         logging.getLogger(__name__).debug("ignored exception", exc_info=True)
              fix: Re-raise the exception instead of ignoring it [needs a failing test]
              | # Copyright 2024 Example.
              | # Licensed under the MIT license.
              |
              | # Retries once.
              | def retry(fn):
              |     try:
              |         fn()
              |     except Exception:
              |         raise
        "#]],
    );
    // `import logging as log` does not bind `logging`; an import above keeps no blank line.
    check_candidates(
        r#"
import logging as log
x = 1
try:
    x = 2
except BaseException:
    pass
"#,
        expect![[r#"
            L5 smell/except-exception-pass `BaseException`
              fix: Log the ignored exception (debug level, with traceback)
              | import logging
              | import logging as log
              | x = 1
              | try:
              |     x = 2
              | except BaseException:
              |     logging.getLogger(__name__).debug("ignored exception", exc_info=True)
              fix: Re-raise the exception instead of ignoring it [needs a failing test]
              | import logging as log
              | x = 1
              | try:
              |     x = 2
              | except BaseException:
              |     raise
        "#]],
    );
}

#[test]
fn a_parameter_hiding_a_builtin_it_calls_gets_fixes_that_reach_the_builtin() {
    // `type(value)` calls the parameter today. Renaming every use keeps that; the alternatives
    // send the call to the builtin, by renaming all but the calls or through `builtins`. A
    // nested function with its own `type` is not this parameter's; in it, a call left alone
    // would reach the outer parameter, not the builtin, so only `builtins` is offered.
    check_candidates(
        r#"
"""Labels."""
import builtins


def label(value, type=None):
    def inner(type):
        return type(1)
    if type is None:
        type = type(value).__name__
    return f"{value}: {type}", inner
"#,
        expect![[r#"
            L5 smell/builtin-shadowing-parameter `type`
              fix: Rename `type` to `type_` (callers passing it by keyword must follow)
              | """Labels."""
              | import builtins
              |
              |
              | def label(value, type_=None):
              |     def inner(type):
              |         return type(1)
              |     if type_ is None:
              |         type_ = type_(value).__name__
              |     return f"{value}: {type_}", inner
              fix: Rename `type` to `type_` except in calls, which reach the builtin `type()` again (callers passing it by keyword must follow) [needs a failing test]
              | """Labels."""
              | import builtins
              |
              |
              | def label(value, type_=None):
              |     def inner(type):
              |         return type(1)
              |     if type_ is None:
              |         type_ = type(value).__name__
              |     return f"{value}: {type_}", inner
              fix: Call the builtin as `builtins.type()`; the parameter keeps its name [needs a failing test]
              | """Labels."""
              | import builtins
              |
              |
              | def label(value, type=None):
              |     def inner(type):
              |         return type(1)
              |     if type is None:
              |         type = builtins.type(value).__name__
              |     return f"{value}: {type}", inner
            L6 smell/builtin-shadowing-parameter `type`
              fix: Rename `type` to `type_` (callers passing it by keyword must follow)
              | """Labels."""
              | import builtins
              |
              |
              | def label(value, type=None):
              |     def inner(type_):
              |         return type_(1)
              |     if type is None:
              |         type = type(value).__name__
              |     return f"{value}: {type}", inner
              fix: Call the builtin as `builtins.type()`; the parameter keeps its name [needs a failing test]
              | """Labels."""
              | import builtins
              |
              |
              | def label(value, type=None):
              |     def inner(type):
              |         return builtins.type(1)
              |     if type is None:
              |         type = type(value).__name__
              |     return f"{value}: {type}", inner
        "#]],
    );
    // Never called: renaming is the only fix.
    check_candidates(
        r#"
def total(values, sum=0):
    return sum + len(values)
"#,
        expect![[r#"
            L1 smell/builtin-shadowing-parameter `sum`
              fix: Rename `sum` to `sum_` (callers passing it by keyword must follow)
              | def total(values, sum_=0):
              |     return sum_ + len(values)
        "#]],
    );
}

/// `repolens fix --json` on `location` with no model configured: no API key, no endpoint, no
/// other `REPOLENS_LLM_*` setting; the cache (baselines, traces) in `cache`.
fn fix_without_model(root: &Path, cache: &Path, location: &str, extra: &[&str]) -> Value {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_repolens"));
    command.args(["fix", "--root"]).arg(root).args([location, "--json"]).args(extra);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("REPOLENS_LLM_")) {
            command.env_remove(key);
        }
    }
    command.env_remove("OPENAI_API_KEY").env("REPOLENS_CACHE_DIR", cache);
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "repolens fix {location} {extra:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs the fix at the fixture's `$0` (its line) and checks what a user sees: a winner that is a
/// tested rule candidate, `failing` (if some test fails before) among the tests it fixed, no
/// regression in the target tests or the whole suite, no model call, nothing written; then
/// `--apply` writes exactly the winner's change. `expect` holds every candidate with its
/// verdict, the winner's diff and the file's text after `--apply`.
#[track_caller]
fn check_fix(fixture: &str, failing: Option<&str>, expect: Expect) {
    let fixture = write_fixture(fixture);
    let (file, offset) = fixture.cursor.clone().expect("the fixture marks the smell with $0");
    let before = fixture.read(file.to_str().unwrap());
    let line = before[..offset].matches('\n').count() + 1;
    let location = format!("{}:{line}", file.display());
    fixture.commit_all("project");
    let tree = tree_bytes(fixture.root());
    let cache = tempfile::tempdir().unwrap();

    let report = fix_without_model(fixture.root(), cache.path(), &location, &[]);
    assert_eq!(tree_bytes(fixture.root()), tree, "the tree changed without --apply");
    assert_eq!(report["applied"], false, "{report:#}");
    assert_eq!(report["model_calls"], 0, "{report:#}");
    let winner = &report["winner"];
    assert!(winner.is_object(), "no winner: {report:#}");
    assert!(winner["origin"].as_str().unwrap().starts_with("rule: "), "{winner:#}");
    assert_eq!(winner["failure"], Value::Null, "{winner:#}");
    assert!(winner["target_run"].is_object(), "the winner was not tested: {winner:#}");
    assert_eq!(winner["target_run"]["counts"]["failed"], 0, "{winner:#}");
    if let Some(failing) = failing {
        assert!(
            winner["targets"].as_array().unwrap().iter().any(|t| t == failing),
            "{failing} is not a target: {winner:#}"
        );
        assert!(
            winner["fixed"].as_array().unwrap().iter().any(|t| t == failing),
            "{failing} is not fixed: {winner:#}"
        );
    }
    assert_eq!(winner["regressions"], 0, "{winner:#}");
    assert_eq!(winner["wider"]["failed"], 0, "the whole suite: {winner:#}");
    assert_eq!(winner["wider"]["regressions"], serde_json::json!([]), "{winner:#}");

    let mut out = String::new();
    for candidate in report["candidates"].as_array().unwrap() {
        let verdict = candidate["failure"].as_str().unwrap_or("passed");
        out.push_str(&format!("{verdict}: {}\n", candidate["description"].as_str().unwrap()));
    }
    for rejected in report["rejected"].as_array().unwrap() {
        out.push_str(&format!("rejected: {}: {}\n", rejected["description"], rejected["error"]));
    }
    out.push_str(&format!("winner: {}\n", winner["description"].as_str().unwrap()));
    // Trailing spaces (a blank context line is " ") trimmed, to keep them out of `expect`.
    for line in winner["diff"].as_str().unwrap().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }

    let applied = fix_without_model(fixture.root(), cache.path(), &location, &["--apply"]);
    assert_eq!(applied["applied"], true, "{applied:#}");
    assert_eq!(applied["winner"]["diff"], winner["diff"], "the second run chose another fix");
    let after = fixture.read(file.to_str().unwrap());
    assert_ne!(after, before);
    out.push_str(&format!("after --apply, {}:\n", file.display()));
    for line in after.lines() {
        out.push_str(format!("| {line}").trim_end());
        out.push('\n');
    }
    let mut expected_tree = tree;
    expected_tree.insert(file.clone(), after.into_bytes());
    assert_eq!(tree_bytes(fixture.root()), expected_tree, "--apply wrote more than the winner");
    expect.assert_eq(&out);
}

#[test]
fn mutable_default_argument_shared_between_calls() {
    check_fix(
        r#"
//- /pkg/__init__.py
//- /pkg/cart.py
def add_item(item, items=$0[]):
    items.append(item)
    return items
//- /tests/test_cart.py
from pkg.cart import add_item


def test_an_explicit_cart_is_extended():
    assert add_item(3, [1, 2]) == [1, 2, 3]


def test_each_call_starts_a_new_cart():
    assert add_item(1) == [1]
    assert add_item(2) == [2]
"#,
        Some("tests/test_cart.py::test_each_call_starts_a_new_cart"),
        expect![[r#"
            passed: Default `items` to `None` and create `[]` in the body
            assertion failure: Use an empty tuple as the default of `items`
            winner: Default `items` to `None` and create `[]` in the body
            --- a/pkg/cart.py
            +++ b/pkg/cart.py
            @@ -1,3 +1,5 @@
            -def add_item(item, items=[]):
            +def add_item(item, items=None):
            +    if items is None:
            +        items = []
                 items.append(item)
                 return items
            after --apply, pkg/cart.py:
            | def add_item(item, items=None):
            |     if items is None:
            |         items = []
            |     items.append(item)
            |     return items
        "#]],
    );
}

#[test]
fn bare_except_swallowing_system_exit() {
    check_fix(
        r#"
//- /pkg/__init__.py
//- /pkg/runner.py
def run(task):
    """Runs `task`; a task that fails gives None."""
    try:
        return task()
    $0except:
        return None
//- /tests/test_runner.py
import sys

import pytest

from pkg.runner import run


def test_a_failing_task_gives_none():
    assert run(lambda: 1 / 0) is None


def test_exit_is_not_swallowed():
    with pytest.raises(SystemExit):
        run(lambda: sys.exit(2))
"#,
        Some("tests/test_runner.py::test_exit_is_not_swallowed"),
        expect![[r#"
            passed: Catch `Exception` instead of everything
            winner: Catch `Exception` instead of everything
            --- a/pkg/runner.py
            +++ b/pkg/runner.py
            @@ -2,5 +2,5 @@
                 """Runs `task`; a task that fails gives None."""
                 try:
                     return task()
            -    except:
            +    except Exception:
                     return None
            after --apply, pkg/runner.py:
            | def run(task):
            |     """Runs `task`; a task that fails gives None."""
            |     try:
            |         return task()
            |     except Exception:
            |         return None
        "#]],
    );
}

#[test]
fn comparison_to_none_fooled_by_eq() {
    check_fix(
        r#"
//- /pkg/__init__.py
//- /pkg/describe.py
def describe(value):
    if $0value == None:
        return "missing"
    return f"value {value!r}"
//- /tests/test_describe.py
from pkg.describe import describe


class EqualToEverything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __repr__(self):
        return "EqualToEverything()"


def test_none_is_missing():
    assert describe(None) == "missing"


def test_an_object_equal_to_everything_is_not_missing():
    assert describe(EqualToEverything()) == "value EqualToEverything()"
"#,
        Some("tests/test_describe.py::test_an_object_equal_to_everything_is_not_missing"),
        expect![[r#"
            passed: Use `is` instead of `==`
            winner: Use `is` instead of `==`
            --- a/pkg/describe.py
            +++ b/pkg/describe.py
            @@ -1,4 +1,4 @@
             def describe(value):
            -    if value == None:
            +    if value is None:
                     return "missing"
                 return f"value {value!r}"
            after --apply, pkg/describe.py:
            | def describe(value):
            |     if value is None:
            |         return "missing"
            |     return f"value {value!r}"
        "#]],
    );
}

#[test]
fn assert_on_tuple_that_never_fails() {
    check_fix(
        r#"
//- /pkg/__init__.py
//- /pkg/account.py
def withdraw(balance, amount):
    assert $0(amount <= balance, "insufficient funds")
    return balance - amount
//- /tests/test_account.py
import pytest

from pkg.account import withdraw


def test_withdraw():
    assert withdraw(10, 3) == 7


def test_an_overdraft_is_refused():
    with pytest.raises(AssertionError, match="insufficient funds"):
        withdraw(1, 3)
"#,
        Some("tests/test_account.py::test_an_overdraft_is_refused"),
        expect![[r#"
            passed: Assert the condition, with the message after a comma
            winner: Assert the condition, with the message after a comma
            --- a/pkg/account.py
            +++ b/pkg/account.py
            @@ -1,3 +1,3 @@
             def withdraw(balance, amount):
            -    assert (amount <= balance, "insufficient funds")
            +    assert amount <= balance, "insufficient funds"
                 return balance - amount
            after --apply, pkg/account.py:
            | def withdraw(balance, amount):
            |     assert amount <= balance, "insufficient funds"
            |     return balance - amount
        "#]],
    );
}

/// The body calls `type(value)` meaning the builtin, and a test passes `type=` by keyword.
/// Renaming everything keeps calling the parameter; renaming all but the call breaks the
/// keyword caller; calling `builtins.type` keeps the interface and fixes the test.
#[test]
fn builtin_shadowing_parameter_hiding_a_builtin_the_body_calls() {
    check_fix(
        r#"
//- /pkg/__init__.py
//- /pkg/labels.py
def label(value, $0type=None):
    """`value` with the name of its type, or the name given."""
    if type is None:
        type = type(value).__name__
    return f"{value}: {type}"
//- /tests/test_labels.py
from pkg.labels import label


def test_a_name_given_by_keyword():
    assert label(3, type="count") == "3: count"


def test_the_name_of_the_type_by_default():
    assert label(3) == "3: int"
"#,
        Some("tests/test_labels.py::test_the_name_of_the_type_by_default"),
        expect![[r#"
            passed: Call the builtin as `builtins.type()`; the parameter keeps its name
            assertion failure: Rename `type` to `type_` (callers passing it by keyword must follow)
            assertion failure: Rename `type` to `type_` except in calls, which reach the builtin `type()` again (callers passing it by keyword must follow)
            winner: Call the builtin as `builtins.type()`; the parameter keeps its name
            --- a/pkg/labels.py
            +++ b/pkg/labels.py
            @@ -1,5 +1,8 @@
            +import builtins
            +
            +
             def label(value, type=None):
                 """`value` with the name of its type, or the name given."""
                 if type is None:
            -        type = type(value).__name__
            +        type = builtins.type(value).__name__
                 return f"{value}: {type}"
            after --apply, pkg/labels.py:
            | import builtins
            |
            |
            | def label(value, type=None):
            |     """`value` with the name of its type, or the name given."""
            |     if type is None:
            |         type = builtins.type(value).__name__
            |     return f"{value}: {type}"
        "#]],
    );
}

#[test]
fn except_exception_pass_hiding_an_error_the_caller_expects() {
    check_fix(
        r#"
//- /pkg/__init__.py
//- /pkg/store.py
class Store:
    def __init__(self):
        self.data = {}

    def validate(self, key):
        if not key:
            raise ValueError("empty key")


def save(store, key, value):
    try:
        store.validate(key)
    $0except Exception:
        pass
    store.data[key] = value
//- /tests/test_store.py
import pytest

from pkg.store import Store, save


def test_save():
    store = Store()
    save(store, "a", 1)
    assert store.data == {"a": 1}


def test_an_empty_key_is_refused():
    store = Store()
    with pytest.raises(ValueError):
        save(store, "", 1)
    assert store.data == {}
"#,
        Some("tests/test_store.py::test_an_empty_key_is_refused"),
        expect![[r#"
            passed: Re-raise the exception instead of ignoring it
            other failure: Log the ignored exception (debug level, with traceback)
            winner: Re-raise the exception instead of ignoring it
            --- a/pkg/store.py
            +++ b/pkg/store.py
            @@ -11,5 +11,5 @@
                 try:
                     store.validate(key)
                 except Exception:
            -        pass
            +        raise
                 store.data[key] = value
            after --apply, pkg/store.py:
            | class Store:
            |     def __init__(self):
            |         self.data = {}
            |
            |     def validate(self, key):
            |         if not key:
            |             raise ValueError("empty key")
            |
            |
            | def save(store, key, value):
            |     try:
            |         store.validate(key)
            |     except Exception:
            |         raise
            |     store.data[key] = value
        "#]],
    );
}

/// The same swallowed exception where no test expects it: re-raising passes the tests too, and
/// is the smaller change, but nothing shows it is wanted, so logging wins.
#[test]
fn re_raising_does_not_win_without_a_failing_test_that_needs_it() {
    check_fix(
        r#"
//- /pkg/__init__.py
//- /pkg/cleanup.py
import os


def remove_quietly(path):
    try:
        os.remove(path)
    $0except Exception:
        pass
//- /tests/test_cleanup.py
from pkg.cleanup import remove_quietly


def test_a_file_is_removed(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    remove_quietly(str(path))
    assert not path.exists()
"#,
        None,
        expect![[r#"
            passed: Log the ignored exception (debug level, with traceback)
            fixes no failing test: Re-raise the exception instead of ignoring it
            winner: Log the ignored exception (debug level, with traceback)
            --- a/pkg/cleanup.py
            +++ b/pkg/cleanup.py
            @@ -1,3 +1,4 @@
            +import logging
             import os


            @@ -5,4 +6,4 @@
                 try:
                     os.remove(path)
                 except Exception:
            -        pass
            +        logging.getLogger(__name__).debug("ignored exception", exc_info=True)
            after --apply, pkg/cleanup.py:
            | import logging
            | import os
            |
            |
            | def remove_quietly(path):
            |     try:
            |         os.remove(path)
            |     except Exception:
            |         logging.getLogger(__name__).debug("ignored exception", exc_info=True)
        "#]],
    );
}
