//! The parameter search: a coordinate search over log-spaced grids, scored on the search's own
//! validation split (the most recent share of the train part), never on the held-out part.
//!
//! Why coordinate search: five plan parameters and five next-goal ones, each evaluation a
//! replay that costs milliseconds to a second, and objectives that are noisy and not smooth
//! (ranks, thresholds, a discrete exploration choice). A grid per parameter covers orders of
//! magnitude that a local method would need many steps for; passes repeat while a parameter
//! moves (parameters interact: a longer memory wants lighter weights); a last pass tries the
//! midpoints next to each value found. Bayesian optimisation would need fewer evaluations but
//! a surrogate whose fit is itself a source of nondeterminism and tuning; a full grid over
//! ten parameters is out of reach. The search starts at the live values and moves a value
//! only for a clear gain (a paired comparison example by example), so with little or
//! ambiguous evidence it stays put.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use super::goal_eval;
use super::plan_eval::{self, Want};
use super::prepare::Prepared;
use super::{Learned, PatternWeights, Split, TrainError};
use crate::config::Exploration;
use crate::feedback::model::Params;

/// Full passes over the plan parameters (more only while one still moves).
const PASSES: usize = 2;
/// Passes over the next-goal weights (each costs far more than a plan pass).
const GOAL_PASSES: usize = 1;
/// A value moves only when its mean gain per scored example (log-likelihood of a run,
/// agreement of a clear run, hits of a next goal) is at least this many standard errors of
/// the example-by-example differences: a paired test, so noise in a few runs does not move it.
const Z: f64 = 2.0;
/// The next-goal search replays only this many of the latest interactions before the
/// held-out part: its tables forget long before that, and it keeps training under a minute.
pub(super) const GOAL_WINDOW: usize = 20_000;
/// Interactions the next-goal search needs in its validation part; with fewer its weights
/// stay as they are.
pub(super) const MIN_GOAL_VALIDATION: usize = 50;

/// The values each plan parameter is tried at: explicit, implicit, correction weight,
/// half-life in days, evidence discount.
const PLAN_GRIDS: [&[f64]; 5] = [
    &[0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0],
    &[0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0],
    &[0.125, 0.25, 0.5, 1.0, 2.0, 4.0],
    &[0.5, 1.0, 3.0, 7.0, 14.0, 30.0, 90.0, 365.0, 3650.0],
    &[0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 1.0],
];

/// The values each next-goal weight is tried at: rate, rank rate, order-0 decay, feature
/// decay, escape.
const GOAL_GRIDS: [&[f32]; 5] = [
    &[0.025, 0.05, 0.1, 0.2, 0.4],
    &[0.0075, 0.015, 0.03, 0.06, 0.12],
    &[0.98, 0.99, 0.995, 0.998, 0.999],
    &[0.9, 0.95, 0.98, 0.99, 0.995],
    &[0.0625, 0.125, 0.25, 0.5, 1.0],
];

/// Replays the final evaluation costs: the candidate and the live model on the held-out
/// part, the candidate on the train part.
pub(super) const FINAL_EVALUATIONS: usize = 3;

/// How far training is, as a percentage the caller reads.
pub(super) struct Progress<'a> {
    percent: &'a AtomicU32,
    done: AtomicUsize,
    total: usize,
    cancel: &'a AtomicBool,
}

impl<'a> Progress<'a> {
    /// Progress over `total` evaluations.
    pub fn new(percent: &'a AtomicU32, cancel: &'a AtomicBool, total: usize) -> Self {
        percent.store(0, Ordering::Relaxed);
        Progress {
            percent,
            done: AtomicUsize::new(0),
            total: total.max(1),
            cancel,
        }
    }

