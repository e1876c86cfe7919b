//! The profile's working form: signals folded into per-plan Beta posteriors, satisfaction
//! and working style, kept up to date one signal at a time.
//!
//! Evidence rules (docs/guide.md explains them to users):
//! - Each plan of a task category has a Beta(1 + a, 1 + b) posterior of "this plan
//!   satisfies the user". A signal of weight `w` and value `s` in [0, 1] adds `w·s` to `a`
//!   and `w·(1 − s)` to `b`: exit 0 is s = 1, a failure or cancel s = 0 (weight
//!   `implicit_weight`); a rating r is s = (r − 1) / 4 (weight `explicit_weight`); an approval
//!   not given is s = 0; a correction is s = 0 for the replaced plan and s = 1 for the new one
//!   when it works (weight `correction_weight`).
//! - Evidence decays: it halves every `decay_half_life_days`, and each newer run in the same
//!   category multiplies it by `evidence_discount`, so a change of taste shows within a
//!   bounded number of interactions however long the history.
//! - Only the latest rating of a run counts (a re-rating takes the earlier one's decayed
//!   evidence back out); signals that arrived while learning was off count for nothing.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Datelike as _, FixedOffset, Local, Timelike as _, Utc};
use codex_proto::prefs::{
    CategoryPrefs, Correction, PlanPrefs, Profile, Setting, ToolPrefs, WorkingStyle,
};
use codex_proto::types::{ProgramPrefs, RunId, RunPart, Satisfaction};

use super::state::{Signal, SignalKind};

/// How many weighted-mean values the satisfaction series keeps.
const SERIES: usize = 30;
/// How many ratings back the satisfaction trend looks.
const TREND_SPAN: usize = 10;

/// Learning parameters, from the config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Weight of an explicit rating.
    pub explicit_weight: f64,
    /// Weight of an implicit signal.
    pub implicit_weight: f64,
    /// Weight of a correction.
    pub correction_weight: f64,
    /// Seconds within which a re-run of the same goal is a correction or a retry.
    pub correction_window_secs: i64,
    /// Evidence half-life in seconds.
    pub half_life_secs: f64,
    /// Factor per newer run in the same category.
    pub discount: f64,
    /// Weight of the newest rating in the satisfaction average.
    pub smoothing: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            explicit_weight: 3.0,
            implicit_weight: 1.0,
            correction_weight: 1.0,
            correction_window_secs: 600,
            half_life_secs: 30.0 * 86_400.0,
            discount: 0.9,
            smoothing: 0.3,
        }
    }
}

impl Params {
    /// The parameters a config asks for.
    pub fn from_config(c: &crate::config::LearningConfig) -> Self {
        Params {
            explicit_weight: c.explicit_weight.get(),
            implicit_weight: c.implicit_weight.get(),
            correction_weight: c.correction_weight.get(),
            correction_window_secs: i64::try_from(c.correction_window_secs.get())
                .unwrap_or(i64::MAX),
            half_life_secs: c.decay_half_life_days.get() * 86_400.0,
            discount: c.evidence_discount.get(),
            smoothing: c.satisfaction_smoothing.get(),
        }
    }
}

/// Decayed Beta evidence for one plan.
#[derive(Debug, Clone, Default)]
struct Plan {
    tool: String,
    a: f64,
    b: f64,
    /// Time (unix seconds) and category run count the evidence is decayed to.
    t: i64,
    n: u64,
    runs: u64,
    successes: u64,
    ratings: u64,
    rating_sum: u64,
    corrected_away: u64,
    projects: BTreeMap<String, u64>,
}

/// How much evidence is left after `dt` seconds and `newer` runs in its category.
fn decay(dt: i64, newer: u64, p: &Params) -> f64 {
    let newer = i32::try_from(newer).unwrap_or(i32::MAX);
    0.5f64.powf(dt.max(0) as f64 / p.half_life_secs) * p.discount.powi(newer)
}

impl Plan {
    fn factor(&self, t: i64, n: u64, p: &Params) -> f64 {
        decay(t - self.t, n.saturating_sub(self.n), p)
    }

    fn add(&mut self, t: i64, n: u64, w: f64, s: f64, p: &Params) {
        let f = self.factor(t, n, p);
        self.a = self.a * f + w * s;
        self.b = self.b * f + w * (1.0 - s);
        self.t = self.t.max(t);
        self.n = n;
    }

    /// Posterior mean and effective evidence, decayed to (t, n).
    fn score(&self, t: i64, n: u64, p: &Params) -> (f64, f64) {
        let f = self.factor(t, n, p);
        let (a, b) = (self.a * f, self.b * f);
        ((1.0 + a) / (2.0 + a + b), a + b)
    }
}

/// A counted rating: where its evidence went, so a re-rating can take it back out exactly.
#[derive(Debug, Clone)]
struct Counted {
    category: Arc<str>,
    plan: Arc<str>,
    program: Arc<str>,
    score: u8,
    /// Time and category run count the evidence was added at, and how much.
    t: i64,
    n: u64,
    a: f64,
    b: f64,
    /// Its place in `Model::scores`.
    order: usize,
}

#[derive(Debug, Clone, Default)]
struct Category {
    /// Runs in this category so far: the clock `evidence_discount` counts in.
    n: u64,
    plans: BTreeMap<String, Plan>,
}

#[derive(Debug, Clone, Default)]
struct Program {
    runs: u64,
    successes: u64,
    ratings: u64,
    rating_sum: u64,
}

#[derive(Debug, Clone)]
struct LastRun {
    run: Option<RunId>,
    category: Arc<str>,
    plan: Arc<str>,
    at: i64,
    success: bool,
}

#[derive(Debug, Clone, Default)]
struct Style {
    approvals_given: u64,
    approvals_denied: u64,
    runs: u64,
    dry_runs: u64,
    verbose: u64,
    quiet: u64,
    hours: [u64; 24],
    retry: u64,
    change_plan: u64,
    abandon: u64,
}

