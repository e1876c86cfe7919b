//! `codex daemon start|stop`.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use codex_proto::methods::{DaemonStop, NoParams};
use serde_json::json;

use super::Out;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// How long `stop` waits for the daemon to finish flushing and exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Start the daemon if it is not running.
pub fn start(target: &Target, out: Out) -> Result<u8, CliError> {
    let started = target.connect_existing()?.is_none();
    let forced = Target {
        autostart: true,
        ..target.clone()
    };
    let (_, hello) = forced.connect()?;
    if out.json {
        render::json(&json!({ "pid": hello.pid, "started": started }))?;
    } else if started {
        println!("codexd started (pid {})", hello.pid);
    } else {
        println!("codexd is already running (pid {})", hello.pid);
    }
    Ok(0)
}

/// Ask the daemon to stop and wait until it has released CODEX_HOME.
pub fn stop(target: &Target, out: Out) -> Result<u8, CliError> {
    let Some((mut client, hello)) = target.connect_existing()? else {
        if out.json {
            render::json(&json!({ "stopped": false, "running": false }))?;
        } else {
            println!("codexd is not running");
        }
        return Ok(0);
    };
    let res = client.call::<DaemonStop>(&NoParams {})?;
    drop(client);
    if !out.json {
        println!("stopping codexd (pid {})...", res.pid);
    }
    wait_for_exit(&codex_proto::paths::lock_file(&hello.home), res.pid)?;
    if out.json {
        render::json(&json!({ "stopped": true, "pid": res.pid }))?;
    } else {
        println!("codexd stopped");
    }
    Ok(0)
}

/// The daemon holds its lock until the process exits: once we can take it, it is gone.
fn wait_for_exit(lock: &Path, pid: u32) -> Result<(), CliError> {
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        let free = match File::open(lock) {
            Ok(f) => match f.try_lock() {
                Ok(()) => true,
                Err(TryLockError::WouldBlock) => false,
                Err(TryLockError::Error(e)) => return Err(CliError::Io(e)),
            },
            Err(_) => true,
        };
        if free {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(CliError::Other(format!(
                "codexd (pid {pid}) is still running {} s after being asked to stop",
                STOP_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
