//! Timing of the hot paths, with plain std timing: `cargo bench -p codex-patterns`.
//!
//! Prints predict latency (p50/p99) with 100,000 interactions observed, observe throughput,
//! and replay throughput (the model and the four baselines in one pass).
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use codex_patterns::generate::{self, Archetype};
use codex_patterns::{Model, replay};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    for (label, strip) in [("full commands", false), ("program names", true)] {
        let mut history = generate::history(Archetype::RustDev, 7, 100_000);
        let mut more = generate::history(Archetype::Ops, 8, 2_000);
        if strip {
            history = generate::strip_args(&history);
            more = generate::strip_args(&more);
        }
        let mut model = Model::new();
        let t = Instant::now();
        for i in &history {
            model.observe(i);
        }
        let observe = t.elapsed();
        let mut times = Vec::with_capacity(more.len());
        for i in &more {
            let t = Instant::now();
            black_box(model.predict(i.at, i.project.as_deref(), 5));
            times.push(t.elapsed());
            model.observe(i);
        }
        times.sort();
        println!(
            "{label}: observe {:.0} interactions/s; predict with {} observed: p50 {:?} p99 {:?} max {:?}",
            history.len() as f64 / observe.as_secs_f64(),
            history.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1],
        );
    }
    let routines: Vec<_> = (0..4)
        .map(|seed| generate::strip_args(&generate::routine_history(seed, 25_000)))
        .collect();
    let t = Instant::now();
    let entries: usize = routines
        .iter()
        .map(|h| black_box(replay(h, None)).entries)
        .sum();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "routine program names: replay (model + 4 baselines) {entries} entries in {secs:.2} s: {:.0} entries/s",
        entries as f64 / secs
    );
    for (label, strip) in [("full commands", false), ("program names", true)] {
        let histories: Vec<_> = Archetype::ALL
            .iter()
            .map(|&k| {
                let h = generate::history(k, 9, 25_000);
                if strip { generate::strip_args(&h) } else { h }
            })
            .collect();
        let t = Instant::now();
        let mut entries = 0;
        for h in &histories {
            entries += black_box(replay(h, None)).entries;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{label}: replay (model + 4 baselines) {entries} entries in {secs:.2} s: {:.0} entries/s",
            entries as f64 / secs
        );
    }
}
