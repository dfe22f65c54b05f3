//! The tantivy index: schema, opening, incremental updates and the initial bulk build.
//!
//! One document per [`Chunk`]. Text fields are indexed with the code tokenizer and frequencies
//! but no positions (nothing here runs phrase queries, and positions would roughly double the
//! postings). Each document carries its path as a raw indexed term, so a file's documents can
//! be found and deleted together; tantivy applies deletes and additions atomically at the next
//! commit. The reader reloads only when told to, right after our own commits, so a
//! query sees an edit as soon as [`SearchIndex::commit`] returns and never a half-applied one.
//!
//! Readers never wait for the writer: [`SearchSnapshot`] is a tantivy `Searcher`, a refcounted
//! view of the segments at one commit, which stays usable while later commits and merges go on.
//!
//! An edit re-indexes only the chunks whose text changed. Every document carries a key, the hash
//! of everything indexed about it; replacing a file keeps the documents whose key is still there,
//! deletes the others and adds the new ones. A kept chunk may have moved (lines added above it):
//! its current span is recorded in a small table of moved chunks ([`Moved`]) that searches consult
//! instead of the stored one. The table is saved in the commit's payload, in tantivy's
//! `meta.json`, so it is always exactly as old as the documents it corrects; it is bounded
//! ([`MAX_MOVED`]), and a file replaced while the table is full is re-indexed whole, which drops
//! its entries.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::{
    DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, SegmentMeta, TERMINATED,
    TantivyDocument, TantivyError, Term,
    indexer::{IndexWriterOptions, LogMergePolicy, MergeCandidate, MergePolicy, NoMergePolicy},
    schema::{
        FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    },
};

use super::{
    Chunk, SearchError, SearchResult,
    chunk::is_test_path,
    directory::CacheDirectory,
    tokenizer::{CODE_TOKENIZER, CodeTokenizer},
};

/// Version of what is on disk: the schema *and* the tokenizer's output, since a changed
/// tokenizer makes old postings unreachable even when the schema is identical. Bump on any
/// change to either.
pub const INDEX_FORMAT_VERSION: u32 = 4;

/// The file beside tantivy's `meta.json` that records [`INDEX_FORMAT_VERSION`].
const VERSION_FILE: &str = "repolens-search-version";

/// Memory for the writer that applies edits: tantivy's minimum per thread. Edits are a few
/// documents each, so a bigger arena would only hold memory.
const INCREMENTAL_MEMORY_BUDGET: usize = 15_000_000;

/// Most moved chunks remembered (see the module docs): a few hundred kilobytes of `meta.json`.
pub(crate) const MAX_MOVED: usize = 4096;

/// Segments with more live chunks than this are *big*: left out of the merges among edits and
/// only compacted (see [`EditMergePolicy`]).
const EDIT_MERGE_MAX_DOCS: usize = 1000;

/// More big segments than this, and the smallest [`COMPACT_BATCH`] are merged into one. A cold
/// build of Django leaves 14; each warm start that re-indexes many files adds some.
const MAX_BIG_SEGMENTS: usize = 32;

/// How many big segments one compaction merges.
const COMPACT_BATCH: usize = 8;

/// A segment with this share of its chunks deleted is rewritten without them, big or small.
const MAX_DELETED_SHARE: f32 = 0.5;

/// Where a chunk is now: lines 1-based and inclusive, bytes a UTF-8 range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Span {
    pub(crate) start_line: u32,
    pub(crate) end_line: u32,
    pub(crate) start_byte: u32,
    pub(crate) end_byte: u32,
}

impl Span {
    fn of(chunk: &Chunk) -> Span {
        Span {
            start_line: chunk.start_line,
            end_line: chunk.end_line,
            start_byte: chunk.start_byte,
            end_byte: chunk.end_byte,
        }
    }
}

/// Chunks kept across edits whose stored span is out of date: path → chunk key → current span.
pub(crate) type Moved = FxHashMap<String, FxHashMap<u64, Span>>;

