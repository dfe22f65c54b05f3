//! Owning a child process and everything it starts: one process group per run, a deadline,
//! cancellation, capped output, and no network where the kernel allows it.
//!
//! The child leads a new process group (`process_group(0)`) and dies with the thread that
//! started it (`PR_SET_PDEATHSIG`), so a crashed server leaves nothing behind. A watchdog loop
//! polls for its exit *without reaping it* (`waitid(WNOWAIT)`): while the leader is an unreaped
//! zombie its pid, which is the group's id, cannot be reused, so killing the group afterwards
//! can only hit the run's own processes. When the leader exits, the group is killed anyway
//! (SIGKILL) so no background process it started outlives the run; then the leader is reaped.
//! On timeout the group first gets SIGINT, so that pytest stops the hung test, writes its report
//! and prints where it hung, and SIGKILL after a grace period; on cancellation, SIGKILL at once.
//! The same kill happens when the owning [`GroupChild`] is dropped (a panic unwinding through a
//! run).
//!
//! stdout and stderr are read by one thread each into a buffer that keeps the first quarter of
//! the cap and the last three quarters (pytest's summary is at the end, collection errors at the
//! start) and drains the rest, so a chatty child never blocks on a full pipe.
//!
//! Network isolation: [`NetworkIsolation::detect`] probes once per process whether `unshare`
//! can give a command its own user, network and PID namespaces (a fresh network namespace has
//! only a loopback device that is down: every connection fails at once). With a PID namespace,
//! the test command is its namespace's init: when it dies the kernel kills everything inside,
//! including processes that left the process group with `setsid`. Where `unshare` is missing or
//! not permitted (macOS, containers without user namespaces, kernels that disable unprivileged
//! ones), commands run with the network, and every result records `network_isolated: false`.

use std::{
    collections::VecDeque,
    ffi::OsString,
    io::Read,
    os::unix::process::{CommandExt as _, ExitStatusExt as _},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use super::{SandboxError, command::find_on_path};
use crate::stdx::CancelToken;

/// Output a stream may keep in memory; more is dropped from the middle.
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

/// How long readers may keep draining after the run's processes are gone (a process that
/// escaped the group may still hold the pipe).
const READER_GRACE: Duration = Duration::from_millis(500);

/// The `unshare` options tried, most isolating first. `--map-current-user` keeps the test's uid
/// (some tests behave differently as root); older util-linux only has `--map-root-user`. The
/// last two serve a real root where user namespaces are disabled.
const UNSHARE_FLAG_SETS: &[&[&str]] = &[
    &["--user", "--map-current-user", "--net", "--pid", "--fork", "--kill-child"],
    &["--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"],
    &["--user", "--map-root-user", "--net"],
    &["--net", "--pid", "--fork", "--kill-child"],
    &["--net"],
];

/// Whether and how runs are cut off from the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkIsolation {
    /// Commands run as `program args... -- command...`.
    Unshare { program: PathBuf, args: Vec<String> },
    /// Commands run with whatever network the machine has.
    Unavailable { reason: String },
}

impl NetworkIsolation {
    /// What this machine allows, probed on first use and remembered for the process.
    pub fn detect() -> NetworkIsolation {
        static PROBED: OnceLock<NetworkIsolation> = OnceLock::new();
        PROBED.get_or_init(probe).clone()
    }

    /// No isolation, for a stated reason (a platform without namespaces, or a test of the
    /// fallback).
    pub fn unavailable(reason: impl Into<String>) -> NetworkIsolation {
        NetworkIsolation::Unavailable { reason: reason.into() }
    }

    pub fn is_available(&self) -> bool {
        matches!(self, NetworkIsolation::Unshare { .. })
    }

    /// Whether a command also gets its own PID namespace (everything it starts dies with it).
    pub fn isolates_pids(&self) -> bool {
        matches!(self, NetworkIsolation::Unshare { args, .. } if args.iter().any(|a| a == "--pid"))
    }

    /// What goes before the command.
    pub(crate) fn prefix(&self) -> Vec<OsString> {
        match self {
            NetworkIsolation::Unshare { program, args } => std::iter::once(program.clone().into_os_string())
                .chain(args.iter().map(OsString::from))
                .chain(std::iter::once(OsString::from("--")))
                .collect(),
            NetworkIsolation::Unavailable { .. } => Vec::new(),
        }
    }
}

