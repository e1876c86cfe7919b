//! The model's tests: evidence rules, corrections, decay, and simulated users.

use super::*;

fn t(sec: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + sec, 0).unwrap()
}

fn signal(run: u64, sec: i64, plan: &str, kind: SignalKind) -> Signal {
    Signal {
        run_id: Some(RunId(run)),
        at: t(sec),
        category: "run the tests".into(),
        plan: plan.into(),
        tool: plan.split(' ').take(2).collect::<Vec<_>>().join(" ").into(),
        program: plan.split(' ').next().unwrap_or("").into(),
        project: Some("/src/shop".into()),
        learn: true,
        kind,
    }
}

fn outcome(run: u64, sec: i64, plan: &str, success: bool) -> Signal {
    signal(run, sec, plan, SignalKind::named_outcome(success))
}

fn rating(run: u64, sec: i64, plan: &str, score: u8) -> Signal {
    signal(run, sec, plan, SignalKind::Rating { score })
}

fn ranking(m: &Model, sec: i64) -> Vec<String> {
    let p = m.profile(t(sec), &BTreeMap::new(), None, None, true);
    p.categories[0]
        .plans
        .iter()
        .map(|p| p.plan.clone())
        .collect()
}

/// A small deterministic generator, so the simulated user is the same on every run.
pub(crate) struct Lcg(pub(crate) u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The two plans a simulated user chooses between.
pub(crate) const PLANS: [&str; 2] = ["cargo nextest run", "cargo test"];

/// A simulated user's next run: either plan at random, rated noisily: the `liked` plan
/// 3..5, the other 1..3, and one rating in six the other way round.
pub(crate) fn choose(rng: &mut Lcg, liked: &str) -> (&'static str, u8) {
    let plan = PLANS[rng.below(2) as usize];
    let mut good = plan == liked;
    if rng.below(6) == 0 {
        good = !good;
    }
    let score = if good {
        3 + rng.below(3)
    } else {
        1 + rng.below(3)
    } as u8;
    (plan, score)
}

/// A user who prefers `liked`, runs either plan a minute apart (so switching plans also
/// counts as a correction), and rates as [`choose`] says.
fn interact(m: &mut Model, rng: &mut Lcg, run: &mut u64, sec: &mut i64, liked: &str) {
    let (plan, score) = choose(rng, liked);
    *run += 1;
    *sec += 60;
    m.apply(&outcome(*run, *sec, plan, true));
    m.apply(&rating(*run, *sec + 5, plan, score));
}

/// Whether the liked plan ranked first after `before` interactions; then, after a change
/// of taste, the interactions until the newly liked plan first ranks first, and whether
/// it is first at the end of `horizon`.
fn follow_after_change(seed: u64, before: usize, horizon: usize) -> (bool, usize, bool) {
    follow_p(seed, before, horizon, Params::default())
}

pub(super) fn follow_p(
    seed: u64,
    before: usize,
    horizon: usize,
    params: Params,
) -> (bool, usize, bool) {
    let mut m = Model::new(params);
    let mut rng = Lcg(seed);
    let (mut run, mut sec) = (0, 0);
    for _ in 0..before {
        interact(&mut m, &mut rng, &mut run, &mut sec, "cargo nextest run");
    }
    let learned = ranking(&m, sec)[0] == "cargo nextest run";
    let mut followed = None;
    for i in 1..=horizon {
        interact(&mut m, &mut rng, &mut run, &mut sec, "cargo test");
        if followed.is_none() && ranking(&m, sec)[0] == "cargo test" {
            followed = Some(i);
        }
    }
    let at_end = ranking(&m, sec)[0] == "cargo test";
    (learned, followed.unwrap_or(usize::MAX), at_end)
}

/// docs/guide.md and docs/benchmarks.md quote these figures (run with --nocapture to see
/// them); keep them in step.
#[test]
fn simulated_noisy_users_are_learned_within_20_interactions_and_followed_after_a_change() {
    const USERS: u64 = 1000;
    let (mut learned, mut right_at_end) = (0, 0);
    let mut follows = Vec::new();
    for seed in 0..USERS {
        let (l, follow, at_end) = follow_after_change(seed, 20, 40);
        learned += u64::from(l);
        right_at_end += u64::from(at_end);
        follows.push(follow);
    }
    follows.sort_unstable();
    let pct = |p: usize| follows[(follows.len() - 1) * p / 100];
    eprintln!(
        "{USERS} simulated users: {learned} rank their preferred plan first after 20 \
         interactions; after a change of taste the new plan ranks first after a median of \
         {} interactions (p95 {}, max {}); {right_at_end} have it first 40 interactions on",
        pct(50),
        pct(95),
        pct(100),
    );
    assert!(
        learned >= 970,
        "only {learned} of {USERS} learned within 20 interactions"
    );
    assert!(
        pct(100) <= 25,
        "a change of taste took {} interactions",
        pct(100)
    );
    assert!(pct(50) <= 8, "median follow {}", pct(50));
    assert!(right_at_end >= 990, "{right_at_end} right at the end");
}

#[test]
fn explicit_ratings_outweigh_exit_codes() {
    let mut m = Model::new(Params::default());
    // Both succeed; only ratings tell them apart.
    m.apply(&outcome(1, 0, "cargo test", true));
    m.apply(&rating(1, 1, "cargo test", 1));
    m.apply(&outcome(2, 10_000, "cargo nextest run", true));
    m.apply(&rating(2, 10_001, "cargo nextest run", 5));
    assert_eq!(ranking(&m, 10_002)[0], "cargo nextest run");
}

#[test]
fn a_re_rating_replaces_the_earlier_score_on_rebuild() {
    let signals = vec![
        outcome(1, 0, "cargo test", true),
        rating(1, 1, "cargo test", 1),
        rating(1, 2, "cargo test", 5),
    ];
    let mut m = Model::new(Params::default());
    m.rebuild(&signals);
    let p = m.profile(t(3), &BTreeMap::new(), None, None, true);
    assert_eq!(p.satisfaction.ratings, 1);
    assert_eq!(p.satisfaction.mean, Some(5.0));
    assert_eq!(p.categories[0].plans[0].ratings, 1);
}

#[test]
fn a_re_rating_takes_the_old_evidence_out_exactly() {
    let with_first = vec![
        outcome(1, 0, "cargo test", true),
        rating(1, 10, "cargo test", 1),
        outcome(2, 100, "cargo test", true),
        outcome(3, 5_000, "cargo nextest run", false),
        rating(1, 9_000, "cargo test", 5),
    ];
    let without_first: Vec<Signal> = with_first
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, s)| s.clone())
        .collect();
    let (mut a, mut b) = (Model::new(Params::default()), Model::new(Params::default()));
    a.rebuild(&with_first);
    b.rebuild(&without_first);
    let (pa, pb) = (
        a.profile(t(9_001), &BTreeMap::new(), None, None, true),
        b.profile(t(9_001), &BTreeMap::new(), None, None, true),
    );
    for (x, y) in pa.categories[0].plans.iter().zip(&pb.categories[0].plans) {
        assert_eq!(x.plan, y.plan);
        assert!(
            (x.score - y.score).abs() < 1e-9,
            "{} vs {}",
            x.score,
            y.score
        );
        assert_eq!((x.ratings, x.mean_rating), (y.ratings, y.mean_rating));
    }
    assert_eq!(pa.satisfaction, pb.satisfaction);
}

