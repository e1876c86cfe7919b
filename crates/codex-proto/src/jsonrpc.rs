//! JSON-RPC 2.0 envelope: one JSON object per line, in both directions.
//!
//! Either side may send requests and notifications (the daemon sends `run/progress`
//! notifications during a run); responses answer requests by `id`.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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
    /// The daemon serves as many connections as it allows; this one is closed after the
    /// error. Try again once a client has gone.
    pub const BUSY: i64 = -32007;
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

/// Parse one line into a message, or say precisely why it is not one. A key given twice in
/// one object is refused rather than resolved "last one wins" (a request naming both `status`
/// and `daemon/stop` as its method must not stop the daemon): at the top level with -32600,
/// inside `params` with -32602.
pub fn parse_line(line: &[u8]) -> Result<Incoming, Rejected> {
    let repeated = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(line);
    let value = Strict {
        place: Place::Top,
        repeated: &repeated,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| Rejected {
        id: Value::Null,
        error: ErrorObject::new(codes::PARSE_ERROR, format!("not valid JSON: {e}")),
    })?;
    let Some(Repeated { place, key }) = repeated.into_inner() else {
        return classify(value);
    };
    let message = format!("the key `{key}` is given twice; give each key once");
    match place {
        Place::Top => Err(Rejected {
            // The id is echoed only when it is unambiguous and well-formed.
            id: value
                .get("id")
                .filter(|id| key != "id" && valid_id(id))
                .cloned()
                .unwrap_or(Value::Null),
            error: ErrorObject::new(codes::INVALID_REQUEST, message),
        }),
        Place::Params | Place::Other => {
            let (id, code) = match classify(value)? {
                Incoming::Request { id, .. } if place == Place::Params => {
                    (id, codes::INVALID_PARAMS)
                }
                Incoming::Notification { .. } if place == Place::Params => {
                    (Value::Null, codes::INVALID_PARAMS)
                }
                Incoming::Request { id, .. } => (id, codes::INVALID_REQUEST),
                Incoming::Notification { .. } => (Value::Null, codes::INVALID_REQUEST),
                Incoming::Response(r) => (r.id, codes::INVALID_REQUEST),
            };
            Err(Rejected {
                id,
                error: ErrorObject::new(code, message),
            })
        }
    }
}

