//! `codex alerts [--all]`, `codex alerts ack ID`.

use codex_proto::optimizer::{
    AlertAction, AlertView, Alerts, AlertsAck, AlertsAckParams, AlertsParams,
};

use super::Out;
use crate::cli::{AlertsAction, AlertsArgs};
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// List the alerts, or acknowledge one.
pub fn run(target: &Target, out: Out, args: AlertsArgs) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    if let Some(AlertsAction::Ack { id }) = args.action {
        let r = client.call::<AlertsAck>(&AlertsAckParams { id })?;
        if out.json {
            render::json(&r)?;
            return Ok(0);
        }
        println!("acknowledged alert {id}: {}", line(&r.alert));
        match &r.autonomy_paused {
            Some(why) => println!(
                "autonomous work is still paused: {}",
                render::printable(why)
            ),
            None if r.alert.action == AlertAction::PausedAutonomy => {
                println!("scheduled jobs run on their own again")
            }
            None => {}
        }
        return Ok(0);
    }
    let r = client.call::<Alerts>(&AlertsParams { all: args.all })?;
    if out.json {
        render::json(&r)?;
        return Ok(0);
    }
    if let Some(why) = &r.autonomy_paused {
        println!("autonomous work is PAUSED: {}\n", render::printable(why));
    }
    if r.alerts.is_empty() {
        println!(
            "{}",
            if args.all {
                "no alerts"
            } else {
                "no open alerts (`codex alerts --all` shows acknowledged ones)"
            }
        );
        return Ok(0);
    }
    for a in &r.alerts {
        let state = match (a.acked, a.action) {
            (Some(t), _) => format!("acknowledged {}", render::when_exact(t)),
            (None, AlertAction::PausedAutonomy) => "open, pausing scheduled jobs".to_string(),
            (None, AlertAction::Recorded) => "open".to_string(),
        };
        println!(
            "{}  {}  {} ({state})\n    {}",
            a.id,
            render::when_exact(a.raised),
            a.kind.name(),
            line(a)
        );
    }
    if !r.adapting {
        println!("\nadaptation is off (adaptation_mechanisms_enabled: false): nothing is paused");
    }
    println!("\n`codex alerts ack ID` acknowledges one");
    Ok(0)
}

fn line(a: &AlertView) -> String {
    format!(
        "{}: {}",
        render::printable(&a.subject),
        render::printable(&a.evidence)
    )
}