#[test]
fn a_pick_counts_against_the_plan_passed_over_and_is_a_parameter_preference() {
    let mut m = Model::new(Params::default());
    m.apply(&outcome(1, 0, "cargo test", true));
    m.apply(&outcome(2, 100_000, "cargo nextest run", true));
    let picked = |run: u64, sec: i64| {
        let mut s = signal(
            run,
            sec,
            "cargo nextest run",
            SignalKind::Picked {
                over: "cargo test".into(),
            },
        );
        s.run_id = None;
        s
    };
    m.apply(&picked(3, 200_000));
    let p = m.profile(t(200_001), &BTreeMap::new(), None, None, true);
    assert_eq!(p.categories[0].plans[0].plan, "cargo nextest run");
    assert_eq!(p.categories[0].plans[1].corrected_away, 1);
    assert_eq!(p.corrections.len(), 1);
    assert_eq!(
        (
            p.corrections[0].from.as_str(),
            p.corrections[0].to.as_str(),
            p.corrections[0].times
        ),
        ("cargo test", "cargo nextest run", 1)
    );
    m.apply(&picked(4, 200_100));
    let p = m.profile(t(200_101), &BTreeMap::new(), None, None, true);
    assert_eq!(p.corrections[0].times, 2);
    // The picked plan's run right after a run of the other one is not a second count.
    m.apply(&outcome(5, 200_200, "cargo test", true));
    m.apply(&picked(6, 200_210));
    m.apply(&outcome(6, 200_220, "cargo nextest run", true));
    let p = m.profile(t(200_221), &BTreeMap::new(), None, None, true);
    assert_eq!(p.corrections[0].times, 3);
}

