//! Tested fixes asked for from the editor: what to repair at a location — the function around
//! it, the problem in words, the mechanical fixes of the smells there — and the repair loop run
//! on it with every open document's unsaved text in the test runs.
//!
//! The protocol side (code actions, progress, `workspace/applyEdit`) lives in `lsp`; this is
//! the part that speaks files, byte ranges and test runs.

use std::path::PathBuf;

use super::Analysis;
use crate::{
    config::Config,
    graph::SymbolGraph,
    llm::LlmConfig,
    repair::{
        Generator, LlmGenerator, LlmTestGenerator, MechanicalFix, RepairError, RepairEvent, RepairOptions,
        RepairOutcome, RepairTask, RuleGenerator, TestGenOptions, TestGenOutcome, TestPlan, TestTask,
        Workspace, WorkspaceTexts, generate_test, repair, style_example,
    },
    risk::{Smell, find_smells, fix_candidates},
    sandbox::{BaselineCache, Overlay, SandboxOptions, TestCommand},
    stdx::CancelToken,
    syntax::{Language, LanguageId, ParseBudget, SymbolKind, SyntaxTree, parse_text},
    text::TextRange,
    workspace::{FileId, RepolensToml},
};

/// What the user asked to fix.
#[derive(Clone, Debug)]
pub struct FixRequest {
    pub file: FileId,
    /// The diagnostic's range or the selection, in the file's current text.
    pub range: TextRange,
    /// The diagnostic's message, if the fix was asked for on one.
    pub problem: Option<String>,
}

/// A fix ready to run: everything taken from the snapshot it was planned on.
#[derive(Clone, Debug)]
pub struct FixJob {
    pub root: PathBuf,
    /// Workspace-relative.
    pub rel_path: PathBuf,
    /// The open document's version the candidates edit (`None`: the file on disk).
    pub version: Option<i32>,
    /// The text the candidates edit.
    pub text: String,
    pub task: RepairTask,
    /// The qualified name of the function being fixed.
    pub symbol: Option<String>,
    /// Unsaved editor texts (workspace-relative), present in every test run.
    pub buffers: Vec<(PathBuf, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("the file is not under a workspace folder")]
    NotInWorkspace,
    #[error("nothing to try here: {0}")]
    NothingToTry(String),
    #[error("{0}")]
    Settings(String),
    #[error(transparent)]
    Repair(#[from] RepairError),
}

impl Analysis {
    /// Plans a fix at `request`'s location; `model` says whether a model can propose candidates.
    pub fn plan_fix(&self, request: &FixRequest, model: bool) -> Result<FixJob, FixError> {
        let disk = self.path(request.file);
        let disk = disk.as_disk().ok_or(FixError::NotInWorkspace)?;
        let root = self.roots.iter().find(|root| disk.starts_with(root)).ok_or(FixError::NotInWorkspace)?;
        let rel_path = disk.strip_prefix(root).map_err(|_| FixError::NotInWorkspace)?.to_path_buf();
        let (text, version) = match self.document(request.file) {
            Some(doc) => (doc.document.text(), Some(doc.document.version())),
            None => (
                crate::workspace::read_source(disk, 16 << 20).map_err(|err| {
                    FixError::NothingToTry(format!("cannot read {}: {err:?}", disk.display()))
                })?,
                None,
            ),
        };
        let smells = self.smells_in(request.file, &text, request.range);
        let fixes: Vec<MechanicalFix> = smells.iter().flat_map(|(_, fixes)| fixes.iter().cloned()).collect();
        if fixes.is_empty() && !model {
            return Err(FixError::NothingToTry(
                "no mechanical fix is known here and no model is configured".to_owned(),
            ));
        }
        let (focus, symbol) = self.enclosing_function(request.file, request.range, text.len());
        let problem = request
            .problem
            .clone()
            .or_else(|| smells.first().map(|(s, _)| s.message.clone()))
            .unwrap_or_else(|| match &symbol {
                Some(name) => format!("`{name}` has a bug; make the tests pass"),
                None => "the selected code has a bug; make the tests pass".to_owned(),
            });
        let buffers = self
            .documents
            .iter()
            .filter_map(|(file, doc)| {
                let path = self.path(*file);
                let rel = path.as_disk()?.strip_prefix(root).ok()?.to_path_buf();
                Some((rel, doc.document.text()))
            })
            .collect();
        let task = RepairTask { file: rel_path.clone(), focus, problem, fixes, context: Vec::new() };
        Ok(FixJob { root: root.clone(), rel_path, version, text, task, symbol, buffers })
    }

    /// The smells whose range meets `range` in `text` (the file's current text), with their
    /// fixes.
    fn smells_in(&self, file: FileId, text: &str, range: TextRange) -> Vec<(Smell, Vec<MechanicalFix>)> {
        let path = self.path(file);
        let Some(language) = path.as_disk().and_then(LanguageId::from_path) else { return Vec::new() };
        let tree = self.document(file).and_then(|doc| doc.tree.as_ref());
        smells_in(self.languages.get(language), tree, text, range)
    }