/// Signals folded into what the profile shows.
#[derive(Debug, Clone, Default)]
pub struct Model {
    params: Params,
    categories: HashMap<String, Category>,
    programs: BTreeMap<String, Program>,
    /// Runs whose rating is counted, with what it added (a re-rating takes it back out).
    rated: HashMap<RunId, Counted>,
    /// Counted scores in the order they came; `None` where a re-rating replaced one.
    scores: Vec<Option<u8>>,
    ratings: u64,
    rating_sum: u64,
    ewma: Option<f64>,
    series: VecDeque<f64>,
    style: Style,
    last_by_project: HashMap<String, LastRun>,
    /// Held-back commands that may still be approved (run with `--yes`) within the window.
    pending_denials: Vec<Denial>,
    /// (replaced plan, replacing plan) → times a correction replaced one by the other.
    corrections: HashMap<(Arc<str>, Arc<str>), u64>,
    /// The (category, plan) last chosen with `--pick`: its run is not also a correction.
    last_pick: Option<(Arc<str>, Arc<str>)>,
}

/// A held-back command, not yet known to be a "no".
#[derive(Debug, Clone)]
struct Denial {
    category: Arc<str>,
    plan: Arc<str>,
    tool: Arc<str>,
    t: i64,
}

impl Model {
    /// An empty model with these parameters.
    pub fn new(params: Params) -> Self {
        Model {
            params,
            ..Model::default()
        }
    }

    /// Forget everything folded so far and fold `signals` in order.
    pub fn rebuild(&mut self, signals: &[Signal]) {
        *self = Model::new(self.params);
        for s in signals {
            self.apply(s);
        }
    }

    /// Held-back commands not run with `--yes` within the correction window count as
    /// approvals not given, with failure evidence for their plan as of when they happened.
    fn settle_denials(&mut self, now: i64) {
        let p = self.params;
        let window = p.correction_window_secs;
        if self.pending_denials.iter().all(|d| now - d.t <= window) {
            return;
        }
        let (due, keep): (Vec<Denial>, Vec<Denial>) = std::mem::take(&mut self.pending_denials)
            .into_iter()
            .partition(|d| now - d.t > window);
        self.pending_denials = keep;
        for d in due {
            self.style.approvals_denied += 1;
            let cat = category_entry(&mut self.categories, &d.category);
            let n = cat.n;
            plan_entry(cat, &d.plan, &d.tool, d.t).add(d.t, n, p.implicit_weight, 0.0, &p);
        }
    }

    /// Whether the latest counted rating of `run` was 4 or 5.
    fn liked(&self, run: Option<RunId>) -> bool {
        run.and_then(|r| self.rated.get(&r))
            .is_some_and(|c| c.score >= 4)
    }

    /// Take a run's counted rating back out (it is being replaced). The evidence it added
    /// has decayed like the rest of its plan's since, so the same decay applies to it.
    fn uncount(&mut self, run: RunId) {
        let Some(old) = self.rated.remove(&run) else {
            return;
        };
        let p = self.params;
        if let Some(plan) = self
            .categories
            .get_mut(&*old.category)
            .and_then(|c| c.plans.get_mut(&*old.plan))
        {
            let f = decay(plan.t - old.t, plan.n.saturating_sub(old.n), &p);
            plan.a = (plan.a - old.a * f).max(0.0);
            plan.b = (plan.b - old.b * f).max(0.0);
            plan.ratings = plan.ratings.saturating_sub(1);
            plan.rating_sum = plan.rating_sum.saturating_sub(u64::from(old.score));
        }
        if let Some(prog) = self.programs.get_mut(&*old.program) {
            prog.ratings = prog.ratings.saturating_sub(1);
            prog.rating_sum = prog.rating_sum.saturating_sub(u64::from(old.score));
        }
        self.ratings = self.ratings.saturating_sub(1);
        self.rating_sum = self.rating_sum.saturating_sub(u64::from(old.score));
        if let Some(slot) = self.scores.get_mut(old.order) {
            *slot = None;
        }
        self.recompute_satisfaction();
    }

    /// The weighted mean and its series from the counted scores, in order.
    fn recompute_satisfaction(&mut self) {
        self.ewma = None;
        self.series.clear();
        let scores = std::mem::take(&mut self.scores);
        for s in scores.iter().flatten() {
            self.push_satisfaction(*s);
        }
        self.scores = scores;
    }

    fn push_satisfaction(&mut self, score: u8) {
        let x = f64::from(score);
        let k = self.params.smoothing;
        let e = self.ewma.map_or(x, |prev| k * x + (1.0 - k) * prev);
        self.ewma = Some(e);
        self.series.push_back(e);
        if self.series.len() > SERIES {
            self.series.pop_front();
        }
    }

