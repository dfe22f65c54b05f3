//! Code smells that have a mechanical fix: found by `grammars/<language>/smells.scm` (each
//! pattern captures the flagged node as `@smell.<rule>`), checked here where a query cannot say
//! enough, and given the edits a fix needs.
//!
//! A smell is plain data: what it is, where, a one-line message, and — when the fix is
//! mechanical and safe to propose — a [`SmellFix`] with byte-range edits of the same text. The
//! repair pipeline turns those into tested candidates; nothing here applies them. Rules are named
//! after the pattern they flag (`mutable-default-argument`, not `avoid-mutable-defaults`).

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use streaming_iterator::StreamingIterator as _;
use tree_sitter::{Node, Query, QueryCursor};

use crate::{
    syntax::{Language, PatternMatch, SyntaxTree},
    text::TextRange,
};

/// The rules, one per pattern in `smells.scm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmellKind {
    MutableDefaultArgument,
    BareExcept,
    ComparisonToNone,
    AssertOnTuple,
    BuiltinShadowingParameter,
    ExceptExceptionPass,
}

impl SmellKind {
    pub const ALL: [SmellKind; 6] = [
        SmellKind::MutableDefaultArgument,
        SmellKind::BareExcept,
        SmellKind::ComparisonToNone,
        SmellKind::AssertOnTuple,
        SmellKind::BuiltinShadowingParameter,
        SmellKind::ExceptExceptionPass,
    ];

