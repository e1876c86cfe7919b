//! This process's terminal while a step runs on a terminal of its own: whether there is one to
//! relay, its size, raw mode (restored by a guard on every way out), and the signals that
//! matter meanwhile (a resize; a termination, which must restore the terminal first).

use std::io::{IsTerminal, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustix::termios::{OptionalActions, Termios};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGWINCH};

/// The size of this terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
}

/// The terminal's size, when stdin and stdout are both terminals and this process is not a
/// background job on it (one that set modes or read its input would be stopped by the
/// terminal): the condition for relaying a step's terminal.
pub fn relayable() -> Option<Size> {
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    if !stdin.is_terminal() || !stdout.is_terminal() {
        return None;
    }
    // A terminal that is not this session's controlling one has no foreground to be out of.
    let background =
        rustix::termios::tcgetpgrp(&stdin).is_ok_and(|group| group != rustix::process::getpgrp());
    if background {
        return None;
    }
    size()
}

/// The terminal's size now (from stdout, else stdin).
pub fn size() -> Option<Size> {
    rustix::termios::tcgetwinsize(std::io::stdout())
        .or_else(|_| rustix::termios::tcgetwinsize(std::io::stdin()))
        .ok()
        .map(|w| Size {
            rows: w.ws_row,
            cols: w.ws_col,
        })
}

/// Raw mode on stdin's terminal for as long as this lives: every key goes to the step as
/// typed (Ctrl-C included, which the step's own terminal turns into its SIGINT), nothing is
/// echoed or translated here. Dropping it restores the modes it found, whatever the way out
/// (an answer, an error, a panic); a termination signal is turned into that way out by
/// [`Signals`].
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Switch stdin's terminal to raw mode.
    pub fn enter() -> std::io::Result<RawMode> {
        let stdin = std::io::stdin();
        let saved = rustix::termios::tcgetattr(&stdin)?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(&stdin, OptionalActions::Now, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

/// Termination signals: their default (ending the process) would leave the terminal raw.
const TERMINATING: [i32; 4] = [SIGTERM, SIGHUP, SIGINT, SIGQUIT];

/// Signals while a step's terminal is relayed. Registered once per process, on the first
/// relay: outside a relay a termination signal still ends the process at once, as it would
/// without them; during one it is noted and wakes the relay, which ends the run so the
/// terminal is restored before the process exits. A resize wakes the relay too.
pub struct Signals {
    wake: UnixStream,
    received: std::sync::Arc<AtomicUsize>,
    /// The signals' default action is taken (false while relaying).
    by_default: std::sync::Arc<AtomicBool>,
}

impl Signals {
    /// The process's registration, made on first use; `None` when the handlers could not
    /// be installed (then no terminal is relayed: raw mode without them could be left on).
    pub fn get() -> Option<&'static Signals> {
        static SIGNALS: OnceLock<Option<Signals>> = OnceLock::new();
        SIGNALS.get_or_init(|| Signals::register().ok()).as_ref()
    }

    fn register() -> std::io::Result<Signals> {
        let (wake, notify) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        notify.set_nonblocking(true)?;
        let received = std::sync::Arc::new(AtomicUsize::new(0));
        let by_default = std::sync::Arc::new(AtomicBool::new(true));
        for sig in TERMINATING {
            signal_hook::flag::register_conditional_default(sig, by_default.clone())?;
            signal_hook::flag::register_usize(sig, received.clone(), sig as usize)?;
            signal_hook::low_level::pipe::register(sig, notify.try_clone()?)?;
        }
        signal_hook::low_level::pipe::register(SIGWINCH, notify)?;
        Ok(Signals {
            wake,
            received,
            by_default,
        })
    }

    /// Take termination signals as a relay's to handle (`true`), or give them back their
    /// default (`false`).
    pub fn relaying(&self, on: bool) {
        if on {
            self.received.store(0, Ordering::SeqCst);
        }
        self.by_default.store(!on, Ordering::SeqCst);
    }

    /// The termination signal received while relaying, if any.
    pub fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            n => i32::try_from(n).ok(),
        }
    }

    /// What a relay waits on: readable after any of these signals.
    pub fn wake(&self) -> impl AsFd + '_ {
        &self.wake
    }

    /// Empty the wake-up pipe (each signal left a byte).
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
    }
}