fn probe() -> NetworkIsolation {
    if !cfg!(target_os = "linux") {
        return NetworkIsolation::unavailable("network namespaces are Linux-only");
    }
    let Some(program) = find_on_path("unshare").or_else(|| {
        ["/usr/bin/unshare", "/bin/unshare"].into_iter().map(PathBuf::from).find(|p| p.is_file())
    }) else {
        tracing::warn!("unshare not found: tests will run with network access");
        return NetworkIsolation::unavailable("unshare (util-linux) is not installed");
    };
    let env =
        vec![(OsString::from("PATH"), std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))];
    let mut last = String::new();
    for flags in UNSHARE_FLAG_SETS {
        let mut argv: Vec<OsString> = vec![program.clone().into()];
        argv.extend(flags.iter().map(OsString::from));
        argv.extend(["--", "true"].map(OsString::from));
        let spec = ProcessSpec {
            argv: &argv,
            cwd: &std::env::temp_dir(),
            env: &env,
            timeout: Duration::from_secs(10),
            interrupt_grace: Duration::ZERO,
            output_cap: 4096,
        };
        match run_owned(&spec, &[]) {
            Ok(done) if done.status.success() && !done.timed_out => {
                tracing::info!("test runs are isolated from the network with unshare {}", flags.join(" "));
                return NetworkIsolation::Unshare {
                    program,
                    args: flags.iter().map(|f| (*f).to_owned()).collect(),
                };
            }
            Ok(done) => last = done.stderr.text.trim().to_owned(),
            Err(err) => last = err.to_string(),
        }
    }
    tracing::warn!(
        "unshare cannot make a network namespace here ({last}): tests will run with network access"
    );
    NetworkIsolation::unavailable(format!("unshare cannot make a network namespace here: {last}"))
}

/// A stream's output, or its head and tail if it was longer than the cap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedOutput {
    /// Lossy UTF-8; when bytes were dropped, a line `[... N bytes omitted ...]` marks where.
    pub text: String,
    pub total_bytes: u64,
    pub omitted_bytes: u64,
}

pub(crate) struct ProcessSpec<'a> {
    /// The whole command line, isolation prefix included.
    pub argv: &'a [OsString],
    pub cwd: &'a Path,
    /// The complete environment: nothing is inherited.
    pub env: &'a [(OsString, OsString)],
    pub timeout: Duration,
    /// Time between SIGINT and SIGKILL on timeout; zero kills at once.
    pub interrupt_grace: Duration,
    pub output_cap: usize,
}

pub(crate) struct Finished {
    pub status: ExitStatus,
    pub timed_out: bool,
    pub stdout: CapturedOutput,
    pub stderr: CapturedOutput,
    pub duration: Duration,
}

