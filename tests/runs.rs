//! Runs, ratings, history and what is learned, across restarts and crashes.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Stdio;

use codex_e2e::{Home, eventually, lines, process_running};
use rustix::process::Signal;
use serde_json::Value;

/// What `codex --json run ARGS` in `dir` says it decided (for `--dry-run` and `--detach`).
fn decision(h: &Home, dir: &std::path::Path, args: &[&str]) -> String {
    let mut all = vec!["--json", "run"];
    all.extend_from_slice(args);
    let r = h.codex_in(dir, &all).ok().json();
    r["decision"].as_str().unwrap_or_default().to_string()
}

fn history(h: &Home) -> Vec<serde_json::Value> {
    h.codex(&["--json", "history"]).ok().json()["runs"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn run_streams_output_prints_the_run_id_and_exits_with_the_command_status() {
    let h = Home::new();
    let _d = h.start();
    let out = h
        .codex(&[
            "run",
            "--",
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; exit 7",
        ])
        .code(7);
    assert_eq!(out.stdout, "to-out\n");
    assert!(out.stderr.starts_with("to-err\n"), "{}", out.stderr);
    assert!(
        out.stderr.contains("codex: run 1: exit 7"),
        "{}",
        out.stderr
    );
    h.codex(&["run", "--", "true"]).ok();
    let missing = h
        .codex(&["run", "--", "no-such-program-anywhere"])
        .code(127);
    assert!(
        missing.stderr.contains("command not found"),
        "{}",
        missing.stderr
    );
    let builtin = h.codex(&["run", "--", "cd", "src"]).code(127);
    assert!(
        builtin.stderr.contains("cd: a shell builtin") && builtin.stderr.contains("sh -c"),
        "{}",
        builtin.stderr
    );
}

#[test]
fn run_uses_the_callers_directory_and_environment_and_no_shell() {
    let h = Home::new();
    let _d = h.start();
    let dir = h.dir.path().join("work dir");
    std::fs::create_dir(&dir).unwrap();
    let out = h
        .codex_cmd()
        .args([
            "--no-autostart",
            "run",
            "--",
            "sh",
            "-c",
            "pwd; echo \"$GREETING\"",
            "$(touch pwned)",
        ])
        .current_dir(&dir)
        .env("GREETING", "hello from the caller")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        format!("{}\nhello from the caller\n", dir.display())
    );
    assert!(
        !dir.join("pwned").exists(),
        "arguments were interpreted by a shell"
    );
}

#[test]
fn run_json_emits_one_event_per_line() {
    let h = Home::new();
    let _d = h.start();
    let out = h.codex(&["--json", "run", "--", "echo", "hi"]).ok();
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["event"], "started");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "output" && e["data"] == "hi\n")
    );
    let last = events.last().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["exit_status"].as_i64()),
        (Some("finished"), Some(0))
    );
}

#[test]
fn destructive_and_privileged_commands_are_refused_without_a_terminal_even_with_yes() {
    let h = Home::new();
    let _d = h.start();
    let victim = h.dir.path().join("victim");
    std::fs::create_dir_all(victim.join("sub")).unwrap();
    let v = victim.to_str().unwrap();
    for argv in [
        vec!["rm", "-rf", v],
        vec!["rm", "-r", v],
        vec!["/bin/rm", "-fr", v],
        vec!["env", "rm", "-R", v],
    ] {
        for yes in [false, true] {
            let mut args = vec!["run"];
            if yes {
                args.push("--yes");
            }
            args.push("--");
            args.extend(argv.iter());
            let out = h.codex(&args).code(3);
            assert!(
                out.stderr.contains("recursive") && out.stderr.contains("terminal"),
                "{}",
                out.stderr
            );
            assert!(victim.exists(), "{argv:?} ran without being asked");
        }
    }
    for argv in [
        vec!["sudo", "true"],
        vec!["dd", "if=/dev/null", "of=out.img"],
        vec!["mkfs.ext4", "/dev/null"],
    ] {
        let mut args = vec!["run", "--yes", "--"];
        args.extend(argv.iter());
        let out = h.codex(&args).code(3);
        assert!(out.stderr.contains("not run"), "{}", out.stderr);
    }
    // Refused commands are not runs.
    assert!(history(&h).is_empty());
}

