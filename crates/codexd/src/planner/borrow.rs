//! Whether a goal may take the plan learned for a similar one. Similar words are not the same
//! task: a different action (clean/build, stop/start, delete/list), a negation, or a
//! different target means the plan is not borrowed, however near the embeddings are.

use super::embed::{STOP, fold};

/// Action words by what they do; a word not listed is its own action.
const ACTIONS: &[(&str, &[&str])] = &[
    ("build", &["build", "compile", "make", "rebuild"]),
    (
        "clean",
        &[
            "clean", "remove", "delete", "wipe", "purge", "clear", "rm", "erase", "drop",
        ],
    ),
    (
        "start",
        &[
            "start", "run", "launch", "serve", "boot", "execute", "open", "spin",
        ],
    ),
    (
        "stop",
        &["stop", "kill", "end", "shut", "halt", "terminate", "close"],
    ),
    (
        "list",
        &[
            "list", "show", "ls", "display", "print", "view", "what", "which", "status",
        ],
    ),
    ("test", &["test", "check", "verify"]),
    ("deploy", &["deploy", "ship", "publish"]),
    ("upgrade", &["upgrade", "update", "bump", "refresh"]),
];

/// Words that turn a goal around.
const NEGATIONS: &[&str] = &[
    "don't", "dont", "not", "never", "no", "without", "skip", "avoid",
];

/// Whether a goal says what not to do ("don't build anything", "deploy without tests"):
/// codex plans only what a goal asks for, so such a goal maps to no task and borrows nothing.
pub fn negated(goal: &str) -> bool {
    goal.split_whitespace()
        .any(|w| NEGATIONS.contains(&w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')))
}

/// The action and the target words of a normalized goal, or `None` when it is negated.
fn parse(goal: &str) -> Option<(String, Vec<String>)> {
    let words: Vec<&str> = goal.split_whitespace().collect();
    if words.iter().any(|w| NEGATIONS.contains(w)) {
        return None;
    }
    let mut content = words
        .iter()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty() && !STOP.contains(w));
    let first = content.next().unwrap_or("");
    let action = ACTIONS
        .iter()
        .find(|(_, ws)| ws.contains(&first))
        .map_or(fold(first), |(a, _)| a)
        .to_string();
    let mut targets: Vec<String> = content.map(|w| fold(w).to_string()).collect();
    targets.sort();
    targets.dedup();
    Some((action, targets))
}

/// Whether `goal` may take the plan learned for `learned` (both normalized).
pub fn may_borrow(goal: &str, learned: &str) -> bool {
    let (Some((a, ta)), Some((b, tb))) = (parse(goal), parse(learned)) else {
        return false;
    };
    if a != b {
        return false;
    }
    let subset = |x: &[String], y: &[String]| x.iter().all(|w| y.contains(w));
    (ta.is_empty() && tb.is_empty())
        || (!ta.is_empty() && !tb.is_empty() && (subset(&ta, &tb) || subset(&tb, &ta)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opposites_negations_and_other_targets_never_borrow() {
        for (goal, learned) in [
            ("clean the build", "build it"),
            ("stop the dev server", "start the dev server"),
            ("kill the server", "run the dev server"),
            ("don't build anything", "build the project"),
            ("delete the target folder", "list the target folder"),
            ("commit my changes", "show git status"),
            ("deploy", "deploy staging"),
            ("deploy production", "deploy staging"),
        ] {
            assert!(
                !may_borrow(goal, learned),
                "{goal:?} borrowed from {learned:?}"
            );
        }
        for (goal, learned) in [
            ("execute the test suite", "run the tests"),
            ("run all the tests", "run the tests"),
            ("compile the project", "build the project"),
            ("deploy to staging", "deploy staging"),
            ("ship to prod", "deploy production"),
        ] {
            assert!(
                may_borrow(goal, learned),
                "{goal:?} did not borrow from {learned:?}"
            );
        }
    }
}
