//! Privacy end to end: planted secrets never reach storage or exports, `codex forget` really
//! deletes from every file and the profile, and exports are valid JSONL for trainers.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use codex_e2e::Home;
use serde_json::Value;

/// Every file under CODEX_HOME's storage, as text.
fn storage_text(h: &Home) -> String {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&h.path("storage"), &mut files);
    files
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

// Fake secrets built at run time, so this file holds no token-shaped literal.
fn fake_github_token() -> String {
    format!("ghp_{}", "Ab1".repeat(12))
}

fn fake_aws_key() -> String {
    format!("AKIA{}", "Z7Q".repeat(5) + "X")
}

#[test]
fn planted_secrets_never_reach_storage_or_exports() {
    let h = Home::new();
    let d = h.start();
    let gh = fake_github_token();
    let aws = fake_aws_key();
    let password = "hunter2-very-secret";
    let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    h.codex(&[
        "run",
        "--goal",
        &format!("push with token {gh}"),
        "--",
        "echo",
        &aws,
    ])
    .ok();
    let comment = format!("worked, password={password} {gh}");
    h.codex(&["rate", "5", "--comment", &comment]).ok();
    h.codex(&["run", "--", "echo", "--password", password]).ok();
    h.codex(&[
        "run",
        "--",
        "sh",
        "-c",
        &format!("printf '%s\\n' \"{pem}\""),
    ])
    .ok();
    h.codex(&["run", "--", "env", &format!("API_TOKEN={gh}"), "true"])
        .ok();

    let mut exports = String::new();
    for format in ["openai-chat", "preference-pairs", "episodes"] {
        exports.push_str(&h.codex(&["export", "--format", format]).ok().stdout);
    }
    let history = h.codex(&["--json", "history"]).ok().stdout;
    assert_eq!(d.stop().code(), Some(0));
    let stored = storage_text(&h);
    for (what, text) in [
        ("storage", &stored),
        ("exports", &exports),
        ("history", &history),
    ] {
        for secret in [
            gh.as_str(),
            aws.as_str(),
            password,
            "b3BlbnNzaC1rZXktdjEAAAAA",
        ] {
            assert!(!text.contains(secret), "{secret} reached {what}");
        }
    }
    assert!(stored.contains("[REDACTED:github-token]"), "{stored}");
    assert!(stored.contains("[REDACTED:aws-access-key]"), "{stored}");
    assert!(stored.contains("[REDACTED:private-key]"), "{stored}");
    assert!(exports.contains("[REDACTED:"), "{exports}");
}

fn run_in(h: &Home, dir: &std::path::Path, goal: &str, argv: &[&str]) -> u64 {
    let mut args = vec!["--json", "run", "--goal", goal, "--"];
    args.extend(argv);
    let out = h.codex_in(dir, &args);
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v["run_id"].as_u64())
        .unwrap()
}