#[test]
fn a_prompt_answered_on_the_terminal_decides() {
    let h = Home::new();
    let _d = h.start();
    let victim = h.dir.path().join("victim");
    std::fs::create_dir_all(victim.join("sub")).unwrap();
    let v = victim.to_str().unwrap();
    let Some(no) = h.codex_in_pty(h.dir.path(), &["run", "--", "rm", "-r", v], "n\n") else {
        return;
    };
    assert_eq!(no.code, Some(3), "{}", no.stdout);
    assert!(
        no.stdout.contains("approval needed (destructive"),
        "{}",
        no.stdout
    );
    assert!(no.stdout.contains("you said no"), "{}", no.stdout);
    assert!(victim.exists());
    let yes = h
        .codex_in_pty(h.dir.path(), &["run", "--", "rm", "-r", v], "y\n")
        .unwrap();
    assert_eq!(yes.code, Some(0), "{}", yes.stdout);
    assert!(!victim.exists());
    // The approval is on the episode and counts as an approval given.
    let runs = history(&h);
    assert_eq!(runs.len(), 1);
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert_eq!(prefs["style"]["approvals_given"], 1);
    assert_eq!(prefs["style"]["approvals_denied"], 1);
}

#[test]
fn comfort_levels_decide_what_runs_without_asking_and_dry_run_tells() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.dir.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join("Makefile"), "all:\n").unwrap();
    let outside = "/codex-e2e-nonexistent/file";
    // medium (the default): writes in the project run, writes outside are asked.
    h.codex_in(&proj, &["run", "--", "touch", "inside.txt"])
        .ok();
    assert!(proj.join("inside.txt").exists());
    let out = h.codex_in(&proj, &["run", "--", "touch", outside]).code(3);
    assert!(
        out.stderr.contains("autonomy comfort is medium"),
        "{}",
        out.stderr
    );
    // --yes pre-approves it (it then fails on its own: the folder does not exist).
    h.codex_in(&proj, &["run", "--yes", "--", "touch", outside])
        .code(1);
    // low: even writes in the project are asked.
    h.codex(&["prefs", "set", "autonomy_comfort", "low"]).ok();
    let out = h
        .codex_in(&proj, &["run", "--", "touch", "second.txt"])
        .code(3);
    assert!(
        out.stderr.contains("autonomy comfort is low"),
        "{}",
        out.stderr
    );
    assert!(!proj.join("second.txt").exists());
    h.codex_in(&proj, &["run", "--", "ls"]).ok();
    // high: outside writes run; destructive is still asked.
    h.codex(&["prefs", "set", "autonomy_comfort", "high"]).ok();
    h.codex_in(&proj, &["run", "--", "touch", outside]).code(1);
    h.codex_in(&proj, &["run", "--yes", "--", "rm", "-r", "x"])
        .code(3);
    // --dry-run runs nothing and says what would happen.
    let dry = h
        .codex_in(
            &proj,
            &["--json", "run", "--dry-run", "--", "git", "push", "--force"],
        )
        .ok()
        .json();
    assert_eq!(dry["class"], "destructive");
    assert_eq!(dry["asks"], true);
    assert!(
        dry["comfort"].as_str().unwrap().starts_with("high (set)"),
        "{dry}"
    );
    let dry = h
        .codex_in(&proj, &["run", "--dry-run", "--", "touch", "z"])
        .ok();
    assert!(
        dry.stdout.contains("decision:  runs without asking"),
        "{}",
        dry.stdout
    );
    assert!(!proj.join("z").exists());
}

