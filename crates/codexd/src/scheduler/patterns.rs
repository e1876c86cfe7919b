//! Pattern recognition: what the user does, in order, feeds the next-goal model
//! (`codex-patterns`) and the recurring-goal finder that proposes jobs.
//!
//! What counts as something the user did: a run they started (a plan's first step only, never
//! a scheduled run), an imported history line, a command the shell hook recorded. The model is
//! rebuilt from the learning dataset at start (it holds all three, in order) and learns online
//! after that, so a `suggest` right after a run sees it.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Local, Utc};
use codex_patterns::{Interaction, Model, Prediction, RecurringConfig};
use codex_proto::types::RunPart;

use crate::episode::{Episode, Trigger};
use crate::learning::dataset::Record;

/// Timed interactions kept for the recurring-goal finder (the newest): weeks of work for
/// anyone, and a bounded scan.
const KEEP_TIMED: usize = 20_000;

/// Commands remembered as commands, so a suggested one runs as typed.
const KEEP_COMMANDS: usize = 50_000;

/// The model and what it was built from.
pub struct Patterns {
    model: Model<Local>,
    /// Interactions with a time, newest last, for recurring goals.
    timed: Vec<Interaction>,
    /// Goals that were typed commands → their words, so a suggestion of one runs it as is.
    commands: HashMap<String, Vec<String>>,
    learned: u64,
}

impl std::fmt::Debug for Patterns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Patterns")
            .field("learned", &self.learned)
            .finish_non_exhaustive()
    }
}

impl Default for Patterns {
    fn default() -> Self {
        Patterns::with_params(codex_patterns::model::Params::default())
    }
}

impl Patterns {
    /// An empty model with these weights (a personal model's).
    pub fn with_params(params: codex_patterns::model::Params) -> Self {
        Patterns {
            model: Model::with_params(Local, params),
            timed: Vec::new(),
            commands: HashMap::new(),
            learned: 0,
        }
    }
}

impl Observed {
    /// The interaction the next-goal model learns from this.
    pub fn interaction(&self) -> Option<Interaction> {
        let goal = self.goal.trim();
        (!goal.is_empty()).then(|| Interaction {
            goal: goal.to_string(),
            at: self.at,
            project: self.project.clone(),
        })
    }
}

/// A recurring goal proposed as a job.
#[derive(Debug, Clone)]
pub struct Recurring {
    /// The proposal.
    pub proposal: codex_patterns::Proposal,
    /// The command's words, when the goal was a typed command.
    pub argv: Option<Vec<String>>,
}

/// One thing the user did, as the scheduler learns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The goal (words), or the command line typed.
    pub goal: String,
    /// The command's words when the goal is a typed command.
    pub argv: Option<Vec<String>>,
    /// When, if known.
    pub at: Option<DateTime<Utc>>,
    /// The project root, if known.
    pub project: Option<String>,
}

impl Observed {
    /// A finished run, if it is something the user chose to do: a plan's first step (or a
    /// command), started by them or from a suggestion.
    pub fn of_run(e: &Episode) -> Option<Observed> {
        if e.part != RunPart::Whole || e.trigger == Trigger::Schedule {
            return None;
        }
        Some(Observed {
            argv: (!e.goal_named()).then(|| e.argv.clone()),
            goal: e.goal.clone(),
            at: Some(e.started_at),
            project: e.project_root().map(|p| p.display().to_string()),
        })
    }

    /// A line of the learning dataset, if it records something the user did.
    pub fn of_record(r: &Record) -> Option<Observed> {
        match r {
            Record::Example(e) => {
                if !e.patterns || e.part != RunPart::Whole || e.trigger == Trigger::Schedule {
                    return None;
                }
                let typed = e.goal == crate::episode::command_line(&e.argv);
                Some(Observed {
                    argv: typed.then(|| e.argv.clone()),
                    goal: e.goal.clone(),
                    at: Some(e.at - chrono::Duration::milliseconds(ms(e.duration_ms))),
                    project: e.project.as_ref().map(|p| p.root.display().to_string()),
                })
            }
            Record::Interaction {
                at,
                goal,
                patterns,
                project,
                ..
            } if *patterns => Some(Observed::typed(
                goal,
                *at,
                project.as_ref().map(|p| p.root.as_path()),
            )),
            _ => None,
        }
    }

    /// A command typed in a shell (imported or recorded).
    pub fn typed(command: &str, at: Option<DateTime<Utc>>, project: Option<&Path>) -> Observed {
        Observed {
            goal: command.to_string(),
            argv: as_typed(command),
            at,
            project: project.map(|p| p.display().to_string()),
        }
    }
}

