//! Tests of config loading, validation and bounds.
use super::*;

fn err(text: &str) -> String {
    parse(text, "test.yaml").unwrap_err().to_string()
}

#[test]
fn builtin_file_equals_the_compiled_defaults() {
    assert_eq!(
        parse(BUILTIN_YAML, BUILTIN_NAME).unwrap(),
        Config::default()
    );
}

#[test]
fn empty_and_partial_files_take_defaults() {
    assert_eq!(parse("", "e").unwrap(), Config::default());
    assert_eq!(parse("# nothing\n", "e").unwrap(), Config::default());
    let c = parse("learning:\n  batch_size: 4\n", "p").unwrap();
    assert_eq!(c.learning.batch_size.get(), 4);
    assert_eq!(c.learning.flush_interval_secs.get(), 5);
    assert!(c.interaction_tracking_enabled);
}

#[test]
fn embedding_endpoints_speak_https_and_keys_never_cross_plain_http() {
    let ok =
        "planner:\n  embeddings:\n    endpoint: http://127.0.0.1:11434/v1\n    api_key_env: K\n";
    assert!(parse(ok, "t").is_ok());
    let tls =
        "planner:\n  embeddings:\n    endpoint: https://api.example.com/v1\n    api_key_env: K\n";
    assert!(parse(tls, "t").is_ok());
    let e = err("planner:\n  embeddings:\n    endpoint: ftp://api.example.com/v1\n");
    assert!(
        e.contains("planner.embeddings.endpoint") && e.contains(":3"),
        "{e}"
    );
    let e =
        err("planner:\n  embeddings:\n    endpoint: http://10.0.0.5:8080/v1\n    api_key_env: K\n");
    assert!(
        e.contains("planner.embeddings.api_key_env") && e.contains("10.0.0.5"),
        "{e}"
    );
    assert!(
        parse(
            "planner:\n  embeddings:\n    endpoint: http://10.0.0.5/v1\n",
            "t"
        )
        .is_ok()
    );
}

#[test]
fn unknown_keys_name_the_key_and_line() {
    let e = err("interaction_tracking_enabled: true\nlearning:\n  batch_sise: 4\n");
    assert!(
        e.starts_with("test.yaml:3: `learning.batch_sise`: unknown field"),
        "{e}"
    );
    let e = err("verbose: true\n");
    assert!(
        e.starts_with("test.yaml:1: `verbose`: unknown field"),
        "{e}"
    );
}

#[test]
fn bad_values_name_the_key_and_line() {
    let cases = [
        (
            "learning:\n  batch_size: 0\n",
            "test.yaml:2: `learning.batch_size`:",
        ),
        (
            "learning:\n  batch_size: lots\n",
            "test.yaml:2: `learning.batch_size`:",
        ),
        (
            "\nuser_preference_learning: maybe\n",
            "test.yaml:2: `user_preference_learning`:",
        ),
        (
            "learning:\n  batch_size: 3\n  satisfaction_smoothing: 1.5\n",
            "test.yaml:3: `learning.satisfaction_smoothing`: must be greater than 0",
        ),
        (
            "server:\n  max_message_bytes: 10\n",
            "test.yaml:2: `server.max_message_bytes`:",
        ),
        (
            "storage:\n  dataset: ''\n",
            "test.yaml:2: `storage.dataset`: must not be empty",
        ),
        ("- a\n", "test.yaml: `(top level)`"),
    ];
    for (text, want) in cases {
        let e = err(text);
        assert!(e.starts_with(want), "{text:?}: got {e}");
    }
}

#[test]
fn durations_sizes_and_counts_are_bounded() {
    let cases = [
        (
            "safety:\n  approval_expiry_secs: 9999999999999999\n",
            "safety.approval_expiry_secs",
            2,
        ),
        (
            "safety:\n  step_timeout_secs: 18446744073709551615\n",
            "safety.step_timeout_secs",
            2,
        ),
        (
            "safety:\n  cancel_grace_ms: 99999999999\n",
            "safety.cancel_grace_ms",
            2,
        ),
        (
            "safety:\n  timeouts:\n    cargo: 9999999999999\n",
            "safety.timeouts",
            2,
        ),
        (
            "learning:\n  flush_interval_secs: 9999999999999\n",
            "learning.flush_interval_secs",
            2,
        ),
        (
            "learning:\n  output_tail_bytes: 4000000000\n",
            "learning.output_tail_bytes",
            2,
        ),
        (
            "learning:\n  batch_size: 4000000000\n",
            "learning.batch_size",
            2,
        ),
        (
            "learning:\n  decay_half_life_days: 1e300\n",
            "learning.decay_half_life_days",
            2,
        ),
        (
            "server:\n  max_connections: 4000000000\n",
            "server.max_connections",
            2,
        ),
        (
            "\nscheduler:\n  max_interval_secs: 9999999999999\n",
            "scheduler.max_interval_secs",
            3,
        ),
    ];
    for (text, key, line) in cases {
        let e = err(text);
        assert!(
            e.starts_with(&format!("test.yaml:{line}: `{key}`: ")),
            "{text:?}: {e}"
        );
        assert!(e.contains("too large"), "{e}");
    }
    assert!(parse("safety:\n  approval_expiry_secs: 86400\n", "test.yaml").is_ok());
}

#[test]
fn a_second_document_is_placed_on_its_line() {
    for (text, line) in [
        ("  correction_weight: 1.0\nlearning: {}\n", 2),
        ("# my settings\n  batch_size: 8\nlearning: {}\n", 3),
        ("learning:\n  batch_size: 1\n---\nserver: {}\n", 3),
        ("learning: {}\n...\nserver: {}\n", 2),
        ("'x'\ny\n", 2),
    ] {
        let e = err(text);
        assert!(
            e.starts_with(&format!("test.yaml:{line}: not valid YAML")),
            "{text:?}: {e}"
        );
    }
}

#[test]
fn cross_key_rules_name_a_key() {
    let e = err("scheduler:\n  min_interval_secs: 900\n  max_interval_secs: 60\n");
    assert!(
        e.starts_with("test.yaml:2: `scheduler.min_interval_secs`: must not exceed"),
        "{e}"
    );
}

#[test]
fn syntax_errors_carry_a_line() {
    let e = err("learning:\n  batch_size: [\n");
    assert!(
        e.starts_with("test.yaml:3: not valid YAML") || e.starts_with("test.yaml:2"),
        "{e}"
    );
}

#[test]
fn key_lines_follow_nesting() {
    let text = "a:\n  x: 1\nb:\n  # x here is a comment\n  x: 2\n";
    assert_eq!(line_of_key(text, "b.x"), Some(5));
    assert_eq!(line_of_key(text, "a.x"), Some(2));
    assert_eq!(line_of_key(text, "b.y"), Some(3));
    assert_eq!(line_of_key(text, "c"), None);
}
