//! Test harness for the end-to-end suite: a private CODEX_HOME and socket per test, the real
//! `codexd` and `codex` binaries, and a raw line client for protocol tests.
//!
//! Binaries are taken from the cargo target folder of this test executable
//! (`target/<profile>/codexd`). `cargo test --workspace` builds them, because the codexd and
//! codex-cli packages have integration tests of their own. Every wait here is bounded, so a
//! broken daemon fails a test instead of hanging the suite; no bound is a performance claim.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// Path of a binary built from this workspace.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target folder");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the workspace first (`cargo build --workspace`, or run the suite \
         with `cargo test --workspace`)",
        path.display()
    );
    path
}

/// A private CODEX_HOME, socket and config folder, removed when dropped.
pub struct Home {
    /// Keeps the folder alive.
    pub dir: TempDir,
    /// CODEX_HOME.
    pub home: PathBuf,
    /// The socket path.
    pub socket: PathBuf,
    /// Extra environment for every process started from here.
    pub env: Vec<(String, String)>,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    /// A fresh, empty home.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("codex-e2e-")
            .tempdir()
            .expect("tempdir");
        let home = dir.path().join("home");
        let socket = dir.path().join("run").join("codexd.sock");
        Home {
            dir,
            home,
            socket,
            env: Vec::new(),
        }
    }

    /// Use this YAML as the config (through CODEX_CONFIG).
    pub fn with_config(mut self, yaml: &str) -> Self {
        let path = self.dir.path().join("config.yaml");
        std::fs::write(&path, yaml).unwrap();
        self.env
            .push(("CODEX_CONFIG".into(), path.display().to_string()));
        self
    }

    /// Set an environment variable for both codex and codexd.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Put stand-ins for these programs first on PATH (for codex, codexd and the steps):
    /// each prints its name and arguments and exits 0. Plans are offered only for programs
    /// that are installed, so a test about planning must not depend on what this machine has.
    pub fn with_programs(mut self, names: &[&str]) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let bin = self.dir.path().join("stub-bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in names {
            let p = bin.join(name);
            std::fs::write(&p, format!("#!/bin/sh\necho \"{name} $*\"\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        self.env.retain(|(k, _)| k != "PATH");
        self.env.push(("PATH".into(), path));
        self
    }

    /// The temp folder every process started from here uses (`TMPDIR`).
    pub fn tmp(&self) -> PathBuf {
        let t = self.dir.path().join("tmp");
        let _ = std::fs::create_dir_all(&t);
        t
    }

    /// A file below CODEX_HOME.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    fn isolate(&self, cmd: &mut Command) {
        let tmp = self.dir.path();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", tmp)
            .env("XDG_CONFIG_HOME", tmp.join("xdg-config"))
            .env("XDG_DATA_HOME", tmp.join("xdg-data"))
            .env("CODEX_HOME", &self.home)
            .env("CODEX_SOCKET", &self.socket)
            // The daemon's steps get their temp folders in here, removed with the test's.
            .env("TMPDIR", self.tmp())
            .env("RUST_LOG", "debug");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    /// Any program with this home's environment (codex and codexd find this home's daemon).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.isolate(&mut cmd);
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    /// A `codex` command with this home's environment.
    pub fn codex_cmd(&self) -> Command {
        let mut cmd = Command::new(bin("codex"));
        self.isolate(&mut cmd);
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    /// A `codexd` command with this home's environment.
    pub fn codexd_cmd(&self) -> Command {
        let mut cmd = Command::new(bin("codexd"));
        self.isolate(&mut cmd);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Run `codex --no-autostart ARGS` to completion.
    pub fn codex(&self, args: &[&str]) -> Run {
        let out = self
            .codex_cmd()
            .arg("--no-autostart")
            .args(args)
            .output()
            .expect("spawn codex");
        Run::from(out)
    }

    /// Run `codex --no-autostart ARGS` in `dir` to completion.
    pub fn codex_in(&self, dir: &Path, args: &[&str]) -> Run {
        let out = self
            .codex_cmd()
            .current_dir(dir)
            .arg("--no-autostart")
            .args(args)
            .output()
            .expect("spawn codex");
        Run::from(out)
    }

    /// Run `codex --no-autostart ARGS` with `input` on its stdin (not a terminal).
    pub fn codex_with_input(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .codex_cmd()
            .arg("--no-autostart")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn codex");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        Run::from(child.wait_with_output().expect("wait codex"))
    }

    /// Run `codex --no-autostart ARGS` in `dir` on a pseudo-terminal (through util-linux
    /// `script`), typing `input` once it asks a y/N question, as a person answers a prompt
    /// (typed earlier, it would go to a step running on the terminal, as at a real one).
    /// `None` when `script` is not installed (the caller skips, saying so).
    pub fn codex_in_pty(&self, dir: &Path, args: &[&str], input: &str) -> Option<Run> {
        let util_linux = Command::new("script")
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("util-linux"));
        if !util_linux {
            skipped("util-linux `script` is not installed");
            return None;
        }
        let mut words = vec![bin("codex").display().to_string(), "--no-autostart".into()];
        words.extend(args.iter().map(|a| a.to_string()));
        let line = shlex::try_join(words.iter().map(String::as_str)).expect("no NUL bytes");
        let mut cmd = Command::new("script");
        self.isolate(&mut cmd);
        let mut child = cmd
            .args(["-qec", &line, "/dev/null"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn script");
        let read_all = |from: Option<Box<dyn std::io::Read + Send>>| {
            let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = got.clone();
            let reader = std::thread::spawn(move || {
                let Some(mut from) = from else { return };
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = from.read(&mut buf) {
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
            (got, reader)
        };
        use std::io::Read as _;
        let (stdout, out_reader) = read_all(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        );
        let (stderr, err_reader) = read_all(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        );
        if let Some(mut stdin) = child.stdin.take() {
            if !input.is_empty() {
                let start = Instant::now();
                let asked = || {
                    let shown = String::from_utf8_lossy(&stdout.lock().unwrap()).into_owned();
                    shown.contains("[y/N]") || shown.contains("[Y/n]")
                };
                // Bounded: a prompt that never comes fails the caller's own assertions.
                while !asked() && start.elapsed() < WAIT {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            let _ = stdin.write_all(input.as_bytes());
            // Keep stdin open until codex is done: closing it early ends the session.
            std::thread::spawn(move || {
                std::thread::sleep(WAIT);
                drop(stdin);
            });
        }
        let status = child.wait().expect("wait script");
        let _ = out_reader.join();
        let _ = err_reader.join();
        let take =
            |b: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>| std::mem::take(&mut *b.lock().unwrap());
        Some(Run::from(Output {
            status,
            stdout: take(&stdout),
            stderr: take(&stderr),
        }))
    }

    /// The temp folder this home lives in (a place for projects and fixtures).
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// A project folder `name` in the scratch folder holding these files (paths may have
    /// folders).
    pub fn project(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.scratch().join(name);
        std::fs::create_dir_all(&dir).expect("create project");
        for (file, text) in files {
            let path = dir.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create project folder");
            }
            std::fs::write(path, text).expect("write project file");
        }
        dir
    }

    /// `codex --json plan GOAL` in `dir`: the plan result (exit 0, or 2 when nothing maps).
    pub fn plan(&self, dir: &Path, goal: &str) -> Value {
        let out = self.codex_in(dir, &["--json", "plan", goal]);
        assert!(matches!(out.code, Some(0) | Some(2)), "{}", out.stderr);
        serde_json::from_str(out.stdout.trim()).expect("plan JSON")
    }

    /// Semantic knowledge as on disk: its snapshot and journal, one after the other.
    pub fn knowledge_text(&self) -> String {
        ["json", "journal.jsonl"]
            .map(|ext| {
                std::fs::read_to_string(
                    self.path(&format!("storage/semantic/personalized_knowledge.{ext}")),
                )
                .unwrap_or_default()
            })
            .concat()
    }

    /// Whether the running daemon's sandbox is enforced here; when not, says why (a skip).
    pub fn sandbox_enforced(&self) -> bool {
        let st = self.codex(&["--json", "status"]).ok().json();
        if st["sandbox"]["enforced"] != true {
            skipped(&format!(
                "the sandbox is not enforced here: {}",
                st["sandbox"]["reason"]
            ));
            return false;
        }
        true
    }

    /// Run `codex ARGS` (autostart allowed) to completion.
    pub fn codex_autostart(&self, args: &[&str]) -> Run {
        Run::from(self.codex_cmd().args(args).output().expect("spawn codex"))
    }

    /// Start codexd and wait until it answers.
    pub fn start(&self) -> Daemon {
        let d = self.spawn_daemon(&[]);
        d.wait_ready(self);
        d
    }

    /// Spawn codexd with extra args, without waiting.
    pub fn spawn_daemon(&self, args: &[&str]) -> Daemon {
        let log = self.dir.path().join(format!("codexd-{}.log", unique()));
        let child = self
            .codexd_cmd()
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn codexd");
        Daemon { child, log }
    }

    /// A raw JSON-RPC line client.
    pub fn connect(&self) -> Raw {
        Raw::connect(&self.socket)
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A finished `codex` invocation.
#[derive(Debug)]
pub struct Run {
    /// Exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// stdout as text.
    pub stdout: String,
    /// stderr as text.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Assert exit status 0 and return self.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code,
            Some(0),
            "expected success:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Assert the exit status.
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout parsed as one JSON value.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// The `finished` event of `codex --json run`.
    pub fn finished(&self) -> Value {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["event"] == "finished")
            .unwrap_or_else(|| panic!("no finished event: {}\n{}", self.stdout, self.stderr))
    }
}

/// A codexd process; killed with SIGKILL if still running when dropped.
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until it answers a `hello` on its socket (or fail, showing the log). A connect
    /// alone is not enough: a socket file can accept for a moment after its daemon is gone.
    pub fn wait_ready(&self, home: &Home) {
        let start = Instant::now();
        let answers = || -> std::io::Result<bool> {
            use std::io::{BufRead as _, Write as _};
            let mut s = UnixStream::connect(&home.socket)?;
            s.set_read_timeout(Some(Duration::from_secs(1)))?;
            s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":1}}\n")?;
            let mut line = String::new();
            std::io::BufReader::new(s).read_line(&mut line)?;
            Ok(line.contains("\"result\""))
        };
        loop {
            if answers().unwrap_or(false) {
                return;
            }
            assert!(
                start.elapsed() < WAIT,
                "codexd did not come up; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Send a signal.
    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, sig).unwrap();
    }

    /// Wait for it to exit on its own.
    pub fn wait(mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                start.elapsed() < WAIT,
                "codexd did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Wait for exit and return the status together with the log.
    pub fn wait_with_log(self) -> (ExitStatus, String) {
        let log = self.log.clone();
        let st = self.wait();
        (st, std::fs::read_to_string(log).unwrap_or_default())
    }

    /// SIGTERM and wait.
    pub fn stop(self) -> ExitStatus {
        self.signal(rustix::process::Signal::TERM);
        self.wait()
    }

    /// SIGKILL and wait: a crash.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A raw line-oriented JSON-RPC client.
pub struct Raw {
    reader: BufReader<UnixStream>,
}

impl Raw {
    /// Connect to `socket`.
    pub fn connect(socket: &Path) -> Self {
        let s = UnixStream::connect(socket).expect("connect");
        s.set_read_timeout(Some(WAIT)).unwrap();
        Raw {
            reader: BufReader::new(s),
        }
    }

    /// Write raw bytes.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    /// Read one line as JSON; `None` at end of stream.
    pub fn read(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line ({e}): {line}")),
            ),
            Err(e) => panic!("read failed: {e}"),
        }
    }

    /// Send one line and read the next message.
    pub fn ask(&mut self, line: &str) -> Value {
        self.write(format!("{line}\n").as_bytes()).unwrap();
        self.read().expect("an answer")
    }

    /// Call a method with params and return the whole response.
    pub fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        let req =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.ask(&req.to_string())
    }
}

/// Whether a process is running (not gone, not a zombie).
pub fn process_running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            state != Some("Z")
        })
        .unwrap_or(false)
}

/// Poll `cond` until true or [`WAIT`] passes.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Poll `cond` every `every` until true or `limit` passes: for waits on a sequence of timed
/// events (a job backing off over several intervals), still bounded.
pub fn eventually_for(
    what: &str,
    limit: Duration,
    every: Duration,
    mut cond: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for: {what}"
        );
        std::thread::sleep(every);
    }
}

/// Non-empty lines of a file (empty when missing).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// A loopback server answering `POST /v1/embeddings` like an OpenAI-compatible endpoint:
/// each input text gets `vector(text)`. Returns its base URL (`http://127.0.0.1:PORT/v1`) and
/// a count of the requests it answered; it serves until the test process ends.
pub fn embedding_server(
    vector: fn(&str) -> Vec<f32>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let served = std::sync::Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
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
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                continue;
            }
            let req: Value = serde_json::from_slice(&body).unwrap_or_default();
            let data: Vec<Value> = req["input"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    serde_json::json!({"index": i, "embedding": vector(t.as_str().unwrap_or(""))})
                })
                .collect();
            let out = serde_json::json!({"object": "list", "data": data}).to_string();
            // Counted before answering: whoever has the answer sees the count.
            count.fetch_add(1, Ordering::SeqCst);
            let mut s = r.into_inner();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{out}",
                out.len()
            );
        }
    });
    (format!("http://{addr}/v1"), served)
}