#[test]
fn a_plans_later_steps_and_planned_dry_runs_are_not_choices() {
    let mut m = Model::new(Params::default());
    let step = |run: u64, sec: i64, plan: &str, part: RunPart| {
        signal(
            run,
            sec,
            plan,
            SignalKind::Outcome {
                success: true,
                cancelled: false,
                dry_run: plan.contains(" -n "),
                verbosity: 0,
                part,
                named: true,
                borrowed: false,
                unstarted: false,
                first: false,
                from_model: false,
            },
        )
    };
    for k in 0..3 {
        let at = k * 100;
        m.apply(&step(
            3 * k as u64 + 1,
            at,
            "make -n test",
            RunPart::PlannedDryRun,
        ));
        m.apply(&step(
            3 * k as u64 + 2,
            at + 1,
            "cargo build",
            RunPart::Whole,
        ));
        m.apply(&step(
            3 * k as u64 + 3,
            at + 2,
            "cargo test",
            RunPart::Continues,
        ));
    }
    let p = m.profile(t(1_000), &BTreeMap::new(), None, None, true);
    assert!(p.corrections.is_empty(), "{:?}", p.corrections);
    let plans = &p.categories[0].plans;
    assert!(plans.iter().all(|pl| pl.corrected_away == 0));
    assert!(
        plans.iter().all(|pl| pl.plan != "make -n test"),
        "{plans:?}"
    );
    assert_eq!(p.style.runs, 6);
    assert_eq!(p.style.dry_run_share, 0.0);
}

#[test]
fn dry_runs_are_recognised_per_tool() {
    let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert!(is_dry_run(&argv("make -n test"), "make"));
    assert!(is_dry_run(&argv("make -n test"), "make test"));
    assert!(is_dry_run(&argv("just --dry-run test"), "just"));
    assert!(!is_dry_run(&argv("head -n 5 f"), "head"));
}

#[test]
fn corrections_count_against_the_replaced_plan() {
    let mut m = Model::new(Params::default());
    m.apply(&outcome(1, 0, "cargo test", true));
    m.apply(&outcome(2, 30, "cargo nextest run", true)); // same goal, new plan, in window
    let p = m.profile(t(31), &BTreeMap::new(), None, None, true);
    let plans = &p.categories[0].plans;
    assert_eq!(plans[0].plan, "cargo nextest run");
    assert_eq!(plans[1].corrected_away, 1);
    assert_eq!(p.corrections[0].from, "cargo test");
    assert_eq!(p.corrections[0].to, "cargo nextest run");
    // Outside the window it is just another run.
    let mut m = Model::new(Params::default());
    m.apply(&outcome(1, 0, "cargo test", true));
    m.apply(&outcome(2, 10_000, "cargo nextest run", true));
    let p = m.profile(t(10_001), &BTreeMap::new(), None, None, true);
    assert!(p.categories[0].plans.iter().all(|p| p.corrected_away == 0));
}

