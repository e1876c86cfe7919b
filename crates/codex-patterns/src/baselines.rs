//! Four simple predictors the model must beat, and the trait they share with it.
//!
//! Each is online (it learns one interaction at a time) and answers the same question: the
//! `k` goals most likely next. They ignore time and project. Rankings are kept incrementally
//! (only the goal just observed can move), so each step costs about the same however long the
//! history; rankings keep at most [`TOP`] goals, so `k` beyond that gets no more.

use chrono::{DateTime, Utc};

use crate::intern::{IdMap, Interner, Sym, SymMap, mix};
use crate::{Interaction, Model};

/// The longest ranking a baseline keeps.
pub const TOP: usize = 16;

/// An online next-goal predictor.
pub trait Predictor {
    /// A short name, as reports use it.
    fn name(&self) -> &'static str;
    /// Learns that `i` came next.
    fn observe(&mut self, i: &Interaction);
    /// The `k` goals most likely next at `now` in `project`, best first.
    fn top(&self, now: Option<DateTime<Utc>>, project: Option<&str>, k: usize) -> Vec<&str>;
}

impl<Tz: chrono::TimeZone> Predictor for Model<Tz> {
    fn name(&self) -> &'static str {
        "model"
    }
    fn observe(&mut self, i: &Interaction) {
        Model::observe(self, i);
    }
    fn top(&self, now: Option<DateTime<Utc>>, project: Option<&str>, k: usize) -> Vec<&str> {
        Model::top(self, now, project, k)
    }
}

/// A ranking of at most [`TOP`] goals by a score that only ever grows, one goal at a time.
#[derive(Debug, Clone, Default)]
struct Ranking {
    items: Vec<Sym>,
}

impl Ranking {
    /// `sym`'s score just grew to `score`; `score_of` gives the others'. Ties keep the goal
    /// that reached the score first ahead.
    fn bump(&mut self, sym: Sym, score: f64, score_of: impl Fn(Sym) -> f64) {
        let at = match self.items.iter().position(|&s| s == sym) {
            Some(at) => at,
            None if self.items.len() < TOP => {
                self.items.push(sym);
                self.items.len() - 1
            }
            None => {
                let last = self.items.len() - 1;
                if score_of(self.items[last]) >= score {
                    return;
                }
                self.items[last] = sym;
                last
            }
        };
        let mut i = at;
        while i > 0 && score_of(self.items[i - 1]) < score {
            self.items.swap(i, i - 1);
            i -= 1;
        }
    }
}

/// The last distinct goals, newest first.
#[derive(Debug, Clone, Default)]
pub struct MostRecent {
    names: Interner,
    mru: Vec<Sym>,
}

impl Predictor for MostRecent {
    fn name(&self) -> &'static str {
        "most_recent"
    }
    fn observe(&mut self, i: &Interaction) {
        let sym = self.names.intern(&i.goal);
        if let Some(at) = self.mru.iter().position(|&s| s == sym) {
            self.mru.remove(at);
        }
        self.mru.insert(0, sym);
        self.mru.truncate(TOP);
    }
    fn top(&self, _: Option<DateTime<Utc>>, _: Option<&str>, k: usize) -> Vec<&str> {
        self.mru
            .iter()
            .take(k)
            .map(|&s| self.names.name(s))
            .collect()
    }
}

/// The goals run most often; ties go to the one that got there first.
#[derive(Debug, Clone, Default)]
pub struct MostFrequent {
    names: Interner,
    ranking: Ranking,
}

impl MostFrequent {
    fn learn(&mut self, goal: &str) -> Sym {
        let sym = self.names.intern(goal);
        let names = &self.names;
        self.ranking.bump(sym, f64::from(names.count(sym)), |s| {
            f64::from(names.count(s))
        });
        sym
    }
}

impl Predictor for MostFrequent {
    fn name(&self) -> &'static str {
        "most_frequent"
    }
    fn observe(&mut self, i: &Interaction) {
        self.learn(&i.goal);
    }
    fn top(&self, _: Option<DateTime<Utc>>, _: Option<&str>, k: usize) -> Vec<&str> {
        self.ranking
            .items
            .iter()
            .take(k)
            .map(|&s| self.names.name(s))
            .collect()
    }
}

