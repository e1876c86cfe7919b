//! Semantic knowledge (`storage/semantic/personalized_knowledge.json`): per project, its
//! workflow patterns (goal counts, which goal follows which, hours and weekdays) and the
//! commands that worked there; per task category, outcome statistics of episodes that have
//! left episodic memory. Everything here can be rebuilt from the dataset (plus the set of
//! runs still in episodic memory), which is how `codex forget` deletes from it.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use codex_proto::prefs::{CommandCount, GoalCount, ProjectPatterns, Sequence};
use codex_proto::types::RunId;
use serde::{Deserialize, Serialize};

use super::dataset::Record;
use crate::episode::Episode;
use crate::feedback::model::{local_hour, local_weekday};
use crate::store::journal::State;

/// Two goals further apart than this do not "follow" each other: they belong to different
/// sittings.
pub const SEQUENCE_GAP_SECS: i64 = 4 * 3600;
/// Entries shown per list in `codex prefs show`.
const TOP: usize = 10;

/// The state behind the knowledge file.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knowledge {
    /// By project root ("" for runs outside any project and imported history).
    pub projects: BTreeMap<String, ProjectKnowledge>,
    /// Outcome statistics of consolidated episodes, by task category.
    pub categories: BTreeMap<String, OutcomeStats>,
    /// The runs of the latest consolidation; on start, any of them still in episodic memory
    /// are evicted (the eviction was interrupted), never consolidated twice.
    #[serde(default)]
    pub last_consolidated: Vec<RunId>,
    /// Project profiles (name, kind, languages, commands) as last read, by root; read again
    /// when a file they were read from changes.
    #[serde(default)]
    pub profiles: BTreeMap<String, crate::context::profile::ProjectProfile>,
}

/// What is known about one project.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectKnowledge {
    /// `rust`, `node`, ... ("" when unknown).
    pub kind: String,
    /// Interactions seen.
    pub interactions: u64,
    /// Normalized goal → occurrences.
    pub goals: BTreeMap<String, u64>,
    /// Goal → following goal → count and total gap.
    pub transitions: BTreeMap<String, BTreeMap<String, Transition>>,
    /// Interactions per local hour.
    pub hours: [u64; 24],
    /// Interactions per local weekday, Monday first.
    pub weekdays: [u64; 7],
    /// The latest goal and when, for the next transition.
    pub last: Option<(String, DateTime<Utc>)>,
    /// Consolidated commands: command line → counts.
    pub commands: BTreeMap<String, CommandStats>,
}

/// One goal following another.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// How often.
    pub count: u64,
    /// Sum of the gaps, in seconds.
    pub gap_secs: i64,
}

/// A consolidated command's record.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandStats {
    /// Its task category.
    pub category: String,
    /// Runs.
    pub runs: u64,
    /// Successful runs.
    pub successes: u64,
}

/// Outcome statistics of a category.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeStats {
    /// Runs.
    pub runs: u64,
    /// Exit 0.
    pub successes: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// Sum of durations.
    pub total_ms: u64,
    /// Rated runs.
    pub ratings: u64,
    /// Sum of their scores.
    pub rating_sum: u64,
}

/// What consolidation keeps of an episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The run.
    pub run_id: RunId,
    /// Project root ("" for none) and kind.
    pub project: String,
    /// Project kind.
    pub kind: String,
    /// Task category.
    pub category: String,
    /// Command line.
    pub plan: String,
    /// Exit 0.
    pub success: bool,
    /// Cancelled.
    pub cancelled: bool,
    /// Wall time.
    pub duration_ms: u64,
    /// Its rating, if any.
    pub rating: Option<u8>,
}

impl Summary {
    /// The summary of an episode.
    pub fn of(e: &Episode) -> Self {
        let (project, kind) = project_key(e.project.as_ref());
        Summary {
            run_id: e.run_id,
            project,
            kind,
            category: e.category.clone(),
            plan: e.plan.clone(),
            success: e.outcome.success(),
            cancelled: matches!(e.outcome, codex_proto::types::RunOutcome::Cancelled),
            duration_ms: e.duration_ms,
            rating: e.rating,
        }
    }
}

/// The project key and kind of an optional project.
pub fn project_key(p: Option<&crate::context::project::Project>) -> (String, String) {
    p.map_or_else(Default::default, |p| {
        (p.root.display().to_string(), p.kind.clone())
    })
}

/// A change to knowledge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum KnowledgeOp {
    /// An interaction happened (a run, or an imported history line).
    Observe {
        /// Project root ("" for none).
        project: String,
        /// Project kind.
        kind: String,
        /// Normalized goal.
        goal: String,
        /// When, if known (imported lines may not say).
        at: Option<DateTime<Utc>>,
    },
    /// Episodes leaving episodic memory.
    Consolidate {
        /// What is kept of them.
        summaries: Vec<Summary>,
    },
    /// A project's profile was read (first time, or because its files changed).
    Profile {
        /// The profile.
        profile: crate::context::profile::ProjectProfile,
    },
}

