//! Off-policy evaluation: the value a candidate model would have had, estimated from the
//! decisions the live one logged, by inverse propensity scoring (IPS) and its self-normalised
//! form (SNIPS).
//!
//! Each logged decision gives a context, what ran, the probability `p` the logging policy had
//! of running it, and a reward `r`. A candidate policy that would run the same thing with
//! probability `π` (1 or 0 for a greedy candidate) is credited `π·r/p`: IPS averages that over
//! every decision, SNIPS divides by `Σ π/p` instead, trading a little bias for much less
//! variance. Both are unbiased (IPS) or consistent (SNIPS) only where `p > 0` for whatever the
//! candidate would choose. A greedy logging policy gives `p = 1` to what it ranked first and 0
//! to anything else, so the estimate covers only decisions where the candidate agrees with
//! what was done, and says nothing of plans the live model never ran first: it is the average
//! reward on that agreeing subset. Decisions logged with `p = 0` (the user picked a plan the
//! policy would never have run) cannot be weighed at all: they are counted, never used.

use serde::{Deserialize, Serialize};

/// The off-policy estimate of one kind of decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ope {
    /// Held-out decisions with a reward and a usable propensity.
    pub decisions: usize,
    /// Of those, decisions the candidate might have made the same way (`π > 0`).
    pub matching: usize,
    /// Held-out decisions logged with propensity 0 (a pick against the ranking): left out.
    pub zero_propensity: usize,
    /// Held-out decisions left out for want of a reward, or with a propensity or chosen
    /// index that makes no sense (not in [0, 1], not a candidate).
    pub unusable: usize,
    /// Inverse propensity scoring: `Σ π·r/p / decisions`.
    pub ips: f64,
    /// Self-normalised: `Σ π·r/p / Σ π/p`; `None` when nothing matched.
    pub snips: Option<f64>,
    /// The mean reward the logged decisions actually got: the live policy's own value.
    pub logged_value: f64,
}

/// The smallest propensity weighed: the planner's estimate under exploration has a
/// resolution of 1/256.
pub const MIN_PROPENSITY: f64 = 1e-3;

/// One decision as the estimator sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Logged {
    /// The probability the candidate policy gives to what ran.
    pub pi: f64,
    /// The logging policy's probability of what ran.
    pub propensity: f64,
    /// The reward in [0, 1].
    pub reward: f64,
}

/// Sums kept while a replay goes, turned into an [`Ope`] at the end.
#[derive(Debug, Clone, Default)]
pub(super) struct Tally {
    decisions: usize,
    matching: usize,
    zero: usize,
    unusable: usize,
    weighted: f64,
    weights: f64,
    rewards: f64,
}

impl Tally {
    /// One decision with a reward.
    pub fn add(&mut self, d: Logged) {
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !(unit(d.propensity) && unit(d.reward)) {
            self.unusable += 1;
            return;
        }
        // Below this a weight 1/p is past anything an estimate can carry (and a logged p
        // can only be that small when damaged): counted with the zero ones.
        if d.propensity < MIN_PROPENSITY {
            self.zero += 1;
            return;
        }
        self.decisions += 1;
        self.rewards += d.reward;
        if d.pi > 0.0 {
            self.matching += 1;
            let w = d.pi / d.propensity;
            self.weighted += w * d.reward;
            self.weights += w;
        }
    }

    /// A decision that could not be used (no reward, or a chosen index out of range).
    pub fn skip(&mut self) {
        self.unusable += 1;
    }

    /// The estimate; `None` when no decision was seen at all.
    pub fn finish(&self) -> Option<Ope> {
        if self.decisions + self.zero + self.unusable == 0 {
            return None;
        }
        let n = self.decisions.max(1) as f64;
        Some(Ope {
            decisions: self.decisions,
            matching: self.matching,
            zero_propensity: self.zero,
            unusable: self.unusable,
            ips: self.weighted / n,
            snips: (self.weights > 0.0).then(|| self.weighted / self.weights),
            logged_value: self.rewards / n,
        })
    }
}

/// The estimate over a list of decisions.
#[cfg(test)]
pub(super) fn estimate(decisions: &[Logged]) -> Option<Ope> {
    let mut t = Tally::default();
    for d in decisions {
        t.add(*d);
    }
    t.finish()
}
