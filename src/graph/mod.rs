//! The symbol graph: modules, classes, functions and module-level names as nodes; contains,
//! imports, inherits, calls/references and tests as edges, each with a confidence.
//!
//! Edges are a pure function of the files' summaries. Each file's references are resolved the
//! way Python looks names up — enclosing function scopes, the class (for `self.`/`cls.`, through
//! the bases), the module, its imports (relative and absolute, through `__init__` re-exports) —
//! and, failing that, by name across the repository with low confidence when few definitions
//! share the name. While resolving a file we record what it consulted (other files, module names,
//! by-name entries); an update re-resolves exactly the files that consulted what changed, so an
//! edit costs time proportional to the file and its dependents, and the result equals a rebuild.

mod modules;
mod pagerank;
mod resolve;
mod store;

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use store::{EdgeIx, NodeIx, Store};

pub use modules::{import_name, is_test_path};
pub use pagerank::{LocalRankOptions, Ranks};

use crate::{
    syntax::{FileSummary, SummaryDetail, SymbolKind},
    workspace::FileId,
};

/// By-name candidate edges are drawn only when at most this many definitions share the name;
/// beyond that a name (`get`, `save`) says nothing about which one is meant.
pub const MAX_BY_NAME_CANDIDATES: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Module,
    Class,
    Function,
    Method,
    Constant,
    Variable,
    Field,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub file: FileId,
    /// Index into the file's `FileSummary::symbols`; `None` for the module itself.
    pub symbol: Option<u32>,
    pub kind: NodeKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    Contains,
    Imports,
    Inherits,
    Calls,
    References,
    /// From a test function, test class or test module to what it references.
    Tests,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Edge {
    pub kind: EdgeKind,
    /// 1.0 when resolved through scopes and imports; lower for by-name guesses.
    pub confidence: f32,
    /// How many references this edge stands for.
    pub count: u32,
}

#[derive(Clone)]
struct FileEntry {
    rel_path: String,
    summary: Arc<FileSummary>,
    is_test: bool,
    module_names: Vec<String>,
    module_node: NodeIx,
    symbol_nodes: Vec<NodeIx>,
    /// Edges made by resolving this file's references and imports (not `contains`).
    resolved_edges: Vec<(EdgeIx, NodeIx, NodeIx)>,
    /// The file's own `contains` edges.
    contains_edges: Vec<(EdgeIx, NodeIx, NodeIx)>,
    deps: Deps,
    scope: resolve::ScopeTable,
}

/// What resolving one file looked at, so that a change there re-resolves it.
#[derive(Clone, Default, Debug)]
struct Deps {
    /// Names looked up in other files (found or not): a symbol or import binding name, or
    /// `bases:<Class>` for a class's base list.
    names_in: FxHashSet<(FileId, Box<str>)>,
    modules: FxHashSet<String>,
    /// Names looked up by name across the repository (by-name guesses).
    names: FxHashSet<Box<str>>,
}

#[derive(Clone, Default)]
pub struct SymbolGraph {
    graph: Store<Node, Edge>,
    files: FxHashMap<FileId, FileEntry>,
    modules: modules::ModuleIndex,
    package_dirs: FxHashSet<String>,
    /// Top-level functions and classes by name, for by-name guesses at bare names.
    globals_by_name: FxHashMap<Box<str>, Vec<NodeIx>>,
    /// Methods and fields by name, for guesses at `obj.name` with an unknown `obj`.
    members_by_name: FxHashMap<Box<str>, Vec<NodeIx>>,
    /// Who looked up which name in which file.
    name_in_dependents: FxHashMap<(FileId, Box<str>), FxHashSet<FileId>>,
    /// Who looked up anything in a file (for changes that can affect any name: wildcard imports).
    file_dependents: FxHashMap<FileId, FxHashSet<FileId>>,
    module_dependents: FxHashMap<String, FxHashSet<FileId>>,
    name_dependents: FxHashMap<Box<str>, FxHashSet<FileId>>,
}

/// What one update touched, for logs and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// Files whose references were resolved again (the changed file included).
    pub resolved_files: usize,
    pub rebuilt: bool,
}

