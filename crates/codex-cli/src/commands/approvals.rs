//! `codex approvals`, `codex approve ID`, `codex deny ID`.

use chrono::Utc;
use codex_proto::methods::{ApprovalAnswer, Approvals, ApprovalsParams};
use comfy_table::Cell;

use super::Out;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Answer one approval if asked, then list what is still held.
pub fn run(target: &Target, out: Out, answer: Option<(u64, bool)>) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let r = client.call::<Approvals>(&ApprovalsParams {
        answer: answer.map(|(id, approved)| ApprovalAnswer { id, approved }),
    })?;
    if out.json {
        render::json(&r)?;
        return Ok(0);
    }
    if let Some((id, approved)) = answer {
        println!(
            "{} approval {id}{}",
            if approved { "gave" } else { "denied" },
            if approved {
                ": its run goes ahead"
            } else {
                ": its run does not happen"
            }
        );
    }
    if r.pending.is_empty() {
        println!("no approvals waiting");
        return Ok(0);
    }
    let mut t = render::table(&["ID", "CLASS", "COMMAND", "WHY ASKED", "EXPIRES IN"], &[0]);
    let now = Utc::now();
    for p in &r.pending {
        let left = (p.expires - now).num_seconds().max(0) as u64;
        t.add_row(vec![
            Cell::new(p.id),
            Cell::new(p.class.to_string()),
            Cell::new(render::truncate(&p.command, 50)),
            Cell::new(&p.why_asked),
            Cell::new(render::uptime(left)),
        ]);
    }
    render::print_table(&t);
    println!("\n`codex approve ID` lets it run, `codex deny ID` stops it");
    Ok(0)
}
