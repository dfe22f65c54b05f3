//! Answers with citations: retrieve → read the cited code → compose, extractively (no model) or
//! with a model whose answer is checked against the code before anyone sees it.
//!
//! Every citation points at lines of a file as read when the answer was made, with the commit
//! the repository was at; the protocol edge turns its byte range into editor positions with the
//! line table of that same text. An extractive answer is built only from what was read (matched
//! lines, and graph facts each citing the code they come from). A generative answer may cite
//! only the numbered excerpts it was given, and may quote only what those excerpts contain;
//! statements that fail are dropped and listed in [`Answer::unverified`].

mod extractive;
mod generative;
mod verify;

use std::{path::PathBuf, sync::Arc, time::Instant};

pub use verify::{Verified, verify};

use crate::{
    analysis::{Analysis, Cancelled},
    llm::{LlmClient, LlmError, Usage},
    retrieve::{Cursor, Question, RankedChunk, Retrieval, RetrieveOptions, retrieve},
    stdx::CancelToken,
    text::{LineIndex, TextRange},
    workspace::{FileId, read_source},
};

/// Files bigger than this are not read to quote from.
const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Extractive,
    Generative,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Extractive => "extractive",
            Mode::Generative => "generative",
        }
    }
}

/// What the user asked.
#[derive(Clone, Debug)]
pub struct AskRequest {
    pub question: String,
    pub cursor: Option<Cursor>,
    /// Most locations in the answer.
    pub limit: usize,
}

/// A place in the code the answer relies on.
#[derive(Clone, Debug)]
pub struct Citation {
    pub file: FileId,
    /// Workspace-relative, `/`-separated.
    pub path: String,
    pub abs_path: Option<PathBuf>,
    /// UTF-8 byte range of the cited lines in the text as read, and their line table.
    pub range: TextRange,
    pub line_index: Arc<LineIndex>,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// The commit the repository was at (HEAD), if it is a git repository.
    pub commit: Option<String>,
    pub symbol: Option<String>,
    /// The lines cited (or, for a long chunk, the lines that matched).
    pub snippet: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Answer {
    pub markdown: String,
    /// `[n]` in the answer is `citations[n - 1]`.
    pub citations: Vec<Citation>,
    pub mode: Mode,
    /// What a model said that could not be verified, and why (dropped from the answer).
    pub unverified: Vec<String>,
    /// Why the model was configured but not used (the answer is extractive instead).
    pub model_error: Option<String>,
    pub usage: Option<Usage>,
    pub retrieval_ms: f64,
    pub total_ms: f64,
}

impl Answer {
    /// The answer as a standalone Markdown document (what the `repolens.ask` command opens): the
    /// question, the answer, and its sources as links to the cited lines.
    pub fn document(&self, question: &str) -> String {
        use std::fmt::Write as _;
        let mut doc = format!("# {}\n\n{}\n\n## Sources\n\n", question.trim(), self.markdown.trim_end());
        for (n, c) in self.citations.iter().enumerate() {
            let lines = if c.start_line == c.end_line {
                c.start_line.to_string()
            } else {
                format!("{}-{}", c.start_line, c.end_line)
            };
            let target = c.abs_path.as_deref().and_then(|p| url::Url::from_file_path(p).ok());
            let place = match target {
                Some(url) => format!("[`{}:{lines}`]({url}#L{})", c.path, c.start_line),
                None => format!("`{}:{lines}`", c.path),
            };
            let symbol = c.symbol.as_deref().map(|s| format!(" `{s}`")).unwrap_or_default();
            let commit =
                c.commit.as_deref().map(|h| format!(" at {}", &h[..h.len().min(10)])).unwrap_or_default();
            let _ = writeln!(doc, "{}. {place}{symbol}{commit}", n + 1);
        }
        if !self.unverified.is_empty() {
            let _ = writeln!(doc, "\n## Dropped as unverifiable\n");
            for item in &self.unverified {
                let _ = writeln!(doc, "- {item}");
            }
        }
        let _ = writeln!(doc, "\n_{} answer by repolens._", self.mode.as_str());
        doc
    }
}

/// A chunk read from disk (or the open document): what citations and prompts are made of.
#[derive(Clone, Debug)]
pub(crate) struct ReadChunk {
    pub chunk: RankedChunk,
    pub text: Arc<str>,
    pub line_index: Arc<LineIndex>,
    pub abs_path: Option<PathBuf>,
    pub commit: Option<String>,
}

impl ReadChunk {
    /// Byte range of lines `start..=end` (1-based) in the text.
    pub fn lines_range(&self, start: u32, end: u32) -> TextRange {
        let count = self.line_index.line_count();
        let start = start.clamp(1, count) - 1;
        let end = end.clamp(start + 1, count) - 1;
        TextRange::new(self.line_index.line_range(start).start, self.line_index.line_range(end).end)
    }

    pub fn lines(&self, start: u32, end: u32) -> &str {
        let range = self.lines_range(start, end);
        &self.text[range.as_usize()]
    }

