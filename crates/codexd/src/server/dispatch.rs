//! Requests answered at once (everything but `run`): one function per method.

use codex_proto::PROTOCOL_VERSION;
use codex_proto::jsonrpc::{ErrorObject, codes};
use std::path::{Path, PathBuf};

use codex_proto::capture::{CaptureRecord, CaptureState};
use codex_proto::jsonrpc::Request;
use codex_proto::methods::{
    Approvals, ApprovalsParams, ApprovalsResult, Context, ContextParams, ContextResult, DaemonStop,
    DaemonStopResult, Export, ExportLines, ExportLinesParams, ExportParams, ExportResult, Forget,
    Hello, HelloParams, HelloResult, History, Import, ImportMarkGet, Method, Notification,
    PendingApproval, Plan, PlanParams, PlaybookEntry, Playbooks, PlaybooksParams, PlaybooksResult,
    PrefsReset, PrefsResetParams, PrefsResetResult, PrefsSet, PrefsSetParams, PrefsSetResult,
    PrefsShow, PrefsShowParams, PrefsShowResult, PrefsUnset, PrefsUnsetParams, Rate, RateParams,
    RateResult, RuleEntry, Rules, RulesParams, RulesResult, Run, RunCheck, RunCheckParams,
    RunCheckResult, RunDetach, RunDetachResult, RunParams, Status, StatusResult, Teach,
    TeachParams,
};
use codex_proto::optimizer::{
    Alerts, AlertsAck, ModelPromote, ModelRollback, ModelStatus, ModelTrain,
};
use codex_proto::runs::RunShow;
use codex_proto::schedule::{
    ScheduleAdd, ScheduleList, SchedulePause, ScheduleRemove, ScheduleReplan, ScheduleResume,
    ScheduleRun, ScheduleShow, Suggest, SuggestAccept, SuggestDismiss, SuggestJobs,
};
use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use super::connection::{Json, Outbox, send, to_json};
use super::schedule::{self, scheduler_error};
use crate::context::project;
use crate::feedback::FeedbackError;
use crate::learning::{LearningError, export, normalize, redact};

/// Every method the daemon answers, for the unknown-method error.
const METHODS: &[&str] = &[
    Hello::NAME,
    Status::NAME,
    Run::NAME,
    Rate::NAME,
    History::NAME,
    RunShow::NAME,
    PrefsShow::NAME,
    PrefsSet::NAME,
    PrefsUnset::NAME,
    PrefsReset::NAME,
    Forget::NAME,
    RunCheck::NAME,
    Plan::NAME,
    codex_proto::model_planner::PlanPrompt::NAME,
    Context::NAME,
    Teach::NAME,
    Playbooks::NAME,
    RunDetach::NAME,
    Approvals::NAME,
    Rules::NAME,
    Import::NAME,
    ImportMarkGet::NAME,
    Export::NAME,
    ScheduleAdd::NAME,
    ScheduleList::NAME,
    ScheduleShow::NAME,
    ScheduleRemove::NAME,
    SchedulePause::NAME,
    ScheduleResume::NAME,
    ScheduleRun::NAME,
    ScheduleReplan::NAME,
    Suggest::NAME,
    SuggestJobs::NAME,
    SuggestAccept::NAME,
    SuggestDismiss::NAME,
    DaemonStop::NAME,
    CaptureRecord::NAME,
    CaptureState::NAME,
    Alerts::NAME,
    AlertsAck::NAME,
    ModelStatus::NAME,
    ModelTrain::NAME,
    ModelPromote::NAME,
    ModelRollback::NAME,
];

/// Lines per `export/lines` notification: big enough to be cheap, small enough to stay far
/// below any reader's line cap.
const EXPORT_CHUNK: usize = 512;
/// Entries one `import` call may carry.
pub const IMPORT_MAX: usize = 5_000;