    /// The rule's name, as in the query's `@smell.<name>` capture.
    pub fn name(self) -> &'static str {
        match self {
            SmellKind::MutableDefaultArgument => "mutable-default-argument",
            SmellKind::BareExcept => "bare-except",
            SmellKind::ComparisonToNone => "comparison-to-none",
            SmellKind::AssertOnTuple => "assert-on-tuple",
            SmellKind::BuiltinShadowingParameter => "builtin-shadowing-parameter",
            SmellKind::ExceptExceptionPass => "except-exception-pass",
        }
    }

    /// The diagnostic code: `smell/<name>`.
    pub fn code(self) -> String {
        format!("smell/{}", self.name())
    }

    fn from_capture(capture: &str) -> Option<SmellKind> {
        let name = capture.strip_prefix("smell.")?;
        SmellKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Smell {
    pub kind: SmellKind,
    /// What the diagnostic underlines.
    pub range: TextRange,
    pub message: String,
    /// What the smell is about: the parameter's name, the operator, the exception caught.
    pub subject: String,
    /// The mechanical fix, when there is one that keeps the code valid.
    pub fix: Option<SmellFix>,
}

/// A fix as edits of the text the smell was found in (byte ranges into it, applied together).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmellFix {
    /// What the fix does, as a code action would title it.
    pub title: String,
    pub edits: Vec<FixEdit>,
    /// The fix changes what callers see (a renamed parameter they may pass by keyword), so it
    /// needs the project's tests before it is offered.
    pub changes_interface: bool,
    /// An alternative to the smell's own fix that guesses what the code meant (re-raise what
    /// was swallowed, call the builtin where the code called the parameter): right only where a
    /// test shows it, so it is selected only when it makes a failing test pass — never just
    /// because it is the smaller change.
    #[serde(default)]
    pub needs_failing_test: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixEdit {
    pub range: TextRange,
    pub new_text: String,
}

/// Every smell in a file, in document order. `text` must be the text `tree` was parsed from.
pub fn find_smells(lang: &Language, tree: &SyntaxTree, text: &str) -> Vec<Smell> {
    let Some(query) = lang.smells.as_ref() else { return Vec::new() };
    thread_local! {
        static CURSOR: RefCell<QueryCursor> = RefCell::new(QueryCursor::new());
    }
    let matcher = SmellMatcher::new(query);
    let mut out = Vec::new();
    CURSOR.with(|cursor| {
        let mut cursor = cursor.borrow_mut();
        cursor.set_byte_range(0..usize::MAX);
        let mut matches = cursor.matches(query, tree.root_node(), text.as_bytes());
        while let Some(m) = matches.next() {
            out.extend(matcher.smell_of(&PatternMatch::from_query_match(m), tree, text));
        }
    });
    in_document_order(out)
}

/// Turns matches of the `smells.scm` patterns into smells. Capture indices are those of the
/// query it was built for, which may be the language's combined query (`FileQueries`).
pub(crate) struct SmellMatcher {
    kinds: Vec<Option<SmellKind>>,
    parameter: Option<u32>,
    exception: Option<u32>,
    pass: Option<u32>,
}

impl SmellMatcher {
    pub(crate) fn new(query: &Query) -> SmellMatcher {
        let names = query.capture_names();
        let find = |wanted: &str| names.iter().position(|n| *n == wanted).map(|i| i as u32);
        SmellMatcher {
            kinds: names.iter().map(|n| SmellKind::from_capture(n)).collect(),
            parameter: find("parameter"),
            exception: find("exception"),
            pass: find("pass"),
        }
    }

    /// The smell one match flags, if it flags one.
    pub(crate) fn smell_of(&self, m: &PatternMatch<'_, '_>, tree: &SyntaxTree, text: &str) -> Option<Smell> {
        let capture = |index: Option<u32>| m.captures.iter().find(|c| Some(c.index) == index).map(|c| c.node);
        let mut flagged = None;
        for c in m.captures {
            if let Some(kind) = self.kinds[c.index as usize] {
                flagged = Some((kind, c.node));
            }
        }
        let (kind, node) = flagged?;
        match kind {
            SmellKind::MutableDefaultArgument => {
                capture(self.parameter).map(|p| mutable_default(node, p, text))
            }
            SmellKind::BareExcept => Some(bare_except(node)),
            SmellKind::ComparisonToNone => comparison_to_none(node),
            SmellKind::AssertOnTuple => Some(assert_on_tuple(node, text)),
            SmellKind::BuiltinShadowingParameter => builtin_shadowing(node, text),
            SmellKind::ExceptExceptionPass => match (capture(self.exception), capture(self.pass)) {
                (Some(exc), Some(pass)) => Some(except_pass(node, exc, pass, tree, text)),
                _ => None,
            },
        }
    }
}

/// Smells sorted by position, each flagged once (several patterns may flag the same node).
pub(crate) fn in_document_order(mut smells: Vec<Smell>) -> Vec<Smell> {
    smells.sort_by_key(|s| (s.range.start, s.kind));
    smells.dedup_by(|a, b| a.kind == b.kind && a.range == b.range);
    smells
}

fn range(node: Node<'_>) -> TextRange {
    TextRange::from_usize(node.byte_range())
}

fn node_text<'a>(node: Node<'_>, text: &'a str) -> &'a str {
    &text[node.byte_range()]
}

fn edit(range: TextRange, new_text: impl Into<String>) -> FixEdit {
    FixEdit { range, new_text: new_text.into() }
}

/// `def f(x=[])` → `def f(x=None)` and `if x is None: x = []` at the top of the body.
fn mutable_default(value: Node<'_>, parameter: Node<'_>, text: &str) -> Smell {
    let name = node_text(parameter, text).to_owned();
    let default = node_text(value, text).to_owned();
    let message = format!(
        "mutable default `{default}` for `{name}` is created once and shared by every call; \
         default to `None` and create it inside"
    );
    let function = parameter.parent().and_then(|p| p.parent()).and_then(|p| p.parent());
    let fix = function
        .filter(|f| f.kind() == "function_definition")
        .and_then(|f| f.child_by_field_name("body"))
        .and_then(|body| body_insertion(body, text))
        .map(|(offset, indent)| {
            let unit = if indent.contains('\t') { "\t" } else { "    " };
            let init = format!("{indent}if {name} is None:\n{indent}{unit}{name} = {default}\n");
            SmellFix {
                title: format!("Default `{name}` to `None` and create `{default}` in the body"),
                edits: vec![edit(range(value), "None"), edit(TextRange::new(offset, offset), init)],
                changes_interface: false,
                needs_failing_test: false,
            }
        });
    Smell { kind: SmellKind::MutableDefaultArgument, range: range(value), message, subject: name, fix }
}

/// Where statements can be added at the top of a function body (after its docstring): the
/// offset of a line start and that line's indentation. `None` when the body shares its line with
/// the `def` (`def f(x=[]): return x`), where inserting lines would need a reformat.
fn body_insertion(body: Node<'_>, text: &str) -> Option<(u32, String)> {
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> = body.named_children(&mut cursor).filter(|n| !n.is_extra()).collect();
    let first = *statements.first()?;
    let line_start = |offset: usize| text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let first_start = line_start(first.start_byte());
    let indent = &text[first_start..first.start_byte()];
    if !indent.chars().all(|c| c == ' ' || c == '\t') || indent.is_empty() {
        return None;
    }
    let is_docstring = first.kind() == "expression_statement"
        && first.named_child_count() == 1
        && first.named_child(0).is_some_and(|c| c.kind() == "string");
    let offset = match (is_docstring, statements.get(1)) {
        (false, _) => first_start,
        (true, Some(next)) => line_start(next.start_byte()),
        // Only a docstring: after the line it ends on, if that line ends.
        (true, None) => first.end_byte() + text[first.end_byte()..].find('\n')? + 1,
    };
    Some((offset as u32, indent.to_owned()))
}

/// `except:` → `except Exception:`.
fn bare_except(clause: Node<'_>) -> Smell {
    let keyword = clause.child(0).map_or(range(clause), range);
    Smell {
        kind: SmellKind::BareExcept,
        range: keyword,
        message: "bare `except:` also catches `KeyboardInterrupt` and `SystemExit`; catch `Exception` \
                  (or something narrower)"
            .to_owned(),
        subject: "except".to_owned(),
        fix: Some(SmellFix {
            title: "Catch `Exception` instead of everything".to_owned(),
            edits: vec![edit(keyword, "except Exception")],
            changes_interface: false,
            needs_failing_test: false,
        }),
    }
}

/// `x == None` → `x is None`, `x != None` → `x is not None`. The query matches every comparison
/// with a `None` operand; only `==`/`!=` right next to it are flagged.
fn comparison_to_none(comparison: Node<'_>) -> Option<Smell> {
    let mut cursor = comparison.walk();
    let children: Vec<Node<'_>> = comparison.children(&mut cursor).filter(|n| !n.is_extra()).collect();
    let operator = children.iter().enumerate().find_map(|(idx, child)| {
        if !matches!(child.kind(), "==" | "!=") {
            return None;
        }
        let next_to_none = [idx.checked_sub(1), Some(idx + 1)]
            .into_iter()
            .flatten()
            .any(|i| children.get(i).is_some_and(|n| n.kind() == "none"));
        next_to_none.then_some(*child)
    })?;
    let (op, replacement) = match operator.kind() {
        "==" => ("==", "is"),
        _ => ("!=", "is not"),
    };
    Some(Smell {
        kind: SmellKind::ComparisonToNone,
        range: range(comparison),
        message: format!("`{op} None` calls `__eq__`, which a class can override; use `{replacement} None`"),
        subject: op.to_owned(),
        fix: Some(SmellFix {
            title: format!("Use `{replacement}` instead of `{op}`"),
            edits: vec![edit(range(operator), replacement)],
            changes_interface: false,
            needs_failing_test: false,
        }),
    })
}

/// `assert (x, "message")` → `assert x, "message"`; with more than two elements there is no
/// mechanical reading of what was meant.
fn assert_on_tuple(tuple: Node<'_>, text: &str) -> Smell {
    let mut cursor = tuple.walk();
    let items: Vec<Node<'_>> = tuple.named_children(&mut cursor).filter(|n| !n.is_extra()).collect();
    let plain = items.iter().all(|n| n.kind() != "list_splat" && n.kind() != "parenthesized_list_splat");
    let fix = (plain && (1..=2).contains(&items.len())).then(|| {
        // An element spanning lines keeps parentheses so the statement stays one logical line.
        let part = |node: &Node<'_>| {
            let t = node_text(*node, text);
            if t.contains('\n') { format!("({t})") } else { t.to_owned() }
        };
        let new_text = items.iter().map(part).collect::<Vec<_>>().join(", ");
        SmellFix {
            title: "Assert the condition, with the message after a comma".to_owned(),
            edits: vec![edit(range(tuple), new_text)],
            changes_interface: false,
            needs_failing_test: false,
        }
    });
    Smell {
        kind: SmellKind::AssertOnTuple,
        range: range(tuple),
        message: "assert on a non-empty tuple is always true, so it never fails; drop the parentheses"
            .to_owned(),
        subject: node_text(tuple, text).chars().take(80).collect(),
        fix,
    }
}

