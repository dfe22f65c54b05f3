//! Per-file and per-function aggregates computed from the facts: revisions, churn, decayed
//! revisions and churn, authors, fix commits, first and last change.
//!
//! Renames are followed by walking commits newest to oldest with a map from each path, as it was
//! at that point of the walk, to the file it became by the `as of` commit (the same walk as
//! `resolve_back` in `risk_eval.py`). A path is cut from its older history where it was created
//! (added, or the target of a rename): older changes to that path belong to a file that no longer
//! exists, so a deleted-and-recreated `utils.py` does not inherit its predecessor's churn.
//! Unlike `risk_eval.py`, a rename's old path is followed even when another file has the same
//! path today (that file was created later, so the cut above already separates them).
//!
//! Decay is exponential in the age of the commit at the `as of` time:
//! `0.5 ^ (age_days / half_life_days)`, ages counted from committer times and clamped at zero
//! (clock skew can put a parent after its child).

use rustc_hash::FxHashMap;

use super::{
    ChangeKind,
    facts::{CommitFacts, HistoryFacts},
};

/// Authors with fewer than this share of a file's commits are its minor contributors
/// (Bird et al. 2011, "Don't touch my code!").
pub const MINOR_AUTHOR_SHARE: f64 = 0.05;

/// How aggregates are computed from the facts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatsOptions {
    /// Half-life of the decay, in days.
    pub half_life_days: f64,
    /// Only commits that landed at or after this time (unix seconds) count; renames are still
    /// followed through older ones.
    pub since: Option<i64>,
}

