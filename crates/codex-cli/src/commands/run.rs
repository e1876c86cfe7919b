//! `codex run [--yes] [--goal TEXT] -- CMD [ARGS...]`: the command's output goes to this terminal as it
//! is produced, the run id and outcome to stderr, and `codex` exits with the command's status.
//! With `--json`, stdout carries one JSON event per line instead (`started`, `output`,
//! `finished`). Ctrl-C ends `codex`, which closes the connection; the daemon then cancels the
//! run and kills its process group.
//!
//! On a terminal (stdin and stdout both, codex in the foreground, not `--json`), the step
//! runs on a pseudo-terminal of its own, relayed here in raw mode ([`crate::relay`]): colours,
//! prompts, pagers and editors work, and Ctrl-C goes to the step, whose terminal makes it
//! its SIGINT.

use std::collections::BTreeMap;
use std::io::{BufRead, ErrorKind, IsTerminal, Write};

use codex_proto::jsonrpc::Incoming;
use codex_proto::methods::{
    ApprovalRequest, ApprovalRequestParams, Method, Notification, Run, RunCheck, RunCheckParams,
    RunDetach, RunParams, RunProgress, RunProgressParams, RunResult, RunStarted, RunStartedParams,
};
use codex_proto::terminal::{RunTty, RunTtyParams, Tty};
use codex_proto::types::{OutputStream, RunOutcome, RunPart, SafetyClass};
use serde_json::{Value, json};

use super::{Out, Verbosity};
use crate::cli::RunArgs;
use crate::client::decode;
use crate::error::CliError;
use crate::relay::Relay;
use crate::render;
use crate::session::Target;

/// Exit status when our own stdout is a closed pipe (as a shell reports SIGPIPE).
const EXIT_BROKEN_PIPE: u8 = 141;

/// Run the command and stream it.
pub fn run(target: &Target, out: Out, args: RunArgs) -> Result<u8, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Other(format!("cannot read the current directory: {e}")))?;
    // The command runs with this shell's environment, not the daemon's.
    let env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let (mut client, hello) = target.connect()?;
    let out = Out {
        verbosity: Verbosity::of(&hello.verbosity),
        ..out
    };
    let mut args = args;
    // What to run: the command given, or the chosen plan's steps.
    let mut steps: Vec<Step> = Vec::new();
    if let Some(goal) = args.task.take() {
        // A goal in words: plan it, show the plan, then run its steps like any command.
        let plan = super::plan::fetch(&mut client, &goal, &cwd)?;
        let pick = args.pick.unwrap_or(1) as usize;
        let Some(chosen) = plan.plans.get(pick - 1) else {
            return Err(CliError::Usage(match &plan.unknown {
                Some(why) => why.clone(),
                None => format!("there is no plan {pick} for \"{goal}\" (see `codex plan`)"),
            }));
        };
        let Some(first) = chosen.steps.first() else {
            return Err(CliError::Usage(format!("plan {pick} has no steps")));
        };
        match out.verbosity {
            Verbosity::Terse => {}
            Verbosity::Normal => eprintln!(
                "codex: plan {pick} for \"{goal}\": {} ({}; {})",
                render::printable(&chosen.command),
                render::printable(&first.rationale),
                render::printable(&chosen.evidence)
            ),
            Verbosity::Verbose => eprintln!(
                "codex: plan {pick} of {} for \"{goal}\": {} ({}; {}; confidence {}, score \
                 {:.3}{})",
                plan.plans.len(),
                chosen.command,
                first.rationale,
                chosen.evidence,
                render::percent(chosen.confidence),
                chosen.score,
                chosen
                    .borrowed
                    .as_ref()
                    .map_or(String::new(), |b| format!("; borrowed from {b}"))
            ),
        }
        // The choice is about the plans' real commands, never their dry runs.
        let mut picked_over = (pick > 1)
            .then(|| plan.plans.first())
            .flatten()
            .and_then(|p| p.steps.iter().find(|s| !s.dry_run))
            .map(|s| s.argv.clone());
        let mut begun = false;
        for s in &chosen.steps {
            steps.push(Step {
                argv: s.argv.clone(),
                min_class: s.class,
                picked_over: if s.dry_run { None } else { picked_over.take() },
                part: match (s.dry_run, begun) {
                    (true, _) => RunPart::PlannedDryRun,
                    (false, false) => RunPart::Whole,
                    (false, true) => RunPart::Continues,
                },
                dry_run: s.dry_run,
            });
            begun |= !s.dry_run;
        }
        args.goal = Some(goal);
    } else {
        steps.push(Step {
            argv: std::mem::take(&mut args.argv),
            min_class: args.min_class,
            picked_over: None,
            part: RunPart::Whole,
            dry_run: false,
        });
    }
    if args.dry_run {
        for (i, s) in steps.into_iter().enumerate() {
            if i > 0 && !out.json {
                println!();
            }
            dry_run(&mut client, out, &args, s, cwd.clone(), &env)?;
        }
        return Ok(0);
    }
    if args.detach {
        // Nobody is there to go on after a failure or a dry run: one command only.
        let [step] = <[Step; 1]>::try_from(steps).map_err(|steps| {
            CliError::Usage(format!(
                "this plan has {} steps; --detach runs a single command (run it attached, or \
                 teach a one-step playbook)",
                steps.len()
            ))
        })?;
        let r = client.call::<RunDetach>(&RunParams {
            argv: step.argv,
            cwd,
            env: Some(env),
            yes: args.yes,
            goal: args.goal,
            interactive: false,
            min_class: step.min_class,
            picked_over: step.picked_over,
            part: step.part,
            unconfined: args.unconfined,
            tty: None,
            suggestion: args.suggestion,
        })?;
        if out.json {
            crate::render::json(&r)?;
        } else {
            eprintln!("codex: `{}` ({}) {}", r.command, r.class, r.decision);
        }
        return Ok(0);
    }
    // Steps run one after another; the first that fails ends the plan. After a dry run, a
    // person at the terminal says whether to go on.
    let mut status = 0;
    let mut paused = false;
    for step in steps {
        if status != 0 {
            break;
        }
        if paused && !go_on(&step.argv, args.yes)? {
            eprintln!("codex: stopped after the dry run");
            return Ok(0);
        }
        paused = step.dry_run;
        status = run_step(&mut client, out, &args, step, &cwd, &env)?;
    }
    Ok(status)
}