/// Answer one request.
pub async fn call(ctx: &Ctx, method: &str, raw: Value, out: &Outbox) -> Result<Json, ErrorObject> {
    match method {
        Hello::NAME => to_json(&hello(ctx, params::<Hello>(raw)?).await?),
        Status::NAME => {
            params::<Status>(raw)?;
            to_json(&status(ctx).await?)
        }
        Rate::NAME => to_json(&rate(ctx, params::<Rate>(raw)?).await?),
        History::NAME => to_json(&super::runs::history(ctx, params::<History>(raw)?).await?),
        RunShow::NAME => to_json(&super::runs::show(ctx, params::<RunShow>(raw)?).await?),
        PrefsShow::NAME => to_json(&prefs_show(ctx, params::<PrefsShow>(raw)?).await?),
        PrefsSet::NAME => {
            let p: PrefsSetParams = params::<PrefsSet>(raw)?;
            to_json(&setting(ctx, p.key, Some(p.value)).await?)
        }
        PrefsUnset::NAME => {
            let p: PrefsUnsetParams = params::<PrefsUnset>(raw)?;
            to_json(&setting(ctx, p.key, None).await?)
        }
        PrefsReset::NAME => to_json(&prefs_reset(ctx, params::<PrefsReset>(raw)?).await?),
        Forget::NAME => to_json(&super::forget::forget(ctx, params::<Forget>(raw)?).await?),
        RunCheck::NAME => to_json(&run_check(ctx, params::<RunCheck>(raw)?).await?),
        Plan::NAME => {
            let p: PlanParams = params::<Plan>(raw)?;
            if !p.cwd.is_absolute() {
                return Err(ErrorObject::new(
                    codes::INVALID_PARAMS,
                    format!("working directory {} is not absolute", p.cwd.display()),
                ));
            }
            // Plan on what the last run taught, not on the last periodic snapshot.
            let _ = ctx.feedback.current().await;
            let (goal, cwd) = (p.goal.clone(), p.cwd.clone());
            let plans = ctx
                .planner
                .plan(p.goal, p.cwd, p.path, p.terminal, true)
                .await
                .map_err(planner_error)?;
            ctx.shown.remember(&goal, &cwd, &plans);
            to_json(&plans)
        }
        codex_proto::model_planner::PlanPrompt::NAME => {
            let p: PlanParams = params::<codex_proto::model_planner::PlanPrompt>(raw)?;
            if !p.cwd.is_absolute() {
                return Err(ErrorObject::new(
                    codes::INVALID_PARAMS,
                    format!("working directory {} is not absolute", p.cwd.display()),
                ));
            }
            let _ = ctx.feedback.current().await;
            let prompt = ctx
                .planner
                .prompt(p.goal, p.cwd, p.path, p.terminal)
                .await
                .map_err(planner_error)?;
            to_json(&prompt)
        }
        Teach::NAME => to_json(&teach(ctx, params::<Teach>(raw)?).await?),
        Context::NAME => to_json(&context(ctx, params::<Context>(raw)?).await?),
        Playbooks::NAME => {
            let p: PlaybooksParams = params::<Playbooks>(raw)?;
            let change = p
                .remove
                .map(|phrase| crate::planner::playbooks::PlaybookOp::Remove {
                    phrase: normalize::normalize_goal(&phrase),
                });
            let list = ctx.planner.playbooks(change).await.map_err(planner_error)?;
            to_json(&playbook_list(list))
        }
        RunDetach::NAME => to_json(&run_detach(ctx, params::<RunDetach>(raw)?).await?),
        Approvals::NAME => to_json(&approvals(ctx, params::<Approvals>(raw)?).await?),
        Rules::NAME => to_json(&rules(ctx, params::<Rules>(raw)?).await?),
        Import::NAME => to_json(&super::import::import(ctx, params::<Import>(raw)?).await?),
        ImportMarkGet::NAME => {
            to_json(&super::import::mark(ctx, params::<ImportMarkGet>(raw)?).await?)
        }
        Export::NAME => to_json(&export(ctx, params::<Export>(raw)?, out).await?),
        ScheduleAdd::NAME => to_json(&schedule::add(ctx, params::<ScheduleAdd>(raw)?).await?),
        ScheduleList::NAME => {
            params::<ScheduleList>(raw)?;
            to_json(&schedule::list(ctx).await?)
        }
        ScheduleShow::NAME => to_json(&schedule::show(ctx, params::<ScheduleShow>(raw)?).await?),
        ScheduleRemove::NAME => {
            let p = params::<ScheduleRemove>(raw)?;
            to_json(&ctx.scheduler.remove(p.id).await.map_err(scheduler_error)?)
        }
        SchedulePause::NAME | ScheduleResume::NAME => {
            let p = params::<SchedulePause>(raw)?;
            let paused = method == SchedulePause::NAME;
            to_json(
                &ctx.scheduler
                    .pause(p.id, paused)
                    .await
                    .map_err(scheduler_error)?,
            )
        }
        ScheduleRun::NAME => {
            let p = params::<ScheduleRun>(raw)?;
            to_json(&ctx.scheduler.run_now(p.id).await.map_err(scheduler_error)?)
        }
        ScheduleReplan::NAME => {
            to_json(&schedule::replan(ctx, params::<ScheduleReplan>(raw)?).await?)
        }
        Suggest::NAME => to_json(&super::suggest::suggest(ctx, params::<Suggest>(raw)?).await?),
        SuggestJobs::NAME => {
            params::<SuggestJobs>(raw)?;
            to_json(&super::suggest::jobs(ctx).await?)
        }
        SuggestAccept::NAME => {
            to_json(&super::suggest::accept(ctx, params::<SuggestAccept>(raw)?).await?)
        }
        SuggestDismiss::NAME => {
            to_json(&super::suggest::dismiss(ctx, params::<SuggestDismiss>(raw)?).await?)
        }
        CaptureRecord::NAME => {
            let recorded = super::capture::record(ctx, params::<CaptureRecord>(raw)?).await?;
            // The next-goal model learns a recorded command like an imported one.
            if let Some(c) = &recorded.accepted {
                let o = crate::scheduler::patterns::Observed::typed(
                    &c.command,
                    Some(c.at),
                    c.project.as_ref().map(|p| p.root.as_path()),
                );
                let _ = ctx.scheduler.observe(vec![o]).await;
            }
            to_json(&recorded.result)
        }
        CaptureState::NAME => to_json(&super::capture::state(ctx, params::<CaptureState>(raw)?)?),
        Alerts::NAME => {
            let p = params::<Alerts>(raw)?;
            to_json(&ctx.optimizer.alerts(p.all).await.map_err(optimizer_error)?)
        }
        AlertsAck::NAME => {
            let p = params::<AlertsAck>(raw)?;
            to_json(&ctx.optimizer.ack(p.id).await.map_err(optimizer_error)?)
        }
        ModelStatus::NAME => {
            params::<ModelStatus>(raw)?;
            to_json(
                &ctx.optimizer
                    .model_status()
                    .await
                    .map_err(optimizer_error)?,
            )
        }
        ModelTrain::NAME => {
            let p = params::<ModelTrain>(raw)?;
            to_json(&ctx.optimizer.train(p.wait).await.map_err(optimizer_error)?)
        }
        ModelPromote::NAME => {
            let p = params::<ModelPromote>(raw)?;
            to_json(
                &ctx.optimizer
                    .promote(p.version)
                    .await
                    .map_err(optimizer_error)?,
            )
        }
        ModelRollback::NAME => {
            params::<ModelRollback>(raw)?;
            to_json(&ctx.optimizer.rollback().await.map_err(optimizer_error)?)
        }
        DaemonStop::NAME => {
            params::<DaemonStop>(raw)?;
            ctx.shutdown.cancel();
            to_json(&DaemonStopResult { pid: ctx.info.pid })
        }
        other => Err(ErrorObject::new(
            codes::METHOD_NOT_FOUND,
            format!(
                "unknown method `{other}`; this daemon answers: {}",
                METHODS.join(", ")
            ),
        )),
    }
}

