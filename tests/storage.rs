//! Storage under damage: corrupt and truncated files are moved aside or repaired, never
//! overwritten, and the daemon starts with what it can recover.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

use codex_e2e::{Home, eventually, lines};

const FEEDBACK: &str = "storage/analytics/personalized_feedback.json";
const FEEDBACK_JOURNAL: &str = "storage/analytics/personalized_feedback.journal.jsonl";
const MEMORY: &str = "storage/episodic/personalized_memory.json";
const MEMORY_JOURNAL: &str = "storage/episodic/personalized_memory.journal.jsonl";
const DATASET: &str = "storage/learning/personalized_dataset.jsonl";

fn moved_aside(file: &Path) -> Vec<PathBuf> {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}.corrupt-"))
        })
        .collect()
}

/// Two rated runs, then a graceful stop (snapshots written, journals empty).
fn seeded() -> Home {
    let h = Home::new();
    let d = h.start();
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["rate", "5"]).ok();
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["rate", "3"]).ok();
    assert_eq!(d.stop().code(), Some(0));
    h
}

#[test]
fn a_corrupt_feedback_file_is_moved_aside_and_the_daemon_starts() {
    let h = seeded();
    let file = h.path(FEEDBACK);
    std::fs::write(&file, b"{\"format\":1, this is not json").unwrap();
    let d = h.start();
    let aside = moved_aside(&file);
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        std::fs::read(&aside[0]).unwrap(),
        b"{\"format\":1, this is not json"
    );
    assert!(
        d.log().contains("does not parse") && d.log().contains("moved it aside"),
        "{}",
        d.log()
    );
    // Episodes are untouched; new ratings work and persist.
    h.codex(&["status"]).ok();
    h.codex(&["rate", "4", "--run", "1"]).ok();
    assert_eq!(d.stop().code(), Some(0));
    let _d = h.start();
    let runs = h.codex(&["--json", "history"]).ok().json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2);
    assert_eq!(runs["runs"][1]["rating"], 4);
}

#[test]
fn a_truncated_memory_snapshot_is_moved_aside() {
    let h = seeded();
    let file = h.path(MEMORY);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let d = h.start();
    assert_eq!(moved_aside(&file).len(), 1);
    h.codex(&["status"]).ok();
    assert!(d.log().contains("moved it aside"), "{}", d.log());
}

#[test]
fn torn_last_lines_are_cut_and_everything_before_them_kept() {
    let h = Home::new().with_config("learning:\n  batch_size: 1\n");
    let d = h.start();
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["rate", "5"]).ok();
    d.kill9(); // journals hold the data; snapshots were never written
    for f in [FEEDBACK_JOURNAL, MEMORY_JOURNAL, DATASET] {
        let mut bytes = std::fs::read(h.path(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        bytes.extend_from_slice(b"{\"seq\":99,\"op\":{\"op\":\"rec");
        std::fs::write(h.path(f), bytes).unwrap();
    }
    let d = h.start();
    assert!(d.log().contains("torn last line"), "{}", d.log());
    let runs = h.codex(&["--json", "history"]).ok().json();
    assert_eq!(runs["runs"][0]["rating"], 5);
    for f in [FEEDBACK_JOURNAL, MEMORY_JOURNAL, DATASET] {
        for line in lines(&h.path(f)) {
            serde_json::from_str::<serde_json::Value>(&line)
                .unwrap_or_else(|e| panic!("{f}: {e}: {line}"));
        }
    }
}

#[test]
fn garbage_inside_a_journal_keeps_every_good_line() {
    let h = Home::new();
    let d = h.start();
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["run", "--", "true"]).ok();
    d.kill9();
    let journal = h.path(MEMORY_JOURNAL);
    // The ops, without the journal's header line.
    let good: Vec<String> = lines(&journal)
        .into_iter()
        .filter(|l| l.contains("\"op\""))
        .collect();
    assert_eq!(good.len(), 2);
    std::fs::write(
        &journal,
        format!("{}\nNOT JSON AT ALL\n{}\n", good[0], good[1]),
    )
    .unwrap();
    let d = h.start();
    assert_eq!(
        moved_aside(&journal).len(),
        1,
        "the damaged journal is kept for the user"
    );
    let runs = h.codex(&["--json", "history"]).ok().json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2, "{}", d.log());
}

