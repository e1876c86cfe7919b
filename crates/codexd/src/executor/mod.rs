//! Executor with safety checks: validates a command, applies the safety rule, runs it
//! ([`process`]), and publishes the finished run on the bus.
//!
//! An actor owning the set of runs in progress; each run is a task that streams updates to
//! whoever asked and replies when done. It ends once its inbox has closed and every run has
//! finished, so every `RunFinished` is on the bus before the learning parts stop.

#[cfg(test)]
mod adversarial;
mod approvals;
pub mod classify;
pub mod containment;
#[cfg(test)]
mod corpus;
pub mod policy;
pub mod process;
pub mod pty;
mod request;
pub mod rules;
mod run_ids;
pub mod sandbox;
pub mod steps;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use codex_proto::types::{Refusal, RunId, RunOutcome, SafetyClass};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::bus::{ApprovalAnswered, Bus, Event, Picked};
use crate::config::Config;
use crate::episode::ApprovalRecord;
pub use approvals::{ApprovalAsk, PendingView};
use approvals::{Held, Pending};
pub use process::{Spec, Update};
use request::{classify_request, draft_of, step_env, validate};

/// Why a run did not start.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The step needs approval and none could be given (no terminal), or it was denied.
    #[error("not run: {}", .0.reason)]
    Refused(Refusal),
    /// The request cannot be run as given.
    #[error("{0}")]
    Invalid(String),
    /// The change needs a yes typed at a terminal first; the text says what it lifts.
    #[error("{0}")]
    NeedsConfirmation(String),
    /// A rule could not be stored.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// As many runs as `safety.max_concurrent_runs` are in progress.
    #[error(
        "{0} runs are in progress already (safety.max_concurrent_runs): try again when one ends"
    )]
    Busy(u32),
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
    /// Approve in advance what would be asked, below destructive.
    pub yes: bool,
    /// A person can answer approval requests (the client is at a terminal).
    pub interactive: bool,
    /// Nobody is attached (a detached, scheduled or suggested run): what needs asking is held
    /// in `codex approvals` until answered or expired.
    pub unattended: bool,
    /// The class the plan's tool declares; raises the classifier's verdict, never lowers it.
    pub min_class: Option<SafetyClass>,
    /// The command of the plan ranked first, passed over for this one (`--pick N`).
    pub picked_over: Option<Vec<String>>,
    /// Which part of a plan the run is.
    pub part: codex_proto::types::RunPart,
    /// `--unconfined`: ask for the step on the terminal (whatever its class) and run it
    /// outside the sandbox after a yes.
    pub unconfined: bool,
    /// The plan codex showed for this command, recorded with the run.
    pub plan_source: Option<codex_proto::runs::PlanSource>,
    /// Who asks for it, and under which job policy.
    pub origin: Origin,
}

/// Who asks for a run: a person (the default), a scheduled job or an accepted suggestion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origin {
    /// Recorded with the episode.
    pub trigger: crate::episode::Trigger,
    /// The job, for a scheduled run.
    pub job: Option<u64>,
    /// A job with policy `allowlist`: a step no allow rule matches is held, whatever the
    /// comfort would say.
    pub allowlist_only: bool,
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
    /// What the sandbox allowed it, when it ran confined.
    pub sandbox: Option<String>,
}

enum Command {
    Run {
        req: RunRequest,
        terminal: Option<pty::Terminal>,
        updates: mpsc::Sender<Update>,
        cancel: CancellationToken,
        reply: oneshot::Sender<Result<RunReport, ExecError>>,
    },
    Active {
        reply: oneshot::Sender<u64>,
    },
    Check {
        req: RunRequest,
        reply: oneshot::Sender<Result<Check, ExecError>>,
    },
    Pending {
        answer: Option<(u64, bool)>,
        reply: oneshot::Sender<Result<Vec<PendingView>, ExecError>>,
    },
    Rules {
        change: Option<rules::RuleOp>,
        confirmed: bool,
        reply: oneshot::Sender<Result<Vec<(rules::UserRule, &'static str)>, ExecError>>,
    },
}

/// Cheap, cloneable access to the executor.
#[derive(Clone, Debug)]
pub struct ExecutorHandle {
    tx: mpsc::Sender<Command>,
    /// Which processes are its steps (for the server's peer check).
    pub steps: steps::Steps,
    /// The sandbox, as configured and as the kernel enforces it.
    pub containment: Arc<containment::Containment>,
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
        self.run_on(req, None, updates, cancel).await
    }

