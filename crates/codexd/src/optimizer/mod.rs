//! The optimizer: codex adapting to how the user works, by itself.
//!
//! One actor, subscribed to the bus, owning its state ([`state`]): it stretches the interval
//! of an `--every` job that keeps failing and pauses it at the longest ([`intervals`], applied
//! through the scheduler so the job store stays the one record of a job), raises telemetry
//! alerts ([`alerts`]) and acts on them by the user's autonomy comfort (a low-comfort user's
//! autonomous work is paused until the alert is acknowledged), and leaves notices the next
//! `codex` command prints once. `adaptation_mechanisms_enabled: false` keeps the figures and
//! alerts but changes and pauses nothing.
//!
//! Shutdown: it ends on the daemon's cancellation token; it holds a scheduler handle (the
//! scheduler also ends on the token, so neither waits for the other) and a bus receiver only.

pub mod alerts;
pub mod decisions;
mod handle;
pub mod intervals;
pub mod models;
pub mod state;
pub mod train;
pub mod training;

pub use handle::{OptimizerError, OptimizerHandle};

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use codex_proto::optimizer::{
    AlertAction, AlertKind, AlertView, AlertsAckResult, AlertsResult, AlertsStatus,
};
use codex_proto::prefs::Profile;
use codex_proto::schedule::OccurrenceResult;
use codex_proto::types::{RunId, RunOutcome};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::bus::{Bus, Event, OccurrenceEnded};
use crate::config::Config;
use crate::episode::Episode;
use crate::scheduler::{Adaptation, SchedulerHandle};
use crate::store::journal::Journaled;
use crate::store::{Layout, StoreError};
use handle::Command;
use state::{Optimizer, OptimizerOp, Streak};

/// The subject of the overall failure rate.
const ALL_RUNS: &str = "all runs";
/// Runs of jobs remembered, to find the job a rating is about.
const JOB_RUNS: usize = 4096;

/// A run of a job, as the interval adaptation counts it.
#[derive(Debug, Clone, Copy)]
struct JobRun {
    run: RunId,
    job: u64,
    bad: bool,
}

/// The optimizer's store, opened before the scheduler starts so that work an alert paused
/// before a restart stays paused from the first occurrence on.
pub struct Opened {
    store: Journaled<Optimizer>,
    autonomy: watch::Sender<Option<String>>,
}

/// Open the optimizer's state; the receiver says why autonomous work is paused (the
/// scheduler reads it before each occurrence).
pub fn open(
    layout: &Layout,
    config: &Config,
) -> Result<(Opened, watch::Receiver<Option<String>>), StoreError> {
    let (store, recovery) = Journaled::<Optimizer>::open(
        layout.optimizer.clone(),
        config.storage.compact_min_bytes.get(),
    )?;
    if let Some(moved) = &recovery.snapshot_moved_to {
        error!(moved_to = %moved.display(), "the optimizer's state did not parse; it was moved aside and alerts start from its journal");
    }
    let paused = config
        .adaptation_mechanisms_enabled
        .then(|| store.state().autonomy_paused())
        .flatten();
    let (tx, rx) = watch::channel(paused);
    Ok((
        Opened {
            store,
            autonomy: tx,
        },
        rx,
    ))
}

/// The running optimizer.
#[derive(Debug)]
pub struct Started {
    /// Access for others.
    pub handle: OptimizerHandle,
    /// The actor task.
    pub task: JoinHandle<()>,
}

