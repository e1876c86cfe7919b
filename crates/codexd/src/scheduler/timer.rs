//! The timer: tokio-cron-scheduler, armed with one one-shot job per active job at its next
//! occurrence, each sending `Fired` back to the actor.

use chrono::{DateTime, Utc};
use tokio_cron_scheduler::Job as TimerJob;
use tracing::{error, warn};

use super::{Actor, Command, LATE};

/// How long after an occurrence's time its one-shot is set for.
const FIRE_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

impl Actor {
    /// Arm the timer for job `id`'s next occurrence after `after`.
    pub(super) async fn arm(&mut self, id: u64, after: DateTime<Utc>) {
        self.disarm(id).await;
        let Some(job) = self.store.state().jobs.get(&id) else {
            return;
        };
        if job.paused {
            return;
        }
        let schedule = match job.schedule() {
            Ok(s) => s,
            Err(e) => {
                error!(job = id, "job's schedule is not usable: {e}");
                return;
            }
        };
        let now = Utc::now();
        let Some(next) = schedule.next_after(after.max(now - LATE)) else {
            return;
        };
        let (Some(timer), Some(tx)) = (&self.timer, self.inbox_tx.upgrade()) else {
            return;
        };
        // A little after the time: the timer rounds to whole seconds, down.
        let wait = (next - now).to_std().unwrap_or_default() + FIRE_AFTER;
        let instant = std::time::Instant::now() + wait;
        let made = TimerJob::new_one_shot_at_instant_async(instant, move |_, _| {
            let tx = tx.clone();
            Box::pin(async move {
                let _ = tx.send(Command::Fired { id, at: next }).await;
            })
        });
        match made {
            Ok(one_shot) => match timer.add(one_shot).await {
                Ok(uuid) => {
                    self.armed.insert(id, (next, uuid));
                }
                Err(e) => error!(job = id, "cannot arm the job's timer: {e}"),
            },
            Err(e) => error!(job = id, "cannot arm the job's timer: {e}"),
        }
    }

    pub(super) async fn disarm(&mut self, id: u64) {
        if let Some((_, uuid)) = self.armed.remove(&id)
            && let Some(timer) = &self.timer
            && let Err(e) = timer.remove(&uuid).await
        {
            warn!(job = id, "cannot disarm the job's timer: {e}");
        }
    }

    pub(super) async fn arm_all(&mut self) {
        let ids: Vec<u64> = self.store.state().jobs.keys().copied().collect();
        let now = Utc::now();
        for id in ids {
            self.arm(id, now).await;
        }
    }
}
