//! The wire: JSON-RPC errors for bad input, the size cap, concurrency.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;

use codex_e2e::{Home, Raw};
use serde_json::json;

fn error_code(v: &serde_json::Value) -> i64 {
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {v}"))
}

#[test]
fn hello_returns_versions() {
    let h = Home::new();
    let _d = h.start();
    let mut c = h.connect();
    let r = c.call(1, "hello", json!({"client": "test", "protocol": 1}));
    assert_eq!(r["id"], 1);
    assert_eq!(r["result"]["protocol"], 1);
    assert_eq!(r["result"]["daemon_version"], env!("CARGO_PKG_VERSION"));
    let r = c.call(2, "hello", json!({"protocol": 99}));
    assert_eq!(error_code(&r), -32005);
    assert!(r["error"]["message"].as_str().unwrap().contains("protocol"));
}

#[test]
fn each_kind_of_bad_input_gets_its_error_and_the_connection_goes_on() {
    let h = Home::new();
    let _d = h.start();
    let mut c = h.connect();
    let cases = [
        ("{not json", -32700, "not valid JSON"),
        ("[1,2]", -32600, "batch"),
        ("42", -32600, "expected a JSON-RPC object"),
        (r#"{"jsonrpc":"2.0","id":1}"#, -32600, "missing `method`"),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"status"}"#,
            -32600,
            "`jsonrpc` must be",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"frobnicate"}"#,
            -32601,
            "unknown method `frobnicate`",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"rate","params":{"score":"x"}}"#,
            -32602,
            "invalid params for `rate`",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"rate","params":{"score":9}}"#,
            -32602,
            "score must be from 1 to 5",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"status","params":{"bogus":1}}"#,
            -32602,
            "unknown field",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"run","params":{"argv":[],"cwd":"/"}}"#,
            -32602,
            "no command given",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"run","params":{"argv":["ls"],"cwd":"/no/such/dir"}}"#,
            -32602,
            "does not exist",
        ),
    ];
    for (line, code, words) in cases {
        let r = c.ask(line);
        assert_eq!(error_code(&r), code, "{line} → {r}");
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(msg.contains(words), "{line} → {msg}");
    }
    // Still the same, working connection.
    assert_eq!(c.call(7, "status", json!({}))["id"], 7);
}

