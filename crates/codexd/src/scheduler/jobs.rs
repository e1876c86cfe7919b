//! Job definitions and their claimed occurrences, in one journaled store
//! (`storage/scheduler/jobs.json` and its journal): what the user scheduled survives restarts
//! and crashes, and each occurrence is claimed here, durably, before it runs.
//!
//! A claim is keyed by job and scheduled time, so an occurrence claimed once is never run
//! again: not after a restart, not on a delayed or doubled timer tick. A claim with no finish
//! found at start belongs to a run a crash or stop cut short; it is finished as interrupted
//! then, so no job is ever left "running".

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use codex_proto::methods::PlannedCommand;
use codex_proto::optimizer::IntervalDecision;
use codex_proto::schedule::{CatchUp, JobPolicy, OccurrenceKind, OccurrenceResult, When};
use codex_proto::types::RunId;
use serde::{Deserialize, Serialize};

use crate::store::journal::State;

/// Occurrences kept per job (the newest): enough for `schedule show` and for telling a
/// missed occurrence from one already run.
pub const KEEP_OCCURRENCES: usize = 50;

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Its id (never reused).
    pub id: u64,
    /// The name given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The goal in words, or the explicit command's line.
    pub goal: String,
    /// Whether the goal is an explicit command (then `plan` is that command).
    #[serde(default)]
    pub explicit: bool,
    /// The folder it runs in.
    pub cwd: PathBuf,
    /// The `PATH` its steps' programs are found on (the client's when it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// When it runs.
    pub when: When,
    /// Its approval policy.
    pub policy: JobPolicy,
    /// Missed occurrences.
    pub catch_up: CatchUp,
    /// The plan fixed when it was added or re-planned.
    pub plan: PlannedCommand,
    /// Paused.
    #[serde(default)]
    pub paused: bool,
    /// When it was added.
    pub created: DateTime<Utc>,
    /// Since when it is active (added, or last resumed): occurrences before are not missed.
    pub active_since: DateTime<Utc>,
    /// The proposal it was accepted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<String>,
    /// The interval the optimizer stretched an `--every` job to; `None`: the one chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_secs: Option<u64>,
    /// When its interval last changed: occurrences count from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<DateTime<Utc>>,
    /// Why codex paused it (it kept failing at the longest interval); cleared on resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_by: Option<String>,
}

impl Job {
    /// When it runs now: the chosen schedule, or the interval the optimizer set.
    pub fn when_now(&self) -> When {
        match (&self.when, self.interval_secs) {
            (When::EverySecs(_), Some(secs)) => When::EverySecs(secs),
            (w, _) => w.clone(),
        }
    }

    /// Its occurrences, counted from when it was added or its interval last changed.
    pub fn schedule(&self) -> Result<super::timing::Schedule, super::timing::TimingError> {
        super::timing::Schedule::new(&self.when_now(), self.anchor.unwrap_or(self.created))
    }

    /// The interval it was given, for an `--every` job.
    pub fn chosen_secs(&self) -> Option<u64> {
        match self.when {
            When::EverySecs(s) => Some(s),
            When::Cron(_) => None,
        }
    }
}

/// Interval decisions kept per job (the newest).
pub const KEEP_DECISIONS: usize = 20;

/// One occurrence as stored: claimed first, finished later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Occurrence {
    /// The time it was scheduled for.
    pub at: DateTime<Utc>,
    /// How it came to run.
    pub kind: OccurrenceKind,
    /// When it was claimed.
    pub started: DateTime<Utc>,
    /// How it ended; `None` while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Finished>,
}

/// How an occurrence ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    /// The result.
    pub result: OccurrenceResult,
    /// Why, in words.
    #[serde(default)]
    pub detail: String,
    /// The runs of its steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunId>,
    /// Wall time of its steps.
    #[serde(default)]
    pub duration_ms: u64,
    /// When it ended.
    pub at: DateTime<Utc>,
}

impl Finished {
    /// An end with no run: skipped, interrupted before a step, and the like.
    pub fn without_runs(result: OccurrenceResult, detail: impl Into<String>) -> Finished {
        Finished {
            result,
            detail: detail.into(),
            runs: Vec::new(),
            duration_ms: 0,
            at: Utc::now(),
        }
    }
}

