//! A blocking JSON-RPC client over the local socket: one request at a time, notifications
//! handed to the caller as they arrive. Blocking I/O keeps `codex` free of an async runtime,
//! so it starts in about a millisecond.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codex_proto::jsonrpc::{self, Incoming, Request};
use codex_proto::methods::{Hello, HelloParams, HelloResult, Method};
use serde_json::Value;

use crate::error::CliError;

/// How long connecting may take. A live daemon takes connections at once even when busy (it
/// refuses past its limit with a reason); only a stuck one leaves them in the backlog.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an ordinary request may wait for its answer, and a `run` or `export` for its
/// first message; after that a run streams for as long as it lasts. The slowest ordinary
/// answers (`forget` rewriting a large dataset, an `import` batch) take a few seconds.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection quiet for longer than this is checked for a close by the daemon (which closes
/// idle connections) before the next request, and reopened if it was closed.
const CHECK_AFTER: Duration = Duration::from_secs(1);

/// The timeouts in force: the constants, or `CODEX_TEST_TIMEOUT_SECS` for both (a testing
/// knob, not configuration).
fn timeouts() -> (Duration, Duration) {
    match std::env::var("CODEX_TEST_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&s| s > 0)
    {
        Some(s) => (Duration::from_secs(s), Duration::from_secs(s)),
        None => (CONNECT_TIMEOUT, ANSWER_TIMEOUT),
    }
}

/// A connection to codexd.
pub struct Client {
    conn: BufReader<UnixStream>,
    socket: PathBuf,
    next_id: u64,
    line: String,
    /// When the answer being waited for is due, if it is bounded.
    due: Option<(Instant, &'static str)>,
    last_used: Instant,
    /// How much longer a plan may take than an ordinary answer (the daemon's model planner).
    plan_wait: Duration,
}

/// Whether a connect error means "no daemon there" (as opposed to "cannot use it").
pub fn is_not_running(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused)
}

/// The error for a failed connect that is not "no daemon there".
pub fn connect_error(socket: &Path, e: std::io::Error) -> CliError {
    if e.kind() == ErrorKind::TimedOut {
        CliError::Timeout {
            socket: socket.into(),
            what: "accept the connection".into(),
            after: timeouts().0,
        }
    } else {
        CliError::Connect {
            socket: socket.into(),
            source: e,
        }
    }
}

/// Connect, giving up after `limit`: a blocking connect to a socket whose backlog is full
/// waits until the daemon accepts, which a stuck daemon never does. std has no connect
/// timeout for Unix sockets, so the connect runs on a thread that is left behind on timeout
/// (the process ends soon after).
fn connect_within(path: &Path, limit: Duration) -> std::io::Result<UnixStream> {
    let (tx, rx) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(UnixStream::connect(path));
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| {
        Err(std::io::Error::new(
            ErrorKind::TimedOut,
            "the daemon did not accept the connection in time",
        ))
    })
}

impl Client {
    /// Connect to the socket at `path`.
    pub fn connect(path: &Path) -> std::io::Result<Client> {
        let stream = connect_within(path, timeouts().0)?;
        Ok(Client {
            conn: BufReader::new(stream),
            socket: path.to_path_buf(),
            next_id: 1,
            line: String::new(),
            due: None,
            last_used: Instant::now(),
            plan_wait: Duration::ZERO,
        })
    }

    /// Say hello, checking that client and daemon speak the same protocol.
    pub fn hello(&mut self) -> Result<HelloResult, CliError> {
        let params = HelloParams {
            client: Some(format!("codex {}", codex_proto::VERSION)),
            protocol: Some(codex_proto::PROTOCOL_VERSION),
            notices: true,
        };
        let hello = self.call::<Hello>(&params)?;
        self.plan_wait = Duration::from_secs(hello.plan_wait_secs.unwrap_or(0));
        // What codex did on its own since the last command, said once.
        for n in &hello.notices {
            eprintln!("codex: {}", crate::render::printable(n));
        }
        Ok(hello)
    }