/// A parameter named `list`, `type`, `id` …: renamed to `list_` in its function. Callers that
/// pass it by keyword must follow, so the fix is marked as changing the interface.
fn builtin_shadowing(name: Node<'_>, text: &str) -> Option<Smell> {
    let builtin = node_text(name, text);
    let mut function = name.parent()?;
    while function.kind() != "function_definition" {
        if matches!(function.kind(), "lambda" | "module" | "class_definition") {
            return None;
        }
        function = function.parent()?;
    }
    let renamed = format!("{builtin}_");
    let mut edits = vec![edit(range(name), renamed.clone())];
    if let Some(body) = function.child_by_field_name("body") {
        collect_uses(body, builtin, text, &mut |node| edits.push(edit(range(node), renamed.clone())));
    }
    Some(Smell {
        kind: SmellKind::BuiltinShadowingParameter,
        range: range(name),
        message: format!("parameter `{builtin}` hides the builtin `{builtin}()` in this function"),
        subject: builtin.to_owned(),
        fix: Some(SmellFix {
            title: format!("Rename `{builtin}` to `{renamed}` (callers passing it by keyword must follow)"),
            edits,
            changes_interface: true,
            needs_failing_test: false,
        }),
    })
}

/// Identifiers in `node` that read or bind `name` in the same scope: not attribute names
/// (`x.list`), not keyword names in calls (`f(list=1)`), and not inside nested functions,
/// lambdas or classes that bind their own `name`.
fn collect_uses(node: Node<'_>, name: &str, text: &str, found: &mut dyn FnMut(Node<'_>)) {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "identifier" if node_text(node, text) == name => {
                let parent = node.parent();
                let is_attribute_name = parent.is_some_and(|p| {
                    p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(node)
                });
                let is_keyword_name = parent.is_some_and(|p| {
                    p.kind() == "keyword_argument" && p.child_by_field_name("name") == Some(node)
                });
                if !is_attribute_name && !is_keyword_name {
                    found(node);
                }
            }
            "function_definition" | "lambda" | "class_definition" if rebinds(node, name, text) => continue,
            _ => {}
        }
        let mut cursor = node.walk();
        let mut children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        children.reverse();
        stack.extend(children);
    }
}

