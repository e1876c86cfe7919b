//! When a job's occurrences fall: cron expressions in the user's local time zone (croner, the
//! parser tokio-cron-scheduler uses, with the same settings) and fixed intervals counted from
//! when the job was added.
//!
//! Daylight saving (croner's rules, pinned by a test): a time inside the hour skipped in spring
//! runs once at the first valid time after the gap that day (02:30 → 03:00); a time inside the
//! hour repeated in autumn runs once, in its first copy (before the clocks go back), stepped
//! fields too. Intervals (`--every`) are real elapsed time and ignore the clock change.

use chrono::{DateTime, Local, SubsecRound as _, TimeZone, Utc};
use codex_proto::schedule::When;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// Occurrences listed by `schedule show`.
pub const SHOWN_NEXT: usize = 5;

/// The longest interval a job may have: ten years (past it, times overflow long before a
/// job would run).
pub const MAX_INTERVAL_SECS: u64 = 10 * 365 * 86_400;

/// The longest cron expression taken.
const MAX_CRON_LEN: usize = 200;

/// Why a schedule cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimingError {
    /// The cron expression does not parse.
    #[error(
        "invalid cron expression `{expr}`: {why}; expected 5 fields (minute hour day-of-month \
         month day-of-week, e.g. \"0 9 * * 1-5\"), 6 with seconds first, or 7 with a year last"
    )]
    Cron {
        /// As given.
        expr: String,
        /// The parser's reason.
        why: String,
    },
    /// It parses but never comes (`0 0 30 2 *`).
    #[error("the cron expression `{0}` never occurs")]
    Never(String),
    /// An interval of zero.
    #[error("an interval must be at least 1 second")]
    Zero,
    /// An interval past [`MAX_INTERVAL_SECS`].
    #[error("an interval of {0} seconds is too long: at most 10 years ({MAX_INTERVAL_SECS} s)")]
    TooLong(u64),
}

/// Parse a cron expression: 5 fields get a seconds field of 0 in front, 6 and 7 (with a
/// year) are taken as they are. Day-of-month and day-of-week, when both are set, must both
/// match (tokio-cron-scheduler's reading).
pub fn cron(expr: &str) -> Result<Cron, TimingError> {
    if expr.len() > MAX_CRON_LEN {
        return Err(TimingError::Cron {
            expr: format!("{}…", expr.chars().take(40).collect::<String>()),
            why: format!("it is longer than {MAX_CRON_LEN} characters"),
        });
    }
    let fields = expr.split_whitespace().count();
    let full = match fields {
        5 => format!(
            "0 {}",
            expr.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        6 | 7 => expr.split_whitespace().collect::<Vec<_>>().join(" "),
        n => {
            return Err(TimingError::Cron {
                expr: expr.to_string(),
                why: format!("it has {n} fields"),
            });
        }
    };
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(&full)
        .map_err(|e| TimingError::Cron {
            expr: expr.to_string(),
            why: e.to_string(),
        })
}

/// Check a schedule before a job is added: it parses and occurs.
pub fn validate(when: &When, now: DateTime<Utc>) -> Result<(), TimingError> {
    match when {
        When::EverySecs(0) => Err(TimingError::Zero),
        When::EverySecs(s) if *s > MAX_INTERVAL_SECS => Err(TimingError::TooLong(*s)),
        When::EverySecs(_) => Ok(()),
        When::Cron(expr) => {
            let c = cron(expr)?;
            next_cron(&c, now, &Local)
                .map(|_| ())
                .ok_or_else(|| TimingError::Never(expr.clone()))
        }
    }
}

// Occurrences fall on whole seconds: croner keeps the fraction of the time it searches from,
// and an occurrence is claimed by its exact time, so the same slot asked for at two moments
// must come out the same.
fn next_cron<Tz: TimeZone>(c: &Cron, after: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
    c.find_next_occurrence(&after.trunc_subsecs(0).with_timezone(tz), false)
        .ok()
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
}

fn prev_cron<Tz: TimeZone>(c: &Cron, at: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
    c.find_previous_occurrence(&at.trunc_subsecs(0).with_timezone(tz), true)
        .ok()
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
}

/// A job's schedule, ready to answer when.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Cron, in local time.
    Cron(Box<Cron>),
    /// Every `secs`, from `anchor`.
    Every {
        /// Seconds between occurrences.
        secs: u64,
        /// The first occurrence is one interval after this.
        anchor: DateTime<Utc>,
    },
}

impl Schedule {
    /// The schedule of `when`, anchored (for intervals) at `anchor`.
    pub fn new(when: &When, anchor: DateTime<Utc>) -> Result<Schedule, TimingError> {
        match when {
            When::EverySecs(0) => Err(TimingError::Zero),
            When::EverySecs(s) if *s > MAX_INTERVAL_SECS => Err(TimingError::TooLong(*s)),
            When::EverySecs(secs) => Ok(Schedule::Every {
                secs: *secs,
                // Whole seconds, as the timer fires (stores written before this rule too).
                anchor: anchor.trunc_subsecs(0),
            }),
            When::Cron(expr) => Ok(Schedule::Cron(Box::new(cron(expr)?))),
        }
    }