struct Actor {
    store: Journaled<Optimizer>,
    autonomy: watch::Sender<Option<String>>,
    scheduler: SchedulerHandle,
    profile: watch::Receiver<Arc<Profile>>,
    adapting: bool,
    bounds: intervals::Bounds,
    rates: alerts::FailureRates,
    durations: alerts::Durations,
    /// Per job, held occurrences in a row.
    held: HashMap<u64, u32>,
    /// Runs of jobs, newest last, and whether their occurrence already counts as bad (it
    /// failed, or a low rating made it so): a rating changes its verdict at most once.
    job_runs: VecDeque<JobRun>,
    storage: PathBuf,
    storage_alert_bytes: u64,
    /// Storage was measured since the start (said once in the log).
    storage_measured: bool,
    /// Runs are recorded (`interaction_tracking_enabled`).
    tracking: bool,
    /// The personal model versions.
    models: models::Models,
    /// The parameters the config gives (used when no model is live).
    config_learned: train::Learned,
    /// The config's learning parameters, which a model's fitted ones are set on.
    base: crate::feedback::model::Params,
    feedback: crate::feedback::FeedbackHandle,
    planner: crate::planner::actor::PlannerHandle,
    dataset: PathBuf,
    decisions_path: PathBuf,
    decision_log: decisions::DecisionLog,
    /// Runs recorded (from the dataset at start, then from the bus).
    examples_seen: u64,
    /// While what is usual is read at start: the runs seen meanwhile.
    warming: Option<Vec<Seen>>,
    low_satisfaction: f64,
    min_examples: u64,
    training: Option<training::Running>,
    done_tx: mpsc::Sender<training::Done>,
}

/// What the optimizer needs of the other parts.
pub struct Parts {
    /// The scheduler (intervals, pauses, next-goal weights).
    pub scheduler: SchedulerHandle,
    /// The feedback collector (signals to train on, parameters to learn with).
    pub feedback: crate::feedback::FeedbackHandle,
    /// The planner (exploration).
    pub planner: crate::planner::actor::PlannerHandle,
}

/// Start the optimizer.
pub fn start(
    opened: Opened,
    models: models::Models,
    layout: &Layout,
    config: &Config,
    bus: &Bus,
    parts: Parts,
    shutdown: CancellationToken,
) -> Started {
    let (tx, rx) = mpsc::channel(64);
    let (done_tx, done_rx) = mpsc::channel(1);
    let events = bus.subscribe();
    let profile = parts.feedback.watch_profile();
    let actor = Actor {
        store: opened.store,
        autonomy: opened.autonomy,
        scheduler: parts.scheduler,
        profile,
        adapting: config.adaptation_mechanisms_enabled,
        bounds: intervals::Bounds {
            min: config.scheduler.min_interval_secs.get(),
            max: config.scheduler.max_interval_secs.get(),
        },
        rates: alerts::FailureRates::default(),
        durations: alerts::Durations::default(),
        held: HashMap::new(),
        job_runs: VecDeque::new(),
        storage: layout.home.join("storage"),
        storage_alert_bytes: config.optimizer.storage_alert_bytes,
        storage_measured: false,
        tracking: config.interaction_tracking_enabled,
        models,
        config_learned: train::Learned::from_config(config),
        base: crate::feedback::model::Params::from_config(&config.learning),
        feedback: parts.feedback,
        planner: parts.planner,
        dataset: layout.dataset.clone(),
        decisions_path: layout.decisions.clone(),
        decision_log: decisions::DecisionLog::new(layout.decisions.clone()),
        examples_seen: 0,
        warming: Some(Vec::new()),
        low_satisfaction: config.learning.low_satisfaction_threshold.get(),
        min_examples: u64::from(config.learning.min_examples_for_training),
        training: None,
        done_tx,
    };
    let check = std::time::Duration::from_secs(config.optimizer.storage_check_secs.get());
    let dataset = layout.dataset.clone();
    // Read while the actor already answers: the next `codex` command does not wait for it.
    let usual = tokio::task::spawn_blocking(move || read_usual(&dataset));
    let task = tokio::spawn(actor.serve(rx, done_rx, usual, events, shutdown, check));
    Started {
        handle: OptimizerHandle { tx },
        task,
    }
}

/// What a finished run says for the telemetry: failed or not (a cancel says nothing).
fn failed(outcome: &RunOutcome) -> Option<bool> {
    match outcome {
        RunOutcome::Cancelled => None,
        o => Some(!o.success()),
    }
}

