//! What a personal model sets: the learning parameters of the preference profile, the
//! planner's exploration, and the next-goal model's weights worth fitting.

use serde::{Deserialize, Serialize};

use crate::config::{Config, Exploration};
use crate::feedback::model::Params;

/// The longest half-life the config accepts, in days (`config::bounds::MAX_DAYS`).
const MAX_HALF_LIFE_DAYS: f64 = 36_500.0;
/// The largest escape mass a fitted next-goal model may hold back, in counts.
const MAX_ESCAPE: f32 = 16.0;

/// The parameters a personal model sets; stored in versioned JSON model files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Learned {
    /// Evidence weight of an explicit rating (`learning.explicit_weight`).
    pub explicit_weight: f64,
    /// Evidence weight of an exit status, cancel or approval not given.
    pub implicit_weight: f64,
    /// Evidence weight of a correction or a pick.
    pub correction_weight: f64,
    /// Evidence halves after this many days.
    pub decay_half_life_days: f64,
    /// Each newer run in the same category multiplies older evidence by this.
    pub evidence_discount: f64,
    /// How the planner ranks: by the posterior mean or by a draw from it.
    pub exploration: Exploration,
    /// The next-goal model's fitted weights.
    pub patterns: PatternWeights,
}

/// The subset of `codex_patterns::model::Params` a personal model fits: how fast the
/// next-goal model forgets and how fast it learns its mixture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternWeights {
    /// Learning rate of the mixture weights.
    pub rate: f32,
    /// Learning rate of the ranker that reorders the best candidates.
    pub rank_rate: f32,
    /// Per-step decay of what is frequent overall (order 0).
    pub decay0: f32,
    /// Per-visit decay of the hour, weekday and project tables.
    pub feature_decay: f32,
    /// Mass held back for "something else" in every table, in counts.
    pub escape: f32,
}

impl Default for PatternWeights {
    fn default() -> Self {
        PatternWeights::from_params(&codex_patterns::model::Params::default())
    }
}

impl PatternWeights {
    /// The fitted fields of a next-goal model's parameters.
    pub fn from_params(p: &codex_patterns::model::Params) -> Self {
        PatternWeights {
            rate: p.rate,
            rank_rate: p.rank_rate,
            decay0: p.decay[0],
            feature_decay: p.feature_decay,
            escape: p.escape,
        }
    }

    /// The default next-goal parameters with these fields set.
    pub fn params(&self) -> codex_patterns::model::Params {
        let base = codex_patterns::model::Params::default();
        let mut decay = base.decay;
        decay[0] = self.decay0;
        codex_patterns::model::Params {
            rate: self.rate,
            rank_rate: self.rank_rate,
            decay,
            feature_decay: self.feature_decay,
            escape: self.escape,
            ..base
        }
    }
}

impl Learned {
    /// What the config says: the values in use before any personal model.
    pub fn from_config(c: &Config) -> Self {
        let l = &c.learning;
        Learned {
            explicit_weight: l.explicit_weight.get(),
            implicit_weight: l.implicit_weight.get(),
            correction_weight: l.correction_weight.get(),
            decay_half_life_days: l.decay_half_life_days.get(),
            evidence_discount: l.evidence_discount.get(),
            exploration: c.planner.exploration,
            patterns: PatternWeights::default(),
        }
    }

    /// `base` (the config's learning parameters) with the fitted fields set.
    pub fn feedback_params(&self, base: Params) -> Params {
        Params {
            explicit_weight: self.explicit_weight,
            implicit_weight: self.implicit_weight,
            correction_weight: self.correction_weight,
            half_life_secs: self.decay_half_life_days * 86_400.0,
            discount: self.evidence_discount,
            ..base
        }
    }

    /// The next-goal model's parameters with the fitted fields set.
    pub fn patterns_params(&self) -> codex_patterns::model::Params {
        self.patterns.params()
    }

    /// Whether every value is one the config would accept (a model file is read back
    /// through this: a hand-edited or damaged one is refused, never used).
    pub fn validate(&self) -> Result<(), String> {
        let positive = |key: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("`{key}` must be a number greater than 0, got {v}"))
            }
        };
        let max = crate::config::bounds::MAX_WEIGHT;
        let weight = |key: &str, v: f64| {
            positive(key, v)?;
            if v > max {
                return Err(format!("`{key}` must be at most {max}, got {v}"));
            }
            Ok(())
        };
        weight("explicit_weight", self.explicit_weight)?;
        weight("implicit_weight", self.implicit_weight)?;
        weight("correction_weight", self.correction_weight)?;
        positive("decay_half_life_days", self.decay_half_life_days)?;
        if self.decay_half_life_days > MAX_HALF_LIFE_DAYS {
            return Err(format!(
                "`decay_half_life_days` must be at most {MAX_HALF_LIFE_DAYS} days, got {}",
                self.decay_half_life_days
            ));
        }
        let fraction = |key: &str, v: f64| {
            if v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(format!(
                    "`{key}` must be greater than 0 and at most 1, got {v}"
                ))
            }
        };
        fraction("evidence_discount", self.evidence_discount)?;
        let p = &self.patterns;
        fraction("patterns.rate", f64::from(p.rate))?;
        fraction("patterns.rank_rate", f64::from(p.rank_rate))?;
        fraction("patterns.decay0", f64::from(p.decay0))?;
        fraction("patterns.feature_decay", f64::from(p.feature_decay))?;
        if !(p.escape.is_finite() && p.escape > 0.0 && p.escape <= MAX_ESCAPE) {
            return Err(format!(
                "`patterns.escape` must be greater than 0 and at most {MAX_ESCAPE}, got {}",
                p.escape
            ));
        }
        Ok(())
    }
}
