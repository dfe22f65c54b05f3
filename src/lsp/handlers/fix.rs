//! `repolens.fix` ("Fix with tested patch…"): plans the fix on the snapshot, runs the repair loop
//! on a worker with `$/progress` ("localizing", "generating candidates", "testing 2/3",
//! "selected"), then offers the winner with `workspace/applyEdit` — versioned `documentChanges`
//! for open documents and a change annotation saying what was tested — and waits for the
//! client's answer. A rejected edit (`applied: false`, e.g. the document changed meanwhile) is
//! reported, never retried; with no winner the user is told why and gets the best diff.
//! `repolens.generateTest` follows the same path for a new test file.

use std::{cell::RefCell, collections::HashMap, time::Duration};

use lsp_server::{ErrorCode, RequestId};
use lsp_types::{
    AnnotatedTextEdit, ApplyWorkspaceEditParams, ApplyWorkspaceEditResponse, ChangeAnnotation, CreateFile,
    DocumentChangeOperation, DocumentChanges, MessageType, NumberOrString, OneOf,
    OptionalVersionedTextDocumentIdentifier, ResourceOp, ShowMessageParams, TextDocumentEdit, TextEdit, Url,
    WorkspaceEdit,
};
use serde_json::Value;

use crate::{
    analysis::{Cancelled, FixError, FixRequest, run_fix, run_test_generation},
    lsp::{
        dispatch::{LspError, LspResult},
        ext::{FIX_COMMAND, FixArgs, FixResult, GENERATE_TEST_COMMAND},
        from_proto,
        progress::ProgressReporter,
        server::ServerSnapshot,
        to_proto,
        transport::Outgoing,
    },
    repair::{FileChange, RepairEvent, RepairOutcome},
    stdx::CancelToken,
    text::{LineIndex, TextRange},
};

/// How long the client may take to answer `workspace/applyEdit` (it may show a preview).
const APPLY_TIMEOUT: Duration = Duration::from_secs(600);
const ANNOTATION: &str = "repolens.tested";

pub(crate) fn run_fix_command(
    snap: &ServerSnapshot,
    arguments: Vec<Value>,
    token: Option<NumberOrString>,
    cancel: &CancelToken,
) -> LspResult<FixResult> {
    let request = fix_request(snap, FIX_COMMAND, arguments)?;
    let analysis = &snap.analysis;

    let progress = RefCell::new(snap.request.as_ref().and_then(|id| {
        ProgressReporter::for_request(&snap.sender, id, token, snap.client.work_done_progress, "Fixing")
    }));
    let report = |message: String| {
        if let Some(progress) = progress.borrow_mut().as_mut() {
            progress.report(&snap.sender, Some(message), None);
        }
    };
    report("localizing".to_owned());
    let model = snap.llm.as_ref().map(|client| client.config().clone());
    let result = analysis.plan_fix(&request, model.is_some()).and_then(|job| {
        let on_event = |event: RepairEvent| {
            let message = match event {
                RepairEvent::Generating { round: 0 } => "generating candidates".to_owned(),
                RepairEvent::Generating { round } => format!("round {}: generating candidates", round + 1),
                RepairEvent::Baseline { .. } => "running the tests on the unpatched code".to_owned(),
                RepairEvent::Testing { candidates, .. } => format!("testing {candidates} candidates"),
                RepairEvent::Tested { done, total } => format!("testing {done}/{total}"),
                RepairEvent::Wider { finalists } => format!("whole suite for {finalists} finalists"),
                RepairEvent::Selected { winner: Some(_) } => "selected".to_owned(),
                RepairEvent::Selected { winner: None } => "no candidate passed".to_owned(),
            };
            report(message);
        };
        // A copy, so the model thread can keep updating the graph during the test runs.
        let graph = analysis.model().graph.read().clone();
        let outcome = run_fix(&job, &graph, model.clone(), cancel.clone(), &on_event)?;
        Ok((job, outcome))
    });
    let finish = |message: &str| {
        if let Some(progress) = progress.borrow_mut().take() {
            progress.end(&snap.sender, Some(message.to_owned()));
        }
    };
    let (job, outcome) = match result {
        Ok(done) => done,
        Err(err) => {
            finish(&err.to_string());
            if cancel.is_cancelled() {
                return Err(LspError::from(Cancelled));
            }
            return match err {
                FixError::NotInWorkspace | FixError::NothingToTry(_) => {
                    Err(LspError::new(ErrorCode::InvalidParams, err.to_string()))
                }
                _ => Err(LspError::new(ErrorCode::InternalError, format!("the fix failed: {err}"))),
            };
        }
    };
    if cancel.is_cancelled() {
        finish("cancelled");
        return Err(LspError::from(Cancelled));
    }
    let candidates = outcome.evaluated.len();
    let Some(winner) = outcome.winner() else {
        let message = no_winner_message(&outcome);
        finish("no candidate passed");
        show_message(snap, MessageType::WARNING, &message);
        let diff = outcome.best().map(|best| best.candidate.diff());
        return Ok(FixResult { status: "noWinner".to_owned(), message, diff, candidates });
    };
    let evidence = winner.evidence();
    let diff = Some(winner.candidate.diff());
    finish("selected");
    let label = format!("repolens: {}", winner.candidate.description);
    let edit = workspace_edit(
        snap,
        &job.root,
        job.version,
        &job.rel_path,
        &winner.candidate.changes,
        &label,
        &evidence,
    )
    .ok_or_else(|| LspError::new(ErrorCode::InternalError, "cannot express the patch as an edit"))?;
    let applied = format!("Applied {}. Tested: {evidence}", winner.candidate.description);
    let declined = |why: &str| {
        format!(
            "The tested patch was not applied ({why}). If the file changed since the fix started, run the fix again."
        )
    };
    offer(snap, Offer { label, edit, evidence, applied, diff, candidates }, &declined, cancel)
}

