//! A step on a pseudo-terminal, relayed to the CLI: when the person who started it is at a
//! terminal, the step gets one of its own (so `isatty` is true, colours, prompts, pagers and
//! editors work) instead of pipes and `/dev/null`.
//!
//! codexd opens the pair (the master stays here, the slave becomes the step's stdin, stdout
//! and stderr; the sandbox helper makes it the step's controlling terminal), then [`relay`]
//! moves bytes: what the step writes goes to the client as [`Update::Terminal`] and, with
//! escape sequences dropped ([`plain`]), into the output tail; what the client types and its
//! size changes come in as [`Input`]. The terminal does not change what the step may do: it
//! is classified, asked about and confined exactly as without one.

pub mod plain;

use std::os::fd::{AsFd, OwnedFd};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use rustix::pty::OpenptFlags;
use rustix::termios::Winsize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::mpsc;
use tracing::debug;

use super::process::{Tail, Update};

/// Read size for the terminal.
const CHUNK: usize = 16 * 1024;
/// Typed bytes held for a step that does not read them, past which more are dropped (a
/// real terminal's input queue is smaller still, and drops too).
const MAX_PENDING_INPUT: usize = 64 * 1024;
/// Input messages queued between a connection and its run's terminal.
pub const INPUT_QUEUE: usize = 1024;

/// The size of a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
}

impl Size {
    fn winsize(self) -> Winsize {
        Winsize {
            ws_row: self.rows,
            ws_col: self.cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }
    }
}

/// What the client sends a step's terminal, in the order it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Bytes typed.
    Bytes(Vec<u8>),
    /// The client's terminal has a new size.
    Resize(Size),
    /// The client's input ended: the step reads end-of-file (the terminal's EOF character).
    Eof,
}

/// A terminal requested for a run: its first size, and where the client's input arrives.
#[derive(Debug)]
pub struct Terminal {
    /// The size to open it with.
    pub size: Size,
    /// Input and resizes from the client; closed when the client is gone.
    pub input: mpsc::Receiver<Input>,
}

/// Why the step's terminal could not be opened.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open a pseudo-terminal for the step ({what}: {source}); run it without a terminal (`codex run ... < /dev/null`) or check that /dev/ptmx and /dev/pts are there"
)]
pub struct PtyError {
    what: &'static str,
    source: std::io::Error,
}

fn step(what: &'static str) -> impl FnOnce(rustix::io::Errno) -> PtyError {
    move |e| PtyError {
        what,
        source: e.into(),
    }
}

/// An open pseudo-terminal: the master (codexd's side) and the slave (the step's).
#[derive(Debug)]
pub struct Pty {
    /// codexd's side.
    pub master: OwnedFd,
    slave: OwnedFd,
}

