//! The model endpoints codex may talk to: `planner.embeddings` and `planner.llm`, both
//! OpenAI-compatible, and the rules their URLs follow. https goes anywhere (rustls, the
//! platform-independent Mozilla roots); plain http only to this machine, where nothing but
//! the machine itself sees what is sent.

use std::num::{NonZeroU32, NonZeroU64};

use serde::{Deserialize, Serialize};

use super::{nz32, nz64};

/// `planner.embeddings:` local (the default) or an OpenAI-compatible endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddingsConfig {
    /// `https://host/v1` or `http://localhost:PORT/v1`; `null` uses the local embeddings.
    pub endpoint: Option<String>,
    /// The model name sent with each request.
    pub model: String,
    /// The environment variable holding the API key, if the endpoint needs one.
    pub api_key_env: Option<String>,
    /// Longest wait for an answer.
    pub timeout_ms: NonZeroU64,
}

impl Default for EmbeddingsConfig {
    fn default() -> Self {
        EmbeddingsConfig {
            endpoint: None,
            model: "text-embedding-3-small".into(),
            api_key_env: None,
            timeout_ms: nz64(2000),
        }
    }
}

/// When the language model is asked for a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LlmMode {
    /// Never: the local planner only.
    Off,
    /// Only for goals the local planner cannot map to anything.
    Fallback,
    /// For every goal with no plan kept here yet: the model's plan is one more candidate.
    Always,
}

/// `planner.llm:` an optional language model asked for plans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// `off`, `fallback` or `always`.
    pub mode: LlmMode,
    /// `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama), ...
    pub base_url: Option<String>,
    /// The model named in each request.
    pub model: String,
    /// The environment variable (of codexd) holding the API key; `null`: none sent.
    pub api_key_env: Option<String>,
    /// Longest wait for one answer, in seconds.
    pub timeout_secs: NonZeroU64,
    /// Further tries after a 5xx answer or a timeout (nothing else is tried again).
    pub retries: u32,
    /// Most steps a plan from the model may have.
    pub max_steps: NonZeroU32,
    /// Ask for JSON matching the plan's schema (`response_format`); an endpoint that refuses
    /// it is asked again without, and the first JSON object of its text is read.
    pub structured_output: bool,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            mode: LlmMode::Off,
            base_url: None,
            model: String::new(),
            api_key_env: None,
            timeout_secs: nz64(30),
            retries: 2,
            max_steps: nz32(5),
            structured_output: true,
        }
    }
}

impl LlmConfig {
    /// Whether the model may be asked.
    pub fn enabled(&self) -> bool {
        self.mode != LlmMode::Off && self.base_url.is_some()
    }
}

/// Longest `planner.llm.timeout_secs`: a plan nobody waits ten minutes for.
pub const MAX_LLM_TIMEOUT_SECS: u64 = 600;
/// Most `planner.llm.retries`.
pub const MAX_LLM_RETRIES: u32 = 5;
/// Most `planner.llm.max_steps`.
pub const MAX_LLM_STEPS: u32 = 20;

/// What is wrong with the endpoints' keys: (dotted key, message).
pub fn check(emb: &EmbeddingsConfig, llm: &LlmConfig) -> Result<(), (String, String)> {
    if let Some(url) = &emb.endpoint {
        // Embeddings kept the rule they always had: plain http to another host only without
        // a key (configs written before https was supported still start).
        let plain_remote = check_url("planner.embeddings.endpoint", url).is_err()
            && url.to_ascii_lowercase().starts_with("http://");
        if !plain_remote {
            check_url("planner.embeddings.endpoint", url)?;
        } else if emb.api_key_env.is_some() {
            return Err((
                "planner.embeddings.api_key_env".into(),
                format!(
                    "an API key would cross the network unencrypted to `{}`: use https://, or \
                     a server on this machine (localhost, 127.0.0.1, [::1])",
                    authority(url)
                ),
            ));
        } else if authority(url).is_empty() || authority(url).contains('@') {
            return Err((
                "planner.embeddings.endpoint".into(),
                format!("`{url}`: give a host (and port), without a user name"),
            ));
        }
        check_env_name("planner.embeddings.api_key_env", emb.api_key_env.as_deref())?;
    }
    let key = |k: &str| format!("planner.llm.{k}");
    if llm.mode != LlmMode::Off {
        let Some(url) = &llm.base_url else {
            return Err((
                key("base_url"),
                "planner.llm.mode is on but no base_url is set: give an OpenAI-compatible \
                 endpoint (https://api.openai.com/v1, http://localhost:11434/v1 for Ollama), or \
                 set mode: off"
                    .into(),
            ));
        };
        if llm.model.trim().is_empty() {
            return Err((
                key("model"),
                "name the model to ask (gpt-4o-mini, llama3.1, qwen2.5-coder, ...)".into(),
            ));
        }
        check_url(&key("base_url"), url)?;
    } else if let Some(url) = &llm.base_url {
        check_url(&key("base_url"), url)?;
    }
    check_env_name(&key("api_key_env"), llm.api_key_env.as_deref())?;
    if llm.timeout_secs.get() > MAX_LLM_TIMEOUT_SECS {
        return Err((
            key("timeout_secs"),
            format!("at most {MAX_LLM_TIMEOUT_SECS} seconds"),
        ));
    }
    if llm.retries > MAX_LLM_RETRIES {
        return Err((key("retries"), format!("at most {MAX_LLM_RETRIES}")));
    }
    if llm.max_steps.get() > MAX_LLM_STEPS {
        return Err((key("max_steps"), format!("at most {MAX_LLM_STEPS}")));
    }
    Ok(())
}

