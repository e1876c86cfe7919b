//! Feedback collector: explicit ratings and implicit outcomes become the preference profile.
//!
//! An actor owning the feedback state (a journaled snapshot). A rating is appended to the
//! journal and fsynced before it is acknowledged — one line, no rewrite of history. The
//! derived [`Profile`] is published on a `watch` channel as an `Arc` snapshot that any part
//! reads without asking. `user_preference_learning: false` freezes the profile; signals are
//! still stored.

pub mod profile;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use codex_proto::types::RunId;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error};

use crate::bus::{Bus, Event, Rated};
use crate::config::Config;
use crate::episode::Episode;
use crate::store::journal::Journaled;
use crate::store::{Layout, StoreError};
use profile::{FeedbackOp, FeedbackState, Profile};

/// Why the feedback collector could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// Storage failed; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The actor has stopped (daemon shutting down).
    #[error("the feedback collector has stopped")]
    Gone,
}

/// What a rating replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateOutcome {
    /// The earlier score of the same run, if any.
    pub previous: Option<u8>,
}

/// A rating as shown in history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingView {
    /// 1..5.
    pub score: u8,
    /// The comment.
    pub comment: Option<String>,
}

enum Command {
    Rate {
        episode: Episode,
        score: u8,
        comment: Option<String>,
        reply: oneshot::Sender<Result<RateOutcome, FeedbackError>>,
    },
    RatingsFor {
        ids: Vec<RunId>,
        reply: oneshot::Sender<HashMap<RunId, RatingView>>,
    },
    Count {
        reply: oneshot::Sender<u64>,
    },
}

/// Cheap, cloneable access to the feedback collector.
#[derive(Clone, Debug)]
pub struct FeedbackHandle {
    tx: mpsc::Sender<Command>,
    profile: watch::Receiver<Arc<Profile>>,
}

impl FeedbackHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, FeedbackError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| FeedbackError::Gone)?;
        rx.await.map_err(|_| FeedbackError::Gone)
    }

    /// Store a rating durably, then update and publish the profile.
    pub async fn rate(
        &self,
        episode: Episode,
        score: u8,
        comment: Option<String>,
    ) -> Result<RateOutcome, FeedbackError> {
        self.ask(|reply| Command::Rate {
            episode,
            score,
            comment,
            reply,
        })
        .await?
    }

    /// The current ratings of these runs.
    pub async fn ratings_for(
        &self,
        ids: Vec<RunId>,
    ) -> Result<HashMap<RunId, RatingView>, FeedbackError> {
        self.ask(|reply| Command::RatingsFor { ids, reply }).await
    }

    /// How many runs have a rating.
    pub async fn count(&self) -> Result<u64, FeedbackError> {
        self.ask(|reply| Command::Count { reply }).await
    }

    /// The latest published profile (lock-free read).
    pub fn profile(&self) -> Arc<Profile> {
        self.profile.borrow().clone()
    }
}

/// The running collector, as returned by [`start`].
#[derive(Debug)]
pub struct Started {
    /// Access for others.
    pub handle: FeedbackHandle,
    /// The actor task; it ends once its inbox has closed and the bus is drained.
    pub task: JoinHandle<()>,
}

/// Load the feedback state (recovering from crashes) and start the actor.
pub fn start(layout: &Layout, config: &Config, bus: &Bus) -> Result<Started, StoreError> {
    let (state, _recovery) = Journaled::<FeedbackState>::open(
        layout.feedback.clone(),
        config.storage.compact_min_bytes.get(),
    )?;
    let smoothing = config.learning.satisfaction_smoothing.get();
    let learning = config.user_preference_learning;
    let (publish, profile) =
        watch::channel(Arc::new(Profile::build(state.state(), smoothing, learning)));
    let (tx, rx) = mpsc::channel(256);
    let actor = Actor {
        state,
        publish,
        bus: bus.clone(),
        smoothing,
        learning,
        tracking: config.interaction_tracking_enabled,
        sync_every: Duration::from_secs(config.learning.flush_interval_secs.get()),
    };
    let task = tokio::spawn(actor.run(rx, bus.subscribe()));
    Ok(Started {
        handle: FeedbackHandle { tx, profile },
        task,
    })
}

