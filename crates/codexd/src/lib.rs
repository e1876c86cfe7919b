//! codexd: the daemon that learns how one person works and runs their goals safely.
//!
//! Layout (one folder per part; each part is an actor reached through a `Handle`):
//! - [`daemon`] — start every part in order, stop them in the order that keeps data safe.
//! - [`server`] — the local socket, connections, JSON-RPC dispatch.
//! - [`executor`] — safety rule, process spawning, streaming, cancellation.
//! - [`learning`] — episodes, the dataset, workflow patterns, consolidated knowledge,
//!   secret redaction, import and export.
//! - [`feedback`] — signals (ratings, outcomes, approvals, corrections) and the profile.
//! - [`capture`] — shell capture: the hook's filters and the paused state.
//! - [`store`] — durable files (atomic snapshots, journals, JSONL, the instance lock).
//! - [`bus`] — the broadcast of facts (`RunFinished`, `Rated`) the learning parts subscribe to.
//! - [`episode`] — the record of one finished run, and how a run is named before it runs.
//! - [`context`] — project detection and the commands a project offers.
//! - [`planner`] — goals in words become ranked, explained plans.
//! - [`scheduler`] — jobs that run on their own (claimed once each), and the goals codex
//!   expects next.
//! - [`config`] — `personalized_learning.yaml`, validated on load.
//! - [`telemetry`] — logs.
//! - [`doctor`] — `--check-storage`: every storage file read as the daemon would, changing nothing.
//!
//! - [`optimizer`] — codex adapting on its own: job intervals, telemetry alerts, personal
//!   models trained, judged and promoted.

pub mod bus;
pub mod capture;
pub mod config;
pub mod context;
pub mod daemon;
pub mod doctor;
pub mod episode;
pub mod executor;
pub mod feedback;
pub mod learning;
pub mod optimizer;
pub mod planner;
pub mod scheduler;
pub mod server;
pub mod store;
pub mod telemetry;

pub use daemon::{Daemon, Settings, StartError};
