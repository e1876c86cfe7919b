//! `codex teach PHRASE -- CMD` / `--steps FILE`, and `codex playbooks [list|show|rm]`.

use codex_proto::methods::{Playbooks, PlaybooksParams, PlaybooksResult, Teach, TeachParams};
use serde::Deserialize;

use super::Out;
use crate::cli::{PlaybooksAction, PlaybooksArgs, TeachArgs};
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// A step in a steps file: a command line, or its words.
#[derive(Deserialize)]
#[serde(untagged)]
enum StepSpec {
    Line(String),
    Words(Vec<String>),
}

fn read_steps(path: &std::path::Path) -> Result<Vec<Vec<String>>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let specs: Vec<StepSpec> = serde_norway::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "{}: not a YAML list of steps (each a command line or a list of words): {e}",
            path.display()
        ))
    })?;
    specs
        .into_iter()
        .enumerate()
        .map(|(i, s)| match s {
            StepSpec::Words(w) => Ok(w),
            StepSpec::Line(l) => shlex::split(&l).ok_or_else(|| {
                CliError::Usage(format!(
                    "step {} of {}: unbalanced quotes",
                    i + 1,
                    path.display()
                ))
            }),
        })
        .collect()
}

/// Teach a playbook.
pub fn teach(target: &Target, out: Out, args: TeachArgs) -> Result<u8, CliError> {
    let steps = match &args.steps {
        Some(file) => read_steps(file)?,
        None => vec![args.argv.clone()],
    };
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Other(format!("cannot read the current directory: {e}")))?;
    let (mut client, _) = target.connect()?;
    let r = client.call::<Teach>(&TeachParams {
        phrase: args.phrase.clone(),
        steps,
        cwd,
        global: args.global,
    })?;
    if out.json {
        render::json(&r)?;
    } else {
        println!(
            "taught \"{}\"{}: `codex run \"{}\"` now runs it",
            args.phrase,
            if args.global {
                " (every project)"
            } else {
                " (this project)"
            },
            args.phrase
        );
    }
    Ok(0)
}

/// List, show or remove playbooks.
pub fn playbooks(target: &Target, out: Out, args: PlaybooksArgs) -> Result<u8, CliError> {
    let (remove, show) = match args.action {
        None | Some(PlaybooksAction::List) => (None, None),
        Some(PlaybooksAction::Show { phrase }) => (None, Some(phrase)),
        Some(PlaybooksAction::Rm { phrase }) => (Some(phrase), None),
    };
    let (mut client, _) = target.connect()?;
    let r: PlaybooksResult = client.call::<Playbooks>(&PlaybooksParams { remove })?;
    if out.json {
        render::json(&r)?;
        return Ok(0);
    }
    let wanted = show.map(|p| p.trim().to_lowercase());
    let shown: Vec<_> = r
        .playbooks
        .iter()
        .filter(|p| wanted.as_ref().is_none_or(|w| &p.phrase == w))
        .collect();
    if shown.is_empty() {
        println!(
            "no playbooks{}",
            if wanted.is_some() {
                " by that phrase"
            } else {
                ""
            }
        );
        return Ok(if wanted.is_some() { 2 } else { 0 });
    }
    for p in shown {
        println!(
            "\"{}\" ({})",
            p.phrase,
            p.project.as_deref().unwrap_or("every project")
        );
        for (i, step) in p.steps.iter().enumerate() {
            let line = render::command(step);
            println!("  {}. {line}", i + 1);
        }
    }
    Ok(0)
}
