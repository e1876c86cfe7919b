//! One ask of an OpenAI-compatible `POST {base_url}/chat/completions`, with bounded retries.
//!
//! Blocking (ureq): the planner runs it on a thread of its own, so a slow model holds up
//! neither other plans nor shutdown. Only a 5xx answer or a timeout is tried again; an
//! endpoint that refuses `response_format` is asked once more without it, and from then on
//! never with it. Answers are read up to [`MAX_ANSWER_BYTES`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Secret;

/// The largest answer read: a plan of a few steps is a few KiB; past this it is not a plan.
pub const MAX_ANSWER_BYTES: u64 = 1024 * 1024;
/// Most tokens one answer's `usage` may claim.
const MAX_TOKENS: u64 = 10_000_000;
/// Back-off before the first retry; doubled for each later one.
const BACKOFF: Duration = Duration::from_millis(500);

/// Why the model gave no answer to read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AskError {
    /// No answer within the timeout.
    #[error("no answer within {0} s")]
    Timeout(u64),
    /// Nobody listens there, or the connection broke.
    #[error("cannot reach it: {0}")]
    Connect(String),
    /// An HTTP error status.
    #[error("it answered HTTP {status}{}", if .detail.is_empty() { String::new() } else { format!(": {}", .detail) })]
    Status {
        /// The status.
        status: u16,
        /// The start of its body, one line (the key scrubbed out).
        detail: String,
    },
    /// The answer is larger than a plan can be.
    #[error("its answer is larger than {} KiB", MAX_ANSWER_BYTES / 1024)]
    TooLarge,
    /// The answer is not an OpenAI-compatible chat completion.
    #[error("its answer is not a chat completion: {0}")]
    Malformed(String),
}

impl AskError {
    /// Worth trying again: the endpoint is overloaded or slow, not wrong.
    fn transient(&self) -> bool {
        matches!(self, AskError::Timeout(_))
            || matches!(self, AskError::Status { status, .. } if *status >= 500)
    }
}

/// What a completion said.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The first choice's text.
    pub content: String,
    /// Why it stopped (`stop`, `length`, ...), when said.
    pub finish_reason: Option<String>,
    /// `usage.prompt_tokens`.
    pub prompt_tokens: Option<u64>,
    /// `usage.completion_tokens`.
    pub completion_tokens: Option<u64>,
}

/// How an ask went: its result, the tries it took and its wall time.
#[derive(Debug)]
pub struct Asked {
    /// The completion, or why there is none.
    pub result: Result<Completion, AskError>,
    /// Tries made.
    pub tries: u32,
    /// Wall time, back-off included.
    pub elapsed: Duration,
}

/// A configured endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
    key: Option<Secret>,
    timeout: Duration,
    retries: u32,
    /// The endpoint has not refused `response_format` (yet).
    structured: Arc<AtomicBool>,
}

impl Client {
    /// `base_url` (validated by the config), the key, the timeout of one try, the retries,
    /// and whether to ask for structured output.
    pub fn new(
        base_url: &str,
        key: Option<Secret>,
        timeout: Duration,
        retries: u32,
        structured: bool,
    ) -> Client {
        let loopback =
            crate::config::endpoints::is_loopback(crate::config::endpoints::authority(base_url));
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("codexd/", env!("CARGO_PKG_VERSION")));
        if loopback {
            // This machine's own server: a proxy from the environment has no business here.
            config = config.proxy(None);
        }
        Client {
            agent: config.build().into(),
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            key,
            timeout,
            retries,
            structured: Arc::new(AtomicBool::new(structured)),
        }
    }

    /// The URL asked.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the next ask carries `response_format`.
    pub fn structured(&self) -> bool {
        self.structured.load(Ordering::Relaxed)
    }

    /// The longest an ask can take: every try timing out, and the back-off between them.
    pub fn longest(&self) -> Duration {
        let tries = self.retries + 1;
        let backoff: Duration = (0..self.retries).map(|i| BACKOFF * 2u32.pow(i)).sum();
        // One more try without `response_format` may follow a refusal.
        self.timeout * (tries + 1) + backoff
    }

    /// POST `body` (with `response_format` taken out once the endpoint refused it), trying
    /// again after a 5xx or a timeout.
    pub fn ask(&self, body: &Value) -> Asked {
        let started = Instant::now();
        let mut tries = 0;
        let mut retried_plain = false;
        loop {
            let mut sent = body.clone();
            if !self.structured()
                && let Some(o) = sent.as_object_mut()
            {
                o.remove("response_format");
            }
            tries += 1;
            let result = self.post(&sent);
            match result {
                Err(AskError::Status { status, ref detail })
                    if (400..500).contains(&status)
                        && status != 401
                        && status != 403
                        && self.structured()
                        && refuses_format(detail)
                        && !retried_plain =>
                {
                    tracing::info!(
                        url = %self.url,
                        "the model endpoint refuses response_format: asking without it from now on"
                    );
                    self.structured.store(false, Ordering::Relaxed);
                    retried_plain = true;
                }
                Err(e) if e.transient() && tries <= self.retries => {
                    let wait = BACKOFF * 2u32.pow(tries - 1);
                    tracing::debug!(url = %self.url, "model ask failed ({e}); trying again in {wait:?}");
                    std::thread::sleep(wait);
                }
                result => {
                    return Asked {
                        result,
                        tries,
                        elapsed: started.elapsed(),
                    };
                }
            }
        }
    }

    fn post(&self, body: &Value) -> Result<Completion, AskError> {
        let mut req = self.agent.post(&self.url);
        if let Some(k) = &self.key {
            req = req.header("Authorization", &format!("Bearer {}", k.expose()));
        }
        let mut resp = req.send_json(body).map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => AskError::TooLarge,
                ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                    AskError::Malformed("it is not UTF-8 text".into())
                }
                e => self.transport(e),
            })?;
        if !(200..300).contains(&status) {
            return Err(AskError::Status {
                status,
                detail: clean_line(&error_message(&text), self.key.as_ref(), 200),
            });
        }
        completion(&text).map_err(|m| AskError::Malformed(clean_line(&m, self.key.as_ref(), 200)))
    }

    fn transport(&self, e: ureq::Error) -> AskError {
        match e {
            ureq::Error::Timeout(_) => AskError::Timeout(self.timeout.as_secs().max(1)),
            ureq::Error::BodyExceedsLimit(_) => AskError::TooLarge,
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                AskError::Timeout(self.timeout.as_secs().max(1))
            }
            e => AskError::Connect(clean_line(&e.to_string(), self.key.as_ref(), 200)),
        }
    }
}

