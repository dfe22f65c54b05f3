//! Overlay scratch copies: the workspace itself, seen through an overlay filesystem that only
//! the test run sees.
//!
//! Where the kernel lets an unprivileged process create user and mount namespaces and mount
//! overlayfs in them (Linux 5.11 and later, unless disabled), a scratch copy costs nothing to
//! make: the run starts in new user, mount, PID (and network) namespaces, mounts an overlay
//! *on the workspace's own path* — the user's tree as the read-only lower layer, the scratch
//! directory's `upper/` (holding the overlays) as the writable one — and runs the tests there.
//! So the tests run at the path the user's own runs use (absolute symlinks, editable installs
//! and hard-coded paths all land in the overlay), anything they write goes to `upper/` (the
//! kernel copies a file up before the first write), and the user's files cannot be written at
//! all. Nothing is copied, and removing the scratch copy removes only what the run wrote.
//!
//! The run is `unshare --user --map-root-user --mount [--net] --pid --fork --kill-child -- sh -c
//! SCRIPT ...`: the script mounts the overlay as the namespace's root, then runs the command
//! under a nested user namespace that maps the user's own uid and gid back, so the tests do not
//! run as root (which changes how permission checks, and so some tests, behave).
//!
//! Whether this works is probed once per (workspace, scratch parent, network) by mounting for
//! real and running `true`; where it does not (no user namespaces, util-linux without
//! `--map-user`, an upper directory on a filesystem overlayfs cannot use, a path containing `,`
//! `:` or `\` that mount options cannot carry), scratch copies are made of links and copies.

use std::{
    collections::HashMap,
    ffi::OsString,
    path::{Path, PathBuf},
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use super::process::{NetworkIsolation, ProcessSpec, run_owned};

/// Mounts the overlay on the workspace's path, leaves it as the working directory and runs the
/// command as the user's own uid/gid. Exit code 125 says the sandbox itself failed.
const SCRIPT: &str = r#"root=$1 upper=$2 work=$3 uid=$4 gid=$5 unshare=$6
shift 6
mount -t overlay repolens-sandbox -o "lowerdir=$root,upperdir=$upper,workdir=$work" "$root" || {
  echo "repolens sandbox: cannot mount an overlay on $root" >&2; exit 125; }
cd "$root" || exit 125
unset OLDPWD PWD
exec "$unshare" --user --map-user="$uid" --map-group="$gid" -- "$@"
"#;

/// Probe results by (workspace, scratch parent, network isolated).
type ProbeCache = HashMap<(PathBuf, PathBuf, bool), Option<OverlayMount>>;

/// How to run a command over an overlay of the workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OverlayMount {
    unshare: PathBuf,
    /// Whether the run also gets its own network namespace.
    pub(crate) net: bool,
}

impl OverlayMount {
    /// Whether overlays work for this workspace and scratch parent; probed once per pair.
    pub(crate) fn detect(root: &Path, parent: &Path, network: &NetworkIsolation) -> Option<OverlayMount> {
        static PROBED: OnceLock<Mutex<ProbeCache>> = OnceLock::new();
        let NetworkIsolation::Unshare { program, .. } = NetworkIsolation::detect() else { return None };
        let net = network.is_available();
        let key = (root.to_path_buf(), parent.to_path_buf(), net);
        let probed = PROBED.get_or_init(Default::default);
        if let Some(known) = probed.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return known.clone();
        }
        let mount = OverlayMount { unshare: program, net };
        let works = mount.probe(root, parent);
        let found = works.then_some(mount);
        probed.lock().unwrap_or_else(|e| e.into_inner()).insert(key, found.clone());
        found
    }

    /// Mounts for real over `root` in a throwaway scratch directory and runs `true`.
    fn probe(&self, root: &Path, parent: &Path) -> bool {
        let paths_ok =
            [root, parent].iter().all(|p| p.to_str().is_some_and(|s| !s.contains([',', ':', '\\'])));
        if !paths_ok {
            tracing::info!(
                "no overlay scratch copies for {}: its path has characters mount options cannot carry",
                root.display()
            );
            return false;
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("repolens-overlay-probe-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (upper, work) = (dir.join("upper"), dir.join("work"));
        if std::fs::create_dir_all(&upper).and_then(|()| std::fs::create_dir_all(&work)).is_err() {
            return false;
        }
        let mut argv = self.prefix(root, &upper, &work);
        argv.push("true".into());
        let env = vec![(
            OsString::from("PATH"),
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )];
        let spec = ProcessSpec {
            argv: &argv,
            cwd: &dir,
            env: &env,
            timeout: Duration::from_secs(10),
            interrupt_grace: Duration::ZERO,
            output_cap: 4096,
        };
        let res = run_owned(&spec, &[]);
        let _ = std::fs::remove_dir_all(&dir);
        match res {
            Ok(done) if done.status.success() && !done.timed_out => {
                tracing::info!("scratch copies of {} are overlays", root.display());
                true
            }
            Ok(done) => {
                let said = done.stderr.text.trim();
                tracing::info!(
                    "no overlay scratch copies for {} ({said}): linking and copying instead",
                    root.display()
                );
                false
            }
            Err(err) => {
                tracing::info!(
                    "no overlay scratch copies for {} ({err}): linking and copying instead",
                    root.display()
                );
                false
            }
        }
    }

    /// What goes before the command.
    pub(crate) fn prefix(&self, root: &Path, upper: &Path, work: &Path) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec![self.unshare.clone().into()];
        argv.extend(["--user", "--map-root-user", "--mount"].map(OsString::from));
        if self.net {
            argv.push("--net".into());
        }
        argv.extend(
            ["--pid", "--fork", "--kill-child", "--", "/bin/sh", "-c", SCRIPT, "repolens-sandbox"]
                .map(OsString::from),
        );
        // SAFETY: geteuid and getegid cannot fail and have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        argv.extend([root.into(), upper.into(), work.into()]);
        argv.extend([uid.to_string().into(), gid.to_string().into(), self.unshare.clone().into_os_string()]);
        argv
    }
}