    /// [`ExecutorHandle::run`], on a pseudo-terminal when `terminal` is given: the step's
    /// output comes as [`Update::Terminal`], and the terminal takes the client's input. It
    /// changes nothing about what is asked or how the step is confined.
    pub async fn run_on(
        &self,
        req: RunRequest,
        terminal: Option<pty::Terminal>,
        updates: mpsc::Sender<Update>,
        cancel: CancellationToken,
    ) -> Result<RunReport, ExecError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Run {
                req,
                terminal,
                updates,
                cancel,
                reply,
            })
            .await
            .map_err(|_| ExecError::Gone)?;
        rx.await.map_err(|_| ExecError::Gone)?
    }

    /// What `run` would do with `req`, without running anything.
    pub async fn check(&self, req: RunRequest) -> Result<Check, ExecError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Check { req, reply })
            .await
            .map_err(|_| ExecError::Gone)?;
        rx.await.map_err(|_| ExecError::Gone)?
    }

    /// Approvals held for unattended runs; with `answer`, approve or deny one first.
    pub async fn pending(
        &self,
        answer: Option<(u64, bool)>,
    ) -> Result<Vec<PendingView>, ExecError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Pending { answer, reply })
            .await
            .map_err(|_| ExecError::Gone)?;
        rx.await.map_err(|_| ExecError::Gone)?
    }

    /// Change the user's allow/ask/deny rules (durably) when `change` is given; answers with
    /// every rule and where it comes from (`config` or `codex rules`). An allow rule that
    /// would let a destructive command run unasked needs `confirmed` (a yes at a terminal).
    pub async fn rules(
        &self,
        change: Option<rules::RuleOp>,
        confirmed: bool,
    ) -> Result<Vec<(rules::UserRule, &'static str)>, ExecError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Rules {
                change,
                confirmed,
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

/// What `run` would do with a command: its class, and whether it would be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The verdict.
    pub verdict: classify::Verdict,
    /// The comfort in effect.
    pub comfort: policy::Comfort,
    /// The decision.
    pub decision: policy::Decision,
    /// Where it runs, as the sandbox sees it.
    pub place: containment::Place,
    /// Whether the sandbox holds there (else why not).
    pub holds: Result<(), String>,
    /// What it may do when it runs confined.
    pub sandbox: String,
}

impl Check {
    /// Whether it would run confined: yes unless it is asked (a yes at the prompt runs it
    /// unconfined) or never runs.
    pub fn confined(&self) -> bool {
        matches!(
            self.decision,
            policy::Decision::Run | policy::Decision::PreApproved
        )
    }
}

/// The executor's view of the user: the autonomy comfort in effect (setting, else learned).
pub type ComfortSource = tokio::sync::watch::Receiver<Arc<codex_proto::prefs::Profile>>;

/// Handles of the parts that take in what runs publish. The executor holds them until its
/// last run has ended, so they cannot stop (their inboxes stay open) while a run, detached
/// or not, may still publish: the stop order is carried by who holds which sender.
pub struct Listeners {
    /// The feedback collector.
    pub feedback: crate::feedback::FeedbackHandle,
    /// The learning pipeline.
    pub learning: crate::learning::LearningHandle,
}

