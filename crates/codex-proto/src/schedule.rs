//! Jobs that run on their own (`codex schedule`) and what codex expects next
//! (`codex suggest`): the methods, and the jobs, occurrences and suggestions they carry.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::methods::{Method, PlannedCommand};
use crate::types::RunId;

/// Which steps of a job run with nobody asked. Never "approve everything": destructive and
/// privileged steps are held for a yes whatever the policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobPolicy {
    /// What your autonomy comfort runs unattended (one level stricter than at a terminal)
    /// runs; a step that would need asking is held in `codex approvals`.
    #[default]
    Deny,
    /// Only steps matching one of your `codex rules allow` patterns run; every other step is
    /// held in `codex approvals`.
    Allowlist,
}

impl JobPolicy {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            JobPolicy::Deny => "deny",
            JobPolicy::Allowlist => "allowlist",
        }
    }
}

/// What to do at start about an occurrence missed while codexd was down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Run the latest missed occurrence once, if it is within the grace period.
    #[default]
    Once,
    /// Run nothing until the next occurrence.
    Skip,
}

impl CatchUp {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CatchUp::Once => "once",
            CatchUp::Skip => "skip",
        }
    }
}

/// When a job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// A cron expression in the user's local time zone, as given (5, 6 or 7 fields).
    Cron(String),
    /// Every so many seconds, counted from when the job was added.
    EverySecs(u64),
}

/// A job as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    /// Its id.
    pub id: u64,
    /// The name given with `--name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The goal in words, or the command line of an explicit command.
    pub goal: String,
    /// The folder it runs in.
    pub cwd: String,
    /// The project root there, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// When it runs.
    pub when: When,
    /// The same in words ("cron 0 9 * * 1-5", "every 10m").
    pub schedule: String,
    /// Its approval policy.
    pub policy: JobPolicy,
    /// What happens to an occurrence missed while codexd was down.
    pub catch_up: CatchUp,
    /// Paused: no occurrence runs until resumed.
    pub paused: bool,
    /// An occurrence of it is running now.
    pub running: bool,
    /// The plan it runs, fixed when it was added (or re-planned): its command line.
    pub plan: String,
    /// When it was added.
    pub created: DateTime<Utc>,
    /// Its next occurrence, unless paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<DateTime<Utc>>,
    /// Its last occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<OccurrenceView>,
    /// The suggestion it was accepted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<String>,
    /// The interval it runs at now, when the optimizer stretched it (an `--every` job that
    /// kept failing); `when` keeps the one chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_secs: Option<u64>,
    /// Why codex paused it, when codex did (not the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_by_codex: Option<String>,
}

/// How an occurrence came to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceKind {
    /// At its time.
    Scheduled,
    /// At start, for one missed while codexd was down.
    CatchUp,
    /// By `codex schedule run`.
    Manual,
}

/// How an occurrence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceResult {
    /// Still running.
    Running,
    /// Every step succeeded.
    Succeeded,
    /// A step failed; the steps after it did not run.
    Failed,
    /// A step needed a yes: it waits in `codex approvals`, and nothing after it ran.
    Held,
    /// A step was refused (a deny rule, a disliked plan, a program missing).
    Refused,
    /// codexd stopped or crashed while it ran.
    Interrupted,
    /// Missed while codexd was down and not caught up (`--catch-up skip`, or past the grace
    /// period).
    Skipped,
}

impl OccurrenceResult {
    /// The word shown.
    pub fn name(self) -> &'static str {
        match self {
            OccurrenceResult::Running => "running",
            OccurrenceResult::Succeeded => "succeeded",
            OccurrenceResult::Failed => "failed",
            OccurrenceResult::Held => "held",
            OccurrenceResult::Refused => "refused",
            OccurrenceResult::Interrupted => "interrupted",
            OccurrenceResult::Skipped => "skipped",
        }
    }
}

/// One occurrence of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OccurrenceView {
    /// The time it was scheduled for (its claim: a job runs each such time once).
    pub at: DateTime<Utc>,
    /// How it came to run.
    pub kind: OccurrenceKind,
    /// When it was claimed and started.
    pub started: DateTime<Utc>,
    /// How it ended.
    pub result: OccurrenceResult,
    /// Why, in words (the failed step, what was held and its approval id, ...).
    #[serde(default)]
    pub detail: String,
    /// The runs of its steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunId>,
    /// Wall time of all its steps, once finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Your rating of its last run, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
}

/// A job in full: its plan, its last occurrences and its next ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    /// The job.
    pub job: JobView,
    /// The plan it runs.
    pub plan: PlannedCommand,
    /// Its last occurrences, newest first.
    pub runs: Vec<OccurrenceView>,
    /// Its next occurrences (none while paused).
    pub next: Vec<DateTime<Utc>>,
    /// The optimizer's changes to its interval, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<crate::optimizer::IntervalDecision>,
}

/// `schedule/add`: a new job.
pub struct ScheduleAdd;

/// Params of [`ScheduleAdd`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleAddParams {
    /// The goal in words; for an explicit command, its command line.
    pub goal: String,
    /// An explicit command (`codex schedule add ... -- CMD ARGS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The folder it runs in (absolute).
    pub cwd: PathBuf,
    /// The client's `PATH`, kept with the job: its steps find their programs there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// When it runs.
    pub when: When,
    /// Its approval policy.
    #[serde(default)]
    pub policy: JobPolicy,
    /// Missed occurrences.
    #[serde(default)]
    pub catch_up: CatchUp,
    /// A name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Method for ScheduleAdd {
    const NAME: &'static str = "schedule/add";
    type Params = ScheduleAddParams;
    type Result = JobDetail;
}

