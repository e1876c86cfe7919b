//! Starting codexd when no daemon answers: the `codexd` beside this executable (else the one
//! on PATH), detached into its own session-less process group, its log in
//! `$CODEX_HOME/log/codexd.log`; then wait until it answers.

use std::fs::OpenOptions;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::{Client, connect_error, is_not_running};
use crate::error::CliError;

/// How long to wait for a started daemon to answer.
pub const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// codexd's exit status when another daemon holds the lock (one started concurrently).
const ALREADY_RUNNING: i32 = 3;

/// Where the daemon binary is.
fn daemon_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("codexd")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("codexd"))
}

/// Start codexd for `home` on `socket` and return a connection once it answers.
pub fn start(home: &Path, socket: &Path) -> Result<Client, CliError> {
    let bin = daemon_binary();
    let log_path = codex_proto::paths::log_file(home);
    if let Some(dir) = log_path.parent() {
        // Private from the first folder made: CODEX_HOME holds what codex learned about you.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| CliError::Autostart(format!("cannot create {}: {e}", dir.display())))?;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| CliError::Autostart(format!("cannot open {}: {e}", log_path.display())))?;
    let mut child = Command::new(&bin)
        .arg("--home")
        .arg(home)
        .arg("--socket")
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        // Its own process group: a Ctrl-C meant for this command does not reach the daemon.
        .process_group(0)
        .spawn()
        .map_err(|e| CliError::Autostart(format!("cannot start {}: {e}", bin.display())))?;

    let deadline = Instant::now() + READY_TIMEOUT;
    let mut pause = Duration::from_millis(2);
    let mut exited = None;
    loop {
        match Client::connect(socket) {
            Ok(c) => return Ok(c),
            Err(e) if is_not_running(&e) => {}
            Err(e) => return Err(connect_error(socket, e)),
        }
        if exited.is_none()
            && let Ok(Some(status)) = child.try_wait()
        {
            // Lost a race with another `codex` starting the daemon: keep waiting for it.
            if status.code() != Some(ALREADY_RUNNING) {
                return Err(CliError::Autostart(format!(
                    "codexd exited with {status} right after starting; from {}:\n{}",
                    log_path.display(),
                    log_tail(&log_path, 10)
                )));
            }
            exited = Some(status);
        }
        if Instant::now() >= deadline {
            return Err(CliError::Autostart(format!(
                "codexd did not answer on {} within {} s; see {}",
                socket.display(),
                READY_TIMEOUT.as_secs(),
                log_path.display()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The first time `codex` starts codexd for a CODEX_HOME, say so on stderr, with where it
/// logs and how to stop it; later starts are silent (a mark in the log folder remembers).
pub fn say_once(home: &Path) {
    let log = codex_proto::paths::log_file(home);
    let Some(mark) = log.parent().map(|d| d.join("autostart-noted")) else {
        return;
    };
    if mark.exists() {
        return;
    }
    eprintln!(
        "codex: started codexd in the background (it keeps running; log: {}; `codex daemon \
         stop` stops it, `codex service install` runs it as a service). Said once.",
        log.display()
    );
    // Private like everything under CODEX_HOME.
    let made = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&mark);
    if let Err(e) = made {
        eprintln!(
            "codex: cannot note that this was said ({}: {e})",
            mark.display()
        );
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
