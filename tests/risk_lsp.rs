//! Risk diagnostics end to end: the `repolens` binary over its stdio, on a git repository the
//! test creates (a function that keeps being fixed, many small ones, a test file and a vendored
//! file with smells). Covers pushed diagnostics (after indexing and history, after each edit of
//! an open document, and repository-wide after a new commit), pulled diagnostics, hover and
//! "Explain risk".

mod support;

use serde_json::{Value, json};
use support::{Fixture, TestClient, TestServerBuilder, write_fixture};

/// `parse_config` is long, nested and changed by every commit (most of them fixes); `collect`
/// has a mutable default; `util.py` holds many small functions so that percentiles mean
/// something; the test and the vendored file have smells that must not be reported.
const PROJECT: &str = r##"
//- /pkg/__init__.py
"""Package."""
//- /pkg/core.py
"""Core."""
from pkg import util


def parse_config(text, strict=False):
    result = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            if strict and key in result:
                raise ValueError(key)
            elif value.isdigit():
                result[key] = int(value)
            else:
                for part in value.split(","):
                    if part and not part.isspace():
                        result.setdefault(key, []).append(util.clean(part))
        elif strict:
            raise ValueError(line)
    return result


def collect(items=[]):
    items.append(1)
    return items
//- /pkg/legacy.py
"""Legacy."""


def load(path):
    try:
        return open(path).read()
    except:
        return ""
//- /pkg/util.py
"""Small helpers."""


def clean(x):
    return x.strip()


def one(x):
    return x + 1


def two(x):
    return x + 2


def three(x):
    return x + 3


def four(x):
    return x + 4


def five(x):
    return x + 5


def six(x):
    return x + 6


def seven(x):
    return x + 7


def eight(x):
    return x + 8


def nine(x):
    return x + 9


def ten(x):
    return x + 10


def eleven(x):
    return x + 11


def twelve(x):
    return x + 12
//- /pkg/_vendor/six.py
def ensure(list):
    return list == None
//- /tests/test_util.py
from pkg import util


def test_one(list=[]):
    assert util.one(1) == 2
    assert util.two(1) != None
//- /README.md
A project.
"##;

/// Runs git in `dir` with a fixed identity, no user or system config, and the given date.
fn git(dir: &std::path::Path, args: &[&str], date: &str) {
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
}

fn commit(fixture: &Fixture, message: &str, date: &str) {
    git(fixture.root(), &["add", "-A"], date);
    git(fixture.root(), &["commit", "-q", "-m", message], date);
}

/// The fixture as a repository: one initial commit, then five changes to `parse_config`, four
/// of them fixes.
fn repository() -> Fixture {
    let fixture = write_fixture(PROJECT);
    git(fixture.root(), &["init", "-q", "-b", "main"], "2024-01-01T10:00:00Z");
    commit(&fixture, "initial import", "2024-01-01T10:00:00Z");
    let core = fixture.path("pkg/core.py");
    for (idx, message) in [
        "fix: strict mode ignored duplicates",
        "fix crash on empty values",
        "add list values",
        "fix: comments with leading spaces",
        "bugfix: lines without '='",
    ]
    .iter()
    .enumerate()
    {
        let text = std::fs::read_to_string(&core).unwrap();
        // Each commit changes a line inside `parse_config`.
        let text = text.replacen("    result = {}\n", &format!("    result = {{}}  # v{idx}\n"), 1);
        let text = text.replacen(&format!("  # v{}\n", idx.wrapping_sub(1)), "\n", 1);
        std::fs::write(&core, text).unwrap();
        commit(&fixture, message, &format!("2024-0{}-01T10:00:00Z", idx + 2));
    }
    fixture
}

fn start(fixture: &Fixture, pull: bool, options: Value) -> TestClient {
    let builder = TestServerBuilder::default()
        .encodings(&["utf-8", "utf-16"])
        .pull_diagnostics(pull)
        .initialization_options(options)
        .root_uri(fixture.root_uri());
    let mut client = builder.start_binary(&["serve"]);
    let init = client.initialize(&builder);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(init["capabilities"]["diagnosticProvider"]["workspaceDiagnostics"], true);
    assert_eq!(init["capabilities"]["hoverProvider"], true);
    client
}

