//! A query engine that matches every pattern of a query during one depth-first walk of the tree:
//! each node looks up the patterns rooted at its kind and matches them against its children
//! directly. It understands the part of tree-sitter's query language our grammar files use:
//! node patterns with fields, negated fields (`!value`), anchors (`.`), wildcards (`(_)`, `_`),
//! anonymous nodes (`"def"`), alternations (`[...]`), captures, and the text predicates `#eq?`,
//! `#match?` and `#any-of?` with their `not-` and `any-` forms. Other predicates (`#strip!`) are
//! left to the caller, which reads them from the tree-sitter [`Query`] compiled from the same
//! source; capture and pattern indices are that query's.
//!
//! Why not tree-sitter's own cursor: it is general (quantifiers, sibling sequences, supertypes)
//! and advances every partial match of every pattern at every node. On Django the combined
//! Python query cost 2.6× a plain walk of the same trees, ~0.85 of a cold index's ~5 CPU-s.
//!
//! A source that uses anything else compiles to an error and the caller keeps tree-sitter's
//! cursor. Matches follow tree-sitter's rules, down to its quirks: anchors count comments as
//! named siblings, wildcards never match `ERROR` nodes, and of two matches of one pattern at one
//! node, one whose captures are all in the other is dropped. `tests/walk_query.rs` runs both
//! engines on the same files and requires the same matches.

use std::num::NonZeroU16;

use anyhow::{Context, bail};
use regex::bytes::Regex;
use tree_sitter::{Language, Node, Query, QueryCapture, QueryMatch};

/// One match: its pattern and captures, as tree-sitter's [`QueryMatch`] has them.
#[derive(Clone, Copy, Debug)]
pub struct PatternMatch<'a, 'tree> {
    pub pattern_index: usize,
    pub captures: &'a [QueryCapture<'tree>],
}

impl<'a, 'tree> PatternMatch<'a, 'tree> {
    pub fn from_query_match(m: &'a QueryMatch<'_, 'tree>) -> PatternMatch<'a, 'tree> {
        PatternMatch { pattern_index: m.pattern_index, captures: m.captures() }
    }
}

/// A compiled query for [`WalkQuery::for_each_match`].
pub struct WalkQuery {
    patterns: Vec<Pattern>,
    /// Kind id → the canonical id of its name (aliases share one).
    canonical: Vec<u16>,
    /// Canonical kind id → the patterns whose root can match a node of that kind.
    by_root_kind: Vec<Vec<u32>>,
    /// Patterns whose root is a wildcard: tried at every node.
    wildcard_roots: Vec<u32>,
    /// Canonical kind id → how far below a node of that kind the patterns rooted there read
    /// the tree (`None`: no pattern is rooted there). What lies deeper under every root still
    /// waiting to be left need not be kept.
    reach_by_root_kind: Vec<Option<u32>>,
    /// The same for wildcard roots, which every node is.
    wildcard_reach: Option<u32>,
}

struct Pattern {
    root: Pat,
    predicates: Vec<Predicate>,
}

enum Pat {
    Node(NodePat),
    Alternation { alternatives: Vec<Pat>, captures: Vec<u32> },
}

struct NodePat {
    kind: KindPat,
    negated_fields: Vec<NonZeroU16>,
    children: Vec<ChildStep>,
    /// `.` after the last child: it must be the last named child.
    anchored_end: bool,
    captures: Vec<u32>,
}

/// Ordered (kinds first) so that a pattern's root kinds sort and deduplicate.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KindPat {
    Kind(u16),
    /// `(_)`
    AnyNamed,
    /// `_`
    Any,
}

impl NodePat {
    /// A pattern with no children, fields or anchors of its own (yet).
    fn leaf(kind: KindPat, captures: Vec<u32>) -> NodePat {
        NodePat { kind, negated_fields: Vec::new(), children: Vec::new(), anchored_end: false, captures }
    }
}

struct ChildStep {
    field: Option<NonZeroU16>,
    /// `.` before this child: the first named child, or the named sibling right after the
    /// previous step's node.
    immediate: bool,
    pat: Pat,
}

