//! The one writer: applies document edits and index updates in the order they happen.

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
    time::Duration,
};

use dashmap::DashMap;
use parking_lot::RwLock;

use super::{Analysis, FileSource, ModelFile, RepoModel};
use crate::{
    syntax::{
        FileSummary, Import, LanguageId, Languages, ParseBudget, SyntaxTree, Tag, changed_spans, input_edit,
        merge_imports, merge_tags, parse_rope,
    },
    text::{ContentChange, Document, PositionEncoding},
    workspace::{FileId, Skipped, Vfs, VfsPath, WorkspaceScan},
};

/// A document the editor has open: its text wins over the file on disk.
pub struct OpenDocument {
    pub document: Document,
    pub language: Option<LanguageId>,
    /// `None` for languages we do not parse, or when parsing was abandoned.
    pub tree: Option<SyntaxTree>,
    /// Query results for this version, kept current edit by edit (see `syntax::merge_tags`).
    queried: Option<Arc<(Vec<Tag>, Vec<Import>)>>,
    summary: OnceLock<Option<Arc<FileSummary>>>,
}

impl OpenDocument {
    /// Symbols and references of this version, assembled once by whoever asks first.
    pub fn summary(&self, _languages: &Languages) -> Option<Arc<FileSummary>> {
        self.summary
            .get_or_init(|| {
                let (lang, tree, queried) = (self.language?, self.tree.as_ref()?, self.queried.as_ref()?);
                let text = self.document.text();
                let (tags, imports) = (queried.0.clone(), queried.1.clone());
                Some(Arc::new(FileSummary::assemble(
                    lang,
                    tags,
                    imports,
                    &text,
                    tree.root_node().has_error(),
                )))
            })
            .clone()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChangeError {
    #[error("document is not open")]
    NotOpen,
}

/// What a finished scan added to the index.
#[derive(Clone, Debug)]
pub struct IndexSummary {
    pub files: usize,
    pub symbols: usize,
    pub references: usize,
    pub skipped: Skipped,
    pub discover_time: Duration,
    pub parse_time: Duration,
}

pub struct AnalysisHost {
    languages: Languages,
    roots: Arc<[PathBuf]>,
    vfs: Arc<RwLock<Vfs>>,
    documents: imbl::HashMap<FileId, Arc<OpenDocument>>,
    /// Summaries of workspace files as they are on disk.
    index: imbl::HashMap<FileId, Arc<FileSummary>>,
    index_ready: bool,
    /// Current version of each open document, readable by snapshots to see they are stale.
    live_versions: Arc<DashMap<FileId, i32>>,
    model: Arc<RepoModel>,
}

impl AnalysisHost {
    pub fn new(languages: Languages, roots: Vec<PathBuf>) -> AnalysisHost {
        AnalysisHost {
            languages,
            roots: roots.into(),
            vfs: Arc::default(),
            documents: imbl::HashMap::new(),
            index: imbl::HashMap::new(),
            index_ready: false,
            live_versions: Arc::default(),
            model: Arc::default(),
        }
    }

    pub fn model(&self) -> &Arc<RepoModel> {
        &self.model
    }

    /// Workspace-relative, `/`-separated path of a file under one of the roots.
    pub fn rel_path(&self, file: FileId) -> Option<String> {
        let vfs = self.vfs.read();
        let path = vfs.path(file).as_disk()?;
        let relative = self.roots.iter().find_map(|root| path.strip_prefix(root).ok())?;
        Some(relative.to_string_lossy().replace('\\', "/"))
    }

    /// Where the model should read a file from: the open document if there is one (its text
    /// wins), else the index's summary of the disk.
    pub fn file_source(&self, file: FileId) -> Option<FileSource> {
        match self.documents.get(&file) {
            Some(doc) => Some(FileSource::Open(doc.clone())),
            None => {
                let summary = self.index.get(&file)?.clone();
                let path = self.vfs.read().path(file).as_disk()?.to_path_buf();
                Some(FileSource::Disk(path, summary))
            }
        }
    }

    /// A file as the model should see it now.
    pub fn model_file(&self, file: FileId) -> Option<ModelFile> {
        Some(ModelFile { file, rel_path: self.rel_path(file)?, source: self.file_source(file)? })
    }

    /// Every workspace file the model should contain, with its source.
    pub fn model_sources(&self) -> Vec<ModelFile> {
        let mut files: Vec<FileId> = self.index.keys().copied().collect();
        files.extend(self.documents.keys().filter(|f| !self.index.contains_key(f)).copied());
        files.sort();
        files.into_iter().filter_map(|file| self.model_file(file)).collect()
    }

    pub fn languages(&self) -> &Languages {
        &self.languages
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    pub fn file_id(&self, path: VfsPath) -> FileId {
        if let Some(id) = self.vfs.read().file_id(&path) {
            return id;
        }
        self.vfs.write().intern(path)
    }

    pub fn open_documents(&self) -> usize {
        self.documents.len()
    }

    pub fn is_open(&self, file: FileId) -> bool {
        self.documents.contains_key(&file)
    }

    /// The version of an open document (`None` when it is not open).
    pub fn live_version(&self, file: FileId) -> Option<i32> {
        self.documents.get(&file).map(|d| d.document.version())
    }

    pub fn index_ready(&self) -> bool {
        self.index_ready
    }

    pub fn open_document(&mut self, file: FileId, version: i32, text: &str, language: Option<LanguageId>) {
        let document = Document::new(text, version);
        let tree = language.and_then(|lang| self.parse(lang, &document, None));
        let queried = match (language, &tree) {
            (Some(lang), Some(tree)) => Some(Arc::new(self.query_all(lang, tree, text.as_bytes()))),
            _ => None,
        };
        self.live_versions.insert(file, version);
        self.documents.insert(
            file,
            Arc::new(OpenDocument { document, language, tree, queried, summary: OnceLock::new() }),
        );
    }

    /// Applies one `didChange` worth of edits, in order, re-parses incrementally and brings the
    /// query results up to date by re-querying only what changed.
    pub fn change_document(
        &mut self,
        file: FileId,
        version: i32,
        changes: &[ContentChange],
        encoding: PositionEncoding,
    ) -> Result<(), ChangeError> {
        let current = self.documents.get(&file).ok_or(ChangeError::NotOpen)?.clone();
        let mut document = current.document.clone();
        let mut edited = current.tree.clone();
        let language = current.language;
        let edits = document.apply_changes(changes, version, encoding);
        if let Some(tree) = edited.as_mut() {
            for edit in &edits {
                tree.edit(&input_edit(edit));
            }
        }
        // Reusing a tree that holds error recovery can give a different tree than a fresh
        // parse (tree-sitter-python's string scanner, seen in the property tests), so a
        // broken tree is not reused: correctness first, speed for the common valid case.
        let reusable = edited.as_ref().filter(|t| !t.root_node().has_error());
        let tree = language.and_then(|lang| self.parse(lang, &document, reusable));
        let queried = match (language, &tree) {
            (Some(lang), Some(new_tree)) => {
                let text = document.text();
                Some(Arc::new(match (&edited, &current.queried) {
                    // tree-sitter's changed ranges can miss what error recovery rearranged (a
                    // closing quote turns recovered code before it into a string), so broken
                    // trees on either side get a full query.
                    (Some(old_tree), Some(old))
                        if !old_tree.root_node().has_error() && !new_tree.root_node().has_error() =>
                    {
                        let spans = changed_spans(old_tree, new_tree, &edits, text.len());
                        let queries = self.languages.get(lang);
                        let tags = queries.tags.collect_in(new_tree, text.as_bytes(), &spans);
                        let imports = queries
                            .imports
                            .as_ref()
                            .map(|q| q.collect_in(new_tree, text.as_bytes(), &spans))
                            .unwrap_or_default();
                        (
                            merge_tags(&old.0, &edits, &spans, tags),
                            merge_imports(&old.1, &edits, &spans, imports),
                        )
                    }
                    _ => self.query_all(lang, new_tree, text.as_bytes()),
                }))
            }
            _ => None,
        };
        self.live_versions.insert(file, version);
        self.documents.insert(
            file,
            Arc::new(OpenDocument { document, language, tree, queried, summary: OnceLock::new() }),
        );
        Ok(())
    }

    /// A file changed on disk and was summarized again. An open document keeps winning; its
    /// disk summary is what it falls back to when closed.
    pub fn set_disk_summary(&mut self, file: FileId, summary: Arc<FileSummary>) {
        self.index.insert(file, summary);
    }

    /// A file was deleted on disk (or is no longer one we index).
    pub fn remove_disk_file(&mut self, file: FileId) {
        self.index.remove(&file);
    }

    /// The editor saved the document, so the disk now holds its text.
    pub fn save_document(&mut self, file: FileId) {
        let Some(doc) = self.documents.get(&file) else { return };
        if let Some(summary) = doc.summary(&self.languages) {
            self.index.insert(file, summary);
        }
    }

    pub fn close_document(&mut self, file: FileId) {
        self.documents.remove(&file);
        self.live_versions.remove(&file);
    }

    /// Replaces the index with a finished scan.
    pub fn apply_scan(&mut self, scan: WorkspaceScan) -> IndexSummary {
        let mut index = imbl::HashMap::new();
        let (mut symbols, mut references) = (0, 0);
        let files = scan.files.len();
        {
            let mut vfs = self.vfs.write();
            for file in scan.files {
                symbols += file.summary.symbols.len();
                references += file.summary.references.len();
                index.insert(vfs.intern(VfsPath::Disk(file.path)), file.summary);
            }
        }
        self.index = index;
        self.index_ready = true;
        IndexSummary {
            files,
            symbols,
            references,
            skipped: scan.skipped,
            discover_time: scan.discover_time,
            parse_time: scan.parse_time,
        }
    }

    pub fn snapshot(&self) -> Analysis {
        Analysis {
            languages: self.languages.clone(),
            roots: self.roots.clone(),
            vfs: self.vfs.clone(),
            documents: self.documents.clone(),
            index: self.index.clone(),
            index_ready: self.index_ready,
            live_versions: self.live_versions.clone(),
            model: self.model.clone(),
        }
    }

    fn query_all(&self, lang: LanguageId, tree: &SyntaxTree, text: &[u8]) -> (Vec<Tag>, Vec<Import>) {
        let lang = self.languages.get(lang);
        let imports = lang.imports.as_ref().map(|q| q.collect(tree, text)).unwrap_or_default();
        (lang.tags.collect(tree, text), imports)
    }

    fn parse(&self, lang: LanguageId, document: &Document, old: Option<&SyntaxTree>) -> Option<SyntaxTree> {
        let tree = parse_rope(self.languages.get(lang), document.rope(), old, ParseBudget::default());
        if tree.is_none() {
            tracing::warn!("parsing a {} document took too long; analysis is off for it", lang.name());
        }
        tree
    }
}
