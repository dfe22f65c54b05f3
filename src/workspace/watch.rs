//! Watching the workspace for changes on disk when the editor cannot tell us (clients without
//! dynamic registration of `workspace/didChangeWatchedFiles`).
//!
//! A recursive `notify` watcher per root; events are filtered to source files that discovery
//! would index (not inside hidden directories, not matched by the root's `.gitignore`) and
//! handed to a callback, which the server turns into re-indexing on its worker threads.

use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher as _};

use crate::syntax::LanguageId;

/// What happened to a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskChange {
    /// Created or modified: read it again.
    Changed,
    Deleted,
}

/// Keeps the watcher alive; dropping it stops watching.
pub struct DiskWatcher {
    _watcher: notify::RecommendedWatcher,
}

impl DiskWatcher {
    pub fn start(
        roots: &[PathBuf],
        on_change: impl Fn(Vec<(PathBuf, DiskChange)>) + Send + 'static,
    ) -> anyhow::Result<DiskWatcher> {
        let load = |root: &Path| ignore::gitignore::Gitignore::new(root.join(".gitignore")).0;
        let mut ignores: Vec<ignore::gitignore::Gitignore> = roots.iter().map(|root| load(root)).collect();
        let roots_owned = roots.to_vec();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            // A changed `.gitignore` at a root changes what is indexable from now on.
            for (i, root) in roots_owned.iter().enumerate() {
                if event.paths.iter().any(|p| p == &root.join(".gitignore")) {
                    ignores[i] = load(root);
                }
            }
            let change = match event.kind {
                notify::EventKind::Remove(_) => DiskChange::Deleted,
                notify::EventKind::Create(_) | notify::EventKind::Modify(_) => DiskChange::Changed,
                _ => return,
            };
            // Files written into a directory right after it is created can land before the
            // watcher watches it: look inside new directories ourselves.
            let mut paths = event.paths;
            if change == DiskChange::Changed {
                let new_dirs: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
                for dir in new_dirs {
                    let walk = ignore::WalkBuilder::new(&dir).hidden(true).require_git(false).build();
                    paths.extend(
                        walk.filter_map(Result::ok)
                            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
                            .map(|e| e.into_path()),
                    );
                }
            }
            let changes: Vec<(PathBuf, DiskChange)> = paths
                .into_iter()
                .filter(|path| is_indexable(path, &roots_owned, &ignores))
                .map(|path| {
                    // A rename reports the old name as modified; what matters is whether it is there.
                    let change = if change == DiskChange::Changed && !path.exists() {
                        DiskChange::Deleted
                    } else {
                        change
                    };
                    (path, change)
                })
                .collect();
            if !changes.is_empty() {
                on_change(changes);
            }
        })?;
        for root in roots {
            watcher.watch(root, RecursiveMode::Recursive)?;
        }
        Ok(DiskWatcher { _watcher: watcher })
    }
}

fn is_indexable(path: &Path, roots: &[PathBuf], ignores: &[ignore::gitignore::Gitignore]) -> bool {
    if LanguageId::from_path(path).is_none() {
        return false;
    }
    roots.iter().zip(ignores).any(|(root, ignore)| {
        let Ok(relative) = path.strip_prefix(root) else { return false };
        let hidden = relative.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        !hidden && !ignore.matched_path_or_any_parents(relative, false).is_ignore()
    })
}
