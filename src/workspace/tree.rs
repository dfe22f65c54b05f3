//! The work tree as a scratch copy sees it: every file a project's tests may read, minus what
//! only makes a copy slow.
//!
//! The rule (also in the README's "Sandbox" section):
//! - **Files are kept whether tracked, untracked or ignored.** Tests read untracked and ignored
//!   files too: a `_version.py` that setuptools-scm generates, local settings, `.env`, data files
//!   nobody committed, `conftest.py` and the test configuration (`pyproject.toml`, `setup.cfg`,
//!   `pytest.ini`, `tox.ini`) wherever they are. Ignored files are marked, because they are
//!   also the files a test run is likely to write (databases, logs), so the copy gives them real
//!   copies instead of links.
//! - **Directories are left out** when they are VCS metadata (`.git`, `.hg`, `.svn`, `.jj`,
//!   `.bzr`), repolens's own `.repolens`, caches and environments known by name
//!   (`__pycache__`, `.venv`, `node_modules`, `.tox`, `.nox`, `.mypy_cache`, `.pytest_cache`,
//!   `.ruff_cache`), any virtualenv (a `pyvenv.cfg` inside), any tagged cache (`CACHEDIR.TAG`),
//!   or ignored by the ignore files (`.gitignore`, `.ignore`, `.git/info/exclude`, git's global
//!   excludes; nearer files win, `!` re-includes). Ignored directories are where the weight is
//!   (build outputs, virtualenvs under other names, downloaded data).
//! - Symlinks are listed as links (never followed); other special files are skipped.
//!
//! Listing reads directories only, never file contents, and stats only ignored files (for
//! their size): a copy of Django's ~6,700 files must take well under 150 ms.

use std::{
    io,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use ignore::{Match, gitignore::Gitignore};

/// Directory names never copied, whatever the ignore files say.
const EXCLUDED_DIR_NAMES: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".jj",
    ".bzr",
    ".repolens",
    "__pycache__",
    ".venv",
    "node_modules",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
];

