//! The optimizer, end to end: a failing `--every` job backs off, is paused at the longest
//! interval (and the user told once), and comes back after successes, across a restart; a
//! failure spike raises an alert that pauses autonomous work for a low-comfort user until it
//! is acknowledged, and is only recorded for a high-comfort one. Intervals are a second long;
//! waits poll the job store through the socket (which takes no notices), bounded.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::time::Duration;

use codex_e2e::{Home, Raw, eventually_for};
use serde_json::{Value, json};

/// Longest wait for a sequence of occurrences (a few seconds each).
const LONG: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(100);

/// Bounds small enough for a test: stretched to 2s, then 4s, then paused.
const FAST: &str = "scheduler:\n  min_interval_secs: 1\n  max_interval_secs: 4\n  tick_secs: 1\n";

fn show(raw: &mut Raw, id: u64) -> Value {
    let r = raw.call(1, "schedule/show", json!({"id": id}));
    r["result"].clone()
}

fn add(h: &Home, dir: &Path, args: &[&str]) -> u64 {
    let mut all = vec!["--json", "schedule", "add"];
    all.extend_from_slice(args);
    h.codex_in(dir, &all).ok().json()["job"]["id"]
        .as_u64()
        .unwrap()
}

fn decisions(d: &Value) -> Vec<(u64, u64, bool, String)> {
    d["decisions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .rev()
        .map(|c| {
            (
                c["from_secs"].as_u64().unwrap(),
                c["to_secs"].as_u64().unwrap(),
                c["paused"].as_bool().unwrap_or(false),
                c["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_failing_every_job_backs_off_pauses_at_the_longest_and_recovers_after_successes() {
    let h = Home::new().with_config(FAST);
    let d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    // Read-only, so it runs unattended; fails while the flag file is missing.
    let id = add(&h, &proj, &["--every", "1s", "--", "ls", "flag"]);
    let mut raw = h.connect();
    eventually_for("the job to be paused by codex", LONG, POLL, || {
        show(&mut raw, id)["job"]["paused_by_codex"].is_string()
    });
    let detail = show(&mut raw, id);
    let got = decisions(&detail);
    assert_eq!(
        got.iter()
            .map(|(f, t, p, _)| (*f, *t, *p))
            .collect::<Vec<_>>(),
        vec![(1, 2, false), (2, 4, false), (4, 4, true)],
        "{detail:#}"
    );
    assert_eq!(got[0].3, "2 failures in a row");
    assert_eq!(got[1].3, "3 failures in a row");
    assert!(
        got[2]
            .3
            .starts_with("4 failures in a row, at its longest interval (4s)"),
        "{}",
        got[2].3
    );
    assert_eq!(detail["job"]["interval_secs"], 4);
    assert_eq!(detail["job"]["paused"], true);

    // The user is told once, by the next codex command, on stderr.
    let first = h.codex(&["status"]).ok();
    assert!(
        first
            .stderr
            .contains(&format!("codex paused job {id}: 4 failures in a row")),
        "{}",
        first.stderr
    );
    assert!(
        first.stdout.contains("1 by codex: they kept failing"),
        "{}",
        first.stdout
    );
    let second = h.codex(&["status"]).ok();
    assert!(
        !second.stderr.contains("codex paused job"),
        "{}",
        second.stderr
    );
    let list = h.codex(&["schedule", "list"]).ok().stdout;
    assert!(list.contains("paused by codex"), "{list}");
    assert!(
        list.contains("every 4s (stretched by codex from 1s)"),
        "{list}"
    );
    let text = h.codex(&["schedule", "show", &id.to_string()]).ok().stdout;
    assert!(
        text.contains("interval 1s → 2s: 2 failures in a row"),
        "{text}"
    );
    assert!(
        text.contains("interval 2s → 4s: 3 failures in a row"),
        "{text}"
    );

    // All of it survives a restart.
    drop(raw);
    d.stop();
    let _d = h.start();
    let mut raw = h.connect();
    let after = show(&mut raw, id);
    assert_eq!(decisions(&after).len(), 3, "{after:#}");
    assert_eq!(after["job"]["paused"], true);
    assert_eq!(after["job"]["interval_secs"], 4);

    // Fixed and resumed: two successes in a row halve the interval, then again to 1s.
    std::fs::write(proj.join("flag"), "").unwrap();
    h.codex(&["schedule", "resume", &id.to_string()]).ok();
    eventually_for("the interval to come back to 1s", LONG, POLL, || {
        show(&mut raw, id)["job"]["interval_secs"].is_null()
    });
    let back = decisions(&show(&mut raw, id));
    assert_eq!(
        back[3..]
            .iter()
            .map(|(f, t, p, r)| (*f, *t, *p, r.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (4, 2, false, "2 successes in a row"),
            (2, 1, false, "4 successes in a row")
        ]
    );
}

/// A project whose `./work.sh` sleeps as long as its `delay` file says (0 s), run 12 times.
fn steady_work(h: &Home) -> std::path::PathBuf {
    let proj = h.project(
        "p",
        &[
            (".git/HEAD", "ref: refs/heads/main\n"),
            ("work.sh", "#!/bin/sh\nsleep \"$(cat delay)\"\n"),
            ("delay", "0"),
        ],
    );
    std::fs::set_permissions(
        proj.join("work.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for _ in 0..12 {
        h.codex_in(&proj, &["run", "--yes", "--", "./work.sh"]).ok();
    }
    proj
}

fn run_ok(h: &Home, n: usize) {
    for _ in 0..n {
        h.codex(&["run", "--", "true"]).ok();
    }
}

fn fail(h: &Home, n: usize) {
    for _ in 0..n {
        h.codex(&["run", "--", "false"]).code(1);
    }
}

fn open_alerts(h: &Home) -> Value {
    h.codex(&["--json", "alerts"]).ok().json()
}

#[test]
fn a_failure_spike_pauses_autonomous_work_at_low_comfort_until_acknowledged() {
    let h = Home::new().with_config(FAST);
    let d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    h.codex(&["prefs", "set", "autonomy_comfort", "low"]).ok();
    run_ok(&h, 20);
    assert_eq!(open_alerts(&h)["alerts"], json!([]));
    fail(&h, 3);
    assert_eq!(
        open_alerts(&h)["alerts"],
        json!([]),
        "3 of 10 is not yet improbable"
    );
    // The fourth failure in ten, against a record of none, is a spike; the next command says so.
    let told = h.codex(&["run", "--", "false"]).code(1);
    let _ = told;
    let next = h.codex(&["status"]).ok();
    assert!(
        next.stderr.contains("alert 1 (failure spike, all runs)"),
        "{}",
        next.stderr
    );
    assert!(
        next.stderr.contains("codex alerts ack 1"),
        "{}",
        next.stderr
    );
    assert!(next.stdout.contains("autonomy  PAUSED"), "{}", next.stdout);
    let alerts = open_alerts(&h);
    let a = &alerts["alerts"][0];
    assert_eq!(a["kind"], "failure_spike");
    assert_eq!(a["action"], "paused_autonomy");
    assert!(
        a["evidence"]
            .as_str()
            .unwrap()
            .starts_with("4 of the last 10 runs failed"),
        "{a}"
    );

    // Scheduled work does not run while it is paused, across a restart too.
    let id = add(&h, &proj, &["--every", "1s", "--", "true"]);
    d.stop();
    let _d = h.start();
    let mut raw = h.connect();
    eventually_for("a skipped occurrence", LONG, POLL, || {
        show(&mut raw, id)["runs"]
            .as_array()
            .is_some_and(|r| r.iter().any(|o| o["result"] == "skipped"))
    });
    let runs = show(&mut raw, id)["runs"].clone();
    let skipped: Vec<&Value> = runs
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["result"] != "running")
        .collect();
    assert!(
        skipped.iter().all(|o| o["result"] == "skipped"
            && o["detail"]
                .as_str()
                .unwrap()
                .starts_with("autonomous work is paused: alert 1")),
        "{runs:#}"
    );
    // A run the user asks for still runs.
    let now = h
        .codex(&["--json", "schedule", "run", &id.to_string()])
        .ok()
        .json();
    assert_eq!(now["result"], "succeeded", "{now}");

    let acked = h.codex(&["alerts", "ack", "1"]).ok().stdout;
    assert!(
        acked.contains("scheduled jobs run on their own again"),
        "{acked}"
    );
    eventually_for("a scheduled occurrence to succeed", LONG, POLL, || {
        show(&mut raw, id)["runs"].as_array().is_some_and(|r| {
            r.iter()
                .any(|o| o["result"] == "succeeded" && o["kind"] == "scheduled")
        })
    });
    assert_eq!(open_alerts(&h)["alerts"], json!([]));
    let all = h.codex(&["--json", "alerts", "--all"]).ok().json();
    assert!(all["alerts"][0]["acked"].is_string(), "{all}");
    // Unknown ids are refused, naming where to look.
    let e = h.codex(&["alerts", "ack", "99"]).code(2);
    assert!(e.stderr.contains("no alert 99"), "{}", e.stderr);
}

#[test]
fn at_high_comfort_an_alert_is_recorded_and_nothing_is_paused() {
    let h = Home::new();
    let _d = h.start();
    h.codex(&["prefs", "set", "autonomy_comfort", "high"]).ok();
    run_ok(&h, 20);
    fail(&h, 4);
    let alerts = open_alerts(&h);
    assert_eq!(alerts["alerts"][0]["action"], "recorded", "{alerts}");
    assert!(alerts["autonomy_paused"].is_null(), "{alerts}");
    let status = h.codex(&["status"]).ok().stdout;
    assert!(status.contains("alerts    1 open"), "{status}");
    assert!(!status.contains("PAUSED"), "{status}");
}

#[test]
fn with_adaptation_off_alerts_are_shown_and_nothing_is_changed() {
    let h = Home::new().with_config(&format!("adaptation_mechanisms_enabled: false\n{FAST}"));
    let _d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    h.codex(&["prefs", "set", "autonomy_comfort", "low"]).ok();
    let id = add(&h, &proj, &["--every", "1s", "--", "ls", "flag"]);
    let mut raw = h.connect();
    eventually_for("5 failed occurrences", LONG, POLL, || {
        show(&mut raw, id)["runs"].as_array().is_some_and(|r| {
            r.iter()
                .filter(|o| o["result"] == "failed" || o["result"] == "refused")
                .count()
                >= 5
        })
    });
    let d = show(&mut raw, id);
    assert!(
        d["decisions"].is_null() || d["decisions"] == json!([]),
        "{d:#}"
    );
    assert_eq!(d["job"]["paused"], false);
    let alerts = open_alerts(&h);
    assert_eq!(alerts["adapting"], false);
    assert!(alerts["autonomy_paused"].is_null(), "{alerts}");
}

#[test]
fn slow_runs_storage_growth_and_jobs_held_again_and_again_raise_alerts() {
    let h = Home::new().with_config(&format!(
        "optimizer:\n  storage_alert_bytes: 1\n  storage_check_secs: 1\n{FAST}"
    ));
    let _d = h.start();
    let proj = steady_work(&h);
    std::fs::write(proj.join("delay"), "2").unwrap();
    h.codex_in(&proj, &["run", "--yes", "--", "./work.sh"]).ok();
    // A step that writes needs a yes when nobody is there: held, then skipped while it waits.
    let id = add(&h, &proj, &["--every", "1s", "--", "touch", "made"]);
    let mut kinds = Vec::new();
    eventually_for("three kinds of alerts", LONG, POLL, || {
        let a = h.codex(&["--json", "alerts"]).ok().json();
        kinds = a["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap().to_string())
            .collect();
        ["slow_run", "storage_growth", "repeatedly_held"]
            .iter()
            .all(|k| kinds.iter().any(|x| x == k))
    });
    let a = h.codex(&["--json", "alerts"]).ok().json();
    let find = |k: &str| {
        a["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["kind"] == k)
            .cloned()
            .unwrap()
    };
    let slow = find("slow_run");
    assert_eq!(slow["subject"], "`./work.sh`", "{slow}");
    assert!(
        slow["evidence"].as_str().unwrap().contains("took 2."),
        "{slow}"
    );
    let held = find("repeatedly_held");
    assert_eq!(held["job"], id, "{held}");
    assert!(
        held["evidence"]
            .as_str()
            .unwrap()
            .starts_with("3 occurrences in a row waited for a yes"),
        "{held}"
    );
    let storage = find("storage_growth");
    assert!(
        storage["evidence"]
            .as_str()
            .unwrap()
            .contains("optimizer.storage_alert_bytes"),
        "{storage}"
    );
    // One alert per thing while it is open, however often it is seen again.
    assert_eq!(kinds.len(), 3, "{a:#}");
}

/// A rating changes the verdict of its own occurrence at most once: rating a run again, or
/// rating a failed run low, is not another bad occurrence. Failures while a job is paused by
/// the user (its `schedule run`s) are not piled up for later.
#[test]
fn each_occurrence_counts_once_and_nothing_piles_up_while_paused() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    let mut raw = h.connect();
    let ok = add(&h, &proj, &["--every", "10m", "--", "true"]);
    let run = h
        .codex(&["--json", "schedule", "run", &ok.to_string()])
        .ok()
        .json();
    let id = run["runs"][0].as_u64().unwrap().to_string();
    for _ in 0..3 {
        h.codex(&["rate", "--run", &id, "2"]).ok();
    }
    let d = decisions(&show(&mut raw, ok));
    assert!(
        d.is_empty(),
        "one low-rated occurrence is one bad one: {d:?}"
    );

    let failing = add(&h, &proj, &["--every", "10m", "--", "false"]);
    let run = h
        .codex(&["--json", "schedule", "run", &failing.to_string()])
        .json();
    let id = run["runs"][0].as_u64().unwrap().to_string();
    h.codex(&["rate", "--run", &id, "1"]).ok();
    let d = decisions(&show(&mut raw, failing));
    assert!(
        d.is_empty(),
        "a failed run rated low is one bad occurrence: {d:?}"
    );

    let paused = add(&h, &proj, &["--every", "10m", "--", "false"]);
    h.codex(&["schedule", "pause", &paused.to_string()]).ok();
    for _ in 0..5 {
        h.codex(&["schedule", "run", &paused.to_string()]);
    }
    h.codex(&["schedule", "resume", &paused.to_string()]).ok();
    h.codex(&["schedule", "run", &paused.to_string()]);
    let d = decisions(&show(&mut raw, paused));
    assert!(d.is_empty(), "failures while paused are not counted: {d:?}");
    h.codex(&["schedule", "run", &paused.to_string()]);
    let d = decisions(&show(&mut raw, paused));
    assert_eq!(
        d.iter()
            .map(|(f, t, _, r)| (*f, *t, r.as_str()))
            .collect::<Vec<_>>(),
        vec![(600, 1200, "2 failures in a row")]
    );
}

/// An acknowledged storage alert is not raised again at every start while storage stays past
/// its bound; `forget --all` leaves no command in the alerts or notices.
#[test]
fn storage_alerts_are_raised_on_crossing_and_forget_all_clears_what_alerts_say() {
    let h =
        Home::new().with_config("optimizer:\n  storage_alert_bytes: 1\n  storage_check_secs: 1\n");
    let d = h.start();
    h.codex(&["prefs", "set", "autonomy_comfort", "low"]).ok();
    let mut raw = h.connect();
    eventually_for("a storage alert", LONG, POLL, || {
        raw.call(1, "alerts", json!({}))["result"]["alerts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    h.codex(&["alerts", "ack", "1"]).ok();
    drop(raw);
    d.stop();
    let d = h.start();
    // Measured after the start (still past the bound), and nothing new.
    eventually_for("storage measured", LONG, POLL, || {
        d.log().contains("storage measured")
    });
    let a = h.codex(&["--json", "alerts", "--all"]).ok().json();
    assert_eq!(a["alerts"].as_array().unwrap().len(), 1, "{a:#}");
    assert!(a["autonomy_paused"].is_null(), "{a:#}");

    // A slow run's alert names its command; forget --all leaves none of it.
    let proj = steady_work(&h);
    std::fs::write(proj.join("delay"), "1").unwrap();
    h.codex_in(&proj, &["run", "--yes", "--", "./work.sh"]).ok();
    let a = h.codex(&["--json", "alerts"]).ok().json();
    assert!(a.to_string().contains("work.sh"), "{a:#}");
    h.codex(&["forget", "--all", "--yes"]).ok();
    let all = h.codex(&["--json", "alerts", "--all"]).ok().json();
    assert!(!all.to_string().contains("work.sh"), "{all:#}");
    d.stop();
    let state = std::fs::read_to_string(h.path("storage/optimizer/optimizer.json"))
        .unwrap_or_default()
        + &std::fs::read_to_string(h.path("storage/optimizer/optimizer.journal.jsonl"))
            .unwrap_or_default();
    // The journal keeps the forget as an op; compaction at stop folds it away.
    assert!(!state.contains("work.sh"), "{state}");
}

/// What is usual survives a restart: it is learned again from the runs the dataset holds.
#[test]
fn the_usual_failure_rate_is_remembered_across_a_restart() {
    let h = Home::new();
    let d = h.start();
    run_ok(&h, 20);
    d.stop();
    let _d = h.start();
    fail(&h, 4);
    let alerts = open_alerts(&h);
    assert_eq!(alerts["alerts"][0]["kind"], "failure_spike", "{alerts}");
}
