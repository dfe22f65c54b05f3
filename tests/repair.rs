//! The repair loop end to end on fixture projects with real pytest runs: mechanical fixes as
//! candidates, the model generator against a scripted OpenAI-compatible server on loopback
//! (a good edit, an edit whose search text does not match, an edit that breaks syntax, a
//! reflection round that fixes a failing candidate), test selection through the graph, and the
//! user's tree byte-identical afterwards.

#[path = "repair_support/llm_server.rs"]
mod llm_server;
mod support;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use llm_server::ScriptedLlm;
use repolens::{
    analysis::{LoadOptions, load_repository},
    llm::{LlmConfig, LlmSettings},
    repair::{
        FailureKind, Generator, LlmGenerator, MechanicalFix, RepairOptions, RepairOutcome, RepairTask,
        RuleGenerator, TestPlan, Workspace, WorkspaceTexts, repair,
    },
    sandbox::{SandboxOptions, TestCommand, TestId},
    text::TextRange,
    trace::{Trace, read_events, summarize},
};
use support::{Fixture, tree_bytes, write_fixture};

const PROJECT: &str = r#"
//- /calc/__init__.py
//- /calc/stats.py
def mean(values):
    total = 0
    for v in values:
        total += v
    return total / (len(values) - 1)


def spread(values):
    return max(values) - min(values)
//- /tests/test_stats.py
from calc.stats import mean, spread


def test_mean():
    assert mean([1, 2, 3]) == 2


def test_spread():
    assert spread([1, 5]) == 4
//- /tests/test_other.py
def test_unrelated():
    assert True
"#;

const BUGGY: &str = "    return total / (len(values) - 1)\n";

struct Setup {
    fixture: Fixture,
    before: BTreeMap<PathBuf, Vec<u8>>,
    text: String,
}

impl Setup {
    fn new() -> Setup {
        let fixture = write_fixture(PROJECT);
        let before = tree_bytes(fixture.root());
        let text = fixture.read("calc/stats.py");
        Setup { fixture, before, text }
    }

    fn root(&self) -> &Path {
        self.fixture.root()
    }

    fn task(&self, fixes: Vec<MechanicalFix>) -> RepairTask {
        let end = self.text.find("\n\n\ndef spread").unwrap();
        RepairTask {
            file: "calc/stats.py".into(),
            focus: TextRange::from_usize(0..end),
            problem: "mean([1, 2, 3]) returns 3.0 instead of 2".to_owned(),
            fixes,
            context: Vec::new(),
        }
    }

    /// A fix replacing the buggy line.
    fn fix(&self, title: &str, line: &str) -> MechanicalFix {
        let at = self.text.find(BUGGY).unwrap();
        MechanicalFix {
            title: title.to_owned(),
            edits: vec![(TextRange::from_usize(at..at + BUGGY.len()), line.to_owned())],
            needs_failing_test: false,
        }
    }

    fn run(&self, task: &RepairTask, generators: &[&dyn Generator], rounds: usize) -> RepairOutcome {
        self.run_traced(task, generators, rounds, None)
    }

    fn run_traced(
        &self,
        task: &RepairTask,
        generators: &[&dyn Generator],
        rounds: usize,
        trace: Option<Trace>,
    ) -> RepairOutcome {
        let loaded =
            load_repository(self.root(), &LoadOptions { no_cache: true, ..LoadOptions::default() }, &|_| {})
                .unwrap();
        let graph = loaded.host.model().graph.read();
        let sources = WorkspaceTexts { root: self.root().to_path_buf(), buffers: Vec::new() };
        let plan = TestPlan {
            command: TestCommand::detect(self.root(), None).unwrap().with_timeout(Duration::from_secs(60)),
            required: Vec::new(),
            wider: Some(Vec::new()),
        };
        let options = RepairOptions {
            rounds,
            max_parallel: Some(2),
            sandbox: SandboxOptions::new(),
            baseline_cache: None,
            buffers: Vec::new(),
            trace,
        };
        let workspace = Workspace { root: self.root(), sources: &sources, graph: Some(&graph) };
        let outcome = repair(task, workspace, generators, &plan, &options, &|_| {}).unwrap();
        assert_eq!(tree_bytes(self.root()), self.before, "the user's tree changed");
        outcome
    }
}

