//! "Fix with tested patch…" end to end: the `repolens` binary over stdio on a project whose test
//! fails because of a mutable default argument. The smell diagnostic offers the code action;
//! the command runs the real project's tests (pytest) on each mechanical fix, with the editor's
//! unsaved text, and offers the winner through `workspace/applyEdit` with the document's
//! version and a change annotation. The user's file on disk is never written.

mod support;

use serde_json::{Value, json};
use support::{
    TestClient, TestServerBuilder,
    openai::{FakeOpenAi, completion},
    write_fixture,
};

const PROJECT: &str = r#"
//- /pkg/__init__.py
//- /pkg/cart.py
def add_item(item, items=[]):
    items.append(item)
    return items
//- /tests/test_cart.py
from pkg.cart import add_item


def test_each_call_starts_a_new_cart():
    assert add_item(1) == [1]
    assert add_item(2) == [2]
"#;

fn fix_action(client: &mut TestClient, uri: &str, diagnostic: &Value) -> Value {
    let actions = client.request_ok(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": diagnostic["range"],
            "context": { "diagnostics": [diagnostic] }
        }),
    );
    actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Fix with tested patch…")
        .unwrap_or_else(|| panic!("no tested-fix action in {actions}"))
        .clone()
}

#[test]
fn a_smell_fix_is_tested_with_pytest_and_offered_as_a_versioned_edit() {
    let fixture = write_fixture(PROJECT);
    let on_disk = fixture.read("pkg/cart.py");
    let builder = TestServerBuilder::default().progress(true).root_uri(fixture.root_uri());
    let mut client = builder.start_binary(&["serve"]);
    let init = client.initialize(&builder);
    let commands = &init["capabilities"]["executeCommandProvider"]["commands"];
    assert!(commands.as_array().unwrap().contains(&json!("repolens.fix")), "{commands}");
    client.wait_indexed();

    // An unsaved edit: the candidates must be made from (and tested with) the buffer's text.
    let uri = fixture.uri("pkg/cart.py");
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": on_disk } }),
    );
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [{
                "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } },
                "text": "\"\"\"A cart.\"\"\"\n\n\n"
            }]
        }),
    );
    let published = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["uri"] == uri.as_str()
            && p["version"] == 2
            && p["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["code"] == "smell/mutable-default-argument")
    });
    let diagnostic = published["params"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "smell/mutable-default-argument")
        .unwrap()
        .clone();
    assert_eq!(diagnostic["range"]["start"]["line"], 3, "the diagnostic follows the unsaved edit");

    let action = fix_action(&mut client, &uri, &diagnostic);
    let result = client.request_ok(
        "workspace/executeCommand",
        json!({ "command": action["command"]["command"], "arguments": action["command"]["arguments"] }),
    );
    assert_eq!(result["status"], "applied", "{result}");
    assert!(result["candidates"].as_u64().unwrap() >= 2, "both fixes were tried: {result}");
    assert!(result["message"].as_str().unwrap().contains("passed"), "{result}");

    let apply = client.server_requests.iter().find(|r| r["method"] == "workspace/applyEdit").unwrap().clone();
    let change = &apply["params"]["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"]["uri"], uri.as_str());
    assert_eq!(change["textDocument"]["version"], 2, "the edit is for the version the fix was made from");
    let edit = &change["edits"][0];
    let new_text = edit["newText"].as_str().unwrap();
    assert!(new_text.contains("None"), "the None sentinel won (the tuple default fails the test): {edit}");
    assert_eq!(edit["range"]["start"]["line"], 3, "positions are in the buffer's text: {edit}");
    let annotation = &apply["params"]["edit"]["changeAnnotations"][edit["annotationId"].as_str().unwrap()];
    assert_eq!(annotation["needsConfirmation"], true);
    assert!(annotation["description"].as_str().unwrap().starts_with("Tested:"), "{annotation}");

    // Progress from localizing to the selection.
    let messages: Vec<String> = client
        .notifications
        .iter()
        .filter(|n| n["method"] == "$/progress")
        .filter_map(|n| n["params"]["value"]["message"].as_str().map(str::to_owned))
        .collect();
    for expected in ["localizing", "generating candidates", "selected"] {
        assert!(messages.iter().any(|m| m == expected), "no {expected:?} in {messages:?}");
    }
    assert!(messages.iter().any(|m| m.starts_with("testing")), "{messages:?}");
    assert_eq!(fixture.read("pkg/cart.py"), on_disk, "only the editor applies edits");

    // The editor declines (say the document changed meanwhile): reported, not retried.
    client.apply_edit_reply = json!({ "applied": false, "failureReason": "document version changed" });
    let result = client.request_ok(
        "workspace/executeCommand",
        json!({ "command": action["command"]["command"], "arguments": action["command"]["arguments"] }),
    );
    assert_eq!(result["status"], "rejected", "{result}");
    let warned = client.wait_notification("window/showMessage", |p| {
        p["message"].as_str().is_some_and(|m| m.contains("document version changed"))
    });
    assert_eq!(warned["params"]["type"], 2);
    assert_eq!(
        client.server_requests.iter().filter(|r| r["method"] == "workspace/applyEdit").count(),
        2,
        "one applyEdit per fix"
    );
    assert_eq!(fixture.read("pkg/cart.py"), on_disk);
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn the_fix_command_needs_no_model_for_a_smell() {
    let fixture = write_fixture(PROJECT);
    let cache = tempfile::tempdir().unwrap();
    fixture.commit_all("cart");
    let before = fixture.read("pkg/cart.py");
    let fix = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_repolens"))
            .args(["fix", "--root"])
            .arg(fixture.root())
            .args(["pkg/cart.py:1", "--json"])
            .args(extra)
            .env("REPOLENS_CACHE_DIR", cache.path())
            .env_remove("REPOLENS_LLM_BASE_URL")
            .env_remove("OPENAI_API_KEY")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let report = fix(&[]);
    let diff = report["winner"]["diff"].as_str().unwrap();
    assert!(diff.contains("items=None") || diff.contains("items = None"), "{report}");
    assert_eq!(report["applied"], false);
    assert_eq!(fixture.read("pkg/cart.py"), before);
    let report = fix(&["--apply"]);
    assert_eq!(report["applied"], true, "{report}");
    assert!(fixture.read("pkg/cart.py").contains("if items is None"));
}

