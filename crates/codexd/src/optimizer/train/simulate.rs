//! Seeded simulated users for the training's tests and benchmarks: the noisy raters of the
//! feedback model's tests (the liked plan rated 3–5, another 1–3, a share of ratings the other
//! way round) with more habits: several goals, projects and plans, tastes that change at
//! different speeds, rare ratings, plans that fail. The same seed always gives the same data.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use codex_patterns::generate::Rng;
use codex_proto::types::RunId;

use super::{Decision, DecisionKind, TrainData};
use crate::feedback::model::Params;
use crate::feedback::state::{Signal, SignalKind};

/// How a simulated user works.
#[derive(Debug, Clone, PartialEq)]
pub struct Habits {
    /// Task categories (goals) they run.
    pub categories: usize,
    /// Projects they work in.
    pub projects: usize,
    /// Plans each goal can be reached by.
    pub plans: usize,
    /// Chance, per run of a goal, that their preferred plan for it changes (0: never).
    pub change: f64,
    /// Chance that a run is rated.
    pub rate: f64,
    /// Chance that a rating goes the other way round.
    pub noise: f64,
    /// Chance that the preferred plan fails.
    pub fail_liked: f64,
    /// Chance that another plan fails.
    pub fail_other: f64,
    /// Mean minutes between runs.
    pub gap_minutes: f64,
    /// Share of plan decisions logged by a greedy planner (propensity 1 for the plan shown
    /// first, 0 for one picked instead); the rest are logged as uniform (1 / plans).
    pub greedy_log: f64,
    /// One interaction per run for the next-goal model (the routine generator's commands),
    /// and a suggestion decision every tenth run.
    pub interactions: bool,
}

impl Habits {
    /// One preferred plan per goal, for good: the user of a stable setup.
    pub fn steady() -> Self {
        Habits {
            categories: 3,
            projects: 2,
            plans: 3,
            change: 0.0,
            rate: 0.6,
            noise: 1.0 / 6.0,
            fail_liked: 0.05,
            fail_other: 0.15,
            gap_minutes: 45.0,
            greedy_log: 0.0,
            interactions: false,
        }
    }

    /// A consistent rater (rates nine runs in ten, rarely the other way round) of two plans
    /// for each of two goals, whose taste changes every twenty runs of a goal or so.
    pub fn fast_changing() -> Self {
        Habits {
            categories: 2,
            projects: 1,
            plans: 2,
            change: 0.05,
            rate: 0.9,
            noise: 0.05,
            ..Habits::steady()
        }
    }

    /// Rates one run in ten; taste changes now and then.
    pub fn rare_rater() -> Self {
        Habits {
            rate: 0.1,
            change: 0.02,
            ..Habits::steady()
        }
    }

    /// Rates a third of the time the other way round.
    pub fn noisy_rater() -> Self {
        Habits {
            noise: 1.0 / 3.0,
            change: 0.01,
            ..Habits::steady()
        }
    }

