//! Which commits are bug fixes, judged from their message alone.
//!
//! The heuristic of the defect-prediction literature (Mockus & Votta 2000; Śliwerski et al.
//! 2005), narrowed to the subject line: a conventional-commit `fix:`/`fix(scope):` type, or a
//! fix/bug keyword as a whole word (`fix`, `fixes`, `fixed`, `fixing`, `bug`, `bugs`, `bugfix`,
//! `hotfix`, `regression`). Whole words only, so `prefix`, `debug`, `fixture` and `fixup!` do not
//! count. A subject that is about something other than behaviour — typos, docs, lint, formatting,
//! CI, typing, a release — is not a fix even with a keyword (`fix typo in docstring`), and a
//! conventional type other than `fix` (`docs: fix link`, `test: cover bug #3`) wins over the
//! keywords. For a pull-request merge (first-parent history) the branch name in the subject and
//! the PR title (the first line of the body) are judged instead; other merges are not fixes.

/// Whole words that mark a bug fix.
const FIX_WORDS: &[&str] = &[
    "fix",
    "fixes",
    "fixed",
    "fixing",
    "bug",
    "bugs",
    "bugfix",
    "bugfixes",
    "hotfix",
    "hotfixes",
    "regression",
    "regressions",
];

/// Whole words that mark a change that is not a behaviour fix, even when it says "fix".
const NOT_FIX_WORDS: &[&str] = &[
    "typo",
    "typos",
    "spelling",
    "grammar",
    "lint",
    "linting",
    "linter",
    "flake8",
    "pylint",
    "mypy",
    "ruff",
    "isort",
    "black",
    "pyupgrade",
    "format",
    "formatting",
    "whitespace",
    "docstring",
    "docstrings",
    "doc",
    "docs",
    "documentation",
    "readme",
    "changelog",
    "ci",
    "travis",
    "appveyor",
    "tox",
    "coverage",
    "typing",
    "annotation",
    "annotations",
    "release",
    "bump",
];

/// Phrases of several words with the same meaning as [`NOT_FIX_WORDS`].
const NOT_FIX_PHRASES: &[&str] = &["pre-commit", "type hint", "type check", "github action"];

/// Conventional-commit types that are not fixes.
const OTHER_TYPES: &[&str] =
    &["feat", "docs", "doc", "style", "refactor", "perf", "test", "tests", "build", "ci", "chore", "revert"];

/// Whether a commit is a bug fix. `subject` is the first line of its message; `body` the rest,
/// only looked at for pull-request merges (whose first body line is the PR title).
pub fn is_fix_commit(subject: &str, body: &str) -> bool {
    let subject = subject.trim();
    if let Some(rest) = subject.strip_prefix("Merge pull request #") {
        // `Merge pull request #12 from owner/fix-crash`: the branch name and the PR title.
        let branch = rest.split_once(" from ").map_or("", |(_, branch)| branch);
        let branch = branch.split_once('/').map_or(branch, |(_, name)| name);
        let title = body.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        return is_fix_text(branch) || is_fix_text(title);
    }
    if subject.starts_with("Merge ") {
        return false;
    }
    is_fix_text(subject)
}

fn is_fix_text(text: &str) -> bool {
    if let Some(kind) = conventional_type(text) {
        if kind == "fix" || kind == "bugfix" || kind == "hotfix" {
            return true;
        }
        if OTHER_TYPES.contains(&kind.as_str()) {
            return false;
        }
    }
    let words: Vec<String> = words(text).collect();
    if !words.iter().any(|w| FIX_WORDS.contains(&w.as_str())) {
        return false;
    }
    let lower = text.to_lowercase();
    !words.iter().any(|w| NOT_FIX_WORDS.contains(&w.as_str()))
        && !NOT_FIX_PHRASES.iter().any(|p| lower.contains(p))
}

/// `fix: x`, `fix(scope): x`, `fix!: x` → `fix` (lowercased).
fn conventional_type(text: &str) -> Option<String> {
    let head = text.split_once(':')?.0;
    let head = head.strip_suffix('!').unwrap_or(head);
    let kind = match head.split_once('(') {
        Some((kind, scope)) => scope.ends_with(')').then_some(kind)?,
        None => head,
    };
    (!kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphabetic())).then(|| kind.to_ascii_lowercase())
}

/// Lowercased words: runs of letters and digits. `_` joins a word (`fix_path` is an identifier,
/// not the verb); `-`, `/`, `.` and `'` split (`fix-crash` is a branch name of two words).
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::is_fix_commit;

    #[track_caller]
    fn check(subject: &str, expected: bool) {
        assert_eq!(is_fix_commit(subject, ""), expected, "{subject:?}");
    }

    #[test]
    fn conventional_types() {
        check("fix: handle empty input", true);
        check("fix(parser): off-by-one in spans", true);
        check("fix!: drop the broken flag", true);
        check("Fix: capitalised type", true);
        check("docs: fix the link to the tutorial", false);
        check("test: add a regression test for bug #12", false);
        check("feat: support fixtures in classes", false);
        check("chore(deps): bump regex to fix a warning", false);
    }

    #[test]
    fn keywords_as_whole_words() {
        check("Fix crash when the config is empty", true);
        check("Fixes #1234", true);
        check("fixed a race in the scheduler", true);
        check("Bug 4711: wrong exit code", true);
        check("bugfix for unicode paths", true);
        check("Hotfix for the login timeout", true);
        check("hotfix: null pointer on startup", true);
        check("Avoid a regression in collection order", true);
    }

    #[test]
    fn near_misses_are_not_fixes() {
        check("Add prefix option to the debug helper", false);
        check("Improve debugging output", false);
        check("fixture: share the tmp dir", false);
        check("fixup! Add the parser", false);
        check("Rename fix_path to normalize_path", false);
        check("Add suffixes and prefixes", false);
        check("Update the bugzilla link", false);
    }

    #[test]
    fn non_behaviour_fixes() {
        check("Fix typo in docstring", false);
        check("fix flake8 warnings", false);
        check("Fix docs build", false);
        check("fix CI on windows", false);
        check("Fix formatting", false);
        check("fix mypy errors", false);
        check("Fix pre-commit config", false);
    }

    #[test]
    fn merges() {
        assert!(is_fix_commit("Merge pull request #12 from alice/fix-crash", "Make it work"));
        assert!(is_fix_commit("Merge pull request #13 from alice/patch-1", "\nFix crash on empty input"));
        assert!(!is_fix_commit("Merge pull request #14 from alice/feature", "Add a flag"));
        assert!(!is_fix_commit("Merge branch 'main' into fix-crash", ""));
        assert!(!is_fix_commit("Merge remote-tracking branch 'origin/bugfix'", ""));
    }
}
