//! Scratch copies of the workspace, one per candidate, that the user's tree never sees.
//!
//! Layout of a scratch directory (outside the workspace; removed when the [`Scratch`] drops):
//!
//! ```text
//! repolens-scratch-<pid>-<n>/
//!   tree/        the copy: the test command's working directory
//!   home/        $HOME of test runs
//!   tmp/         $TMPDIR of test runs
//!   pytest.ini   empty: stops pytest's search for a configuration above the copy
//!   junit-<n>.xml
//! ```
//!
//! Which files are in `tree/` is `workspace::list_tree`'s rule. Directories are created, never
//! linked. A file is hard-linked to the user's file (one syscall, no data copied) unless it is
//! ignored and at most [`LINK_IGNORED_ABOVE`] bytes — ignored files (databases, logs, local
//! settings) are what a test run tends to write, so they get real copies — or linking fails
//! (another filesystem, a filesystem without hard links, a file we may not link): then it is
//! copied. Symlinks are recreated; one pointing into the workspace is pointed at the copy, one
//! pointing outside keeps pointing there.
//!
//! Overlays (unsaved buffers, candidate edits) are written last, each as a new file: the link
//! at that path is removed first and the file created with `O_EXCL`, so an overlay can never be
//! written through a hard link into the user's file. An overlay path that leaves the workspace —
//! absolute outside it, `..` climbing out, or a symlink on the way pointing outside — is
//! rejected with [`SandboxError::EscapesWorkspace`].
//!
//! What links cannot prevent: a test that opens an existing, linked file for writing in place
//! writes the user's file. [`Scratch::linked_files_modified_since`] finds such writes after a run
//! (one stat per linked file), and every [`super::TestRun`] reports them.

use std::{
    collections::{BTreeMap, HashSet},
    fs,
    io::Write as _,
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _},
    path::{Component, Path, PathBuf},
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    time::{Duration, Instant, SystemTime},
};

use rayon::prelude::*;

use super::{SandboxError, SandboxOptions};
use crate::workspace::{TreeError, TreeListing, list_tree};

/// Ignored files larger than this are linked rather than copied: copying a dataset for every
/// candidate would cost more than the risk of a test writing it in place.
pub const LINK_IGNORED_ABOVE: u64 = 16 * 1024 * 1024;

/// A file's text as the sandbox should see it instead of what is on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlay {
    /// Relative to the workspace root, or absolute inside it.
    pub path: PathBuf,
    pub text: String,
}

impl Overlay {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Overlay {
        Overlay { path: path.into(), text: text.into() }
    }
}

/// What making a copy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScratchStats {
    pub dirs: usize,
    pub linked: usize,
    pub copied: usize,
    pub symlinks: usize,
    pub overlays: usize,
    pub excluded_dirs: usize,
    /// Listing the tree and making the copy (not removing it).
    pub elapsed: Duration,
}

/// A scratch copy of the workspace. Dropping it removes the copy.
#[derive(Debug)]
pub struct Scratch {
    dir: DirGuard,
    tree: PathBuf,
    user_root: PathBuf,
    /// Files (relative) that share their inode with the user's file.
    linked: Vec<PathBuf>,
    stats: ScratchStats,
    runs: AtomicU32,
}

impl Scratch {
    /// A copy of the workspace at `root` with `overlays` applied, under the system's temporary
    /// directory.
    pub fn create(root: &Path, overlays: &[Overlay]) -> Result<Scratch, SandboxError> {
        Scratch::create_with(root, overlays, &SandboxOptions::new())
    }

    /// As [`Scratch::create`], under `options.scratch_parent`, obeying `options.cancel`.
    pub fn create_with(
        root: &Path,
        overlays: &[Overlay],
        options: &SandboxOptions,
    ) -> Result<Scratch, SandboxError> {
        let started = Instant::now();
        let listing = list_tree(root, options.cancel.flag()).map_err(|err| match err {
            TreeError::Cancelled => SandboxError::Cancelled,
            TreeError::Io { path, source } => SandboxError::io(format!("listing {}", path.display()), source),
        })?;
        let mut scratch = Scratch::from_listing(&listing, overlays, options)?;
        scratch.stats.elapsed = started.elapsed();
        Ok(scratch)
    }

