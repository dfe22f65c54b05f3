//! Hybrid retrieval: from a question (and where the cursor is) to ranked chunks, files and
//! symbols, each saying which signals put it there.
//!
//! The question is read for signals ([`signals::extract`]): identifiers, dotted paths, file names,
//! quoted code, error messages and traceback frames. Each signal becomes one ranked list, of
//! chunks (symbol-sized pieces of files, the same ones the search index holds) and of files:
//!
//! - **text**: BM25 over the chunks ([`crate::search`]) with the whole question;
//! - **identifier**: definitions of the names the question mentions, weighted by how code-like
//!   the mention is and how few definitions share the name;
//! - **path**: files and modules the question names (`utils.py`, `pkg.io.read`);
//! - **traceback**: the frames that fall in the repository, innermost first (where it raised);
//! - **error**: BM25 with the text of each error message (where the message is raised);
//! - **graph**: personalized PageRank over the symbol graph, seeded by the hits above and the
//!   cursor's symbol, which brings in what they call and what calls them;
//! - **cursor**: the symbol the cursor is in;
//! - **recency**: among the files some other list found, the ones git saw change most recently.
//!
//! The lists are fused with weighted reciprocal-rank fusion (Cormack et al. 2009): an item scores
//! Σ weight / (k + rank) over the lists it is in, which needs no calibration between BM25 scores,
//! PageRank mass and frame positions. Files are fused from file lists the same way.

mod signals;

use std::fmt;

use rustc_hash::{FxHashMap, FxHashSet};

pub use signals::{ErrorLine, Frame, Mention, Signals, extract};

use crate::{
    analysis::{Analysis, Cancellable, Cancelled},
    graph::{LocalRankOptions, NodeId, SymbolGraph},
    search::{ChunkKind, QueryOptions, chunk_kinds, chunk_owner},
    stdx::CancelToken,
    syntax::{FileSummary, SymbolKind},
    text::TextRange,
    workspace::FileId,
};

/// A question, and optionally where the user is.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    pub text: &'a str,
    pub cursor: Option<Cursor>,
}

/// A position in a file, as a UTF-8 byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub file: FileId,
    pub offset: u32,
}

/// Which list put an item in the results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    Text,
    Identifier,
    Path,
    Traceback,
    Error,
    Graph,
    Cursor,
    Recency,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Text => "text",
            Signal::Identifier => "identifier",
            Signal::Path => "path",
            Signal::Traceback => "traceback",
            Signal::Error => "error",
            Signal::Graph => "graph",
            Signal::Cursor => "cursor",
            Signal::Recency => "recency",
        }
    }
}

/// One signal's vote for an item: its rank in that signal's list (1 = first) and what matched.
#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
    pub signal: Signal,
    pub rank: u32,
    pub detail: Option<String>,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{}", self.signal.as_str(), self.rank)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

/// A ranked chunk: a whole module, class, function or method.
#[derive(Clone, Debug)]
pub struct RankedChunk {
    pub file: FileId,
    /// Workspace-relative, `/`-separated.
    pub path: String,
    /// `Class.method` within the file; `None` for a module chunk.
    pub symbol: Option<String>,
    /// The symbol's index in the file's summary (`None` for a module chunk).
    pub symbol_index: Option<u32>,
    pub kind: ChunkKind,
    /// The chunk's byte range, and its lines (1-based, inclusive).
    pub range: TextRange,
    pub start_line: u32,
    pub end_line: u32,
    /// A line the evidence points at inside the chunk (a traceback frame's), 1-based.
    pub focus_line: Option<u32>,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

#[derive(Clone, Debug)]
pub struct RankedFile {
    pub file: FileId,
    pub path: String,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// A ranked definition (chunks aggregated to the symbols they are).
#[derive(Clone, Debug)]
pub struct RankedSymbol {
    pub file: FileId,
    pub path: String,
    pub qualified_name: String,
    pub kind: ChunkKind,
    /// 1-based.
    pub line: u32,
    pub score: f64,
}

/// What [`retrieve`] found.
#[derive(Clone, Debug, Default)]
pub struct Retrieval {
    pub signals: Signals,
    pub chunks: Vec<RankedChunk>,
    pub files: Vec<RankedFile>,
    pub symbols: Vec<RankedSymbol>,
}

/// How much each signal's list counts in the fusion.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub text: f64,
    pub identifier: f64,
    pub path: f64,
    pub traceback: f64,
    pub error: f64,
    pub graph: f64,
    pub cursor: f64,
    pub recency: f64,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            text: 1.0,
            identifier: 1.0,
            path: 1.0,
            traceback: 1.0,
            error: 0.5,
            graph: 0.5,
            cursor: 1.0,
            recency: 0.25,
        }
    }
}

