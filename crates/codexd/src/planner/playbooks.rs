//! Playbooks: plans the user taught (`codex teach "deploy staging" -- ./deploy.sh staging`),
//! kept in `storage/planner/playbooks.json`. A playbook applies in its project unless global.

use serde::{Deserialize, Serialize};

use crate::store::journal::State;

/// A taught plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playbook {
    /// The phrase, normalized like goals.
    pub phrase: String,
    /// Its steps, each a command.
    pub steps: Vec<Vec<String>>,
    /// The project root it applies in; `None` for everywhere.
    pub project: Option<String>,
}

/// Every playbook.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybookBook {
    /// In the order they were taught.
    pub playbooks: Vec<Playbook>,
}

/// A change to the book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PlaybookOp {
    /// Teach (replacing a playbook of the same phrase and scope).
    Teach {
        /// The playbook.
        playbook: Playbook,
    },
    /// Forget the playbooks of this phrase (in this scope, or all scopes when `None`).
    Remove {
        /// The phrase, normalized.
        phrase: String,
    },
}

impl State for PlaybookBook {
    type Op = PlaybookOp;

    fn apply(&mut self, op: PlaybookOp) {
        match op {
            PlaybookOp::Teach { playbook } => {
                self.playbooks
                    .retain(|p| !(p.phrase == playbook.phrase && p.project == playbook.project));
                self.playbooks.push(playbook);
            }
            PlaybookOp::Remove { phrase } => self.playbooks.retain(|p| p.phrase != phrase),
        }
    }
}

impl PlaybookBook {
    /// The playbook for `phrase` that applies in `project`: the project's own first.
    pub fn find(&self, phrase: &str, project: Option<&str>) -> Option<&Playbook> {
        let here =
            self.playbooks.iter().rev().find(|p| {
                p.phrase == phrase && p.project.is_some() && p.project.as_deref() == project
            });
        here.or_else(|| {
            self.playbooks
                .iter()
                .rev()
                .find(|p| p.phrase == phrase && p.project.is_none())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb(phrase: &str, project: Option<&str>, cmd: &str) -> Playbook {
        Playbook {
            phrase: phrase.into(),
            steps: vec![cmd.split(' ').map(String::from).collect()],
            project: project.map(String::from),
        }
    }

    #[test]
    fn a_projects_own_playbook_wins_over_a_global_one() {
        let mut b = PlaybookBook::default();
        b.apply(PlaybookOp::Teach {
            playbook: pb("deploy", None, "./global.sh"),
        });
        b.apply(PlaybookOp::Teach {
            playbook: pb("deploy", Some("/p"), "./local.sh"),
        });
        assert_eq!(
            b.find("deploy", Some("/p")).unwrap().steps[0][0],
            "./local.sh"
        );
        assert_eq!(
            b.find("deploy", Some("/q")).unwrap().steps[0][0],
            "./global.sh"
        );
        assert!(b.find("other", Some("/p")).is_none());
        b.apply(PlaybookOp::Remove {
            phrase: "deploy".into(),
        });
        assert!(b.playbooks.is_empty());
    }
}
