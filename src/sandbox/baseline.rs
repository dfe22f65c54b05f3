//! Baselines: the tests run on the unpatched workspace, so that a candidate is blamed only for
//! the failures it causes.
//!
//! A baseline is cached by a key over everything that shapes its result: the content of every
//! file the scratch copy would hold (with the overlays — unsaved buffers — in place of the files
//! on disk), the symlinks, the command (argv, kind, timeout, environment), the selection,
//! the interpreter's path, size and modification time, whether the network is isolated, and
//! repolens's version. Any change to those runs the baseline again. Cached runs live as JSON
//! under a cache directory the caller chooses, which must not be inside the workspace. Timed-out
//! runs are not cached (the machine may just have been busy).

use std::{
    collections::{BTreeSet, HashMap},
    io::Write as _,
    path::{Path, PathBuf},
};

use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3;

use super::scratch::workspace_relative;
use super::{
    Overlay, RunOutcome, SandboxError, SandboxOptions, Scratch, TestCommand, TestId, TestOutcome, TestRun,
    run_tests,
};
use crate::workspace::{TreeError, content_hash, list_tree};

/// Bump when the cached format or the key's inputs change.
const FORMAT: &str = "repolens-baseline-1";

/// Where baselines are kept.
#[derive(Clone, Debug)]
pub struct BaselineCache {
    dir: PathBuf,
}

impl BaselineCache {
    /// A cache in `dir` for the workspace at `root`; refused if `dir` is inside the workspace.
    pub fn new(dir: &Path, root: &Path) -> Result<BaselineCache, SandboxError> {
        let io = |what: &str, path: &Path, e| SandboxError::io(format!("{what} {}", path.display()), e);
        std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
        let dir = dir.canonicalize().map_err(|e| io("resolving", dir, e))?;
        let root = root.canonicalize().map_err(|e| io("resolving", root, e))?;
        if dir.starts_with(&root) {
            return Err(SandboxError::InsideWorkspace { what: "baseline cache", path: dir, root });
        }
        Ok(BaselineCache { dir })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("baseline-{key}.json"))
    }

    fn load(&self, key: &str) -> Option<TestRun> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(run) => Some(run),
            Err(err) => {
                tracing::warn!("ignoring a damaged cached baseline {}: {err}", self.path(key).display());
                None
            }
        }
    }

    fn store(&self, key: &str, run: &TestRun) {
        let path = self.path(key);
        let tmp = self.dir.join(format!(".baseline-{key}.{}.tmp", std::process::id()));
        let res = serde_json::to_vec(run).map_err(std::io::Error::other).and_then(|bytes| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            std::fs::rename(&tmp, &path)
        });
        if let Err(err) = res {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!("cannot cache the baseline {}: {err}", path.display());
        }
    }
}

/// The tests' result on the workspace without a candidate.
#[derive(Clone, Debug)]
pub struct Baseline {
    /// The cache key (hex).
    pub key: String,
    pub run: TestRun,
    /// Whether the run came from the cache.
    pub cached: bool,
}

impl Baseline {
    /// Runs (or reads from `cache`) the baseline of `root` with `overlays` applied.
    pub fn run(
        root: &Path,
        overlays: &[Overlay],
        command: &TestCommand,
        selection: &[TestId],
        options: &SandboxOptions,
        cache: Option<&BaselineCache>,
    ) -> Result<Baseline, SandboxError> {
        let listing = list_tree(root, options.cancel.flag()).map_err(|err| match err {
            TreeError::Cancelled => SandboxError::Cancelled,
            TreeError::Io { path, source } => SandboxError::io(format!("listing {}", path.display()), source),
        })?;
        let key = baseline_key(&listing, overlays, command, selection, options)?;
        if let Some(run) = cache.and_then(|c| c.load(&key)) {
            tracing::debug!("baseline {key} from the cache");
            return Ok(Baseline { key, run, cached: true });
        }
        let scratch = Scratch::from_listing(&listing, overlays, options)?;
        let run = run_tests(&scratch, command, selection, options)?;
        if let Some(cache) = cache
            && run.outcome != RunOutcome::TimedOut
        {
            cache.store(&key, &run);
        }
        Ok(Baseline { key, run, cached: false })
    }
}