/// The scheduler's durable state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jobs {
    /// The jobs, by id.
    #[serde(default)]
    pub jobs: BTreeMap<u64, Job>,
    /// The next id to give.
    #[serde(default = "one")]
    pub next_id: u64,
    /// Each job's newest occurrences, oldest first.
    #[serde(default)]
    pub occurrences: BTreeMap<u64, VecDeque<Occurrence>>,
    /// Proposals the user dismissed: never made again.
    #[serde(default)]
    pub dismissed: BTreeSet<String>,
    /// The optimizer's interval decisions per job, oldest first.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decisions: BTreeMap<u64, VecDeque<IntervalDecision>>,
}

fn one() -> u64 {
    1
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            jobs: BTreeMap::new(),
            next_id: 1,
            occurrences: BTreeMap::new(),
            dismissed: BTreeSet::new(),
            decisions: BTreeMap::new(),
        }
    }
}

/// One change to [`Jobs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JobOp {
    /// A new job (its id is the state's `next_id`).
    Add {
        /// The job.
        job: Box<Job>,
    },
    /// A job removed (its occurrences go with it; its runs stay in history).
    Remove {
        /// The job.
        id: u64,
    },
    /// Paused or resumed.
    Pause {
        /// The job.
        id: u64,
        /// Paused or not.
        paused: bool,
        /// When (a resume makes the job active from then).
        at: DateTime<Utc>,
    },
    /// A new plan (`schedule replan`).
    Replan {
        /// The job.
        id: u64,
        /// The plan.
        plan: Box<PlannedCommand>,
    },
    /// An occurrence claimed, before it runs.
    Claim {
        /// The job.
        id: u64,
        /// The occurrence.
        occurrence: Occurrence,
    },
    /// An occurrence ended.
    Finish {
        /// The job.
        id: u64,
        /// Its scheduled time.
        at: DateTime<Utc>,
        /// How.
        finished: Finished,
    },
    /// The optimizer changed a job's interval (and paused it at the longest).
    Adapt {
        /// The job.
        id: u64,
        /// What changed and why.
        decision: IntervalDecision,
    },
    /// A proposal dismissed.
    Dismiss {
        /// The proposal.
        proposal: String,
    },
}

impl State for Jobs {
    type Op = JobOp;

    fn apply(&mut self, op: JobOp) {
        match op {
            JobOp::Add { job } => {
                self.next_id = self.next_id.max(job.id + 1);
                self.jobs.insert(job.id, *job);
            }
            JobOp::Remove { id } => {
                self.jobs.remove(&id);
                self.occurrences.remove(&id);
                self.decisions.remove(&id);
            }
            JobOp::Pause { id, paused, at } => {
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.paused = paused;
                    if !paused {
                        j.active_since = at;
                        j.paused_by = None;
                    }
                }
            }
            JobOp::Adapt { id, decision } => {
                let Some(j) = self.jobs.get_mut(&id) else {
                    return;
                };
                j.interval_secs =
                    (Some(decision.to_secs) != j.chosen_secs()).then_some(decision.to_secs);
                if decision.to_secs != decision.from_secs {
                    j.anchor = Some(decision.at);
                }
                if decision.paused {
                    j.paused = true;
                    j.paused_by = Some(decision.reason.clone());
                }
                let list = self.decisions.entry(id).or_default();
                list.push_back(decision);
                while list.len() > KEEP_DECISIONS {
                    list.pop_front();
                }
            }
            JobOp::Replan { id, plan } => {
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.plan = *plan;
                }
            }
            JobOp::Claim { id, occurrence } => {
                if !self.jobs.contains_key(&id) || self.claimed(id, occurrence.at) {
                    return;
                }
                let list = self.occurrences.entry(id).or_default();
                list.push_back(occurrence);
                while list.len() > KEEP_OCCURRENCES {
                    list.pop_front();
                }
            }
            JobOp::Finish { id, at, finished } => {
                if let Some(o) = self
                    .occurrences
                    .get_mut(&id)
                    .and_then(|l| l.iter_mut().rev().find(|o| o.at == at))
                {
                    o.finished = Some(finished);
                }
            }
            JobOp::Dismiss { proposal } => {
                self.dismissed.insert(proposal);
            }
        }
    }
}

impl Jobs {
    /// Whether the occurrence of job `id` at `at` was claimed.
    pub fn claimed(&self, id: u64, at: DateTime<Utc>) -> bool {
        self.occurrences
            .get(&id)
            .is_some_and(|l| l.iter().any(|o| o.at == at))
    }

    /// The latest scheduled time already claimed for job `id` (run, caught up or skipped);
    /// manual runs do not count, they are not one of its times.
    pub fn last_claimed(&self, id: u64) -> Option<DateTime<Utc>> {
        self.occurrences.get(&id).and_then(|l| {
            l.iter()
                .filter(|o| o.kind != OccurrenceKind::Manual)
                .map(|o| o.at)
                .max()
        })
    }

