//! `codex service install|uninstall|status` and the unit's `hand-over`: codexd as a systemd
//! user service.
//!
//! The unit is config/codexd.service, compiled in, with its two program paths replaced by
//! the running `codex` and the `codexd` beside it (else the one on PATH). Nothing here needs
//! systemd: the unit is written to `$XDG_CONFIG_HOME/systemd/user` and the `systemctl --user`
//! commands are printed; `--now` runs them only when `systemctl --user` answers.
//!
//! Hand-over: a daemon that `codex` started by itself holds CODEX_HOME's lock, so the unit's
//! codexd would exit 3. The unit runs `codex service hand-over` first (ExecStartPre), which
//! stops that daemon gracefully and waits until it has exited.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codex_proto::methods::{DaemonStop, NoParams};
use codex_proto::paths::Env;
use serde_json::json;

use super::Out;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// The unit's file name.
pub const UNIT: &str = "codexd.service";
/// The unit as shipped, with `%h/.cargo/bin` paths.
const TEMPLATE: &str = include_str!("../../../../config/codexd.service");
/// The template's lines that name the binaries.
const PRE_LINE: &str = "ExecStartPre=-%h/.cargo/bin/codex service hand-over";
const START_LINE: &str = "ExecStart=%h/.cargo/bin/codexd";
/// How long a hand-over waits for the old daemon to flush and exit.
const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `install --now` waits for the started service to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// What can go wrong installing or handing over.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Neither XDG_CONFIG_HOME nor HOME.
    #[error("cannot find the systemd user folder: set XDG_CONFIG_HOME or HOME")]
    NoConfigDir,
    /// The running executable is unknown.
    #[error("cannot find this codex binary ({0}); run codex by its full path")]
    OwnExe(std::io::Error),
    /// No codexd to point ExecStart at.
    #[error(
        "cannot find codexd beside {} or on PATH; install it (`cargo install --path \
         crates/codexd`) and run `codex service install` again", .0.display()
    )]
    NoDaemon(PathBuf),
    /// A path systemd cannot take.
    #[error("{}: systemd cannot run a program whose path holds a newline", .0.display())]
    BadPath(PathBuf),
    /// A file operation failed.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// `systemctl --user` does not answer.
    #[error(
        "systemctl --user does not work here ({0}); the unit is in place: run the commands \
         above in your login session"
    )]
    NoSystemctl(String),
    /// A systemctl command failed.
    #[error("`{command}` failed: {detail}")]
    Systemctl {
        /// The command line.
        command: String,
        /// Its stderr.
        detail: String,
    },
    /// The old daemon did not go.
    #[error(
        "codexd (pid {pid}) for {} did not exit within {} s of being asked to stop; stop it \
         with `kill {pid}`", .home.display(), HAND_OVER_TIMEOUT.as_secs()
    )]
    StillRunning {
        /// Its pid.
        pid: u32,
        /// Its CODEX_HOME.
        home: PathBuf,
    },
}

