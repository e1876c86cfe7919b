//! `codex schedule add|list|show|rm|pause|resume|run|replan`.

use codex_proto::schedule::{
    CatchUp, JobDetail, JobIdParams, JobPolicy, JobView, OccurrenceResult, OccurrenceView,
    ScheduleAdd, ScheduleAddParams, ScheduleList, ScheduleListParams, SchedulePause,
    ScheduleRemove, ScheduleReplan, ScheduleResume, ScheduleRun, ScheduleShow, When,
};
use comfy_table::Cell;

use super::Out;
use crate::cli::{CatchUpArg, PolicyArg, ScheduleAddArgs, ScheduleCommand};
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Run one `codex schedule` command.
pub fn run(target: &Target, out: Out, cmd: ScheduleCommand) -> Result<u8, CliError> {
    match cmd {
        ScheduleCommand::Add(args) => add(target, out, args),
        ScheduleCommand::List => list(target, out),
        ScheduleCommand::Show { id } => {
            let (mut client, _) = target.connect()?;
            let d = client.call::<ScheduleShow>(&JobIdParams { id, path: None })?;
            print_detail(out, &d, None)
        }
        ScheduleCommand::Rm { id } => {
            let (mut client, _) = target.connect()?;
            let j = client.call::<ScheduleRemove>(&JobIdParams { id, path: None })?;
            changed(out, &j, "removed (its past runs stay in `codex history`)")
        }
        ScheduleCommand::Pause { id } => {
            let (mut client, _) = target.connect()?;
            let j = client.call::<SchedulePause>(&JobIdParams { id, path: None })?;
            changed(
                out,
                &j,
                "paused: nothing runs until `codex schedule resume`",
            )
        }
        ScheduleCommand::Resume { id } => {
            let (mut client, _) = target.connect()?;
            let j = client.call::<ScheduleResume>(&JobIdParams { id, path: None })?;
            let next = j
                .next
                .map(|t| format!("; next {}", render::when_exact(t)))
                .unwrap_or_default();
            changed(out, &j, &format!("resumed{next}"))
        }
        ScheduleCommand::Run { id } => {
            let (mut client, _) = target.connect()?;
            let o = client.call_waiting::<ScheduleRun>(&JobIdParams { id, path: None })?;
            if out.json {
                render::json(&o)?;
            } else {
                println!("{}", occurrence_line(&o));
            }
            Ok(match o.result {
                OccurrenceResult::Succeeded => 0,
                _ => 1,
            })
        }
        ScheduleCommand::Replan { id } => {
            let (mut client, _) = target.connect()?;
            let before = client.call::<ScheduleShow>(&JobIdParams { id, path: None })?;
            let d = client.call_plan::<ScheduleReplan>(&JobIdParams {
                id,
                path: std::env::var("PATH").ok(),
            })?;
            print_detail(out, &d, Some(&before.plan.command))
        }
    }
}

fn add(target: &Target, out: Out, args: ScheduleAddArgs) -> Result<u8, CliError> {
    let when = match (args.cron, args.every) {
        (Some(c), _) => When::Cron(c),
        (None, Some(secs)) => When::EverySecs(secs),
        (None, None) => {
            return Err(CliError::Usage(
                "say when: --cron EXPR or --every DURATION".into(),
            ));
        }
    };
    let cwd = match super::absolute_dir(args.project)? {
        Some(d) => d,
        None => std::env::current_dir()?,
    };
    // `codex schedule add ... -- CMD ARGS`: clap keeps the `--` out of `goal`, so the raw
    // arguments tell an explicit command from a goal in words.
    let explicit = std::env::args().any(|a| a == "--");
    let (goal, command) = if explicit {
        (String::new(), Some(args.goal))
    } else {
        (args.goal.join(" "), None)
    };
    let params = ScheduleAddParams {
        goal,
        command,
        cwd,
        path: std::env::var("PATH").ok(),
        when,
        policy: match args.policy {
            PolicyArg::Deny => JobPolicy::Deny,
            PolicyArg::Allowlist => JobPolicy::Allowlist,
        },
        catch_up: match args.catch_up {
            CatchUpArg::Once => CatchUp::Once,
            CatchUpArg::Skip => CatchUp::Skip,
        },
        name: args.name,
    };
    let (mut client, _) = target.connect()?;
    let d = client.call_plan::<ScheduleAdd>(&params)?;
    if out.json {
        render::json(&d)?;
        return Ok(0);
    }
    println!("added job {}: {}", d.job.id, title(&d.job));
    println!(
        "  plan:   {}{}",
        render::printable(&d.plan.command),
        if d.plan.from_model {
            "   [from the model: a step that changes anything is held for your yes]"
        } else {
            ""
        }
    );
    println!("  when:   {}", d.job.schedule);
    println!("  policy: {}", policy_words(d.job.policy));
    if let Some(next) = d.next.first() {
        println!("  next:   {}", render::when_exact(*next));
    }
    println!(
        "the plan is fixed; `codex schedule replan {}` plans it again",
        d.job.id
    );
    Ok(0)
}