    /// Makes the copy from an existing listing (the baseline lists the tree once to hash it).
    pub(crate) fn from_listing(
        listing: &TreeListing,
        overlays: &[Overlay],
        options: &SandboxOptions,
    ) -> Result<Scratch, SandboxError> {
        let started = Instant::now();
        let cancelled = || options.cancel.is_cancelled();
        let user_root = listing.root.clone();
        // Check every overlay path before doing any work.
        let overlays = overlays
            .iter()
            .map(|o| Ok((workspace_relative(&user_root, &o.path)?, o.text.as_str())))
            .collect::<Result<Vec<_>, SandboxError>>()?;
        let overlaid: HashSet<&Path> = overlays.iter().map(|(p, _)| p.as_path()).collect();

        let dir = DirGuard::create(&user_root, options.scratch_parent.as_deref())?;
        let tree = dir.0.join("tree");
        for sub in [&tree, &dir.0.join("home"), &dir.0.join("tmp")] {
            fs::create_dir(sub).map_err(|e| SandboxError::io(format!("creating {}", sub.display()), e))?;
        }
        fs::write(dir.0.join("pytest.ini"), "")
            .map_err(|e| SandboxError::io("writing the scratch pytest.ini", e))?;

        // Directories level by level: each level's parents exist, so a level is parallel.
        let mut levels: BTreeMap<usize, Vec<&PathBuf>> = BTreeMap::new();
        for d in &listing.dirs {
            levels.entry(d.components().count()).or_default().push(d);
        }
        for level in levels.values() {
            if cancelled() {
                return Err(SandboxError::Cancelled);
            }
            level.par_iter().try_for_each(|d| {
                let path = tree.join(d);
                fs::create_dir(&path).map_err(|e| SandboxError::io(format!("creating {}", path.display()), e))
            })?;
        }

        for (link, target) in &listing.symlinks {
            let path = tree.join(link);
            let target = scratch_link_target(&user_root, &tree, link, target);
            std::os::unix::fs::symlink(&target, &path)
                .map_err(|e| SandboxError::io(format!("creating the symlink {}", path.display()), e))?;
        }

        let links_work = AtomicBool::new(true);
        let placed = listing
            .files
            .par_iter()
            .filter(|f| !overlaid.contains(f.path.as_path()))
            .map(|f| {
                if cancelled() {
                    return Err(SandboxError::Cancelled);
                }
                let copy = f.ignored_size.is_some_and(|size| size <= LINK_IGNORED_ABOVE);
                place_file(&user_root.join(&f.path), &tree.join(&f.path), copy, &links_work)
                    .map(|placed| (placed, &f.path))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut stats = ScratchStats {
            dirs: listing.dirs.len(),
            symlinks: listing.symlinks.len(),
            excluded_dirs: listing.excluded_dirs.len(),
            ..ScratchStats::default()
        };
        let mut linked = Vec::new();
        for (placed, path) in placed {
            match placed {
                Placed::Linked => {
                    stats.linked += 1;
                    linked.push(path.clone());
                }
                Placed::Copied => stats.copied += 1,
                Placed::Vanished => {}
            }
        }

        let tree = tree.canonicalize().map_err(|e| SandboxError::io("resolving the scratch copy", e))?;
        for (rel, text) in &overlays {
            write_overlay(&tree, rel, text)?;
        }
        stats.overlays = overlays.len();
        stats.elapsed = started.elapsed();
        Ok(Scratch { dir, tree, user_root, linked, stats, runs: AtomicU32::new(0) })
    }

    /// The copy of the workspace: where tests run.
    pub fn tree(&self) -> &Path {
        &self.tree
    }

    /// The scratch directory holding the copy and the runs' own files.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// The (canonical) workspace this is a copy of.
    pub fn user_root(&self) -> &Path {
        &self.user_root
    }

    pub fn stats(&self) -> ScratchStats {
        self.stats
    }

    /// Linked files (relative) whose content changed at or after `since` — a test wrote them in
    /// place, which also wrote the user's file — or that the user edited meanwhile.
    pub fn linked_files_modified_since(&self, since: SystemTime) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .linked
            .par_iter()
            .filter(|rel| {
                fs::symlink_metadata(self.tree.join(rel)).and_then(|m| m.modified()).is_ok_and(|t| t >= since)
            })
            .cloned()
            .collect();
        out.sort();
        out
    }

    /// A fresh path for one run's JUnit report.
    pub(crate) fn next_report_path(&self) -> PathBuf {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        self.dir.0.join(format!("junit-{n}.xml"))
    }
}

enum Placed {
    Linked,
    Copied,
    /// The file was deleted since the listing: the copy simply lacks it.
    Vanished,
}

fn place_file(src: &Path, dst: &Path, copy: bool, links_work: &AtomicBool) -> Result<Placed, SandboxError> {
    if !copy && links_work.load(Ordering::Relaxed) {
        match fs::hard_link(src, dst) {
            Ok(()) => return Ok(Placed::Linked),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Placed::Vanished),
            Err(err) => {
                // Another filesystem, or one without hard links, fails every link the same way:
                // stop trying. Anything else (a file we may not link) is about this file only.
                if matches!(err.raw_os_error(), Some(libc::EXDEV | libc::EOPNOTSUPP | libc::EMLINK)) {
                    links_work.store(false, Ordering::Relaxed);
                }
            }
        }
    }
    match fs::copy(src, dst) {
        Ok(_) => Ok(Placed::Copied),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Placed::Vanished),
        Err(err) => Err(SandboxError::io(format!("copying {} into the scratch copy", src.display()), err)),
    }
}