/// An endpoint URL codex may send to: https anywhere, http only to a loopback host.
fn check_url(key: &str, url: &str) -> Result<(), (String, String)> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => (String::new(), url),
    };
    if scheme != "https" && scheme != "http" {
        return Err((
            key.into(),
            format!("`{url}`: give an https:// URL, or http:// to this machine (localhost)"),
        ));
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '\\' | '?' | '#'))
    {
        return Err((
            key.into(),
            format!(
                "`{url}`: a base URL has no spaces, backslashes, query or fragment (codex adds \
                 the path after it)"
            ),
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err((
            key.into(),
            format!("`{url}`: give a host (and port), without a user name"),
        ));
    }
    let port = match authority.rsplit_once(']') {
        Some((_, after)) => after.strip_prefix(':'),
        None => authority.split_once(':').map(|(_, p)| p),
    };
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err((key.into(), format!("`{url}`: `{port}` is not a port")));
    }
    if scheme == "http" && !is_loopback(authority) {
        return Err((
            key.into(),
            format!(
                "`{url}`: plain http would send goals (and any API key) across the network \
                 unencrypted to `{authority}`: use https://, or a server on this machine \
                 (localhost, 127.0.0.1, [::1])"
            ),
        ));
    }
    Ok(())
}

/// An environment variable's name: letters, digits and `_`, not starting with a digit. A
/// value that looks like a key itself is refused, so a key pasted here is never kept.
fn check_env_name(key: &str, name: Option<&str>) -> Result<(), (String, String)> {
    let Some(name) = name else {
        return Ok(());
    };
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        return Ok(());
    }
    Err((
        key.into(),
        "give the name of the environment variable that holds the key (OPENAI_API_KEY), \
         never the key itself"
            .into(),
    ))
}

/// Whether an URL's host part names this machine.
pub fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host part of an endpoint URL.
pub fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llm(url: &str) -> LlmConfig {
        LlmConfig {
            mode: LlmMode::Fallback,
            base_url: Some(url.into()),
            model: "m".into(),
            ..LlmConfig::default()
        }
    }

    #[test]
    fn https_goes_anywhere_and_http_only_to_this_machine() {
        let e = EmbeddingsConfig::default();
        for ok in [
            "https://api.openai.com/v1",
            "http://localhost:11434/v1",
            "http://127.0.0.1:8080/v1",
            "http://[::1]:8000/v1",
        ] {
            assert!(check(&e, &llm(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.5:11434/v1",
            "http://example.com/v1",
            "ftp://localhost/v1",
            "localhost:11434",
            "https://user@host/v1",
            "https:///v1",
            "http://127.0.0.1:99999/v1",
            "http://127.0.0.1:9\\evil.example/v1",
            "https://h/v1?x=1",
            "https://h /v1",
        ] {
            let (key, _) = check(&e, &llm(bad)).unwrap_err();
            assert_eq!(key, "planner.llm.base_url", "{bad}");
        }
        let emb = EmbeddingsConfig {
            endpoint: Some("https://api.openai.com/v1".into()),
            ..EmbeddingsConfig::default()
        };
        assert!(check(&emb, &LlmConfig::default()).is_ok());
    }

    #[test]
    fn a_mode_on_needs_an_endpoint_and_a_model_and_keys_are_names() {
        let e = EmbeddingsConfig::default();
        let mut c = llm("https://h/v1");
        c.base_url = None;
        assert_eq!(check(&e, &c).unwrap_err().0, "planner.llm.base_url");
        let mut c = llm("https://h/v1");
        c.model = " ".into();
        assert_eq!(check(&e, &c).unwrap_err().0, "planner.llm.model");
        let mut c = llm("https://h/v1");
        c.api_key_env = Some("sk-abc123".into());
        let (key, msg) = check(&e, &c).unwrap_err();
        assert_eq!(key, "planner.llm.api_key_env");
        assert!(msg.contains("never the key itself"), "{msg}");
        c.api_key_env = Some("OPENAI_API_KEY".into());
        assert!(check(&e, &c).is_ok());
        c.timeout_secs = nz64(601);
        assert_eq!(check(&e, &c).unwrap_err().0, "planner.llm.timeout_secs");
    }
}
