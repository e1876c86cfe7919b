//! The config loader under bad input, by machine: arbitrary bytes, the built-in YAML mutated
//! (lines deleted, duplicated, swapped, re-indented or cut; values replaced by huge, negative,
//! wrongly typed or deeply nested ones) and every number key at random and at huge values.
//!
//! The properties, for every input:
//! - `config::parse` (and `config::load` on a file) never panics;
//! - it accepts, or refuses with an error that names the key (`Invalid`) or the line
//!   (`Syntax`);
//! - a duration it accepts is usable: now + that duration is representable by chrono and by
//!   `std::time::Instant` (the daemon adds these durations to the clock);
//! - a duration or count key at a huge value (9999999999999999999, u64::MAX, 1e30) or at a
//!   negative one is refused, naming that key.
//!
//! The generator is a seeded xorshift (no crate): each run prints its seed, and
//! `CODEX_FUZZ_SEED=N` explores other inputs or replays a failure (the default seed is fixed,
//! so CI sees the same inputs every time). `CODEX_FUZZ_CASES=N` sets the number of random
//! cases per property (default 64: a parse that gets as far as `validate` builds the tool
//! registry, ~60 ms in a debug build, so the suite stays at a few seconds); a long run is e.g.
//! `CODEX_FUZZ_SEED=$RANDOM CODEX_FUZZ_CASES=100000 cargo test --release -p codexd --test config_fuzz`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use codexd::config::{self, BUILTIN_YAML, Config, ConfigError};
use serde_json::Value;

const ORIGIN: &str = "fuzz.yaml";

/// xorshift64*: small, fast, and the same sequence for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

fn seed() -> u64 {
    std::env::var("CODEX_FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// CI replays the same inputs every time; `CODEX_FUZZ_SEED` explores others.
const DEFAULT_SEED: u64 = 0x00C0_DE10_F022;

fn cases() -> usize {
    std::env::var("CODEX_FUZZ_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(64)
}

/// What the loader did with one input.
enum Outcome {
    Accepted(Box<Config>),
    Refused(ConfigError),
    Panicked(String),
}

fn parse(text: &str) -> Outcome {
    match std::panic::catch_unwind(AssertUnwindSafe(|| config::parse(text, ORIGIN))) {
        Ok(Ok(c)) => Outcome::Accepted(Box::new(c)),
        Ok(Err(e)) => Outcome::Refused(e),
        Err(p) => Outcome::Panicked(panic_text(&p)),
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// Why a refusal does not say where the problem is, if it does not.
fn unplaced(e: &ConfigError) -> Option<String> {
    let shown = e.to_string();
    match e {
        ConfigError::Syntax { line: None, .. } => {
            Some(format!("syntax error without a line: {shown}"))
        }
        ConfigError::Syntax { .. } => None,
        ConfigError::Invalid { key, .. } if key.trim().is_empty() => {
            Some(format!("invalid value without a key: {shown}"))
        }
        ConfigError::Invalid { key, .. } if !shown.contains(key.as_str()) => Some(format!(
            "the message does not show its key `{key}`: {shown}"
        )),
        ConfigError::Invalid { .. } => None,
        ConfigError::Read { .. } => Some(format!("a read error from a string: {shown}")),
    }
}

/// Every number in the config, by dotted key path, as the daemon gets it.
fn numbers(c: &Config) -> Vec<(String, serde_json::Number)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, serde_json::Number)>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(child, &p, out);
                }
            }
            Value::Number(n) => out.push((path.to_string(), n.clone())),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(
        &serde_json::to_value(c).expect("a config serializes"),
        "",
        &mut out,
    );
    out
}

/// The unit of a duration key, by its name (as the config names them), or `None` for others.
fn duration_unit(path: &str) -> Option<&'static str> {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    if path.starts_with("safety.timeouts.") || leaf.ends_with("_secs") {
        Some("secs")
    } else if leaf.ends_with("_ms") {
        Some("ms")
    } else if leaf.ends_with("_days") {
        Some("days")
    } else {
        None
    }
}

