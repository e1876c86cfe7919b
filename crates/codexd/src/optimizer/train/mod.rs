//! Personal models: the parameters that decide how codex learns from one user, fitted to that
//! user's own data, checked on their most recent runs, and promoted only when not worse than
//! what is live. Pure: no runtime, no files; the caller gathers the data and stores the
//! result.
//!
//! Layout:
//! - [`params`] — [`Learned`], what a personal model sets, and how it maps onto the feedback
//!   model's and the next-goal model's parameters.
//! - [`decision`] — [`Decision`], one logged choice of the planner or the suggestions.
//! - `prepare` — the data indexed once: labelled runs and their labels, the time-ordered
//!   splits.
//! - `plan_eval` — plan choice replayed signal by signal: log-likelihood, Brier, top-1.
//! - `goal_eval` — the next goal replayed: top-1, top-5.
//! - [`ope`] — inverse propensity scoring of logged decisions (IPS, SNIPS).
//! - `search` — the coordinate search, on the train part only.
//! - [`verdict`] — the promotion rule.
//! - [`simulate`] — seeded simulated users, for tests and benchmarks.
//!
//! Honesty: labelled runs are split by time. The most recent [`HELD_OUT_SHARE`] (at least
//! [`MIN_HELD_OUT`]) are held out; the search sees only what came before them, and chooses on
//! its own validation split, the most recent share of that. The held-out metrics are computed
//! once, at the end, for the candidate and for the live parameters alike. Every replay folds
//! signals in the order they came and scores a run from the signals before it, as the daemon
//! would have.

use std::sync::atomic::{AtomicBool, AtomicU32};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::feedback::model::Params;
use crate::feedback::state::Signal;

pub mod decision;
mod goal_eval;
pub mod ope;
pub mod params;
mod plan_eval;
mod prepare;
mod search;
pub mod simulate;
#[cfg(test)]
mod tests;
pub mod verdict;

pub use decision::{Decision, DecisionKind};
pub use goal_eval::GoalMetrics;
pub use ope::Ope;
pub use params::{Learned, PatternWeights};
pub use plan_eval::PlanMetrics;
pub use verdict::{Noise, Verdict};

/// Labelled runs needed to train at all: [`MIN_HELD_OUT`] to check the result on, and 40
/// before those for the search: at least [`MIN_VALIDATION`] to choose on, the rest to learn
/// from first.
pub const MIN_LABELLED: usize = 50;
/// Held-out runs, at least: with fewer, one run moves top-1 agreement by more than ten points.
pub const MIN_HELD_OUT: usize = 10;
/// Runs the search validates on, at least.
pub const MIN_VALIDATION: usize = 10;
/// The share of the most recent labelled runs held out.
pub const HELD_OUT_SHARE: f64 = 0.2;
/// The share of the train part the search scores its candidates on: the most recent half
/// (every run is scored before it is learned, so the older half is only the start the
/// replay learns from; more runs scored is less noise in what the search chooses).
pub const VALIDATION_SHARE: f64 = 0.5;
/// Interactions before the held-out part needed to fit the next-goal weights.
pub const MIN_INTERACTIONS: usize = 200;

/// Everything a personal model is trained on.
#[derive(Debug, Clone, Default)]
pub struct TrainData {
    /// The feedback signals, in the order they came (as journaled).
    pub signals: Vec<Signal>,
    /// The logged decisions of the planner and the suggestions.
    pub decisions: Vec<Decision>,
    /// The commands and goals run, for the next-goal model, in the order they came.
    pub interactions: Vec<codex_patterns::Interaction>,
    /// The config's learning parameters; the fitted ones are set on these (the correction
    /// window and satisfaction smoothing stay as configured).
    pub base: Params,
}

/// A time-ordered split of the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Labelled runs (and decisions, interactions) at or after this time are scored.
    pub held_out_from: DateTime<Utc>,
    /// Nothing at or after this time is read: signals, ratings, decisions, interactions
    /// (`None`: everything). The search's split ends where the held-out part begins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

impl Split {
    /// The split training uses: the most recent share of labelled runs held out.
    pub fn time_ordered(data: &TrainData) -> Result<Split, TrainError> {
        prepare::Prepared::new(data).outer()
    }
}

/// A model's held-out metrics, stored beside it in its model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Plan choice against the user's ratings and outcomes.
    pub plan: PlanMetrics,
    /// The next goal, when there were interactions to score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_goal: Option<GoalMetrics>,
    /// The planner's logged decisions, weighed for this model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ope: Option<Ope>,
    /// The suggestions' logged decisions, weighed for this model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion_ope: Option<Ope>,
}

/// What the data covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRange {
    /// The first labelled run.
    pub from: DateTime<Utc>,
    /// The last labelled run.
    pub to: DateTime<Utc>,
    /// Labelled runs in all.
    pub examples: usize,
    /// Of those, held out.
    pub held_out: usize,
    /// Where the held-out part begins.
    pub held_out_from: DateTime<Utc>,
}

/// The outcome of a training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trained {
    /// The fitted parameters.
    pub learned: Learned,
    /// Their metrics on the held-out part.
    pub candidate: Metrics,
    /// The live parameters' metrics on the same held-out part.
    pub live: Metrics,
    /// The fitted parameters' metrics on the search's validation part (seen while fitting).
    pub train: Metrics,
    /// What the data covered.
    pub range: DataRange,
    /// How far apart the candidate's and the live model's held-out figures may be by chance.
    pub noise: Noise,
    /// Promoted or rejected, and why.
    pub verdict: Verdict,
}

