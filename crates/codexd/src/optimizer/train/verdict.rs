//! The promotion rule: a candidate replaces the live model only if it is not worse on the
//! held-out data, and a rejection says in words what was worse.
//!
//! The log-likelihood of plan choice, the score the search optimised, may not be lower at all.
//! The other held-out figures are compared run by run with the live model's: the Brier score,
//! top-1 agreement and the next goal's top-1 and top-5 may not be worse by more than
//! [`NOISE_MULTIPLE`] standard errors of those paired differences ([`Noise`]): a real
//! regression is refused, a difference of a few runs either way is not. The off-policy
//! estimates are shown, not ruled on: under greedy logging they cover only the decisions the
//! candidate agrees with.

use serde::{Deserialize, Serialize};

use super::Metrics;

/// How many standard errors of the run-by-run differences a secondary figure may be worse.
pub const NOISE_MULTIPLE: f64 = 2.0;
/// Rounding: two replays of the same parameters agree to far better than this.
const SLACK: f64 = 1e-12;

/// Whether a trained candidate replaces the live model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Not worse than the live model on the held-out data: it may be used.
    Promote,
    /// Kept as rejected, with the reason in words.
    Reject(String),
}

impl Verdict {
    /// Whether the candidate may be used.
    pub fn promoted(&self) -> bool {
        matches!(self, Verdict::Promote)
    }
}

/// Standard errors of the mean run-by-run differences between the candidate's and the live
/// model's held-out figures: how far apart they may be by the luck of which runs were held out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Noise {
    /// Of the Brier score.
    pub brier: f64,
    /// Of top-1 agreement.
    pub top1: f64,
    /// Of the next goal's top-1.
    pub next_top1: f64,
    /// Of the next goal's top-5.
    pub next_top5: f64,
}

/// The standard error of the mean of `a[i] − b[i]` (0 when there are fewer than two).
pub(super) fn paired_se(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let d = || a.iter().zip(b).map(|(x, y)| x - y);
    let mean = d().sum::<f64>() / n as f64;
    let var = d().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (var / n as f64).sqrt()
}

/// The promotion rule applied to the candidate's and the live model's held-out metrics.
pub fn judge(candidate: &Metrics, live: &Metrics, noise: &Noise) -> Verdict {
    let (c, l) = (&candidate.plan, &live.plan);
    if c.examples == 0 {
        return Verdict::Reject("there were no held-out runs to compare the models on".into());
    }
    let runs = c.examples;
    if c.log_likelihood < l.log_likelihood - SLACK {
        return Verdict::Reject(format!(
            "on the {runs} most recent runs it foresaw your ratings and outcomes less well \
             than the live model: log-likelihood {:.4} against {:.4}",
            c.log_likelihood, l.log_likelihood
        ));
    }
    let beyond = |worse: f64, se: f64| worse > NOISE_MULTIPLE * se + SLACK;
    if beyond(c.brier - l.brier, noise.brier) {
        return Verdict::Reject(format!(
            "on the {runs} most recent runs its forecasts were further off than the live \
             model's: Brier score {:.4} against {:.4}, more than the noise of those runs",
            c.brier, l.brier
        ));
    }
    if beyond(l.top1 - c.top1, noise.top1) {
        return Verdict::Reject(format!(
            "on the {} most recent runs with a clear verdict it would have ranked your plans \
             worse than the live model: top-1 agreement {:.3} against {:.3}, more than the \
             noise of those runs",
            c.clear, c.top1, l.top1
        ));
    }
    if let (Some(cg), Some(lg)) = (&candidate.next_goal, &live.next_goal)
        && (beyond(lg.top1 - cg.top1, noise.next_top1)
            || beyond(lg.top5 - cg.top5, noise.next_top5))
    {
        return Verdict::Reject(format!(
            "on the {} most recent commands it foresaw the next one less well than the \
             live model: top-1/top-5 {:.3}/{:.3} against {:.3}/{:.3}",
            cg.examples, cg.top1, cg.top5, lg.top1, lg.top5
        ));
    }
    Verdict::Promote
}
