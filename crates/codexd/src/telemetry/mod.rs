//! Logs: tracing to stderr, filtered by `--log-level` or RUST_LOG (default `info`).
//! Filters use the `target=level,level` syntax (e.g. `codexd=debug,warn`). Every line passes
//! the same secret redaction as storage before it is written: a log (autostart's goes to
//! `$CODEX_HOME/log/codexd.log`) is a file on disk like any other.

pub mod logfile;

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
    // The job timer's crate logs every job it adds at info; that is its business, not the
    // user's, unless they name it.
    let mut filter = Targets::from_str(&spec).map_err(|source| FilterError {
        filter: spec.clone(),
        source,
    })?;
    if !spec.contains("tokio_cron_scheduler") {
        filter = filter.with_target("tokio_cron_scheduler", tracing::Level::WARN);
    }
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(Redacting)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
    Ok(())
}

/// Makes one [`RedactedLine`] per event.
struct Redacting;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Redacting {
    type Writer = RedactedLine;

    fn make_writer(&'a self) -> RedactedLine {
        RedactedLine(Vec::new())
    }
}

/// One event's text, collected whole so a secret split across writes is still seen, and
/// written redacted to stderr when the event is done.
pub struct RedactedLine(Vec<u8>);

impl RedactedLine {
    /// The collected text, redacted.
    fn redacted(&self) -> String {
        crate::learning::redact::redact(&String::from_utf8_lossy(&self.0)).into_owned()
    }
}

impl std::io::Write for RedactedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactedLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = self.redacted();
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
        logfile::after_write();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_secret_in_a_log_line_is_redacted_even_when_written_in_pieces() {
        let token = format!("ghp_{}", "A1b2C3d4E5".repeat(4));
        let mut line = RedactedLine(Vec::new());
        let text = format!("held for approval command=curl -H 'Authorization: Bearer {token}' x\n");
        let (a, b) = text.split_at(text.find("ghp_").unwrap_or(0) + 6);
        line.write_all(a.as_bytes()).unwrap_or_default();
        line.write_all(b.as_bytes()).unwrap_or_default();
        let out = line.redacted();
        assert!(!out.contains(&token), "{out}");
        assert!(out.contains("held for approval"), "{out}");
        std::mem::forget(line); // nothing to stderr from a test
    }
}
