//! Personal model training at scale: `optimizer::train::train` end to end on 100,000
//! episodes. Target: under a minute on this machine (2 shared cores), in release.
//!
//! Run with `cargo bench -p codexd --bench train`.
//!
//! The data (`optimizer::train::simulate`, seeded): 100,000 runs of a user with 50 goals of 4
//! plans each over 20 projects, taste changing now and then, 60% of runs rated, plans failing
//! 5–15% of the time; one logged plan decision per run (half greedy, half uniform), one
//! interaction per run (the routine generator's commands) and a suggestion decision every
//! tenth run. Training replays all of it: the search on the train part, then the candidate
//! and the live parameters on the held-out part.

use std::sync::atomic::{AtomicBool, AtomicU32};
use std::time::{Duration, Instant};

use codexd::config::Config;
use codexd::optimizer::train::simulate::{Habits, user};
use codexd::optimizer::train::{Learned, Metrics, train};

const EPISODES: usize = 100_000;
const TARGET: Duration = Duration::from_secs(60);

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let habits = Habits {
        categories: 50,
        projects: 20,
        plans: 4,
        change: 0.02,
        greedy_log: 0.5,
        interactions: true,
        gap_minutes: 10.0,
        ..Habits::steady()
    };
    let clock = Instant::now();
    let data = user(&habits, 7, EPISODES);
    println!(
        "generated {EPISODES} episodes: {} signals, {} decisions, {} interactions in {:.2}s",
        data.signals.len(),
        data.decisions.len(),
        data.interactions.len(),
        clock.elapsed().as_secs_f64()
    );
    let live = Learned::from_config(&Config::default());
    let (progress, cancel) = (AtomicU32::new(0), AtomicBool::new(false));
    let clock = Instant::now();
    let trained = train(&data, &live, &progress, &cancel)?;
    let took = clock.elapsed();
    println!(
        "train on {EPISODES} episodes: {:.2}s (target under {}s)",
        took.as_secs_f64(),
        TARGET.as_secs()
    );
    let r = &trained.range;
    println!(
        "labelled runs {}, held out {} from {}",
        r.examples, r.held_out, r.held_out_from
    );
    println!("fitted: {:?}", trained.learned);
    show("live     ", &trained.live);
    show("candidate", &trained.candidate);
    println!("verdict: {:?}", trained.verdict);
    if took > TARGET {
        return Err(format!(
            "training took {:.1}s, over the {}s target",
            took.as_secs_f64(),
            TARGET.as_secs()
        )
        .into());
    }
    Ok(())
}

fn show(name: &str, m: &Metrics) {
    let p = &m.plan;
    print!(
        "{name}: plan log-likelihood {:.4}, Brier {:.4}, top-1 {:.3} ({} runs, {} clear)",
        p.log_likelihood, p.brier, p.top1, p.examples, p.clear
    );
    if let Some(g) = &m.next_goal {
        print!("; next goal top-1 {:.3}, top-5 {:.3}", g.top1, g.top5);
    }
    if let Some(o) = &m.ope {
        print!(
            "; plan IPS {:.3}, SNIPS {}, {} of {} decisions matching, {} with propensity 0, \
             logged {:.3}",
            o.ips,
            o.snips.map_or("-".into(), |s| format!("{s:.3}")),
            o.matching,
            o.decisions,
            o.zero_propensity,
            o.logged_value
        );
    }
    println!();
}