impl Weights {
    fn of(&self, signal: Signal) -> f64 {
        match signal {
            Signal::Text => self.text,
            Signal::Identifier => self.identifier,
            Signal::Path => self.path,
            Signal::Traceback => self.traceback,
            Signal::Error => self.error,
            Signal::Graph => self.graph,
            Signal::Cursor => self.cursor,
            Signal::Recency => self.recency,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RetrieveOptions {
    pub weights: Weights,
    /// The `k` of reciprocal-rank fusion: larger flattens the advantage of the first ranks.
    pub rrf_k: f64,
    /// BM25 chunks and files considered.
    pub text_depth: usize,
    /// A name with more definitions than this says nothing about which one is meant.
    pub max_definitions: usize,
    /// Definitions in test code count this much (questions are mostly about the code).
    pub test_factor: f64,
    /// Items of each list that enter the fusion.
    pub list_depth: usize,
    /// BM25 chunks that seed the graph walk.
    pub graph_seeds: usize,
    pub graph: LocalRankOptions,
    pub query: QueryOptions,
}

impl Default for RetrieveOptions {
    fn default() -> RetrieveOptions {
        RetrieveOptions {
            weights: Weights::default(),
            rrf_k: 10.0,
            text_depth: 50,
            max_definitions: 8,
            test_factor: 0.25,
            list_depth: 30,
            graph_seeds: 10,
            // Only the top `list_depth` of the walk enter the fusion, so a coarser residual than
            // the graph's default is enough: on the development set 1e-4 ranks every file as
            // 1e-5 does, and on Django it cuts the walk (then most of a question's time) by
            // several times.
            graph: LocalRankOptions { max_pushes: 20_000, epsilon: 1e-4, ..LocalRankOptions::default() },
            query: QueryOptions::default(),
        }
    }
}

/// A chunk, identified by its file and the symbol that owns it (`None`: the module chunk).
type Key = (FileId, Option<u32>);

/// One signal's ranking, best first, with what matched for each entry.
struct Ranking<T> {
    signal: Signal,
    items: Vec<(T, f64, Option<String>)>,
    /// Where each item is in `items`: graph rankings add thousands of items, and a linear
    /// search per addition was a sixth of a warm question's time on Django.
    positions: FxHashMap<T, usize>,
}

impl<T: Copy + Eq + std::hash::Hash> Ranking<T> {
    fn new(signal: Signal) -> Ranking<T> {
        Ranking { signal, items: Vec::new(), positions: FxHashMap::default() }
    }

    /// Adds to an item's score (first detail wins); call [`Ranking::sorted`] when done.
    fn add(&mut self, item: T, score: f64, detail: Option<String>) {
        match self.positions.entry(item) {
            std::collections::hash_map::Entry::Occupied(at) => self.items[*at.get()].1 += score,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(self.items.len());
                self.items.push((item, score, detail));
            }
        }
    }

    fn sorted(mut self, depth: usize) -> Ranking<T> {
        // Stable: ties keep the order they were found in.
        self.items.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.items.truncate(depth);
        // Positions are only for adding; a sorted ranking is read, never added to.
        self.positions = FxHashMap::default();
        self
    }
}

/// The repository as retrieval sees it: the graph's files by path, and chunk ownership.
struct Repo<'g> {
    graph: &'g SymbolGraph,
    by_path: FxHashMap<&'g str, FileId>,
    kinds: std::cell::RefCell<FxHashMap<FileId, std::rc::Rc<Vec<Option<ChunkKind>>>>>,
}

impl<'g> Repo<'g> {
    fn new(graph: &'g SymbolGraph) -> Repo<'g> {
        Repo { graph, by_path: graph.files().map(|(f, p, _)| (p, f)).collect(), kinds: Default::default() }
    }

    fn summary(&self, file: FileId) -> Option<&'g std::sync::Arc<FileSummary>> {
        self.graph.summary(file)
    }

