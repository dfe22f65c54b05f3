//! Loading a repository to answer from (its symbol graph in place, cold and warm), then answers
//! on a fixture repository: extractive (no model) with citations that match the code,
//! and generative against a scripted OpenAI-compatible server on loopback — a correct cited
//! answer, a hallucinated citation, a quote that is not in the code, a rate limit then success,
//! a timeout, malformed JSON, a bad key, streaming, cancellation — and no secret ever in what the
//! server receives.

mod support;

use std::time::Duration;

use repolens::{
    analysis::{LoadOptions, LoadedRepository, load_repository},
    answer::{Answer, AskRequest, Mode, ask},
    llm::{LlmClient, LlmConfig, LlmError, LlmSettings},
    stdx::CancelToken,
};
use support::{
    Fixture,
    openai::{FakeOpenAi, Reply, completion, error, stream},
    write_fixture,
};

const SHOP: &str = r#"
//- /shop/__init__.py
from .cart import Cart
//- /shop/cart.py
"""The shopping cart."""
from .pricing import apply_discount


class Cart:
    """Items a customer is about to buy."""

    def __init__(self):
        self.items = []

    def add_item(self, product, quantity=1):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.items.append((product, quantity))

    def total(self, coupon=None):
        subtotal = sum(p.price * q for p, q in self.items)
        return apply_discount(subtotal, coupon)
//- /shop/pricing.py
"""Prices, taxes and discounts."""

PAYMENT_API_KEY = "sk-live-SECRETSECRETSECRETSECRET1234"


def apply_discount(amount, coupon):
    """Take a coupon's percentage off an amount of money."""
    if coupon is None:
        return amount
    return amount * (100 - coupon.percent) / 100
//- /shop/credentials.py
"""Discount service credentials."""
DISCOUNT_SERVICE_PASSWORD = "correct-horse-battery-staple"


def discount_service_login():
    return DISCOUNT_SERVICE_PASSWORD
//- /tests/test_cart.py
from shop.cart import Cart


def test_total_with_discount():
    assert Cart().total() == 0
"#;

fn load(fixture: &Fixture) -> LoadedRepository {
    let options = LoadOptions { no_cache: true, history: false, ..LoadOptions::default() };
    load_repository(fixture.root(), &options, &|_| {}).expect("loading the fixture")
}

fn client(server: &FakeOpenAi, extra: serde_json::Value) -> LlmClient {
    let mut settings = serde_json::json!({
        "baseUrl": server.base_url,
        "model": "test-model",
        "apiKeyEnv": "REPOLENS_TEST_NO_SUCH_KEY",
        "timeoutSecs": 5.0,
        "retryBaseMs": 10,
    });
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let settings: LlmSettings = serde_json::from_value(settings).unwrap();
    LlmClient::new(LlmConfig::resolve(&[&settings], &|_| None).unwrap()).unwrap()
}

const QUESTION: &str = "how does apply_discount treat a missing coupon?";

fn answer(repo: &LoadedRepository, llm: Option<&LlmClient>) -> Answer {
    let request = AskRequest { question: QUESTION.to_owned(), cursor: None, limit: 3 };
    ask(&repo.host.snapshot(), &request, llm, &CancelToken::new(), &mut |_| {}).unwrap()
}