/// The error for a failed optimizer request.
pub fn optimizer_error(e: crate::optimizer::OptimizerError) -> ErrorObject {
    use crate::optimizer::OptimizerError as E;
    let code = match &e {
        E::Stopped => codes::SHUTTING_DOWN,
        E::UnknownAlert(_) => codes::NOT_FOUND,
        E::Store(_) => codes::STORAGE,
        E::Models(crate::optimizer::models::ModelError::Unknown(_)) => codes::NOT_FOUND,
        E::Models(crate::optimizer::models::ModelError::Store(_)) => codes::STORAGE,
        E::Models(_) | E::Training(_) => codes::INVALID_PARAMS,
    };
    ErrorObject::new(code, e.to_string())
}

/// Read a method's params; an omitted `params` means `{}`.
pub fn params<M: Method>(raw: Value) -> Result<M::Params, ErrorObject> {
    let raw = if raw.is_null() {
        Value::Object(Default::default())
    } else {
        raw
    };
    serde_json::from_value(raw).map_err(|e| {
        ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("invalid params for `{}`: {e}", M::NAME),
        )
    })
}

/// Serialize a result.
pub fn to_value<T: Serialize>(v: &T) -> Result<Value, ErrorObject> {
    serde_json::to_value(v).map_err(|e| {
        ErrorObject::new(
            codes::INTERNAL_ERROR,
            format!("cannot encode the result: {e}"),
        )
    })
}

