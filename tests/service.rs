//! Running for real: `codex service install|uninstall|status`, the unit's hand-over from a
//! daemon codex started by itself, `systemd-analyze verify`, `codex doctor` and
//! `codexd --check-storage` (which change nothing), completions and the manual page.
//!
//! No test needs systemd: the harness points XDG_CONFIG_HOME into the test's folder and
//! clears XDG_RUNTIME_DIR and the session bus, so `systemctl --user` reaches no manager and
//! nothing is written to the real user's folders. The unit's start is played by running its
//! ExecStartPre and ExecStart lines as systemd would, in order.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use codex_e2e::{Home, bin, eventually};
use serde_json::Value;

/// Stops whatever daemon answers for the home when the test ends, passed or failed: an
/// autostarted daemon is nobody's child and would outlive the test.
struct StopOnDrop<'a>(&'a Home);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.codex(&["daemon", "stop"]);
    }
}

/// Where `codex service install` puts the unit for this home.
fn unit_path(h: &Home) -> PathBuf {
    h.scratch()
        .join("xdg-config")
        .join("systemd")
        .join("user")
        .join("codexd.service")
}

/// Install and read the unit back.
fn installed_unit(h: &Home) -> String {
    let out = h.codex(&["service", "install"]).ok();
    assert!(
        out.stdout.contains("systemctl --user daemon-reload")
            && out
                .stdout
                .contains("systemctl --user enable --now codexd.service"),
        "{}",
        out.stdout
    );
    std::fs::read_to_string(unit_path(h)).expect("unit written")
}

/// The command lines of every `KEY=` line, as systemd splits them ("-" prefix dropped).
fn exec_lines(unit: &str, key: &str) -> Vec<Vec<String>> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|cmd| {
            let cmd = cmd.strip_prefix('-').unwrap_or(cmd).replace("%%", "%");
            shlex::split(&cmd).expect("a command line")
        })
        .collect()
}

/// The pid `codex status` reports.
fn status_pid(h: &Home) -> u64 {
    h.codex(&["--json", "status"]).ok().json()["pid"]
        .as_u64()
        .unwrap()
}

/// Whether `pid` has exited (a zombie nobody reaped counts: it runs no more).
fn gone(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// Every file under `dir` with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The checks of `codex --json doctor` for `path`.
fn doctor_checks_for(report: &Value, path: &Path) -> Vec<Value> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["path"].as_str() == Some(path.to_str().unwrap()))
        .cloned()
        .collect()
}

#[test]
fn install_writes_the_unit_for_the_codexd_beside_codex_and_uninstall_removes_it() {
    let h = Home::new();
    h.codex(&["service", "status"]).ok();
    let unit = installed_unit(&h);
    let start = exec_lines(&unit, "ExecStart");
    assert_eq!(
        start,
        vec![vec![bin("codexd").display().to_string()]],
        "{unit}"
    );
    let pre = exec_lines(&unit, "ExecStartPre");
    assert_eq!(
        pre,
        vec![vec![
            bin("codex").display().to_string(),
            "service".into(),
            "hand-over".into()
        ]],
        "{unit}"
    );
    for line in [
        "Restart=on-failure",
        "KillMode=control-group",
        "StandardError=journal",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.lines().any(|l| l == line), "no {line}:\n{unit}");
    }
    assert!(
        !unit.lines().any(|l| l.starts_with("RestrictNamespaces=")),
        "the sandbox needs namespaces"
    );

    let st = h.codex(&["--json", "service", "status"]).ok().json();
    assert_eq!(st["installed"], true, "{st}");
    assert_eq!(st["up_to_date"], true, "{st}");
    // Installing again changes nothing.
    let again = h.codex(&["--json", "service", "install"]).ok().json();
    assert_eq!(again["changed"], false, "{again}");

    let out = h.codex(&["service", "uninstall"]).ok();
    assert!(out.stdout.contains("systemctl --user"), "{}", out.stdout);
    assert!(!unit_path(&h).exists());
    let st = h.codex(&["--json", "service", "status"]).ok().json();
    assert_eq!(st["installed"], false, "{st}");
}

#[test]
fn install_now_without_a_user_manager_says_so_and_keeps_the_unit() {
    let h = Home::new();
    let out = h.codex(&["service", "install", "--now"]);
    if out.code == Some(0) {
        codex_e2e::skipped("systemctl --user works even without a session bus here");
        return;
    }
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("systemctl --user does not work here"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("systemctl --user enable --now codexd.service"),
        "the commands to run by hand: {}",
        out.stdout
    );
    assert!(unit_path(&h).exists());
}

