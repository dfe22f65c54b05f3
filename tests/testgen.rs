//! Generated tests with real pytest runs and a scripted OpenAI-compatible server on loopback: a
//! candidate that passes without calling the function (it calls a look-alike of its own) is
//! rejected, one that fails on the current code is rejected, a good one wins; a rejected one is
//! reflected on in the next round; the CLI offers the winner as a new file and writes it only
//! with `--apply`; with no model it says that nothing can be generated.

#[path = "repair_support/llm_server.rs"]
mod llm_server;
mod support;

use std::{path::Path, time::Duration};

use llm_server::ScriptedLlm;
use repolens::{
    llm::{LlmConfig, LlmSettings},
    repair::{
        LlmTestGenerator, TestGenOptions, TestGenOutcome, TestRejection, TestTask, WorkspaceTexts,
        generate_test,
    },
    sandbox::{SandboxOptions, TestCommand},
    text::TextRange,
};
use support::{Fixture, tree_bytes, write_fixture};

const PROJECT: &str = r#"
//- /calc/__init__.py
//- /calc/stats.py
def mean(values):
    return sum(values) / len(values)


def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return lo
    return x
//- /tests/test_stats.py
from calc.stats import mean


def test_mean():
    assert mean([1, 2, 3]) == 2
"#;

/// Passes, but calls a `clamp` of its own, never the project's.
const LOOKALIKE: &str = "Checks clamping.\n\n```python\nfrom calc import stats  # noqa: F401\n\n\ndef clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n\n\ndef test_clamp():\n    assert clamp(5, 0, 3) == 3\n```\n";
/// Calls it, and asserts what it should do rather than what it does (it returns `lo` above `hi`).
const FAILS: &str = "Checks the upper bound.\n\n```python\nfrom calc.stats import clamp\n\n\ndef test_clamp_high():\n    assert clamp(5, 0, 3) == 3\n```\n";
const GOOD: &str = "Records clamp's current behaviour below, inside and above the range.\n\n```python\nfrom calc.stats import clamp\n\n\ndef test_clamp_below():\n    assert clamp(-1, 0, 3) == 0\n\n\ndef test_clamp_inside():\n    assert clamp(2, 0, 3) == 2\n\n\ndef test_clamp_above_returns_lo():\n    assert clamp(5, 0, 3) == 0\n\n\ndef test_unrelated():\n    assert True\n```\n";

fn config(server: &ScriptedLlm) -> LlmConfig {
    let settings = LlmSettings {
        base_url: Some(server.base_url().to_owned()),
        max_retries: Some(0),
        ..LlmSettings::default()
    };
    LlmConfig::resolve(&[&settings], &|_| None).unwrap()
}

fn task(fixture: &Fixture) -> TestTask {
    let text = fixture.read("calc/stats.py");
    let start = text.find("def clamp").unwrap();
    TestTask {
        file: "calc/stats.py".into(),
        focus: TextRange::from_usize(start..text.len()),
        qualname: "clamp".to_owned(),
        module: "calc.stats".to_owned(),
        test_path: TestTask::free_test_path(fixture.root(), Path::new("calc/stats.py"), "clamp"),
        context: Vec::new(),
    }
}

fn run(fixture: &Fixture, generator: Option<&LlmTestGenerator>, rounds: usize) -> TestGenOutcome {
    let before = tree_bytes(fixture.root());
    let sources = WorkspaceTexts { root: fixture.root().to_path_buf(), buffers: Vec::new() };
    let command = TestCommand::detect(fixture.root(), None).unwrap().with_timeout(Duration::from_secs(60));
    let options = TestGenOptions {
        rounds,
        max_parallel: Some(2),
        sandbox: SandboxOptions::new(),
        buffers: Vec::new(),
        trace: None,
    };
    let outcome =
        generate_test(&task(fixture), fixture.root(), &sources, generator, &command, &options).unwrap();
    assert_eq!(tree_bytes(fixture.root()), before, "the user's tree changed");
    outcome
}

#[test]
fn paths_for_new_tests() {
    let fixture = write_fixture(PROJECT);
    let path = TestTask::free_test_path(fixture.root(), Path::new("calc/stats.py"), "Stats.mean");
    assert_eq!(path, Path::new("tests/test_stats_stats_mean_generated.py"));
    std::fs::write(fixture.root().join(&path), "").unwrap();
    let next = TestTask::free_test_path(fixture.root(), Path::new("calc/stats.py"), "Stats.mean");
    assert_eq!(next, Path::new("tests/test_stats_stats_mean_generated_2.py"));
}

#[test]
fn code_blocks_are_read_from_answers() {
    assert_eq!(LlmTestGenerator::code_of("x\n```python\na = 1\n```\n").as_deref(), Some("a = 1\n"));
    assert_eq!(LlmTestGenerator::code_of("```\nb = 2\n```").as_deref(), Some("b = 2\n"));
    assert_eq!(LlmTestGenerator::code_of("```text\nno\n```\n```py\nc = 3\n```").as_deref(), Some("c = 3\n"));
    assert_eq!(LlmTestGenerator::code_of("no code here"), None);
}

