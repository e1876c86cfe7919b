//! Fine-tuning datasets from the learning dataset, in formats existing trainers read
//! (docs/export.md shows a line of each). Pure functions: records in, JSON lines out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use codex_proto::methods::ExportFormat;
use codex_proto::types::RunId;
use serde::Serialize;
use serde_json::json;

use super::dataset::{Example, Record, for_each};
use crate::store::StoreError;

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
type Labels = HashMap<RunId, (u8, Option<String>)>;

fn label_of(labels: &mut Labels, r: &Record) {
    if let Record::Label {
        run_id,
        score,
        comment,
        ..
    } = r
    {
        labels.insert(*run_id, (*score, comment.clone()));
    }
}

/// Builds an export one example at a time.
struct Exporter<'a> {
    format: ExportFormat,
    filter: &'a Filter,
    labels: &'a Labels,
    pairs: Pairs,
}

impl Exporter<'_> {
    /// The line for one example, if the format and filter take it (pairs come at the end).
    fn line(&mut self, e: &Example) -> Option<String> {
        let label = self.labels.get(&e.run_id);
        let rating = label.map(|l| l.0);
        if !self.filter.keeps(e, rating) {
            return None;
        }
        match self.format {
            ExportFormat::Episodes => to_line(&EpisodeLine {
                example: e,
                rating,
                comment: label.and_then(|l| l.1.as_deref()),
            }),
            // A run that failed, or that the user rated below 3, is not an answer to learn; nor
            // is a typed command, whose goal is the command itself (`Goal: true => true`).
            ExportFormat::OpenaiChat => (named(e) && e.success && rating.is_none_or(|r| r >= 3))
                .then(|| {
                    to_line(&json!({
                        "messages": [
                            {"role": "system", "content": SYSTEM_PROMPT},
                            {"role": "user", "content": prompt(e)},
                            {"role": "assistant", "content": e.plan},
                        ]
                    }))
                })
                .flatten(),
            ExportFormat::PreferencePairs => {
                if named(e) {
                    self.pairs.add(e, rating);
                }
                None
            }
        }
    }
}

/// The export of `records` in `format`, one JSON document per line (no newlines).
pub fn export(records: &[Record], format: ExportFormat, filter: &Filter) -> Vec<String> {
    let mut labels = Labels::new();
    for r in records {
        label_of(&mut labels, r);
    }
    let mut x = Exporter {
        format,
        filter,
        labels: &labels,
        pairs: Pairs::default(),
    };
    let mut out: Vec<String> = records
        .iter()
        .filter_map(|r| match r {
            Record::Example(e) => x.line(e),
            _ => None,
        })
        .collect();
    out.extend(x.pairs.lines());
    out
}

/// The export of the dataset file at `path`, streamed: `emit` gets the lines in chunks of up
/// to `chunk` and returns false to stop (the reader went away). Memory stays proportional to
/// the labels (and, for pairs, the distinct goals and plans), not to the dataset. Returns
/// the number of lines emitted.
pub fn stream(
    path: &Path,
    format: ExportFormat,
    filter: &Filter,
    chunk: usize,
    mut emit: impl FnMut(Vec<String>) -> bool,
) -> Result<u64, StoreError> {
    let mut labels = Labels::new();
    for_each(path, |_, r| {
        if let Some(r) = r {
            label_of(&mut labels, r);
        }
        Ok(())
    })?;
    let mut x = Exporter {
        format,
        filter,
        labels: &labels,
        pairs: Pairs::default(),
    };
    let mut buf = Vec::with_capacity(chunk);
    let mut total = 0u64;
    let mut open = true;
    for_each(path, |_, r| {
        if let (true, Some(Record::Example(e))) = (open, r)
            && let Some(line) = x.line(e)
        {
            buf.push(line);
            total += 1;
            if buf.len() >= chunk {
                open = emit(std::mem::take(&mut buf));
            }
        }
        Ok(())
    })?;
    for line in x.pairs.lines() {
        buf.push(line);
        total += 1;
    }
    if open && !buf.is_empty() {
        emit(buf);
    }
    Ok(total)
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

/// Whether the run's goal was said in words: a typed command's goal is the command itself,
/// and teaches nothing about what words mean.
fn named(e: &Example) -> bool {
    e.goal.trim() != e.plan
}

/// Preference pairs: for each named goal in each project, every two plans where one did
/// better give a pair, the better one chosen: by mean rating (a point or more apart) when both
/// were rated, else by outcome (success rates at least half apart: one worked, one failed).
#[derive(Default)]
struct Pairs {
    /// (project root, normalized goal) → plan → its record.
    groups: BTreeMap<(String, String), BTreeMap<String, PlanRecord>>,
}

/// One plan's ratings and outcomes for a goal, and the prompt of its latest run.
#[derive(Default)]
struct PlanRecord {
    rating_sum: u64,
    ratings: u64,
    successes: u64,
    runs: u64,
    prompt: String,
}

impl PlanRecord {
    fn mean_rating(&self) -> Option<f64> {
        (self.ratings > 0).then(|| self.rating_sum as f64 / self.ratings as f64)
    }

    fn success_rate(&self) -> f64 {
        self.successes as f64 / self.runs.max(1) as f64
    }
}

impl Pairs {
    fn add(&mut self, e: &Example, rating: Option<u8>) {
        let root = e
            .project
            .as_ref()
            .map(|p| p.root.display().to_string())
            .unwrap_or_default();
        let slot = self
            .groups
            .entry((root, e.goal_normalized.clone()))
            .or_default()
            .entry(e.plan.clone())
            .or_default();
        if let Some(r) = rating {
            slot.rating_sum += u64::from(r);
            slot.ratings += 1;
        }
        slot.successes += u64::from(e.success);
        slot.runs += 1;
        slot.prompt = prompt(e);
    }

    fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for plans in self.groups.values() {
            for (hi_plan, hi) in plans {
                for (lo_plan, lo) in plans {
                    let (better, basis) = match (hi.mean_rating(), lo.mean_rating()) {
                        (Some(h), Some(l)) => (h - l >= 1.0, "rating"),
                        _ => (hi.success_rate() - lo.success_rate() >= 0.5, "outcome"),
                    };
                    if better
                        && let Some(line) = to_line(&json!({
                            "prompt": hi.prompt,
                            "chosen": hi_plan,
                            "rejected": lo_plan,
                            "chosen_rating": hi.mean_rating(),
                            "rejected_rating": lo.mean_rating(),
                            "basis": basis,
                        }))
                    {
                        out.push(line);
                    }
                }
            }
        }
        out
    }
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
            job: None,
            part: Default::default(),
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
    fn typed_commands_teach_nothing_and_outcomes_make_pairs() {
        let records = vec![
            example(1, "true", "true", true),
            example(2, "cargo test", "cargo test", true),
            example(3, "check it", "cargo check", true),
            example(4, "check it", "cargo clippy", false),
            example(5, "lint", "cargo clippy", true),
            example(6, "lint", "cargo fmt --check", true),
        ];
        let chat = export(&records, ExportFormat::OpenaiChat, &Filter::default());
        assert_eq!(chat.len(), 3, "{chat:?}");
        let pairs = parsed(&export(
            &records,
            ExportFormat::PreferencePairs,
            &Filter::default(),
        ));
        // Only "check it" has a plan that did better; "lint"'s two both worked, unrated.
        assert_eq!(pairs.len(), 1, "{pairs:?}");
        assert_eq!(pairs[0]["chosen"], "cargo check");
        assert_eq!(pairs[0]["basis"], "outcome");
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