fn codes(diagnostics: &Value) -> Vec<String> {
    diagnostics.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap().to_owned()).collect()
}

fn published_for(client: &TestClient, uri: &str) -> Vec<Value> {
    client
        .notifications
        .iter()
        .filter(|n| n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri)
        .map(|n| n["params"].clone())
        .collect()
}

/// The risk diagnostic of `parse_config`, checked for what the issue asks of every risk
/// diagnostic.
fn check_risk_diagnostic(diagnostics: &Value, severity: u32) -> Value {
    let risk: Vec<&Value> = diagnostics
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"].as_str().unwrap().starts_with("risk/"))
        .collect();
    assert_eq!(risk.len(), 1, "only the riskiest function is flagged: {diagnostics:#}");
    let d = risk[0].clone();
    assert_eq!(d["source"], "repolens");
    assert_eq!(d["severity"], severity, "3 is Information, 4 Hint");
    assert_eq!(d["data"]["kind"], "risk");
    assert_eq!(d["data"]["qual"], "parse_config");
    // The name of the function (line 4 of core.py, after `def `).
    assert_eq!(
        d["range"],
        json!({ "start": { "line": 4, "character": 4 }, "end": { "line": 4, "character": 16 } })
    );
    let message = d["message"].as_str().unwrap();
    assert!(message.starts_with("Risk: top "), "{message}");
    assert!(message.contains("(p9"), "a percentile: {message}");
    assert!(!message.to_lowercase().contains("bug-prone") && !message.contains("buggy"), "{message}");
    assert!(message.ends_with('.'), "ends with what to do: {message}");
    // What changed and what is hard to read come before "it is long".
    assert!(message.contains("Cognitive complexity 23 — hard to read (p"), "{message}");
    assert!(message.contains("changed 6× in the last 12 months"), "{message}");
    assert!(message.contains("touched by 4 bug-fix commits in the last 12 months (p"), "{message}");
    assert!(!message.contains("lines of code"), "size only fills a place the others leave: {message}");
    let factors = d["data"]["factors"].as_array().unwrap();
    assert!(factors.iter().any(|f| f["factor"] == "complexity"), "{d:#}");
    assert!(factors.iter().all(|f| f["percentile"].is_number() && f["value"].is_number()), "{d:#}");
    d
}

