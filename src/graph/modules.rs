//! Python module naming: which dotted names a file answers to, and path-based lookups for
//! relative imports.
//!
//! A file answers to its full dotted path from the workspace root (`tests/app/models.py` →
//! `tests.app.models`) and, when some of its directories are packages, to the name counted
//! from its outermost enclosing package (`app.models` when only `app/` has an `__init__.py`).
//! That second name covers src-layouts (`src/pkg/mod.py` → `pkg.mod`) and test directories put
//! on `sys.path`. Directories without `__init__.py` (namespace packages) still resolve through the
//! full path. Relative imports resolve by directory, not by name.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::workspace::FileId;

/// Every dotted name import resolution knows a Python file by; `rel_path` is workspace-relative
/// and `/`-separated.
pub(crate) fn dotted_names(rel_path: &str, package_dirs: &FxHashSet<String>) -> Vec<String> {
    let Some(module) = ModulePath::new(rel_path, &|dir| package_dirs.contains(dir)) else {
        return Vec::new();
    };
    let parts = &module.parts;
    let mut names = vec![parts.join(".")];
    // Below the first directory that is not a package: the name with that directory on
    // `sys.path` (src layouts, Django's `tests/`, a script's own directory).
    if module.keep < parts.len() && module.keep > 0 {
        names.push(parts[parts.len() - module.keep..].join("."));
    }
    names
}

/// The one name a file is imported by, for people and for generated imports: the package-relative
/// name when the file is in a package below a plain directory (`src/pkg/mod.py` → `pkg.mod`,
/// Django's `tests/app/models.py` → `app.models`), the name below `src/` for a namespace package
/// there, else the dotted path. A script outside any package keeps its path (`scripts.tool`, not
/// `tool`): the directory says more than the bare name. `is_package` says whether a
/// workspace-relative directory holds an `__init__.py`.
pub fn import_name(rel_path: &str, is_package: &dyn Fn(&str) -> bool) -> Option<String> {
    let module = ModulePath::new(rel_path, is_package)?;
    let parts = &module.parts;
    let from = if module.packaged > 0 && module.keep < parts.len() {
        parts.len() - module.keep
    } else if parts.len() > 1 && parts[0] == "src" && !is_package("src") {
        1
    } else {
        0
    };
    Some(parts[from..].join("."))
}

/// A Python file's module path and how much of it is packages.
struct ModulePath<'a> {
    /// Path components without the extension, `__init__` dropped.
    parts: Vec<&'a str>,
    /// How many of the file's directories, from the innermost out, are packages.
    packaged: usize,
    /// How many trailing parts form the name relative to the first non-package directory.
    keep: usize,
}

impl<'a> ModulePath<'a> {
    fn new(rel_path: &'a str, is_package: &dyn Fn(&str) -> bool) -> Option<ModulePath<'a>> {
        let without_ext = rel_path.strip_suffix(".py").or_else(|| rel_path.strip_suffix(".pyi"))?;
        let mut parts: Vec<&str> = without_ext.split('/').collect();
        if parts.last() == Some(&"__init__") {
            parts.pop();
        }
        if parts.is_empty() {
            return None;
        }
        // Directories of the file, innermost first; count how many are packages from the inside.
        let dirs = rel_path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let dir_parts: Vec<&str> = if dirs.is_empty() { Vec::new() } else { dirs.split('/').collect() };
        let packaged = (0..dir_parts.len())
            .rev()
            .take_while(|&depth| is_package(&dir_parts[..=depth].join("/")))
            .count();
        let is_init = package_dir(rel_path).is_some();
        let keep = if is_init { packaged } else { packaged + 1 };
        Some(ModulePath { parts, packaged, keep })
    }
}

/// The directory that holds a package (`a/b/__init__.py` → `a/b`).
pub(crate) fn package_dir(rel_path: &str) -> Option<&str> {
    if rel_path == "__init__.py" || rel_path == "__init__.pyi" {
        return Some("");
    }
    rel_path.strip_suffix("/__init__.py").or_else(|| rel_path.strip_suffix("/__init__.pyi"))
}

/// Whether a workspace-relative path is test code (by the conventions pytest and unittest use).
pub fn is_test_path(rel_path: &str) -> bool {
    let file = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let dir_is_tests =
        rel_path.split('/').rev().skip(1).any(|d| d == "tests" || d == "test" || d == "testing");
    dir_is_tests
        || file.starts_with("test_")
        || file.ends_with("_test.py")
        || file == "conftest.py"
        || file == "tests.py"
}

/// Dotted names and module paths of all files, for import resolution.
#[derive(Clone, Default, Debug)]
pub(crate) struct ModuleIndex {
    by_name: FxHashMap<String, Vec<FileId>>,
    /// `a/b/c` (no extension) → the file `a/b/c.py` or `a/b/c/__init__.py`.
    by_path: FxHashMap<String, FileId>,
}

impl ModuleIndex {
    pub fn insert(&mut self, file: FileId, rel_path: &str, names: &[String]) {
        for name in names {
            let files = self.by_name.entry(name.clone()).or_default();
            if !files.contains(&file) {
                files.push(file);
                files.sort();
            }
        }
        if let Some(key) = path_key(rel_path) {
            self.by_path.insert(key, file);
        }
    }

