//! File identities: every path the server talks about gets a small, stable [`FileId`].

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// Where a file lives: on disk, or only in the editor (`untitled:` and other non-file URIs).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VfsPath {
    Disk(PathBuf),
    Virtual(String),
}

impl VfsPath {
    pub fn as_disk(&self) -> Option<&Path> {
        match self {
            VfsPath::Disk(path) => Some(path),
            VfsPath::Virtual(_) => None,
        }
    }
}

/// The interner. Ids are never reused, so a snapshot holding an id can always resolve it.
#[derive(Default, Debug)]
pub struct Vfs {
    paths: Vec<VfsPath>,
    ids: FxHashMap<VfsPath, FileId>,
}

impl Vfs {
    pub fn intern(&mut self, path: VfsPath) -> FileId {
        if let Some(&id) = self.ids.get(&path) {
            return id;
        }
        let id = FileId(self.paths.len() as u32);
        self.paths.push(path.clone());
        self.ids.insert(path, id);
        id
    }

    pub fn file_id(&self, path: &VfsPath) -> Option<FileId> {
        self.ids.get(path).copied()
    }

    pub fn path(&self, id: FileId) -> &VfsPath {
        &self.paths[id.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}