impl SymbolGraph {
    /// Builds the graph of a set of files from scratch.
    pub fn build(files: impl IntoIterator<Item = (FileId, String, Arc<FileSummary>)>) -> SymbolGraph {
        let mut graph = SymbolGraph::default();
        let files: Vec<_> = files.into_iter().filter(|(_, _, s)| s.detail == SummaryDetail::Full).collect();
        for (_, rel_path, _) in &files {
            if let Some(dir) = modules::package_dir(rel_path) {
                graph.package_dirs.insert(dir.to_owned());
            }
        }
        for (file, rel_path, summary) in files {
            graph.replace_file_nodes(file, rel_path, summary);
        }
        let ids: Vec<FileId> = graph.sorted_files();
        for file in ids {
            graph.resolve_file(file);
        }
        graph
    }

    /// Replaces one file's nodes and re-resolves it and the files that depended on it.
    pub fn update_file(&mut self, file: FileId, rel_path: String, summary: Arc<FileSummary>) -> UpdateStats {
        if summary.detail != SummaryDetail::Full {
            return UpdateStats::default();
        }
        let was_package = self.files.get(&file).and_then(|e| modules::package_dir(&e.rel_path)).is_some();
        let is_package = modules::package_dir(&rel_path).is_some();
        let renamed = self.files.get(&file).is_some_and(|e| e.rel_path != rel_path);
        if (was_package || is_package)
            && (renamed || was_package != is_package || !self.files.contains_key(&file))
        {
            // Package structure changed: module names of other files change with it.
            return self.rebuild_with(Some((file, rel_path, summary)), None);
        }
        let old_summary = self
            .files
            .get(&file)
            .map_or_else(|| Arc::new(FileSummary::empty(summary.language)), |e| e.summary.clone());
        // Module names only change when the file is new or moved; which file answers to a
        // module name does not depend on the file's content.
        let mut module_keys = Vec::new();
        if self.files.get(&file).is_none_or(|e| e.rel_path != rel_path) {
            if let Some(e) = self.files.get(&file) {
                module_keys = module_keys_of(&e.rel_path, &e.module_names);
            }
            module_keys
                .extend(module_keys_of(&rel_path, &modules::dotted_names(&rel_path, &self.package_dirs)));
        }
        let mut affected = self.dependents_of(file, &old_summary, &summary, &module_keys);
        affected.remove(&file);
        for &dependent in &affected {
            self.clear_resolution(dependent);
        }
        self.clear_resolution(file);
        self.replace_file_nodes(file, rel_path, summary);
        self.resolve_file(file);
        let mut affected: Vec<FileId> = affected.into_iter().collect();
        affected.sort();
        for &dependent in &affected {
            self.resolve_file(dependent);
        }
        UpdateStats { resolved_files: affected.len() + 1, rebuilt: false }
    }

    pub fn remove_file(&mut self, file: FileId) -> UpdateStats {
        let Some(entry) = self.files.get(&file) else { return UpdateStats::default() };
        if modules::package_dir(&entry.rel_path).is_some() {
            return self.rebuild_with(None, Some(file));
        }
        let (old_summary, keys) =
            (entry.summary.clone(), module_keys_of(&entry.rel_path, &entry.module_names));
        let mut affected =
            self.dependents_of(file, &old_summary, &FileSummary::empty(old_summary.language), &keys);
        affected.remove(&file);
        for &dependent in &affected {
            self.clear_resolution(dependent);
        }
        self.remove_file_nodes(file);
        let mut affected: Vec<FileId> = affected.into_iter().collect();
        affected.sort();
        for &dependent in &affected {
            self.resolve_file(dependent);
        }
        UpdateStats { resolved_files: affected.len(), rebuilt: false }
    }

    fn rebuild_with(
        &mut self,
        replace: Option<(FileId, String, Arc<FileSummary>)>,
        remove: Option<FileId>,
    ) -> UpdateStats {
        let mut files: Vec<(FileId, String, Arc<FileSummary>)> = self
            .files
            .iter()
            .filter(|(f, _)| Some(**f) != remove && Some(**f) != replace.as_ref().map(|r| r.0))
            .map(|(f, e)| (*f, e.rel_path.clone(), e.summary.clone()))
            .collect();
        files.extend(replace);
        *self = SymbolGraph::build(files);
        UpdateStats { resolved_files: self.files.len(), rebuilt: true }
    }

