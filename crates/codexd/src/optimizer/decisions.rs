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
            Ok(mut l) => {
                l.push(b'\n');
                l
            }
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
