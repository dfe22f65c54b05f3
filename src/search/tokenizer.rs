//! The code-aware tokenizer shared by indexing and querying.
//!
//! Source code and questions about it name the same things in different spellings:
//! `get_user_name`, `getUserName`, "user names", `auth.hashers.make_password`. The tokenizer makes
//! them meet. A *word* is a run of letters, digits and underscores; words joined by single dots
//! form a *dotted path*. Each word is split into *parts* on underscores, case changes
//! (`HTTPResponse` → `http`, `response`; plural acronyms stay whole: `URLs` → `urls`) and
//! letter/digit changes (`getURLFor2` → `get`, `url`, `for`, `2`). Emitted, all lowercased:
//!
//! - every part, stemmed with the Snowball English stemmer when it is alphabetic (so
//!   `passwords`/`password` and `hashed`/`hashing`/`hash` meet);
//! - the whole word when it has several parts, as the unstemmed concatenation of its parts, which
//!   is the same token for every case style (`get_user_name`, `getUserName` → `getusername`);
//! - for a dotted path, its last two segments, normalized the same way
//!   (`django.db.models.QuerySet` → `models.queryset`), so `QuerySet.filter` in a question
//!   matches `models.query.QuerySet.filter` in a traceback. Longer suffixes were emitted until
//!   they were measured: most of them are unique (every qualified name gave five), they cost a
//!   fifth of a cold search build's CPU in term dictionaries, and file localization and the
//!   search benchmark ranked the same without them.
//!
//! Everything else (spaces, punctuation, operators, quotes) only separates. Words longer than
//! [`MAX_WORD_LEN`] bytes are dropped: they are hashes, base64 or minified data, not names. Query
//! text additionally drops English stop words that stand alone (`the`, `is`, `where`); inside an
//! identifier (`is_valid`) they are kept.

use std::ops::Range;

use rustc_hash::FxHashMap;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name the tokenizer is registered under in every index.
pub const CODE_TOKENIZER: &str = "repolens_code";

/// Longest word indexed, in bytes.
pub const MAX_WORD_LEN: usize = 64;

/// Bound on the stem cache of one tokenizer (a few MB at most).
const MAX_CACHED_STEMS: usize = 50_000;

/// Parts shorter than this are not stemmed (`is`, `as`, `id` are not English plurals).
const MIN_STEM_LEN: usize = 3;

/// What a token stands for; the query side weighs identifiers and paths above plain words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenKind {
    /// One part of a word, stemmed when alphabetic.
    Part,
    /// A whole multi-part word, parts concatenated (`getusername`).
    Identifier,
    /// The last two segments of a dotted path (`queryset.filter`).
    Path,
}

/// English words that carry no meaning in a question about code. Applied to query text only, and
/// only to words that stand alone: identifiers keep all their parts.
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "any", "are", "as", "at", "be", "been", "being", "but", "by", "can", "could",
    "did", "do", "does", "doing", "done", "for", "from", "had", "has", "have", "how", "i", "if", "in",
    "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "should", "so", "some", "such", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "us", "was",
    "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would",
    "you", "your",
];

pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// Splits text into tokens; reusable, so indexing allocates its scratch buffers once per thread.
#[derive(Clone)]
pub(crate) struct Splitter {
    stemmer: frostem::Stemmer,
    /// Stems already computed. Code repeats the same few thousand words endlessly, and a hash
    /// lookup is several times cheaper than running the Snowball stemmer.
    stems: FxHashMap<Box<str>, Box<str>>,
    /// Byte ranges of the segments of the current dotted path.
    segments: Vec<Range<usize>>,
    /// Each segment's normalized whole (concatenated lowercase parts).
    normalized: Vec<String>,
    /// Byte ranges of the parts of every segment, in order.
    parts: Vec<Range<usize>>,
    /// Which of `parts` belong to each segment.
    part_bounds: Vec<Range<usize>>,
    chars: Vec<(usize, char)>,
    scratch: String,
    path: String,
}

impl Default for Splitter {
    fn default() -> Splitter {
        Splitter {
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
            stems: FxHashMap::default(),
            segments: Vec::new(),
            normalized: Vec::new(),
            parts: Vec::new(),
            part_bounds: Vec::new(),
            chars: Vec::new(),
            scratch: String::new(),
            path: String::new(),
        }
    }
}