/// A duration the daemon could not add to the clock, if the accepted config holds one.
fn unusable_duration(c: &Config) -> Option<String> {
    let now = chrono::Utc::now();
    let instant = Instant::now();
    for (path, n) in numbers(c) {
        let Some(unit) = duration_unit(&path) else {
            continue;
        };
        let ok = match (unit, n.as_u64(), n.as_f64()) {
            ("secs", Some(v), _) => {
                i64::try_from(v)
                    .ok()
                    .and_then(chrono::TimeDelta::try_seconds)
                    .and_then(|d| now.checked_add_signed(d))
                    .is_some()
                    && instant.checked_add(Duration::from_secs(v)).is_some()
            }
            ("ms", Some(v), _) => {
                i64::try_from(v)
                    .ok()
                    .and_then(chrono::TimeDelta::try_milliseconds)
                    .and_then(|d| now.checked_add_signed(d))
                    .is_some()
                    && instant.checked_add(Duration::from_millis(v)).is_some()
            }
            ("days", _, Some(v)) => {
                let secs = v * 86_400.0;
                secs.is_finite()
                    && secs < i64::MAX as f64
                    && chrono::TimeDelta::try_seconds(secs as i64)
                        .and_then(|d| now.checked_add_signed(d))
                        .is_some()
                    && Duration::try_from_secs_f64(secs)
                        .ok()
                        .and_then(|d| instant.checked_add(d))
                        .is_some()
            }
            _ => false,
        };
        if !ok {
            return Some(format!(
                "{path} = {n} was accepted but cannot be added to the clock"
            ));
        }
    }
    None
}

/// What is wrong with the loader's answer to `text`, if anything.
fn violation(text: &str) -> Option<String> {
    match parse(text) {
        Outcome::Panicked(msg) => Some(format!("panicked: {msg}")),
        Outcome::Refused(e) => unplaced(&e),
        Outcome::Accepted(c) => unusable_duration(&c),
    }
}

fn show(text: &str) -> String {
    const MAX: usize = 4000;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n... ({} bytes in all)", &text[..end], text.len())
}

/// A YAML document setting one dotted key, e.g. `learning.batch_size: 7` as nested mappings.
fn one_key(path: &str, value: &str) -> String {
    let mut out = String::new();
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let indent = "  ".repeat(i);
        if i + 1 == parts.len() {
            out.push_str(&format!("{indent}{part}: {value}\n"));
        } else {
            out.push_str(&format!("{indent}{part}:\n"));
        }
    }
    out
}

/// Number keys of the config with an integer default (durations, sizes and counts), plus
/// `safety.timeouts.cargo` (a map of durations, empty by default), and the `_days` keys.
fn bounded_keys() -> Vec<String> {
    let mut keys: Vec<String> = numbers(&Config::default())
        .into_iter()
        .filter(|(path, n)| n.is_u64() || path.ends_with("_days"))
        .map(|(path, _)| path)
        .collect();
    keys.push("safety.timeouts.cargo".into());
    keys
}

const HUGE: &[&str] = &[
    "9999999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "1e30",
    "1.0e30",
];
const NEGATIVE: &[&str] = &["-1", "-9223372036854775808", "-1e30", "-0.5"];

/// Values that are wrong for some key or other.
const ODD_VALUES: &[&str] = &[
    "9999999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "1e30",
    "-1e30",
    "1e308",
    "1e309",
    ".inf",
    "-.inf",
    ".nan",
    "-1",
    "-9223372036854775808",
    "0",
    "0.0",
    "-0",
    "0x7fffffffffffffff",
    "0o777",
    "1_000",
    "4294967296",
    "65536",
    "2147483648",
    "1.5",
    "\"text\"",
    "''",
    "text with: a colon",
    "[1, 2]",
    "[]",
    "{}",
    "{a: 1}",
    "true",
    "no",
    "null",
    "~",
    "!!binary aGVsbG8=",
    "!!str 12",
    "!custom 3",
    "&anchor 5",
    "*undefined_alias",
    "\"\\u0000\"",
    "\"\u{feff}\"",
    "|\n  block\n  text",
    "2026-12-02",
    "- a\n- b",
];

