//! The on-disk cache of file summaries, so that a warm start re-reads only what changed.
//!
//! One file per workspace under the user's cache directory (`$XDG_CACHE_HOME/repolens/…`,
//! never inside the repository unless configured): a header — magic, format version, a
//! fingerprint of everything that shapes summaries (repolens version, query sources) and when
//! it was saved — then every file's stamp (size, mtime, content hash) and summary, in postcard.
//! A file whose size and mtime match is reused without reading; one whose mtime is too close to
//! the save time to be trusted, or whose stamp differs, is read and hashed, and reused if the
//! content is the same. A cache that is corrupt or from another version is discarded and
//! rebuilt, with a log line, never an error the user sees. Saving writes a temporary file and
//! renames it, so a crash mid-save leaves the previous cache intact.

use std::{
    fs,
    io::{BufWriter, Write as _},
    path::{Path, PathBuf},
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::syntax::FileSummary;

const MAGIC: &[u8; 8] = b"RPLNSUM\0";
const FORMAT: u32 = 1;
/// An mtime this close to the save time may hide a later write within the clock's resolution.
const RACY_NS: u64 = 2_000_000_000;

/// What identifies a file's content version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: u64,
    /// xxh3 of the content.
    pub hash: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no cache yet")]
    Missing,
    #[error("cache is from another version or configuration")]
    Stale,
    #[error("cache is corrupt: {0}")]
    Corrupt(String),
    #[error("cache I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Serialize)]
struct EntryRef<'a> {
    path: &'a Path,
    stamp: FileStamp,
    summary: &'a FileSummary,
}

#[derive(Deserialize)]
struct Entry {
    path: PathBuf,
    stamp: FileStamp,
    summary: FileSummary,
}

/// Where a workspace's cache lives.
#[derive(Clone, Debug)]
pub struct IndexCache {
    file: PathBuf,
}

/// A loaded cache, for lookups during a scan.
#[derive(Default)]
pub struct CachedIndex {
    entries: FxHashMap<PathBuf, (FileStamp, Arc<FileSummary>)>,
    saved_at_ns: u64,
}

/// What the cache knows about a file, given its current metadata.
pub enum CacheLookup {
    /// Same size and trustworthy mtime: reuse without reading.
    Fresh(FileStamp, Arc<FileSummary>),
    /// Read and hash the file; reuse the summary if the hash is this.
    Verify(u64, Arc<FileSummary>),
    Miss,
}

impl IndexCache {
    /// The cache for these roots: in `configured` if given, else under the user's cache directory.
    /// `None` when there is nowhere to put it.
    pub fn locate(roots: &[PathBuf], configured: Option<&Path>) -> Option<IndexCache> {
        let base = match configured {
            Some(dir) => dir.to_path_buf(),
            None => dirs::cache_dir()?.join("repolens"),
        };
        let key: String = roots.iter().map(|r| r.to_string_lossy()).collect::<Vec<_>>().join("\n");
        let name = roots
            .first()
            .and_then(|r| r.file_name())
            .map(|n| {
                n.to_string_lossy()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                    .collect()
            })
            .unwrap_or_else(|| "workspace".to_owned());
        let dir = base.join(format!("{name}-{:016x}", xxhash_rust::xxh3::xxh3_64(key.as_bytes())));
        Some(IndexCache { file: dir.join("summaries.bin") })
    }

    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The workspace's cache directory, for other cached artefacts (the search index).
    pub fn dir(&self) -> &Path {
        self.file.parent().expect("cache file has a directory")
    }

    pub fn load(&self, fingerprint: u64) -> Result<CachedIndex, CacheError> {
        let (entries, saved_at_ns): (Vec<Entry>, u64) = read_blob(&self.file, fingerprint)?;
        Ok(CachedIndex {
            entries: entries.into_iter().map(|e| (e.path, (e.stamp, Arc::new(e.summary)))).collect(),
            saved_at_ns,
        })
    }

