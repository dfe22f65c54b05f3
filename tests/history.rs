//! Git history on repositories the tests create: commits with known dates, authors and
//! messages, a rename, a deleted-and-recreated file, functions changed several times, a merge.
//! Every expected number below is worked out by hand in the comments next to it.
//!
//! The repositories are made with the real `git` CLI, with their own identity and no global or
//! system configuration, and need no network.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use repolens::{
    history::{
        FileHistory, FunctionScope, History, HistoryError, HistoryFacts, HistoryOptions, Refresh,
        StatsOptions,
    },
    stdx::CancelToken,
};

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200;
const DAY: i64 = 86_400;

struct TestRepo {
    dir: tempfile::TempDir,
}

impl TestRepo {
    fn new() -> TestRepo {
        let repo = TestRepo { dir: tempfile::tempdir().unwrap() };
        repo.git(&["init", "-q", "-b", "main"], None);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git in the repository with its own identity and no user or system config;
    /// `when` sets both author and committer dates.
    fn git(&self, args: &[&str], when: Option<(&str, i64)>) -> String {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.path())
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path())
            .env("GIT_TERMINAL_PROMPT", "0");
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("GIT_") && !k.starts_with("GIT_CONFIG")) {
                cmd.env_remove(key);
            }
        }
        let (author, time) = when.unwrap_or(("Nobody", T0));
        let date = format!("@{time} +0000");
        let email = format!("{}@example.com", author.to_lowercase());
        cmd.env("GIT_AUTHOR_NAME", author)
            .env("GIT_AUTHOR_EMAIL", &email)
            .env("GIT_COMMITTER_NAME", author)
            .env("GIT_COMMITTER_EMAIL", &email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
        let out = cmd.output().expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    /// Commits everything in the work tree as `author`, `day` days after T0; returns the hash.
    fn commit(&self, author: &str, day: i64, message: &str) -> String {
        self.git(&["add", "-A"], None);
        self.git(&["commit", "-q", "--allow-empty", "-m", message], Some((author, T0 + day * DAY)));
        self.git(&["rev-parse", "HEAD"], None).trim().to_owned()
    }
}

const CORE_V1: &str = "\
import os


@decorator
def alpha(x):
    if x:
        return x
    return None


class Box:
    def size(self):
        return 1
";

/// The story every test reads (half-life 90 days, so ages of 0/90/180/270/360 days weigh
/// 1, 1/2, 1/4, 1/8, 1/16 at day 360):
/// - c1, day 0, Alice: `pkg/core.py` (13 lines: `alpha` lines 4–8 with its decorator,
///   `Box.size` lines 12–13), `pkg/tmp.py` (1 line), `docs/user guide.md` (1 line);
/// - c2, day 90, Bob, `fix: ...`: rewrites `alpha`'s line 8; deletes `pkg/tmp.py`;
/// - c3, day 180, Alice, not a fix despite "prefix"/"debug": rewrites `Box.size`'s line 13 and
///   appends `beta` (one hunk `-13 +13,5`: line 13 for `Box.size`, lines 16–17 for `beta`);
/// - c4, day 270, Carol: renames `pkg/core.py` to `pkg/engine.py`, content unchanged;
/// - c5, day 360, Bob, `Fix crash ... (fixes #12)`: rewrites `beta`'s line 17; creates a new
///   `pkg/tmp.py` (2 lines); appends a line to `docs/user guide.md`.
struct Story {
    repo: TestRepo,
    commits: Vec<String>,
}

fn story() -> Story {
    let repo = TestRepo::new();
    let mut commits = Vec::new();
    repo.write("pkg/core.py", CORE_V1);
    repo.write("pkg/tmp.py", "x = 1\n");
    repo.write("docs/user guide.md", "# Guide\n");
    commits.push(repo.commit("Alice", 0, "Initial import"));

    repo.write("pkg/core.py", &CORE_V1.replace("    return None", "    return []"));
    std::fs::remove_file(repo.path().join("pkg/tmp.py")).unwrap();
    commits.push(repo.commit("Bob", 90, "fix: handle empty input in alpha"));

    let v3 = CORE_V1.replace("    return None", "    return []").replace("return 1", "return 2")
        + "\n\ndef beta(y):\n    return y * 2\n";
    repo.write("pkg/core.py", &v3);
    commits.push(repo.commit("Alice", 180, "Add prefix option to the debug helper"));

    repo.git(&["mv", "pkg/core.py", "pkg/engine.py"], None);
    commits.push(repo.commit("Carol", 270, "Rename core to engine"));

    repo.write("pkg/engine.py", &v3.replace("y * 2", "y * 3"));
    repo.write("pkg/tmp.py", "y = 2\nz = 3\n");
    repo.write("docs/user guide.md", "# Guide\nRead me.\n");
    commits.push(repo.commit("Bob", 360, "Fix crash in beta (fixes #12)"));
    Story { repo, commits }
}