    /// Files whose resolution could change when `file` goes from `old` to `new`: those that
    /// looked up a name whose meaning there changed (or anything there, after a wildcard import
    /// changed), one of its `module_keys`, or by-name guesses whose candidates changed.
    fn dependents_of(
        &self,
        file: FileId,
        old: &FileSummary,
        new: &FileSummary,
        module_keys: &[String],
    ) -> FxHashSet<FileId> {
        let mut affected = FxHashSet::default();
        let (changed, any) = changed_keys(old, new);
        if any {
            affected.extend(self.file_dependents.get(&file).into_iter().flatten().copied());
        }
        for key in &changed {
            affected.extend(self.name_in_dependents.get(&(file, key.clone())).into_iter().flatten().copied());
        }
        for name in module_keys {
            affected.extend(self.module_dependents.get(name).into_iter().flatten().copied());
        }
        let (old_globals, old_members) = by_name_counts(old);
        let (new_globals, new_members) = by_name_counts(new);
        for (map, old_counts, new_counts) in [
            (&self.globals_by_name, &old_globals, &new_globals),
            (&self.members_by_name, &old_members, &new_members),
        ] {
            for name in old_counts.keys().chain(new_counts.keys()) {
                let (was, is) =
                    (old_counts.get(name).copied().unwrap_or(0), new_counts.get(name).copied().unwrap_or(0));
                if was == is {
                    continue; // the same definitions keep their nodes: guesses stay valid
                }
                let before = map.get(name).map_or(0, Vec::len);
                let after = before + is - was.min(before);
                // Unless the name has too many definitions to yield guesses before and after.
                if before <= MAX_BY_NAME_CANDIDATES || after <= MAX_BY_NAME_CANDIDATES {
                    affected.extend(self.name_dependents.get(name).into_iter().flatten().copied());
                }
            }
        }
        affected
    }

    fn sorted_files(&self) -> Vec<FileId> {
        let mut ids: Vec<FileId> = self.files.keys().copied().collect();
        ids.sort();
        ids
    }

    /// Gives `file` the nodes of `summary`, keeping the node of every symbol that survives
    /// (same qualified name and kind, in order), so that edges other files made into it stay.
    fn replace_file_nodes(&mut self, file: FileId, rel_path: String, summary: Arc<FileSummary>) {
        let old = self.files.remove(&file);
        let mut reusable: FxHashMap<(String, NodeKind), std::collections::VecDeque<NodeIx>> =
            FxHashMap::default();
        let module_node = match &old {
            Some(old) => {
                for (edge, from, to) in &old.contains_edges {
                    self.graph.remove_edge_between(*edge, *from, *to);
                }
                for (idx, &node) in old.symbol_nodes.iter().enumerate() {
                    let key = (old.summary.qualified_name(idx), node_kind(old.summary.symbols[idx].kind));
                    reusable.entry(key).or_default().push_back(node);
                }
                self.modules.remove(file, &old.rel_path, &old.module_names);
                old.module_node
            }
            None => self.graph.add_node(Node { file, symbol: None, kind: NodeKind::Module }),
        };
        let mut symbol_nodes = Vec::with_capacity(summary.symbols.len());
        let mut contains_edges = Vec::with_capacity(summary.symbols.len());
        for (idx, symbol) in summary.symbols.iter().enumerate() {
            let kind = node_kind(symbol.kind);
            let kept =
                reusable.get_mut(&(summary.qualified_name(idx), kind)).and_then(|nodes| nodes.pop_front());
            let node = match kept {
                Some(node) => {
                    if let Some(weight) = self.graph.node_mut(node) {
                        weight.symbol = Some(idx as u32);
                    }
                    node
                }
                None => {
                    let node = self.graph.add_node(Node { file, symbol: Some(idx as u32), kind });
                    let by_name = match by_name_class(symbol.kind, symbol.parent.is_some()) {
                        Some(true) => Some(&mut self.globals_by_name),
                        Some(false) => Some(&mut self.members_by_name),
                        None => None,
                    };
                    if let Some(map) = by_name {
                        map.entry(symbol.name.clone()).or_default().push(node);
                    }
                    node
                }
            };
            let parent = symbol.parent.map_or(module_node, |p| symbol_nodes[p as usize]);
            let edge = self.graph.add_edge(
                parent,
                node,
                Edge { kind: EdgeKind::Contains, confidence: 1.0, count: 1 },
            );
            contains_edges.push((edge, parent, node));
            symbol_nodes.push(node);
        }
        // Symbols that did not survive lose their nodes (and every edge into them).
        if let Some(old) = &old {
            for nodes in reusable.into_values() {
                for node in nodes {
                    self.forget_node(node, old);
                }
            }
        }
        let module_names = modules::dotted_names(&rel_path, &self.package_dirs);
        self.modules.insert(file, &rel_path, &module_names);
        let is_test = modules::is_test_path(&rel_path);
        let scope = resolve::ScopeTable::new(&summary);
        let (resolved_edges, deps) = old.map(|o| (o.resolved_edges, o.deps)).unwrap_or_default();
        self.files.insert(
            file,
            FileEntry {
                rel_path,
                summary,
                is_test,
                module_names,
                module_node,
                symbol_nodes,
                resolved_edges,
                contains_edges,
                deps,
                scope,
            },
        );
    }

