//! Finding a workspace's source files and reading them safely.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    sync::Mutex,
};

use crate::syntax::{LanguageId, QueryFile, QueryOverride};

#[derive(Clone, Debug)]
pub struct DiscoverOptions {
    /// Files larger than this are skipped (default 2 MiB).
    pub max_file_size: u64,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions { max_file_size: 2 * 1024 * 1024 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    TooLarge,
    Binary,
    NotUtf8,
    Unreadable,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::TooLarge => "too_large",
            SkipReason::Binary => "binary",
            SkipReason::NotUtf8 => "not_utf8",
            SkipReason::Unreadable => "unreadable",
        }
    }
}

/// Files left out of the index, by reason, with a few examples for the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    pub counts: std::collections::BTreeMap<SkipReason, usize>,
    pub examples: Vec<(PathBuf, SkipReason)>,
}

impl Skipped {
    pub fn add(&mut self, path: &Path, reason: SkipReason) {
        *self.counts.entry(reason).or_default() += 1;
        if self.examples.len() < 5 {
            self.examples.push((path.to_path_buf(), reason));
        }
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn merge(&mut self, other: Skipped) {
        for (reason, n) in other.counts {
            *self.counts.entry(reason).or_default() += n;
        }
        for example in other.examples {
            if self.examples.len() < 5 {
                self.examples.push(example);
            }
        }
    }
}

pub struct Discovery {
    /// Source files in a stable (sorted) order.
    pub files: Vec<(PathBuf, LanguageId)>,
    pub skipped: Skipped,
}

/// Walks `roots` in parallel, honouring ignore files, and returns the files some language
/// claims. Oversized files are skipped here, from metadata, without being read.
pub fn discover(roots: &[PathBuf], options: &DiscoverOptions) -> Discovery {
    let Some((first, rest)) = roots.split_first() else {
        return Discovery { files: Vec::new(), skipped: Skipped::default() };
    };
    let mut builder = ignore::WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    builder
        .hidden(true)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .ignore(true)
        .parents(true)
        // A .gitignore applies even where the folder is not (yet) a git repository.
        .require_git(false)
        .follow_links(false);
    let found = Mutex::new((Vec::new(), Skipped::default()));
    builder.build_parallel().run(|| {
        let found = &found;
        Box::new(move |entry| {
            let Ok(entry) = entry else { return ignore::WalkState::Continue };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return ignore::WalkState::Continue;
            }
            let path = entry.path();
            let Some(lang) = LanguageId::from_path(path) else {
                return ignore::WalkState::Continue;
            };
            let too_large = entry.metadata().is_ok_and(|m| m.len() > options.max_file_size);
            let mut found = found.lock().unwrap_or_else(|e| e.into_inner());
            if too_large {
                found.1.add(path, SkipReason::TooLarge);
            } else {
                found.0.push((path.to_path_buf(), lang));
            }
            ignore::WalkState::Continue
        })
    });
    let (mut files, skipped) = found.into_inner().unwrap_or_else(|e| e.into_inner());
    files.sort();
    files.dedup();
    Discovery { files, skipped }
}

/// Reads a source file, or says why it is not one we index.
pub fn read_source(path: &Path, max_file_size: u64) -> Result<String, SkipReason> {
    let mut file = std::fs::File::open(path).map_err(|_| SkipReason::Unreadable)?;
    let mut bytes = Vec::new();
    // Read at most one byte past the limit: a file that grew since discovery is still refused.
    (&mut file).take(max_file_size + 1).read_to_end(&mut bytes).map_err(|_| SkipReason::Unreadable)?;
    if bytes.len() as u64 > max_file_size {
        return Err(SkipReason::TooLarge);
    }
    if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
        return Err(SkipReason::Binary);
    }
    String::from_utf8(bytes).map_err(|_| SkipReason::NotUtf8)
}

/// Query files a workspace provides for itself: `<root>/grammars/<language>/<file>.scm`.
pub fn grammar_overrides(roots: &[PathBuf]) -> Vec<QueryOverride> {
    let mut overrides = Vec::new();
    for language in LanguageId::ALL {
        for file in QueryFile::ALL {
            for root in roots {
                let path = root.join("grammars").join(language.name()).join(file.file_name());
                if let Ok(source) = std::fs::read_to_string(&path) {
                    tracing::info!("using {} from the workspace", path.display());
                    overrides.push(QueryOverride { language, file, source });
                    break;
                }
            }
        }
    }
    overrides
}
