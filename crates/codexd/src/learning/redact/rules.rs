//! The redaction rules: token shapes first, then the generic header, URL and key=value
//! rules. Reference: the token shapes of gitleaks' rule set, each checked here with a planted
//! example and a near miss (tests.rs).

use super::{Rule, key_value, prose_password, random_looking, random_looking_secret, whole};

// Order matters: specific token shapes run before the generic header, URL and key=value rules,
// so `token=ghp_...` is named `github-token`, and the generic rules then see a marker and skip.
// `(?-u:\b)` (ASCII word boundary) keeps every rule on the fast DFA path for non-ASCII text.
pub(super) const RULES: &[Rule] = &[
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
        pattern: r"(?-u:\b)(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]+-[A-Za-z0-9-]{10,})",
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
        kind: "slack-webhook",
        pattern: r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}",
        check: whole,
    },
    Rule {
        kind: "sendgrid-key",
        pattern: r"(?-u:\b)SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{20,64}",
        check: whole,
    },
    Rule {
        kind: "vault-token",
        pattern: r"(?-u:\b)hv[sbr]\.[A-Za-z0-9_-]{24,}",
        check: whole,
    },
    Rule {
        kind: "digitalocean-token",
        pattern: r"(?-u:\b)do[opr]_v1_[a-f0-9]{64}",
        check: whole,
    },
    Rule {
        kind: "groq-key",
        pattern: r"(?-u:\b)gsk_[A-Za-z0-9]{40,}",
        check: whole,
    },
    Rule {
        kind: "xai-key",
        pattern: r"(?-u:\b)xai-[A-Za-z0-9]{60,}",
        check: whole,
    },
    Rule {
        kind: "shopify-token",
        pattern: r"(?-u:\b)shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
        check: whole,
    },
    Rule {
        kind: "grafana-token",
        pattern: r"(?-u:\b)(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})",
        check: whole,
    },
    Rule {
        kind: "google-oauth-token",
        pattern: r"(?-u:\b)ya29\.[0-9A-Za-z_-]{20,}",
        check: whole,
    },
    Rule {
        kind: "age-secret-key",
        pattern: r"AGE-SECRET-KEY-1[0-9A-Z]{58}",
        check: whole,
    },
    Rule {
        kind: "private-key",
        // A PuTTY key file: from its header to its MAC (or the end of a cut-off text).
        pattern: r"(?s)PuTTY-User-Key-File-\d+:.*?(?:Private-MAC:[^\n]*|\z)",
        check: whole,
    },
    Rule {
        kind: "api-key",
        // OpenAI project, service-account and admin keys, whatever their letters' case.
        pattern: r"(?-u:\b)sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}",
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
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", // unsigned too
        check: whole,
    },
    Rule {
        kind: "secret",
        // Azure storage connection strings.
        pattern: r"(?i)(?:AccountKey|SharedAccessKey|SharedAccessSignature)=(?P<secret>[A-Za-z0-9+/%=&:._-]{20,})",
        check: whole,
    },
    Rule {
        kind: "secret",
        // AWS SigV4 presigned URLs and headers.
        pattern: r"(?i)(?:X-Amz-Signature=|Signature=)(?P<secret>[0-9a-f]{64})",
        check: whole,
    },
    Rule {
        kind: "secret",
        // A `Cookie:` or `Set-Cookie:` header's values (sessions are credentials).
        pattern: r#"(?im)(?-u:\b)(?:set-)?cookie[ \t]*:[ \t]*(?P<secret>[^\r\n'"]+)"#,
        check: whole,
    },
    Rule {
        kind: "secret",
        // A token as a URL's user part (`https://TOKEN@github.com/...`): long and random.
        pattern: r"(?-u:\b)https?://(?P<secret>[A-Za-z0-9_-]{20,})@",
        check: random_looking_secret,
    },
    Rule {
        kind: "password",
        // `.netrc` lines and prose: "password X", "password is X", "password: X".
        pattern: r#"(?i)(?-u:\b)(?:password|passwd)(?:[ \t]+is)?[ \t]*:?[ \t]+(?P<secret>[^\s"'`]+)"#,
        check: prose_password,
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
        pattern: r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"'<>\[\]]*:(?P<secret>[^\s"'<>\[\]]+)@"#,
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
        // `curl -u user:pw` (also `-sSu`, `--user`) inside a shell line or a logged command.
        pattern: r#"(?-u:\b)curl(?-u:\b)[^\n|;&]*?[ \t](?:-[A-Za-z]*u|--user)[ \t=]+'?[^\s:'"]*:(?P<secret>[^\s'"]+)"#,
        check: whole,
    },
    Rule {
        kind: "password",
        // `sshpass -p PW` and `docker|podman|helm ... login -p PW` inside a line.
        pattern: r#"(?-u:\b)(?:sshpass|(?:docker|podman|nerdctl|buildah|skopeo|helm)[ \t]+(?:[^\n|;&]*?[ \t])?login)[^\n|;&]*?[ \t]-p[ \t]*(?P<secret>'[^'\n]*'|"[^"\n]*"|[^\s"'`|;&-][^\s"'`|;&]*)"#,
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
        pattern: r#"(?P<key>[A-Za-z0-9_.-]*(?i:passw(?:or)?d|pwd|passphrase|secret|token|auth|credential|(?:api|access|private|signing|encryption)[_.-]?keys?|_pat|_pass)[A-Za-z0-9_.-]*)["']?[ \t]*(?::=|=>|[:=])[ \t]*(?:"(?P<dq>(?:[^"\\\n]|\\.)*)"?|'(?P<sq>[^'\n]*)'?|(?P<bare>[^\s"'`,;:=&(<\[{][^\s"'`&]*))"#,
        check: key_value,
    },
];
