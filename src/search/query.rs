//! Ranking free text against the index: from a one-word identifier to a whole issue report.
//!
//! The text goes through the same tokenizer as the code (free-standing stop words dropped), and
//! becomes a disjunction of term queries over the fields, each boosted by its field's weight
//! ([`FieldBoosts`]) — plain BM25 summed over fields. No query syntax is parsed: quotes, colons
//! and parentheses in a traceback are just separators. Long texts are cut down to their
//! [`QueryOptions::max_terms`] most informative terms (rarest in the index first, a term repeated
//! in the question counting more), which keeps a 5,000-word issue as fast as a short question;
//! a term repeated in the question also weighs more in the score.
//!
//! One prior is applied on top of BM25: chunks of test code score lower
//! ([`QueryOptions::test_penalty`]) unless the question is about tests, because tests repeat the
//! names and words of the code they exercise and would otherwise crowd it out. It is applied by
//! rescoring a deeper BM25 top list, so the term scorers keep their block-max WAND pruning.
//!
//! [`SearchSnapshot::file_scores`] ranks files rather than chunks, for localization: a file
//! scores as its best chunk plus a small bonus for its next best ones.

use rustc_hash::FxHashMap;
use tantivy::{
    DocAddress, Score, TantivyDocument, Term,
    collector::TopDocs,
    columnar::Column,
    query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery},
    schema::{Field, IndexRecordOption, Value},
};

use super::{
    ChunkKind, SearchError, SearchResult,
    index::{SearchSnapshot, Span},
    tokenizer::{Splitter, TokenKind},
};

/// Query text beyond this many bytes is ignored.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

struct PreparedQuery {
    query: BooleanQuery,
    /// 1.0 when no prior applies.
    test_penalty: f32,
}

/// A `u64` fast field, opened per segment on first use.
struct FastColumns<'a> {
    snapshot: &'a SearchSnapshot,
    name: &'static str,
    columns: Vec<Option<Column<u64>>>,
}

impl<'a> FastColumns<'a> {
    fn new(snapshot: &'a SearchSnapshot, name: &'static str) -> FastColumns<'a> {
        FastColumns { snapshot, name, columns: vec![None; snapshot.searcher.segment_readers().len()] }
    }

    fn get(&mut self, address: DocAddress) -> SearchResult<Option<u64>> {
        let segment = address.segment_ord as usize;
        if self.columns[segment].is_none() {
            let reader = self.snapshot.searcher.segment_reader(address.segment_ord);
            self.columns[segment] = Some(reader.fast_fields().u64(self.name)?);
        }
        Ok(self.columns[segment].as_ref().and_then(|c| c.first(address.doc_id)))
    }
}

/// One ranked chunk.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// Workspace-relative, `/`-separated.
    pub path: String,
    pub name: String,
    pub qualified_name: String,
    pub kind: ChunkKind,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub start_byte: u32,
    pub end_byte: u32,
    pub score: f32,
}

/// One ranked file, with the chunk that ranked it.
#[derive(Clone, Debug, PartialEq)]
pub struct FileHit {
    pub path: String,
    pub score: f32,
    pub best: SearchHit,
}

/// How much a match in each field counts, relative to the body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldBoosts {
    pub name: f32,
    pub qualified_name: f32,
    pub path: f32,
    pub doc: f32,
    pub body: f32,
}

