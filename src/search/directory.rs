//! The on-disk directory of a persisted index: tantivy's `MmapDirectory` without the fsyncs, and
//! with small writes persisted behind the commit instead of inside it.
//!
//! The index is a cache that can always be rebuilt from the workspace, so its commits need to be
//! atomic and visible, not durable across power loss. tantivy's `MmapDirectory` fsyncs every
//! file of a new segment, the `meta.json` it renames into place and the directory itself: about
//! ten fsyncs per commit, which measured ~110 ms (p50) for a one-file edit on a Django-sized
//! index, against ~5 ms in memory. This directory never fsyncs.
//!
//! It also keeps the commit of an edit off the disk altogether. A small file (a one-edit
//! segment's files, `meta.json`, `managed.json`) is kept in memory when it is written and
//! becomes readable at once; a persister thread writes it out afterwards. An edit's commit writes
//! about a dozen files, and while other tenants loaded the disk (I/O pressure ~10%) its
//! `prepare_commit` stalled for 20–70 ms at times and the manifest save after it for ~30 ms.
//! Files that outgrow [`SPILL_BYTES`] while being written (a bulk build's segments, merges) go
//! straight to disk, so memory holds only small files and only until they are written.
//!
//! A commit does not look the disk up either. Under a `dd … conv=fsync` loop, `strace` showed
//! the existence check of each new segment file name (a `statx` that finds nothing) waiting
//! 40–220 ms, as long as the persister's concurrent `rename`. So the directory lists its files
//! once when opened and keeps the list as it writes and deletes.
//!
//! The persister applies writes, renames and deletes in the order tantivy made them, so the disk
//! always holds some earlier commit in full: a segment file lands before the `meta.json` that
//! names it. Work queued with [`CacheDirectory::after_pending_writes`] runs in the same order,
//! which is how the search manifest stays no newer than the index on disk. A process that dies
//! with writes still queued loses only the latest commits, which the next start re-indexes. If a
//! write fails (a full disk), later `meta.json` writes, deletes and queued work are skipped, so
//! the disk keeps the last complete commit and every file it names; the index keeps working from
//! memory. An OS crash may leave a torn segment, which the checksum validation in
//! `SearchIndex::open_or_create` detects, so the caller rebuilds.

use std::{
    collections::VecDeque,
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    sync::{
        Arc, Condvar, Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering},
    },
};

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::{
    Directory,
    directory::{
        AntiCallToken, DirectoryLock, FileHandle, INDEX_WRITER_LOCK, Lock, META_LOCK, MmapDirectory,
        OwnedBytes, TerminatingWrite, WatchCallback, WatchHandle, WritePtr,
        error::{DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError},
    },
};

/// A file being written that grows past this goes to disk as it is written rather than being
/// kept in memory until persisted. An edit's segment files are a few kilobytes each.
pub(crate) const SPILL_BYTES: usize = 1 << 20;

/// Work to run once everything written before it is on disk.
type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub(crate) struct CacheDirectory {
    inner: MmapDirectory,
    root: PathBuf,
    behind: Arc<WriteBehind>,
    meta_lock: Arc<MetaLock>,
}

impl std::fmt::Debug for CacheDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheDirectory").field("root", &self.root).finish_non_exhaustive()
    }
}

/// What the persister shares with the directory's clones.
#[derive(Default)]
struct WriteBehind {
    state: Mutex<Pending>,
    /// Signalled when work is queued or the persister should stop.
    work: Condvar,
    /// Signalled when the queue empties.
    drained: Condvar,
}

#[derive(Default)]
struct Pending {
    /// The newest state of each file that the disk does not show yet.
    files: FxHashMap<PathBuf, (u64, Entry)>,
    queue: VecDeque<(u64, Op)>,
    /// The files on disk, as listed when the directory was opened and kept since: what says
    /// whether a name is taken, without a lookup that may wait behind the persister's renames.
    on_disk: FxHashSet<PathBuf>,
    /// Sequence number of the last queued operation.
    seq: u64,
    /// A write failed: the disk must not move on to a commit that needs it.
    failed: bool,
    /// The persister thread is running.
    running: bool,
    stopping: bool,
}

#[derive(Clone)]
enum Entry {
    /// Opened for writing, not yet complete.
    Writing,
    Written(OwnedBytes),
    Deleted,
}

