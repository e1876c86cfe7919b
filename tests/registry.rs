//! The tool registry and personalised planning end to end: built-in tools with parameters
//! from the goal, the user's own tools (their declared class enforced by the executor), a pick
//! as a preference signal that becomes a parameter preference, and a dry-run habit that puts
//! the dry run first and pauses after it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use codex_e2e::Home;
use serde_json::Value;

#[test]
fn built_in_tools_take_their_parameters_from_the_goal() {
    if !codex_e2e::have("grep") {
        return;
    }
    let h = Home::new();
    let _d = h.start();
    let dir = h.project(
        "p",
        &[
            ("src/lib.rs", "fn parse() {}\n// needle here\n"),
            ("notes.txt", "nothing\n"),
        ],
    );
    let p = h.plan(&dir, "search for \"needle here\"");
    assert_eq!(p["task"], "search");
    let step = &p["plans"][0]["steps"][0];
    assert_eq!(step["argv"][0], "grep");
    assert_eq!(step["class"], "read_only");
    let out = h
        .codex_in(&dir, &["run", "search for \"needle here\""])
        .ok();
    assert!(
        out.stdout.contains("src/lib.rs:2:// needle here"),
        "{}",
        out.stdout
    );
    // Listing a folder that exists; one that does not is said plainly, nothing runs.
    let out = h.codex_in(&dir, &["run", "list the files in 'src'"]).ok();
    assert!(out.stdout.contains("lib.rs"), "{}", out.stdout);
    let out = h
        .codex_in(&dir, &["plan", "list the files in 'nope'"])
        .code(2);
    assert!(
        out.stderr.contains("\"nope\" does not exist"),
        "{}",
        out.stderr
    );
    let out = h.codex_in(&dir, &["run", "search"]).code(2);
    assert!(out.stderr.contains("needs a pattern"), "{}", out.stderr);
    // A value that would read as an option is refused, not passed on.
    let out = h.codex_in(&dir, &["plan", "search for '--help'"]).code(2);
    assert!(
        out.stderr.contains("would read as an option"),
        "{}",
        out.stderr
    );
    // Git tools apply only where there is a repository (when none is above the temp folder).
    if !dir.ancestors().any(|d| d.join(".git").exists()) {
        let none = h.plan(&dir, "what changed?");
        assert_eq!(none["plans"].as_array().unwrap().len(), 0, "{none}");
    }
    std::fs::create_dir(dir.join(".git")).unwrap();
    let p = h.plan(&dir, "what changed?");
    assert_eq!(p["plans"][0]["command"], "git status --short --branch");
    let p = h.plan(&dir, "show the last 3 commits");
    assert_eq!(
        p["plans"][0]["steps"][0]["argv"],
        serde_json::json!(["git", "log", "--oneline", "--decorate", "--max-count=3"])
    );
}

const USER_TOOLS: &str = r#"
planner:
  tools:
    - name: greet
      description: say hello
      categories: [greet]
      keywords: [greet, hello]
      command: [echo, "hello {who}"]
      params:
        who: {type: string, from: [quoted, rest], default: world}
      class: read_only
    - name: launch
      description: a harmless echo the user declared destructive
      categories: [launch]
      keywords: [rocket]
      command: [echo, launched]
      class: destructive
"#;

