//! `codex suggest [run N | jobs | accept ID | dismiss ID | eval --history FILE]`.

use codex_proto::schedule::{
    ProposalIdParams, Suggest, SuggestAccept, SuggestDismiss, SuggestJobs, SuggestJobsParams,
    SuggestParams, SuggestResult,
};
use comfy_table::Cell;

use super::Out;
use crate::cli::{HistoryFormat, RunArgs, SuggestAction, SuggestArgs, SuggestEvalArgs};
use crate::error::CliError;
use crate::render;
use crate::session::Target;
use crate::shell_history::{self, Shell};

/// Run one `codex suggest` command.
pub fn run(target: &Target, out: Out, args: SuggestArgs) -> Result<u8, CliError> {
    match args.action {
        None => list(target, out, args.limit),
        Some(SuggestAction::Run { n }) => run_one(target, out, n),
        Some(SuggestAction::Jobs) => jobs(target, out),
        Some(SuggestAction::Accept { id }) => accept(target, out, id),
        Some(SuggestAction::Dismiss { id }) => dismiss(target, out, id),
        Some(SuggestAction::Eval(a)) => eval(out, a),
    }
}

/// The suggestions here; `shown`: the list last shown here, when there is one.
fn fetch(target: &Target, limit: u32, shown: bool) -> Result<SuggestResult, CliError> {
    let (mut client, _) = target.connect()?;
    client.call::<Suggest>(&SuggestParams {
        cwd: std::env::current_dir()?,
        path: std::env::var("PATH").ok(),
        limit,
        shown,
    })
}

fn list(target: &Target, out: Out, limit: u32) -> Result<u8, CliError> {
    let r = fetch(target, limit, false)?;
    if out.json {
        render::json(&r)?;
        return Ok(0);
    }
    if let Some(off) = &r.off {
        println!("no suggestions: {off}");
        return Ok(0);
    }
    if r.suggestions.is_empty() {
        println!(
            "nothing to suggest yet: codex learns from your runs, `codex import shell-history` \
             and the shell hook (`codex init bash|zsh|fish`)"
        );
        return Ok(0);
    }
    for s in &r.suggestions {
        let plan = s
            .plan
            .as_ref()
            .map(|p| p.command.clone())
            .unwrap_or_else(|| "no plan here".into());
        let mark = if s.runnable { "" } else { " (asks)" };
        println!(
            "{}. {}  [{}]{mark}\n   plan: {plan}\n   why:  {}",
            s.n,
            s.goal,
            render::percent(s.score),
            s.evidence
        );
        if let Some(w) = &s.why_not {
            println!("   not offered to run: {w}");
        }
    }
    println!(
        "\n`codex suggest run N` runs one; learned from {} of your interactions",
        r.learned_from
    );
    Ok(0)
}

fn run_one(target: &Target, out: Out, n: u32) -> Result<u8, CliError> {
    // The N of the list the user saw, not of a list a run since has changed.
    let r = fetch(target, n.max(5), true)?;
    if let Some(off) = &r.off {
        return Err(CliError::Usage(format!("no suggestions: {off}")));
    }
    let Some(s) = r.suggestions.into_iter().find(|s| s.n == n) else {
        return Err(CliError::Usage(format!(
            "there is no suggestion {n} here (see `codex suggest`)"
        )));
    };
    if !s.runnable {
        return Err(CliError::Usage(format!(
            "suggestion {n} (\"{}\") is not offered to run: {}; run it yourself with `codex run`",
            s.goal,
            s.why_not.unwrap_or_else(|| "no plan for it here".into())
        )));
    }
    let Some(plan) = s.plan else {
        return Err(CliError::Usage(format!("suggestion {n} has no plan here")));
    };
    // A typed command runs as typed; a goal in words is planned again like `codex run`.
    let typed = s.typed;
    let args = RunArgs {
        yes: false,
        dry_run: false,
        unconfined: false,
        detach: false,
        goal: None,
        pick: None,
        task: (!typed).then(|| s.goal.clone()),
        argv: match plan.steps.first() {
            Some(step) if typed => step.argv.clone(),
            _ => Vec::new(),
        },
        min_class: None,
        suggestion: true,
    };
    if !out.json {
        eprintln!("codex: suggestion {n}: {}", s.goal);
    }
    super::run::run(target, out, args)
}

