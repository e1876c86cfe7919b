//! The planner's tests: candidates, ranking, corrections, calibration, similar goals.

use super::*;
use codex_proto::prefs::{CategoryPrefs, PlanPrefs};

fn registry() -> &'static registry::Registry {
    static R: std::sync::OnceLock<registry::Registry> = std::sync::OnceLock::new();
    R.get_or_init(|| registry::Registry::new(&[]).unwrap())
}

fn opts(book: &playbooks::PlaybookBook, personalized: bool) -> Options<'_> {
    Options {
        personalized,
        context_aware: true,
        playbooks: book,
        registry: registry(),
        exploration: Exploration::Greedy,
        dry_run_habit: 0.3,
        seed: 1,
        cache: None,
        known: None,
        remote: None,
        embeddings: "local",
        path: test_path(),
        terminal: false,
    }
}

/// This process's PATH: the plans' programs are looked up on it.
pub(crate) fn test_path() -> &'static str {
    static P: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    P.get_or_init(|| std::env::var("PATH").unwrap_or_default())
}

/// An executable script `name` in `dir`: a plan's program must exist to be offered.
fn script(dir: &Path, name: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let p = dir.join(name);
    std::fs::write(&p, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn rust_project() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("Cargo.toml"), "[package]\n").unwrap();
    t
}

#[test]
fn the_projects_command_is_planned_and_learned_plans_outrank_it() {
    let t = rust_project();
    let empty = Profile::default();
    let book = playbooks::PlaybookBook::default();
    let p = plan("run the tests", t.path(), &empty, &opts(&book, true));
    assert_eq!(p.plans[0].command, "cargo test");
    let liked = Profile {
        categories: vec![CategoryPrefs {
            category: "run the tests".into(),
            runs: 5,
            plans: vec![
                PlanPrefs {
                    plan: "cargo nextest run".into(),
                    score: 0.9,
                    runs: 5,
                    successes: 5,
                    projects: vec![t.path().display().to_string()],
                    ..PlanPrefs::default()
                },
                PlanPrefs {
                    plan: "cargo test".into(),
                    score: 0.3,
                    runs: 3,
                    successes: 3,
                    ..PlanPrefs::default()
                },
            ],
            tools: Vec::new(),
        }],
        ..Profile::default()
    };
    let p = plan("Run the tests", t.path(), &liked, &opts(&book, true));
    assert_eq!(p.plans[0].command, "cargo nextest run");
    assert_eq!(p.plans[1].command, "cargo test");
    assert!(
        p.plans[0].evidence.contains("5 times"),
        "{}",
        p.plans[0].evidence
    );
    // Without personalization the project's own command leads.
    let p = plan("run the tests", t.path(), &liked, &opts(&book, false));
    assert_eq!(p.plans[0].command, "cargo test");
    // Said otherwise, the same goal finds the same preference.
    let p = plan(
        "execute the test suite",
        t.path(),
        &liked,
        &opts(&book, true),
    );
    assert_eq!(p.plans[0].command, "cargo nextest run");
    assert!(
        p.plans[0].evidence.contains("\"run the tests\""),
        "{}",
        p.plans[0].evidence
    );
}

#[test]
fn an_unknown_goal_says_so_and_invents_nothing() {
    let t = rust_project();
    let book = playbooks::PlaybookBook::default();
    let p = plan(
        "deploy staging",
        t.path(),
        &Profile::default(),
        &opts(&book, true),
    );
    assert!(p.plans.is_empty());
    let why = p.unknown.unwrap();
    assert!(why.contains("no plan for \"deploy staging\""), "{why}");
    assert!(
        why.contains("this project's tasks: build, clean, format, lint, run, test"),
        "{why}"
    );
    assert!(why.contains("codex teach"), "{why}");
}

fn liked_profile(root: &Path, a: (&str, f64, f64), b: (&str, f64, f64)) -> Profile {
    let plan = |(plan, score, evidence): (&str, f64, f64)| PlanPrefs {
        plan: plan.into(),
        score,
        evidence,
        runs: 3,
        successes: 3,
        projects: vec![root.display().to_string()],
        ..PlanPrefs::default()
    };
    Profile {
        categories: vec![CategoryPrefs {
            category: "run the tests".into(),
            runs: 6,
            plans: vec![plan(a), plan(b)],
            tools: Vec::new(),
        }],
        ..Profile::default()
    }
}

