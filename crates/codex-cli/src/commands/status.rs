//! `codex status`.

use codex_proto::methods::{NoParams, Status};

use super::Out;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Show what the daemon is and what it holds.
pub fn run(target: &Target, out: Out) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let s = client.call::<Status>(&NoParams {})?;
    if out.json {
        render::json(&s)?;
        return Ok(0);
    }
    println!(
        "codexd {} (protocol {}), pid {}, up {}",
        s.version,
        s.protocol,
        s.pid,
        render::uptime(s.uptime_secs)
    );
    println!("home      {}", s.home.display());
    println!("socket    {}", s.socket.display());
    println!(
        "config    {}",
        s.config
            .as_ref()
            .map_or("built-in".into(), |p| p.display().to_string())
    );
    let tracking = if s.tracking {
        "on"
    } else {
        "off: interaction_tracking_enabled is false"
    };
    println!(
        "recorded  {}, {} (tracking {tracking})",
        render::count(s.episodes, "episode", "episodes"),
        render::count(s.ratings, "rating", "ratings")
    );
    println!("running   {}", render::count(s.active_runs, "run", "runs"));
    if let Some(j) = s.jobs.as_ref().filter(|j| j.total > 0) {
        let mut line = render::count(j.total, "job", "jobs");
        if j.paused > 0 {
            line.push_str(&format!(", {} paused", j.paused));
        }
        if let Some(o) = s.optimizer.as_ref().filter(|o| o.jobs_paused > 0) {
            line.push_str(&format!(" ({} by codex: they kept failing)", o.jobs_paused));
        }
        if j.running > 0 {
            line.push_str(&format!(", {} running", j.running));
        }
        if let Some(next) = j.next {
            line.push_str(&format!(", next {}", render::when(next)));
        }
        println!("jobs      {line} (`codex schedule list`)");
    }
    if let Some(o) = &s.optimizer {
        if o.open > 0 {
            println!("alerts    {} open (`codex alerts`)", o.open);
        }
        if let Some(why) = &o.autonomy_paused {
            println!("autonomy  PAUSED: {}", render::printable(why));
        }
        if let Some(v) = o.model {
            println!("model     personal model v{v} is live (`codex model status`)");
        }
    }
    if let Some(m) = &s.planner_model {
        let mut line = format!(
            "{} ({}): {}, {} with a plan, {} failed",
            render::printable(&m.endpoint),
            m.mode,
            render::count(m.asks, "ask", "asks"),
            m.plans,
            m.failures
        );
        if let (Some(median), Some(max)) = (m.latency_ms_median, m.latency_ms_max) {
            line.push_str(&format!(
                "; latency median {:.1} s, max {:.1} s",
                median as f64 / 1000.0,
                max as f64 / 1000.0
            ));
        }
        line.push_str(&format!(
            "; tokens {} prompt, {} answer",
            m.prompt_tokens, m.completion_tokens
        ));
        println!("llm       {line}");
        if let Some(why) = &m.last_failure {
            println!("          last failure: {}", render::printable(why));
        }
    }
    let sb = &s.sandbox;
    if sb.enforced {
        println!(
            "sandbox   enforced ({}, Landlock ABI {}): what runs without your yes cannot write \
             outside the project or reach the network",
            sb.mode, sb.landlock_abi
        );
    } else {
        println!(
            "sandbox   NOT enforced ({}): {}; only read-only steps run without asking",
            sb.mode, sb.reason
        );
    }
    for line in &sb.allows {
        println!("          - {line}");
    }
    Ok(0)
}
