//! Every run you can look at: history's command and project columns and filters, `codex show`,
//! `codex rerun`, and the folder of a held approval.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use codex_e2e::{Home, eventually};
use serde_json::Value;

fn runs(h: &Home, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--json", "history"];
    all.extend_from_slice(args);
    h.codex(&all).ok().json()["runs"]
        .as_array()
        .unwrap()
        .clone()
}

fn commands(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["command"].as_str().unwrap().to_string())
        .collect()
}

/// Two projects, a failure in one: history says what ran where, and each filter narrows it.
#[test]
fn history_shows_command_and_project_and_filters_in_the_daemon() {
    let h = Home::new();
    let _d = h.start();
    let a = h.project("alpha", &[("Makefile", "all:\n")]);
    let b = h.project("beta", &[("Makefile", "all:\n")]);
    h.codex_in(&a, &["run", "--goal", "list files", "--", "ls"])
        .ok();
    h.codex_in(&b, &["run", "--", "sh", "-c", "echo broken; exit 4"])
        .code(4);
    h.codex_in(&b, &["run", "--", "true"]).ok();

    let all = runs(&h, &[]);
    assert_eq!(all.len(), 3, "{all:?}");
    let cmds = commands(&all);
    assert!(cmds.iter().any(|c| c == "ls"), "{cmds:?}");
    assert!(cmds.iter().any(|c| c.contains("exit 4")), "{cmds:?}");
    for r in &all {
        let project = r["project"].as_str().unwrap_or_default();
        assert!(
            project.ends_with("/alpha") || project.ends_with("/beta"),
            "{r}"
        );
    }
    // The table shows the command too, not only the goal.
    let text = h.codex(&["history"]).ok().stdout;
    assert!(text.contains("exit 4"), "{text}");
    assert!(text.contains("beta"), "{text}");

    let failed = runs(&h, &["--failed"]);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(commands(&failed)[0].contains("exit 4"));

    let in_a = h
        .codex_in(&a, &["--json", "history", "--project", "."])
        .ok()
        .json();
    let in_a = in_a["runs"].as_array().unwrap();
    assert_eq!(commands(in_a), vec!["ls".to_string()]);

    let goal = runs(&h, &["--goal", "LIST"]);
    assert_eq!(commands(&goal), vec!["ls".to_string()]);

    assert_eq!(runs(&h, &["--since", "1h"]).len(), 3);
    assert!(runs(&h, &["--since", "2999-01-01"]).is_empty());
    // The limit counts matching runs.
    assert_eq!(
        runs(&h, &["--project", b.to_str().unwrap(), "--limit", "1"]).len(),
        1
    );
    let bad = h.codex(&["history", "--since", "yesterday-ish"]).code(2);
    assert!(!bad.stderr.is_empty());
}

/// `codex show` gives each step's command, folder, class, confinement, exit and output tail;
/// an unknown id says so; `codex rerun --last-failed` repeats the failed command as a new run.
#[test]
fn show_details_a_run_and_rerun_repeats_the_last_failed_one() {
    let h = Home::new();
    let _d = h.start();
    let p = h.project("proj", &[("Makefile", "all:\n")]);
    h.codex_in(&p, &["run", "--", "sh", "-c", "echo shown-tail; exit 3"])
        .code(3);
    let id = runs(&h, &[])[0]["run_id"].clone();
    let shown = h.codex(&["--json", "show", &id.to_string()]).ok().json();
    assert_eq!(shown["run_id"], id);
    assert!(shown["cwd"].as_str().unwrap().ends_with("/proj"), "{shown}");
    let step = &shown["steps"][0];
    assert_eq!(step["exit_status"], 3, "{shown}");
    assert!(
        step["command"].as_str().unwrap().contains("exit 3"),
        "{shown}"
    );
    assert!(step["class"].is_string(), "{shown}");
    assert!(!step["confined"].is_null(), "{shown}");
    assert!(
        step["output_tail"].as_str().unwrap().contains("shown-tail"),
        "{shown}"
    );
    let text = h.codex(&["show", "last"]).ok().stdout;
    assert!(
        text.contains("shown-tail") && text.contains("exit 3"),
        "{text}"
    );

    let unknown = h.codex(&["show", "999"]).code(2);
    assert!(unknown.stderr.contains("999"), "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("codex history"),
        "{}",
        unknown.stderr
    );

    h.codex_in(&p, &["run", "--", "true"]).ok();
    let again = h.codex_in(h.dir.path(), &["rerun", "--last-failed"]);
    assert_eq!(again.code, Some(3), "{}\n{}", again.stdout, again.stderr);
    let after = runs(&h, &[]);
    assert_eq!(after.len(), 3, "{after:?}");
    let newest = &after[0];
    assert_ne!(newest["run_id"], id);
    assert!(
        newest["command"].as_str().unwrap().contains("exit 3"),
        "{newest}"
    );
    assert!(
        newest["cwd"].as_str().unwrap().ends_with("/proj"),
        "{newest}"
    );

    let fresh = Home::new();
    let _f = fresh.start();
    let none = fresh.codex(&["rerun", "--last-failed"]);
    assert_ne!(none.code, Some(0), "{}", none.stdout);
}

/// A held step names the folder and project it would run in.
#[test]
fn approvals_show_the_folder_and_project_of_a_held_step() {
    let h = Home::new();
    let _d = h.start();
    let p = h.project("heldproj", &[("Makefile", "all:\n")]);
    h.codex_in(&p, &["run", "--detach", "--", "touch", "held.txt"])
        .ok();
    eventually("the approval is held", || {
        h.codex(&["--json", "approvals"]).ok().json()["pending"]
            .as_array()
            .is_some_and(|a| a.len() == 1)
    });
    let listed = h.codex(&["approvals"]).ok().stdout;
    assert!(listed.contains("touch held.txt"), "{listed}");
    assert!(listed.contains("heldproj"), "{listed}");
    // Why it was held says why the comfort is lower than the user's own.
    let held = h.codex(&["--json", "approvals"]).ok().json();
    let why = held["pending"][0]["why_asked"].as_str().unwrap_or_default();
    assert!(
        why.contains("nobody is attached") && why.contains("stricter than yours (medium)"),
        "{why}"
    );
}