#[test]
fn thompson_sampling_explores_only_when_allowed() {
    let t = rust_project();
    let book = playbooks::PlaybookBook::default();
    let mut p = liked_profile(
        t.path(),
        ("cargo nextest run", 0.6, 2.0),
        ("cargo test", 0.55, 1.0),
    );
    let firsts = |p: &Profile, exploration: Exploration| {
        (0..200u64)
            .filter(|seed| {
                let o = Options {
                    exploration,
                    seed: *seed,
                    ..opts(&book, true)
                };
                plan("run the tests", t.path(), p, &o).plans[0].command == "cargo test"
            })
            .count()
    };
    assert_eq!(firsts(&p, Exploration::Greedy), 0);
    let explored = firsts(&p, Exploration::Thompson);
    assert!(explored > 20 && explored < 180, "{explored}");
    // Never with low comfort.
    p.style.autonomy_comfort.value = "low".into();
    assert_eq!(firsts(&p, Exploration::Thompson), 0);
    // With much evidence the draw follows the evidence.
    let p = liked_profile(
        t.path(),
        ("cargo nextest run", 0.9, 60.0),
        ("cargo test", 0.3, 60.0),
    );
    assert_eq!(firsts(&p, Exploration::Thompson), 0);
}

#[test]
fn a_command_the_user_kept_correcting_is_replaced() {
    let t = rust_project();
    let book = playbooks::PlaybookBook::default();
    let mut p = Profile::default();
    p.corrections.push(codex_proto::prefs::Correction {
        from: "cargo test".into(),
        to: "cargo nextest run".into(),
        times: 1,
    });
    // Once is not a habit.
    let r = plan("test the parser", t.path(), &p, &opts(&book, true));
    assert_eq!(r.plans[0].command, "cargo test");
    p.corrections[0].times = 3;
    let r = plan("test the parser", t.path(), &p, &opts(&book, true));
    assert_eq!(r.plans[0].command, "cargo nextest run");
    assert!(
        r.plans[0].steps[0]
            .rationale
            .contains("you replaced `cargo test` with this 3 times"),
        "{}",
        r.plans[0].steps[0].rationale
    );
    // Corrected back more often: no longer applied.
    p.corrections.push(codex_proto::prefs::Correction {
        from: "cargo nextest run".into(),
        to: "cargo test".into(),
        times: 4,
    });
    let r = plan("test the parser", t.path(), &p, &opts(&book, true));
    assert_eq!(r.plans[0].command, "cargo test");
    // Without personalization, never.
    p.corrections.pop();
    let r = plan("test the parser", t.path(), &p, &opts(&book, false));
    assert_eq!(r.plans[0].command, "cargo test");
}

#[test]
fn a_dry_run_habit_puts_the_dry_run_first() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("Makefile"), "test:\n\t./t\n").unwrap();
    let book = playbooks::PlaybookBook::default();
    let mut p = Profile::default();
    p.style.runs = 10;
    p.style.dry_run_share = 0.1;
    let r = plan("run the tests", t.path(), &p, &opts(&book, true));
    assert_eq!(r.plans[0].command, "make test");
    p.style.dry_run_share = 0.5;
    let r = plan("run the tests", t.path(), &p, &opts(&book, true));
    assert_eq!(r.plans[0].command, "make -n test && make test");
    assert!(r.plans[0].steps[0].dry_run);
    assert!(!r.plans[0].steps[1].dry_run);
    assert!(r.plans[0].steps[0].rationale.contains("50%"));
}