fn ids(ids: &[TestId]) -> Vec<&str> {
    ids.iter().map(TestId::as_str).collect()
}

#[test]
fn mechanical_fixes_are_tested_and_the_passing_one_wins() {
    let s = Setup::new();
    let task = s.task(vec![
        s.fix("divide by one more", "    return total / (len(values) + 1)\n"),
        s.fix("divide by the count", "    return total / len(values)\n"),
        s.fix("unbalanced", "    return total / (len(values)\n"),
    ]);
    let outcome = s.run(&task, &[&RuleGenerator], 3);
    assert_eq!(outcome.rounds, 1, "rule fixes do not change between rounds");
    let winner = outcome.winner().expect("a winner");
    assert_eq!(winner.candidate.description, "divide by the count");
    // The graph selected the test that references `mean` (not test_spread, not test_other).
    assert_eq!(ids(&winner.targets), ["tests/test_stats.py::test_mean"]);
    // As a finalist it also ran the whole suite, with no regression.
    let (wider, regressions) = winner.wider.as_ref().expect("the wider suite ran");
    assert_eq!(wider.counts.passed, 3);
    assert!(regressions.is_clean());
    assert!(winner.candidate.diff().contains("+    return total / len(values)\n"));

    let loser = &outcome.evaluated[outcome.ranking[1]];
    assert_eq!(loser.candidate.description, "divide by one more");
    assert_eq!(loser.failure, Some(FailureKind::AssertionFailure));
    assert!(loser.wider.is_none(), "only finalists run the wider suite");
    // The fix that breaks the syntax never ran.
    assert_eq!(outcome.rejected.len(), 1);
    assert!(
        outcome.rejected[0].1.error.to_string().contains("syntax errors"),
        "{}",
        outcome.rejected[0].1.error
    );
}

fn config(server: &ScriptedLlm) -> LlmConfig {
    let settings = LlmSettings {
        base_url: Some(server.base_url().to_owned()),
        max_retries: Some(0),
        ..LlmSettings::default()
    };
    LlmConfig::resolve(&[&settings], &|_| None).unwrap()
}

const GOOD: &str = "Divide by the number of values.\n\ncalc/stats.py\n<<<<<<< SEARCH\n    return total / (len(values) - 1)\n=======\n    return total / len(values)\n>>>>>>> REPLACE\n";
const WRONG: &str = "Divide by one more.\n\ncalc/stats.py\n<<<<<<< SEARCH\n    return total / (len(values) - 1)\n=======\n    return total / (len(values) + 1)\n>>>>>>> REPLACE\n";
const NO_MATCH: &str = "Use the builtin.\n\ncalc/stats.py\n<<<<<<< SEARCH\n    return sum(values) / count\n=======\n    return sum(values) / len(values)\n>>>>>>> REPLACE\n";
const BREAKS: &str = "Rewrite the division.\n\ncalc/stats.py\n<<<<<<< SEARCH\n    return total / (len(values) - 1)\n=======\n    return total / (len(values)\n>>>>>>> REPLACE\n";

