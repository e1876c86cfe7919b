//! The optimizer's durable state (`storage/optimizer/optimizer.json` and its journal): alerts
//! (acknowledged or not, so autonomous work paused by one stays paused across a restart),
//! the notices not yet shown, each job's run of failures or successes, and when a personal
//! model was last trained.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use codex_proto::optimizer::{AlertAction, AlertView};
use serde::{Deserialize, Serialize};

use crate::store::journal::State;

/// Alerts kept (the newest); acknowledged ones are dropped first.
pub const KEEP_ALERTS: usize = 200;
/// Notices waiting to be shown, at most: the oldest go first.
pub const KEEP_NOTICES: usize = 50;

/// A job's current run of bad (failed, or rated 2 or less) and good occurrences.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streak {
    /// Bad occurrences in a row.
    pub bad: u32,
    /// Good occurrences in a row.
    pub good: u32,
    /// When the job it belongs to was added (a job of the same id added later starts over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
}

/// When training last ran, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingMark {
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// Labelled examples in the data then (new ones are counted from here).
    #[serde(default)]
    pub examples: u64,
    /// Ratings counted then (training on low satisfaction waits for new ones).
    #[serde(default)]
    pub ratings: u64,
    /// Why it gave no model, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The optimizer's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Optimizer {
    /// Alerts by id.
    #[serde(default)]
    pub alerts: BTreeMap<u64, AlertView>,
    /// The next alert id.
    #[serde(default = "one")]
    pub next_alert: u64,
    /// Notices not yet shown, oldest first.
    #[serde(default)]
    pub notices: VecDeque<String>,
    /// Per job, its current streak.
    #[serde(default)]
    pub streaks: BTreeMap<u64, Streak>,
    /// The last training.
    #[serde(default)]
    pub training: TrainingMark,
    /// Storage was past its bound when last measured (an alert is raised on crossing it,
    /// not again at every start while it stays past).
    #[serde(default)]
    pub storage_over: bool,
}

fn one() -> u64 {
    1
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer {
            alerts: BTreeMap::new(),
            next_alert: 1,
            notices: VecDeque::new(),
            streaks: BTreeMap::new(),
            training: TrainingMark::default(),
            storage_over: false,
        }
    }
}

/// One change to [`Optimizer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OptimizerOp {
    /// An alert raised (its id is the state's `next_alert`).
    Raise {
        /// The alert.
        alert: AlertView,
    },
    /// An alert acknowledged.
    Ack {
        /// The alert.
        id: u64,
        /// When.
        at: DateTime<Utc>,
    },
    /// Something to tell the user on their next command.
    Notice {
        /// The words.
        text: String,
    },
    /// The notices were shown.
    Shown,
    /// A job's streak now.
    Streak {
        /// The job.
        job: u64,
        /// Its streak (`None`: the job is gone).
        streak: Option<Streak>,
    },
    /// A training ended.
    Trained {
        /// The mark.
        mark: TrainingMark,
    },
    /// Storage crossed its bound (or came back under it).
    StorageOver {
        /// Past it now.
        over: bool,
    },
    /// `codex forget --all`: acknowledged alerts and notices go; open ones keep only their
    /// kind (they may still pause work until acknowledged).
    Forget,
}

impl State for Optimizer {
    type Op = OptimizerOp;

    fn apply(&mut self, op: OptimizerOp) {
        match op {
            OptimizerOp::Raise { alert } => {
                self.next_alert = self.next_alert.max(alert.id.saturating_add(1));
                self.alerts.insert(alert.id, alert);
                while self.alerts.len() > KEEP_ALERTS {
                    // Acknowledged first, oldest first; an open one only when all are open.
                    let drop = self
                        .alerts
                        .values()
                        .find(|a| a.acked.is_some())
                        .or_else(|| self.alerts.values().next())
                        .map(|a| a.id);
                    match drop {
                        Some(id) => {
                            self.alerts.remove(&id);
                        }
                        None => break,
                    }
                }
            }
            OptimizerOp::Ack { id, at } => {
                if let Some(a) = self.alerts.get_mut(&id) {
                    a.acked.get_or_insert(at);
                }
            }
            OptimizerOp::Notice { text } => {
                self.notices.push_back(text);
                while self.notices.len() > KEEP_NOTICES {
                    self.notices.pop_front();
                }
            }
            OptimizerOp::Shown => self.notices.clear(),
            OptimizerOp::Streak { job, streak } => match streak {
                Some(s) => {
                    self.streaks.insert(job, s);
                }
                None => {
                    self.streaks.remove(&job);
                }
            },
            OptimizerOp::Trained { mark } => self.training = mark,
            OptimizerOp::StorageOver { over } => self.storage_over = over,
            OptimizerOp::Forget => {
                self.alerts.retain(|_, a| a.acked.is_none());
                for a in self.alerts.values_mut() {
                    a.subject = "(forgotten)".into();
                    a.evidence = "(forgotten with `codex forget --all`)".into();
                }
                self.notices.clear();
                self.streaks.clear();
            }
        }
    }
}