enum Predicate {
    EqString { capture: u32, value: Vec<u8>, positive: bool, all: bool },
    EqCapture { left: u32, right: u32, positive: bool, all: bool },
    Match { capture: u32, regex: Regex, positive: bool, all: bool },
    AnyOf { capture: u32, values: Vec<Vec<u8>>, positive: bool },
}

const ERROR_KIND: u16 = u16::MAX;

impl WalkQuery {
    /// Compiles `source`, whose tree-sitter compilation is `query`. Fails on anything this engine
    /// does not implement (the caller then runs `query` with tree-sitter's cursor).
    pub fn new(language: &Language, source: &str, query: &Query) -> anyhow::Result<WalkQuery> {
        let mut parser = Parser { tokens: tokenize(source)?, at: 0, language, query };
        let mut patterns = Vec::new();
        while parser.peek().is_some() {
            patterns.push(parser.top_level().with_context(|| format!("pattern {}", patterns.len()))?);
        }
        if patterns.len() != query.pattern_count() {
            bail!("{} patterns where tree-sitter counts {}", patterns.len(), query.pattern_count());
        }
        let count = language.node_kind_count();
        let canonical: Vec<u16> = (0..count as u16)
            .map(|id| match language.node_kind_for_id(id) {
                Some(name) => language.id_for_node_kind(name, language.node_kind_is_named(id)),
                None => id,
            })
            .collect();
        let mut by_root_kind = vec![Vec::new(); count];
        let mut reach_by_root_kind: Vec<Option<u32>> = vec![None; count];
        let mut wildcard_roots = Vec::new();
        let mut wildcard_reach: Option<u32> = None;
        for (index, pattern) in patterns.iter().enumerate() {
            let mut kinds = Vec::new();
            root_kinds(&pattern.root, &mut kinds);
            kinds.sort_unstable();
            kinds.dedup();
            let reach = Some(reach(&pattern.root, 0));
            for kind in kinds {
                match kind {
                    KindPat::Kind(id) => {
                        by_root_kind[usize::from(id)].push(index as u32);
                        reach_by_root_kind[usize::from(id)] = reach_by_root_kind[usize::from(id)].max(reach);
                    }
                    KindPat::AnyNamed | KindPat::Any => {
                        wildcard_roots.push(index as u32);
                        wildcard_reach = wildcard_reach.max(reach);
                    }
                }
            }
        }
        wildcard_roots.dedup();
        Ok(WalkQuery {
            patterns,
            canonical,
            by_root_kind,
            wildcard_roots,
            reach_by_root_kind,
            wildcard_reach,
        })
    }

