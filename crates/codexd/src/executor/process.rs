//! Running one command: spawn without a shell in its own process group, stream its output,
//! and on cancellation stop the whole group (SIGTERM, then SIGKILL after a grace period).

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_proto::types::{OutputStream, RunId, RunOutcome};
use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::pty::{Pty, Terminal};

/// Read size for output pipes.
const CHUNK: usize = 16 * 1024;

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// What starts it (the sandbox helper and its arguments, ending in `--`); empty to
    /// start the program directly.
    pub launcher: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Environment; `None` inherits the daemon's.
    pub env: Option<BTreeMap<String, String>>,
}

/// Something the client should see (or answer) about a run.
#[derive(Debug)]
pub enum Update {
    /// A step needs approval: ask the person at the terminal.
    Approval(Box<super::ApprovalAsk>),
    /// The process is running.
    Started {
        /// The run it belongs to.
        run_id: RunId,
        /// Its pid (also its process group and session id).
        pid: Option<u32>,
        /// Whether it runs in the sandbox.
        confined: bool,
        /// Something the user should know about how it runs (once per run).
        note: Option<String>,
    },
    /// Nobody is attached and the step needs a yes: it waits in `codex approvals` as this
    /// approval (the run answers once it is given, refused or expired).
    Held {
        /// The approval's id.
        approval: u64,
        /// Why it needs a yes.
        why: String,
    },
    /// A chunk of output.
    Output {
        /// Which stream.
        stream: OutputStream,
        /// The text (invalid UTF-8 replaced).
        data: String,
    },
    /// Bytes the step wrote to its terminal (a run on a pseudo-terminal), as written.
    Terminal {
        /// The bytes.
        data: Vec<u8>,
    },
}

/// Timing limits for a run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// SIGTERM-to-SIGKILL grace on cancellation.
    pub cancel_grace: Duration,
    /// How long output is read after the process exits.
    pub drain: Duration,
    /// Bytes of output kept for the episode (the tail).
    pub output_tail: usize,
    /// Longest the command may run before its group is stopped.
    pub timeout: Duration,
}

/// How a command ended, and the end of what it printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// How it ended.
    pub outcome: RunOutcome,
    /// The last `Limits::output_tail` bytes of stdout and stderr, interleaved as they came.
    pub output_tail: String,
}

/// What the client is told when the process starts.
#[derive(Debug, Clone)]
pub struct Started {
    /// The run.
    pub run_id: RunId,
    /// Whether it runs in the sandbox.
    pub confined: bool,
    /// A note for the user.
    pub note: Option<String>,
}

/// Run `spec` to completion or cancellation, on `terminal` when given (else with pipes and
/// stdin from `/dev/null`). Updates that cannot be delivered (client gone) are dropped;
/// output is still read so the command never blocks on a full pipe or terminal. The
/// process is recorded in `steps` as one of codexd's own.
pub async fn run(
    spec: &Spec,
    started: Started,
    updates: &mpsc::Sender<Update>,
    cancel: &CancellationToken,
    limits: Limits,
    steps: &super::steps::Steps,
    terminal: Option<Terminal>,
) -> Finished {
    let out = Streams {
        updates,
        tail: Arc::new(Mutex::new(Tail::new(limits.output_tail))),
        terminal,
    };
    let tail = out.tail.clone();
    let outcome = run_inner(spec, started, out, cancel, limits, steps).await;
    let output_tail = tail.lock().map(|mut t| t.take()).unwrap_or_default();
    Finished {
        outcome,
        output_tail,
    }
}

/// Where a run's output goes, and the terminal it runs on when it has one.
struct Streams<'a> {
    updates: &'a mpsc::Sender<Update>,
    tail: Arc<Mutex<Tail>>,
    terminal: Option<Terminal>,
}

