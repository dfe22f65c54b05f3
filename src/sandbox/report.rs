//! Reading test results: pytest's JUnit XML, pytest's summary lines when there is no XML, and
//! sorting failures into the categories the repair loop reflects on.
//!
//! Test ids are pytest node ids relative to the root (`tests/test_a.py::TestA::test_b[1]`), so
//! that results from the XML and from the summary lines compare equal. The XML is written with
//! `junit_family=xunit1`, whose `file` attribute lets the node id be rebuilt from the dotted
//! `classname`; a collection error (`classname=""`, `name="tests.test_a"`) becomes the file's
//! path, as pytest's own `ERROR tests/test_a.py` line names it.

use std::{sync::OnceLock, time::Duration};

use quick_xml::{Reader, events::Event};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{TestCase, TestCounts, TestId, TestOutcome};

/// A failure message kept in a result is cut to this many characters.
const MESSAGE_CAP: usize = 1000;
/// The end of a failure's traceback kept in a result (the end is where the error is).
const DETAILS_CAP: usize = 4000;

/// What kind of failure a test (or a whole run) had, for the repair loop's reflection step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FailureCategory {
    ImportError,
    SyntaxError,
    AssertionFailure,
    Timeout,
    CollectionError,
    Other,
}

impl FailureCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCategory::ImportError => "import error",
            FailureCategory::SyntaxError => "syntax error",
            FailureCategory::AssertionFailure => "assertion failure",
            FailureCategory::Timeout => "timeout",
            FailureCategory::CollectionError => "collection error",
            FailureCategory::Other => "other",
        }
    }
}

/// The category of a failure from its message and traceback. The specific causes are checked
/// before the general ones: a syntax error in a test module is also a collection error, and a
/// failed import inside a test also raises.
pub fn categorize(text: &str) -> FailureCategory {
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&["Failed: Timeout", "TimeoutError", "timed out"]) {
        FailureCategory::Timeout
    } else if has(&["SyntaxError", "IndentationError", "TabError"]) {
        FailureCategory::SyntaxError
    } else if has(&["ModuleNotFoundError", "ImportError", "cannot import name"]) {
        FailureCategory::ImportError
    } else if has(&["collection failure", "ERROR collecting", "during collection"]) {
        FailureCategory::CollectionError
    } else if has(&["AssertionError", "assert "]) {
        FailureCategory::AssertionFailure
    } else {
        FailureCategory::Other
    }
}

