//! Telemetry detectors: failure-rate spikes, runs much slower than usual, jobs held again and
//! again, storage growing past its bound. Pure: each takes observations and says when
//! something is worth an alert, with the evidence in words.
//!
//! - A failure spike is judged against the key's own usual rate, not a fixed share: the
//!   failures among the last [`WINDOW`] runs are improbable (binomial tail under
//!   [`SPIKE_P`]) for a rate of failure learned from the runs before them (at least
//!   [`BASELINE_MIN`] of them; never assumed under [`RATE_FLOOR`]).
//! - A slow run is judged by robust statistics of its command's recent durations: more than
//!   [`SLOW_Z`] scaled median absolute deviations above the median (the deviation floored at
//!   5% of the median and 50 ms, so a command that always takes the same time does not alert
//!   on jitter).

use std::collections::{HashMap, VecDeque};

/// Recent runs a failure rate is looked at over.
pub const WINDOW: usize = 10;
/// Runs before the window needed to know the usual rate.
pub const BASELINE_MIN: u32 = 10;
/// Failures in the window needed at least.
pub const SPIKE_MIN_FAILURES: usize = 3;
/// How improbable the window's failures must be under the usual rate.
pub const SPIKE_P: f64 = 0.01;
/// The usual rate is taken to be at least this (a command that never failed can still fail
/// now and then without it being a spike).
pub const RATE_FLOOR: f64 = 0.05;
/// Weight of each run leaving the window in the usual rate (about the last 50 runs).
const RATE_ALPHA: f64 = 0.02;
/// Durations kept per command.
pub const DURATIONS: usize = 50;
/// Durations needed before a run can be called slow.
pub const DURATIONS_MIN: usize = 10;
/// Scaled MADs above the median that make a run slow.
pub const SLOW_Z: f64 = 5.0;
/// Held occurrences in a row that make an alert.
pub const HELD_IN_A_ROW: u32 = 3;

/// P(X >= k) for X ~ Binomial(n, p).
pub fn binomial_tail(n: usize, k: usize, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    let p = p.clamp(0.0, 1.0);
    // Sum the pmf from k up, in logs: n is small (the window) but stay exact and finite.
    let ln_choose = |n: usize, k: usize| -> f64 {
        (0..k)
            .map(|i| ((n - i) as f64).ln() - ((i + 1) as f64).ln())
            .sum()
    };
    (k..=n)
        .map(|j| (ln_choose(n, j) + j as f64 * p.ln() + (n - j) as f64 * (1.0 - p).ln()).exp())
        .sum::<f64>()
        .min(1.0)
}

/// One key's failure rate: the recent window and the usual rate before it.
#[derive(Debug, Clone, Default)]
pub struct FailureRate {
    window: VecDeque<bool>,
    usual: f64,
    seen: u32,
    /// An alert was raised and the window has not calmed down since.
    fired: bool,
}

impl FailureRate {
    /// One more run; `Some(evidence)` when the window now holds a spike.
    pub fn observe(&mut self, failed: bool) -> Option<String> {
        self.window.push_back(failed);
        if self.window.len() > WINDOW
            && let Some(old) = self.window.pop_front()
        {
            let x = if old { 1.0 } else { 0.0 };
            self.usual = if self.seen == 0 {
                x
            } else {
                self.usual + RATE_ALPHA.max(1.0 / f64::from(self.seen + 1)) * (x - self.usual)
            };
            self.seen = self.seen.saturating_add(1);
        }
        let failures = self.window.iter().filter(|f| **f).count();
        if failures <= 1 {
            self.fired = false;
        }
        if self.fired || self.seen < BASELINE_MIN || failures < SPIKE_MIN_FAILURES {
            return None;
        }
        let rate = self.usual.max(RATE_FLOOR);
        let p = binomial_tail(self.window.len(), failures, rate);
        if p >= SPIKE_P {
            return None;
        }
        self.fired = true;
        Some(format!(
            "{failures} of the last {} runs failed; usually {:.0}% do (chance of this many \
             at the usual rate: {})",
            self.window.len(),
            self.usual * 100.0,
            chance(p)
        ))
    }
}

fn chance(p: f64) -> String {
    if p < 0.0001 {
        "under 0.01%".to_string()
    } else {
        format!("{:.2}%", p * 100.0)
    }
}

/// Failure rates per key ("all runs", "job 3").
#[derive(Debug, Clone, Default)]
pub struct FailureRates {
    keys: HashMap<String, FailureRate>,
}

impl FailureRates {
    /// One more run under `key`.
    pub fn observe(&mut self, key: &str, failed: bool) -> Option<String> {
        if !self.keys.contains_key(key) {
            self.keys.insert(key.to_string(), FailureRate::default());
        }
        self.keys.get_mut(key)?.observe(failed)
    }

    /// Forget a key (a job removed).
    pub fn forget(&mut self, key: &str) {
        self.keys.remove(key);
    }
}

/// Median of a sorted slice.
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Recent durations per command.
#[derive(Debug, Clone, Default)]
pub struct Durations {
    by: HashMap<String, VecDeque<u64>>,
}

/// Most commands tracked; past it the least recently seen are dropped.
const MAX_COMMANDS: usize = 2000;