async fn run_inner(
    spec: &Spec,
    started: Started,
    out: Streams<'_>,
    cancel: &CancellationToken,
    limits: Limits,
    steps: &super::steps::Steps,
) -> RunOutcome {
    let Streams {
        updates,
        tail,
        terminal,
    } = out;
    let Some(program) = spec.argv.first() else {
        return RunOutcome::FailedToStart {
            error: "empty command".into(),
            not_found: true,
        };
    };
    // The launcher always starts, so a missing program is found here, as a shell would.
    if !spec.launcher.is_empty() && !findable(program, spec) {
        return RunOutcome::FailedToStart {
            error: not_found_message(program),
            not_found: true,
        };
    }
    let mut full = spec.launcher.iter().chain(&spec.argv);
    let Some(first) = full.next() else {
        return RunOutcome::FailedToStart {
            error: "empty command".into(),
            not_found: true,
        };
    };
    let mut cmd = Command::new(first);
    cmd.args(full).current_dir(&spec.cwd).kill_on_drop(true);
    // On a terminal: the slave is all three (the helper makes it the controlling terminal).
    let (pty, input) = match terminal {
        Some(t) => match Pty::open(t.size).and_then(|p| p.stdio().map(|io| (p, io))) {
            Ok((pty, [i, o, e])) => {
                cmd.stdin(i).stdout(o).stderr(e);
                (Some(pty), Some(t.input))
            }
            Err(e) => {
                return RunOutcome::FailedToStart {
                    error: e.to_string(),
                    not_found: false,
                };
            }
        },
        None => {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            (None, None)
        }
    };
    if spec.launcher.is_empty() {
        // Its own group, so cancellation reaches every process it starts, and a Ctrl-C in
        // the daemon's terminal (when run in the foreground) does not. (The sandbox helper
        // makes a session of its own instead, which also makes a group.)
        cmd.process_group(0);
    }
    if let Some(env) = &spec.env {
        cmd.env_clear().envs(env);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let not_found = e.kind() == std::io::ErrorKind::NotFound;
            let error = if not_found {
                not_found_message(program)
            } else {
                format!("{program}: {e}")
            };
            return RunOutcome::FailedToStart { error, not_found };
        }
    };
    // The command keeps its copies of the slave until dropped: the terminal would never
    // read as closed after the step.
    drop(cmd);
    let pid = child.id();
    if let Some(p) = pid {
        steps.started(p);
    }
    let _ = updates
        .send(Update::Started {
            run_id: started.run_id,
            pid,
            confined: started.confined,
            note: started.note,
        })
        .await;
    // The terminal stays open until the step is reaped: a step that closes its stdio before
    // exiting (coreutils do) ends the relay, and closing the last master then would hang the
    // terminal up and kill the step with SIGHUP before its own exit.
    let hold_open = pty.as_ref().and_then(|p| p.master.try_clone().ok());
    let mut pumps = tokio::task::JoinSet::new();
    if let (Some(pty), Some(input)) = (pty, input) {
        pumps.spawn(super::pty::relay(
            pty.into_master(),
            input,
            updates.clone(),
            tail.clone(),
        ));
    }
    if let Some(out) = child.stdout.take() {
        pumps.spawn(pump(
            out,
            OutputStream::Stdout,
            updates.clone(),
            tail.clone(),
        ));
    }
    if let Some(err) = child.stderr.take() {
        pumps.spawn(pump(
            err,
            OutputStream::Stderr,
            updates.clone(),
            tail.clone(),
        ));
    }

    let outcome = tokio::select! {
        status = child.wait() => match status {
            Ok(st) => match (st.code(), st.signal()) {
                (Some(code), _) => RunOutcome::Exited { code },
                (None, Some(signal)) => RunOutcome::Signaled { signal },
                (None, None) => RunOutcome::Exited { code: -1 },
            },
            Err(e) => {
                warn!(?pid, "lost track of the process ({e}); stopping its group");
                stop_group(&mut child, pid, limits.cancel_grace).await;
                RunOutcome::Cancelled
            }
        },
        _ = cancel.cancelled() => {
            debug!(?pid, "run cancelled; stopping its process group");
            stop_group(&mut child, pid, limits.cancel_grace).await;
            RunOutcome::Cancelled
        }
        _ = tokio::time::sleep(limits.timeout) => {
            debug!(?pid, "run timed out; stopping its process group");
            stop_group(&mut child, pid, limits.cancel_grace).await;
            RunOutcome::TimedOut { after_secs: limits.timeout.as_secs() }
        }
    };

    drop(hold_open);
    // Background children may hold the pipes open after the command exits: read what comes
    // within the drain window, then let go.
    let drained = tokio::time::timeout(limits.drain, async {
        while pumps.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        debug!(?pid, "output still open after exit; stopped reading");
        pumps.abort_all();
    }
    outcome
}

