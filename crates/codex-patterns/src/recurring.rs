//! Recurring goals, proposed as cron jobs.
//!
//! A goal run in the same project at about the same local time on several distinct days is a
//! habit a job could take over. For each (goal, project) we take the first run of each day,
//! find the window of the day (±`window_minutes`) that holds the most days, and propose it if
//! it holds at least `min_days` days and most of the days the goal was run at all: a goal run
//! at all hours has no time worth proposing, however often it runs.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::Interaction;

/// When a goal counts as recurring.
#[derive(Debug, Clone, PartialEq)]
pub struct RecurringConfig {
    /// Distinct days needed, at least.
    pub min_days: usize,
    /// How far from the usual time a run may be, in minutes, either side.
    pub window_minutes: u32,
    /// Share of the goal's days that must fall in the window.
    pub min_share: f64,
}

impl Default for RecurringConfig {
    fn default() -> Self {
        Self {
            min_days: 3,
            window_minutes: 30,
            min_share: 0.6,
        }
    }
}

/// A job proposed from a habit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The goal to run.
    pub goal: String,
    /// The project to run it in, if the runs had one.
    pub project: Option<String>,
    /// Five-field cron (minute hour day-of-month month day-of-week), local time.
    pub cron: String,
    /// Why, in words: "on 8 weekdays between 08:55 and 09:10 in the last 3 weeks".
    pub evidence: String,
    /// How sure, in [0, 1]: more days, more regular and a tighter time make it surer.
    pub confidence: f64,
    /// Distinct days the goal ran in the window.
    pub days: usize,
    /// A stable id: a short hash of goal, project and cron.
    pub id: String,
}

/// Proposes jobs from `interactions` (those without a time are ignored), reading times in
/// `tz`; the surest first.
pub fn propose<Tz: TimeZone>(
    interactions: &[Interaction],
    tz: &Tz,
    config: &RecurringConfig,
) -> Vec<Proposal> {
    // First run of each day, in minutes after local midnight, per (goal, project).
    let mut firsts: BTreeMap<(&str, Option<&str>), BTreeMap<NaiveDate, u32>> = BTreeMap::new();
    let mut latest: Option<DateTime<Utc>> = None;
    for i in interactions {
        let Some(at) = i.at else { continue };
        latest = latest.max(Some(at));
        let local = tz.from_utc_datetime(&at.naive_utc());
        let minute = local.hour() * 60 + local.minute();
        let days = firsts
            .entry((i.goal.as_str(), i.project.as_deref()))
            .or_default();
        let first = days.entry(local.date_naive()).or_insert(minute);
        *first = (*first).min(minute);
    }
    let Some(latest) = latest else {
        return Vec::new();
    };
    let today = tz.from_utc_datetime(&latest.naive_utc()).date_naive();
    let mut out: Vec<Proposal> = firsts
        .into_iter()
        .filter_map(|((goal, project), days)| {
            let days: Vec<(NaiveDate, u32)> = days.into_iter().collect();
            proposal(goal, project, &days, today, config)
        })
        .collect();
    out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.id.cmp(&b.id)));
    out
}

fn proposal(
    goal: &str,
    project: Option<&str>,
    days: &[(NaiveDate, u32)],
    today: NaiveDate,
    config: &RecurringConfig,
) -> Option<Proposal> {
    if days.len() < config.min_days {
        return None;
    }
    let window = config.window_minutes as i64;
    // The window centred on some day's time that holds the most days (ties: the tighter).
    let near = |a: u32, b: u32| {
        let d = (i64::from(a) - i64::from(b)).abs();
        d.min(1440 - d) <= window
    };
    let best = days
        .iter()
        .map(|&(_, centre)| {
            let inside: Vec<(NaiveDate, u32)> = days
                .iter()
                .copied()
                .filter(|&(_, m)| near(m, centre))
                .collect();
            inside
        })
        .max_by(|a, b| a.len().cmp(&b.len()).then(spread(b).cmp(&spread(a))))?;
    let share = best.len() as f64 / days.len() as f64;
    if best.len() < config.min_days || share < config.min_share {
        return None;
    }
    let mut minutes: Vec<u32> = best.iter().map(|&(_, m)| m).collect();
    minutes.sort_unstable();
    let median = minutes[minutes.len() / 2];
    let at = (median + 2) / 5 * 5 % 1440;
    let weekdays: Vec<Weekday> = {
        let mut w: Vec<Weekday> = best.iter().map(|(d, _)| d.weekday()).collect();
        w.sort_by_key(Weekday::num_days_from_monday);
        w.dedup();
        w
    };
    let only_workdays = weekdays.iter().all(|d| d.num_days_from_monday() < 5);
    // Which days the job would run on: workdays, every day, or the days seen.
    let (dow, kind, runs_on): (String, &str, Box<dyn Fn(NaiveDate) -> bool>) =
        if only_workdays && weekdays.len() >= 4 {
            (
                "1-5".into(),
                "weekdays",
                Box::new(|d| d.weekday().num_days_from_monday() < 5),
            )
        } else if weekdays.len() >= 6 || (!only_workdays && weekdays.len() >= 4) {
            ("*".into(), "days", Box::new(|_| true))
        } else {
            let list: Vec<String> = weekdays
                .iter()
                .map(|d| d.num_days_from_sunday().to_string())
                .collect();
            let days = weekdays.clone();
            (
                list.join(","),
                "days",
                Box::new(move |d| days.contains(&d.weekday())),
            )
        };
    let first = best.iter().map(|(d, _)| *d).min()?;
    // Regularity: of the days the job would have run since the first, how many the user did.
    let possible = first
        .iter_days()
        .take_while(|d| *d <= today)
        .filter(|d| runs_on(*d))
        .count();
    let regularity = (best.len() as f64 / possible.max(1) as f64).min(1.0);
    let tightness = 1.0 - spread(&best) as f64 / (2 * window) as f64;
    let support = 1.0 - (-(best.len() as f64) / 5.0).exp();
    let confidence =
        (support * (0.3 + 0.7 * regularity) * (0.5 + 0.5 * tightness.max(0.0)) * share)
            .clamp(0.0, 1.0);
    let cron = format!("{} {} * * {dow}", at % 60, at / 60);
    let (lo, hi) = (minutes[0], minutes[minutes.len() - 1]);
    let weeks = (today - first).num_days() / 7 + 1;
    let evidence = format!(
        "on {} {kind} between {} and {} in the last {}",
        best.len(),
        clock(lo),
        clock(hi),
        if weeks == 1 {
            "week".to_owned()
        } else {
            format!("{weeks} weeks")
        }
    );
    let id = format!(
        "{:012x}",
        crate::intern::fnv1a(&format!("{goal}\u{0}{}\u{0}{cron}", project.unwrap_or(""))) >> 16
    );
    Some(Proposal {
        goal: goal.to_owned(),
        project: project.map(str::to_owned),
        cron,
        evidence,
        confidence,
        days: best.len(),
        id,
    })
}