    /// One more evaluation done; stays under 100 until training has finished.
    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let pct = (done * 100 / self.total).min(99);
        self.percent.fetch_max(pct as u32, Ordering::Relaxed);
    }

    /// Training is finished.
    pub fn finish(&self) {
        self.percent.store(100, Ordering::Relaxed);
    }

    /// Stop here if the caller asked to cancel.
    pub fn check(&self) -> Result<(), TrainError> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(TrainError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The most evaluations a search may make, for the progress bar.
pub(super) fn planned(goals: bool) -> usize {
    let plan =
        1 + PLAN_GRIDS.iter().map(|g| g.len()).sum::<usize>() * PASSES + 2 * PLAN_GRIDS.len() + 2;
    let goal = if goals {
        GOAL_GRIDS.iter().map(|g| g.len()).sum::<usize>() * GOAL_PASSES + 1
    } else {
        0
    };
    plan + goal + FINAL_EVALUATIONS
}

/// Runs `f` on every item, on as many threads as the machine has (at most one per item),
/// answers in item order; `None` as soon as one evaluation was cancelled.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> Option<R> + Sync) -> Option<Vec<R>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len())
        .max(1);
    let mut out: Vec<(usize, Option<R>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let f = &f;
                s.spawn(move || {
                    (k..items.len())
                        .step_by(threads)
                        .map(|i| (i, f(&items[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// The plan parameters as one point of the search.
type Point = [f64; 5];

fn point(l: &Learned) -> Point {
    [
        l.explicit_weight,
        l.implicit_weight,
        l.correction_weight,
        l.decay_half_life_days,
        l.evidence_discount,
    ]
}

fn with_point(l: &Learned, p: &Point) -> Learned {
    Learned {
        explicit_weight: p[0],
        implicit_weight: p[1],
        correction_weight: p[2],
        decay_half_life_days: p[3],
        evidence_discount: p[4],
        ..l.clone()
    }
}

/// The values between `x` and its neighbours on `grid`: geometric midpoints (for the
/// discount, of the distance to 1, where its effect is).
fn midpoints(c: usize, grid: &[f64], x: f64) -> Vec<f64> {
    let mid = |a: f64, b: f64| {
        if c == 4 {
            1.0 - ((1.0 - a).max(1e-4) * (1.0 - b).max(1e-4)).sqrt()
        } else {
            (a * b).sqrt()
        }
    };
    let below = grid.iter().rev().find(|g| **g < x);
    let above = grid.iter().find(|g| **g > x);
    below
        .map(|b| mid(*b, x))
        .into_iter()
        .chain(above.map(|a| mid(x, *a)))
        .filter(|v| *v != x)
        .collect()
}

/// The mean gain per scored example of `cand` over `best` (compared example by example), if
/// it is clear: at least [`Z`] standard errors of those paired differences.
fn clear_gain(cand: &[f64], best: &[f64]) -> Option<f64> {
    if cand.len() != best.len() || cand.len() < 2 {
        return None;
    }
    let n = cand.len() as f64;
    let mean = cand.iter().zip(best).map(|(c, b)| c - b).sum::<f64>() / n;
    let var = cand
        .iter()
        .zip(best)
        .map(|(c, b)| (c - b - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    (mean > 0.0 && mean >= Z * (var / n).sqrt()).then_some(mean)
}

/// Of `scored` (a value and its per-example scores), the one with the largest clear gain over
/// `best` (the earlier on a tie, so the number of threads changes nothing).
fn pick<T: Copy>(scored: &[(T, Vec<f64>)], best: &[f64]) -> Option<usize> {
    let mut found: Option<(usize, f64)> = None;
    for (i, (_, s)) in scored.iter().enumerate() {
        if let Some(g) = clear_gain(s, best)
            && found.is_none_or(|(_, f)| g > f)
        {
            found = Some((i, g));
        }
    }
    found.map(|(i, _)| i)
}

/// Fits everything a personal model sets, starting from `live`, on `inner`.
pub(super) fn fit(
    prep: &Prepared<'_>,
    inner: &Split,
    live: &Learned,
    base: Params,
    goals: bool,
    progress: &Progress<'_>,
) -> Result<Learned, TrainError> {
    let mut learned = fit_plan(prep, inner, live, base, progress)?;
    learned.exploration = fit_exploration(prep, inner, &learned, base, progress)?;
    if goals {
        learned.patterns = fit_patterns(prep, inner, &learned.patterns, progress)?;
    }
    Ok(learned)
}

/// Each validation run's log-likelihood with these plan parameters.
fn plan_score(
    prep: &Prepared<'_>,
    inner: &Split,
    l: &Learned,
    base: Params,
    progress: &Progress<'_>,
) -> Option<Vec<f64>> {
    progress.check().ok()?;
    let want = Want {
        top1: None,
        ope: false,
    };
    let r = plan_eval::replay(prep, inner, l.feedback_params(base), want);
    progress.tick();
    Some(r.per_run)
}

fn fit_plan(
    prep: &Prepared<'_>,
    inner: &Split,
    live: &Learned,
    base: Params,
    progress: &Progress<'_>,
) -> Result<Learned, TrainError> {
    let mut at = point(live);
    let mut best = plan_score(prep, inner, live, base, progress).ok_or(TrainError::Cancelled)?;
    // One coordinate at a time: every value of its list at once, the one with the clearest
    // gain over the current point kept.
    let try_values = |c: usize, values: Vec<f64>, at: &mut Point, best: &mut Vec<f64>| {
        let points: Vec<Point> = values
            .iter()
            .filter(|v| **v != at[c])
            .map(|v| {
                let mut p = *at;
                p[c] = *v;
                p
            })
            .collect();
        let scores = par_map(&points, |p| {
            plan_score(prep, inner, &with_point(live, p), base, progress)
        })
        .ok_or(TrainError::Cancelled)?;
        let scored: Vec<(Point, Vec<f64>)> = points.into_iter().zip(scores).collect();
        Ok::<bool, TrainError>(match pick(&scored, best) {
            Some(i) => {
                *at = scored[i].0;
                best.clone_from(&scored[i].1);
                true
            }
            None => false,
        })
    };
    for _ in 0..PASSES {
        let mut moved = false;
        for (c, grid) in PLAN_GRIDS.iter().enumerate() {
            moved |= try_values(c, grid.to_vec(), &mut at, &mut best)?;
        }
        if !moved {
            break;
        }
    }
    for (c, grid) in PLAN_GRIDS.iter().enumerate() {
        let values = midpoints(c, grid, at[c]);
        try_values(c, values, &mut at, &mut best)?;
    }
    Ok(with_point(live, &at))
}

/// Greedy or Thompson: the live one unless the other's expected top-1 agreement on the
/// validation part is clearly better. Replays of what happened cannot credit exploration with
/// what it would have taught, so greedy usually wins.
fn fit_exploration(
    prep: &Prepared<'_>,
    inner: &Split,
    l: &Learned,
    base: Params,
    progress: &Progress<'_>,
) -> Result<Exploration, TrainError> {
    let modes = [l.exploration, other(l.exploration)];
    let scores = par_map(&modes, |how| {
        progress.check().ok()?;
        let want = Want {
            top1: Some(*how),
            ope: false,
        };
        let r = plan_eval::replay(prep, inner, l.feedback_params(base), want);
        progress.tick();
        Some(r.per_clear)
    })
    .ok_or(TrainError::Cancelled)?;
    let scored = [(modes[1], scores[1].clone())];
    Ok(match pick(&scored, &scores[0]) {
        Some(_) => modes[1],
        None => modes[0],
    })
}

fn other(e: Exploration) -> Exploration {
    match e {
        Exploration::Greedy => Exploration::Thompson,
        Exploration::Thompson => Exploration::Greedy,
    }
}

/// Each validation interaction's score with these weights: 2 for a first guess, 1 for one
/// in the top 5.
fn goal_score(
    prep: &Prepared<'_>,
    inner: &Split,
    w: &PatternWeights,
    progress: &Progress<'_>,
) -> Option<Vec<f64>> {
    progress.check().ok()?;
    let (_, _, per_goal) = goal_eval::replay(prep, inner, &w.params(), Some(GOAL_WINDOW), false);
    progress.tick();
    Some(per_goal)
}

fn fit_patterns(
    prep: &Prepared<'_>,
    inner: &Split,
    live: &PatternWeights,
    progress: &Progress<'_>,
) -> Result<PatternWeights, TrainError> {
    let mut at = *live;
    let mut best = goal_score(prep, inner, &at, progress).ok_or(TrainError::Cancelled)?;
    let set = |w: &PatternWeights, c: usize, v: f32| {
        let mut w = *w;
        match c {
            0 => w.rate = v,
            1 => w.rank_rate = v,
            2 => w.decay0 = v,
            3 => w.feature_decay = v,
            _ => w.escape = v,
        }
        w
    };
    for _ in 0..GOAL_PASSES {
        let mut moved = false;
        for (c, grid) in GOAL_GRIDS.iter().enumerate() {
            let points: Vec<PatternWeights> = grid
                .iter()
                .map(|v| set(&at, c, *v))
                .filter(|w| *w != at)
                .collect();
            let scores = par_map(&points, |w| goal_score(prep, inner, w, progress))
                .ok_or(TrainError::Cancelled)?;
            let scored: Vec<(PatternWeights, Vec<f64>)> = points.into_iter().zip(scores).collect();
            if let Some(i) = pick(&scored, &best) {
                at = scored[i].0;
                best.clone_from(&scored[i].1);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    Ok(at)
}
