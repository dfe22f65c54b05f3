//! Resolving one file's imports and references to nodes, the way Python looks names up, and
//! recording what was consulted so that updates know whom to re-resolve.

use rustc_hash::FxHashMap;

use super::{Deps, EdgeKind, MAX_BY_NAME_CANDIDATES, SymbolGraph, modules, store::NodeIx};
use crate::{
    syntax::{FileSummary, Import, ReferenceKind, SymbolKind},
    workspace::FileId,
};

/// Per-file lookup tables, built once when the file's nodes are added.
#[derive(Clone, Default)]
pub(super) struct ScopeTable {
    /// (scope, name) → symbol; scope 0 is the module, `i + 1` the symbol `i`.
    children: FxHashMap<(u32, Box<str>), u32>,
    /// (scope, bound name) → imports binding it, in order.
    imports: FxHashMap<(u32, Box<str>), Vec<u32>>,
    /// Wildcard imports at module level.
    wildcards: Vec<u32>,
}

impl ScopeTable {
    pub(super) fn new(summary: &FileSummary) -> ScopeTable {
        let mut table = ScopeTable::default();
        for (idx, symbol) in summary.symbols.iter().enumerate() {
            // A later definition of the same name wins, as at run time.
            table.children.insert((scope_key(symbol.parent), symbol.name.clone()), idx as u32);
        }
        for (idx, import) in summary.imports.iter().enumerate() {
            if import.wildcard {
                if import.container.is_none() {
                    table.wildcards.push(idx as u32);
                }
            } else if let Some(name) = import.bound_name() {
                table.imports.entry((scope_key(import.container), name.into())).or_default().push(idx as u32);
            }
        }
        table
    }

    fn child(&self, scope: Option<u32>, name: &str) -> Option<u32> {
        self.children.get(&(scope_key(scope), Box::from(name))).copied()
    }

    fn imports(&self, scope: Option<u32>, name: &str) -> Option<&[u32]> {
        self.imports.get(&(scope_key(scope), Box::from(name))).map(Vec::as_slice)
    }
}

fn scope_key(scope: Option<u32>) -> u32 {
    scope.map_or(0, |s| s + 1)
}

/// What a name or dotted path stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Symbol(FileId, u32),
    Module(FileId),
}

/// The outcome of looking a name up.
#[derive(Clone, Debug)]
enum Lookup {
    Found(Vec<Target>),
    /// Bound to something outside the repository (an installed package, a builtin module).
    External,
    /// Not bound anywhere we can see.
    Unknown,
}

pub(super) type EdgeMap = FxHashMap<(NodeIx, NodeIx, EdgeKind), (f32, u32)>;

pub(super) fn resolve(graph: &SymbolGraph, file: FileId) -> (EdgeMap, Deps) {
    let mut resolver = Resolver {
        graph,
        file,
        deps: Deps::default(),
        edges: EdgeMap::default(),
        bases: FxHashMap::default(),
    };
    resolver.run();
    (resolver.edges, resolver.deps)
}

struct Resolver<'g> {
    graph: &'g SymbolGraph,
    file: FileId,
    deps: Deps,
    edges: EdgeMap,
    /// [`Resolver::class_bases`] answers by (file, class, depth): every `self.x` in a class asks
    /// for the same bases, and finding them scans the file's references. The depth is part of
    /// the key because a deep lookup may be cut short where a shallow one is not.
    bases: FxHashMap<(FileId, u32, usize), Lookup>,
}

const MAX_DEPTH: usize = 6;

