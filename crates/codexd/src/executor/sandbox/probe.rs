//! What this kernel enforces, found out once when the daemon starts by running the helper on
//! itself (`codexd __sandbox --probe DIR`): it applies a confinement to itself in a scratch
//! folder and then tries what the confinement forbids. Measured, not assumed: a kernel that
//! accepts a Landlock ruleset but lets the write through counts as not enforcing it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use super::Confinement;

/// What the sandbox can do here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Support {
    /// Writes outside the writable roots are refused (Landlock ABI 3 or newer).
    pub writes: bool,
    /// Sockets are refused (seccomp).
    pub network: bool,
    /// Paths can be kept read-only inside a writable project (a private mount namespace).
    pub read_only_paths: bool,
    /// Signals and abstract Unix sockets are scoped to the step's own tree (Landlock ABI 6).
    pub signals_scoped: bool,
    /// Connecting to Unix sockets by path can be allowed per path (Landlock ABI 9).
    pub unix_paths: bool,
    /// The Landlock ABI in effect (0: none).
    pub landlock_abi: u32,
    /// Why something is missing, for the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl Support {
    /// Whether confined steps are kept from writing outside and from the network: the
    /// promise that lets steps run unasked.
    pub fn enforced(&self) -> bool {
        self.writes && self.network
    }

    /// Nothing enforced, and why.
    pub fn none(why: impl Into<String>) -> Support {
        Support {
            missing: vec![why.into()],
            ..Support::default()
        }
    }
}

/// Run the probe through `launcher` in a scratch folder of its own under `tmp` (removed
/// afterwards).
pub fn detect(launcher: &super::Launcher, tmp: &Path) -> Support {
    let dir = match tempfile::Builder::new()
        .prefix("codex-probe-")
        .tempdir_in(tmp)
    {
        Ok(d) => d,
        Err(e) => {
            return Support::none(format!(
                "cannot make a scratch folder in {}: {e}",
                tmp.display()
            ));
        }
    };
    let out = std::process::Command::new(&launcher.program)
        .args(&launcher.first)
        .arg("--probe")
        .arg(dir.path())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) => serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            Support::none(format!(
                "the sandbox probe answered nothing readable ({e}; exit {:?})",
                o.status.code()
            ))
        }),
        Err(e) => Support::none(format!("cannot start the sandbox probe: {e}")),
    }
}

/// The helper's side: confine ourselves in `dir`, try what is forbidden, print [`Support`].
pub(super) fn run_in(dir: &Path) -> ExitCode {
    let support = probe(dir);
    let mut stdout = std::io::stdout();
    let line = serde_json::to_string(&support).unwrap_or_default();
    let _ = writeln!(stdout, "{line}");
    ExitCode::SUCCESS
}

fn probe(dir: &Path) -> Support {
    let rw = dir.join("project");
    let guarded = rw.join("guarded");
    let outside = dir.join("outside");
    let kept = outside.join("kept");
    let setup = std::fs::create_dir_all(&rw)
        .and_then(|()| std::fs::create_dir_all(&outside))
        .and_then(|()| std::fs::write(&guarded, "x"))
        .and_then(|()| std::fs::write(&kept, "x"));
    if let Err(e) = setup {
        return Support::none(format!("cannot prepare the probe folder: {e}"));
    }
    let c = Confinement {
        writable: vec![rw.clone()],
        read_only: vec![guarded.clone()],
        pinned: vec![rw.clone()],
        hidden: Vec::new(),
        namespaces: true,
        network: false,
        unix_sockets: Vec::new(),
        private_shm: false,
        required: false,
    };
    let applied = super::helper::apply(&c, false);
    let mut s = Support::default();
    let fails = |r: std::io::Result<()>| r.is_err();
    let write = |p: &PathBuf| std::fs::write(p, "y");
    if let Ok(l) = &applied.landlock {
        s.landlock_abi = l.abi;
        s.signals_scoped = l.scoped;
        s.unix_paths = l.unix_paths;
    }
    let inside_ok = write(&rw.join("new")).is_ok();
    let outside_refused = fails(write(&outside.join("new")))
        && fails(
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&kept)
                .map(drop),
        );
    s.writes = applied.landlock.is_ok() && inside_ok && outside_refused;
    if !s.writes {
        s.missing.push(match &applied.landlock {
            Err(e) => e.clone(),
            Ok(_) => "Landlock was accepted but writes outside the project were not refused".into(),
        });
    }
    s.read_only_paths = applied.mounts.is_ok() && fails(write(&guarded));
    if !s.read_only_paths {
        s.missing.push(match &applied.mounts {
            Err(e) => e.clone(),
            Ok(()) => "a read-only bind did not keep a file from being written".into(),
        });
    }
    let refused = |e: std::io::Error| e.kind() == std::io::ErrorKind::PermissionDenied;
    let tcp_refused = std::net::TcpStream::connect(("127.0.0.1", 9)).is_err_and(refused);
    let unix_refused =
        std::os::unix::net::UnixStream::connect(dir.join("nothing.sock")).is_err_and(refused);
    s.network = applied.seccomp.is_ok() && tcp_refused && unix_refused;
    if !s.network {
        s.missing.push(match &applied.seccomp {
            Err(e) => e.clone(),
            Ok(()) => "seccomp was accepted but a socket could still be opened".into(),
        });
    }
    if !s.signals_scoped {
        s.missing.push(format!(
            "signals are not scoped to the step's own processes (needs Landlock ABI 6, Linux 6.12; this kernel has {})",
            s.landlock_abi
        ));
    }
    s
}