/// One change to the disk. Writes carry their own bytes, not their path's newest: each commit's
/// `meta.json` must reach the disk as that commit wrote it, since a newer one may name segment
/// files still queued behind it.
enum Op {
    Write(PathBuf, OwnedBytes),
    Replace(PathBuf, OwnedBytes),
    Delete(PathBuf),
    Run(Job),
}

impl Op {
    fn path(&self) -> Option<&Path> {
        match self {
            Op::Write(path, _) | Op::Replace(path, _) | Op::Delete(path) => Some(path),
            Op::Run(_) => None,
        }
    }

    /// What reads see of the path until the operation is on disk.
    fn entry(&self) -> Option<Entry> {
        match self {
            Op::Write(_, bytes) | Op::Replace(_, bytes) => Some(Entry::Written(bytes.clone())),
            Op::Delete(_) => Some(Entry::Deleted),
            Op::Run(_) => None,
        }
    }

    /// Whether the path names a file on disk once the operation is applied.
    fn leaves_file(&self) -> bool {
        !matches!(self, Op::Delete(_))
    }

    /// After a failed write, the disk stays at its last complete commit: no newer `meta.json`,
    /// none of the files that commit names deleted, and no work that says the disk is current.
    fn held_back_after_failure(&self) -> bool {
        match self {
            Op::Replace(path, _) => path.as_path() == Path::new("meta.json"),
            Op::Delete(_) | Op::Run(_) => true,
            Op::Write(..) => false,
        }
    }
}

/// Applies one operation to the disk under `root`. Deletes hold the lock file, so that a
/// reader in another process never loses a file between reading `meta.json` and opening it.
fn apply(root: &Path, meta_lock: &MetaLock, op: Op) -> io::Result<()> {
    match op {
        Op::Write(path, bytes) => create_new(&root.join(path))?.write_all(&bytes),
        Op::Replace(path, bytes) => replace(&root.join(path), &bytes),
        Op::Delete(path) => {
            // Where file locks are unsupported, readers elsewhere cannot take the lock either;
            // deleting anyway beats keeping every later commit off the disk.
            let locked = meta_lock.deletes_file.lock().is_ok();
            let removed = std::fs::remove_file(root.join(path));
            if locked {
                let _ = meta_lock.deletes_file.unlock();
            }
            match removed {
                Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            }
        }
        Op::Run(job) => {
            job();
            Ok(())
        }
    }
}

impl WriteBehind {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Pending {
    /// Whether `path` exists as this process sees it: its pending state, else the listing.
    fn holds(&self, path: &Path) -> bool {
        match self.files.get(path) {
            Some((_, entry)) => !matches!(entry, Entry::Deleted),
            None => self.on_disk.contains(path),
        }
    }

    /// The operation that last changed `path` is on disk: `exists` says whether it left a file.
    fn settled(&mut self, path: PathBuf, exists: bool) {
        if exists {
            self.on_disk.insert(path);
        } else {
            self.on_disk.remove(&path);
        }
    }
}

/// tantivy's `META_LOCK`, which keeps garbage collection from deleting the files of a reader
/// that is still opening them. tantivy deletes under it; here the persister deletes later, after
/// garbage collection let go of it, so the lock must cover the persister's deletes instead.
///
/// Within the process it is a flag: garbage collection decides what to delete under it, and
/// readers here see a deleted file gone at once, whatever the disk shows. Across processes,
/// what must not meet is the persister deleting files from disk and a reader in another process
/// opening them, so those two take a file lock on the lock file, each through a descriptor
/// opened once (file locks exclude each other only between descriptors opened separately; and
/// the file's name is not looked up again). Only the process holding the index writer deletes,
/// so its own readers skip the file lock, which would make a reader reload wait behind the
/// persister's deletes on a slow disk.
struct MetaLock {
    held: Mutex<bool>,
    released: Condvar,
    /// Index writers held by this process (tantivy allows one; an old one may still be
    /// dropping while a new one is taken).
    writers: AtomicUsize,
    readers_file: File,
    deletes_file: File,
}

impl MetaLock {
    fn open(root: &Path) -> io::Result<MetaLock> {
        let open = || {
            OpenOptions::new().create(true).truncate(false).write(true).open(root.join(&META_LOCK.filepath))
        };
        Ok(MetaLock {
            held: Mutex::new(false),
            released: Condvar::new(),
            writers: AtomicUsize::new(0),
            readers_file: open()?,
            deletes_file: open()?,
        })
    }