/// The excerpt number of `path` in the prompt the server received.
fn excerpt_number(server: &FakeOpenAi, path: &str) -> usize {
    let prompt = server.bodies()[0]["messages"][1]["content"].as_str().unwrap().to_owned();
    prompt
        .lines()
        .filter_map(|l| l.strip_prefix('['))
        .find(|l| l.contains(&format!("] {path}:")))
        .and_then(|l| l.split(']').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{path} not in the prompt:\n{prompt}"))
}

#[test]
fn a_loaded_repository_has_its_graph_cold_and_warm() {
    // The graph and the search index are built side by side. On a warm load the search index
    // has nothing to do and is done first; loading must still wait for the graph, which the
    // extractive answer's caller facts (and repair's test selection) read.
    // Many references make the graph the slower of the two, as on a real repository.
    let mut source = String::from(SHOP);
    for module in 0..150 {
        source.push_str(&format!("//- /shop/gen{module}.py\nfrom .pricing import apply_discount\n"));
        for function in 0..60 {
            source.push_str(&format!("def f{function}(c):\n    return apply_discount(f{function}(c), c)\n"));
        }
    }
    let fixture = write_fixture(&source);
    let cache = tempfile::tempdir().unwrap();
    let options =
        LoadOptions { cache_dir: Some(cache.path().to_path_buf()), history: false, ..LoadOptions::default() };
    for start in ["cold", "warm"] {
        let repo = load_repository(fixture.root(), &options, &|_| {}).expect("loading the fixture");
        let graph = repo.host.model().graph.read();
        // 156 modules, 9,000 generated functions and the shop's own symbols.
        assert!(graph.node_count() > 9_156, "{start}: {} nodes", graph.node_count());
        assert!(repo.timings.graph > Duration::ZERO, "{start}: no graph timing");
    }
}

#[test]
fn extractive_answer_cites_the_definition_with_its_lines() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let answer = answer(&repo, None);
    assert_eq!(answer.mode, Mode::Extractive);
    let first = &answer.citations[0];
    assert_eq!((first.path.as_str(), first.symbol.as_deref()), ("shop/pricing.py", Some("apply_discount")));
    assert_eq!((first.start_line, first.end_line), (6, 10));
    // The cited byte range is exactly those lines of the file.
    let text = fixture.read("shop/pricing.py");
    let cited = &text[first.range.start as usize..first.range.end as usize];
    assert!(cited.starts_with("def apply_discount") && cited.ends_with("/ 100"), "{cited:?}");
    assert!(first.snippet.contains("if coupon is None:"), "{}", first.snippet);
    assert!(answer.markdown.contains("[1]"), "{}", answer.markdown);
    // Graph facts carry their own citations: `Cart.total` calls it.
    let caller = answer.citations.iter().position(|c| c.symbol.as_deref() == Some("Cart.total"));
    let caller = caller.unwrap_or_else(|| panic!("no caller cited: {}", answer.markdown));
    assert!(
        answer.markdown.contains(&format!("`Cart.total` (`shop/cart.py:16`) [{}]", caller + 1)),
        "{}",
        answer.markdown
    );
    // Every marker in the answer names a citation.
    for n in 1..=answer.citations.len() {
        assert!(answer.markdown.contains(&format!("[{n}]")), "[{n}] unused: {}", answer.markdown);
    }
    assert!(!answer.markdown.contains(&format!("[{}]", answer.citations.len() + 1)));
}

#[test]
fn a_correct_cited_answer_is_kept() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    // The excerpt numbers are only known once the prompt is built: answer in two steps.
    let probe = FakeOpenAi::start(vec![completion("probe")]);
    let _ = answer(&repo, Some(&client(&probe, serde_json::json!({}))));
    let n = excerpt_number(&probe, "shop/pricing.py");
    let server = FakeOpenAi::start(vec![completion(&format!(
        "`apply_discount` returns the amount unchanged when `coupon is None` [{n}]."
    ))]);
    let answer = answer(&repo, Some(&client(&server, serde_json::json!({}))));
    assert_eq!(answer.mode, Mode::Generative, "{:?}", answer.model_error);
    assert_eq!(answer.markdown, "`apply_discount` returns the amount unchanged when `coupon is None` [1].");
    assert_eq!(answer.citations.len(), 1);
    assert_eq!(answer.citations[0].path, "shop/pricing.py");
    assert!(answer.unverified.is_empty());
    let usage = answer.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.estimated), (120, 30, false));
    let body = &server.bodies()[0];
    assert_eq!(body["model"], "test-model");
    assert!(body["messages"][1]["content"].as_str().unwrap().contains(QUESTION));
}

#[test]
fn a_hallucinated_citation_is_dropped() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let server = FakeOpenAi::start(vec![completion(
        "Discounts are percentages [1]. Shipping is free over 50 euros [42].",
    )]);
    let answer = answer(&repo, Some(&client(&server, serde_json::json!({}))));
    assert_eq!(answer.mode, Mode::Generative);
    assert!(!answer.markdown.contains("Shipping"), "{}", answer.markdown);
    assert!(answer.markdown.contains("Discounts are percentages [1]."), "{}", answer.markdown);
    assert_eq!(answer.unverified.len(), 1);
    assert!(answer.unverified[0].contains("[42]"), "{:?}", answer.unverified);
    assert!(answer.markdown.contains("1 statement was dropped"), "{}", answer.markdown);
}

