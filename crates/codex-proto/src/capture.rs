//! Shell capture: the commands typed in a shell with codex's hook (`codex init bash|zsh|fish`)
//! recorded as interactions (`capture/record`), and capture paused, resumed or shown
//! (`capture/state`).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::methods::Method;

/// The longest command line recorded, in bytes; a longer one is refused, saying so.
pub const MAX_COMMAND_BYTES: usize = 16 * 1024;

/// `capture/record`: one command typed in a shell, after it finished.
pub struct CaptureRecord;

/// Params of [`CaptureRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureRecordParams {
    /// The command line as typed (at most [`MAX_COMMAND_BYTES`]).
    pub command: String,
    /// The folder it was typed in (absolute).
    pub cwd: PathBuf,
    /// When it started, unix milliseconds; now less `duration_ms` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<i64>,
    /// Its exit status, when the shell said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// How long it ran, when the shell said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// `bash`, `zsh` or `fish`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
}

/// Result of [`CaptureRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureRecordResult {
    /// Whether it was recorded.
    pub recorded: bool,
    /// Why not, when it was not (paused, a filter, tracking off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Whether it was also taken as a shell habit of its project.
    #[serde(default)]
    pub taught: bool,
}

impl Method for CaptureRecord {
    const NAME: &'static str = "capture/record";
    type Params = CaptureRecordParams;
    type Result = CaptureRecordResult;
}

/// `capture/state`: pause, resume, or show shell capture.
pub struct CaptureState;

/// What [`CaptureState`] does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureAction {
    /// Only show.
    #[default]
    Status,
    /// Stop recording (kept across daemon restarts) until resumed.
    Pause,
    /// Record again.
    Resume,
}

/// Params of [`CaptureState`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureStateParams {
    /// What to do; `status` when absent.
    #[serde(default)]
    pub action: CaptureAction,
}

/// Result of [`CaptureState`]: capture as it stands after the action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureStatus {
    /// Whether commands are recorded now: enabled, tracking on and not paused.
    pub active: bool,
    /// `capture.enabled` in the config.
    pub enabled: bool,
    /// `interaction_tracking_enabled` in the config.
    pub tracking: bool,
    /// Whether capture is paused (`codex capture pause`).
    pub paused: bool,
    /// Since when, if paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<DateTime<Utc>>,
    /// Commands recorded since the daemon started.
    pub recorded: u64,
    /// Commands left out since the daemon started (paused, filtered, tracking off).
    pub skipped: u64,
    /// `capture.exclude_dirs`, as configured.
    pub exclude_dirs: Vec<String>,
    /// `capture.exclude_patterns`, as configured.
    pub exclude_patterns: Vec<String>,
    /// The file that keeps the paused state.
    pub state_file: PathBuf,
}

impl Method for CaptureState {
    const NAME: &'static str = "capture/state";
    type Params = CaptureStateParams;
    type Result = CaptureStatus;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn record_params_take_only_command_and_cwd_and_refuse_unknown_keys() {
        let p: CaptureRecordParams =
            serde_json::from_value(json!({"command": "ls", "cwd": "/tmp"})).unwrap();
        assert_eq!((p.exit, p.duration_ms, p.start_ms), (None, None, None));
        assert!(
            serde_json::from_value::<CaptureRecordParams>(
                json!({"command": "ls", "cwd": "/tmp", "exit_code": 1})
            )
            .is_err()
        );
        let e =
            serde_json::from_value::<CaptureRecordParams>(json!({"command": "ls"})).unwrap_err();
        assert!(e.to_string().contains("cwd"), "{e}");
    }

    #[test]
    fn state_action_defaults_to_status() {
        let p: CaptureStateParams = serde_json::from_value(json!({})).unwrap();
        assert_eq!(p.action, CaptureAction::Status);
        let p: CaptureStateParams = serde_json::from_value(json!({"action": "pause"})).unwrap();
        assert_eq!(p.action, CaptureAction::Pause);
        assert!(serde_json::from_value::<CaptureStateParams>(json!({"action": "stop"})).is_err());
    }
}
