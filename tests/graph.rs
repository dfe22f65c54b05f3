//! The symbol graph on fixture packages: resolved edges (imports, re-exports, inheritance,
//! calls through `self`, aliases, tests), by-name guesses, PageRank, and — as a property — that
//! updating files one at a time always gives the graph a rebuild gives.

use std::sync::Arc;

use expect_test::expect;
use proptest::prelude::*;
use repolens::{
    graph::{EdgeKind, SymbolGraph},
    syntax::{FileSummary, LanguageId, Languages, ParseBudget, parse_text},
    workspace::FileId,
};

fn summarize(text: &str) -> Arc<FileSummary> {
    let languages = Languages::embedded();
    let lang = languages.get(LanguageId::Python);
    let tree = parse_text(lang, text, None, ParseBudget::default()).unwrap();
    Arc::new(FileSummary::build(lang, &tree, text))
}

/// `//- /path` fixture → (file id, relative path, summary) in order.
fn files(fixture: &str) -> Vec<(FileId, String, Arc<FileSummary>)> {
    let mut out = Vec::new();
    for (i, chunk) in fixture.split("//- /").filter(|c| !c.trim().is_empty()).enumerate() {
        let (path, body) = chunk.split_once('\n').unwrap();
        out.push((FileId(i as u32), path.trim().to_owned(), summarize(body)));
    }
    out
}

fn render(graph: &SymbolGraph) -> String {
    graph
        .canonical_edges()
        .into_iter()
        .filter(|e| e.2 != EdgeKind::Contains)
        .map(|(from, to, kind, count, confidence)| {
            let extra = if count > 1 { format!(" x{count}") } else { String::new() };
            let conf = if confidence < 1000 {
                format!(" ({:.2})", confidence as f64 / 1000.0)
            } else {
                String::new()
            };
            format!("{from} -> {to} {kind:?}{extra}{conf}\n")
        })
        .collect()
}

const PACKAGE: &str = r#"
//- /pkg/__init__.py
from .models import Model, helper
from .sub import *
//- /pkg/models.py
import os
from .base import Base


class Model(Base):
    def save(self):
        self.validate()
        return helper(os.path.join("a", "b"))

    def render(self):
        return self.describe()


def helper(x):
    return x
//- /pkg/base.py
class Base:
    def validate(self):
        return True

    def describe(self):
        return "base"
//- /pkg/sub/__init__.py
from .tools import tool
//- /pkg/sub/tools.py
def tool():
    from ..models import helper
    return helper(1)
//- /app.py
import pkg
from pkg import Model, tool
from pkg.sub.tools import tool as t2


def main():
    m = Model()
    m.save()
    pkg.helper(2)
    tool()
    t2()
    unknown_function()
    return m.render()


class Special(Model):
    def go(self):
        return self.describe()
//- /tests/test_models.py
from pkg.models import Model


def test_save():
    assert Model().save()


class TestRender:
    def test_render(self):
        Model().render()
"#;