    /// The first occurrence strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_after_in(t, &Local)
    }

    /// The latest occurrence at or before `t`, not before `since`.
    pub fn latest_at_or_before(
        &self,
        t: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.latest_in(t, since, &Local)
    }

    /// The next `n` occurrences after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = t;
        while out.len() < n {
            match self.next_after(at) {
                Some(next) => {
                    out.push(next);
                    at = next;
                }
                None => break,
            }
        }
        out
    }

    fn next_after_in<Tz: TimeZone>(&self, t: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron(c) => next_cron(c, t, tz),
            Schedule::Every { secs, anchor } => {
                let step = i64::try_from(*secs).ok()?;
                let since = (t - *anchor).num_seconds();
                let k = if since < 0 { 1 } else { since / step + 1 };
                anchor.checked_add_signed(chrono::Duration::try_seconds(k.checked_mul(step)?)?)
            }
        }
    }

    fn latest_in<Tz: TimeZone>(
        &self,
        t: DateTime<Utc>,
        since: DateTime<Utc>,
        tz: &Tz,
    ) -> Option<DateTime<Utc>> {
        let found = match self {
            Schedule::Cron(c) => prev_cron(c, t, tz),
            Schedule::Every { secs, anchor } => {
                let step = i64::try_from(*secs).ok()?;
                let since_anchor = (t - *anchor).num_seconds();
                if since_anchor < step {
                    return None;
                }
                let k = since_anchor / step;
                anchor.checked_add_signed(chrono::Duration::try_seconds(k.checked_mul(step)?)?)
            }
        }?;
        (found >= since).then_some(found)
    }
}