#[test]
fn a_correction_needs_evidence_that_the_first_plan_did_not_serve() {
    let unnamed = |run: u64, sec: i64, plan: &str, success: bool| {
        let mut s = outcome(run, sec, plan, success);
        if let SignalKind::Outcome { named, .. } = &mut s.kind {
            *named = false;
        }
        s
    };
    // Two commands typed, both worked, no goal in words: no correction, twice over.
    let mut m = Model::new(Params::default());
    for k in 0..2 {
        m.apply(&unnamed(1 + 2 * k, 100 * k as i64, "make test", true));
        m.apply(&unnamed(
            2 + 2 * k,
            100 * k as i64 + 30,
            "make test V=1",
            true,
        ));
    }
    let p = m.profile(t(500), &BTreeMap::new(), None, None, true);
    assert!(p.corrections.is_empty(), "{:?}", p.corrections);
    assert!(p.categories[0].plans.iter().all(|p| p.corrected_away == 0));
    // The first one failed: that is evidence.
    let mut m = Model::new(Params::default());
    m.apply(&unnamed(1, 0, "make test", false));
    m.apply(&unnamed(2, 30, "make test V=1", true));
    let p = m.profile(t(31), &BTreeMap::new(), None, None, true);
    assert_eq!(p.corrections.len(), 1);
    // Rated 1 or 2: evidence too.
    let mut m = Model::new(Params::default());
    m.apply(&unnamed(1, 0, "make test", true));
    m.apply(&rating(1, 10, "make test", 2));
    m.apply(&unnamed(2, 30, "make test V=1", true));
    let p = m.profile(t(31), &BTreeMap::new(), None, None, true);
    assert_eq!(p.corrections.len(), 1);
}

#[test]
fn failure_reactions_and_style_are_counted() {
    let mut m = Model::new(Params::default());
    m.apply(&outcome(1, 0, "cargo test", false));
    m.apply(&outcome(2, 10, "cargo test", true)); // retry
    m.apply(&outcome(3, 20, "cargo test", false));
    m.apply(&outcome(4, 30, "cargo nextest run", true)); // change plan
    m.apply(&outcome(5, 40, "cargo test", false));
    m.apply(&outcome(6, 50_000, "cargo test", true)); // too late: moved on
    let approval = |sec: i64, plan: &str, approved: bool| {
        let mut a = outcome(0, sec, plan, true);
        a.run_id = None;
        a.kind = SignalKind::Approval {
            approved,
            asked: false,
        };
        a
    };
    // Held back, then run with --yes a minute later: one approval given, no denial.
    m.apply(&approval(50_010, "rm -r target", false));
    m.apply(&approval(50_070, "rm -r target", true));
    // Held back and left: a denial once the window has passed.
    m.apply(&approval(50_100, "rm -r build", false));
    let pending = m
        .profile(t(50_101), &BTreeMap::new(), None, None, true)
        .style;
    assert_eq!((pending.approvals_given, pending.approvals_denied), (1, 0));
    m.apply(&outcome(8, 50_100 + 601, "cargo test", true));
    let st = m
        .profile(t(51_000), &BTreeMap::new(), None, None, true)
        .style;
    assert_eq!(
        (st.failure_retry, st.failure_change_plan, st.failure_abandon),
        (1, 1, 1)
    );
    assert_eq!((st.approvals_given, st.approvals_denied), (1, 1));
    assert_eq!(st.runs, 7);
    assert_eq!(st.hours.iter().sum::<u64>(), 7);
}

#[test]
fn settings_override_what_is_learned_and_say_so() {
    let mut m = Model::new(Params::default());
    for i in 0..5 {
        let mut s = outcome(i, i as i64, "rm -r build", true);
        s.run_id = None;
        s.kind = SignalKind::Approval {
            approved: true,
            asked: false,
        };
        m.apply(&s);
    }
    let learned = m.profile(t(10), &BTreeMap::new(), None, None, true).style;
    assert_eq!(
        (
            learned.autonomy_comfort.value.as_str(),
            learned.autonomy_comfort.source.as_str()
        ),
        ("high", "learned")
    );
    let mut set = BTreeMap::new();
    set.insert(AUTONOMY.to_string(), "low".to_string());
    let st = m.profile(t(10), &set, None, None, true).style;
    assert_eq!(st.autonomy_comfort.value, "low");
    assert_eq!(st.autonomy_comfort.source, "set");
    assert_eq!(st.autonomy_comfort.learned.as_deref(), Some("high"));
}

#[test]
fn signals_while_learning_was_off_count_for_nothing() {
    let mut m = Model::new(Params::default());
    let mut s = outcome(1, 0, "cargo test", true);
    s.learn = false;
    m.apply(&s);
    assert!(
        m.profile(t(1), &BTreeMap::new(), None, None, true)
            .categories
            .is_empty()
    );
}