/// What [`SearchIndex::replace_file`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Replaced {
    /// Chunks (re-)indexed: new, or changed since the file was last indexed.
    pub indexed: usize,
    /// Chunks whose document was kept because nothing indexed about them changed.
    pub kept: usize,
}

/// The fields of the schema, resolved once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    /// 1 for chunks of test code (see [`is_test_path`]), which rank lower unless asked for.
    pub(crate) test: Field,
    /// xxh3 of the path: a numeric column that groups a file's chunks when ranking files.
    pub(crate) path_key: Field,
    pub(crate) path: Field,
    pub(crate) path_tokens: Field,
    pub(crate) name: Field,
    pub(crate) qualified_name: Field,
    pub(crate) kind: Field,
    pub(crate) doc: Field,
    pub(crate) body: Field,
    pub(crate) start_line: Field,
    pub(crate) end_line: Field,
    pub(crate) start_byte: Field,
    pub(crate) end_byte: Field,
    /// Hash of everything indexed about the chunk (see [`chunk_keys`]): what an edit compares.
    pub(crate) chunk_key: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = |stored: bool| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(CODE_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs)
            .set_fieldnorms(true);
        let options = TextOptions::default().set_indexing_options(indexing);
        if stored { options.set_stored() } else { options }
    };
    let fields = Fields {
        test: builder.add_u64_field("test", FAST),
        path_key: builder.add_u64_field("path_key", FAST),
        // Indexed as one raw term too, so a caller that only knows the path can find the file.
        path: builder.add_text_field("path", STRING | STORED),
        path_tokens: builder.add_text_field("path_tokens", text(false)),
        name: builder.add_text_field("name", text(true)),
        qualified_name: builder.add_text_field("qualified_name", text(true)),
        kind: builder.add_text_field("kind", STRING | STORED),
        doc: builder.add_text_field("doc", text(false)),
        body: builder.add_text_field("body", text(false)),
        // Fast too: an edit reads the spans of a file's chunks to see which ones moved.
        start_line: builder.add_u64_field("start_line", STORED | FAST),
        end_line: builder.add_u64_field("end_line", STORED | FAST),
        start_byte: builder.add_u64_field("start_byte", STORED | FAST),
        end_byte: builder.add_u64_field("end_byte", STORED | FAST),
        chunk_key: builder.add_u64_field("chunk_key", INDEXED | FAST),
    };
    (builder.build(), fields)
}

/// How the initial build uses the machine.
#[derive(Clone, Debug)]
pub struct BulkOptions {
    /// Indexing threads (tantivy caps this at 8).
    pub threads: usize,
    /// Memory for all indexing threads together; each gets at least tantivy's 15 MB minimum.
    pub memory_budget: usize,
}

impl Default for BulkOptions {
    fn default() -> BulkOptions {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
        // Measured on Django (37k chunks, 2 threads): 32 MB instead of 64 MB costs ~8% more
        // build time and keeps ~16 MB off the first start's peak memory.
        BulkOptions { threads, memory_budget: 32 * 1024 * 1024 }
    }
}

/// What [`SearchIndex::segment_stats`] reports: every query visits each segment, and deleted
/// chunks stay in their segment until it is merged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentStats {
    pub segments: usize,
    pub deleted_chunks: u64,
}

#[derive(Clone, Debug, Default)]
pub struct BulkStats {
    pub files: usize,
    pub chunks: usize,
    pub elapsed: Duration,
}

/// The index and its one writer. Owned by whoever applies changes in order; everyone else reads
/// through [`SearchIndex::snapshot`].
pub struct SearchIndex {
    index: Index,
    fields: Fields,
    reader: IndexReader,
    /// Created on the first change, so an index opened only to be searched takes no lock.
    writer: Option<IndexWriter>,
    /// The index's directory when it is on disk: its writes are persisted behind the commits.
    disk: Option<CacheDirectory>,
    uncommitted: bool,
    moved: MovedTable,
    /// Files changed since the last commit: the committed documents no longer describe them, so
    /// a second change before the commit replaces them whole. After [`Self::clear`], every file.
    pending: FxHashSet<String>,
    cleared: bool,
}