impl Pty {
    /// Open a pair of `size`. Neither side becomes codexd's own controlling terminal.
    pub fn open(size: Size) -> Result<Pty, PtyError> {
        let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
        let master = rustix::pty::openpt(flags).map_err(step("open /dev/ptmx"))?;
        rustix::pty::grantpt(&master).map_err(step("grantpt"))?;
        rustix::pty::unlockpt(&master).map_err(step("unlockpt"))?;
        // By the master itself, not by a name under /dev/pts that could be another's.
        let slave = match rustix::pty::ioctl_tiocgptpeer(&master, flags) {
            Ok(s) => s,
            Err(_) => {
                let name = rustix::pty::ptsname(&master, Vec::new()).map_err(step("ptsname"))?;
                rustix::fs::open(
                    name.as_c_str(),
                    rustix::fs::OFlags::RDWR
                        | rustix::fs::OFlags::NOCTTY
                        | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .map_err(step("open the terminal's slave"))?
            }
        };
        rustix::termios::tcsetwinsize(&master, size.winsize()).map_err(step("set its size"))?;
        Ok(Pty { master, slave })
    }

    /// The slave three times over: the step's stdin, stdout and stderr.
    pub fn stdio(&self) -> Result<[Stdio; 3], PtyError> {
        let dup = || {
            self.slave
                .try_clone()
                .map(Stdio::from)
                .map_err(|source| PtyError {
                    what: "duplicate the terminal",
                    source,
                })
        };
        Ok([dup()?, dup()?, dup()?])
    }

    /// codexd's side, once the step has its copies of the slave: reading the master ends
    /// (EIO) only when no process holds the slave any more.
    pub fn into_master(self) -> OwnedFd {
        self.master
    }
}

/// Relay a step's terminal until it closes (every holder of the slave gone): output to
/// `updates` and `tail`, the client's `input` to the terminal. Output keeps being read when
/// the client is gone, so the step never blocks on a full terminal.
pub async fn relay(
    master: OwnedFd,
    input: mpsc::Receiver<Input>,
    updates: mpsc::Sender<Update>,
    tail: Arc<Mutex<Tail>>,
) {
    // tokio's pipe ends take any non-blocking descriptor that reads and writes bytes, and
    // register it with the runtime without `unsafe` here.
    let ends = rustix::io::ioctl_fionbio(&master, true)
        .map_err(std::io::Error::from)
        .and_then(|()| master.try_clone())
        .and_then(|w| {
            Ok((
                pipe::Receiver::from_owned_fd_unchecked(master)?,
                pipe::Sender::from_owned_fd_unchecked(w)?,
            ))
        });
    match ends {
        Ok((rx, tx)) => pump(rx, tx, input, updates, tail).await,
        Err(e) => debug!("cannot watch the step's terminal ({e}); not relaying it"),
    }
}

async fn pump(
    mut rx: pipe::Receiver,
    mut tx: pipe::Sender,
    mut input: mpsc::Receiver<Input>,
    updates: mpsc::Sender<Update>,
    tail: Arc<Mutex<Tail>>,
) {
    let mut buf = vec![0u8; CHUNK];
    let mut text = plain::Plain::default();
    let mut pending: Vec<u8> = Vec::new();
    let mut input_open = true;
    let mut deliver = true;
    let mut dropped = false;
    loop {
        tokio::select! {
            biased;
            read = rx.read(&mut buf) => {
                // EIO: the last holder of the slave closed it.
                let Ok(n) = read else { break };
                if n == 0 {
                    break;
                }
                let bytes = &buf[..n];
                let shown = text.push(bytes);
                if let Ok(mut t) = tail.lock() {
                    t.push(&shown);
                }
                if deliver
                    && updates.send(Update::Terminal { data: bytes.to_vec() }).await.is_err()
                {
                    deliver = false; // client gone; keep reading so the step is not blocked
                }
            }
            wrote = tx.write(&pending), if !pending.is_empty() => match wrote {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(e) => {
                    debug!("cannot write to the step's terminal ({e}); dropping its input");
                    pending.clear();
                    input_open = false;
                }
            },
            msg = input.recv(), if input_open => match msg {
                Some(Input::Bytes(b)) => {
                    if pending.len() + b.len() > MAX_PENDING_INPUT {
                        if !dropped {
                            debug!("the step is not reading its terminal; dropping typed input");
                        }
                        dropped = true;
                    } else {
                        pending.extend_from_slice(&b);
                    }
                }
                Some(Input::Resize(size)) => {
                    // The kernel tells the step's foreground group (SIGWINCH).
                    let _ = rustix::termios::tcsetwinsize(&tx, size.winsize());
                }
                Some(Input::Eof) => pending.push(eof_char(&tx)),
                None => input_open = false,
            },
        }
    }
    let rest = text.finish();
    if let Ok(mut t) = tail.lock() {
        t.push(&rest);
    }
}

/// The character that reads as end-of-file on this terminal (Ctrl-D unless changed).
fn eof_char(master: impl AsFd) -> u8 {
    rustix::termios::tcgetattr(master)
        .ok()
        .map(|t| t.special_codes[rustix::termios::SpecialCodeIndex::VEOF])
        .filter(|&c| c != 0)
        .unwrap_or(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::process::{self, Limits, Spec, Started};
    use codex_proto::types::{RunId, RunOutcome};
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    #[test]
    fn a_pair_opens_at_the_size_asked_and_is_a_terminal_on_both_sides() {
        let pty = Pty::open(Size { rows: 33, cols: 99 }).unwrap();
        let [stdin, ..] = pty.stdio().unwrap();
        drop(stdin);
        assert!(rustix::termios::isatty(&pty.slave));
        let ws = rustix::termios::tcgetwinsize(&pty.slave).unwrap();
        assert_eq!((ws.ws_row, ws.ws_col), (33, 99));
        assert_eq!(eof_char(&pty.master), 4);
    }

    const LIMITS: Limits = Limits {
        cancel_grace: Duration::from_millis(500),
        drain: Duration::from_millis(500),
        output_tail: 4096,
        timeout: Duration::from_secs(60),
    };

    /// A step on a terminal of 24x80, started directly (no sandbox helper, so no controlling
    /// terminal): what it wrote, as the client got it.
    struct OnTty {
        input: mpsc::Sender<Input>,
        output: mpsc::Receiver<Update>,
        seen: Vec<u8>,
        cancel: CancellationToken,
        run: tokio::task::JoinHandle<process::Finished>,
    }

    impl OnTty {
        fn start(script: &str) -> OnTty {
            let (input, rx) = mpsc::channel(INPUT_QUEUE);
            let (tx, output) = mpsc::channel(64);
            let cancel = CancellationToken::new();
            let spec = Spec {
                argv: vec!["sh".into(), "-c".into(), script.into()],
                cwd: std::env::temp_dir(),
                ..Spec::default()
            };
            let terminal = Terminal {
                size: Size { rows: 24, cols: 80 },
                input: rx,
            };
            let started = Started {
                run_id: RunId(1),
                confined: false,
                note: None,
            };
            let stop = cancel.clone();
            let run = tokio::spawn(async move {
                let steps = Default::default();
                process::run(&spec, started, &tx, &stop, LIMITS, &steps, Some(terminal)).await
            });
            OnTty {
                input,
                output,
                seen: Vec::new(),
                cancel,
                run,
            }
        }

        /// Wait (bounded) until the client has been sent `text`.
        async fn expect(&mut self, text: &str) {
            let wait = async {
                while !String::from_utf8_lossy(&self.seen).contains(text) {
                    match self.output.recv().await {
                        Some(Update::Terminal { data }) => self.seen.extend(data),
                        Some(_) => {}
                        None => break,
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(15), wait).await;
            let seen = String::from_utf8_lossy(&self.seen);
            assert!(seen.contains(text), "{text:?} not in {seen:?}");
        }

        async fn finish(mut self) -> (process::Finished, String) {
            let end = tokio::time::timeout(Duration::from_secs(15), &mut self.run).await;
            let finished = end.expect("the step ended").expect("the run task");
            while let Ok(u) = self.output.try_recv() {
                if let Update::Terminal { data } = u {
                    self.seen.extend(data);
                }
            }
            (finished, String::from_utf8_lossy(&self.seen).into_owned())
        }
    }

    #[tokio::test]
    async fn the_step_sees_a_terminal_and_its_colours_reach_the_client_but_not_the_tail() {
        let mut t = OnTty::start(
            "test -t 0 && test -t 1 && test -t 2 && printf '\\033[31mon a tty\\033[0m\\n'",
        );
        t.expect("on a tty").await;
        let (f, seen) = t.finish().await;
        assert_eq!(f.outcome, RunOutcome::Exited { code: 0 });
        assert!(seen.contains("\x1b[31mon a tty\x1b[0m\r\n"), "{seen:?}");
        assert_eq!(f.output_tail, "on a tty\n");
    }

    #[tokio::test]
    async fn typed_input_and_resizes_reach_the_step_in_order() {
        let mut t = OnTty::start("stty size; echo ready; read line; stty size; echo \"got:$line\"");
        t.expect("ready").await;
        assert!(String::from_utf8_lossy(&t.seen).contains("24 80"));
        t.input
            .send(Input::Resize(Size {
                rows: 50,
                cols: 132,
            }))
            .await
            .unwrap();
        t.input
            .send(Input::Bytes(b"hello\r".to_vec()))
            .await
            .unwrap();
        t.expect("got:hello").await;
        let (f, seen) = t.finish().await;
        assert_eq!(f.outcome, RunOutcome::Exited { code: 0 });
        assert!(seen.contains("50 132"), "{seen:?}");
        // The terminal echoed what was typed; the tail has it once, plainly.
        assert!(
            f.output_tail.contains("hello\n50 132\ngot:hello\n"),
            "{:?}",
            f.output_tail
        );
    }

    #[tokio::test]
    async fn end_of_input_reads_as_end_of_file() {
        let mut t = OnTty::start("echo ready; cat; echo cat-ended");
        t.expect("ready").await;
        t.input.send(Input::Bytes(b"abc\r".to_vec())).await.unwrap();
        t.input.send(Input::Eof).await.unwrap();
        t.expect("cat-ended").await;
        let (f, _) = t.finish().await;
        assert_eq!(f.outcome, RunOutcome::Exited { code: 0 });
    }

    #[tokio::test]
    async fn a_step_that_never_reads_loses_input_and_is_still_cancelled() {
        let mut t = OnTty::start("echo ready; exec sleep 60");
        t.expect("ready").await;
        // Far more than the terminal and the queue hold: nothing waits on the step.
        for _ in 0..64 {
            let _ = t.input.try_send(Input::Bytes(vec![b'x'; 4096]));
        }
        t.cancel.cancel();
        let (f, _) = t.finish().await;
        assert_eq!(f.outcome, RunOutcome::Cancelled);
    }

    #[tokio::test]
    async fn a_background_child_holding_the_terminal_does_not_hold_the_run() {
        let t = OnTty::start("sleep 30 & echo done");
        let (f, seen) = t.finish().await;
        assert_eq!(f.outcome, RunOutcome::Exited { code: 0 });
        assert!(seen.contains("done"), "{seen:?}");
    }

    #[tokio::test]
    async fn a_client_that_is_gone_does_not_block_the_step() {
        let t = OnTty::start("i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done");
        let OnTty {
            output, run, input, ..
        } = t;
        drop(output);
        drop(input);
        let f = tokio::time::timeout(Duration::from_secs(15), run)
            .await
            .expect("the step ended")
            .unwrap();
        assert_eq!(f.outcome, RunOutcome::Exited { code: 0 });
        assert!(
            f.output_tail.ends_with("line 1999\n"),
            "{:?}",
            f.output_tail
        );
    }
}
