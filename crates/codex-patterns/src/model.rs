//! The next-goal model: which goal will the user run next, and why.
//!
//! It is a mixture of experts, each a small table of decayed counts that proposes goals:
//! - orders 0..=8: what followed the last `o` goals (order 0: what is frequent overall);
//! - match: what followed the most recent earlier occurrence of the longest match of the
//!   last goals (found through hashes of the last 2, 4, 8, 16 goals, followed while it keeps
//!   predicting right; as in lpaq), trusted by how often matches of that length were right;
//! - recency: how often the next goal is the `r`-th most recent distinct goal;
//! - repeat: how often the next goal is the one run exactly `k` steps ago (loops of k);
//! - hour of day, weekday, project, and the last goal plus the project or the hour, when
//!   known (a linear mixture cannot say "after `ls`, but in the morning" any other way);
//! - sparse contexts that skip the last goal (a slip or a one-off), and what follows a goal
//!   the model ranked badly (routines start again after one-offs).
//!
//! Counts decay each time their context is seen again, so a changed habit wins over an old
//! one after a few repetitions, while a context seen once a month keeps its memory.
//! The experts are combined linearly with weights learned online by exponentiated gradient on
//! the log-loss of the goal actually run (as in PAQ's context mixing); one weight set per
//! mixer context (the longest order whose context was seen before, how often, and the match
//! length), because how far to trust a long context depends on how much it has seen. The
//! mixture's best 16 are then reordered by a ranker (`rank`): a softmax over them of a
//! linear score of their features (each expert's probability, ranks, recency), learned online;
//! it starts out ordering them as the mixture does. Every
//! table keeps a bounded number of candidates, so `predict` and `observe` cost the same after
//! a million goals as after a hundred; the match model keeps every goal's id (4 bytes each)
//! and one hash entry per distinct context it saw.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc, Weekday};

use crate::Interaction;
use crate::evidence::{Evidence, Prediction};
use crate::intern::{IdMap, Interner, Sym, fnv1a, mix};
use crate::rank::{FEATURES, Features, Ranker};

/// Orders of context kept: 0 (no context) to `ORDERS - 1` previous goals.
const ORDERS: usize = 9;
const HOUR: usize = ORDERS;
const WEEKDAY: usize = ORDERS + 1;
const PROJECT: usize = ORDERS + 2;
const PROJECT_AFTER: usize = ORDERS + 3;
const HOUR_AFTER: usize = ORDERS + 4;
/// Sparse contexts that skip the last goal (a one-off or a slip): the goal before it, and
/// the two before it.
const SKIP1: usize = ORDERS + 5;
const SKIP2: usize = ORDERS + 6;
/// What follows a goal the model ranked so badly (or never saw), alone and with the goal
/// before it: routines start again after one-offs.
const SURPRISE: usize = ORDERS + 7;
const SURPRISE_SKIP: usize = ORDERS + 8;
/// Experts backed by a table of counts.
const TABLES: usize = ORDERS + 9;
const RECENCY: usize = TABLES;
const REPEAT: usize = TABLES + 1;
/// What followed the longest earlier match of the recent goals.
const MATCH: usize = TABLES + 2;
/// The same tables read with their slow-decaying counts: experts `SLOW + e`.
const SLOW: usize = TABLES + 3;
/// All experts.
const EXPERTS: usize = SLOW + TABLES;
/// Distinct recent goals the recency expert ranks.
const MRU: usize = 32;
/// Steps back the repeat expert looks.
const BACK: usize = 8;
/// Count buckets of the mixer context.
const BUCKETS: usize = 4;
/// Match-length buckets of the mixer context.
const MATCH_BUCKETS: usize = 5;
/// Context lengths hashed to find a match, longest first.
const MATCH_ORDERS: [usize; 4] = [16, 8, 4, 2];
/// The longest match length told apart.
const MAX_MATCH: usize = 32;
/// Features of a candidate the ranker reads: its mixed probability, its rank in the mixture,
/// each expert's probability, whether it tops each order, its recency rank, whether the match
/// predicts it, whether it ran two goals ago, the longest context's confidence in it.
pub(crate) const RANK_FEATURES: usize = 6 + EXPERTS + ORDERS + 8;
/// Weight sets of the ranker: longest order seen (up to 4) by match-length bucket.
const RANK_SETS: usize = 5 * MATCH_BUCKETS;

/// The mixer bucket of a match length.
fn match_bucket(len: usize) -> usize {
    match len {
        0 => 0,
        1..=3 => 1,
        4..=7 => 2,
        8..=15 => 3,
        _ => 4,
    }
}

