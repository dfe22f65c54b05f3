//! The per-commit facts read from git, in a form the caller can persist (serde) and extend.
//!
//! Facts are what git said, interned and nothing more: which files each commit changed, by how
//! many lines, under which path, and (at function level) which functions. Everything derived —
//! rename resolution, decay, windows, author shares — is computed from them by `stats`, so the
//! same facts serve any half-life or window, and a refresh only has to read the new commits.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{
    ChangeKind, FunctionScope,
    fix::is_fix_commit,
    log::{Hunk, RawCommit},
};

/// Bumped whenever the meaning of stored facts changes (the fix classifier included); facts of
/// another format are rebuilt rather than reused.
pub const FACTS_FORMAT: u32 = 1;

/// Everything read from git for one repository, newest commit first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryFacts {
    pub format: u32,
    /// The commit the facts were read as of (all commits reachable from it, within `scope`).
    pub head: String,
    /// Its committer time (unix seconds): ages are measured from here.
    pub head_time: i64,
    pub scope: FactsScope,
    pub authors: Vec<Author>,
    /// Repository-relative paths with `/` separators, as git prints them.
    pub paths: Vec<String>,
    /// Qualified function names (`Class.method`, `outer.inner`).
    pub names: Vec<String>,
    /// Newest first (children before parents).
    pub commits: Vec<CommitFacts>,
}

/// What was read: facts read with a different scope cannot be extended, only rebuilt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactsScope {
    pub since: Option<i64>,
    pub first_parent: bool,
    pub functions: FunctionScope,
    /// Git pathspecs the changes were limited to (empty: every file).
    pub paths: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// As git reports it after `.mailmap`.
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitFacts {
    pub hash: String,
    /// Index into [`HistoryFacts::authors`].
    pub author: u32,
    pub author_time: i64,
    /// When the commit landed (committer time): used for ages and windows.
    pub commit_time: i64,
    pub subject: String,
    pub is_fix: bool,
    pub changes: Vec<FileChange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Index into [`HistoryFacts::paths`]: the path after the commit (the deleted path for a
    /// deletion).
    pub path: u32,
    /// The path before a rename.
    pub old_path: Option<u32>,
    pub kind: ChangeKind,
    pub added: u32,
    pub deleted: u32,
    /// Functions changed, when this change was analysed at function level (`None`: outside the
    /// function scope, not a supported language, or nothing to analyse).
    pub functions: Option<Vec<FunctionChange>>,
}

/// Lines of one function changed by one commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionChange {
    /// Index into [`HistoryFacts::names`].
    pub name: u32,
    /// Lines added or rewritten inside the function (post-image lines).
    pub added: u32,
    /// Lines removed from inside it.
    pub deleted: u32,
}

/// A change whose post-image still has to be read to map its hunks onto functions.
#[derive(Clone, Debug)]
pub(crate) struct FunctionJob {
    /// Position in the batch being built (see [`FactsBuilder::push`]).
    pub(crate) commit: usize,
    pub(crate) change: usize,
    pub(crate) path: String,
    /// The version before the commit, when it is known: then the version after it can be
    /// parsed incrementally from the tree of the version before.
    pub(crate) old_blob: Option<String>,
    pub(crate) blob: String,
    pub(crate) hunks: Vec<Hunk>,
}

/// Interns new commits into facts (existing ones or fresh).
pub(crate) struct FactsBuilder {
    facts: HistoryFacts,
    author_ids: FxHashMap<String, u32>,
    path_ids: FxHashMap<String, u32>,
    name_ids: FxHashMap<String, u32>,
    /// Commits read in this batch, newest first; prepended to the facts by `finish`.
    batch: Vec<CommitFacts>,
    jobs: Vec<FunctionJob>,
}

impl FactsBuilder {
    pub(crate) fn new(facts: HistoryFacts) -> FactsBuilder {
        let index = |items: &[String]| items.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect();
        let author_ids = facts
            .authors
            .iter()
            .enumerate()
            .map(|(i, a)| (author_key(&a.name, &a.email), i as u32))
            .collect();
        FactsBuilder {
            author_ids,
            path_ids: index(&facts.paths),
            name_ids: index(&facts.names),
            facts,
            batch: Vec::new(),
            jobs: Vec::new(),
        }
    }

    pub(crate) fn scope(&self) -> &FactsScope {
        &self.facts.scope
    }