#[test]
fn a_quote_that_is_not_in_the_code_is_dropped() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let server = FakeOpenAi::start(vec![completion(
        "It subtracts a flat amount with `amount - coupon.value` [1]. Coupons are optional [1].",
    )]);
    let answer = answer(&repo, Some(&client(&server, serde_json::json!({}))));
    assert_eq!(answer.markdown.lines().next(), Some("Coupons are optional [1]."), "{}", answer.markdown);
    assert_eq!(answer.unverified.len(), 1);
    assert!(answer.unverified[0].contains("amount - coupon.value"), "{:?}", answer.unverified);
}

#[test]
fn a_rate_limit_is_retried() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let server = FakeOpenAi::start(vec![error(429, "slow down"), completion("Coupons are optional [1].")]);
    let answer = answer(&repo, Some(&client(&server, serde_json::json!({}))));
    assert_eq!(answer.mode, Mode::Generative, "{:?}", answer.model_error);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn server_errors_give_up_after_the_retries() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let server = FakeOpenAi::start(vec![error(503, "down"), error(503, "down"), error(503, "down")]);
    let answer = answer(&repo, Some(&client(&server, serde_json::json!({ "maxRetries": 2 }))));
    assert_eq!(answer.mode, Mode::Extractive);
    let message = answer.model_error.unwrap();
    assert!(message.contains("HTTP 503") && message.contains("3 attempts"), "{message}");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_timeout_falls_back_to_the_extractive_answer() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let server = FakeOpenAi::start(vec![Reply::Delayed(
        Duration::from_secs(5),
        Box::new(completion("too late [1].")),
    )]);
    let answer = answer(&repo, Some(&client(&server, serde_json::json!({ "timeoutSecs": 0.3 }))));
    assert_eq!(answer.mode, Mode::Extractive);
    assert!(answer.model_error.as_deref().unwrap().contains("no answer from the model within"));
    assert!(answer.markdown.starts_with("> The model could not answer"), "{}", answer.markdown);
    assert_eq!(answer.citations[0].path, "shop/pricing.py");
}

#[test]
fn malformed_json_is_a_clear_error() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let server = FakeOpenAi::start(vec![Reply::Body { status: 200, body: "{\"choices\": [".to_owned() }]);
    let broken = answer(&repo, Some(&client(&server, serde_json::json!({}))));
    assert_eq!(broken.mode, Mode::Extractive);
    assert!(broken.model_error.as_deref().unwrap().contains("malformed"), "{:?}", broken.model_error);
    // A well-formed answer without the expected fields is malformed too.
    let server = FakeOpenAi::start(vec![Reply::Body { status: 200, body: "{\"choices\": []}".to_owned() }]);
    let answer = answer(&repo, Some(&client(&server, serde_json::json!({}))));
    assert!(answer.model_error.as_deref().unwrap().contains("no choices"), "{:?}", answer.model_error);
}

