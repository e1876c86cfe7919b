//! Shell capture: `codex init bash|zsh|fish` hooks run by the real shells, the commands they
//! record (filters, redaction, shell habits), `codex capture pause|resume|status` across a
//! restart, the record command with no daemon, and bad requests.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::process::Stdio;
use std::time::Instant;

use codex_e2e::{Home, WAIT, bin, have, lines};
use serde_json::{Value, json};

const SECRET: &str = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";

/// `codex capture status --json`.
fn status(h: &Home) -> Value {
    h.codex(&["--json", "capture", "status"]).ok().json()
}

/// Poll capture's counts until they are `recorded` and `skipped` (or fail, showing them).
fn wait_counts(h: &Home, recorded: u64, skipped: u64) -> Value {
    let start = Instant::now();
    loop {
        let s = status(h);
        if s["recorded"] == recorded && s["skipped"] == skipped {
            return s;
        }
        assert!(
            s["recorded"].as_u64().unwrap() <= recorded
                && s["skipped"].as_u64().unwrap() <= skipped,
            "more than expected ({recorded} recorded, {skipped} skipped): {s}"
        );
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {recorded} recorded and {skipped} skipped: {s}\ndataset:\n{}",
            lines(&h.path("storage/learning/personalized_dataset.jsonl")).join("\n")
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The goals of the shell interactions in the dataset.
fn recorded(h: &Home) -> Vec<Value> {
    lines(&h.path("storage/learning/personalized_dataset.jsonl"))
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "interaction" && v["source"] == "shell")
        .collect()
}

fn goals(h: &Home) -> Vec<String> {
    recorded(h)
        .iter()
        .map(|v| v["goal"].as_str().unwrap().to_string())
        .collect()
}

/// Run `shell args` with `script` on its stdin, to the end.
fn run_shell(h: &Home, shell: &str, args: &[&str], script: &str) {
    let mut child = h
        .command(shell)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the shell");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("syntax error") && !stderr.contains("parse error"),
        "{shell}: {stderr}"
    );
}

fn hook(h: &Home, shell: &str) -> String {
    h.codex(&["init", shell]).ok().stdout
}

