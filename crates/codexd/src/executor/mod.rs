//! Executor with safety checks: validates a command, applies the safety rule, runs it
//! ([`process`]), and publishes the finished run on the bus.
//!
//! An actor owning the set of runs in progress; each run is a task that streams updates to
//! whoever asked and replies when done. It ends once its inbox has closed and every run has
//! finished, so every `RunFinished` is on the bus before the learning parts stop.

pub mod classify;
#[cfg(test)]
mod corpus;
pub mod process;
pub mod shell;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use codex_proto::types::{Refusal, RunId, RunOutcome, SafetyClass};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::bus::{ApprovalAnswered, Bus, Event};
use crate::config::Config;
use crate::episode::{ApprovalRecord, Draft};
pub use process::{Spec, Update};

/// Why a run did not start.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A safety rule wants explicit approval.
    #[error("not run: {} ({}); run it with `codex run --yes -- {}` if you mean it", .0.reason, .0.class, .0.command)]
    Refused(Refusal),
    /// The request cannot be run as given.
    #[error("{0}")]
    Invalid(String),
    /// The executor has stopped (daemon shutting down).
    #[error("the executor has stopped; the daemon is shutting down")]
    Gone,
}

/// A request to run an explicit command.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// What to run.
    pub spec: Spec,
    /// What the user wants done (`--goal`); the command line when `None`.
    pub goal: Option<String>,
    /// Approve what the safety rule would refuse.
    pub yes: bool,
}

/// How a run went.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The run's id.
    pub run_id: RunId,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Wall time.
    pub duration_ms: u64,
    /// Whether it was recorded.
    pub recorded: bool,
}

enum Command {
    Run {
        req: RunRequest,
        updates: mpsc::Sender<Update>,
        cancel: CancellationToken,
        reply: oneshot::Sender<Result<RunReport, ExecError>>,
    },
    Active {
        reply: oneshot::Sender<u64>,
    },
}

/// Cheap, cloneable access to the executor.
#[derive(Clone, Debug)]
pub struct ExecutorHandle {
    tx: mpsc::Sender<Command>,
}

impl ExecutorHandle {
    /// Run a command: updates stream to `updates`; cancelling `cancel` stops it (its whole
    /// process group) and records it as cancelled.
    pub async fn run(
        &self,
        req: RunRequest,
        updates: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<RunReport, ExecError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Run {
                req,
                updates,
                cancel,
                reply,
            })
            .await
            .map_err(|_| ExecError::Gone)?;
        rx.await.map_err(|_| ExecError::Gone)?
    }

    /// Runs in progress.
    pub async fn active(&self) -> Result<u64, ExecError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Active { reply })
            .await
            .map_err(|_| ExecError::Gone)?;
        rx.await.map_err(|_| ExecError::Gone)
    }
}

/// Start the executor; run ids continue from `next_run_id`.
pub fn start(config: &Config, bus: &Bus, next_run_id: u64) -> (ExecutorHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(256);
    // The config was validated with these rules, so this only fails on a bug; the built-in
    // rules alone are then the safe fallback.
    let classifier = classify::Classifier::new(&config.safety.rules)
        .or_else(|e| {
            tracing::error!("cannot use safety.rules ({e}); using the built-in rules only");
            classify::Classifier::new(&[])
        })
        .map(Arc::new)
        .ok();
    let actor = Actor {
        classifier,
        bus: bus.clone(),
        next_run_id,
        recorded: config.interaction_tracking_enabled,
        limits: process::Limits {
            cancel_grace: Duration::from_millis(config.safety.cancel_grace_ms),
            drain: Duration::from_millis(config.safety.output_drain_ms),
            output_tail: config.learning.output_tail_bytes as usize,
        },
        runs: JoinSet::new(),
    };
    (ExecutorHandle { tx }, tokio::spawn(actor.run(rx)))
}

struct Actor {
    /// `None` only if even the built-in rules fail to load: then nothing runs.
    classifier: Option<Arc<classify::Classifier>>,
    bus: Bus,
    next_run_id: u64,
    recorded: bool,
    limits: process::Limits,
    runs: JoinSet<()>,
}

