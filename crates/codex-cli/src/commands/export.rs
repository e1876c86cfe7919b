//! `codex export --format F [--since DATE] [--min-rating N] [--project DIR]`: JSONL on stdout.

use std::io::{ErrorKind, Write};

use chrono::{DateTime, Utc};
use codex_proto::jsonrpc::Incoming;
use codex_proto::methods::{
    Export, ExportFormat, ExportLines, ExportLinesParams, ExportParams, Notification,
};

use super::Out;
use crate::cli::ExportArgs;
use crate::client::decode;
use crate::error::CliError;
use crate::session::Target;

/// Write the export to stdout; the count goes to stderr.
pub fn run(target: &Target, _out: Out, args: ExportArgs) -> Result<u8, CliError> {
    let format = match args.format.as_str() {
        "openai-chat" => ExportFormat::OpenaiChat,
        "preference-pairs" => ExportFormat::PreferencePairs,
        "episodes" => ExportFormat::Episodes,
        other => {
            return Err(CliError::Usage(format!(
                "unknown format `{other}`: use openai-chat, preference-pairs or episodes"
            )));
        }
    };
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let project = super::absolute_dir(args.project)?;
    let (mut client, _) = target.connect()?;
    let id = client.send::<Export>(&ExportParams {
        format,
        since,
        min_rating: args.min_rating,
        project,
    })?;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    loop {
        match client.next_message()? {
            Incoming::Notification { method, params } if method == ExportLines::NAME => {
                let p: ExportLinesParams = serde_json::from_value(params)
                    .map_err(|e| CliError::Protocol(format!("export/lines: {e}")))?;
                for line in p.lines {
                    if let Err(e) = writeln!(w, "{line}") {
                        return broken(e);
                    }
                }
            }
            Incoming::Response(r) if r.id == id || (r.id.is_null() && r.error.is_some()) => {
                let result = decode::<Export>(r.result, r.error)?;
                if let Err(e) = w.flush() {
                    return broken(e);
                }
                eprintln!(
                    "codex: exported {} line{}",
                    result.lines,
                    if result.lines == 1 { "" } else { "s" }
                );
                return Ok(0);
            }
            _ => {}
        }
    }
}

fn broken(e: std::io::Error) -> Result<u8, CliError> {
    if e.kind() == ErrorKind::BrokenPipe {
        Ok(141)
    } else {
        Err(CliError::Io(e))
    }
}

/// `--since`: a time, a date or a time ago (see [`crate::when`]).
fn parse_since(s: &str) -> Result<DateTime<Utc>, CliError> {
    crate::when::parse_since(s, Utc::now()).map_err(|e| CliError::Usage(format!("--since {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_and_times() {
        assert!(parse_since("2026-11-01").is_ok());
        assert_eq!(
            parse_since("2026-11-01T10:00:00Z").unwrap().to_rfc3339(),
            "2026-11-01T10:00:00+00:00"
        );
        assert!(matches!(parse_since("last week"), Err(CliError::Usage(_))));
    }
}