/// Where a recreated symlink points: into the copy when the original points into the
/// workspace, to the same place when it points outside.
fn scratch_link_target(user_root: &Path, tree: &Path, link: &Path, target: &Path) -> PathBuf {
    if target.is_absolute() {
        return match target.strip_prefix(user_root) {
            Ok(inside) => tree.join(inside),
            Err(_) => target.to_path_buf(),
        };
    }
    let joined = link.parent().unwrap_or(Path::new("")).join(target);
    match normalize_relative(&joined) {
        // Stays inside: the relative target means the same thing in the copy.
        Some(_) => target.to_path_buf(),
        // Climbs out of the workspace: keep pointing at the real place.
        None => user_root.join(link.parent().unwrap_or(Path::new(""))).join(target),
    }
}

/// `path` without `.` and with `..` applied, if it stays inside (and is not the root itself).
fn normalize_relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// An overlay's path relative to the workspace, or `EscapesWorkspace`.
pub(crate) fn workspace_relative(user_root: &Path, path: &Path) -> Result<PathBuf, SandboxError> {
    let escapes = || SandboxError::EscapesWorkspace { path: path.to_path_buf() };
    if !path.is_absolute() {
        return normalize_relative(path).ok_or_else(escapes);
    }
    if let Ok(rel) = path.strip_prefix(user_root) {
        return normalize_relative(rel).ok_or_else(escapes);
    }
    // An absolute path through another spelling of the root (a symlinked home directory):
    // resolve the deepest part that exists.
    let name = path.file_name().ok_or_else(escapes)?;
    let parent = path.parent().ok_or_else(escapes)?.canonicalize().map_err(|_| escapes())?;
    let rel = parent.strip_prefix(user_root).map_err(|_| escapes())?;
    normalize_relative(&rel.join(name)).ok_or_else(escapes)
}