/// Tuning knobs of the model; [`Params::default`] is what the figures in the docs use.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Per-visit decay of each order's counts (order 0 decays every step).
    pub decay: [f32; ORDERS],
    /// Per-visit decay of the hour, weekday and project tables.
    pub feature_decay: f32,
    /// Per-visit decay of the slow twin of every table (order 0: per step).
    pub slow_decay: [f32; 2],
    /// Decay of the recency and repeat statistics, per step.
    pub stat_decay: f32,
    /// Candidates kept per context of order 1 and above, and per feature.
    pub cap: usize,
    /// Candidates kept at order 0.
    pub cap0: usize,
    /// Mass held back for "something else" in every table, in counts.
    pub escape: f32,
    /// Learning rate of the mixture weights.
    pub rate: f32,
    /// Learning rate of the ranker that reorders the mixture's best candidates.
    pub rank_rate: f32,
    /// Candidates the ranker reorders.
    pub shortlist: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            decay: [0.995, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
            feature_decay: 0.98,
            slow_decay: [0.9995, 0.995],
            stat_decay: 0.995,
            cap: 16,
            cap0: 48,
            escape: 0.25,
            rate: 0.1,
            rank_rate: 0.03,
            shortlist: 16,
        }
    }
}

/// A candidate in a table: its goal, decayed weight and plain count.
#[derive(Debug, Clone, Copy)]
struct Slot {
    sym: Sym,
    w: f32,
    slow: f32,
    n: u32,
}

/// A bounded table of decayed counts of what came next in one context.
#[derive(Debug, Clone, Default)]
struct Counts {
    slots: Vec<Slot>,
    /// Decayed number of visits, including candidates since evicted.
    total: f32,
    /// The same, decaying slowly.
    slow: f32,
    /// Plain number of visits.
    seen: u32,
}

impl Counts {
    fn add(&mut self, sym: Sym, decay: f32, slow: f32, cap: usize) {
        for s in &mut self.slots {
            s.w *= decay;
            s.slow *= slow;
        }
        self.total = self.total * decay + 1.0;
        self.slow = self.slow * slow + 1.0;
        self.seen += 1;
        let fresh = Slot {
            sym,
            w: 1.0,
            slow: 1.0,
            n: 1,
        };
        if let Some(s) = self.slots.iter_mut().find(|s| s.sym == sym) {
            s.w += 1.0;
            s.slow += 1.0;
            s.n += 1;
        } else if self.slots.len() < cap {
            self.slots.push(fresh);
        } else if let Some(weakest) = self
            .slots
            .iter_mut()
            .min_by(|a, b| (a.w + a.slow).total_cmp(&(b.w + b.slow)))
        {
            *weakest = fresh;
        }
    }

    fn slot(&self, sym: Sym) -> Option<&Slot> {
        self.slots.iter().find(|s| s.sym == sym)
    }
}

/// Where and when the next goal is asked for, in the model's terms.
#[derive(Debug, Clone, Copy)]
struct Moment {
    hour: Option<u32>,
    weekday: Option<Weekday>,
    project: Option<u64>,
}

/// The tables the experts read for one moment, and the mixer weight set they use.
struct View<'a> {
    tables: [Option<&'a Counts>; TABLES],
    set: usize,
    /// The ranker's weight set.
    rank_set: usize,
    /// The longest order seen, and how often.
    longest: usize,
    seen: u32,
}

/// The online next-goal model; see the module docs for how it works.
#[derive(Debug, Clone)]
pub struct Model<Tz: TimeZone = Utc> {
    tz: Tz,
    params: Params,
    names: Interner,
    /// Step at which each goal was last run.
    last_step: Vec<usize>,
    /// The last goals, newest first.
    back: [Sym; BACK],
    len: usize,
    tables: IdMap<Counts>,
    /// Distinct recent goals, newest first.
    mru: Vec<Sym>,
    /// Decayed hits of each recency rank; the last entry counts misses.
    rank_hits: [f32; MRU + 1],
    /// Decayed hits of each step back; the last entry counts misses.
    back_hits: [f32; BACK + 1],
    /// Mixture weights, one set per mixer context, each summing to 1.
    mixer: Vec<[f32; EXPERTS]>,
    /// Updates of each mixer weight set: a young set learns faster.
    mixer_seen: Vec<u32>,
    /// Every goal observed, in order (the match model reads it).
    history: Vec<Sym>,
    /// Hash of the last `k` goals (per length of [`MATCH_ORDERS`]) to where what followed
    /// them was stored last.
    match_at: IdMap<u32>,
    /// The position in `history` the match predicts, and how long the match is.
    match_ptr: Option<usize>,
    match_len: usize,
    /// Decayed hits and tries of the match prediction, per match length.
    match_hits: [(f32, f32); MAX_MATCH + 1],
    /// Reorders the mixture's best candidates.
    ranker: Ranker,
    /// How badly the last goal was ranked: first, in the top 5, below, or not at all.
    surprise: u8,
}