#[test]
fn registry_tools_plan_with_their_parameters_and_class() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join(".git")).unwrap();
    let book = playbooks::PlaybookBook::default();
    let p = Profile::default();
    let r = plan("search for \"TODO\"", t.path(), &p, &opts(&book, true));
    assert_eq!(r.task.as_deref(), Some("search"));
    let step = &r.plans[0].steps[0];
    assert_eq!(step.argv[0], "grep");
    assert!(step.argv.contains(&"TODO".to_string()));
    assert_eq!(step.class, Some(SafetyClass::ReadOnly));
    assert!(
        step.rationale.contains("pattern = TODO"),
        "{}",
        step.rationale
    );
    let r = plan("git status", t.path(), &p, &opts(&book, true));
    assert_eq!(r.plans[0].command, "git status --short --branch");
    // A tool that cannot be filled says what it needs.
    let r = plan("search", t.path(), &p, &opts(&book, true));
    assert!(r.plans.is_empty());
    let why = r.unknown.unwrap();
    assert!(why.contains("needs a pattern"), "{why}");
}

#[test]
fn plans_from_another_project_have_their_paths_adapted() {
    let t = rust_project();
    let here = t.path().display().to_string();
    let book = playbooks::PlaybookBook::default();
    let p = Profile {
        categories: vec![CategoryPrefs {
            category: "bench the parser".into(),
            runs: 3,
            plans: vec![PlanPrefs {
                plan: "cargo bench --manifest-path /src/old/Cargo.toml".into(),
                score: 0.8,
                runs: 3,
                successes: 3,
                projects: vec!["/src/old".into()],
                ..PlanPrefs::default()
            }],
            tools: Vec::new(),
        }],
        ..Profile::default()
    };
    let r = plan("bench the parser", t.path(), &p, &opts(&book, true));
    assert_eq!(
        r.plans[0].steps[0].argv,
        [
            "cargo",
            "bench",
            "--manifest-path",
            &format!("{here}/Cargo.toml")
        ]
    );
    assert!(r.plans[0].steps[0].rationale.contains("adapted"));
}

