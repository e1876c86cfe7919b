//! One type per method: its name, its params and its result. docs/protocol.md describes each.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::prefs::{Profile, ProjectPatterns};
use crate::types::{HistoryEntry, OutputStream, RunId, RunOutcome, RunPart, SafetyClass};

/// A request method: its wire name and the shapes of its params and result.
pub trait Method {
    /// The method name on the wire.
    const NAME: &'static str;
    /// What the client sends.
    type Params: Serialize + DeserializeOwned;
    /// What the daemon answers.
    type Result: Serialize + DeserializeOwned;
}

/// A notification: sent without an id, never answered.
pub trait Notification {
    /// The method name on the wire.
    const NAME: &'static str;
    /// What it carries.
    type Params: Serialize + DeserializeOwned;
}

/// Params of methods that take none; also accepts an omitted or empty `params`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// `hello`: say who you are; learn the daemon's version.
pub struct Hello;

/// Params of [`Hello`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HelloParams {
    /// The client's name and version, for logs.
    #[serde(default)]
    pub client: Option<String>,
    /// The protocol version the client speaks; a mismatch is refused.
    #[serde(default)]
    pub protocol: Option<u32>,
    /// Hand over the notices not yet shown (the CLI prints them once, on stderr).
    #[serde(default)]
    pub notices: bool,
}

/// Result of [`Hello`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloResult {
    /// codexd's package version.
    pub daemon_version: String,
    /// The protocol version the daemon speaks.
    pub protocol: u32,
    /// The daemon's process id.
    pub pid: u32,
    /// The daemon's CODEX_HOME.
    pub home: PathBuf,
    /// How much codex itself prints, as set or learned: `terse`, `normal` or `verbose`.
    #[serde(default = "normal")]
    pub verbosity: String,
    /// What codex did on its own since the last command (a job paused, work paused by an
    /// alert), each said once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// How much longer than an ordinary answer a plan may take: the model planner's
    /// longest ask (tries, timeouts and back-off), in seconds; absent when it is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_wait_secs: Option<u64>,
}

fn normal() -> String {
    "normal".into()
}

impl Method for Hello {
    const NAME: &'static str = "hello";
    type Params = HelloParams;
    type Result = HelloResult;
}

/// `status`: what is running and how much has been recorded.
pub struct Status;

/// Result of [`Status`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusResult {
    /// codexd's package version.
    pub version: String,
    /// Protocol version.
    pub protocol: u32,
    /// Daemon process id.
    pub pid: u32,
    /// When the daemon started.
    pub started_at: DateTime<Utc>,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// CODEX_HOME.
    pub home: PathBuf,
    /// The socket the daemon listens on.
    pub socket: PathBuf,
    /// The config file in use; `None` when the built-in default is used.
    pub config: Option<PathBuf>,
    /// Whether runs are being recorded (`interaction_tracking_enabled`).
    pub tracking: bool,
    /// Episodes held in episodic memory.
    pub episodes: u64,
    /// Explicit ratings stored.
    pub ratings: u64,
    /// Runs in progress now.
    pub active_runs: u64,
    /// The sandbox steps run in.
    #[serde(default)]
    pub sandbox: SandboxStatus,
    /// Scheduled jobs (absent from daemons that predate the scheduler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<JobsStatus>,
    /// Alerts, paused work and the live personal model (absent from daemons that predate
    /// the optimizer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<crate::optimizer::AlertsStatus>,
    /// The language-model planner's record, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner_model: Option<crate::model_planner::ModelStats>,
}

/// Scheduled jobs at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsStatus {
    /// Jobs.
    pub total: u64,
    /// Of which paused.
    pub paused: u64,
    /// Occurrences running now.
    pub running: u64,
    /// The next occurrence of any job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<DateTime<Utc>>,
}

/// The sandbox as `codex status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SandboxStatus {
    /// `auto` or `off` (`safety.sandbox`).
    pub mode: String,
    /// Whether confined steps are kept from writing outside their project and from the
    /// network. When not, only read-only steps run without asking.
    pub enforced: bool,
    /// Why it is, or is not, enforced: what enforces it, or what is missing.
    #[serde(default)]
    pub reason: String,
    /// The Landlock ABI in effect (0: none).
    pub landlock_abi: u32,
    /// `.git/hooks` and `.git/config` can be kept read-only.
    pub git_read_only: bool,
    /// Signals and abstract sockets are scoped to a step's own processes.
    pub signals_scoped: bool,
    /// What a confined step may do, in words.
    pub allows: Vec<String>,
}