/// Runs a command to completion (or deadline, or cancellation) in its own process group.
pub(crate) fn run_owned(spec: &ProcessSpec<'_>, cancel: &[&CancelToken]) -> Result<Finished, SandboxError> {
    let cancelled = || cancel.iter().any(|c| c.is_cancelled());
    if cancelled() {
        return Err(SandboxError::Cancelled);
    }
    let program = PathBuf::from(&spec.argv[0]);
    let mut cmd = Command::new(&spec.argv[0]);
    cmd.args(&spec.argv[1..])
        .current_dir(spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl and signal are async-signal-safe and touch no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // An ignored SIGINT is inherited across exec (a server started in the background
            // has one): the interrupt at the deadline must reach the test runner.
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let started = Instant::now();
    let child = cmd.spawn().map_err(|source| SandboxError::Spawn { program, source })?;
    let mut group = GroupChild { child, reaped: false };
    let stdout = Capture::spawn(group.child.stdout.take().expect("stdout is piped"), spec.output_cap);
    let stderr = Capture::spawn(group.child.stderr.take().expect("stderr is piped"), spec.output_cap);

    let mut deadline = started + spec.timeout;
    let mut timed_out = false;
    let mut tick = Duration::from_millis(1);
    let duration = loop {
        match group.leader_exited() {
            Ok(true) => break started.elapsed(),
            Ok(false) => {}
            Err(source) => return Err(SandboxError::io("waiting for the test process", source)),
        }
        if cancelled() {
            return Err(SandboxError::Cancelled);
        }
        let now = Instant::now();
        if now >= deadline {
            if timed_out || spec.interrupt_grace.is_zero() {
                timed_out = true;
                break started.elapsed();
            }
            timed_out = true;
            group.signal_group(libc::SIGINT);
            deadline = now + spec.interrupt_grace;
            tick = Duration::from_millis(1);
            continue;
        }
        std::thread::sleep(tick.min(deadline - now));
        tick = (tick * 2).min(Duration::from_millis(20));
    };
    let status = group.kill_and_reap().map_err(|e| SandboxError::io("reaping the test process", e))?;
    let reader_deadline = Instant::now() + READER_GRACE;
    while !(stdout.done() && stderr.done()) && Instant::now() < reader_deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(Finished { status, timed_out, stdout: stdout.snapshot(), stderr: stderr.snapshot(), duration })
}

/// The group's leader; dropping it kills the group.
struct GroupChild {
    child: Child,
    reaped: bool,
}

impl GroupChild {
    fn signal_group(&self, signal: libc::c_int) {
        // The pgid is the leader's pid, which cannot be reused until the leader is reaped.
        debug_assert!(!self.reaped);
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), signal);
        }
    }

    /// Whether the leader has exited, leaving it unreaped.
    #[cfg(target_os = "linux")]
    fn leader_exited(&mut self) -> std::io::Result<bool> {
        loop {
            // SAFETY: siginfo_t is plain data, zero is a valid value, and waitid only writes it.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
            let rc = unsafe { libc::waitid(libc::P_PID, self.child.id() as libc::id_t, &mut info, flags) };
            if rc == 0 {
                // SAFETY: waitid filled in a SIGCHLD siginfo (or left it zeroed: not exited).
                return Ok(unsafe { info.si_pid() } != 0);
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Elsewhere `try_wait` reaps, so killing the group afterwards is slightly racy.
    #[cfg(not(target_os = "linux"))]
    fn leader_exited(&mut self) -> std::io::Result<bool> {
        match self.child.try_wait()? {
            Some(_) => {
                self.signal_group(libc::SIGKILL);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn kill_and_reap(&mut self) -> std::io::Result<ExitStatus> {
        self.signal_group(libc::SIGKILL);
        let status = self.child.wait();
        self.reaped = true;
        status
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if !self.reaped {
            self.signal_group(libc::SIGKILL);
            let _ = self.child.wait();
            self.reaped = true;
        }
    }
}

/// One stream's reader thread and what it kept.
struct Capture {
    kept: Arc<Mutex<Capped>>,
    done: Arc<AtomicBool>,
}

impl Capture {
    fn spawn(mut pipe: impl Read + Send + 'static, cap: usize) -> Capture {
        let kept = Arc::new(Mutex::new(Capped::new(cap)));
        let done = Arc::new(AtomicBool::new(false));
        let (k, d) = (kept.clone(), done.clone());
        // Detached: if a process that escaped the group keeps the pipe open, the run must not
        // wait for it; the thread ends when the pipe closes.
        let spawned = std::thread::Builder::new().name("sandbox-output".to_owned()).spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => k.lock().unwrap_or_else(|e| e.into_inner()).push(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            d.store(true, Ordering::Release);
        });
        if spawned.is_err() {
            done.store(true, Ordering::Release);
        }
        Capture { kept, done }
    }

    fn done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    fn snapshot(&self) -> CapturedOutput {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).snapshot()
    }
}

/// The first quarter of the cap and the last three quarters of a stream.
pub(crate) struct Capped {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_cap: usize,
    tail_cap: usize,
    total: u64,
}

impl Capped {
    pub(crate) fn new(cap: usize) -> Capped {
        let head_cap = cap / 4;
        Capped { head: Vec::new(), tail: VecDeque::new(), head_cap, tail_cap: cap - head_cap, total: 0 }
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let take = (self.head_cap - self.head.len()).min(data.len());
        self.head.extend_from_slice(&data[..take]);
        let rest = &data[take..];
        let rest = &rest[rest.len().saturating_sub(self.tail_cap)..];
        self.tail.extend(rest);
        let excess = self.tail.len().saturating_sub(self.tail_cap);
        self.tail.drain(..excess);
    }

    pub(crate) fn snapshot(&self) -> CapturedOutput {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let omitted = self.total - kept;
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if omitted > 0 {
            text.push_str(&format!("\n[... {omitted} bytes omitted ...]\n"));
        }
        let (a, b) = self.tail.as_slices();
        text.push_str(&String::from_utf8_lossy(&[a, b].concat()));
        CapturedOutput { text, total_bytes: self.total, omitted_bytes: omitted }
    }
}

/// The signal that ended a process, if one did.
pub(crate) fn terminating_signal(status: &ExitStatus) -> Option<i32> {
    status.signal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_output_keeps_head_and_tail() {
        let mut c = Capped::new(8);
        for chunk in [&b"ab"[..], b"cdefgh", b"ijklmnop"] {
            c.push(chunk);
        }
        let out = c.snapshot();
        assert_eq!(out.total_bytes, 16);
        assert_eq!(out.omitted_bytes, 8);
        assert_eq!(out.text, "ab\n[... 8 bytes omitted ...]\nklmnop");

        let mut small = Capped::new(8);
        small.push(b"abc");
        assert_eq!(small.snapshot().text, "abc");
        assert_eq!(small.snapshot().omitted_bytes, 0);
    }
}
