//! Scheduled jobs, end to end: they fire and run unattended, hold what needs a yes, survive
//! `kill -9` with no double run and no stuck job, catch up once (or skip) what was missed,
//! and pause, resume and go away when told. Intervals are seconds long; waits poll for the
//! event (an occurrence recorded, the clock passing a time), never sleep a fixed time.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::time::Duration;

use codex_e2e::{Home, eventually};
use serde_json::Value;

/// `codex --json schedule show ID`.
fn show(h: &Home, id: u64) -> Value {
    h.codex(&["--json", "schedule", "show", &id.to_string()])
        .ok()
        .json()
}

/// The job's occurrences, newest first.
fn runs(h: &Home, id: u64) -> Vec<Value> {
    show(h, id)["runs"].as_array().cloned().unwrap_or_default()
}

fn finished(o: &Value) -> bool {
    o["result"] != "running"
}

/// Wait until the job has at least `n` finished occurrences; return them (newest first).
fn wait_finished(h: &Home, id: u64, n: usize) -> Vec<Value> {
    let mut got = Vec::new();
    eventually(&format!("{n} finished occurrences of job {id}"), || {
        got = runs(h, id);
        got.iter().filter(|o| finished(o)).count() >= n
    });
    got
}

/// Wait until the wall clock is past `t` (an RFC 3339 time) plus `extra`.
fn wait_past(t: &str, extra: Duration) {
    let t = chrono::DateTime::parse_from_rfc3339(t).unwrap();
    let until = t + chrono::Duration::from_std(extra).unwrap();
    eventually("the clock to pass the time", || chrono::Utc::now() > until);
}

fn add(h: &Home, dir: &Path, args: &[&str]) -> u64 {
    let mut all = vec!["--json", "schedule", "add"];
    all.extend_from_slice(args);
    let d = h.codex_in(dir, &all).ok().json();
    d["job"]["id"].as_u64().unwrap()
}

/// A started daemon and a project folder for its jobs.
fn repo() -> (Home, codex_e2e::Daemon, std::path::PathBuf) {
    let h = Home::new();
    let d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    (h, d, proj)
}

fn assert_claims_unique(runs: &[Value]) {
    let mut ats: Vec<&str> = runs.iter().map(|o| o["at"].as_str().unwrap()).collect();
    let n = ats.len();
    ats.sort_unstable();
    ats.dedup();
    assert_eq!(ats.len(), n, "an occurrence ran twice: {runs:#?}");
}