impl Default for Model<Utc> {
    fn default() -> Self {
        Self::new()
    }
}

impl Model<Utc> {
    /// A model that reads times in UTC.
    pub fn new() -> Self {
        Self::with_tz(Utc)
    }
}

impl<Tz: TimeZone> Model<Tz> {
    /// A model that reads hours and weekdays in `tz` (the daemon passes `chrono::Local`).
    pub fn with_tz(tz: Tz) -> Self {
        Self::with_params(tz, Params::default())
    }

    /// A model with other tuning knobs, for experiments.
    pub fn with_params(tz: Tz, params: Params) -> Self {
        let mut rank_hits = [0.0; MRU + 1];
        for (r, h) in rank_hits.iter_mut().enumerate() {
            // A prior that favours the most recent, so early predictions are sensible.
            *h = 0.5_f32.powi(r as i32 + 1);
        }
        let mut back_hits = [0.0; BACK + 1];
        for (k, h) in back_hits.iter_mut().enumerate() {
            *h = 0.5_f32.powi(k as i32 + 1);
        }
        Self {
            tz,
            params,
            names: Interner::default(),
            last_step: Vec::new(),
            back: [Sym::MAX; BACK],
            len: 0,
            tables: IdMap::default(),
            mru: Vec::with_capacity(MRU + 1),
            rank_hits,
            back_hits,
            mixer: vec![prior_weights(); ORDERS * BUCKETS * MATCH_BUCKETS],
            mixer_seen: vec![0; ORDERS * BUCKETS * MATCH_BUCKETS],
            history: Vec::new(),
            match_at: IdMap::default(),
            match_ptr: None,
            match_len: 0,
            match_hits: [(1.0, 2.0); MAX_MATCH + 1],
            ranker: Ranker::new(RANK_SETS),
            surprise: 3,
        }
    }

    /// How many interactions were observed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was observed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Learns from one interaction: the goal that followed everything observed so far.
    pub fn observe(&mut self, i: &Interaction) {
        let moment = self.moment(i.at, i.project.as_deref());
        let keys = self.keys(&moment);
        let sym = self.names.intern(&i.goal);
        if sym as usize == self.last_step.len() {
            self.last_step.push(0);
        }
        self.learn_ranker(&keys, sym);
        self.learn_mixer(&keys, sym);
        self.learn_stats(sym);
        self.learn_match(sym);
        let p = &self.params;
        for (e, key) in keys.iter().enumerate() {
            let Some(key) = key else { continue };
            let (decay, slow, cap) = match e {
                0 => (p.decay[0], p.slow_decay[0], p.cap0),
                e if e < ORDERS => (p.decay[e], p.slow_decay[1], p.cap),
                _ => (p.feature_decay, p.slow_decay[1], p.cap),
            };
            self.tables
                .entry(*key)
                .or_default()
                .add(sym, decay, slow, cap);
        }
        self.back.copy_within(0..BACK - 1, 1);
        self.back[0] = sym;
        if let Some(at) = self.mru.iter().position(|&s| s == sym) {
            self.mru.remove(at);
        }
        self.mru.insert(0, sym);
        self.mru.truncate(MRU);
        self.len += 1;
        self.last_step[sym as usize] = self.len;
    }

    /// What the match model predicts: the goal, and its probability from the match length.
    fn matched(&self) -> Option<(Sym, f32)> {
        let at = self.match_ptr?;
        let (hits, tries) = self.match_hits[self.match_len.min(MAX_MATCH)];
        Some((self.history[at], hits / tries))
    }

