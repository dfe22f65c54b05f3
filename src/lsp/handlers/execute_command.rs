//! `workspace/executeCommand`:
//! - `repolens.ask`, for clients that cannot send custom requests (Helix, plain configurations
//!   of other editors). The answer is written as a Markdown document next to the index cache and
//!   opened with `window/showDocument`; the command's result carries the same answer as
//!   `repolens/ask` and the document's URI.
//! - `repolens.fix` ("Fix with tested patch…") and `repolens.generateTest` ("Generate a test
//!   for …"): see `fix.rs`.
//! - `repolens.explainRisk` (the "Explain risk" code action): a function's risk breakdown as
//!   Markdown, returned and shown — as a document when the client can show one, else as a
//!   message.

use lsp_server::{ErrorCode, RequestId};
use lsp_types::{ExecuteCommandParams, MessageType, ShowDocumentParams, ShowMessageParams, Url};
use serde_json::{Value, json};

use super::ask::answer_question;
use crate::{
    lsp::{
        dispatch::{LspError, LspResult},
        ext::{ASK_COMMAND, AskCommandResult, AskParams, EXPLAIN_RISK, FIX_COMMAND, GENERATE_TEST_COMMAND},
        from_proto,
        server::ServerSnapshot,
        to_proto,
        transport::Outgoing,
    },
    stdx::CancelToken,
    workspace::write_answer,
};

pub(crate) fn handle_execute_command(
    snap: ServerSnapshot,
    params: ExecuteCommandParams,
    cancel: &CancelToken,
) -> LspResult<Option<Value>> {
    if params.command == EXPLAIN_RISK {
        return explain_risk(&snap, &params.arguments).map(Some);
    }
    if params.command == GENERATE_TEST_COMMAND {
        let token = params.work_done_progress_params.work_done_token;
        let result = super::fix::run_generate_test_command(&snap, params.arguments, token, cancel)?;
        return Ok(Some(to_json(result)?));
    }
    if params.command == FIX_COMMAND {
        let token = params.work_done_progress_params.work_done_token;
        let result = super::fix::run_fix_command(&snap, params.arguments, token, cancel)?;
        return Ok(Some(to_json(result)?));
    }
    if params.command != ASK_COMMAND {
        return Err(LspError::new(ErrorCode::InvalidParams, format!("unknown command {}", params.command)));
    }
    let ask = ask_params(params.arguments)?;
    let token = params.work_done_progress_params.work_done_token;
    let answer = answer_question(&snap, &ask, token, cancel)?;
    let document = match write_answer(&snap.answers_dir, &ask.question, &answer.document(&ask.question)) {
        Ok(path) => Url::from_file_path(path).ok(),
        Err(err) => {
            tracing::warn!("cannot write the answer under {}: {err}", snap.answers_dir.display());
            None
        }
    };
    if let (Some(uri), true, Some(id)) = (&document, snap.client.show_document, &snap.request) {
        let show = ShowDocumentParams {
            uri: uri.clone(),
            external: Some(false),
            take_focus: Some(true),
            selection: None,
        };
        let show_id =
            RequestId::from(format!("repolens/show/{}", serde_json::to_string(id).unwrap_or_default()));
        let request = lsp_server::Request::new(show_id, "window/showDocument".to_owned(), to_json(show)?);
        let _ = snap.sender.send(Outgoing::Message(request.into()));
    }
    let result = to_proto::ask_result(&answer, &snap.analysis, snap.encoding);
    Ok(Some(to_json(AskCommandResult { document, result })?))
}

/// `["question"]` or `[{question, textDocument?, position?, limit?}]`.
fn ask_params(arguments: Vec<Value>) -> LspResult<AskParams> {
    let invalid = |why: String| LspError::new(ErrorCode::InvalidParams, format!("{ASK_COMMAND}: {why}"));
    match arguments.into_iter().next() {
        Some(Value::String(question)) => Ok(AskParams {
            question,
            text_document: None,
            position: None,
            limit: None,
            work_done_progress_params: Default::default(),
        }),
        Some(value @ Value::Object(_)) => {
            serde_json::from_value(value).map_err(|err| invalid(err.to_string()))
        }
        _ => Err(invalid("expected a question (a string, or an object with `question`)".to_owned())),
    }
}

fn to_json(value: impl serde::Serialize) -> LspResult<Value> {
    serde_json::to_value(value).map_err(|err| LspError::new(ErrorCode::InternalError, err.to_string()))
}

/// `repolens.explainRisk` `[uri, qualified name]`: the breakdown, shown and returned.
fn explain_risk(snap: &ServerSnapshot, arguments: &[Value]) -> LspResult<Value> {
    let (Some(uri), Some(qual)) = (
        arguments.first().and_then(|a| serde_json::from_value::<Url>(a.clone()).ok()),
        arguments.get(1).and_then(Value::as_str),
    ) else {
        return Err(LspError::new(
            ErrorCode::InvalidParams,
            format!("{EXPLAIN_RISK}: expected [uri, qualified name]"),
        ));
    };
    let analysis = &snap.analysis;
    let explanation = analysis
        .file_id(&from_proto::vfs_path(&uri))
        .and_then(|file| analysis.risk_explanation(file, qual))
        .ok_or_else(|| LspError::new(ErrorCode::InvalidParams, format!("no risk known for `{qual}`")))?;
    let document = snap.client.show_document.then(|| write_explanation(qual, &explanation)).flatten();
    let message = match (document, &snap.request) {
        (Some(uri), Some(id)) => {
            let show =
                ShowDocumentParams { uri, external: Some(false), take_focus: Some(true), selection: None };
            let show_id =
                RequestId::from(format!("repolens/show/{}", serde_json::to_string(id).unwrap_or_default()));
            lsp_server::Request::new(show_id, "window/showDocument".to_owned(), to_json(show)?).into()
        }
        _ => {
            let show = ShowMessageParams { typ: MessageType::INFO, message: explanation.clone() };
            lsp_server::Notification::new("window/showMessage".to_owned(), to_json(show)?).into()
        }
    };
    let _ = snap.sender.send(Outgoing::Message(message));
    Ok(json!(explanation))
}

/// Writes the breakdown to a Markdown file in the temporary directory, for the client to open.
fn write_explanation(qual: &str, text: &str) -> Option<Url> {
    let name: String =
        qual.chars().map(|c| if c.is_alphanumeric() || c == '.' || c == '_' { c } else { '_' }).collect();
    let dir = std::env::temp_dir().join(format!("repolens-{}", std::process::id()));
    let path = dir.join(format!("risk-{name}.md"));
    if let Err(err) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
        tracing::warn!("cannot write {}: {err}", path.display());
        return None;
    }
    Url::from_file_path(&path).ok()
}
