//! Commands the shell hook captured (`capture/record`), already filtered and redacted by the
//! server: each into the workflow patterns of its project and the dataset, as an interaction
//! like an imported history line but with its folder, project, exit status and duration. Not
//! a run: no episode, no example, no plan preference.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::dataset::Record;
use super::knowledge::{self, KnowledgeOp};
use super::{Actor, LearningError, normalize};
use crate::context::project::Project;

/// One captured command, as the learning pipeline takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    /// When it started.
    pub at: DateTime<Utc>,
    /// The command line, redacted.
    pub command: String,
    /// Where it was typed.
    pub cwd: PathBuf,
    /// That folder's project.
    pub project: Option<Project>,
    /// Its exit status, when the shell said.
    pub exit: Option<i32>,
    /// How long it ran, when the shell said.
    pub duration_ms: Option<u64>,
}

/// Where captured interactions come from, in the dataset.
pub const SOURCE: &str = "shell";

impl Actor {
    /// Record a captured command; false when there was nothing to record (tracking off, or
    /// empty once normalized). Written through to the file (not fsynced: a crash of the
    /// machine may lose the last few, a crash of codexd none).
    pub(super) fn capture(&mut self, c: Captured) -> Result<bool, LearningError> {
        if !self.tracking {
            return Ok(false);
        }
        let normalized = normalize::normalize_goal(&c.command);
        if normalized.is_empty() {
            return Ok(false);
        }
        if self.patterns {
            let (project, kind) = knowledge::project_key(c.project.as_ref());
            self.knowledge.append(
                KnowledgeOp::Observe {
                    project,
                    kind,
                    goal: normalized.clone(),
                    at: Some(c.at),
                },
                false,
            )?;
        }
        let record = Record::Interaction {
            at: Some(c.at),
            goal: c.command,
            goal_normalized: normalized,
            source: SOURCE.to_string(),
            patterns: self.patterns,
            cwd: Some(c.cwd),
            project: c.project,
            exit: c.exit,
            duration_ms: c.duration_ms,
        };
        self.dataset.push(&record)?;
        self.dataset.flush()?;
        Ok(true)
    }
}
