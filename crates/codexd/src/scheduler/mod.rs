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
mod handle;
pub mod jobs;
pub mod occurrence;
pub mod patterns;
mod queue;
mod timer;
pub mod timing;
mod views;

pub use handle::{Adaptation, NewJob, Predicted, SchedulerError, SchedulerHandle};
use handle::{Command, Reply};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};
use codex_proto::prefs::Profile;
use codex_proto::schedule::{JobDetail, JobView, OccurrenceKind, OccurrenceResult, OccurrenceView};
use codex_proto::types::RunId;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_cron_scheduler::JobScheduler;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::bus::{Bus, Event};
use crate::config::Config;
use crate::executor::ExecutorHandle;
use crate::store::journal::Journaled;
use crate::store::{Layout, StoreError};
use jobs::{Finished, Job, JobOp, Jobs};

/// How late a timer may fire on its own before a tick treats the occurrence as missed.
const LATE: chrono::Duration = chrono::Duration::seconds(5);

/// The running scheduler, as returned by [`start`].
#[derive(Debug)]
pub struct Started {
    /// Access for others.
    pub handle: SchedulerHandle,
    /// The actor task.
    pub task: JoinHandle<()>,
}

/// Sleep until `at` (forever when there is nothing to wait for).
async fn wake(at: Option<DateTime<Utc>>) {
    match at.and_then(|t| (t - Utc::now()).to_std().ok()) {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// An occurrence that ended: job, scheduled time, how, and the step it left waiting for a yes.
type Ended = (u64, DateTime<Utc>, Finished, Option<occurrence::HeldStep>);

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
    /// Where occurrences that ended are published (for the optimizer).
    bus: Bus,
    /// Why autonomous work is paused by an alert (`None`: it is not).
    autonomy: watch::Receiver<Option<String>>,
    executor: ExecutorHandle,
    profile: watch::Receiver<Arc<Profile>>,
    timer: Option<JobScheduler>,
    armed: HashMap<u64, (DateTime<Utc>, uuid::Uuid)>,
    inbox_tx: mpsc::WeakSender<Command>,
    queue: Vec<Due>,
    running: JoinSet<Ended>,
    /// Per job, the step held in `codex approvals` (its occurrence and approval).
    held: HashMap<u64, (DateTime<Utc>, u64)>,
    waiters: HashMap<(u64, DateTime<Utc>), Vec<Reply<OccurrenceView>>>,
    /// Ratings of the jobs' runs, for their recent satisfaction.
    ratings: HashMap<RunId, u8>,
    max_concurrent: usize,
    grace: chrono::Duration,
    cancel: CancellationToken,
    /// The next-goal model; `None` when pattern recognition is off.
    patterns: Option<patterns::Patterns>,
    /// Its weights (the live personal model's).
    pattern_params: codex_patterns::model::Params,
    /// While a model with new weights is learned off the actor: what was observed since,
    /// to catch it up when it lands.
    relearning: Option<(u64, Vec<patterns::Observed>)>,
    /// Relearns started: only the latest one's model is used.
    relearns: u64,
}

/// What the scheduler reads from other parts.
pub struct Inputs {
    /// Runs the occurrences' steps.
    pub executor: ExecutorHandle,
    /// The profile, for priorities.
    pub profile: watch::Receiver<Arc<Profile>>,
    /// Why autonomous work is paused by an alert (`None`: it is not).
    pub autonomy: watch::Receiver<Option<String>>,
    /// The next-goal model's weights (the live personal model's).
    pub pattern_params: codex_patterns::model::Params,
}

/// Open the job store (finishing occurrences a crash cut short), arm the timer, catch up
/// what was missed, and start the actor.
pub async fn start(
    layout: &Layout,
    config: &Config,
    bus: &Bus,
    inputs: Inputs,
    shutdown: CancellationToken,
) -> Result<Started, StoreError> {
    let Inputs {
        executor,
        profile,
        autonomy,
        pattern_params,
    } = inputs;
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
        bus: bus.clone(),
        autonomy,
        executor,
        profile,
        timer,
        armed: HashMap::new(),
        inbox_tx: tx.downgrade(),
        queue: Vec::new(),
        running: JoinSet::new(),
        held: HashMap::new(),
        waiters: HashMap::new(),
        ratings: HashMap::new(),
        max_concurrent: config.scheduler.max_concurrent.get() as usize,
        // The config bounds it to ten years, far inside what a duration holds.
        grace: i64::try_from(config.scheduler.catch_up_grace_secs.get())
            .ok()
            .and_then(chrono::Duration::try_seconds)
            .unwrap_or(chrono::Duration::MAX),
        cancel: shutdown.child_token(),
        patterns: (config.workflow_pattern_tracking && config.interaction_tracking_enabled)
            .then(|| patterns::Patterns::with_params(pattern_params.clone())),
        pattern_params,
        relearning: None,
        relearns: 0,
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
                    finished: Finished::without_runs(
                        OccurrenceResult::Interrupted,
                        "codexd stopped or crashed while it ran",
                    ),
                },
                true,
            )?;
        }
        // Held approvals live in memory: after a restart nothing waits on them any more.
        let held: Vec<(u64, DateTime<Utc>, Finished)> = self
            .store
            .state()
            .occurrences
            .iter()
            .flat_map(|(id, l)| {
                l.iter().filter_map(move |o| {
                    let f = o.finished.as_ref()?;
                    (f.result == OccurrenceResult::Held).then(|| (*id, o.at, f.clone()))
                })
            })
            .collect();
        for (id, at, before) in held {
            self.store.append(
                JobOp::Finish {
                    id,
                    at,
                    finished: Finished {
                        result: OccurrenceResult::Interrupted,
                        detail: format!(
                            "{}; codexd stopped before it was answered, and the question with \
                             it: `codex schedule run {id}` asks again",
                            before.detail
                        ),
                        at: Utc::now(),
                        ..before
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
            let next_wake = self.next_wake();
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
                _ = wake(next_wake) => self.start_due(),
            }
        }
        self.stop().await;
    }

    async fn stop(mut self) {
        self.cancel.cancel();
        // What waited for a slot did not run: said so, so nothing due just vanishes. One whose
        // time has not come (the timer fires a little early) is not due: the next start
        // catches it up if it is missed.
        let now = Utc::now();
        let due: Vec<Due> = std::mem::take(&mut self.queue)
            .into_iter()
            .filter(|d| d.at <= now)
            .collect();
        for due in due {
            self.record_skipped(
                due.id,
                due.at,
                due.kind,
                "codexd stopped before a slot was free for it",
            );
        }
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

    /// Learn again with new weights, off the actor: occurrences and suggestions go on with
    /// the current model until the new one lands (`Command::Relearned`).
    fn relearn(&mut self, dataset: PathBuf) {
        if self.patterns.is_none() {
            return;
        }
        let Some(tx) = self.inbox_tx.upgrade() else {
            return;
        };
        self.relearns += 1;
        let generation = self.relearns;
        self.relearning = Some((generation, Vec::new()));
        let params = self.pattern_params.clone();
        tokio::spawn(async move {
            match learn_from(params, dataset).await {
                Ok(fresh) => {
                    let _ = tx
                        .send(Command::Relearned(generation, Box::new(fresh)))
                        .await;
                }
                Err(e) => error!("learning patterns again failed: {e}"),
            }
        });
    }

    /// Learn again, in order, everything the dataset records the user did.
    async fn rebuild(&mut self, dataset: PathBuf) {
        if self.patterns.is_none() {
            return;
        }
        // A relearn in progress read the dataset before this (a forget): it must not land.
        self.relearning = None;
        match learn_from(self.pattern_params.clone(), dataset).await {
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
                    if let Some((_, buf)) = self.relearning.as_mut() {
                        buf.push(o.clone());
                    }
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
            Command::Adapt { change, reply } => {
                let r = self.adapt(change).await;
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
                        if let Some((_, buf)) = self.relearning.as_mut() {
                            buf.push(o.clone());
                        }
                        p.observe(o);
                    }
                }
                let _ = reply.send(());
            }
            Command::Relearned(generation, fresh) => {
                // Caught up with what was observed while it was learned, then used; one a
                // later relearn or a forget made stale is dropped.
                if self
                    .relearning
                    .as_ref()
                    .is_some_and(|(g, _)| *g == generation)
                    && let Some((_, buf)) = self.relearning.take()
                {
                    let mut fresh = *fresh;
                    for o in buf {
                        fresh.observe(o);
                    }
                    info!(
                        interactions = fresh.learned(),
                        "next-goal model learned again with new weights"
                    );
                    self.patterns = Some(fresh);
                }
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
            Command::Repattern {
                params,
                dataset,
                reply,
            } => {
                self.pattern_params = *params;
                self.relearn(dataset);
                let _ = reply.send(());
            }
            Command::HeldDone(done) => self.held_done(*done),
            Command::Fired { id, at } => {
                if self.armed.get(&id).is_some_and(|(t, _)| *t == at) {
                    self.armed.remove(&id);
                }
                let ok = self.store.state().jobs.get(&id).is_some_and(|j| !j.paused);
                let waiting = self
                    .queue
                    .iter()
                    .any(|d| d.id == id && d.kind != OccurrenceKind::Manual && d.at < at);
                if ok && !self.store.state().claimed(id, at) && !self.queued(id, at) {
                    if waiting {
                        // An earlier occurrence of it still waits for a free slot: this one is
                        // recorded as skipped rather than piling up behind it.
                        self.record_skipped(
                            id,
                            at,
                            OccurrenceKind::Scheduled,
                            "an earlier occurrence still waited for a free slot \
                             (scheduler.max_concurrent)",
                        );
                    } else {
                        self.queue.push(Due {
                            id,
                            at,
                            kind: OccurrenceKind::Scheduled,
                            note: None,
                        });
                    }
                }
                self.arm(id, at).await;
            }
        }
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
            interval_secs: None,
            anchor: None,
            paused_by: None,
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

    /// Apply the optimizer's change: the interval from the store, not the optimizer's idea
    /// of it, so a resume or replan in between is respected.
    async fn adapt(
        &mut self,
        change: Adaptation,
    ) -> Result<Option<codex_proto::optimizer::IntervalDecision>, SchedulerError> {
        let Some(job) = self.store.state().jobs.get(&change.id) else {
            return Err(SchedulerError::UnknownJob(change.id));
        };
        let Some(chosen) = job.chosen_secs() else {
            return Ok(None);
        };
        let from = job.interval_secs.unwrap_or(chosen);
        // Never below what the user chose, never past what the timer can count.
        let to = change
            .to_secs
            .clamp(chosen, timing::MAX_INTERVAL_SECS.max(chosen));
        let pause = change.pause && !job.paused;
        if to == from && !pause {
            return Ok(None);
        }
        let now = Utc::now().trunc_subsecs(0);
        let decision = codex_proto::optimizer::IntervalDecision {
            at: now,
            from_secs: from,
            to_secs: to,
            paused: pause,
            reason: change.reason,
        };
        self.store.append(
            JobOp::Adapt {
                id: change.id,
                decision: decision.clone(),
            },
            true,
        )?;
        info!(job = change.id, from, to, paused = pause, reason = %decision.reason, "interval adapted");
        let paused_now = self
            .store
            .state()
            .jobs
            .get(&change.id)
            .is_some_and(|j| j.paused);
        if paused_now {
            self.disarm(change.id).await;
            self.queue
                .retain(|d| d.id != change.id || d.kind == OccurrenceKind::Manual);
        } else {
            // Counted from now at the new interval: what was armed is for the old one.
            self.queue
                .retain(|d| d.id != change.id || d.kind == OccurrenceKind::Manual);
            self.arm(change.id, now).await;
        }
        Ok(Some(decision))
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
}

/// A next-goal model with `params` learned from the dataset, on a blocking thread.
async fn learn_from(
    params: codex_patterns::model::Params,
    dataset: PathBuf,
) -> Result<patterns::Patterns, tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || {
        let mut fresh = patterns::Patterns::with_params(params);
        read_dataset(&dataset, &mut fresh);
        fresh
    })
    .await
}

/// Learn, in order, everything the dataset records the user did (streamed: the dataset may be
/// tens of megabytes).
fn read_dataset(dataset: &std::path::Path, fresh: &mut patterns::Patterns) {
    let file = match std::fs::File::open(dataset) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            warn!(file = %dataset.display(), "cannot read the dataset to learn patterns from: {e}");
            return;
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
}
