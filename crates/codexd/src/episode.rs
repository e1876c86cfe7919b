//! The record of one finished run: what was asked, where, what ran and how it ended.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use codex_proto::runs::PlanSource;
use codex_proto::types::{RunId, RunOutcome, RunPart, SafetyClass};
use serde::{Deserialize, Serialize};

use crate::context::project::{self, Project};
use crate::learning::{normalize, redact};

/// One finished run, as the executor saw it, with what learning adds later (the rating).
/// Text fields are redacted of secrets before an episode is built (see docs/privacy.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The run's id.
    pub run_id: RunId,
    /// What the user asked for: `--goal` text, else the command line.
    pub goal: String,
    /// The goal in lower case with single spaces and no trailing punctuation.
    #[serde(default)]
    pub goal_normalized: String,
    /// The task category preferences are kept by: the normalized `--goal`, else the tool.
    #[serde(default)]
    pub category: String,
    /// The project the run happened in, when a root marker was found.
    #[serde(default)]
    pub project: Option<Project>,
    /// The program's name (basename of argv[0]).
    pub program: String,
    /// Program plus subcommand (`cargo nextest`), the unit "preferred tools" are ranked by.
    #[serde(default)]
    pub tool: String,
    /// The plan's signature: its command line without the program's path.
    #[serde(default)]
    pub plan: String,
    /// The command as run.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Who asked for it.
    pub trigger: Trigger,
    /// The scheduled job it was an occurrence of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
    /// The plan's steps as they ran (an explicit command is one step).
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Approvals the run needed and how they were given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalRecord>,
    /// When the process was started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The user's rating, once given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// The comment given with the rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Which part of a plan it was.
    #[serde(default, skip_serializing_if = "RunPart::is_whole")]
    pub part: RunPart,
    /// The plan it came from, as codex showed it; `None` for a command the user gave (and
    /// for runs recorded before this was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_source: Option<PlanSource>,
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The command line as run (redacted).
    pub command: String,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The last bytes of its stdout and stderr, interleaved as they came (redacted).
    #[serde(default)]
    pub output_tail: String,
    /// The folder it ran in. This and the fields below are `None` in runs recorded before
    /// they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Its safety class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<SafetyClass>,
    /// Why it has that class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_reason: Option<String>,
    /// Whether it ran in the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confined: Option<bool>,
    /// The class its plan's tool declared, which the executor took as a floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_class: Option<SafetyClass>,
}

/// What the executor knows about a step beyond its outcome: where and how it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFacts {
    /// Its class.
    pub class: SafetyClass,
    /// Why (redacted here).
    pub class_reason: String,
    /// Whether it ran in the sandbox.
    pub confined: bool,
    /// The declared floor.
    pub min_class: Option<SafetyClass>,
    /// The plan it came from.
    pub plan_source: Option<PlanSource>,
}

/// An approval a step needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// Why it was needed.
    pub class: SafetyClass,
    /// The rule's explanation.
    pub reason: String,
    /// Whether it was given.
    pub approved: bool,
    /// How: `--yes` today; a prompt answer or `codex approve` later.
    pub by: String,
}

pub use codex_proto::types::Trigger;

/// A run's names for learning, known before it runs: goal, category, tool, plan, project.
/// Built from redacted text, so nothing derived from it can carry a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The goal (redacted): `--goal` text, else the command line.
    pub goal: String,
    /// The goal normalized.
    pub goal_normalized: String,
    /// The task category.
    pub category: String,
    /// The project, when one was found.
    pub project: Option<Project>,
    /// Program basename.
    pub program: String,
    /// Program plus subcommand.
    pub tool: String,
    /// Plan signature.
    pub plan: String,
    /// The command (redacted).
    pub argv: Vec<String>,
    /// Which part of a plan it is.
    pub part: RunPart,
}

impl Draft {
    /// Name a run of `argv` in `cwd`, asked for as `goal`.
    pub fn new(goal: Option<&str>, argv: &[String], cwd: &Path) -> Draft {
        let argv = redact::redact_argv(argv);
        let named = goal
            .filter(|g| !g.trim().is_empty())
            .map(|g| redact::redact(g).into_owned());
        let plan = normalize::plan_signature(&argv);
        let category = normalize::category(named.as_deref(), &argv);
        let goal = named.unwrap_or_else(|| command_line(&argv));
        Draft {
            goal_normalized: normalize::normalize_goal(&goal),
            goal,
            category,
            project: project::detect(cwd),
            program: program_name(&argv),
            tool: normalize::tool_of(&argv),
            plan,
            argv,
            part: RunPart::Whole,
        }
    }

