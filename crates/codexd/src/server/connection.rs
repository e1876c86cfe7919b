//! One client connection: read capped lines, answer each, stream run updates.
//!
//! A reader loop and a writer task joined by a channel of lines, so a long `run` streams its
//! output while the connection keeps reading. Quick methods are answered in order; `run` is
//! spawned. When the connection ends (client gone, oversized message, daemon stopping) its
//! runs are cancelled and awaited before the connection task returns.

use std::sync::Arc;

use codex_proto::jsonrpc::{self, ErrorObject, Incoming, Response, codes};
use serde_json::Value;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::{Ctx, dispatch, run};

/// Lines queued for the writer per connection.
const OUT_QUEUE: usize = 256;

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
    let mut reader = BufReader::with_capacity(64 * 1024, rd);
    let conn_cancel = shutdown.child_token();
    let mut runs = JoinSet::new();
    let asked: Asked = Arc::default();
    let mut line = Vec::with_capacity(1024);
    let max = ctx.max_message_bytes;

    loop {
        let read = tokio::select! {
            r = read_line(&mut reader, &mut line, max) => r,
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
                break;
            }
            Err(LineError::Io(e)) => {
                debug!("connection read error: {e}");
                break;
            }
        }
        let text = trim_line(&line);
        if text.is_empty() {
            continue;
        }
        let parsed = jsonrpc::parse_line(text);
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
                    },
                    conn_cancel.child_token(),
                ));
            }
            Ok(Incoming::Request { id, method, params }) => {
                let response = match dispatch::call(&ctx, &method, params, &out).await {
                    Ok(result) => Response::ok(id, result),
                    Err(error) => Response::err(id, error),
                };
                send(&out, &response).await;
            }
            // Nothing the daemon offers is a notification: per JSON-RPC, notifications are
            // never answered, not even with an error.
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
    let mut w = BufWriter::with_capacity(64 * 1024, wr);
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
    /// The connection failed.
    Io(std::io::Error),
}

/// Read one `\n`-terminated line into `buf` (newline dropped), refusing lines longer than
/// `max` without buffering more than `max` bytes. Returns false at end of stream; a last
/// line without a newline still counts.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<bool, LineError> {
    buf.clear();
    loop {
        let available = r.fill_buf().await.map_err(LineError::Io)?;
        if available.is_empty() {
            return Ok(!buf.is_empty());
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        if buf.len() + take > max {
            return Err(LineError::TooLong);
        }
        buf.extend_from_slice(&available[..take]);
        r.consume(if done { take + 1 } else { take });
        if done {
            return Ok(true);
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
        let mut r = BufReader::with_capacity(8, input);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        loop {
            match read_line(&mut r, &mut buf, max).await {
                Ok(true) => got.push(Ok(String::from_utf8_lossy(&buf).into_owned())),
                Ok(false) => return got,
                Err(LineError::TooLong) => {
                    got.push(Err("too long".into()));
                    return got;
                }
                Err(LineError::Io(e)) => panic!("{e}"),
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

    #[test]
    fn whitespace_and_crlf_are_trimmed() {
        assert_eq!(trim_line(b"  {}\r"), b"{}");
        assert_eq!(trim_line(b"\r"), b"");
    }
}