/// What most often followed the last goal, then the most frequent goals.
#[derive(Debug, Clone, Default)]
pub struct Bigram {
    frequent: MostFrequent,
    pairs: IdMap<u32>,
    next: SymMap<Ranking>,
    last: Option<Sym>,
}

impl Predictor for Bigram {
    fn name(&self) -> &'static str {
        "bigram"
    }
    fn observe(&mut self, i: &Interaction) {
        let sym = self.frequent.learn(&i.goal);
        if let Some(prev) = self.last {
            let pair = |next: Sym| mix((u64::from(prev) << 32) | u64::from(next));
            let n = self.pairs.entry(pair(sym)).or_default();
            *n += 1;
            let n = f64::from(*n);
            let pairs = &self.pairs;
            let count = |s: Sym| f64::from(pairs.get(&pair(s)).copied().unwrap_or(0));
            self.next.entry(prev).or_default().bump(sym, n, count);
        }
        self.last = Some(sym);
    }
    fn top(&self, _: Option<DateTime<Utc>>, _: Option<&str>, k: usize) -> Vec<&str> {
        let after = self
            .last
            .and_then(|l| self.next.get(&l))
            .map_or(&[][..], |r| &r.items);
        let mut out: Vec<Sym> = Vec::with_capacity(k);
        for &s in after.iter().chain(&self.frequent.ranking.items) {
            if out.len() == k {
                break;
            }
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out.into_iter()
            .map(|s| self.frequent.names.name(s))
            .collect()
    }
}

/// A goal's decayed weight in one context of [`Backoff3`], as of step `at`.
#[derive(Debug, Clone, Copy)]
struct Decayed {
    sym: Sym,
    w: f64,
    at: u64,
}

/// An order-3 backoff model with exponential recency decay: what followed the last three
/// goals, then the last two, the last one, and finally the decayed frequency overall; each
/// order fills the slots the longer ones left. [`Backoff3::with_order`] makes other orders
/// (order 5 is a reference in the replay example).
#[derive(Debug, Clone)]
pub struct Backoff3 {
    order: usize,
    names: Interner,
    /// ln of the per-step decay factor.
    ln_decay: f64,
    contexts: IdMap<Vec<Decayed>>,
    /// Per goal, ln of its weight scaled to step 0, so that weights compare without decaying.
    log_weight: Vec<f64>,
    overall: Ranking,
    back: [Sym; Self::MAX_ORDER],
    step: u64,
}

impl Default for Backoff3 {
    fn default() -> Self {
        Self::new(Self::HALF_LIFE)
    }
}

impl Backoff3 {
    /// The default half-life of a count, in steps.
    pub const HALF_LIFE: f64 = 200.0;

    /// The longest order [`Backoff3::with_order`] takes.
    pub const MAX_ORDER: usize = 8;

    /// A model whose counts halve every `half_life` steps.
    pub fn new(half_life: f64) -> Self {
        Self::with_order(3, half_life)
    }

    /// A backoff of another order (1..=[`Self::MAX_ORDER`]), counts halving every `half_life`.
    pub fn with_order(order: usize, half_life: f64) -> Self {
        Self {
            order: order.clamp(1, Self::MAX_ORDER),
            names: Interner::default(),
            ln_decay: -std::f64::consts::LN_2 / half_life.max(1.0),
            contexts: IdMap::default(),
            log_weight: Vec::new(),
            overall: Ranking::default(),
            back: [Sym::MAX; Self::MAX_ORDER],
            step: 0,
        }
    }

    fn key(&self, order: usize) -> Option<u64> {
        let mut key = 0x000b_0ff3_u64;
        for &s in &self.back[..order] {
            if s == Sym::MAX {
                return None;
            }
            key = mix(key ^ u64::from(s));
        }
        Some(mix(key ^ order as u64))
    }
}

