//! `import` and `import/mark`: shell history into workflow patterns and the dataset (the
//! learning pipeline), a project's own commands typed in that project into evidence for them
//! (the feedback collector's shell habits), and how far each history file's import got, so
//! importing it again adds only what is new.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use codex_proto::jsonrpc::{ErrorObject, codes};
use codex_proto::methods::{
    ImportEntry, ImportMarkParams, ImportMarkResult, ImportParams, ImportResult,
};

use super::Ctx;
use super::dispatch::{IMPORT_MAX, feedback_error, learning_error};
use crate::context::commands::{self, Offered};
use crate::context::project::{self, Project};
use crate::episode::Draft;
use crate::learning::{normalize, redact};

/// Fingerprints a mark may carry, and the longest one.
const MARK_TAIL: usize = 16;
const FINGERPRINT_LEN: usize = 64;

/// Record a batch of imported history.
pub async fn import(ctx: &Ctx, p: ImportParams) -> Result<ImportResult, ErrorObject> {
    if p.entries.len() > IMPORT_MAX {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!(
                "{} entries in one import; send at most {IMPORT_MAX} per call",
                p.entries.len()
            ),
        ));
    }
    if let Some(m) = &p.mark
        && (!std::path::Path::new(&m.file).is_absolute()
            || m.tail.len() > MARK_TAIL
            || m.tail.iter().any(|f| f.len() > FINGERPRINT_LEN))
    {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!(
                "the import mark needs an absolute file and at most {MARK_TAIL} fingerprints of \
                 at most {FINGERPRINT_LEN} characters"
            ),
        ));
    }
    let habits = if ctx.info.context_aware && ctx.info.tracking {
        habits(&p.entries)
    } else {
        Vec::new()
    };
    let observed = observed(&p.entries);
    let done = ctx
        .learning
        .import(p.source, p.entries, p.mark)
        .await
        .map_err(learning_error)?;
    // Imported only once they are in the dataset the model is rebuilt from.
    if ctx.info.tracking {
        let _ = ctx.scheduler.observe(observed).await;
    }
    let taught = ctx.feedback.typed(habits).await.map_err(feedback_error)?;
    Ok(ImportResult {
        imported: done.imported,
        skipped: done.skipped,
        taught,
    })
}

/// The entries as the next-goal model learns them: typed commands, with time and project
/// where the history tells.
fn observed(entries: &[ImportEntry]) -> Vec<crate::scheduler::patterns::Observed> {
    entries
        .iter()
        .map(|e| {
            let command = redact::redact(e.command.trim()).into_owned();
            let project = e.cwd.as_deref().and_then(project::detect).map(|p| p.root);
            let at = e.at.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0));
            crate::scheduler::patterns::Observed::typed(&command, at, project.as_deref())
        })
        .collect()
}

/// How far the last import of a file got.
pub async fn mark(ctx: &Ctx, p: ImportMarkParams) -> Result<ImportMarkResult, ErrorObject> {
    let tail = ctx
        .learning
        .import_mark(p.file)
        .await
        .map_err(learning_error)?;
    Ok(ImportMarkResult { tail })
}

/// The entries typed in a project that are one of its commands for a task, each named for
/// that task's shell habit in that project. Each folder's project is read once.
pub(super) fn habits(entries: &[ImportEntry]) -> Vec<(Draft, DateTime<Utc>)> {
    let mut folders: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
    let mut projects: HashMap<PathBuf, (Project, Vec<Offered>)> = HashMap::new();
    let mut out = Vec::new();
    for e in entries {
        let Some(cwd) = e.cwd.as_ref().filter(|c| c.is_absolute()) else {
            continue;
        };
        let root = folders.entry(cwd.clone()).or_insert_with(|| {
            let p = project::detect(cwd).filter(|_| cwd.is_dir())?;
            let root = p.root.clone();
            projects
                .entry(root.clone())
                .or_insert_with(|| (p.clone(), commands::offered(&p)));
            Some(root)
        });
        let Some((_, offered)) = root.as_ref().and_then(|r| projects.get(r)) else {
            continue;
        };
        let Some(argv) = shlex::split(&e.command) else {
            continue;
        };
        let Some(task) = task_of_typed(&argv, offered) else {
            continue;
        };
        let draft = Draft::new(Some(&normalize::shell_habit(task)), &argv, cwd);
        // A command with a secret taken out could not be run as typed: not a habit to offer.
        if draft.plan.contains(redact::MARKER_PREFIX) {
            continue;
        }
        let at =
            e.at.and_then(|t| DateTime::from_timestamp(t, 0))
                .unwrap_or_else(Utc::now);
        out.push((draft, at));
    }
    out
}