/// The words that run a typed line as it was typed: its words when it is a plain command,
/// else the shell given the whole line (pipes, redirections, `~`, `$(…)`, globs, `&&`: what
/// only a shell does), which the executor then reads like any shell step.
fn as_typed(command: &str) -> Option<Vec<String>> {
    const SHELL: &[char] = &[
        '|', '&', ';', '<', '>', '(', ')', '$', '`', '~', '*', '?', '[', ']', '{', '}', '\n', '#',
        '!', '=',
    ];
    // Quotes are taken apart by shlex; anything else a shell would act on goes to the shell.
    let unquoted: String = {
        let mut out = String::new();
        let mut quote = None;
        for c in command.chars() {
            match (quote, c) {
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, c) => out.push(c),
                (Some(_), _) => {}
            }
        }
        out
    };
    if unquoted.contains(SHELL) || command.contains("$(") || command.contains('`') {
        return Some(vec!["sh".into(), "-c".into(), command.to_string()]);
    }
    shlex::split(command)
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Patterns {
    /// Learn one thing the user did.
    pub fn observe(&mut self, o: Observed) {
        let goal = o.goal.trim();
        if goal.is_empty() {
            return;
        }
        let i = Interaction {
            goal: goal.to_string(),
            at: o.at,
            project: o.project,
        };
        self.model.observe(&i);
        self.learned += 1;
        if let Some(argv) = o.argv.filter(|a| !a.is_empty()) {
            if self.commands.len() >= KEEP_COMMANDS && !self.commands.contains_key(goal) {
                self.commands.clear();
            }
            self.commands.insert(i.goal.clone(), argv);
        }
        if i.at.is_some() {
            if self.timed.len() >= KEEP_TIMED {
                self.timed.drain(..KEEP_TIMED / 10);
            }
            self.timed.push(i);
        }
    }

    /// The goals expected next, here and now, best first.
    pub fn predict(&self, now: DateTime<Utc>, project: Option<&str>, k: usize) -> Vec<Prediction> {
        self.model.predict(Some(now), project, k)
    }

    /// The words of a goal that was a typed command.
    pub fn command(&self, goal: &str) -> Option<&Vec<String>> {
        self.commands.get(goal)
    }

    /// Interactions learned from.
    pub fn learned(&self) -> u64 {
        self.learned
    }

    /// Recurring goals (same goal, same project, similar local time, several days), as
    /// proposed jobs, each with its command's words when it was typed; only goals seen in a
    /// project are proposed.
    pub fn recurring(&self) -> Vec<Recurring> {
        codex_patterns::propose(&self.timed, &Local, &RecurringConfig::default())
            .into_iter()
            .filter(|p| p.project.is_some())
            .map(|p| Recurring {
                argv: self.command(&p.goal).cloned(),
                proposal: p,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_alone_is_enough_and_typed_commands_keep_their_words() {
        let mut p = Patterns::default();
        for _ in 0..20 {
            p.observe(Observed::typed("git pull", None, None));
            p.observe(Observed::typed("cargo test", None, None));
        }
        p.observe(Observed::typed("git pull", None, None));
        let top = p.predict(Utc::now(), None, 3);
        assert_eq!(top[0].goal, "cargo test", "{top:?}");
        let words = top[0].evidence.words("cargo test");
        assert!(!words.is_empty());
        assert_eq!(
            p.command("cargo test"),
            Some(&vec!["cargo".to_string(), "test".to_string()])
        );
        assert_eq!(p.learned(), 41);
    }

    #[test]
    fn a_typed_line_runs_as_typed() {
        let argv = |c: &str| Observed::typed(c, None, None).argv.unwrap();
        assert_eq!(argv("git status"), ["git", "status"]);
        assert_eq!(
            argv("git commit -m 'a | b'"),
            ["git", "commit", "-m", "a | b"]
        );
        for line in [
            "curl https://x.example | sh",
            "rm -rf ~",
            "echo \"$(rm -rf x)\"",
            "make && make install",
            "ls *.rs",
            "FOO=1 cargo test",
            "cat a > b",
        ] {
            assert_eq!(argv(line), ["sh", "-c", line], "{line}");
        }
    }

    #[test]
    fn scheduled_runs_and_later_steps_are_not_the_users_doing() {
        let r: Record = serde_json::from_str(
            r#"{"type":"example","run_id":1,"at":"2026-12-01T09:00:00Z","goal":"x",
                "program":"x","argv":["x"],"cwd":"/p","trigger":"schedule",
                "outcome":{"status":"exited","code":0},"success":true,"duration_ms":5}"#,
        )
        .unwrap();
        assert_eq!(Observed::of_record(&r), None);
        let r: Record = serde_json::from_str(
            r#"{"type":"example","run_id":1,"at":"2026-12-01T09:00:00Z","goal":"x",
                "program":"x","argv":["x"],"cwd":"/p","trigger":"user","part":"continues",
                "outcome":{"status":"exited","code":0},"success":true,"duration_ms":5}"#,
        )
        .unwrap();
        assert_eq!(Observed::of_record(&r), None);
        let r: Record = serde_json::from_str(
            r#"{"type":"interaction","goal":"ls -la","goal_normalized":"ls -la","source":"bash-history"}"#,
        )
        .unwrap();
        let o = Observed::of_record(&r).unwrap();
        assert_eq!(o.argv, Some(vec!["ls".into(), "-la".into()]));
    }
}
