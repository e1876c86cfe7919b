//! `codexd __sandbox`: the helper every step starts through. It gives the step a session of
//! its own, applies the confinement layer by layer (mounts, capabilities, Landlock, seccomp:
//! each needs the ones before it still undone), and execs the step. A required layer that
//! cannot be applied ends the helper with status 126 and the step is not run: the daemon
//! decided it may run unasked only because it would be confined.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::process::ExitCode;

use super::{Confinement, Request};

/// Exit status when the step could not be started (as a shell reports it).
pub const EXIT_CANNOT_EXEC: u8 = 126;

/// What was applied.
#[derive(Debug)]
pub struct Applied {
    /// The private mount namespace (read-only binds, private /dev/shm).
    pub mounts: Result<(), String>,
    /// Root's capabilities dropped.
    pub caps: Result<bool, String>,
    /// Landlock.
    pub landlock: Result<super::landlock::Enforced, String>,
    /// seccomp.
    pub seccomp: Result<(), String>,
}

impl Default for Applied {
    fn default() -> Self {
        let none = || Err("not tried".to_string());
        Applied {
            mounts: none(),
            caps: none().map(|()| false),
            landlock: none().map(|()| super::landlock::Enforced::default()),
            seccomp: none(),
        }
    }
}

impl Applied {
    /// The first layer that failed, if any.
    pub fn failure(&self) -> Option<&str> {
        [
            self.mounts.as_ref().err(),
            self.caps.as_ref().err(),
            self.landlock.as_ref().err(),
            self.seccomp.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(String::as_str)
    }
}

/// Apply `c` to this (single-threaded) process, every layer that can be; `terminal` when
/// the step has a terminal of its own as its controlling terminal (Landlock then lets it
/// open `/dev/tty`). Stops at the first failure when `c.required`.
pub fn apply(c: &Confinement, terminal: bool) -> Applied {
    let mounts = if c.namespaces {
        super::mounts::isolate(&c.pinned, &c.read_only, &c.hidden, c.private_shm)
            .map_err(|e| e.to_string())
    } else {
        Ok(())
    };
    let mut a = Applied {
        mounts,
        ..Applied::default()
    };
    if c.required && a.mounts.is_err() {
        return a;
    }
    a.caps =
        super::caps::drop_dangerous().map_err(|e| format!("cannot drop root's capabilities ({e})"));
    if c.required && a.caps.is_err() {
        return a;
    }
    a.landlock = super::landlock::restrict(c, terminal).map_err(|e| e.to_string());
    if c.required && a.landlock.is_err() {
        return a;
    }
    let unix_paths = !c.unix_sockets.is_empty() && a.landlock.as_ref().is_ok_and(|l| l.unix_paths);
    a.seccomp = super::seccomp::apply(c.network, unix_paths).map_err(|e| e.to_string());
    a
}

pub(super) fn main(args: Vec<OsString>) -> ExitCode {
    let request = match super::parse(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("codexd {}: {e}", super::ARG);
            return ExitCode::from(2);
        }
    };
    let (confine, command) = match request {
        Request::Probe(dir) => return super::probe::run_in(&dir),
        Request::Run { confine, command } => (confine, command),
    };
    // A session (and process group) of its own: cancellation reaches every process of the
    // step, and codexd knows requests from this session come from one of its steps. The
    // helper is spawned as a plain child, so this only fails if it already leads a group.
    // The step dies with codexd, even with a `kill -9` of it (the signal survives the exec
    // below). If codexd died before this line, the parent is already someone else: stop.
    let parent = rustix::process::getppid();
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    if rustix::process::getppid() != parent || parent.is_none() {
        return ExitCode::from(EXIT_CANNOT_EXEC);
    }
    let session = rustix::process::setsid();
    if let (Err(e), Some(c)) = (&session, &confine)
        && c.required
    {
        eprintln!("codex: the step cannot get a session of its own ({e}), so it was not run");
        return ExitCode::from(EXIT_CANNOT_EXEC);
    }
    // A step on a terminal (codexd passes a pseudo-terminal of its own as stdin): that
    // terminal becomes the session's controlling terminal, so `/dev/tty`, Ctrl-C and job
    // control work. Done before the layers, which forbid it afterwards (seccomp), so the
    // step's terminal stays the one codexd gave it. A step without one keeps none.
    let stdin = std::io::stdin();
    let terminal = session.is_ok()
        && rustix::termios::isatty(&stdin)
        && rustix::process::ioctl_tiocsctty(&stdin).is_ok();
    if let Some(c) = &confine {
        let applied = apply(c, terminal);
        if let Some(why) = applied.failure() {
            if c.required {
                eprintln!("codex: the sandbox could not be set up, so the step was not run: {why}");
                return ExitCode::from(EXIT_CANNOT_EXEC);
            }
            eprintln!("codex: note: part of the sandbox is not in effect for this step: {why}");
        }
    }
    let Some((program, rest)) = command.split_first() else {
        return ExitCode::from(2);
    };
    // Descriptors the daemon inherited from whoever started it reach no step.
    close_fds::set_fds_cloexec(3, &[]);
    let err = std::process::Command::new(program).args(rest).exec();
    eprintln!("codex: cannot run {}: {err}", program.to_string_lossy());
    ExitCode::from(if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        EXIT_CANNOT_EXEC
    })
}
