//! A blocking JSON-RPC client over the local socket: one request at a time, notifications
//! handed to the caller as they arrive. Blocking I/O keeps `codex` free of an async runtime,
//! so it starts in about a millisecond.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::Path;

use codex_proto::jsonrpc::{self, Incoming, Request};
use codex_proto::methods::{Hello, HelloParams, HelloResult, Method};
use interprocess::local_socket::prelude::*;
use interprocess::local_socket::{GenericFilePath, Stream};
use serde_json::Value;

use crate::error::CliError;

/// A connection to codexd.
pub struct Client {
    conn: BufReader<Stream>,
    next_id: u64,
    line: String,
}

/// Whether a connect error means "no daemon there" (as opposed to "cannot use it").
pub fn is_not_running(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused)
}

impl Client {
    /// Connect to the socket at `path`.
    pub fn connect(path: &Path) -> std::io::Result<Client> {
        let name = path.to_fs_name::<GenericFilePath>()?;
        let stream = Stream::connect(name)?;
        Ok(Client {
            conn: BufReader::new(stream),
            next_id: 1,
            line: String::new(),
        })
    }

    /// Say hello, checking that client and daemon speak the same protocol.
    pub fn hello(&mut self) -> Result<HelloResult, CliError> {
        let params = HelloParams {
            client: Some(format!("codex {}", codex_proto::VERSION)),
            protocol: Some(codex_proto::PROTOCOL_VERSION),
        };
        self.call::<Hello>(&params)
    }

    /// Send a request without waiting for its answer; returns its id.
    pub fn send<M: Method>(&mut self, params: &M::Params) -> Result<u64, CliError> {
        let id = self.next_id;
        self.next_id += 1;
        let params = serde_json::to_value(params)
            .map_err(|e| CliError::Other(format!("cannot encode request: {e}")))?;
        let line = jsonrpc::to_line(&Request::new(id, M::NAME, params))
            .map_err(|e| CliError::Other(format!("cannot encode request: {e}")))?;
        if let Err(e) = self.conn.get_mut().write_all(line.as_bytes()) {
            // The daemon may have answered and closed before reading (a refused peer):
            // its reason is worth more than "broken pipe".
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

    /// The next message from the daemon.
    pub fn next_message(&mut self) -> Result<Incoming, CliError> {
        self.line.clear();
        let n = self.conn.read_line(&mut self.line)?;
        if n == 0 {
            return Err(CliError::Io(std::io::Error::new(
                ErrorKind::UnexpectedEof,
                "codexd closed the connection (is it shutting down?)",
            )));
        }
        jsonrpc::parse_line(self.line.trim_end().as_bytes())
            .map_err(|r| CliError::Protocol(r.error.message))
    }

    /// Send a request and wait for its answer, ignoring notifications in between.
    pub fn call<M: Method>(&mut self, params: &M::Params) -> Result<M::Result, CliError> {
        let id = self.send::<M>(params)?;
        loop {
            if let Incoming::Response(r) = self.next_message()? {
                // An error with a null id answers a request the daemon could not read:
                // it is about this connection, so it is ours.
                if r.id == id || (r.id.is_null() && r.error.is_some()) {
                    return decode::<M>(r.result, r.error);
                }
            }
        }
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