impl Method for Status {
    const NAME: &'static str = "status";
    type Params = NoParams;
    type Result = StatusResult;
}

/// `daemon/stop`: shut down gracefully (every part flushes, the socket is removed).
pub struct DaemonStop;

/// Result of [`DaemonStop`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStopResult {
    /// The pid of the daemon that is stopping.
    pub pid: u32,
}

impl Method for DaemonStop {
    const NAME: &'static str = "daemon/stop";
    type Params = NoParams;
    type Result = DaemonStopResult;
}

/// `run`: run an explicit command (no shell). Streams [`RunStarted`] and [`RunProgress`]
/// notifications on the same connection, then answers with [`RunResult`]. Closing the
/// connection cancels the run.
pub struct Run;

/// Params of [`Run`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// Program and arguments; the program is looked up on the `PATH` of `env`.
    pub argv: Vec<String>,
    /// Working directory (absolute).
    pub cwd: PathBuf,
    /// The environment to run with; `None` inherits the daemon's.
    #[serde(default)]
    pub env: Option<BTreeMap<String, String>>,
    /// Approve commands a safety rule would otherwise refuse.
    #[serde(default)]
    pub yes: bool,
    /// What the user wants done; the task category is learned under its normalized form.
    /// Without it the goal is the command line and the category is the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    /// The client answers `approval/request` (a person is at a terminal). Without it, a
    /// command that needs approval is refused.
    #[serde(default)]
    pub interactive: bool,
    /// The class a plan's tool declares: the run is treated as at least this dangerous
    /// (it can only raise the executor's own judgement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_class: Option<crate::types::SafetyClass>,
    /// `codex run --pick N`: the first step of the plan ranked first, which the user passed
    /// over for this one (a preference signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picked_over: Option<Vec<String>>,
    /// Which part of a plan this run is (`whole` unless a plan's later step or planned dry run).
    #[serde(default, skip_serializing_if = "RunPart::is_whole")]
    pub part: RunPart,
    /// `codex run --unconfined`: ask for every step on the terminal, and run it outside the
    /// sandbox after a yes (`yes` does not answer that question).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unconfined: bool,
    /// The client is at a terminal of this size: run the step on a pseudo-terminal and relay
    /// it (`run/tty` out, `run/input` and `run/resize` in). Ignored by `run/detach`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<crate::terminal::Tty>,
    /// The step is a suggestion the user chose to run (`codex suggest run N`): recorded
    /// with that trigger.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suggestion: bool,
}

/// Result of [`Run`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The run's id (for `codex rate --run`).
    pub run_id: RunId,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Whether the run was recorded (false when interaction tracking is off, or when it
    /// could not be saved).
    pub recorded: bool,
    /// Why the run's episode could not be saved (disk full, read-only storage): it is not in
    /// the history and cannot be rated. Absent when it was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_saved: Option<String>,
    /// When the step ran in the sandbox: what the sandbox allowed it (a step that failed
    /// there may have failed for that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
}

impl Method for Run {
    const NAME: &'static str = "run";
    type Params = RunParams;
    type Result = RunResult;
}

/// `run/started` notification: the process was spawned.
pub struct RunStarted;

/// Params of [`RunStarted`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStartedParams {
    /// The run's id.
    pub run_id: RunId,
    /// The process id of the command.
    pub pid: Option<u32>,
    /// Whether it runs in the sandbox.
    #[serde(default)]
    pub confined: bool,
    /// Something to tell the user about how it runs (the sandbox does not hold here, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Notification for RunStarted {
    const NAME: &'static str = "run/started";
    type Params = RunStartedParams;
}

/// `run/progress` notification: a chunk of the command's output.
pub struct RunProgress;

/// Params of [`RunProgress`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunProgressParams {
    /// The run's id.
    pub run_id: RunId,
    /// Which stream the chunk came from.
    pub stream: OutputStream,
    /// The bytes, as UTF-8 (invalid sequences replaced by U+FFFD).
    pub data: String,
}