/// Minutes between the earliest and the latest run of a window.
fn spread(days: &[(NaiveDate, u32)]) -> u32 {
    let lo = days.iter().map(|d| d.1).min().unwrap_or(0);
    let hi = days.iter().map(|d| d.1).max().unwrap_or(0);
    hi - lo
}

fn clock(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Rng;
    use chrono::{Duration, FixedOffset};

    /// A Monday, 2024-03-04, at local midnight in UTC+1.
    fn monday() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 3, 23, 0, 0).unwrap()
    }

    fn at(day: i64, minute: i64) -> DateTime<Utc> {
        monday() + Duration::days(day) + Duration::minutes(minute)
    }

    fn run(goal: &str, project: &str, when: DateTime<Utc>) -> Interaction {
        Interaction {
            goal: goal.into(),
            at: Some(when),
            project: Some(project.into()),
        }
    }

    /// Noise: a few goals at random times on every day of the three weeks.
    fn noise(rng: &mut Rng, out: &mut Vec<Interaction>) {
        for day in 0..21 {
            for _ in 0..6 {
                let goal = ["ls", "git status", "vim", "cargo build"][rng.below(4)];
                out.push(run(goal, "/p", at(day, rng.below(1440) as i64)));
            }
        }
    }

    fn tz() -> FixedOffset {
        FixedOffset::east_opt(3600).unwrap()
    }

    #[test]
    fn a_weekday_morning_goal_is_proposed_at_nine_on_weekdays() {
        let mut rng = Rng::new(7);
        let mut history = Vec::new();
        noise(&mut rng, &mut history);
        for day in 0..21 {
            if day % 7 < 5 {
                // 08:55 to 09:05 local time.
                let minute = 9 * 60 - 5 + rng.below(11) as i64;
                history.push(run("cargo test", "/p", at(day, minute)));
            }
        }
        history.sort_by_key(|i| i.at);
        let proposals = propose(&history, &tz(), &RecurringConfig::default());
        let p = proposals
            .iter()
            .find(|p| p.goal == "cargo test")
            .expect("proposed");
        assert_eq!(p.cron, "0 9 * * 1-5");
        assert_eq!(p.project.as_deref(), Some("/p"));
        assert_eq!(p.days, 15);
        assert!(
            p.evidence.starts_with("on 15 weekdays between 08:5"),
            "{}",
            p.evidence
        );
        assert!(
            p.evidence.ends_with("in the last 3 weeks"),
            "{}",
            p.evidence
        );
        assert!(p.confidence > 0.7, "{}", p.confidence);
        assert_eq!(p.id.len(), 12);
        // The noise runs at all hours, so none of it is proposed.
        assert_eq!(proposals.len(), 1, "{proposals:?}");
        // The same history gives the same id.
        assert_eq!(
            propose(&history, &tz(), &RecurringConfig::default())[0].id,
            p.id
        );
    }

    #[test]
    fn a_goal_on_two_days_is_not_proposed() {
        let history = vec![
            run("make deploy", "/p", at(0, 600)),
            run("make deploy", "/p", at(1, 602)),
        ];
        assert!(propose(&history, &tz(), &RecurringConfig::default()).is_empty());
        let three = RecurringConfig {
            min_days: 2,
            ..RecurringConfig::default()
        };
        assert_eq!(propose(&history, &tz(), &three).len(), 1);
    }

    #[test]
    fn a_goal_at_random_hours_is_not_proposed() {
        let mut rng = Rng::new(3);
        let history: Vec<Interaction> = (0..21)
            .map(|day| run("backup", "/p", at(day, rng.below(1440) as i64)))
            .collect();
        assert!(propose(&history, &tz(), &RecurringConfig::default()).is_empty());
    }

    #[test]
    fn a_weekly_goal_gets_its_day() {
        // Mondays (day 0, 7, 14) at 17:30.
        let history: Vec<Interaction> = [0, 7, 14]
            .iter()
            .map(|&d| run("git push", "/q", at(d, 17 * 60 + 30)))
            .collect();
        let p = &propose(&history, &tz(), &RecurringConfig::default())[0];
        assert_eq!(p.cron, "30 17 * * 1");
        assert_eq!(
            p.evidence,
            "on 3 days between 17:30 and 17:30 in the last 3 weeks"
        );
        assert!(p.confidence > 0.3, "{}", p.confidence);
    }
}
