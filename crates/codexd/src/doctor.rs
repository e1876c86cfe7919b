//! `codexd --check-storage`: read every storage file as the daemon would at start, and say
//! what it would find and do, without changing anything.
//!
//! Read-only by construction: files are only opened for reading, nothing is repaired, moved
//! aside or created, and no lock is taken, so it is safe while a daemon runs (a journal line
//! being appended at that moment may show as an incomplete last line). The daemon's own
//! loaders ([`crate::store::journal::Journaled::open`], the dataset's tail repair) repair as
//! they read, so this module parses with the same stored types ([`State`] and its `Op`, the
//! dataset's [`Record`] through [`dataset::for_each`]) instead.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::executor::rules::RuleBook;
use crate::feedback::state::FeedbackState;
use crate::learning::dataset::{self, Record};
use crate::learning::knowledge::Knowledge;
use crate::learning::memory::EpisodicMemory;
use crate::planner::playbooks::PlaybookBook;
use crate::store::Layout;
use crate::store::journal::{State, journal_path};

/// The snapshot format this daemon reads (see `store::journal`).
const FORMAT: u32 = 1;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Nothing to do.
    Ok,
    /// Worth knowing; the daemon copes with it by itself.
    Warn,
    /// Something the user should act on (or that the daemon will repair by moving a file
    /// aside, losing what only that file held).
    Problem,
}

/// One file or folder looked at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// The file or folder.
    pub path: PathBuf,
    /// What it holds, in words ("feedback snapshot").
    pub what: String,
    /// The verdict.
    pub health: Health,
    /// What was found.
    pub detail: String,
    /// What to do about it, when anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Everything found under one CODEX_HOME.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// CODEX_HOME.
    pub home: PathBuf,
    /// Every check, folders first, then each store's snapshot and journal, then the dataset.
    pub checks: Vec<Check>,
}

impl Report {
    /// How many checks found a problem.
    pub fn problems(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.health == Health::Problem)
            .count()
    }
}

/// Check every storage file of `layout`, reading only.
pub fn check(layout: &Layout) -> Report {
    let mut checks = Vec::new();
    let home_exists = layout.home.is_dir();
    checks.push(folder(&layout.home, "CODEX_HOME"));
    if home_exists {
        let mut dirs: Vec<&Path> = [
            &layout.feedback,
            &layout.episodic,
            &layout.semantic,
            &layout.dataset,
            &layout.safety_rules,
            &layout.playbooks,
            &layout.jobs,
            &layout.optimizer,
            &layout.decisions,
        ]
        .into_iter()
        .filter_map(|p| p.parent())
        .chain([layout.models.as_path()])
        .collect();
        dirs.sort();
        dirs.dedup();
        for dir in &dirs {
            if dir.exists() {
                checks.push(folder(dir, "storage folder"));
            }
        }
        journaled::<FeedbackState>(&mut checks, &layout.feedback, "feedback (ratings, signals)");
        journaled::<EpisodicMemory>(&mut checks, &layout.episodic, "episodic memory (runs)");
        journaled::<Knowledge>(&mut checks, &layout.semantic, "semantic knowledge");
        journaled::<RuleBook>(
            &mut checks,
            &layout.safety_rules,
            "your allow/ask/deny rules",
        );
        journaled::<PlaybookBook>(&mut checks, &layout.playbooks, "taught playbooks");
        journaled::<crate::scheduler::jobs::Jobs>(
            &mut checks,
            &layout.jobs,
            "scheduled jobs and their claims",
        );
        journaled::<crate::optimizer::state::Optimizer>(
            &mut checks,
            &layout.optimizer,
            "the optimizer's alerts and notices",
        );
        checks.push(dataset_check(&layout.dataset));
        checks.push(decisions_check(&layout.decisions));
        checks.extend(model_planner_check(&layout.model_planner));
        checks.extend(models_check(&layout.models));
        checks.push(run_id_mark(&layout.home.join("storage").join("run_ids")));
        for dir in &dirs {
            checks.extend(moved_aside(dir));
        }
    }
    Report {
        home: layout.home.clone(),
        checks,
    }
}

fn ok(path: &Path, what: &str, detail: impl Into<String>) -> Check {
    Check {
        path: path.to_path_buf(),
        what: what.to_string(),
        health: Health::Ok,
        detail: detail.into(),
        fix: None,
    }
}

