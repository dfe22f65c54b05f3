//! `textDocument/codeAction` on repolens diagnostics.
//!
//! On a risk diagnostic: "Explain risk", which runs `repolens.explainRisk` (see
//! `execute_command.rs`) to open the full breakdown. On a smell diagnostic: "Fix with tested
//! patch…" (`repolens.fix`: the smell's mechanical fixes, tested, the winner applied); on a risk
//! diagnostic or a selection, the same when a model is configured to propose candidates, and on a
//! risk diagnostic "Generate a test for …" (`repolens.generateTest`).

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command,
    Diagnostic, NumberOrString,
};
use serde_json::{Value, json};

use crate::{
    lsp::{
        dispatch::LspResult,
        ext::{EXPLAIN_RISK, FIX_COMMAND, FixArgs, GENERATE_TEST_COMMAND},
        server::ServerSnapshot,
    },
    stdx::CancelToken,
};

pub(crate) fn handle_code_action(
    snap: ServerSnapshot,
    params: CodeActionParams,
    _: &CancelToken,
) -> LspResult<Option<CodeActionResponse>> {
    let uri = params.text_document.uri;
    let mut actions = Vec::new();
    for diagnostic in &params.context.diagnostics {
        let ours = diagnostic.source.as_deref() == Some("repolens");
        let risk =
            matches!(&diagnostic.code, Some(NumberOrString::String(code)) if code.starts_with("risk/"));
        let smell =
            matches!(&diagnostic.code, Some(NumberOrString::String(code)) if code.starts_with("smell/"));
        if ours && (smell || (risk && snap.llm.is_some())) {
            actions.push(fix_action(&uri, diagnostic.range, Some(diagnostic)));
        }
        let qual = diagnostic.data.as_ref().and_then(|d| d.get("qual")).and_then(Value::as_str);
        if let (true, true, Some(qual), Some(_)) = (ours, risk, qual, &snap.llm) {
            let title = format!("Generate a test for `{qual}`");
            let args = FixArgs { uri: uri.clone(), range: diagnostic.range, problem: None };
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: title.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic.clone()]),
                command: Some(Command {
                    title,
                    command: GENERATE_TEST_COMMAND.to_owned(),
                    arguments: Some(vec![serde_json::to_value(args).unwrap_or_default()]),
                }),
                ..CodeAction::default()
            }));
        }
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
    let selection = params.range.start != params.range.end;
    if actions.is_empty() && selection && snap.llm.is_some() {
        actions.push(fix_action(&uri, params.range, None));
    }
    Ok(Some(actions))
}

/// "Fix with tested patch…": a command, because the fix is only known once its tests have run.
fn fix_action(
    uri: &lsp_types::Url,
    range: lsp_types::Range,
    diagnostic: Option<&Diagnostic>,
) -> CodeActionOrCommand {
    let title = "Fix with tested patch…".to_owned();
    let args = FixArgs { uri: uri.clone(), range, problem: diagnostic.map(|d| d.message.clone()) };
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: diagnostic.map(|d| vec![d.clone()]),
        command: Some(Command {
            title,
            command: FIX_COMMAND.to_owned(),
            arguments: Some(vec![serde_json::to_value(args).unwrap_or_default()]),
        }),
        ..CodeAction::default()
    })
}