/// Whether an id can be echoed exactly: a string, null, or an integer that fits in 64 bits.
/// A bigger number (or a fraction) only survives parsing as a rounded float, so it could not
/// come back as sent.
fn valid_id(id: &Value) -> bool {
    match id {
        Value::String(_) | Value::Null => true,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    }
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
        && !valid_id(id)
    {
        let what = match id {
            Value::Number(n) => format!("the number {n}"),
            other => type_name(other).to_string(),
        };
        return Err(invalid(
            Value::Null,
            format!("`id` must be a string, an integer that fits in 64 bits, or null; got {what}"),
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
            match id {
                // Mapping `[1]` onto fields by their order would make `forget [1]` delete
                // run 1: every method takes named params only.
                Some(id) if params.is_array() => Err(Rejected {
                    id,
                    error: ErrorObject::new(
                        codes::INVALID_PARAMS,
                        format!(
                            "`{method}` takes named params (an object such as {{\"run\": 1}}), \
                             not a positional array"
                        ),
                    ),
                }),
                Some(id) => Ok(Incoming::Request { id, method, params }),
                None => Ok(Incoming::Notification { method, params }),
            }
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

/// Where in a message a value sits, which decides the error for a repeated key in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The message object itself.
    Top,
    /// Anywhere inside the top-level `params`.
    Params,
    /// Anywhere else (`result`, `error`, a batch's elements).
    Other,
}

/// The first key found twice in one object.
#[derive(Debug)]
struct Repeated {
    place: Place,
    key: String,
}

/// Builds a [`Value`] exactly as `serde_json` does, but notes the first key repeated within
/// one object instead of keeping the last. Parsing goes on after it so the id can be echoed.
#[derive(Clone, Copy)]
struct Strict<'a> {
    place: Place,
    repeated: &'a RefCell<Option<Repeated>>,
}

impl Strict<'_> {
    fn child(self, key: Option<&str>) -> Self {
        let place = match (self.place, key) {
            (Place::Top, Some("params")) | (Place::Params, _) => Place::Params,
            _ => Place::Other,
        };
        Strict { place, ..self }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let child = self.child(None);
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element_seed(child)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self.child(Some(&key)))?;
            if obj.contains_key(&key) {
                let mut first = self.repeated.borrow_mut();
                if first.is_none() {
                    *first = Some(Repeated {
                        place: self.place,
                        key: key.clone(),
                    });
                }
            }
            obj.insert(key, value);
        }
        Ok(Value::Object(obj))
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

    fn rejected(line: &str) -> Rejected {
        match parse_line(line.as_bytes()) {
            Err(r) => r,
            Ok(m) => panic!("{line} parsed as {m:?}"),
        }
    }

    #[test]
    fn positional_params_are_refused_with_the_id() {
        let r = rejected(r#"{"jsonrpc":"2.0","id":4,"method":"forget","params":[1]}"#);
        assert_eq!((r.error.code, r.id), (codes::INVALID_PARAMS, json!(4)));
        assert!(r.error.message.contains("named"), "{}", r.error.message);
    }

    #[test]
    fn a_repeated_key_is_refused_wherever_it_is() {
        // Top level: which method was meant cannot be told, so the request is invalid.
        let r = rejected(r#"{"jsonrpc":"2.0","id":1,"method":"status","method":"daemon/stop"}"#);
        assert_eq!(
            (r.error.code, r.id.clone()),
            (codes::INVALID_REQUEST, json!(1))
        );
        assert!(r.error.message.contains("`method`"), "{}", r.error.message);
        // Two ids: neither may be echoed.
        let r = rejected(r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"status"}"#);
        assert_eq!((r.error.code, r.id), (codes::INVALID_REQUEST, Value::Null));
        // Inside params, however deep: the params do not fit.
        for line in [
            r#"{"jsonrpc":"2.0","id":"a","method":"forget","params":{"run":1,"run":2}}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"run","params":{"env":{"A":"1","A":"2"}}}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"x","params":{"l":[{"k":1,"k":1}]}}"#,
        ] {
            let r = rejected(line);
            assert_eq!(
                (r.error.code, r.id),
                (codes::INVALID_PARAMS, json!("a")),
                "{line}"
            );
            assert!(r.error.message.contains("twice"), "{}", r.error.message);
        }
        // In an answer the daemon asked for.
        let r =
            rejected(r#"{"jsonrpc":"2.0","id":"q","result":{"approved":false,"approved":true}}"#);
        assert_eq!(r.error.code, codes::INVALID_REQUEST);
    }

    #[test]
    fn ids_come_back_as_sent_or_are_refused() {
        for id in ["18446744073709551615", "-9223372036854775808", "0", "\"x\""] {
            let line = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"status"}}"#);
            match parse_line(line.as_bytes()) {
                Ok(Incoming::Request { id: got, .. }) => assert_eq!(got.to_string(), id),
                other => panic!("{line}: {other:?}"),
            }
        }
        // Past 64 bits a number would come back rounded: refused, on a null id.
        for id in [
            "18446744073709551616",
            "-9223372036854775809",
            "1.5",
            "1e3",
            "1.0",
        ] {
            let r = rejected(&format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"status"}}"#
            ));
            assert_eq!(
                (r.error.code, r.id),
                (codes::INVALID_REQUEST, Value::Null),
                "{id}"
            );
            assert!(r.error.message.contains("64 bits"), "{}", r.error.message);
        }
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

    #[test]
    fn deep_nesting_is_a_parse_error_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(code_of(&deep), codes::PARSE_ERROR);
        let deep = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{}1{}}}"#,
            r#"{"a":"#.repeat(50_000),
            "}".repeat(50_000)
        );
        assert_eq!(code_of(&deep), codes::PARSE_ERROR);
    }
}

#[cfg(test)]
mod fuzz;