impl Drop for SearchIndex {
    /// Waits for the writes still queued behind the last commits, so an index reopened in this
    /// process (or the next start) finds the disk up to date.
    fn drop(&mut self) {
        self.writer = None;
        if let Some(disk) = &self.disk {
            disk.close();
        }
    }
}

/// What searches read: the index as of one commit. Cheap to clone and to send to a worker.
#[derive(Clone)]
pub struct SearchSnapshot {
    pub(crate) searcher: Searcher,
    pub(crate) fields: Fields,
    pub(crate) moved: Arc<Moved>,
}

impl SearchIndex {
    /// A fresh index held in memory (tests, and workspaces without a cache directory).
    pub fn in_memory() -> SearchResult<SearchIndex> {
        let (schema, fields) = schema();
        SearchIndex::with_index(Index::create_in_ram(schema), fields, None)
    }

    /// Opens the index persisted in `dir`, or creates one there if `dir` is missing or empty.
    ///
    /// A directory holding something else, a damaged index or an index of another format version
    /// is an error for which [`SearchError::needs_rebuild`] is true; the caller decides whether
    /// to delete it (this never deletes anything).
    pub fn open_or_create(dir: &Path) -> SearchResult<SearchIndex> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let corrupt = |reason: String| SearchError::Corrupt { path: dir.to_path_buf(), reason };
        let version_path = dir.join(VERSION_FILE);
        if !dir.join("meta.json").exists() {
            let foreign = std::fs::read_dir(dir)?
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|name| name != VERSION_FILE && !name.starts_with(".tantivy-"));
            if let Some(name) = foreign {
                return Err(corrupt(format!("not a search index (no meta.json, found {name:?})")));
            }
            let directory = CacheDirectory::open(dir).map_err(|e| corrupt(e.to_string()))?;
            let index = Index::create(directory.clone(), schema, Default::default())?;
            std::fs::write(&version_path, INDEX_FORMAT_VERSION.to_string())?;
            tracing::info!("created search index at {}", dir.display());
            return SearchIndex::with_index(index, fields, Some(directory));
        }
        let found = std::fs::read_to_string(&version_path).ok().and_then(|v| v.trim().parse::<u32>().ok());
        if found != Some(INDEX_FORMAT_VERSION) {
            return Err(SearchError::VersionMismatch {
                path: dir.to_path_buf(),
                found,
                expected: INDEX_FORMAT_VERSION,
            });
        }
        let directory = CacheDirectory::open(dir).map_err(|e| corrupt(e.to_string()))?;
        let index = Index::open(directory.clone()).map_err(|e| corrupt(e.to_string()))?;
        if index.schema() != schema {
            // Same version, different schema: written by a build that forgot to bump it.
            return Err(corrupt("its schema differs from this build's".to_owned()));
        }
        // Commits are not fsynced (see `directory.rs`), so after an OS crash a segment may be
        // torn; every file carries a checksum, and reading ~10 MB once at startup is cheap.
        let damaged = index.validate_checksum().map_err(|e| corrupt(e.to_string()))?;
        if let Some(file) = damaged.iter().next() {
            return Err(corrupt(format!(
                "{} of its files fail their checksum, e.g. {}",
                damaged.len(),
                file.display()
            )));
        }
        // Opening the reader opens every segment, which is where truncated files show up.
        SearchIndex::with_index(index, fields, Some(directory)).map_err(|e| match e {
            SearchError::Tantivy(e) => corrupt(e.to_string()),
            other => other,
        })
    }

    fn with_index(index: Index, fields: Fields, disk: Option<CacheDirectory>) -> SearchResult<SearchIndex> {
        index.tokenizers().register(CODE_TOKENIZER, CodeTokenizer::default());
        let moved: Moved = match index.load_metas()?.payload {
            Some(payload) => serde_json::from_str(&payload).map_err(|err| SearchError::Corrupt {
                path: disk.as_ref().map(|d| d.root().to_path_buf()).unwrap_or_default(),
                reason: format!("its table of moved chunks does not parse: {err}"),
            })?,
            None => Moved::default(),
        };
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(SearchIndex {
            index,
            fields,
            reader,
            writer: None,
            disk,
            uncommitted: false,
            moved: MovedTable { committed: Arc::new(moved.clone()), pending: moved },
            pending: FxHashSet::default(),
            cleared: false,
        })
    }

    /// The directory the index lives in; `None` in memory.
    pub fn directory(&self) -> Option<&Path> {
        self.disk.as_ref().map(CacheDirectory::root)
    }

    /// Runs `job` once the disk holds every commit made so far (see `directory.rs`: the files
    /// of a commit are written behind it), or never if writing them failed. What `job` writes
    /// therefore never describes a newer index than the one on disk. In memory, runs it now.
    pub fn when_persisted(&self, job: impl FnOnce() + Send + 'static) {
        match &self.disk {
            Some(disk) => disk.after_pending_writes(job),
            None => job(),
        }
    }

    /// Waits until the disk holds every commit made so far and what [`Self::when_persisted`]
    /// queued has run (or until writing failed).
    pub fn wait_persisted(&self) {
        let (done, waiting) = crossbeam_channel::bounded::<()>(1);
        // A skipped job drops its sender, which ends the wait too.
        self.when_persisted(move || {
            let _ = done.send(());
        });
        let _ = waiting.recv();
    }

    /// The committed index, for searching on any thread.
    pub fn snapshot(&self) -> SearchSnapshot {
        SearchSnapshot {
            searcher: self.reader.searcher(),
            fields: self.fields,
            moved: self.moved.committed.clone(),
        }
    }

    /// Number of chunks visible to searches (as of the last commit).
    pub fn num_chunks(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The segments of the latest commit or merge, and the deleted chunks they still carry.
    pub fn segment_stats(&self) -> SearchResult<SegmentStats> {
        let metas = self.index.searchable_segment_metas()?;
        Ok(SegmentStats {
            segments: metas.len(),
            deleted_chunks: metas.iter().map(|meta| u64::from(meta.num_deleted_docs())).sum(),
        })
    }

    /// Whether changes were made since the last commit.
    pub fn has_uncommitted_changes(&self) -> bool {
        self.uncommitted
    }

    /// Replaces everything indexed for the file at `path` (workspace-relative) with `chunks`
    /// (visible after [`Self::commit`]). Chunks indexed before with the same text keep their
    /// documents (see the module docs).
    pub fn replace_file(&mut self, path: &str, chunks: &[Chunk]) -> SearchResult<Replaced> {
        debug_assert!(chunks.iter().all(|c| c.path == path), "chunk of another file");
        let keys = chunk_keys(chunks);
        let room = self.moved.pending.values().map(FxHashMap::len).sum::<usize>() < MAX_MOVED;
        let diff = room && !self.cleared && !self.pending.contains(path);
        let indexed = if diff { self.indexed_spans(path)? } else { None };
        let fields = self.fields;
        let Some(indexed) = indexed else {
            let writer = self.writer()?;
            writer.delete_term(Term::from_field_text(fields.path, path));
            for (chunk, key) in chunks.iter().zip(&keys) {
                writer.add_document(document(&fields, chunk, *key))?;
            }
            self.moved.pending.remove(path);
            self.pending.insert(path.to_owned());
            self.uncommitted = true;
            return Ok(Replaced { indexed: chunks.len(), kept: 0 });
        };
        let mut moved = self.moved.pending.remove(path).unwrap_or_default();
        let mut replaced = Replaced::default();
        let writer = self.writer()?;
        let new_keys: FxHashSet<u64> = keys.iter().copied().collect();
        for key in indexed.keys().filter(|key| !new_keys.contains(key)) {
            writer.delete_term(Term::from_field_u64(fields.chunk_key, *key));
            moved.remove(key);
        }
        for (chunk, key) in chunks.iter().zip(&keys) {
            let span = Span::of(chunk);
            match indexed.get(key) {
                Some(stored) => {
                    replaced.kept += 1;
                    if *stored == span {
                        moved.remove(key);
                    } else {
                        moved.insert(*key, span);
                    }
                }
                None => {
                    replaced.indexed += 1;
                    writer.add_document(document(&fields, chunk, *key))?;
                }
            }
        }
        if !moved.is_empty() {
            self.moved.pending.insert(path.to_owned(), moved);
        }
        self.pending.insert(path.to_owned());
        self.uncommitted = true;
        Ok(replaced)
    }

    /// The stored span of each chunk the last commit holds for `path`, by key; `None` when the
    /// documents cannot be told apart by key (then the file is replaced whole).
    fn indexed_spans(&self, path: &str) -> SearchResult<Option<FxHashMap<u64, Span>>> {
        let fields = self.fields;
        let term = Term::from_field_text(fields.path, path);
        let mut spans = FxHashMap::default();
        for segment in self.reader.searcher().segment_readers() {
            let Some(mut postings) =
                segment.inverted_index(fields.path)?.read_postings(&term, IndexRecordOption::Basic)?
            else {
                continue;
            };
            let fast = segment.fast_fields();
            let column = |name: &str| fast.u64(name);
            let (key, start_line, end_line, start_byte, end_byte) = (
                column("chunk_key")?,
                column("start_line")?,
                column("end_line")?,
                column("start_byte")?,
                column("end_byte")?,
            );
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if !segment.is_deleted(doc) {
                    let value = |c: &tantivy::columnar::Column<u64>| c.first(doc).unwrap_or_default() as u32;
                    let span = Span {
                        start_line: value(&start_line),
                        end_line: value(&end_line),
                        start_byte: value(&start_byte),
                        end_byte: value(&end_byte),
                    };
                    let Some(key) = key.first(doc) else { return Ok(None) };
                    if spans.insert(key, span).is_some() {
                        return Ok(None);
                    }
                }
                doc = postings.advance();
            }
        }
        Ok(Some(spans))
    }

    /// Removes everything indexed for the file at `path` (visible after [`Self::commit`]).
    pub fn remove_file(&mut self, path: &str) -> SearchResult<()> {
        let fields = self.fields;
        self.writer()?.delete_term(Term::from_field_text(fields.path, path));
        self.moved.pending.remove(path);
        self.pending.insert(path.to_owned());
        self.uncommitted = true;
        Ok(())
    }

    /// Removes every chunk (visible after [`Self::commit`]).
    pub fn clear(&mut self) -> SearchResult<()> {
        self.writer()?.delete_all_documents()?;
        self.moved.pending.clear();
        self.cleared = true;
        self.uncommitted = true;
        Ok(())
    }

    /// Makes all changes so far visible to snapshots taken from now on (and, on disk, persisted
    /// without fsync: see `directory.rs`).
    ///
    /// If tantivy fails to commit, the pending changes are dropped with the writer and the error
    /// returned; the caller re-sends the files it changed since the last successful commit.
    pub fn commit(&mut self) -> SearchResult<()> {
        if !self.uncommitted {
            return Ok(());
        }
        let started = Instant::now();
        self.uncommitted = false;
        self.pending.clear();
        self.cleared = false;
        if let Some(writer) = &mut self.writer
            && let Err(err) = commit_with_moved(writer, &mut self.moved)
        {
            self.writer = None;
            return Err(err.into());
        }
        // The reload policy is manual: reload now, so a query issued after this returns sees
        // the commit, with no watcher thread and no polling delay.
        self.reader.reload()?;
        tracing::debug!("search index commit took {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
        Ok(())
    }

    /// Indexes many files at once with a multi-threaded writer, replacing whatever was indexed
    /// for them, and commits. Pending changes are committed first. When `cancel` is set the
    /// whole batch is dropped (nothing of it becomes visible) and the result is
    /// [`SearchError::Cancelled`].
    pub fn bulk_index<I>(
        &mut self,
        files: I,
        options: &BulkOptions,
        cancel: &AtomicBool,
    ) -> SearchResult<BulkStats>
    where
        I: IntoIterator<Item = (String, Vec<Chunk>)>,
    {
        let started = Instant::now();
        self.commit()?;
        // Only one writer may hold the index: the small incremental one makes way for a bigger
        // one and comes back, lazily, after.
        self.writer = None;
        let threads = options.threads.clamp(1, 8);
        let per_thread = (options.memory_budget / threads).max(INCREMENTAL_MEMORY_BUDGET);
        let options = IndexWriterOptions::builder()
            .num_worker_threads(threads)
            .memory_budget_per_thread(per_thread)
            .num_merge_threads(1)
            .build();
        let mut writer: IndexWriter =
            self.index.writer_with_options(options).map_err(|e| self.lock_error(e))?;
        // Each thread flushes a segment whenever its arena fills (about a dozen on Django). A
        // merge started while the batch is still coming in is abandoned when this writer goes
        // away after its one commit: measured on Django, that wasted a fifth of the search
        // build's CPU (~0.45 CPU-s). Edits' writer compacts these segments only once they waste
        // (see [`EditMergePolicy`]).
        writer.set_merge_policy(Box::new(NoMergePolicy));
        // Deletes are looked up in every segment the batch flushes; into an empty index there
        // is nothing to delete.
        let replaces = self.reader.searcher().num_docs() > 0;
        let fields = self.fields;
        let mut stats = BulkStats::default();
        for (path, chunks) in files {
            if cancel.load(Ordering::Relaxed) {
                // Dropping an uncommitted writer discards its documents.
                drop(writer);
                self.moved.discard_pending();
                return Err(SearchError::Cancelled);
            }
            if replaces {
                writer.delete_term(Term::from_field_text(fields.path, &path));
            }
            self.moved.pending.remove(&path);
            for (chunk, key) in chunks.iter().zip(chunk_keys(&chunks)) {
                writer.add_document(document(&fields, chunk, key))?;
            }
            stats.files += 1;
            stats.chunks += chunks.len();
        }
        commit_with_moved(&mut writer, &mut self.moved)?;
        drop(writer);
        // The segments' small files were written behind the commit; once they are on disk the
        // reader maps them, instead of holding the in-memory copies for as long as the segments
        // live (the bulk segments are never merged away).
        self.wait_persisted();
        self.reader.reload()?;
        stats.elapsed = started.elapsed();
        tracing::info!(
            "search index built: {} files, {} chunks in {:.0} ms",
            stats.files,
            stats.chunks,
            stats.elapsed.as_secs_f64() * 1000.0
        );
        Ok(stats)
    }

    fn writer(&mut self) -> SearchResult<&mut IndexWriter> {
        let writer = match self.writer.take() {
            Some(writer) => writer,
            None => {
                let options = IndexWriterOptions::builder()
                    .num_worker_threads(1)
                    .memory_budget_per_thread(INCREMENTAL_MEMORY_BUDGET)
                    .num_merge_threads(1)
                    .build();
                let writer: IndexWriter =
                    self.index.writer_with_options(options).map_err(|e| self.lock_error(e))?;
                writer.set_merge_policy(Box::new(EditMergePolicy::default()));
                writer
            }
        };
        Ok(self.writer.insert(writer))
    }

    fn lock_error(&self, err: TantivyError) -> SearchError {
        match (err, self.directory()) {
            (TantivyError::LockFailure(..), Some(dir)) => SearchError::Locked { path: dir.to_path_buf() },
            (err, _) => SearchError::Tantivy(err),
        }
    }
}

