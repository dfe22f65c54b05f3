//! Risk queries on a snapshot: a file's diagnostics, the breakdown a hover shows, the
//! explanation behind "Explain risk".
//!
//! An open document is analyzed from its current tree (already parsed by the edit) and scored
//! against the repository's table as it is, so its diagnostics follow every edit without waiting
//! for the model thread; a file that is not open is read from the table.

use std::{path::Path, sync::Arc};

use super::Analysis;
use crate::{
    config::RiskConfig,
    risk::{
        FileRisk, FunctionRisk, RiskDiagnostic, RiskTable, analyze_code, file_diagnostics, function_breakdown,
    },
    syntax::FileSummary,
    workspace::{FileId, VfsPath},
};

/// A file's risk, as scored for this snapshot.
pub struct FileRiskView {
    pub table: Arc<RiskTable>,
    pub file: Arc<FileRisk>,
    /// The open document's version it was computed from (`None`: the file on disk).
    pub version: Option<i32>,
    /// Lines of the text the ranges point into.
    pub summary: Arc<FileSummary>,
}

/// A file's diagnostics, with what converting their ranges needs.
pub struct FileDiagnostics {
    pub diagnostics: Vec<RiskDiagnostic>,
    pub version: Option<i32>,
    pub summary: Arc<FileSummary>,
}

impl Analysis {
    /// The workspace-relative path of a file under one of the roots.
    pub fn rel_path(&self, file: FileId) -> Option<String> {
        let path = self.path(file);
        let path = path.as_disk()?;
        let relative = self.roots.iter().find_map(|root| path.strip_prefix(root).ok())?;
        Some(relative.to_string_lossy().replace('\\', "/"))
    }

    /// The file a workspace-relative path names, if the workspace knows it.
    pub fn file_for_rel_path(&self, rel_path: &str) -> Option<FileId> {
        self.roots.iter().find_map(|root| self.file_id(&VfsPath::Disk(root.join(Path::new(rel_path)))))
    }

    /// The risk table, once the model has built it.
    pub fn risk_table(&self) -> Option<Arc<RiskTable>> {
        self.model.risk()
    }

    /// A file's risk: an open document re-analyzed as it is now, else the table's entry.
    pub fn file_risk(&self, file: FileId) -> Option<FileRiskView> {
        let table = self.model.risk()?;
        let rel_path = self.rel_path(file)?;
        let summary = self.file_summary(file)?;
        match self.document(file) {
            Some(doc) => {
                let (language, tree) = (doc.language?, doc.tree.as_ref()?);
                let text = doc.document.text();
                let code = analyze_code(self.languages.get(language), tree, &text);
                let scored = table.score_file(&rel_path, Arc::new(code));
                Some(FileRiskView {
                    table,
                    file: Arc::new(scored),
                    version: Some(doc.document.version()),
                    summary,
                })
            }
            None => {
                let file = table.file(&rel_path)?.clone();
                Some(FileRiskView { table, file, version: None, summary })
            }
        }
    }

    /// A file's risk diagnostics and smells under `config`.
    pub fn risk_diagnostics(&self, file: FileId, config: &RiskConfig) -> Option<FileDiagnostics> {
        let view = self.file_risk(file)?;
        Some(FileDiagnostics {
            diagnostics: file_diagnostics(&view.table, &view.file, config),
            version: view.version,
            summary: view.summary,
        })
    }

    /// The breakdown of the flagged function whose name is at `offset` (a hover), if any.
    pub fn risk_hover(&self, file: FileId, offset: u32, config: &RiskConfig) -> Option<String> {
        if !config.enabled {
            return None;
        }
        let view = self.file_risk(file)?;
        let function = view
            .file
            .functions
            .iter()
            .find(|f| f.name_range.start <= offset && offset <= f.name_range.end)?;
        is_flagged(&view.table, &view.file, function, config)
            .then(|| function_breakdown(&view.table, &view.file, function))
    }

    /// The breakdown of a function by qualified name (what "Explain risk" opens), flagged or not.
    pub fn risk_explanation(&self, file: FileId, qual: &str) -> Option<String> {
        let view = self.file_risk(file)?;
        let function = view.file.function(qual)?;
        Some(function_breakdown(&view.table, &view.file, function))
    }
}

/// Whether a function is among those `file_diagnostics` flags.
fn is_flagged(table: &RiskTable, file: &FileRisk, function: &FunctionRisk, config: &RiskConfig) -> bool {
    file_diagnostics(table, file, config).iter().any(|d| {
        matches!(&d.kind, crate::risk::DiagnosticKind::Risk { qual, .. } if *qual == function.qual)
            && d.range == function.name_range
    })
}