/// A file inside a directory with one of these names marks the directory as an environment or
/// a cache (a virtualenv of any name; the Cache Directory Tagging convention).
const EXCLUDING_MARKERS: &[&str] = &["pyvenv.cfg", "CACHEDIR.TAG"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// Relative to the root.
    pub path: PathBuf,
    /// Matched by an ignore file; `Some(size in bytes)` then, `None` for ordinary files.
    pub ignored_size: Option<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct TreeListing {
    /// The canonical root the paths are relative to.
    pub root: PathBuf,
    /// Directories to create, parents before children (sorted).
    pub dirs: Vec<PathBuf>,
    /// Regular files (sorted).
    pub files: Vec<TreeFile>,
    /// Symlinks and their targets as stored in the link (sorted).
    pub symlinks: Vec<(PathBuf, PathBuf)>,
    /// Directories left out by the rule above (for logs and tests; sorted).
    pub excluded_dirs: Vec<PathBuf>,
    /// Directories that could not be read (permissions); their contents are missing.
    pub unreadable_dirs: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("cannot list {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("listing the work tree was cancelled")]
    Cancelled,
}

/// Lists `root` by the rule in the module doc, reading directories in parallel.
pub fn list_tree(root: &Path, cancel: &AtomicBool) -> Result<TreeListing, TreeError> {
    let root = root.canonicalize().map_err(|source| TreeError::Io { path: root.to_path_buf(), source })?;
    // Lowest precedence first: git's global excludes, then the repository's own exclude file.
    let mut outer = None;
    // Rooted at the work tree (not the server's current directory, as `Gitignore::global` is).
    let (global, _) = ignore::gitignore::GitignoreBuilder::new(&root).build_global();
    if !global.is_empty() {
        outer = Some(Arc::new(Rules { matcher: global, parent: None }));
    }
    let exclude = root.join(".git/info/exclude");
    if exclude.is_file() {
        let mut builder = ignore::gitignore::GitignoreBuilder::new(&root);
        let _ = builder.add(&exclude);
        if let Ok(matcher) = builder.build() {
            outer = Some(Arc::new(Rules { matcher, parent: outer }));
        }
    }
    let acc = Mutex::new(TreeListing { root: root.clone(), ..TreeListing::default() });
    rayon::scope(|s| visit_dir(s, &root, PathBuf::new(), outer, &acc, cancel));
    if cancel.load(Ordering::Relaxed) {
        return Err(TreeError::Cancelled);
    }
    let mut listing = acc.into_inner().unwrap_or_else(|e| e.into_inner());
    if listing.unreadable_dirs.first().is_some_and(|d| d.as_os_str().is_empty()) {
        // The root itself could not be read: nothing was listed, so say why.
        let source = std::fs::read_dir(&root).err().unwrap_or_else(|| io::Error::other("unreadable"));
        return Err(TreeError::Io { path: root, source });
    }
    listing.dirs.sort();
    listing.files.sort_by(|a, b| a.path.cmp(&b.path));
    listing.symlinks.sort();
    listing.excluded_dirs.sort();
    listing.unreadable_dirs.sort();
    Ok(listing)
}

/// Files larger than this are identified by size and modification time instead of content.
pub const HASH_CONTENT_UP_TO: u64 = 16 * 1024 * 1024;

/// The xxh3-128 of a file's content, for cache keys; for files above [`HASH_CONTENT_UP_TO`]
/// (datasets), of their size and modification time, which is much cheaper and almost as good.
pub fn content_hash(path: &Path) -> io::Result<u128> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.len() > HASH_CONTENT_UP_TO {
        let mtime = meta.modified()?.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let stamp = format!("size {} mtime {}", meta.len(), mtime.as_nanos());
        // Seeded differently, so that no file content can collide with a stamp.
        return Ok(xxhash_rust::xxh3::xxh3_128_with_seed(stamp.as_bytes(), 1));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)?;
    Ok(xxhash_rust::xxh3::xxh3_128(&bytes))
}

/// One directory's ignore files, chained to its parent's. Nearer rules are consulted first.
struct Rules {
    matcher: Gitignore,
    parent: Option<Arc<Rules>>,
}

fn is_ignored(rules: Option<&Arc<Rules>>, path: &Path, is_dir: bool) -> bool {
    let mut cur = rules;
    while let Some(r) = cur {
        match r.matcher.matched(path, is_dir) {
            Match::Ignore(_) => return true,
            Match::Whitelist(_) => return false,
            Match::None => cur = r.parent.as_ref(),
        }
    }
    false
}

fn visit_dir<'s>(
    s: &rayon::Scope<'s>,
    root: &'s Path,
    rel: PathBuf,
    parent_rules: Option<Arc<Rules>>,
    acc: &'s Mutex<TreeListing>,
    cancel: &'s AtomicBool,
) {
    if cancel.load(Ordering::Relaxed) {
        return;
    }
    let abs = root.join(&rel);
    let Ok(read) = std::fs::read_dir(&abs) else {
        acc.lock().unwrap_or_else(|e| e.into_inner()).unreadable_dirs.push(rel);
        return;
    };
    // Names and types come from the directory entries themselves: no stat per file.
    let entries: Vec<(std::ffi::OsString, std::fs::FileType)> =
        read.filter_map(Result::ok).filter_map(|e| Some((e.file_name(), e.file_type().ok()?))).collect();
    if !rel.as_os_str().is_empty()
        && entries.iter().any(|(name, ty)| ty.is_file() && EXCLUDING_MARKERS.iter().any(|m| name == *m))
    {
        let mut acc = acc.lock().unwrap_or_else(|e| e.into_inner());
        acc.dirs.retain(|d| d != &rel);
        acc.excluded_dirs.push(rel);
        return;
    }
    let rules = own_rules(&abs, &entries, parent_rules);
    let mut dirs = Vec::new();
    let mut excluded = Vec::new();
    let mut files = Vec::new();
    let mut symlinks = Vec::new();
    for (name, ty) in entries {
        let child_rel = rel.join(&name);
        let child_abs = abs.join(&name);
        if ty.is_dir() {
            let by_name = name.to_str().is_some_and(|n| EXCLUDED_DIR_NAMES.contains(&n));
            if by_name || is_ignored(rules.as_ref(), &child_abs, true) {
                excluded.push(child_rel);
            } else {
                dirs.push(child_rel);
            }
        } else if ty.is_file() {
            let ignored_size = if is_ignored(rules.as_ref(), &child_abs, false) {
                Some(std::fs::symlink_metadata(&child_abs).map(|m| m.len()).unwrap_or(0))
            } else {
                None
            };
            files.push(TreeFile { path: child_rel, ignored_size });
        } else if ty.is_symlink()
            && let Ok(target) = std::fs::read_link(&child_abs)
        {
            symlinks.push((child_rel, target));
        }
    }
    {
        let mut acc = acc.lock().unwrap_or_else(|e| e.into_inner());
        acc.dirs.extend(dirs.iter().cloned());
        acc.excluded_dirs.extend(excluded);
        acc.files.extend(files);
        acc.symlinks.extend(symlinks);
    }
    for dir in dirs {
        let rules = rules.clone();
        s.spawn(move |s| visit_dir(s, root, dir, rules, acc, cancel));
    }
}