impl Notification for RunProgress {
    const NAME: &'static str = "run/progress";
    type Params = RunProgressParams;
}

/// `rate`: give a run a score from 1 to 5. Durable before it is answered.
pub struct Rate;

/// Params of [`Rate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateParams {
    /// 1 (bad) to 5 (great).
    pub score: u8,
    /// The run to rate; the most recent run when absent.
    #[serde(default)]
    pub run_id: Option<RunId>,
    /// Free text, e.g. what should have happened instead.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Result of [`Rate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateResult {
    /// The run rated.
    pub run_id: RunId,
    /// Its goal, so the user sees what they rated.
    pub goal: String,
    /// The score stored.
    pub score: u8,
    /// The score it replaced, if the run was rated before.
    pub previous: Option<u8>,
}

impl Method for Rate {
    const NAME: &'static str = "rate";
    type Params = RateParams;
    type Result = RateResult;
}

/// `history`: recent runs, newest first.
pub struct History;

/// Params of [`History`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// At most this many runs (default 20), counted after the filters.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only runs that did not succeed (failed, signalled, timed out, cancelled, not started).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// Only runs whose project is the project containing this folder (absolute); a folder
    /// in no project stands for itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<PathBuf>,
    /// Only runs whose goal contains this text, case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    /// Only runs that started at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

/// Result of [`History`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryResult {
    /// Newest first.
    pub runs: Vec<HistoryEntry>,
}

impl Method for History {
    const NAME: &'static str = "history";
    type Params = HistoryParams;
    type Result = HistoryResult;
}

/// `run/detach`: start a run with nobody attached and answer at once. What needs approval is
/// held in `approvals` (one comfort level stricter unless `safety_enhanced_execution` is off at
/// high comfort); a plan the user dislikes is refused up front.
pub struct RunDetach;

/// Result of [`RunDetach`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetachResult {
    /// The command line.
    pub command: String,
    /// Its class.
    pub class: SafetyClass,
    /// What will happen: runs now, or waits for approval.
    pub decision: String,
}

impl Method for RunDetach {
    const NAME: &'static str = "run/detach";
    type Params = RunParams;
    type Result = RunDetachResult;
}

/// `approvals`: the approvals held for unattended runs; with `answer`, approve or deny one.
pub struct Approvals;

/// Params of [`Approvals`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsParams {
    /// Approve (`true`) or deny (`false`) approval `id` first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<ApprovalAnswer>,
}

/// An answer to a held approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalAnswer {
    /// The approval's id.
    pub id: u64,
    /// Yes or no.
    pub approved: bool,
}

/// One held approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// Its id.
    pub id: u64,
    /// The exact command line.
    pub command: String,
    /// Its class.
    pub class: SafetyClass,
    /// Why it has that class.
    pub reason: String,
    /// Why it is asked.
    pub why_asked: String,
    /// When it was held.
    pub created: DateTime<Utc>,
    /// When it expires (then it counts as denied).
    pub expires: DateTime<Utc>,
    /// The folder the step would run in.
    #[serde(default)]
    pub cwd: Option<String>,
    /// The project root of that folder, if it is in a project.
    #[serde(default)]
    pub project: Option<String>,
    /// The scheduled job whose step it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
}

/// Result of [`Approvals`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalsResult {
    /// Oldest first.
    pub pending: Vec<PendingApproval>,
}

impl Method for Approvals {
    const NAME: &'static str = "approvals";
    type Params = ApprovalsParams;
    type Result = ApprovalsResult;
}

/// `plan`: a goal in words becomes ranked plans for the project in `cwd`; runs nothing.
pub struct Plan;

/// Params of [`Plan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanParams {
    /// What the user wants done.
    pub goal: String,
    /// Where (absolute).
    pub cwd: PathBuf,
    /// The client's `PATH`, where the plans' programs must be found (the daemon's when
    /// absent): a plan whose program is missing is left out and said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The client is on a terminal: tools that open an editor or ask may be planned.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub terminal: bool,
}