fn is_word_byte_or_char(text: &str, at: usize) -> Option<usize> {
    let b = *text.as_bytes().get(at)?;
    if b.is_ascii() {
        return (b.is_ascii_alphanumeric() || b == b'_').then_some(1);
    }
    let c = text[at..].chars().next()?;
    c.is_alphanumeric().then_some(c.len_utf8())
}

impl Splitter {
    /// Calls `sink(token, source byte range, kind)` for every token of `text`, in order.
    /// `query` drops free-standing stop words.
    pub(crate) fn split(
        &mut self,
        text: &str,
        query: bool,
        sink: &mut dyn FnMut(&str, Range<usize>, TokenKind),
    ) {
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let Some(len) = is_word_byte_or_char(text, at) else {
                // Skip one character (not one byte: stay on char boundaries).
                at += if bytes[at].is_ascii() {
                    1
                } else {
                    text[at..].chars().next().map_or(1, char::len_utf8)
                };
                continue;
            };
            self.segments.clear();
            let mut start = at;
            at += len;
            loop {
                while let Some(len) = is_word_byte_or_char(text, at) {
                    at += len;
                }
                self.segments.push(start..at);
                // A single dot between two words continues the path (`a.b`, not `a. b`).
                if bytes.get(at) == Some(&b'.') && is_word_byte_or_char(text, at + 1).is_some() {
                    at += 1;
                    start = at;
                } else {
                    break;
                }
            }
            self.emit_path(text, query, sink);
        }
    }

    fn emit_path(&mut self, text: &str, query: bool, sink: &mut dyn FnMut(&str, Range<usize>, TokenKind)) {
        let n = self.segments.len();
        self.parts.clear();
        self.part_bounds.clear();
        self.normalized.resize_with(n, String::new);
        for idx in 0..n {
            let segment = self.segments[idx].clone();
            let from = self.parts.len();
            self.normalized[idx].clear();
            if segment.len() <= MAX_WORD_LEN {
                self.split_word(text, segment);
                // A lone one-part word (most words of code) needs no whole-word token, and
                // only the last two segments of a path make its path token.
                if (n > 1 && idx + 2 >= n) || self.parts.len() - from > 1 {
                    for part in &self.parts[from..] {
                        push_lowercase(&mut self.normalized[idx], &text[part.clone()]);
                    }
                }
            }
            self.part_bounds.push(from..self.parts.len());
        }
        // An overlong word leaves its segment empty and the path without a token.
        if n >= 2 && !self.normalized[n - 2].is_empty() && !self.normalized[n - 1].is_empty() {
            self.path.clear();
            self.path.push_str(&self.normalized[n - 2]);
            self.path.push('.');
            self.path.push_str(&self.normalized[n - 1]);
            sink(&self.path, self.segments[n - 2].start..self.segments[n - 1].end, TokenKind::Path);
        }
        for idx in 0..n {
            let parts = self.part_bounds[idx].clone();
            if parts.len() > 1 {
                sink(&self.normalized[idx], self.segments[idx].clone(), TokenKind::Identifier);
            }
            let lone = parts.len() == 1;
            for part in &self.parts[parts] {
                self.scratch.clear();
                push_lowercase(&mut self.scratch, &text[part.clone()]);
                if query && lone && is_stop_word(&self.scratch) {
                    continue;
                }
                if self.scratch.len() >= MIN_STEM_LEN && self.scratch.bytes().all(|b| b.is_ascii_lowercase())
                {
                    if let Some(stem) = self.stems.get(self.scratch.as_str()) {
                        sink(stem, part.clone(), TokenKind::Part);
                        continue;
                    }
                    let stem: Box<str> = self.stemmer.stem(&self.scratch).into();
                    sink(&stem, part.clone(), TokenKind::Part);
                    if self.stems.len() >= MAX_CACHED_STEMS {
                        self.stems.clear();
                    }
                    self.stems.insert(self.scratch.as_str().into(), stem);
                } else {
                    sink(&self.scratch, part.clone(), TokenKind::Part);
                }
            }
        }
    }

    /// Appends the byte ranges (into `text`) of the parts of the word at `word` to `self.parts`.
    fn split_word(&mut self, text: &str, word: Range<usize>) {
        if text[word.clone()].is_ascii() {
            self.split_ascii_word(text.as_bytes(), word);
        } else {
            self.split_char_word(text, word);
        }
    }

    fn split_char_word(&mut self, text: &str, word: Range<usize>) {
        self.chars.clear();
        self.chars.extend(text[word.clone()].char_indices().map(|(i, c)| (word.start + i, c)));
        let chars = &self.chars;
        let class = |i: usize| chars.get(i).map(|&(_, c)| CharClass::of(c));
        let mut part_start: Option<usize> = None;
        for i in 0..chars.len() {
            let (offset, c) = chars[i];
            let cur = CharClass::of(c);
            if cur == CharClass::Separator {
                if let Some(start) = part_start.take() {
                    self.parts.push(start..offset);
                }
                continue;
            }
            let Some(start) = part_start else {
                part_start = Some(offset);
                continue;
            };
            let prev = class(i - 1).unwrap_or(CharClass::Separator);
            let boundary = match (prev, cur) {
                (CharClass::Lower, CharClass::Upper) => true,
                (CharClass::Digit, CharClass::Upper | CharClass::Lower)
                | (CharClass::Upper | CharClass::Lower, CharClass::Digit) => true,
                // `HTTPResponse`: a new part starts at the last capital before lowercase, unless
                // the lowercase is a lone plural `s` (`URLs`, `IDsFor`).
                (CharClass::Upper, CharClass::Upper) => {
                    class(i + 1) == Some(CharClass::Lower) && !lone_plural_s(chars, i + 1)
                }
                _ => false,
            };
            if boundary {
                self.parts.push(start..offset);
                part_start = Some(offset);
            }
        }
        if let Some(start) = part_start {
            self.parts.push(start..word.end);
        }
    }

    /// [`Splitter::split_word`] for an ASCII word (nearly every word of code), on bytes: the
    /// same boundaries without decoding characters.
    fn split_ascii_word(&mut self, bytes: &[u8], word: Range<usize>) {
        // Looking ahead stops at the word's end.
        let bytes = &bytes[..word.end];
        let class = |b: u8| match b {
            b'_' => CharClass::Separator,
            b'0'..=b'9' => CharClass::Digit,
            b'A'..=b'Z' => CharClass::Upper,
            _ => CharClass::Lower,
        };
        let mut part_start: Option<usize> = None;
        let mut prev = CharClass::Separator;
        for at in word.clone() {
            let cur = class(bytes[at]);
            if cur == CharClass::Separator {
                if let Some(start) = part_start.take() {
                    self.parts.push(start..at);
                }
                prev = cur;
                continue;
            }
            let Some(start) = part_start else {
                part_start = Some(at);
                prev = cur;
                continue;
            };
            let boundary = match (prev, cur) {
                (CharClass::Lower, CharClass::Upper) => true,
                (CharClass::Digit, CharClass::Upper | CharClass::Lower)
                | (CharClass::Upper | CharClass::Lower, CharClass::Digit) => true,
                (CharClass::Upper, CharClass::Upper) => {
                    // As in `split_char_word`: `HTTPResponse` splits before the `R`, `URLs` not.
                    let next = bytes.get(at + 1).copied();
                    next.is_some_and(|b| b.is_ascii_lowercase())
                        && !(next == Some(b's') && bytes.get(at + 2).is_none_or(|b| !b.is_ascii_lowercase()))
                }
                _ => false,
            };
            if boundary {
                self.parts.push(start..at);
                part_start = Some(at);
            }
            prev = cur;
        }
        if let Some(start) = part_start {
            self.parts.push(start..word.end);
        }
    }
}