#[test]
fn edges_follow_python_name_resolution() {
    let graph = SymbolGraph::build(files(PACKAGE));
    expect![[r#"
        app.py:: -> pkg/__init__.py:: Imports
        app.py:: -> pkg/models.py::Model Imports
        app.py:: -> pkg/sub/tools.py::tool Imports x2
        app.py::Special -> pkg/models.py::Model Inherits
        app.py::Special.go -> pkg/base.py::Base.describe Calls
        app.py::main -> pkg/models.py::Model Calls
        app.py::main -> pkg/models.py::Model.render Calls (0.50)
        app.py::main -> pkg/models.py::Model.save Calls (0.50)
        app.py::main -> pkg/models.py::helper Calls
        app.py::main -> pkg/sub/tools.py::tool Calls x2
        pkg/__init__.py:: -> pkg/models.py::Model Imports
        pkg/__init__.py:: -> pkg/models.py::helper Imports
        pkg/__init__.py:: -> pkg/sub/__init__.py:: Imports
        pkg/models.py:: -> pkg/base.py::Base Imports
        pkg/models.py::Model -> pkg/base.py::Base Inherits
        pkg/models.py::Model.render -> pkg/base.py::Base.describe Calls
        pkg/models.py::Model.save -> pkg/base.py::Base.validate Calls
        pkg/models.py::Model.save -> pkg/models.py::helper Calls
        pkg/sub/__init__.py:: -> pkg/sub/tools.py::tool Imports
        pkg/sub/tools.py::tool -> pkg/models.py::helper Imports
        pkg/sub/tools.py::tool -> pkg/models.py::helper Calls
        tests/test_models.py:: -> pkg/models.py::Model Imports
        tests/test_models.py:: -> pkg/models.py::Model Tests
        tests/test_models.py::TestRender.test_render -> pkg/models.py::Model Calls
        tests/test_models.py::TestRender.test_render -> pkg/models.py::Model Tests
        tests/test_models.py::TestRender.test_render -> pkg/models.py::Model.render Calls (0.50)
        tests/test_models.py::TestRender.test_render -> pkg/models.py::Model.render Tests (0.50)
        tests/test_models.py::test_save -> pkg/models.py::Model Calls
        tests/test_models.py::test_save -> pkg/models.py::Model Tests
        tests/test_models.py::test_save -> pkg/models.py::Model.save Calls (0.50)
        tests/test_models.py::test_save -> pkg/models.py::Model.save Tests (0.50)
    "#]]
    .assert_eq(&render(&graph));
}

#[test]
fn src_layout_and_namespace_packages_resolve() {
    let graph = SymbolGraph::build(files(
        r#"
//- /src/lib/__init__.py
from lib.core import run
//- /src/lib/core.py
def run():
    pass
//- /scripts/job.py
from lib import run
import helpers


def go():
    run()
    helpers.assist()
//- /scripts/helpers.py
def assist():
    pass
"#,
    ));
    expect![[r#"
        scripts/job.py:: -> scripts/helpers.py:: Imports
        scripts/job.py:: -> src/lib/core.py::run Imports
        scripts/job.py::go -> scripts/helpers.py::assist Calls
        scripts/job.py::go -> src/lib/core.py::run Calls
        src/lib/__init__.py:: -> src/lib/core.py::run Imports
    "#]]
    .assert_eq(&render(&graph));
}

#[test]
fn pagerank_favours_what_is_used_and_follows_seeds() {
    let graph = SymbolGraph::build(files(PACKAGE));
    let ranks = graph.pagerank(&[], None);
    let total: f64 = ranks.iter().map(|(_, s)| s).sum();
    assert!((total - 1.0).abs() < 1e-6, "ranks sum to {total}");
    let node = |file: u32, name: &str| {
        let summary = graph.summary(FileId(file)).unwrap();
        let idx = summary.symbols.iter().position(|s| &*s.name == name).unwrap();
        graph.symbol_node(FileId(file), idx as u32).unwrap()
    };
    // `helper` (models.py, file 1) is called and imported from many places; `describe` once.
    assert!(ranks.get(node(1, "helper")) > ranks.get(node(2, "describe")));
    let seeded = graph.pagerank(&[(node(2, "describe"), 1.0)], Some(&ranks));
    assert!(seeded.get(node(2, "describe")) > ranks.get(node(2, "describe")));
    assert!(seeded.get(node(1, "render")) > ranks.get(node(1, "render")), "the caller of the seed rises");
}

/// Random edits of a small package: rename definitions, add and remove calls and imports.
fn edited(base: &str, edits: &[(usize, u8)]) -> String {
    let mut lines: Vec<String> = base.lines().map(str::to_owned).collect();
    for &(at, op) in edits {
        if lines.is_empty() {
            break;
        }
        let i = at % lines.len();
        let indent: String = lines[i].chars().take_while(|c| c.is_whitespace()).collect();
        let body_indent =
            if lines[i].trim_end().ends_with(':') { format!("{indent}    ") } else { indent.clone() };
        match op % 8 {
            0 => lines[i] = lines[i].replace("helper", "helper2").replace("tool", "tool2"),
            6 => lines[i] = lines[i].replace("(Base)", "()").replace("class Base:", "class Base(Model):"),
            7 => lines.insert(i + 1, format!("{indent}from .base import *")),
            1 => lines.insert(i + 1, format!("{body_indent}helper(1)")),
            2 => lines.insert(i + 1, format!("{body_indent}self.validate()")),
            3 => lines.insert(i + 1, format!("{indent}from .models import helper")),
            4 => lines.insert(i + 1, format!("{indent}def tool(): pass")),
            _ => {
                lines.remove(i);
            }
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn incremental_updates_equal_a_rebuild(
        steps in prop::collection::vec((0usize..7, prop::collection::vec((0usize..40, 0u8..8), 1..4)), 1..8)
    ) {
        let mut current = files(PACKAGE);
        let mut graph = SymbolGraph::build(current.clone());
        for (which, edits) in steps {
            let slot = which % current.len();
            let (file, path, _) = current[slot].clone();
            let original = PACKAGE.split("//- /").find(|c| c.starts_with(&path)).unwrap();
            let body = original.split_once('\n').unwrap().1;
            let text = edited(body, &edits);
            let summary = summarize(&text);
            graph.update_file(file, path.clone(), summary.clone());
            current[slot] = (file, path, summary);
            let rebuilt = SymbolGraph::build(current.clone());
            prop_assert_eq!(graph.canonical_edges(), rebuilt.canonical_edges());
        }
    }
}

/// Edits aimed at each way one file's resolution depends on another, each checked against a
/// rebuild (random edits reach some of these only rarely).
#[test]
fn targeted_updates_equal_a_rebuild() {
    let cases: [(&str, &str, &str); 6] = [
        // A base class removed: `Special.go`'s `self.describe()` came through `Model`'s base.
        ("pkg/models.py", "class Model(Base):", "class Model():"),
        // A definition renamed that other files import and call.
        ("pkg/models.py", "def helper(x):", "def helper_renamed(x):"),
        // A re-export removed from a package `__init__`.
        ("pkg/__init__.py", "from .models import Model, helper", "from .models import Model"),
        // A wildcard import added.
        ("pkg/base.py", "class Base:", "from .models import *\n\n\nclass Base:"),
        // A method added where a by-name guess was the only candidate.
        (
            "pkg/base.py",
            "    def describe(self):",
            "    def render(self):\n        return 1\n\n    def describe(self):",
        ),
        // A method removed that `self.` calls resolved to through the base.
        ("pkg/base.py", "    def validate(self):\n        return True\n", ""),
    ];
    for (path, from, to) in cases {
        let mut current = files(PACKAGE);
        let mut graph = SymbolGraph::build(current.clone());
        let slot = current.iter().position(|(_, p, _)| p == path).unwrap();
        let original =
            PACKAGE.split("//- /").find(|c| c.starts_with(path)).unwrap().split_once('\n').unwrap().1;
        assert!(original.contains(from), "{path} has no {from:?}");
        let summary = summarize(&original.replace(from, to));
        let (file, rel, _) = current[slot].clone();
        graph.update_file(file, rel.clone(), summary.clone());
        current[slot] = (file, rel, summary);
        assert_eq!(render(&graph), render(&SymbolGraph::build(current)), "after {path}: {from:?} -> {to:?}");
    }
}