fn baseline_key(
    listing: &crate::workspace::TreeListing,
    overlays: &[Overlay],
    command: &TestCommand,
    selection: &[TestId],
    options: &SandboxOptions,
) -> Result<String, SandboxError> {
    let root = &listing.root;
    // Overlay paths as the copy will place them (absolute paths inside the root made relative).
    let overlaid = overlays
        .iter()
        .map(|o| Ok((workspace_relative(root, &o.path)?, o.text.as_str())))
        .collect::<Result<HashMap<PathBuf, &str>, SandboxError>>()?;
    let hashes = listing
        .files
        .par_iter()
        .filter(|f| !overlaid.contains_key(&f.path))
        .map(|f| {
            if options.cancel.is_cancelled() {
                return Err(SandboxError::Cancelled);
            }
            match content_hash(&root.join(&f.path)) {
                Ok(hash) => Ok((f.path.as_path(), hash)),
                // Deleted since the listing: the copy will not have it either.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((f.path.as_path(), 0)),
                Err(e) => Err(SandboxError::io(format!("reading {}", f.path.display()), e)),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut entries: Vec<(&Path, u128)> = hashes;
    entries
        .extend(overlaid.iter().map(|(p, text)| (p.as_path(), xxhash_rust::xxh3::xxh3_128(text.as_bytes()))));
    entries.sort();

    let mut h = Xxh3::new();
    let mut field = |bytes: &[u8]| {
        // Length-prefixed so that adjacent fields cannot run into each other.
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(FORMAT.as_bytes());
    field(env!("CARGO_PKG_VERSION").as_bytes());
    field(&serde_json::to_vec(command).unwrap_or_default());
    for id in selection {
        field(id.as_str().as_bytes());
    }
    field(&[u8::from(options.network().is_available())]);
    field(interpreter_stamp(command).as_bytes());
    for (path, hash) in entries {
        field(path.as_os_str().as_encoded_bytes());
        field(&hash.to_le_bytes());
    }
    for (link, target) in &listing.symlinks {
        field(link.as_os_str().as_encoded_bytes());
        field(target.as_os_str().as_encoded_bytes());
    }
    Ok(format!("{:032x}", h.digest128()))
}

/// The program's resolved path, size and mtime: a different Python (or an upgraded one) may
/// give different results.
fn interpreter_stamp(command: &TestCommand) -> String {
    let program = command.program();
    let resolved = if program.components().count() > 1 {
        Some(program.clone())
    } else {
        super::command::find_on_path(&program.to_string_lossy())
    };
    let Some(path) = resolved.and_then(|p| p.canonicalize().ok()) else {
        return program.display().to_string();
    };
    let meta = std::fs::metadata(&path).ok();
    let mtime = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    format!("{}|{:?}|{:?}", path.display(), meta.map(|m| m.len()), mtime)
}

/// How a candidate's run differs from the baseline's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Regressions {
    /// Failing with the candidate; passing, or absent, in the baseline.
    pub newly_failing: Vec<TestId>,
    /// Failing in the baseline, passing with the candidate.
    pub fixed: Vec<TestId>,
    /// Failing in both.
    pub still_failing: Vec<TestId>,
    /// Passing in the baseline, absent with the candidate (its module no longer collects, or
    /// the run stopped early). Known only when both runs have per-test results.
    pub missing: Vec<TestId>,
    /// The candidate's run as a whole is worse: it timed out, errored or collected nothing
    /// where the baseline did not.
    pub run_regressed: bool,
}

impl Regressions {
    /// Nothing got worse.
    pub fn is_clean(&self) -> bool {
        self.newly_failing.is_empty() && self.missing.is_empty() && !self.run_regressed
    }
}

/// Compares a candidate's run with the baseline's, test by test.
pub fn compare(baseline: &TestRun, candidate: &TestRun) -> Regressions {
    fn with(run: &TestRun, pred: fn(TestOutcome) -> bool) -> BTreeSet<&TestId> {
        run.tests.iter().filter(|t| pred(t.outcome)).map(|t| &t.id).collect()
    }
    let base_failing = with(baseline, TestOutcome::is_failing);
    let cand_failing = with(candidate, TestOutcome::is_failing);
    let base_passing = with(baseline, |o| o == TestOutcome::Passed);
    let cand_seen: BTreeSet<&TestId> = candidate.tests.iter().map(|t| &t.id).collect();
    let cand_complete = matches!(candidate.outcome, RunOutcome::Passed | RunOutcome::Failed);
    let fixed: Vec<TestId> = base_failing
        .iter()
        .filter(|id| !cand_failing.contains(*id))
        .filter(|id| {
            // With every test reported, "fixed" means seen passing; with failures only, it
            // means no longer failing in a run that completed.
            match candidate.source {
                super::ResultSource::JUnit => {
                    candidate.tests.iter().any(|t| &&t.id == *id && t.outcome == TestOutcome::Passed)
                }
                _ => cand_complete,
            }
        })
        .map(|id| (*id).clone())
        .collect();
    let both_per_test =
        baseline.source == super::ResultSource::JUnit && candidate.source == super::ResultSource::JUnit;
    let rank = |o: RunOutcome| match o {
        RunOutcome::Passed | RunOutcome::Failed => 0,
        RunOutcome::NoTests => 1,
        RunOutcome::Error => 2,
        RunOutcome::TimedOut => 3,
    };
    Regressions {
        newly_failing: cand_failing.difference(&base_failing).map(|id| (*id).clone()).collect(),
        fixed,
        still_failing: cand_failing.intersection(&base_failing).map(|id| (*id).clone()).collect(),
        missing: if both_per_test || !cand_complete {
            base_passing.iter().filter(|id| !cand_seen.contains(*id)).map(|id| (*id).clone()).collect()
        } else {
            Vec::new()
        },
        run_regressed: rank(candidate.outcome) > rank(baseline.outcome),
    }
}