async fn hello(ctx: &Ctx, p: HelloParams) -> Result<HelloResult, ErrorObject> {
    if let Some(v) = p.protocol
        && v != PROTOCOL_VERSION
    {
        return Err(ErrorObject::new(
            codes::PROTOCOL_MISMATCH,
            format!(
                "this codexd speaks protocol {PROTOCOL_VERSION}, the client speaks {v}; \
                     restart the daemon (`codex daemon stop`) so client and daemon match"
            ),
        ));
    }
    Ok(HelloResult {
        daemon_version: codex_proto::VERSION.into(),
        protocol: PROTOCOL_VERSION,
        pid: ctx.info.pid,
        home: ctx.info.home.clone(),
        verbosity: ctx.feedback.profile().style.verbosity.value.clone(),
        notices: if p.notices {
            ctx.optimizer.take_notices().await.unwrap_or_default()
        } else {
            Vec::new()
        },
        plan_wait_secs: ctx.planner.model_wait().map(|d| d.as_secs() + 1),
    })
}

async fn status(ctx: &Ctx) -> Result<StatusResult, ErrorObject> {
    // Asked at once: under load each actor answers after its own queue, not after all three.
    let (stats, ratings, active, jobs, optimizer) = tokio::join!(
        ctx.learning.stats(),
        ctx.feedback.count(),
        ctx.executor.active(),
        ctx.scheduler.list(),
        ctx.optimizer.status()
    );
    let paused_by_codex = jobs.as_ref().map_or(0, |jobs| {
        jobs.iter()
            .filter(|j| j.paused && j.paused_by_codex.is_some())
            .count() as u64
    });
    let optimizer = optimizer.ok().map(|mut o| {
        o.jobs_paused = paused_by_codex;
        o
    });
    let jobs = jobs.ok().map(|jobs| codex_proto::methods::JobsStatus {
        total: jobs.len() as u64,
        paused: jobs.iter().filter(|j| j.paused).count() as u64,
        running: jobs.iter().filter(|j| j.running).count() as u64,
        next: jobs.iter().filter_map(|j| j.next).min(),
    });
    let active_runs = active.map_err(|e| ErrorObject::new(codes::SHUTTING_DOWN, e.to_string()))?;
    let i = &ctx.info;
    Ok(StatusResult {
        planner_model: ctx.planner.model_stats(),
        version: codex_proto::VERSION.into(),
        protocol: PROTOCOL_VERSION,
        pid: i.pid,
        started_at: i.started_at,
        uptime_secs: i.started.elapsed().as_secs(),
        home: i.home.clone(),
        socket: i.socket.clone(),
        config: i.config.clone(),
        tracking: i.tracking,
        episodes: stats.map_err(learning_error)?.episodes,
        ratings: ratings.map_err(feedback_error)?,
        active_runs,
        sandbox: ctx.executor.containment.status(),
        jobs,
        optimizer,
    })
}

