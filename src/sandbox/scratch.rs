//! Scratch copies of the workspace, one per candidate, that the user's tree never sees.
//!
//! Two layouts. Where the kernel allows it (see `overlay.rs`), a scratch copy is an **overlay**:
//! nothing is copied; the overlays are written to `upper/`, and each test run mounts the
//! workspace with `upper/` on top, on the workspace's own path, in namespaces only the run sees.
//! Elsewhere it is a **copy** in `tree/`, made as described below. Both live in a scratch
//! directory outside the workspace, removed when the [`Scratch`] drops:
//!
//! ```text
//! repolens-scratch-<pid>-<n>/
//!   upper/ work/ overlay layout: the overlays and what runs write; overlayfs's work directory
//!   tree/        copy layout: the copy, the test command's working directory
//!   home/        $HOME of test runs
//!   tmp/         $TMPDIR of test runs
//!   pytest.ini   copy layout: empty, stops pytest's search for a configuration above the copy
//!   junit-<n>.xml
//! ```
//!
//! A copy holds what `workspace::list_tree` lists. Directories are created, never linked. A
//! file is hard-linked to the user's file (one syscall, no data copied) unless it is ignored
//! and at most [`LINK_IGNORED_ABOVE`] bytes — ignored files (databases, logs, local settings)
//! are what a test run tends to write, so they get real copies — or linking fails (another
//! filesystem, a filesystem without hard links, a file we may not link): then it is copied.
//! Symlinks are recreated; one pointing into the workspace is pointed at the copy, one pointing
//! outside keeps pointing there.
//!
//! Overlays (unsaved buffers, candidate edits) are written as new files: in a copy, the link at
//! that path is removed first and the file created with `O_EXCL`, so an overlay can never be
//! written through a hard link into the user's file. An overlay path that leaves the workspace —
//! absolute outside it, `..` climbing out, or a symlink on the way pointing outside — is
//! rejected with [`SandboxError::EscapesWorkspace`].
//!
//! What links cannot prevent: a test that opens an existing, linked file for writing in place
//! writes the user's file. [`Scratch::linked_files_modified_since`] finds such writes after a run
//! (one stat per linked file), and every [`super::TestRun`] reports them. Overlays prevent it.

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

use super::{SandboxError, SandboxOptions, overlay::OverlayMount, process::NetworkIsolation};
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
    /// An overlay (nothing copied) rather than a copy.
    pub overlay: bool,
    pub dirs: usize,
    pub linked: usize,
    pub copied: usize,
    pub symlinks: usize,
    pub overlays: usize,
    pub excluded_dirs: usize,
    /// Making the scratch copy, listing the tree included when it was listed here.
    pub elapsed: Duration,
}

/// A scratch copy of the workspace. Dropping it removes the copy.
#[derive(Debug)]
pub struct Scratch {
    dir: DirGuard,
    /// Where tests run: the copy, or (for an overlay) the workspace's own path.
    tree: PathBuf,
    user_root: PathBuf,
    layout: Layout,
    stats: ScratchStats,
    runs: AtomicU32,
}