/// A deeply nested value of one of several shapes.
fn nested(rng: &mut Rng) -> String {
    let depth = *rng.pick(&[10usize, 64, 129, 200, 1000]);
    match rng.below(4) {
        0 => format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
        1 => format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth)),
        2 => "[".repeat(depth),
        _ => {
            let mut s = String::new();
            for i in 0..depth.min(300) {
                s.push('\n');
                s.push_str(&"  ".repeat(i + 2));
                s.push_str("a:");
            }
            s.push_str(" 1");
            s
        }
    }
}

/// A random number, spread over every order of magnitude of u64, sometimes negative or a float.
fn random_number(rng: &mut Rng) -> String {
    let bits = rng.below(65) as u32;
    let v = if bits == 0 {
        0
    } else {
        rng.next() >> (64 - bits)
    };
    match rng.below(6) {
        0 => format!("-{v}"),
        1 => format!("{}e{}", rng.below(10), rng.below(40)),
        2 => format!("{v}.5"),
        _ => v.to_string(),
    }
}

fn random_value(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => nested(rng),
        1 => random_number(rng),
        _ => rng.pick(ODD_VALUES).to_string(),
    }
}

/// Indexes of the lines that set a value (`key: value`, not a comment or a list item).
fn value_lines(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.starts_with('#') && t.contains(": ") && !t.starts_with('-')
        })
        .map(|(i, _)| i)
        .collect()
}