impl From<ServiceError> for CliError {
    fn from(e: ServiceError) -> Self {
        CliError::Other(e.to_string())
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ServiceError {
    let path = path.to_path_buf();
    move |source| ServiceError::Io {
        action,
        path,
        source,
    }
}

/// `$XDG_CONFIG_HOME/systemd/user` (default `~/.config/systemd/user`).
pub fn unit_dir() -> Result<PathBuf, ServiceError> {
    Env::from_process()
        .config_dir
        .map(|d| d.join("systemd").join("user"))
        .ok_or(ServiceError::NoConfigDir)
}

/// The `codexd` beside this executable, else the first on PATH.
pub fn find_codexd() -> Result<PathBuf, ServiceError> {
    let exe = std::env::current_exe().map_err(ServiceError::OwnExe)?;
    let beside = exe.parent().map(|d| d.join("codexd"));
    if let Some(p) = beside.filter(|p| is_executable(p)) {
        return Ok(p);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .filter(|d| d.is_absolute())
        .map(|d| d.join("codexd"))
        .find(|p| is_executable(p))
        .ok_or(ServiceError::NoDaemon(exe))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A path as one word of a systemd command line: `%` and `$` would be expanded, `\` and `"`
/// are escapes, and whitespace splits words unless quoted.
fn systemd_word(p: &Path) -> Result<String, ServiceError> {
    let s = p.to_string_lossy();
    if s.contains('\n') {
        return Err(ServiceError::BadPath(p.to_path_buf()));
    }
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    Ok(
        if escaped.chars().any(char::is_whitespace) || escaped != s {
            format!("\"{escaped}\"")
        } else {
            escaped
        },
    )
}

/// The unit for these binaries.
pub fn render_unit(codex: &Path, codexd: &Path) -> Result<String, ServiceError> {
    let pre = format!("ExecStartPre=-{} service hand-over", systemd_word(codex)?);
    let start = format!("ExecStart={}", systemd_word(codexd)?);
    let body: Vec<&str> = TEMPLATE
        .lines()
        .map(|l| match l {
            PRE_LINE => pre.as_str(),
            START_LINE => start.as_str(),
            other => other,
        })
        .collect();
    Ok(format!(
        "# Written by `codex service install` (codex {}); `codex service uninstall` removes it.\n{}\n",
        env!("CARGO_PKG_VERSION"),
        body.join("\n")
    ))
}

/// Whether `systemctl --user` reaches a user manager; why not otherwise.
fn systemctl_usable() -> Result<(), String> {
    match Command::new("systemctl")
        .args(["--user", "show-environment"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => Err(format!("cannot run systemctl: {e}")),
    }
}

fn systemctl(args: &[&str]) -> Result<String, ServiceError> {
    let command = format!("systemctl --user {}", args.join(" "));
    let o = Command::new("systemctl")
        .arg("--user")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ServiceError::Systemctl {
            command: command.clone(),
            detail: e.to_string(),
        })?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
    } else {
        Err(ServiceError::Systemctl {
            command,
            detail: String::from_utf8_lossy(&o.stderr).trim().to_string(),
        })
    }
}

/// Replace `path` by `text` atomically (temp file in the same folder, then rename).
fn write_file(path: &Path, text: &str) -> Result<(), ServiceError> {
    let tmp = path.with_extension("service.tmp");
    std::fs::write(&tmp, text).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("replace", path))
}

/// `codex service install [--now]`.
pub fn install(target: &Target, out: Out, now: bool) -> Result<u8, CliError> {
    let dir = unit_dir()?;
    let path = dir.join(UNIT);
    let codex = std::env::current_exe().map_err(ServiceError::OwnExe)?;
    let codexd = find_codexd()?;
    let text = render_unit(&codex, &codexd)?;
    let changed = std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str());
    if changed {
        std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        write_file(&path, &text)?;
    }
    let commands = [
        "systemctl --user daemon-reload".to_string(),
        format!("systemctl --user enable --now {UNIT}"),
    ];
    // Asked before anything is printed, so the commands are shown when they cannot be run.
    let usable = now.then(systemctl_usable);
    if !out.json {
        if changed {
            println!("wrote {} (ExecStart {})", path.display(), codexd.display());
        } else {
            println!("{} is installed and up to date", path.display());
        }
        if !now || usable.as_ref().is_some_and(Result::is_err) {
            println!("start it now and at every login with:");
            for c in &commands {
                println!("  {c}");
            }
            println!(
                "a codexd that codex started by itself stops and hands over when the service \
                 starts"
            );
        }
    }
    let mut pid = None;
    if let Some(usable) = usable {
        usable.map_err(ServiceError::NoSystemctl)?;
        systemctl(&["daemon-reload"])?;
        systemctl(&["enable", "--now", UNIT])?;
        pid = Some(wait_for_service(target)?);
        if !out.json {
            println!(
                "codexd runs as {UNIT} (pid {}); logs: journalctl --user -u codexd",
                pid.unwrap_or_default()
            );
        }
    }
    if out.json {
        render::json(&json!({
            "unit": path,
            "changed": changed,
            "exec_start": codexd,
            "commands": commands,
            "started": now,
            "pid": pid,
        }))?;
    }
    Ok(0)
}

/// Wait until the service's codexd answers; its pid.
fn wait_for_service(target: &Target) -> Result<u32, CliError> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some((_, hello))) = target.connect_existing() {
            let main = systemctl(&["show", "--property=MainPID", "--value", UNIT]).ok();
            // The answer may still come from the daemon being handed over.
            if main.as_deref() == Some(hello.pid.to_string().as_str()) {
                return Ok(hello.pid);
            }
        }
        if Instant::now() >= deadline {
            return Err(CliError::Other(format!(
                "{UNIT} did not answer on {} within {} s; see `systemctl --user status {UNIT}` \
                 and `journalctl --user -u codexd`",
                target.socket.display(),
                READY_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `codex service uninstall [--now]`.
pub fn uninstall(out: Out, now: bool) -> Result<u8, CliError> {
    let dir = unit_dir()?;
    let path = dir.join(UNIT);
    let wants = dir.join("default.target.wants").join(UNIT);
    let installed = path.exists();
    let enabled = wants.symlink_metadata().is_ok();
    let commands = [
        format!("systemctl --user stop {UNIT}"),
        "systemctl --user daemon-reload".to_string(),
    ];
    if now && (installed || enabled) {
        systemctl_usable().map_err(ServiceError::NoSystemctl)?;
        // Disabled while its file is still there, so systemd knows what to undo.
        systemctl(&["disable", "--now", UNIT])?;
    }
    if enabled {
        std::fs::remove_file(&wants).map_err(io("remove", &wants))?;
    }
    if installed {
        std::fs::remove_file(&path).map_err(io("remove", &path))?;
    }
    if now && (installed || enabled) {
        systemctl(&["daemon-reload"])?;
    }
    if out.json {
        render::json(&json!({
            "unit": path,
            "removed": installed || enabled,
            "commands": commands,
            "stopped": now && (installed || enabled),
        }))?;
    } else if !(installed || enabled) {
        println!(
            "{UNIT} is not installed ({} does not exist)",
            path.display()
        );
    } else {
        println!("removed {}", path.display());
        if now {
            println!("{UNIT} is stopped and disabled");
        } else {
            println!("if it is running, stop it and let systemd forget it with:");
            for c in &commands {
                println!("  {c}");
            }
        }
    }
    Ok(0)
}

/// `codex service status`.
pub fn status(out: Out) -> Result<u8, CliError> {
    let dir = unit_dir()?;
    let path = dir.join(UNIT);
    let text = std::fs::read_to_string(&path).ok();
    let exec_start = text.as_deref().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .map(str::to_string)
    });
    let expected = std::env::current_exe()
        .ok()
        .zip(find_codexd().ok())
        .and_then(|(codex, codexd)| render_unit(&codex, &codexd).ok());
    let up_to_date = text.is_some() && text == expected;
    let enabled = dir
        .join("default.target.wants")
        .join(UNIT)
        .symlink_metadata()
        .is_ok();
    let systemd = match systemctl_usable() {
        Ok(()) => {
            let ask = |what: &str| {
                // is-active and is-enabled answer on stdout and say "no" with their status.
                Command::new("systemctl")
                    .args(["--user", what, UNIT])
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                    .unwrap_or_default()
            };
            Ok((ask("is-active"), ask("is-enabled")))
        }
        Err(why) => Err(why),
    };
    if out.json {
        let sd = match &systemd {
            Ok((active, enabled)) => {
                json!({ "available": true, "active": active, "enabled": enabled })
            }
            Err(why) => json!({ "available": false, "reason": why }),
        };
        render::json(&json!({
            "unit": path,
            "installed": text.is_some(),
            "up_to_date": up_to_date,
            "exec_start": exec_start,
            "enabled": enabled,
            "systemd": sd,
        }))?;
        return Ok(0);
    }
    match &exec_start {
        None => println!(
            "not installed ({} does not exist): `codex service install` writes it",
            path.display()
        ),
        Some(start) => {
            println!("installed  {} (ExecStart {start})", path.display());
            if !up_to_date {
                println!(
                    "           not what this codex would write (another version or binary): \
                     `codex service install` updates it"
                );
            }
            println!(
                "enabled    {}",
                if enabled {
                    "yes (starts at login)"
                } else {
                    "no"
                }
            );
        }
    }
    match systemd {
        Ok((active, enabled)) => println!("systemd    {active}, {enabled}"),
        Err(why) => println!("systemd    systemctl --user does not work here ({why})"),
    }
    Ok(0)
}

/// `codex service hand-over`: stop a daemon running for this CODEX_HOME (one `codex`
/// started by itself) and wait until it has exited, so the service's codexd can take the
/// lock. Nothing running is fine.
pub fn hand_over(target: &Target) -> Result<u8, CliError> {
    let lock = codex_proto::paths::lock_file(&target.home);
    let Some(pid) = lock_holder(&lock)? else {
        println!(
            "no codexd runs for {}: nothing to hand over",
            target.home.display()
        );
        return Ok(0);
    };
    // Gracefully through the socket, as `codex daemon stop`; an old daemon that does not
    // speak this protocol, or one listening elsewhere, gets SIGTERM, which it handles alike.
    let asked = match target.connect_existing() {
        Ok(Some((mut client, hello))) if hello.home == target.home => {
            client.call::<DaemonStop>(&NoParams {}).is_ok()
        }
        _ => false,
    };
    if !asked {
        terminate(pid)?;
    }
    println!("asked codexd (pid {pid}) to stop; waiting until it has flushed and exited");
    let deadline = Instant::now() + HAND_OVER_TIMEOUT;
    while lock_holder(&lock)?.is_some() {
        if Instant::now() >= deadline {
            return Err(ServiceError::StillRunning {
                pid,
                home: target.home.clone(),
            }
            .into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("codexd (pid {pid}) stopped: handed over");
    Ok(0)
}

/// The pid of the daemon holding `lock` (`Some(0)` when it wrote none), `None` when nobody
/// holds it. Taking the lock for a moment is how to know; it is let go at once.
fn lock_holder(lock: &Path) -> Result<Option<u32>, ServiceError> {
    let file = match File::open(lock) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("open", lock)(e)),
    };
    match file.try_lock() {
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => {
            let text = std::fs::read_to_string(lock).unwrap_or_default();
            Ok(Some(text.trim().parse().unwrap_or(0)))
        }
        Err(TryLockError::Error(e)) => Err(io("lock", lock)(e)),
    }
}

/// SIGTERM to `pid`, only if it is a codexd (the pid in a lock file may be reused).
fn terminate(pid: u32) -> Result<(), ServiceError> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let raw = i32::try_from(pid).ok();
    match (
        comm.trim() == "codexd",
        raw.and_then(rustix::process::Pid::from_raw),
    ) {
        (true, Some(p)) => rustix::process::kill_process(p, rustix::process::Signal::TERM)
            .map_err(|e| io("signal codexd", Path::new(&format!("/proc/{pid}")))(e.into())),
        // Not a codexd, or no pid written: nothing safe to signal; the wait says so.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_template_names_both_binaries_where_install_replaces_them() {
        assert!(TEMPLATE.lines().any(|l| l == PRE_LINE));
        assert!(TEMPLATE.lines().any(|l| l == START_LINE));
        let unit = render_unit(Path::new("/opt/c x/codex"), Path::new("/opt/100%/codexd")).unwrap();
        assert!(
            unit.contains("ExecStartPre=-\"/opt/c x/codex\" service hand-over\n"),
            "{unit}"
        );
        assert!(unit.contains("ExecStart=\"/opt/100%%/codexd\"\n"), "{unit}");
        assert!(!unit.contains("%h/.cargo"), "{unit}");
        assert!(unit.contains("KillMode=control-group"));
    }

    /// The step sandbox makes user, mount and IPC namespaces and mounts, installs Landlock
    /// and seccomp, and steps use the network: the unit must leave all of that alone.
    #[test]
    fn the_unit_leaves_the_sandbox_what_it_needs() {
        let value = |key: &str| -> Vec<&str> {
            TEMPLATE
                .lines()
                .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .flat_map(str::split_whitespace)
                .collect()
        };
        let safe = [
            "@clock",
            "@cpu-emulation",
            "@module",
            "@obsolete",
            "@raw-io",
            "@reboot",
            "@swap",
        ];
        for group in value("SystemCallFilter") {
            let group = group.trim_start_matches('~');
            assert!(safe.contains(&group), "SystemCallFilter refuses {group}");
        }
        let families = value("RestrictAddressFamilies");
        for needed in ["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"] {
            assert!(families.contains(&needed), "no {needed}");
        }
        for absent in [
            "RestrictNamespaces",
            "PrivateUsers",
            "PrivateNetwork",
            "PrivateTmp",
            "ProtectHome",
            "ProtectSystem",
            "MemoryDenyWriteExecute",
            "CapabilityBoundingSet",
        ] {
            assert!(value(absent).is_empty(), "{absent} is set");
        }
        assert_eq!(value("KillMode"), ["control-group"]);
        assert_eq!(
            value("RestartPreventExitStatus"),
            ["2"],
            "3 must be retried"
        );
    }

    #[test]
    fn paths_with_newlines_are_refused() {
        assert!(render_unit(Path::new("/a\nb"), Path::new("/c")).is_err());
    }
}
