//! `codex rerun [RUN | --last-failed] [--yes] [--dry-run]`: a recorded run's command again,
//! in its folder, as a new run. It goes through `codex run` itself (the same request, so the
//! same classification, rules, questions and sandbox), with the run's goal when it had one
//! and the class its plan's tool declared, so a rerun is never treated as less dangerous
//! than the run it repeats.

use std::path::Path;

use codex_proto::methods::{History, HistoryParams};
use codex_proto::runs::RunDetail;

use super::Out;
use crate::cli::{RerunArgs, RunArgs, RunRef};
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Run the chosen run's command again.
pub fn run(target: &Target, out: Out, args: RerunArgs) -> Result<u8, CliError> {
    let d = {
        let (mut client, _) = target.connect()?;
        if args.last_failed {
            let failed = client.call::<History>(&HistoryParams {
                limit: Some(1),
                failed: true,
                ..HistoryParams::default()
            })?;
            let Some(last) = failed.runs.first() else {
                return Err(CliError::Usage(
                    "no failed run is recorded, so there is nothing to rerun (`codex history` \
                     lists the runs there are)"
                        .into(),
                ));
            };
            super::show::fetch(&mut client, Some(last.run_id))?
        } else {
            super::show::fetch(&mut client, args.run.and_then(RunRef::id))?
        }
    };
    let run_args = repeat(&d, &args)?;
    let cwd = Path::new(&d.cwd);
    if !cwd.is_dir() {
        return Err(CliError::Usage(format!(
            "run {} ran in {}, which is not there any more: nothing was run",
            d.run_id, d.cwd
        )));
    }
    // `codex run` runs in the current directory: the run's folder, from here on.
    std::env::set_current_dir(cwd).map_err(|e| {
        CliError::Other(format!(
            "cannot go to {} to rerun run {}: {e}",
            d.cwd, d.run_id
        ))
    })?;
    eprintln!(
        "codex: {} run {} ({}): `{}` in {}",
        if args.dry_run {
            "checking a rerun of"
        } else {
            "rerunning"
        },
        d.run_id,
        d.outcome.label(),
        d.command,
        render::home_path(&d.cwd)
    );
    super::run::run(target, out, run_args)
}

/// What `codex run` is given to repeat `d`: its words, its goal if it had one, its tool's
/// declared class.
fn repeat(d: &RunDetail, args: &RerunArgs) -> Result<RunArgs, CliError> {
    if d.redacted {
        return Err(CliError::Usage(format!(
            "run {}'s command held a secret, which codex does not keep (`{}`): run it \
             yourself with `codex run -- CMD`",
            d.run_id, d.command
        )));
    }
    if d.argv.is_empty() {
        return Err(CliError::Usage(format!(
            "run {} has no command recorded: nothing to rerun",
            d.run_id
        )));
    }
    Ok(RunArgs {
        yes: args.yes,
        dry_run: args.dry_run,
        unconfined: false,
        detach: false,
        goal: d.goal_given.then(|| d.goal.clone()),
        pick: None,
        task: None,
        argv: d.argv.clone(),
        min_class: d.min_class,
        suggestion: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use codex_proto::types::{RunId, RunOutcome, RunPart, SafetyClass};

    fn detail(argv: &[&str], goal: Option<&str>) -> RunDetail {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        RunDetail {
            run_id: RunId(15),
            goal: goal.map_or_else(|| argv.join(" "), str::to_string),
            goal_given: goal.is_some(),
            command: argv.join(" "),
            redacted: argv.iter().any(|w| w.contains("[REDACTED:")),
            argv,
            cwd: "/p".into(),
            project: None,
            project_kind: None,
            started_at: Utc::now(),
            finished_at: Utc::now(),
            outcome: RunOutcome::Exited { code: 1 },
            duration_ms: 5,
            plan: None,
            part: RunPart::Whole,
            min_class: Some(SafetyClass::Network),
            steps: Vec::new(),
            approvals: Vec::new(),
            rating: None,
            comment: None,
            trigger: Default::default(),
            job: None,
        }
    }

    fn plain() -> RerunArgs {
        RerunArgs {
            run: None,
            last_failed: false,
            yes: false,
            dry_run: false,
        }
    }

    #[test]
    fn a_rerun_keeps_the_words_the_goal_and_the_declared_class() {
        let a = repeat(
            &detail(&["npm", "run", "build"], Some("clean the build")),
            &plain(),
        )
        .unwrap();
        assert_eq!(a.argv, ["npm", "run", "build"]);
        assert_eq!(a.goal.as_deref(), Some("clean the build"));
        assert_eq!(a.min_class, Some(SafetyClass::Network));
        assert!(!a.yes && !a.unconfined && !a.detach && a.task.is_none());
        let a = repeat(&detail(&["make"], None), &plain()).unwrap();
        assert_eq!(a.goal, None);
    }

    #[test]
    fn a_command_with_a_secret_cut_out_is_not_rerun() {
        let e = repeat(&detail(&["login", "[REDACTED:password]"], None), &plain()).unwrap_err();
        assert!(e.to_string().contains("held a secret"), "{e}");
    }
}
