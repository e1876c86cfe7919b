//! One client connection: read capped lines, answer each, stream run updates.
//!
//! A reader loop and a writer task joined by a channel of lines, so a long `run` streams its
//! output while the connection keeps reading. Quick methods are answered in order; `run` is
//! spawned. When the connection ends (client gone, oversized message, daemon stopping) its
//! runs are cancelled and awaited before the connection task returns.

use std::sync::Arc;
use std::time::Duration;

use codex_proto::jsonrpc::{self, ErrorObject, Incoming, Response, codes};
use serde_json::Value;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::{Ctx, dispatch, run};

/// Lines queued for the writer per connection.
const OUT_QUEUE: usize = 256;
/// Buffers per connection, kept small because there may be hundreds of connections (and a
/// `codex` command opens one each time): the reader's is zeroed when made. A longer line
/// just takes more reads; output beyond the writer's is written through.
const READ_BUFFER: usize = 8 * 1024;
const WRITE_BUFFER: usize = 16 * 1024;
/// What an oversized message may still send, and for how long, before its connection closes.
const DRAIN_BYTES: usize = 4 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_millis(500);
/// A line buffer grown past this by a big request is given back after it.
const KEEP_LINE_BUFFER: usize = 64 * 1024;

/// The sending side of a connection's writer.
pub type Outbox = mpsc::Sender<String>;

/// Requests this daemon sent to the client (approval questions), by id, awaiting answers.
pub type Asked =
    Arc<std::sync::Mutex<std::collections::HashMap<String, oneshot::Sender<Response>>>>;