/// Start the executor (loading the user's rule book); run ids continue from `next_run_id`.
/// Steps start through the sandbox helper beside `codexd` (the daemon's own binary).
pub fn start(
    config: &Config,
    layout: &crate::store::Layout,
    bus: &Bus,
    next_run_id: u64,
    comfort: ComfortSource,
    helper: std::path::PathBuf,
    listeners: Listeners,
) -> Result<(ExecutorHandle, JoinHandle<()>), crate::store::StoreError> {
    let (book, _) = crate::store::journal::Journaled::<rules::RuleBook>::open(
        layout.safety_rules.clone(),
        config.storage.compact_min_bytes.get(),
    )?;
    let matcher = rules::Matcher::new(&config.safety, book.state());
    steps::adopt_orphans();
    let run_ids = run_ids::RunIds::open(
        &layout.home.join("storage").join("run_ids"),
        next_run_id,
        &layout.dataset,
    )?;
    let (tx, rx) = mpsc::channel(256);
    let tmp_base = containment::private_tmp_base(&layout.home);
    let launcher = sandbox::Launcher::for_daemon(&helper);
    let support = if config.safety.sandbox == crate::config::Sandbox::Auto {
        sandbox::probe::detect(&launcher, &tmp_base)
    } else {
        sandbox::probe::Support::none("the sandbox is off (safety.sandbox: off)")
    };
    if support.enforced() {
        info!(
            landlock_abi = support.landlock_abi,
            git_read_only = support.read_only_paths,
            "sandbox enforced"
        );
    } else {
        tracing::warn!(
            "the sandbox is not enforced ({}): only read-only steps run without asking",
            support.missing.join("; ")
        );
    }
    let containment = Arc::new(containment::Containment::new(
        &config.safety,
        support,
        tmp_base,
        launcher,
        layout.home.clone(),
    ));
    let steps = steps::Steps::persisted(layout.home.join("storage").join("step_sessions"));
    // The config was validated with these rules, so this only fails on a bug; the built-in
    // rules alone are then the safe fallback.
    let classifier = classify::Classifier::new(&config.safety.rules)
        .or_else(|e| {
            tracing::error!("cannot use safety.rules ({e}); using the built-in rules only");
            classify::Classifier::new(&[])
        })
        .map(|c| Arc::new(c.with_declared(&config.planner.tools)))
        .ok();
    let actor = Actor {
        classifier,
        declared: Arc::new(config.planner.tools.clone()),
        pending: Arc::default(),
        enhanced: config.safety_enhanced_execution,
        book,
        matcher,
        safety: config.safety.clone(),
        comfort,
        containment: containment.clone(),
        steps: steps.clone(),
        bus: bus.clone(),
        run_ids: Arc::new(std::sync::Mutex::new(run_ids)),
        _listeners: listeners,
        recorded: config.interaction_tracking_enabled,
        limits: process::Limits {
            cancel_grace: Duration::from_millis(config.safety.cancel_grace_ms),
            drain: Duration::from_millis(config.safety.output_drain_ms),
            output_tail: config.learning.output_tail_bytes as usize,
            timeout: Duration::from_secs(config.safety.step_timeout_secs.get()),
        },
        runs: JoinSet::new(),
    };
    Ok((
        ExecutorHandle {
            tx,
            steps,
            containment,
        },
        tokio::spawn(actor.run(rx)),
    ))
}

struct Actor {
    /// `None` only if even the built-in rules fail to load: then nothing runs.
    classifier: Option<Arc<classify::Classifier>>,
    /// The user's tools: a command made from one is at least as dangerous as it declares.
    declared: Arc<Vec<crate::planner::registry::ToolSpec>>,
    pending: Arc<std::sync::Mutex<Pending>>,
    enhanced: bool,
    book: crate::store::journal::Journaled<rules::RuleBook>,
    matcher: rules::Matcher,
    safety: crate::config::SafetyConfig,
    comfort: ComfortSource,
    containment: Arc<containment::Containment>,
    steps: steps::Steps,
    bus: Bus,
    /// Shared with run tasks: an id is taken only once a step is cleared to run, so a
    /// refused command never uses one.
    run_ids: Arc<std::sync::Mutex<run_ids::RunIds>>,
    /// Dropped only when the actor ends, after every run (see [`Listeners`]).
    _listeners: Listeners,
    recorded: bool,
    limits: process::Limits,
    runs: JoinSet<()>,
}

