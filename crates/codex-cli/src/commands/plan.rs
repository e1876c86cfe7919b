//! `codex plan "GOAL"`: the plans for a goal in this project, best first, with why.

use std::io::IsTerminal as _;
use std::path::Path;

use codex_proto::methods::{Context, ContextParams, Plan, PlanParams, PlanResult};
use codex_proto::model_planner::PlanPrompt;

use super::{Out, Verbosity};
use crate::client::Client;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Ask the daemon for the plans of `goal` in `cwd`, their programs looked up on this
/// shell's PATH (where `codex run` will run them).
pub fn fetch(client: &mut Client, goal: &str, cwd: &Path) -> Result<PlanResult, CliError> {
    let plans = client.call_plan::<Plan>(&params(goal, cwd))?;
    say_model(&plans);
    Ok(plans)
}

fn params(goal: &str, cwd: &Path) -> PlanParams {
    PlanParams {
        goal: goal.to_string(),
        cwd: cwd.to_path_buf(),
        path: std::env::var("PATH").ok(),
        terminal: std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
    }
}

/// What the language model did wrong, in one line on stderr (its plan, when it gave one,
/// is among the plans, labelled).
fn say_model(plans: &PlanResult) {
    if let Some(ask) = plans.model.as_ref().filter(|a| !a.ok) {
        eprintln!(
            "codex: {} ({})",
            render::printable(&ask.note),
            render::printable(&ask.endpoint)
        );
    }
}

/// `codex plan --show-prompt GOAL`: the request the model would get, sent nowhere.
pub fn show_prompt(target: &Target, out: Out, goal: &str) -> Result<u8, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Other(format!("cannot read the current directory: {e}")))?;
    let (mut client, _) = target.connect()?;
    let r = client.call::<PlanPrompt>(&params(goal, &cwd))?;
    if out.json {
        render::json(&r)?;
        return Ok(0);
    }
    match &r.url {
        Some(url) => println!("POST {url}"),
        None => println!("(no planner.llm.base_url is set: nothing would be sent anywhere)"),
    }
    println!("Content-Type: application/json");
    if let Some(var) = &r.api_key_env {
        println!("Authorization: Bearer ${var}  (the key from codexd's environment; never shown)");
    }
    println!();
    let body = serde_json::to_string_pretty(&r.body)
        .map_err(|e| CliError::Other(format!("cannot print the prompt: {e}")))?;
    println!("{body}");
    eprintln!("codex: mode {}; {}; nothing was sent", r.mode, r.would_ask);
    Ok(0)
}

/// Show the plans; exit 2 when the goal maps to nothing.
pub fn show(target: &Target, out: Out, goal: &str) -> Result<u8, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Other(format!("cannot read the current directory: {e}")))?;
    let (mut client, hello) = target.connect()?;
    let r = fetch(&mut client, goal, &cwd)?;
    if out.json {
        render::json(&r)?;
        return Ok(if r.plans.is_empty() { 2 } else { 0 });
    }
    let verbosity = Verbosity::of(&hello.verbosity);
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
        if verbosity == Verbosity::Terse {
            println!(
                "{}. {}   ({}{})",
                i + 1,
                render::printable(&p.command),
                render::percent(p.confidence),
                match (p.from_model, p.borrowed.is_some()) {
                    (true, true) => ", from the model: asked first",
                    (true, false) => ", from the model",
                    (false, true) => ", borrowed: asked first",
                    (false, false) => "",
                }
            );
            continue;
        }
        println!(
            "{}. {}{}   confidence {}, alignment {:.2}{}",
            i + 1,
            render::printable(&p.command),
            if p.from_model {
                "   [from the model]"
            } else {
                ""
            },
            render::percent(p.confidence),
            p.alignment,
            if verbosity == Verbosity::Verbose {
                format!(", score {:.3}", p.score)
            } else {
                String::new()
            }
        );
        for s in &p.steps {
            let tag = match (s.dry_run, s.class) {
                (true, _) => " [dry run]".to_string(),
                (false, Some(c)) => format!(" [{c}]"),
                (false, None) => String::new(),
            };
            if p.steps.len() > 1 {
                println!("     step: {}{tag}", render::command(&s.argv));
                println!("       why: {}", render::printable(&s.rationale));
            } else {
                println!("     why: {}{tag}", render::printable(&s.rationale));
            }
        }
        println!("     evidence: {}", render::printable(&p.evidence));
        if let Some(from) = &p.borrowed {
            println!(
                "     borrowed from {from}: a step that changes anything is asked the first time"
            );
        }
    }
    if !r.left_out.is_empty() && verbosity != Verbosity::Terse {
        println!("left out:");
        for why in &r.left_out {
            println!("  {why}");
        }
    }
    if verbosity == Verbosity::Terse {
        return Ok(0);
    }
    if !r.ranking.is_empty() {
        println!("\nranked by {}", r.ranking);
    }
    if let Some(ask) = r.model.as_ref().filter(|a| a.ok) {
        println!("asked {}: {}", ask.endpoint, ask.note);
    }
    if !r.embeddings.is_empty() && (r.embeddings != "local" || verbosity == Verbosity::Verbose) {
        println!("goals compared with {}", r.embeddings);
    }
    if !r.similar.is_empty() {
        println!("nearest goals you ran:");
        for s in &r.similar {
            println!(
                "  \"{}\"{}: {} ({} of {} ok; similarity {:.2})",
                s.goal,
                s.project
                    .as_ref()
                    .map_or(String::new(), |p| format!(" in {p}")),
                s.plan,
                s.successes,
                s.runs,
                s.similarity
            );
        }
    }
    let quoted = shlex::try_quote(goal).unwrap_or_else(|_| goal.into());
    println!("\n`codex run {quoted}` runs plan 1; `--pick N` runs another");
    Ok(0)
}

/// `codex context`: what the daemon sees for the current folder.
pub fn context(target: &Target, out: Out) -> Result<u8, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Other(format!("cannot read the current directory: {e}")))?;
    let (mut client, _) = target.connect()?;
    let r = client.call::<Context>(&ContextParams { cwd })?;
    if out.json {
        render::json(&r)?;
        return Ok(0);
    }
    if !r.enabled {
        println!("context awareness is off (context_awareness_enabled: false)");
    }
    match (&r.project, &r.kind) {
        (Some(p), Some(k)) => {
            println!("project   {p} ({k})");
            if !r.languages.is_empty() {
                println!("languages {}", r.languages.join(", "));
            }
            if let Some(at) = r.read_at {
                println!(
                    "read      {} (read again when one of its files changes)",
                    render::when(at)
                );
            }
        }
        _ => println!("project   none (no .git, Cargo.toml, package.json, ... above this folder)"),
    }
    for c in &r.commands {
        println!("  {:<7} {}   ({})", c.task, c.command, c.source);
    }
    if let Some(p) = &r.patterns {
        let goals: Vec<String> = p
            .goals
            .iter()
            .take(5)
            .map(|g| format!("{} ×{}", g.goal, g.count))
            .collect();
        if !goals.is_empty() {
            println!("goals     {}", goals.join(", "));
        }
    }
    println!("comfort   {}", r.comfort);
    for p in &r.preferences {
        println!("prefers   {p}");
    }
    Ok(0)
}
