//! Why a goal was predicted, in terms a user can check against their own history.

use serde::{Deserialize, Serialize};

/// One predicted goal, its score and the strongest evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The goal, as it was observed.
    pub goal: String,
    /// The model's probability that this is the next goal, in [0, 1].
    pub score: f64,
    /// The expert that contributed most to the score, with its counts.
    pub evidence: Evidence,
}

/// The counts behind a prediction; counts are plain (not decayed) so the words stay true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The last goals were `after` (several joined by `; `), and this one followed them.
    Follows {
        /// The preceding goal or goals, oldest first, joined by `; `.
        after: String,
        /// How often this goal came next.
        times: u32,
        /// How often `after` was followed by anything.
        of: u32,
    },
    /// This goal is among the user's most frequent.
    Frequent {
        /// How often it was run.
        times: u32,
        /// How many goals were run in all.
        of: u32,
    },
    /// This goal was run a few steps ago.
    Recent {
        /// How many goals ago (1 is the last one).
        ago: usize,
    },
    /// This goal is often run at this hour of the day (local time).
    TimeOfDay {
        /// The local hour, 0..=23.
        hour: u32,
        /// How often it was run at that hour.
        times: u32,
    },
    /// This goal is often run on this day of the week (local time).
    OnWeekday {
        /// The day, as chrono names it (`Mon`, `Tue`, ...).
        weekday: String,
        /// How often it was run on that day.
        times: u32,
    },
    /// This goal is often run in the current project.
    InProject {
        /// The project root.
        project: String,
        /// How often it was run there.
        times: u32,
    },
}

impl Evidence {
    /// The evidence as a sentence about `goal`, e.g. "after `git pull` you ran `cargo test` 41
    /// of 52 times".
    pub fn words(&self, goal: &str) -> String {
        match self {
            Evidence::Follows { after, times, of } => {
                format!("after `{after}` you ran `{goal}` {times} of {of} times")
            }
            Evidence::Frequent { times, of } => {
                format!("you ran `{goal}` {times} of your last {of} goals")
            }
            Evidence::Recent { ago: 1 } => format!("you just ran `{goal}`"),
            Evidence::Recent { ago } => format!("you ran `{goal}` {ago} goals ago"),
            Evidence::TimeOfDay { hour, times } => {
                format!("you ran `{goal}` {} around {hour:02}:00", count(*times))
            }
            Evidence::OnWeekday { weekday, times } => {
                format!("you ran `{goal}` {} on a {weekday}", count(*times))
            }
            Evidence::InProject { project, times } => {
                format!("you ran `{goal}` {} in {project}", count(*times))
            }
        }
    }
}

fn count(times: u32) -> String {
    match times {
        1 => "once".to_owned(),
        2 => "twice".to_owned(),
        n => format!("{n} times"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_reads_as_a_sentence() {
        let cases = [
            (
                Evidence::Follows {
                    after: "git pull".into(),
                    times: 41,
                    of: 52,
                },
                "after `git pull` you ran `cargo test` 41 of 52 times",
            ),
            (
                Evidence::Frequent {
                    times: 120,
                    of: 900,
                },
                "you ran `cargo test` 120 of your last 900 goals",
            ),
            (Evidence::Recent { ago: 1 }, "you just ran `cargo test`"),
            (
                Evidence::Recent { ago: 3 },
                "you ran `cargo test` 3 goals ago",
            ),
            (
                Evidence::TimeOfDay { hour: 9, times: 14 },
                "you ran `cargo test` 14 times around 09:00",
            ),
            (
                Evidence::OnWeekday {
                    weekday: "Mon".into(),
                    times: 2,
                },
                "you ran `cargo test` twice on a Mon",
            ),
            (
                Evidence::InProject {
                    project: "/p".into(),
                    times: 1,
                },
                "you ran `cargo test` once in /p",
            ),
        ];
        for (evidence, words) in cases {
            assert_eq!(evidence.words("cargo test"), words);
        }
    }
}