fn bad(path: &Path, what: &str, health: Health, detail: String, fix: String) -> Check {
    Check {
        path: path.to_path_buf(),
        what: what.to_string(),
        health,
        detail,
        fix: Some(fix),
    }
}

/// A folder: it must be the user's own and closed to others (mode 0700).
fn folder(dir: &Path, what: &str) -> Check {
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => bad(
            dir,
            what,
            Health::Problem,
            "is not a folder".into(),
            format!("move it away; codexd creates {} at start", dir.display()),
        ),
        Ok(m) => private(dir, what, &m, 0o700).unwrap_or_else(|| ok(dir, what, "private (0700)")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ok(
            dir,
            what,
            "does not exist yet (codexd creates it at its first start)",
        ),
        Err(e) => unreadable(dir, what, &e),
    }
}

/// `Some(problem)` when `m` is not the user's own or is open to others beyond `mode`.
fn private(path: &Path, what: &str, m: &std::fs::Metadata, mode: u32) -> Option<Check> {
    let uid = rustix::process::geteuid().as_raw();
    if m.uid() != uid {
        return Some(bad(
            path,
            what,
            Health::Problem,
            format!("belongs to uid {}, not to you (uid {uid})", m.uid()),
            format!("chown {uid} {}", path.display()),
        ));
    }
    let perm = m.permissions().mode() & 0o777;
    (perm & 0o077 != 0).then(|| {
        bad(
            path,
            what,
            Health::Problem,
            format!("mode {perm:04o}: others can read what codex recorded about you"),
            format!("chmod {mode:04o} {}", path.display()),
        )
    })
}

fn unreadable(path: &Path, what: &str, e: &std::io::Error) -> Check {
    bad(
        path,
        what,
        Health::Problem,
        format!("cannot be read ({e}); codexd stops at start naming this file"),
        format!(
            "make it yours and readable: chown $(id -u) {0} && chmod 600 {0}",
            path.display()
        ),
    )
}

use crate::store::journal::SnapshotIn;

/// The journal's first line: the snapshot seq it continues from.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    base: u64,
}

/// What the snapshot told about its journal.
#[derive(Debug, Clone, Copy, Default)]
struct SnapshotSeen {
    found: bool,
    seq: u64,
    headed: bool,
}

#[derive(Deserialize)]
struct EntryIn<O> {
    seq: u64,
    #[allow(dead_code)] // parsed to prove the line would replay, not used
    op: O,
}

/// A snapshot and its journal, parsed with the store's own types.
fn journaled<S: State>(checks: &mut Vec<Check>, snapshot: &Path, what: &str) {
    let snap_what = format!("{what}: snapshot");
    let (check, seen) = snapshot_check::<S>(snapshot, &snap_what);
    checks.push(check);
    let jpath = journal_path(snapshot);
    checks.push(journal_check::<S>(
        &jpath,
        &format!("{what}: journal"),
        seen,
    ));
}

fn snapshot_check<S: State>(path: &Path, what: &str) -> (Check, SnapshotSeen) {
    let none = SnapshotSeen::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (ok(path, what, "none yet (nothing folded in so far)"), none);
        }
        Err(e) => return (unreadable(path, what, &e), none),
    };
    if let Some(problem) = file
        .metadata()
        .ok()
        .and_then(|m| private(path, what, &m, 0o600))
    {
        return (problem, none);
    }
    let parsed =
        serde_json::from_reader::<_, SnapshotIn<S>>(BufReader::with_capacity(1 << 16, file));
    let moved = "at its next start codexd moves it aside (NAME.corrupt-TIME) and starts from \
                 its journal and the other files; to keep a copy first, stop the daemon \
                 (`codex daemon stop`) and copy the file";
    match parsed {
        Ok(s) if s.format == FORMAT => {
            drop(s.state);
            let seen = SnapshotSeen {
                found: true,
                seq: s.seq,
                headed: s.headed,
            };
            (ok(path, what, format!("parses (seq {})", s.seq)), seen)
        }
        Ok(s) => (
            bad(
                path,
                what,
                Health::Problem,
                format!(
                    "has format {} (this codexd reads {FORMAT}): written by another version",
                    s.format
                ),
                format!("use the codexd that wrote it, or: {moved}"),
            ),
            none,
        ),
        Err(e) if e.is_io() => (unreadable(path, what, &std::io::Error::other(e)), none),
        Err(e) => (
            bad(
                path,
                what,
                Health::Problem,
                format!("does not parse: {e}"),
                moved.into(),
            ),
            none,
        ),
    }
}