    fn kinds(&self, file: FileId) -> Option<std::rc::Rc<Vec<Option<ChunkKind>>>> {
        let summary = self.summary(file)?;
        Some(self.kinds.borrow_mut().entry(file).or_insert_with(|| chunk_kinds(summary).into()).clone())
    }

    /// The chunk that holds symbol `idx` of `file`.
    fn chunk_of_symbol(&self, file: FileId, idx: usize) -> Key {
        let owner = match (self.summary(file), self.kinds(file)) {
            (Some(summary), Some(kinds)) => chunk_owner(summary, &kinds, idx),
            _ => None,
        };
        (file, owner.map(|o| o as u32))
    }

    /// The chunk holding byte `offset` of `file`: its innermost enclosing symbol's.
    fn chunk_at(&self, file: FileId, offset: u32) -> Key {
        let Some(summary) = self.summary(file) else { return (file, None) };
        let innermost = summary
            .symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| s.range.start <= offset && offset < s.range.end.max(s.range.start + 1))
            .max_by_key(|(_, s)| s.range.start)
            .map(|(i, _)| i);
        match innermost {
            Some(idx) => self.chunk_of_symbol(file, idx),
            None => (file, None),
        }
    }

    /// The chunk a search hit is: found by its qualified name among the file's chunked symbols.
    fn chunk_of_hit(&self, hit: &crate::search::SearchHit) -> Option<Key> {
        let file = *self.by_path.get(hit.path.as_str())?;
        if hit.kind == ChunkKind::Module {
            return Some((file, None));
        }
        let summary = self.summary(file)?;
        let kinds = self.kinds(file)?;
        let found = (0..summary.symbols.len()).find(|&i| {
            let start = summary.symbols[i].range.start;
            kinds[i].is_some()
                && start >= hit.start_byte
                && start < hit.end_byte.max(hit.start_byte + 1)
                && hit.qualified_name.ends_with(&summary.qualified_name(i))
        });
        Some((file, found.map(|i| i as u32)))
    }

    fn node_of(&self, key: Key) -> Option<NodeId> {
        match key.1 {
            Some(idx) => self.graph.symbol_node(key.0, idx),
            None => self.graph.module_node(key.0),
        }
    }

    fn is_test(&self, file: FileId) -> bool {
        self.graph.is_test_file(file)
    }

    fn path(&self, file: FileId) -> &'g str {
        self.graph.rel_path(file).unwrap_or("")
    }

    /// Files whose path ends with `suffix` at a component boundary (`a/b.py` matches `x/a/b.py`).
    fn files_ending_with(&self, suffix: &str) -> Vec<FileId> {
        let suffix = suffix.trim_start_matches('/');
        let mut out: Vec<FileId> = self
            .by_path
            .iter()
            .filter(|(path, _)| {
                path.ends_with(suffix)
                    && (path.len() == suffix.len() || path.as_bytes()[path.len() - suffix.len() - 1] == b'/')
            })
            .map(|(_, f)| *f)
            .collect();
        out.sort();
        out
    }
}