    /// Removes a symbol node of `old` from the store and the by-name maps.
    fn forget_node(&mut self, node: NodeIx, old: &FileEntry) {
        if let Some(idx) = self.graph.node(node).and_then(|n| n.symbol) {
            let name = &old.summary.symbols[idx as usize].name;
            for map in [&mut self.globals_by_name, &mut self.members_by_name] {
                if let Some(nodes) = map.get_mut(name) {
                    nodes.retain(|&n| n != node);
                    if nodes.is_empty() {
                        map.remove(name);
                    }
                }
            }
        }
        self.graph.remove_node(node);
    }

    fn remove_file_nodes(&mut self, file: FileId) {
        self.clear_resolution(file);
        let Some(entry) = self.files.remove(&file) else { return };
        self.modules.remove(file, &entry.rel_path, &entry.module_names);
        for &node in &entry.symbol_nodes {
            self.forget_node(node, &entry);
        }
        self.graph.remove_node(entry.module_node);
        self.file_dependents.remove(&file);
    }

    /// Removes the edges a file's resolution made and forgets what it consulted.
    fn clear_resolution(&mut self, file: FileId) {
        let Some(entry) = self.files.get_mut(&file) else { return };
        for (edge, from, to) in entry.resolved_edges.drain(..) {
            self.graph.remove_edge_between(edge, from, to);
        }
        let deps = std::mem::take(&mut entry.deps);
        for key in deps.names_in {
            if let Some(set) = self.file_dependents.get_mut(&key.0) {
                set.remove(&file);
            }
            if let Some(set) = self.name_in_dependents.get_mut(&key) {
                set.remove(&file);
            }
        }
        for module in deps.modules {
            if let Some(set) = self.module_dependents.get_mut(&module) {
                set.remove(&file);
            }
        }
        for name in deps.names {
            if let Some(set) = self.name_dependents.get_mut(&name) {
                set.remove(&file);
            }
        }
    }

    fn resolve_file(&mut self, file: FileId) {
        let (edges, deps) = resolve::resolve(self, file);
        let mut made = Vec::with_capacity(edges.len());
        for ((from, to, kind), (confidence, count)) in edges {
            made.push((self.graph.add_edge(from, to, Edge { kind, confidence, count }), from, to));
        }
        for key in &deps.names_in {
            self.file_dependents.entry(key.0).or_default().insert(file);
            self.name_in_dependents.entry(key.clone()).or_default().insert(file);
        }
        for module in &deps.modules {
            self.module_dependents.entry(module.clone()).or_default().insert(file);
        }
        for name in &deps.names {
            self.name_dependents.entry(name.clone()).or_default().insert(file);
        }
        if let Some(entry) = self.files.get_mut(&file) {
            entry.resolved_edges = made;
            entry.deps = deps;
        }
    }