    /// Fold one more signal.
    pub fn apply(&mut self, s: &Signal) {
        if !s.learn {
            return;
        }
        let p = self.params;
        let t = s.at.timestamp();
        self.settle_denials(t);
        match &s.kind {
            // A dry run the planner put first says nothing about the user or the plan: the
            // plan's real step that follows does.
            SignalKind::Outcome {
                part: RunPart::PlannedDryRun,
                ..
            } => {}
            SignalKind::Outcome {
                success,
                cancelled,
                dry_run,
                verbosity,
                part,
                named,
            } => {
                self.outcome(s, t, *success && !*cancelled, *part, *named);
                let st = &mut self.style;
                st.runs += 1;
                st.dry_runs += u64::from(*dry_run);
                st.verbose += u64::from(*verbosity > 0);
                st.quiet += u64::from(*verbosity < 0);
                st.hours[local_hour(s.at) % 24] += 1;
            }
            SignalKind::Rating { score } => {
                if let Some(run) = s.run_id {
                    self.uncount(run);
                }
                let value = f64::from(score.saturating_sub(1)) / 4.0;
                let (a, b) = (p.explicit_weight * value, p.explicit_weight * (1.0 - value));
                let cat = category_entry(&mut self.categories, &s.category);
                let n = cat.n;
                let plan = plan_entry(cat, &s.plan, &s.tool, t);
                plan.add(t, n, p.explicit_weight, value, &p);
                plan.ratings += 1;
                plan.rating_sum += u64::from(*score);
                let prog = program_entry(&mut self.programs, &s.program);
                prog.ratings += 1;
                prog.rating_sum += u64::from(*score);
                self.ratings += 1;
                self.rating_sum += u64::from(*score);
                if let Some(run) = s.run_id {
                    self.rated.insert(
                        run,
                        Counted {
                            category: s.category.clone(),
                            plan: s.plan.clone(),
                            program: s.program.clone(),
                            score: *score,
                            t,
                            n,
                            a,
                            b,
                            order: self.scores.len(),
                        },
                    );
                }
                self.scores.push(Some(*score));
                self.push_satisfaction(*score);
            }
            SignalKind::Picked { over } => {
                // Like a correction, but said before running: against the plan passed over,
                // for the one chosen, and a parameter preference from one to the other.
                let cat = category_entry(&mut self.categories, &s.category);
                let n = cat.n;
                if let Some(old) = cat.plans.get_mut(&**over) {
                    old.add(t, n, p.correction_weight, 0.0, &p);
                    old.corrected_away += 1;
                }
                plan_entry(cat, &s.plan, &s.tool, t).add(t, n, p.correction_weight, 1.0, &p);
                *self
                    .corrections
                    .entry((over.clone(), s.plan.clone()))
                    .or_insert(0) += 1;
                self.last_pick = Some((s.category.clone(), s.plan.clone()));
            }
            SignalKind::Approval { approved, asked } => {
                if !*approved && *asked {
                    // A "no" at a prompt is a no at once.
                    self.style.approvals_denied += 1;
                    let cat = category_entry(&mut self.categories, &s.category);
                    let n = cat.n;
                    plan_entry(cat, &s.plan, &s.tool, t).add(t, n, p.implicit_weight, 0.0, &p);
                } else if *approved {
                    self.style.approvals_given += 1;
                    // Approved after all: the earlier hold-back was a missing `--yes`, not a no.
                    self.pending_denials
                        .retain(|d| d.plan != s.plan || d.category != s.category);
                } else {
                    self.pending_denials.push(Denial {
                        category: s.category.clone(),
                        plan: s.plan.clone(),
                        tool: s.tool.clone(),
                        t,
                    });
                }
            }
        }
    }

    fn outcome(&mut self, s: &Signal, t: i64, success: bool, part: RunPart, named: bool) {
        let p = self.params;
        let prev_run = self
            .last_by_project
            .get(s.project.as_deref().unwrap_or(""))
            .and_then(|prev| prev.run);
        let liked_previous = self.liked(prev_run);
        let disliked_previous = prev_run
            .and_then(|r| self.rated.get(&r))
            .is_some_and(|c| c.score <= 2);
        let now = LastRun {
            run: s.run_id,
            category: s.category.clone(),
            plan: s.plan.clone(),
            at: t,
            success,
        };
        let previous = match self
            .last_by_project
            .get_mut(s.project.as_deref().unwrap_or(""))
        {
            // A plan's later step is part of the run its first step began: the next run is
            // compared with that (its plan, and whether every step worked), never a
            // correction of the step before it.
            Some(slot) if part == RunPart::Continues => {
                slot.success &= success;
                slot.at = t;
                None
            }
            Some(slot) => Some(std::mem::replace(slot, now)),
            None => {
                self.last_by_project
                    .insert(s.project.as_deref().unwrap_or("").to_string(), now);
                None
            }
        };
        // The run of a pick was counted when it was picked.
        let picked = self
            .last_pick
            .take()
            .is_some_and(|(c, pl)| c == s.category && pl == s.plan);
        let cat = category_entry(&mut self.categories, &s.category);
        cat.n += 1;
        let n = cat.n;
        if let Some(prev) = &previous {
            let within = t - prev.at <= p.correction_window_secs;
            let same_goal = prev.category == s.category;
            // A correction needs evidence that the first plan did not serve: it failed or was
            // cancelled, was rated 1 or 2, or the user named the goal again. Two runs that
            // both worked, with no goal in words (`make test`, then `make test V=1`), are
            // two commands, not a correction; trying another plan after one rated 4 or 5 is
            // curiosity.
            let served_not = !prev.success || disliked_previous || named;
            if within
                && same_goal
                && prev.plan != s.plan
                && served_not
                && !liked_previous
                && !picked
            {
                if let Some(old) = cat.plans.get_mut(&*prev.plan) {
                    old.add(t, n, p.correction_weight, 0.0, &p);
                    old.corrected_away += 1;
                }
                if success {
                    plan_entry(cat, &s.plan, &s.tool, t).add(t, n, p.correction_weight, 1.0, &p);
                    *self
                        .corrections
                        .entry((prev.plan.clone(), s.plan.clone()))
                        .or_insert(0) += 1;
                }
            }
            if !prev.success {
                match (within && same_goal, prev.plan == s.plan) {
                    (true, true) => self.style.retry += 1,
                    (true, false) => self.style.change_plan += 1,
                    (false, _) => self.style.abandon += 1,
                }
            }
        }
        let plan = plan_entry(cat, &s.plan, &s.tool, t);
        plan.add(t, n, p.implicit_weight, if success { 1.0 } else { 0.0 }, &p);
        plan.runs += 1;
        plan.successes += u64::from(success);
        if let Some(root) = &s.project {
            match plan.projects.get_mut(&**root) {
                Some(c) => *c += 1,
                None => {
                    plan.projects.insert(root.to_string(), 1);
                }
            }
        }
        let prog = program_entry(&mut self.programs, &s.program);
        prog.runs += 1;
        prog.successes += u64::from(success);
    }