impl Actor {
    async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        loop {
            tokio::select! {
                cmd = inbox.recv() => match cmd {
                    Some(Command::Run { req, updates, cancel, reply }) => self.start_run(req, updates, cancel, reply),
                    Some(Command::Active { reply }) => { let _ = reply.send(self.runs.len() as u64); }
                    None => break,
                },
                Some(_) = self.runs.join_next(), if !self.runs.is_empty() => {}
            }
        }
        while self.runs.join_next().await.is_some() {}
        debug!("executor stopped");
    }

    fn start_run(
        &mut self,
        req: RunRequest,
        updates: mpsc::Sender<Update>,
        cancel: CancellationToken,
        reply: oneshot::Sender<Result<RunReport, ExecError>>,
    ) {
        let Some(classifier) = self.classifier.clone() else {
            let _ = reply.send(Err(ExecError::Invalid(
                "the safety rules could not be loaded, so nothing runs; see the daemon's log"
                    .into(),
            )));
            return;
        };
        if let Err(e) = validate(&req, &classifier) {
            if let ExecError::Refused(refusal) = &e {
                // Not given: a signal about the plan and about how much the user lets run.
                let _ = self
                    .bus
                    .send(Event::ApprovalAnswered(Arc::new(ApprovalAnswered {
                        draft: draft_of(&req),
                        class: refusal.class,
                        approved: false,
                        at: Utc::now(),
                    })));
            }
            let _ = reply.send(Err(e));
            return;
        }
        let run_id = RunId(self.next_run_id);
        self.next_run_id += 1;
        let bus = self.bus.clone();
        let limits = self.limits;
        let recorded = self.recorded;
        self.runs.spawn(async move {
            let draft = draft_of(&req);
            info!(run = %run_id, command = %draft.plan, cwd = %req.spec.cwd.display(), "run started");
            let approvals: Vec<ApprovalRecord> = needs_approval(&classifier, &req)
                .map(|r| ApprovalRecord {
                    class: r.class,
                    reason: r.reason,
                    approved: true,
                    by: "--yes".into(),
                })
                .into_iter()
                .collect();
            for a in &approvals {
                let _ = bus.send(Event::ApprovalAnswered(Arc::new(ApprovalAnswered {
                    draft: draft.clone(),
                    class: a.class,
                    approved: true,
                    at: Utc::now(),
                })));
            }
            let started_at = Utc::now();
            let clock = Instant::now();
            let finished = process::run(&req.spec, run_id, &updates, &cancel, limits).await;
            let duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
            let outcome = finished.outcome;
            info!(run = %run_id, outcome = %outcome.label(), duration_ms, "run finished");
            let episode = draft.finish(
                run_id,
                req.spec.cwd,
                approvals,
                started_at,
                outcome.clone(),
                duration_ms,
                &finished.output_tail,
            );
            // Published before the reply: a client that sees the result and asks again
            // finds the run recorded.
            let _ = bus.send(Event::RunFinished(Arc::new(episode)));
            let _ = reply.send(Ok(RunReport {
                run_id,
                outcome,
                duration_ms,
                recorded,
            }));
        });
    }
}

fn draft_of(req: &RunRequest) -> Draft {
    Draft::new(req.goal.as_deref(), &req.spec.argv, &req.spec.cwd)
}

/// The refusal a command gets without `--yes`: destructive and privileged commands.
fn needs_approval(classifier: &classify::Classifier, req: &RunRequest) -> Option<Refusal> {
    let project = crate::context::project::detect(&req.spec.cwd);
    let place = classify::Place {
        cwd: &req.spec.cwd,
        root: project.as_ref().map(|p| p.root.as_path()),
    };
    let v = classifier.classify_argv(&req.spec.argv, place);
    (v.class >= SafetyClass::Destructive).then(|| Refusal {
        class: v.class,
        reason: v.reason,
        command: crate::episode::command_line(&req.spec.argv),
    })
}

fn validate(req: &RunRequest, classifier: &classify::Classifier) -> Result<(), ExecError> {
    let spec = &req.spec;
    match spec.argv.first() {
        None => {
            return Err(ExecError::Invalid(
                "no command given: use `codex run -- CMD [ARGS...]`".into(),
            ));
        }
        Some(p) if p.is_empty() => {
            return Err(ExecError::Invalid("the program name is empty".into()));
        }
        Some(_) => {}
    }
    if !spec.cwd.is_absolute() {
        return Err(ExecError::Invalid(format!(
            "working directory {} is not absolute",
            spec.cwd.display()
        )));
    }
    if !spec.cwd.is_dir() {
        return Err(ExecError::Invalid(format!(
            "working directory {} does not exist",
            spec.cwd.display()
        )));
    }
    if !req.yes
        && let Some(refusal) = needs_approval(classifier, req)
    {
        return Err(ExecError::Refused(refusal));
    }
    Ok(())
}
