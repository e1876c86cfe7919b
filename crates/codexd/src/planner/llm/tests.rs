use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use codex_proto::prefs::{CategoryPrefs, PlanPlace, PlanPrefs};

use super::*;

/// One scripted answer: status, body, and a delay before it.
type Reply = (u16, String, Duration);
/// The requests a server saw: header block and body.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A loopback server answering each request with the next reply (the last one repeats);
/// returns its base URL, the request count, and the requests' header blocks and bodies.
fn server(replies: Vec<Reply>) -> (String, Arc<AtomicUsize>, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (c, s) = (count.clone(), seen.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let n = c.fetch_add(1, Ordering::SeqCst);
            let (status, body, delay) = replies[n.min(replies.len() - 1)].clone();
            let mut r = BufReader::new(stream);
            let (mut head, mut len) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut req = vec![0; len];
            let _ = r.read_exact(&mut req);
            s.lock()
                .unwrap()
                .push((head, String::from_utf8_lossy(&req).into_owned()));
            std::thread::sleep(delay);
            let mut out = r.into_inner();
            let _ = write!(
                out,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = out.write_all(body.as_bytes());
        }
    });
    (url, count, seen)
}

fn completion(content: &str) -> String {
    serde_json::json!({
        "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7}
    })
    .to_string()
}

fn planner(
    url: &str,
    timeout_secs: u64,
    retries: u32,
    key_env: Option<&str>,
) -> (ModelPlanner, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LlmConfig {
        mode: LlmMode::Fallback,
        base_url: Some(url.into()),
        model: "test-model".into(),
        api_key_env: key_env.map(String::from),
        timeout_secs: std::num::NonZeroU64::new(timeout_secs).unwrap(),
        retries,
        ..LlmConfig::default()
    };
    let p = ModelPlanner::new(&cfg, &dir.path().join("model-planner.json")).unwrap();
    (p, dir)
}

fn planner_with_key(url: &str, key: Option<&str>) -> (ModelPlanner, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LlmConfig {
        mode: LlmMode::Fallback,
        base_url: Some(url.into()),
        model: "test-model".into(),
        api_key_env: Some("CODEX_TEST_KEY".into()),
        retries: 0,
        ..LlmConfig::default()
    };
    let key = key.map(|k| Secret::new(k.into()));
    let p = ModelPlanner::with_key(&cfg, key, &dir.path().join("model-planner.json")).unwrap();
    (p, dir)
}

fn place(dir: &std::path::Path) -> Place {
    Place {
        cwd: dir.to_path_buf(),
        root: None,
        path: std::env::var("PATH").unwrap_or_default(),
        goal: "list the files".into(),
    }
}

const GOOD: &str = r#"{"steps":[{"argv":["ls","-la"],"reason":"lists the files"}]}"#;