#[test]
fn a_job_fires_and_runs_unattended_recorded_as_the_jobs_run() {
    let (h, _d, proj) = repo();
    let id = add(
        &h,
        &proj,
        &["--every", "1s", "--name", "tick", "--", "echo", "tick"],
    );
    let list = h.codex(&["--json", "schedule", "list"]).ok().json();
    let job = &list["jobs"][0];
    assert_eq!(job["policy"], "deny");
    assert_eq!(job["schedule"], "every 1s");
    assert_eq!(job["catch_up"], "once");
    let got = wait_finished(&h, id, 2);
    let done: Vec<&Value> = got.iter().filter(|o| finished(o)).collect();
    assert!(done.iter().all(|o| o["result"] == "succeeded"), "{got:#?}");
    assert!(done.iter().all(|o| o["kind"] == "scheduled"), "{got:#?}");
    // Each occurrence is a run in history, marked as the job's.
    let history = h.codex(&["--json", "history"]).ok().json();
    let scheduled: Vec<&Value> = history["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["trigger"] == "schedule" && r["job"] == id)
        .collect();
    assert!(scheduled.len() >= 2, "{history:#}");
    let table = h.codex(&["history"]).ok().stdout;
    assert!(
        table.contains("BY") && table.contains(&format!("job {id}")),
        "{table}"
    );
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert!(
        prefs["started_by"]["schedule"].as_u64().unwrap() >= 2,
        "{prefs:#}"
    );
    assert_eq!(prefs["started_by"]["jobs"][0], id, "{prefs:#}");
    let text = h.codex(&["prefs", "show"]).ok().stdout;
    assert!(text.contains(&format!("by jobs (job {id})")), "{text}");
    let status = h.codex(&["status"]).ok().stdout;
    assert!(status.contains("jobs      1 job, next"), "{status}");
    let run_id = done[0]["runs"][0].as_u64().unwrap();
    let detail = h
        .codex(&["--json", "show", &run_id.to_string()])
        .ok()
        .json();
    assert_eq!(detail["trigger"], "schedule");
    assert_eq!(detail["job"], id);
    let export = h.codex(&["export", "--format", "episodes"]).ok().stdout;
    assert!(
        export
            .lines()
            .any(|l| l.contains("\"trigger\":\"schedule\"") && l.contains(&format!("\"job\":{id}"))),
        "{export}"
    );
    // A rating of a job's run shows in `schedule show`.
    h.codex(&["rate", "--run", &run_id.to_string(), "4"]).ok();
    let rated = runs(&h, id);
    assert!(
        rated
            .iter()
            .any(|o| o["runs"][0] == run_id && o["rating"] == 4),
        "{rated:#?}"
    );
    // The text form names what ran and when it runs next.
    let text = h.codex(&["schedule", "show", &id.to_string()]).ok().stdout;
    assert!(text.contains("plan:     echo tick"), "{text}");
    assert!(text.contains("next:"), "{text}");
    assert!(text.contains("succeeded"), "{text}");
    assert_claims_unique(&runs(&h, id));
}

#[test]
fn a_step_that_needs_a_yes_is_held_once_and_the_job_goes_on_without_it() {
    let (h, _d, proj) = repo();
    // Writing in the project is asked at the unattended comfort (one level below medium).
    let id = add(&h, &proj, &["--every", "1s", "--", "touch", "made.txt"]);
    let got = wait_finished(&h, id, 3);
    let done: Vec<&Value> = got.iter().filter(|o| finished(o)).collect();
    // Oldest first: the first occurrence is held, the next ones do not ask again.
    let oldest = done.last().unwrap();
    assert_eq!(oldest["result"], "held", "{got:#?}");
    assert!(
        oldest["detail"]
            .as_str()
            .unwrap()
            .contains("codex approvals"),
        "{got:#?}"
    );
    let later: Vec<&&Value> = done.iter().filter(|o| o["at"] != oldest["at"]).collect();
    assert!(
        later.iter().all(|o| o["result"] == "skipped"
            && o["detail"]
                .as_str()
                .unwrap()
                .contains("still waits for a yes")),
        "{got:#?}"
    );
    assert!(!proj.join("made.txt").exists());
    let pending = h.codex(&["--json", "approvals"]).ok().json();
    let mine: Vec<&Value> = pending["pending"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["job"] == id)
        .collect();
    assert_eq!(mine.len(), 1, "one question per job: {pending:#}");
    assert_eq!(mine[0]["command"], "touch made.txt");
    let text = h.codex(&["approvals"]).ok().stdout;
    assert!(text.contains(&format!("from: job {id}")), "{text}");
    // A yes given later runs the held step, recorded as the job's, and its occurrence says so.
    let approval = mine[0]["id"].as_u64().unwrap();
    h.codex(&["schedule", "pause", &id.to_string()]).ok();
    h.codex(&["approve", &approval.to_string()]).ok();
    eventually("the approved step to run", || {
        proj.join("made.txt").exists()
    });
    eventually("its occurrence to say it ran", || {
        runs(&h, id).iter().any(|o| {
            o["at"] == oldest["at"]
                && o["result"] == "succeeded"
                && o["detail"].as_str().unwrap().contains("after your yes")
        })
    });
    let history = h.codex(&["--json", "history"]).ok().json();
    assert!(
        history["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["job"] == id && r["command"] == "touch made.txt"),
        "{history:#}"
    );
}

#[test]
fn a_held_occurrence_is_not_left_waiting_on_a_question_a_restart_forgot() {
    let h = Home::new();
    let d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    let id = add(&h, &proj, &["--every", "1h", "--", "touch", "made.txt"]);
    let o = h
        .codex(&["--json", "schedule", "run", &id.to_string()])
        .code(1)
        .json();
    assert_eq!(o["result"], "held", "{o:#}");
    d.stop();
    let _d = h.start();
    let after = runs(&h, id);
    assert_eq!(after[0]["result"], "interrupted", "{after:#?}");
    assert!(
        after[0]["detail"]
            .as_str()
            .unwrap()
            .contains("schedule run"),
        "{after:#?}"
    );
    // And a new question can be asked: the job is not stuck behind the old one.
    let o = h
        .codex(&["--json", "schedule", "run", &id.to_string()])
        .code(1)
        .json();
    assert_eq!(o["result"], "held", "{o:#}");
}

#[test]
fn an_allowlist_job_runs_only_what_an_allow_rule_matches() {
    let (h, _d, proj) = repo();
    let id = add(
        &h,
        &proj,
        &[
            "--every",
            "1s",
            "--policy",
            "allowlist",
            "--",
            "echo",
            "listed",
        ],
    );
    let got = wait_finished(&h, id, 1);
    let first = got.iter().find(|o| finished(o)).unwrap();
    assert_eq!(first["result"], "held", "{got:#?}");
    assert!(
        first["detail"].as_str().unwrap().contains("allow rules"),
        "{got:#?}"
    );
    h.codex(&["rules", "allow", "echo *"]).ok();
    // The question already asked is answered (no); the next occurrence needs none.
    let pending = h.codex(&["--json", "approvals"]).ok().json();
    let approval = pending["pending"][0]["id"].as_u64().unwrap().to_string();
    h.codex(&["deny", &approval]).ok();
    eventually("an occurrence to run once the rule is there", || {
        runs(&h, id).iter().any(|o| o["result"] == "succeeded")
    });
    let list = h.codex(&["schedule", "list"]).ok().stdout;
    assert!(list.contains("allowlist"), "{list}");
}

#[test]
fn jobs_and_claims_survive_kill_9_with_no_double_run_and_no_stuck_job() {
    let h = Home::new();
    let d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    let id = add(&h, &proj, &["--every", "1s", "--", "sleep", "30"]);
    eventually("an occurrence to be running", || {
        runs(&h, id).iter().any(|o| o["result"] == "running")
    });
    let list = h.codex(&["--json", "schedule", "list"]).ok().json();
    assert_eq!(list["jobs"][0]["running"], true);
    d.kill9();
    let _d = h.start();
    let after = runs(&h, id);
    assert!(
        after.iter().any(|o| o["result"] == "interrupted"),
        "{after:#?}"
    );
    // Nothing is left running from before the crash; what runs now started after it.
    let list = h.codex(&["--json", "schedule", "list"]).ok().json();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1);
    assert_claims_unique(&after);
    h.codex(&["schedule", "rm", &id.to_string()]).ok();
    let list = h.codex(&["--json", "schedule", "list"]).ok().json();
    assert!(list["jobs"].as_array().unwrap().is_empty(), "{list:#}");
}

/// A job every 2 s; the daemon stops after its first occurrence and starts again after at
/// least two more were due.
fn missed_while_down(catch_up: &str) -> (Home, codex_e2e::Daemon, u64, Vec<Value>) {
    let h = Home::new();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    let id = {
        let d = h.start();
        let id = add(
            &h,
            &proj,
            &["--every", "2s", "--catch-up", catch_up, "--", "echo", "x"],
        );
        wait_finished(&h, id, 1);
        d.stop();
        id
    };
    let stopped = chrono::Utc::now().to_rfc3339();
    wait_past(&stopped, Duration::from_secs(5));
    let d = h.start();
    let got = {
        let mut got = Vec::new();
        eventually("the missed occurrence to be dealt with", || {
            got = runs(&h, id);
            got.iter().any(|o| o["kind"] == "catch_up" && finished(o))
        });
        got
    };
    (h, d, id, got)
}

#[test]
fn a_missed_occurrence_runs_once_with_catch_up_once_and_never_a_burst() {
    let (h, _d, id, got) = missed_while_down("once");
    let caught: Vec<&Value> = got.iter().filter(|o| o["kind"] == "catch_up").collect();
    assert_eq!(caught.len(), 1, "{got:#?}");
    assert_eq!(caught[0]["result"], "succeeded", "{got:#?}");
    assert!(
        caught[0]["detail"].as_str().unwrap().contains("missed"),
        "{got:#?}"
    );
    // Later restarts do not catch it up again.
    assert_claims_unique(&runs(&h, id));
}

#[test]
fn a_missed_occurrence_is_skipped_with_catch_up_skip() {
    let (_h, _d, _id, got) = missed_while_down("skip");
    let caught: Vec<&Value> = got.iter().filter(|o| o["kind"] == "catch_up").collect();
    assert_eq!(caught.len(), 1, "{got:#?}");
    assert_eq!(caught[0]["result"], "skipped", "{got:#?}");
    assert!(caught[0]["runs"].is_null(), "{got:#?}");
}

#[test]
fn pause_stops_occurrences_resume_brings_them_back_and_run_runs_one_now() {
    let (h, _d, proj) = repo();
    let id = add(&h, &proj, &["--every", "1s", "--", "echo", "p"]);
    wait_finished(&h, id, 1);
    let paused = h
        .codex(&["--json", "schedule", "pause", &id.to_string()])
        .ok()
        .json();
    assert_eq!(paused["paused"], true);
    assert!(paused["next"].is_null(), "{paused:#}");
    let count = runs(&h, id).len();
    let at = chrono::Utc::now().to_rfc3339();
    wait_past(&at, Duration::from_secs(3));
    assert_eq!(runs(&h, id).len(), count, "a paused job ran");
    // `run` runs one now even while paused, and answers once it has ended.
    let now = h
        .codex(&["--json", "schedule", "run", &id.to_string()])
        .ok()
        .json();
    assert_eq!(now["kind"], "manual");
    assert_eq!(now["result"], "succeeded");
    let resumed = h
        .codex(&["--json", "schedule", "resume", &id.to_string()])
        .ok()
        .json();
    assert_eq!(resumed["paused"], false);
    assert!(resumed["next"].is_string(), "{resumed:#}");
    eventually("occurrences after resume", || {
        runs(&h, id).len() >= count + 2
    });
}

#[test]
fn a_goal_in_words_keeps_its_plan_until_replanned() {
    let (h, _d, proj) = repo();
    h.codex_in(&proj, &["teach", "say hello", "--", "echo", "hello"])
        .ok();
    let id = add(&h, &proj, &["--cron", "0 9 * * 1-5", "say", "hello"]);
    let d = show(&h, id);
    assert_eq!(d["plan"]["command"], "echo hello");
    assert_eq!(d["job"]["goal"], "say hello");
    assert_eq!(d["next"].as_array().unwrap().len(), 5);
    // Teaching another plan does not change what the job runs...
    h.codex_in(&proj, &["teach", "say hello", "--", "echo", "bonjour"])
        .ok();
    assert_eq!(show(&h, id)["plan"]["command"], "echo hello");
    // ...until the user asks.
    let text = h
        .codex_in(&proj, &["schedule", "replan", &id.to_string()])
        .ok()
        .stdout;
    assert!(text.contains("echo bonjour (was echo hello)"), "{text}");
    assert_eq!(show(&h, id)["plan"]["command"], "echo bonjour");
    // A goal nothing maps is refused with what to do.
    let out = h
        .codex_in(
            &proj,
            &[
                "schedule",
                "add",
                "--every",
                "1h",
                "frobnicate",
                "the",
                "widgets",
            ],
        )
        .code(2);
    assert!(out.stderr.contains("no plan for"), "{}", out.stderr);
}

#[test]
fn bad_schedules_and_unknown_jobs_exit_2_naming_what_is_wrong() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("p", &[]);
    for (when, said) in [
        (
            &["--cron", "61 9 * * *"][..],
            "invalid cron expression `61 9 * * *`",
        ),
        (&["--cron", "0 9 * *"], "4 fields"),
        (&["--cron", "0 0 30 2 *"], "never occurs"),
        (&["--every", "ten minutes"], "is not an interval"),
        (&[], "--cron"),
    ] {
        let mut args = vec!["schedule", "add"];
        args.extend_from_slice(when);
        args.extend_from_slice(&["--", "echo"]);
        let out = h.codex_in(&proj, &args).code(2);
        assert!(out.stderr.contains(said), "{when:?}: {}", out.stderr);
    }
    for verb in ["show", "rm", "pause", "resume", "run", "replan"] {
        let out = h.codex(&["schedule", verb, "42"]).code(2);
        assert!(out.stderr.contains("no job 42"), "{verb}: {}", out.stderr);
    }
    // Malformed params on the wire get a clear error too.
    let mut raw = h.connect();
    let r = raw.call(1, "schedule/add", serde_json::json!({"goal": "x"}));
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing field"),
        "{r}"
    );
}

