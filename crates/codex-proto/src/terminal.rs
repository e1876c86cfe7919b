//! A step on a pseudo-terminal: what `run` asks for (`tty`), and the notifications that relay
//! the terminal both ways while the step runs (`run/tty` out; `run/input` and `run/resize`
//! in). A terminal carries bytes, not text (a split UTF-8 sequence, a binary progress
//! protocol), so they travel as base64 strings ([`Bytes`]): lossless, and still one JSON line.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::methods::Notification;
use crate::types::RunId;

/// The client's terminal, as `run`'s `tty` param: the step runs on a pseudo-terminal of
/// this size instead of pipes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tty {
    /// Rows (lines) of the client's terminal.
    pub rows: u16,
    /// Columns of the client's terminal.
    pub cols: u16,
    /// The terminal type, set as `TERM` when the step's environment has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
}

/// Raw bytes, written on the wire as a standard base64 string (with padding).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Bytes)
            .map_err(|e| serde::de::Error::custom(format!("bytes must be base64 ({e})")))
    }
}

/// `run/tty` notification (daemon → client): bytes the step wrote to its terminal, to be
/// written to the client's terminal as they are.
pub struct RunTty;

/// Params of [`RunTty`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunTtyParams {
    /// The run.
    pub run_id: RunId,
    /// The bytes.
    pub data: Bytes,
}

impl Notification for RunTty {
    const NAME: &'static str = "run/tty";
    type Params = RunTtyParams;
}

/// `run/input` notification (client → daemon): bytes typed at the client's terminal, for the
/// step's terminal; or the end of the client's input.
pub struct RunInput;

/// Params of [`RunInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInputParams {
    /// The run (from `run/started`), on this connection.
    pub run_id: RunId,
    /// The bytes, as typed (Ctrl-C is byte 3: the step's terminal makes it a SIGINT).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub data: Bytes,
    /// The client's input ended: the step's terminal gets its end-of-file character.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub eof: bool,
}

fn is_empty(b: &Bytes) -> bool {
    b.0.is_empty()
}

impl Notification for RunInput {
    const NAME: &'static str = "run/input";
    type Params = RunInputParams;
}

/// `run/resize` notification (client → daemon): the client's terminal changed size.
pub struct RunResize;

/// Params of [`RunResize`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResizeParams {
    /// The run (from `run/started`), on this connection.
    pub run_id: RunId,
    /// Rows now.
    pub rows: u16,
    /// Columns now.
    pub cols: u16,
}

impl Notification for RunResize {
    const NAME: &'static str = "run/resize";
    type Params = RunResizeParams;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn bytes_travel_as_base64_and_come_back_whole() {
        // Not UTF-8, a split sequence, NUL and escape bytes: all come back as sent.
        let raw = vec![0xff, 0x00, 0x1b, b'[', b'3', b'1', b'm', 0xe2, 0x82];
        let p = RunTtyParams {
            run_id: RunId(7),
            data: Bytes(raw.clone()),
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v, json!({"run_id": 7, "data": "/wAbWzMxbeKC"}));
        let back: RunTtyParams = serde_json::from_value(v).unwrap();
        assert_eq!(back.data.0, raw);
        let empty: Bytes = serde_json::from_value(json!("")).unwrap();
        assert!(empty.0.is_empty());
    }

    #[test]
    fn bytes_that_are_not_base64_are_refused_with_the_reason() {
        for bad in [json!("not base64!"), json!("abc"), json!(12), json!(null)] {
            let err = serde_json::from_value::<RunInputParams>(json!({"run_id": 1, "data": bad}))
                .unwrap_err()
                .to_string();
            assert!(!err.is_empty());
        }
        let err = serde_json::from_value::<RunInputParams>(json!({"run_id": 1, "data": "a!=="}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("base64"), "{err}");
    }

    #[test]
    fn input_is_bytes_or_the_end_and_unknown_fields_are_refused() {
        let p: RunInputParams = serde_json::from_value(json!({"run_id": 3, "eof": true})).unwrap();
        assert!(p.eof && p.data.0.is_empty());
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"run_id": 3, "eof": true})
        );
        let typed = RunInputParams {
            run_id: RunId(3),
            data: Bytes(vec![3]),
            eof: false,
        };
        assert_eq!(
            serde_json::to_value(&typed).unwrap(),
            json!({"run_id": 3, "data": "Aw=="})
        );
        assert!(serde_json::from_value::<RunInputParams>(json!({"run_id": 3, "x": 1})).is_err());
        assert!(
            serde_json::from_value::<RunResizeParams>(
                json!({"run_id": 3, "rows": 70000, "cols": 1})
            )
            .is_err(),
            "a size past u16 is refused"
        );
    }

    #[test]
    fn a_tty_request_names_its_size_and_may_name_its_type() {
        let t: Tty = serde_json::from_value(json!({"rows": 24, "cols": 80})).unwrap();
        assert_eq!(
            t,
            Tty {
                rows: 24,
                cols: 80,
                term: None
            }
        );
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"rows": 24, "cols": 80})
        );
        assert!(serde_json::from_value::<Tty>(json!({"rows": 24})).is_err());
        assert!(
            serde_json::from_value::<Tty>(json!({"rows": 24, "cols": 80, "color": true})).is_err()
        );
    }
}
