//! Turning scores into what a developer reads: the few diagnostics a file gets (its riskiest
//! functions, if they are in the repository's top few percent, and its smells), each naming its
//! top factors with values and percentiles and saying what to do; and the full breakdown that a
//! hover or "Explain risk" shows.
//!
//! Wording rules: a long function is "long", never "buggy"; cognitive complexity means "hard to
//! read"; history is stated as what happened ("changed 14× in the last 12 months"), not as a
//! verdict.

use serde::Serialize;

use super::{
    FUNCTION_WEIGHTS, Factor, FileRisk, FunctionRisk, RiskTable, Smell,
    score::{FactorValue, weight},
};
use crate::{
    config::{DiagnosticSeverity, RiskConfig},
    text::TextRange,
};

/// A diagnostic, ready for the protocol edge to convert.
#[derive(Clone, Debug, Serialize)]
pub struct RiskDiagnostic {
    pub range: TextRange,
    /// `risk/<dominant factor>` or `smell/<rule>`.
    pub code: String,
    pub message: String,
    pub severity: DiagnosticSeverity,
    pub kind: DiagnosticKind,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DiagnosticKind {
    Risk { qual: String, percentile: f64, factors: Vec<FactorReport> },
    Smell(Smell),
}

/// One factor of a function's score, as reported.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FactorReport {
    pub factor: Factor,
    pub value: f64,
    /// Percentile of the value among the repository's functions (for complexity: among
    /// functions of the same size).
    pub percentile: f64,
    /// How much this factor raises the log-risk above a typical function's (negative: lowers).
    pub excess: f64,
}

/// The diagnostics of one file: its riskiest functions in the repository's top
/// `top_percent`, at most `max_per_file`, then its smells (unless the file is not the project's
/// own source and smells are not wanted there).
pub fn file_diagnostics(table: &RiskTable, file: &FileRisk, config: &RiskConfig) -> Vec<RiskDiagnostic> {
    if !config.enabled {
        return Vec::new();
    }
    let mut out = Vec::new();
    if file.in_scope()
        && let Some(threshold) = table.function_threshold(config.top_percent)
    {
        let mut flagged: Vec<&FunctionRisk> =
            file.functions.iter().filter(|f| f.log_risk >= threshold && f.log_risk > 0.0).collect();
        flagged.sort_by(|a, b| b.log_risk.total_cmp(&a.log_risk));
        flagged.truncate(config.max_per_file);
        flagged.sort_by_key(|f| f.range.start);
        out.extend(flagged.into_iter().map(|f| function_diagnostic(table, f, config.severity)));
    }
    if config.smells && (file.in_scope() || config.smells_in_all_files) {
        out.extend(file.code.smells.iter().map(|smell| RiskDiagnostic {
            range: smell.range,
            code: smell.kind.code(),
            message: smell.message.clone(),
            severity: config.severity,
            kind: DiagnosticKind::Smell(smell.clone()),
        }));
    }
    out
}

/// Factor reports of a function, most raising first.
pub fn factor_reports(table: &RiskTable, function: &FunctionRisk) -> Vec<FactorReport> {
    let mut reports: Vec<FactorReport> = function
        .factors
        .iter()
        .map(|fv| {
            let percentile = match fv.factor {
                Factor::Complexity => table.complexity_for_size_percentile(function.sloc, function.cognitive),
                _ => table.function_factor_percentile(fv.factor, fv.value),
            };
            FactorReport { factor: fv.factor, value: fv.value, percentile, excess: excess(table, fv) }
        })
        .collect();
    reports.sort_by(|a, b| b.excess.total_cmp(&a.excess));
    reports
}

/// A factor's term minus the term of the repository's median function.
fn excess(table: &RiskTable, fv: &FactorValue) -> f64 {
    let median = table.function_factor_median(fv.factor);
    weight(&FUNCTION_WEIGHTS, fv.factor) * (fv.factor.transform(fv.value) - fv.factor.transform(median))
}

/// The percentile from which a factor is named in a diagnostic's message.
const MENTION_PERCENTILE: f64 = 60.0;

fn function_diagnostic(
    table: &RiskTable,
    function: &FunctionRisk,
    severity: DiagnosticSeverity,
) -> RiskDiagnostic {
    let percentile = table.function_percentile(function.log_risk);
    let reports = factor_reports(table, function);
    // Size raises nearly every flagged function's risk the most, and "it is long" is the least
    // useful thing to be told: the other raising factors (what changed, what is hard to read)
    // come first, and size only fills a place they leave. The hover shows every factor.
    // A factor is named only when it stands out in the repository too: a complexity of 1 can
    // raise the score of a tiny repository's median function, yet calling it "hard to read" at
    // p12 would be false.
    let raising = || reports.iter().filter(|r| r.excess > 0.0 && r.percentile >= MENTION_PERCENTILE);
    let top: Vec<&FactorReport> = raising()
        .filter(|r| r.factor != Factor::Size)
        .chain(raising().filter(|r| r.factor == Factor::Size))
        .take(3)
        .collect();
    let dominant = top.first().map_or(Factor::Size, |r| r.factor);
    let mut parts: Vec<String> = top.iter().map(|r| describe(function, r)).collect();
    let untested = !function.context.tested;
    if untested && !top.iter().any(|r| r.factor == Factor::Untested) && parts.len() < 3 {
        parts.push("no test references it".to_owned());
    }
    let mut message = format!("Risk: {} of functions ({}).", top_share(percentile), pct(percentile));
    if !parts.is_empty() {
        message.push(' ');
        message.push_str(&capitalize(&parts.join("; ")));
        message.push('.');
    }
    message.push(' ');
    message.push_str(advice(dominant, untested));
    RiskDiagnostic {
        range: function.name_range,
        code: dominant.code().to_owned(),
        message,
        severity,
        kind: DiagnosticKind::Risk { qual: function.qual.clone(), percentile, factors: reports },
    }
}

