//! Risk diagnostics and smells as a SARIF 2.1.0 log, for code-scanning UIs (GitHub code
//! scanning, VS Code's SARIF viewer). One run, one rule per diagnostic code, every result a
//! `note`: these are pointers for review, not errors.
//!
//! Every object carries the properties the SARIF 2.1.0 schema requires (`version` and `runs`;
//! a run's `tool.driver.name`; a rule's `id`; a result's `message`), artifact locations are
//! relative to `%SRCROOT%`, and columns count Unicode code points (`columnKind`).

use serde_json::{Value, json};

use super::{DiagnosticKind, Factor, RiskDiagnostic, SmellKind};

/// The schema URI SARIF consumers expect in `$schema`.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// One diagnostic with its position resolved: 1-based lines and columns (code points).
pub struct SarifResult<'a> {
    /// Relative to the source root, `/`-separated.
    pub path: &'a str,
    pub diagnostic: &'a RiskDiagnostic,
    pub start: (u32, u32),
    pub end: (u32, u32),
}

/// The whole log. `root_uri` is the `file://` URI of the source root (with a trailing `/`).
pub fn sarif_log(results: &[SarifResult<'_>], root_uri: Option<&str>) -> Value {
    let mut rule_ids: Vec<String> = Factor::ALL.iter().map(|f| f.code().to_owned()).collect();
    rule_ids.extend(SmellKind::ALL.iter().map(|k| k.code()));
    let rules: Vec<Value> = rule_ids.iter().map(|id| rule(id)).collect();
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            let d = r.diagnostic;
            let rule_index = rule_ids.iter().position(|id| *id == d.code);
            let mut result = json!({
                "ruleId": d.code,
                "level": "note",
                "message": { "text": d.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": encode_path(r.path), "uriBaseId": "%SRCROOT%" },
                        "region": {
                            "startLine": r.start.0,
                            "startColumn": r.start.1,
                            "endLine": r.end.0,
                            "endColumn": r.end.1,
                        },
                    },
                }],
                "partialFingerprints": { "repolens/v1": fingerprint(r.path, d) },
            });
            if let Some(idx) = rule_index {
                result["ruleIndex"] = json!(idx);
            }
            if let DiagnosticKind::Risk { qual, percentile, factors } = &d.kind {
                result["properties"] = json!({
                    "function": qual,
                    "percentile": (percentile * 10.0).round() / 10.0,
                    "factors": factors.iter().map(|f| json!({
                        "factor": f.factor.name(),
                        "value": (f.value * 100.0).round() / 100.0,
                        "percentile": (f.percentile * 10.0).round() / 10.0,
                    })).collect::<Vec<_>>(),
                });
            }
            result
        })
        .collect();
    let mut run = json!({
        "tool": {
            "driver": {
                "name": "repolens",
                                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            },
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if let Some(uri) = root_uri {
        run["originalUriBaseIds"] = json!({ "%SRCROOT%": { "uri": uri } });
    }
    json!({ "$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run] })
}

fn rule(id: &str) -> Value {
    let (name, text) = match id {
        "risk/size" => ("RiskSize", "A long function in the repository's riskiest few percent"),
        "risk/complexity" => {
            ("RiskComplexity", "A hard-to-read function in the repository's riskiest few percent")
        }
        "risk/churn" => {
            ("RiskChurn", "A frequently changed function in the repository's riskiest few percent")
        }
        "risk/fixes" => ("RiskFixes", "A function that keeps needing bug fixes"),
        "risk/authors" => ("RiskAuthors", "A function in a file with many minor contributors"),
        "risk/fan-in" => ("RiskFanIn", "A risky function that much of the code depends on"),
        "risk/untested" => ("RiskUntested", "A risky function that no test references"),
        "smell/mutable-default-argument" => ("MutableDefaultArgument", "Mutable default argument"),
        "smell/bare-except" => ("BareExcept", "Bare `except:`"),
        "smell/comparison-to-none" => ("ComparisonToNone", "Comparison to `None` with `==` or `!=`"),
        "smell/assert-on-tuple" => ("AssertOnTuple", "`assert` on a non-empty tuple"),
        "smell/builtin-shadowing-parameter" => ("BuiltinShadowingParameter", "Parameter shadowing a builtin"),
        "smell/except-exception-pass" => ("ExceptExceptionPass", "`except Exception: pass`"),
        _ => ("Unknown", "repolens diagnostic"),
    };
    json!({
        "id": id,
        "name": name,
        "shortDescription": { "text": text },
        "defaultConfiguration": { "level": "note" },
    })
}

/// A stable identity for a result across runs: path, code and the function or smell subject.
fn fingerprint(path: &str, d: &RiskDiagnostic) -> String {
    let subject = match &d.kind {
        DiagnosticKind::Risk { qual, .. } => qual.clone(),
        DiagnosticKind::Smell(smell) => format!("{}:{}", smell.subject, smell.range.start),
    };
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(format!("{path}\0{}\0{subject}", d.code).as_bytes()))
}

/// A relative path as a URI reference: unreserved characters and `/` kept, the rest
/// percent-encoded (UTF-8).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_uri_references() {
        assert_eq!(encode_path("pkg/my mod.py"), "pkg/my%20mod.py");
        assert_eq!(encode_path("pkg/ü.py"), "pkg/%C3%BC.py");
    }
}