impl State for Knowledge {
    type Op = KnowledgeOp;

    fn apply(&mut self, op: KnowledgeOp) {
        match op {
            KnowledgeOp::Observe {
                project,
                kind,
                goal,
                at,
            } => self.observe(project, kind, goal, at),
            KnowledgeOp::Consolidate { summaries } => {
                self.last_consolidated = summaries.iter().map(|s| s.run_id).collect();
                for s in summaries {
                    self.consolidate(s);
                }
            }
            KnowledgeOp::Profile { profile } => {
                self.profiles.insert(profile.root.clone(), profile);
            }
        }
    }
}

impl Knowledge {
    fn observe(&mut self, project: String, kind: String, goal: String, at: Option<DateTime<Utc>>) {
        let p = self.projects.entry(project).or_default();
        if p.kind.is_empty() {
            p.kind = kind;
        }
        p.interactions += 1;
        *p.goals.entry(goal.clone()).or_default() += 1;
        if let Some(at) = at {
            p.hours[local_hour(at) % 24] += 1;
            p.weekdays[local_weekday(at) % 7] += 1;
            if let Some((prev, prev_at)) = &p.last {
                let gap = (at - *prev_at).num_seconds();
                if (0..=SEQUENCE_GAP_SECS).contains(&gap) && *prev != goal {
                    let t = p
                        .transitions
                        .entry(prev.clone())
                        .or_default()
                        .entry(goal.clone())
                        .or_default();
                    t.count += 1;
                    t.gap_secs += gap;
                }
            }
            p.last = Some((goal, at));
        }
    }

    fn consolidate(&mut self, s: Summary) {
        let p = self.projects.entry(s.project).or_default();
        if p.kind.is_empty() {
            p.kind = s.kind;
        }
        let c = p.commands.entry(s.plan).or_default();
        c.category.clone_from(&s.category);
        c.runs += 1;
        c.successes += u64::from(s.success);
        let o = self.categories.entry(s.category).or_default();
        o.runs += 1;
        o.successes += u64::from(s.success);
        o.cancelled += u64::from(s.cancelled);
        o.total_ms += s.duration_ms;
        if let Some(r) = s.rating {
            o.ratings += 1;
            o.rating_sum += u64::from(r);
        }
    }

    /// Patterns per project, busiest first; only `root` when given.
    pub fn patterns(&self, root: Option<&str>) -> Vec<ProjectPatterns> {
        let mut out: Vec<ProjectPatterns> = self
            .projects
            .iter()
            .filter(|(r, _)| root.is_none_or(|want| want == r.as_str()))
            .map(|(root, p)| {
                let mut goals: Vec<GoalCount> = p
                    .goals
                    .iter()
                    .map(|(g, c)| GoalCount {
                        goal: g.clone(),
                        count: *c,
                    })
                    .collect();
                goals.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.goal.cmp(&b.goal)));
                goals.truncate(TOP);
                let mut sequences: Vec<Sequence> = p
                    .transitions
                    .iter()
                    .flat_map(|(from, tos)| {
                        tos.iter().map(move |(to, t)| Sequence {
                            from: from.clone(),
                            to: to.clone(),
                            count: t.count,
                            mean_gap_secs: t.gap_secs as f64 / t.count.max(1) as f64,
                        })
                    })
                    .collect();
                sequences.sort_by(|a, b| {
                    b.count
                        .cmp(&a.count)
                        .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
                });
                sequences.truncate(TOP);
                let mut commands: Vec<CommandCount> = p
                    .commands
                    .iter()
                    .filter(|(_, c)| c.successes > 0)
                    .map(|(cmd, c)| CommandCount {
                        command: cmd.clone(),
                        category: c.category.clone(),
                        runs: c.runs,
                        successes: c.successes,
                    })
                    .collect();
                commands.sort_by(|a, b| {
                    b.successes
                        .cmp(&a.successes)
                        .then_with(|| a.command.cmp(&b.command))
                });
                commands.truncate(TOP);
                ProjectPatterns {
                    project: root.clone(),
                    kind: p.kind.clone(),
                    interactions: p.interactions,
                    goals,
                    sequences,
                    hours: p.hours.to_vec(),
                    weekdays: p.weekdays.to_vec(),
                    commands,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.interactions
                .cmp(&a.interactions)
                .then_with(|| a.project.cmp(&b.project))
        });
        out
    }
}

