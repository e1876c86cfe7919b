//! The `codexd` binary's own flags. (Also makes `cargo test` build the binary for the
//! end-to-end suite in tests/.)

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use assert_cmd::Command;

fn codexd() -> Command {
    let mut c = Command::cargo_bin("codexd").unwrap();
    let tmp = std::env::temp_dir();
    c.env_clear()
        .env("HOME", &tmp)
        .env("XDG_CONFIG_HOME", tmp.join("codexd-flags-test-none"));
    c
}

#[test]
fn version_and_help() {
    let out = codexd()
        .arg("--version")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&out).starts_with("codexd "));
    let help = codexd()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8_lossy(&help);
    for flag in [
        "--config",
        "--home",
        "--socket",
        "--check-config",
        "--log-level",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn unknown_flags_exit_2() {
    codexd().arg("--frobnicate").assert().code(2);
}

#[test]
fn a_missing_config_file_exits_2_naming_it() {
    let out = codexd()
        .args(["--config", "/nonexistent/codex.yaml", "--check-config"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("/nonexistent/codex.yaml"));
}

#[test]
fn relative_codex_home_from_the_environment_is_refused() {
    let out = codexd().env("CODEX_HOME", "relative/home").assert().code(2);
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr)
            .contains("CODEX_HOME must be an absolute path")
    );
}
