//! One type per method: its name, its params and its result. docs/protocol.md describes each.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::types::{HistoryEntry, OutputStream, ProgramPrefs, RunId, RunOutcome, Satisfaction};

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
    /// Whether the run was recorded (false when interaction tracking is off).
    pub recorded: bool,
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
    /// At most this many runs (default 20).
    #[serde(default)]
    pub limit: Option<u32>,
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

/// `prefs/show`: what has been learned so far.
pub struct PrefsShow;

/// Result of [`PrefsShow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrefsShowResult {
    /// Per program, most used first.
    pub programs: Vec<ProgramPrefs>,
    /// Overall satisfaction from ratings.
    pub satisfaction: Satisfaction,
    /// Whether the profile is updated from new signals (`user_preference_learning`).
    pub learning: bool,
}

impl Method for PrefsShow {
    const NAME: &'static str = "prefs/show";
    type Params = NoParams;
    type Result = PrefsShowResult;
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
