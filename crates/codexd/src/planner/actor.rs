//! The planner as an actor: it owns the playbooks and plans against the latest profile
//! snapshot (read from the feedback collector's watch channel, never asked for).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use codex_proto::methods::PlanResult;
use codex_proto::prefs::Profile;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::llm::{self, ModelPlanner};
use super::playbooks::{Playbook, PlaybookBook, PlaybookOp};
use super::registry::Registry;
use super::remote::Remote;
use crate::config::{Config, Exploration};
use crate::context::profile::ProjectProfile;
use crate::context::project;
use crate::learning::LearningHandle;
use crate::store::journal::Journaled;
use crate::store::{Layout, StoreError};
use codex_proto::model_planner::{ModelStats, PlanPromptResult};
use std::time::{Duration, Instant};

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
    ForgetProjects {
        under: Option<PathBuf>,
        reply: oneshot::Sender<()>,
    },
    Plan {
        goal: String,
        cwd: PathBuf,
        path: Option<String>,
        terminal: bool,
        ask_model: bool,
        reply: oneshot::Sender<PlanResult>,
    },
    Playbooks {
        change: Option<PlaybookOp>,
        reply: oneshot::Sender<Result<Vec<Playbook>, PlannerError>>,
    },
    Explore {
        exploration: Exploration,
        reply: oneshot::Sender<()>,
    },
    Prompt {
        goal: String,
        cwd: PathBuf,
        path: Option<String>,
        terminal: bool,
        reply: oneshot::Sender<PlanPromptResult>,
    },
}

/// Cheap, cloneable access to the planner.
#[derive(Clone, Debug)]
pub struct PlannerHandle {
    tx: mpsc::Sender<Command>,
    /// The language-model planner, when configured (its record is read without the actor).
    model: Option<ModelPlanner>,
}

impl PlannerHandle {
    /// Plans for `goal` in `cwd`, with programs looked up on `path` (the daemon's PATH when
    /// `None`); `terminal`: the client is on one; `ask_model`: the language model may be
    /// asked (a person asked for this plan, not a suggestion made on its own).
    pub async fn plan(
        &self,
        goal: String,
        cwd: PathBuf,
        path: Option<String>,
        terminal: bool,
        ask_model: bool,
    ) -> Result<PlanResult, PlannerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Plan {
                goal,
                cwd,
                path,
                terminal,
                ask_model,
                reply,
            })
            .await
            .map_err(|_| PlannerError::Gone)?;
        rx.await.map_err(|_| PlannerError::Gone)
    }

    /// Exactly what the model would be sent for `goal` in `cwd`, and whether it would be
    /// asked. Sends nothing.
    pub async fn prompt(
        &self,
        goal: String,
        cwd: PathBuf,
        path: Option<String>,
        terminal: bool,
    ) -> Result<PlanPromptResult, PlannerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Prompt {
                goal,
                cwd,
                path,
                terminal,
                reply,
            })
            .await
            .map_err(|_| PlannerError::Gone)?;
        rx.await.map_err(|_| PlannerError::Gone)
    }

    /// Forget the model's plans kept for reuse (the user forgot runs).
    pub fn forget_model_plans(&self) {
        if let Some(m) = &self.model {
            m.forget_recent();
        }
    }

    /// The model planner's record, when one is configured.
    pub fn model_stats(&self) -> Option<ModelStats> {
        self.model.as_ref().map(ModelPlanner::stats)
    }

    /// The longest a plan may take beyond an ordinary answer (the model's longest ask).
    pub fn model_wait(&self) -> Option<Duration> {
        self.model.as_ref().map(ModelPlanner::longest)
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

    /// Drop the project profiles kept for projects under `under` (all when `None`).
    pub async fn forget_projects(&self, under: Option<PathBuf>) -> Result<(), PlannerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::ForgetProjects { under, reply })
            .await
            .map_err(|_| PlannerError::Gone)?;
        rx.await.map_err(|_| PlannerError::Gone)
    }

    /// Rank with this exploration from now on (a personal model promoted or rolled back).
    pub async fn set_exploration(&self, exploration: Exploration) -> Result<(), PlannerError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Explore { exploration, reply })
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
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(PlannerHandle, JoinHandle<()>), PlannerError> {
    let (book, _) = Journaled::<PlaybookBook>::open(
        layout.playbooks.clone(),
        config.storage.compact_min_bytes.get(),
    )?;
    let registry = Arc::new(Registry::new(&config.planner.tools)?);
    let model = ModelPlanner::new(&config.planner.llm, &layout.model_planner);
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
        learning,
        projects: HashMap::new(),
        remote: config.planner.embeddings.endpoint.as_ref().map(|url| {
            let e = &config.planner.embeddings;
            let key = e.api_key_env.as_ref().and_then(|v| std::env::var(v).ok());
            Remote::new(
                url,
                &e.model,
                key,
                Duration::from_millis(e.timeout_ms.get()),
            )
        }),
        vectors: HashMap::new(),
        remote_down: None,
        model: model.clone(),
        llm: config.planner.llm.clone(),
        shutdown,
    };
    Ok((PlannerHandle { tx, model }, tokio::spawn(actor.run(rx))))
}

