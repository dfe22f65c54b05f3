//! `repolens/ask` and the `repolens.ask` command end to end: the built binary over real stdio on a
//! git repository made by the test — capabilities, an extractive answer asked before indexing
//! finishes, citations in editor positions pinned to HEAD, the cursor's symbol, progress, the
//! command's Markdown document opened with `window/showDocument`, a model configured through
//! `initializationOptions` (a scripted server on loopback), and cancellation both ways.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{
    Fixture, TestClient, TestServerBuilder,
    openai::{FakeOpenAi, Reply, completion},
    write_fixture,
};

const REPO: &str = r#"
//- /shop/__init__.py
from .cart import Cart
//- /shop/cart.py
"""The shopping cart."""
from .pricing import apply_discount


class Cart:
    def __init__(self):
        self.items = []

    def total(self, coupon=None):
        subtotal = sum(p.price * q for p, q in self.items)
        return apply_discount(subtotal, coupon)
//- /shop/pricing.py
"""Prices and discounts."""


def apply_discount(amount, coupon):
    """Take a coupon's percentage off an amount of money."""
    if coupon is None:
        return amount
    return amount * (100 - coupon.percent) / 100
//- /tests/test_cart.py
from shop.cart import Cart


def test_total_without_coupon():
    assert Cart().total() == 0
"#;

const QUESTION: &str = "how does apply_discount treat a missing coupon?";

fn start(fixture: &Fixture, cache: &std::path::Path, llm: Value) -> (TestClient, Value) {
    let builder = TestServerBuilder::default()
        .encodings(&["utf-8"])
        .progress(true)
        .show_document(true)
        .cache_dir(cache)
        .initialization_options(json!({ "llm": llm }))
        .root_uri(fixture.root_uri());
    let mut client = builder.start_binary(&["serve"]);
    let init = client.initialize(&builder);
    (client, init)
}

