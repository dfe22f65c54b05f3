//! `textDocument/publishDiagnostics`: risk diagnostics and smells pushed to clients that do not
//! pull (for every file once the risk table is built with history, again when new commits
//! rescore it, and for an edited document right after each edit), and the conversions the pull
//! handlers (`document_diagnostic.rs`, `workspace_diagnostic.rs`) share. Clients that pull get no
//! pushes (only `workspace/diagnostic/refresh` when the table changes), so nothing is reported
//! twice.
//!
//! Diagnostics are computed on workers from a snapshot and published by the main loop, which
//! drops results for a document version that is no longer current. At most one job per document
//! runs at a time; edits that arrive meanwhile rerun it once it finishes.

use std::time::{Duration, Instant};

use lsp_types::PublishDiagnosticsParams;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::{
    analysis::{Analysis, RiskStats},
    config::RiskConfig,
    lsp::{
        server::{Server, Task},
        to_proto,
    },
    text::PositionEncoding,
    workspace::FileId,
};

/// What the main loop knows about published diagnostics.
#[derive(Default)]
pub(crate) struct DiagnosticsState {
    /// Files whose last push was not empty (they must be cleared when that changes).
    published: FxHashSet<FileId>,
    /// Files with a job running, and whether another edit came in meanwhile.
    running: FxHashMap<FileId, bool>,
    /// History has been read (or found missing) at least once: before that, scores would change
    /// as soon as it arrives, so nothing is published.
    history_settled: bool,
    /// The latest rescore asked for (history changed), and the latest one a full scoring has
    /// reported seeing: the table is stale while they differ.
    rescore_requested: u64,
    rescore_done: u64,
    /// A workspace-wide push is running.
    full_running: bool,
}

/// What a diagnostics job computed: per file, the document version (for open documents) and
/// the diagnostics, converted.
pub(crate) struct DiagnosticsResult {
    items: Vec<(FileId, lsp_types::Url, Option<i32>, Vec<lsp_types::Diagnostic>)>,
    /// Every file was computed: files published before and absent now are cleared.
    full: bool,
    /// The one document this job was for (edits), and when its latest edit was applied.
    document: Option<(FileId, Instant)>,
}

impl Server {
    fn pushes_diagnostics(&self) -> bool {
        self.config.risk.enabled && !self.client.pull_diagnostics
    }

    pub(crate) fn on_risk_scored(&mut self, stats: RiskStats, elapsed: Duration, rescore_seen: u64) {
        tracing::info!(
            "risk: {} files, {} functions ranked ({} analyzed, history {}) in {:.0} ms",
            stats.files,
            stats.functions,
            stats.analyzed,
            if stats.with_history { "on" } else { "off" },
            elapsed.as_secs_f64() * 1000.0
        );
        match stats.changed {
            None => {
                self.diagnostics.rescore_done = self.diagnostics.rescore_done.max(rescore_seen);
                self.publish_all_diagnostics();
            }
            Some(changed) => {
                if !self.diagnostics.history_settled {
                    return;
                }
                let snapshot = self.host.snapshot();
                for path in changed {
                    if let Some(file) = snapshot.file_for_rel_path(&path) {
                        self.refresh_diagnostics(file);
                    }
                }
            }
        }
    }

    /// History was read (or found missing) for every root.
    pub(crate) fn on_history_settled(&mut self) {
        self.diagnostics.history_settled = true;
        self.publish_all_diagnostics();
    }

    /// A root's history changed: the risk table must be scored again.
    pub(crate) fn request_rescore(&mut self) {
        if let Some(model) = &self.model {
            self.diagnostics.rescore_requested += 1;
            model.send(crate::analysis::ModelUpdate::Rescore(self.diagnostics.rescore_requested));
        }
    }

    /// Every file's diagnostics, once the table is built with history: pushed, or announced with
    /// `workspace/diagnostic/refresh` to clients that pull.
    pub(crate) fn publish_all_diagnostics(&mut self) {
        let ready = self.diagnostics.history_settled
            && self.diagnostics.rescore_done == self.diagnostics.rescore_requested
            && self.host.model().risk.read().is_some();
        if !ready || !self.config.risk.enabled {
            return;
        }
        if self.client.pull_diagnostics {
            if self.client.diagnostic_refresh {
                self.send_request("workspace/diagnostic/refresh", serde_json::Value::Null);
            }
            return;
        }
        if self.diagnostics.full_running {
            return;
        }
        self.diagnostics.full_running = true;
        let snap = self.snapshot();
        let tasks = self.task_sender.clone();
        self.workers.spawn(move || {
            let items = all_diagnostics(&snap.analysis, &snap.risk, snap.encoding);
            let _ = tasks.send(Task::Diagnostics(DiagnosticsResult { items, full: true, document: None }));
        });
    }