impl Predictor for Backoff3 {
    fn name(&self) -> &'static str {
        match self.order {
            3 => "backoff3",
            5 => "backoff5",
            _ => "backoff",
        }
    }
    fn observe(&mut self, i: &Interaction) {
        let sym = self.names.intern(&i.goal);
        let now = self.step;
        for order in 1..=self.order {
            let Some(key) = self.key(order) else { break };
            let ln_decay = self.ln_decay;
            let slots = self.contexts.entry(key).or_default();
            let weight = |d: &Decayed| d.w * (ln_decay * (now - d.at) as f64).exp();
            if let Some(d) = slots.iter_mut().find(|d| d.sym == sym) {
                *d = Decayed {
                    sym,
                    w: weight(d) + 1.0,
                    at: now,
                };
            } else if slots.len() < TOP {
                slots.push(Decayed {
                    sym,
                    w: 1.0,
                    at: now,
                });
            } else if let Some(weakest) = slots
                .iter_mut()
                .min_by(|a, b| weight(a).total_cmp(&weight(b)))
            {
                *weakest = Decayed {
                    sym,
                    w: 1.0,
                    at: now,
                };
            }
        }
        if sym as usize == self.log_weight.len() {
            self.log_weight.push(f64::NEG_INFINITY);
        }
        let lw = &mut self.log_weight[sym as usize];
        let add = -self.ln_decay * now as f64;
        let (hi, lo) = if *lw > add { (*lw, add) } else { (add, *lw) };
        *lw = hi + (lo - hi).exp().ln_1p();
        let score = *lw;
        let log_weight = &self.log_weight;
        self.overall.bump(sym, score, |s| log_weight[s as usize]);
        self.back.copy_within(0..Self::MAX_ORDER - 1, 1);
        self.back[0] = sym;
        self.step += 1;
    }
    fn top(&self, _: Option<DateTime<Utc>>, _: Option<&str>, k: usize) -> Vec<&str> {
        let mut out: Vec<Sym> = Vec::with_capacity(k);
        let now = self.step;
        for order in (1..=self.order).rev() {
            let Some(slots) = self.key(order).and_then(|key| self.contexts.get(&key)) else {
                continue;
            };
            let mut ranked: Vec<(f64, u64, Sym)> = slots
                .iter()
                .map(|d| {
                    (
                        d.w * (self.ln_decay * (now - d.at) as f64).exp(),
                        d.at,
                        d.sym,
                    )
                })
                .collect();
            // Heavier first; between equals, the more recent.
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            for (_, _, s) in ranked {
                if out.len() < k && !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        for &s in &self.overall.items {
            if out.len() < k && !out.contains(&s) {
                out.push(s);
            }
        }
        out.into_iter().map(|s| self.names.name(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::eval::{Scores, replay};
    use crate::parse_plain;

    fn close(a: Scores, top1: f64, top5: f64, mrr: f64) {
        let ok = (a.top1 - top1).abs() < 1e-9 && (a.top5 - top5).abs() < 1e-9;
        assert!(
            ok && (a.mrr - mrr).abs() < 1e-9,
            "{a:?} != {top1} {top5} {mrr}"
        );
    }

    #[test]
    fn baselines_score_a_tiny_history_as_computed_by_hand() {
        // a b a b c a b: the top-5 lists before each entry, worked out by hand.
        let r = replay(&parse_plain("a\nb\na\nb\nc\na\nb"), None);
        assert_eq!(r.entries, 7);
        // most recent: [] [a] [b,a] [a,b] [b,a] [c,b,a] [a,c,b]: hits at ranks 2,2,3,3
        // (entries 3,4,6,7); entry 5 (c) is new. mrr = (1/2+1/2+1/3+1/3)/7 = 5/21.
        close(r.baselines.most_recent, 0.0, 4.0 / 7.0, 5.0 / 21.0);
        // most frequent (ties: first to the count): [] [a] [a,b] [a,b] [a,b] [a,b,c]
        // [a,b,c]: a at rank 1 (entries 3, 6), b at rank 2 (entries 4, 7).
        close(r.baselines.most_frequent, 2.0 / 7.0, 4.0 / 7.0, 3.0 / 7.0);
        // bigram: before 3, b has no follower so frequency gives [a,b]: hit; before 4, a→b:
        // hit; before 5, b→a: miss (c); before 6, c has no follower, [a,b,c]: hit; before 7,
        // a→b (twice): hit. Four first-rank hits.
        close(r.baselines.bigram, 4.0 / 7.0, 4.0 / 7.0, 4.0 / 7.0);
        // backoff3: before 3, no context has a follower; decayed frequency puts the more
        // recent b ahead of a: rank 2. Before 4, (a)→b: rank 1. Before 5, (a,b)→a: miss.
        // Before 6, (c) is new; decayed frequency b > a > c: rank 2. Before 7, (a)→b: rank 1.
        close(r.baselines.backoff3, 2.0 / 7.0, 4.0 / 7.0, 3.0 / 7.0);
    }
}