/// A schedule in words: `cron 0 9 * * 1-5`, `every 10m`.
pub fn describe(when: &When) -> String {
    match when {
        When::Cron(expr) => format!(
            "cron {}",
            expr.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        When::EverySecs(secs) => format!("every {}", interval_words(*secs)),
    }
}

pub use codex_proto::schedule::interval_words;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDate};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h, mi, 0))
            .map(|n| n.and_utc())
            .unwrap()
    }

    #[test]
    fn five_fields_get_a_seconds_field_and_bad_ones_say_what_is_wrong() {
        assert!(cron("0 9 * * 1-5").is_ok());
        assert!(cron("*/2 * * * * *").is_ok());
        let e = cron("0 9 * *").unwrap_err().to_string();
        assert!(
            e.contains("4 fields") && e.contains("expected 5 fields"),
            "{e}"
        );
        let e = cron("61 9 * * *").unwrap_err().to_string();
        assert!(e.contains("invalid cron expression `61 9 * * *`"), "{e}");
        let e = validate(&When::Cron("0 0 30 2 *".into()), Utc::now()).unwrap_err();
        assert_eq!(e, TimingError::Never("0 0 30 2 *".into()));
        assert_eq!(
            validate(&When::EverySecs(0), Utc::now()),
            Err(TimingError::Zero)
        );
    }

    #[test]
    fn cron_occurrences_are_in_the_local_zone() {
        // 09:00 at UTC+2 is 07:00 UTC. 2026-12-07 is a Monday.
        let tz = FixedOffset::east_opt(2 * 3600).unwrap();
        let s = Schedule::Cron(Box::new(cron("0 9 * * 1-5").unwrap()));
        let next = s.next_after_in(utc(2026, 12, 7, 6, 0), &tz);
        assert_eq!(next, Some(utc(2026, 12, 7, 7, 0)));
        // Friday 08:00 UTC → next is Monday 07:00 UTC.
        let next = s.next_after_in(utc(2026, 12, 11, 8, 0), &tz);
        assert_eq!(next, Some(utc(2026, 12, 14, 7, 0)));
        let latest = s.latest_in(utc(2026, 12, 12, 12, 0), utc(2026, 1, 1, 0, 0), &tz);
        assert_eq!(latest, Some(utc(2026, 12, 11, 7, 0)));
        // Not before the job was active.
        let latest = s.latest_in(utc(2026, 12, 12, 12, 0), utc(2026, 12, 12, 0, 0), &tz);
        assert_eq!(latest, None);
    }

    #[test]
    fn intervals_count_from_the_anchor() {
        let anchor = utc(2026, 12, 7, 10, 0);
        let s = Schedule::Every { secs: 600, anchor };
        assert_eq!(s.next_after(anchor), Some(utc(2026, 12, 7, 10, 10)));
        assert_eq!(
            s.next_after(utc(2026, 12, 7, 10, 25)),
            Some(utc(2026, 12, 7, 10, 30))
        );
        assert_eq!(
            s.next_after(utc(2026, 12, 7, 9, 0)),
            Some(utc(2026, 12, 7, 10, 10))
        );
        assert_eq!(s.latest_at_or_before(utc(2026, 12, 7, 10, 5), anchor), None);
        assert_eq!(
            s.latest_at_or_before(utc(2026, 12, 7, 10, 25), anchor),
            Some(utc(2026, 12, 7, 10, 20))
        );
        assert_eq!(
            s.upcoming(anchor, 3),
            vec![
                utc(2026, 12, 7, 10, 10),
                utc(2026, 12, 7, 10, 20),
                utc(2026, 12, 7, 10, 30)
            ]
        );
    }

    #[test]
    fn schedules_in_words() {
        assert_eq!(describe(&When::EverySecs(600)), "every 10m");
        assert_eq!(describe(&When::EverySecs(5400)), "every 1h30m");
        assert_eq!(describe(&When::EverySecs(2)), "every 2s");
        assert_eq!(
            describe(&When::Cron("0  9 * * 1-5".into())),
            "cron 0 9 * * 1-5"
        );
    }

    #[test]
    fn cron_occurrences_fall_on_whole_seconds_whatever_the_time_asked_from() {
        let s = Schedule::Cron(Box::new(cron("* * * * *").unwrap()));
        let from = utc(2026, 12, 7, 10, 0) + chrono::Duration::milliseconds(309);
        let next = s.next_after(from).unwrap();
        assert_eq!(next, utc(2026, 12, 7, 10, 1));
        let latest = s
            .latest_at_or_before(from + chrono::Duration::seconds(90), utc(2026, 1, 1, 0, 0))
            .unwrap();
        assert_eq!(latest, utc(2026, 12, 7, 10, 1));
        // An interval job added at a fractional time still runs on whole seconds.
        let anchor = utc(2026, 12, 7, 10, 0) + chrono::Duration::milliseconds(700);
        let every = Schedule::new(&When::EverySecs(60), anchor).unwrap();
        assert_eq!(every.next_after(anchor), Some(utc(2026, 12, 7, 10, 1)));
    }

    #[test]
    fn intervals_past_ten_years_are_refused_and_nothing_overflows() {
        for secs in [MAX_INTERVAL_SECS + 1, 10_u64.pow(16), u64::MAX] {
            assert_eq!(
                validate(&When::EverySecs(secs), Utc::now()),
                Err(TimingError::TooLong(secs))
            );
            assert!(Schedule::new(&When::EverySecs(secs), Utc::now()).is_err());
        }
        let s = Schedule::new(&When::EverySecs(MAX_INTERVAL_SECS), Utc::now()).unwrap();
        assert!(s.next_after(DateTime::<Utc>::MAX_UTC).is_none());
        assert!(s.upcoming(Utc::now(), 5).len() == 5);
        let e = cron(&"* ".repeat(2000)).unwrap_err().to_string();
        assert!(e.len() < 400, "{e}");
    }

    #[test]
    fn daylight_saving_changes_as_the_guide_says() {
        let tz = chrono_tz::America::New_York;
        let next = |expr: &str, from: DateTime<Utc>, n: usize| {
            let s = Schedule::Cron(Box::new(cron(expr).unwrap()));
            let mut out = Vec::new();
            let mut at = from;
            for _ in 0..n {
                let Some(t) = s.next_after_in(at, &tz) else {
                    break;
                };
                out.push(t);
                at = t;
            }
            out
        };
        // Spring, 2027-03-14: 02:00 EST jumps to 03:00 EDT. A fixed time in the gap runs at
        // the first valid time after it, once.
        let spring = next("30 2 * * *", utc(2027, 3, 13, 12, 0), 2);
        assert_eq!(spring[0], utc(2027, 3, 14, 7, 0), "{spring:?}"); // 03:00 EDT
        assert_eq!(spring[1], utc(2027, 3, 15, 6, 30), "{spring:?}"); // 02:30 EDT
        // Autumn, 2027-11-07: 02:00 EDT falls back to 01:00 EST. A fixed time in the repeated
        // hour runs once.
        let autumn = next("30 1 * * *", utc(2027, 11, 6, 12, 0), 2);
        assert_eq!(autumn[0], utc(2027, 11, 7, 5, 30), "{autumn:?}"); // 01:30 EDT, the first
        assert_eq!(
            autumn[1] - autumn[0],
            chrono::Duration::hours(25),
            "{autumn:?}"
        );
        // Stepped minutes in the repeated hour: once per wall-clock time, in the first copy.
        let stepped = next("*/20 1 7 11 *", utc(2027, 11, 7, 0, 0), 6);
        let in_day: Vec<_> = stepped
            .iter()
            .filter(|t| **t < utc(2027, 11, 8, 0, 0))
            .collect();
        assert_eq!(in_day.len(), 3, "{stepped:?}");
        assert_eq!(*in_day[0], utc(2027, 11, 7, 5, 0), "{stepped:?}"); // 01:00 EDT, the first
        // An interval ignores the clock change: real elapsed time.
        let every = Schedule::Every {
            secs: 3600,
            anchor: utc(2027, 11, 7, 4, 0),
        };
        assert_eq!(
            every.next_after(utc(2027, 11, 7, 5, 30)),
            Some(utc(2027, 11, 7, 6, 0))
        );
    }
}
