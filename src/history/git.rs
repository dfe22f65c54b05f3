//! Running git: one owned child per call, a timeout and a cancellation flag on every call, and
//! an environment that makes git's output the same on every machine.
//!
//! Each call runs under `std::thread::scope`: a watchdog thread owns the child, polls for its
//! exit, and kills it when it times out or the cancellation token is set, so no child outlives
//! the call that started it. The timeout is how long git may keep the reader waiting: it runs
//! from the start, and again from each chunk of output, so a hung git is killed after `timeout`
//! while a long read that keeps streaming (a `cat-file` feeding parsers for a minute) is not. stdout is handed to the caller as a stream (history output
//! can be tens of megabytes), stderr is kept (capped) for the error message, and optional stdin
//! is written from its own thread so that a chatty child (`cat-file --batch`) cannot deadlock us.
//!
//! The environment: every `GIT_*` variable that could point git at another repository, inject
//! configuration or change the output (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_CONFIG_PARAMETERS`,
//! `GIT_EXTERNAL_DIFF`, ...) is removed; `GIT_TERMINAL_PROMPT=0` (never wait for a password),
//! `GIT_PAGER=cat`, `LC_ALL=C` (stable messages, which we classify), `GIT_OPTIONAL_LOCKS=0`.
//! The user's own config files are still read (they may hold `safe.directory`), so every knob
//! that changes output (`core.quotePath`, colour, external diff, textconv, diff prefixes, diff
//! algorithm) is pinned on the command line by the callers.

