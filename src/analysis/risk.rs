//! Risk in the repository model: code facts for every file (metrics and smells, from a parse of
//! its text), kept by content hash so that only changed files are parsed again, combined with
//! history and graph contexts into the [`RiskTable`] that diagnostics read.
//!
//! Runs on the model thread after the graph and the search index: a full build takes each file's
//! facts from the cache, else from indexing (which reads them from the tree it parsed anyway, see
//! [`FreshFacts`]), else parses the file (on worker threads at low priority); then it gathers
//! contexts and scores. A file update re-analyzes that file (an open document from its tree,
//! already parsed) and swaps it into the table; a history change only re-gathers contexts and
//! re-scores.

use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::{FileSource, ModelFile, RepoModel};
use crate::{
    risk::{
        CodeFacts, ContextBuilder, FileContext, FileInput, RiskTable, analyze_code, summarize_and_analyze,
    },
    syntax::{FileSummary, Language, Languages, ParseBudget, SyntaxTree, parse_text},
    workspace::{DiskSync, FileId, IndexCache, read_source},
};

/// Code facts by the content hash of the text they were read from.
pub type FactsByHash = FxHashMap<u64, Arc<CodeFacts>>;

/// Code facts read while indexing parsed each file, for the first risk build to use instead of
/// parsing every file a second time: an index sink's `summarize` calls
/// [`FreshFacts::summarize`], and the facts go to the model thread as
/// [`ModelUpdate::Facts`](super::ModelUpdate::Facts) before the rebuild.
#[derive(Default)]
pub struct FreshFacts(parking_lot::Mutex<FactsByHash>);

impl FreshFacts {
    /// A freshly parsed file's summary; its code facts are kept for [`FreshFacts::take`].
    pub fn summarize(&self, lang: &Language, tree: &SyntaxTree, text: &str, hash: u64) -> FileSummary {
        let (summary, facts) = summarize_and_analyze(lang, tree, text);
        self.0.lock().insert(hash, Arc::new(facts));
        summary
    }

    pub fn take(&self) -> FactsByHash {
        std::mem::take(&mut *self.0.lock())
    }
}

const CODE_CACHE: &str = "risk-code";

/// What one risk pass did, for logs and `repolens/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RiskStats {
    pub files: usize,
    pub functions: usize,
    /// Files whose text was parsed and analyzed (the rest came from cached facts).
    pub analyzed: usize,
    pub with_history: bool,
    /// The files whose scores changed, when only some were re-scored (`None`: all).
    pub changed: Option<Vec<String>>,
}

/// The model thread's risk state.
pub(super) struct RiskState {
    /// Workspace-relative path → (hash of the text analyzed, facts).
    code: FxHashMap<String, (u64, Arc<CodeFacts>)>,
    /// Facts indexing read, for the next rebuild (see [`FreshFacts`]).
    fresh: FactsByHash,
    cache_loaded: bool,
    pool: Option<rayon::ThreadPool>,
}

impl RiskState {
    pub(super) fn new() -> RiskState {
        RiskState {
            code: FxHashMap::default(),
            fresh: FactsByHash::default(),
            cache_loaded: false,
            pool: None,
        }
    }

    fn fingerprint(languages: &Languages) -> u64 {
        languages.fingerprint() ^ 0x5249_534b // "RISK": facts change with the queries
    }

    /// Facts for the next rebuild to use where a file's text hashes the same.
    pub(super) fn add_fresh(&mut self, facts: FactsByHash) {
        self.fresh.extend(facts);
    }