impl Optimizer {
    /// Why autonomous work is paused: the oldest open alert that paused it.
    pub fn autonomy_paused(&self) -> Option<String> {
        self.alerts
            .values()
            .find(|a| a.acked.is_none() && a.action == AlertAction::PausedAutonomy)
            .map(|a| {
                format!(
                    "alert {} ({}: {}); `codex alerts ack {}` resumes it",
                    a.id,
                    a.kind.name(),
                    a.subject,
                    a.id
                )
            })
    }

    /// Whether an alert of this kind about this subject is still open.
    pub fn open(&self, kind: codex_proto::optimizer::AlertKind, subject: &str) -> bool {
        self.alerts
            .values()
            .any(|a| a.acked.is_none() && a.kind == kind && a.subject == subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_proto::optimizer::AlertKind;

    fn alert(id: u64, action: AlertAction) -> AlertView {
        AlertView {
            id,
            kind: AlertKind::FailureSpike,
            subject: "all runs".into(),
            evidence: "4 of the last 10 runs failed".into(),
            job: None,
            raised: DateTime::UNIX_EPOCH,
            action,
            acked: None,
        }
    }

    #[test]
    fn autonomy_stays_paused_until_every_pausing_alert_is_acknowledged() {
        let mut s = Optimizer::default();
        s.apply(OptimizerOp::Raise {
            alert: alert(1, AlertAction::PausedAutonomy),
        });
        s.apply(OptimizerOp::Raise {
            alert: alert(2, AlertAction::PausedAutonomy),
        });
        s.apply(OptimizerOp::Raise {
            alert: alert(3, AlertAction::Recorded),
        });
        assert!(s.autonomy_paused().is_some_and(|w| w.contains("alert 1")));
        s.apply(OptimizerOp::Ack {
            id: 1,
            at: DateTime::UNIX_EPOCH,
        });
        assert!(s.autonomy_paused().is_some_and(|w| w.contains("alert 2")));
        s.apply(OptimizerOp::Ack {
            id: 2,
            at: DateTime::UNIX_EPOCH,
        });
        assert_eq!(s.autonomy_paused(), None);
        assert_eq!(s.next_alert, 4);
    }

    #[test]
    fn old_alerts_go_acknowledged_first_and_notices_are_bounded() {
        let mut s = Optimizer::default();
        s.apply(OptimizerOp::Raise {
            alert: alert(1, AlertAction::PausedAutonomy),
        });
        for id in 2..=(KEEP_ALERTS as u64 + 5) {
            s.apply(OptimizerOp::Raise {
                alert: alert(id, AlertAction::Recorded),
            });
            s.apply(OptimizerOp::Ack {
                id,
                at: DateTime::UNIX_EPOCH,
            });
        }
        assert_eq!(s.alerts.len(), KEEP_ALERTS);
        // The open one that pauses work is kept.
        assert!(s.alerts.contains_key(&1));
        for i in 0..(KEEP_NOTICES + 3) {
            s.apply(OptimizerOp::Notice {
                text: i.to_string(),
            });
        }
        assert_eq!(s.notices.len(), KEEP_NOTICES);
        assert_eq!(s.notices.front().map(String::as_str), Some("3"));
    }

    #[test]
    fn the_last_alert_id_never_overflows_and_is_never_given_twice() {
        let mut s = Optimizer::default();
        s.apply(OptimizerOp::Raise {
            alert: alert(u64::MAX, AlertAction::Recorded),
        });
        assert_eq!(s.next_alert, u64::MAX);
    }

    #[test]
    fn forget_all_keeps_open_alerts_without_their_words() {
        let mut s = Optimizer::default();
        s.apply(OptimizerOp::Raise {
            alert: alert(1, AlertAction::PausedAutonomy),
        });
        s.apply(OptimizerOp::Raise {
            alert: alert(2, AlertAction::Recorded),
        });
        s.apply(OptimizerOp::Ack {
            id: 2,
            at: DateTime::UNIX_EPOCH,
        });
        s.apply(OptimizerOp::Notice {
            text: "`deploy.sh` took 9 s".into(),
        });
        s.apply(OptimizerOp::Forget);
        assert_eq!(s.alerts.len(), 1);
        assert!(!s.alerts[&1].evidence.contains("runs failed"));
        assert!(s.notices.is_empty());
        assert!(
            s.autonomy_paused().is_some(),
            "still paused until acknowledged"
        );
    }

    #[test]
    fn a_state_without_newer_fields_parses() {
        let s: Optimizer = serde_json::from_str("{}").unwrap_or_default();
        assert_eq!(s.next_alert, 1);
    }
}
