//! `suggest`, `suggest/jobs`, `suggest/accept` and `suggest/dismiss`: what codex expects the
//! user to do next here, each goal with the plan it would run and whether that plan fits the
//! user's comfort; and the recurring goals it proposes as jobs.

use codex_proto::jsonrpc::{ErrorObject, codes};
use codex_proto::methods::PlannedCommand;
use codex_proto::schedule::{
    CatchUp, JobDetail, JobPolicy, Proposal, ProposalIdParams, SuggestDismissResult,
    SuggestJobsResult, SuggestParams, SuggestResult, Suggestion, When,
};

use super::Ctx;
use super::schedule::{explicit_plan, plan_for, scheduler_error};
use crate::executor::policy::Decision;
use crate::scheduler::{NewJob, SchedulerError};

/// Most suggestions one call answers.
const LIMIT_MAX: u32 = 20;

/// Lists kept, one per folder, the newest.
const KEEP: usize = 16;
/// How long a list shown still names what `suggest run N` runs.
const FOR: std::time::Duration = std::time::Duration::from_secs(3600);

/// The suggestion lists answered lately, one per folder, so `suggest run N` runs the N shown.
#[derive(Debug, Default)]
pub struct ShownSuggestions {
    shown: std::sync::Mutex<
        std::collections::VecDeque<(std::path::PathBuf, std::time::Instant, SuggestResult)>,
    >,
}

impl ShownSuggestions {
    fn remember(&self, cwd: &std::path::Path, r: &SuggestResult) {
        let Ok(mut shown) = self.shown.lock() else {
            return;
        };
        shown.retain(|(c, _, _)| c != cwd);
        if shown.len() >= KEEP {
            shown.pop_front();
        }
        shown.push_back((cwd.to_path_buf(), std::time::Instant::now(), r.clone()));
    }

    fn last(&self, cwd: &std::path::Path) -> Option<SuggestResult> {
        let shown = self.shown.lock().ok()?;
        shown
            .iter()
            .rev()
            .find(|(c, at, _)| c == cwd && at.elapsed() < FOR)
            .map(|(_, _, r)| r.clone())
    }
}

/// A suggestion is about to run: tell the optimizer which of the list shown here it was,
/// so the decision is logged with its run.
pub fn chosen(ctx: &Ctx, p: &codex_proto::methods::RunParams) {
    let Some(shown) = ctx.suggested.last(&p.cwd) else {
        return;
    };
    let typed = crate::episode::command_line(&p.argv);
    let goals: Vec<String> = shown.suggestions.iter().map(|s| s.goal.clone()).collect();
    let Some(chosen) = shown
        .suggestions
        .iter()
        .position(|s| p.goal.as_deref() == Some(s.goal.as_str()) || (s.typed && s.goal == typed))
    else {
        return;
    };
    ctx.optimizer
        .suggested(crate::optimizer::decisions::Suggested {
            at: chrono::Utc::now(),
            cwd: p.cwd.clone(),
            candidates: goals,
            chosen,
        });
}

fn off(e: &SchedulerError) -> Option<String> {
    matches!(e, SchedulerError::PatternsOff).then(|| e.to_string())
}