fn load(root: &Path, options: &HistoryOptions) -> History {
    History::load(root, options).expect("history loads").expect("a repository")
}

fn with_functions() -> HistoryOptions {
    HistoryOptions { functions: FunctionScope::All, ..HistoryOptions::default() }
}

fn author_names(history: &History, file: &FileHistory) -> Vec<(String, u32)> {
    file.authors.iter().map(|&(a, n)| (history.author(a).name.clone(), n)).collect()
}

fn fix_subjects(history: &History, file: &FileHistory) -> Vec<String> {
    file.fixes.iter().map(|&c| history.commit(c).subject.clone()).collect()
}

#[test]
fn file_history_follows_renames_and_decays() {
    let story = story();
    for options in [HistoryOptions::default(), with_functions()] {
        let history = load(story.repo.path(), &options);
        assert_eq!(history.head().hash, story.commits[4]);
        assert_eq!(history.head().time, T0 + 360 * DAY);
        assert!(history.file("pkg/core.py").is_none(), "renamed away");

        let engine = history.file("pkg/engine.py").expect("engine.py has history");
        // All five commits, the pure rename included.
        assert_eq!(engine.revisions, 5);
        // Added 13 + 1 + 5 + 0 + 1, deleted 0 + 1 + 1 + 0 + 1.
        assert_eq!((engine.added, engine.deleted, engine.churn()), (20, 3, 23));
        // 1/16 + 1/8 + 1/4 + 1/2 + 1.
        assert_eq!(engine.decayed_revisions, 1.9375);
        // 13/16 + 2/8 + 6/4 + 0/2 + 2/1.
        assert_eq!(engine.decayed_churn, 4.5625);
        assert_eq!(
            author_names(&history, engine),
            [("Bob".to_owned(), 2), ("Alice".to_owned(), 2), ("Carol".to_owned(), 1)]
        );
        assert_eq!(engine.minor_authors(0.25), 1, "Carol has 1 of 5 commits");
        assert_eq!(
            fix_subjects(&history, engine),
            ["Fix crash in beta (fixes #12)", "fix: handle empty input in alpha"]
        );
        assert_eq!((engine.first_seen, engine.last_change), (T0, T0 + 360 * DAY));

        // Deleted in c2 and created again in c5: only the new file's commit counts.
        let tmp = history.file("pkg/tmp.py").unwrap();
        assert_eq!((tmp.revisions, tmp.added, tmp.deleted, tmp.first_seen), (1, 2, 0, T0 + 360 * DAY));

        // A path with a space, read from both output formats.
        let guide = history.file("docs/user guide.md").unwrap();
        assert_eq!((guide.revisions, guide.added, guide.deleted), (2, 2, 0));
        assert_eq!(
            history.recent_fixes("pkg/engine.py", 1).iter().map(|c| c.subject.as_str()).collect::<Vec<_>>(),
            ["Fix crash in beta (fixes #12)"]
        );
    }
}

#[test]
fn pathspecs_limit_what_is_read() {
    let story = story();
    let python = HistoryOptions { paths: vec!["*.py".to_owned()], ..with_functions() };
    let history = load(story.repo.path(), &python);
    assert!(history.file("docs/user guide.md").is_none());
    let all = load(story.repo.path(), &with_functions());
    assert_eq!(history.file("pkg/engine.py"), all.file("pkg/engine.py"));
    // Commits that change nothing matched are left out of the facts.
    let docs = HistoryOptions { paths: vec!["docs".to_owned()], ..HistoryOptions::default() };
    assert_eq!(load(story.repo.path(), &docs).facts().commits.len(), 2);
}

