//! The record of one finished run: what was asked, where, what ran and how it ended.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use codex_proto::types::{RunId, RunOutcome};
use serde::{Deserialize, Serialize};

/// One finished run, as the executor saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The run's id.
    pub run_id: RunId,
    /// What the user asked for; for an explicit command, its command line.
    pub goal: String,
    /// The program's name (basename of argv[0]), the unit preferences are kept by.
    pub program: String,
    /// The command as run.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Who asked for it.
    pub trigger: Trigger,
    /// When the process was started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A person, through the CLI.
    User,
}

/// The program name of a command line: the basename of its first word.
pub fn program_name(argv: &[String]) -> String {
    let first = argv.first().map(String::as_str).unwrap_or("");
    first.rsplit('/').next().unwrap_or(first).to_string()
}

/// A command line as a person would type it, quoting words that need it.
pub fn command_line(argv: &[String]) -> String {
    // try_join only fails on a NUL byte, which no argv element can hold.
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn program_is_the_basename() {
        assert_eq!(program_name(&v(&["/usr/bin/cargo", "test"])), "cargo");
        assert_eq!(program_name(&v(&["git"])), "git");
        assert_eq!(program_name(&[]), "");
    }

    #[test]
    fn command_lines_quote_what_needs_it() {
        assert_eq!(command_line(&v(&["echo", "a b", ""])), "echo 'a b' ''");
        assert_eq!(
            command_line(&v(&["cargo", "test", "--", "--nocapture"])),
            "cargo test -- --nocapture"
        );
    }
}
