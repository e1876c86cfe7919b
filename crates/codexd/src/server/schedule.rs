//! `schedule/*`: jobs added, listed, shown, paused, resumed, removed, run now and re-planned.
//! A job's plan is made here when it is added (the planner, as `codex plan` would answer in
//! that folder) and kept: the scheduler runs that plan and only `schedule/replan` changes it.

use std::path::Path;

use codex_proto::jsonrpc::{ErrorObject, codes};
use codex_proto::methods::{PlanStep, PlannedCommand};
use codex_proto::schedule::{
    JobDetail, JobIdParams, OccurrenceView, ScheduleAddParams, ScheduleListResult,
};

use super::Ctx;
use super::dispatch::planner_error;
use crate::scheduler::{NewJob, SchedulerError};

/// Longest job name.
const NAME_MAX: usize = 80;
/// Longest goal or command line.
const GOAL_MAX: usize = 1000;

/// The JSON-RPC error for a scheduler error: an unknown job or a bad schedule is the
/// caller's mistake (exit 2 in the CLI); a store that cannot be written is storage.
pub fn scheduler_error(e: SchedulerError) -> ErrorObject {
    let code = match &e {
        SchedulerError::UnknownJob(_) => codes::NOT_FOUND,
        SchedulerError::Timing(_) => codes::INVALID_PARAMS,
        SchedulerError::Store(_) => codes::STORAGE,
        SchedulerError::Gone => codes::SHUTTING_DOWN,
        SchedulerError::PatternsOff => codes::INVALID_PARAMS,
    };
    ErrorObject::new(code, e.to_string())
}

fn invalid(msg: String) -> ErrorObject {
    ErrorObject::new(codes::INVALID_PARAMS, msg)
}

/// The plan of an explicit command: that command, one step.
pub fn explicit_plan(argv: &[String]) -> PlannedCommand {
    PlannedCommand {
        command: crate::episode::command_line(argv),
        steps: vec![PlanStep {
            argv: argv.to_vec(),
            rationale: "the command as typed".into(),
            class: None,
            dry_run: false,
        }],
        score: 0.0,
        confidence: 0.5,
        alignment: 0.5,
        evidence: "the command you gave".into(),
        borrowed: None,
        propensity: None,
        from_model: false,
    }
}

/// The plan the planner ranks first for `goal` in `cwd`, as `codex plan` would show it. The
/// caller brings the profile up to date first (`feedback.current()`), once per request.
/// `ask_model`: the language model may be asked (the user asked for this plan; never for a
/// suggestion codex makes on its own).
pub async fn plan_for(
    ctx: &Ctx,
    goal: &str,
    cwd: &Path,
    path: Option<String>,
    ask_model: bool,
) -> Result<PlannedCommand, ErrorObject> {
    let plans = ctx
        .planner
        .plan(goal.to_string(), cwd.to_path_buf(), path, false, ask_model)
        .await
        .map_err(planner_error)?;
    plans.plans.into_iter().next().ok_or_else(|| {
        let why = plans
            .unknown
            .unwrap_or_else(|| "no plan fits here".to_string());
        invalid(format!(
            "no plan for \"{}\" in {}: {}. Teach one (`codex teach`), or schedule a command: \
             `codex schedule add ... -- CMD ARGS`",
            short(goal, 80),
            cwd.display(),
            short(&why, 600)
        ))
    })
}

/// `s` cut to `max` characters (an error message must not echo a huge input back).
fn short(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Characters that would rewrite the terminal a job is shown on: controls and the
/// bidirectional overrides.
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn check_folder(cwd: &Path) -> Result<(), ErrorObject> {
    if !cwd.is_absolute() {
        return Err(invalid(format!("folder {} is not absolute", cwd.display())));
    }
    match std::fs::metadata(cwd) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(invalid(format!("{} is not a folder", cwd.display()))),
        Err(_) => return Err(invalid(format!("folder {} does not exist", cwd.display()))),
    }
    Ok(())
}

