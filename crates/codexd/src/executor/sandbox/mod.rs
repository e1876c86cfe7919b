//! Containment for steps that run without a yes typed for them on a terminal.
//!
//! Every step is started through ourselves, `codexd __sandbox [...] -- CMD ARGS` ([`helper`]):
//! the helper puts the step in a session of its own (so cancellation reaches the whole tree
//! and codexd can tell its steps' requests apart), applies the confinement, and execs the
//! step. Re-executing ourselves keeps the layers free of `unsafe` (no hook between fork and
//! exec), and every layer is inherited across exec and cannot be lifted.
//!
//! Layout: [`Confinement`] and the helper's arguments (here); [`roots`] (which folders a
//! step may write: its project, a private temp folder, its toolchain's caches; which paths
//! are kept read-only); the layers the helper applies, in order: [`mounts`] (a private mount
//! namespace with `.git/hooks` and `.git/config` bound read-only, a private `/dev/shm`),
//! [`caps`] (root's dangerous capabilities dropped), [`landlock`] (writes only under the
//! writable roots; no TCP; no signals or abstract sockets outside the step's tree),
//! [`seccomp`] (no sockets but socketpairs unless the step may use the network; no
//! privileged syscalls; no set-user-id bits); and [`probe`] (what this kernel enforces,
//! checked once when the daemon starts).

pub mod caps;
mod helper;
pub mod landlock;
pub mod mounts;
pub mod probe;
pub mod roots;
pub mod seccomp;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// The first argument that switches `codexd` into the sandbox helper.
pub const ARG: &str = "__sandbox";

/// What a confined step may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confinement {
    /// Folders (and files) it may write, recursively; everything else is read-only.
    pub writable: Vec<PathBuf>,
    /// Paths inside the writable folders kept read-only (`.git/hooks`, `.git/config`).
    pub read_only: Vec<PathBuf>,
    /// Folders pinned in place (bound onto themselves): a mount point cannot be renamed, so
    /// `.git` cannot be swapped for one without the read-only binds.
    pub pinned: Vec<PathBuf>,
    /// Folders hidden behind an empty, read-only tmpfs (codex's own data).
    pub hidden: Vec<PathBuf>,
    /// Enter private mount and IPC namespaces (for the binds, the hidden folders, a private
    /// `/dev/shm`, and SysV IPC and message queues of its own).
    pub namespaces: bool,
    /// It may open TCP/UDP sockets (a network step the policy lets run).
    pub network: bool,
    /// Unix sockets it may connect to by path (only where Landlock can check the path).
    pub unix_sockets: Vec<PathBuf>,
    /// Give it a private, empty `/dev/shm`.
    pub private_shm: bool,
    /// Fail (exit 126, the step not run) when a layer cannot be applied. `false` only for
    /// steps that may run unconfined anyway (read-only ones where the sandbox is not
    /// enforced): then what can be applied is, and the rest is skipped.
    pub required: bool,
}

/// How a step is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Inside the sandbox.
    Confined(Confinement),
    /// As the user typed it (approved on the terminal): only its own session.
    Unconfined,
}

impl Mode {
    /// Whether the step runs confined.
    pub fn is_confined(&self) -> bool {
        matches!(self, Mode::Confined(_))
    }
}

/// The program that starts the helper when it runs inside `codexd`: ourselves.
/// `/proc/self/exe` still names this very binary after it was replaced on disk (a rebuild
/// while the daemon runs). Benchmarks and tests that start the executor in a process of their
/// own name the built `codexd` instead.
pub fn own_binary() -> Option<PathBuf> {
    let proc = PathBuf::from("/proc/self/exe");
    if proc.exists() {
        return Some(proc);
    }
    std::env::current_exe().ok()
}

/// The name of the small helper binary installed beside `codexd`.
pub const HELPER_BIN: &str = "codex-sandbox";

/// How steps are started: `codex-sandbox` beside the daemon's binary when it is there (a
/// small program, quick to start), else `codexd __sandbox` itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    /// The program.
    pub program: PathBuf,
    /// Its first arguments (`__sandbox` for codexd itself).
    pub first: Vec<String>,
}

impl Launcher {
    /// The launcher for the `codexd` binary at `codexd`.
    pub fn for_daemon(codexd: &std::path::Path) -> Launcher {
        use std::os::unix::fs::PermissionsExt as _;
        let real = std::fs::canonicalize(codexd).unwrap_or_else(|_| codexd.to_path_buf());
        let beside = real.with_file_name(HELPER_BIN);
        let runnable = std::fs::metadata(&beside)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        if runnable {
            Launcher {
                program: beside,
                first: Vec::new(),
            }
        } else {
            Launcher {
                program: codexd.to_path_buf(),
                first: vec![ARG.to_string()],
            }
        }
    }