async fn rate(ctx: &Ctx, p: RateParams) -> Result<RateResult, ErrorObject> {
    if !(1..=5).contains(&p.score) {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("score must be from 1 to 5, got {}", p.score),
        ));
    }
    let episode = ctx
        .learning
        .resolve(p.run_id)
        .await
        .map_err(learning_error)?;
    let (run_id, goal) = (episode.run_id, episode.goal.clone());
    // Comments are free text like goals: nothing stored may carry a secret.
    let comment = p.comment.map(|c| redact::redact(&c).into_owned());
    let done = ctx
        .feedback
        .rate(episode, p.score, comment)
        .await
        .map_err(feedback_error)?;
    // The label is written to the dataset as soon as learning takes `Rated` in: wait for
    // that, so an acknowledged rating is in every file that should hold it.
    ctx.learning.settled().await.map_err(learning_error)?;
    Ok(RateResult {
        run_id,
        goal,
        score: p.score,
        previous: done.previous,
    })
}

/// The project root of `dir` (the folder itself when it is in no project). Must be absolute.
pub(super) fn project_root(dir: &Path) -> Result<PathBuf, ErrorObject> {
    if !dir.is_absolute() {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("project folder {} is not absolute", dir.display()),
        ));
    }
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    Ok(project::detect(&dir).map_or(dir, |p| p.root))
}

async fn prefs_show(ctx: &Ctx, p: PrefsShowParams) -> Result<PrefsShowResult, ErrorObject> {
    let root = p
        .project
        .as_deref()
        .map(project_root)
        .transpose()?
        .map(|r| r.display().to_string());
    let category = p.category.as_deref().map(normalize::normalize_goal);
    let (profile, patterns, started_by) = tokio::join!(
        ctx.feedback.profile_for(category, root.clone()),
        ctx.learning.patterns(root.clone()),
        ctx.learning.started_by(root.clone())
    );
    Ok(PrefsShowResult {
        profile: profile.map_err(feedback_error)?,
        patterns: patterns.map_err(learning_error)?,
        project: root,
        started_by: started_by.map_err(learning_error)?,
    })
}

async fn setting(
    ctx: &Ctx,
    key: String,
    value: Option<String>,
) -> Result<PrefsSetResult, ErrorObject> {
    let done = ctx
        .feedback
        .setting(key.clone(), value)
        .await
        .map_err(feedback_error)?;
    Ok(PrefsSetResult {
        key,
        value: done.value,
        source: done.source,
        previous: done.previous,
    })
}

async fn prefs_reset(ctx: &Ctx, p: PrefsResetParams) -> Result<PrefsResetResult, ErrorObject> {
    let removed = ctx.feedback.reset(p.all).await.map_err(feedback_error)?;
    Ok(PrefsResetResult {
        signals: removed.signals,
        settings: removed.settings,
    })
}

async fn export(ctx: &Ctx, p: ExportParams, out: &Outbox) -> Result<ExportResult, ErrorObject> {
    if let Some(r) = p.min_rating
        && !(1..=5).contains(&r)
    {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("min_rating must be from 1 to 5, got {r}"),
        ));
    }
    let filter = export::Filter {
        since: p.since,
        min_rating: p.min_rating,
        project: p.project.as_deref().map(project_root).transpose()?,
    };
    let path = ctx
        .learning
        .readable_dataset()
        .await
        .map_err(learning_error)?;
    // Read and encode on a blocking thread, chunk by chunk, so a large export neither holds
    // the dataset in memory nor stalls the runtime.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<String>>(4);
    let format = p.format;
    let reader = tokio::task::spawn_blocking(move || {
        export::stream(&path, format, &filter, EXPORT_CHUNK, |lines| {
            tx.blocking_send(lines).is_ok()
        })
    });
    while let Some(lines) = rx.recv().await {
        if let Ok(v) = serde_json::to_value(ExportLinesParams { lines }) {
            send(out, &Request::notification(ExportLines::NAME, v)).await;
        }
    }
    let lines = reader
        .await
        .map_err(|e| ErrorObject::new(codes::INTERNAL_ERROR, format!("export failed: {e}")))?
        .map_err(|e| ErrorObject::new(codes::STORAGE, e.to_string()))?;
    Ok(ExportResult { lines })
}

