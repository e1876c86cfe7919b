//! Learning pipeline: turns every finished run into an episode (episodic memory), a learning
//! example (the dataset) and workflow patterns (knowledge); every rating into a label; old
//! episodes into consolidated knowledge; imported and captured shell history into patterns.
//!
//! An actor: it owns episodic memory, knowledge and the dataset writer, takes facts from the
//! bus and questions through [`LearningHandle`]. Episodes and knowledge changes are appended
//! to journals as they come (one `write` each, survives a process crash); dataset lines are
//! flushed in batches (size, interval, shutdown). `interaction_tracking_enabled: false`
//! makes it record nothing; `workflow_pattern_tracking: false` skips only the patterns.

pub mod capture;
pub mod dataset;
pub mod export;
pub mod import;
pub mod knowledge;
pub mod memory;
pub mod normalize;
pub mod query;
mod recover;
pub mod redact;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_proto::methods::ImportEntry;
use codex_proto::prefs::ProjectPatterns;
use codex_proto::types::{RunId, RunPart};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::bus::{Bus, Event};
use crate::config::Config;
use crate::context::profile::ProjectProfile;
use crate::episode::Episode;
use crate::store::journal::Journaled;
use crate::store::jsonl::Appender;
use crate::store::{Layout, StoreError};
use dataset::{DatasetWriter, Record};
use knowledge::{Knowledge, KnowledgeOp, Summary};
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
    /// A `--goal` pattern that is not a valid glob, or one (or a `--project`) that matches
    /// every run.
    #[error("bad goal pattern `{pattern}`: {reason}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// A run finished but its episode could not be written (disk full, read-only storage).
    #[error(
        "run {run} ran but could not be saved ({reason}): it is not in the history and cannot \
         be rated; free space or fix the storage under CODEX_HOME (`codex doctor` checks it)"
    )]
    NotSaved {
        /// The run.
        run: RunId,
        /// The storage error.
        reason: String,
    },
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

/// Which runs `codex forget` deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// One run.
    Run(RunId),
    /// Runs (and imported lines) whose goal matches a glob, case-insensitive.
    Goal(String),
    /// Runs in this folder or below.
    Project(PathBuf),
    /// Everything.
    All,
}

/// What a forget matched (and, unless a dry run, deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    /// The runs.
    pub runs: Vec<RunId>,
    /// Dataset lines removed.
    pub dataset_lines: u64,
}

