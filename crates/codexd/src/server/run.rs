//! The `run` method: forwards the executor's updates as `run/started` and `run/progress`
//! notifications, then answers with the outcome.

use std::collections::HashMap;
use std::sync::Arc;

use codex_proto::jsonrpc::{ErrorObject, Request, Response, codes};
use std::sync::atomic::{AtomicU64, Ordering};

use codex_proto::methods::{
    ApprovalRequest, ApprovalRequestParams, ApprovalRequestResult, Method, Notification, Run,
    RunParams, RunProgress, RunProgressParams, RunResult, RunStarted, RunStartedParams,
};
use codex_proto::terminal::{
    Bytes, RunInput, RunInputParams, RunResize, RunResizeParams, RunTty, RunTtyParams,
};
use codex_proto::types::RunId;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::Ctx;
use super::connection::{Asked, Outbox, send};
use super::dispatch::{params, to_value};
use super::shown::ShownPlans;
use crate::executor::pty::{INPUT_QUEUE, Input, Size, Terminal};
use crate::executor::{ApprovalAsk, ExecError, RunRequest, Spec, Update};

/// The wire name this module answers.
pub const METHOD: &str = Run::NAME;

/// Updates buffered between the executor and this connection's writer.
const UPDATE_QUEUE: usize = 64;

/// The executor's request for `run` params; `unattended` when nobody is attached. A step of
/// a plan answered lately for its goal there is recorded with that plan.
pub fn request(p: RunParams, unattended: bool, shown: &ShownPlans) -> RunRequest {
    let plan_source = p
        .goal
        .as_deref()
        .and_then(|g| shown.source(g, &p.cwd, &p.argv));
    RunRequest {
        spec: Spec {
            argv: p.argv,
            cwd: p.cwd,
            env: p.env,
            launcher: Vec::new(),
        },
        goal: p.goal,
        yes: p.yes,
        interactive: p.interactive && !unattended,
        unattended,
        min_class: p.min_class,
        picked_over: p.picked_over,
        part: p.part,
        unconfined: p.unconfined,
        plan_source,
        origin: crate::executor::Origin {
            trigger: if p.suggestion {
                crate::episode::Trigger::Suggestion
            } else {
                crate::episode::Trigger::User
            },
            ..Default::default()
        },
    }
}

/// Where a run talks to its client: the writer, and the answers to questions it asks.
pub struct Channel {
    /// The connection's writer.
    pub out: Outbox,
    /// Approval questions awaiting the client's answer.
    pub asked: Asked,
    /// The terminals of the connection's runs.
    pub terminals: Terminals,
}

/// The terminals of one connection's runs, by run id: where its `run/input` and
/// `run/resize` go. Only the connection that started a run can type into it.
pub type Terminals = Arc<std::sync::Mutex<HashMap<RunId, mpsc::Sender<Input>>>>;

/// Whether `method` is a notification this module takes (a run's terminal input).
pub fn is_terminal_input(method: &str) -> bool {
    method == RunInput::NAME || method == RunResize::NAME
}

/// Pass a `run/input` or `run/resize` to its run's terminal. Notifications are never
/// answered: one for no run of this connection, or that does not parse, is dropped. A
/// terminal whose queue is full drops it too (a step that does not read its terminal loses
/// what is typed, as on a real one); the connection never waits for a step.
pub fn terminal_input(terminals: &Terminals, method: &str, raw: Value) {
    let parsed = if method == RunInput::NAME {
        serde_json::from_value::<RunInputParams>(raw).map(|p| {
            let mut inputs = Vec::new();
            if !p.data.0.is_empty() {
                inputs.push(Input::Bytes(p.data.0));
            }
            if p.eof {
                inputs.push(Input::Eof);
            }
            (p.run_id, inputs)
        })
    } else {
        serde_json::from_value::<RunResizeParams>(raw).map(|p| {
            let size = Size {
                rows: p.rows,
                cols: p.cols,
            };
            (p.run_id, vec![Input::Resize(size)])
        })
    };
    let (run_id, inputs) = match parsed {
        Ok(p) => p,
        Err(e) => {
            debug!(method, "ignored a malformed notification: {e}");
            return;
        }
    };
    let tx = terminals.lock().ok().and_then(|t| t.get(&run_id).cloned());
    let Some(tx) = tx else {
        debug!(method, run = %run_id, "ignored: no terminal for that run on this connection");
        return;
    };
    for input in inputs {
        if tx.try_send(input).is_err() {
            debug!(run = %run_id, "the step's terminal is not keeping up; input dropped");
        }
    }
}

/// A run's place in [`Terminals`], taken once the run has an id and given up when the run
/// ends.
struct TerminalSlot {
    terminals: Terminals,
    input: Option<mpsc::Sender<Input>>,
    run_id: Option<RunId>,
}

