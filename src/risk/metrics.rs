//! Code metrics for risk scoring: SLOC, cyclomatic and cognitive complexity, nesting and
//! parameters per function, and their sums per file, from one walk over a tree-sitter tree.
//!
//! Provenance: the definitions are a port of `sloc_lines`, `cyclomatic`, `cognitive`,
//! `_is_elif` and `analyze_source` in `tools/risk_eval.py` (the evaluation harness whose labels
//! our risk scores are judged against), which compute radon 6's cyclomatic complexity and
//! sonar-python's cognitive complexity on CPython's `ast`. Function names (`qual`) are formed
//! the same way, so our output joins with those labels by `(path, qual)`. Where the tree-sitter
//! tree and `ast` differ in shape, the comments below say how the difference is bridged.
//!
//! The walk is iterative (deeply nested expressions cannot overflow the stack) and allocates
//! only per file and per function, never per node.

use std::sync::OnceLock;

use tree_sitter::{Node, TreeCursor};

use crate::{
    syntax::{Language, LanguageId, SyntaxTree, TreeVisitor},
    text::TextRange,
};

/// Metrics of one `def` or `async def` (functions, methods and nested functions, decorated or
/// not; lambdas are not functions).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FunctionMetrics {
    /// Names of the enclosing classes and functions and its own, joined with dots: `Class.method`,
    /// `outer.inner`, `outer.Local.method`, `Outer.Inner.method`. Statements that are not
    /// definitions (`if`, `try`, `with` …) add nothing, so two definitions of `f` under
    /// `if`/`else` share a name; the evaluation labels keep the last one.
    pub qual: String,
    /// The function's name.
    pub name_range: TextRange,
    /// The whole definition, decorators included.
    pub range: TextRange,
    /// 1-based line of the first decorator, or of `def` when there is none.
    pub start_line: u32,
    /// 1-based line of the last token of the body (trailing comments excluded), like `ast`'s
    /// `end_lineno`.
    pub end_line: u32,
    /// Lines in `start_line..=end_line` that hold code: not blank and not comment-only (lines
    /// inside docstrings and other multi-line strings count).
    pub sloc: u32,
    /// McCabe complexity with radon's rules; nested functions and classes are not included.
    /// `1` + `if`/`elif` + ternaries + `for`/`while` (+1 each with an `else`) + `except`
    /// clauses (+1 for `try … else`) + `and`/`or` operators + comprehension `for`s and `if`s +
    /// `assert` + `case`s (not counting an irrefutable `case _:`/`case x:` without a guard).
    /// Decorators and default values of the function itself count; `with` and lambdas add
    /// nothing but what is inside them counts.
    pub cyclomatic: u32,
    /// Cognitive complexity with sonar-python's rules; nested functions and classes are
    /// included. `if`, loops, `except`, `match` and ternaries add 1 + their nesting level;
    /// `elif` and `else` add 1; each run of like boolean operators adds 1. Bodies of those
    /// (and of lambdas, ternaries and nested functions) are one level deeper, except that a
    /// function whose enclosing function only returns it (a decorator's wrapper) adds no level,
    /// and a class body starts again at level 0.
    pub cognitive: u32,
    /// The deepest nesting of blocks in the function's own code (nested functions and classes
    /// are measured on their own), counting as pylint's `too-many-nested-blocks` does: bodies of
    /// `if` (with its `elif`/`else`), `for`, `while`, `try` (with its `except`/`else`/`finally`),
    /// `with` and `match` (case bodies) are one level deeper. Straight-line code is 0.
    pub max_nesting: u32,
    /// Named parameters in the signature: `self` and `cls` count, as do `*args` and
    /// `**kwargs` (one each); the bare `*` and `/` separators do not. Purely syntactic, so a
    /// method and a `staticmethod` are treated alike.
    pub params: u32,
    /// Defined inside another function (possibly in a class there). Its cognitive complexity is
    /// already part of the enclosing function's, so the file's `cog_sum` skips it.
    pub nested: bool,
}