    /// Follows the match with `sym`, or looks for a new one; then records where the last
    /// goals (now ending with `sym`) occurred.
    fn learn_match(&mut self, sym: Sym) {
        let d = self.params.stat_decay;
        if let Some((predicted, _)) = self.matched() {
            let h = &mut self.match_hits[self.match_len.min(MAX_MATCH)];
            *h = (h.0 * d + f32::from(predicted == sym), h.1 * d + 1.0);
        }
        self.history.push(sym);
        let n = self.history.len();
        match self.match_ptr {
            Some(at) if self.history[at] == sym => {
                self.match_ptr = Some(at + 1);
                self.match_len = (self.match_len + 1).min(MAX_MATCH);
            }
            _ => {
                self.match_ptr = None;
                self.match_len = 0;
            }
        }
        let mut keys = [0u64; MATCH_ORDERS.len()];
        for (key, &k) in keys.iter_mut().zip(&MATCH_ORDERS) {
            if k > n {
                continue;
            }
            let mut h = mix(0x3a7c_0000 + k as u64);
            for &s in &self.history[n - k..] {
                h = mix(h ^ u64::from(s));
            }
            *key = h;
        }
        if self.match_ptr.is_none() {
            for (&key, &k) in keys.iter().zip(&MATCH_ORDERS) {
                if k > n {
                    continue;
                }
                if let Some(&at) = self.match_at.get(&key) {
                    let at = at as usize;
                    // Verify: hashes collide, and the match may be longer than `k`.
                    let len = (1..=MAX_MATCH.min(at))
                        .take_while(|&j| self.history[at - j] == self.history[n - j])
                        .count();
                    if len > 0 {
                        self.match_ptr = Some(at);
                        self.match_len = len;
                        break;
                    }
                }
            }
        }
        for (&key, &k) in keys.iter().zip(&MATCH_ORDERS) {
            if k <= n {
                self.match_at.insert(key, n as u32);
            }
        }
    }

    /// The `k` most likely next goals at `now` in `project`, best first, with evidence.
    pub fn predict(
        &self,
        now: Option<DateTime<Utc>>,
        project: Option<&str>,
        k: usize,
    ) -> Vec<Prediction> {
        let moment = self.moment(now, project);
        let keys = self.keys(&moment);
        let view = self.view(&keys);
        let weights = &self.mixer[view.set];
        self.rank(&view, k)
            .into_iter()
            .map(|(sym, score)| Prediction {
                goal: self.names.name(sym).to_owned(),
                score: f64::from(score).clamp(0.0, 1.0),
                evidence: self.evidence(&view, weights, &moment, project, sym),
            })
            .collect()
    }

    /// The `k` most likely next goals without evidence: the replay's hot path.
    pub(crate) fn top(
        &self,
        now: Option<DateTime<Utc>>,
        project: Option<&str>,
        k: usize,
    ) -> Vec<&str> {
        let moment = self.moment(now, project);
        let keys = self.keys(&moment);
        let view = self.view(&keys);
        self.rank(&view, k)
            .into_iter()
            .map(|(sym, _)| self.names.name(sym))
            .collect()
    }

    fn moment(&self, at: Option<DateTime<Utc>>, project: Option<&str>) -> Moment {
        let local = at.map(|t| self.tz.from_utc_datetime(&t.naive_utc()));
        Moment {
            hour: local.as_ref().map(Timelike::hour),
            weekday: local.as_ref().map(Datelike::weekday),
            project: project.map(fnv1a),
        }
    }

    /// The table key of every expert backed by a table, `None` where it has no context.
    fn keys(&self, m: &Moment) -> [Option<u64>; TABLES] {
        let mut keys = [None; TABLES];
        let mut key = mix(0x0c0d_e000);
        keys[0] = Some(key);
        for (o, slot) in keys.iter_mut().enumerate().take(ORDERS).skip(1) {
            if o > self.len {
                break;
            }
            key = mix(key ^ u64::from(self.back[o - 1]) ^ ((o as u64) << 40));
            *slot = Some(key);
        }
        keys[HOUR] = m.hour.map(|h| mix(0x1_0000 + u64::from(h)));
        keys[WEEKDAY] = m
            .weekday
            .map(|d| mix(0x2_0000 + u64::from(d.num_days_from_monday())));
        keys[PROJECT] = m.project.map(|p| mix(p ^ 0x3_0000));
        if self.len > 0 {
            let last = u64::from(self.back[0]);
            keys[PROJECT_AFTER] = m.project.map(|p| mix(mix(p ^ 0x4_0000) ^ last));
            keys[HOUR_AFTER] = m.hour.map(|h| mix(mix(0x5_0000 + u64::from(h)) ^ last));
        }
        let surprise = mix(0x7_0000 + u64::from(self.surprise));
        keys[SURPRISE] = Some(surprise);
        if self.len > 1 {
            keys[SURPRISE_SKIP] = Some(mix(surprise ^ (u64::from(self.back[1]) << 24)));
            let skip1 = mix(0x6_0000 ^ u64::from(self.back[1]));
            keys[SKIP1] = Some(skip1);
            if self.len > 2 {
                keys[SKIP2] = Some(mix(skip1 ^ (u64::from(self.back[2]) << 20)));
            }
        }
        keys
    }

