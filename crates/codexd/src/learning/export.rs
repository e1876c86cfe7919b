//! Fine-tuning datasets from the learning dataset, in formats existing trainers read
//! (docs/export.md shows a line of each). Pure functions: records in, JSON lines out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use codex_proto::methods::ExportFormat;
use codex_proto::types::RunId;
use serde::Serialize;
use serde_json::json;

use super::dataset::{Example, Record};

/// The system prompt of chat examples.
pub const SYSTEM_PROMPT: &str = "You turn a developer's goal into the shell command they \
would run for it in their project. Answer with the command only.";

/// Which examples an export takes.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Finished at or after.
    pub since: Option<DateTime<Utc>>,
    /// Rated at least this; unrated examples are left out when set.
    pub min_rating: Option<u8>,
    /// Ran in this folder or below.
    pub project: Option<std::path::PathBuf>,
}

impl Filter {
    fn keeps(&self, e: &Example, rating: Option<u8>) -> bool {
        self.since.is_none_or(|s| e.at >= s)
            && self
                .min_rating
                .is_none_or(|m| rating.is_some_and(|r| r >= m))
            && self.project.as_deref().is_none_or(|p| under(e, p))
    }
}

/// Whether an example ran in `dir` or below it (by its project root or working directory).
pub fn under(e: &Example, dir: &Path) -> bool {
    e.cwd.starts_with(dir) || e.project.as_ref().is_some_and(|p| p.root.starts_with(dir))
}

/// The latest rating and comment of each run.
fn labels(records: &[Record]) -> HashMap<RunId, (u8, Option<String>)> {
    let mut out = HashMap::new();
    for r in records {
        if let Record::Label {
            run_id,
            score,
            comment,
            ..
        } = r
        {
            out.insert(*run_id, (*score, comment.clone()));
        }
    }
    out
}

/// The export of `records` in `format`, one JSON document per line (no newlines).
pub fn export(records: &[Record], format: ExportFormat, filter: &Filter) -> Vec<String> {
    let labels = labels(records);
    let examples = records.iter().filter_map(|r| match r {
        Record::Example(e) => {
            let rating = labels.get(&e.run_id).map(|l| l.0);
            filter.keeps(e, rating).then_some((&**e, rating))
        }
        _ => None,
    });
    match format {
        ExportFormat::Episodes => examples
            .filter_map(|(e, _)| {
                let label = labels.get(&e.run_id);
                to_line(&EpisodeLine {
                    example: e,
                    rating: label.map(|l| l.0),
                    comment: label.and_then(|l| l.1.as_deref()),
                })
            })
            .collect(),
        ExportFormat::OpenaiChat => examples
            // A run that failed, or that the user rated below 3, is not an answer to learn.
            .filter(|(e, rating)| e.success && rating.is_none_or(|r| r >= 3))
            .filter_map(|(e, _)| {
                to_line(&json!({
                    "messages": [
                        {"role": "system", "content": SYSTEM_PROMPT},
                        {"role": "user", "content": prompt(e)},
                        {"role": "assistant", "content": e.plan},
                    ]
                }))
            })
            .collect(),
        ExportFormat::PreferencePairs => pairs(examples.collect()),
    }
}

#[derive(Serialize)]
struct EpisodeLine<'a> {
    #[serde(flatten)]
    example: &'a Example,
    rating: Option<u8>,
    comment: Option<&'a str>,
}

fn to_line<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_string(v).ok()
}

/// What the model is asked: the goal, and where.
pub fn prompt(e: &Example) -> String {
    let mut p = format!("Goal: {}", e.goal);
    if let Some(proj) = &e.project {
        p.push_str(&format!("\nProject: {} ({})", proj.name(), proj.kind));
        if let Ok(rel) = e.cwd.strip_prefix(&proj.root)
            && !rel.as_os_str().is_empty()
        {
            p.push_str(&format!("\nDirectory: {}", rel.display()));
        }
    }
    p
}

