//! Argument vectors, word by word: a flag's value, `KEY=VALUE` words, glued passwords.

use super::{is_placeholder, marker, redact};

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
    const PASSWORD: &[&str] = &["PASSWORD", "PASSWD", "PASSPHRASE"];
    const SECRET: &[&str] = &[
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
    ];
    // Whole parts of the name: `DB_PASS`, `GITHUB_PAT`, `SIGNING_KEY`, `AWS_KEYS`.
    const PARTS: &[(&str, &str)] = &[
        ("PASS", "password"),
        ("PWD", "password"),
        ("PAT", "secret"),
        ("KEY", "secret"),
        ("KEYS", "secret"),
        ("SECRETS", "secret"),
    ];
    let part = |w: &str| norm.split('_').any(|p| p == w);
    if PASSWORD.iter().any(|w| norm.contains(w)) {
        Some("password")
    } else if SECRET.iter().any(|w| norm.contains(w)) {
        Some("secret")
    } else {
        // `PWD` alone is the working directory.
        PARTS
            .iter()
            .find(|(w, _)| part(w) && norm != "PWD" && norm != "OLDPWD")
            .map(|(_, kind)| *kind)
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

/// Redact each word of an argument vector, plus what the word before says is a secret: a
/// password or token flag's value, `KEY=VALUE` words with a secret name, glued or separate
/// `-p` passwords of the tools that take them, curl's `-u user:pass` (docs/privacy.md).
pub fn redact_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut pending: Option<Pending> = None;
    let mut mysql = false;
    let mut curl = false;
    // `docker login -p X`, `sshpass -p X`, `podman login -p X`: -p takes the password.
    let mut dash_p = false;
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
            "sshpass" => dash_p = true,
            "login"
                if out.last().is_some_and(|w: &String| {
                    matches!(
                        program_name(w),
                        "docker" | "podman" | "nerdctl" | "buildah" | "skopeo" | "helm"
                    )
                }) =>
            {
                dash_p = true
            }
            _ => {}
        }
        if let Some(kind) = flag_kind(word) {
            pending = Some(Pending::Value(kind));
            out.push(word.clone());
            continue;
        }
        if dash_p && (word == "-p" || word == "--password") {
            pending = Some(Pending::Value("password"));
            out.push(word.clone());
            continue;
        }
        if dash_p
            && let Some(pass) = word.strip_prefix("-p")
            && !pass.is_empty()
            && !is_placeholder(pass)
        {
            out.push(format!("-p{}", marker("password")));
            continue;
        }
        // `-u` alone or ending a cluster of flags (`-sSu user:pw`).
        if curl && word.starts_with('-') && !word.starts_with("--") && word.ends_with('u') {
            pending = Some(Pending::AfterColon);
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