impl TerminalSlot {
    fn register(&mut self, run_id: RunId) {
        if let (Some(tx), Ok(mut t)) = (self.input.take(), self.terminals.lock()) {
            t.insert(run_id, tx);
            self.run_id = Some(run_id);
        }
    }
}

impl Drop for TerminalSlot {
    fn drop(&mut self) {
        if let (Some(id), Ok(mut t)) = (self.run_id, self.terminals.lock()) {
            t.remove(&id);
        }
    }
}

/// Run the command in `raw` params, streaming to the client, until done or `cancel`.
pub async fn handle(
    ctx: Arc<Ctx>,
    id: Value,
    raw: Value,
    chan: Channel,
    cancel: CancellationToken,
) {
    let out = chan.out.clone();
    let response = match params::<Run>(raw) {
        Ok(p) => match execute(&ctx, p, &chan, cancel).await {
            Ok(v) => Response::ok(id, v),
            Err(e) => Response::err(id, e),
        },
        Err(e) => Response::err(id, e),
    };
    send(&out, &response).await;
}

async fn execute(
    ctx: &Ctx,
    p: RunParams,
    chan: &Channel,
    cancel: CancellationToken,
) -> Result<Value, ErrorObject> {
    let mut p = p;
    let (terminal, input) = match p.tty.take() {
        Some(tty) => {
            // The client's TERM travels in its environment; `term` fills in when it does not.
            if let (Some(term), Some(env)) = (tty.term, p.env.as_mut()) {
                env.entry("TERM".into()).or_insert(term);
            }
            let (tx, rx) = mpsc::channel(INPUT_QUEUE);
            let size = Size {
                rows: tty.rows,
                cols: tty.cols,
            };
            (Some(Terminal { size, input: rx }), Some(tx))
        }
        None => (None, None),
    };
    let mut slot = TerminalSlot {
        terminals: chan.terminals.clone(),
        input,
        run_id: None,
    };
    if p.suggestion && p.part.is_whole() {
        super::suggest::chosen(ctx, &p);
    }
    let req = request(p, false, &ctx.shown);
    let (tx, mut updates) = mpsc::channel(UPDATE_QUEUE);
    let run = ctx.executor.run_on(req, terminal, tx, cancel.clone());
    tokio::pin!(run);
    let mut run_id = RunId(0);
    let report = loop {
        tokio::select! {
            biased;
            Some(u) = updates.recv() => forward(chan, &mut run_id, &mut slot, u, &cancel).await,
            report = &mut run => break report,
        }
    };
    // Every update was queued before the report: deliver the rest, then the result.
    while let Ok(u) = updates.try_recv() {
        forward(chan, &mut run_id, &mut slot, u, &cancel).await;
    }
    drop(slot);
    let report = report.map_err(exec_error)?;
    // The episode is on the bus; answer once it is in episodic memory's journal and its
    // outcome in the feedback journal, so a run the user has seen finish survives a kill -9
    // that comes right after.
    // A run whose episode could not be written says so: no "rate it" for a run that is not
    // there to rate.
    let not_saved = match ctx.learning.saved(report.run_id).await {
        _ if !report.recorded => None,
        Ok(()) => None,
        Err(crate::learning::LearningError::NotSaved { reason, .. }) => Some(reason),
        Err(e) => Some(e.to_string()),
    };
    let _ = ctx.feedback.settled().await;
    to_value(&RunResult {
        run_id: report.run_id,
        outcome: report.outcome,
        duration_ms: report.duration_ms,
        recorded: report.recorded && not_saved.is_none(),
        not_saved,
        sandbox: report.sandbox,
    })
}

async fn forward(
    chan: &Channel,
    run_id: &mut RunId,
    slot: &mut TerminalSlot,
    update: Update,
    cancel: &CancellationToken,
) {
    let out = &chan.out;
    let note = match update {
        // Only runs with nobody attached are held; an attached run is asked instead.
        Update::Held { .. } => return,
        Update::Approval(ask) => {
            let approved = ask_client(chan, &ask, cancel).await;
            let _ = ask.reply.send(approved);
            return;
        }
        Update::Started {
            run_id: id,
            pid,
            confined,
            note,
        } => {
            *run_id = id;
            slot.register(id);
            notification::<RunStarted>(&RunStartedParams {
                run_id: id,
                pid,
                confined,
                note,
            })
        }
        Update::Output { stream, data } => notification::<RunProgress>(&RunProgressParams {
            run_id: *run_id,
            stream,
            data,
        }),
        Update::Terminal { data } => notification::<RunTty>(&RunTtyParams {
            run_id: *run_id,
            data: Bytes(data),
        }),
    };
    if let Some(note) = note {
        send(out, &note).await;
    }
}