    /// Calls `on_match` with every match in the tree under `root` (order unspecified).
    pub fn for_each_match<'tree>(
        &self,
        root: Node<'tree>,
        text: &[u8],
        on_match: &mut dyn FnMut(&PatternMatch<'_, 'tree>),
    ) {
        self.walk(root, text, on_match, &mut NotVisiting);
    }

    /// [`Self::for_each_match`], taking `visitor` along the same walk of the tree.
    pub fn for_each_match_visiting<'tree>(
        &self,
        root: Node<'tree>,
        text: &[u8],
        on_match: &mut dyn FnMut(&PatternMatch<'_, 'tree>),
        visitor: &mut dyn TreeVisitor<'tree>,
    ) {
        self.walk(root, text, on_match, visitor);
    }

    fn walk<'tree, V: TreeVisitor<'tree> + ?Sized>(
        &self,
        root: Node<'tree>,
        text: &[u8],
        on_match: &mut dyn FnMut(&PatternMatch<'_, 'tree>),
        visitor: &mut V,
    ) {
        thread_local! {
            /// The record's buffer, kept between files (empty) so that each file does not grow
            /// a new one through every doubling: on Django that churn left ~5 MiB more resident.
            static SPARE: std::cell::Cell<Vec<Recorded<'static>>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut s = Scratch {
            nodes: recycle(SPARE.with(std::cell::Cell::take)),
            captures: Vec::new(),
            found: Vec::new(),
            found_captures: Vec::new(),
        };
        // The walk records every node (kind, field, links to its siblings) as it enters it, and
        // matches the patterns rooted at a node as it leaves it: by then its whole subtree is
        // recorded, so matching reads children from the record instead of moving a cursor. A
        // subtree no pattern root above it can reach is dropped from the record once left, so
        // the record stays near the size of what patterns read rather than of the file.
        let mut path: Vec<PathEntry> = Vec::new();
        // Depth of the node whose children the visitor declined, while the walk is inside it.
        let mut unvisited_below: Option<u32> = None;
        let mut walk = root.walk();
        loop {
            let node = walk.node();
            let at = s.nodes.len() as u32;
            let named = node.is_named();
            let mut named_index = None;
            if let Some(parent) = path.last_mut() {
                match parent.last_child {
                    Some(previous) => s.nodes[previous as usize].next_sibling = at,
                    None => s.nodes[parent.node as usize].first_child = at,
                }
                parent.last_child = Some(at);
                if named {
                    named_index = Some(parent.named_children);
                    parent.named_children += 1;
                }
            }
            let kind = self.kind_of(node);
            let field = walk.field_id().map_or(0, NonZeroU16::get);
            s.nodes.push(Recorded {
                node,
                kind,
                named,
                field,
                named_index,
                first_child: NONE,
                next_sibling: NONE,
            });
            let depth = path.len() as u32;
            if unvisited_below.is_none() && !visitor.enter(node, field) {
                unvisited_below = Some(depth);
            }
            let own_reach =
                self.reach_by_root_kind.get(usize::from(kind)).copied().flatten().max(self.wildcard_reach);
            let reach_limit = path.last().and_then(|p| p.reach_limit).max(own_reach.map(|r| depth + r));
            path.push(PathEntry { node: at, last_child: None, named_children: 0, reach_limit });
            if walk.goto_first_child() {
                continue;
            }
            loop {
                let left = path.pop().expect("the node being left is on the path").node;
                self.match_at(left, text, &mut s, on_match);
                let depth = path.len() as u32;
                leave_visited(visitor, &mut unvisited_below, depth);
                if let Some(parent) = path.last_mut()
                    && parent.reach_limit.is_none_or(|limit| limit < depth)
                {
                    s.nodes.truncate(left as usize);
                    // The parent's children are out of reach too: its list may start afresh.
                    parent.last_child = None;
                    s.nodes[parent.node as usize].first_child = NONE;
                }
                if walk.goto_next_sibling() {
                    break;
                }
                if !walk.goto_parent() || path.is_empty() {
                    // Leave whatever remains of the path (the root when the walk started lower).
                    while let Some(left) = path.pop() {
                        self.match_at(left.node, text, &mut s, on_match);
                        leave_visited(visitor, &mut unvisited_below, path.len() as u32);
                    }
                    // A buffer grown by an unusually large file is not worth keeping.
                    if s.nodes.capacity() <= MAX_SPARE_NODES {
                        SPARE.with(|spare| spare.set(recycle(s.nodes)));
                    }
                    return;
                }
            }
        }
    }

    fn kind_of(&self, node: Node<'_>) -> u16 {
        let id = node.kind_id();
        self.canonical.get(usize::from(id)).copied().unwrap_or(id)
    }

    fn match_at<'tree>(
        &self,
        at: u32,
        text: &[u8],
        s: &mut Scratch<'tree>,
        on_match: &mut dyn FnMut(&PatternMatch<'_, 'tree>),
    ) {
        let kind = s.nodes[at as usize].kind;
        let rooted = self.by_root_kind.get(usize::from(kind)).map_or(&[][..], |p| &p[..]);
        for &index in rooted.iter().chain(&self.wildcard_roots) {
            let pattern = &self.patterns[index as usize];
            s.found.clear();
            s.found_captures.clear();
            self.match_pat(&pattern.root, at, s, &mut |s| {
                if pattern.predicates.iter().all(|p| p.holds(&s.captures, text)) {
                    let start = s.found_captures.len();
                    s.found_captures.extend_from_slice(&s.captures);
                    s.found.push(start..s.found_captures.len());
                }
            });
            let kept = (s.found.len() > 1).then(|| not_subsumed(&s.found, &s.found_captures));
            for (i, range) in s.found.iter().enumerate() {
                if kept.as_ref().is_none_or(|kept| kept[i]) {
                    let captures = &s.found_captures[range.clone()];
                    on_match(&PatternMatch { pattern_index: index as usize, captures });
                }
            }
        }
    }

    fn match_pat<'tree>(
        &self,
        pat: &Pat,
        at: u32,
        s: &mut Scratch<'tree>,
        k: &mut dyn FnMut(&mut Scratch<'tree>),
    ) {
        let recorded = s.nodes[at as usize];
        let node = recorded.node;
        match pat {
            Pat::Alternation { alternatives, captures } => {
                for alternative in alternatives {
                    self.match_pat(alternative, at, s, &mut |s| {
                        let mark = s.captures.len();
                        s.captures.extend(captures.iter().map(|&index| QueryCapture { node, index }));
                        k(s);
                        s.captures.truncate(mark);
                    });
                }
            }
            Pat::Node(pat) => {
                let matches_kind = match pat.kind {
                    KindPat::Kind(kind) => recorded.kind == kind,
                    KindPat::AnyNamed => recorded.named && recorded.kind != ERROR_KIND,
                    KindPat::Any => recorded.kind != ERROR_KIND,
                };
                if !matches_kind
                    || pat.negated_fields.iter().any(|&f| s.children(at).any(|kid| kid.field == f.get()))
                {
                    return;
                }
                let mark = s.captures.len();
                s.captures.extend(pat.captures.iter().map(|&index| QueryCapture { node, index }));
                if pat.children.is_empty() {
                    k(s);
                } else {
                    self.match_children(pat, at, 0, recorded.first_child, None, s, k);
                }
                s.captures.truncate(mark);
            }
        }
    }

    /// Matches `pat.children[step..]` against the children of `parent` from `from` on;
    /// `previous` is the named index of the child the previous step matched.
    #[allow(clippy::too_many_arguments)]
    fn match_children<'tree>(
        &self,
        pat: &NodePat,
        parent: u32,
        step: usize,
        from: u32,
        previous: Option<u32>,
        s: &mut Scratch<'tree>,
        k: &mut dyn FnMut(&mut Scratch<'tree>),
    ) {
        let Some(child) = pat.children.get(step) else {
            if pat.anchored_end {
                let last_named = s.children(parent).filter_map(|kid| kid.named_index).last();
                if previous != last_named {
                    return;
                }
            }
            k(s);
            return;
        };
        let mut at = from;
        while at != NONE {
            let kid = s.nodes[at as usize];
            let next = kid.next_sibling;
            if child.immediate {
                let wanted = previous.map_or(0, |p| p + 1);
                match kid.named_index {
                    Some(n) if n == wanted => {}
                    Some(n) if n > wanted => break,
                    _ => {
                        at = next;
                        continue;
                    }
                }
            }
            if child.field.is_none_or(|f| kid.field == f.get()) {
                let previous = kid.named_index.or(previous);
                self.match_pat(&child.pat, at, s, &mut |s| {
                    self.match_children(pat, parent, step + 1, next, previous, s, k);
                });
            }
            at = next;
        }
    }
}