    /// Recomputes one file's diagnostics (an edited or opened document, a changed file) and
    /// pushes them; a job already running for it reruns when it finishes.
    pub(crate) fn refresh_diagnostics(&mut self, file: FileId) {
        if !self.pushes_diagnostics() || !self.diagnostics.history_settled {
            return;
        }
        if let Some(rerun) = self.diagnostics.running.get_mut(&file) {
            *rerun = true;
            return;
        }
        self.diagnostics.running.insert(file, false);
        let snap = self.snapshot();
        let tasks = self.task_sender.clone();
        let applied = Instant::now();
        self.workers.spawn(move || {
            let items =
                file_diagnostics(&snap.analysis, file, &snap.risk, snap.encoding).into_iter().collect();
            let _ = tasks.send(Task::Diagnostics(DiagnosticsResult {
                items,
                full: false,
                document: Some((file, applied)),
            }));
        });
    }

    pub(crate) fn on_diagnostics(&mut self, result: DiagnosticsResult) {
        if result.full {
            self.diagnostics.full_running = false;
        }
        let mut seen = FxHashSet::default();
        for (file, uri, version, diagnostics) in result.items {
            seen.insert(file);
            // A newer edit made these stale; its own job publishes.
            if version.is_some() && self.host.live_version(file) != version {
                continue;
            }
            // A full push does not overwrite what an edit's job published for an open document.
            if result.full && self.host.is_open(file) && version.is_none() {
                continue;
            }
            if diagnostics.is_empty() && !self.diagnostics.published.remove(&file) {
                continue;
            }
            if !diagnostics.is_empty() {
                self.diagnostics.published.insert(file);
            }
            self.publish(uri, version, diagnostics);
        }
        if result.full {
            let gone: Vec<FileId> =
                self.diagnostics.published.iter().filter(|f| !seen.contains(f)).copied().collect();
            let snapshot = self.host.snapshot();
            for file in gone {
                self.diagnostics.published.remove(&file);
                if let Some(uri) = to_proto::url(&snapshot.path(file)) {
                    self.publish(uri, None, Vec::new());
                }
            }
        }
        if let Some((file, applied)) = result.document {
            tracing::debug!(
                "diagnostics for {:?} published {:.1} ms after the edit",
                file,
                applied.elapsed().as_secs_f64() * 1000.0
            );
            if self.diagnostics.running.remove(&file) == Some(true) {
                self.refresh_diagnostics(file);
            }
        }
    }

    fn publish(&self, uri: lsp_types::Url, version: Option<i32>, diagnostics: Vec<lsp_types::Diagnostic>) {
        let params = PublishDiagnosticsParams { uri, diagnostics, version };
        self.send_notification(
            "textDocument/publishDiagnostics",
            serde_json::to_value(params).unwrap_or_default(),
        );
    }
}

/// One file's diagnostics, converted; `None` when the file is unknown to the risk table.
pub(super) fn file_diagnostics(
    analysis: &Analysis,
    file: FileId,
    config: &RiskConfig,
    encoding: PositionEncoding,
) -> Option<(FileId, lsp_types::Url, Option<i32>, Vec<lsp_types::Diagnostic>)> {
    let uri = to_proto::url(&analysis.path(file))?;
    let Some(found) = analysis.risk_diagnostics(file, config) else {
        // Not in the table (yet): report nothing rather than keep stale diagnostics.
        return Some((file, uri, analysis.document(file).map(|d| d.document.version()), Vec::new()));
    };
    let items = found
        .diagnostics
        .iter()
        .map(|d| to_proto::diagnostic(d, &found.summary.line_index, encoding))
        .collect();
    Some((file, uri, found.version, items))
}

/// Every file the table knows, with its diagnostics (empty ones included).
pub(super) fn all_diagnostics(
    analysis: &Analysis,
    config: &RiskConfig,
    encoding: PositionEncoding,
) -> Vec<(FileId, lsp_types::Url, Option<i32>, Vec<lsp_types::Diagnostic>)> {
    let Some(table) = analysis.risk_table() else { return Vec::new() };
    let mut files: Vec<FileId> =
        table.files().filter_map(|f| analysis.file_for_rel_path(&f.rel_path)).collect();
    files.sort();
    files.into_iter().filter_map(|file| file_diagnostics(analysis, file, config, encoding)).collect()
}

/// A result id for a set of diagnostics: equal ids mean equal reports.
pub(super) fn result_id(diagnostics: &[lsp_types::Diagnostic]) -> String {
    let text = serde_json::to_string(diagnostics).unwrap_or_default();
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}