#[derive(Debug)]
enum Layout {
    /// Files (relative) that share their inode with the user's file.
    Copy {
        linked: Vec<PathBuf>,
    },
    Overlay {
        upper: PathBuf,
        work: PathBuf,
        mount: OverlayMount,
    },
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
        let root =
            root.canonicalize().map_err(|e| SandboxError::io(format!("resolving {}", root.display()), e))?;
        let mut scratch = match overlay_mount(&root, options) {
            Some(mount) => Scratch::overlay(&root, overlays, options, mount)?,
            None => Scratch::copy(&list(&root, options)?, overlays, options)?,
        };
        scratch.stats.elapsed = started.elapsed();
        Ok(scratch)
    }

    /// Makes the scratch copy given a listing of the tree (callers that list it anyway).
    pub(crate) fn from_listing(
        listing: &TreeListing,
        overlays: &[Overlay],
        options: &SandboxOptions,
    ) -> Result<Scratch, SandboxError> {
        match overlay_mount(&listing.root, options) {
            Some(mount) => Scratch::overlay(&listing.root, overlays, options, mount),
            None => Scratch::copy(listing, overlays, options),
        }
    }

    fn overlay(
        user_root: &Path,
        overlays: &[Overlay],
        options: &SandboxOptions,
        mount: OverlayMount,
    ) -> Result<Scratch, SandboxError> {
        let started = Instant::now();
        let overlays = relative_overlays(user_root, overlays)?;
        let dir = DirGuard::create(user_root, options.scratch_parent.as_deref())?;
        let (upper, work) = (dir.0.join("upper"), dir.0.join("work"));
        for sub in [&upper, &work, &dir.0.join("home"), &dir.0.join("tmp")] {
            fs::create_dir(sub).map_err(|e| SandboxError::io(format!("creating {}", sub.display()), e))?;
        }
        for (rel, text) in &overlays {
            // Symlinks are those of the user's tree, which the run will see.
            let rel = resolve_inside(user_root, rel)?;
            write_upper_overlay(user_root, &upper, &rel, text)?;
        }
        let stats = ScratchStats {
            overlay: true,
            overlays: overlays.len(),
            elapsed: started.elapsed(),
            ..ScratchStats::default()
        };
        Ok(Scratch {
            dir,
            tree: user_root.to_path_buf(),
            user_root: user_root.to_path_buf(),
            layout: Layout::Overlay { upper, work, mount },
            stats,
            runs: AtomicU32::new(0),
        })
    }

    fn copy(
        listing: &TreeListing,
        overlays: &[Overlay],
        options: &SandboxOptions,
    ) -> Result<Scratch, SandboxError> {
        let started = Instant::now();
        let cancelled = || options.cancel.is_cancelled();
        let user_root = listing.root.clone();
        // Check every overlay path before doing any work.
        let overlays = relative_overlays(&user_root, overlays)?;
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
            let rel = resolve_inside(&tree, rel)?;
            write_copy_overlay(&tree, &rel, text)?;
        }
        stats.overlays = overlays.len();
        stats.elapsed = started.elapsed();
        Ok(Scratch { dir, tree, user_root, layout: Layout::Copy { linked }, stats, runs: AtomicU32::new(0) })
    }

    /// Where tests run: the copy, or for an overlay the workspace's own path (which shows the
    /// overlay only inside a run).
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

    /// An overlay (see the module doc) rather than a copy.
    pub fn is_overlay(&self) -> bool {
        matches!(self.layout, Layout::Overlay { .. })
    }

    /// Linked files (relative) whose content changed at or after `since` — a test wrote them in
    /// place, which also wrote the user's file — or that the user edited meanwhile. Always empty
    /// for an overlay, which links nothing.
    pub fn linked_files_modified_since(&self, since: SystemTime) -> Vec<PathBuf> {
        let Layout::Copy { linked } = &self.layout else { return Vec::new() };
        let mut out: Vec<PathBuf> = linked
            .par_iter()
            .filter(|rel| {
                fs::symlink_metadata(self.tree.join(rel)).and_then(|m| m.modified()).is_ok_and(|t| t >= since)
            })
            .cloned()
            .collect();
        out.sort();
        out
    }

    /// What goes before a command run in this scratch copy, and whether it cuts the network.
    pub(crate) fn run_prefix(&self, network: &NetworkIsolation) -> (Vec<std::ffi::OsString>, bool) {
        match &self.layout {
            Layout::Overlay { upper, work, mount } => (mount.prefix(&self.user_root, upper, work), mount.net),
            Layout::Copy { .. } => (network.prefix(), network.is_available()),
        }
    }

    /// Whether a run sees a directory at `rel` (for an overlay: in the overlays or the tree).
    pub(crate) fn has_dir(&self, rel: &str) -> bool {
        match &self.layout {
            Layout::Overlay { upper, .. } => upper.join(rel).is_dir() || self.user_root.join(rel).is_dir(),
            Layout::Copy { .. } => self.tree.join(rel).is_dir(),
        }
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

/// `rel` with every symlink on the way resolved, as a path relative to `base`; symlinks are
/// followed only while they stay inside `base`. Components that do not exist are kept as they
/// are (an overlay may create files and directories).
fn resolve_inside(base: &Path, rel: &Path) -> Result<PathBuf, SandboxError> {
    let escapes = || SandboxError::EscapesWorkspace { path: rel.to_path_buf() };
    let mut out = PathBuf::new();
    let mut exists = true;
    for comp in rel.components() {
        out.push(comp);
        if !exists {
            continue;
        }
        let path = base.join(&out);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let real = path.canonicalize().map_err(|e| {
                    // A dangling link may still point inside; say which it is.
                    let target = fs::read_link(&path).unwrap_or_default();
                    let lexical = path.parent().unwrap_or(base).join(target);
                    match lexical.strip_prefix(base).ok().and_then(normalize_relative) {
                        Some(_) => SandboxError::io(
                            format!("overlay through the dangling symlink {}", path.display()),
                            e,
                        ),
                        None => escapes(),
                    }
                })?;
                out = real.strip_prefix(base).map_err(|_| escapes())?.to_path_buf();
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => exists = false,
            Err(e) => {
                return Err(SandboxError::io(format!("resolving the overlay path {}", path.display()), e));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(escapes());
    }
    Ok(out)
}

/// The mode an overlay file gets: that of the file it replaces, or 0644.
fn overlay_mode(replaced: &Path) -> Result<u32, SandboxError> {
    match fs::metadata(replaced) {
        Ok(meta) if meta.is_dir() => {
            let err = std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory");
            Err(SandboxError::io(format!("writing an overlay to {}", replaced.display()), err))
        }
        Ok(meta) => Ok(meta.permissions().mode() & 0o7777),
        Err(_) => Ok(0o644),
    }
}

/// Writes one overlay into a copy as a new file (`rel` already resolved).
fn write_copy_overlay(tree: &Path, rel: &Path, text: &str) -> Result<(), SandboxError> {
    let io = |what: &str, path: &Path, e| SandboxError::io(format!("{what} {}", path.display()), e);
    let target = tree.join(rel);
    let mode = overlay_mode(&target)?;
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
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
        .mode(mode)
        .open(&target)
        .map_err(|e| io("writing", &target, e))?;
    file.write_all(text.as_bytes()).map_err(|e| io("writing", &target, e))
}

/// Writes one overlay into an overlay's upper layer (`rel` already resolved in the user's tree).
fn write_upper_overlay(user_root: &Path, upper: &Path, rel: &Path, text: &str) -> Result<(), SandboxError> {
    let io = |what: &str, path: &Path, e| SandboxError::io(format!("{what} {}", path.display()), e);
    let mode = overlay_mode(&user_root.join(rel))?;
    let target = upper.join(rel);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
    }
    // The upper layer is ours alone: nothing in it is linked to the user's files.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&target)
        .map_err(|e| io("writing", &target, e))?;
    file.write_all(text.as_bytes()).map_err(|e| io("writing", &target, e))
}

fn relative_overlays<'a>(
    user_root: &Path,
    overlays: &'a [Overlay],
) -> Result<Vec<(PathBuf, &'a str)>, SandboxError> {
    overlays.iter().map(|o| Ok((workspace_relative(user_root, &o.path)?, o.text.as_str()))).collect()
}

fn list(root: &Path, options: &SandboxOptions) -> Result<TreeListing, SandboxError> {
    list_tree(root, options.cancel.flag()).map_err(|err| match err {
        TreeError::Cancelled => SandboxError::Cancelled,
        TreeError::Io { path, source } => SandboxError::io(format!("listing {}", path.display()), source),
    })
}

/// The overlay mount to use for `root`, if the options allow one and the kernel does.
fn overlay_mount(root: &Path, options: &SandboxOptions) -> Option<OverlayMount> {
    if !options.overlay_fs {
        return None;
    }
    let parent = options.scratch_parent.clone().unwrap_or_else(std::env::temp_dir);
    fs::create_dir_all(&parent).ok()?;
    let parent = parent.canonicalize().ok()?;
    if parent.starts_with(root) {
        // Refused below, with a clear error, whichever layout.
        return None;
    }
    OverlayMount::detect(root, &parent, &options.network())
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