    /// Send a request without waiting for its answer; returns its id. The first message
    /// after it (an answer, a question or a notification) must come within the answer
    /// timeout; later ones may take as long as they take (a run's output).
    pub fn send<M: Method>(&mut self, params: &M::Params) -> Result<u64, CliError> {
        self.reopen_if_closed()?;
        let id = self.next_id;
        self.next_id += 1;
        let params = serde_json::to_value(params)
            .map_err(|e| CliError::Other(format!("cannot encode request: {e}")))?;
        let line = jsonrpc::to_line(&Request::new(id, M::NAME, params))
            .map_err(|e| CliError::Other(format!("cannot encode request: {e}")))?;
        let answer = timeouts().1;
        self.due = Some((Instant::now() + answer, M::NAME));
        // A daemon that stopped reading must not hang the write either.
        let _ = self.conn.get_ref().set_write_timeout(Some(answer));
        if let Err(e) = self.conn.get_mut().write_all(line.as_bytes()) {
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                return Err(self.timeout(M::NAME));
            }
            // The daemon may have answered and closed before reading (a refused peer, a
            // full daemon): its reason is worth more than "broken pipe".
            if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
                && let Ok(Incoming::Response(r)) = self.next_message()
                && let Some(err) = r.error
            {
                return Err(CliError::Rpc(err));
            }
            return Err(e.into());
        }
        Ok(id)
    }

    /// Answer a request the daemon sent (an approval question).
    pub fn respond(&mut self, id: Value, result: Value) -> Result<(), CliError> {
        let line = jsonrpc::to_line(&jsonrpc::Response::ok(id, result))
            .map_err(|e| CliError::Other(format!("cannot encode an answer: {e}")))?;
        self.conn.get_mut().write_all(line.as_bytes())?;
        Ok(())
    }

    /// A second handle on the connection, for a thread that sends notifications while this
    /// one reads (a run's terminal input).
    pub fn writer(&self) -> std::io::Result<UnixStream> {
        self.conn.get_ref().try_clone()
    }

    /// The next message from the daemon.
    pub fn next_message(&mut self) -> Result<Incoming, CliError> {
        self.line.clear();
        let wait = match self.due {
            Some((at, method)) => match at.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err(self.timeout(method)),
            },
            None => None,
        };
        self.conn.get_ref().set_read_timeout(wait)?;
        let n = match self.conn.read_line(&mut self.line) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let method = self.due.map_or("?", |(_, m)| m);
                return Err(self.timeout(method));
            }
            Err(e) => return Err(e.into()),
        };
        self.last_used = Instant::now();
        if n == 0 {
            return Err(CliError::Io(std::io::Error::new(
                ErrorKind::UnexpectedEof,
                "codexd closed the connection (is it shutting down?)",
            )));
        }
        // Only the first message after a request is bounded: a run streams for as long as
        // it lasts. `call` bounds the whole answer itself.
        self.due = None;
        jsonrpc::parse_line(self.line.trim_end().as_bytes())
            .map_err(|r| CliError::Protocol(r.error.message))
    }

    /// [`Client::call`] for a request that plans a goal (`plan`, `schedule/add`,
    /// `schedule/replan`): it may ask the daemon's language model, so it may take as much
    /// longer as the daemon said its longest ask takes.
    pub fn call_plan<M: Method>(&mut self, params: &M::Params) -> Result<M::Result, CliError> {
        let id = self.send::<M>(params)?;
        let due = self.due.map(|(at, m)| (at + self.plan_wait, m));
        self.wait_for::<M>(id, due)
    }

    /// Send a request and wait for its answer, ignoring notifications in between. The whole
    /// answer must come within the answer timeout.
    pub fn call<M: Method>(&mut self, params: &M::Params) -> Result<M::Result, CliError> {
        let id = self.send::<M>(params)?;
        let due = self.due;
        self.wait_for::<M>(id, due)
    }

    /// The answer to request `id`, due by `due`.
    fn wait_for<M: Method>(
        &mut self,
        id: u64,
        due: Option<(Instant, &'static str)>,
    ) -> Result<M::Result, CliError> {
        loop {
            self.due = due;
            let message = self.next_message();
            self.due = None;
            if let Incoming::Response(r) = message? {
                // An error with a null id answers a request the daemon could not read:
                // it is about this connection, so it is ours.
                if r.id == id || (r.id.is_null() && r.error.is_some()) {
                    return decode::<M>(r.result, r.error);
                }
            }
        }
    }

    /// Send a request whose answer comes when work the daemon does has ended (a job's
    /// occurrence): no answer timeout, since that work takes as long as it takes.
    pub fn call_waiting<M: Method>(&mut self, params: &M::Params) -> Result<M::Result, CliError> {
        let id = self.send::<M>(params)?;
        loop {
            self.due = None;
            if let Incoming::Response(r) = self.next_message()?
                && (r.id == id || (r.id.is_null() && r.error.is_some()))
            {
                return decode::<M>(r.result, r.error);
            }
        }
    }

    fn timeout(&self, method: &str) -> CliError {
        CliError::Timeout {
            socket: self.socket.clone(),
            what: format!("answer `{method}`"),
            after: timeouts().1,
        }
    }

    /// The daemon closes connections left idle (a person took a while at a prompt between
    /// two requests): notice that before sending, and open a new one. Nothing was sent on
    /// the closed one, so nothing is sent twice.
    fn reopen_if_closed(&mut self) -> Result<(), CliError> {
        if self.last_used.elapsed() < CHECK_AFTER || !self.closed_by_daemon() {
            return Ok(());
        }
        let stream = connect_within(&self.socket, timeouts().0)
            .map_err(|e| connect_error(&self.socket, e))?;
        self.conn = BufReader::new(stream);
        self.last_used = Instant::now();
        self.hello().map(|_| ())
    }

    /// Whether the daemon has closed this connection: end of stream is readable at once.
    fn closed_by_daemon(&mut self) -> bool {
        if !self.conn.buffer().is_empty() || self.conn.get_ref().set_nonblocking(true).is_err() {
            return false;
        }
        let closed = matches!(self.conn.fill_buf(), Ok(b) if b.is_empty());
        let _ = self.conn.get_ref().set_nonblocking(false);
        closed
    }
}