/// Knowledge rebuilt from dataset records fed in file order, as it would be had only they
/// been seen, with the runs in `in_memory` still in episodic memory (not consolidated).
/// Each record says whether patterns were tracked for it, so the rebuild keeps what was
/// learned whatever the setting is now.
pub struct Rebuild<'a> {
    k: Knowledge,
    in_memory: &'a HashSet<RunId>,
    /// Consolidated runs wait for their label, which comes later in the file.
    pending: Vec<Summary>,
    ratings: std::collections::HashMap<RunId, u8>,
}

impl<'a> Rebuild<'a> {
    /// Start from nothing.
    pub fn new(in_memory: &'a HashSet<RunId>) -> Self {
        Rebuild {
            k: Knowledge::default(),
            in_memory,
            pending: Vec::new(),
            ratings: Default::default(),
        }
    }

    /// Take in the next record.
    pub fn push(&mut self, r: &Record) {
        match r {
            Record::Example(e) => {
                let (project, kind) = project_key(e.project.as_ref());
                if e.patterns {
                    self.k.observe(
                        project.clone(),
                        kind.clone(),
                        e.goal_normalized.clone(),
                        Some(e.at),
                    );
                }
                if !self.in_memory.contains(&e.run_id) {
                    self.pending.push(Summary {
                        run_id: e.run_id,
                        project,
                        kind,
                        category: e.category.clone(),
                        plan: e.plan.clone(),
                        success: e.success,
                        cancelled: matches!(e.outcome, codex_proto::types::RunOutcome::Cancelled),
                        duration_ms: e.duration_ms,
                        rating: None,
                    });
                }
            }
            Record::Label { run_id, score, .. } => {
                self.ratings.insert(*run_id, *score);
            }
            Record::Interaction {
                at,
                goal_normalized,
                patterns: true,
                project,
                ..
            } => {
                let (project, kind) = project_key(project.as_ref());
                self.k.observe(project, kind, goal_normalized.clone(), *at);
            }
            Record::Interaction { .. } => {}
        }
    }

    /// The rebuilt knowledge.
    pub fn finish(mut self) -> Knowledge {
        for mut s in std::mem::take(&mut self.pending) {
            s.rating = self.ratings.get(&s.run_id).copied();
            self.k.consolidate(s);
        }
        self.k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(sec: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(1_700_000_000 + sec, 0)
    }

    fn observe(k: &mut Knowledge, project: &str, goal: &str, t: i64) {
        k.apply(KnowledgeOp::Observe {
            project: project.into(),
            kind: "rust".into(),
            goal: goal.into(),
            at: at(t),
        });
    }

    #[test]
    fn transitions_count_goals_that_follow_within_a_sitting() {
        let mut k = Knowledge::default();
        observe(&mut k, "/p", "build", 0);
        observe(&mut k, "/p", "test", 60);
        observe(&mut k, "/p", "build", 100);
        observe(&mut k, "/p", "test", 200);
        observe(&mut k, "/p", "deploy", 200 + SEQUENCE_GAP_SECS + 1); // next sitting
        observe(&mut k, "/q", "lint", 10); // other project: no transition from /p
        let p = &k.patterns(Some("/p"))[0];
        assert_eq!(
            p.goals[0],
            GoalCount {
                goal: "build".into(),
                count: 2
            }
        );
        let bt = p
            .sequences
            .iter()
            .find(|s| s.from == "build" && s.to == "test")
            .unwrap();
        assert_eq!((bt.count, bt.mean_gap_secs), (2, 80.0));
        assert!(!p.sequences.iter().any(|s| s.to == "deploy"));
        assert_eq!(p.hours.iter().sum::<u64>(), 5);
        assert_eq!(k.patterns(None).len(), 2);
    }

    #[test]
    fn consolidation_keeps_commands_that_worked_and_category_stats() {
        let mut k = Knowledge::default();
        let s = |id: u64, plan: &str, success: bool, rating: Option<u8>| Summary {
            run_id: RunId(id),
            project: "/p".into(),
            kind: "rust".into(),
            category: "run the tests".into(),
            plan: plan.into(),
            success,
            cancelled: false,
            duration_ms: 10,
            rating,
        };
        k.apply(KnowledgeOp::Consolidate {
            summaries: vec![
                s(1, "cargo nextest run", true, Some(5)),
                s(2, "cargo test", false, Some(2)),
                s(3, "cargo nextest run", true, None),
            ],
        });
        assert_eq!(k.last_consolidated, vec![RunId(1), RunId(2), RunId(3)]);
        let p = &k.patterns(Some("/p"))[0];
        assert_eq!(
            p.commands.len(),
            1,
            "only commands that worked: {:?}",
            p.commands
        );
        assert_eq!(p.commands[0].successes, 2);
        let o = &k.categories["run the tests"];
        assert_eq!((o.runs, o.successes, o.ratings, o.rating_sum), (3, 2, 2, 7));
    }
}
