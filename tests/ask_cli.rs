//! `repolens ask` as a user runs it: the built binary on a real git repository made by the test,
//! with no configuration (an extractive answer, citations pinned to HEAD), a first run that
//! indexes and a second that reuses the cache, Markdown and JSON output, and a model configured
//! in `.repolens.toml` (a scripted server on loopback).

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::{Fixture, openai::FakeOpenAi, write_fixture};

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

fn repo() -> (Fixture, String) {
    let fixture = write_fixture(REPO);
    let head = fixture.commit_all("A shop");
    (fixture, head)
}

/// Runs the binary with its cache in `cache` and no model settings from the environment.
fn repolens(args: &[&str], cache: &std::path::Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_repolens"));
    cmd.args(args).env("REPOLENS_CACHE_DIR", cache);
    for var in ["OPENAI_API_KEY", "REPOLENS_LLM_BASE_URL", "REPOLENS_LLM_MODEL"] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}

fn ask_json(fixture: &Fixture, cache: &std::path::Path) -> (Value, String) {
    let root = fixture.root().to_str().unwrap();
    let out = repolens(&["ask", QUESTION, "--root", root, "--json", "--limit", "3"], cache);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[test]
fn answers_without_configuration_and_reuses_the_index() {
    let (fixture, head) = repo();
    let cache = tempfile::tempdir().unwrap();

    let (cold, stderr) = ask_json(&fixture, cache.path());
    assert_eq!(cold["mode"], "extractive");
    assert_eq!(cold["cache"]["state"], "cold");
    assert!(stderr.contains("indexing") && stderr.contains("indexed 4 files"), "{stderr}");
    let first = &cold["citations"][0];
    assert_eq!(first["path"], "shop/pricing.py");
    assert_eq!(first["symbol"], "apply_discount");
    assert_eq!((first["start_line"].as_u64(), first["end_line"].as_u64()), (Some(4), Some(8)));
    assert_eq!(first["commit"], head.as_str());
    assert!(first["snippet"].as_str().unwrap().contains("if coupon is None:"), "{first}");
    assert!(first["uri"].as_str().unwrap().ends_with("/shop/pricing.py"));
    assert!(
        cold["answer"].as_str().unwrap().contains("`Cart.total` (`shop/cart.py:9`)"),
        "{}",
        cold["answer"]
    );
    assert_eq!(cold["unverified"], serde_json::json!([]));

    let (warm, stderr) = ask_json(&fixture, cache.path());
    assert_eq!(warm["cache"], serde_json::json!({ "state": "warm", "reused": 4 }));
    assert!(stderr.is_empty(), "a warm run is quiet: {stderr}");
    assert_eq!(warm["answer"], cold["answer"]);
    assert_eq!(warm["citations"], cold["citations"]);
}

#[test]
fn markdown_output_lists_citations_with_their_commit() {
    let (fixture, head) = repo();
    let cache = tempfile::tempdir().unwrap();
    let out = repolens(&["ask", QUESTION, "--root", fixture.root().to_str().unwrap()], cache.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("The most relevant places in the repository:"), "{stdout}");
    let line = format!("[1] shop/pricing.py:4-8 apply_discount @ {}", &head[..10]);
    assert!(stdout.lines().any(|l| l == line), "no `{line}` in:\n{stdout}");
}

#[test]
fn a_model_in_repolens_toml_makes_the_answer_generative() {
    let (fixture, _) = repo();
    let server = FakeOpenAi::start(vec![support::openai::completion(
        "Without a coupon the amount is returned as is [1]. It is free on Sundays [42].",
    )]);
    std::fs::write(
        fixture.path(".repolens.toml"),
        format!(
            "[llm]\nbase_url = \"{}\"\nmodel = \"local\"\napi_key_env = \"NO_SUCH_KEY_VAR\"\n",
            server.base_url
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (answer, _) = ask_json(&fixture, cache.path());
    assert_eq!(answer["mode"], "generative", "{answer}");
    assert_eq!(
        answer["answer"].as_str().unwrap().lines().next(),
        Some("Without a coupon the amount is returned as is [1].")
    );
    assert_eq!(answer["citations"].as_array().unwrap().len(), 1);
    assert!(answer["unverified"][0].as_str().unwrap().contains("[42]"), "{answer}");
    assert_eq!(server.bodies()[0]["model"], "local");

    // `--extractive` never asks the model.
    let root = fixture.root().to_str().unwrap();
    let out = repolens(&["ask", QUESTION, "--root", root, "--json", "--extractive"], cache.path());
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["mode"], "extractive");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn an_empty_question_is_an_error() {
    let (fixture, _) = repo();
    let cache = tempfile::tempdir().unwrap();
    let out = repolens(&["ask", "  ", "--root", fixture.root().to_str().unwrap()], cache.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the question is empty"));
}
