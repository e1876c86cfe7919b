//! Learning pipeline: turns every finished run into an episode (episodic memory) and a
//! learning example (the dataset), and every rating into a label.
//!
//! An actor: it owns episodic memory and the dataset writer, takes facts from the bus and
//! questions through [`LearningHandle`]. Episodes are appended to the memory journal as they
//! come (one `write`, survives a process crash); dataset lines are flushed in batches (size,
//! interval, shutdown). `interaction_tracking_enabled: false` makes it record nothing.

pub mod dataset;
pub mod memory;

use std::time::Duration;

use codex_proto::types::RunId;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, error, warn};

use crate::bus::{Bus, Event};
use crate::config::Config;
use crate::episode::Episode;
use crate::store::journal::Journaled;
use crate::store::jsonl::{self, Appender};
use crate::store::{Layout, StoreError};
use dataset::{DatasetWriter, Record};
use memory::{EpisodicMemory, MemoryOp};

/// Why a question to the learning pipeline has no answer.
#[derive(Debug, thiserror::Error)]
pub enum LearningError {
    /// No run has been recorded yet.
    #[error("{}", if *.tracking {
        "no run recorded yet: run something with `codex run -- CMD` first"
    } else {
        "no run is recorded because interaction_tracking_enabled is false in the config"
    })]
    NoRuns {
        /// Whether tracking is on.
        tracking: bool,
    },
    /// No episode has this id.
    #[error("unknown run id {0}: see `codex history` for recorded runs")]
    UnknownRun(RunId),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The actor has stopped (daemon shutting down).
    #[error("the learning pipeline has stopped")]
    Gone,
}

/// Counts for `codex status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearningStats {
    /// Episodes in episodic memory.
    pub episodes: u64,
    /// Dataset records waiting for the next flush.
    pub pending_examples: u64,
}

enum Command {
    Resolve {
        run: Option<RunId>,
        reply: oneshot::Sender<Result<Episode, LearningError>>,
    },
    Recent {
        limit: usize,
        reply: oneshot::Sender<Vec<Episode>>,
    },
    Stats {
        reply: oneshot::Sender<LearningStats>,
    },
}

/// Cheap, cloneable access to the learning pipeline.
#[derive(Clone, Debug)]
pub struct LearningHandle {
    tx: mpsc::Sender<Command>,
}

impl LearningHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, LearningError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| LearningError::Gone)?;
        rx.await.map_err(|_| LearningError::Gone)
    }

    /// The episode of `run`, or of the last finished run when `None`; its journal entry is
    /// made durable first, so a rating stored afterwards never points at a lost run.
    pub async fn resolve(&self, run: Option<RunId>) -> Result<Episode, LearningError> {
        self.ask(|reply| Command::Resolve { run, reply }).await?
    }

    /// The newest `limit` episodes, newest first.
    pub async fn recent(&self, limit: usize) -> Result<Vec<Episode>, LearningError> {
        self.ask(|reply| Command::Recent { limit, reply }).await
    }

    /// Counts for status.
    pub async fn stats(&self) -> Result<LearningStats, LearningError> {
        self.ask(|reply| Command::Stats { reply }).await
    }
}

/// The running pipeline, as returned by [`start`].
#[derive(Debug)]
pub struct Started {
    /// Access for others.
    pub handle: LearningHandle,
    /// The actor task; it ends after its inbox and the bus have both closed.
    pub task: JoinHandle<()>,
    /// The first run id not yet used by a recorded run.
    pub next_run_id: u64,
}