/// `schedule/list`: every job.
pub struct ScheduleList;

/// Params of [`ScheduleList`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleListParams {}

/// Result of [`ScheduleList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleListResult {
    /// The jobs, by id.
    pub jobs: Vec<JobView>,
}

impl Method for ScheduleList {
    const NAME: &'static str = "schedule/list";
    type Params = ScheduleListParams;
    type Result = ScheduleListResult;
}

/// Params naming one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobIdParams {
    /// The job.
    pub id: u64,
    /// The client's `PATH` (`schedule/replan` plans with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `schedule/show`: one job in full.
pub struct ScheduleShow;

impl Method for ScheduleShow {
    const NAME: &'static str = "schedule/show";
    type Params = JobIdParams;
    type Result = JobDetail;
}

/// `schedule/rm`: remove a job (its past runs stay in history).
pub struct ScheduleRemove;

impl Method for ScheduleRemove {
    const NAME: &'static str = "schedule/rm";
    type Params = JobIdParams;
    type Result = JobView;
}

/// `schedule/pause`: no occurrence runs until resumed.
pub struct SchedulePause;

impl Method for SchedulePause {
    const NAME: &'static str = "schedule/pause";
    type Params = JobIdParams;
    type Result = JobView;
}

/// `schedule/resume`: occurrences run again (those missed while paused do not).
pub struct ScheduleResume;

impl Method for ScheduleResume {
    const NAME: &'static str = "schedule/resume";
    type Params = JobIdParams;
    type Result = JobView;
}

/// `schedule/run`: run an occurrence now, unattended like a scheduled one; answered when it
/// has ended.
pub struct ScheduleRun;

impl Method for ScheduleRun {
    const NAME: &'static str = "schedule/run";
    type Params = JobIdParams;
    type Result = OccurrenceView;
}

/// `schedule/replan`: plan the job's goal again, here and now, and keep that plan.
pub struct ScheduleReplan;

impl Method for ScheduleReplan {
    const NAME: &'static str = "schedule/replan";
    type Params = JobIdParams;
    type Result = JobDetail;
}

/// `suggest`: the goals codex expects next, here and now.
pub struct Suggest;

/// Params of [`Suggest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestParams {
    /// Where the user is (absolute).
    pub cwd: PathBuf,
    /// The client's `PATH`, where the plans' programs must be found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// At most this many.
    pub limit: u32,
    /// Answer the list last shown for this folder (within the hour) instead of a new one, so
    /// `codex suggest run N` runs the N the user saw.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shown: bool,
}

/// A goal codex expects next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Its number, for `codex suggest run N`.
    pub n: u32,
    /// The goal (words, or the command line you typed).
    pub goal: String,
    /// How likely it is next, 0..1.
    pub score: f64,
    /// Why, in words ("after `git pull` you ran `cargo test` 41 of 52 times").
    pub evidence: String,
    /// The plan it would run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlannedCommand>,
    /// The goal is a command you typed: its plan is that command, run as typed (through
    /// `sh -c` when it needs a shell).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub typed: bool,
    /// Whether `codex suggest run N` would run it without asking (every step fits your
    /// comfort here).
    pub runnable: bool,
    /// When it is not runnable: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

/// Result of [`Suggest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestResult {
    /// Best first.
    pub suggestions: Vec<Suggestion>,
    /// Interactions the model has learned from.
    pub learned_from: u64,
    /// The project it looked at, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Why there are no suggestions at all (`workflow_pattern_tracking: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off: Option<String>,
}

impl Method for Suggest {
    const NAME: &'static str = "suggest";
    type Params = SuggestParams;
    type Result = SuggestResult;
}

/// A recurring goal codex proposes as a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Its id, for `codex suggest accept|dismiss ID`.
    pub id: String,
    /// The goal.
    pub goal: String,
    /// The project it recurs in.
    pub project: String,
    /// The cron expression inferred (local time).
    pub cron: String,
    /// The evidence, in words.
    pub evidence: String,
    /// How sure, 0..1.
    pub confidence: f64,
    /// Distinct days it was seen on.
    pub days: u32,
    /// Why, as a job, each occurrence would wait for a yes (a step that needs asking
    /// unattended); absent when it would run on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
}

/// `suggest/jobs`: recurring goals proposed as jobs.
pub struct SuggestJobs;

/// Params of [`SuggestJobs`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestJobsParams {}

/// Result of [`SuggestJobs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestJobsResult {
    /// Most confident first.
    pub proposals: Vec<Proposal>,
    /// Why there are none at all (`workflow_pattern_tracking: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off: Option<String>,
}

impl Method for SuggestJobs {
    const NAME: &'static str = "suggest/jobs";
    type Params = SuggestJobsParams;
    type Result = SuggestJobsResult;
}

/// Params naming one proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalIdParams {
    /// The proposal.
    pub id: String,
    /// The client's `PATH` (`suggest/accept` plans the job with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `suggest/accept`: the proposal becomes a job (policy deny).
pub struct SuggestAccept;

impl Method for SuggestAccept {
    const NAME: &'static str = "suggest/accept";
    type Params = ProposalIdParams;
    type Result = JobDetail;
}

/// `suggest/dismiss`: the proposal is never made again.
pub struct SuggestDismiss;

/// Result of [`SuggestDismiss`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestDismissResult {
    /// The proposal dismissed.
    pub id: String,
    /// Its goal.
    pub goal: String,
}

impl Method for SuggestDismiss {
    const NAME: &'static str = "suggest/dismiss";
    type Params = ProposalIdParams;
    type Result = SuggestDismissResult;
}

/// Seconds as the shortest exact `1d2h3m4s` form.
pub fn interval_words(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}