/// `suggest`.
pub async fn suggest(ctx: &Ctx, p: SuggestParams) -> Result<SuggestResult, ErrorObject> {
    if !p.cwd.is_absolute() {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("folder {} is not absolute", p.cwd.display()),
        ));
    }
    if !(1..=LIMIT_MAX).contains(&p.limit) {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("limit must be from 1 to {LIMIT_MAX}, got {}", p.limit),
        ));
    }
    if !p.cwd.is_dir() {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("folder {} does not exist", p.cwd.display()),
        ));
    }
    if p.shown
        && let Some(r) = ctx.suggested.last(&p.cwd)
    {
        return Ok(r);
    }
    let limit = p.limit as usize;
    let project = crate::context::project::detect(&p.cwd).map(|x| x.root.display().to_string());
    let predicted = match ctx.scheduler.predict(project.clone(), limit).await {
        Ok(x) => x,
        Err(e) if off(&e).is_some() => {
            return Ok(SuggestResult {
                suggestions: Vec::new(),
                learned_from: 0,
                project,
                off: off(&e),
            });
        }
        Err(e) => return Err(scheduler_error(e)),
    };
    // Plans made on what the last run taught, brought up to date once for all of them.
    let _ = ctx.feedback.current().await;
    let mut suggestions = Vec::new();
    for (i, (pr, argv)) in predicted
        .predictions
        .into_iter()
        .zip(predicted.commands)
        .enumerate()
    {
        let typed = argv.is_some();
        let plan = match argv {
            Some(argv) => Some(explicit_plan(&argv)),
            None => plan_for(ctx, &pr.goal, &p.cwd, p.path.clone(), false)
                .await
                .ok(),
        };
        let (runnable, why_not) = match &plan {
            None => (false, Some("no plan for it here".to_string())),
            // What was typed held a secret codex never kept: running the placeholder would
            // not do what was typed.
            Some(_) if redacted(&pr.goal) => (
                false,
                Some("it held a secret, which codex did not keep: type it yourself".to_string()),
            ),
            Some(plan) => fits(ctx, plan, &pr.goal, &p.cwd, p.path.as_deref(), false).await,
        };
        suggestions.push(Suggestion {
            n: u32::try_from(i + 1).unwrap_or(u32::MAX),
            evidence: pr.evidence.words(&pr.goal),
            goal: pr.goal,
            score: pr.score,
            plan,
            typed,
            runnable,
            why_not,
        });
    }
    let r = SuggestResult {
        suggestions,
        learned_from: predicted.learned,
        project,
        off: None,
    };
    ctx.suggested.remember(&p.cwd, &r);
    Ok(r)
}

fn redacted(text: &str) -> bool {
    text.contains(crate::learning::redact::MARKER_PREFIX)
}

/// Whether every step of `plan` runs here without asking, at the user's comfort (attended),
/// or as a job would (`scheduled`: unattended, one level stricter).
async fn fits(
    ctx: &Ctx,
    plan: &PlannedCommand,
    goal: &str,
    cwd: &std::path::Path,
    path: Option<&str>,
    scheduled: bool,
) -> (bool, Option<String>) {
    // Judged with the PATH the step would run with (the client's), as the run will be.
    let env = path.map(|path| {
        let mut env: std::collections::BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        env.insert("PATH".into(), path.to_string());
        env
    });
    for step in &plan.steps {
        let req = crate::executor::RunRequest {
            spec: crate::executor::Spec {
                argv: step.argv.clone(),
                cwd: cwd.to_path_buf(),
                env: env.clone(),
                launcher: Vec::new(),
            },
            goal: Some(goal.to_string()),
            yes: false,
            interactive: !scheduled,
            unattended: scheduled,
            min_class: step.class,
            picked_over: None,
            part: Default::default(),
            unconfined: false,
            plan_source: None,
            origin: crate::executor::Origin {
                trigger: if scheduled {
                    crate::episode::Trigger::Schedule
                } else {
                    crate::episode::Trigger::User
                },
                ..Default::default()
            },
        };
        let command = crate::episode::command_line(&step.argv);
        match ctx.executor.check(req).await {
            Ok(c) => match c.decision {
                Decision::Run | Decision::PreApproved => {}
                Decision::Ask(why) => {
                    return (false, Some(format!("`{command}` would be asked: {why}")));
                }
                Decision::Denied(why) => {
                    return (false, Some(format!("`{command}` never runs: {why}")));
                }
            },
            Err(e) => return (false, Some(format!("`{command}`: {e}"))),
        }
    }
    (true, None)
}

fn proposal(r: crate::scheduler::patterns::Recurring, held: Option<String>) -> Proposal {
    let p = r.proposal;
    Proposal {
        id: p.id,
        goal: p.goal,
        project: p.project.unwrap_or_default(),
        cron: p.cron,
        evidence: p.evidence,
        confidence: p.confidence,
        days: u32::try_from(p.days).unwrap_or(u32::MAX),
        held,
    }
}

