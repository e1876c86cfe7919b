//! The scheduler: jobs that run on their own, and (in [`patterns`]) what the user is likely to
//! do next.
//!
//! One actor owns the job store ([`jobs`]), the timer and the occurrences running. The timer
//! is tokio-cron-scheduler, armed with one one-shot job per active job at its next occurrence:
//! occurrences are computed here ([`timing`], croner in the local zone) because the crate's
//! cron jobs keep the UTC offset of the moment they were added, and would drift by an hour at
//! a daylight-saving change. When a one-shot fires, the occurrence is claimed durably (job id
//! and scheduled time, [`jobs::JobOp::Claim`]) and only then run ([`occurrence`]); a second
//! fire, a restart or a catch-up finds the claim and runs nothing.
//!
//! Shutdown: the actor ends on the daemon's cancellation token, after its running occurrences
//! (cancelled with it) have finished and been recorded; it holds an executor handle, so the
//! executor outlives it.

pub mod claims;
pub mod jobs;
pub mod occurrence;
pub mod patterns;
pub mod timing;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};
use codex_proto::methods::PlannedCommand;
use codex_proto::prefs::Profile;
use codex_proto::schedule::{
    CatchUp, JobDetail, JobPolicy, JobView, OccurrenceKind, OccurrenceResult, OccurrenceView, When,
};
use codex_proto::types::RunId;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_cron_scheduler::{Job as TimerJob, JobScheduler};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::bus::{Bus, Event};
use crate::config::Config;
use crate::episode::Draft;
use crate::executor::ExecutorHandle;
use crate::store::journal::Journaled;
use crate::store::{Layout, StoreError};
use jobs::{Finished, Job, JobOp, Jobs, Occurrence};
use timing::{Schedule, TimingError};

/// How late a timer may fire on its own before a tick treats the occurrence as missed.
const LATE: chrono::Duration = chrono::Duration::seconds(5);

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

type Reply<T> = oneshot::Sender<Result<T, SchedulerError>>;

enum Command {
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
    RunNow {
        id: u64,
        reply: Reply<OccurrenceView>,
    },
    Dismissed {
        reply: oneshot::Sender<std::collections::BTreeSet<String>>,
    },
    Dismiss {
        proposal: String,
        reply: Reply<()>,
    },
    Fired {
        id: u64,
        at: DateTime<Utc>,
    },
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
    tx: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("scheduler command")
    }
}

impl SchedulerHandle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, SchedulerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| SchedulerError::Gone)?;
        rx.await.map_err(|_| SchedulerError::Gone)?
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
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::List { reply })
            .await
            .map_err(|_| SchedulerError::Gone)?;
        rx.await.map_err(|_| SchedulerError::Gone)
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

    /// The proposals the user dismissed.
    pub async fn dismissed(&self) -> Result<std::collections::BTreeSet<String>, SchedulerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Dismissed { reply })
            .await
            .map_err(|_| SchedulerError::Gone)?;
        rx.await.map_err(|_| SchedulerError::Gone)
    }

    /// Learn what the user did (imported or recorded commands); answered once learned, so a
    /// `suggest` after it sees them.
    pub async fn observe(&self, items: Vec<patterns::Observed>) -> Result<(), SchedulerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Observe { items, reply })
            .await
            .map_err(|_| SchedulerError::Gone)?;
        rx.await.map_err(|_| SchedulerError::Gone)
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
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Rebuild { dataset, reply })
            .await
            .map_err(|_| SchedulerError::Gone)?;
        rx.await.map_err(|_| SchedulerError::Gone)
    }

    /// Never make this proposal again.
    pub async fn dismiss(&self, proposal: String) -> Result<(), SchedulerError> {
        self.ask(|reply| Command::Dismiss { proposal, reply }).await
    }
}

/// The running scheduler, as returned by [`start`].
#[derive(Debug)]
pub struct Started {
    /// Access for others.
    pub handle: SchedulerHandle,
    /// The actor task.
    pub task: JoinHandle<()>,
}

/// An occurrence waiting for a free slot.
#[derive(Debug, Clone)]
struct Due {
    id: u64,
    at: DateTime<Utc>,
    kind: OccurrenceKind,
    note: Option<String>,
}

