//! `codex model status|train|promote V|rollback`.

use codex_proto::methods::NoParams;
use codex_proto::optimizer::{
    ModelMetrics, ModelPromote, ModelPromoteParams, ModelRollback, ModelState, ModelStatus,
    ModelTrain, ModelTrainParams, ModelVersionView,
};

use super::Out;
use crate::cli::ModelCommand;
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Run one `codex model` command.
pub fn run(target: &Target, out: Out, cmd: ModelCommand) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    match cmd {
        ModelCommand::Status => {
            let r = client.call::<ModelStatus>(&NoParams {})?;
            if out.json {
                render::json(&r)?;
                return Ok(0);
            }
            match r.live {
                Some(v) => println!("live: personal model v{v}"),
                None => println!("live: the config's parameters (no personal model is live)"),
            }
            if let Some(t) = &r.training {
                println!(
                    "training: {}% (started {}, {})",
                    t.percent,
                    render::when_exact(t.started),
                    t.trigger
                );
            }
            if let Some(e) = &r.last_error {
                println!("last training gave no model: {e}");
            }
            println!(
                "{} new runs since the last training; trains {}",
                r.new_examples, r.triggers
            );
            for v in &r.versions {
                print_version(v);
            }
            if r.versions.is_empty() {
                println!("no versions yet: `codex model train` trains one");
            }
            Ok(0)
        }
        ModelCommand::Train { detach } => {
            let params = ModelTrainParams { wait: !detach };
            let r = if detach {
                client.call::<ModelTrain>(&params)?
            } else {
                if !out.json {
                    eprintln!("codex: training a personal model on your data…");
                }
                client.call_waiting::<ModelTrain>(&params)?
            };
            if out.json {
                render::json(&r)?;
                return Ok(0);
            }
            match &r.version {
                Some(v) => {
                    print_version(v);
                    if r.promoted {
                        println!("it is live now (`codex model rollback` undoes it)");
                    } else if v.state == ModelState::Rejected {
                        println!("not promoted; the live model stays");
                    } else {
                        println!("not live: `codex model promote {}` makes it so", v.version);
                    }
                }
                None if r.running => {
                    println!("training; `codex model status` shows its progress")
                }
                None => println!("no training started"),
            }
            Ok(0)
        }
        ModelCommand::Promote { number: version } => {
            let r = client.call::<ModelPromote>(&ModelPromoteParams { version })?;
            if out.json {
                render::json(&r)?;
            } else {
                println!("personal model v{version} is live (was {})", was(r.was));
            }
            Ok(0)
        }
        ModelCommand::Rollback => {
            let r = client.call::<ModelRollback>(&NoParams {})?;
            if out.json {
                render::json(&r)?;
            } else {
                println!("rolled back from {} to {}", was(r.was), was(r.live));
            }
            Ok(0)
        }
    }
}

fn was(v: Option<u32>) -> String {
    v.map_or_else(|| "the config's parameters".into(), |v| format!("v{v}"))
}

fn metrics(m: &ModelMetrics) -> String {
    let mut s = format!(
        "plan choice on {} held-out runs: log-likelihood {:.3}, Brier {:.3}, top-1 {:.2}",
        m.plan_examples, m.log_likelihood, m.brier, m.top1
    );
    if let Some((t1, t5)) = m.next_goal {
        s.push_str(&format!("; next goal top-1 {t1:.2}, top-5 {t5:.2}"));
    }
    if let Some(o) = &m.ope {
        s.push_str(&format!(
            "; from the decision log: {} of {} decisions match",
            o.matching, o.decisions
        ));
        if let (Some(ips), Some(snips)) = (o.ips, o.snips) {
            s.push_str(&format!(", IPS {ips:.3}, SNIPS {snips:.3}"));
        }
        if let Some(l) = o.logged {
            s.push_str(&format!(" (what was done: {l:.3})"));
        }
    }
    s
}

fn print_version(v: &ModelVersionView) {
    let state = match v.state {
        ModelState::Live => "live",
        ModelState::Retired => "retired",
        ModelState::Rejected => "rejected",
        ModelState::Candidate => "candidate",
    };
    println!(
        "\nv{}  {state}  trained {} ({})",
        v.version,
        render::when_exact(v.created),
        v.trigger
    );
    if let Some(r) = &v.reason {
        println!("  why not live: {r}");
    }
    println!("  data:    {}", v.data);
    println!("  this:    {}", metrics(&v.metrics));
    if let Some(l) = &v.live_metrics {
        println!("  live:    {}", metrics(l));
    }
    let params: Vec<String> = v.params.iter().map(|(k, x)| format!("{k} {x}")).collect();
    println!("  params:  {}", params.join(", "));
}
