//! 64 clients at once against a real `codexd` process: requests per second, latency
//! percentiles per method, and the daemon's peak memory (VmHWM).
//!
//! Run with `cargo bench -p codexd --bench load` (add `-- --secs 10` for longer rounds,
//! `--clients N` for another count, `--runs N` for a bigger history; `CODEX_BENCH_DAEMON`
//! names another codexd binary to measure, e.g. a copy from before a change). The daemon is the release binary of this workspace on a
//! throwaway CODEX_HOME, seeded with runs, ratings and a few goals so `history` and
//! `prefs/show` have something to say. Two shapes, each a timed round after a warm-up:
//! - `persistent`: each client keeps one connection and sends one request at a time (a
//!   long-lived client such as an editor plugin);
//! - `per command`: each request is a new connection that says `hello` first and then asks,
//!   which is what every `codex` command does.
//!
//! The clients mix `hello`, `status`, `history` and `prefs/show` in turn. Latency is from
//! writing the request to reading its whole answer. Every answer is checked to be a result.
//! Clients and daemon share the machine's cores, as on a laptop.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const METHODS: [&str; 4] = ["hello", "status", "history", "prefs/show"];
/// Runs recorded before the load (`--runs N` for more), spread over a few goals, every third
/// one rated.
const SEED_RUNS: u64 = 200;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let secs = flag("--secs", 5);
    let clients = flag("--clients", 64) as usize;
    let runs = flag("--runs", SEED_RUNS);

    let dir = tempfile::tempdir()?;
    let socket = dir.path().join("run").join("codexd.sock");
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project)?;
    std::fs::write(project.join("Cargo.toml"), "[package]\nname = \"bench\"\n")?;
    let mut daemon = Daemon::start(dir.path(), &socket)?;
    seed(&socket, &project, runs)?;
    println!(
        "load: seeded {runs} runs; daemon pid {}, RSS {} KiB before the load",
        daemon.child.id(),
        daemon.memory().rss_kib
    );

    let length = Duration::from_secs(secs);
    for shape in [Shape::Persistent, Shape::PerCommand] {
        let _ = round(
            &socket,
            shape,
            &METHODS,
            clients,
            Duration::from_millis(500),
        )?;
        let cpu = daemon.cpu();
        let r = round(&socket, shape, &METHODS, clients, length)?;
        let used = daemon.cpu().saturating_sub(cpu);
        let mem = daemon.memory();
        r.print(shape, clients, length, &mem, used);
    }
    // Each method alone: what one costs the daemon, so the mix's time can be placed.
    for method in METHODS {
        let solo = [method];
        let cpu = daemon.cpu();
        let r = round(&socket, Shape::Persistent, &solo, clients, length / 2)?;
        let used = daemon.cpu().saturating_sub(cpu);
        let mut t: Vec<Duration> = r.by_method.concat();
        t.sort();
        println!(
            "load: {method:<11} alone, {clients} persistent clients: {:.0} req/s, p50 {}, p99 {}, \
             daemon CPU {:.0} us per request",
            t.len() as f64 / r.wall.as_secs_f64(),
            ms(pct(&t, 50.0)),
            ms(pct(&t, 99.0)),
            used.as_secs_f64() * 1e6 / t.len().max(1) as f64,
        );
    }
    daemon.stop();
    Ok(())
}

/// How clients reach the daemon.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Persistent,
    PerCommand,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Persistent => "persistent",
            Shape::PerCommand => "per command",
        }
    }
}

/// The daemon's memory from /proc: now and its peak.
struct Memory {
    rss_kib: u64,
    hwm_kib: u64,
}

/// Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// A `codexd` process, stopped with SIGTERM (killed if that fails) when done.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(dir: &Path, socket: &Path) -> Result<Daemon, Error> {
        // CODEX_BENCH_DAEMON: another build to compare with (e.g. a copy from before a change).
        let bin = std::env::var_os("CODEX_BENCH_DAEMON").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_codexd")),
            PathBuf::from,
        );
        let log = std::fs::File::create(dir.join("codexd.log"))?;
        let child = Command::new(&bin)
            .arg("--home")
            .arg(dir.join("home"))
            .arg("--socket")
            .arg(socket)
            .args(["--log-level", "warn"])
            .env("TMPDIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let daemon = Daemon { child };
        let start = Instant::now();
        while UnixStream::connect(socket).is_err() {
            if start.elapsed() > Duration::from_secs(15) {
                return Err(format!(
                    "codexd did not come up; see {}",
                    dir.join("codexd.log").display()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(daemon)
    }

    fn memory(&self) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Memory {
            rss_kib: field("VmRSS:"),
            hwm_kib: field("VmHWM:"),
        }
    }

    /// CPU time the daemon has used so far (user + system), from /proc/PID/stat.
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = stat.rsplit(')').next().unwrap_or_default();
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
        let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
        Duration::from_secs_f64(ticks as f64 / TICKS_PER_SEC)
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// A line client: one request at a time.
struct Conn {
    reader: BufReader<UnixStream>,
    line: String,
    next_id: u64,
}

impl Conn {
    fn open(socket: &Path) -> Result<Conn, Error> {
        let s = UnixStream::connect(socket)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            reader: BufReader::new(s),
            line: String::new(),
            next_id: 1,
        })
    }

    /// Send one request and read its answer (skipping notifications); checks it is a result.
    fn call(&mut self, method: &str, params: &Value) -> Result<Value, Error> {
        let id = self.next_id;
        self.next_id += 1;
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.reader
            .get_mut()
            .write_all(format!("{req}\n").as_bytes())?;
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 {
                return Err(format!("`{method}`: the daemon closed the connection").into());
            }
            let v: Value = serde_json::from_str(&self.line)?;
            if v["id"] == id {
                return match v.get("result") {
                    Some(r) => Ok(r.clone()),
                    None => Err(format!("`{method}` failed: {}", v["error"]).into()),
                };
            }
        }
    }
}

