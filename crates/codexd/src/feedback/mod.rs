//! Feedback collector: explicit ratings, implicit outcomes, approvals and corrections become
//! the preference profile.
//!
//! An actor owning the feedback state (a journaled snapshot of every signal, the current
//! rating of each run and the explicit settings). A rating is appended to the journal and
//! fsynced before it is acknowledged — one line, no rewrite of history. The derived
//! [`Profile`] is published on a `watch` channel as an `Arc` snapshot that any part reads
//! without asking. `user_preference_learning: false` freezes the profile; signals are still
//! stored (and never counted).

pub mod model;
#[cfg(test)]
mod simulated;
pub mod state;
mod typed;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use codex_proto::prefs::Profile;
use codex_proto::types::RunId;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error, warn};

use crate::bus::{ApprovalAnswered, Bus, Event, Rated};
use crate::config::Config;
use crate::context::project::Project;
use crate::episode::Episode;
use crate::store::journal::{Journaled, Recovery};
use crate::store::{Layout, StoreError};
use model::Params;
use state::{FeedbackOp, FeedbackState, Interner, Signal, SignalKind};

/// How often a changed profile is republished while signals stream in: publishing builds the
/// whole profile, so a burst of runs pays for it once per interval, not once per run.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// Why the feedback collector could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// Storage failed; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A setting that does not exist or a value it does not take.
    #[error("{0}")]
    BadSetting(String),
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

/// A setting after a change: its value in effect, where that comes from, and what was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    /// The value in effect.
    pub value: String,
    /// `set`, `learned` or `default`.
    pub source: String,
    /// What was set before.
    pub previous: Option<String>,
}

/// Which runs to forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgetRuns {
    /// These runs, and the signals of no run matching the goal pattern or under the project.
    Some {
        /// The runs.
        runs: Vec<RunId>,
        /// A `--goal` pattern.
        goal: Option<String>,
        /// A project root.
        project: Option<String>,
    },
    /// Every signal and rating.
    All,
}

/// Counts of what a forget or reset removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    /// Signals dropped.
    pub signals: u64,
    /// Ratings dropped.
    pub ratings: u64,
    /// Settings dropped.
    pub settings: u64,
}