#[test]
fn rate_then_restart_keeps_the_rating() {
    let h = Home::new();
    let d = h.start();
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["run", "--", "false"]).code(1);
    let rated = h
        .codex(&["rate", "2", "--comment", "use the other flag"])
        .ok();
    assert!(rated.stdout.contains("rated run 2"), "{}", rated.stdout);
    h.codex(&["rate", "5", "--run", "1"]).ok();
    assert_eq!(d.stop().code(), Some(0));

    let _d = h.start();
    let runs = history(&h);
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0]["run_id"].as_u64(), runs[0]["rating"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(runs[0]["comment"], "use the other flag");
    assert_eq!(
        (runs[1]["run_id"].as_u64(), runs[1]["rating"].as_u64()),
        (Some(1), Some(5))
    );
    // Run ids keep counting after a restart.
    let out = h.codex(&["run", "--", "true"]).ok();
    assert!(out.stderr.contains("run 3"), "{}", out.stderr);
}

#[test]
fn kill_9_right_after_rate_returns_loses_no_rating() {
    let h = Home::new().with_config("learning:\n  batch_size: 1000\n  flush_interval_secs: 3600\n");
    for round in 0..3 {
        let d = h.start();
        h.codex(&["run", "--", "true"]).ok();
        h.codex(&["rate", "4"]).ok();
        d.kill9();
        let _d = h.start();
        let runs = history(&h);
        assert_eq!(runs.len(), round + 1);
        assert!(
            runs.iter().all(|r| r["rating"] == 4),
            "round {round}: {runs:?}"
        );
        let st = h.codex(&["--json", "status"]).ok().json();
        assert_eq!(st["ratings"], round as u64 + 1);
    }
    // No file was left unparseable.
    for f in [
        "storage/analytics/personalized_feedback.json",
        "storage/episodic/personalized_memory.json",
    ] {
        if let Ok(text) = std::fs::read_to_string(h.path(f)) {
            serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }
}

#[test]
fn rate_rejects_bad_scores_and_unknown_runs_with_status_2() {
    let h = Home::new();
    let _d = h.start();
    let none = h.codex(&["rate", "3"]).code(2);
    assert!(
        none.stderr.contains("no run recorded yet"),
        "{}",
        none.stderr
    );
    h.codex(&["run", "--", "true"]).ok();
    for bad in ["0", "6", "x"] {
        h.codex(&["rate", bad]).code(2);
    }
    let unknown = h.codex(&["rate", "3", "--run", "42"]).code(2);
    assert!(
        unknown.stderr.contains("unknown run id 42"),
        "{}",
        unknown.stderr
    );
    let json = h.codex(&["--json", "rate", "3", "--run", "42"]).code(2);
    assert_eq!(json.json()["error"]["code"], -32002);
    let rerate = h.codex(&["--json", "rate", "3"]).ok().json();
    assert_eq!(rerate["previous"], serde_json::Value::Null);
    let rerate = h.codex(&["--json", "rate", "5"]).ok().json();
    assert_eq!(rerate["previous"], 3);
}

#[test]
fn history_lists_newest_first_with_limit() {
    let h = Home::new();
    let _d = h.start();
    for word in ["one", "two", "three"] {
        h.codex(&["run", "--", "echo", word]).ok();
    }
    let out = h.codex(&["--json", "history", "--limit", "2"]).ok().json();
    let goals: Vec<&str> = out["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["goal"].as_str().unwrap())
        .collect();
    assert_eq!(goals, ["echo three", "echo two"]);
    let text = h.codex(&["history"]).ok().stdout;
    assert!(
        text.contains("RUN") && text.contains("echo one") && text.contains("exit 0"),
        "{text}"
    );
}

#[test]
fn prefs_show_counts_runs_successes_and_ratings_per_program() {
    let h = Home::new();
    let _d = h.start();
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["rate", "5"]).ok();
    h.codex(&["run", "--", "sh", "-c", "exit 0"]).ok();
    h.codex(&["run", "--", "sh", "-c", "exit 1"]).code(1);
    h.codex(&["rate", "2"]).ok();
    let p = h.codex(&["--json", "prefs", "show"]).ok().json();
    let progs = p["programs"].as_array().unwrap();
    let sh = progs.iter().find(|x| x["program"] == "sh").unwrap();
    assert_eq!(
        (
            sh["runs"].as_u64(),
            sh["successes"].as_u64(),
            sh["mean_rating"].as_f64()
        ),
        (Some(2), Some(1), Some(2.0))
    );
    let t = progs.iter().find(|x| x["program"] == "true").unwrap();
    assert_eq!(t["success_rate"], 1.0);
    assert_eq!(p["satisfaction"]["ratings"], 2);
    assert_eq!(p["satisfaction"]["mean"], 3.5);
    let text = h.codex(&["prefs", "show"]).ok().stdout;
    assert!(
        text.contains("PREFERRED PLANS") && text.contains("sh -c 'exit 1'") && text.contains("0%"),
        "{text}"
    );
    assert!(text.contains("SATISFACTION"), "{text}");
}

#[test]
fn with_tracking_off_nothing_is_recorded() {
    let h = Home::new().with_config("interaction_tracking_enabled: false\n");
    let d = h.start();
    let out = h.codex(&["run", "--", "echo", "secret-goal-text"]).ok();
    assert!(out.stderr.contains("not recorded"), "{}", out.stderr);
    let rate = h.codex(&["rate", "5"]).code(2);
    assert!(
        rate.stderr.contains("interaction_tracking_enabled"),
        "{}",
        rate.stderr
    );
    assert!(history(&h).is_empty());
    assert_eq!(h.codex(&["--json", "status"]).ok().json()["episodes"], 0);
    d.stop();
    let mut found = Vec::new();
    for entry in walk(&h.home) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        if text.contains("secret-goal-text") || text.contains("\"run_id\"") {
            found.push(entry);
        }
    }
    assert!(found.is_empty(), "recorded despite tracking off: {found:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn dataset_examples_are_batched_and_flushed_on_shutdown() {
    let h = Home::new().with_config("learning:\n  batch_size: 3\n  flush_interval_secs: 3600\n");
    let d = h.start();
    let dataset = h.path("storage/learning/personalized_dataset.jsonl");
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["run", "--", "true"]).ok();
    assert!(
        lines(&dataset).is_empty(),
        "flushed before the batch was full"
    );
    h.codex(&["run", "--", "true"]).ok();
    eventually("a full batch is flushed", || lines(&dataset).len() == 3);
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["rate", "4"]).ok();
    assert_eq!(d.stop().code(), Some(0));
    let all = lines(&dataset);
    assert_eq!(all.len(), 5, "{all:?}");
    let label: serde_json::Value = serde_json::from_str(&all[4]).unwrap();
    assert_eq!(
        (
            label["type"].as_str(),
            label["run_id"].as_u64(),
            label["score"].as_u64()
        ),
        (Some("label"), Some(4), Some(4))
    );
}