/// The rules in effect inside `dir`: its own `.gitignore` and `.ignore` (in that order, so
/// `.ignore` wins), chained to the parent's.
fn own_rules(
    dir: &Path,
    entries: &[(std::ffi::OsString, std::fs::FileType)],
    parent: Option<Arc<Rules>>,
) -> Option<Arc<Rules>> {
    let has = |file: &str| entries.iter().any(|(name, ty)| name == file && !ty.is_dir());
    if !has(".gitignore") && !has(".ignore") {
        return parent;
    }
    let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
    for file in [".gitignore", ".ignore"] {
        if has(file) {
            // A malformed line is skipped by the builder; the rest of the file still applies.
            let _ = builder.add(dir.join(file));
        }
    }
    match builder.build() {
        Ok(matcher) => Some(Arc::new(Rules { matcher, parent })),
        Err(err) => {
            tracing::warn!("ignoring the ignore files in {}: {err}", dir.display());
            parent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn ignored_directories_are_left_out_and_ignored_files_kept_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // As in git, `data/*` (not `data/`) lets `!` re-include a subdirectory.
        write(root, ".gitignore", "out/\n*.log\ndata/*\n!data/keep/\n");
        write(root, "pkg/.gitignore", "generated/\n");
        write(root, "pkg/mod.py", "");
        write(root, "pkg/generated/big.py", "");
        write(root, "pkg/run.log", "");
        write(root, "out/x.py", "");
        write(root, "data/drop/a.csv", "");
        write(root, "data/keep/b.csv", "");
        write(root, "myenv/pyvenv.cfg", "");
        write(root, "myenv/lib/x.py", "");
        write(root, "cache/CACHEDIR.TAG", "");
        write(root, ".git/HEAD", "");
        write(root, "__pycache__/m.pyc", "");
        let listing = list_tree(root, &AtomicBool::new(false)).unwrap();
        let files: Vec<(String, bool)> =
            listing.files.iter().map(|f| (f.path.display().to_string(), f.ignored_size.is_some())).collect();
        assert_eq!(
            files,
            [
                (".gitignore".to_owned(), false),
                ("data/keep/b.csv".to_owned(), false),
                ("pkg/.gitignore".to_owned(), false),
                ("pkg/mod.py".to_owned(), false),
                ("pkg/run.log".to_owned(), true),
            ]
        );
        let dirs: Vec<String> = listing.dirs.iter().map(|d| d.display().to_string()).collect();
        assert_eq!(dirs, ["data", "data/keep", "pkg"]);
        let excluded: Vec<String> = listing.excluded_dirs.iter().map(|d| d.display().to_string()).collect();
        assert_eq!(excluded, [".git", "__pycache__", "cache", "data/drop", "myenv", "out", "pkg/generated"]);
    }

    #[test]
    fn a_cancelled_listing_says_so() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(list_tree(dir.path(), &AtomicBool::new(true)), Err(TreeError::Cancelled)));
    }
}