struct Actor {
    store: Journaled<Jobs>,
    executor: ExecutorHandle,
    profile: watch::Receiver<Arc<Profile>>,
    timer: Option<JobScheduler>,
    armed: HashMap<u64, (DateTime<Utc>, uuid::Uuid)>,
    inbox_tx: mpsc::WeakSender<Command>,
    queue: Vec<Due>,
    running: JoinSet<(u64, DateTime<Utc>, Finished)>,
    waiters: HashMap<(u64, DateTime<Utc>), Vec<Reply<OccurrenceView>>>,
    /// Ratings of the jobs' runs, for their recent satisfaction.
    ratings: HashMap<RunId, u8>,
    max_concurrent: usize,
    grace: chrono::Duration,
    cancel: CancellationToken,
    /// The next-goal model; `None` when pattern recognition is off.
    patterns: Option<patterns::Patterns>,
}

/// Open the job store (finishing occurrences a crash cut short), arm the timer, catch up
/// what was missed, and start the actor.
pub async fn start(
    layout: &Layout,
    config: &Config,
    bus: &Bus,
    executor: ExecutorHandle,
    profile: watch::Receiver<Arc<Profile>>,
    shutdown: CancellationToken,
) -> Result<Started, StoreError> {
    let (store, recovery) =
        Journaled::<Jobs>::open(layout.jobs.clone(), config.storage.compact_min_bytes.get())?;
    if let Some(moved) = &recovery.snapshot_moved_to {
        error!(moved_to = %moved.display(), "the job store did not parse; it was moved aside and jobs start from its journal");
    }
    let events = bus.subscribe();
    let (tx, rx) = mpsc::channel(256);
    let timer = match JobScheduler::new().await {
        Ok(t) => match t.start().await {
            Ok(()) => Some(t),
            Err(e) => {
                error!(
                    "the job timer did not start ({e}); jobs run only with `codex schedule run`"
                );
                None
            }
        },
        Err(e) => {
            error!("the job timer did not start ({e}); jobs run only with `codex schedule run`");
            None
        }
    };
    let mut actor = Actor {
        store,
        executor,
        profile,
        timer,
        armed: HashMap::new(),
        inbox_tx: tx.downgrade(),
        queue: Vec::new(),
        running: JoinSet::new(),
        waiters: HashMap::new(),
        ratings: HashMap::new(),
        max_concurrent: config.scheduler.max_concurrent.get() as usize,
        grace: chrono::Duration::seconds(
            i64::try_from(config.scheduler.catch_up_grace_secs.get()).unwrap_or(i64::MAX / 4),
        ),
        cancel: shutdown.child_token(),
        patterns: (config.workflow_pattern_tracking && config.interaction_tracking_enabled)
            .then(patterns::Patterns::default),
    };
    actor.finish_interrupted()?;
    let dataset = layout.dataset.clone();
    let tick = std::time::Duration::from_secs(config.scheduler.tick_secs.get());
    let task = tokio::spawn(async move {
        actor.rebuild(dataset).await;
        actor.catch_up(Utc::now(), chrono::Duration::zero());
        actor.arm_all().await;
        actor.start_due();
        actor.serve(rx, events, shutdown, tick).await;
    });
    Ok(Started {
        handle: SchedulerHandle { tx },
        task,
    })
}

impl Actor {
    /// Occurrences claimed before a crash or stop and never finished are recorded as
    /// interrupted, so no job is left "running".
    fn finish_interrupted(&mut self) -> Result<(), StoreError> {
        for (id, at) in self.store.state().unfinished() {
            warn!(job = id, at = %at, "an occurrence was cut short by a stop or crash");
            self.store.append(
                JobOp::Finish {
                    id,
                    at,
                    finished: Finished {
                        result: OccurrenceResult::Interrupted,
                        detail: "codexd stopped or crashed while it ran".into(),
                        runs: Vec::new(),
                        duration_ms: 0,
                        at: Utc::now(),
                    },
                },
                true,
            )?;
        }
        Ok(())
    }