    fn acquire(self: &Arc<Self>) -> io::Result<MetaLockGuard> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        while *held {
            held = self.released.wait(held).unwrap_or_else(|e| e.into_inner());
        }
        let file_locked = self.writers.load(Ordering::Acquire) == 0;
        if file_locked {
            self.readers_file.lock()?;
        }
        *held = true;
        Ok(MetaLockGuard { lock: self.clone(), file_locked })
    }
}

struct MetaLockGuard {
    lock: Arc<MetaLock>,
    file_locked: bool,
}

impl Drop for MetaLockGuard {
    fn drop(&mut self) {
        if self.file_locked {
            let _ = self.lock.readers_file.unlock();
        }
        *self.lock.held.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.lock.released.notify_one();
    }
}

/// The index writer's lock, counted in [`MetaLock::writers`] while held.
struct WriterLockGuard {
    _file: DirectoryLock,
    meta_lock: Arc<MetaLock>,
}

impl Drop for WriterLockGuard {
    fn drop(&mut self) {
        self.meta_lock.writers.fetch_sub(1, Ordering::Release);
    }
}

impl CacheDirectory {
    pub(crate) fn open(root: &Path) -> Result<CacheDirectory, OpenDirectoryError> {
        let inner = MmapDirectory::open(root)?;
        let io_error = |err| OpenDirectoryError::wrap_io_error(err, root.to_path_buf());
        let mut on_disk = FxHashSet::default();
        for entry in std::fs::read_dir(root).map_err(io_error)? {
            on_disk.insert(PathBuf::from(entry.map_err(io_error)?.file_name()));
        }
        let behind = WriteBehind {
            state: Mutex::new(Pending { on_disk, ..Pending::default() }),
            ..WriteBehind::default()
        };
        Ok(CacheDirectory {
            inner,
            root: root.to_path_buf(),
            behind: Arc::new(behind),
            meta_lock: Arc::new(MetaLock::open(root).map_err(io_error)?),
        })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Runs `job` on the persister once everything written so far is on disk; skipped if a
    /// write failed. Without a persister (closed, or it could not be started) the job runs now.
    pub(crate) fn after_pending_writes(&self, job: impl FnOnce() + Send + 'static) {
        let _ = self.submit(Op::Run(Box::new(job)));
    }

    /// Waits until everything queued is on disk, and stops the persister. Later writes go
    /// straight to disk.
    pub(crate) fn close(&self) {
        let mut state = self.behind.lock();
        state.stopping = true;
        self.behind.work.notify_all();
        while state.running {
            state = self.behind.drained.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Queues `op` for the persister, starting it if need be; reads see the path as `op` leaves
    /// it from now on. With no persister to take it (closed, or it could not be started), applies
    /// it now: nothing is queued then (a stopping persister drains its queue before it ends, and
    /// takes what comes in meanwhile), so it cannot overtake an older operation.
    fn submit(&self, op: Op) -> io::Result<()> {
        let path = op.path().map(Path::to_path_buf);
        {
            let mut state = self.behind.lock();
            if state.running || (!state.stopping && self.start_persister(&mut state)) {
                state.seq += 1;
                let seq = state.seq;
                if let (Some(path), Some(entry)) = (path, op.entry()) {
                    state.files.insert(path, (seq, entry));
                }
                state.queue.push_back((seq, op));
                self.behind.work.notify_one();
                return Ok(());
            }
        }
        let exists = op.leaves_file();
        let applied = apply(&self.root, &self.meta_lock, op);
        if let Some(path) = path {
            let mut state = self.behind.lock();
            state.files.remove(&path);
            if applied.is_ok() {
                state.settled(path, exists);
            }
        }
        applied
    }

    /// Drops the entry of a file being written: it was abandoned (`on_disk` false: whatever
    /// was spilled of it is removed), or it spilled and is on disk now.
    fn forget_writing(&self, path: &Path, on_disk: bool) {
        let mut state = self.behind.lock();
        if matches!(state.files.get(path), Some((_, Entry::Writing))) {
            state.files.remove(path);
        }
        state.settled(path.to_path_buf(), on_disk);
    }

    fn start_persister(&self, state: &mut Pending) -> bool {
        let (behind, root, meta_lock) = (self.behind.clone(), self.root.clone(), self.meta_lock.clone());
        let spawned = std::thread::Builder::new()
            .name("repolens-index-writes".into())
            .spawn(move || persist(&behind, &root, &meta_lock));
        match spawned {
            Ok(_) => state.running = true,
            Err(err) => tracing::warn!("search index writes go straight to disk: {err}"),
        }
        state.running
    }

    /// The pending state of `path`, if the disk is not up to date with it.
    fn pending(&self, path: &Path) -> Option<Entry> {
        self.behind.lock().files.get(path).map(|(_, entry)| entry.clone())
    }
}

/// The persister: applies queued operations in order until told to stop with nothing left.
fn persist(behind: &WriteBehind, root: &Path, meta_lock: &MetaLock) {
    let mut state = behind.lock();
    loop {
        let Some((seq, op)) = state.queue.pop_front() else {
            behind.drained.notify_all();
            if state.stopping {
                break;
            }
            state = behind.work.wait(state).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        let path = op.path().map(Path::to_path_buf);
        let exists = op.leaves_file();
        let held_back = state.failed && op.held_back_after_failure();
        drop(state);
        // Every write lands, even of a file deleted since: a `meta.json` queued between the two
        // may name it. What is held back stays in memory for reads, like a failed write.
        let result = if held_back {
            Err(io::Error::other("an earlier write failed"))
        } else {
            apply(root, meta_lock, op)
        };
        state = behind.lock();
        match result {
            // The disk now shows this operation, unless a newer one for the path is queued.
            Ok(()) => {
                if let Some(path) = path {
                    if state.files.get(&path).is_some_and(|(newest, _)| *newest == seq) {
                        state.files.remove(&path);
                    }
                    state.settled(path, exists);
                }
            }
            // The entry stays, so reads keep being served from memory.
            Err(err) => {
                if !state.failed {
                    tracing::warn!(
                        "could not write the search index to {}: {err}; it stays in memory until the next start",
                        root.display()
                    );
                }
                state.failed = true;
            }
        }
    }
    state.running = false;
    behind.drained.notify_all();
}

/// Writes beside the target and renames over it: readers see the old or the new content,
/// never a mix.
fn replace(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = target.to_path_buf().into_os_string();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, target)
}

fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// A file being written: in memory until it outgrows [`SPILL_BYTES`], then on disk.
struct PendingFile {
    dir: CacheDirectory,
    path: PathBuf,
    buffer: Vec<u8>,
    spilled: Option<File>,
    terminated: bool,
}

impl Drop for PendingFile {
    /// A write abandoned before its end leaves no file behind, in memory or on disk.
    fn drop(&mut self) {
        if self.terminated {
            return;
        }
        self.dir.forget_writing(&self.path, false);
        if self.spilled.take().is_some() {
            let _ = std::fs::remove_file(self.dir.root.join(&self.path));
        }
    }
}

impl Write for PendingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(file) = &mut self.spilled {
            return file.write(buf);
        }
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() > SPILL_BYTES {
            let mut file = create_new(&self.dir.root.join(&self.path))?;
            file.write_all(&self.buffer)?;
            self.buffer = Vec::new();
            self.spilled = Some(file);
            self.dir.forget_writing(&self.path, true);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.spilled {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl TerminatingWrite for PendingFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        self.terminated = true;
        if self.spilled.is_some() {
            return self.flush();
        }
        let bytes = OwnedBytes::new(std::mem::take(&mut self.buffer));
        self.dir.submit(Op::Write(self.path.clone(), bytes))
    }
}

impl Directory for CacheDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        match self.pending(path) {
            Some(Entry::Written(bytes)) => Ok(Arc::new(bytes)),
            Some(Entry::Writing | Entry::Deleted) => Err(OpenReadError::FileDoesNotExist(path.to_path_buf())),
            None => self.inner.get_file_handle(path),
        }
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        if !self.behind.lock().holds(path) {
            return Err(DeleteError::FileDoesNotExist(path.to_path_buf()));
        }
        self.submit(Op::Delete(path.to_path_buf()))
            .map_err(|err| DeleteError::IoError { io_error: Arc::new(err), filepath: path.to_path_buf() })
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        {
            let state = self.behind.lock();
            if state.holds(path) {
                return Ok(true);
            }
            // Pending and not held: deleted here, whatever the disk still shows.
            if state.files.contains_key(path) {
                return Ok(false);
            }
        }
        // Not written by this process since the listing: another one may have (a reader here
        // while a server writes the index).
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        // Same contract as `MmapDirectory`: files are written once, never overwritten.
        {
            let mut state = self.behind.lock();
            if state.holds(path) {
                return Err(OpenWriteError::FileAlreadyExists(path.to_path_buf()));
            }
            state.files.insert(path.to_path_buf(), (0, Entry::Writing));
        }
        let file = PendingFile {
            dir: self.clone(),
            path: path.to_path_buf(),
            buffer: Vec::new(),
            spilled: None,
            terminated: false,
        };
        Ok(BufWriter::new(Box::new(file)))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        match self.pending(path) {
            Some(Entry::Written(bytes)) => Ok(bytes.as_slice().to_vec()),
            Some(Entry::Writing | Entry::Deleted) => Err(OpenReadError::FileDoesNotExist(path.to_path_buf())),
            None => self.inner.atomic_read(path),
        }
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.submit(Op::Replace(path.to_path_buf(), OwnedBytes::new(data.to_vec())))
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        if lock.filepath == META_LOCK.filepath {
            return Ok(DirectoryLock::from(Box::new(
                self.meta_lock.acquire().map_err(LockError::wrap_io_error)?,
            )));
        }
        let file = self.inner.acquire_lock(lock)?;
        if lock.filepath != INDEX_WRITER_LOCK.filepath {
            return Ok(file);
        }
        self.meta_lock.writers.fetch_add(1, Ordering::Release);
        Ok(DirectoryLock::from(Box::new(WriterLockGuard { _file: file, meta_lock: self.meta_lock.clone() })))
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &CacheDirectory, path: &str, bytes: &[u8]) -> io::Result<()> {
        let mut file = dir.open_write(Path::new(path)).unwrap();
        file.write_all(bytes)?;
        file.terminate()
    }

    fn read(dir: &CacheDirectory, path: &str) -> Vec<u8> {
        let handle = dir.get_file_handle(Path::new(path)).unwrap();
        handle.read_bytes(0..handle.len()).unwrap().as_slice().to_vec()
    }

    #[test]
    fn writes_are_readable_at_once_and_reach_the_disk_in_order() {
        let root = tempfile::tempdir().unwrap();
        let dir = CacheDirectory::open(root.path()).unwrap();
        let on_disk = |path: &str| std::fs::read(root.path().join(path)).ok();

        write(&dir, "segment.small", b"small").unwrap();
        assert_eq!(read(&dir, "segment.small"), b"small");
        assert!(dir.exists(Path::new("segment.small")).unwrap());
        assert!(matches!(
            dir.open_write(Path::new("segment.small")),
            Err(OpenWriteError::FileAlreadyExists(_))
        ));

        // A file that outgrows the spill size is on disk before it is even complete.
        let big = vec![7u8; SPILL_BYTES * 3];
        let mut file = dir.open_write(Path::new("segment.big")).unwrap();
        file.write_all(&big).unwrap();
        assert!(root.path().join("segment.big").exists());
        file.terminate().unwrap();
        assert_eq!(read(&dir, "segment.big"), big);

        dir.atomic_write(Path::new("meta.json"), b"v1").unwrap();
        dir.atomic_write(Path::new("meta.json"), b"v2").unwrap();
        assert_eq!(dir.atomic_read(Path::new("meta.json")).unwrap(), b"v2");

        dir.delete(Path::new("segment.small")).unwrap();
        assert!(!dir.exists(Path::new("segment.small")).unwrap());
        assert!(dir.get_file_handle(Path::new("segment.small")).is_err());
        assert!(matches!(dir.delete(Path::new("segment.small")), Err(DeleteError::FileDoesNotExist(_))));

        let (sent, received) = std::sync::mpsc::channel();
        dir.after_pending_writes(move || sent.send(()).unwrap());
        received.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
        assert_eq!(on_disk("meta.json").as_deref(), Some(&b"v2"[..]));
        assert_eq!(on_disk("segment.small"), None);
        assert_eq!(on_disk("segment.big").map(|b| b.len()), Some(big.len()));

        // Once closed, writes go straight to disk.
        dir.close();
        dir.atomic_write(Path::new("meta.json"), b"v3").unwrap();
        assert_eq!(on_disk("meta.json").as_deref(), Some(&b"v3"[..]));
        write(&dir, "segment.late", b"late").unwrap();
        assert_eq!(on_disk("segment.late").as_deref(), Some(&b"late"[..]));
    }

    #[test]
    fn after_a_failed_write_the_disk_keeps_the_last_complete_commit() {
        let root = tempfile::tempdir().unwrap();
        let dir = CacheDirectory::open(root.path()).unwrap();
        dir.atomic_write(Path::new("meta.json"), b"first").unwrap();
        dir.close();
        let dir = CacheDirectory::open(root.path()).unwrap();
        // Something in the way of the next `meta.json`: writing it fails.
        std::fs::create_dir(root.path().join("meta.json.tmp")).unwrap();
        write(&dir, "segment.new", b"new").unwrap();
        dir.atomic_write(Path::new("meta.json"), b"second").unwrap();
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        dir.after_pending_writes(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
        dir.atomic_write(Path::new("meta.json"), b"third").unwrap();
        dir.close();
        // Reads still see the newest state.
        assert_eq!(dir.atomic_read(Path::new("meta.json")).unwrap(), b"third");
        assert_eq!(read(&dir, "segment.new"), b"new");
        assert!(
            !ran.load(std::sync::atomic::Ordering::SeqCst),
            "work queued after a failed write is skipped"
        );
        assert_eq!(std::fs::read(root.path().join("meta.json")).unwrap(), b"first");
    }

    #[test]
    fn names_come_from_the_listing_and_what_others_write_later_is_still_seen() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("segment.old"), b"old").unwrap();
        let dir = CacheDirectory::open(root.path()).unwrap();
        assert!(matches!(
            dir.open_write(Path::new("segment.old")),
            Err(OpenWriteError::FileAlreadyExists(_))
        ));
        assert!(dir.exists(Path::new("segment.old")).unwrap());
        // Written by another process after the listing (a server writing while this one reads).
        std::fs::write(root.path().join("segment.other"), b"other").unwrap();
        assert!(dir.exists(Path::new("segment.other")).unwrap());
        assert_eq!(read(&dir, "segment.other"), b"other");
        dir.delete(Path::new("segment.old")).unwrap();
        dir.close();
        assert!(!root.path().join("segment.old").exists());
        assert!(!dir.exists(Path::new("segment.old")).unwrap());
        write(&dir, "segment.old", b"again").unwrap();
        assert_eq!(std::fs::read(root.path().join("segment.old")).unwrap(), b"again");
    }