    pub fn citation(&self, start: u32, end: u32, snippet: String) -> Citation {
        let chunk = &self.chunk;
        Citation {
            file: chunk.file,
            path: chunk.path.clone(),
            abs_path: self.abs_path.clone(),
            range: self.lines_range(start, end),
            line_index: self.line_index.clone(),
            start_line: start,
            end_line: end,
            commit: self.commit.clone(),
            symbol: chunk.symbol.clone(),
            snippet,
            score: chunk.score,
            reasons: chunk.reasons.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Reads the text of a file: the open document's if it is open, else the disk's.
pub(crate) fn read_text(analysis: &Analysis, file: FileId) -> Option<(Arc<str>, Option<PathBuf>)> {
    if let Some(doc) = analysis.document(file) {
        return Some((doc.document.text().into(), analysis.path(file).as_disk().map(PathBuf::from)));
    }
    let path = analysis.path(file);
    let abs = path.as_disk()?.to_path_buf();
    let text = read_source(&abs, MAX_READ_BYTES).ok()?;
    Some((text.into(), Some(abs)))
}

/// The commit each workspace root's repository is at, resolved once per answer: from the loaded
/// history when there is one, else with one `git rev-parse` (history may still be loading, and
/// a citation must name its commit all the same).
pub(crate) struct Heads(Vec<(PathBuf, Option<String>)>);

impl Heads {
    pub(crate) fn new(analysis: &Analysis) -> Heads {
        let model = analysis.model();
        Heads(
            analysis
                .roots()
                .iter()
                .map(|root| {
                    let head = match model.history_for(root) {
                        Some(history) => Some(history.head().hash),
                        None => crate::history::head(root, &crate::history::HistoryOptions::default())
                            .ok()
                            .flatten()
                            .map(|h| h.hash),
                    };
                    (root.clone(), head.filter(|h| !h.is_empty()))
                })
                .collect(),
        )
    }

    /// The commit the repository holding `abs` is at.
    pub(crate) fn of(&self, abs: Option<&std::path::Path>) -> Option<String> {
        let abs = abs?;
        self.0.iter().find(|(root, _)| abs.starts_with(root)).and_then(|(_, head)| head.clone())
    }
}

/// Reads the ranked chunks' files, dropping what cannot be read (deleted since, binary).
pub(crate) fn read_chunks(analysis: &Analysis, chunks: &[RankedChunk], heads: &Heads) -> Vec<ReadChunk> {
    type ReadFile = Option<(Arc<str>, Arc<LineIndex>, Option<PathBuf>)>;
    let mut cache: rustc_hash::FxHashMap<FileId, ReadFile> = rustc_hash::FxHashMap::default();
    chunks
        .iter()
        .filter_map(|chunk| {
            let (text, line_index, abs) = cache
                .entry(chunk.file)
                .or_insert_with(|| {
                    let (text, abs) = read_text(analysis, chunk.file)?;
                    let index = Arc::new(LineIndex::new(&text));
                    Some((text, index, abs))
                })
                .clone()?;
            let commit = heads.of(abs.as_deref());
            Some(ReadChunk { chunk: chunk.clone(), text, line_index, abs_path: abs, commit })
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for AskError {
    fn from(_: Cancelled) -> AskError {
        AskError::Cancelled
    }
}

/// Answers `request`: generatively when `llm` is given, else (or when the model fails)
/// extractively. `progress` hears what is being done.
pub fn ask(
    analysis: &Analysis,
    request: &AskRequest,
    llm: Option<&LlmClient>,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(&str),
) -> Result<Answer, AskError> {
    let started = Instant::now();
    let question = request.question.trim();
    if question.is_empty() {
        return Err(AskError::EmptyQuestion);
    }
    progress("retrieving");
    let limit = request.limit.clamp(1, 50);
    let options = RetrieveOptions::default();
    // A few more chunks than shown: some cannot be read, and the model gets a wider context.
    let retrieval: Retrieval = retrieve(
        analysis,
        &Question { text: question, cursor: request.cursor },
        limit * 2 + 4,
        &options,
        cancel,
    )?;
    let retrieval_ms = started.elapsed().as_secs_f64() * 1000.0;
    let heads = Heads::new(analysis);
    let read = read_chunks(analysis, &retrieval.chunks, &heads);
    if cancel.is_cancelled() {
        return Err(AskError::Cancelled);
    }
    let mut model_error = None;
    if let Some(llm) = llm {
        progress("asking the model");
        match generative::answer(question, &read, limit, llm, cancel) {
            Ok(mut answer) => {
                answer.retrieval_ms = retrieval_ms;
                answer.total_ms = started.elapsed().as_secs_f64() * 1000.0;
                return Ok(answer);
            }
            Err(LlmError::Cancelled) => return Err(AskError::Cancelled),
            Err(err) => {
                tracing::warn!("the model could not answer: {err}");
                model_error = Some(err.to_string());
            }
        }
    }
    progress("composing");
    let graph = analysis.model().graph.read();
    let mut answer = extractive::answer(question, &retrieval, &read, &graph, analysis, &heads, limit);
    if let Some(error) = &model_error {
        answer.markdown = format!(
            "> The model could not answer ({error}); these are the locations found without it.\n\n{}",
            answer.markdown
        );
    }
    answer.model_error = model_error;
    answer.retrieval_ms = retrieval_ms;
    answer.total_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(answer)
}