/// Whether a nested scope binds `name` itself (a parameter of that name, or a class — whose
/// body is its own namespace): then its uses are not ours.
fn rebinds(scope: Node<'_>, name: &str, text: &str) -> bool {
    let params = match scope.kind() {
        "class_definition" => return true,
        _ => scope.child_by_field_name("parameters"),
    };
    let Some(params) = params else { return false };
    let mut cursor = params.walk();
    for param in params.named_children(&mut cursor) {
        let id = match param.kind() {
            "identifier" => Some(param),
            _ => param.child_by_field_name("name").or_else(|| param.named_child(0)),
        };
        if id.is_some_and(|id| node_text(id, text) == name) {
            return true;
        }
    }
    false
}

/// `except Exception: pass` → log the exception at debug level instead of dropping it.
fn except_pass(
    clause: Node<'_>,
    exception: Node<'_>,
    pass: Node<'_>,
    tree: &SyntaxTree,
    text: &str,
) -> Smell {
    let caught = node_text(exception, text).to_owned();
    let mut edits =
        vec![edit(range(pass), "logging.getLogger(__name__).debug(\"ignored exception\", exc_info=True)")];
    if let Some(insert) = import_edit(tree.root_node(), text, "logging") {
        edits.insert(0, insert);
    }
    Smell {
        kind: SmellKind::ExceptExceptionPass,
        range: TextRange::new(clause.start_byte() as u32, exception.end_byte() as u32),
        message: format!(
            "`except {caught}: pass` hides every error without a trace; handle it, narrow it, or at \
             least log it"
        ),
        subject: caught,
        fix: Some(SmellFix {
            title: "Log the ignored exception (debug level, with traceback)".to_owned(),
            edits,
            changes_interface: false,
            needs_failing_test: false,
        }),
    }
}