/// Which of one pattern's matches at one node tree-sitter would report: of matches whose
/// captures contain each other, only the one with more captures (the first of equal ones).
///
/// A node with many children can have tens of thousands of matches of one pattern (a class body
/// of 60k assignments), so matches are not compared pairwise: equal capture sets meet in a hash
/// set, and a strict subset of a match is looked for only among the larger matches holding its
/// rarest capture.
fn not_subsumed(found: &[std::ops::Range<usize>], captures: &[QueryCapture<'_>]) -> Vec<bool> {
    let sets: Vec<Vec<(u32, usize)>> = found
        .iter()
        .map(|range| {
            let mut set: Vec<(u32, usize)> =
                captures[range.clone()].iter().map(|c| (c.index, c.node.id())).collect();
            set.sort_unstable();
            set.dedup();
            set
        })
        .collect();
    let mut seen = rustc_hash::FxHashSet::default();
    let mut kept: Vec<bool> = sets.iter().map(|set| seen.insert(set.as_slice())).collect();
    let largest = sets.iter().map(Vec::len).max().unwrap_or(0);
    if sets.iter().all(|set| set.len() == largest) {
        return kept;
    }
    let mut holding: rustc_hash::FxHashMap<(u32, usize), Vec<usize>> = rustc_hash::FxHashMap::default();
    for (j, set) in sets.iter().enumerate() {
        for &capture in set {
            holding.entry(capture).or_default().push(j);
        }
    }
    for (i, set) in sets.iter().enumerate() {
        if !kept[i] || set.len() == largest {
            continue;
        }
        // No captures at all: in every larger match.
        let Some(rarest) = set.iter().min_by_key(|capture| holding[capture].len()) else {
            kept[i] = false;
            continue;
        };
        kept[i] = !holding[rarest].iter().any(|&j| sets[j].len() > set.len() && is_subset(set, &sets[j]));
    }
    kept
}

/// Whether sorted `small` is in sorted `big`.
fn is_subset(small: &[(u32, usize)], big: &[(u32, usize)]) -> bool {
    let mut big = big.iter();
    small.iter().all(|wanted| big.any(|have| have == wanted))
}

/// The depth below the pattern's root of the deepest node `pat` (at depth `depth`) reads.
fn reach(pat: &Pat, depth: u32) -> u32 {
    match pat {
        Pat::Node(node) => {
            let own = depth + u32::from(!node.negated_fields.is_empty() || node.anchored_end);
            node.children.iter().map(|c| reach(&c.pat, depth + 1)).fold(own, u32::max)
        }
        Pat::Alternation { alternatives, .. } => {
            alternatives.iter().map(|a| reach(a, depth)).fold(depth, u32::max)
        }
    }
}

fn root_kinds(pat: &Pat, out: &mut Vec<KindPat>) {
    match pat {
        Pat::Node(node) => out.push(node.kind),
        Pat::Alternation { alternatives, .. } => alternatives.iter().for_each(|a| root_kinds(a, out)),
    }
}

const NONE: u32 = u32::MAX;

/// The largest record buffer kept for the next file (~0.9 MB).
const MAX_SPARE_NODES: usize = 16 * 1024;

/// An emptied buffer of records, for a tree of another lifetime: collecting an empty vector into
/// one of the same layout reuses its allocation.
fn recycle<'a, 'b>(mut nodes: Vec<Recorded<'a>>) -> Vec<Recorded<'b>> {
    nodes.clear();
    nodes.into_iter().map(|_| unreachable!("the vector is empty")).collect()
}

/// A node on the walk's path from the root, waiting to be left.
struct PathEntry {
    node: u32,
    last_child: Option<u32>,
    named_children: u32,
    /// The deepest level a pattern rooted at this node or above it reads (`None`: no pattern
    /// is rooted on the path).
    reach_limit: Option<u32>,
}

/// Something that follows a [`WalkQuery`]'s walk of a tree, so that what it computes from the
/// tree costs no walk of its own (moving a cursor is most of what a walk costs).
pub trait TreeVisitor<'tree> {
    /// Entering `node`, whose field in its parent is `field` (0: none). Returns whether to be
    /// shown its children.
    fn enter(&mut self, node: Node<'tree>, field: u16) -> bool;
    /// Leaving the node last entered and not yet left.
    fn leave(&mut self);
}

/// Tells `visitor` the walk left the node at `depth`, unless that node is inside the subtree
/// whose children the visitor declined (the node at `unvisited_below`, which it is told of).
fn leave_visited<'tree, V: TreeVisitor<'tree> + ?Sized>(
    visitor: &mut V,
    unvisited_below: &mut Option<u32>,
    depth: u32,
) {
    if unvisited_below.is_none_or(|declined| declined == depth) {
        visitor.leave();
        *unvisited_below = None;
    }
}

/// The visitor of a walk nobody follows.
struct NotVisiting;

impl TreeVisitor<'_> for NotVisiting {
    fn enter(&mut self, _: Node<'_>, _: u16) -> bool {
        false
    }

    fn leave(&mut self) {}
}

/// A node as the walk recorded it.
#[derive(Clone, Copy)]
struct Recorded<'tree> {
    node: Node<'tree>,
    /// Canonical kind id.
    kind: u16,
    named: bool,
    /// 0: no field.
    field: u16,
    /// Position among its parent's named children (comments included, as tree-sitter's anchors
    /// count them).
    named_index: Option<u32>,
    first_child: u32,
    next_sibling: u32,
}

