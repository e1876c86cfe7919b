//! What runs without asking: the autonomy comfort level against the step's safety class.
//!
//! - low: only read-only steps run unasked.
//! - medium (the default): read-only and writes-in-project.
//! - high: everything but destructive and privileged.
//!
//! Destructive and privileged steps are always asked, whatever the level and flags. `--yes`
//! pre-approves what would be asked below destructive.

use codex_proto::types::SafetyClass;

/// How much may run without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Comfort {
    /// Only read-only steps run unasked.
    Low,
    /// Read-only and writes-in-project run unasked.
    Medium,
    /// All but destructive and privileged run unasked.
    High,
}

impl Comfort {
    /// From a setting value (`low`, `medium`, `high`); anything else is medium.
    pub fn parse(s: &str) -> Comfort {
        match s {
            "low" => Comfort::Low,
            "high" => Comfort::High,
            _ => Comfort::Medium,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Comfort::Low => "low",
            Comfort::Medium => "medium",
            Comfort::High => "high",
        }
    }

    /// The most dangerous class that runs without asking.
    fn allows(self) -> SafetyClass {
        match self {
            Comfort::Low => SafetyClass::ReadOnly,
            Comfort::Medium => SafetyClass::WritesInProject,
            Comfort::High => SafetyClass::WritesOutsideProject,
        }
    }
}

/// What to do with a step before running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it.
    Run,
    /// Run it: `--yes` approved it in advance.
    PreApproved,
    /// Ask first; the string says why it is asked.
    Ask(String),
    /// Never: a deny rule matches; the string names it.
    Denied(String),
}

/// Apply the user's strongest matching rule to a decision: deny wins; ask always asks; allow
/// runs without asking, except privileged steps.
pub fn with_rule(
    decision: Decision,
    class: SafetyClass,
    rule: Option<(&super::rules::UserRule, &str)>,
) -> Decision {
    use super::rules::Kind;
    match rule {
        None => decision,
        Some((r, source)) => match r.kind {
            Kind::Deny => {
                Decision::Denied(format!("your deny rule `{}` ({source}) matches", r.pattern))
            }
            Kind::Ask => match decision {
                Decision::Ask(why) => Decision::Ask(why),
                _ => Decision::Ask(format!("your ask rule `{}` ({source}) matches", r.pattern)),
            },
            Kind::Allow if class == SafetyClass::Privileged => decision,
            Kind::Allow => Decision::Run,
        },
    }
}

/// A job with policy `allowlist`: only a step one of the user's allow rules matches runs
/// unasked; every other step that would run is asked (held, with nobody attached).
pub fn allowlist_only(decision: Decision, rule: Option<super::rules::Kind>) -> Decision {
    match (decision, rule) {
        (Decision::Run | Decision::PreApproved, Some(super::rules::Kind::Allow)) => Decision::Run,
        (Decision::Run | Decision::PreApproved, _) => Decision::Ask(
            "the job's policy is allowlist and none of your allow rules matches this step".into(),
        ),
        (other, _) => other,
    }
}

/// A scheduled step that is destructive or privileged is asked, whatever a rule says: no
/// job runs one with nobody there.
pub fn scheduled(decision: Decision, class: SafetyClass) -> Decision {
    match decision {
        Decision::Run | Decision::PreApproved if class >= SafetyClass::Destructive => {
            Decision::Ask(format!("a scheduled job never runs a {class} step unasked"))
        }
        other => other,
    }
}

