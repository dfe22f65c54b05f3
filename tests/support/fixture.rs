//! Fixture workspaces from a small text format, after rust-analyzer's:
//!
//! ```text
//! //- /pkg/__init__.py
//! from .models import Model
//! //- /pkg/models.py
//! class Model: ...
//! ```
//!
//! Each `//- /path` line starts a file. A `$0` in the text marks the cursor; it is removed from
//! the file and its byte offset recorded.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    /// (path relative to the root, byte offset) of the `$0` marker, if any.
    pub cursor: Option<(PathBuf, usize)>,
}

impl Fixture {
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative.trim_start_matches('/'))
    }

    pub fn uri(&self, relative: &str) -> String {
        url::Url::from_file_path(self.path(relative)).unwrap().to_string()
    }

    pub fn root_uri(&self) -> String {
        url::Url::from_file_path(self.root()).unwrap().to_string()
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }
}

/// Writes the files of a fixture into a fresh temporary directory.
pub fn write_fixture(text: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut cursor = None;
    let mut current: Option<(PathBuf, String)> = None;
    let flush = |file: Option<(PathBuf, String)>, cursor: &mut Option<(PathBuf, usize)>| {
        if let Some((path, mut body)) = file {
            if let Some(offset) = body.find("$0") {
                body.replace_range(offset..offset + 2, "");
                *cursor = Some((path.clone(), offset));
            }
            let full = dir.path().join(&path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, body).unwrap();
        }
    };
    for line in text.lines() {
        if let Some(path) = line.trim_start().strip_prefix("//- /") {
            flush(current.take(), &mut cursor);
            current = Some((PathBuf::from(path.trim()), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    flush(current.take(), &mut cursor);
    Fixture { dir, cursor }
}

impl Fixture {
    /// Makes the fixture a git repository (if it is not one yet) and commits everything in it,
    /// with the real `git` CLI, a fixed identity and date, and no user or system config.
    /// Returns the new HEAD.
    pub fn commit_all(&self, message: &str) -> String {
        if !self.path(".git").exists() {
            self.git(&["init", "-q", "-b", "main"]);
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let mut cmd = std::process::Command::new("git");
        cmd.current_dir(self.root())
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.root())
            .env("GIT_TERMINAL_PROMPT", "0");
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("GIT_") && !k.starts_with("GIT_CONFIG")) {
                cmd.env_remove(key);
            }
        }
        let date = "@1704067200 +0000";
        cmd.env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date);
        let out = cmd.output().expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Every file and directory under `root` but `.git` (git may refresh its own index), with the
/// file's bytes: equal snapshots mean the user's tree was not touched.
pub fn tree_bytes(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new(".git") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
                out.insert(rel, Vec::new());
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}