use std::{
    ffi::OsStr,
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use super::HistoryError;
use crate::stdx::CancelToken;

/// `GIT_*` variables passed through: where git itself and the user's config files live, and
/// where the user wants repository discovery to stop. Everything else starting with `GIT_` is
/// removed.
const KEPT_GIT_VARS: &[&str] = &[
    "GIT_EXEC_PATH",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
];

/// stderr beyond this is dropped; error messages only need the first lines.
const STDERR_CAP: usize = 16 * 1024;

/// A repository, found from a directory inside it (or a bare repository's own directory).
#[derive(Clone, Debug)]
pub(crate) struct Git {
    program: PathBuf,
    git_dir: PathBuf,
    /// The work tree's top directory; `None` for a bare repository.
    workdir: Option<PathBuf>,
    timeout: Duration,
    cancel: Option<CancelToken>,
}

impl Git {
    /// Finds the repository containing `path`.
    /// `GitMissing` and `NotARepository` are the "feature off" outcomes.
    pub(crate) fn open(
        program: &Path,
        path: &Path,
        timeout: Duration,
        cancel: Option<CancelToken>,
    ) -> Result<Git, HistoryError> {
        if !path.is_dir() {
            return Err(HistoryError::NotARepository { path: path.to_path_buf() });
        }
        let mut git =
            Git { program: program.to_path_buf(), git_dir: PathBuf::new(), workdir: None, timeout, cancel };
        let not_a_repo = |err: HistoryError| match err {
            HistoryError::Failed { ref stderr, .. } if stderr.contains("not a git repository") => {
                HistoryError::NotARepository { path: path.to_path_buf() }
            }
            other => other,
        };
        let out = git
            .run_in(Some(path), &["rev-parse", "--absolute-git-dir", "--is-bare-repository"])
            .map_err(not_a_repo)?;
        let out = String::from_utf8_lossy(&out);
        let mut lines = out.lines();
        let (Some(git_dir), Some(bare)) = (lines.next(), lines.next()) else {
            return Err(HistoryError::Parse {
                command: "rev-parse".to_owned(),
                detail: format!("expected the git directory and bareness, got {out:?}"),
            });
        };
        git.git_dir = PathBuf::from(git_dir);
        if bare.trim() != "true" {
            let top = git.run_in(Some(path), &["rev-parse", "--show-toplevel"]).map_err(not_a_repo)?;
            let top = String::from_utf8_lossy(&top);
            git.workdir = Some(PathBuf::from(top.trim_end_matches(['\n', '\r'])));
        }
        Ok(git)
    }

    pub(crate) fn workdir(&self) -> Option<&Path> {
        self.workdir.as_deref()
    }

    /// Runs git against the repository and returns its whole stdout.
    pub(crate) fn output<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Vec<u8>, HistoryError> {
        self.stream(args, None, |out| {
            let mut buf = Vec::new();
            out.read_to_end(&mut buf)
                .map_err(|source| HistoryError::Io { command: command_name(args), source })?;
            Ok(buf)
        })
    }

    /// The exit status of a command whose status is its answer (`merge-base --is-ancestor`).
    /// Exit codes 0 and 1 are answers; anything else is an error.
    pub(crate) fn status<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<bool, HistoryError> {
        match self.output(args) {
            Ok(_) => Ok(true),
            Err(HistoryError::Failed { code: Some(1), .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Runs git against the repository, handing its stdout to `read` as it arrives; `stdin`, if
    /// given, is written to the child from another thread and then closed.
    pub(crate) fn stream<S: AsRef<OsStr>, R>(
        &self,
        args: &[S],
        stdin: Option<Vec<u8>>,
        read: impl FnOnce(&mut dyn BufRead) -> Result<R, HistoryError>,
    ) -> Result<R, HistoryError> {
        let mut full: Vec<&OsStr> = vec![OsStr::new("--git-dir"), self.git_dir.as_os_str()];
        full.extend(args.iter().map(AsRef::as_ref));
        self.spawn_and_read(None, &full, stdin, read)
    }

    fn run_in(&self, cwd: Option<&Path>, args: &[&str]) -> Result<Vec<u8>, HistoryError> {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        self.spawn_and_read(cwd, &args, None, |out| {
            let mut buf = Vec::new();
            out.read_to_end(&mut buf)
                .map_err(|source| HistoryError::Io { command: command_name(&args), source })?;
            Ok(buf)
        })
    }

    fn command(&self, cwd: Option<&Path>, args: &[&OsStr]) -> Command {
        let mut cmd = Command::new(&self.program);
        if let Some(cwd) = cwd {
            cmd.current_dir(cwd);
        }
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            if key.starts_with("GIT_") && !KEPT_GIT_VARS.contains(&key) {
                cmd.env_remove(key);
            }
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .env("PAGER", "cat")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("LC_ALL", "C")
            .env("LANGUAGE", "C")
            // Output must not depend on the user's config: paths unquoted (except control
            // characters), no colour, no signatures, no replace refs rewriting history.
            .args(["-c", "core.quotePath=false", "-c", "color.ui=never", "-c", "log.showSignature=false"])
            .arg("--no-replace-objects")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn spawn_and_read<R>(
        &self,
        cwd: Option<&Path>,
        args: &[&OsStr],
        stdin: Option<Vec<u8>>,
        read: impl FnOnce(&mut dyn BufRead) -> Result<R, HistoryError>,
    ) -> Result<R, HistoryError> {
        let name = command_name(args);
        let mut cmd = self.command(cwd, args);
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => HistoryError::GitMissing { program: self.program.clone() },
            _ => HistoryError::Io { command: name.clone(), source },
        })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let child_stdin = child.stdin.take();
        let clock =
            Clock { started: Instant::now(), last_output_ms: AtomicU64::new(0), timeout: self.timeout };
        let abandon = AtomicBool::new(false);
        let cancel = self.cancel.clone();

        std::thread::scope(|s| {
            let watchdog = s.spawn(|| watch(child, &clock, cancel.as_ref(), &abandon));
            let stderr_reader = s.spawn(move || {
                let mut buf = Vec::new();
                let _ = (&mut stderr).take(STDERR_CAP as u64).read_to_end(&mut buf);
                // Drain the rest so the child never blocks on a full stderr pipe.
                let _ = std::io::copy(&mut stderr, &mut std::io::sink());
                buf
            });
            if let (Some(mut pipe), Some(input)) = (child_stdin, stdin) {
                // A child that exits early closes the pipe: the write error is then expected and
                // the child's own status says what happened.
                s.spawn(move || {
                    let _ = pipe.write_all(&input);
                });
            }
            let mut reader = BufReader::with_capacity(256 * 1024, Progress { inner: stdout, clock: &clock });
            let res = read(&mut reader);
            if res.is_err() {
                // The reader gave up (bad output): stop the child rather than wait for it.
                abandon.store(true, Ordering::Relaxed);
            }
            drop(reader);
            let outcome = watchdog.join().expect("the git watchdog does not panic");
            let stderr = String::from_utf8_lossy(&stderr_reader.join().unwrap_or_default()).into_owned();
            match outcome {
                Outcome::TimedOut => Err(HistoryError::Timeout { command: name, timeout: self.timeout }),
                Outcome::Cancelled => Err(HistoryError::Cancelled),
                Outcome::Abandoned => res,
                Outcome::Exited(status) if status.success() => res,
                Outcome::Exited(status) => Err(HistoryError::Failed {
                    command: name,
                    code: status.code(),
                    stderr: stderr.trim().to_owned(),
                }),
                Outcome::WaitFailed(source) => Err(HistoryError::Io { command: name, source }),
            }
        })
    }
}

enum Outcome {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
    Abandoned,
    WaitFailed(std::io::Error),
}

/// When a call started, when git last wrote to stdout, and how long it may stay silent.
struct Clock {
    started: Instant,
    last_output_ms: AtomicU64,
    timeout: Duration,
}

impl Clock {
    fn deadline(&self) -> Instant {
        self.started + Duration::from_millis(self.last_output_ms.load(Ordering::Relaxed)) + self.timeout
    }
}

/// stdout, noting on the clock each time git wrote something.
struct Progress<'a, R> {
    inner: R,
    clock: &'a Clock,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            let now = self.clock.started.elapsed().as_millis() as u64;
            self.clock.last_output_ms.store(now, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Owns the child until it exits; kills it when it times out, on cancellation, or when the
/// reader abandons it. Polls with a short, growing interval: most git calls finish in
/// milliseconds.
fn watch(mut child: Child, clock: &Clock, cancel: Option<&CancelToken>, abandon: &AtomicBool) -> Outcome {
    let mut tick = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Outcome::Exited(status),
            Ok(None) => {}
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                return Outcome::WaitFailed(err);
            }
        }
        let stop = if cancel.is_some_and(CancelToken::is_cancelled) {
            Some(Outcome::Cancelled)
        } else if abandon.load(Ordering::Relaxed) {
            Some(Outcome::Abandoned)
        } else if Instant::now() >= clock.deadline() {
            Some(Outcome::TimedOut)
        } else {
            None
        };
        if let Some(outcome) = stop {
            let _ = child.kill();
            let _ = child.wait();
            return outcome;
        }
        std::thread::sleep(tick.min(clock.deadline().saturating_duration_since(Instant::now())));
        tick = (tick * 2).min(Duration::from_millis(25));
    }
}

/// The git subcommand, for messages: `log`, `cat-file`, ...
fn command_name<S: AsRef<OsStr>>(args: &[S]) -> String {
    let mut iter = args.iter().map(|a| a.as_ref().to_string_lossy());
    while let Some(arg) = iter.next() {
        if arg == "--git-dir" || arg == "-c" || arg == "-C" {
            iter.next();
        } else if !arg.starts_with('-') {
            return arg.into_owned();
        }
    }
    "git".to_owned()
}