/// Preference pairs: for each goal in each project, every two plans whose mean ratings differ
/// by at least one point give a pair, the better-rated plan chosen.
fn pairs(rated: Vec<(&Example, Option<u8>)>) -> Vec<String> {
    // (project root, normalized goal) → plan → (sum, count, an example for the prompt)
    type Plans<'a> = BTreeMap<&'a str, (u64, u64, &'a Example)>;
    let mut groups: BTreeMap<(String, &str), Plans<'_>> = BTreeMap::new();
    for (e, rating) in rated {
        let Some(r) = rating else { continue };
        let root = e
            .project
            .as_ref()
            .map(|p| p.root.display().to_string())
            .unwrap_or_default();
        let slot = groups
            .entry((root, e.goal_normalized.as_str()))
            .or_default()
            .entry(e.plan.as_str())
            .or_insert((0, 0, e));
        slot.0 += u64::from(r);
        slot.1 += 1;
        slot.2 = e; // the latest example words the prompt
    }
    let mut out = Vec::new();
    for plans in groups.values() {
        let means: Vec<(&str, f64, &Example)> = plans
            .iter()
            .map(|(plan, (sum, n, e))| (*plan, *sum as f64 / *n as f64, *e))
            .collect();
        for (hi_plan, hi, hi_e) in &means {
            for (lo_plan, lo, _) in &means {
                if hi - lo >= 1.0
                    && let Some(line) = to_line(&json!({
                        "prompt": prompt(hi_e),
                        "chosen": hi_plan,
                        "rejected": lo_plan,
                        "chosen_rating": hi,
                        "rejected_rating": lo,
                    }))
                {
                    out.push(line);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::project::Project;
    use codex_proto::types::RunOutcome;

    fn example(id: u64, goal: &str, plan: &str, success: bool) -> Record {
        Record::Example(Box::new(Example {
            run_id: RunId(id),
            at: DateTime::from_timestamp(1_700_000_000 + id as i64, 0).unwrap(),
            goal: goal.into(),
            goal_normalized: goal.to_lowercase(),
            category: goal.to_lowercase(),
            project: Some(Project {
                root: "/src/shop".into(),
                kind: "rust".into(),
            }),
            program: "cargo".into(),
            tool: "cargo".into(),
            plan: plan.into(),
            argv: plan.split(' ').map(String::from).collect(),
            cwd: "/src/shop/api".into(),
            trigger: crate::episode::Trigger::User,
            outcome: RunOutcome::Exited {
                code: if success { 0 } else { 1 },
            },
            success,
            duration_ms: 5,
            approvals: Vec::new(),
            patterns: true,
        }))
    }

    fn label(id: u64, score: u8) -> Record {
        Record::Label {
            run_id: RunId(id),
            at: DateTime::from_timestamp(1_700_000_100, 0).unwrap(),
            score,
            comment: None,
        }
    }

    fn parsed(lines: &[String]) -> Vec<serde_json::Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn chat_examples_take_successful_runs_not_rated_down() {
        let records = vec![
            example(1, "Run the tests", "cargo nextest run", true),
            example(2, "Run the tests", "cargo test", false),
            example(3, "Run the tests", "cargo test", true),
            label(3, 2),
        ];
        let out = parsed(&export(
            &records,
            ExportFormat::OpenaiChat,
            &Filter::default(),
        ));
        assert_eq!(out.len(), 1);
        let m = &out[0]["messages"];
        assert_eq!(m[0]["role"], "system");
        assert_eq!(
            m[1]["content"],
            "Goal: Run the tests\nProject: shop (rust)\nDirectory: api"
        );
        assert_eq!(m[2]["content"], "cargo nextest run");
    }

    #[test]
    fn pairs_prefer_the_better_rated_plan_for_the_same_goal() {
        let records = vec![
            example(1, "Run the tests", "cargo nextest run", true),
            example(2, "Run the tests", "cargo test", true),
            example(3, "build", "cargo build", true),
            label(1, 5),
            label(2, 2),
            label(3, 4),
        ];
        let out = parsed(&export(
            &records,
            ExportFormat::PreferencePairs,
            &Filter::default(),
        ));
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0]["chosen"], "cargo nextest run");
        assert_eq!(out[0]["rejected"], "cargo test");
        assert!(
            out[0]["prompt"]
                .as_str()
                .unwrap()
                .starts_with("Goal: Run the tests")
        );
    }

    #[test]
    fn episodes_join_ratings_and_filters_apply() {
        let records = vec![
            example(1, "a", "true", true),
            example(2, "b", "false", false),
            label(2, 4),
        ];
        let all = parsed(&export(
            &records,
            ExportFormat::Episodes,
            &Filter::default(),
        ));
        assert_eq!(all.len(), 2);
        assert_eq!(all[1]["rating"], 4);
        assert!(all[0]["rating"].is_null());
        let rated = Filter {
            min_rating: Some(4),
            ..Filter::default()
        };
        assert_eq!(export(&records, ExportFormat::Episodes, &rated).len(), 1);
        let since = Filter {
            since: DateTime::from_timestamp(1_700_000_002, 0),
            ..Filter::default()
        };
        assert_eq!(export(&records, ExportFormat::Episodes, &since).len(), 1);
        let elsewhere = Filter {
            project: Some("/src/other".into()),
            ..Filter::default()
        };
        assert!(export(&records, ExportFormat::Episodes, &elsewhere).is_empty());
    }
}