/// Lines of a JSONL file: how many, which did not parse, and whether the last one is torn
/// (no newline, or not JSON), as the daemon's tail repair judges it.
#[derive(Debug, Default)]
struct Lines {
    total: u64,
    bad_middle: Vec<u64>,
    torn_tail: bool,
}

impl Lines {
    /// Note a line that does not parse; `true` when it counts as torn if it turns out to be
    /// the last one. A complete line of valid JSON that is no record is never torn: the tail
    /// repair keeps it, and reading it fails wherever it is.
    fn judge_bad(&mut self, complete: bool, text: &[u8]) -> bool {
        let json = serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok();
        if complete && json {
            self.bad_middle.push(self.total);
            return false;
        }
        true
    }
}

const JOURNAL_FIX: &str = "at its next start codexd keeps every line that parses, moves the \
                           damaged file aside (NAME.corrupt-TIME) and writes what it kept \
                           afresh; stop the daemon and copy the file first if you want to \
                           repair it by hand";

const DATASET_FIX: &str = "at its next start codexd keeps the file as it is aside \
                           (NAME.corrupt-TIME) and rewrites the dataset with every line that \
                           parses; stop the daemon first if you want to repair it by hand";

const EMPTIED_FIX: &str = "nothing to recover it from: codexd starts from the snapshot \
                           alone (and says so in its log); a disk that was full when it was \
                           first written also leaves it so";

fn journal_check<S: State>(path: &Path, what: &str, snap: SnapshotSeen) -> Check {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A journal is never removed once its snapshot says it has one.
            if snap.found && snap.headed {
                return bad(
                    path,
                    what,
                    Health::Problem,
                    "is missing beside a snapshot that has one: the changes since the \
                     snapshot (if any) are lost"
                        .into(),
                    EMPTIED_FIX.into(),
                );
            }
            return ok(path, what, "none yet");
        }
        Err(e) => return unreadable(path, what, &e),
    };
    let snapshot_seq = snap.seq;
    if let Some(problem) = file
        .metadata()
        .ok()
        .and_then(|m| private(path, what, &m, 0o600))
    {
        return problem;
    }
    let mut lines = Lines::default();
    let mut replay = 0u64;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    let mut last_bad = false;
    let mut base = None;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return unreadable(path, what, &e),
        }
        let complete = line.last() == Some(&b'\n');
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.is_empty() {
            continue;
        }
        lines.total += 1;
        if last_bad {
            // The bad line was not the last one after all.
            lines.bad_middle.push(lines.total - 1);
        }
        if lines.total == 1
            && complete
            && let Ok(h) = serde_json::from_slice::<Header>(text)
        {
            base = Some(h.base);
            continue;
        }
        match serde_json::from_slice::<EntryIn<S::Op>>(text) {
            Ok(entry) if complete => {
                last_bad = false;
                replay += u64::from(entry.seq > snapshot_seq);
            }
            _ => last_bad = lines.judge_bad(complete, text),
        }
    }
    lines.torn_tail = last_bad;
    if lines.total == 0 {
        return bad(
            path,
            what,
            Health::Problem,
            "is empty, though a journal always keeps its header: the changes since the \
             snapshot (if any) are lost"
                .into(),
            EMPTIED_FIX.into(),
        );
    }
    if let Some(b) = base.filter(|&b| b > snapshot_seq) {
        return bad(
            path,
            what,
            Health::Problem,
            format!(
                "continues from change {b}, but the snapshot holds changes up to {snapshot_seq} \
                 only: the {} changes between them are lost",
                b - snapshot_seq
            ),
            "nothing to recover them from: codexd starts from what both files hold".into(),
        );
    }
    let ops = lines.total - u64::from(base.is_some());
    lines_verdict(
        path,
        what,
        &lines,
        &format!("{ops} change(s), {replay} to replay on start"),
        JOURNAL_FIX,
    )
}

