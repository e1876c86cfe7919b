//! `hello` requests per second over 8 concurrent connections to an in-process daemon.
//!
//! Run with `cargo bench -p codexd --bench rpc_throughput`. Two shapes: window 1 (each client
//! waits for an answer before sending the next request: one round trip per request, the
//! worst case) and window 64 (a client writes 64 requests in one go, then reads the 64
//! answers, which is how a busy client pipelines). The daemon answers each connection's
//! requests in order; every answer is checked. Each figure is the median of several timed
//! rounds after a warm-up round. Target: at least 50,000/s.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codexd::{Daemon, Settings, config};

const CONNECTIONS: usize = 8;
const WINDOWS: [usize; 2] = [1, 64];
const ROUND: Duration = Duration::from_secs(2);
const ROUNDS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("home");
    let socket = dir.path().join("run").join("codexd.sock");
    let settings = Settings {
        binary: Some(std::path::PathBuf::from(env!("CARGO_BIN_EXE_codexd"))),
        home,
        socket: socket.clone(),
        config: config::load(None)?,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let daemon = runtime.block_on(Daemon::start(settings))?;
    let stop = daemon.shutdown_token();
    let served = runtime.spawn(daemon.run_until_stopped());

    for window in WINDOWS {
        let _ = round(&socket, window, Duration::from_millis(500))?;
        let mut rates = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            rates.push(round(&socket, window, ROUND)?);
        }
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        println!(
            "rpc_throughput: hello over {CONNECTIONS} connections, window {window}: \
             median {median:.0} req/s (min {:.0}, max {:.0}, {ROUNDS} rounds of {}s)",
            rates[0],
            rates[rates.len() - 1],
            ROUND.as_secs()
        );
    }

    stop.cancel();
    runtime.block_on(served)?;
    Ok(())
}

/// One timed round: every connection sends windows of `hello` until `length` has passed.
fn round(
    socket: &Path,
    window: usize,
    length: Duration,
) -> Result<f64, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let deadline = start + length;
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let socket = socket.to_path_buf();
            std::thread::spawn(move || client(socket, window, deadline))
        })
        .collect();
    let mut total = 0u64;
    for worker in workers {
        total += worker.join().map_err(|_| "client thread panicked")??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// Send windows of requests on one connection; returns how many answers came back.
fn client(socket: PathBuf, window: usize, deadline: Instant) -> Result<u64, String> {
    let stream = UnixStream::connect(&socket).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut writer = stream;
    let mut batch = String::new();
    for id in 0..window {
        batch.push_str(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"hello\",\"params\":{{\"client\":\"bench\",\"protocol\":1}}}}\n"
        ));
    }
    let mut answered = 0u64;
    let mut line = String::new();
    while Instant::now() < deadline {
        writer
            .write_all(batch.as_bytes())
            .map_err(|e| e.to_string())?;
        for id in 0..window {
            line.clear();
            let n = reader.read_line(&mut line).map_err(|e| e.to_string())?;
            let answer: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| format!("{e}: {line:?}"))?;
            if n == 0 || answer["id"] != id || answer.get("result").is_none() {
                return Err(format!("unexpected answer: {line:?}"));
            }
            answered += 1;
        }
    }
    Ok(answered)
}
