//! The scheduler's handle: the requests it answers and their errors.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use codex_proto::methods::PlannedCommand;
use codex_proto::schedule::{CatchUp, JobDetail, JobPolicy, JobView, OccurrenceView, When};
use tokio::sync::{mpsc, oneshot};

use super::jobs::Job;
use super::patterns;
use super::timing::TimingError;
use crate::store::StoreError;

/// Why a scheduler request failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// No such job.
    #[error("no job {0}: see `codex schedule list`")]
    UnknownJob(u64),
    /// The schedule is not usable.
    #[error(transparent)]
    Timing(#[from] TimingError),
    /// The job store could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The scheduler has stopped.
    #[error("the scheduler has stopped; the daemon is shutting down")]
    Gone,
    /// Pattern recognition is off.
    #[error("pattern recognition is off (workflow_pattern_tracking: false in the config)")]
    PatternsOff,
}

/// A job to add: everything but what the scheduler gives it (id, times).
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The name.
    pub name: Option<String>,
    /// The goal, or the explicit command's line.
    pub goal: String,
    /// Whether it is an explicit command.
    pub explicit: bool,
    /// Where it runs.
    pub cwd: PathBuf,
    /// The `PATH` its programs are found on.
    pub path: Option<String>,
    /// When.
    pub when: When,
    /// Its policy.
    pub policy: JobPolicy,
    /// Missed occurrences.
    pub catch_up: CatchUp,
    /// Its fixed plan.
    pub plan: PlannedCommand,
    /// The proposal it comes from.
    pub proposal: Option<String>,
}

pub(super) type Reply<T> = oneshot::Sender<Result<T, SchedulerError>>;

pub(super) enum Command {
    Add {
        job: Box<NewJob>,
        reply: Reply<JobDetail>,
    },
    List {
        reply: oneshot::Sender<Vec<JobView>>,
    },
    Show {
        id: u64,
        reply: Reply<JobDetail>,
    },
    Get {
        id: u64,
        reply: Reply<Job>,
    },
    Remove {
        id: u64,
        reply: Reply<JobView>,
    },
    Pause {
        id: u64,
        paused: bool,
        reply: Reply<JobView>,
    },
    Replan {
        id: u64,
        plan: Box<PlannedCommand>,
        reply: Reply<JobDetail>,
    },
    Adapt {
        change: Adaptation,
        reply: Reply<Option<codex_proto::optimizer::IntervalDecision>>,
    },
    RunNow {
        id: u64,
        reply: Reply<OccurrenceView>,
    },
    Dismiss {
        proposal: String,
        reply: Reply<()>,
    },
    Fired {
        id: u64,
        at: DateTime<Utc>,
    },
    HeldDone(Box<HeldDone>),
    Observe {
        items: Vec<patterns::Observed>,
        reply: oneshot::Sender<()>,
    },
    Predict {
        project: Option<String>,
        k: usize,
        reply: Reply<Predicted>,
    },
    Recurring {
        reply: Reply<Vec<patterns::Recurring>>,
    },
    Rebuild {
        dataset: PathBuf,
        reply: oneshot::Sender<()>,
    },
    Repattern {
        params: Box<codex_patterns::model::Params>,
        dataset: PathBuf,
        reply: oneshot::Sender<()>,
    },
    Relearned(u64, Box<patterns::Patterns>),
}

/// The optimizer's change to an `--every` job's interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Adaptation {
    /// The job.
    pub id: u64,
    /// The interval it should run at.
    pub to_secs: u64,
    /// Pause it (it kept failing at the longest interval).
    pub pause: bool,
    /// Why, with the evidence.
    pub reason: String,
}

/// A held step of a job, answered: how its run went (or why it did not run).
#[derive(Debug)]
pub(super) struct HeldDone {
    pub(super) id: u64,
    pub(super) at: DateTime<Utc>,
    pub(super) approval: u64,
    pub(super) command: String,
    pub(super) rest: usize,
    pub(super) report: Result<crate::executor::RunReport, String>,
}

/// What the model expects next, with what the server needs to plan each goal.
#[derive(Debug, Clone)]
pub struct Predicted {
    /// Best first.
    pub predictions: Vec<codex_patterns::Prediction>,
    /// For each prediction, the words of the command when the goal was a typed command.
    pub commands: Vec<Option<Vec<String>>>,
    /// Interactions learned from.
    pub learned: u64,
}

