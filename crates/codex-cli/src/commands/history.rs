//! `codex history [--limit N]`.

use codex_proto::methods::{History, HistoryParams};
use comfy_table::Cell;

use super::Out;
use crate::cli::HistoryArgs;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// List recent runs, newest first.
pub fn run(target: &Target, out: Out, args: HistoryArgs) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let res = client.call::<History>(&HistoryParams {
        limit: Some(args.limit),
    })?;
    if out.json {
        render::json(&res)?;
        return Ok(0);
    }
    if res.runs.is_empty() {
        println!("no runs recorded yet: try `codex run -- CMD`");
        return Ok(0);
    }
    let mut t = render::table(
        &["RUN", "WHEN", "RESULT", "TIME", "RATING", "GOAL"],
        &[0, 3],
    );
    for r in &res.runs {
        t.add_row(vec![
            Cell::new(r.run_id),
            Cell::new(render::when(r.started_at)),
            Cell::new(r.outcome.label()),
            Cell::new(render::duration_ms(r.duration_ms)),
            Cell::new(r.rating.map_or("-".into(), |s| format!("{s}/5"))),
            Cell::new(render::truncate(&r.goal, 70)),
        ]);
    }
    render::print_table(&t);
    Ok(0)
}