fn lines_verdict(path: &Path, what: &str, lines: &Lines, good: &str, fix: &str) -> Check {
    if let Some(first) = lines.bad_middle.first() {
        return bad(
            path,
            what,
            Health::Problem,
            format!(
                "{} of {} lines do not parse (first: line {first})",
                lines.bad_middle.len(),
                lines.total
            ),
            fix.into(),
        );
    }
    if lines.torn_tail {
        return bad(
            path,
            what,
            Health::Warn,
            format!(
                "the last of {} lines is incomplete (a crash, or a write in progress)",
                lines.total
            ),
            "nothing to do: codexd cuts an incomplete last line off at its next start".into(),
        );
    }
    ok(path, what, format!("{} lines parse ({good})", lines.total))
}

fn dataset_check(path: &Path) -> Check {
    let what = "learning dataset";
    match File::open(path) {
        Ok(f) => {
            if let Some(problem) = f
                .metadata()
                .ok()
                .and_then(|m| private(path, what, &m, 0o600))
            {
                return problem;
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return ok(path, what, "none yet (no run recorded so far)");
        }
        Err(e) => return unreadable(path, what, &e),
    }
    let mut lines = Lines::default();
    let mut last_bad = false;
    let mut examples = 0u64;
    let visited = dataset::for_each(path, |_, record| {
        lines.total += 1;
        if last_bad {
            lines.bad_middle.push(lines.total - 1);
        }
        // The dataset's tail repair cuts any last line that is no record (not only a torn
        // one); whether the last line had its newline is checked below.
        last_bad = record.is_none();
        examples += u64::from(matches!(record, Some(Record::Example(_))));
        Ok(())
    });
    if let Err(e) = visited {
        return unreadable(path, what, &std::io::Error::other(e));
    }
    // `for_each` drops the newline; a last line without one is torn even when it parses.
    lines.torn_tail = last_bad || !ends_with_newline(path);
    lines_verdict(path, what, &lines, &format!("{examples} runs"), DATASET_FIX)
}

fn decisions_check(path: &Path) -> Check {
    let what = "decision log";
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return ok(path, what, "none yet (no planned run so far)");
        }
        Err(e) => return unreadable(path, what, &e),
    };
    let mut lines = Lines::default();
    let parts: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    let complete = text.ends_with(b"\n");
    for (i, line) in parts.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        lines.total += 1;
        let parses = serde_json::from_slice::<crate::optimizer::train::Decision>(line).is_ok();
        let last = i + 1 == parts.len();
        if last && (!complete || !parses) {
            lines.torn_tail = true;
        } else if !parses {
            lines.bad_middle.push(lines.total);
        }
    }
    lines_verdict(
        path,
        what,
        &lines,
        "decisions",
        "lines that do not parse are skipped when a model is trained; `codex forget --all` \
         empties the log",
    )
}

/// The language-model planner's figures, when there are any.
fn model_planner_check(path: &Path) -> Option<Check> {
    let what = "language-model planner figures";
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(unreadable(path, what, &e)),
    };
    Some(
        match serde_json::from_slice::<crate::planner::llm::stats::Record>(&bytes) {
            Ok(r) => ok(
                path,
                what,
                format!("{} asks, {} failed", r.asks, r.failures),
            ),
            Err(e) => bad(
                path,
                what,
                Health::Problem,
                format!("does not parse: {e}"),
                "codexd moves it aside at its next start and counts from zero (figures only: \
                 nothing you taught or rated is in it)"
                    .into(),
            ),
        },
    )
}

/// Each personal model file and `live.json`, read as codexd reads them (never moved here).
fn models_check(dir: &Path) -> Vec<Check> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    names.sort();
    for path in names {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let what = "personal model";
        if name == "live.json" {
            let parsed = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    serde_json::from_slice::<crate::optimizer::models::LiveFile>(&b)
                        .map_err(|e| e.to_string())
                });
            checks.push(match parsed {
                Ok(l) => ok(
                    &path,
                    "live personal model",
                    match l.live {
                        Some(v) => format!("v{v} is live"),
                        None => "the config's parameters are used".into(),
                    },
                ),
                Err(e) => bad(
                    &path,
                    "live personal model",
                    Health::Problem,
                    format!("does not parse: {e}"),
                    "codexd moves it aside at its next start and uses the config's parameters; \
                     `codex model promote V` picks one again"
                        .into(),
                ),
            });
            continue;
        }
        let Some(v) = name
            .strip_prefix("model-")
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        checks.push(match crate::optimizer::models::read_model(&path, v) {
            Ok(_) => ok(&path, what, format!("v{v} reads")),
            Err(why) => bad(
                &path,
                what,
                Health::Problem,
                format!("v{v} {why}"),
                "codexd moves it aside at its next start; the model live before it (or the \
                 config's parameters) is used"
                    .into(),
            ),
        });
    }
    checks
}