/// The task a typed command does in a project offering `offered`: one of its commands (the
/// same program and subcommand: `cargo test --release` is `cargo test`), or its program with
/// a subcommand named for a task (`cargo nextest run` tests, `npm run lint:fix` lints).
pub fn task_of_typed<'o>(argv: &[String], offered: &'o [Offered]) -> Option<&'o str> {
    let program = crate::episode::program_name(argv);
    // The word that names what it does: the first that is not an option, and for a package
    // manager the script after `run` (`npm run test` and `npm test` are the same).
    let runs_scripts = matches!(program.as_str(), "npm" | "pnpm" | "yarn" | "bun");
    let sub = |a: &[String]| {
        a.iter()
            .skip(1)
            .filter(|w| !w.starts_with('-'))
            .find(|w| !(runs_scripts && matches!(w.as_str(), "run" | "run-script")))
            .cloned()
    };
    let mine = sub(argv);
    let same_program: Vec<&Offered> = offered
        .iter()
        .filter(|o| crate::episode::program_name(&o.argv) == program)
        .collect();
    if let Some(o) = same_program.iter().find(|o| o.argv == argv) {
        return Some(o.task.as_str());
    }
    // The same program and subcommand: `cargo test --release` is `cargo test`.
    if let Some(o) = same_program.iter().find(|o| sub(&o.argv) == mine) {
        return Some(o.task.as_str());
    }
    let named = mine?;
    if same_program.is_empty() {
        return None;
    }
    let lower = named.to_ascii_lowercase();
    let task = commands::task_of_name(&lower).or_else(|| {
        [
            ("test", "test"),
            ("lint", "lint"),
            ("fmt", "format"),
            ("format", "format"),
        ]
        .iter()
        .find(|(word, _)| lower.contains(word))
        .map(|(_, task)| *task)
    })?;
    offered
        .iter()
        .find(|o| o.task == task)
        .map(|o| o.task.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    fn offered(list: &[(&str, &[&str])]) -> Vec<Offered> {
        list.iter()
            .map(|(task, argv)| Offered {
                task: task.to_string(),
                argv: v(argv),
                source: "test".into(),
                dry_run: None,
            })
            .collect()
    }

    #[test]
    fn a_typed_command_is_evidence_for_the_task_its_project_offers_it_for() {
        let rust = offered(&[
            ("test", &["cargo", "test"]),
            ("build", &["cargo", "build"]),
            ("lint", &["cargo", "clippy"]),
        ]);
        assert_eq!(task_of_typed(&v(&["cargo", "test"]), &rust), Some("test"));
        assert_eq!(
            task_of_typed(&v(&["cargo", "test", "--release"]), &rust),
            Some("test")
        );
        assert_eq!(
            task_of_typed(&v(&["cargo", "nextest", "run"]), &rust),
            Some("test")
        );
        assert_eq!(
            task_of_typed(&v(&["cargo", "build", "--release"]), &rust),
            Some("build")
        );
        assert_eq!(task_of_typed(&v(&["cargo", "add", "serde"]), &rust), None);
        assert_eq!(task_of_typed(&v(&["git", "status"]), &rust), None);
        let node = offered(&[
            ("test", &["npm", "run", "test"]),
            ("lint", &["npm", "run", "lint"]),
        ]);
        assert_eq!(task_of_typed(&v(&["npm", "test"]), &node), Some("test"));
        assert_eq!(
            task_of_typed(&v(&["npm", "run", "lint:fix"]), &node),
            Some("lint")
        );
        assert_eq!(task_of_typed(&v(&["npm", "install"]), &node), None);
        let py = offered(&[("test", &["pytest"]), ("lint", &["ruff", "check", "."])]);
        assert_eq!(task_of_typed(&v(&["pytest", "-x"]), &py), Some("test"));
        assert_eq!(
            task_of_typed(&v(&["ruff", "check", "src"]), &py),
            Some("lint")
        );
    }
}
