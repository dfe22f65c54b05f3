//! `$/progress` for long work: begin, report (percentage), end.

use crossbeam_channel::Sender;
use lsp_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressCreateParams, WorkDoneProgressEnd, WorkDoneProgressReport,
};

use super::{server::Server, transport::Outgoing};

/// One progress token's lifetime. Only created for clients that support `workDoneProgress`.
pub(crate) struct ProgressReporter {
    token: NumberOrString,
    last: (Option<u32>, Option<String>),
}

impl ProgressReporter {
    pub fn begin(server: &mut Server, title: &str, message: Option<String>) -> ProgressReporter {
        server.next_request_id += 1;
        let token = NumberOrString::String(format!("repolens/progress/{}", server.next_request_id));
        let create = WorkDoneProgressCreateParams { token: token.clone() };
        server.send_request("window/workDoneProgress/create", json(create));
        let begin = WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: title.to_owned(),
            cancellable: Some(false),
            message,
            percentage: Some(0),
        });
        send_progress(&server.sender, &token, begin);
        ProgressReporter { token, last: (Some(0), None) }
    }

    /// Reports unless nothing visible changed since the last report.
    pub fn report(&mut self, sender: &Sender<Outgoing>, message: Option<String>, percent: Option<u32>) {
        let percent = percent.map(|p| p.min(100));
        if (percent, &message) == (self.last.0, &self.last.1) {
            return;
        }
        self.last = (percent, message.clone());
        let report = WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(false),
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