/// Metrics of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileMetrics {
    /// Lines that hold code, in the whole file.
    pub sloc: u32,
    /// Every function, in source order (outer before inner).
    pub functions: Vec<FunctionMetrics>,
    /// Sum of `cyclomatic` over all functions, nested ones included (they are not part of their
    /// parent's).
    pub cc_sum: u32,
    /// Sum of `cognitive` over the functions that are not nested (nested ones are already in
    /// their parent's).
    pub cog_sum: u32,
}

/// Computes the metrics of one parsed file. `text` must be the text `tree` was parsed from.
/// Lines are counted by `\n` (a lone `\r` does not end a line here), as tree-sitter's rows and
/// the reference's `str.split("\n")` do.
pub fn file_metrics(lang: &Language, tree: &SyntaxTree, text: &str) -> FileMetrics {
    MetricsWalk::new(lang, tree, text).walk_alone()
}

/// [`file_metrics`] computed along a walk of the tree that something else drives (the query
/// pass's, see [`TreeVisitor`]), so that a file is walked once for both.
pub struct MetricsWalk<'t, 'a> {
    walker: Walker<'t, 'a>,
    root: Node<'t>,
}

impl<'t, 'a> MetricsWalk<'t, 'a> {
    pub fn new(lang: &Language, tree: &'t SyntaxTree, text: &'a str) -> MetricsWalk<'t, 'a> {
        let root = tree.root_node();
        let kinds = match lang.id {
            LanguageId::Python => PythonKinds::get(&lang.grammar),
        };
        MetricsWalk { walker: Walker::new(kinds, root, text, CodeLines::new(text)), root }
    }

    /// Walks the tree itself.
    pub fn walk_alone(mut self) -> FileMetrics {
        self.walker.run(self.root);
        self.finish()
    }

    /// The metrics, after a walk of the whole tree took this visitor along.
    pub fn finish(self) -> FileMetrics {
        let Walker { out: functions, lines, .. } = self.walker;
        let cc_sum = functions.iter().map(|f| f.cyclomatic).sum();
        let cog_sum = functions.iter().filter(|f| !f.nested).map(|f| f.cognitive).sum();
        FileMetrics { sloc: lines.total(), functions, cc_sum, cog_sum }
    }
}

impl<'t> TreeVisitor<'t> for MetricsWalk<'t, '_> {
    fn enter(&mut self, node: Node<'t>, field: u16) -> bool {
        self.walker.enter(node, field)
    }

    fn leave(&mut self) {
        self.walker.leave();
    }
}

/// Which lines hold code, as prefix sums so a function's SLOC is one subtraction.
struct CodeLines {
    /// `prefix[i]`: code lines among lines `1..=i`.
    prefix: Vec<u32>,
}

impl CodeLines {
    fn new(text: &str) -> CodeLines {
        let mut prefix = Vec::with_capacity(text.len() / 32 + 2);
        prefix.push(0);
        let mut acc = 0;
        for line in text.split('\n') {
            acc += u32::from(is_code_line(line));
            prefix.push(acc);
        }
        CodeLines { prefix }
    }

    fn total(&self) -> u32 {
        self.prefix.last().copied().unwrap_or(0)
    }

    /// Code lines in `start..=end` (1-based).
    fn count(&self, start: u32, end: u32) -> u32 {
        let last = self.prefix.len() - 1;
        let end = (end as usize).min(last);
        let start = (start as usize).clamp(1, end.max(1));
        self.prefix[end] - self.prefix[start - 1]
    }
}

