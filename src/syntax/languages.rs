//! The language registry: which grammar and which queries serve which files.

use std::{path::Path, sync::Arc};

use anyhow::Context as _;

use super::{FileQueries, ImportsQuery, TagsQuery};

/// The query files a language may have under `grammars/<language>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueryFile {
    Tags,
    Imports,
    /// Code smells with mechanical fixes (read by `risk::smells`).
    Smells,
}

impl QueryFile {
    pub const ALL: [QueryFile; 3] = [QueryFile::Tags, QueryFile::Imports, QueryFile::Smells];

    pub fn file_name(self) -> &'static str {
        match self {
            QueryFile::Tags => "tags.scm",
            QueryFile::Imports => "imports.scm",
            QueryFile::Smells => "smells.scm",
        }
    }
}

/// A workspace's own version of one query file.
#[derive(Clone, Debug)]
pub struct QueryOverride {
    pub language: LanguageId,
    pub file: QueryFile,
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum LanguageId {
    Python,
}

impl LanguageId {
    pub const ALL: [LanguageId; 1] = [LanguageId::Python];

    /// The folder name under `grammars/` and the LSP `languageId`.
    pub fn name(self) -> &'static str {
        match self {
            LanguageId::Python => "python",
        }
    }

    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            LanguageId::Python => &["py", "pyi"],
        }
    }

    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            LanguageId::Python => tree_sitter_python::LANGUAGE.into(),
        }
    }

    /// A query file as embedded in the binary, if the language has it.
    pub fn embedded_query(self, file: QueryFile) -> Option<&'static str> {
        match (self, file) {
            (LanguageId::Python, QueryFile::Tags) => Some(include_str!("../../grammars/python/tags.scm")),
            (LanguageId::Python, QueryFile::Imports) => {
                Some(include_str!("../../grammars/python/imports.scm"))
            }
            (LanguageId::Python, QueryFile::Smells) => Some(include_str!("../../grammars/python/smells.scm")),
        }
    }

    pub fn from_path(path: &Path) -> Option<LanguageId> {
        let ext = path.extension()?.to_str()?;
        LanguageId::ALL.into_iter().find(|lang| lang.extensions().contains(&ext))
    }

    pub fn from_lsp_id(id: &str) -> Option<LanguageId> {
        LanguageId::ALL.into_iter().find(|lang| lang.name() == id)
    }
}

/// A language ready to use: its grammar and compiled queries.
pub struct Language {
    pub id: LanguageId,
    pub grammar: tree_sitter::Language,
    pub tags: TagsQuery,
    pub imports: Option<ImportsQuery>,
    /// `smells.scm`, compiled; its captures are interpreted by `risk::smells`.
    pub smells: Option<tree_sitter::Query>,
    /// All of the above in one query, for passes over a whole file (`None` only if the
    /// combination fails to compile, which the parts alone did not).
    pub queries: Option<FileQueries>,
}

/// All languages, with their queries compiled once and shared. The embedded set compiles on
/// first use (tens of milliseconds), so that starting the server costs nothing; `warm_up`
/// starts that work on a background thread.
#[derive(Clone)]
pub struct Languages {
    compiled: Arc<std::sync::OnceLock<Arc<[Arc<Language>]>>>,
    /// Identifies the query sources in use (and the repolens version), for caches of results.
    fingerprint: u64,
    /// Languages whose `tags.scm` the workspace replaced: known without compiling anything, so
    /// that a first start outlines files while the queries compile.
    tags_overridden: Arc<[LanguageId]>,
}

impl Languages {
    /// The embedded queries only.
    pub fn embedded() -> Languages {
        static EMBEDDED: std::sync::OnceLock<Languages> = std::sync::OnceLock::new();
        EMBEDDED
            .get_or_init(|| Languages {
                compiled: Arc::default(),
                fingerprint: fingerprint(&[]),
                tags_overridden: Arc::default(),
            })
            .clone()
    }

    /// Compiles the queries now, on a background thread, unless that already happened.
    pub fn warm_up(&self) {
        if self.compiled.get().is_some() {
            return;
        }
        let this = self.clone();
        let _ = std::thread::Builder::new().name("repolens-warm-up".into()).spawn(move || {
            this.get(LanguageId::Python);
        });
    }

    /// The embedded queries, with the workspace's overrides in their place. An override that
    /// does not compile is an error naming the file and the query problem.
    pub fn with_overrides(overrides: &[QueryOverride]) -> anyhow::Result<Languages> {
        if overrides.is_empty() {
            return Ok(Languages::embedded());
        }
        let compiled = compile(overrides)?;
        Ok(Languages {
            compiled: Arc::new(std::sync::OnceLock::from(compiled)),
            fingerprint: fingerprint(overrides),
            tags_overridden: overrides
                .iter()
                .filter(|o| o.file == QueryFile::Tags)
                .map(|o| o.language)
                .collect(),
        })
    }

    /// Changes whenever summaries could come out differently: another repolens version, or
    /// other query sources.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Whether the quick outline may stand in for the tags query's definitions: it mirrors the
    /// embedded `tags.scm`, so not where the workspace replaced that.
    pub fn has_quick_outline(&self, id: LanguageId) -> bool {
        !self.tags_overridden.contains(&id) && matches!(id, LanguageId::Python)
    }

    pub fn get(&self, id: LanguageId) -> &Arc<Language> {
        let all = self.compiled.get_or_init(|| compile(&[]).expect("embedded queries compile"));
        all.iter().find(|lang| lang.id == id).expect("every LanguageId is registered")
    }
}

fn fingerprint(overrides: &[QueryOverride]) -> u64 {
    let mut key = String::from(env!("CARGO_PKG_VERSION"));
    for id in LanguageId::ALL {
        for file in QueryFile::ALL {
            let overridden = overrides.iter().find(|o| o.language == id && o.file == file);
            key.push('\0');
            key.push_str(
                overridden.map(|o| o.source.as_str()).or_else(|| id.embedded_query(file)).unwrap_or(""),
            );
        }
    }
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

fn compile(overrides: &[QueryOverride]) -> anyhow::Result<Arc<[Arc<Language>]>> {
    let languages = LanguageId::ALL
        .into_iter()
        .map(|id| {
            let grammar = id.grammar();
            let source = |file: QueryFile| {
                let overridden = overrides.iter().find(|o| o.language == id && o.file == file);
                overridden.map(|o| o.source.as_str()).or_else(|| id.embedded_query(file))
            };
            let context = |file: QueryFile| format!("compiling grammars/{}/{}", id.name(), file.file_name());
            let tags_source = source(QueryFile::Tags).unwrap_or("");
            let tags = TagsQuery::new(&grammar, tags_source).with_context(|| context(QueryFile::Tags))?;
            let imports = source(QueryFile::Imports)
                .map(|src| ImportsQuery::new(&grammar, src).with_context(|| context(QueryFile::Imports)))
                .transpose()?;
            let smells = source(QueryFile::Smells)
                .map(|src| tree_sitter::Query::new(&grammar, src).with_context(|| context(QueryFile::Smells)))
                .transpose()?;
            let others: Vec<&str> = source(QueryFile::Smells).into_iter().collect();
            let queries = FileQueries::new(
                &grammar,
                (tags_source, &tags),
                source(QueryFile::Imports).zip(imports.as_ref()),
                &others,
            )
            .inspect_err(|err| tracing::warn!("{}: combining the queries failed: {err:#}", id.name()))
            .ok();
            Ok(Arc::new(Language { id, grammar, tags, imports, smells, queries }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(languages.into())
}

impl std::fmt::Debug for Languages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(LanguageId::ALL).finish()
    }
}