    pub fn remove(&mut self, file: FileId, rel_path: &str, names: &[String]) {
        for name in names {
            if let Some(files) = self.by_name.get_mut(name) {
                files.retain(|&f| f != file);
                if files.is_empty() {
                    self.by_name.remove(name);
                }
            }
        }
        if let Some(key) = path_key(rel_path)
            && self.by_path.get(&key) == Some(&file)
        {
            self.by_path.remove(&key);
        }
    }

    pub fn by_name(&self, name: &str) -> &[FileId] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn by_path(&self, key: &str) -> Option<FileId> {
        self.by_path.get(key).copied()
    }
}

/// `a/b/c.py` and `a/b/c/__init__.py` both have the key `a/b/c`.
pub(crate) fn path_key(rel_path: &str) -> Option<String> {
    let stem = rel_path.strip_suffix(".py").or_else(|| rel_path.strip_suffix(".pyi"))?;
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    Some(if stem == "__init__" { String::new() } else { stem.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packages(dirs: &[&str]) -> FxHashSet<String> {
        dirs.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn names_cover_full_paths_src_layouts_and_test_dirs() {
        let pkgs = packages(&["src/pkg", "src/pkg/sub", "tests/app"]);
        assert_eq!(dotted_names("src/pkg/sub/mod.py", &pkgs), ["src.pkg.sub.mod", "pkg.sub.mod"]);
        assert_eq!(dotted_names("src/pkg/__init__.py", &pkgs), ["src.pkg", "pkg"]);
        assert_eq!(dotted_names("tests/app/models.py", &pkgs), ["tests.app.models", "app.models"]);
        assert_eq!(dotted_names("scripts/tool.py", &pkgs), ["scripts.tool", "tool"]);
        assert_eq!(dotted_names("setup.py", &pkgs), ["setup"]);
        let django = packages(&["django", "django/db"]);
        assert_eq!(dotted_names("django/db/models.py", &django), ["django.db.models"]);
    }

    #[test]
    fn the_import_name_drops_what_is_on_sys_path_but_keeps_a_script_directory() {
        let pkgs = packages(&["src/pkg", "src/pkg/sub", "tests/app", "lib"]);
        let name = |path| import_name(path, &|dir| pkgs.contains(dir));
        assert_eq!(name("src/pkg/sub/mod.py").as_deref(), Some("pkg.sub.mod"));
        assert_eq!(name("src/pkg/__init__.py").as_deref(), Some("pkg"));
        assert_eq!(name("src/pkg/__init__.pyi").as_deref(), Some("pkg"));
        assert_eq!(name("tests/app/models.py").as_deref(), Some("app.models"));
        assert_eq!(name("lib/util.py").as_deref(), Some("lib.util"));
        // A namespace package under src/ (no __init__.py anywhere).
        assert_eq!(name("src/nspkg/mod.py").as_deref(), Some("nspkg.mod"));
        assert_eq!(name("scripts/tool.py").as_deref(), Some("scripts.tool"));
        assert_eq!(name("setup.py").as_deref(), Some("setup"));
        assert_eq!(name("__init__.py"), None);
        assert_eq!(name("README.md"), None);
    }

    #[test]
    fn test_paths() {
        assert!(is_test_path("tests/app/models.py"));
        assert!(is_test_path("pkg/test_io.py"));
        assert!(is_test_path("conftest.py"));
        assert!(!is_test_path("pkg/latest.py"));
        assert!(!is_test_path("src/contest.py"));
    }
}
