//! `codex capture pause|resume|status` and `codex capture record` (what the shell hook runs).
//!
//! `record` is fire-and-forget for the shell, which starts it in the background: it never
//! starts the daemon, never says hello and never prints; it connects (giving up at once when
//! nothing listens, and after [`LIMIT`] when the daemon does not accept), writes one request
//! line, reads the answer for at most [`LIMIT`] and exits 0 whatever happened. It stays for
//! the answer because the daemon checks who asks (`server/peers.rs`: codexd's own steps may
//! not record) from the client's process, and refuses a client it can no longer see.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_proto::capture::{
    CaptureAction, CaptureRecord, CaptureRecordParams, CaptureState, CaptureStateParams,
    CaptureStatus, MAX_COMMAND_BYTES,
};
use codex_proto::jsonrpc::Request;
use codex_proto::methods::Method;
use codex_proto::paths::Env;

use super::Out;
use crate::cli::{CaptureRecordArgs, Global};
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Longest wait for a daemon that does not accept (its backlog full), and for its answer:
/// the hook runs this in the background, so this only bounds how long it lingers.
const LIMIT: Duration = Duration::from_secs(2);

/// Pause, resume or show capture.
pub fn state(target: &Target, out: Out, action: CaptureAction) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let s = client.call::<CaptureState>(&CaptureStateParams { action })?;
    if out.json {
        render::json(&s)?;
        return Ok(0);
    }
    print!("{}", describe(&s));
    Ok(0)
}

/// `codex capture status` in words.
fn describe(s: &CaptureStatus) -> String {
    let mut t = String::new();
    let state = if s.active {
        "on".to_string()
    } else if !s.enabled {
        "off: capture.enabled is false in the config".to_string()
    } else if !s.tracking {
        "off: interaction_tracking_enabled is false in the config".to_string()
    } else {
        match s.paused_since {
            Some(at) => format!(
                "paused since {} (`codex capture resume` records again)",
                render::when(at)
            ),
            None => "paused (`codex capture resume` records again)".to_string(),
        }
    };
    t.push_str(&format!("capture   {state}\n"));
    t.push_str(&format!(
        "recorded  {} since the daemon started ({} left out)\n",
        render::count(s.recorded, "command", "commands"),
        s.skipped
    ));
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    t.push_str("filters   a leading space\n");
    t.push_str(&format!(
        "          folders (capture.exclude_dirs): {}\n",
        list(&s.exclude_dirs)
    ));
    t.push_str(&format!(
        "          commands (capture.exclude_patterns): {}\n",
        list(&s.exclude_patterns)
    ));
    t.push_str(&format!("state     {}\n", s.state_file.display()));
    t
}

/// Record one finished command; exits 0 whatever happens (see the module doc).
pub fn record(global: &Global, args: CaptureRecordArgs) -> u8 {
    if let Some((socket, line)) = request(global, args) {
        send(&socket, &line);
    }
    0
}

/// The socket and the request line, or `None` when there is nothing to send.
fn request(global: &Global, args: CaptureRecordArgs) -> Option<(PathBuf, String)> {
    let command = args.command.join(" ");
    // Left out here already, so nothing is sent: the daemon would leave them out too.
    if command.starts_with([' ', '\t']) || command.trim().is_empty() {
        return None;
    }
    let env = Env::from_process();
    let home = env.home(None).ok()?;
    let socket = env.socket(global.socket.as_deref(), &home).ok()?;
    let cwd = match args.cwd {
        Some(d) => std::path::absolute(d).ok()?,
        None => std::env::current_dir().ok()?,
    };
    let start = args.start.as_deref().and_then(seconds_to_ms);
    let end = args.end.as_deref().and_then(seconds_to_ms);
    let duration_ms = args.duration_ms.or(match (start, end) {
        (Some(s), Some(e)) if e >= s => u64::try_from(e - s).ok(),
        _ => None,
    });
    let params = CaptureRecordParams {
        // Over the cap the daemon refuses it, saying so; cut here it would be a wrong command.
        command: if command.len() > MAX_COMMAND_BYTES * 2 {
            command.chars().take(MAX_COMMAND_BYTES + 1).collect()
        } else {
            command
        },
        cwd,
        start_ms: start,
        exit: args.exit,
        duration_ms,
        shell: args.shell,
    };
    let req = Request::new(1, CaptureRecord::NAME, serde_json::to_value(&params).ok()?);
    let mut line = serde_json::to_string(&req).ok()?;
    line.push('\n');
    Some((socket, line))
}

/// `1700000000.123456` (or `1700000000,123456` in a locale that writes commas) → unix ms.
fn seconds_to_ms(s: &str) -> Option<i64> {
    let s = s.trim().replace(',', ".");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let secs: i64 = whole.parse().ok()?;
    let mut ms = String::from(frac);
    if !ms.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    ms.truncate(3);
    while ms.len() < 3 {
        ms.push('0');
    }
    secs.checked_mul(1000)?.checked_add(ms.parse().ok()?)
}

/// Connect (bounded), write the line, go. Every failure is silent.
fn send(socket: &Path, line: &str) {
    let (tx, rx) = std::sync::mpsc::channel();
    let path = socket.to_path_buf();
    // A connect to a socket nobody listens on fails at once; only a daemon whose backlog is
    // full makes it wait, and then the thread is left behind as the process exits.
    std::thread::spawn(move || {
        let _ = tx.send(UnixStream::connect(path));
    });
    let Ok(Ok(mut stream)) = rx.recv_timeout(LIMIT) else {
        return;
    };
    let _ = stream.set_write_timeout(Some(LIMIT));
    let _ = stream.set_read_timeout(Some(LIMIT));
    if stream.write_all(line.as_bytes()).is_err() {
        return;
    }
    let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stream), &mut String::new());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn epoch_seconds_with_a_fraction_become_milliseconds() {
        assert_eq!(seconds_to_ms("1700000000.123456"), Some(1_700_000_000_123));
        assert_eq!(seconds_to_ms("1700000000,5"), Some(1_700_000_000_500));
        assert_eq!(seconds_to_ms("1700000000"), Some(1_700_000_000_000));
        assert_eq!(seconds_to_ms("17e9"), None);
        assert_eq!(seconds_to_ms("1.2x"), None);
        assert_eq!(seconds_to_ms(""), None);
    }

    fn args(command: &str) -> CaptureRecordArgs {
        CaptureRecordArgs {
            shell: Some("bash".into()),
            exit: Some(1),
            start: Some("1700000000.250".into()),
            end: Some("1700000001.750".into()),
            duration_ms: None,
            cwd: Some(PathBuf::from("/tmp")),
            command: vec![command.into()],
        }
    }

    #[test]
    fn the_request_carries_the_command_as_typed_and_its_duration() {
        let global = Global {
            socket: Some(PathBuf::from("/tmp/x.sock")),
            json: false,
            no_autostart: false,
        };
        let (socket, line) = request(&global, args("echo \"$HOME\" 'a b' ; rm -rf x")).unwrap();
        assert_eq!(socket, PathBuf::from("/tmp/x.sock"));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["method"], "capture/record");
        let p = &v["params"];
        assert_eq!(p["command"], "echo \"$HOME\" 'a b' ; rm -rf x");
        assert_eq!(p["start_ms"], 1_700_000_000_250i64);
        assert_eq!(p["duration_ms"], 1500);
        assert_eq!(p["exit"], 1);
        assert!(request(&global, args(" secret")).is_none());
        assert!(request(&global, args("")).is_none());
    }
}