    /// The profile as of `now`, limited to a category and/or project when given.
    pub fn profile(
        &self,
        now: DateTime<Utc>,
        settings: &BTreeMap<String, String>,
        category: Option<&str>,
        project: Option<&str>,
        learning: bool,
    ) -> Profile {
        let p = self.params;
        let t = now.timestamp();
        let mut categories: Vec<CategoryPrefs> = self
            .categories
            .iter()
            .filter(|(name, _)| category.is_none_or(|c| c == name.as_str()))
            .filter_map(|(name, cat)| {
                let mut plans: Vec<PlanPrefs> = cat
                    .plans
                    .iter()
                    .filter(|(_, pl)| project.is_none_or(|r| pl.projects.contains_key(r)))
                    .map(|(plan, pl)| {
                        let (score, evidence) = pl.score(t, cat.n, &p);
                        let mut projects: Vec<(&String, &u64)> = pl.projects.iter().collect();
                        projects.sort_by(|x, y| y.1.cmp(x.1).then_with(|| x.0.cmp(y.0)));
                        PlanPrefs {
                            plan: plan.clone(),
                            tool: pl.tool.clone(),
                            score,
                            evidence,
                            runs: pl.runs,
                            successes: pl.successes,
                            ratings: pl.ratings,
                            mean_rating: mean(pl.rating_sum, pl.ratings),
                            corrected_away: pl.corrected_away,
                            projects: projects.into_iter().map(|(r, _)| r.clone()).collect(),
                        }
                    })
                    .collect();
                if plans.is_empty() {
                    return None;
                }
                plans.sort_by(|x, y| {
                    y.score
                        .total_cmp(&x.score)
                        .then_with(|| y.evidence.total_cmp(&x.evidence))
                        .then_with(|| x.plan.cmp(&y.plan))
                });
                let tools = tools_of(&plans);
                Some(CategoryPrefs {
                    category: name.clone(),
                    runs: plans.iter().map(|pl| pl.runs).sum(),
                    plans,
                    tools,
                })
            })
            .collect();
        categories.sort_by(|x, y| {
            y.runs
                .cmp(&x.runs)
                .then_with(|| x.category.cmp(&y.category))
        });

        let mut programs: Vec<ProgramPrefs> = self
            .programs
            .iter()
            .filter(|(_, s)| s.runs > 0 || s.ratings > 0)
            .map(|(name, s)| ProgramPrefs {
                program: name.clone(),
                runs: s.runs,
                successes: s.successes,
                success_rate: ratio(s.successes, s.runs),
                ratings: s.ratings,
                mean_rating: mean(s.rating_sum, s.ratings),
            })
            .collect();
        programs.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.program.cmp(&b.program)));

        let series: Vec<f64> = self.series.iter().copied().collect();
        let trend = (series.len() >= 2).then(|| {
            let back = series.len().saturating_sub(TREND_SPAN + 1);
            series[series.len() - 1] - series[back]
        });
        Profile {
            learning,
            categories,
            programs,
            satisfaction: Satisfaction {
                ratings: self.ratings,
                mean: mean(self.rating_sum, self.ratings),
                recent: self.ewma,
                trend,
                series,
            },
            style: self.style(settings),
            corrections: {
                let mut c: Vec<Correction> = self
                    .corrections
                    .iter()
                    .map(|((from, to), times)| Correction {
                        from: from.to_string(),
                        to: to.to_string(),
                        times: *times,
                    })
                    .collect();
                c.sort_by(|a, b| {
                    b.times
                        .cmp(&a.times)
                        .then_with(|| a.from.cmp(&b.from))
                        .then_with(|| a.to.cmp(&b.to))
                });
                c
            },
        }
    }

    fn style(&self, settings: &BTreeMap<String, String>) -> WorkingStyle {
        let st = &self.style;
        let mut by_hour: Vec<(usize, u64)> = st
            .hours
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, c)| *c > 0)
            .collect();
        by_hour.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        WorkingStyle {
            autonomy_comfort: setting(
                settings.get(AUTONOMY),
                learned_autonomy(st.approvals_given, st.approvals_denied),
                "medium",
            ),
            verbosity: setting(
                settings.get(VERBOSITY),
                learned_verbosity(st.runs, st.verbose, st.quiet),
                "normal",
            ),
            approvals_given: st.approvals_given,
            approvals_denied: st.approvals_denied,
            dry_run_share: ratio(st.dry_runs, st.runs),
            runs: st.runs,
            hours: st.hours.to_vec(),
            active_hours: by_hour.iter().take(3).map(|(h, _)| *h as u8).collect(),
            failure_retry: st.retry,
            failure_change_plan: st.change_plan,
            failure_abandon: st.abandon,
        }
    }
}

/// The setting key for autonomy comfort.
pub const AUTONOMY: &str = "autonomy_comfort";
/// The setting key for verbosity.
pub const VERBOSITY: &str = "verbosity";

/// The values a setting accepts, or `None` for an unknown key.
pub fn allowed_values(key: &str) -> Option<&'static [&'static str]> {
    match key {
        AUTONOMY => Some(&["low", "medium", "high"]),
        VERBOSITY => Some(&["terse", "normal", "verbose"]),
        _ => None,
    }
}

// Look up before inserting: the key is cloned only the first time it is seen, not on every
// signal (this is the ingest hot path).
fn category_entry<'a>(map: &'a mut HashMap<String, Category>, key: &str) -> &'a mut Category {
    if !map.contains_key(key) {
        map.insert(key.to_string(), Category::default());
    }
    map.get_mut(key).expect("inserted above")
}

