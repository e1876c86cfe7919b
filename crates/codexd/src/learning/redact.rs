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

// Order matters: specific token shapes run before the generic header, URL and key=value rules,
// so `token=ghp_...` is named `github-token`, and the generic rules then see a marker and skip.
// `(?-u:\b)` (ASCII word boundary) keeps every rule on the fast DFA path for non-ASCII text.
const RULES: &[Rule] = &[
    Rule {
        kind: "private-key",
        // An unterminated block (truncated output) runs to the end of the text.
        pattern: r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
        check: whole,
    },
    Rule {
        kind: "private-key",
        // The end of a block whose BEGIN line was cut off (a kept output tail starts inside
        // the key): everything from the start of the text to the END line goes. Complete
        // blocks were replaced by the rule above, so only such orphans are left to match.
        pattern: r"(?s)\A.*?-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----",
        check: whole,
    },
    Rule {
        kind: "github-token",
        pattern: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        check: whole,
    },
    Rule {
        kind: "gitlab-token",
        pattern: r"(?-u:\b)glpat-[A-Za-z0-9_-]{20,}",
        check: whole,
    },
    Rule {
        kind: "slack-token",
        pattern: r"(?-u:\b)(?:xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[0-9]+-[A-Za-z0-9-]{10,})",
        check: whole,
    },
    Rule {
        kind: "aws-access-key",
        pattern: r"(?-u:\b)(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
        check: whole,
    },
    Rule {
        kind: "stripe-key",
        pattern: r"(?-u:\b)(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}",
        check: whole,
    },
    Rule {
        kind: "api-key",
        pattern: r"(?-u:\b)sk-[A-Za-z0-9_-]{20,}",
        check: random_looking,
    },
    Rule {
        kind: "google-api-key",
        pattern: r"(?-u:\b)AIza[0-9A-Za-z_-]{35}",
        check: whole,
    },
    Rule {
        kind: "npm-token",
        pattern: r"(?-u:\b)npm_[A-Za-z0-9]{36,}",
        check: whole,
    },
    Rule {
        kind: "pypi-token",
        pattern: r"(?-u:\b)pypi-AgE[A-Za-z0-9_-]{50,}",
        check: whole,
    },
    Rule {
        kind: "huggingface-token",
        pattern: r"(?-u:\b)hf_[A-Za-z0-9]{30,}",
        check: whole,
    },
    Rule {
        kind: "jwt",
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
        check: whole,
    },
    Rule {
        kind: "bearer-token",
        // After an explicit Authorization header any length is a credential.
        pattern: r"(?i)(?-u:\b)authorization[ \t]*[:=][ \t]*(?:bearer|basic|token|digest)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]+=*)",
        check: whole,
    },
    Rule {
        kind: "bearer-token",
        // Bare "bearer X" needs a token-sized X so prose ("bearer bonds") survives.
        pattern: r"(?i)(?-u:\b)bearer[ \t]+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)",
        check: whole,
    },
    Rule {
        kind: "url-password",
        // Greedy up to the last `@` of the authority, so an unescaped `@` in the password
        // does not leave its tail behind.
        pattern: r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"'<>]*:(?P<secret>[^\s/"'<>]+)@"#,
        check: whole,
    },
    Rule {
        kind: "password",
        // `mysql ... -pSECRET` inside a shell line or a goal; argv gets the same in redact_argv.
        pattern: r#"(?-u:\b)(?:mysql|mysqldump|mariadb)(?-u:\b)[^\n|;&]*?[ \t]-p(?P<secret>'[^'\n]*'|"[^"\n]*"|[^\s"'`|;&]+)"#,
        check: whole,
    },
    Rule {
        kind: "password",
        // `--password VALUE` in a command line or its output (argv is handled word by word
        // in redact_argv). A next word starting with `-` is another flag, not a value.
        pattern: r#"--(?:password|passwd|pass)[ \t]+(?P<secret>[^\s"'`|;&-][^\s"'`|;&]*)"#,
        check: whole,
    },
    Rule {
        kind: "secret",
        pattern: r#"--(?:token|api-key|apikey|secret|client-secret|access-token|auth-token)[ \t]+(?P<secret>[^\s"'`|;&-][^\s"'`|;&]*)"#,
        check: whole,
    },
    Rule {
        kind: "secret",
        // The key is a candidate only; `secret_key_kind` decides. The value is "double
        // quoted" (closing quote optional, so a truncated line still loses its value),
        // 'single quoted', or a bare word that does not start like a marker, template,
        // comparison or type.
        pattern: r#"(?P<key>[A-Za-z0-9_.-]*(?i:passw(?:or)?d|pwd|passphrase|secret|token|auth|credential|(?:api|access|private)[_.-]?key)[A-Za-z0-9_.-]*)["']?[ \t]*(?::=|=>|[:=])[ \t]*(?:"(?P<dq>(?:[^"\\\n]|\\.)*)"?|'(?P<sq>[^'\n]*)'?|(?P<bare>[^\s"'`,;:=&(<\[{][^\s"'`&]*))"#,
        check: key_value,
    },
];

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
    const PASSWORD: &[&str] = &["password", "passwd", "pwd", "passphrase"];
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