fn params(method: &str) -> Value {
    match method {
        "hello" => json!({"client": "bench", "protocol": 1}),
        _ => json!({}),
    }
}

/// Record runs of a few goals and rate some, so the answers are not empty.
fn seed(socket: &Path, project: &Path, runs: u64) -> Result<(), Error> {
    let goals = [
        "run the tests",
        "build it",
        "lint",
        "format the code",
        "deploy",
    ];
    let mut c = Conn::open(socket)?;
    for i in 0..runs as usize {
        let goal = goals[i % goals.len()];
        let argv = if i % 7 == 0 { ["false"] } else { ["true"] };
        let run = c.call(
            "run",
            &json!({"argv": argv, "cwd": project, "goal": goal, "yes": true}),
        )?;
        if i % 3 == 0 {
            c.call(
                "rate",
                &json!({"run_id": run["run_id"], "score": 1 + (i % 5) as u64}),
            )?;
        }
    }
    Ok(())
}

/// Latencies of one round, by method.
struct Round {
    by_method: Vec<Vec<Duration>>,
    wall: Duration,
}

impl Round {
    fn print(&self, shape: Shape, clients: usize, length: Duration, mem: &Memory, cpu: Duration) {
        let mut all: Vec<Duration> = self.by_method.iter().flatten().copied().collect();
        all.sort();
        let total = all.len();
        // A command is a connection, its hello and its request (two requests but for hello).
        let unit = match shape {
            Shape::Persistent => "req/s",
            Shape::PerCommand => "commands/s",
        };
        println!(
            "load: {clients} clients, {}, {} s: {:.0} {unit}, p50 {}, p99 {}, max {}; \
             daemon CPU {:.0} us per {} ({:.2} cores); daemon RSS {} KiB, peak (VmHWM) {} KiB",
            shape.name(),
            length.as_secs(),
            total as f64 / self.wall.as_secs_f64(),
            ms(pct(&all, 50.0)),
            ms(pct(&all, 99.0)),
            ms(all.last().copied().unwrap_or_default()),
            cpu.as_secs_f64() * 1e6 / total.max(1) as f64,
            unit.trim_end_matches("s/s").trim_end_matches("/s"),
            cpu.as_secs_f64() / self.wall.as_secs_f64(),
            mem.rss_kib,
            mem.hwm_kib,
        );
        for (method, times) in METHODS.iter().zip(&self.by_method) {
            let mut t = times.clone();
            t.sort();
            println!(
                "load:   {method:<11} {:>7} requests, p50 {}, p99 {}",
                t.len(),
                ms(pct(&t, 50.0)),
                ms(pct(&t, 99.0)),
            );
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p / 100.0).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Every client sends requests of `methods` in turn until `length` has passed.
fn round(
    socket: &Path,
    shape: Shape,
    methods: &[&'static str],
    clients: usize,
    length: Duration,
) -> Result<Round, Error> {
    let start = Instant::now();
    let deadline = start + length;
    let workers: Vec<_> = (0..clients)
        .map(|n| {
            let socket = socket.to_path_buf();
            let methods = methods.to_vec();
            std::thread::spawn(move || client(socket, shape, &methods, n, deadline))
        })
        .collect();
    let mut by_method = vec![Vec::new(); methods.len()];
    for w in workers {
        let got = w.join().map_err(|_| "a client thread panicked")??;
        for (all, mine) in by_method.iter_mut().zip(got) {
            all.extend(mine);
        }
    }
    Ok(Round {
        by_method,
        wall: start.elapsed(),
    })
}

/// One client's latencies by method.
fn client(
    socket: PathBuf,
    shape: Shape,
    methods: &[&str],
    n: usize,
    deadline: Instant,
) -> Result<Vec<Vec<Duration>>, Error> {
    let mut times = vec![Vec::new(); methods.len()];
    let mut conn = match shape {
        Shape::Persistent => Some(Conn::open(&socket)?),
        Shape::PerCommand => None,
    };
    // Start each client at another method so all four are in flight at once.
    let mut i = n;
    while Instant::now() < deadline {
        let m = i % methods.len();
        let method = methods[m];
        i += 1;
        let t = Instant::now();
        match &mut conn {
            Some(c) => {
                c.call(method, &params(method))?;
            }
            None => {
                let mut c = Conn::open(&socket)?;
                c.call("hello", &params("hello"))?;
                if method != "hello" {
                    c.call(method, &params(method))?;
                }
            }
        }
        times[m].push(t.elapsed());
    }
    Ok(times)
}