    // ---- queries -------------------------------------------------------------------------

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.graph.node(NodeIx(id.0))
    }

    pub fn module_node(&self, file: FileId) -> Option<NodeId> {
        self.files.get(&file).map(|e| to_id(e.module_node))
    }

    pub fn symbol_node(&self, file: FileId, symbol: u32) -> Option<NodeId> {
        self.files.get(&file)?.symbol_nodes.get(symbol as usize).map(|&n| to_id(n))
    }

    pub fn is_test_file(&self, file: FileId) -> bool {
        self.files.get(&file).is_some_and(|e| e.is_test)
    }

    /// Workspace-relative path of an indexed file.
    pub fn rel_path(&self, file: FileId) -> Option<&str> {
        self.files.get(&file).map(|e| e.rel_path.as_str())
    }

    pub fn summary(&self, file: FileId) -> Option<&Arc<FileSummary>> {
        self.files.get(&file).map(|e| &e.summary)
    }

    /// The dotted name code imports a Python file by (`src/pkg/mod.py` → `pkg.mod` when `pkg` is
    /// a package); `rel_path` is workspace-relative and need not be indexed yet.
    pub fn import_name(&self, rel_path: &str) -> Option<String> {
        modules::import_name(rel_path, &|dir| self.package_dirs.contains(dir))
    }

    /// `path::Outer.inner` (or `path::` for a module): a name for a node that is stable across
    /// rebuilds, for tests and for matching nodes between versions.
    pub fn node_key(&self, id: NodeId) -> Option<String> {
        let node = self.node(id)?;
        let entry = self.files.get(&node.file)?;
        Some(match node.symbol {
            Some(idx) => format!("{}::{}", entry.rel_path, entry.summary.qualified_name(idx as usize)),
            None => format!("{}::", entry.rel_path),
        })
    }

    pub fn edges_from(&self, id: NodeId) -> impl Iterator<Item = (NodeId, &Edge)> + '_ {
        self.graph.outgoing(NodeIx(id.0)).map(|(to, e)| (to_id(to), e))
    }

    pub fn edges_to(&self, id: NodeId) -> impl Iterator<Item = (NodeId, &Edge)> + '_ {
        self.graph.incoming(NodeIx(id.0)).map(|(from, e)| (to_id(from), e))
    }

    /// Every edge as `(from key, to key, kind, count, confidence)`, sorted: two graphs over the
    /// same files are equal exactly when these lists are.
    pub fn canonical_edges(&self) -> Vec<(String, String, EdgeKind, u32, u32)> {
        let mut out: Vec<_> = self
            .graph
            .edges()
            .filter_map(|(from, to, w)| {
                let from = self.node_key(to_id(from))?;
                let to = self.node_key(to_id(to))?;
                Some((from, to, w.kind, w.count, (w.confidence * 1000.0).round() as u32))
            })
            .collect();
        out.sort();
        out
    }

    /// Personalized PageRank; see [`pagerank`].
    pub fn pagerank(&self, seeds: &[(NodeId, f64)], warm: Option<&Ranks>) -> Ranks {
        pagerank::pagerank(&self.graph, seeds, warm)
    }

    /// Personalized PageRank around `seeds` only, cheap enough for a query; see
    /// [`pagerank::personalized_local`].
    pub fn pagerank_local(&self, seeds: &[(NodeId, f64)], options: &LocalRankOptions) -> Ranks {
        pagerank::personalized_local(&self.graph, seeds, options)
    }

    /// Every indexed file with its workspace-relative path and summary, in no particular order.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &str, &Arc<FileSummary>)> + '_ {
        self.files.iter().map(|(file, e)| (*file, e.rel_path.as_str(), &e.summary))
    }
}

fn to_id(index: NodeIx) -> NodeId {
    NodeId(index.0)
}

fn node_kind(kind: SymbolKind) -> NodeKind {
    match kind {
        SymbolKind::Module => NodeKind::Module,
        SymbolKind::Class => NodeKind::Class,
        SymbolKind::Function | SymbolKind::Other => NodeKind::Function,
        SymbolKind::Method => NodeKind::Method,
        SymbolKind::Constant => NodeKind::Constant,
        SymbolKind::Variable => NodeKind::Variable,
        SymbolKind::Field => NodeKind::Field,
    }
}

