//! The optimizer's methods: telemetry alerts (`alerts`, `alerts/ack`), personal models
//! (`model/status`, `model/train`, `model/promote`, `model/rollback`), and the interval
//! decisions shown with a job.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::methods::{Method, NoParams};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Runs fail far more often than they recently did (overall, or one job's).
    FailureSpike,
    /// A run took much longer than its command usually does.
    SlowRun,
    /// CODEX_HOME's storage grew past `optimizer.storage_alert_bytes`.
    StorageGrowth,
    /// A job's occurrences were held for approval again and again.
    RepeatedlyHeld,
}

impl AlertKind {
    /// The words shown.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::FailureSpike => "failure spike",
            AlertKind::SlowRun => "slow run",
            AlertKind::StorageGrowth => "storage growth",
            AlertKind::RepeatedlyHeld => "held again and again",
        }
    }
}

/// What codex did about an alert, weighed by the user's autonomy comfort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertAction {
    /// Recorded and shown (`codex status`, `codex alerts`).
    Recorded,
    /// Recorded, and autonomous work (scheduled occurrences) paused until it is acknowledged.
    PausedAutonomy,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    /// Its id (never reused).
    pub id: u64,
    /// What it is about.
    pub kind: AlertKind,
    /// Where: "all runs", "job 3", a command.
    pub subject: String,
    /// The evidence, in words.
    pub evidence: String,
    /// The job it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
    /// When it was raised.
    pub raised: DateTime<Utc>,
    /// What codex did.
    pub action: AlertAction,
    /// When the user acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked: Option<DateTime<Utc>>,
}

/// `alerts`: the alerts, open first.
pub struct Alerts;

/// Params of [`Alerts`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsParams {
    /// Acknowledged ones too.
    #[serde(default)]
    pub all: bool,
}

/// Result of [`Alerts`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsResult {
    /// The alerts, newest first.
    pub alerts: Vec<AlertView>,
    /// Why autonomous work is paused, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonomy_paused: Option<String>,
    /// Whether adaptation is on (`adaptation_mechanisms_enabled`): off, alerts are recorded
    /// and shown but nothing is paused.
    pub adapting: bool,
}

impl Method for Alerts {
    const NAME: &'static str = "alerts";
    type Params = AlertsParams;
    type Result = AlertsResult;
}

/// `alerts/ack`: acknowledge an alert (autonomous work resumes once none that paused it is
/// open).
pub struct AlertsAck;

/// Params of [`AlertsAck`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsAckParams {
    /// The alert.
    pub id: u64,
}

/// Result of [`AlertsAck`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsAckResult {
    /// The alert, acknowledged.
    pub alert: AlertView,
    /// Why autonomous work is still paused (another open alert), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonomy_paused: Option<String>,
}

impl Method for AlertsAck {
    const NAME: &'static str = "alerts/ack";
    type Params = AlertsAckParams;
    type Result = AlertsAckResult;
}

/// Open alerts at a glance, for `codex status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertsStatus {
    /// Alerts not acknowledged.
    pub open: u64,
    /// Why autonomous work is paused, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonomy_paused: Option<String>,
    /// The live personal model's version (`None`: the config's parameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<u32>,
    /// Jobs codex paused because they kept failing.
    #[serde(default)]
    pub jobs_paused: u64,
}

/// A change the optimizer made to a job's interval, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalDecision {
    /// When.
    pub at: DateTime<Utc>,
    /// The interval before, in seconds.
    pub from_secs: u64,
    /// The interval after, in seconds.
    pub to_secs: u64,
    /// Whether the job was paused by it (at the longest interval).
    #[serde(default)]
    pub paused: bool,
    /// Why, with the evidence ("3 failures in a row").
    pub reason: String,
}

/// A personal model's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelState {
    /// What the planner, feedback and suggestions use now.
    Live,
    /// Promoted once, not live now.
    Retired,
    /// Trained, not promoted: worse than the live one on held-out data.
    Rejected,
    /// Trained, waiting for a decision (promotion was not automatic).
    Candidate,
}