    /// The whole argument vector that runs `argv` in `mode`.
    pub fn command(&self, mode: &Mode, argv: &[String]) -> Vec<String> {
        std::iter::once(self.program.display().to_string())
            .chain(self.first.iter().cloned())
            .chain(wrap(mode, argv))
            .collect()
    }
}

/// The helper's arguments that run `argv` in `mode`.
pub fn wrap(mode: &Mode, argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Mode::Confined(c) = mode {
        out.push(
            if c.required {
                "--confine"
            } else {
                "--confine-best-effort"
            }
            .into(),
        );
        for (flag, paths) in [
            ("--rw", &c.writable),
            ("--ro", &c.read_only),
            ("--pin", &c.pinned),
            ("--hide", &c.hidden),
            ("--unix", &c.unix_sockets),
        ] {
            for p in paths {
                out.push(flag.into());
                out.push(p.display().to_string());
            }
        }
        if c.network {
            out.push("--net".into());
        }
        if c.private_shm {
            out.push("--shm".into());
        }
        if c.namespaces {
            out.push("--ns".into());
        }
    }
    out.push("--".into());
    out.extend(argv.iter().cloned());
    out
}

/// What the helper was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// Run a step.
    Run {
        /// Its confinement; `None` for an unconfined step.
        confine: Option<Confinement>,
        /// The step.
        command: Vec<OsString>,
    },
    /// Check what this kernel enforces, in a scratch folder, and print it as JSON.
    Probe(PathBuf),
}

/// Read the helper's arguments (the inverse of [`wrap`]). Any confinement flag makes the step
/// confined, so a garbled command line never runs a step with less than it asked for.
pub(crate) fn parse(args: Vec<OsString>) -> Result<Request, String> {
    let mut it = args.into_iter();
    let mut c = Confinement {
        required: true,
        ..Confinement::default()
    };
    let mut confined = false;
    while let Some(a) = it.next() {
        let flag = a.to_string_lossy().into_owned();
        let mut path = |name: &str| {
            it.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("{name} needs a path"))
        };
        match flag.as_str() {
            "--probe" => return path("--probe").map(Request::Probe),
            "--" => {
                let command: Vec<OsString> = it.collect();
                if command.is_empty() {
                    return Err("no command after --".into());
                }
                return Ok(Request::Run {
                    confine: confined.then_some(c),
                    command,
                });
            }
            "--confine" => c.required = true,
            "--confine-best-effort" => c.required = false,
            "--rw" => c.writable.push(path("--rw")?),
            "--ro" => c.read_only.push(path("--ro")?),
            "--pin" => c.pinned.push(path("--pin")?),
            "--hide" => c.hidden.push(path("--hide")?),
            "--ns" => c.namespaces = true,
            "--unix" => c.unix_sockets.push(path("--unix")?),
            "--net" => c.network = true,
            "--shm" => c.private_shm = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
        confined = true;
    }
    Err("no command after --".into())
}

/// `codexd __sandbox ...`: returns only when the step could not be started.
pub fn main(args: Vec<OsString>) -> ExitCode {
    helper::main(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[String]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn wrap_and_parse_agree() {
        let c = Confinement {
            writable: vec!["/p".into(), "/t".into()],
            read_only: vec!["/p/.git/hooks".into()],
            pinned: vec!["/p/.git".into()],
            hidden: vec!["/h/codex".into()],
            namespaces: true,
            network: true,
            unix_sockets: vec!["/run/x.sock".into()],
            private_shm: true,
            required: false,
        };
        let argv = vec!["ls".to_string(), "-l".into(), "--".into()];
        let w = wrap(&Mode::Confined(c.clone()), &argv);
        assert_eq!(
            parse(os(&w)).unwrap(),
            Request::Run {
                confine: Some(c),
                command: os(&argv)
            }
        );
        let w = wrap(&Mode::Unconfined, &argv);
        assert_eq!(
            parse(os(&w)).unwrap(),
            Request::Run {
                confine: None,
                command: os(&argv)
            }
        );
    }

    #[test]
    fn garbled_arguments_are_refused_and_flags_imply_confinement() {
        for bad in [&["--rw"][..], &["--bogus", "--", "x"], &["--"], &[]] {
            let v: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            assert!(parse(os(&v)).is_err(), "{bad:?}");
        }
        let v: Vec<String> = ["--rw", "/p", "--", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        match parse(os(&v)).unwrap() {
            Request::Run {
                confine: Some(c), ..
            } => assert!(c.required),
            other => panic!("{other:?}"),
        }
    }
}
