//! Daemon lifecycle: one per CODEX_HOME, stale sockets, permissions, graceful stops, autostart.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::os::unix::fs::PermissionsExt;

use codex_e2e::{Home, eventually, process_running};
use rustix::process::Signal;

#[test]
fn a_second_daemon_for_the_same_home_is_refused_and_names_the_first() {
    let h = Home::new();
    let first = h.start();
    let second = h.spawn_daemon(&[]);
    let (status, log) = second.wait_with_log();
    assert_eq!(status.code(), Some(3), "{log}");
    assert!(log.contains(&format!("pid {}", first.pid())), "{log}");
    assert!(log.contains("already running"), "{log}");
    // The first one is unharmed.
    h.codex(&["status"]).ok();
}

#[test]
fn socket_is_private_and_its_folder_too() {
    let h = Home::new();
    let _d = h.start();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&h.socket), 0o600);
    assert_eq!(mode(h.socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&h.home), 0o700);
}

#[test]
fn sigterm_sigint_and_daemon_stop_all_exit_zero_and_remove_the_socket() {
    for how in ["TERM", "INT", "stop"] {
        let h = Home::new();
        let d = h.start();
        let status = match how {
            "TERM" => d.stop(),
            "INT" => {
                d.signal(Signal::INT);
                d.wait()
            }
            _ => {
                let out = h.codex(&["daemon", "stop"]).ok();
                assert!(out.stdout.contains("codexd stopped"), "{}", out.stdout);
                d.wait()
            }
        };
        assert_eq!(status.code(), Some(0), "{how}");
        assert!(!h.socket.exists(), "{how}: socket left behind");
    }
}

/// `sleep MARKER` processes (to see a step is gone; nothing is killed). Only `sleep`
/// itself: the shell that starts it holds the marker too, before the sleep exists.
fn running_with(marker: &str) -> Vec<i32> {
    let wanted = format!("sleep\0{marker}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).ends_with(&wanted))
        })
        .filter(|pid| process_running(*pid))
        .collect()
}

