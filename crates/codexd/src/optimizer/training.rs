//! Personal models in the optimizer: when to train (satisfaction low, enough new examples,
//! or by hand), training on a blocking thread off every actor's path, the new version
//! written and promoted only when it is not worse than the live one, and the live
//! parameters handed to the feedback collector, the planner and the next-goal model.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use codex_proto::optimizer::{
    ModelLiveResult, ModelState, ModelStatusResult, ModelTrainResult, TrainingView,
};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::handle::{OptimizerError, Reply};
use super::models::{self, ModelFile};
use super::state::{OptimizerOp, TrainingMark};
use super::train::{self, TrainData, TrainError, Trained};
use super::{Actor, decisions};
use crate::scheduler::patterns::Observed;

/// New ratings after which low satisfaction may trigger training again.
pub const RATINGS_BETWEEN: u64 = 10;

/// A model request.
pub(super) enum ModelCommand {
    Status {
        reply: Reply<ModelStatusResult>,
    },
    Train {
        wait: bool,
        reply: Reply<ModelTrainResult>,
    },
    Promote {
        version: u32,
        reply: Reply<ModelLiveResult>,
    },
    Rollback {
        reply: Reply<ModelLiveResult>,
    },
}

/// A training in progress.
pub(super) struct Running {
    started: DateTime<Utc>,
    trigger: String,
    progress: Arc<AtomicU32>,
    cancel: Arc<AtomicBool>,
    waiters: Vec<Reply<ModelTrainResult>>,
}

/// A training that ended.
pub(super) struct Done {
    result: Result<Trained, TrainError>,
    trigger: String,
}

/// `config` with the live model's parameters in place of the ones it fits, for the parts
/// that start before the optimizer (the feedback collector and the planner read their
/// parameters from the config they start with).
pub fn effective_config(
    config: &crate::config::Config,
    live: &train::Learned,
) -> crate::config::Config {
    let mut c = config.clone();
    let l = &mut c.learning;
    // The model file was validated when read; a value the config would refuse keeps the
    // config's own.
    if let Ok(w) = live.explicit_weight.try_into() {
        l.explicit_weight = w;
    }
    if let Ok(w) = live.implicit_weight.try_into() {
        l.implicit_weight = w;
    }
    if let Ok(w) = live.correction_weight.try_into() {
        l.correction_weight = w;
    }
    if let Ok(w) = live.decay_half_life_days.try_into() {
        l.decay_half_life_days = w;
    }
    if let Ok(f) = live.evidence_discount.try_into() {
        l.evidence_discount = f;
    }
    c.planner.exploration = live.exploration;
    c
}

/// Interactions the next-goal model learns from, in the dataset's order.
fn interactions(dataset: &Path) -> Vec<codex_patterns::Interaction> {
    let Ok(file) = std::fs::File::open(dataset) else {
        return Vec::new();
    };
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    std::io::BufRead::split(reader, b'\n')
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_slice::<crate::learning::dataset::Record>(&line).ok())
        .filter_map(|r| Observed::of_record(&r)?.interaction())
        .collect()
}

impl Actor {
    pub(super) async fn on_model(&mut self, cmd: ModelCommand) {
        match cmd {
            ModelCommand::Status { reply } => {
                let _ = reply.send(Ok(self.model_status()));
            }
            ModelCommand::Train { wait, reply } => {
                if wait {
                    self.train("by hand (`codex model train`)".into(), Some(reply))
                        .await;
                } else {
                    self.train("by hand (`codex model train`)".into(), None)
                        .await;
                    let _ = reply.send(Ok(ModelTrainResult {
                        version: None,
                        promoted: false,
                        running: self.training.is_some(),
                    }));
                }
            }
            ModelCommand::Promote { version, reply } => {
                let r = match self.models.promote(version) {
                    Ok(was) => {
                        info!(version, "personal model promoted by hand");
                        self.apply_live().await;
                        Ok(ModelLiveResult {
                            live: self.models.live_version(),
                            was,
                        })
                    }
                    Err(e) => Err(e.into()),
                };
                let _ = reply.send(r);
            }
            ModelCommand::Rollback { reply } => {
                let r = match self.models.rollback() {
                    Ok((live, was)) => {
                        info!(?live, ?was, "personal model rolled back");
                        self.apply_live().await;
                        Ok(ModelLiveResult { live, was })
                    }
                    Err(e) => Err(e.into()),
                };
                let _ = reply.send(r);
            }
        }
    }

