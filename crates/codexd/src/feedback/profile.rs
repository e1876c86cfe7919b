//! The feedback state (ratings and outcome counts) and the profile derived from it.
//!
//! Counting rules, kept simple enough to check by hand: a program's success rate is
//! successes / runs; its mean rating is the plain mean of the current ratings of its runs
//! (a re-rating replaces the earlier score); overall satisfaction is the plain mean of all
//! current ratings plus an exponentially weighted mean in rating order, where the newest
//! rating weighs `satisfaction_smoothing`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use codex_proto::types::{ProgramPrefs, RunId, Satisfaction};
use serde::{Deserialize, Serialize};

use crate::store::journal::State;

/// The state behind `storage/analytics/personalized_feedback.json`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackState {
    /// The current rating of each rated run.
    pub ratings: BTreeMap<RunId, StoredRating>,
    /// Counts per program.
    pub programs: BTreeMap<String, ProgramStats>,
}

/// A rating as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRating {
    /// 1..5.
    pub score: u8,
    /// The user's comment.
    pub comment: Option<String>,
    /// When it was given.
    pub at: DateTime<Utc>,
    /// The rated run's program.
    pub program: String,
    /// The score included in the program's counts; differs from `score` when the rating
    /// came while learning was off (the profile stays frozen).
    pub counted: Option<u8>,
}

/// Counts for one program.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramStats {
    /// Runs recorded.
    pub runs: u64,
    /// Runs that exited 0.
    pub successes: u64,
    /// Ratings counted.
    pub ratings: u64,
    /// Sum of counted scores.
    pub rating_sum: u64,
}

/// A change to the feedback state. `learn` is decided when the signal arrives
/// (`user_preference_learning`), so replaying the journal gives the same profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FeedbackOp {
    /// A run finished: an implicit success or failure signal.
    Outcome {
        /// The run.
        run_id: RunId,
        /// Its program.
        program: String,
        /// Exit code 0.
        success: bool,
        /// When it finished.
        at: DateTime<Utc>,
        /// Whether it updates the profile.
        learn: bool,
    },
    /// An explicit rating.
    Rated {
        /// The run.
        run_id: RunId,
        /// Its program.
        program: String,
        /// 1..5.
        score: u8,
        /// The user's comment.
        comment: Option<String>,
        /// When it was given.
        at: DateTime<Utc>,
        /// Whether it updates the profile.
        learn: bool,
    },
}

impl State for FeedbackState {
    type Op = FeedbackOp;

    fn apply(&mut self, op: FeedbackOp) {
        match op {
            FeedbackOp::Outcome {
                program,
                success,
                learn,
                ..
            } => {
                if learn {
                    let p = self.programs.entry(program).or_default();
                    p.runs += 1;
                    p.successes += u64::from(success);
                }
            }
            FeedbackOp::Rated {
                run_id,
                program,
                score,
                comment,
                at,
                learn,
            } => {
                let before = self
                    .ratings
                    .get(&run_id)
                    .and_then(|r| r.counted.map(|c| (r.program.clone(), c)));
                let counted = if learn {
                    if let Some((prog, old)) = &before {
                        let p = self.programs.entry(prog.clone()).or_default();
                        p.ratings = p.ratings.saturating_sub(1);
                        p.rating_sum = p.rating_sum.saturating_sub(u64::from(*old));
                    }
                    let p = self.programs.entry(program.clone()).or_default();
                    p.ratings += 1;
                    p.rating_sum += u64::from(score);
                    Some(score)
                } else {
                    before.map(|(_, old)| old)
                };
                self.ratings.insert(
                    run_id,
                    StoredRating {
                        score,
                        comment,
                        at,
                        program,
                        counted,
                    },
                );
            }
        }
    }
}

/// What has been learned, as published to the rest of the daemon.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Per program, most runs first (ties by name).
    pub programs: Vec<ProgramPrefs>,
    /// Overall satisfaction.
    pub satisfaction: Satisfaction,
    /// Whether new signals update the profile.
    pub learning: bool,
}

