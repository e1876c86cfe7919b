//! `forget`: runs, their signals and ratings, matching playbooks and project profiles, in
//! the order that leaves a half-done forget findable by the same forget.

use codex_proto::jsonrpc::{ErrorObject, codes};
use codex_proto::methods::{ForgetParams, ForgetResult};

use super::Ctx;
use super::dispatch::{feedback_error, learning_error, planner_error, project_root};
use crate::feedback::ForgetRuns;
use crate::learning::{Selector, normalize};

/// Forget what `p` selects, everywhere it is stored.
pub(super) async fn forget(ctx: &Ctx, p: ForgetParams) -> Result<ForgetResult, ErrorObject> {
    let chosen = [
        p.run.is_some(),
        p.goal.is_some(),
        p.project.is_some(),
        p.all,
    ];
    if chosen.iter().filter(|c| **c).count() != 1 {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            "say what to forget: exactly one of a run id, --goal PATTERN, --project DIR or --all",
        ));
    }
    let selector = match (p.run, p.goal, p.project) {
        (Some(id), _, _) => Selector::Run(id),
        (_, Some(g), _) => Selector::Goal(g),
        (_, _, Some(dir)) => Selector::Project(project_root(&dir)?),
        _ => Selector::All,
    };
    let runs_of = |found: &crate::learning::Forgotten| match &selector {
        Selector::All => ForgetRuns::All,
        Selector::Goal(g) => ForgetRuns::Some {
            runs: found.runs.clone(),
            goal: Some(g.clone()),
            project: None,
        },
        Selector::Project(root) => ForgetRuns::Some {
            runs: found.runs.clone(),
            goal: None,
            project: Some(root.display().to_string()),
        },
        Selector::Run(_) => ForgetRuns::Some {
            runs: found.runs.clone(),
            goal: None,
            project: None,
        },
    };
    if p.dry_run {
        let found = ctx
            .learning
            .forget(selector, true)
            .await
            .map_err(learning_error)?;
        return Ok(ForgetResult {
            runs: found.runs.len() as u64,
            dataset_lines: found.dataset_lines,
            ratings: 0,
            dry_run: true,
        });
    }
    // The profile first: if the daemon dies half-way, the runs are still in memory and the
    // dataset, so the same forget finds them again and finishes the job (the other order
    // would leave signals behind that no selector can reach any more).
    let planned = ctx
        .learning
        .forget(selector.clone(), true)
        .await
        .map_err(learning_error)?;
    let mut ratings = ctx
        .feedback
        .forget(runs_of(&planned))
        .await
        .map_err(feedback_error)?
        .ratings;
    // The model's plans kept for reuse name what is being forgotten, whatever the selector.
    ctx.planner.forget_model_plans();
    // The planner's copies of project profiles go first, so none is written back after.
    match &selector {
        Selector::All => ctx.planner.forget_projects(None).await,
        Selector::Project(root) => ctx.planner.forget_projects(Some(root.clone())).await,
        Selector::Goal(pattern) => forget_playbooks(ctx, pattern).await,
        Selector::Run(_) => Ok(()),
    }
    .map_err(planner_error)?;
    let found = ctx
        .learning
        .forget(selector.clone(), false)
        .await
        .map_err(learning_error)?;
    // The next-goal model learns again from what is left.
    if let Ok(dataset) = ctx.learning.readable_dataset().await {
        let _ = ctx.scheduler.rebuild(dataset).await;
    }
    // Runs that finished in between.
    let late: Vec<_> = found
        .runs
        .iter()
        .filter(|r| !planned.runs.contains(r))
        .copied()
        .collect();
    if !late.is_empty() {
        let extra = crate::learning::Forgotten {
            runs: late,
            dataset_lines: 0,
        };
        ratings += ctx
            .feedback
            .forget(runs_of(&extra))
            .await
            .map_err(feedback_error)?
            .ratings;
    }
    // The decision log names goals, plans and projects too.
    let decisions = match &selector {
        Selector::All => crate::optimizer::decisions::Forget::All,
        Selector::Goal(g) => crate::optimizer::decisions::Forget::Some {
            runs: found.runs.clone(),
            goal: Some(g.clone()),
            project: None,
        },
        Selector::Project(root) => crate::optimizer::decisions::Forget::Some {
            runs: found.runs.clone(),
            goal: None,
            project: Some(root.display().to_string()),
        },
        Selector::Run(_) => crate::optimizer::decisions::Forget::Some {
            runs: found.runs.clone(),
            goal: None,
            project: None,
        },
    };
    if let Err(e) = ctx.optimizer.forget(decisions).await {
        tracing::error!("cannot remove forgotten runs from the decision log: {e}");
    }
    forget_in_log(ctx, &selector, &found.runs);
    Ok(ForgetResult {
        runs: found.runs.len() as u64,
        dataset_lines: found.dataset_lines,
        ratings,
        dry_run: false,
    })
}

/// The log forgets too: `--all` empties it; otherwise the lines naming a forgotten run (`run=N`)
/// or matching the goal pattern or naming the project folder go. A log that cannot be
/// rewritten is reported in the log itself, not as a failed forget: the runs are gone.
fn forget_in_log(ctx: &Ctx, selector: &Selector, runs: &[codex_proto::types::RunId]) {
    let log = codex_proto::paths::log_file(&ctx.info.home);
    let names_run = |line: &str| {
        line.match_indices("run=").any(|(i, _)| {
            let digits: String = line[i + 4..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits
                .parse::<u64>()
                .is_ok_and(|n| runs.iter().any(|r| r.0 == n))
        })
    };
    let done = match selector {
        Selector::All => crate::telemetry::logfile::clear(&log).map(|()| 0),
        Selector::Goal(g) => {
            let pattern = normalize::GoalPattern::new(g).ok();
            crate::telemetry::logfile::forget_lines(&log, |line| {
                names_run(line) || pattern.as_ref().is_some_and(|p| p.matches(line.trim_end()))
            })
        }
        Selector::Project(root) => {
            let root = root.display().to_string();
            crate::telemetry::logfile::forget_lines(&log, |line| {
                names_run(line) || line.contains(&root)
            })
        }
        Selector::Run(_) => crate::telemetry::logfile::forget_lines(&log, names_run),
    };
    if let Err(e) = done {
        tracing::error!(file = %log.display(), "cannot remove forgotten runs from the log: {e}");
    }
}

/// Playbooks whose phrase matches a `forget --goal` pattern go with the runs.
async fn forget_playbooks(
    ctx: &Ctx,
    pattern: &str,
) -> Result<(), crate::planner::actor::PlannerError> {
    let Ok(m) = normalize::GoalPattern::new(pattern) else {
        return Ok(()); // learning refuses the pattern with the reason
    };
    // One removal per phrase: it takes the phrase's playbooks of every project.
    let phrases: std::collections::BTreeSet<String> = ctx
        .planner
        .playbooks(None)
        .await?
        .into_iter()
        .map(|p| p.phrase)
        .filter(|phrase| m.matches(phrase))
        .collect();
    for phrase in phrases {
        let op = crate::planner::playbooks::PlaybookOp::Remove { phrase };
        ctx.planner.playbooks(Some(op)).await?;
    }
    Ok(())
}
