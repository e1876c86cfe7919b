//! Commands typed in a shell, in their project (imported history): each is a signal of the
//! user's habit there, journaled like any signal so forgetting and folding again treat it
//! the same.

use chrono::{DateTime, Utc};
use tracing::error;

use super::state::{FeedbackOp, SignalKind};
use super::{Actor, FeedbackError, Names};
use crate::episode::Draft;

impl Actor {
    /// Journal one `Typed` signal per command, durable before the answer; how many were
    /// recorded (none while interaction tracking is off).
    pub(super) fn typed(
        &mut self,
        typed: Vec<(Draft, DateTime<Utc>)>,
    ) -> Result<u64, FeedbackError> {
        if !self.tracking || typed.is_empty() {
            return Ok(0);
        }
        let mut n = 0;
        for (draft, at) in &typed {
            let signal = self.signal(None, *at, Names::of_draft(draft), SignalKind::Typed);
            if let Err(e) = self.state.append(FeedbackOp::Signal { signal }, false) {
                error!("cannot record typed commands: {e}");
                // What is on disk counts; the rest is said as not taught.
                break;
            }
            n += 1;
        }
        self.state.sync()?;
        if n > 0 {
            self.dirty = true;
            self.publish_profile();
        }
        Ok(n)
    }
}