impl Default for FieldBoosts {
    fn default() -> FieldBoosts {
        FieldBoosts { name: 4.0, qualified_name: 3.0, path: 2.0, doc: 1.5, body: 1.0 }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueryOptions {
    pub boosts: FieldBoosts,
    /// At most this many distinct terms are searched; the most informative are kept.
    pub max_terms: usize,
    /// In [`SearchSnapshot::file_scores`], each of a file's next best chunks (up to four) adds
    /// this fraction of its score to the file's best.
    pub file_bonus: f32,
    /// Scores of chunks in test code are multiplied by this, unless the query itself is about
    /// tests (mentions `test`, `tests`, `TestCase`, …). Tests repeat the names and words of the
    /// code they test, often more than the code itself, and questions mostly want the code.
    pub test_penalty: f32,
    /// Extra weight of whole identifiers and dotted paths from the query over single words:
    /// `get_user` matching `get_user` exactly is stronger evidence than `get` and `user`
    /// matching `get_user_model`.
    pub identifier_weight: f32,
}

impl Default for QueryOptions {
    fn default() -> QueryOptions {
        QueryOptions {
            boosts: FieldBoosts::default(),
            max_terms: 32,
            file_bonus: 0.1,
            test_penalty: 0.5,
            identifier_weight: 2.0,
        }
    }
}

/// A term of a query as it is searched.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryTerm {
    pub text: String,
    pub kind: TokenKind,
    /// Occurrences in the query text.
    pub count: u32,
    /// Chunks containing it, in the field where it is most common.
    pub doc_freq: u64,
    /// Multiplies the field boosts: more for identifiers and for terms the question repeats.
    pub weight: f32,
}

impl SearchSnapshot {
    /// Number of chunks in this snapshot.
    pub fn num_chunks(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// The terms `text` is searched with, most informative first: tokens that occur in the
    /// index, deduplicated, at most `options.max_terms`. Useful to show or highlight what matched.
    pub fn query_terms(&self, text: &str, options: &QueryOptions) -> SearchResult<Vec<QueryTerm>> {
        // Every distinct token costs term-dictionary lookups; an issue report fits in far less
        // than this, a pasted log file does not need to.
        let text = &text[..floor_char_boundary(text, MAX_QUERY_BYTES)];
        let mut splitter = Splitter::default();
        let mut terms: Vec<QueryTerm> = Vec::new();
        let mut seen: FxHashMap<String, usize> = FxHashMap::default();
        for query in [true, false] {
            splitter.split(text, query, &mut |token, _, kind| match seen.get(token) {
                Some(&idx) => {
                    terms[idx].count += 1;
                    terms[idx].kind = terms[idx].kind.max(kind);
                }
                None => {
                    seen.insert(token.to_owned(), terms.len());
                    terms.push(QueryTerm {
                        text: token.to_owned(),
                        kind,
                        count: 1,
                        doc_freq: 0,
                        weight: 1.0,
                    });
                }
            });
            // Only a text of nothing but stop words ("how to") is searched with them: better
            // than nothing.
            if !terms.is_empty() {
                break;
            }
        }
        let f = self.fields;
        for term in &mut terms {
            let mut df = 0;
            // `name` ⊂ `qualified_name` and `doc` ⊂ `body`, so three fields cover all five.
            for field in [f.body, f.qualified_name, f.path_tokens] {
                df = df.max(self.searcher.doc_freq(&Term::from_field_text(field, &term.text))?);
            }
            term.doc_freq = df;
            let kind_weight = if term.kind == TokenKind::Part { 1.0 } else { options.identifier_weight };
            term.weight = kind_weight * (1.0 + 0.5 * (term.count as f32).ln());
        }
        terms.retain(|t| t.doc_freq > 0);
        let n = self.searcher.num_docs().max(1) as f32;
        let informativeness = |t: &QueryTerm| {
            let df = t.doc_freq as f32;
            ((n - df + 0.5) / (df + 0.5)).ln_1p() * t.weight
        };
        // Stable: among equally informative terms, the earlier in the question wins.
        terms.sort_by(|a, b| informativeness(b).total_cmp(&informativeness(a)));
        terms.truncate(options.max_terms);
        Ok(terms)
    }

    /// The best `limit` chunks for `text`, best first.
    pub fn search(&self, text: &str, limit: usize) -> SearchResult<Vec<SearchHit>> {
        self.search_with(text, limit, &QueryOptions::default())
    }

    pub fn search_with(
        &self,
        text: &str,
        limit: usize,
        options: &QueryOptions,
    ) -> SearchResult<Vec<SearchHit>> {
        let Some(query) = self.query(text, options)? else { return Ok(Vec::new()) };
        // More hits than chunks cannot exist; the cap also keeps collectors from preallocating
        // for an absurd `limit`.
        let limit = limit.min(self.searcher.num_docs() as usize);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let top = self.ranked(&query, limit, limit.saturating_mul(3).saturating_add(20))?;
        top.into_iter().map(|(score, address)| self.hit(score, address)).collect()
    }

    /// The best `limit` files for `text`, best first, each with its best chunk.
    pub fn file_scores(&self, text: &str, limit: usize) -> SearchResult<Vec<FileHit>> {
        self.file_scores_with(text, limit, &QueryOptions::default())
    }

    pub fn file_scores_with(
        &self,
        text: &str,
        limit: usize,
        options: &QueryOptions,
    ) -> SearchResult<Vec<FileHit>> {
        let Some(query) = self.query(text, options)? else { return Ok(Vec::new()) };
        let limit = limit.min(self.searcher.num_docs() as usize);
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Enough chunks that the top files' runners-up are seen, few enough to stay cheap.
        let depth = limit.saturating_mul(10).clamp(50, 500);
        let top = self.ranked(&query, depth, depth)?;
        let mut columns = FastColumns::new(self, "path_key");
        // Per file: (best score, best chunk, bonus from up to four runners-up, runners-up seen).
        let mut files: FxHashMap<u64, (Score, DocAddress, Score, u32)> = FxHashMap::default();
        for (score, address) in top {
            let Some(file) = columns.get(address)? else { continue };
            // Hits arrive best first, so the first chunk of a file is its best.
            let entry = files.entry(file).or_insert((score, address, 0.0, 0));
            if entry.1 != address && entry.3 < 4 {
                entry.2 += options.file_bonus * score;
                entry.3 += 1;
            }
        }
        let mut ranked: Vec<(Score, DocAddress)> =
            files.into_values().map(|(best, address, bonus, _)| (best + bonus, address)).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.truncate(limit);
        ranked
            .into_iter()
            .map(|(score, address)| {
                let best = self.hit(score, address)?;
                Ok(FileHit { path: best.path.clone(), score, best })
            })
            .collect()
    }

    /// The best `limit` chunks with the test-code prior applied: BM25 picks `depth` candidates
    /// (block-max WAND keeps that cheap), which are rescored and cut to `limit`.
    fn ranked(
        &self,
        query: &PreparedQuery,
        limit: usize,
        depth: usize,
    ) -> SearchResult<Vec<(Score, DocAddress)>> {
        let depth = if query.test_penalty < 1.0 { depth.max(limit) } else { limit };
        let mut top = self.searcher.search(&query.query, &TopDocs::with_limit(depth).order_by_score())?;
        if query.test_penalty < 1.0 {
            let mut tests = FastColumns::new(self, "test");
            for (score, address) in &mut top {
                if tests.get(*address)? == Some(1) {
                    *score *= query.test_penalty;
                }
            }
            top.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        top.truncate(limit);
        Ok(top)
    }

    fn query(&self, text: &str, options: &QueryOptions) -> SearchResult<Option<PreparedQuery>> {
        let terms = self.query_terms(text, options)?;
        if terms.is_empty() {
            return Ok(None);
        }
        let f = self.fields;
        let b = options.boosts;
        let fields: [(Field, f32); 5] = [
            (f.name, b.name),
            (f.qualified_name, b.qualified_name),
            (f.path_tokens, b.path),
            (f.doc, b.doc),
            (f.body, b.body),
        ];
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * fields.len());
        for term in &terms {
            for (field, boost) in fields {
                if boost <= 0.0 {
                    continue;
                }
                let query =
                    TermQuery::new(Term::from_field_text(field, &term.text), IndexRecordOption::WithFreqs);
                clauses
                    .push((Occur::Should, Box::new(BoostQuery::new(Box::new(query), boost * term.weight))));
            }
        }
        // "test" is the stem of test, tests, testing and the `test` part of `TestCase`.
        let about_tests = terms.iter().any(|t| t.text == "test");
        let test_penalty = if about_tests { 1.0 } else { options.test_penalty.clamp(0.0, 1.0) };
        Ok(Some(PreparedQuery { query: BooleanQuery::new(clauses), test_penalty }))
    }

    fn hit(&self, score: Score, address: DocAddress) -> SearchResult<SearchHit> {
        let doc: TantivyDocument = self.searcher.doc(address)?;
        let f = self.fields;
        let text =
            |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let number = |field: Field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or_default() as u32;
        let kind =
            doc.get_first(f.kind).and_then(|v| v.as_str()).and_then(ChunkKind::parse).ok_or_else(|| {
                SearchError::Tantivy(tantivy::TantivyError::SchemaError("chunk without a kind".to_owned()))
            })?;
        let path = text(f.path);
        // A chunk kept across an edit that moved it is where the table of moved chunks says.
        let moved = match self.moved.get(&path) {
            Some(spans) => {
                let keys =
                    self.searcher.segment_reader(address.segment_ord).fast_fields().u64("chunk_key")?;
                keys.first(address.doc_id).and_then(|key| spans.get(&key)).copied()
            }
            None => None,
        };
        let span = moved.unwrap_or(Span {
            start_line: number(f.start_line),
            end_line: number(f.end_line),
            start_byte: number(f.start_byte),
            end_byte: number(f.end_byte),
        });
        Ok(SearchHit {
            path,
            name: text(f.name),
            qualified_name: text(f.qualified_name),
            kind,
            start_line: span.start_line,
            end_line: span.end_line,
            start_byte: span.start_byte,
            end_byte: span.end_byte,
            score,
        })
    }
}
