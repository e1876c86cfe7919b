//! The training's tests: the split, the estimators, the promotion rule, determinism, and
//! simulated users whose habits training should find.

use std::sync::atomic::{AtomicBool, AtomicU32};

use super::ope::{Logged, estimate};
use super::simulate::{Habits, user};
use super::*;
use crate::config::{Config, Exploration};
use crate::feedback::state::SignalKind;

fn defaults() -> Learned {
    Learned::from_config(&Config::default())
}

fn run_train(data: &TrainData, live: &Learned) -> Result<Trained, TrainError> {
    train(data, live, &AtomicU32::new(0), &AtomicBool::new(false))
}

fn trained(data: &TrainData) -> Trained {
    run_train(data, &defaults()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn learned_round_trips_through_json_and_defaults_are_the_configs() {
    let l = defaults();
    assert_eq!(l.explicit_weight, 3.0);
    assert_eq!(l.evidence_discount, 0.9);
    assert_eq!(l.exploration, Exploration::Greedy);
    let p = l.feedback_params(Params::default());
    assert_eq!(p, Params::default());
    assert_eq!(
        l.patterns_params(),
        codex_patterns::model::Params::default()
    );
    let odd = Learned {
        decay_half_life_days: 7.5,
        evidence_discount: 0.97,
        exploration: Exploration::Thompson,
        patterns: PatternWeights {
            rate: 0.2,
            escape: 0.125,
            ..PatternWeights::default()
        },
        ..l
    };
    let json = serde_json::to_string(&odd).unwrap();
    let back: Learned = serde_json::from_str(&json).unwrap();
    assert_eq!(back, odd);
    assert!(json.contains("\"exploration\":\"thompson\""), "{json}");
    assert_eq!(odd.validate(), Ok(()));
    let bad = Learned {
        evidence_discount: 1.5,
        ..odd
    };
    let err = bad.validate().unwrap_err();
    assert!(
        err.contains("evidence_discount") && err.contains("1.5"),
        "{err}"
    );
}

#[test]
fn too_little_data_says_how_much_is_needed() {
    let data = user(&Habits::steady(), 1, 20);
    let err = run_train(&data, &defaults()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            TrainError::TooLittleData {
                have: 20,
                need: 50,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("20 labelled runs") && text.contains("at least 50"),
        "{text}"
    );
}

#[test]
fn ips_and_snips_on_a_hand_computed_log() {
    // Four decisions logged by a uniform policy over two plans (p = 1/2) and one logged
    // greedily (p = 1); the candidate would make the first, third and fifth the same way.
    let log = [
        Logged {
            pi: 1.0,
            propensity: 0.5,
            reward: 1.0,
        },
        Logged {
            pi: 0.0,
            propensity: 0.5,
            reward: 0.0,
        },
        Logged {
            pi: 1.0,
            propensity: 0.5,
            reward: 0.5,
        },
        Logged {
            pi: 0.0,
            propensity: 0.5,
            reward: 1.0,
        },
        Logged {
            pi: 1.0,
            propensity: 1.0,
            reward: 0.0,
        },
        // A pick against the ranking: cannot be weighed.
        Logged {
            pi: 1.0,
            propensity: 0.0,
            reward: 1.0,
        },
    ];
    let ope = estimate(&log).unwrap();
    assert_eq!(
        (ope.decisions, ope.matching, ope.zero_propensity),
        (5, 3, 1)
    );
    // IPS: (1/0.5 + 0.5/0.5 + 0/1) / 5 = 3/5.
    assert!((ope.ips - 0.6).abs() < 1e-12, "{ope:?}");
    // SNIPS: 3 / (2 + 2 + 1) = 0.6 as well here; the mean reward of the log is 2.5 / 5.
    assert!((ope.snips.unwrap() - 0.6).abs() < 1e-12, "{ope:?}");
    assert!((ope.logged_value - 0.5).abs() < 1e-12);
    // Under greedy logging (p = 1) the estimate is the mean reward where the candidate agrees.
    let greedy = [
        Logged {
            pi: 1.0,
            propensity: 1.0,
            reward: 1.0,
        },
        Logged {
            pi: 1.0,
            propensity: 1.0,
            reward: 0.0,
        },
        Logged {
            pi: 0.0,
            propensity: 1.0,
            reward: 1.0,
        },
        Logged {
            pi: 1.0,
            propensity: 1.0,
            reward: 1.0,
        },
    ];
    let ope = estimate(&greedy).unwrap();
    assert_eq!(ope.matching, 3);
    assert!((ope.ips - 0.5).abs() < 1e-12, "{ope:?}");
    assert!((ope.snips.unwrap() - 2.0 / 3.0).abs() < 1e-12, "{ope:?}");
}

#[test]
fn a_candidate_worse_than_live_is_rejected_with_the_reason() {
    let m = |ll: f64, brier: f64, top1: f64| Metrics {
        plan: PlanMetrics {
            examples: 120,
            log_likelihood: ll,
            brier,
            clear: 90,
            top1,
        },
        next_goal: None,
        ope: None,
        suggestion_ope: None,
    };
    let live = m(-0.60, 0.21, 0.70);
    // Top-1 agreement differs by 0.02 from run to run on these runs (one standard error).
    let noise = Noise {
        brier: 0.001,
        top1: 0.02,
        ..Noise::default()
    };
    let judge = |c: &Metrics| verdict::judge(c, &live, &noise);
    assert_eq!(judge(&m(-0.60, 0.21, 0.70)), Verdict::Promote);
    // Better forecasts, top-1 a little lower but within the noise: promoted.
    assert_eq!(judge(&m(-0.55, 0.20, 0.67)), Verdict::Promote);
    let Verdict::Reject(why) = judge(&m(-0.62, 0.20, 0.75)) else {
        panic!("a worse log-likelihood must be rejected");
    };
    assert!(why.contains("-0.6200") && why.contains("-0.6000"), "{why}");
    let Verdict::Reject(why) = judge(&m(-0.55, 0.20, 0.65)) else {
        panic!("top-1 worse by more than twice its noise must be rejected");
    };
    assert!(why.contains("top-1") && why.contains("0.650"), "{why}");
    let Verdict::Reject(why) = judge(&m(-0.59, 0.215, 0.70)) else {
        panic!("a clearly worse Brier score must be rejected");
    };
    assert!(why.contains("Brier") && why.contains("0.2150"), "{why}");
}

#[test]
fn a_candidate_fitted_to_a_steady_past_is_rejected_when_taste_turns_in_the_held_out_part() {
    // Steady for the train part, then in the last fifth the user's taste turns round: the long
    // memory fitted on the past is worse there than the live one.
    let mut data = user(&Habits::steady(), 3, 2000);
    let split = Split::time_ordered(&data).unwrap();
    for s in data
        .signals
        .iter_mut()
        .filter(|s| s.at >= split.held_out_from)
    {
        if let SignalKind::Rating { score } = &mut s.kind {
            *score = 6 - *score;
        }
    }
    let t = trained(&data);
    assert!(t.learned.evidence_discount > 0.9, "{:?}", t.learned);
    let Verdict::Reject(why) = &t.verdict else {
        panic!("promoted: {:?} vs {:?}", t.candidate.plan, t.live.plan);
    };
    assert!(why.contains("most recent runs"), "{why}");
}

#[test]
fn the_held_out_part_never_changes_what_is_chosen() {
    let data = user(&Habits::fast_changing(), 5, 500);
    let split = Split::time_ordered(&data).unwrap();
    let mut changed = data.clone();
    // Every held-out rating and outcome turned round, held-out decisions rewarded otherwise.
    for s in changed
        .signals
        .iter_mut()
        .filter(|s| s.at >= split.held_out_from)
    {
        match &mut s.kind {
            SignalKind::Rating { score } => *score = 6 - *score,
            SignalKind::Outcome { success, .. } => *success = !*success,
            _ => {}
        }
    }
    for d in changed
        .decisions
        .iter_mut()
        .filter(|d| d.at >= split.held_out_from)
    {
        d.outcome = Some(0.25);
    }
    assert_eq!(Split::time_ordered(&changed).unwrap(), split);
    let (a, b) = (trained(&data), trained(&changed));
    assert_eq!(a.learned, b.learned);
    assert_eq!(a.train, b.train);
    assert_ne!(a.candidate, b.candidate);
}

#[test]
fn training_is_deterministic_and_reports_progress() {
    let mut habits = Habits::noisy_rater();
    habits.interactions = true;
    habits.greedy_log = 0.5;
    let data = user(&habits, 11, 400);
    let progress = AtomicU32::new(0);
    let a = train(&data, &defaults(), &progress, &AtomicBool::new(false)).unwrap();
    assert_eq!(progress.load(std::sync::atomic::Ordering::Relaxed), 100);
    let b = trained(&data);
    assert_eq!(a, b);
    assert!(a.candidate.next_goal.is_some() && a.candidate.ope.is_some());
    let ope = a.candidate.ope.as_ref().unwrap();
    assert!(ope.zero_propensity > 0 && ope.decisions > 0, "{ope:?}");
    assert!(a.candidate.suggestion_ope.is_some());
    assert_eq!(a.range.examples, 400);
    assert_eq!(a.range.held_out, 80);
}

#[test]
fn a_cancelled_training_stops() {
    let data = user(&Habits::steady(), 2, 200);
    let err = train(
        &data,
        &defaults(),
        &AtomicU32::new(0),
        &AtomicBool::new(true),
    )
    .unwrap_err();
    assert!(matches!(err, TrainError::Cancelled), "{err:?}");
}

/// The mean held-out plan-choice metrics of users of one kind: with the defaults, the
/// candidate, and what is live after the promotion rule; and how many were promoted.
fn population(habits: &Habits, users: u64, runs: usize) -> ([(f64, f64, f64); 3], u64) {
    let mut sums = [(0.0, 0.0, 0.0); 3];
    let mut promoted = 0;
    for seed in 0..users {
        let data = user(habits, 1000 + seed, runs);
        let t = trained(&data);
        promoted += u64::from(t.verdict.promoted());
        let after = if t.verdict.promoted() {
            &t.candidate
        } else {
            &t.live
        };
        for (s, m) in sums.iter_mut().zip([&t.live, &t.candidate, after]) {
            s.0 += m.plan.log_likelihood / users as f64;
            s.1 += m.plan.brier / users as f64;
            s.2 += m.plan.top1 / users as f64;
        }
    }
    (sums, promoted)
}

#[test]
fn fast_changing_taste_gets_a_shorter_memory_than_steady_taste() {
    // Two users alike in all but how often their taste changes.
    let changing = Habits::fast_changing();
    let still = Habits {
        change: 0.0,
        ..changing.clone()
    };
    let (mut fast, mut steady) = (Vec::new(), Vec::new());
    for seed in 0..3 {
        fast.push(trained(&user(&changing, 200 + seed, 1500)).learned);
        steady.push(trained(&user(&still, 200 + seed, 1500)).learned);
    }
    let mean =
        |v: &[Learned], f: fn(&Learned) -> f64| v.iter().map(f).sum::<f64>() / v.len() as f64;
    let discount = |l: &Learned| l.evidence_discount;
    let half_life = |l: &Learned| l.decay_half_life_days;
    eprintln!(
        "fitted evidence discount and half-life (days): fast-changing {:.3}, {:.1}; steady \
         {:.3}, {:.1}",
        mean(&fast, discount),
        mean(&fast, half_life),
        mean(&steady, discount),
        mean(&steady, half_life),
    );
    assert!(
        mean(&fast, discount) < mean(&steady, discount),
        "{fast:?} {steady:?}"
    );
    assert!(
        mean(&fast, half_life) <= mean(&steady, half_life),
        "{fast:?} {steady:?}"
    );
}

/// docs/benchmarks.md ("Personal model training") quotes this figure, measured with
/// `CODEX_TRAIN_USERS=25 cargo test --release -p codexd --lib personal_model_training --
/// --nocapture`; CI runs 3 users of each kind.
#[test]
fn personal_model_training_improves_held_out_plan_choice_on_a_simulated_population() {
    const RUNS: usize = 2000;
    let users: u64 = std::env::var("CODEX_TRAIN_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut all = [(0.0, 0.0, 0.0); 3];
    let mut promoted = 0;
    let kinds = Habits::population();
    for (name, habits) in &kinds {
        let (m, p) = population(habits, users, RUNS);
        promoted += p;
        eprintln!(
            "{name:>14}: log-likelihood {:.4} -> {:.4} (after the rule {:.4}); Brier {:.4} -> \
             {:.4} ({:.4}); top-1 {:.3} -> {:.3} ({:.3}); {p} of {users} promoted",
            m[0].0, m[1].0, m[2].0, m[0].1, m[1].1, m[2].1, m[0].2, m[1].2, m[2].2
        );
        for (a, x) in all.iter_mut().zip(m) {
            a.0 += x.0 / kinds.len() as f64;
            a.1 += x.1 / kinds.len() as f64;
            a.2 += x.2 / kinds.len() as f64;
        }
    }
    eprintln!(
        "{} users x {RUNS} runs, {promoted} promoted: held-out log-likelihood {:.4} -> {:.4} (after the promotion \
         rule {:.4}), Brier {:.4} -> {:.4} ({:.4}), top-1 {:.3} -> {:.3} ({:.3})",
        users as usize * kinds.len(),
        all[0].0,
        all[1].0,
        all[2].0,
        all[0].1,
        all[1].1,
        all[2].1,
        all[0].2,
        all[1].2,
        all[2].2
    );
    assert!(all[2].0 > all[0].0 + 0.01, "{all:?}");
    assert!(all[2].1 < all[0].1, "{all:?}");
}