/// Whether `program` is on PATH here; tests that need it skip, saying so, where it is not.
pub fn have(program: &str) -> bool {
    // On PATH as an executable file (`dash` has no `--version`, so asking it is no test).
    use std::os::unix::fs::PermissionsExt;
    let there = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if !there {
        skipped(&format!("`{program}` is not installed"));
    }
    there
}

/// Where skipped checks are counted: `target/<profile>/e2e-skipped.txt`, one line each.
/// `.ci/run` empties it before the suite and prints the count after.
pub fn skip_log() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(Path::parent).expect("target folder");
    dir.join("e2e-skipped.txt")
}

/// Say why a check is skipped here, and count it (a skip is never a silent pass).
pub fn skipped(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("unknown test")
        .to_string();
    eprintln!("SKIPPED {test}: {reason}");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_log())
    {
        let _ = writeln!(f, "{test}: {reason}");
    }
}

/// What a fake chat endpoint answers: status, body, and how long it waits first.
pub struct ChatReply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
    /// Wait before answering.
    pub delay: std::time::Duration,
}

impl ChatReply {
    /// A 200 chat completion whose message is `content`.
    pub fn content(content: &str) -> ChatReply {
        ChatReply {
            status: 200,
            body: serde_json::json!({
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
            })
            .to_string(),
            delay: std::time::Duration::ZERO,
        }
    }

