//! The planner: a goal in words becomes ranked plans for this project, each with why.
//!
//! Goal → category: the registry's keywords (user tools, built-in tools, project tasks), else
//! the category of the nearest goal the user has run. Candidates: a taught playbook, the
//! commands the project offers for the task, the registry's tools for the category (their
//! parameters filled from the goal), and the plans the user ran for this goal (or one said
//! alike). Learned corrections rewrite a candidate ("you kept replacing `cargo test` by
//! `cargo nextest run`"). Ranking: a playbook first, then the learned score of each plan for
//! this goal (posterior mean of satisfaction, or a draw from the posterior when exploration
//! is `thompson` and comfort is not low) plus a bonus for fitting the project; with
//! `personalized_planning_enabled: false`, the project's own order. A goal that maps to
//! nothing says so and shows what it does know: it never invents a command.
//! Stateless: it reads the profile snapshot it is given, the project profile the actor keeps
//! (or the project's files when called without one), and the folder (tool markers, path
//! parameters).

pub mod actor;
pub mod borrow;
pub mod embed;
pub mod fit;
pub mod learned;
pub mod llm;
pub mod playbooks;
pub mod registry;
pub mod remote;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use codex_proto::methods::{PlanResult, PlanStep, PlannedCommand, SimilarGoal};
use codex_proto::prefs::{CategoryPrefs, PlanPrefs, Profile};
use codex_proto::types::SafetyClass;
use rand::SeedableRng as _;
use rand_distr::Distribution as _;

use crate::config::Exploration;
use crate::context::profile::ProjectProfile;
use crate::context::{commands, project};
use crate::episode::command_line;
use crate::learning::normalize::normalize_goal;

/// Bonus for a command the project offers itself: among equally liked plans, the project's own.
const FIT: f64 = 0.05;
/// Plans shown: the chosen one and up to two alternatives.
const SHOWN: usize = 3;
/// Pseudo-runs of the prior in a plan's confidence: with fewer runs of its own than this, its
/// program's record (or the user's overall one) weighs more than its own.
const PRIOR_RUNS: f64 = 2.0;
/// Corrections from one command to another before the planner applies them unasked.
const CORRECTIONS_TO_APPLY: u64 = 2;
/// Runs before the dry-run share counts as a habit.
const HABIT_MIN_RUNS: u64 = 5;

/// How to plan.
pub struct Options<'a> {
    /// Rank by the learned profile (`personalized_planning_enabled`).
    pub personalized: bool,
    /// Look at the project (`context_awareness_enabled`).
    pub context_aware: bool,
    /// What the user taught.
    pub playbooks: &'a playbooks::PlaybookBook,
    /// Tasks and tools.
    pub registry: &'a registry::Registry,
    /// `planner.exploration`.
    pub exploration: Exploration,
    /// `planner.dry_run_habit`.
    pub dry_run_habit: f64,
    /// Mixed into the seed of the posterior draws (Thompson sampling), which is otherwise the
    /// goal, the project and the number of runs learned from: the same plans in the same
    /// order until something new is learned, so `codex run --pick N` runs what `codex plan`
    /// showed as N.
    pub seed: u64,
    /// Embeddings of goals already seen (the actor keeps them between calls).
    pub cache: Option<&'a Mutex<HashMap<String, Vec<f32>>>>,
    /// The project's profile when the caller already has it (the actor's cache); otherwise
    /// it is read from the project's files.
    pub known: Option<&'a ProjectProfile>,
    /// Embeddings from the remote endpoint, by text; `None`: local ones.
    pub remote: Option<&'a HashMap<String, Vec<f32>>>,
    /// Where the embeddings came from, in words (shown with the plan).
    pub embeddings: &'a str,
    /// The user's PATH, where a plan's programs must be found.
    pub path: &'a str,
    /// `codex` is on a terminal: tools that open an editor or ask may be offered.
    pub terminal: bool,
}

/// Goal embeddings kept between plans, at most.
const EMBEDDING_CACHE: usize = 20_000;

/// Goals nearer than this (cosine of their embeddings) count as the same goal said otherwise.
const SAME_GOAL: f32 = 0.55;
/// A playbook runs first unasked by the planner, so a goal finds one said otherwise only when
/// nearly the same words (after synonyms) are used.
const SAME_PLAYBOOK: f32 = 0.85;

