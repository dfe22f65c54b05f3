//! The one place that writes the user's files: applying an accepted fix from the command line
//! (`repolens fix --apply`). The editor path never comes here — it goes through
//! `workspace/applyEdit`, so that the editor's undo works.

use std::{io::Write as _, os::unix::fs::PermissionsExt as _, path::Path};

/// Why a write was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{} changed since it was read; not overwriting it", path.display())]
    Changed { path: std::path::PathBuf },
    #[error("writing {}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Replaces `path`'s content with `after` if it is still `before` (`None`: it must not exist).
/// The new content is written to a temporary file next to it and renamed over it, keeping the
/// file's permissions, so a crash leaves the old or the new file, never half of one.
pub fn write_if_unchanged(path: &Path, before: Option<&str>, after: &str) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: path.to_path_buf(), source };
    let current = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    if current.as_deref() != before.map(str::as_bytes) {
        return Err(WriteError::Changed { path: path.to_path_buf() });
    }
    let dir = path.parent().ok_or_else(|| io(std::io::Error::other("no parent directory")))?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.repolens-{}.tmp", std::process::id()));
    let res = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(after.as_bytes())?;
        file.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(meta.permissions().mode()))?;
        }
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(io)
}
