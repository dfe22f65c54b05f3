//! The protocol, end to end over real framing with an in-process server: negotiation, document
//! sync in both encodings, symbols, cancellation, lifecycle, and survival of bad input.

mod support;

use serde_json::{Value, json};
use support::{TestServerBuilder, write_fixture};

const ASTRAL: &str = "//- /pkg/shapes.py
\"\"\"Shapes.\"\"\"
LABEL = \"𝔘😀\"


class Shape:
    def area(self):
        return 0

    def perimeter(self):
        def side():
            return 1
        return side()


def make_shape(kind):
    return Shape()
";

fn open(client: &mut support::TestClient, uri: &str, text: &str) {
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": text } }),
    );
}

fn change(client: &mut support::TestClient, uri: &str, version: i32, changes: Value) {
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": changes }),
    );
}

fn document_symbols(client: &mut support::TestClient, uri: &str) -> Value {
    client.request_ok("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }))
}

fn find<'a>(symbols: &'a Value, name: &str) -> &'a Value {
    symbols
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {symbols}"))
}

#[test]
fn utf16_client_gets_utf16_columns_after_incremental_edits() {
    let fixture = write_fixture(ASTRAL);
    let builder = TestServerBuilder::default().encodings(&["utf-16"]).root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    let init = client.initialize(&builder);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(init["capabilities"]["textDocumentSync"]["change"], 2, "incremental sync");

    let uri = fixture.uri("pkg/shapes.py");
    let text = "class 𝔘𝔘Shape:\n    def area(self): ...\n";
    open(&mut client, &uri, text);
    let symbols = document_symbols(&mut client, &uri);
    let class = find(&symbols, "𝔘𝔘Shape");
    // `class ` is 6 units; each 𝔘 is 2 UTF-16 units; `Shape` 5: the name ends at 15.
    assert_eq!(
        class["selectionRange"],
        json!({ "start": { "line": 0, "character": 6 }, "end": { "line": 0, "character": 15 } })
    );
    assert_eq!(find(&class["children"], "area")["kind"], 6, "a method");

    // Insert a parameter after `self` (column 17 in UTF-16 on line 1), then rename the class by
    // replacing the second `𝔘` (columns 8..10), in one didChange: the second edit sees the first's result.
    change(
        &mut client,
        &uri,
        2,
        json!([
            { "range": { "start": { "line": 1, "character": 17 }, "end": { "line": 1, "character": 17 } }, "text": ", x" },
            { "range": { "start": { "line": 0, "character": 8 }, "end": { "line": 0, "character": 10 } }, "text": "Big" },
        ]),
    );
    let text = client.request_ok("repolens/internal/documentText", json!({ "uri": uri }));
    assert_eq!(text, "class 𝔘BigShape:\n    def area(self, x): ...\n");
    let symbols = document_symbols(&mut client, &uri);
    let class = find(&symbols, "𝔘BigShape");
    assert_eq!(class["selectionRange"]["end"], json!({ "line": 0, "character": 16 }));
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn utf8_client_gets_byte_columns() {
    let fixture = write_fixture(ASTRAL);
    let builder =
        TestServerBuilder::default().encodings(&["utf-32", "utf-8", "utf-16"]).root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    let init = client.initialize(&builder);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8");
    let uri = fixture.uri("pkg/shapes.py");
    open(&mut client, &uri, "def 𝔘f(): pass\n");
    change(
        &mut client,
        &uri,
        2,
        json!([{ "range": { "start": { "line": 0, "character": 8 }, "end": { "line": 0, "character": 9 } }, "text": "g" }]),
    );
    let symbols = document_symbols(&mut client, &uri);
    let function = find(&symbols, "𝔘g");
    assert_eq!(function["selectionRange"]["end"], json!({ "line": 0, "character": 9 }));
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn utf32_is_chosen_when_utf8_is_not_offered() {
    let builder = TestServerBuilder::default().encodings(&["utf-16", "utf-32"]);
    let mut client = builder.start_in_process_for_test();
    let init = client.initialize(&builder);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-32");
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn document_symbols_nest_classes_methods_and_inner_functions() {
    let fixture = write_fixture(ASTRAL);
    let builder = TestServerBuilder::default().root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    let uri = fixture.uri("pkg/shapes.py");
    open(&mut client, &uri, &fixture.read("pkg/shapes.py"));
    let symbols = document_symbols(&mut client, &uri);
    let names: Vec<_> = symbols.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["LABEL", "Shape", "make_shape"]);
    let shape = find(&symbols, "Shape");
    let perimeter = find(&shape["children"], "perimeter");
    assert_eq!(find(&perimeter["children"], "side")["kind"], 12, "a nested function");
    assert_eq!(shape["range"]["start"], json!({ "line": 4, "character": 0 }));
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn flat_document_symbols_for_clients_without_hierarchy() {
    let fixture = write_fixture(ASTRAL);
    let builder = TestServerBuilder::default().hierarchical_symbols(false).root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    let uri = fixture.uri("pkg/shapes.py");
    open(&mut client, &uri, &fixture.read("pkg/shapes.py"));
    let symbols = document_symbols(&mut client, &uri);
    assert_eq!(find(&symbols, "side")["containerName"], "Shape.perimeter");
    assert_eq!(client.shutdown_and_exit(), 0);
}

const PROJECT: &str = "//- /app/models.py
class QuerySet:
    def filter(self, **kwargs):
        return self

    def get_query_set(self):
        return self


def filter_items(items):
    return items
//- /app/views.py
from .models import QuerySet


def query_view(request):
    return QuerySet().filter()
//- /tests/test_models.py
class QuerySetTests:
    def test_filter(self):
        pass
";

#[test]
fn workspace_symbol_waits_for_the_index_and_ranks_matches() {
    let fixture = write_fixture(PROJECT);
    let builder = TestServerBuilder::default().root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    // Asked right away: the index is (very likely) not ready, and the answer must still be full.
    let hits = client.request_ok("workspace/symbol", json!({ "query": "QuerySet" }));
    let names: Vec<_> =
        hits.as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names[0], "QuerySet", "exact match first: {names:?}");
    assert!(names.contains(&"QuerySetTests".to_owned()), "prefix match present: {names:?}");
    let first = &hits[0];
    assert_eq!(first["location"]["uri"], fixture.uri("app/models.py"));
    assert_eq!(first["location"]["range"]["start"], json!({ "line": 0, "character": 6 }));
    assert_eq!(first["containerName"], "app.models");

    let hits = client.request_ok("workspace/symbol", json!({ "query": "filter" }));
    let names: Vec<_> = hits.as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect();
    // exact (`filter`) > prefix (`filter_items`) > humps (`test_filter`).
    assert_eq!(names, ["filter", "filter_items", "test_filter"]);

    let hits = client.request_ok("workspace/symbol", json!({ "query": "gqs" }));
    assert_eq!(hits[0]["name"], "get_query_set", "snake_case humps");

    let hits = client.request_ok("workspace/symbol", json!({ "query": "QuerySet.filter" }));
    assert_eq!(hits[0]["name"], "filter");
    assert_eq!(hits[0]["containerName"], "app.models.QuerySet");
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn open_document_text_wins_over_disk() {
    let fixture = write_fixture(PROJECT);
    let builder = TestServerBuilder::default().root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    let uri = fixture.uri("app/views.py");
    open(&mut client, &uri, "def renamed_view(request):\n    pass\n");
    let hits = client.request_ok("workspace/symbol", json!({ "query": "renamed_view" }));
    assert_eq!(hits[0]["location"]["uri"], uri);
    let hits = client.request_ok("workspace/symbol", json!({ "query": "query_view" }));
    assert_eq!(hits, json!([]), "the disk version of an open file is not searched");
    // Closing brings back the disk version.
    client.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
    let hits = client.request_ok("workspace/symbol", json!({ "query": "query_view" }));
    assert_eq!(hits[0]["name"], "query_view");
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn indexing_reports_progress_to_clients_that_support_it() {
    let fixture = write_fixture(PROJECT);
    let builder = TestServerBuilder::default().progress(true).root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    let end = client.wait_indexed();
    assert_eq!(end["params"]["value"]["message"], "3 files, 7 symbols");
    let token = end["params"]["token"].clone();
    let create =
        client.server_requests.iter().find(|r| r["method"] == "window/workDoneProgress/create").unwrap();
    assert_eq!(create["params"]["token"], token);
    let kinds: Vec<_> = client
        .notifications
        .iter()
        .filter(|n| n["method"] == "$/progress" && n["params"]["token"] == token)
        .map(|n| n["params"]["value"]["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("begin"));
    assert!(kinds.iter().any(|k| k == "report"), "{kinds:?}");
    let reports: Vec<&Value> = client
        .notifications
        .iter()
        .filter(|n| n["method"] == "$/progress" && n["params"]["token"] == token)
        .filter(|n| n["params"]["value"]["kind"] == "report")
        .map(|n| &n["params"]["value"])
        .collect();
    let percents: Vec<u64> = reports.iter().filter_map(|r| r["percentage"].as_u64()).collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "progress went backwards: {percents:?}");
    // The phases, in order: parsing, then the graph, then search.
    let phases: Vec<&str> = reports.iter().filter_map(|r| r["message"].as_str()).collect();
    let graph = phases.iter().position(|m| *m == "building the symbol graph").expect("a graph phase");
    let search = phases.iter().position(|m| *m == "building the search index").expect("a search phase");
    assert!(phases[..graph].iter().all(|m| m.starts_with("parsing")), "{phases:?}");
    assert!(graph < search && search == phases.len() - 1, "{phases:?}");
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn cancelled_request_is_answered_once_with_request_cancelled() {
    let builder = TestServerBuilder::default();
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    let id = client.send_request("repolens/internal/block", Value::Null);
    client.notify("$/cancelRequest", json!({ "id": id }));
    let response = client.wait_response(&json!(id));
    assert_eq!(response["error"]["code"], -32800);
    // The server is still serving, and the cancelled request is not answered a second time.
    let response = client.request("repolens/internal/documentText", json!({ "uri": "file:///nowhere.py" }));
    assert_eq!(response["result"], Value::Null);
    assert!(client.notifications.iter().all(|n| n.get("id").is_none()));
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn bad_input_gets_errors_and_the_server_keeps_serving() {
    let builder = TestServerBuilder::default();
    let mut client = builder.start_in_process_for_test();

    // Before initialize: ServerNotInitialized.
    let response = client.request("workspace/symbol", json!({ "query": "x" }));
    assert_eq!(response["error"]["code"], -32002);
    client.initialize(&builder);

    // Malformed JSON, a body that is not UTF-8, and garbage between frames.
    client.send_raw(b"Content-Length: 14\r\n\r\n{\"jsonrpc\": 2");
    client.send_raw(b"Content-Length: 2\r\n\r\n\xff\xfe");
    client.send_raw(b"this is not a header\r\n");
    // Valid JSON that is not a message: InvalidRequest, with the id we could read.
    client.send(json!({ "jsonrpc": "2.0", "id": 99 }));
    let response = client.wait_response(&json!(99));
    assert_eq!(response["error"]["code"], -32600);
    let parse_errors = client.wait_response(&Value::Null);
    assert_eq!(parse_errors["error"]["code"], -32700);

    // Bad params, an unknown method, out-of-range positions and a panicking handler.
    let response = client.request("textDocument/documentSymbol", json!({ "textDocument": 42 }));
    assert_eq!(response["error"]["code"], -32602);
    let response = client.request("repolens/noSuchMethod", json!({}));
    assert_eq!(response["error"]["code"], -32601);
    let uri = "untitled:Untitled-1";
    open(&mut client, uri, "def f():\n    pass\n");
    change(
        &mut client,
        uri,
        2,
        json!([{ "range": { "start": { "line": 99, "character": 7 }, "end": { "line": 0, "character": 999 } }, "text": "x" }]),
    );
    let text = client.request_ok("repolens/internal/documentText", json!({ "uri": uri }));
    assert_eq!(text, "def f():x", "out-of-range ends clamp to the end of the line and of the text");
    let response = client.request("repolens/internal/panic", json!({ "message": "boom" }));
    assert_eq!(response["error"]["code"], -32603);
    assert!(response["error"]["message"].as_str().unwrap().contains("boom"));

    // Still alive and correct.
    let symbols = document_symbols(&mut client, uri);
    assert_eq!(symbols[0]["name"], "f");
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn many_rapid_changes_apply_in_order() {
    let builder = TestServerBuilder::default();
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    let uri = "untitled:stress.py";
    open(&mut client, uri, "");
    let mut expected = String::new();
    for i in 0..300 {
        // Each change appends at the end of the text as the previous change left it.
        let line = expected.matches('\n').count() as u32;
        let piece = if i % 3 == 0 { format!("x{i} = {i}\n") } else { format!("# 😀 {i}\r\n") };
        change(
            &mut client,
            uri,
            i + 2,
            json!([{ "range": { "start": { "line": line, "character": 0 }, "end": { "line": line, "character": 0 } }, "text": piece }]),
        );
        expected.push_str(&piece);
    }
    let text = client.request_ok("repolens/internal/documentText", json!({ "uri": uri }));
    assert_eq!(text, expected);
    let symbols = document_symbols(&mut client, uri);
    assert_eq!(symbols.as_array().unwrap().len(), 100);
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn exit_without_shutdown_is_an_error_exit() {
    let builder = TestServerBuilder::default();
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    assert_eq!(client.exit_without_shutdown(), 1);
}

#[test]
fn requests_after_shutdown_are_refused() {
    let builder = TestServerBuilder::default();
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    client.request_ok("shutdown", Value::Null);
    let response = client.request("workspace/symbol", json!({ "query": "x" }));
    assert_eq!(response["error"]["code"], -32600);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit(), 0);
}

#[test]
fn status_reports_phases_and_the_graph_follows_edits() {
    let fixture = write_fixture(PROJECT);
    let builder = TestServerBuilder::default().progress(true).root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    let init = client.initialize(&builder);
    assert_eq!(init["capabilities"]["experimental"]["repolens"]["status"], true);
    client.wait_indexed();
    let status = client.request_ok("repolens/status", Value::Null);
    assert_eq!(status["indexReady"], true);
    assert_eq!(status["files"], 3);
    assert_eq!(status["graph"]["files"], 3);
    assert!(status["phases"]["parseMs"].is_number() && status["phases"]["graphMs"].is_number(), "{status}");
    // views.py imports and calls QuerySet.filter; removing the call removes graph edges once
    // the edit settles.
    let edges_before = status["graph"]["edges"].as_u64().unwrap();
    let uri = fixture.uri("app/views.py");
    open(&mut client, &uri, &fixture.read("app/views.py"));
    change(&mut client, &uri, 2, json!([{ "text": "def query_view(request):\n    return None\n" }]));
    poll(&mut client, "repolens/status", Value::Null, |status| {
        status["pendingModelUpdates"] == 0 && status["graph"]["edges"].as_u64().unwrap() < edges_before
    });
    assert_eq!(client.shutdown_and_exit(), 0);
}

/// Asks `method` until `check` holds for the answer (what follows an edit or a disk change
/// settles asynchronously); fails with the last answer after 20 s.
fn poll(
    client: &mut support::TestClient,
    method: &str,
    params: Value,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let answer = client.request_ok(method, params.clone());
        if check(&answer) {
            return answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{method} {params} never satisfied the check: {answer}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn wait_for_symbols(client: &mut support::TestClient, query: &str, check: impl Fn(&Value) -> bool) -> Value {
    poll(client, "workspace/symbol", json!({ "query": query }), check)
}

/// A server over `PROJECT`, indexed, with a client that watches files for it.
fn start_watching_disk_changes() -> (support::Fixture, support::TestClient) {
    let fixture = write_fixture(PROJECT);
    let builder =
        TestServerBuilder::default().watched_files(true).progress(true).root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    client.wait_indexed();
    (fixture, client)
}

/// The client's report of a change to `path` on disk (`typ`: 1 created, 2 changed, 3 deleted).
fn report_disk_change(client: &mut support::TestClient, fixture: &support::Fixture, path: &str, typ: u32) {
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": fixture.uri(path), "type": typ }] }),
    );
}

#[test]
fn disk_changes_reported_by_the_client_reach_the_index() {
    let (fixture, mut client) = start_watching_disk_changes();
    let registration =
        client.server_requests.iter().find(|r| r["method"] == "client/registerCapability").unwrap();
    assert_eq!(registration["params"]["registrations"][0]["method"], "workspace/didChangeWatchedFiles");

    std::fs::write(fixture.path("app/forms.py"), "class LoginForm:\n    pass\n").unwrap();
    report_disk_change(&mut client, &fixture, "app/forms.py", 1);
    let hits = wait_for_symbols(&mut client, "LoginForm", |h| h.as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(hits[0]["location"]["uri"], fixture.uri("app/forms.py"));

    std::fs::remove_file(fixture.path("app/forms.py")).unwrap();
    report_disk_change(&mut client, &fixture, "app/forms.py", 3);
    wait_for_symbols(&mut client, "LoginForm", |h| h == &json!([]));
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn the_last_of_quick_successive_disk_writes_wins() {
    // Each reported change is re-read on a worker, and the reads may finish in any order: the
    // index must end with what the file holds now, not with whichever read finished last.
    let (fixture, mut client) = start_watching_disk_changes();
    // A big file, whose read is still parsing when a small rewrite is reported and read.
    for (name, lines) in [("BigForm", 60_000), ("SmallForm", 1)] {
        let body = "    x = 1\n".repeat(lines);
        std::fs::write(fixture.path("app/forms.py"), format!("class {name}:\n{body}")).unwrap();
        report_disk_change(&mut client, &fixture, "app/forms.py", 2);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    wait_for_symbols(&mut client, "SmallForm", |h| h.as_array().is_some_and(|a| !a.is_empty()));
    // Every read has finished, the stale one included, and the model has what they left.
    poll(&mut client, "repolens/status", Value::Null, |status| {
        status["pendingDiskReads"] == 0 && status["pendingModelUpdates"] == 0
    });
    let hits = client.request_ok("workspace/symbol", json!({ "query": "Form" }));
    let names: Vec<&str> = hits.as_array().unwrap().iter().filter_map(|h| h["name"].as_str()).collect();
    assert_eq!(names, ["SmallForm"]);
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn disk_changes_are_watched_when_the_client_cannot() {
    let fixture = write_fixture(PROJECT);
    let builder =
        TestServerBuilder::default().watched_files(false).progress(true).root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    client.wait_indexed();
    assert!(client.server_requests.iter().all(|r| r["method"] != "client/registerCapability"));

    std::fs::write(fixture.path("app/forms.py"), "class LoginForm:\n    pass\n").unwrap();
    wait_for_symbols(&mut client, "LoginForm", |h| h.as_array().is_some_and(|a| !a.is_empty()));
    std::fs::write(fixture.path("app/forms.py"), "class SignupForm:\n    pass\n").unwrap();
    wait_for_symbols(&mut client, "SignupForm", |h| h.as_array().is_some_and(|a| !a.is_empty()));
    wait_for_symbols(&mut client, "LoginForm", |h| h == &json!([]));
    std::fs::remove_file(fixture.path("app/forms.py")).unwrap();
    wait_for_symbols(&mut client, "SignupForm", |h| h == &json!([]));
    // A new ignore rule applies at once: files it covers are not indexed, files it does not are.
    std::fs::write(fixture.path(".gitignore"), "generated/\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    std::fs::create_dir_all(fixture.path("generated")).unwrap();
    std::fs::write(fixture.path("generated/out.py"), "class Generated:\n    pass\n").unwrap();
    std::fs::write(fixture.path("app/late.py"), "class Late:\n    pass\n").unwrap();
    wait_for_symbols(&mut client, "Late", |h| h.as_array().is_some_and(|a| !a.is_empty()));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(client.request_ok("workspace/symbol", json!({ "query": "Generated" })), json!([]));
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn a_warm_start_answers_like_a_cold_one() {
    let fixture = write_fixture(PROJECT);
    let cache = tempfile::tempdir().unwrap();
    let queries = ["QuerySet", "filter", "gqs", "view"];
    let mut answers = Vec::new();
    for round in ["cold", "warm"] {
        let builder =
            TestServerBuilder::default().progress(true).cache_dir(cache.path()).root_uri(fixture.root_uri());
        let mut client = builder.start_in_process_for_test();
        client.initialize(&builder);
        client.wait_indexed();
        let status = client.request_ok("repolens/status", Value::Null);
        assert_eq!(status["cache"]["state"], round, "{status}");
        assert_eq!(status["graph"]["files"], 3);
        answers.push(queries.map(|q| client.request_ok("workspace/symbol", json!({ "query": q }))));
        assert_eq!(client.shutdown_and_exit(), 0);
        // The cache is written after the index is built, off the main loop: wait for it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_dir(cache.path()).map_or(0, |d| d.count()) == 0 {
            assert!(std::time::Instant::now() < deadline, "no cache was written");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    assert_eq!(answers[0], answers[1]);
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn history_status(client: &mut support::TestClient, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = client.request_ok("repolens/status", Value::Null);
        let root = &status["history"]["roots"][0];
        if status["history"]["running"] == false && wanted(root) {
            return root.clone();
        }
        assert!(std::time::Instant::now() < deadline, "history never got there: {status}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn git_history_is_read_refreshed_on_new_commits_and_cached() {
    let fixture = write_fixture(PROJECT);
    let cache = tempfile::tempdir().unwrap();
    git(fixture.root(), &["init", "-q", "-b", "main"]);
    git(fixture.root(), &["add", "."]);
    git(fixture.root(), &["commit", "-q", "-m", "first"]);
    let builder = TestServerBuilder::default()
        .progress(true)
        .cache_dir(cache.path())
        .initialization_options(json!({ "headCheckSecs": 1 }))
        .root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    let root = history_status(&mut client, |r| r["commits"] == 1);
    assert_eq!(root["state"], "read");
    // A new commit is noticed by the HEAD check and only it is read.
    std::fs::write(fixture.path("app/extra.py"), "def extra():\n    pass\n").unwrap();
    git(fixture.root(), &["add", "."]);
    git(fixture.root(), &["commit", "-q", "-m", "fix: add extra"]);
    let root = history_status(&mut client, |r| r["commits"] == 2);
    assert_eq!(root["state"], "cached, 1 new commits read");
    assert_eq!(client.shutdown_and_exit(), 0);

    // A new server starts from the cached facts.
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    let root = history_status(&mut client, |r| r["commits"] == 2);
    assert_eq!(root["state"], "cached");
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn a_folder_that_is_not_a_repository_has_history_off_without_errors() {
    let fixture = write_fixture(PROJECT);
    let builder = TestServerBuilder::default().progress(true).root_uri(fixture.root_uri());
    let mut client = builder.start_in_process_for_test();
    client.initialize(&builder);
    let root = history_status(&mut client, |r| !r.is_null());
    assert!(root["state"].as_str().unwrap().starts_with("off"), "{root}");
    assert!(client.notifications.iter().all(|n| n["method"] != "window/showMessage"), "no user-facing error");
    assert_eq!(client.shutdown_and_exit(), 0);
}