fn program_entry<'a>(map: &'a mut BTreeMap<String, Program>, key: &str) -> &'a mut Program {
    if !map.contains_key(key) {
        map.insert(key.to_string(), Program::default());
    }
    map.get_mut(key).expect("inserted above")
}

fn plan_entry<'a>(cat: &'a mut Category, plan: &str, tool: &str, t: i64) -> &'a mut Plan {
    if !cat.plans.contains_key(plan) {
        let entry = Plan {
            tool: tool.to_string(),
            t,
            n: cat.n,
            ..Plan::default()
        };
        cat.plans.insert(plan.to_string(), entry);
    }
    cat.plans.get_mut(plan).expect("inserted above")
}

fn tools_of(plans: &[PlanPrefs]) -> Vec<ToolPrefs> {
    let mut by_tool: BTreeMap<&str, (f64, u64, u64, u64, f64)> = BTreeMap::new();
    for pl in plans {
        let e = by_tool.entry(&pl.tool).or_insert((0.0, 0, 0, 0, 0.0));
        e.0 = e.0.max(pl.score);
        e.1 += pl.runs;
        e.2 += pl.successes;
        e.3 += pl.ratings;
        e.4 += pl.mean_rating.unwrap_or(0.0) * pl.ratings as f64;
    }
    let mut tools: Vec<ToolPrefs> = by_tool
        .into_iter()
        .map(|(tool, (score, runs, successes, ratings, sum))| ToolPrefs {
            tool: tool.to_string(),
            score,
            runs,
            success_rate: ratio(successes, runs),
            ratings,
            mean_rating: (ratings > 0).then(|| sum / ratings as f64),
        })
        .collect();
    tools.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.runs.cmp(&a.runs))
    });
    tools
}

fn learned_autonomy(given: u64, denied: u64) -> Option<(String, String)> {
    let total = given + denied;
    if total < 3 {
        return None;
    }
    let share = given as f64 / total as f64;
    let level = if share >= 0.8 {
        "high"
    } else if share <= 0.4 {
        "low"
    } else {
        "medium"
    };
    Some((
        level.into(),
        format!("{given} approvals given, {denied} not given"),
    ))
}

fn learned_verbosity(runs: u64, verbose: u64, quiet: u64) -> Option<(String, String)> {
    if runs < 5 {
        return None;
    }
    let level = if verbose * 5 > runs && verbose > quiet {
        "verbose"
    } else if quiet * 5 > runs && quiet > verbose {
        "terse"
    } else {
        "normal"
    };
    Some((
        level.into(),
        format!("{verbose} of {runs} runs with verbose flags, {quiet} with quiet flags"),
    ))
}