    /// Occurrences claimed and never finished: a crash or stop cut them short.
    pub fn unfinished(&self) -> Vec<(u64, DateTime<Utc>)> {
        self.occurrences
            .iter()
            .flat_map(|(id, l)| {
                l.iter()
                    .filter(|o| o.finished.is_none())
                    .map(move |o| (*id, o.at))
            })
            .collect()
    }

    /// Whether job `id` has an occurrence running.
    pub fn running(&self, id: u64) -> bool {
        self.occurrences
            .get(&id)
            .is_some_and(|l| l.iter().any(|o| o.finished.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64) -> Job {
        Job {
            id,
            name: None,
            goal: "run the tests".into(),
            explicit: false,
            cwd: "/p".into(),
            path: None,
            when: When::EverySecs(60),
            policy: JobPolicy::Deny,
            catch_up: CatchUp::Once,
            plan: PlannedCommand {
                command: "cargo test".into(),
                steps: Vec::new(),
                score: 0.5,
                confidence: 0.5,
                alignment: 0.5,
                evidence: String::new(),
                borrowed: None,
                propensity: None,
                from_model: false,
            },
            paused: false,
            created: DateTime::UNIX_EPOCH,
            active_since: DateTime::UNIX_EPOCH,
            proposal: None,
            interval_secs: None,
            anchor: None,
            paused_by: None,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    fn claim(s: &mut Jobs, id: u64, t: i64, kind: OccurrenceKind) {
        s.apply(JobOp::Claim {
            id,
            occurrence: Occurrence {
                at: at(t),
                kind,
                started: at(t),
                finished: None,
            },
        });
    }

    #[test]
    fn an_occurrence_is_claimed_once() {
        let mut s = Jobs::default();
        s.apply(JobOp::Add {
            job: Box::new(job(1)),
        });
        claim(&mut s, 1, 60, OccurrenceKind::Scheduled);
        claim(&mut s, 1, 60, OccurrenceKind::Scheduled);
        assert_eq!(s.occurrences[&1].len(), 1);
        assert!(s.claimed(1, at(60)));
        assert!(!s.claimed(1, at(120)));
        // A claim for a job that is gone is dropped.
        claim(&mut s, 9, 60, OccurrenceKind::Scheduled);
        assert!(!s.occurrences.contains_key(&9));
    }

    #[test]
    fn unfinished_claims_are_found_and_finishing_clears_them() {
        let mut s = Jobs::default();
        s.apply(JobOp::Add {
            job: Box::new(job(1)),
        });
        claim(&mut s, 1, 60, OccurrenceKind::Scheduled);
        assert!(s.running(1));
        assert_eq!(s.unfinished(), vec![(1, at(60))]);
        s.apply(JobOp::Finish {
            id: 1,
            at: at(60),
            finished: Finished {
                result: OccurrenceResult::Interrupted,
                detail: String::new(),
                runs: Vec::new(),
                duration_ms: 0,
                at: at(61),
            },
        });
        assert!(s.unfinished().is_empty());
        assert!(!s.running(1));
    }

    #[test]
    fn manual_runs_do_not_count_as_a_scheduled_time() {
        let mut s = Jobs::default();
        s.apply(JobOp::Add {
            job: Box::new(job(1)),
        });
        claim(&mut s, 1, 60, OccurrenceKind::Scheduled);
        claim(&mut s, 1, 500, OccurrenceKind::Manual);
        assert_eq!(s.last_claimed(1), Some(at(60)));
    }

    #[test]
    fn only_the_newest_occurrences_are_kept_and_ids_are_never_reused() {
        let mut s = Jobs::default();
        s.apply(JobOp::Add {
            job: Box::new(job(1)),
        });
        for t in 0..(KEEP_OCCURRENCES as i64 + 10) {
            claim(&mut s, 1, t * 60, OccurrenceKind::Scheduled);
        }
        assert_eq!(s.occurrences[&1].len(), KEEP_OCCURRENCES);
        s.apply(JobOp::Remove { id: 1 });
        assert!(s.jobs.is_empty() && s.occurrences.is_empty());
        assert_eq!(s.next_id, 2);
    }

    #[test]
    fn old_records_without_newer_fields_still_parse() {
        let s: Jobs = serde_json::from_str(r#"{"jobs":{}}"#).unwrap();
        assert_eq!(s.next_id, 1);
    }
}