/// Per-test results from a JUnit XML report, or `None` if it is not one.
pub(crate) fn parse_junit(xml: &str) -> Option<Vec<TestCase>> {
    let mut reader = Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut seen_suite = false;
    let mut case: Option<CaseBuilder> = None;
    // The child element (failure, error, skipped) whose text is being read.
    let mut child: Option<TestOutcome> = None;
    loop {
        let event = reader.read_event().ok()?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let attr = |name: &[u8]| {
                    e.attributes()
                        .filter_map(Result::ok)
                        .find(|a| a.key.as_ref() == name)
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                };
                match e.name().as_ref() {
                    b"testsuite" | b"testsuites" => seen_suite = true,
                    b"testcase" => {
                        let built = CaseBuilder {
                            classname: attr(b"classname").unwrap_or_default(),
                            name: attr(b"name").unwrap_or_default(),
                            file: attr(b"file"),
                            time: attr(b"time").and_then(|t| t.parse::<f64>().ok()),
                            outcome: TestOutcome::Passed,
                            message: String::new(),
                            details: String::new(),
                        };
                        // A run interrupted at its deadline leaves a nameless `<testcase/>`
                        // for the test it was in: that test has no result.
                        if empty {
                            if !built.name.is_empty() {
                                cases.push(built.finish());
                            }
                        } else {
                            case = Some(built);
                        }
                    }
                    tag @ (b"failure" | b"error" | b"skipped") => {
                        if let Some(case) = case.as_mut() {
                            let outcome = match tag {
                                b"failure" => TestOutcome::Failed,
                                b"error" => TestOutcome::Error,
                                _ => TestOutcome::Skipped,
                            };
                            case.record(outcome, attr(b"message").unwrap_or_default());
                            if !empty {
                                child = Some(outcome);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(ref t) if child.is_some() => {
                if let (Some(case), Ok(text)) = (case.as_mut(), t.decode()) {
                    case.details.push_str(&text);
                }
            }
            Event::CData(ref t) if child.is_some() => {
                if let Some(case) = case.as_mut() {
                    case.details.push_str(&String::from_utf8_lossy(t));
                }
            }
            Event::GeneralRef(ref r) if child.is_some() => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    _ => r.decode().ok().and_then(|name| {
                        quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
                    }),
                };
                if let (Some(case), Some(text)) = (case.as_mut(), resolved) {
                    case.details.push_str(&text);
                }
            }
            Event::End(ref e) => match e.name().as_ref() {
                b"failure" | b"error" | b"skipped" => child = None,
                b"testcase" => {
                    if let Some(done) = case.take().filter(|c| !c.name.is_empty()) {
                        cases.push(done.finish());
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    seen_suite.then_some(cases)
}

struct CaseBuilder {
    classname: String,
    name: String,
    file: Option<String>,
    time: Option<f64>,
    outcome: TestOutcome,
    message: String,
    details: String,
}

impl CaseBuilder {
    /// A test can report several things (a failure, then an error in teardown): keep the worst.
    fn record(&mut self, outcome: TestOutcome, message: String) {
        if outcome.severity() > self.outcome.severity() {
            self.outcome = outcome;
            self.message = message;
        }
    }

    fn finish(self) -> TestCase {
        TestCase {
            id: TestId::reported(node_id(&self.classname, &self.name, self.file.as_deref())),
            outcome: self.outcome,
            message: cap_start(self.message.trim(), MESSAGE_CAP),
            details: cap_end(self.details.trim(), DETAILS_CAP),
            duration: self.time.filter(|t| t.is_finite() && *t >= 0.0).map(Duration::from_secs_f64),
        }
    }
}

/// The pytest node id of a JUnit test case (see the module doc).
fn node_id(classname: &str, name: &str, file: Option<&str>) -> String {
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return if classname.is_empty() { name.to_owned() } else { format!("{classname}::{name}") };
    };
    let module = file.strip_suffix(".py").unwrap_or(file).replace(['/', '\\'], ".");
    if classname.is_empty() && name == module {
        return file.to_owned();
    }
    match classname.strip_prefix(&module) {
        Some("") => format!("{file}::{name}"),
        Some(rest) if rest.starts_with('.') => format!("{file}::{}::{name}", rest[1..].replace('.', "::")),
        _ => format!("{file}::{name}"),
    }
}

/// What pytest's terminal output says, for runs without a JUnit report.
pub(crate) struct Summary {
    pub counts: TestCounts,
    /// The `FAILED`/`ERROR` lines of the short test summary.
    pub failing: Vec<TestCase>,
}

/// Reads the final `=== 1 failed, 2 passed in 0.12s ===` line (or `-q`'s bare form) and the
/// short test summary's `FAILED id - message` lines. `None` if there is no summary line.
pub(crate) fn parse_summary(output: &str) -> Option<Summary> {
    static SUMMARY: OnceLock<Regex> = OnceLock::new();
    static COUNT: OnceLock<Regex> = OnceLock::new();
    static FAILING: OnceLock<Regex> = OnceLock::new();
    let summary = SUMMARY.get_or_init(|| {
        Regex::new(r"^=*\s*((?:\d+ \w+(?:, )?)+|no tests ran) in [0-9.]+s(?: \([^)]*\))?\s*=*$").unwrap()
    });
    let count = COUNT.get_or_init(|| Regex::new(r"(\d+) (\w+)").unwrap());
    let failing_re = FAILING.get_or_init(|| Regex::new(r"^(FAILED|ERROR) (.+?)(?: - (.*))?$").unwrap());

    let line = output.lines().rev().find_map(|l| summary.captures(l.trim()))?;
    let mut counts = TestCounts::default();
    for c in count.captures_iter(&line[1]) {
        let n: usize = c[1].parse().unwrap_or(0);
        match &c[2] {
            "passed" | "xpassed" => counts.passed += n,
            "failed" => counts.failed += n,
            "error" | "errors" => counts.errors += n,
            "skipped" | "xfailed" => counts.skipped += n,
            _ => {}
        }
    }
    let failing = output
        .lines()
        .filter_map(|l| failing_re.captures(l.trim_end()))
        .map(|c| TestCase {
            id: TestId::reported(c[2].trim().to_owned()),
            outcome: if &c[1] == "FAILED" { TestOutcome::Failed } else { TestOutcome::Error },
            message: cap_start(c.get(3).map_or("", |m| m.as_str()).trim(), MESSAGE_CAP),
            details: String::new(),
            duration: None,
        })
        .collect();
    Some(Summary { counts, failing })
}

/// Where pytest was when a timed-out run was interrupted (`tests/test_a.py:12`), from its
/// `path:line: KeyboardInterrupt` line.
pub(crate) fn interrupted_at(output: &str) -> Option<String> {
    output.lines().rev().find_map(|l| l.trim().strip_suffix(": KeyboardInterrupt").map(str::to_owned))
}

fn cap_start(text: &str, cap: usize) -> String {
    match text.char_indices().nth(cap) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

fn cap_end(text: &str, cap: usize) -> String {
    let n = text.chars().count();
    if n <= cap {
        return text.to_owned();
    }
    let at = text.char_indices().nth(n - cap).map_or(0, |(i, _)| i);
    format!("...{}", &text[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_rebuilt_from_xunit1_attributes() {
        assert_eq!(node_id("tests.test_a", "test_x", Some("tests/test_a.py")), "tests/test_a.py::test_x");
        assert_eq!(
            node_id("tests.test_a.TestA", "test_x[1-2]", Some("tests/test_a.py")),
            "tests/test_a.py::TestA::test_x[1-2]"
        );
        assert_eq!(node_id("", "tests.test_a", Some("tests/test_a.py")), "tests/test_a.py");
        assert_eq!(node_id("tests.test_a", "test_x", None), "tests.test_a::test_x");
    }

    #[test]
    fn categories() {
        let c = categorize;
        assert_eq!(c("E   SyntaxError: invalid syntax"), FailureCategory::SyntaxError);
        assert_eq!(
            c("collection failure\nE   ModuleNotFoundError: No module named 'x'"),
            FailureCategory::ImportError
        );
        assert_eq!(c("ImportError while importing test module"), FailureCategory::ImportError);
        assert_eq!(c("collection failure"), FailureCategory::CollectionError);
        assert_eq!(c("assert 1 == 2"), FailureCategory::AssertionFailure);
        assert_eq!(c("Failed: Timeout >1.0s"), FailureCategory::Timeout);
        assert_eq!(c("ZeroDivisionError: division by zero"), FailureCategory::Other);
    }

    #[test]
    fn summary_lines() {
        let out = "....\n=== short test summary info ===\nFAILED tests/test_a.py::test_x - assert 1 == 2\nERROR tests/test_b.py\n==== 1 failed, 3 passed, 1 skipped, 1 error in 0.12s ====\n";
        let s = parse_summary(out).unwrap();
        assert_eq!(s.counts, TestCounts { passed: 3, failed: 1, errors: 1, skipped: 1 });
        assert_eq!(s.failing.len(), 2);
        assert_eq!(s.failing[0].id.as_str(), "tests/test_a.py::test_x");
        assert_eq!(s.failing[0].message, "assert 1 == 2");
        assert_eq!(s.failing[1].outcome, TestOutcome::Error);
        assert_eq!(parse_summary("2 passed in 0.01s").unwrap().counts.passed, 2);
        assert_eq!(parse_summary("no tests ran in 0.01s").unwrap().counts, TestCounts::default());
        assert!(parse_summary("Traceback (most recent call last):").is_none());
    }

    #[test]
    fn long_messages_are_cut() {
        assert_eq!(cap_start("abcdef", 3), "abc...");
        assert_eq!(cap_end("abcdef", 3), "...def");
        assert_eq!(cap_end("abc", 3), "abc");
    }
}
