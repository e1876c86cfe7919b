//! JSON-RPC 2.0 envelope: one JSON object per line, in both directions.
//!
//! Either side may send requests and notifications (the daemon sends `run/progress`
//! notifications during a run); responses answer requests by `id`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The only JSON-RPC version spoken.
pub const JSONRPC: &str = "2.0";

/// Standard and codex-specific error codes.
pub mod codes {
    /// The line is not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Valid JSON, but not a JSON-RPC 2.0 request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No method of that name.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The params do not fit the method.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The daemon failed while answering; the message says how.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The daemon is shutting down and takes no new work.
    pub const SHUTTING_DOWN: i64 = -32000;
    /// A safety rule refused the command; `data` is a [`crate::types::Refusal`].
    pub const REFUSED: i64 = -32001;
    /// The run (or other named thing) does not exist.
    pub const NOT_FOUND: i64 = -32002;
    /// The message was longer than the daemon's cap; the connection is closed after this.
    pub const MESSAGE_TOO_LARGE: i64 = -32003;
    /// Writing to durable storage failed; nothing was acknowledged.
    pub const STORAGE: i64 = -32004;
    /// Client and daemon speak different protocol versions.
    pub const PROTOCOL_MISMATCH: i64 = -32005;
    /// The change needs a yes typed at a terminal first (the message says what it would
    /// lift); send it again with its confirmation once the person said yes.
    pub const NEEDS_CONFIRMATION: i64 = -32006;
}

/// A request (with `id`) or notification (without), ready to serialize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Always `"2.0"`.
    pub jsonrpc: String,
    /// Present on requests, absent on notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// Method name, e.g. `status`.
    pub method: String,
    /// Method parameters; omitted when null.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub params: Value,
}

impl Request {
    /// A request expecting a response with the same `id`.
    pub fn new(id: u64, method: &str, params: Value) -> Self {
        Self {
            jsonrpc: JSONRPC.into(),
            id: Some(Value::from(id)),
            method: method.into(),
            params,
        }
    }

    /// A notification: no `id`, no response.
    pub fn notification(method: &str, params: Value) -> Self {
        Self {
            jsonrpc: JSONRPC.into(),
            id: None,
            method: method.into(),
            params,
        }
    }
}

/// The answer to a request: exactly one of `result` and `error` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Always `"2.0"`.
    pub jsonrpc: String,
    /// The request's `id` (null when the request could not be read).
    pub id: Value,
    /// The method's result on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

impl Response {
    /// A successful response.
    pub fn ok(id: Value, result: Value) -> Self {
        Self {
            jsonrpc: JSONRPC.into(),
            id,
            result: Some(result),
            error: None,
        }
    }

    /// An error response.
    pub fn err(id: Value, error: ErrorObject) -> Self {
        Self {
            jsonrpc: JSONRPC.into(),
            id,
            result: None,
            error: Some(error),
        }
    }
}

/// A JSON-RPC error: a code, a message a person can act on, and optional data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// One of [`codes`].
    pub code: i64,
    /// What went wrong, in words a user can act on.
    pub message: String,
    /// Structured detail, method-specific.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error without data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attach structured data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}

/// Any well-formed message, sorted by what it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request that wants a response.
    Request {
        /// Echoed back on the response.
        id: Value,
        /// Method name.
        method: String,
        /// Parameters (null when absent).
        params: Value,
    },
    /// A notification: no response is sent, not even an error.
    Notification {
        /// Method name.
        method: String,
        /// Parameters (null when absent).
        params: Value,
    },
    /// A response to a request this side sent.
    Response(Response),
}

/// A line that could not be taken as a message, with the `id` to answer on if one was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The request's id when it could be read, else null.
    pub id: Value,
    /// Why the line was rejected.
    pub error: ErrorObject,
}

/// Parse one line into a message, or say precisely why it is not one.
pub fn parse_line(line: &[u8]) -> Result<Incoming, Rejected> {
    let value: Value = serde_json::from_slice(line).map_err(|e| Rejected {
        id: Value::Null,
        error: ErrorObject::new(codes::PARSE_ERROR, format!("not valid JSON: {e}")),
    })?;
    classify(value)
}

