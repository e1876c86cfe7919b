//! A property test of [`parse_line`] with a hand-rolled generator (no dependency, no lock
//! file churn): arbitrary bytes, valid requests with random mutations, and JSON built with
//! repeated keys. Nothing may panic, every line gets a result that is consistent with
//! `serde_json`, and a request that is taken can be written and read back the same.
//!
//! Runs [`DEFAULT_CASES`] cases per strategy, about a second in a debug build. For a longer
//! run: `CODEX_FUZZ_CASES=2000000 cargo test -p codex-proto --release fuzz` (and
//! `CODEX_FUZZ_SEED=N` to replay a reported seed).

use super::*;

const DEFAULT_CASES: u64 = 20_000;

/// xorshift64*: small, fast, reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, in_n: usize) -> bool {
        self.below(in_n) == 0
    }
}

const VALID: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"hello","params":{"client":"codex 0.1.0","protocol":1}}"#,
    r#"{"jsonrpc":"2.0","id":"x-2","method":"status"}"#,
    r#"{"jsonrpc":"2.0","id":3,"method":"history","params":{"limit":20}}"#,
    r#"{"jsonrpc":"2.0","id":4,"method":"prefs/show","params":{"category":"run the tests"}}"#,
    r#"{"jsonrpc":"2.0","id":5,"method":"forget","params":{"run":1,"dry_run":true}}"#,
    r#"{"jsonrpc":"2.0","id":6,"method":"run","params":{"argv":["echo","a\nb \u00e9"],"cwd":"/tmp","env":{"PATH":"/bin"},"yes":false}}"#,
    r#"{"jsonrpc":"2.0","id":7,"method":"rate","params":{"score":5,"comment":"ok"}}"#,
    r#"{"jsonrpc":"2.0","method":"run/progress","params":{"run_id":7,"stream":"stdout","data":"ok\n"}}"#,
    r#"{"jsonrpc":"2.0","id":"approval-3","result":{"approved":true}}"#,
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no","data":{"a":[1,2.5,null]}}}"#,
];

/// Pieces a mutation inserts: JSON syntax, the envelope's keys, numbers at the edges of
/// 64 bits, escapes that are not valid UTF-16, bytes that are not UTF-8.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"\\",
    b" ",
    b"\n",
    b"\r",
    b"\0",
    b"\"id\":",
    b"\"method\":",
    b"\"params\":",
    b"\"jsonrpc\":\"2.0\"",
    b"\"result\":",
    b"\"error\":",
    b"null",
    b"true",
    b"-",
    b"0",
    b"1e999",
    b"-1e-999",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"18446744073709551615",
    b"1.5",
    b"\\ud800",
    b"\\udc00\\ud800",
    b"\\u0000",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xf0\x9f\x92\xa9",
    b"[1]",
    b"{\"a\":1,\"a\":2}",
];

fn mutate(rng: &mut Rng, line: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(line.len() + 1);
        match rng.below(6) {
            0 if !line.is_empty() => {
                let i = rng.below(line.len());
                line[i] ^= 1 << rng.below(8);
            }
            1 if !line.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(line.len());
                line.drain(at.min(end)..end);
            }
            2 => line.truncate(at),
            3 if !line.is_empty() => {
                let start = rng.below(line.len());
                let end = (start + 1 + rng.below(32)).min(line.len());
                let copy = line[start..end].to_vec();
                line.splice(at..at, copy);
            }
            _ => {
                let token = rng.pick(TOKENS);
                line.splice(at..at, token.iter().copied());
            }
        }
    }
}

fn arbitrary_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(200);
    (0..len)
        .map(|_| {
            if rng.chance(2) {
                *rng.pick(b"{}[]\",:0123456789-.eE tfnrul\\\xff")
            } else {
                rng.next() as u8
            }
        })
        .collect()
}

/// JSON text written by hand so it can repeat keys, nest deep and use odd numbers.
fn write_value(rng: &mut Rng, depth: usize, out: &mut String, repeats: &mut bool) {
    let kind = if depth > 6 {
        rng.below(4)
    } else {
        rng.below(7)
    };
    match kind {
        0 => out.push_str(rng.pick::<&str>(&["null", "true", "false"])),
        1 => out.push_str(rng.pick::<&str>(&[
            "0",
            "-1",
            "7",
            "1.5",
            "1e3",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1e400",
        ])),
        2 | 3 => {
            let s: String = rng
                .pick(&["id", "method", "params", "a", "é", "\\u0041", ""])
                .to_string();
            out.push('"');
            out.push_str(&s);
            out.push('"');
        }
        4 => {
            out.push('[');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(',');
                }
                write_value(rng, depth + 1, out, repeats);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            let mut used: Vec<&str> = Vec::new();
            for i in 0..rng.below(5) {
                if i > 0 {
                    out.push(',');
                }
                let key = if !used.is_empty() && rng.chance(6) {
                    *repeats = true;
                    *rng.pick(&used)
                } else {
                    *rng.pick(&[
                        "jsonrpc", "id", "method", "params", "result", "error", "k", "run",
                    ])
                };
                used.push(key);
                out.push_str(&format!("\"{key}\":"));
                match key {
                    "jsonrpc" if rng.chance(2) => out.push_str("\"2.0\""),
                    "method" if rng.chance(2) => out.push_str("\"status\""),
                    _ => write_value(rng, depth + 1, out, repeats),
                }
            }
            out.push('}');
        }
    }
}

