//! One ask of the model for one plan, answered from a task: the local plans, with the
//! model's put among them when it gives a valid one, or with what went wrong.

use std::sync::Arc;

use codex_proto::methods::PlanResult;
use codex_proto::model_planner::ModelAsk;
use codex_proto::prefs::Profile;
use tokio::sync::oneshot;

use super::ModelPlanner;
use crate::planner::registry::Registry;

/// One ask of the model, run on a thread of its own: a slow model holds up neither other
/// plans nor shutdown (the thread is not waited for).
pub struct ModelJob {
    /// codexd is stopping: answer without the model.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The model to ask.
    pub model: ModelPlanner,
    /// For steps that name a tool.
    pub registry: Arc<Registry>,
    /// The request body.
    pub body: serde_json::Value,
    /// Where the plan would run.
    pub place: super::Place,
}

impl ModelJob {
    /// Ask, put the model's plan among `local`'s, and answer.
    pub fn answer(
        self,
        mut local: PlanResult,
        profile: Arc<Profile>,
        personalized: bool,
        reply: oneshot::Sender<PlanResult>,
    ) {
        let (tx, rx) = oneshot::channel();
        let endpoint = self.model.endpoint();
        let model = self.model.clone();
        let shutdown = self.shutdown.clone();
        let (goal, cwd) = (self.place.goal.clone(), self.place.cwd.clone());
        let Some(slot) = self.model.slot() else {
            local.model = Some(ModelAsk::not_asked(
                endpoint,
                format!(
                    "the model was not asked: {} asks are waiting on it already",
                    super::MAX_IN_FLIGHT
                ),
            ));
            let _ = reply.send(local);
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("codexd-model".into())
            .spawn(move || {
                let _slot = slot;
                let _ = tx.send(self.model.ask(&self.body, &self.place, &self.registry));
            });
        tokio::spawn(async move {
            let asked = match spawned {
                // Shutdown waits for connections; none waits on the model past its start.
                Ok(_) => tokio::select! {
                    got = rx => got.ok(),
                    () = shutdown.cancelled() => {
                        local.model = Some(ModelAsk::not_asked(
                            endpoint,
                            "codexd is stopping: the model's answer was not waited for",
                        ));
                        let _ = reply.send(local);
                        return;
                    }
                },
                Err(e) => {
                    tracing::warn!("cannot start the model ask: {e}");
                    None
                }
            };
            match asked {
                Some((steps, mut ask)) => {
                    if let Some(steps) = steps {
                        let kept = steps.clone();
                        match super::merge(&mut local, steps, &profile, personalized) {
                            Ok(()) => model.keep(&goal, &cwd, &kept, &ask),
                            Err(why) => {
                                ask.ok = false;
                                ask.note = why;
                            }
                        }
                    }
                    local.model = Some(ask);
                }
                None => {
                    local.model = Some(ModelAsk::not_asked(
                        endpoint,
                        "the model's ask ended without an answer (see codexd's log)",
                    ));
                }
            }
            let _ = reply.send(local);
        });
    }
}
