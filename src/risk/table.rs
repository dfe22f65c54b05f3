//! The repository's risk table: every file and function scored, and the distributions that turn
//! a score into a percentile within the repository.
//!
//! Percentiles are repository-wide, so the table is built for all files at once; an edit
//! re-scores its file against the distributions as they are ([`RiskTable::score_file`]) and the
//! model thread swaps the file in later ([`RiskTable::with_file`]). Only the project's own source
//! counts in the distributions: tests, vendored and generated files are scored (the CLI lists
//! them) but never ranked against the rest or flagged.

use std::sync::Arc;

use serde::Serialize;

use super::{
    CodeFacts, FileClass, FileContext, FunctionContext,
    scope::classify,
    score::{
        FILE_WEIGHTS, FUNCTION_WEIGHTS, Factor, FactorValue, combine, file_factor_values,
        function_factor_values,
    },
};
use crate::text::TextRange;

/// A file's inputs: its code facts and its history and graph context.
#[derive(Clone, Debug)]
pub struct FileInput {
    /// Workspace-relative, `/`-separated.
    pub rel_path: String,
    pub code: Arc<CodeFacts>,
    pub context: Arc<FileContext>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FunctionRisk {
    /// `Class.method`, `outer.inner`.
    pub qual: String,
    pub name_range: TextRange,
    pub range: TextRange,
    /// 1-based line of the definition (its first decorator).
    pub line: u32,
    pub end_line: u32,
    pub sloc: u32,
    pub cyclomatic: u32,
    pub cognitive: u32,
    pub max_nesting: u32,
    pub params: u32,
    pub context: FunctionContext,
    /// `ln` of the risk (the sum of the factors' terms).
    pub log_risk: f64,
    /// Risk per line of code.
    pub density: f64,
    pub factors: Vec<FactorValue>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileRisk {
    pub rel_path: String,
    pub class: FileClass,
    pub sloc: u32,
    pub log_risk: f64,
    pub density: f64,
    pub factors: Vec<FactorValue>,
    pub functions: Vec<FunctionRisk>,
    #[serde(skip)]
    pub code: Arc<CodeFacts>,
    #[serde(skip)]
    pub context: Arc<FileContext>,
}

impl FileRisk {
    pub fn function(&self, qual: &str) -> Option<&FunctionRisk> {
        self.functions.iter().rev().find(|f| f.qual == qual)
    }

    /// The innermost function whose definition holds `offset`.
    pub fn function_at(&self, offset: u32) -> Option<&FunctionRisk> {
        self.functions
            .iter()
            .filter(|f| f.range.start <= offset && offset <= f.range.end)
            .min_by_key(|f| f.range.len())
    }

    /// Whether this file's functions are ranked (and may be flagged).
    pub fn in_scope(&self) -> bool {
        self.class == FileClass::Source
    }
}

/// A sorted sample of values; percentiles by mid-rank.
#[derive(Clone, Debug, Default)]
pub struct Distribution {
    sorted: Vec<f64>,
}

impl Distribution {
    pub fn new(mut values: Vec<f64>) -> Distribution {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        Distribution { sorted: values }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Share of the sample below `x` (ties count half), in percent: 0–100.
    pub fn percentile(&self, x: f64) -> f64 {
        if self.sorted.is_empty() {
            return 0.0;
        }
        let below = self.sorted.partition_point(|&v| v < x);
        let not_above = self.sorted.partition_point(|&v| v <= x);
        100.0 * (below as f64 + 0.5 * (not_above - below) as f64) / self.sorted.len() as f64
    }

    /// The value at percentile `p` (0–100), by nearest rank.
    pub fn value_at(&self, p: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        let idx = ((p / 100.0) * n as f64).ceil() as usize;
        Some(self.sorted[idx.clamp(1, n) - 1])
    }
}

/// Everything scored, with the distributions of in-scope functions and files.
#[derive(Clone, Debug, Default)]
pub struct RiskTable {
    files: imbl::HashMap<String, Arc<FileRisk>>,
    functions: Distribution,
    file_scores: Distribution,
    /// Per factor, the raw values of in-scope functions (for "p98" next to a value).
    function_factors: Vec<(Factor, Distribution)>,
    file_factors: Vec<(Factor, Distribution)>,
    /// Cognitive complexity for its size: `ln(1 + cog) - (a + b·ln(sloc))`, fitted over in-scope
    /// functions, so that "hard to read for its size" compares like with like.
    complexity_fit: (f64, f64),
    complexity_residuals: Distribution,
}

impl RiskTable {
    pub fn build(inputs: Vec<FileInput>) -> RiskTable {
        let files =
            inputs.into_iter().map(|input| (input.rel_path.clone(), Arc::new(score(input)))).collect();
        RiskTable::from_files(files)
    }

    /// Scores one file on its own (percentiles come from a table).
    pub fn score_input(input: FileInput) -> FileRisk {
        score(input)
    }

    fn from_files(files: imbl::HashMap<String, Arc<FileRisk>>) -> RiskTable {
        let in_scope = || files.values().filter(|f| f.in_scope());
        let functions = || in_scope().flat_map(|f| f.functions.iter());
        let function_factors = Factor::ALL
            .iter()
            .enumerate()
            .map(|(i, &factor)| {
                (factor, Distribution::new(functions().map(|f| f.factors[i].value).collect()))
            })
            .collect();
        let file_factors = Factor::ALL
            .iter()
            .enumerate()
            .map(|(i, &factor)| (factor, Distribution::new(in_scope().map(|f| f.factors[i].value).collect())))
            .collect();
        let points: Vec<(f64, f64)> =
            functions().map(|f| (f64::from(f.sloc.max(1)).ln(), f64::from(f.cognitive).ln_1p())).collect();
        let complexity_fit = least_squares(&points);
        let complexity_residuals = Distribution::new(
            points.iter().map(|&(x, y)| y - complexity_fit.0 - complexity_fit.1 * x).collect(),
        );
        RiskTable {
            functions: Distribution::new(functions().map(|f| f.log_risk).collect()),
            file_scores: Distribution::new(in_scope().map(|f| f.log_risk).collect()),
            function_factors,
            file_factors,
            complexity_fit,
            complexity_residuals,
            files,
        }
    }

    /// Scores a new version of one file against the table's distributions, with the context
    /// gathered for it last (or an empty one for a file the table has not seen).
    pub fn score_file(&self, rel_path: &str, code: Arc<CodeFacts>) -> FileRisk {
        let context = self.files.get(rel_path).map(|f| f.context.clone()).unwrap_or_default();
        score(FileInput { rel_path: rel_path.to_owned(), code, context })
    }

    /// The table with one file replaced (or added), distributions updated.
    pub fn with_file(&self, file: FileRisk) -> RiskTable {
        let mut files = self.files.clone();
        files.insert(file.rel_path.clone(), Arc::new(file));
        RiskTable::from_files(files)
    }

    pub fn without_file(&self, rel_path: &str) -> RiskTable {
        let mut files = self.files.clone();
        files.remove(rel_path);
        RiskTable::from_files(files)
    }

    pub fn file(&self, rel_path: &str) -> Option<&Arc<FileRisk>> {
        self.files.get(rel_path)
    }

    pub fn files(&self) -> impl Iterator<Item = &Arc<FileRisk>> + '_ {
        self.files.values()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// In-scope functions ranked.
    pub fn ranked_functions(&self) -> usize {
        self.functions.len()
    }

    /// Percentile of a function's log-risk among the repository's in-scope functions.
    pub fn function_percentile(&self, log_risk: f64) -> f64 {
        self.functions.percentile(log_risk)
    }

    pub fn file_percentile(&self, log_risk: f64) -> f64 {
        self.file_scores.percentile(log_risk)
    }

    /// Percentile of a function's raw factor value among in-scope functions.
    pub fn function_factor_percentile(&self, factor: Factor, value: f64) -> f64 {
        self.function_factors.iter().find(|(f, _)| *f == factor).map_or(0.0, |(_, d)| d.percentile(value))
    }

    /// The median raw value of a factor among in-scope functions (0 when there are none).
    pub fn function_factor_median(&self, factor: Factor) -> f64 {
        self.function_factors
            .iter()
            .find(|(f, _)| *f == factor)
            .and_then(|(_, d)| d.value_at(50.0))
            .unwrap_or(0.0)
    }

    pub fn file_factor_percentile(&self, factor: Factor, value: f64) -> f64 {
        self.file_factors.iter().find(|(f, _)| *f == factor).map_or(0.0, |(_, d)| d.percentile(value))
    }

    /// Percentile of a function's cognitive complexity among functions of its size.
    pub fn complexity_for_size_percentile(&self, sloc: u32, cognitive: u32) -> f64 {
        let (a, b) = self.complexity_fit;
        let residual = f64::from(cognitive).ln_1p() - a - b * f64::from(sloc.max(1)).ln();
        self.complexity_residuals.percentile(residual)
    }

    /// The log-risk a function needs to be in the top `percent` of the repository.
    pub fn function_threshold(&self, percent: f64) -> Option<f64> {
        self.functions.value_at(100.0 - percent)
    }
}

/// Scores one file and its functions.
fn score(input: FileInput) -> FileRisk {
    let FileInput { rel_path, code, context } = input;
    let class = classify(&rel_path, code.generated);
    let empty = FunctionContext::default();
    let functions = code
        .metrics
        .functions
        .iter()
        .map(|m| {
            let ctx = context.functions.get(&m.qual).unwrap_or(&empty);
            let (log_risk, factors) = combine(&function_factor_values(m, ctx, &context), &FUNCTION_WEIGHTS);
            FunctionRisk {
                qual: m.qual.clone(),
                name_range: m.name_range,
                range: m.range,
                line: m.start_line,
                end_line: m.end_line,
                sloc: m.sloc,
                cyclomatic: m.cyclomatic,
                cognitive: m.cognitive,
                max_nesting: m.max_nesting,
                params: m.params,
                context: ctx.clone(),
                log_risk,
                density: log_risk.exp() / f64::from(m.sloc.max(1)),
                factors,
            }
        })
        .collect();
    let sloc = code.metrics.sloc;
    let (log_risk, factors) =
        combine(&file_factor_values(sloc, code.metrics.cog_sum, &context), &FILE_WEIGHTS);
    FileRisk {
        rel_path,
        class,
        sloc,
        log_risk,
        density: log_risk.exp() / f64::from(sloc.max(1)),
        factors,
        functions,
        code,
        context,
    }
}

/// `(a, b)` minimizing `Σ (y - a - b·x)²`; a flat line through the mean when `x` does not vary.
fn least_squares(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    if points.is_empty() {
        return (0.0, 0.0);
    }
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxx, sxy) = points
        .iter()
        .fold((0.0, 0.0), |(sxx, sxy), &(x, y)| (sxx + (x - mx) * (x - mx), sxy + (x - mx) * (y - my)));
    if sxx <= f64::EPSILON {
        return (my, 0.0);
    }
    let b = sxy / sxx;
    (my - b * mx, b)
}