#[test]
fn user_tools_plan_run_and_keep_their_declared_class() {
    let h = Home::new().with_config(USER_TOOLS);
    let _d = h.start();
    let dir = h.project("p", &[("README", "x\n")]);
    let out = h.codex_in(&dir, &["run", "greet 'Ada'"]).ok();
    assert_eq!(out.stdout, "hello Ada\n");
    let out = h.codex_in(&dir, &["run", "hello"]).ok();
    assert_eq!(out.stdout, "hello world\n");
    // Declared destructive: the executor asks, so with no terminal it is refused (exit 3),
    // even with --yes, and the dry run says why.
    let out = h.codex_in(&dir, &["run", "--yes", "rocket"]).code(3);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    // The same command typed out is the same tool: the daemon applies its class too.
    let out = h
        .codex_in(&dir, &["run", "--yes", "--", "echo", "launched"])
        .code(3);
    assert!(
        out.stderr.contains("declared destructive"),
        "{}",
        out.stderr
    );
    let dry = h
        .codex_in(&dir, &["--json", "run", "--dry-run", "rocket"])
        .ok();
    let check: Value = dry.json();
    assert_eq!(check["class"], "destructive");
    assert!(
        check["reason"]
            .as_str()
            .unwrap()
            .contains("declared destructive"),
        "{check}"
    );
    // A bad tool is a config error naming the key.
    let bad = h.scratch().join("bad.yaml").to_string_lossy().into_owned();
    std::fs::write(
        &bad,
        "planner:\n  tools:\n    - {name: x, categories: [x], command: [echo, '{p}'], class: read_only}\n",
    )
    .unwrap();
    let out = std::process::Command::new(codex_e2e::bin("codexd"))
        .args(["--check-config", "--config", &bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("planner.tools"), "{err}");
    assert!(err.contains("not declared"), "{err}");
}

#[test]
fn picks_become_a_parameter_preference() {
    if !codex_e2e::have("make") {
        return;
    }
    let h = Home::new();
    let _d = h.start();
    let mk = h.project(
        "mk",
        &[("Makefile", "test:\n\t@echo t\ncheck:\n\t@echo c\n")],
    );
    // Passed over once for one goal, then for another: each time `make test` ranked first.
    for goal in ["run the tests", "verify"] {
        let p = h.plan(&mk, goal);
        assert_eq!(p["plans"][0]["command"], "make test", "{p}");
        let out = h.codex_in(&mk, &["run", "--pick", "2", goal]).ok();
        assert_eq!(out.stdout, "c\n");
    }
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    let c = &prefs["corrections"][0];
    assert_eq!(
        (c["from"].as_str(), c["to"].as_str(), c["times"].as_u64()),
        (Some("make test"), Some("make check"), Some(2)),
        "{prefs}"
    );
    // Picked over twice: the first plan now, and for a new test goal too.
    let p = h.plan(&mk, "run the tests");
    assert_eq!(p["plans"][0]["command"], "make check", "{p}");
    let p = h.plan(&mk, "check the unit specs");
    assert_eq!(p["plans"][0]["command"], "make check", "{p}");
    assert!(
        p["plans"][0]["steps"][0]["rationale"]
            .as_str()
            .unwrap()
            .contains("you replaced `make test` with this 2 times"),
        "{p}"
    );
}

#[test]
fn a_dry_run_habit_runs_the_dry_run_first_and_asks_before_going_on() {
    if !codex_e2e::have("make") {
        return;
    }
    let h = Home::new();
    let _d = h.start();
    let mk = h.project("mk", &[("Makefile", "test:\n\t@echo ran-the-tests\n")]);
    assert_eq!(
        h.plan(&mk, "run the tests")["plans"][0]["command"],
        "make test"
    );
    for _ in 0..5 {
        h.codex_in(&mk, &["run", "--", "make", "-n", "test"]).ok();
    }
    let p = h.plan(&mk, "run the tests");
    assert_eq!(p["plans"][0]["command"], "make -n test && make test", "{p}");
    assert_eq!(p["plans"][0]["steps"][0]["dry_run"], true);
    // No terminal: the dry run, then the real thing.
    let out = h.codex_in(&mk, &["run", "run the tests"]).ok();
    assert_eq!(out.stdout, "echo ran-the-tests\nran-the-tests\n");
    // The planned dry run is not the user's: five of six runs were dry runs of their own, and
    // neither step corrects the other.
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert_eq!(prefs["style"]["runs"], 6, "{prefs}");
    assert_eq!(prefs["corrections"], serde_json::json!([]), "{prefs}");
    // The goal is counted once in the patterns, and the planned dry run is in no export.
    let c = h.codex_in(&mk, &["--json", "context"]).ok().json();
    let goals = c["patterns"]["goals"].as_array().unwrap();
    let count = |g: &str| {
        goals
            .iter()
            .find(|x| x["goal"] == g)
            .map(|x| x["count"].clone())
    };
    assert_eq!(count("run the tests"), Some(serde_json::json!(1)), "{c}");
    let export = h.codex(&["export", "--format", "episodes"]).ok().stdout;
    let planned_dry = export
        .lines()
        .filter(|l| l.contains("\"goal\":\"run the tests\"") && l.contains("make -n test"))
        .count();
    assert_eq!(planned_dry, 0, "{export}");
    assert_eq!(export.lines().count(), 6, "{export}");
    // Nobody attached cannot be asked after the dry run: a plan of several steps is refused.
    let out = h
        .codex_in(&mk, &["run", "--detach", "run the tests"])
        .code(2);
    assert!(
        out.stderr.contains("--detach runs a single command"),
        "{}",
        out.stderr
    );
    // At a terminal, "n" after the dry run stops there.
    let Some(no) = h.codex_in_pty(&mk, &["run", "run the tests"], "n\n") else {
        return;
    };
    assert_eq!(no.code, Some(0), "{}", no.stdout);
    assert!(no.stdout.contains("now run `make test`?"), "{}", no.stdout);
    assert!(
        no.stdout.contains("stopped after the dry run"),
        "{}",
        no.stdout
    );
    // Only the dry run's `echo ran-the-tests` line: the real step did not print its own.
    assert_eq!(
        no.stdout.matches("ran-the-tests").count(),
        1,
        "{}",
        no.stdout
    );
}

#[test]
fn exploration_is_named_in_the_plan() {
    let h = Home::new().with_config("planner:\n  exploration: thompson\n");
    let _d = h.start();
    let rs = h.project("rs", &[("Cargo.toml", "[package]\n")]);
    let p = h.plan(&rs, "build it");
    assert!(p["ranking"].as_str().unwrap().contains("thompson"), "{p}");
    h.codex(&["prefs", "set", "autonomy_comfort", "low"]).ok();
    let p = h.plan(&rs, "build it");
    assert!(
        p["ranking"].as_str().unwrap().contains("posterior mean"),
        "{p}"
    );
}
