//! What risk knows about a file and its functions from outside the code: git history (how often
//! and how recently they changed, fixes, authors) and the symbol graph (who depends on them, how
//! central they are, whether any test references them).
//!
//! These facts change only with new commits or with edits elsewhere, so they are gathered for the
//! whole repository at once and kept; an edit re-scores its file with fresh code metrics and the
//! facts gathered last (functions are matched by qualified name).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::{
    graph::{EdgeKind, NodeId, NodeKind, Ranks, SymbolGraph},
    history::{FileHistory, History, HistoryStats, MINOR_AUTHOR_SHARE, StatsOptions},
    syntax::SymbolKind,
    workspace::FileId,
};

/// The window of "recent" counts shown in messages ("changed 14× in the last 12 months").
pub const RECENT_DAYS: i64 = 365;

/// History and graph facts about one function. Decayed values weigh each commit by
/// `0.5 ^ (age / half-life)` (90 days by default); `*_recent` are plain counts over the last
/// [`RECENT_DAYS`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionContext {
    pub revisions: f64,
    pub revisions_recent: u32,
    /// Lines added and deleted inside the function, decayed.
    pub churn: f64,
    pub churn_recent: u64,
    pub fixes: f64,
    pub fixes_recent: u32,
    /// Functions, classes and modules outside tests that call or reference it (by-name guesses
    /// count by their confidence).
    pub fan_in: f64,
    /// Its PageRank in the symbol graph, scaled so that the average node has 1.
    pub pagerank: f64,
    /// Some test function, class or module references it.
    pub tested: bool,
}

/// History and graph facts about one file, and its functions' by qualified name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileContext {
    /// History was available (a git repository with this file in it).
    pub has_history: bool,
    pub revisions: f64,
    pub revisions_all: u32,
    pub revisions_recent: u32,
    pub churn: f64,
    pub churn_recent: u64,
    pub fixes: f64,
    pub fixes_all: u32,
    pub fixes_recent: u32,
    pub authors: u32,
    /// Authors with less than 5% of the file's commits (Bird et al.'s minor contributors).
    pub minor_authors: u32,
    /// Days since the first commit that touched the file, as of the history's head.
    pub age_days: f64,
    /// Modules outside tests that import or reference the module.
    pub fan_in: f64,
    pub tested: bool,
    pub functions: FxHashMap<String, FunctionContext>,
}

/// Gathers contexts: the history (if any) with its recent window precomputed, the graph and
/// its global PageRank.
pub struct ContextBuilder<'a> {
    graph: &'a SymbolGraph,
    ranks: Ranks,
    /// Scales PageRank so that the average node has 1.
    rank_scale: f64,
    history: Option<HistoryView<'a>>,
}

struct HistoryView<'a> {
    history: &'a History,
    recent: HistoryStats,
    /// Workspace-relative path → repository-relative path: the workspace root's path in the
    /// repository, with a trailing `/` (empty when the root is the repository's top).
    prefix: String,
}

impl<'a> ContextBuilder<'a> {
    /// `history` with the workspace root's repository-relative path (`""` for the top).
    /// Without `pagerank`, every function's PageRank is 0 (it is global and costs a full pass).
    pub fn new(
        graph: &'a SymbolGraph,
        history: Option<(&'a History, String)>,
        pagerank: bool,
    ) -> ContextBuilder<'a> {
        let ranks = if pagerank { graph.pagerank(&[], None) } else { Ranks::default() };
        let rank_scale = graph.node_count().max(1) as f64;
        let history = history.map(|(history, root)| {
            let options = StatsOptions {
                half_life_days: history.half_life_days(),
                since: Some(history.head().time - RECENT_DAYS * 86_400),
            };
            let prefix = if root.is_empty() { root } else { format!("{}/", root.trim_end_matches('/')) };
            HistoryView { history, recent: history.stats_with(&options), prefix }
        });
        ContextBuilder { graph, ranks, rank_scale, history }
    }