#[test]
fn an_unreadable_storage_file_stops_the_daemon_with_a_clear_error() {
    if rustix::process::geteuid().is_root() {
        codex_e2e::skipped("root reads files whatever their mode");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let h = seeded();
    let file = h.path(FEEDBACK);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let (status, log) = h.spawn_daemon(&[]).wait_with_log();
    assert_ne!(status.code(), Some(0));
    assert!(log.contains("personalized_feedback.json"), "{log}");
    assert!(
        moved_aside(&file).is_empty(),
        "an unreadable file is not corrupt: never moved"
    );
}

#[test]
fn corrupt_knowledge_is_moved_aside_and_garbage_in_the_dataset_is_skipped() {
    let h = seeded();
    let knowledge = h.path("storage/semantic/personalized_knowledge.json");
    assert!(
        knowledge.exists(),
        "a graceful stop writes the knowledge snapshot"
    );
    std::fs::write(&knowledge, b"{\"format\":1,\"seq\":").unwrap();
    let dataset = h.path(DATASET);
    let mut text = std::fs::read_to_string(&dataset).unwrap();
    text.insert_str(0, "GARBAGE LINE\n");
    std::fs::write(&dataset, text).unwrap();
    let d = h.start();
    assert_eq!(moved_aside(&knowledge).len(), 1, "{}", d.log());
    // Exports skip the line that does not parse and keep the rest.
    let out = h.codex(&["export", "--format", "episodes"]).ok();
    assert_eq!(out.stdout.lines().count(), 2);
    h.codex(&["run", "--goal", "after", "--", "true"]).ok();
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert!(prefs["patterns"].to_string().contains("after"));
}

#[test]
fn garbage_mid_dataset_is_logged_and_the_file_kept_aside() {
    let h = seeded();
    let dataset = h.path(DATASET);
    let good = lines(&dataset);
    assert_eq!(good.len(), 4, "two examples and two labels");
    let damaged = format!("{}\nGARBAGE\n{}\n", good[0], good[1..].join("\n"));
    std::fs::write(&dataset, &damaged).unwrap();
    let d = h.start();
    // Checked on a thread of its own at start: daemon start does not wait for it.
    eventually("the dataset checked", || {
        d.log().contains("dataset had lines that do not parse")
    });
    let aside = moved_aside(&dataset);
    assert_eq!(aside.len(), 1, "{}", d.log());
    assert_eq!(std::fs::read_to_string(&aside[0]).unwrap(), damaged);
    assert!(
        d.log().contains("dataset had lines that do not parse"),
        "{}",
        d.log()
    );
    assert_eq!(
        lines(&dataset),
        good,
        "every good line kept, the garbage out"
    );
    let out = h.codex(&["export", "--format", "episodes"]).ok();
    assert_eq!(out.stdout.lines().count(), 2);
}

#[test]
fn a_complete_last_dataset_line_in_invalid_utf8_is_cut_with_a_log_line() {
    let h = seeded();
    let dataset = h.path(DATASET);
    let good = std::fs::read(&dataset).unwrap();
    let mut damaged = good.clone();
    damaged.extend_from_slice(b"{\"type\":\"label\",\"run_id\":1,\"comment\":\"\xff\xfe\"}\n");
    std::fs::write(&dataset, &damaged).unwrap();
    let d = h.start();
    eventually("the last line cut", || d.log().contains("last line"));
    assert_eq!(std::fs::read(&dataset).unwrap(), good);
    assert!(
        moved_aside(&dataset).is_empty(),
        "a torn tail is cut, not kept"
    );
}

#[test]
fn an_emptied_journal_is_reported() {
    let h = Home::new();
    let d = h.start();
    h.codex(&["run", "--", "true"]).ok();
    h.codex(&["run", "--", "true"]).ok();
    d.kill9(); // the episodes are in the journal only
    let journal = h.path(MEMORY_JOURNAL);
    assert!(!lines(&journal).is_empty());
    std::fs::write(&journal, b"").unwrap();
    let d = h.start();
    assert!(
        d.log()
            .contains("journal is empty though a journal is never left empty"),
        "{}",
        d.log()
    );
}

#[test]
fn a_damaged_feedback_snapshot_gets_its_ratings_back_from_the_dataset() {
    let h = Home::new();
    let d = h.start();
    for score in [5, 3, 4, 1, 2] {
        h.codex(&["run", "--", "true"]).ok();
        h.codex(&["rate", &score.to_string()]).ok();
    }
    assert_eq!(d.stop().code(), Some(0));
    let file = h.path(FEEDBACK);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let d = h.start();
    assert_eq!(moved_aside(&file).len(), 1);
    assert!(
        d.log()
            .contains("rebuilt the feedback state from the dataset: 5 ratings"),
        "{}",
        d.log()
    );
    let runs = h.codex(&["--json", "history"]).ok().json();
    let mut ratings: Vec<i64> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rating"].as_i64().unwrap_or(0))
        .collect();
    ratings.sort();
    assert_eq!(ratings, [1, 2, 3, 4, 5], "{runs}");
    // Written into the new snapshot at once: a restart keeps them without rebuilding.
    assert_eq!(d.stop().code(), Some(0));
    let d = h.start();
    assert!(!d.log().contains("rebuilt"), "{}", d.log());
    let runs = h.codex(&["--json", "history"]).ok().json();
    assert!(
        runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["rating"].is_i64()),
        "{runs}"
    );
}