/// Result of [`Plan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanResult {
    /// The goal as given.
    pub goal: String,
    /// The task it maps to (`test`, `build`, ...), if any.
    pub task: Option<String>,
    /// The project root, if any.
    pub project: Option<String>,
    /// Best first: the plan, then up to two alternatives.
    pub plans: Vec<PlannedCommand>,
    /// How they were ranked, in words (learned preference, a posterior draw, project fit).
    #[serde(default)]
    pub ranking: String,
    /// When there is no plan: why, what codex does know, and how to teach it.
    pub unknown: Option<String>,
    /// The goals you ran that are nearest to this one (in this project first), best first.
    #[serde(default)]
    pub similar: Vec<SimilarGoal>,
    /// Where goal embeddings came from: `local`, the endpoint's model and URL, or why the
    /// endpoint was not used.
    #[serde(default)]
    pub embeddings: String,
    /// Plans not offered because they cannot start or do not fit here, each with why
    /// ("`pytest` is not installed: ...", "`cargo test` (learned in /src/a) needs Cargo.toml").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// How the language model was asked for this goal, when it was (`planner.llm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<crate::model_planner::ModelAsk>,
}

/// A goal you ran, near the one planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarGoal {
    /// The goal (normalized).
    pub goal: String,
    /// The project it ran in, if any.
    pub project: Option<String>,
    /// Cosine similarity of the two goals placed in their projects, 0..1.
    pub similarity: f64,
    /// Its best plan there.
    pub plan: String,
    /// Runs of that plan there.
    pub runs: u64,
    /// Those that succeeded.
    pub successes: u64,
}

/// One plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCommand {
    /// Its command line.
    pub command: String,
    /// Its steps, each with why.
    pub steps: Vec<PlanStep>,
    /// The ranking score (learned preference plus project fit).
    pub score: f64,
    /// How likely it is to succeed, 0..1: its own record, pulled towards the record of its
    /// program (or of all your runs) while it has few runs of its own.
    pub confidence: f64,
    /// How well it matches what you have shown you like, 0..1.
    pub alignment: f64,
    /// The evidence behind the score, in words.
    pub evidence: String,
    /// Where it was borrowed from, when it is not yet this goal's own plan here: the plan of
    /// a goal said alike, or of this goal in another project, not yet kept (rated 3 or more,
    /// or run twice) here. A step of it that would change anything is asked the first time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub borrowed: Option<String>,
    /// The chance the planner's ranking had of putting this plan first (1 or 0 when ranking
    /// is greedy; estimated from draws with exploration), logged with the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propensity: Option<f64>,
    /// The language model proposed it (now, or before: a plan learned from one of its).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_model: bool,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanStep {
    /// The command.
    pub argv: Vec<String>,
    /// Why this step, in one line.
    pub rationale: String,
    /// The safety class its tool declares (the executor applies the stricter of this and
    /// its own judgement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<crate::types::SafetyClass>,
    /// A dry run put first for a user who dry-runs: `codex run` asks before going on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

impl Method for Plan {
    const NAME: &'static str = "plan";
    type Params = PlanParams;
    type Result = PlanResult;
}

/// `context`: what the daemon sees for a folder: project, commands, goals, preferences.
pub struct Context;

/// Params of [`Context`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextParams {
    /// The folder (absolute).
    pub cwd: PathBuf,
}

/// A command the project offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferedCommand {
    /// Its task.
    pub task: String,
    /// The command line.
    pub command: String,
    /// Where it was found.
    pub source: String,
}

/// Result of [`Context`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextResult {
    /// Whether context awareness is on (`context_awareness_enabled`).
    pub enabled: bool,
    /// The project root, if any.
    pub project: Option<String>,
    /// Its kind.
    pub kind: Option<String>,
    /// Its folder's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its languages, from its marker files.
    #[serde(default)]
    pub languages: Vec<String>,
    /// When its profile was read from its files (kept until one of them changes).
    #[serde(default)]
    pub read_at: Option<DateTime<Utc>>,
    /// The commands it offers.
    pub commands: Vec<OfferedCommand>,
    /// Its workflow patterns (frequent goals, sequences), when any.
    pub patterns: Option<ProjectPatterns>,
    /// The autonomy comfort in effect, and where it comes from.
    pub comfort: String,
    /// The goals with the most evidence, best plan first: what codex would do for them.
    pub preferences: Vec<String>,
}