    /// Analyzes every file (reusing facts for unchanged texts) and builds the table.
    pub(super) fn rebuild(
        &mut self,
        model: &RepoModel,
        files: &[ModelFile],
        languages: &Languages,
        cache: Option<&IndexCache>,
        cold: bool,
        max_file_size: u64,
    ) -> RiskStats {
        if !self.cache_loaded {
            self.cache_loaded = true;
            if let Some(cache) = cache.filter(|_| !cold)
                && let Ok(code) = cache.load_extra(CODE_CACHE, Self::fingerprint(languages))
            {
                self.code = code;
            }
        }
        let pool = self.pool.get_or_insert_with(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
                .thread_name(|i| format!("repolens-risk-{i}"))
                .start_handler(|_| crate::stdx::lower_thread_priority())
                .build()
                .expect("a thread pool can be built")
        });
        let (known, fresh) = (&self.code, &self.fresh);
        let analyzed: Vec<(String, u64, Arc<CodeFacts>, bool)> = pool.install(|| {
            files
                .par_iter()
                .filter_map(|file| {
                    let (text, tree) = match &file.source {
                        FileSource::Disk(path, _) => (read_source(path, max_file_size).ok()?, None),
                        FileSource::Open(doc) => (doc.document.text(), doc.tree.clone()),
                    };
                    let hash = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
                    if let Some((known_hash, facts)) = known.get(&file.rel_path)
                        && *known_hash == hash
                    {
                        return Some((file.rel_path.clone(), hash, facts.clone(), false));
                    }
                    if let Some(facts) = fresh.get(&hash) {
                        return Some((file.rel_path.clone(), hash, facts.clone(), true));
                    }
                    let facts = analyze_text(languages, &file.rel_path, &text, tree)?;
                    Some((file.rel_path.clone(), hash, Arc::new(facts), true))
                })
                .collect()
        });
        self.fresh = FactsByHash::default();
        let n_analyzed = analyzed.iter().filter(|a| a.3).count();
        self.code = analyzed.into_iter().map(|(path, hash, facts, _)| (path, (hash, facts))).collect();
        if n_analyzed > 0
            && let Some(cache) = cache
            && let Err(err) =
                cache.save_extra(CODE_CACHE, Self::fingerprint(languages), &self.code, DiskSync::Wait)
        {
            tracing::warn!("could not save risk facts: {err}");
        }
        let mut stats = self.rescore(model);
        stats.analyzed = n_analyzed;
        stats
    }

    /// Re-gathers every file's context (history, graph) and scores everything again.
    pub(super) fn rescore(&self, model: &RepoModel) -> RiskStats {
        let graph = model.graph.read();
        let history = model.history.read().first().map(|(root, h)| (root.clone(), h.clone()));
        let prefix = history.as_ref().map(|(root, h)| h.repo_path(root).unwrap_or_default());
        let builder = ContextBuilder::new(
            &graph,
            history.as_ref().zip(prefix).map(|((_, h), prefix)| (&**h, prefix)),
            true,
        );
        let by_path: FxHashMap<&str, FileId> = graph.files().map(|(id, path, _)| (path, id)).collect();
        let inputs: Vec<FileInput> = self
            .code
            .iter()
            .map(|(path, (_, code))| FileInput {
                rel_path: path.clone(),
                code: code.clone(),
                context: Arc::new(
                    by_path
                        .get(path.as_str())
                        .map_or_else(FileContext::default, |&id| builder.file(id, path)),
                ),
            })
            .collect();
        drop(graph);
        let table = RiskTable::build(inputs);
        let stats = RiskStats {
            files: table.len(),
            functions: table.ranked_functions(),
            analyzed: 0,
            with_history: history.is_some(),
            changed: None,
        };
        *model.risk.write() = Some(Arc::new(table));
        stats
    }

    /// Files changed (or went away): re-analyze each and swap it into the table with a fresh
    /// context (its graph neighbourhood may have changed with it). Called after the graph took
    /// the same changes. `None` before the first build.
    pub(super) fn update(
        &mut self,
        model: &RepoModel,
        changes: Vec<RiskChange>,
        languages: &Languages,
    ) -> Option<RiskStats> {
        let mut table = model.risk.read().as_ref().map(|t| (**t).clone())?;
        let graph = model.graph.read();
        let history = model.history.read().first().map(|(root, h)| (root.clone(), h.clone()));
        let view = history.as_ref().map(|(root, h)| (&**h, h.repo_path(root).unwrap_or_default()));
        // PageRank is global and costs more than an edit should; an edited file keeps each
        // function's last value until the next full pass.
        let builder = ContextBuilder::new(&graph, view, false);
        let mut changed = Vec::new();
        for change in changes {
            let RiskChange { file, rel_path, content } = change;
            match content {
                Some((text, tree)) => {
                    let Some(facts) = analyze_text(languages, &rel_path, &text, tree) else { continue };
                    let facts = Arc::new(facts);
                    self.code.insert(
                        rel_path.clone(),
                        (xxhash_rust::xxh3::xxh3_64(text.as_bytes()), facts.clone()),
                    );
                    let mut context = builder.file(file, &rel_path);
                    if let Some(old) = table.file(&rel_path) {
                        for (qual, f) in &mut context.functions {
                            f.pagerank = old.context.functions.get(qual).map_or(0.0, |o| o.pagerank);
                        }
                    }
                    let scored = RiskTable::score_input(FileInput {
                        rel_path: rel_path.clone(),
                        code: facts,
                        context: Arc::new(context),
                    });
                    table = table.with_file(scored);
                }
                None => {
                    self.code.remove(&rel_path);
                    table = table.without_file(&rel_path);
                }
            }
            changed.push(rel_path);
        }
        drop(graph);
        let stats = RiskStats {
            files: table.len(),
            functions: table.ranked_functions(),
            analyzed: changed.len(),
            with_history: history.is_some(),
            changed: Some(changed),
        };
        *model.risk.write() = Some(Arc::new(table));
        Some(stats)
    }
}

/// One file for [`RiskState::update`]: its new text (and tree, when an open document already
/// has one), or `None` when it went away.
pub(super) struct RiskChange {
    pub file: FileId,
    pub rel_path: String,
    pub content: Option<(String, Option<SyntaxTree>)>,
}

/// Parses (unless a current tree is at hand) and analyzes one file.
fn analyze_text(
    languages: &Languages,
    rel_path: &str,
    text: &str,
    tree: Option<SyntaxTree>,
) -> Option<CodeFacts> {
    let language = crate::syntax::LanguageId::from_path(std::path::Path::new(rel_path))?;
    let lang = languages.get(language);
    let tree = match tree {
        Some(tree) => tree,
        None => parse_text(lang, text, None, ParseBudget::default())?,
    };
    Some(analyze_code(lang, &tree, text))
}
