//! The planner: a goal in words becomes ranked plans for this project, each with why.
//!
//! Goal → task (built-in keywords: test, build, lint, format, run, clean). Candidates: the
//! commands the project offers for that task (context), and the plans the user has run for
//! this same goal before. Ranking: the learned score of each plan for this goal (posterior
//! mean of satisfaction, 0.5 when unseen), plus a small bonus for commands the project itself
//! offers; with `personalized_planning_enabled: false`, the project's own order. A goal that
//! maps to nothing says so and shows what it does know: it never invents a command.
//! Stateless: it reads the profile snapshot and the project's files on each call.

pub mod actor;
pub mod embed;
pub mod playbooks;

use std::path::Path;

use codex_proto::methods::{PlanResult, PlanStep, PlannedCommand};
use codex_proto::prefs::Profile;

use crate::context::{commands, project};
use crate::episode::command_line;
use crate::learning::normalize::normalize_goal;

/// Bonus for a command the project offers itself: among equally liked plans, the project's own.
const FIT: f64 = 0.05;
/// Plans shown: the chosen one and up to two alternatives.
const SHOWN: usize = 3;

/// Words that name each task; the first task with a matching word wins, `run` last.
const TASK_WORDS: &[(&str, &[&str])] = &[
    (
        "test",
        &["test", "tests", "testing", "spec", "specs", "unit", "check"],
    ),
    ("build", &["build", "compile", "package", "bundle"]),
    (
        "lint",
        &["lint", "linter", "clippy", "vet", "typecheck", "warnings"],
    ),
    (
        "format",
        &["format", "fmt", "prettier", "reformat", "indent"],
    ),
    ("clean", &["clean", "cleanup", "tidy"]),
    (
        "run",
        &["start", "serve", "launch", "dev", "run", "execute"],
    ),
];

/// The task a goal asks for, by its words.
pub fn task_of_goal(goal: &str) -> Option<&'static str> {
    let words: Vec<String> = normalize_goal(goal)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    TASK_WORDS
        .iter()
        .find(|(_, keys)| words.iter().any(|w| keys.contains(&w.as_str())))
        .map(|(task, _)| *task)
}

/// How to plan.
pub struct Options<'a> {
    /// Rank by the learned profile (`personalized_planning_enabled`).
    pub personalized: bool,
    /// Look at the project (`context_awareness_enabled`).
    pub context_aware: bool,
    /// What the user taught.
    pub playbooks: &'a playbooks::PlaybookBook,
    /// Embeddings of goals already seen (the actor keeps them between calls).
    pub cache: Option<&'a std::sync::Mutex<std::collections::HashMap<String, Vec<f32>>>>,
}

/// Goals nearer than this (cosine of their embeddings) count as the same goal said otherwise.
const SAME_GOAL: f32 = 0.55;

/// A goal's embedding, from the cache when there is one.
fn embedding(opts: &Options<'_>, goal: &str) -> Vec<f32> {
    let Some(cache) = opts.cache else {
        return embed::embed(goal);
    };
    let Ok(mut c) = cache.lock() else {
        return embed::embed(goal);
    };
    c.entry(goal.to_string())
        .or_insert_with(|| embed::embed(goal))
        .clone()
}

