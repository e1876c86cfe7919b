//! Starting and stopping the whole daemon, in the order that keeps data safe.
//!
//! Start: CODEX_HOME → instance lock → storage folders → learning and feedback (which load
//! and repair their files) → executor → planner → scheduler (which finishes occurrences a
//! crash cut short and catches up missed ones) → socket → server. Stop (SIGTERM, SIGINT or
//! SIGHUP or `daemon/stop` cancel one token): the server stops accepting and finishes its
//! connections (their runs are cancelled and recorded) → the scheduler cancels its running
//! occurrences and records how they ended → the executor ends once its last run (detached
//! ones too) is on the bus → feedback drains the bus and flushes → learning drains the bus
//! and flushes → the socket file is removed → the lock is released on exit. The order is
//! carried by ownership: the scheduler and the server hold executor handles, so the executor
//! outlives them; the executor holds feedback's and learning's handles, so their inboxes stay
//! open until its last run has published.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::config::Loaded;
use crate::server::socket::{self, SocketError};
use crate::server::{self, Ctx, DaemonInfo};
use crate::store::lock::{InstanceLock, LockError};
use crate::store::{Layout, StoreError};
use crate::{bus, executor, feedback, learning};

/// Where the daemon lives and what it was configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// CODEX_HOME.
    pub home: PathBuf,
    /// The socket to listen on.
    pub socket: PathBuf,
    /// The configuration and its source.
    pub config: Loaded,
    /// The `codexd` binary whose sandbox helper starts the steps; `None`: this process's
    /// own. A program embedding the daemon (a benchmark) names the real one, since its own
    /// binary does not answer `__sandbox`.
    pub binary: Option<PathBuf>,
}

