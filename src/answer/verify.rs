//! Checking a model's answer against the excerpts it was given, statement by statement.
//!
//! A statement (a sentence, a list item, or a fenced code block) survives only if every `[n]`
//! in it names a supplied excerpt and every piece of code it quotes occurs in the excerpts it
//! cites (or, when it cites none, in some excerpt). A quoted name (`Cart.add_item`, `total()`)
//! passes when each of its parts occurs in the cited code, since models write qualified names
//! that the code never spells out in one piece. Whitespace differences are forgiven; anything
//! else is not. Surviving citations are renumbered in order of first use.

use std::sync::LazyLock;

use regex::Regex;
use rustc_hash::FxHashMap;

static MARKER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[(\d+(?:\s*,\s*\d+)*)\]").unwrap());
static INLINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`\n]+)`").unwrap());
static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?$").unwrap());
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").unwrap());

/// A checked answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The answer without the statements that failed, citations renumbered.
    pub text: String,
    /// The excerpts cited, 0-based, in the order of their new numbers (`[1]` is `cited[0]`).
    pub cited: Vec<usize>,
    /// Each dropped statement, with why.
    pub unverified: Vec<String>,
}

enum Unit {
    /// A line of prose, as its sentences.
    Line(Vec<String>),
    /// A fenced code block, fences included.
    Code(String),
    Blank,
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sentences of a line, split after `.`, `!` or `?` followed by a space, outside backticks.
fn sentences(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    let chars: Vec<char> = line.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        if c == '`' {
            in_code = !in_code;
        }
        let ends = matches!(c, '.' | '!' | '?') && !in_code && chars.get(i + 1) == Some(&' ');
        let next_starts = chars.get(i + 2).is_some_and(|n| n.is_uppercase() || matches!(n, '`' | '*' | '['));
        if ends && next_starts {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

fn units(answer: &str) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut lines = answer.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("```") {
            let mut block = vec![line.to_owned()];
            for next in lines.by_ref() {
                block.push(next.to_owned());
                if next.trim_start().starts_with("```") {
                    break;
                }
            }
            units.push(Unit::Code(block.join("\n")));
        } else if line.trim().is_empty() {
            units.push(Unit::Blank);
        } else {
            // Keep the list marker or indentation with the first sentence.
            units.push(Unit::Line(sentences(line)));
        }
    }
    units
}

fn markers(text: &str) -> Vec<usize> {
    MARKER
        .captures_iter(text)
        .flat_map(|c| c[1].split(',').filter_map(|n| n.trim().parse::<usize>().ok()).collect::<Vec<_>>())
        .collect()
}

/// Whether `quote` is backed by `sources` (the cited excerpts, squashed).
fn quote_backed(quote: &str, sources: &[String]) -> bool {
    let quote = quote.trim();
    if quote.is_empty() {
        return true;
    }
    let squashed = squash(quote);
    if sources.iter().any(|s| s.contains(&squashed)) {
        return true;
    }
    if NAME.is_match(quote) {
        let parts: Vec<&str> = quote.trim_end_matches("()").split('.').collect();
        return sources.iter().any(|s| {
            let words: rustc_hash::FxHashSet<&str> = WORD.find_iter(s).map(|m| m.as_str()).collect();
            parts.iter().all(|p| words.contains(p))
        });
    }
    false
}

/// Why a statement fails, if it does.
fn check(statement: &str, code_block: Option<&str>, cited: &[usize], excerpts: &[String]) -> Option<String> {
    if let Some(bad) = cited.iter().find(|&&n| n == 0 || n > excerpts.len()) {
        return Some(format!("cites [{bad}], which is not one of the {} excerpts supplied", excerpts.len()));
    }
    let sources: Vec<String> = if cited.is_empty() {
        excerpts.to_vec()
    } else {
        cited.iter().map(|&n| excerpts[n - 1].clone()).collect()
    };
    let whose = if cited.is_empty() {
        "any excerpt".to_owned()
    } else {
        format!("the cited lines {}", fmt_markers(cited))
    };
    if let Some(block) = code_block {
        for line in block.lines().skip(1) {
            let line = line.trim();
            if line.starts_with("```") || line.is_empty() || line == "..." || line == "…" {
                continue;
            }
            if !quote_backed(line, &sources) {
                return Some(format!("quotes `{line}`, which is not in {whose}"));
            }
        }
        return None;
    }
    for quote in INLINE.captures_iter(statement) {
        if !quote_backed(&quote[1], &sources) {
            return Some(format!("quotes `{}`, which is not in {whose}", &quote[1]));
        }
    }
    None
}

fn fmt_markers(cited: &[usize]) -> String {
    cited.iter().map(|n| format!("[{n}]")).collect()
}

/// Checks `answer` against `excerpts` (the text of excerpt `n` is `excerpts[n - 1]`).
pub fn verify(answer: &str, excerpts: &[&str]) -> Verified {
    let squashed: Vec<String> = excerpts.iter().map(|e| squash(e)).collect();
    let mut kept: Vec<String> = Vec::new();
    let mut unverified = Vec::new();
    // Citations of the statement before a code block: the block quotes what it cites.
    let mut previous_cited: Vec<usize> = Vec::new();
    let mut previous_kept = true;
    for unit in units(answer) {
        match unit {
            Unit::Blank => kept.push(String::new()),
            Unit::Code(block) => {
                let own = markers(&block);
                let cited = if own.is_empty() { previous_cited.clone() } else { own };
                let failure = if previous_kept {
                    check("", Some(&block), &cited, &squashed)
                } else {
                    Some("belongs to a dropped statement".to_owned())
                };
                match failure {
                    None => kept.push(block),
                    Some(reason) => unverified.push(format!("{} — {reason}", squash(&block))),
                }
            }
            Unit::Line(parts) => {
                let mut line = Vec::new();
                for sentence in parts {
                    let cited = markers(&sentence);
                    match check(&sentence, None, &cited, &squashed) {
                        None => {
                            previous_kept = true;
                            line.push(sentence);
                        }
                        Some(reason) => {
                            previous_kept = false;
                            unverified.push(format!("{sentence} — {reason}"));
                        }
                    }
                    previous_cited = cited;
                }
                if !line.is_empty() {
                    kept.push(line.join(" "));
                }
            }
        }
    }
    // Renumber in order of first use.
    let mut order: Vec<usize> = Vec::new();
    let mut renumber: FxHashMap<usize, usize> = FxHashMap::default();
    let text = kept.join("\n");
    let text = MARKER.replace_all(&text, |caps: &regex::Captures<'_>| {
        let numbers: Vec<String> = caps[1]
            .split(',')
            .filter_map(|n| n.trim().parse::<usize>().ok())
            .map(|n| {
                let new = *renumber.entry(n).or_insert_with(|| {
                    order.push(n - 1);
                    order.len()
                });
                new.to_string()
            })
            .collect();
        format!("[{}]", numbers.join(", "))
    });
    // Collapse the blank lines left where statements were dropped.
    let mut cleaned = String::new();
    let mut blank = 0;
    for line in text.trim().lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        cleaned.push_str(line);
        cleaned.push('\n');
    }
    Verified { text: cleaned.trim_end().to_owned(), cited: order, unverified }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCERPTS: &[&str] = &[
        "def apply_discount(amount, coupon):\n    if coupon is None:\n        return amount\n    return amount * (100 - coupon.percent) / 100",
        "class Cart:\n    def total(self, coupon=None):\n        return apply_discount(subtotal, coupon)",
    ];

    #[test]
    fn good_statements_stay_and_citations_are_renumbered() {
        let v = verify(
            "`Cart.total` passes the coupon on [2]. `apply_discount` returns the amount unchanged when \
             `coupon is None` [1].",
            EXCERPTS,
        );
        assert_eq!(
            v.text,
            "`Cart.total` passes the coupon on [1]. `apply_discount` returns the amount unchanged when `coupon is None` [2]."
        );
        assert_eq!(v.cited, vec![1, 0]);
        assert!(v.unverified.is_empty(), "{:?}", v.unverified);
    }

    #[test]
    fn hallucinated_citations_and_quotes_are_dropped() {
        let v = verify(
            "The discount is a percentage [1]. Taxes are added in `add_tax(amount)` [1]. \
             Shipping is free over 50 euros [7].\n\n```python\nreturn amount * 2\n```",
            EXCERPTS,
        );
        assert_eq!(v.text, "The discount is a percentage [1].");
        assert_eq!(v.cited, vec![0]);
        assert_eq!(v.unverified.len(), 3, "{:?}", v.unverified);
        assert!(v.unverified[0].contains("add_tax(amount)"));
        assert!(v.unverified[1].contains("[7]"));
        assert!(v.unverified[2].contains("return amount * 2"));
    }

    #[test]
    fn a_code_block_is_checked_against_the_statement_before_it() {
        let v =
            verify("It returns early [1]:\n```python\nif coupon is None:\n    return amount\n```", EXCERPTS);
        assert!(v.unverified.is_empty(), "{:?}", v.unverified);
        assert!(v.text.contains("return amount"));
        let v =
            verify("It returns early [2]:\n```python\nif coupon is None:\n    return amount\n```", EXCERPTS);
        assert_eq!(v.unverified.len(), 1, "{:?}", v.unverified);
    }
}