    /// Writes the cache atomically (temporary file, then rename).
    pub fn save(
        &self,
        fingerprint: u64,
        files: &[(PathBuf, FileStamp, Arc<FileSummary>)],
    ) -> Result<(), CacheError> {
        let entries: Vec<EntryRef<'_>> =
            files.iter().map(|(path, stamp, summary)| EntryRef { path, stamp: *stamp, summary }).collect();
        write_blob(&self.file, fingerprint, &entries, DiskSync::Wait)
    }

    /// Another cached artefact of this workspace (e.g. git history facts), in the same format.
    pub fn load_extra<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        fingerprint: u64,
    ) -> Result<T, CacheError> {
        read_blob(&self.extra_path(name), fingerprint).map(|(value, _)| value)
    }

    pub fn save_extra<T: Serialize>(
        &self,
        name: &str,
        fingerprint: u64,
        value: &T,
        sync: DiskSync,
    ) -> Result<(), CacheError> {
        write_blob(&self.extra_path(name), fingerprint, value, sync)
    }

    fn extra_path(&self, name: &str) -> PathBuf {
        self.file.with_file_name(format!("{name}.bin"))
    }
}

/// Reads a cache file: header (magic, format, fingerprint, save time), then a postcard payload.
fn read_blob<T: serde::de::DeserializeOwned>(file: &Path, fingerprint: u64) -> Result<(T, u64), CacheError> {
    let bytes = match fs::read(file) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(CacheError::Missing),
        Err(err) => return Err(err.into()),
    };
    let header_len = MAGIC.len() + 4 + 8 + 8;
    if bytes.len() < header_len || &bytes[..8] != MAGIC {
        return Err(CacheError::Corrupt("bad header".into()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    if u32_at(8) != FORMAT || u64_at(12) != fingerprint {
        return Err(CacheError::Stale);
    }
    let value =
        postcard::from_bytes(&bytes[header_len..]).map_err(|err| CacheError::Corrupt(err.to_string()))?;
    Ok((value, u64_at(20)))
}

/// Whether a save waits for the file to reach the disk before renaming it into place. Either
/// way the file is replaced atomically, so a crashed process leaves the old or the new version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskSync {
    Wait,
    /// For an artefact saved on every edit, where an fsync would put the disk's latency
    /// (milliseconds on a busy one) into the edit's. After an OS crash the file may be torn,
    /// which the next load reports as corrupt, and the caller rebuilds what it describes.
    Skip,
}

/// Writes a cache file atomically: a temporary file in the same directory, then a rename, so a
/// crash mid-save leaves the previous version intact.
fn write_blob<T: Serialize>(
    file: &Path,
    fingerprint: u64,
    value: &T,
    sync: DiskSync,
) -> Result<(), CacheError> {
    let dir = file.parent().expect("cache file has a directory");
    fs::create_dir_all(dir)?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| -> Result<(), CacheError> {
        let mut out = BufWriter::new(fs::File::create(&tmp)?);
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT.to_le_bytes())?;
        out.write_all(&fingerprint.to_le_bytes())?;
        out.write_all(&now_ns().to_le_bytes())?;
        let out = postcard::to_io(value, out).map_err(|err| CacheError::Corrupt(err.to_string()))?;
        let out = out.into_inner().map_err(|err| err.into_error())?;
        if sync == DiskSync::Wait {
            out.sync_all()?;
        }
        fs::rename(&tmp, file)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

impl CachedIndex {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn lookup(&self, path: &Path, size: u64, mtime_ns: u64) -> CacheLookup {
        let Some((stamp, summary)) = self.entries.get(path) else { return CacheLookup::Miss };
        let trusted = mtime_ns.saturating_add(RACY_NS) < self.saved_at_ns;
        if stamp.size == size && stamp.mtime_ns == mtime_ns && trusted {
            CacheLookup::Fresh(*stamp, summary.clone())
        } else {
            CacheLookup::Verify(stamp.hash, summary.clone())
        }
    }
}

pub fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Size and modification time of a file, as the cache compares them.
pub fn stat(path: &Path) -> Option<(u64, u64)> {
    let meta = fs::metadata(path).ok()?;
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos() as u64;
    Some((meta.len(), mtime))
}

pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}
