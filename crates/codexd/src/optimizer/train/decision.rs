//! One logged decision of the planner or the suggestions: what was offered, what ran, and how
//! likely the policy that decided was to choose it (the propensity that off-policy
//! evaluation needs).

use chrono::{DateTime, Utc};
use codex_proto::types::RunId;
use serde::{Deserialize, Serialize};

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The planner ranked plans for a goal.
    Plan,
    /// `suggest` ranked the goals expected next.
    Suggestion,
}

/// One logged decision of the planner or the suggestions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// When it was decided (before the run it led to).
    pub at: DateTime<Utc>,
    /// Planner or suggestions.
    pub kind: DecisionKind,
    /// The run it led to, when one ran: its outcome and rating are the reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    /// The task category (as `Signal::category`); "" for suggestions.
    pub category: String,
    /// The project root, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Plans in `Signal::plan` form in the order shown; for suggestions, goals.
    pub candidates: Vec<String>,
    /// Index into `candidates` of what ran.
    pub chosen: usize,
    /// The probability the deciding policy had of choosing `chosen`: greedy ranking gives 1
    /// to the plan it ranked first and 0 to any other (one the user picked instead).
    pub propensity: f64,
    /// The reward in [0, 1], when it was known as the decision was logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<f64>,
}

impl Decision {
    /// What ran, if `chosen` points into `candidates`.
    pub fn chosen_candidate(&self) -> Option<&str> {
        self.candidates.get(self.chosen).map(String::as_str)
    }
}
