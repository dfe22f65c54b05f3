//! The files of one commit, read from git's object store (`ls-tree` + one `cat-file --batch`):
//! what `repolens risks --rev COMMIT` analyzes, so that the code, like the history, is exactly
//! as it was at that commit, whatever the work tree holds.

use std::path::Path;

use super::{HistoryError, HistoryOptions, functions::read_batch, resolve};

/// A file of a commit: repository-relative path with `/`, and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The files of a commit under one directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeSnapshot {
    /// The commit read.
    pub commit: String,
    /// The directory's repository-relative path with a trailing `/` (empty for the top).
    pub prefix: String,
    pub files: Vec<TreeFile>,
}

/// The regular files of `options.as_of` (default HEAD) under `root` (a directory in the work
/// tree of a repository) for which `wanted(path)` holds, `path` being repository-relative.
/// Symbolic links and submodules are skipped. `Ok(None)` when history is off (no git, no
/// repository, or a bare one: there is no directory to map).
pub fn read_tree(
    root: &Path,
    options: &HistoryOptions,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Option<TreeSnapshot>, HistoryError> {
    let git = match options.open(root) {
        Ok(git) => git,
        Err(err) if err.is_feature_off() => return Ok(None),
        Err(err) => return Err(err),
    };
    let Some(workdir) = git.workdir() else { return Ok(None) };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let workdir = workdir.canonicalize().unwrap_or_else(|_| workdir.to_path_buf());
    let Ok(relative) = root.strip_prefix(&workdir) else { return Ok(None) };
    let mut prefix: String =
        relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    if !prefix.is_empty() {
        prefix.push('/');
    }
    let head = resolve(&git, options.as_of.as_deref())?;
    let listing = git.output(&["ls-tree", "-r", "-z", "--full-tree", head.hash.as_str()])?;
    // `<mode> SP <type> SP <object> TAB <path>` NUL-terminated.
    let mut entries: Vec<(String, String)> = Vec::new();
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let record = String::from_utf8_lossy(record);
        let Some((meta, path)) = record.split_once('\t') else {
            return Err(HistoryError::Parse {
                command: "ls-tree".to_owned(),
                detail: format!("bad entry {record:?}"),
            });
        };
        let mut fields = meta.split(' ');
        let (mode, kind, object) = (fields.next(), fields.next(), fields.next());
        let regular = matches!(mode, Some("100644" | "100755")) && kind == Some("blob");
        if regular && path.starts_with(&prefix) && wanted(path) {
            entries.push((path.to_owned(), object.unwrap_or_default().to_owned()));
        }
    }
    if entries.is_empty() {
        return Ok(Some(TreeSnapshot { commit: head.hash, prefix, files: Vec::new() }));
    }
    let mut input = Vec::with_capacity(entries.len() * 41);
    for (_, object) in &entries {
        input.extend_from_slice(object.as_bytes());
        input.push(b'\n');
    }
    let blobs = git.stream(&["cat-file", "--batch"], Some(input), |out| read_batch(out, entries.len()))?;
    let files = entries
        .into_iter()
        .zip(blobs)
        .filter_map(|((path, _), bytes)| Some(TreeFile { path, bytes: bytes? }))
        .collect();
    Ok(Some(TreeSnapshot { commit: head.hash, prefix, files }))
}