/// "top 3%" for p97.
fn top_share(percentile: f64) -> String {
    let share = (100.0 - percentile).max(0.0);
    if share < 1.0 { "top 1%".to_owned() } else { format!("top {}%", share.ceil() as u32) }
}

/// "p97": percentiles are floored so that p99 is the highest.
fn pct(percentile: f64) -> String {
    format!("p{}", percentile.floor().clamp(0.0, 99.0) as u32)
}

fn describe(function: &FunctionRisk, report: &FactorReport) -> String {
    let ctx = &function.context;
    let p = pct(report.percentile);
    match report.factor {
        Factor::Size => {
            format!("{} lines of code ({p}) — long functions are harder to review", function.sloc)
        }
        Factor::Complexity => {
            format!("cognitive complexity {} — hard to read ({p} for its size)", function.cognitive)
        }
        Factor::Churn => format!(
            "changed {}× in the last 12 months, {} lines ({p})",
            ctx.revisions_recent, ctx.churn_recent
        ),
        Factor::Fixes if ctx.fixes_recent > 0 => {
            format!(
                "touched by {} bug-fix commit{} in the last 12 months ({p})",
                ctx.fixes_recent,
                plural(ctx.fixes_recent)
            )
        }
        Factor::Fixes => format!("touched by bug fixes before ({p})"),
        Factor::Authors => format!("{} minor contributors to its file ({p})", report.value as u64),
        Factor::Age => format!("its file is new: first committed {:.0} days ago", report.value),
        Factor::FanIn => {
            format!("used from {} places ({p}) — a defect here reaches far", report.value.round() as u64)
        }
        Factor::Untested => "no test references it".to_owned(),
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn advice(dominant: Factor, untested: bool) -> &'static str {
    match dominant {
        Factor::Untested => "Consider adding a test.",
        _ if untested => "Consider adding a test.",
        Factor::Churn => "Review its recent changes together; a test around them would pin its behaviour.",
        Factor::Fixes => "It keeps needing fixes: a regression test or a closer review may pay off.",
        Factor::Complexity => "Consider splitting it into smaller functions.",
        Factor::Size => "Consider splitting it into smaller functions.",
        Factor::FanIn => "Many callers depend on it: run their tests before changing it.",
        Factor::Authors => "Many hands changed it: ask its main author to review changes.",
        Factor::Age => "New code has had the least use: a test for its main paths would help.",
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The full breakdown of a function's risk, as Markdown (hover, "Explain risk").
pub fn function_breakdown(table: &RiskTable, file: &FileRisk, function: &FunctionRisk) -> String {
    let percentile = table.function_percentile(function.log_risk);
    let ctx = &function.context;
    let mut out = format!(
        "### Risk of `{}`: {} of functions ({})\n\n",
        function.qual,
        top_share(percentile),
        pct(percentile)
    );
    out.push_str("| factor | value | percentile | effect on risk |\n|---|---|---|---|\n");
    for report in factor_reports(table, function) {
        let value = match report.factor {
            Factor::Size => format!("{} lines", function.sloc),
            Factor::Complexity => format!("cognitive {}", function.cognitive),
            Factor::Churn => {
                format!("{} lines in {} commits in 12 months", ctx.churn_recent, ctx.revisions_recent)
            }
            Factor::Fixes => format!("{} fixes in 12 months ({:.1} decayed)", ctx.fixes_recent, ctx.fixes),
            Factor::Authors => {
                format!("{} minor of {} authors (file)", file.context.minor_authors, file.context.authors)
            }
            Factor::Age => format!("file first committed {:.0} days ago", file.context.age_days),
            Factor::FanIn => format!("{:.0} users", report.value),
            Factor::Untested => {
                (if ctx.tested { "referenced by a test" } else { "no test references it" }).to_owned()
            }
        };
        let percentile = match report.factor {
            Factor::Untested => "–".to_owned(),
            Factor::Complexity => format!("{} for its size", pct(report.percentile)),
            _ => pct(report.percentile),
        };
        out.push_str(&format!(
            "| {} | {value} | {percentile} | ×{:.2} |\n",
            report.factor.name(),
            report.excess.exp()
        ));
    }
    out.push_str(&format!(
        "\nAlso: cyclomatic complexity {}, nesting {}, {} parameters, PageRank {:.1}× the average; \
         {:.1} lines changed recently (decayed).\n",
        function.cyclomatic, function.max_nesting, function.params, ctx.pagerank, ctx.churn
    ));
    if file.context.has_history {
        out.push_str(&format!(
            "\nFile `{}`: {} commits ({} in the last 12 months), {} fix commits, {} authors.\n",
            file.rel_path,
            file.context.revisions_all,
            file.context.revisions_recent,
            file.context.fixes_all,
            file.context.authors
        ));
    } else {
        out.push_str("\nNo git history: the score uses code and structure only.\n");
    }
    out.push_str(
        "\nEffects compare each factor with the repository's median function; the score is their \
         product. Percentiles are within this repository.\n",
    );
    out
}