/// What containment changes about a decision. With `--unconfined` every step is asked on the
/// terminal (a yes there runs it outside the sandbox), whatever its class; `--yes` does not
/// answer that. Where the sandbox does not hold (`holds` says why), only read-only steps run
/// without asking: nothing else would be contained. Deny rules stay.
pub fn contain(
    decision: Decision,
    class: SafetyClass,
    holds: Result<(), &str>,
    unconfined: bool,
) -> Decision {
    match decision {
        Decision::Denied(_) => decision,
        Decision::Ask(why) if unconfined => Decision::Ask(why),
        _ if unconfined => Decision::Ask(
            "you asked to run it unconfined (--unconfined), so every step is asked".into(),
        ),
        Decision::Run | Decision::PreApproved if class > SafetyClass::ReadOnly => match holds {
            Ok(()) => decision,
            Err(why) => Decision::Ask(format!(
                "the sandbox does not hold here ({why}), so only read-only steps run without \
                 asking"
            )),
        },
        other => other,
    }
}

/// A step of a borrowed plan (taken from a goal said alike or from another project, not yet
/// kept here) that would change anything is asked the first time, whatever the comfort: the
/// user has not seen it do this goal here. `--yes` and an allow rule still answer it.
pub fn first_time(
    decision: Decision,
    class: SafetyClass,
    borrowed: Option<&str>,
    yes: bool,
) -> Decision {
    match (decision, borrowed) {
        (Decision::Run, Some(_)) if class > SafetyClass::ReadOnly && yes => Decision::PreApproved,
        (Decision::Run, Some(from)) if class > SafetyClass::ReadOnly => Decision::Ask(format!(
            "its plan is borrowed from {from} and not kept yet, so a {class} step is asked the \
             first time"
        )),
        (d, _) => d,
    }
}

/// Decide for a step of `class` at `comfort`, with or without `--yes`.
pub fn decide(class: SafetyClass, comfort: Comfort, yes: bool) -> Decision {
    decide_at(class, comfort, comfort, yes)
}