/// Whether `program` would be found: a path (relative to the working directory), or a name
/// on the step's `PATH`.
fn findable(program: &str, spec: &Spec) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return runnable(&spec.cwd.join(program));
    }
    let path = spec
        .env
        .as_ref()
        .and_then(|e| e.get("PATH").cloned())
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    path.split(':')
        .filter(|d| !d.is_empty())
        .any(|d| runnable(&spec.cwd.join(d).join(program)))
}

/// SIGTERM the group, wait up to `grace` for the leader, then SIGKILL whatever is left.
async fn stop_group(child: &mut Child, pid: Option<u32>, grace: Duration) {
    let group = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(Pid::from_raw);
    if let Some(g) = group {
        let _ = kill_process_group(g, Signal::TERM);
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        debug!(?pid, "process group ignored SIGTERM; sending SIGKILL");
    }
    // Also catches members that outlived a leader which did exit on SIGTERM.
    if let Some(g) = group {
        let _ = kill_process_group(g, Signal::KILL);
    }
    let _ = child.wait().await;
}

async fn pump(
    mut src: impl AsyncRead + Unpin,
    stream: OutputStream,
    updates: mpsc::Sender<Update>,
    tail: Arc<Mutex<Tail>>,
) {
    let mut buf = vec![0u8; CHUNK];
    let mut text = Utf8Stream::default();
    let mut deliver = true;
    loop {
        let n = match src.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = text.push(&buf[..n]);
        if let Ok(mut t) = tail.lock() {
            t.push(&data);
        }
        if deliver
            && !data.is_empty()
            && updates.send(Update::Output { stream, data }).await.is_err()
        {
            deliver = false; // client gone; keep reading so the command is not blocked
        }
    }
    let rest = text.finish();
    if let Ok(mut t) = tail.lock() {
        t.push(&rest);
    }
    if deliver && !rest.is_empty() {
        let _ = updates.send(Update::Output { stream, data: rest }).await;
    }
}

/// The last `cap` bytes of a text, cut at a character boundary. Trims lazily (at twice the
/// cap) so a chatty command costs an occasional copy, not one per chunk.
#[derive(Debug)]
pub struct Tail {
    buf: String,
    cap: usize,
    cut: bool,
}

impl Tail {
    /// An empty tail keeping `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Tail {
            buf: String::new(),
            cap,
            cut: false,
        }
    }

    /// Append text.
    pub fn push(&mut self, text: &str) {
        if self.cap == 0 {
            return;
        }
        self.buf.push_str(text);
        if self.buf.len() > self.cap.saturating_mul(2) {
            self.trim();
        }
    }

    /// The kept text, leaving the tail empty. When the front was cut, the partial first
    /// line goes too: half a token no longer looks like a token, and redaction (which runs
    /// on this text) would miss it.
    pub fn take(&mut self) -> String {
        self.trim();
        if self.cut {
            // Past the separator found, whatever its width (a no-break space is two bytes).
            let start = self
                .buf
                .char_indices()
                .find(|(_, c)| *c == '\n')
                .or_else(|| self.buf.char_indices().find(|(_, c)| c.is_whitespace()))
                .map_or(self.buf.len(), |(i, c)| i + c.len_utf8());
            self.buf.drain(..start);
        }
        std::mem::take(&mut self.buf)
    }

    fn trim(&mut self) {
        if self.buf.len() <= self.cap {
            return;
        }
        let mut cut = self.buf.len() - self.cap;
        while !self.buf.is_char_boundary(cut) {
            cut += 1;
        }
        self.buf.drain(..cut);
        self.cut = true;
    }
}

/// Turns a byte stream into text chunk by chunk, holding back a UTF-8 sequence split across
/// reads instead of mangling it.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    carry: Vec<u8>,
}