/// Serve one connection until the client leaves or `shutdown` fires. `peer` is the client's
/// process id from its socket credentials (checked on every request that would change
/// permissions or data: codexd's own steps may not).
pub async fn serve<S>(stream: S, ctx: Arc<Ctx>, shutdown: CancellationToken, peer: Option<i32>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, wr) = tokio::io::split(stream);
    let (out, out_rx) = mpsc::channel::<String>(OUT_QUEUE);
    let writer = tokio::spawn(write_loop(wr, out_rx));
    let mut reader = Lines::new(BufReader::with_capacity(READ_BUFFER, rd));
    let conn_cancel = shutdown.child_token();
    let mut runs = JoinSet::new();
    let asked: Asked = Arc::default();
    let terminals: run::Terminals = Arc::default();
    let max = ctx.max_message_bytes;
    let limits = Limits::get();

    loop {
        // Quiet is idle only with nothing in flight: a run (and any approval question it
        // asks) may print nothing for an hour. Quick requests are answered before the next
        // read, so they are never in flight here.
        let idle = runs.is_empty().then_some(limits.idle);
        let read = tokio::select! {
            r = reader.next(max, idle, limits.line) => r,
            // A run ended: look again at whether the connection is idle.
            Some(_) = runs.join_next(), if !runs.is_empty() => continue,
            _ = conn_cancel.cancelled() => break,
        };
        match read {
            Ok(false) => break,
            Ok(true) => {}
            Err(LineError::TooLong) => {
                warn!(max, "message over the size cap; closing the connection");
                let err = ErrorObject::new(
                    codes::MESSAGE_TOO_LARGE,
                    format!(
                        "message longer than {max} bytes (server.max_message_bytes); closing the connection"
                    ),
                );
                send(&out, &Response::err(Value::Null, err)).await;
                // Closing with the rest of the message unread would reset the connection
                // before the client reads why.
                reader.drain(DRAIN_BYTES, DRAIN_TIME).await;
                break;
            }
            Err(LineError::Idle) => {
                debug!(secs = limits.idle.as_secs(), "closing an idle connection");
                break;
            }
            Err(LineError::Slow) => {
                debug!(
                    secs = limits.line.as_secs(),
                    "closing a connection that left a line unfinished"
                );
                let err = ErrorObject::new(
                    codes::INVALID_REQUEST,
                    format!(
                        "a line was not finished within {} s of its first byte; closing the \
                         connection (send each message whole, ending with a newline)",
                        limits.line.as_secs()
                    ),
                );
                send(&out, &Response::err(Value::Null, err)).await;
                break;
            }
            Err(LineError::Io(e)) => {
                debug!("connection read error: {e}");
                break;
            }
        }
        let text = trim_line(reader.line());
        let parsed = (!text.is_empty()).then(|| jsonrpc::parse_line(text));
        reader.done();
        let Some(mut parsed) = parsed else { continue };
        // Notices are the user's to see once: a step's `codex` gets none (and takes none).
        if let Ok(Incoming::Request { method, params, .. }) = &mut parsed
            && method == <codex_proto::methods::Hello as codex_proto::methods::Method>::NAME
            && params.get("notices").is_some_and(|n| n == true)
            && super::peers::is_step(&ctx, peer)
            && let Some(map) = params.as_object_mut()
        {
            map.insert("notices".into(), Value::Bool(false));
        }
        // A request that would change permissions or data, from one of codexd's own steps.
        if let Ok(Incoming::Request { id, method, params }) = &parsed
            && super::peers::changes_something(method, params)
            && let Some(refusal) = super::peers::refusal(&ctx, peer, method)
        {
            send(&out, &Response::err(id.clone(), refusal)).await;
            continue;
        }
        match parsed {
            Err(rejected) => send(&out, &Response::err(rejected.id, rejected.error)).await,
            Ok(Incoming::Request { id, method, params }) if method == run::METHOD => {
                runs.spawn(run::handle(
                    ctx.clone(),
                    id,
                    params,
                    run::Channel {
                        out: out.clone(),
                        asked: asked.clone(),
                        terminals: terminals.clone(),
                    },
                    conn_cancel.child_token(),
                ));
            }
            Ok(Incoming::Request { id, method, params }) => {
                match dispatch::call(&ctx, &method, params, &out).await {
                    Ok(answer) => {
                        let _ = out.send(answer.line(&id)).await;
                    }
                    Err(error) => send(&out, &Response::err(id, error)).await,
                }
            }
            // What a client types into its runs' terminals; per JSON-RPC, notifications are
            // never answered, not even with an error, so any other is dropped.
            Ok(Incoming::Notification { method, params }) if run::is_terminal_input(&method) => {
                run::terminal_input(&terminals, &method, params);
            }
            Ok(Incoming::Notification { method, .. }) => debug!(method, "ignored notification"),
            Ok(Incoming::Response(r)) => {
                let waiting =
                    r.id.as_str()
                        .and_then(|id| asked.lock().ok().and_then(|mut a| a.remove(id)));
                match waiting {
                    Some(tx) => {
                        let _ = tx.send(r);
                    }
                    None => debug!(id = %r.id, "ignored response to no request"),
                }
            }
        }
    }
    conn_cancel.cancel();
    while runs.join_next().await.is_some() {}
    drop(out);
    let _ = writer.await;
}

/// A method's result, already written as JSON. Results go straight from their types to
/// text: building a `Value` tree first, writing it and dropping it took a third of the
/// daemon's CPU under load (docs/benchmarks.md).
#[derive(Debug)]
pub struct Json(String);

impl Json {
    /// The response line answering request `id` with this result, newline included; the
    /// same text `Response::ok` would give, but for the order of keys in the result.
    pub fn line(&self, id: &Value) -> String {
        let id = serde_json::to_string(id).unwrap_or_else(|_| "null".into());
        let mut line = String::with_capacity(self.0.len() + id.len() + 36);
        line.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
        line.push_str(&id);
        line.push_str(",\"result\":");
        line.push_str(&self.0);
        line.push_str("}\n");
        line
    }
}

/// Serialize a method's result.
pub fn to_json<T: serde::Serialize>(v: &T) -> Result<Json, ErrorObject> {
    serde_json::to_string(v).map(Json).map_err(|e| {
        ErrorObject::new(
            codes::INTERNAL_ERROR,
            format!("cannot encode the result: {e}"),
        )
    })
}

