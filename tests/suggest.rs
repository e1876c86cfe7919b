//! `codex suggest`, end to end: it learns the order of what the user does (runs and imported
//! history) and answers with it at once; recurring goals become proposed jobs with the right
//! cron expression; accept and dismiss; the off switch; and `suggest eval` on a generated
//! history beats all four baselines.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;

use codex_e2e::Home;
use serde_json::Value;

fn suggest(h: &Home, dir: &std::path::Path) -> Value {
    h.codex_in(dir, &["--json", "suggest", "--limit", "5"])
        .ok()
        .json()
}

/// Import `text` as a bash history.
fn import_bash(h: &Home, text: &str) {
    let file = h.scratch().join("history");
    std::fs::write(&file, text).unwrap();
    h.codex(&[
        "import",
        "shell-history",
        "--shell",
        "bash",
        file.to_str().unwrap(),
    ])
    .ok();
}

fn goals(r: &Value) -> Vec<String> {
    r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["goal"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn suggestions_follow_the_order_of_what_you_do_and_see_a_run_at_once() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    // A plain history, no times: order alone.
    let mut text = String::new();
    for _ in 0..30 {
        text.push_str("pwd\nls\nwhoami\n");
    }
    import_bash(&h, &text);
    // The history ended with `whoami`; `pwd` came next every time.
    let r = suggest(&h, &proj);
    assert_eq!(goals(&r)[0], "pwd", "{r:#}");
    let first = &r["suggestions"][0];
    assert!(
        first["evidence"].as_str().unwrap().contains("`pwd`"),
        "{r:#}"
    );
    assert_eq!(first["plan"]["command"], "pwd");
    assert_eq!(first["runnable"], true, "{r:#}");
    // A run is seen by the very next suggest: after `pwd`, `ls`.
    h.codex_in(&proj, &["run", "--", "pwd"]).ok();
    let r = suggest(&h, &proj);
    assert_eq!(goals(&r)[0], "ls", "{r:#}");
    // `suggest run N` runs the N that was shown, recorded as a suggestion's run, even when a
    // run since has changed what would be suggested now.
    let shown = goals(&r);
    let last_run = || h.codex(&["--json", "history"]).ok().json()["runs"][0].clone();
    h.codex_in(&proj, &["suggest", "run", "1"]).ok();
    let last = last_run();
    assert_eq!(last["command"], "ls");
    assert_eq!(last["trigger"], "suggestion");
    h.codex_in(&proj, &["suggest", "run", "2"]).ok();
    assert_eq!(last_run()["command"], shown[1].as_str(), "{shown:?}");
    // A step that would be asked is not offered to run.
    for _ in 0..3 {
        h.codex_in(&proj, &["run", "--yes", "--", "touch", "x"])
            .ok();
        h.codex_in(&proj, &["run", "--", "pwd"]).ok();
    }
    h.codex_in(&proj, &["run", "--yes", "--", "touch", "x"])
        .ok();
    // At a low comfort, writing in the project is asked.
    h.codex(&["prefs", "set", "autonomy_comfort", "low"]).ok();
    let r = suggest(&h, &proj);
    let touch = r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["goal"] == "touch x")
        .cloned();
    let t = touch.expect("`touch x` is suggested after `pwd`");
    {
        assert_eq!(t["runnable"], false, "{r:#}");
        assert!(t["why_not"].as_str().unwrap().contains("asked"), "{r:#}");
        let n = t["n"].as_u64().unwrap().to_string();
        let out = h.codex_in(&proj, &["suggest", "run", &n]).code(2);
        assert!(out.stderr.contains("not offered to run"), "{}", out.stderr);
    }
    // The model survives a restart: it is learned again from the dataset.
    drop(_d);
    let _d = h.start();
    let r = suggest(&h, &proj);
    assert!(r["learned_from"].as_u64().unwrap() >= 90, "{r:#}");
}