async fn rules(ctx: &Ctx, p: RulesParams) -> Result<RulesResult, ErrorObject> {
    use crate::executor::rules::{Kind, RuleOp, UserRule};
    let change = match (p.add, p.remove) {
        (Some(_), Some(_)) => {
            return Err(ErrorObject::new(
                codes::INVALID_PARAMS,
                "add or remove a rule, not both at once",
            ));
        }
        (Some(add), None) => {
            let kind = match add.kind.as_str() {
                "allow" => Kind::Allow,
                "ask" => Kind::Ask,
                "deny" => Kind::Deny,
                other => {
                    return Err(ErrorObject::new(
                        codes::INVALID_PARAMS,
                        format!("`{other}` is not a kind of rule: use allow, ask or deny"),
                    ));
                }
            };
            Some(RuleOp::Add {
                rule: UserRule {
                    kind,
                    pattern: add.pattern,
                },
            })
        }
        (None, Some(pattern)) => Some(RuleOp::Remove { pattern }),
        (None, None) => None,
    };
    let list = ctx
        .executor
        .rules(change, p.confirm_destructive)
        .await
        .map_err(super::run::exec_error)?;
    Ok(RulesResult {
        rules: list
            .into_iter()
            .map(|(r, source)| RuleEntry {
                kind: r.kind.name().into(),
                pattern: r.pattern,
                source: source.into(),
            })
            .collect(),
    })
}

async fn run_detach(ctx: &Ctx, p: RunParams) -> Result<RunDetachResult, ErrorObject> {
    let command = crate::episode::command_line(&p.argv);
    let req = super::run::request(p, true, &ctx.shown);
    // Refusals that need nobody (a deny rule, a disliked plan, bad input) come back now.
    let check = ctx
        .executor
        .check(req.clone())
        .await
        .map_err(super::run::exec_error)?;
    use crate::executor::policy::Decision;
    let decision = match &check.decision {
        Decision::Denied(why) => {
            return Err(super::run::exec_error(crate::executor::ExecError::Refused(
                codex_proto::types::Refusal {
                    class: check.verdict.class,
                    reason: format!("{why}; `{command}` never runs"),
                    command,
                },
            )));
        }
        Decision::Ask(why) => format!("waits for approval ({why}): see `codex approvals`"),
        Decision::Run | Decision::PreApproved => "runs now".to_string(),
    };
    let executor = ctx.executor.clone();
    let cancel = ctx.shutdown.child_token();
    tokio::spawn(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        // Nobody watches the output: drain it (the episode keeps its tail).
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        if let Err(e) = executor.run(req, tx, cancel).await {
            tracing::info!("detached run not run: {e}");
        }
        let _ = drain.await;
    });
    Ok(RunDetachResult {
        command,
        class: check.verdict.class,
        decision,
    })
}

async fn approvals(ctx: &Ctx, p: ApprovalsParams) -> Result<ApprovalsResult, ErrorObject> {
    let pending = ctx
        .executor
        .pending(p.answer.map(|a| (a.id, a.approved)))
        .await
        .map_err(super::run::exec_error)?;
    Ok(ApprovalsResult {
        pending: pending
            .into_iter()
            .map(|v| PendingApproval {
                id: v.id,
                command: v.command,
                class: v.class,
                reason: v.reason,
                why_asked: v.why_asked,
                created: v.created,
                expires: v.expires,
                cwd: Some(v.cwd.display().to_string()),
                project: v.project.map(|p| p.display().to_string()),
                job: v.job,
            })
            .collect(),
    })
}

