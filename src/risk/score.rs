//! The risk score: factors from code, history and the graph, combined in log space with fixed
//! weights (no per-repository training), then ranked within the repository.
//!
//! Each factor is a count or a measure `x ≥ 0` entering as `ln(1 + x)` times its weight, so a
//! weight is an elasticity: doubling a factor with weight 0.5 multiplies the risk by about
//! `2^0.5`. The risk of a function is `exp(Σ wᵢ·ln(1 + xᵢ))`, an expected-defects-like quantity;
//! its *density* (risk per line of code) orders code for effort-aware review, where a short risky
//! function is worth more of a reviewer's time than a long one of the same risk.
//!
//! The weights were chosen by evaluating against real bug-fix history: a coarse grid of round
//! values (0, ¼, ½, ¾) scored with `shared/tools/risk_eval.py` on the nine development runs
//! (requests, flask, pytest; three cutoffs each), keeping the set that beat lines of code on both
//! AUC and size-stratified AUC in the most runs, then the highest mean (README, risk section).
//! They are the same for every repository; there is no per-repository training.

use serde::{Deserialize, Serialize};

use super::{
    FunctionMetrics,
    context::{FileContext, FunctionContext},
};

/// What a risk score is made of. The order is the order of the breakdown in hovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Factor {
    /// Lines of code: the exposure every other factor multiplies.
    Size,
    /// Cognitive complexity (sonar's rules): how hard the code is to read. Per function only: a
    /// file's sum is almost its size again.
    Complexity,
    /// Lines changed in the last 12 months.
    Churn,
    /// Bug-fix commits that touched it, decayed by age (half-life 90 days).
    Fixes,
    /// Minor contributors to the file (authors of less than 5% of its commits).
    Authors,
    /// Days since the file's first commit: new code is riskier (negative weight).
    Age,
    /// Callers and referrers outside tests: how far a defect would reach. Scored for files
    /// (modules imported from many places were fixed more often than their size says); reported,
    /// not scored, for functions, where it did not help (README, risk section).
    FanIn,
    /// No test references it. Reported, not scored, for the same reason.
    Untested,
}

/// Number of factors; every factor array is in [`Factor::ALL`] order.
pub const N_FACTORS: usize = 8;

impl Factor {
    pub const ALL: [Factor; N_FACTORS] = [
        Factor::Size,
        Factor::Complexity,
        Factor::Churn,
        Factor::Fixes,
        Factor::Authors,
        Factor::Age,
        Factor::FanIn,
        Factor::Untested,
    ];

    /// The diagnostic code naming this factor as the dominant one: `risk/churn`, ….
    pub fn code(self) -> &'static str {
        match self {
            Factor::Size => "risk/size",
            Factor::Complexity => "risk/complexity",
            Factor::Churn => "risk/churn",
            Factor::Fixes => "risk/fixes",
            Factor::Authors => "risk/authors",
            Factor::Age => "risk/new-code",
            Factor::FanIn => "risk/fan-in",
            Factor::Untested => "risk/untested",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Factor::Size => "size",
            Factor::Complexity => "complexity",
            Factor::Churn => "churn",
            Factor::Fixes => "fixes",
            Factor::Authors => "authors",
            Factor::Age => "age",
            Factor::FanIn => "fan-in",
            Factor::Untested => "untested",
        }
    }

    /// `x ↦ ln(x)` for size (at least one line), `ln(1 + x)` for counts.
    pub fn transform(self, value: f64) -> f64 {
        match self {
            Factor::Size => value.max(1.0).ln(),
            _ => value.max(0.0).ln_1p(),
        }
    }
}

/// Weights of the function score (elasticities; see the module doc).
pub const FUNCTION_WEIGHTS: [(Factor, f64); N_FACTORS] = [
    (Factor::Size, 1.0),
    (Factor::Complexity, 0.5),
    (Factor::Churn, 0.25),
    (Factor::Fixes, 0.25),
    // File-level facts: the same for every function of a file, they reorder nothing within it
    // and did not help across files.
    (Factor::Authors, 0.0),
    (Factor::Age, 0.0),
    (Factor::FanIn, 0.0),
    (Factor::Untested, 0.0),
];

/// Weights of the file score. A file's complexity is almost its size again, so it is left out.
pub const FILE_WEIGHTS: [(Factor, f64); N_FACTORS] = [
    (Factor::Size, 1.0),
    (Factor::Complexity, 0.0),
    (Factor::Churn, 0.25),
    (Factor::Fixes, 0.5),
    (Factor::Authors, 0.5),
    (Factor::Age, -0.25),
    (Factor::FanIn, 0.25),
    (Factor::Untested, 0.0),
];

/// The weight of a factor in a set of weights.
pub fn weight(weights: &[(Factor, f64); N_FACTORS], factor: Factor) -> f64 {
    weights.iter().find(|(f, _)| *f == factor).map_or(0.0, |(_, w)| *w)
}

/// One factor's raw value for a function or file (what messages show) and the term it adds to
/// the log-risk.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactorValue {
    pub factor: Factor,
    pub value: f64,
    pub term: f64,
}

/// The raw value of each factor of a function.
pub fn function_factor_values(
    m: &FunctionMetrics,
    ctx: &FunctionContext,
    file: &FileContext,
) -> [(Factor, f64); N_FACTORS] {
    [
        (Factor::Size, f64::from(m.sloc.max(1))),
        (Factor::Complexity, f64::from(m.cognitive)),
        (Factor::Churn, ctx.churn_recent as f64),
        (Factor::Fixes, ctx.fixes),
        (Factor::Authors, f64::from(file.minor_authors)),
        (Factor::Age, file.age_days),
        (Factor::FanIn, ctx.fan_in),
        (Factor::Untested, f64::from(u8::from(!ctx.tested))),
    ]
}

/// The raw value of each factor of a file.
pub fn file_factor_values(sloc: u32, cog_sum: u32, ctx: &FileContext) -> [(Factor, f64); N_FACTORS] {
    [
        (Factor::Size, f64::from(sloc.max(1))),
        (Factor::Complexity, f64::from(cog_sum)),
        (Factor::Churn, ctx.churn_recent as f64),
        (Factor::Fixes, ctx.fixes),
        (Factor::Authors, f64::from(ctx.minor_authors)),
        (Factor::Age, ctx.age_days),
        (Factor::FanIn, ctx.fan_in),
        (Factor::Untested, f64::from(u8::from(!ctx.tested))),
    ]
}

/// Combines raw factor values with weights: the log-risk and each factor's term.
pub fn combine(
    values: &[(Factor, f64); N_FACTORS],
    weights: &[(Factor, f64); N_FACTORS],
) -> (f64, Vec<FactorValue>) {
    let mut total = 0.0;
    let mut terms = Vec::with_capacity(values.len());
    for (&(factor, value), &(_, weight)) in values.iter().zip(weights) {
        let term = weight * factor.transform(value);
        total += term;
        terms.push(FactorValue { factor, value, term });
    }
    (total, terms)
}