    fn model_status(&self) -> ModelStatusResult {
        let mark = &self.store.state().training;
        let mut versions = self.models.views();
        for v in &mut versions {
            if v.state == ModelState::Candidate && !self.adapting {
                v.reason = Some("adaptation is off: promote it by hand if you want it".into());
            }
        }
        ModelStatusResult {
            live: self.models.live_version(),
            versions,
            training: self.training.as_ref().map(|t| TrainingView {
                started: t.started,
                percent: t.progress.load(Ordering::Relaxed).min(100),
                trigger: t.trigger.clone(),
            }),
            last_error: mark.error.clone(),
            new_examples: self.examples_seen.saturating_sub(mark.examples),
            triggers: format!(
                "on its own when your recent satisfaction is under {} (at most once per {} new \
                 ratings) or after {} new runs since the last training{}",
                self.low_satisfaction,
                RATINGS_BETWEEN,
                self.min_examples,
                if self.adapting {
                    ""
                } else {
                    " — not now: adaptation is off"
                }
            ),
            adapting: self.adapting,
        }
    }

    /// After a run or a rating: train when satisfaction is low or enough is new.
    pub(super) async fn maybe_train(&mut self) {
        if !self.adapting || self.training.is_some() || !self.tracking {
            return;
        }
        let mark = self.store.state().training.clone();
        let new_examples = self.examples_seen.saturating_sub(mark.examples);
        if self.min_examples > 0 && new_examples >= self.min_examples {
            self.train(
                format!("{new_examples} new runs since the last training"),
                None,
            )
            .await;
            return;
        }
        let sat = self.profile.borrow().satisfaction.clone();
        if let Some(recent) = sat.recent
            && recent < self.low_satisfaction
            && sat.ratings.saturating_sub(mark.ratings) >= RATINGS_BETWEEN
        {
            self.train(
                format!(
                    "recent satisfaction {recent:.2} under learning.low_satisfaction_threshold ({})",
                    self.low_satisfaction
                ),
                None,
            )
            .await;
        }
    }