#[test]
fn sighup_stops_gracefully_and_a_detached_run_is_recorded_everywhere() {
    let h = Home::new();
    let d = h.start();
    // A marker no other process has, to find the step.
    let marker = format!("30.{}", std::process::id());
    h.codex(&["run", "--detach", "--", "sleep", &marker]).ok();
    eventually("the detached step runs", || {
        !running_with(&marker).is_empty()
    });
    d.signal(Signal::HUP);
    let (status, log) = d.wait_with_log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("SIGHUP"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(!h.socket.exists(), "socket left behind");
    assert!(
        running_with(&marker).is_empty(),
        "the step outlived the daemon"
    );
    // The cancelled run is in episodic memory and in the feedback signals.
    let _d = h.start();
    let history = h.codex(&["--json", "history"]).ok().json();
    assert_eq!(
        history["runs"][0]["outcome"]["status"], "cancelled",
        "{history}"
    );
    let run_id = history["runs"][0]["run_id"].as_u64().unwrap();
    let feedback = std::fs::read_to_string(h.path("storage/analytics/personalized_feedback.json"))
        .unwrap_or_default()
        + &std::fs::read_to_string(h.path("storage/analytics/personalized_feedback.journal.jsonl"))
            .unwrap_or_default();
    let needle = format!("\"run_id\":{run_id}");
    assert!(
        feedback.replace(' ', "").contains(&needle),
        "the feedback signals hold run {run_id}: {feedback}"
    );
}

#[test]
fn nothing_a_step_started_outlives_the_daemon() {
    let h = Home::new();
    let id = std::process::id();
    let (direct, child, escaped, kept) = (
        format!("31.{id}"),
        format!("32.{id}"),
        format!("33.{id}"),
        format!("34.{id}"),
    );
    // A crash: the step itself dies with codexd; what it started is ended at the next start.
    let d = h.start();
    h.codex(&["run", "--detach", "--", "sleep", &direct]).ok();
    let script = format!("sleep {child}; true");
    h.codex(&["run", "--detach", "--", "sh", "-c", &script])
        .ok();
    eventually("both steps run", || {
        !running_with(&direct).is_empty() && !running_with(&child).is_empty()
    });
    d.kill9();
    eventually("the step dies with codexd", || {
        running_with(&direct).is_empty()
    });
    let d = h.start();
    eventually(
        "what the crashed codexd's step started is ended at start",
        || running_with(&child).is_empty(),
    );
    // A clean stop ends even a process that left the step's session.
    let script = format!("setsid sleep {escaped} & sleep {kept}");
    h.codex(&["run", "--detach", "--yes", "--", "sh", "-c", &script])
        .ok();
    eventually("the step and its escapee run", || {
        !running_with(&escaped).is_empty() && !running_with(&kept).is_empty()
    });
    assert_eq!(d.stop().code(), Some(0));
    assert!(
        running_with(&kept).is_empty(),
        "the step outlived a clean stop"
    );
    assert!(
        running_with(&escaped).is_empty(),
        "a setsid escapee outlived a clean stop"
    );
}

#[test]
fn stopping_twice_is_fine_and_status_then_says_not_running() {
    let h = Home::new();
    let d = h.start();
    h.codex(&["daemon", "stop"]).ok();
    d.wait();
    let again = h.codex(&["daemon", "stop"]).ok();
    assert!(again.stdout.contains("not running"), "{}", again.stdout);
    let st = h.codex(&["status"]).code(1);
    assert!(st.stderr.contains("not running"), "{}", st.stderr);
}

#[test]
fn a_stale_socket_from_a_crash_is_replaced() {
    let h = Home::new();
    let d = h.start();
    d.kill9();
    assert!(h.socket.exists(), "kill -9 leaves the socket file");
    // The kernel released the instance lock with the process: no "already running".
    let d2 = h.start();
    assert!(d2.log().contains("removed a stale socket"), "{}", d2.log());
    h.codex(&["status"]).ok();
}

#[test]
fn a_live_socket_of_another_home_is_not_stolen() {
    let other = Home::new();
    let _d = other.start();
    let mut h = Home::new();
    h.socket = other.socket.clone();
    let (status, log) = h.spawn_daemon(&[]).wait_with_log();
    assert_ne!(status.code(), Some(0));
    assert!(log.contains("another daemon is listening"), "{log}");
    other.codex(&["status"]).ok();
}

#[test]
fn a_file_that_is_not_a_socket_is_never_deleted() {
    let h = Home::new();
    std::fs::create_dir_all(h.socket.parent().unwrap()).unwrap();
    std::fs::write(&h.socket, b"precious").unwrap();
    let (status, log) = h.spawn_daemon(&[]).wait_with_log();
    assert_ne!(status.code(), Some(0));
    assert!(log.contains("is not a socket"), "{log}");
    assert_eq!(std::fs::read(&h.socket).unwrap(), b"precious");
}

#[test]
fn codex_starts_the_daemon_when_none_answers() {
    let h = Home::new();
    let first = h.codex_autostart(&["--json", "status"]).ok();
    // The first start is said, once, with where it logs and how to stop it.
    assert!(
        first.stderr.contains("started codexd in the background")
            && first.stderr.contains("codex daemon stop"),
        "{}",
        first.stderr
    );
    let st = first.json();
    let pid = st["pid"].as_u64().unwrap() as i32;
    assert_eq!(st["home"].as_str().unwrap(), h.home.to_str().unwrap());
    assert!(h.path("log/codexd.log").exists());
    // It is detached: it outlives the command that started it, until told to stop.
    h.codex(&["status"]).ok();
    h.codex(&["daemon", "stop"]).ok();
    eventually("autostarted daemon exits", || {
        !codex_e2e::process_running(pid)
    });
    let again = h.codex_autostart(&["status"]).ok();
    assert!(!again.stderr.contains("started codexd"), "{}", again.stderr);
    h.codex(&["daemon", "stop"]).ok();
}

#[test]
fn autostart_reports_why_the_daemon_could_not_start() {
    let h = Home::new().with_config("learning:\n  batch_size: 0\n");
    let out = h.codex_autostart(&["status"]).code(1);
    assert!(out.stderr.contains("learning.batch_size"), "{}", out.stderr);
}

#[test]
fn daemon_start_is_idempotent() {
    let h = Home::new();
    let first = h.codex(&["--json", "daemon", "start"]).ok().json();
    assert_eq!(first["started"], true);
    let second = h.codex(&["--json", "daemon", "start"]).ok().json();
    assert_eq!(second["started"], false);
    assert_eq!(first["pid"], second["pid"]);
    h.codex(&["daemon", "stop"]).ok();
}

#[test]
fn peers_of_another_uid_are_refused() {
    if !rustix::process::geteuid().is_root() {
        codex_e2e::skipped("needs root to connect as another uid");
        return;
    }
    if std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_err()
    {
        codex_e2e::skipped("setpriv is not installed");
        return;
    }
    let h = Home::new();
    let _d = h.start();
    // Open the file permissions so only the peer-credential check stands in the way.
    for p in [h.dir.path(), h.socket.parent().unwrap(), h.socket.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    // A client binary the other user can execute, wherever this checkout lives.
    let client = h.dir.path().join("codex");
    std::fs::copy(codex_e2e::bin("codex"), &client).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&client)
        .args(["--no-autostart", "--socket"])
        .arg(&h.socket)
        .arg("status")
        .env("CODEX_HOME", h.dir.path().join("nobody-home"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refused: this codexd serves uid 0 only"),
        "{err}"
    );
}