impl Actor {
    async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        loop {
            tokio::select! {
                cmd = inbox.recv() => match cmd {
                    Some(Command::Run { req, terminal, updates, cancel, reply }) => self.start_run(req, terminal, updates, cancel, reply),
                    Some(Command::Active { reply }) => { let _ = reply.send(self.runs.len() as u64); }
                    Some(Command::Check { req, reply }) => { let _ = reply.send(self.check(&req)); }
                    Some(Command::Rules { change, confirmed, reply }) => { let _ = reply.send(self.change_rules(change, confirmed)); }
                    Some(Command::Pending { answer, reply }) => { let _ = reply.send(self.answer_pending(answer)); }
                    None => break,
                },
                Some(done) = self.runs.join_next(), if !self.runs.is_empty() => {
                    if let Err(e) = done && e.is_panic() {
                        tracing::error!("a run's task panicked (a bug): {e}");
                    }
                }
            }
        }
        while self.runs.join_next().await.is_some() {}
        if let Ok(mut ids) = self.run_ids.lock() {
            ids.close();
        }
        // Every run has ended: whatever its steps left running goes now, so stopping codexd
        // leaves nothing behind (a step that left its session was adopted, see `steps`).
        let ended = steps::end_descendants();
        if ended > 0 {
            tracing::info!(processes = ended, "ended what the steps left running");
        }
        // The folder of their temp folders goes too.
        let base = &self.containment.tmp_base;
        if *base != std::env::temp_dir() {
            let _ = std::fs::remove_dir_all(base);
        }
        debug!("executor stopped");
    }

    /// The step's timeout: its tool's, else its program's, else the default.
    fn timeout_for(&self, argv: &[String]) -> Duration {
        let tool = crate::learning::normalize::tool_of(argv);
        let program = crate::episode::program_name(argv);
        self.safety
            .timeouts
            .get(&tool)
            .or_else(|| self.safety.timeouts.get(&program))
            .map_or(self.limits.timeout, |s| Duration::from_secs(s.get()))
    }

    fn comfort(&self) -> policy::Comfort {
        policy::Comfort::parse(&self.comfort.borrow().style.autonomy_comfort.value)
    }

    fn change_rules(
        &mut self,
        change: Option<rules::RuleOp>,
        confirmed: bool,
    ) -> Result<Vec<(rules::UserRule, &'static str)>, ExecError> {
        if let Some(op) = change {
            match &op {
                rules::RuleOp::Add { rule } => {
                    rules::compile(&rule.pattern).map_err(|why| {
                        ExecError::Invalid(format!("bad pattern `{}`: {why}", rule.pattern))
                    })?;
                    let classifier = self.classifier.as_ref().ok_or_else(rules_missing)?;
                    let here = std::path::Path::new("/nonexistent/project");
                    let place = classify::Place::new(here, Some(here));
                    if rule.kind == rules::Kind::Allow
                        && !confirmed
                        && let Some(example) =
                            rules::lifts_destructive(&rule.pattern, classifier, place)
                    {
                        return Err(ExecError::NeedsConfirmation(format!(
                            "`allow {}` would let destructive commands run without asking (for \
                             example `{example}`; they would still run in the sandbox). Adding \
                             it needs a yes typed at a terminal: --yes does not answer this",
                            rule.pattern
                        )));
                    }
                }
                rules::RuleOp::Remove { pattern } => {
                    if !self
                        .book
                        .state()
                        .rules
                        .iter()
                        .any(|r| &r.pattern == pattern)
                    {
                        return Err(ExecError::Invalid(format!(
                            "no rule `{pattern}` was added with `codex rules` (rules from the \
                             config file are changed there)"
                        )));
                    }
                }
            }
            self.book.append(op, true)?;
            self.matcher = rules::Matcher::new(&self.safety, self.book.state());
        }
        Ok(self.matcher.list())
    }

    /// Unattended runs are stricter: one comfort level lower. `safety_enhanced_execution:
    /// false` lifts that only at high comfort; below, it is not honoured.
    fn unattended_comfort(&self, comfort: policy::Comfort) -> policy::Comfort {
        if !self.enhanced && comfort == policy::Comfort::High {
            return comfort;
        }
        if !self.enhanced {
            tracing::warn!(
                "safety_enhanced_execution: false is not honoured at autonomy comfort {}: only at high",
                comfort.name()
            );
        }
        match comfort {
            policy::Comfort::High => policy::Comfort::Medium,
            _ => policy::Comfort::Low,
        }
    }

    /// A plan the user has shown they dislike is not run with nobody watching.
    fn check_alignment(&self, req: &RunRequest) -> Result<(), ExecError> {
        let draft = draft_of(req);
        let profile = self.comfort.borrow().clone();
        let score = profile
            .categories
            .iter()
            .find(|c| c.category == draft.category)
            .and_then(|c| c.plans.iter().find(|p| p.plan == draft.plan))
            .map(|p| p.score);
        let min = self.safety.min_alignment_unattended.get();
        match score {
            Some(s) if s < min => Err(ExecError::Refused(Refusal {
                class: SafetyClass::ReadOnly,
                reason: format!(
                    "not run unattended: your preference for `{}` in \"{}\" is {s:.2}, under \
                     safety.min_alignment_unattended ({min}); run it yourself to see it through",
                    draft.plan, draft.category
                ),
                command: draft.plan,
            })),
            _ => Ok(()),
        }
    }

    fn answer_pending(
        &mut self,
        answer: Option<(u64, bool)>,
    ) -> Result<Vec<PendingView>, ExecError> {
        let mut pending = self.pending.lock().map_err(|_| ExecError::Gone)?;
        pending.expire(Utc::now());
        if let Some((id, approved)) = answer {
            let held = pending.held.remove(&id).ok_or_else(|| {
                ExecError::Invalid(format!(
                    "no pending approval {id}: see `codex approvals` (it may have expired)"
                ))
            })?;
            let _ = held.reply.send(Some(approved));
        }
        Ok(pending.views())
    }

    fn check(&self, req: &RunRequest) -> Result<Check, ExecError> {
        let classifier = self.classifier.as_ref().ok_or_else(rules_missing)?;
        validate(req)?;
        let env = step_env(&req.spec);
        let place = self.containment.place(&req.spec.cwd, &env);
        let verdict = classify_request(classifier, &self.declared, req, place.root.as_deref());
        let own = self.comfort();
        let mut comfort = own;
        if req.unattended {
            comfort = self.unattended_comfort(comfort);
            // A job's plan is the user's own choice, fixed when they scheduled it; a job that
            // keeps failing or is rated low is backed off and paused by the optimizer. Its
            // failures must not also refuse it for good: once its tool works again it must
            // be able to show it.
            if req.origin.job.is_none() {
                self.check_alignment(req)?;
            }
        }
        let command = crate::episode::command_line(&req.spec.argv);
        let holds = self.containment.holds(&place);
        let decided = policy::decide_at(verdict.class, comfort, own, req.yes);
        let borrowed = req.plan_source.as_ref().and_then(|s| s.borrowed.as_deref());
        let rule = self.matcher.strongest(&command);
        let decided = if req.origin.allowlist_only {
            policy::allowlist_only(decided, rule.map(|(r, _)| r.kind))
        } else {
            decided
        };
        let ruled = policy::with_rule(
            policy::first_time(decided, verdict.class, borrowed, req.yes),
            verdict.class,
            rule,
        );
        let ruled = if req.origin.trigger == crate::episode::Trigger::Schedule {
            policy::scheduled(ruled, verdict.class)
        } else {
            ruled
        };
        let decision = policy::contain(
            ruled,
            verdict.class,
            holds.as_ref().map_err(String::as_str).copied(),
            req.unconfined,
        );
        let sandbox = self.containment.describe(&place, verdict.network);
        Ok(Check {
            verdict,
            comfort,
            decision,
            place,
            holds,
            sandbox,
        })
    }

    fn start_run(
        &mut self,
        req: RunRequest,
        terminal: Option<pty::Terminal>,
        updates: mpsc::Sender<Update>,
        cancel: CancellationToken,
        reply: oneshot::Sender<Result<RunReport, ExecError>>,
    ) {
        let max = self.safety.max_concurrent_runs.get();
        if self.runs.len() >= max as usize {
            let _ = reply.send(Err(ExecError::Busy(max)));
            return;
        }
        let check = match self.check(&req) {
            Ok(c) => c,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let bus = self.bus.clone();
        let mut limits = self.limits;
        limits.timeout = self.timeout_for(&req.spec.argv);
        let recorded = self.recorded;
        let containment = self.containment.clone();
        let steps = self.steps.clone();
        let pending = self.pending.clone();
        let expiry = chrono::Duration::seconds(
            i64::try_from(self.safety.approval_expiry_secs.get()).unwrap_or(i64::MAX / 2),
        );
        let run_ids = self.run_ids.clone();
        self.runs.spawn(async move {
            let draft = draft_of(&req);
            // Choosing another plan says something whether or not it gets to run.
            if let Some(over) = &req.picked_over {
                let over = crate::learning::normalize::plan_signature(
                    &crate::learning::redact::redact_argv(over),
                );
                if over != draft.plan {
                    let _ = bus.send(Event::Picked(Arc::new(Picked {
                        draft: draft.clone(),
                        over,
                        at: Utc::now(),
                    })));
                }
            }
            let command = crate::episode::command_line(&req.spec.argv);
            let verdict = check.verdict;
            let answer = |approved: bool, by: &str| {
                let _ = bus.send(Event::ApprovalAnswered(Arc::new(ApprovalAnswered {
                    draft: draft.clone(),
                    class: verdict.class,
                    approved,
                    asked: by == "prompt" || by == "codex approve",
                    at: Utc::now(),
                })));
                ApprovalRecord {
                    class: verdict.class,
                    reason: verdict.reason.clone(),
                    approved,
                    by: by.into(),
                }
            };
            let mut approvals = Vec::new();
            match check.decision {
                policy::Decision::Run => {}
                policy::Decision::PreApproved => approvals.push(answer(true, "--yes")),
                policy::Decision::Ask(why_asked) if req.interactive => {
                    let (tx, rx) = oneshot::channel();
                    let asked = updates
                        .send(Update::Approval(Box::new(ApprovalAsk {
                            command: command.clone(),
                            class: verdict.class,
                            reason: verdict.reason.clone(),
                            why_asked,
                            reply: tx,
                        })))
                        .await
                        .is_ok();
                    // No answer (Ctrl-C, the client gone) is not a "no" to learn from: the
                    // step just does not run.
                    let answered = if asked {
                        tokio::select! {
                            a = rx => a.ok().flatten(),
                            _ = cancel.cancelled() => None,
                        }
                    } else {
                        None
                    };
                    match answered {
                        Some(true) => approvals.push(answer(true, "prompt")),
                        Some(false) => {
                            answer(false, "prompt");
                            let _ = reply.send(Err(ExecError::Refused(Refusal {
                                class: verdict.class,
                                reason: format!("you said no to `{command}` ({})", verdict.reason),
                                command,
                            })));
                            return;
                        }
                        None => {
                            let _ = reply.send(Err(ExecError::Refused(Refusal {
                                class: verdict.class,
                                reason: format!("`{command}` was not run: the question went unanswered"),
                                command,
                            })));
                            return;
                        }
                    }
                }
                policy::Decision::Denied(why) => {
                    let _ = reply.send(Err(ExecError::Refused(Refusal {
                        class: verdict.class,
                        reason: format!("{why}; `{command}` never runs ({})", verdict.reason),
                        command,
                    })));
                    return;
                }
                policy::Decision::Ask(why_asked) if req.unattended => {
                    let held_why = format!("`{command}` ({}) needs a yes: {why_asked}", verdict.class);
                    let (tx, rx) = oneshot::channel();
                    let (id, expires) = match pending.lock() {
                        Ok(mut p) => p.hold(Held {
                            command: command.clone(),
                            class: verdict.class,
                            reason: verdict.reason.clone(),
                            why_asked,
                            created: Utc::now(),
                            expires: Utc::now() + expiry,
                            cwd: req.spec.cwd.clone(),
                            project: draft.project.as_ref().map(|p| p.root.clone()),
                            job: req.origin.job,
                            reply: tx,
                        }),
                        Err(_) => return,
                    };
                    info!(approval = id, command = %command, "held for approval (nobody attached)");
                    let _ = updates
                        .send(Update::Held {
                            approval: id,
                            why: held_why,
                        })
                        .await;
                    let wait = (expires - Utc::now()).to_std().unwrap_or_default();
                    let answered = tokio::select! {
                        a = rx => a.ok().flatten(),
                        _ = cancel.cancelled() => None,
                        _ = tokio::time::sleep(wait) => None,
                    };
                    if let Ok(mut p) = pending.lock() {
                        p.held.remove(&id);
                    }
                    match answered {
                        Some(true) => approvals.push(answer(true, "codex approve")),
                        other => {
                            // A "no" is learned as one; an expiry like a held-back command.
                            if other == Some(false) {
                                answer(false, "codex approve");
                            } else if !cancel.is_cancelled() {
                                answer(false, "expired");
                            }
                            let _ = reply.send(Err(ExecError::Refused(Refusal {
                                class: verdict.class,
                                reason: format!("approval {id} for `{command}` was denied or expired"),
                                command,
                            })));
                            return;
                        }
                    }
                }
                policy::Decision::Ask(why_asked) => {
                    answer(false, "held");
                    let hint = if verdict.class >= SafetyClass::Destructive {
                        "run it from a terminal to be asked".to_string()
                    } else {
                        format!("run it from a terminal to be asked, or pass --yes (`codex run --yes -- {command}`)")
                    };
                    let _ = reply.send(Err(ExecError::Refused(Refusal {
                        class: verdict.class,
                        reason: format!(
                            "{} ({}); it needs approval because {why_asked}, and there is no terminal to ask on: {hint}",
                            verdict.reason, verdict.class
                        ),
                        command,
                    })));
                    return;
                }
            }
            // A yes typed for this very step (at the prompt, or `codex approve`) runs it as
            // the user saw it; anything else the policy cleared runs confined.
            let approved_on_terminal = approvals
                .iter()
                .any(|a| a.approved && matches!(a.by.as_str(), "prompt" | "codex approve"));
            let mut env = step_env(&req.spec);
            let tmp = if approved_on_terminal {
                None
            } else {
                match tempfile::Builder::new()
                    .prefix("codex-step-")
                    .tempdir_in(&containment.tmp_base)
                {
                    Ok(t) => Some(t),
                    Err(e) => {
                        let _ = reply.send(Err(ExecError::Invalid(format!(
                            "cannot make a private temp folder for the step in {}: {e}",
                            containment.tmp_base.display()
                        ))));
                        return;
                    }
                }
            };
            let mode = match &tmp {
                None => sandbox::Mode::Unconfined,
                Some(t) => {
                    for k in ["TMPDIR", "TMP", "TEMP"] {
                        env.insert(k.into(), t.path().display().to_string());
                    }
                    env.extend(containment.env_for(&check.place, t.path()));
                    containment.mode_for(false, &check.place, &env, t.path(), verdict.network)
                }
            };
            let mut spec = req.spec.clone();
            spec.env = Some(env);
            // `[helper, ..., --]`: the step's own argv follows.
            spec.launcher = containment.launcher.command(&mode, &[]);
            let sandbox_note = mode.is_confined().then(|| check.sandbox.clone());
            let unenforced = check.holds.clone().err();
            let taken = match run_ids.lock() {
                Ok(mut ids) => ids.take().map_err(ExecError::Store),
                Err(_) => Err(ExecError::Invalid("the run id allocator failed; restart codexd".into())),
            };
            let run_id = match taken {
                Ok(id) => id,
                Err(e) => {
                    tracing::error!("cannot take a run id: {e}");
                    let _ = reply.send(Err(e));
                    return;
                }
            };
            info!(run = %run_id, command = %draft.plan, class = %verdict.class, cwd = %req.spec.cwd.display(), "run started");
            let started_at = Utc::now();
            let clock = Instant::now();
            let started = process::Started {
                run_id,
                confined: mode.is_confined(),
                note: unenforced.map(|why| {
                    format!("the sandbox does not hold here ({why}); only read-only steps run without asking")
                }),
            };
            let redirects_before = sandbox::roots::redirects(&check.place.pinned);
            let finished = process::run(&spec, started, &updates, &cancel, limits, &steps, terminal).await;
            if mode.is_confined() {
                // A `commondir` the step made would send git's config and hooks elsewhere;
                // the sandbox cannot bind what did not exist, so it is undone here.
                for p in sandbox::roots::planted_redirects(&check.place.pinned, &redirects_before) {
                    let removed = std::fs::remove_file(&p).is_ok();
                    tracing::warn!(path = %p.display(), removed, "a confined step created a git redirect");
                    let _ = updates
                        .send(Update::Output {
                            stream: codex_proto::types::OutputStream::Stderr,
                            data: format!(
                                "codex: {} {}, which this step created: it would send git's config and hooks elsewhere\n",
                                if removed { "removed" } else { "could not remove" },
                                p.display()
                            ),
                        })
                        .await;
                }
            }
            drop(tmp);
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
            )
            .with_facts(crate::episode::StepFacts {
                class: verdict.class,
                class_reason: verdict.reason.clone(),
                confined: mode.is_confined(),
                min_class: req.min_class,
                plan_source: req.plan_source.clone(),
            })
            .by(req.origin.trigger, req.origin.job);
            // Published before the reply: a client that sees the result and asks again
            // finds the run recorded.
            let _ = bus.send(Event::RunFinished(Arc::new(episode)));
            let _ = reply.send(Ok(RunReport {
                run_id,
                outcome,
                duration_ms,
                recorded,
                sandbox: sandbox_note,
            }));
        });
    }
}

fn rules_missing() -> ExecError {
    ExecError::Invalid(
        "the safety rules could not be loaded, so nothing runs; see the daemon's log".into(),
    )
}
