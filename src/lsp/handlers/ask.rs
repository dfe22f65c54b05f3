//! `repolens/ask`: a question (and the cursor it was asked from) → an answer with citations.
//!
//! The answer needs the symbol graph and the search index, which are built after the files are
//! parsed; a question asked while they are being built waits for them (bounded, cancellable,
//! with progress) rather than answering from nothing. `workspace/executeCommand`'s
//! `repolens.ask` shares [`answer_question`].

use std::time::{Duration, Instant};

use lsp_server::ErrorCode;
use lsp_types::NumberOrString;

use crate::{
    analysis::Cancelled,
    answer::{Answer, AskError, AskRequest},
    lsp::{
        dispatch::{LspError, LspResult},
        ext::{AskParams, AskResult},
        from_proto,
        progress::ProgressReporter,
        server::ServerSnapshot,
        to_proto,
    },
    retrieve::Cursor,
    stdx::CancelToken,
};

/// How long a question waits for the first search index before answering from what there is.
const MODEL_WAIT: Duration = Duration::from_secs(120);
const DEFAULT_LIMIT: usize = 5;

pub(crate) fn handle_ask(
    snap: ServerSnapshot,
    params: AskParams,
    cancel: &CancelToken,
) -> LspResult<AskResult> {
    let token = params.work_done_progress_params.work_done_token.clone();
    let answer = answer_question(&snap, &params, token, cancel)?;
    Ok(to_proto::ask_result(&answer, &snap.analysis, snap.encoding))
}

/// Answers `params` on the snapshot, reporting progress on `token` (or one of ours).
pub(crate) fn answer_question(
    snap: &ServerSnapshot,
    params: &AskParams,
    token: Option<NumberOrString>,
    cancel: &CancelToken,
) -> LspResult<Answer> {
    if params.question.trim().is_empty() {
        return Err(LspError::new(ErrorCode::InvalidParams, "the question is empty"));
    }
    let mut progress = snap.request.as_ref().and_then(|id| {
        ProgressReporter::for_request(&snap.sender, id, token, snap.client.work_done_progress, "Asking")
    });
    let result = (|| {
        wait_for_model(snap, cancel, &mut progress)?;
        let request = AskRequest {
            question: params.question.clone(),
            cursor: cursor(snap, params),
            limit: params.limit.unwrap_or(DEFAULT_LIMIT),
        };
        let mut report = |what: &str| {
            if let Some(progress) = progress.as_mut() {
                progress.report(&snap.sender, Some(what.to_owned()), None);
            }
        };
        crate::answer::ask(&snap.analysis, &request, snap.llm.as_ref(), cancel, &mut report)
    })();
    if let Some(progress) = progress {
        let message = match &result {
            Ok(answer) => format!("{} answer, {} citations", answer.mode.as_str(), answer.citations.len()),
            Err(AskError::Cancelled) => "cancelled".to_owned(),
            Err(err) => err.to_string(),
        };
        progress.end(&snap.sender, Some(message));
    }
    result.map_err(|err| match err {
        AskError::EmptyQuestion => LspError::new(ErrorCode::InvalidParams, err.to_string()),
        AskError::Cancelled => LspError::from(Cancelled),
    })
}

/// Waits until the first search index exists (it follows the symbol graph), or gives up after
/// [`MODEL_WAIT`] and lets retrieval use what there is.
fn wait_for_model(
    snap: &ServerSnapshot,
    cancel: &CancelToken,
    progress: &mut Option<ProgressReporter>,
) -> Result<(), AskError> {
    let model = snap.analysis.model();
    if snap.analysis.roots().is_empty() || model.search.read().is_some() {
        return Ok(());
    }
    if let Some(progress) = progress.as_mut() {
        progress.report(&snap.sender, Some("waiting for the index".to_owned()), None);
    }
    let deadline = Instant::now() + MODEL_WAIT;
    while model.search.read().is_none() {
        if cancel.is_cancelled() {
            return Err(AskError::Cancelled);
        }
        if Instant::now() >= deadline {
            tracing::warn!("the search index is still not built; answering from the symbol graph alone");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The cursor as a byte offset, from the open document's text or else the file's summary.
fn cursor(snap: &ServerSnapshot, params: &AskParams) -> Option<Cursor> {
    let (document, position) = (params.text_document.as_ref()?, params.position?);
    let analysis = &snap.analysis;
    let file = analysis.file_id(&from_proto::vfs_path(&document.uri))?;
    let line_col = from_proto::line_col(position);
    let offset = match analysis.document(file) {
        Some(open) => u32::try_from(open.document.offset(line_col, snap.encoding)).ok()?,
        None => analysis.file_summary(file)?.line_index.offset(line_col, snap.encoding),
    };
    Some(Cursor { file, offset })
}
