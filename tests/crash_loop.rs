//! A crash loop: clients run and rate while the daemon is SIGKILLed at random moments. After
//! the last kill and a clean restart:
//! - every acknowledged run (exit 0, `recorded: true`) is in the history under its own goal,
//!   and every acknowledged rating (exit 0, the answer names the run and the score) is on it;
//! - no run id was handed out twice: not to two acknowledged runs, not in the feedback
//!   signals (one outcome per run), the dataset (one example per run) or episodic memory (one
//!   `record` per run), and a run id names the same run in every file;
//! - every JSON and JSONL file under `storage/` parses, and nothing was moved aside;
//! - the profile is the fold of the files: its counts (runs, successes, ratings, mean rating
//!   per category and per program, satisfaction) are recomputed here from the feedback
//!   signals on disk; its scores and evidence (Beta posteriors with decay, too big to
//!   recompute here) are compared before and after a restart that folds them again from the
//!   files.
//!
//! It prints the seed, kills, runs and ratings acknowledged and lost. Short by default (10
//! kills, 3 clients); `CODEX_CRASH_LOOP_KILLS=140 CODEX_CRASH_LOOP_CLIENTS=4` is the long run
//! and `CODEX_CRASH_LOOP_SEED=N` replays the kill moments and scores of a failed run (the
//! interleaving with the clients still varies).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use codex_e2e::{Home, WAIT};
use serde_json::Value;

/// xorshift64*, seeded and printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// What the clients were told.
#[derive(Default)]
struct Acked {
    /// run id → goals of the runs acknowledged under it (more than one: an id reused).
    runs: BTreeMap<u64, Vec<String>>,
    /// run id → score of an acknowledged rating.
    ratings: BTreeMap<u64, u64>,
    /// Runs and ratings that failed (the daemon was gone or going).
    failed_runs: u64,
    failed_ratings: u64,
}

/// Sets `stop` when dropped, so a panic in the kill loop still ends the clients.
struct StopOnDrop<'a>(&'a AtomicBool);
impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// One client: run, then rate what ran, until told to stop.
fn client(h: &Home, me: u64, seed: u64, acked: &Mutex<Acked>, stop: &AtomicBool, n: &AtomicU64) {
    let mut rng = Rng(seed ^ (me + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    while !stop.load(Ordering::SeqCst) {
        let i = n.fetch_add(1, Ordering::SeqCst);
        let goal = format!("crash loop client {me} run {i}");
        let run = h.codex(&["--json", "run", "--goal", &goal, "--", "true"]);
        let finished = run
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["event"] == "finished");
        let id = match (&run.code, finished) {
            (Some(0), Some(f)) if f["recorded"] == true => f["run_id"].as_u64(),
            _ => None,
        };
        let Some(id) = id else {
            acked.lock().unwrap().failed_runs += 1;
            // The daemon is down or restarting: try again shortly.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        acked.lock().unwrap().runs.entry(id).or_default().push(goal);
        let score = 1 + rng.below(5);
        let rated = h.codex(&[
            "--json",
            "rate",
            &score.to_string(),
            "--run",
            &id.to_string(),
        ]);
        let said = serde_json::from_str::<Value>(rated.stdout.trim()).unwrap_or_default();
        if rated.code == Some(0) && said["run_id"] == id && said["score"] == score {
            acked.lock().unwrap().ratings.insert(id, score);
        } else {
            acked.lock().unwrap().failed_ratings += 1;
        }
    }
}

/// Every file below `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A snapshot's `seq` and `state`, and the ops of its journal after that seq.
fn journaled(h: &Home, snapshot: &str, problems: &mut Vec<String>) -> (Value, Vec<Value>) {
    let path = h.path(snapshot);
    let (seq, state) = match std::fs::read_to_string(&path) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(v) => (v["seq"].as_u64().unwrap_or(0), v["state"].clone()),
            Err(e) => {
                problems.push(format!("{snapshot} does not parse: {e}"));
                (0, Value::Null)
            }
        },
        Err(_) => (0, Value::Null),
    };
    let journal = path.with_extension("journal.jsonl");
    let ops = codex_e2e::lines(&journal)
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["seq"].as_u64().is_some_and(|s| s > seq))
        .map(|v| v["op"].clone())
        .collect();
    (state, ops)
}