#[test]
fn a_test_that_does_not_call_the_function_or_fails_is_rejected_and_a_good_one_wins() {
    let fixture = write_fixture(PROJECT);
    // Temperatures 0.2, 0.5, 0.8.
    let server = ScriptedLlm::start(|request| {
        let t = request["temperature"].as_f64().unwrap_or(0.0);
        if t < 0.3 {
            LOOKALIKE.to_owned()
        } else if t < 0.6 {
            FAILS.to_owned()
        } else {
            GOOD.to_owned()
        }
    });
    let generator = LlmTestGenerator::new(config(&server), 3);
    let outcome = run(&fixture, Some(&generator), 1);
    assert_eq!(outcome.model_calls, 3);
    assert_eq!(outcome.evaluated.len(), 3);
    let by_description = |d: &str| outcome.evaluated.iter().find(|e| e.candidate.description == d).unwrap();

    let lookalike = by_description("Checks clamping.");
    assert_eq!(lookalike.rejection, Some(TestRejection::NotCalled));
    assert_eq!(lookalike.run.as_ref().unwrap().counts.passed, 1, "it passed");
    assert!(
        lookalike.reason.as_deref().unwrap().contains("none of them called clamp"),
        "{:?}",
        lookalike.reason
    );

    let fails = by_description("Checks the upper bound.");
    assert_eq!(fails.rejection, Some(TestRejection::Fails));
    assert!(
        fails
            .reason
            .as_deref()
            .unwrap()
            .contains("FAILED tests/test_stats_clamp_generated.py::test_clamp_high")
    );

    let winner = outcome.winner().expect("a winner");
    assert_eq!(
        winner.candidate.description,
        "Records clamp's current behaviour below, inside and above the range."
    );
    assert_eq!(winner.run.as_ref().unwrap().counts.passed, 4);
    // The probe names exactly the tests that called it.
    assert_eq!(
        winner.calling,
        [
            "tests/test_stats_clamp_generated.py::test_clamp_above_returns_lo",
            "tests/test_stats_clamp_generated.py::test_clamp_below",
            "tests/test_stats_clamp_generated.py::test_clamp_inside",
        ]
    );
    let change = &winner.candidate.changes[0];
    assert_eq!(change.path, Path::new("tests/test_stats_clamp_generated.py"));
    assert_eq!(change.before, None, "a new file");
    // The prompt showed the function and named the module and the file to write.
    let prompt = &server.prompts()[0];
    assert!(prompt.contains("def clamp(x, lo, hi):") && !prompt.contains("def mean"), "{prompt}");
    let system = server.requests()[0]["messages"][0]["content"].as_str().unwrap().to_owned();
    assert!(
        system.contains("`calc.stats`") && system.contains("tests/test_stats_clamp_generated.py"),
        "{system}"
    );
}

#[test]
fn a_rejected_test_is_reflected_on_in_the_next_round() {
    let fixture = write_fixture(PROJECT);
    let server = ScriptedLlm::start(|request| {
        let prompt = request["messages"][1]["content"].as_str().unwrap_or_default();
        if prompt.contains("Earlier attempts were rejected") { GOOD.to_owned() } else { FAILS.to_owned() }
    });
    let generator = LlmTestGenerator::new(config(&server), 1);
    let outcome = run(&fixture, Some(&generator), 3);
    assert_eq!(outcome.rounds, 2);
    assert_eq!(outcome.evaluated[0].rejection, Some(TestRejection::Fails));
    assert_eq!(outcome.winner().unwrap().round, 1);
    let second = &server.prompts()[1];
    assert!(second.contains("(fails on the current code)"), "{second}");
    assert!(second.contains("assert clamp(5, 0, 3) == 3"), "{second}");
    assert!(second.contains("assertion failure"), "{second}");
}

#[test]
fn without_a_model_nothing_is_generated_and_the_outcome_says_why() {
    let fixture = write_fixture(PROJECT);
    let outcome = run(&fixture, None, 2);
    assert!(outcome.evaluated.is_empty() && outcome.winner.is_none());
    assert!(outcome.notes[0].contains("no model is configured"), "{:?}", outcome.notes);
}

fn cli(root: &Path, cache: &Path, server: Option<&ScriptedLlm>, extra: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_repolens"));
    command
        .args(["fix", "--root"])
        .arg(root)
        .args(["calc/stats.py:6", "--generate-test", "--samples", "1"])
        .args(extra)
        .env("REPOLENS_CACHE_DIR", cache)
        .env_remove("OPENAI_API_KEY")
        .env_remove("REPOLENS_LLM_BASE_URL");
    if let Some(server) = server {
        command.env("REPOLENS_LLM_BASE_URL", server.base_url());
    }
    command.output().unwrap()
}

#[test]
fn the_fix_command_offers_a_generated_test_and_writes_it_only_with_apply() {
    let fixture = write_fixture(PROJECT);
    let before = tree_bytes(fixture.root());
    let cache = tempfile::tempdir().unwrap();

    let out = cli(fixture.root(), cache.path(), None, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot generate a test for clamp: no model is configured"), "{stderr}");

    let server = ScriptedLlm::start(|_| GOOD.to_owned());
    let out = cli(fixture.root(), cache.path(), Some(&server), &["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["symbol"], "clamp");
    assert_eq!(report["module"], "calc.stats");
    assert_eq!(report["already_tested_by"], serde_json::json!([]));
    assert_eq!(report["test_path"], "tests/test_stats_clamp_generated.py");
    assert_eq!(report["winner"]["calling"].as_array().unwrap().len(), 3);
    assert_eq!(report["winner"]["run"]["passed"], 4);
    assert_eq!(report["applied"], false);
    assert_eq!(tree_bytes(fixture.root()), before, "written without --apply");

    let out = cli(fixture.root(), cache.path(), Some(&server), &["--apply"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("written to tests/test_stats_clamp_generated.py"), "{text}");
    assert_eq!(fixture.read("tests/test_stats_clamp_generated.py"), LlmTestGenerator::code_of(GOOD).unwrap());

    // The runs are in the trace as test generations.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_repolens"))
        .args(["traces", "--json", "--root"])
        .arg(fixture.root())
        .env("REPOLENS_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> =
        summary["runs"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["test-generation", "test-generation"]);
    assert_eq!(summary["succeeded"], 2);
}