/// Flags whose NEXT argument (or `=` value) is a secret, with the marker kind.
fn flag_kind(flag: &str) -> Option<&'static str> {
    match flag {
        "--password" | "--passwd" | "--pass" => Some("password"),
        "--token" | "--api-key" | "--apikey" | "--secret" | "--client-secret"
        | "--access-token" | "--auth-token" => Some("secret"),
        _ => None,
    }
}

/// `KEY=VALUE` argv words (env assignments, `make` variables): any KEY containing a secret
/// word counts, since an argv word is an explicit setting rather than prose.
fn env_key_kind(key: &str) -> Option<&'static str> {
    let bytes = key.as_bytes();
    let first = *bytes.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_')
        || !bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return None;
    }
    let norm: String = key
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    const PASSWORD: &[&str] = &["PASSWORD", "PASSWD"];
    const SECRET: &[&str] = &[
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
    ];
    if PASSWORD.iter().any(|w| norm.contains(w)) {
        Some("password")
    } else if SECRET.iter().any(|w| norm.contains(w)) {
        Some("secret")
    } else {
        None
    }
}

/// What the previous argv word says about this one.
#[derive(Clone, Copy)]
enum Pending {
    /// The whole word is a secret of this kind.
    Value(&'static str),
    /// `user:password` (curl `-u`): the part after the first colon is.
    AfterColon,
}

fn program_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn redact_after_colon(word: &str) -> String {
    match word.split_once(':') {
        Some((user, pass)) if !is_placeholder(pass) => format!("{user}:{}", marker("password")),
        _ => redact(word).into_owned(),
    }
}

/// Redact each word of an argument vector, plus `--password VALUE` / `--token=VALUE` flag values (--password, --passwd, --pass, --token, --api-key, --apikey, --secret, --client-secret, --access-token, --auth-token), `KEY=VALUE` words whose KEY contains PASSWORD, PASSWD, SECRET, TOKEN, API_KEY, APIKEY, ACCESS_KEY, PRIVATE_KEY or CREDENTIAL (any case), `-pVALUE` after mysql/mysqldump/mariadb and `-u user:pass` after curl.
pub fn redact_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut pending: Option<Pending> = None;
    let mut mysql = false;
    let mut curl = false;
    for word in argv {
        // `psql --password mydb` style boolean flags: a following long flag is not a value.
        if let Some(p) = pending.take()
            && !word.starts_with("--")
        {
            out.push(match p {
                Pending::Value(_) if is_placeholder(word) => word.clone(),
                Pending::Value(kind) => marker(kind),
                Pending::AfterColon => redact_after_colon(word),
            });
            continue;
        }
        match program_name(word) {
            "mysql" | "mysqldump" | "mariadb" => mysql = true,
            "curl" => curl = true,
            _ => {}
        }
        if let Some(kind) = flag_kind(word) {
            pending = Some(Pending::Value(kind));
            out.push(word.clone());
            continue;
        }
        if curl && (word == "-u" || word == "--user") {
            pending = Some(Pending::AfterColon);
            out.push(word.clone());
            continue;
        }
        if let Some((key, value)) = word.split_once('=') {
            let kind = if key.starts_with("--") {
                flag_kind(key)
            } else {
                env_key_kind(key)
            };
            if let Some(kind) = kind {
                out.push(if is_placeholder(value) {
                    word.clone()
                } else {
                    format!("{key}={}", marker(kind))
                });
                continue;
            }
            if curl && key == "--user" {
                out.push(format!("--user={}", redact_after_colon(value)));
                continue;
            }
        }
        // mysql's password is glued to -p; `-p DB` (a separate word) prompts and names a database.
        if mysql
            && let Some(pass) = word.strip_prefix("-p")
            && !is_placeholder(pass)
        {
            out.push(format!("-p{}", marker("password")));
            continue;
        }
        if curl
            && let Some(creds) = word.strip_prefix("-u")
            && !creds.is_empty()
        {
            out.push(format!("-u{}", redact_after_colon(creds)));
            continue;
        }
        out.push(redact(word).into_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake secret body: `n` characters cycling through letters and digits, so it has the
    /// shape of a real token and obviously is not one.
    fn fake(n: usize) -> String {
        "FAKEfake0123456789abcdefghijklmnopqrstuvwxyz"
            .chars()
            .cycle()
            .take(n)
            .collect()
    }

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.ZmFrZS1zaWduYXR1cmU";

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn assert_redacted(input: &str, secret: &str, kind: &str) {
        let out = redact(input);
        assert!(
            !out.contains(secret),
            "secret survived in {out:?} (input {input:?})"
        );
        let want = format!("{MARKER_PREFIX}{kind}]");
        assert!(
            out.contains(&want),
            "no {want} in {out:?} (input {input:?})"
        );
        assert!(matches!(out, Cow::Owned(_)));
        assert_eq!(redact(&out), out, "not idempotent for {input:?}");
    }

    #[test]
    fn planted_secrets_are_replaced_by_a_marker_of_their_kind() {
        let gh = format!("ghp_{}", fake(36));
        let gho = format!("gho_{}", fake(40));
        let pat = format!("github_pat_{}_{}", fake(22), fake(59));
        let glpat = format!("glpat-{}", fake(20));
        let slack = format!("xoxb-1234567890-{}", fake(24));
        let openai = format!("sk-proj-{}", fake(48));
        let anthropic = format!("sk-ant-api03-{}", fake(40));
        let google = format!("AIza{}", fake(35));
        let stripe = format!("sk_live_{}", fake(24));
        let stripe_test = format!("sk_test_{}", fake(24));
        let npm = format!("npm_{}", fake(36));
        let hf = format!("hf_{}", fake(34));
        let bearer = fake(32);
        // (text with `@` where the secret goes, secret, kind)
        let cases: [(&str, &str, &str); 36] = [
            ("push with @ please", &gh, "github-token"),
            ("GH_TOKEN=@", &gh, "github-token"),
            ("token @", &gho, "github-token"),
            ("use @", &pat, "github-token"),
            ("export GITLAB=@", &glpat, "gitlab-token"),
            ("slack: @", &slack, "slack-token"),
            ("aws configure @", "AKIAIOSFODNN7EXAMPLE", "aws-access-key"),
            ("OPENAI_API_KEY=@", &openai, "api-key"),
            ("key @ end", &anthropic, "api-key"),
            ("maps @", &google, "google-api-key"),
            ("charge with @", &stripe, "stripe-key"),
            ("@", &stripe_test, "stripe-key"),
            ("npm token @", &npm, "npm-token"),
            ("hf login @", &hf, "huggingface-token"),
            ("cookie=@; path=/", JWT, "jwt"),
            (
                "curl -H 'Authorization: Bearer @' https://api",
                &bearer,
                "bearer-token",
            ),
            ("Authorization: Basic @", "dXNlcjpmYWtl", "bearer-token"),
            ("bearer @", &bearer, "bearer-token"),
            (
                "git clone https://me:@@example.com/r.git",
                "fakePassw0rd",
                "url-password",
            ),
            ("postgres://app:@@db:5432/app", "f@ke:pass", "url-password"),
            ("mysql -u root -p@ shop", "fakesecret", "password"),
            ("mysql -uroot -p'@' shop", "fake pass", "password"),
            ("SECRET_KEY_BASE=@", "fakebase0", "secret"),
            ("password=@", "hunter2hunter2", "password"),
            ("DB_PASSWORD: '@'", "fake pass", "password"),
            (r#"{"password":"@"}"#, r#"fa\"ke"#, "password"),
            ("pwd = @", "fakepwd1", "password"),
            ("password: \"@", "unterminated fake", "password"),
            ("hash password=@", "$2b$12$fakefakefake", "password"),
            (
                "aws_secret_access_key = @",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "secret",
            ),
            (r#"{"api_key": "@", "n": 1}"#, "fake123", "secret"),
            ("x-api-key: @", "fakefake", "secret"),
            ("client_secret=@", "fake-cs", "secret"),
            ("apiKey: @", "fakekey9", "secret"),
            ("auth=@", "fakeauth", "secret"),
            ("GET /cb?access_token=@&x=1", "faketok", "secret"),
        ];
        for (template, secret, kind) in cases {
            assert_redacted(&template.replacen('@', secret, 1), secret, kind);
        }
    }

    #[test]
    fn the_end_of_a_key_block_whose_start_was_cut_off_is_redacted() {
        let tail =
            "b3BlbnNzaC1rZXktdjEAAAAA\nQUJDREVGR0g=\n-----END OPENSSH PRIVATE KEY-----\ndone\n";
        assert_eq!(redact(tail), "[REDACTED:private-key]\ndone\n");
        let whole = "a\n-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----\nb";
        assert_eq!(redact(whole), "a\n[REDACTED:private-key]\nb");
    }

    #[test]
    fn password_flags_in_text_lose_their_value() {
        let out = redact("$ mysqladmin --password hunter2hunter2 status");
        assert_eq!(out, "$ mysqladmin --password [REDACTED:password] status");
        let out = redact("gh auth login --token abcdefabcdef1234");
        assert_eq!(out, "gh auth login --token [REDACTED:secret]");
        assert!(matches!(
            redact("psql --password --dbname x"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn context_around_a_secret_is_kept() {
        let bearer = fake(24);
        assert_eq!(
            redact(&format!("Authorization: Bearer {bearer}")),
            "Authorization: Bearer [REDACTED:bearer-token]"
        );
        assert_eq!(
            redact("https://me:fake@example.com/x"),
            "https://me:[REDACTED:url-password]@example.com/x"
        );
        assert_eq!(
            redact(r#"{"password": "fake", "user": "me"}"#),
            r#"{"password": "[REDACTED:password]", "user": "me"}"#
        );
        assert_eq!(
            redact("token=fake, user=me."),
            "token=[REDACTED:secret], user=me."
        );
        assert_eq!(
            redact(&format!("GITHUB_TOKEN=ghp_{}", fake(36))),
            "GITHUB_TOKEN=[REDACTED:github-token]"
        );
    }

    #[test]
    fn private_key_blocks_in_command_output() {
        let body = format!("{}\n{}\n{}", fake(70), fake(70), fake(20));
        let output = format!(
            "Generating key pair\n-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\nsaved to id_ed25519\n"
        );
        let out = redact(&output);
        assert_eq!(
            out,
            "Generating key pair\n[REDACTED:private-key]\nsaved to id_ed25519\n"
        );

        let rsa = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----");
        assert_eq!(redact(&rsa), "[REDACTED:private-key]");

        // Truncated output: no END line, so everything after BEGIN goes.
        let cut = format!("cat key.pem\n-----BEGIN PRIVATE KEY-----\n{body}");
        assert_eq!(redact(&cut), "cat key.pem\n[REDACTED:private-key]");

        // Public keys and certificates are not secrets.
        let public = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0C\n-----END PUBLIC KEY-----";
        assert!(matches!(redact(public), Cow::Borrowed(_)));
    }

    #[test]
    fn ordinary_developer_text_is_borrowed_unchanged() {
        let benign = [
            "",
            "cargo test",
            "cargo test -p codexd --lib redact",
            "git push --force origin main",
            "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "run --password-file path/to/file",
            "--password-file=secrets/db.txt",
            "token_count",
            "token_count: 42",
            "max_tokens=4096",
            "src/auth/token.rs:12:5: warning: unused variable",
            "/home/me/.ssh/id_ed25519.pub",
            "pip install sk-learn",
            "sk-learn-compatible-estimators-for-all",
            "password: ",
            "password:",
            "password:\nuser: me",
            "password=",
            r#"{"password": ""}"#,
            "export TOKEN=$GITHUB_TOKEN",
            "password: ${DB_PASSWORD}",
            "password: ***",
            r#""api_key": "***""#,
            "token: {{ secrets.GITHUB_TOKEN }}",
            "password: <your password>",
            "secret: null",
            "PWD=/home/me/src",
            "let token = lexer.next();",
            "if token == expected {",
            "match token::Kind::Ident",
            "Bearer tokens are short-lived",
            "Authorization header missing",
            "https://github.com/org/repo",
            "ssh://git@github.com:22/org/repo.git",
            "http://localhost:8080/health",
            "git@github.com:org/repo.git",
            "test result: ok. 12 passed; 0 failed; 0 ignored",
            "mysql -u root -p shop",
            "mysql -P 3306 -h db",
            "héllo wörld ✓ no secrets here",
            "[REDACTED:github-token] and password: [REDACTED:password]",
        ];
        for text in benign {
            let out = redact(text);
            assert!(
                matches!(out, Cow::Borrowed(_)),
                "{text:?} was changed to {out:?}"
            );
        }
    }

    #[test]
    fn redacting_twice_equals_once() {
        let text = format!(
            "GH_TOKEN=ghp_{} curl -H 'Authorization: Bearer {}' https://u:p4ss@h/x\n\
             password=hunter2 {{\"api_key\": \"k\"}} mysql -pfake db\n\
             -----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
            fake(36),
            fake(20),
            fake(64)
        );
        let once = redact(&text).into_owned();
        assert!(once.contains(MARKER_PREFIX));
        let twice = redact(&once);
        assert_eq!(twice, once);
        assert!(matches!(twice, Cow::Borrowed(_)));
    }

    #[test]
    fn argv_pairs_assignments_and_mysql() {
        let gh = format!("ghp_{}", fake(36));
        let cases: Vec<(Vec<String>, Vec<String>)> = vec![
            (
                argv(&["app", "--password", "hunter2hunter2"]),
                argv(&["app", "--password", "[REDACTED:password]"]),
            ),
            (
                argv(&["app", "--token=abc123fake", "--verbose"]),
                argv(&["app", "--token=[REDACTED:secret]", "--verbose"]),
            ),
            (
                argv(&["app", "--api-key", "fake", "--client-secret=x"]),
                argv(&[
                    "app",
                    "--api-key",
                    "[REDACTED:secret]",
                    "--client-secret=[REDACTED:secret]",
                ]),
            ),
            (
                argv(&[
                    "env",
                    "API_KEY=fakefake",
                    "DB_PASSWORD=fake",
                    "cargo",
                    "run",
                ]),
                argv(&[
                    "env",
                    "API_KEY=[REDACTED:secret]",
                    "DB_PASSWORD=[REDACTED:password]",
                    "cargo",
                    "run",
                ]),
            ),
            (
                argv(&["make", "deploy", "github_token=fake"]),
                argv(&["make", "deploy", "github_token=[REDACTED:secret]"]),
            ),
            (
                argv(&["mysql", "-u", "root", "-psecret", "shop"]),
                argv(&["mysql", "-u", "root", "-p[REDACTED:password]", "shop"]),
            ),
            (
                argv(&["/usr/bin/mysqldump", "-pfake", "shop"]),
                argv(&["/usr/bin/mysqldump", "-p[REDACTED:password]", "shop"]),
            ),
            (
                argv(&["curl", "-u", "me:fakepass", "https://x"]),
                argv(&["curl", "-u", "me:[REDACTED:password]", "https://x"]),
            ),
            (
                argv(&["git", "push", &gh]),
                argv(&["git", "push", "[REDACTED:github-token]"]),
            ),
            (
                argv(&["git", "remote", "add", "o", "https://me:fake@example.com/r"]),
                argv(&[
                    "git",
                    "remote",
                    "add",
                    "o",
                    "https://me:[REDACTED:url-password]@example.com/r",
                ]),
            ),
            (
                argv(&["sh", "-c", "mysql -pfake -e 'select 1'"]),
                argv(&["sh", "-c", "mysql -p[REDACTED:password] -e 'select 1'"]),
            ),
        ];
        for (input, want) in &cases {
            let out = redact_argv(input);
            assert_eq!(&out, want, "for {input:?}");
            assert_eq!(redact_argv(&out), out, "not idempotent for {input:?}");
        }
    }

    #[test]
    fn argv_leaves_ordinary_commands_alone() {
        let unchanged = [
            argv(&["cargo", "test", "-p", "codexd"]),
            argv(&["mkdir", "-p", "a/b"]),
            argv(&["ssh", "-p", "2222", "host"]),
            argv(&["git", "add", "-p"]),
            argv(&["git", "push", "--force", "origin", "main"]),
            argv(&["mysql", "-u", "root", "-p", "shop"]),
            argv(&["app", "--password-file", "path"]),
            argv(&["psql", "--password", "--dbname", "shop"]),
            argv(&["app", "--token"]),
            argv(&["env", "DB_PASSWORD=$DB_PASSWORD", "app"]),
            argv(&["env", "TOKEN=", "app"]),
            argv(&["env", "RUST_LOG=debug", "PWD=/tmp", "app"]),
            argv(&["curl", "-u", "me", "https://x"]),
        ];
        for input in &unchanged {
            assert_eq!(&redact_argv(input), input);
        }
    }
}