#[test]
fn evidence_decays_with_time() {
    let p = Params::default();
    let mut plan = evidence::Evidence::default();
    plan.add(0, 0, 1.0, 1.0, &p);
    let (_, now) = plan.score(0, 0, &p);
    let (_, later) = plan.score(30 * 86_400, 0, &p);
    assert!((now - 1.0).abs() < 1e-9);
    assert!(
        (later - 0.5).abs() < 1e-9,
        "one half-life halves the evidence: {later}"
    );
    let (_, newer) = plan.score(0, 2, &p);
    assert!((newer - 0.81).abs() < 1e-9, "two newer runs: 0.9²");
}

#[test]
fn dry_runs_and_verbosity_are_read_from_flags() {
    let v = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(is_dry_run(&v(&["rsync", "--dry-run", "a", "b"]), "rsync"));
    assert!(is_dry_run(&v(&["terraform", "plan"]), "terraform plan"));
    assert!(!is_dry_run(&v(&["cargo", "test"]), "cargo test"));
    assert_eq!(verbosity_of(&v(&["cargo", "test", "-v"])), 1);
    assert_eq!(verbosity_of(&v(&["cargo", "test", "--quiet"])), -1);
    assert_eq!(verbosity_of(&v(&["cargo", "-q", "test", "-v"])), 1);
}

fn in_project(mut s: Signal, root: &str) -> Signal {
    s.project = Some(root.into());
    s
}

fn borrowed(mut s: Signal) -> Signal {
    if let SignalKind::Outcome { borrowed, .. } = &mut s.kind {
        *borrowed = true;
    }
    s
}

#[test]
fn evidence_is_kept_per_project_and_the_filtered_profile_shows_that_projects() {
    let mut m = Model::new(Params::default());
    for i in 0..3 {
        m.apply(&in_project(
            outcome(i, i as i64 * 60, "npm test", true),
            "/p/node",
        ));
    }
    for i in 3..5 {
        m.apply(&in_project(
            outcome(i, i as i64 * 60, "npm test", false),
            "/p/py",
        ));
    }
    let all = m.profile(t(600), &BTreeMap::new(), None, None, true);
    let pl = &all.categories[0].plans[0];
    assert_eq!((pl.runs, pl.successes), (5, 3));
    let node = pl.place(Some("/p/node")).unwrap();
    let py = pl.place(Some("/p/py")).unwrap();
    assert_eq!(
        (node.runs, node.successes, py.runs, py.successes),
        (3, 3, 2, 0)
    );
    assert!(node.score > 0.7 && py.score < 0.3, "{node:?} {py:?}");
    // The failures in one project leave the other's standing as it was.
    let only = m.profile(t(600), &BTreeMap::new(), None, Some("/p/node"), true);
    let pl = &only.categories[0].plans[0];
    assert_eq!((pl.runs, pl.successes), (3, 3));
    assert!((pl.score - node.score).abs() < 1e-12);
}

#[test]
fn a_borrowed_plan_is_learned_only_once_kept() {
    let score_here = |m: &Model| {
        let p = m.profile(t(900), &BTreeMap::new(), None, None, true);
        let pl = p.categories[0].plans[0]
            .place(Some("/src/shop"))
            .cloned()
            .unwrap();
        (pl.kept, pl.evidence, pl.runs)
    };
    // One borrowed run that worked: a run, no evidence, not kept.
    let mut m = Model::new(Params::default());
    m.apply(&borrowed(outcome(1, 0, "cargo build", true)));
    assert_eq!(score_here(&m), (false, 0.0, 1));
    // Run again, it is kept: both runs count.
    m.apply(&borrowed(outcome(2, 60, "cargo build", true)));
    let (kept, evidence, runs) = score_here(&m);
    assert!(
        kept && evidence > 1.5 && runs == 2,
        "{kept} {evidence} {runs}"
    );
    // Rated 3 or more after one run, it is kept at once.
    let mut m = Model::new(Params::default());
    m.apply(&borrowed(outcome(1, 0, "cargo build", true)));
    m.apply(&rating(1, 5, "cargo build", 4));
    let (kept, evidence, _) = score_here(&m);
    assert!(kept && evidence > 3.5, "{kept} {evidence}");
    // Rated low, its borrowed success never counts.
    let mut m = Model::new(Params::default());
    m.apply(&borrowed(outcome(1, 0, "cargo build", true)));
    m.apply(&rating(1, 5, "cargo build", 1));
    m.apply(&borrowed(outcome(2, 60, "cargo build", true)));
    let p = m.profile(t(900), &BTreeMap::new(), None, None, true);
    let pl = &p.categories[0].plans[0];
    assert!(pl.score < 0.5, "{pl:?}");
    // A borrowed run that failed counts against it at once.
    let mut m = Model::new(Params::default());
    m.apply(&borrowed(outcome(1, 0, "cargo build", false)));
    let (kept, evidence, _) = score_here(&m);
    assert!(!kept && evidence > 0.9, "{kept} {evidence}");
}