/// An edit adding `import {module}` at the top of the module — after a shebang or coding line,
/// its docstring and `from __future__` imports, with PEP 8's blank lines before the code that
/// follows — unless the module already binds the name with an import.
fn import_edit(root: Node<'_>, text: &str, module: &str) -> Option<FixEdit> {
    let mut cursor = root.walk();
    let statements: Vec<Node<'_>> = root.named_children(&mut cursor).filter(|n| !n.is_extra()).collect();
    if statements.iter().any(|s| imports_module(*s, module, text)) {
        return None;
    }
    let mut after = None;
    for (idx, s) in statements.iter().enumerate() {
        let docstring = idx == 0
            && s.kind() == "expression_statement"
            && s.named_child(0).is_some_and(|c| c.kind() == "string");
        let future = s.kind() == "future_import_statement";
        if docstring || future {
            after = Some(*s);
        } else {
            break;
        }
    }
    let import = format!("import {module}\n");
    let offset = match after {
        None => header_end(text),
        Some(node) => match text[node.end_byte()..].find('\n') {
            Some(i) => node.end_byte() + i + 1,
            None => {
                return Some(edit(
                    TextRange::new(text.len() as u32, text.len() as u32),
                    format!("\n{import}"),
                ));
            }
        },
    };
    // What now starts at `offset` decides the blank lines after the import: none before a blank
    // line or another import, two before a definition (or the comment above one), else one.
    let next_line = text[offset..].lines().next().unwrap_or("").trim_start();
    let next = statements.iter().find(|s| s.start_byte() >= offset);
    let blank = if next_line.is_empty() || next_line.starts_with("import ") || next_line.starts_with("from ")
    {
        ""
    } else if next_line.starts_with('#')
        || next.is_some_and(|s| {
            matches!(s.kind(), "function_definition" | "class_definition" | "decorated_definition")
        })
    {
        "\n\n"
    } else {
        "\n"
    };
    Some(edit(TextRange::new(offset as u32, offset as u32), format!("{import}{blank}")))
}

/// Whether `statement` is an `import` that binds `module`'s name (`import logging`,
/// `import logging.handlers`; not `import logging as log`).
fn imports_module(statement: Node<'_>, module: &str, text: &str) -> bool {
    if statement.kind() != "import_statement" {
        return false;
    }
    let mut cursor = statement.walk();
    let names: Vec<Node<'_>> = statement.children_by_field_name("name", &mut cursor).collect();
    names.into_iter().any(|name| match name.kind() {
        "dotted_name" => name.named_child(0).is_some_and(|first| node_text(first, text) == module),
        "aliased_import" => name.child_by_field_name("alias").is_some_and(|a| node_text(a, text) == module),
        _ => false,
    })
}

/// Where a module with no docstring can take an import: below a shebang line, a coding
/// declaration and a comment block set off from the code by a blank line (a license, a header),
/// and above a comment that leads into the code.
fn header_end(text: &str) -> usize {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut idx = 0;
    while idx < lines.len().min(2) && lines[idx].ends_with('\n') {
        let line = lines[idx];
        let shebang = idx == 0 && line.starts_with("#!");
        let coding =
            line.trim_start().starts_with('#') && (line.contains("coding:") || line.contains("coding="));
        if !(shebang || coding) {
            break;
        }
        idx += 1;
    }
    let is_blank = |line: &str| line.trim().is_empty();
    let mut end = idx;
    while end < lines.len() && lines[end].trim_start().starts_with('#') {
        end += 1;
    }
    if end > idx && end < lines.len() && is_blank(lines[end]) {
        while end < lines.len() && is_blank(lines[end]) {
            end += 1;
        }
        idx = end;
    }
    lines[..idx].iter().map(|l| l.len()).sum()
}

/// Every fix worth testing for `smell`, found in `text` (which `tree` was parsed from): its own
/// fix first, then the alternatives that read the code another way, for the project's tests to
/// choose between. Alternatives that guess what the code meant are marked
/// [`SmellFix::needs_failing_test`].
pub fn fix_candidates(smell: &Smell, tree: &SyntaxTree, text: &str) -> Vec<SmellFix> {
    let Some(own) = &smell.fix else { return Vec::new() };
    let mut out = vec![own.clone()];
    let node = tree
        .root_node()
        .named_descendant_for_byte_range(smell.range.start as usize, smell.range.end as usize);
    match smell.kind {
        SmellKind::MutableDefaultArgument => out.extend(immutable_default(smell, text)),
        SmellKind::ExceptExceptionPass => out.extend(node.and_then(reraise)),
        SmellKind::BuiltinShadowingParameter => {
            out.extend(node.map(|name| builtin_call_fixes(name, tree, text)).unwrap_or_default());
        }
        SmellKind::BareExcept | SmellKind::ComparisonToNone | SmellKind::AssertOnTuple => {}
    }
    out
}

