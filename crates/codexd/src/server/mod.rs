//! The socket server: accepts connections on the local socket, refuses other users, and
//! serves each connection in its own task ([`connection`]). Requests are routed by
//! [`dispatch`] (quick methods) and [`run`] (the streaming `run` method).

pub mod capture;
pub mod connection;
pub mod dispatch;
mod forget;
mod import;
pub mod peers;
pub mod run;
mod runs;
mod schedule;
pub mod shown;
pub mod socket;
pub mod suggest;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use codex_proto::jsonrpc::{ErrorObject, Response, codes};
use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::traits::StreamCommon as _;
use interprocess::local_socket::traits::tokio::Listener as _;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

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
    /// The scheduler.
    pub scheduler: crate::scheduler::SchedulerHandle,
    /// The optimizer.
    pub optimizer: crate::optimizer::OptimizerHandle,
    /// Cancelled to stop the daemon (`daemon/stop`).
    pub shutdown: CancellationToken,
    /// Longest accepted request line.
    pub max_message_bytes: usize,
    /// The plans answered lately, which name the runs of their steps.
    pub shown: shown::ShownPlans,
    /// The suggestion lists answered lately, which `suggest run N` runs from.
    pub suggested: suggest::ShownSuggestions,
    /// Shell capture: its filters, paused state and counts.
    pub capture: crate::capture::Capture,
}

/// Accept connections until `ctx.shutdown` fires, then wait for every connection to end.
/// At most `max_connections` are served at once; a client past that gets a -32007 error line
/// and is closed, so it can say why instead of waiting in the backlog.
pub async fn serve(listener: Listener, ctx: Arc<Ctx>, max_connections: usize) {
    let shutdown = ctx.shutdown.clone();
    let slots = Arc::new(Semaphore::new(max_connections));
    // Refused clients are kept open a moment so they can read why; this many at once, and
    // the rest are closed right after the error line (a flood must not eat descriptors).
    let lingering = Arc::new(Semaphore::new(LINGERING_REFUSALS));
    let uid = socket::own_uid();
    let mut conns = JoinSet::new();
    let mut backoff = Backoff::default();
    let mut at_limit = false;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        // Reap finished connections as we go so the set does not grow.
        while conns.try_join_next().is_some() {}
        let stream = match accepted {
            Ok(s) => {
                backoff.recovered();
                s
            }
            Err(e) => {
                let pause = backoff.failed(&e);
                tokio::select! {
                    _ = tokio::time::sleep(pause) => continue,
                    _ = shutdown.cancelled() => break,
                }
            }
        };
        let creds = stream.peer_creds().ok();
        let peer = creds.as_ref().and_then(|c| c.euid());
        let peer_pid = creds.as_ref().and_then(|c| c.pid());
        if peer != Some(uid) {
            warn!(?peer, uid, "refused a connection from another user");
            let who = peer.map_or("an unknown uid".to_string(), |p| format!("uid {p}"));
            let err = ErrorObject::new(
                codes::INVALID_REQUEST,
                format!("refused: this codexd serves uid {uid} only, and the client is {who}"),
            );
            conns.spawn(refuse(
                stream,
                err,
                lingering.clone().try_acquire_owned().ok(),
            ));
            continue;
        }
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            if !at_limit {
                warn!(
                    max_connections,
                    "connection limit reached; refusing new clients until one closes \
                     (idle ones close after {} s)",
                    connection::IDLE_TIMEOUT.as_secs()
                );
                at_limit = true;
            }
            let err = ErrorObject::new(
                codes::BUSY,
                format!(
                    "codexd is serving {max_connections} connections, its limit \
                     (server.max_connections); try again in a moment, or close clients that \
                     hold connections open"
                ),
            );
            conns.spawn(refuse(
                stream,
                err,
                lingering.clone().try_acquire_owned().ok(),
            ));
            continue;
        };
        at_limit = false;
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

/// Failed accepts in a row. Out of descriptors, accept fails at once for as long as the
/// condition lasts: pause, doubling up to a second, and log once per run of failures rather
/// than on every try.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    /// Note a failure; returns how long to pause before accepting again.
    fn failed(&mut self, e: &std::io::Error) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if self.failures == 1 {
            let out_of_fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
            if out_of_fds {
                error!(
                    "accept failed: {e}: out of file descriptors; pausing new connections until \
                     some close (raise `ulimit -n` if this recurs); logged once until accepting \
                     works again"
                );
            } else {
                error!(
                    "accept failed: {e}; pausing new connections, logged once until accepting works again"
                );
            }
        }
        Self::FIRST
            .saturating_mul(1 << (self.failures - 1).min(7))
            .min(Self::MAX)
    }

    /// Accepting works again.
    fn recovered(&mut self) {
        if self.failures > 0 {
            info!(failures = self.failures, "accepting connections again");
            self.failures = 0;
        }
    }
}

/// Send `err` as one error line (id null) and close. With a `linger` permit the client's
/// first request is read for a moment first: closing with it unread would make its write
/// fail (EPIPE) before it reads why.
async fn refuse(
    mut stream: interprocess::local_socket::tokio::Stream,
    err: ErrorObject,
    linger: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    if let Ok(line) = codex_proto::jsonrpc::to_line(&Response::err(Value::Null, err)) {
        let _ = tokio::time::timeout(REFUSAL_LINGER, stream.write_all(line.as_bytes())).await;
    }
    if linger.is_none() {
        return;
    }
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
/// Refused connections kept open at once to be read (see [`refuse`]).
const LINGERING_REFUSALS: usize = 64;