/// The `$/progress` notifications on `token` received so far, as `kind` strings.
fn progress_kinds(client: &TestClient, token: &str) -> Vec<String> {
    client
        .notifications
        .iter()
        .filter(|n| n["method"] == "$/progress" && n["params"]["token"] == token)
        .map(|n| n["params"]["value"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn ask_and_the_command_answer_with_cited_positions() {
    let fixture = write_fixture(REPO);
    let head = fixture.commit_all("A shop");
    let cache = tempfile::tempdir().unwrap();
    let (mut client, init) = start(&fixture, cache.path(), json!({ "enabled": false }));
    assert_eq!(init["capabilities"]["experimental"]["repolens"]["ask"], true);
    assert_eq!(
        init["capabilities"]["executeCommandProvider"]["commands"],
        json!(["repolens.ask", "repolens.explainRisk", "repolens.fix", "repolens.generateTest"])
    );

    // Asked at once: the request waits for the index instead of answering from nothing.
    let id = client.send_request("repolens/ask", json!({ "question": QUESTION, "limit": 3 }));
    let response = client.wait_response(&json!(id));
    let result = &response["result"];
    assert_eq!(result["mode"], "extractive", "{response}");
    assert_eq!(result["unverified"], json!([]));
    let first = &result["citations"][0];
    assert_eq!(first["uri"], fixture.uri("shop/pricing.py"));
    assert_eq!(first["symbol"], "apply_discount");
    assert_eq!(first["range"]["start"], json!({ "line": 3, "character": 0 }));
    assert_eq!(first["range"]["end"]["line"], 7);
    assert_eq!(first["commit"], head.as_str());
    assert!(first["snippet"].as_str().unwrap().contains("if coupon is None:"));
    assert!(first["reasons"].as_array().is_some_and(|r| !r.is_empty()), "{first}");
    assert!(result["answer"].as_str().unwrap().contains("[1]"));
    let token = format!("repolens/request/{id}");
    assert_eq!(progress_kinds(&client, &token).first().map(String::as_str), Some("begin"));
    assert_eq!(progress_kinds(&client, &token).last().map(String::as_str), Some("end"));

    // The cursor's symbol leads a vague question to it.
    let text = fixture.read("shop/cart.py");
    let line = text.lines().position(|l| l.contains("def total")).unwrap();
    let result = client.request_ok(
        "repolens/ask",
        json!({
            "question": "what does this do?",
            "textDocument": { "uri": fixture.uri("shop/cart.py") },
            "position": { "line": line, "character": 10 },
        }),
    );
    assert_eq!(result["citations"][0]["symbol"], "Cart.total", "{result}");

    // The command writes the answer next to the cache and asks the editor to show it.
    let result = client.request_ok(
        "workspace/executeCommand",
        json!({ "command": "repolens.ask", "arguments": ["where is the cart total computed?"] }),
    );
    let document = result["document"].as_str().expect("a document was written");
    let path = url::Url::parse(document).unwrap().to_file_path().unwrap();
    assert!(path.starts_with(cache.path()), "{} is not under the cache", path.display());
    let markdown = std::fs::read_to_string(&path).unwrap();
    assert!(markdown.starts_with("# where is the cart total computed?\n"), "{markdown}");
    assert!(markdown.contains("## Sources") && markdown.contains(&fixture.uri("shop/cart.py")), "{markdown}");
    assert_eq!(result["citations"][0]["symbol"], "Cart.total", "{result}");
    let show = client
        .server_requests
        .iter()
        .find(|r| r["method"] == "window/showDocument")
        .expect("the answer was shown");
    assert_eq!(show["params"]["uri"], document);

    let bad =
        client.request("workspace/executeCommand", json!({ "command": "repolens.nothing", "arguments": [] }));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let empty = client.request("repolens/ask", json!({ "question": " " }));
    assert_eq!(empty["error"]["code"], -32602, "{empty}");
    assert!(client.stray_output.is_empty(), "{:?}", String::from_utf8_lossy(&client.stray_output));
    assert_eq!(client.shutdown_and_exit(), 0);
}

#[test]
fn a_model_from_initialization_options_answers_and_can_be_cancelled() {
    let fixture = write_fixture(REPO);
    fixture.commit_all("A shop");
    let cache = tempfile::tempdir().unwrap();
    let slow = || Reply::Delayed(Duration::from_secs(30), Box::new(completion("late [1].")));
    let server = FakeOpenAi::start(vec![
        completion("A missing coupon leaves the amount as it is [1]. Coupons expire after a year [42]."),
        slow(),
        slow(),
    ]);
    let llm =
        json!({ "baseUrl": server.base_url, "model": "local", "apiKeyEnv": "REPOLENS_TEST_NO_SUCH_KEY" });
    let (mut client, _) = start(&fixture, cache.path(), llm);

    let result = client.request_ok("repolens/ask", json!({ "question": QUESTION }));
    assert_eq!(result["mode"], "generative", "{result}");
    assert_eq!(
        result["answer"].as_str().unwrap().lines().next(),
        Some("A missing coupon leaves the amount as it is [1].")
    );
    assert_eq!(result["citations"].as_array().unwrap().len(), 1);
    assert!(result["unverified"][0].as_str().unwrap().contains("[42]"), "{result}");
    assert_eq!(server.bodies()[0]["model"], "local");

    // `$/cancelRequest` while the model is thinking.
    let id = client.send_request("repolens/ask", json!({ "question": QUESTION }));
    let token = format!("repolens/request/{id}");
    client
        .wait_notification("$/progress", |p| p["token"] == token.as_str() && p["value"]["kind"] == "report");
    client.notify("$/cancelRequest", json!({ "id": id }));
    let response = client.wait_response(&json!(id));
    assert_eq!(response["error"]["code"], -32800, "{response}");
    client.wait_notification("$/progress", |p| p["token"] == token.as_str() && p["value"]["kind"] == "end");

    // The user cancelling the progress bar cancels the request.
    let id = client.send_request("repolens/ask", json!({ "question": QUESTION }));
    let token = format!("repolens/request/{id}");
    let begin = client
        .wait_notification("$/progress", |p| p["token"] == token.as_str() && p["value"]["kind"] == "begin");
    assert_eq!(begin["params"]["value"]["cancellable"], true);
    client.notify("window/workDoneProgress/cancel", json!({ "token": token }));
    let response = client.wait_response(&json!(id));
    assert_eq!(response["error"]["code"], -32800, "{response}");
    assert_eq!(client.shutdown_and_exit(), 0);
}
