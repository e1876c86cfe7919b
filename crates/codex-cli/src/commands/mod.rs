//! One module per command.

pub mod alerts;
pub mod approvals;
pub mod capture;
pub mod completions;
pub mod daemon;
pub mod doctor;
pub mod export;
pub mod forget;
pub mod history;
pub mod import;
pub mod init;
pub mod model;
pub mod plan;
pub mod prefs;
pub mod rate;
pub mod rerun;
pub mod rules;
pub mod run;
pub mod schedule;
pub mod service;
pub mod show;
pub mod status;
pub mod suggest;
pub mod teach;

/// How to print results.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// JSON on stdout instead of text.
    pub json: bool,
    /// How much to say around the results (the user's verbosity, from the daemon's hello).
    pub verbosity: Verbosity,
}

/// How much codex itself prints (`codex prefs set verbosity terse|normal|verbose`, or learned
/// from the flags you use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// The commands and results only.
    Terse,
    /// Each plan with why and its evidence.
    Normal,
    /// Also scores, classes and where embeddings came from.
    Verbose,
}

impl Verbosity {
    /// From the daemon's setting value; anything unknown is normal.
    pub fn of(value: &str) -> Self {
        match value {
            "terse" => Verbosity::Terse,
            "verbose" => Verbosity::Verbose,
            _ => Verbosity::Normal,
        }
    }
}

/// A folder named on the command line, made absolute against the current directory (the
/// daemon runs elsewhere, so it only takes absolute paths).
pub fn absolute_dir(
    dir: Option<std::path::PathBuf>,
) -> Result<Option<std::path::PathBuf>, crate::error::CliError> {
    dir.map(|d| {
        std::path::absolute(&d).map_err(|e| {
            crate::error::CliError::Usage(format!("cannot resolve {}: {e}", d.display()))
        })
    })
    .transpose()
}