/// Whether `chars[at]` is an `s` that ends its part (`URLs`, `IDs_x`, `APIsFor`).
fn lone_plural_s(chars: &[(usize, char)], at: usize) -> bool {
    chars[at].1 == 's'
        && chars.get(at + 1).is_none_or(|&(_, c)| !matches!(CharClass::of(c), CharClass::Lower))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CharClass {
    Upper,
    /// Lowercase letters and letters without case (CJK, …).
    Lower,
    Digit,
    Separator,
}

impl CharClass {
    fn of(c: char) -> CharClass {
        if c == '_' {
            CharClass::Separator
        } else if c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric()) {
            CharClass::Digit
        } else if c.is_uppercase() {
            CharClass::Upper
        } else {
            CharClass::Lower
        }
    }
}

fn push_lowercase(out: &mut String, text: &str) {
    if text.is_ascii() {
        out.extend(text.bytes().map(|b| b.to_ascii_lowercase() as char));
    } else {
        out.extend(text.chars().flat_map(char::to_lowercase));
    }
}

/// Every token of `text` with its kind, as the index sees it (stop words kept).
pub fn tokens(text: &str) -> Vec<(String, TokenKind)> {
    let mut out = Vec::new();
    Splitter::default().split(text, false, &mut |t, _, kind| out.push((t.to_owned(), kind)));
    out
}

