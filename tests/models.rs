//! Personal models, end to end: too little data says how much is needed; low ratings make
//! codex train one on its own, a version appears with its held-out metrics beside the live
//! one's, promote and rollback change what is live, and all of it survives a restart; a
//! corrupt model file is moved aside and the model live before it is used; unknown versions
//! are refused.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use codex_e2e::{Home, eventually_for};
use serde_json::Value;

const MODELS: &str = "storage/learning/personalized_models";

fn status(h: &Home) -> Value {
    h.codex(&["--json", "model", "status"]).ok().json()
}

/// A user who runs one of two commands for the same goal and rates them low.
fn unhappy_runs(h: &Home, n: usize) {
    for i in 0..n {
        let word = if i % 3 == 0 { "b" } else { "a" };
        h.codex(&["run", "--goal", "run the tests", "--", "echo", word])
            .ok();
        let score = if i % 4 == 0 { "3" } else { "1" };
        h.codex(&["rate", score]).ok();
    }
}

#[test]
fn low_satisfaction_trains_a_model_and_versions_promote_roll_back_and_survive_a_restart() {
    // Training by count is kept out of the way: only low satisfaction triggers it here.
    let h = Home::new().with_config("learning:\n  min_examples_for_training: 1000000\n");
    let d = h.start();

    // Too little data: said with how much is needed, nothing written.
    let e = h.codex(&["model", "train"]).code(2);
    assert!(
        e.stderr
            .contains("too little data to train a personal model")
            && e.stderr.contains("at least 50 needed"),
        "{}",
        e.stderr
    );
    assert_eq!(status(&h)["versions"], serde_json::json!([]));

    unhappy_runs(&h, 64);
    eventually_for(
        "a model trained on low satisfaction",
        Duration::from_secs(120),
        Duration::from_millis(200),
        || {
            let s = status(&h);
            s["training"].is_null() && !s["versions"].as_array().unwrap().is_empty()
        },
    );
    let s = status(&h);
    let versions = s["versions"].as_array().unwrap().clone();
    let newest = versions[0]["version"].as_u64().unwrap();
    let v1 = versions.iter().find(|v| v["version"] == 1).unwrap();
    assert!(
        v1["trigger"]
            .as_str()
            .unwrap()
            .contains("under learning.low_satisfaction_threshold"),
        "{v1}"
    );
    assert!(
        v1["metrics"]["plan_examples"].as_u64().unwrap() >= 10,
        "{v1}"
    );
    assert!(v1["live_metrics"]["brier"].is_number(), "{v1}");
    assert!(v1["data"].as_str().unwrap().contains("held out"), "{v1}");
    // Live exactly when it was not worse; a rejected one says why and changes nothing.
    for v in &versions {
        match v["state"].as_str().unwrap() {
            "live" => assert_eq!(s["live"], v["version"]),
            "retired" => assert!(v["reason"].is_null(), "{v}"),
            "rejected" => assert!(v["reason"].is_string(), "{v}"),
            other => panic!("unexpected state {other}: {s:#}"),
        }
    }
    let file = h.home.join(MODELS).join("model-0001.json");
    let stored: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for key in [
        "learned",
        "metrics",
        "live_metrics",
        "range",
        "config_hash",
        "created",
    ] {
        assert!(!stored[key].is_null(), "{key} missing: {stored:#}");
    }

    // By hand, waiting for it.
    let t = h.codex(&["--json", "model", "train"]).ok().json();
    let manual = t["version"]["version"].as_u64().unwrap();
    assert_eq!(manual, newest + 1, "{t}");
    let text = h.codex(&["model", "status"]).ok().stdout;
    assert!(
        text.contains(&format!("v{manual}")) && text.contains("plan choice on"),
        "{text}"
    );

    // Promote 1 from nothing live, then the manual one; rollback goes back to 1.
    while !status(&h)["live"].is_null() {
        h.codex(&["model", "rollback"]).ok();
    }
    let e = h.codex(&["model", "rollback"]).code(2);
    assert!(e.stderr.contains("nothing to roll back"), "{}", e.stderr);
    h.codex(&["model", "promote", "1"]).ok();
    assert_eq!(status(&h)["live"], 1);
    h.codex(&["model", "promote", &manual.to_string()]).ok();
    assert_eq!(status(&h)["live"], manual);
    let r = h.codex(&["--json", "model", "rollback"]).ok().json();
    assert_eq!(
        (r["live"].clone(), r["was"].clone()),
        (1.into(), manual.into()),
        "{r}"
    );
    assert!(
        h.codex(&["status"])
            .ok()
            .stdout
            .contains("personal model v1 is live"),
        "status names the live model"
    );

    // Across a restart.
    d.stop();
    let d = h.start();
    assert_eq!(status(&h)["live"], 1);

    // Unknown versions are refused, naming where to look.
    let e = h.codex(&["model", "promote", "9"]).code(2);
    assert!(e.stderr.contains("no model v9"), "{}", e.stderr);

    // A corrupt live model: moved aside, the one live before it (none: the config's) used.
    d.stop();
    std::fs::write(&file, b"{\"format\": 1, \"version\": 1, \"learned\": ").unwrap();
    // The storage check names it and changes nothing.
    let check = h.codexd_cmd().arg("--check-storage").output().unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        report.contains("model-0001.json") && report.contains("v1 does not parse"),
        "{report}"
    );
    assert!(file.exists());
    let d = h.start();
    let s = status(&h);
    assert!(s["live"].is_null(), "{s:#}");
    assert!(
        s["versions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["version"] != 1),
        "{s:#}"
    );
    let aside: Vec<String> = std::fs::read_dir(h.home.join(MODELS))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        aside
            .iter()
            .any(|n| n.starts_with("model-0001.json.") && n != "model-0001.json"),
        "{aside:?}"
    );
    let log = d.log();
    assert!(
        log.contains("a personal model file does not parse") && log.contains("moved aside"),
        "{log}"
    );
    // The number is never given again.
    let t = h.codex(&["--json", "model", "train"]).ok().json();
    assert_eq!(t["version"]["version"], manual + 1, "{t}");
}

