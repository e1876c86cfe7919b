//! What can go wrong in the CLI, each with the exit status it leads to.

use std::path::PathBuf;

use codex_proto::jsonrpc::{ErrorObject, codes};

/// Exit status for errors of the daemon or the connection.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status for bad input: usage, unknown run id, score out of range.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when a safety rule refused to run a command.
pub const EXIT_REFUSED: u8 = 3;
/// Exit status when codexd is there but unavailable: it did not accept or answer in time,
/// or it is at its connection limit. Trying again later may work.
pub const EXIT_UNAVAILABLE: u8 = 4;

/// A CLI failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// No daemon answers and autostart is off.
    #[error("codexd is not running (nothing answers on {}); start it with `codex daemon start`", .0.display())]
    NotRunning(PathBuf),
    /// The socket exists but cannot be used.
    #[error("cannot connect to codexd at {}: {source}", .socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The daemon did not accept the connection or answer in time.
    #[error(
        "codexd at {} did not {what} within {} s: it may be overloaded or stuck. Try again; if \
         it keeps happening, look at its log ($CODEX_HOME/log/codexd.log when codex started \
         it) and restart it (`codex daemon stop`, or kill the codexd process)",
        .socket.display(),
        .after.as_secs()
    )]
    Timeout {
        /// The socket.
        socket: PathBuf,
        /// What it did not do, e.g. "answer `status`".
        what: String,
        /// How long was waited.
        after: std::time::Duration,
    },
    /// Starting the daemon failed.
    #[error("{0}")]
    Autostart(String),
    /// The daemon answered with an error.
    #[error("{}", .0.message)]
    Rpc(ErrorObject),
    /// The daemon said something this CLI does not understand.
    #[error("unexpected answer from codexd: {0}")]
    Protocol(String),
    /// The connection broke.
    #[error("lost the connection to codexd: {0}")]
    Io(#[from] std::io::Error),
    /// A path could not be resolved.
    #[error(transparent)]
    Path(#[from] codex_proto::paths::PathError),
    /// Bad input from the user, already worded (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// Anything else, already worded for the user.
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// The exit status this error leads to.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Rpc(e) => match e.code {
                codes::INVALID_PARAMS | codes::NOT_FOUND => EXIT_USAGE,
                codes::REFUSED | codes::NEEDS_CONFIRMATION => EXIT_REFUSED,
                codes::BUSY => EXIT_UNAVAILABLE,
                _ => EXIT_FAILURE,
            },
            CliError::Path(_) | CliError::Usage(_) => EXIT_USAGE,
            CliError::Timeout { .. } => EXIT_UNAVAILABLE,
            _ => EXIT_FAILURE,
        }
    }
}
