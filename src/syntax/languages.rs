//! The language registry: which grammar and which queries serve which files.

use std::{path::Path, sync::Arc};

use anyhow::Context as _;

use super::TagsQuery;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

    /// The `tags.scm` embedded in the binary.
    pub fn embedded_tags(self) -> &'static str {
        match self {
            LanguageId::Python => include_str!("../../grammars/python/tags.scm"),
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
    /// The workspace replaced the embedded `tags.scm`; the quick outline, which mirrors the
    /// embedded query, must not stand in for it then.
    pub tags_overridden: bool,
}

impl Language {
    /// Whether the quick outline may stand in for the tags query's definitions.
    pub fn has_quick_outline(&self) -> bool {
        !self.tags_overridden && matches!(self.id, LanguageId::Python)
    }
}

/// All languages, with their queries compiled once and shared.
#[derive(Clone)]
pub struct Languages {
    languages: Arc<[Arc<Language>]>,
}

impl Languages {
    /// The embedded queries only.
    pub fn embedded() -> Languages {
        static EMBEDDED: std::sync::OnceLock<Languages> = std::sync::OnceLock::new();
        EMBEDDED.get_or_init(|| Languages::with_overrides(&[]).expect("embedded queries compile")).clone()
    }

    /// The embedded queries, with `tags.scm` replaced for each `(language, source)` given.
    /// An override that does not compile is an error naming the language and the query problem.
    pub fn with_overrides(overrides: &[(LanguageId, String)]) -> anyhow::Result<Languages> {
        let languages = LanguageId::ALL
            .into_iter()
            .map(|id| {
                let grammar = id.grammar();
                let overridden = overrides.iter().find(|(lang, _)| *lang == id);
                let source = overridden.map_or(id.embedded_tags(), |(_, source)| source.as_str());
                let tags = TagsQuery::new(&grammar, source)
                    .with_context(|| format!("compiling grammars/{}/tags.scm", id.name()))?;
                Ok(Arc::new(Language { id, grammar, tags, tags_overridden: overridden.is_some() }))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Languages { languages: languages.into() })
    }

    pub fn get(&self, id: LanguageId) -> &Arc<Language> {
        self.languages.iter().find(|lang| lang.id == id).expect("every LanguageId is registered")
    }
}

impl std::fmt::Debug for Languages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.languages.iter().map(|it| it.id)).finish()
    }
}
