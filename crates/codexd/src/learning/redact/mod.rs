//! Secret redaction for everything the learning pipeline records.
//!
//! Goals, command lines and captured output pass through here before they reach episodic
//! memory, the dataset or an export, so a token pasted into a goal or printed by a command is
//! never stored. Matching is by pattern (provider token shapes, private key blocks, credentials
//! in URLs, headers and `key=value` pairs), so it catches the common shapes, not every secret.
//! Only the record is redacted: the command itself runs with its real arguments.
//!
//! Cost: one [`RegexSet`] pass decides which rules can apply at all, so text without a secret
//! is scanned once and returned borrowed; only the rules that matched scan again.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex, RegexSet};

/// The marker prefix, so tests elsewhere can look for it.
pub const MARKER_PREFIX: &str = "[REDACTED:";

/// Decides whether one match is a secret: the kind to name in the marker and the byte range to
/// replace, or `None` to leave the match as it is (placeholders, code, lookalikes).
type Check = fn(&'static str, &Captures<'_>) -> Option<(&'static str, Range<usize>)>;

struct Rule {
    kind: &'static str,
    pattern: &'static str,
    check: Check,
}

mod argv;
mod rules;
#[cfg(test)]
mod tests;

pub use argv::redact_argv;
use rules::RULES;

struct Compiled {
    set: RegexSet,
    regexes: Vec<Regex>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| Compiled {
    set: RegexSet::new(RULES.iter().map(|r| r.pattern)).expect("redaction patterns are constant"),
    regexes: RULES
        .iter()
        .map(|r| Regex::new(r.pattern).expect("redaction patterns are constant"))
        .collect(),
});

/// Replace every secret in `text` with a marker naming its kind, e.g. `[REDACTED:github-token]`.
/// Returns Cow::Borrowed when nothing matched (the common case must not allocate).
pub fn redact(text: &str) -> Cow<'_, str> {
    let compiled = &*COMPILED;
    let hits = compiled.set.matches(text);
    if !hits.matched_any() {
        return Cow::Borrowed(text);
    }
    let mut current = Cow::Borrowed(text);
    for i in hits.iter() {
        if let (Some(rule), Some(re)) = (RULES.get(i), compiled.regexes.get(i))
            && let Some(replaced) = apply(rule, re, &current)
        {
            current = Cow::Owned(replaced);
        }
    }
    current
}

/// One rule over the whole text; `None` when no match turned out to be a secret, so the
/// caller can keep borrowing.
fn apply(rule: &Rule, re: &Regex, text: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Some((kind, range)) = (rule.check)(rule.kind, &caps) else {
            continue;
        };
        let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
        buf.push_str(&text[last..range.start]);
        push_marker(buf, kind);
        last = range.end;
    }
    let mut buf = out?;
    buf.push_str(&text[last..]);
    Some(buf)
}

fn push_marker(buf: &mut String, kind: &str) {
    buf.push_str(MARKER_PREFIX);
    buf.push_str(kind);
    buf.push(']');
}

fn marker(kind: &str) -> String {
    let mut s = String::with_capacity(MARKER_PREFIX.len() + kind.len() + 1);
    push_marker(&mut s, kind);
    s
}

/// The `secret` group if the rule keeps context around it, else the whole match.
fn whole(kind: &'static str, caps: &Captures<'_>) -> Option<(&'static str, Range<usize>)> {
    let m = caps.name("secret").or_else(|| caps.get(0))?;
    if is_placeholder(m.as_str()) {
        return None;
    }
    Some((kind, m.range()))
}

/// `sk-` also starts kebab-case words (`sk-learn-...`); real keys are random, so they carry
/// a digit or an upper-case letter.
fn random_looking(kind: &'static str, caps: &Captures<'_>) -> Option<(&'static str, Range<usize>)> {
    let m = caps.get(0)?;
    let body = m.as_str().get(3..)?;
    if body
        .bytes()
        .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        Some((kind, m.range()))
    } else {
        None
    }
}

/// The `secret` group when it carries a digit or an upper-case letter mixed with others (a
/// token, not a user name like `git@` or `deploy@`).
fn random_looking_secret(
    kind: &'static str,
    caps: &Captures<'_>,
) -> Option<(&'static str, Range<usize>)> {
    let m = caps.name("secret")?;
    let (digit, upper, lower) = m
        .as_str()
        .bytes()
        .fold((false, false, false), |(d, u, l), c| {
            (
                d || c.is_ascii_digit(),
                u || c.is_ascii_uppercase(),
                l || c.is_ascii_lowercase(),
            )
        });
    ((digit && (upper || lower)) || (upper && lower)).then(|| (kind, m.range()))
}