    /// The episode of the finished run.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        self,
        run_id: RunId,
        cwd: PathBuf,
        approvals: Vec<ApprovalRecord>,
        started_at: DateTime<Utc>,
        outcome: RunOutcome,
        duration_ms: u64,
        output_tail: &str,
    ) -> Episode {
        let step = StepRecord {
            command: self.plan.clone(),
            outcome: outcome.clone(),
            duration_ms,
            output_tail: redact::redact(output_tail).into_owned(),
            cwd: None,
            class: None,
            class_reason: None,
            confined: None,
            min_class: None,
        };
        Episode {
            run_id,
            goal: self.goal,
            goal_normalized: self.goal_normalized,
            category: self.category,
            project: self.project,
            program: self.program,
            tool: self.tool,
            plan: self.plan,
            argv: self.argv,
            cwd,
            trigger: Trigger::User,
            job: None,
            steps: vec![step],
            approvals,
            started_at,
            finished_at: Utc::now(),
            outcome,
            duration_ms,
            rating: None,
            comment: None,
            part: self.part,
            plan_source: None,
        }
    }
}

impl Episode {
    /// Whether the goal was said in words: a typed command's goal is the command itself.
    pub fn goal_named(&self) -> bool {
        self.goal != command_line(&self.argv)
    }

    /// The episode as started by `trigger` (and `job`).
    pub fn by(mut self, trigger: Trigger, job: Option<u64>) -> Episode {
        self.trigger = trigger;
        self.job = job;
        self
    }

    /// The episode with how its step ran (in the run's folder); text is redacted here, like
    /// the rest.
    pub fn with_facts(mut self, facts: StepFacts) -> Episode {
        for step in &mut self.steps {
            step.cwd = Some(self.cwd.clone());
            step.class = Some(facts.class);
            step.class_reason = Some(redact::redact(&facts.class_reason).into_owned());
            step.confined = Some(facts.confined);
            step.min_class = facts.min_class;
        }
        self.plan_source = facts.plan_source.map(|p| PlanSource {
            command: redact::redact(&p.command).into_owned(),
            rationale: redact::redact(&p.rationale).into_owned(),
            evidence: redact::redact(&p.evidence).into_owned(),
            ranking: redact::redact(&p.ranking).into_owned(),
            // In the form the feedback collector names plans by, so a candidate model can
            // score them.
            candidates: p
                .candidates
                .iter()
                .map(|c| candidate_signature(&redact::redact(c)))
                .collect(),
            ..p
        });
        self
    }

    /// The command that ran: its steps joined by `&&` (the command line for a run recorded
    /// without steps).
    pub fn command(&self) -> String {
        if self.steps.is_empty() {
            return normalize::plan_signature(&self.argv);
        }
        self.steps
            .iter()
            .map(|s| s.command.as_str())
            .collect::<Vec<_>>()
            .join(" && ")
    }

    /// The project root it ran in, if any.
    pub fn project_root(&self) -> Option<&Path> {
        self.project.as_ref().map(|p| p.root.as_path())
    }

    /// A successful run of `true` in `/` as run `id`, for tests.
    #[cfg(test)]
    pub fn sample(id: u64, goal: Option<&str>) -> Episode {
        let argv = vec!["true".to_string()];
        Draft::new(goal, &argv, Path::new("/")).finish(
            RunId(id),
            "/".into(),
            Vec::new(),
            Utc::now(),
            RunOutcome::Exited { code: 0 },
            1,
            "",
        )
    }
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

/// A shown plan's command line as a plan signature: a program given by its absolute path is
/// named by its basename, as `normalize::plan_signature` names a run's plan.
fn candidate_signature(command: &str) -> String {
    match command.split_once(' ') {
        Some((first, rest)) if first.starts_with('/') => {
            format!("{} {rest}", program_name(&[first.to_string()]))
        }
        None if command.starts_with('/') => program_name(&[command.to_string()]),
        _ => command.to_string(),
    }
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
