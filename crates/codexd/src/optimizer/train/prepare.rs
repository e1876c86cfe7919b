//! The data as the replays read it, worked out once per training: which signals are labelled
//! runs and what their labels are, the decisions in time order, the interactions' times; and
//! the time-ordered splits.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use codex_proto::types::{RunId, RunPart};

use super::{
    HELD_OUT_SHARE, MIN_HELD_OUT, MIN_LABELLED, MIN_VALIDATION, Split, TrainData, TrainError,
    VALIDATION_SHARE,
};
use crate::feedback::state::SignalKind;

/// A labelled run: a choice the user made (a command, or a plan's first step) whose outcome
/// was seen with learning on.
#[derive(Debug, Clone)]
pub(super) struct Example {
    /// When it finished.
    pub at: DateTime<Utc>,
    /// Exit 0 and not cancelled.
    pub success: bool,
    /// Its ratings (time, score) in the order they came; the latest before a split's end
    /// counts.
    pub ratings: Vec<(DateTime<Utc>, u8)>,
}

/// What a run says about the plan that ran: the label the metrics compare with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Label {
    /// (r − 1) / 4 for a rating r, else 1 for a success and 0 for a failure.
    pub y: f64,
    /// `Some(true)` for a clearly good run (rated 4 or 5, or unrated and worked),
    /// `Some(false)` for a clearly bad one (rated 1 or 2, or unrated and failed).
    pub good: Option<bool>,
}

impl Example {
    /// Its label as known before `until` (`None`: everything).
    pub fn label(&self, until: Option<DateTime<Utc>>) -> Label {
        let rated = self
            .ratings
            .iter()
            .rev()
            .find(|(at, _)| until.is_none_or(|u| *at < u));
        match rated {
            Some(&(_, score)) => Label {
                y: f64::from(score.clamp(1, 5) - 1) / 4.0,
                good: match score {
                    4.. => Some(true),
                    0..=2 => Some(false),
                    3 => None,
                },
            },
            None => Label {
                y: if self.success { 1.0 } else { 0.0 },
                good: Some(self.success),
            },
        }
    }
}

/// The data, indexed for replay.
#[derive(Debug)]
pub(super) struct Prepared<'a> {
    /// What was given.
    pub data: &'a TrainData,
    /// Labelled runs in the order of their outcome signals.
    pub examples: Vec<Example>,
    /// For each signal, the example it is the outcome of.
    pub example_of: Vec<Option<u32>>,
    /// Run id → example.
    pub by_run: HashMap<RunId, usize>,
    /// Plan decisions, in time order (indices into `TrainData::decisions`).
    pub plan_decisions: Vec<usize>,
    /// Suggestion decisions, in time order.
    pub goal_decisions: Vec<usize>,
    /// Interactions in time order (indices into `TrainData::interactions`): by their own
    /// time, else the last one known before them (an entry of a plain history stays where it
    /// came), ties in the order given.
    pub goal_order: Vec<usize>,
    /// The time of each of `goal_order`; `DateTime::MIN_UTC` before any time is known.
    pub goal_times: Vec<DateTime<Utc>>,
}

