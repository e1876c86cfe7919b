//! One module per command.

pub mod daemon;
pub mod export;
pub mod forget;
pub mod history;
pub mod import;
pub mod prefs;
pub mod rate;
pub mod run;
pub mod status;

/// How to print results.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// JSON on stdout instead of text.
    pub json: bool,
}