/// Why the daemon did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// CODEX_HOME could not be created.
    #[error("cannot create CODEX_HOME {path}: {source}")]
    Home {
        /// The folder.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// Another daemon runs for this CODEX_HOME, or the lock file is unusable.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Storage could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The socket could not be set up.
    #[error(transparent)]
    Socket(#[from] SocketError),
    /// The daemon cannot find its own binary, which starts every step.
    #[error("codexd cannot find its own binary (/proc/self/exe), which starts every step")]
    OwnBinary,
    /// The planner could not start (its playbooks or tool registry).
    #[error(transparent)]
    Planner(#[from] crate::planner::actor::PlannerError),
}

/// A running daemon.
#[derive(Debug)]
pub struct Daemon {
    shutdown: CancellationToken,
    socket: PathBuf,
    server: JoinHandle<()>,
    executor: JoinHandle<()>,
    planner: JoinHandle<()>,
    scheduler: JoinHandle<()>,
    optimizer: JoinHandle<()>,
    feedback: JoinHandle<()>,
    learning: JoinHandle<()>,
    _lock: InstanceLock,
}

impl Daemon {
    /// Start every part and begin serving the socket.
    pub async fn start(settings: Settings) -> Result<Daemon, StartError> {
        let Settings {
            home,
            socket: socket_path,
            config: loaded,
            binary,
        } = settings;
        crate::store::private_dir(&home).map_err(|source| StartError::Home {
            path: home.clone(),
            source,
        })?;
        let lock = InstanceLock::acquire(&home)?;
        let config = &loaded.config;
        let layout = Layout::new(&home, &config.storage);
        layout.create_dirs()?;
        remove_stale_temp_files(&home.join("storage"));

        // The live personal model's parameters replace the config's before any part starts.
        let models = crate::optimizer::models::Models::open(
            &layout.models,
            crate::optimizer::models::config_hash(config),
        );
        let live = models.learned(&crate::optimizer::train::Learned::from_config(config));
        let effective = crate::optimizer::training::effective_config(config, &live);
        let config = &effective;
        let bus = bus::new();
        let learning = learning::start(&layout, config, &bus)?;
        let feedback = feedback::start(&layout, config, &bus)?;
        let (executor, executor_task) = executor::start(
            config,
            &layout,
            &bus,
            learning.next_run_id,
            feedback.handle.watch_profile(),
            binary
                .or_else(executor::sandbox::own_binary)
                .ok_or(StartError::OwnBinary)?,
            executor::Listeners {
                feedback: feedback.handle.clone(),
                learning: learning.handle.clone(),
            },
        )?;
        let shutdown = CancellationToken::new();
        let (planner, planner_task) = crate::planner::actor::start(
            &layout,
            config,
            feedback.handle.watch_profile(),
            learning.handle.clone(),
            shutdown.clone(),
        )?;
        let (optimizer_store, autonomy) = crate::optimizer::open(&layout, config)?;
        let scheduler = crate::scheduler::start(
            &layout,
            config,
            &bus,
            crate::scheduler::Inputs {
                executor: executor.clone(),
                profile: feedback.handle.watch_profile(),
                autonomy,
                pattern_params: live.patterns_params(),
            },
            shutdown.clone(),
        )
        .await?;
        let optimizer = crate::optimizer::start(
            optimizer_store,
            models,
            &layout,
            &loaded.config,
            &bus,
            crate::optimizer::Parts {
                scheduler: scheduler.handle.clone(),
                feedback: feedback.handle.clone(),
                planner: planner.clone(),
            },
            shutdown.clone(),
        );
        drop(bus); // the actors hold what they need; the bus closes when they are done

        socket::prepare(&socket_path)?;
        let listener = socket::bind(&socket_path)?;
        let ctx = Arc::new(Ctx {
            info: DaemonInfo {
                pid: std::process::id(),
                started_at: Utc::now(),
                started: Instant::now(),
                home: home.clone(),
                socket: socket_path.clone(),
                config: loaded.path.clone(),
                tracking: config.interaction_tracking_enabled,
                context_aware: config.context_awareness_enabled,
            },
            learning: learning.handle,
            feedback: feedback.handle,
            executor,
            planner,
            scheduler: scheduler.handle,
            optimizer: optimizer.handle,
            shutdown: shutdown.clone(),
            max_message_bytes: config.server.max_message_bytes.bytes(),
            shown: Default::default(),
            suggested: Default::default(),
            capture: crate::capture::Capture::open(
                &home,
                &config.capture,
                config.interaction_tracking_enabled,
            ),
        });
        let server = tokio::spawn(server::serve(
            listener,
            ctx,
            config.server.max_connections.get() as usize,
        ));
        info!(
            pid = std::process::id(),
            home = %home.display(),
            socket = %socket_path.display(),
            config = %loaded.path.as_ref().map_or("built-in".into(), |p| p.display().to_string()),
            "codexd ready"
        );
        Ok(Daemon {
            shutdown,
            socket: socket_path,
            server,
            executor: executor_task,
            planner: planner_task,
            scheduler: scheduler.task,
            optimizer: optimizer.task,
            feedback: feedback.task,
            learning: learning.task,
            _lock: lock,
        })
    }

    /// Cancel this token to stop the daemon gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The socket the daemon listens on.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Wait until shutdown is requested, then stop every part in order (see the module docs).
    pub async fn run_until_stopped(self) {
        self.shutdown.cancelled().await;
        info!("shutting down");
        for (name, task) in [
            ("server", self.server),
            ("scheduler", self.scheduler),
            ("optimizer", self.optimizer),
            ("executor", self.executor),
            ("planner", self.planner),
            ("feedback collector", self.feedback),
            ("learning pipeline", self.learning),
        ] {
            if let Err(e) = task.await {
                error!("{name} task failed: {e}");
            }
        }
        if let Err(e) = std::fs::remove_file(&self.socket)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            error!(socket = %self.socket.display(), "cannot remove socket: {e}");
        }
        info!("stopped");
    }
}

/// Temp files of atomic writes a crash interrupted (`.tmp-*`, never renamed into place):
/// with the lock held nobody else is writing, so they are only litter.
fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            remove_stale_temp_files(&path);
        } else if kind.is_file() && entry.file_name().to_string_lossy().starts_with(".tmp-") {
            match std::fs::remove_file(&path) {
                Ok(()) => info!(file = %path.display(), "removed a temp file a crash left"),
                Err(e) => {
                    error!(file = %path.display(), "cannot remove a temp file a crash left: {e}")
                }
            }
        }
    }
}
