//! Tests of redaction: every rule with a planted secret and a near miss that must stay.
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
    let tail = "b3BlbnNzaC1rZXktdjEAAAAA\nQUJDREVGR0g=\n-----END OPENSSH PRIVATE KEY-----\ndone\n";
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

#[test]
fn every_shape_of_the_privacy_review_is_redacted_and_its_near_miss_kept() {
    let hex64 = "0123456789abcdef".repeat(4);
    let b64 = fake(40);
    let age = format!(
        "AGE-SECRET-KEY-1{}",
        "QZ0PL9XJ2K7".repeat(6).get(..58).unwrap_or("")
    );
    // (planted text, the secret in it, the marker kind)
    let planted: Vec<(String, String, &str)> = vec![
        (format!("xoxe-1-{}", fake(30)), format!("xoxe-1-{}", fake(30)), "slack-token"),
        (
            format!("https://hooks.slack.com/services/T0FAKE000/B0FAKE000/{}", fake(24)),
            fake(24),
            "slack-webhook",
        ),
        (format!("SG.{}.{}", fake(22), fake(43)), fake(43), "sendgrid-key"),
        (format!("hvs.{}", fake(30)), format!("hvs.{}", fake(30)), "vault-token"),
        (format!("dop_v1_{hex64}"), hex64.clone(), "digitalocean-token"),
        (format!("gsk_{}", fake(52)), fake(52), "groq-key"),
        (format!("xai-{}", fake(80)), fake(80), "xai-key"),
        (format!("shpat_{}", &hex64[..32]), hex64[..32].to_string(), "shopify-token"),
        (format!("glc_{b64}"), b64.clone(), "grafana-token"),
        (format!("ya29.{}", fake(40)), fake(40), "google-oauth-token"),
        (age.clone(), age.clone(), "age-secret-key"),
        (
            format!("sk-proj-{}", "abcdefghij".repeat(4)),
            "abcdefghij".repeat(4),
            "api-key",
        ),
        (
            format!("DefaultEndpointsProtocol=https;AccountName=x;AccountKey={b64}==;EndpointSuffix=core"),
            b64.clone(),
            "secret",
        ),
        (
            format!("https://b.s3.amazonaws.com/k?X-Amz-Credential=x&X-Amz-Signature={hex64}"),
            hex64.clone(),
            "secret",
        ),
        ("Cookie: session=s3cr3tSess10n".into(), "s3cr3tSess10n".into(), "secret"),
        ("Set-Cookie: sid=Zq81mPq7; HttpOnly".into(), "Zq81mPq7".into(), "secret"),
        (
            format!("git clone https://{}@github.com/o/r.git", fake(40)),
            fake(40),
            "secret",
        ),
        ("postgres://app:pa/ss+w0rd@db:5432/x".into(), "pa/ss+w0rd".into(), "url-password"),
        ("machine api.example.com login me password hunter22".into(), "hunter22".into(), "password"),
        ("my password is Tr0ub4dor&3 ok".into(), "Tr0ub4dor&3".into(), "password"),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJmYWtlIn0.".into(), "eyJzdWIiOiJmYWtlIn0".into(), "jwt"),
        (
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\nQUJDREVGR0g=\nPrivate-MAC: 00ff\n".into(),
            "QUJDREVGR0g=".into(),
            "private-key",
        ),
        ("DB_PASS=hunter22x".into(), "hunter22x".into(), "password"),
        ("GITHUB_PAT=abcd1234efgh".into(), "abcd1234efgh".into(), "secret"),
        ("signing_key: k3yM4terial".into(), "k3yM4terial".into(), "secret"),
        ("APP_SECRETS=s3cr3tz9".into(), "s3cr3tz9".into(), "secret"),
        ("curl -sSu me:hunter22 https://x".into(), "hunter22".into(), "password"),
        ("curl --user me:hunter22 https://x".into(), "hunter22".into(), "password"),
        ("sshpass -p hunter22 ssh h".into(), "hunter22".into(), "password"),
        ("docker login -p hunter22 reg".into(), "hunter22".into(), "password"),
    ];
    for (text, secret, kind) in &planted {
        assert_redacted(text, secret, kind);
    }
    // Near misses: the same words where they are no secret.
    let kept = [
        "the slack channel hooks are documented at https://api.slack.com/messaging/webhooks",
        "SG.1 section",
        "hvs.short",
        "dop_v1_not_hex",
        "gsk_short",
        "xai-grok is a model name",
        "shpat_xyz",
        "ya29.short",
        "AGE-SECRET-KEY-1 is the prefix of age keys",
        "the password reset flow",
        "a password manager",
        "Signature=abc",
        "git clone https://git@github.com/o/r.git",
        "http://localhost:8080/api/v1",
        "cookie jar at ~/.cookies",
        "max_tokens=4096",
        "PWD=/home/dev/src",
        "compat=1",
        "curl -u me https://x",
        "docker run -p 8080:80 nginx",
    ];
    for text in kept {
        let out = redact(text);
        assert_eq!(out, text, "a near miss was changed");
    }
}

#[test]
fn credentials_as_separate_arguments_are_redacted() {
    for (words, secret) in [
        (&["curl", "-u", "me:hunter22", "https://x"][..], "hunter22"),
        (&["curl", "-sSu", "me:hunter22", "https://x"], "hunter22"),
        (&["docker", "login", "-p", "hunter22", "reg"], "hunter22"),
        (&["docker", "login", "-phunter22", "reg"], "hunter22"),
        (&["sshpass", "-p", "hunter22", "ssh", "h"], "hunter22"),
        (&["mysql", "-phunter22", "db"], "hunter22"),
        (&["psql", "--password=hunter22"], "hunter22"),
        (&["env", "DB_PASS=hunter22", "make"], "hunter22"),
        (&["env", "SIGNING_KEY=hunter22", "make"], "hunter22"),
    ] {
        let out = redact_argv(&argv(words));
        assert!(
            !out.iter().any(|w| w.contains(secret)),
            "{words:?} -> {out:?}"
        );
    }
    for words in [
        &["ls", "-p", "src"][..],
        &["docker", "run", "-p", "8080:80", "nginx"],
        &["env", "SORT=name", "make"],
        &["curl", "-s", "https://x"],
    ] {
        assert_eq!(redact_argv(&argv(words)), argv(words), "{words:?}");
    }
}