/// Send `approval/request` and wait for the client's answer; `None` when there is none
/// (client gone, run cancelled); a malformed reply is a no.
async fn ask_client(chan: &Channel, ask: &ApprovalAsk, cancel: &CancellationToken) -> Option<bool> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = format!("approval-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let params = ApprovalRequestParams {
        command: ask.command.clone(),
        class: ask.class,
        reason: ask.reason.clone(),
        why_asked: ask.why_asked.clone(),
    };
    let Ok(params) = serde_json::to_value(&params) else {
        return Some(false);
    };
    let (tx, rx) = oneshot::channel();
    if let Ok(mut waiting) = chan.asked.lock() {
        waiting.insert(id.clone(), tx);
    }
    let request = Request {
        id: Some(Value::from(id.clone())),
        ..Request::notification(ApprovalRequest::NAME, params)
    };
    send(&chan.out, &request).await;
    let answer = tokio::select! {
        r = rx => r.ok(),
        _ = cancel.cancelled() => None,
    };
    if let Ok(mut waiting) = chan.asked.lock() {
        waiting.remove(&id);
    }
    let response = answer?;
    Some(
        response
            .result
            .and_then(|v| serde_json::from_value::<ApprovalRequestResult>(v).ok())
            .is_some_and(|a| a.approved),
    )
}

fn notification<N: Notification>(p: &N::Params) -> Option<Request> {
    serde_json::to_value(p)
        .ok()
        .map(|v| Request::notification(N::NAME, v))
}

/// The JSON-RPC error for an executor error.
pub fn exec_error(e: ExecError) -> ErrorObject {
    let msg = e.to_string();
    match e {
        ExecError::Refused(refusal) => {
            let data = serde_json::to_value(&refusal).unwrap_or(Value::Null);
            ErrorObject::new(codes::REFUSED, msg).with_data(data)
        }
        ExecError::Invalid(_) => ErrorObject::new(codes::INVALID_PARAMS, msg),
        ExecError::NeedsConfirmation(_) => ErrorObject::new(codes::NEEDS_CONFIRMATION, msg),
        ExecError::Store(_) => ErrorObject::new(codes::STORAGE, msg),
        ExecError::Busy(_) => ErrorObject::new(codes::BUSY, msg),
        ExecError::Gone => ErrorObject::new(codes::SHUTTING_DOWN, msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn terminals_with(run: u64) -> (Terminals, mpsc::Receiver<Input>) {
        let (tx, rx) = mpsc::channel(4);
        let t: Terminals = Arc::default();
        t.lock().unwrap().insert(RunId(run), tx);
        (t, rx)
    }

    #[test]
    fn input_and_resizes_reach_their_run_in_order() {
        let (t, mut rx) = terminals_with(7);
        terminal_input(
            &t,
            RunResize::NAME,
            json!({"run_id": 7, "rows": 50, "cols": 132}),
        );
        terminal_input(
            &t,
            RunInput::NAME,
            json!({"run_id": 7, "data": "aGkN", "eof": true}),
        );
        assert_eq!(
            rx.try_recv().unwrap(),
            Input::Resize(Size {
                rows: 50,
                cols: 132
            })
        );
        assert_eq!(rx.try_recv().unwrap(), Input::Bytes(b"hi\r".to_vec()));
        assert_eq!(rx.try_recv().unwrap(), Input::Eof);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn input_for_another_run_malformed_or_past_a_full_queue_is_dropped_without_waiting() {
        let (t, mut rx) = terminals_with(7);
        terminal_input(&t, RunInput::NAME, json!({"run_id": 8, "data": "aGk="}));
        terminal_input(
            &t,
            RunInput::NAME,
            json!({"run_id": 7, "data": "not base64!"}),
        );
        terminal_input(
            &t,
            RunResize::NAME,
            json!({"run_id": 7, "rows": -1, "cols": 2}),
        );
        assert!(rx.try_recv().is_err(), "nothing reached run 7");
        // The queue holds 4; the fifth is dropped rather than waited for.
        for _ in 0..5 {
            terminal_input(&t, RunInput::NAME, json!({"run_id": 7, "data": "eA=="}));
        }
        let got: Vec<Input> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn a_runs_terminal_is_reachable_only_from_start_to_end() {
        let t: Terminals = Arc::default();
        let (tx, _rx) = mpsc::channel(1);
        let mut slot = TerminalSlot {
            terminals: t.clone(),
            input: Some(tx),
            run_id: None,
        };
        assert!(
            t.lock().unwrap().is_empty(),
            "no id yet, nothing to type into"
        );
        slot.register(RunId(3));
        assert!(t.lock().unwrap().contains_key(&RunId(3)));
        drop(slot);
        assert!(t.lock().unwrap().is_empty(), "gone with the run");
    }
}