impl Actor {
    async fn serve(
        mut self,
        mut inbox: mpsc::Receiver<Command>,
        mut trained: mpsc::Receiver<training::Done>,
        mut usual: JoinHandle<Usual>,
        mut events: broadcast::Receiver<Event>,
        shutdown: CancellationToken,
        check: std::time::Duration,
    ) {
        let mut ticker = tokio::time::interval(check);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut bus_open = true;
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                ev = events.recv(), if bus_open => match ev {
                    Ok(ev) => self.on_event(ev).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        warn!("the optimizer missed {n} events");
                    }
                    Err(broadcast::error::RecvError::Closed) => bus_open = false,
                },
                u = &mut usual, if self.warming.is_some() => match u {
                    Ok(u) => self.usual(u),
                    Err(e) => {
                        self.warming = None;
                        error!("reading past runs for the usual failure rates failed: {e}");
                    }
                },
                Some(done) = trained.recv() => self.trained(done).await,
                Some(cmd) = inbox.recv() => self.on_command(cmd).await,
                _ = ticker.tick() => self.check_storage().await,
            }
        }
        self.cancel_training();
        if let Err(e) = self.store.sync() {
            error!("cannot flush the optimizer's state: {e}");
        }
        if self.store.has_journal()
            && let Err(e) = self.store.compact()
        {
            error!("cannot write the optimizer's snapshot at shutdown: {e}");
        }
        info!("optimizer stopped");
    }

    /// Learn the usual failure rates and durations again (after a forget), from the runs the
    /// dataset holds.
    async fn warm_up(&mut self, dataset: PathBuf) {
        match tokio::task::spawn_blocking(move || read_usual(&dataset)).await {
            Ok(u) => self.usual(u),
            Err(e) => error!("reading past runs for the usual failure rates failed: {e}"),
        }
    }

    /// What the dataset says is usual, caught up with the runs seen while it was read.
    fn usual(&mut self, u: Usual) {
        self.rates = u.rates;
        self.durations = u.durations;
        self.examples_seen = u.examples;
        for r in self.warming.take().unwrap_or_default() {
            self.examples_seen += 1;
            if let Some(f) = r.failed {
                self.rates.observe(ALL_RUNS, f);
                if let Some(job) = r.job {
                    self.rates.observe(&format!("job {job}"), f);
                }
            }
            if r.success {
                self.durations.observe(&r.plan, r.ms);
            }
        }
    }

    async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::RunFinished(e) => {
                self.on_run(&e);
                self.decision_log.run(&e);
                self.examples_seen += 1;
                self.maybe_train().await;
            }
            Event::OccurrenceEnded(o) => self.on_occurrence(&o).await,
            Event::Rated(r) => {
                // The rating is in the profile before its event is published; the published
                // snapshot may lag by its throttle, so ask for the current one.
                let _ = self.feedback.current().await;
                self.maybe_train().await;
                let run = self
                    .job_runs
                    .iter_mut()
                    .rev()
                    .find(|j| j.run == r.run_id && !j.bad);
                if let Some(j) = run
                    && r.score <= intervals::LOW_RATING
                {
                    j.bad = true;
                    let job = j.job;
                    self.low_rating(job, r.score).await;
                }
            }
            Event::ApprovalAnswered(_) | Event::Picked(_) => {}
        }
    }

    fn on_run(&mut self, e: &Episode) {
        if let Some(w) = self.warming.as_mut() {
            w.push(Seen {
                failed: failed(&e.outcome),
                job: e.job,
                plan: e.plan.clone(),
                success: e.outcome.success(),
                ms: e.duration_ms,
            });
        }
        if let Some(f) = failed(&e.outcome) {
            if let Some(evidence) = self.rates.observe(ALL_RUNS, f) {
                self.raise(
                    AlertKind::FailureSpike,
                    ALL_RUNS.to_string(),
                    evidence,
                    None,
                );
            }
            if let Some(job) = e.job
                && let Some(evidence) = self.rates.observe(&format!("job {job}"), f)
            {
                self.raise(
                    AlertKind::FailureSpike,
                    format!("job {job}"),
                    evidence,
                    Some(job),
                );
            }
        }
        // Only successful runs have a duration worth comparing: a failure may stop early.
        if e.outcome.success()
            && let Some(evidence) = self.durations.observe(&e.plan, e.duration_ms)
        {
            self.raise(
                AlertKind::SlowRun,
                format!("`{}`", e.plan),
                format!("run {}: {evidence}", e.run_id.0),
                e.job,
            );
        }
        if let Some(job) = e.job {
            self.job_runs.push_back(JobRun {
                run: e.run_id,
                job,
                bad: failed(&e.outcome).unwrap_or(false),
            });
            while self.job_runs.len() > JOB_RUNS {
                self.job_runs.pop_front();
            }
        }
    }

    async fn on_occurrence(&mut self, o: &OccurrenceEnded) {
        let held = self.held.entry(o.job).or_default();
        // While a step waits for a yes, the job's next occurrences are skipped for it: they
        // were held as much as the first.
        let waiting = o.result == OccurrenceResult::Skipped && o.detail.contains("waits for a yes");
        match o.result {
            OccurrenceResult::Held => *held += 1,
            OccurrenceResult::Skipped if waiting => *held += 1,
            OccurrenceResult::Succeeded | OccurrenceResult::Failed | OccurrenceResult::Refused => {
                *held = 0
            }
            _ => {}
        }
        if *held == alerts::HELD_IN_A_ROW {
            let n = *held;
            self.raise(
                AlertKind::RepeatedlyHeld,
                format!("job {}", o.job),
                format!(
                    "{n} occurrences in a row waited for a yes in `codex approvals`: an allow \
                     rule (`codex rules allow`) or `codex schedule replan {}` would let it run",
                    o.job
                ),
                Some(o.job),
            );
        }
        let Some(good) = intervals::verdict(o.result) else {
            return;
        };
        // Counted only where it can change the interval: not while the user has the job
        // paused, nor with adaptation off, so nothing piles up to be applied at once later.
        if !self.adapting || o.paused || o.chosen_secs.is_none() {
            return;
        }
        if !good {
            for j in self.job_runs.iter_mut().filter(|j| o.runs.contains(&j.run)) {
                j.bad = true;
            }
        }
        let before = self.streak_of(o.job, o.created);
        let streak = intervals::next_streak(before, good);
        self.set_streak(o.job, o.created, streak);
        // A refused step (a disliked plan, a program gone) is the job failing too.
        self.adapt(
            o.job,
            o.chosen_secs,
            o.interval_secs,
            o.paused,
            streak,
            "failures",
        )
        .await;
    }

    /// A low rating of a job's run: its occurrence counts as bad after all.
    async fn low_rating(&mut self, job: u64, score: u8) {
        let Ok(j) = self.scheduler.job(job).await else {
            return;
        };
        if !self.adapting || j.paused || j.chosen_secs().is_none() {
            return;
        }
        let before = self.streak_of(job, j.created);
        // A success already counted as good is taken back first.
        let base = Streak {
            bad: before.bad,
            good: 0,
            ..before
        };
        let streak = intervals::next_streak(base, false);
        self.set_streak(job, j.created, streak);
        let chosen = j.chosen_secs();
        let now = j.interval_secs.or(chosen);
        self.adapt(
            job,
            chosen,
            now,
            j.paused,
            streak,
            &format!("bad occurrences (the last rated {score})"),
        )
        .await;
    }

    /// The job's streak; one kept for another job of the same id (a store lost and made
    /// again) starts over.
    fn streak_of(&self, job: u64, created: chrono::DateTime<Utc>) -> Streak {
        self.store
            .state()
            .streaks
            .get(&job)
            .filter(|s| s.created == Some(created))
            .copied()
            .unwrap_or(Streak {
                created: Some(created),
                ..Streak::default()
            })
    }

    fn set_streak(&mut self, job: u64, created: chrono::DateTime<Utc>, streak: Streak) {
        let streak = Streak {
            created: Some(created),
            ..streak
        };
        if let Err(e) = self.store.append(
            OptimizerOp::Streak {
                job,
                streak: Some(streak),
            },
            false,
        ) {
            error!(job, "cannot record the job's streak: {e}");
        }
    }

    async fn adapt(
        &mut self,
        job: u64,
        chosen: Option<u64>,
        now: Option<u64>,
        paused: bool,
        streak: Streak,
        why: &str,
    ) {
        let (Some(chosen), Some(now)) = (chosen, now) else {
            return;
        };
        if !self.adapting || paused {
            return;
        }
        let Some(change) = intervals::decide(chosen, now, streak, self.bounds, why) else {
            return;
        };
        let pause = change.pause;
        let asked = Adaptation {
            id: job,
            to_secs: change.to_secs,
            pause,
            reason: change.reason,
        };
        match self.scheduler.adapt(asked).await {
            Ok(Some(d)) if d.paused => {
                self.notice(format!(
                    "codex paused job {job}: {}. `codex schedule show {job}` has its runs; \
                     `codex schedule resume {job}` when it is fixed",
                    d.reason
                ));
            }
            Ok(_) => {}
            Err(e) => warn!(job, "cannot adapt the job's interval: {e}"),
        }
    }

    /// Record an alert (unless one about the same thing is open) and act on it.
    fn raise(&mut self, kind: AlertKind, subject: String, evidence: String, job: Option<u64>) {
        if self.store.state().open(kind, &subject) {
            return;
        }
        let low = self.profile.borrow().style.autonomy_comfort.value == "low";
        let action = if self.adapting && low {
            AlertAction::PausedAutonomy
        } else {
            AlertAction::Recorded
        };
        let id = self.store.state().next_alert;
        if id == u64::MAX {
            error!("no alert id is left to give; the alert is only logged: {evidence}");
            return;
        }
        let alert = AlertView {
            id,
            kind,
            subject,
            evidence,
            job,
            raised: Utc::now(),
            action,
            acked: None,
        };
        warn!(alert = id, kind = kind.name(), subject = %alert.subject, evidence = %alert.evidence, "alert");
        let words = format!(
            "alert {id} ({}, {}): {}",
            kind.name(),
            alert.subject,
            alert.evidence
        );
        if let Err(e) = self.store.append(OptimizerOp::Raise { alert }, true) {
            error!("cannot record an alert: {e}");
            return;
        }
        self.notice(match action {
            AlertAction::PausedAutonomy => format!(
                "{words}. Your autonomy comfort is low, so scheduled jobs are paused until \
                 `codex alerts ack {id}`"
            ),
            AlertAction::Recorded => format!("{words}. `codex alerts` lists it"),
        });
        self.publish_autonomy();
    }

    fn notice(&mut self, text: String) {
        if let Err(e) = self.store.append(OptimizerOp::Notice { text }, true) {
            error!("cannot record a notice: {e}");
        }
    }

    fn publish_autonomy(&self) {
        let paused = self
            .adapting
            .then(|| self.store.state().autonomy_paused())
            .flatten();
        self.autonomy.send_if_modified(|now| {
            let changed = *now != paused;
            *now = paused.clone();
            changed
        });
    }

    async fn check_storage(&mut self) {
        let dir = self.storage.clone();
        let Ok(size) = tokio::task::spawn_blocking(move || alerts::size_of(&dir)).await else {
            return;
        };
        let over = size > self.storage_alert_bytes;

        if over && !self.store.state().storage_over {
            self.raise(
                AlertKind::StorageGrowth,
                "storage".to_string(),
                format!(
                    "the files under CODEX_HOME/storage take {}, past \
                     optimizer.storage_alert_bytes ({}); `codex forget` and `codex export` \
                     help",
                    alerts::words_bytes(size),
                    alerts::words_bytes(self.storage_alert_bytes)
                ),
                None,
            );
        }
        if over != self.store.state().storage_over
            && let Err(e) = self.store.append(OptimizerOp::StorageOver { over }, true)
        {
            error!("cannot record the storage measure: {e}");
        }
        // Said once, after what it led to: a test (or a user) reading it sees the outcome.
        if !self.storage_measured {
            self.storage_measured = true;
            info!(
                bytes = size,
                bound = self.storage_alert_bytes,
                "storage measured"
            );
        }
    }

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Model(m) => self.on_model(m).await,
            Command::Suggested(s) => self.decision_log.suggested(s),
            Command::Forget { what, reply } => {
                let r = self
                    .decision_log
                    .forget(&what)
                    .map_err(OptimizerError::from);
                if matches!(what, decisions::Forget::All)
                    && let Err(e) = self.store.append(OptimizerOp::Forget, true)
                {
                    error!("cannot forget the alerts' words: {e}");
                }
                self.publish_autonomy();
                // What is usual (failure rates, durations) is learned again from the runs
                // that are left.
                let dataset = self.dataset.clone();
                self.job_runs.clear();
                self.warm_up(dataset).await;
                let _ = reply.send(r);
            }
            Command::Alerts { all, reply } => {
                let s = self.store.state();
                let alerts = s
                    .alerts
                    .values()
                    .rev()
                    .filter(|a| all || a.acked.is_none())
                    .cloned()
                    .collect();
                let _ = reply.send(Ok(AlertsResult {
                    alerts,
                    autonomy_paused: self.autonomy.borrow().clone(),
                    adapting: self.adapting,
                }));
            }
            Command::Ack { id, reply } => {
                let r = self.ack(id);
                let _ = reply.send(r);
            }
            Command::Status { reply } => {
                let s = self.store.state();
                let _ = reply.send(AlertsStatus {
                    open: s.alerts.values().filter(|a| a.acked.is_none()).count() as u64,
                    autonomy_paused: self.autonomy.borrow().clone(),
                    model: self.models.live_version(),
                    jobs_paused: 0,
                });
            }
            Command::Notices { reply } => {
                let notices: Vec<String> = self.store.state().notices.iter().cloned().collect();
                if !notices.is_empty()
                    && let Err(e) = self.store.append(OptimizerOp::Shown, true)
                {
                    // Shown again next time rather than lost.
                    error!("cannot record that notices were shown: {e}");
                }
                let _ = reply.send(notices);
            }
        }
    }

    fn ack(&mut self, id: u64) -> Result<AlertsAckResult, OptimizerError> {
        if !self.store.state().alerts.contains_key(&id) {
            return Err(OptimizerError::UnknownAlert(id));
        }
        self.store
            .append(OptimizerOp::Ack { id, at: Utc::now() }, true)?;
        self.publish_autonomy();
        let alert = self
            .store
            .state()
            .alerts
            .get(&id)
            .cloned()
            .ok_or(OptimizerError::UnknownAlert(id))?;
        info!(alert = id, "alert acknowledged");
        Ok(AlertsAckResult {
            alert,
            autonomy_paused: self.autonomy.borrow().clone(),
        })
    }
}

