//! The baseline `scripts/bench-status.sh` compares `codex status` against: a process that
//! connects to the daemon's socket, sends one `hello`, reads the answer and exits. Nothing
//! a client can do over the socket as a whole process costs less.
//!
//! Usage: `rt_probe SOCKET`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(socket) = std::env::args_os().nth(1) else {
        eprintln!("usage: rt_probe SOCKET");
        return ExitCode::from(2);
    };
    match probe(&socket) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rt_probe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn probe(socket: &std::ffi::OsStr) -> std::io::Result<()> {
    let mut stream = UnixStream::connect(socket)?;
    stream.write_all(
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"client\":\"rt_probe\",\"protocol\":1}}\n",
    )?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    if line.contains("\"result\"") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("unexpected answer: {line}")))
    }
}