/// Buffers of one walk: the recorded nodes, the captures of the match being built, and the
/// matches found at the current node.
struct Scratch<'tree> {
    nodes: Vec<Recorded<'tree>>,
    captures: Vec<QueryCapture<'tree>>,
    found: Vec<std::ops::Range<usize>>,
    found_captures: Vec<QueryCapture<'tree>>,
}

impl<'tree> Scratch<'tree> {
    fn children(&self, parent: u32) -> impl Iterator<Item = Recorded<'tree>> + '_ {
        let mut at = self.nodes[parent as usize].first_child;
        std::iter::from_fn(move || {
            let kid = *self.nodes.get(at as usize)?;
            at = kid.next_sibling;
            Some(kid)
        })
    }
}

impl Predicate {
    fn holds(&self, captures: &[QueryCapture<'_>], text: &[u8]) -> bool {
        let texts = |index: u32| {
            captures
                .iter()
                .filter(move |c| c.index == index)
                .map(|c| text.get(c.node.byte_range()).unwrap_or(&[]))
        };
        // tree-sitter's rules: `all` forms fail on the first node that fails, `any-` forms
        // hold on the first node that holds; a capture with no node holds either way.
        let check = |index: u32, positive: bool, all: bool, test: &dyn Fn(&[u8]) -> bool| {
            for node_text in texts(index) {
                let ok = test(node_text) == positive;
                if !ok && all {
                    return false;
                }
                if ok && !all {
                    return true;
                }
            }
            true
        };
        match self {
            Predicate::EqString { capture, value, positive, all } => {
                check(*capture, *positive, *all, &|t| t == value.as_slice())
            }
            Predicate::Match { capture, regex, positive, all } => {
                check(*capture, *positive, *all, &|t| regex.is_match(t))
            }
            Predicate::AnyOf { capture, values, positive } => {
                texts(*capture).all(|t| values.iter().any(|v| v.as_slice() == t) == *positive)
            }
            Predicate::EqCapture { left, right, positive, all } => {
                let (mut lefts, mut rights) = (texts(*left), texts(*right));
                loop {
                    match (lefts.next(), rights.next()) {
                        (Some(l), Some(r)) => {
                            let ok = (l == r) == *positive;
                            if !ok && *all {
                                return false;
                            }
                            if ok && !*all {
                                return true;
                            }
                        }
                        (None, None) => return true,
                        _ => return false,
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing the query source.

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Dot,
    Colon,
    Bang,
    Capture(String),
    Str(String),
    Word(String),
    Quantifier(char),
}

fn tokenize(source: &str) -> anyhow::Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = source.char_indices().peekable();
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '#' | '?' | '!' | '/');
    while let Some((_, c)) = chars.next() {
        match c {
            ';' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '[' => tokens.push(Token::OpenBracket),
            ']' => tokens.push(Token::CloseBracket),
            '.' => tokens.push(Token::Dot),
            ':' => tokens.push(Token::Colon),
            '!' => tokens.push(Token::Bang),
            '*' | '+' | '?' => tokens.push(Token::Quantifier(c)),
            '"' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, 'r')) => value.push('\r'),
                            Some((_, '0')) => value.push('\0'),
                            Some((_, other)) => value.push(other),
                            None => bail!("unterminated string"),
                        },
                        Some((_, other)) => value.push(other),
                        None => bail!("unterminated string"),
                    }
                }
                tokens.push(Token::Str(value));
            }
            '@' => {
                let mut name = String::new();
                while let Some(&(_, c)) = chars.peek()
                    && (c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                {
                    name.push(c);
                    chars.next();
                }
                tokens.push(Token::Capture(name));
            }
            c if is_word(c) => {
                let mut word = String::from(c);
                while let Some(&(_, c)) = chars.peek()
                    && is_word(c)
                {
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            other => bail!("unexpected character {other:?}"),
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    language: &'a Language,
    query: &'a Query,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_at(&self, offset: usize) -> Option<&Token> {
        self.tokens.get(self.at + offset)
    }

    fn next(&mut self) -> anyhow::Result<Token> {
        let token = self.tokens.get(self.at).cloned().context("unexpected end of the query")?;
        self.at += 1;
        Ok(token)
    }

    fn expect(&mut self, wanted: &Token) -> anyhow::Result<()> {
        let token = self.next()?;
        if token != *wanted {
            bail!("expected {wanted:?}, found {token:?}");
        }
        Ok(())
    }

    fn is_predicate_ahead(&self) -> bool {
        matches!((self.peek(), self.peek_at(1)), (Some(Token::Open), Some(Token::Word(w))) if w.starts_with('#'))
    }

    /// A top-level pattern: a node pattern or alternation, or one inside a grouping with
    /// predicates. Groupings of several sibling patterns are not implemented.
    fn top_level(&mut self) -> anyhow::Result<Pattern> {
        let mut predicates = Vec::new();
        let grouped = matches!(
            (self.peek(), self.peek_at(1)),
            (Some(Token::Open), Some(Token::Open | Token::OpenBracket))
        );
        let root = if grouped {
            self.expect(&Token::Open)?;
            let root = self.pattern(&mut predicates)?;
            while self.peek() != Some(&Token::Close) {
                if !self.is_predicate_ahead() {
                    bail!("groupings of sibling patterns are not implemented");
                }
                self.predicate(&mut predicates)?;
            }
            self.expect(&Token::Close)?;
            if matches!(self.peek(), Some(Token::Capture(_) | Token::Quantifier(_))) {
                bail!("captures or quantifiers on a grouping are not implemented");
            }
            root
        } else {
            self.pattern(&mut predicates)?
        };
        Ok(Pattern { root, predicates })
    }

    fn pattern(&mut self, predicates: &mut Vec<Predicate>) -> anyhow::Result<Pat> {
        let pat = match self.next()? {
            Token::OpenBracket => {
                let mut alternatives = Vec::new();
                while self.peek() != Some(&Token::CloseBracket) {
                    alternatives.push(self.pattern(predicates)?);
                }
                self.expect(&Token::CloseBracket)?;
                Pat::Alternation { alternatives, captures: self.captures()? }
            }
            Token::Open => {
                let kind = match self.next()? {
                    Token::Word(w) if w == "_" => KindPat::AnyNamed,
                    Token::Word(w) if !w.starts_with('#') => KindPat::Kind(self.kind(&w, true)?),
                    other => bail!("{other:?} as a node type is not implemented"),
                };
                let mut node = NodePat::leaf(kind, Vec::new());
                let mut immediate = false;
                loop {
                    match self.peek().context("unclosed node pattern")? {
                        Token::Close => {
                            self.at += 1;
                            node.anchored_end = immediate;
                            break;
                        }
                        Token::Dot => {
                            self.at += 1;
                            immediate = true;
                        }
                        Token::Bang => {
                            self.at += 1;
                            match self.next()? {
                                Token::Word(field) => node.negated_fields.push(self.field(&field)?),
                                other => bail!("expected a field after !, found {other:?}"),
                            }
                        }
                        Token::Word(field) if self.peek_at(1) == Some(&Token::Colon) => {
                            let field = self.field(field)?;
                            self.at += 2;
                            let pat = self.pattern(predicates)?;
                            node.children.push(ChildStep { field: Some(field), immediate, pat });
                            immediate = false;
                        }
                        _ if self.is_predicate_ahead() => self.predicate(predicates)?,
                        _ => {
                            let pat = self.pattern(predicates)?;
                            node.children.push(ChildStep { field: None, immediate, pat });
                            immediate = false;
                        }
                    }
                }
                node.captures = self.captures()?;
                Pat::Node(node)
            }
            Token::Str(anonymous) => {
                Pat::Node(NodePat::leaf(KindPat::Kind(self.kind(&anonymous, false)?), self.captures()?))
            }
            Token::Word(w) if w == "_" => Pat::Node(NodePat::leaf(KindPat::Any, self.captures()?)),
            other => bail!("{other:?} is not implemented here"),
        };
        if let Some(Token::Quantifier(q)) = self.peek() {
            bail!("the quantifier {q} is not implemented");
        }
        Ok(pat)
    }

    fn captures(&mut self) -> anyhow::Result<Vec<u32>> {
        let mut captures = Vec::new();
        while let Some(Token::Capture(name)) = self.peek() {
            let name = name.clone();
            self.at += 1;
            captures.push(self.capture_index(&name)?);
        }
        Ok(captures)
    }

    fn capture_index(&self, name: &str) -> anyhow::Result<u32> {
        self.query.capture_index_for_name(name).with_context(|| format!("unknown capture @{name}"))
    }

    fn kind(&self, name: &str, named: bool) -> anyhow::Result<u16> {
        let id = self.language.id_for_node_kind(name, named);
        if id == 0 || !self.language.node_kind_is_visible(id) || name == "ERROR" || name == "MISSING" {
            bail!("node type {name:?} is not a visible node here");
        }
        Ok(id)
    }

    fn field(&self, name: &str) -> anyhow::Result<NonZeroU16> {
        self.language.field_id_for_name(name).with_context(|| format!("unknown field {name}"))
    }

    /// `(#name args...)`; text predicates are kept, the rest are the caller's.
    fn predicate(&mut self, predicates: &mut Vec<Predicate>) -> anyhow::Result<()> {
        self.expect(&Token::Open)?;
        let Token::Word(name) = self.next()? else { bail!("expected a predicate name") };
        let mut args = Vec::new();
        while self.peek() != Some(&Token::Close) {
            args.push(match self.next()? {
                Token::Capture(name) => Ok(self.capture_index(&name)?),
                Token::Str(value) | Token::Word(value) => Err(value),
                other => bail!("unexpected {other:?} in #{name}"),
            });
        }
        self.expect(&Token::Close)?;
        let name = name.trim_start_matches('#');
        let positive = !name.starts_with("not-") && !name.starts_with("any-not-");
        let all = !name.starts_with("any-");
        let first = match args.first() {
            Some(Ok(capture)) => Some(*capture),
            _ => None,
        };
        match (name, first) {
            ("any-of?" | "not-any-of?", Some(capture)) => {
                let values = args[1..]
                    .iter()
                    .map(|arg| match arg {
                        Err(value) => Ok(value.clone().into_bytes()),
                        Ok(_) => bail!("#{name} takes strings after its capture"),
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                predicates.push(Predicate::AnyOf { capture, values, positive });
            }
            ("eq?" | "not-eq?" | "any-eq?" | "any-not-eq?", Some(capture)) => match args.get(1) {
                Some(Ok(right)) => {
                    predicates.push(Predicate::EqCapture { left: capture, right: *right, positive, all })
                }
                Some(Err(value)) => predicates.push(Predicate::EqString {
                    capture,
                    value: value.clone().into_bytes(),
                    positive,
                    all,
                }),
                None => bail!("#{name} takes two arguments"),
            },
            ("match?" | "not-match?" | "any-match?" | "any-not-match?", Some(capture)) => match args.get(1) {
                Some(Err(pattern)) => {
                    let regex = Regex::new(pattern).with_context(|| format!("invalid regex {pattern:?}"))?;
                    predicates.push(Predicate::Match { capture, regex, positive, all });
                }
                _ => bail!("#{name} takes a capture and a regex"),
            },
            ("is?" | "is-not?", _) => bail!("#{name} is not implemented"),
            // Directives (`#strip!`, `#set!`) and unknown predicates are the caller's, as they
            // are tree-sitter's general predicates.
            _ => {}
        }
        Ok(())
    }
}