/// Queue one message for the client; a client that has gone is not an error here.
pub async fn send<T: serde::Serialize>(out: &Outbox, msg: &T) {
    match jsonrpc::to_line(msg) {
        Ok(line) => {
            let _ = out.send(line).await;
        }
        Err(e) => warn!("cannot encode a message: {e}"),
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(wr: W, mut lines: mpsc::Receiver<String>) {
    let mut w = BufWriter::with_capacity(WRITE_BUFFER, wr);
    while let Some(line) = lines.recv().await {
        if w.write_all(line.as_bytes()).await.is_err() {
            return;
        }
        // Batch whatever else is ready into the same flush.
        while let Ok(more) = lines.try_recv() {
            if w.write_all(more.as_bytes()).await.is_err() {
                return;
            }
        }
        if w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

/// Why no line was read.
#[derive(Debug)]
pub enum LineError {
    /// The line exceeded the cap before its newline.
    TooLong,
    /// Nothing arrived for the idle limit.
    Idle,
    /// A line was started but not finished within the line limit.
    Slow,
    /// The connection failed.
    Io(std::io::Error),
}

/// How long a connection may stay quiet with nothing in flight before it is closed: long
/// enough for a person to answer a y/N prompt between two requests of one command (the CLI
/// reconnects if it took longer), short enough that a client that forgot its connection
/// frees the slot soon.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a line may take from its first byte to its newline. A client writes a message
/// whole; only a stalled or hostile one dribbles it.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(10);

/// The limits in force: the constants, or for tests `CODEX_TEST_IDLE_SECS` and
/// `CODEX_TEST_LINE_SECS` (a testing knob, not configuration).
#[derive(Debug, Clone, Copy)]
struct Limits {
    idle: Duration,
    line: Duration,
}

impl Limits {
    fn get() -> Limits {
        static LIMITS: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();
        *LIMITS.get_or_init(|| {
            let secs = |var: &str, default: Duration| {
                std::env::var(var)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|&s| s > 0)
                    .map_or(default, Duration::from_secs)
            };
            Limits {
                idle: secs("CODEX_TEST_IDLE_SECS", IDLE_TIMEOUT),
                line: secs("CODEX_TEST_LINE_SECS", LINE_TIMEOUT),
            }
        })
    }
}

/// A capped line reader whose [`Lines::next`] may be cancelled (by `select!`) without losing
/// bytes: a partial line and the time it started stay here until the line is complete.
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    complete: bool,
    started: Option<Instant>,
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// Read lines from `reader`.
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            buf: Vec::with_capacity(1024),
            complete: false,
            started: None,
        }
    }

    /// The line [`Lines::next`] returned, newline dropped.
    pub fn line(&self) -> &[u8] {
        &self.buf
    }

    /// Read and drop what the client still sends, for at most `bytes` or `time`.
    pub async fn drain(&mut self, bytes: usize, time: Duration) {
        self.done();
        let _ = tokio::time::timeout(time, async {
            let mut taken = 0usize;
            while taken < bytes {
                match self.reader.fill_buf().await {
                    Ok([]) | Err(_) => break,
                    Ok(b) => {
                        let n = b.len();
                        self.reader.consume(n);
                        taken += n;
                    }
                }
            }
        })
        .await;
    }

    /// Done with the current line.
    pub fn done(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > KEEP_LINE_BUFFER {
            self.buf = Vec::with_capacity(1024);
        }
        self.complete = false;
    }

    /// Read until a whole `\n`-terminated line is in [`Lines::line`], refusing lines longer
    /// than `max` without buffering more than `max` bytes. Gives up with [`LineError::Idle`]
    /// when no byte comes within `idle` (never, when `None`), and with [`LineError::Slow`]
    /// when the line is not finished within `line` of its first byte. Returns false at end
    /// of stream; a last line without a newline still counts.
    pub async fn next(
        &mut self,
        max: usize,
        idle: Option<Duration>,
        line: Duration,
    ) -> Result<bool, LineError> {
        if self.complete {
            self.done();
        }
        let idle_until = idle.map(|d| Instant::now() + d);
        loop {
            let deadline = self.started.map(|t| t + line).or(idle_until);
            let available = match deadline {
                Some(at) => match tokio::time::timeout_at(at, self.reader.fill_buf()).await {
                    Ok(r) => r.map_err(LineError::Io)?,
                    Err(_) if self.started.is_some() => return Err(LineError::Slow),
                    Err(_) => return Err(LineError::Idle),
                },
                None => self.reader.fill_buf().await.map_err(LineError::Io)?,
            };
            if available.is_empty() {
                self.started = None;
                self.complete = true;
                return Ok(!self.buf.is_empty());
            }
            let (take, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (available.len(), false),
            };
            if self.buf.len() + take > max {
                return Err(LineError::TooLong);
            }
            self.buf.extend_from_slice(&available[..take]);
            self.reader.consume(if done { take + 1 } else { take });
            if done {
                self.started = None;
                self.complete = true;
                return Ok(true);
            }
            self.started.get_or_insert_with(Instant::now);
        }
    }
}

