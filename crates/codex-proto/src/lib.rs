//! The language `codex` and `codexd` speak, and the data types both sides share.
//!
//! Layout:
//! - [`jsonrpc`] — the JSON-RPC 2.0 envelope (requests, responses, notifications, error codes).
//! - [`methods`] — one type per method, naming its params and its result; notifications too.
//! - [`types`] — the data carried by methods (run ids, outcomes, history rows, preferences).
//! - [`prefs`] — the learned profile as `codex prefs show` receives it.
//! - [`model_planner`] — the optional language-model planner: an ask, its prompt, its record.
//! - [`runs`] — one recorded run in full (`run/show`), and where its plan came from.
//! - [`capture`] — shell capture: commands typed in a shell with codex's hook.
//! - [`paths`] — where CODEX_HOME, the socket and the config live by default.
//! - [`schedule`] — jobs that run on their own, and the goals codex expects next.
//! - [`text`] — characters that must never reach a terminal unescaped.
//! - [`terminal`] — a step on a pseudo-terminal: the `tty` param and the notifications that
//!   relay its bytes (base64) and sizes.
//!
//! No tokio and no I/O here: the CLI links this crate and must start fast.

pub mod capture;
pub mod jsonrpc;
pub mod methods;
pub mod model_planner;
pub mod optimizer;
pub mod paths;
pub mod prefs;
pub mod runs;
pub mod schedule;
pub mod terminal;
pub mod text;
pub mod types;

/// Version of the wire protocol; bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;

/// Version of the codex packages (daemon and CLI are released together).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