/// Writes one overlay into the copy as a new file, following symlinks only while they stay in
/// the copy.
fn write_overlay(tree: &Path, rel: &Path, text: &str) -> Result<(), SandboxError> {
    let escapes = || SandboxError::EscapesWorkspace { path: rel.to_path_buf() };
    let io = |what: &str, path: &Path, e| SandboxError::io(format!("{what} {}", path.display()), e);
    let inside = |link: &Path| -> Result<PathBuf, SandboxError> {
        let real = link.canonicalize().map_err(|e| {
            // A dangling link may still point inside; say which it is.
            let target = fs::read_link(link).unwrap_or_default();
            let lexical = link.parent().unwrap_or(tree).join(target);
            match lexical.strip_prefix(tree).ok().and_then(normalize_relative) {
                Some(_) => io("overlay through a dangling symlink", link, e),
                None => escapes(),
            }
        })?;
        if real.starts_with(tree) { Ok(real) } else { Err(escapes()) }
    };
    let comps: Vec<Component> = rel.components().collect();
    let Some((last, parents)) = comps.split_last() else { return Err(escapes()) };
    let mut dir = tree.to_path_buf();
    for comp in parents {
        let next = dir.join(comp);
        match fs::symlink_metadata(&next) {
            Ok(meta) if meta.file_type().is_symlink() => dir = inside(&next)?,
            Ok(meta) if meta.is_dir() => dir = next,
            Ok(_) => {
                let err = std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory");
                return Err(io("writing an overlay under", &next, err));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir(&next).map_err(|e| io("creating", &next, e))?;
                dir = next;
            }
            Err(e) => return Err(io("reading", &next, e)),
        }
    }
    let mut target = dir.join(last);
    let mut mode = 0o644;
    match fs::symlink_metadata(&target) {
        Ok(meta) if meta.file_type().is_symlink() => {
            target = inside(&target)?;
            mode = fs::metadata(&target).map(|m| m.permissions().mode()).unwrap_or(mode);
        }
        Ok(meta) if meta.is_dir() => {
            let err = std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory");
            return Err(io("writing an overlay to", &target, err));
        }
        Ok(meta) => mode = meta.permissions().mode(),
        Err(_) => {}
    }
    // Unlink first: the path may be a hard link to the user's file, which must keep its content.
    match fs::remove_file(&target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("replacing", &target, e)),
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o7777)
        .open(&target)
        .map_err(|e| io("writing", &target, e))?;
    file.write_all(text.as_bytes()).map_err(|e| io("writing", &target, e))
}

/// The scratch directory; removed (without following symlinks) when dropped.
#[derive(Debug)]
struct DirGuard(PathBuf);

impl DirGuard {
    fn create(user_root: &Path, parent: Option<&Path>) -> Result<DirGuard, SandboxError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        fs::create_dir_all(&parent)
            .map_err(|e| SandboxError::io(format!("creating {}", parent.display()), e))?;
        let parent = parent
            .canonicalize()
            .map_err(|e| SandboxError::io(format!("resolving {}", parent.display()), e))?;
        if parent.starts_with(user_root) {
            return Err(SandboxError::InsideWorkspace {
                what: "scratch",
                path: parent,
                root: user_root.to_path_buf(),
            });
        }
        let pid = std::process::id();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let nanos =
                SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            let dir = parent.join(format!("repolens-scratch-{pid}-{n}-{nanos:x}"));
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(DirGuard(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(SandboxError::io(
                        format!("creating a scratch directory in {}", parent.display()),
                        e,
                    ));
                }
            }
        }
    }
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        // remove_dir_all never follows symlinks, so links into the user's tree are only unlinked.
        if let Err(err) = fs::remove_dir_all(&self.0) {
            // A test may have left a directory without write permission: grant it and retry.
            make_writable(&self.0);
            if fs::remove_dir_all(&self.0).is_err() {
                tracing::warn!("cannot remove the scratch copy {}: {err}", self.0.display());
            }
        }
    }
}

/// Gives every directory under `dir` (not following symlinks) owner rwx, so it can be removed.
fn make_writable(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else { return };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(meta.permissions().mode() | 0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                make_writable(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_that_climb_out_are_rejected() {
        assert_eq!(normalize_relative(Path::new("a/./b/../c.py")), Some(PathBuf::from("a/c.py")));
        assert_eq!(normalize_relative(Path::new("a/../../c.py")), None);
        assert_eq!(normalize_relative(Path::new("/etc/passwd")), None);
        assert_eq!(normalize_relative(Path::new("a/..")), None);
    }

    #[test]
    fn symlink_targets_follow_the_copy_only_inside_the_workspace() {
        let root = Path::new("/w");
        let tree = Path::new("/s/tree");
        let t =
            |link: &str, target: &str| scratch_link_target(root, tree, Path::new(link), Path::new(target));
        assert_eq!(t("pkg/data", "../fixtures"), PathBuf::from("../fixtures"));
        assert_eq!(t("pkg/data", "/w/fixtures"), PathBuf::from("/s/tree/fixtures"));
        assert_eq!(t("pkg/data", "/usr/share/x"), PathBuf::from("/usr/share/x"));
        assert_eq!(t("data", "../outside"), PathBuf::from("/w/../outside"));
    }
}
