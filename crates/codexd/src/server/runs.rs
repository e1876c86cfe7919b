//! `history` (recent runs, filtered here so the limit counts matching runs) and `run/show`
//! (one run in full).

use codex_proto::jsonrpc::{ErrorObject, codes};
use codex_proto::methods::{HistoryParams, HistoryResult};
use codex_proto::runs::{ApprovalDetail, RunDetail, RunShowParams, StepDetail};
use codex_proto::types::HistoryEntry;

use super::Ctx;
use super::dispatch::{feedback_error, learning_error, project_root};
use crate::episode::Episode;
use crate::learning::query::RunFilter;
use crate::learning::redact::MARKER_PREFIX;

/// Runs shown by `history` when no limit is given, and the most it returns.
const HISTORY_DEFAULT: u32 = 20;
const HISTORY_MAX: u32 = 10_000;

/// The newest runs that pass the filters, newest first.
pub async fn history(ctx: &Ctx, p: HistoryParams) -> Result<HistoryResult, ErrorObject> {
    let limit = p.limit.unwrap_or(HISTORY_DEFAULT).min(HISTORY_MAX) as usize;
    let project = p.project.as_deref().map(project_root).transpose()?;
    let filter = RunFilter::new(p.failed, project, p.goal.as_deref(), p.since);
    let episodes = ctx
        .learning
        .query(filter, limit)
        .await
        .map_err(learning_error)?;
    let ids = episodes.iter().map(|e| e.run_id).collect();
    let mut ratings = ctx
        .feedback
        .ratings_for(ids)
        .await
        .map_err(feedback_error)?;
    let runs = episodes
        .into_iter()
        .map(|e| {
            let r = ratings.remove(&e.run_id);
            HistoryEntry {
                run_id: e.run_id,
                started_at: e.started_at,
                command: e.command(),
                project: e.project_root().map(|p| p.display().to_string()),
                goal: e.goal,
                cwd: e.cwd.display().to_string(),
                outcome: e.outcome,
                duration_ms: e.duration_ms,
                rating: r.as_ref().map(|r| r.score),
                comment: r.and_then(|r| r.comment),
                trigger: e.trigger,
                job: e.job,
            }
        })
        .collect();
    Ok(HistoryResult { runs })
}

/// One run in full; the last finished run when none is named.
pub async fn show(ctx: &Ctx, p: RunShowParams) -> Result<RunDetail, ErrorObject> {
    let episode = ctx.learning.episode(p.run).await.map_err(learning_error)?;
    let Some(e) = episode else {
        let message = match p.run {
            Some(id) => format!(
                "no run {id} is recorded (it may have been forgotten, or consolidated out of \
                 episodic memory): see `codex history` for the runs there are"
            ),
            None => "no run recorded yet: run something with `codex run -- CMD` first".into(),
        };
        return Err(ErrorObject::new(codes::NOT_FOUND, message));
    };
    let mut ratings = ctx
        .feedback
        .ratings_for(vec![e.run_id])
        .await
        .map_err(feedback_error)?;
    let rating = ratings.remove(&e.run_id);
    Ok(detail(
        e,
        rating.as_ref().map(|r| r.score),
        rating.and_then(|r| r.comment),
    ))
}

fn detail(e: Episode, rating: Option<u8>, comment: Option<String>) -> RunDetail {
    let command = e.command();
    RunDetail {
        trigger: e.trigger,
        job: e.job,
        run_id: e.run_id,
        goal_given: e.goal_named(),
        redacted: e.argv.iter().any(|w| w.contains(MARKER_PREFIX)),
        command,
        cwd: e.cwd.display().to_string(),
        project: e.project.as_ref().map(|p| p.root.display().to_string()),
        project_kind: e.project.as_ref().map(|p| p.kind.clone()),
        started_at: e.started_at,
        finished_at: e.finished_at,
        outcome: e.outcome,
        duration_ms: e.duration_ms,
        plan: e.plan_source,
        part: e.part,
        min_class: e.steps.iter().filter_map(|s| s.min_class).max(),
        steps: e
            .steps
            .into_iter()
            .map(|s| StepDetail {
                command: s.command,
                cwd: s.cwd.map(|c| c.display().to_string()),
                class: s.class,
                class_reason: s.class_reason,
                confined: s.confined,
                exit_status: s.outcome.exit_status(),
                outcome: s.outcome,
                duration_ms: s.duration_ms,
                output_tail: s.output_tail,
            })
            .collect(),
        approvals: e
            .approvals
            .into_iter()
            .map(|a| ApprovalDetail {
                class: a.class,
                reason: a.reason,
                approved: a.approved,
                by: a.by,
            })
            .collect(),
        argv: e.argv,
        goal: e.goal,
        rating: rating.or(e.rating),
        comment: comment.or(e.comment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::episode::StepFacts;
    use codex_proto::types::SafetyClass;

    #[test]
    fn a_run_in_full_carries_its_steps_and_what_was_kept_out() {
        let e = Episode::sample(7, None).with_facts(StepFacts {
            class: SafetyClass::ReadOnly,
            class_reason: "`true` changes nothing".into(),
            confined: true,
            min_class: Some(SafetyClass::Network),
            plan_source: None,
        });
        let d = detail(e, Some(4), None);
        assert!(!d.goal_given, "{d:?}");
        assert!(!d.redacted);
        assert_eq!(d.command, "true");
        assert_eq!(d.min_class, Some(SafetyClass::Network));
        assert_eq!(d.steps[0].cwd.as_deref(), Some("/"));
        assert_eq!(d.steps[0].confined, Some(true));
        assert_eq!(d.steps[0].exit_status, 0);
        assert_eq!(d.rating, Some(4));
        let mut secret = Episode::sample(8, Some("log in"));
        secret.argv = vec!["login".into(), format!("{MARKER_PREFIX}password]")];
        let d = detail(secret, None, None);
        assert!(d.goal_given && d.redacted, "{d:?}");
    }
}