/// The command's `[FixArgs]` as a request on the snapshot.
fn fix_request(snap: &ServerSnapshot, command: &str, arguments: Vec<Value>) -> LspResult<FixRequest> {
    let args: FixArgs =
        arguments.into_iter().next().and_then(|a| serde_json::from_value(a).ok()).ok_or_else(|| {
            LspError::new(ErrorCode::InvalidParams, format!("{command}: expected [{{uri, range}}]"))
        })?;
    let analysis = &snap.analysis;
    let file = analysis
        .file_id(&from_proto::vfs_path(&args.uri))
        .ok_or_else(|| LspError::new(ErrorCode::InvalidParams, format!("unknown document {}", args.uri)))?;
    let start = from_proto::offset(analysis, file, args.range.start, snap.encoding).unwrap_or(0);
    let end = from_proto::offset(analysis, file, args.range.end, snap.encoding).unwrap_or(start);
    Ok(FixRequest { file, range: TextRange::new(start, end.max(start)), problem: args.problem })
}

/// `repolens.generateTest`: the model's test files for the function, run in the sandbox; the
/// first that passes on the current code and calls the function is offered as a new file.
pub(crate) fn run_generate_test_command(
    snap: &ServerSnapshot,
    arguments: Vec<Value>,
    token: Option<NumberOrString>,
    cancel: &CancelToken,
) -> LspResult<FixResult> {
    let request = fix_request(snap, GENERATE_TEST_COMMAND, arguments)?;
    let Some(model) = snap.llm.as_ref().map(|client| client.config().clone()) else {
        return Err(LspError::new(
            ErrorCode::InvalidParams,
            "tests are written by a model and none is configured (initializationOptions.llm, .repolens.toml [llm] or REPOLENS_LLM_BASE_URL)",
        ));
    };
    let mut progress = snap.request.as_ref().and_then(|id| {
        ProgressReporter::for_request(
            &snap.sender,
            id,
            token,
            snap.client.work_done_progress,
            "Writing a test",
        )
    });
    if let Some(progress) = progress.as_mut() {
        progress.report(&snap.sender, Some("generating and running test candidates".to_owned()), None);
    }
    let result = snap.analysis.plan_fix(&request, true).and_then(|job| {
        let graph = snap.analysis.model().graph.read().clone();
        run_test_generation(&job, &graph, model, cancel.clone()).map(|done| (job, done))
    });
    let end = |progress: Option<ProgressReporter>, message: &str| {
        if let Some(progress) = progress {
            progress.end(&snap.sender, Some(message.to_owned()));
        }
    };
    let (job, (task, outcome)) = match result {
        Ok(done) => done,
        Err(err) => {
            end(progress, &err.to_string());
            if cancel.is_cancelled() {
                return Err(LspError::from(Cancelled));
            }
            return Err(LspError::new(ErrorCode::InvalidParams, err.to_string()));
        }
    };
    let candidates = outcome.evaluated.len();
    let Some(winner) = outcome.winner() else {
        end(progress, "no test passed");
        let reasons: Vec<String> = outcome
            .evaluated
            .iter()
            .filter_map(|e| e.reason.clone())
            .chain(outcome.notes.iter().cloned())
            .collect();
        let message = format!(
            "No generated test for `{}` both passed and called it: {}",
            task.qualname,
            if reasons.is_empty() { "no candidates".to_owned() } else { reasons.join("; ") }
        );
        show_message(snap, MessageType::WARNING, &message);
        return Ok(FixResult { status: "noWinner".to_owned(), message, diff: None, candidates });
    };
    end(progress, "selected");
    let evidence = format!(
        "{} passes on the current code and calls `{}` ({})",
        task.test_path.display(),
        task.qualname,
        winner.calling.join(", ")
    );
    let label = format!("repolens: a test for {}", task.qualname);
    let edit =
        workspace_edit(snap, &job.root, None, &task.test_path, &winner.candidate.changes, &label, &evidence)
            .ok_or_else(|| {
                LspError::new(ErrorCode::InternalError, "cannot express the test file as an edit")
            })?;
    let diff = Some(winner.candidate.diff());
    let applied = format!("Added {}. Tested: {evidence}", task.test_path.display());
    let declined = |why: &str| format!("The generated test was not added ({why}).");
    offer(snap, Offer { label, edit, evidence, applied, diff, candidates }, &declined, cancel)
}