/// `def f(x=[])` → `def f(x=())` (and `set()` → `frozenset()`): the same for a function that
/// only reads the argument, with the signature unchanged.
fn immutable_default(smell: &Smell, text: &str) -> Option<SmellFix> {
    let default: String = text.get(smell.range.as_usize())?.split_whitespace().collect();
    let (replacement, what) = match default.as_str() {
        "[]" | "list()" => ("()", "an empty tuple"),
        "set()" => ("frozenset()", "an empty frozenset"),
        _ => return None,
    };
    Some(SmellFix {
        title: format!("Use {what} as the default of `{}`", smell.subject),
        edits: vec![edit(smell.range, replacement)],
        changes_interface: false,
        needs_failing_test: false,
    })
}

/// `except Exception: pass` → `except Exception: raise`: for code whose callers expect the
/// error, which is only known from a test that does.
fn reraise(node: Node<'_>) -> Option<SmellFix> {
    let mut clause = node;
    while clause.kind() != "except_clause" {
        clause = clause.parent()?;
    }
    let mut cursor = clause.walk();
    let block = clause.named_children(&mut cursor).find(|n| n.kind() == "block")?;
    let mut cursor = block.walk();
    let pass =
        block.named_children(&mut cursor).find(|n| !n.is_extra()).filter(|n| n.kind() == "pass_statement")?;
    Some(SmellFix {
        title: "Re-raise the exception instead of ignoring it".to_owned(),
        edits: vec![edit(range(pass), "raise")],
        changes_interface: false,
        needs_failing_test: true,
    })
}

/// For a parameter named like a builtin that its function also calls (`type(value)` with a
/// parameter `type`): the calls were probably meant for the builtin, which the parameter hides.
/// Two fixes then: rename the parameter everywhere but in the calls (callers passing it by
/// keyword break), or keep the parameter and call the builtin through `builtins` (nothing
/// changes for callers). Both change which function the calls reach, so both need a failing
/// test to be selected; the smell's own fix (rename everything) keeps the calls as they are.
fn builtin_call_fixes(name: Node<'_>, tree: &SyntaxTree, text: &str) -> Vec<SmellFix> {
    let builtin = node_text(name, text);
    let Some(function) = enclosing_function(name) else { return Vec::new() };
    let Some(body) = function.child_by_field_name("body") else { return Vec::new() };
    let (mut calls, mut others) = (Vec::new(), Vec::new());
    collect_uses(body, builtin, text, &mut |node| {
        let called = node
            .parent()
            .is_some_and(|p| p.kind() == "call" && p.child_by_field_name("function") == Some(node));
        if called { calls.push(range(node)) } else { others.push(range(node)) }
    });
    if calls.is_empty() {
        return Vec::new();
    }
    let renamed = format!("{builtin}_");
    // Calls left alone reach the builtin only if no enclosing function has a parameter of
    // that name too.
    let outer_binds = std::iter::successors(function.parent(), |n| n.parent())
        .any(|n| matches!(n.kind(), "function_definition" | "lambda") && rebinds(n, builtin, text));
    let rename = (!outer_binds).then(|| SmellFix {
        title: format!(
            "Rename `{builtin}` to `{renamed}` except in calls, which reach the builtin `{builtin}()` \
             again (callers passing it by keyword must follow)"
        ),
        edits: std::iter::once(range(name)).chain(others).map(|r| edit(r, renamed.clone())).collect(),
        changes_interface: true,
        needs_failing_test: true,
    });
    let qualified = format!("builtins.{builtin}");
    let mut edits: Vec<FixEdit> = calls.into_iter().map(|r| edit(r, qualified.clone())).collect();
    edits.extend(import_edit(tree.root_node(), text, "builtins"));
    let through_builtins = SmellFix {
        title: format!("Call the builtin as `{qualified}()`; the parameter keeps its name"),
        edits,
        changes_interface: false,
        needs_failing_test: true,
    };
    rename.into_iter().chain([through_builtins]).collect()
}

/// The function whose parameter `name` is (not a lambda's, nor one in a class body).
fn enclosing_function(name: Node<'_>) -> Option<Node<'_>> {
    let mut function = name.parent()?;
    while function.kind() != "function_definition" {
        if matches!(function.kind(), "lambda" | "module" | "class_definition") {
            return None;
        }
        function = function.parent()?;
    }
    Some(function)
}