#[test]
fn function_history_maps_hunks_onto_spans() {
    let story = story();
    let history = load(story.repo.path(), &with_functions());
    let engine = history.file("pkg/engine.py").unwrap();
    let mut names: Vec<&str> = engine.functions.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["Box.size", "alpha", "beta"]);

    // c1 adds lines 4–8 (decorator included), c2 rewrites line 8 (a fix).
    let alpha = engine.function("alpha").unwrap();
    assert_eq!((alpha.revisions, alpha.added, alpha.deleted, alpha.fixes), (2, 6, 1, 1));
    assert_eq!(alpha.decayed_revisions, 1.0 / 16.0 + 1.0 / 8.0);
    assert_eq!(alpha.decayed_churn, 5.0 / 16.0 + 2.0 / 8.0);

    // c1 adds lines 12–13; c3's hunk rewrites line 13 (the removed line is Box.size's).
    let size = history.function("pkg/engine.py", "Box.size").unwrap();
    assert_eq!((size.revisions, size.added, size.deleted, size.fixes), (2, 3, 1, 0));
    assert_eq!(size.decayed_churn, 2.0 / 16.0 + 2.0 / 4.0);

    // c3 adds lines 16–17; the rename changes no line; c5 rewrites line 17 (a fix).
    let beta = history.function("pkg/engine.py", "beta").unwrap();
    assert_eq!((beta.revisions, beta.added, beta.deleted, beta.fixes), (2, 3, 1, 1));
    assert_eq!(beta.decayed_revisions, 1.0 / 4.0 + 1.0);
    assert_eq!(beta.last_change, T0 + 360 * DAY);

    // Function scope by time: only c5 is analysed.
    let recent = load(
        story.repo.path(),
        &HistoryOptions { functions: FunctionScope::Since(T0 + 300 * DAY), ..HistoryOptions::default() },
    );
    let engine = recent.file("pkg/engine.py").unwrap();
    assert_eq!(engine.revisions, 5, "file level still reads everything");
    let names: Vec<&str> = engine.functions.keys().map(String::as_str).collect();
    assert_eq!(names, ["beta"]);
    assert_eq!(engine.function("beta").unwrap().revisions, 1);
}

#[test]
fn as_of_an_older_commit_ignores_later_ones() {
    let story = story();
    let options = HistoryOptions { as_of: Some(story.commits[2].clone()), ..with_functions() };
    let history = load(story.repo.path(), &options);
    assert_eq!(history.head().hash, story.commits[2]);
    assert_eq!(history.facts().commits.len(), 3);
    assert!(history.file("pkg/engine.py").is_none(), "not renamed yet");
    assert!(history.file("pkg/tmp.py").is_none(), "deleted at c2");

    let core = history.file("pkg/core.py").unwrap();
    assert_eq!((core.revisions, core.added, core.deleted), (3, 19, 2));
    // Ages from c3 (day 180): 1/4, 1/2, 1.
    assert_eq!(core.decayed_revisions, 1.75);
    assert_eq!(core.decayed_churn, 13.0 / 4.0 + 2.0 / 2.0 + 6.0);
    assert_eq!(fix_subjects(&history, core), ["fix: handle empty input in alpha"]);
    let beta = history.function("pkg/core.py", "beta").unwrap();
    assert_eq!((beta.revisions, beta.added, beta.fixes), (1, 2, 0));

    // A tag works as well as a hash; an unknown revision is an error, not "feature off".
    story.repo.git(&["tag", "v1", &story.commits[1]], None);
    let at_tag =
        load(story.repo.path(), &HistoryOptions { as_of: Some("v1".to_owned()), ..Default::default() });
    assert_eq!(at_tag.head().hash, story.commits[1]);
    let err = History::load(
        story.repo.path(),
        &HistoryOptions { as_of: Some("nope".into()), ..Default::default() },
    )
    .unwrap_err();
    assert!(matches!(err, HistoryError::UnknownRevision { .. }), "{err}");
}