/// An error body's message (`{"error": {"message": ...}}`), else its text.
fn error_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_else(|| text.to_string())
}

/// A 4xx about `response_format`: the endpoint does not do structured output.
fn refuses_format(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("response_format") || d.contains("json_schema") || d.contains("structured")
}

/// The first line of `text`, control and bidirectional characters out, at most `max`
/// characters.
pub fn one_line(text: &str, max: usize) -> String {
    clean_line(text, None, max)
}

/// [`one_line`] with the key cut out: after the characters that could split it are gone,
/// before the line is cut short (so no part of it survives either way).
pub fn clean_line(text: &str, key: Option<&Secret>, max: usize) -> String {
    let mut line: String = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .filter(|c| !codex_proto::text::is_hidden(*c))
        .collect();
    if let Some(k) = key {
        line = k.scrub(&line);
    }
    if line.chars().count() > max {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    } else {
        line
    }
}

/// The completion in an answer's text.
fn completion(text: &str) -> Result<Completion, String> {
    if text.trim().is_empty() {
        return Err("it is empty".into());
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("not JSON ({})", one_line(&e.to_string(), 80)))?;
    let choice = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or("it has no choices")?;
    let content = choice
        .pointer("/message/content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // A count past any real answer's is not believed (it would swamp the totals).
    let usage = |k: &str| {
        v.get("usage")
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .filter(|&n| n <= MAX_TOKENS)
    };
    Ok(Completion {
        content,
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(String::from),
        prompt_tokens: usage("prompt_tokens"),
        completion_tokens: usage("completion_tokens"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_is_read_with_its_usage() {
        let c = completion(
            r#"{"choices":[{"message":{"role":"assistant","content":"{\"steps\":[]}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#,
        )
        .unwrap();
        assert_eq!(c.content, r#"{"steps":[]}"#);
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        assert_eq!((c.prompt_tokens, c.completion_tokens), (Some(12), Some(3)));
        assert!(completion("").unwrap_err().contains("empty"));
        assert!(completion("<html>").unwrap_err().contains("not JSON"));
        assert!(
            completion(r#"{"choices":[]}"#)
                .unwrap_err()
                .contains("no choices")
        );
    }

    #[test]
    fn only_5xx_and_timeouts_are_tried_again() {
        assert!(AskError::Timeout(1).transient());
        let s = |status| AskError::Status {
            status,
            detail: String::new(),
        };
        assert!(s(500).transient() && s(503).transient());
        assert!(!s(400).transient() && !s(401).transient() && !s(429).transient());
        assert!(!AskError::Connect("refused".into()).transient());
        assert!(!AskError::TooLarge.transient());
    }

    #[test]
    fn the_longest_ask_counts_every_try_and_back_off() {
        let c = Client::new(
            "http://127.0.0.1:9/v1",
            None,
            Duration::from_secs(10),
            2,
            true,
        );
        // 3 tries + 1 without response_format, 0.5 s + 1 s of back-off.
        assert_eq!(c.longest(), Duration::from_millis(41_500));
        assert_eq!(c.url(), "http://127.0.0.1:9/v1/chat/completions");
    }

    #[test]
    fn one_line_keeps_the_first_line_short() {
        assert_eq!(one_line("\n  boom\nsecond", 10), "boom");
        assert_eq!(one_line("abcdefghijkl", 5), "abcde…");
        assert_eq!(one_line("a\u{1b}[31mb", 10), "a[31mb");
    }
}