    fn view(&self, keys: &[Option<u64>; TABLES]) -> View<'_> {
        let mut tables = [None; TABLES];
        for (t, key) in tables.iter_mut().zip(keys) {
            *t = key.and_then(|k| self.tables.get(&k));
        }
        let longest = (1..ORDERS)
            .rev()
            .find(|&o| tables[o].is_some())
            .unwrap_or(0);
        let seen = tables[longest].map_or(0, |c| c.seen);
        let bucket = match seen {
            0..=1 => 0,
            2..=3 => 1,
            4..=8 => 2,
            _ => 3,
        };
        View {
            tables,
            set: (longest * BUCKETS + bucket) * MATCH_BUCKETS + match_bucket(self.match_len),
            rank_set: longest.min(4) * MATCH_BUCKETS + match_bucket(self.match_len),
            longest,
            seen,
        }
    }

    /// Each expert's probability of `sym` in this view.
    fn expert_probs(&self, view: &View<'_>, sym: Sym) -> [f32; EXPERTS] {
        let mut p = [0.0; EXPERTS];
        for (e, table) in view.tables.iter().enumerate() {
            if let Some((c, s)) = table.and_then(|c| Some((c, c.slot(sym)?))) {
                p[e] = s.w / (c.total + self.params.escape);
                p[SLOW + e] = s.slow / (c.slow + self.params.escape);
            }
        }
        if let Some(r) = self.mru.iter().position(|&s| s == sym) {
            p[RECENCY] = self.rank_hits[r] / self.rank_hits.iter().sum::<f32>();
        }
        let back_total: f32 = self.back_hits.iter().sum();
        for (k, &s) in self.back.iter().enumerate() {
            if s == sym {
                p[REPEAT] += self.back_hits[k] / back_total;
            }
        }
        if let Some((s, q)) = self.matched()
            && s == sym
        {
            p[MATCH] = q;
        }
        p
    }

    fn learn_mixer(&mut self, keys: &[Option<u64>; TABLES], sym: Sym) {
        let view = self.view(keys);
        let p = self.expert_probs(&view, sym);
        let set = view.set;
        // Fast while a weight set has seen little (there are many), then the tuned rate.
        let seen = &mut self.mixer_seen[set];
        *seen = seen.saturating_add(1);
        let rate = self.params.rate.max((*seen as f32).powf(-0.5));
        update_weights(&mut self.mixer[set], &p, rate);
    }

    fn learn_stats(&mut self, sym: Sym) {
        let d = self.params.stat_decay;
        for h in &mut self.rank_hits {
            *h *= d;
        }
        let r = self.mru.iter().position(|&s| s == sym).unwrap_or(MRU);
        self.rank_hits[r] += 1.0;
        for h in &mut self.back_hits {
            *h *= d;
        }
        let mut hit = false;
        for k in 0..BACK.min(self.len) {
            if self.back[k] == sym {
                self.back_hits[k] += 1.0;
                hit = true;
            }
        }
        if !hit {
            self.back_hits[BACK] += 1.0;
        }
    }

    /// The best `k` goals and their probabilities: the mixture's best reordered by the ranker.
    fn rank(&self, view: &View<'_>, k: usize) -> Vec<(Sym, f32)> {
        let list = self.mixed(view, self.params.shortlist.max(k));
        let features = self.features(view, &list);
        let mut p = self.ranker.scores(view.rank_set, &features);
        Ranker::softmax(&mut p);
        let mut ranked: Vec<(Sym, f32)> = list.iter().map(|&(s, _)| s).zip(p).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        ranked
    }

    /// Trains the ranker on the goal run, if it was among the candidates.
    fn learn_ranker(&mut self, keys: &[Option<u64>; TABLES], sym: Sym) {
        let view = self.view(keys);
        let list = self.mixed(&view, self.params.shortlist);
        let Some(truth) = list.iter().position(|&(s, _)| s == sym) else {
            self.surprise = 3;
            return;
        };
        let features = self.features(&view, &list);
        let set = view.rank_set;
        let rate = self.params.rank_rate;
        let rank = self.ranker.learn(set, &features, truth, rate);
        self.surprise = match rank {
            0 => 0,
            1..=4 => 1,
            _ => 2,
        };
    }

    /// The ranker's features of each candidate of `list` (the mixture's best, best first).
    fn features(&self, view: &View<'_>, list: &[(Sym, f32)]) -> Vec<Features> {
        let mut tops = [Sym::MAX; ORDERS];
        for (o, top) in tops.iter_mut().enumerate() {
            if let Some(s) =
                view.tables[o].and_then(|c| c.slots.iter().max_by(|a, b| a.w.total_cmp(&b.w)))
            {
                *top = s.sym;
            }
        }
        let matched = self.matched().map(|(s, _)| s);
        let confidence = (1.0 + view.seen as f32).ln() / 4.0;
        list.iter()
            .enumerate()
            .map(|(i, &(sym, score))| {
                let mut f = [0.0; FEATURES];
                f[0] = score.max(1e-6).ln();
                if i < 5 {
                    f[1 + i] = 1.0;
                }
                let p = self.expert_probs(view, sym);
                f[6..6 + EXPERTS].copy_from_slice(&p);
                for o in 0..ORDERS {
                    f[6 + EXPERTS + o] = f32::from(tops[o] == sym);
                }
                let at = 6 + EXPERTS + ORDERS;
                if let Some(r) = self.mru.iter().take(5).position(|&s| s == sym) {
                    f[at + r] = 1.0;
                }
                f[at + 5] = f32::from(matched == Some(sym));
                f[at + 6] = f32::from(self.len > 1 && self.back[1] == sym);
                f[at + 7] = p[view.longest] * confidence;
                f
            })
            .collect()
    }

    /// The best `k` goals and their mixed probabilities.
    fn mixed(&self, view: &View<'_>, k: usize) -> Vec<(Sym, f32)> {
        let w = &self.mixer[view.set];
        let mut cand = Candidates::new();
        for (e, table) in view.tables.iter().enumerate() {
            if let Some(c) = table {
                let fast = w[e] / (c.total + self.params.escape);
                let slow = w[SLOW + e] / (c.slow + self.params.escape);
                for s in &c.slots {
                    cand.add(s.sym, fast * s.w + slow * s.slow);
                }
            }
        }
        let rank_total: f32 = self.rank_hits.iter().sum();
        for (r, &sym) in self.mru.iter().enumerate() {
            cand.add(sym, w[RECENCY] * self.rank_hits[r] / rank_total);
        }
        let back_total: f32 = self.back_hits.iter().sum();
        for (b, &sym) in self.back.iter().enumerate().take(self.len) {
            cand.add(sym, w[REPEAT] * self.back_hits[b] / back_total);
        }
        if let Some((sym, q)) = self.matched() {
            cand.add(sym, w[MATCH] * q);
        }
        cand.best(k)
    }

    fn evidence(
        &self,
        view: &View<'_>,
        weights: &[f32; EXPERTS],
        moment: &Moment,
        project: Option<&str>,
        sym: Sym,
    ) -> Evidence {
        let p = self.expert_probs(view, sym);
        let best = (0..EXPERTS)
            .max_by(|&a, &b| (weights[a] * p[a]).total_cmp(&(weights[b] * p[b])))
            .map_or(RECENCY, |e| if e >= SLOW { e - SLOW } else { e });
        let times = |e: usize| view.tables[e].and_then(|c| c.slot(sym)).map_or(0, |s| s.n);
        let ago = self.len + 1 - self.last_step.get(sym as usize).copied().unwrap_or(0);
        // What usually follows the last goal is the reason a person checks first: said when
        // it backs this goal most of the time, whichever expert weighed most.
        let seen1 = view.tables[1].map_or(0, |c| c.seen);
        let follows = times(1) >= 2 && 2 * times(1) >= seen1;
        let best = if follows && !(1..ORDERS).contains(&best) && best != MATCH {
            1
        } else {
            best
        };
        match best {
            0 => Evidence::Frequent {
                times: self.names.count(sym),
                of: self.len as u32,
            },
            o if o < ORDERS => Evidence::Follows {
                after: self.after(o),
                times: times(o),
                of: view.tables[o].map_or(0, |c| c.seen),
            },
            HOUR | HOUR_AFTER => Evidence::TimeOfDay {
                hour: moment.hour.unwrap_or(0),
                times: times(HOUR),
            },
            WEEKDAY => Evidence::OnWeekday {
                weekday: moment.weekday.map(|d| d.to_string()).unwrap_or_default(),
                times: times(WEEKDAY),
            },
            PROJECT | PROJECT_AFTER => Evidence::InProject {
                project: project.unwrap_or_default().to_owned(),
                times: times(PROJECT),
            },
            // A long match is told by the longest context whose counts back it.
            MATCH => match (1..ORDERS).rev().find(|&o| times(o) > 0) {
                Some(o) => Evidence::Follows {
                    after: self.after(o),
                    times: times(o),
                    of: view.tables[o].map_or(0, |c| c.seen),
                },
                None => Evidence::Recent { ago },
            },
            _ => Evidence::Recent { ago },
        }
    }

    /// The last `o` goals, oldest first, joined as a shell would run them.
    fn after(&self, o: usize) -> String {
        let names: Vec<&str> = self.back[..o]
            .iter()
            .rev()
            .map(|&s| self.names.name(s))
            .collect();
        names.join("; ")
    }
}

