//! The planner as an actor: it owns the playbooks and plans against the latest profile
//! snapshot (read from the feedback collector's watch channel, never asked for).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use codex_proto::methods::PlanResult;
use codex_proto::prefs::Profile;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::playbooks::{Playbook, PlaybookBook, PlaybookOp};
use super::registry::Registry;
use crate::config::{Config, Exploration};
use crate::context::profile::ProjectProfile;
use crate::context::project;
use crate::learning::LearningHandle;
use crate::store::journal::Journaled;
use crate::store::{Layout, StoreError};

/// Why the planner could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum PlannerError {
    /// Bad input, worded for the user.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tool registry is not usable (`planner.tools`).
    #[error("planner.tools: {0}")]
    Registry(#[from] super::registry::RegistryError),
    /// The actor has stopped.
    #[error("the planner has stopped")]
    Gone,
}

enum Command {
    Project {
        cwd: PathBuf,
        reply: oneshot::Sender<Option<ProjectProfile>>,
    },
    Plan {
        goal: String,
        cwd: PathBuf,
        reply: oneshot::Sender<PlanResult>,
    },
    Playbooks {
        change: Option<PlaybookOp>,
        reply: oneshot::Sender<Result<Vec<Playbook>, PlannerError>>,
    },
}

/// Cheap, cloneable access to the planner.
#[derive(Clone, Debug)]
pub struct PlannerHandle {
    tx: mpsc::Sender<Command>,
}

impl PlannerHandle {
    /// Plans for `goal` in `cwd`.
    pub async fn plan(&self, goal: String, cwd: PathBuf) -> Result<PlanResult, PlannerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Plan { goal, cwd, reply })
            .await
            .map_err(|_| PlannerError::Gone)?;
        rx.await.map_err(|_| PlannerError::Gone)
    }

    /// The profile of the project around `cwd` (none when context awareness is off).
    pub async fn project(&self, cwd: PathBuf) -> Result<Option<ProjectProfile>, PlannerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Project { cwd, reply })
            .await
            .map_err(|_| PlannerError::Gone)?;
        rx.await.map_err(|_| PlannerError::Gone)
    }

    /// Teach or remove a playbook when `change` is given; answers with every playbook.
    pub async fn playbooks(
        &self,
        change: Option<PlaybookOp>,
    ) -> Result<Vec<Playbook>, PlannerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Playbooks { change, reply })
            .await
            .map_err(|_| PlannerError::Gone)?;
        rx.await.map_err(|_| PlannerError::Gone)?
    }
}

/// Load the playbooks and start the planner.
pub fn start(
    layout: &Layout,
    config: &Config,
    profile: watch::Receiver<Arc<Profile>>,
    learning: LearningHandle,
) -> Result<(PlannerHandle, JoinHandle<()>), PlannerError> {
    let (book, _) = Journaled::<PlaybookBook>::open(
        layout.playbooks.clone(),
        config.storage.compact_min_bytes.get(),
    )?;
    let registry = Registry::new(&config.planner.tools)?;
    let (tx, rx) = mpsc::channel(64);
    let actor = Actor {
        book,
        registry,
        embeddings: Default::default(),
        profile,
        personalized: config.personalized_planning_enabled,
        context_aware: config.context_awareness_enabled,
        exploration: config.planner.exploration,
        dry_run_habit: config.planner.dry_run_habit.get(),
        draws: 0,
        learning,
        projects: HashMap::new(),
    };
    Ok((PlannerHandle { tx }, tokio::spawn(actor.run(rx))))
}

struct Actor {
    book: Journaled<PlaybookBook>,
    registry: Registry,
    /// Goal embeddings, computed once per goal text.
    embeddings: std::sync::Mutex<std::collections::HashMap<String, Vec<f32>>>,
    profile: watch::Receiver<Arc<Profile>>,
    personalized: bool,
    context_aware: bool,
    exploration: Exploration,
    dry_run_habit: f64,
    /// Plans made so far: with the clock, the seed of each plan's posterior draws.
    draws: u64,
    /// Where project profiles are kept (semantic knowledge).
    learning: LearningHandle,
    /// Project profiles by root, as last read.
    projects: HashMap<String, ProjectProfile>,
}

impl Actor {
    async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        match self.learning.project_profiles().await {
            Ok(kept) => self
                .projects
                .extend(kept.into_iter().map(|p| (p.root.clone(), p))),
            Err(e) => tracing::warn!("project profiles not loaded, they will be read again: {e}"),
        }
        while let Some(cmd) = inbox.recv().await {
            match cmd {
                Command::Project { cwd, reply } => {
                    let _ = reply.send(self.project(&cwd).await);
                }
                Command::Plan { goal, cwd, reply } => {
                    let known = self.project(&cwd).await;
                    let profile = self.profile.borrow().clone();
                    self.draws += 1;
                    let seed = self.draws
                        ^ u64::try_from(
                            std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_nanos()),
                        )
                        .unwrap_or(0);
                    let _ = reply.send(super::plan(
                        &goal,
                        &cwd,
                        &profile,
                        &super::Options {
                            personalized: self.personalized,
                            context_aware: self.context_aware,
                            playbooks: self.book.state(),
                            registry: &self.registry,
                            exploration: self.exploration,
                            dry_run_habit: self.dry_run_habit,
                            seed,
                            cache: Some(&self.embeddings),
                            known: known.as_ref(),
                        },
                    ));
                }
                Command::Playbooks { change, reply } => {
                    let _ = reply.send(self.change(change));
                }
            }
        }
        if self.book.has_journal()
            && let Err(e) = self.book.compact()
        {
            tracing::error!("cannot write the playbooks snapshot at shutdown: {e}");
        }
    }

    /// The profile of the project around `cwd`: kept while its files are unchanged, read
    /// again (and kept in semantic knowledge) when they change.
    async fn project(&mut self, cwd: &Path) -> Option<ProjectProfile> {
        if !self.context_aware {
            return None;
        }
        let found = project::detect(cwd)?;
        let root = found.root.display().to_string();
        if let Some(p) = self.projects.get(&root)
            && p.is_fresh()
        {
            return Some(p.clone());
        }
        let read = ProjectProfile::read(&found);
        tracing::debug!(root = %root, "project profile read from its files");
        if let Err(e) = self.learning.remember_profile(read.clone()).await {
            tracing::warn!(root = %root, "cannot keep the project profile: {e}");
        }
        self.projects.insert(root, read.clone());
        Some(read)
    }

    fn change(&mut self, change: Option<PlaybookOp>) -> Result<Vec<Playbook>, PlannerError> {
        if let Some(op) = change {
            match &op {
                PlaybookOp::Teach { playbook } => {
                    if playbook.phrase.is_empty() {
                        return Err(PlannerError::Invalid("the phrase is empty".into()));
                    }
                    if playbook.steps.is_empty() || playbook.steps.iter().any(|s| s.is_empty()) {
                        return Err(PlannerError::Invalid(
                            "a playbook needs at least one step, and no step may be empty".into(),
                        ));
                    }
                }
                PlaybookOp::Remove { phrase } => {
                    if !self
                        .book
                        .state()
                        .playbooks
                        .iter()
                        .any(|p| &p.phrase == phrase)
                    {
                        return Err(PlannerError::Invalid(format!(
                            "no playbook for \"{phrase}\" (see `codex playbooks`)"
                        )));
                    }
                }
            }
            self.book.append(op, true)?;
        }
        Ok(self.book.state().playbooks.clone())
    }
}
