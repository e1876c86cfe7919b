//! Planning with the language-model planner configured (`planner.llm`): a goal the local
//! planner maps must cost what it costs without one (the model is not asked), and what an ask
//! itself adds, against a loopback endpoint that answers at once.
//!
//! Run with `cargo bench -p codexd --bench model_plan`. Two real codexd processes on empty
//! homes, one without `planner.llm` and one with `mode: fallback` pointing at a loopback
//! server that counts what it is asked; the same `plan` requests alternate between them in
//! rounds, so both see the same machine load.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "common/client.rs"]
mod client;

use client::{Client, Error, Timings};

const ROUNDS: usize = 10;
const PER_ROUND: usize = 60;

/// A loopback chat endpoint that answers every request at once with a one-step plan.
fn endpoint() -> Result<(String, Arc<AtomicUsize>), Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    let asked = Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    std::thread::spawn(move || {
        let content = r#"{"steps":[{"argv":["ls","-la"],"reason":"list"}]}"#;
        let body = serde_json::json!({
            "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20}
        })
        .to_string();
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let mut r = BufReader::new(stream);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut req = vec![0; len];
            let _ = r.read_exact(&mut req);
            let mut s = r.into_inner();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok((url, asked))
}

/// codexd on a fresh home under `dir` with `config`, connected.
fn daemon(dir: &Path, config: &str) -> Result<(std::process::Child, Client), Error> {
    std::fs::create_dir_all(dir)?;
    let cfg = dir.join("config.yaml");
    std::fs::write(&cfg, config)?;
    let socket = dir.join("codexd.sock");
    let log = std::fs::File::create(dir.join("codexd.log"))?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_codexd"))
        .arg("--home")
        .arg(dir.join("home"))
        .arg("--socket")
        .arg(&socket)
        .env("CODEX_CONFIG", &cfg)
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()?;
    let clock = Instant::now();
    loop {
        if let Ok(c) = Client::connect(&socket) {
            return Ok((child, c));
        }
        if let Some(status) = child.try_wait()? {
            return Err(format!("codexd exited with {status}").into());
        }
        if clock.elapsed() > Duration::from_secs(60) {
            return Err("codexd did not answer within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn plan(goal: &str, cwd: &Path) -> impl Fn(usize) -> String {
    let (goal, cwd) = (goal.to_string(), cwd.display().to_string());
    move |i| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"plan\",\"params\":{{\"goal\":\"{goal}\",\"cwd\":\"{cwd}\"}}}}"
        )
    }
}

fn stop(mut child: std::process::Child, mut c: Client) -> Result<(), Error> {
    c.call("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"daemon/stop\"}")?;
    child.wait()?;
    Ok(())
}

fn main() -> Result<(), Error> {
    let tmp = tempfile::tempdir()?;
    let proj = tmp.path().join("shop");
    std::fs::create_dir_all(&proj)?;
    std::fs::write(proj.join("Cargo.toml"), "[package]\nname = \"shop\"\n")?;
    let (url, asked) = endpoint()?;
    let (plain_d, mut plain) = daemon(&tmp.path().join("plain"), "{}\n")?;
    let with = format!(
        "planner:\n  llm:\n    mode: fallback\n    base_url: {url}\n    model: bench\n    timeout_secs: 5\n"
    );
    let (llm_d, mut llm) = daemon(&tmp.path().join("llm"), &with)?;
    let goals = ["run the tests", "build it", "lint the code"];
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for (i, goal) in goals.iter().enumerate() {
            let n = PER_ROUND / goals.len();
            let line = plan(goal, &proj);
            // Alternate which daemon goes first, so neither always runs warm.
            if (round + i) % 2 == 0 {
                a.extend(plain.time(n, &line)?.0);
                b.extend(llm.time(n, &line)?.0);
            } else {
                b.extend(llm.time(n, &line)?.0);
                a.extend(plain.time(n, &line)?.0);
            }
        }
    }
    println!(
        "plan, a goal the local planner maps, without planner.llm: {}",
        Timings(a).describe_with_p99()
    );
    println!(
        "plan, the same goals, planner.llm in fallback mode: {}",
        Timings(b).describe_with_p99()
    );
    let not_needed = asked.load(Ordering::SeqCst);
    println!("model asks while planning goals the local planner maps: {not_needed}");
    if not_needed != 0 {
        return Err("the model was asked for a goal the local planner maps".into());
    }
    // A goal nothing maps: the first ask goes to the endpoint, the rest reuse its plan.
    let unknown = plan("show which process holds port 8080", &proj);
    let first = llm.time(1, &unknown)?;
    println!(
        "plan asking the model (loopback endpoint answering at once): {}",
        first.describe()
    );
    let reused = llm.time(200, &unknown)?;
    println!(
        "plan reusing the model's plan for the same goal and folder: {}",
        reused.describe_with_p99()
    );
    println!(
        "model asks in all: {} (one ask, then reused)",
        asked.load(Ordering::SeqCst)
    );
    stop(plain_d, plain)?;
    stop(llm_d, llm)?;
    Ok(())
}
