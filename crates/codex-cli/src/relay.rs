//! The CLI's side of a step on a terminal: while the step runs, this terminal is raw and a
//! thread sends what is typed (`run/input`), its end (`eof`) and every resize (`run/resize`)
//! to the daemon, while the main thread writes the step's `run/tty` bytes to stdout as they
//! come. Dropping the [`Relay`] stops the thread and restores the terminal.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;

use codex_proto::jsonrpc::{self, Request};
use codex_proto::methods::Notification;
use codex_proto::terminal::{Bytes, RunInput, RunInputParams, RunResize, RunResizeParams};
use codex_proto::types::RunId;
use rustix::event::{PollFd, PollFlags};

use crate::terminal::{RawMode, Signals, Size};

/// Bytes read from the terminal at a time.
const CHUNK: usize = 4096;

/// A step's terminal being relayed; see the module.
pub struct Relay {
    stop: Option<UnixStream>,
    thread: Option<JoinHandle<()>>,
    raw: Option<RawMode>,
    signals: &'static Signals,
}

impl Relay {
    /// Put this terminal in raw mode and start sending its input to run `run_id` over
    /// `conn` (a second handle on the run's connection). `sent` is the size the run was
    /// started with: a resize since then is sent at once.
    pub fn start(
        conn: UnixStream,
        run_id: RunId,
        sent: Size,
        signals: &'static Signals,
    ) -> std::io::Result<Relay> {
        let (stop, stopped) = UnixStream::pair()?;
        signals.relaying(true);
        let raw = match RawMode::enter() {
            Ok(r) => r,
            Err(e) => {
                signals.relaying(false);
                return Err(e);
            }
        };
        let thread = std::thread::spawn(move || {
            let mut input = Input {
                conn,
                run_id,
                size: sent,
            };
            input.pump(&stopped, signals);
        });
        Ok(Relay {
            stop: Some(stop),
            thread: Some(thread),
            raw: Some(raw),
            signals,
        })
    }

    /// The termination signal that ended the relay (it closed the connection to end the
    /// run), if one did.
    pub fn signalled(&self) -> Option<i32> {
        self.signals.received()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // The terminal first: a signal's default action after this leaves it as it was.
        drop(self.raw.take());
        self.signals.relaying(false);
    }
}

/// The input side, on its own thread.
struct Input {
    conn: UnixStream,
    run_id: RunId,
    size: Size,
}

impl Input {
    /// Until stopped (the run ended), a termination signal, or the connection failing.
    fn pump(&mut self, stopped: &UnixStream, signals: &Signals) {
        let stdin = std::io::stdin();
        let mut stdin_open = true;
        let mut buf = [0u8; CHUNK];
        // A resize while the run was being asked for or approved.
        if !self.resized() {
            return;
        }
        loop {
            let wake = signals.wake();
            let mut fds = vec![
                PollFd::new(stopped, PollFlags::IN),
                PollFd::new(&wake, PollFlags::IN),
            ];
            if stdin_open {
                fds.push(PollFd::new(&stdin, PollFlags::IN));
            }
            match rustix::event::poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return,
            }
            let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
            drop(fds);
            if ready[0] {
                return;
            }
            if ready[1] {
                signals.drain();
                if signals.received().is_some() {
                    // Ends the run (the daemon cancels it) and wakes the main thread, which
                    // restores the terminal and exits.
                    let _ = self.conn.shutdown(std::net::Shutdown::Both);
                    return;
                }
                if !self.resized() {
                    return;
                }
            }
            if ready.get(2).copied().unwrap_or(false) {
                // The SIGWINCH of a resize made before these keys may still be on its way to
                // whichever thread takes it: look at the size itself, so the step always
                // sees the resize first.
                if !self.resized() {
                    return;
                }
                let sent = match rustix::io::read(&stdin, &mut buf) {
                    Ok(0) => {
                        stdin_open = false;
                        self.send::<RunInput>(&RunInputParams {
                            run_id: self.run_id,
                            data: Bytes::default(),
                            eof: true,
                        })
                    }
                    Ok(n) => self.send::<RunInput>(&RunInputParams {
                        run_id: self.run_id,
                        data: Bytes(buf[..n].to_vec()),
                        eof: false,
                    }),
                    Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => true,
                    Err(_) => {
                        stdin_open = false;
                        true
                    }
                };
                if !sent {
                    return;
                }
            }
        }
    }

    /// Send the terminal's size if it changed; false when the connection failed.
    fn resized(&mut self) -> bool {
        match crate::terminal::size() {
            Some(now) if now != self.size => {
                self.size = now;
                self.send::<RunResize>(&RunResizeParams {
                    run_id: self.run_id,
                    rows: now.rows,
                    cols: now.cols,
                })
            }
            _ => true,
        }
    }

    /// Send one notification; false when the connection failed.
    fn send<N: Notification>(&mut self, params: &N::Params) -> bool {
        let line = serde_json::to_value(params)
            .ok()
            .and_then(|v| jsonrpc::to_line(&Request::notification(N::NAME, v)).ok());
        match line {
            Some(line) => self.conn.write_all(line.as_bytes()).is_ok(),
            None => true,
        }
    }
}

/// Write a step's terminal bytes to this one as they are.
pub fn show(data: &[u8]) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(data)?;
    o.flush()
}
