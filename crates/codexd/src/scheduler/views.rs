//! Jobs and occurrences as the protocol shows them.

use chrono::{DateTime, Utc};
use codex_proto::schedule::{JobDetail, JobView, OccurrenceResult, OccurrenceView};

use super::jobs::{Job, Occurrence};
use super::timing;
use super::{Actor, SchedulerError};

impl Actor {
    pub(super) fn view(&self, job: &Job, now: DateTime<Utc>) -> JobView {
        let next = if job.paused {
            None
        } else {
            job.schedule().ok().and_then(|s| s.next_after(now))
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
            schedule: match (job.interval_secs, job.chosen_secs()) {
                (Some(now), Some(chosen)) => format!(
                    "every {} (stretched by codex from {})",
                    timing::interval_words(now),
                    timing::interval_words(chosen)
                ),
                _ => timing::describe(&job.when),
            },
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
            interval_secs: job.interval_secs,
            paused_by_codex: job.paused_by.clone(),
        }
    }

    pub(super) fn detail(&self, id: u64) -> Result<JobDetail, SchedulerError> {
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
            job.schedule()?.upcoming(now, timing::SHOWN_NEXT)
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
            decisions: self
                .store
                .state()
                .decisions
                .get(&id)
                .map(|l| l.iter().rev().cloned().collect())
                .unwrap_or_default(),
        })
    }
}

pub(super) fn occurrence_view(o: &Occurrence) -> OccurrenceView {
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
