//! `codex approvals`, `codex approve ID`, `codex deny ID`.

use chrono::Utc;
use codex_proto::methods::{ApprovalAnswer, Approvals, ApprovalsParams};

use super::Out;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Answer one approval if asked, then list what is still held.
pub fn run(target: &Target, out: Out, answer: Option<(u64, bool)>) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    if let Some((id, approved)) = answer {
        // Say exactly what is being answered, before answering.
        let before = client.call::<Approvals>(&ApprovalsParams::default())?;
        if let Some(p) = before.pending.iter().find(|p| p.id == id)
            && !out.json
        {
            println!(
                "{} approval {id} ({}): {}\n  in: {}\n  why: {}",
                if approved { "giving" } else { "denying" },
                p.class,
                p.command,
                place(p.cwd.as_deref(), p.project.as_deref()),
                p.reason
            );
        }
    }
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
    let now = Utc::now();
    // Every command in full: an approval is given to exactly what is shown.
    for p in &r.pending {
        let left = (p.expires - now).num_seconds().max(0) as u64;
        let job = p
            .job
            .map(|j| format!("    from: job {j} (`codex schedule show {j}`)\n"))
            .unwrap_or_default();
        println!(
            "{}  {} (asked because {}; expires in {})\n    {}\n    in: {}\n{job}    why: {}",
            p.id,
            p.class,
            p.why_asked,
            render::uptime(left),
            render::printable(&p.command),
            render::printable(&place(p.cwd.as_deref(), p.project.as_deref())),
            render::printable(&p.reason)
        );
    }
    println!("\n`codex approve ID` lets it run, `codex deny ID` stops it");
    Ok(0)
}

/// Where a held step would run: its folder, and its project when that is another folder.
fn place(cwd: Option<&str>, project: Option<&str>) -> String {
    let Some(cwd) = cwd else {
        return "(not said by this codexd)".into();
    };
    match project {
        Some(p) if p == cwd => format!("{} (the project)", render::home_path(cwd)),
        Some(p) => format!(
            "{} (project {})",
            render::home_path(cwd),
            render::home_path(p)
        ),
        None => format!("{} (in no project)", render::home_path(cwd)),
    }
}