    /// Start a training (or wait for the one running).
    async fn train(&mut self, trigger: String, waiter: Option<Reply<ModelTrainResult>>) {
        if let Some(t) = &mut self.training {
            if let Some(w) = waiter {
                t.waiters.push(w);
            }
            return;
        }
        let signals = match self.feedback.signals().await {
            Ok(s) => s,
            Err(e) => {
                if let Some(w) = waiter {
                    let _ = w.send(Err(OptimizerError::Training(e.to_string())));
                }
                return;
            }
        };
        info!(%trigger, "training a personal model");
        let live = self.models.learned(&self.config_learned);
        let base = self.base;
        let dataset = self.dataset.clone();
        let log = self.decisions_path.clone();
        let progress = Arc::new(AtomicU32::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let tx: mpsc::Sender<Done> = self.done_tx.clone();
        let (p, c, why) = (progress.clone(), cancel.clone(), trigger.clone());
        // A thread of its own, not the runtime's blocking pool: at shutdown the runtime would
        // wait for it, and a training (which writes nothing itself) is not worth waiting for.
        let spawned = std::thread::Builder::new()
            .name("codexd-train".into())
            .spawn(move || {
                let data = TrainData {
                    signals,
                    decisions: decisions::read(&log),
                    interactions: interactions(&dataset),
                    base,
                };
                let result = train::train(&data, &live, &p, &c);
                let _ = tx.blocking_send(Done {
                    result,
                    trigger: why,
                });
            });
        if let Err(e) = spawned {
            if let Some(w) = waiter {
                let _ = w.send(Err(OptimizerError::Training(format!(
                    "cannot start a thread to train on: {e}"
                ))));
            }
            return;
        }
        self.training = Some(Running {
            started: Utc::now(),
            trigger,
            progress,
            cancel,
            waiters: waiter.into_iter().collect(),
        });
    }

    /// A training ended: keep the version, promote it if it is not worse, tell who waits.
    pub(super) async fn trained(&mut self, done: Done) {
        let Some(running) = self.training.take() else {
            return;
        };
        let mut mark = TrainingMark {
            at: Some(Utc::now()),
            examples: self.examples_seen,
            ratings: self.profile.borrow().satisfaction.ratings,
            error: None,
        };
        let by_hand = !running.waiters.is_empty() || done.trigger.starts_with("by hand");
        let outcome = match done.result {
            Ok(t) => self.keep(t, done.trigger, by_hand).await,
            Err(e) => Err(OptimizerError::Training(e.to_string())),
        };
        if let Err(e) = &outcome {
            warn!("personal model training gave no model: {e}");
            mark.error = Some(e.to_string());
        }
        if let Err(e) = self.store.append(OptimizerOp::Trained { mark }, true) {
            error!("cannot record the training: {e}");
        }
        for w in running.waiters {
            let _ = w.send(match &outcome {
                Ok(r) => Ok(r.clone()),
                Err(e) => Err(OptimizerError::Training(e.to_string())),
            });
        }
    }

    async fn keep(
        &mut self,
        t: Trained,
        trigger: String,
        by_hand: bool,
    ) -> Result<ModelTrainResult, OptimizerError> {
        let version = self.models.next_version();
        let promote = t.verdict.promoted() && self.adapting;
        let rejected = match &t.verdict {
            train::Verdict::Promote => None,
            train::Verdict::Reject(why) => Some(why.clone()),
        };
        let file = ModelFile {
            format: models::FORMAT,
            version,
            created: Utc::now(),
            trigger,
            config_hash: self.models.config_hash().to_string(),
            learned: t.learned,
            metrics: t.candidate,
            live_metrics: t.live,
            train_metrics: t.train,
            range: t.range,
            rejected: rejected.clone(),
        };
        self.models.add(file, promote)?;
        info!(version, promoted = promote, reason = ?rejected, "personal model trained");
        if promote {
            self.apply_live().await;
        }
        // What the user asked for they see in its answer; only what codex did on its own is
        // a notice.
        if !by_hand {
            self.notice(match (&rejected, promote) {
                (Some(why), _) => format!(
                    "trained personal model v{version}; not promoted: {why} (`codex model status`)"
                ),
                (None, true) => format!(
                    "trained personal model v{version} and made it live: it is not worse than the \
                 one before on your most recent runs (`codex model status`; `codex model \
                 rollback` undoes it)"
                ),
                (None, false) => format!(
                    "trained personal model v{version}; adaptation is off, so it is not live \
                 (`codex model promote {version}`)"
                ),
            });
        }
        let view = self
            .models
            .views()
            .into_iter()
            .find(|v| v.version == version);
        Ok(ModelTrainResult {
            version: view,
            promoted: promote,
            running: false,
        })
    }

    /// Hand the live parameters to the parts that learn with them. Each folds its data again
    /// off its own actor; the optimizer does not wait for them either.
    pub(super) async fn apply_live(&mut self) {
        let learned = self.models.learned(&self.config_learned);
        let (feedback, planner, scheduler) = (
            self.feedback.clone(),
            self.planner.clone(),
            self.scheduler.clone(),
        );
        let (base, dataset) = (self.base, self.dataset.clone());
        tokio::spawn(async move {
            if let Err(e) = planner.set_exploration(learned.exploration).await {
                warn!("cannot give the planner the live model: {e}");
            }
            if let Err(e) = scheduler
                .repattern(learned.patterns_params(), dataset)
                .await
            {
                warn!("cannot give the next-goal model the live weights: {e}");
            }
            if let Err(e) = feedback.configure(learned.feedback_params(base)).await {
                warn!("cannot give the feedback collector the live model: {e}");
            }
        });
    }

    /// Stop a training at shutdown.
    pub(super) fn cancel_training(&mut self) {
        if let Some(t) = &self.training {
            t.cancel.store(true, Ordering::Relaxed);
        }
    }
}