fn list(target: &Target, out: Out) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let r = client.call::<ScheduleList>(&ScheduleListParams {})?;
    if out.json {
        render::json(&r)?;
        return Ok(0);
    }
    if r.jobs.is_empty() {
        println!(
            "no jobs: `codex schedule add --cron \"0 9 * * 1-5\" \"run the tests\"` adds one; \
             `codex suggest jobs` shows the ones codex proposes"
        );
        return Ok(0);
    }
    let mut t = render::table(
        &["ID", "JOB", "WHEN", "POLICY", "STATE", "LAST", "NEXT"],
        &[0],
    );
    for j in &r.jobs {
        let state = state(j);
        let last = j
            .last
            .as_ref()
            .map(|o| format!("{} {}", render::when_exact(o.at), o.result.name()))
            .unwrap_or_else(|| "-".into());
        let next = j.next.map(render::when_exact).unwrap_or_else(|| "-".into());
        t.add_row(vec![
            Cell::new(j.id),
            Cell::new(render::truncate(&title(j), 40)),
            Cell::new(&j.schedule),
            Cell::new(j.policy.name()),
            Cell::new(state),
            Cell::new(last),
            Cell::new(next),
        ]);
    }
    render::print_table(&t);
    Ok(0)
}

fn state(j: &JobView) -> &'static str {
    if j.running {
        "running"
    } else if j.paused && j.paused_by_codex.is_some() {
        "paused by codex"
    } else if j.paused {
        "paused"
    } else {
        "active"
    }
}

fn title(j: &JobView) -> String {
    let title = match &j.name {
        Some(n) => format!("{n} ({})", j.goal),
        None => j.goal.clone(),
    };
    render::printable(&title).into_owned()
}

fn policy_words(p: JobPolicy) -> &'static str {
    match p {
        JobPolicy::Deny => {
            "deny: what your comfort runs unattended runs; anything else is held in `codex approvals`"
        }
        JobPolicy::Allowlist => {
            "allowlist: only steps matching your `codex rules allow` run; the rest are held"
        }
    }
}

fn changed(out: Out, j: &JobView, what: &str) -> Result<u8, CliError> {
    if out.json {
        render::json(j)?;
    } else {
        println!("job {} ({}): {what}", j.id, title(j));
    }
    Ok(0)
}

fn occurrence_line(o: &OccurrenceView) -> String {
    let mut line = format!(
        "{}  {:<11} {}",
        render::when_exact(o.at),
        o.result.name(),
        match o.kind {
            codex_proto::schedule::OccurrenceKind::Scheduled => "",
            codex_proto::schedule::OccurrenceKind::CatchUp => "(catch-up) ",
            codex_proto::schedule::OccurrenceKind::Manual => "(run now) ",
        }
    );
    if let Some(ms) = o.duration_ms {
        line.push_str(&format!("{} ", render::duration_ms(ms)));
    }
    if let Some(r) = o.rating {
        line.push_str(&format!("rated {r} "));
    }
    if !o.runs.is_empty() {
        let ids: Vec<String> = o.runs.iter().map(|r| r.to_string()).collect();
        line.push_str(&format!("runs {} ", ids.join(",")));
    }
    if !o.detail.is_empty() {
        line.push_str(&format!("— {}", render::printable(&o.detail)));
    }
    line.trim_end().to_string()
}

fn print_detail(out: Out, d: &JobDetail, before: Option<&str>) -> Result<u8, CliError> {
    if out.json {
        render::json(d)?;
        return Ok(0);
    }
    let j = &d.job;
    println!("job {}: {}", j.id, title(j));
    println!(
        "  folder:   {}",
        render::printable(&render::home_path(&j.cwd))
    );
    println!("  when:     {}", j.schedule);
    println!("  policy:   {}", policy_words(j.policy));
    println!("  catch-up: {}", j.catch_up.name());
    match &j.paused_by_codex {
        Some(why) if j.paused => println!(
            "  state:    paused by codex: {}; `codex schedule resume {}` when it is fixed",
            render::printable(why),
            j.id
        ),
        _ => println!("  state:    {}", state(j)),
    }
    match before {
        Some(old) if old != d.plan.command => println!(
            "  plan:     {} (was {})",
            render::printable(&d.plan.command),
            render::printable(old)
        ),
        Some(_) => println!(
            "  plan:     {} (unchanged)",
            render::printable(&d.plan.command)
        ),
        None => println!("  plan:     {}", render::printable(&d.plan.command)),
    }
    for (i, s) in d.plan.steps.iter().enumerate() {
        println!(
            "    {}. {} — {}",
            i + 1,
            render::printable(&render::command(&s.argv)),
            s.rationale
        );
    }
    if !d.next.is_empty() {
        let next: Vec<String> = d.next.iter().map(|t| render::when_exact(*t)).collect();
        println!("  next:     {}", next.join(", "));
    }
    if !d.decisions.is_empty() {
        println!("  interval changes (by codex):");
        for c in &d.decisions {
            println!(
                "    {}  interval {} → {}: {}",
                render::when_exact(c.at),
                codex_proto::schedule::interval_words(c.from_secs),
                codex_proto::schedule::interval_words(c.to_secs),
                render::printable(&c.reason)
            );
        }
    }
    if d.runs.is_empty() {
        println!("  no runs yet");
    } else {
        println!("  last runs:");
        for o in &d.runs {
            println!("    {}", occurrence_line(o));
        }
    }
    Ok(0)
}
