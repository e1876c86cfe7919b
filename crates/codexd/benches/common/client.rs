//! A line client for benchmarks that time a real codexd over its socket, and the process's
//! peak memory.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Any error a benchmark stops on.
pub type Error = Box<dyn std::error::Error>;

/// One connection to codexd.
pub struct Client {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

/// Round-trip times.
pub struct Timings(pub Vec<Duration>);

impl Timings {
    /// Median, p99 and max.
    #[allow(dead_code)]
    pub fn describe_with_p99(mut self) -> String {
        self.0.sort();
        let at = |p: usize| self.0[(self.0.len() - 1) * p / 100].as_secs_f64() * 1e3;
        format!(
            "median {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} calls)",
            at(50),
            at(99),
            at(100),
            self.0.len()
        )
    }

    /// Median, p90 and max.
    #[allow(dead_code)]
    pub fn describe(mut self) -> String {
        self.0.sort();
        let at = |p: usize| self.0[(self.0.len() - 1) * p / 100].as_secs_f64() * 1e3;
        format!(
            "median {:.3} ms, p90 {:.3} ms, max {:.3} ms ({} calls)",
            at(50),
            at(90),
            at(100),
            self.0.len()
        )
    }
}

impl Client {
    /// Connect and say hello.
    pub fn connect(socket: &Path) -> Result<Client, Error> {
        let writer = UnixStream::connect(socket)?;
        let reader = BufReader::new(writer.try_clone()?);
        let mut c = Client { writer, reader };
        c.call("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":1}}")?;
        Ok(c)
    }

    /// Send one request line; the answer, which must be a result.
    pub fn call(&mut self, line: &str) -> Result<serde_json::Value, Error> {
        self.writer.write_all(line.as_bytes())?;
        self.writer.write_all(b"\n")?;
        let mut answer = String::new();
        self.reader.read_line(&mut answer)?;
        let v: serde_json::Value = serde_json::from_str(&answer)?;
        if v.get("result").is_none() {
            return Err(format!("request failed: {answer}").into());
        }
        Ok(v)
    }

    /// Time `n` requests made by `line`.
    pub fn time(&mut self, n: usize, line: impl Fn(usize) -> String) -> Result<Timings, Error> {
        let mut out = Vec::with_capacity(n);
        for i in 1..=n {
            let l = line(i);
            let clock = Instant::now();
            self.call(&l)?;
            out.push(clock.elapsed());
        }
        Ok(Timings(out))
    }
}

/// The process's peak resident memory (VmHWM).
#[allow(dead_code)]
pub fn peak_rss(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Start the real codexd on `home` as a process of its own (a daemon refuses changing
/// requests from its own process tree, so the client cannot live in the daemon's process),
/// with its socket and log in `dir`, and connect once it answers. Returns the process, the
/// connection and the time from spawn to the first answer.
#[allow(dead_code)]
pub fn spawn_daemon(
    dir: &Path,
    home: &Path,
) -> Result<(std::process::Child, Client, Duration), Error> {
    let socket = dir.join("codexd.sock");
    let clock = Instant::now();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("codexd.log"))?;
    let mut daemon = std::process::Command::new(env!("CARGO_BIN_EXE_codexd"))
        .arg("--home")
        .arg(home)
        .arg("--socket")
        .arg(&socket)
        .env_remove("CODEX_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()?;
    let client = loop {
        if let Ok(c) = Client::connect(&socket) {
            break c;
        }
        if let Some(status) = daemon.try_wait()? {
            return Err(format!("codexd exited with {status}; see its log").into());
        }
        if clock.elapsed() > Duration::from_secs(300) {
            return Err("codexd did not answer within 300 s".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok((daemon, client, clock.elapsed()))
}
