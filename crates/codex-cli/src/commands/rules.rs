//! `codex rules [list | allow|ask|deny PATTERN | rm PATTERN]`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use codex_proto::jsonrpc::{ErrorObject, codes};
use codex_proto::methods::{RuleEntry, Rules, RulesParams};
use comfy_table::Cell;

use super::Out;
use crate::cli::{RulesAction, RulesArgs};
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Change the rules if asked, then list them.
pub fn run(target: &Target, out: Out, args: RulesArgs) -> Result<u8, CliError> {
    let add = |kind: &str, pattern: String| RulesParams {
        add: Some(RuleEntry {
            kind: kind.into(),
            pattern,
            source: String::new(),
        }),
        ..RulesParams::default()
    };
    let params = match args.action {
        None | Some(RulesAction::List) => RulesParams::default(),
        Some(RulesAction::Allow { pattern }) => add("allow", pattern),
        Some(RulesAction::Ask { pattern }) => add("ask", pattern),
        Some(RulesAction::Deny { pattern }) => add("deny", pattern),
        Some(RulesAction::Rm { pattern }) => RulesParams {
            remove: Some(pattern),
            ..RulesParams::default()
        },
    };
    let (mut client, _) = target.connect()?;
    let r = match client.call::<Rules>(&params) {
        // An allow rule that lifts destructive commands: only a person at this terminal may
        // say yes to it, having read what it lifts.
        Err(CliError::Rpc(e)) if e.code == codes::NEEDS_CONFIRMATION => {
            if !std::io::stdin().is_terminal() {
                return Err(CliError::Rpc(ErrorObject {
                    message: format!("{}; run it from a terminal", e.message),
                    ..e
                }));
            }
            eprintln!("codex: {}", e.message);
            eprint!("add it anyway? [y/N] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                eprintln!("codex: not added");
                return Ok(crate::error::EXIT_REFUSED);
            }
            client.call::<Rules>(&RulesParams {
                confirm_destructive: true,
                ..params
            })?
        }
        other => other?,
    };
    if out.json {
        render::json(&r)?;
        return Ok(0);
    }
    if r.rules.is_empty() {
        println!(
            "no rules: commands are asked by class and comfort (`codex rules deny \"git push --force*\"` adds one)"
        );
        return Ok(0);
    }
    let mut t = render::table(&["KIND", "PATTERN", "FROM"], &[]);
    for rule in &r.rules {
        t.add_row(vec![
            Cell::new(&rule.kind),
            Cell::new(&rule.pattern),
            Cell::new(&rule.source),
        ]);
    }
    render::print_table(&t);
    println!("\ndeny wins over ask over allow; allow never lifts privileged commands");
    Ok(0)
}
