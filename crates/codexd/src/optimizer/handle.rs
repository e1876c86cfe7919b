//! How other parts reach the optimizer.

use codex_proto::optimizer::{
    AlertsAckResult, AlertsResult, AlertsStatus, ModelLiveResult, ModelStatusResult,
    ModelTrainResult,
};
use tokio::sync::{mpsc, oneshot};

use super::training::ModelCommand;
use crate::store::StoreError;

/// What can go wrong asking the optimizer.
#[derive(Debug, thiserror::Error)]
pub enum OptimizerError {
    /// The optimizer has stopped (codexd is shutting down).
    #[error("the optimizer is not running (codexd is shutting down)")]
    Stopped,
    /// No alert has that id.
    #[error("no alert {0}: `codex alerts --all` lists them")]
    UnknownAlert(u64),
    /// Its state could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A model version request failed.
    #[error(transparent)]
    Models(#[from] super::models::ModelError),
    /// Training gave no model.
    #[error("{0}")]
    Training(String),
}

pub(super) type Reply<T> = oneshot::Sender<Result<T, OptimizerError>>;

pub(super) enum Command {
    Alerts {
        all: bool,
        reply: Reply<AlertsResult>,
    },
    Ack {
        id: u64,
        reply: Reply<AlertsAckResult>,
    },
    Status {
        reply: oneshot::Sender<AlertsStatus>,
    },
    Notices {
        reply: oneshot::Sender<Vec<String>>,
    },
    Model(super::training::ModelCommand),
    Forget {
        what: super::decisions::Forget,
        reply: Reply<u64>,
    },
    Suggested(super::decisions::Suggested),
}

/// A cheap, cloneable way to reach the optimizer.
#[derive(Debug, Clone)]
pub struct OptimizerHandle {
    pub(super) tx: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("optimizer command")
    }
}

impl OptimizerHandle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, OptimizerError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| OptimizerError::Stopped)?;
        rx.await.map_err(|_| OptimizerError::Stopped)?
    }

    /// The alerts, newest first (open ones only unless `all`).
    pub async fn alerts(&self, all: bool) -> Result<AlertsResult, OptimizerError> {
        self.ask(|reply| Command::Alerts { all, reply }).await
    }

    /// Acknowledge an alert.
    pub async fn ack(&self, id: u64) -> Result<AlertsAckResult, OptimizerError> {
        self.ask(|reply| Command::Ack { id, reply }).await
    }

    /// Alerts, paused work and the live model at a glance.
    pub async fn status(&self) -> Result<AlertsStatus, OptimizerError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Status { reply: tx })
            .await
            .map_err(|_| OptimizerError::Stopped)?;
        rx.await.map_err(|_| OptimizerError::Stopped)
    }

    /// The personal models: versions, metrics, which is live, training in progress.
    pub async fn model_status(&self) -> Result<ModelStatusResult, OptimizerError> {
        self.ask(|reply| Command::Model(ModelCommand::Status { reply }))
            .await
    }

    /// Train a personal model now; with `wait`, answer when it is done.
    pub async fn train(&self, wait: bool) -> Result<ModelTrainResult, OptimizerError> {
        self.ask(|reply| Command::Model(ModelCommand::Train { wait, reply }))
            .await
    }

    /// Make a version live.
    pub async fn promote(&self, version: u32) -> Result<ModelLiveResult, OptimizerError> {
        self.ask(|reply| Command::Model(ModelCommand::Promote { version, reply }))
            .await
    }

    /// Go back to the version live before.
    pub async fn rollback(&self) -> Result<ModelLiveResult, OptimizerError> {
        self.ask(|reply| Command::Model(ModelCommand::Rollback { reply }))
            .await
    }

    /// A suggestion was chosen to run (logged as a decision when its run ends).
    pub fn suggested(&self, s: super::decisions::Suggested) {
        // Best effort: a full inbox loses one sample of an estimate.
        let _ = self.tx.try_send(Command::Suggested(s));
    }

    /// Drop forgotten runs' decisions from the decision log.
    pub async fn forget(&self, what: super::decisions::Forget) -> Result<u64, OptimizerError> {
        self.ask(|reply| Command::Forget { what, reply }).await
    }

    /// The notices not yet shown; they count as shown once handed over.
    pub async fn take_notices(&self) -> Result<Vec<String>, OptimizerError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Notices { reply: tx })
            .await
            .map_err(|_| OptimizerError::Stopped)?;
        rx.await.map_err(|_| OptimizerError::Stopped)
    }
}
