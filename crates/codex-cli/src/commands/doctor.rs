//! `codex doctor`: is everything in order, and what to do where it is not. Changes nothing:
//! it does not start the daemon, takes no lock, and leaves every file as it found it.
//!
//! Checks, in order: the codexd binary; the config (`codexd --check-config`); every storage
//! file (`codexd --check-storage --json`, read-only, so safe while a daemon runs); the daemon
//! (does it answer, its version against this CLI's, whether its sandbox is enforced); the
//! socket and its folder (a socket file nothing answers on is stale); the lock; free disk
//! under CODEX_HOME; the systemd unit when one is installed.

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use codex_proto::methods::{NoParams, Status};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Out;
use super::service;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Free space under which recording fails soon.
const DISK_LOW: u64 = 100 << 20;
/// Free space worth a warning.
const DISK_WARN: u64 = 1 << 30;

/// How one check came out (the same words as `codexd --check-storage --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Health {
    Ok,
    Warn,
    Problem,
}

/// One check, as codexd's storage report words it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Check {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<PathBuf>,
    what: String,
    health: Health,
    detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

#[derive(Deserialize)]
struct StorageReport {
    checks: Vec<Check>,
}

fn check(what: &str, health: Health, detail: impl Into<String>, fix: Option<String>) -> Check {
    Check {
        path: None,
        what: what.into(),
        health,
        detail: detail.into(),
        fix,
    }
}

fn at(mut c: Check, path: &Path) -> Check {
    c.path = Some(path.to_path_buf());
    c
}

/// Run every check and print them; 0 when nothing is a problem, 1 otherwise.
pub fn run(target: &Target, out: Out) -> Result<u8, CliError> {
    let mut checks = Vec::new();
    match service::find_codexd() {
        Ok(codexd) => {
            checks.push(at(
                check("codexd binary", Health::Ok, "found", None),
                &codexd,
            ));
            daemon_files(&mut checks, &codexd, &target.home);
        }
        Err(e) => checks.push(check(
            "codexd binary",
            Health::Problem,
            e.to_string(),
            Some("install codexd from the same version as this codex".into()),
        )),
    }
    let running = daemon(&mut checks, target);
    socket(&mut checks, &target.socket, running);
    lock(&mut checks, &target.home, running);
    disk(&mut checks, &target.home);
    unit(&mut checks);

    let problems = checks
        .iter()
        .filter(|c| c.health == Health::Problem)
        .count();
    if out.json {
        render::json(&json!({ "ok": problems == 0, "problems": problems, "checks": checks }))?;
    } else {
        for c in &checks {
            let mark = match c.health {
                Health::Ok => "ok     ",
                Health::Warn => "warn   ",
                Health::Problem => "PROBLEM",
            };
            match &c.path {
                Some(p) => println!("{mark} {}: {} ({})", c.what, c.detail, p.display()),
                None => println!("{mark} {}: {}", c.what, c.detail),
            }
            if let Some(fix) = &c.fix {
                println!("        fix: {fix}");
            }
        }
        if problems == 0 {
            println!("all is well");
        } else {
            println!("{problems} problem(s) found");
        }
    }
    Ok(u8::from(problems > 0))
}

