//! Parsing with tree-sitter: whole texts, ropes, and incremental re-parses after edits.

use std::{
    cell::RefCell,
    ops::ControlFlow,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use ropey::Rope;
use tree_sitter::{InputEdit, Parser, Point};

use super::{Language, LanguageId};
use crate::text::Edit;

/// A parsed file. Trees clone in O(1) (they are reference counted inside tree-sitter).
pub type SyntaxTree = tree_sitter::Tree;

/// How long a parse may take before it is abandoned, and a flag that abandons it at once.
#[derive(Clone, Copy, Debug)]
pub struct ParseBudget<'a> {
    pub timeout: Duration,
    pub cancelled: Option<&'a AtomicBool>,
}

impl Default for ParseBudget<'_> {
    fn default() -> Self {
        // Generous: a 2 MB file parses in well under a second; this only stops pathologies.
        ParseBudget { timeout: Duration::from_secs(10), cancelled: None }
    }
}

thread_local! {
    /// One parser per thread, and the language it is currently set to.
    static PARSER: RefCell<(Parser, Option<LanguageId>)> = RefCell::new((Parser::new(), None));
}

/// Parses `text`, reusing `old` (already `edit`ed to match) when given.
/// `None` means the budget ran out or the grammar could not be loaded.
pub fn parse_text(
    lang: &Language,
    text: &str,
    old: Option<&SyntaxTree>,
    budget: ParseBudget<'_>,
) -> Option<SyntaxTree> {
    let bytes = text.as_bytes();
    parse_with(lang, old, budget, &mut |i, _| bytes.get(i..).unwrap_or_default())
}

/// Parses a rope chunk by chunk, without flattening it.
pub fn parse_rope(
    lang: &Language,
    rope: &Rope,
    old: Option<&SyntaxTree>,
    budget: ParseBudget<'_>,
) -> Option<SyntaxTree> {
    let len = rope.len_bytes();
    parse_with(lang, old, budget, &mut |i, _| {
        if i >= len {
            return &[][..];
        }
        let (chunk, chunk_start, _, _) = rope.chunk_at_byte(i);
        &chunk.as_bytes()[i - chunk_start..]
    })
}

fn parse_with<'t>(
    lang: &Language,
    old: Option<&SyntaxTree>,
    budget: ParseBudget<'_>,
    read: &mut impl FnMut(usize, Point) -> &'t [u8],
) -> Option<SyntaxTree> {
    PARSER.with(|cell| {
        let (parser, current) = &mut *cell.borrow_mut();
        if *current != Some(lang.id) {
            if let Err(err) = parser.set_language(&lang.grammar) {
                tracing::error!("cannot load the {:?} grammar: {err}", lang.id);
                return None;
            }
            *current = Some(lang.id);
        }
        let deadline = Instant::now() + budget.timeout;
        let mut should_stop = |_: &tree_sitter::ParseState| {
            stop_if(
                budget.cancelled.is_some_and(|flag| flag.load(Ordering::Relaxed))
                    || Instant::now() > deadline,
            )
        };
        let options = tree_sitter::ParseOptions::new().progress_callback(&mut should_stop);
        let tree = parser.parse_with_options(read, old, Some(options));
        if tree.is_none() {
            // An abandoned parse leaves the parser mid-way; the next parse must start clean.
            parser.reset();
        }
        tree
    })
}

/// What a parse's progress callback answers: whether to abandon the parse.
fn stop_if(stop: bool) -> ControlFlow<()> {
    if stop { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
}

/// The tree-sitter edit for one applied text edit.
pub fn input_edit(edit: &Edit) -> InputEdit {
    let point = |p: crate::text::NewlinePoint| Point { row: p.row, column: p.column };
    InputEdit {
        start_byte: edit.start,
        old_end_byte: edit.old_end,
        new_end_byte: edit.new_end,
        start_position: point(edit.start_point),
        old_end_position: point(edit.old_end_point),
        new_end_position: point(edit.new_end_point),
    }
}

/// How many syntax errors a parse of `text` has (error and missing nodes), and the byte offset
/// of the first; `None` if the parse did not finish within the default budget.
pub fn count_syntax_errors(language: LanguageId, text: &str) -> Option<(usize, Option<usize>)> {
    let mut parser = Parser::new();
    parser.set_language(&language.grammar()).ok()?;
    let deadline = Instant::now() + ParseBudget::default().timeout;
    let mut should_stop = |_: &tree_sitter::ParseState| stop_if(Instant::now() > deadline);
    let options = tree_sitter::ParseOptions::new().progress_callback(&mut should_stop);
    let bytes = text.as_bytes();
    let tree =
        parser.parse_with_options(&mut |i, _| bytes.get(i..).unwrap_or_default(), None, Some(options))?;
    let (mut count, mut first) = (0, None);
    let mut cursor = tree.walk();
    // Pre-order walk; an error node's subtree counts once.
    'walk: loop {
        let node = cursor.node();
        let is_error = node.is_error() || node.is_missing();
        if is_error {
            count += 1;
            first.get_or_insert(node.start_byte());
        }
        if !is_error && node.has_error() && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    Some((count, first))
}