struct Actor {
    book: Journaled<PlaybookBook>,
    registry: Arc<Registry>,
    /// Goal embeddings, computed once per goal text.
    embeddings: std::sync::Mutex<std::collections::HashMap<String, Vec<f32>>>,
    profile: watch::Receiver<Arc<Profile>>,
    personalized: bool,
    context_aware: bool,
    exploration: Exploration,
    dry_run_habit: f64,
    /// Where project profiles are kept (semantic knowledge).
    learning: LearningHandle,
    /// Project profiles by root, as last read.
    projects: HashMap<String, ProjectProfile>,
    /// The embedding endpoint, when configured.
    remote: Option<Remote>,
    /// Its embeddings, by text.
    vectors: HashMap<String, Vec<f32>>,
    /// When it last failed, and why: it is not asked again for [`RETRY_REMOTE`].
    remote_down: Option<(Instant, String)>,
    /// The language model asked for plans, when configured.
    model: Option<ModelPlanner>,
    /// `planner.llm`, for `plan/prompt` when the model is off.
    llm: crate::config::LlmConfig,
    /// codexd is stopping: a plan waiting on the model is answered without it.
    shutdown: tokio_util::sync::CancellationToken,
}

/// Endpoint embeddings kept, at most.
const REMOTE_CACHE: usize = 50_000;

