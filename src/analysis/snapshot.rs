//! [`Analysis`]: an immutable view of the host's state that requests read on worker threads.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use dashmap::DashMap;
use parking_lot::RwLock;

use super::{Cancellable, OpenDocument, OutlineNode, RepoModel, SymbolHit, symbols};
use crate::{
    graph::import_name,
    stdx::CancelToken,
    syntax::{FileSummary, Languages},
    workspace::{FileId, Vfs, VfsPath},
};

#[derive(Clone)]
pub struct Analysis {
    pub(super) languages: Languages,
    pub(super) roots: Arc<[PathBuf]>,
    pub(super) vfs: Arc<RwLock<Vfs>>,
    pub(super) documents: imbl::HashMap<FileId, Arc<OpenDocument>>,
    pub(super) index: imbl::HashMap<FileId, Arc<FileSummary>>,
    pub(super) index_ready: bool,
    pub(super) live_versions: Arc<DashMap<FileId, i32>>,
    pub(super) model: Arc<RepoModel>,
}

impl Analysis {
    pub fn languages(&self) -> &Languages {
        &self.languages
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    pub fn index_ready(&self) -> bool {
        self.index_ready
    }

    /// The repository model. It is shared, not snapshotted: it may be newer than the documents
    /// of this snapshot (see `model.rs`).
    pub fn model(&self) -> &RepoModel {
        &self.model
    }

    pub fn path(&self, file: FileId) -> VfsPath {
        self.vfs.read().path(file).clone()
    }

    pub fn file_id(&self, path: &VfsPath) -> Option<FileId> {
        self.vfs.read().file_id(path)
    }

    pub fn document(&self, file: FileId) -> Option<&Arc<OpenDocument>> {
        self.documents.get(&file)
    }

    /// Whether the open document changed after this snapshot was taken.
    pub fn is_stale(&self, file: FileId) -> bool {
        let ours = self.documents.get(&file).map(|d| d.document.version());
        let live = self.live_versions.get(&file).map(|v| *v);
        ours != live
    }

    /// Symbols and references of a file: the open document's if it is open, else the index's.
    pub fn file_summary(&self, file: FileId) -> Option<Arc<FileSummary>> {
        match self.documents.get(&file) {
            Some(doc) => doc.summary(&self.languages),
            None => self.index.get(&file).cloned(),
        }
    }

    /// Every file with a summary, open documents taking the place of their disk version.
    pub fn files(&self) -> impl Iterator<Item = (FileId, Arc<FileSummary>)> + '_ {
        let open = self.documents.keys().filter_map(|&f| Some((f, self.file_summary(f)?)));
        let indexed =
            self.index.iter().filter(|(f, _)| !self.documents.contains_key(f)).map(|(f, s)| (*f, s.clone()));
        open.chain(indexed)
    }

    pub fn file_count(&self) -> usize {
        self.index.len() + self.documents.keys().filter(|f| !self.index.contains_key(f)).count()
    }

    /// The dotted name of a file's module, as code imports it (`pkg/mod.py` → `pkg.mod`,
    /// `pkg/__init__.py` → `pkg`, `src/pkg/mod.py` → `pkg.mod`); for a file that is not Python,
    /// its dotted path relative to its workspace root.
    ///
    /// Which directories are packages is read from the files of this snapshot, not the graph, so
    /// the name is the same before the graph is built and without one (`repolens symbols`).
    pub fn module_name(&self, file: FileId) -> Option<String> {
        let path = self.path(file);
        let (root, relative) = self.root_and_relative(&path)?;
        let rel_path = relative.to_string_lossy().replace('\\', "/");
        let vfs = self.vfs.read();
        let is_package = |dir: &str| {
            ["__init__.py", "__init__.pyi"].iter().any(|init| {
                vfs.file_id(&VfsPath::Disk(root.join(dir).join(init)))
                    .is_some_and(|id| self.index.contains_key(&id) || self.documents.contains_key(&id))
            })
        };
        import_name(&rel_path, &is_package).or_else(|| Some(module_name_of(relative)))
    }

    /// A file's path relative to its workspace root, dotted (`src/pkg/mod.py` → `src.pkg.mod`):
    /// how someone who knows the tree rather than the imports may name it.
    pub fn module_path(&self, file: FileId) -> Option<String> {
        let path = self.path(file);
        Some(module_name_of(self.root_and_relative(&path)?.1))
    }

    fn root_and_relative<'p>(&self, path: &'p VfsPath) -> Option<(&Path, &'p Path)> {
        let path = path.as_disk()?;
        self.roots.iter().find_map(|root| Some((root.as_path(), path.strip_prefix(root).ok()?)))
    }

    /// The outline of one file, nested as the editor shows it.
    pub fn document_symbols(&self, file: FileId) -> Option<Vec<OutlineNode>> {
        let summary = self.file_summary(file)?;
        Some(symbols::outline(&summary))
    }

    /// Symbols across the workspace matching `query`, best first, at most `limit`.
    pub fn workspace_symbols(
        &self,
        query: &str,
        limit: usize,
        cancel: &CancelToken,
    ) -> Cancellable<Vec<SymbolHit>> {
        symbols::search(self, query, limit, cancel)
    }
}

pub(crate) fn module_name_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "__init__") && parts.len() > 1 {
        parts.pop();
    }
    parts.join(".")
}