/// Why a training did not finish.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Not enough of the user's own data to fit and check a model.
    #[error(
        "too little data to train a personal model: {have} {what}, at least {need} needed; \
         keep using codex (run and rate commands) and train again later"
    )]
    TooLittleData {
        /// How many there are.
        have: usize,
        /// How many are needed.
        need: usize,
        /// What is counted.
        what: &'static str,
    },
    /// The caller asked to stop.
    #[error("training was cancelled before it finished; nothing was changed")]
    Cancelled,
    /// The live parameters the search starts from are not usable.
    #[error("the live learning parameters are not valid ({0}); fix the config and train again")]
    InvalidLive(String),
}

/// Fits a personal model to `data`, starting from the `live` parameters, and judges it
/// against them on the held-out part. `progress` is set to the percentage done as the search
/// goes; `cancel` is read between evaluations.
pub fn train(
    data: &TrainData,
    live: &Learned,
    progress: &AtomicU32,
    cancel: &AtomicBool,
) -> Result<Trained, TrainError> {
    live.validate().map_err(TrainError::InvalidLive)?;
    let prep = prepare::Prepared::new(data);
    let outer = prep.outer()?;
    let inner = prep.inner(&outer)?;
    let goals = fits_goals(&prep, &inner, &outer);
    let progress = search::Progress::new(progress, cancel, search::planned(goals));
    progress.check()?;
    let learned = search::fit(&prep, &inner, live, data.base, goals, &progress)?;
    let jobs = [(&learned, outer), (live, outer), (&learned, inner)];
    let mut out = Vec::with_capacity(jobs.len());
    // The three final replays at once: they are the longest (every signal, every interaction).
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(l, split)| {
                let (prep, progress) = (&prep, &progress);
                s.spawn(move || {
                    let m = evaluate_prepared(prep, split, l);
                    progress.tick();
                    m
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(m) => out.push(m),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
    });
    progress.check()?;
    let mut out = out.into_iter();
    let (Some((candidate, c)), Some((live_metrics, l)), Some((train_metrics, _))) =
        (out.next(), out.next(), out.next())
    else {
        return Err(TrainError::Cancelled);
    };
    let goal_hits = |v: &[f64], top: f64| {
        v.iter()
            .map(|h| f64::from(u8::from(*h >= top)))
            .collect::<Vec<f64>>()
    };
    let noise = Noise {
        brier: verdict::paired_se(&c.brier, &l.brier),
        top1: verdict::paired_se(&c.agree, &l.agree),
        next_top1: verdict::paired_se(&goal_hits(&c.goal, 2.0), &goal_hits(&l.goal, 2.0)),
        next_top5: verdict::paired_se(&goal_hits(&c.goal, 1.0), &goal_hits(&l.goal, 1.0)),
    };
    let held_out = prep
        .examples
        .iter()
        .filter(|e| e.at >= outer.held_out_from)
        .count();
    let range = DataRange {
        from: prep.examples.iter().map(|e| e.at).min().unwrap_or_default(),
        to: prep.examples.iter().map(|e| e.at).max().unwrap_or_default(),
        examples: prep.examples.len(),
        held_out,
        held_out_from: outer.held_out_from,
    };
    let verdict = verdict::judge(&candidate, &live_metrics, &noise);
    progress.finish();
    Ok(Trained {
        learned,
        candidate,
        live: live_metrics,
        train: train_metrics,
        range,
        noise,
        verdict,
    })
}

/// The metrics of `learned` on `split` of `data`: plan choice, next goal, and the off-policy
/// estimates of the logged decisions.
pub fn evaluate(data: &TrainData, split: &Split, learned: &Learned) -> Metrics {
    evaluate_prepared(&prepare::Prepared::new(data), split, learned).0
}

/// Held-out scores example by example, for paired comparisons of two models.
#[derive(Debug, Default)]
struct PerExample {
    brier: Vec<f64>,
    agree: Vec<f64>,
    /// 2 for a first guess, 1 for one in the top 5, 0 otherwise.
    goal: Vec<f64>,
}

fn evaluate_prepared(
    prep: &prepare::Prepared<'_>,
    split: &Split,
    learned: &Learned,
) -> (Metrics, PerExample) {
    let want = plan_eval::Want {
        top1: Some(learned.exploration),
        ope: true,
    };
    let plan = plan_eval::replay(prep, split, learned.feedback_params(prep.data.base), want);
    let (goal, suggestion_ope, per_goal) =
        goal_eval::replay(prep, split, &learned.patterns_params(), None, true);
    let metrics = Metrics {
        plan: plan.metrics,
        next_goal: (goal.examples > 0).then_some(goal),
        ope: plan.ope,
        suggestion_ope,
    };
    let per = PerExample {
        brier: plan.per_brier,
        agree: plan.per_clear,
        goal: per_goal,
    };
    (metrics, per)
}

/// Whether there are interactions enough to fit the next-goal weights on: before the
/// held-out part, and in the search's validation part.
fn fits_goals(prep: &prepare::Prepared<'_>, inner: &Split, outer: &Split) -> bool {
    let before = prep
        .goal_times
        .partition_point(|t| *t < outer.held_out_from);
    let validation = before
        - prep
            .goal_times
            .partition_point(|t| *t < inner.held_out_from);
    before >= MIN_INTERACTIONS && validation >= search::MIN_GOAL_VALIDATION
}
