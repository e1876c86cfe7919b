//! Every command and flag of `codex`, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use codex_proto::types::RunId;

/// codex: a personal agent runtime that learns how you work.
#[derive(Debug, Parser)]
#[command(name = "codex", version, propagate_version = true)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Daemon socket [default: $CODEX_SOCKET, else $XDG_RUNTIME_DIR/codex/codexd.sock, else
    /// $CODEX_HOME/run/codexd.sock].
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Fail instead of starting codexd when it is not running.
    #[arg(long, global = true)]
    pub no_autostart: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the daemon's version, pid, uptime, home, socket and what it has recorded.
    Status,
    /// Start or stop the daemon.
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// Run a command through the executor (no shell), streaming its output; exits with its
    /// exit status.
    Run(RunArgs),
    /// Rate a run from 1 (bad) to 5 (great); the last run unless --run is given.
    Rate(RateArgs),
    /// List recent runs with their outcome and rating.
    History(HistoryArgs),
    /// Show what has been learned.
    #[command(subcommand)]
    Prefs(PrefsCommand),
}

/// `codex daemon ...`
#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start codexd in the background if it is not running.
    Start,
    /// Stop codexd gracefully (it flushes everything first) and wait until it has exited.
    Stop,
}

/// `codex run ...`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Approve a command that deletes recursively or needs root (rm -r, sudo, dd, mkfs, ...).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub argv: Vec<String>,
}

/// `codex rate ...`
#[derive(Debug, Args)]
pub struct RateArgs {
    /// 1 (bad) to 5 (great).
    #[arg(value_parser = clap::value_parser!(u8).range(1..=5))]
    pub score: u8,
    /// The run to rate [default: the last run].
    #[arg(long, value_name = "ID")]
    pub run: Option<RunId>,
    /// What was good or what should have happened instead.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

/// `codex history ...`
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How many runs to show.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
}

/// `codex prefs ...`
#[derive(Debug, Subcommand)]
pub enum PrefsCommand {
    /// Per program: runs, success rate, mean rating; overall satisfaction.
    Show,
}