    /// A 200 completion proposing these steps (argv, reason).
    pub fn plan(steps: &[(&[&str], &str)]) -> ChatReply {
        let steps: Vec<Value> = steps
            .iter()
            .map(|(argv, reason)| serde_json::json!({"argv": argv, "reason": reason}))
            .collect();
        ChatReply::content(&serde_json::json!({ "steps": steps }).to_string())
    }

    /// Any status and body.
    pub fn raw(status: u16, body: &str) -> ChatReply {
        ChatReply {
            status,
            body: body.to_string(),
            delay: std::time::Duration::ZERO,
        }
    }

    /// The same, after `delay`.
    pub fn after(mut self, delay: std::time::Duration) -> ChatReply {
        self.delay = delay;
        self
    }
}

/// A request the fake chat endpoint received: its request line and headers, and its body.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// Request line and headers.
    pub head: String,
    /// The JSON body.
    pub body: Value,
}

/// A loopback OpenAI-compatible chat endpoint (`POST /v1/chat/completions`) answering each
/// request with what `answer` says for it (its number from 0, and its body). Each request is
/// served on a thread of its own, so a slow answer holds up no other. Stopped when dropped
/// or by [`ChatServer::stop`]: then nothing listens on its port.
pub struct ChatServer {
    /// `http://127.0.0.1:PORT/v1`.
    pub url: String,
    /// Every request received, in order.
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<ChatRequest>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    addr: std::net::SocketAddr,
}

