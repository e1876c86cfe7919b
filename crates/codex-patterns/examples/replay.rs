//! Replays histories and prints the model against the baselines.
//!
//! `cargo run --release --example replay -- [--strip] [--set tune|held|routines-tune|routines-held]
//! [--len N] [--param name=value]... [--knob name=value]... [--diag] [FILE...]`
//! Files hold one command a line (`#` lines skipped); `--set` uses generated histories
//! (`routines-*`: [`generate::routine_history`], whose `--knob`s set its calibration).
//! Besides the report, an order-5 backoff is printed as a reference (`backoff5`), and the
//! share of entries seen before (no predictor can name a goal it never saw); `--diag` adds
//! the model's recall at ranks 1 to 64.
#![allow(clippy::unwrap_used)]

use codex_patterns::baselines::{Backoff3, Predictor};
use codex_patterns::eval::{Report, Scores, replay_with};
use codex_patterns::generate::{
    self, Archetype, HELD_OUT, ROUTINE_HELD_OUT, ROUTINE_TUNE, RoutineKnobs, TUNE,
};
use codex_patterns::model::Params;
use codex_patterns::{Interaction, Model, parse_plain};

fn main() {
    let mut strip = false;
    let mut set = None;
    let mut files = Vec::new();
    let mut params = Params::default();
    let mut quiet = false;
    let mut diag = false;
    let mut len = 5000;
    let mut knobs = RoutineKnobs::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--strip" => strip = true,
            "--quiet" => quiet = true,
            "--diag" => diag = true,
            "--set" => set = args.next(),
            "--len" => len = args.next().unwrap().parse().unwrap(),
            "--knob" => {
                let kv = args.next().unwrap();
                let (k, v) = kv.split_once('=').unwrap();
                let v: f64 = v.parse().unwrap();
                match k {
                    "one_off" => knobs.one_off = v,
                    "skip" => knobs.skip = v,
                    "again" => knobs.again = v,
                    "noise" => knobs.noise = v,
                    "sticky" => knobs.sticky = v,
                    "drift" => knobs.drift = v,
                    "arg_change" => knobs.arg_change = v,
                    "core" => knobs.core = v,
                    "shared" => knobs.shared = v,
                    "loop_again" => knobs.loop_again = v,
                    _ => panic!("unknown knob {k}"),
                }
            }
            "--param" => {
                let kv = args.next().unwrap();
                let (k, v) = kv.split_once('=').unwrap();
                let v: f32 = v.parse().unwrap();
                match k {
                    "rate" => params.rate = v,
                    "escape" => params.escape = v,
                    "decay" => params.decay[1..].fill(v),
                    "decay0" => params.decay[0] = v,
                    "stat" => params.stat_decay = v,
                    "feature" => params.feature_decay = v,
                    "slow0" => params.slow_decay[0] = v,
                    "slow" => params.slow_decay[1] = v,
                    "cap" => params.cap = v as usize,
                    "rank_rate" => params.rank_rate = v,
                    "shortlist" => params.shortlist = v as usize,
                    _ => panic!("unknown param {k}"),
                }
            }
            _ => files.push(a),
        }
    }
    let mut histories: Vec<(String, Vec<Interaction>)> = Vec::new();
    match set.as_deref() {
        Some("tune") => {
            for &seed in TUNE.0 {
                for &kind in TUNE.1 {
                    histories.push((
                        format!("{kind:?}-{seed}"),
                        generate::history(kind, seed, len),
                    ));
                }
            }
        }
        Some(routines @ ("routines-tune" | "routines-held")) => {
            let seeds = if routines == "routines-tune" {
                ROUTINE_TUNE
            } else {
                ROUTINE_HELD_OUT
            };
            for &seed in seeds {
                histories.push((
                    format!("routines-{seed}"),
                    generate::routine_history_with(seed, len, &knobs),
                ));
            }
        }
        Some("held") => {
            for &seed in HELD_OUT {
                for kind in Archetype::ALL {
                    histories.push((
                        format!("{kind:?}-{seed}"),
                        generate::history(kind, seed, len),
                    ));
                }
            }
        }
        _ => {}
    }
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        histories.push((f.clone(), parse_plain(&text)));
    }
    let mut reports = Vec::new();
    let mut order5 = Scores::default();
    let mut seen_share = 0.0;
    let mut at_rank = [0usize; 66];
    for (name, h) in &histories {
        let h = if strip {
            generate::strip_args(h)
        } else {
            h.clone()
        };
        let r = replay_with(Model::with_params(chrono::Utc, params.clone()), &h, None);
        let o5 = backoff5(&h);
        if diag {
            let mut m = Model::with_params(chrono::Utc, params.clone());
            for i in &h {
                let top = m.predict(None, None, 64);
                let r = top.iter().position(|p| p.goal == i.goal).unwrap_or(64);
                at_rank[r] += 1;
                m.observe(i);
            }
        }
        let mut seen = std::collections::HashSet::new();
        let repeats = h.iter().filter(|i| !seen.insert(i.goal.as_str())).count();
        seen_share += repeats as f64 / h.len().max(1) as f64 / histories.len() as f64;
        if !quiet {
            line(name, &r, &o5);
        }
        let n = histories.len() as f64;
        order5.top1 += o5.top1 / n;
        order5.top5 += o5.top5 / n;
        order5.mrr += o5.mrr / n;
        reports.push(r);
    }
    line("MEAN", &Report::mean(&reports), &order5);
    if diag {
        let total: usize = at_rank.iter().sum();
        let mut cum = 0;
        for (r, n) in at_rank.iter().enumerate().take(65) {
            cum += n;
            if [0, 1, 2, 3, 4, 5, 7, 9, 15, 31, 63].contains(&r) {
                println!("recall@{}: {:.3}", r + 1, cum as f64 / total as f64);
            }
        }
    }
    if !quiet {
        println!("entries seen before (the ceiling of top-5): {seen_share:.3}");
    }
}

/// An order-5 backoff's scores: a reference beyond the report's four baselines.
fn backoff5(h: &[Interaction]) -> Scores {
    let mut b = Backoff3::with_order(5, Backoff3::HALF_LIFE);
    let (mut top1, mut top5, mut rr) = (0, 0, 0.0);
    for i in h {
        if let Some(r) = b.top(None, None, 5).iter().position(|&g| g == i.goal) {
            top1 += usize::from(r == 0);
            top5 += 1;
            rr += 1.0 / (r + 1) as f64;
        }
        b.observe(i);
    }
    let n = h.len().max(1) as f64;
    Scores {
        top1: top1 as f64 / n,
        top5: top5 as f64 / n,
        mrr: rr / n,
    }
}

fn line(name: &str, r: &Report, order5: &Scores) {
    let b = &r.baselines;
    let s = |x: &codex_patterns::eval::Scores| format!("{:.3}/{:.3}/{:.3}", x.top1, x.top5, x.mrr);
    println!(
        "{name:>28} n={:>6} model {} | recent {} freq {} bigram {} backoff3 {} backoff5 {}",
        r.entries,
        s(&r.model),
        s(&b.most_recent),
        s(&b.most_frequent),
        s(&b.bigram),
        s(&b.backoff3),
        s(order5)
    );
}
