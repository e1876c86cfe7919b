//! `suggest` inside a real daemon that has learned from 100,000 interactions: how long the
//! model takes to learn them again at start, and the `suggest` round trip (predict, plan each
//! suggested goal, check it against the user's comfort).
//!
//! Run with `cargo bench -p codexd --bench suggest`.
//!
//! Steps:
//! 1. A codexd process starts on an empty home; 100,000 history entries (the routine
//!    generator's commands, with times and a project folder) are imported over the socket in
//!    batches of 5,000, as `codex import shell-history` sends them.
//! 2. `suggest` is timed 400 times in the project.
//! 3. The daemon is stopped and started again: start-up includes learning the 100,000
//!    interactions from the dataset again; `suggest` is timed again.

use std::path::Path;
use std::time::{Duration, Instant};

#[path = "common/client.rs"]
mod client;

use client::{Client, Error, peak_rss, spawn_daemon};

const ENTRIES: usize = 100_000;
const BATCH: usize = 5_000;

fn main() -> Result<(), Error> {
    let tmp = tempfile::tempdir()?;
    let home = tmp.path().join("home");
    let proj = tmp.path().join("shop");
    std::fs::create_dir_all(proj.join(".git"))?;
    std::fs::write(proj.join("Cargo.toml"), "[package]\nname = \"shop\"\n")?;
    let history = codex_patterns::generate::routine_history(7, ENTRIES);

    let (mut daemon, mut client, started) = start(tmp.path(), &home)?;
    println!(
        "daemon start on an empty home: {:.0} ms",
        started.as_secs_f64() * 1e3
    );
    let clock = Instant::now();
    let t0 = chrono::Utc::now().timestamp() - ENTRIES as i64 * 60;
    for (b, chunk) in history.chunks(BATCH).enumerate() {
        let entries: Vec<serde_json::Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, e)| {
                serde_json::json!({
                    "command": e.goal,
                    "at": t0 + ((b * BATCH + i) as i64) * 60,
                    "cwd": proj,
                })
            })
            .collect();
        let line = serde_json::json!({
            "jsonrpc": "2.0", "id": b + 1, "method": "import",
            "params": {"source": "bench", "entries": entries},
        });
        client.call(&line.to_string())?;
    }
    println!(
        "import {ENTRIES} entries: {:.2}s = {:.0} entries/s (dataset, patterns, model)",
        clock.elapsed().as_secs_f64(),
        ENTRIES as f64 / clock.elapsed().as_secs_f64()
    );
    let suggest = |client: &mut Client| {
        client.time(400, |i| {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"suggest\",\"params\":\
                 {{\"cwd\":\"{}\",\"limit\":5}}}}",
                proj.display()
            )
        })
    };
    println!(
        "suggest round trip (limit 5, {ENTRIES} interactions): {}",
        suggest(&mut client)?.describe_with_p99()
    );
    println!("daemon peak RSS: {}", peak_rss(daemon.id()));
    stop(&mut client, &mut daemon)?;

    let (mut daemon, mut client, started) = start(tmp.path(), &home)?;
    println!(
        "daemon start, learning {ENTRIES} interactions again from the dataset: {:.0} ms",
        started.as_secs_f64() * 1e3
    );
    println!(
        "suggest round trip after the restart: {}",
        suggest(&mut client)?.describe_with_p99()
    );
    println!("daemon peak RSS: {}", peak_rss(daemon.id()));
    stop(&mut client, &mut daemon)
}

/// The real codexd, as a process of its own, and a connection to it once it answers (and the
/// model has been learned: the first `suggest` waits for that).
fn start(dir: &Path, home: &Path) -> Result<(std::process::Child, Client, Duration), Error> {
    let clock = Instant::now();
    let (daemon, mut client, _) = spawn_daemon(dir, home)?;
    client.call(&format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"suggest\",\"params\":{{\"cwd\":\"{}\",\"limit\":1}}}}",
        dir.display()
    ))?;
    Ok((daemon, client, clock.elapsed()))
}

fn stop(client: &mut Client, daemon: &mut std::process::Child) -> Result<(), Error> {
    client.call("{\"jsonrpc\":\"2.0\",\"id\":99999,\"method\":\"daemon/stop\"}")?;
    let status = daemon.wait()?;
    if !status.success() {
        return Err(format!("codexd stopped with {status}").into());
    }
    Ok(())
}
