//! Planning end to end: goals in words map to each kind of project's own commands, a taught
//! goal plans what was taught, ratings reorder the plans, and unknown goals invent nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use codex_e2e::Home;
use serde_json::Value;

/// The first plan's command, or "" when there is none (exit status 2).
fn first_plan(h: &Home, dir: &Path, goal: &str) -> String {
    h.plan(dir, goal)["plans"][0]["command"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn goals_map_to_each_kind_of_projects_own_commands() {
    // Plans are offered only for installed programs: stand-ins make this machine's set moot.
    let h = Home::new().with_programs(&["pytest", "ruff", "go"]);
    let _d = h.start();
    let rust = h.project("rs", &[("Cargo.toml", "[package]\nname = \"x\"\n")]);
    let node = h.project(
        "js",
        &[(
            "package.json",
            r#"{"scripts":{"test":"node -e 1","build":"node -e 2","lint":"node -e 3"}}"#,
        )],
    );
    let python = h.project(
        "py",
        &[("pyproject.toml", "[tool.ruff]\nline-length = 100\n")],
    );
    let go = h.project("go", &[("go.mod", "module example.com/x\n")]);
    let make = h.project(
        "mk",
        &[(
            "Makefile",
            "build:\n\t@echo b\ntest:\n\t@echo t\nlint:\n\t@echo l\n",
        )],
    );
    let cases: [(&Path, [&str; 3]); 5] = [
        (&rust, ["cargo test", "cargo build", "cargo clippy"]),
        (&node, ["npm run test", "npm run build", "npm run lint"]),
        (&python, ["pytest", "", "ruff check ."]),
        (&go, ["go test ./...", "go build ./...", "go vet ./..."]),
        (&make, ["make test", "make build", "make lint"]),
    ];
    for (dir, [test, build, lint]) in cases {
        assert_eq!(
            first_plan(&h, dir, "run the tests"),
            test,
            "{}",
            dir.display()
        );
        assert_eq!(first_plan(&h, dir, "build it"), build, "{}", dir.display());
        assert_eq!(first_plan(&h, dir, "lint"), lint, "{}", dir.display());
    }
    // And running the goal runs the plan, recorded under the goal.
    let out = h.codex_in(&make, &["run", "run the tests"]).ok();
    assert_eq!(out.stdout, "t\n");
    assert!(
        out.stderr
            .contains("plan 1 for \"run the tests\": make test"),
        "{}",
        out.stderr
    );
    let history = h.codex(&["--json", "history"]).ok().json();
    assert_eq!(history["runs"][0]["goal"], "run the tests");
}

#[test]
fn a_taught_goal_plans_what_was_taught_and_ratings_reorder_plans() {
    let h = Home::new();
    let _d = h.start();
    let mk = h.project(
        "mk",
        &[("Makefile", "test:\n\t@echo t\ncheck:\n\t@echo c\n")],
    );
    // Unknown first: it says so, shows what it knows, and invents nothing.
    let none = h.codex_in(&mk, &["plan", "deploy staging"]).code(2);
    assert!(
        none.stderr.contains("no plan for \"deploy staging\""),
        "{}",
        none.stderr
    );
    assert!(
        none.stderr.contains("this project's tasks: test"),
        "{}",
        none.stderr
    );
    let refused = h.codex_in(&mk, &["run", "deploy staging"]).code(2);
    assert!(
        refused.stderr.contains("teach it with"),
        "{}",
        refused.stderr
    );
    // Taught by running it under the goal once: now it is the plan.
    h.codex_in(
        &mk,
        &["run", "--goal", "deploy staging", "--", "echo", "deployed"],
    )
    .ok();
    assert_eq!(first_plan(&h, &mk, "deploy staging"), "echo deployed");

    // Two plans for the tests; the user prefers the second.
    assert_eq!(first_plan(&h, &mk, "run the tests"), "make test");
    // --pick 2 runs the alternative (make check); the user likes it and not make test.
    let picked = h
        .codex_in(&mk, &["run", "--pick", "2", "run the tests"])
        .ok();
    assert_eq!(picked.stdout, "c\n");
    h.codex(&["rate", "5"]).ok();
    h.codex_in(
        &mk,
        &["run", "--goal", "run the tests", "--", "make", "test"],
    )
    .ok();
    h.codex(&["rate", "1"]).ok();
    assert_eq!(first_plan(&h, &mk, "run the tests"), "make check");
    let p: Value = h
        .codex_in(&mk, &["--json", "plan", "run the tests"])
        .ok()
        .json();
    assert!(
        p["plans"][0]["evidence"]
            .as_str()
            .unwrap()
            .contains("mean rating 5.0"),
        "{p}"
    );
    let bad = h
        .codex_in(&mk, &["run", "--pick", "3", "run the tests"])
        .code(2);
    assert!(bad.stderr.contains("no plan 3"), "{}", bad.stderr);
}

#[test]
fn taught_playbooks_win_for_their_phrase_in_their_project() {
    let h = Home::new();
    let _d = h.start();
    let mk = h.project("mk", &[("Makefile", "test:\n\t@echo t\n")]);
    let other = h.project("other", &[("Makefile", "test:\n\t@echo o\n")]);
    // One step from the command line, in this project only.
    h.codex_in(&mk, &["teach", "Deploy Staging", "--", "echo", "deploying"])
        .ok();
    assert_eq!(first_plan(&h, &mk, "deploy staging"), "echo deploying");
    assert_eq!(first_plan(&h, &other, "deploy staging"), "");
    let out = h.codex_in(&mk, &["run", "deploy staging"]).ok();
    assert_eq!(out.stdout, "deploying\n");
    // A playbook beats the project's own command for its phrase.
    h.codex_in(
        &mk,
        &["teach", "run the tests", "--", "echo", "taught-tests"],
    )
    .ok();
    assert_eq!(first_plan(&h, &mk, "run the tests"), "echo taught-tests");
    // Several steps from a file, everywhere; they run in order and stop at a failure.
    let steps = h.scratch().join("release.yaml");
    std::fs::write(&steps, "- echo one\n- [sh, -c, 'exit 3']\n- echo never\n").unwrap();
    h.codex_in(
        &mk,
        &[
            "teach",
            "release",
            "--global",
            "--steps",
            steps.to_str().unwrap(),
        ],
    )
    .ok();
    let out = h.codex_in(&other, &["run", "release"]).code(3);
    assert_eq!(out.stdout, "one\n");
    let listed = h.codex(&["playbooks", "show", "release"]).ok().stdout;
    assert!(
        listed.contains("every project") && listed.contains("sh -c 'exit 3'"),
        "{listed}"
    );
    let bad = h.scratch().join("bad.yaml");
    std::fs::write(&bad, "not: a list\n").unwrap();
    let refused = h
        .codex_in(&mk, &["teach", "x", "--steps", bad.to_str().unwrap()])
        .code(2);
    assert!(
        refused.stderr.contains("not a YAML list of steps"),
        "{}",
        refused.stderr
    );
    h.codex(&["playbooks", "rm", "release"]).ok();
    // Forgotten as a playbook; what ran under the goal is still known, as a run.
    let p: Value = h
        .codex_in(&other, &["--json", "plan", "release"])
        .ok()
        .json();
    assert_eq!(p["plans"][0]["command"], "echo one", "{p}");
    let evidence = p["plans"][0]["evidence"].as_str().unwrap();
    assert!(evidence.starts_with("you ran it 1 time"), "{evidence}");
    let gone = h.codex(&["playbooks", "rm", "release"]).code(2);
    assert!(gone.stderr.contains("no playbook"), "{}", gone.stderr);
}

#[test]
fn a_goal_said_otherwise_finds_the_plans_of_the_same_goal() {
    let h = Home::new();
    let _d = h.start();
    let dir = h.project("plain", &[]);
    h.codex_in(
        &dir,
        &[
            "run",
            "--goal",
            "update dependencies",
            "--",
            "echo",
            "updated",
        ],
    )
    .ok();
    h.codex(&["rate", "5"]).ok();
    let p: Value = h
        .codex_in(&dir, &["--json", "plan", "bump the deps"])
        .ok()
        .json();
    assert_eq!(p["plans"][0]["command"], "echo updated");
    assert!(
        p["plans"][0]["evidence"]
            .as_str()
            .unwrap()
            .contains("\"update dependencies\""),
        "{p}"
    );
}

#[test]
fn context_shows_the_project_its_commands_and_goals() {
    let h = Home::new();
    let _d = h.start();
    let js = h.project(
        "web",
        &[(
            "package.json",
            r#"{"scripts":{"test":"node -e 1","dev":"node -e 2"}}"#,
        )],
    );
    std::fs::create_dir_all(js.join("src")).unwrap();
    h.codex_in(&js, &["run", "--goal", "run the tests", "--", "true"])
        .ok();
    let c = h
        .codex_in(&js.join("src"), &["--json", "context"])
        .ok()
        .json();
    assert_eq!(c["kind"], "node");
    assert!(c["project"].as_str().unwrap().ends_with("/web"), "{c}");
    let cmds: Vec<&str> = c["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["command"].as_str().unwrap())
        .collect();
    assert_eq!(cmds, vec!["npm run dev", "npm run test"]);
    assert_eq!(c["patterns"]["goals"][0]["goal"], "run the tests");
    assert_eq!(c["comfort"], "medium (default)");
    let off = Home::new().with_config("context_awareness_enabled: false\n");
    let _d2 = off.start();
    let c = off.codex_in(&js, &["--json", "context"]).ok().json();
    assert_eq!(c["enabled"], false);
    assert!(c["project"].is_null());
    let p = off
        .codex_in(&js, &["--json", "plan", "run the tests"])
        .code(2);
    assert!(p.stdout.contains("no project here"), "{}", p.stdout);
}

#[test]
fn the_project_profile_is_kept_and_read_again_when_its_files_change() {
    let h = Home::new();
    let d = h.start();
    let mk = h.project("mk", &[("Makefile", "test:\n\t@echo t\n")]);
    let c = h.codex_in(&mk, &["--json", "context"]).ok().json();
    assert_eq!(c["name"], "mk");
    let read_at = c["read_at"].clone();
    assert!(read_at.is_string(), "{c}");
    // Unchanged files: the same profile, across a restart too (kept in semantic knowledge).
    let c = h.codex_in(&mk, &["--json", "context"]).ok().json();
    assert_eq!(c["read_at"], read_at);
    d.stop();
    let knowledge = h.knowledge_text();
    assert!(knowledge.contains("\"stamps\""), "{knowledge}");
    let d = h.start();
    let c = h.codex_in(&mk, &["--json", "context"]).ok().json();
    assert_eq!(c["read_at"], read_at, "{c}");
    // A new target: read again, and planned at once.
    assert_eq!(first_plan(&h, &mk, "build it"), "");
    std::fs::write(mk.join("Makefile"), "test:\n\t@echo t\nbuild:\n\t@echo b\n").unwrap();
    assert_eq!(first_plan(&h, &mk, "build it"), "make build");
    let c = h.codex_in(&mk, &["--json", "context"]).ok().json();
    assert_ne!(c["read_at"], read_at);
    // A marker that appears changes the profile too.
    std::fs::write(mk.join("go.mod"), "module x\n").unwrap();
    let c = h.codex_in(&mk, &["--json", "context"]).ok().json();
    assert_eq!(c["languages"], serde_json::json!(["Go"]), "{c}");
    let read_go = c["read_at"].clone();
    // Forgetting the project forgets its profile too: on disk and in the daemon.
    h.codex(&["forget", "--project", mk.to_str().unwrap(), "--yes"])
        .ok();
    d.stop();
    let snapshot: Value = serde_json::from_str(
        &std::fs::read_to_string(h.path("storage/semantic/personalized_knowledge.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        snapshot["state"]["profiles"],
        serde_json::json!({}),
        "{snapshot}"
    );
    assert!(!h.knowledge_text().contains("\"stamps\""));
    let _d = h.start();
    let c = h.codex_in(&mk, &["--json", "context"]).ok().json();
    assert_ne!(c["read_at"], read_go, "read again after the forget: {c}");
}

/// The fake model: "frobnicate" means running the tests; everything else is elsewhere.
fn fake_model(text: &str) -> Vec<f32> {
    if text.contains("frobnicate") || text.contains("run the tests") {
        vec![1.0, 0.0, 0.0]
    } else {
        vec![0.0, 1.0, (text.len() % 7) as f32 / 10.0]
    }
}

#[test]
fn a_remote_embedding_endpoint_replaces_the_local_one_and_falls_back_when_down() {
    let (url, served) = codex_e2e::embedding_server(fake_model);
    let h = Home::new().with_config(&format!(
        "planner:\n  embeddings:\n    endpoint: {url}\n    model: fake\n"
    ));
    let d = h.start();
    let dir = h.project("p", &[("README", "x\n")]);
    h.codex_in(
        &dir,
        &["run", "--goal", "run the tests", "--", "echo", "tested"],
    )
    .ok();
    // Local embeddings see too little in common; the model says they are the same goal (and
    // the words pass the borrowing rules: the same action, a narrower target).
    let p: Value = h
        .codex_in(
            &dir,
            &[
                "--json",
                "plan",
                "run the tests of frobnicate wobble flux quasar",
            ],
        )
        .ok()
        .json();
    assert_eq!(p["plans"][0]["command"], "echo tested", "{p}");
    assert!(
        p["embeddings"]
            .as_str()
            .unwrap()
            .starts_with("fake at http://127.0.0.1:"),
        "{p}"
    );
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    d.stop();

    // An endpoint that does not answer: local embeddings, said so; planning still works.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = Home::new().with_config(&format!(
        "planner:\n  embeddings:\n    endpoint: http://127.0.0.1:{port}/v1\n"
    ));
    let _d = down.start();
    let p: Value = down
        .codex_in(
            &dir,
            &[
                "--json",
                "plan",
                "run the tests of frobnicate wobble flux quasar",
            ],
        )
        .code(2)
        .json();
    let from = p["embeddings"].as_str().unwrap();
    assert!(from.starts_with("local (embedding endpoint"), "{from}");
    // https is accepted; another scheme is a config error naming the key.
    let tls = Home::new()
        .with_config("planner:\n  embeddings:\n    endpoint: https://api.example.com/v1\n");
    let out = tls.codexd_cmd().arg("--check-config").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let bad = Home::new()
        .with_config("planner:\n  embeddings:\n    endpoint: ftp://api.example.com/v1\n");
    let out = bad.codexd_cmd().arg("--check-config").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("planner.embeddings.endpoint"), "{err}");
}

#[test]
fn opposite_negated_or_other_target_goals_never_borrow_a_plan() {
    let h = Home::new();
    let _d = h.start();
    let dir = h.project("p", &[("README", "x\n")]);
    for (goal, cmd) in [
        ("build it", "built"),
        ("start the dev server", "started"),
        ("deploy staging", "staged"),
        ("list the target folder", "listed"),
    ] {
        h.codex_in(&dir, &["run", "--goal", goal, "--", "echo", cmd])
            .ok();
    }
    for (goal, not) in [
        ("clean the build", "echo built"),
        ("don't build anything", "echo built"),
        ("stop the dev server", "echo started"),
        ("kill the server", "echo started"),
        ("deploy", "echo staged"),
        ("deploy production", "echo staged"),
        ("delete the target folder", "echo listed"),
    ] {
        let out = h.codex_in(&dir, &["--json", "plan", goal]);
        let p: Value = serde_json::from_str(&out.stdout).unwrap_or_default();
        let borrowed = p["plans"]
            .as_array()
            .is_some_and(|plans| plans.iter().any(|x| x["command"] == not));
        assert!(!borrowed, "{goal:?} borrowed {not:?}: {p}");
    }
    // A paraphrase still finds the plan.
    let p = h.plan(&dir, "compile it");
    assert_eq!(p["plans"][0]["command"], "echo built", "{p}");
}

#[test]
fn verbosity_changes_what_codex_itself_says() {
    if !codex_e2e::have("make") {
        return;
    }
    let h = Home::new();
    let _d = h.start();
    let mk = h.project(
        "mk",
        &[("Makefile", "test:\n\t@echo t\ncheck:\n\t@echo c\n")],
    );
    let normal_plan = h.codex_in(&mk, &["plan", "run the tests"]).ok();
    assert!(
        normal_plan.stdout.contains("why:"),
        "{}",
        normal_plan.stdout
    );
    let normal_run = h.codex_in(&mk, &["run", "run the tests"]).ok();
    assert!(
        normal_run.stderr.contains("plan 1 for"),
        "{}",
        normal_run.stderr
    );
    assert!(
        normal_run.stderr.contains("rate it"),
        "{}",
        normal_run.stderr
    );

    h.codex(&["prefs", "set", "verbosity", "terse"]).ok();
    let terse_plan = h.codex_in(&mk, &["plan", "run the tests"]).ok();
    assert!(!terse_plan.stdout.contains("why:"), "{}", terse_plan.stdout);
    assert!(
        terse_plan.stdout.contains("1. make test"),
        "{}",
        terse_plan.stdout
    );
    let terse_run = h.codex_in(&mk, &["run", "run the tests"]).ok();
    assert_eq!(terse_run.stdout, "t\n");
    assert!(
        !terse_run.stderr.contains("plan 1 for"),
        "{}",
        terse_run.stderr
    );
    assert!(
        !terse_run.stderr.contains("rate it"),
        "{}",
        terse_run.stderr
    );
    // A failure is said in full whatever the verbosity.
    let failed = h
        .codex_in(&mk, &["run", "--", "make", "missing-target"])
        .code(2);
    assert!(failed.stderr.contains("run "), "{}", failed.stderr);

    h.codex(&["prefs", "set", "verbosity", "verbose"]).ok();
    let verbose_plan = h.codex_in(&mk, &["plan", "run the tests"]).ok();
    assert!(
        verbose_plan.stdout.contains("score"),
        "{}",
        verbose_plan.stdout
    );
    let verbose_run = h.codex_in(&mk, &["run", "run the tests"]).ok();
    assert!(
        verbose_run.stderr.contains("plan 1 of 2"),
        "{}",
        verbose_run.stderr
    );
    assert!(
        verbose_run.stderr.contains("started"),
        "{}",
        verbose_run.stderr
    );
}