    async fn serve(
        mut self,
        mut inbox: mpsc::Receiver<Command>,
        mut events: broadcast::Receiver<Event>,
        shutdown: CancellationToken,
        tick: std::time::Duration,
    ) {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let mut bus_open = true;
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                ev = events.recv(), if bus_open => match ev {
                    Ok(ev) => self.on_event(ev),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        warn!("the scheduler missed {n} events");
                    }
                    Err(broadcast::error::RecvError::Closed) => bus_open = false,
                },
                Some(done) = self.running.join_next(), if !self.running.is_empty() => {
                    self.finished(done);
                    self.start_due();
                }
                Some(cmd) = inbox.recv() => {
                    self.on_command(cmd).await;
                    self.start_due();
                }
                _ = ticker.tick() => {
                    self.catch_up(Utc::now(), LATE);
                    self.start_due();
                }
            }
        }
        self.stop().await;
    }

    async fn stop(mut self) {
        self.cancel.cancel();
        self.queue.clear();
        while let Some(done) = self.running.join_next().await {
            self.finished(done);
        }
        if let Some(mut t) = self.timer.take()
            && let Err(e) = t.shutdown().await
        {
            warn!("the job timer did not stop cleanly: {e}");
        }
        if let Err(e) = self.store.sync() {
            error!("cannot flush the job store: {e}");
        }
        info!("scheduler stopped");
    }

    /// Learn again, in order, everything the dataset records the user did.
    async fn rebuild(&mut self, dataset: PathBuf) {
        if self.patterns.is_none() {
            return;
        }
        let read = tokio::task::spawn_blocking(move || {
            let mut fresh = patterns::Patterns::default();
            // Streamed: the dataset may be tens of megabytes.
            let file = match std::fs::File::open(&dataset) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return fresh,
                Err(e) => {
                    warn!(file = %dataset.display(), "cannot read the dataset to learn patterns from: {e}");
                    return fresh;
                }
            };
            let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
            let mut line = Vec::new();
            loop {
                line.clear();
                match std::io::BufRead::read_until(&mut reader, b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        warn!(file = %dataset.display(), "stopped reading the dataset for patterns: {e}");
                        break;
                    }
                }
                if let Ok(r) = serde_json::from_slice::<crate::learning::dataset::Record>(&line)
                    && let Some(o) = patterns::Observed::of_record(&r)
                {
                    fresh.observe(o);
                }
            }
            fresh
        })
        .await;
        match read {
            Ok(p) => {
                info!(
                    interactions = p.learned(),
                    "next-goal model learned from the dataset"
                );
                self.patterns = Some(p);
            }
            Err(e) => error!("learning patterns from the dataset failed: {e}"),
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::RunFinished(e) => {
                if let (Some(p), Some(o)) = (self.patterns.as_mut(), patterns::Observed::of_run(&e))
                {
                    p.observe(o);
                }
                if e.job.is_some()
                    && let Some(r) = e.rating
                {
                    self.ratings.insert(e.run_id, r);
                }
            }
            Event::Rated(r) => {
                let ours = self
                    .store
                    .state()
                    .occurrences
                    .values()
                    .flatten()
                    .filter_map(|o| o.finished.as_ref())
                    .any(|f| f.runs.contains(&r.run_id));
                if ours {
                    self.ratings.insert(r.run_id, r.score);
                }
            }
            _ => {}
        }
    }

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Add { job, reply } => {
                let r = self.add(*job).await;
                let _ = reply.send(r);
            }
            Command::List { reply } => {
                let now = Utc::now();
                let views = self
                    .store
                    .state()
                    .jobs
                    .values()
                    .map(|j| self.view(j, now))
                    .collect();
                let _ = reply.send(views);
            }
            Command::Show { id, reply } => {
                let _ = reply.send(self.detail(id));
            }
            Command::Get { id, reply } => {
                let r = self
                    .store
                    .state()
                    .jobs
                    .get(&id)
                    .cloned()
                    .ok_or(SchedulerError::UnknownJob(id));
                let _ = reply.send(r);
            }
            Command::Remove { id, reply } => {
                let r = self.remove(id).await;
                let _ = reply.send(r);
            }
            Command::Pause { id, paused, reply } => {
                let r = self.pause(id, paused).await;
                let _ = reply.send(r);
            }
            Command::Replan { id, plan, reply } => {
                let r = match self.store.state().jobs.contains_key(&id) {
                    false => Err(SchedulerError::UnknownJob(id)),
                    true => self
                        .store
                        .append(JobOp::Replan { id, plan }, true)
                        .map_err(SchedulerError::from)
                        .and_then(|()| self.detail(id)),
                };
                let _ = reply.send(r);
            }
            Command::RunNow { id, reply } => {
                if !self.store.state().jobs.contains_key(&id) {
                    let _ = reply.send(Err(SchedulerError::UnknownJob(id)));
                    return;
                }
                // Millisecond claims: two `run` requests in the same instant are still two.
                let mut at = Utc::now();
                while self.store.state().claimed(id, at)
                    || self.queue.iter().any(|d| d.id == id && d.at == at)
                {
                    at += chrono::Duration::milliseconds(1);
                }
                self.waiters.entry((id, at)).or_default().push(reply);
                self.queue.push(Due {
                    id,
                    at,
                    kind: OccurrenceKind::Manual,
                    note: None,
                });
            }
            Command::Dismissed { reply } => {
                let _ = reply.send(self.store.state().dismissed.clone());
            }
            Command::Dismiss { proposal, reply } => {
                let r = self
                    .store
                    .append(JobOp::Dismiss { proposal }, true)
                    .map_err(SchedulerError::from);
                let _ = reply.send(r);
            }
            Command::Observe { items, reply } => {
                if let Some(p) = self.patterns.as_mut() {
                    for o in items {
                        p.observe(o);
                    }
                }
                let _ = reply.send(());
            }
            Command::Predict { project, k, reply } => {
                let r = match &self.patterns {
                    None => Err(SchedulerError::PatternsOff),
                    Some(p) => {
                        let predictions = p.predict(Utc::now(), project.as_deref(), k);
                        let commands = predictions
                            .iter()
                            .map(|x| p.command(&x.goal).cloned())
                            .collect();
                        Ok(Predicted {
                            predictions,
                            commands,
                            learned: p.learned(),
                        })
                    }
                };
                let _ = reply.send(r);
            }
            Command::Recurring { reply } => {
                let r = match &self.patterns {
                    None => Err(SchedulerError::PatternsOff),
                    Some(p) => {
                        let state = self.store.state();
                        let scheduled: Vec<(String, String)> = state
                            .jobs
                            .values()
                            .map(|j| {
                                let root = crate::context::project::detect(&j.cwd)
                                    .map(|p| p.root.display().to_string())
                                    .unwrap_or_else(|| j.cwd.display().to_string());
                                (j.goal.clone(), root)
                            })
                            .collect();
                        Ok(p.recurring()
                            .into_iter()
                            .filter(|x| !state.dismissed.contains(&x.proposal.id))
                            .filter(|x| {
                                !scheduled.iter().any(|(g, root)| {
                                    *g == x.proposal.goal
                                        && Some(root) == x.proposal.project.as_ref()
                                })
                            })
                            .collect())
                    }
                };
                let _ = reply.send(r);
            }
            Command::Rebuild { dataset, reply } => {
                self.rebuild(dataset).await;
                let _ = reply.send(());
            }
            Command::Fired { id, at } => {
                if self.armed.get(&id).is_some_and(|(t, _)| *t == at) {
                    self.armed.remove(&id);
                }
                let ok = self.store.state().jobs.get(&id).is_some_and(|j| !j.paused);
                if ok && !self.store.state().claimed(id, at) && !self.queued(id, at) {
                    self.queue.push(Due {
                        id,
                        at,
                        kind: OccurrenceKind::Scheduled,
                        note: None,
                    });
                }
                self.arm(id, at).await;
            }
        }
    }

    fn queued(&self, id: u64, at: DateTime<Utc>) -> bool {
        self.queue.iter().any(|d| d.id == id && d.at == at)
    }

    async fn add(&mut self, new: NewJob) -> Result<JobDetail, SchedulerError> {
        // Whole seconds: the timer fires on whole seconds, so an interval's occurrences must
        // fall on them too, or they would run before their time.
        let now = Utc::now().trunc_subsecs(0);
        timing::validate(&new.when, now)?;
        let id = self.store.state().next_id.max(1);
        let job = Job {
            id,
            name: new.name,
            goal: new.goal,
            explicit: new.explicit,
            cwd: new.cwd,
            path: new.path,
            when: new.when,
            policy: new.policy,
            catch_up: new.catch_up,
            plan: new.plan,
            paused: false,
            created: now,
            active_since: now,
            proposal: new.proposal,
        };
        self.store.append(JobOp::Add { job: Box::new(job) }, true)?;
        info!(job = id, "job added");
        self.arm(id, now).await;
        self.detail(id)
    }

    async fn remove(&mut self, id: u64) -> Result<JobView, SchedulerError> {
        let view = self
            .store
            .state()
            .jobs
            .get(&id)
            .map(|j| self.view(j, Utc::now()))
            .ok_or(SchedulerError::UnknownJob(id))?;
        self.store.append(JobOp::Remove { id }, true)?;
        self.disarm(id).await;
        self.queue.retain(|d| d.id != id);
        info!(job = id, "job removed");
        Ok(view)
    }

    async fn pause(&mut self, id: u64, paused: bool) -> Result<JobView, SchedulerError> {
        if !self.store.state().jobs.contains_key(&id) {
            return Err(SchedulerError::UnknownJob(id));
        }
        let now = Utc::now().trunc_subsecs(0);
        self.store.append(
            JobOp::Pause {
                id,
                paused,
                at: now,
            },
            true,
        )?;
        if paused {
            self.disarm(id).await;
            self.queue
                .retain(|d| d.id != id || d.kind == OccurrenceKind::Manual);
        } else {
            self.arm(id, now).await;
        }
        let job = self
            .store
            .state()
            .jobs
            .get(&id)
            .ok_or(SchedulerError::UnknownJob(id))?;
        Ok(self.view(job, now))
    }

    /// Arm the timer for job `id`'s next occurrence after `after`.
    async fn arm(&mut self, id: u64, after: DateTime<Utc>) {
        self.disarm(id).await;
        let Some(job) = self.store.state().jobs.get(&id) else {
            return;
        };
        if job.paused {
            return;
        }
        let schedule = match Schedule::new(&job.when, job.created) {
            Ok(s) => s,
            Err(e) => {
                error!(job = id, "job's schedule is not usable: {e}");
                return;
            }
        };
        let now = Utc::now();
        let Some(next) = schedule.next_after(after.max(now - LATE)) else {
            return;
        };
        let (Some(timer), Some(tx)) = (&self.timer, self.inbox_tx.upgrade()) else {
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        let instant = std::time::Instant::now() + wait;
        let made = TimerJob::new_one_shot_at_instant_async(instant, move |_, _| {
            let tx = tx.clone();
            Box::pin(async move {
                let _ = tx.send(Command::Fired { id, at: next }).await;
            })
        });
        match made {
            Ok(one_shot) => match timer.add(one_shot).await {
                Ok(uuid) => {
                    self.armed.insert(id, (next, uuid));
                }
                Err(e) => error!(job = id, "cannot arm the job's timer: {e}"),
            },
            Err(e) => error!(job = id, "cannot arm the job's timer: {e}"),
        }
    }

    async fn disarm(&mut self, id: u64) {
        if let Some((_, uuid)) = self.armed.remove(&id)
            && let Some(timer) = &self.timer
            && let Err(e) = timer.remove(&uuid).await
        {
            warn!(job = id, "cannot disarm the job's timer: {e}");
        }
    }

    async fn arm_all(&mut self) {
        let ids: Vec<u64> = self.store.state().jobs.keys().copied().collect();
        let now = Utc::now();
        for id in ids {
            self.arm(id, now).await;
        }
    }

    /// Queue (or record as skipped) the latest missed occurrence of every job.
    fn catch_up(&mut self, now: DateTime<Utc>, late: chrono::Duration) {
        let jobs: Vec<Job> = self.store.state().jobs.values().cloned().collect();
        for job in jobs {
            let Ok(schedule) = Schedule::new(&job.when, job.created) else {
                continue;
            };
            let missed = claims::missed(&job, self.store.state(), &schedule, now, late, self.grace);
            match missed {
                claims::Missed::Nothing => {}
                claims::Missed::Run { at, .. } if self.queued(job.id, at) => {}
                claims::Missed::Run { at, detail } => {
                    info!(job = job.id, at = %at, "catching up a missed occurrence");
                    self.queue
                        .retain(|d| d.id != job.id || d.kind == OccurrenceKind::Manual);
                    self.queue.push(Due {
                        id: job.id,
                        at,
                        kind: OccurrenceKind::CatchUp,
                        note: Some(detail),
                    });
                }
                claims::Missed::Skip { at, detail } => {
                    info!(job = job.id, at = %at, "{detail}");
                    let now = Utc::now();
                    let claimed = self.store.append(
                        JobOp::Claim {
                            id: job.id,
                            occurrence: Occurrence {
                                at,
                                kind: OccurrenceKind::CatchUp,
                                started: now,
                                finished: None,
                            },
                        },
                        true,
                    );
                    let finished = claimed.and_then(|()| {
                        self.store.append(
                            JobOp::Finish {
                                id: job.id,
                                at,
                                finished: Finished {
                                    result: OccurrenceResult::Skipped,
                                    detail,
                                    runs: Vec::new(),
                                    duration_ms: 0,
                                    at: now,
                                },
                            },
                            true,
                        )
                    });
                    if let Err(e) = finished {
                        error!(job = job.id, "cannot record a skipped occurrence: {e}");
                    }
                }
            }
        }
    }

    /// How much this job should go first: its plan's alignment with the user's preferences
    /// and the satisfaction of its recent runs, each 0..1, equally weighted.
    fn priority(&self, job: &Job) -> f64 {
        let alignment = job
            .plan
            .steps
            .first()
            .map(|s| {
                let draft = Draft::new(
                    (!job.explicit).then_some(job.goal.as_str()),
                    &s.argv,
                    &job.cwd,
                );
                let profile = self.profile.borrow();
                profile
                    .categories
                    .iter()
                    .find(|c| c.category == draft.category)
                    .and_then(|c| c.plans.iter().find(|p| p.plan == draft.plan))
                    .map_or(job.plan.alignment, |p| p.score)
            })
            .unwrap_or(0.5);
        let rated: Vec<f64> = self
            .store
            .state()
            .occurrences
            .get(&job.id)
            .into_iter()
            .flatten()
            .rev()
            .filter_map(|o| o.finished.as_ref())
            .flat_map(|f| f.runs.iter())
            .filter_map(|r| self.ratings.get(r))
            .take(5)
            .map(|&r| f64::from(r.saturating_sub(1)) / 4.0)
            .collect();
        let satisfaction = if rated.is_empty() {
            0.5
        } else {
            rated.iter().sum::<f64>() / rated.len() as f64
        };
        0.5 * alignment + 0.5 * satisfaction
    }

    /// Start queued occurrences while there is room, manual runs first, then by priority.
    fn start_due(&mut self) {
        while self.running.len() < self.max_concurrent && !self.queue.is_empty() {
            let best = (0..self.queue.len()).max_by(|&a, &b| {
                let (da, db) = (&self.queue[a], &self.queue[b]);
                let key = |d: &Due| {
                    let manual = d.kind == OccurrenceKind::Manual;
                    let p = self
                        .store
                        .state()
                        .jobs
                        .get(&d.id)
                        .map_or(0.0, |j| self.priority(j));
                    (manual, p)
                };
                let (ka, kb) = (key(da), key(db));
                ka.0.cmp(&kb.0)
                    .then(ka.1.total_cmp(&kb.1))
                    // The older occurrence first among equals.
                    .then(db.at.cmp(&da.at))
            });
            let Some(i) = best else { break };
            let due = self.queue.swap_remove(i);
            self.begin(due);
        }
    }

    /// Claim an occurrence durably, then run it.
    fn begin(&mut self, due: Due) {
        let Some(job) = self.store.state().jobs.get(&due.id).cloned() else {
            self.answer(due.id, due.at, Err(SchedulerError::UnknownJob(due.id)));
            return;
        };
        if self.store.state().claimed(due.id, due.at) {
            return;
        }
        let overlapping = self.store.state().running(due.id);
        let occurrence = Occurrence {
            at: due.at,
            kind: due.kind,
            started: Utc::now(),
            finished: None,
        };
        if let Err(e) = self.store.append(
            JobOp::Claim {
                id: due.id,
                occurrence,
            },
            true,
        ) {
            // Not claimed, so not run: exactly once means at most once first.
            error!(
                job = due.id,
                "cannot claim an occurrence, so it does not run: {e}"
            );
            self.answer(due.id, due.at, Err(e.into()));
            return;
        }
        if overlapping {
            let finished = Finished {
                result: OccurrenceResult::Skipped,
                detail: "the previous occurrence was still running".into(),
                runs: Vec::new(),
                duration_ms: 0,
                at: Utc::now(),
            };
            self.finished(Ok((due.id, due.at, finished)));
            return;
        }
        info!(job = due.id, at = %due.at, kind = ?due.kind, "occurrence started");
        let executor = self.executor.clone();
        let cancel = self.cancel.child_token();
        let note = due.note;
        let (id, at) = (due.id, due.at);
        self.running.spawn(async move {
            let mut finished = occurrence::run(executor, job, cancel).await;
            if let Some(note) = note {
                finished.detail = format!("{note}; {}", finished.detail);
            }
            (id, at, finished)
        });
    }

    fn finished(&mut self, done: Result<(u64, DateTime<Utc>, Finished), tokio::task::JoinError>) {
        let (id, at, finished) = match done {
            Ok(d) => d,
            Err(e) => {
                error!("an occurrence's task failed: {e}");
                return;
            }
        };
        info!(job = id, at = %at, result = finished.result.name(), "occurrence finished");
        if let Err(e) = self.store.append(JobOp::Finish { id, at, finished }, true) {
            error!(job = id, "cannot record how an occurrence ended: {e}");
        }
        let view = self
            .store
            .state()
            .occurrences
            .get(&id)
            .and_then(|l| l.iter().rev().find(|o| o.at == at))
            .map(occurrence_view);
        match view {
            Some(v) => self.answer(id, at, Ok(v)),
            None => self.answer(id, at, Err(SchedulerError::UnknownJob(id))),
        }
    }

    fn answer(&mut self, id: u64, at: DateTime<Utc>, r: Result<OccurrenceView, SchedulerError>) {
        let Some(waiting) = self.waiters.remove(&(id, at)) else {
            return;
        };
        let mut r = Some(r);
        for w in waiting {
            let one = match r.take() {
                Some(Ok(v)) => {
                    r = Some(Ok(v.clone()));
                    Ok(v)
                }
                Some(Err(e)) => Err(e),
                None => Err(SchedulerError::UnknownJob(id)),
            };
            let _ = w.send(one);
        }
    }

    fn view(&self, job: &Job, now: DateTime<Utc>) -> JobView {
        let next = if job.paused {
            None
        } else {
            Schedule::new(&job.when, job.created)
                .ok()
                .and_then(|s| s.next_after(now))
        };
        let last = self
            .store
            .state()
            .occurrences
            .get(&job.id)
            .and_then(|l| l.back())
            .map(occurrence_view);
        JobView {
            id: job.id,
            name: job.name.clone(),
            goal: job.goal.clone(),
            cwd: job.cwd.display().to_string(),
            project: crate::context::project::detect(&job.cwd)
                .map(|p| p.root.display().to_string()),
            schedule: timing::describe(&job.when),
            when: job.when.clone(),
            policy: job.policy,
            catch_up: job.catch_up,
            paused: job.paused,
            running: self.store.state().running(job.id),
            plan: job.plan.command.clone(),
            created: job.created,
            next,
            last,
            proposal: job.proposal.clone(),
        }
    }

    fn detail(&self, id: u64) -> Result<JobDetail, SchedulerError> {
        let job = self
            .store
            .state()
            .jobs
            .get(&id)
            .ok_or(SchedulerError::UnknownJob(id))?;
        let now = Utc::now();
        let next = if job.paused {
            Vec::new()
        } else {
            Schedule::new(&job.when, job.created)?.upcoming(now, timing::SHOWN_NEXT)
        };
        let runs = self
            .store
            .state()
            .occurrences
            .get(&id)
            .map(|l| l.iter().rev().map(occurrence_view).collect())
            .unwrap_or_default();
        Ok(JobDetail {
            job: self.view(job, now),
            plan: job.plan.clone(),
            runs,
            next,
        })
    }
}

fn occurrence_view(o: &Occurrence) -> OccurrenceView {
    let (result, detail, runs, duration_ms) = match &o.finished {
        Some(f) => (
            f.result,
            f.detail.clone(),
            f.runs.clone(),
            Some(f.duration_ms),
        ),
        None => (OccurrenceResult::Running, String::new(), Vec::new(), None),
    };
    OccurrenceView {
        at: o.at,
        kind: o.kind,
        started: o.started,
        result,
        detail,
        runs,
        duration_ms,
        rating: None,
    }
}
