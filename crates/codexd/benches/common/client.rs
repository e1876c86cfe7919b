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