impl Method for Context {
    const NAME: &'static str = "context";
    type Params = ContextParams;
    type Result = ContextResult;
}

/// `teach`: a playbook: this phrase means these steps (in this project unless global).
pub struct Teach;

/// Params of [`Teach`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeachParams {
    /// The goal phrase.
    pub phrase: String,
    /// The steps, each a command (program and arguments).
    pub steps: Vec<Vec<String>>,
    /// Where it was taught (absolute); its project is where the playbook applies.
    pub cwd: PathBuf,
    /// Apply in every project.
    #[serde(default)]
    pub global: bool,
}

/// A playbook as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookEntry {
    /// The phrase, normalized.
    pub phrase: String,
    /// The steps.
    pub steps: Vec<Vec<String>>,
    /// The project root it applies in; `None` for everywhere.
    pub project: Option<String>,
}

/// Result of [`Teach`] and [`Playbooks`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybooksResult {
    /// Every playbook.
    pub playbooks: Vec<PlaybookEntry>,
}

impl Method for Teach {
    const NAME: &'static str = "teach";
    type Params = TeachParams;
    type Result = PlaybooksResult;
}

/// `playbooks`: list them, or remove the ones of a phrase first.
pub struct Playbooks;

/// Params of [`Playbooks`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybooksParams {
    /// Remove the playbooks of this phrase first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<String>,
}

impl Method for Playbooks {
    const NAME: &'static str = "playbooks";
    type Params = PlaybooksParams;
    type Result = PlaybooksResult;
}

/// `run/check`: what `run` would do with a command, without running it (`codex run --dry-run`).
pub struct RunCheck;

/// Params of [`RunCheck`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunCheckParams {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory (absolute).
    pub cwd: PathBuf,
    /// As `run`'s `yes`.
    #[serde(default)]
    pub yes: bool,
    /// As `run`'s `min_class`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_class: Option<SafetyClass>,
    /// As `run`'s `env` (the sandbox expands its cache paths with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// As `run`'s `unconfined`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unconfined: bool,
    /// As `run`'s `goal`: a step of a plan shown for it is checked as that plan's step (a
    /// borrowed plan's step is asked the first time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
}

/// Result of [`RunCheck`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCheckResult {
    /// The command line.
    pub command: String,
    /// Its safety class.
    pub class: SafetyClass,
    /// Why, naming the part that decided.
    pub reason: String,
    /// The autonomy comfort in effect (`low`, `medium`, `high`) and where it comes from.
    pub comfort: String,
    /// Whether `run` would ask before running it.
    pub asks: bool,
    /// What `run` would do, in words: runs, runs (approved by --yes), asks (why), never
    /// runs (which rule).
    pub decision: String,
    /// Whether it would run in the sandbox (it runs without a yes typed for it). A step
    /// that is asked runs unconfined after a yes at the prompt.
    #[serde(default)]
    pub confined: bool,
    /// What the sandbox would allow it, or why it would run unconfined.
    #[serde(default)]
    pub sandbox: String,
}

impl Method for RunCheck {
    const NAME: &'static str = "run/check";
    type Params = RunCheckParams;
    type Result = RunCheckResult;
}

/// `approval/request`: sent by the daemon to an interactive `run` client before a step that
/// needs approval; the client answers with `{"approved": bool}`.
pub struct ApprovalRequest;

/// Params of [`ApprovalRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequestParams {
    /// The exact command line that would run.
    pub command: String,
    /// Its safety class.
    pub class: SafetyClass,
    /// Why it has that class.
    pub reason: String,
    /// Why it is asked (the comfort level, or "always asked").
    pub why_asked: String,
}

/// Result of [`ApprovalRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequestResult {
    /// Yes or no.
    pub approved: bool,
}

impl Method for ApprovalRequest {
    const NAME: &'static str = "approval/request";
    type Params = ApprovalRequestParams;
    type Result = ApprovalRequestResult;
}

/// `rules`: list the allow/ask/deny rules, adding or removing one first when asked.
pub struct Rules;

/// Params of [`Rules`]: at most one of `add` and `remove`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesParams {
    /// A rule to add (or whose kind to change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<RuleEntry>,
    /// The pattern of a rule to remove (one added with `codex rules`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<String>,
    /// The person confirmed at a terminal that this allow rule may let destructive commands
    /// run without asking (see `NEEDS_CONFIRMATION`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm_destructive: bool,
}

