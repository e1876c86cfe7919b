//! `codex history [--limit N] [--failed] [--project DIR] [--goal TEXT] [--since WHEN]`.

use codex_proto::methods::{History, HistoryParams};
use comfy_table::Cell;

use super::Out;
use crate::cli::HistoryArgs;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Widths the table cuts its text columns to; `--json` has them in full.
const GOAL_WIDTH: usize = 40;
const COMMAND_WIDTH: usize = 48;
const PROJECT_WIDTH: usize = 28;

/// List recent runs, newest first.
pub fn run(target: &Target, out: Out, args: HistoryArgs) -> Result<u8, CliError> {
    let since = args
        .since
        .as_deref()
        .map(|s| crate::when::parse_since(s, chrono::Utc::now()))
        .transpose()
        .map_err(|e| CliError::Usage(format!("--since {e}")))?;
    let filtered = args.failed || args.project.is_some() || args.goal.is_some() || since.is_some();
    let params = HistoryParams {
        limit: Some(args.limit),
        failed: args.failed,
        project: super::absolute_dir(args.project)?,
        goal: args.goal,
        since,
    };
    let (mut client, _) = target.connect()?;
    let res = client.call::<History>(&params)?;
    if out.json {
        render::json(&res)?;
        return Ok(0);
    }
    if res.runs.is_empty() {
        if filtered {
            println!("no runs match: `codex history` without filters lists every recent run");
        } else {
            println!("no runs recorded yet: try `codex run -- CMD`");
        }
        return Ok(0);
    }
    // Who started a run is said only when some were not started by you.
    let by = res.runs.iter().any(|r| !r.trigger.is_user());
    let mut header = vec![
        "RUN", "WHEN", "RESULT", "TIME", "RATING", "PROJECT", "GOAL", "COMMAND",
    ];
    if by {
        header.insert(1, "BY");
    }
    let mut t = render::table(&header, &[0, 3 + usize::from(by)]);
    for r in &res.runs {
        // An explicit command's goal is its command line: say it once.
        let goal = if r.goal == r.command {
            "-".to_string()
        } else {
            render::truncate(&r.goal, GOAL_WIDTH)
        };
        let project = r.project.as_deref().map_or("-".to_string(), |p| {
            render::truncate_left(&render::home_path(p), PROJECT_WIDTH)
        });
        let mut row = vec![
            Cell::new(r.run_id),
            Cell::new(render::when(r.started_at)),
            Cell::new(r.outcome.label()),
            Cell::new(render::duration_ms(r.duration_ms)),
            Cell::new(r.rating.map_or("-".into(), |s| format!("{s}/5"))),
            Cell::new(project),
            Cell::new(goal),
            Cell::new(render::truncate(&r.command, COMMAND_WIDTH)),
        ];
        if by {
            let who = match (r.trigger, r.job) {
                (_, Some(job)) => format!("job {job}"),
                (codex_proto::types::Trigger::Suggestion, None) => "suggestion".into(),
                (codex_proto::types::Trigger::Schedule, None) => "schedule".into(),
                (codex_proto::types::Trigger::User, None) => "you".into(),
            };
            row.insert(1, Cell::new(who));
        }
        t.add_row(row);
    }
    render::print_table(&t);
    Ok(0)
}
