//! `initialize`, `initialized`, `shutdown`, `$/cancelRequest`, `window/workDoneProgress/cancel`.

use lsp_types::{
    CancelParams, InitializeParams, InitializeResult, InitializedParams, NumberOrString,
    WorkDoneProgressCancelParams,
};

use crate::{
    lsp::{
        capabilities,
        dispatch::LspResult,
        ext::InternalPanicParams,
        progress::ProgressReporter,
        server::{Lifecycle, Server, ServerSnapshot},
    },
    stdx::CancelToken,
};

pub(crate) fn handle_initialize(
    server: &mut Server,
    params: InitializeParams,
) -> LspResult<InitializeResult> {
    Ok(capabilities::initialize(server, params))
}

pub(crate) fn handle_initialized(server: &mut Server, _: InitializedParams) -> anyhow::Result<()> {
    server.start_indexing();
    server.start_watching();
    Ok(())
}

pub(crate) fn handle_shutdown(server: &mut Server, _: ()) -> LspResult<()> {
    server.lifecycle = Lifecycle::ShuttingDown;
    Ok(())
}

pub(crate) fn handle_cancel(server: &mut Server, params: CancelParams) -> anyhow::Result<()> {
    let id = match params.id {
        NumberOrString::Number(n) => lsp_server::RequestId::from(n),
        NumberOrString::String(s) => lsp_server::RequestId::from(s),
    };
    server.cancel(id);
    Ok(())
}

/// The user cancelled a progress bar: if it is one of a request's, cancel that request.
pub(crate) fn handle_work_done_progress_cancel(
    server: &mut Server,
    params: WorkDoneProgressCancelParams,
) -> anyhow::Result<()> {
    if let Some(id) = ProgressReporter::request_of(&params.token) {
        server.cancel(id);
    }
    Ok(())
}

pub(crate) fn handle_internal_panic(
    _: ServerSnapshot,
    params: InternalPanicParams,
    _: &CancelToken,
) -> LspResult<()> {
    panic!("{}", params.message)
}

pub(crate) fn handle_internal_block(_: ServerSnapshot, _: (), cancel: &CancelToken) -> LspResult<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !cancel.is_cancelled() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Ok(())
}

pub(crate) fn handle_status(server: &mut Server, _: ()) -> LspResult<serde_json::Value> {
    Ok(server.status())
}
