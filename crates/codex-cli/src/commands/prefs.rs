//! `codex prefs show|set|unset|reset`.

use codex_proto::methods::{
    PrefsReset, PrefsResetParams, PrefsSet, PrefsSetParams, PrefsShow, PrefsShowParams,
    PrefsShowResult, PrefsUnset, PrefsUnsetParams,
};
use codex_proto::prefs::{ProjectPatterns, Setting};
use comfy_table::Cell;

use super::Out;
use crate::cli::{PrefsResetArgs, PrefsShowArgs};
use crate::error::CliError;
use crate::render;
use crate::session::Target;

/// Categories shown in text (JSON has all).
const CATEGORIES_SHOWN: usize = 15;
/// Plans shown per category in text.
const PLANS_SHOWN: usize = 3;

/// Show what has been learned, with the evidence behind each entry.
pub fn show(target: &Target, out: Out, args: PrefsShowArgs) -> Result<u8, CliError> {
    let project = super::absolute_dir(args.project)?;
    let (mut client, _) = target.connect()?;
    let p = client.call::<PrefsShow>(&PrefsShowParams {
        category: args.category,
        project,
    })?;
    if out.json {
        render::json(&p)?;
        return Ok(0);
    }
    print_profile(&p);
    Ok(0)
}

fn print_profile(p: &PrefsShowResult) {
    let prof = &p.profile;
    if !prof.learning {
        println!("learning is off (user_preference_learning: false): this profile is frozen\n");
    }
    if let Some(root) = &p.project {
        println!("project: {root}\n");
    }
    if prof.categories.is_empty() {
        println!(
            "no preferences learned yet: run commands with `codex run --goal \"...\" -- CMD` \
             and rate them with `codex rate 1..5`"
        );
    } else {
        println!("PREFERRED PLANS (best first per task; score = learned chance you are satisfied)");
        let mut t = render::table(
            &["TASK", "PLAN", "SCORE", "RUNS", "SUCCESS", "RATED", "MEAN"],
            &[2, 3, 4, 5, 6],
        );
        for c in prof.categories.iter().take(CATEGORIES_SHOWN) {
            for (i, pl) in c.plans.iter().take(PLANS_SHOWN).enumerate() {
                t.add_row(vec![
                    Cell::new(if i == 0 {
                        render::truncate(&c.category, 28)
                    } else {
                        String::new()
                    }),
                    Cell::new(if pl.from_model {
                        format!("{} [model]", render::truncate(&pl.plan, 32))
                    } else {
                        render::truncate(&pl.plan, 40)
                    }),
                    Cell::new(format!("{:.2}", pl.score)),
                    Cell::new(pl.runs),
                    Cell::new(if pl.runs == 0 {
                        "-".into()
                    } else {
                        render::percent(pl.successes as f64 / pl.runs as f64)
                    }),
                    Cell::new(pl.ratings),
                    Cell::new(pl.mean_rating.map_or("-".into(), |m| format!("{m:.1}"))),
                ]);
            }
        }
        render::print_table(&t);
        let hidden = prof.categories.len().saturating_sub(CATEGORIES_SHOWN);
        if hidden > 0 {
            println!("(and {hidden} more tasks: `codex prefs show --json` or --category)");
        }
        if prof
            .categories
            .iter()
            .take(CATEGORIES_SHOWN)
            .any(|c| c.plans.iter().take(PLANS_SHOWN).any(|p| p.from_model))
        {
            println!(
                "[model]: the language model proposed the plan (planner.llm); once you keep one, \
                 codex plans it locally"
            );
        }
        println!();
        for c in prof.categories.iter().take(CATEGORIES_SHOWN) {
            // Only where there was a choice: one plan is not a preference.
            if let (Some(best), true) = (c.plans.first(), c.plans.len() > 1) {
                println!(
                    "{} preferred for {}: {} run{}, {} success{}",
                    best.plan,
                    c.category,
                    best.runs,
                    if best.runs == 1 { "" } else { "s" },
                    render::percent(if best.runs == 0 {
                        0.0
                    } else {
                        best.successes as f64 / best.runs as f64
                    }),
                    best.mean_rating
                        .map_or(String::new(), |m| format!(", mean rating {m:.1}")),
                );
            }
            if c.tools.len() > 1 {
                let tools: Vec<String> = c
                    .tools
                    .iter()
                    .map(|t| {
                        format!(
                            "{} {:.2} ({})",
                            t.tool,
                            t.score,
                            render::count(t.runs, "run", "runs")
                        )
                    })
                    .collect();
                println!(
                    "  tools for {}, best first: {}",
                    c.category,
                    tools.join(", ")
                );
            }
        }
    }

    let st = &prof.style;
    println!("\nWORKING STYLE");
    println!("autonomy comfort   {}", setting_line(&st.autonomy_comfort));
    println!("verbosity          {}", setting_line(&st.verbosity));
    if st.runs > 0 {
        println!(
            "dry runs           {} of {}",
            render::percent(st.dry_run_share),
            render::count(st.runs, "run", "runs")
        );
        let hours: Vec<String> = st
            .active_hours
            .iter()
            .map(|h| format!("{h:02}:00"))
            .collect();
        println!("active hours       {}", hours.join(", "));
        println!(
            "after a failure    retried {}, changed plan {}, moved on {}",
            st.failure_retry, st.failure_change_plan, st.failure_abandon
        );
    }

    let s = &prof.satisfaction;
    print!("\nSATISFACTION       ");
    match (s.recent, s.mean) {
        (Some(recent), Some(mean)) => {
            print!(
                "{recent:.1}/5 recently, {mean:.1}/5 on average over {} rating{}",
                s.ratings,
                if s.ratings == 1 { "" } else { "s" }
            );
            if s.series.len() > 1 {
                print!("  {}", render::sparkline(&s.series, 1.0, 5.0));
            }
            if let Some(t) = s.trend {
                print!("  trend {t:+.1}");
            }
            println!();
        }
        _ => println!("no ratings yet (rate a run with `codex rate 1..5`)"),
    }

    let by = &p.started_by;
    if by.schedule + by.suggestion > 0 {
        let jobs: Vec<String> = by.jobs.iter().map(|j| j.to_string()).collect();
        println!(
            "runs on its own: {} by jobs ({}), {} from suggestions you chose, {} by you \
             (recent runs; they count as evidence like yours)",
            by.schedule,
            if jobs.is_empty() {
                "-".to_string()
            } else {
                format!("job {}", jobs.join(", "))
            },
            by.suggestion,
            by.user
        );
    }

    for pat in p.patterns.iter().take(3) {
        print_patterns(pat);
    }
}

