//! The socket server: accepts connections on the local socket, refuses other users, and
//! serves each connection in its own task ([`connection`]). Requests are routed by
//! [`dispatch`] (quick methods) and [`run`] (the streaming `run` method).

pub mod connection;
pub mod dispatch;
pub mod peers;
pub mod run;
pub mod socket;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use codex_proto::jsonrpc::{ErrorObject, Response};
use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::traits::StreamCommon as _;
use interprocess::local_socket::traits::tokio::Listener as _;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use crate::executor::ExecutorHandle;
use crate::feedback::FeedbackHandle;
use crate::learning::LearningHandle;

/// Facts about this daemon, for `hello` and `status`.
#[derive(Debug, Clone)]
pub struct DaemonInfo {
    /// Process id.
    pub pid: u32,
    /// Wall-clock start time.
    pub started_at: DateTime<Utc>,
    /// Monotonic start time, for uptime.
    pub started: Instant,
    /// CODEX_HOME.
    pub home: PathBuf,
    /// The socket.
    pub socket: PathBuf,
    /// Config file, `None` for built-in.
    pub config: Option<PathBuf>,
    /// `interaction_tracking_enabled`.
    pub tracking: bool,
    /// `context_awareness_enabled`.
    pub context_aware: bool,
}

/// What every connection can reach.
#[derive(Debug)]
pub struct Ctx {
    /// Facts about the daemon.
    pub info: DaemonInfo,
    /// The learning pipeline.
    pub learning: LearningHandle,
    /// The feedback collector.
    pub feedback: FeedbackHandle,
    /// The executor.
    pub executor: ExecutorHandle,
    /// The planner.
    pub planner: crate::planner::actor::PlannerHandle,
    /// Cancelled to stop the daemon (`daemon/stop`).
    pub shutdown: CancellationToken,
    /// Longest accepted request line.
    pub max_message_bytes: usize,
}

/// Accept connections until `ctx.shutdown` fires, then wait for every connection to end.
/// At most `max_connections` are served at once; more wait in the socket's backlog.
pub async fn serve(listener: Listener, ctx: Arc<Ctx>, max_connections: usize) {
    let shutdown = ctx.shutdown.clone();
    let slots = Arc::new(Semaphore::new(max_connections));
    let uid = socket::own_uid();
    let mut conns = JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.cancelled() => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        // Reap finished connections as we go so the set does not grow.
        while conns.try_join_next().is_some() {}
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => {
                // e.g. out of file descriptors: back off instead of spinning.
                error!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let creds = stream.peer_creds().ok();
        let peer = creds.as_ref().and_then(|c| c.euid());
        let peer_pid = creds.as_ref().and_then(|c| c.pid());
        if peer != Some(uid) {
            warn!(?peer, uid, "refused a connection from another user");
            conns.spawn(refuse(stream, peer, uid));
            continue;
        }
        let ctx = ctx.clone();
        let stop = shutdown.clone();
        conns.spawn(async move {
            connection::serve(stream, ctx, stop, peer_pid).await;
            drop(permit);
        });
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
    debug!("server stopped");
}

async fn refuse(
    mut stream: interprocess::local_socket::tokio::Stream,
    peer: Option<u32>,
    uid: u32,
) {
    let who = peer.map_or("an unknown uid".to_string(), |p| format!("uid {p}"));
    let err = ErrorObject::new(
        codex_proto::jsonrpc::codes::INVALID_REQUEST,
        format!("refused: this codexd serves uid {uid} only, and the client is {who}"),
    );
    if let Ok(line) = codex_proto::jsonrpc::to_line(&Response::err(Value::Null, err)) {
        let _ = stream.write_all(line.as_bytes()).await;
    }
    // Closing with the client's first request unread would make its write fail (EPIPE) before
    // it reads why; take what it sends for a moment, bounded in time and size, then close.
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        let mut taken = 0usize;
        while taken < REFUSAL_DRAIN_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => taken += n,
            }
        }
    })
    .await;
}

/// How long a refused connection is kept open so the client can read the refusal.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);
/// How much a refused client may send before its connection is closed anyway.
const REFUSAL_DRAIN_BYTES: usize = 64 * 1024;