/// Turn a response's result or error into the method's result type.
pub fn decode<M: Method>(
    result: Option<Value>,
    error: Option<jsonrpc::ErrorObject>,
) -> Result<M::Result, CliError> {
    if let Some(e) = error {
        return Err(CliError::Rpc(e));
    }
    let value = result.ok_or_else(|| {
        CliError::Protocol(format!(
            "`{}` answered with neither result nor error",
            M::NAME
        ))
    })?;
    serde_json::from_value(value)
        .map_err(|e| CliError::Protocol(format!("`{}` result: {e}", M::NAME)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_connect_that_cannot_complete_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        // Never accepts: once its backlog is full, a connect waits for good.
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let mut held = Vec::new();
        let err = loop {
            match connect_within(&path, Duration::from_millis(100)) {
                Ok(s) => held.push(s),
                Err(e) => break e,
            }
            assert!(held.len() < 100_000, "the backlog never filled");
        };
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        let shown = connect_error(&path, err).to_string();
        assert!(shown.contains("did not accept the connection"), "{shown}");
        assert!(shown.contains(&path.display().to_string()), "{shown}");
    }

    /// A stand-in daemon: answers every request with a hello result; the first connection
    /// is closed after its first answer, as codexd closes an idle one.
    fn closing_daemon(path: &Path) -> std::sync::mpsc::Receiver<usize> {
        let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
        let (seen, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().flatten().enumerate() {
                let _ = seen.send(n + 1);
                let mut r = BufReader::new(stream);
                let mut line = String::new();
                while r.read_line(&mut line).unwrap_or(0) > 0 {
                    let req: Value = serde_json::from_str(&line).unwrap();
                    let answer = serde_json::json!({"jsonrpc": "2.0", "id": req["id"],
                        "result": {"daemon_version": "t", "protocol": 1, "pid": 1, "home": "/"}});
                    let _ = r.get_mut().write_all(format!("{answer}\n").as_bytes());
                    line.clear();
                    if n == 0 {
                        break;
                    }
                }
            }
        });
        rx
    }

    #[test]
    fn a_connection_the_daemon_closed_while_idle_is_reopened_before_the_next_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let connections = closing_daemon(&path);
        let mut c = Client::connect(&path).unwrap();
        c.hello().unwrap();
        // Quiet for longer than the client trusts an unused connection.
        std::thread::sleep(CHECK_AFTER + Duration::from_millis(100));
        c.hello().unwrap();
        let seen: Vec<usize> = connections.try_iter().collect();
        assert_eq!(seen, vec![1, 2]);
    }
}
