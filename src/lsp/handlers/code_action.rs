//! `textDocument/codeAction` on repolens diagnostics.
//!
//! On a risk diagnostic: "Explain risk", which runs `repolens.explainRisk` (see
//! `execute_command.rs`) to open the full breakdown.
//! The repair feature will add "Generate a test for …" and "Fix with tested patch…" here, and
//! quick fixes for smells (whose diagnostics already carry their edits in `data`).

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command,
    NumberOrString,
};
use serde_json::{Value, json};

use crate::{
    lsp::{dispatch::LspResult, ext::EXPLAIN_RISK, server::ServerSnapshot},
    stdx::CancelToken,
};

pub(crate) fn handle_code_action(
    _snap: ServerSnapshot,
    params: CodeActionParams,
    _: &CancelToken,
) -> LspResult<Option<CodeActionResponse>> {
    let uri = params.text_document.uri;
    let mut actions = Vec::new();
    for diagnostic in &params.context.diagnostics {
        let ours = diagnostic.source.as_deref() == Some("repolens");
        let risk =
            matches!(&diagnostic.code, Some(NumberOrString::String(code)) if code.starts_with("risk/"));
        let qual = diagnostic.data.as_ref().and_then(|d| d.get("qual")).and_then(Value::as_str);
        let (true, true, Some(qual)) = (ours, risk, qual) else { continue };
        let title = format!("Explain risk of `{qual}`");
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: title.clone(),
            // Shown with quick fixes: it is what to look at before deciding on a fix.
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic.clone()]),
            command: Some(Command {
                title,
                command: EXPLAIN_RISK.to_owned(),
                arguments: Some(vec![json!(uri), json!(qual)]),
            }),
            ..CodeAction::default()
        }));
    }
    Ok(Some(actions))
}