#[test]
fn a_generated_test_must_pass_and_call_the_function_before_it_is_offered_as_a_new_file() {
    let fixture = write_fixture(
        r#"
//- /pkg/__init__.py
//- /pkg/calc.py
def mean(values):
    total = 0
    for v in values:
        if v is None:
            continue
        total += v
    return total / len(values)


def double(x):
    return x * 2
//- /tests/test_other.py
def test_nothing():
    assert True
"#,
    );
    let good = "```python\nfrom pkg.calc import mean\n\n\ndef test_mean_of_two():\n    assert mean([1, 3]) == 2\n```";
    // The first sample never calls `mean`; the second does and passes; the third fails.
    let model = FakeOpenAi::start(vec![
        completion(
            "```python\ndef mean(values):\n    return 2\n\n\ndef test_mean():\n    assert mean([1, 3]) == 2\n```",
        ),
        completion(good),
        completion(
            "```python\nfrom pkg.calc import mean\n\n\ndef test_mean():\n    assert mean([1, 3]) == 3\n```",
        ),
    ]);
    let builder = TestServerBuilder::default().progress(true).root_uri(fixture.root_uri()).initialization_options(
        json!({ "llm": { "baseUrl": model.base_url, "model": "local", "apiKeyEnv": "REPOLENS_TEST_NO_SUCH_KEY" } }),
    );
    let mut client = builder.start_binary(&["serve"]);
    client.initialize(&builder);
    client.wait_indexed();
    let uri = fixture.uri("pkg/calc.py");
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": fixture.read("pkg/calc.py") } }),
    );
    let published = client.wait_notification("textDocument/publishDiagnostics", |p| {
        p["uri"] == uri.as_str()
            && p["diagnostics"].as_array().unwrap().iter().any(|d| d["data"]["qual"] == "mean")
    });
    let diagnostic = published["params"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["data"]["qual"] == "mean")
        .unwrap()
        .clone();
    let actions = client.request_ok(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": diagnostic["range"], "context": { "diagnostics": [diagnostic] } }),
    );
    let action = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Generate a test for `mean`")
        .unwrap_or_else(|| panic!("no test-generation action in {actions}"))
        .clone();
    let result = client.request_ok(
        "workspace/executeCommand",
        json!({ "command": action["command"]["command"], "arguments": action["command"]["arguments"] }),
    );
    assert_eq!(result["status"], "applied", "{result}");
    let apply = client.server_requests.iter().find(|r| r["method"] == "workspace/applyEdit").unwrap().clone();
    let changes = apply["params"]["edit"]["documentChanges"].as_array().unwrap();
    assert_eq!(changes[0]["kind"], "create", "the test is a new file: {apply}");
    let created = changes[0]["uri"].as_str().unwrap();
    assert!(created.contains("/tests/") && created.ends_with(".py"), "{created}");
    assert!(changes[1]["edits"][0]["newText"].as_str().unwrap().contains("def test_mean_of_two"), "{apply}");
    assert!(!fixture.root().join("tests/test_calc.py").exists(), "only the editor creates files");
    assert_eq!(client.shutdown_and_exit(), 0);
}