#[test]
fn model_samples_that_do_not_apply_or_break_syntax_are_rejected_and_a_good_one_wins() {
    let s = Setup::new();
    // The answer depends on the sample's temperature: 0.0, 0.4, 0.8.
    let server = ScriptedLlm::start(|request| {
        let t = request["temperature"].as_f64().unwrap_or(0.0);
        if t < 0.2 {
            GOOD.to_owned()
        } else if t < 0.6 {
            NO_MATCH.to_owned()
        } else {
            BREAKS.to_owned()
        }
    });
    let generator = LlmGenerator::new(config(&server), s.root().to_path_buf(), 3);
    let outcome = s.run(&s.task(Vec::new()), &[&generator], 2);
    assert_eq!(outcome.model_calls, 3);
    assert_eq!(outcome.rounds, 1);
    let winner = outcome.winner().expect("a winner");
    assert_eq!(winner.candidate.description, "Divide by the number of values.");
    let mut kinds: Vec<String> = outcome.rejected.iter().map(|(_, r)| r.error.to_string()).collect();
    kinds.sort();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(kinds[0].starts_with("the edit leaves calc/stats.py with"), "{kinds:?}");
    assert!(kinds[1].starts_with("the search text was not found in calc/stats.py"), "{kinds:?}");
    // The prompt showed the localized code.
    let prompt = &server.prompts()[0];
    assert!(prompt.contains("def mean(values):") && !prompt.contains("def spread"), "{prompt}");
}

#[test]
fn a_failed_candidate_is_reflected_on_and_the_next_round_fixes_it() {
    let s = Setup::new();
    // Wrong first; right once the prompt reports the earlier failure.
    let server = ScriptedLlm::start(|request| {
        let prompt = request["messages"][1]["content"].as_str().unwrap_or_default();
        if prompt.contains("Earlier attempts failed") { GOOD.to_owned() } else { WRONG.to_owned() }
    });
    let generator = LlmGenerator::new(config(&server), s.root().to_path_buf(), 1);
    let outcome = s.run(&s.task(Vec::new()), &[&generator], 3);
    assert_eq!(outcome.rounds, 2);
    let first = &outcome.evaluated[0];
    assert_eq!(first.failure, Some(FailureKind::AssertionFailure));
    let winner = outcome.winner().expect("a winner");
    assert_eq!(winner.round, 1);
    assert_eq!(winner.candidate.description, "Divide by the number of values.");
    let prompts = server.prompts();
    assert_eq!(prompts.len(), 2);
    // The second prompt carries the failed candidate's diff, its category and the test output.
    let second = &prompts[1];
    assert!(second.contains("(assertion failure)"), "{second}");
    assert!(second.contains("+    return total / (len(values) + 1)"), "{second}");
    assert!(second.contains("FAILED tests/test_stats.py::test_mean"), "{second}");
}