/// A goal's embedding, from the cache when there is one.
fn embedding(opts: &Options<'_>, goal: &str) -> Vec<f32> {
    if let Some(vectors) = opts.remote {
        // Fetched for every text before planning; a missing one matches nothing.
        return vectors.get(goal).cloned().unwrap_or_default();
    }
    let Some(cache) = opts.cache else {
        return embed::embed(goal);
    };
    let Ok(mut c) = cache.lock() else {
        return embed::embed(goal);
    };
    // Goals planned once and never run would pile up: start over past the bound (each
    // entry is 2 KiB; recomputing one costs microseconds).
    if c.len() >= EMBEDDING_CACHE && !c.contains_key(goal) {
        c.clear();
    }
    c.entry(goal.to_string())
        .or_insert_with(|| embed::embed(goal))
        .clone()
}

/// A plan before it is scored.
struct Candidate {
    steps: Vec<PlanStep>,
    /// Its dry run, when its tool has one.
    dry_run: Option<Vec<String>>,
    /// A playbook: the user said what the phrase means.
    taught: bool,
    /// The project offers it, or a registry tool for this place made it.
    fits: bool,
    /// What is known of it when nothing was learned.
    evidence: String,
    /// Where it was borrowed from, when it is not yet this goal's own plan here.
    borrowed: Option<String>,
    /// The language model proposed it.
    from_model: bool,
}

impl Candidate {
    fn command(&self) -> String {
        self.steps
            .iter()
            .map(|s| command_line(&s.argv))
            .collect::<Vec<_>>()
            .join(" && ")
    }

    fn single(argv: Vec<String>, rationale: String, class: Option<SafetyClass>) -> Self {
        Candidate {
            steps: vec![PlanStep {
                argv,
                rationale,
                class,
                dry_run: false,
            }],
            dry_run: None,
            taught: false,
            fits: true,
            evidence: String::from("no runs of it for this goal yet"),
            borrowed: None,
            from_model: false,
        }
    }
}

/// How likely a plan is to succeed: its own record, pulled towards its program's record
/// (itself pulled towards all of the user's runs) while it has few runs. Calibrated in
/// `tests::confidence_is_calibrated`.
pub fn confidence(own: Option<&PlanPrefs>, program: &str, profile: &Profile) -> f64 {
    confidence_of(
        own.map(|pl| (pl.successes as f64, pl.runs as f64)),
        program,
        profile,
    )
}

/// [`confidence`] from a plan's (successes, runs) where it would run: pseudo-counts, its
/// record elsewhere weighed down (`learned::Standing::record`).
pub fn confidence_of(own: Option<(f64, f64)>, program: &str, profile: &Profile) -> f64 {
    let (all_s, all_n) = profile
        .programs
        .iter()
        .fold((0u64, 0u64), |(s, n), p| (s + p.successes, n + p.runs));
    let overall = (all_s as f64 + 1.0) / (all_n as f64 + 2.0);
    let prior = profile
        .programs
        .iter()
        .find(|p| p.program == program)
        .map_or(overall, |p| {
            (p.successes as f64 + PRIOR_RUNS * overall) / (p.runs as f64 + PRIOR_RUNS)
        });
    match own {
        Some((successes, runs)) => (successes + PRIOR_RUNS * prior) / (runs + PRIOR_RUNS),
        None => prior,
    }
}