/// "password X" in prose or a `.netrc` line, unless X is a word that says something about
/// passwords rather than being one (`password reset`, `password manager`).
fn prose_password(kind: &'static str, caps: &Captures<'_>) -> Option<(&'static str, Range<usize>)> {
    let m = caps.name("secret")?;
    let v = m.as_str().trim_end_matches(['.', ',', ';', ')']);
    const WORDS: &[&str] = &[
        "reset",
        "manager",
        "field",
        "policy",
        "prompt",
        "for",
        "of",
        "to",
        "and",
        "or",
        "is",
        "was",
        "file",
        "required",
        "change",
        "changed",
        "expired",
        "protected",
        "hash",
        "hashes",
        "login",
        "input",
        "auth",
        "authentication",
        "the",
        "a",
        "an",
        "in",
        "on",
        "with",
    ];
    if is_placeholder(v)
        || WORDS.iter().any(|w| v.eq_ignore_ascii_case(w))
        || v.starts_with(['-', '<', '{', '[', '$', '('])
    {
        return None;
    }
    Some((kind, m.start()..m.start() + v.len()))
}

fn key_value(_: &'static str, caps: &Captures<'_>) -> Option<(&'static str, Range<usize>)> {
    let key = caps.name("key")?.as_str();
    let kind = secret_key_kind(key)?;
    let (value, bare) = match (caps.name("dq"), caps.name("sq"), caps.name("bare")) {
        (Some(v), _, _) | (None, Some(v), _) => (v, false),
        (None, None, Some(v)) => (v, true),
        (None, None, None) => return None,
    };
    let full = value.as_str();
    // A bare value ends before sentence or list punctuation: `token=abc, user=bob`.
    let kept = if bare {
        full.trim_end_matches([',', ';', '.', ')', ']', '}', '>'])
    } else {
        full
    };
    if is_placeholder(full) || is_placeholder(kept) || looks_like_code(kept) {
        return None;
    }
    if key.to_ascii_lowercase().ends_with("authorization") && is_auth_scheme(kept) {
        return None;
    }
    Some((kind, value.start()..value.start() + kept.len()))
}

/// Whether a `key` in `key=value` text names a secret, and which marker kind it gets.
/// The secret word must END the key: `GITHUB_TOKEN` and `aws_secret_access_key` are secrets,
/// `token_count`, `max_tokens` and `password-file` are not.
fn secret_key_kind(key: &str) -> Option<&'static str> {
    // The shell's working directory, not a password.
    if key == "PWD" || key == "OLDPWD" {
        return None;
    }
    let norm: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    const PASSWORD: &[&str] = &["password", "passwd", "pwd", "passphrase", "pass"];
    const SECRET: &[&str] = &[
        "secret",
        "token",
        "apikey",
        "accesskey",
        "privatekey",
        "secretkey",
        "secretkeybase",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "secrets",
        "pat",
        "signingkey",
        "encryptionkey",
        "signingkeys",
        "encryptionkeys",
    ];
    if PASSWORD.iter().any(|w| norm.ends_with(w)) {
        Some("password")
    } else if SECRET.iter().any(|w| norm.ends_with(w)) {
        Some("secret")
    } else {
        None
    }
}

/// Values that stand for a secret without being one: empty, masked, a variable or template
/// reference, a null-ish literal, or an earlier marker (which keeps redaction idempotent).
fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || v.starts_with(MARKER_PREFIX) || v.bytes().all(|b| b == b'*') {
        return true;
    }
    if v.starts_with("{{") || (v.starts_with('<') && v.ends_with('>')) {
        return true;
    }
    if let Some(rest) = v.strip_prefix('$') {
        if let Some(inner) = rest.strip_prefix('{') {
            return inner.ends_with('}');
        }
        if rest.starts_with('(') {
            return rest.ends_with(')');
        }
        // `$2b$12$...` (a hash) has a second `$`, so it is not a reference.
        return !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    }
    ["null", "none", "nil", "true", "false", "undefined"]
        .iter()
        .any(|w| v.eq_ignore_ascii_case(w))
}

/// `token = lexer.next()` and `password = env["X"]` in source listings are expressions, not
/// values: an identifier path directly followed by `(` or `[`.
fn looks_like_code(value: &str) -> bool {
    let bytes = value.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return false;
    }
    let end = bytes
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':')))
        .unwrap_or(bytes.len());
    matches!(bytes.get(end), Some(b'(' | b'['))
}

fn is_auth_scheme(value: &str) -> bool {
    ["bearer", "basic", "token", "digest", "negotiate", "ntlm"]
        .iter()
        .any(|w| value.eq_ignore_ascii_case(w))
}
