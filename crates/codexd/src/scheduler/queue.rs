//! Occurrences due: caught up when missed, queued, started by priority under
//! `scheduler.max_concurrent`, claimed before they run, recorded when they end.

use chrono::{DateTime, Utc};
use codex_proto::schedule::{OccurrenceKind, OccurrenceResult, OccurrenceView};
use tracing::{error, info};

use super::jobs::{Finished, Job, JobOp, Occurrence};
use super::timing::Schedule;
use super::views::occurrence_view;
use super::{Actor, Due, SchedulerError, claims, occurrence};
use crate::episode::Draft;

impl Actor {
    /// Queue (or record as skipped) the latest missed occurrence of every job.
    pub(super) fn catch_up(&mut self, now: DateTime<Utc>, late: chrono::Duration) {
        let jobs: Vec<Job> = self.store.state().jobs.values().cloned().collect();
        for job in jobs {
            let Ok(schedule) = Schedule::new(&job.when, job.created) else {
                continue;
            };
            let missed = claims::missed(&job, self.store.state(), &schedule, now, late, self.grace);
            match missed {
                claims::Missed::Nothing => {}
                claims::Missed::Run { at, .. } if self.queued(job.id, at) => {}
                claims::Missed::Run { at, detail } => {
                    info!(job = job.id, at = %at, "catching up a missed occurrence");
                    self.queue
                        .retain(|d| d.id != job.id || d.kind == OccurrenceKind::Manual);
                    self.queue.push(Due {
                        id: job.id,
                        at,
                        kind: OccurrenceKind::CatchUp,
                        note: Some(detail),
                    });
                }
                claims::Missed::Skip { at, detail } => {
                    info!(job = job.id, at = %at, "{detail}");
                    let now = Utc::now();
                    let claimed = self.store.append(
                        JobOp::Claim {
                            id: job.id,
                            occurrence: Occurrence {
                                at,
                                kind: OccurrenceKind::CatchUp,
                                started: now,
                                finished: None,
                            },
                        },
                        true,
                    );
                    let finished = claimed.and_then(|()| {
                        self.store.append(
                            JobOp::Finish {
                                id: job.id,
                                at,
                                finished: Finished {
                                    result: OccurrenceResult::Skipped,
                                    detail,
                                    runs: Vec::new(),
                                    duration_ms: 0,
                                    at: now,
                                },
                            },
                            true,
                        )
                    });
                    if let Err(e) = finished {
                        error!(job = job.id, "cannot record a skipped occurrence: {e}");
                    }
                }
            }
        }
    }

    /// How much this job should go first: its plan's alignment with the user's preferences
    /// and the satisfaction of its recent runs, each 0..1, equally weighted.
    pub(super) fn priority(&self, job: &Job) -> f64 {
        let alignment = job
            .plan
            .steps
            .first()
            .map(|s| {
                let draft = Draft::new(
                    (!job.explicit).then_some(job.goal.as_str()),
                    &s.argv,
                    &job.cwd,
                );
                let profile = self.profile.borrow();
                profile
                    .categories
                    .iter()
                    .find(|c| c.category == draft.category)
                    .and_then(|c| c.plans.iter().find(|p| p.plan == draft.plan))
                    .map_or(job.plan.alignment, |p| p.score)
            })
            .unwrap_or(0.5);
        let rated: Vec<f64> = self
            .store
            .state()
            .occurrences
            .get(&job.id)
            .into_iter()
            .flatten()
            .rev()
            .filter_map(|o| o.finished.as_ref())
            .flat_map(|f| f.runs.iter())
            .filter_map(|r| self.ratings.get(r))
            .take(5)
            .map(|&r| f64::from(r.saturating_sub(1)) / 4.0)
            .collect();
        let satisfaction = if rated.is_empty() {
            0.5
        } else {
            rated.iter().sum::<f64>() / rated.len() as f64
        };
        0.5 * alignment + 0.5 * satisfaction
    }

    /// Start queued occurrences while there is room, manual runs first, then by priority.
    pub(super) fn start_due(&mut self) {
        while self.running.len() < self.max_concurrent && !self.queue.is_empty() {
            let best = (0..self.queue.len()).max_by(|&a, &b| {
                let (da, db) = (&self.queue[a], &self.queue[b]);
                let key = |d: &Due| {
                    let manual = d.kind == OccurrenceKind::Manual;
                    let p = self
                        .store
                        .state()
                        .jobs
                        .get(&d.id)
                        .map_or(0.0, |j| self.priority(j));
                    (manual, p)
                };
                let (ka, kb) = (key(da), key(db));
                ka.0.cmp(&kb.0)
                    .then(ka.1.total_cmp(&kb.1))
                    // The older occurrence first among equals.
                    .then(db.at.cmp(&da.at))
            });
            let Some(i) = best else { break };
            let due = self.queue.swap_remove(i);
            self.begin(due);
        }
    }

