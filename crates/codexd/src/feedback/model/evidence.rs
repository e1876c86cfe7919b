//! Decayed Beta evidence: one plan's record overall and in each project it ran in.
//!
//! Evidence is kept per project because a plan is a fact about a place: `cargo test` working
//! in a crate says nothing about a Node project, and failing there must not count against the
//! crate. The overall record is what `prefs show` lists without `--project`; the planner ranks
//! by the record where it plans, with the record elsewhere only as a weak prior.

use std::collections::BTreeMap;

use super::Params;

/// Successful runs of a borrowed plan (taken from another goal or project) after which the
/// user is taken to have kept it, when no rating said so first.
pub const KEEP_AFTER_RUNS: u64 = 2;

/// A command typed in a shell (imported history) weighs this share of an implicit signal: it
/// says what the user reaches for, not whether it worked.
pub const TYPED_WEIGHT: f64 = 0.5;

/// How much evidence is left after `dt` seconds and `newer` runs in its category.
pub(super) fn decay(dt: i64, newer: u64, p: &Params) -> f64 {
    let newer = i32::try_from(newer).unwrap_or(i32::MAX);
    0.5f64.powf(dt.max(0) as f64 / p.half_life_secs) * p.discount.powi(newer)
}

/// A Beta(1 + a, 1 + b) posterior of "this plan satisfies the user", with its counts.
#[derive(Debug, Clone, Default)]
pub(super) struct Evidence {
    pub a: f64,
    pub b: f64,
    /// Time (unix seconds) and run count of its clock that the evidence is decayed to.
    pub t: i64,
    pub n: u64,
    pub runs: u64,
    pub successes: u64,
    pub ratings: u64,
    pub rating_sum: u64,
    pub corrected_away: u64,
    pub typed: u64,
}

impl Evidence {
    fn starting(t: i64, n: u64) -> Self {
        Evidence {
            t,
            n,
            ..Evidence::default()
        }
    }

    fn factor(&self, t: i64, n: u64, p: &Params) -> f64 {
        decay(t - self.t, n.saturating_sub(self.n), p)
    }

    /// Add weight `w` of value `s` in [0, 1] at time `t` and clock `n`.
    pub fn add(&mut self, t: i64, n: u64, w: f64, s: f64, p: &Params) {
        let f = self.factor(t, n, p);
        self.a = self.a * f + w * s;
        self.b = self.b * f + w * (1.0 - s);
        self.t = self.t.max(t);
        self.n = n;
    }

    /// Take back out `(a, b)` added at `(t, n)`: it has decayed like the rest since.
    pub fn take_out(&mut self, t: i64, n: u64, a: f64, b: f64, p: &Params) {
        let f = decay(self.t - t, self.n.saturating_sub(n), p);
        self.a = (self.a - a * f).max(0.0);
        self.b = (self.b - b * f).max(0.0);
    }

    /// Put back `(a, b)` taken out earlier, as decayed as it would be had it stayed.
    pub fn put_back(&mut self, t: i64, n: u64, a: f64, b: f64, p: &Params) {
        let f = decay(self.t - t, self.n.saturating_sub(n), p);
        self.a += a * f;
        self.b += b * f;
    }

    /// Posterior mean and effective evidence, decayed to (t, n).
    pub fn score(&self, t: i64, n: u64, p: &Params) -> (f64, f64) {
        let f = self.factor(t, n, p);
        let (a, b) = (self.a * f, self.b * f);
        ((1.0 + a) / (2.0 + a + b), a + b)
    }
}

/// A plan's record in one project.
#[derive(Debug, Clone, Default)]
pub(super) struct Place {
    pub ev: Evidence,
    /// The user kept the plan here: a run of it that was not borrowed, a rating of 3 or more,
    /// a pick or a correction to it, or [`KEEP_AFTER_RUNS`] borrowed runs that worked.
    pub kept: bool,
    /// Borrowed runs that worked here, not counted as evidence until the plan is kept.
    pub deferred: u64,
    /// Its last run here could not start (a missing tool): passing it over is a workaround,
    /// not a preference, until it runs again.
    pub blocked: bool,
}

/// Where a signal lands: its project and the two clocks (runs of the category overall, and
/// in that project) its evidence decays by.
#[derive(Debug, Clone, Copy)]
pub(super) struct At<'a> {
    pub project: &'a str,
    pub t: i64,
    pub n: u64,
    pub n_here: u64,
}

/// When evidence was added: its time and the two clocks of [`At`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    pub t: i64,
    pub n: u64,
    pub n_here: u64,
}

impl At<'_> {
    /// Its clocks, to take what was added here back out later.
    pub fn clock(&self) -> Clock {
        Clock {
            t: self.t,
            n: self.n,
            n_here: self.n_here,
        }
    }
}

/// Decayed Beta evidence for one plan: overall, and per project root ("" outside projects).
#[derive(Debug, Clone, Default)]
pub(super) struct Plan {
    pub tool: String,
    pub all: Evidence,
    pub places: BTreeMap<String, Place>,
    /// A run of it was of the language model's plan.
    pub from_model: bool,
}

