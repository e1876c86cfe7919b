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
//! - A rating speaks for its run: its exit status's evidence is taken back out (the rating
//!   already says whether the run served), except that a rating of 1 or 2 for a run that
//!   failed rates the failure, which the exit status counts already, and adds nothing.
//! - A run that could not start (exit 126 or 127, program not found: a missing tool) is a run
//!   that did not succeed, but no evidence about taste, and neither is its rating, a pick
//!   over it or a change of plan after it. The plan keeps its standing for when the tool is
//!   back.
//! - A choice (a pick, or a correction that worked) counts for the chosen plan and against
//!   the other until its run is rated: then the rating speaks for the chosen plan. It counts
//!   as a parameter preference while its run is unrated or rated 4 or 5; rated lower, it was
//!   a try. The planner's first plan, run as offered, is never a correction: the planner
//!   chose it, not the user.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Datelike as _, FixedOffset, Local, Timelike as _, Utc};
use codex_proto::types::{RunId, RunOutcome, RunPart};

use super::state::{Signal, SignalKind};
use evidence::{At, Clock, Plan};

mod evidence;
mod profile;
mod replay;
pub use evidence::KEEP_AFTER_RUNS;
pub use replay::Posterior;

/// How many weighted-mean values the satisfaction series keeps.
const SERIES: usize = 30;
/// How many ratings back the satisfaction trend looks.
const TREND_SPAN: usize = 10;
/// Runs whose outcome evidence is kept so that their rating can stand in for it: a rating
/// follows its run closely; a run rated later than this many runs on keeps both.
const RECENT_RUNS: usize = 1024;

/// Whether a run could not start as meant: exit 126 (found, not runnable) or 127 (not
/// found), as a shell reports them and as a script calling a missing tool ends, or its
/// program could not be started at all. The environment's doing, not the plan's.
pub fn could_not_start(outcome: &RunOutcome) -> bool {
    matches!(
        outcome,
        RunOutcome::Exited { code: 126 | 127 } | RunOutcome::FailedToStart { .. }
    )
}

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

/// A counted rating: where its evidence went, so a re-rating can take it back out exactly.
#[derive(Debug, Clone)]
struct Counted {
    category: Arc<str>,
    plan: Arc<str>,
    program: Arc<str>,
    score: u8,
    /// The project it was given in ("" outside projects).
    project: Arc<str>,
    /// Time and category run counts (overall, in its project) the evidence was added at,
    /// and how much.
    t: i64,
    n: u64,
    n_here: u64,
    a: f64,
    b: f64,
    /// Its place in `Model::scores`.
    order: usize,
}

/// What a run's outcome added to its plan's evidence, so that its rating can replace it.
#[derive(Debug, Clone)]
struct RunEvidence {
    category: Arc<str>,
    plan: Arc<str>,
    project: Arc<str>,
    at: Clock,
    /// The outcome's evidence: (1, 0) for a success, (0, 1) for a failure (times
    /// `implicit_weight`), (0, 0) when it added none.
    a: f64,
    b: f64,
    /// That evidence is in (not replaced by a rating).
    counted: bool,
    /// It worked.
    success: bool,
    /// It could not start: a rating of it is about the environment, not the plan.
    unstarted: bool,
    /// The choice that led to it (a pick, or a correction that worked), if any.
    choice: Option<Choice>,
}

/// The user chose one plan over another (`--pick`, or a correction that worked): what that
/// added, so that the rating of the chosen plan's run can take its place.
#[derive(Debug, Clone)]
struct Choice {
    category: Arc<str>,
    /// The plan passed over or replaced.
    from: Arc<str>,
    /// The plan chosen.
    to: Arc<str>,
    project: Arc<str>,
    at: Clock,
    /// Its weight (`correction_weight`).
    w: f64,
    /// It counted against `from` and as a parameter preference (not a workaround around a
    /// plan that could not start).
    against: bool,
    /// Its evidence for `to` (and against `from`) is in: its run is not rated yet.
    weighed: bool,
    /// It counts as a parameter preference (and `from` as corrected away): its run is not
    /// rated, or its latest rating was 4 or 5.
    counted: bool,
}