#[test]
fn string_ids_are_echoed_and_notifications_get_no_answer() {
    let h = Home::new();
    let _d = h.start();
    let mut c = h.connect();
    c.write(b"{\"jsonrpc\":\"2.0\",\"method\":\"status\"}\n")
        .unwrap();
    let r = c.ask(r#"{"jsonrpc":"2.0","id":"abc","method":"hello"}"#);
    assert_eq!(
        r["id"], "abc",
        "the notification must not have been answered: {r}"
    );
}

#[test]
fn an_oversized_message_closes_only_that_connection() {
    let h = Home::new().with_config("server:\n  max_message_bytes: 4096\n");
    let _d = h.start();
    let mut other = h.connect();
    let mut c = h.connect();
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{{\"client\":\"{}\"}}}}\n",
        "x".repeat(10_000)
    );
    let _ = c.write(big.as_bytes()); // the daemon may close before reading it all
    let r = c.read().expect("an error before the close");
    assert_eq!(error_code(&r), -32003);
    assert!(r["error"]["message"].as_str().unwrap().contains("4096"));
    assert!(c.read().is_none(), "connection closed after the error");
    // Everyone else carries on.
    assert!(other.call(2, "status", json!({}))["result"].is_object());
    assert!(h.connect().call(3, "hello", json!({}))["result"].is_object());
}

#[test]
fn the_default_cap_is_one_mebibyte() {
    let h = Home::new();
    let _d = h.start();
    let mut c = h.connect();
    // Just under the cap: answered (as bad params, but read whole).
    let pad = 1024 * 1024 - 200;
    let near = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{{\"client\":\"{}\"}}}}\n",
        "y".repeat(pad)
    );
    c.write(near.as_bytes()).unwrap();
    assert_eq!(c.read().unwrap()["id"], 1);
    let over = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"hello\",\"params\":{{\"client\":\"{}\"}}}}\n",
        "y".repeat(1024 * 1024)
    );
    let _ = c.write(over.as_bytes());
    assert_eq!(error_code(&c.read().unwrap()), -32003);
}

#[test]
fn many_clients_at_once_are_all_served() {
    let h = Home::new();
    let _d = h.start();
    let socket = h.socket.clone();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                let mut c = Raw::connect(&socket);
                // Pipeline: write all requests, then read all answers.
                let mut batch = String::new();
                for i in 0..100 {
                    batch.push_str(&format!(
                        "{{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"hello\"}}\n",
                        t * 1000 + i
                    ));
                }
                c.write(batch.as_bytes()).unwrap();
                let mut ids: Vec<i64> = (0..100)
                    .map(|_| c.read().unwrap()["id"].as_i64().unwrap())
                    .collect();
                ids.sort();
                assert_eq!(ids, (0..100).map(|i| t * 1000 + i).collect::<Vec<_>>());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_client_that_hangs_up_mid_message_does_not_hurt_the_daemon() {
    let h = Home::new();
    let _d = h.start();
    {
        let mut c = std::os::unix::net::UnixStream::connect(&h.socket).unwrap();
        c.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"meth")
            .unwrap();
    }
    h.codex(&["status"]).ok();
}

#[test]
fn learning_methods_reject_bad_params_with_a_reason() {
    let h = Home::new();
    let _d = h.start();
    let mut c = h.connect();
    let many: Vec<_> = (0..5001)
        .map(|i| json!({"command": format!("c{i}")}))
        .collect();
    let cases = [
        ("forget", json!({}), "exactly one of"),
        ("forget", json!({"run": 1, "all": true}), "exactly one of"),
        ("forget", json!({"run": 77}), "unknown run id 77"),
        ("forget", json!({"goal": "[x"}), "bad goal pattern"),
        ("forget", json!({"project": "relative/dir"}), "not absolute"),
        (
            "import",
            json!({"source": "x", "entries": many}),
            "at most 5000",
        ),
        ("import", json!({"entries": []}), "missing field `source`"),
        ("export", json!({"format": "csv"}), "unknown variant `csv`"),
        (
            "export",
            json!({"format": "episodes", "min_rating": 9}),
            "from 1 to 5",
        ),
        (
            "prefs/set",
            json!({"key": "verbosity", "value": "loud"}),
            "terse, normal, verbose",
        ),
        (
            "prefs/unset",
            json!({"key": "nope"}),
            "unknown setting `nope`",
        ),
        ("prefs/show", json!({"colour": 1}), "unknown field `colour`"),
    ];
    for (i, (method, params, needle)) in cases.into_iter().enumerate() {
        let r = c.call(i as u64 + 1, method, params);
        let msg = r["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(msg.contains(needle), "{method}: {r}");
        let code = error_code(&r);
        assert!(code == -32602 || code == -32002, "{method}: {r}");
    }
    // And the connection is still good.
    assert_eq!(c.call(99, "status", json!({}))["result"]["episodes"], 0);
}

#[test]
fn exports_stream_as_notifications_before_the_result() {
    let h = Home::new();
    let _d = h.start();
    for _ in 0..3 {
        h.codex(&["run", "--goal", "g", "--", "true"]).ok();
    }
    let mut c = h.connect();
    c.write(br#"{"jsonrpc":"2.0","id":5,"method":"export","params":{"format":"episodes"}}"#)
        .unwrap();
    c.write(b"\n").unwrap();
    let note = c.read().unwrap();
    assert_eq!(note["method"], "export/lines");
    assert_eq!(note["params"]["lines"].as_array().unwrap().len(), 3);
    let done = c.read().unwrap();
    assert_eq!(
        (done["id"].as_u64(), done["result"]["lines"].as_u64()),
        (Some(5), Some(3))
    );
}

#[test]
fn positional_params_are_refused_and_delete_nothing() {
    let h = Home::new();
    let _d = h.start();
    h.codex(&["run", "--goal", "g", "--", "true"]).ok();
    let mut c = h.connect();
    // Mapped by field order, `[1]` would be `{"run": 1}` and delete run 1.
    let r = c.ask(r#"{"jsonrpc":"2.0","id":1,"method":"forget","params":[1]}"#);
    assert_eq!((error_code(&r), r["id"].clone()), (-32602, json!(1)), "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("named"),
        "{r}"
    );
    let r = c.ask(r#"{"jsonrpc":"2.0","id":2,"method":"rate","params":[5, 1]}"#);
    assert_eq!(error_code(&r), -32602, "{r}");
    let runs = c.call(3, "history", json!({}));
    assert_eq!(
        runs["result"]["runs"].as_array().unwrap().len(),
        1,
        "{runs}"
    );
}

#[test]
fn repeated_keys_are_refused_and_do_not_stop_the_daemon() {
    let h = Home::new();
    let _d = h.start();
    let mut c = h.connect();
    let cases = [
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"status","method":"daemon/stop"}"#,
            -32600,
            json!(1),
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"forget","params":{"run":1,"run":2}}"#,
            -32602,
            json!(2),
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"id":4,"method":"daemon/stop"}"#,
            -32600,
            json!(null),
        ),
    ];
    for (line, code, id) in cases {
        let r = c.ask(line);
        assert_eq!(
            (error_code(&r), r["id"].clone()),
            (code, id),
            "{line} → {r}"
        );
        assert!(
            r["error"]["message"].as_str().unwrap().contains("twice"),
            "{r}"
        );
    }
    assert!(c.call(9, "status", json!({}))["result"].is_object());
}

#[test]
fn ids_beyond_64_bits_are_refused_and_others_come_back_as_sent() {
    let h = Home::new();
    let _d = h.start();
    let mut c = h.connect();
    for id in ["18446744073709551615", "-9223372036854775808"] {
        c.write(format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"hello\"}}\n").as_bytes())
            .unwrap();
        let r = c.read().unwrap();
        assert_eq!(r["id"].to_string(), id, "{r}");
        assert!(r["result"].is_object(), "{r}");
    }
    for id in [
        "18446744073709551616",
        "123456789012345678901234567890",
        "1.5",
    ] {
        let r = c.ask(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"hello\"}}"
        ));
        assert_eq!(
            (error_code(&r), r["id"].clone()),
            (-32600, json!(null)),
            "{id} → {r}"
        );
        assert!(
            r["error"]["message"].as_str().unwrap().contains("64 bits"),
            "{r}"
        );
    }
}
