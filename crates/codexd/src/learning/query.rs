//! Which runs `codex history` lists: the filters, matched against episodes in memory.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::episode::Episode;

/// What a run must be to be listed; every part set must hold (AND). The default lists all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs that did not exit 0 (failed, signalled, timed out, cancelled, not started).
    pub failed: bool,
    /// Only runs whose project root is this (a run in no project counts its own folder).
    pub project: Option<PathBuf>,
    /// Only runs whose goal contains this, case-insensitive (kept lower-cased).
    goal: Option<String>,
    /// Only runs that started at or after this.
    pub since: Option<DateTime<Utc>>,
}

impl RunFilter {
    /// A filter from its parts; an empty goal text matches every goal.
    pub fn new(
        failed: bool,
        project: Option<PathBuf>,
        goal: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> RunFilter {
        RunFilter {
            failed,
            project,
            goal: goal
                .map(|g| g.trim().to_lowercase())
                .filter(|g| !g.is_empty()),
            since,
        }
    }

    /// Whether `e` is listed.
    pub fn matches(&self, e: &Episode) -> bool {
        if self.failed && e.outcome.success() {
            return false;
        }
        if let Some(since) = self.since
            && e.started_at < since
        {
            return false;
        }
        if let Some(root) = &self.project
            && project_of(e) != root.as_path()
        {
            return false;
        }
        if let Some(needle) = &self.goal
            && !e.goal.to_lowercase().contains(needle.as_str())
        {
            return false;
        }
        true
    }
}

/// The project a run counts under: its project root, else the folder it ran in.
pub fn project_of(e: &Episode) -> &Path {
    e.project_root().unwrap_or(e.cwd.as_path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::project::Project;
    use codex_proto::types::RunOutcome;

    fn ep(id: u64, goal: &str, root: Option<&str>, cwd: &str, code: i32, age_h: i64) -> Episode {
        let mut e = Episode::sample(id, Some(goal));
        e.project = root.map(|r| Project {
            root: r.into(),
            kind: "node".into(),
        });
        e.cwd = cwd.into();
        e.outcome = RunOutcome::Exited { code };
        e.started_at = Utc::now() - chrono::Duration::hours(age_h);
        e
    }

    #[test]
    fn the_default_lists_everything() {
        let f = RunFilter::default();
        assert!(f.matches(&ep(1, "x", None, "/tmp", 1, 100)));
        assert!(f.matches(&ep(2, "y", Some("/p"), "/p/src", 0, 0)));
    }

    #[test]
    fn failed_keeps_what_did_not_exit_0() {
        let f = RunFilter::new(true, None, None, None);
        assert!(f.matches(&ep(1, "build", None, "/p", 2, 0)));
        assert!(!f.matches(&ep(2, "build", None, "/p", 0, 0)));
        let mut cancelled = ep(3, "build", None, "/p", 0, 0);
        cancelled.outcome = RunOutcome::Cancelled;
        assert!(f.matches(&cancelled));
    }

    #[test]
    fn project_is_the_root_or_the_folder_outside_projects() {
        let f = RunFilter::new(false, Some("/home/u/app".into()), None, None);
        assert!(f.matches(&ep(1, "t", Some("/home/u/app"), "/home/u/app/src", 0, 0)));
        assert!(!f.matches(&ep(2, "t", Some("/home/u/lib"), "/home/u/lib", 0, 0)));
        // A folder below the root is not another project, and a prefix is not a parent.
        assert!(!f.matches(&ep(3, "t", Some("/home/u/app2"), "/home/u/app2", 0, 0)));
        let loose = RunFilter::new(false, Some("/tmp/x".into()), None, None);
        assert!(loose.matches(&ep(4, "t", None, "/tmp/x", 0, 0)));
        assert!(!loose.matches(&ep(5, "t", None, "/tmp/x/y", 0, 0)));
    }

    #[test]
    fn goal_is_a_case_insensitive_substring() {
        let f = RunFilter::new(false, None, Some("  Clean THE "), None);
        assert!(f.matches(&ep(1, "please clean the build", None, "/", 0, 0)));
        assert!(!f.matches(&ep(2, "clean build", None, "/", 0, 0)));
        assert!(
            RunFilter::new(false, None, Some("  "), None).matches(&ep(3, "x", None, "/", 0, 0))
        );
    }

    #[test]
    fn since_keeps_runs_started_then_or_later_and_parts_combine() {
        let since = Utc::now() - chrono::Duration::hours(2);
        let f = RunFilter::new(false, None, None, Some(since));
        assert!(f.matches(&ep(1, "a", None, "/", 0, 1)));
        assert!(!f.matches(&ep(2, "a", None, "/", 0, 3)));
        let all = RunFilter::new(true, Some("/p".into()), Some("build"), Some(since));
        assert!(all.matches(&ep(3, "npm build", Some("/p"), "/p", 1, 1)));
        assert!(!all.matches(&ep(4, "npm build", Some("/p"), "/p", 0, 1)));
        assert!(!all.matches(&ep(5, "npm test", Some("/p"), "/p", 1, 1)));
        assert!(!all.matches(&ep(6, "npm build", Some("/q"), "/q", 1, 1)));
        assert!(!all.matches(&ep(7, "npm build", Some("/p"), "/p", 1, 3)));
    }
}