    /// The kinds of user the before/after figure averages over, by name.
    pub fn population() -> [(&'static str, Habits); 4] {
        [
            ("steady", Habits::steady()),
            ("fast-changing", Habits::fast_changing()),
            ("rare rater", Habits::rare_rater()),
            ("noisy rater", Habits::noisy_rater()),
        ]
    }
}

/// A plan's shared names: the plan, its tool, its program.
type PlanNames = (Arc<str>, Arc<str>, Arc<str>);

/// Shared names, so a hundred thousand signals share a few strings.
struct Names {
    categories: Vec<Arc<str>>,
    plans: Vec<Vec<PlanNames>>,
    projects: Vec<Arc<str>>,
}

impl Names {
    fn new(h: &Habits) -> Self {
        Names {
            categories: (0..h.categories)
                .map(|c| Arc::from(format!("goal {c}")))
                .collect(),
            plans: (0..h.categories)
                .map(|c| {
                    (0..h.plans)
                        .map(|k| {
                            let program = format!("tool{c}");
                            let tool = format!("{program} task");
                            let plan = format!("{tool} --way {k}");
                            (Arc::from(plan), Arc::from(tool), Arc::from(program))
                        })
                        .collect()
                })
                .collect(),
            projects: (0..h.projects)
                .map(|j| Arc::from(format!("/src/project{j}")))
                .collect(),
        }
    }
}

/// `runs` runs of a user with these habits, as training data (with the default learning
/// parameters as its base).
pub fn user(habits: &Habits, seed: u64, runs: usize) -> TrainData {
    let h = habits;
    let mut rng = Rng::new(seed.wrapping_mul(0x51_7cc1).wrapping_add(0xfeed));
    let names = Names::new(h);
    let (cats, plans) = (h.categories.max(1), h.plans.max(1));
    let mut liked: Vec<usize> = (0..cats).map(|_| rng.below(plans)).collect();
    let goals = if h.interactions {
        codex_patterns::generate::routine_history(seed, runs)
    } else {
        Vec::new()
    };
    let mut data = TrainData {
        signals: Vec::with_capacity(runs * 2),
        decisions: Vec::with_capacity(runs + runs / 10),
        interactions: Vec::with_capacity(goals.len()),
        base: Params::default(),
    };
    let mut now: DateTime<Utc> = Utc
        .with_ymd_and_hms(2025, 1, 6, 8, 0, 0)
        .single()
        .unwrap_or_default();
    for run in 0..runs {
        let gap = h.gap_minutes * (0.2 + 1.6 * rng.f64());
        now += Duration::seconds((gap * 60.0) as i64 + 10);
        let c = rng.zipf(cats);
        let project = &names.projects[rng.below(h.projects.max(1))];
        if rng.chance(h.change) && plans > 1 {
            liked[c] = (liked[c] + 1 + rng.below(plans - 1)) % plans;
        }
        let k = rng.below(plans);
        let mut shown: Vec<usize> = (0..plans).collect();
        for i in (1..shown.len()).rev() {
            shown.swap(i, rng.below(i + 1));
        }
        let chosen = shown.iter().position(|&s| s == k).unwrap_or(0);
        let propensity = if rng.chance(h.greedy_log) {
            if chosen == 0 { 1.0 } else { 0.0 }
        } else {
            1.0 / plans as f64
        };
        let run_id = RunId(run as u64 + 1);
        let (plan, tool, program) = &names.plans[c][k];
        data.decisions.push(Decision {
            at: now - Duration::seconds(1),
            kind: DecisionKind::Plan,
            run_id: Some(run_id),
            category: names.categories[c].to_string(),
            project: Some(project.to_string()),
            candidates: shown
                .iter()
                .map(|&s| names.plans[c][s].0.to_string())
                .collect(),
            chosen,
            propensity,
            outcome: None,
        });
        let good = k == liked[c];
        let fail = if good { h.fail_liked } else { h.fail_other };
        let signal = |at: DateTime<Utc>, kind: SignalKind| Signal {
            run_id: Some(run_id),
            at,
            category: names.categories[c].clone(),
            plan: plan.clone(),
            tool: tool.clone(),
            program: program.clone(),
            project: Some(project.clone()),
            learn: true,
            kind,
        };
        data.signals
            .push(signal(now, SignalKind::named_outcome(!rng.chance(fail))));
        if rng.chance(h.rate) {
            let pleased = good != rng.chance(h.noise);
            let score = if pleased { 3 } else { 1 } + rng.below(3) as u8;
            data.signals.push(signal(
                now + Duration::seconds(5),
                SignalKind::Rating { score },
            ));
        }
        if let Some(goal) = goals.get(run) {
            if run % 10 == 0 && run > 0 {
                data.decisions
                    .push(suggestion(&goals, run, now, project, &mut rng));
            }
            data.interactions.push(codex_patterns::Interaction {
                goal: goal.goal.clone(),
                at: Some(now),
                project: Some(project.to_string()),
            });
        }
    }
    data
}

/// A suggestion decision before interaction `run`: three recent goals shown, the first
/// offered (greedy, propensity 1), rewarded when it is what the user ran next.
fn suggestion(
    goals: &[codex_patterns::Interaction],
    run: usize,
    now: DateTime<Utc>,
    project: &str,
    rng: &mut Rng,
) -> Decision {
    let mut candidates: Vec<String> = Vec::with_capacity(3);
    for back in 1..=run.min(12) {
        let g = &goals[run - back].goal;
        if candidates.len() < 3 && !candidates.contains(g) {
            candidates.push(g.clone());
        }
    }
    if rng.chance(0.3) && !candidates.contains(&goals[run].goal) {
        candidates.insert(0, goals[run].goal.clone());
        candidates.truncate(3);
    }
    let hit = candidates.first() == Some(&goals[run].goal);
    Decision {
        at: now - Duration::seconds(2),
        kind: DecisionKind::Suggestion,
        run_id: None,
        category: String::new(),
        project: Some(project.to_string()),
        candidates,
        chosen: 0,
        propensity: 1.0,
        outcome: Some(if hit { 1.0 } else { 0.0 }),
    }
}