fn setting_line(s: &Setting) -> String {
    match s.source.as_str() {
        "set" => format!(
            "{} (set by you; learned: {}; {})",
            s.value,
            s.learned.as_deref().unwrap_or("nothing yet"),
            s.evidence
        ),
        "learned" => format!("{} (learned: {})", s.value, s.evidence),
        _ => format!("{} (default; {})", s.value, s.evidence),
    }
}

fn print_patterns(p: &ProjectPatterns) {
    if p.goals.is_empty() {
        return;
    }
    let name = if p.project.is_empty() {
        "outside projects and imported history".to_string()
    } else {
        format!(
            "{} ({})",
            p.project,
            if p.kind.is_empty() { "?" } else { &p.kind }
        )
    };
    println!("\nPATTERNS in {name}: {} interactions", p.interactions);
    let goals: Vec<String> = p
        .goals
        .iter()
        .take(5)
        .map(|g| format!("{} ×{}", render::truncate(&g.goal, 30), g.count))
        .collect();
    println!("frequent goals     {}", goals.join(", "));
    if !p.sequences.is_empty() {
        let seqs: Vec<String> = p
            .sequences
            .iter()
            .take(3)
            .map(|s| {
                format!(
                    "{} → {} ×{} (~{})",
                    render::truncate(&s.from, 24),
                    render::truncate(&s.to, 24),
                    s.count,
                    render::duration_ms((s.mean_gap_secs * 1000.0) as u64)
                )
            })
            .collect();
        println!("sequences          {}", seqs.join("; "));
    }
    if p.hours.iter().any(|h| *h > 0) {
        let hours: Vec<f64> = p.hours.iter().map(|h| *h as f64).collect();
        let max = hours.iter().copied().fold(0.0, f64::max);
        println!("by hour (0-23)     {}", render::sparkline(&hours, 0.0, max));
    }
    if !p.commands.is_empty() {
        let cmds: Vec<String> = p
            .commands
            .iter()
            .take(3)
            .map(|c| render::truncate(&c.command, 30))
            .collect();
        println!("commands that work {}", cmds.join(", "));
    }
}

/// `codex prefs set KEY VALUE` and `codex prefs unset KEY`.
pub fn set(target: &Target, out: Out, key: String, value: Option<String>) -> Result<u8, CliError> {
    let (mut client, _) = target.connect()?;
    let r = match value {
        Some(value) => client.call::<PrefsSet>(&PrefsSetParams { key, value })?,
        None => client.call::<PrefsUnset>(&PrefsUnsetParams { key })?,
    };
    if out.json {
        render::json(&r)?;
    } else {
        match r.source.as_str() {
            "set" => println!(
                "{} = {} (set by you; overrides what is learned)",
                r.key, r.value
            ),
            src => println!("{} = {} ({src}; your setting is gone)", r.key, r.value),
        }
    }
    Ok(0)
}

/// `codex prefs reset [--all] [--yes]`.
pub fn reset(target: &Target, out: Out, args: PrefsResetArgs) -> Result<u8, CliError> {
    let what = if args.all {
        "Forget every learned preference and your explicit settings?"
    } else {
        "Forget every learned preference (your settings, history and ratings stay)?"
    };
    if !crate::confirm::ask(what, args.yes)? {
        eprintln!("codex: nothing reset");
        return Ok(1);
    }
    let (mut client, _) = target.connect()?;
    let r = client.call::<PrefsReset>(&PrefsResetParams { all: args.all })?;
    if out.json {
        render::json(&r)?;
    } else {
        println!(
            "reset: {} signal{} forgotten, {} setting{} dropped",
            r.signals,
            if r.signals == 1 { "" } else { "s" },
            r.settings,
            if r.settings == 1 { "" } else { "s" }
        );
    }
    Ok(0)
}
