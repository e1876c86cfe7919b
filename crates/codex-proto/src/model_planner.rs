//! The optional language-model planner (`planner.llm`): how it was asked for a plan, what it
//! would be sent (`plan/prompt`), and its record in `codex status`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::methods::{Method, PlanParams};

/// How the model was asked while planning one goal (in [`crate::methods::PlanResult`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelAsk {
    /// The model and where it was asked (`gpt-4o-mini at https://api.openai.com/v1`).
    pub endpoint: String,
    /// Whether its plan passed validation and is among the plans.
    pub ok: bool,
    /// One line: what it did, or what it did wrong.
    pub note: String,
    /// Wall time of the ask, retries included, in milliseconds.
    pub latency_ms: u64,
    /// Tries made (1 unless a 5xx or a timeout was tried again).
    pub tries: u32,
    /// Prompt tokens, from the answer's `usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    /// Answer tokens, from the answer's `usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u64>,
}

impl ModelAsk {
    /// An ask that did not happen, and why.
    pub fn not_asked(endpoint: String, note: impl Into<String>) -> ModelAsk {
        ModelAsk {
            endpoint,
            ok: false,
            note: note.into(),
            latency_ms: 0,
            tries: 0,
            prompt_tokens: None,
            completion_tokens: None,
        }
    }
}

/// `plan/prompt`: exactly what the model would be sent for a goal here. Sends nothing.
pub struct PlanPrompt;

/// Result of [`PlanPrompt`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanPromptResult {
    /// `planner.llm.mode`.
    pub mode: String,
    /// The URL it would be POSTed to; `None` when no endpoint is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The environment variable the key would come from (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The request body, as it would be sent.
    pub body: serde_json::Value,
    /// Whether planning this goal now would ask the model, and why (not).
    pub would_ask: String,
}

impl Method for PlanPrompt {
    const NAME: &'static str = "plan/prompt";
    type Params = PlanParams;
    type Result = PlanPromptResult;
}

/// The model planner's record, in `codex status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelStats {
    /// The model and where it is asked.
    pub endpoint: String,
    /// `fallback` or `always`.
    pub mode: String,
    /// Times it was asked.
    pub asks: u64,
    /// Asks that gave a plan that passed validation.
    pub plans: u64,
    /// Asks that failed (no answer, a bad answer, or a plan that failed validation).
    pub failures: u64,
    /// The last failure, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    /// Median wall time of the latest asks (up to 100), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms_median: Option<u64>,
    /// Slowest of the latest asks, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms_max: Option<u64>,
    /// Prompt tokens, all asks.
    pub prompt_tokens: u64,
    /// Answer tokens, all asks.
    pub completion_tokens: u64,
    /// When it was last asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_asked: Option<DateTime<Utc>>,
}
