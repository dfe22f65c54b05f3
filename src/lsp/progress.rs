//! `$/progress` for long work: begin, report (percentage), end.

use crossbeam_channel::Sender;
use lsp_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressCreateParams, WorkDoneProgressEnd, WorkDoneProgressReport,
};

use lsp_server::RequestId;

use super::{server::Server, transport::Outgoing};

/// One progress token's lifetime. Only created for clients that support `workDoneProgress`.
pub(crate) struct ProgressReporter {
    token: NumberOrString,
    last: (Option<u32>, Option<String>),
    cancellable: bool,
}

/// Prefix of the progress tokens the server makes for a request: the rest is the request id as
/// JSON, so that `window/workDoneProgress/cancel` can cancel the request without any table.
const REQUEST_TOKEN_PREFIX: &str = "repolens/request/";

impl ProgressReporter {
    pub fn begin(server: &mut Server, title: &str, message: Option<String>) -> ProgressReporter {
        server.next_request_id += 1;
        let token = NumberOrString::String(format!("repolens/progress/{}", server.next_request_id));
        let create = WorkDoneProgressCreateParams { token: token.clone() };
        server.send_request("window/workDoneProgress/create", json(create));
        ProgressReporter::start(&server.sender, token, title, message, false)
    }

    /// Progress for the request `id`, from a worker: on the client's `workDoneToken` when it
    /// sent one, else on a token we create (if the client supports progress at all). Cancelling
    /// it cancels the request.
    pub fn for_request(
        sender: &Sender<Outgoing>,
        id: &RequestId,
        client_token: Option<NumberOrString>,
        client_supports: bool,
        title: &str,
    ) -> Option<ProgressReporter> {
        // Only our own tokens say which request they belong to; the client cancels its own
        // with `$/cancelRequest`.
        let ours = client_token.is_none();
        let token = match client_token {
            Some(token) => token,
            None if client_supports => {
                let token = NumberOrString::String(format!(
                    "{REQUEST_TOKEN_PREFIX}{}",
                    serde_json::to_string(id).unwrap_or_default()
                ));
                let create = WorkDoneProgressCreateParams { token: token.clone() };
                let create_id = RequestId::from(format!(
                    "repolens/create/{}",
                    serde_json::to_string(id).unwrap_or_default()
                ));
                let request = lsp_server::Request::new(
                    create_id,
                    "window/workDoneProgress/create".to_owned(),
                    json(create),
                );
                let _ = sender.send(Outgoing::Message(request.into()));
                token
            }
            None => return None,
        };
        Some(ProgressReporter::start(sender, token, title, None, ours))
    }

    /// The request a token made by [`ProgressReporter::for_request`] belongs to.
    pub fn request_of(token: &NumberOrString) -> Option<RequestId> {
        let NumberOrString::String(token) = token else { return None };
        serde_json::from_str(token.strip_prefix(REQUEST_TOKEN_PREFIX)?).ok()
    }

    fn start(
        sender: &Sender<Outgoing>,
        token: NumberOrString,
        title: &str,
        message: Option<String>,
        cancellable: bool,
    ) -> ProgressReporter {
        let begin = WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: title.to_owned(),
            cancellable: Some(cancellable),
            message,
            percentage: Some(0),
        });
        send_progress(sender, &token, begin);
        ProgressReporter { token, last: (Some(0), None), cancellable }
    }

    /// Reports unless nothing visible changed since the last report.
    pub fn report(&mut self, sender: &Sender<Outgoing>, message: Option<String>, percent: Option<u32>) {
        let percent = percent.map(|p| p.min(100));
        if (percent, &message) == (self.last.0, &self.last.1) {
            return;
        }
        self.last = (percent, message.clone());
        let report = WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(self.cancellable),
            message,
            percentage: percent,
        });
        send_progress(sender, &self.token, report);
    }

    pub fn end(self, sender: &Sender<Outgoing>, message: Option<String>) {
        send_progress(sender, &self.token, WorkDoneProgress::End(WorkDoneProgressEnd { message }));
    }
}

fn send_progress(sender: &Sender<Outgoing>, token: &NumberOrString, value: WorkDoneProgress) {
    let params = ProgressParams { token: token.clone(), value: ProgressParamsValue::WorkDone(value) };
    let notification = lsp_server::Notification::new("$/progress".to_owned(), json(params));
    let _ = sender.send(Outgoing::Message(notification.into()));
}

fn json(value: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).expect("LSP types serialize")
}
