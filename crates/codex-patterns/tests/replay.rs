//! The model against the baselines on histories it was not tuned on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codex_patterns::eval::{Report, Scores, replay};
use codex_patterns::generate::{self, Archetype, HELD_OUT};
use codex_patterns::{Interaction, parse_plain};

/// Long enough for habits to show, short enough for a debug build.
const LEN: usize = 3000;

fn held_out(strip: bool) -> Report {
    let mut reports = Vec::new();
    for &seed in HELD_OUT {
        for kind in Archetype::ALL {
            let h = generate::history(kind, seed, LEN);
            let h = if strip { generate::strip_args(&h) } else { h };
            reports.push(replay(&h, None));
        }
    }
    Report::mean(&reports)
}

/// The calibrated routine histories held out from tuning, as program names.
fn routines_held_out() -> Report {
    let reports: Vec<Report> = generate::ROUTINE_HELD_OUT
        .iter()
        .map(|&seed| {
            let h = generate::strip_args(&generate::routine_history(seed, LEN));
            replay(&h, None)
        })
        .collect();
    Report::mean(&reports)
}

fn assert_beats_every_baseline(r: &Report) {
    let b = &r.baselines;
    let named: [(&str, &Scores); 4] = [
        ("most_recent", &b.most_recent),
        ("most_frequent", &b.most_frequent),
        ("bigram", &b.bigram),
        ("backoff3", &b.backoff3),
    ];
    for (name, s) in named {
        assert!(
            r.model.top1 > s.top1,
            "top-1: model {:.3} <= {name} {:.3}",
            r.model.top1,
            s.top1
        );
        assert!(
            r.model.top5 > s.top5,
            "top-5: model {:.3} <= {name} {:.3}",
            r.model.top5,
            s.top5
        );
    }
}

#[test]
fn the_model_beats_every_baseline_on_held_out_routines() {
    let r = routines_held_out();
    eprintln!("{}", serde_json::to_string(&r).unwrap());
    assert_beats_every_baseline(&r);
}

#[test]
#[should_panic(expected = "top-1: model")]
fn the_check_fails_when_the_model_only_ties_a_baseline() {
    let mut r = routines_held_out();
    r.model = r.baselines.backoff3;
    assert_beats_every_baseline(&r);
}

#[test]
fn the_model_beats_every_baseline_on_held_out_program_names() {
    let r = held_out(true);
    eprintln!("{}", serde_json::to_string(&r).unwrap());
    assert_beats_every_baseline(&r);
}

#[test]
fn the_model_beats_every_baseline_on_held_out_full_commands() {
    let r = held_out(false);
    eprintln!("{}", serde_json::to_string(&r).unwrap());
    assert_beats_every_baseline(&r);
}

#[test]
fn hand_written_histories_replay() {
    // Measured, not asserted against the baselines: these are short, and were written to
    // check the figures, not to be tuned on. See the crate docs for the figures.
    for name in ["rust_dev", "web_dev", "ops", "data"] {
        let path = format!("{}/tests/data/{name}.txt", env!("CARGO_MANIFEST_DIR"));
        let history: Vec<Interaction> = parse_plain(&std::fs::read_to_string(path).unwrap());
        assert!(history.len() > 100, "{name}");
        let r = replay(&history, None);
        eprintln!("{name}: {}", serde_json::to_string(&r).unwrap());
        assert_eq!(r.entries, history.len());
        assert!(r.model.top5 > r.baselines.most_recent.top5, "{name}");
    }
}