#[test]
fn a_good_answer_is_a_validated_plan_with_its_tokens_counted() {
    let (url, count, seen) = server(vec![(200, completion(GOOD), Duration::ZERO)]);
    let (p, dir) = planner(&url, 5, 2, None);
    let registry = Registry::new(&[]).unwrap();
    let (steps, ask) = p.ask(
        &serde_json::json!({"model": "m"}),
        &place(dir.path()),
        &registry,
    );
    let steps = steps.expect("a plan");
    assert_eq!(steps[0].argv, vec!["ls", "-la"]);
    assert!(ask.ok && ask.tries == 1, "{ask:?}");
    assert_eq!(
        (ask.prompt_tokens, ask.completion_tokens),
        (Some(42), Some(7))
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(
        seen.lock().unwrap()[0]
            .0
            .starts_with("POST /v1/chat/completions")
    );
    let st = p.stats();
    assert_eq!(
        (st.asks, st.plans, st.failures, st.prompt_tokens),
        (1, 1, 0, 42)
    );
}

#[test]
fn a_500_is_tried_again_and_then_succeeds_but_a_400_is_not() {
    let (url, count, _) = server(vec![
        (
            500,
            "{\"error\":{\"message\":\"overloaded\"}}".into(),
            Duration::ZERO,
        ),
        (200, completion(GOOD), Duration::ZERO),
    ]);
    let (p, dir) = planner(&url, 5, 2, None);
    let registry = Registry::new(&[]).unwrap();
    let (steps, ask) = p.ask(&serde_json::json!({}), &place(dir.path()), &registry);
    assert!(steps.is_some(), "{ask:?}");
    assert_eq!((ask.tries, count.load(Ordering::SeqCst)), (2, 2));

    let (url, count, _) = server(vec![(
        400,
        "{\"error\":{\"message\":\"bad model\"}}".into(),
        Duration::ZERO,
    )]);
    let (p, dir) = planner(&url, 5, 2, None);
    let (steps, ask) = p.ask(&serde_json::json!({}), &place(dir.path()), &registry);
    assert!(steps.is_none());
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(ask.note.contains("HTTP 400: bad model"), "{}", ask.note);
}

#[test]
fn retries_are_bounded_and_a_timeout_is_said() {
    let (url, count, _) = server(vec![(200, completion(GOOD), Duration::from_secs(3))]);
    let (p, dir) = planner(&url, 1, 1, None);
    let registry = Registry::new(&[]).unwrap();
    let (steps, ask) = p.ask(&serde_json::json!({}), &place(dir.path()), &registry);
    assert!(steps.is_none());
    assert!(
        ask.note.contains("no answer within 1 s") && ask.note.contains("2 tries"),
        "{}",
        ask.note
    );
    assert_eq!(ask.tries, 2);
    // The one-at-a-time server is still sleeping on the first request: the second waits in
    // its backlog, so its count says nothing yet.
    let _ = count;
    assert_eq!(p.stats().failures, 1);
}

#[test]
fn an_endpoint_refusing_response_format_is_asked_again_without_it() {
    let (url, count, seen) = server(vec![
        (
            400,
            "{\"error\":{\"message\":\"response_format json_schema is not supported\"}}".into(),
            Duration::ZERO,
        ),
        (
            200,
            completion(&format!("Here you go: {GOOD}")),
            Duration::ZERO,
        ),
    ]);
    let (p, dir) = planner(&url, 5, 0, None);
    let registry = Registry::new(&[]).unwrap();
    let body = serde_json::json!({"model": "m", "response_format": {"type": "json_schema"}});
    let (steps, _) = p.ask(&body, &place(dir.path()), &registry);
    assert!(steps.is_some());
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let seen = seen.lock().unwrap();
    assert!(seen[0].1.contains("response_format"));
    assert!(!seen[1].1.contains("response_format"));
    assert!(!p.client.structured());
}

#[test]
fn a_huge_answer_is_refused_and_a_key_echoed_back_is_scrubbed() {
    let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(3 * 1024 * 1024));
    let (url, _, _) = server(vec![(200, huge, Duration::ZERO)]);
    let (p, dir) = planner(&url, 5, 0, None);
    let registry = Registry::new(&[]).unwrap();
    let (steps, ask) = p.ask(&serde_json::json!({}), &place(dir.path()), &registry);
    assert!(steps.is_none());
    assert!(ask.note.contains("larger than 1024 KiB"), "{}", ask.note);

    let key = "sk-test-planted-0123456789";
    let (url, _, seen) = server(vec![(
        401,
        format!("{{\"error\":{{\"message\":\"invalid key Bearer {key}\"}}}}"),
        Duration::ZERO,
    )]);
    let (p, dir) = planner_with_key(&url, Some(key));
    let (_, ask) = p.ask(&serde_json::json!({}), &place(dir.path()), &registry);
    assert!(seen.lock().unwrap()[0].0.contains(&format!("Bearer {key}")));
    assert!(!ask.note.contains(key), "{}", ask.note);
    assert!(ask.note.contains("[api key]"), "{}", ask.note);
    assert!(!format!("{p:?}").contains(key));
    let file = std::fs::read_to_string(dir.path().join("model-planner.json")).unwrap();
    assert!(!file.contains(key));
}

/// A model plan run 3 times with success, rated `ratings` times at `mean` on average.
fn model_plan(plan: &str, mean: Option<f64>, ratings: u64, kept: bool) -> CategoryPrefs {
    CategoryPrefs {
        category: format!("goal {plan}"),
        plans: vec![PlanPrefs {
            plan: plan.into(),
            score: 0.5,
            evidence: ratings as f64 * 3.0,
            runs: 3,
            successes: 3,
            ratings,
            mean_rating: mean,
            from_model: true,
            places: vec![PlanPlace {
                kept,
                ..PlanPlace::default()
            }],
            ..PlanPrefs::default()
        }],
        ..CategoryPrefs::default()
    }
}

fn local(result_plans: &[(&str, f64)]) -> PlanResult {
    PlanResult {
        goal: "g".into(),
        task: None,
        project: None,
        plans: result_plans
            .iter()
            .map(|(c, s)| PlannedCommand {
                command: c.to_string(),
                steps: vec![PlanStep {
                    argv: vec![c.to_string()],
                    rationale: String::new(),
                    class: None,
                    dry_run: false,
                }],
                score: *s,
                confidence: 0.5,
                alignment: *s,
                evidence: String::new(),
                borrowed: None,
                propensity: Some(0.0),
                from_model: false,
            })
            .collect(),
        ranking: String::new(),
        unknown: None,
        similar: Vec::new(),
        embeddings: String::new(),
        left_out: Vec::new(),
        model: None,
    }
}

fn step(argv: &[&str]) -> Vec<PlanStep> {
    vec![PlanStep {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        rationale: "the model: r".into(),
        class: None,
        dry_run: false,
    }]
}