/// Cheap, cloneable access to the scheduler.
#[derive(Clone, Debug)]
pub struct SchedulerHandle {
    pub(super) tx: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("scheduler command")
    }
}

impl SchedulerHandle {
    /// Send a command and wait for its reply.
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SchedulerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| SchedulerError::Gone)?;
        rx.await.map_err(|_| SchedulerError::Gone)
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, SchedulerError> {
        self.call(make).await?
    }

    /// Add a job.
    pub async fn add(&self, job: NewJob) -> Result<JobDetail, SchedulerError> {
        self.ask(|reply| Command::Add {
            job: Box::new(job),
            reply,
        })
        .await
    }

    /// Every job.
    pub async fn list(&self) -> Result<Vec<JobView>, SchedulerError> {
        self.call(|reply| Command::List { reply }).await
    }

    /// One job in full.
    pub async fn show(&self, id: u64) -> Result<JobDetail, SchedulerError> {
        self.ask(|reply| Command::Show { id, reply }).await
    }

    /// One job as stored (its goal, folder and `PATH`, to plan it again).
    pub async fn job(&self, id: u64) -> Result<Job, SchedulerError> {
        self.ask(|reply| Command::Get { id, reply }).await
    }

    /// Remove a job.
    pub async fn remove(&self, id: u64) -> Result<JobView, SchedulerError> {
        self.ask(|reply| Command::Remove { id, reply }).await
    }

    /// Pause (or resume) a job.
    pub async fn pause(&self, id: u64, paused: bool) -> Result<JobView, SchedulerError> {
        self.ask(|reply| Command::Pause { id, paused, reply }).await
    }

    /// Change a job's interval (and pause it) for the optimizer; `None` when nothing
    /// changed (the job is gone, not an `--every` job, or already so).
    pub async fn adapt(
        &self,
        change: Adaptation,
    ) -> Result<Option<codex_proto::optimizer::IntervalDecision>, SchedulerError> {
        self.ask(|reply| Command::Adapt { change, reply }).await
    }

    /// Keep a new plan for a job.
    pub async fn replan(&self, id: u64, plan: PlannedCommand) -> Result<JobDetail, SchedulerError> {
        self.ask(|reply| Command::Replan {
            id,
            plan: Box::new(plan),
            reply,
        })
        .await
    }

    /// Run an occurrence now; answered when it has ended.
    pub async fn run_now(&self, id: u64) -> Result<OccurrenceView, SchedulerError> {
        self.ask(|reply| Command::RunNow { id, reply }).await
    }

    /// Learn what the user did (imported or recorded commands); answered once learned, so a
    /// `suggest` after it sees them.
    pub async fn observe(&self, items: Vec<patterns::Observed>) -> Result<(), SchedulerError> {
        self.call(|reply| Command::Observe { items, reply }).await
    }

    /// The `k` goals expected next in `project`, now.
    pub async fn predict(
        &self,
        project: Option<String>,
        k: usize,
    ) -> Result<Predicted, SchedulerError> {
        self.ask(|reply| Command::Predict { project, k, reply })
            .await
    }

    /// Recurring goals as proposed jobs, dismissed ones and ones already scheduled left out.
    pub async fn recurring(&self) -> Result<Vec<patterns::Recurring>, SchedulerError> {
        self.ask(|reply| Command::Recurring { reply }).await
    }

    /// Learn everything again from the dataset (after `forget`).
    pub async fn rebuild(&self, dataset: PathBuf) -> Result<(), SchedulerError> {
        self.call(|reply| Command::Rebuild { dataset, reply }).await
    }

    /// Learn everything again with other next-goal weights (a personal model promoted or
    /// rolled back), off the actor: answered at once, the new model used once it is learned.
    pub async fn repattern(
        &self,
        params: codex_patterns::model::Params,
        dataset: PathBuf,
    ) -> Result<(), SchedulerError> {
        self.call(|reply| Command::Repattern {
            params: Box::new(params),
            dataset,
            reply,
        })
        .await
    }

    /// Never make this proposal again.
    pub async fn dismiss(&self, proposal: String) -> Result<(), SchedulerError> {
        self.ask(|reply| Command::Dismiss { proposal, reply }).await
    }
}
