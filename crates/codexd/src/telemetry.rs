//! Logs: tracing to stderr, filtered by `--log-level` or RUST_LOG (default `info`).
//! Filters use the `target=level,level` syntax (e.g. `codexd=debug,warn`).

use std::io::IsTerminal;
use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid log filter `{filter}` ({source}); use a level such as `info` or `codexd=debug,warn`"
)]
pub struct FilterError {
    filter: String,
    source: tracing_subscriber::filter::ParseError,
}

/// Install the global subscriber. `level` wins over RUST_LOG.
pub fn init(level: Option<&str>) -> Result<(), FilterError> {
    let spec = level
        .map(str::to_owned)
        .or_else(|| {
            std::env::var("RUST_LOG")
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
        .unwrap_or_else(|| "info".into());
    let filter = Targets::from_str(&spec).map_err(|source| FilterError {
        filter: spec.clone(),
        source,
    })?;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
    Ok(())
}