#[test]
fn forget_deletes_from_memory_dataset_knowledge_and_profile() {
    let h = Home::new().with_config("learning:\n  episodic_memory_cap: 3\n");
    let _d = h.start();
    let proj = h.scratch().join("alpha");
    let other = h.scratch().join("beta");
    for p in [&proj, &other] {
        std::fs::create_dir_all(p).unwrap();
        std::fs::write(p.join("Makefile"), "all:\n").unwrap();
    }
    let keep = run_in(&h, &other, "build beta", &["echo", "keep-me"]);
    h.codex(&["rate", "4"]).ok();
    let secretish = run_in(&h, &proj, "deploy zanzibar", &["echo", "zanzibar-marker"]);
    h.codex(&["rate", "5", "--comment", "zanzibar comment"])
        .ok();
    run_in(&h, &proj, "deploy zanzibar", &["echo", "zanzibar-again"]);
    for i in 0..4 {
        run_in(&h, &proj, "lint alpha", &["echo", &format!("alpha-{i}")]);
    }
    // A held-back command leaves a signal (no run) that names the goal: it goes too.
    let held = h.codex_in(
        &proj,
        &["run", "--goal", "deploy zanzibar", "--", "rm", "-r", "x"],
    );
    assert_eq!(held.code, Some(3));

    // Without a terminal and without --yes nothing is deleted.
    let refused = h.codex(&["forget", "--goal", "*zanzibar*"]).code(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let dry = h
        .codex(&["--json", "forget", "--goal", "*zanzibar*", "--dry-run"])
        .ok()
        .json();
    assert_eq!(
        (dry["runs"].as_u64(), dry["dry_run"].as_bool()),
        (Some(2), Some(true))
    );
    assert!(storage_text(&h).contains("zanzibar"));

    let done = h
        .codex(&["--json", "forget", "--goal", "*zanzibar*", "--yes"])
        .ok()
        .json();
    assert_eq!(done["runs"], 2);
    assert_eq!(done["ratings"], 1);
    assert_eq!(done["dataset_lines"], 3); // two examples and a label
    // Flush everything, then look at every file: nothing of it is left anywhere.
    h.codex(&["daemon", "stop"]).ok();
    let stored = storage_text(&h);
    assert!(!stored.contains("zanzibar"), "forgotten text still stored");
    let _d = h.start();
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    let cats: Vec<&str> = prefs["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert!(!cats.contains(&"deploy zanzibar"), "{cats:?}");
    assert_eq!(prefs["satisfaction"]["ratings"], 1);
    let goals = prefs["patterns"].to_string();
    assert!(
        !goals.contains("zanzibar") && goals.contains("lint alpha"),
        "{goals}"
    );

    // By run id, unknown ids are an error, and a forgotten run cannot be rated.
    let gone = h
        .codex(&["forget", &secretish.to_string(), "--yes"])
        .code(2);
    assert!(gone.stderr.contains("unknown run id"), "{}", gone.stderr);
    let rate = h
        .codex(&["rate", "3", "--run", &secretish.to_string()])
        .code(2);
    assert!(rate.stderr.contains("unknown run id"), "{}", rate.stderr);

    // By project: everything that ran in alpha goes, beta stays (its episode has been
    // consolidated out of episodic memory by now; the dataset still has it).
    let p = h
        .codex(&[
            "--json",
            "forget",
            "--project",
            proj.to_str().unwrap(),
            "--yes",
        ])
        .ok()
        .json();
    assert_eq!(p["runs"], 4);
    let left: Vec<u64> = h
        .codex(&["export", "--format", "episodes"])
        .ok()
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["run_id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(left, vec![keep]);
    assert!(
        h.codex(&["--json", "history"]).ok().json()["runs"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Everything.
    h.codex(&["forget", "--all", "--yes"]).ok();
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert!(prefs["categories"].as_array().unwrap().is_empty());
    assert!(prefs["patterns"].as_array().unwrap().is_empty());
    let export = h.codex(&["export", "--format", "episodes"]).ok();
    assert!(export.stdout.is_empty());
    let none = h.codex(&["forget", "--goal", "[bad"]).code(2);
    assert!(none.stderr.contains("bad goal pattern"), "{}", none.stderr);
}

#[test]
fn patterns_that_match_every_run_are_refused_without_all() {
    let h = Home::new();
    let _d = h.start();
    h.codex(&["run", "--goal", "say hi", "--", "echo", "hi"])
        .ok();
    h.codex(&["run", "--goal", "say bye", "--", "echo", "bye"])
        .ok();
    // An unset shell variable (`--goal "$G"`, `--project "$DIR/"`) must not erase history.
    for args in [
        &["forget", "--goal", "", "--yes"][..],
        &["forget", "--goal", "  ", "--yes"],
        &["forget", "--goal", "*", "--yes"],
        &["forget", "--goal", "**", "--yes"],
        &["forget", "--goal", "?*", "--yes"],
        &["forget", "--project", "/", "--yes"],
    ] {
        let refused = h.codex(args).code(2);
        assert!(
            refused.stderr.contains("--all"),
            "{args:?}: {}",
            refused.stderr
        );
    }
    let history = h.codex(&["--json", "history"]).ok().json();
    assert_eq!(
        history["runs"].as_array().map(Vec::len),
        Some(2),
        "nothing was forgotten: {history}"
    );
    h.codex(&["forget", "--goal", "*bye*", "--yes"]).ok();
}

#[test]
fn exports_are_jsonl_in_each_trainer_format() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.scratch().join("shop");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join("go.mod"), "module shop\n").unwrap();
    run_in(&h, &proj, "run the tests", &["echo", "go", "test"]);
    h.codex(&["rate", "5"]).ok();
    run_in(&h, &proj, "run the tests", &["echo", "make", "test"]);
    h.codex(&["rate", "2"]).ok();
    run_in(&h, &proj, "build", &["false"]);

    let parse = |out: &str| -> Vec<Value> {
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let chat = parse(&h.codex(&["export", "--format", "openai-chat"]).ok().stdout);
    assert_eq!(chat.len(), 1, "successful and not rated down: {chat:?}");
    let m = &chat[0]["messages"];
    assert_eq!(
        (
            m[0]["role"].as_str(),
            m[1]["role"].as_str(),
            m[2]["role"].as_str()
        ),
        (Some("system"), Some("user"), Some("assistant"))
    );
    assert!(
        m[1]["content"]
            .as_str()
            .unwrap()
            .contains("Goal: run the tests")
    );
    assert!(m[1]["content"].as_str().unwrap().contains("(go)"));
    assert_eq!(m[2]["content"], "echo go test");

    let pairs = parse(
        &h.codex(&["export", "--format", "preference-pairs"])
            .ok()
            .stdout,
    );
    assert_eq!(pairs.len(), 1);
    assert_eq!(
        (pairs[0]["chosen"].as_str(), pairs[0]["rejected"].as_str()),
        (Some("echo go test"), Some("echo make test"))
    );

    let eps = parse(&h.codex(&["export", "--format", "episodes"]).ok().stdout);
    assert_eq!(eps.len(), 3);
    assert_eq!(eps[0]["rating"], 5);
    let rated = parse(
        &h.codex(&["export", "--format", "episodes", "--min-rating", "4"])
            .ok()
            .stdout,
    );
    assert_eq!(rated.len(), 1);
    let later = h
        .codex(&["export", "--format", "episodes", "--since", "2999-01-01"])
        .ok();
    assert!(later.stdout.is_empty());
    let elsewhere = h.scratch().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let none = h
        .codex(&[
            "export",
            "--format",
            "episodes",
            "--project",
            elsewhere.to_str().unwrap(),
        ])
        .ok();
    assert!(none.stdout.is_empty());
    let bad = h.codex(&["export", "--format", "csv"]).code(2);
    assert!(bad.stderr.contains("openai-chat"), "{}", bad.stderr);
    let bad_date = h
        .codex(&["export", "--format", "episodes", "--since", "yesterday"])
        .code(2);
    assert!(
        bad_date.stderr.contains("--since `yesterday`") && bad_date.stderr.contains("RFC 3339"),
        "{}",
        bad_date.stderr
    );
}

#[test]
fn a_secret_cut_by_the_output_tail_is_dropped_not_half_kept() {
    let h = Home::new().with_config("learning:\n  output_tail_bytes: 64\n");
    let d = h.start();
    let gh = fake_github_token();
    // The token's line is longer than the tail: the kept tail starts inside it.
    let script = format!(
        "echo 'first line'; echo 'x{} {gh}'; echo last",
        "-".repeat(40)
    );
    h.codex(&["run", "--", "sh", "-c", &script]).ok();
    assert_eq!(d.stop().code(), Some(0));
    let stored = storage_text(&h);
    assert!(
        !stored.contains(&gh[8..]),
        "a piece of the token was kept: {stored}"
    );
    assert!(stored.contains("\"output_tail\":\"last\\n\""), "{stored}");
}

#[test]
fn forget_reaches_held_back_commands_that_never_ran() {
    let h = Home::new();
    let d = h.start();
    let held = h.codex(&[
        "run",
        "--goal",
        "wipe zanzibar",
        "--",
        "rm",
        "-r",
        "nothing-here",
    ]);
    assert_eq!(held.code, Some(3));
    h.codex(&["forget", "--goal", "*zanzibar*", "--yes"]).ok();
    assert_eq!(d.stop().code(), Some(0));
    assert!(!storage_text(&h).contains("zanzibar"));
}

#[test]
fn a_home_made_by_autostart_is_private_all_the_way_down() {
    use std::os::unix::fs::PermissionsExt;
    let h = Home::new();
    h.codex_autostart(&["run", "--", "true"]).ok();
    h.codex(&["daemon", "stop"]).ok();
    let mut bad = Vec::new();
    let mut stack = vec![h.home.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            if entry.file_type().unwrap().is_dir() {
                if mode != 0o700 {
                    bad.push(format!("{} is {mode:o}", path.display()));
                }
                stack.push(path);
            } else if entry.file_type().unwrap().is_file() && mode & 0o077 != 0 {
                bad.push(format!("{} is {mode:o}", path.display()));
            }
        }
    }
    let home_mode = std::fs::metadata(&h.home).unwrap().permissions().mode() & 0o777;
    assert_eq!(home_mode, 0o700, "CODEX_HOME");
    assert!(bad.is_empty(), "not private: {bad:#?}");
}

#[test]
fn the_log_never_holds_a_secret() {
    let h = Home::new();
    let d = h.start();
    let token = format!("ghp_{}", "Zy9Xw8Vu7T".repeat(4));
    let header = format!("Authorization: Bearer {token}");
    // Held for approval with nobody attached: its command line is logged.
    h.codex(&[
        "run",
        "--detach",
        "--",
        "curl",
        "-H",
        &header,
        "https://example.invalid/",
    ])
    .ok();
    h.codex(&["run", "--", "echo", &token]).ok();
    d.signal(rustix::process::Signal::TERM);
    let (_, log) = d.wait_with_log();
    assert!(log.contains("held for approval"), "{log}");
    assert!(!log.contains(&token), "the token reached the log: {log}");
}

#[test]
fn a_playbook_with_a_secret_is_refused_and_nothing_of_it_is_written() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("shop", &[("Makefile", "all:\n\ttrue\n")]);
    let token = format!("ghp_{}", "Qw3rTy7UiO".repeat(4));
    let refused = h.codex_in(
        &proj,
        &[
            "teach",
            "deploy prod",
            "--",
            "./deploy.sh",
            "--token",
            &token,
        ],
    );
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("environment variable"),
        "{}",
        refused.stderr
    );
    h.codex_in(
        &proj,
        &[
            "teach",
            "deploy prod",
            "--",
            "sh",
            "-c",
            "./deploy.sh --token \"$DEPLOY_TOKEN\"",
        ],
    )
    .ok();
    let mut stack = vec![h.home.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(&token),
                    "the token is in {}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn forget_goal_takes_the_matching_playbooks_and_their_journal_lines() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("shop", &[("Makefile", "all:\n\ttrue\n")]);
    h.codex_in(
        &proj,
        &["teach", "deploy zanzibar", "--", "./scripts/zanzibar.sh"],
    )
    .ok();
    h.codex_in(&proj, &["teach", "build it", "--", "make"]).ok();
    h.codex(&["forget", "--goal", "*zanzibar*", "--yes"]).ok();
    let list = h.codex_in(&proj, &["--json", "playbooks"]).ok().json();
    let text = list.to_string();
    assert!(
        !text.contains("zanzibar") && text.contains("build it"),
        "{text}"
    );
    for dir in [h.path("storage/planner")] {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let body = std::fs::read_to_string(entry.path()).unwrap_or_default();
            assert!(
                !body.contains("zanzibar"),
                "{}: {body}",
                entry.path().display()
            );
        }
    }
}

#[test]
fn forget_reaches_the_log() {
    let h = Home::new();
    // Started by `codex`, so its log is `$CODEX_HOME/log/codexd.log`.
    h.codex_autostart(&["run", "--", "echo", "zanzibar"]).ok();
    h.codex(&["run", "--", "echo", "kept"]).ok();
    let log = h.path("log/codexd.log");
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(read().contains("zanzibar"), "{}", read());
    h.codex(&["forget", "--goal", "*zanzibar*", "--yes"]).ok();
    assert!(!read().contains("zanzibar"), "{}", read());
    assert!(read().contains("kept"), "{}", read());
    h.codex(&["forget", "--all", "--yes"]).ok();
    assert!(!read().contains("kept"), "{}", read());
    h.codex(&["daemon", "stop"]).ok();
}

/// Every file under CODEX_HOME (storage, log, everything), as (path, text).
fn every_file(h: &Home) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![h.home.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

#[test]
fn secrets_of_every_shape_never_reach_any_file_under_codex_home() {
    let h = Home::new();
    let proj = h.project("shop", &[("Makefile", "all:\n\ttrue\n")]);
    let hex64 = "0123456789abcdef".repeat(4);
    let rnd = |n: usize| {
        "Q7wE9rT1yU3iO5pA"
            .chars()
            .cycle()
            .take(n)
            .collect::<String>()
    };
    // (how it is planted: as an argument, in output, or both), the secret
    let secrets: Vec<String> = vec![
        format!("ghp_{}", rnd(36)),
        format!("xoxe-1-{}", rnd(30)),
        format!("SG.{}.{}", rnd(22), rnd(43)),
        format!("hvs.{}", rnd(30)),
        format!("dop_v1_{hex64}"),
        format!("gsk_{}", rnd(52)),
        format!("shpat_{}", &hex64[..32]),
        format!("ya29.{}", rnd(40)),
        format!("sk-proj-{}", "abcdefghij".repeat(4)),
        "hunter22pw".to_string(),
    ];
    let [gh, xoxe, sg, hvs, dop, gsk, shp, ya29, sk, pw] = &secrets[..] else {
        unreachable!()
    };
    // Autostarted, so the log is under CODEX_HOME too.
    h.codex_autostart(&["status"]).ok();
    let header = format!("Authorization: Bearer {gh}");
    h.codex_in(
        &proj,
        &["run", "--", "echo", "-H", &header, &format!("DB_PASS={pw}")],
    )
    .ok();
    h.codex(&["rate", "4", "--comment", &format!("token {xoxe}")])
        .ok();
    h.codex_in(
        &proj,
        &["run", "--goal", &format!("use {sg}"), "--", "echo", hvs],
    )
    .ok();
    h.codex_in(
        &proj,
        &[
            "run",
            "--",
            "curl",
            "-sSu",
            &format!("me:{pw}"),
            "--version",
        ],
    );
    h.codex_in(
        &proj,
        &[
            "run",
            "--",
            "echo",
            &format!("https://{}@github.com/o/r", rnd(40)),
        ],
    )
    .ok();
    h.codex_in(
        &proj,
        &["run", "--", "echo", &format!("postgres://u:{pw}/x+y@db/x")],
    )
    .ok();
    h.codex_in(
        &proj,
        &[
            "run",
            "--detach",
            "--",
            "curl",
            "-H",
            &format!("X-Key: {dop}"),
            "-u",
            &format!("me:{pw}"),
            "https://example.invalid/",
        ],
    )
    .ok();
    h.codex_in(
        &proj,
        &["run", "--", "docker", "login", "-p", gsk, "reg.invalid"],
    );
    h.codex_in(
        &proj,
        &["run", "--", "echo", &format!("Cookie: sid={shp}; x")],
    )
    .ok();
    h.codex_in(
        &proj,
        &["run", "--", "echo", &format!("my password is {pw}")],
    )
    .ok();
    let refused = h.codex_in(
        &proj,
        &["teach", "deploy prod", "--", "./deploy.sh", "--token", ya29],
    );
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    h.codex_in(
        &proj,
        &["run", "--", "env", &format!("OPENAI_API_KEY={sk}"), "true"],
    )
    .ok();
    for format in ["openai-chat", "preference-pairs", "episodes"] {
        let out = h.codex(&["export", "--format", format]).ok();
        for s in &secrets {
            assert!(
                !out.stdout.contains(s.as_str()),
                "{format} export holds {s}"
            );
        }
    }
    // Searched while the daemon runs (the log included), and again after forgetting.
    for (path, text) in every_file(&h) {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{} holds {s}", path.display());
        }
    }
    h.codex(&["forget", "--goal", "*use*", "--yes"]).ok();
    h.codex(&["forget", "--all", "--yes"]).ok();
    h.codex(&["daemon", "stop"]).ok();
    let files = every_file(&h);
    assert!(
        files.iter().any(|(p, _)| p.ends_with("log/codexd.log")),
        "the log is searched"
    );
    for (path, text) in &files {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{} holds {s}:\n{}",
                path.display(),
                text.lines()
                    .filter(|l| l.contains(s.as_str()))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}
