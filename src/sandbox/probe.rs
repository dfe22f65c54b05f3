//! Call probes: a pytest run that also records which tests called given functions, so that a
//! generated test can be shown to exercise the function it was written for.
//!
//! The probe is a small pytest plugin (`call_probe.py`, embedded in the binary) that watches
//! function calls with `sys.setprofile` while each test runs. The sandbox writes it, with the
//! list of targets, into the scratch directory — outside the workspace, so the user's tree and
//! the project's own `conftest.py` files are untouched — puts that directory first on
//! `PYTHONPATH`, and loads it with `-p repolens_call_probe`. After the run the plugin's report
//! becomes [`TestRun::calls`](super::TestRun). Chosen over coverage (not always installed, and a
//! line that ran is not a call of the function) and over a `sitecustomize` (which every Python
//! process would import, including ones the tests start).
//!
//! Only pytest commands take the plugin; for other commands the run has no report, and a caller
//! that needs one treats that as "not shown".

use std::{
    collections::BTreeMap,
    ffi::OsString,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::SandboxError;

const PLUGIN: &str = include_str!("call_probe.py");
const MODULE: &str = "repolens_call_probe";

/// A function whose calls are recorded.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProbeTarget {
    /// Workspace-relative path of the file defining it.
    pub file: PathBuf,
    /// Its dotted qualified name in that file (`Stats.mean`; nested functions are
    /// `outer.<locals>.inner`, as Python names them).
    pub qualname: String,
}

/// The functions a run should watch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallProbe {
    pub targets: Vec<ProbeTarget>,
}

/// What a probed run saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallReport {
    /// For every test that ran (pytest node id), the targets it called (qualified names).
    pub tests: BTreeMap<String, Vec<String>>,
}

impl CallReport {
    /// Tests that called `qualname`.
    pub fn callers_of<'a>(&'a self, qualname: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.tests
            .iter()
            .filter(move |(_, called)| called.iter().any(|c| c == qualname))
            .map(|(t, _)| t.as_str())
    }
}

/// The files of one probed run, in the scratch directory.
pub(crate) struct ProbeFiles {
    dir: PathBuf,
    config: PathBuf,
    out: PathBuf,
}

impl ProbeFiles {
    /// Writes the plugin and the targets for one run under `scratch_dir`.
    pub(crate) fn write(scratch_dir: &Path, probe: &CallProbe) -> Result<ProbeFiles, SandboxError> {
        // Runs in one scratch copy get their own files.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = scratch_dir.join("probe");
        let io = |what: &str, path: &Path, e| SandboxError::io(format!("{what} {}", path.display()), e);
        std::fs::create_dir_all(&dir).map_err(|e| io("creating", &dir, e))?;
        let plugin = dir.join(format!("{MODULE}.py"));
        std::fs::write(&plugin, PLUGIN).map_err(|e| io("writing", &plugin, e))?;
        let config = dir.join(format!("targets-{n}.json"));
        let targets = json!({ "targets": probe.targets });
        std::fs::write(&config, targets.to_string()).map_err(|e| io("writing", &config, e))?;
        let out = dir.join(format!("calls-{n}.json"));
        let _ = std::fs::remove_file(&out);
        Ok(ProbeFiles { dir, config, out })
    }

    /// The pytest options that load the plugin.
    pub(crate) fn args() -> [String; 2] {
        ["-p".to_owned(), MODULE.to_owned()]
    }

    /// Sets the plugin's variables and puts its directory first on `PYTHONPATH`.
    pub(crate) fn apply_env(&self, env: &mut Vec<(OsString, OsString)>) {
        let mut path = self.dir.clone().into_os_string();
        if let Some(at) = env.iter().position(|(k, _)| k == "PYTHONPATH") {
            let (_, existing) = env.remove(at);
            if !existing.is_empty() {
                path.push(":");
                path.push(existing);
            }
        }
        env.push(("PYTHONPATH".into(), path));
        env.push(("REPOLENS_PROBE_CONFIG".into(), self.config.clone().into_os_string()));
        env.push(("REPOLENS_PROBE_OUT".into(), self.out.clone().into_os_string()));
    }

    /// The plugin's report; `None` if it wrote none (pytest never configured it, or crashed).
    pub(crate) fn read(&self) -> Option<CallReport> {
        let text = std::fs::read_to_string(&self.out).ok()?;
        let _ = std::fs::remove_file(&self.out);
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) => {
                serde_json::from_value(value["tests"].clone()).ok().map(|tests| CallReport { tests })
            }
            Err(err) => {
                tracing::warn!("ignoring a damaged call report {}: {err}", self.out.display());
                None
            }
        }
    }
}