impl Utf8Stream {
    /// Feed bytes; returns the text that is complete so far.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(bytes);
        let mut out = String::with_capacity(data.len());
        let mut rest = &data[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    out.push_str(&String::from_utf8_lossy(valid));
                    match e.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None => {
                            self.carry = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// The end of the stream: anything held back was an incomplete sequence.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.carry);
        String::from_utf8_lossy(&rest).into_owned()
    }
}

/// Builtins of the shell: no program by these names exists to run, and one that did could not
/// change the caller's shell anyway.
const SHELL_BUILTINS: &[&str] = &[
    "cd", "pushd", "popd", "source", ".", "export", "alias", "unalias", "unset", "set", "exit",
    "shopt", "ulimit", "umask", "history", "fg", "bg", "jobs",
];

/// When `program` is a shell builtin: that it is one, and how to use it.
pub(crate) fn shell_builtin(program: &str) -> Option<String> {
    SHELL_BUILTINS.contains(&program).then(|| {
        format!(
            "{program}: a shell builtin, not a program: codex runs commands without a shell, \
             and a step cannot change your shell's directory or environment; use it inside \
             one step, e.g. `codex run -- sh -c '{program} ... && COMMAND'`"
        )
    })
}

/// What a shell says of a program it cannot find, except that a shell builtin is named as
/// one, with how to use it.
fn not_found_message(program: &str) -> String {
    shell_builtin(program).unwrap_or_else(|| format!("{program}: command not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sequences_are_joined_and_bad_bytes_replaced() {
        let mut s = Utf8Stream::default();
        let euro = "€".as_bytes(); // 3 bytes
        assert_eq!(s.push(&[b'a', euro[0]]), "a");
        assert_eq!(s.push(&euro[1..]), "€");
        assert_eq!(s.push(&[0xff, b'b']), "\u{FFFD}b");
        assert_eq!(s.push(&euro[..2]), "");
        assert_eq!(s.finish(), "\u{FFFD}");
    }

    fn started() -> Started {
        Started {
            run_id: RunId(1),
            confined: false,
            note: None,
        }
    }

    fn spec(argv: &[&str]) -> Spec {
        Spec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: std::env::temp_dir(),
            ..Spec::default()
        }
    }

    const LIMITS: Limits = Limits {
        cancel_grace: Duration::from_millis(500),
        drain: Duration::from_millis(500),
        output_tail: 16,
        timeout: Duration::from_secs(60),
    };

    async fn collect(argv: &[&str]) -> (RunOutcome, String, String) {
        let (f, out, err) = collect_all(argv).await;
        (f.outcome, out, err)
    }

    async fn collect_all(argv: &[&str]) -> (Finished, String, String) {
        let (tx, mut rx) = mpsc::channel(64);
        let outcome = run(
            &spec(argv),
            started(),
            &tx,
            &CancellationToken::new(),
            LIMITS,
            &Default::default(),
            None,
        )
        .await;
        drop(tx);
        let (mut out, mut err) = (String::new(), String::new());
        while let Some(u) = rx.recv().await {
            match u {
                Update::Output {
                    stream: OutputStream::Stdout,
                    data,
                } => out.push_str(&data),
                Update::Output {
                    stream: OutputStream::Stderr,
                    data,
                } => err.push_str(&data),
                Update::Started { .. }
                | Update::Approval(_)
                | Update::Held { .. }
                | Update::Terminal { .. } => {}
            }
        }
        (outcome, out, err)
    }

    #[tokio::test]
    async fn streams_both_outputs_and_reports_the_exit_code() {
        let (outcome, out, err) = collect(&["sh", "-c", "echo out; echo err >&2; exit 3"]).await;
        assert_eq!(outcome, RunOutcome::Exited { code: 3 });
        assert_eq!(out, "out\n");
        assert_eq!(err, "err\n");
    }

    #[tokio::test]
    async fn the_output_tail_keeps_the_last_bytes() {
        let (f, out, _) = collect_all(&["sh", "-c", "echo 0123456789abcdef; echo tail-é"]).await;
        assert_eq!(out, "0123456789abcdef\ntail-é\n");
        // The last 16 bytes start inside the first line, which is dropped whole.
        assert_eq!(f.output_tail, "tail-é\n");
    }

    #[test]
    fn tails_cut_at_character_boundaries() {
        let mut t = Tail::new(5);
        t.push("aé\n");
        t.push("éé\n");
        t.push("x");
        // 10 bytes kept to 5 ("\néé\nx" would be 6): the cut lands inside an 'é' and moves
        // forward, then the partial first line goes.
        assert_eq!(t.take(), "x");
        let mut whole = Tail::new(16);
        whole.push("short\n");
        assert_eq!(whole.take(), "short\n", "nothing cut, nothing dropped");
        let mut off = Tail::new(0);
        off.push("anything");
        assert_eq!(off.take(), "");
    }

    #[test]
    fn tails_of_every_kind_of_text_are_cut_without_panicking() {
        // Multi-byte whitespace (no-break space, ideographic space, line separator) where the
        // first line is dropped, text with no newline, and invalid UTF-8 made lossy upstream.
        let lossy = String::from_utf8_lossy(b"\xff\xfe abc \xc3").into_owned();
        for text in [
            format!("{}\u{a0}tail", "x".repeat(3000)),
            format!("{}\u{3000}tail", "x".repeat(3000)),
            format!("{}\u{2028}tail", "x".repeat(3000)),
            "y".repeat(5000),
            format!("{}{lossy}", "z".repeat(3000)),
            "\u{a0}".repeat(2000),
        ] {
            for cap in [1, 2, 3, 7, 64, 2048] {
                let mut t = Tail::new(cap);
                t.push(&text);
                let kept = t.take();
                assert!(kept.len() <= cap, "{cap}: {} bytes kept", kept.len());
                assert!(
                    text.ends_with(&kept),
                    "{cap}: kept text is the end of the output"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_step_past_its_timeout_is_stopped() {
        let (tx, _rx) = mpsc::channel(64);
        let limits = Limits {
            timeout: Duration::from_millis(200),
            ..LIMITS
        };
        let f = run(
            &spec(&["sleep", "30"]),
            started(),
            &tx,
            &CancellationToken::new(),
            limits,
            &Default::default(),
            None,
        )
        .await;
        assert_eq!(f.outcome, RunOutcome::TimedOut { after_secs: 0 });
        assert_eq!(f.outcome.exit_status(), 124);
    }

    #[tokio::test]
    async fn missing_programs_fail_to_start() {
        let (outcome, _, _) = collect(&["definitely-not-a-program-xyz"]).await;
        assert!(
            matches!(
                outcome,
                RunOutcome::FailedToStart {
                    not_found: true,
                    ..
                }
            ),
            "{outcome:?}"
        );
        assert_eq!(outcome.exit_status(), 127);
    }

    #[tokio::test]
    async fn signals_are_reported() {
        let (outcome, _, _) = collect(&["sh", "-c", "kill -9 $$"]).await;
        assert_eq!(outcome, RunOutcome::Signaled { signal: 9 });
        assert_eq!(outcome.exit_status(), 137);
    }

    #[tokio::test]
    async fn background_children_do_not_hold_the_run_open() {
        let (outcome, out, _) = collect(&["sh", "-c", "sleep 30 & echo done"]).await;
        assert_eq!(outcome, RunOutcome::Exited { code: 0 });
        assert_eq!(out, "done\n");
    }

    #[tokio::test]
    async fn cancellation_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        let script = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
        let (tx, mut rx) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let s = spec(&["sh", "-c", &script]);
        let task = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                run(
                    &s,
                    started(),
                    &tx,
                    &cancel,
                    LIMITS,
                    &Default::default(),
                    None,
                )
                .await
            })
        };
        assert!(matches!(rx.recv().await, Some(Update::Started { .. })));
        while !pidfile.exists() || std::fs::read_to_string(&pidfile).unwrap().trim().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let grandchild: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        cancel.cancel();
        assert_eq!(task.await.unwrap().outcome, RunOutcome::Cancelled);
        // The grandchild dies (it may linger as a zombie until its new parent reaps it).
        let running = || {
            std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
                .map(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
                .unwrap_or(false)
        };
        for _ in 0..500 {
            if !running() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("grandchild {grandchild} survived cancellation");
    }
}