/// A zsh extended history: `cargo test` in `proj` at about 09:00 (UTC) every weekday for three
/// weeks, `make deploy` in `proj` at about 17:00 every day, and noise at any hour.
fn recurring_history(proj: &std::path::Path) -> String {
    // Monday 2026-11-02 00:00 UTC.
    let monday = 1_793_577_600_i64;
    let mut text = String::new();
    let mut seed = 7_u64;
    let mut rnd = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for day in 0..21_i64 {
        let base = monday + day * 86_400;
        let weekday = day % 7 < 5;
        let mut events: Vec<(i64, String)> = Vec::new();
        if weekday {
            let t = base + 9 * 3600 - 300 + (rnd(11) as i64) * 60;
            events.push((t - 30, format!("cd {}", proj.display())));
            events.push((t, "cargo test".into()));
        }
        let t = base + 17 * 3600 + (rnd(8) as i64) * 60;
        events.push((t - 30, format!("cd {}", proj.display())));
        events.push((t, "make deploy".into()));
        for _ in 0..4 {
            let t = base + (rnd(86_400) as i64);
            events.push((t, ["ls", "vim notes", "htop"][rnd(3) as usize].to_string()));
        }
        events.sort();
        for (t, c) in events {
            writeln!(text, ": {t}:0;{c}").unwrap();
        }
    }
    text
}

