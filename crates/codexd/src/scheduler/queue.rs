//! Occurrences due: caught up when missed, queued, started by priority under
//! `scheduler.max_concurrent`, claimed before they run, recorded when they end.

use chrono::{DateTime, Utc};
use codex_proto::schedule::{OccurrenceKind, OccurrenceResult, OccurrenceView};
use tracing::{error, info};

use super::handle::{Command, HeldDone};
use super::jobs::{Finished, Job, JobOp, Occurrence};
use super::views::occurrence_view;
use super::{Actor, Due, SchedulerError, claims, occurrence};
use crate::bus::{Event, OccurrenceEnded};
use crate::episode::Draft;
use std::sync::Arc;

impl Actor {
    /// Queue (or record as skipped) the latest missed occurrence of every job.
    pub(super) fn catch_up(&mut self, now: DateTime<Utc>, late: chrono::Duration) {
        let jobs: Vec<Job> = self.store.state().jobs.values().cloned().collect();
        for job in jobs {
            let Ok(schedule) = job.schedule() else {
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
                                finished: Finished::without_runs(OccurrenceResult::Skipped, detail),
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
    /// When the next queued occurrence whose time has not come yet is due.
    pub(super) fn next_wake(&self) -> Option<DateTime<Utc>> {
        let now = Utc::now();
        self.queue.iter().map(|d| d.at).filter(|at| *at > now).min()
    }

    pub(super) fn start_due(&mut self) {
        while self.running.len() < self.max_concurrent {
            // The timer works in whole seconds and may fire early: an occurrence waits in the
            // queue until its time, so a pause, a removal or a new plan in between counts.
            let now = Utc::now();
            let best = (0..self.queue.len())
                .filter(|&i| self.queue[i].at <= now)
                .max_by(|&a, &b| {
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
        // One question at a time per job: while a step of it waits for a yes, its next
        // occurrences do not pile up more of them in `codex approvals`.
        let waiting = self.held.get(&due.id).map(|(t, approval)| {
            format!(
                "a step of the occurrence at {t} still waits for a yes (approval {approval} in \
                 `codex approvals`); nothing more is asked until it is answered"
            )
        });
        // An alert paused what runs on its own: a run the user asked for still goes.
        let alert = (due.kind != OccurrenceKind::Manual)
            .then(|| self.autonomy.borrow().clone())
            .flatten();
        let skipped = if overlapping {
            Some("the previous occurrence was still running".to_string())
        } else if let Some(why) = alert {
            Some(format!("autonomous work is paused: {why}"))
        } else {
            waiting
        };
        if let Some(detail) = skipped {
            let finished = Finished::without_runs(OccurrenceResult::Skipped, detail);
            self.finished(Ok((due.id, due.at, finished, None)));
            return;
        }
        info!(job = due.id, at = %due.at, kind = ?due.kind, "occurrence started");
        let executor = self.executor.clone();
        let cancel = self.cancel.child_token();
        let note = due.note;
        let (id, at) = (due.id, due.at);
        self.running.spawn(async move {
            let (mut finished, held) = if cancel.is_cancelled() {
                (
                    Finished::without_runs(
                        OccurrenceResult::Interrupted,
                        "codexd stopped before it started",
                    ),
                    None,
                )
            } else {
                occurrence::run(executor, job, cancel).await
            };
            if let Some(note) = note {
                finished.detail = format!("{note}; {}", finished.detail);
            }
            (id, at, finished, held)
        });
    }

    pub(super) fn finished(&mut self, done: Result<super::Ended, tokio::task::JoinError>) {
        let (id, at, finished, held) = match done {
            Ok(d) => d,
            Err(e) => {
                error!("an occurrence's task failed: {e}");
                return;
            }
        };
        info!(job = id, at = %at, result = finished.result.name(), "occurrence finished");
        if let Some(h) = held {
            self.watch_held(id, at, h);
        }
        let ended = self.store.state().jobs.get(&id).map(|job| OccurrenceEnded {
            job: id,
            at,
            kind: self
                .store
                .state()
                .occurrences
                .get(&id)
                .and_then(|l| l.iter().rev().find(|o| o.at == at))
                .map_or(OccurrenceKind::Scheduled, |o| o.kind),
            result: finished.result,
            detail: finished.detail.clone(),
            runs: finished.runs.clone(),
            chosen_secs: job.chosen_secs(),
            interval_secs: job.interval_secs.or(job.chosen_secs()),
            paused: job.paused,
            created: job.created,
        });
        match self.store.append(JobOp::Finish { id, at, finished }, true) {
            // Recorded first: the optimizer's decisions follow what the store says.
            Ok(()) => {
                if let Some(e) = ended {
                    let _ = self.bus.send(Event::OccurrenceEnded(Arc::new(e)));
                }
            }
            Err(e) => error!(job = id, "cannot record how an occurrence ended: {e}"),
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

    /// Claim an occurrence and finish it at once as skipped, with why.
    pub(super) fn record_skipped(
        &mut self,
        id: u64,
        at: DateTime<Utc>,
        kind: OccurrenceKind,
        detail: &str,
    ) {
        if self.store.state().claimed(id, at) || !self.store.state().jobs.contains_key(&id) {
            self.answer(id, at, Err(SchedulerError::UnknownJob(id)));
            return;
        }
        let claimed = self.store.append(
            JobOp::Claim {
                id,
                occurrence: Occurrence {
                    at,
                    kind,
                    started: Utc::now(),
                    finished: None,
                },
            },
            true,
        );
        match claimed {
            Ok(()) => self.finished(Ok((
                id,
                at,
                Finished::without_runs(OccurrenceResult::Skipped, detail),
                None,
            ))),
            Err(e) => {
                error!(job = id, "cannot record a skipped occurrence: {e}");
                self.answer(id, at, Err(e.into()));
            }
        }
    }

    /// Keep track of a held step until it is answered; then its occurrence says how it went.
    fn watch_held(&mut self, id: u64, at: DateTime<Utc>, h: occurrence::HeldStep) {
        self.held.insert(id, (at, h.approval));
        let Some(tx) = self.inbox_tx.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            let report = match h.step.await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(format!("the step's task failed: {e}")),
            };
            let _ = tx
                .send(Command::HeldDone(Box::new(HeldDone {
                    id,
                    at,
                    approval: h.approval,
                    command: h.command,
                    rest: h.rest,
                    report,
                })))
                .await;
        });
    }

    /// A held step was answered (and ran, or not): its occurrence is finished again with
    /// what happened.
    pub(super) fn held_done(&mut self, done: HeldDone) {
        if self.held.get(&done.id) == Some(&(done.at, done.approval)) {
            self.held.remove(&done.id);
        }
        let after = if done.rest == 0 {
            String::new()
        } else {
            format!("; the {} step(s) after it did not run", done.rest)
        };
        let (result, detail, run) = match done.report {
            Ok(r) if r.outcome.success() => (
                OccurrenceResult::Succeeded,
                format!(
                    "`{}` ran after your yes (approval {}){after}",
                    done.command, done.approval
                ),
                Some(r.run_id),
            ),
            Ok(r) => (
                OccurrenceResult::Failed,
                format!(
                    "`{}` {} after your yes (approval {}, run {})",
                    done.command,
                    r.outcome.label(),
                    done.approval,
                    r.run_id
                ),
                Some(r.run_id),
            ),
            Err(why) => (OccurrenceResult::Refused, why, None),
        };
        let Some(before) = self
            .store
            .state()
            .occurrences
            .get(&done.id)
            .and_then(|l| l.iter().rev().find(|o| o.at == done.at))
            .and_then(|o| o.finished.clone())
        else {
            return;
        };
        let mut runs = before.runs;
        runs.extend(run);
        let finished = Finished {
            result,
            detail,
            runs,
            duration_ms: before.duration_ms,
            at: Utc::now(),
        };
        if let Err(e) = self.store.append(
            JobOp::Finish {
                id: done.id,
                at: done.at,
                finished,
            },
            true,
        ) {
            error!(job = done.id, "cannot record how a held step ended: {e}");
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