    /// The context of one file of the graph (`rel_path` workspace-relative).
    pub fn file(&self, file: FileId, rel_path: &str) -> FileContext {
        let mut ctx = FileContext::default();
        if let Some(view) = &self.history {
            let path = format!("{}{rel_path}", view.prefix);
            let head_time = view.history.head().time;
            if let Some(f) = view.history.file(&path) {
                fill_file_history(&mut ctx, f, view.recent.files.get(&path), head_time);
            }
            ctx.has_history = true;
        }
        if let Some(module) = self.graph.module_node(file) {
            let (fan_in, tested) = self.incoming(module, true);
            ctx.fan_in = fan_in;
            ctx.tested = tested;
        }
        let Some(summary) = self.graph.summary(file) else { return ctx };
        let file_history = self.history.as_ref().and_then(|view| {
            let path = format!("{}{rel_path}", view.prefix);
            Some((view.history.file(&path)?, view.recent.files.get(&path)))
        });
        for (idx, symbol) in summary.symbols.iter().enumerate() {
            if !matches!(symbol.kind, SymbolKind::Function | SymbolKind::Method) {
                continue;
            }
            let qual = summary.qualified_name(idx);
            let mut f = FunctionContext::default();
            if let Some(node) = self.graph.symbol_node(file, idx as u32) {
                (f.fan_in, f.tested) = self.incoming(node, false);
                f.pagerank = self.ranks.get(node) * self.rank_scale;
            }
            if let Some((all, recent)) = file_history {
                if let Some(h) = all.function(&qual) {
                    f.revisions = h.decayed_revisions;
                    f.churn = h.decayed_churn;
                    f.fixes = h.decayed_fixes;
                }
                if let Some(h) = recent.and_then(|r| r.function(&qual)) {
                    f.revisions_recent = h.revisions;
                    f.churn_recent = h.churn();
                    f.fixes_recent = h.fixes;
                }
            }
            ctx.functions.insert(qual, f);
        }
        ctx
    }

    /// Fan-in from outside tests (distinct sources, each by its best confidence) and whether a
    /// test references the node. Imports count for modules (`import m`); for a function, the
    /// importing module's import and its calls would be one use counted twice, so only uses count.
    fn incoming(&self, node: NodeId, imports: bool) -> (f64, bool) {
        let mut sources: FxHashMap<NodeId, f32> = FxHashMap::default();
        let mut tested = false;
        for (from, edge) in self.graph.edges_to(node) {
            match edge.kind {
                EdgeKind::Tests => tested = true,
                EdgeKind::Calls | EdgeKind::References | EdgeKind::Inherits | EdgeKind::Imports => {
                    let Some(source) = self.graph.node(from) else { continue };
                    if self.graph.is_test_file(source.file) {
                        continue;
                    }
                    if edge.kind == EdgeKind::Imports && !(imports && source.kind == NodeKind::Module) {
                        continue;
                    }
                    let best = sources.entry(from).or_insert(0.0);
                    *best = best.max(edge.confidence);
                }
                EdgeKind::Contains => {}
            }
        }
        // A fold from 0: an empty float `sum()` is -0, which then shows as "-0" in reports.
        (sources.values().fold(0.0, |acc, &c| acc + f64::from(c)), tested)
    }
}

fn fill_file_history(ctx: &mut FileContext, all: &FileHistory, recent: Option<&FileHistory>, head_time: i64) {
    ctx.revisions = all.decayed_revisions;
    ctx.revisions_all = all.revisions;
    ctx.churn = all.decayed_churn;
    ctx.fixes = all.decayed_fixes;
    ctx.fixes_all = all.fixes.len() as u32;
    ctx.authors = all.authors.len() as u32;
    ctx.minor_authors = all.minor_authors(MINOR_AUTHOR_SHARE) as u32;
    ctx.age_days = (head_time - all.first_seen).max(0) as f64 / 86_400.0;
    if let Some(recent) = recent {
        ctx.revisions_recent = recent.revisions;
        ctx.churn_recent = recent.churn();
        ctx.fixes_recent = recent.fixes.len() as u32;
    }
}