struct Actor {
    state: Journaled<FeedbackState>,
    publish: watch::Sender<Arc<Profile>>,
    bus: Bus,
    smoothing: f64,
    learning: bool,
    tracking: bool,
    sync_every: Duration,
}

impl Actor {
    async fn run(
        mut self,
        mut inbox: mpsc::Receiver<Command>,
        mut events: broadcast::Receiver<Event>,
    ) {
        let mut tick = tokio::time::interval(self.sync_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                ev = events.recv() => match ev {
                    Ok(ev) => self.on_event(ev),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        error!(missed = n, "feedback collector fell behind the event bus; events lost");
                    }
                    // Never happens while we hold a sender ourselves.
                    Err(broadcast::error::RecvError::Closed) => {}
                },
                cmd = inbox.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => break,
                },
                _ = tick.tick() => self.sync(),
            }
        }
        // Inbox closed: the server and executor are gone, so every event that will ever come
        // is already buffered. Take them in, then flush.
        while let Ok(ev) = events.try_recv() {
            self.on_event(ev);
        }
        self.sync();
        if self.state.has_journal()
            && let Err(e) = self.state.compact()
        {
            error!("cannot write feedback snapshot at shutdown: {e}");
        }
        debug!("feedback collector stopped");
    }

    fn on_event(&mut self, ev: Event) {
        let Event::RunFinished(ep) = ev else { return };
        if !self.tracking {
            return;
        }
        let op = FeedbackOp::Outcome {
            run_id: ep.run_id,
            program: ep.program.clone(),
            success: ep.outcome.success(),
            at: ep.finished_at,
            learn: self.learning,
        };
        match self.state.append(op, false) {
            Ok(()) => self.publish_profile(),
            Err(e) => error!(run = %ep.run_id, "cannot record outcome: {e}"),
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Rate {
                episode,
                score,
                comment,
                reply,
            } => {
                let _ = reply.send(self.rate(episode, score, comment));
            }
            Command::RatingsFor { ids, reply } => {
                let ratings = &self.state.state().ratings;
                let found = ids
                    .into_iter()
                    .filter_map(|id| {
                        ratings.get(&id).map(|r| {
                            (
                                id,
                                RatingView {
                                    score: r.score,
                                    comment: r.comment.clone(),
                                },
                            )
                        })
                    })
                    .collect();
                let _ = reply.send(found);
            }
            Command::Count { reply } => {
                let _ = reply.send(self.state.state().ratings.len() as u64);
            }
        }
    }

    fn rate(
        &mut self,
        episode: Episode,
        score: u8,
        comment: Option<String>,
    ) -> Result<RateOutcome, FeedbackError> {
        let previous = self
            .state
            .state()
            .ratings
            .get(&episode.run_id)
            .map(|r| r.score);
        let at = Utc::now();
        let op = FeedbackOp::Rated {
            run_id: episode.run_id,
            program: episode.program,
            score,
            comment: comment.clone(),
            at,
            learn: self.learning,
        };
        self.state.append(op, true)?;
        self.publish_profile();
        // Nobody listening is fine (e.g. during shutdown).
        let _ = self.bus.send(Event::Rated(Arc::new(Rated {
            run_id: episode.run_id,
            score,
            comment,
            at,
        })));
        Ok(RateOutcome { previous })
    }

    fn publish_profile(&mut self) {
        let profile = Profile::build(self.state.state(), self.smoothing, self.learning);
        self.publish.send_replace(Arc::new(profile));
    }

    fn sync(&mut self) {
        if let Err(e) = self.state.sync() {
            error!("cannot sync feedback journal: {e}");
        }
    }
}