/// The checks every result must pass.
fn check(line: &[u8]) {
    let got = std::panic::catch_unwind(|| parse_line(line))
        .unwrap_or_else(|_| panic!("parse_line panicked on {:?}", String::from_utf8_lossy(line)));
    let plain = serde_json::from_slice::<Value>(line);
    let shown = || String::from_utf8_lossy(line).into_owned();
    match got {
        Err(r) => {
            assert!(valid_id(&r.id), "unechoable id {} for {}", r.id, shown());
            assert!(!r.error.message.is_empty());
            assert!(
                [
                    codes::PARSE_ERROR,
                    codes::INVALID_REQUEST,
                    codes::INVALID_PARAMS
                ]
                .contains(&r.error.code),
                "code {} for {}",
                r.error.code,
                shown()
            );
            assert_eq!(
                r.error.code == codes::PARSE_ERROR,
                plain.is_err(),
                "parse error disagrees with serde_json for {}",
                shown()
            );
        }
        Ok(msg) => {
            assert!(plain.is_ok(), "taken but not JSON: {}", shown());
            let again = match &msg {
                Incoming::Request { id, method, params } => {
                    assert!(valid_id(id), "{}", shown());
                    assert!(params.is_object() || params.is_null(), "{}", shown());
                    to_line(&Request {
                        jsonrpc: JSONRPC.into(),
                        id: Some(id.clone()),
                        method: method.clone(),
                        params: params.clone(),
                    })
                }
                Incoming::Notification { method, params } => {
                    to_line(&Request::notification(method, params.clone()))
                }
                Incoming::Response(r) => {
                    assert!(valid_id(&r.id), "{}", shown());
                    to_line(r)
                }
            }
            .unwrap_or_else(|e| panic!("cannot write back {}: {e}", shown()));
            let back = parse_line(again.trim_end().as_bytes())
                .unwrap_or_else(|e| panic!("{again} does not read back: {e:?}"));
            let back = match back {
                Incoming::Request { id, method, params } => to_line(&Request {
                    jsonrpc: JSONRPC.into(),
                    id: Some(id),
                    method,
                    params,
                }),
                Incoming::Notification { method, params } => {
                    to_line(&Request::notification(&method, params))
                }
                Incoming::Response(r) => to_line(&r),
            }
            .unwrap_or_else(|e| panic!("cannot write back {again}: {e}"));
            let (a, b) = (
                serde_json::from_str::<Value>(&again),
                serde_json::from_str::<Value>(&back),
            );
            assert!(
                matches!((&a, &b), (Ok(a), Ok(b)) if close(a, b)),
                "round trip of {}: {again} then {back}",
                shown()
            );
        }
    }
}

/// Equal, but for the last digits of floats: serde_json's fast float parsing may land one
/// step away from the shortest representation it wrote.
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= x.abs().max(y.abs()) * 1e-12,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

fn cases() -> u64 {
    std::env::var("CODEX_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn rng(stream: u64) -> Rng {
    let seed = std::env::var("CODEX_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1)
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = rng(1);
    for _ in 0..cases() {
        check(&arbitrary_bytes(&mut rng));
    }
}

#[test]
fn mutated_requests_never_panic_and_read_back() {
    let mut rng = rng(2);
    for _ in 0..cases() {
        let mut line = rng.pick(VALID).as_bytes().to_vec();
        mutate(&mut rng, &mut line);
        check(&line);
    }
    for line in VALID {
        assert!(parse_line(line.as_bytes()).is_ok(), "{line}");
    }
}

#[test]
fn generated_json_with_repeated_keys_is_judged_consistently() {
    let mut rng = rng(3);
    let mut out = String::new();
    for _ in 0..cases() {
        out.clear();
        let mut repeats = false;
        write_value(&mut rng, 0, &mut out, &mut repeats);
        check(out.as_bytes());
        assert!(
            !(repeats && parse_line(out.as_bytes()).is_ok()),
            "a repeated key was taken: {out}"
        );
    }
}