/// One allow/ask/deny rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleEntry {
    /// `allow`, `ask` or `deny`.
    pub kind: String,
    /// A glob over the command line.
    pub pattern: String,
    /// `config` or `codex rules` (ignored when adding).
    #[serde(default)]
    pub source: String,
}

/// Result of [`Rules`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesResult {
    /// Every rule.
    pub rules: Vec<RuleEntry>,
}

impl Method for Rules {
    const NAME: &'static str = "rules";
    type Params = RulesParams;
    type Result = RulesResult;
}

/// `prefs/show`: what has been learned so far, with its evidence.
pub struct PrefsShow;

/// Params of [`PrefsShow`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefsShowParams {
    /// Only this task category (matched after normalizing, like goals are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Only what was learned in the project containing this folder (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<PathBuf>,
}

/// Result of [`PrefsShow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefsShowResult {
    /// The learned profile (filtered as asked).
    #[serde(flatten)]
    pub profile: Profile,
    /// Workflow patterns per project, busiest first (filtered as asked).
    pub patterns: Vec<ProjectPatterns>,
    /// The project root `--project` resolved to, if one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Of the runs in episodic memory (in that project, when one was asked for), how many
    /// codex started on its own.
    #[serde(default)]
    pub started_by: StartedBy,
}

/// Runs by who started them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedBy {
    /// Started by you.
    pub user: u64,
    /// Occurrences of scheduled jobs.
    pub schedule: u64,
    /// Suggestions you chose to run.
    pub suggestion: u64,
    /// The jobs whose runs these are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<u64>,
}

impl Method for PrefsShow {
    const NAME: &'static str = "prefs/show";
    type Params = PrefsShowParams;
    type Result = PrefsShowResult;
}

/// `prefs/set`: an explicit setting, which overrides what is learned.
pub struct PrefsSet;

/// Params of [`PrefsSet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefsSetParams {
    /// `autonomy_comfort` or `verbosity`.
    pub key: String,
    /// low|medium|high for autonomy_comfort; terse|normal|verbose for verbosity.
    pub value: String,
}

/// Result of [`PrefsSet`] and [`PrefsUnset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefsSetResult {
    /// The key.
    pub key: String,
    /// The value now in effect.
    pub value: String,
    /// Where it comes from now: `set`, `learned` or `default`.
    pub source: String,
    /// The value set before, if any.
    pub previous: Option<String>,
}

impl Method for PrefsSet {
    const NAME: &'static str = "prefs/set";
    type Params = PrefsSetParams;
    type Result = PrefsSetResult;
}

/// `prefs/unset`: drop an explicit setting; the learned value applies again.
pub struct PrefsUnset;

/// Params of [`PrefsUnset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefsUnsetParams {
    /// The key.
    pub key: String,
}

impl Method for PrefsUnset {
    const NAME: &'static str = "prefs/unset";
    type Params = PrefsUnsetParams;
    type Result = PrefsSetResult;
}

/// `prefs/reset`: forget learned preferences (episodes and history stay).
pub struct PrefsReset;

/// Params of [`PrefsReset`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefsResetParams {
    /// Also drop explicit settings.
    #[serde(default)]
    pub all: bool,
}

/// Result of [`PrefsReset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefsResetResult {
    /// Signals dropped from the profile.
    pub signals: u64,
    /// Explicit settings dropped.
    pub settings: u64,
}

impl Method for PrefsReset {
    const NAME: &'static str = "prefs/reset";
    type Params = PrefsResetParams;
    type Result = PrefsResetResult;
}

/// `forget`: delete episodes from memory, dataset and knowledge, and rebuild the profile.
pub struct Forget;

/// Params of [`Forget`]: exactly one selector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgetParams {
    /// One run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunId>,
    /// Runs whose goal matches this glob (case-insensitive; `*` and `?`; a pattern without
    /// wildcards matches goals containing it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    /// Runs in this folder or below it (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<PathBuf>,
    /// Everything learned from runs, ratings and imports (explicit settings stay).
    #[serde(default)]
    pub all: bool,
    /// Only count what would be deleted.
    #[serde(default)]
    pub dry_run: bool,
}

