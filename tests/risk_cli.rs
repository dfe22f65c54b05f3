//! `repolens risks` on a git repository the test creates: the JSON report's shape and ranking,
//! `--rev` reading code and history as of a commit (nothing after it), `--top`, and SARIF.

mod support;

use serde_json::Value;
use support::{Fixture, write_fixture};

const PROJECT: &str = r#"
//- /app/core.py
def dispatch(event, handlers, strict=False):
    for handler in handlers:
        if handler.matches(event):
            if strict and handler.done:
                raise RuntimeError(event)
            elif handler.enabled:
                try:
                    handler(event)
                except:
                    pass
    return None


def small(x):
    return x
//- /app/models.py
class Model:
    def save(self, using=None):
        if using == None:
            using = "default"
        return using
//- /tests/test_core.py
def test_small(list=[]):
    assert True
"#;

fn git(dir: &std::path::Path, args: &[&str], date: &str) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Two commits: the project, then a fix to `dispatch` and a new module.
fn repository() -> (Fixture, String) {
    let fixture = write_fixture(PROJECT);
    let root = fixture.root();
    git(root, &["init", "-q", "-b", "main"], "2024-01-01T10:00:00Z");
    git(root, &["add", "-A"], "2024-01-01T10:00:00Z");
    git(root, &["commit", "-q", "-m", "initial"], "2024-01-01T10:00:00Z");
    let first = git(root, &["rev-parse", "HEAD"], "2024-01-01T10:00:00Z").trim().to_owned();
    let core = fixture.read("app/core.py").replace("    return None\n", "    return event\n");
    std::fs::write(fixture.path("app/core.py"), core).unwrap();
    std::fs::write(fixture.path("app/later.py"), "def later():\n    return 1\n").unwrap();
    git(root, &["add", "-A"], "2024-03-01T10:00:00Z");
    git(root, &["commit", "-q", "-m", "fix: dispatch returns the event"], "2024-03-01T10:00:00Z");
    (fixture, first)
}

fn risks(fixture: &Fixture, args: &[&str]) -> String {
    let cache = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_repolens"))
        .arg("risks")
        .arg("--root")
        .arg(fixture.root())
        .args(args)
        .env("REPOLENS_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "repolens risks {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn find<'a>(items: &'a Value, path: &str, qual: Option<&str>) -> Option<&'a Value> {
    items.as_array().unwrap().iter().find(|f| f["path"] == path && qual.is_none_or(|q| f["qual"] == q))
}

#[test]
fn json_ranks_files_and_functions_with_factors() {
    let (fixture, _) = repository();
    let report: Value = serde_json::from_str(&risks(&fixture, &["--json"])).unwrap();
    let functions = &report["functions"];
    let top = &functions[0];
    assert_eq!(
        (top["path"].as_str(), top["qual"].as_str(), top["line"].as_u64()),
        (Some("app/core.py"), Some("dispatch"), Some(1))
    );
    for key in ["score", "density"] {
        assert!(top[key].as_f64().is_some(), "{key} in {top}");
    }
    assert_eq!(top["factors"]["size"], 11.0);
    assert_eq!(top["factors"]["churn"], 13.0, "11 lines added, then one replaced (-1 +1): {top}");
    assert!(top["factors"]["fixes"].as_f64().unwrap() > 0.0, "{top}");
    let method = find(functions, "app/models.py", Some("Model.save")).unwrap();
    assert_eq!(method["line"], 2);
    let scores: Vec<f64> =
        functions.as_array().unwrap().iter().map(|f| f["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "ranked: {scores:?}");
    let file = find(&report["files"], "app/core.py", None).unwrap();
    assert!(file["factors"]["size"].as_f64().is_some() && file["density"].as_f64().is_some(), "{file}");

    let top1: Value = serde_json::from_str(&risks(&fixture, &["--json", "--top", "1"])).unwrap();
    assert_eq!(top1["functions"].as_array().unwrap().len(), 1);
    assert_eq!(top1["files"].as_array().unwrap().len(), 1);
}

#[test]
fn rev_reads_code_and_history_as_of_the_commit() {
    let (fixture, first) = repository();
    let report: Value = serde_json::from_str(&risks(&fixture, &["--json", "--rev", &first])).unwrap();
    assert!(report["head"].as_str().unwrap().starts_with(&first));
    assert!(find(&report["files"], "app/later.py", None).is_none(), "added after the commit");
    let dispatch = find(&report["functions"], "app/core.py", Some("dispatch")).unwrap();
    assert_eq!(dispatch["factors"]["fixes"], 0.0, "the fix came later: {dispatch}");
    assert_eq!(dispatch["factors"]["churn"], 11.0, "{dispatch}");
}

#[test]
fn sarif_lists_risk_and_smells_outside_tests() {
    let (fixture, _) = repository();
    let sarif: Value = serde_json::from_str(&risks(&fixture, &["--sarif"])).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let mut found: Vec<(String, String)> = results
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            (
                r["ruleId"].as_str().unwrap().to_owned(),
                location["artifactLocation"]["uri"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    let expected = [("smell/bare-except", "app/core.py"), ("smell/comparison-to-none", "app/models.py")];
    for (rule, path) in expected {
        assert!(found.iter().any(|(r, p)| r == rule && p.ends_with(path)), "{rule} in {path}: {found:?}");
    }
    assert!(found.iter().all(|(_, p)| !p.contains("tests/")), "nothing on tests: {found:?}");
}