/// Retrieves what answers `question`: at most `limit` chunks, and files and symbols.
pub fn retrieve(
    analysis: &Analysis,
    question: &Question<'_>,
    limit: usize,
    options: &RetrieveOptions,
    cancel: &CancelToken,
) -> Cancellable<Retrieval> {
    let signals = extract(question.text);
    let model = analysis.model();
    let search = model.search();
    let graph = model.graph.read();
    let repo = Repo::new(&graph);
    let check = || if cancel.is_cancelled() { Err(Cancelled) } else { Ok(()) };
    check()?;

    let mut chunk_lists: Vec<Ranking<Key>> = Vec::new();
    let mut file_lists: Vec<Ranking<FileId>> = Vec::new();
    let mut focus: FxHashMap<Key, u32> = FxHashMap::default();

    // Text: BM25 over chunks, and over files (best chunk plus runners-up).
    let mut text_chunks = Ranking::new(Signal::Text);
    let mut text_files = Ranking::new(Signal::Text);
    if let Some(search) = &search {
        match search.search_with(question.text, options.text_depth, &options.query) {
            Ok(hits) => {
                for hit in &hits {
                    if let Some(key) = repo.chunk_of_hit(hit) {
                        text_chunks.add(key, f64::from(hit.score), None);
                    }
                }
            }
            Err(err) => tracing::warn!("search failed: {err}"),
        }
        match search.file_scores_with(question.text, options.text_depth, &options.query) {
            Ok(hits) => {
                for hit in hits {
                    if let Some(&file) = repo.by_path.get(hit.path.as_str()) {
                        text_files.add(file, f64::from(hit.score), None);
                    }
                }
            }
            Err(err) => tracing::warn!("search failed: {err}"),
        }
    }
    check()?;

    // Identifiers: definitions of the names mentioned, found in one pass over all symbols.
    let mut wanted: FxHashMap<&str, &Mention> = FxHashMap::default();
    for mention in &signals.identifiers {
        wanted.insert(mention.name.as_str(), mention);
    }
    let mut definitions: FxHashMap<&str, Vec<(FileId, usize)>> = FxHashMap::default();
    let mut stems: FxHashMap<&str, Vec<FileId>> = FxHashMap::default();
    for (file, path, summary) in graph.files() {
        for (idx, symbol) in summary.symbols.iter().enumerate() {
            if let Some((name, _)) = wanted.get_key_value(&*symbol.name)
                && is_definition_worth_naming(symbol.kind)
            {
                definitions.entry(name).or_default().push((file, idx));
            }
        }
        let stem = module_stem(path);
        if let Some((name, _)) = wanted.get_key_value(stem) {
            stems.entry(name).or_default().push(file);
        }
    }
    check()?;
    let mut ident_chunks = Ranking::new(Signal::Identifier);
    let mut ident_files = Ranking::new(Signal::Identifier);
    for mention in &signals.identifiers {
        let Some(defs) = definitions.get(mention.name.as_str()) else { continue };
        let non_test = defs.iter().filter(|(f, _)| !repo.is_test(*f)).count();
        let n = if non_test > 0 { non_test } else { defs.len() };
        if n > options.max_definitions {
            continue;
        }
        let base = f64::from(mention.strength) * (1.0 + f64::from(mention.count).ln()) / (n as f64).sqrt();
        for &(file, idx) in defs {
            let score = if repo.is_test(file) { base * options.test_factor } else { base };
            let detail = Some(format!("`{}`", mention.name));
            ident_chunks.add(repo.chunk_of_symbol(file, idx), score, detail.clone());
            ident_files.add(file, score, detail);
        }
    }

    // Paths: files named outright, dotted module paths, and module names used as words.
    let mut path_chunks = Ranking::new(Signal::Path);
    let mut path_files = Ranking::new(Signal::Path);
    for mention in &signals.files {
        // A long path (`/env/site-packages/pkg/io.py`) matches by its longest common suffix.
        let found = match frame_file(&repo, mention) {
            Some(file) if mention.contains('/') => vec![file],
            _ => repo.files_ending_with(mention),
        };
        for &file in &found {
            path_files.add(file, 2.0 / found.len() as f64, Some(mention.clone()));
        }
    }
    for dotted in &signals.dotted {
        resolve_dotted(&repo, dotted, &mut path_chunks, &mut path_files);
    }
    for mention in &signals.identifiers {
        let Some(files) = stems.get(mention.name.as_str()) else { continue };
        if files.len() <= options.max_definitions {
            for &file in files {
                let score = f64::from(mention.strength) * 0.5 / files.len() as f64;
                path_files.add(file, score, Some(format!("module `{}`", mention.name)));
            }
        }
    }

    // Traceback: frames inside the repository, innermost first.
    let mut trace_chunks = Ranking::new(Signal::Traceback);
    let mut trace_files = Ranking::new(Signal::Traceback);
    let frames: Vec<&Frame> = signals.frames.iter().rev().collect();
    for (depth, frame) in frames.iter().enumerate() {
        let Some(file) = frame_file(&repo, &frame.path) else { continue };
        let key = frame_chunk(&repo, file, frame);
        let score = 1.0 / (depth as f64 + 1.0);
        let detail = Some(format!("line {}", frame.line));
        focus.entry(key).or_insert(frame.line);
        trace_chunks.add(key, score, detail.clone());
        trace_files.add(file, score, detail);
    }

    // Error messages: where each message is raised.
    let mut error_chunks = Ranking::new(Signal::Error);
    let mut error_files = Ranking::new(Signal::Error);
    if let Some(search) = &search {
        for error in signals.errors.iter().filter(|e| e.message.len() >= 8).take(3) {
            let Ok(hits) = search.search_with(&error.message, 10, &options.query) else { continue };
            for (rank, hit) in hits.iter().enumerate() {
                let Some(key) = repo.chunk_of_hit(hit) else { continue };
                let score = 1.0 / (rank as f64 + 1.0);
                error_chunks.add(key, score, Some(error.exception.clone()));
                error_files.add(key.0, score, Some(error.exception.clone()));
            }
        }
    }
    check()?;

    // Cursor: the chunk the user is in.
    let mut cursor_chunks = Ranking::new(Signal::Cursor);
    let mut cursor_files = Ranking::new(Signal::Cursor);
    if let Some(cursor) = question.cursor
        && repo.summary(cursor.file).is_some()
    {
        cursor_chunks.add(repo.chunk_at(cursor.file, cursor.offset), 1.0, None);
        cursor_files.add(cursor.file, 1.0, None);
    }

    let text_chunks = text_chunks.sorted(options.list_depth);
    let ident_chunks = ident_chunks.sorted(options.list_depth);
    let path_chunks = path_chunks.sorted(options.list_depth);
    let trace_chunks = trace_chunks.sorted(options.list_depth);

    // Graph: a walk that restarts at everything found so far.
    let mut seeds: Vec<(NodeId, f64)> = Vec::new();
    let mut seed_list = |ranking: &Ranking<Key>, take: usize, weight: f64| {
        for (rank, (key, ..)) in ranking.items.iter().take(take).enumerate() {
            if let Some(node) = repo.node_of(*key) {
                seeds.push((node, weight / (rank as f64 + 1.0)));
            }
        }
    };
    seed_list(&text_chunks, options.graph_seeds, 1.0);
    seed_list(&ident_chunks, options.graph_seeds, 1.0);
    seed_list(&path_chunks, options.graph_seeds, 1.0);
    seed_list(&trace_chunks, options.graph_seeds, 1.0);
    seed_list(&cursor_chunks, 1, 2.0);
    let mut graph_chunks = Ranking::new(Signal::Graph);
    let mut graph_files = Ranking::new(Signal::Graph);
    if !seeds.is_empty() && options.weights.graph > 0.0 {
        let ranks = graph.pagerank_local(&seeds, &options.graph);
        for (node, score) in ranks.iter() {
            let Some(n) = graph.node(node) else { continue };
            let key = match n.symbol {
                Some(idx) => repo.chunk_of_symbol(n.file, idx as usize),
                None => (n.file, None),
            };
            graph_chunks.add(key, score, None);
            graph_files.add(n.file, score, None);
        }
    }
    check()?;

    // Recency: among the candidate files, those changed most (recently), per git.
    let mut candidates: FxHashSet<FileId> = FxHashSet::default();
    for list in [&text_files, &ident_files, &path_files, &trace_files, &error_files, &cursor_files] {
        candidates.extend(list.items.iter().take(options.list_depth).map(|(f, ..)| *f));
    }
    let mut recent_files = Ranking::new(Signal::Recency);
    if options.weights.recency > 0.0 {
        let mut sorted: Vec<FileId> = candidates.into_iter().collect();
        sorted.sort();
        for file in sorted {
            let path = analysis.path(file);
            let Some(abs) = path.as_disk() else { continue };
            let Some(history) = model.history_for(abs) else { continue };
            let Some(facts) = history.repo_path(abs).and_then(|p| history.file(&p).cloned()) else {
                continue;
            };
            if facts.decayed_revisions > 0.01 {
                recent_files.add(file, facts.decayed_revisions, None);
            }
        }
    }

    chunk_lists.extend([
        text_chunks,
        ident_chunks,
        path_chunks,
        trace_chunks,
        error_chunks.sorted(options.list_depth),
        graph_chunks.sorted(options.list_depth),
        cursor_chunks,
    ]);
    file_lists.extend([
        text_files.sorted(options.list_depth),
        ident_files.sorted(options.list_depth),
        path_files.sorted(options.list_depth),
        trace_files.sorted(options.list_depth),
        error_files.sorted(options.list_depth),
        graph_files.sorted(options.list_depth),
        cursor_files,
        recent_files.sorted(options.list_depth),
    ]);

    let fused_chunks = fuse(&chunk_lists, options);
    let fused_files = fuse(&file_lists, options);
    let files: Vec<RankedFile> = fused_files
        .into_iter()
        .map(|(file, score, reasons)| RankedFile { file, path: repo.path(file).to_owned(), score, reasons })
        .collect();
    let chunks: Vec<RankedChunk> = fused_chunks
        .into_iter()
        .filter_map(|(key, score, reasons)| chunk_info(&repo, key, score, reasons, focus.get(&key).copied()))
        .take(limit)
        .collect();
    let symbols = chunks
        .iter()
        .filter_map(|c| {
            Some(RankedSymbol {
                file: c.file,
                path: c.path.clone(),
                qualified_name: c.symbol.clone()?,
                kind: c.kind,
                line: c.start_line,
                score: c.score,
            })
        })
        .collect();
    Ok(Retrieval { signals, chunks, files, symbols })
}