/// Held-out metrics of a model, as shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    /// Held-out runs with a label.
    pub plan_examples: u64,
    /// Mean log-likelihood of the outcome (higher is better).
    pub log_likelihood: f64,
    /// Brier score (lower is better).
    pub brier: f64,
    /// Top-1 agreement with what the user was satisfied with.
    pub top1: f64,
    /// Next-goal top-1 and top-5 accuracy, when there were interactions to replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_goal: Option<(f64, f64)>,
    /// Off-policy estimate from the decision log: (IPS, SNIPS, matching decisions, decisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ope: Option<OpeView>,
}

/// An off-policy estimate, as shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpeView {
    /// Held-out decisions with a known outcome.
    pub decisions: u64,
    /// Of which the model would have made the same choice (with a propensity above 0).
    pub matching: u64,
    /// Inverse propensity scoring estimate of the mean reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ips: Option<f64>,
    /// Its self-normalised form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snips: Option<f64>,
    /// The mean reward of what was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged: Option<f64>,
}

/// One model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionView {
    /// Its version.
    pub version: u32,
    /// Its standing.
    pub state: ModelState,
    /// When it was trained.
    pub created: DateTime<Utc>,
    /// Why it was trained ("by hand", "satisfaction 2.1 under 2.5", "240 new examples").
    pub trigger: String,
    /// Its parameters, as `name: value` pairs.
    pub params: Vec<(String, String)>,
    /// Its held-out metrics.
    pub metrics: ModelMetrics,
    /// The live model's metrics on the same held-out data, when it was trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_metrics: Option<ModelMetrics>,
    /// The data it was trained and measured on, in words.
    pub data: String,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Training in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingView {
    /// When it started.
    pub started: DateTime<Utc>,
    /// Percent done.
    pub percent: u32,
    /// Why it started.
    pub trigger: String,
}

/// `model/status`: the versions, which is live, training in progress.
pub struct ModelStatus;

/// Result of [`ModelStatus`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelStatusResult {
    /// The live version (`None`: the config's parameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<u32>,
    /// Every version, newest first.
    pub versions: Vec<ModelVersionView>,
    /// Training in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingView>,
    /// How the last training ended, when it did not give a version (too little data...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Labelled examples since the last training.
    pub new_examples: u64,
    /// When training starts on its own, in words.
    pub triggers: String,
    /// Whether adaptation is on (`adaptation_mechanisms_enabled`).
    pub adapting: bool,
}

impl Method for ModelStatus {
    const NAME: &'static str = "model/status";
    type Params = NoParams;
    type Result = ModelStatusResult;
}

/// `model/train`: train a model now.
pub struct ModelTrain;

/// Params of [`ModelTrain`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelTrainParams {
    /// Answer when training ends (else at once, once it has started).
    #[serde(default)]
    pub wait: bool,
}

/// Result of [`ModelTrain`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelTrainResult {
    /// The version trained, when waited for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<ModelVersionView>,
    /// Whether it became live.
    #[serde(default)]
    pub promoted: bool,
    /// Training still runs (not waited for).
    #[serde(default)]
    pub running: bool,
}

impl Method for ModelTrain {
    const NAME: &'static str = "model/train";
    type Params = ModelTrainParams;
    type Result = ModelTrainResult;
}

/// `model/promote`: make a version live.
pub struct ModelPromote;

/// Params of [`ModelPromote`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPromoteParams {
    /// The version.
    pub version: u32,
}

/// Result of [`ModelPromote`] and [`ModelRollback`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelLiveResult {
    /// The live version now (`None`: the config's parameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<u32>,
    /// The one live before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was: Option<u32>,
}

impl Method for ModelPromote {
    const NAME: &'static str = "model/promote";
    type Params = ModelPromoteParams;
    type Result = ModelLiveResult;
}

/// `model/rollback`: go back to the version live before this one (or the config's
/// parameters).
pub struct ModelRollback;

impl Method for ModelRollback {
    const NAME: &'static str = "model/rollback";
    type Params = NoParams;
    type Result = ModelLiveResult;
}
