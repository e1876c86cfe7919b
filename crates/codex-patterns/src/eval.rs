//! Replays a history online and scores the model against the baselines.
//!
//! Before each entry every predictor is asked for its top 5 (told the entry's time and
//! project, as the daemon would know them when asked), then the entry is revealed to all.
//! Nobody sees the future, so the figures are what a user would have got.

use serde::Serialize;

use crate::baselines::{Backoff3, Bigram, MostFrequent, MostRecent, Predictor};
use crate::{Interaction, Model};

/// How many predictions count: top-1, top-5 and the reciprocal rank within the top 5.
const K: usize = 5;

/// Accuracy of one predictor over a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Share of entries that were the first prediction.
    pub top1: f64,
    /// Share of entries among the first five predictions.
    pub top5: f64,
    /// Mean reciprocal rank within the first five (0 when absent).
    pub mrr: f64,
}

/// The baselines' scores, by name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Baselines {
    /// The last distinct entries, newest first.
    pub most_recent: Scores,
    /// The most frequent entries.
    pub most_frequent: Scores,
    /// What most often followed the last entry.
    pub bigram: Scores,
    /// Order-3 backoff with exponential recency decay.
    pub backoff3: Scores,
}

/// The outcome of a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Report {
    /// Entries replayed.
    pub entries: usize,
    /// The model's scores.
    pub model: Scores,
    /// The baselines' scores.
    pub baselines: Baselines,
}

impl Report {
    /// The mean over several histories (each user weighs the same), entries summed.
    pub fn mean(reports: &[Report]) -> Report {
        let n = reports.len().max(1) as f64;
        let avg = |f: &dyn Fn(&Report) -> Scores| {
            let mut s = Scores::default();
            for r in reports {
                let x = f(r);
                s.top1 += x.top1 / n;
                s.top5 += x.top5 / n;
                s.mrr += x.mrr / n;
            }
            s
        };
        Report {
            entries: reports.iter().map(|r| r.entries).sum(),
            model: avg(&|r| r.model),
            baselines: Baselines {
                most_recent: avg(&|r| r.baselines.most_recent),
                most_frequent: avg(&|r| r.baselines.most_frequent),
                bigram: avg(&|r| r.baselines.bigram),
                backoff3: avg(&|r| r.baselines.backoff3),
            },
        }
    }
}

/// Hits of one predictor, summed as the replay goes.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    top1: usize,
    top5: usize,
    rr: f64,
}

impl Tally {
    fn count(&mut self, top: &[&str], goal: &str) {
        if let Some(r) = top.iter().take(K).position(|&g| g == goal) {
            self.top1 += usize::from(r == 0);
            self.top5 += 1;
            self.rr += 1.0 / (r + 1) as f64;
        }
    }

    fn scores(&self, n: usize) -> Scores {
        let n = n.max(1) as f64;
        Scores {
            top1: self.top1 as f64 / n,
            top5: self.top5 as f64 / n,
            mrr: self.rr / n,
        }
    }
}

/// Replays `entries` (the first `limit` of them, if given) on fresh predictors, the model
/// reading times in UTC.
pub fn replay(entries: &[Interaction], limit: Option<usize>) -> Report {
    replay_with(Model::new(), entries, limit)
}

/// Like [`replay`], with a model of the caller's making (time zone, tuning).
pub fn replay_with<Tz: chrono::TimeZone>(
    model: Model<Tz>,
    entries: &[Interaction],
    limit: Option<usize>,
) -> Report {
    let entries = &entries[..limit.unwrap_or(entries.len()).min(entries.len())];
    let mut model = model;
    let mut most_recent = MostRecent::default();
    let mut most_frequent = MostFrequent::default();
    let mut bigram = Bigram::default();
    let mut backoff3 = Backoff3::default();
    let mut tallies = [Tally::default(); 5];
    {
        let mut predictors: [&mut dyn Predictor; 5] = [
            &mut model,
            &mut most_recent,
            &mut most_frequent,
            &mut bigram,
            &mut backoff3,
        ];
        for entry in entries {
            for (p, tally) in predictors.iter_mut().zip(&mut tallies) {
                let top = p.top(entry.at, entry.project.as_deref(), K);
                tally.count(&top, &entry.goal);
            }
            for p in &mut predictors {
                p.observe(entry);
            }
        }
    }
    let n = entries.len();
    Report {
        entries: n,
        model: tallies[0].scores(n),
        baselines: Baselines {
            most_recent: tallies[1].scores(n),
            most_frequent: tallies[2].scores(n),
            bigram: tallies[3].scores(n),
            backoff3: tallies[4].scores(n),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_plain;

    #[test]
    fn a_report_serializes_to_the_agreed_shape() {
        let r = replay(&parse_plain("ls\ncd\nls\ncd"), None);
        let json = serde_json::to_value(r).unwrap();
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&json), ["baselines", "entries", "model"]);
        assert_eq!(json["entries"], 4);
        assert_eq!(keys(&json["model"]), ["mrr", "top1", "top5"]);
        assert_eq!(
            keys(&json["baselines"]),
            ["backoff3", "bigram", "most_frequent", "most_recent"]
        );
        assert_eq!(keys(&json["baselines"]["bigram"]), ["mrr", "top1", "top5"]);
    }

    #[test]
    fn limit_replays_only_the_first_entries() {
        let r = replay(&parse_plain("ls\ncd\nls\ncd"), Some(2));
        assert_eq!(r.entries, 2);
        // The first entry is a miss for everyone; `cd` is new at the second.
        assert_eq!(r.model.top5, 0.0);
    }
}