/// Ranks files only (what localization is measured on): the same fusion as [`retrieve`].
pub fn rank_files(
    analysis: &Analysis,
    question: &Question<'_>,
    options: &RetrieveOptions,
    cancel: &CancelToken,
) -> Cancellable<Vec<RankedFile>> {
    Ok(retrieve(analysis, question, 0, options, cancel)?.files)
}

/// Weighted reciprocal-rank fusion, best first; ties broken by the order of first appearance.
fn fuse<T: Copy + Eq + std::hash::Hash>(
    lists: &[Ranking<T>],
    options: &RetrieveOptions,
) -> Vec<(T, f64, Vec<Reason>)> {
    let mut fused: Vec<(T, f64, Vec<Reason>)> = Vec::new();
    let mut index: FxHashMap<T, usize> = FxHashMap::default();
    for list in lists {
        let weight = options.weights.of(list.signal);
        if weight <= 0.0 {
            continue;
        }
        for (rank, (item, _, detail)) in list.items.iter().enumerate() {
            let at = *index.entry(*item).or_insert_with(|| {
                fused.push((*item, 0.0, Vec::new()));
                fused.len() - 1
            });
            fused[at].1 += weight / (options.rrf_k + rank as f64 + 1.0);
            fused[at].2.push(Reason { signal: list.signal, rank: rank as u32 + 1, detail: detail.clone() });
        }
    }
    fused.sort_by(|a, b| b.1.total_cmp(&a.1));
    fused
}

