//! Interval adaptation for `--every` jobs: a job that keeps failing runs less often, and is
//! paused (and the user told) when it fails again at the longest interval; one that works
//! again comes back toward the interval the user chose, never below it.
//!
//! Why doubling from the second failure: one failure is often the world (a network blip, a
//! lock held), two in a row is the job; doubling reaches any bound in a logarithmic number of
//! occurrences, so a broken job costs little, and halving back after two successes in a row
//! mirrors it without flapping on one lucky run.

use codex_proto::schedule::OccurrenceResult;

use super::state::Streak;
use crate::scheduler::timing::interval_words;

/// Bad occurrences in a row before the interval stretches.
pub const BACK_OFF_AFTER: u32 = 2;
/// Good occurrences in a row before a stretched interval shrinks.
pub const RECOVER_AFTER: u32 = 2;
/// A rating at or under this makes the occurrence a bad one.
pub const LOW_RATING: u8 = 2;

/// The bounds the config gives (`scheduler.min_interval_secs`, `max_interval_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Shortest interval the optimizer stretches to.
    pub min: u64,
    /// Longest.
    pub max: u64,
}

/// What an occurrence says about the job: bad, good, or nothing (held, skipped, cut short).
pub fn verdict(result: OccurrenceResult) -> Option<bool> {
    match result {
        OccurrenceResult::Succeeded => Some(true),
        OccurrenceResult::Failed | OccurrenceResult::Refused => Some(false),
        OccurrenceResult::Running
        | OccurrenceResult::Held
        | OccurrenceResult::Interrupted
        | OccurrenceResult::Skipped => None,
    }
}

/// The streak after one more occurrence that was `good` or not.
pub fn next_streak(s: Streak, good: bool) -> Streak {
    if good {
        Streak {
            bad: 0,
            good: s.good.saturating_add(1),
            ..s
        }
    } else {
        Streak {
            bad: s.bad.saturating_add(1),
            good: 0,
            ..s
        }
    }
}

/// A change to make: the interval to run at, and whether to pause, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The new interval in seconds.
    pub to_secs: u64,
    /// Pause the job.
    pub pause: bool,
    /// Why, with the evidence.
    pub reason: String,
}

/// What to do after an occurrence: `chosen` is the user's interval, `now` the one it runs at,
/// `streak` the streak including this occurrence, `why_bad` what made the last one bad
/// ("failures", "low ratings").
pub fn decide(
    chosen: u64,
    now: u64,
    streak: Streak,
    bounds: Bounds,
    why_bad: &str,
) -> Option<Change> {
    let chosen = chosen.max(1);
    // The longest it may be stretched to: the config's, or the user's own if longer.
    let cap = bounds.max.max(chosen);
    if streak.bad >= BACK_OFF_AFTER {
        let doublings = streak.bad - (BACK_OFF_AFTER - 1);
        let stretched = chosen
            .saturating_mul(1u64.checked_shl(doublings).unwrap_or(u64::MAX))
            .max(bounds.min.min(cap));
        let to = stretched.min(cap);
        let in_a_row = format!("{} {why_bad} in a row", streak.bad);
        if to > now {
            return Some(Change {
                to_secs: to,
                pause: false,
                reason: in_a_row,
            });
        }
        if now >= cap {
            return Some(Change {
                to_secs: now,
                pause: true,
                reason: format!(
                    "{in_a_row}, at its longest interval ({}): paused until you resume it",
                    interval_words(now)
                ),
            });
        }
        return None;
    }
    if streak.good >= RECOVER_AFTER && streak.good.is_multiple_of(RECOVER_AFTER) && now > chosen {
        let half = now / 2;
        // Below the configured minimum only the user's own interval is allowed.
        let to = if half < bounds.min {
            chosen
        } else {
            half.max(chosen)
        };
        return Some(Change {
            to_secs: to,
            pause: false,
            reason: format!("{} successes in a row", streak.good),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Bounds = Bounds {
        min: 300,
        max: 86_400,
    };

    fn bad(n: u32) -> Streak {
        Streak {
            bad: n,
            ..Streak::default()
        }
    }

    fn good(n: u32) -> Streak {
        Streak {
            good: n,
            ..Streak::default()
        }
    }

    #[test]
    fn one_failure_changes_nothing_then_each_one_doubles_the_interval() {
        assert_eq!(decide(600, 600, bad(1), B, "failures"), None);
        let c = decide(600, 600, bad(2), B, "failures").unwrap();
        assert_eq!((c.to_secs, c.pause), (1200, false));
        let c = decide(600, 1200, bad(3), B, "failures").unwrap();
        assert_eq!(c.to_secs, 2400);
        assert_eq!(c.reason, "3 failures in a row");
    }

    #[test]
    fn the_stretch_is_at_least_the_minimum_and_at_most_the_maximum_then_pauses() {
        let c = decide(10, 10, bad(2), B, "failures").unwrap();
        assert_eq!(c.to_secs, 300, "stretched at least to the minimum");
        let c = decide(600, 76_800, bad(9), B, "failures").unwrap();
        assert_eq!((c.to_secs, c.pause), (86_400, false));
        let c = decide(600, 86_400, bad(10), B, "failures").unwrap();
        assert!(c.pause, "{c:?}");
        assert!(c.reason.contains("longest interval (1d)"), "{}", c.reason);
        // A job whose own interval is past the maximum is paused, never shortened.
        let c = decide(200_000, 200_000, bad(2), B, "failures").unwrap();
        assert_eq!((c.to_secs, c.pause), (200_000, true));
    }

    #[test]
    fn successes_halve_it_back_never_below_what_the_user_chose() {
        assert_eq!(decide(600, 2400, good(1), B, "failures"), None);
        let c = decide(600, 2400, good(2), B, "failures").unwrap();
        assert_eq!(c.to_secs, 1200);
        assert_eq!(decide(600, 1200, good(3), B, "failures"), None);
        let c = decide(600, 900, good(4), B, "failures").unwrap();
        assert_eq!(c.to_secs, 600);
        // Under the minimum, straight back to the user's own interval.
        let c = decide(10, 300, good(2), B, "failures").unwrap();
        assert_eq!(c.to_secs, 10);
        assert_eq!(decide(600, 600, good(8), B, "failures"), None);
    }

    #[test]
    fn huge_streaks_and_intervals_do_not_overflow() {
        let c = decide(u64::MAX / 2, u64::MAX / 2, bad(u32::MAX), B, "failures").unwrap();
        assert!(c.pause);
        let c = decide(1, 1, bad(200), B, "failures").unwrap();
        assert_eq!(c.to_secs, 86_400);
    }

    #[test]
    fn only_real_outcomes_count() {
        assert_eq!(verdict(OccurrenceResult::Failed), Some(false));
        assert_eq!(verdict(OccurrenceResult::Succeeded), Some(true));
        assert_eq!(verdict(OccurrenceResult::Held), None);
        assert_eq!(verdict(OccurrenceResult::Skipped), None);
        assert_eq!(next_streak(bad(3), true), good(1));
    }
}
