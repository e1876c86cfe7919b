//! Replays histories and prints the model against the baselines.
//!
//! `cargo run --release --example replay -- [--strip] [--set tune|held] [--param name=value]... [FILE...]`
//! Files hold one command a line (`#` lines skipped); `--set` uses generated histories.
#![allow(clippy::unwrap_used)]

use codex_patterns::eval::{Report, replay_with};
use codex_patterns::generate::{self, Archetype, HELD_OUT, TUNE};
use codex_patterns::model::Params;
use codex_patterns::{Interaction, Model, parse_plain};

fn main() {
    let mut strip = false;
    let mut set = None;
    let mut files = Vec::new();
    let mut params = Params::default();
    let mut quiet = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--strip" => strip = true,
            "--quiet" => quiet = true,
            "--set" => set = args.next(),
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
                        generate::history(kind, seed, 5000),
                    ));
                }
            }
        }
        Some("held") => {
            for &seed in HELD_OUT {
                for kind in Archetype::ALL {
                    histories.push((
                        format!("{kind:?}-{seed}"),
                        generate::history(kind, seed, 5000),
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
    for (name, h) in &histories {
        let h = if strip {
            generate::strip_args(h)
        } else {
            h.clone()
        };
        let r = replay_with(Model::with_params(chrono::Utc, params.clone()), &h, None);
        if !quiet {
            line(name, &r);
        }
        reports.push(r);
    }
    line("MEAN", &Report::mean(&reports));
}

fn line(name: &str, r: &Report) {
    let b = &r.baselines;
    let s = |x: &codex_patterns::eval::Scores| format!("{:.3}/{:.3}/{:.3}", x.top1, x.top5, x.mrr);
    println!(
        "{name:>28} n={:>6} model {} | recent {} freq {} bigram {} backoff3 {}",
        r.entries,
        s(&r.model),
        s(&b.most_recent),
        s(&b.most_frequent),
        s(&b.bigram),
        s(&b.backoff3)
    );
}