#[test]
fn each_shell_accepts_its_hook() {
    let h = Home::new();
    // bash: parsed, then loaded into an interactive shell that goes on working.
    let text = hook(&h, "bash");
    assert!(text.contains(&bin("codex").display().to_string()));
    let out = h
        .command("bash")
        .args(["--norc", "-n", "-c", &text])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for (shell, check) in [("zsh", vec!["-f", "-n", "-c"]), ("fish", vec!["-n", "-c"])] {
        if !have(shell) {
            continue;
        }
        let text = hook(&h, shell);
        let mut args = check.clone();
        args.push(&text);
        let out = h.command(shell).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = h
        .command("bash")
        .args(["--norc", "-i"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(
                format!(
                    "eval \"$({} init bash)\"\necho still-here\neval \"$({} init bash)\"\nexit 7\n",
                    bin("codex").display(),
                    bin("codex").display()
                )
                .as_bytes(),
            )?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("still-here"));
}

#[test]
fn bash_records_what_is_typed_with_folder_project_and_exit_but_not_what_is_filtered() {
    let h = Home::new().with_programs(&["cargo"]);
    let shop = h.project("shop", &[("Cargo.toml", "[package]\nname = \"shop\"\n")]);
    let private = h.project("private", &[]);
    let h = h.with_config(&format!(
        "capture:\n  exclude_dirs: [\"{}\"]\n  exclude_patterns: [\"*skipme*\"]\n",
        private.display()
    ));
    let _d = h.start();
    let script = format!(
        "eval \"$({codex} init bash)\"\n\
         cd {shop}\n\
         echo visible-one\n\
         \x20echo hidden-by-space\n\
         echo skipme please\n\
         echo key {SECRET}\n\
         ( exit 3 )\n\
         cargo test\n\
         cd {private}\n\
         echo in-the-private-folder\n\
         cd {shop}\n\
         echo last-one\n",
        codex = bin("codex").display(),
        shop = shop.display(),
        private = private.display(),
    );
    run_shell(&h, "bash", &["--norc", "-i"], &script);
    // Recorded: cd shop, visible-one, key, (exit 3), cargo test, cd private, last-one. Left
    // out by the daemon: skipme, the two typed in the private folder. The leading-space one
    // never leaves the shell.
    let s = wait_counts(&h, 7, 3);
    assert_eq!(s["active"], true, "{s}");
    let got = goals(&h);
    let mut sorted = got.clone();
    sorted.sort();
    let mut want = vec![
        format!("cd {}", shop.display()),
        "echo visible-one".into(),
        "echo key [REDACTED:github-token]".into(),
        "( exit 3 )".into(),
        "cargo test".into(),
        format!("cd {}", private.display()),
        "echo last-one".into(),
    ];
    want.sort();
    assert_eq!(sorted, want);
    let text =
        std::fs::read_to_string(h.path("storage/learning/personalized_dataset.jsonl")).unwrap();
    for absent in [SECRET, "hidden-by-space", "skipme", "in-the-private-folder"] {
        assert!(!text.contains(absent), "{absent} was stored: {text}");
    }
    let by_goal = |g: &str| {
        recorded(&h)
            .into_iter()
            .find(|v| v["goal"] == g)
            .unwrap_or_else(|| panic!("{g} not recorded"))
    };
    let visible = by_goal("echo visible-one");
    assert_eq!(visible["cwd"], shop.display().to_string());
    assert_eq!(visible["project"]["root"], shop.display().to_string());
    assert_eq!(visible["project"]["kind"], "rust");
    assert_eq!(visible["exit"], 0);
    assert!(visible["duration_ms"].is_u64(), "{visible}");
    assert!(visible["at"].is_string(), "{visible}");
    assert_eq!(by_goal("( exit 3 )")["exit"], 3);
    // Not runs: no history, no examples.
    let history = h.codex(&["--json", "history"]).ok().json();
    assert_eq!(
        history["runs"].as_array().map(Vec::len),
        Some(0),
        "{history}"
    );
    // The project's own test command typed in it is a shell habit there, as an import's is.
    let journal = h.path("storage/analytics/personalized_feedback.journal.jsonl");
    codex_e2e::eventually("the typed `cargo test` taught as a shell habit", || {
        lines(&journal).iter().any(|l| l.contains("shell habit"))
    });
    // The patterns count them in the project.
    let prefs = h
        .codex_in(&shop, &["--json", "prefs", "show", "--project", "."])
        .ok()
        .json();
    assert!(
        prefs["patterns"].to_string().contains("echo visible-one"),
        "{prefs}"
    );
}

#[test]
fn pause_survives_a_restart_and_resume_records_again() {
    let h = Home::new();
    let d = h.start();
    let s = h.codex(&["--json", "capture", "pause"]).ok().json();
    assert_eq!(
        (s["paused"].clone(), s["active"].clone()),
        (json!(true), json!(false))
    );
    assert!(h.path("storage/capture/state.json").is_file());
    d.stop();
    let d = h.start();
    let s = status(&h);
    assert_eq!(s["paused"], true, "{s}");
    assert!(s["paused_since"].is_string(), "{s}");
    let text = h.codex(&["capture", "status"]).ok().stdout;
    assert!(text.contains("paused since"), "{text}");
    let tmp = h.tmp();
    let record = |cmd: &str| {
        h.codex(&[
            "capture",
            "record",
            "--shell",
            "bash",
            "--exit",
            "0",
            "--cwd",
            tmp.to_str().unwrap(),
            "--",
            cmd,
        ])
        .ok()
    };
    record("echo while-paused");
    wait_counts(&h, 0, 1);
    let s = h.codex(&["--json", "capture", "resume"]).ok().json();
    assert_eq!(s["active"], true, "{s}");
    record("echo after-resume");
    wait_counts(&h, 1, 1);
    assert_eq!(goals(&h), vec!["echo after-resume".to_string()]);
    drop(d);
}

#[test]
fn record_with_no_daemon_exits_0_silently_and_starts_none() {
    let h = Home::new();
    let run = || {
        h.codex_autostart(&[
            "capture",
            "record",
            "--exit",
            "0",
            "--cwd",
            "/",
            "--",
            "echo nobody-home",
        ])
    };
    let r = run();
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    assert!(!h.socket.exists(), "a daemon was started");
    assert!(!h.home.join("codexd.lock").exists(), "a daemon was started");
    // A socket file left by a crashed daemon: refused, and still nothing started.
    std::fs::create_dir_all(h.socket.parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&h.socket).unwrap());
    let r = run();
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    assert!(!h.home.join("codexd.lock").exists(), "a daemon was started");
}

#[test]
fn bad_requests_get_clear_errors_and_the_daemon_carries_on() {
    let h = Home::new();
    let _d = h.start();
    let mut c = h.connect();
    let err = |v: &Value| {
        (
            v["error"]["code"].as_i64(),
            v["error"]["message"].to_string(),
        )
    };
    let r = c.call(1, "capture/record", json!({"command": "ls", "cwd": "src"}));
    let (code, msg) = err(&r);
    assert_eq!(code, Some(-32602), "{r}");
    assert!(msg.contains("not absolute"), "{r}");
    let big = "x".repeat(codex_proto_cap() + 1);
    let r = c.call(2, "capture/record", json!({"command": big, "cwd": "/"}));
    let (code, msg) = err(&r);
    assert_eq!(code, Some(-32602));
    assert!(msg.contains("at most 16384 bytes"), "{msg}");
    for (id, params) in [
        (3, json!({"command": 5, "cwd": "/"})),
        (4, json!({"cwd": "/"})),
        (5, json!({"command": "ls", "cwd": "/", "exit": "zero"})),
        (6, json!({"command": "ls", "cwd": "/", "shell": "tcsh"})),
        (7, json!(["ls", "/"])),
    ] {
        let r = c.call(id, "capture/record", params.clone());
        assert_eq!(err(&r).0, Some(-32602), "{params}: {r}");
    }
    let r = c.call(8, "capture/state", json!({"action": "stop"}));
    assert_eq!(err(&r).0, Some(-32602), "{r}");
    let r = c.call(9, "capture/state", json!({}));
    assert_eq!(r["result"]["recorded"], 0, "{r}");
    assert_eq!(r["result"]["skipped"], 0, "{r}");
}

/// The command cap, as the daemon says it (16 KiB).
fn codex_proto_cap() -> usize {
    16 * 1024
}

#[test]
fn bad_capture_globs_are_config_errors_naming_the_key() {
    for (yaml, key) in [
        (
            "capture:\n  exclude_dirs: [\"/a/[b\"]\n",
            "capture.exclude_dirs",
        ),
        (
            "capture:\n  exclude_patterns: [\"x{\"]\n",
            "capture.exclude_patterns",
        ),
        (
            "capture:\n  exclude_dirs: [\"relative\"]\n",
            "capture.exclude_dirs",
        ),
        ("capture:\n  record: true\n", "capture.record"),
    ] {
        let h = Home::new().with_config(yaml);
        let out = h.codexd_cmd().arg("--check-config").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{yaml}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{yaml}: {err}");
    }
}

#[test]
fn nothing_is_recorded_without_tracking_or_with_capture_off() {
    for (yaml, why) in [
        ("interaction_tracking_enabled: false\n", "tracking"),
        ("capture:\n  enabled: false\n", "enabled"),
    ] {
        let h = Home::new().with_config(yaml);
        let _d = h.start();
        let tmp = h.tmp();
        h.codex(&[
            "capture",
            "record",
            "--cwd",
            tmp.to_str().unwrap(),
            "--",
            "ls",
        ])
        .ok();
        let s = wait_counts(&h, 0, 1);
        assert_eq!(s["active"], false, "{s}");
        assert_eq!(s[why], false, "{s}");
        assert!(goals(&h).is_empty());
    }
}

#[test]
fn zsh_records_through_its_hook() {
    if !have("zsh") {
        return;
    }
    let h = Home::new();
    let dir = h.project("work", &[]);
    let _d = h.start();
    let script = format!(
        "eval \"$({} init zsh)\"\ncd {}\necho from-zsh\n\x20echo hidden-zsh\nfalse\n",
        bin("codex").display(),
        dir.display()
    );
    run_shell(&h, "zsh", &["-f", "-i"], &script);
    wait_counts(&h, 3, 0);
    let mut got = goals(&h);
    got.sort();
    let mut want = vec![
        format!("cd {}", dir.display()),
        "echo from-zsh".to_string(),
        "false".to_string(),
    ];
    want.sort();
    assert_eq!(got, want);
    let f = recorded(&h)
        .into_iter()
        .find(|v| v["goal"] == "false")
        .unwrap();
    assert_eq!(f["exit"], 1);
    assert_eq!(f["cwd"], dir.display().to_string());
}

#[test]
fn fish_records_through_its_hook() {
    // fish sends its events only from its interactive reader: on a terminal (util-linux
    // `script` makes one).
    if !have("fish") || !have("script") {
        return;
    }
    let h = Home::new();
    let dir = h.project("work", &[]);
    let _d = h.start();
    let script = format!(
        "{} init fish | source\ntrue\ncd {}\necho from-fish\n\x20echo hidden-fish\nfalse\nexit\n",
        bin("codex").display(),
        dir.display()
    );
    run_shell(
        &h,
        "script",
        &["-qec", "fish --no-config -i", "/dev/null"],
        &script,
    );
    let start = Instant::now();
    while !goals(&h).iter().any(|g| g == "false") {
        assert!(start.elapsed() < WAIT, "fish recorded: {:?}", goals(&h));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let got = goals(&h);
    assert!(got.iter().any(|g| g == "echo from-fish"), "{got:?}");
    assert!(!got.iter().any(|g| g.contains("hidden-fish")), "{got:?}");
    let f = recorded(&h)
        .into_iter()
        .find(|v| v["goal"] == "false")
        .unwrap();
    assert_eq!(f["exit"], 1);
    assert_eq!(f["cwd"], dir.display().to_string());
}

#[test]
fn bash_with_ignoreboth_records_repeats_and_never_the_hidden_line() {
    let h = Home::new();
    let dir = h.project("work", &[]);
    let _d = h.start();
    let script = format!(
        "HISTCONTROL=ignoreboth\neval \"$({} init bash)\"\ncd {}\necho again\necho again\n\
         \x20echo hidden-ignoreboth\necho done\n",
        bin("codex").display(),
        dir.display()
    );
    run_shell(&h, "bash", &["--norc", "-i"], &script);
    wait_counts(&h, 4, 0);
    let mut got = goals(&h);
    got.sort();
    assert_eq!(
        got,
        vec![
            format!("cd {}", dir.display()),
            "echo again".to_string(),
            "echo again".to_string(),
            "echo done".to_string()
        ]
    );
}