#[test]
fn a_corrupt_job_store_is_moved_aside_and_the_daemon_starts() {
    let h = Home::new();
    let proj = h.project("p", &[]);
    let d = h.start();
    add(&h, &proj, &["--cron", "0 9 * * *", "--", "echo", "a"]);
    d.stop();
    let store = h.path("storage/scheduler/jobs.json");
    std::fs::write(&store, b"{ not json").unwrap();
    // The storage check names it, and changes nothing.
    let check = h.codexd_cmd().arg("--check-storage").output().unwrap();
    let report = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success(), "{report}");
    assert!(report.contains("scheduled jobs"), "{report}");
    assert!(store.exists());
    let _d = h.start();
    let moved: Vec<_> = std::fs::read_dir(store.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("jobs.json.corrupt-")
        })
        .collect();
    assert_eq!(moved.len(), 1);
    // The journal still holds the job.
    let list = h.codex(&["--json", "schedule", "list"]).ok().json();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1, "{list:#}");
}

#[test]
fn a_cron_occurrence_runs_once_on_its_second_through_ticks_and_restarts() {
    // A tick every second looks for missed occurrences all the time.
    let h = Home::new().with_config("scheduler:\n  tick_secs: 1\n");
    let d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    let id = add(&h, &proj, &["--cron", "*/2 * * * * *", "--", "echo", "c"]);
    let got = wait_finished(&h, id, 3);
    d.kill9();
    let d = h.start();
    let first = runs(&h, id).len();
    let stopped = chrono::Utc::now().to_rfc3339();
    wait_past(&stopped, Duration::from_secs(1));
    d.stop();
    let _d = h.start();
    let after = runs(&h, id);
    assert_claims_unique(&after);
    let history = h
        .codex(&["--json", "history", "--limit", "1000"])
        .ok()
        .json();
    let started_at = |run: &Value| {
        history["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["run_id"] == *run)
            .map(|r| {
                chrono::DateTime::parse_from_rfc3339(r["started_at"].as_str().unwrap()).unwrap()
            })
    };
    for o in after.iter().chain(got.iter()) {
        let at = chrono::DateTime::parse_from_rfc3339(o["at"].as_str().unwrap()).unwrap();
        assert_eq!(at.timestamp_subsec_nanos(), 0, "off the cron grid: {o:#}");
        assert_eq!(at.timestamp() % 2, 0, "off the cron grid: {o:#}");
        // Nothing is claimed before its time (a pause or removal until then counts)...
        if o["kind"] == "scheduled" {
            let claimed =
                chrono::DateTime::parse_from_rfc3339(o["started"].as_str().unwrap()).unwrap();
            assert!(claimed >= at, "claimed before its time: {o:#}");
        }
        // ...and a step never starts before its occurrence's time.
        if let Some(run) = o["runs"].get(0)
            && let Some(started) = started_at(run)
        {
            assert!(started >= at, "ran before its time: {o:#}");
        }
    }
    // Only missed occurrences are caught up, and each was missed while codexd was down.
    let caught = after.iter().filter(|o| o["kind"] == "catch_up").count();
    assert!(caught <= 2, "{after:#?}");
    assert!(after.len() >= first, "{after:#?}");
}

#[test]
fn a_bare_name_that_finds_a_program_the_project_holds_is_not_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let h = Home::new();
    let _d = h.start();
    let proj = h.project(
        "p",
        &[
            (".git/HEAD", "ref: refs/heads/main\n"),
            ("data/precious", "keep me\n"),
        ],
    );
    // A `bin/ls` early on PATH (as an activated environment puts it) that deletes data.
    let bin = proj.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let ls = bin.join("ls");
    std::fs::write(
        &ls,
        format!("#!/bin/sh\nrm -rf {}\n", proj.join("data").display()),
    )
    .unwrap();
    std::fs::set_permissions(&ls, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let codex = |args: &[&str]| {
        let out = h
            .codex_cmd()
            .current_dir(&proj)
            .env("PATH", &path)
            .arg("--no-autostart")
            .args(args)
            .output()
            .unwrap();
        codex_e2e::Run::from(out)
    };
    // Directly, or through whatever runs it by name.
    for args in [
        &["ls"][..],
        &["env", "ls"],
        &["xargs", "ls"],
        &["sh", "-c", "ls | head -1"],
        &["timeout", "5", "ls"],
    ] {
        let mut all = vec!["--json", "run", "--dry-run", "--"];
        all.extend_from_slice(args);
        let dry = codex(&all).ok().json();
        assert_eq!(dry["class"], "writes_in_project", "{args:?}: {dry:#}");
        assert!(
            dry["reason"]
                .as_str()
                .unwrap()
                .contains("reaches into the project"),
            "{dry:#}"
        );
    }
    // A suggestion to type it is judged with the same PATH: at a low comfort it is asked,
    // so it is not offered to run.
    let history = h.scratch().join("history");
    std::fs::write(&history, "pwd\nls\n".repeat(10)).unwrap();
    codex(&[
        "import",
        "shell-history",
        "--shell",
        "bash",
        history.to_str().unwrap(),
    ])
    .ok();
    codex(&["prefs", "set", "autonomy_comfort", "low"]).ok();
    let r = codex(&["--json", "suggest", "--limit", "5"]).ok().json();
    let ls = r["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["goal"] == "ls")
        .cloned()
        .unwrap_or_else(|| panic!("no ls suggested: {r:#}"));
    assert_eq!(ls["runnable"], false, "{r:#}");
    codex(&["prefs", "unset", "autonomy_comfort"]).ok();
    // A job (one comfort level stricter) holds it instead of running it.
    let d = codex(&[
        "--json", "schedule", "add", "--every", "1h", "--", "env", "ls",
    ])
    .ok()
    .json();
    let id = d["job"]["id"].as_u64().unwrap().to_string();
    let o = codex(&["--json", "schedule", "run", &id]).code(1).json();
    assert_eq!(o["result"], "held", "{o:#}");
    assert!(proj.join("data/precious").exists());
}

#[test]
fn odd_input_to_jobs_and_suggestions_is_refused_clearly() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("p", &[]);
    let p = proj.to_str().unwrap();
    let out = h
        .codex_in(
            &proj,
            &["schedule", "add", "--every", "1000000w", "--", "echo"],
        )
        .code(2);
    assert!(out.stderr.contains("too long"), "{}", out.stderr);
    let mut raw = h.connect();
    let ask = |raw: &mut codex_e2e::Raw, method: &str, params: Value| {
        let r = raw.call(1, method, params);
        assert_eq!(r["error"]["code"], -32602, "{method}: {r}");
        r["error"]["message"].as_str().unwrap().to_string()
    };
    let huge = serde_json::json!({"goal": "", "command": ["echo"], "cwd": p, "when": {"every_secs": u64::MAX}});
    assert!(ask(&mut raw, "schedule/add", huge).contains("too long"));
    let nul = serde_json::json!({"goal": "", "command": ["echo", "a\u{0}b"], "cwd": p, "when": {"every_secs": 60}});
    assert!(ask(&mut raw, "schedule/add", nul).contains("NUL"));
    let name = serde_json::json!({"goal": "", "command": ["echo"], "cwd": p, "when": {"every_secs": 60}, "name": "evil\u{202e}txt"});
    assert!(ask(&mut raw, "schedule/add", name).contains("printable"));
    let long_goal = "do the thing ".repeat(10_000);
    let long = serde_json::json!({"goal": long_goal, "cwd": p, "when": {"every_secs": 60}});
    let m = ask(&mut raw, "schedule/add", long);
    assert!(m.contains("at most 1000") && m.len() < 200, "{m}");
    let cron = serde_json::json!({"goal": "", "command": ["echo"], "cwd": p, "when": {"cron": "* ".repeat(5000)}});
    assert!(ask(&mut raw, "schedule/add", cron).len() < 400);
    for limit in [0, 21, 1_000_000_000] {
        let m = ask(
            &mut raw,
            "suggest",
            serde_json::json!({"cwd": p, "limit": limit}),
        );
        assert!(m.contains("limit"), "{m}");
    }
    let m = ask(
        &mut raw,
        "suggest",
        serde_json::json!({"cwd": "/no/such/folder", "limit": 5}),
    );
    assert!(m.contains("does not exist"), "{m}");
    // A bad id is named, and nothing is said about running it.
    let out = h.codex(&["schedule", "run", "42"]).code(2);
    assert!(
        out.stderr.contains("no job 42") && !out.stderr.contains("running job"),
        "{}",
        out.stderr
    );
}

#[test]
fn git_in_a_repository_whose_config_runs_a_program_is_not_read_only() {
    if !codex_e2e::have("git") {
        return;
    }
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("p", &[("evil.sh", "#!/bin/sh\ntouch pwned\n")]);
    let git = |args: &[&str]| {
        let ok = h
            .command("git")
            .current_dir(&proj)
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    let dry = || {
        h.codex_in(
            &proj,
            &["--json", "run", "--dry-run", "--", "git", "status"],
        )
        .ok()
        .json()
    };
    git(&["init", "-q", "."]);
    assert_eq!(dry()["class"], "read_only");
    git(&["config", "core.fsmonitor", "./evil.sh"]);
    let dry = dry();
    assert_eq!(dry["class"], "writes_in_project", "{dry:#}");
    assert!(
        dry["reason"].as_str().unwrap().contains("fsmonitor"),
        "{dry:#}"
    );
    let id = add(&h, &proj, &["--every", "1h", "--", "git", "status"]);
    let o = h
        .codex(&["--json", "schedule", "run", &id.to_string()])
        .code(1)
        .json();
    assert_eq!(o["result"], "held", "{o:#}");
    assert!(!proj.join("pwned").exists());
}

#[test]
fn occurrences_waiting_for_a_slot_do_not_pile_up() {
    let h = Home::new().with_config("scheduler:\n  max_concurrent: 1\n");
    let d = h.start();
    let proj = h.project("p", &[(".git/HEAD", "ref: refs/heads/main\n")]);
    let a = add(&h, &proj, &["--every", "1s", "--", "sleep", "3"]);
    let b = add(&h, &proj, &["--every", "1s", "--", "sleep", "3"]);
    // One slot for two jobs every second: one waits, and its next occurrences are skipped
    // instead of queueing behind it.
    eventually("an occurrence skipped for want of a slot", || {
        [a, b].iter().any(|&id| {
            runs(&h, id).iter().any(|o| {
                o["result"] == "skipped"
                    && o["detail"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("free slot")
            })
        })
    });
    d.stop();
    // After a stop and start, no occurrence ran twice.
    let _d = h.start();
    for id in [a, b] {
        assert_claims_unique(&runs(&h, id));
    }
}

#[test]
fn what_is_shown_of_a_job_never_writes_control_characters_to_the_terminal() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("p", &[("a-file", "x")]);
    let sneaky = "zz\u{1b}[2K\rcargo";
    let d = h
        .codex_in(
            &proj,
            &[
                "--json",
                "schedule",
                "add",
                "--every",
                "1h",
                "--policy",
                "allowlist",
                "--",
                "echo",
                sneaky,
            ],
        )
        .ok()
        .json();
    let id = d["job"]["id"].as_u64().unwrap().to_string();
    let o = h.codex(&["--json", "schedule", "run", &id]).code(1).json();
    assert_eq!(o["result"], "held", "{o:#}");
    for args in [
        &["approvals"][..],
        &["schedule", "list"],
        &["schedule", "show", &id],
    ] {
        let text = h.codex(args).ok().stdout;
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r'),
            "{args:?}: {text:?}"
        );
        assert!(text.contains("\\u{1b}"), "{args:?}: {text}");
    }
    let file = proj.join("a-file");
    let out = h
        .codex(&[
            "schedule",
            "add",
            "--every",
            "1h",
            "--project",
            file.to_str().unwrap(),
            "--",
            "ls",
        ])
        .code(2);
    assert!(out.stderr.contains("is not a folder"), "{}", out.stderr);
}