/// Load episodic memory (recovering from crashes) and start the actor. Subscribes to the bus
/// before returning, so no event published afterwards is missed.
pub fn start(layout: &Layout, config: &Config, bus: &Bus) -> Result<Started, StoreError> {
    let (memory, _recovery) = Journaled::<EpisodicMemory>::open(
        layout.episodic.clone(),
        config.storage.compact_min_bytes.get(),
    )?;
    let cut = jsonl::repair_tail(&layout.dataset)?;
    if cut > 0 {
        warn!(file = %layout.dataset.display(), bytes = cut, "cut a torn last line left by a crash");
    }
    let dataset = DatasetWriter::new(
        Appender::new(layout.dataset.clone()),
        config.learning.batch_size.get() as usize,
    );
    let next_run_id = memory.state().next_run_id.max(1);
    let (tx, rx) = mpsc::channel(256);
    let actor = Actor {
        memory,
        dataset,
        tracking: config.interaction_tracking_enabled,
        flush_every: Duration::from_secs(config.learning.flush_interval_secs.get()),
    };
    let task = tokio::spawn(actor.run(rx, bus.subscribe()));
    Ok(Started {
        handle: LearningHandle { tx },
        task,
        next_run_id,
    })
}

struct Actor {
    memory: Journaled<EpisodicMemory>,
    dataset: DatasetWriter,
    tracking: bool,
    flush_every: Duration,
}

impl Actor {
    async fn run(
        mut self,
        mut inbox: mpsc::Receiver<Command>,
        mut bus: broadcast::Receiver<Event>,
    ) {
        let mut tick = tokio::time::interval(self.flush_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut inbox_open, mut bus_open) = (true, true);
        while inbox_open || bus_open {
            tokio::select! {
                biased;
                ev = bus.recv(), if bus_open => match ev {
                    Ok(ev) => self.on_event(ev),
                    Err(broadcast::error::RecvError::Closed) => bus_open = false,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        error!(missed = n, "learning pipeline fell behind the event bus; events lost");
                    }
                },
                cmd = inbox.recv(), if inbox_open => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => inbox_open = false,
                },
                _ = tick.tick() => self.flush(),
            }
        }
        self.flush();
        if self.memory.has_journal()
            && let Err(e) = self.memory.compact()
        {
            error!("cannot write episodic memory snapshot at shutdown: {e}");
        }
        debug!("learning pipeline stopped");
    }

    fn on_event(&mut self, ev: Event) {
        if !self.tracking {
            return;
        }
        let full = match ev {
            Event::RunFinished(ep) => {
                if let Err(e) = self.memory.append(
                    MemoryOp::Record {
                        episode: (*ep).clone(),
                    },
                    false,
                ) {
                    error!(run = %ep.run_id, "cannot record episode: {e}");
                    return;
                }
                self.dataset.push(&Record::example(&ep))
            }
            Event::Rated(r) => self.dataset.push(&Record::label(&r)),
        };
        match full {
            Ok(true) => self.flush(),
            Ok(false) => {}
            Err(e) => error!("cannot encode dataset record: {e}"),
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Resolve { run, reply } => {
                let _ = reply.send(self.resolve(run));
            }
            Command::Recent { limit, reply } => {
                let _ = reply.send(self.memory.state().recent(limit).cloned().collect());
            }
            Command::Stats { reply } => {
                let _ = reply.send(LearningStats {
                    episodes: self.memory.state().episodes.len() as u64,
                    pending_examples: self.dataset.pending() as u64,
                });
            }
        }
    }

    fn resolve(&mut self, run: Option<RunId>) -> Result<Episode, LearningError> {
        let state = self.memory.state();
        let id = match run.or(state.last_finished) {
            Some(id) => id,
            None => {
                return Err(LearningError::NoRuns {
                    tracking: self.tracking,
                });
            }
        };
        let episode = state
            .episodes
            .get(&id)
            .cloned()
            .ok_or(LearningError::UnknownRun(id))?;
        self.memory.sync()?;
        Ok(episode)
    }

    fn flush(&mut self) {
        match self.dataset.flush() {
            Ok(0) => {}
            Ok(n) => debug!(records = n, "flushed dataset batch"),
            Err(e) => error!("cannot flush dataset batch (kept for the next try): {e}"),
        }
        if let Err(e) = self.memory.sync() {
            error!("cannot sync episodic memory: {e}");
        }
    }
}
