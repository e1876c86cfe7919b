//! Plan choice, replayed: every signal folded in the order it came, as the daemon folds it,
//! and before each held-out run the model is asked what it thought of the plan that ran.
//!
//! A run's label is its latest rating r as y = (r − 1)/4, else its outcome (1 worked, 0
//! failed). The model's forecast is the posterior mean p of the plan that ran, where the
//! planner would weigh it (its project), from the signals before the run. Log-likelihood is
//! mean(y·ln p + (1 − y)·ln(1 − p)), Brier mean((p − y)²). Top-1 agreement counts runs with a
//! clear label (rated 4–5 or worked unrated: good; rated 1–2 or failed unrated: bad): the
//! model agrees when it would have ranked the plan first among the plans known in that
//! category and project exactly when the run was good. Under Thompson exploration "ranked
//! first" is a probability (seeded posterior draws), so agreement is its expectation.

use chrono::{DateTime, Utc};
use rand::SeedableRng as _;
use rand::rngs::SmallRng;
use rand_distr::Distribution as _;
use serde::{Deserialize, Serialize};

use super::ope::{Logged, Tally};
use super::prepare::Prepared;
use super::{Ope, Split};
use crate::config::Exploration;
use crate::feedback::model::{Model, Params, Posterior};

/// Posterior draws per candidate that estimate a Thompson ranking's probabilities.
const DRAWS: usize = 32;
/// Seed of those draws, mixed with the run: the same data always scores the same.
const SEED: u64 = 0x7e11_5eed;
/// Forecasts are kept this far from 0 and 1 so one confident miss cannot be −∞.
const EPS: f64 = 1e-9;

/// How well the model foresaw the user's judgement of the plans that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanMetrics {
    /// Held-out runs scored.
    pub examples: usize,
    /// Mean log-likelihood of the labels (higher is better; ln ½ ≈ −0.693 is a coin).
    pub log_likelihood: f64,
    /// Mean squared error of the forecast (lower is better; 0.25 is a coin).
    pub brier: f64,
    /// Runs with a clear label (good or bad), over which `top1` is counted.
    pub clear: usize,
    /// Share of clear runs where "ranked first" matched "was good".
    pub top1: f64,
}

/// What a replay works out besides the log-likelihood, which is always computed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Want {
    /// Top-1 agreement, under this exploration.
    pub top1: Option<Exploration>,
    /// The off-policy estimate of the planner's decisions.
    pub ope: bool,
}

/// Sums kept as the replay goes.
#[derive(Debug, Default)]
struct Sums {
    n: usize,
    ll: f64,
    brier: f64,
    clear: usize,
    agree: f64,
}

/// What a replay found.
#[derive(Debug, Clone)]
pub(super) struct Replayed {
    /// The metrics.
    pub metrics: PlanMetrics,
    /// The off-policy estimate, when asked for and there were decisions.
    pub ope: Option<Ope>,
    /// Each scored run's log-likelihood, in order: the search compares candidates run by run.
    pub per_run: Vec<f64>,
    /// Each scored run's squared error, in the same order.
    pub per_brier: Vec<f64>,
    /// Each clear run's agreement (0 to 1), in order, when top-1 was asked for.
    pub per_clear: Vec<f64>,
}