#[test]
fn a_typed_command_is_a_habit_where_it_was_typed() {
    let mut m = Model::new(Params::default());
    let typed = |sec: i64| Signal {
        run_id: None,
        kind: SignalKind::Typed,
        ..outcome(0, sec, "cargo nextest run", true)
    };
    for i in 0..5 {
        m.apply(&typed(i * 60));
    }
    let p = m.profile(t(600), &BTreeMap::new(), None, None, true);
    let pl = &p.categories[0].plans[0];
    let here = pl.place(Some("/src/shop")).unwrap();
    assert_eq!((pl.runs, pl.typed, here.typed), (0, 5, 5));
    assert!(here.kept && here.score > 0.7, "{here:?}");
    // No run, so no program record, no working style.
    assert!(p.programs.is_empty() && p.style.runs == 0);
}

fn could_not_start_run(run: u64, sec: i64, plan: &str) -> Signal {
    let mut s = outcome(run, sec, plan, false);
    if let SignalKind::Outcome { unstarted, .. } = &mut s.kind {
        *unstarted = true;
    }
    s
}

fn planned_first(mut s: Signal) -> Signal {
    if let SignalKind::Outcome { first, .. } = &mut s.kind {
        *first = true;
    }
    s
}

fn pick(sec: i64, plan: &str, over: &str) -> Signal {
    let mut s = signal(0, sec, plan, SignalKind::Picked { over: over.into() });
    s.run_id = None;
    s
}

fn plan_at<'p>(
    p: &'p codex_proto::prefs::Profile,
    plan: &str,
) -> &'p codex_proto::prefs::PlanPrefs {
    p.categories[0]
        .plans
        .iter()
        .find(|pl| pl.plan == plan)
        .unwrap_or_else(|| panic!("{plan} not in {p:?}"))
}

#[test]
fn exit_126_127_and_a_program_not_found_could_not_start() {
    assert!(could_not_start(&RunOutcome::Exited { code: 127 }));
    assert!(could_not_start(&RunOutcome::Exited { code: 126 }));
    assert!(could_not_start(&RunOutcome::FailedToStart {
        error: "No such file or directory".into(),
        not_found: true,
    }));
    assert!(!could_not_start(&RunOutcome::Exited { code: 1 }));
    assert!(!could_not_start(&RunOutcome::Exited { code: 2 }));
    assert!(!could_not_start(&RunOutcome::Signaled { signal: 9 }));
    assert!(!could_not_start(&RunOutcome::Cancelled));
}

