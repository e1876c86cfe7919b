//! An optional remote embedding endpoint (OpenAI-compatible `POST {endpoint}/embeddings`) that
//! replaces the local embeddings when `planner.embeddings.endpoint` is set.
//!
//! `https://` anywhere (rustls), plain `http://` to a local model server (Ollama, llama.cpp,
//! vLLM, LocalAI...), as `config::endpoints` allows. Blocking (ureq): the planner calls it on
//! a blocking thread, bounded by the configured timeout.

use serde::Deserialize;
use std::time::Duration;

/// Texts sent in one request, at most.
const BATCH: usize = 256;

/// Why the endpoint gave no embeddings.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The request failed (connection, timeout, HTTP status).
    #[error("embedding endpoint {url}: {source}")]
    Http {
        /// The URL asked.
        url: String,
        /// What went wrong.
        source: Box<ureq::Error>,
    },
    /// The answer is not what an OpenAI-compatible endpoint returns.
    #[error("embedding endpoint {url}: {message}")]
    Answer {
        /// The URL asked.
        url: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A configured endpoint.
#[derive(Debug, Clone)]
pub struct Remote {
    agent: ureq::Agent,
    url: String,
    model: String,
    key: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl Remote {
    /// An endpoint (`http://host:port/v1`), its model, an API key if any, and a timeout.
    pub fn new(endpoint: &str, model: &str, key: Option<String>, timeout: Duration) -> Remote {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .build()
            .into();
        Remote {
            agent,
            url: format!("{}/embeddings", endpoint.trim_end_matches('/')),
            model: model.to_string(),
            key,
        }
    }

    /// Where and what, for display.
    pub fn describe(&self) -> String {
        format!("{} at {}", self.model, self.url)
    }

    /// Unit vectors for `texts`, in order.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RemoteError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            out.extend(self.embed_batch(chunk)?);
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RemoteError> {
        let http = |source: ureq::Error| RemoteError::Http {
            url: self.url.clone(),
            source: Box::new(source),
        };
        let bad = |message: String| RemoteError::Answer {
            url: self.url.clone(),
            message,
        };
        let mut req = self.agent.post(&self.url);
        if let Some(k) = &self.key {
            req = req.header("Authorization", &format!("Bearer {k}"));
        }
        let mut resp = req
            .send_json(serde_json::json!({ "model": self.model, "input": texts }))
            .map_err(http)?;
        let answer: Answer = resp.body_mut().read_json().map_err(http)?;
        vectors(answer, texts.len()).map_err(bad)
    }
}

/// The answer's vectors in the order of the texts, normalized, or what is wrong with it.
fn vectors(answer: Answer, asked: usize) -> Result<Vec<Vec<f32>>, String> {
    if answer.data.len() != asked {
        return Err(format!(
            "{} embeddings for {asked} texts",
            answer.data.len()
        ));
    }
    let mut items = answer.data;
    if items.iter().all(|i| i.index.is_some()) {
        items.sort_by_key(|i| i.index);
    }
    let dim = items.first().map_or(0, |i| i.embedding.len());
    if dim == 0 || items.iter().any(|i| i.embedding.len() != dim) {
        return Err("embeddings of different or zero length".into());
    }
    Ok(items
        .into_iter()
        .map(|i| {
            let mut v = i.embedding;
            super::embed::normalize(&mut v);
            v
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Answer {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn answers_are_put_in_order_normalized_and_checked() {
        let v = vectors(
            answer(r#"{"data":[{"index":1,"embedding":[0,2]},{"index":0,"embedding":[3,4]}]}"#),
            2,
        )
        .unwrap();
        assert_eq!(v, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
        let e = vectors(answer(r#"{"data":[{"embedding":[1]}]}"#), 2).unwrap_err();
        assert!(e.contains("1 embeddings for 2 texts"), "{e}");
        let e = vectors(
            answer(r#"{"data":[{"embedding":[1]},{"embedding":[1,2]}]}"#),
            2,
        )
        .unwrap_err();
        assert!(e.contains("different or zero length"), "{e}");
    }

    #[test]
    fn an_unreachable_endpoint_is_an_error_naming_it() {
        // A port nobody listens on: bind, read the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = Remote::new(
            &format!("http://127.0.0.1:{port}/v1"),
            "m",
            None,
            Duration::from_secs(2),
        );
        let e = r.embed(&["x".into()]).unwrap_err().to_string();
        assert!(
            e.contains(&format!("127.0.0.1:{port}/v1/embeddings")),
            "{e}"
        );
    }
}