#[test]
fn planned_runs_are_logged_as_decisions_with_their_propensity_and_forget_removes_them() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project(
        "shop",
        &[("Makefile", "test:\n\t@echo ok\nlint:\n\t@echo lint\n")],
    );
    h.codex_in(&proj, &["run", "run the tests"]).ok();
    h.codex_in(&proj, &["run", "lint"]).ok();
    let log = h.home.join("storage/learning/decisions.jsonl");
    let lines = codex_e2e::lines(&log);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let d: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(d["kind"], "plan");
    assert_eq!(d["chosen"], 0);
    assert_eq!(
        d["propensity"], 1.0,
        "greedy ranking: the first plan had probability 1"
    );
    assert_eq!(d["outcome"], 1.0);
    assert!(
        d["candidates"][0].as_str().unwrap().contains("make test"),
        "{d}"
    );
    assert!(d["run_id"].is_u64(), "{d}");
    h.codex(&["forget", "--goal", "run the tests", "--yes"])
        .ok();
    let left = codex_e2e::lines(&log);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].contains("lint"), "{left:?}");
}

/// A user whose taste flips in their most recent runs: the search, which sees only the older
/// steady part, moves to a long memory (it averages the noise of their ratings better), and
/// on the recent part that memory is worse than the live parameters: the model is kept as
/// rejected with the reason, and nothing live changes.
#[test]
fn a_model_worse_than_the_live_one_on_recent_runs_is_not_promoted() {
    let h = Home::new().with_config(
        "learning:\n  min_examples_for_training: 1000000\n  low_satisfaction_threshold: 1\n",
    );
    let _d = h.start();
    let mut seed: u64 = 11;
    let mut below = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for (n, liked) in [(200, "a"), (50, "b")] {
        for _ in 0..n {
            let plan = if below(2) == 0 { "a" } else { "b" };
            let mut good = plan == liked;
            if below(6) == 0 {
                good = !good;
            }
            let score = if good { 3 + below(3) } else { 1 + below(3) };
            h.codex(&["run", "--goal", "run the tests", "--", "echo", plan])
                .ok();
            h.codex(&["rate", &score.to_string()]).ok();
        }
    }
    let t = h.codex(&["--json", "model", "train"]).ok().json();
    eprintln!("{t:#}");
    assert_eq!(t["promoted"], false, "{t:#}");
    assert_eq!(t["version"]["state"], "rejected", "{t:#}");
    assert!(t["version"]["reason"].is_string(), "{t:#}");
    assert!(status(&h)["live"].is_null());
    let text = h.codex(&["model", "status"]).ok().stdout;
    assert!(
        text.contains("rejected") && text.contains("why not live"),
        "{text}"
    );
}
