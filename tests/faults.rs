//! Storage faults end to end: episodic memory on a tiny file system that fills up. A run
//! whose episode cannot be written says so (distinct exit status, no "rate it"), `rate` never
//! picks an older run instead, and once space returns runs are saved again without a restart.
//!
//! The full file system is a tmpfs mounted over the episodic folder, which needs root (or
//! CAP_SYS_ADMIN); where mounting is refused the test prints why and is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use codex_e2e::Home;

/// A tmpfs mounted at `dir`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }

    /// Fill it: one file takes every free byte.
    fn fill(&self) -> PathBuf {
        let filler = self.0.join("filler");
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=4096"])
            .arg(format!("of={}", filler.display()))
            .output();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_run_that_cannot_be_saved_says_so_and_is_never_confused_with_another() {
    let h = Home::new();
    let episodic = h.path("storage/episodic");
    let fs = match Tmpfs::mount(&episodic, "256k") {
        Ok(fs) => fs,
        Err(why) => {
            codex_e2e::skipped(&format!("cannot mount a tmpfs to fill ({why}); needs root"));
            return;
        }
    };
    let _d = h.start();
    let first = h
        .codex(&["--json", "run", "--goal", "say one", "--", "echo", "one"])
        .ok();
    let first_id = first.finished()["run_id"].as_u64().unwrap();
    h.codex(&["rate", "4"]).ok();

    let filler = fs.fill();
    // Appends still land in the journal's last partly-used page; the first that needs a new
    // page fails.
    let mut tries = 0;
    let run = loop {
        tries += 1;
        let run = h.codex(&["run", "--goal", "say two", "--", "echo", "two"]);
        if run.code != Some(0) || tries == 200 {
            break run;
        }
    };
    assert_eq!(
        run.code,
        Some(75),
        "a run that could not be saved has its own exit status: {}",
        run.stderr
    );
    assert!(run.stderr.contains("could not be saved"), "{}", run.stderr);
    assert!(!run.stderr.contains("rate it"), "{}", run.stderr);
    let json = h.codex(&[
        "--json",
        "run",
        "--goal",
        "say three",
        "--",
        "echo",
        "three",
    ]);
    assert_eq!(json.code, Some(75));
    let unsaved = json.finished();
    assert_eq!(unsaved["recorded"], false, "{unsaved}");
    assert!(unsaved["not_saved"].is_string(), "{unsaved}");
    let unsaved_id = unsaved["run_id"].as_u64().unwrap();

    // `rate` means the run just seen: it is refused, and the older run keeps its rating.
    let rate = h.codex(&["rate", "1"]);
    assert_ne!(rate.code, Some(0), "{}", rate.stdout);
    assert!(
        rate.stderr.contains("could not be saved"),
        "{}",
        rate.stderr
    );
    let by_id = h.codex(&["rate", "--run", &unsaved_id.to_string(), "1"]);
    assert!(
        by_id.stderr.contains("could not be saved"),
        "{}",
        by_id.stderr
    );
    // Reads still work while the disk is full.
    h.codex(&["status"]).ok();

    // Space returns: the next run is saved, without a restart.
    std::fs::remove_file(filler).unwrap();
    let back = h
        .codex(&["--json", "run", "--goal", "say four", "--", "echo", "four"])
        .ok();
    let back_id = back.finished()["run_id"].as_u64().unwrap();
    assert!(
        back_id > unsaved_id,
        "ids move on: {back_id} after {unsaved_id}"
    );
    h.codex(&["rate", "5"]).ok();
    let history = h.codex(&["--json", "history"]).ok().json();
    let runs = history["runs"].as_array().unwrap();
    let rating_of = |id: u64| {
        runs.iter()
            .find(|r| r["run_id"] == id)
            .map(|r| r["rating"].clone())
    };
    assert_eq!(rating_of(first_id), Some(serde_json::json!(4)), "{history}");
    assert_eq!(rating_of(back_id), Some(serde_json::json!(5)), "{history}");
    assert_eq!(rating_of(unsaved_id), None, "{history}");
}

#[test]
fn run_ids_are_never_reused_when_episodic_memory_is_lost() {
    let h = Home::new();
    let mut seen = Vec::new();
    let d = h.start();
    for word in ["one", "two", "three"] {
        let r = h.codex(&["--json", "run", "--", "echo", word]).ok();
        seen.push(r.finished()["run_id"].as_u64().unwrap());
    }
    h.codex(&["rate", "--run", &seen[0].to_string(), "5"]).ok();
    // A crash, then episodic memory damaged beyond reading: its snapshot and journal are
    // garbage (and are moved aside at start).
    d.kill9();
    for entry in std::fs::read_dir(h.path("storage/episodic")).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::write(&p, b"\x00garbage{{{").unwrap();
        }
    }
    let _d = h.start();
    let r = h.codex(&["--json", "run", "--", "echo", "four"]).ok();
    let id = r.finished()["run_id"].as_u64().unwrap();
    assert!(
        seen.iter().all(|s| id > *s),
        "a new run gets an id never used before: {id} after {seen:?}"
    );
    // Rating the new run leaves the old run's rating alone.
    h.codex(&["rate", "1"]).ok();
    let prefs = h.codex(&["--json", "history"]).ok().json();
    let rated: Vec<_> = prefs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["rating"].is_null())
        .map(|r| r["run_id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        rated,
        vec![id],
        "only the new run is rated in history: {prefs}"
    );
}

#[test]
fn runs_beyond_the_cap_are_refused_with_a_clear_error() {
    let h = Home::new().with_config("safety:\n  max_concurrent_runs: 2\n");
    let _d = h.start();
    let mut clients: Vec<std::process::Child> = (0..2)
        .map(|_| {
            h.codex_cmd()
                .args(["run", "--", "sleep", "30"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    codex_e2e::eventually("two runs in progress", || {
        h.codex(&["--json", "status"]).json()["active_runs"] == 2
    });
    let third = h.codex(&["run", "--", "echo", "three"]);
    assert_ne!(third.code, Some(0));
    assert!(
        third.stderr.contains("max_concurrent_runs"),
        "{}",
        third.stderr
    );
    for c in &mut clients {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    // Once they end, runs are taken again.
    codex_e2e::eventually("the runs end with their clients", || {
        h.codex(&["--json", "status"]).json()["active_runs"] == 0
    });
    h.codex(&["run", "--", "echo", "four"]).ok();
}

#[test]
fn a_damaged_episodic_snapshot_is_rebuilt_from_the_dataset() {
    let h = Home::new();
    let d = h.start();
    let mut ids = Vec::new();
    for (i, word) in ["one", "two", "three", "four", "five"].iter().enumerate() {
        let goal = format!("say {word}");
        let r = h
            .codex(&["--json", "run", "--goal", &goal, "--", "echo", word])
            .ok();
        ids.push(r.finished()["run_id"].as_u64().unwrap());
        h.codex(&["rate", &(1 + i % 5).to_string()]).ok();
    }
    d.stop();
    let snapshot = h.path("storage/episodic/personalized_memory.json");
    std::fs::write(&snapshot, b"{ not json").unwrap();
    let d = h.start();
    let history = h.codex(&["--json", "history"]).ok().json();
    let runs = history["runs"].as_array().unwrap();
    for (i, id) in ids.iter().enumerate() {
        let run = runs
            .iter()
            .find(|r| r["run_id"] == *id)
            .unwrap_or_else(|| panic!("run {id} is back: {history}"));
        assert_eq!(run["rating"], 1 + i as u64 % 5, "{history}");
    }
    let log = d.log();
    assert!(log.contains("runs are back from the dataset"), "{log}");
}