#[test]
fn a_crash_loses_at_most_the_unflushed_batch() {
    let h = Home::new().with_config("learning:\n  batch_size: 4\n  flush_interval_secs: 3600\n");
    let d = h.start();
    for _ in 0..6 {
        h.codex(&["run", "--", "true"]).ok();
    }
    let dataset = h.path("storage/learning/personalized_dataset.jsonl");
    eventually("first batch", || lines(&dataset).len() == 4);
    d.kill9();
    // The 2 unflushed examples are lost; the episodes are not (they are journaled per run).
    assert_eq!(lines(&dataset).len(), 4);
    let _d = h.start();
    assert_eq!(history(&h).len(), 6);
}

#[test]
fn dataset_flushes_on_its_interval() {
    let h = Home::new().with_config("learning:\n  batch_size: 1000\n  flush_interval_secs: 1\n");
    let _d = h.start();
    h.codex(&["run", "--", "true"]).ok();
    let dataset = h.path("storage/learning/personalized_dataset.jsonl");
    eventually("interval flush", || lines(&dataset).len() == 1);
}

#[test]
fn killing_codex_run_cancels_the_run_and_its_children() {
    let h = Home::new();
    let _d = h.start();
    // In a project: a confined step writes only there.
    let proj = h.project("proj", &[("Makefile", "all:\n")]);
    let pidfile = proj.join("grandchild.pid");
    let script = format!("sleep 300 & echo $! > '{}'; wait", pidfile.display());
    let mut cli = h
        .codex_cmd()
        .current_dir(&proj)
        .args(["--no-autostart", "run", "--", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the command started", || {
        std::fs::read_to_string(&pidfile).is_ok_and(|s| s.ends_with('\n'))
    });
    let grandchild: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(process_running(grandchild));
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(cli.id() as i32).unwrap(),
        Signal::INT,
    )
    .unwrap();
    let _ = cli.wait();
    eventually("the run's process group is gone", || {
        !process_running(grandchild)
    });
    eventually("the run is recorded as cancelled", || {
        history(&h)
            .first()
            .is_some_and(|r| r["outcome"]["status"] == "cancelled")
    });
}