#[test]
fn a_weekday_morning_goal_is_proposed_as_a_job_accept_and_dismiss_work() {
    let h = Home::new().with_env("TZ", "UTC");
    let _d = h.start();
    let proj = h.project(
        "p",
        &[
            (".git/HEAD", "ref: refs/heads/main\n"),
            ("Cargo.toml", "[package]\nname = \"p\"\n"),
        ],
    );
    let file = h.scratch().join("zsh_history");
    std::fs::write(&file, recurring_history(&proj)).unwrap();
    h.codex(&[
        "import",
        "shell-history",
        "--shell",
        "zsh",
        file.to_str().unwrap(),
    ])
    .ok();
    let r = h.codex(&["--json", "suggest", "jobs"]).ok().json();
    let proposals = r["proposals"].as_array().unwrap().clone();
    // Learned again from the dataset at start: the same proposals after a restart.
    drop(_d);
    let _d = h.start();
    let again = h.codex(&["--json", "suggest", "jobs"]).ok().json();
    assert_eq!(again["proposals"], r["proposals"], "{again:#}");
    let find = |goal: &str| {
        proposals
            .iter()
            .find(|p| p["goal"] == goal)
            .cloned()
            .unwrap_or_else(|| panic!("no proposal for {goal}: {r:#}"))
    };
    let tests = find("cargo test");
    assert_eq!(tests["cron"], "0 9 * * 1-5", "{r:#}");
    assert_eq!(tests["project"], proj.display().to_string());
    assert!(tests["days"].as_u64().unwrap() >= 10, "{r:#}");
    assert!(tests["confidence"].as_f64().unwrap() > 0.5, "{r:#}");
    // `cargo test` writes in the project: as a job (one comfort level stricter) it would
    // wait for a yes each time, and the proposal says so.
    assert!(
        tests["held"].as_str().unwrap_or_default().contains("asked"),
        "{r:#}"
    );
    let deploy = find("make deploy");
    assert!(
        deploy["cron"].as_str().unwrap().ends_with("17 * * *"),
        "{r:#}"
    );
    assert!(
        !proposals
            .iter()
            .any(|p| p["goal"] == "ls" || p["goal"] == "htop"),
        "noise at random hours is not recurring: {r:#}"
    );
    // Accept: a job with policy deny and the inferred cron, running the command as typed.
    let id = tests["id"].as_str().unwrap();
    let job = h.codex(&["--json", "suggest", "accept", id]).ok().json();
    assert_eq!(job["job"]["policy"], "deny");
    assert_eq!(job["job"]["when"]["cron"], "0 9 * * 1-5");
    assert_eq!(job["plan"]["command"], "cargo test");
    assert_eq!(job["job"]["proposal"], id);
    // Dismiss: never proposed again, not even after a restart.
    let gone = deploy["id"].as_str().unwrap();
    h.codex(&["suggest", "dismiss", gone]).ok();
    let again = h.codex(&["--json", "suggest", "jobs"]).ok().json();
    let left: Vec<&Value> = again["proposals"].as_array().unwrap().iter().collect();
    assert!(
        !left.iter().any(|p| p["id"] == gone || p["id"] == id),
        "{again:#}"
    );
    drop(_d);
    let _d = h.start();
    let again = h.codex(&["--json", "suggest", "jobs"]).ok().json();
    assert!(
        !again["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == gone),
        "{again:#}"
    );
    let out = h.codex(&["suggest", "accept", "nope"]).code(2);
    assert!(out.stderr.contains("no proposal nope"), "{}", out.stderr);
}

#[test]
fn workflow_pattern_tracking_false_turns_suggestions_off() {
    let h = Home::new().with_config("workflow_pattern_tracking: false\n");
    let _d = h.start();
    let proj = h.project("p", &[]);
    h.codex_in(&proj, &["run", "--", "ls"]).ok();
    let r = suggest(&h, &proj);
    assert!(r["suggestions"].as_array().unwrap().is_empty(), "{r:#}");
    assert!(
        r["off"]
            .as_str()
            .unwrap()
            .contains("workflow_pattern_tracking"),
        "{r:#}"
    );
    let text = h.codex(&["suggest", "jobs"]).ok().stdout;
    assert!(text.contains("workflow_pattern_tracking"), "{text}");
}

#[test]
fn suggest_eval_on_a_generated_history_beats_all_four_baselines() {
    let h = Home::new();
    // Held-out seeds of the routine generator, program names only, as the real histories
    // that judge the model are.
    let seed = codex_patterns::generate::ROUTINE_HELD_OUT[0];
    let history = codex_patterns::generate::strip_args(&codex_patterns::generate::routine_history(
        seed, 3000,
    ));
    let text: String = history.iter().map(|i| format!("{}\n", i.goal)).collect();
    let file = h.scratch().join("plain_history");
    std::fs::write(&file, text).unwrap();
    let r = h
        .codex(&[
            "--json",
            "suggest",
            "eval",
            "--history",
            file.to_str().unwrap(),
            "--format",
            "plain",
        ])
        .ok()
        .json();
    assert_eq!(r["entries"], 3000);
    let model = &r["model"];
    for (name, b) in r["baselines"].as_object().unwrap() {
        for metric in ["top1", "top5", "mrr"] {
            assert!(
                model[metric].as_f64().unwrap() > b[metric].as_f64().unwrap(),
                "{metric}: the model does not beat {name}: {r:#}"
            );
        }
    }
    // --limit replays only the first entries; nothing about it needs codexd.
    let r = h
        .codex(&[
            "--json",
            "suggest",
            "eval",
            "--history",
            file.to_str().unwrap(),
            "--limit",
            "100",
        ])
        .ok()
        .json();
    assert_eq!(r["entries"], 100);
    let text = h
        .codex(&[
            "suggest",
            "eval",
            "--history",
            file.to_str().unwrap(),
            "--format",
            "plain",
        ])
        .ok()
        .stdout;
    assert!(text.contains("order-3 backoff with decay"), "{text}");
    let out = h
        .codex(&["suggest", "eval", "--history", "/nonexistent/file"])
        .code(2);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
    let out = h
        .codex(&[
            "suggest",
            "eval",
            "--history",
            file.to_str().unwrap(),
            "--limit",
            "0",
        ])
        .code(2);
    assert!(out.stderr.contains("--limit"), "{}", out.stderr);
    let binary = h.scratch().join("binary");
    std::fs::write(&binary, b"ls\0\x01\x02\ncd\n").unwrap();
    let out = h
        .codex(&["suggest", "eval", "--history", binary.to_str().unwrap()])
        .code(2);
    assert!(out.stderr.contains("NUL"), "{}", out.stderr);
    let out = h
        .codex(&["suggest", "eval", "--history", "/dev/zero"])
        .code(2);
    assert!(
        out.stderr.contains("NUL") || out.stderr.contains("larger"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_suggestion_that_held_a_secret_is_shown_but_never_run() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    let token = format!("ghp_{}", "a1B2c3D4e5".repeat(4).get(..36).unwrap());
    let line = format!("echo {token}");
    let mut text = String::new();
    for _ in 0..20 {
        text.push_str(&format!("pwd\n{line}\n"));
    }
    text.push_str("pwd\n");
    import_bash(&h, &text);
    let r = suggest(&h, &proj);
    let first = &r["suggestions"][0];
    let goal = first["goal"].as_str().unwrap();
    assert!(
        goal.contains("[REDACTED:") && !goal.contains(&token),
        "{r:#}"
    );
    assert_eq!(first["runnable"], false, "{r:#}");
    assert!(
        first["why_not"].as_str().unwrap().contains("secret"),
        "{r:#}"
    );
    let out = h.codex_in(&proj, &["suggest", "run", "1"]).code(2);
    assert!(out.stderr.contains("not offered to run"), "{}", out.stderr);
}