impl Resolver<'_> {
    fn run(&mut self) {
        let Some(entry) = self.graph.files.get(&self.file) else { return };
        let summary = entry.summary.clone();
        let is_test_file = entry.is_test;
        for import in &summary.imports {
            let source = self.source_node(import.container);
            for target in self.resolve_import(self.file, import, 0) {
                let Some(node) = self.node_of(target) else { continue };
                self.add_edge(source, node, EdgeKind::Imports, 1.0);
                if is_test_file {
                    let tester = self.tester_node(&summary, import.container);
                    self.add_edge(tester, node, EdgeKind::Tests, 1.0);
                }
            }
        }
        for reference in &summary.references {
            let kind = match reference.kind {
                ReferenceKind::Call => EdgeKind::Calls,
                ReferenceKind::Class => EdgeKind::Inherits,
                ReferenceKind::Decorator | ReferenceKind::Other => EdgeKind::References,
                // Imports come from the imports query, with their structure.
                ReferenceKind::Module | ReferenceKind::Import => continue,
            };
            // A class's bases are looked up in the scope around the class, not inside it.
            let scope = match reference.kind {
                ReferenceKind::Class => reference.container.and_then(|c| summary.symbols[c as usize].parent),
                _ => reference.container,
            };
            let targets = match reference.receiver.as_deref() {
                None => match self.lookup_name(self.file, scope, &reference.name, 0) {
                    Lookup::Found(targets) => targets.into_iter().map(|t| (t, 1.0)).collect(),
                    Lookup::External => Vec::new(),
                    Lookup::Unknown => self.guess(&reference.name, true),
                },
                Some(receiver) => match self.resolve_member_access(scope, receiver, &reference.name) {
                    Lookup::Found(targets) => targets.into_iter().map(|t| (t, 1.0)).collect(),
                    Lookup::External => Vec::new(),
                    Lookup::Unknown => self.guess(&reference.name, false),
                },
            };
            let source = self.source_node(reference.container);
            for (target, confidence) in targets {
                let Some(node) = self.node_of(target) else { continue };
                if node == source {
                    continue; // recursion says nothing about structure
                }
                self.add_edge(source, node, kind, confidence);
                if is_test_file {
                    let tester = self.tester_node(&summary, reference.container);
                    self.add_edge(tester, node, EdgeKind::Tests, confidence);
                }
            }
        }
    }

    fn add_edge(&mut self, from: NodeIx, to: NodeIx, kind: EdgeKind, confidence: f32) {
        let entry = self.edges.entry((from, to, kind)).or_insert((confidence, 0));
        entry.0 = entry.0.max(confidence);
        entry.1 += 1;
    }

    fn source_node(&self, container: Option<u32>) -> NodeIx {
        let entry = &self.graph.files[&self.file];
        container.map_or(entry.module_node, |c| entry.symbol_nodes[c as usize])
    }

    /// The innermost enclosing test (a `test*` function or `Test*` class), else the module.
    fn tester_node(&self, summary: &FileSummary, container: Option<u32>) -> NodeIx {
        let mut current = container;
        while let Some(idx) = current {
            let symbol = &summary.symbols[idx as usize];
            let is_test = match symbol.kind {
                SymbolKind::Function | SymbolKind::Method => symbol.name.starts_with("test"),
                SymbolKind::Class => symbol.name.starts_with("Test"),
                _ => false,
            };
            if is_test {
                return self.source_node(Some(idx));
            }
            current = symbol.parent;
        }
        self.source_node(None)
    }

    fn node_of(&self, target: Target) -> Option<NodeIx> {
        match target {
            Target::Module(file) => self.graph.files.get(&file).map(|e| e.module_node),
            Target::Symbol(file, idx) => self.graph.files.get(&file)?.symbol_nodes.get(idx as usize).copied(),
        }
    }

    /// Records that resolving looked `key` up in `file` (whether it was found or not).
    fn consult(&mut self, file: FileId, key: &str) {
        if file != self.file {
            self.deps.names_in.insert((file, key.into()));
        }
    }

    // ---- imports -------------------------------------------------------------------------

    /// The module an import names, found by dotted name or (relative imports) by directory.
    fn import_module(&mut self, from_file: FileId, import: &Import) -> Option<FileId> {
        if import.level == 0 {
            self.deps.modules.insert(import.module.to_string());
            let candidates = self.graph.modules.by_name(&import.module);
            return match candidates {
                [] => None,
                [only] => Some(*only),
                many => {
                    // Several files answer to the name: prefer the one nearest the importer.
                    let here = self.graph.files.get(&from_file).map_or("", |e| e.rel_path.as_str());
                    many.iter().copied().max_by_key(|f| {
                        let there = self.graph.files.get(f).map_or("", |e| e.rel_path.as_str());
                        (common_prefix_dirs(here, there), std::cmp::Reverse(there.len()))
                    })
                }
            };
        }
        let here = &self.graph.files.get(&from_file)?.rel_path;
        let mut dir: Vec<&str> = here.split('/').collect();
        dir.pop(); // the file name
        for _ in 1..import.level {
            dir.pop()?;
        }
        let mut key = dir.join("/");
        if !import.module.is_empty() {
            if !key.is_empty() {
                key.push('/');
            }
            key.push_str(&import.module.replace('.', "/"));
        }
        self.deps.modules.insert(format!("path:{key}"));
        self.graph.modules.by_path(&key)
    }

    /// What an import binds: a module, or (for `from m import name`) a symbol or submodule.
    fn resolve_import(&mut self, from_file: FileId, import: &Import, depth: usize) -> Vec<Target> {
        let Some(module) = self.import_module(from_file, import) else { return Vec::new() };
        match (&import.name, import.wildcard) {
            (_, true) | (None, _) => vec![Target::Module(module)],
            (Some(name), false) => match self.module_member(module, name, depth) {
                Lookup::Found(targets) => targets,
                // The module is ours but the name is not in it: still an import of the module.
                _ => vec![Target::Module(module)],
            },
        }
    }

    /// `module.name`: a top-level definition, a re-export through the module's imports, or a
    /// submodule.
    fn module_member(&mut self, module: FileId, name: &str, depth: usize) -> Lookup {
        if depth > MAX_DEPTH {
            return Lookup::Unknown;
        }
        self.consult(module, name);
        let graph = self.graph;
        let Some(entry) = graph.files.get(&module) else { return Lookup::Unknown };
        if let Some(idx) = entry.scope.child(None, name) {
            return Lookup::Found(vec![Target::Symbol(module, idx)]);
        }
        if let Some(imports) = entry.scope.imports(None, name) {
            let summary = entry.summary.clone();
            let mut targets = Vec::new();
            for &i in imports {
                targets.extend(self.resolve_import(module, &summary.imports[i as usize], depth + 1));
            }
            return if targets.is_empty() { Lookup::External } else { Lookup::Found(targets) };
        }
        let wildcards = entry.scope.wildcards.clone();
        let summary = entry.summary.clone();
        for i in wildcards {
            if let Some(from) = self.import_module(module, &summary.imports[i as usize])
                && let Lookup::Found(targets) = self.module_member(from, name, depth + 1)
            {
                return Lookup::Found(targets);
            }
        }
        if let Some(key) = modules::path_key(&entry.rel_path) {
            let sub = if key.is_empty() { name.to_owned() } else { format!("{key}/{name}") };
            self.deps.modules.insert(format!("path:{sub}")); // same key as relative imports use
            if let Some(submodule) = graph.modules.by_path(&sub) {
                return Lookup::Found(vec![Target::Module(submodule)]);
            }
        }
        Lookup::Unknown
    }

    // ---- names ---------------------------------------------------------------------------

    /// A bare name in `scope` of `file`: enclosing function scopes (a class scope only when the
    /// name is used directly in the class body), then the module, its imports, wildcard imports.
    fn lookup_name(&mut self, file: FileId, scope: Option<u32>, name: &str, depth: usize) -> Lookup {
        if depth > MAX_DEPTH {
            return Lookup::Unknown;
        }
        self.consult(file, name);
        let graph = self.graph;
        let Some(entry) = graph.files.get(&file) else { return Lookup::Unknown };
        let summary = entry.summary.clone();
        let mut current = scope;
        let mut innermost = true;
        while let Some(idx) = current {
            let symbol = &summary.symbols[idx as usize];
            if symbol.kind != SymbolKind::Class || innermost {
                if let Some(found) = entry.scope.child(Some(idx), name) {
                    return Lookup::Found(vec![Target::Symbol(file, found)]);
                }
                if let Some(imports) = entry.scope.imports(Some(idx), name) {
                    return self.import_targets(file, &summary, imports, depth);
                }
            }
            innermost = false;
            current = symbol.parent;
        }
        if let Some(found) = entry.scope.child(None, name) {
            return Lookup::Found(vec![Target::Symbol(file, found)]);
        }
        if let Some(imports) = entry.scope.imports(None, name) {
            return self.import_targets(file, &summary, imports, depth);
        }
        for &i in &entry.scope.wildcards {
            if let Some(module) = self.import_module(file, &summary.imports[i as usize])
                && let Lookup::Found(targets) = self.module_member(module, name, depth + 1)
            {
                return Lookup::Found(targets);
            }
        }
        Lookup::Unknown
    }

    fn import_targets(
        &mut self,
        file: FileId,
        summary: &FileSummary,
        imports: &[u32],
        depth: usize,
    ) -> Lookup {
        let mut targets = Vec::new();
        for &i in imports {
            let import = &summary.imports[i as usize];
            let mut found = self.resolve_import(file, import, depth + 1);
            if import.name.is_none() && import.alias.is_none() {
                // `import a.b.c` binds `a`: the name stands for the top package.
                let top = import.module.split('.').next().unwrap_or_default();
                let top_import = Import { module: top.into(), ..import.clone() };
                found = self.resolve_import(file, &top_import, depth + 1);
            }
            targets.extend(found);
        }
        if targets.is_empty() { Lookup::External } else { Lookup::Found(targets) }
    }

    // ---- attributes ----------------------------------------------------------------------

    /// `receiver.name` seen from `scope`.
    fn resolve_member_access(&mut self, scope: Option<u32>, receiver: &str, name: &str) -> Lookup {
        if receiver.is_empty() {
            return Lookup::Unknown;
        }
        let summary = self.graph.files[&self.file].summary.clone();
        let mut parts = receiver.split('.');
        let head = parts.next().unwrap_or_default();
        let mut current: Vec<Target> = match head {
            "self" | "cls" | "super()" => {
                let Some(class) = enclosing_class(&summary, scope) else { return Lookup::Unknown };
                if head == "super()" {
                    match self.class_bases(self.file, class, 0) {
                        Lookup::Found(bases) => bases,
                        other => return other,
                    }
                } else {
                    vec![Target::Symbol(self.file, class)]
                }
            }
            _ => match self.lookup_name(self.file, scope, head, 0) {
                Lookup::Found(targets) => targets,
                other => return other,
            },
        };
        for part in parts.chain(std::iter::once(name)) {
            let mut next = Vec::new();
            let mut external = false;
            for target in current {
                match self.member(target, part, 0) {
                    Lookup::Found(found) => next.extend(found),
                    Lookup::External => external = true,
                    Lookup::Unknown => {}
                }
            }
            if next.is_empty() {
                return if external { Lookup::External } else { Lookup::Unknown };
            }
            next.dedup();
            current = next;
        }
        Lookup::Found(current)
    }

    fn member(&mut self, target: Target, name: &str, depth: usize) -> Lookup {
        match target {
            Target::Module(module) => self.module_member(module, name, depth),
            Target::Symbol(file, idx) => {
                let kind = self.graph.files.get(&file).map(|e| e.summary.symbols[idx as usize].kind);
                if kind == Some(SymbolKind::Class) {
                    self.class_member(file, idx, name, depth)
                } else {
                    Lookup::Unknown
                }
            }
        }
    }

    /// A class attribute: defined in the class, else in its bases (depth-first, as a simple MRO).
    fn class_member(&mut self, file: FileId, class: u32, name: &str, depth: usize) -> Lookup {
        if depth > MAX_DEPTH {
            return Lookup::Unknown;
        }
        self.consult(file, name);
        let graph = self.graph;
        let Some(entry) = graph.files.get(&file) else { return Lookup::Unknown };
        if let Some(idx) = entry.scope.child(Some(class), name) {
            return Lookup::Found(vec![Target::Symbol(file, idx)]);
        }
        let mut external = false;
        match self.class_bases(file, class, depth) {
            Lookup::Found(bases) => {
                for base in bases {
                    match self.member(base, name, depth + 1) {
                        Lookup::Found(found) => return Lookup::Found(found),
                        Lookup::External => external = true,
                        Lookup::Unknown => {}
                    }
                }
            }
            Lookup::External => external = true,
            Lookup::Unknown => {}
        }
        if external { Lookup::External } else { Lookup::Unknown }
    }

    /// The classes a class derives from, resolved in the scope around the class statement.
    fn class_bases(&mut self, file: FileId, class: u32, depth: usize) -> Lookup {
        if let Some(known) = self.bases.get(&(file, class, depth)) {
            return known.clone();
        }
        let bases = self.find_class_bases(file, class, depth);
        self.bases.insert((file, class, depth), bases.clone());
        bases
    }

    fn find_class_bases(&mut self, file: FileId, class: u32, depth: usize) -> Lookup {
        let graph = self.graph;
        let Some(entry) = graph.files.get(&file) else { return Lookup::Unknown };
        let summary = entry.summary.clone();
        self.consult(file, &format!("bases:{}", summary.qualified_name(class as usize)));
        let outer = summary.symbols[class as usize].parent;
        let mut bases = Vec::new();
        let mut external = false;
        for reference in
            summary.references.iter().filter(|r| r.kind == ReferenceKind::Class && r.container == Some(class))
        {
            let found = match reference.receiver.as_deref() {
                None => self.lookup_name(file, outer, &reference.name, depth + 1),
                Some(receiver) => {
                    self.resolve_member_access_in(file, outer, receiver, &reference.name, depth + 1)
                }
            };
            match found {
                Lookup::Found(targets) => bases.extend(targets),
                Lookup::External => external = true,
                Lookup::Unknown => {}
            }
        }
        if !bases.is_empty() {
            Lookup::Found(bases)
        } else if external {
            Lookup::External
        } else {
            Lookup::Unknown
        }
    }

    /// `receiver.name` in another file (for base classes such as `models.Model`).
    fn resolve_member_access_in(
        &mut self,
        file: FileId,
        scope: Option<u32>,
        receiver: &str,
        name: &str,
        depth: usize,
    ) -> Lookup {
        let mut parts = receiver.split('.');
        let head = parts.next().unwrap_or_default();
        let mut current = match self.lookup_name(file, scope, head, depth) {
            Lookup::Found(targets) => targets,
            other => return other,
        };
        for part in parts.chain(std::iter::once(name)) {
            let mut next = Vec::new();
            for target in current {
                if let Lookup::Found(found) = self.member(target, part, depth + 1) {
                    next.extend(found);
                }
            }
            if next.is_empty() {
                return Lookup::Unknown;
            }
            current = next;
        }
        Lookup::Found(current)
    }

    // ---- guesses -------------------------------------------------------------------------

    /// Definitions sharing the name across the repository, if there are few of them.
    fn guess(&mut self, name: &str, global: bool) -> Vec<(Target, f32)> {
        self.deps.names.insert(name.into());
        let map = if global { &self.graph.globals_by_name } else { &self.graph.members_by_name };
        let Some(nodes) = map.get(name) else { return Vec::new() };
        if nodes.len() > MAX_BY_NAME_CANDIDATES {
            return Vec::new();
        }
        let confidence = 0.5 / nodes.len() as f32;
        nodes
            .iter()
            .filter_map(|&n| {
                let node = self.graph.graph.node(n)?;
                Some((Target::Symbol(node.file, node.symbol?), confidence))
            })
            .collect()
    }
}

fn enclosing_class(summary: &FileSummary, scope: Option<u32>) -> Option<u32> {
    let mut current = scope;
    while let Some(idx) = current {
        if summary.symbols[idx as usize].kind == SymbolKind::Class {
            return Some(idx);
        }
        current = summary.symbols[idx as usize].parent;
    }
    None
}

fn common_prefix_dirs(a: &str, b: &str) -> usize {
    a.split('/').zip(b.split('/')).take_while(|(x, y)| x == y).count()
}
