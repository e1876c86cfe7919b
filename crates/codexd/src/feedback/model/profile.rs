//! The profile as `prefs show` sees it, built from the model: each plan's record overall and
//! per place, tools, satisfaction, working style and the settings that override it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use codex_proto::prefs::{
    CategoryPrefs, Correction, PlanPlace, PlanPrefs, Profile, Setting, ToolPrefs, WorkingStyle,
};
use codex_proto::types::{ProgramPrefs, Satisfaction};

use super::evidence::Plan;
use super::{AUTONOMY, Category, Model, Params, TREND_SPAN, VERBOSITY};

impl Model {
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
                    .filter(|(_, pl)| project.is_none_or(|r| pl.places.contains_key(r)))
                    .map(|(plan, pl)| plan_prefs(plan, pl, cat, t, project, &p))
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

/// A plan as the profile shows it: its overall record, or its record in `project` when the
/// profile is limited to one, and its record in every place it ran.
fn plan_prefs(
    plan: &str,
    pl: &Plan,
    cat: &Category,
    t: i64,
    project: Option<&str>,
    p: &Params,
) -> PlanPrefs {
    let mut places: Vec<PlanPlace> = pl
        .places
        .iter()
        .map(|(root, place)| {
            let n_here = cat.n_at.get(root).copied().unwrap_or(0);
            let (score, evidence) = place.ev.score(t, n_here, p);
            PlanPlace {
                project: root.clone(),
                score,
                evidence,
                runs: place.ev.runs,
                successes: place.ev.successes,
                ratings: place.ev.ratings,
                mean_rating: mean(place.ev.rating_sum, place.ev.ratings),
                corrected_away: place.ev.corrected_away,
                typed: place.ev.typed,
                kept: place.kept,
            }
        })
        .collect();
    places.sort_by(|x, y| y.runs.cmp(&x.runs).then_with(|| x.project.cmp(&y.project)));
    let projects = places
        .iter()
        .filter(|pl| !pl.project.is_empty())
        .map(|pl| pl.project.clone())
        .collect();
    let (score, evidence) = pl.all.score(t, cat.n, p);
    let mut out = PlanPrefs {
        plan: plan.to_string(),
        tool: pl.tool.clone(),
        score,
        evidence,
        runs: pl.all.runs,
        successes: pl.all.successes,
        ratings: pl.all.ratings,
        mean_rating: mean(pl.all.rating_sum, pl.all.ratings),
        corrected_away: pl.all.corrected_away,
        typed: pl.all.typed,
        projects,
        places: Vec::new(),
        from_model: pl.from_model,
    };
    if let Some(here) = project.and_then(|r| places.iter().find(|pl| pl.project == r)) {
        out.score = here.score;
        out.evidence = here.evidence;
        out.runs = here.runs;
        out.successes = here.successes;
        out.ratings = here.ratings;
        out.mean_rating = here.mean_rating;
        out.corrected_away = here.corrected_away;
        out.typed = here.typed;
    }
    out.places = places;
    out
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