#[derive(Debug, Clone, Default)]
struct Category {
    /// Runs in this category so far: the clock `evidence_discount` counts in.
    n: u64,
    /// The same clock per project root ("" outside projects).
    n_at: HashMap<String, u64>,
    plans: BTreeMap<String, Plan>,
}

impl Category {
    /// Where a signal in `project` at `t` lands, by this category's clocks.
    fn at<'a>(&self, project: &'a str, t: i64) -> At<'a> {
        At {
            project,
            t,
            n: self.n,
            n_here: self.n_at.get(project).copied().unwrap_or(0),
        }
    }

    /// One more run in `project`.
    fn tick(&mut self, project: &str) {
        self.n += 1;
        match self.n_at.get_mut(project) {
            Some(n) => *n += 1,
            None => {
                self.n_at.insert(project.to_string(), 1);
            }
        }
    }
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
    /// It could not start (a missing tool).
    unstarted: bool,
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
    /// The last `--pick`: its run is not also a correction, and carries the pick.
    last_pick: Option<Choice>,
    /// The latest runs' outcome evidence, by run, and their order (at most [`RECENT_RUNS`]).
    runs: HashMap<RunId, RunEvidence>,
    run_order: VecDeque<RunId>,
}

/// How a run went, as its outcome signal says.
#[derive(Debug, Clone, Copy)]
struct How {
    success: bool,
    part: RunPart,
    named: bool,
    borrowed: bool,
    unstarted: bool,
    first: bool,
    from_model: bool,
}

