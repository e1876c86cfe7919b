//! The next goal, replayed as `codex_patterns::eval` replays it: before each interaction the
//! model is asked for its top 5 (told the time and project), then shown the interaction.
//! Held-out interactions are scored; suggestion decisions logged among them are weighed for
//! the off-policy estimate with the model as it stood at the decision.

use chrono::{DateTime, Utc};
use codex_patterns::Predictor as _;
use serde::{Deserialize, Serialize};

use super::ope::{Logged, Tally};
use super::prepare::Prepared;
use super::{Ope, Split};

/// Goals a suggestion list is read from: a logged candidate ranked below this is not one the
/// candidate model would have suggested first.
const SUGGESTED: usize = 16;

/// How often the next goal was the model's first guess, or among its first five.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoalMetrics {
    /// Held-out interactions scored.
    pub examples: usize,
    /// Share that was the first prediction.
    pub top1: f64,
    /// Share among the first five.
    pub top5: f64,
}

/// Replays the interactions before `split.until` (only the last `window` of them when given:
/// the search's shortcut) with `params`.
pub(super) fn replay(
    prep: &Prepared<'_>,
    split: &Split,
    params: &codex_patterns::model::Params,
    window: Option<usize>,
    want_ope: bool,
) -> (GoalMetrics, Option<Ope>, Vec<f64>) {
    let data = prep.data;
    let before_end = |at: DateTime<Utc>| split.until.is_none_or(|u| at < u);
    let end = prep.goal_times.partition_point(|at| before_end(*at));
    let start = window.map_or(0, |w| end.saturating_sub(w));
    let mut model = codex_patterns::Model::with_params(Utc, params.clone());
    let (mut n, mut top1, mut top5) = (0usize, 0usize, 0usize);
    let mut ope = Tally::default();
    let mut per_goal = Vec::new();
    let mut next_decision = 0;
    for (&i, &at) in prep.goal_order[start..end]
        .iter()
        .zip(&prep.goal_times[start..end])
    {
        let entry = &data.interactions[i];
        if want_ope {
            while let Some(&d) = prep.goal_decisions.get(next_decision) {
                if data.decisions[d].at > at {
                    break;
                }
                next_decision += 1;
                decide(prep, split, &model, d, &mut ope);
            }
        }
        if at >= split.held_out_from {
            let top = model.top(entry.at, entry.project.as_deref(), 5);
            let hit = top.iter().position(|g| *g == entry.goal);
            if let Some(r) = hit {
                top1 += usize::from(r == 0);
                top5 += 1;
            }
            // Top-1 plus top-5, as the search weighs a candidate.
            per_goal.push(hit.map_or(0.0, |r| if r == 0 { 2.0 } else { 1.0 }));
            n += 1;
        }
        model.observe(entry);
    }
    if want_ope {
        for &d in &prep.goal_decisions[next_decision..] {
            if before_end(data.decisions[d].at) {
                decide(prep, split, &model, d, &mut ope);
            }
        }
    }
    let per = n.max(1) as f64;
    let metrics = GoalMetrics {
        examples: n,
        top1: top1 as f64 / per,
        top5: top5 as f64 / per,
    };
    (
        metrics,
        if want_ope { ope.finish() } else { None },
        per_goal,
    )
}

/// One logged suggestion decision: the candidate model would have offered first whichever
/// logged candidate it ranks highest.
fn decide(
    prep: &Prepared<'_>,
    split: &Split,
    model: &codex_patterns::Model,
    d: usize,
    ope: &mut Tally,
) {
    let dec = &prep.data.decisions[d];
    if dec.at < split.held_out_from {
        return;
    }
    let reward = dec
        .outcome
        .or_else(|| dec.run_id.and_then(|r| prep.reward_of(r, split.until)));
    let (Some(reward), Some(chosen)) = (reward, dec.chosen_candidate()) else {
        ope.skip();
        return;
    };
    let top = model.top(Some(dec.at), dec.project.as_deref(), SUGGESTED);
    let first = top
        .iter()
        .find(|g| dec.candidates.iter().any(|c| c == *g))
        .copied();
    ope.add(Logged {
        pi: if first == Some(chosen) { 1.0 } else { 0.0 },
        propensity: dec.propensity,
        reward,
    });
}
