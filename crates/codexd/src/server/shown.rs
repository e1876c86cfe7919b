//! The plans codex showed lately, so a run of one of them is recorded with where it came
//! from. `codex run "GOAL"` asks for the plans, then runs the chosen plan's steps as commands
//! with the goal; the daemon matches each step back to the plan it answered with for that
//! goal in that folder. A command typed with `--goal` that is one of those plans counts as
//! that plan too: it is the same command for the same goal.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use codex_proto::methods::PlanResult;
use codex_proto::runs::PlanSource;

/// Plans kept: one per goal and folder, the most recent.
const KEEP: usize = 64;
/// How long a shown plan still names the runs of its steps: long enough for a plan whose
/// build step takes most of an hour, short enough that an old listing does not name a
/// later command typed by hand.
const FOR: Duration = Duration::from_secs(3600);

/// The plans answered lately, newest last.
#[derive(Debug, Default)]
pub struct ShownPlans {
    shown: Mutex<VecDeque<Shown>>,
}

#[derive(Debug)]
struct Shown {
    goal: String,
    cwd: PathBuf,
    at: Instant,
    plans: PlanResult,
}

impl ShownPlans {
    /// Keep the plans answered for `goal` in `cwd`.
    pub fn remember(&self, goal: &str, cwd: &Path, plans: &PlanResult) {
        if plans.plans.is_empty() {
            return;
        }
        let Ok(mut shown) = self.shown.lock() else {
            return;
        };
        shown.retain(|s| !(s.goal == goal && s.cwd == cwd));
        if shown.len() >= KEEP {
            shown.pop_front();
        }
        shown.push_back(Shown {
            goal: goal.to_string(),
            cwd: cwd.to_path_buf(),
            at: Instant::now(),
            plans: plans.clone(),
        });
    }

    /// Where a run of `argv` for `goal` in `cwd` came from: the first shown plan with that
    /// step, if one was shown for that goal there lately.
    pub fn source(&self, goal: &str, cwd: &Path, argv: &[String]) -> Option<PlanSource> {
        let shown = self.shown.lock().ok()?;
        let s = shown
            .iter()
            .rev()
            .find(|s| s.goal == goal && s.cwd == cwd && s.at.elapsed() < FOR)?;
        let of = u32::try_from(s.plans.plans.len()).unwrap_or(u32::MAX);
        s.plans.plans.iter().enumerate().find_map(|(i, p)| {
            let step = p.steps.iter().find(|st| st.argv == argv)?;
            Some(PlanSource {
                pick: u32::try_from(i + 1).unwrap_or(u32::MAX),
                of,
                command: p.command.clone(),
                rationale: step.rationale.clone(),
                evidence: p.evidence.clone(),
                ranking: s.plans.ranking.clone(),
                borrowed: p.borrowed.clone(),
                candidates: s.plans.plans.iter().map(|c| c.command.clone()).collect(),
                propensity: p.propensity,
                from_model: p.from_model,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_proto::methods::{PlanStep, PlannedCommand};

    fn plan(cmds: &[&[&str]]) -> PlanResult {
        PlanResult {
            goal: "build".into(),
            task: Some("build".into()),
            project: None,
            plans: cmds
                .iter()
                .map(|c| PlannedCommand {
                    command: c.join(" "),
                    steps: vec![PlanStep {
                        argv: c.iter().map(|w| w.to_string()).collect(),
                        rationale: format!("why {}", c.join(" ")),
                        class: None,
                        dry_run: false,
                    }],
                    score: 0.5,
                    confidence: 0.5,
                    alignment: 0.5,
                    evidence: "no runs yet".into(),
                    borrowed: None,
                    propensity: None,
                    from_model: false,
                })
                .collect(),
            ranking: "posterior mean".into(),
            unknown: None,
            similar: Vec::new(),
            embeddings: "local".into(),
            left_out: Vec::new(),
            model: None,
        }
    }

    fn v(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_step_of_a_shown_plan_is_named_by_it() {
        let s = ShownPlans::default();
        let here = Path::new("/p");
        s.remember("build", here, &plan(&[&["make"], &["npm", "run", "build"]]));
        let src = s
            .source("build", here, &v(&["npm", "run", "build"]))
            .unwrap();
        assert_eq!((src.pick, src.of), (2, 2));
        assert_eq!(src.rationale, "why npm run build");
        assert!(s.source("build", here, &v(&["cargo", "build"])).is_none());
        assert!(s.source("test", here, &v(&["make"])).is_none());
        assert!(s.source("build", Path::new("/q"), &v(&["make"])).is_none());
        // The newest answer for a goal and folder replaces the older one.
        s.remember("build", here, &plan(&[&["cargo", "build"]]));
        assert!(s.source("build", here, &v(&["make"])).is_none());
        assert_eq!(
            s.source("build", here, &v(&["cargo", "build"]))
                .unwrap()
                .pick,
            1
        );
    }
}