#[test]
fn windows_and_half_lives_come_from_the_same_facts() {
    let story = story();
    let history = load(story.repo.path(), &HistoryOptions::default());
    // Since day 260: c4 (the rename, no lines) and c5 (2 lines).
    let recent = history.stats_with(&StatsOptions { half_life_days: 30.0, since: Some(T0 + 260 * DAY) });
    let engine = &recent.files["pkg/engine.py"];
    assert_eq!((engine.revisions, engine.churn()), (2, 2));
    // Half-life 30 days: c4 (90 days old) weighs 1/8, c5 weighs 1.
    assert_eq!(engine.decayed_revisions, 1.125);
    assert_eq!(engine.first_seen, T0 + 270 * DAY);
}

#[test]
fn refresh_reads_only_new_commits_and_equals_a_rebuild() {
    let story = story();
    let old = HistoryOptions { as_of: Some(story.commits[2].clone()), ..with_functions() };
    let mut history = load(story.repo.path(), &old);

    // Persisted and restored, as the caller will do.
    let json = serde_json::to_string(history.facts()).unwrap();
    let facts: HistoryFacts = serde_json::from_str(&json).unwrap();
    assert_eq!(&facts, history.facts());
    let mut damaged = facts.clone();
    damaged.paths.pop();
    assert!(History::from_facts(damaged, 90.0).is_none(), "a damaged cache is rebuilt, not trusted");
    let mut restored = History::from_facts(facts, 90.0).unwrap();
    assert_eq!(restored.refresh(story.repo.path(), &old).unwrap(), Refresh::Unchanged);

    let now = with_functions();
    assert_eq!(history.refresh(story.repo.path(), &now).unwrap(), Refresh::Extended { commits: 2 });
    assert_eq!(restored.refresh(story.repo.path(), &now).unwrap(), Refresh::Extended { commits: 2 });
    assert_eq!(history.refresh(story.repo.path(), &now).unwrap(), Refresh::Unchanged);

    let full = load(story.repo.path(), &now);
    assert_eq!(normalized(&history), normalized(&full));
    assert_eq!(normalized(&restored), normalized(&full));
    assert_eq!(history.facts().commits, restored.facts().commits);

    // Rewritten history (the head commit amended away) is rebuilt.
    story
        .repo
        .git(&["commit", "-q", "--amend", "-m", "Fix crash in beta, again"], Some(("Bob", T0 + 361 * DAY)));
    assert_eq!(history.refresh(story.repo.path(), &now).unwrap(), Refresh::Rebuilt);
    assert_eq!(normalized(&history), normalized(&load(story.repo.path(), &now)));
    // So are facts read with other options.
    assert_eq!(history.refresh(story.repo.path(), &HistoryOptions::default()).unwrap(), Refresh::Rebuilt);
}