#[test]
fn a_traced_repair_records_calls_candidates_test_runs_and_decisions() {
    let s = Setup::new();
    let server = ScriptedLlm::start(|request| {
        let prompt = request["messages"][1]["content"].as_str().unwrap_or_default();
        if prompt.contains("Earlier attempts failed") { GOOD.to_owned() } else { WRONG.to_owned() }
    });
    let generator = LlmGenerator::new(config(&server), s.root().to_path_buf(), 1);
    let cache = tempfile::tempdir().unwrap();
    let trace = Trace::start(&Trace::path_in(cache.path())).unwrap();
    let mut task = s.task(Vec::new());
    task.problem.push_str(" (api_key = \"sk-abcdefghijklmnopqrstuvwxyz123456\")");
    let outcome = s.run_traced(&task, &[&generator], 3, Some(trace.clone()));
    assert!(outcome.winner.is_some());

    let (events, malformed) = read_events(trace.path()).unwrap();
    assert_eq!(malformed, 0);
    assert!(events.iter().all(|e| e["run"] == trace.run_id()));
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"run_start"));
    assert_eq!(kinds.last(), Some(&"run_end"));
    let of = |kind: &str| events.iter().filter(|e| e["event"] == kind).collect::<Vec<_>>();
    assert_eq!(of("run_start")[0]["location"], "calc/stats.py:1");

    let calls = of("llm_call");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["response"], WRONG);
    assert_eq!(calls[1]["response"], GOOD);
    assert_eq!(
        (calls[0]["prompt_tokens"].as_u64(), calls[0]["completion_tokens"].as_u64()),
        (Some(100), Some(20))
    );
    assert!(calls[0]["latency_ms"].is_u64());
    let prompt = calls[1]["messages"][1]["content"].as_str().unwrap();
    assert!(prompt.contains("Earlier attempts failed"), "{prompt}");
    // Secrets never reach the trace.
    let text = std::fs::read_to_string(trace.path()).unwrap();
    assert!(!text.contains("sk-abcdefghijklmnopqrstuvwxyz123456"));

    let candidates = of("candidate");
    assert_eq!(candidates.len(), 2);
    assert_eq!(candidates[0]["failure"], "assertion failure");
    assert!(candidates[0]["diff"].as_str().unwrap().contains("+    return total / (len(values) + 1)"));
    assert!(candidates[1]["failure"].is_null());
    assert_eq!(candidates[1]["targets_pass"], true);

    let runs = of("test_run");
    let roles: Vec<&str> = runs.iter().map(|r| r["role"].as_str().unwrap()).collect();
    // One baseline of the targets (shared by both rounds), each candidate on them, the winner
    // and the whole suite's baseline for the wider run.
    assert_eq!(roles, ["baseline", "targets", "targets", "baseline", "wider"]);
    assert_eq!(runs[0]["selection"], serde_json::json!(["tests/test_stats.py::test_mean"]));
    assert_eq!(runs[1]["outcome"], "Failed");
    assert_eq!(runs[4]["outcome"], "Passed");
    assert_eq!(runs[4]["counts"]["passed"], 3);

    let decisions = of("decision");
    assert_eq!(decisions.len(), 2);
    assert!(decisions[0]["winner"].is_null());
    assert_eq!(decisions[1]["winner"], 1);
    let end = of("run_end")[0];
    assert_eq!(end["success"], true);
    assert_eq!(end["winner"]["description"], "Divide by the number of values.");

    let summary = summarize(&events, malformed, None);
    assert_eq!(summary.runs.len(), 1);
    assert_eq!(summary.success_rate, Some(100.0));
    assert_eq!((summary.llm_calls, summary.prompt_tokens, summary.completion_tokens), (2, 200, 40));
    assert_eq!(summary.failures.into_iter().collect::<Vec<_>>(), [("assertion failure".to_owned(), 1)]);
    assert_eq!(summary.test_runs, 5);
}

#[test]
fn without_a_winner_the_best_candidate_and_its_failure_are_reported() {
    let s = Setup::new();
    let task = s.task(vec![s.fix("divide by one more", "    return total / (len(values) + 1)\n")]);
    let outcome = s.run(&task, &[&RuleGenerator], 2);
    assert!(outcome.winner.is_none());
    assert_eq!(outcome.rounds, 1, "a second round would propose nothing");
    let best = outcome.best().expect("a best candidate");
    assert_eq!(best.failure, Some(FailureKind::AssertionFailure));
    assert!(!best.targets_pass);
}

/// `repolens fix` over the built binary, with the scripted model.
fn fix_command(root: &Path, server: &ScriptedLlm, cache: &Path, extra: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_repolens"));
    command
        .args(["fix", "--root"])
        .arg(root)
        .args(["calc/stats.py:5", "--json", "--samples", "1"])
        .args(extra)
        .env("REPOLENS_LLM_BASE_URL", server.base_url())
        .env("REPOLENS_CACHE_DIR", cache)
        .env_remove("OPENAI_API_KEY");
    command.output().unwrap()
}

fn git(root: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(status.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&status.stderr));
}