#[test]
fn a_run_that_could_not_start_is_no_evidence_about_taste() {
    // A liked plan, rated well; its tool then goes missing for three runs, each rated 1.
    let before = [
        outcome(1, 0, "./unit.sh", true),
        rating(1, 5, "./unit.sh", 5),
        outcome(2, 60, "./unit.sh", true),
        rating(2, 65, "./unit.sh", 4),
        outcome(3, 120, "./quick.sh", true),
        rating(3, 125, "./quick.sh", 2),
    ];
    let mut outage = Model::new(Params::default());
    let mut elsewhere = Model::new(Params::default());
    for s in &before {
        outage.apply(s);
        elsewhere.apply(s);
    }
    for k in 0..3u64 {
        let sec = 200 + 100 * k as i64;
        outage.apply(&could_not_start_run(10 + k, sec, "./unit.sh"));
        outage.apply(&rating(10 + k, sec + 5, "./unit.sh", 1));
        // The same clock, with runs that have nothing to do with the plan.
        elsewhere.apply(&outcome(10 + k, sec, "./other.sh", true));
    }
    let (po, pe) = (
        outage.profile(t(1_000), &BTreeMap::new(), None, None, true),
        elsewhere.profile(t(1_000), &BTreeMap::new(), None, None, true),
    );
    let (o, e) = (plan_at(&po, "./unit.sh"), plan_at(&pe, "./unit.sh"));
    assert!((o.score - e.score).abs() < 1e-9, "{o:?} vs {e:?}");
    assert!((o.evidence - e.evidence).abs() < 1e-9, "{o:?} vs {e:?}");
    // Its record still says what happened: five runs, two of them worked.
    assert_eq!((o.runs, o.successes, o.ratings), (5, 2, 5));

    // Passing it over while it cannot start works around the missing tool: nothing against
    // it, no parameter preference; once it runs again, a pick over it counts as usual.
    outage.apply(&pick(600, "./quick.sh", "./unit.sh"));
    outage.apply(&outcome(20, 601, "./quick.sh", true));
    let p = outage.profile(t(700), &BTreeMap::new(), None, None, true);
    assert_eq!(plan_at(&p, "./unit.sh").corrected_away, 0);
    assert!(p.corrections.is_empty(), "{:?}", p.corrections);
    assert_eq!(p.categories[0].plans[0].plan, "./unit.sh");
    outage.apply(&planned_first(outcome(21, 800, "./unit.sh", true)));
    outage.apply(&pick(900, "./quick.sh", "./unit.sh"));
    let p = outage.profile(t(901), &BTreeMap::new(), None, None, true);
    assert_eq!(plan_at(&p, "./unit.sh").corrected_away, 1);
    assert_eq!(p.corrections.len(), 1);

    // Typing another command for the goal after it could not start is the same workaround;
    // after an ordinary failure it is a correction.
    let replaced = |first_run: Signal| {
        let mut m = Model::new(Params::default());
        m.apply(&first_run);
        m.apply(&outcome(2, 30, "./quick.sh", true));
        m.profile(t(31), &BTreeMap::new(), None, None, true)
    };
    let p = replaced(could_not_start_run(1, 0, "./unit.sh"));
    assert!(p.corrections.is_empty(), "{:?}", p.corrections);
    assert_eq!(plan_at(&p, "./unit.sh").corrected_away, 0);
    let p = replaced(outcome(1, 0, "./unit.sh", false));
    assert_eq!(p.corrections.len(), 1);
    assert_eq!(plan_at(&p, "./unit.sh").corrected_away, 1);
}

#[test]
fn the_planners_first_plan_run_as_offered_corrects_nothing() {
    // A command typed for the goal, then the goal run in words: the planner's first plan.
    let with = |first: bool| {
        let mut m = Model::new(Params::default());
        m.apply(&outcome(1, 0, "cargo nextest run", true));
        let run = outcome(2, 30, "cargo test", true);
        m.apply(&if first { planned_first(run) } else { run });
        m.profile(t(31), &BTreeMap::new(), None, None, true)
    };
    let planned = with(true);
    assert!(planned.corrections.is_empty(), "{:?}", planned.corrections);
    assert!(
        planned.categories[0]
            .plans
            .iter()
            .all(|p| p.corrected_away == 0)
    );
    // The same command chosen by the user (typed, the goal named) is a correction.
    let typed = with(false);
    assert_eq!(typed.corrections.len(), 1);
    assert_eq!(plan_at(&typed, "cargo nextest run").corrected_away, 1);
}

#[test]
fn a_rating_speaks_for_its_run_and_a_low_one_of_a_failed_run_rates_the_failure() {
    let score = |signals: &[Signal]| {
        let mut m = Model::new(Params::default());
        for s in signals {
            m.apply(s);
        }
        // Read at the moment of the signals: no decay by time.
        let p = m.profile(t(0), &BTreeMap::new(), None, None, true);
        let pl = &p.categories[0].plans[0];
        (pl.score, pl.evidence)
    };
    let near = |(s, e): (f64, f64), (ws, we): (f64, f64)| {
        assert!(
            (s - ws).abs() < 1e-9 && (e - we).abs() < 1e-9,
            "({s}, {e}) instead of ({ws}, {we})"
        );
    };
    let ok = outcome(1, 0, "cargo test", true);
    let failed = outcome(1, 0, "cargo test", false);
    // Unrated, the exit status is all there is: Beta(1 + 1, 1).
    near(score(std::slice::from_ref(&ok)), (2.0 / 3.0, 1.0));
    // Rated 2, it is the rating alone: 3 × 0.25 for, 3 × 0.75 against; not also a success.
    near(
        score(&[ok.clone(), rating(1, 0, "cargo test", 2)]),
        (1.75 / 5.0, 3.0),
    );
    // A failed run rated 4: the rating again, not also a failure.
    near(
        score(&[failed.clone(), rating(1, 0, "cargo test", 4)]),
        (3.25 / 5.0, 3.0),
    );
    // A failed run rated 1 rates the failure, which counts once.
    near(
        score(&[failed.clone(), rating(1, 0, "cargo test", 1)]),
        (1.0 / 3.0, 1.0),
    );
    // Re-rated, the latest rating decides, both ways.
    near(
        score(&[
            failed.clone(),
            rating(1, 0, "cargo test", 1),
            rating(1, 0, "cargo test", 4),
        ]),
        (3.25 / 5.0, 3.0),
    );
    near(
        score(&[
            failed,
            rating(1, 0, "cargo test", 4),
            rating(1, 0, "cargo test", 1),
        ]),
        (1.0 / 3.0, 1.0),
    );
}