/// What an import recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Interactions recorded.
    pub imported: u64,
    /// Entries skipped (empty).
    pub skipped: u64,
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
    Query {
        filter: query::RunFilter,
        limit: usize,
        reply: oneshot::Sender<Vec<Episode>>,
    },
    Lookup {
        run: Option<RunId>,
        reply: oneshot::Sender<Option<Episode>>,
    },
    Stats {
        reply: oneshot::Sender<LearningStats>,
    },
    StartedBy {
        root: Option<String>,
        reply: oneshot::Sender<codex_proto::methods::StartedBy>,
    },
    Settled {
        reply: oneshot::Sender<()>,
    },
    Saved {
        run: RunId,
        reply: oneshot::Sender<Result<(), LearningError>>,
    },
    Patterns {
        root: Option<String>,
        reply: oneshot::Sender<Vec<ProjectPatterns>>,
    },
    Profiles {
        reply: oneshot::Sender<Vec<ProjectProfile>>,
    },
    RememberProfile {
        profile: Box<ProjectProfile>,
        reply: oneshot::Sender<Result<(), LearningError>>,
    },
    Forget {
        selector: Selector,
        dry_run: bool,
        reply: oneshot::Sender<Result<Forgotten, LearningError>>,
    },
    Import {
        source: String,
        entries: Vec<ImportEntry>,
        mark: Option<codex_proto::methods::ImportMark>,
        reply: oneshot::Sender<Result<Imported, LearningError>>,
    },
    Mark {
        file: String,
        reply: oneshot::Sender<Vec<String>>,
    },
    Capture {
        captured: Box<capture::Captured>,
        reply: oneshot::Sender<Result<bool, LearningError>>,
    },
    Readable {
        reply: oneshot::Sender<Result<PathBuf, LearningError>>,
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

    /// The newest `limit` episodes that `filter` lets through, newest first.
    pub async fn query(
        &self,
        filter: query::RunFilter,
        limit: usize,
    ) -> Result<Vec<Episode>, LearningError> {
        self.ask(|reply| Command::Query {
            filter,
            limit,
            reply,
        })
        .await
    }

    /// The episode of `run` (of the last finished run when `None`), if memory holds it.
    pub async fn episode(&self, run: Option<RunId>) -> Result<Option<Episode>, LearningError> {
        self.ask(|reply| Command::Lookup { run, reply }).await
    }

    /// Counts for status.
    pub async fn stats(&self) -> Result<LearningStats, LearningError> {
        self.ask(|reply| Command::Stats { reply }).await
    }

    /// Runs in episodic memory (in the project at `root`, when given) by who started them.
    pub async fn started_by(
        &self,
        root: Option<String>,
    ) -> Result<codex_proto::methods::StartedBy, LearningError> {
        self.ask(|reply| Command::StartedBy { root, reply }).await
    }

    /// Answers once every event published before the call has been taken in (the actor
    /// drains the bus before its inbox), so a run answered after this is in the journal.
    pub async fn settled(&self) -> Result<(), LearningError> {
        self.ask(|reply| Command::Settled { reply }).await
    }

    /// Once the events published so far are handled: whether run `run`'s episode is in
    /// episodic memory's journal (`NotSaved` with the reason when writing it failed).
    pub async fn saved(&self, run: RunId) -> Result<(), LearningError> {
        self.ask(|reply| Command::Saved { run, reply }).await?
    }

    /// Workflow patterns, of one project root when given.
    pub async fn patterns(
        &self,
        root: Option<String>,
    ) -> Result<Vec<ProjectPatterns>, LearningError> {
        self.ask(|reply| Command::Patterns { root, reply }).await
    }

    /// The project profiles kept in semantic knowledge.
    pub async fn project_profiles(&self) -> Result<Vec<ProjectProfile>, LearningError> {
        self.ask(|reply| Command::Profiles { reply }).await
    }

    /// Keep a project profile just read in semantic knowledge.
    pub async fn remember_profile(&self, profile: ProjectProfile) -> Result<(), LearningError> {
        self.ask(|reply| Command::RememberProfile {
            profile: Box::new(profile),
            reply,
        })
        .await?
    }

    /// Delete the selected runs from memory, dataset and knowledge (or only count them).
    pub async fn forget(
        &self,
        selector: Selector,
        dry_run: bool,
    ) -> Result<Forgotten, LearningError> {
        self.ask(|reply| Command::Forget {
            selector,
            dry_run,
            reply,
        })
        .await?
    }

    /// Record imported interactions; `mark` says how far the file's import got once they
    /// are in, and is kept only after them.
    pub async fn import(
        &self,
        source: String,
        entries: Vec<ImportEntry>,
        mark: Option<codex_proto::methods::ImportMark>,
    ) -> Result<Imported, LearningError> {
        self.ask(|reply| Command::Import {
            source,
            entries,
            mark,
            reply,
        })
        .await?
    }

    /// Record a command the shell hook captured (filtered and redacted); false when tracking
    /// is off or it was empty.
    pub async fn capture(&self, captured: capture::Captured) -> Result<bool, LearningError> {
        self.ask(|reply| Command::Capture {
            captured: Box::new(captured),
            reply,
        })
        .await?
    }

    /// How far the last import of `file` got: fingerprints of its last entries imported.
    pub async fn import_mark(&self, file: String) -> Result<Vec<String>, LearningError> {
        self.ask(|reply| Command::Mark { file, reply }).await
    }

    /// The dataset file, with every queued record written to it. Appends only add whole
    /// lines after this and a rewrite (`forget`) replaces the file atomically, so a reader
    /// that opens it now sees a consistent dataset without holding up the pipeline.
    pub async fn readable_dataset(&self) -> Result<PathBuf, LearningError> {
        self.ask(|reply| Command::Readable { reply }).await?
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

/// Load episodic memory and knowledge (recovering from crashes) and start the actor.
/// Subscribes to the bus before returning, so no event published afterwards is missed.
pub fn start(layout: &Layout, config: &Config, bus: &Bus) -> Result<Started, StoreError> {
    // The dataset's own check on open (its torn tail cut, damage set aside) is the writer's;
    // a rebuild of episodic memory reads it before, skipping what does not parse.
    let (memory, knowledge) = recover::open_stores(layout, config)?;
    let cap = config.learning.episodic_memory_cap.get() as usize;
    let dataset = DatasetWriter::new(
        Appender::new(layout.dataset.clone()),
        config.learning.batch_size.get() as usize,
    );
    let next_run_id = memory.state().next_run_id.max(1);
    let (tx, rx) = mpsc::channel(256);
    let actor = Actor {
        memory,
        knowledge,
        dataset,
        tracking: config.interaction_tracking_enabled,
        patterns: config.workflow_pattern_tracking,
        cap,
        flush_every: Duration::from_secs(config.learning.flush_interval_secs.get()),
        latest: None,
        unsaved: BTreeMap::new(),
        imports: import::ImportMarks::open(import::marks_path(&layout.dataset)),
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
    knowledge: Journaled<Knowledge>,
    dataset: DatasetWriter,
    tracking: bool,
    patterns: bool,
    cap: usize,
    flush_every: Duration,
    /// The newest run that finished, saved or not: `rate` with no id means this one.
    latest: Option<RunId>,
    /// Runs whose episode could not be written, with why (the newest few).
    unsaved: BTreeMap<RunId, String>,
    /// How far each history file's import got.
    imports: import::ImportMarks,
}

/// How many unsaved runs are remembered (for `saved` and `rate`), newest kept.
const UNSAVED_KEPT: usize = 256;

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
        for (name, result) in [
            ("episodic memory", compact_if_needed(&mut self.memory)),
            ("knowledge", compact_if_needed(&mut self.knowledge)),
        ] {
            if let Err(e) = result {
                error!("cannot write {name} snapshot at shutdown: {e}");
            }
        }
        debug!("learning pipeline stopped");
    }

    fn on_event(&mut self, ev: Event) {
        if !self.tracking {
            return;
        }
        let full = match ev {
            Event::RunFinished(ep) => {
                self.latest = self.latest.max(Some(ep.run_id));
                if let Err(e) = self.record(&ep) {
                    error!(run = %ep.run_id, "cannot record episode: {e}");
                    self.unsaved.insert(ep.run_id, e.to_string());
                    while self.unsaved.len() > UNSAVED_KEPT {
                        self.unsaved.pop_first();
                    }
                    return;
                }
                match ep.part {
                    // In history, but no example: "run the tests" is not `make -n test`.
                    RunPart::PlannedDryRun => Ok(false),
                    // One goal per plan in the patterns, from its first step.
                    RunPart::Continues => self.dataset.push(&Record::example(&ep, false)),
                    RunPart::Whole => self.dataset.push(&Record::example(&ep, self.patterns)),
                }
            }
            Event::Rated(r) => {
                let op = MemoryOp::Rate {
                    run_id: r.run_id,
                    score: r.score,
                    comment: r.comment.clone(),
                };
                if let Err(e) = self.memory.append(op, false) {
                    error!(run = %r.run_id, "cannot record rating in episodic memory: {e}");
                }
                // A rating is acknowledged only after this: write it through at once (ratings
                // are typed by hand, so this costs nothing a person would notice).
                let pushed = self.dataset.push(&Record::label(&r));
                if let Err(e) = self.dataset.flush().and_then(|_| self.dataset.sync()) {
                    error!(run = %r.run_id, "cannot write the rating's label: {e}");
                }
                pushed.map(|_| false)
            }
            Event::ApprovalAnswered(_) | Event::Picked(_) | Event::OccurrenceEnded(_) => return,
        };
        match full {
            Ok(true) => self.flush_batch(),
            Ok(false) => {}
            Err(e) => error!("cannot encode dataset record: {e}"),
        }
    }

    fn record(&mut self, ep: &Episode) -> Result<(), StoreError> {
        self.memory.append(
            MemoryOp::Record {
                episode: Box::new(ep.clone()),
            },
            false,
        )?;
        if self.patterns && ep.part == RunPart::Whole {
            let (project, kind) = knowledge::project_key(ep.project.as_ref());
            self.knowledge.append(
                KnowledgeOp::Observe {
                    project,
                    kind,
                    goal: ep.goal_normalized.clone(),
                    at: Some(ep.finished_at),
                },
                false,
            )?;
        }
        self.consolidate()
    }

    /// Move the oldest episodes beyond the cap into knowledge. Knowledge is made durable
    /// first: a crash in between leaves them in both, and start-up finishes the eviction.
    fn consolidate(&mut self) -> Result<(), StoreError> {
        let old = self.memory.state().over_cap(self.cap);
        if old.is_empty() {
            return Ok(());
        }
        let runs: Vec<RunId> = old.iter().map(|e| e.run_id).collect();
        // A planned dry run leaves no trace in knowledge (nor in the dataset it is rebuilt from).
        let summaries: Vec<Summary> = old
            .iter()
            .filter(|e| e.part != RunPart::PlannedDryRun)
            .map(|e| Summary::of(e))
            .collect();
        debug!(
            episodes = runs.len(),
            "consolidating old episodes into knowledge"
        );
        self.knowledge
            .append(KnowledgeOp::Consolidate { summaries }, true)?;
        self.memory.append(MemoryOp::Evict { runs }, false)
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Resolve { run, reply } => {
                let _ = reply.send(self.resolve(run));
            }
            Command::Recent { limit, reply } => {
                let _ = reply.send(self.memory.state().recent(limit).cloned().collect());
            }
            Command::Query {
                filter,
                limit,
                reply,
            } => {
                let runs = self.memory.state().episodes.values().rev();
                let _ = reply.send(
                    runs.filter(|e| filter.matches(e))
                        .take(limit)
                        .cloned()
                        .collect(),
                );
            }
            Command::Lookup { run, reply } => {
                let state = self.memory.state();
                let id = run.or(state.last_finished);
                let _ = reply.send(id.and_then(|id| state.episodes.get(&id).cloned()));
            }
            Command::StartedBy { root, reply } => {
                let mut by = codex_proto::methods::StartedBy::default();
                let mut jobs = std::collections::BTreeSet::new();
                for e in self.memory.state().episodes.values() {
                    let here = root.as_deref().is_none_or(|r| {
                        e.project_root()
                            .is_some_and(|p| p == std::path::Path::new(r))
                    });
                    if !here || e.part != codex_proto::types::RunPart::Whole {
                        continue;
                    }
                    match e.trigger {
                        crate::episode::Trigger::User => by.user += 1,
                        crate::episode::Trigger::Schedule => by.schedule += 1,
                        crate::episode::Trigger::Suggestion => by.suggestion += 1,
                    }
                    jobs.extend(e.job);
                }
                by.jobs = jobs.into_iter().collect();
                let _ = reply.send(by);
            }
            Command::Stats { reply } => {
                let _ = reply.send(LearningStats {
                    episodes: self.memory.state().episodes.len() as u64,
                    pending_examples: self.dataset.pending() as u64,
                });
            }
            Command::Settled { reply } => {
                let _ = reply.send(());
            }
            Command::Saved { run, reply } => {
                let _ = reply.send(self.saved(run));
            }
            Command::Patterns { root, reply } => {
                let _ = reply.send(self.knowledge.state().patterns(root.as_deref()));
            }
            Command::Profiles { reply } => {
                let _ = reply.send(self.knowledge.state().profiles.values().cloned().collect());
            }
            Command::RememberProfile { profile, reply } => {
                let op = KnowledgeOp::Profile { profile: *profile };
                let _ = reply.send(self.knowledge.append(op, false).map_err(Into::into));
            }
            Command::Forget {
                selector,
                dry_run,
                reply,
            } => {
                let _ = reply.send(self.forget(&selector, dry_run));
            }
            Command::Import {
                source,
                entries,
                mark,
                reply,
            } => {
                let _ = reply.send(self.import(&source, entries, mark));
            }
            Command::Mark { file, reply } => {
                let _ = reply.send(self.imports.get(&file));
            }
            Command::Capture { captured, reply } => {
                let _ = reply.send(self.capture(*captured));
            }
            Command::Readable { reply } => {
                let done = self
                    .dataset
                    .flush()
                    .map(|_| self.dataset.path().to_path_buf())
                    .map_err(LearningError::from);
                let _ = reply.send(done);
            }
        }
    }

    fn saved(&mut self, run: RunId) -> Result<(), LearningError> {
        if let Some(reason) = self.unsaved.get(&run) {
            return Err(LearningError::NotSaved {
                run,
                reason: reason.clone(),
            });
        }
        Ok(())
    }

    fn resolve(&mut self, run: Option<RunId>) -> Result<Episode, LearningError> {
        // The run the user just saw, even when it could not be saved: never an older one.
        self.saved(run.or(self.latest).unwrap_or(RunId(0)))?;
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

    fn forget(&mut self, selector: &Selector, dry_run: bool) -> Result<Forgotten, LearningError> {
        if let Selector::Project(dir) = selector
            && dir.parent().is_none()
        {
            return Err(LearningError::BadPattern {
                pattern: dir.display().to_string(),
                reason: "it is the root folder and matches every run; to forget everything say \
                         `--all` instead"
                    .into(),
            });
        }
        self.dataset.flush()?;
        let goal = match selector {
            Selector::Goal(p) => Some(normalize::GoalPattern::new(p).map_err(|reason| {
                LearningError::BadPattern {
                    pattern: p.clone(),
                    reason,
                }
            })?),
            _ => None,
        };
        let goal_hit =
            |g: &str, n: &str| goal.as_ref().is_some_and(|m| m.matches(g) || m.matches(n));
        let mut runs: HashSet<RunId> = self
            .memory
            .state()
            .episodes
            .values()
            .filter(|e| match selector {
                Selector::Run(id) => e.run_id == *id,
                Selector::Goal(_) => goal_hit(&e.goal, &e.goal_normalized),
                Selector::Project(dir) => {
                    e.cwd.starts_with(dir)
                        || e.project.as_ref().is_some_and(|p| p.root.starts_with(dir))
                }
                Selector::All => true,
            })
            .map(|e| e.run_id)
            .collect();
        let path = self.dataset.path().to_path_buf();
        let bad = dataset::for_each(&path, |_, r| {
            if let Some(Record::Example(e)) = r {
                let hit = match selector {
                    Selector::Run(id) => e.run_id == *id,
                    Selector::Goal(_) => goal_hit(&e.goal, &e.goal_normalized),
                    Selector::Project(dir) => export::under(e, dir),
                    Selector::All => true,
                };
                if hit {
                    runs.insert(e.run_id);
                }
            }
            Ok(())
        })?;
        if bad > 0 {
            warn!(
                lines = bad,
                "dataset lines that do not parse are kept as they are"
            );
        }
        if let Selector::Run(id) = selector
            && runs.is_empty()
        {
            return Err(LearningError::UnknownRun(*id));
        }
        let drops = |r: &Record| match r {
            Record::Interaction {
                goal: g,
                goal_normalized: n,
                cwd,
                project,
                ..
            } => match selector {
                Selector::All => true,
                Selector::Goal(_) => goal_hit(g, n),
                Selector::Project(dir) => {
                    cwd.as_ref().is_some_and(|c| c.starts_with(dir))
                        || project.as_ref().is_some_and(|p| p.root.starts_with(dir))
                }
                Selector::Run(_) => false,
            },
            other => other.run_id().is_some_and(|id| runs.contains(&id)),
        };
        let mut ids: Vec<RunId> = runs.iter().copied().collect();
        ids.sort();
        if dry_run {
            let mut dataset_lines = 0;
            dataset::for_each(&path, |_, r| {
                dataset_lines += u64::from(r.is_some_and(drops));
                Ok(())
            })?;
            return Ok(Forgotten {
                runs: ids,
                dataset_lines,
            });
        }
        let in_memory: HashSet<RunId> = self
            .memory
            .state()
            .episodes
            .keys()
            .filter(|id| !runs.contains(id))
            .copied()
            .collect();
        let mut rebuilt = knowledge::Rebuild::new(&in_memory);
        let dataset_lines = self.dataset.retain(|r| {
            if drops(r) {
                false
            } else {
                rebuilt.push(r);
                true
            }
        })?;
        let mut rebuilt = rebuilt.finish();
        // Profiles are read from the projects' files, not learned from runs: they stay, except
        // those of projects being forgotten.
        rebuilt.profiles = self
            .knowledge
            .state()
            .profiles
            .iter()
            .filter(|(root, _)| match selector {
                Selector::All => false,
                Selector::Project(dir) => !Path::new(root.as_str()).starts_with(dir),
                Selector::Run(_) | Selector::Goal(_) => true,
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if matches!(selector, Selector::All) {
            // Everything imported is gone: every history file may be imported again.
            self.imports.clear()?;
        }
        self.memory
            .append(MemoryOp::Forget { runs: ids.clone() }, false)?;
        // Compact at once: the forgotten episodes must not stay readable in the journal.
        self.memory.compact()?;
        self.knowledge.replace(rebuilt)?;
        info!(runs = ids.len(), dataset_lines, "forgot runs as asked");
        Ok(Forgotten {
            runs: ids,
            dataset_lines,
        })
    }

    /// A full batch: one `write`, no fsync (that waits for the interval tick).
    fn flush_batch(&mut self) {
        if let Err(e) = self.dataset.flush() {
            error!("cannot flush dataset batch (kept for the next try): {e}");
        }
    }

    /// The interval tick and shutdown: write what is queued and fsync every file.
    fn flush(&mut self) {
        match self.dataset.flush() {
            Ok(0) => {}
            Ok(n) => debug!(records = n, "flushed dataset batch"),
            Err(e) => error!("cannot flush dataset batch (kept for the next try): {e}"),
        }
        for (name, result) in [
            ("dataset", self.dataset.sync()),
            ("episodic memory", self.memory.sync()),
            ("knowledge", self.knowledge.sync()),
        ] {
            if let Err(e) = result {
                error!("cannot sync {name}: {e}");
            }
        }
    }
}

fn compact_if_needed<S: crate::store::journal::State>(
    j: &mut Journaled<S>,
) -> Result<(), StoreError> {
    if j.has_journal() { j.compact() } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(id: u64) -> Episode {
        Episode::sample(id, Some("check"))
    }

    #[tokio::test]
    async fn an_eviction_cut_short_by_a_crash_is_finished_on_start_not_counted_twice() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::default();
        let layout = Layout::new(dir.path(), &config.storage);
        layout.create_dirs().unwrap();
        {
            let (mut memory, _) =
                Journaled::<EpisodicMemory>::open(layout.episodic.clone(), 1 << 20).unwrap();
            let (mut knowledge, _) =
                Journaled::<Knowledge>::open(layout.semantic.clone(), 1 << 20).unwrap();
            for id in 1..=3 {
                memory
                    .append(
                        MemoryOp::Record {
                            episode: Box::new(episode(id)),
                        },
                        false,
                    )
                    .unwrap();
            }
            // Consolidated, then the crash: the evict line never made it.
            let summaries = (1..=2).map(|id| Summary::of(&episode(id))).collect();
            knowledge
                .append(KnowledgeOp::Consolidate { summaries }, true)
                .unwrap();
        }
        let bus = crate::bus::new();
        let started = start(&layout, &config, &bus).unwrap();
        let stats = started.handle.stats().await.unwrap();
        assert_eq!(
            stats.episodes, 1,
            "the two consolidated episodes are evicted on start"
        );
        assert_eq!(started.next_run_id, 4, "run ids are not reused");
        drop((started.handle, bus));
        started.task.await.unwrap();
        let (knowledge, _) =
            Journaled::<Knowledge>::open(layout.semantic.clone(), 1 << 20).unwrap();
        assert_eq!(knowledge.state().categories["check"].runs, 2);
    }
}