/// The tantivy face of [`Splitter`], registered as [`CODE_TOKENIZER`].
#[derive(Clone, Default)]
pub struct CodeTokenizer {
    splitter: Splitter,
    tokens: Vec<Token>,
}

pub struct CodeTokenStream<'a> {
    tokens: &'a mut [Token],
    /// Index of the current token plus one; 0 before the first `advance`.
    next: usize,
}

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = CodeTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CodeTokenStream<'a> {
        // Tokens are produced eagerly into a reused buffer; their `String`s keep their capacity
        // between documents, so steady-state indexing does not allocate per token.
        let mut n = 0;
        let tokens = &mut self.tokens;
        self.splitter.split(text, false, &mut |text, range, _| {
            if n == tokens.len() {
                tokens.push(Token::default());
            }
            let token = &mut tokens[n];
            token.text.clear();
            token.text.push_str(text);
            token.offset_from = range.start;
            token.offset_to = range.end;
            token.position = n;
            token.position_length = 1;
            n += 1;
        });
        CodeTokenStream { tokens: &mut self.tokens[..n], next: 0 }
    }
}

impl TokenStream for CodeTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next.saturating_sub(1).min(self.tokens.len().saturating_sub(1))]
    }

    fn token_mut(&mut self) -> &mut Token {
        let idx = self.next.saturating_sub(1).min(self.tokens.len().saturating_sub(1));
        &mut self.tokens[idx]
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    #[track_caller]
    fn check(text: &str, expect: Expect) {
        let rendered: Vec<String> = tokens(text)
            .into_iter()
            .map(|(t, kind)| match kind {
                TokenKind::Part => t,
                TokenKind::Identifier => format!("[{t}]"),
                TokenKind::Path => format!("<{t}>"),
            })
            .collect();
        expect.assert_eq(&rendered.join(" "));
    }

    #[track_caller]
    fn check_query(text: &str, expect: Expect) {
        let mut out = Vec::new();
        Splitter::default().split(text, true, &mut |t, _, _| out.push(t.to_owned()));
        expect.assert_eq(&out.join(" "));
    }

    proptest::proptest! {
        /// The byte-wise split of ASCII words finds the same parts as the general one.
        #[test]
        fn ascii_words_split_like_any_word(word in "[A-Za-z0-9_]{1,24}") {
            let mut splitter = Splitter::default();
            splitter.split_ascii_word(word.as_bytes(), 0..word.len());
            let bytewise = std::mem::take(&mut splitter.parts);
            splitter.split_char_word(&word, 0..word.len());
            proptest::prop_assert_eq!(bytewise, splitter.parts);
        }
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn splits_case_styles_to_the_same_tokens() {
        check("get_user_name", expect!["[getusername] get user name"]);
        check("getUserName", expect!["[getusername] get user name"]);
        check("GetUserName", expect!["[getusername] get user name"]);
        check("GET_USER_NAME", expect!["[getusername] get user name"]);
    }

    #[test]
    fn splits_acronyms_and_digits() {
        check("HTTPResponse", expect!["[httpresponse] http respons"]);
        check("getURLFor2", expect!["[geturlfor2] get url for 2"]);
        check("URLs", expect!["url"]);
        check("parseURLsFromHTML", expect!["[parseurlsfromhtml] pars url from html"]);
        check("utf8", expect!["[utf8] utf 8"]);
        check("base64_encode", expect!["[base64encode] base 64 encod"]);
        check("isASCII", expect!["[isascii] is ascii"]);
        check("ASet", expect!["[aset] a set"]);
        check("IPv6Address", expect!["[ipv6address] i pv 6 address"]);
    }

    #[test]
    fn underscores_only_separate() {
        check("__init__", expect!["init"]);
        check("_private_thing", expect!["[privatething] privat thing"]);
        check("_ __ ___", expect![""]);
        check("x", expect!["x"]);
    }

    #[test]
    fn dotted_paths_emit_their_last_two_segments_as_a_path() {
        check("django.db.models.QuerySet", expect!["<models.queryset> django db model [queryset] queri set"]);
        check("self.get_user()", expect!["<self.getuser> self [getuser] get user"]);
        check("hashers.py:123", expect!["<hashers.py> hasher py 123"]);
        check("a. b .c ..d", expect!["a b c d"]);
        check("3.14", expect!["<3.14> 3 14"]);
    }

    #[test]
    fn long_paths_keep_only_their_last_two_segments() {
        check("a.b.c.d.e.f.g.h", expect!["<g.h> a b c d e f g h"]);
        check(
            "Models.Query.QuerySet.filter",
            expect!["<queryset.filter> model queri [queryset] queri set filter"],
        );
        let word = "w".repeat(MAX_WORD_LEN + 1);
        check(&format!("a.b.{word}"), expect!["a b"]);
        check(&format!("a.{word}.b"), expect!["a b"]);
    }

    #[test]
    fn punctuation_separates_and_natural_language_is_stemmed() {
        check(
            "File \"/srv/app/views.py\", line 42, in get_object",
            expect!["file srv app <views.py> view py line 42 in [getobject] get object"],
        );
        check("Where are passwords hashed?", expect!["where are password hash"]);
        check("x=foo(bar)+baz[0]", expect!["x foo bar baz 0"]);
    }

    #[test]
    fn unicode_words_are_lowercased_and_kept() {
        check("Ünïcode_Größe", expect!["[ünïcodegröße] ünïcode größe"]);
        check("日本語 テスト", expect!["日本語 テスト"]);
        check("naïve—dash", expect!["naïve dash"]);
    }

    #[test]
    fn overlong_words_are_dropped() {
        let blob = "a1".repeat(40);
        check(&format!("before {blob} after"), expect!["befor after"]);
    }

    #[test]
    fn queries_drop_free_standing_stop_words_only() {
        check_query("Where are the passwords hashed?", expect!["password hash"]);
        check_query("is_valid is set", expect!["isvalid is valid set"]);
    }

    #[test]
    fn cached_stems_equal_fresh_ones() {
        let text = "passwords hashed hashing classes queries QuerySets";
        let mut splitter = Splitter::default();
        let mut runs = Vec::new();
        for _ in 0..2 {
            let mut out = Vec::new();
            splitter.split(text, false, &mut |t, _, _| out.push(t.to_owned()));
            runs.push(out);
        }
        assert_eq!(runs[0], runs[1]);
        assert_eq!(runs[0].join(" "), "password hash hash class queri querysets queri set");
    }

    #[test]
    fn tantivy_stream_reports_offsets_and_positions() {
        let mut tokenizer = CodeTokenizer::default();
        let text = "getUser x";
        let mut stream = tokenizer.token_stream(text);
        let mut seen = Vec::new();
        while let Some(token) = stream.next() {
            seen.push((token.text.clone(), token.offset_from, token.offset_to, token.position));
        }
        assert_eq!(
            seen,
            [
                ("getuser".to_owned(), 0, 7, 0),
                ("get".to_owned(), 0, 3, 1),
                ("user".to_owned(), 3, 7, 2),
                ("x".to_owned(), 8, 9, 3)
            ]
        );
        // A second, shorter text reuses the buffer without leaking old tokens.
        let mut stream = tokenizer.token_stream("y");
        assert_eq!(stream.next().map(|t| t.text.clone()), Some("y".to_owned()));
        assert!(stream.next().is_none());
    }
}