fn chunk_info(
    repo: &Repo<'_>,
    key: Key,
    score: f64,
    reasons: Vec<Reason>,
    focus_line: Option<u32>,
) -> Option<RankedChunk> {
    let summary = repo.summary(key.0)?;
    let lines = &summary.line_index;
    let (range, symbol, kind) = match key.1 {
        Some(idx) => {
            let kinds = repo.kinds(key.0)?;
            let s = summary.symbols.get(idx as usize)?;
            (
                s.range,
                Some(summary.qualified_name(idx as usize)),
                kinds[idx as usize].unwrap_or(ChunkKind::Function),
            )
        }
        None => (TextRange::new(0, lines.len()), None, ChunkKind::Module),
    };
    let start_line = lines.line_of(range.start) + 1;
    let end_line = lines.line_of(range.end.saturating_sub(1).max(range.start)) + 1;
    Some(RankedChunk {
        file: key.0,
        path: repo.path(key.0).to_owned(),
        symbol,
        symbol_index: key.1,
        kind,
        range,
        start_line,
        end_line,
        focus_line: focus_line.filter(|l| (start_line..=end_line).contains(l)),
        score,
        reasons,
    })
}

/// Definitions a question can usefully point at (not every local variable of every function).
fn is_definition_worth_naming(kind: SymbolKind) -> bool {
    matches!(
        kind,
        SymbolKind::Class
            | SymbolKind::Function
            | SymbolKind::Method
            | SymbolKind::Constant
            | SymbolKind::Field
    ) || kind == SymbolKind::Variable
}