/// Python's `line.strip()` is non-empty and does not start with `#`.
fn is_code_line(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut idx = 0;
    while idx < bytes.len() {
        let b = bytes[idx];
        if b.is_ascii() {
            // `str.isspace` in ASCII: the C whitespace plus the four separators 0x1c..=0x1f.
            if matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f) {
                idx += 1;
                continue;
            }
            return b != b'#';
        }
        let Some(c) = line[idx..].chars().next() else { return false };
        // Outside ASCII, `str.isspace` and Unicode White_Space agree (U+0085, U+00A0, U+2028 …).
        if !c.is_whitespace() {
            return true;
        }
        idx += c.len_utf8();
    }
    false
}

/// The node kinds the walk tells apart. Everything else is `Other`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    Other,
    Module,
    Error,
    Block,
    FunctionDef,
    ClassDef,
    DecoratedDef,
    Decorator,
    Lambda,
    LambdaParameters,
    If,
    Elif,
    Else,
    For,
    While,
    Try,
    Except,
    Finally,
    With,
    Match,
    Case,
    Conditional,
    BoolOp,
    Paren,
    ForIn,
    IfClause,
    Comprehension,
    Assert,
    Return,
    Identifier,
    String,
    /// A parameter form other than a bare identifier (`x: int`, `x=1`, `*args`, `**kw` …).
    Param,
}

impl Kind {
    /// Kinds whose subtrees may hold a definition. Outside any function nothing else matters,
    /// so the walk skips other subtrees there (module-level expressions, class bases …).
    fn may_hold_definitions(self) -> bool {
        matches!(
            self,
            Kind::Module
                | Kind::Error
                | Kind::Block
                | Kind::FunctionDef
                | Kind::ClassDef
                | Kind::DecoratedDef
                | Kind::If
                | Kind::Elif
                | Kind::Else
                | Kind::For
                | Kind::While
                | Kind::Try
                | Kind::Except
                | Kind::Finally
                | Kind::With
                | Kind::Match
                | Kind::Case
        )
    }
}

/// Kind and field ids of the Python grammar, looked up once.
struct PythonKinds {
    /// Indexed by `Node::kind_id`. Built from every id, so aliased nodes (`block` for a match
    /// body, `lambda` inside a comprehension's `for`) map like their canonical names.
    by_id: Box<[Kind]>,
    field_left: u16,
    field_right: u16,
    field_operator: u16,
    field_name: u16,
    field_parameters: u16,
    field_definition: u16,
}

impl PythonKinds {
    /// Built from the first grammar seen: there is one Python grammar, compiled in.
    fn get(grammar: &tree_sitter::Language) -> &'static PythonKinds {
        static KINDS: OnceLock<PythonKinds> = OnceLock::new();
        KINDS.get_or_init(|| PythonKinds::new(grammar))
    }

    fn new(grammar: &tree_sitter::Language) -> PythonKinds {
        let by_id = (0..grammar.node_kind_count())
            .map(|id| {
                let id = id as u16;
                if !grammar.node_kind_is_named(id) {
                    return Kind::Other;
                }
                match grammar.node_kind_for_id(id).unwrap_or_default() {
                    "module" => Kind::Module,
                    "ERROR" => Kind::Error,
                    "block" => Kind::Block,
                    "function_definition" => Kind::FunctionDef,
                    "class_definition" => Kind::ClassDef,
                    "decorated_definition" => Kind::DecoratedDef,
                    "decorator" => Kind::Decorator,
                    "lambda" => Kind::Lambda,
                    "lambda_parameters" => Kind::LambdaParameters,
                    "if_statement" => Kind::If,
                    "elif_clause" => Kind::Elif,
                    "else_clause" => Kind::Else,
                    "for_statement" => Kind::For,
                    "while_statement" => Kind::While,
                    "try_statement" => Kind::Try,
                    "except_clause" | "except_group_clause" => Kind::Except,
                    "finally_clause" => Kind::Finally,
                    "with_statement" => Kind::With,
                    "match_statement" => Kind::Match,
                    "case_clause" => Kind::Case,
                    "conditional_expression" => Kind::Conditional,
                    "boolean_operator" => Kind::BoolOp,
                    "parenthesized_expression" => Kind::Paren,
                    "for_in_clause" => Kind::ForIn,
                    "if_clause" => Kind::IfClause,
                    "list_comprehension"
                    | "set_comprehension"
                    | "dictionary_comprehension"
                    | "generator_expression" => Kind::Comprehension,
                    "assert_statement" => Kind::Assert,
                    "return_statement" => Kind::Return,
                    "identifier" => Kind::Identifier,
                    "string" => Kind::String,
                    "typed_parameter"
                    | "default_parameter"
                    | "typed_default_parameter"
                    | "list_splat_pattern"
                    | "dictionary_splat_pattern"
                    | "tuple_pattern" => Kind::Param,
                    _ => Kind::Other,
                }
            })
            .collect();
        let field = |name: &str| grammar.field_id_for_name(name).map_or(0, |id| id.get());
        PythonKinds {
            by_id,
            field_left: field("left"),
            field_right: field("right"),
            field_operator: field("operator"),
            field_name: field("name"),
            field_parameters: field("parameters"),
            field_definition: field("definition"),
        }
    }

    fn kind(&self, node: Node<'_>) -> Kind {
        match node.kind_id() {
            // tree-sitter's builtin error symbol is outside the grammar's id range.
            u16::MAX => Kind::Error,
            id => self.by_id.get(id as usize).copied().unwrap_or_default(),
        }
    }
}

