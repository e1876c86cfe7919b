//! Missed occurrences: what to do at start (codexd was down) or on a tick (the machine was
//! asleep) about occurrences whose time passed without being claimed. Never a burst: however
//! many were missed, at most the latest one runs, once.

use chrono::{DateTime, Utc};
use codex_proto::schedule::CatchUp;

use super::jobs::{Job, Jobs};
use super::timing::{Schedule, interval_words};

/// What to do about a job's missed occurrences.
#[derive(Debug, Clone, PartialEq)]
pub enum Missed {
    /// Nothing was missed.
    Nothing,
    /// Run the latest missed occurrence once.
    Run {
        /// Its scheduled time (the claim).
        at: DateTime<Utc>,
        /// Why, in words.
        detail: String,
    },
    /// Record the latest missed occurrence as skipped, and run nothing.
    Skip {
        /// Its scheduled time.
        at: DateTime<Utc>,
        /// Why, in words.
        detail: String,
    },
}

/// Occurrences counted for the words; past this the count is "more than".
const COUNT_UP_TO: usize = 1000;

/// The missed occurrences of `job` at `now`: those after the last one claimed (or after the
/// job became active), up to `now - late` (a timer is allowed `late` to fire on its own).
pub fn missed(
    job: &Job,
    state: &Jobs,
    schedule: &Schedule,
    now: DateTime<Utc>,
    late: chrono::Duration,
    grace: chrono::Duration,
) -> Missed {
    if job.paused {
        return Missed::Nothing;
    }
    let since = job.active_since;
    let Some(latest) = schedule.latest_at_or_before(now - late, since) else {
        return Missed::Nothing;
    };
    let last = state.last_claimed(job.id);
    if last.is_some_and(|l| l >= latest) || state.claimed(job.id, latest) {
        return Missed::Nothing;
    }
    // How many: the first unclaimed one after `last` (or after activation) up to `latest`.
    let from = last.unwrap_or(since).max(since);
    let mut count = 0;
    let mut t = from;
    while let Some(next) = schedule.next_after(t) {
        if next > latest || count >= COUNT_UP_TO {
            break;
        }
        count += 1;
        t = next;
    }
    let count = count.max(1);
    let how_many = if count >= COUNT_UP_TO {
        format!("more than {COUNT_UP_TO} occurrences")
    } else if count == 1 {
        "1 occurrence".to_string()
    } else {
        format!("{count} occurrences")
    };
    let age = (now - latest).max(chrono::Duration::zero());
    match job.catch_up {
        CatchUp::Skip => Missed::Skip {
            at: latest,
            detail: format!("missed {how_many} while codexd was not running; --catch-up skip"),
        },
        CatchUp::Once if age > grace => Missed::Skip {
            at: latest,
            detail: format!(
                "missed {how_many}; the latest was {} ago, past the catch-up grace period ({})",
                interval_words(u64::try_from(age.num_seconds()).unwrap_or(0)),
                interval_words(u64::try_from(grace.num_seconds()).unwrap_or(0))
            ),
        },
        CatchUp::Once => Missed::Run {
            at: latest,
            detail: format!(
                "caught up: missed {how_many} while codexd was not running; the latest runs once"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::jobs::{JobOp, Occurrence};
    use crate::store::journal::State;
    use codex_proto::methods::PlannedCommand;
    use codex_proto::schedule::{JobPolicy, OccurrenceKind, When};

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn job(catch_up: CatchUp) -> Job {
        Job {
            id: 1,
            name: None,
            goal: "g".into(),
            explicit: false,
            cwd: "/p".into(),
            path: None,
            when: When::EverySecs(60),
            policy: JobPolicy::Deny,
            catch_up,
            plan: PlannedCommand {
                command: "true".into(),
                steps: Vec::new(),
                score: 0.0,
                confidence: 0.0,
                alignment: 0.0,
                evidence: String::new(),
                borrowed: None,
                propensity: None,
                from_model: false,
            },
            paused: false,
            created: t(0),
            active_since: t(0),
            proposal: None,
            interval_secs: None,
            anchor: None,
            paused_by: None,
        }
    }

    fn state_with(j: &Job, claimed_at: Option<i64>) -> Jobs {
        let mut s = Jobs::default();
        s.apply(JobOp::Add {
            job: Box::new(j.clone()),
        });
        if let Some(c) = claimed_at {
            s.apply(JobOp::Claim {
                id: 1,
                occurrence: Occurrence {
                    at: t(c),
                    kind: OccurrenceKind::Scheduled,
                    started: t(c),
                    finished: None,
                },
            });
        }
        s
    }

    fn every_minute() -> Schedule {
        Schedule::Every {
            secs: 60,
            anchor: t(0),
        }
    }

    const LATE: chrono::Duration = chrono::Duration::seconds(5);
    const GRACE: chrono::Duration = chrono::Duration::hours(12);

    #[test]
    fn many_missed_occurrences_run_once_the_latest() {
        let j = job(CatchUp::Once);
        let s = state_with(&j, Some(60));
        // Down from just after 60 to 330: 120, 180, 240, 300 were missed.
        match missed(&j, &s, &every_minute(), t(330), LATE, GRACE) {
            Missed::Run { at, detail } => {
                assert_eq!(at, t(300));
                assert!(detail.contains("4 occurrences"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn skip_records_and_runs_nothing_and_grace_turns_once_into_skip() {
        let j = job(CatchUp::Skip);
        let s = state_with(&j, Some(60));
        assert!(matches!(
            missed(&j, &s, &every_minute(), t(330), LATE, GRACE),
            Missed::Skip { at, .. } if at == t(300)
        ));
        // A daily job whose latest missed occurrence was 13 hours ago.
        let j = job(CatchUp::Once);
        let day = 86_400;
        let s = state_with(&j, Some(day));
        let daily = Schedule::Every {
            secs: day as u64,
            anchor: t(0),
        };
        match missed(&j, &s, &daily, t(2 * day + 13 * 3600), LATE, GRACE) {
            Missed::Skip { detail, .. } => assert!(detail.contains("grace"), "{detail}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nothing_is_missed_when_claimed_paused_or_not_yet_late() {
        let j = job(CatchUp::Once);
        let s = state_with(&j, Some(300));
        assert_eq!(
            missed(&j, &s, &every_minute(), t(330), LATE, GRACE),
            Missed::Nothing
        );
        // 300 is due but only 2 s ago: the timer still has time to fire it.
        let s = state_with(&j, Some(240));
        assert_eq!(
            missed(&j, &s, &every_minute(), t(302), LATE, GRACE),
            Missed::Nothing
        );
        let mut paused = j.clone();
        paused.paused = true;
        let s = state_with(&paused, Some(60));
        assert_eq!(
            missed(&paused, &s, &every_minute(), t(330), LATE, GRACE),
            Missed::Nothing
        );
        // Before its first occurrence nothing is missed.
        let s = state_with(&j, None);
        assert_eq!(
            missed(&j, &s, &every_minute(), t(50), LATE, GRACE),
            Missed::Nothing
        );
    }

    #[test]
    fn occurrences_while_paused_are_not_missed() {
        let mut j = job(CatchUp::Once);
        j.active_since = t(290); // resumed at 290
        let s = state_with(&j, Some(60));
        match missed(&j, &s, &every_minute(), t(330), LATE, GRACE) {
            Missed::Run { at, detail } => {
                assert_eq!(at, t(300));
                assert!(detail.contains("1 occurrence"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
}