#[test]
fn pushed_diagnostics_follow_history_edits_and_commits() {
    let fixture = repository();
    let mut client = start(&fixture, false, json!({ "headCheckSecs": 1 }));
    let core = fixture.uri("pkg/core.py");
    let legacy = fixture.uri("pkg/legacy.py");

    // Once indexing and history are done, every file with findings is pushed.
    let pushed = client.wait_notification("textDocument/publishDiagnostics", |p| p["uri"] == core.as_str());
    let diagnostics = &pushed["params"]["diagnostics"];
    let risk = check_risk_diagnostic(diagnostics, 3);
    assert_eq!(codes(diagnostics), ["risk/complexity", "smell/mutable-default-argument"].map(String::from));
    let smell = &diagnostics[1];
    assert_eq!(smell["data"]["rule"], "mutable-default-argument");
    assert_eq!(smell["data"]["subject"], "items");
    let edits = smell["data"]["fix"]["edits"].as_array().unwrap();
    assert_eq!(edits[0]["newText"], "None");
    assert_eq!(edits[1]["newText"], "    if items is None:\n        items = []\n");
    let pushed = client.wait_notification("textDocument/publishDiagnostics", |p| p["uri"] == legacy.as_str());
    assert_eq!(codes(&pushed["params"]["diagnostics"]), ["smell/bare-except"]);

    // Tests and vendored code get nothing, smells or not.
    for quiet in ["tests/test_util.py", "pkg/_vendor/six.py", "pkg/util.py"] {
        for p in published_for(&client, &fixture.uri(quiet)) {
            assert_eq!(p["diagnostics"], json!([]), "{quiet}");
        }
    }

    // Hover on the flagged function's name: the full breakdown. Elsewhere: nothing.
    let hover = client.request_ok(
        "textDocument/hover",
        json!({ "textDocument": { "uri": core }, "position": { "line": 4, "character": 8 } }),
    );
    let markdown = hover["contents"]["value"].as_str().unwrap();
    assert!(markdown.starts_with("### Risk of `parse_config`"), "{markdown}");
    for row in ["| size |", "| complexity |", "| churn |", "| fixes |", "| untested |"] {
        assert!(markdown.contains(row), "{row} in {markdown}");
    }
    let elsewhere = client.request_ok(
        "textDocument/hover",
        json!({ "textDocument": { "uri": core }, "position": { "line": 25, "character": 6 } }),
    );
    assert_eq!(elsewhere, Value::Null);

    // "Explain risk" on the diagnostic, and the command it runs.
    let actions = client.request_ok(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": core },
            "range": risk["range"],
            "context": { "diagnostics": [risk] },
        }),
    );
    let action = &actions[0];
    assert_eq!(action["title"], "Explain risk of `parse_config`");
    let command = &action["command"];
    let explained = client.request_ok(
        "workspace/executeCommand",
        json!({ "command": command["command"], "arguments": command["arguments"] }),
    );
    assert!(explained.as_str().unwrap().starts_with("### Risk of `parse_config`"));

    // Edits: the open document's diagnostics follow each version.
    let text = fixture.read("pkg/core.py");
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": core, "languageId": "python", "version": 1, "text": text } }),
    );
    client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["uri"] == core.as_str() && p["version"] == 1
    });
    let end = text.lines().count();
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": core, "version": 2 },
            "contentChanges": [{
                "range": { "start": { "line": end, "character": 0 }, "end": { "line": end, "character": 0 } },
                "text": "\n\ndef check(x):\n    return x != None\n",
            }],
        }),
    );
    let pushed = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["uri"] == core.as_str() && p["version"] == 2
    });
    assert_eq!(
        codes(&pushed["params"]["diagnostics"]),
        ["risk/complexity", "smell/mutable-default-argument", "smell/comparison-to-none"].map(String::from)
    );
    let none = &pushed["params"]["diagnostics"][2];
    assert_eq!(none["range"]["start"], json!({ "line": end + 3, "character": 11 }));

    // A new commit (not touching any Python file) rescores the repository and pushes again to
    // files that are neither open nor changed.
    std::fs::write(fixture.path("README.md"), "A project, documented.\n").unwrap();
    commit(&fixture, "docs: readme", "2024-08-01T10:00:00Z");
    let pushed =
        client.wait_new_notification("textDocument/publishDiagnostics", |p| p["uri"] == legacy.as_str());
    assert_eq!(codes(&pushed["params"]["diagnostics"]), ["smell/bare-except"]);
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn pulled_diagnostics_for_a_document_and_the_workspace() {
    let fixture = repository();
    // Hint instead of Information, as configured.
    let mut client = start(&fixture, true, json!({ "risk": { "severity": "hint" } }));
    let core = fixture.uri("pkg/core.py");
    // The server asks clients that pull to refresh once risk is scored with history.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !client.server_requests.iter().any(|r| r["method"] == "workspace/diagnostic/refresh") {
        assert!(std::time::Instant::now() < deadline, "no workspace/diagnostic/refresh");
        client.request_ok("repolens/status", Value::Null);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let report = client.request_ok("textDocument/diagnostic", json!({ "textDocument": { "uri": core } }));
    assert_eq!(report["kind"], "full");
    check_risk_diagnostic(&report["items"], 4);
    assert_eq!(
        codes(&report["items"]),
        ["risk/complexity", "smell/mutable-default-argument"].map(String::from)
    );
    let again = client.request_ok(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": core }, "previousResultId": report["resultId"] }),
    );
    assert_eq!(again, json!({ "kind": "unchanged", "resultId": report["resultId"] }));

    let workspace = client.request_ok("workspace/diagnostic", json!({ "previousResultIds": [] }));
    let mut uris: Vec<String> = workspace["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["uri"].as_str().unwrap().to_owned())
        .collect();
    uris.sort();
    assert_eq!(uris, [fixture.uri("pkg/core.py"), fixture.uri("pkg/legacy.py")]);

    // A client that pulls is never pushed to.
    assert!(
        client.notifications.iter().all(|n| n["method"] != "textDocument/publishDiagnostics"),
        "pushes to a pulling client"
    );
    assert_eq!(client.shutdown_and_exit(), 0);
}