/// Counts per category or program, as the profile shows them.
#[derive(Debug, Default, PartialEq, Clone, Copy)]
struct Counts {
    runs: u64,
    successes: u64,
    ratings: u64,
    rating_sum: u64,
}

fn same_float(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-4 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

/// Where two profiles differ beyond the decay of a few minutes (evidence halves in 30 days:
/// 1e-4 of it goes in about six minutes), as paths of the differences.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
                differences(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ if same_float(a, b) => {}
        _ => out.push(format!("{path}: {a} then {b}")),
    }
}

#[test]
fn crash_loop_loses_no_acknowledged_rating_and_reuses_no_run_id() {
    let kills = env_u64("CODEX_CRASH_LOOP_KILLS").unwrap_or(10);
    let clients = env_u64("CODEX_CRASH_LOOP_CLIENTS").unwrap_or(3);
    let seed = env_u64("CODEX_CRASH_LOOP_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    eprintln!(
        "crash loop: seed {seed} (replay: CODEX_CRASH_LOOP_SEED={seed}), {kills} kills, \
         {clients} clients"
    );
    let mut rng = Rng(seed);
    // Small dataset batches, so kills land between batches as well as inside them.
    let h = Home::new().with_config("learning:\n  batch_size: 2\n  flush_interval_secs: 1\n");
    let acked = Mutex::new(Acked::default());
    let stop = AtomicBool::new(false);
    let counter = AtomicU64::new(0);
    let started = Instant::now();
    let mut ready: Vec<Duration> = Vec::new();
    let last = std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        for me in 0..clients {
            let (h, acked, stop, counter) = (&h, &acked, &stop, &counter);
            s.spawn(move || client(h, me, seed, acked, stop, counter));
        }
        for k in 0..kills {
            let t = Instant::now();
            let d = h.start();
            ready.push(t.elapsed());
            // Let some work start (or not), then crash: anywhere from at once to 400 ms in.
            let delay = rng.below(400);
            std::thread::sleep(Duration::from_millis(delay));
            // Make sure this round had work in flight at least now and then.
            if k % 3 == 2 {
                let before = acked.lock().unwrap().runs.len();
                let t = Instant::now();
                while acked.lock().unwrap().runs.len() == before && t.elapsed() < WAIT {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            d.kill9();
        }
        // Recovery: the daemon starts from the crashed files; the clients finish their
        // current command against it and stop.
        let d = h.start();
        stop.store(true, Ordering::SeqCst);
        d
    });
    let loop_time = started.elapsed();
    let acked = acked.into_inner().unwrap();
    let mut problems: Vec<String> = Vec::new();

    // What the recovered daemon shows, then after a clean stop and start (a fold from files).
    let history = |h: &Home| -> Value {
        let out = h.codex(&["--json", "history", "--limit", "10000"]);
        assert_eq!(out.code, Some(0), "history: {}", out.stderr);
        out.json()
    };
    let prefs = |h: &Home| -> Value { h.codex(&["--json", "prefs", "show"]).ok().json() };
    let (h1, p1) = (history(&h), prefs(&h));
    let log1 = last.log();
    let st = last.stop();
    if st.code() != Some(0) {
        problems.push(format!(
            "the recovered daemon did not stop cleanly: {st}\n{log1}"
        ));
    }
    let d2 = h.start();
    let (h2, p2) = (history(&h), prefs(&h));
    let log2 = d2.log();
    assert_eq!(d2.stop().code(), Some(0), "{log2}");

    // 1. Every acknowledged run and rating is there, on the run it was given to.
    let rows: Vec<&Value> = h2["runs"].as_array().unwrap().iter().collect();
    let mut by_id: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for r in &rows {
        by_id
            .entry(r["run_id"].as_u64().unwrap())
            .or_default()
            .push(r);
    }
    let mut lost_runs = Vec::new();
    for (id, goals) in &acked.runs {
        let shown: Vec<&str> = by_id
            .get(id)
            .map(|rs| rs.iter().filter_map(|r| r["goal"].as_str()).collect())
            .unwrap_or_default();
        for g in goals {
            if !shown.contains(&g.as_str()) {
                lost_runs.push(format!("run {id} ({g}): history shows {shown:?}"));
            }
        }
    }
    let mut lost_ratings = Vec::new();
    let mut lost_rating_ids = BTreeSet::new();
    for (id, score) in &acked.ratings {
        let shown: Vec<&Value> = by_id
            .get(id)
            .map(|rs| rs.iter().map(|r| &r["rating"]).collect())
            .unwrap_or_default();
        if !shown.iter().any(|r| *r == score) {
            lost_rating_ids.insert(*id);
            lost_ratings.push(format!("run {id}: rated {score}, history shows {shown:?}"));
        }
    }
    if !lost_runs.is_empty() {
        problems.push(format!(
            "{} acknowledged runs lost or replaced:\n  {}",
            lost_runs.len(),
            lost_runs.join("\n  ")
        ));
    }
    // Labels are written through before a rating is acknowledged.
    let labels: BTreeSet<(u64, u64)> =
        codex_e2e::lines(&h.path("storage/learning/personalized_dataset.jsonl"))
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["type"] == "label")
            .filter_map(|v| Some((v["run_id"].as_u64()?, v["score"].as_u64()?)))
            .collect();
    for (id, score) in &acked.ratings {
        if !labels.contains(&(*id, *score)) {
            lost_rating_ids.insert(*id);
            lost_ratings.push(format!(
                "run {id}: rated {score}, no such label in the dataset"
            ));
        }
    }
    if !lost_ratings.is_empty() {
        problems.push(format!(
            "{} acknowledged ratings lost:\n  {}",
            lost_rating_ids.len(),
            lost_ratings.join("\n  ")
        ));
    }
    if h1 != h2 {
        problems.push(format!(
            "history changed across a clean restart:\nbefore: {h1}\nafter:  {h2}"
        ));
    }

    // 2. Run ids are unique: to the clients, and in every file.
    let reused_acked: Vec<(u64, String)> = acked
        .runs
        .iter()
        .filter(|(_, goals)| goals.len() > 1)
        .map(|(id, goals)| (*id, format!("run {id} acknowledged to {goals:?}")))
        .collect();
    let (feedback, feedback_ops) = journaled(
        &h,
        "storage/analytics/personalized_feedback.json",
        &mut problems,
    );
    let mut signals: Vec<Value> = feedback["signals"].as_array().cloned().unwrap_or_default();
    for op in &feedback_ops {
        if op["op"] == "signal" || op["op"] == "rated" {
            signals.push(op["signal"].clone());
        }
    }
    let mut outcomes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for s in &signals {
        if s["kind"]["type"] == "outcome" {
            outcomes
                .entry(s["run_id"].as_u64().unwrap_or(0))
                .or_default()
                .push(s["category"].as_str().unwrap_or("").to_string());
        }
    }
    let (memory, memory_ops) = journaled(
        &h,
        "storage/episodic/personalized_memory.json",
        &mut problems,
    );
    let mut episodes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    if let Some(m) = memory["episodes"].as_object() {
        for e in m.values() {
            episodes
                .entry(e["run_id"].as_u64().unwrap_or(0))
                .or_default()
                .push(e["goal"].as_str().unwrap_or("").to_string());
        }
    }
    for op in &memory_ops {
        if op["op"] == "record" {
            let e = &op["episode"];
            episodes
                .entry(e["run_id"].as_u64().unwrap_or(0))
                .or_default()
                .push(e["goal"].as_str().unwrap_or("").to_string());
        }
    }
    let mut examples: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for l in codex_e2e::lines(&h.path("storage/learning/personalized_dataset.jsonl")) {
        if let Ok(v) = serde_json::from_str::<Value>(&l)
            && v["type"] == "example"
        {
            examples
                .entry(v["run_id"].as_u64().unwrap_or(0))
                .or_default()
                .push(v["goal"].as_str().unwrap_or("").to_string());
        }
    }
    let mut reused: Vec<(u64, String)> = reused_acked;
    for (what, map) in [
        ("outcome signals (categories)", &outcomes),
        ("episodic records (goals)", &episodes),
        ("dataset examples (goals)", &examples),
    ] {
        for (id, names) in map {
            if names.len() > 1 {
                reused.push((*id, format!("run {id}: {} {what}: {names:?}", names.len())));
            }
        }
    }
    // The same id names the same run everywhere (the goal is unique per run here, and its
    // category is the goal).
    for (id, goals) in &episodes {
        for (what, map) in [
            ("outcome signal", &outcomes),
            ("dataset example", &examples),
        ] {
            if let Some(other) = map.get(id)
                && other.iter().any(|o| !goals.contains(o))
            {
                reused.push((
                    *id,
                    format!("run {id}: episodic memory has {goals:?}, the {what} {other:?}"),
                ));
            }
        }
    }
    reused.sort();
    reused.dedup();
    let reused_ids: BTreeSet<u64> = reused.iter().map(|(id, _)| *id).collect();
    if !reused.is_empty() {
        let evidence: Vec<&str> = reused.iter().map(|(_, m)| m.as_str()).collect();
        problems.push(format!(
            "{} run ids handed out twice:\n  {}",
            reused_ids.len(),
            evidence.join("\n  ")
        ));
    }

    // 3. Every file parses; nothing was moved aside.
    let (mut unchecked, mut leftovers) = (Vec::new(), Vec::new());
    for f in files(&h.path("storage")) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let rel = f.strip_prefix(&h.home).unwrap_or(&f).display().to_string();
        if name.contains(".corrupt-") {
            problems.push(format!(
                "{rel} was moved aside: a kill -9 left it unreadable"
            ));
        } else if name.ends_with(".jsonl") {
            for (i, l) in codex_e2e::lines(&f).iter().enumerate() {
                if let Err(e) = serde_json::from_str::<Value>(l) {
                    problems.push(format!("{rel}:{}: does not parse ({e}): {l}", i + 1));
                }
            }
        } else if name.ends_with(".json") {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if let Err(e) = serde_json::from_str::<Value>(&text) {
                problems.push(format!("{rel} does not parse: {e}"));
            }
        } else if name.starts_with(".tmp") {
            // An atomic write cut short by a kill: not part of any store (reported, not
            // failed: nothing reads it).
            leftovers.push(rel);
        } else {
            unchecked.push(rel);
        }
    }

    // 4. The profile is the fold of the signals on disk: counts recomputed here...
    let (mut by_cat, mut by_prog) = (
        BTreeMap::<String, Counts>::new(),
        BTreeMap::<String, Counts>::new(),
    );
    let (mut ratings, mut rating_sum) = (0u64, 0u64);
    for s in &signals {
        let cat = by_cat
            .entry(s["category"].as_str().unwrap_or("").into())
            .or_default();
        let prog = by_prog
            .entry(s["program"].as_str().unwrap_or("").into())
            .or_default();
        match s["kind"]["type"].as_str() {
            Some("outcome") => {
                let ok = u64::from(s["kind"]["success"] == true);
                for c in [&mut *cat, &mut *prog] {
                    c.runs += 1;
                    c.successes += ok;
                }
            }
            Some("rating") => {
                let score = s["kind"]["score"].as_u64().unwrap_or(0);
                for c in [&mut *cat, &mut *prog] {
                    c.ratings += 1;
                    c.rating_sum += score;
                }
                ratings += 1;
                rating_sum += score;
            }
            _ => {}
        }
    }
    let mut shown_cat = BTreeMap::<String, Counts>::new();
    for c in p2["categories"].as_array().into_iter().flatten() {
        let e = shown_cat
            .entry(c["category"].as_str().unwrap_or("").into())
            .or_default();
        for pl in c["plans"].as_array().into_iter().flatten() {
            e.runs += pl["runs"].as_u64().unwrap_or(0);
            e.successes += pl["successes"].as_u64().unwrap_or(0);
            let n = pl["ratings"].as_u64().unwrap_or(0);
            e.ratings += n;
            e.rating_sum += (pl["mean_rating"].as_f64().unwrap_or(0.0) * n as f64).round() as u64;
        }
    }
    let mut shown_prog = BTreeMap::<String, Counts>::new();
    for p in p2["programs"].as_array().into_iter().flatten() {
        let n = p["ratings"].as_u64().unwrap_or(0);
        shown_prog.insert(
            p["program"].as_str().unwrap_or("").into(),
            Counts {
                runs: p["runs"].as_u64().unwrap_or(0),
                successes: p["successes"].as_u64().unwrap_or(0),
                ratings: n,
                rating_sum: (p["mean_rating"].as_f64().unwrap_or(0.0) * n as f64).round() as u64,
            },
        );
    }
    for (what, from_files, shown) in [
        ("category", &by_cat, &shown_cat),
        ("program", &by_prog, &shown_prog),
    ] {
        for name in from_files
            .keys()
            .chain(shown.keys())
            .collect::<BTreeSet<_>>()
        {
            let (f, p) = (
                from_files.get(name).copied().unwrap_or_default(),
                shown.get(name).copied().unwrap_or_default(),
            );
            if f != p {
                problems.push(format!(
                    "profile {what} {name:?}: the files fold to {f:?}, prefs show {p:?}"
                ));
            }
        }
    }
    let sat = &p2["satisfaction"];
    if sat["ratings"].as_u64() != Some(ratings) {
        problems.push(format!(
            "profile satisfaction.ratings is {}, the files hold {ratings} ratings",
            sat["ratings"]
        ));
    }
    if ratings > 0
        && !same_float(
            &sat["mean"],
            &Value::from(rating_sum as f64 / ratings as f64),
        )
    {
        problems.push(format!(
            "profile satisfaction.mean is {}, the files give {}",
            sat["mean"],
            rating_sum as f64 / ratings as f64
        ));
    }
    // ...and the rest (scores, evidence, style, patterns) equal after a fold from the files.
    let mut changed = Vec::new();
    differences(&p1, &p2, "prefs", &mut changed);
    if !changed.is_empty() {
        problems.push(format!(
            "the profile changed across a clean restart (a fold from the files):\n  {}",
            changed.join("\n  ")
        ));
    }

    eprintln!(
        "crash loop: seed {seed}, {kills} kills, {clients} clients in {:.1} s: runs acknowledged \
         {}, ratings acknowledged {}, runs lost {}, ratings lost {}, run ids reused {}, \
         failed (not acknowledged) runs {} and ratings {}; restart to ready after a kill: mean \
         {} ms, max {} ms; temp files left by cut writes: {leftovers:?}; not JSON, not checked: \
         {unchecked:?}",
        loop_time.as_secs_f64(),
        acked.runs.values().map(Vec::len).sum::<usize>(),
        acked.ratings.len(),
        lost_runs.len(),
        lost_rating_ids.len(),
        reused_ids.len(),
        acked.failed_runs,
        acked.failed_ratings,
        ready.iter().sum::<Duration>().as_millis() / ready.len().max(1) as u128,
        ready.iter().max().copied().unwrap_or_default().as_millis(),
    );
    assert!(
        acked.ratings.len() as u64 >= kills.min(3),
        "too little work was acknowledged to mean anything ({} ratings)",
        acked.ratings.len()
    );
    assert!(
        problems.is_empty(),
        "crash loop (seed {seed}; replay with CODEX_CRASH_LOOP_SEED={seed}): {} checks failed:\n\n{}\n\n\
         log of the recovered daemon:\n{}",
        problems.len(),
        problems.join("\n\n"),
        log1.lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