impl<'a> Prepared<'a> {
    /// Index `data`.
    pub fn new(data: &'a TrainData) -> Self {
        let mut examples = Vec::new();
        let mut example_of = vec![None; data.signals.len()];
        let mut by_run = HashMap::new();
        for (i, s) in data.signals.iter().enumerate() {
            if !s.learn {
                continue;
            }
            let Some(run) = s.run_id else { continue };
            match &s.kind {
                SignalKind::Outcome {
                    success,
                    cancelled,
                    part: RunPart::Whole,
                    ..
                } if !by_run.contains_key(&run) => {
                    by_run.insert(run, examples.len());
                    example_of[i] = u32::try_from(examples.len()).ok();
                    examples.push(Example {
                        at: s.at,
                        success: *success && !*cancelled,
                        ratings: Vec::new(),
                    });
                }
                SignalKind::Rating { score } => {
                    if let Some(&e) = by_run.get(&run) {
                        examples[e].ratings.push((s.at, *score));
                    }
                }
                _ => {}
            }
        }
        let by_time = |kind| {
            let mut v: Vec<usize> = (0..data.decisions.len())
                .filter(|&i| data.decisions[i].kind == kind)
                .collect();
            v.sort_by_key(|&i| data.decisions[i].at);
            v
        };
        let mut last = DateTime::<Utc>::MIN_UTC;
        let times: Vec<DateTime<Utc>> = data
            .interactions
            .iter()
            .map(|i| {
                if let Some(at) = i.at {
                    last = at;
                }
                last
            })
            .collect();
        let mut goal_order: Vec<usize> = (0..times.len()).collect();
        goal_order.sort_by_key(|&i| times[i]);
        let goal_times = goal_order.iter().map(|&i| times[i]).collect();
        Prepared {
            data,
            examples,
            example_of,
            by_run,
            plan_decisions: by_time(super::DecisionKind::Plan),
            goal_decisions: by_time(super::DecisionKind::Suggestion),
            goal_order,
            goal_times,
        }
    }

    /// The reward of a run for off-policy evaluation: its label before `until` (none when the
    /// run itself ended after it).
    pub fn reward_of(&self, run: RunId, until: Option<DateTime<Utc>>) -> Option<f64> {
        let ex = &self.examples[*self.by_run.get(&run)?];
        until.is_none_or(|u| ex.at < u).then(|| ex.label(until).y)
    }

    /// Labelled runs before `until`, sorted by time.
    fn times_before(&self, until: Option<DateTime<Utc>>) -> Vec<DateTime<Utc>> {
        let mut t: Vec<DateTime<Utc>> = self
            .examples
            .iter()
            .map(|e| e.at)
            .filter(|at| until.is_none_or(|u| *at < u))
            .collect();
        t.sort_unstable();
        t
    }

    /// The outer split: the most recent share of labelled runs held out, everything before
    /// them to train on.
    pub fn outer(&self) -> Result<Split, TrainError> {
        let times = self.times_before(None);
        if times.len() < MIN_LABELLED {
            return Err(TrainError::TooLittleData {
                have: times.len(),
                need: MIN_LABELLED,
                what: "labelled runs (runs that finished or were rated with learning on)",
            });
        }
        let split = cut(&times, HELD_OUT_SHARE, MIN_HELD_OUT, None);
        let train = times.partition_point(|t| *t < split.held_out_from);
        let need = MIN_LABELLED - MIN_HELD_OUT;
        if train < need {
            // Runs at the same moment are held out together: too many at the end.
            return Err(TrainError::TooLittleData {
                have: train,
                need,
                what: "labelled runs before the most recent ones held out for checking",
            });
        }
        Ok(split)
    }

    /// The search's own split inside the train part of `outer`: its most recent
    /// `VALIDATION_SHARE` is scored (each run before it is learned, as everywhere), nothing at
    /// or after the held-out part is read.
    pub fn inner(&self, outer: &Split) -> Result<Split, TrainError> {
        let times = self.times_before(Some(outer.held_out_from));
        let split = cut(
            &times,
            VALIDATION_SHARE,
            MIN_VALIDATION,
            Some(outer.held_out_from),
        );
        let before = times.partition_point(|t| *t < split.held_out_from);
        // Something to learn from before the scored runs, and enough scored runs.
        if times.len() < MIN_LABELLED - MIN_HELD_OUT
            || before < MIN_VALIDATION
            || times.len() - before < MIN_VALIDATION
        {
            return Err(TrainError::TooLittleData {
                have: times.len(),
                need: MIN_LABELLED - MIN_HELD_OUT,
                what: "labelled runs before the most recent ones held out for checking",
            });
        }
        Ok(split)
    }
}

/// Score the latest `share` of `times` (sorted), at least `min` of them.
fn cut(times: &[DateTime<Utc>], share: f64, min: usize, until: Option<DateTime<Utc>>) -> Split {
    let n = times.len();
    let share = (n as f64 * share).ceil() as usize;
    let held = share.max(min).min(n);
    let first = times
        .get(n - held)
        .copied()
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    Split {
        held_out_from: first,
        until,
    }
}