/// What is usual, learned from the dataset.
struct Usual {
    rates: alerts::FailureRates,
    durations: alerts::Durations,
    examples: u64,
}

/// A run seen while what is usual was still being read.
struct Seen {
    failed: Option<bool>,
    job: Option<u64>,
    plan: String,
    success: bool,
    ms: u64,
}

/// The usual failure rates and durations from the runs the dataset holds, so a restart does
/// not forget what is usual (nothing is raised for those old runs).
fn read_usual(dataset: &std::path::Path) -> Usual {
    let mut u = Usual {
        rates: alerts::FailureRates::default(),
        durations: alerts::Durations::default(),
        examples: 0,
    };
    let Ok(file) = std::fs::File::open(dataset) else {
        return u;
    };
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    for line in std::io::BufRead::split(reader, b'\n') {
        let Ok(line) = line else { break };
        let Ok(crate::learning::dataset::Record::Example(ex)) =
            serde_json::from_slice::<crate::learning::dataset::Record>(&line)
        else {
            continue;
        };
        u.examples += 1;
        if let Some(f) = failed(&ex.outcome) {
            u.rates.observe(ALL_RUNS, f);
            if let Some(job) = ex.job {
                u.rates.observe(&format!("job {job}"), f);
            }
        }
        if ex.success {
            u.durations.observe(&ex.plan, ex.duration_ms);
        }
    }
    u
}