fn ends_with_newline(path: &Path) -> bool {
    let Ok(mut f) = File::open(path) else {
        return true;
    };
    let mut last = [0u8; 1];
    match f.seek(SeekFrom::End(-1)) {
        Ok(_) => f.read_exact(&mut last).is_ok() && last[0] == b'\n',
        Err(_) => true, // empty
    }
}

/// The run id high-water mark (executor/run_ids.rs): one number.
fn run_id_mark(path: &Path) -> Check {
    let what = "run id mark";
    match std::fs::read_to_string(path) {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(n) => ok(path, what, format!("ids below {n} are taken")),
            Err(_) => bad(
                path,
                what,
                Health::Warn,
                "does not hold a number".into(),
                "nothing to do: codexd takes its next id from above every id episodic memory \
                 and the dataset hold, and writes the mark afresh"
                    .into(),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ok(path, what, "none yet (no run id handed out so far)")
        }
        Err(e) => unreadable(path, what, &e),
    }
}

/// Files an earlier start moved aside: kept for the user, never read again.
fn moved_aside(dir: &Path) -> Vec<Check> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".corrupt-"))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|p| {
            bad(
                &p,
                "moved aside by an earlier start",
                Health::Warn,
                "did not parse when codexd started; the daemon no longer reads it".into(),
                format!(
                    "look at it if you miss something, then delete it: rm {}",
                    p.display()
                ),
            )
        })
        .collect()
}

/// The report as lines for a terminal.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let mark = match c.health {
            Health::Ok => "ok     ",
            Health::Warn => "warn   ",
            Health::Problem => "PROBLEM",
        };
        out.push_str(&format!(
            "{mark} {}: {} ({})\n",
            c.what,
            c.detail,
            c.path.display()
        ));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("        fix: {fix}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::config::StorageConfig;

    fn layout(home: &Path) -> Layout {
        let l = Layout::new(home, &StorageConfig::default());
        l.create_dirs().unwrap();
        l
    }

    /// Every byte of every file under `dir`, with its name.
    fn snapshot_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    fn health_of(r: &Report, path: &Path) -> Health {
        r.checks
            .iter()
            .find(|c| c.path == path)
            .map(|c| c.health)
            .unwrap()
    }

    #[test]
    fn an_empty_home_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        crate::store::private_dir(&home).unwrap();
        let r = check(&layout(&home));
        assert_eq!(r.problems(), 0, "{}", render(&r));
    }

    #[test]
    fn damage_is_reported_and_nothing_is_changed() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        crate::store::private_dir(&home).unwrap();
        let l = layout(&home);
        let write = |p: &Path, b: &[u8]| {
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(p)
                .unwrap();
            std::io::Write::write_all(&mut f, b).unwrap();
        };
        write(&l.feedback, b"{ not json");
        write(
            &journal_path(&l.episodic),
            b"{\"seq\":1,\"op\":{\"op\":\"nope\"}}\nGARBAGE\n{\"seq\":2,\"op\":",
        );
        write(&l.dataset, b"{\"type\":\"label\",\"run_id\":1,\"at\":\"2026-01-01T00:00:00Z\",\"score\":3}\n{\"type\":");
        let before = snapshot_of(&home);
        let r = check(&l);
        assert_eq!(snapshot_of(&home), before, "the check changed a file");
        assert_eq!(
            health_of(&r, &l.feedback),
            Health::Problem,
            "{}",
            render(&r)
        );
        assert_eq!(
            health_of(&r, &journal_path(&l.episodic)),
            Health::Problem,
            "{}",
            render(&r)
        );
        assert_eq!(health_of(&r, &l.dataset), Health::Warn, "{}", render(&r));
        assert_eq!(r.problems(), 2, "{}", render(&r));
    }

    #[test]
    fn files_open_to_others_are_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        crate::store::private_dir(&home).unwrap();
        let l = layout(&home);
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        let r = check(&l);
        assert_eq!(health_of(&r, &home), Health::Problem, "{}", render(&r));
        let fix = r.checks[0].fix.clone().unwrap();
        assert!(fix.starts_with("chmod 0700"), "{fix}");
    }
}