/// Plan `goal` for work in `cwd`.
pub fn plan(goal: &str, cwd: &Path, profile: &Profile, opts: &Options<'_>) -> PlanResult {
    let personalized = opts.personalized;
    let normalized = normalize_goal(goal);
    let proj = if opts.context_aware {
        project::detect(cwd)
    } else {
        None
    };
    let root = proj.as_ref().map(|p| p.root.display().to_string());
    // The goal as the user said it before: exactly, else the nearest by meaning.
    let query = embed::embed(&normalized);
    let learned = profile
        .categories
        .iter()
        .find(|c| c.category == normalized)
        .or_else(|| {
            profile
                .categories
                .iter()
                .map(|c| (c, embed::cosine(&query, &embedding(opts, &c.category))))
                .filter(|(_, sim)| *sim >= SAME_GOAL)
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(c, _)| c)
        });
    let task = task_of_goal(goal).or_else(|| learned.and_then(|c| task_of_goal(&c.category)));
    let mut plans: Vec<PlannedCommand> = Vec::new();
    // A taught playbook for this phrase comes first: the user said what it means.
    if let Some(pb) = opts.playbooks.find(&normalized, root.as_deref()) {
        plans.push(PlannedCommand {
            command: pb
                .steps
                .iter()
                .map(|s| command_line(s))
                .collect::<Vec<_>>()
                .join(" && "),
            steps: pb
                .steps
                .iter()
                .map(|s| PlanStep {
                    argv: s.clone(),
                    rationale: format!("you taught this for \"{}\"", pb.phrase),
                })
                .collect(),
            score: 1.0 + FIT,
            confidence: 0.9,
            alignment: 1.0,
            evidence: if pb.project.is_some() {
                "your playbook for this project".into()
            } else {
                "your playbook (every project)".into()
            },
        });
    }
    if let (Some(task), Some(p)) = (task, proj.as_ref()) {
        for o in commands::offered(p).into_iter().filter(|o| o.task == task) {
            let cmd = command_line(&o.argv);
            if plans.iter().any(|x| x.command == cmd) {
                continue;
            }
            plans.push(PlannedCommand {
                steps: vec![PlanStep {
                    argv: o.argv,
                    rationale: format!("the project offers it for `{task}` ({})", o.source),
                }],
                command: cmd,
                score: 0.5 + FIT,
                confidence: 0.5,
                alignment: 0.5,
                evidence: String::from("no runs of it for this goal yet"),
            });
        }
    }
    // What the user has run for this goal (or one said alike), and how it went.
    let said_alike = learned
        .filter(|c| c.category != normalized)
        .map(|c| c.category.clone());
    if let Some(cat) = learned {
        for pl in &cat.plans {
            let known = plans.iter().position(|x| x.command == pl.plan);
            let evidence = format!(
                "you ran it {} time{} for {}, {:.0}% success{}",
                pl.runs,
                if pl.runs == 1 { "" } else { "s" },
                said_alike
                    .as_ref()
                    .map_or("this goal".to_string(), |g| format!("\"{g}\"")),
                if pl.runs == 0 {
                    0.0
                } else {
                    pl.successes as f64 * 100.0 / pl.runs as f64
                },
                pl.mean_rating
                    .map_or(String::new(), |m| format!(", mean rating {m:.1}"))
            );
            match known {
                Some(i) => {
                    let x = &mut plans[i];
                    x.score = pl.score + FIT;
                    x.confidence = pl.score;
                    x.alignment = pl.score;
                    x.evidence = evidence;
                }
                // A goal said otherwise borrows only plans that ran here: "release" in one
                // project is not "deploy staging" in another.
                None if pl.successes > 0
                    && (said_alike.is_none()
                        || match &root {
                            Some(r) => pl.projects.iter().any(|p| p == r),
                            None => pl.projects.is_empty(),
                        }) =>
                {
                    let Some(argv) = shlex::split(&pl.plan) else {
                        continue;
                    };
                    plans.push(PlannedCommand {
                        steps: vec![PlanStep {
                            argv,
                            rationale: match &said_alike {
                                Some(g) => format!(
                                    "you ran it for \"{g}\", which says the same, and it worked"
                                ),
                                None => "you ran it for this goal before and it worked".into(),
                            },
                        }],
                        command: pl.plan.clone(),
                        score: pl.score,
                        confidence: pl.score,
                        alignment: pl.score,
                        evidence,
                    });
                }
                None => {}
            }
        }
    }
    if personalized {
        // Stable: equal scores keep the project's own order.
        plans.sort_by(|a, b| b.score.total_cmp(&a.score));
    }
    plans.truncate(SHOWN);
    let known_tasks: Vec<String> = proj
        .as_ref()
        .map(|p| {
            let mut t: Vec<String> = commands::offered(p).into_iter().map(|o| o.task).collect();
            t.sort();
            t.dedup();
            t
        })
        .unwrap_or_default();
    let unknown = plans.is_empty().then(|| {
        let mut why = match (task, &proj) {
            (None, _) => format!("codex does not know how to \"{goal}\""),
            (Some(t), Some(p)) => format!("this {} project offers no command for `{t}`", p.kind),
            (Some(t), None) => format!("there is no project here to find a `{t}` command in"),
        };
        if !known_tasks.is_empty() {
            why.push_str(&format!("; it knows: {}", known_tasks.join(", ")));
        }
        let similar: Vec<&str> = profile
            .categories
            .iter()
            .filter(|c| {
                normalized
                    .split_whitespace()
                    .any(|w| w.len() > 2 && c.category.contains(w))
            })
            .map(|c| c.category.as_str())
            .take(3)
            .collect();
        if !similar.is_empty() {
            why.push_str(&format!(
                "; goals you have run that look alike: {}",
                similar.join(", ")
            ));
        }
        why.push_str(&format!(
            "; teach it with `codex teach \"{goal}\" -- COMMAND`"
        ));
        why
    });
    PlanResult {
        goal: goal.to_string(),
        task: task.map(String::from),
        project: proj.map(|p| p.root.display().to_string()),
        plans,
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_proto::prefs::{CategoryPrefs, PlanPrefs};

    #[test]
    fn goals_map_to_tasks_by_their_words() {
        for (goal, task) in [
            ("run the tests", Some("test")),
            ("Build it!", Some("build")),
            ("lint", Some("lint")),
            ("format the code", Some("format")),
            ("start the dev server", Some("run")),
            ("make coffee", None),
        ] {
            assert_eq!(task_of_goal(goal), task, "{goal}");
        }
    }

    fn opts(book: &playbooks::PlaybookBook, personalized: bool) -> Options<'_> {
        Options {
            personalized,
            context_aware: true,
            playbooks: book,
            cache: None,
        }
    }

    fn rust_project() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("Cargo.toml"), "[package]\n").unwrap();
        t
    }

    #[test]
    fn the_projects_command_is_planned_and_learned_plans_outrank_it() {
        let t = rust_project();
        let empty = Profile::default();
        let book = playbooks::PlaybookBook::default();
        let p = plan("run the tests", t.path(), &empty, &opts(&book, true));
        assert_eq!(p.plans[0].command, "cargo test");
        let liked = Profile {
            categories: vec![CategoryPrefs {
                category: "run the tests".into(),
                runs: 5,
                plans: vec![
                    PlanPrefs {
                        plan: "cargo nextest run".into(),
                        score: 0.9,
                        runs: 5,
                        successes: 5,
                        projects: vec![t.path().display().to_string()],
                        ..PlanPrefs::default()
                    },
                    PlanPrefs {
                        plan: "cargo test".into(),
                        score: 0.3,
                        runs: 3,
                        successes: 3,
                        ..PlanPrefs::default()
                    },
                ],
                tools: Vec::new(),
            }],
            ..Profile::default()
        };
        let p = plan("Run the tests", t.path(), &liked, &opts(&book, true));
        assert_eq!(p.plans[0].command, "cargo nextest run");
        assert_eq!(p.plans[1].command, "cargo test");
        assert!(
            p.plans[0].evidence.contains("5 times"),
            "{}",
            p.plans[0].evidence
        );
        // Without personalization the project's own command leads.
        let p = plan("run the tests", t.path(), &liked, &opts(&book, false));
        assert_eq!(p.plans[0].command, "cargo test");
        // Said otherwise, the same goal finds the same preference.
        let p = plan(
            "execute the test suite",
            t.path(),
            &liked,
            &opts(&book, true),
        );
        assert_eq!(p.plans[0].command, "cargo nextest run");
        assert!(
            p.plans[0].evidence.contains("\"run the tests\""),
            "{}",
            p.plans[0].evidence
        );
    }

    #[test]
    fn an_unknown_goal_says_so_and_invents_nothing() {
        let t = rust_project();
        let book = playbooks::PlaybookBook::default();
        let p = plan(
            "deploy staging",
            t.path(),
            &Profile::default(),
            &opts(&book, true),
        );
        assert!(p.plans.is_empty());
        let why = p.unknown.unwrap();
        assert!(
            why.contains("does not know how to \"deploy staging\""),
            "{why}"
        );
        assert!(
            why.contains("it knows: build, clean, format, lint, run, test"),
            "{why}"
        );
        assert!(why.contains("codex teach"), "{why}");
    }
}
