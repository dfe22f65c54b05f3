//! History: what git knows about the repository, as facts for risk scoring and citations.
//!
//! This module owns everything read from git: the commit citations are pinned to, and per file
//! and per function the revisions, churn (plain and exponentially decayed), authors and fix
//! commits. It reads git through the `git` CLI only (`git.rs`: one owned child per call, each
//! with a timeout, a cancellation flag and a clean environment): `rev-list` names the commits,
//! one `git log` pass describes them (split over a few processes for long histories) and is
//! parsed as it streams (`log.rs`), and one `git cat-file --batch` serves the file versions that
//! function-level facts need (`functions.rs`). What git said is kept as serializable per-commit
//! [`HistoryFacts`] (`facts.rs`), from which aggregates are computed (`stats.rs`); a refresh
//! reads only the commits that are new since the facts' head.
//!
//! Everything is read *as of* one commit (HEAD by default): only commits reachable from it
//! count, and ages are measured from its committer time, so `risks --rev COMMIT` sees nothing
//! after COMMIT. No git on the machine, or a folder that is not in a repository, turns the
//! feature off with one log line ([`History::load`] returns `Ok(None)`); it is never a
//! user-facing error.
//!
//! Paths are repository-relative with `/` separators, as git prints them (see
//! [`History::repo_path`] to get there from a workspace path).

mod facts;
mod fix;
mod functions;
mod git;
mod log;
mod stats;
mod tree;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

pub use facts::{Author, CommitFacts, FACTS_FORMAT, FactsScope, FileChange, FunctionChange, HistoryFacts};
pub use fix::is_fix_commit;
pub use stats::{FileHistory, FunctionHistory, HistoryStats, MINOR_AUTHOR_SHARE, StatsOptions};
pub use tree::{TreeFile, TreeSnapshot, read_tree};

use self::{
    facts::FactsBuilder,
    git::Git,
    log::{LogRequest, parse_numstat_log, parse_patch_log},
};
use crate::{stdx::CancelToken, syntax::Languages};

/// Default half-life of the decay: changes three months old weigh half as much as today's.
pub const DEFAULT_HALF_LIFE_DAYS: f64 = 90.0;

/// Default timeout of each git call: how long git may go without writing anything before it is
/// killed (a read that keeps streaming is not cut short). The longest silence in practice is
/// git starting a log over a long history, well under a second.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors at the history seam. [`HistoryError::is_feature_off`] tells the quiet ones apart.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("git is not available ({})", program.display())]
    GitMissing { program: PathBuf },
    #[error("{} is not in a git repository", path.display())]
    NotARepository { path: PathBuf },
    #[error("the repository has no commits yet")]
    NoCommits,
    #[error("unknown revision {rev:?}")]
    UnknownRevision { rev: String },
    #[error("git {command} timed out after {timeout:?}")]
    Timeout { command: String, timeout: Duration },
    #[error("reading history was cancelled")]
    Cancelled,
    #[error("git {command} failed (exit code {code:?}): {stderr}")]
    Failed { command: String, code: Option<i32>, stderr: String },
    #[error("cannot run git {command}: {source}")]
    Io {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unexpected output from git {command}: {detail}")]
    Parse { command: String, detail: String },
}

impl HistoryError {
    /// No git, no repository, or nothing committed yet: the feature is off, nothing is wrong.
    pub fn is_feature_off(&self) -> bool {
        matches!(
            self,
            HistoryError::GitMissing { .. } | HistoryError::NotARepository { .. } | HistoryError::NoCommits
        )
    }
}

/// How a file changed in one commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
    /// Moved from `old_path` (git's `-M` similarity detection), possibly with edits.
    Renamed,
}

/// Which commits get function-level facts. Function level needs the patches and a parse of every
/// changed file version, so it is usually limited to recent history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FunctionScope {
    Off,
    All,
    /// Commits that landed at or after this time (unix seconds).
    Since(i64),
}