#[test]
fn a_choice_counts_until_its_run_is_rated_and_stays_a_preference_only_if_liked() {
    let picked = |score: Option<u8>| {
        let mut m = Model::new(Params::default());
        m.apply(&planned_first(outcome(1, 0, "make test", true)));
        m.apply(&pick(60, "make check", "make test"));
        m.apply(&outcome(2, 61, "make check", true));
        if let Some(s) = score {
            m.apply(&rating(2, 70, "make check", s));
        }
        m
    };
    // The same runs with no choice at all: the second typed without naming the goal.
    let unpicked = |score: Option<u8>| {
        let mut m = Model::new(Params::default());
        m.apply(&planned_first(outcome(1, 0, "make test", true)));
        let mut typed = outcome(2, 61, "make check", true);
        if let SignalKind::Outcome { named, .. } = &mut typed.kind {
            *named = false;
        }
        m.apply(&typed);
        if let Some(s) = score {
            m.apply(&rating(2, 70, "make check", s));
        }
        m
    };
    let show = |m: &Model| m.profile(t(100), &BTreeMap::new(), None, None, true);
    // Unrated: for the plan chosen, against the plan passed over, a parameter preference.
    let (p, q) = (show(&picked(None)), show(&unpicked(None)));
    assert_eq!(p.corrections.len(), 1);
    assert_eq!(plan_at(&p, "make test").corrected_away, 1);
    assert!(plan_at(&p, "make check").score > plan_at(&q, "make check").score);
    assert!(plan_at(&p, "make test").score < plan_at(&q, "make test").score);
    // Rated, the rating speaks for the plan chosen: the scores are as without the pick. Rated
    // 4 or 5, the pick stays a parameter preference; lower, it was a try.
    for score in 1..=5 {
        let (p, q) = (show(&picked(Some(score))), show(&unpicked(Some(score))));
        for plan in ["make test", "make check"] {
            let (x, y) = (plan_at(&p, plan), plan_at(&q, plan));
            assert!(
                (x.score - y.score).abs() < 1e-9,
                "{score} {plan}: {x:?} {y:?}"
            );
        }
        let liked = score >= 4;
        assert_eq!(p.corrections.len(), usize::from(liked), "{score}");
        assert_eq!(
            plan_at(&p, "make test").corrected_away,
            u64::from(liked),
            "{score}"
        );
    }
    // Re-rated 5, the pick is a parameter preference again.
    let mut m = picked(Some(2));
    m.apply(&rating(2, 80, "make check", 5));
    let p = show(&m);
    assert_eq!(p.corrections.len(), 1);
    assert_eq!(plan_at(&p, "make test").corrected_away, 1);

    // A correction (the goal run again with a typed command after a low rating) is a choice
    // too: its run rated 2 takes it back.
    let mut m = Model::new(Params::default());
    m.apply(&outcome(1, 0, "make test", true));
    m.apply(&rating(1, 5, "make test", 2));
    m.apply(&outcome(2, 30, "make check", true));
    assert_eq!(show(&m).corrections.len(), 1);
    m.apply(&rating(2, 40, "make check", 2));
    let p = show(&m);
    assert!(p.corrections.is_empty(), "{:?}", p.corrections);
    assert_eq!(plan_at(&p, "make test").corrected_away, 0);
}