async fn run_check(ctx: &Ctx, p: RunCheckParams) -> Result<RunCheckResult, ErrorObject> {
    let command = crate::episode::command_line(&p.argv);
    let plan_source = p
        .goal
        .as_deref()
        .and_then(|g| ctx.shown.source(g, &p.cwd, &p.argv));
    let req = crate::executor::RunRequest {
        spec: crate::executor::Spec {
            argv: p.argv,
            cwd: p.cwd,
            env: p.env,
            launcher: Vec::new(),
        },
        goal: None,
        yes: p.yes,
        interactive: true,
        unattended: false,
        min_class: p.min_class,
        picked_over: None,
        part: Default::default(),
        unconfined: p.unconfined,
        plan_source,
        origin: Default::default(),
    };
    let check = ctx.executor.check(req).await.map_err(|e| match e {
        crate::executor::ExecError::Gone => ErrorObject::new(codes::SHUTTING_DOWN, e.to_string()),
        other => ErrorObject::new(codes::INVALID_PARAMS, other.to_string()),
    })?;
    let source = ctx.feedback.profile().style.autonomy_comfort.source.clone();
    let confined = check.confined();
    let sandbox = match (&check.decision, &check.holds) {
        (crate::executor::policy::Decision::Denied(_), _) => "never runs".to_string(),
        (crate::executor::policy::Decision::Ask(_), _) => {
            "unconfined if you say yes at the prompt (a yes typed for this step)".to_string()
        }
        (_, Ok(())) => check.sandbox.clone(),
        (_, Err(why)) => format!(
            "confined as far as this system allows (the sandbox does not hold here: {why}); \
             only read-only steps run like this"
        ),
    };
    Ok(RunCheckResult {
        command,
        class: check.verdict.class,
        reason: check.verdict.reason,
        comfort: format!("{} ({source})", check.comfort.name()),
        asks: matches!(check.decision, crate::executor::policy::Decision::Ask(_)),
        decision: match check.decision {
            crate::executor::policy::Decision::Run => "runs without asking".into(),
            crate::executor::policy::Decision::PreApproved => "runs: --yes approves it".into(),
            crate::executor::policy::Decision::Ask(why) => format!("asks first: {why}"),
            crate::executor::policy::Decision::Denied(why) => format!("never runs: {why}"),
        },
        confined,
        sandbox,
    })
}

/// The strongest preferences learned where `root` is (outside any project when `None`): for
/// each goal, the plan with the best record there. A plan learned in another project is not a
/// preference here.
fn preferences_here(profile: &codex_proto::prefs::Profile, root: Option<&str>) -> Vec<String> {
    profile
        .categories
        .iter()
        .filter_map(|c| {
            c.plans
                .iter()
                .filter_map(|p| p.place(root).map(|here| (p, here)))
                .max_by(|a, b| a.1.score.total_cmp(&b.1.score))
                .map(|(p, here)| {
                    format!(
                        "{}: {} (score {:.2}, {} run{} here)",
                        c.category,
                        p.plan,
                        here.score,
                        here.runs,
                        if here.runs == 1 { "" } else { "s" }
                    )
                })
        })
        .take(5)
        .collect()
}