/// [`decide`] at `used`, which may be one level stricter than the user's `own` comfort (a run
/// nobody is attached to); a step asked for that says so.
pub fn decide_at(class: SafetyClass, used: Comfort, own: Comfort, yes: bool) -> Decision {
    if class >= SafetyClass::Destructive {
        return Decision::Ask(format!("{class} steps are always asked"));
    }
    if class <= used.allows() {
        return Decision::Run;
    }
    if yes {
        return Decision::PreApproved;
    }
    Decision::Ask(if used == own {
        format!("autonomy comfort is {}", used.name())
    } else {
        format!(
            "autonomy comfort is {} for a run nobody is attached to: one level stricter than \
             yours ({})",
            used.name(),
            own.name()
        )
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_scheduled_destructive_or_privileged_step_is_always_asked() {
        for class in [SafetyClass::Destructive, SafetyClass::Privileged] {
            for d in [Decision::Run, Decision::PreApproved] {
                assert!(matches!(scheduled(d, class), Decision::Ask(_)), "{class:?}");
            }
        }
        assert_eq!(
            scheduled(Decision::Run, SafetyClass::Network),
            Decision::Run
        );
        assert!(matches!(
            scheduled(Decision::Denied("no".into()), SafetyClass::Destructive),
            Decision::Denied(_)
        ));
    }

    #[test]
    fn allowlist_only_runs_what_an_allow_rule_matches() {
        use crate::executor::rules::Kind;
        assert_eq!(
            allowlist_only(Decision::Run, Some(Kind::Allow)),
            Decision::Run
        );
        assert!(matches!(
            allowlist_only(Decision::Run, None),
            Decision::Ask(_)
        ));
        assert!(matches!(
            allowlist_only(Decision::Run, Some(Kind::Ask)),
            Decision::Ask(_)
        ));
        let asked = Decision::Ask("comfort".into());
        assert_eq!(allowlist_only(asked.clone(), None), asked);
    }

    use super::*;
    use crate::executor::rules::{Kind, UserRule};
    use SafetyClass::*;

    #[test]
    fn a_borrowed_plan_that_writes_is_asked_the_first_time() {
        use SafetyClass::*;
        let from = Some("\"build it\"");
        assert!(matches!(
            first_time(Decision::Run, WritesInProject, from, false),
            Decision::Ask(why) if why.contains("borrowed from \"build it\"")
        ));
        assert_eq!(
            first_time(Decision::Run, WritesInProject, from, true),
            Decision::PreApproved
        );
        assert_eq!(
            first_time(Decision::Run, ReadOnly, from, false),
            Decision::Run
        );
        assert_eq!(
            first_time(Decision::Run, WritesInProject, None, false),
            Decision::Run
        );
        assert_eq!(
            first_time(Decision::PreApproved, Network, from, false),
            Decision::PreApproved
        );
    }

    #[test]
    fn rules_deny_ask_and_allow_but_never_lift_privileged() {
        let rule = |kind| UserRule {
            kind,
            pattern: "x*".into(),
        };
        let deny = rule(Kind::Deny);
        let ask = rule(Kind::Ask);
        let allow = rule(Kind::Allow);
        let base = decide(ReadOnly, Comfort::High, false);
        assert!(matches!(
            with_rule(base.clone(), ReadOnly, Some((&deny, "config"))),
            Decision::Denied(_)
        ));
        assert!(matches!(
            with_rule(base, ReadOnly, Some((&ask, "config"))),
            Decision::Ask(_)
        ));
        let asked = decide(Destructive, Comfort::Medium, false);
        assert_eq!(
            with_rule(asked, Destructive, Some((&allow, "config"))),
            Decision::Run
        );
        let root = decide(Privileged, Comfort::High, true);
        assert!(matches!(
            with_rule(root, Privileged, Some((&allow, "config"))),
            Decision::Ask(_)
        ));
    }

    #[test]
    fn comfort_levels_decide_what_runs_unasked() {
        let all = [
            ReadOnly,
            WritesInProject,
            Network,
            WritesOutsideProject,
            Destructive,
            Privileged,
        ];
        let unasked = |c: Comfort| -> Vec<SafetyClass> {
            all.iter()
                .copied()
                .filter(|k| decide(*k, c, false) == Decision::Run)
                .collect()
        };
        assert_eq!(unasked(Comfort::Low), vec![ReadOnly]);
        assert_eq!(unasked(Comfort::Medium), vec![ReadOnly, WritesInProject]);
        assert_eq!(
            unasked(Comfort::High),
            vec![ReadOnly, WritesInProject, Network, WritesOutsideProject]
        );
    }

    #[test]
    fn unconfined_asks_everything_and_an_unheld_sandbox_runs_only_read_only() {
        let run = Decision::Run;
        assert!(matches!(
            contain(run.clone(), ReadOnly, Ok(()), true),
            Decision::Ask(_)
        ));
        assert!(matches!(
            contain(Decision::PreApproved, Network, Ok(()), true),
            Decision::Ask(_)
        ));
        let denied = Decision::Denied("rule".into());
        assert_eq!(contain(denied.clone(), ReadOnly, Ok(()), true), denied);
        assert_eq!(contain(run.clone(), WritesInProject, Ok(()), false), run);
        assert_eq!(
            contain(run.clone(), ReadOnly, Err("old kernel"), false),
            run
        );
        for k in [WritesInProject, Network, WritesOutsideProject] {
            for d in [Decision::Run, Decision::PreApproved] {
                assert!(
                    matches!(contain(d, k, Err("old kernel"), false), Decision::Ask(_)),
                    "{k:?}"
                );
            }
        }
    }

    #[test]
    fn destructive_and_privileged_are_always_asked_even_with_yes() {
        for c in [Comfort::Low, Comfort::Medium, Comfort::High] {
            for k in [Destructive, Privileged] {
                assert!(
                    matches!(decide(k, c, true), Decision::Ask(_)),
                    "{k:?} at {c:?}"
                );
            }
        }
        assert_eq!(decide(Network, Comfort::Low, true), Decision::PreApproved);
        assert_eq!(Comfort::parse("bogus"), Comfort::Medium);
    }
}