/// One step to run.
struct Step {
    argv: Vec<String>,
    min_class: Option<SafetyClass>,
    picked_over: Option<Vec<String>>,
    part: RunPart,
    dry_run: bool,
}

/// After a dry run: go on? Yes unless a person at the terminal says no (`--yes` goes on, and
/// with no terminal the executor's own rules still decide the real step).
fn go_on(next: &[String], yes: bool) -> Result<bool, CliError> {
    if yes || !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    eprint!(
        "codex: that was the dry run; now run `{}`? [Y/n] ",
        crate::render::command(next)
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(!matches!(answer.trim().to_lowercase().as_str(), "n" | "no"))
}

/// Run one command through the daemon, streaming it, answering its approval questions.
fn run_step(
    client: &mut crate::client::Client,
    out: Out,
    args: &RunArgs,
    step: Step,
    cwd: &std::path::Path,
    env: &BTreeMap<String, String>,
) -> Result<u8, CliError> {
    // Questions are answered on this terminal. On a terminal, the command gets one of its
    // own, relayed to this one; else it gets no stdin.
    let interactive = std::io::stdin().is_terminal();
    let tty = (!out.json)
        .then(crate::terminal::relayable)
        .flatten()
        .and_then(|size| Some((size, crate::terminal::Signals::get()?)));
    let argv_shown = step.argv.clone();
    let id = client.send::<Run>(&RunParams {
        argv: step.argv,
        cwd: cwd.to_path_buf(),
        env: Some(env.clone()),
        yes: args.yes,
        goal: args.goal.clone(),
        interactive,
        min_class: step.min_class,
        picked_over: step.picked_over,
        part: step.part,
        unconfined: args.unconfined,
        tty: tty.map(|(size, _)| Tty {
            rows: size.rows,
            cols: size.cols,
            term: std::env::var("TERM").ok(),
        }),
        suggestion: args.suggestion,
    })?;
    let command = crate::render::command(&argv_shown);
    let mut relay: Option<Relay> = None;
    loop {
        let message = match client.next_message() {
            Ok(m) => m,
            Err(e) => {
                // A termination signal while relaying closed the connection on purpose: the
                // daemon cancels the run; the terminal is restored before the process ends.
                if let Some(sig) = relay.as_ref().and_then(Relay::signalled) {
                    drop(relay.take());
                    eprintln!("codex: ended by signal {sig}; the run is cancelled");
                    return Ok(u8::try_from(128 + sig).unwrap_or(1));
                }
                return Err(e);
            }
        };
        let shown = match message {
            Incoming::Request {
                id: ask_id,
                method,
                params,
            } if method == ApprovalRequest::NAME => {
                let approved = match serde_json::from_value::<ApprovalRequestParams>(params) {
                    Ok(q) => ask(&q)?,
                    Err(_) => false,
                };
                client.respond(ask_id, json!({ "approved": approved }))?;
                Ok(())
            }
            Incoming::Notification { method, params }
                if method == RunStarted::NAME && relay.is_none() =>
            {
                let started = serde_json::from_value::<RunStartedParams>(params.clone());
                let shown = show_notification(out, &method, params);
                if let (Some((size, signals)), Ok(p)) = (tty, started) {
                    // Raw only now: the approval questions before were asked in line mode.
                    match client
                        .writer()
                        .and_then(|conn| Relay::start(conn, p.run_id, size, signals))
                    {
                        Ok(r) => relay = Some(r),
                        Err(e) => eprintln!(
                            "codex: cannot pass this terminal's input to the step ({e}); it \
                             runs on a terminal that gets none"
                        ),
                    }
                }
                shown
            }
            Incoming::Notification { method, params } => show_notification(out, &method, params),
            Incoming::Response(r) if r.id == id || (r.id.is_null() && r.error.is_some()) => {
                // The terminal is itself again before anything is said about the run.
                let signalled = relay.as_ref().and_then(Relay::signalled);
                drop(relay.take());
                let result = decode::<Run>(r.result, r.error)?;
                let status = finish(out, &result, &command)?;
                // A termination signal that came as the run ended still ends codex.
                return Ok(signalled.map_or(status, |sig| u8::try_from(128 + sig).unwrap_or(1)));
            }
            _ => Ok(()),
        };
        match shown {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(EXIT_BROKEN_PIPE),
            Err(e) => return Err(CliError::Io(e)),
        }
    }
}

/// Ask the person at the terminal; only `y` or `yes` is a yes.
fn ask(q: &ApprovalRequestParams) -> Result<bool, CliError> {
    eprintln!(
        "codex: approval needed ({}, asked because {}):\n  {}\n  why: {}",
        q.class,
        render::printable(&q.why_asked),
        render::printable(&q.command),
        render::printable(&q.reason)
    );
    eprint!("run it? (a yes runs this step outside the sandbox) [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// `--dry-run`: show the class, whether it would be asked and how it would be contained;
/// run nothing.
fn dry_run(
    client: &mut crate::client::Client,
    out: Out,
    args: &RunArgs,
    step: Step,
    cwd: std::path::PathBuf,
    env: &BTreeMap<String, String>,
) -> Result<u8, CliError> {
    let r = client.call::<RunCheck>(&RunCheckParams {
        argv: step.argv,
        cwd,
        yes: args.yes,
        min_class: step.min_class,
        env: Some(env.clone()),
        unconfined: args.unconfined,
        goal: args.goal.clone(),
    })?;
    if out.json {
        crate::render::json(&r)?;
        return Ok(0);
    }
    println!("would run: {}", r.command);
    println!("class:     {} ({})", r.class, r.reason);
    println!("comfort:   {}", r.comfort);
    println!("decision:  {}", r.decision);
    println!(
        "sandbox:   {} ({})",
        if r.confined { "confined" } else { "unconfined" },
        r.sandbox
    );
    Ok(0)
}

fn show_notification(out: Out, method: &str, params: Value) -> std::io::Result<()> {
    match method {
        RunTty::NAME => match serde_json::from_value::<RunTtyParams>(params) {
            Ok(p) => crate::relay::show(&p.data.0),
            Err(_) => Ok(()),
        },
        RunProgress::NAME => {
            let Ok(p) = serde_json::from_value::<RunProgressParams>(params) else {
                return Ok(());
            };
            if out.json {
                let stream = match p.stream {
                    OutputStream::Stdout => "stdout",
                    OutputStream::Stderr => "stderr",
                };
                return json_line(
                    &json!({"event": "output", "run_id": p.run_id, "stream": stream, "data": p.data}),
                );
            }
            match p.stream {
                OutputStream::Stdout => {
                    let mut o = std::io::stdout().lock();
                    o.write_all(p.data.as_bytes())?;
                    o.flush()
                }
                OutputStream::Stderr => {
                    let mut e = std::io::stderr().lock();
                    e.write_all(p.data.as_bytes())?;
                    e.flush()
                }
            }
        }
        RunStarted::NAME => {
            let Ok(p) = serde_json::from_value::<RunStartedParams>(params) else {
                return Ok(());
            };
            if out.json {
                return json_line(&json!({
                    "event": "started", "run_id": p.run_id, "pid": p.pid,
                    "confined": p.confined, "note": p.note,
                }));
            }
            if out.verbosity == Verbosity::Verbose {
                eprintln!(
                    "codex: run {} started{}, {}",
                    p.run_id,
                    p.pid.map_or(String::new(), |pid| format!(": pid {pid}")),
                    if p.confined {
                        "confined (the sandbox)"
                    } else {
                        "unconfined (you said yes to it)"
                    }
                );
            }
            if let Some(note) = p.note {
                eprintln!("codex: {note}");
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn json_line(v: &Value) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    serde_json::to_writer(&mut o, v)?;
    o.write_all(b"\n")?;
    o.flush()
}

/// Exit status of a run that ran but could not be saved (EX_TEMPFAIL: try again once the
/// storage is fixed), whatever the command's own status.
pub const EXIT_NOT_SAVED: u8 = 75;

fn finish(out: Out, r: &RunResult, command: &str) -> Result<u8, CliError> {
    let status = r.outcome.exit_status();
    if out.json {
        let mut v = serde_json::to_value(r).map_err(|e| CliError::Other(e.to_string()))?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("event".into(), json!("finished"));
            obj.insert("exit_status".into(), json!(status));
        }
        json_line(&v)?;
    } else {
        let how = match &r.outcome {
            RunOutcome::FailedToStart { error, .. } => format!("did not start: {error}"),
            other => format!(
                "{} in {}",
                other.label(),
                render::duration_ms(r.duration_ms)
            ),
        };
        let note = match (&r.outcome, r.recorded) {
            _ if r.not_saved.is_some() => " (NOT SAVED: see below)",
            _ if out.verbosity == Verbosity::Terse && status == 0 => "",
            (_, false) => " (not recorded: interaction tracking is off)",
            (RunOutcome::FailedToStart { .. }, true) => "",
            (_, true) => " (rate it with `codex rate 1..5`)",
        };
        eprintln!("codex: run {}: {how}{note}", r.run_id);
        if out.verbosity == Verbosity::Verbose
            && let Some(allowed) = &r.sandbox
            && status == 0
        {
            eprintln!("codex: it ran in the sandbox: {allowed}");
        }
        // An interrupt typed at the terminal is no sandbox's doing.
        let interrupted = matches!(r.outcome, RunOutcome::Signaled { signal: 2 });
        if status != 0
            && !interrupted
            && let Some(allowed) = &r.sandbox
        {
            eprintln!(
                "codex: it ran in the sandbox ({allowed}); the sandbox denies everything else: \
                 writes elsewhere, other network, Unix sockets, signals to other processes. If \
                 that is why it failed, run it unconfined (you are asked first): codex run \
                 --unconfined -- {command}"
            );
        }
    }
    if let Some(why) = &r.not_saved {
        eprintln!(
            "codex: run {} could not be saved ({why}): it is not in the history and cannot be \
             rated. Free space or fix the storage under CODEX_HOME; `codex doctor` checks it.",
            r.run_id
        );
        return Ok(EXIT_NOT_SAVED);
    }
    // Exit statuses are 0..=255 on Unix; anything else is reported as a plain failure.
    Ok(u8::try_from(status).unwrap_or(1))
}