    #[test]
    fn deletes_wait_for_a_reader_in_another_process_to_open_its_files() {
        let root = tempfile::tempdir().unwrap();
        let writer = CacheDirectory::open(root.path()).unwrap();
        let _writing = writer.acquire_lock(&INDEX_WRITER_LOCK).unwrap();
        write(&writer, "segment.live", b"live").unwrap();
        let (sent, received) = std::sync::mpsc::channel();
        writer.after_pending_writes(move || sent.send(()).unwrap());
        received.recv_timeout(std::time::Duration::from_secs(30)).unwrap();

        // A second directory on the same files stands for another process: file locks taken
        // through separately opened descriptors exclude each other as between processes.
        let reader = CacheDirectory::open(root.path()).unwrap();
        let reading = reader.acquire_lock(&META_LOCK).unwrap();
        // The writer's own readers do not wait for another process's reader.
        let (sent, received) = std::sync::mpsc::channel();
        let own = writer.clone();
        std::thread::spawn(move || sent.send(own.acquire_lock(&META_LOCK).is_ok()).unwrap());
        assert_eq!(received.recv_timeout(std::time::Duration::from_secs(30)), Ok(true));
        writer.delete(Path::new("segment.live")).unwrap();
        let (sent, received) = std::sync::mpsc::channel();
        writer.after_pending_writes(move || sent.send(()).unwrap());
        assert!(received.recv_timeout(std::time::Duration::from_millis(300)).is_err());
        assert!(root.path().join("segment.live").exists(), "deleted under a reader's lock");
        drop(reading);
        received.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
        assert!(!root.path().join("segment.live").exists());
    }
}