    /// Adds one commit (commits arrive newest first), and queues function-level work for its
    /// changes when `wants_functions(path)` says the file's language is supported.
    pub(crate) fn push(&mut self, raw: RawCommit, wants_functions: &dyn Fn(&str) -> bool) {
        if self.facts.scope.since.is_some_and(|since| raw.commit_time < since) {
            return;
        }
        let functions_here = match self.facts.scope.functions {
            FunctionScope::Off => false,
            FunctionScope::All => true,
            FunctionScope::Since(since) => raw.commit_time >= since,
        };
        let key = author_key(&raw.author_name, &raw.author_email);
        let author = match self.author_ids.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.facts.authors.len() as u32;
                self.facts
                    .authors
                    .push(Author { name: raw.author_name.clone(), email: raw.author_email.clone() });
                self.author_ids.insert(key, id);
                id
            }
        };
        let commit_idx = self.batch.len();
        let mut changes = Vec::with_capacity(raw.changes.len());
        for (change_idx, change) in raw.changes.into_iter().enumerate() {
            let path = self.path_id(&change.path);
            let old_path = change.old_path.as_deref().map(|p| self.path_id(p));
            if functions_here
                && change.kind != ChangeKind::Deleted
                && !change.hunks.is_empty()
                && wants_functions(&change.path)
                && let Some(blob) = change.new_blob
            {
                self.jobs.push(FunctionJob {
                    commit: commit_idx,
                    change: change_idx,
                    path: change.path,
                    old_blob: change.old_blob,
                    blob,
                    hunks: change.hunks,
                });
            }
            changes.push(FileChange {
                path,
                old_path,
                kind: change.kind,
                added: change.added,
                deleted: change.deleted,
                functions: None,
            });
        }
        self.batch.push(CommitFacts {
            is_fix: is_fix_commit(&raw.subject, &raw.body),
            hash: raw.hash,
            author,
            author_time: raw.author_time,
            commit_time: raw.commit_time,
            subject: raw.subject,
            changes,
        });
    }

    /// Function-level work queued so far (taken: the caller runs it and hands back results).
    pub(crate) fn take_jobs(&mut self) -> Vec<FunctionJob> {
        std::mem::take(&mut self.jobs)
    }

    /// Records the functions one queued job touched.
    pub(crate) fn set_functions(&mut self, job: &FunctionJob, touched: Vec<(String, u32, u32)>) {
        let functions = touched
            .into_iter()
            .map(|(name, added, deleted)| FunctionChange { name: self.name_id(&name), added, deleted })
            .collect();
        self.batch[job.commit].changes[job.change].functions = Some(functions);
    }

    /// The facts with this batch in front of the older commits, as of `head`.
    pub(crate) fn finish(mut self, head: String, head_time: i64) -> HistoryFacts {
        self.batch.append(&mut self.facts.commits);
        self.facts.commits = self.batch;
        self.facts.head = head;
        self.facts.head_time = head_time;
        self.facts
    }

    fn path_id(&mut self, path: &str) -> u32 {
        intern(&mut self.path_ids, &mut self.facts.paths, path)
    }

    fn name_id(&mut self, name: &str) -> u32 {
        intern(&mut self.name_ids, &mut self.facts.names, name)
    }
}

fn intern(ids: &mut FxHashMap<String, u32>, items: &mut Vec<String>, item: &str) -> u32 {
    if let Some(&id) = ids.get(item) {
        return id;
    }
    let id = items.len() as u32;
    items.push(item.to_owned());
    ids.insert(item.to_owned(), id);
    id
}

/// One identity per person: the (mailmapped) name, case-insensitively, or the email when there
/// is no name. Names survive changes of machine and email better than emails do.
fn author_key(name: &str, email: &str) -> String {
    let name = name.trim();
    if name.is_empty() { email.trim().to_lowercase() } else { name.to_lowercase() }
}

impl HistoryFacts {
    /// Whether every index points into its table: facts come back from a cache on disk, and a
    /// damaged cache must be rebuilt, not crash the server.
    pub fn is_consistent(&self) -> bool {
        let (authors, paths, names) = (self.authors.len(), self.paths.len(), self.names.len());
        self.format == FACTS_FORMAT
            && self.commits.iter().all(|commit| {
                (commit.author as usize) < authors
                    && commit.changes.iter().all(|change| {
                        (change.path as usize) < paths
                            && change.old_path.is_none_or(|p| (p as usize) < paths)
                            && change.functions.iter().flatten().all(|f| (f.name as usize) < names)
                    })
            })
    }

    pub(crate) fn empty(scope: FactsScope) -> HistoryFacts {
        HistoryFacts {
            format: FACTS_FORMAT,
            head: String::new(),
            head_time: 0,
            scope,
            authors: Vec::new(),
            paths: Vec::new(),
            names: Vec::new(),
            commits: Vec::new(),
        }
    }
}