/// How the writer that applies edits merges. Small segments (edits) merge among themselves by
/// size levels. Big ones (a bulk build's, merged edits') are not merged with them: tantivy's
/// default policy put every segment under 10,000 documents in one level, so the first edits
/// after a cold build merged all 37k chunks of Django, and the commits of the edits that came
/// meanwhile stalled for 272–577 ms. Big segments are compacted only when they waste: one whose
/// chunks are mostly deleted (its files re-indexed since) is rewritten without them, and past
/// [`MAX_BIG_SEGMENTS`] the smallest [`COMPACT_BATCH`] are merged, so an index kept across many
/// warm starts does not collect segments (every query visits each).
#[derive(Debug)]
struct EditMergePolicy {
    small: LogMergePolicy,
}

impl Default for EditMergePolicy {
    fn default() -> EditMergePolicy {
        let mut small = LogMergePolicy::default();
        small.set_max_docs_before_merge(EDIT_MERGE_MAX_DOCS);
        // Levels start at 100 documents rather than 10,000, so eight one-edit segments merge with
        // each other and not with a few hundred-document ones.
        small.set_min_layer_size(100);
        // A segment whose chunks were mostly replaced since is rewritten, even alone in its level.
        small.set_del_docs_ratio_before_merge(MAX_DELETED_SHARE);
        EditMergePolicy { small }
    }
}