fn setting(set: Option<&String>, learned: Option<(String, String)>, default: &str) -> Setting {
    let (learned_value, evidence) = match learned {
        Some((v, e)) => (Some(v), e),
        None => (None, "not enough evidence yet".to_string()),
    };
    match (set, &learned_value) {
        (Some(v), _) => Setting {
            value: v.clone(),
            source: "set".into(),
            learned: learned_value,
            evidence,
        },
        (None, Some(v)) => Setting {
            value: v.clone(),
            source: "learned".into(),
            learned: learned_value.clone(),
            evidence,
        },
        (None, None) => Setting {
            value: default.into(),
            source: "default".into(),
            learned: None,
            evidence,
        },
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn mean(sum: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

/// Words in an argument vector that make a run a dry run.
const DRY_RUN_FLAGS: &[&str] = &[
    "--dry-run",
    "--dryrun",
    "--dry_run",
    "--what-if",
    "--check",
    "--noop",
    "--simulate",
];

/// Whether a command is a dry run: a dry-run flag, or a planning subcommand.
pub fn is_dry_run(argv: &[String], tool: &str) -> bool {
    tool == "terraform plan"
        // `-n` means "dry run" only to some programs (`head -n 5` is not one).
        || (matches!(tool.split(' ').next(), Some("make" | "rsync"))
            && argv.iter().skip(1).any(|a| a == "-n"))
        || argv
            .iter()
            .skip(1)
            .any(|a| DRY_RUN_FLAGS.contains(&a.as_str()))
}

/// +1 when a command asks for more output, -1 for less, 0 otherwise.
pub fn verbosity_of(argv: &[String]) -> i8 {
    let mut v = 0i8;
    for a in argv.iter().skip(1) {
        match a.as_str() {
            "--verbose" | "-v" | "-vv" | "-vvv" => v = 1,
            "--quiet" | "-q" | "-qq" | "--silent" => v = -1,
            _ => {}
        }
    }
    v
}

/// The machine's UTC offset, read once: asking the system for the local zone costs a
/// syscall per call, too much per signal. Hours and weekdays use the offset of daemon start.
static LOCAL_OFFSET: std::sync::LazyLock<FixedOffset> =
    std::sync::LazyLock::new(|| *Local::now().offset());

/// The weekday index (Monday = 0) of a time, in local time.
pub fn local_weekday(at: DateTime<Utc>) -> usize {
    at.with_timezone(&*LOCAL_OFFSET)
        .weekday()
        .num_days_from_monday() as usize
}

/// The hour (0..24) of a time, in local time.
pub fn local_hour(at: DateTime<Utc>) -> usize {
    at.with_timezone(&*LOCAL_OFFSET).hour() as usize
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn t(sec: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + sec, 0).unwrap()
    }

    fn signal(run: u64, sec: i64, plan: &str, kind: SignalKind) -> Signal {
        Signal {
            run_id: Some(RunId(run)),
            at: t(sec),
            category: "run the tests".into(),
            plan: plan.into(),
            tool: plan.split(' ').take(2).collect::<Vec<_>>().join(" ").into(),
            program: plan.split(' ').next().unwrap_or("").into(),
            project: Some("/src/shop".into()),
            learn: true,
            kind,
        }
    }

    fn outcome(run: u64, sec: i64, plan: &str, success: bool) -> Signal {
        signal(
            run,
            sec,
            plan,
            SignalKind::Outcome {
                success,
                cancelled: false,
                dry_run: false,
                verbosity: 0,
                part: RunPart::Whole,
                named: true,
            },
        )
    }

    fn rating(run: u64, sec: i64, plan: &str, score: u8) -> Signal {
        signal(run, sec, plan, SignalKind::Rating { score })
    }

    fn ranking(m: &Model, sec: i64) -> Vec<String> {
        let p = m.profile(t(sec), &BTreeMap::new(), None, None, true);
        p.categories[0]
            .plans
            .iter()
            .map(|p| p.plan.clone())
            .collect()
    }

    /// A small deterministic generator, so the simulated user is the same on every run.
    pub(crate) struct Lcg(pub(crate) u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The two plans a simulated user chooses between.
    pub(crate) const PLANS: [&str; 2] = ["cargo nextest run", "cargo test"];

    /// A simulated user's next run: either plan at random, rated noisily: the `liked` plan
    /// 3..5, the other 1..3, and one rating in six the other way round.
    pub(crate) fn choose(rng: &mut Lcg, liked: &str) -> (&'static str, u8) {
        let plan = PLANS[rng.below(2) as usize];
        let mut good = plan == liked;
        if rng.below(6) == 0 {
            good = !good;
        }
        let score = if good {
            3 + rng.below(3)
        } else {
            1 + rng.below(3)
        } as u8;
        (plan, score)
    }

    /// A user who prefers `liked`, runs either plan a minute apart (so switching plans also
    /// counts as a correction), and rates as [`choose`] says.
    fn interact(m: &mut Model, rng: &mut Lcg, run: &mut u64, sec: &mut i64, liked: &str) {
        let (plan, score) = choose(rng, liked);
        *run += 1;
        *sec += 60;
        m.apply(&outcome(*run, *sec, plan, true));
        m.apply(&rating(*run, *sec + 5, plan, score));
    }

    /// Whether the liked plan ranked first after `before` interactions; then, after a change
    /// of taste, the interactions until the newly liked plan first ranks first, and whether
    /// it is first at the end of `horizon`.
    fn follow_after_change(seed: u64, before: usize, horizon: usize) -> (bool, usize, bool) {
        follow_p(seed, before, horizon, Params::default())
    }

    pub(super) fn follow_p(
        seed: u64,
        before: usize,
        horizon: usize,
        params: Params,
    ) -> (bool, usize, bool) {
        let mut m = Model::new(params);
        let mut rng = Lcg(seed);
        let (mut run, mut sec) = (0, 0);
        for _ in 0..before {
            interact(&mut m, &mut rng, &mut run, &mut sec, "cargo nextest run");
        }
        let learned = ranking(&m, sec)[0] == "cargo nextest run";
        let mut followed = None;
        for i in 1..=horizon {
            interact(&mut m, &mut rng, &mut run, &mut sec, "cargo test");
            if followed.is_none() && ranking(&m, sec)[0] == "cargo test" {
                followed = Some(i);
            }
        }
        let at_end = ranking(&m, sec)[0] == "cargo test";
        (learned, followed.unwrap_or(usize::MAX), at_end)
    }

    /// docs/guide.md and docs/benchmarks.md quote these figures (run with --nocapture to see
    /// them); keep them in step.
    #[test]
    fn simulated_noisy_users_are_learned_within_20_interactions_and_followed_after_a_change() {
        const USERS: u64 = 1000;
        let (mut learned, mut right_at_end) = (0, 0);
        let mut follows = Vec::new();
        for seed in 0..USERS {
            let (l, follow, at_end) = follow_after_change(seed, 20, 40);
            learned += u64::from(l);
            right_at_end += u64::from(at_end);
            follows.push(follow);
        }
        follows.sort_unstable();
        let pct = |p: usize| follows[(follows.len() - 1) * p / 100];
        eprintln!(
            "{USERS} simulated users: {learned} rank their preferred plan first after 20 \
             interactions; after a change of taste the new plan ranks first after a median of \
             {} interactions (p95 {}, max {}); {right_at_end} have it first 40 interactions on",
            pct(50),
            pct(95),
            pct(100),
        );
        assert!(
            learned >= 970,
            "only {learned} of {USERS} learned within 20 interactions"
        );
        assert!(
            pct(100) <= 25,
            "a change of taste took {} interactions",
            pct(100)
        );
        assert!(pct(50) <= 8, "median follow {}", pct(50));
        assert!(right_at_end >= 990, "{right_at_end} right at the end");
    }

    #[test]
    fn explicit_ratings_outweigh_exit_codes() {
        let mut m = Model::new(Params::default());
        // Both succeed; only ratings tell them apart.
        m.apply(&outcome(1, 0, "cargo test", true));
        m.apply(&rating(1, 1, "cargo test", 1));
        m.apply(&outcome(2, 10_000, "cargo nextest run", true));
        m.apply(&rating(2, 10_001, "cargo nextest run", 5));
        assert_eq!(ranking(&m, 10_002)[0], "cargo nextest run");
    }

    #[test]
    fn a_re_rating_replaces_the_earlier_score_on_rebuild() {
        let signals = vec![
            outcome(1, 0, "cargo test", true),
            rating(1, 1, "cargo test", 1),
            rating(1, 2, "cargo test", 5),
        ];
        let mut m = Model::new(Params::default());
        m.rebuild(&signals);
        let p = m.profile(t(3), &BTreeMap::new(), None, None, true);
        assert_eq!(p.satisfaction.ratings, 1);
        assert_eq!(p.satisfaction.mean, Some(5.0));
        assert_eq!(p.categories[0].plans[0].ratings, 1);
    }

    #[test]
    fn a_re_rating_takes_the_old_evidence_out_exactly() {
        let with_first = vec![
            outcome(1, 0, "cargo test", true),
            rating(1, 10, "cargo test", 1),
            outcome(2, 100, "cargo test", true),
            outcome(3, 5_000, "cargo nextest run", false),
            rating(1, 9_000, "cargo test", 5),
        ];
        let without_first: Vec<Signal> = with_first
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, s)| s.clone())
            .collect();
        let (mut a, mut b) = (Model::new(Params::default()), Model::new(Params::default()));
        a.rebuild(&with_first);
        b.rebuild(&without_first);
        let (pa, pb) = (
            a.profile(t(9_001), &BTreeMap::new(), None, None, true),
            b.profile(t(9_001), &BTreeMap::new(), None, None, true),
        );
        for (x, y) in pa.categories[0].plans.iter().zip(&pb.categories[0].plans) {
            assert_eq!(x.plan, y.plan);
            assert!(
                (x.score - y.score).abs() < 1e-9,
                "{} vs {}",
                x.score,
                y.score
            );
            assert_eq!((x.ratings, x.mean_rating), (y.ratings, y.mean_rating));
        }
        assert_eq!(pa.satisfaction, pb.satisfaction);
    }

    #[test]
    fn a_pick_counts_against_the_plan_passed_over_and_is_a_parameter_preference() {
        let mut m = Model::new(Params::default());
        m.apply(&outcome(1, 0, "cargo test", true));
        m.apply(&outcome(2, 100_000, "cargo nextest run", true));
        let picked = |run: u64, sec: i64| {
            let mut s = signal(
                run,
                sec,
                "cargo nextest run",
                SignalKind::Picked {
                    over: "cargo test".into(),
                },
            );
            s.run_id = None;
            s
        };
        m.apply(&picked(3, 200_000));
        let p = m.profile(t(200_001), &BTreeMap::new(), None, None, true);
        assert_eq!(p.categories[0].plans[0].plan, "cargo nextest run");
        assert_eq!(p.categories[0].plans[1].corrected_away, 1);
        assert_eq!(p.corrections.len(), 1);
        assert_eq!(
            (
                p.corrections[0].from.as_str(),
                p.corrections[0].to.as_str(),
                p.corrections[0].times
            ),
            ("cargo test", "cargo nextest run", 1)
        );
        m.apply(&picked(4, 200_100));
        let p = m.profile(t(200_101), &BTreeMap::new(), None, None, true);
        assert_eq!(p.corrections[0].times, 2);
        // The picked plan's run right after a run of the other one is not a second count.
        m.apply(&outcome(5, 200_200, "cargo test", true));
        m.apply(&picked(6, 200_210));
        m.apply(&outcome(6, 200_220, "cargo nextest run", true));
        let p = m.profile(t(200_221), &BTreeMap::new(), None, None, true);
        assert_eq!(p.corrections[0].times, 3);
    }

    #[test]
    fn a_plans_later_steps_and_planned_dry_runs_are_not_choices() {
        let mut m = Model::new(Params::default());
        let step = |run: u64, sec: i64, plan: &str, part: RunPart| {
            signal(
                run,
                sec,
                plan,
                SignalKind::Outcome {
                    success: true,
                    cancelled: false,
                    dry_run: plan.contains(" -n "),
                    verbosity: 0,
                    part,
                    named: true,
                },
            )
        };
        for k in 0..3 {
            let at = k * 100;
            m.apply(&step(
                3 * k as u64 + 1,
                at,
                "make -n test",
                RunPart::PlannedDryRun,
            ));
            m.apply(&step(
                3 * k as u64 + 2,
                at + 1,
                "cargo build",
                RunPart::Whole,
            ));
            m.apply(&step(
                3 * k as u64 + 3,
                at + 2,
                "cargo test",
                RunPart::Continues,
            ));
        }
        let p = m.profile(t(1_000), &BTreeMap::new(), None, None, true);
        assert!(p.corrections.is_empty(), "{:?}", p.corrections);
        let plans = &p.categories[0].plans;
        assert!(plans.iter().all(|pl| pl.corrected_away == 0));
        assert!(
            plans.iter().all(|pl| pl.plan != "make -n test"),
            "{plans:?}"
        );
        assert_eq!(p.style.runs, 6);
        assert_eq!(p.style.dry_run_share, 0.0);
    }

    #[test]
    fn dry_runs_are_recognised_per_tool() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(is_dry_run(&argv("make -n test"), "make"));
        assert!(is_dry_run(&argv("make -n test"), "make test"));
        assert!(is_dry_run(&argv("just --dry-run test"), "just"));
        assert!(!is_dry_run(&argv("head -n 5 f"), "head"));
    }

    #[test]
    fn corrections_count_against_the_replaced_plan() {
        let mut m = Model::new(Params::default());
        m.apply(&outcome(1, 0, "cargo test", true));
        m.apply(&outcome(2, 30, "cargo nextest run", true)); // same goal, new plan, in window
        let p = m.profile(t(31), &BTreeMap::new(), None, None, true);
        let plans = &p.categories[0].plans;
        assert_eq!(plans[0].plan, "cargo nextest run");
        assert_eq!(plans[1].corrected_away, 1);
        assert_eq!(p.corrections[0].from, "cargo test");
        assert_eq!(p.corrections[0].to, "cargo nextest run");
        // Outside the window it is just another run.
        let mut m = Model::new(Params::default());
        m.apply(&outcome(1, 0, "cargo test", true));
        m.apply(&outcome(2, 10_000, "cargo nextest run", true));
        let p = m.profile(t(10_001), &BTreeMap::new(), None, None, true);
        assert!(p.categories[0].plans.iter().all(|p| p.corrected_away == 0));
    }

    #[test]
    fn a_correction_needs_evidence_that_the_first_plan_did_not_serve() {
        let unnamed = |run: u64, sec: i64, plan: &str, success: bool| {
            let mut s = outcome(run, sec, plan, success);
            if let SignalKind::Outcome { named, .. } = &mut s.kind {
                *named = false;
            }
            s
        };
        // Two commands typed, both worked, no goal in words: no correction, twice over.
        let mut m = Model::new(Params::default());
        for k in 0..2 {
            m.apply(&unnamed(1 + 2 * k, 100 * k as i64, "make test", true));
            m.apply(&unnamed(
                2 + 2 * k,
                100 * k as i64 + 30,
                "make test V=1",
                true,
            ));
        }
        let p = m.profile(t(500), &BTreeMap::new(), None, None, true);
        assert!(p.corrections.is_empty(), "{:?}", p.corrections);
        assert!(p.categories[0].plans.iter().all(|p| p.corrected_away == 0));
        // The first one failed: that is evidence.
        let mut m = Model::new(Params::default());
        m.apply(&unnamed(1, 0, "make test", false));
        m.apply(&unnamed(2, 30, "make test V=1", true));
        let p = m.profile(t(31), &BTreeMap::new(), None, None, true);
        assert_eq!(p.corrections.len(), 1);
        // Rated 1 or 2: evidence too.
        let mut m = Model::new(Params::default());
        m.apply(&unnamed(1, 0, "make test", true));
        m.apply(&rating(1, 10, "make test", 2));
        m.apply(&unnamed(2, 30, "make test V=1", true));
        let p = m.profile(t(31), &BTreeMap::new(), None, None, true);
        assert_eq!(p.corrections.len(), 1);
    }

    #[test]
    fn failure_reactions_and_style_are_counted() {
        let mut m = Model::new(Params::default());
        m.apply(&outcome(1, 0, "cargo test", false));
        m.apply(&outcome(2, 10, "cargo test", true)); // retry
        m.apply(&outcome(3, 20, "cargo test", false));
        m.apply(&outcome(4, 30, "cargo nextest run", true)); // change plan
        m.apply(&outcome(5, 40, "cargo test", false));
        m.apply(&outcome(6, 50_000, "cargo test", true)); // too late: moved on
        let approval = |sec: i64, plan: &str, approved: bool| {
            let mut a = outcome(0, sec, plan, true);
            a.run_id = None;
            a.kind = SignalKind::Approval {
                approved,
                asked: false,
            };
            a
        };
        // Held back, then run with --yes a minute later: one approval given, no denial.
        m.apply(&approval(50_010, "rm -r target", false));
        m.apply(&approval(50_070, "rm -r target", true));
        // Held back and left: a denial once the window has passed.
        m.apply(&approval(50_100, "rm -r build", false));
        let pending = m
            .profile(t(50_101), &BTreeMap::new(), None, None, true)
            .style;
        assert_eq!((pending.approvals_given, pending.approvals_denied), (1, 0));
        m.apply(&outcome(8, 50_100 + 601, "cargo test", true));
        let st = m
            .profile(t(51_000), &BTreeMap::new(), None, None, true)
            .style;
        assert_eq!(
            (st.failure_retry, st.failure_change_plan, st.failure_abandon),
            (1, 1, 1)
        );
        assert_eq!((st.approvals_given, st.approvals_denied), (1, 1));
        assert_eq!(st.runs, 7);
        assert_eq!(st.hours.iter().sum::<u64>(), 7);
    }

    #[test]
    fn settings_override_what_is_learned_and_say_so() {
        let mut m = Model::new(Params::default());
        for i in 0..5 {
            let mut s = outcome(i, i as i64, "rm -r build", true);
            s.run_id = None;
            s.kind = SignalKind::Approval {
                approved: true,
                asked: false,
            };
            m.apply(&s);
        }
        let learned = m.profile(t(10), &BTreeMap::new(), None, None, true).style;
        assert_eq!(
            (
                learned.autonomy_comfort.value.as_str(),
                learned.autonomy_comfort.source.as_str()
            ),
            ("high", "learned")
        );
        let mut set = BTreeMap::new();
        set.insert(AUTONOMY.to_string(), "low".to_string());
        let st = m.profile(t(10), &set, None, None, true).style;
        assert_eq!(st.autonomy_comfort.value, "low");
        assert_eq!(st.autonomy_comfort.source, "set");
        assert_eq!(st.autonomy_comfort.learned.as_deref(), Some("high"));
    }

    #[test]
    fn signals_while_learning_was_off_count_for_nothing() {
        let mut m = Model::new(Params::default());
        let mut s = outcome(1, 0, "cargo test", true);
        s.learn = false;
        m.apply(&s);
        assert!(
            m.profile(t(1), &BTreeMap::new(), None, None, true)
                .categories
                .is_empty()
        );
    }

    #[test]
    fn evidence_decays_with_time() {
        let p = Params::default();
        let mut plan = Plan::default();
        plan.add(0, 0, 1.0, 1.0, &p);
        let (_, now) = plan.score(0, 0, &p);
        let (_, later) = plan.score(30 * 86_400, 0, &p);
        assert!((now - 1.0).abs() < 1e-9);
        assert!(
            (later - 0.5).abs() < 1e-9,
            "one half-life halves the evidence: {later}"
        );
        let (_, newer) = plan.score(0, 2, &p);
        assert!((newer - 0.81).abs() < 1e-9, "two newer runs: 0.9²");
    }

    #[test]
    fn dry_runs_and_verbosity_are_read_from_flags() {
        let v = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_dry_run(&v(&["rsync", "--dry-run", "a", "b"]), "rsync"));
        assert!(is_dry_run(&v(&["terraform", "plan"]), "terraform plan"));
        assert!(!is_dry_run(&v(&["cargo", "test"]), "cargo test"));
        assert_eq!(verbosity_of(&v(&["cargo", "test", "-v"])), 1);
        assert_eq!(verbosity_of(&v(&["cargo", "test", "--quiet"])), -1);
        assert_eq!(verbosity_of(&v(&["cargo", "-q", "test", "-v"])), 1);
    }
}