#[test]
fn the_fix_command_prints_the_tested_winner_and_writes_only_with_apply() {
    let s = Setup::new();
    let server = ScriptedLlm::start(|_| GOOD.to_owned());
    let cache = tempfile::tempdir().unwrap();

    let out = fix_command(s.root(), &server, cache.path(), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["symbol"], "mean");
    assert_eq!(report["winner"]["description"], "Divide by the number of values.");
    assert_eq!(report["winner"]["targets"], serde_json::json!(["tests/test_stats.py::test_mean"]));
    assert_eq!(report["winner"]["fixed"], serde_json::json!(["tests/test_stats.py::test_mean"]));
    assert_eq!(report["winner"]["wider"]["passed"], 3);
    assert!(report["winner"]["diff"].as_str().unwrap().contains("+    return total / len(values)"));
    assert_eq!(report["applied"], false);
    assert_eq!(tree_bytes(s.root()), s.before, "the user's tree changed without --apply");

    let out = fix_command(s.root(), &server, cache.path(), &["--apply"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["applied"], true);
    assert_eq!(s.fixture.read("calc/stats.py"), s.text.replace(BUGGY, "    return total / len(values)\n"));

    // Both runs are in the workspace's trace, under the cache directory (not in the tree).
    let traces = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_repolens"))
            .args(["traces", "--json", "--root"])
            .arg(s.root())
            .args(extra)
            .env("REPOLENS_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let all = traces(&[]);
    assert!(all["trace"].as_str().unwrap().starts_with(cache.path().to_str().unwrap()));
    assert_eq!(all["runs"].as_array().unwrap().len(), 2);
    assert_eq!(all["succeeded"], 2);
    assert_eq!(all["success_rate"], 100.0);
    assert_eq!(all["llm_calls"], 2);
    assert_eq!(all["prompt_tokens"], 200);
    assert_eq!(all["runs"][0]["location"], "calc/stats.py:1");
    let last = traces(&["--last", "1"]);
    assert_eq!(last["runs"].as_array().unwrap().len(), 1);
    assert_eq!(last["completion_tokens"], 20);
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_repolens"))
        .args(["traces", "--root"])
        .arg(s.root())
        .env("REPOLENS_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("2 runs: 2 succeeded, success rate 100.0% of finished runs"), "{text}");
}

#[test]
fn the_fix_command_does_not_apply_over_uncommitted_changes() {
    let s = Setup::new();
    git(s.root(), &["init", "-q"]);
    git(s.root(), &["add", "-A"]);
    git(s.root(), &["commit", "-q", "-m", "init"]);
    let edited = format!("# the user's unsaved thought\n{}", s.text);
    std::fs::write(s.root().join("calc/stats.py"), &edited).unwrap();
    let server = ScriptedLlm::start(|_| GOOD.to_owned());
    let cache = tempfile::tempdir().unwrap();
    let out = fix_command(s.root(), &server, cache.path(), &["--apply"]);
    assert!(!out.status.success());
    assert!(!out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["winner"].is_object());
    assert_eq!(report["applied"], false);
    assert_eq!(
        report["refused"],
        "not applied: uncommitted changes in calc/stats.py; commit or stash them first"
    );
    assert_eq!(s.fixture.read("calc/stats.py"), edited);
}

#[test]
fn eval_repair_reports_whether_the_selected_patch_is_correct_and_the_known_fix() {
    let s = Setup::new();
    let other = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.jsonl");
    let case = |id: &str, root: &Path, candidates: &[&str]| {
        serde_json::json!({
            "id": id,
            "root": root,
            "location": "calc/stats.py:5",
            "candidates": candidates,
            "known_fix": GOOD,
            "fail_to_pass": ["tests/test_stats.py::test_mean"],
        })
        .to_string()
    };
    let text = [
        case("pool-with-the-fix", s.root(), &[WRONG, NO_MATCH, GOOD, BREAKS]),
        case("pool-without-a-fix", other.root(), &[WRONG]),
    ]
    .join("\n");
    std::fs::write(&cases, text).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_repolens"))
        .args(["eval", "repair", "--json", "--cases"])
        .arg(&cases)
        .env("REPOLENS_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");

    let first = &lines[0];
    assert_eq!(first["id"], "pool-with-the-fix");
    assert_eq!(first["selected"], "candidate 3");
    assert_eq!(first["correct"], true);
    assert_eq!(first["equals_known_fix"], true);
    assert_eq!(first["correct_in_pool"], true);
    assert_eq!(first["candidates_tested"], 2);
    assert_eq!(first["rejected"], 2);
    assert!(first["wall_ms_per_candidate"].as_f64().unwrap() > 0.0);

    let second = &lines[1];
    assert!(second["selected"].is_null());
    assert_eq!(second["correct"], false);
    assert_eq!(second["equals_known_fix"], false);
    assert_eq!(second["correct_in_pool"], false);

    let summary = &lines[2];
    assert_eq!(summary["cases"], 2);
    assert_eq!(summary["correct"], 1);
    assert_eq!(summary["selection_accuracy"], 50.0);
    assert_eq!(summary["equals_known_fix_rate"], 50.0);
    assert_eq!(summary["accuracy_when_pool_has_correct"], 100.0);
    assert_eq!(summary["candidates_tested"], 3);
    // The user's trees were not touched.
    assert_eq!(tree_bytes(s.root()), s.before);
    assert_eq!(tree_bytes(other.root()), other.before);
}

#[test]
fn a_selected_test_module_that_cannot_be_collected_does_not_block_the_named_tests() {
    // The graph selects tests/test_broken.py (it references `mean`), which cannot be imported
    // on the unpatched tree either; pytest then runs nothing. The named failing test decides.
    let fixture = write_fixture(&format!(
        "{PROJECT}//- /tests/test_broken.py\nfrom calc.stats import mean\nimport not_a_module\n\n\ndef test_mean_of_one():\n    assert mean([2]) == 2\n"
    ));
    let root = fixture.root();
    let text = fixture.read("calc/stats.py");
    let at = text.find(BUGGY).unwrap();
    let task = RepairTask {
        file: "calc/stats.py".into(),
        focus: TextRange::from_usize(0..text.find("\n\n\ndef spread").unwrap()),
        problem: "mean is wrong".to_owned(),
        fixes: vec![MechanicalFix {
            title: "divide by the count".to_owned(),
            edits: vec![(
                TextRange::from_usize(at..at + BUGGY.len()),
                "    return total / len(values)\n".to_owned(),
            )],
            needs_failing_test: false,
        }],
        context: Vec::new(),
    };
    let loaded =
        load_repository(root, &LoadOptions { no_cache: true, ..LoadOptions::default() }, &|_| {}).unwrap();
    let graph = loaded.host.model().graph.read();
    let sources = WorkspaceTexts { root: root.to_path_buf(), buffers: Vec::new() };
    let plan = TestPlan {
        command: TestCommand::detect(root, None).unwrap().with_timeout(Duration::from_secs(60)),
        required: vec![TestId::new("tests/test_stats.py::test_mean").unwrap()],
        wider: Some(Vec::new()),
    };
    let options = RepairOptions {
        rounds: 1,
        max_parallel: Some(2),
        sandbox: SandboxOptions::new(),
        baseline_cache: None,
        buffers: Vec::new(),
        trace: None,
    };
    let workspace = Workspace { root, sources: &sources, graph: Some(&graph) };
    let outcome = repair(&task, workspace, &[&RuleGenerator], &plan, &options, &|_| {}).unwrap();
    assert!(
        outcome.notes.iter().any(|n| n.contains("tests/test_broken.py cannot be collected")),
        "{:?}",
        outcome.notes
    );
    let winner = outcome.winner().expect("a winner");
    assert_eq!(ids(&winner.targets), ["tests/test_stats.py::test_mean"]);
    // The whole suite still fails on the broken module, as it did before: no regression.
    let (wider, regressions) = winner.wider.as_ref().unwrap();
    assert!(regressions.is_clean(), "{regressions:?}");
    assert!(wider.failing().any(|t| t.id.as_str() == "tests/test_broken.py"));
}