enum Command {
    Rate {
        episode: Box<Episode>,
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
    Typed {
        typed: Vec<(crate::episode::Draft, DateTime<Utc>)>,
        reply: oneshot::Sender<Result<u64, FeedbackError>>,
    },
    Settled {
        reply: oneshot::Sender<()>,
    },
    Current {
        reply: oneshot::Sender<()>,
    },
    Profile {
        category: Option<String>,
        project: Option<String>,
        reply: oneshot::Sender<Profile>,
    },
    Setting {
        key: String,
        value: Option<String>,
        reply: oneshot::Sender<Result<SettingChange, FeedbackError>>,
    },
    Forget {
        runs: ForgetRuns,
        reply: oneshot::Sender<Result<Removed, FeedbackError>>,
    },
    Reset {
        all: bool,
        reply: oneshot::Sender<Result<Removed, FeedbackError>>,
    },
    Signals {
        reply: oneshot::Sender<Vec<Signal>>,
    },
    Configure {
        params: Params,
        reply: oneshot::Sender<()>,
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
            episode: Box::new(episode),
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

    /// Answers once every event published before the call has been taken in (events are
    /// taken before the inbox).
    pub async fn settled(&self) -> Result<(), FeedbackError> {
        self.ask(|reply| Command::Settled { reply }).await
    }

    /// Answers once every event published before the call has been taken in and the profile
    /// published on the watch channel reflects them (planning reads it right after a run).
    pub async fn current(&self) -> Result<(), FeedbackError> {
        self.ask(|reply| Command::Current { reply }).await
    }

    /// Commands typed in a shell in their project (imported history): each a signal for its
    /// plan there, on disk before the answer. Answers how many were recorded.
    pub async fn typed(
        &self,
        typed: Vec<(crate::episode::Draft, DateTime<Utc>)>,
    ) -> Result<u64, FeedbackError> {
        self.ask(|reply| Command::Typed { typed, reply }).await?
    }

    /// How many runs have a rating.
    pub async fn count(&self) -> Result<u64, FeedbackError> {
        self.ask(|reply| Command::Count { reply }).await
    }

    /// A fresh profile, limited to a category (normalized) and/or a project root.
    pub async fn profile_for(
        &self,
        category: Option<String>,
        project: Option<String>,
    ) -> Result<Profile, FeedbackError> {
        self.ask(|reply| Command::Profile {
            category,
            project,
            reply,
        })
        .await
    }

    /// Set (`Some`) or unset (`None`) an explicit setting; durable before it returns.
    pub async fn setting(
        &self,
        key: String,
        value: Option<String>,
    ) -> Result<SettingChange, FeedbackError> {
        self.ask(|reply| Command::Setting { key, value, reply })
            .await?
    }

    /// Drop the signals and ratings of these runs (or all) and fold the profile again.
    pub async fn forget(&self, runs: ForgetRuns) -> Result<Removed, FeedbackError> {
        self.ask(|reply| Command::Forget { runs, reply }).await?
    }

    /// Drop every learned signal (ratings stay in history); `all` drops settings too.
    pub async fn reset(&self, all: bool) -> Result<Removed, FeedbackError> {
        self.ask(|reply| Command::Reset { all, reply }).await?
    }

    /// A copy of every signal, in the order they came (what a personal model is trained on).
    pub async fn signals(&self) -> Result<Vec<Signal>, FeedbackError> {
        self.ask(|reply| Command::Signals { reply }).await
    }

    /// Learn with other parameters (a personal model promoted or rolled back): every signal
    /// is folded again with them, and the profile published.
    pub async fn configure(&self, params: Params) -> Result<(), FeedbackError> {
        self.ask(|reply| Command::Configure { params, reply }).await
    }

    /// A receiver of every profile published from now on (for parts that act on it).
    pub fn watch_profile(&self) -> watch::Receiver<Arc<Profile>> {
        self.profile.clone()
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
    let learning = config.user_preference_learning;
    let (mut state, _recovery) = Journaled::<FeedbackState>::open_rebuilding(
        layout.feedback.clone(),
        config.storage.compact_min_bytes.get(),
        |replayed, rec| rebuild(replayed, rec, &layout.dataset, learning),
    )?;
    state
        .state_mut()
        .configure(Params::from_config(&config.learning));
    state.defer_compaction();
    let first = build(state.state(), None, None, learning);
    let (publish, profile) = watch::channel(Arc::new(first));
    let (tx, rx) = mpsc::channel(256);
    let actor = Actor {
        names: Interner::default(),
        state,
        publish,
        bus: bus.clone(),
        learning,
        tracking: config.interaction_tracking_enabled,
        sync_every: Duration::from_secs(config.learning.flush_interval_secs.get()),
        dirty: false,
        refold: None,
        removals: 0,
    };
    let task = tokio::spawn(actor.run(rx, bus.subscribe()));
    Ok(Started {
        handle: FeedbackHandle { tx, profile },
        task,
    })
}

/// Put back what the dataset still holds after the snapshot was lost, and say in the log
/// what came back and what did not.
fn rebuild(
    replayed: &FeedbackState,
    rec: &Recovery,
    dataset: &std::path::Path,
    learn: bool,
) -> Option<FeedbackState> {
    let (state, got) = match state::rebuild_from_dataset(replayed, dataset, learn) {
        Ok(r) => r,
        Err(e) => {
            error!(
                "cannot rebuild the feedback state from the dataset: {e}; its ratings and \
                    outcomes are lost from the profile (the dataset still holds them)"
            );
            return None;
        }
    };
    let held = rec
        .snapshot_moved_to
        .as_deref()
        .and_then(state::ratings_mentioned);
    let total = state.ratings.len() as u64;
    let missing = held.map(|h| h.saturating_sub(total));
    warn!(
        ratings = got.ratings,
        outcomes = got.outcomes,
        unnamed = got.unnamed,
        ratings_in_damaged_file = held,
        "rebuilt the feedback state from the dataset: {} ratings ({} of runs with no example, \
         kept for history but not learned from) and {} run outcomes; lost: explicit settings \
         (`codex prefs set` them again), approval answers and plan picks, which only the \
         snapshot held{}",
        got.ratings,
        got.unnamed,
        got.outcomes,
        match missing {
            Some(m) if m > 0 => format!(
                ", and about {m} ratings the damaged file mentions that the dataset does not hold"
            ),
            _ => String::new(),
        }
    );
    Some(state)
}

fn build(
    state: &FeedbackState,
    category: Option<&str>,
    project: Option<&str>,
    learning: bool,
) -> Profile {
    state
        .model
        .profile(Utc::now(), &state.settings, category, project, learning)
}

/// The names a signal is filed under, borrowed from an episode or a draft.
struct Names<'a> {
    category: &'a str,
    plan: &'a str,
    tool: &'a str,
    program: &'a str,
    project: Option<&'a Project>,
}

impl<'a> Names<'a> {
    fn of_episode(e: &'a Episode) -> Self {
        Names {
            category: &e.category,
            plan: &e.plan,
            tool: &e.tool,
            program: &e.program,
            project: e.project.as_ref(),
        }
    }

    fn of_draft(d: &'a crate::episode::Draft) -> Self {
        Names {
            category: &d.category,
            plan: &d.plan,
            tool: &d.tool,
            program: &d.program,
            project: d.project.as_ref(),
        }
    }
}

struct Actor {
    names: Interner,
    state: Journaled<FeedbackState>,
    publish: watch::Sender<Arc<Profile>>,
    bus: Bus,
    learning: bool,
    tracking: bool,
    sync_every: Duration,
    dirty: bool,
    /// A fold with new parameters running on a blocking thread.
    refold: Option<Refold>,
    /// Forgets and resets so far: a fold started before one is stale.
    removals: u64,
}

/// A fold of every signal with new parameters (a personal model promoted), made off the
/// actor so ratings and runs are not held up by it; the signals that arrive meanwhile are
/// folded in when it lands.
struct Refold {
    done: oneshot::Receiver<model::Model>,
    params: Params,
    /// Signals it folded: the ones after are applied when it lands.
    from: usize,
    removals: u64,
    replies: Vec<oneshot::Sender<()>>,
}

impl Actor {
    async fn run(
        mut self,
        mut inbox: mpsc::Receiver<Command>,
        mut events: broadcast::Receiver<Event>,
    ) {
        let mut tick = tokio::time::interval(self.sync_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut publish = tokio::time::interval(PUBLISH_EVERY);
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Held outside `self` while waited on, so the other branches may use `self`.
            let mut refold = self.refold.take();
            tokio::select! {
                biased;
                folded = async {
                    match refold.as_mut() {
                        Some(r) => (&mut r.done).await.ok(),
                        None => std::future::pending().await,
                    }
                }, if refold.is_some() => {
                    if let Some(r) = refold.take() {
                        self.refolded(r, folded);
                    }
                }
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
                _ = publish.tick(), if self.dirty => self.publish_profile(),
                _ = tick.tick() => self.sync(),
            }
            if let Some(r) = refold {
                match self.refold.as_mut() {
                    // A newer fold replaced it: its callers are answered when that one lands.
                    Some(newer) => newer.replies.extend(r.replies),
                    None => self.refold = Some(r),
                }
            }
            // After the answer: the rating that crosses the threshold does not wait for the
            // state to be copied for the background snapshot.
            self.state.compact_if_due();
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
        if !self.tracking {
            return;
        }
        let signal = match ev {
            Event::RunFinished(ep) => self.outcome_signal(&ep),
            Event::ApprovalAnswered(a) => self.approval_signal(&a),
            Event::Picked(pk) => self.picked_signal(&pk),
            Event::Rated(_) => return, // our own, already applied
            Event::OccurrenceEnded(_) => return,
        };
        let run = signal.run_id;
        match self.state.append(FeedbackOp::Signal { signal }, false) {
            Ok(()) => self.dirty = true,
            Err(e) => error!(run = ?run, "cannot record signal: {e}"),
        }
    }

    /// A signal about a run named like `d`, with shared copies of its names.
    fn signal(
        &mut self,
        run_id: Option<RunId>,
        at: DateTime<Utc>,
        d: Names<'_>,
        kind: SignalKind,
    ) -> Signal {
        let project = d
            .project
            .map(|p| self.names.get(&p.root.display().to_string()));
        Signal {
            run_id,
            at,
            category: self.names.get(d.category),
            plan: self.names.get(d.plan),
            tool: self.names.get(d.tool),
            program: self.names.get(d.program),
            project,
            learn: self.learning,
            kind,
        }
    }

    fn outcome_signal(&mut self, ep: &Episode) -> Signal {
        let kind = SignalKind::Outcome {
            success: ep.outcome.success(),
            cancelled: matches!(ep.outcome, codex_proto::types::RunOutcome::Cancelled),
            dry_run: model::is_dry_run(&ep.argv, &ep.tool),
            verbosity: model::verbosity_of(&ep.argv),
            part: ep.part,
            named: ep.goal_named(),
            borrowed: ep
                .plan_source
                .as_ref()
                .is_some_and(|s| s.borrowed.is_some()),
            unstarted: model::could_not_start(&ep.outcome),
            first: ep.plan_source.as_ref().is_some_and(|s| s.pick == 1),
            from_model: ep.plan_source.as_ref().is_some_and(|s| s.from_model),
        };
        self.signal(Some(ep.run_id), ep.finished_at, Names::of_episode(ep), kind)
    }

    fn picked_signal(&mut self, pk: &crate::bus::Picked) -> Signal {
        let over = self.names.get(&pk.over);
        self.signal(
            None,
            pk.at,
            Names::of_draft(&pk.draft),
            SignalKind::Picked { over },
        )
    }

    fn approval_signal(&mut self, a: &ApprovalAnswered) -> Signal {
        let names = Names::of_draft(&a.draft);
        let kind = SignalKind::Approval {
            approved: a.approved,
            asked: a.asked,
        };
        self.signal(None, a.at, names, kind)
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Rate {
                episode,
                score,
                comment,
                reply,
            } => {
                let done = self.rate(*episode, score, comment);
                let stored = done.is_ok();
                let _ = reply.send(done);
                // After the acknowledgement, before anything else: parts that act on the
                // profile (the executor's unattended checks) see this rating at once.
                if stored {
                    self.publish_profile();
                }
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
            Command::Typed { typed, reply } => {
                let _ = reply.send(self.typed(typed));
            }
            Command::Settled { reply } => {
                let _ = reply.send(());
            }
            Command::Current { reply } => {
                if self.dirty {
                    self.publish_profile();
                }
                let _ = reply.send(());
            }
            Command::Profile {
                category,
                project,
                reply,
            } => {
                let _ = reply.send(build(
                    self.state.state(),
                    category.as_deref(),
                    project.as_deref(),
                    self.learning,
                ));
            }
            Command::Setting { key, value, reply } => {
                let _ = reply.send(self.set(key, value));
            }
            Command::Forget { runs, reply } => {
                let op = match runs {
                    ForgetRuns::Some {
                        runs,
                        goal,
                        project,
                    } => FeedbackOp::Forget {
                        runs,
                        goal,
                        project,
                    },
                    ForgetRuns::All => FeedbackOp::ForgetAll,
                };
                let _ = reply.send(self.remove(op));
            }
            Command::Reset { all, reply } => {
                let _ = reply.send(self.remove(FeedbackOp::Reset { all }));
            }
            Command::Signals { reply } => {
                let _ = reply.send(self.state.state().signals.clone());
            }
            Command::Configure { params, reply } => {
                let signals = self.state.state().signals.clone();
                let from = signals.len();
                let (tx, done) = oneshot::channel();
                tokio::task::spawn_blocking(move || {
                    let mut m = model::Model::new(params);
                    m.rebuild(&signals);
                    let _ = tx.send(m);
                });
                let mut replies = vec![reply];
                if let Some(old) = self.refold.take() {
                    replies.extend(old.replies);
                }
                self.refold = Some(Refold {
                    done,
                    params,
                    from,
                    removals: self.removals,
                    replies,
                });
            }
        }
    }

    /// A fold with new parameters landed: catch it up with what came meanwhile, or fold
    /// again here when a forget changed the signals under it.
    fn refolded(&mut self, r: Refold, folded: Option<model::Model>) {
        let state = self.state.state_mut();
        match folded {
            Some(mut m) if r.removals == self.removals && r.from <= state.signals.len() => {
                for s in &state.signals[r.from..] {
                    m.apply(s);
                }
                state.model = m;
            }
            _ => state.configure(r.params),
        }
        self.publish_profile();
        for reply in r.replies {
            let _ = reply.send(());
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
        let signal = self.signal(
            Some(episode.run_id),
            at,
            Names::of_episode(&episode),
            SignalKind::Rating { score },
        );
        let op = FeedbackOp::Rated {
            signal,
            comment: comment.clone(),
        };
        self.state.append(op, true)?;
        // Republished right after the acknowledgement is sent (see on_command).
        // Nobody listening is fine (e.g. during shutdown).
        let _ = self.bus.send(Event::Rated(Arc::new(Rated {
            run_id: episode.run_id,
            score,
            comment,
            at,
        })));
        Ok(RateOutcome { previous })
    }

    fn set(&mut self, key: String, value: Option<String>) -> Result<SettingChange, FeedbackError> {
        let Some(allowed) = model::allowed_values(&key) else {
            return Err(FeedbackError::BadSetting(format!(
                "unknown setting `{key}`: the settings are {} and {}",
                model::AUTONOMY,
                model::VERBOSITY
            )));
        };
        if let Some(v) = &value
            && !allowed.contains(&v.as_str())
        {
            return Err(FeedbackError::BadSetting(format!(
                "`{v}` is not a value of {key}: use one of {}",
                allowed.join(", ")
            )));
        }
        let previous = self.state.state().settings.get(&key).cloned();
        self.state.append(
            FeedbackOp::Setting {
                key: key.clone(),
                value,
            },
            true,
        )?;
        self.publish_profile();
        let style = build(self.state.state(), None, None, self.learning).style;
        let now = if key == model::AUTONOMY {
            style.autonomy_comfort
        } else {
            style.verbosity
        };
        Ok(SettingChange {
            value: now.value,
            source: now.source,
            previous,
        })
    }

    fn remove(&mut self, op: FeedbackOp) -> Result<Removed, FeedbackError> {
        self.removals += 1;
        let before = self.state.state();
        let (signals, ratings, settings) = (
            before.signals.len() as u64,
            before.ratings.len() as u64,
            before.settings.len() as u64,
        );
        self.state.append(op, true)?;
        // Deleting must not leave the old data readable in the journal: fold it away now.
        self.state.compact()?;
        self.publish_profile();
        let after = self.state.state();
        Ok(Removed {
            signals: signals - after.signals.len() as u64,
            ratings: ratings - after.ratings.len() as u64,
            settings: settings - after.settings.len() as u64,
        })
    }

    fn publish_profile(&mut self) {
        self.dirty = false;
        let profile = build(self.state.state(), None, None, self.learning);
        self.publish.send_replace(Arc::new(profile));
    }

    fn sync(&mut self) {
        if let Err(e) = self.state.sync() {
            error!("cannot sync feedback journal: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learning::dataset::{DatasetWriter, Record};
    use crate::store::jsonl::Appender;

    fn home() -> (tempfile::TempDir, Layout, Config) {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::default();
        let layout = Layout::new(dir.path(), &config.storage);
        layout.create_dirs().unwrap();
        (dir, layout, config)
    }

    fn rated_op(id: u64, score: u8) -> FeedbackOp {
        let e = Episode::sample(id, Some("check"));
        let mut names = Interner::default();
        FeedbackOp::Rated {
            signal: Signal {
                run_id: Some(e.run_id),
                at: e.finished_at,
                category: names.get(&e.category),
                plan: names.get(&e.plan),
                tool: names.get(&e.tool),
                program: names.get(&e.program),
                project: None,
                learn: true,
                kind: SignalKind::Rating { score },
            },
            comment: None,
        }
    }

    fn score(id: u64) -> u8 {
        (id % 5 + 1) as u8
    }

    #[tokio::test]
    async fn a_damaged_snapshot_gets_its_ratings_back_from_the_dataset() {
        let (_dir, layout, config) = home();
        // 15 rated runs: 10 folded into the snapshot, 5 still in the journal; the dataset
        // has every example and label.
        {
            let (mut j, _) =
                Journaled::<FeedbackState>::open(layout.feedback.clone(), 1 << 30).unwrap();
            for id in 1..=15 {
                j.append(rated_op(id, score(id)), true).unwrap();
                if id == 10 {
                    j.compact().unwrap();
                }
            }
        }
        let mut w = DatasetWriter::new(Appender::new(layout.dataset.clone()), 1 << 10);
        for id in 1..=15 {
            w.push(&Record::example(&Episode::sample(id, Some("check")), true))
                .unwrap();
            w.push(&Record::label(&Rated {
                run_id: RunId(id),
                score: score(id),
                comment: Some(format!("run {id}")),
                at: Utc::now(),
            }))
            .unwrap();
        }
        w.flush().unwrap();
        let bytes = std::fs::read(&layout.feedback).unwrap();
        std::fs::write(&layout.feedback, &bytes[..bytes.len() / 2]).unwrap();

        let bus = crate::bus::new();
        let f = start(&layout, &config, &bus).unwrap();
        assert_eq!(f.handle.count().await.unwrap(), 15);
        let ids: Vec<RunId> = (1..=15).map(RunId).collect();
        let got = f.handle.ratings_for(ids.clone()).await.unwrap();
        for id in 1..=15 {
            assert_eq!(got[&RunId(id)].score, score(id), "run {id}");
        }
        // The journal's rating is kept as it was (no comment), the rebuilt ones carry theirs.
        assert_eq!(got[&RunId(3)].comment.as_deref(), Some("run 3"));
        assert_eq!(got[&RunId(12)].comment, None);
        drop(f.handle);
        drop(bus);
        f.task.await.unwrap();
        // Durable: a second start finds them without rebuilding.
        let bus = crate::bus::new();
        let f = start(&layout, &config, &bus).unwrap();
        assert_eq!(f.handle.ratings_for(ids).await.unwrap().len(), 15);
    }

    #[tokio::test]
    async fn a_rating_whose_compaction_fails_is_acknowledged_and_published() {
        let (_dir, layout, mut config) = home();
        config.storage.compact_min_bytes = std::num::NonZeroU64::MIN;
        let bus = crate::bus::new();
        let mut events = bus.subscribe();
        let f = start(&layout, &config, &bus).unwrap();
        // A folder where the snapshot goes: every compaction fails.
        std::fs::create_dir(&layout.feedback).unwrap();
        for id in 1..=5 {
            let e = Episode::sample(id, Some("check"));
            f.handle.rate(e, score(id), None).await.unwrap();
            match events.recv().await.unwrap() {
                Event::Rated(r) => assert_eq!(r.run_id, RunId(id)),
                other => panic!("expected Rated, got {other:?}"),
            }
        }
        assert_eq!(f.handle.count().await.unwrap(), 5);
        drop(f.handle);
        drop(bus);
        f.task.await.unwrap();
        std::fs::remove_dir(&layout.feedback).unwrap();
        let bus = crate::bus::new();
        let f = start(&layout, &config, &bus).unwrap();
        assert_eq!(f.handle.count().await.unwrap(), 5);
    }
}