/// The config and the storage files, as the codexd that would start sees them.
fn daemon_files(checks: &mut Vec<Check>, codexd: &Path, home: &Path) {
    let config = Command::new(codexd)
        .arg("--check-config")
        .stdin(Stdio::null())
        .output();
    match config {
        Ok(o) if o.status.success() => checks.push(check(
            "config",
            Health::Ok,
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
            None,
        )),
        Ok(o) => {
            checks.push(check(
                "config",
                Health::Problem,
                String::from_utf8_lossy(&o.stderr).trim().to_string(),
                Some(
                    "correct the key named (config/personalized_learning.yaml documents each); \
                     `codexd --check-config` says when it is valid"
                        .into(),
                ),
            ));
            checks.push(check(
                "storage",
                Health::Warn,
                "not checked: where the files are depends on a valid config",
                None,
            ));
            return;
        }
        Err(e) => {
            checks.push(check(
                "config",
                Health::Problem,
                format!("cannot run {}: {e}", codexd.display()),
                None,
            ));
            return;
        }
    }
    let storage = Command::new(codexd)
        .arg("--home")
        .arg(home)
        .args(["--check-storage", "--json"])
        .stdin(Stdio::null())
        .output();
    let parsed = storage.as_ref().ok().and_then(|o| {
        serde_json::from_slice::<StorageReport>(&o.stdout)
            .ok()
            .map(|r| r.checks)
    });
    match (parsed, storage) {
        (Some(found), _) => checks.extend(found),
        (None, Ok(o)) => checks.push(check(
            "storage",
            Health::Problem,
            format!(
                "{} --check-storage answered nothing readable (exit {:?}): {}",
                codexd.display(),
                o.status.code(),
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Some("install codexd and codex from the same version".into()),
        )),
        (None, Err(e)) => checks.push(check(
            "storage",
            Health::Problem,
            format!("cannot run {}: {e}", codexd.display()),
            None,
        )),
    }
}

/// Whether a daemon answers, its version and its sandbox; `true` when one answers.
fn daemon(checks: &mut Vec<Check>, target: &Target) -> bool {
    let (mut client, hello) = match target.connect_existing() {
        Ok(Some(c)) => c,
        Ok(None) => {
            checks.push(check(
                "daemon",
                Health::Ok,
                "not running (codex starts it when needed)",
                None,
            ));
            checks.push(check(
                "sandbox",
                Health::Warn,
                "not checked: the daemon measures it when it starts",
                Some("`codex daemon start`, then `codex doctor` again".into()),
            ));
            return false;
        }
        Err(e) => {
            checks.push(at(
                check(
                    "daemon",
                    Health::Problem,
                    e.to_string(),
                    Some(
                        "a codexd of another version, or something else, is on this socket: \
                         stop it (`codex daemon stop`, else kill the pid in CODEX_HOME/codexd.lock)"
                            .into(),
                    ),
                ),
                &target.socket,
            ));
            return false;
        }
    };
    let mine = env!("CARGO_PKG_VERSION");
    if hello.home != target.home {
        checks.push(at(
            check(
                "daemon",
                Health::Problem,
                format!(
                    "the codexd on this socket (pid {}) serves CODEX_HOME {}, not {}",
                    hello.pid,
                    hello.home.display(),
                    target.home.display()
                ),
                Some(
                    "give each CODEX_HOME its own socket (CODEX_SOCKET or --socket), or use \
                     the same CODEX_HOME as that daemon"
                        .into(),
                ),
            ),
            &target.socket,
        ));
    } else if hello.daemon_version == mine {
        checks.push(check(
            "daemon",
            Health::Ok,
            format!(
                "codexd {} answers (pid {})",
                hello.daemon_version, hello.pid
            ),
            None,
        ));
    } else {
        checks.push(check(
            "daemon",
            Health::Problem,
            format!(
                "codexd {} (pid {}) answers, but this codex is {mine}",
                hello.daemon_version, hello.pid
            ),
            Some(
                "restart it so the codexd of this version runs: `codex daemon stop` (or \
                 `systemctl --user restart codexd` for the service)"
                    .into(),
            ),
        ));
    }
    match client.call::<Status>(&NoParams {}) {
        Ok(s) if s.sandbox.enforced => checks.push(check(
            "sandbox",
            Health::Ok,
            format!(
                "enforced ({}, Landlock ABI {})",
                s.sandbox.mode, s.sandbox.landlock_abi
            ),
            None,
        )),
        Ok(s) => checks.push(check(
            "sandbox",
            Health::Warn,
            format!(
                "NOT enforced ({}): {}; only read-only steps run without asking",
                s.sandbox.mode, s.sandbox.reason
            ),
            Some(
                "needs Linux 6.2 or newer with Landlock (ABI 3) and seccomp, and user namespaces \
                 for git projects; `safety.sandbox: off` in the config turns it off"
                    .into(),
            ),
        )),
        Err(e) => checks.push(check(
            "sandbox",
            Health::Warn,
            format!("status did not answer: {e}"),
            None,
        )),
    }
    true
}

/// The socket file and its folder: the user's own, closed to others; stale when nothing
/// answers on it.
fn socket(checks: &mut Vec<Check>, socket: &Path, running: bool) {
    if let Some(dir) = socket.parent()
        && let Ok(m) = std::fs::metadata(dir)
    {
        checks.push(at(private("socket folder", &m, 0o700, dir), dir));
    }
    let m = match std::fs::symlink_metadata(socket) {
        Ok(m) => m,
        Err(_) => return, // no socket: nothing runs, said above
    };
    if !m.file_type().is_socket() {
        checks.push(at(
            check(
                "socket",
                Health::Problem,
                "is not a socket: codexd refuses to start rather than remove it",
                Some(format!("move it away: mv {0} {0}.old", socket.display())),
            ),
            socket,
        ));
        return;
    }
    let c = private("socket", &m, 0o600, socket);
    if c.health != Health::Ok {
        checks.push(at(c, socket));
    } else if running {
        checks.push(at(
            check("socket", Health::Ok, "private (0600)", None),
            socket,
        ));
    } else {
        checks.push(at(
            check(
                "socket",
                Health::Warn,
                "stale: nothing answers on it (a daemon that was killed left it)",
                Some(
                    "nothing to do: the next codexd removes it once it holds the lock; or \
                     remove it yourself"
                        .into(),
                ),
            ),
            socket,
        ));
    }
}

fn private(what: &str, m: &std::fs::Metadata, mode: u32, path: &Path) -> Check {
    let uid = rustix::process::geteuid().as_raw();
    let perm = m.permissions().mode() & 0o777;
    if m.uid() != uid {
        check(
            what,
            Health::Problem,
            format!("belongs to uid {}, not to you (uid {uid})", m.uid()),
            Some(format!("chown {uid} {}", path.display())),
        )
    } else if perm & 0o077 != 0 {
        check(
            what,
            Health::Problem,
            format!("mode {perm:04o}: others can reach it"),
            Some(format!("chmod {mode:04o} {}", path.display())),
        )
    } else {
        check(what, Health::Ok, format!("private ({perm:04o})"), None)
    }
}

/// The instance lock, read without taking it: /proc/locks names who holds it.
fn lock(checks: &mut Vec<Check>, home: &Path, running: bool) {
    let path = codex_proto::paths::lock_file(home);
    let Ok(m) = std::fs::metadata(&path) else {
        return; // never started
    };
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    let pid = written.trim().to_string();
    match lock_held(&m) {
        Some(holder) if running => checks.push(at(
            check(
                "lock",
                Health::Ok,
                format!("held by codexd pid {holder}"),
                None,
            ),
            &path,
        )),
        Some(holder) => checks.push(at(
            check(
                "lock",
                Health::Problem,
                format!(
                    "held by pid {holder}, which does not answer on the socket: a codexd still \
                     starting, stuck, or listening on another socket (CODEX_SOCKET)"
                ),
                Some(format!(
                    "wait a moment and run `codex doctor` again; if it stays, `kill {holder}` \
                     (codexd flushes and exits on SIGTERM)"
                )),
            ),
            &path,
        )),
        None if running => {}
        None => checks.push(at(
            check(
                "lock",
                Health::Ok,
                format!(
                    "free (left by pid {}, which has exited: harmless, the next codexd takes it)",
                    if pid.is_empty() { "?" } else { &pid }
                ),
                None,
            ),
            &path,
        )),
    }
}

/// Who holds a `flock` on the file with this metadata, from /proc/locks (`None` when
/// nobody, or when /proc/locks cannot be read).
fn lock_held(m: &std::fs::Metadata) -> Option<String> {
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    let dev = m.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let id = format!("{major:02x}:{minor:02x}:{}", m.ino());
    text.lines().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
        let at = words.iter().position(|w| *w == id)?;
        (words.contains(&"FLOCK") && at >= 1).then(|| words[at - 1].to_string())
    })
}

