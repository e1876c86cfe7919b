//! `codex rate SCORE [--run ID] [--comment TEXT]`.

use codex_proto::methods::{Rate, RateParams};

use super::Out;
use crate::cli::RateArgs;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Rate a run; the daemon has it on disk before it answers.
pub fn run(target: &Target, out: Out, args: RateArgs) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let res = client.call::<Rate>(&RateParams {
        score: args.score,
        run_id: args.run,
        comment: args.comment,
    })?;
    if out.json {
        render::json(&res)?;
        return Ok(0);
    }
    let replaced = res
        .previous
        .map(|p| format!(", replacing {p}/5"))
        .unwrap_or_default();
    println!(
        "rated run {} ({}): {}/5{replaced}",
        res.run_id,
        render::truncate(&res.goal, 60),
        res.score
    );
    Ok(0)
}
