//! The decision log (`storage/learning/decisions.jsonl`, append-only): every time a plan the
//! planner ranked ran, and every suggestion run, as (context, candidates, chosen, the
//! probability the ranking had of choosing it, the outcome known then). Ratings are joined by
//! run id when a model is trained. Candidate models are judged on it by inverse propensity
//! scoring before promotion.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use codex_proto::types::RunPart;
use tracing::{error, warn};

use super::train::{Decision, DecisionKind};
use crate::episode::{Episode, Trigger};
use crate::store::jsonl::Appender;

/// A suggestion list a run was started from, waiting for that run to finish.
#[derive(Debug, Clone)]
pub struct Suggested {
    /// When it was chosen.
    pub at: DateTime<Utc>,
    /// The folder.
    pub cwd: PathBuf,
    /// The goals shown, in order.
    pub candidates: Vec<String>,
    /// Which one ran.
    pub chosen: usize,
}

/// How long a chosen suggestion waits for its run.
const SUGGESTION_WAIT: chrono::Duration = chrono::Duration::minutes(10);

/// The log's writer, and suggestions waiting for their run.
#[derive(Debug)]
pub struct DecisionLog {
    file: Appender,
    waiting: Vec<Suggested>,
}

impl DecisionLog {
    /// The log at `path` (created on the first decision).
    pub fn new(path: PathBuf) -> Self {
        DecisionLog {
            file: Appender::new(path),
            waiting: Vec::new(),
        }
    }

    fn write(&mut self, d: &Decision) {
        let line = match serde_json::to_vec(d) {
            Ok(l) => l,
            Err(e) => {
                error!("cannot encode a decision: {e}");
                return;
            }
        };
        // Not fsynced: a decision lost to a crash loses one sample of an estimate, nothing
        // the user was told was kept.
        if let Err(e) = self.file.append_line(&line) {
            warn!("cannot log a decision: {e}");
        }
    }

    /// A suggestion was chosen; it is logged when its run finishes.
    pub fn suggested(&mut self, s: Suggested) {
        let now = Utc::now();
        self.waiting.retain(|w| now - w.at < SUGGESTION_WAIT);
        self.waiting.push(s);
    }

    /// A run finished: log the plan decision it carries, and the suggestion it came from.
    pub fn run(&mut self, e: &Episode) {
        // A plan's later steps and a planned dry run are not new choices.
        let first = e.part == RunPart::Whole;
        if let Some(src) = &e.plan_source
            && !src.candidates.is_empty()
            && first
        {
            let chosen = src.pick.saturating_sub(1) as usize;
            let d = Decision {
                at: e.started_at,
                kind: DecisionKind::Plan,
                run_id: Some(e.run_id),
                category: e.category.clone(),
                project: e.project.as_ref().map(|p| p.root.display().to_string()),
                candidates: src.candidates.clone(),
                chosen,
                propensity: src
                    .propensity
                    .unwrap_or(if chosen == 0 { 1.0 } else { 0.0 }),
                outcome: Some(if e.outcome.success() { 1.0 } else { 0.0 }),
            };
            self.write(&d);
        }
        if e.trigger == Trigger::Suggestion
            && let Some(i) = self.waiting.iter().position(|w| w.cwd == e.cwd)
        {
            let s = self.waiting.swap_remove(i);
            let d = Decision {
                at: s.at,
                kind: DecisionKind::Suggestion,
                run_id: Some(e.run_id),
                category: String::new(),
                project: e.project.as_ref().map(|p| p.root.display().to_string()),
                candidates: s.candidates,
                chosen: s.chosen,
                // Suggestions are ranked by the model's scores, deterministically.
                propensity: if s.chosen == 0 { 1.0 } else { 0.0 },
                outcome: Some(if e.outcome.success() { 1.0 } else { 0.0 }),
            };
            self.write(&d);
        }
    }
}