#[derive(Clone, Debug)]
pub struct HistoryOptions {
    /// Read history as of this revision (a hash, branch or tag); `None` is HEAD.
    pub as_of: Option<String>,
    /// Ignore commits that landed before this time (unix seconds).
    pub since: Option<i64>,
    /// Only changes to paths matching these git pathspecs (`*.py`, `:(exclude)*.po`); empty:
    /// every file. Diffing is most of the cost of a read, and generated files (translations,
    /// lock files) are often the biggest diffs.
    pub paths: Vec<String>,
    pub functions: FunctionScope,
    /// Follow first parents only, each merge counted once with its whole diff (one change per
    /// merged pull request, as `risk_eval.py` counts function revisions); otherwise every
    /// non-merge commit counts, merges themselves not at all.
    pub first_parent: bool,
    pub half_life_days: f64,
    /// How long a git call may go without output before it is killed.
    pub timeout: Duration,
    pub cancel: Option<CancelToken>,
    /// The git executable.
    pub git: PathBuf,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            as_of: None,
            since: None,
            paths: Vec::new(),
            functions: FunctionScope::Off,
            first_parent: false,
            half_life_days: DEFAULT_HALF_LIFE_DAYS,
            timeout: DEFAULT_TIMEOUT,
            cancel: None,
            git: PathBuf::from("git"),
        }
    }
}

impl HistoryOptions {
    fn scope(&self) -> FactsScope {
        FactsScope {
            since: self.since,
            first_parent: self.first_parent,
            functions: self.functions,
            paths: self.paths.clone(),
        }
    }

    fn stats_options(&self) -> StatsOptions {
        StatsOptions { half_life_days: self.half_life_days, since: None }
    }

    fn open(&self, root: &Path) -> Result<Git, HistoryError> {
        Git::open(&self.git, root, self.timeout, self.cancel.clone())
    }
}

/// A commit, as citations pin it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub hash: String,
    /// Committer time, unix seconds.
    pub time: i64,
}

/// What [`History::refresh`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Same head: nothing read.
    Unchanged,
    /// The old head is an ancestor of the new one: only the commits in between were read.
    Extended { commits: usize },
    /// History was rewritten, or the facts were read with other options: read again in full.
    Rebuilt,
}

/// The commit `as_of` (default HEAD) resolves to, without reading any history: what citations
/// are pinned to. `Ok(None)` (logged once) when there is no git, no repository or no commit.
pub fn head(root: &Path, options: &HistoryOptions) -> Result<Option<Head>, HistoryError> {
    feature_off_is_none(options.open(root).and_then(|git| resolve(&git, options.as_of.as_deref())))
}