/// Stats with interned ids replaced by what they stand for, sorted: facts read in another order
/// intern authors and paths differently.
fn normalized(history: &History) -> Vec<String> {
    let mut out: Vec<String> = history
        .stats()
        .files
        .iter()
        .map(|(path, f)| {
            let mut functions: Vec<_> = f.functions.iter().map(|(n, g)| format!("{n}={g:?}")).collect();
            functions.sort();
            format!(
                "{path} rev={} +{} -{} d={} dc={} authors={:?} fixes={:?} {}..{} {functions:?}",
                f.revisions,
                f.added,
                f.deleted,
                f.decayed_revisions,
                f.decayed_churn,
                author_names(history, f),
                fix_subjects(history, f),
                f.first_seen,
                f.last_change
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn first_parent_counts_a_merged_branch_once() {
    let repo = TestRepo::new();
    repo.write("app.py", "def run():\n    return 1\n");
    let initial = repo.commit("Alice", 0, "Initial");
    repo.git(&["checkout", "-q", "-b", "feature"], None);
    repo.write("app.py", "def run():\n    return 2\n");
    repo.commit("Bob", 1, "Try two");
    repo.write("app.py", "def run():\n    return 3\n");
    repo.commit("Bob", 2, "Try three");
    repo.git(&["checkout", "-q", "main"], None);
    repo.git(
        &["merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #7 from bob/fix-run"],
        Some(("Alice", T0 + 3 * DAY)),
    );

    let commits = load(repo.path(), &with_functions());
    let run = commits.function("app.py", "run").unwrap();
    assert_eq!((run.revisions, run.fixes), (3, 0), "initial + two branch commits; merges skipped");

    let merged = load(repo.path(), &HistoryOptions { first_parent: true, ..with_functions() });
    let app = merged.file("app.py").unwrap();
    // The initial commit (+2), then the merge with its whole diff against main (-1 +1), a fix
    // by its branch name.
    assert_eq!((app.revisions, app.churn(), app.fixes.len()), (2, 4, 1));
    let run = merged.function("app.py", "run").unwrap();
    assert_eq!((run.revisions, run.added, run.deleted, run.fixes), (2, 3, 1, 1));

    // The merge extends first-parent facts read before it.
    let first_parent = HistoryOptions { first_parent: true, ..with_functions() };
    let mut refreshed = load(repo.path(), &HistoryOptions { as_of: Some(initial), ..first_parent.clone() });
    assert_eq!(refreshed.refresh(repo.path(), &first_parent).unwrap(), Refresh::Extended { commits: 1 });
    assert_eq!(normalized(&refreshed), normalized(&merged));
}

#[test]
fn no_repository_or_no_git_turns_the_feature_off() {
    let dir = tempfile::tempdir().unwrap();
    assert!(History::load(dir.path(), &HistoryOptions::default()).unwrap().is_none());
    assert!(repolens::history::head(dir.path(), &HistoryOptions::default()).unwrap().is_none());
    assert!(History::load(&dir.path().join("missing"), &HistoryOptions::default()).unwrap().is_none());

    // A repository without commits.
    let empty = TestRepo::new();
    assert!(History::load(empty.path(), &HistoryOptions::default()).unwrap().is_none());

    let no_git = HistoryOptions { git: PathBuf::from("/nonexistent/bin/git"), ..HistoryOptions::default() };
    assert!(History::load(empty.path(), &no_git).unwrap().is_none());
}

#[test]
fn subdirectories_and_bare_repositories() {
    let story = story();
    // Opened from a subdirectory, paths stay relative to the top of the repository.
    let history = load(&story.repo.path().join("pkg"), &HistoryOptions::default());
    assert!(history.file("pkg/engine.py").is_some());
    let workdir = history.workdir().unwrap().to_path_buf();
    assert_eq!(history.repo_path(&workdir.join("pkg").join("engine.py")).as_deref(), Some("pkg/engine.py"));
    assert_eq!(history.repo_path(&story.repo.path().join("pkg/engine.py")).as_deref(), Some("pkg/engine.py"));

    // A bare clone has no work tree but the same history.
    let bare = tempfile::tempdir().unwrap();
    let bare_path = bare.path().join("bare.git");
    story.repo.git(&["clone", "-q", "--bare", ".", bare_path.to_str().unwrap()], None);
    let from_bare = load(&bare_path, &with_functions());
    assert!(from_bare.workdir().is_none());
    assert_eq!(normalized(&from_bare), normalized(&load(story.repo.path(), &with_functions())));
}

#[test]
fn a_shallow_clone_does_not_credit_its_oldest_commit_with_every_file() {
    let story = story();
    let shallow = tempfile::tempdir().unwrap();
    let url = format!("file://{}", story.repo.path().display());
    story.repo.git(&["clone", "-q", "--depth", "2", &url, shallow.path().to_str().unwrap()], None);
    let history = load(shallow.path(), &with_functions());
    assert_eq!(history.facts().commits.len(), 2);
    // c4 (the rename) is the shallow boundary: only c5 changed anything we know of.
    let engine = history.file("pkg/engine.py").unwrap();
    assert_eq!((engine.revisions, engine.churn()), (1, 2));
    assert_eq!(history.function("pkg/engine.py", "beta").unwrap().revisions, 1);
    assert!(history.function("pkg/engine.py", "alpha").is_none());
}

#[test]
fn timeouts_and_cancellation_are_errors_with_no_child_left() {
    let story = story();
    let err =
        History::load(story.repo.path(), &HistoryOptions { timeout: Duration::ZERO, ..Default::default() })
            .unwrap_err();
    assert!(matches!(err, HistoryError::Timeout { .. }), "{err}");

    let cancel = CancelToken::new();
    cancel.cancel();
    let err =
        History::load(story.repo.path(), &HistoryOptions { cancel: Some(cancel), ..Default::default() })
            .unwrap_err();
    assert!(matches!(err, HistoryError::Cancelled), "{err}");
}