/// Aggregates for every file that exists at the `as of` commit and changed in the window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryStats {
    /// Keyed by repository-relative path at the `as of` commit.
    pub files: FxHashMap<String, FileHistory>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FileHistory {
    /// Commits that changed the file.
    pub revisions: u32,
    pub added: u64,
    pub deleted: u64,
    /// Σ over commits of `0.5 ^ (age_days / half_life)`.
    pub decayed_revisions: f64,
    /// Σ over commits of `(added + deleted) · 0.5 ^ (age_days / half_life)`.
    pub decayed_churn: f64,
    /// Each author (index into [`HistoryFacts::authors`]) with their number of commits, most
    /// commits first, then the most recent first.
    pub authors: Vec<(u32, u32)>,
    /// Fix commits (indices into [`HistoryFacts::commits`]), newest first.
    pub fixes: Vec<u32>,
    /// Σ over fix commits of `0.5 ^ (age_days / half_life)`: prior fixes, recent ones weighing
    /// more (Google's bug-prediction "time-weighted fixes", with exponential weights).
    pub decayed_fixes: f64,
    /// Committer time of the oldest and newest commit that changed the file.
    pub first_seen: i64,
    pub last_change: i64,
    /// Functions by qualified name (`Class.method`), when history was read at function level.
    pub functions: FxHashMap<String, FunctionHistory>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionHistory {
    pub revisions: u32,
    /// Lines added or rewritten inside the function: what `risk_eval.py` calls churn.
    pub added: u64,
    /// Lines removed from inside it.
    pub deleted: u64,
    pub decayed_revisions: f64,
    pub decayed_churn: f64,
    /// Fix commits that changed it.
    pub fixes: u32,
    /// Σ over those fix commits of `0.5 ^ (age_days / half_life)`.
    pub decayed_fixes: f64,
    pub last_change: i64,
}

impl FileHistory {
    /// Lines added plus lines deleted.
    pub fn churn(&self) -> u64 {
        self.added + self.deleted
    }

    /// Authors whose share of the file's commits is below `share` (see [`MINOR_AUTHOR_SHARE`]).
    pub fn minor_authors(&self, share: f64) -> usize {
        let total = f64::from(self.revisions.max(1));
        self.authors.iter().filter(|&&(_, n)| f64::from(n) / total < share).count()
    }

    pub fn function(&self, qualified_name: &str) -> Option<&FunctionHistory> {
        self.functions.get(qualified_name)
    }
}

impl FunctionHistory {
    pub fn churn(&self) -> u64 {
        self.added + self.deleted
    }
}

/// Accumulates one file while walking commits.
struct FileAcc {
    revisions: u32,
    added: u64,
    deleted: u64,
    decayed_revisions: f64,
    decayed_churn: f64,
    /// Author → (commits, rank of their newest commit among the file's authors).
    authors: FxHashMap<u32, (u32, u32)>,
    fixes: Vec<u32>,
    decayed_fixes: f64,
    first_seen: i64,
    last_change: i64,
    last_commit: usize,
    functions: FxHashMap<u32, FunctionAcc>,
}

struct FunctionAcc {
    stats: FunctionHistory,
    last_commit: usize,
}

pub(crate) fn compute(facts: &HistoryFacts, options: &StatsOptions) -> HistoryStats {
    let half_life = options.half_life_days.max(f64::MIN_POSITIVE);
    // Raw path → the file it is at the `as of` commit (`None`: no file there any more).
    let mut alias: FxHashMap<u32, Option<u32>> = FxHashMap::default();
    let mut files: FxHashMap<u32, FileAcc> = FxHashMap::default();
    for (commit_idx, commit) in facts.commits.iter().enumerate() {
        let counted = options.since.is_none_or(|since| commit.commit_time >= since);
        let age_days = (facts.head_time - commit.commit_time).max(0) as f64 / 86_400.0;
        let weight = 0.5f64.powf(age_days / half_life);
        for change in &commit.changes {
            let default = (change.kind != ChangeKind::Deleted).then_some(change.path);
            let target = *alias.entry(change.path).or_insert(default);
            match change.kind {
                ChangeKind::Added => {
                    alias.insert(change.path, None);
                }
                ChangeKind::Renamed => {
                    alias.insert(change.path, None);
                    if let Some(old) = change.old_path {
                        alias.insert(old, target);
                    }
                }
                ChangeKind::Modified | ChangeKind::Deleted => {}
            }
            if let (Some(target), true) = (target, counted) {
                let acc = files.entry(target).or_insert_with(|| FileAcc::new(commit.commit_time));
                acc.add(commit_idx, commit, change, weight);
            }
        }
    }
    let files = files
        .into_iter()
        .map(|(path, acc)| (facts.paths[path as usize].clone(), acc.finish(facts)))
        .collect();
    HistoryStats { files }
}

impl FileAcc {
    fn new(time: i64) -> FileAcc {
        FileAcc {
            revisions: 0,
            added: 0,
            deleted: 0,
            decayed_revisions: 0.0,
            decayed_churn: 0.0,
            authors: FxHashMap::default(),
            fixes: Vec::new(),
            decayed_fixes: 0.0,
            first_seen: time,
            last_change: time,
            last_commit: usize::MAX,
            functions: FxHashMap::default(),
        }
    }

    fn add(
        &mut self,
        commit_idx: usize,
        commit: &CommitFacts,
        change: &super::facts::FileChange,
        weight: f64,
    ) {
        let lines = u64::from(change.added) + u64::from(change.deleted);
        self.added += u64::from(change.added);
        self.deleted += u64::from(change.deleted);
        self.decayed_churn += weight * lines as f64;
        // One commit can reach the same file through two paths (a rename plus an edit of the
        // old path on a merged branch); it is still one revision.
        if self.last_commit != commit_idx {
            self.last_commit = commit_idx;
            self.revisions += 1;
            self.decayed_revisions += weight;
            let rank = self.authors.len() as u32;
            self.authors.entry(commit.author).or_insert((0, rank)).0 += 1;
            if commit.is_fix {
                self.fixes.push(commit_idx as u32);
                self.decayed_fixes += weight;
            }
            self.first_seen = self.first_seen.min(commit.commit_time);
            self.last_change = self.last_change.max(commit.commit_time);
        }
        for function in change.functions.iter().flatten() {
            let acc = self.functions.entry(function.name).or_insert_with(|| FunctionAcc {
                stats: FunctionHistory {
                    revisions: 0,
                    added: 0,
                    deleted: 0,
                    decayed_revisions: 0.0,
                    decayed_churn: 0.0,
                    fixes: 0,
                    decayed_fixes: 0.0,
                    last_change: commit.commit_time,
                },
                last_commit: usize::MAX,
            });
            let stats = &mut acc.stats;
            let lines = u64::from(function.added) + u64::from(function.deleted);
            stats.added += u64::from(function.added);
            stats.deleted += u64::from(function.deleted);
            stats.decayed_churn += weight * lines as f64;
            if acc.last_commit != commit_idx {
                acc.last_commit = commit_idx;
                stats.revisions += 1;
                stats.decayed_revisions += weight;
                stats.fixes += u32::from(commit.is_fix);
                if commit.is_fix {
                    stats.decayed_fixes += weight;
                }
                stats.last_change = stats.last_change.max(commit.commit_time);
            }
        }
    }

    fn finish(self, facts: &HistoryFacts) -> FileHistory {
        // Ties go to the most recent author (not to the interning order, which depends on how
        // the facts were read).
        let mut authors: Vec<(u32, (u32, u32))> = self.authors.into_iter().collect();
        authors.sort_by_key(|&(_, (n, rank))| (std::cmp::Reverse(n), rank));
        let authors = authors.into_iter().map(|(author, (n, _))| (author, n)).collect();
        let functions = self
            .functions
            .into_iter()
            .map(|(name, acc)| (facts.names[name as usize].clone(), acc.stats))
            .collect();
        FileHistory {
            revisions: self.revisions,
            added: self.added,
            deleted: self.deleted,
            decayed_revisions: self.decayed_revisions,
            decayed_churn: self.decayed_churn,
            authors,
            fixes: self.fixes,
            decayed_fixes: self.decayed_fixes,
            first_seen: self.first_seen,
            last_change: self.last_change,
            functions,
        }
    }
}
