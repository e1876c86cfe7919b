//! `codex forget RUN_ID | --goal PATTERN | --project DIR | --all`: counts first (a dry run
//! on the daemon), asks, then deletes.

use codex_proto::methods::{Forget, ForgetParams, ForgetResult};

use super::Out;
use crate::cli::ForgetArgs;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Forget what was selected.
pub fn run(target: &Target, out: Out, args: ForgetArgs) -> Result<u8, CliError> {
    let project = super::absolute_dir(args.project)?;
    let mut params = ForgetParams {
        run: args.run,
        goal: args.goal,
        project,
        all: args.all,
        dry_run: true,
    };
    let (mut client, _) = target.connect()?;
    let preview = client.call::<Forget>(&params)?;
    if args.dry_run {
        return report(out, &preview);
    }
    // No run matched: there is nothing to confirm, but held-back commands (signals of no run)
    // may still name the goal or project, so the deletion is still sent.
    let nothing = preview.runs == 0 && preview.dataset_lines == 0;
    let question = format!(
        "Delete {} run{} and {} dataset line{} for good?",
        preview.runs,
        if preview.runs == 1 { "" } else { "s" },
        preview.dataset_lines,
        if preview.dataset_lines == 1 { "" } else { "s" },
    );
    if !nothing && !crate::confirm::ask(&question, args.yes)? {
        eprintln!("codex: nothing deleted");
        return Ok(1);
    }
    params.dry_run = false;
    let done = client.call::<Forget>(&params)?;
    report(out, &done)
}

fn report(out: Out, r: &ForgetResult) -> Result<u8, CliError> {
    if out.json {
        render::json(r)?;
    } else if r.dry_run {
        println!(
            "would forget {} run{} and {} dataset line{}",
            r.runs,
            if r.runs == 1 { "" } else { "s" },
            r.dataset_lines,
            if r.dataset_lines == 1 { "" } else { "s" }
        );
    } else {
        println!(
            "forgot {} run{}, {} dataset line{} and {} rating{}; the profile was rebuilt without them",
            r.runs,
            if r.runs == 1 { "" } else { "s" },
            r.dataset_lines,
            if r.dataset_lines == 1 { "" } else { "s" },
            r.ratings,
            if r.ratings == 1 { "" } else { "s" }
        );
    }
    Ok(0)
}
