//! Approvals: questions for the person at the terminal, and the ones held for unattended runs
//! until `codex approve`/`codex deny` answers them or they expire.

use chrono::Utc;
use codex_proto::types::SafetyClass;
use tokio::sync::oneshot;

/// An approval held for an unattended run, as `codex approvals` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingView {
    /// Its id (for `codex approve ID`).
    pub id: u64,
    /// The command line.
    pub command: String,
    /// Its class.
    pub class: SafetyClass,
    /// Why it has that class.
    pub reason: String,
    /// Why it is asked.
    pub why_asked: String,
    /// When it was held.
    pub created: chrono::DateTime<Utc>,
    /// When it expires (then it counts as denied).
    pub expires: chrono::DateTime<Utc>,
    /// The folder the step would run in.
    pub cwd: std::path::PathBuf,
    /// That folder's project root, if any.
    pub project: Option<std::path::PathBuf>,
    /// The scheduled job whose step it is.
    pub job: Option<u64>,
}

pub(super) struct Held {
    pub(super) command: String,
    pub(super) class: SafetyClass,
    pub(super) reason: String,
    pub(super) why_asked: String,
    pub(super) created: chrono::DateTime<Utc>,
    pub(super) expires: chrono::DateTime<Utc>,
    pub(super) cwd: std::path::PathBuf,
    pub(super) project: Option<std::path::PathBuf>,
    pub(super) job: Option<u64>,
    /// `Some` for an answer, `None` when it expired.
    pub(super) reply: oneshot::Sender<Option<bool>>,
}

/// Held approvals, shared by the actor (answers) and the run tasks (which wait on them).
#[derive(Default)]
pub(super) struct Pending {
    pub(super) next: u64,
    pub(super) held: std::collections::BTreeMap<u64, Held>,
}

impl Pending {
    pub(super) fn hold(&mut self, h: Held) -> (u64, chrono::DateTime<Utc>) {
        if self.next == 0 {
            // Ids start somewhere new at each daemon start, so an id from an old listing does
            // not approve a different command held after a restart.
            self.next = (Utc::now().timestamp().unsigned_abs() % 90_000 + 10_000) * 10;
        }
        self.next += 1;
        let expires = h.expires;
        self.held.insert(self.next, h);
        (self.next, expires)
    }

    pub(super) fn expire(&mut self, now: chrono::DateTime<Utc>) {
        let gone: Vec<u64> = self
            .held
            .iter()
            .filter(|(_, h)| h.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(h) = self.held.remove(&id) {
                let _ = h.reply.send(None);
            }
        }
    }

    pub(super) fn views(&self) -> Vec<PendingView> {
        self.held
            .iter()
            .map(|(id, h)| PendingView {
                id: *id,
                command: h.command.clone(),
                class: h.class,
                reason: h.reason.clone(),
                why_asked: h.why_asked.clone(),
                created: h.created,
                expires: h.expires,
                cwd: h.cwd.clone(),
                project: h.project.clone(),
                job: h.job,
            })
            .collect()
    }
}

/// A question for the person at the terminal, and where the answer goes.
#[derive(Debug)]
pub struct ApprovalAsk {
    /// The exact command line.
    pub command: String,
    /// Its class.
    pub class: SafetyClass,
    /// Why it has that class.
    pub reason: String,
    /// Why it is asked.
    pub why_asked: String,
    /// The answer; `None` when nobody answered.
    pub reply: oneshot::Sender<Option<bool>>,
}