#[test]
fn a_bad_key_is_an_authentication_error_naming_the_variable() {
    let server = FakeOpenAi::start(vec![error(401, "Incorrect API key provided")]);
    let llm = client(&server, serde_json::json!({ "apiKeyEnv": "MY_PROVIDER_KEY" }));
    let err = llm.chat(&[repolens::llm::ChatMessage::user("hi")], &CancelToken::new()).unwrap_err();
    assert!(matches!(err, LlmError::Auth { status: 401, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("Incorrect API key") && message.contains("$MY_PROVIDER_KEY"), "{message}");
    assert_eq!(server.requests().len(), 1, "authentication failures are not retried");
}

#[test]
fn a_streamed_answer_is_assembled_and_verified() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let server = FakeOpenAi::start(vec![stream(&["Coupons ", "are optional", " [1]."])]);
    let answer = answer(&repo, Some(&client(&server, serde_json::json!({ "stream": true }))));
    assert_eq!(answer.mode, Mode::Generative, "{:?}", answer.model_error);
    assert_eq!(answer.markdown, "Coupons are optional [1].");
    assert_eq!(answer.usage.unwrap().completion_tokens, 7);
    assert_eq!(server.bodies()[0]["stream"], true);
    // The streaming API hands each piece over as it arrives.
    let server = FakeOpenAi::start(vec![stream(&["a", "b", "c"])]);
    let llm = client(&server, serde_json::json!({}));
    let mut pieces = Vec::new();
    let done = llm
        .chat_streaming(&[repolens::llm::ChatMessage::user("hi")], &CancelToken::new(), &mut |d| {
            pieces.push(d.to_owned())
        })
        .unwrap();
    assert_eq!((pieces.join("|"), done.text.as_str(), done.streamed), ("a|b|c".to_owned(), "abc", true));
}

#[test]
fn cancelling_stops_a_slow_request() {
    let server =
        FakeOpenAi::start(vec![Reply::Delayed(Duration::from_secs(10), Box::new(completion("late")))]);
    let llm = client(&server, serde_json::json!({ "timeoutSecs": 30.0 }));
    let cancel = CancelToken::new();
    let canceller = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        canceller.cancel();
    });
    // The reply would come after 10 s, within the 30 s timeout: only the cancellation can end the
    // call with `Cancelled` (a timeout or an answer would end it otherwise).
    let err = llm.chat(&[repolens::llm::ChatMessage::user("hi")], &cancel).unwrap_err();
    assert!(matches!(err, LlmError::Cancelled), "{err:?}");
}

#[test]
fn secrets_never_reach_the_server() {
    let fixture = write_fixture(SHOP);
    let repo = load(&fixture);
    let server = FakeOpenAi::start(vec![completion("Coupons are optional [1]."); 2]);
    let llm = client(&server, serde_json::json!({}));
    for question in [QUESTION, "how does the discount service login work, with what password?"] {
        let request = AskRequest { question: question.to_owned(), cursor: None, limit: 5 };
        let answer =
            ask(&repo.host.snapshot(), &request, Some(&llm), &CancelToken::new(), &mut |_| {}).unwrap();
        assert_eq!(answer.mode, Mode::Generative, "{:?}", answer.model_error);
    }
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert!(!request.contains("SECRETSECRET"), "a token reached the server:\n{request}");
        assert!(
            !request.contains("correct-horse-battery-staple"),
            "a password reached the server:\n{request}"
        );
        assert!(!request.contains("shop/credentials.py"), "a secret file reached the server:\n{request}");
    }
    // The file that held the token was sent, redacted.
    assert!(sent[0].contains("PAYMENT_API_KEY = \\\"[REDACTED]\\\""), "{}", sent[0]);
}

#[test]
fn a_caller_of_two_shown_places_is_cited_once() {
    let fixture = write_fixture(
        r#"
//- /shop/pricing.py
def add_tax(amount):
    """Add the sales tax to an amount."""
    return amount * 1.2


def take_discount(amount):
    """Take the discount off an amount."""
    return amount * 0.9
//- /shop/cart.py
from .pricing import add_tax, take_discount


def checkout_total(amount):
    return add_tax(take_discount(amount))
"#,
    );
    let repo = load(&fixture);
    let request =
        AskRequest { question: "add_tax and take_discount of an amount".to_owned(), cursor: None, limit: 2 };
    let answer = ask(&repo.host.snapshot(), &request, None, &CancelToken::new(), &mut |_| {}).unwrap();
    for shown in ["The function `add_tax`", "The function `take_discount`"] {
        assert!(answer.markdown.contains(shown), "{}", answer.markdown);
    }
    let callers: Vec<usize> = (0..answer.citations.len())
        .filter(|&i| answer.citations[i].symbol.as_deref() == Some("checkout_total"))
        .collect();
    assert_eq!(callers.len(), 1, "{}", answer.markdown);
    let marker = format!("`checkout_total` (`shop/cart.py:4`) [{}]", callers[0] + 1);
    assert_eq!(answer.markdown.matches(&marker).count(), 2, "{}", answer.markdown);
}