/// The mixer weights before any learning: the short contexts, recency and the match trusted
/// more than the rest, as a backoff would (measured on 300-goal tune histories), so a new
/// user's first predictions are not a flat average of 35 experts.
fn prior_weights() -> [f32; EXPERTS] {
    let mut w = [1.0; EXPERTS];
    w[1] = 8.0;
    w[2] = 4.0;
    w[3] = 2.0;
    w[RECENCY] = 2.0;
    w[MATCH] = 2.0;
    let sum: f32 = w.iter().sum();
    w.map(|x| x / sum)
}

/// One step of exponentiated gradient on the log-loss of the goal run, whose probability by
/// each expert is `p`.
fn update_weights(w: &mut [f32; EXPERTS], p: &[f32; EXPERTS], rate: f32) {
    let py: f32 = w.iter().zip(p).map(|(w, p)| w * p).sum();
    if py <= 0.0 {
        // A goal no expert had seen teaches nothing about whom to trust.
        return;
    }
    let mut sum = 0.0;
    for (w, p) in w.iter_mut().zip(p) {
        // Clipped: a goal the mixture all but missed must not swing every weight at once.
        *w *= (rate * (p / py).min(4.0)).exp();
        sum += *w;
    }
    for w in w.iter_mut() {
        // A floor keeps every expert able to win back trust when habits change.
        *w = (*w / sum).max(1e-4);
    }
}