/// What entering a node changed, undone when the walk leaves it. One per node on the path from
/// the root to the current node.
#[derive(Clone, Copy, Default)]
struct Entry {
    kind: Kind,
    /// Added to the cognitive nesting counter for this subtree.
    depth_delta: u8,
    /// Added to the block counter (for `max_nesting`) for this subtree.
    block_delta: u8,
    /// This subtree is invisible to cognitive complexity.
    hidden: bool,
    /// This node opened a scope (a function or a class).
    pops_scope: bool,
    /// This node is a class body: the frames' nesting bases were saved on entry.
    class_body: bool,
}

/// A function being measured.
struct Frame {
    /// Index of its entry in the output.
    out_idx: usize,
    /// The definition statement: the `decorated_definition` when there is one.
    stmt_id: usize,
    /// The cognitive nesting counter at the start of its body: its nesting level anywhere is
    /// `depth - base` (class bodies reset it to 0 by moving the base).
    base: u32,
    /// The block counter at the start of its body.
    block_base: u32,
    /// The one definition its body wraps, if its body is only that definition and
    /// `return <name>` statements (sonar's decorator exception).
    wrapped_child: Option<usize>,
}

struct Scope {
    is_function: bool,
    /// Length of the qualified-name prefix before this scope added its name.
    prefix_len: usize,
}

struct Walker<'t, 'a> {
    kinds: &'static PythonKinds,
    text: &'a str,
    lines: CodeLines,
    /// A second cursor for looking around a node without allocating a new one.
    aux: TreeCursor<'t>,
    path: Vec<Entry>,
    frames: Vec<Frame>,
    scopes: Vec<Scope>,
    /// Frame bases saved at class bodies, restored when leaving them.
    saved_bases: Vec<u32>,
    bool_stack: Vec<Node<'t>>,
    /// `Outer.inner.` for the current scope.
    prefix: String,
    /// Cognitive nesting counter; each frame measures from its own base.
    depth: u32,
    /// Block counter for `max_nesting`.
    blocks: u32,
    /// Number of enclosing hidden regions; cognitive complexity counts only at 0.
    hidden: u32,
    out: Vec<FunctionMetrics>,
}

impl<'t, 'a> Walker<'t, 'a> {
    fn new(kinds: &'static PythonKinds, root: Node<'t>, text: &'a str, lines: CodeLines) -> Self {
        Walker {
            kinds,
            text,
            lines,
            aux: root.walk(),
            path: Vec::new(),
            frames: Vec::new(),
            scopes: Vec::new(),
            saved_bases: Vec::new(),
            bool_stack: Vec::new(),
            prefix: String::new(),
            depth: 0,
            blocks: 0,
            hidden: 0,
            out: Vec::new(),
        }
    }

