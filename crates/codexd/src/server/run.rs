//! The `run` method: forwards the executor's updates as `run/started` and `run/progress`
//! notifications, then answers with the outcome.

use std::sync::Arc;

use codex_proto::jsonrpc::{ErrorObject, Request, Response, codes};
use codex_proto::methods::{
    Method, Notification, Run, RunParams, RunProgress, RunProgressParams, RunResult, RunStarted,
    RunStartedParams,
};
use codex_proto::types::RunId;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Ctx;
use super::connection::{Outbox, send};
use super::dispatch::{params, to_value};
use crate::executor::{ExecError, RunRequest, Spec, Update};

/// The wire name this module answers.
pub const METHOD: &str = Run::NAME;

/// Updates buffered between the executor and this connection's writer.
const UPDATE_QUEUE: usize = 64;

/// Run the command in `raw` params, streaming to `out`, until done or `cancel`.
pub async fn handle(ctx: Arc<Ctx>, id: Value, raw: Value, out: Outbox, cancel: CancellationToken) {
    let response = match params::<Run>(raw) {
        Ok(p) => match execute(&ctx, p, &out, cancel).await {
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
    out: &Outbox,
    cancel: CancellationToken,
) -> Result<Value, ErrorObject> {
    let req = RunRequest {
        spec: Spec {
            argv: p.argv,
            cwd: p.cwd,
            env: p.env,
        },
        goal: p.goal,
        yes: p.yes,
    };
    let (tx, mut updates) = mpsc::channel(UPDATE_QUEUE);
    let run = ctx.executor.run(req, tx, cancel);
    tokio::pin!(run);
    let mut run_id = RunId(0);
    let report = loop {
        tokio::select! {
            biased;
            Some(u) = updates.recv() => forward(out, &mut run_id, u).await,
            report = &mut run => break report,
        }
    };
    // Every update was queued before the report: deliver the rest, then the result.
    while let Ok(u) = updates.try_recv() {
        forward(out, &mut run_id, u).await;
    }
    let report = report.map_err(exec_error)?;
    // The episode is on the bus; answer once it is in episodic memory's journal and its
    // outcome in the feedback journal, so a run the user has seen finish survives a kill -9
    // that comes right after.
    let _ = ctx.learning.settled().await;
    let _ = ctx.feedback.settled().await;
    to_value(&RunResult {
        run_id: report.run_id,
        outcome: report.outcome,
        duration_ms: report.duration_ms,
        recorded: report.recorded,
    })
}

async fn forward(out: &Outbox, run_id: &mut RunId, update: Update) {
    let note = match update {
        Update::Started { run_id: id, pid } => {
            *run_id = id;
            notification::<RunStarted>(&RunStartedParams { run_id: id, pid })
        }
        Update::Output { stream, data } => notification::<RunProgress>(&RunProgressParams {
            run_id: *run_id,
            stream,
            data,
        }),
    };
    if let Some(note) = note {
        send(out, &note).await;
    }
}

fn notification<N: Notification>(p: &N::Params) -> Option<Request> {
    serde_json::to_value(p)
        .ok()
        .map(|v| Request::notification(N::NAME, v))
}

fn exec_error(e: ExecError) -> ErrorObject {
    let msg = e.to_string();
    match e {
        ExecError::Refused(refusal) => {
            let data = serde_json::to_value(&refusal).unwrap_or(Value::Null);
            ErrorObject::new(codes::REFUSED, msg).with_data(data)
        }
        ExecError::Invalid(_) => ErrorObject::new(codes::INVALID_PARAMS, msg),
        ExecError::Gone => ErrorObject::new(codes::SHUTTING_DOWN, msg),
    }
}