/// A held-back command, not yet known to be a "no".
#[derive(Debug, Clone)]
struct Denial {
    category: Arc<str>,
    plan: Arc<str>,
    tool: Arc<str>,
    project: Arc<str>,
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
            let at = cat.at(&d.project, d.t);
            plan_entry(cat, &d.plan, &d.tool, at).add(at, p.implicit_weight, 0.0, &p);
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
            let out = |ev: &mut evidence::Evidence, n: u64| {
                ev.take_out(old.t, n, old.a, old.b, &p);
                ev.ratings = ev.ratings.saturating_sub(1);
                ev.rating_sum = ev.rating_sum.saturating_sub(u64::from(old.score));
            };
            out(&mut plan.all, old.n);
            if let Some(place) = plan.places.get_mut(&*old.project) {
                out(&mut place.ev, old.n_here);
            }
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
                borrowed,
                unstarted,
                first,
                from_model,
            } => {
                let how = How {
                    success: *success && !*cancelled,
                    part: *part,
                    named: *named,
                    borrowed: *borrowed,
                    unstarted: *unstarted,
                    first: *first,
                    from_model: *from_model,
                };
                self.outcome(s, t, how);
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
                // The user's word on a run stands in for what its exit status implied, except
                // that a low rating of a run that failed rates the failure, which its outcome
                // counts already: it adds nothing of its own. A run that could not start was
                // rated for the environment, not the plan.
                let (unstarted, failed) = s
                    .run_id
                    .and_then(|r| self.runs.get(&r))
                    .map_or((false, false), |r| (r.unstarted, !r.success));
                let rates_failure = failed && *score <= 2;
                if let Some(run) = s.run_id {
                    self.set_outcome(run, rates_failure);
                    self.reconsider_choice(run, *score >= 4);
                }
                let w = if unstarted || rates_failure {
                    0.0
                } else {
                    p.explicit_weight
                };
                let value = f64::from(score.saturating_sub(1)) / 4.0;
                let (a, b) = (w * value, w * (1.0 - value));
                let project: Arc<str> = s.project.clone().unwrap_or_else(|| "".into());
                let cat = category_entry(&mut self.categories, &s.category);
                let at = cat.at(&project, t);
                let (n, n_here) = (at.n, at.n_here);
                let plan = plan_entry(cat, &s.plan, &s.tool, at);
                // A rating of 3 or more keeps a borrowed plan; a lower one never will.
                if *score >= 3 {
                    plan.keep(at, &p);
                } else {
                    plan.drop_deferred(at);
                }
                if w > 0.0 {
                    plan.add(at, w, value, &p);
                }
                plan.all.ratings += 1;
                plan.all.rating_sum += u64::from(*score);
                let here = &mut plan.place(at).ev;
                here.ratings += 1;
                here.rating_sum += u64::from(*score);
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
                            project,
                            t,
                            n,
                            n_here,
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
                let at = cat.at(s.project.as_deref().unwrap_or(""), t);
                // Passing over a plan that could not start last time works around a missing
                // tool: no evidence against it, no parameter preference.
                let workaround = cat
                    .plans
                    .get(&**over)
                    .is_some_and(|pl| pl.blocked(at.project));
                if let Some(old) = cat.plans.get_mut(&**over).filter(|_| !workaround) {
                    old.corrected_away(at, p.correction_weight, &p);
                }
                let chosen = plan_entry(cat, &s.plan, &s.tool, at);
                chosen.keep(at, &p);
                chosen.add(at, p.correction_weight, 1.0, &p);
                if !workaround {
                    *self
                        .corrections
                        .entry((over.clone(), s.plan.clone()))
                        .or_insert(0) += 1;
                }
                self.last_pick = Some(Choice {
                    category: s.category.clone(),
                    from: over.clone(),
                    to: s.plan.clone(),
                    project: s.project.clone().unwrap_or_else(|| "".into()),
                    at: at.clock(),
                    w: p.correction_weight,
                    against: !workaround,
                    weighed: true,
                    counted: true,
                });
            }
            SignalKind::Typed => {
                let project = s.project.as_deref().unwrap_or("");
                let cat = category_entry(&mut self.categories, &s.category);
                cat.tick(project);
                let at = cat.at(project, t);
                plan_entry(cat, &s.plan, &s.tool, at).typed(at, &p);
            }
            SignalKind::Approval { approved, asked } => {
                if !*approved && *asked {
                    // A "no" at a prompt is a no at once.
                    self.style.approvals_denied += 1;
                    let cat = category_entry(&mut self.categories, &s.category);
                    let at = cat.at(s.project.as_deref().unwrap_or(""), t);
                    plan_entry(cat, &s.plan, &s.tool, at).add(at, p.implicit_weight, 0.0, &p);
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
                        project: s.project.clone().unwrap_or_else(|| "".into()),
                        t,
                    });
                }
            }
        }
    }

    fn outcome(&mut self, s: &Signal, t: i64, how: How) {
        let How {
            success,
            part,
            named,
            borrowed,
            unstarted,
            first,
            from_model,
        } = how;
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
            unstarted,
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
                slot.unstarted |= unstarted;
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
        let pick = self
            .last_pick
            .take()
            .filter(|c| c.category == s.category && c.to == s.plan);
        let picked = pick.is_some();
        let mut choice = pick;
        let project = s.project.as_deref().unwrap_or("");
        let cat = category_entry(&mut self.categories, &s.category);
        cat.tick(project);
        let at = cat.at(project, t);
        if let Some(prev) = &previous {
            let within = t - prev.at <= p.correction_window_secs;
            let same_goal = prev.category == s.category;
            // A correction needs evidence that the first plan did not serve: it failed or was
            // cancelled, was rated 1 or 2, or the user named the goal again. Two runs that
            // both worked, with no goal in words (`make test`, then `make test V=1`), are
            // two commands, not a correction; trying another plan after one rated 4 or 5 is
            // curiosity. The planner's first plan, run as offered, is the planner's choice,
            // not the user's: it corrects nothing (the plan before may have been a pick, or
            // the ranking moved).
            let served_not = !prev.success || disliked_previous || named;
            if within
                && same_goal
                && prev.plan != s.plan
                && served_not
                && !liked_previous
                && !picked
                && !first
            {
                // Replacing a plan that could not start works around a missing tool: no
                // evidence against it, no parameter preference.
                if let Some(old) = cat.plans.get_mut(&*prev.plan).filter(|_| !prev.unstarted) {
                    old.corrected_away(at, p.correction_weight, &p);
                }
                if success {
                    let to = plan_entry(cat, &s.plan, &s.tool, at);
                    to.keep(at, &p);
                    to.add(at, p.correction_weight, 1.0, &p);
                    if !prev.unstarted {
                        *self
                            .corrections
                            .entry((prev.plan.clone(), s.plan.clone()))
                            .or_insert(0) += 1;
                    }
                    choice = Some(Choice {
                        category: s.category.clone(),
                        from: prev.plan.clone(),
                        to: s.plan.clone(),
                        project: project.into(),
                        at: at.clock(),
                        w: p.correction_weight,
                        against: !prev.unstarted,
                        weighed: true,
                        counted: true,
                    });
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
        let plan = plan_entry(cat, &s.plan, &s.tool, at);
        plan.from_model |= from_model;
        let added = if unstarted {
            plan.could_not_start(at);
            None
        } else {
            plan.ran(at, success, borrowed, &p)
        };
        if let Some(run) = s.run_id {
            let w = p.implicit_weight;
            let (a, b) = added.map_or((0.0, 0.0), |s| (w * s, w * (1.0 - s)));
            self.remember(
                run,
                RunEvidence {
                    category: s.category.clone(),
                    plan: s.plan.clone(),
                    project: s.project.clone().unwrap_or_else(|| "".into()),
                    at: at.clock(),
                    a,
                    b,
                    counted: true,
                    success,
                    unstarted,
                    choice,
                },
            );
        }
        let prog = program_entry(&mut self.programs, &s.program);
        prog.runs += 1;
        prog.successes += u64::from(success);
    }

    /// Keep a run's outcome evidence for its rating, forgetting the oldest past the bound.
    fn remember(&mut self, run: RunId, ev: RunEvidence) {
        if self.runs.insert(run, ev).is_none() {
            self.run_order.push_back(run);
        }
        while self.run_order.len() > RECENT_RUNS {
            if let Some(old) = self.run_order.pop_front() {
                self.runs.remove(&old);
            }
        }
    }

    /// A rating of `run` arrives. The choice that led to it was a guess at what the user
    /// would like, made before the run: the rating says how it turned out, so the evidence
    /// the choice gave (for the plan chosen, against the other) goes. It stays a parameter
    /// preference only while the rating bears it out (4 or 5).
    fn reconsider_choice(&mut self, run: RunId, liked: bool) {
        let p = self.params;
        let Some(c) = self.runs.get_mut(&run).and_then(|r| r.choice.as_mut()) else {
            return;
        };
        let unweigh = std::mem::take(&mut c.weighed);
        let recount = c.against && c.counted != liked;
        c.counted = liked;
        let c = c.clone();
        let Some(cat) = self.categories.get_mut(&*c.category) else {
            return;
        };
        if unweigh {
            if let Some(to) = cat.plans.get_mut(&*c.to) {
                to.take_out(&c.project, c.at, c.w, 0.0, &p);
            }
            if let Some(from) = cat.plans.get_mut(&*c.from).filter(|_| c.against) {
                from.take_out(&c.project, c.at, 0.0, c.w, &p);
            }
        }
        if !recount {
            return;
        }
        if let Some(from) = cat.plans.get_mut(&*c.from) {
            from.recount_corrected_away(&c.project, liked);
        }
        let key = (c.from.clone(), c.to.clone());
        let times = self.corrections.entry(key.clone()).or_insert(0);
        *times = if liked {
            *times + 1
        } else {
            times.saturating_sub(1)
        };
        if *times == 0 {
            self.corrections.remove(&key);
        }
    }

    /// Count the evidence of `run`'s outcome in or out (it decayed like the rest meanwhile).
    fn set_outcome(&mut self, run: RunId, counted: bool) {
        let p = self.params;
        let Some(ev) = self.runs.get_mut(&run).filter(|ev| ev.counted != counted) else {
            return;
        };
        ev.counted = counted;
        if let Some(plan) = self
            .categories
            .get_mut(&*ev.category)
            .and_then(|c| c.plans.get_mut(&*ev.plan))
        {
            if counted {
                plan.put_back(&ev.project, ev.at, ev.a, ev.b, &p);
            } else {
                plan.take_out(&ev.project, ev.at, ev.a, ev.b, &p);
            }
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

fn plan_entry<'a>(cat: &'a mut Category, plan: &str, tool: &str, at: At<'_>) -> &'a mut Plan {
    if !cat.plans.contains_key(plan) {
        cat.plans
            .insert(plan.to_string(), Plan::new(tool, at.t, at.n));
    }
    cat.plans.get_mut(plan).expect("inserted above")
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
pub(crate) mod tests;