fn jobs(target: &Target, out: Out) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let r = client.call::<SuggestJobs>(&SuggestJobsParams {})?;
    if out.json {
        render::json(&r)?;
        return Ok(0);
    }
    if let Some(off) = &r.off {
        println!("no proposals: {off}");
        return Ok(0);
    }
    if r.proposals.is_empty() {
        println!(
            "no recurring goals yet: a goal run in the same project at a similar time on \
             several days is proposed here"
        );
        return Ok(0);
    }
    let mut t = render::table(&["ID", "GOAL", "PROJECT", "CRON", "SURE", "EVIDENCE"], &[]);
    for p in &r.proposals {
        t.add_row(vec![
            Cell::new(&p.id),
            Cell::new(render::truncate(&p.goal, 30)),
            Cell::new(render::home_path(&p.project)),
            Cell::new(&p.cron),
            Cell::new(render::percent(p.confidence)),
            Cell::new(&p.evidence),
        ]);
    }
    render::print_table(&t);
    for p in &r.proposals {
        if let Some(why) = &p.held {
            println!(
                "{}: as a job, every occurrence would wait for a yes: {why}",
                p.id
            );
        }
    }
    println!("\n`codex suggest accept ID` makes one a job (policy deny); `dismiss ID` drops it");
    Ok(0)
}

fn accept(target: &Target, out: Out, id: String) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let d = client.call::<SuggestAccept>(&ProposalIdParams {
        id,
        path: std::env::var("PATH").ok(),
    })?;
    if out.json {
        render::json(&d)?;
    } else {
        println!(
            "added job {}: {} ({}), policy deny; plan: {}",
            d.job.id, d.job.goal, d.job.schedule, d.plan.command
        );
    }
    Ok(0)
}

fn dismiss(target: &Target, out: Out, id: String) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let r = client.call::<SuggestDismiss>(&ProposalIdParams { id, path: None })?;
    if out.json {
        render::json(&r)?;
    } else {
        println!(
            "dismissed {} (\"{}\"): it is not proposed again",
            r.id, r.goal
        );
    }
    Ok(0)
}

/// Largest history file `suggest eval` reads (far past any real history; `/dev/zero` is not
/// one).
const EVAL_MAX_BYTES: u64 = 128 * 1024 * 1024;

fn read_capped(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    use std::io::Read as _;
    let cannot =
        |e: std::io::Error| CliError::Usage(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(EVAL_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > EVAL_MAX_BYTES {
        return Err(CliError::Usage(format!(
            "{} is larger than {} MiB: not a shell history",
            path.display(),
            EVAL_MAX_BYTES >> 20
        )));
    }
    Ok(bytes)
}

/// Replay a history file on a scratch model: nothing is sent to codexd.
fn eval(out: Out, a: SuggestEvalArgs) -> Result<u8, CliError> {
    let bytes = read_capped(&a.history)?;
    if bytes.contains(&0) {
        return Err(CliError::Usage(format!(
            "{} does not look like a shell history (it holds NUL bytes)",
            a.history.display()
        )));
    }
    let entries: Vec<codex_patterns::Interaction> = match a.format {
        Some(HistoryFormat::Plain) => codex_patterns::parse_plain(&String::from_utf8_lossy(&bytes)),
        other => {
            let shell = match other {
                Some(HistoryFormat::Bash) => Shell::Bash,
                Some(HistoryFormat::Zsh) => Shell::Zsh,
                Some(HistoryFormat::Fish) => Shell::Fish,
                _ => Shell::sniff(&bytes),
            };
            shell_history::parse(shell, &bytes)
                .entries
                .into_iter()
                .map(|e| codex_patterns::Interaction {
                    goal: e.command.trim().to_string(),
                    at: e.at.and_then(|s| chrono::DateTime::from_timestamp(s, 0)),
                    project: None,
                })
                .filter(|i| !i.goal.is_empty())
                .collect()
        }
    };
    if entries.is_empty() {
        return Err(CliError::Usage(format!(
            "{} holds no commands to replay",
            a.history.display()
        )));
    }
    let limit = a.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let report = codex_patterns::replay(&entries, limit);
    if out.json {
        render::json(&report)?;
        return Ok(0);
    }
    println!(
        "replayed {} entries: before each, the top 5 were asked for, then it was revealed",
        report.entries
    );
    let mut t = render::table(&["PREDICTOR", "TOP-1", "TOP-5", "MRR"], &[1, 2, 3]);
    let b = &report.baselines;
    for (name, s) in [
        ("codex (the suggest model)", &report.model),
        ("most recent", &b.most_recent),
        ("most frequent", &b.most_frequent),
        ("bigram", &b.bigram),
        ("order-3 backoff with decay", &b.backoff3),
    ] {
        t.add_row(vec![
            Cell::new(name),
            Cell::new(format!("{:.3}", s.top1)),
            Cell::new(format!("{:.3}", s.top5)),
            Cell::new(format!("{:.3}", s.mrr)),
        ]);
    }
    render::print_table(&t);
    Ok(0)
}