/// `suggest/jobs`.
pub async fn jobs(ctx: &Ctx) -> Result<SuggestJobsResult, ErrorObject> {
    match ctx.scheduler.recurring().await {
        Ok(found) => {
            let _ = ctx.feedback.current().await;
            let mut proposals = Vec::with_capacity(found.len());
            for r in found {
                let held = held_as_job(ctx, &r).await;
                proposals.push(proposal(r, held));
            }
            proposals.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
            Ok(SuggestJobsResult {
                proposals,
                off: None,
            })
        }
        Err(e) if off(&e).is_some() => Ok(SuggestJobsResult {
            proposals: Vec::new(),
            off: off(&e),
        }),
        Err(e) => Err(scheduler_error(e)),
    }
}

/// Why a proposal, as a job, would wait for a yes at each occurrence.
async fn held_as_job(ctx: &Ctx, r: &crate::scheduler::patterns::Recurring) -> Option<String> {
    if redacted(&r.proposal.goal) {
        return Some("it held a secret, which codex did not keep: it cannot be accepted".into());
    }
    let cwd = std::path::PathBuf::from(r.proposal.project.clone()?);
    let plan = match &r.argv {
        Some(argv) => explicit_plan(argv),
        None => plan_for(ctx, &r.proposal.goal, &cwd, None, false)
            .await
            .ok()?,
    };
    let (runs, why) = fits(ctx, &plan, &r.proposal.goal, &cwd, None, true).await;
    (!runs).then(|| why.unwrap_or_else(|| "a step would be asked".into()))
}

async fn find(ctx: &Ctx, id: &str) -> Result<crate::scheduler::patterns::Recurring, ErrorObject> {
    let found = ctx.scheduler.recurring().await.map_err(scheduler_error)?;
    found.into_iter().find(|r| r.proposal.id == id).ok_or_else(|| {
        ErrorObject::new(
            codes::NOT_FOUND,
            format!("no proposal {id}: see `codex suggest jobs` (it may have been accepted or dismissed)"),
        )
    })
}

/// `suggest/accept`: the proposal becomes a job with policy deny, planned now in its project.
pub async fn accept(ctx: &Ctx, p: ProposalIdParams) -> Result<JobDetail, ErrorObject> {
    let crate::scheduler::patterns::Recurring {
        proposal: found,
        argv,
    } = find(ctx, &p.id).await?;
    if redacted(&found.goal) {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!(
                "proposal {} held a secret, which codex did not keep; schedule it yourself with \
                 `codex schedule add --cron \"{}\" -- ...`",
                found.id, found.cron
            ),
        ));
    }
    let cwd = std::path::PathBuf::from(found.project.clone().unwrap_or_default());
    if !cwd.is_dir() {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!(
                "the proposal's project {} is not there any more",
                cwd.display()
            ),
        ));
    }
    let _ = ctx.feedback.current().await;
    let (explicit, plan) = match &argv {
        Some(argv) => (true, explicit_plan(argv)),
        None => (
            false,
            plan_for(ctx, &found.goal, &cwd, p.path.clone(), false).await?,
        ),
    };
    ctx.scheduler
        .add(NewJob {
            name: None,
            goal: found.goal,
            explicit,
            cwd,
            path: p.path,
            when: When::Cron(found.cron),
            policy: JobPolicy::Deny,
            catch_up: CatchUp::Once,
            plan,
            proposal: Some(found.id),
        })
        .await
        .map_err(scheduler_error)
}

/// `suggest/dismiss`: never proposed again.
pub async fn dismiss(ctx: &Ctx, p: ProposalIdParams) -> Result<SuggestDismissResult, ErrorObject> {
    let found = find(ctx, &p.id).await?.proposal;
    ctx.scheduler
        .dismiss(found.id.clone())
        .await
        .map_err(scheduler_error)?;
    Ok(SuggestDismissResult {
        id: found.id,
        goal: found.goal,
    })
}