/// Replays the signals before `split.until` with `params`, scoring held-out runs.
pub(super) fn replay(prep: &Prepared<'_>, split: &Split, params: Params, want: Want) -> Replayed {
    let data = prep.data;
    let mut model = Model::new(params);
    let mut sums = Sums::default();
    let mut ope = Tally::default();
    let mut per_run = Vec::new();
    let mut per_brier = Vec::new();
    let mut per_clear = Vec::new();
    let mut next_decision = 0;
    let before_end = |at: DateTime<Utc>| split.until.is_none_or(|u| at < u);
    for (i, s) in data.signals.iter().enumerate() {
        if !before_end(s.at) {
            continue;
        }
        if want.ope {
            while let Some(&d) = prep.plan_decisions.get(next_decision) {
                if data.decisions[d].at > s.at {
                    break;
                }
                next_decision += 1;
                decide(prep, split, &model, d, want.top1, &mut ope);
            }
        }
        if let Some(e) = prep.example_of[i] {
            let ex = &prep.examples[e as usize];
            if ex.at >= split.held_out_from {
                let label = ex.label(split.until);
                let here = s.project.as_deref();
                let p = model
                    .posterior_at(&s.category, &s.plan, here, s.at)
                    .unwrap_or(Posterior::PRIOR)
                    .mean()
                    .clamp(EPS, 1.0 - EPS);
                let ll = label.y * p.ln() + (1.0 - label.y) * (1.0 - p).ln();
                let brier = (p - label.y) * (p - label.y);
                per_run.push(ll);
                per_brier.push(brier);
                sums.n += 1;
                sums.ll += ll;
                sums.brier += brier;
                if let (Some(good), Some(how)) = (label.good, want.top1) {
                    let mut cands: Vec<&str> = model.plans_at(&s.category, here).collect();
                    if !cands.contains(&&*s.plan) {
                        cands.push(&s.plan);
                    }
                    let chosen = cands.iter().position(|c| *c == &*s.plan).unwrap_or(0);
                    let at = Moment {
                        category: &s.category,
                        project: here,
                        at: s.at,
                    };
                    let first = chance_first(&model, at, &cands, chosen, how, u64::from(e));
                    let agree = if good { first } else { 1.0 - first };
                    per_clear.push(agree);
                    sums.clear += 1;
                    sums.agree += agree;
                }
            }
        }
        model.apply(s);
    }
    if want.ope {
        for &d in &prep.plan_decisions[next_decision..] {
            if before_end(prep.data.decisions[d].at) {
                decide(prep, split, &model, d, want.top1, &mut ope);
            }
        }
    }
    let n = sums.n.max(1) as f64;
    let metrics = PlanMetrics {
        examples: sums.n,
        log_likelihood: sums.ll / n,
        brier: sums.brier / n,
        clear: sums.clear,
        top1: sums.agree / sums.clear.max(1) as f64,
    };
    Replayed {
        metrics,
        ope: if want.ope { ope.finish() } else { None },
        per_run,
        per_brier,
        per_clear,
    }
}

/// One logged plan decision, weighed for the off-policy estimate.
fn decide(
    prep: &Prepared<'_>,
    split: &Split,
    model: &Model,
    d: usize,
    how: Option<Exploration>,
    ope: &mut Tally,
) {
    let dec = &prep.data.decisions[d];
    if dec.at < split.held_out_from {
        return;
    }
    let reward = dec
        .outcome
        .or_else(|| dec.run_id.and_then(|r| prep.reward_of(r, split.until)));
    let (Some(reward), true) = (reward, dec.chosen < dec.candidates.len()) else {
        ope.skip();
        return;
    };
    let cands: Vec<&str> = dec.candidates.iter().map(String::as_str).collect();
    let at = Moment {
        category: &dec.category,
        project: dec.project.as_deref(),
        at: dec.at,
    };
    let pi = chance_first(
        model,
        at,
        &cands,
        dec.chosen,
        how.unwrap_or(Exploration::Greedy),
        0x0de_c000 + d as u64,
    );
    ope.add(Logged {
        pi,
        propensity: dec.propensity,
        reward,
    });
}

/// Where and when the planner ranks.
#[derive(Debug, Clone, Copy)]
struct Moment<'a> {
    category: &'a str,
    project: Option<&'a str>,
    at: DateTime<Utc>,
}

/// The probability that the planner, ranking `cands` by this model, puts `chosen` first:
/// 1 or 0 under greedy ranking (ties go to the earlier candidate, as the planner's stable
/// sort keeps them), the share of seeded posterior draws it wins under Thompson.
fn chance_first(
    model: &Model,
    m: Moment<'_>,
    cands: &[&str],
    chosen: usize,
    how: Exploration,
    salt: u64,
) -> f64 {
    let posts: Vec<Posterior> = cands
        .iter()
        .map(|c| {
            model
                .posterior_at(m.category, c, m.project, m.at)
                .unwrap_or(Posterior::PRIOR)
        })
        .collect();
    match how {
        Exploration::Greedy => {
            let mut best = 0;
            for (i, p) in posts.iter().enumerate() {
                if p.mean() > posts[best].mean() {
                    best = i;
                }
            }
            if best == chosen { 1.0 } else { 0.0 }
        }
        Exploration::Thompson => {
            let mut rng = SmallRng::seed_from_u64(SEED ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let betas: Vec<Option<rand_distr::Beta<f64>>> = posts
                .iter()
                .map(|p| rand_distr::Beta::new(1.0 + p.a, 1.0 + p.b).ok())
                .collect();
            let mut wins = 0;
            for _ in 0..DRAWS {
                let mut best = (0, f64::NEG_INFINITY);
                for (i, (b, p)) in betas.iter().zip(&posts).enumerate() {
                    let x = b.map_or(p.mean(), |b| b.sample(&mut rng));
                    if x > best.1 {
                        best = (i, x);
                    }
                }
                wins += usize::from(best.0 == chosen);
            }
            wins as f64 / DRAWS as f64
        }
    }
}