    /// Claim an occurrence durably, then run it.
    pub(super) fn begin(&mut self, due: Due) {
        let Some(job) = self.store.state().jobs.get(&due.id).cloned() else {
            self.answer(due.id, due.at, Err(SchedulerError::UnknownJob(due.id)));
            return;
        };
        if self.store.state().claimed(due.id, due.at) {
            return;
        }
        let overlapping = self.store.state().running(due.id);
        let occurrence = Occurrence {
            at: due.at,
            kind: due.kind,
            started: Utc::now(),
            finished: None,
        };
        if let Err(e) = self.store.append(
            JobOp::Claim {
                id: due.id,
                occurrence,
            },
            true,
        ) {
            // Not claimed, so not run: exactly once means at most once first.
            error!(
                job = due.id,
                "cannot claim an occurrence, so it does not run: {e}"
            );
            self.answer(due.id, due.at, Err(e.into()));
            return;
        }
        if overlapping {
            let finished = Finished {
                result: OccurrenceResult::Skipped,
                detail: "the previous occurrence was still running".into(),
                runs: Vec::new(),
                duration_ms: 0,
                at: Utc::now(),
            };
            self.finished(Ok((due.id, due.at, finished)));
            return;
        }
        info!(job = due.id, at = %due.at, kind = ?due.kind, "occurrence started");
        let executor = self.executor.clone();
        let cancel = self.cancel.child_token();
        let note = due.note;
        let (id, at) = (due.id, due.at);
        self.running.spawn(async move {
            // The timer works in whole seconds and may fire a little early: an occurrence
            // never starts before its time (a midnight job must see the new day).
            if let Ok(early) = (at - Utc::now()).to_std() {
                tokio::select! {
                    _ = tokio::time::sleep(early) => {}
                    _ = cancel.cancelled() => {}
                }
            }
            let mut finished = if cancel.is_cancelled() {
                Finished {
                    result: OccurrenceResult::Interrupted,
                    detail: "codexd stopped before it started".into(),
                    runs: Vec::new(),
                    duration_ms: 0,
                    at: Utc::now(),
                }
            } else {
                occurrence::run(executor, job, cancel).await
            };
            if let Some(note) = note {
                finished.detail = format!("{note}; {}", finished.detail);
            }
            (id, at, finished)
        });
    }

    pub(super) fn finished(
        &mut self,
        done: Result<(u64, DateTime<Utc>, Finished), tokio::task::JoinError>,
    ) {
        let (id, at, finished) = match done {
            Ok(d) => d,
            Err(e) => {
                error!("an occurrence's task failed: {e}");
                return;
            }
        };
        info!(job = id, at = %at, result = finished.result.name(), "occurrence finished");
        if let Err(e) = self.store.append(JobOp::Finish { id, at, finished }, true) {
            error!(job = id, "cannot record how an occurrence ended: {e}");
        }
        let view = self
            .store
            .state()
            .occurrences
            .get(&id)
            .and_then(|l| l.iter().rev().find(|o| o.at == at))
            .map(occurrence_view);
        match view {
            Some(v) => self.answer(id, at, Ok(v)),
            None => self.answer(id, at, Err(SchedulerError::UnknownJob(id))),
        }
    }

    pub(super) fn answer(
        &mut self,
        id: u64,
        at: DateTime<Utc>,
        r: Result<OccurrenceView, SchedulerError>,
    ) {
        let Some(waiting) = self.waiters.remove(&(id, at)) else {
            return;
        };
        let mut r = Some(r);
        for w in waiting {
            let one = match r.take() {
                Some(Ok(v)) => {
                    r = Some(Ok(v.clone()));
                    Ok(v)
                }
                Some(Err(e)) => Err(e),
                None => Err(SchedulerError::UnknownJob(id)),
            };
            let _ = w.send(one);
        }
    }

    pub(super) fn queued(&self, id: u64, at: DateTime<Utc>) -> bool {
        self.queue.iter().any(|d| d.id == id && d.at == at)
    }
}
