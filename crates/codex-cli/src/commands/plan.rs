//! `codex plan "GOAL"`: the plans for a goal in this project, best first, with why.

use std::path::Path;

use codex_proto::methods::{Plan, PlanParams, PlanResult};

use super::Out;
use crate::client::Client;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Ask the daemon for the plans of `goal` in `cwd`.
pub fn fetch(client: &mut Client, goal: &str, cwd: &Path) -> Result<PlanResult, CliError> {
    client.call::<Plan>(&PlanParams {
        goal: goal.to_string(),
        cwd: cwd.to_path_buf(),
    })
}

/// Show the plans; exit 2 when the goal maps to nothing.
pub fn show(target: &Target, out: Out, goal: &str) -> Result<u8, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Other(format!("cannot read the current directory: {e}")))?;
    let (mut client, _) = target.connect()?;
    let r = fetch(&mut client, goal, &cwd)?;
    if out.json {
        render::json(&r)?;
        return Ok(if r.plans.is_empty() { 2 } else { 0 });
    }
    if let Some(why) = &r.unknown {
        eprintln!("codex: no plan: {why}");
        return Ok(2);
    }
    println!(
        "\"{}\"{}{}",
        r.goal,
        r.task
            .as_ref()
            .map_or(String::new(), |t| format!(" is `{t}`")),
        r.project
            .as_ref()
            .map_or(String::new(), |p| format!(" in {p}"))
    );
    for (i, p) in r.plans.iter().enumerate() {
        println!(
            "{}. {}   confidence {}, alignment {:.2}",
            i + 1,
            p.command,
            render::percent(p.confidence),
            p.alignment
        );
        for s in &p.steps {
            println!("     why: {}", s.rationale);
        }
        println!("     evidence: {}", p.evidence);
    }
    println!("\n`codex run \"{goal}\"` runs plan 1; `--pick N` runs another");
    Ok(0)
}