/// FNV-1a over what a ranking depends on.
fn draw_seed(seed: u64, goal: &str, root: Option<&str>, runs: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325 ^ seed;
    let bytes = goal
        .bytes()
        .chain([0])
        .chain(root.unwrap_or("").bytes())
        .chain(runs.to_le_bytes());
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// What a plan's rank is drawn from: its learned score and evidence, its project-fit bonus,
/// and whether it was taught (then it always comes first).
#[derive(Debug, Clone, Copy)]
struct Basis {
    score: f64,
    evidence: f64,
    bonus: f64,
    taught: bool,
}

/// Draws of the ranking behind each plan's chance of coming first under exploration.
const CHANCE_DRAWS: usize = 256;

/// Each plan's probability of having been ranked first (in the order given, which is the
/// ranking made): greedy ranking is deterministic, so 1 for the first and 0 for the rest;
/// Thompson sampling's is estimated from draws of the same posteriors (a fixed seed, so the
/// same plans get the same chances). Logged with each decision, for off-policy evaluation.
fn first_chances(basis: &[Basis], thompson: bool) -> Vec<f64> {
    let n = basis.len();
    let mut chances = vec![0.0; n];
    if n == 0 {
        return chances;
    }
    if !thompson || basis.iter().any(|b| b.taught) {
        chances[0] = 1.0;
        return chances;
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0x5eed_c4a2);
    for _ in 0..CHANCE_DRAWS {
        let best = basis
            .iter()
            .enumerate()
            .map(|(i, b)| (i, draw(&mut rng, b.score, b.evidence) + b.bonus))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map_or(0, |(i, _)| i);
        chances[best] += 1.0;
    }
    for c in &mut chances {
        *c /= CHANCE_DRAWS as f64;
    }
    chances
}

/// A draw from a plan's posterior of satisfying the user (its mean is the plan's score).
fn draw(rng: &mut rand::rngs::SmallRng, score: f64, evidence: f64) -> f64 {
    let total = 2.0 + evidence.max(0.0);
    let a = (score * total).max(1e-3);
    let b = (total - score * total).max(1e-3);
    match rand_distr::Beta::new(a, b) {
        Ok(beta) => beta.sample(rng),
        Err(_) => score,
    }
}

/// The learned replacement for `command`, if the user corrected it often enough and not back.
fn corrected<'p>(
    profile: &'p Profile,
    command: &str,
) -> Option<&'p codex_proto::prefs::Correction> {
    let best = profile
        .corrections
        .iter()
        .filter(|c| c.from == command && c.times >= CORRECTIONS_TO_APPLY)
        .filter(|c| !c.to.contains(crate::learning::redact::MARKER_PREFIX))
        .max_by_key(|c| c.times)?;
    let back = profile
        .corrections
        .iter()
        .find(|c| c.from == best.to && c.to == command)
        .map_or(0, |c| c.times);
    (best.times > back).then_some(best)
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
    let offered: Vec<commands::Offered> = match (&proj, opts.known) {
        (Some(_), Some(k)) if Some(&k.root) == root.as_ref() => k.commands.clone(),
        (Some(p), _) => commands::offered(p),
        (None, _) => Vec::new(),
    };
    // Every goal the user ran, in each project it ran in, by nearness to this goal here.
    let near = nearest(opts, profile, &normalized, root.as_deref());
    // The goal as the user said it before: exactly, else the nearest by meaning.
    let learned: Option<&CategoryPrefs> = profile
        .categories
        .iter()
        .find(|c| c.category == normalized)
        .or_else(|| {
            near.first()
                .filter(|n| n.0 >= SAME_GOAL && borrow::may_borrow(&normalized, &n.1.category))
                .map(|n| n.1)
        });
    // Failing its own words, the category of the nearest goal run before; but its words are
    // not this goal's parameters.
    // A goal that says what not to do maps to no task: "don't build anything" is not `build`.
    let negated = borrow::negated(&normalized);
    let matched = opts
        .registry
        .category_of(goal)
        .or_else(|| {
            learned
                .and_then(|c| opts.registry.category_of(&c.category))
                .map(|m| registry::GoalMatch {
                    rest: String::new(),
                    ..m
                })
        })
        .filter(|_| !negated);
    let task = matched.as_ref().map(|m| m.category.clone());
    let mut cands: Vec<Candidate> = Vec::new();
    let mut cannot: Vec<String> = Vec::new();
    let mut left_out: Vec<String> = Vec::new();
    // A taught playbook for this phrase comes first: the user said what it means. Said
    // otherwise, only when nearly the same words: "deploy production" must never find the
    // playbook of "deploy staging".
    let taught = opts
        .playbooks
        .find(&normalized, root.as_deref())
        .map(|pb| (pb, None))
        .or_else(|| {
            let q = embedding(opts, &normalized);
            opts.playbooks
                .playbooks
                .iter()
                .filter(|p| p.project.is_none() || p.project == root)
                .map(|p| (p, embed::cosine(&q, &embedding(opts, &p.phrase))))
                .filter(|(p, sim)| {
                    *sim >= SAME_PLAYBOOK && borrow::may_borrow(&normalized, &p.phrase)
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(p, sim)| (p, Some(sim)))
        });
    if let Some((pb, alike)) = taught {
        cands.push(Candidate {
            steps: pb
                .steps
                .iter()
                .map(|s| PlanStep {
                    argv: s.clone(),
                    rationale: match alike {
                        None => format!("you taught this for \"{}\"", pb.phrase),
                        Some(sim) => format!(
                            "you taught this for \"{}\", which says the same (similarity {sim:.2})",
                            pb.phrase
                        ),
                    },
                    class: None,
                    dry_run: false,
                })
                .collect(),
            dry_run: None,
            taught: true,
            fits: true,
            evidence: if pb.project.is_some() {
                "your playbook for this project".into()
            } else {
                "your playbook (every project)".into()
            },
            borrowed: None,
            from_model: false,
        });
    }
    if let Some(m) = &matched {
        if m.project_task {
            for o in offered.iter().filter(|o| o.task == m.category).cloned() {
                let mut c = Candidate::single(
                    o.argv,
                    format!("the project offers it for `{}` ({})", m.category, o.source),
                    None,
                );
                c.dry_run = o.dry_run;
                cands.push(c);
            }
        }
        // Tools look at the folder itself (a `.git` above a subfolder still counts) even
        // when context awareness is off: they are the user's registry, not project detection.
        for tool in opts
            .registry
            .tools_for(&m.category, cwd)
            .filter(|t| t.applies_to(goal))
        {
            if tool.terminal && !opts.terminal {
                left_out.push(format!(
                    "`{}` ({}) needs a terminal: run it from one",
                    command_line(&tool.command),
                    tool.name
                ));
                continue;
            }
            match tool.fill(goal, m, cwd) {
                Ok(filled) => {
                    let given = filled
                        .values
                        .iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let mut c = Candidate::single(
                        filled.argv,
                        format!(
                            "`{}`: {}{}",
                            tool.name,
                            if tool.description.is_empty() {
                                m.category.as_str()
                            } else {
                                tool.description.as_str()
                            },
                            if given.is_empty() {
                                String::new()
                            } else {
                                format!(" ({given})")
                            }
                        ),
                        Some(tool.class),
                    );
                    c.dry_run = filled.dry_run;
                    cands.push(c);
                }
                Err(why) => cannot.push(why),
            }
        }
    }
    // Learned parameter preferences: a command the user kept replacing is replaced.
    if personalized {
        for c in cands.iter_mut().filter(|c| !c.taught && c.steps.len() == 1) {
            let cmd = c.command();
            if let Some(fix) = corrected(profile, &cmd)
                && let Some(argv) = shlex::split(&fix.to)
            {
                let step = &mut c.steps[0];
                step.rationale = format!(
                    "you replaced `{cmd}` with this {} times (`{cmd}`: {})",
                    fix.times, step.rationale
                );
                step.argv = argv;
                // The dry run was for the command replaced.
                c.dry_run = None;
            }
        }
    }
    dedup(&mut cands);
    // What the user has run for this goal (or one said alike), and how it went.
    let said_alike = learned
        .filter(|c| c.category != normalized)
        .map(|c| c.category.clone());
    // A goal for a tool with parameters is not "said alike" another: "search" and
    // "search for 'x'" differ in what matters.
    let parameterized = matched.as_ref().is_some_and(|m| {
        opts.registry
            .tools_for(&m.category, cwd)
            .filter(|t| t.applies_to(goal))
            .any(|t| !t.params.is_empty())
    });
    // Nor does a goal borrow the plans of a tool with parameters even when said the same
    // (goals are compared lowercased; "Foo" and "foo" are different patterns): the registry
    // fills them from this goal, and their record still ranks them.
    let here_at = fit::Place {
        cwd,
        root: proj.as_ref().map(|p| p.root.as_path()),
        path: opts.path,
    };
    if let Some(cat) = learned.filter(|_| !parameterized) {
        for pl in &cat.plans {
            if cands.iter().any(|c| c.command() == pl.plan) {
                continue;
            }
            let st = learned::standing(pl, root.as_deref());
            let here = st.here.is_some();
            // A goal said otherwise borrows only plans that ran here: "release" in one
            // project is not "deploy staging" in another.
            if said_alike.is_some() && !here {
                continue;
            }
            // It never worked where it counts.
            if !st.worked() {
                continue;
            }
            // A plan with a secret taken out cannot be run as it was.
            if pl.plan.contains(crate::learning::redact::MARKER_PREFIX) {
                continue;
            }
            let Some(mut argv) = shlex::split(&pl.plan) else {
                continue;
            };
            // A dry run does not do what another goal asks; the dry-run habit adds one
            // where it belongs.
            if said_alike.is_some() && crate::feedback::model::is_dry_run(&argv, &pl.tool) {
                continue;
            }
            let how = learned::how_it_went(&st);
            // Where it was learned, in words ("in /src/shop"), when not here.
            let learned_in = st
                .elsewhere
                .first()
                .map_or_else(String::new, |r| learned::place_name(r));
            let mut rationale = match (&said_alike, here) {
                (Some(g), _) => {
                    format!("you ran it here for \"{g}\", which says the same, and {how}")
                }
                (None, true) => format!("you ran it here for this goal before and {how}"),
                (None, false) => format!("you ran it for this goal {learned_in} and {how}"),
            };
            // Run in another project: its paths become this project's.
            if !here
                && let Some(to) = root.as_ref()
                && let Some(from) = pl
                    .projects
                    .iter()
                    .find(|from| argv.iter().any(|a| adapt(a, from, to).is_some()))
            {
                for a in &mut argv {
                    if let Some(adapted) = adapt(a, from, to) {
                        *a = adapted;
                    }
                }
                rationale.push_str(&format!(" (in {from}; its paths adapted to this project)"));
            }
            // Learned elsewhere, it is offered here only when what it needs is here.
            if !here {
                if let Err(why) = fit::needs(&argv, here_at) {
                    left_out.push(format!("`{}` (learned {learned_in}) {why}", pl.plan));
                    continue;
                }
                rationale.push_str("; what it needs is here");
            }
            let borrowed = match (&said_alike, here) {
                (Some(g), _) if !st.kept_here() => Some(format!("\"{g}\"")),
                (_, false) => Some(format!("this goal {learned_in}")),
                (_, true) if !st.kept_here() => {
                    Some("a plan run here but not kept yet".to_string())
                }
                _ => None,
            };
            if pl.from_model {
                rationale.push_str(" (the model proposed it)");
            }
            let mut c = Candidate::single(argv, rationale, None);
            c.fits = here;
            c.borrowed = borrowed;
            c.from_model = pl.from_model;
            cands.push(c);
        }
    }
    // Your shell habits here: a project task's commands you typed in this project (imported
    // history), offered for any goal that asks for that task.
    let habit = matched
        .as_ref()
        .filter(|m| m.project_task && personalized)
        .and_then(|m| {
            let name = crate::learning::normalize::shell_habit(&m.category);
            profile.categories.iter().find(|c| c.category == name)
        });
    for pl in habit.map(|h| h.plans.as_slice()).unwrap_or_default() {
        let Some(here) = pl.place(root.as_deref()).filter(|p| p.typed > 0) else {
            continue;
        };
        if cands.iter().any(|c| c.command() == pl.plan)
            || pl.plan.contains(crate::learning::redact::MARKER_PREFIX)
        {
            continue;
        }
        let Some(argv) = shlex::split(&pl.plan) else {
            continue;
        };
        cands.push(Candidate::single(
            argv,
            format!(
                "you typed it {} time{} here (your shell history)",
                here.typed,
                if here.typed == 1 { "" } else { "s" }
            ),
            None,
        ));
    }
    dedup(&mut cands);
    // Every step must be able to start here: its program found, in the project's own
    // environment when that is where it lives. A plan that cannot start is left out, and
    // said, rather than run to exit 127.
    let mut missing: Vec<String> = Vec::new();
    cands.retain_mut(|c| {
        let shown = c.command();
        for step in &mut c.steps {
            match fit::resolve(&step.argv, here_at) {
                Ok(argv) => step.argv = argv,
                Err(why) => {
                    missing.push(format!("`{shown}`: {why}"));
                    return false;
                }
            }
        }
        if let Some(dry) = &c.dry_run {
            c.dry_run = fit::resolve(dry, here_at).ok();
        }
        true
    });
    dedup(&mut cands);
    missing.dedup();
    // What cannot start here first, then what was learned where it fits and this does not.
    let left_out: Vec<String> = missing.iter().cloned().chain(left_out).collect();

    // Score, then rank.
    let comfort_low = profile.style.autonomy_comfort.value == "low";
    let thompson = personalized && opts.exploration == Exploration::Thompson && !comfort_low;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(draw_seed(
        opts.seed,
        &normalized,
        root.as_deref(),
        profile.style.runs,
    ));
    let mut plans: Vec<(f64, PlannedCommand, Option<Vec<String>>, Basis)> = cands
        .into_iter()
        .map(|c| {
            let command = c.command();
            // However it came (a correction may have rewritten another candidate into it),
            // a plan the model once proposed says so.
            let from_model = c.from_model
                || learned
                    .is_some_and(|cat| cat.plans.iter().any(|p| p.plan == command && p.from_model));
            let known = learned
                .and_then(|cat| cat.plans.iter().find(|p| p.plan == command))
                .or_else(|| habit.and_then(|h| h.plans.iter().find(|p| p.plan == command)))
                .map(|pl| learned::standing(pl, root.as_deref()));
            let program = c
                .steps
                .first()
                .map(|s| crate::episode::program_name(&s.argv))
                .unwrap_or_default();
            let known = known.filter(|_| personalized);
            let confidence = confidence_of(
                known.as_ref().map(learned::Standing::record),
                &program,
                profile,
            );
            let (score, evidence_weight, evidence) = match &known {
                Some(st) => (
                    st.score,
                    st.evidence,
                    learned::evidence_of(st, said_alike.as_deref()),
                ),
                None => (0.5, 0.0, c.evidence.clone()),
            };
            let base = if thompson {
                draw(&mut rng, score, evidence_weight)
            } else {
                score
            };
            let rank = if c.taught {
                2.0
            } else {
                base + if c.fits { FIT } else { 0.0 }
            };
            let basis = Basis {
                score,
                evidence: evidence_weight,
                bonus: if c.fits { FIT } else { 0.0 },
                taught: c.taught,
            };
            (
                rank,
                PlannedCommand {
                    command,
                    steps: c.steps,
                    score: if c.taught {
                        1.0 + FIT
                    } else {
                        score + if c.fits { FIT } else { 0.0 }
                    },
                    confidence,
                    alignment: if c.taught { 1.0 } else { score },
                    evidence,
                    borrowed: c.borrowed,
                    propensity: None,
                    from_model,
                },
                c.dry_run,
                basis,
            )
        })
        .collect();
    if personalized {
        // Stable: equal scores keep the project's own order.
        plans.sort_by(|a, b| b.0.total_cmp(&a.0));
    }
    let basis: Vec<Basis> = plans.iter().map(|p| p.3).collect();
    let first = first_chances(&basis, thompson);
    for ((_, p, _, _), chance) in plans.iter_mut().zip(first) {
        p.propensity = Some(chance);
    }
    plans.truncate(SHOWN);
    let st = &profile.style;
    let habit = personalized && st.runs >= HABIT_MIN_RUNS && st.dry_run_share >= opts.dry_run_habit;
    let plans: Vec<PlannedCommand> = plans
        .into_iter()
        .map(|(_, mut p, dry, _)| {
            if let (true, Some(dry)) = (habit, dry) {
                p.steps.insert(
                    0,
                    PlanStep {
                        rationale: format!(
                            "you dry-run {:.0}% of your runs: this shows what it would do, \
                             then codex asks before going on",
                            st.dry_run_share * 100.0
                        ),
                        argv: dry,
                        class: p.steps.first().and_then(|s| s.class),
                        dry_run: true,
                    },
                );
                p.command = p
                    .steps
                    .iter()
                    .map(|s| command_line(&s.argv))
                    .collect::<Vec<_>>()
                    .join(" && ");
            }
            p
        })
        .collect();
    let ranking = if !personalized {
        "project fit only (personalized planning is off)".to_string()
    } else if thompson {
        "a draw from what is known of each plan (exploration: thompson), plus project fit"
            .to_string()
    } else {
        "learned preference (posterior mean), plus project fit".to_string()
    };
    let mut known_tasks: Vec<String> = offered.iter().map(|o| o.task.clone()).collect();
    known_tasks.sort();
    known_tasks.dedup();
    let unknown = plans.is_empty().then(|| {
        let mut why = match (&task, &proj) {
            _ if negated => format!(
                "no plan for \"{goal}\": it says what not to do, and codex plans only what a \
                 goal asks for (say what to do instead)"
            ),
            _ if !missing.is_empty() => format!(
                "no plan for \"{goal}\" can start here: {}",
                missing.join("; ")
            ),
            (None, _) => format!("no plan for \"{goal}\": nothing here says how to do it"),
            (Some(_), _) if !cannot.is_empty() => cannot.join("; "),
            (Some(t), Some(p)) => format!("this {} project offers no command for `{t}`", p.kind),
            (Some(t), None) => format!("there is no project here to find a `{t}` command in"),
        };
        let not_here: Vec<&str> = left_out
            .iter()
            .skip(missing.len())
            .take(SHOWN)
            .map(String::as_str)
            .collect();
        if !not_here.is_empty() {
            why.push_str(&format!("; not offered here: {}", not_here.join("; ")));
        }
        if !known_tasks.is_empty() {
            why.push_str(&format!(
                "; this project's tasks: {}",
                known_tasks.join(", ")
            ));
        }
        let tools = opts.registry.categories_here(cwd);
        if !tools.is_empty() {
            why.push_str(&format!("; built-in tools: {}", tools.join(", ")));
        }
        let mut books: Vec<String> = opts
            .playbooks
            .playbooks
            .iter()
            .filter(|p| p.project.is_none() || p.project == root)
            .map(|p| format!("\"{}\"", p.phrase))
            .collect();
        books.sort();
        books.dedup();
        if !books.is_empty() {
            why.push_str(&format!("; your playbooks: {}", books.join(", ")));
        }
        let mut alike: Vec<&str> = Vec::new();
        for n in near.iter().filter(|n| n.0 >= SHOWN_SIMILAR) {
            if !alike.contains(&n.1.category.as_str()) && alike.len() < SHOWN {
                alike.push(n.1.category.as_str());
            }
        }
        if !alike.is_empty() {
            why.push_str(&format!(
                "; the nearest goals you have run: {}",
                alike
                    .iter()
                    .map(|g| format!("\"{g}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        why.push_str(&format!(
            "; teach it with `codex teach {} -- COMMAND`",
            shlex::try_quote(goal).unwrap_or_else(|_| goal.into())
        ));
        why
    });
    let similar = near
        .iter()
        .filter(|n| n.0 >= SHOWN_SIMILAR)
        .take(SHOWN)
        .filter_map(|(sim, cat, r)| {
            let pl = cat.plans.iter().find(|p| match r {
                Some(r) => p.projects.iter().any(|x| x == r),
                None => p.projects.is_empty(),
            })?;
            Some(SimilarGoal {
                goal: cat.category.clone(),
                project: r.map(String::from),
                similarity: f64::from(*sim),
                plan: pl.plan.clone(),
                runs: pl.runs,
                successes: pl.successes,
            })
        })
        .collect();
    PlanResult {
        goal: goal.to_string(),
        task,
        project: proj.map(|p| p.root.display().to_string()),
        plans,
        ranking,
        unknown,
        similar,
        embeddings: opts.embeddings.to_string(),
        left_out,
        model: None,
    }
}

/// Goals nearer than this are shown as similar.
const SHOWN_SIMILAR: f32 = 0.3;

/// Every (goal, project) in the profile by cosine similarity to `goal` in `root`, best first:
/// goal embeddings mixed with their project's vector, so the same words rank nearest in the
/// same project.
fn nearest<'p>(
    opts: &Options<'_>,
    profile: &'p Profile,
    goal: &str,
    root: Option<&str>,
) -> Vec<(f32, &'p CategoryPrefs, Option<&'p str>)> {
    let query = embed::in_project(&embedding(opts, goal), root);
    let mut out = Vec::new();
    for c in &profile.categories {
        let e = embedding(opts, &c.category);
        let mut roots: Vec<Option<&str>> = c
            .plans
            .iter()
            .flat_map(|p| p.projects.iter().map(|r| Some(r.as_str())))
            .collect();
        if c.plans.iter().any(|p| p.projects.is_empty()) {
            roots.push(None);
        }
        roots.sort();
        roots.dedup();
        for r in roots {
            out.push((embed::cosine(&query, &embed::in_project(&e, r)), c, r));
        }
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out
}

/// `arg` with the project root `from` replaced by `to`, when it is that root or a path below
/// it, alone or after `--flag=`; `None` otherwise (`/src/older` is not below `/src/old`).
fn adapt(arg: &str, from: &str, to: &str) -> Option<String> {
    let (head, path) = match arg.split_once('=') {
        Some((flag, value)) if flag.starts_with('-') => (format!("{flag}="), value),
        _ => (String::new(), arg),
    };
    let rest = path.strip_prefix(from)?;
    (rest.is_empty() || rest.starts_with('/')).then(|| format!("{head}{to}{rest}"))
}

/// Keep the first candidate of each command line.
fn dedup(cands: &mut Vec<Candidate>) {
    let mut seen = std::collections::HashSet::new();
    cands.retain(|c| seen.insert(c.command()));
}

#[cfg(test)]
pub(crate) mod tests;