impl ChatServer {
    /// Start serving.
    pub fn start(answer: impl Fn(usize, &Value) -> ChatReply + Send + Sync + 'static) -> Self {
        use std::io::Read;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let requests: Arc<Mutex<Vec<ChatRequest>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped, answer) = (requests.clone(), stop.clone(), Arc::new(answer));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (seen, answer) = (seen.clone(), answer.clone());
                std::thread::spawn(move || {
                    let mut r = BufReader::new(stream);
                    let (mut head, mut len) = (String::new(), 0usize);
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        head.push_str(&line);
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let n = {
                        let mut s = seen.lock().expect("requests");
                        s.push(ChatRequest {
                            head,
                            body: body.clone(),
                        });
                        s.len() - 1
                    };
                    let reply = answer(n, &body);
                    std::thread::sleep(reply.delay);
                    let mut s = r.into_inner();
                    let _ = write!(
                        s,
                        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n",
                        reply.status,
                        reply.body.len()
                    );
                    let _ = s.write_all(reply.body.as_bytes());
                });
            }
        });
        ChatServer {
            url: format!("http://{addr}/v1"),
            requests,
            stop,
            addr,
        }
    }

    /// Requests received so far.
    pub fn count(&self) -> usize {
        self.requests.lock().expect("requests").len()
    }

    /// Stop listening: connections to its port are refused from now on.
    pub fn stop(&self) {
        use std::sync::atomic::Ordering;
        if !self.stop.swap(true, Ordering::SeqCst) {
            // Wake the accept loop so it sees the flag and drops the listener.
            let _ = std::net::TcpStream::connect(self.addr);
            eventually("the fake chat endpoint stops listening", || {
                std::net::TcpStream::connect(self.addr).is_err()
            });
        }
    }
}

impl Drop for ChatServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The user message of a chat request (what the model was told about the goal).
pub fn chat_user_message(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}
