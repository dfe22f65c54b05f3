//! `workspace/executeCommand`: `repolens.ask`, for clients that cannot send custom requests
//! (Helix, plain configurations of other editors). The answer is written as a Markdown document
//! next to the index cache and opened with `window/showDocument`; the command's result carries
//! the same answer as `repolens/ask` and the document's URI.

use lsp_server::{ErrorCode, RequestId};
use lsp_types::{ExecuteCommandParams, ShowDocumentParams, Url};
use serde_json::Value;

use super::ask::answer_question;
use crate::{
    lsp::{
        dispatch::{LspError, LspResult},
        ext::{ASK_COMMAND, AskCommandResult, AskParams},
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