async fn context(ctx: &Ctx, p: ContextParams) -> Result<ContextResult, ErrorObject> {
    if !p.cwd.is_absolute() {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("working directory {} is not absolute", p.cwd.display()),
        ));
    }
    let profile = ctx.feedback.profile();
    let style = &profile.style.autonomy_comfort;
    let comfort = format!("{} ({})", style.value, style.source);
    if !ctx.info.context_aware {
        let preferences = profile
            .categories
            .iter()
            .take(5)
            .filter_map(|c| {
                c.plans
                    .first()
                    .map(|p| format!("{}: {} (score {:.2})", c.category, p.plan, p.score))
            })
            .collect();
        return Ok(ContextResult {
            enabled: false,
            project: None,
            kind: None,
            name: None,
            languages: Vec::new(),
            read_at: None,
            commands: Vec::new(),
            patterns: None,
            comfort,
            preferences,
        });
    }
    let dir = std::fs::canonicalize(&p.cwd).unwrap_or(p.cwd);
    let proj = ctx.planner.project(dir).await.map_err(planner_error)?;
    let root = proj.as_ref().map(|p| p.root.clone());
    let commands = proj
        .as_ref()
        .map(|p| {
            p.commands
                .iter()
                .map(|o| codex_proto::methods::OfferedCommand {
                    task: o.task.clone(),
                    command: crate::episode::command_line(&o.argv),
                    source: o.source.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let patterns = match &root {
        Some(r) => ctx
            .learning
            .patterns(Some(r.clone()))
            .await
            .map_err(learning_error)?
            .into_iter()
            .next(),
        None => None,
    };
    let preferences = preferences_here(&profile, root.as_deref());
    Ok(ContextResult {
        enabled: true,
        kind: proj.as_ref().map(|p| p.kind.clone()),
        name: proj.as_ref().map(|p| p.name.clone()),
        languages: proj
            .as_ref()
            .map(|p| p.languages.clone())
            .unwrap_or_default(),
        read_at: proj.as_ref().map(|p| p.read_at),
        project: root,
        commands,
        patterns,
        comfort,
        preferences,
    })
}

async fn teach(ctx: &Ctx, p: TeachParams) -> Result<PlaybooksResult, ErrorObject> {
    let project = if p.global {
        None
    } else {
        if !p.cwd.is_absolute() {
            return Err(ErrorObject::new(
                codes::INVALID_PARAMS,
                format!("working directory {} is not absolute", p.cwd.display()),
            ));
        }
        Some(project_root(&p.cwd)?.display().to_string())
    };
    let playbook = crate::planner::playbooks::Playbook {
        phrase: normalize::normalize_goal(&p.phrase),
        steps: p.steps,
        project,
    };
    let list = ctx
        .planner
        .playbooks(Some(crate::planner::playbooks::PlaybookOp::Teach {
            playbook,
        }))
        .await
        .map_err(planner_error)?;
    Ok(playbook_list(list))
}

fn playbook_list(list: Vec<crate::planner::playbooks::Playbook>) -> PlaybooksResult {
    PlaybooksResult {
        playbooks: list
            .into_iter()
            .map(|p| PlaybookEntry {
                phrase: p.phrase,
                steps: p.steps,
                project: p.project,
            })
            .collect(),
    }
}

pub(super) fn planner_error(e: crate::planner::actor::PlannerError) -> ErrorObject {
    use crate::planner::actor::PlannerError;
    let code = match &e {
        PlannerError::Invalid(_) | PlannerError::Registry(_) => codes::INVALID_PARAMS,
        PlannerError::Store(_) => codes::STORAGE,
        PlannerError::Gone => codes::SHUTTING_DOWN,
    };
    ErrorObject::new(code, e.to_string())
}

pub(super) fn learning_error(e: LearningError) -> ErrorObject {
    let code = match &e {
        LearningError::NoRuns { .. } | LearningError::UnknownRun(_) => codes::NOT_FOUND,
        LearningError::BadPattern { .. } => codes::INVALID_PARAMS,
        LearningError::Store(_) | LearningError::NotSaved { .. } => codes::STORAGE,
        LearningError::Gone => codes::SHUTTING_DOWN,
    };
    ErrorObject::new(code, e.to_string())
}

pub(super) fn feedback_error(e: FeedbackError) -> ErrorObject {
    let code = match &e {
        FeedbackError::Store(_) => codes::STORAGE,
        FeedbackError::BadSetting(_) => codes::INVALID_PARAMS,
        FeedbackError::Gone => codes::SHUTTING_DOWN,
    };
    ErrorObject::new(code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn omitted_params_mean_empty_and_bad_params_say_why() {
        assert_eq!(
            params::<Status>(Value::Null).unwrap(),
            codex_proto::methods::NoParams {}
        );
        let e = params::<Rate>(json!({"score": "five"})).unwrap_err();
        assert_eq!(e.code, codes::INVALID_PARAMS);
        assert!(
            e.message.starts_with("invalid params for `rate`"),
            "{}",
            e.message
        );
    }
}