/// Result of [`Forget`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForgetResult {
    /// Runs matched (in episodic memory or the dataset).
    pub runs: u64,
    /// Dataset lines removed (examples, labels, imported interactions).
    pub dataset_lines: u64,
    /// Ratings removed.
    pub ratings: u64,
    /// True when nothing was deleted (`dry_run`).
    pub dry_run: bool,
}

impl Method for Forget {
    const NAME: &'static str = "forget";
    type Params = ForgetParams;
    type Result = ForgetResult;
}

/// `import`: interactions from elsewhere (shell history), so patterns exist on day one.
pub struct Import;

/// One imported interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportEntry {
    /// The command line, which becomes the goal.
    pub command: String,
    /// When it happened (unix seconds), if the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// The folder it was typed in (absolute), where the history tells (a `cd` before it): a
    /// project's own command typed there is evidence for that command in that project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
}

/// How far an import of one history file got: the file, and fingerprints of its last
/// entries imported, so the next import of that file starts after them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportMark {
    /// The history file (absolute).
    pub file: String,
    /// Fingerprints of the last entries imported, oldest first (at most 16).
    pub tail: Vec<String>,
}

/// Params of [`Import`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// Where they come from, e.g. `zsh-history`.
    pub source: String,
    /// The interactions, oldest first. Send large imports in several calls.
    pub entries: Vec<ImportEntry>,
    /// Where the file's import stands once these entries are in; kept with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<ImportMark>,
}

/// Result of [`Import`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportResult {
    /// Interactions recorded.
    pub imported: u64,
    /// Entries skipped (empty after redaction and trimming).
    pub skipped: u64,
    /// Entries that were a project's own command, typed in that project: evidence for it.
    #[serde(default)]
    pub taught: u64,
}

impl Method for Import {
    const NAME: &'static str = "import";
    type Params = ImportParams;
    type Result = ImportResult;
}

/// `import/mark`: how far the last import of a history file got.
pub struct ImportMarkGet;

/// Params of [`ImportMarkGet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportMarkParams {
    /// The history file (absolute).
    pub file: String,
}

/// Result of [`ImportMarkGet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportMarkResult {
    /// Fingerprints of the last entries imported from it, oldest first; empty when it never was.
    pub tail: Vec<String>,
}

impl Method for ImportMarkGet {
    const NAME: &'static str = "import/mark";
    type Params = ImportMarkParams;
    type Result = ImportMarkResult;
}

/// `export`: the dataset as JSONL for existing trainers, streamed in `export/lines`.
pub struct Export;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// `{"messages":[...]}` chat fine-tuning examples.
    OpenaiChat,
    /// `{"prompt","chosen","rejected"}` from rated alternatives for the same goal.
    PreferencePairs,
    /// Raw episodes (dataset examples joined with their ratings).
    Episodes,
}

/// Params of [`Export`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// The format.
    pub format: ExportFormat,
    /// Only runs that finished at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only runs rated at least this (1..5); unrated runs are left out when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rating: Option<u8>,
    /// Only runs in this folder or below (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<PathBuf>,
}

/// Result of [`Export`], after every `export/lines` notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportResult {
    /// Lines sent.
    pub lines: u64,
}

impl Method for Export {
    const NAME: &'static str = "export";
    type Params = ExportParams;
    type Result = ExportResult;
}

/// `export/lines` notification: the next lines of an export, in order.
pub struct ExportLines;

/// Params of [`ExportLines`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportLinesParams {
    /// JSON lines without their newline.
    pub lines: Vec<String>,
}

impl Notification for ExportLines {
    const NAME: &'static str = "export/lines";
    type Params = ExportLinesParams;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn no_params_accepts_empty_and_rejects_extra() {
        assert!(serde_json::from_value::<NoParams>(json!({})).is_ok());
        assert!(serde_json::from_value::<NoParams>(json!({"x": 1})).is_err());
    }

    #[test]
    fn rate_params_name_the_missing_field() {
        let err = serde_json::from_value::<RateParams>(json!({"run_id": 3})).unwrap_err();
        assert!(err.to_string().contains("score"), "{err}");
    }
}