fn trim_line(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let start = line[..end]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(end);
    &line[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Result<String, String>> {
        let mut r = Lines::new(BufReader::with_capacity(8, input));
        let mut got = Vec::new();
        loop {
            match r.next(max, None, LINE_TIMEOUT).await {
                Ok(true) => got.push(Ok(String::from_utf8_lossy(r.line()).into_owned())),
                Ok(false) => return got,
                Err(LineError::TooLong) => {
                    got.push(Err("too long".into()));
                    return got;
                }
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    #[tokio::test]
    async fn lines_are_split_across_small_reads() {
        let got = lines(b"{\"a\":1}\n{\"bb\":22}\nlast", 100).await;
        assert_eq!(
            got,
            vec![
                Ok("{\"a\":1}".into()),
                Ok("{\"bb\":22}".into()),
                Ok("last".into())
            ]
        );
    }

    #[tokio::test]
    async fn the_cap_counts_bytes_before_the_newline() {
        assert_eq!(lines(b"12345\n", 5).await, vec![Ok("12345".to_string())]);
        assert_eq!(
            lines(b"123456\n", 5).await,
            vec![Err("too long".to_string())]
        );
        assert_eq!(
            lines(b"ok\n1234567890123", 5).await,
            vec![Ok("ok".into()), Err("too long".into())]
        );
    }

    #[tokio::test]
    async fn a_line_interrupted_mid_way_keeps_its_bytes() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut r = Lines::new(BufReader::new(server));
        client.write_all(b"{\"a\":").await.unwrap();
        // Cancelled while the line is half there, as `select!` does when a run ends.
        let waited =
            tokio::time::timeout(Duration::from_millis(20), r.next(100, None, LINE_TIMEOUT)).await;
        assert!(waited.is_err());
        client.write_all(b"1}\nnext\n").await.unwrap();
        assert!(r.next(100, None, LINE_TIMEOUT).await.unwrap());
        assert_eq!(r.line(), b"{\"a\":1}");
        assert!(r.next(100, None, LINE_TIMEOUT).await.unwrap());
        assert_eq!(r.line(), b"next");
    }

    #[tokio::test]
    async fn quiet_and_unfinished_lines_are_told_apart() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut r = Lines::new(BufReader::new(server));
        let short = Duration::from_millis(10);
        assert!(matches!(
            r.next(100, Some(short), short).await,
            Err(LineError::Idle)
        ));
        client.write_all(b"{").await.unwrap();
        // No idle limit (a run is in flight), but a started line still has its deadline.
        assert!(matches!(
            r.next(100, None, short).await,
            Err(LineError::Slow)
        ));
    }

    #[test]
    fn an_answer_line_reads_as_the_response_it_stands_for() {
        let result = serde_json::json!({"b": [1, "x\ny"], "a": null});
        for id in [serde_json::json!(7), serde_json::json!("a\"b"), Value::Null] {
            let line = to_json(&result).unwrap().line(&id);
            assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
            let back: Response = serde_json::from_str(&line).unwrap();
            assert_eq!(back, Response::ok(id, result.clone()));
        }
    }

    #[test]
    fn whitespace_and_crlf_are_trimmed() {
        assert_eq!(trim_line(b"  {}\r"), b"{}");
        assert_eq!(trim_line(b"\r"), b"");
    }
}