/// Sort a parsed JSON value into request, notification or response.
pub fn classify(value: Value) -> Result<Incoming, Rejected> {
    let invalid = |id: Value, msg: String| Rejected {
        id,
        error: ErrorObject::new(codes::INVALID_REQUEST, msg),
    };
    let mut obj = match value {
        Value::Object(obj) => obj,
        Value::Array(_) => {
            return Err(invalid(
                Value::Null,
                "batch requests (JSON arrays) are not supported".into(),
            ));
        }
        other => {
            return Err(invalid(
                Value::Null,
                format!("expected a JSON-RPC object, got {}", type_name(&other)),
            ));
        }
    };
    let id = obj.remove("id");
    let echo_id = id.clone().unwrap_or(Value::Null);
    if let Some(id) = &id
        && !(id.is_string() || id.is_number() || id.is_null())
    {
        return Err(invalid(
            Value::Null,
            format!(
                "`id` must be a string, a number or null, got {}",
                type_name(id)
            ),
        ));
    }
    match obj.get("jsonrpc") {
        Some(Value::String(v)) if v == JSONRPC => {}
        Some(other) => {
            return Err(invalid(
                echo_id,
                format!("`jsonrpc` must be \"2.0\", got {other}"),
            ));
        }
        None => return Err(invalid(echo_id, "missing `jsonrpc`: \"2.0\"".into())),
    }
    match obj.remove("method") {
        Some(Value::String(method)) => {
            let params = obj.remove("params").unwrap_or(Value::Null);
            if !(params.is_object() || params.is_array() || params.is_null()) {
                return Err(invalid(
                    echo_id,
                    format!(
                        "`params` must be an object or an array, got {}",
                        type_name(&params)
                    ),
                ));
            }
            Ok(match id {
                Some(id) => Incoming::Request { id, method, params },
                None => Incoming::Notification { method, params },
            })
        }
        Some(other) => Err(invalid(
            echo_id,
            format!("`method` must be a string, got {}", type_name(&other)),
        )),
        None if obj.contains_key("result") || obj.contains_key("error") => {
            let Some(id) = id else {
                return Err(invalid(Value::Null, "a response needs an `id`".into()));
            };
            let result = obj.remove("result");
            let error = match obj.remove("error") {
                Some(e) => Some(serde_json::from_value::<ErrorObject>(e).map_err(|e| {
                    invalid(
                        id.clone(),
                        format!("`error` is not a JSON-RPC error object: {e}"),
                    )
                })?),
                None => None,
            };
            Ok(Incoming::Response(Response {
                jsonrpc: JSONRPC.into(),
                id,
                result,
                error,
            }))
        }
        None => Err(invalid(echo_id, "missing `method`".into())),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Serialize a message as one line, newline included. serde_json escapes every newline
/// inside strings, so the line is never split.
pub fn to_line<T: Serialize>(msg: &T) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string(msg)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code_of(line: &str) -> i64 {
        match parse_line(line.as_bytes()) {
            Err(r) => r.error.code,
            Ok(m) => panic!("{line} parsed as {m:?}"),
        }
    }

    #[test]
    fn malformed_json_is_a_parse_error() {
        assert_eq!(code_of("{not json"), codes::PARSE_ERROR);
        assert_eq!(code_of(""), codes::PARSE_ERROR);
    }

    #[test]
    fn non_requests_are_invalid_requests() {
        for line in [
            "42",
            "[]",
            r#"[{"jsonrpc":"2.0","id":1,"method":"hello"}]"#,
            r#"{"id":1,"method":"hello"}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"hello"}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
            r#"{"jsonrpc":"2.0","id":{},"method":"hello"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"hello","params":3}"#,
        ] {
            assert_eq!(code_of(line), codes::INVALID_REQUEST, "{line}");
        }
    }

    #[test]
    fn invalid_request_echoes_a_readable_id() {
        let r = parse_line(br#"{"jsonrpc":"1.0","id":"abc","method":"x"}"#).unwrap_err();
        assert_eq!(r.id, json!("abc"));
    }

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        let req = parse_line(br#"{"jsonrpc":"2.0","id":3,"method":"status"}"#).unwrap();
        assert_eq!(
            req,
            Incoming::Request {
                id: json!(3),
                method: "status".into(),
                params: Value::Null
            }
        );
        let note =
            parse_line(br#"{"jsonrpc":"2.0","method":"run/progress","params":{"a":1}}"#).unwrap();
        assert_eq!(
            note,
            Incoming::Notification {
                method: "run/progress".into(),
                params: json!({"a":1})
            }
        );
        let resp = parse_line(br#"{"jsonrpc":"2.0","id":3,"result":{"ok":true}}"#).unwrap();
        assert_eq!(
            resp,
            Incoming::Response(Response::ok(json!(3), json!({"ok":true})))
        );
    }

    #[test]
    fn lines_round_trip_and_never_contain_a_newline() {
        let req = Request::new(1, "run", json!({"argv":["echo","a\nb"]}));
        let line = to_line(&req).unwrap();
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.ends_with('\n'));
        let back: Request = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(back, req);
    }
}
