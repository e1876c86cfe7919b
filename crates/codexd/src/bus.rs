//! The event bus: facts that happened, broadcast to every part that learns from them.
//!
//! Producers publish after the fact is settled (a run finished, a rating is on disk);
//! subscribers poll the bus before their own inbox (`biased` select), so any request a
//! client sends after seeing a fact is answered by a part that has already taken it in.

use std::sync::Arc;

use codex_proto::types::{RunId, SafetyClass};
use tokio::sync::broadcast;

use crate::episode::{Draft, Episode};

/// Room for events not yet taken by the slowest subscriber. Runs are process spawns and
/// ratings are typed by hand, so subscribers (microseconds per event) never come close.
pub const CAPACITY: usize = 4096;

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Event {
    /// A run ended (any outcome) and is ready to be recorded.
    RunFinished(Arc<Episode>),
    /// A rating was stored durably.
    Rated(Arc<Rated>),
    /// A step needed approval and it was given or not.
    ApprovalAnswered(Arc<ApprovalAnswered>),
    /// The user ran another plan than the one ranked first (`codex run --pick N`).
    Picked(Arc<Picked>),
    /// A scheduled job's occurrence ended (recorded in the job store first).
    OccurrenceEnded(Arc<OccurrenceEnded>),
}

/// How a job's occurrence ended, for the optimizer.
#[derive(Debug, Clone, PartialEq)]
pub struct OccurrenceEnded {
    /// The job.
    pub job: u64,
    /// Its scheduled time.
    pub at: chrono::DateTime<chrono::Utc>,
    /// How it came to run.
    pub kind: codex_proto::schedule::OccurrenceKind,
    /// How it ended.
    pub result: codex_proto::schedule::OccurrenceResult,
    /// Why, in words.
    pub detail: String,
    /// The runs of its steps.
    pub runs: Vec<RunId>,
    /// The interval the user chose, for an `--every` job.
    pub chosen_secs: Option<u64>,
    /// The interval it runs at now.
    pub interval_secs: Option<u64>,
    /// Whether the job is paused now.
    pub paused: bool,
    /// When the job was added (tells it from a later job given the same id).
    pub created: chrono::DateTime<chrono::Utc>,
}

/// A plan chosen over the one ranked first.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    /// The run of the plan chosen.
    pub draft: Draft,
    /// The plan passed over (its signature, redacted).
    pub over: String,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// An approval answer: at a prompt, by `--yes`, or held back for want of a terminal.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalAnswered {
    /// The run it was about (named, not yet run).
    pub draft: Draft,
    /// Why approval was needed.
    pub class: SafetyClass,
    /// Whether it was given.
    pub approved: bool,
    /// Whether a person was asked (a prompt), as opposed to `--yes` or no terminal.
    pub asked: bool,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A rating, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Rated {
    /// The run rated.
    pub run_id: RunId,
    /// 1..5.
    pub score: u8,
    /// The user's comment.
    pub comment: Option<String>,
    /// When it was given.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The sending side of the bus.
pub type Bus = broadcast::Sender<Event>;

/// A new bus.
pub fn new() -> Bus {
    broadcast::channel(CAPACITY).0
}