impl Plan {
    pub fn new(tool: &str, t: i64, n: u64) -> Self {
        Plan {
            tool: tool.to_string(),
            all: Evidence::starting(t, n),
            places: BTreeMap::new(),
            from_model: false,
        }
    }

    /// Its record in `at.project`, created empty the first time.
    pub fn place(&mut self, at: At<'_>) -> &mut Place {
        if !self.places.contains_key(at.project) {
            self.places.insert(
                at.project.to_string(),
                Place {
                    ev: Evidence::starting(at.t, at.n_here),
                    ..Place::default()
                },
            );
        }
        self.places
            .get_mut(at.project)
            .expect("inserted above when missing")
    }

    /// Weight `w` of value `s`, overall and where it happened.
    pub fn add(&mut self, at: At<'_>, w: f64, s: f64, p: &Params) {
        self.all.add(at.t, at.n, w, s, p);
        self.place(at).ev.add(at.t, at.n_here, w, s, p);
    }

    /// The user replaced this plan by another (a correction or a pick passing it over).
    pub fn corrected_away(&mut self, at: At<'_>, w: f64, p: &Params) {
        self.add(at, w, 0.0, p);
        self.all.corrected_away += 1;
        self.place(at).ev.corrected_away += 1;
    }

    /// A run of it ended; the evidence it added, if any. A borrowed run that worked, where
    /// the plan is not kept yet, counts as a run but adds no evidence until the user keeps
    /// the plan.
    pub fn ran(&mut self, at: At<'_>, success: bool, borrowed: bool, p: &Params) -> Option<f64> {
        self.all.runs += 1;
        self.all.successes += u64::from(success);
        let place = self.place(at);
        place.ev.runs += 1;
        place.ev.successes += u64::from(success);
        place.blocked = false;
        if borrowed && success && !place.kept {
            place.deferred += 1;
            if place.deferred >= KEEP_AFTER_RUNS {
                self.keep(at, p);
            }
            return None;
        }
        if !borrowed {
            place.kept = true;
        }
        let s = if success { 1.0 } else { 0.0 };
        self.add(at, p.implicit_weight, s, p);
        Some(s)
    }

    /// A run of it could not start (exit 126 or 127, or its program was not found): a run
    /// that did not succeed, for its record and confidence, but no evidence about taste. A
    /// missing tool says nothing about whether the plan suits the user, and counting it would
    /// keep the plan down long after the tool is back.
    pub fn could_not_start(&mut self, at: At<'_>) {
        self.all.runs += 1;
        let place = self.place(at);
        place.ev.runs += 1;
        place.blocked = true;
    }

    /// Put back what [`Plan::take_out`] took out.
    pub fn put_back(&mut self, project: &str, c: Clock, a: f64, b: f64, p: &Params) {
        self.all.put_back(c.t, c.n, a, b, p);
        if let Some(place) = self.places.get_mut(project) {
            place.ev.put_back(c.t, c.n_here, a, b, p);
        }
    }

    /// Count a correction away from it in `project` back in (`back`) or out.
    pub fn recount_corrected_away(&mut self, project: &str, back: bool) {
        let f = |c: &mut u64| {
            *c = if back { *c + 1 } else { c.saturating_sub(1) };
        };
        f(&mut self.all.corrected_away);
        if let Some(place) = self.places.get_mut(project) {
            f(&mut place.ev.corrected_away);
        }
    }

    /// Its last run where `project` says could not start.
    pub fn blocked(&self, project: &str) -> bool {
        self.places.get(project).is_some_and(|pl| pl.blocked)
    }

    /// Take back out what was added at `(t, n, n_here)` in `project`, overall and there.
    pub fn take_out(&mut self, project: &str, c: Clock, a: f64, b: f64, p: &Params) {
        self.all.take_out(c.t, c.n, a, b, p);
        if let Some(place) = self.places.get_mut(project) {
            place.ev.take_out(c.t, c.n_here, a, b, p);
        }
    }

    /// The user typed it in a shell where `at` says: a habit of theirs there, so kept.
    pub fn typed(&mut self, at: At<'_>, p: &Params) {
        self.all.typed += 1;
        let place = self.place(at);
        place.ev.typed += 1;
        place.kept = true;
        self.add(at, TYPED_WEIGHT * p.implicit_weight, 1.0, p);
    }

    /// The user kept it where `at` says: borrowed runs that worked there count from now on.
    pub fn keep(&mut self, at: At<'_>, p: &Params) {
        let place = self.place(at);
        place.kept = true;
        let deferred = std::mem::take(&mut place.deferred);
        for _ in 0..deferred {
            self.add(at, p.implicit_weight, 1.0, p);
        }
    }

    /// A low rating where it was borrowed: its deferred runs will never count.
    pub fn drop_deferred(&mut self, at: At<'_>) {
        self.place(at).deferred = 0;
    }
}
