//! The model planner's record: asks, plans, failures, latency and tokens, kept in
//! `storage/planner/model-planner.json` (written atomically after each ask) so `codex
//! status` shows them across restarts. A damaged file is moved aside and counting starts
//! over: these are figures, not the user's data.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use codex_proto::model_planner::{ModelAsk, ModelStats};
use serde::{Deserialize, Serialize};

/// Latencies kept for the median and the maximum.
const LATEST: usize = 100;

/// What is kept on disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    /// Times asked.
    pub asks: u64,
    /// Asks that gave a valid plan.
    pub plans: u64,
    /// Asks that failed.
    pub failures: u64,
    /// The last failure.
    pub last_failure: Option<String>,
    /// Latest latencies, in milliseconds, oldest first.
    pub latencies_ms: VecDeque<u64>,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Answer tokens.
    pub completion_tokens: u64,
    /// When last asked.
    pub last_asked: Option<DateTime<Utc>>,
}

impl Record {
    /// Count one ask.
    pub fn add(&mut self, ask: &ModelAsk, at: DateTime<Utc>) {
        // Counts read from a file may be anything: they stop at the top, never wrap or panic.
        self.asks = self.asks.saturating_add(1);
        if ask.ok {
            self.plans = self.plans.saturating_add(1);
        } else {
            self.failures = self.failures.saturating_add(1);
            self.last_failure = Some(ask.note.clone());
        }
        self.latencies_ms.push_back(ask.latency_ms);
        while self.latencies_ms.len() > LATEST {
            self.latencies_ms.pop_front();
        }
        self.prompt_tokens = self
            .prompt_tokens
            .saturating_add(ask.prompt_tokens.unwrap_or(0));
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(ask.completion_tokens.unwrap_or(0));
        self.last_asked = Some(at);
    }

    /// As `codex status` shows it.
    pub fn view(&self, endpoint: &str, mode: &str) -> ModelStats {
        let mut sorted: Vec<u64> = self.latencies_ms.iter().copied().collect();
        sorted.sort_unstable();
        ModelStats {
            endpoint: endpoint.to_string(),
            mode: mode.to_string(),
            asks: self.asks,
            plans: self.plans,
            failures: self.failures,
            last_failure: self.last_failure.clone(),
            latency_ms_median: sorted.get(sorted.len() / 2).copied(),
            latency_ms_max: sorted.last().copied(),
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            last_asked: self.last_asked,
        }
    }
}

/// The record and its file.
#[derive(Debug)]
pub struct Stats {
    path: PathBuf,
    /// What is counted.
    pub record: Record,
}

impl Stats {
    /// Read the record at `path`; a missing one starts empty, a damaged one is moved aside.
    pub fn open(path: &Path) -> Stats {
        let record = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Record>(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    let aside = path.with_extension("json.damaged");
                    let moved = std::fs::rename(path, &aside).is_ok();
                    tracing::warn!(
                        "{} is damaged ({e}); model planner figures start over{}",
                        path.display(),
                        if moved {
                            format!(" (the file is kept as {})", aside.display())
                        } else {
                            String::new()
                        }
                    );
                    Record::default()
                }
            },
            Err(_) => Record::default(),
        };
        Stats {
            path: path.to_path_buf(),
            record,
        }
    }

    /// Count one ask and write the record.
    pub fn add(&mut self, ask: &ModelAsk) {
        self.record.add(ask, Utc::now());
        let written = serde_json::to_vec_pretty(&self.record)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                crate::store::atomic::write_atomic(&self.path, &b).map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            tracing::warn!("cannot keep the model planner's figures: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(ok: bool, ms: u64) -> ModelAsk {
        ModelAsk {
            endpoint: "m at u".into(),
            ok,
            note: if ok {
                "ok".into()
            } else {
                "no answer within 1 s".into()
            },
            latency_ms: ms,
            tries: 1,
            prompt_tokens: Some(10),
            completion_tokens: Some(5),
        }
    }

    #[test]
    fn asks_are_counted_kept_and_a_damaged_file_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model-planner.json");
        let mut s = Stats::open(&path);
        s.add(&ask(true, 300));
        s.add(&ask(false, 1000));
        s.add(&ask(true, 100));
        let v = Stats::open(&path).record.view("m at u", "fallback");
        assert_eq!((v.asks, v.plans, v.failures), (3, 2, 1));
        assert_eq!(v.last_failure.as_deref(), Some("no answer within 1 s"));
        assert_eq!(
            (v.latency_ms_median, v.latency_ms_max),
            (Some(300), Some(1000))
        );
        assert_eq!((v.prompt_tokens, v.completion_tokens), (30, 15));
        std::fs::write(&path, b"{\"asks\": 18446744073709551615}").unwrap();
        let mut full = Stats::open(&path);
        full.add(&ask(false, 1));
        assert_eq!(full.record.asks, u64::MAX);
        std::fs::write(&path, b"{\"asks\": tru").unwrap();
        assert_eq!(Stats::open(&path).record, Record::default());
        assert!(dir.path().join("model-planner.json.damaged").exists());
    }
}
