//! `workspace/executeCommand`: the commands behind repolens code actions (`repolens.explainRisk`).

use lsp_types::{ExecuteCommandParams, MessageType, ShowDocumentParams, ShowMessageParams};
use serde_json::{Value, json};

use crate::lsp::{
    dispatch::{LspError, LspResult},
    ext::EXPLAIN_RISK,
    from_proto,
    server::Server,
};

/// `workspace/executeCommand`: answers with the breakdown (Markdown) and shows it — as a
/// document when the client can show one, else as a message.
pub(crate) fn handle_execute_command(
    server: &mut Server,
    params: ExecuteCommandParams,
) -> LspResult<Option<Value>> {
    if params.command != EXPLAIN_RISK {
        return Err(LspError::new(
            lsp_server::ErrorCode::InvalidParams,
            format!("unknown command {}", params.command),
        ));
    }
    let (Some(uri), Some(qual)) = (
        params.arguments.first().and_then(|a| serde_json::from_value::<lsp_types::Url>(a.clone()).ok()),
        params.arguments.get(1).and_then(Value::as_str),
    ) else {
        return Err(LspError::new(lsp_server::ErrorCode::InvalidParams, "expected [uri, qualified name]"));
    };
    let analysis = server.host.snapshot();
    let explanation = analysis
        .file_id(&from_proto::vfs_path(&uri))
        .and_then(|file| analysis.risk_explanation(file, qual))
        .ok_or_else(|| {
            LspError::new(lsp_server::ErrorCode::InvalidParams, format!("no risk known for `{qual}`"))
        })?;
    let shown = server.client.show_document && show_as_document(server, qual, &explanation);
    if !shown {
        let params = ShowMessageParams { typ: MessageType::INFO, message: explanation.clone() };
        server.send_notification("window/showMessage", serde_json::to_value(params).unwrap_or_default());
    }
    Ok(Some(json!(explanation)))
}

/// Writes the breakdown to a Markdown file in the temporary directory and asks the client to
/// open it. `false` if the file cannot be written.
fn show_as_document(server: &mut Server, qual: &str, text: &str) -> bool {
    let name: String =
        qual.chars().map(|c| if c.is_alphanumeric() || c == '.' || c == '_' { c } else { '_' }).collect();
    let dir = std::env::temp_dir().join(format!("repolens-{}", std::process::id()));
    let path = dir.join(format!("risk-{name}.md"));
    if let Err(err) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
        tracing::warn!("cannot write {}: {err}", path.display());
        return false;
    }
    let Ok(uri) = lsp_types::Url::from_file_path(&path) else { return false };
    let params = ShowDocumentParams { uri, external: None, take_focus: Some(true), selection: None };
    server.send_request("window/showDocument", serde_json::to_value(params).unwrap_or_default());
    true
}