/// A small open-addressing table of candidate goals and their mixed scores.
struct Candidates {
    keys: [Sym; Self::SIZE],
    scores: [f32; Self::SIZE],
    used: Vec<u16>,
}

impl Candidates {
    const SIZE: usize = 1024;

    fn new() -> Self {
        Self {
            keys: [Sym::MAX; Self::SIZE],
            scores: [0.0; Self::SIZE],
            used: Vec::with_capacity(256),
        }
    }

    fn add(&mut self, sym: Sym, score: f32) {
        if sym == Sym::MAX {
            return;
        }
        let mut i = (mix(u64::from(sym)) as usize) & (Self::SIZE - 1);
        loop {
            if self.keys[i] == sym {
                self.scores[i] += score;
                return;
            }
            if self.keys[i] == Sym::MAX {
                if self.used.len() >= Self::SIZE / 2 {
                    return;
                }
                self.keys[i] = sym;
                self.scores[i] = score;
                self.used.push(i as u16);
                return;
            }
            i = (i + 1) & (Self::SIZE - 1);
        }
    }

    fn best(&self, k: usize) -> Vec<(Sym, f32)> {
        let mut all: Vec<(Sym, f32)> = self
            .used
            .iter()
            .map(|&i| (self.keys[i as usize], self.scores[i as usize]))
            .collect();
        let k = k.min(all.len());
        if k == 0 {
            return Vec::new();
        }
        let by_score = |a: &(Sym, f32), b: &(Sym, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        all.select_nth_unstable_by(k - 1, by_score);
        all.truncate(k);
        all.sort_by(by_score);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, FixedOffset};

    fn plain(goals: &str) -> Vec<Interaction> {
        crate::parse_plain(&goals.replace(';', "\n"))
    }

    #[test]
    fn an_empty_model_predicts_nothing() {
        let m = Model::new();
        assert!(m.predict(None, None, 5).is_empty());
        assert!(m.is_empty());
    }

    #[test]
    fn what_follows_is_predicted_with_its_counts() {
        let mut m = Model::new();
        for _ in 0..6 {
            for i in plain("git pull;cargo test;vim src/lib.rs;ls") {
                m.observe(&i);
            }
        }
        m.observe(&Interaction::plain("git pull"));
        assert_eq!(m.len(), 25);
        let top = m.predict(None, None, 3);
        assert_eq!(top[0].goal, "cargo test");
        assert!(
            top[0].score > 0.5 && top[0].score <= 1.0,
            "{}",
            top[0].score
        );
        assert!(top.windows(2).all(|w| w[0].score >= w[1].score));
        let words = top[0].evidence.words(&top[0].goal);
        assert!(
            words.contains("you ran `cargo test` 6 of 6 times"),
            "{words}"
        );
    }

    #[test]
    fn what_follows_is_the_reason_given_when_it_holds_even_within_one_hour() {
        // Everything at the same hour of the day, so the hour expert is strong too.
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0);
        let mut m = Model::new();
        for _ in 0..4 {
            for goal in ["git pull", "cargo test"] {
                m.observe(&Interaction {
                    goal: goal.into(),
                    at,
                    project: None,
                });
            }
        }
        m.observe(&Interaction {
            goal: "git pull".into(),
            at,
            project: None,
        });
        let top = m.predict(at, None, 3);
        assert_eq!(top[0].goal, "cargo test");
        let words = top[0].evidence.words(&top[0].goal);
        assert!(
            words.starts_with("after `git pull` you ran `cargo test` 4 of"),
            "{words}"
        );
    }