/// The defect: the unit's codexd exited 3 ("already running") when codex had started a
/// daemon by itself earlier, and RestartPreventExitStatus=3 left the service failed.
#[test]
fn the_service_takes_over_from_a_daemon_codex_started_by_itself() {
    let h = Home::new();
    let _stop = StopOnDrop(&h);
    h.codex_autostart(&["status"]).ok();
    let autostarted = status_pid(&h);

    let unit = installed_unit(&h);
    // systemd runs ExecStartPre first ("-": its failure would not stop the start).
    for cmd in exec_lines(&unit, "ExecStartPre") {
        assert_eq!(cmd[0], bin("codex").display().to_string());
        let out = h.codex_cmd().args(&cmd[1..]).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let start = exec_lines(&unit, "ExecStart");
    assert_eq!(start[0][0], bin("codexd").display().to_string());
    let service = h.spawn_daemon(&[]);
    service.wait_ready(&h);
    let answering = status_pid(&h);
    assert_eq!(
        answering,
        u64::from(service.pid()),
        "the autostarted daemon (pid {autostarted}) still answers; the unit's codexd logged:\n{}",
        service.log()
    );
    // The autostarted daemon stopped gracefully: its lock went with it, its runs are kept.
    assert!(gone(autostarted), "pid {autostarted} still runs");
    h.codex(&["daemon", "stop"]).ok();
    assert_eq!(service.wait().code(), Some(0));
}

#[test]
fn hand_over_with_nothing_running_is_fine() {
    let h = Home::new();
    let out = h.codex(&["service", "hand-over"]).ok();
    assert!(
        out.stdout.contains("nothing to hand over"),
        "{}",
        out.stdout
    );
}

#[test]
fn hand_over_stops_a_daemon_listening_elsewhere_by_its_pid() {
    let h = Home::new();
    let other = h.scratch().join("elsewhere.sock");
    let d = h.spawn_daemon(&["--socket", other.to_str().unwrap()]);
    eventually("codexd listens on the other socket", || {
        std::os::unix::net::UnixStream::connect(&other).is_ok()
    });
    let out = h.codex(&["service", "hand-over"]).ok();
    assert!(out.stdout.contains("handed over"), "{}", out.stdout);
    assert_eq!(d.wait().code(), Some(0), "SIGTERM is a graceful stop");
}

#[test]
fn systemd_analyze_verify_accepts_the_installed_unit() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        codex_e2e::skipped("systemd-analyze is not installed");
        return;
    }
    let h = Home::new();
    installed_unit(&h);
    // The offline checker wants a runtime folder for the user manager it pretends to be.
    let runtime = h.scratch().join("xdg-runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--user"])
        .arg(unit_path(&h))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_CONFIG_HOME", h.scratch().join("xdg-config"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("codexd.service"),
        "verify complains about the unit: {stderr}"
    );
}

#[test]
fn doctor_is_happy_with_a_healthy_home() {
    let h = Home::new();
    let _d = h.start();
    h.codex(&["run", "--", "true"]).ok();
    let out = h.codex(&["doctor"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("all is well"), "{}", out.stdout);
    let report = h.codex(&["--json", "doctor"]).ok().json();
    assert_eq!(report["ok"], true, "{report}");
    let whats: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["what"].as_str())
        .collect();
    for what in ["config", "daemon", "sandbox", "socket", "lock", "disk"] {
        assert!(whats.contains(&what), "no {what} check: {whats:?}");
    }
}

#[test]
fn doctor_reports_a_damaged_file_and_changes_nothing() {
    let h = Home::new();
    let d = h.start();
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["rate", "4"]).ok();
    h.codex(&["daemon", "stop"]).ok();
    d.wait();
    let snapshot = h.path("storage/analytics/personalized_feedback.json");
    assert!(snapshot.exists(), "a graceful stop writes the snapshot");
    std::fs::write(&snapshot, b"{ this is not json").unwrap();

    let before = files_under(&h.home);
    let out = h.codex(&["--json", "doctor"]);
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    let found = doctor_checks_for(&report, &snapshot);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["health"], "problem", "{report}");
    assert!(
        found[0]["detail"]
            .as_str()
            .unwrap()
            .contains("does not parse"),
        "{report}"
    );
    assert!(found[0]["fix"].as_str().is_some(), "{report}");
    assert_eq!(files_under(&h.home), before, "doctor changed a file");

    // Also while a daemon runs (it loaded the files before the damage): still nothing moved.
    std::fs::remove_file(&snapshot).unwrap();
    let d = h.start();
    let journal = h.path("storage/episodic/personalized_memory.journal.jsonl");
    let mut bytes = std::fs::read(&journal).unwrap_or_default();
    bytes.extend_from_slice(b"GARBAGE\n{\"seq\":999999,\"op\":{}}\n");
    std::fs::write(&journal, &bytes).unwrap();
    let out = h.codex(&["--json", "doctor"]);
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    let found = doctor_checks_for(&out.json(), &journal);
    assert_eq!(found[0]["health"], "problem", "{}", out.stdout);
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        bytes,
        "doctor changed the journal"
    );
    let moved = files_under(&h.home)
        .iter()
        .any(|(p, _)| p.to_string_lossy().contains(".corrupt-"));
    assert!(!moved, "doctor moved a file aside");
    // Killed, not stopped: a graceful stop would compact the damage away.
    d.kill9();
}

#[test]
fn check_storage_says_the_same_in_text_and_never_creates_a_home() {
    let h = Home::new();
    let out = h
        .codexd_cmd()
        .arg("--check-storage")
        .output()
        .expect("spawn codexd");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!h.home.exists(), "--check-storage created CODEX_HOME");
}

#[test]
fn completions_and_the_manual_page_come_from_the_same_commands() {
    let h = Home::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = h.codex(&["completions", shell]).ok();
        for word in ["doctor", "service", "run", "no-autostart"] {
            assert!(out.stdout.contains(word), "{shell}: no {word}");
        }
    }
    // Packaging runs these where no CODEX_HOME can be resolved (no $HOME at all).
    let bare = Command::new(bin("codex"))
        .env_clear()
        .args(["completions", "zsh"])
        .output()
        .unwrap();
    assert!(
        bare.status.success(),
        "{}",
        String::from_utf8_lossy(&bare.stderr)
    );
    let man = h.codex(&["man"]).ok();
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH codex 1"),
        "{}",
        man.stdout
    );
    assert!(man.stdout.contains("doctor"), "{}", man.stdout);
    let dir = h.scratch().join("man1");
    h.codex(&["man", "--out-dir", dir.to_str().unwrap()]).ok();
    for page in [
        "codex.1",
        "codex-run.1",
        "codex-service-install.1",
        "codex-prefs-show.1",
    ] {
        assert!(dir.join(page).is_file(), "no {page}");
    }
    assert!(!dir.join("codex-help.1").exists(), "clap's help is no page");
}
