//! The config file: validation with key and line, --check-config, and lookup order.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use codex_e2e::Home;

#[test]
fn check_config_accepts_the_builtin_and_a_partial_file() {
    let h = Home::new();
    let out = h.codexd_cmd().arg("--check-config").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("built-in config: valid"));
    let h = Home::new().with_config("learning:\n  batch_size: 8\n");
    let out = h.codexd_cmd().arg("--check-config").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_names_the_key_and_line_and_exits_2() {
    let cases = [
        (
            "interaction_tracking_enabled: true\nlearning:\n  batch_sise: 8\n",
            ":3: `learning.batch_sise`: unknown field",
        ),
        (
            "safety:\n  cancel_grace_ms: -5\n",
            ":2: `safety.cancel_grace_ms`",
        ),
        (
            "user_preference_learning: perhaps\n",
            ":1: `user_preference_learning`",
        ),
        ("learning: [\n", "not valid YAML"),
    ];
    for (yaml, want) in cases {
        let h = Home::new().with_config(yaml);
        let out = h.codexd_cmd().arg("--check-config").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{yaml}: {err}");
        assert!(err.contains(want), "{yaml}: {err}");
    }
}

#[test]
fn a_bad_config_stops_the_daemon_before_it_touches_anything() {
    let h = Home::new().with_config("server:\n  max_message_bytes: 10\n");
    let (status, log) = h.spawn_daemon(&[]).wait_with_log();
    assert_eq!(status.code(), Some(2));
    assert!(
        log.contains("`server.max_message_bytes`: must be at least 1024"),
        "{log}"
    );
    assert!(
        !h.home.exists(),
        "nothing is created for a config that does not load"
    );
}

#[test]
fn flags_win_over_environment() {
    let h = Home::new().with_config("not: valid: here\n");
    let good = h.dir.path().join("good.yaml");
    std::fs::write(&good, "learning:\n  batch_size: 2\n").unwrap();
    let out = h
        .codexd_cmd()
        .arg("--config")
        .arg(&good)
        .arg("--check-config")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("good.yaml: valid"));

    let other_home = h.dir.path().join("elsewhere");
    let other_socket = h.dir.path().join("elsewhere.sock");
    let d = h.spawn_daemon(&[
        "--config",
        good.to_str().unwrap(),
        "--home",
        other_home.to_str().unwrap(),
        "--socket",
        other_socket.to_str().unwrap(),
    ]);
    codex_e2e::eventually("daemon on the flag's socket", || other_socket.exists());
    assert!(other_home.join("codexd.lock").exists());
    assert!(!h.home.exists());
    drop(d);
}

#[test]
fn the_xdg_config_file_is_used_when_nothing_else_names_one() {
    let h = Home::new();
    let xdg = h.dir.path().join("xdg-config/codex");
    std::fs::create_dir_all(&xdg).unwrap();
    std::fs::write(
        xdg.join("personalized_learning.yaml"),
        "interaction_tracking_enabled: false\n",
    )
    .unwrap();
    let _d = h.start();
    let st = h.codex(&["--json", "status"]).ok().json();
    assert_eq!(st["tracking"], false);
    assert!(
        st["config"]
            .as_str()
            .unwrap()
            .ends_with("personalized_learning.yaml")
    );
}

#[test]
fn a_bad_log_filter_is_a_usage_error() {
    let h = Home::new();
    let out = h
        .codexd_cmd()
        .args(["--log-level", "codexd=loud", "--check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid log filter"));
}
