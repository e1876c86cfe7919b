//! Data carried by the protocol's methods.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A run's id: a number that only grows within one CODEX_HOME, short enough to type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for RunId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse::<u64>().map(RunId).map_err(|_| {
            format!("`{s}` is not a run id (run ids are numbers, see `codex history`)")
        })
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunOutcome {
    /// The process exited on its own with this code.
    Exited {
        /// The process's exit code.
        code: i32,
    },
    /// The process was killed by a signal it did not expect.
    Signaled {
        /// The signal number.
        signal: i32,
    },
    /// The run was cancelled (client gone, or daemon shutting down); its process group was killed.
    Cancelled,
    /// The step ran longer than its timeout; its process group was killed.
    TimedOut {
        /// The timeout, in seconds.
        after_secs: u64,
    },
    /// The program could not be started (not found, not executable).
    FailedToStart {
        /// The operating system's reason.
        error: String,
        /// Whether the program was not found at all (as opposed to not runnable).
        not_found: bool,
    },
}

impl RunOutcome {
    /// Whether the run counts as a success (exit code 0).
    pub fn success(&self) -> bool {
        matches!(self, RunOutcome::Exited { code: 0 })
    }

    /// The exit status a shell would report for this outcome, which `codex run` exits with.
    pub fn exit_status(&self) -> i32 {
        match self {
            RunOutcome::Exited { code } => *code,
            RunOutcome::Signaled { signal } => 128 + signal,
            RunOutcome::Cancelled => 130,
            // As timeout(1) reports it.
            RunOutcome::TimedOut { .. } => 124,
            RunOutcome::FailedToStart {
                not_found: true, ..
            } => 127,
            RunOutcome::FailedToStart {
                not_found: false, ..
            } => 126,
        }
    }

    /// Short words for tables: `exit 0`, `signal 9`, `cancelled`, `not started`.
    pub fn label(&self) -> String {
        match self {
            RunOutcome::Exited { code } => format!("exit {code}"),
            RunOutcome::Signaled { signal } => format!("signal {signal}"),
            RunOutcome::Cancelled => "cancelled".into(),
            RunOutcome::TimedOut { after_secs } => format!("timed out after {after_secs}s"),
            RunOutcome::FailedToStart { .. } => "not started".into(),
        }
    }
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
}

/// Which part of a plan a run is: what the feedback collector may read into it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunPart {
    /// A command chosen on its own, or a plan's first step.
    #[default]
    Whole,
    /// A later step of the same plan: not a new choice (never a correction).
    Continues,
    /// A dry run the planner put first for a user who dry-runs: not the user's own doing.
    PlannedDryRun,
}

impl RunPart {
    /// The default, left out of stored records.
    pub fn is_whole(&self) -> bool {
        *self == RunPart::Whole
    }
}

/// Who started a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A person, through the CLI.
    #[default]
    User,
    /// A scheduled job.
    Schedule,
    /// A suggestion the user accepted (`codex suggest run N`).
    Suggestion,
}

impl Trigger {
    /// The default, left out of stored records.
    pub fn is_user(&self) -> bool {
        *self == Trigger::User
    }

    /// The word shown.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::User => "user",
            Trigger::Schedule => "schedule",
            Trigger::Suggestion => "suggestion",
        }
    }
}

/// How dangerous a command is, least to most. The order is the one comfort levels use:
/// a command's class is its most dangerous part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SafetyClass {
    /// Reads files or the system, changes nothing.
    ReadOnly,
    /// Changes files in the project (or the temp folder).
    WritesInProject,
    /// Talks to other machines.
    Network,
    /// Changes files or state outside the project.
    WritesOutsideProject,
    /// Deletes or overwrites data beyond easy recovery (`rm -r`, `dd`, `mkfs`), or publishes
    /// for good; also anything that cannot be checked.
    Destructive,
    /// Runs with elevated privileges (`sudo`, `doas`, `su`).
    Privileged,
}

impl fmt::Display for SafetyClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SafetyClass::ReadOnly => "read-only",
            SafetyClass::WritesInProject => "writes in the project",
            SafetyClass::Network => "network",
            SafetyClass::WritesOutsideProject => "writes outside the project",
            SafetyClass::Destructive => "destructive",
            SafetyClass::Privileged => "privileged",
        })
    }
}

/// Why a command was not run: the `data` of a [`crate::jsonrpc::codes::REFUSED`] error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The class that needs approval.
    pub class: SafetyClass,
    /// One sentence on why, naming the part of the command that triggered it.
    pub reason: String,
    /// The command line as it would have run.
    pub command: String,
}

/// One row of `codex history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The run.
    pub run_id: RunId,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// What the user asked for (for an explicit command, its command line).
    pub goal: String,
    /// Working directory it ran in.
    pub cwd: String,
    /// The command that ran: its steps joined by `&&` (redacted).
    #[serde(default)]
    pub command: String,
    /// The root of the project it ran in; `None` outside any project.
    #[serde(default)]
    pub project: Option<String>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The user's rating, 1..5, if given.
    pub rating: Option<u8>,
    /// The comment given with the rating.
    pub comment: Option<String>,
    /// Who started it.
    #[serde(default, skip_serializing_if = "Trigger::is_user")]
    pub trigger: Trigger,
    /// The scheduled job it was an occurrence of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
}

/// What has been learned about one program (the first word of a command).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramPrefs {
    /// Program name, e.g. `cargo`.
    pub program: String,
    /// Runs recorded.
    pub runs: u64,
    /// Runs that exited 0.
    pub successes: u64,
    /// successes / runs.
    pub success_rate: f64,
    /// Explicit ratings given to its runs.
    pub ratings: u64,
    /// Mean of those ratings.
    pub mean_rating: Option<f64>,
}

/// The user's overall satisfaction, from explicit ratings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Satisfaction {
    /// Ratings counted.
    pub ratings: u64,
    /// Plain mean of all current ratings.
    pub mean: Option<f64>,
    /// Exponentially weighted mean, recent ratings weigh more.
    pub recent: Option<f64>,
    /// Change of the weighted mean over the last ratings (up to 10): positive is better.
    #[serde(default)]
    pub trend: Option<f64>,
    /// The weighted mean after each of the last ratings (up to 30), oldest first.
    #[serde(default)]
    pub series: Vec<f64>,
}
