//! One recorded run in full (`run/show`, `codex show` and `codex rerun`), and where a run's
//! plan came from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::methods::Method;
use crate::types::{RunId, RunOutcome, RunPart, SafetyClass};

/// `run/show`: everything recorded about one run.
pub struct RunShow;

/// Params of [`RunShow`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunShowParams {
    /// The run; the last finished run when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunId>,
}

/// Where a run's command came from, when codex planned it: the plan as `codex plan` showed
/// it for the run's goal in its folder (redacted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSource {
    /// Which plan it was, 1 for the best.
    pub pick: u32,
    /// How many plans were shown.
    pub of: u32,
    /// The plan's command line (all its steps).
    pub command: String,
    /// Why this step, as the planner said.
    pub rationale: String,
    /// The evidence behind the plan's score.
    pub evidence: String,
    /// How the plans were ranked.
    #[serde(default)]
    pub ranking: String,
    /// Where the plan was borrowed from, when it was not yet the goal's own plan here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub borrowed: Option<String>,
    /// The plans shown, in order (their command lines): the decision's candidates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    /// The chance the ranking had of putting this plan first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propensity: Option<f64>,
    /// The language model proposed the plan.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_model: bool,
}

/// One step of a run, as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepDetail {
    /// The command line (redacted).
    pub command: String,
    /// The folder it ran in.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Its safety class; `None` for runs recorded before classes were kept.
    #[serde(default)]
    pub class: Option<SafetyClass>,
    /// Why it has that class.
    #[serde(default)]
    pub class_reason: Option<String>,
    /// Whether it ran in the sandbox; `None` when not recorded.
    #[serde(default)]
    pub confined: Option<bool>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// The exit status a shell would report.
    pub exit_status: i32,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The last bytes of its output, stdout and stderr interleaved (redacted).
    pub output_tail: String,
}

/// An approval a run needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDetail {
    /// The class that needed it.
    pub class: SafetyClass,
    /// Why.
    pub reason: String,
    /// Whether it was given.
    pub approved: bool,
    /// How: `--yes`, `prompt`, `codex approve`, `expired`, `held`.
    pub by: String,
}

/// Result of [`RunShow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    /// The run.
    pub run_id: RunId,
    /// What was asked for (for an explicit command without `--goal`, its command line).
    pub goal: String,
    /// Whether a goal was given (`--goal` or a goal in words), not only a command.
    pub goal_given: bool,
    /// The command that ran (its steps joined by `&&`), redacted.
    pub command: String,
    /// The command's words, redacted.
    pub argv: Vec<String>,
    /// Whether a secret was cut out of the command (then it cannot be run again as stored).
    pub redacted: bool,
    /// The folder it ran in.
    pub cwd: String,
    /// The project root, if it ran in a project.
    pub project: Option<String>,
    /// The project's kind (`rust`, `node`, ...).
    pub project_kind: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The plan it came from; `None` for a command you gave.
    pub plan: Option<PlanSource>,
    /// Which part of a plan it was.
    pub part: RunPart,
    /// The class floor its plan's tool declared (a rerun keeps it).
    pub min_class: Option<SafetyClass>,
    /// Its steps.
    pub steps: Vec<StepDetail>,
    /// The approvals it needed and how they were answered.
    pub approvals: Vec<ApprovalDetail>,
    /// The rating, 1..5.
    pub rating: Option<u8>,
    /// The comment given with it.
    pub comment: Option<String>,
    /// Who started it.
    #[serde(default, skip_serializing_if = "crate::types::Trigger::is_user")]
    pub trigger: crate::types::Trigger,
    /// The scheduled job it was an occurrence of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
}

impl Method for RunShow {
    const NAME: &'static str = "run/show";
    type Params = RunShowParams;
    type Result = RunDetail;
}