/// How long planning uses the local embeddings after the endpoint failed.
const RETRY_REMOTE: Duration = Duration::from_secs(60);

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
                Command::ForgetProjects { under, reply } => {
                    self.projects.retain(|root, _| {
                        under
                            .as_ref()
                            .is_some_and(|dir| !Path::new(root).starts_with(dir))
                    });
                    let _ = reply.send(());
                }
                Command::Plan {
                    goal,
                    cwd,
                    path,
                    terminal,
                    ask_model,
                    reply,
                } => {
                    let (local, known, path, profile) =
                        self.plan_locally(&goal, &cwd, path, terminal).await;
                    let mut local = local;
                    let job = ask_model
                        .then(|| {
                            self.model_job(&goal, &cwd, &path, &profile, known.as_ref(), &local)
                        })
                        .flatten();
                    match job {
                        Some(job) => match job.model.reused(&goal, &cwd) {
                            Some((steps, mut ask)) => {
                                if let Err(why) =
                                    llm::merge(&mut local, steps, &profile, self.personalized)
                                {
                                    ask.ok = false;
                                    ask.note = why;
                                }
                                local.model = Some(ask);
                                let _ = reply.send(local);
                            }
                            None => job.answer(local, profile, self.personalized, reply),
                        },
                        None => {
                            let _ = reply.send(local);
                        }
                    }
                }
                Command::Prompt {
                    goal,
                    cwd,
                    path,
                    terminal,
                    reply,
                } => {
                    let (local, known, _, profile) =
                        self.plan_locally(&goal, &cwd, path, terminal).await;
                    let _ = reply.send(self.prompt(&goal, &cwd, &profile, known.as_ref(), &local));
                }
                Command::Playbooks { change, reply } => {
                    let _ = reply.send(self.change(change));
                }
                Command::Explore { exploration, reply } => {
                    self.exploration = exploration;
                    let _ = reply.send(());
                }
            }
        }
        if self.book.has_journal()
            && let Err(e) = self.book.compact()
        {
            tracing::error!("cannot write the playbooks snapshot at shutdown: {e}");
        }
    }

    /// The local planner's answer for `goal` in `cwd`, with the project profile, PATH and
    /// profile snapshot it used.
    async fn plan_locally(
        &mut self,
        goal: &str,
        cwd: &Path,
        path: Option<String>,
        terminal: bool,
    ) -> (PlanResult, Option<ProjectProfile>, String, Arc<Profile>) {
        let known = self.project(cwd).await;
        let path = path
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_default();
        let profile = self.profile.borrow().clone();
        let (use_remote, embeddings) = self.fetch_embeddings(goal, &profile).await;
        let result = super::plan(
            goal,
            cwd,
            &profile,
            &super::Options {
                personalized: self.personalized,
                context_aware: self.context_aware,
                playbooks: self.book.state(),
                registry: &self.registry,
                exploration: self.exploration,
                dry_run_habit: self.dry_run_habit,
                seed: 0,
                cache: Some(&self.embeddings),
                known: known.as_ref(),
                remote: use_remote.then_some(&self.vectors),
                embeddings: &embeddings,
                path: &path,
                terminal,
            },
        );
        (result, known, path, profile)
    }

    /// The request body the model would get for `goal` here, with `model` named.
    fn body(
        &self,
        goal: &str,
        cwd: &Path,
        profile: &Profile,
        known: Option<&ProjectProfile>,
    ) -> serde_json::Value {
        let project = known.map(|k| project::Project {
            root: PathBuf::from(&k.root),
            kind: k.kind.clone(),
        });
        // Every script of a package.json, not only those a task maps: the model may know
        // what `npm run storybook` is for (and a script's name is data, never an order).
        let mut offered = known.map(|k| k.commands.clone()).unwrap_or_default();
        let scripts = known
            .and_then(|k| crate::context::commands::package_scripts(Path::new(&k.root)))
            .unwrap_or_default();
        for name in scripts {
            if !offered.iter().any(|o| o.argv.last() == Some(&name)) {
                offered.push(crate::context::commands::Offered {
                    task: "script".into(),
                    argv: vec!["npm".into(), "run".into(), name.clone()],
                    source: format!("package.json script \"{name}\""),
                    dry_run: None,
                });
            }
        }
        let facts = llm::prompt::Facts {
            goal,
            project: project.as_ref(),
            offered: &offered,
            cwd,
            registry: &self.registry,
            profile,
            max_steps: self.llm.max_steps.get(),
        };
        match &self.model {
            Some(m) => m.body(&facts),
            None => llm::prompt::body(&facts, &self.llm.model, self.llm.structured_output, None),
        }
    }

    /// The ask to make for this plan, when the model is to be asked.
    fn model_job(
        &self,
        goal: &str,
        cwd: &Path,
        path: &str,
        profile: &Profile,
        known: Option<&ProjectProfile>,
        local: &PlanResult,
    ) -> Option<llm::job::ModelJob> {
        let model = self.model.as_ref()?;
        let root = local.project.as_deref();
        if let Some(why) =
            llm::why_not_ask(model.mode(), local, goal, root, profile, self.book.state())
        {
            tracing::debug!(goal, "the model is not asked: {why}");
            return None;
        }
        Some(llm::job::ModelJob {
            shutdown: self.shutdown.clone(),
            model: model.clone(),
            registry: self.registry.clone(),
            body: self.body(goal, cwd, profile, known),
            place: llm::Place {
                cwd: cwd.to_path_buf(),
                root: local.project.as_ref().map(PathBuf::from),
                path: path.to_string(),
                goal: goal.to_string(),
            },
        })
    }

    /// `plan/prompt`: the body, where it would go, and whether it would be sent now.
    fn prompt(
        &self,
        goal: &str,
        cwd: &Path,
        profile: &Profile,
        known: Option<&ProjectProfile>,
        local: &PlanResult,
    ) -> PlanPromptResult {
        let mode = self
            .model
            .as_ref()
            .map_or(crate::config::LlmMode::Off, ModelPlanner::mode);
        let would_ask = match llm::why_not_ask(
            mode,
            local,
            goal,
            local.project.as_deref(),
            profile,
            self.book.state(),
        ) {
            Some(why) => format!("planning it now would not ask the model: {why}"),
            None => "planning it now would ask the model".into(),
        };
        let (url, api_key_env) = match &self.model {
            Some(m) => {
                let (url, env) = m.describe();
                (Some(url), env)
            }
            None => (
                self.llm
                    .base_url
                    .as_ref()
                    .map(|b| format!("{}/chat/completions", b.trim_end_matches('/'))),
                self.llm.api_key_env.clone(),
            ),
        };
        PlanPromptResult {
            mode: format!("{:?}", self.llm.mode).to_lowercase(),
            url,
            api_key_env,
            body: self.body(goal, cwd, profile, known),
            would_ask,
        }
    }

    /// With an endpoint configured, make sure it has embedded every text this plan compares
    /// (the goal, the goals learned, the playbook phrases). Answers whether to use them, and
    /// where the embeddings come from in words; any failure means local embeddings for now.
    async fn fetch_embeddings(&mut self, goal: &str, profile: &Profile) -> (bool, String) {
        let Some(remote) = &self.remote else {
            return (false, "local".into());
        };
        if let Some((at, why)) = &self.remote_down {
            if at.elapsed() < RETRY_REMOTE {
                return (false, format!("local ({why}; asked again within a minute)"));
            }
            self.remote_down = None;
        }
        let goal = crate::learning::normalize::normalize_goal(goal);
        let mut wanted: Vec<String> = std::iter::once(goal.as_str())
            .chain(profile.categories.iter().map(|c| c.category.as_str()))
            .chain(
                self.book
                    .state()
                    .playbooks
                    .iter()
                    .map(|p| p.phrase.as_str()),
            )
            .map(String::from)
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut missing: Vec<String> = wanted
            .iter()
            .filter(|t| !self.vectors.contains_key(*t))
            .cloned()
            .collect();
        if !missing.is_empty() {
            // Bounded like the local cache: past it, start over with what this plan needs.
            if self.vectors.len() + missing.len() > REMOTE_CACHE {
                self.vectors.clear();
                missing = wanted.clone();
            }
            let client = remote.clone();
            let asked = missing.clone();
            let got = tokio::task::spawn_blocking(move || client.embed(&asked)).await;
            let why = match got {
                Ok(Ok(vs)) => {
                    let dim = self.vectors.values().next().map(Vec::len);
                    if dim.is_some_and(|d| vs.first().is_some_and(|v| v.len() != d)) {
                        // The model changed under us: start over with its vectors only.
                        self.vectors.clear();
                    }
                    self.vectors.extend(missing.into_iter().zip(vs));
                    if wanted.iter().any(|t| !self.vectors.contains_key(t)) {
                        return (
                            false,
                            "local (the endpoint's vectors changed length: the other goals are \
                             embedded again on the next plan)"
                                .into(),
                        );
                    }
                    None
                }
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(format!("embedding request failed: {e}")),
            };
            if let Some(why) = why {
                tracing::warn!("{why}; planning with local embeddings for a minute");
                let shown = format!("local ({why}; asked again within a minute)");
                self.remote_down = Some((Instant::now(), why));
                return (false, shown);
            }
        }
        (true, remote.describe())
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
        // Awaited, so a profile is never written after a forget that came later.
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
                    // A playbook is stored to be run as taught, so a secret in it cannot be
                    // redacted away: it is refused, and nothing is written.
                    let phrase_secret =
                        crate::learning::redact::redact(&playbook.phrase) != playbook.phrase;
                    let step_secret = playbook
                        .steps
                        .iter()
                        .any(|s| crate::learning::redact::redact_argv(s) != *s);
                    if phrase_secret || step_secret {
                        return Err(PlannerError::Invalid(
                            "this playbook holds a secret (a token, key or password), and \
                             playbooks are stored as taught: keep the secret out of it, in an \
                             environment variable the step reads (`--token \"$DEPLOY_TOKEN\"` \
                             through `sh -c`, or the tool's own variable) or a file only you can \
                             read, and teach that"
                                .into(),
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
            let removes = matches!(op, PlaybookOp::Remove { .. });
            self.book.append(op, true)?;
            if removes {
                // What was taught must not stay readable in the journal.
                self.book.compact()?;
            }
        }
        Ok(self.book.state().playbooks.clone())
    }
}