/// `pkg/io.py` → `io`; `pkg/__init__.py` → `pkg`.
fn module_stem(path: &str) -> &str {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or(path);
    let stem = file.strip_suffix(".pyi").or_else(|| file.strip_suffix(".py")).unwrap_or(file);
    if stem == "__init__" { parts.next().unwrap_or(stem) } else { stem }
}

/// `pkg.mod.Class.method`: the longest prefix that names a module file, then the rest as a
/// symbol in it.
fn resolve_dotted(repo: &Repo<'_>, dotted: &str, chunks: &mut Ranking<Key>, files: &mut Ranking<FileId>) {
    let segments: Vec<&str> = dotted.split('.').collect();
    for split in (1..=segments.len()).rev() {
        let module = segments[..split].join("/");
        let mut found = repo.files_ending_with(&format!("{module}.py"));
        found.extend(repo.files_ending_with(&format!("{module}/__init__.py")));
        // A bare last segment (`utils`) matching many files says little.
        if found.is_empty() || (split == 1 && found.len() > 2) {
            continue;
        }
        let rest = segments[split..].join(".");
        let detail = Some(dotted.to_owned());
        for &file in &found {
            files.add(file, 1.0 / found.len() as f64, detail.clone());
            let Some(summary) = repo.summary(file) else { continue };
            if rest.is_empty() {
                continue;
            }
            // `Class.method`, or `Class.attr` where only `Class` is a symbol.
            let mut tail = rest.as_str();
            loop {
                if let Some(idx) = (0..summary.symbols.len()).find(|&i| summary.qualified_name(i) == tail) {
                    chunks.add(repo.chunk_of_symbol(file, idx), 1.0 / found.len() as f64, detail.clone());
                    break;
                }
                match tail.rsplit_once('.') {
                    Some((head, _)) => tail = head,
                    None => break,
                }
            }
        }
        return;
    }
}

/// The repository file a traceback path stands for: the one sharing the longest path suffix
/// with it (at least the file name and, when several files share the name, its directory).
fn frame_file(repo: &Repo<'_>, printed: &str) -> Option<FileId> {
    let printed = printed.replace('\\', "/");
    let components: Vec<&str> = printed.split('/').filter(|c| !c.is_empty()).collect();
    let mut best: Option<(usize, Vec<FileId>)> = None;
    for take in 1..=components.len().min(8) {
        let suffix = components[components.len() - take..].join("/");
        let found = repo.files_ending_with(&suffix);
        if found.is_empty() {
            break;
        }
        best = Some((take, found));
    }
    let (matched, found) = best?;
    // Stdlib and third-party frames share file names with the repository (`__init__.py`,
    // `utils.py`): a lone file-name match must be unique and not a generic name.
    if found.len() > 1 || (matched == 1 && is_generic_file_name(components.last()?)) {
        return None;
    }
    Some(found[0])
}

fn is_generic_file_name(name: &str) -> bool {
    matches!(
        name,
        "__init__.py" | "__main__.py" | "utils.py" | "util.py" | "base.py" | "core.py" | "setup.py"
    )
}

/// The chunk of a frame: the named function around the printed line if it is there, else any
/// definition of that name in the file, else whatever holds the line.
fn frame_chunk(repo: &Repo<'_>, file: FileId, frame: &Frame) -> Key {
    let Some(summary) = repo.summary(file) else { return (file, None) };
    let line = frame.line.saturating_sub(1);
    let offset =
        summary.line_index.line_range(line.min(summary.line_index.line_count().saturating_sub(1))).start;
    if let Some(function) = &frame.function {
        let named: Vec<usize> =
            (0..summary.symbols.len()).filter(|&i| &*summary.symbols[i].name == function).collect();
        if let Some(&idx) =
            named.iter().find(|&&i| summary.symbols[i].range.contains(offset)).or(named.first())
        {
            return repo.chunk_of_symbol(file, idx);
        }
    }
    repo.chunk_at(file, offset)
}