/// What `codex forget` drops from the log.
#[derive(Debug, Clone)]
pub enum Forget {
    /// Everything.
    All,
    /// The decisions of these runs, and those whose category or candidates match `goal` or
    /// whose project is `project`.
    Some {
        /// Forgotten runs.
        runs: Vec<codex_proto::types::RunId>,
        /// A `--goal` pattern.
        goal: Option<String>,
        /// A `--project` root.
        project: Option<String>,
    },
}

impl DecisionLog {
    /// Drop what is forgotten: the log is rewritten (atomically) without it.
    pub fn forget(&mut self, what: &Forget) -> Result<u64, crate::store::StoreError> {
        let path = self.file.path().to_path_buf();
        self.file.close();
        self.waiting.clear();
        let all = read(&path);
        let before = all.len();
        let keep: Vec<Decision> = match what {
            Forget::All => Vec::new(),
            Forget::Some {
                runs,
                goal,
                project,
            } => {
                let pattern = goal
                    .as_deref()
                    .and_then(|g| crate::learning::normalize::GoalPattern::new(g).ok());
                all.into_iter()
                    .filter(|d| {
                        let run = d.run_id.is_some_and(|r| runs.contains(&r));
                        let named = pattern.as_ref().is_some_and(|p| {
                            p.matches(&d.category) || d.candidates.iter().any(|c| p.matches(c))
                        });
                        let here = project.is_some() && d.project == *project;
                        !(run || named || here)
                    })
                    .collect()
            }
        };
        let mut bytes = Vec::new();
        for d in &keep {
            if let Ok(line) = serde_json::to_vec(d) {
                bytes.extend_from_slice(&line);
                bytes.push(b'\n');
            }
        }
        if path.exists() {
            crate::store::atomic::write_atomic(&path, &bytes)?;
        }
        self.file = Appender::new(path);
        Ok((before - keep.len()) as u64)
    }
}

/// Every decision in the log; lines that do not parse are skipped (a torn last line after a
/// crash), with a count in the log.
pub fn read(path: &Path) -> Vec<Decision> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut out = Vec::new();
    let mut bad = 0u64;
    for line in std::io::BufRead::split(reader, b'\n') {
        let Ok(line) = line else { break };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Decision>(&line) {
            Ok(d) => out.push(d),
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        warn!(file = %path.display(), lines = bad, "decision log lines that do not parse were skipped");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_proto::types::RunId;

    fn decision(run: u64, category: &str, project: Option<&str>) -> Decision {
        Decision {
            at: DateTime::UNIX_EPOCH,
            kind: DecisionKind::Plan,
            run_id: Some(RunId(run)),
            category: category.into(),
            project: project.map(str::to_string),
            candidates: vec!["cargo test".into(), "cargo nextest run".into()],
            chosen: 0,
            propensity: 1.0,
            outcome: Some(1.0),
        }
    }

    #[test]
    fn the_log_reads_back_skips_torn_lines_and_forgets_what_is_forgotten() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("decisions.jsonl");
        let mut log = DecisionLog::new(path.clone());
        log.write(&decision(1, "run the tests", Some("/src/a")));
        log.write(&decision(2, "build", Some("/src/b")));
        log.write(&decision(3, "build", Some("/src/a")));
        // A crash mid-line.
        let mut torn = std::fs::read(&path).unwrap_or_default();
        torn.extend_from_slice(b"{\"at\":\"2026");
        std::fs::write(&path, &torn).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&path).len(), 3);

        let gone = log
            .forget(&Forget::Some {
                runs: vec![RunId(2)],
                goal: Some("run the tests".into()),
                project: None,
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(gone, 2);
        let left = read(&path);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].run_id, Some(RunId(3)));
        // Appends after a rewrite land in the new file.
        log.write(&decision(4, "lint", None));
        assert_eq!(read(&path).len(), 2);
        log.forget(&Forget::Some {
            runs: Vec::new(),
            goal: None,
            project: Some("/src/a".into()),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&path).len(), 1);
        log.forget(&Forget::All).unwrap_or_else(|e| panic!("{e}"));
        assert!(read(&path).is_empty());
    }
}