/// A selected edit and what to say about it.
struct Offer {
    label: String,
    edit: WorkspaceEdit,
    evidence: String,
    /// The message when the editor applies it.
    applied: String,
    diff: Option<String>,
    candidates: usize,
}

/// Offers the edit with `workspace/applyEdit` and reports the editor's answer: a refusal is
/// shown (with `declined(reason)`) and never retried.
fn offer(
    snap: &ServerSnapshot,
    offer: Offer,
    declined: &dyn Fn(&str) -> String,
    cancel: &CancelToken,
) -> LspResult<FixResult> {
    let Offer { label, edit, evidence, applied, diff, candidates } = offer;
    if !snap.client.apply_edit {
        let message = format!("A tested edit is ready but this editor cannot apply edits: {evidence}");
        show_message(snap, MessageType::INFO, &message);
        return Ok(FixResult { status: "rejected".to_owned(), message, diff, candidates });
    }
    let response = apply_edit(snap, label, edit, cancel)?;
    let (status, message) = if response.applied {
        ("applied", applied)
    } else {
        let message = declined(response.failure_reason.as_deref().unwrap_or("the editor declined it"));
        show_message(snap, MessageType::WARNING, &message);
        ("rejected", message)
    };
    Ok(FixResult { status: status.to_owned(), message, diff, candidates })
}

/// Why nothing won, in one message: each tried candidate's failure.
fn no_winner_message(outcome: &RepairOutcome) -> String {
    if outcome.evaluated.is_empty() {
        let notes = outcome.notes.join("; ");
        return format!(
            "No candidate could be tested{}",
            if notes.is_empty() { String::new() } else { format!(": {notes}") }
        );
    }
    let reasons: Vec<String> = outcome
        .ranking
        .iter()
        .map(|&i| &outcome.evaluated[i])
        .map(|e| {
            let why = e.failure.map(|f| f.as_str().to_owned()).unwrap_or_else(|| "regressions".to_owned());
            format!("{} ({why})", e.candidate.description)
        })
        .collect();
    format!(
        "No candidate passed the tests: {}. The best candidate's diff is in the result.",
        reasons.join("; ")
    )
}