impl Profile {
    /// Derive the profile from the state. `smoothing` is the newest rating's weight.
    pub fn build(state: &FeedbackState, smoothing: f64, learning: bool) -> Self {
        let mut programs: Vec<ProgramPrefs> = state
            .programs
            .iter()
            .filter(|(_, s)| s.runs > 0 || s.ratings > 0)
            .map(|(name, s)| ProgramPrefs {
                program: name.clone(),
                runs: s.runs,
                successes: s.successes,
                success_rate: if s.runs == 0 {
                    0.0
                } else {
                    s.successes as f64 / s.runs as f64
                },
                ratings: s.ratings,
                mean_rating: (s.ratings > 0).then(|| s.rating_sum as f64 / s.ratings as f64),
            })
            .collect();
        programs.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.program.cmp(&b.program)));

        let mut counted: Vec<(DateTime<Utc>, u8)> = state
            .ratings
            .values()
            .filter_map(|r| r.counted.map(|c| (r.at, c)))
            .collect();
        counted.sort();
        let n = counted.len() as u64;
        let mean =
            (n > 0).then(|| counted.iter().map(|(_, s)| f64::from(*s)).sum::<f64>() / n as f64);
        let recent = counted.iter().fold(None, |acc: Option<f64>, (_, s)| {
            let s = f64::from(*s);
            Some(acc.map_or(s, |prev| smoothing * s + (1.0 - smoothing) * prev))
        });
        Profile {
            programs,
            satisfaction: Satisfaction {
                ratings: n,
                mean,
                recent,
            },
            learning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(sec: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + sec, 0).unwrap()
    }

    fn outcome(id: u64, program: &str, success: bool, learn: bool) -> FeedbackOp {
        FeedbackOp::Outcome {
            run_id: RunId(id),
            program: program.into(),
            success,
            at: at(id as i64),
            learn,
        }
    }

    fn rated(id: u64, program: &str, score: u8, t: i64, learn: bool) -> FeedbackOp {
        FeedbackOp::Rated {
            run_id: RunId(id),
            program: program.into(),
            score,
            comment: None,
            at: at(t),
            learn,
        }
    }

    #[test]
    fn success_rate_and_mean_rating_per_program() {
        let mut s = FeedbackState::default();
        s.apply(outcome(1, "cargo", true, true));
        s.apply(outcome(2, "cargo", false, true));
        s.apply(outcome(3, "cargo", true, true));
        s.apply(outcome(4, "make", true, true));
        s.apply(rated(1, "cargo", 5, 10, true));
        s.apply(rated(2, "cargo", 2, 11, true));
        let p = Profile::build(&s, 0.5, true);
        let cargo = &p.programs[0];
        assert_eq!(
            (cargo.program.as_str(), cargo.runs, cargo.successes),
            ("cargo", 3, 2)
        );
        assert!((cargo.success_rate - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(cargo.mean_rating, Some(3.5));
        assert_eq!(p.programs[1].mean_rating, None);
        assert_eq!(p.satisfaction.mean, Some(3.5));
        // EWMA in time order: 5, then 2 with weight 0.5.
        assert_eq!(p.satisfaction.recent, Some(3.5));
    }

    #[test]
    fn re_rating_replaces_the_earlier_score() {
        let mut s = FeedbackState::default();
        s.apply(outcome(1, "git", true, true));
        s.apply(rated(1, "git", 1, 1, true));
        s.apply(rated(1, "git", 4, 2, true));
        let p = Profile::build(&s, 0.3, true);
        assert_eq!(
            (p.programs[0].ratings, p.programs[0].mean_rating),
            (1, Some(4.0))
        );
        assert_eq!(p.satisfaction.ratings, 1);
    }

    #[test]
    fn signals_while_learning_is_off_are_stored_but_change_nothing() {
        let mut s = FeedbackState::default();
        s.apply(outcome(1, "git", true, true));
        s.apply(rated(1, "git", 5, 1, true));
        let frozen = Profile::build(&s, 0.3, true);
        s.apply(outcome(2, "git", false, false));
        s.apply(rated(1, "git", 1, 2, false));
        s.apply(rated(2, "git", 1, 3, false));
        assert_eq!(Profile::build(&s, 0.3, true), frozen);
        assert_eq!(s.ratings.len(), 2);
        assert_eq!(s.ratings[&RunId(1)].score, 1);
    }
}