impl MergePolicy for EditMergePolicy {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let mut candidates = self.small.compute_merge_candidates(segments);
        let (wasteful, mut big): (Vec<&SegmentMeta>, Vec<&SegmentMeta>) =
            segments.iter().filter(|segment| segment.num_docs() as usize > EDIT_MERGE_MAX_DOCS).partition(
                |segment| segment.num_deleted_docs() as f32 >= MAX_DELETED_SHARE * segment.max_doc() as f32,
            );
        if !wasteful.is_empty() {
            candidates.push(MergeCandidate(wasteful.iter().map(|segment| segment.id()).collect()));
        }
        if big.len() > MAX_BIG_SEGMENTS {
            big.sort_by_key(|segment| segment.num_docs());
            candidates
                .push(MergeCandidate(big.iter().take(COMPACT_BATCH).map(|segment| segment.id()).collect()));
        }
        candidates
    }
}

/// The table of moved chunks as of the last commit (what snapshots read) and with the changes
/// made since.
struct MovedTable {
    committed: Arc<Moved>,
    pending: Moved,
}

impl MovedTable {
    /// Forgets the changes since the last commit, as a dropped writer forgets its documents.
    fn discard_pending(&mut self) {
        self.pending = (*self.committed).clone();
    }
}

/// Commits with the pending table of moved chunks as the payload, so both become visible
/// together; if the commit fails, the table's pending changes go with the writer's.
fn commit_with_moved(writer: &mut IndexWriter, moved: &mut MovedTable) -> tantivy::Result<()> {
    let payload = serde_json::to_string(&moved.pending).expect("a map of numbers serializes");
    let committed = writer.prepare_commit().and_then(|mut prepared| {
        prepared.set_payload(&payload);
        prepared.commit()
    });
    match committed {
        Ok(_) => {
            moved.committed = Arc::new(moved.pending.clone());
            Ok(())
        }
        Err(err) => {
            moved.discard_pending();
            Err(err)
        }
    }
}