/// The winner as a workspace edit: one replacement of the changed span per file (versioned when
/// the client takes `documentChanges`), annotated with what was tested.
fn workspace_edit(
    snap: &ServerSnapshot,
    root: &std::path::Path,
    version: Option<i32>,
    task_file: &std::path::Path,
    changes: &[FileChange],
    label: &str,
    evidence: &str,
) -> Option<WorkspaceEdit> {
    let annotated = snap.client.change_annotations;
    let mut operations = Vec::new();
    let mut plain: HashMap<Url, Vec<TextEdit>> = HashMap::new();
    for change in changes {
        let uri = Url::from_file_path(root.join(&change.path)).ok()?;
        let before = change.before.as_deref().unwrap_or("");
        let edit = minimal_edit(before, &change.after, snap);
        if change.before.is_none() {
            operations.push(DocumentChangeOperation::Op(ResourceOp::Create(CreateFile {
                uri: uri.clone(),
                options: None,
                annotation_id: annotated.then(|| ANNOTATION.to_owned()),
            })));
        }
        let doc_version = if change.path == task_file { version } else { None };
        let edits = vec![if annotated {
            OneOf::Right(AnnotatedTextEdit { text_edit: edit.clone(), annotation_id: ANNOTATION.to_owned() })
        } else {
            OneOf::Left(edit.clone())
        }];
        operations.push(DocumentChangeOperation::Edit(TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier { uri: uri.clone(), version: doc_version },
            edits,
        }));
        plain.entry(uri).or_default().push(edit);
    }
    if !snap.client.document_changes {
        return Some(WorkspaceEdit { changes: Some(plain), ..WorkspaceEdit::default() });
    }
    let annotations = annotated.then(|| {
        HashMap::from([(
            ANNOTATION.to_owned(),
            ChangeAnnotation {
                label: label.to_owned(),
                // Clients that support it (VS Code) show a preview before applying.
                needs_confirmation: Some(true),
                description: Some(format!("Tested: {evidence}")),
            },
        )])
    });
    Some(WorkspaceEdit {
        document_changes: Some(DocumentChanges::Operations(operations)),
        change_annotations: annotations,
        ..WorkspaceEdit::default()
    })
}

/// One edit replacing only the span where `before` and `after` differ.
fn minimal_edit(before: &str, after: &str, snap: &ServerSnapshot) -> TextEdit {
    let prefix = before.bytes().zip(after.bytes()).take_while(|(a, b)| a == b).count();
    let mut prefix = prefix;
    while !before.is_char_boundary(prefix) || !after.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = (before.len() - prefix).min(after.len() - prefix);
    let mut suffix =
        before.bytes().rev().zip(after.bytes().rev()).take(max_suffix).take_while(|(a, b)| a == b).count();
    while !before.is_char_boundary(before.len() - suffix) || !after.is_char_boundary(after.len() - suffix) {
        suffix -= 1;
    }
    let index = LineIndex::new(before);
    let range = TextRange::new(prefix as u32, (before.len() - suffix) as u32);
    TextEdit {
        range: to_proto::range(&index, range, snap.encoding),
        new_text: after[prefix..after.len() - suffix].to_owned(),
    }
}

/// Sends `workspace/applyEdit` and waits for the client's answer.
fn apply_edit(
    snap: &ServerSnapshot,
    label: String,
    edit: WorkspaceEdit,
    cancel: &CancelToken,
) -> LspResult<ApplyWorkspaceEditResponse> {
    let id = RequestId::from(format!(
        "repolens/applyEdit/{}",
        snap.request.as_ref().map(|id| id.to_string()).unwrap_or_default()
    ));
    let (sender, receiver) = crossbeam_channel::bounded(1);
    snap.replies.lock().insert(id.clone(), sender);
    let params = ApplyWorkspaceEditParams { label: Some(label), edit };
    let request = lsp_server::Request::new(
        id.clone(),
        "workspace/applyEdit".to_owned(),
        serde_json::to_value(params).unwrap_or_default(),
    );
    let _ = snap.sender.send(Outgoing::Message(request.into()));
    let deadline = std::time::Instant::now() + APPLY_TIMEOUT;
    let response = loop {
        match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok(response) => break response,
            Err(_) if cancel.is_cancelled() || std::time::Instant::now() > deadline => {
                snap.replies.lock().remove(&id);
                if cancel.is_cancelled() {
                    return Err(LspError::from(Cancelled));
                }
                return Err(LspError::new(
                    ErrorCode::InternalError,
                    "the editor never answered workspace/applyEdit",
                ));
            }
            Err(_) => {}
        }
    };
    if let Some(err) = response.error {
        return Ok(ApplyWorkspaceEditResponse {
            applied: false,
            failure_reason: Some(err.message),
            failed_change: None,
        });
    }
    Ok(serde_json::from_value(response.result.unwrap_or_default()).unwrap_or(ApplyWorkspaceEditResponse {
        applied: false,
        failure_reason: None,
        failed_change: None,
    }))
}

fn show_message(snap: &ServerSnapshot, typ: MessageType, message: &str) {
    let params = ShowMessageParams { typ, message: message.to_owned() };
    let notification = lsp_server::Notification::new(
        "window/showMessage".to_owned(),
        serde_json::to_value(params).unwrap_or_default(),
    );
    let _ = snap.sender.send(Outgoing::Message(notification.into()));
}