/// The keys under which resolution records a lookup of this file's module: its dotted names
/// and its `path:` key (relative imports look modules up by directory).
fn module_keys_of(rel_path: &str, dotted: &[String]) -> Vec<String> {
    let mut keys = dotted.to_vec();
    keys.extend(modules::path_key(rel_path).map(|key| format!("path:{key}")));
    keys
}

/// Which by-name map a symbol goes into, if any.
fn by_name_class(kind: SymbolKind, has_parent: bool) -> Option<bool> {
    match (kind, has_parent) {
        (SymbolKind::Class | SymbolKind::Function, false) => Some(true),
        (SymbolKind::Method | SymbolKind::Field, true) => Some(false),
        _ => None,
    }
}

/// How many globals and members of each name a file defines.
fn by_name_counts(summary: &FileSummary) -> (FxHashMap<Box<str>, usize>, FxHashMap<Box<str>, usize>) {
    let (mut globals, mut members) = (FxHashMap::default(), FxHashMap::default());
    for symbol in &summary.symbols {
        match by_name_class(symbol.kind, symbol.parent.is_some()) {
            Some(true) => *globals.entry(symbol.name.clone()).or_default() += 1,
            Some(false) => *members.entry(symbol.name.clone()).or_default() += 1,
            None => {}
        }
    }
    (globals, members)
}

/// What changed, between two versions of a file, in what other files can look up there: names
/// of symbols added or removed (by qualified name and kind), names bound by imports that
/// changed, and `bases:<Class>` for classes whose bases changed. The flag is set when a wildcard
/// import changed, which can change the meaning of any name.
fn changed_keys(old: &FileSummary, new: &FileSummary) -> (FxHashSet<Box<str>>, bool) {
    let mut changed: FxHashSet<Box<str>> = FxHashSet::default();
    let symbols = |s: &FileSummary| -> FxHashMap<(String, SymbolKind), usize> {
        let mut counts = FxHashMap::default();
        for idx in 0..s.symbols.len() {
            *counts.entry((s.qualified_name(idx), s.symbols[idx].kind)).or_default() += 1;
        }
        counts
    };
    let (old_symbols, new_symbols) = (symbols(old), symbols(new));
    for (key, n) in old_symbols.iter().chain(new_symbols.iter()) {
        let other = if old_symbols.get(key) == Some(n) { new_symbols.get(key) } else { old_symbols.get(key) };
        if other != Some(n) {
            let name = key.0.rsplit('.').next().unwrap_or(&key.0);
            changed.insert(name.into());
            if key.1 == SymbolKind::Class {
                changed.insert(format!("bases:{}", key.0).into());
            }
        }
    }
    // An import as what it binds where: (scope, bound name, what it denotes). `None` as the
    // bound name stands for a wildcard import.
    type ImportKey = (Option<String>, Option<Box<str>>, (u8, Box<str>, Option<Box<str>>));
    let imports = |s: &FileSummary| -> FxHashSet<ImportKey> {
        s.imports
            .iter()
            .map(|i| {
                let scope = i.container.map(|c| s.qualified_name(c as usize));
                (scope, i.bound_name().map(Into::into), (i.level, i.module.clone(), i.name.clone()))
            })
            .collect()
    };
    let (old_imports, new_imports) = (imports(old), imports(new));
    let mut any = false;
    for (_, bound, _) in old_imports.symmetric_difference(&new_imports) {
        match bound {
            Some(name) => {
                changed.insert(name.clone());
            }
            None => any = true,
        }
    }
    // Each class's base expressions, as (receiver, name) pairs.
    type BasesByClass = FxHashMap<String, Vec<(Option<Box<str>>, Box<str>)>>;
    let bases = |s: &FileSummary| -> BasesByClass {
        let mut out: FxHashMap<String, Vec<_>> = FxHashMap::default();
        for r in s.references.iter().filter(|r| r.kind == crate::syntax::ReferenceKind::Class) {
            if let Some(class) = r.container {
                out.entry(s.qualified_name(class as usize))
                    .or_default()
                    .push((r.receiver.clone(), r.name.clone()));
            }
        }
        out
    };
    let (old_bases, new_bases) = (bases(old), bases(new));
    for class in old_bases.keys().chain(new_bases.keys()) {
        if old_bases.get(class) != new_bases.get(class) {
            changed.insert(format!("bases:{class}").into());
        }
    }
    (changed, any)
}
