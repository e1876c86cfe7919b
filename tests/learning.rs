//! Learning end to end: a simulated user's taste is learned and followed, goals become
//! categories and patterns, old episodes are consolidated, settings override, imports give
//! patterns, and a kill -9 in a burst loses no acknowledged rating.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use codex_e2e::{Home, eventually, lines};
use serde_json::Value;

const DATASET: &str = "storage/learning/personalized_dataset.jsonl";
const MEMORY: &str = "storage/episodic/personalized_memory.json";
const MEMORY_JOURNAL: &str = "storage/episodic/personalized_memory.journal.jsonl";
const KNOWLEDGE: &str = "storage/semantic/personalized_knowledge.json";
const FEEDBACK: &str = "storage/analytics/personalized_feedback.json";
const FEEDBACK_JOURNAL: &str = "storage/analytics/personalized_feedback.journal.jsonl";

fn plans_of(prefs: &Value, category: &str) -> Vec<String> {
    prefs["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == category)
        .map(|c| {
            c["plans"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["plan"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The same deterministic generator as the unit simulation, so this user is reproducible.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const LIKED_FIRST: &str = "echo nextest";
const LIKED_LATER: &str = "echo cargo-test";

/// One interaction of a user who likes `liked`: a random plan under the same goal, then a
/// noisy rating (liked 3..5, other 1..3, one in six the other way round).
fn interact(h: &Home, rng: &mut Lcg, liked: &str) {
    let plan = [LIKED_FIRST, LIKED_LATER][rng.below(2) as usize];
    let mut good = plan == liked;
    if rng.below(6) == 0 {
        good = !good;
    }
    let score = if good {
        3 + rng.below(3)
    } else {
        1 + rng.below(3)
    };
    let mut args = vec!["run", "--goal", "Run the tests", "--"];
    args.extend(plan.split(' '));
    h.codex(&args).ok();
    h.codex(&["rate", &score.to_string()]).ok();
}

#[test]
fn a_noisy_user_s_preferred_plan_ranks_first_within_20_and_a_change_is_followed() {
    let h = Home::new();
    let _d = h.start();
    let mut rng = Lcg(7);
    for _ in 0..20 {
        interact(&h, &mut rng, LIKED_FIRST);
    }
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert_eq!(plans_of(&prefs, "run the tests")[0], LIKED_FIRST, "{prefs}");

    // The taste changes; docs/guide.md states the bound (24 interactions for every one of
    // 1000 simulated users).
    let mut followed = None;
    for i in 1..=25 {
        interact(&h, &mut rng, LIKED_LATER);
        let prefs = h
            .codex(&["--json", "prefs", "show", "--category", "run the tests"])
            .ok()
            .json();
        if plans_of(&prefs, "run the tests")[0] == LIKED_LATER {
            followed = Some(i);
            break;
        }
    }
    assert!(
        followed.is_some(),
        "the change of taste was not followed in 25 interactions"
    );
    let text = h.codex(&["prefs", "show"]).ok().stdout;
    assert!(
        text.contains(&format!("{LIKED_LATER} preferred for run the tests")),
        "{text}"
    );
}

#[test]
fn goals_categories_projects_and_patterns_are_recorded() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.scratch().join("shop");
    std::fs::create_dir_all(proj.join("src")).unwrap();
    std::fs::write(proj.join("Cargo.toml"), "[package]\n").unwrap();
    let sub = proj.join("src");
    h.codex_in(&sub, &["run", "--goal", "Build it!", "--", "true"])
        .ok();
    h.codex_in(
        &sub,
        &["run", "--goal", "run the tests", "--", "echo", "ok"],
    )
    .ok();
    h.codex_in(&sub, &["run", "--", "git", "--version"]).ok();
    h.codex_in(&sub, &["run", "--goal", "build it", "--", "true"])
        .ok();

    let root = std::fs::canonicalize(&proj).unwrap().display().to_string();
    let prefs = h
        .codex(&[
            "--json",
            "prefs",
            "show",
            "--project",
            proj.to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(prefs["project"], root.as_str());
    let cats: Vec<&str> = prefs["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert!(
        cats.contains(&"build it") && cats.contains(&"git"),
        "{cats:?}"
    );
    let pat = &prefs["patterns"][0];
    assert_eq!(pat["project"], root.as_str());
    assert_eq!(pat["kind"], "rust");
    assert_eq!(pat["goals"][0]["goal"], "build it");
    assert_eq!(pat["goals"][0]["count"], 2);
    let seq = pat["sequences"].as_array().unwrap();
    assert!(
        seq.iter()
            .any(|s| s["from"] == "build it" && s["to"] == "run the tests"),
        "{seq:?}"
    );
    assert_eq!(pat["weekdays"].as_array().unwrap().len(), 7);

    // The episode keeps the goal, its category, project and the output tail.
    let history = h.codex(&["--json", "history"]).ok().json();
    assert_eq!(history["runs"][0]["goal"], "build it");
    let mem: Value = {
        h.codex(&["daemon", "stop"]).ok();
        serde_json::from_slice(&std::fs::read(h.path(MEMORY)).unwrap()).unwrap()
    };
    let ep = &mem["state"]["episodes"]["2"];
    assert_eq!(ep["category"], "run the tests");
    assert_eq!(ep["project"]["root"], root.as_str());
    assert_eq!(ep["steps"][0]["output_tail"], "ok\n");
}

#[test]
fn pattern_tracking_off_turns_off_only_patterns() {
    let h = Home::new().with_config("workflow_pattern_tracking: false\n");
    let _d = h.start();
    h.codex(&["run", "--goal", "a", "--", "true"]).ok();
    h.codex(&["run", "--goal", "b", "--", "true"]).ok();
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert!(prefs["patterns"].as_array().unwrap().is_empty(), "{prefs}");
    assert_eq!(prefs["categories"].as_array().unwrap().len(), 2);
}

#[test]
fn old_episodes_are_consolidated_into_knowledge_and_memory_stays_bounded() {
    let h = Home::new().with_config("learning:\n  episodic_memory_cap: 10\n");
    let d = h.start();
    for i in 0..25 {
        let ok = if i % 5 == 0 { "false" } else { "true" };
        let code = if ok == "true" { 0 } else { 1 };
        h.codex(&["run", "--goal", "check", "--", ok]).code(code);
    }
    let status = h.codex(&["--json", "status"]).ok().json();
    let kept = status["episodes"].as_u64().unwrap();
    assert!((9..=10).contains(&kept), "episodic memory holds {kept}");
    assert_eq!(d.stop().code(), Some(0));
    let k: Value = serde_json::from_slice(&std::fs::read(h.path(KNOWLEDGE)).unwrap()).unwrap();
    let stats = &k["state"]["categories"]["check"];
    let consolidated = stats["runs"].as_u64().unwrap();
    assert_eq!(consolidated + kept, 25, "{k}");
    assert!(stats["successes"].as_u64().unwrap() < consolidated);
    // Every run is still an example in the dataset.
    let examples = lines(&h.path(DATASET))
        .iter()
        .filter(|l| l.contains("\"type\":\"example\""))
        .count();
    assert_eq!(examples, 25);
    // And the profile still counts all 25 runs.
    let _d = h.start();
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert_eq!(prefs["categories"][0]["runs"], 25);
}

#[test]
fn settings_override_learning_and_unset_gives_it_back() {
    let h = Home::new();
    let _d = h.start();
    let r = h
        .codex(&["--json", "prefs", "set", "autonomy_comfort", "high"])
        .ok()
        .json();
    assert_eq!(
        (r["value"].as_str(), r["source"].as_str()),
        (Some("high"), Some("set"))
    );
    let bad = h
        .codex(&["prefs", "set", "autonomy_comfort", "reckless"])
        .code(2);
    assert!(bad.stderr.contains("low, medium, high"), "{}", bad.stderr);
    let unknown = h.codex(&["prefs", "set", "colour", "blue"]).code(2);
    assert!(
        unknown.stderr.contains("unknown setting"),
        "{}",
        unknown.stderr
    );
    let text = h.codex(&["prefs", "show"]).ok().stdout;
    assert!(text.contains("high (set by you"), "{text}");
    let r = h
        .codex(&["--json", "prefs", "unset", "autonomy_comfort"])
        .ok()
        .json();
    assert_eq!(
        (r["value"].as_str(), r["source"].as_str()),
        (Some("medium"), Some("default"))
    );
    assert_eq!(r["previous"], "high");

    // Approvals given teach autonomy comfort: three `--yes` on commands that would be asked
    // (writing outside the project; each then fails: the folder does not exist).
    for _ in 0..3 {
        h.codex(&["run", "--yes", "--", "touch", "/codex-e2e-nonexistent/f"])
            .code(1);
    }
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    let ac = &prefs["style"]["autonomy_comfort"];
    assert_eq!(
        (ac["value"].as_str(), ac["source"].as_str()),
        (Some("high"), Some("learned")),
        "{ac}"
    );
    assert_eq!(prefs["style"]["approvals_given"], 3);
}

#[test]
fn prefs_reset_asks_and_keeps_settings_unless_all() {
    let h = Home::new();
    let _d = h.start();
    h.codex(&["run", "--goal", "g", "--", "true"]).ok();
    h.codex(&["rate", "4"]).ok();
    h.codex(&["prefs", "set", "verbosity", "terse"]).ok();
    let refused = h.codex(&["prefs", "reset"]).code(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    h.codex(&["prefs", "reset", "--yes"]).ok();
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert!(prefs["categories"].as_array().unwrap().is_empty());
    assert_eq!(prefs["style"]["verbosity"]["value"], "terse");
    // History and the rating itself stay.
    assert_eq!(
        h.codex(&["--json", "history"]).ok().json()["runs"][0]["rating"],
        4
    );
    h.codex(&["prefs", "reset", "--all", "--yes"]).ok();
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert_eq!(prefs["style"]["verbosity"]["source"], "default");
}

#[test]
fn learning_off_freezes_the_profile_but_keeps_ratings() {
    let h = Home::new().with_config("user_preference_learning: false\n");
    let _d = h.start();
    h.codex(&["run", "--goal", "g", "--", "true"]).ok();
    h.codex(&["rate", "5"]).ok();
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert_eq!(prefs["learning"], false);
    assert!(prefs["categories"].as_array().unwrap().is_empty());
    assert_eq!(
        h.codex(&["--json", "history"]).ok().json()["runs"][0]["rating"],
        5
    );
}

fn write(dir: &Path, name: &str, text: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn shell_history_imports_give_patterns_on_day_one() {
    let h = Home::new();
    let _d = h.start();
    let dir = h.scratch();
    let zsh = write(
        dir,
        "zsh_history",
        b": 1700000000:0;git pull\n: 1700000060:0;cargo test\n: bad;line\n\
          : 1700000120:0;git pull\n: 1700000180:0;cargo test\n: 1700000240:0;echo multi\\\nline\n",
    );
    let out = h
        .codex(&["--json", "import", "shell-history", "--shell", "zsh", &zsh])
        .ok()
        .json();
    assert_eq!(
        (out["imported"].as_u64(), out["skipped"].as_u64()),
        (Some(5), Some(1))
    );
    let bash = write(dir, "bash_history", b"#1700000300\nls -la\nmake\n\nmake\n");
    let out = h
        .codex(&["--json", "import", "shell-history", &bash])
        .ok()
        .json();
    assert_eq!(
        (out["shell"].as_str(), out["imported"].as_u64()),
        (Some("bash"), Some(3))
    );
    let fish = write(
        dir,
        "fish_history",
        b"- cmd: git status\n  when: 1700000400\n- cmd: git status\n  when: 1700000460\n",
    );
    let out = h
        .codex(&["--json", "import", "shell-history", &fish])
        .ok()
        .json();
    assert_eq!(
        (out["shell"].as_str(), out["imported"].as_u64()),
        (Some("fish"), Some(2))
    );

    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    let pat = &prefs["patterns"][0];
    assert_eq!(pat["project"], "");
    let goals = pat["goals"].as_array().unwrap();
    let count = |g: &str| {
        goals
            .iter()
            .find(|x| x["goal"] == g)
            .map(|x| x["count"].clone())
    };
    assert_eq!(count("git pull"), Some(2.into()));
    assert_eq!(count("make"), Some(2.into()));
    let seq = pat["sequences"].as_array().unwrap();
    assert!(
        seq.iter()
            .any(|s| s["from"] == "git pull" && s["to"] == "cargo test" && s["count"] == 2),
        "{seq:?}"
    );
    let missing = h.codex(&[
        "import",
        "shell-history",
        "--shell",
        "bash",
        "/nonexistent/h",
    ]);
    let missing = missing.code(2);
    assert!(
        missing.stderr.contains("cannot read history file"),
        "{}",
        missing.stderr
    );
    let bad_shell = h
        .codex(&["import", "shell-history", "--shell", "tcsh", &bash])
        .code(2);
    assert!(
        bad_shell.stderr.contains("bash, zsh, fish"),
        "{}",
        bad_shell.stderr
    );
}

fn run_and_rate(h: &Home, score: u64) -> Option<(u64, u64)> {
    let run = h.codex(&["--json", "run", "--goal", "burst", "--", "true"]);
    let id = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "finished")
        .find_map(|v| v["run_id"].as_u64())?;
    let rated = h.codex(&["rate", &score.to_string(), "--run", &id.to_string()]);
    (rated.code == Some(0)).then_some((id, score))
}

/// A file as a `kill -9` left it, before any daemon repaired it: a snapshot (written
/// atomically) parses whole; a journal or the dataset parses line by line, except that its
/// last line may be torn by the kill (reported, not failed). `must_exist` files must be there.
fn parses_as_left(path: &Path, must_exist: bool) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str::<Value>(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        return;
    }
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let torn_tail = !complete && i + 1 == lines.len();
        match serde_json::from_str::<Value>(l) {
            Ok(_) => {}
            Err(e) if torn_tail => eprintln!("{}: a torn last line ({e})", path.display()),
            Err(e) => panic!("{}: bad line {l:?}: {e}", path.display()),
        }
    }
}

#[test]
fn kill_9_in_a_burst_loses_no_acknowledged_rating_and_leaves_files_parseable() {
    let h = Home::new().with_config("learning:\n  batch_size: 8\n  flush_interval_secs: 3600\n");
    let d = h.start();
    let acked = std::sync::Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        // Three clients run and rate as fast as they can...
        for t in 0..3u64 {
            let (h, acked, stop) = (&h, &acked, &stop);
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    match run_and_rate(h, (t + i) % 5 + 1) {
                        Some(pair) => acked.lock().unwrap().push(pair),
                        None => break, // the daemon is gone
                    }
                }
            });
        }
        // ...and the daemon is killed in the middle of it.
        eventually("a burst under way", || acked.lock().unwrap().len() >= 12);
        d.kill9();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let acked = acked.into_inner().unwrap();

    // Checked as the kill left them, before a daemon repairs anything.
    for (f, must_exist) in [
        (MEMORY, false),
        (MEMORY_JOURNAL, true),
        (KNOWLEDGE, false),
        (DATASET, true),
        (FEEDBACK, false),
        (FEEDBACK_JOURNAL, true),
    ] {
        parses_as_left(&h.path(f), must_exist);
    }
    let d = h.start();
    let history = h.codex(&["--json", "history", "--limit", "1000"]);
    assert_eq!(
        history.code,
        Some(0),
        "{}\nlog:\n{}",
        history.stderr,
        d.log()
    );
    let history = history.json();
    let runs = history["runs"].as_array().unwrap();
    for (id, score) in &acked {
        let r = runs
            .iter()
            .find(|r| r["run_id"] == *id)
            .unwrap_or_else(|| panic!("acknowledged run {id} lost"));
        assert_eq!(r["rating"], *score, "acknowledged rating of run {id} lost");
    }
    // Every acknowledged rating is a label in the dataset too (written through before the
    // answer); examples may have waited for their batch of 8.
    let dataset = lines(&h.path(DATASET));
    for (id, _) in &acked {
        let label = format!("\"type\":\"label\",\"run_id\":{id},");
        assert!(
            dataset.iter().any(|l| l.contains(&label)),
            "label of run {id} lost"
        );
    }
    let examples = dataset
        .iter()
        .filter(|l| l.contains("\"type\":\"example\""))
        .count();
    assert!(
        examples + 8 >= acked.len(),
        "{examples} examples for {} runs",
        acked.len()
    );
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    assert!(prefs["satisfaction"]["ratings"].as_u64().unwrap() >= acked.len() as u64);
}

#[test]
fn importing_a_history_again_adds_only_what_is_new_and_habits_in_a_project_teach_its_plan() {
    // cargo and its nextest are stand-ins: planning looks for them on PATH.
    let h = Home::new().with_programs(&["cargo", "cargo-nextest"]);
    let _d = h.start();
    let shop = h.project("shop", &[("Cargo.toml", "[package]\nname = \"shop\"\n")]);
    let other = h.project("other", &[("Cargo.toml", "[package]\nname = \"other\"\n")]);
    let mut text = format!("cd {}\n", shop.display());
    for _ in 0..6 {
        text.push_str("git pull\ncargo nextest run\n");
    }
    let file = write(h.scratch(), "bash_history", text.as_bytes());
    let import = || {
        h.codex(&[
            "--json",
            "import",
            "shell-history",
            "--shell",
            "bash",
            &file,
        ])
        .ok()
        .json()
    };
    let first = import();
    assert_eq!(first["imported"].as_u64(), Some(13), "{first}");
    assert_eq!(first["taught"].as_u64(), Some(6), "{first}");
    // Again: nothing new, nothing counted twice.
    let again = import();
    assert_eq!(
        (
            again["imported"].as_u64(),
            again["already_imported"].as_u64()
        ),
        (Some(0), Some(13)),
        "{again}"
    );
    let prefs = h.codex(&["--json", "prefs", "show"]).ok().json();
    let pat = &prefs["patterns"][0];
    let pulls = pat["goals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["goal"] == "git pull")
        .map(|g| g["count"].clone());
    assert_eq!(pulls, Some(6.into()), "{pat}");
    // Two lines typed since: only they are added.
    let mut grown = std::fs::read_to_string(&file).unwrap();
    grown.push_str("git pull\ncargo nextest run\n");
    std::fs::write(&file, grown).unwrap();
    let more = import();
    assert_eq!(
        (more["imported"].as_u64(), more["taught"].as_u64()),
        (Some(2), Some(1)),
        "{more}"
    );

    // The habit in the shop is its plan for any goal asking for its tests, and nowhere else.
    let p = h.plan(&shop, "run the tests");
    assert_eq!(p["plans"][0]["command"], "cargo nextest run", "{p}");
    assert!(
        p["plans"][0]["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("typed it 7 times here")),
        "{p}"
    );
    assert!(
        p["plans"][0]["borrowed"].is_null(),
        "a habit here is not borrowed: {p}"
    );
    let p = h.plan(&shop, "execute the test suite");
    assert_eq!(p["plans"][0]["command"], "cargo nextest run", "{p}");
    let p = h.plan(&other, "run the tests");
    assert_eq!(p["plans"][0]["command"], "cargo test", "{p}");
    assert!(
        !p["plans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["command"] == "cargo nextest run"),
        "{p}"
    );
    // Forgetting everything forgets the marks too: the file can be imported afresh.
    h.codex(&["forget", "--all", "--yes"]).ok();
    let fresh = import();
    assert_eq!(fresh["imported"].as_u64(), Some(15), "{fresh}");
}
