//! `codex show RUN`: one run in full.

use codex_proto::runs::{RunDetail, RunShow, RunShowParams};
use codex_proto::types::RunId;

use super::Out;
use crate::cli::ShowArgs;
use crate::client::Client;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Fetch run `run` (the last run when `None`); an unknown id says so and names
/// `codex history`.
pub fn fetch(client: &mut Client, run: Option<RunId>) -> Result<RunDetail, CliError> {
    client.call::<RunShow>(&RunShowParams { run })
}

/// Show one run.
pub fn run(target: &Target, out: Out, args: ShowArgs) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let d = fetch(&mut client, args.run.id())?;
    if out.json {
        render::json(&d)?;
        return Ok(0);
    }
    print!("{}", text(&d));
    Ok(0)
}

/// The run as people read it.
fn text(d: &RunDetail) -> String {
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line(format!(
        "run {}: {} in {}, {}",
        d.run_id,
        d.outcome.label(),
        render::duration_ms(d.duration_ms),
        render::when(d.started_at)
    ));
    line(format!(
        "goal:     {}",
        if d.goal_given {
            d.goal.as_str()
        } else {
            "- (a command you gave)"
        }
    ));
    line(format!("command:  {}", d.command));
    line(format!("folder:   {}", render::home_path(&d.cwd)));
    line(format!(
        "project:  {}",
        match (&d.project, &d.project_kind) {
            (Some(p), Some(k)) => format!("{} ({k})", render::home_path(p)),
            (Some(p), None) => render::home_path(p),
            (None, _) => "- (in no project)".into(),
        }
    ));
    match &d.plan {
        Some(p) => {
            line(format!(
                "plan:     {} (plan {} of {} codex showed for this goal)",
                p.command, p.pick, p.of
            ));
            line(format!("  why:      {}", p.rationale));
            line(format!("  evidence: {}", p.evidence));
            if !p.ranking.is_empty() {
                line(format!("  ranked by {}", p.ranking));
            }
        }
        None => line("plan:     your command (not planned by codex)".into()),
    }
    if let Some(c) = d.min_class {
        line(format!("declared: its tool is declared {c}"));
    }
    line(format!(
        "rating:   {}",
        match (d.rating, &d.comment) {
            (Some(r), Some(c)) => format!("{r}/5 ({c})"),
            (Some(r), None) => format!("{r}/5"),
            (None, _) => format!("- (rate it: codex rate 1..5 --run {})", d.run_id),
        }
    ));
    if d.approvals.is_empty() {
        line("approvals: none needed".into());
    } else {
        line("approvals:".into());
        for a in &d.approvals {
            line(format!(
                "  {} ({}): {} by {}",
                if a.approved { "given" } else { "not given" },
                a.class,
                a.reason,
                a.by
            ));
        }
    }
    for (i, st) in d.steps.iter().enumerate() {
        line(String::new());
        line(format!("step {}: {}", i + 1, st.command));
        if let Some(c) = &st.cwd {
            line(format!("  folder:  {}", render::home_path(c)));
        }
        let class = match (&st.class, &st.class_reason) {
            (Some(c), Some(r)) => format!("{c} ({r})"),
            (Some(c), None) => c.to_string(),
            (None, _) => "not recorded".into(),
        };
        line(format!("  class:   {class}"));
        line(format!(
            "  sandbox: {}",
            match st.confined {
                Some(true) => "confined",
                Some(false) => "unconfined (a yes was typed for it)",
                None => "not recorded",
            }
        ));
        line(format!(
            "  result:  {} (exit status {}) in {}",
            st.outcome.label(),
            st.exit_status,
            render::duration_ms(st.duration_ms)
        ));
        if st.output_tail.is_empty() {
            line("  output:  none kept".into());
        } else {
            line("  output (the end):".into());
            for l in st.output_tail.lines() {
                line(format!("    {l}"));
            }
        }
    }
    if d.steps.is_empty() {
        line(String::new());
        line("steps: not recorded (this run was rebuilt from the dataset)".into());
    }
    s
}