/// Confidence is calibrated: over many simulated runs, plans given confidence p succeed
/// about p of the time. Hidden success rates: each program has a base rate (uniform in
/// 0.3..1.0) and each of its plans differs from it by up to ±0.15. Prints the expected
/// calibration error (10 bins) for docs/benchmarks.md.
#[test]
fn confidence_is_calibrated() {
    struct Lcg(u64);
    impl Lcg {
        fn unit(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }
    let mut rng = Lcg(7);
    let programs = 30;
    let per = 4;
    let hidden: Vec<Vec<f64>> = (0..programs)
        .map(|_| {
            let base = 0.3 + 0.7 * rng.unit();
            (0..per)
                .map(|_| (base + 0.3 * (rng.unit() - 0.5)).clamp(0.0, 1.0))
                .collect()
        })
        .collect();
    let mut counts = vec![vec![(0u64, 0u64); per]; programs];
    let mut bins = [(0.0f64, 0.0f64, 0u64); 10];
    let steps = 20_000;
    for _ in 0..steps {
        let g = (rng.unit() * programs as f64) as usize % programs;
        let k = (rng.unit() * per as f64) as usize % per;
        let profile = Profile {
            programs: counts
                .iter()
                .enumerate()
                .map(|(i, plans)| {
                    let (s, n) = plans.iter().fold((0, 0), |a, p| (a.0 + p.0, a.1 + p.1));
                    codex_proto::types::ProgramPrefs {
                        program: format!("p{i}"),
                        runs: n,
                        successes: s,
                        success_rate: 0.0,
                        ratings: 0,
                        mean_rating: None,
                    }
                })
                .collect(),
            ..Profile::default()
        };
        let own = PlanPrefs {
            runs: counts[g][k].1,
            successes: counts[g][k].0,
            ..PlanPrefs::default()
        };
        let c = confidence((own.runs > 0).then_some(&own), &format!("p{g}"), &profile);
        let ok = rng.unit() < hidden[g][k];
        let b = ((c * 10.0) as usize).min(9);
        bins[b].0 += c;
        bins[b].1 += f64::from(u8::from(ok));
        bins[b].2 += 1;
        counts[g][k].0 += u64::from(ok);
        counts[g][k].1 += 1;
    }
    let ece = calibration_error(&bins, "simulated runs");
    assert!(ece < 0.05, "calibration error {ece}");
}

/// Expected calibration error of `bins` (per tenth of confidence: confidence said,
/// successes, runs), printed with the bins for docs/benchmarks.md.
pub(crate) fn calibration_error(bins: &[(f64, f64, u64); 10], what: &str) -> f64 {
    let steps: u64 = bins.iter().map(|b| b.2).sum();
    let ece: f64 = bins
        .iter()
        .filter(|b| b.2 > 0)
        .map(|b| (b.0 / b.2 as f64 - b.1 / b.2 as f64).abs() * b.2 as f64 / steps as f64)
        .sum();
    eprintln!("expected calibration error over {steps} {what}: {ece:.4}");
    for (i, b) in bins.iter().enumerate().filter(|(_, b)| b.2 > 0) {
        eprintln!(
            "  confidence {:.1}-{:.1}: {:>5} runs, said {:.3}, succeeded {:.3}",
            i as f64 / 10.0,
            (i + 1) as f64 / 10.0,
            b.2,
            b.0 / b.2 as f64,
            b.1 / b.2 as f64
        );
    }
    ece
}

#[test]
fn similar_goals_are_nearest_in_their_own_project() {
    let t = rust_project();
    script(t.path(), "ship.sh");
    let here = t.path().display().to_string();
    let book = playbooks::PlaybookBook::default();
    let plan_in = |plan: &str, root: &str| PlanPrefs {
        plan: plan.into(),
        score: 0.8,
        runs: 2,
        successes: 2,
        projects: vec![root.into()],
        ..PlanPrefs::default()
    };
    let p = Profile {
        categories: vec![CategoryPrefs {
            category: "deploy staging".into(),
            runs: 4,
            plans: vec![
                plan_in("./ship.sh elsewhere", "/src/other"),
                plan_in("./ship.sh here", &here),
            ],
            tools: Vec::new(),
        }],
        ..Profile::default()
    };
    let r = plan("ship it to staging", t.path(), &p, &opts(&book, true));
    assert_eq!(r.similar[0].project.as_deref(), Some(here.as_str()));
    assert_eq!(r.similar[0].plan, "./ship.sh here");
    assert!(r.similar[0].similarity > r.similar[1].similarity);
    // Said alike, it borrows the plan that ran here, not the other project's.
    assert_eq!(r.plans[0].command, "./ship.sh here");
    assert_eq!(r.plans.len(), 1);
}

#[test]
fn a_playbook_is_found_said_otherwise_but_never_for_another_target() {
    let t = rust_project();
    script(t.path(), "deploy.sh");
    let mut book = playbooks::PlaybookBook::default();
    use crate::store::journal::State as _;
    book.apply(playbooks::PlaybookOp::Teach {
        playbook: playbooks::Playbook {
            phrase: "deploy staging".into(),
            steps: vec![vec!["./deploy.sh".into(), "staging".into()]],
            project: None,
        },
    });
    let p = Profile::default();
    let r = plan("ship it to staging", t.path(), &p, &opts(&book, true));
    assert_eq!(r.plans[0].command, "./deploy.sh staging");
    assert!(r.plans[0].steps[0].rationale.contains("says the same"));
    for other in [
        "deploy production",
        "deploy to prod",
        "release to production",
        "stage",
    ] {
        let r = plan(other, t.path(), &p, &opts(&book, true));
        assert!(
            r.plans.iter().all(|x| x.command != "./deploy.sh staging"),
            "{other}: {:?}",
            r.plans
        );
    }
}

#[test]
fn paths_are_adapted_only_where_they_are_the_old_root() {
    assert_eq!(
        adapt("/src/old", "/src/old", "/new").as_deref(),
        Some("/new")
    );
    assert_eq!(
        adapt("/src/old/Cargo.toml", "/src/old", "/new").as_deref(),
        Some("/new/Cargo.toml")
    );
    assert_eq!(
        adapt("--manifest-path=/src/old/x", "/src/old", "/new").as_deref(),
        Some("--manifest-path=/new/x")
    );
    assert_eq!(adapt("/src/older/t", "/src/old", "/new"), None);
    assert_eq!(adapt("a=/src/old", "/src/old", "/new"), None);
}

#[test]
fn the_same_goal_and_evidence_rank_the_same_with_thompson() {
    let t = rust_project();
    let book = playbooks::PlaybookBook::default();
    let p = liked_profile(
        t.path(),
        ("cargo nextest run", 0.6, 2.0),
        ("cargo test", 0.55, 1.0),
    );
    let o = Options {
        exploration: Exploration::Thompson,
        seed: 0,
        ..opts(&book, true)
    };
    let first = plan("run the tests", t.path(), &p, &o);
    assert!(first.ranking.contains("thompson"), "{}", first.ranking);
    for _ in 0..20 {
        assert_eq!(plan("run the tests", t.path(), &p, &o).plans, first.plans);
    }
    // Something new learned: a new draw, so over a few runs both plans come first.
    let leaders: std::collections::HashSet<String> = (0..40)
        .map(|runs| {
            let mut q = p.clone();
            q.style.runs = runs;
            plan("run the tests", t.path(), &q, &o).plans[0]
                .command
                .clone()
        })
        .collect();
    assert_eq!(leaders.len(), 2, "{leaders:?}");
}

#[test]
fn a_learned_plans_rationale_says_how_it_went() {
    let pl = |runs, successes, mean_rating| PlanPrefs {
        runs,
        successes,
        mean_rating,
        ..PlanPrefs::default()
    };
    let how = |p: PlanPrefs| learned::how_it_went(&learned::standing(&p, None));
    assert_eq!(how(pl(2, 2, None)), "it worked");
    assert_eq!(how(pl(3, 1, None)), "it worked 1 of 3 times");
    assert_eq!(
        how(pl(1, 1, Some(1.0))),
        "it worked 1 of 1 times, rated 1.0/5 on average"
    );
}

#[test]
fn parameters_come_from_this_goal_only() {
    let tool: registry::ToolSpec = serde_norway::from_str(
        "{name: deploy, categories: [deploy], keywords: [deploy], \
         command: [./deploy.sh, '{env}'], params: {env: {type: string, from: [rest]}}, \
         class: network}",
    )
    .unwrap();
    let reg = registry::Registry::new(&[tool]).unwrap();
    let t = rust_project();
    let book = playbooks::PlaybookBook::default();
    let p = Profile {
        categories: vec![CategoryPrefs {
            category: "deploy staging".into(),
            runs: 2,
            plans: vec![PlanPrefs {
                plan: "./deploy.sh staging".into(),
                score: 0.9,
                runs: 2,
                successes: 2,
                projects: vec![t.path().display().to_string()],
                ..PlanPrefs::default()
            }],
            tools: Vec::new(),
        }],
        ..Profile::default()
    };
    let o = Options {
        registry: &reg,
        ..opts(&book, true)
    };
    // No keyword here ("ship" is not one of the tool's): the category comes from the
    // nearest goal, its words do not, so the tool cannot be filled and says so.
    let r = plan("ship it to staging", t.path(), &p, &o);
    assert_eq!(r.task.as_deref(), Some("deploy"), "{r:?}");
    assert!(r.plans.is_empty(), "{:?}", r.plans);
    let why = r.unknown.unwrap_or_default();
    assert!(why.contains("`deploy` needs a env"), "{why}");
    // Case matters in parameters: "Foo" learned is not "foo" asked.
    let grep_learned = Profile {
        categories: vec![CategoryPrefs {
            category: "search for 'foo'".into(),
            runs: 1,
            plans: vec![PlanPrefs {
                plan: "grep -rn -e Foo .".into(),
                score: 0.9,
                runs: 1,
                successes: 1,
                projects: vec![t.path().display().to_string()],
                ..PlanPrefs::default()
            }],
            tools: Vec::new(),
        }],
        ..Profile::default()
    };
    let r = plan(
        "search for 'foo'",
        t.path(),
        &grep_learned,
        &opts(&book, true),
    );
    assert!(
        r.plans[0].steps[0].argv.contains(&"foo".to_string()),
        "{:?}",
        r.plans
    );
    assert!(r.plans.iter().all(|x| !x.command.contains("Foo")));
}