/// The key of each chunk: a hash of everything indexed about it (path, module, names, kind,
/// docstring, text) and of how many chunks before it in the file have the same hash, so that
/// identical chunks of one file still get different keys.
pub(crate) fn chunk_keys(chunks: &[Chunk]) -> Vec<u64> {
    let mut seen: FxHashMap<u64, u64> = FxHashMap::default();
    chunks
        .iter()
        .map(|chunk| {
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            for text in [&chunk.path, &chunk.module, &chunk.name, &chunk.qualified_name, &chunk.body] {
                hasher.update(&(text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
            hasher.update(chunk.kind.as_str().as_bytes());
            match &chunk.doc {
                Some(doc) => {
                    hasher.update(&(doc.len() as u64).to_le_bytes());
                    hasher.update(doc.as_bytes());
                }
                None => hasher.update(&u64::MAX.to_le_bytes()),
            }
            let content = hasher.digest();
            let occurrence = seen.entry(content).or_default();
            *occurrence += 1;
            xxhash_rust::xxh3::xxh3_64_with_seed(&content.to_le_bytes(), *occurrence)
        })
        .collect()
}

fn document(fields: &Fields, chunk: &Chunk, key: u64) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_u64(fields.chunk_key, key);
    doc.add_u64(fields.path_key, xxhash_rust::xxh3::xxh3_64(chunk.path.as_bytes()));
    doc.add_u64(fields.test, u64::from(is_test_path(&chunk.path)));
    doc.add_text(fields.path, &chunk.path);
    doc.add_text(fields.path_tokens, &chunk.path);
    if !chunk.module.is_empty() {
        doc.add_text(fields.path_tokens, &chunk.module);
    }
    doc.add_text(fields.name, &chunk.name);
    doc.add_text(fields.qualified_name, &chunk.qualified_name);
    doc.add_text(fields.kind, chunk.kind.as_str());
    if let Some(text) = &chunk.doc {
        doc.add_text(fields.doc, text);
    }
    doc.add_text(fields.body, &chunk.body);
    doc.add_u64(fields.start_line, u64::from(chunk.start_line));
    doc.add_u64(fields.end_line, u64::from(chunk.end_line));
    doc.add_u64(fields.start_byte, u64::from(chunk.start_byte));
    doc.add_u64(fields.end_byte, u64::from(chunk.end_byte));
    doc
}

#[cfg(test)]
mod tests {
    use tantivy::index::SegmentId;

    use super::*;

    /// The merges the policy picks among segments of (chunks, deleted chunks), as positions.
    fn candidates(segments: &[(u32, u32)]) -> Vec<Vec<usize>> {
        let index = Index::create_in_ram(schema().0);
        let metas: Vec<SegmentMeta> = segments
            .iter()
            .map(|&(max_doc, deleted)| {
                let meta = index.new_segment_meta(SegmentId::generate_random(), max_doc);
                if deleted > 0 { meta.with_delete_meta(deleted, 1) } else { meta }
            })
            .collect();
        EditMergePolicy::default()
            .compute_merge_candidates(&metas)
            .into_iter()
            .map(|MergeCandidate(ids)| {
                let mut at: Vec<usize> =
                    ids.iter().map(|id| metas.iter().position(|m| m.id() == *id).unwrap()).collect();
                at.sort();
                at
            })
            .collect()
    }

    #[test]
    fn a_cold_build_and_its_edits_leave_big_segments_alone() {
        let mut segments = vec![(3000, 0); 14];
        segments.extend([(150, 1), (150, 2), (3, 0)]);
        assert_eq!(candidates(&segments), Vec::<Vec<usize>>::new());
        // Eight edits of the same size merge among themselves, never with a bulk segment.
        let mut segments = vec![(3000, 1); 14];
        segments.extend(vec![(150, 0); 8]);
        assert_eq!(candidates(&segments), vec![(14..22).collect::<Vec<_>>()]);
    }

    #[test]
    fn big_segments_are_compacted_when_mostly_deleted_or_too_many() {
        // Two bulk segments whose files a warm start re-indexed since.
        let mut segments = vec![(3000, 0); 10];
        segments[3] = (3000, 1500);
        segments[7] = (4000, 2900);
        assert_eq!(candidates(&segments), vec![vec![3, 7]]);
        // One segment too many: the smallest eight merge.
        let mut segments: Vec<(u32, u32)> =
            (0..=MAX_BIG_SEGMENTS as u32).map(|i| (2000 + i * 10, 0)).collect();
        segments.reverse();
        let picked = candidates(&segments);
        assert_eq!(
            picked,
            vec![(MAX_BIG_SEGMENTS + 1 - COMPACT_BATCH..=MAX_BIG_SEGMENTS).collect::<Vec<_>>()]
        );
    }
}
