//! The simulated users of `model.rs`, run through the path users run: each run an episode
//! published on the bus (its outcome signal taken in by the feedback actor), each rating
//! through the actor's `rate`, which journals it, and the ranking read from the profile the
//! actor builds. The figures of docs/benchmarks.md come from here.

use std::sync::Arc;

use codex_proto::types::{RunId, RunOutcome};

use crate::bus::{self, Event};
use crate::config::Config;
use crate::episode::Draft;
use crate::store::Layout;

use super::model::tests::{Lcg, PLANS, choose};

/// A successful run of `plan` for "run the tests" published on the bus, then rated `score`
/// through the actor (which journals it).
async fn run_and_rate(
    bus: &crate::bus::Bus,
    h: &super::FeedbackHandle,
    dir: &std::path::Path,
    run: u64,
    plan: &str,
    score: u8,
) {
    let argv: Vec<String> = plan.split(' ').map(str::to_string).collect();
    let episode = Draft::new(Some("run the tests"), &argv, dir).finish(
        RunId(run),
        dir.to_path_buf(),
        Vec::new(),
        chrono::Utc::now(),
        RunOutcome::Exited { code: 0 },
        10,
        "",
    );
    let _ = bus.send(Event::RunFinished(Arc::new(episode.clone())));
    h.rate(episode, score, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// One user through a fresh feedback actor: whether the liked plan ranks first after
/// `before` interactions; after a change of taste, the interactions until the new one ranks
/// first; and whether it is first after `horizon`.
async fn user(
    seed: u64,
    dir: &std::path::Path,
    before: usize,
    horizon: usize,
) -> (bool, usize, bool) {
    let config = Config::default();
    let layout = Layout::new(dir, &config.storage);
    layout.create_dirs().unwrap_or_else(|e| panic!("{e}"));
    let bus = bus::new();
    let started = super::start(&layout, &config, &bus).unwrap_or_else(|e| panic!("{e}"));
    let h = started.handle;
    let mut rng = Lcg(seed);
    let mut run = 0u64;
    let mut interact = async |liked: &str| {
        let (plan, score) = choose(&mut rng, liked);
        run += 1;
        run_and_rate(&bus, &h, dir, run, plan, score).await;
    };
    let first = async |h: &super::FeedbackHandle| {
        let p = h
            .profile_for(None, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        p.categories
            .first()
            .and_then(|c| c.plans.first())
            .map(|p| p.plan.clone())
            .unwrap_or_default()
    };
    for _ in 0..before {
        interact(PLANS[0]).await;
    }
    let learned = first(&h).await == PLANS[0];
    let mut followed = None;
    for i in 1..=horizon {
        interact(PLANS[1]).await;
        if followed.is_none() && first(&h).await == PLANS[1] {
            followed = Some(i);
        }
    }
    let at_end = first(&h).await == PLANS[1];
    (learned, followed.unwrap_or(usize::MAX), at_end)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_users_through_the_actor_are_learned_and_followed() {
    // CODEX_SIM_USERS for a longer run; the CI default takes seconds.
    let users: u64 = std::env::var("CODEX_SIM_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    // A memory file system where there is one: each rating is fsynced.
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")
    } else {
        tempfile::tempdir()
    }
    .unwrap_or_else(|e| panic!("{e}"));
    let (mut learned, mut at_end, mut follows) = (0, 0, Vec::new());
    for seed in 0..users {
        let (l, f, e) = user(seed, &base.path().join(seed.to_string()), 20, 40).await;
        learned += u64::from(l);
        at_end += u64::from(e);
        follows.push(f);
    }
    follows.sort_unstable();
    let pct = |p: usize| follows[(follows.len() - 1) * p / 100];
    eprintln!(
        "{users} simulated users through the feedback actor: {learned} rank their preferred \
         plan first after 20 interactions; after a change of taste the new plan ranks first \
         after a median of {} interactions (p95 {}, max {}); {at_end} have it first 40 on",
        pct(50),
        pct(95),
        pct(100)
    );
    assert!(
        learned * 100 >= users * 90,
        "only {learned} of {users} learned"
    );
    assert!(pct(50) <= 10, "median follow {}", pct(50));
    assert!(
        at_end * 100 >= users * 90,
        "{at_end} of {users} right at the end"
    );
}

/// Confidence calibration through the actor: 120 plans (30 programs with hidden base success
/// rates uniform in 0.3..1.0, each plan within ±0.15 of its program's); before each run the
/// plan's confidence is computed from the profile the actor built from the runs so far, then
/// the run's episode (exit 0 or 1) goes on the bus. Prints the expected calibration error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidence_from_the_actors_profile_is_calibrated() {
    let steps: usize = std::env::var("CODEX_SIM_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = Config::default();
    let layout = Layout::new(dir.path(), &config.storage);
    layout.create_dirs().unwrap_or_else(|e| panic!("{e}"));
    let bus = bus::new();
    let h = super::start(&layout, &config, &bus)
        .unwrap_or_else(|e| panic!("{e}"))
        .handle;
    let mut rng = Lcg(7);
    let mut unit = || rng.below(1 << 30) as f64 / f64::from(1u32 << 30);
    let (programs, per) = (30usize, 4usize);
    let hidden: Vec<Vec<f64>> = (0..programs)
        .map(|_| {
            let base = 0.3 + 0.7 * unit();
            (0..per)
                .map(|_| (base + 0.3 * (unit() - 0.5)).clamp(0.0, 1.0))
                .collect()
        })
        .collect();
    let mut bins = [(0.0f64, 0.0f64, 0u64); 10];
    for run in 1..=steps {
        let g = (unit() * programs as f64) as usize % programs;
        let k = (unit() * per as f64) as usize % per;
        let (program, plan) = (format!("p{g}"), format!("p{g} k{k}"));
        let profile = h
            .profile_for(None, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let own = profile
            .categories
            .iter()
            .flat_map(|c| c.plans.iter())
            .find(|p| p.plan == plan)
            .cloned();
        let c = crate::planner::confidence(own.as_ref(), &program, &profile);
        let ok = unit() < hidden[g][k];
        let b = ((c * 10.0) as usize).min(9);
        bins[b].0 += c;
        bins[b].1 += f64::from(u8::from(ok));
        bins[b].2 += 1;
        let argv = vec![program.clone(), format!("k{k}")];
        let episode = Draft::new(Some("calibrate"), &argv, dir.path()).finish(
            RunId(run as u64),
            dir.path().to_path_buf(),
            Vec::new(),
            chrono::Utc::now(),
            RunOutcome::Exited {
                code: i32::from(!ok),
            },
            10,
            "",
        );
        let _ = bus.send(Event::RunFinished(Arc::new(episode)));
    }
    let ece = crate::planner::tests::calibration_error(&bins, "runs through the feedback actor");
    assert!(ece < 0.1, "calibration error {ece}");
}

/// New parameters (a personal model promoted) are folded off the actor: ratings given while
/// the fold runs are not lost, and the profile ends as a fold of every signal with the new
/// parameters would make it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_parameters_fold_every_signal_including_those_rated_meanwhile() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = Config::default();
    let layout = Layout::new(dir.path(), &config.storage);
    layout.create_dirs().unwrap_or_else(|e| panic!("{e}"));
    let bus = bus::new();
    let h = super::start(&layout, &config, &bus)
        .unwrap_or_else(|e| panic!("{e}"))
        .handle;
    let mut rng = Lcg(3);
    let mut run = 0u64;
    let mut interact = async |h: &super::FeedbackHandle, rng: &mut Lcg| {
        let (plan, score) = choose(rng, PLANS[0]);
        run += 1;
        run_and_rate(&bus, h, dir.path(), run, plan, score).await;
    };
    for _ in 0..300 {
        interact(&h, &mut rng).await;
    }
    let params = super::model::Params {
        explicit_weight: 0.5,
        discount: 0.5,
        ..super::model::Params::default()
    };
    let configured = {
        let h = h.clone();
        tokio::spawn(async move { h.configure(params).await })
    };
    for _ in 0..50 {
        interact(&h, &mut rng).await;
    }
    configured
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    // One more configure after everything: the profile must not change.
    let before = h
        .profile_for(None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.configure(params).await.unwrap_or_else(|e| panic!("{e}"));
    let after = h
        .profile_for(None, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let scores = |p: &codex_proto::prefs::Profile| -> Vec<(String, u64, String)> {
        p.categories[0]
            .plans
            .iter()
            .map(|x| (x.plan.clone(), x.ratings, format!("{:.9}", x.score)))
            .collect()
    };
    assert_eq!(scores(&before), scores(&after));
    assert_eq!(before.satisfaction.ratings, 350);
    // And it differs from the default parameters' profile: the new ones were used.
    let signals = h.signals().await.unwrap_or_else(|e| panic!("{e}"));
    let mut default = super::model::Model::new(super::model::Params::default());
    default.rebuild(&signals);
    let d = default.profile(
        chrono::Utc::now(),
        &std::collections::BTreeMap::new(),
        None,
        None,
        true,
    );
    assert_ne!(scores(&d), scores(&after));
}