#[test]
fn model_plans_start_below_local_ones_and_rise_with_good_ratings() {
    let fresh = Profile::default();
    let (score, confidence) = model_prior(&fresh);
    assert!(score < 0.5 && confidence < 0.5, "{score} {confidence}");
    let mut r = local(&[("make", 0.55), ("just", 0.5)]);
    let _ = merge(&mut r, step(&["ls"]), &fresh, true);
    assert_eq!(
        r.plans
            .iter()
            .map(|p| p.command.as_str())
            .collect::<Vec<_>>(),
        ["make", "just", "ls"]
    );
    assert!(r.plans[2].from_model && r.plans[2].borrowed.is_some());

    // Rated well, the model's plans come first.
    let liked = Profile {
        categories: vec![
            model_plan("a", Some(5.0), 4, true),
            model_plan("b", Some(4.5), 3, true),
        ],
        ..Profile::default()
    };
    let mut r = local(&[("make", 0.55)]);
    let _ = merge(&mut r, step(&["ls"]), &liked, true);
    assert_eq!(r.plans[0].command, "ls");
    assert_eq!(r.plans[0].propensity, Some(1.0));
    assert_eq!(r.plans[1].propensity, Some(0.0));
    assert!(r.plans[0].evidence.contains("you kept 2 of its plans"));

    // Rated low, they stay last.
    let disliked = Profile {
        categories: vec![model_plan("a", Some(1.0), 3, false)],
        ..Profile::default()
    };
    assert!(model_prior(&disliked).0 < score);
    // Runs that merely exited 0, never rated, earn the model nothing: a model proposing
    // no-ops must not climb over the project's own commands.
    let unrated = Profile {
        categories: (0..10)
            .map(|i| model_plan(&format!("true {i}"), None, 0, true))
            .collect(),
        ..Profile::default()
    };
    assert_eq!(model_prior(&unrated).0, score);

    // Without personalized planning, last. A plan codex offers anyway stays codex's: the
    // model earns nothing for agreeing with it.
    let mut r = local(&[("make", 0.1)]);
    let _ = merge(&mut r, step(&["ls"]), &liked, false);
    assert_eq!(r.plans[1].command, "ls");
    let mut r = local(&[("ls", 0.5)]);
    let _ = merge(&mut r, step(&["ls"]), &fresh, true);
    assert_eq!(r.plans.len(), 1);
    assert!(!r.plans[0].from_model);
}

#[test]
fn a_goal_nothing_maps_gets_the_models_plan_and_no_unknown() {
    let mut r = local(&[]);
    r.unknown = Some("no plan".into());
    let _ = merge(&mut r, step(&["du", "-a"]), &Profile::default(), true);
    assert!(r.unknown.is_none());
    assert_eq!(r.plans.len(), 1);
    assert!(r.ranking.contains("the model's plan"));
}

#[test]
fn asks_in_flight_are_bounded_and_given_back() {
    let (p, _dir) = planner("http://127.0.0.1:9/v1", 1, 0, None);
    let slots: Vec<Slot> = (0..MAX_IN_FLIGHT)
        .map(|_| p.slot().expect("a slot"))
        .collect();
    assert!(p.slot().is_none());
    drop(slots);
    assert!(p.slot().is_some());
}

#[test]
fn a_plan_that_failed_or_was_disliked_here_is_not_offered_again_and_the_model_is_asked() {
    let here = |successes: u64, mean: f64| Profile {
        categories: vec![CategoryPrefs {
            category: "g".into(),
            plans: vec![PlanPrefs {
                plan: "ls".into(),
                from_model: true,
                runs: 1,
                successes,
                ratings: 1,
                mean_rating: Some(mean),
                places: vec![PlanPlace {
                    project: String::new(),
                    score: if mean <= 2.0 { 0.2 } else { 0.8 },
                    evidence: 3.0,
                    runs: 1,
                    successes,
                    ratings: 1,
                    kept: true,
                    ..PlanPlace::default()
                }],
                ..PlanPrefs::default()
            }],
            ..CategoryPrefs::default()
        }],
        ..Profile::default()
    };
    let mut r = local(&[]);
    let e = merge(&mut r, step(&["ls"]), &here(0, 3.0), true).unwrap_err();
    assert!(e.contains("failed"), "{e}");
    assert!(r.plans.is_empty());
    let e = merge(&mut r, step(&["ls"]), &here(1, 1.0), true).unwrap_err();
    assert!(e.contains("rated low"), "{e}");
    // A pick that never ran is not a failure.
    let mut picked = here(0, 3.0);
    picked.categories[0].plans[0].places[0].runs = 0;
    picked.categories[0].plans[0].places[0].ratings = 0;
    assert!(merge(&mut local(&[]), step(&["ls"]), &picked, true).is_ok());
    assert!(merge(&mut r, step(&["ls"]), &here(1, 5.0), true).is_ok());

    // In fallback mode, a goal whose only plans are the model's that were disliked is sent.
    let book = crate::planner::playbooks::PlaybookBook::default();
    let mut disliked = local(&[("ls", 0.2)]);
    disliked.plans[0].from_model = true;
    assert!(
        why_not_ask(
            LlmMode::Fallback,
            &disliked,
            "g",
            None,
            &Profile::default(),
            &book
        )
        .is_none()
    );
    disliked.plans[0].alignment = 0.8;
    assert!(
        why_not_ask(
            LlmMode::Fallback,
            &disliked,
            "g",
            None,
            &Profile::default(),
            &book
        )
        .is_some()
    );
}