/// One to three mutations of the built-in YAML.
fn mutate(rng: &mut Rng, base: &[String]) -> String {
    let mut lines = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        if lines.is_empty() {
            break;
        }
        let i = rng.below(lines.len());
        match rng.below(10) {
            // Delete one line, or a run of lines.
            0 => {
                let n = 1 + rng.below(8);
                let end = (i + n).min(lines.len());
                lines.drain(i..end);
            }
            // Duplicate a line (a duplicated key, or a duplicated section).
            1 => {
                let l = lines[i].clone();
                let at = rng.below(lines.len() + 1);
                lines.insert(at, l);
            }
            2 => {
                let l = lines[i].clone();
                lines.insert(i + 1, l);
            }
            // Swap two lines.
            3 => {
                let j = rng.below(lines.len());
                lines.swap(i, j);
            }
            // Indent or dedent a line.
            4 => {
                if rng.chance(2) {
                    lines[i].insert(0, ' ');
                } else if let Some(rest) = lines[i].strip_prefix(' ') {
                    lines[i] = rest.to_string();
                }
            }
            // Cut the text at some byte (a torn file).
            5 => {
                lines.truncate(i);
                if let Some(last) = lines.last_mut() {
                    let mut cut = rng.below(last.len() + 1);
                    while !last.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    last.truncate(cut);
                }
            }
            // Insert random characters into a line.
            6 => {
                let l = &mut lines[i];
                let mut at = rng.below(l.len() + 1);
                while !l.is_char_boundary(at) {
                    at -= 1;
                }
                let junk: String = (0..1 + rng.below(6))
                    .map(|_| {
                        *rng.pick(&[
                            ':', '-', '[', '{', '&', '*', '!', '|', '>', '"', '\'', '#', '\t', '%',
                            '@', '`', '\u{0}', '\u{a0}', 'é',
                        ])
                    })
                    .collect();
                l.insert_str(at, &junk);
            }
            // Replace a value (most often: this is where the bounds are).
            _ => {
                let candidates = value_lines(&lines);
                if candidates.is_empty() {
                    continue;
                }
                let j = *rng.pick(&candidates);
                let line = &lines[j];
                let colon = line.find(": ").expect("a value line");
                let value = random_value(rng);
                lines[j] = format!("{}: {value}", &line[..colon]);
            }
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Random bytes, often YAML-like.
fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    const YAMLISH: &[u8] = b"abcdefghijklmnopqrstuvwxyz_0123456789 :-[]{},&*!|>'\"#\n\t.~?%@`";
    let n = rng.below(600);
    (0..n)
        .map(|_| {
            if rng.chance(4) {
                rng.next() as u8
            } else {
                *rng.pick(YAMLISH)
            }
        })
        .collect()
}

fn fail(seed: u64, case: usize, what: &str, text: &str, why: &str) -> ! {
    panic!(
        "config fuzz: {what} (seed {seed}, case {case}; replay with CODEX_FUZZ_SEED={seed}):\n\
         {why}\n--- input ---\n{}",
        show(text)
    );
}

#[test]
fn the_built_in_config_is_accepted() {
    // The baseline the mutations start from: if it does not load, nothing below means much.
    match parse(BUILTIN_YAML) {
        Outcome::Accepted(c) => assert_eq!(*c, Config::default()),
        Outcome::Refused(e) => panic!("the built-in config is refused: {e}"),
        Outcome::Panicked(p) => panic!("the built-in config panics the loader: {p}"),
    }
}

#[test]
fn every_duration_and_count_at_a_huge_or_negative_value_is_refused_naming_its_key() {
    let mut wrong = Vec::new();
    for key in bounded_keys() {
        for value in HUGE.iter().chain(NEGATIVE) {
            let text = one_key(&key, value);
            let shown_key = if key.starts_with("safety.timeouts.") {
                "safety.timeouts"
            } else {
                key.as_str()
            };
            match parse(&text) {
                Outcome::Panicked(p) => wrong.push(format!("{key}: {value}: panicked: {p}")),
                Outcome::Accepted(_) => wrong.push(format!("{key}: {value}: accepted")),
                Outcome::Refused(ConfigError::Invalid { key: named, .. })
                    if named.starts_with(shown_key) => {}
                // A number past 64 bits is refused by the YAML layer, its message naming the
                // key and the line.
                Outcome::Refused(e @ ConfigError::Syntax { line: Some(_), .. })
                    if e.to_string().contains(shown_key) => {}
                Outcome::Refused(e) => wrong.push(format!(
                    "{key}: {value}: refused without naming the key: {e}"
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases are not refused naming the key:\n{}",
        wrong.len(),
        bounded_keys().len() * (HUGE.len() + NEGATIVE.len()),
        wrong.join("\n")
    );
}

#[test]
fn every_number_key_at_random_values_is_accepted_usable_or_refused_naming_it() {
    let seed = seed();
    let n = cases();
    eprintln!("config fuzz: number keys, seed {seed}, {n} cases");
    let mut rng = Rng::new(seed);
    let keys: Vec<String> = numbers(&Config::default())
        .into_iter()
        .map(|(p, _)| p)
        .chain(["safety.timeouts.cargo".to_string()])
        .collect();
    for case in 0..n {
        let key = rng.pick(&keys).clone();
        let value = random_number(&mut rng);
        let text = one_key(&key, &value);
        let section = key.split('.').next().unwrap_or_default();
        match parse(&text) {
            Outcome::Panicked(p) => fail(seed, case, "panicked", &text, &p),
            Outcome::Accepted(c) => {
                if let Some(why) = unusable_duration(&c) {
                    fail(seed, case, "an unusable duration was accepted", &text, &why);
                }
            }
            Outcome::Refused(ConfigError::Invalid { key: named, .. })
                if named.starts_with(section) => {}
            Outcome::Refused(e) if e.to_string().contains(&key) => {}
            Outcome::Refused(e) => fail(
                seed,
                case,
                "refused without naming the key",
                &text,
                &e.to_string(),
            ),
        }
    }
}

#[test]
fn mutated_built_in_config_never_panics_and_every_refusal_is_placed() {
    let seed = seed();
    let n = cases();
    eprintln!("config fuzz: mutated built-in config, seed {seed}, {n} cases");
    let mut rng = Rng::new(seed ^ 0x9E37_79B9_7F4A_7C15);
    let base: Vec<String> = BUILTIN_YAML.lines().map(str::to_owned).collect();
    let (mut accepted, mut refused) = (0usize, 0usize);
    for case in 0..n {
        let text = mutate(&mut rng, &base);
        let why = match parse(&text) {
            Outcome::Panicked(msg) => Some(format!("panicked: {msg}")),
            Outcome::Refused(e) => {
                refused += 1;
                unplaced(&e)
            }
            Outcome::Accepted(c) => {
                accepted += 1;
                unusable_duration(&c)
            }
        };
        if let Some(why) = why {
            fail(seed, case, "mutated built-in config", &text, &why);
        }
    }
    eprintln!("config fuzz: {accepted} mutations accepted, {refused} refused");
}

#[test]
fn arbitrary_bytes_never_panic_the_loader() {
    let seed = seed();
    // Most of these stop at the YAML syntax, which is quick: eight times the cases.
    let n = cases() * 8;
    eprintln!("config fuzz: arbitrary bytes, seed {seed}, {n} cases");
    let mut rng = Rng::new(seed ^ 0xD1B5_4A32_D192_ED03);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    for case in 0..n {
        let bytes = random_bytes(&mut rng);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(why) = violation(&text) {
            fail(seed, case, "arbitrary text", &text, &why);
        }
        // The same bytes as a file: `load` reads it (invalid UTF-8 is a read error naming it).
        std::fs::write(&file, &bytes).unwrap();
        match std::panic::catch_unwind(|| config::load(Some(&file))) {
            Err(p) => fail(seed, case, "load panicked", &text, &panic_text(&p)),
            Ok(Ok(loaded)) => {
                if let Some(why) = unusable_duration(&loaded.config) {
                    fail(
                        seed,
                        case,
                        "load accepted an unusable duration",
                        &text,
                        &why,
                    );
                }
            }
            Ok(Err(e @ ConfigError::Read { .. })) => {
                let shown = e.to_string();
                if !shown.contains(&file.display().to_string()) {
                    fail(seed, case, "a read error without the file", &text, &shown);
                }
            }
            Ok(Err(e)) => {
                if let Some(why) = unplaced(&e) {
                    fail(seed, case, "load refused without a place", &text, &why);
                }
            }
        }
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    // On its own thread with the daemon's main-thread stack size: an overflow aborts the test
    // binary (not a catchable panic), which is a failure all the same.
    let handle = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            for depth in [129usize, 1_000, 3_000] {
                for text in [
                    format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
                    format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth)),
                    format!(
                        "safety:\n  rules: {}{}",
                        "[".repeat(depth),
                        "]".repeat(depth)
                    ),
                    format!("learning:\n  batch_size: {}", "- ".repeat(depth)),
                    (0..depth.min(2_000))
                        .map(|i| format!("{}a:\n", " ".repeat(i)))
                        .collect::<String>(),
                ] {
                    if let Some(why) = violation(&text) {
                        panic!("depth {depth}: {why}\n--- input ---\n{}", show(&text));
                    }
                }
            }
        })
        .unwrap();
    if let Err(p) = handle.join() {
        panic!("{}", panic_text(&p));
    }
}

#[test]
fn a_stray_indent_or_a_second_document_is_refused_with_its_line() {
    // Found by the mutations above: serde_norway reports these as "more than one document"
    // with no position, so the error names neither a key nor a line.
    for text in [
        "  correction_weight: 1.0\nlearning: {}\n",
        "# my settings\n  batch_size: 8\nlearning: {}\n",
        "learning:\n  batch_size: 1\n---\nserver: {}\n",
        "learning: {}\n...\nserver: {}\n",
        "'x'\ny\n",
    ] {
        match parse(text) {
            Outcome::Refused(e) => {
                if let Some(why) = unplaced(&e) {
                    panic!("{why}\n--- input ---\n{text}");
                }
            }
            Outcome::Accepted(_) => {}
            Outcome::Panicked(p) => panic!("panicked: {p}\n--- input ---\n{text}"),
        }
    }
}
