//! `codex` usage errors and behaviour without a daemon. (Also makes `cargo test` build the
//! binary for the end-to-end suite in tests/.)

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use assert_cmd::Command;

fn codex(dir: &tempfile::TempDir) -> Command {
    let mut c = Command::cargo_bin("codex").unwrap();
    c.env_clear()
        .env("HOME", dir.path())
        .env("CODEX_HOME", dir.path().join("home"))
        .env("CODEX_SOCKET", dir.path().join("none.sock"));
    c
}

#[test]
fn bad_scores_are_usage_errors() {
    let d = tempfile::tempdir().unwrap();
    for bad in ["0", "6", "five"] {
        codex(&d)
            .args(["--no-autostart", "rate", bad])
            .assert()
            .code(2);
    }
}

#[test]
fn run_needs_a_goal_or_a_command_not_both() {
    let d = tempfile::tempdir().unwrap();
    codex(&d).args(["--no-autostart", "run"]).assert().code(2);
    codex(&d)
        .args(["--no-autostart", "run", "run the tests", "--", "ls"])
        .assert()
        .code(2);
    codex(&d)
        .args(["--no-autostart", "run", "two", "words"])
        .assert()
        .code(2);
}

#[test]
fn without_autostart_a_missing_daemon_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let out = codex(&d)
        .args(["--no-autostart", "status"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("codexd is not running"), "{err}");
    assert!(err.contains("none.sock"), "{err}");
}

#[test]
fn stop_without_a_daemon_is_not_an_error() {
    let d = tempfile::tempdir().unwrap();
    let out = codex(&d).args(["daemon", "stop"]).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("not running"));
}