    /// Pre-order walk with an explicit leave step for every entered node.
    fn run(&mut self, root: Node<'t>) {
        let mut cursor = root.walk();
        let field = |cursor: &TreeCursor<'t>| cursor.field_id().map_or(0, |f| f.get());
        let mut descend = self.enter(root, 0);
        loop {
            if descend && cursor.goto_first_child() {
                descend = self.enter(cursor.node(), field(&cursor));
                continue;
            }
            loop {
                self.leave();
                if cursor.goto_next_sibling() {
                    descend = self.enter(cursor.node(), field(&cursor));
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
            }
        }
    }

    /// Counts `node` (whose field in its parent is `field`, 0 for none) and sets up its
    /// subtree's context; returns whether to walk its children.
    fn enter(&mut self, node: Node<'t>, field: u16) -> bool {
        let kind = self.kinds.kind(node);
        let parent = self.path.last().map_or(Kind::Other, |e| e.kind);
        let mut entry = Entry { kind, ..Entry::default() };

        // The parts of a statement the reference's cognitive visitor never looks at: everything
        // of a definition but its body (decorators, defaults, annotations, class bases), `with`
        // items, `except` types, `match` subjects, case patterns and guards, `for` targets and
        // lambda parameters. Cyclomatic complexity still counts them.
        let hide = match parent {
            Kind::FunctionDef | Kind::ClassDef | Kind::Except | Kind::Case | Kind::Match | Kind::With => {
                kind != Kind::Block
            }
            Kind::DecoratedDef => kind == Kind::Decorator,
            Kind::Lambda => kind == Kind::LambdaParameters,
            Kind::For => field != 0 && field == self.kinds.field_left,
            _ => false,
        };
        if hide {
            entry.hidden = true;
            self.hidden += 1;
        }
        let cog = self.hidden == 0;

        match kind {
            Kind::If | Kind::For | Kind::While | Kind::Except => {
                self.add_cc(1);
                if cog {
                    self.add_cog_nested();
                }
            }
            Kind::Elif => {
                self.add_cc(1);
                if cog {
                    self.add_cog(1);
                }
            }
            Kind::Else => {
                // An `if`'s else is free for radon; a loop's or a `try`'s is a branch.
                if parent != Kind::If {
                    self.add_cc(1);
                }
                if cog {
                    self.add_cog(1);
                }
            }
            Kind::Match if cog => self.add_cog_nested(),
            Kind::Case if self.cc_frame().is_some() && !is_irrefutable_case(node) => self.add_cc(1),
            Kind::Conditional => {
                self.add_cc(1);
                if cog {
                    self.add_cog_nested();
                }
                entry.depth_delta = 1;
            }
            Kind::Assert | Kind::ForIn => self.add_cc(1),
            // An `if_clause` is also the guard of a `case`, which radon does not count.
            Kind::IfClause if parent == Kind::Comprehension => self.add_cc(1),
            Kind::BoolOp => {
                // tree-sitter's boolean operators are binary, so each adds one like each extra
                // operand of an `ast.BoolOp`. Cognitive complexity counts at the top of a chain.
                self.add_cc(1);
                if cog && !self.frames.is_empty() && !self.continues_bool_chain() {
                    let runs = self.bool_runs(node);
                    self.add_cog(runs);
                }
            }
            Kind::Lambda => entry.depth_delta = 1,
            Kind::Block => self.enter_block(node, parent, &mut entry),
            Kind::FunctionDef | Kind::ClassDef if parent != Kind::DecoratedDef => {
                self.push_scope(node, node, kind, &mut entry)
            }
            Kind::DecoratedDef => {
                // The scope opens here so that the decorators belong to the definition.
                if let Some(def) = node.child_by_field_id(self.kinds.field_definition) {
                    let def_kind = self.kinds.kind(def);
                    if matches!(def_kind, Kind::FunctionDef | Kind::ClassDef) {
                        self.push_scope(node, def, def_kind, &mut entry);
                    }
                }
            }
            _ => {}
        }

        self.depth += u32::from(entry.depth_delta);
        if entry.block_delta > 0 {
            self.blocks += u32::from(entry.block_delta);
            if let Some((idx, level)) = self.cc_frame().map(|f| (f.out_idx, self.blocks - f.block_base)) {
                let it = &mut self.out[idx];
                it.max_nesting = it.max_nesting.max(level);
            }
        }
        self.path.push(entry);
        match kind {
            // Only f-strings hold expressions; other strings need not be walked token by token.
            Kind::String => !self.frames.is_empty() && is_f_string(self.text.as_bytes(), node.start_byte()),
            _ => !self.frames.is_empty() || kind.may_hold_definitions(),
        }
    }

    fn leave(&mut self) {
        let Some(entry) = self.path.pop() else { return };
        self.hidden -= u32::from(entry.hidden);
        self.depth -= u32::from(entry.depth_delta);
        self.blocks -= u32::from(entry.block_delta);
        if entry.class_body {
            let start = self.saved_bases.len() - self.frames.len();
            for (frame, base) in self.frames.iter_mut().zip(self.saved_bases.drain(start..)) {
                frame.base = base;
            }
        }
        if entry.pops_scope
            && let Some(scope) = self.scopes.pop()
        {
            self.prefix.truncate(scope.prefix_len);
            if scope.is_function {
                self.frames.pop();
            }
        }
    }

    fn enter_block(&mut self, block: Node<'t>, parent: Kind, entry: &mut Entry) {
        match parent {
            Kind::If | Kind::Elif | Kind::Else | Kind::For | Kind::While | Kind::Except | Kind::Case => {
                entry.depth_delta = 1;
                entry.block_delta = 1;
            }
            // A `try` body is not nested for sonar (its handlers are), but it is a block.
            Kind::Try | Kind::Finally | Kind::With => entry.block_delta = 1,
            Kind::FunctionDef => {
                let n = self.frames.len();
                if n == 0 {
                    return;
                }
                let wrapped = n >= 2 && self.frames[n - 2].wrapped_child == Some(self.frames[n - 1].stmt_id);
                entry.depth_delta = u8::from(!wrapped);
                let wrapped_child = self.wrapped_child(block);
                let frame = &mut self.frames[n - 1];
                frame.base = self.depth + u32::from(entry.depth_delta);
                frame.block_base = self.blocks;
                frame.wrapped_child = wrapped_child;
            }
            Kind::ClassDef => {
                entry.class_body = true;
                for frame in &mut self.frames {
                    self.saved_bases.push(frame.base);
                    frame.base = self.depth;
                }
            }
            _ => {}
        }
    }

    fn push_scope(&mut self, stmt: Node<'t>, def: Node<'t>, kind: Kind, entry: &mut Entry) {
        let name_node = def.child_by_field_id(self.kinds.field_name);
        let name = name_node.map_or("", |n| &self.text[n.byte_range()]);
        let prefix_len = self.prefix.len();
        entry.pops_scope = true;
        if kind == Kind::FunctionDef {
            let start_line = stmt.start_position().row as u32 + 1;
            let end_line = last_token_line(def).max(start_line);
            let params =
                def.child_by_field_id(self.kinds.field_parameters).map_or(0, |p| self.count_params(p));
            let name_range =
                name_node.map_or(TextRange::default(), |n| TextRange::from_usize(n.byte_range()));
            self.out.push(FunctionMetrics {
                qual: format!("{}{name}", self.prefix),
                name_range,
                range: TextRange::from_usize(stmt.byte_range()),
                start_line,
                end_line,
                sloc: self.lines.count(start_line, end_line),
                cyclomatic: 1,
                cognitive: 0,
                max_nesting: 0,
                params,
                nested: !self.frames.is_empty(),
            });
            self.frames.push(Frame {
                out_idx: self.out.len() - 1,
                stmt_id: stmt.id(),
                base: self.depth,
                block_base: self.blocks,
                wrapped_child: None,
            });
        }
        self.scopes.push(Scope { is_function: kind == Kind::FunctionDef, prefix_len });
        self.prefix.push_str(name);
        self.prefix.push('.');
    }

    /// The function that owns the code being walked: the innermost scope, if it is a function.
    fn cc_frame(&self) -> Option<&Frame> {
        match self.scopes.last() {
            Some(scope) if scope.is_function => self.frames.last(),
            _ => None,
        }
    }

    fn add_cc(&mut self, n: u32) {
        if let Some(idx) = self.cc_frame().map(|f| f.out_idx) {
            self.out[idx].cyclomatic += n;
        }
    }

    /// Adds `n` to every enclosing function: cognitive complexity includes nested code.
    fn add_cog(&mut self, n: u32) {
        for frame in &self.frames {
            self.out[frame.out_idx].cognitive += n;
        }
    }

    /// Adds 1 + the nesting level, which each enclosing function measures from its own base.
    fn add_cog_nested(&mut self) {
        for frame in &self.frames {
            self.out[frame.out_idx].cognitive += 1 + self.depth.saturating_sub(frame.base);
        }
    }

    /// Whether the boolean operator being entered is an operand of another one (through
    /// parentheses, which `ast` does not keep): then its chain was counted at the top.
    fn continues_bool_chain(&self) -> bool {
        self.path.iter().rev().find(|e| e.kind != Kind::Paren).is_some_and(|e| e.kind == Kind::BoolOp)
    }

    /// Runs of the same operator in a chain of `and`/`or`, in source order: `a and b or c` has
    /// two, `a and (b and c)` one, `(a or b) and (c or d)` three. The chain is the boolean
    /// operators reachable through operands and parentheses (not through `not` or calls).
    fn bool_runs(&mut self, root: Node<'t>) -> u32 {
        let (left, right, operator) =
            (self.kinds.field_left, self.kinds.field_right, self.kinds.field_operator);
        let mut runs = 0;
        let mut prev = None;
        self.bool_stack.clear();
        let mut cur = Some(root);
        loop {
            while let Some(node) = cur {
                self.bool_stack.push(node);
                cur = self.bool_operand(node, left);
            }
            let Some(node) = self.bool_stack.pop() else { break };
            let op = node.child_by_field_id(operator).map(|o| o.kind_id());
            if op != prev {
                runs += 1;
                prev = op;
            }
            cur = self.bool_operand(node, right);
        }
        runs
    }

    fn bool_operand(&self, node: Node<'t>, field: u16) -> Option<Node<'t>> {
        let operand = self.unparenthesize(node.child_by_field_id(field)?);
        (self.kinds.kind(operand) == Kind::BoolOp).then_some(operand)
    }

    fn unparenthesize(&self, mut node: Node<'t>) -> Node<'t> {
        while self.kinds.kind(node) == Kind::Paren {
            match only_named_child(node) {
                Some(inner) => node = inner,
                None => break,
            }
        }
        node
    }

    /// The definition in `body` that sonar treats as a mere wrapper's payload: the body holds
    /// exactly one function definition, and every other statement is `return <name>`.
    fn wrapped_child(&mut self, body: Node<'t>) -> Option<usize> {
        let mut func = None;
        self.aux.reset(body);
        if !self.aux.goto_first_child() {
            return None;
        }
        loop {
            let node = self.aux.node();
            if node.is_named() && !node.is_extra() {
                let is_function = match self.kinds.kind(node) {
                    Kind::FunctionDef => true,
                    Kind::DecoratedDef => node
                        .child_by_field_id(self.kinds.field_definition)
                        .is_some_and(|d| self.kinds.kind(d) == Kind::FunctionDef),
                    Kind::Return => {
                        let value = only_named_child(node).map(|v| self.unparenthesize(v));
                        if !value.is_some_and(|v| self.kinds.kind(v) == Kind::Identifier) {
                            return None;
                        }
                        false
                    }
                    _ => return None,
                };
                if is_function {
                    if func.is_some() {
                        return None;
                    }
                    func = Some(node.id());
                }
            }
            if !self.aux.goto_next_sibling() {
                return func;
            }
        }
    }

    fn count_params(&mut self, params: Node<'t>) -> u32 {
        let mut n = 0;
        self.aux.reset(params);
        if self.aux.goto_first_child() {
            loop {
                if matches!(self.kinds.kind(self.aux.node()), Kind::Identifier | Kind::Param) {
                    n += 1;
                }
                if !self.aux.goto_next_sibling() {
                    break;
                }
            }
        }
        n
    }
}

/// Whether the string literal starting at `start` has an `f` among its prefix letters
/// (`f"…"`, `rf'…'`, `Fr"""…"""`).
fn is_f_string(text: &[u8], start: usize) -> bool {
    text.get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .any(|b| matches!(b, b'f' | b'F'))
}

/// The single named child that is not a comment, if there is exactly one.
fn only_named_child(node: Node<'_>) -> Option<Node<'_>> {
    let mut found = None;
    for idx in 0..node.child_count() {
        let Some(child) = node.child(idx) else { break };
        if child.is_named() && !child.is_extra() {
            if found.is_some() {
                return None;
            }
            found = Some(child);
        }
    }
    found
}

/// 1-based line of the last token of `node` that is not a comment. tree-sitter may end a block
/// after trailing comments (or a newline); `ast`'s `end_lineno` ends at the last statement.
fn last_token_line(node: Node<'_>) -> u32 {
    let mut node = node;
    'descend: loop {
        for idx in (0..node.child_count()).rev() {
            let Some(child) = node.child(idx) else { continue };
            if !child.is_extra() && child.end_byte() > child.start_byte() {
                node = child;
                continue 'descend;
            }
        }
        break;
    }
    node.end_position().row as u32 + 1
}

/// `case _:` or a bare capture `case x:` (also parenthesized) without a guard: the case radon
/// does not count, since it is the `else` of the match.
fn is_irrefutable_case(case: Node<'_>) -> bool {
    let mut pattern = None;
    for idx in 0..case.child_count() {
        let Some(child) = case.child(idx) else { break };
        match child.kind() {
            "case_pattern" if pattern.is_none() => pattern = Some(child),
            // A second pattern or a trailing comma makes a sequence pattern; `if` a guard.
            "case_pattern" | "," | "if_clause" => return false,
            _ => {}
        }
    }
    pattern.is_some_and(is_irrefutable_pattern)
}

fn is_irrefutable_pattern(pattern: Node<'_>) -> bool {
    let Some(inner) = only_child(pattern) else { return false };
    match inner.kind() {
        "_" => true,
        "dotted_name" => inner.named_child_count() == 1,
        // `(x)` is a group, not a tuple, when it has one pattern and no comma.
        "tuple_pattern" => {
            let mut found = None;
            for idx in 0..inner.child_count() {
                let Some(child) = inner.child(idx) else { break };
                match child.kind() {
                    "case_pattern" if found.is_none() => found = Some(child),
                    "case_pattern" | "," => return false,
                    _ => {}
                }
            }
            found.is_some_and(is_irrefutable_pattern)
        }
        _ => false,
    }
}

/// The only child that is not a comment, named or not.
fn only_child(node: Node<'_>) -> Option<Node<'_>> {
    let mut found = None;
    for idx in 0..node.child_count() {
        let Some(child) = node.child(idx) else { break };
        if !child.is_extra() {
            if found.is_some() {
                return None;
            }
            found = Some(child);
        }
    }
    found
}