    #[test]
    fn a_changed_habit_takes_over() {
        let mut m = Model::new();
        for _ in 0..30 {
            for i in plain("vim;cargo build") {
                m.observe(&i);
            }
        }
        for _ in 0..5 {
            for i in plain("vim;cargo check") {
                m.observe(&i);
            }
        }
        m.observe(&Interaction::plain("vim"));
        assert_eq!(m.predict(None, None, 1)[0].goal, "cargo check");
    }

    #[test]
    fn hours_are_read_in_the_model_time_zone() {
        // In UTC+2 the stand-up is at 09:00 local (07:00 UTC), the deploy at 16:00 local; each
        // follows `ls`, and days have one or the other at random, so only the hour tells.
        let tz = FixedOffset::east_opt(2 * 3600).unwrap();
        let mut m = Model::with_tz(tz);
        let mut rng = crate::generate::Rng::new(1);
        let day0 = Utc.with_ymd_and_hms(2024, 5, 6, 0, 0, 0).unwrap();
        for day in 0..30 {
            let (goal, hour) = if rng.chance(0.5) {
                ("standup", 7)
            } else {
                ("deploy", 14)
            };
            let at = Some(day0 + Duration::days(day) + Duration::hours(hour));
            m.observe(&Interaction {
                goal: "ls".into(),
                at,
                project: None,
            });
            m.observe(&Interaction {
                goal: goal.into(),
                at,
                project: None,
            });
        }
        let at = |hour| Some(day0 + Duration::days(30) + Duration::hours(hour));
        m.observe(&Interaction {
            goal: "ls".into(),
            at: at(7),
            project: None,
        });
        let morning = m.predict(at(7), None, 2);
        assert_eq!(morning[0].goal, "standup", "{morning:?}");
        let afternoon = m.predict(at(14), None, 2);
        assert_eq!(afternoon[0].goal, "deploy", "{afternoon:?}");
        let hour_words = Evidence::TimeOfDay { hour: 16, times: 1 }.words("deploy");
        if let Evidence::TimeOfDay { .. } = afternoon[0].evidence {
            assert_eq!(
                afternoon[0]
                    .evidence
                    .words("deploy")
                    .split(" around ")
                    .nth(1),
                hour_words.split(" around ").nth(1)
            );
        }
    }

    #[test]
    fn the_project_counts() {
        let mut m = Model::new();
        for _ in 0..10 {
            for (goal, project) in [("cargo test", "/rust"), ("npm test", "/web")] {
                let i = Interaction {
                    goal: goal.into(),
                    at: None,
                    project: Some(project.into()),
                };
                m.observe(&i);
                m.observe(&Interaction {
                    goal: "ls".into(),
                    ..i
                });
            }
        }
        m.observe(&Interaction {
            goal: "ls".into(),
            at: None,
            project: Some("/web".into()),
        });
        // `ls` twice breaks the alternation, so `ls` again is a fair guess too; the project
        // decides which test comes before the other.
        let order = |project| {
            let top: Vec<String> = m
                .predict(None, Some(project), 3)
                .into_iter()
                .map(|p| p.goal)
                .filter(|g| g != "ls")
                .collect();
            top
        };
        assert_eq!(order("/web"), ["npm test", "cargo test"]);
        assert_eq!(order("/rust"), ["cargo test", "npm test"]);
    }

    #[test]
    fn tables_stay_bounded() {
        let mut m = Model::new();
        for n in 0..5000 {
            m.observe(&Interaction::plain(format!("cmd {}", n % 700)));
        }
        let biggest = m.tables.values().map(|c| c.slots.len()).max().unwrap();
        assert!(biggest <= m.params.cap0.max(m.params.cap));
        assert_eq!(m.predict(None, None, 5).len(), 5);
    }
}
