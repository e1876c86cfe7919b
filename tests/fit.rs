//! Plans fit where you are: one home, four kinds of project, goals in turn across them. What
//! is learned in one project is never run in another where it does not fit, evidence is kept
//! per project, a plan borrowed from elsewhere is asked the first time, and a plan whose
//! program is missing says so instead of running to exit 127.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use codex_e2e::{Home, have, skipped};
use serde_json::Value;

/// An executable script at `path`.
fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn commands(plan: &Value) -> Vec<String> {
    plan["plans"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| p["command"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn learned_plans_stay_where_they_fit_and_evidence_is_kept_per_project() {
    if !have("make") {
        return;
    }
    // cargo and npm are stand-ins: cargo fails outside a crate as the real one does.
    let h = Home::new().with_programs(&["npm", "cargo-nextest"]);
    script(
        &h.scratch().join("stub-bin/cargo"),
        "[ -f Cargo.toml ] || { echo 'error: could not find Cargo.toml' >&2; exit 101; }\n\
         echo \"cargo $*\"",
    );
    let _d = h.start();
    let git = (".git/HEAD", "ref: refs/heads/main\n");
    let crate_a = h.project(
        "crate-a",
        &[git, ("Cargo.toml", "[package]\nname = \"a\"\n")],
    );
    let crate_b = h.project(
        "crate-b",
        &[git, ("Cargo.toml", "[package]\nname = \"b\"\n")],
    );
    let node = h.project(
        "node",
        &[
            git,
            (
                "package.json",
                r#"{"scripts":{"test":"x","build":"x","dev":"x","clean":"x"}}"#,
            ),
        ],
    );
    let py = h.project(
        "py",
        &[git, ("pyproject.toml", "[project]\nname = \"p\"\n")],
    );
    script(&py.join(".venv/bin/pytest"), "echo pytest ran");
    let mk = h.project(
        "mk",
        &[
            git,
            (
                "Makefile",
                "test:\n\t@echo make-test\nclean:\n\t@echo make-clean\n",
            ),
        ],
    );

    // The crate: cargo test, then the user's own cargo nextest run, liked better.
    h.codex_in(&crate_a, &["run", "run the tests"]).ok();
    h.codex(&["rate", "2"]).ok();
    h.codex_in(
        &crate_a,
        &[
            "run",
            "--goal",
            "run the tests",
            "--",
            "cargo",
            "nextest",
            "run",
        ],
    )
    .ok();
    h.codex(&["rate", "5"]).ok();
    let a = h.plan(&crate_a, "run the tests");
    assert_eq!(commands(&a)[0], "cargo nextest run", "{a}");

    // The Node project: its own command, nothing of the crate's.
    let p = h.plan(&node, "run the tests");
    assert_eq!(commands(&p), ["npm run test"], "{p}");
    let left: String = p["left_out"].to_string();
    assert!(left.contains("needs a Cargo.toml"), "{p}");
    h.codex_in(&node, &["run", "run the tests"]).ok();
    // cargo typed in the Node project fails there; that counts against it there only.
    h.codex_in(
        &node,
        &["run", "--goal", "run the tests", "--", "cargo", "test"],
    )
    .code(101);

    // Python: the project's environment, nothing from the crate or Node.
    let p = h.plan(&py, "run the tests");
    assert_eq!(commands(&p), ["./.venv/bin/pytest"], "{p}");
    let out = h.codex_in(&py, &["run", "run the tests"]).ok();
    assert_eq!(out.stdout, "pytest ran\n");
    // Make: its target.
    let p = h.plan(&mk, "run the tests");
    assert_eq!(commands(&p), ["make test"], "{p}");
    // No project at all (the home folder): nothing learned in a project is proposed.
    let p = h.plan(h.scratch(), "run the tests");
    assert!(commands(&p).is_empty(), "{p}");

    // What codex says it knows here is this project's, not the crate's.
    let ctx = h.codex_in(&node, &["--json", "context"]).ok().json();
    let prefers = ctx["preferences"].to_string();
    assert!(
        prefers.contains("npm run test") && !prefers.contains("nextest"),
        "{ctx}"
    );
    // The crate's standing was not touched by the failure in the Node project.
    let a = h.plan(&crate_a, "run the tests");
    assert_eq!(commands(&a)[0], "cargo nextest run", "{a}");
    let prefs = h
        .codex(&[
            "--json",
            "prefs",
            "show",
            "--project",
            crate_a.to_str().unwrap(),
        ])
        .ok()
        .json();
    let plans = prefs["categories"][0]["plans"].as_array().unwrap().clone();
    let cargo_test = plans.iter().find(|p| p["plan"] == "cargo test").unwrap();
    assert_eq!(
        (
            cargo_test["runs"].as_u64(),
            cargo_test["successes"].as_u64()
        ),
        (Some(1), Some(1)),
        "figures of this project only: {prefs}"
    );

    // Another crate: the liked plan fits, is offered as borrowed, and is asked the first time.
    let b = h.plan(&crate_b, "run the tests");
    let first = &b["plans"][0];
    assert_eq!(first["command"], "cargo nextest run", "{b}");
    assert!(
        first["borrowed"]
            .as_str()
            .is_some_and(|f| f.contains("crate-a")),
        "{b}"
    );
    assert!(
        first["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("weak prior")),
        "{b}"
    );
    let dry = h
        .codex_in(&crate_b, &["--json", "run", "--dry-run", "run the tests"])
        .ok()
        .json();
    assert!(
        dry["decision"]
            .as_str()
            .is_some_and(|d| d.contains("borrowed")),
        "{dry}"
    );
    // Nobody at a terminal: asked means not run.
    h.codex_in(&crate_b, &["run", "run the tests"]).code(3);
    // Said yes once (--yes), it runs; run twice, it is kept and no longer asked.
    h.codex_in(&crate_b, &["run", "--yes", "run the tests"])
        .ok();
    h.codex_in(&crate_b, &["run", "--yes", "run the tests"])
        .ok();
    let b = h.plan(&crate_b, "run the tests");
    assert_eq!(b["plans"][0]["command"], "cargo nextest run", "{b}");
    assert!(
        b["plans"][0]["borrowed"].is_null(),
        "kept after two runs: {b}"
    );
    h.codex_in(&crate_b, &["run", "run the tests"]).ok();
}

#[test]
fn opposites_run_their_own_commands_and_plans_that_cannot_start_say_what_is_missing() {
    if !have("make") {
        return;
    }
    let h = Home::new();
    let _d = h.start();
    let mk = h.project(
        "mk",
        &[(
            "Makefile",
            "build:\n\t@echo built\nclean:\n\t@echo cleaned\n",
        )],
    );
    h.codex_in(&mk, &["run", "build it"]).ok();
    // "clean the build" is the project's clean, never the build it resembles.
    let out = h.codex_in(&mk, &["run", "clean the build"]).ok();
    assert_eq!(out.stdout, "cleaned\n");
    for goal in ["don't build anything", "stop the build", "remove the build"] {
        let p = h.plan(&mk, goal);
        assert!(
            !commands(&p).iter().any(|c| c.contains("build")),
            "{goal}: {p}"
        );
    }
    // An unknown goal lists the built-in tools here and the user's playbooks.
    h.codex_in(&mk, &["teach", "commit my work", "--", "echo", "committed"])
        .ok();
    let p = h.plan(&mk, "commit");
    let why = p["unknown"].as_str().unwrap_or_default();
    assert!(
        why.contains("your playbooks: \"commit my work\"") && why.contains("built-in tools:"),
        "{why}"
    );
    // A taught plan whose program is not installed says so and is not run.
    h.codex_in(
        &mk,
        &["teach", "lint", "--", "codex-no-such-linter", "--all"],
    )
    .ok();
    let p = h.plan(&mk, "lint");
    assert!(commands(&p).is_empty(), "{p}");
    let why = p["unknown"].as_str().unwrap_or_default();
    assert!(
        why.contains("`codex-no-such-linter` is not installed"),
        "{why}"
    );
    let run = h.codex_in(&mk, &["run", "lint"]).code(2);
    assert!(run.stderr.contains("is not installed"), "{}", run.stderr);
    // A Python project without pytest anywhere says what to install, unless this machine has it.
    let py = h.project("py", &[("pyproject.toml", "[project]\nname = \"p\"\n")]);
    if std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("pytest").exists()))
    {
        skipped("pytest is installed here, so a project without it cannot be shown");
        return;
    }
    let p = h.plan(&py, "run the tests");
    let why = p["unknown"].as_str().unwrap_or_default();
    assert!(
        why.contains("`pytest` is not installed") && why.contains(".venv/bin/pytest"),
        "{why}"
    );
}