/// `schedule/add`.
pub async fn add(ctx: &Ctx, p: ScheduleAddParams) -> Result<JobDetail, ErrorObject> {
    check_folder(&p.cwd)?;
    if let Some(n) = &p.name
        && (n.trim().is_empty() || n.chars().count() > NAME_MAX || n.chars().any(unprintable))
    {
        return Err(invalid(format!(
            "a job name is 1 to {NAME_MAX} printable characters"
        )));
    }
    let words = p.command.iter().flatten().chain(std::iter::once(&p.goal));
    if words.clone().any(|w| w.contains('\0')) {
        return Err(invalid(
            "a job's goal or command cannot hold a NUL byte".into(),
        ));
    }
    let length: usize = words.map(|w| w.chars().count() + 1).sum();
    if length > GOAL_MAX {
        return Err(invalid(format!(
            "a job's goal or command is at most {GOAL_MAX} characters"
        )));
    }
    if p.goal.trim().is_empty() && p.command.is_none() {
        return Err(invalid(
            "a job needs a goal in words, or a command after `--`".into(),
        ));
    }
    crate::scheduler::timing::validate(&p.when, chrono::Utc::now())
        .map_err(|e| invalid(e.to_string()))?;
    let (goal, explicit, plan) = match &p.command {
        Some(argv) => {
            if argv.first().is_none_or(|a| a.is_empty()) {
                return Err(invalid("the command after `--` is empty".into()));
            }
            let plan = explicit_plan(argv);
            (plan.command.clone(), true, plan)
        }
        None => {
            let _ = ctx.feedback.current().await;
            let plan = plan_for(ctx, &p.goal, &p.cwd, p.path.clone(), true).await?;
            (p.goal.trim().to_string(), false, plan)
        }
    };
    let goal = crate::learning::redact::redact(&goal).into_owned();
    ctx.scheduler
        .add(NewJob {
            name: p.name,
            goal,
            explicit,
            cwd: p.cwd,
            path: p.path,
            when: p.when,
            policy: p.policy,
            catch_up: p.catch_up,
            plan,
            proposal: None,
        })
        .await
        .map_err(scheduler_error)
}

/// `schedule/list`.
pub async fn list(ctx: &Ctx) -> Result<ScheduleListResult, ErrorObject> {
    let jobs = ctx.scheduler.list().await.map_err(scheduler_error)?;
    Ok(ScheduleListResult { jobs })
}

/// `schedule/show`: the job with the ratings of its runs.
pub async fn show(ctx: &Ctx, p: JobIdParams) -> Result<JobDetail, ErrorObject> {
    let mut d = ctx.scheduler.show(p.id).await.map_err(scheduler_error)?;
    rate(ctx, &mut d.runs).await;
    if let Some(last) = d.job.last.as_mut() {
        rate(ctx, std::slice::from_mut(last)).await;
    }
    Ok(d)
}

/// Fill in each occurrence's rating: the user's rating of its last run.
async fn rate(ctx: &Ctx, runs: &mut [OccurrenceView]) {
    let ids: Vec<_> = runs.iter().flat_map(|o| o.runs.iter().copied()).collect();
    if ids.is_empty() {
        return;
    }
    let Ok(ratings) = ctx.feedback.ratings_for(ids).await else {
        return;
    };
    for o in runs {
        o.rating = o
            .runs
            .iter()
            .rev()
            .find_map(|r| ratings.get(r).map(|v| v.score));
    }
}

/// `schedule/replan`: plan the job's goal again where it runs, with the client's `PATH`.
pub async fn replan(ctx: &Ctx, p: JobIdParams) -> Result<JobDetail, ErrorObject> {
    let job = ctx.scheduler.job(p.id).await.map_err(scheduler_error)?;
    let plan = if job.explicit {
        job.plan.clone()
    } else {
        let _ = ctx.feedback.current().await;
        plan_for(ctx, &job.goal, &job.cwd, p.path.or(job.path.clone()), true).await?
    };
    ctx.scheduler
        .replan(p.id, plan)
        .await
        .map_err(scheduler_error)
}