    /// The innermost function around `range`, else about ten lines around it.
    fn enclosing_function(&self, file: FileId, range: TextRange, len: usize) -> (TextRange, Option<String>) {
        if let Some(summary) = self.file_summary(file) {
            let best = summary
                .symbols
                .iter()
                .enumerate()
                .filter(|(_, s)| matches!(s.kind, SymbolKind::Function | SymbolKind::Method))
                .filter(|(_, s)| s.range.start <= range.start && range.end <= s.range.end)
                .min_by_key(|(_, s)| s.range.end - s.range.start);
            if let Some((idx, symbol)) = best {
                return (symbol.range, Some(summary.qualified_name(idx)));
            }
        }
        let start = (range.start as usize).saturating_sub(400);
        let end = (range.end as usize + 400).min(len);
        (TextRange::from_usize(start..end), None)
    }
}

/// The smells whose range meets `range` in `text`, found on `tree` (parsed from `text`) or, when
/// there is none, on a fresh parse; each with its fixes as repair candidates — the smell's own
/// fix and the alternatives the tests decide between (a `None` sentinel or an empty tuple for a
/// mutable default, logging or re-raising a swallowed exception, …; see
/// [`fix_candidates`]).
pub fn smells_in(
    lang: &Language,
    tree: Option<&SyntaxTree>,
    text: &str,
    range: TextRange,
) -> Vec<(Smell, Vec<MechanicalFix>)> {
    let parsed;
    let tree = match tree {
        Some(tree) => tree,
        None => match parse_text(lang, text, None, ParseBudget::default()) {
            Some(tree) => {
                parsed = tree;
                &parsed
            }
            None => return Vec::new(),
        },
    };
    find_smells(lang, tree, text)
        .into_iter()
        .filter(|s| s.range.start <= range.end && range.start <= s.range.end)
        .map(|smell| {
            let fixes = fix_candidates(&smell, tree, text)
                .into_iter()
                .map(|fix| MechanicalFix {
                    title: fix.title,
                    edits: fix.edits.into_iter().map(|e| (e.range, e.new_text)).collect(),
                    needs_failing_test: fix.needs_failing_test,
                })
                .collect();
            (smell, fixes)
        })
        .collect()
}

/// Runs the repair loop for `job`: mechanical fixes first, then the model's candidates when one
/// is configured; every run sees the job's unsaved buffers.
pub fn run_fix(
    job: &FixJob,
    graph: &SymbolGraph,
    model: Option<LlmConfig>,
    cancel: CancelToken,
    progress: &dyn Fn(RepairEvent),
) -> Result<RepairOutcome, FixError> {
    let command = test_command(&job.root)?;
    let baseline_cache = Config::default()
        .index_cache(std::slice::from_ref(&job.root))
        .and_then(|cache| BaselineCache::new(&cache.dir().join("baselines"), &job.root).ok());
    let mut sandbox = SandboxOptions::new();
    sandbox.cancel = cancel;
    let options = RepairOptions {
        rounds: if model.is_some() { 2 } else { 1 },
        max_parallel: None,
        sandbox,
        baseline_cache,
        buffers: job.buffers.iter().map(|(path, text)| Overlay::new(path.clone(), text.clone())).collect(),
        trace: crate::trace::Trace::for_workspace(&job.root),
    };
    let plan = TestPlan { command, required: Vec::new(), wider: Some(Vec::new()) };
    let sources = WorkspaceTexts { root: job.root.clone(), buffers: job.buffers.clone() };
    let llm = model.map(|config| LlmGenerator::new(config, job.root.clone(), 3));
    let mut generators: Vec<&dyn Generator> = vec![&RuleGenerator];
    if let Some(llm) = &llm {
        generators.push(llm);
    }
    let workspace = Workspace { root: &job.root, sources: &sources, graph: Some(graph) };
    Ok(repair(&job.task, workspace, &generators, &plan, &options, progress)?)
}

/// Generates a test file for the function `job` was planned on: the model writes candidates,
/// and one is accepted only when it passes on the current code and calls the function.
pub fn run_test_generation(
    job: &FixJob,
    graph: &SymbolGraph,
    model: LlmConfig,
    cancel: CancelToken,
) -> Result<(TestTask, TestGenOutcome), FixError> {
    let qualname = job
        .symbol
        .clone()
        .ok_or_else(|| FixError::NothingToTry("there is no function here to write a test for".to_owned()))?;
    let command = test_command(&job.root)?;
    let sources = WorkspaceTexts { root: job.root.clone(), buffers: job.buffers.clone() };
    let rel_path = job.rel_path.to_string_lossy().replace('\\', "/");
    let module = graph.import_name(&rel_path).ok_or_else(|| {
        FixError::NothingToTry(format!("{rel_path} is not a Python module a test could import"))
    })?;
    let test_path = TestTask::free_test_path(&job.root, &job.rel_path, &qualname);
    let task = TestTask {
        file: job.rel_path.clone(),
        focus: job.task.focus,
        qualname,
        module,
        context: style_example(graph, &sources, &test_path).into_iter().collect(),
        test_path,
    };
    let mut sandbox = SandboxOptions::new();
    sandbox.cancel = cancel;
    let options = TestGenOptions {
        rounds: 2,
        max_parallel: None,
        sandbox,
        buffers: job.buffers.iter().map(|(path, text)| Overlay::new(path.clone(), text.clone())).collect(),
        trace: crate::trace::Trace::for_workspace(&job.root),
    };
    let generator = LlmTestGenerator::new(model, 3);
    let outcome = generate_test(&task, &job.root, &sources, Some(&generator), &command, &options)?;
    Ok((task, outcome))
}

/// The project's test command: `.repolens.toml`'s `[test]`, else detected.
fn test_command(root: &std::path::Path) -> Result<TestCommand, FixError> {
    let settings = RepolensToml::load(root).map_err(|err| FixError::Settings(format!("{err:#}")))?;
    TestCommand::detect(root, settings.test.as_ref()).map_err(|err| FixError::Settings(err.to_string()))
}