#[test]
fn a_run_in_progress_is_cancelled_and_recorded_when_the_daemon_stops() {
    let h = Home::new().with_config("safety:\n  cancel_grace_ms: 200\n");
    let d = h.start();
    let cli = h
        .codex_cmd()
        .args(["--no-autostart", "run", "--", "sleep", "300"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    eventually("the run is active", || {
        h.codex(&["--json", "status"]).json()["active_runs"] == 1
    });
    assert_eq!(d.stop().code(), Some(0));
    let out = cli.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _d = h.start();
    assert_eq!(history(&h)[0]["outcome"]["status"], "cancelled");
}

#[test]
fn a_closed_stdout_pipe_ends_codex_quietly() {
    let h = Home::new();
    let _d = h.start();
    for i in 0..30 {
        h.codex(&["run", "--goal", &format!("goal {i}"), "--", "true"])
            .ok();
    }
    let mut child = h
        .codex_cmd()
        .args(["--no-autostart", "prefs", "show"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before codex writes
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rules_deny_ask_and_allow_and_survive_a_restart() {
    let h = Home::new().with_config("safety:\n  deny: [\"git push --force*\"]\n");
    let d = h.start();
    let proj = h.project("proj", &[("Makefile", "all:\n")]);
    // deny from the config: never runs, not even when approved in advance.
    let out = h
        .codex_in(&proj, &["run", "--yes", "--", "git", "push", "--force"])
        .code(3);
    assert!(
        out.stderr.contains("deny rule `git push --force*`"),
        "{}",
        out.stderr
    );
    // ask: asked although the comfort level would run it.
    h.codex(&["rules", "ask", "touch *"]).ok();
    let out = h.codex_in(&proj, &["run", "--", "touch", "a"]).code(3);
    assert!(out.stderr.contains("ask rule `touch *`"), "{}", out.stderr);
    // allow: runs unasked (confined), even a destructive command, once a person at a
    // terminal said yes to what the rule lifts; without a terminal it is not added.
    std::fs::create_dir_all(proj.join("build/x")).unwrap();
    let lifted = h.codex(&["rules", "allow", "rm -r build"]).code(3);
    assert!(
        lifted.stderr.contains("destructive") && lifted.stderr.contains("terminal"),
        "{}",
        lifted.stderr
    );
    h.codex_in(&proj, &["run", "--", "rm", "-r", "build"])
        .code(3);
    let Some(confirmed) = h.codex_in_pty(&proj, &["rules", "allow", "rm -r build"], "y\n") else {
        return;
    };
    assert_eq!(confirmed.code, Some(0), "{}", confirmed.stderr);
    h.codex_in(&proj, &["run", "--", "rm", "-r", "build"]).ok();
    assert!(!proj.join("build").exists());
    // ...but never a privileged one.
    h.codex(&["rules", "allow", "sudo *"]).ok();
    h.codex_in(&proj, &["run", "--", "sudo", "true"]).code(3);
    let bad = h.codex(&["rules", "allow", "a["]).code(2);
    assert!(bad.stderr.contains("bad pattern"), "{}", bad.stderr);
    let gone = h.codex(&["rules", "rm", "git push --force*"]).code(2);
    assert!(gone.stderr.contains("config"), "{}", gone.stderr);

    assert_eq!(d.stop().code(), Some(0));
    let _d = h.start();
    let listed = h.codex(&["--json", "rules"]).ok().json();
    let rules: Vec<(String, String, String)> = listed["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["pattern"].as_str().unwrap().to_string(),
                r["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(rules.contains(&("deny".into(), "git push --force*".into(), "config".into())));
    assert!(rules.contains(&("ask".into(), "touch *".into(), "codex rules".into())));
    assert!(rules.contains(&("allow".into(), "sudo *".into(), "codex rules".into())));
    h.codex(&["rules", "rm", "touch *"]).ok();
    h.codex_in(&proj, &["run", "--", "touch", "a"]).ok();
    let dry = decision(&h, &proj, &["--dry-run", "--", "git", "push", "--force"]);
    assert!(dry.starts_with("never runs"), "{dry}");
}

#[test]
fn a_step_past_its_tools_timeout_is_stopped_and_recorded() {
    let h = Home::new().with_config("safety:\n  timeouts: {sleep: 1}\n");
    let _d = h.start();
    let out = h.codex(&["run", "--", "sleep", "30"]).code(124);
    assert!(out.stderr.contains("timed out after 1s"), "{}", out.stderr);
    let runs = history(&h);
    assert_eq!(runs[0]["outcome"]["status"], "timed_out");
}

#[test]
fn steps_run_confined_unless_approved_and_with_the_sandbox_off_only_reads_run_unasked() {
    use std::os::unix::fs::PermissionsExt;
    let script = |h: &Home| {
        let proj = h.project("proj", &[("Makefile", "all:\n")]);
        let outside = h.dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let body = format!(
            "#!/bin/sh\ntouch inside\ntouch \"$TMPDIR/scratch\"\ntouch {}/escaped\n",
            outside.display()
        );
        std::fs::write(proj.join("escape.sh"), body).unwrap();
        std::fs::set_permissions(
            proj.join("escape.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        (proj, outside)
    };
    let h = Home::new();
    let _d = h.start();
    if !h.sandbox_enforced() {
        return;
    }
    let (proj, outside) = script(&h);
    let out = h.codex_in(&proj, &["run", "--", "./escape.sh"]);
    assert!(proj.join("inside").exists(), "{}", out.stderr);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(
        !outside.join("escaped").exists(),
        "the sandbox let a write out"
    );
    assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);
    assert!(
        out.stderr.contains("ran in the sandbox") && out.stderr.contains("--unconfined"),
        "a confined step that fails says so: {}",
        out.stderr
    );
    // The episode records the step as the user gave it, not the sandbox helper.
    let runs = history(&h);
    assert_eq!(runs[0]["goal"], "./escape.sh");
    // The control: approved at the prompt for this step, it runs unconfined.
    if let Some(out) = h.codex_in_pty(&proj, &["run", "--unconfined", "--", "./escape.sh"], "y\n") {
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(outside.join("escaped").exists(), "{}", out.stderr);
    }
    // --unconfined with nobody to ask runs nothing, not even a read-only step.
    h.codex_in(&proj, &["run", "--unconfined", "--yes", "--", "ls"])
        .code(3);

    // With the sandbox off nothing would be contained: only read-only steps run unasked.
    let off = Home::new().with_config("safety:\n  sandbox: off\n");
    let _d = off.start();
    let (proj, outside) = script(&off);
    let out = off
        .codex_in(&proj, &["run", "--yes", "--", "./escape.sh"])
        .code(3);
    assert!(out.stderr.contains("sandbox is off"), "{}", out.stderr);
    assert!(!outside.join("escaped").exists());
    off.codex_in(&proj, &["run", "--", "ls"]).ok();
}

fn pending(h: &Home) -> Vec<Value> {
    h.codex(&["--json", "approvals"]).ok().json()["pending"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn unattended_runs_hold_approvals_until_approved_denied_or_expired() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.dir.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join("Makefile"), "all:\n").unwrap();
    // Read-only runs at once even unattended.
    assert_eq!(decision(&h, &proj, &["--detach", "--", "ls"]), "runs now");
    // Unattended is one level stricter: at medium, writes in the project wait.
    let r = decision(&h, &proj, &["--detach", "--", "touch", "approved.txt"]);
    assert!(r.starts_with("waits for approval"), "{r}");
    eventually("the approval is held", || pending(&h).len() == 1);
    let held = &pending(&h)[0];
    assert_eq!(held["command"], "touch approved.txt");
    assert!(!proj.join("approved.txt").exists());
    let id = held["id"].as_u64().unwrap().to_string();
    h.codex(&["approve", &id]).ok();
    eventually("the approved run ran", || {
        proj.join("approved.txt").exists()
    });

    h.codex_in(&proj, &["run", "--detach", "--", "touch", "denied.txt"])
        .ok();
    eventually("the second approval is held", || pending(&h).len() == 1);
    let id = pending(&h)[0]["id"].as_u64().unwrap().to_string();
    // The listing shows every command in full, and answering names what is answered.
    let listed = h.codex(&["approvals"]).ok().stdout;
    assert!(listed.contains("touch denied.txt"), "{listed}");
    let denied = h.codex(&["deny", &id]).ok().stdout;
    assert!(
        denied.contains("denying approval") && denied.contains("touch denied.txt"),
        "{denied}"
    );
    assert!(pending(&h).is_empty());
    let unknown = h.codex(&["approve", "999"]).code(2);
    assert!(
        unknown.stderr.contains("no pending approval 999"),
        "{}",
        unknown.stderr
    );
    // The held run's task has ended (denied or expired): nothing can run it any more.
    eventually("the held run ended", || {
        h.codex(&["--json", "status"]).json()["active_runs"] == 0
    });
    assert!(!proj.join("denied.txt").exists());

    // Answers are signals: one given, one denied (besides nothing else asked).
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert_eq!(prefs["style"]["approvals_given"], 1);
    assert_eq!(prefs["style"]["approvals_denied"], 1);
    // Destructive steps are held too, never run on their own.
    let r = decision(&h, &proj, &["--detach", "--yes", "--", "rm", "-r", "x"]);
    assert!(r.contains("always asked"), "{r}");
}

#[test]
fn held_approvals_expire_and_disliked_plans_are_not_run_unattended() {
    let h = Home::new().with_config("safety:\n  approval_expiry_secs: 1\n");
    let _d = h.start();
    let proj = h.dir.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    h.codex_in(&proj, &["run", "--detach", "--", "touch", "late.txt"])
        .ok();
    eventually("held", || pending(&h).len() == 1);
    eventually("expired", || pending(&h).is_empty());
    // The held run's task has ended (denied or expired): nothing can run it any more.
    eventually("the held run ended", || {
        h.codex(&["--json", "status"]).json()["active_runs"] == 0
    });
    assert!(!proj.join("late.txt").exists());

    // A plan rated down is refused up front when nobody would watch it.
    for _ in 0..5 {
        h.codex_in(&proj, &["run", "--goal", "tidy", "--", "ls", "-la"])
            .ok();
        h.codex(&["rate", "1"]).ok();
    }
    let out = h
        .codex_in(
            &proj,
            &["run", "--detach", "--goal", "tidy", "--", "ls", "-la"],
        )
        .code(3);
    assert!(
        out.stderr.contains("min_alignment_unattended"),
        "{}",
        out.stderr
    );
}
