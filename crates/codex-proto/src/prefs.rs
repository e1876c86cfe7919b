//! The learned profile as `codex prefs show` receives it: every entry with its evidence.

use serde::{Deserialize, Serialize};

use crate::types::{ProgramPrefs, Satisfaction};

/// What codex has learned about the user, with the evidence behind each entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Whether new signals update the profile (`user_preference_learning`).
    pub learning: bool,
    /// Per task category, its plans and tools ranked by learned preference.
    pub categories: Vec<CategoryPrefs>,
    /// Per program, most used first.
    pub programs: Vec<ProgramPrefs>,
    /// Overall satisfaction from explicit ratings.
    pub satisfaction: Satisfaction,
    /// How the user works.
    pub style: WorkingStyle,
    /// Commands the user replaced by others for the same goal, most often first.
    #[serde(default)]
    pub corrections: Vec<Correction>,
}

/// "You ran `from`, then `to` for the same goal, and `to` worked": a learned parameter
/// preference the planner applies wherever it would propose `from`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// The command replaced.
    pub from: String,
    /// The command that replaced it.
    pub to: String,
    /// Times it happened.
    pub times: u64,
}

/// Preferences within one task category (a normalized goal, or a tool like `cargo test`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryPrefs {
    /// The category.
    pub category: String,
    /// Runs recorded in it.
    pub runs: u64,
    /// Its plans, best first (posterior mean of success, then evidence).
    pub plans: Vec<PlanPrefs>,
    /// Its tools, best first.
    pub tools: Vec<ToolPrefs>,
}

/// What is known about one plan (a command line) for one category.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanPrefs {
    /// The plan's command line.
    pub plan: String,
    /// Its tool (program and subcommand).
    pub tool: String,
    /// Posterior mean of "this plan satisfies the user" under a Beta(1, 1) prior, in [0, 1].
    pub score: f64,
    /// Effective weight of the evidence after decay (ratings count `explicit_weight`).
    pub evidence: f64,
    /// Runs recorded.
    pub runs: u64,
    /// Runs that exited 0.
    pub successes: u64,
    /// Explicit ratings counted.
    pub ratings: u64,
    /// Their mean.
    pub mean_rating: Option<f64>,
    /// Times the user replaced this plan by another for the same goal.
    pub corrected_away: u64,
    /// Times the user typed it in a shell (imported history), not run through codex.
    #[serde(default)]
    pub typed: u64,
    /// Projects it ran in (roots), most runs first.
    pub projects: Vec<String>,
    /// Its record in each place it ran (evidence is kept per project), most runs first.
    #[serde(default)]
    pub places: Vec<PlanPlace>,
    /// The language model proposed it (`codex prefs show` says so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_model: bool,
}

impl PlanPrefs {
    /// Its record in `project` (a root, or `None` outside any project), if it ran there.
    pub fn place(&self, project: Option<&str>) -> Option<&PlanPlace> {
        let key = project.unwrap_or("");
        self.places.iter().find(|p| p.project == key)
    }
}

/// One plan's record in one place: a project root, or "" for runs outside any project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanPlace {
    /// The project root; empty outside any project.
    pub project: String,
    /// Posterior mean of "this plan satisfies the user" here.
    pub score: f64,
    /// Effective weight of the evidence here, after decay.
    pub evidence: f64,
    /// Runs here.
    pub runs: u64,
    /// Runs here that exited 0.
    pub successes: u64,
    /// Explicit ratings here.
    pub ratings: u64,
    /// Their mean.
    pub mean_rating: Option<f64>,
    /// Times the user replaced it here.
    pub corrected_away: u64,
    /// Times the user typed it here in a shell (imported history).
    #[serde(default)]
    pub typed: u64,
    /// The user kept it here. False while its runs here were only of a plan borrowed from
    /// another goal or project and neither rated 3 or more nor run twice: such runs add no
    /// evidence yet.
    pub kept: bool,
}

/// A tool's standing within a category: its best plan's score, and its totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolPrefs {
    /// Program and subcommand, e.g. `cargo nextest`.
    pub tool: String,
    /// The best score among its plans.
    pub score: f64,
    /// Runs over all its plans.
    pub runs: u64,
    /// successes / runs.
    pub success_rate: f64,
    /// Explicit ratings over all its plans.
    pub ratings: u64,
    /// Their mean.
    pub mean_rating: Option<f64>,
}

/// A value that is either set by the user, learned, or the default, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    /// The value in effect.
    pub value: String,
    /// `set` (by `codex prefs set`), `learned`, or `default`.
    pub source: String,
    /// What was learned (even when a setting overrides it).
    pub learned: Option<String>,
    /// The evidence, in words.
    pub evidence: String,
}

/// Working style, learned from behaviour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkingStyle {
    /// low, medium or high: how much may run without asking.
    pub autonomy_comfort: Setting,
    /// terse, normal or verbose.
    pub verbosity: Setting,
    /// Approvals given (`--yes` on a held-back command).
    pub approvals_given: u64,
    /// Approvals not given (a held-back command left unrun).
    pub approvals_denied: u64,
    /// Share of runs that were dry runs (`--dry-run`, `--check`, `plan`, ...).
    pub dry_run_share: f64,
    /// Runs counted for the shares.
    pub runs: u64,
    /// Runs per local hour of day (0..24).
    pub hours: Vec<u64>,
    /// The busiest hours, busiest first (up to 3).
    pub active_hours: Vec<u8>,
    /// After a failure, the next run in the project re-ran the same plan.
    pub failure_retry: u64,
    /// ...ran another plan for the same goal.
    pub failure_change_plan: u64,
    /// ...moved on to something else.
    pub failure_abandon: u64,
}

/// Workflow patterns of one project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectPatterns {
    /// The project root, or empty for runs outside any project and imported history.
    pub project: String,
    /// Its kind (`rust`, `node`, ...), empty when unknown.
    pub kind: String,
    /// Interactions seen.
    pub interactions: u64,
    /// Most frequent normalized goals, with counts.
    pub goals: Vec<GoalCount>,
    /// Most frequent "this goal, then that one" sequences.
    pub sequences: Vec<Sequence>,
    /// Interactions per local hour of day (24 values).
    pub hours: Vec<u64>,
    /// Interactions per weekday, Monday first (7 values).
    pub weekdays: Vec<u64>,
    /// Commands that worked here (from consolidated episodes), most successes first.
    pub commands: Vec<CommandCount>,
}

/// A goal and how often it occurred.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GoalCount {
    /// The normalized goal.
    pub goal: String,
    /// Occurrences.
    pub count: u64,
}

/// One goal followed by another.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// The first goal.
    pub from: String,
    /// The goal that followed.
    pub to: String,
    /// How often.
    pub count: u64,
    /// Mean time between them, in seconds.
    pub mean_gap_secs: f64,
}

/// A command's record in a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandCount {
    /// The command line.
    pub command: String,
    /// Its task category.
    pub category: String,
    /// Runs.
    pub runs: u64,
    /// Successful runs.
    pub successes: u64,
}