/// Which of `paths` (absolute, inside the repository's work tree) differ from HEAD: modified,
/// staged, or untracked. `Ok(None)` when there is no git, no repository or no commit — the
/// caller cannot tell, and says so.
pub fn uncommitted(
    root: &Path,
    paths: &[PathBuf],
    options: &HistoryOptions,
) -> Result<Option<Vec<PathBuf>>, HistoryError> {
    let changed = options.open(root).and_then(|git| {
        let workdir = git.workdir().map(Path::to_path_buf).unwrap_or_else(|| root.to_path_buf());
        // Commands run with `--git-dir` from an unrelated directory: name the work tree, and
        // the paths relative to its top.
        let mut args: Vec<std::ffi::OsString> = vec![format!("--work-tree={}", workdir.display()).into()];
        args.extend(
            ["-c", "core.quotePath=false", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--"]
                .map(std::ffi::OsString::from),
        );
        for path in paths {
            let rel = path.strip_prefix(&workdir).unwrap_or(path);
            args.push(format!(":(top,literal){}", rel.display()).into());
        }
        let out = git.output(&args)?;
        // Entries are `XY path\0`, a rename adding `orig\0`: the path is what counts.
        let mut changed = Vec::new();
        let mut fields = out.split(|&b| b == 0).filter(|f| !f.is_empty());
        while let Some(entry) = fields.next() {
            if entry.len() < 4 {
                continue;
            }
            let status = &entry[..2];
            changed.push(workdir.join(String::from_utf8_lossy(&entry[3..]).as_ref()));
            if status[0] == b'R' || status[0] == b'C' {
                fields.next();
            }
        }
        Ok(changed)
    });
    feature_off_is_none(changed)
}

/// History of one repository: its facts and the aggregates computed from them.
#[derive(Clone, Debug)]
pub struct History {
    facts: HistoryFacts,
    stats: HistoryStats,
    stats_options: StatsOptions,
    workdir: Option<PathBuf>,
}

impl History {
    /// Reads the history of the repository containing `root`, as of `options.as_of`.
    /// `Ok(None)` (with one `info` line) when there is no git, no repository or no commit.
    pub fn load(root: &Path, options: &HistoryOptions) -> Result<Option<History>, HistoryError> {
        let loaded = options.open(root).and_then(|git| {
            let head = resolve(&git, options.as_of.as_deref())?;
            let facts = read_facts(&git, HistoryFacts::empty(options.scope()), &head, None, options)?.0;
            Ok(History::new(facts, options.stats_options(), git.workdir().map(Path::to_path_buf)))
        });
        feature_off_is_none(loaded)
    }

    /// History from facts persisted earlier (to be [`refresh`](History::refresh)ed); `None` when
    /// they were written by an incompatible version or are damaged.
    pub fn from_facts(facts: HistoryFacts, half_life_days: f64) -> Option<History> {
        facts.is_consistent().then(|| History::new(facts, StatsOptions { half_life_days, since: None }, None))
    }

    fn new(facts: HistoryFacts, stats_options: StatsOptions, workdir: Option<PathBuf>) -> History {
        let started = Instant::now();
        let stats = stats::compute(&facts, &stats_options);
        tracing::debug!("history aggregates for {} files in {:?}", stats.files.len(), started.elapsed());
        History { facts, stats, stats_options, workdir }
    }

    /// Brings the history up to `options.as_of` (default: the current HEAD), reading only the
    /// new commits when the old head is an ancestor of the new one and the options still match.
    pub fn refresh(&mut self, root: &Path, options: &HistoryOptions) -> Result<Refresh, HistoryError> {
        let git = options.open(root)?;
        self.workdir = git.workdir().map(Path::to_path_buf);
        let head = resolve(&git, options.as_of.as_deref())?;
        let compatible = self.facts.format == FACTS_FORMAT && self.facts.scope == options.scope();
        if compatible && head.hash == self.facts.head {
            if self.stats_options != options.stats_options() {
                self.stats_options = options.stats_options();
                self.stats = stats::compute(&self.facts, &self.stats_options);
            }
            return Ok(Refresh::Unchanged);
        }
        // `merge-base` fails outright when the old head no longer exists (rewritten history,
        // garbage collected): that is a rebuild too.
        let extends = compatible
            && !self.facts.head.is_empty()
            && git
                .status(&["merge-base", "--is-ancestor", self.facts.head.as_str(), head.hash.as_str()])
                .unwrap_or(false);
        if extends {
            let old = std::mem::replace(&mut self.facts, HistoryFacts::empty(options.scope()));
            let old_head = old.head.clone();
            let (facts, read) = read_facts(&git, old, &head, Some(&old_head), options)?;
            // First-parent history only extends when the old head is on the new first-parent
            // chain; otherwise the new chain reaches old commits through another path.
            if !options.first_parent || read.oldest_first_parent.as_deref().is_none_or(|p| p == old_head) {
                *self = History::new(facts, options.stats_options(), self.workdir.take());
                return Ok(Refresh::Extended { commits: read.commits });
            }
        }
        let facts = read_facts(&git, HistoryFacts::empty(options.scope()), &head, None, options)?.0;
        *self = History::new(facts, options.stats_options(), self.workdir.take());
        Ok(Refresh::Rebuilt)
    }

    /// The half-life the aggregates were decayed with, in days.
    pub fn half_life_days(&self) -> f64 {
        self.stats_options.half_life_days
    }

    /// The commit everything was read as of.
    pub fn head(&self) -> Head {
        Head { hash: self.facts.head.clone(), time: self.facts.head_time }
    }

    /// The repository's work tree (`None` for a bare repository, or facts not yet refreshed).
    pub fn workdir(&self) -> Option<&Path> {
        self.workdir.as_deref()
    }

    /// Anchors [`repo_path`](History::repo_path) at another directory laid out like the
    /// repository: a checkout of the *as of* commit elsewhere (`repolens risks --rev`).
    pub fn set_workdir(&mut self, workdir: PathBuf) {
        self.workdir = Some(workdir);
    }

    /// The repository-relative path (as keys here are) of a path in the work tree.
    pub fn repo_path(&self, path: &Path) -> Option<String> {
        let workdir = self.workdir.as_deref()?;
        let relative = match path.strip_prefix(workdir) {
            Ok(rel) => rel.to_path_buf(),
            // git reports the top directory with symlinks resolved.
            Err(_) => path.canonicalize().ok()?.strip_prefix(workdir).ok()?.to_path_buf(),
        };
        let parts: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
        Some(parts?.join("/"))
    }

    pub fn facts(&self) -> &HistoryFacts {
        &self.facts
    }

    /// The facts, to persist them.
    pub fn into_facts(self) -> HistoryFacts {
        self.facts
    }

    pub fn stats(&self) -> &HistoryStats {
        &self.stats
    }

    /// Aggregates over another window or half-life, from the same facts (e.g. the last 12
    /// months next to the decayed whole history).
    pub fn stats_with(&self, options: &StatsOptions) -> HistoryStats {
        stats::compute(&self.facts, options)
    }

    /// A file's history by repository-relative path; `None` if it did not change in the window
    /// (or does not exist as of the head).
    pub fn file(&self, path: &str) -> Option<&FileHistory> {
        self.stats.files.get(path)
    }

    pub fn function(&self, path: &str, qualified_name: &str) -> Option<&FunctionHistory> {
        self.file(path)?.function(qualified_name)
    }

    /// A commit by the index that aggregates refer to ([`FileHistory::fixes`]).
    pub fn commit(&self, idx: u32) -> &CommitFacts {
        &self.facts.commits[idx as usize]
    }

    pub fn author(&self, idx: u32) -> &Author {
        &self.facts.authors[idx as usize]
    }

    /// The file's most recent fix commits, newest first.
    pub fn recent_fixes(&self, path: &str, limit: usize) -> Vec<&CommitFacts> {
        self.file(path)
            .map_or_else(Vec::new, |f| f.fixes.iter().take(limit).map(|&i| self.commit(i)).collect())
    }
}

/// Quiet "feature off" outcomes become `Ok(None)`, logged once.
fn feature_off_is_none<T>(res: Result<T, HistoryError>) -> Result<Option<T>, HistoryError> {
    match res {
        Ok(it) => Ok(Some(it)),
        Err(err) if err.is_feature_off() => {
            tracing::info!("git history is off: {err}");
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

fn resolve(git: &Git, rev: Option<&str>) -> Result<Head, HistoryError> {
    let spec = format!("{}^{{commit}}", rev.unwrap_or("HEAD"));
    let out = match git.output(&["rev-parse", "--verify", "--quiet", "--end-of-options", &spec]) {
        Ok(out) => out,
        Err(HistoryError::Failed { .. }) => {
            return Err(match rev {
                None => HistoryError::NoCommits,
                Some(rev) => HistoryError::UnknownRevision { rev: rev.to_owned() },
            });
        }
        Err(err) => return Err(err),
    };
    let hash = String::from_utf8_lossy(&out).trim().to_owned();
    let out = git.output(&["show", "-s", "--format=%ct", &hash, "--"])?;
    let time = String::from_utf8_lossy(&out).trim().parse().map_err(|_| HistoryError::Parse {
        command: "show".to_owned(),
        detail: format!("no commit time for {hash}"),
    })?;
    Ok(Head { hash, time })
}

/// Most `git log` processes one read runs side by side, and the fewest commits worth a process.
const MAX_LOG_PROCESSES: usize = 4;
const MIN_COMMITS_PER_PROCESS: usize = 1000;

/// Describes the commits listed in `input` (one hash a line), in that order.
fn read_log(git: &Git, request: &LogRequest, input: Vec<u8>) -> Result<Vec<log::RawCommit>, HistoryError> {
    let mut commits = Vec::new();
    git.stream(&request.log_args(), Some(input), |out| {
        let mut emit = |commit: log::RawCommit| {
            commits.push(commit);
            Ok(())
        };
        if request.patches { parse_patch_log(out, &mut emit) } else { parse_numstat_log(out, &mut emit) }
    })?;
    Ok(commits)
}

/// What one read added.
struct ReadSummary {
    commits: usize,
    /// The first parent of the oldest commit listed.
    oldest_first_parent: Option<String>,
}

/// Reads the commits reachable from `head` (and not from `exclude`) into `base`.
fn read_facts(
    git: &Git,
    base: HistoryFacts,
    head: &Head,
    exclude: Option<&str>,
    options: &HistoryOptions,
) -> Result<(HistoryFacts, ReadSummary), HistoryError> {
    let started = Instant::now();
    let mut builder = FactsBuilder::new(base);
    let scope = builder.scope().clone();
    let range = match exclude {
        Some(old) => format!("{old}..{}", head.hash),
        None => head.hash.clone(),
    };
    let patches = scope.functions != FunctionScope::Off;
    let request =
        LogRequest { since: scope.since, first_parent: scope.first_parent, patches, paths: &scope.paths };
    let listed = git.output(&request.rev_list_args(&range))?;
    // `hash parent...` per line, newest first.
    let lines: Vec<&[u8]> = listed.split(|&b| b == b'\n').filter(|line| !line.is_empty()).collect();
    let hashes: Vec<&[u8]> = lines.iter().filter_map(|line| line.split(|&b| b == b' ').next()).collect();
    let summary = ReadSummary {
        commits: hashes.len(),
        oldest_first_parent: lines
            .last()
            .and_then(|line| line.split(|&b| b == b' ').nth(1))
            .map(|parent| String::from_utf8_lossy(parent).into_owned()),
    };
    // git log spends its time diffing, one commit after another: long histories are split into
    // contiguous runs described by processes side by side, then put back in order.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_LOG_PROCESSES);
    let runs = hashes.len().div_ceil(MIN_COMMITS_PER_PROCESS).clamp(1, workers);
    let run_len = hashes.len().div_ceil(runs).max(1);
    let parts: Vec<Result<Vec<log::RawCommit>, HistoryError>> = std::thread::scope(|s| {
        let handles: Vec<_> = hashes
            .chunks(run_len)
            .map(|run| {
                let mut input = run.join(&b'\n');
                input.push(b'\n');
                s.spawn(move || read_log(git, &request, input))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("log readers do not panic")).collect()
    });
    // In a shallow clone (CI checkouts) the oldest commits look like roots and their diffs like
    // the creation of every file; what they really changed is unknown, so they change nothing.
    let shallow_roots: Vec<&[u8]> = if lines.iter().any(|line| !line.contains(&b' '))
        && git.output(&["rev-parse", "--is-shallow-repository"])?.starts_with(b"true")
    {
        lines.iter().filter(|line| !line.contains(&b' ')).copied().collect()
    } else {
        Vec::new()
    };
    if !shallow_roots.is_empty() {
        tracing::info!(
            "shallow clone: history starts at {} commit(s) whose changes are unknown",
            shallow_roots.len()
        );
    }
    for part in parts {
        for mut commit in part? {
            if shallow_roots.contains(&commit.hash.as_bytes()) {
                commit.changes.clear();
            }
            builder.push(commit, &functions::supported);
        }
    }
    let log_time = started.elapsed();
    let jobs = builder.take_jobs();
    let results = functions::run_jobs(git, &jobs, &Languages::embedded(), options.cancel.as_ref())?;
    for (job_idx, touched) in results {
        builder.set_functions(&jobs[job_idx], touched);
    }
    tracing::info!(
        "git history: {} commits read in {:?} (log {:?}, {} file versions analysed for functions)",
        summary.commits,
        started.elapsed(),
        log_time,
        jobs.len()
    );
    Ok((builder.finish(head.hash.clone(), head.time), summary))
}