impl Durations {
    /// One more run of `command` that took `ms`; `Some(evidence)` when it was much slower than
    /// its usual duration. A slow run still joins the history (a command that became slower
    /// for good stops alerting once it is its new usual).
    pub fn observe(&mut self, command: &str, ms: u64) -> Option<String> {
        if !self.by.contains_key(command) && self.by.len() >= MAX_COMMANDS {
            self.by.clear();
        }
        let list = self.by.entry(command.to_string()).or_default();
        let verdict = slow(list.make_contiguous(), ms);
        list.push_back(ms);
        while list.len() > DURATIONS {
            list.pop_front();
        }
        verdict
    }
}

/// Whether `ms` is far above the usual of `history`, with the evidence.
pub fn slow(history: &[u64], ms: u64) -> Option<String> {
    if history.len() < DURATIONS_MIN {
        return None;
    }
    let mut sorted: Vec<f64> = history.iter().map(|&d| d as f64).collect();
    sorted.sort_by(f64::total_cmp);
    let med = median(&sorted);
    let mut dev: Vec<f64> = sorted.iter().map(|d| (d - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
    // 1.4826 makes the MAD estimate a normal distribution's standard deviation.
    let scale = (1.4826 * median(&dev)).max(0.05 * med).max(50.0);
    let z = (ms as f64 - med) / scale;
    (z > SLOW_Z).then(|| {
        format!(
            "took {}, its usual is {} (median of the last {}; {:.0} deviations above)",
            words_ms(ms as f64),
            words_ms(med),
            history.len(),
            z
        )
    })
}

fn words_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 120_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{:.1} min", ms / 60_000.0)
    }
}

/// Total bytes of the files under `dir` (symbolic links not followed).
pub fn size_of(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size_of(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// Bytes in words.
pub fn words_bytes(b: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let b = b as f64;
    if b >= 1024.0 * MIB {
        format!("{:.1} GiB", b / (1024.0 * MIB))
    } else if b >= MIB {
        format!("{:.1} MiB", b / MIB)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binomial_tail_matches_hand_computed_values() {
        assert!((binomial_tail(10, 3, 0.05) - 0.011_504_2).abs() < 1e-6);
        assert!((binomial_tail(5, 3, 0.05) - 0.001_158_1).abs() < 1e-6);
        assert_eq!(binomial_tail(5, 0, 0.3), 1.0);
        assert_eq!(binomial_tail(5, 6, 0.3), 0.0);
        assert!((binomial_tail(4, 1, 0.5) - 0.9375).abs() < 1e-12);
    }

    #[test]
    fn failures_after_a_steady_record_are_a_spike_and_said_once() {
        let mut r = FailureRate::default();
        for _ in 0..20 {
            assert_eq!(r.observe(false), None);
        }
        assert_eq!(r.observe(true), None);
        assert_eq!(r.observe(true), None);
        assert_eq!(
            r.observe(true),
            None,
            "3 of 10 at a 5% floor: 1.2%, not yet"
        );
        let ev = r.observe(true).unwrap();
        assert!(ev.starts_with("4 of the last 10 runs failed"), "{ev}");
        // Once raised, the same spike is not raised again...
        assert_eq!(r.observe(true), None);
        // ...until the window calms down and the usual rate is low again.
        for _ in 0..100 {
            assert_eq!(r.observe(false), None);
        }
        let again: Vec<_> = (0..4).map(|_| r.observe(true)).collect();
        assert!(again[3].is_some(), "{again:?}");
    }

    #[test]
    fn a_command_that_often_fails_is_not_a_spike_when_it_fails_as_usual() {
        let mut r = FailureRate::default();
        let mut raised = 0;
        for i in 0..200 {
            // Fails 4 times in every 10, steadily.
            raised += usize::from(r.observe(i % 10 < 4).is_some());
        }
        assert_eq!(raised, 0);
    }

    #[test]
    fn nothing_is_judged_without_a_usual_rate() {
        let mut r = FailureRate::default();
        for _ in 0..10 {
            assert_eq!(r.observe(true), None);
        }
    }

    #[test]
    fn a_run_is_slow_by_robust_statistics_not_by_a_factor() {
        let steady: Vec<u64> = (0..20).map(|i| 1000 + (i % 5) * 20).collect();
        assert_eq!(slow(&steady, 1100), None);
        assert!(slow(&steady, 5000).is_some());
        // A command whose durations vary a lot needs a much larger outlier.
        let varied: Vec<u64> = (0..20).map(|i| 1000 + (i % 5) * 800).collect();
        assert_eq!(slow(&varied, 5000), None);
        assert!(slow(&varied, 20_000).is_some());
        // One outlier in the history does not move the median.
        let mut with_outlier = steady.clone();
        with_outlier[3] = 1_000_000;
        assert!(slow(&with_outlier, 5000).is_some());
        // Too little history: nothing.
        assert_eq!(slow(&steady[..5], 100_000), None);
        // Quick commands do not alert on jitter.
        let quick = vec![2; 20];
        assert_eq!(slow(&quick, 40), None);
    }

    #[test]
    fn slow_runs_join_the_history() {
        let mut d = Durations::default();
        for _ in 0..20 {
            assert_eq!(d.observe("cargo test", 1000), None);
        }
        assert!(d.observe("cargo test", 10_000).is_some());
        for _ in 0..40 {
            d.observe("cargo test", 10_000);
        }
        assert_eq!(d.observe("cargo test", 10_500), None);
    }
}
