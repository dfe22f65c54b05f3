//! `initialize`: what the client can do, what we can do, and the encoding we agree on.

use std::path::PathBuf;

use lsp_types::{
    ClientCapabilities, CodeActionKind, CodeActionOptions, CodeActionProviderCapability, DiagnosticOptions,
    DiagnosticServerCapabilities, ExecuteCommandOptions, HoverProviderCapability, InitializeParams,
    InitializeResult, OneOf, PositionEncodingKind, SaveOptions, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
    WorkDoneProgressOptions,
};

use super::{
    ext,
    server::{ClientSupport, Server},
};
use crate::{
    config::Config,
    llm::{LlmClient, LlmConfig, LlmSettings},
    syntax::Languages,
    text::PositionEncoding,
    workspace::workspace_settings,
};

/// UTF-8 when the client offers it (no conversion at all), then UTF-32, else the mandatory UTF-16.
pub(crate) fn negotiated_encoding(caps: &ClientCapabilities) -> PositionEncoding {
    let offered = caps.general.as_ref().and_then(|g| g.position_encodings.as_deref()).unwrap_or(&[]);
    if offered.contains(&PositionEncodingKind::UTF8) {
        PositionEncoding::Utf8
    } else if offered.contains(&PositionEncodingKind::UTF32) {
        PositionEncoding::Utf32
    } else {
        PositionEncoding::Utf16
    }
}

pub(crate) fn encoding_kind(encoding: PositionEncoding) -> PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
    }
}

pub(crate) fn server_capabilities(encoding: PositionEncoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding_kind(encoding)),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            will_save: None,
            will_save_wait_until: None,
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![
                ext::ASK_COMMAND.to_owned(),
                ext::EXPLAIN_RISK.to_owned(),
                ext::FIX_COMMAND.to_owned(),
                ext::GENERATE_TEST_COMMAND.to_owned(),
            ],
            work_done_progress_options: WorkDoneProgressOptions { work_done_progress: Some(true) },
        }),
        // Clients that pull get no pushes (see handlers/publish_diagnostics.rs). A file's
        // diagnostics depend on the rest of the repository (percentiles), hence inter-file
        // dependencies.
        diagnostic_provider: Some(DiagnosticServerCapabilities::Options(DiagnosticOptions {
            identifier: Some("repolens".to_owned()),
            inter_file_dependencies: true,
            workspace_diagnostics: true,
            ..DiagnosticOptions::default()
        })),
        experimental: Some(serde_json::json!({
            "repolens": { "version": env!("CARGO_PKG_VERSION"), "status": true, "ask": true },
        })),
        ..ServerCapabilities::default()
    }
}

/// Workspace roots: the folders, else `rootUri`, else the deprecated `rootPath`. Nested roots
/// collapse into the outermost so that no file is indexed twice.
#[allow(deprecated)]
pub(crate) fn workspace_roots(params: &InitializeParams) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = match &params.workspace_folders {
        Some(folders) if !folders.is_empty() => {
            folders.iter().filter_map(|f| f.uri.to_file_path().ok()).collect()
        }
        _ => match (&params.root_uri, &params.root_path) {
            (Some(uri), _) => uri.to_file_path().ok().into_iter().collect(),
            (None, Some(path)) => vec![PathBuf::from(path)],
            (None, None) => Vec::new(),
        },
    };
    roots.sort();
    roots.dedup();
    let all = roots.clone();
    roots.retain(|root| !all.iter().any(|other| other != root && root.starts_with(other)));
    roots
}

/// The model from the environment, `initializationOptions.llm` and the first root's
/// `.repolens.toml`, in that order of precedence; `None` (extractive answers) when none is
/// configured or it cannot be used (the user is told why).
fn configured_model(
    server: &Server,
    roots: &[PathBuf],
    options: Option<&serde_json::Value>,
) -> Option<LlmClient> {
    let env = LlmSettings::from_env(&LlmConfig::process_env);
    let client = LlmSettings::from_json(options.and_then(|o| o.get("llm"))).unwrap_or_default();
    let file = workspace_settings(roots).llm.unwrap_or_default();
    let config = LlmConfig::resolve(&[&env, &client, &file], &LlmConfig::process_env)?;
    let endpoint = format!("{} ({})", config.base_url, config.model);
    match LlmClient::new(config) {
        Ok(client) => {
            tracing::info!("answers use the model at {endpoint}");
            Some(client)
        }
        Err(err) => {
            let message = format!("repolens: answering without a model: {err}");
            tracing::warn!("{message}");
            server.show_warning(&message);
            None
        }
    }
}

pub(crate) fn initialize(server: &mut Server, params: InitializeParams) -> InitializeResult {
    let encoding = negotiated_encoding(&params.capabilities);
    let roots = workspace_roots(&params);
    let config = Config::from_json(params.initialization_options.as_ref());
    let overrides = crate::workspace::grammar_overrides(&roots);
    let languages = match Languages::with_overrides(&overrides) {
        Ok(languages) => languages,
        Err(err) => {
            let message = format!("repolens: ignoring the workspace's grammar queries: {err:#}");
            tracing::warn!("{message}");
            server.show_warning(&message);
            Languages::embedded()
        }
    };
    let caps = &params.capabilities;
    server.client = ClientSupport {
        work_done_progress: caps.window.as_ref().and_then(|w| w.work_done_progress).unwrap_or(false),
        hierarchical_document_symbols: caps
            .text_document
            .as_ref()
            .and_then(|t| t.document_symbol.as_ref())
            .and_then(|d| d.hierarchical_document_symbol_support)
            .unwrap_or(false),
        watched_files_registration: caps
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false),
        pull_diagnostics: caps.text_document.as_ref().and_then(|t| t.diagnostic.as_ref()).is_some(),
        diagnostic_refresh: caps
            .workspace
            .as_ref()
            .and_then(|w| w.diagnostic.as_ref())
            .and_then(|d| d.refresh_support)
            .unwrap_or(false),
        show_document: caps.window.as_ref().and_then(|w| w.show_document.as_ref()).is_some_and(|s| s.support),
        apply_edit: caps.workspace.as_ref().and_then(|w| w.apply_edit).unwrap_or(false),
        document_changes: caps
            .workspace
            .as_ref()
            .and_then(|w| w.workspace_edit.as_ref())
            .and_then(|e| e.document_changes)
            .unwrap_or(false),
        change_annotations: caps
            .workspace
            .as_ref()
            .and_then(|w| w.workspace_edit.as_ref())
            .and_then(|e| e.change_annotation_support.as_ref())
            .is_some(),
    };
    server.llm = configured_model(server, &roots, params.initialization_options.as_ref());
    server.encoding = encoding;
    server.config = config;
    tracing::info!(
        "initialize: client {}, roots {:?}, position encoding {:?}",
        params.client_info.as_ref().map_or("unknown", |c| c.name.as_str()),
        roots,
        encoding
    );
    server.on_initialized(roots, languages);
    InitializeResult {
        capabilities: server_capabilities(encoding),
        server_info: Some(ServerInfo {
            name: "repolens".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
    }
}