/// Free space on the file system holding CODEX_HOME (or its nearest existing parent).
fn disk(checks: &mut Vec<Check>, home: &Path) {
    let Some(existing) = home.ancestors().find(|p| p.exists()) else {
        return;
    };
    let free = match rustix::fs::statvfs(existing) {
        Ok(st) => st.f_bavail.saturating_mul(st.f_frsize),
        Err(e) => {
            checks.push(at(
                check(
                    "disk",
                    Health::Warn,
                    format!("cannot tell free space: {e}"),
                    None,
                ),
                existing,
            ));
            return;
        }
    };
    let shown = format!("{:.1} GiB free", free as f64 / f64::from(1u32 << 30));
    let c = if free < DISK_LOW {
        check(
            "disk",
            Health::Problem,
            format!("{shown}: runs and ratings cannot be recorded once it is full"),
            Some("free some space on that file system (or move CODEX_HOME)".into()),
        )
    } else if free < DISK_WARN {
        check(
            "disk",
            Health::Warn,
            format!("{shown}: little room left"),
            Some("free some space on that file system".into()),
        )
    } else {
        check("disk", Health::Ok, shown, None)
    };
    checks.push(at(c, existing));
}

/// The systemd unit, when one is installed: it must start a codexd that exists.
fn unit(checks: &mut Vec<Check>) {
    let Ok(dir) = service::unit_dir() else {
        return;
    };
    let path = dir.join(service::UNIT);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let start = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or("")
        .trim_matches('"')
        .replace("%%", "%");
    let c = if start.contains("%h") {
        check(
            "service",
            Health::Ok,
            format!("installed by hand (ExecStart={start})"),
            None,
        )
    } else if Path::new(&start).is_file() {
        check(
            "service",
            Health::Ok,
            format!("installed (ExecStart={start})"),
            None,
        )
    } else {
        check(
            "service",
            Health::Problem,
            format!("installed, but ExecStart={start} does not exist"),
            Some("`codex service install` points it at the codexd beside this codex".into()),
        )
    };
    checks.push(at(c, &path));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_lock_held_here_is_found_in_proc_locks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("codexd.lock");
        let f = std::fs::File::create(&p).unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(lock_held(&m), None);
        f.try_lock().unwrap();
        if std::fs::read_to_string("/proc/locks").is_ok() {
            assert_eq!(lock_held(&m), Some(std::process::id().to_string()));
        }
    }
}
