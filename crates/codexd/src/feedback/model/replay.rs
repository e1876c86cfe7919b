//! Cheap questions a replay asks the model between two signals (the personal-model training
//! in `optimizer::train`): a plan's posterior where the planner would rank it, and which plans
//! a category knows in a project. They read the folded state and change nothing.

use chrono::{DateTime, Utc};

use super::Model;
use super::evidence::decay;
use crate::planner::learned::ELSEWHERE;

/// A plan's Beta(1 + a, 1 + b) posterior of satisfying the user, decayed to a moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posterior {
    /// Decayed weight of success.
    pub a: f64,
    /// Decayed weight of failure.
    pub b: f64,
}

impl Posterior {
    /// What a plan never seen starts from: Beta(1, 1), mean one half.
    pub const PRIOR: Posterior = Posterior { a: 0.0, b: 0.0 };

    /// The posterior mean: the plan's score.
    pub fn mean(&self) -> f64 {
        (1.0 + self.a) / (2.0 + self.a + self.b)
    }

    /// The weight of evidence behind it.
    pub fn evidence(&self) -> f64 {
        self.a + self.b
    }
}

impl Model {
    /// `plan`'s posterior in `category` as the planner weighs it in `project` at `at`: its
    /// record there in full, its record in other places at `planner::learned::ELSEWHERE`
    /// weight (the project-fit bonus, which needs the project's files, is left out). `None`
    /// when the category has no record of the plan.
    pub fn posterior_at(
        &self,
        category: &str,
        plan: &str,
        project: Option<&str>,
        at: DateTime<Utc>,
    ) -> Option<Posterior> {
        let cat = self.categories.get(category)?;
        let pl = cat.plans.get(plan)?;
        let here = project.unwrap_or("");
        let t = at.timestamp();
        let p = &self.params;
        let (mut a, mut b) = (0.0, 0.0);
        for (root, place) in &pl.places {
            let n_here = cat.n_at.get(root).copied().unwrap_or(0);
            let ev = &place.ev;
            let f = decay(t - ev.t, n_here.saturating_sub(ev.n), p);
            let w = if root == here { 1.0 } else { ELSEWHERE };
            a += w * ev.a * f;
            b += w * ev.b * f;
        }
        Some(Posterior { a, b })
    }

    /// The plans of `category` with a record in `project` (`None`: outside any project), in
    /// name order: what the planner would weigh there from experience.
    pub fn plans_at<'a>(
        &'a self,
        category: &str,
        project: Option<&'a str>,
    ) -> impl Iterator<Item = &'a str> + 'a {
        let here = project.unwrap_or("");
        self.categories
            .get(category)
            .into_iter()
            .flat_map(|cat| cat.plans.iter())
            .filter(move |(_, pl)| pl.places.contains_key(here))
            .map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use codex_proto::types::RunId;

    use super::*;
    use crate::feedback::model::Params;
    use crate::feedback::state::{Signal, SignalKind};

    fn t(sec: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + sec, 0).unwrap_or_default()
    }

    fn in_project_outcome(run: u64, sec: i64, plan: &str, success: bool, root: &str) -> Signal {
        Signal {
            run_id: Some(RunId(run)),
            at: t(sec),
            category: "run the tests".into(),
            plan: plan.into(),
            tool: plan.into(),
            program: plan.split(' ').next().unwrap_or("").into(),
            project: Some(root.into()),
            learn: true,
            kind: SignalKind::named_outcome(success),
        }
    }

    #[test]
    fn the_posterior_matches_the_profile_and_weighs_other_places_less() {
        let mut m = Model::new(Params::default());
        m.apply(&in_project_outcome(1, 0, "npm test", true, "/p/node"));
        m.apply(&in_project_outcome(2, 60, "npm test", true, "/p/node"));
        m.apply(&in_project_outcome(3, 120, "npm test", false, "/p/py"));
        let now = t(86_400);
        let profile = m.profile(now, &BTreeMap::new(), None, Some("/p/node"), true);
        let shown = &profile.categories[0].plans[0];
        let node = shown
            .place(Some("/p/node"))
            .cloned()
            .unwrap_or_else(|| panic!());
        let py = shown
            .place(Some("/p/py"))
            .cloned()
            .unwrap_or_else(|| panic!());
        let post = m
            .posterior_at("run the tests", "npm test", Some("/p/node"), now)
            .unwrap_or_else(|| panic!("known plan"));
        // Here in full, elsewhere at a quarter of its weight, as the planner's standing.
        let want = crate::planner::learned::standing(shown, Some("/p/node"));
        assert!((post.mean() - want.score).abs() < 1e-9, "{post:?} {want:?}");
        assert!((post.evidence() - (node.evidence + ELSEWHERE * py.evidence)).abs() < 1e-9);
        assert_eq!(
            m.plans_at("run the tests", Some("/p/py"))
                .collect::<Vec<_>>(),
            ["npm test"]
        );
        assert_eq!(m.plans_at("run the tests", Some("/p/go")).count(), 0);
        assert!(
            m.posterior_at("run the tests", "go test", None, now)
                .is_none()
        );
    }
}
