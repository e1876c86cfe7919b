//! Exports teach only what teaches: line counts per format on a scripted sequence of runs.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use codex_e2e::Home;

fn lines(h: &Home, format: &str) -> Vec<serde_json::Value> {
    h.codex(&["export", "--format", format])
        .ok()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn exports_keep_named_goals_kept_plans_and_pairs_from_ratings_or_outcomes() {
    let h = Home::new();
    let _d = h.start();
    let p = h.project("proj", &[("Makefile", "all:\n")]);
    // Typed commands: their goal is the command, they teach nothing about words.
    h.codex_in(&p, &["run", "--", "true"]).ok();
    h.codex_in(&p, &["run", "--", "true"]).ok();
    // One goal, a plan that worked and one that failed: an outcome pair.
    h.codex_in(&p, &["run", "--goal", "check it", "--", "true"])
        .ok();
    h.codex_in(&p, &["run", "--goal", "check it", "--", "false"])
        .code(1);
    // One goal, two plans rated apart: a rating pair; the one rated 2 is no chat example.
    h.codex_in(&p, &["run", "--goal", "say hi", "--", "echo", "hi"])
        .ok();
    h.codex(&["rate", "5"]).ok();
    h.codex_in(&p, &["run", "--goal", "say hi", "--", "echo", "hello"])
        .ok();
    h.codex(&["rate", "2"]).ok();

    let chat = lines(&h, "openai-chat");
    let answers: Vec<&str> = chat
        .iter()
        .map(|l| l["messages"][2]["content"].as_str().unwrap())
        .collect();
    assert_eq!(answers, vec!["true", "echo hi"], "{chat:?}");
    for l in &chat {
        let user = l["messages"][1]["content"].as_str().unwrap();
        assert!(!user.starts_with("Goal: true"), "{user}");
    }

    let pairs = lines(&h, "preference-pairs");
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    let by_basis = |b: &str| pairs.iter().find(|l| l["basis"] == b).unwrap();
    assert_eq!(by_basis("outcome")["chosen"], "true");
    assert_eq!(by_basis("outcome")["rejected"], "false");
    assert_eq!(by_basis("rating")["chosen"], "echo hi");
    assert_eq!(by_basis("rating")["rejected"], "echo hello");

    assert_eq!(lines(&h, "episodes").len(), 6);
}
